#include "program/regress_command.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>
#include <thread>

#include "platform/output_file.h"
#include "platform/stop_signal.h"
#include "program/cli_options.h"
#include "program/coverage_command.h"
#include "program/parse_number.h"
#include "program/regress_report.h"
#include "program/resolve_config.h"
#include "program/scenario.h"
#include "program/scenario_file.h"
#include "program/seed_set.h"

namespace iommusim::program {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::string regress_usage() {
    return R"(usage: iommusim regress [options] [run options] SCENARIO --seeds LIST
       iommusim regress --collect DIR [--junit FILE] [--coverage FILE]
Runs SCENARIO once per seed, each in its own process, and reports every seed that failed with
the command that reruns it.
  --seeds LIST        the seeds: 1-200, 7, 1,5,9-12 (ranges inclusive)
  -j, --jobs N        seeds running at once (default: the number of CPUs)
  --out DIR           each seed's log, statistics and record (default regress/SCENARIO)
  --junit FILE        write JUnit XML, one testcase per seed
  --coverage FILE     merge the functional coverage of every seed into FILE
  --emit-commands     print one command per seed instead of running them (each runs its seed and
                      writes its record into DIR); then iommusim regress --collect DIR
  --collect DIR       report on the seeds of DIR's plan from the records found there
run options, given to every seed's run: --iotlb KIND, --iotlb-replacement R, --config FILE,
                     --param NAME=VALUE
exit status: 0 every seed passed, 1 a seed failed or left no record, 2 bad usage,
130/143 stopped by SIGINT/SIGTERM (the seeds running then are finished, the rest not started).
)";
}

namespace {

struct regress_options {
    std::string scenario;
    std::string seeds_text;
    std::vector<uint64_t> seeds;
    unsigned jobs = 0;
    std::string out_dir;
    std::string junit;
    std::string coverage;
    std::string collect_dir;
    bool emit_commands = false;
    std::vector<std::string> run_args;
};

// Splits regress's own flags from the run options, which parse_cli then checks like a run's.
std::string parse_regress(const std::vector<std::string>& args, regress_options& o) {
    std::vector<std::string> run_words;
    std::string jobs_text;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string* target = nullptr;
        std::string flag = a;
        if (const std::size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            flag = a.substr(0, eq);
        }
        if (flag == "--seeds") {
            target = &o.seeds_text;
        } else if (flag == "-j" || flag == "--jobs") {
            target = &jobs_text;
        } else if (flag == "--out") {
            target = &o.out_dir;
        } else if (flag == "--junit") {
            target = &o.junit;
        } else if (flag == "--coverage") {
            target = &o.coverage;
        } else if (flag == "--collect") {
            target = &o.collect_dir;
        } else if (a == "--emit-commands") {
            o.emit_commands = true;
            continue;
        } else if (a.size() > 2 && a.rfind("-j", 0) == 0 && a[2] != '-') {
            jobs_text = a.substr(2);  // -j4
            continue;
        } else {
            run_words.push_back(a);
            continue;
        }
        if (flag != a) {
            *target = a.substr(flag.size() + 1);
        } else if (i + 1 < args.size()) {
            *target = args[++i];
        } else {
            return "option " + a + " needs a value";
        }
        if (target->empty()) {
            return "option " + flag + " needs a value";
        }
    }
    if (!jobs_text.empty()) {
        uint64_t jobs = 0;
        if (!parse_u64(jobs_text, jobs) || jobs == 0 || jobs > 1024) {
            return "--jobs needs a number of processes from 1 to 1024, not '" + jobs_text + "'";
        }
        o.jobs = static_cast<unsigned>(jobs);
    }
    if (!o.collect_dir.empty()) {
        if (!run_words.empty() || !o.seeds_text.empty() || o.emit_commands || !o.out_dir.empty() || o.jobs) {
            return "--collect DIR takes only --junit FILE and --coverage FILE";
        }
        return "";
    }
    if (std::string error = parse_seed_set(o.seeds_text, o.seeds); !error.empty()) {
        return error;
    }
    std::string error;
    const auto run = parse_cli(run_words, error);
    if (!run) {
        return error;
    }
    if (run->command != "run") {
        return "regress runs a scenario: '" + run->command + "' is not a run option";
    }
    if (run->seed) {
        return "--seed: regress gives each run its seed (use --seeds LIST)";
    }
    if (!run->stats_json.empty() || run->waves) {
        return "--stats-json and --waves are per run: regress writes each seed's statistics to its --out directory";
    }
    if (!run->coverage.empty()) {
        return "--coverage: given to regress it names the merged file";
    }
    if (run->level != verbosity::normal) {
        return "--quiet/--verbose: regress keeps each seed's output in its log (seed-N.log)";
    }
    if (!find_scenario(run->scenario)) {
        if (!is_scenario_file_name(run->scenario)) {
            return "unknown scenario '" + run->scenario + "' (see iommusim --list)";
        }
        if (!load_scenario_file(run->scenario, error)) {
            return error;
        }
    }
    // The configuration every seed will run with must be sound before any seed starts.
    platform_config config;
    std::string iotlb_source;
    if (error = resolve_config(*run, run->scenario, config, iotlb_source); !error.empty()) {
        return error;
    }
    o.scenario = run->scenario;
    if (run->iotlb) {
        o.run_args.insert(o.run_args.end(), {"--iotlb", *run->iotlb});
    }
    if (run->iotlb_replacement) {
        o.run_args.insert(o.run_args.end(), {"--iotlb-replacement", *run->iotlb_replacement});
    }
    if (!run->config_file.empty()) {
        o.run_args.insert(o.run_args.end(), {"--config", run->config_file});
    }
    for (const auto& [name, value] : run->params) {
        o.run_args.insert(o.run_args.end(), {"--param", name + "=" + std::to_string(value)});
    }
    if (o.out_dir.empty()) {
        // A scenario file's results go under its stem (regress/random-remaps), not its path.
        const fs::path stem = is_scenario_file_name(o.scenario) ? fs::path(o.scenario).stem() : fs::path(o.scenario);
        o.out_dir = (fs::path("regress") / stem).string();
    }
    if (o.jobs == 0) {
        o.jobs = std::max(1u, std::thread::hardware_concurrency());
    }
    return "";
}

