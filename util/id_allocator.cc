#include "util/id_allocator.h"

namespace iommusim {

bool id_allocator::alloc(uint32_t& id) {
    uint64_t next = m_lowest_maybe_free;
    if (next > m_last) {
        return false;
    }
    for (auto it = m_used.lower_bound(static_cast<uint32_t>(next)); it != m_used.end() && *it == next; ++it) {
        ++next;
    }
    if (next > m_last) {
        return false;
    }
    id = static_cast<uint32_t>(next);
    m_used.insert(id);
    m_lowest_maybe_free = next + 1;
    return true;
}

void id_allocator::free(uint32_t id) {
    if (m_used.erase(id) != 0 && id < m_lowest_maybe_free) {
        m_lowest_maybe_free = id;
    }
}

}  // namespace iommusim
