// `iommusim iotlb-diff`: the differential random test of an IOTLB against the C++ reference
// (program/iotlb_diff.h) from the command line, and the replay of a reproducer file.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "program/iotlb_diff.h"

namespace iommusim::program {

std::string iotlb_diff_usage();

// Runs `iommusim iotlb-diff ARGS` (args without the program name and "iotlb-diff"). Exit status:
// 0 no divergence, 1 a divergence or protocol violation, 2 bad usage.
int iotlb_diff_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// The same with the IOTLB under test built by `dut` whatever --iotlb says (tests of the tool on
// IOTLBs no factory builds).
int iotlb_diff_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const iotlb_maker& dut);

}  // namespace iommusim::program
