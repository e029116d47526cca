// SIGINT or SIGTERM during a long run (the invalidation storm): the program stops at the next
// safe point, finishes the VCD, the RTL FST, the GTKWave view and the statistics, says how far it
// got and exits with 128 + the signal. The signal is raised by the program itself after a fixed
// number of CPU jobs (IOMMUSIM_TEST_STOP_AFTER, platform/stop_signal.h), so the stop point is the
// same every run.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "program/vcd_reader.h"
#include "test_files.h"

namespace iommusim::program {
namespace {

namespace fs = std::filesystem;

struct program_run {
    int exit_status = -1;  // -1: it did not exit (killed by a signal)
    std::string output;    // stdout and stderr
};

// Runs the iommusim program with `env` prefixed (shell syntax) and `args`.
program_run run_program(const fs::path& dir, const std::string& env, const std::string& args) {
    const fs::path log = dir / "output.txt";
    const std::string cmd = env + " '" IOMMUSIM_PROGRAM "' " + args + " >'" + log.string() + "' 2>&1";
    const int status = std::system(cmd.c_str());
    program_run r;
    if (status != -1 && WIFEXITED(status)) {
        r.exit_status = WEXITSTATUS(status);
    }
    r.output = test::file_text(log);
    return r;
}

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::path(IOMMUSIM_BINARY_DIR) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void expect_finished_outputs(const fs::path& dir, const program_run& r) {
    const vcd v = read_vcd((dir / "storm.vcd").string());
    EXPECT_EQ(v.error, "") << "the VCD is well-formed to its last line";
    EXPECT_TRUE(v.header_ok);
    EXPECT_GT(v.last_time, 0u);
    EXPECT_FALSE(values_of(v, "vfio0.dma_valid").empty());

    const std::string view = test::file_text(dir / "storm.gtkw");
    EXPECT_NE(view.find("[dumpfile] \"" + (dir / "storm.vcd").string() + "\""), std::string::npos) << view;

    const std::string stats = test::file_text(dir / "storm.json");
    ASSERT_TRUE(nlohmann::json::accept(stats)) << "statistics are complete JSON: " << stats.substr(0, 200);
    const auto doc = nlohmann::json::parse(stats);
    EXPECT_GT(doc["platform"]["simulated_ns"].get<uint64_t>(), 0u);

    // The storm was cut short: its progress reports stop before round 100 of 400.
    EXPECT_EQ(r.output.find("progress: round 100/"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("statistics written to"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("waves written to"), std::string::npos) << r.output;
}

TEST(Interrupt, SigintFinishesWavesViewAndStatisticsAndExits130) {
#ifdef IOMMUSIM_SANITIZE
    GTEST_SKIP() << "not under AddressSanitizer (the stop unwinds by an exception after a simulation run; SystemC "
                    "coroutine stacks)";
#endif
    const fs::path dir = fresh_dir("interrupt_sigint");
    const program_run r = run_program(dir, "IOMMUSIM_TEST_STOP_AFTER=INT:300",
                                      "--iotlb rtl --waves='" + (dir / "storm.vcd").string() + "' --stats-json '" +
                                          (dir / "storm.json").string() + "' invalidation-storm");
    EXPECT_EQ(r.exit_status, 130) << r.output;
    EXPECT_NE(r.output.find("RESULT: INTERRUPTED by SIGINT"), std::string::npos) << r.output;
    // The signal came after job 300; the storm stops at the start of the next round.
    std::smatch jobs;
    ASSERT_TRUE(std::regex_search(r.output, jobs, std::regex("after ([0-9]+) CPU jobs"))) << r.output;
    EXPECT_GE(std::stoul(jobs[1]), 300u);
    EXPECT_LT(std::stoul(jobs[1]), 340u) << "no more than the round in progress ran on";
    expect_finished_outputs(dir, r);
    // The RTL IOTLB's FST is closed (no hierarchy side file left behind) and readable, and its
    // signals were merged into the VCD.
    const fs::path fst = dir / "storm_iotlb.fst";
    ASSERT_TRUE(fs::exists(fst));
    for (const auto& e : fs::directory_iterator(dir)) {
        EXPECT_NE(e.path().extension(), ".hier") << "left behind: " << e.path();
    }
    const std::string cmd = "fst2vcd -f '" + fst.string() + "' -o '" + (dir / "fst.vcd").string() + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    EXPECT_EQ(read_vcd((dir / "fst.vcd").string()).error, "");
    EXPECT_FALSE(values_of(read_vcd((dir / "storm.vcd").string()), "dut.lkp_req_valid_i").empty());
}

TEST(Interrupt, SigtermExitsWith143) {
#ifdef IOMMUSIM_SANITIZE
    GTEST_SKIP() << "not under AddressSanitizer (the stop unwinds by an exception after a simulation run; SystemC "
                    "coroutine stacks)";
#endif
    const fs::path dir = fresh_dir("interrupt_sigterm");
    const program_run r = run_program(dir, "IOMMUSIM_TEST_STOP_AFTER=TERM:200",
                                      "--waves='" + (dir / "storm.vcd").string() + "' --stats-json '" +
                                          (dir / "storm.json").string() + "' invalidation-storm");
    EXPECT_EQ(r.exit_status, 143) << r.output;
    EXPECT_NE(r.output.find("RESULT: INTERRUPTED by SIGTERM"), std::string::npos) << r.output;
    expect_finished_outputs(dir, r);
}

TEST(Interrupt, MalformedTestHookIsNamedAndIgnored) {
    const fs::path dir = fresh_dir("interrupt_bad_hook");
    const program_run r = run_program(dir, "IOMMUSIM_TEST_STOP_AFTER=HUP:x", "--quiet nested-invalidate");
    EXPECT_EQ(r.exit_status, 0) << r.output;
    EXPECT_NE(r.output.find("IOMMUSIM_TEST_STOP_AFTER='HUP:x' is not"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace iommusim::program
