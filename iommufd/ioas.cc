// IOAS objects: IOMMU_IOAS_ALLOC, IOAS_MAP, IOAS_MAP_FILE, IOAS_UNMAP, IOAS_IOVA_RANGES, IOAS_ALLOW_IOVAS, IOAS_COPY
// and IOMMU_OPTION (kernel iommufd/ioas.c, io_pagetable.c, main.c iommufd_option).
//
// An IOAS records iova -> user-pointer ranges of any byte length. Its alignment is 1 with no domain
// (PAGE_SIZE with large pages disabled) and the largest minimum page size of its paging domains
// otherwise; IOVAs, lengths and the user pointer's page offset must be multiples of it. Pages are
// pinned lazily as the kernel does: a map with no domain records the range only, and unreadable
// (or, for writeable maps, read-only) user memory is EFAULT when a domain is filled (attach, HWPT
// allocation) or when a map or copy lands in an IOAS that has domains. Every domain's aperture
// complement counts as reserved IOVA, like the kernel's per-domain reserved ranges. An IOAS_MAP_FILE
// area points into the model's own mapping of the file (mapped_file.h); pinning it is the file's
// check (EINVAL: not a memfd, or past its end), and its file offset is what an automatic IOVA keeps.
// An IOAS_MAP by another process (a forked child, driver/user_space.h) maps only memory the model's
// process shares with it: the area keeps the model's address of it and the process, whose exit
// makes pages nothing pinned yet EFAULT to pin (kernel pages->source_mm, mmget_not_zero).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "driver/uaccess.h"
#include "iommufd/context.h"
#include "iommufd/mapped_file.h"
#include "iommusim/iommufd.h"
#include "util/klog.h"

namespace iommusim::iommufd {

namespace {

constexpr uint64_t page_size = 4096;
constexpr uint64_t ulong_max = std::numeric_limits<uint64_t>::max();

struct span {
    uint64_t start;
    uint64_t last;
};

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

// Kernel iopt->iova_alignment (iopt_calculate_iova_alignment).
uint64_t iova_alignment(const ioas& as) {
    uint64_t align = as.disable_large_pages ? page_size : 1;
    for (const hwpt_paging* hwpt : as.hwpts) {
        align = std::max(align, hwpt->domain->min_page_size());
    }
    for (const access* acc : as.accesses) {
        align = std::max(align, acc->iova_alignment);
    }
    return align;
}

// Reserved IOVA, sorted by start: the test-reserved ranges and what lies outside each domain's aperture.
std::vector<span> reserved_spans(const ioas& as) {
    std::vector<span> out;
    for (const auto& [start, last] : as.reserved) {
        out.push_back({start, last});
    }
    for (const hwpt_paging* hwpt : as.hwpts) {
        if (hwpt->domain->aperture_start() != 0) {
            out.push_back({0, hwpt->domain->aperture_start() - 1});
        }
        if (hwpt->domain->aperture_last() != ulong_max) {
            out.push_back({hwpt->domain->aperture_last() + 1, ulong_max});
        }
    }
    std::sort(out.begin(), out.end(), [](const span& a, const span& b) { return a.start < b.start; });
    return out;
}

bool meets(const std::vector<span>& spans, uint64_t start, uint64_t last) {
    return std::any_of(spans.begin(), spans.end(), [&](const span& s) { return s.start <= last && start <= s.last; });
}

bool meets_map(const std::map<uint64_t, uint64_t>& ranges, uint64_t start, uint64_t last) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const auto& r) { return r.first <= last && start <= r.second; });
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

// The holes of `used` (sorted by start, may overlap) inside [lo, hi].
std::vector<span> holes(const std::vector<span>& used, uint64_t lo, uint64_t hi) {
    std::vector<span> out;
    uint64_t cur = lo;
    bool done = false;
    for (const span& u : used) {
        if (done || u.last < cur) {
            continue;
        }
        if (u.start > hi) {
            break;
        }
        if (u.start > cur) {
            out.push_back({cur, u.start - 1});
        }
        if (u.last >= hi) {
            done = true;
        } else {
            cur = u.last + 1;
        }
    }
    if (!done && cur <= hi) {
        out.push_back({cur, hi});
    }
    return out;
}

