// Dirty tracking of paging HWPTs (kernel drivers/iommu/iommufd/hw_pagetable.c
// iommufd_hwpt_set_dirty_tracking / iommufd_hwpt_get_dirty_bitmap and io_pagetable.c
// iopt_set_dirty_tracking / iopt_read_and_clear_dirty_data). The core reaches the dirty state only
// through the domain's dirty ops, so any driver's domains work. Facts: docs/iommufd-facts.md §2.5.
//
// GET_DIRTY_BITMAP returns the errors the kernel computes while it walks: a range that is not
// wholly mapped by the IOAS (iopt_area_contig_done, EINVAL), a driver refusal, a bitmap that cannot
// be pinned (EFAULT). Linux 6.12 drops that result (iommu_read_and_clear_dirty ignores what
// iova_bitmap_for_each returns); the model reports it, and checks the first and the last before
// the driver reads or clears anything.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "driver/iommu_ops.h"
#include "iommufd/context.h"
#include "iommufd/dirty_bitmap.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

namespace {

// The clearing pass before tracking starts (kernel iopt_clear_dirty_data passes a NULL bitmap).
class discarding_sink final : public driver::dirty_bitmap_sink {
  public:
    void record(uint64_t iova, uint64_t length) override { (void)iova, (void)length; }
    bool reports() const override { return false; }
};

// The area of `as` holding iova, or end().
std::map<uint64_t, ioas_area>::iterator area_at(ioas& as, uint64_t iova) {
    auto it = as.areas.upper_bound(iova);
    if (it == as.areas.begin()) {
        return as.areas.end();
    }
    --it;
    return iova - it->first < it->second.length ? it : as.areas.end();
}

// Calls fn(iova, length) for the piece of [iova, last] in each of the consecutive areas from iova
// (kernel iopt_for_each_contig_area), up to the first non-zero result, which it returns; -EINVAL
// when an IOVA of the range lies in no area (iopt_area_contig_done). fn may be a no-op probe.
template <typename Fn>
int for_each_contig_piece(ioas& as, uint64_t iova, uint64_t last, Fn fn) {
    uint64_t cur = iova;
    while (true) {
        auto it = area_at(as, cur);
        if (it == as.areas.end()) {
            return -EINVAL;
        }
        const uint64_t piece_last = std::min(last, it->first + (it->second.length - 1));
        if (int rc = fn(cur, piece_last - cur + 1); rc != 0) {
            return rc;
        }
        if (piece_last == last) {
            return 0;
        }
        cur = piece_last + 1;
    }
}

}  // namespace

int hwpt_set_dirty_tracking_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_hwpt_set_dirty_tracking>();
    // The kernel does not check __reserved here.
    if ((cmd.flags & ~uint32_t{IOMMU_HWPT_DIRTY_TRACKING_ENABLE}) != 0) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_HWPT_SET_DIRTY_TRACKING refused: unknown flags 0x%x (EOPNOTSUPP)", cmd.flags);
        return -EOPNOTSUPP;
    }
    auto* hwpt = u.ctx.get<hwpt_paging>(cmd.hwpt_id, obj_type::hwpt_paging);
    if (hwpt == nullptr) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_HWPT_SET_DIRTY_TRACKING refused: %u is not a paging HWPT (ENOENT)", cmd.hwpt_id);
        return -ENOENT;
    }
    driver::iommu_domain& domain = *hwpt->domain;
    if (!domain.has_dirty_ops()) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_HWPT_SET_DIRTY_TRACKING refused: HWPT %u was not allocated with "
                     "IOMMU_HWPT_ALLOC_DIRTY_TRACKING (EOPNOTSUPP)",
                     cmd.hwpt_id);
        return -EOPNOTSUPP;
    }
    const bool enable = (cmd.flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE) != 0;
    if (enable) {
        // Start from a clean snapshot: clear what was dirty before tracking (iopt_clear_dirty_data).
        discarding_sink clearing;
        for (auto& [iova, area] : hwpt->ioas->areas) {
            int rc = domain.read_and_clear_dirty(iova, area.length, 0, clearing);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return domain.set_dirty_tracking(enable);
}

int hwpt_get_dirty_bitmap_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_hwpt_get_dirty_bitmap>();
    const char* refusal = nullptr;
    int rc = 0;
    uint64_t last = 0;
    hwpt_paging* hwpt = nullptr;
    if ((cmd.flags & ~uint32_t{IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR}) != 0 || cmd.__reserved != 0) {
        rc = -EOPNOTSUPP;
        refusal = "unknown flags or a non-zero __reserved";
    } else if (hwpt = u.ctx.get<hwpt_paging>(cmd.hwpt_id, obj_type::hwpt_paging); hwpt == nullptr) {
        rc = -ENOENT;
        refusal = "hwpt_id is not a paging HWPT";
    } else if (__builtin_add_overflow(cmd.iova, cmd.length - 1, &last)) {
        // This and the next two: kernel iommufd_check_iova_range, in its order.
        rc = -EOVERFLOW;
        refusal = "iova + length - 1 overflows";
    } else if (const uint64_t align = ioas_iova_alignment(*hwpt->ioas);
               (cmd.iova & (align - 1)) != 0 || ((last + 1) & (align - 1)) != 0) {
        rc = -EINVAL;
        refusal = "iova or iova + length is not a multiple of the IOAS alignment";
    } else if (cmd.page_size == 0 || (cmd.iova & (cmd.page_size - 1)) != 0 || ((last + 1) & (cmd.page_size - 1)) != 0) {
        rc = -EINVAL;
        refusal = "page_size is 0 or iova or iova + length is not a multiple of it";
    } else if (!hwpt->domain->has_dirty_ops()) {
        rc = -EOPNOTSUPP;
        refusal = "the HWPT was not allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING";
    } else if (for_each_contig_piece(*hwpt->ioas, cmd.iova, last, [](uint64_t, uint64_t) { return 0; }) != 0) {
        rc = -EINVAL;
        refusal = "the range is not wholly mapped by the IOAS";
    }
    if (refusal != nullptr) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_HWPT_GET_DIRTY_BITMAP of hwpt_id %u refused: %s (%s)",
                     cmd.hwpt_id, refusal, strerrorname_np(-rc));
        return rc;
    }
    user_dirty_bitmap bitmap(cmd.iova, cmd.length, cmd.page_size, cmd.data);
    rc = bitmap.pin();
    if (rc != 0) {
        klog::printk(klog::level::info, iommufd_log,
                     "IOMMU_HWPT_GET_DIRTY_BITMAP of hwpt_id %u refused: the bitmap at 0x%llx (%llu bits) %s (%s)",
                     cmd.hwpt_id, static_cast<unsigned long long>(cmd.data),
                     static_cast<unsigned long long>(bitmap.bits()),
                     rc == -EFAULT ? "is not writable user memory" : "cannot be buffered", strerrorname_np(-rc));
        return rc;
    }
    const unsigned long flags = (cmd.flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) != 0 ? driver::dirty_no_clear : 0;
    driver::iommu_domain& domain = *hwpt->domain;
    rc = for_each_contig_piece(*hwpt->ioas, cmd.iova, last, [&](uint64_t iova, uint64_t length) {
        return domain.read_and_clear_dirty(iova, length, flags, bitmap);
    });
    if (rc != 0) {
        return rc;
    }
    return bitmap.publish();
}

}  // namespace iommusim::iommufd
