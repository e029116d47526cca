// Accesses: iommufd's in-kernel users of an IOAS (kernel drivers/iommu/iommufd/device.c
// iommufd_access_*, with the pages.c parts they reach: iopt_area_add_access, iopt_pages_rw_access).
//
// Models: creation as a published object with a second user for the driver; attach, replace and
// detach (the old IOAS's unmap op runs over everything first); page pins through contiguous areas
// (page-aligned at every area boundary, EINVAL; the area's protection, EPERM; pages that cannot be
// pinned, EFAULT; gaps, ENOENT) counted per user page of the area's pages object; reads and writes
// through the areas with the kernel's EPERM for read-only pages.
// Does not model: physical pages (the slow path, MOCK_ACCESS_RW_SLOW_PATH, copies the program's
// memory at the area's address like the fast path, so memory unmapped since the map is EFAULT
// where the kernel would still hold the pinned page), IOMMUFD_ACCESS_RW_KTHREAD.
#include <cerrno>
#include <utility>

#include "driver/uaccess.h"
#include "iommufd/context.h"

namespace iommusim::iommufd {

namespace {

constexpr uint64_t page_size = 4096;
constexpr uint64_t ulong_max = ~uint64_t{0};
constexpr uint32_t access_rw_write = 1u << 0;  // IOMMUFD_ACCESS_RW_WRITE (= MOCK_ACCESS_RW_WRITE)

// One step of kernel iopt_for_each_contig_area: an area and the part [cur, last] of it in range.
struct contig_piece {
    uint64_t area_iova;
    ioas_area* area;
    uint64_t cur;
    uint64_t last;
};

// The areas covering [iova, last] back to back from the one holding iova. `covered` says whether
// they reach last (kernel iopt_area_contig_done).
std::vector<contig_piece> contig_areas(ioas& as, uint64_t iova, uint64_t last, bool& covered) {
    std::vector<contig_piece> out;
    covered = false;
    auto it = as.areas.upper_bound(iova);
    if (it == as.areas.begin()) {
        return out;
    }
    --it;
    uint64_t cur = iova;
    for (; it != as.areas.end(); ++it) {
        const uint64_t area_last = it->first + it->second.length - 1;
        if (it->first > cur || area_last < cur) {
            return out;
        }
        const uint64_t piece_last = std::min(last, area_last);
        out.push_back({it->first, &it->second, cur, piece_last});
        if (piece_last == last) {
            covered = true;
            return out;
        }
        cur = piece_last + 1;
    }
    return out;
}

uint64_t user_address(const contig_piece& p, uint64_t iova) {
    return p.area->user_va + (iova - p.area_iova);
}

// Kernel check_area_prot.
bool area_allows(const ioas_area& area, uint32_t flags) {
    return (area.prot & ((flags & access_rw_write) != 0 ? driver::prot_write : driver::prot_read)) != 0;
}

// Kernel iopt_area_contig_is_aligned: the piece starts on a page and, unless it is the last one,
// its area ends on one.
bool piece_aligned(const contig_piece& p, bool last_piece) {
    if (user_address(p, p.cur) % page_size != 0) {
        return false;
    }
    return last_piece || (p.area->user_va + p.area->length) % page_size == 0;
}

// The user pages [first, last] of a piece (kernel iopt_area_iova_to_index).
void for_each_page(const contig_piece& p, void (*fn)(ioas_area&, uint64_t)) {
    const uint64_t first = user_address(p, p.cur) & ~(page_size - 1);
    const uint64_t last = user_address(p, p.last) & ~(page_size - 1);
    for (uint64_t at = first; at <= last; at += page_size) {
        fn(*p.area, at);
    }
}

void pin_page(ioas_area& area, uint64_t page) {
    ++area.pages->access_pins[page];
}

void unpin_page(ioas_area& area, uint64_t page) {
    auto it = area.pages->access_pins.find(page);
    if (it != area.pages->access_pins.end() && --it->second == 0) {
        area.pages->access_pins.erase(it);
    }
}

// Kernel iopt_area_add_access: pages nothing holds yet are pinned from the program (EFAULT) or
// from the area's file.
int add_access(const ioas& as, const contig_piece& p, bool write) {
    const uint64_t first = user_address(p, p.cur) & ~(page_size - 1);
    const uint64_t end = user_address(p, p.last) + 1;
    for (uint64_t at = first; at < end; at += page_size) {
        const bool held = !as.hwpts.empty() || p.area->pages->access_pins.count(at) != 0;
        if (held) {
            continue;
        }
        if (!pages_source_alive(*p.area->pages)) {
            return -EFAULT;
        }
        if (int rc = pin_pages(at, page_size, write && p.area->writable_pages, p.area->file.get()); rc != 0) {
            return rc;
        }
    }
    for_each_page(p, pin_page);
    ++p.area->num_accesses;
    return 0;
}

void remove_access(const contig_piece& p) {
    for_each_page(p, unpin_page);
    if (p.area->num_accesses != 0) {
        --p.area->num_accesses;
    }
}

// Kernel iommufd_access_change_ioas.
int change_ioas(access& acc, ioas* new_ioas) {
    ioas* cur = acc.ioas;
    if (cur == new_ioas) {
        return 0;
    }
    if (new_ioas != nullptr) {
        int rc = ioas_add_access(*new_ioas, acc);
        if (rc != 0) {
            return rc;
        }
        ++new_ioas->users;
    }
    if (cur != nullptr) {
        if (acc.unmap) {
            acc.unmap(0, ulong_max);  // unpins through cur: acc.ioas still names it
        }
        ioas_remove_access(*cur, acc);
        --cur->users;
    }
    acc.ioas = new_ioas;
    return 0;
}

int change_ioas_id(context& ctx, access& acc, uint32_t ioas_id) {
    auto* as = ctx.get<ioas>(ioas_id, obj_type::ioas);
    if (as == nullptr) {
        return -ENOENT;
    }
    return change_ioas(acc, as);
}

// The checks iommufd_access_pin_pages and iommufd_access_rw both make first: [iova, last] of a
// non-empty range that does not wrap, on an attached access. 0 or the errno.
int access_range(const access& acc, uint64_t iova, uint64_t length, uint64_t& last) {
    if (length == 0) {
        return -EINVAL;
    }
    last = iova + (length - 1);
    if (last < iova) {
        return -EOVERFLOW;
    }
    return acc.ioas == nullptr ? -ENOENT : 0;
}

}  // namespace

int access_create(context& ctx, bool needs_pin_pages, std::function<void(uint64_t, uint64_t)> unmap, access*& out) {
    auto obj = std::make_unique<access>();
    access* acc = obj.get();
    int rc = 0;
    const uint32_t id = ctx.add(std::move(obj), rc);
    if (rc != 0) {
        return rc;
    }
    acc->needs_pin_pages = needs_pin_pages;
    acc->iova_alignment = needs_pin_pages ? page_size : 1;
    acc->unmap = std::move(unmap);
    acc->users = 2;  // the table and the driver, until the driver destroys it
    ctx.finalize(id);
    out = acc;
    return 0;
}

void access_destroy(context& ctx, object& obj) {
    (void)ctx;
    auto& acc = static_cast<access&>(obj);
    if (acc.ioas != nullptr) {
        change_ioas(acc, nullptr);  // detaching cannot fail
    }
}

int access_attach(context& ctx, access& acc, uint32_t ioas_id) {
    if (acc.ioas != nullptr) {
        return -EINVAL;
    }
    return change_ioas_id(ctx, acc, ioas_id);
}

int access_replace(context& ctx, access& acc, uint32_t ioas_id) {
    if (acc.ioas == nullptr) {
        return -ENOENT;
    }
    return change_ioas_id(ctx, acc, ioas_id);
}

int access_pin_pages(access& acc, uint64_t iova, uint64_t length, bool write, std::vector<uint64_t>& out_pages) {
    if (acc.iova_alignment != page_size || !acc.unmap) {
        return -EINVAL;  // the driver's ops do not support pinning
    }
    uint64_t last = 0;
    if (int rc = access_range(acc, iova, length, last); rc != 0) {
        return rc;
    }
    bool covered = false;
    const std::vector<contig_piece> pieces = contig_areas(*acc.ioas, iova, last, covered);
    const uint32_t flags = write ? access_rw_write : 0;
    std::size_t done = 0;
    int rc = 0;
    for (; done < pieces.size(); ++done) {
        const contig_piece& p = pieces[done];
        if (p.area->prevent_access || !piece_aligned(p, done + 1 == pieces.size() && covered)) {
            rc = -EINVAL;
            break;
        }
        if (!area_allows(*p.area, flags)) {
            rc = -EPERM;
            break;
        }
        rc = add_access(*acc.ioas, p, write);
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0 && !covered) {
        rc = -ENOENT;
    }
    if (rc != 0) {
        for (std::size_t i = 0; i < done; ++i) {
            remove_access(pieces[i]);
        }
        return rc;
    }
    out_pages.clear();
    for (const contig_piece& p : pieces) {
        const uint64_t first = user_address(p, p.cur) & ~(page_size - 1);
        for (uint64_t at = first; at <= user_address(p, p.last); at += page_size) {
            out_pages.push_back(at);
        }
    }
    return 0;
}

void access_unpin_pages(access& acc, uint64_t iova, uint64_t length) {
    const uint64_t last = iova + (length - 1);
    if (length == 0 || last < iova || acc.ioas == nullptr) {
        return;  // a driver bug the kernel WARNs about
    }
    bool covered = false;
    for (const contig_piece& p : contig_areas(*acc.ioas, iova, last, covered)) {
        remove_access(p);
    }
}

int access_rw(access& acc, uint64_t iova, void* data, uint64_t length, uint32_t flags) {
    uint64_t last = 0;
    if (int rc = access_range(acc, iova, length, last); rc != 0) {
        return rc;
    }
    bool covered = false;
    auto* bytes = static_cast<unsigned char*>(data);
    for (const contig_piece& p : contig_areas(*acc.ioas, iova, last, covered)) {
        if (p.area->prevent_access) {
            return -EINVAL;
        }
        if (!area_allows(*p.area, flags)) {
            return -EPERM;
        }
        const bool write = (flags & access_rw_write) != 0;
        if (write && !p.area->writable_pages) {
            return -EPERM;  // kernel iopt_pages_rw_access
        }
        const uint64_t n = p.last - p.cur + 1;
        const uint64_t user = user_address(p, p.cur);
        // A file's pages are read through the file, which refuses as at pin time (memfd_pin_folios);
        // the copy itself answers for user memory.
        if (p.area->file) {
            if (int rc = pin_pages(user, n, write, p.area->file.get()); rc != 0) {
                return rc;
            }
        }
        const driver::user_space_scope model_memory(nullptr);  // the area's address is the model's own
        const std::size_t failed =
            write ? driver::copy_to_user(user, bytes, n) : driver::copy_from_user(bytes, user, n);
        if (failed != 0) {
            return -EFAULT;
        }
        bytes += n;
    }
    return covered ? 0 : -ENOENT;
}

}  // namespace iommusim::iommufd
