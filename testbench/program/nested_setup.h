// The nested-translation setup shared by several scenarios: guest RAM mapped into an IOAS, a nest
// parent (host stage-2), a guest-built stage-1 table and a nested HWPT over it with a device attached.
#pragma once

#include <cstdint>
#include <memory>

#include "program/guest_memory.h"
#include "program/scenario.h"
#include "program/vmm.h"

namespace iommusim::program {

struct nested_setup {
    static constexpr uint64_t guest_ram_bytes = 64ull << 20;
    static constexpr uint64_t gva = 0x4000'0000;     // the guest's DMA buffer address (IOVA of stage 1)
    static constexpr uint64_t page_a = 0x0010'0000;  // GPA of the page it first maps
    static constexpr uint64_t page_b = 0x0020'0000;  // GPA of the page it remaps to

    vmm v;
    guest_memory guest{0, guest_ram_bytes};
    unsigned dev = 0;
    uint32_t ioas = 0;
    uint32_t parent = 0;
    uint32_t nested = 0;

    // Builds everything and attaches vfio<device_index>; narrates through `log`.
    explicit nested_setup(scenario_log& log, unsigned device_index = 0);

    // Fills a guest page with a recognisable byte.
    void fill(uint64_t gpa, uint8_t value);
    // Reads `len` bytes at the GVA through device DMA; returns errno (0 ok).
    int read(uint64_t gva_addr, void* buf, std::size_t len, int* reason = nullptr);
};

// "stale hits: N" from the platform's stale-translation checker.
uint64_t platform_stale_hits();

}  // namespace iommusim::program
