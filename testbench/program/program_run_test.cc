// The iommusim program as a user runs it: exit status, what it prints at each verbosity, the
// files it writes (or refuses to write before the run) and the run block of its statistics.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "program/config_file.h"
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

class ProgramRun : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("iommusim_run_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    // Runs the program in m_dir with `args` (and `env`, "NAME=value ..."; IOMMUSIM_IOTLB unset otherwise).
    result run(const std::vector<std::string>& args, const std::string& env = "") {
        std::string cmd = "cd " + test::shell_quoted(m_dir.string()) + " && env -u IOMMUSIM_IOTLB " + env + " " +
                          test::shell_quoted(IOMMUSIM_PROGRAM);
        for (const std::string& a : args) {
            cmd += " " + test::shell_quoted(a);
        }
        cmd += " >stdout.txt 2>stderr.txt";
        const int rc = std::system(cmd.c_str());
        result r;
        r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
        r.out = test::file_text(m_dir / "stdout.txt");
        r.err = test::file_text(m_dir / "stderr.txt");
        fs::remove(m_dir / "stdout.txt");
        fs::remove(m_dir / "stderr.txt");
        return r;
    }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(m_dir / name) << text;
        return (m_dir / name).string();
    }
    static bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }
    static std::size_t count(const std::string& text, const std::string& what) {
        std::size_t n = 0;
        for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
            ++n;
        }
        return n;
    }

    fs::path m_dir;
};

// ---- Waves ----

TEST_F(ProgramRun, ScenarioParametersShapeTheRunAndReproduceFromItsConfig) {
    // The storm makes one IOMMU_HWPT_INVALIDATE call per round.
    const result r =
        run({"--param", "rounds=25", "--param", "max_batch=1", "--stats-json", "s.json", "invalidation-storm"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "HWPT_INVALIDATE calls / entries         25 / ")) << r.out;
    const json stats = json::parse(test::file_text(m_dir / "s.json"));
    EXPECT_EQ(stats["run"]["config"]["params"], json({{"max_batch", 1}, {"rounds", 25}}));
    // The run block's configuration runs the same storm again: the same statistics.
    write("again.json", stats["run"]["config"].dump());
    ASSERT_EQ(run({"-q", "--config", "again.json", "--stats-json", "s2.json", "invalidation-storm"}).status, 0);
    const json again = json::parse(test::file_text(m_dir / "s2.json"));
    EXPECT_EQ(again["platform"], stats["platform"]);
    EXPECT_EQ(again["driver"], stats["driver"]);
}

TEST_F(ProgramRun, BadScenarioParametersAreRefusedByName) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--param", "bogus=1", "invalidation-storm"},
         "scenario invalidation-storm has no parameter 'bogus' (it takes rounds, pages, data_pages, max_batch, "
         "max_range_pages)"},
        {{"--param", "rounds=0", "invalidation-storm"},
         "parameter rounds of invalidation-storm must be 1..100000, not 0"},
        {{"--param", "pages=513", "invalidation-storm"}, "parameter pages of invalidation-storm must be 32..512"},
        {{"--param", "rounds", "invalidation-storm"}, "--param needs NAME=VALUE with a non-negative integer VALUE"},
        {{"--param", "rounds=-3", "invalidation-storm"}, "--param needs NAME=VALUE"},
        {{"--param", "rounds=5", "nested-invalidate"},
         "scenario nested-invalidate has no parameter 'rounds' (it takes none)"},
        {{"--config", write("p.json", R"({"params": {"rounds": 5}})"), "fault-injection"},
         "scenario fault-injection has no parameter 'rounds'"},
        {{"--config", write("q.json", R"({"params": {"rounds": "many"}})"), "invalidation-storm"},
         "\"params.rounds\" must be a non-negative integer"},
        {{"--config", write("r.json", R"({"params": [1]})"), "invalidation-storm"},
         "\"params\" must be an object of scenario parameters"},
    };
    for (const auto& [args, message] : cases) {
        const result r = run(args);
        EXPECT_EQ(r.status, 2) << args[1];
        EXPECT_TRUE(has(r.err, message)) << "expected '" << message << "' in: " << r.err;
    }
}

