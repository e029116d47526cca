// Context, object table and ioctl dispatcher (kernel drivers/iommu/iommufd/main.c), spec §1.2-§1.6.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "driver/uaccess.h"
#include "iommufd/context.h"
#include "iommufd/fail_nth.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

namespace {

int destroy_ioctl(ucmd& u) {
    return u.ctx.destroy(u.as<iommu_destroy>().id);
}

struct ioctl_op {
    unsigned long ioctl_num = 0;
    std::size_t size = 0;
    std::size_t min_size = 0;
    int (*execute)(ucmd&) = nullptr;
};

template <typename T>
constexpr ioctl_op op(unsigned long num, std::size_t min_size, int (*execute)(ucmd&)) {
    return ioctl_op{num, sizeof(T), min_size, execute};
}

#define IOMMUSIM_END_OF(type, field) (offsetof(type, field) + sizeof(type::field))

// One slot per command number from IOMMUFD_CMD_BASE; min_size is offsetofend of the last
// original field and never grows.
constexpr unsigned table_len = 0x21;  // up to IOMMU_TEST_CMD = base + 32
const std::array<ioctl_op, table_len>& ioctl_table() {
    static const std::array<ioctl_op, table_len> table = [] {
        std::array<ioctl_op, table_len> t{};
        auto put = [&t](const ioctl_op& o) { t[(o.ioctl_num & 0xff) - IOMMUFD_CMD_BASE] = o; };
        put(op<iommu_destroy>(IOMMU_DESTROY, IOMMUSIM_END_OF(iommu_destroy, id), destroy_ioctl));
        put(op<iommu_ioas_alloc>(IOMMU_IOAS_ALLOC, IOMMUSIM_END_OF(iommu_ioas_alloc, out_ioas_id), ioas_alloc_ioctl));
        put(op<iommu_ioas_iova_ranges>(IOMMU_IOAS_IOVA_RANGES,
                                       IOMMUSIM_END_OF(iommu_ioas_iova_ranges, out_iova_alignment),
                                       ioas_iova_ranges_ioctl));
        put(op<iommu_ioas_map>(IOMMU_IOAS_MAP, IOMMUSIM_END_OF(iommu_ioas_map, iova), ioas_map_ioctl));
        put(op<iommu_ioas_map_file>(IOMMU_IOAS_MAP_FILE, IOMMUSIM_END_OF(iommu_ioas_map_file, iova),
                                    ioas_map_file_ioctl));
        put(op<iommu_ioas_unmap>(IOMMU_IOAS_UNMAP, IOMMUSIM_END_OF(iommu_ioas_unmap, length), ioas_unmap_ioctl));
        put(op<iommu_vfio_ioas>(IOMMU_VFIO_IOAS, IOMMUSIM_END_OF(iommu_vfio_ioas, __reserved), vfio_ioas_ioctl));
        put(op<iommu_ioas_allow_iovas>(IOMMU_IOAS_ALLOW_IOVAS, IOMMUSIM_END_OF(iommu_ioas_allow_iovas, allowed_iovas),
                                       ioas_allow_iovas_ioctl));
        put(op<iommu_ioas_copy>(IOMMU_IOAS_COPY, IOMMUSIM_END_OF(iommu_ioas_copy, src_iova), ioas_copy_ioctl));
        put(op<iommu_option>(IOMMU_OPTION, IOMMUSIM_END_OF(iommu_option, val64), option_ioctl));
        put(op<iommu_ioas_change_process>(IOMMU_IOAS_CHANGE_PROCESS,
                                          IOMMUSIM_END_OF(iommu_ioas_change_process, __reserved),
                                          ioas_change_process_ioctl));
        put(op<iommu_hwpt_alloc>(IOMMU_HWPT_ALLOC, IOMMUSIM_END_OF(iommu_hwpt_alloc, __reserved), hwpt_alloc_ioctl));
        put(op<iommu_hw_info>(IOMMU_GET_HW_INFO, IOMMUSIM_END_OF(iommu_hw_info, __reserved), get_hw_info_ioctl));
        put(op<iommu_hwpt_set_dirty_tracking>(IOMMU_HWPT_SET_DIRTY_TRACKING,
                                              IOMMUSIM_END_OF(iommu_hwpt_set_dirty_tracking, __reserved),
                                              hwpt_set_dirty_tracking_ioctl));
        put(op<iommu_hwpt_get_dirty_bitmap>(IOMMU_HWPT_GET_DIRTY_BITMAP,
                                            IOMMUSIM_END_OF(iommu_hwpt_get_dirty_bitmap, data),
                                            hwpt_get_dirty_bitmap_ioctl));
        put(op<iommu_hwpt_invalidate>(IOMMU_HWPT_INVALIDATE, IOMMUSIM_END_OF(iommu_hwpt_invalidate, __reserved),
                                      hwpt_invalidate_ioctl));
        put(op<iommu_test_cmd>(IOMMU_TEST_CMD, IOMMUSIM_END_OF(iommu_test_cmd, last), test_cmd_ioctl));
        put(op<iommu_fault_alloc>(IOMMU_FAULT_QUEUE_ALLOC, IOMMUSIM_END_OF(iommu_fault_alloc, out_fault_fd),
                                  fault_queue_alloc_ioctl));
        put(op<iommu_viommu_alloc>(IOMMU_VIOMMU_ALLOC, IOMMUSIM_END_OF(iommu_viommu_alloc, out_viommu_id),
                                   viommu_alloc_ioctl));
        put(op<iommu_vdevice_alloc>(IOMMU_VDEVICE_ALLOC, IOMMUSIM_END_OF(iommu_vdevice_alloc, virt_id),
                                    vdevice_alloc_ioctl));
        put(op<iommu_veventq_alloc>(IOMMU_VEVENTQ_ALLOC, IOMMUSIM_END_OF(iommu_veventq_alloc, __reserved),
                                    veventq_alloc_ioctl));
        return t;
    }();
    return table;
}

}  // namespace

