// IOAS objects: IOMMU_IOAS_ALLOC, IOAS_MAP, IOAS_UNMAP, IOAS_IOVA_RANGES (kernel iommufd/ioas.c).
//
// An IOAS records iova -> user-pointer ranges. Every paging HWPT created on the IOAS gets each range
// through its domain's map op (the host pointer and length, which the platform adopts as physical
// memory); IOAS_UNMAP unmaps from every such domain, and the driver flushes before returning.
// The model requires page-aligned user_va, iova and length (the kernel also accepts an unaligned
// user_va with a matching IOVA page offset).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "driver/uaccess.h"
#include "iommufd/context.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

namespace {

constexpr uint64_t page_size = 4096;
constexpr uint64_t ulong_max = std::numeric_limits<uint64_t>::max();

int conv_prot(uint32_t flags) {
    int prot = 0;
    if ((flags & IOMMU_IOAS_MAP_READABLE) != 0) {
        prot |= driver::prot_read;
    }
    if ((flags & IOMMU_IOAS_MAP_WRITEABLE) != 0) {
        prot |= driver::prot_write;
    }
    return prot;
}

// The allowed IOVA window: the intersection of every paging domain's aperture.
void allowed_window(const ioas& as, uint64_t& start, uint64_t& last) {
    start = 0;
    last = ulong_max;
    for (const hwpt_paging* hwpt : as.hwpts) {
        start = std::max(start, hwpt->domain->aperture_start());
        last = std::min(last, hwpt->domain->aperture_last());
    }
}

bool overlaps(const ioas& as, uint64_t iova, uint64_t last) {
    auto next = as.areas.lower_bound(iova);
    if (next != as.areas.end() && next->first <= last) {
        return true;
    }
    if (next != as.areas.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second.length - 1 >= iova) {
            return true;
        }
    }
    return false;
}

// Lowest free page-aligned IOVA window of `length` inside the allowed window.
bool alloc_iova(const ioas& as, uint64_t length, uint64_t& iova) {
    uint64_t start = 0;
    uint64_t last = 0;
    allowed_window(as, start, last);
    uint64_t cand = (start + page_size - 1) & ~(page_size - 1);
    for (const auto& [area_iova, area] : as.areas) {
        if (area_iova + area.length - 1 < cand) {
            continue;
        }
        if (area_iova > cand && area_iova - cand >= length) {
            break;
        }
        cand = area_iova + area.length;
        if (cand == 0) {
            return false;  // wrapped
        }
    }
    if (cand < start || cand > last || last - cand < length - 1) {
        return false;
    }
    iova = cand;
    return true;
}

// Pinning: every page of the user range must be readable (kernel pin_user_pages -> EFAULT).
bool user_range_present(uint64_t user_va, uint64_t length) {
    unsigned char probe = 0;
    for (uint64_t off = 0; off < length; off += page_size) {
        if (driver::copy_from_user(&probe, user_va + off, 1) != 0) {
            return false;
        }
    }
    return true;
}

}  // namespace

int ioas_fill_domain(ioas& as, driver::iommu_domain& domain) {
    std::vector<uint64_t> done;
    for (const auto& [iova, area] : as.areas) {
        int rc = domain.map(iova, reinterpret_cast<void*>(area.user_va), area.length, area.prot);
        if (rc != 0) {
            for (uint64_t undo : done) {
                domain.unmap(undo, as.areas.at(undo).length);
            }
            return rc;
        }
        done.push_back(iova);
    }
    return 0;
}

void ioas_empty_domain(ioas& as, driver::iommu_domain& domain) {
    for (const auto& [iova, area] : as.areas) {
        domain.unmap(iova, area.length);
    }
}

void ioas_destroy(context& ctx, object& obj) {
    (void)ctx;
    (void)obj;  // no domain maps it any more (users == 1), so the ranges simply go
}

