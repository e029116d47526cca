#include "tlm/sparse_memory.h"

#include <algorithm>
#include <cstring>

#include "tlm/fault_safe_copy.h"

namespace iommusim {

namespace {
constexpr uint64_t k_page_shift = 12;
constexpr uint64_t k_page_bytes = uint64_t{1} << k_page_shift;
constexpr uint64_t k_page_mask = k_page_bytes - 1;
}  // namespace

sparse_memory::sparse_memory(unsigned addr_bits)
    : m_limit(addr_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << std::max(addr_bits, 32u))) {
    publish_lookup();
}

bool sparse_memory::accessible(uint64_t pa, uint64_t len) const {
    if (len == 0) {
        return true;
    }
    if (pa >= m_limit || len > m_limit - pa) {
        return false;
    }
    if (m_errors.empty()) {
        return true;
    }
    const uint64_t end = pa + len;
    for (const error_range& e : m_errors) {
        if (pa < e.end && e.base < end) {
            return false;
        }
    }
    return true;
}

const sparse_memory::region* sparse_memory::find_region(uint64_t pa, uint64_t& base) const {
    if (m_regions.empty()) {
        return nullptr;
    }
    auto it = m_regions.upper_bound(pa);
    if (it == m_regions.begin()) {
        return nullptr;
    }
    --it;
    base = it->first;
    return pa - it->first < it->second.len ? &it->second : nullptr;
}

bool sparse_memory::owned_page_cached(uint64_t pfn) const {
    return m_lookup[pfn % k_lookup_slots].pfn == pfn;
}

uint8_t* sparse_memory::page_ptr(uint64_t pfn, bool allocate) {
    direct_page& cached = m_lookup[pfn % k_lookup_slots];
    if (cached.pfn == pfn) {
        return cached.bytes;
    }
    uint8_t* p = nullptr;
    if (!allocate) {
        // Reads of untouched memory allocate nothing: a stray walk cannot grow the host footprint.
        auto it = m_pages.find(pfn);
        if (it == m_pages.end()) {
            return nullptr;
        }
        p = it->second.get();
    } else {
        auto& slot = m_pages[pfn];
        if (!slot) {
            slot = std::make_unique<uint8_t[]>(k_page_bytes);  // value-initialised: zero-filled
        }
        p = slot.get();
    }
    cached = direct_page{pfn, p};
    return p;
}

const sparse_memory::region* sparse_memory::adopted_at(uint64_t pa, uint64_t& base) const {
    // Owned pages in the lookup cache are never inside an adopted region (adopt discards them).
    return owned_page_cached(pa >> k_page_shift) ? nullptr : find_region(pa, base);
}

uint8_t* sparse_memory::cached_owned_bytes(uint64_t pa, std::size_t len) const {
    if ((pa & k_page_mask) + len > k_page_bytes) {
        return nullptr;
    }
    const direct_page& cached = m_lookup[(pa >> k_page_shift) % k_lookup_slots];
    return cached.pfn == pa >> k_page_shift ? cached.bytes + (pa & k_page_mask) : nullptr;
}

bool sparse_memory::read(uint64_t pa, void* dst, std::size_t len) {
    if (!accessible(pa, len)) {
        return false;
    }
    if (const uint8_t* bytes = cached_owned_bytes(pa, len)) {  // the walker's common case
        std::memcpy(dst, bytes, len);
        return true;
    }
    auto* out = static_cast<uint8_t*>(dst);
    while (len) {
        std::size_t n = std::min<std::size_t>(len, k_page_bytes - (pa & k_page_mask));
        uint64_t base = 0;
        if (const region* r = adopted_at(pa, base)) {
            n = static_cast<std::size_t>(std::min<uint64_t>(len, base + r->len - pa));
            if (fault_safe_read(out, r->host + (pa - base), n) != 0) {
                ++m_host_faults;
                return false;
            }
        } else if (const uint8_t* page = page_ptr(pa >> k_page_shift, false)) {
            std::memcpy(out, page + (pa & k_page_mask), n);
        } else {
            std::memset(out, 0, n);
        }
        out += n;
        pa += n;
        len -= n;
    }
    return true;
}

