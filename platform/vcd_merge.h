// Merges two VCD files into one on a common time axis, so GTKWave shows the platform's
// transaction-level signals and the RTL IOTLB's signals in one view. Both inputs must already be
// in simulated time (the RTL waves are; see rtl/rtl_iotlb.h); the output uses the finer of the two
// timescales, keeps every scope of both files and renames the second file's identifier codes
// where they would collide.
#pragma once

#include <string>

namespace iommusim {

// Returns "" on success, else a message naming the file and the problem (the output is then not
// written).
std::string merge_vcd(const std::string& first, const std::string& second, const std::string& out);

}  // namespace iommusim