int ioas_alloc_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_alloc>();
    if (cmd.flags != 0) {
        return -EOPNOTSUPP;
    }
    int rc = 0;
    uint32_t id = u.ctx.add(std::make_unique<ioas>(), rc);
    if (rc != 0) {
        return rc;
    }
    cmd.out_ioas_id = id;
    rc = u.respond(sizeof(cmd));
    if (rc != 0) {
        u.ctx.abort(id);
        return rc;
    }
    u.ctx.finalize(id);
    return 0;
}

int ioas_iova_ranges_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_iova_ranges>();
    if (cmd.__reserved != 0) {
        return -EOPNOTSUPP;
    }
    auto* as = u.ctx.get<ioas>(cmd.ioas_id, obj_type::ioas);
    if (as == nullptr) {
        return -ENOENT;
    }
    iommu_iova_range range{};
    allowed_window(*as, range.start, range.last);
    const uint32_t max_iovas = cmd.num_iovas;
    uint32_t total = 0;
    if (range.start <= range.last) {
        if (total < max_iovas &&
            driver::copy_to_user(cmd.allowed_iovas + total * sizeof(range), &range, sizeof(range)) != 0) {
            return -EFAULT;
        }
        ++total;
    }
    cmd.num_iovas = total;
    cmd.out_iova_alignment = page_size;
    int rc = u.respond(sizeof(cmd));
    if (rc != 0) {
        return rc;
    }
    return total > max_iovas ? -EMSGSIZE : 0;
}

namespace {

// Logs why IOMMU_IOAS_MAP or IOMMU_IOAS_UNMAP refused and returns the errno.
int map_refused(const iommu_ioas_map& cmd, int rc, const char* reason) {
    klog::printk(klog::level::info, iommufd_log, "IOMMU_IOAS_MAP of 0x%llx+0x%llx into IOAS %u refused: %s (%s)",
                 static_cast<unsigned long long>(cmd.iova), static_cast<unsigned long long>(cmd.length), cmd.ioas_id,
                 reason, strerrorname_np(-rc));
    return rc;
}

int unmap_refused(const iommu_ioas_unmap& cmd, int rc, const char* reason) {
    klog::printk(klog::level::info, iommufd_log, "IOMMU_IOAS_UNMAP of 0x%llx+0x%llx from IOAS %u refused: %s (%s)",
                 static_cast<unsigned long long>(cmd.iova), static_cast<unsigned long long>(cmd.length), cmd.ioas_id,
                 reason, strerrorname_np(-rc));
    return rc;
}

}  // namespace

