#include "program/run_metadata.h"

#include <nlohmann/json.hpp>

#include "program/config_file.h"

namespace iommusim::program {

const char* program_version() {
    return IOMMUSIM_VERSION;
}

std::string stats_with_run_metadata(const std::string& stats_json, const run_metadata& run) {
    using json = nlohmann::ordered_json;
    json doc = json::object();
    // "config" is in --config format: `jq .run.config` gives a file that reproduces the run.
    doc["run"] = {
        {"scenario", run.scenario},
        {"seed", run.config.seed},
        {"iotlb", run.config.iotlb},
        {"iotlb_source", run.iotlb_source},
        {"version", program_version()},
        {"command_line", run.command_line},
        {"config", json::parse(config_json(run.config))},
    };
    const json stats = json::parse(stats_json);
    for (const auto& [key, value] : stats.items()) {
        doc[key] = value;
    }
    return doc.dump();
}

}  // namespace iommusim::program
