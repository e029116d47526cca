// A paging (kernel-managed, second-stage) domain: page tables in simulated memory, map/unmap, and
// the invalidations that keep the hardware caches coherent with them.
//
// Models (docs/vtd-facts.md §4.4, §5.4, §6.2, §6.6, §6.7): second-stage tables of ss_levels() levels built
// in driver memory through the shared layouts (non-leaf entries R=W=1, leaves carry the mapping's
// R/W); 2 MiB and 1 GiB leaves where iova, physical address and length allow and CAP.SSLPS offers
// them; unmap clears leaves (splitting a large page that is only partly unmapped) and then flushes
// through the domain's cache tags (driver/cache.h): its IOTLB and ATS device TLBs, and those of
// every nested child when the domain is a nest parent. With CAP.CM, new mappings get the IOTLB
// flush of flush_range_np (device TLBs hold no not-present entries). Attaching programs a PASID entry with
// PGTT=010 (second stage only), for RID_PASID or, through set_dev_pasid, for another PASID. A nest parent refuses
// read-only mappings with -EINVAL, as Linux does for the erratum GET_HW_INFO reports
// (IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, docs/iommufd-facts.md; drivers/iommu/intel/iommu.c __domain_mapping). Dirty
// tracking (Linux intel_dirty_ops) for domains allocated with it: attach needs ECAP.SSADS
// (-EINVAL) and sets SSADE while tracking is on; set_dirty_tracking switches SSADE in the PASID
// entries of every device attached to the domain or to a nested child of it; read_and_clear_dirty
// walks the second-stage tables, reports every leaf with D (bit 9, docs/vtd-facts.md §5.4) as a
// whole (a large leaf with its full size, even beyond the asked range: the sink clips), clears D
// with an atomic compare-exchange (Linux dma_sl_pte_test_and_clear_dirty) unless dirty_no_clear,
// and then flushes the block covering the cleared leaves, as the core's iotlb_sync of the gathered
// range does. Splitting a large leaf keeps its A/D flags in the smaller leaves. A read with
// tracking off is EINVAL unless it is the core's clearing pass (a sink that does not report), as
// Linux intel_iommu_read_and_clear_dirty.
// Does not model: snoop control, freeing of empty intermediate tables before the domain is
// destroyed, first-stage paging domains.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "driver/cache.h"
#include "driver/iommu_ops.h"
#include "driver/vtd_iommu.h"

namespace iommusim::driver {

class paging_domain : public iommu_domain {
  public:
    // Allocates a DID and a root table; `dirty_ops`: the domain implements dirty tracking (the
    // caller checked ECAP.SSADS). 0, -ENOSPC, -ENOMEM.
    static int create(vtd_iommu& iommu, iommu_ops* owner, bool nest_parent, std::unique_ptr<paging_domain>& out,
                      bool dirty_ops = false);
    ~paging_domain() override;

    bool is_nest_parent() const override { return m_nest_parent; }
    int attach_dev(iommu_device& dev) override;
    // Linux intel_iommu_set_dev_pasid: -EOPNOTSUPP without ECAP.PASID, -EINVAL for a domain with
    // dirty tracking, then the attach checks and the PASID entry of attach_dev under `pasid`.
    bool has_set_dev_pasid() const override { return true; }
    int set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) override;
    // Pins the user buffer through the bus and maps it (4 KiB aligned host, iova and len).
    int map(uint64_t iova, void* host, uint64_t len, int prot) override;
    int unmap(uint64_t iova, uint64_t len) override;

    bool has_dirty_ops() const override { return m_dirty_ops; }
    // 0 (also when already so), -EOPNOTSUPP without dirty ops, or the error of a device's PASID
    // entry, after which every entry is back as it was.
    int set_dirty_tracking(bool enabled) override;
    int read_and_clear_dirty(uint64_t iova, uint64_t size, unsigned long flags, dirty_bitmap_sink& dirty) override;
    // SSADE goes into the PASID entries of this domain and of its nested children.
    bool dirty_tracking() const { return m_dirty_tracking; }

    // Physical-level map/unmap. map: 0, -EINVAL (alignment, range, prot, read-only on a nest
    // parent), -EEXIST (already mapped; nothing of this call stays mapped), -ENOMEM. unmap: 0 (with
    // the bytes unmapped in *unmapped), -EINVAL; the caches are flushed before it returns.
    int map_pa(uint64_t iova, uint64_t pa, uint64_t len, int prot);
    int unmap_pa(uint64_t iova, uint64_t len, uint64_t* unmapped = nullptr);
    // Changes the rights of every mapped page in [iova, iova + len) (prot_read | prot_write, at least
    // one; a nest parent only takes writable rights); a reduction is flushed like an unmap before it
    // returns. 0, -EINVAL, -ENOMEM.
    int set_prot(uint64_t iova, uint64_t len, int prot);
    // Software walk of the tables: physical address, prot and leaf size of iova.
    bool lookup(uint64_t iova, uint64_t& pa, int& prot, uint64_t& page_bytes);
    // Invalidates every cache that may hold translations of [iova, iova + len) of this domain.
    int flush_range(uint64_t iova, uint64_t len);
    // After [iova, iova + len) went from not present to present (driver/cache.h flush_range_np).
    int flush_range_np(uint64_t iova, uint64_t len);

    uint16_t did() const { return m_did; }
    uint64_t root() const { return m_root; }
    unsigned levels() const { return m_levels; }
    unsigned aw() const { return m_levels - 2; }
    vtd_iommu& iommu() { return m_iommu; }
    std::size_t table_pages() const { return m_tables.size(); }

    // What the caches may hold for this domain (and, as nesting tags, for its nested children).
    cache_tags& cache() { return m_cache; }

  private:
    paging_domain(vtd_iommu& iommu, iommu_ops* owner, bool nest_parent, bool dirty_ops);
    // The attach checks (driver, ECAP.SSADS for dirty tracking), logged as `what`.
    bool check_device(const iommu_device& dev, const char* what) const;
    // The PGTT=010 PASID entry of this domain.
    hw::pasid_entry::words build_entry() const;
    // ERRATA_772415_SPR17: a nest parent must not hold read-only second-stage leaves.
    bool refuses_read_only(int prot) const { return m_nest_parent && !(prot & prot_write); }
    // Address of the entry at `level` for iova, allocating missing tables above it.
    int walk_alloc(uint64_t iova, unsigned level, uint64_t& entry_pa);
    int split_large(uint64_t entry_pa, uint64_t entry, unsigned level);
    // D of the leaf at entry_pa (holding e): true when set; cleared atomically unless no_clear.
    int test_and_clear_dirty(uint64_t entry_pa, uint64_t e, bool no_clear, bool& was_dirty);
    // Calls leaf(entry_pa, entry, page_bytes) for every present leaf inside [iova, iova + len),
    // splitting large leaves that straddle the range boundary.
    template <typename Leaf>
    int for_each_leaf(uint64_t iova, uint64_t len, Leaf&& leaf);

    vtd_iommu& m_iommu;
    bool m_nest_parent;
    bool m_dirty_ops;
    bool m_dirty_tracking = false;
    uint16_t m_did = 0;
    uint64_t m_root = 0;
    unsigned m_levels = 4;
    std::vector<uint64_t> m_tables;  // every table page, freed with the domain
    cache_tags m_cache{domain_stage::second};
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> m_pins;  // iova -> (pa, len) of pinned user buffers
};

}  // namespace iommusim::driver
