// The GTKWave view of the RTL IOTLB's waves (rtl/iotlb.sv ports and controller state), for one
// verilated geometry: the set, way and count fields are as wide as that geometry makes them.
// The platform writes it beside each run's <stem>_iotlb.fst; waves/iotlb.gtkw is this view for the
// program's default 64 x 4 geometry (a test keeps the two equal).
#pragma once

#include <cstdint>
#include <string>

#include "tlm/iotlb_if.h"

namespace iommusim {

// `fst`: the dump file the view opens ("" for none); the view opens zoomed to [begin_ps, end_ps]
// (the whole file when both are 0). `filter_dir`: where the iotlb_*.txt translate filters are.
std::string rtl_iotlb_view(const std::string& fst, iotlb_geometry geometry, uint64_t begin_ps, uint64_t end_ps,
                           const std::string& filter_dir);

}  // namespace iommusim
