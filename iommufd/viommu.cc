// IOMMU_VIOMMU_ALLOC and IOMMU_VDEVICE_ALLOC with their objects' lifetimes (kernel
// drivers/iommu/iommufd/viommu.c; iommufd_viommu_report_event of driver.c).
#include "iommufd/viommu.h"

#include <cerrno>
#include <climits>

#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

int viommu::report(uint32_t type, const void* data, std::size_t len) {
    auto it = veventqs.find(type);
    if (it == veventqs.end()) {
        return -EOPNOTSUPP;  // no vEVENTQ of that type to report to
    }
    it->second->add(data, len);
    return 0;
}

void viommu_destroy(context& ctx, object& obj) {
    (void)ctx;
    auto& v = static_cast<viommu&>(obj);
    v.drv.reset();  // kernel ops->destroy
    if (v.hwpt != nullptr) {
        --v.hwpt->users;
    }
}

void vdevice_destroy(context& ctx, object& obj) {
    (void)ctx;
    auto& vdev = static_cast<vdevice&>(obj);
    if (vdev.viommu == nullptr) {
        return;  // aborted before it joined its vIOMMU
    }
    vdev.viommu->drv->remove_vdev(vdev.virt_id);
    --vdev.viommu->users;
    if (vdev.idev != nullptr) {
        vdev.idev->vdev = nullptr;
    }
}

int viommu_alloc_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_viommu_alloc>();
    if (cmd.flags != 0 || cmd.type == IOMMU_VIOMMU_TYPE_DEFAULT) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VIOMMU_ALLOC refused: flags 0x%x must be 0 and type %u not DEFAULT (EOPNOTSUPP)", cmd.flags,
                     cmd.type);
        return -EOPNOTSUPP;
    }
    auto* idev = u.ctx.get<device>(cmd.dev_id, obj_type::device);
    if (idev == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_VIOMMU_ALLOC refused: %u is not a device id (ENOENT)",
                     cmd.dev_id);
        return -ENOENT;
    }
    driver::iommu_ops* ops = idev->dev->ops;
    // Kernel ops->get_viommu_size answering 0: the type is refused before the HWPT is looked at.
    if (!ops->supports_viommu(cmd.type)) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VIOMMU_ALLOC refused: the device's IOMMU driver has no vIOMMU of type 0x%x (EOPNOTSUPP)",
                     cmd.type);
        return -EOPNOTSUPP;
    }
    auto* parent = u.ctx.get<hwpt_paging>(cmd.hwpt_id, obj_type::hwpt_paging);
    if (parent == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_VIOMMU_ALLOC refused: %u is not a paging HWPT (ENOENT)",
                     cmd.hwpt_id);
        return -ENOENT;
    }
    if (!parent->nest_parent) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VIOMMU_ALLOC refused: HWPT %u was not allocated with IOMMU_HWPT_ALLOC_NEST_PARENT (EINVAL)",
                     parent->id);
        return -EINVAL;
    }
    auto obj = std::make_unique<viommu>();
    viommu* v = obj.get();
    int rc = 0;
    const uint32_t id = u.ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    v->viommu_type = cmd.type;
    v->ops = ops;
    v->hwpt = parent;
    ++parent->users;
    const driver::iommu_user_data data{cmd.type, cmd.data_uptr, cmd.data_len};
    rc = ops->viommu_alloc(*idev->dev, *parent->domain, cmd.type, cmd.data_len != 0 ? &data : nullptr, v->drv);
    if (rc == 0 && !v->drv) {
        klog::printk(klog::level::err, iommufd_log, "IOMMU_VIOMMU_ALLOC refused: the driver returned no vIOMMU");
        rc = -EOPNOTSUPP;
    }
    if (rc == 0) {
        v->drv->set_event_sink(v);
        cmd.out_viommu_id = id;
        rc = u.respond(sizeof(cmd));
    }
    if (rc != 0) {
        u.ctx.abort(id);
        return rc;
    }
    u.ctx.finalize(id);
    return 0;
}

int vdevice_alloc_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_vdevice_alloc>();
    // virt_id indexes the kernel's xarray: at most ULONG_MAX (always true on 64-bit).
    if (cmd.virt_id > ULONG_MAX) {
        return -EINVAL;
    }
    auto* v = u.ctx.get<viommu>(cmd.viommu_id, obj_type::viommu);
    if (v == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_VDEVICE_ALLOC refused: %u is not a vIOMMU id (ENOENT)",
                     cmd.viommu_id);
        return -ENOENT;
    }
    auto* idev = u.ctx.get<device>(cmd.dev_id, obj_type::device);
    if (idev == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_VDEVICE_ALLOC refused: %u is not a device id (ENOENT)",
                     cmd.dev_id);
        return -ENOENT;
    }
    if (idev->dev->ops != v->ops) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VDEVICE_ALLOC refused: device %u is behind another IOMMU than vIOMMU %u (EINVAL)", idev->id,
                     v->id);
        return -EINVAL;
    }
    if (idev->vdev != nullptr) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VDEVICE_ALLOC refused: device %u already has vdevice %u (EEXIST)", idev->id,
                     idev->vdev->id);
        return -EEXIST;
    }
    auto obj = std::make_unique<vdevice>();
    vdevice* vdev = obj.get();
    int rc = 0;
    const uint32_t id = u.ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    if (v->drv->has_vdev(cmd.virt_id)) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_VDEVICE_ALLOC refused: vIOMMU %u already has a vdevice with virt_id 0x%llx (EEXIST)", v->id,
                     static_cast<unsigned long long>(cmd.virt_id));
        u.ctx.abort(id);
        return -EEXIST;
    }
    vdev->viommu = v;
    ++v->users;
    vdev->idev = idev;
    vdev->virt_id = cmd.virt_id;
    idev->vdev = vdev;
    v->drv->add_vdev(cmd.virt_id, *idev->dev);
    cmd.out_vdevice_id = id;
    rc = u.respond(sizeof(cmd));
    if (rc != 0) {
        u.ctx.abort(id);
        return rc;
    }
    u.ctx.finalize(id);
    return 0;
}

}  // namespace iommusim::iommufd
