#include "driver/page_allocator.h"

#include <cerrno>

#include "iommusim/hw/vtd_tables.h"

namespace iommusim::driver {

page_allocator::page_allocator(hw_bus& bus, uint64_t base, uint64_t size) : m_bus(bus), m_base(base) {
    if ((base | size) & (hw::page_size_4k - 1)) {
        return;
    }
    m_used.assign(size >> hw::page_shift, false);
    m_free = m_used.size();
}

int page_allocator::alloc(uint64_t& pa, unsigned order) {
    const std::size_t n = std::size_t{1} << order;
    if (order > 20 || n > m_free) {
        return -ENOMEM;
    }
    const std::size_t total = m_used.size();
    // Naturally aligned blocks relative to physical address 0, so that a table page is aligned to its size.
    const std::size_t first_pfn = m_base >> hw::page_shift;
    const std::size_t skew = (n - (first_pfn & (n - 1))) & (n - 1);
    const std::size_t start = order == 0 ? m_hint : 0;
    for (std::size_t pass = 0; pass < 2; ++pass) {
        std::size_t i = pass == 0 ? start : 0;
        if (order != 0) {
            i = skew;
        }
        for (; i + n <= total; i += n) {
            bool busy = false;
            for (std::size_t k = 0; k < n && !busy; ++k) {
                busy = m_used[i + k];
            }
            if (busy) {
                continue;
            }
            const uint64_t block = m_base + (uint64_t{i} << hw::page_shift);
            static const uint8_t zero[hw::page_size_4k] = {};
            for (std::size_t k = 0; k < n; ++k) {
                if (!m_bus.mem_write(block + (uint64_t{k} << hw::page_shift), zero, sizeof zero)) {
                    return -ENOMEM;
                }
            }
            for (std::size_t k = 0; k < n; ++k) {
                m_used[i + k] = true;
            }
            m_free -= n;
            if (order == 0) {
                m_hint = i + 1;
            }
            pa = block;
            return 0;
        }
        if (order != 0) {
            break;
        }
    }
    return -ENOMEM;
}

void page_allocator::free(uint64_t pa, unsigned order) {
    if (pa < m_base || (pa & (hw::page_size_4k - 1))) {
        return;
    }
    const std::size_t i = (pa - m_base) >> hw::page_shift;
    const std::size_t n = std::size_t{1} << order;
    for (std::size_t k = 0; k < n && i + k < m_used.size(); ++k) {
        if (!m_used[i + k]) {
            continue;
        }
        m_used[i + k] = false;
        ++m_free;
    }
    if (i < m_hint) {
        m_hint = i;
    }
}

}  // namespace iommusim::driver
