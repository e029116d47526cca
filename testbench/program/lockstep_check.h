// What a lockstep run (C++ and RTL IOTLB compared on every operation) means for the program's
// result: every divergence is a failed check, not just a warning.
#pragma once

#include "platform/platform.h"
#include "program/scenario.h"

namespace iommusim::program {

// With the IOTLB in lockstep: compares the two IOTLBs' contents once more, adds the compared
// operations and divergences to the summary and fails the run on any divergence, naming the first.
// Does nothing for the other IOTLB kinds.
void check_lockstep(platform& p, scenario_log& log);

}  // namespace iommusim::program
