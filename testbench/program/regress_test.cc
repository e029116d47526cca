// `iommusim regress` as a verification engineer runs it: seeds fanned out over processes, the
// records and JUnit XML it leaves, the rerun line of a failing seed, emitted commands collected
// afterwards, bad usage refused before anything runs, and a regression stopped by SIGINT.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "program/regress_report.h"
#include "program/seed_set.h"
#include "test_files.h"

namespace iommusim::program {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct result {
    int status = -1;
    std::string out;
    std::string err;
};

unsigned count(const std::string& text, const std::string& what) {
    unsigned n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

class Regress : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("iommusim_regress_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    result shell(const std::string& command) {
        const std::string cmd = "cd " + test::shell_quoted(m_dir.string()) + " && env -u IOMMUSIM_IOTLB " + command +
                                " >stdout.txt 2>stderr.txt";
        const int rc = std::system(cmd.c_str());
        result r;
        r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        r.out = test::file_text(m_dir / "stdout.txt");
        r.err = test::file_text(m_dir / "stderr.txt");
        return r;
    }
    result regress(const std::vector<std::string>& args) {
        std::string cmd = test::shell_quoted(IOMMUSIM_PROGRAM) + " regress";
        for (const std::string& a : args) {
            cmd += " " + test::shell_quoted(a);
        }
        return shell(cmd);
    }

    fs::path m_dir;
};

TEST(SeedSet, RangesListsAndRepeats) {
    std::vector<uint64_t> seeds;
    ASSERT_EQ(parse_seed_set("9-11,3,10,0x10", seeds), "");
    EXPECT_EQ(seeds, (std::vector<uint64_t>{3, 9, 10, 11, 16}));
    ASSERT_EQ(parse_seed_set("1-200", seeds), "");
    EXPECT_EQ(seeds.size(), 200u);
    EXPECT_EQ(seeds.front(), 1u);
    EXPECT_EQ(seeds.back(), 200u);
}

TEST(SeedSet, BadSetsAreNamed) {
    std::vector<uint64_t> seeds{42};
    EXPECT_NE(parse_seed_set("5-3", seeds).find("'5-3' ends before it starts"), std::string::npos);
    EXPECT_NE(parse_seed_set("1,,2", seeds).find("'' is neither"), std::string::npos);
    EXPECT_NE(parse_seed_set("1-x", seeds).find("'1-x' is neither"), std::string::npos);
    EXPECT_NE(parse_seed_set("0-18446744073709551615", seeds).find("more than 1000000 seeds"), std::string::npos);
    EXPECT_EQ(seeds, std::vector<uint64_t>{42});  // untouched on error
}

TEST(RegressReport, JUnitEscapesAndCountsEachKind) {
    seed_outcome passed{1, 0, 0, 0.5, "RESULT: PASSED", "iommusim --seed 1 x", "/nonexistent/seed-1.log"};
    seed_outcome failed{2, 1, 0, 0.25, "RESULT: FAILED (<1> & \"2\")", "iommusim --seed 2 x", "/nonexistent"};
    seed_outcome crashed{3, -1, SIGSEGV, 0.25, "", "r", "/nonexistent"};
    seed_outcome stopped{4, 130, 0, 0.25, "RESULT: INTERRUPTED by SIGINT", "r", "/nonexistent"};
    const std::string x = junit_xml("iommusim.regress.x", {passed, failed, crashed, stopped}, {5});
    EXPECT_NE(x.find("<testsuites name=\"iommusim.regress.x\" tests=\"5\" failures=\"1\" errors=\"2\" skipped=\"1\" "
                     "time=\"1.250\">"),
              std::string::npos)
        << x;
    EXPECT_NE(x.find("message=\"RESULT: FAILED (&lt;1&gt; &amp; &quot;2&quot;)\""), std::string::npos) << x;
    EXPECT_NE(x.find("<error type=\"signal 11\""), std::string::npos) << x;
    EXPECT_NE(x.find("name=\"seed 5\" time=\"0\">\n      <error type=\"missing\""), std::string::npos) << x;
    EXPECT_EQ(count(x, "<testcase "), 5u);
}

TEST(RegressReport, ShellCommandQuotesOnlyWhatNeedsIt) {
    EXPECT_EQ(shell_command({"/usr/bin/iommusim", "--seed", "7", "a b", "it's", ""}),
              "/usr/bin/iommusim --seed 7 'a b' 'it'\\''s' ''");
}

TEST_F(Regress, PassingSeedsLeaveRecordsStatisticsAndJUnit) {
    const result r = regress({"nested-invalidate", "--seeds", "1-3", "-j", "2", "--out", "out", "--junit", "r.xml"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("regress: nested-invalidate: 3 seeds, 3 passed, 0 failed, in "), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("3/3 seeds done, 0 failing"), std::string::npos) << r.err;
    for (int seed = 1; seed <= 3; ++seed) {
        const json record = json::parse(test::file_text(m_dir / "out" / ("seed-" + std::to_string(seed) + ".json")));
        EXPECT_EQ(record["exit_status"], 0);
        EXPECT_EQ(record["result"], "RESULT: PASSED");
        // Each seed ran with its own seed: its statistics' run block says so.
        const json stats =
            json::parse(test::file_text(m_dir / "out" / ("seed-" + std::to_string(seed) + ".stats.json")));
        EXPECT_EQ(stats["run"]["seed"], seed);
        EXPECT_EQ(stats["run"]["scenario"], "nested-invalidate");
    }
    const std::string x = test::file_text(m_dir / "r.xml");
    EXPECT_NE(x.find("tests=\"3\" failures=\"0\" errors=\"0\" skipped=\"0\""), std::string::npos) << x;
    EXPECT_EQ(count(x, "<testcase classname=\"iommusim.regress.nested-invalidate\" name=\"seed "), 3u) << x;
}

TEST_F(Regress, FailingSeedPrintsARerunLineThatReproducesIt) {
    const result r =
        regress({"--seeds", "4,9", "--out", "out", "--junit", "r.xml", "--iotlb", "cpp", "missing-invalidation"});
    ASSERT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("2 seeds, 0 passed, 2 failed"), std::string::npos) << r.out;
    std::smatch m;
    const std::regex rerun_of_9("seed 9 FAILED \\(exit status 1\\): RESULT: FAILED[^\n]*\n  rerun: ([^\n]+)\n");
    ASSERT_TRUE(std::regex_search(r.out, m, rerun_of_9)) << r.out;
    const std::string rerun = m[1];
    EXPECT_NE(rerun.find("--iotlb cpp --seed 9 missing-invalidation"), std::string::npos) << rerun;
    const result again = shell(rerun);
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(again.out.find("scenario missing-invalidation, IOTLB cpp (from --iotlb), seed 9"), std::string::npos)
        << again.out;
    EXPECT_NE(again.out.find("checker: stale IOTLB hit"), std::string::npos) << again.out;
    const std::string x = test::file_text(m_dir / "r.xml");
    EXPECT_NE(x.find("tests=\"2\" failures=\"2\" errors=\"0\""), std::string::npos) << x;
    EXPECT_NE(x.find("<failure type=\"exit status 1\" message=\"RESULT: FAILED"), std::string::npos) << x;
}

TEST_F(Regress, EmittedCommandsAreCollectedAndMissingSeedsReported) {
    const result emitted = regress({"nested-invalidate", "--seeds", "1-3", "--out", "shared", "--emit-commands"});
    ASSERT_EQ(emitted.status, 0) << emitted.err;
    std::vector<std::string> commands;
    std::istringstream lines(emitted.out);
    for (std::string line; std::getline(lines, line);) {
        commands.push_back(line);
    }
    ASSERT_EQ(commands.size(), 3u) << emitted.out;
    EXPECT_NE(commands[2].find(" regress --seeds 3 --out shared -j 1 nested-invalidate"), std::string::npos)
        << commands[2];
    EXPECT_FALSE(fs::exists(m_dir / "shared" / "seed-1.json"));  // nothing ran yet

    ASSERT_EQ(shell(commands[0]).status, 0);
    ASSERT_EQ(shell(commands[2]).status, 0);
    result collected = regress({"--collect", "shared", "--junit", "all.xml"});
    EXPECT_EQ(collected.status, 1) << collected.out << collected.err;
    EXPECT_NE(collected.out.find("3 seeds, 2 passed, 0 failed, 1 without a record"), std::string::npos)
        << collected.out;
    EXPECT_NE(collected.out.find("seeds without a record (never ran, or their host stopped): 2\n"), std::string::npos);
    EXPECT_NE(test::file_text(m_dir / "all.xml").find("name=\"seed 2\" time=\"0\">\n      <error type=\"missing\""),
              std::string::npos);

    ASSERT_EQ(shell(commands[1]).status, 0);
    collected = regress({"--collect", "shared", "--junit", "all.xml"});
    EXPECT_EQ(collected.status, 0) << collected.out << collected.err;
    EXPECT_NE(collected.out.find("3 seeds, 3 passed, 0 failed\n"), std::string::npos) << collected.out;
    EXPECT_NE(test::file_text(m_dir / "all.xml").find("tests=\"3\" failures=\"0\" errors=\"0\""), std::string::npos);
}

TEST_F(Regress, BadUsageIsRefusedBeforeAnythingRuns) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"nested-invalidate", "--seeds", "5-3"}, "--seeds: the range '5-3' ends before it starts"},
        {{"nested-invalidate"}, "--seeds needs a list"},
        {{"nested-invalidate", "--seeds", "1", "-j", "0"}, "--jobs needs a number of processes from 1 to 1024"},
        {{"nested-invalidate", "--seeds", "1", "--seed", "3"}, "regress gives each run its seed"},
        {{"nested-invalidate", "--seeds", "1", "--stats-json", "s.json"}, "--stats-json and --waves are per run"},
        {{"no-such-scenario", "--seeds", "1"}, "unknown scenario 'no-such-scenario'"},
        {{"nested-invalidate", "--seeds", "1", "--iotlb", "fpga"}, "--iotlb must be"},
        {{"nested-invalidate", "--seeds", "1", "--out", "/proc/iommusim"},
         "--out: cannot create directory /proc/iommusim"},
        {{"nested-invalidate", "--seeds", "1", "--junit", "."}, "--junit: . is a directory"},
        {{"--collect", "nowhere"}, "nowhere/regress.json: cannot be read"},
        {{"--collect", "x", "--seeds", "1"}, "--collect DIR takes only --junit FILE"},
    };
    for (const auto& [args, message] : cases) {
        const result r = regress(args);
        EXPECT_EQ(r.status, 2) << args[0] << ' ' << r.err;
        EXPECT_NE(r.err.find(message), std::string::npos) << "expected '" << message << "' in: " << r.err;
    }
    EXPECT_FALSE(fs::exists(m_dir / "regress"));  // no default output directory was made
}

