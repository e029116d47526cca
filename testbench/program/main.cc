// The iommusim program (see --help), callable from a user's own main (program/program_main.h).
#include "program/program_main.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "platform/output_file.h"
#include "platform/platform.h"
#include "platform/stop_signal.h"
#include "program/cli_options.h"
#include "program/coverage_command.h"
#include "program/coverage_data.h"
#include "program/exec_command.h"
#include "program/iotlb_diff_command.h"
#include "program/lockstep_check.h"
#include "program/plot.h"
#include "program/regress_command.h"
#include "program/resolve_config.h"
#include "program/run_metadata.h"
#include "program/scenario.h"
#include "program/scenario_file.h"
#include "program/shipped_scenarios.h"

namespace iommusim::program {

namespace {

int list_scenarios() {
    for (const scenario& s : all_scenarios()) {
        std::cout << std::left << std::setw(22) << s.name << s.summary << '\n';
        for (const scenario_param& p : s.params) {
            std::cout << "    --param " << std::left << std::setw(26)
                      << (p.name + "=" + std::to_string(p.default_value)) << p.help << " (" << p.min << ".." << p.max
                      << ")\n";
        }
    }
    list_shipped_scenario_files(std::cout);
    return 0;
}

void print_summary(std::ostream& out, const scenario_log& log, const std::string& name) {
    out << "\nsummary of " << name << '\n';
    for (const auto& [key, value] : log.summary()) {
        out << "  " << std::left << std::setw(40) << key << value << '\n';
    }
}

}  // namespace

int program_main(int argc, char** argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);  // keep the output ours
    if (argc > 1 && std::string(argv[1]) == "iotlb-diff") {
        return iotlb_diff_main(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
    }
    if (argc > 1 && std::string(argv[1]) == "regress") {
        // The seeds run with this very executable, wherever the regression was started from.
        std::error_code ec;
        const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
        return regress_main(std::vector<std::string>(argv + 2, argv + argc), ec ? argv[0] : self.string(), std::cout,
                            std::cerr);
    }
    if (argc > 1 && std::string(argv[1]) == "coverage") {
        return coverage_main(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
    }
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
    if (opts->command == "list") {
        return list_scenarios();
    }
    if (opts->command == "exec") {
        return exec_program(*opts);
    }
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
    if (!sc && is_scenario_file_name(opts->scenario)) {
        sc = load_scenario_file(find_scenario_file(opts->scenario), error);
        if (!sc) {
            std::cerr << "iommusim: " << error << '\n';
            return 2;
        }
    }
    if (!sc) {
        std::cerr << "iommusim: unknown scenario '" << opts->scenario << "' (see iommusim --list)\n";
        return 2;
    }

    platform_config config;
    std::string iotlb_source;
    error = resolve_config(*opts, sc->name, config, iotlb_source);
    if (error.empty() && !platform::configure(config, &error)) {
        error = "bad configuration: " + error;
    }
    if (!error.empty()) {
        std::cerr << "iommusim: " << error << '\n';
        return 2;
    }

    // With the statistics on standard output, everything else goes to standard error.
    const bool stats_to_stdout = opts->stats_json == "-";
    std::ostream& out = stats_to_stdout ? std::cerr : std::cout;
    // From here on SIGINT/SIGTERM stop the run at the next safe point and the outputs are finished.
    if (const std::string hook_error = install_stop_signal_handlers(); !hook_error.empty()) {
        std::cerr << "iommusim: " << hook_error << '\n';
    }

    // Bring the platform up first: a driver probe that refuses the configured hardware is reported,
    // not thrown through the scenario.
    try {
        platform::instance();
    } catch (const std::exception& e) {
        std::cerr << "iommusim: the platform did not come up: " << e.what() << '\n';
        return 1;
    }

    const bool quiet = opts->level == verbosity::quiet;
    if (!quiet) {
        out << "iommusim: scenario " << sc->name << ", IOTLB " << config.iotlb << " (from " << iotlb_source
            << "), seed " << config.seed << '\n';
    }
    scenario_log log(out, opts->level);
    try {
        sc->run(log, *opts);
    } catch (const run_interrupted&) {
        // Stopped between steps; the outputs below are finished for the part that ran.
    } catch (const std::exception& e) {
        log.expect(false, std::string("scenario aborted: ") + e.what());
    }

    platform& p = platform::instance();
    check_lockstep(p, log);
    p.finish();
    if (!quiet) {
        print_summary(out, log, sc->name);
    }
    if (!opts->stats_json.empty()) {
        run_metadata run{sc->name, iotlb_source, std::vector<std::string>(argv, argv + argc), p.config()};
        std::string text;
        try {
            text = stats_with_run_metadata(p.stats_json(), run) + '\n';
        } catch (const std::exception& e) {
            std::cerr << "iommusim: the statistics are not valid JSON: " << e.what() << '\n';
            return 1;
        }
        if (stats_to_stdout) {
            std::cout << text << std::flush;
        } else if (error = write_output_file(opts->stats_json, text); !error.empty()) {
            std::cerr << "iommusim: --stats-json: " << error << '\n';
            return 2;
        } else if (!quiet) {
            out << "statistics written to " << opts->stats_json << '\n';
        }
    }
    if (!opts->coverage.empty()) {
        const run_metadata run{sc->name, iotlb_source, std::vector<std::string>(argv, argv + argc), p.config()};
        if (error = write_output_file(opts->coverage, coverage_with_run_metadata(run_coverage_points(p), run));
            !error.empty()) {
            std::cerr << "iommusim: --coverage: " << error << '\n';
            return 2;
        }
        if (!quiet) {
            out << "coverage written to " << opts->coverage << '\n';
        }
    }
    if (!p.config().waves.empty() && !quiet) {
        out << "waves written to " << p.config().waves << '\n';
    }
    if (const int signal = stop_signal()) {
        out << "RESULT: INTERRUPTED by " << stop_signal_name(signal) << " at simulated time " << p.now_ns()
            << " ns, after " << cpu_jobs_done() << " CPU jobs (ioctls and DMAs), " << log.checks_passed()
            << " passed and " << log.failures().size() << " failed check(s); the outputs are complete up to there\n";
        return 128 + signal;
    }
    return print_result(log);
}

}  // namespace iommusim::program