TEST_F(ProgramRun, ListShowsEachScenarioParameterWithDefaultAndRange) {
    const result r = run({"--list"});
    ASSERT_EQ(r.status, 0);
    EXPECT_TRUE(has(r.out, "    --param rounds=400                edit/invalidate/DMA rounds (1..100000)\n")) << r.out;
    EXPECT_TRUE(has(r.out, "    --param max_batch=16 ")) << r.out;
}

// The rows "pages written per round" and "pages reported dirty per round" of a dirty-tracking run.
std::string summary_value(const std::string& out, const std::string& row) {
    const auto at = out.find("  " + row);
    if (at == std::string::npos) {
        return "";
    }
    const auto start = out.find_first_not_of(' ', at + 2 + row.size());
    return out.substr(start, out.find('\n', start) - start);
}

TEST_F(ProgramRun, DirtyTrackingReportsExactlyTheWrittenPagesEachRound) {
    const result r =
        run({"--param", "rounds=5", "--param", "writes=40", "--param", "pages=64", "--seed", "9", "dirty-tracking"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    const std::string written = summary_value(r.out, "pages written per round");
    EXPECT_EQ(count(written, " "), 4u) << written;  // five rounds
    EXPECT_EQ(summary_value(r.out, "pages reported dirty per round"), written) << r.out;
    EXPECT_EQ(summary_value(r.out, "bitmap misses / extra pages"), "0 / 0");
    EXPECT_TRUE(has(r.out, "ok: the destination's copy equals guest RAM")) << r.out;
}

TEST_F(ProgramRun, DirtyTrackingWithoutSecondStageADFailsNamingIt) {
    const result r = run({"--config", write("no_ssads.json", R"({"iommu": {"ssads": false}})"), "dirty-tracking"});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "FAILED: IOMMU_GET_HW_INFO reports IOMMU_HW_CAP_DIRTY_TRACKING (ECAP.SSADS, iommu.ssads)"))
        << r.out;
}

