#include "program/cli_options.h"

#include <cstddef>

#include "program/parse_number.h"
#include "program/plot.h"
#include "rtl/iotlb_factory.h"

namespace iommusim::program {

std::string cli_usage() {
    return R"(usage: iommusim [options] [SCENARIO]
       iommusim run [options] FILE.yaml   (a scenario file, see README "Scenario files")
       iommusim --list
       iommusim plot STATS.json OUT.png|OUT.svg|OUT.pdf
       iommusim exec [--config FILE] [--iotlb KIND] [--waves[=PATH]] [--stats-json PATH] [--seed N]
                     [-q] -- PROGRAM [ARGS...]
       iommusim iotlb-diff --iotlb KIND [--ops N] [--seed S] [--geometry SxW] [--waves PATH]
       iommusim iotlb-diff --replay FILE       (see iommusim iotlb-diff --help)
       iommusim regress [-j N] [--junit FILE] [--coverage FILE] [--out DIR] SCENARIO|FILE.yaml --seeds LIST
       iommusim regress --collect DIR [--junit FILE] [--coverage FILE]   (see iommusim regress --help)
       iommusim coverage merge A.json B.json ... -o ALL.json | report ALL.json [--html DIR]

Runs a scenario of the IOMMU nested-translation virtual platform: a VMM drives the iommufd/VFIO
API, the VT-d driver programs the simulated IOMMU, DMA devices translate through it.

options:
  -s, --scenario NAME     scenario to run (default: nested-invalidate; see --list), or a
                          scenario file NAME.yaml
  -l, --list              list the scenarios and the shipped scenario files, and exit
      --iotlb KIND        IOTLB implementation: cpp (default), rtl, lockstep, rtl:PATH,
                          lockstep:PATH (PATH: an RTL IOTLB plug-in, see README "Verify your
                          own IOTLB"); overrides the configuration file, which overrides
                          IOMMUSIM_IOTLB
      --iotlb-replacement R  tree-plru (default) or free: with lockstep, free lets the RTL
                          choose its own victims (hits must still be correct translations,
                          invalidations must drop what they cover; hit rates are reported)
      --waves[=PATH]      write a wave file and its GTKWave view (default waves/<scenario>.vcd;
                          PATH may be a directory; missing directories are created; a PATH
                          ending in .fst gets FST; with --iotlb rtl|lockstep the RTL IOTLB's
                          signals are merged in and also kept in <stem>_iotlb.fst)
      --stats-json PATH   write every counter and histogram, with the run's scenario, seed and
                          configuration, as JSON ("-": standard output, the rest goes to stderr)
      --coverage PATH     write the run's functional coverage (coverpoints and crosses, with the
                          run's metadata) as JSON; see iommusim coverage --help
      --param NAME=VALUE  a parameter of the scenario (--list shows each scenario's, with its
                          default and range; overrides the configuration's "params")
      --seed N            seed for the random scenarios (default 1; overrides the file's "seed")
      --config FILE       JSON configuration file (see README "Configuration")
  -q, --quiet             print only the result line and failure reports
  -v, --verbose           also print every operation: ioctls, DMAs, descriptors, faults
  -h, --help              this text

exec runs PROGRAM, unmodified, on the model: its open/ioctl/close/... of /dev/iommu and
/dev/vfio/devices/vfioN reach the platform (libiommusim-preload.so, LD_PRELOAD), with the
configuration, waves and statistics of a scenario run; a summary follows the program's exit
(-q: none). Its exit status is the program's (128+N when signal N ended it, 127 when it cannot run).

exit status: 0 when the scenario's checks passed, 1 when a check failed, 2 on bad usage (an unknown
flag, a bad value or configuration, an output path that cannot be written: checked before the run).
)";
}

std::optional<cli_options> parse_cli(const std::vector<std::string>& args, std::string& error) {
    cli_options o;
    bool scenario_given = false;
    auto value_of = [&](size_t& i, const std::string& flag, std::string& out) {
        const std::string& a = args[i];
        if (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0) {
            out = a.substr(flag.size() + 1);
            return true;
        }
        if (i + 1 >= args.size()) {
            error = "option " + flag + " needs a value";
            return false;
        }
        out = args[++i];
        return true;
    };
    auto is_flag = [](const std::string& a, const std::string& flag) {
        return a == flag || a.rfind(flag + "=", 0) == 0;
    };

    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string v;
        if (a == "-h" || a == "--help") {
            o.command = "help";
        } else if (a == "-l" || a == "--list") {
            o.command = "list";
        } else if (a == "-q" || a == "--quiet") {
            o.level = verbosity::quiet;
        } else if (a == "-v" || a == "--verbose") {
            o.level = verbosity::verbose;
        } else if (a == "-s" || is_flag(a, "--scenario")) {
            if (!value_of(i, a == "-s" ? "-s" : "--scenario", v)) {
                return std::nullopt;
            }
            o.scenario = v;
            scenario_given = true;
        } else if (is_flag(a, "--iotlb")) {
            if (!value_of(i, "--iotlb", v)) {
                return std::nullopt;
            }
            if (!parse_iotlb_spec(v)) {
                error = std::string("--iotlb must be ") + iotlb_spec_syntax + ", not '" + v + "'";
                return std::nullopt;
            }
            o.iotlb = v;
        } else if (is_flag(a, "--iotlb-replacement")) {
            if (!value_of(i, "--iotlb-replacement", v)) {
                return std::nullopt;
            }
            if (v != "tree-plru" && v != "free") {
                error = "--iotlb-replacement must be tree-plru or free, not '" + v + "'";
                return std::nullopt;
            }
            o.iotlb_replacement = v;
        } else if (a == "--waves") {
            o.waves = "";
        } else if (a.rfind("--waves=", 0) == 0) {
            o.waves = a.substr(8);
            if (o.waves->empty()) {
                error = "--waves= needs a path";
                return std::nullopt;
            }
        } else if (is_flag(a, "--stats-json")) {
            if (!value_of(i, "--stats-json", v)) {
                return std::nullopt;
            }
            o.stats_json = v;
        } else if (is_flag(a, "--param")) {
            if (!value_of(i, "--param", v)) {
                return std::nullopt;
            }
            const std::size_t eq = v.find('=');
            uint64_t value = 0;
            if (eq == std::string::npos || eq == 0 || !parse_u64(v.substr(eq + 1), value)) {
                error = "--param needs NAME=VALUE with a non-negative integer VALUE, not '" + v + "'";
                return std::nullopt;
            }
            o.params[v.substr(0, eq)] = value;
        } else if (is_flag(a, "--coverage")) {
            if (!value_of(i, "--coverage", v)) {
                return std::nullopt;
            }
            o.coverage = v;
        } else if (is_flag(a, "--config")) {
            if (!value_of(i, "--config", v)) {
                return std::nullopt;
            }
            o.config_file = v;
        } else if (is_flag(a, "--seed")) {
            if (!value_of(i, "--seed", v)) {
                return std::nullopt;
            }
            uint64_t seed = 0;
            if (!parse_u64(v, seed)) {
                error = "--seed needs a non-negative integer, not '" + v + "'";
                return std::nullopt;
            }
            o.seed = seed;
        } else if (a == "plot" && i == 0) {
            o.command = "plot";
            o.plot_args.assign(args.begin() + 1, args.end());
            if (o.plot_args.size() != 2) {
                error = "plot needs exactly two arguments: STATS.json OUT.png|OUT.svg|OUT.pdf";
                return std::nullopt;
            }
            if (!plot_terminal_for(o.plot_args[1])) {
                error = "plot writes PNG, SVG or PDF as the output's extension says: '" + o.plot_args[1] +
                        "' ends in none of .png, .svg, .pdf";
                return std::nullopt;
            }
            return o;
        } else if (a == "run" && i == 0) {
            // `run FILE.yaml`: a scenario file (or a built-in scenario) as the positional argument.
            o.command = "run";
        } else if (a == "exec" && i == 0) {
            o.command = "exec";
        } else if (a == "--" && o.command == "exec") {
            o.exec_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            if (o.exec_args.empty()) {
                error = "exec needs a program after --";
                return std::nullopt;
            }
            if (o.stats_json == "-") {
                error = "exec cannot write the statistics to standard output (the program's): give a file";
                return std::nullopt;
            }
            return o;
        } else if (!a.empty() && a[0] == '-') {
            error = "unknown option '" + a + "'";
            return std::nullopt;
        } else if (o.command == "exec") {
            error = "exec runs the program given after -- (exec [options] -- PROGRAM [ARGS...]), not '" + a + "'";
            return std::nullopt;
        } else {
            if (scenario_given) {
                error = "more than one scenario given ('" + o.scenario + "' and '" + a + "')";
                return std::nullopt;
            }
            o.scenario = a;
            scenario_given = true;
        }
    }
    if (o.command == "exec") {
        error = "exec needs -- and a program (exec [options] -- PROGRAM [ARGS...])";
        return std::nullopt;
    }
    return o;
}

}  // namespace iommusim::program
