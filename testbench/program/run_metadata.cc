#include "program/run_metadata.h"

#include <nlohmann/json.hpp>

#include "program/config_file.h"

namespace iommusim::program {

const char* program_version() {
    return IOMMUSIM_VERSION;
}

namespace {

nlohmann::ordered_json run_block(const run_metadata& run) {
    using json = nlohmann::ordered_json;
    // "config" is in --config format: `jq .run.config` gives a file that reproduces the run.
    return {
        {"scenario", run.scenario},
        {"seed", run.config.seed},
        {"iotlb", run.config.iotlb},
        {"iotlb_source", run.iotlb_source},
        {"version", program_version()},
        {"command_line", run.command_line},
        {"config", json::parse(config_json(run.config))},
    };
}

}  // namespace

std::string stats_with_run_metadata(const std::string& stats_json, const run_metadata& run) {
    using json = nlohmann::ordered_json;
    json doc = json::object();
    doc["run"] = run_block(run);
    const json stats = json::parse(stats_json);
    for (const auto& [key, value] : stats.items()) {
        doc[key] = value;
    }
    return doc.dump();
}

std::string coverage_with_run_metadata(const std::string& points_json, const run_metadata& run) {
    using json = nlohmann::ordered_json;
    json doc = json::object();
    doc["format"] = "iommusim-coverage";
    doc["version"] = 1;
    doc["runs"] = json::array({run_block(run)});
    doc["points"] = json::parse(points_json);
    return doc.dump(1) + '\n';
}

}  // namespace iommusim::program
