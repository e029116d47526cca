// Command-line options of the iommusim program.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace iommusim::program {

enum class verbosity { quiet, normal, verbose };

struct cli_options {
    std::string command = "run";                 // run, list, plot, exec, help
    std::string scenario = "nested-invalidate";  // scenario to run
    // Settings left unset here come from the configuration file, then the environment, then the
    // default (main.cc resolves them).
    std::optional<std::string> iotlb;              // cpp, rtl, lockstep
    std::optional<std::string> iotlb_replacement;  // tree-plru, free
    std::optional<std::string> waves;              // wave file path or directory; "" = default name under waves/
    std::string stats_json;                        // write statistics here ("" = do not, "-" = standard output)
    std::string coverage;                          // write functional coverage here ("" = do not)
    std::string config_file;                       // JSON configuration file
    std::optional<uint64_t> seed;                  // seed for random scenarios
    std::map<std::string, uint64_t> params;        // --param NAME=VALUE: scenario parameters
    verbosity level = verbosity::normal;
    std::vector<std::string> plot_args;  // plot: STATS.json OUT.png
    std::vector<std::string> exec_args;  // exec: PROGRAM [ARGS...] (after "--")
};

// Parses argv. On a bad flag returns nullopt and sets `error` to a message naming it.
std::optional<cli_options> parse_cli(const std::vector<std::string>& args, std::string& error);

std::string cli_usage();

}  // namespace iommusim::program
