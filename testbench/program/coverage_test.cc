// Functional coverage as a verification engineer uses it: what a run writes (checked against the
// same run's statistics, which other code counts), merging runs, the text report with its holes,
// the HTML heat map, regress --coverage, and bad input refused without writing anything.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "program/coverage_data.h"
#include "test_files.h"

namespace iommusim::program {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Hits of one bin of a coverage file's point (-1: no such point or bin).
int64_t hits(const json& coverage, const std::string& point, const std::vector<std::string>& at) {
    for (const json& p : coverage["points"]) {
        if (p["name"] == point) {
            for (const json& b : p["bins"]) {
                if (b["at"] == at) {
                    return b["hits"].get<int64_t>();
                }
            }
        }
    }
    return -1;
}

uint64_t point_total(const json& coverage, const std::string& point) {
    uint64_t n = 0;
    for (const json& p : coverage["points"]) {
        if (p["name"] == point) {
            for (const json& b : p["bins"]) {
                n += b["hits"].get<uint64_t>();
            }
        }
    }
    return n;
}

const char* two_runs_a = R"({"format": "iommusim-coverage", "version": 1, "runs": [{"seed": 1}],
  "points": [{"name": "p", "description": "d", "axes": ["x", "y"],
              "bins": [{"at": ["a", "0"], "hits": 2}, {"at": ["a", "1"], "hits": 0}, {"at": ["b", "0"], "hits": 0}]},
             {"name": "q", "description": "", "axes": ["z"], "bins": [{"at": ["only"], "hits": 0}]}]})";
const char* two_runs_b = R"({"format": "iommusim-coverage", "version": 1, "runs": [{"seed": 2}],
  "points": [{"name": "p", "description": "d", "axes": ["x", "y"],
              "bins": [{"at": ["a", "0"], "hits": 3}, {"at": ["b", "0"], "hits": 1}, {"at": ["c", "9"], "hits": 0}]}]})";

TEST(CoverageData, MergeSumsHitsAndKeepsEveryBin) {
    coverage_data a;
    coverage_data b;
    ASSERT_EQ(parse_coverage(two_runs_a, "a", a), "");
    ASSERT_EQ(parse_coverage(two_runs_b, "b", b), "");
    ASSERT_EQ(merge_coverage(a, b), "");
    EXPECT_EQ(a.runs.size(), 2u);
    ASSERT_EQ(a.points.size(), 2u);
    const coverage_point& p = a.points[0];
    ASSERT_EQ(p.bins.size(), 4u);
    EXPECT_EQ(p.bins[0].hits, 5u);  // a,0: 2 + 3
    EXPECT_EQ(p.bins[1].hits, 0u);  // a,1
    EXPECT_EQ(p.bins[2].hits, 1u);  // b,0: 0 + 1
    EXPECT_EQ(p.bins[3].at, (std::vector<std::string>{"c", "9"}));
    EXPECT_EQ(a.bins(), 5u);
    EXPECT_EQ(a.covered(), 2u);
}

TEST(CoverageData, TextReportGivesSharesAndNamesEveryHole) {
    coverage_data a;
    ASSERT_EQ(parse_coverage(two_runs_a, "a", a), "");
    const std::string r = coverage_text_report(a);
    EXPECT_NE(r.find("functional coverage of 1 run(s): 1 of 4 bins (25.0 %)"), std::string::npos) << r;
    EXPECT_NE(r.find("  p     1 /   3   33.3 %\n"), std::string::npos) << r;
    EXPECT_NE(r.find("holes (3):\n  p: a x 1\n  p: b x 0\n  q: only\n"), std::string::npos) << r;
}

TEST(CoverageData, HtmlHeatMapMarksHolesAndNonBins) {
    coverage_data a;
    ASSERT_EQ(parse_coverage(two_runs_a, "a", a), "");
    const std::string h = coverage_html_report(a);
    // Rows a, b; columns 0, 1: (a,0) hit, (a,1) and (b,0) holes, (b,1) no bin.
    EXPECT_NE(h.find("<tr><th style=\"text-align:left\">a</th><td style=\"background:hsl(130"), std::string::npos) << h;
    EXPECT_NE(h.find("<td class=\"hole\" style=\"background:#f8c4c4\" title=\"a / 1\">0</td></tr>"), std::string::npos);
    EXPECT_NE(h.find("title=\"b / 0\">0</td><td class=\"none\"></td></tr>"), std::string::npos) << h;
}