int ucmd::respond(std::size_t len) {
    std::size_t n = std::min<std::size_t>(user_size, len);
    return driver::copy_to_user(ubuffer, cmd, n) != 0 ? -EFAULT : 0;
}

int context::ioctl(unsigned long cmd, uint64_t arg) {
    const unsigned nr = cmd & 0xff;
    const auto& table = ioctl_table();
    if (nr < IOMMUFD_CMD_BASE || nr >= IOMMUFD_CMD_BASE + table_len) {
        // The VFIO type1 container ioctls live outside the iommufd range (kernel main.c).
        return vfio_compat_ioctl(*this, cmd, arg);
    }
    uint32_t user_size = 0;
    if (driver::copy_from_user(&user_size, arg, sizeof(user_size)) != 0) {
        return -EFAULT;
    }
    const ioctl_op& o = table[nr - IOMMUFD_CMD_BASE];
    if (o.execute == nullptr || o.ioctl_num != cmd) {
        return -ENOTTY;
    }
    if (user_size < o.min_size) {
        return -EINVAL;
    }
    // Large enough for every command struct in the table.
    alignas(8) std::array<unsigned char, 128> buf{};
    static_assert(sizeof(iommu_test_cmd) <= sizeof(buf) && sizeof(iommu_hwpt_alloc) <= sizeof(buf) &&
                  sizeof(iommu_viommu_alloc) <= sizeof(buf));
    int rc = driver::copy_struct_from_user(buf.data(), o.size, arg, user_size);
    if (rc != 0) {
        return rc;
    }
    ucmd u{*this, arg, user_size, buf.data()};
    return o.execute(u);
}

uint32_t context::add(std::unique_ptr<object> obj, int& rc) {
    if ((m_fail_nth != 0 && --m_fail_nth == 0) || task_should_fail()) {
        rc = -ENOMEM;
        return 0;
    }
    uint32_t id = 0;
    if (!m_ids.alloc(id)) {
        rc = -ENOSPC;
        return 0;
    }
    obj->id = id;
    m_objects.emplace(id, slot{std::move(obj), false});
    rc = 0;
    return id;
}

void context::finalize(uint32_t id) {
    auto it = m_objects.find(id);
    if (it != m_objects.end()) {
        it->second.published = true;
    }
}

void context::abort(uint32_t id) {
    auto it = m_objects.find(id);
    if (it != m_objects.end()) {
        destroy_object(*it->second.obj);
    }
}

object* context::get_object(uint32_t id, obj_type type) {
    auto it = m_objects.find(id);
    if (it == m_objects.end() || !it->second.published) {
        return nullptr;
    }
    object* obj = it->second.obj.get();
    if (type != obj_type::any && obj->type != type) {
        return nullptr;
    }
    return obj;
}

