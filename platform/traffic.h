// A scripted DMA stream a device generates (the device as traffic generator).
#pragma once

#include <cstdint>

#include "iommusim/hw/vtd_fault.h"

namespace iommusim {

// A scripted, seeded random stream (the device as traffic generator): `count` transfers of
// min_bytes..max_bytes at random offsets of [base, base + size), write_percent of them writes.
// Writes store a pattern derived from (seed, address); reads of bytes this stream wrote are
// compared with it (self-checking; bytes it never wrote are not checked).
struct traffic_spec {
    bool has_pasid = false;
    uint32_t pasid = 0;
    uint64_t base = 0;
    uint64_t size = 4096;
    unsigned count = 64;
    unsigned min_bytes = 4;
    unsigned max_bytes = 256;
    unsigned write_percent = 50;
    uint64_t seed = 1;
};
struct traffic_result {
    unsigned transfers = 0;
    unsigned faults = 0;
    uint64_t bytes = 0;
    uint64_t checked_bytes = 0;
    uint64_t mismatches = 0;  // bytes read back different from what the stream wrote
    hw::fault_reason first_fault = hw::fault_reason::none;
    uint64_t first_fault_iova = 0;
    uint64_t first_mismatch_iova = 0;
};
}  // namespace iommusim
