// Physical page allocator for the driver's own memory: root/context/PASID tables, second-stage page
// tables, the invalidation queue and the wait status words.
//
// Models: the kernel's page allocator reduced to one physical range the platform hands to the
// driver; blocks of 2^order naturally aligned 4 KiB pages, zeroed through the bus on allocation
// (hardware must never see stale table contents).
// Does not model: NUMA, memory pressure reclaim, per-CPU caches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "driver/hw_bus.h"

namespace iommusim::driver {

class page_allocator {
  public:
    // Manages [base, base + size); both must be 4 KiB aligned (misconfiguration leaves it empty).
    page_allocator(hw_bus& bus, uint64_t base, uint64_t size);
    page_allocator(const page_allocator&) = delete;
    page_allocator& operator=(const page_allocator&) = delete;

    // Allocates 2^order contiguous, 2^order-page aligned pages, zero-filled. 0 or -ENOMEM (no
    // space, or the zeroing write failed).
    int alloc(uint64_t& pa, unsigned order = 0);
    // Frees a block returned by alloc with the same order. Unknown or already free pages are ignored.
    void free(uint64_t pa, unsigned order = 0);

    std::size_t total_pages() const { return m_used.size(); }
    std::size_t free_pages() const { return m_free; }
    uint64_t base() const { return m_base; }

  private:
    hw_bus& m_bus;
    uint64_t m_base;
    std::vector<bool> m_used;  // one flag per page
    std::size_t m_free = 0;
    std::size_t m_hint = 0;  // where the next order-0 search starts
};

}  // namespace iommusim::driver
