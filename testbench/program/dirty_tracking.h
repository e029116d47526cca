// The dirty-tracking scenario's engine with explicit parameters: the built-in reads them from
// --param (their defaults and ranges are declared in scenario.cc), a scenario file's
// dirty_tracking step from its fields.
#pragma once

#include <cstdint>

#include "program/scenario.h"

namespace iommusim::program {

struct dirty_tracking_params {
    uint64_t rounds;  // write/read-and-clear/copy rounds
    uint64_t pages;   // 4 KiB pages of guest RAM
    uint64_t writes;  // device writes per round
};

// The whole live-migration loop (its own IOAS, dirty-tracking HWPT on vfio0, rounds and checks).
void run_dirty_migration(scenario_log& log, uint64_t seed, const dirty_tracking_params& params);

}  // namespace iommusim::program
