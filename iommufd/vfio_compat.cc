// VFIO type1 container compatibility of an iommufd (kernel drivers/iommu/iommufd/vfio_compat.c, the
// /dev/vfio/vfio of CONFIG_IOMMUFD_VFIO_CONTAINER): IOMMU_VFIO_IOAS picks the compat IOAS, and the
// type1 container calls of include/uapi/linux/vfio.h act on it through the IOAS handlers of ioas.cc.
//
// Models: the kernel's validation order and errnos; VFIO_SET_IOMMU(TYPE1) disabling large pages so an
// unmap may cut areas (iopt_disable_large_pages, iopt_cut_iova); GET_INFO's capability chain (DMA
// avail, IOVA ranges, each aligned to 8 bytes as in Linux 6.6+, argsz raised to the size of the whole
// chain, cap_offset only when the chain fits); an unmap of an empty range succeeds with size 0
// (Linux 6.18+, backported to 6.12.y: iopt_unmap_iova_range).
// Does not model: no-IOMMU devices (so SET_IOMMU(VFIO_NOIOMMU_IOMMU) is EINVAL, as the kernel answers
// without one), VFIO groups, the VFIO rlimit accounting mode; VFIO_DMA_CC_IOMMU answers 1 (every DMA
// of the platform is cache coherent); a map with neither READ nor WRITE is EINVAL (as type1 VFIO;
// iommufd maps it with no access), domains report 4 KiB pages only.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <limits>
#include <vector>

#include "driver/uaccess.h"
#include "iommufd/context.h"
#include "iommusim/iommufd.h"

