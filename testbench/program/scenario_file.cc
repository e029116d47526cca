// Scenario files as scenarios: read once, kept by path, their platform and seed as defaults.
#include "program/scenario_file.h"

#include <deque>
#include <fstream>
#include <sstream>

#include "program/config_file.h"

namespace iommusim::program {

namespace {

std::deque<scenario>& loaded() {
    static std::deque<scenario> list;  // a deque: pointers handed out stay valid
    return list;
}

}  // namespace

scenario scenario_from_document(std::shared_ptr<const scenario_document> doc) {
    scenario sc;
    sc.name = doc->path;
    sc.summary = doc->description.empty() ? doc->name : doc->name + ": " + doc->description;
    sc.run = [doc](scenario_log& log, const cli_options&) {
        log.step("scenario file " + doc->path + ": " + doc->name);
        run_scenario_document(*doc, log);
    };
    sc.platform_defaults = [doc](platform_config& config) {
        if (!doc->platform_json.empty()) {
            // Checked when the file was read (parse_scenario_document); a later --config may differ.
            apply_config_json(doc->platform_json, config);
        }
        if (doc->seed) {
            config.seed = *doc->seed;
        }
    };
    return sc;
}

const scenario* loaded_scenario_file(const std::string& path) {
    for (const scenario& sc : loaded()) {
        if (sc.name == path) {
            return &sc;
        }
    }
    return nullptr;
}

const scenario* load_scenario_file(const std::string& path, std::string& error) {
    if (const scenario* sc = loaded_scenario_file(path)) {
        return sc;
    }
    std::ifstream in(path);
    if (!in) {
        error = "cannot read scenario file " + path;
        return nullptr;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto doc = std::make_shared<scenario_document>();
    if (error = parse_scenario_document(text.str(), path, *doc); !error.empty()) {
        return nullptr;
    }
    loaded().push_back(scenario_from_document(std::move(doc)));
    return &loaded().back();
}

}  // namespace iommusim::program
