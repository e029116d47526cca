// The "run" block of the statistics JSON: everything a result is reproduced from (scenario, seed,
// IOTLB kind, the resolved configuration, program version, command line).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/platform_config.h"

namespace iommusim::program {

struct run_metadata {
    std::string scenario;
    std::string iotlb_source;               // where the IOTLB kind came from (flag, file, environment, default)
    std::vector<std::string> command_line;  // argv, program name first
    platform_config config;                 // as the platform ran it
};

// `stats_json` (platform::stats_json) with {"run": {...}} placed first. Throws on malformed input.
std::string stats_with_run_metadata(const std::string& stats_json, const run_metadata& run);

// A functional coverage file: {"format": "iommusim-coverage", "version": 1, "runs": [run block],
// "points": `points_json`} (iommu::coverage_json, program/coverage_data.h reads it back). Throws on
// malformed input.
std::string coverage_with_run_metadata(const std::string& points_json, const run_metadata& run);

// The program's version (the CMake project version).
const char* program_version();

}  // namespace iommusim::program
