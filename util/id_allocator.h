// Lowest-free id allocation, as open(2) hands out descriptors and the kernel's xa_alloc hands out
// iommufd object ids: the lowest id of [first, last] not in use. The search starts where every
// lower id is known to be in use, so allocating many ids in a row stays linear.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>

namespace iommusim {

class id_allocator {
  public:
    id_allocator(uint32_t first, uint32_t last) : m_last(last), m_lowest_maybe_free(first) {}

    // The lowest free id, now in use, in `id`; false (and `id` untouched) when every id is in use.
    bool alloc(uint32_t& id);
    // Makes id free again; an id not in use is ignored.
    void free(uint32_t id);
    bool in_use(uint32_t id) const { return m_used.count(id) != 0; }
    std::size_t used() const { return m_used.size(); }

  private:
    uint32_t m_last;
    uint64_t m_lowest_maybe_free;  // every id of [first, it) is in use; 64-bit: last may be UINT32_MAX
    std::set<uint32_t> m_used;
};

}  // namespace iommusim