std::vector<std::string> run_command(const std::string& program, const regress_options& o, uint64_t seed,
                                     bool for_rerun) {
    std::vector<std::string> argv{program};
    argv.insert(argv.end(), o.run_args.begin(), o.run_args.end());
    if (!for_rerun) {
        argv.insert(argv.end(), {"--quiet", "--stats-json", seed_stats_path(o.out_dir, seed), "--coverage",
                                 seed_coverage_path(o.out_dir, seed)});
    }
    argv.insert(argv.end(), {"--seed", std::to_string(seed), o.scenario});
    return argv;
}

std::string duration_text(double seconds) {
    const auto s = static_cast<uint64_t>(seconds + 0.5);
    std::ostringstream t;
    if (s >= 3600) {
        t << s / 3600 << 'h' << std::setw(2) << std::setfill('0') << s % 3600 / 60 << 'm';
    } else if (s >= 60) {
        t << s / 60 << 'm' << std::setw(2) << std::setfill('0') << s % 60 << 's';
    } else {
        t << std::fixed << std::setprecision(seconds < 10 ? 1 : 0) << seconds << 's';
    }
    return t.str();
}

// Starts one seed's run with its output going to its log. Returns the pid, or -1 with `error`.
pid_t start_seed(const std::vector<std::string>& argv, const std::string& log, std::string& error) {
    std::vector<char*> cargv;
    for (const std::string& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        error = log + ": " + std::strerror(errno);
        return -1;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        ::close(log_fd);
        return -1;
    }
    if (pid == 0) {
        // Its own process group: a Ctrl-C reaches only the regression, which passes it on once
        // (a second signal would end a run at once instead of at its next safe point).
        ::setpgid(0, 0);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::execv(cargv[0], cargv.data());
        const std::string msg =
            std::string("iommusim regress: cannot run ") + cargv[0] + ": " + std::strerror(errno) + "\n";
        (void)!::write(2, msg.data(), msg.size());
        ::_exit(127);
    }
    ::close(log_fd);
    return pid;
}

