// IOMMU_TEST_CMD subset (kernel iommufd/selftest.c), spec §5: ADD_RESERVED, MOCK_DOMAIN, MOCK_DOMAIN_FLAGS,
// MOCK_DOMAIN_REPLACE, MD_CHECK_MAP, MD_CHECK_REFS, MD_CHECK_IOTLB, DEV_CHECK_CACHE,
// SET_TEMP_MEMORY_LIMIT, TRIGGER_IOPF, TRIGGER_VEVENT, DIRTY, PASID_ATTACH/REPLACE/DETACH/CHECK_HWPT (newer than
// 6.12), and the access ops (selftest_access.cc). Mock devices are created by the context and owned by their
// selftest object; they run entirely on the calling thread.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <vector>

#include "driver/uaccess.h"

#include "driver/mock_driver.h"
#include "driver/page_fault.h"
#include "iommufd/context.h"
#include "iommufd/selftest_access.h"
#include "iommufd/viommu.h"
#include "iommusim/iommufd.h"

namespace iommusim::iommufd {

namespace {

// MOCK_DOMAIN and MOCK_DOMAIN_FLAGS (kernel iommufd_test_mock_domain): the out fields of both
// share their place; only MOCK_DOMAIN_FLAGS reads dev_flags, after the object is reserved.
int mock_domain(ucmd& u, iommu_test_cmd& cmd) {
    auto obj = std::make_unique<selftest_device>();
    selftest_device* sobj = obj.get();
    int rc = 0;
    uint32_t sobj_id = u.ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    const uint32_t dev_flags = cmd.op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ? cmd.mock_domain_flags.dev_flags : 0;
    rc = driver::mock_driver::instance().create_device(dev_flags, sobj->mock);
    if (rc != 0) {
        u.ctx.abort(sobj_id);
        return rc;
    }
    uint32_t idev_id = 0;
    rc = u.ctx.bind(*sobj->mock, idev_id);
    if (rc != 0) {
        u.ctx.abort(sobj_id);
        return rc;
    }
    sobj->idev = u.ctx.get<device>(idev_id, obj_type::device);
    uint32_t pt_id = cmd.id;
    rc = u.ctx.attach(*sobj->idev, pt_id);
    if (rc == 0) {
        cmd.mock_domain.out_stdev_id = sobj_id;
        cmd.mock_domain.out_hwpt_id = pt_id;
        cmd.mock_domain.out_idev_id = idev_id;
        rc = u.respond(sizeof(cmd));
    }
    if (rc != 0) {
        u.ctx.abort(sobj_id);  // detaches and unbinds
        return rc;
    }
    u.ctx.finalize(sobj_id);
    return 0;
}

int mock_domain_replace(ucmd& u, iommu_test_cmd& cmd) {
    auto* sobj = u.ctx.get<selftest_device>(cmd.id, obj_type::selftest);
    if (sobj == nullptr) {
        return -ENOENT;
    }
    uint32_t pt_id = cmd.mock_domain_replace.pt_id;
    int rc = u.ctx.attach(*sobj->idev, pt_id);
    if (rc != 0) {
        return rc;
    }
    cmd.mock_domain_replace.pt_id = pt_id;
    return u.respond(sizeof(cmd));
}

// IOMMU_TEST_OP_PASID_ATTACH / _REPLACE / _DETACH / _CHECK_HWPT (kernel selftest.c, newer than
// 6.12): the PASID calls of a selftest device object (ENOENT for any other id).
int pasid_op(ucmd& u, iommu_test_cmd& cmd) {
    auto* sobj = u.ctx.get<selftest_device>(cmd.id, obj_type::selftest);
    if (sobj == nullptr) {
        return -ENOENT;
    }
    device& idev = *sobj->idev;
    switch (cmd.op) {
        case IOMMU_TEST_OP_PASID_ATTACH: {
            uint32_t pt_id = cmd.pasid_attach.pt_id;
            int rc = u.ctx.attach_pasid(idev, cmd.pasid_attach.pasid, pt_id, context::pasid_change::attach);
            if (rc != 0) {
                return rc;
            }
            cmd.pasid_attach.pt_id = pt_id;
            rc = u.respond(sizeof(cmd));
            if (rc != 0) {
                u.ctx.detach_pasid(idev, cmd.pasid_attach.pasid);
            }
            return rc;
        }
        case IOMMU_TEST_OP_PASID_REPLACE: {
            uint32_t pt_id = cmd.pasid_replace.pt_id;
            int rc = u.ctx.attach_pasid(idev, cmd.pasid_replace.pasid, pt_id, context::pasid_change::replace);
            if (rc != 0) {
                return rc;
            }
            cmd.pasid_replace.pt_id = pt_id;
            return u.respond(sizeof(cmd));
        }
        case IOMMU_TEST_OP_PASID_DETACH:
            u.ctx.detach_pasid(idev, cmd.pasid_detach.pasid);
            return 0;
        default: {
            // CHECK_HWPT: is the domain on the PASID hwpt_id's (0: none)?
            const driver::iommu_domain* expect = nullptr;
            if (cmd.pasid_check.hwpt_id != 0) {
                object* obj = u.ctx.get_object(cmd.pasid_check.hwpt_id, obj_type::any);
                if (obj == nullptr) {
                    return -ENOENT;
                }
                if (obj->type != obj_type::hwpt_paging && obj->type != obj_type::hwpt_nested) {
                    return -EINVAL;
                }
                expect = static_cast<hw_pagetable*>(obj)->domain.get();
            }
            auto it = idev.dev->pasid_domains.find(cmd.pasid_check.pasid);
            const driver::iommu_domain* attached = it == idev.dev->pasid_domains.end() ? nullptr : it->second;
            const uint8_t result = attached == expect ? 1 : 0;
            return driver::copy_to_user(cmd.pasid_check.out_result_ptr, &result, sizeof result) != 0 ? -EFAULT : 0;
        }
    }
}

// Kernel iommufd_test_md_check_refs: every page of a page-aligned user range must be mapped and
// pinned exactly `refs` times, process-wide (-EIO otherwise): by domains and by accesses.
int md_check_refs(iommu_test_cmd& cmd) {
    constexpr uint64_t page = 4096;
    const uint64_t uptr = cmd.check_refs.uptr;
    const uint64_t length = cmd.check_refs.length;
    if (length % page != 0 || uptr % page != 0 || uptr + length < uptr) {
        return -EINVAL;
    }
    if (!driver::user_range_writable(uptr, length)) {
        return -EFAULT;  // get_user_pages_fast of an unmapped page
    }
    const auto contexts = context::live_contexts();
    for (uint64_t at = uptr; at < uptr + length; at += page) {
        unsigned pins = 0;
        for (const context* ctx : contexts) {
            pins += ctx->user_page_pins(at);
        }
        if (pins != cmd.check_refs.refs) {
            return -EIO;
        }
    }
    return 0;
}

// Kernel iommufd_test_md_check_pa: every MOCK_IO_PAGE_SIZE step of [iova, iova + length) of the
// mock paging domain `id` maps the same step of uptr. The kernel compares physical addresses; a
// user-space model compares the user addresses its domains map, where two shared mappings of one
// file page (an IOAS_MAP_FILE area and the caller's view of the memfd) are the same page and two
// private mappings of one page differ.
int md_check_map(ucmd& u, iommu_test_cmd& cmd) {
    constexpr uint64_t step = driver::mock_io_page_size;
    uint64_t iova = cmd.check_map.iova;
    uint64_t length = cmd.check_map.length;
    const uint64_t uptr = cmd.check_map.uptr;
    if (iova % step != 0 || length % step != 0 || uptr % step != 0 || uptr + length < uptr) {
        return -EINVAL;
    }
    auto* hwpt = u.ctx.get<hwpt_paging>(cmd.id, obj_type::hwpt_paging);
    if (hwpt == nullptr) {
        return -ENOENT;
    }
    auto* mock = dynamic_cast<driver::mock_paging_domain*>(hwpt->domain.get());
    if (mock == nullptr) {
        return -EINVAL;
    }
    const uint64_t readable = driver::user_readable_prefix(uptr, length);
    for (uint64_t done = 0; done < length; done += step, iova += step) {
        if (done >= readable) {
            return -EFAULT;  // get_user_pages_fast of an unmapped page
        }
        if (!driver::same_user_page(reinterpret_cast<uint64_t>(mock->lookup(iova)), uptr + done)) {
            return -EINVAL;
        }
    }
    return 0;
}

int md_check_iotlb(ucmd& u, iommu_test_cmd& cmd) {
    auto* hwpt = u.ctx.get<hwpt_nested>(cmd.id, obj_type::hwpt_nested);
    if (hwpt == nullptr) {
        return -ENOENT;
    }
    auto* mock = dynamic_cast<driver::mock_nested_domain*>(hwpt->domain.get());
    if (mock == nullptr) {
        return -EINVAL;
    }
    if (cmd.check_iotlb.id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX ||
        mock->iotlb(cmd.check_iotlb.id) != cmd.check_iotlb.iotlb) {
        return -EINVAL;
    }
    return 0;
}

// Kernel iommufd_test_dev_check_cache (6.13+): `id` a device (ENOENT), then cache[cache_id] of
// its mock device must hold the value (EINVAL otherwise, and for a cache_id beyond
// MOCK_DEV_CACHE_ID_MAX). The kernel assumes a mock device; another device here is EINVAL.
int dev_check_cache(ucmd& u, iommu_test_cmd& cmd) {
    auto* idev = u.ctx.get<device>(cmd.id, obj_type::device);
    if (idev == nullptr) {
        return -ENOENT;
    }
    const auto* mock = dynamic_cast<const driver::mock_device*>(idev->dev);
    if (mock == nullptr || cmd.check_dev_cache.id > MOCK_DEV_CACHE_ID_MAX ||
        mock->cache[cmd.check_dev_cache.id] != cmd.check_dev_cache.cache) {
        return -EINVAL;
    }
    return 0;
}

// Kernel iommufd_test_trigger_iopf: the mock device of device `dev_id` (ENOENT; EINVAL for a device
// that is not a mock one) reports one page request, the last of its group, with a PASID unless
// pasid is IOMMU_NO_PASID. Whether a handler takes it or it is answered invalid, the op succeeds.
int trigger_iopf(ucmd& u, iommu_test_cmd& cmd) {
    auto* idev = u.ctx.get<device>(cmd.trigger_iopf.dev_id, obj_type::device);
    if (idev == nullptr) {
        return -ENOENT;
    }
    if (dynamic_cast<driver::mock_device*>(idev->dev) == nullptr) {
        return -EINVAL;
    }
    driver::page_request request;
    request.flags = driver::page_request_last_page;
    if (cmd.trigger_iopf.pasid != 0) {
        request.flags |= driver::page_request_pasid_valid;
    }
    request.pasid = cmd.trigger_iopf.pasid;
    request.grpid = cmd.trigger_iopf.grpid;
    request.perm = cmd.trigger_iopf.perm;
    request.addr = cmd.trigger_iopf.addr;
    driver::report_page_request(*idev->dev, request);
    return 0;
}

// Kernel iommufd_test_trigger_vevent: device `dev_id` (ENOENT) attached to a nested HWPT of a
// vIOMMU in which it has a vdevice of non-zero virt_id (the mock device's viommu and vdev_id; else
// ENOENT) reports a selftest event carrying that virt_id: EOPNOTSUPP without a selftest vEVENTQ.
int trigger_vevent(ucmd& u, iommu_test_cmd& cmd) {
    auto* idev = u.ctx.get<device>(cmd.trigger_vevent.dev_id, obj_type::device);
    if (idev == nullptr) {
        return -ENOENT;
    }
    if (idev->hwpt == nullptr || idev->hwpt->type != obj_type::hwpt_nested || idev->vdev == nullptr) {
        return -ENOENT;
    }
    viommu* v = static_cast<hwpt_nested*>(idev->hwpt)->viommu;
    if (v == nullptr || idev->vdev->viommu != v || idev->vdev->virt_id == 0) {
        return -ENOENT;
    }
    const iommu_viommu_event_selftest event{static_cast<uint32_t>(idev->vdev->virt_id)};
    return v->drv->report_event(IOMMU_VEVENTQ_TYPE_SELFTEST, &event, sizeof(event));
}

// Kernel iommufd_test_dirty: every set bit i of the user bitmap (ceil(length / page_size) bits)
// flags the mock entry at iova + i * page_size dirty; out_nr_dirty counts those that are mapped.
// The kernel indexes its entries by IOVA / page_size, which is the entry at that IOVA for the
// MOCK_IO_PAGE_SIZE page size the selftest uses; the model flags the entry at that IOVA for any.
// The bitmap is read in full before any entry changes (copy_from_user, EFAULT), in bounded chunks.
int test_dirty(ucmd& u, iommu_test_cmd& cmd) {
    const uint64_t iova = cmd.dirty.iova;
    const uint64_t length = cmd.dirty.length;
    const uint64_t page_size = cmd.dirty.page_size;
    const uint64_t uptr = cmd.dirty.uptr;
    if (page_size == 0 || length == 0 || iova % page_size != 0 || length % page_size != 0 || uptr == 0) {
        return -EINVAL;
    }
    auto* hwpt = u.ctx.get<hwpt_paging>(cmd.id, obj_type::hwpt_paging);
    if (hwpt == nullptr) {
        return -ENOENT;
    }
    auto* mock = dynamic_cast<driver::mock_paging_domain*>(hwpt->domain.get());
    if (mock == nullptr || !mock->dirty_tracking_enabled()) {
        return -EINVAL;
    }
    const uint64_t max = length / page_size;
    const uint64_t bytes = (max + 7) / 8;
    constexpr uint64_t chunk_words = 8192;
    std::vector<uint64_t> chunk(std::min(chunk_words, (bytes + 7) / 8));
    std::vector<uint64_t> to_mark;  // mapped IOVAs whose bit is set: at most one per mapped entry
    for (uint64_t at = 0; at < bytes; at += chunk_words * 8) {
        const uint64_t n = std::min(bytes - at, chunk_words * 8);
        chunk[(n - 1) / 8] = 0;  // the bytes of a partial last word past the bitmap read as 0
        if (driver::copy_from_user(chunk.data(), uptr + at, n) != 0) {
            return -EFAULT;
        }
        for (uint64_t w = 0; w < (n + 7) / 8; ++w) {
            for (uint64_t bits = chunk[w]; bits != 0; bits &= bits - 1) {
                const uint64_t i = at * 8 + w * 64 + static_cast<uint64_t>(std::countr_zero(bits));
                if (i >= max) {
                    break;
                }
                const uint64_t cur = iova + i * page_size;
                if (mock->lookup(cur) != nullptr) {
                    to_mark.push_back(cur);
                }
            }
        }
    }
    for (uint64_t cur : to_mark) {
        mock->mark_dirty(cur);
    }
    cmd.dirty.out_nr_dirty = to_mark.size();
    return u.respond(sizeof(cmd));
}

}  // namespace

void selftest_destroy(context& ctx, object& obj) {
    auto& sobj = static_cast<selftest_device&>(obj);
    if (sobj.idev != nullptr) {
        ctx.unbind(sobj.idev->id);
        sobj.idev = nullptr;
    }
    sobj.mock.reset();
}

int test_cmd_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_test_cmd>();
    switch (cmd.op) {
        case IOMMU_TEST_OP_ADD_RESERVED: {
            auto* as = u.ctx.get<ioas>(cmd.id, obj_type::ioas);
            return as == nullptr ? -ENOENT : ioas_add_reserved(*as, cmd.add_reserved.start, cmd.add_reserved.length);
        }
        case IOMMU_TEST_OP_MOCK_DOMAIN:
        case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
            return mock_domain(u, cmd);
        case IOMMU_TEST_OP_PASID_ATTACH:
        case IOMMU_TEST_OP_PASID_REPLACE:
        case IOMMU_TEST_OP_PASID_DETACH:
        case IOMMU_TEST_OP_PASID_CHECK_HWPT:
            return pasid_op(u, cmd);
        case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
            return mock_domain_replace(u, cmd);
        case IOMMU_TEST_OP_MD_CHECK_MAP:
            return md_check_map(u, cmd);
        case IOMMU_TEST_OP_MD_CHECK_REFS:
            return md_check_refs(cmd);
        case IOMMU_TEST_OP_MD_CHECK_IOTLB:
            return md_check_iotlb(u, cmd);
        case IOMMU_TEST_OP_DEV_CHECK_CACHE:
            return dev_check_cache(u, cmd);
        case IOMMU_TEST_OP_TRIGGER_IOPF:
            return trigger_iopf(u, cmd);
        case IOMMU_TEST_OP_TRIGGER_VEVENT:
            return trigger_vevent(u, cmd);
        case IOMMU_TEST_OP_CREATE_ACCESS:
            return test_create_access(u, cmd);
        case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
            return test_access_replace_ioas(u, cmd);
        case IOMMU_TEST_OP_ACCESS_PAGES:
            return test_access_pages(u, cmd);
        case IOMMU_TEST_OP_ACCESS_RW:
            return test_access_rw(u, cmd);
        case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
            return test_destroy_access_pages(u, cmd);
        case IOMMU_TEST_OP_DIRTY:
            return test_dirty(u, cmd);
        case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
            // The kernel refuses a limit below one batch element, sizeof(unsigned long) + sizeof(u32)
            // (selftest.c, guarding pages.c batch_init).
            if (cmd.memory_limit.limit < sizeof(uint64_t) + sizeof(uint32_t)) {
                return -EINVAL;
            }
            u.ctx.memory_limit = cmd.memory_limit.limit;
            return 0;
        default:
            return -EOPNOTSUPP;
    }
}

}  // namespace iommusim::iommufd
