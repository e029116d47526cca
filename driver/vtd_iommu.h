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
// installed for requests without PASID (RID_PASID = 0) and for any other PASID below the device's
// PASID width: the context entry (PASIDE for PASID-capable devices under ECAP.PASID, PDTS of the
// directory) and a one-page directory (32768 PASIDs) on first use, PASID tables of 64 entries
// linked into it on demand; changing or tearing down a present PASID entry runs the §6.7 sequence (PASID-cache
// PASID-selective with the PASID, then domain-selective IOTLB for second-stage/nested or
// PASID-selective PASID IOTLB otherwise, then a whole-range device-TLB invalidation of the PASID for
// ATS devices: type 3 for RID_PASID, type 8 otherwise) in one batch.
// With CAP.CM, not-present to present changes are invalidated as well. SSADE of attached entries is
// switched for dirty tracking (docs/vtd-facts.md §4.4).
// Differences: Linux (intel_pasid_alloc_table) sizes the directory for the device's width up front
// (128 KiB for 20 bits); here it grows to that size when the first PASID beyond 32767 is attached
// (the entries copied, the context entry's PASIDDIRPTR/PDTS rewritten in one store, a
// device-selective context-cache invalidation), so that thousands of PASID-capable devices fit
// the driver's memory.
// With ECAP.PRS the page request queue is set up after the invalidation queue (Linux
// intel_iommu_enable_prq, driver/vtd_prq.h); tearing down or replacing a present PASID entry of a
// device with PRE set drains its page requests afterwards (Linux intel_pasid_tear_down_entry
// calling intel_iommu_drain_pasid_prq; the RID's replace goes through device_block_translation,
// which tears down first). Difference: the drain's invalidations name the DID of the entry torn
// down (Linux takes the device's RID domain's, also for another PASID).
// Does not model: legacy (non-scalable) mode, register-based invalidation, interrupt remapping,
// several remapping units, hot removal, freeing a device's tables.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "driver/cache.h"
#include "driver/hw_bus.h"
#include "driver/iommu_ops.h"
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
    // One PASID of a device attached through this unit (no_pasid: requests without PASID).
    struct attachment {
        uint16_t rid = 0;
        uint32_t pasid = no_pasid;
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
    // Requests with PASID (Linux pasid_supported: scalable mode and ECAP.PASID) and their width
    // (ECAP.PSS + 1 bits; 0 without them).
    bool pasid_supported() const;
    unsigned pasid_width() const;

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

    // Installs `entry` (P set by the caller) as PASID entry `pasid` of dev (no_pasid: requests
    // without PASID), owned by the domain whose cache tags are `tags` (the device's PASID is assigned
    // to them, and unassigned from the previous owner's). Creates the context entry and PASID
    // directory on first use (sized by dev's PASID capability), and the PASID table holding the
    // entry; if an entry was present runs the §6.7 invalidation sequence for it. 0, -ENODEV (PASID
    // beyond the directory), -ENOMEM, -EFAULT.
    int set_device_entry(const iommu_device& dev, uint32_t pasid, const hw::pasid_entry::words& entry,
                         cache_tags& tags);
    // Creates dev's context entry and PASID directory (no PASID entry present) when it has none, as
    // the first set_device_entry would; from then on the unit takes the device's page requests
    // (PRE, set for an ATS+PRI device with the page request queue up). 0, -ENOMEM, -EFAULT.
    int setup_context(const iommu_device& dev);
    // The RID_PASID entry of a device without PASIDs.
    int set_device_entry(uint16_t rid, bool ats, const hw::pasid_entry::words& entry, cache_tags& tags);
    // Tears PASID entry `pasid` down (blocking: DMA from rid with it faults) with the §6.7 sequence.
    // 0 if none.
    int clear_device_entry(uint16_t rid, uint32_t pasid = no_pasid);
    // Current PASID entry of rid as in memory (false if the device has no table holding it).
    bool read_device_entry(uint16_t rid, hw::pasid_entry::words& entry);
    bool read_device_entry(uint16_t rid, uint32_t pasid, hw::pasid_entry::words& entry);
    const attachment* attachment_of(uint16_t rid, uint32_t pasid = no_pasid) const;
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
        uint16_t rid = 0;
        bool ats = false;            // device TLB enabled (context DTE set)
        bool pasid_capable = false;  // context PASIDE set
        bool pri = false;            // context PRE set: the device's page requests are taken
        uint64_t pasid_dir = 0;
        unsigned dir_order = 0;                     // the directory is 2^dir_order pages
        unsigned full_dir_order = 0;                // pages for the device's PASID width
        uint64_t context_pa = 0;                    // the device's context entry
        std::map<uint32_t, uint64_t> pasid_tables;  // directory index -> PASID table page
        std::map<uint32_t, attachment> attached;    // present PASID entries, by PASID
        // PASIDs the directory reaches: 512 entries a page, 64 PASIDs an entry.
        uint64_t max_pasid() const { return max_pasid(dir_order); }
        static uint64_t max_pasid(unsigned order) {
            return ((hw::page_size_4k << order) / hw::pasid_dir_entry::bytes) * hw::pasid_entry::per_table;
        }
    };
    int check_capabilities(std::string* error);
    int bring_up();
    int ensure_context(const iommu_device& dev, device_tables*& out);
    // Address of PASID entry `pasid` of t; `allocate` links a missing PASID table (else -ENOENT).
    // -ENODEV beyond the directory.
    int pasid_entry_pa(device_tables& t, uint32_t pasid, bool allocate, uint64_t& pa);
    // Replaces the one-page directory by one of full_dir_order pages (same PASID tables), points
    // the context entry at it and invalidates the device's context-cache entry. 0, -ENOMEM, -EFAULT.
    int grow_directory(device_tables& t);
    bool write_entry(uint64_t pa, const hw::pasid_entry::words& e);
    int set_entry_ssade(device_tables& t, const attachment& att, bool enable);
    void append_teardown_flush(std::vector<hw::inv_desc>& out, const attachment& old) const;
    // After `old` was torn down or replaced: its page requests drained (driver/vtd_prq.h), for a
    // device whose page requests the unit takes (PRE).
    void drain_page_requests(const device_tables& t, const attachment& old);

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
