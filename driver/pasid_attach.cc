// The core's PASID attach calls (kernel drivers/iommu/iommu.c iommu_attach_device_pasid,
// iommu_replace_device_pasid, iommu_detach_device_pasid) over driver/iommu_ops.h.
//
// Differences: the kernel skips the width check for group members without PASIDs (max_pasids 0)
// so that they do not hold back the rest of their group; every device here is its own group, and
// a device without PASIDs keeps the check (6.13's form: any PASID is beyond a width of 0).
#include <cerrno>
#include <cstring>

#include "driver/iommu_ops.h"
#include "driver/log.h"

namespace iommusim::driver {

namespace {

// Shared checks of attach and replace, in the kernel's order.
int check_pasid_request(iommu_domain& domain, iommu_device& dev, uint32_t pasid, const char* call) {
    const char* refusal = nullptr;
    int rc = 0;
    if (!domain.has_set_dev_pasid()) {
        refusal = "the domain has no set_dev_pasid";
        rc = -EOPNOTSUPP;
    } else if (dev.ops != domain.owner() || pasid == no_pasid) {
        refusal = "the domain is another driver's, or the PASID is IOMMU_NO_PASID";
        rc = -EINVAL;
    } else if (dev.max_pasid_log2 < 32 && pasid >= (uint64_t{1} << dev.max_pasid_log2)) {
        refusal = "the PASID is beyond the device's PASID width";
        rc = -EINVAL;
    }
    if (refusal) {
        klog::printk(klog::level::info, iommu_core_log, "%s: %s of PASID %u refused: %s (%s)",
                     pci_name_of(dev.rid).text, call, pasid, refusal, strerrorname_np(-rc));
    }
    return rc;
}

iommu_domain* domain_on(const iommu_device& dev, uint32_t pasid) {
    auto it = dev.pasid_domains.find(pasid);
    return it == dev.pasid_domains.end() ? nullptr : it->second;
}

}  // namespace

int attach_device_pasid(iommu_domain& domain, iommu_device& dev, uint32_t pasid) {
    if (int rc = check_pasid_request(domain, dev, pasid, "attach")) {
        return rc;
    }
    if (domain_on(dev, pasid) != nullptr) {
        klog::printk(klog::level::info, iommu_core_log,
                     "%s: attach of PASID %u refused: it has a domain already (EBUSY)", pci_name_of(dev.rid).text,
                     pasid);
        return -EBUSY;
    }
    return domain.set_dev_pasid(dev, pasid, nullptr);
}

int replace_device_pasid(iommu_domain& domain, iommu_device& dev, uint32_t pasid) {
    if (int rc = check_pasid_request(domain, dev, pasid, "replace")) {
        return rc;
    }
    iommu_domain* old = domain_on(dev, pasid);
    if (old == nullptr) {
        klog::printk(klog::level::info, iommu_core_log, "%s: replace of PASID %u refused: it has no domain (EINVAL)",
                     pci_name_of(dev.rid).text, pasid);
        return -EINVAL;
    }
    if (old == &domain) {
        return 0;
    }
    return domain.set_dev_pasid(dev, pasid, old);
}

void detach_device_pasid(iommu_device& dev, uint32_t pasid) {
    if (domain_on(dev, pasid) != nullptr && dev.ops != nullptr) {
        dev.ops->remove_dev_pasid(dev, pasid);
    }
}

}  // namespace iommusim::driver
