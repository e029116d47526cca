// The VT-d driver behind the iommufd core: driver/iommu_ops.h implemented over one vtd_iommu.
//
// Models (docs/iommufd-facts.md §2.2, §4.1, §6.1; docs/vtd-facts.md §6.7): hw_info answers struct
// iommu_hw_info_vtd with the live CAP/ECAP (and the errata flag Linux always sets) and
// IOMMU_HW_CAP_DIRTY_TRACKING with ECAP.SSADS; paging domains (second stage, optionally nest parent,
// optionally dirty tracking, which needs ECAP.SSADS; refusals and driver data are EOPNOTSUPP);
// nested domains from IOMMU_HWPT_DATA_VTD_S1 with the allocation checks in Linux's order (nesting
// support and flags -> EOPNOTSUPP, data type -> EOPNOTSUPP, parent -> EINVAL, exact-size copy ->
// EINVAL/EFAULT); attach/replace through the domains (the old PASID entry is flushed per §6.7) and
// detach to blocking (entry torn down, DMA faults); PASID attach through the domains'
// set_dev_pasid (IOMMU_HWPT_ALLOC_PASID accepted for paging and nested domains) and removal to
// blocking (the PASID's entry torn down with its flushes).
// Does not model: several IOMMU units, identity domains.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "driver/iommu_ops.h"
#include "driver/vtd_iommu.h"

namespace iommusim::driver {

class vtd_ops : public iommu_ops {
  public:
    // `iommu` must have been probed before domains are allocated.
    explicit vtd_ops(vtd_iommu& iommu) : m_iommu(iommu) {}

    int hw_info(iommu_device& dev, std::vector<uint8_t>& data, uint32_t& type, uint64_t& capabilities) override;
    int domain_alloc_paging_flags(iommu_device& dev, uint32_t flags, const iommu_user_data* user_data,
                                  std::unique_ptr<iommu_domain>& out) override;
    bool has_domain_alloc_nested() const override { return true; }
    int domain_alloc_nested(iommu_device& dev, iommu_domain& parent, uint32_t flags, const iommu_user_data& user_data,
                            std::unique_ptr<iommu_domain>& out) override;
    void detach_dev(iommu_device& dev) override;
    void remove_dev_pasid(iommu_device& dev, uint32_t pasid) override;

    vtd_iommu& iommu() { return m_iommu; }

  private:
    vtd_iommu& m_iommu;
};

}  // namespace iommusim::driver
