// Device objects: bind, attach/replace/detach of IOMMU_NO_PASID and of other PASIDs, IOMMU_GET_HW_INFO
// (kernel iommufd/device.c), spec §2.2.
// A HWPT with a fault object takes only devices whose driver takes page requests (kernel
// iommufd_fault_iopf_enable -> iommu_dev_enable_feature(IOPF): ENODEV otherwise); when a device's
// attachment to such a HWPT ends (replace or detach) its groups are answered invalid.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "driver/uaccess.h"
#include "iommufd/context.h"
#include "iommufd/fault.h"
#include "iommufd/viommu.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

namespace {

// Drops the device's user of `hwpt`; an automatic domain goes away with its last device.
void put_attached(context& ctx, hw_pagetable* hwpt) {
    if (hwpt == nullptr) {
        return;
    }
    --hwpt->users;
    if (hwpt->type == obj_type::hwpt_paging && static_cast<hwpt_paging*>(hwpt)->auto_domain && hwpt->users == 1) {
        ctx.destroy_object(*hwpt);
    }
}

// Kernel iommufd_hwpt_pasid_compat: a HWPT without IOMMU_HWPT_ALLOC_PASID goes on IOMMU_NO_PASID
// only while no other PASID is attached, and on another PASID never; a PASID attach also needs the
// IOMMU_NO_PASID HWPT (if any) to be PASID-compatible.
int check_pasid_compat(const device& idev, const hw_pagetable& hwpt, uint32_t pasid) {
    const char* refusal = nullptr;
    if (pasid == driver::no_pasid) {
        if (!hwpt.pasid_compat && !idev.pasid_hwpts.empty()) {
            refusal = "the HWPT was not allocated with IOMMU_HWPT_ALLOC_PASID and PASIDs are attached";
        }
    } else if (!hwpt.pasid_compat) {
        refusal = "the HWPT was not allocated with IOMMU_HWPT_ALLOC_PASID";
    } else if (idev.hwpt != nullptr && !idev.hwpt->pasid_compat) {
        refusal = "the HWPT on IOMMU_NO_PASID was not allocated with IOMMU_HWPT_ALLOC_PASID";
    }
    if (refusal != nullptr) {
        klog::printk(klog::level::info, iommufd_log, "attach of device %u PASID %u to HWPT %u refused: %s (EINVAL)",
                     idev.id, pasid, hwpt.id, refusal);
        return -EINVAL;
    }
    return 0;
}

// Kernel iommufd_hwpt_attach_device -> iommufd_fault_iopf_enable, for the device and for each of
// its PASIDs alike: a HWPT with a fault object takes only a device whose driver reports page
// faults (iommu_dev_enable_feature(IOPF); ENODEV otherwise).
int check_iopf(const device& idev, const hw_pagetable& hwpt) {
    if (hwpt.fault != nullptr && !idev.dev->ops->supports_iopf(*idev.dev)) {
        klog::printk(klog::level::info, iommufd_log,
                     "attach of device %u to HWPT %u refused: the HWPT takes page faults, the device's driver does "
                     "not (ENODEV)",
                     idev.id, hwpt.id);
        return -ENODEV;
    }
    return 0;
}

// Attach/replace onto an existing HWPT.
int attach_hwpt(context& ctx, device& idev, hw_pagetable& hwpt) {
    if (idev.hwpt == &hwpt) {
        return 0;  // replacing with the same HWPT is a no-op
    }
    if (hwpt.domain->owner() != idev.dev->ops) {
        klog::printk(klog::level::info, iommufd_log,
                     "attach of device %u to HWPT %u refused: the HWPT belongs to another IOMMU driver (EINVAL)",
                     idev.id, hwpt.id);
        return -EINVAL;
    }
    if (int rc = check_pasid_compat(idev, hwpt, driver::no_pasid)) {
        return rc;
    }
    if (int rc = check_iopf(idev, hwpt)) {
        return rc;
    }
    int rc = hwpt.domain->attach_dev(*idev.dev);
    if (rc != 0) {
        return rc;  // the driver logs why
    }
    ++hwpt.users;
    hw_pagetable* old = idev.hwpt;
    idev.hwpt = &hwpt;
    if (old != nullptr && old->fault != nullptr) {
        old->fault->auto_respond(*old, *idev.dev);
    }
    put_attached(ctx, old);
    return 0;
}

// Attach/replace of one PASID onto an existing HWPT.
int attach_hwpt_pasid(context& ctx, device& idev, uint32_t pasid, hw_pagetable& hwpt, context::pasid_change mode) {
    auto it = idev.pasid_hwpts.find(pasid);
    hw_pagetable* old = it == idev.pasid_hwpts.end() ? nullptr : it->second;
    if (mode == context::pasid_change::attach && old != nullptr) {
        // Kernel iommufd_hw_pagetable_attach: the device is in the PASID's device array already.
        klog::printk(klog::level::info, iommufd_log, "attach of device %u PASID %u refused: it is attached (EBUSY)",
                     idev.id, pasid);
        return -EBUSY;
    }
    if (mode == context::pasid_change::replace && old == nullptr) {
        klog::printk(klog::level::info, iommufd_log,
                     "replace of device %u PASID %u refused: it is not attached (EINVAL)", idev.id, pasid);
        return -EINVAL;
    }
    if (old == &hwpt) {
        return 0;
    }
    if (int rc = check_pasid_compat(idev, hwpt, pasid)) {
        return rc;
    }
    if (int rc = check_iopf(idev, hwpt)) {
        return rc;
    }
    const int rc = old != nullptr ? driver::replace_device_pasid(*hwpt.domain, *idev.dev, pasid)
                                  : driver::attach_device_pasid(*hwpt.domain, *idev.dev, pasid);
    if (rc != 0) {
        return rc;  // the driver core logs why
    }
    ++hwpt.users;
    idev.pasid_hwpts[pasid] = &hwpt;
    if (old != nullptr && old->fault != nullptr) {
        old->fault->auto_respond(*old, *idev.dev, pasid);
    }
    put_attached(ctx, old);
    return 0;
}

// Kernel iommufd_device_change_pt: onto a HWPT, or onto an automatic domain of an IOAS (an
// existing one the device can attach to, -EINVAL skipping an incompatible one, else a new one).
template <typename AttachFn>
int change_pt(context& ctx, device& idev, uint32_t& pt_id, AttachFn&& do_attach) {
    object* pt = ctx.get_object(pt_id, obj_type::any);
    if (pt == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "attach of device %u refused: no object with id %u (ENOENT)",
                     idev.id, pt_id);
        return -ENOENT;
    }
    switch (pt->type) {
        case obj_type::hwpt_paging:
        case obj_type::hwpt_nested:
            return do_attach(*static_cast<hw_pagetable*>(pt));
        case obj_type::ioas: {
            auto& as = *static_cast<ioas*>(pt);
            for (hwpt_paging* hwpt : as.hwpts) {
                if (!hwpt->auto_domain || hwpt->domain->owner() != idev.dev->ops) {
                    continue;
                }
                int rc = do_attach(*hwpt);
                if (rc == 0) {
                    pt_id = hwpt->id;
                    return 0;
                }
                if (rc != -EINVAL) {
                    return rc;
                }
            }
            // Automatic domains are allocated without flags: not PASID-compatible.
            hwpt_paging* hwpt = nullptr;
            int rc = ctx.hwpt_paging_create(as, idev, 0, nullptr, true, hwpt);
            if (rc != 0) {
                return rc;
            }
            rc = do_attach(*hwpt);
            if (rc != 0) {
                ctx.destroy_object(*hwpt);
                return rc;
            }
            ctx.finalize(hwpt->id);
            pt_id = hwpt->id;
            return 0;
        }
        default:
            klog::printk(klog::level::info, iommufd_log,
                         "attach of device %u refused: object %u is not an IOAS or a HWPT (EINVAL)", idev.id, pt_id);
            return -EINVAL;
    }
}

}  // namespace

