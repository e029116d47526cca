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
        return (pa & 7) == 0 ? read_aligned64(pa, value) : read(pa, &value, sizeof value);
    }

  protected:
    struct direct_page;

  public:
    // The directly readable pages as they are now: valid until the next call of this interface
    // (a loop of loads with no read, write or cmpxchg in between may keep it in registers).
    class direct_view {
      public:
        // Loads entry `index` (8 bytes) of the page-aligned table at `table` into value when its page
        // is directly readable (the read() it stands for has no effect but the copy); false: read()
        // must be called.
        bool load_entry(uint64_t table, unsigned index, uint64_t& value) const {
            const direct_page& d = m_pages[(table >> 12) & m_mask];
            if (d.pfn != table >> 12) {
                return false;
            }
            std::memcpy(&value, d.bytes + uint64_t{index} * 8, sizeof value);
            return true;
        }

      private:
        friend class phys_mem_if;
        direct_view(const direct_page* pages, uint64_t mask) : m_pages(pages), m_mask(mask) {}
        const direct_page* m_pages;
        uint64_t m_mask;
    };
    direct_view direct() const { return direct_view(m_direct_pages, m_direct_slot_mask); }
    // read64() of an 8-byte aligned address (a paging entry: table base plus index * 8).
    bool read_aligned64(uint64_t pa, uint64_t& value) {
        const loaded64 l = load_aligned64(pa);
        value = l.value;
        return l.ok;
    }
    // The same as a value (no address of the caller's variable escapes, so it can stay in a register).
    struct loaded64 {
        uint64_t value = 0;
        bool ok = false;
    };
    loaded64 load_aligned64(uint64_t pa) {
        const direct_page& d = m_direct_pages[(pa >> 12) & m_direct_slot_mask];
        if (d.pfn == pa >> 12) [[likely]] {
            loaded64 l{0, true};
            std::memcpy(&l.value, d.bytes + (pa & 0xfff), sizeof l.value);
            return l;
        }
        return load_through_read(pa);
    }
    // read(pa, dst, len) for [pa, pa + len) inside one 4 KiB page, served by a copy from a directly
    // readable page the same way (queue descriptors: one per fetch, the queue engine's hot path).
    bool read_in_page(uint64_t pa, void* dst, std::size_t len) {
        if (len != 0 && (pa & 0xfff) + len <= 0x1000) {
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
        m_direct_pages = slots != nullptr ? slots : &k_no_direct_page;
        m_direct_slot_mask = slots != nullptr ? slot_mask : 0;
    }

  private:
    [[gnu::noinline]] loaded64 load_through_read(uint64_t pa) {
        loaded64 l;
        l.ok = read(pa, &l.value, sizeof l.value);
        return l;
    }
    // Withdrawn: one slot that matches no page frame (a pfn is below 2^52), so a read looks once
    // and falls through to read().
    static const direct_page k_no_direct_page;
    const direct_page* m_direct_pages = &k_no_direct_page;
    uint64_t m_direct_slot_mask = 0;
};

inline const phys_mem_if::direct_page phys_mem_if::k_no_direct_page{};

}  // namespace iommusim
