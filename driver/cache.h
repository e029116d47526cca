// The driver's one flush policy: cache tags per domain, and the invalidation descriptors built from
// them.
//
// Models (Linux drivers/iommu/intel/cache.c; docs/vtd-facts.md §3.3, §6.1-§6.7): every domain
// keeps a list of typed cache tags naming what the hardware may cache on its behalf: IOTLB entries
// under a DID (one tag for every device of the unit, refcounted), device-TLB entries of an ATS device
// under a DID, and on a nest parent, nesting IOTLB / nesting device-TLB tags for each nested child's
// DID. flush_range invalidates the naturally aligned block covering a range (calculate_psi_aligned_
// address) in every tagged cache: second-stage IOTLB tags with a type-2 page-selective invalidation
// (domain-selective without CAP.PSI or above CAP.MAMV), first-stage ones with a type-6 PASID-based
// one (PASID-selective when the block is the whole address space); device-TLB tags with a type-3
// invalidation of the block, nesting device-TLB tags of the whole range (a stage-2 change cannot be
// narrowed to stage-1 addresses). flush_all invalidates everything tagged; flush_range_np is the
// not-present-to-present flush (caching mode only, IOTLB tags only). The PASID-entry set-up and
// tear-down sequences of §6.7 are here too. Descriptors are appended to a batch the caller submits
// with one wait descriptor.
// Tags carry the PASID of the attachment (Linux cache_tag_assign_domain with pasid): first-stage
// IOTLB tags flush with that PASID, device-TLB tags of a PASID other than RID_PASID with the
// PASID-based device-TLB invalidation (type 8); second-stage IOTLB flushes are by DID, one per tag.
// Does not model: several remapping units, write-buffer flushing (CAP.RWBF).
#pragma once

#include <cstdint>
#include <vector>

#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_tables.h"

namespace iommusim::driver {

// A deliberate flush-builder bug a test switches on to show that the checkers catch it by behaviour
// (testbench/program/storm_test.cc); none in every real run.
enum class seeded_flush_bug : uint8_t {
    none,
    drop_last_page,   // a range of several pages loses its last page before it is rounded to a block
    nonleaf_as_leaf,  // every range is flushed with IH=1: paging-structure caches keep their entries
};

// The capability bits the flush policy depends on, read once at probe.
struct flush_caps {
    bool psi = false;             // CAP.PSI: page-selective IOTLB invalidation
    unsigned mamv = 0;            // CAP.MAMV: largest address mask of a page-selective invalidation
    bool drain = false;           // CAP.DRD and CAP.DWD: drain reads and writes with IOTLB invalidations
    bool caching_mode = false;    // CAP.CM: not-present entries may be cached
    bool pfsid_from_rid = false;  // ECAP.DIT: device-TLB invalidations carry the physical function SID
    seeded_flush_bug seeded_bug = seeded_flush_bug::none;  // tests only (vtd_iommu::seed_flush_bug)

    static flush_caps from_registers(uint64_t cap, uint64_t ecap);
};

// Widest invalidation mask: 2^52 pages, the whole address space (Linux MAX_AGAW_PFN_WIDTH).
inline constexpr unsigned whole_range_mask = 52;

// The last byte of [start, start + bytes) (bytes > 0), and of npages 4 KiB pages from start (npages
// > 0), saturated at the top of the address space.
constexpr uint64_t range_last(uint64_t start, uint64_t bytes) {
    return start + (bytes - 1) < start ? ~uint64_t{0} : start + (bytes - 1);
}
constexpr uint64_t range_last_of_pages(uint64_t start, uint64_t npages) {
    return (npages >> whole_range_mask) ? ~uint64_t{0} : range_last(start, npages << 12);
}

// The naturally aligned power-of-two block of pages covering [start, last]: its base and mask
// (log2 pages); whole_range_mask (base 0) when no smaller block covers it.
struct psi_block {
    uint64_t base = 0;
    unsigned mask = 0;