int context::bind(driver::iommu_device& dev, uint32_t& out_id) {
    if (dev.owner != nullptr) {
        klog::printk(klog::level::info, iommufd_log, "bind refused: the device is already bound to an iommufd (EBUSY)");
        return -EBUSY;
    }
    auto obj = std::make_unique<device>();
    device* idev = obj.get();
    idev->dev = &dev;
    int rc = 0;
    uint32_t id = add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    idev->users = 2;  // the table and the binder (VFIO device file or selftest object)
    dev.owner = idev;
    finalize(id);
    out_id = id;
    return 0;
}

void context::unbind(uint32_t dev_id) {
    object* obj = get_object(dev_id, obj_type::device);
    if (obj == nullptr) {
        return;
    }
    destroy_object(*obj);
}

int context::attach(device& idev, uint32_t& pt_id) {
    return change_pt(*this, idev, pt_id, [&](hw_pagetable& hwpt) { return attach_hwpt(*this, idev, hwpt); });
}

int context::attach_pasid(device& idev, uint32_t pasid, uint32_t& pt_id, pasid_change mode) {
    return change_pt(*this, idev, pt_id,
                     [&](hw_pagetable& hwpt) { return attach_hwpt_pasid(*this, idev, pasid, hwpt, mode); });
}

void context::detach_pasid(device& idev, uint32_t pasid) {
    auto it = idev.pasid_hwpts.find(pasid);
    if (it == idev.pasid_hwpts.end()) {
        return;
    }
    driver::detach_device_pasid(*idev.dev, pasid);
    hw_pagetable* old = it->second;
    idev.pasid_hwpts.erase(it);
    if (old->fault != nullptr) {
        old->fault->auto_respond(*old, *idev.dev, pasid);
    }
    put_attached(*this, old);
}