seed_outcome finish_seed(const regress_options& o, const std::string& program, uint64_t seed, int wait_status,
                         double seconds) {
    seed_outcome r;
    r.seed = seed;
    r.seconds = seconds;
    if (WIFSIGNALED(wait_status)) {
        r.signal = WTERMSIG(wait_status);
    } else {
        r.exit_status = WEXITSTATUS(wait_status);
    }
    r.log = seed_log_path(o.out_dir, seed);
    std::ifstream in(r.log);
    std::ostringstream text;
    text << in.rdbuf();
    r.result = result_line(text.str());
    r.rerun = shell_command(run_command(program, o, seed, true));
    return r;
}

void print_failure(std::ostream& err, const seed_outcome& r) {
    err << "seed " << r.seed << " FAILED ";
    if (r.signal) {
        err << "(ended by signal " << r.signal << ")";
    } else {
        err << "(exit status " << r.exit_status << ")";
    }
    if (!r.result.empty()) {
        err << ": " << r.result;
    }
    err << "\n  rerun: " << r.rerun << "\n  log:   " << r.log << '\n';
}

// The totals and the rerun line of every failing seed; returns the exit status.
int report(std::ostream& out, const std::string& what, const std::vector<seed_outcome>& outcomes,
           const std::vector<uint64_t>& missing, double seconds) {
    unsigned passed = 0;
    unsigned interrupted = 0;
    std::vector<const seed_outcome*> failed;
    for (const seed_outcome& r : outcomes) {
        if (r.passed()) {
            ++passed;
        } else if (r.interrupted()) {
            ++interrupted;
        } else {
            failed.push_back(&r);
        }
    }
    out << "regress: " << what << ": " << outcomes.size() + missing.size() << " seeds, " << passed << " passed, "
        << failed.size() << " failed";
    if (interrupted) {
        out << ", " << interrupted << " interrupted";
    }
    if (!missing.empty()) {
        out << ", " << missing.size() << " without a record";
    }
    if (seconds > 0) {
        out << ", in " << duration_text(seconds);
    }
    out << '\n';
    for (const seed_outcome* r : failed) {
        print_failure(out, *r);
    }
    if (!missing.empty()) {
        out << "seeds without a record (never ran, or their host stopped):";
        for (const uint64_t s : missing) {
            out << ' ' << s;
        }
        out << '\n';
    }
    return failed.empty() && missing.empty() ? 0 : 1;
}

// The coverage of the seeds that ran, merged into `path`.
std::string write_merged_coverage(const std::string& path, const std::string& dir,
                                  const std::vector<seed_outcome>& outcomes) {
    if (path.empty()) {
        return "";
    }
    std::vector<std::string> inputs;
    for (const seed_outcome& r : outcomes) {
        if (fs::exists(seed_coverage_path(dir, r.seed))) {
            inputs.push_back(seed_coverage_path(dir, r.seed));
        }
    }
    return merge_coverage_files(inputs, path);
}

std::string write_junit(const std::string& path, const std::string& suite, const std::vector<seed_outcome>& outcomes,
                        const std::vector<uint64_t>& missing) {
    if (path.empty()) {
        return "";
    }
    return write_output_file(path, junit_xml(suite, outcomes, missing));
}