    static psi_block covering(uint64_t start, uint64_t last);
    bool operator==(const psi_block&) const = default;
};

// Descriptor encoders under the unit's capabilities.
// IOTLB invalidation (type 2) of `did` for a block: page-selective, or domain-selective when PSI is
// absent or the mask exceeds MAMV (§6.2, §6.7).
hw::inv_desc iotlb_inv(const flush_caps& caps, uint16_t did, const psi_block& block, bool ih);
// Device-TLB invalidation (type 3) of a block for rid, in the ATS size encoding (§3.3).
hw::inv_desc dev_tlb_inv(const flush_caps& caps, uint16_t rid, const psi_block& block);
// The same for requests with `pasid` (type 8, Linux qi_flush_dev_iotlb_pasid); pasid 0 is type 3.
hw::inv_desc dev_tlb_inv(const flush_caps& caps, uint16_t rid, uint32_t pasid, const psi_block& block);

enum class cache_tag_type { iotlb, dev_tlb, nesting_iotlb, nesting_dev_tlb };

// What a domain's IOTLB entries are translated by: first stage (nested domains, PASID-based IOTLB
// invalidation) or second stage (paging domains, IOTLB invalidation).
enum class domain_stage { first, second };

struct cache_tag {
    cache_tag_type type = cache_tag_type::iotlb;
    uint16_t did = 0;
    uint32_t pasid = 0;  // the attached PASID (0: RID_PASID, requests without PASID)
    uint16_t rid = 0;    // the device of device-TLB tags; 0 for IOTLB tags (shared by the unit)
    unsigned users = 0;  // attachments holding the tag
};

class cache_tags {
  public:
    // A nested domain's tags name `parent`, its nest parent's, which gets the nesting tags.
    explicit cache_tags(domain_stage stage, cache_tags* parent = nullptr) : m_stage(stage), m_parent(parent) {}
    cache_tags(const cache_tags&) = delete;
    cache_tags& operator=(const cache_tags&) = delete;

    // A device's `pasid` attached (or detached) under `did` (Linux cache_tag_assign_domain): the
    // IOTLB tag, a device-TLB tag when ats, and the matching nesting tags on the parent.
    void assign_device(uint16_t did, uint16_t rid, bool ats, uint32_t pasid = 0);
    void unassign_device(uint16_t did, uint16_t rid, bool ats, uint32_t pasid = 0);
    // One tag: a new one, or one more user of an equal one. Removal drops a user; the last removes it.
    void assign(cache_tag_type type, uint16_t did, uint16_t rid, uint32_t pasid = 0);
    void unassign(cache_tag_type type, uint16_t did, uint16_t rid, uint32_t pasid = 0);

    // In flush order: own tags before nesting tags; by DID, IOTLB before device TLB, by device, by
    // PASID.
    const std::vector<cache_tag>& tags() const { return m_tags; }
    bool empty() const { return m_tags.empty(); }
    domain_stage stage() const { return m_stage; }
    // The nest parent's tags of a nested domain (nullptr otherwise).
    const cache_tags* parent() const { return m_parent; }

    // Appends the invalidations of [start, last] (inclusive) in every tagged cache; ih marks
    // leaf-only changes (IOTLB tags).
    void flush_range(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint64_t start, uint64_t last,
                     bool ih) const;
    // Appends the invalidation of everything tagged (Linux: flush_range over the whole address
    // space, docs/iommufd-facts.md §8).
    void flush_all(std::vector<hw::inv_desc>& batch, const flush_caps& caps) const;
    // After not-present-to-present changes of [start, last] (Linux cache_tag_flush_range_np): only
    // caching mode lets the IOTLB hold not-present second-stage entries (CAP.CM, docs/vtd-facts.md §1.3);
    // device TLBs are not flushed; first-stage domains need nothing.
    void flush_range_np(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint64_t start, uint64_t last) const;

  private:
    // Calls fn(list, type) for every tag a device attached with or without ATS holds.
    template <typename Fn>
    void for_each_device_tag(bool ats, Fn&& fn);
    void append_iotlb(std::vector<hw::inv_desc>& batch, const flush_caps& caps, const cache_tag& tag,
                      const psi_block& block, bool ih) const;

    domain_stage m_stage;
    cache_tags* m_parent;
    std::vector<cache_tag> m_tags;
};

// §6.7: after a present PASID entry `pasid` of rid changed or went away (Linux
// intel_pasid_tear_down_entry): PASID cache of its DID and PASID, then the IOTLB (domain-selective
// for second-stage and nested entries, PASID-selective PASID-based otherwise), then, when ats, the
// whole device TLB of the PASID (type 3 for RID_PASID, type 8 otherwise: Linux
// devtlb_invalidation_with_pasid).
void append_pasid_teardown_flush(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint16_t did, hw::pgtt type,
                                 uint16_t rid, bool ats, uint32_t pasid = 0);
// Caching mode only: after a not-present PASID entry became present, its PASID cache and IOTLB.
void append_pasid_setup_flush(std::vector<hw::inv_desc>& batch, const flush_caps& caps, uint16_t did,
                              uint32_t pasid = 0);
// The whole device TLB of `pasid` of rid (type 3 for RID_PASID, type 8 otherwise).
hw::inv_desc dev_tlb_inv_all(const flush_caps& caps, uint16_t rid, uint32_t pasid);

}  // namespace iommusim::driver
