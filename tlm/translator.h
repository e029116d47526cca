// The translation core: context cache -> PASID cache -> IOTLB -> page walk, with the
// invalidation scopes the invalidation-queue engine applies, a stale-translation checker and
// statistics (docs/vtd-facts.md §4-§6).
//
// Models: SRTP latching of RTADDR (with CAP.ESRTPS a global cache flush); request checks of the
// context and PASID entries; IOTLB lookup by DID / PASID / translation kind with the rights
// check of the cached permissions (a write hit on an entry without D, or a hit that lacks the
// right, re-walks: the tables are authoritative); fills of every cache; the invalidation scopes
// of §6.2-6.5, each applied to the IOTLB and the matching paging-structure caches (IH=1 keeps
// them) and reported to observers (DMI revocation); ATS translation requests (a not-present
// entry or a missing right is answered with the rights granted in can_read / can_write, R=W=0,
// instead of a fault; other conditions fault as for DMA); the stale-translation checker (re-walk of every
// IOTLB hit without side effects, DESIGN.md principle 5) extended to every cache a translation
// used: a context- or PASID-cache entry that differs from memory, a paging-structure-cache entry
// the tables no longer hold, a not-present entry cached under caching mode where the tables now
// translate; caching mode's not-present cache (tlm/not_present_cache.h).
// Does not model: fault recording (the caller records result.fault unless suppressed), timing,
// device-TLBs (tlm/ats_device_tlb.h checks its own), legacy mode.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "tlm/context_cache.h"
#include "tlm/invalidation_scope.h"
#include "tlm/iommu_config.h"
#include "tlm/iotlb.h"
#include "tlm/iotlb_if.h"
#include "tlm/not_present_cache.h"
#include "tlm/page_walker.h"
#include "tlm/paging_structure_cache.h"
#include "tlm/pasid_cache.h"
#include "tlm/phys_mem_if.h"
#include "tlm/stale_report.h"
#include "tlm/translation_stats.h"
#include "tlm/translation_types.h"

namespace iommusim {

class translator final : public invalidation_target {
  public:
    // The configuration is validated (std::invalid_argument on a bad value: misconfiguration).
    translator(const iommu_config& config, phys_mem_if& mem, iotlb_if& tlb);
    translator(const translator&) = delete;
    translator& operator=(const translator&) = delete;

    // SRTP: latch the RTADDR_REG value. With CAP.ESRTPS every translation cache is flushed.
    void set_root(uint64_t rtaddr_value);
    bool root_latched() const { return m_root_latched; }

    translation_result translate(const translation_request& req);

    // The context entry a page request from `rid` is checked against (docs/vtd-facts.md §10.1):
    // fault_reason::none when it is present and allows page requests (PRE), else the reason
    // (0x47 for PRE clear, or what reading the root or context entry found) and the entry's FPD.
    // Goes through the context cache like a translation; counts no translation statistics.
    hw::fault_reason page_request_context(uint16_t rid, bool has_pasid, bool& fpd);

    // Applies a scope (docs/vtd-facts.md §6.2-6.5) to every cache it names, then tells the
    // observers; returns the entries dropped (all caches). Kinds that name no translation cache
    // (device-TLB, interrupt-entry cache, wait, none) drop nothing and are not observed.
    unsigned invalidate(const invalidation_scope& scope) override;

    // Called after every cache invalidation, with its scope.
    void on_invalidate(std::function<void(const invalidation_scope&)> observer);
    // Called just before each IOTLB lookup of a translation (the waves take its time then).
    void set_lookup_observer(std::function<void()> observer) { m_lookup_observer = std::move(observer); }

    void set_stale_check(bool on);
    // The simulated time stamped on stale reports (picoseconds); without one they say 0.
    void set_clock(std::function<uint64_t()> now_ps) { m_clock = std::move(now_ps); }
    const std::vector<stale_report>& stale_reports() const { return m_stale; }
    void clear_stale_reports() { m_stale.clear(); }

    translation_stats stats() const;
    void reset_stats();

    const iommu_config& config() const { return m_config; }
    iotlb_if& tlb() { return m_tlb; }
    context_cache& ctx_cache() { return m_context_cache; }
    pasid_cache& pasid_entry_cache() { return m_pasid_cache; }
    paging_structure_cache& psc() { return m_psc; }
    not_present_cache& not_present_entries() { return m_not_present; }
    page_walker& walker() { return m_walker; }