TEST_F(Regress, SigintFinishesTheRunningSeedsAndStartsNoMore) {
    const std::string command = "exec " + test::shell_quoted(IOMMUSIM_PROGRAM) +
                                " regress -j 1 --seeds 1-1000 --out out " + "--junit r.xml nested-invalidate";
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        const std::string cmd =
            "cd " + test::shell_quoted(m_dir.string()) + " && " + command + " >stdout.txt 2>stderr.txt";
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Once the first seed has its record, stop the regression.
    for (int i = 0; i < 6000 && !fs::exists(m_dir / "out" / "seed-1.json"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(fs::exists(m_dir / "out" / "seed-1.json"));
    ::kill(pid, SIGINT);
    int wait_status = 0;
    ASSERT_EQ(::waitpid(pid, &wait_status, 0), pid);
    ASSERT_TRUE(WIFEXITED(wait_status));
    EXPECT_EQ(WEXITSTATUS(wait_status), 130);
    const std::string out = test::file_text(m_dir / "stdout.txt");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(out, m, std::regex("RESULT: INTERRUPTED by SIGINT after ([0-9]+) of 1000 seeds")))
        << out;
    const unsigned ran = static_cast<unsigned>(std::stoul(m[1]));
    EXPECT_GE(ran, 1u);
    EXPECT_LT(ran, 1000u);
    // The JUnit file holds exactly the seeds that ran, whole.
    const std::string x = test::file_text(m_dir / "r.xml");
    EXPECT_EQ(count(x, "<testcase "), ran) << x;
    EXPECT_NE(x.find("</testsuites>\n"), std::string::npos);
}

}  // namespace
}  // namespace iommusim::program