uint64_t roundup_pow_of_two(uint64_t v) {
    uint64_t p = 1;
    while (p < v) {
        p <<= 1;
    }
    return p;
}

// Kernel iopt_alloc_iova's hole check: align the start, keep the user page offset, fit the length.
bool fit(span& s, uint64_t length, uint64_t align, uint64_t page_offset) {
    if (s.last - s.start < length - 1) {
        return false;
    }
    const uint64_t aligned = (s.start + align - 1) & ~(align - 1);
    if (aligned < s.start) {
        return false;  // wrapped
    }
    s.start = aligned | page_offset;
    return s.start <= s.last && s.last - s.start >= length - 1;
}

// Kernel iopt_alloc_iova: the lowest free IOVA in [PAGE_SIZE, ULONG_MAX - PAGE_SIZE] inside the
// allowed ranges, aligned to min(roundup_pow_of_two(length), lowest set bit of uptr).
int alloc_iova(const ioas& as, uint64_t uptr, uint64_t length, uint64_t& iova) {
    if (length == 0 || length >= ulong_max / 2) {
        return -EOVERFLOW;
    }
    uint64_t align = roundup_pow_of_two(length);
    if (uptr != 0) {
        align = std::min(align, uint64_t{1} << __builtin_ctzll(uptr));
    }
    if (align < iova_alignment(as)) {
        return -EINVAL;
    }
    const uint64_t page_offset = uptr % page_size;
    std::vector<span> allowed;
    if (as.allowed.empty()) {
        allowed.push_back({page_size, ulong_max - page_size});
    } else {
        for (const auto& [start, last] : as.allowed) {
            const uint64_t lo = std::max(start, page_size);
            const uint64_t hi = std::min(last, ulong_max - page_size);
            if (lo <= hi) {
                allowed.push_back({lo, hi});
            }
        }
    }
    std::vector<span> used = reserved_spans(as);
    for (const auto& [area_iova, area] : as.areas) {
        used.push_back({area_iova, area_iova + area.length - 1});
    }
    std::sort(used.begin(), used.end(), [](const span& a, const span& b) { return a.start < b.start; });
    for (span a : allowed) {
        if (!fit(a, length, align, page_offset)) {
            continue;
        }
        for (span h : holes(used, a.start, a.last)) {
            if (fit(h, length, align, page_offset)) {
                iova = h.start;
                return 0;
            }
        }
    }
    return -ENOSPC;
}

// Kernel iopt_check_iova for a fixed IOVA.
int check_iova(const ioas& as, uint64_t iova, uint64_t length, const char*& reason) {
    if ((iova & (iova_alignment(as) - 1)) != 0) {
        reason = "a fixed iova must be a multiple of the IOAS alignment";
        return -EINVAL;
    }
    if (iova + (length - 1) < iova) {
        reason = "the IOVA range wraps around";
        return -EOVERFLOW;
    }
    if (meets(reserved_spans(as), iova, iova + length - 1)) {
        reason = "the IOVA range meets reserved IOVA (outside a domain's aperture or test-reserved)";
        return -EINVAL;
    }
    if (overlaps(as, iova, iova + length - 1)) {
        reason = "the IOVA range overlaps a mapped area";
        return -EEXIST;
    }
    return 0;
}

// FOLL_WRITE: pages.c pfn_reader_user_init.
bool user_range_pinnable(uint64_t user_va, uint64_t length, bool write) {
    const uint64_t first = user_va & ~(page_size - 1);
    const uint64_t end = user_va + length;
    unsigned char probe = 0;
    for (uint64_t at = first; at < end; at += page_size) {
        if (driver::copy_from_user(&probe, at, 1) != 0) {
            return false;
        }
    }
    return !write || driver::user_range_writable(first, ((end - first + page_size - 1) / page_size) * page_size);
}

}  // namespace

uint64_t ioas_iova_alignment(const ioas& as) {
    return iova_alignment(as);
}