int ioas_map_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_map>();
    const uint32_t valid = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
    if ((cmd.flags & ~valid) != 0 || cmd.__reserved != 0) {
        return map_refused(cmd, -EOPNOTSUPP, "unknown flags or non-zero __reserved");
    }
    if (cmd.iova >= ulong_max || cmd.length >= ulong_max) {
        return map_refused(cmd, -EOVERFLOW, "iova or length is ULONG_MAX");
    }
    if ((cmd.flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) == 0) {
        return map_refused(cmd, -EINVAL, "neither IOMMU_IOAS_MAP_READABLE nor IOMMU_IOAS_MAP_WRITEABLE");
    }
    auto* as = u.ctx.get<ioas>(cmd.ioas_id, obj_type::ioas);
    if (as == nullptr) {
        return map_refused(cmd, -ENOENT, "no IOAS with that id");
    }
    if (cmd.length == 0 || (cmd.length & (page_size - 1)) != 0 || (cmd.user_va & (page_size - 1)) != 0) {
        return map_refused(cmd, -EINVAL, "length and user_va must be page aligned and the length non-zero");
    }
    if (cmd.user_va + cmd.length - 1 < cmd.user_va) {
        return map_refused(cmd, -EOVERFLOW, "the user range wraps around");
    }
    uint64_t iova = cmd.iova;
    if ((cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA) != 0) {
        if ((iova & (page_size - 1)) != 0) {
            return map_refused(cmd, -EINVAL, "a fixed iova must be page aligned");
        }
        if (iova + cmd.length - 1 < iova) {
            return map_refused(cmd, -EOVERFLOW, "the IOVA range wraps around");
        }
        if (overlaps(*as, iova, iova + cmd.length - 1)) {
            return map_refused(cmd, -EEXIST, "the IOVA range overlaps a mapped area");
        }
    } else if (!alloc_iova(*as, cmd.length, iova)) {
        return map_refused(cmd, -ENOSPC, "no free IOVA window of that length in the allowed ranges");
    }
    if (!user_range_present(cmd.user_va, cmd.length)) {
        return map_refused(cmd, -EFAULT, "the user range is not readable memory");
    }
    // A writeable area is pinned for writing (FOLL_WRITE, drivers/iommu/iommufd/pages.c
    // pfn_reader_user_init): read-only memory is EFAULT here, not a failing device write later.
    if ((cmd.flags & IOMMU_IOAS_MAP_WRITEABLE) != 0 && !driver::user_range_writable(cmd.user_va, cmd.length)) {
        return -EFAULT;
    }
    const int prot = conv_prot(cmd.flags);
    std::vector<hwpt_paging*> mapped;
    for (hwpt_paging* hwpt : as->hwpts) {
        int rc = hwpt->domain->map(iova, reinterpret_cast<void*>(cmd.user_va), cmd.length, prot);
        if (rc != 0) {
            for (hwpt_paging* undo : mapped) {
                undo->domain->unmap(iova, cmd.length);
            }
            return map_refused(cmd, rc, "a paging domain of the IOAS refused the mapping");
        }
        mapped.push_back(hwpt);
    }
    as->areas[iova] = ioas_area{cmd.length, cmd.user_va, prot};
    cmd.iova = iova;
    return u.respond(sizeof(cmd));
}

int ioas_unmap_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_unmap>();
    auto* as = u.ctx.get<ioas>(cmd.ioas_id, obj_type::ioas);
    if (as == nullptr) {
        return unmap_refused(cmd, -ENOENT, "no IOAS with that id");
    }
    uint64_t start = 0;
    uint64_t last = 0;
    const bool all = cmd.iova == 0 && cmd.length == ulong_max;
    if (all) {
        last = ulong_max;
    } else {
        if (cmd.iova >= ulong_max || cmd.length >= ulong_max) {
            return unmap_refused(cmd, -EOVERFLOW, "iova or length is ULONG_MAX");
        }
        if (cmd.length == 0) {
            return unmap_refused(cmd, -EINVAL, "the length is zero");
        }
        start = cmd.iova;
        last = cmd.iova + cmd.length - 1;
        if (last < start) {
            return unmap_refused(cmd, -EOVERFLOW, "the IOVA range wraps around");
        }
    }
    uint64_t unmapped = 0;
    int rc = -ENOENT;
    // Areas are removed whole, in IOVA order; a range that cuts an area stops with ENOENT.
    for (auto it = as->areas.begin(); it != as->areas.end();) {
        const uint64_t a_first = it->first;
        const uint64_t a_last = it->first + it->second.length - 1;
        if (a_last < start || a_first > last) {
            ++it;
            continue;
        }
        if (a_first < start || a_last > last) {
            rc = -ENOENT;
            unmapped = 0;
            break;
        }
        for (hwpt_paging* hwpt : as->hwpts) {
            hwpt->domain->unmap(a_first, it->second.length);
        }
        unmapped += it->second.length;
        rc = 0;
        it = as->areas.erase(it);
    }
    if (all && rc == -ENOENT && unmapped == 0 && as->areas.empty()) {
        rc = 0;  // unmapping everything of an empty IOAS succeeds
    }
    if (rc != 0) {
        return unmap_refused(cmd, rc, "the range maps nothing or cuts a mapped area");
    }
    cmd.length = unmapped;
    return u.respond(sizeof(cmd));
}

}  // namespace iommusim::iommufd
