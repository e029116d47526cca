// The invalidation-storm scenario's engine with explicit parameters: the built-in reads them from
// --param (their defaults and ranges are declared in scenario.cc), a scenario file's storm step
// from its fields.
#pragma once

#include <cstdint>

#include "program/scenario.h"

namespace iommusim::program {

struct storm_params {
    unsigned rounds;            // edit/invalidate/DMA rounds
    unsigned pages_per_device;  // 4 KiB GVAs each device uses, at the start of its window
    unsigned data_pages;        // guest pages remaps choose from
    unsigned max_batch;         // one-page LEAF entries per IOMMU_HWPT_INVALIDATE call, at most
    unsigned max_range_pages;   // pages of a multi-page range entry, at most
};

// The whole storm (its own guest, IOAS, HWPTs on every platform device, rounds and report).
void run_storm(scenario_log& log, uint64_t seed, const storm_params& params);

}  // namespace iommusim::program