int collect(const regress_options& o, std::ostream& out, std::ostream& err) {
    regress_plan plan;
    std::vector<uint64_t> seeds;
    std::vector<seed_outcome> records;
    std::string error = read_plan(o.collect_dir, plan);
    if (error.empty()) {
        error = parse_seed_set(plan.seeds, seeds);
    }
    if (error.empty()) {
        error = read_seed_records(o.collect_dir, records);
    }
    if (error.empty() && !o.junit.empty()) {
        if (error = prepare_output_file(o.junit); !error.empty()) {
            error = "--junit: " + error;
        }
    }
    if (error.empty() && !o.coverage.empty()) {
        if (error = prepare_output_file(o.coverage); !error.empty()) {
            error = "--coverage: " + error;
        }
    }
    if (!error.empty()) {
        err << "iommusim regress --collect: " << error << '\n';
        return 2;
    }
    std::vector<seed_outcome> outcomes;
    std::vector<uint64_t> missing;
    std::map<uint64_t, const seed_outcome*> by_seed;
    for (const seed_outcome& r : records) {
        by_seed[r.seed] = &r;
    }
    for (const uint64_t s : seeds) {
        if (const auto it = by_seed.find(s); it != by_seed.end()) {
            outcomes.push_back(*it->second);
        } else {
            missing.push_back(s);
        }
    }
    const int status = report(out, plan.scenario + " (collected from " + o.collect_dir + ")", outcomes, missing, 0);
    if (error = write_junit(o.junit, "iommusim.regress." + plan.scenario, outcomes, missing); !error.empty()) {
        err << "iommusim regress: --junit: " << error << '\n';
        return 2;
    }
    if (error = write_merged_coverage(o.coverage, o.collect_dir, outcomes); !error.empty()) {
        err << "iommusim regress: --coverage: " << error << '\n';
        return 2;
    }
    return status;
}

// The plan already in the directory serves these seeds too (a single-seed command of an emitted
// set keeps the set's plan, so --collect still knows every seed).
bool plan_covers(const std::string& dir, const regress_options& o) {
    regress_plan plan;
    std::vector<uint64_t> seeds;
    if (!read_plan(dir, plan).empty() || !parse_seed_set(plan.seeds, seeds).empty()) {
        return false;
    }
    return plan.scenario == o.scenario && plan.run_args == o.run_args &&
           std::includes(seeds.begin(), seeds.end(), o.seeds.begin(), o.seeds.end());
}

}  // namespace

