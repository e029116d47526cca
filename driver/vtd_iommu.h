// One VT-d remapping unit as the driver sees it: probe, bring-up, the GCMD protocol, domain ids and
// the scalable-mode device tables (root, context, PASID directory, PASID table).
//
// Models (docs/vtd-facts.md §1.2-§1.6, §1.10, §2.1, §4.1-§4.4, §6.5, §6.7): probe reads VER/CAP/ECAP and
// refuses, naming the capability, what this driver cannot drive (no QI, no scalable mode, no
// second-stage translation, no supported SAGAW); bring-up enables queued invalidation (zeroed 4 KiB
// aligned ring of 256-bit descriptors, IQT=0, IQA, QIE, poll QIES), installs a zeroed root table in
// scalable mode (RTADDR.TTM=01, SRTP, poll RTPS), invalidates globally unless CAP.ESRTPS, and enables
// translation (TE, poll TES). GCMD is written one command at a time from the current GSTS
// persistent bits. DIDs come from an allocator sized by CAP.ND (DID 0 reserved). Device entries are
// installed for requests without PASID (RID_PASID = 0): context entry, PASID directory and table on
// first use; changing or tearing down a present PASID entry runs the §6.7 sequence (PASID-cache
// PASID-selective, then domain-selective IOTLB for second-stage/nested or PASID-selective PASID
// IOTLB otherwise, then a whole-range device-TLB invalidation for ATS devices) in one batch.
// With CAP.CM, not-present to present changes are invalidated as well. SSADE of attached entries is
// switched for dirty tracking (docs/vtd-facts.md §4.4). With ECAP.PRS the page request queue is set
// up after the invalidation queue (Linux intel_iommu_enable_prq, driver/vtd_prq.h).
// Does not model: legacy (non-scalable) mode, register-based invalidation, interrupt remapping,
// PASID attachment of devices (only RID_PASID), several remapping units, hot removal.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "driver/cache.h"
#include "driver/hw_bus.h"
#include "driver/page_allocator.h"
#include "driver/queued_invalidation.h"
#include "driver/vtd_prq.h"
#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_tables.h"

namespace iommusim::driver {

struct vtd_iommu_config {
    qi_config qi;                          // queue submission (poll or interrupt, timeouts)
    unsigned qi_order = 1;                 // queue size: 2^qi_order pages (1: 256 descriptors, as Linux)
    uint64_t gcmd_timeout_ns = 1'000'000;  // a GCMD command whose GSTS bit does not follow fails after this
};

class vtd_iommu {
  public:
    // A device attached through this unit (requests without PASID).
    struct attachment {
        uint16_t rid = 0;
        bool ats = false;            // device TLB enabled (context DTE set)
        cache_tags* tags = nullptr;  // the cache tags of the domain owning the PASID entry
        uint16_t did = 0;
        hw::pgtt type = hw::pgtt::second_stage;
    };

    vtd_iommu(hw_bus& bus, page_allocator& pages, const vtd_iommu_config& config = {});
    vtd_iommu(const vtd_iommu&) = delete;
    vtd_iommu& operator=(const vtd_iommu&) = delete;

    // Reads the capability registers, refuses what cannot be driven (-ENODEV, `error` names the
    // missing capability), then brings the unit up (-ENOMEM, -ETIMEDOUT on failure).
    int probe(std::string* error = nullptr);
    bool probed() const { return m_probed; }

    uint32_t ver() const { return m_ver; }
    uint64_t cap() const { return m_cap; }
    uint64_t ecap() const { return m_ecap; }
    // What the flush policy (driver/cache.h) needs of CAP and ECAP.
    const flush_caps& flush_capabilities() const { return m_flush_caps; }
    // Tests only: every later flush is built with this deliberate bug (driver/cache.h).
    void seed_flush_bug(seeded_flush_bug bug) { m_flush_caps.seeded_bug = bug; }
    // Second-stage paging: levels used for new domains (4 preferred) and the matching PASID-entry AW.
    unsigned ss_levels() const { return m_ss_levels; }
    unsigned ss_aw() const { return m_ss_levels - 2; }
    // Input addresses of second-stage domains must be below 2^ss_width().
    unsigned ss_width() const;
    bool nesting_supported() const;
    // Second-stage A/D tracking (Linux ssads_supported: scalable mode and ECAP.SSADS).
    bool ssads_supported() const;
    bool has_device_tlb() const;

