#include "program/resolve_config.h"

#include <cstdlib>
#include <filesystem>

#include "platform/output_file.h"
#include "program/config_file.h"
#include "program/scenario.h"
#include "program/scenario_file.h"
#include "rtl/iotlb_factory.h"

namespace iommusim::program {

std::string resolve_config(const cli_options& opts, const std::string& scenario, platform_config& config,
                           std::string& iotlb_source) {
    platform_config next;  // its IOTLB kind is IOMMUSIM_IOTLB's, else the default
    const char* env = std::getenv("IOMMUSIM_IOTLB");
    iotlb_source = "default";
    if (env && *env) {
        if (!parse_iotlb_spec(env)) {
            return std::string("IOMMUSIM_IOTLB=") + env + " in the environment is not an IOTLB kind (" +
                   iotlb_spec_syntax + ")";
        }
        iotlb_source = "IOMMUSIM_IOTLB";
    }
    next.iommu.stale_check = true;  // the scenarios are about catching stale translations
    if (const program::scenario* sc = find_scenario(scenario); sc && sc->platform_defaults) {
        sc->platform_defaults(next);
    }
    if (!opts.config_file.empty()) {
        const std::string before = next.iotlb;
        if (std::string err = load_config_file(opts.config_file, next); !err.empty()) {
            return err;
        }
        if (next.iotlb != before) {
            iotlb_source = opts.config_file;
        }
    }
    if (opts.iotlb) {
        next.iotlb = *opts.iotlb;
        iotlb_source = "--iotlb";
    }
    if (opts.iotlb_replacement) {
        next.iotlb_replacement = *opts.iotlb_replacement;
    }
    if (opts.seed) {
        next.seed = *opts.seed;
    }
    // A scenario file's waves are named after the file (waves/random-remaps.vcd), not its path.
    const std::string stem =
        is_scenario_file_name(scenario) ? std::filesystem::path(scenario).stem().string() : scenario;
    if (opts.waves) {
        next.waves = opts.waves->empty() ? "waves/" + stem + ".vcd" : *opts.waves;
    }
    for (const auto& [name, value] : opts.params) {
        next.params[name] = value;
    }
    if (std::string err = next.validate(); !err.empty()) {
        return "bad configuration: " + err;
    }
    if (const program::scenario* sc = find_scenario(scenario)) {
        if (std::string err = check_scenario_params(*sc, next.params); !err.empty()) {
            return "bad parameter: " + err;
        }
    } else if (!next.params.empty()) {
        return "bad parameter: " + scenario + " takes no scenario parameters (--param, \"params\")";
    }
    // Outputs last: a refused configuration creates no directories.
    if (!next.waves.empty()) {
        if (std::string err = resolve_waves_file(next.waves, stem, next.waves); !err.empty()) {
            return (opts.waves ? "--waves: " : "waves: ") + err;
        }
    }
    if (!opts.stats_json.empty() && opts.stats_json != "-") {
        if (std::string err = prepare_output_file(opts.stats_json); !err.empty()) {
            return "--stats-json: " + err;
        }
    }
    if (!opts.coverage.empty()) {
        if (std::string err = prepare_output_file(opts.coverage); !err.empty()) {
            return "--coverage: " + err;
        }
    }
    config = next;
    return "";
}

}  // namespace iommusim::program
