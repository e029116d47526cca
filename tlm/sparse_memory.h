// Host-backed sparse physical memory over the whole 52-bit physical address space.
//
// Models: byte-addressable little-endian physical memory whose 4 KiB pages are allocated
// zero-filled on first touch; host buffers adopted as physical regions without copying, accessed
// fault-safely (tlm/fault_safe_copy.h) because user memory can be unmapped or write-protected
// behind the model's back; access errors above a configurable address limit, in injected error
// ranges (for the access-error faults of docs/vtd-facts.md §4.5 / §5.7: SRT.1, SCT.1, SPD.1,
// SPT.1, SFL.1, SSL.1) and where adopted host memory is no longer accessible.
// Does not model: memory types, snooping, caches, timing (the TLM shell annotates latency).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tlm/phys_mem_if.h"

namespace iommusim {

class sparse_memory : public phys_mem_if {
  public:
    // Accesses at or above 2^addr_bits fail (32..64; default: the 52-bit VT-d maximum).
    explicit sparse_memory(unsigned addr_bits = 52);
    sparse_memory(const sparse_memory&) = delete;
    sparse_memory& operator=(const sparse_memory&) = delete;

    bool read(uint64_t pa, void* dst, std::size_t len) override;
    bool write(uint64_t pa, const void* src, std::size_t len) override;
    bool cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) override;

    // Convenience accessor (returns false like write; read64 is phys_mem_if's).
    bool write64(uint64_t pa, uint64_t value) { return write(pa, &value, sizeof value); }

    // Maps [pa, pa+len) onto host memory, without copying, until release(pa). The host may unmap
    // or write-protect it meanwhile: an access that finds it so fails (counted in host_faults())
    // instead of raising a signal. A multi-page write stops at such a page, keeping the bytes it
    // stored before it (DMA never crosses a 4 KiB page, so a DMA write is all or nothing).
    // pa and len must be 4 KiB aligned, inside the limit and not overlap another adopted region;
    // previously touched pages in the range are discarded. Returns false (nothing changed) otherwise.
    bool adopt(uint64_t pa, void* host, std::size_t len);
    // Unmaps the adopted region starting at pa (its pages read as zero again). False if none.
    bool release(uint64_t pa);

    // Reads of never-written pages return zeros without allocating them.
    // Contiguous host span starting at pa (for DMI): within one 4 KiB page; stops before an
    // injected error range. Allocates the page on first touch. Returns nullptr (len_out = 0) where
    // an access would fail and in adopted regions (a raw pointer into memory that can vanish would
    // crash the process).
    uint8_t* host_ptr(uint64_t pa, std::size_t& len_out);

    // pa lies in an adopted region.
    bool is_adopted(uint64_t pa) const {
        uint64_t base = 0;
        return adopted_at(pa, base) != nullptr;
    }

    // Accesses touching [pa, pa+len) fail from now on (until clear_error_ranges()).
    void inject_error_range(uint64_t pa, uint64_t len);
    void clear_error_ranges();

    uint64_t limit() const { return m_limit; }  // first address that always fails
    std::size_t pages_allocated() const { return m_pages.size(); }
    // Accesses that failed because adopted host memory was unmapped or not writable.
    uint64_t host_faults() const { return m_host_faults; }

  private:
    struct region {
        uint8_t* host = nullptr;
        uint64_t len = 0;
    };
    struct error_range {
        uint64_t base = 0;
        uint64_t end = 0;  // exclusive
    };

    bool accessible(uint64_t pa, uint64_t len) const;
    // Host address of the owned 4 KiB page pfn (never one of an adopted region); allocates it when
    // `allocate`, else nullptr if untouched.
    uint8_t* page_ptr(uint64_t pfn, bool allocate);
    bool owned_page_cached(uint64_t pfn) const;
    // [pa, pa+len) inside one owned page already in the lookup cache (so never adopted memory),
    // else nullptr: the fast path of read() and write().
    uint8_t* cached_owned_bytes(uint64_t pa, std::size_t len) const;
    const region* find_region(uint64_t pa, uint64_t& base) const;
    // The adopted region holding pa (base set), or nullptr; cheap for cached owned pages.
    const region* adopted_at(uint64_t pa, uint64_t& base) const;

    uint64_t m_limit;
    std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> m_pages;
    std::map<uint64_t, region> m_regions;  // keyed by base
    std::vector<error_range> m_errors;
    uint64_t m_host_faults = 0;
    // Direct-mapped page lookup cache in front of the hash map: a nested walk touches up to ~10
    // table pages, so one entry would thrash. It holds owned pages only, all inside the limit, so
    // while no error range is injected it is published as phys_mem_if's direct pages.
    static constexpr unsigned k_lookup_slots = 256;
    std::array<direct_page, k_lookup_slots> m_lookup{};
    void flush_lookup() { m_lookup.fill(direct_page{}); }
    void publish_lookup() { publish_direct_pages(m_errors.empty() ? m_lookup.data() : nullptr, k_lookup_slots - 1); }
};

}  // namespace iommusim
