// `iommusim coverage merge A.json B.json ... -o ALL.json` and `iommusim coverage report ALL.json
// [--html DIR]`: the functional coverage files of runs (program/coverage_data.h) merged and reported.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace iommusim::program {

std::string coverage_usage();

// Runs `iommusim coverage ARGS` (args after "coverage"). Exit status: 0 done, 2 bad usage or a file
// that cannot be read or written (nothing is written then).
int coverage_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Merges the coverage files `inputs` into `output` (written whole or not at all); "" or a message.
std::string merge_coverage_files(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace iommusim::program
