// HWPT objects: IOMMU_HWPT_ALLOC (paging and nested, §6.1) and IOMMU_HWPT_INVALIDATE (§2.3, §3.1),
// kernel iommufd/hw_pagetable.c. HWPT_INVALIDATE follows the 6.13+ form: a HWPT that is not
// nested (or any other object) is EINVAL, an unknown id ENOENT.
// IOMMU_HWPT_FAULT_ID_VALID: the HWPT takes a user of the fault object fault_id (any other id
// ENOENT, as iommufd_get_fault's typed lookup) and its domain reports page requests to it. Paging
// HWPTs take it as the current kernel does (6.12 refused it with EOPNOTSUPP; the selftest calls
// it on nested HWPTs only), except a nest parent (EOPNOTSUPP in both).
// With pt_id a vIOMMU, the nested HWPT comes from the vIOMMU's alloc_domain_nested over its nest
// parent (kernel iommufd_viommu_alloc_hwpt_nested) and holds the vIOMMU instead of the parent;
// HWPT_INVALIDATE with a vIOMMU id goes to the vIOMMU's cache_invalidate.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "iommufd/context.h"
#include "iommufd/fault.h"
#include "iommufd/viommu.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

// The driver contract's allocation flags are the uAPI's.
static_assert(driver::alloc_flag_nest_parent == IOMMU_HWPT_ALLOC_NEST_PARENT);
static_assert(driver::alloc_flag_dirty_tracking == IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
static_assert(driver::alloc_flag_pasid == IOMMU_HWPT_ALLOC_PASID);

int context::hwpt_paging_create(ioas& as, device& idev, uint32_t flags, const driver::iommu_user_data* data,
                                bool auto_domain, hwpt_paging*& out) {
    std::unique_ptr<driver::iommu_domain> domain;
    int rc = idev.dev->ops->domain_alloc_paging_flags(*idev.dev, flags, data, domain);
    if (rc != 0) {
        return rc;
    }
    if (!domain || domain->type() != driver::domain_type::paging) {
        klog::printk(klog::level::err, iommufd_log,
                     "paging HWPT refused: the driver returned no paging domain (EINVAL)");
        return -EINVAL;
    }
    rc = ioas_fill_domain(as, *domain);
    if (rc != 0) {
        klog::printk(klog::level::info, iommufd_log,
                     "paging HWPT refused: mapping IOAS %u into the new domain failed (%s)", as.id,
                     strerrorname_np(-rc));
        return rc;
    }
    auto obj = std::make_unique<hwpt_paging>();
    hwpt_paging* hwpt = obj.get();
    hwpt->auto_domain = auto_domain;
    hwpt->nest_parent = (flags & driver::alloc_flag_nest_parent) != 0;
    hwpt->pasid_compat = (flags & driver::alloc_flag_pasid) != 0;
    add(std::move(obj), rc);
    if (rc != 0) {
        ioas_empty_domain(as, *domain);
        return rc;
    }
    hwpt->domain = std::move(domain);
    hwpt->ioas = &as;
    ++as.users;
    as.hwpts.push_back(hwpt);
    out = hwpt;
    return 0;
}

void hwpt_paging_destroy(context& ctx, object& obj) {
    (void)ctx;
    auto& hwpt = static_cast<hwpt_paging&>(obj);
    if (hwpt.ioas != nullptr) {
        ioas_empty_domain(*hwpt.ioas, *hwpt.domain);
        auto& list = hwpt.ioas->hwpts;
        list.erase(std::remove(list.begin(), list.end(), &hwpt), list.end());
        --hwpt.ioas->users;
    }
    hwpt.domain.reset();
    if (hwpt.fault != nullptr) {
        --hwpt.fault->users;
    }
}

void hwpt_nested_destroy(context& ctx, object& obj) {
    (void)ctx;
    auto& hwpt = static_cast<hwpt_nested&>(obj);
    hwpt.domain.reset();
    if (hwpt.viommu != nullptr) {
        --hwpt.viommu->users;  // the vIOMMU, not the parent, is what it holds
    } else if (hwpt.parent != nullptr) {
        --hwpt.parent->users;
    }
    if (hwpt.fault != nullptr) {
        --hwpt.fault->users;
    }
}

namespace {

int hwpt_nested_create(context& ctx, hwpt_paging& parent, device& idev, uint32_t flags,
                       const driver::iommu_user_data& data, hwpt_nested*& out) {
    driver::iommu_ops* ops = idev.dev->ops;
    if ((flags & ~uint32_t{IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID}) != 0 || data.len == 0 ||
        !ops->has_domain_alloc_nested()) {
        klog::printk(
            klog::level::info, iommufd_log,
            "nested HWPT refused: flags 0x%x, no driver data, or the driver has no nested domains (EOPNOTSUPP)", flags);
        return -EOPNOTSUPP;
    }
    if (parent.auto_domain || !parent.nest_parent || parent.domain->owner() != ops) {
        klog::printk(klog::level::info, iommufd_log, "nested HWPT refused: parent HWPT %u is %s (EINVAL)", parent.id,
                     parent.auto_domain    ? "an automatic domain"
                     : !parent.nest_parent ? "not allocated with IOMMU_HWPT_ALLOC_NEST_PARENT"
                                           : "of another IOMMU driver");
        return -EINVAL;
    }
    std::unique_ptr<driver::iommu_domain> domain;
    int rc =
        ops->domain_alloc_nested(*idev.dev, *parent.domain, flags & ~uint32_t{IOMMU_HWPT_FAULT_ID_VALID}, data, domain);
    if (rc != 0) {
        return rc;
    }
    if (!domain || domain->type() != driver::domain_type::nested) {
        klog::printk(klog::level::err, iommufd_log,
                     "nested HWPT refused: the driver returned no nested domain (EINVAL)");
        return -EINVAL;
    }
    auto obj = std::make_unique<hwpt_nested>();
    hwpt_nested* hwpt = obj.get();
    ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    hwpt->domain = std::move(domain);
    hwpt->pasid_compat = (flags & IOMMU_HWPT_ALLOC_PASID) != 0;
    hwpt->parent = &parent;
    ++parent.users;
    out = hwpt;
    return 0;
}

// Kernel iommufd_viommu_alloc_hwpt_nested.
int hwpt_nested_viommu_create(context& ctx, viommu& v, uint32_t flags, const driver::iommu_user_data& data,
                              hwpt_nested*& out) {
    if ((flags & ~uint32_t{IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID}) != 0 || data.len == 0 ||
        !v.drv->has_alloc_domain_nested()) {
        klog::printk(klog::level::info, iommufd_log,
                     "nested HWPT of vIOMMU %u refused: flags 0x%x, no driver data, or the vIOMMU has no nested "
                     "domains (EOPNOTSUPP)",
                     v.id, flags);
        return -EOPNOTSUPP;
    }
    auto obj = std::make_unique<hwpt_nested>();
    hwpt_nested* hwpt = obj.get();
    int rc = 0;
    const uint32_t id = ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    hwpt->viommu = &v;
    ++v.users;
    hwpt->parent = v.hwpt;
    std::unique_ptr<driver::iommu_domain> domain;
    rc = v.drv->alloc_domain_nested(flags & ~uint32_t{IOMMU_HWPT_FAULT_ID_VALID}, data, domain);
    if (rc == 0 && (!domain || domain->type() != driver::domain_type::nested)) {
        klog::printk(klog::level::err, iommufd_log,
                     "nested HWPT refused: the vIOMMU returned no nested domain (EINVAL)");
        rc = -EINVAL;
    }
    if (rc != 0) {
        ctx.abort(id);
        return rc;
    }
    hwpt->domain = std::move(domain);
    out = hwpt;
    return 0;
}

}  // namespace

int hwpt_alloc_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_hwpt_alloc>();
    if (cmd.__reserved != 0) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_HWPT_ALLOC refused: __reserved must be 0 (EOPNOTSUPP)");
        return -EOPNOTSUPP;
    }
    if ((cmd.data_type == IOMMU_HWPT_DATA_NONE && cmd.data_len != 0) ||
        (cmd.data_type != IOMMU_HWPT_DATA_NONE && cmd.data_len == 0)) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_HWPT_ALLOC refused: data_type %u with data_len %u (data only with a type) (EINVAL)",
                     cmd.data_type, cmd.data_len);
        return -EINVAL;
    }
    auto* idev = u.ctx.get<device>(cmd.dev_id, obj_type::device);
    if (idev == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_HWPT_ALLOC refused: %u is not a device id (ENOENT)",
                     cmd.dev_id);
        return -ENOENT;
    }
    object* pt = u.ctx.get_object(cmd.pt_id, obj_type::any);
    if (pt == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_HWPT_ALLOC refused: no object with pt_id %u (EINVAL)",
                     cmd.pt_id);
        return -EINVAL;
    }
    const driver::iommu_user_data data{cmd.data_type, cmd.data_uptr, cmd.data_len};
    hw_pagetable* hwpt = nullptr;
    int rc = 0;
    switch (pt->type) {
        case obj_type::ioas: {
            const uint32_t valid = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
                                   IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
            if ((cmd.flags & ~valid) != 0) {
                klog::printk(klog::level::info, iommufd_log,
                             "IOMMU_HWPT_ALLOC refused: unknown flags 0x%x (EOPNOTSUPP)", cmd.flags & ~valid);
                return -EOPNOTSUPP;
            }
            if ((cmd.flags & IOMMU_HWPT_FAULT_ID_VALID) != 0 && (cmd.flags & IOMMU_HWPT_ALLOC_NEST_PARENT) != 0) {
                klog::printk(klog::level::info, iommufd_log,
                             "IOMMU_HWPT_ALLOC refused: a nest parent cannot take a fault_id (EOPNOTSUPP)");
                return -EOPNOTSUPP;
            }
            hwpt_paging* paging = nullptr;
            rc = u.ctx.hwpt_paging_create(*static_cast<ioas*>(pt), *idev,
                                          cmd.flags & ~uint32_t{IOMMU_HWPT_FAULT_ID_VALID},
                                          cmd.data_len != 0 ? &data : nullptr, false, paging);
            hwpt = paging;
            break;
        }
        case obj_type::hwpt_paging: {
            hwpt_nested* nested = nullptr;
            rc = hwpt_nested_create(u.ctx, *static_cast<hwpt_paging*>(pt), *idev, cmd.flags, data, nested);
            hwpt = nested;
            break;
        }
        case obj_type::viommu: {
            hwpt_nested* nested = nullptr;
            rc = hwpt_nested_viommu_create(u.ctx, *static_cast<viommu*>(pt), cmd.flags, data, nested);
            hwpt = nested;
            break;
        }
        default:
            klog::printk(klog::level::info, iommufd_log,
                         "IOMMU_HWPT_ALLOC refused: pt_id %u is not an IOAS, a paging HWPT or a vIOMMU (EINVAL)",
                         cmd.pt_id);
            return -EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    if ((cmd.flags & IOMMU_HWPT_FAULT_ID_VALID) != 0) {
        auto* queue = u.ctx.get<fault>(cmd.fault_id, obj_type::fault);
        if (queue == nullptr) {
            klog::printk(klog::level::info, iommufd_log,
                         "IOMMU_HWPT_ALLOC refused: fault_id %u is not a fault object (ENOENT)", cmd.fault_id);
            u.ctx.abort(hwpt->id);
            return -ENOENT;
        }
        hwpt->fault = queue;
        ++queue->users;
        hwpt->domain->set_iopf_handler(queue);
    }
    cmd.out_hwpt_id = hwpt->id;
    rc = u.respond(sizeof(cmd));
    if (rc != 0) {
        u.ctx.abort(hwpt->id);
        return rc;
    }
    u.ctx.finalize(hwpt->id);
    return 0;
}

