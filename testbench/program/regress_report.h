// What a seeded regression leaves in its directory, and the reports made from it.
//
// DIR/regress.json   the plan: scenario, seeds, the run options every seed gets, the program
// DIR/seed-N.json    one record per seed that ran (written when the seed's process ended)
// DIR/seed-N.log     that process's output; DIR/seed-N.stats.json its statistics,
// DIR/seed-N.coverage.json its functional coverage
//
// `iommusim regress` writes all of them; `iommusim regress --emit-commands` writes the plan and
// prints one single-seed regress command per seed, each of which writes its own record;
// `iommusim regress --collect DIR` reads them back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iommusim::program {

struct regress_plan {
    std::string scenario;
    std::string seeds;                  // as given to --seeds
    std::vector<std::string> run_args;  // options every seed's run gets (--iotlb, --config, ...)
    std::string program;                // the iommusim that runs the seeds
};

// One seed's run.
struct seed_outcome {
    uint64_t seed = 0;
    int exit_status = -1;  // the run's exit status (-1 when a signal ended it)
    int signal = 0;        // the signal that ended the process (0: it exited)
    double seconds = 0;    // host time from start to end
    std::string result;    // the run's RESULT line ("" when it printed none)
    std::string rerun;     // the command that runs this seed again, ready for a shell
    std::string log;       // file holding the run's output

    bool passed() const { return signal == 0 && exit_status == 0; }
    // Stopped by SIGINT/SIGTERM at a safe point (exit status 128 + signal) or by the signal itself.
    bool interrupted() const;
};

std::string plan_path(const std::string& dir);
std::string seed_record_path(const std::string& dir, uint64_t seed);
std::string seed_log_path(const std::string& dir, uint64_t seed);
std::string seed_stats_path(const std::string& dir, uint64_t seed);
std::string seed_coverage_path(const std::string& dir, uint64_t seed);

// Each returns "" or a message naming the file. Writes are whole or nothing (write_output_file).
std::string write_plan(const std::string& dir, const regress_plan& plan);
std::string read_plan(const std::string& dir, regress_plan& plan);
std::string write_seed_record(const std::string& dir, const seed_outcome& outcome);
// Every seed record in dir, by ascending seed.
std::string read_seed_records(const std::string& dir, std::vector<seed_outcome>& outcomes);

// The last line of `log_text` that starts with "RESULT:" ("" when none).
std::string result_line(const std::string& log_text);

// `args` as one shell command line (each argument quoted when it needs to be).
std::string shell_command(const std::vector<std::string>& args);

// JUnit XML (the schema Jenkins, GitLab and GitHub test reporters read): one testsuite named
// `suite`, one testcase per seed ("seed N"): a <failure> for a failed check, an <error> for a
// process a signal ended or that never reported (seeds in `missing`), <skipped> for an interrupted
// seed; each testcase's system-out holds its rerun command and the end of its log.
std::string junit_xml(const std::string& suite, const std::vector<seed_outcome>& outcomes,
                      const std::vector<uint64_t>& missing);

}  // namespace iommusim::program
