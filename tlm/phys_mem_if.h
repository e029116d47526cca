// Physical-memory access as the functional core sees it: the page walker, the invalidation
// queue fetcher and status writes. The TLM shell implements it over its initiator socket;
// unit tests implement it directly over a sparse_memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iommusim {

class phys_mem_if {
  public:
    virtual ~phys_mem_if() = default;
    // Each returns false on an access error (address outside memory, bus error); nothing is
    // transferred then.
    virtual bool read(uint64_t pa, void* dst, std::size_t len) = 0;
    virtual bool write(uint64_t pa, const void* src, std::size_t len) = 0;
    // Atomic 64-bit compare-and-exchange (A/D updates). On return `observed` holds the value
    // that was in memory; the write happened iff observed == expected.
    virtual bool cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) = 0;
};

}  // namespace iommusim