int hwpt_invalidate_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_hwpt_invalidate>();
    driver::iommu_user_data_array array{cmd.data_type, cmd.data_uptr, cmd.entry_len, cmd.entry_num};
    uint32_t done = 0;
    int rc = 0;
    const char* refusal = nullptr;
    if (cmd.__reserved != 0) {
        rc = -EOPNOTSUPP;
        refusal = "__reserved must be 0";
    } else if (cmd.entry_num != 0 && (cmd.data_uptr == 0 || cmd.entry_len == 0)) {
        rc = -EINVAL;
        refusal = "entries given without data_uptr or entry_len";
    } else if (object* obj = u.ctx.get_object(cmd.hwpt_id, obj_type::any); obj == nullptr) {
        rc = -ENOENT;
        refusal = "no object with that hwpt_id";
    } else if (obj->type == obj_type::viommu) {
        driver::iommu_viommu& v = *static_cast<viommu*>(obj)->drv;
        if (!v.has_cache_invalidate()) {
            rc = -EOPNOTSUPP;
            refusal = "the vIOMMU has no cache_invalidate";
        } else {
            rc = v.cache_invalidate(array);
            done = array.entry_num;
        }
    } else if (obj->type != obj_type::hwpt_nested) {
        rc = -EINVAL;
        refusal = "the object is not a nested HWPT or a vIOMMU";
    } else {
        auto& domain = *static_cast<hwpt_nested*>(obj)->domain;
        if (!domain.has_cache_invalidate_user()) {
            rc = -EOPNOTSUPP;
            refusal = "the driver has no cache_invalidate_user";
        } else {
            rc = domain.cache_invalidate_user(array);
            done = array.entry_num;
        }
    }
    if (refusal != nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_HWPT_INVALIDATE of hwpt_id %u refused: %s (%s)",
                     cmd.hwpt_id, refusal, strerrorname_np(-rc));
    }
    cmd.entry_num = done;
    int wb = u.respond(sizeof(cmd));
    return wb != 0 ? wb : rc;
}

}  // namespace iommusim::iommufd
