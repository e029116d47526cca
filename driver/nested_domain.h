// A nested domain: a guest-owned first-stage table (struct iommu_hwpt_vtd_s1) on top of a nest-parent
// paging domain, and its user-driven cache invalidation.
//
// Models (docs/iommufd-facts.md §4.1-§4.4, docs/vtd-facts.md §4.4, §3.3, §3.6, §6.3, §6.4): attach-time checks
// (addr_width 48, or 57 with CAP.FS5LP; SRE needs ECAP.SRS; EAFE needs ECAP.EAFS; a dirty-tracking
// parent needs ECAP.SSADS -> -EINVAL), then a PASID entry with PGTT=011: FSPTPTR = the guest table,
// FSPM for 5-level, SRE/EAFE, WPE only with SRE, SSPTPTR/AW of the parent, SSADE while the parent
// tracks dirty pages, PWSNP from ECAP.SMPWCS, and the nested domain's own DID.
// cache_invalidate_user follows intel_nested_cache_invalidate_user: data-type check (EINVAL even
// with no entries), per-entry exact-size copy (EINVAL/EFAULT), flags/reserved (EOPNOTSUPP), 4 KiB
// alignment and the U64_MAX rule (EINVAL), stop at the first bad entry, entry_num = entries
// handled. Each valid entry becomes a page-selective PASID-based IOTLB invalidation (type 6, DID,
// the PASID of each attachment, the 6.10+ naturally aligned base/mask, IH from IOMMU_VTD_INV_FLAGS_LEAF), or a
// PASID-selective one (granularity 10) when that block is the whole address space (mask 52, e.g.
// addr 0 / npages U64_MAX), as current Linux cache.c does; plus a device-TLB invalidation per attached
// ATS device, built from the domain's cache tags (driver/cache.h); all of them go to the queue as
// one batch with one wait descriptor. Attaching also gives the parent nesting tags of this DID.
// set_dev_pasid programs the same entry for another PASID of the device; the flushes of an entry
// invalidation then name that PASID (its cache tags carry it).
// Does not model: vIOMMU objects.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "driver/cache.h"
#include "driver/iommu_ops.h"
#include "driver/vtd_iommu.h"
#include "iommusim/iommufd.h"

namespace iommusim::driver {

class paging_domain;

class nested_domain : public iommu_domain {
  public:
    // Allocates the DID; `s1` has passed the allocation checks of §4.1 (vtd_ops does them).
    static int create(vtd_iommu& iommu, iommu_ops* owner, paging_domain& parent, const iommu_hwpt_vtd_s1& s1,
                      std::unique_ptr<nested_domain>& out);
    ~nested_domain() override;

    int attach_dev(iommu_device& dev) override;
    // The nested entry under another PASID: -EOPNOTSUPP without ECAP.PASID, then as attach_dev.
    bool has_set_dev_pasid() const override { return true; }
    int set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) override;
    bool has_cache_invalidate_user() const override { return true; }
    int cache_invalidate_user(iommu_user_data_array& array) override;

    // The attach-time checks and the PASID entry they lead to. 0 or -EINVAL.
    int build_entry(hw::pasid_entry::words& e) const;

    uint16_t did() const { return m_did; }
    paging_domain& parent() { return m_parent; }
    const iommu_hwpt_vtd_s1& s1() const { return m_s1; }

  private:
    nested_domain(vtd_iommu& iommu, iommu_ops* owner, paging_domain& parent, const iommu_hwpt_vtd_s1& s1);

    vtd_iommu& m_iommu;
    paging_domain& m_parent;
    iommu_hwpt_vtd_s1 m_s1;
    uint16_t m_did = 0;
    cache_tags m_cache;                 // first stage; nesting tags go to the parent's
    std::vector<hw::inv_desc> m_batch;  // cache_invalidate_user's descriptors, kept for the next call
};

}  // namespace iommusim::driver