namespace iommusim::iommufd {

namespace {

constexpr uint64_t ulong_max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t cpu_page_size = 4096;
// Page sizes of every domain of the model (it maps 4 KiB pages).
constexpr uint64_t domain_pgsize_bitmap = 4096;

template <typename S>
constexpr std::size_t end_of_size() {
    return offsetof(S, size) + sizeof(S::size);
}

ioas* compat_ioas(context& ctx) {
    return ctx.vfio_ioas_id == 0 ? nullptr : ctx.get<ioas>(ctx.vfio_ioas_id, obj_type::ioas);
}

// Runs an iommufd ioctl handler on a command built here: the reply lands in `reply`.
template <typename T>
int run(context& ctx, int (*handler)(ucmd&), T cmd, T& reply) {
    cmd.size = sizeof(T);
    reply = cmd;
    ucmd u{ctx, reinterpret_cast<uint64_t>(&reply), sizeof(T), &cmd};
    return handler(u);
}

// The IOAS's usable IOVA ranges and its IOVA alignment, from IOMMU_IOAS_IOVA_RANGES.
int iova_ranges(context& ctx, const ioas& as, std::vector<iommu_iova_range>& ranges, uint64_t& alignment) {
    iommu_ioas_iova_ranges cmd{};
    iommu_ioas_iova_ranges reply{};
    cmd.ioas_id = as.id;
    int rc = run(ctx, ioas_iova_ranges_ioctl, cmd, reply);
    if (rc != 0 && rc != -EMSGSIZE) {
        return rc;
    }
    ranges.resize(reply.num_iovas);
    cmd.num_iovas = reply.num_iovas;
    cmd.allowed_iovas = reinterpret_cast<uint64_t>(ranges.data());
    rc = run(ctx, ioas_iova_ranges_ioctl, cmd, reply);
    if (rc != 0) {
        return rc;
    }
    ranges.resize(reply.num_iovas);
    alignment = reply.out_iova_alignment;
    return 0;
}

bool intersects_area(const ioas& as, uint64_t start, uint64_t last) {
    return std::any_of(as.areas.begin(), as.areas.end(), [&](const auto& entry) {
        return entry.first <= last && entry.first + entry.second.length - 1 >= start;
    });
}

// kernel iopt_area_split: the area holding `iova` ends at `iova` afterwards (a new area starts at iova + 1).
int split_area(context& ctx, ioas& as, uint64_t iova) {
    auto it = as.areas.upper_bound(iova);
    if (it == as.areas.begin()) {
        return 0;
    }
    --it;
    const uint64_t first = it->first;
    const uint64_t last = first + it->second.length - 1;
    if (iova > last || iova == first || iova == last) {
        return 0;
    }
    if (it->second.num_accesses != 0) {
        return -EINVAL;  // kernel iopt_area_split: accesses' pins cannot be split
    }
    std::vector<iommu_iova_range> ranges;
    uint64_t alignment = cpu_page_size;
    int rc = iova_ranges(ctx, as, ranges, alignment);
    if (rc != 0) {
        return rc;
    }
    const uint64_t new_start = iova + 1;
    if ((new_start & (alignment - 1)) != 0 || ((it->second.user_va + (new_start - first)) & (alignment - 1)) != 0) {
        return -EINVAL;
    }
    ioas_area right = it->second;
    right.length = last - iova;
    right.user_va += new_start - first;
    it->second.length = new_start - first;
    as.areas.emplace(new_start, right);
    return 0;
}

// kernel iopt_unmap_iova / iopt_unmap_all through IOMMU_IOAS_UNMAP: nothing mapped in the range is
// success with 0 bytes.
int unmap_range(context& ctx, const ioas& as, uint64_t iova, uint64_t length, bool all, uint64_t& unmapped) {
    unmapped = 0;
    uint64_t last = ulong_max;
    if (!all) {
        if (length == 0) {
            return -EINVAL;
        }
        if (iova + (length - 1) < iova) {
            return -EOVERFLOW;
        }
        last = iova + length - 1;
    }
    if (!intersects_area(as, all ? 0 : iova, last)) {
        return 0;
    }
    iommu_ioas_unmap cmd{};
    iommu_ioas_unmap reply{};
    cmd.ioas_id = as.id;
    cmd.iova = all ? 0 : iova;
    cmd.length = all ? ulong_max : length;
    const int rc = run(ctx, ioas_unmap_ioctl, cmd, reply);
    if (rc == 0) {
        unmapped = reply.length;
    }
    return rc;
}

int map_dma(context& ctx, uint64_t arg) {
    constexpr std::size_t minsz = end_of_size<vfio_iommu_type1_dma_map>();
    constexpr uint32_t supported = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    vfio_iommu_type1_dma_map map{};
    if (driver::copy_from_user(&map, arg, minsz) != 0) {
        return -EFAULT;
    }
    if (map.argsz < minsz || (map.flags & ~supported) != 0) {
        return -EINVAL;
    }
    ioas* as = compat_ioas(ctx);
    if (as == nullptr) {
        return -ENODEV;
    }
    iommu_ioas_map cmd{};
    iommu_ioas_map reply{};
    cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
    if ((map.flags & VFIO_DMA_MAP_FLAG_READ) != 0) {
        cmd.flags |= IOMMU_IOAS_MAP_READABLE;
    }
    if ((map.flags & VFIO_DMA_MAP_FLAG_WRITE) != 0) {
        cmd.flags |= IOMMU_IOAS_MAP_WRITEABLE;
    }
    cmd.ioas_id = as->id;
    cmd.user_va = map.vaddr;
    cmd.length = map.size;
    cmd.iova = map.iova;
    return run(ctx, ioas_map_ioctl, cmd, reply);
}

int unmap_dma(context& ctx, uint64_t arg) {
    constexpr std::size_t minsz = end_of_size<vfio_iommu_type1_dma_unmap>();
    // GET_DIRTY_BITMAP is obsoleted by iommufd dirty tracking; VADDR is not offered.
    constexpr uint32_t supported = VFIO_DMA_UNMAP_FLAG_ALL;
    vfio_iommu_type1_dma_unmap unmap{};
    if (driver::copy_from_user(&unmap, arg, minsz) != 0) {
        return -EFAULT;
    }
    if (unmap.argsz < minsz || (unmap.flags & ~supported) != 0) {
        return -EINVAL;
    }
    ioas* as = compat_ioas(ctx);
    if (as == nullptr) {
        return -ENODEV;
    }
    uint64_t unmapped = 0;
    int rc = 0;
    if ((unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) != 0) {
        if (unmap.iova != 0 || unmap.size != 0) {
            return -EINVAL;
        }
        rc = unmap_range(ctx, *as, 0, 0, true, unmapped);
    } else {
        if (as->disable_large_pages) {
            // TYPE1 may unmap inside a mapping: cut at both ends of the range first.
            rc = split_area(ctx, *as, unmap.iova + unmap.size - 1);
            if (rc == 0 && unmap.iova != 0) {
                rc = split_area(ctx, *as, unmap.iova - 1);
            }
            if (rc != 0) {
                return rc;
            }
        }
        rc = unmap_range(ctx, *as, unmap.iova, unmap.size, false, unmapped);
    }
    unmap.size = unmapped;
    if (driver::copy_to_user(arg, &unmap, minsz) != 0) {
        rc = -EFAULT;
    }
    return rc;
}

int check_extension(context& ctx, uint64_t type) {
    switch (type) {
        case VFIO_TYPE1_IOMMU:
        case VFIO_TYPE1v2_IOMMU:
        case VFIO_UNMAP_ALL:
        case VFIO_NOIOMMU_IOMMU:  // IS_ENABLED(CONFIG_VFIO_NOIOMMU), as distribution kernels build it
            return 1;
        case VFIO_DMA_CC_IOMMU:
            return compat_ioas(ctx) == nullptr ? -ENODEV : 1;
        default:  // the reserved nesting type, VFIO_UPDATE_VADDR and everything else
            return 0;
    }
}

int set_iommu(context& ctx, uint64_t type) {
    // No device of the model is a no-IOMMU device, so VFIO_NOIOMMU_IOMMU is refused like an unknown type.
    if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) {
        return -EINVAL;
    }
    ioas* as = compat_ioas(ctx);  // VFIO fails SET_IOMMU without a group
    if (as == nullptr) {
        return -ENODEV;
    }
    if (type == VFIO_TYPE1_IOMMU && !as->disable_large_pages) {
        // kernel iopt_disable_large_pages: not once domains may hold large pages of mapped areas.
        if (!as->hwpts.empty() && !as->areas.empty()) {
            return -EINVAL;
        }
        as->disable_large_pages = true;
    }
    return 0;
}

uint64_t pagesizes(const ioas& as, uint64_t iova_alignment) {
    uint64_t bitmap = ulong_max;
    for (std::size_t i = 0; i < as.hwpts.size(); ++i) {
        bitmap &= domain_pgsize_bitmap;
    }
    // As vfio_update_pgsize_bitmap: sizes below the CPU page become the CPU page.
    if ((bitmap & (cpu_page_size - 1)) != 0) {
        bitmap &= ~(cpu_page_size - 1);
        bitmap |= cpu_page_size;
    }
    return std::max(bitmap, iova_alignment);
}

// Each capability writer copies its capability to cur when `avail` bytes hold it and returns its size
// (or -EFAULT).
int fill_cap_dma_avail(uint64_t cur, std::size_t avail, const std::vector<iommu_iova_range>& ranges) {
    (void)ranges;
    vfio_iommu_type1_info_dma_avail cap{};
    cap.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
    cap.header.version = 1;
    cap.avail = std::numeric_limits<uint32_t>::max();  // iommufd's limit is the cgroup's, not a count
    if (avail >= sizeof(cap) && driver::copy_to_user(cur, &cap, sizeof(cap)) != 0) {
        return -EFAULT;
    }
    return sizeof(cap);
}

int fill_cap_iova(uint64_t cur, std::size_t avail, const std::vector<iommu_iova_range>& ranges) {
    vfio_iommu_type1_info_cap_iova_range cap{};
    cap.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
    cap.header.version = 1;
    for (const iommu_iova_range& r : ranges) {
        const vfio_iova_range range{r.start, r.last};
        const std::size_t end = sizeof(cap) + (cap.nr_iovas + 1) * sizeof(range);
        if (avail >= end && driver::copy_to_user(cur + end - sizeof(range), &range, sizeof(range)) != 0) {
            return -EFAULT;
        }
        ++cap.nr_iovas;
    }
    const std::size_t size = sizeof(cap) + cap.nr_iovas * sizeof(vfio_iova_range);
    if (avail >= size && driver::copy_to_user(cur, &cap, sizeof(cap)) != 0) {
        return -EFAULT;
    }
    return static_cast<int>(size);
}

int iommu_get_info(context& ctx, uint64_t arg) {
    std::size_t minsz = offsetof(vfio_iommu_type1_info, iova_pgsizes) + sizeof(uint64_t);
    vfio_iommu_type1_info info{};
    if (driver::copy_from_user(&info, arg, minsz) != 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz) {
        return -EINVAL;
    }
    minsz = std::min<std::size_t>(info.argsz, sizeof(info));
    ioas* as = compat_ioas(ctx);
    if (as == nullptr) {
        return -ENODEV;
    }
    std::vector<iommu_iova_range> ranges;
    uint64_t alignment = 1;
    int rc = iova_ranges(ctx, *as, ranges, alignment);
    if (rc != 0) {
        return rc;
    }
    info.flags = VFIO_IOMMU_INFO_PGSIZES;
    info.iova_pgsizes = pagesizes(*as, alignment);
    info.cap_offset = 0;

    using fill_cap_fn = int (*)(uint64_t, std::size_t, const std::vector<iommu_iova_range>&);
    static constexpr fill_cap_fn fill_fns[] = {fill_cap_dma_avail, fill_cap_iova};
    uint64_t last_cap = 0;
    std::size_t total = sizeof(info);
    for (fill_cap_fn fill : fill_fns) {
        const bool room = info.argsz > total;
        int cap_size = fill(room ? arg + total : 0, room ? info.argsz - total : 0, ranges);
        if (cap_size < 0) {
            return cap_size;
        }
        cap_size = (cap_size + 7) & ~7;  // the next capability starts 8-byte aligned
        const auto next = static_cast<uint32_t>(total);
        if (last_cap != 0 && info.argsz >= total &&
            driver::copy_to_user(last_cap + offsetof(vfio_info_cap_header, next), &next, sizeof(next)) != 0) {
            return -EFAULT;
        }
        last_cap = arg + total;
        total += cap_size;
    }
    // Too small a buffer gets some capabilities and the argsz that holds them all.
    if (info.argsz >= total) {
        info.cap_offset = sizeof(info);
    }
    info.argsz = static_cast<uint32_t>(total);
    info.flags |= VFIO_IOMMU_INFO_CAPS;
    return driver::copy_to_user(arg, &info, minsz) != 0 ? -EFAULT : 0;
}

}  // namespace