int pin_pages(uint64_t user_va, uint64_t length, bool write, const mapped_file* file) {
    const driver::user_space_scope model_memory(nullptr);
    if (file != nullptr) {
        return file->pin(user_va, length);
    }
    return user_range_pinnable(user_va, length, write) ? 0 : -EFAULT;
}

bool pages_source_alive(const user_pages& pages) {
    return !pages.source || pages.source->alive();
}

namespace {

int pin_area(const ioas_area& area) {
    return pin_pages(area.user_va, area.length, (area.prot & driver::prot_write) != 0, area.file.get());
}

// A slice of pages to place at consecutive IOVAs (kernel struct iopt_pages_list). iova_hint is the
// address the kernel aligns an automatic IOVA to: the user address, or the file offset of a file's pages.
struct piece {
    uint64_t user_va;
    uint64_t length;
    bool writable;
    std::shared_ptr<mapped_file> file;
    uint64_t iova_hint;
    std::shared_ptr<user_pages> pages;
};

// Kernel iopt_map_pages: checks the length, picks or checks the IOVA, inserts one area per piece
// (EPERM for writeable over read-only pages, EINVAL for a misaligned page offset) and fills the
// domains. Nothing changes on failure. `reason` names the refusal.
int map_pieces(ioas& as, const std::vector<piece>& pieces, uint64_t length, uint64_t& iova, int prot, bool fixed,
               const char*& reason) {
    const uint64_t align = iova_alignment(as);
    if (length == 0 || (length & (align - 1)) != 0) {
        reason = "the length is zero or not a multiple of the IOAS alignment";
        return -EINVAL;
    }
    int rc = 0;
    if (fixed) {
        rc = check_iova(as, iova, length, reason);
    } else {
        rc = alloc_iova(as, pieces.front().iova_hint, length, iova);
        reason = rc == -ENOSPC ? "no free IOVA window of that length in the allowed ranges"
                               : "the length is too large or its alignment below the IOAS alignment";
    }
    if (rc != 0) {
        return rc;
    }
    for (const piece& p : pieces) {
        if ((prot & driver::prot_write) != 0 && !p.writable) {
            reason = "writeable over pages that were not mapped writeable";
            return -EPERM;
        }
        if (((p.user_va % page_size) & (align - 1)) != 0) {
            reason = "the user address's page offset is not a multiple of the IOAS alignment";
            return -EINVAL;
        }
        if (!as.hwpts.empty()) {
            rc = pin_pages(p.user_va, p.length, (prot & driver::prot_write) != 0, p.file.get());
            if (rc != 0) {
                reason = p.file ? "the file's pages cannot be pinned (not a memfd, or past its end)"
                                : "the user range cannot be pinned (unmapped, or read-only for a writeable map)";
                return rc;
            }
        }
    }
    struct placed {
        hwpt_paging* hwpt;
        uint64_t iova;
        uint64_t length;
    };
    std::vector<placed> done;
    uint64_t at = iova;
    for (const piece& p : pieces) {
        for (hwpt_paging* hwpt : as.hwpts) {
            rc = hwpt->domain->map(at, reinterpret_cast<void*>(p.user_va), p.length, prot);
            if (rc != 0) {
                for (const placed& undo : done) {
                    undo.hwpt->domain->unmap(undo.iova, undo.length);
                }
                reason = "a paging domain of the IOAS refused the mapping";
                return rc;
            }
            done.push_back({hwpt, at, p.length});
        }
        at += p.length;
    }
    at = iova;
    for (const piece& p : pieces) {
        ioas_area area;
        area.length = p.length;
        area.user_va = p.user_va;
        area.prot = prot;
        area.writable_pages = p.writable;
        area.pages = p.pages;
        area.file = p.file;
        as.areas[at] = std::move(area);
        at += p.length;
    }
    return 0;
}

}  // namespace

