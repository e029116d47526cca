// iommusim: runs a scenario of the nested-translation virtual platform (see --help).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "platform/platform.h"
#include "platform/stop_signal.h"
#include "program/cli_options.h"
#include "program/config_file.h"
#include "program/plot.h"
#include "program/scenario.h"

using namespace iommusim;
using namespace iommusim::program;

namespace {

int list_scenarios() {
    for (const scenario& s : all_scenarios())
        std::cout << std::left << std::setw(22) << s.name << s.summary << '\n';
    return 0;
}

void print_summary(const scenario_log& log, const std::string& name) {
    std::cout << "\nsummary of " << name << '\n';
    for (const auto& [key, value] : log.summary())
        std::cout << "  " << std::left << std::setw(40) << key << value << '\n';
}

}  // namespace

int main(int argc, char** argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);  // keep the output ours
    std::string error;
    const auto opts = parse_cli(std::vector<std::string>(argv + 1, argv + argc), error);
    if (!opts) {
        std::cerr << "iommusim: " << error << "\n(see iommusim --help)\n";
        return 2;
    }
    if (opts->command == "help") {
        std::cout << cli_usage();
        return 0;
    }
    if (opts->command == "list")
        return list_scenarios();
    if (opts->command == "plot") {
        error = plot_stats(opts->plot_args[0], opts->plot_args[1]);
        if (!error.empty()) {
            std::cerr << "iommusim plot: " << error << '\n';
            return 1;
        }
        std::cout << "wrote " << opts->plot_args[1] << '\n';
        return 0;
    }

    const scenario* sc = find_scenario(opts->scenario);
    if (!sc) {
        std::cerr << "iommusim: unknown scenario '" << opts->scenario << "' (see iommusim --list)\n";
        return 2;
    }

    platform_config config;
    config.iommu.stale_check = true;  // the scenarios are about catching stale translations
    if (!opts->config_file.empty()) {
        error = load_config_file(opts->config_file, config);
        if (!error.empty()) {
            std::cerr << "iommusim: " << error << '\n';
            return 2;
        }
    }
    config.iotlb = opts->iotlb;
    if (opts->waves)
        config.waves = opts->waves->empty() ? "waves/" + sc->name + ".vcd" : *opts->waves;
    config.seed = opts->seed;
    if (!platform::configure(config, &error)) {
        std::cerr << "iommusim: bad configuration: " << error << '\n';
        return 2;
    }

    // From here on SIGINT/SIGTERM stop the run at the next safe point and the outputs are finished.
    if (const std::string hook_error = install_stop_signal_handlers(); !hook_error.empty())
        std::cerr << "iommusim: " << hook_error << '\n';

    // Bring the platform up first: a driver probe that refuses the configured hardware is reported,
    // not thrown through the scenario.
    try {
        platform::instance();
    } catch (const std::exception& e) {
        std::cerr << "iommusim: the platform did not come up: " << e.what() << '\n';
        return 1;
    }

    const bool quiet = opts->level == verbosity::quiet;
    if (!quiet)
        std::cout << "iommusim: scenario " << sc->name << " (IOTLB: " << config.iotlb << ")\n";
    scenario_log log(std::cout, opts->level);
    try {
        sc->run(log, *opts);
    } catch (const run_interrupted&) {
        // Stopped between steps; the outputs below are finished for the part that ran.
    } catch (const std::exception& e) {
        log.expect(false, std::string("scenario aborted: ") + e.what());
    }

    platform& p = platform::instance();
    p.finish();
    if (!quiet)
        print_summary(log, sc->name);
    if (!opts->stats_json.empty()) {
        std::ofstream out(opts->stats_json);
        out << p.stats_json() << '\n';
        if (!out) {
            std::cerr << "iommusim: cannot write " << opts->stats_json << '\n';
            return 1;
        }
        if (!quiet)
            std::cout << "statistics written to " << opts->stats_json << '\n';
    }
    if (!config.waves.empty() && !quiet)
        std::cout << "waves written to " << config.waves << '\n';
    if (const int signal = stop_signal()) {
        std::cout << "RESULT: INTERRUPTED by " << stop_signal_name(signal) << " at simulated time " << p.now_ns()
                  << " ns, after " << cpu_jobs_done() << " CPU jobs (ioctls and DMAs), " << log.checks_passed()
                  << " passed and " << log.failures().size()
                  << " failed check(s); the outputs are complete up to there\n";
        return 128 + signal;
    }
    if (log.failed()) {
        std::cout << "RESULT: FAILED (" << log.failures().size() << " check(s) failed)\n";
        return 1;
    }
    std::cout << "RESULT: PASSED\n";
    return 0;
}