TEST(CoverageData, MalformedFilesAreNamed) {
    coverage_data d;
    EXPECT_NE(parse_coverage("{}", "x.json", d).find("x.json: not an iommusim coverage file"), std::string::npos);
    EXPECT_NE(parse_coverage("[", "x.json", d).find("x.json: not a valid coverage file"), std::string::npos);
    const std::string arity = R"({"format": "iommusim-coverage", "version": 1, "runs": [],
        "points": [{"name": "p", "axes": ["x", "y"], "bins": [{"at": ["a"], "hits": 1}]}]})";
    EXPECT_NE(parse_coverage(arity, "x.json", d).find("point p has a bin with 1 values for 2 axes"), std::string::npos);
    coverage_data a;
    coverage_data other;
    ASSERT_EQ(parse_coverage(two_runs_a, "a", a), "");
    ASSERT_EQ(parse_coverage(R"({"format": "iommusim-coverage", "version": 1, "runs": [],
        "points": [{"name": "p", "axes": ["x"], "bins": []}]})",
                             "o", other),
              "");
    EXPECT_EQ(merge_coverage(a, other), "point p has different axes in the files merged");
    EXPECT_EQ(a.runs.size(), 1u);  // unchanged
}

class CoverageProgram : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("iommusim_coverage_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    int run(const std::string& args) {
        const std::string cmd = "cd " + test::shell_quoted(m_dir.string()) + " && env -u IOMMUSIM_IOTLB " +
                                test::shell_quoted(IOMMUSIM_PROGRAM) + " " + args + " >stdout.txt 2>stderr.txt";
        const int rc = std::system(cmd.c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    }
    json file(const std::string& name) { return json::parse(test::file_text(m_dir / name)); }
    std::string out() { return test::file_text(m_dir / "stdout.txt"); }
    std::string err() { return test::file_text(m_dir / "stderr.txt"); }

    fs::path m_dir;
};

TEST_F(CoverageProgram, NestedRunCoversWhatItsStatisticsCount) {
    ASSERT_EQ(run("-q --stats-json s.json --coverage c.json nested-invalidate"), 0) << err();
    const json c = file("c.json");
    const json s = file("s.json");
    EXPECT_EQ(c["format"], "iommusim-coverage");
    ASSERT_EQ(c["runs"].size(), 1u);
    EXPECT_EQ(c["runs"][0]["scenario"], "nested-invalidate");
    // Every translation is sampled once, with its outcome and its request kind.
    const uint64_t translations = s["model"]["translation"]["translations"].get<uint64_t>();
    EXPECT_GT(translations, 0u);
    EXPECT_EQ(point_total(c, "translation.kind_x_fault") + point_total(c, "translation.structure_fault"), translations);
    EXPECT_EQ(point_total(c, "translation.request_x_kind"), translations);
    // The scenario DMAs untagged through a nested HWPT, and nothing faults.
    EXPECT_EQ(hits(c, "translation.kind_x_fault", {"nested", "no fault"}), static_cast<int64_t>(translations));
    EXPECT_GT(hits(c, "translation.request_x_kind", {"untagged read", "nested"}), 0);
    // Its stale hit before IOMMU_HWPT_INVALIDATE is the checker's IOTLB bin.
    EXPECT_EQ(hits(c, "checker.stale_hit", {"IOTLB"}), 1);
    // Each cache scope the queue applied is one sample of the scope cross.
    uint64_t scopes = 0;
    for (const char* kind :
         {"context_all", "context_device", "pasid_cache_all", "pasid_cache_domain", "pasid_cache_pasid", "iotlb_all",
          "iotlb_domain", "iotlb_domain_range", "iotlb_pasid", "iotlb_pasid_range"}) {
        scopes += s["model"]["qi"]["per_scope"][kind].get<uint64_t>();
    }
    EXPECT_EQ(point_total(c, "invalidation.scope_x_ih_x_dropped"), scopes);
    EXPECT_GT(hits(c, "invalidation.scope_x_ih_x_dropped", {"iotlb_pasid_range", "1", "some"}) +
                  hits(c, "invalidation.scope_x_ih_x_dropped", {"iotlb_pasid_range", "0", "some"}),
              0);
    EXPECT_EQ(hits(c, "lockstep.comparison", {"lookup"}), 0);  // not a lockstep run
}

