// Per-operation detail for --verbose: every call a scenario's VMM makes, with its result, the
// invalidation descriptors the driver queued for it and the faults the IOMMU recorded meanwhile.
#pragma once

#include "program/scenario.h"
#include "program/vmm.h"

namespace iommusim::program {

// Makes `v` narrate its calls into `log` as detail lines (a no-op below --verbose).
void trace_operations(vmm& v, scenario_log& log);

}  // namespace iommusim::program
