#include "driver/vtd_ops.h"

#include <cerrno>
#include <cstring>

#include "driver/log.h"
#include "driver/nested_domain.h"
#include "driver/page_fault.h"
#include "driver/paging_domain.h"
#include "driver/uaccess.h"
#include "iommusim/iommufd.h"

namespace iommusim::driver {

int vtd_ops::hw_info(iommu_device& dev, std::vector<uint8_t>& data, uint32_t& type, uint64_t& capabilities) {
    if (!m_iommu.probed()) {
        klog::printk(klog::level::err, dmar_log, "%s: hw_info refused: the remapping unit is not probed (ENODEV)",
                     pci_name_of(dev.rid).text);
        return -ENODEV;
    }
    iommu_hw_info_vtd info{};
    info.flags = IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17;
    info.cap_reg = m_iommu.cap();
    info.ecap_reg = m_iommu.ecap();
    data.resize(sizeof info);
    std::memcpy(data.data(), &info, sizeof info);
    type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
    // Linux intel_iommu_capable(IOMMU_CAP_DIRTY_TRACKING): ssads_supported().
    capabilities = m_iommu.ssads_supported() ? IOMMU_HW_CAP_DIRTY_TRACKING : 0;
    return 0;
}

int vtd_ops::domain_alloc_paging_flags(iommu_device& dev, uint32_t flags, const iommu_user_data* user_data,
                                       std::unique_ptr<iommu_domain>& out) {
    const char* refusal = nullptr;
    // Linux intel_iommu_domain_alloc_paging_flags takes IOMMU_HWPT_ALLOC_PASID: every second-stage
    // domain can be attached to PASIDs.
    if (flags & ~(alloc_flag_nest_parent | alloc_flag_dirty_tracking | alloc_flag_pasid)) {
        refusal = "unknown allocation flags";
    } else if (user_data) {
        refusal = "paging domains take no driver data";
    } else if ((flags & alloc_flag_dirty_tracking) && !m_iommu.ssads_supported()) {
        refusal = "dirty tracking needs second-stage A/D (ECAP.SSADS)";
    } else if ((flags & alloc_flag_nest_parent) && !m_iommu.nesting_supported()) {
        refusal = "nest parent needs nested translation (ECAP.NEST and ECAP.SMTS)";
    }
    if (refusal) {
        klog::printk(klog::level::info, dmar_log, "%s: paging domain refused (flags 0x%x): %s (EOPNOTSUPP)",
                     pci_name_of(dev.rid).text, flags, refusal);
        return -EOPNOTSUPP;
    }
    const bool nest_parent = (flags & alloc_flag_nest_parent) != 0;
    const bool dirty_ops = (flags & alloc_flag_dirty_tracking) != 0;
    std::unique_ptr<paging_domain> d;
    if (int rc = paging_domain::create(m_iommu, this, nest_parent, d, dirty_ops)) {
        return rc;
    }
    out = std::move(d);
    return 0;
}

int vtd_ops::domain_alloc_nested(iommu_device& dev, iommu_domain& parent, uint32_t flags,
                                 const iommu_user_data& user_data, std::unique_ptr<iommu_domain>& out) {
    const char* refusal = nullptr;
    if (!m_iommu.nesting_supported()) {
        refusal = "nested translation (ECAP.NEST and ECAP.SMTS) is not supported";
    } else if (flags & ~alloc_flag_pasid) {
        refusal = "unsupported allocation flags";  // Linux intel_iommu_domain_alloc_nested
    } else if (user_data.type != IOMMU_HWPT_DATA_VTD_S1) {
        refusal = "the data type is not IOMMU_HWPT_DATA_VTD_S1";
    }
    if (refusal) {
        klog::printk(klog::level::info, dmar_log,
                     "%s: nested domain refused (flags 0x%x, data type %u): %s (EOPNOTSUPP)", pci_name_of(dev.rid).text,
                     flags, user_data.type, refusal);
        return -EOPNOTSUPP;
    }
    auto* s2 = dynamic_cast<paging_domain*>(&parent);
    if (!s2 || parent.owner() != this || !s2->is_nest_parent()) {
        klog::printk(klog::level::info, dmar_log,
                     "%s: nested domain refused: the parent is not a VT-d nest-parent paging domain (EINVAL)",
                     pci_name_of(dev.rid).text);
        return -EINVAL;
    }
    iommu_hwpt_vtd_s1 s1{};
    if (int rc = iommu_copy_struct_from_user(&s1, sizeof s1, sizeof s1, user_data, IOMMU_HWPT_DATA_VTD_S1)) {
        return rc;
    }
    std::unique_ptr<nested_domain> d;
    if (int rc = nested_domain::create(m_iommu, this, *s2, s1, d)) {
        return rc == -ENOSPC ? -ENOMEM : rc;
    }
    out = std::move(d);
    return 0;
}

void vtd_ops::detach_dev(iommu_device& dev) {
    m_iommu.clear_device_entry(dev.rid);
    dev.domain = nullptr;
}

void vtd_ops::remove_dev_pasid(iommu_device& dev, uint32_t pasid) {
    // Linux blocking_domain_set_dev_pasid: intel_pasid_tear_down_entry, with its flushes.
    m_iommu.clear_device_entry(dev.rid, pasid);
    dev.pasid_domains.erase(pasid);
}

bool vtd_ops::supports_iopf(const iommu_device& dev) const {
    return dev.ats && dev.pri && m_iommu.prq().enabled();
}

int vtd_ops::page_response(iommu_device& dev, const page_request& request, const struct page_response& response) {
    return m_iommu.prq().page_response(dev.rid, request, response);
}

namespace {
vtd_prq::report_fn reporter(std::function<iommu_device*(uint16_t rid)> find) {
    return [find = std::move(find)](uint16_t rid, const page_request& request) {
        iommu_device* dev = find ? find(rid) : nullptr;
        if (!dev) {
            return false;
        }
        // With no iopf handler the core answers the group invalid itself (driver/page_fault.h).
        report_page_request(*dev, request);
        return true;
    };
}
}  // namespace

unsigned vtd_ops::handle_page_requests(const std::function<iommu_device*(uint16_t rid)>& find) {
    return m_iommu.prq().handle_event(reporter(find));
}

void vtd_ops::set_device_lookup(std::function<iommu_device*(uint16_t rid)> find) {
    m_iommu.prq().set_reporter(reporter(std::move(find)));
}

}  // namespace iommusim::driver