int regress_main(const std::vector<std::string>& args, const std::string& program, std::ostream& out,
                 std::ostream& err) {
    if (std::find(args.begin(), args.end(), "--help") != args.end() ||
        std::find(args.begin(), args.end(), "-h") != args.end()) {
        out << regress_usage();
        return 0;
    }
    regress_options o;
    if (std::string error = parse_regress(args, o); !error.empty()) {
        err << "iommusim regress: " << error << "\n(see iommusim regress --help)\n";
        return 2;
    }
    if (!o.collect_dir.empty()) {
        return collect(o, out, err);
    }
    // Every output is checked before the first seed runs.
    const regress_plan plan{o.scenario, o.seeds_text, o.run_args, program};
    std::string error = o.junit.empty() ? "" : prepare_output_file(o.junit);
    if (!error.empty()) {
        error = "--junit: " + error;
    } else if (error = o.coverage.empty() ? "" : prepare_output_file(o.coverage); !error.empty()) {
        error = "--coverage: " + error;
    } else if (error = prepare_output_file(plan_path(o.out_dir)); !error.empty()) {
        error = "--out: " + error;
    }
    if (error.empty() && !plan_covers(o.out_dir, o)) {
        error = write_plan(o.out_dir, plan);
    }
    if (!error.empty()) {
        err << "iommusim regress: " << error << '\n';
        return 2;
    }
    if (o.emit_commands) {
        for (const uint64_t seed : o.seeds) {
            std::vector<std::string> cmd{program, "regress", "--seeds", std::to_string(seed),
                                         "--out", o.out_dir, "-j",      "1"};
            cmd.insert(cmd.end(), o.run_args.begin(), o.run_args.end());
            cmd.push_back(o.scenario);
            out << shell_command(cmd) << '\n';
        }
        return 0;
    }
    for (const uint64_t seed : o.seeds) {  // a record present means this regression ran the seed
        std::error_code ec;
        fs::remove(seed_record_path(o.out_dir, seed), ec);
    }
    if (const std::string hook_error = install_stop_signal_handlers(); !hook_error.empty()) {
        err << "iommusim regress: " << hook_error << '\n';
    }

    const auto start = clock_type::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(clock_type::now() - start).count(); };
    const bool tty = ::isatty(2) == 1;
    const std::size_t total = o.seeds.size();
    const std::size_t progress_step = std::max<std::size_t>(1, total / 20);
    std::map<pid_t, std::pair<uint64_t, clock_type::time_point>> running;
    std::vector<seed_outcome> outcomes;
    std::size_t next = 0;
    std::size_t failing = 0;
    bool forwarded = false;
    int status = 0;
    const auto show_progress = [&] {
        const std::size_t done = outcomes.size();
        std::ostringstream line;
        line << "regress: " << done << '/' << total << " seeds done, " << failing << " failing, "
             << duration_text(elapsed()) << " elapsed";
        if (done > 0 && done < total) {
            line << ", ~" << duration_text(elapsed() / static_cast<double>(done) * static_cast<double>(total - done))
                 << " left";
        }
        if (tty) {
            err << '\r' << line.str() << "\033[K" << std::flush;
        } else {
            err << line.str() << '\n';
        }
    };
    err << "regress: " << o.scenario << ", " << total << " seeds, " << o.jobs << " at a time, results in " << o.out_dir
        << '\n';
    while (next < total || !running.empty()) {
        const int signal = stop_signal();
        if (signal && !forwarded) {
            for (const auto& [pid, seed] : running) {
                ::kill(pid, signal);
            }
            forwarded = true;
        }
        while (!signal && running.size() < o.jobs && next < total) {
            const uint64_t seed = o.seeds[next++];
            const pid_t pid = start_seed(run_command(program, o, seed, false), seed_log_path(o.out_dir, seed), error);
            if (pid < 0) {
                err << "\niommusim regress: seed " << seed << ": " << error << '\n';
                status = 2;
                next = total;
                break;
            }
            running[pid] = {seed, clock_type::now()};
        }
        if (running.empty()) {
            break;
        }
        int wait_status = 0;
        const pid_t pid = ::waitpid(-1, &wait_status, WNOHANG);
        if (pid <= 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));  // also notices a stop signal
            continue;
        }
        const auto it = running.find(pid);
        if (it == running.end()) {
            continue;
        }
        const auto [seed, started] = it->second;
        running.erase(it);
        seed_outcome r = finish_seed(o, program, seed, wait_status,
                                     std::chrono::duration<double>(clock_type::now() - started).count());
        if (error = write_seed_record(o.out_dir, r); !error.empty()) {
            err << "\niommusim regress: " << error << '\n';
            status = 2;
        }
        const bool failed = !r.passed() && !r.interrupted();
        failing += failed ? 1 : 0;
        outcomes.push_back(std::move(r));
        if (failed) {
            if (tty) {
                err << '\r' << "\033[K";
            }
            print_failure(err, outcomes.back());
        }
        if (tty || failed || outcomes.size() % progress_step == 0 || outcomes.size() == total) {
            show_progress();
        }
    }
    if (tty) {
        err << '\n';
    }
    std::sort(outcomes.begin(), outcomes.end(), [](const auto& a, const auto& b) { return a.seed < b.seed; });
    const int result = report(out, o.scenario, outcomes, {}, elapsed());
    if (error = write_junit(o.junit, "iommusim.regress." + o.scenario, outcomes, {}); !error.empty()) {
        err << "iommusim regress: --junit: " << error << '\n';
        status = 2;
    }
    if (error = write_merged_coverage(o.coverage, o.out_dir, outcomes); !error.empty()) {
        err << "iommusim regress: --coverage: " << error << '\n';
        status = 2;
    } else if (!o.coverage.empty()) {
        out << "coverage of " << outcomes.size() << " seeds merged into " << o.coverage << '\n';
    }
    if (const int signal = stop_signal()) {
        out << "RESULT: INTERRUPTED by " << stop_signal_name(signal) << " after " << outcomes.size() << " of " << total
            << " seeds\n";
        return 128 + signal;
    }
    return status ? status : result;
}

}  // namespace iommusim::program
