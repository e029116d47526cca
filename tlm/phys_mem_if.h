// Physical-memory access as the functional core sees it: the page walker, the invalidation
// queue fetcher and status writes. The TLM shell implements it over its initiator socket;
// unit tests implement it directly over a sparse_memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

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

    // read(pa, &value, 8), served by a plain load when the implementation publishes the page as
    // directly readable (page-table entries: one per walk level, the walker's hot path).
    bool read64(uint64_t pa, uint64_t& value) {
        if (m_direct_pages != nullptr && (pa & 7) == 0) {
            const direct_page& d = m_direct_pages[(pa >> 12) & m_direct_slot_mask];
            if (d.pfn == pa >> 12) {
                std::memcpy(&value, d.bytes + (pa & 0xfff), sizeof value);
                return true;
            }
        }
        return read(pa, &value, sizeof value);
    }
    // read(pa, dst, len) for [pa, pa + len) inside one 4 KiB page, served by a copy from a directly
    // readable page the same way (queue descriptors: one per fetch, the queue engine's hot path).
    bool read_in_page(uint64_t pa, void* dst, std::size_t len) {
        if (m_direct_pages != nullptr && len != 0 && (pa & 0xfff) + len <= 0x1000) {
            const direct_page& d = m_direct_pages[(pa >> 12) & m_direct_slot_mask];
            if (d.pfn == pa >> 12) {
                std::memcpy(dst, d.bytes + (pa & 0xfff), len);
                return true;
            }
        }
        return read(pa, dst, len);
    }

  protected:
    // A direct-mapped table of host pages (slot pfn & mask) that a read of any of their bytes may
    // load from without calling read(): owned by the implementation, which withdraws it (nullptr)
    // or empties a slot whenever such a read would no longer be what read() does.
    struct direct_page {
        uint64_t pfn = ~uint64_t{0};
        uint8_t* bytes = nullptr;
    };
    void publish_direct_pages(const direct_page* slots, uint64_t slot_mask) {
        m_direct_pages = slots;
        m_direct_slot_mask = slot_mask;
    }

  private:
    const direct_page* m_direct_pages = nullptr;
    uint64_t m_direct_slot_mask = 0;
};

}  // namespace iommusim
