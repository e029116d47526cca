#include "driver/vtd_ops.h"

#include <cerrno>
#include <cstring>

#include "driver/nested_domain.h"
#include "driver/paging_domain.h"
#include "driver/uaccess.h"
#include "iommusim/iommufd.h"

namespace iommusim::driver {

int vtd_ops::hw_info(iommu_device& dev, std::vector<uint8_t>& data, uint32_t& type, uint64_t& capabilities) {
    (void)dev;
    if (!m_iommu.probed())
        return -ENODEV;
    iommu_hw_info_vtd info{};
    info.flags = IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17;
    info.cap_reg = m_iommu.cap();
    info.ecap_reg = m_iommu.ecap();
    data.resize(sizeof info);
    std::memcpy(data.data(), &info, sizeof info);
    type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
    capabilities = 0;  // no dirty tracking
    return 0;
}

int vtd_ops::domain_alloc_paging_flags(iommu_device& dev, uint32_t flags, const iommu_user_data* user_data,
                                       std::unique_ptr<iommu_domain>& out) {
    (void)dev;
    if (flags & ~(alloc_flag_nest_parent | alloc_flag_dirty_tracking))
        return -EOPNOTSUPP;
    if (user_data)
        return -EOPNOTSUPP;  // no driver data for paging domains
    if (flags & alloc_flag_dirty_tracking)
        return -EOPNOTSUPP;  // SS A/D tracking not driven
    const bool nest_parent = (flags & alloc_flag_nest_parent) != 0;
    if (nest_parent && !m_iommu.nesting_supported())
        return -EOPNOTSUPP;
    std::unique_ptr<paging_domain> d;
    if (int rc = paging_domain::create(m_iommu, this, nest_parent, d))
        return rc;
    out = std::move(d);
    return 0;
}

int vtd_ops::domain_alloc_nested(iommu_device& dev, iommu_domain& parent, uint32_t flags,
                                 const iommu_user_data& user_data, std::unique_ptr<iommu_domain>& out) {
    (void)dev;
    if (!m_iommu.nesting_supported() || flags != 0)
        return -EOPNOTSUPP;
    if (user_data.type != IOMMU_HWPT_DATA_VTD_S1)
        return -EOPNOTSUPP;
    auto* s2 = dynamic_cast<paging_domain*>(&parent);
    if (!s2 || parent.owner() != this || !s2->is_nest_parent())
        return -EINVAL;
    iommu_hwpt_vtd_s1 s1{};
    if (int rc = iommu_copy_struct_from_user(&s1, sizeof s1, sizeof s1, user_data, IOMMU_HWPT_DATA_VTD_S1))
        return rc;
    std::unique_ptr<nested_domain> d;
    if (int rc = nested_domain::create(m_iommu, this, *s2, s1, d))
        return rc == -ENOSPC ? -ENOMEM : rc;
    out = std::move(d);
    return 0;
}

void vtd_ops::detach_dev(iommu_device& dev) {
    m_iommu.clear_device_entry(dev.rid);
    dev.domain = nullptr;
}

}  // namespace iommusim::driver