bool sparse_memory::write(uint64_t pa, const void* src, std::size_t len) {
    if (!accessible(pa, len)) {
        return false;
    }
    if (uint8_t* bytes = cached_owned_bytes(pa, len)) {
        std::memcpy(bytes, src, len);
        return true;
    }
    const auto* in = static_cast<const uint8_t*>(src);
    while (len) {
        std::size_t n = std::min<std::size_t>(len, k_page_bytes - (pa & k_page_mask));
        uint64_t base = 0;
        if (const region* r = adopted_at(pa, base)) {
            n = static_cast<std::size_t>(std::min<uint64_t>(len, base + r->len - pa));
            if (fault_safe_write(r->host + (pa - base), in, n) != 0) {
                ++m_host_faults;
                return false;
            }
        } else {
            std::memcpy(page_ptr(pa >> k_page_shift, true) + (pa & k_page_mask), in, n);
        }
        in += n;
        pa += n;
        len -= n;
    }
    return true;
}

bool sparse_memory::cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) {
    // The model is single-threaded: read-compare-write is atomic with respect to every other
    // access. Page-crossing (misaligned) operands go through the chunked path.
    if (!read(pa, &observed, sizeof observed)) {
        return false;
    }
    if (observed != expected) {
        return true;
    }
    return write(pa, &desired, sizeof desired);
}

bool sparse_memory::adopt(uint64_t pa, void* host, std::size_t len) {
    if (host == nullptr || len == 0 || (pa & k_page_mask) || (len & k_page_mask)) {
        return false;
    }
    if (pa >= m_limit || len > m_limit - pa) {
        return false;
    }
    const uint64_t end = pa + len;
    auto it = m_regions.lower_bound(pa);
    if (it != m_regions.end() && it->first < end) {
        return false;
    }
    if (it != m_regions.begin() && pa - std::prev(it)->first < std::prev(it)->second.len) {
        return false;
    }
    // Drop pages the region now shadows so release() exposes zero-filled memory again.
    if (m_pages.size() < len >> k_page_shift) {
        for (auto p = m_pages.begin(); p != m_pages.end();) {
            const uint64_t ppa = p->first << k_page_shift;
            p = (ppa >= pa && ppa < end) ? m_pages.erase(p) : std::next(p);
        }
    } else {
        for (uint64_t a = pa; a < end; a += k_page_bytes) {
            m_pages.erase(a >> k_page_shift);
        }
    }
    m_regions[pa] = region{static_cast<uint8_t*>(host), len};
    flush_lookup();
    return true;
}

bool sparse_memory::release(uint64_t pa) {
    if (m_regions.erase(pa) == 0) {
        return false;
    }
    flush_lookup();
    return true;
}

uint8_t* sparse_memory::host_ptr(uint64_t pa, std::size_t& len_out) {
    len_out = 0;
    if (!accessible(pa, 1)) {
        return nullptr;
    }
    uint64_t base = 0;
    if (adopted_at(pa, base)) {
        return nullptr;  // host memory that may vanish: no raw pointer
    }
    uint8_t* p = page_ptr(pa >> k_page_shift, true) + (pa & k_page_mask);
    uint64_t span = std::min<uint64_t>(k_page_bytes - (pa & k_page_mask), m_limit - pa);
    for (const error_range& e : m_errors) {
        if (e.base > pa) {
            span = std::min(span, e.base - pa);
        }
    }
    len_out = static_cast<std::size_t>(span);
    return p;
}

void sparse_memory::inject_error_range(uint64_t pa, uint64_t len) {
    if (len == 0) {
        return;
    }
    const uint64_t end = len > ~uint64_t{0} - pa ? ~uint64_t{0} : pa + len;
    m_errors.push_back(error_range{pa, end});
    publish_lookup();  // withdrawn: a direct read would not see the error
}

void sparse_memory::clear_error_ranges() {
    m_errors.clear();
    publish_lookup();
}

}  // namespace iommusim