TEST_F(CoverageProgram, FaultInjectionCoversItsFaultsAndQueueErrors) {
    ASSERT_EQ(run("-q --coverage c.json fault-injection"), 0) << err();
    const json c = file("c.json");
    EXPECT_GT(hits(c, "translation.kind_x_fault", {"nested", "SFL.3 (0x72)"}), 0);  // reserved bit in a PML4E
    EXPECT_GT(hits(c, "translation.kind_x_fault", {"nested", "SFL.2 (0x71)"}), 0);  // not-present leaf
    EXPECT_GT(hits(c, "queue.error", {"IQE 4 reserved field"}), 0);                 // the corrupt descriptor
    EXPECT_GT(hits(c, "queue.error", {"ITE"}), 0);                                  // the silent ATS device
}

TEST_F(CoverageProgram, LockstepRunCoversItsComparisons) {
    ASSERT_EQ(run("-q --iotlb lockstep --coverage c.json nested-invalidate"), 0) << err();
    EXPECT_GT(hits(file("c.json"), "lockstep.comparison", {"lookup"}), 0);
}

TEST_F(CoverageProgram, MergeReportAndRegressCoverage) {
    ASSERT_EQ(run("regress invalidation-storm --seeds 1-2 -j 2 --out r --coverage all.json"), 0) << out() << err();
    const json all = file("all.json");
    const json one = file("r/seed-1.coverage.json");
    const json two = file("r/seed-2.coverage.json");
    ASSERT_EQ(all["runs"].size(), 2u);
    for (const std::vector<std::string>& at :
         {std::vector<std::string>{"nested", "no fault"}, std::vector<std::string>{"nested", "2 MiB"}}) {
        const std::string point = at[1] == "2 MiB" ? "translation.kind_x_page" : "translation.kind_x_fault";
        EXPECT_EQ(hits(all, point, at), hits(one, point, at) + hits(two, point, at)) << at[1];
    }
    ASSERT_EQ(run("coverage merge r/seed-1.coverage.json r/seed-2.coverage.json -o again.json"), 0) << err();
    EXPECT_EQ(file("again.json")["points"], all["points"]);

    ASSERT_EQ(run("coverage report all.json --html report"), 0) << err();
    EXPECT_NE(out().find("functional coverage of 2 run(s): "), std::string::npos) << out();
    EXPECT_NE(out().find("holes ("), std::string::npos);
    EXPECT_NE(out().find("  translation.structure_fault: SRT.2 (0x39)\n"), std::string::npos) << out();
    const std::string page = test::file_text(m_dir / "report" / "index.html");
    EXPECT_NE(page.find("<table id=\"invalidation.scope_x_ih_x_dropped\">"), std::string::npos);
}

TEST_F(CoverageProgram, BadInputWritesNothing) {
    std::ofstream(m_dir / "bad.json") << "{\"format\": \"something else\"}";
    EXPECT_EQ(run("coverage merge bad.json -o out.json"), 2);
    EXPECT_NE(err().find("bad.json: not an iommusim coverage file"), std::string::npos) << err();
    EXPECT_EQ(run("coverage merge missing.json -o out.json"), 2);
    EXPECT_NE(err().find("missing.json: cannot be read"), std::string::npos) << err();
    EXPECT_FALSE(fs::exists(m_dir / "out.json"));
    EXPECT_EQ(run("coverage report bad.json --html h"), 2);
    EXPECT_FALSE(fs::exists(m_dir / "h"));
    EXPECT_EQ(run("coverage frobnicate"), 2);
    EXPECT_EQ(run("--coverage /proc/iommusim/c.json nested-invalidate"), 2);
    EXPECT_NE(err().find("--coverage: "), std::string::npos) << err();
}

}  // namespace
}  // namespace iommusim::program
