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

#include <array>
#include <cstdint>
#include <cstring>
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

    // Inline where it is called: a repeated hit (checked_source) is answered here, anything else by
    // translate_full().
    [[gnu::always_inline]] translation_result translate(const translation_request& req) {
        // A request that repeats its source's last one to the same page, while the IOTLB would hit
        // the same entry holding the same payload, passes the same checks and gets the same answer.
        checked_source& c = m_checked[checked_slot(req)];
        // The IOTLB finds the same entry while it did not change since, else when the hint's slot
        // still holds it (with the same payload).
        if (c.repeat_changes == cache_changes() && ((c.req.addr ^ req.addr) >> 12) == 0 && same_source(c.req, req) &&
            (c.tlb_changes == m_cpp_tlb->changes() ||
             (m_cpp_tlb->hinted(c.hint, req.addr >> 12) && c.hint.entry->payload == c.payload))) {
            c.tlb_changes = m_cpp_tlb->changes();
            ++m_checked_translations;
            ++m_stats.iotlb_hits;
            iotlb::touch(c.hint);
            m_context_cache.touch(c.ctx_position);
            m_pasid_cache.touch(c.pasid_position);
            return repeated_result(c, req.addr);
        }
        return translate_full(req, c);
    }

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
    void set_lookup_observer(std::function<void()> observer) {
        m_lookup_observer = std::move(observer);
        update_repeat_ok();
    }

    void set_stale_check(bool on);
    // The simulated time stamped on stale reports (picoseconds); without one they say 0.
    void set_clock(std::function<uint64_t()> now_ps) { m_clock = std::move(now_ps); }
    const std::vector<stale_report>& stale_reports() const { return m_stale; }
    void clear_stale_reports() { m_stale.clear(); }

    translation_stats stats() const;
    // The walks so far (stats().walks without copying every counter).
    uint64_t walks() const { return m_stats.walks; }
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

    // The rights an IOTLB entry's permission bits give one access (translate_checked()).
    struct hit_rights {
        bool usable = false;  // the access may use the entry (the right, and D for a write)
        bool can_read = false;
        bool can_write = false;  // the right and D already set
    };
    static hit_rights rights_of(const pasid_info& p, uint8_t perm, const access_type& access);

    // What the last translation of one request source (requester id, PASID, access flags) that found
    // both its context and PASID entries cached decided: the entries, the outcome of the request
    // checks, where its IOTLB hit was and the rights of that entry. While neither cache changed
    // since, a request from the same source passes the same checks with the same entries (the
    // input-address check alone depends on the page, and only on bits above 12: it is repeated when
    // the page differs), so only the LRU updates are repeated. One per source in a small
    // direct-mapped table, so that interleaved devices keep theirs. Not used by the stale checker
    // (it records the entries it uses).
    // planned: page_walker::walk_planned; planned_nested: walk_planned_nested; full: walk_and_fill.
    enum class miss_path : uint8_t { undecided, planned, planned_nested, full };
    // Cache-line aligned: also makes the table's stride a power of two (cheap to index).
    struct alignas(64) checked_source {
        miss_path misses = miss_path::undecided;  // how its IOTLB misses walk (m_miss_plans, same slot)
        translation_request req;                  // its input page counts, not the offset
        // Context + PASID cache changes() then (both only grow); no_changes: no source (never equal).
        uint64_t changes = no_changes;
        uint32_t ctx_position = 0;
        uint32_t pasid_position = 0;
        const pasid_info* p = nullptr;  // in the PASID cache
        uint32_t pasid = 0;
        access_type access;
        bool fpd = false;
        iotlb::hit_hint hint;            // the C++ IOTLB's last hit for this source
        uint16_t rights_perm = no_perm;  // the permission bits `rights` are for
        hit_rights rights;
        // The last translation was a usable hit on the hint's entry, then holding `payload`: while
        // the caches' changes are repeat_changes (no_changes: never), a request to the same page
        // that finds it again gets `result` (out_addr: the page base) plus its offset within the
        // page (offset_mask). Only set while repeats are allowed (m_repeat_ok).
        uint64_t repeat_changes = no_changes;
        uint64_t tlb_changes = 0;  // the IOTLB's changes() when the hit was last found
        iotlb_payload payload;
        uint64_t offset_mask = 0;
        translation_result result;
        static constexpr uint16_t no_perm = 0x100;
        static constexpr uint64_t no_changes = ~uint64_t{0};
    };
    static constexpr unsigned checked_sources = 64;
    static_assert(sizeof(checked_source) == 256);
    // With x = rid ^ pasid, the slot is (x[5:0] + x[13:8]) mod 64: up to 64 consecutive functions
    // of a bus, or one function on consecutive buses, take distinct slots. One multiply puts the sum
    // in bits 31:26.
    static unsigned checked_slot(const translation_request& req) {
        static_assert(checked_sources == 64);
        return ((req.rid ^ req.pasid) * ((1u << 26) | (1u << 18))) >> 26;
    }
    static bool same_source(const translation_request& a, const translation_request& b) {
        return a.rid == b.rid && a.pasid == b.pasid && a.has_pasid == b.has_pasid && a.write == b.write &&
               a.exec == b.exec && a.priv == b.priv && a.ats_translation == b.ats_translation;
    }
    uint64_t cache_changes() const { return m_context_cache.changes() + m_pasid_cache.changes(); }

    // What the IOTLB misses of one checked source share, decided at its first (its entries and
    // access are the same while it holds): the planned first-stage or nested walk (no not-present
    // caching; page_walker::plan_fs, plan_nested) and the rights its fills report.
    // The checked source's stride: its plan is as far into m_miss_plans as it is into m_checked.
    struct alignas(sizeof(checked_source)) miss_plan {
        page_walker::fs_plan fs;
        page_walker::nested_plan nested;
        iotlb_tag fill_tag;       // of the planned walks' fills (4 KiB; vpn set per fill)
        uint8_t read_needs = 0;   // iotlb_perm bits of can_read
        uint8_t write_needs = 0;  // and of can_write (D included)
    };
    static_assert(sizeof(miss_plan) == sizeof(checked_source));
    miss_plan& plan_of(const checked_source& c) {
        return m_miss_plans[static_cast<std::size_t>(&c - m_checked.data())];
    }
    // Decides c.misses (and its plan) for the entry p and access it checked.
    void plan_misses(checked_source& c, const pasid_info& p, const access_type& access);

    // translate() of anything but a repeated hit (checked_source::repeat_changes); c: the
    // request's entry of the checked-source table.
    translation_result translate_full(const translation_request& req, checked_source& c);
    // The answer of a repeated hit for addr (one block copy, made in the caller's object).
    static translation_result repeated_result(const checked_source& c, uint64_t addr) {
        translation_result r;
        std::memcpy(&r, &c.result, sizeof r);
        r.out_addr |= addr & c.offset_mask;
        return r;
    }
    // A repeated hit may be answered from its checked_source while the stale checker is off, the
    // IOTLB is the C++ one and no lookup observer is set (set_stale_check, set_lookup_observer
    // call this): else none is.
    void update_repeat_ok();
    // translate() without the checks: fills r (one result object, no copies on the hit path).
    void resolve(const translation_request& req, translation_result& r);
    // The IOTLB and, on a miss, the walk, for a request whose context and PASID entries passed;
    // `source` (nullptr: none) is the request's entry of the checked-source table.
    // Inline in its two callers: the IOTLB hit of every translation that is no repeat. pasid and
    // fpd by reference: a checked source's are read where they are used, not kept across the
    // IOTLB's call.
    [[gnu::always_inline]] void translate_checked(const translation_request& req, const pasid_info& p,
                                                  const uint32_t& pasid, const access_type& access, const bool& fpd,
                                                  checked_source* source, translation_result& r);
    // The rest of translate_checked() after an IOTLB miss or a hit that cannot be used.
    // source: as for translate_checked (planned, its plan gives the rights of the fill).
    void walk_and_fill(const translation_request& req, const pasid_info& p, uint32_t pasid, const access_type& access,
                       bool fpd, uint64_t vpn, checked_source* source, translation_result& r);
    // walk_and_fill() of a source whose misses take the planned walk (walk_and_fill() when the
    // planned walk does not decide).
    template <miss_path path>
    [[gnu::always_inline]] void walk_planned_and_fill(const translation_request& req, checked_source& c, uint64_t vpn,
                                                      translation_result& r);
    // The IOTLB fill of a walk's translation (page at `level`, perm) and the result's answer;
    // read_needs / write_needs: the rights of can_read / can_write.
    [[gnu::always_inline]] void fill_walked(const pasid_info& p, uint32_t pasid, uint64_t vpn, page_level level,
                                            uint64_t out_addr, uint8_t perm, uint8_t read_needs, uint8_t write_needs,
                                            translation_result& r);
    bool caches_not_present() const { return m_config.cm && m_config.cm_not_present_caching; }
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
    iotlb* m_cpp_tlb;         // m_tlb when it is the C++ IOTLB (called directly), else nullptr
    iotlb_entry m_other_hit;  // the last hit of another IOTLB (a copy)
    context_cache m_context_cache;
    pasid_cache m_pasid_cache;
    paging_structure_cache m_psc;
    not_present_cache m_not_present;
    page_walker m_walker;
    uint64_t m_rtaddr = 0;
    bool m_root_latched = false;
    hw::fault_reason m_root_fault[2] = {hw::fault_reason::rta_invalid, hw::fault_reason::rta_invalid};
    translation_stats m_stats;
    // Translations of a checked source that passed its checks again: each is also a context-cache
    // and a PASID-cache hit (stats() adds them to the three counters).
    uint64_t m_checked_translations = 0;
    std::vector<stale_report> m_stale;
    std::vector<std::function<void(const invalidation_scope&)>> m_observers;
    std::function<void()> m_lookup_observer;
    std::function<uint64_t()> m_clock;
    cache_uses m_used;
    std::array<checked_source, checked_sources> m_checked;
    std::array<miss_plan, checked_sources> m_miss_plans;
    bool m_repeat_ok = false;
};

}  // namespace iommusim