void context::detach(device& idev) {
    if (idev.hwpt == nullptr) {
        return;
    }
    idev.dev->ops->detach_dev(*idev.dev);
    hw_pagetable* old = idev.hwpt;
    idev.hwpt = nullptr;
    if (old->fault != nullptr) {
        old->fault->auto_respond(*old, *idev.dev);
    }
    put_attached(*this, old);
}

void device_destroy(context& ctx, object& obj) {
    auto& idev = static_cast<device&>(obj);
    // PASIDs first, then IOMMU_NO_PASID (kernel vfio_iommufd_physical_unbind).
    while (!idev.pasid_hwpts.empty()) {
        ctx.detach_pasid(idev, idev.pasid_hwpts.begin()->first);
    }
    ctx.detach(idev);
    if (idev.vdev != nullptr) {
        ctx.destroy_object(*idev.vdev);  // kernel iommufd_device_pre_destroy, when the device object goes
    }
    idev.dev->owner = nullptr;
}

int get_hw_info_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_hw_info>();
    // Current kernels (iommufd_get_hw_info): only IOMMU_HW_INFO_FLAG_INPUT_TYPE is a known flag,
    // the three reserved bytes after out_max_pasid_log2 must be 0.
    if ((cmd.flags & ~uint32_t{IOMMU_HW_INFO_FLAG_INPUT_TYPE}) != 0 || cmd.__reserved[0] != 0 ||
        cmd.__reserved[1] != 0 || cmd.__reserved[2] != 0) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_GET_HW_INFO refused: flags 0x%x has unknown bits or __reserved is not 0 (EOPNOTSUPP)",
                     cmd.flags);
        return -EOPNOTSUPP;
    }
    const uint32_t wanted_type =
        (cmd.flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE) != 0 ? cmd.in_data_type : uint32_t{IOMMU_HW_INFO_TYPE_DEFAULT};
    auto* idev = u.ctx.get<device>(cmd.dev_id, obj_type::device);
    if (idev == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_GET_HW_INFO refused: %u is not a device id (ENOENT)",
                     cmd.dev_id);
        return -ENOENT;
    }
    std::vector<uint8_t> data;
    uint32_t type = IOMMU_HW_INFO_TYPE_NONE;
    uint64_t caps = 0;
    int rc = idev->dev->ops->hw_info(*idev->dev, data, type, caps);
    if (rc != 0) {
        return rc;
    }
    if (type == IOMMU_HW_INFO_TYPE_NONE) {
        return -ENODEV;  // a driver with a hw_info op must name its type
    }
    if (wanted_type != IOMMU_HW_INFO_TYPE_DEFAULT && wanted_type != type) {
        // The kernel's drivers answer only the default type or their own.
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_GET_HW_INFO refused: the driver has no info of type 0x%x (EOPNOTSUPP)", wanted_type);
        return -EOPNOTSUPP;
    }
    std::size_t copy_len = std::min<std::size_t>(cmd.data_len, data.size());
    if (driver::copy_to_user(cmd.data_uptr, data.data(), copy_len) != 0) {
        return -EFAULT;
    }
    // Zero the rest of a larger user buffer, so new fields read as 0 to newer user space. In
    // pieces, like the kernel's clear_user: data_len is the caller's and may be up to 4 GiB.
    static constexpr std::array<uint8_t, 4096> zeros{};
    for (uint64_t at = copy_len; at < cmd.data_len;) {
        const std::size_t n = std::min<std::size_t>(zeros.size(), cmd.data_len - at);
        if (driver::copy_to_user(cmd.data_uptr + at, zeros.data(), n) != 0) {
            return -EFAULT;
        }
        at += n;
    }
    cmd.data_len = static_cast<uint32_t>(data.size());
    cmd.out_data_type = type;
    cmd.out_capabilities = caps;
    cmd.out_max_pasid_log2 = idev->dev->max_pasid_log2;
    return u.respond(sizeof(cmd));
}

}  // namespace iommusim::iommufd
