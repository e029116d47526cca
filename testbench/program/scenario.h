// Scenarios of the iommusim program. Each is written against the public iommufd/VFIO API (through
// vmm), like a VMM would be, and checks its own outcome.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "platform/platform_config.h"
#include "program/cli_options.h"

namespace iommusim::program {

// A stop signal came in (platform/stop_signal.h); thrown at the next safe point of a scenario.
class run_interrupted : public std::runtime_error {
  public:
    explicit run_interrupted(int signal);
    int signal() const { return m_signal; }

  private:
    int m_signal;
};

class scenario_log {
  public:
    scenario_log(std::ostream& out, verbosity level) : m_out(out), m_level(level) {}
    // One line of the narrative (normal and verbose).
    void step(const std::string& text);
    // Detail shown only with --verbose.
    void detail(const std::string& text);
    // A check of the narrative: prints ok (normal and verbose) or FAILED (always), remembers failures.
    bool expect(bool condition, const std::string& what);
    // A check repeated per operation (a round of a stream): ok only with --verbose, FAILED always.
    bool expect_each(bool condition, const std::string& what);
    // A line of a failure report (the stale-translation checker's findings): printed even with --quiet.
    void report(const std::string& text);
    // A safe point between steps (no CPU job running): throws run_interrupted once SIGINT or
    // SIGTERM has come in, so the program can finish its output files.
    void checkpoint() const;
    unsigned checks_passed() const { return m_passed; }
    bool failed() const { return !m_failures.empty(); }
    const std::vector<std::string>& failures() const { return m_failures; }
    void summary_row(const std::string& key, const std::string& value) { m_summary.emplace_back(key, value); }
    const std::vector<std::pair<std::string, std::string>>& summary() const { return m_summary; }
    std::ostream& out() const { return m_out; }
    verbosity level() const { return m_level; }

  private:
    bool check(bool condition, const std::string& what, verbosity ok_from);
    std::ostream& m_out;
    verbosity m_level;
    std::vector<std::string> m_failures;
    unsigned m_passed = 0;
    std::vector<std::pair<std::string, std::string>> m_summary;
};

// Prints the run's RESULT line on the log's stream; returns the exit status (0 passed, 1 failed).
int print_result(const scenario_log& log);

// A parameter of a scenario (--param NAME=VALUE, the configuration's "params"): its default and the
// values it takes.
struct scenario_param {
    std::string name;
    uint64_t default_value;
    uint64_t min;
    uint64_t max;
    std::string help;
};

struct scenario {
    std::string name;
    std::string summary;
    std::function<void(scenario_log&, const cli_options&)> run;  // failures go through log.expect
    std::vector<scenario_param> params;
    // Platform settings the scenario needs, applied before the configuration file (which may
    // still change them); empty: none.
    std::function<void(platform_config&)> platform_defaults;
};

// "" when every parameter in `params` is one of the scenario's and in its range, else a message
// naming the first that is not (and what the scenario takes).
std::string check_scenario_params(const scenario& sc, const std::map<std::string, uint64_t>& params);
// Parameter `name` of `sc` as the configuration sets it, else its default.
uint64_t param_value(const scenario& sc, const platform_config& config, const std::string& name);

const std::vector<scenario>& all_scenarios();
// A built-in scenario, or a scenario file loaded before (program/scenario_file.h), by name.
const scenario* find_scenario(const std::string& name);

// Scenario bodies (one file each).
void run_nested_invalidate(scenario_log& log, const cli_options& opts);
void run_missing_invalidation(scenario_log& log, const cli_options& opts);
void run_invalidation_storm(scenario_log& log, const cli_options& opts);
void run_fault_injection(scenario_log& log, const cli_options& opts);
void run_dirty_tracking(scenario_log& log, const cli_options& opts);
void run_iopf(scenario_log& log, const cli_options& opts);

}  // namespace iommusim::program