TEST_F(ProgramRun, DefaultWavesDirectoryIsCreatedWhereTheProgramRuns) {
    const result r = run({"--quiet", "--waves", "nested-invalidate"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_GT(fs::file_size(m_dir / "waves" / "nested-invalidate.vcd"), 0u);
}

TEST_F(ProgramRun, WavesIntoMissingDirectoriesCreatesThem) {
    const result r = run({"--waves=out/deeper/x.vcd", "nested-invalidate"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_GT(fs::file_size(m_dir / "out" / "deeper" / "x.vcd"), 0u);
    EXPECT_TRUE(has(r.out, "waves written to out/deeper/x.vcd")) << r.out;
}

TEST_F(ProgramRun, WavesIntoAnExistingDirectoryWriteInsideIt) {
    fs::create_directories(m_dir / "traces");
    const result r = run({"--quiet", "--waves=traces", "fault-injection"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_GT(fs::file_size(m_dir / "traces" / "fault-injection.vcd"), 0u);
    EXPECT_FALSE(fs::exists(m_dir / "traces.vcd"));
}

TEST_F(ProgramRun, UnwritableWavesAreRefusedBeforeTheRun) {
    for (const std::string path : {"/proc/x.vcd", "/proc/iommusim/x.vcd"}) {
        const result r = run({"--waves=" + path, "nested-invalidate"});
        EXPECT_EQ(r.status, 2) << path << ": " << r.out << r.err;
        EXPECT_TRUE(has(r.err, path)) << r.err;
        EXPECT_FALSE(has(r.out, "VMM:")) << "the scenario ran: " << r.out;
    }
}

// ---- Statistics ----

TEST_F(ProgramRun, UnwritableStatsAreRefusedBeforeTheRun) {
    const result r = run({"--stats-json", "/proc/stats.json", "nested-invalidate"});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_TRUE(has(r.err, "/proc/stats.json")) << r.err;
    EXPECT_FALSE(has(r.out, "VMM:")) << "the scenario ran: " << r.out;
}

TEST_F(ProgramRun, StatsToMissingDirectoryAreWrittenWhole) {
    const result r = run({"--quiet", "--stats-json", "results/s.json", "nested-invalidate"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    const json stats = json::parse(test::file_text(m_dir / "results" / "s.json"));
    EXPECT_TRUE(stats.contains("platform"));
    EXPECT_FALSE(fs::exists(m_dir / "results" / "s.json.tmp"));
}

TEST_F(ProgramRun, StatsDashGoToStandardOutputAndTheRestToStandardError) {
    const result r = run({"--stats-json", "-", "nested-invalidate"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_FALSE(fs::exists(m_dir / "-"));
    const json stats = json::parse(r.out);  // nothing but the JSON
    EXPECT_EQ(stats["run"]["scenario"], "nested-invalidate");
    EXPECT_TRUE(has(r.err, "RESULT: PASSED")) << r.err;
}

TEST_F(ProgramRun, StatsToDevStdoutAreWrittenThroughTheLink) {
    const result r = run({"--quiet", "--stats-json", "/dev/stdout", "nested-invalidate"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(fs::is_symlink("/dev/stdout"));
    // The statistics follow what the program printed before them; nothing was truncated.
    EXPECT_TRUE(has(r.out, "{\"run\":{\"scenario\":\"nested-invalidate\"")) << r.out;
    EXPECT_EQ(r.out.rfind("RESULT: PASSED\n"), r.out.size() - 15) << r.out;
}

TEST_F(ProgramRun, StatsCarryWhatTheRunIsReproducedFrom) {
    const std::string config = write("c.json", R"({"iommu": {"mamv": 9}, "seed": 4})");
    const std::vector<std::string> args = {"--stats-json",      "s.json", "--seed", "7", "--config", config,
                                           "invalidation-storm"};
    const result r = run(args);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    const json stats = json::parse(test::file_text(m_dir / "s.json"));
    const json& meta = stats["run"];
    EXPECT_EQ(meta["scenario"], "invalidation-storm");
    EXPECT_EQ(meta["seed"], 7);
    EXPECT_EQ(meta["iotlb"], "cpp");
    EXPECT_EQ(meta["iotlb_source"], "default");
    EXPECT_EQ(meta["version"], IOMMUSIM_EXPECTED_VERSION);
    std::vector<std::string> argv = {IOMMUSIM_PROGRAM};
    argv.insert(argv.end(), args.begin(), args.end());
    EXPECT_EQ(meta["command_line"], json(argv));
    // The configuration is a --config file: loading it gives back the run's configuration.
    EXPECT_EQ(meta["config"]["iommu"]["mamv"], 9);
    EXPECT_EQ(meta["config"]["seed"], 7);
    EXPECT_EQ(meta["config"]["iommu"]["stale_check"], true);
    platform_config reloaded;
    ASSERT_EQ(apply_config_json(meta["config"].dump(), reloaded), "");
    EXPECT_EQ(json::parse(config_json(reloaded)), meta["config"]);
    // The platform's own statistics are all still there.
    EXPECT_TRUE(stats.contains("platform"));
    EXPECT_TRUE(stats.contains("driver"));
    EXPECT_TRUE(stats.contains("model"));
}

// ---- Where the IOTLB kind comes from ----

// The first ```json block of README.md: the documented --config example.
std::string readme_config_example() {
    const std::string readme = test::file_text(fs::path(IOMMUSIM_SOURCE_DIR) / "README.md");
    const auto start = readme.find("```json\n");
    const auto end = readme.find("```", start + 8);
    return start == std::string::npos || end == std::string::npos ? "" : readme.substr(start + 8, end - start - 8);
}

TEST_F(ProgramRun, ConfigFileIotlbIsUsedAndPrinted) {
    const std::string example = readme_config_example();
    ASSERT_TRUE(has(example, "\"iotlb\": \"lockstep\"")) << example;
    const std::string config = write("c.json", example);
    const result r = run({"--config", config, "--stats-json", "s.json", "nested-invalidate"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "IOTLB lockstep (from " + config + ")")) << r.out;
    // The IOTLB the platform built says what it is.
    EXPECT_EQ(json::parse(test::file_text(m_dir / "s.json"))["platform"]["iotlb"], "lockstep(iotlb,rtl_iotlb)");
}

TEST_F(ProgramRun, EnvironmentIotlbIsUsedBelowFileAndFlag) {
    const std::string config = write("c.json", R"({"iotlb": "lockstep"})");
    result r = run({"--stats-json", "s.json", "nested-invalidate"}, "IOMMUSIM_IOTLB=rtl");
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "IOTLB rtl (from IOMMUSIM_IOTLB)")) << r.out;
    EXPECT_EQ(json::parse(test::file_text(m_dir / "s.json"))["platform"]["iotlb"], "rtl_iotlb");

    r = run({"--config", config, "nested-invalidate"}, "IOMMUSIM_IOTLB=rtl");
    EXPECT_TRUE(has(r.out, "IOTLB lockstep (from " + config + ")")) << r.out;

    r = run({"--config", config, "--iotlb", "cpp", "nested-invalidate"}, "IOMMUSIM_IOTLB=rtl");
    EXPECT_TRUE(has(r.out, "IOTLB cpp (from --iotlb)")) << r.out;

    r = run({"nested-invalidate"}, "IOMMUSIM_IOTLB=fpga");
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(has(r.err, "IOMMUSIM_IOTLB=fpga")) << r.err;
}

// ---- Verbosity ----

TEST_F(ProgramRun, StormPrintsRoundsOnlyWhenVerbose) {
    result r = run({"invalidation-storm"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(count(r.out, "ok: round"), 0u) << r.out;
    EXPECT_TRUE(has(r.out, "summary of invalidation-storm"));
    EXPECT_LT(count(r.out, "\n"), 40u) << r.out;

    r = run({"-v", "invalidation-storm"});
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(count(r.out, "ok: round"), 400u);
    EXPECT_GE(count(r.out, "IOMMU_HWPT_INVALIDATE hwpt"), 400u);
    EXPECT_TRUE(has(r.out, "DMA dev_id"));
}

TEST_F(ProgramRun, VerboseShowsIoctlsDescriptorsAndFaults) {
    const result normal = run({"fault-injection"});
    const result verbose = run({"--verbose", "fault-injection"});
    ASSERT_EQ(verbose.status, 0) << verbose.out << verbose.err;
    for (const std::string detail :
         {"/dev/vfio/devices/vfio0 iommufd 1024 -> dev_id 1", "-> ok, entry_num 1", "IOMMU_IOAS_MAP",
          "IOMMU_HWPT_ALLOC VTD_S1", "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
          "the driver queued 2 descriptor(s) (waits included) in 1 batch(es)", "raw descriptor", "fault reason 0x72",
          "fault reason 0x71", "the IOMMU recorded 1 fault(s)"}) {
        EXPECT_TRUE(has(verbose.out, detail)) << detail << " missing from:\n" << verbose.out;
        EXPECT_FALSE(has(normal.out, detail)) << detail << " shown without --verbose";
    }
    EXPECT_TRUE(has(normal.out, "[1] guest sets PS"));  // the narrative stays
}

TEST_F(ProgramRun, QuietKeepsTheResultAndTheCheckersReport) {
    const result r = run({"--quiet", "missing-invalidation"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(has(r.out, "checker: stale IOTLB hit: rid 0x100 no PASID addr 0x40000000")) << r.out;
    EXPECT_TRUE(has(r.out, "FAILED: DMA after the guest's edit")) << r.out;
    EXPECT_TRUE(has(r.out, "RESULT: FAILED")) << r.out;
    EXPECT_FALSE(has(r.out, "VMM:")) << r.out;
    EXPECT_FALSE(has(r.out, "ok:")) << r.out;
    const result passed = run({"-q", "nested-invalidate"});
    EXPECT_EQ(passed.out, "RESULT: PASSED\n");
}

}  // namespace
}  // namespace iommusim::program
