// Command-line options of the iommusim program.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iommusim::program {

enum class verbosity { quiet, normal, verbose };

struct cli_options {
    std::string command = "run";                 // run, list, plot, help
    std::string scenario = "nested-invalidate";  // scenario to run
    std::string iotlb = "cpp";                   // cpp, rtl, lockstep
    std::optional<std::string> waves;            // wave file path; "" = default name under waves/
    std::string stats_json;                      // write statistics here ("" = do not)
    std::string config_file;                     // JSON configuration file
    uint64_t seed = 1;                           // seed for random scenarios
    verbosity level = verbosity::normal;
    std::vector<std::string> plot_args;  // plot: STATS.json OUT.png
};

// Parses argv. On a bad flag returns nullopt and sets `error` to a message naming it.
std::optional<cli_options> parse_cli(const std::vector<std::string>& args, std::string& error);

std::string cli_usage();

}  // namespace iommusim::program