    hw_bus& bus() { return m_bus; }
    page_allocator& pages() { return m_pages; }
    queued_invalidation& qi() { return m_qi; }
    // The page request queue, enabled at bring-up when ECAP.PRS (driver/vtd_prq.h).
    vtd_prq& prq() { return m_prq; }
    uint64_t root_table() const { return m_root; }

    // Waits for queue completion with the invalidation-completion interrupt (IECTL unmasked, IF=1
    // in wait descriptors) or, when off, by polling the status word (IECTL masked again).
    void set_completion_interrupt(bool on);

    // GCMD one-command protocol (§1.5): sets or clears one command bit, polls GSTS. 0 or -ETIMEDOUT.
    int gcmd(uint32_t command_bit, bool set);

    // Domain ids, 2^(4+2*CAP.ND) of them, DID 0 reserved. 0 or -ENOSPC.
    int alloc_did(uint16_t& did);
    void free_did(uint16_t did);
    unsigned did_count() const { return static_cast<unsigned>(m_dids.size()); }
    unsigned dids_in_use() const { return m_dids_used; }

    // Installs `entry` (P set by the caller) as the PASID entry of `rid` for requests without PASID,
    // owned by the domain whose cache tags are `tags` (the device is assigned to them, and unassigned
    // from the previous owner's). Creates the context entry on first use; if an entry was present
    // runs the §6.7 invalidation sequence for it. 0, -ENOMEM, -EFAULT.
    int set_device_entry(uint16_t rid, bool ats, const hw::pasid_entry::words& entry, cache_tags& tags);
    // Tears the entry down (blocking: DMA from rid faults) with the §6.7 sequence. 0 if none.
    int clear_device_entry(uint16_t rid);
    // Current PASID entry of rid as in memory (false if the device has no tables).
    bool read_device_entry(uint16_t rid, hw::pasid_entry::words& entry);
    const attachment* attachment_of(uint16_t rid) const;
    // Sets or clears SSADE in the PASID entry of every device attached through `tags` or through
    // the tags of a nested child of it (Linux intel_pasid_setup_dirty_tracking per device, and
    // parent_domain_set_dirty_tracking), each change followed by its PASID-cache, domain IOTLB and
    // (outside caching mode) device-TLB invalidation. 0, -EOPNOTSUPP for an entry that is not
    // second-stage or nested, -EFAULT; entries already as asked are left alone.
    int set_dirty_tracking(const cache_tags& tags, bool enable);
    // A domain going away while devices still use its entries: they are unassigned from its tags
    // (and its parent's) and stop naming them; the entries stay until replaced or cleared.
    void forget_tags(cache_tags& tags);

  private:
    struct device_tables {
        uint64_t pasid_dir = 0;
        uint64_t pasid_table = 0;
        attachment att;
        bool attached = false;
    };
    int check_capabilities(std::string* error);
    int bring_up();
    int ensure_context(uint16_t rid, bool ats, device_tables*& out);
    uint64_t pasid_entry_pa(const device_tables& t) const { return t.pasid_table; }  // PASID 0
    bool write_entry(uint64_t pa, const hw::pasid_entry::words& e);
    int set_entry_ssade(device_tables& t, bool enable);
    void append_teardown_flush(std::vector<hw::inv_desc>& out, const attachment& old) const;

    hw_bus& m_bus;
    page_allocator& m_pages;
    vtd_iommu_config m_config;
    queued_invalidation m_qi;
    vtd_prq m_prq{m_bus, m_pages, m_qi};
    bool m_probed = false;
    uint32_t m_ver = 0;
    uint64_t m_cap = 0;
    uint64_t m_ecap = 0;
    flush_caps m_flush_caps;
    unsigned m_ss_levels = 4;
    uint64_t m_root = 0;
    uint64_t m_ring = 0;
    uint64_t m_status_page = 0;
    std::array<uint64_t, 512> m_context_tables{};  // [bus * 2 + devfn >> 7] -> context table page
    std::map<uint16_t, device_tables> m_devices;
    std::vector<bool> m_dids;
    unsigned m_dids_used = 0;
    unsigned m_did_hint = 1;
};

}  // namespace iommusim::driver