  private:
    // The cached entries one translation used, for the stale checks after it (stale_check only).
    struct cache_uses {
        bool has_ctx = false;  // context-cache hit
        context_info ctx;
        bool has_pasid = false;  // PASID-cache hit
        pasid_info pasid;
        bool has_p = false;  // the context and PASID entries the request went on with
        context_info ctx_used;
        pasid_info p;
        bool not_present = false;  // caching mode's not-present entry decided the walk
        std::vector<psc_use> psc;  // paging-structure-cache hits (the walker appends)
        void clear() {
            has_ctx = has_pasid = has_p = not_present = false;
            psc.clear();
        }
    };

    // The context and PASID entries and request checks of the last translation that found both
    // entries cached: while neither cache changed since, a request with the same source, PASID and
    // access flags to the same input page passes the same checks (the input-address limits, MGAW,
    // AGAW and the canonical bit 47 or 56, lie above bit 12) with the same entries, so only their
    // LRU update is repeated. Not used by the stale checker (it records the entries it uses).
    struct checked_request {
        bool valid = false;
        translation_request req;  // its input page counts, not the offset
        uint64_t context_changes = 0;
        uint64_t pasid_changes = 0;
        const context_info* ctx = nullptr;  // in the context cache
        const pasid_info* p = nullptr;      // in the PASID cache
        uint32_t pasid = 0;
        access_type access;
        bool fpd = false;
    };
    bool checked_before(const translation_request& req) const {
        const translation_request& c = m_checked.req;
        return m_checked.valid && c.rid == req.rid && ((c.addr ^ req.addr) >> 12) == 0 && c.pasid == req.pasid &&
               c.has_pasid == req.has_pasid && c.write == req.write && c.exec == req.exec && c.priv == req.priv &&
               c.ats_translation == req.ats_translation && m_checked.context_changes == m_context_cache.changes() &&
               m_checked.pasid_changes == m_pasid_cache.changes();
    }

    // translate() without the checks: fills r (one result object, no copies on the hit path).
    void resolve(const translation_request& req, translation_result& r);
    // The IOTLB and, on a miss, the walk, for a request whose context and PASID entries passed.
    void translate_checked(const translation_request& req, const pasid_info& p, uint32_t pasid,
                           const access_type& access, bool fpd, translation_result& r);
    // The rest of translate_checked() after an IOTLB miss or a hit that cannot be used.
    void walk_and_fill(const translation_request& req, const pasid_info& p, uint32_t pasid, const access_type& access,
                       bool fpd, uint64_t vpn, translation_result& r);
    bool caches_not_present() const;
    void set_fault(translation_result& r, hw::fault_reason f, bool fpd);
    // Checks of the context, PASID, paging-structure and not-present entries recorded in m_used.
    void check_structures(const translation_request& req, translation_result& r);
    stale_report report_for(stale_cache cache, const translation_request& req) const;
    void add_stale(const stale_report& rep, translation_result& r);
    void stale_check(const translation_request& req, const pasid_info& p, const access_type& access,
                     const iotlb_entry& cached, translation_result& r);

    iommu_config m_config;
    [[maybe_unused]] phys_mem_if& m_mem;
    iotlb_if& m_tlb;
    iotlb* m_cpp_tlb;                        // m_tlb when it is the C++ IOTLB (called directly), else nullptr
    std::optional<iotlb_entry> m_other_hit;  // the last hit of another IOTLB (a copy)
    context_cache m_context_cache;
    pasid_cache m_pasid_cache;
    paging_structure_cache m_psc;
    not_present_cache m_not_present;
    page_walker m_walker;
    uint64_t m_rtaddr = 0;
    bool m_root_latched = false;
    hw::fault_reason m_root_fault[2] = {hw::fault_reason::rta_invalid, hw::fault_reason::rta_invalid};
    translation_stats m_stats;
    std::vector<stale_report> m_stale;
    std::vector<std::function<void(const invalidation_scope&)>> m_observers;
    std::function<void()> m_lookup_observer;
    std::function<uint64_t()> m_clock;
    cache_uses m_used;
    checked_request m_checked;
};

}  // namespace iommusim