int ioas_fill_domain(ioas& as, driver::iommu_domain& domain) {
    // Kernel iopt_table_add_domain: the new alignment must fit every area, the aperture must hold
    // every area and allowed range, and every area's pages must pin.
    const uint64_t align = std::max(iova_alignment(as), domain.min_page_size());
    if (align > page_size) {
        return -EINVAL;
    }
    for (const auto& [iova, area] : as.areas) {
        if (((iova | area.length | (area.user_va % page_size)) & (align - 1)) != 0) {
            return -EADDRINUSE;
        }
    }
    std::vector<span> outside;
    if (domain.aperture_start() != 0) {
        outside.push_back({0, domain.aperture_start() - 1});
    }
    if (domain.aperture_last() != ulong_max) {
        outside.push_back({domain.aperture_last() + 1, ulong_max});
    }
    for (const auto& [iova, area] : as.areas) {
        if (meets(outside, iova, iova + area.length - 1)) {
            return -EADDRINUSE;
        }
    }
    for (const auto& [start, last] : as.allowed) {
        if (meets(outside, start, last)) {
            return -EADDRINUSE;
        }
    }
    for (const auto& [iova, area] : as.areas) {
        (void)iova;
        // With a domain already there the kernel copies the pinned pages from it; otherwise it
        // pins them from the process that mapped them, which must still exist.
        if (as.hwpts.empty() && !pages_source_alive(*area.pages)) {
            return -EFAULT;
        }
        const int rc = pin_area(area);
        if (rc != 0) {
            return rc;
        }
    }
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

int ioas_add_reserved(ioas& as, uint64_t start, uint64_t length) {
    // Kernel iopt_reserve_iova: a reserved range may not cover a mapped area or an allowed range.
    const uint64_t last = start + length - 1;
    if (length == 0 || last < start) {
        return -EINVAL;
    }
    if (overlaps(as, start, last) || meets_map(as.allowed, start, last)) {
        return -EADDRINUSE;
    }
    auto it = as.reserved.find(start);
    if (it != as.reserved.end()) {
        it->second = std::max(it->second, last);
    } else {
        as.reserved.emplace(start, last);
    }
    return 0;
}

int ioas_add_access(ioas& as, access& acc) {
    // Kernel iopt_calculate_iova_alignment: a larger alignment must fit every area.
    const uint64_t align = std::max(iova_alignment(as), acc.iova_alignment);
    for (const auto& [iova, area] : as.areas) {
        if (((iova | area.length | (area.user_va % page_size)) & (align - 1)) != 0) {
            return -EADDRINUSE;
        }
    }
    as.accesses.push_back(&acc);
    return 0;
}

void ioas_remove_access(ioas& as, access& acc) {
    as.accesses.erase(std::remove(as.accesses.begin(), as.accesses.end(), &acc), as.accesses.end());
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
    // Kernel iommufd_ioas_iova_ranges: every hole of the reserved IOVA, whatever is allowed.
    const uint32_t max_iovas = cmd.num_iovas;
    uint32_t total = 0;
    for (const span& hole : holes(reserved_spans(*as), 0, ulong_max)) {
        const iommu_iova_range range{hole.start, hole.last};
        if (total < max_iovas &&
            driver::copy_to_user(cmd.allowed_iovas + uint64_t{total} * sizeof(range), &range, sizeof(range)) != 0) {
            return -EFAULT;
        }
        ++total;
    }
    cmd.num_iovas = total;
    cmd.out_iova_alignment = iova_alignment(*as);
    int rc = u.respond(sizeof(cmd));
    if (rc != 0) {
        return rc;
    }
    return total > max_iovas ? -EMSGSIZE : 0;
}

int ioas_allow_iovas_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_allow_iovas>();
    if (cmd.__reserved != 0) {
        return -EOPNOTSUPP;
    }
    auto* as = u.ctx.get<ioas>(cmd.ioas_id, obj_type::ioas);
    if (as == nullptr) {
        return -ENOENT;
    }
    // Kernel iommufd_ioas_load_iovas then iopt_set_allow_iova: each range well formed and apart
    // from the others (EINVAL), none meeting reserved IOVA (EADDRINUSE); all or nothing.
    std::map<uint64_t, uint64_t> allowed;
    for (uint32_t i = 0; i < cmd.num_iovas; ++i) {
        iommu_iova_range range{};
        if (driver::copy_from_user(&range, cmd.allowed_iovas + uint64_t{i} * sizeof(range), sizeof(range)) != 0) {
            return -EFAULT;
        }
        if (range.start > range.last || meets_map(allowed, range.start, range.last)) {
            return -EINVAL;
        }
        allowed.emplace(range.start, range.last);
    }
    const std::vector<span> reserved = reserved_spans(*as);
    for (const auto& [start, last] : allowed) {
        if (meets(reserved, start, last)) {
            return -EADDRINUSE;
        }
    }
    as->allowed = std::move(allowed);
    return 0;
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
    // Kernel iopt_alloc_pages.
    if (cmd.length == 0 || cmd.length > ulong_max - page_size) {
        return map_refused(cmd, -EINVAL, "the length is zero");
    }
    if (cmd.user_va + cmd.length < cmd.user_va) {
        return map_refused(cmd, -EOVERFLOW, "the user range wraps around");
    }
    // A call of another process (a forked child): the area keeps the address at which the model's
    // process reaches the same memory, which only memory both share has.
    auto pages = std::make_shared<user_pages>();
    pages->source = driver::current_user_space();
    uint64_t user_va = cmd.user_va;
    if (pages->source && !pages->source->model_address(cmd.user_va, cmd.length, user_va)) {
        return map_refused(cmd, -EFAULT,
                           "the calling process's memory is private to it (no shared mapping the model's process has)");
    }
    const int prot = conv_prot(cmd.flags);
    const std::vector<piece> pieces{
        {user_va, cmd.length, (prot & driver::prot_write) != 0, nullptr, cmd.user_va, std::move(pages)}};
    uint64_t iova = cmd.iova;
    const char* reason = nullptr;
    int rc = map_pieces(*as, pieces, cmd.length, iova, prot, (cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA) != 0, reason);
    if (rc != 0) {
        return map_refused(cmd, rc, reason);
    }
    cmd.iova = iova;
    return u.respond(sizeof(cmd));
}