std::vector<object*> context::objects_of(obj_type type) {
    std::vector<object*> out;
    for (auto& [id, s] : m_objects) {
        (void)id;
        if (s.published && s.obj->type == type) {
            out.push_back(s.obj.get());
        }
    }
    return out;
}

int context::destroy(uint32_t id) {
    object* obj = get_object(id, obj_type::any);
    if (obj == nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_DESTROY refused: no object with id %u (ENOENT)", id);
        return -ENOENT;
    }
    if (obj->users != 1) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_DESTROY of object %u refused: %u other users still hold it (EBUSY)", id, obj->users - 1);
        return -EBUSY;
    }
    destroy_object(*obj);
    return 0;
}

void context::destroy_object(object& obj) {
    // Take the object out of the table first so that lookups made by its destructor do not see it.
    auto it = m_objects.find(obj.id);
    if (it == m_objects.end() || it->second.obj.get() != &obj) {
        return;
    }
    std::unique_ptr<object> owned = std::move(it->second.obj);
    m_objects.erase(it);
    m_ids.free(obj.id);
    if (obj.id == vfio_ioas_id) {
        vfio_ioas_id = 0;  // kernel iommufd_object_remove
    }
    using destroy_fn = void (*)(context&, object&);
    static constexpr std::array<std::pair<obj_type, destroy_fn>, 10> destroy_table{{
        {obj_type::access, access_destroy},
        {obj_type::ioas, ioas_destroy},
        {obj_type::hwpt_paging, hwpt_paging_destroy},
        {obj_type::hwpt_nested, hwpt_nested_destroy},
        {obj_type::device, device_destroy},
        {obj_type::selftest, selftest_destroy},
        {obj_type::fault, fault_destroy},
        {obj_type::viommu, viommu_destroy},
        {obj_type::vdevice, vdevice_destroy},
        {obj_type::veventq, veventq_destroy},
    }};
    for (const auto& [type, fn] : destroy_table) {
        if (type == owned->type) {
            fn(*this, *owned);
        }
    }
}

namespace {

std::mutex g_live_lock;
std::set<const context*>& live_set() {
    static std::set<const context*> contexts;
    return contexts;
}

}  // namespace

context::context() {
    std::lock_guard<std::mutex> guard(g_live_lock);
    live_set().insert(this);
}

std::vector<const context*> context::live_contexts() {
    std::lock_guard<std::mutex> guard(g_live_lock);
    return {live_set().begin(), live_set().end()};
}

unsigned context::user_page_pins(uint64_t uptr) const {
    // One pin per pages object holding the page: for the domains of an IOAS one of its areas is in,
    // or for an access (kernel iopt_pages pins each page once, whoever uses it).
    std::set<const user_pages*> holders;
    for (const auto& [id, s] : m_objects) {
        (void)id;
        if (s.obj->type != obj_type::ioas) {
            continue;
        }
        const auto& as = static_cast<const ioas&>(*s.obj);
        for (const auto& [iova, area] : as.areas) {
            (void)iova;
            if (uptr + 4096 > area.user_va && uptr < area.user_va + area.length &&
                (!as.hwpts.empty() || area.pages->access_pins.count(uptr) != 0)) {
                holders.insert(area.pages.get());
            }
        }
    }
    return static_cast<unsigned>(holders.size());
}

context::~context() {
    {
        std::lock_guard<std::mutex> guard(g_live_lock);
        live_set().erase(this);
    }
    // Like closing /dev/iommu: destroy whatever nothing else depends on until the table is empty.
    while (!m_objects.empty()) {
        object* victim = nullptr;
        for (auto& [id, s] : m_objects) {
            (void)id;
            if (s.obj->users == 1) {
                victim = s.obj.get();
                break;
            }
        }
        if (victim == nullptr) {
            // Only devices still held by a binder (and accesses by their driver, which the C API's
            // access files never let happen: they keep the context alive) can block the loop.
            for (auto& [id, s] : m_objects) {
                (void)id;
                if (s.obj->type == obj_type::device || s.obj->type == obj_type::access) {
                    victim = s.obj.get();
                    break;
                }
            }
        }
        if (victim == nullptr) {
            break;  // a reference cycle would be a core bug; the map frees what is left
        }
        destroy_object(*victim);
    }
}

}  // namespace iommusim::iommufd
