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
// Page requests (docs/vtd-facts.md §10): supports_iopf for ATS+PRI devices with the unit's page
// request queue on, page_response as a type-9 descriptor, handle_page_requests reporting each
// request to the core (and the same for the drain on detach or replace, set_device_lookup).
// Does not model: several IOMMU units, identity domains.
#pragma once

#include <cstdint>
#include <functional>
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
    // I/O page faults: devices with ATS and PRI behind a unit whose page request queue is on.
    bool supports_iopf(const iommu_device& dev) const override;
    // intel_iommu_page_response: a page group response on the invalidation queue.
    int page_response(iommu_device& dev, const page_request& request, const struct page_response& response) override;
    // The page request thread (prq_event_thread): every queued request goes to the IOMMU core
    // (driver/page_fault.h) for the device `find` returns for its requester id. Returns the
    // number of descriptors consumed.
    unsigned handle_page_requests(const std::function<iommu_device*(uint16_t rid)>& find);
    // The device lookup the page request thread uses when a drain runs it (PASID teardown,
    // driver/vtd_prq.h).
    void set_device_lookup(std::function<iommu_device*(uint16_t rid)> find);

    vtd_iommu& iommu() { return m_iommu; }

  private:
    vtd_iommu& m_iommu;
};

}  // namespace iommusim::driver