int vfio_ioas_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_vfio_ioas>();
    if (cmd.__reserved != 0) {
        return -EOPNOTSUPP;
    }
    switch (cmd.op) {
        case IOMMU_VFIO_IOAS_GET: {
            ioas* as = compat_ioas(u.ctx);
            if (as == nullptr) {
                return -ENODEV;
            }
            cmd.ioas_id = as->id;
            return u.respond(sizeof(cmd));
        }
        case IOMMU_VFIO_IOAS_SET: {
            ioas* as = u.ctx.get<ioas>(cmd.ioas_id, obj_type::ioas);
            if (as == nullptr) {
                return -ENOENT;
            }
            u.ctx.vfio_ioas_id = as->id;
            return 0;
        }
        case IOMMU_VFIO_IOAS_CLEAR:
            u.ctx.vfio_ioas_id = 0;
            return 0;
        default:
            return -EOPNOTSUPP;
    }
}

int vfio_compat_ioctl(context& ctx, unsigned long cmd, uint64_t arg) {
    switch (cmd) {
        case VFIO_GET_API_VERSION:
            return VFIO_API_VERSION;
        case VFIO_SET_IOMMU:
            return set_iommu(ctx, arg);
        case VFIO_CHECK_EXTENSION:
            return check_extension(ctx, arg);
        case VFIO_IOMMU_GET_INFO:
            return iommu_get_info(ctx, arg);
        case VFIO_IOMMU_MAP_DMA:
            return map_dma(ctx, arg);
        case VFIO_IOMMU_UNMAP_DMA:
            return unmap_dma(ctx, arg);
        case VFIO_IOMMU_DIRTY_PAGES:  // obsoleted by iommufd dirty tracking
        default:
            return -ENOTTY;
    }
}

}  // namespace iommusim::iommufd