namespace {

int map_file_refused(const iommu_ioas_map_file& cmd, int rc, const char* reason) {
    klog::printk(klog::level::info, iommufd_log,
                 "IOMMU_IOAS_MAP_FILE of fd %d at 0x%llx+0x%llx into IOAS %u refused: %s (%s)", cmd.fd,
                 static_cast<unsigned long long>(cmd.start), static_cast<unsigned long long>(cmd.length), cmd.ioas_id,
                 reason, strerrorname_np(-rc));
    return rc;
}

}  // namespace

// Kernel iommufd_ioas_map_file, then iopt_map_file_pages (newest upstream order): the IOAS_MAP checks
// on flags, ULONG_MAX and access, the IOAS, the length and the file range, the descriptor, then the
// file's own checks (mapped_file::open) and the IOAS_MAP path with the file offset as the address an
// automatic IOVA is aligned to.
int ioas_map_file_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_map_file>();
    const uint32_t valid = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
    if ((cmd.flags & ~valid) != 0) {
        return map_file_refused(cmd, -EOPNOTSUPP, "unknown flags");
    }
    if (cmd.iova >= ulong_max || cmd.length >= ulong_max) {
        return map_file_refused(cmd, -EOVERFLOW, "iova or length is ULONG_MAX");
    }
    if ((cmd.flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) == 0) {
        return map_file_refused(cmd, -EINVAL, "neither IOMMU_IOAS_MAP_READABLE nor IOMMU_IOAS_MAP_WRITEABLE");
    }
    auto* as = u.ctx.get<ioas>(cmd.ioas_id, obj_type::ioas);
    if (as == nullptr) {
        return map_file_refused(cmd, -ENOENT, "no IOAS with that id");
    }
    if (cmd.length == 0) {
        return map_file_refused(cmd, -EINVAL, "the length is zero");
    }
    if (cmd.start + (cmd.length - 1) < cmd.start) {
        return map_file_refused(cmd, -EOVERFLOW, "the file range wraps around");
    }
    if (driver::current_user_space()) {
        return map_file_refused(
            cmd, -EBADF, "the descriptor is another process's (a forked child), whose table the model cannot reach");
    }
    const int prot = conv_prot(cmd.flags);
    const bool writable = (prot & driver::prot_write) != 0;
    std::shared_ptr<mapped_file> file;
    int rc = mapped_file::open(cmd.fd, cmd.start, cmd.length, writable, file);
    if (rc != 0) {
        return map_file_refused(cmd, rc,
                                rc == -EBADF   ? "no open file with that descriptor"
                                : rc == -EPERM ? "writeable over a file not open for writing, or write-sealed"
                                               : "the file range cannot be held");
    }
    const std::vector<piece> pieces{
        {file->address_of(cmd.start), cmd.length, writable, file, cmd.start, std::make_shared<user_pages>()}};
    uint64_t iova = cmd.iova;
    const char* reason = nullptr;
    rc = map_pieces(*as, pieces, cmd.length, iova, prot, (cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA) != 0, reason);
    if (rc != 0) {
        return map_file_refused(cmd, rc, reason);
    }
    cmd.iova = iova;
    return u.respond(sizeof(cmd));
}

int ioas_copy_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_copy>();
    const uint32_t valid = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
    if ((cmd.flags & ~valid) != 0) {
        return -EOPNOTSUPP;
    }
    if (cmd.length >= ulong_max || cmd.src_iova >= ulong_max || cmd.dst_iova >= ulong_max) {
        return -EOVERFLOW;
    }
    if ((cmd.flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) == 0) {
        return -EINVAL;  // kernel iommufd_ioas_copy: a copy maps, so it needs an access right as MAP does
    }
    auto* src = u.ctx.get<ioas>(cmd.src_ioas_id, obj_type::ioas);
    if (src == nullptr) {
        return -ENOENT;
    }
    // Kernel iopt_get_pages: the source range must be covered by contiguous areas.
    if (cmd.length == 0) {
        return -EINVAL;
    }
    const uint64_t last = cmd.src_iova + cmd.length - 1;
    if (last < cmd.src_iova) {
        return -EOVERFLOW;
    }
    std::vector<piece> pieces;
    uint64_t cur = cmd.src_iova;
    auto it = src->areas.upper_bound(cur);
    if (it == src->areas.begin()) {
        return -ENOENT;
    }
    --it;
    bool covered = false;
    for (; it != src->areas.end(); ++it) {
        const uint64_t area_last = it->first + it->second.length - 1;
        if (it->first > cur || area_last < cur) {
            return -ENOENT;
        }
        const uint64_t piece_last = std::min(last, area_last);
        const ioas_area& area = it->second;
        const uint64_t user_va = area.user_va + (cur - it->first);
        pieces.push_back({user_va, piece_last - cur + 1, area.writable_pages, area.file,
                          area.file ? area.file->offset_of(user_va) : user_va, area.pages});
        if (piece_last == last) {
            covered = true;
            break;
        }
        cur = piece_last + 1;
    }
    if (!covered) {
        return -ENOENT;
    }
    auto* dst = u.ctx.get<ioas>(cmd.dst_ioas_id, obj_type::ioas);
    if (dst == nullptr) {
        return -ENOENT;
    }
    uint64_t iova = cmd.dst_iova;
    const char* reason = nullptr;
    int rc = map_pieces(*dst, pieces, cmd.length, iova, conv_prot(cmd.flags),
                        (cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA) != 0, reason);
    if (rc != 0) {
        klog::printk(klog::level::info, iommufd_log, "IOMMU_IOAS_COPY into IOAS %u refused: %s (%s)", cmd.dst_ioas_id,
                     reason, strerrorname_np(-rc));
        return rc;
    }
    cmd.dst_iova = iova;
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
        // Kernel iommufd_access_notify_unmap: accesses holding pins here must let go first; the
        // kernel gives up with EDEADLOCK after 100 rounds that leave pins.
        if (it->second.num_accesses != 0) {
            it->second.prevent_access = true;
            for (unsigned tries = 0; it->second.num_accesses != 0 && tries <= 100; ++tries) {
                const std::vector<access*> accesses = as->accesses;
                for (access* acc : accesses) {
                    if (acc->unmap) {
                        acc->unmap(a_first, it->second.length);
                    }
                }
            }
            if (it->second.num_accesses != 0) {
                rc = -EDEADLOCK;
                break;
            }
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

namespace {

// Kernel iommufd_option_rlimit_mode. The model has no capabilities: SET is always permitted.
int option_rlimit_mode(ucmd& u, iommu_option& cmd) {
    if (cmd.object_id != 0) {
        return -EOPNOTSUPP;
    }
    if (cmd.op == IOMMU_OPTION_OP_GET) {
        cmd.val64 = u.ctx.account_mm ? 1 : 0;
        return 0;
    }
    if (cmd.op != IOMMU_OPTION_OP_SET) {
        return -EOPNOTSUPP;
    }
    if (u.ctx.object_count() != 0) {
        return -EBUSY;
    }
    if (cmd.val64 > 1) {
        return -EINVAL;
    }
    u.ctx.account_mm = cmd.val64 == 1;
    return 0;
}

// Kernel iommufd_ioas_option with iopt_enable/disable_large_pages.
int option_huge_pages(ucmd& u, iommu_option& cmd) {
    auto* as = u.ctx.get<ioas>(cmd.object_id, obj_type::ioas);
    if (as == nullptr) {
        return -ENOENT;
    }
    if (cmd.op == IOMMU_OPTION_OP_GET) {
        cmd.val64 = as->disable_large_pages ? 0 : 1;
        return 0;
    }
    if (cmd.op != IOMMU_OPTION_OP_SET) {
        return -EOPNOTSUPP;
    }
    if (cmd.val64 == 1) {
        as->disable_large_pages = false;
        return 0;
    }
    if (cmd.val64 != 0) {
        return -EINVAL;
    }
    if (as->disable_large_pages) {
        return 0;
    }
    // Domains that already hold pages may have used large ones.
    if (!as->hwpts.empty() && !as->areas.empty()) {
        return -EINVAL;
    }
    const uint64_t align = std::max(iova_alignment(*as), page_size);
    for (const auto& [iova, area] : as->areas) {
        if (((iova | area.length | (area.user_va % page_size)) & (align - 1)) != 0) {
            return -EADDRINUSE;
        }
    }
    as->disable_large_pages = true;
    return 0;
}

}  // namespace

int option_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_option>();
    if (cmd.__reserved != 0) {
        return -EOPNOTSUPP;
    }
    int rc = 0;
    switch (cmd.option_id) {
        case IOMMU_OPTION_RLIMIT_MODE:
            rc = option_rlimit_mode(u, cmd);
            break;
        case IOMMU_OPTION_HUGE_PAGES:
            rc = option_huge_pages(u, cmd);
            break;
        default:
            return -EOPNOTSUPP;
    }
    if (rc != 0) {
        return rc;
    }
    // Only val64 goes back (kernel iommufd_option).
    return driver::copy_to_user(u.ubuffer + offsetof(iommu_option, val64), &cmd.val64, sizeof(cmd.val64)) != 0 ? -EFAULT
                                                                                                               : 0;
}

// Kernel iommufd_ioas_change_process: only file-backed areas (IOAS_MAP_FILE) can move to the
// calling process; any user-VA area is EINVAL. The model is one process with no accounting, so the
// call succeeds exactly when every area of every IOAS is file-backed, and moves nothing.
int ioas_change_process_ioctl(ucmd& u) {
    auto& cmd = u.as<iommu_ioas_change_process>();
    if (cmd.__reserved != 0) {
        return -EOPNOTSUPP;
    }
    for (object* obj : u.ctx.objects_of(obj_type::ioas)) {
        for (const auto& [iova, area] : static_cast<ioas*>(obj)->areas) {
            (void)iova;
            if (!area.file) {
                return -EINVAL;
            }
        }
    }
    return 0;
}

}  // namespace iommusim::iommufd
