// `iommusim plot`: the output format follows the extension (checked by the files' own signatures),
// anything else is refused without writing; the title names the run, not the path; the latency
// panel marks p50 and p99. Runs the real gnuplot.
#include "program/plot.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <set>
#include <string>

namespace iommusim::program {
namespace {

namespace fs = std::filesystem;

// Statistics as the program writes them, with the run's metadata when given.
std::string stats_text(const std::string& metadata) {
    return "{" + metadata +
           R"("platform": {"invalidation_latency_ns": {"samples": 100, "min": 1000, "max": 1990, "mean": 1495,
              "p50": 1490, "p99": 1980, "buckets": [{"le_ns": 1023, "count": 3}, {"le_ns": 2047, "count": 97}]},
              "timeline": [{"t_ns": 1000, "iotlb_hits": 5, "iotlb_misses": 5},
                           {"t_ns": 2000, "iotlb_hits": 14, "iotlb_misses": 6}]}})";
}

class Plot : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = fs::temp_directory_path() / ("iommusim_plot_test_" + std::to_string(::getpid()) + "_" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }

    std::string write_stats(const std::string& name, const std::string& text) {
        const fs::path p = dir / name;
        std::ofstream(p) << text;
        return p.string();
    }
    static std::string read(const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    // Only `expected` is left in the directory: no temporaries, no partial output.
    void expect_only(std::initializer_list<std::string> expected) {
        std::set<std::string> names;
        for (const auto& e : fs::directory_iterator(dir)) {
            names.insert(e.path().filename().string());
        }
        EXPECT_EQ(names, std::set<std::string>(expected));
    }
    fs::path dir;
};

TEST_F(Plot, WritesSvgPdfOrPngAsTheExtensionSays) {
    const std::string stats =
        write_stats("stats.json", stats_text(R"("run": {"scenario": "invalidation-storm", "seed": 7}, )"));
    for (const char* name : {"out.svg", "out.pdf", "out.png", "upper.SVG"}) {
        ASSERT_EQ(plot_stats(stats, (dir / name).string()), "") << name;
    }
    const std::string svg = read(dir / "out.svg");
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u) << svg.substr(0, 80);
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_EQ(read(dir / "upper.SVG").rfind("<?xml", 0), 0u);
    EXPECT_EQ(read(dir / "out.pdf").rfind("%PDF-", 0), 0u);
    EXPECT_EQ(read(dir / "out.png").rfind("\x89PNG\r\n\x1a\n", 0), 0u);
    expect_only({"stats.json", "out.svg", "out.pdf", "out.png", "upper.SVG"});
}

TEST_F(Plot, TitleNamesTheScenarioAndSeedNotThePath) {
    const std::string stats =
        write_stats("storm-stats.json", stats_text(R"("run": {"scenario": "invalidation-storm", "seed": 7}, )"));
    ASSERT_EQ(plot_stats(stats, (dir / "out.svg").string()), "");
    const std::string svg = read(dir / "out.svg");
    EXPECT_NE(svg.find("iommusim: invalidation-storm, seed 7"), std::string::npos);
    EXPECT_EQ(svg.find("storm-stats.json"), std::string::npos);
    EXPECT_EQ(svg.find(dir.string()), std::string::npos);
}

TEST_F(Plot, TitleFallsBackToTheFileNameWithoutRunMetadata) {
    const std::string stats = write_stats("run-42.json", stats_text(""));
    ASSERT_EQ(plot_stats(stats, (dir / "out.svg").string()), "");
    const std::string svg = read(dir / "out.svg");
    EXPECT_NE(svg.find("iommusim: run-42.json"), std::string::npos);
    EXPECT_EQ(svg.find(dir.string()), std::string::npos) << "the name, not the path";
}

TEST_F(Plot, LatencyPanelMarksP50AndP99) {
    const std::string stats = write_stats("stats.json", stats_text(""));
    ASSERT_EQ(plot_stats(stats, (dir / "out.svg").string()), "");
    const std::string svg = read(dir / "out.svg");
    EXPECT_NE(svg.find("p50 1490 ns"), std::string::npos);
    EXPECT_NE(svg.find("p99 1980 ns"), std::string::npos);
}

TEST_F(Plot, RefusesAnExtensionThatNamesNoFormatAndWritesNothing) {
    const std::string stats = write_stats("stats.json", stats_text(""));
    for (const char* name : {"out.jpg", "out", "out.png.txt"}) {
        const std::string error = plot_stats(stats, (dir / name).string());
        EXPECT_NE(error.find(std::string(name) + "': the output must end in .png, .svg or .pdf"), std::string::npos)
            << error;
    }
    expect_only({"stats.json"});
}

TEST_F(Plot, StatisticsOfAnotherShapeAreReportedAndWriteNothing) {
    const std::string not_object = write_stats("array.json", "[1, 2, 3]");
    EXPECT_NE(plot_stats(not_object, (dir / "out.svg").string()).find("array.json has neither"), std::string::npos);
    const std::string wrong_types =
        write_stats("types.json", R"({"platform": {"invalidation_latency_ns": {"buckets": [{"le_ns": "x"}, 3]},
                                                   "timeline": "no"}})");
    EXPECT_NE(plot_stats(wrong_types, (dir / "out.svg").string()).find("types.json has neither"), std::string::npos);
    const std::string broken = write_stats("broken.json", "{\"platform\": ");
    EXPECT_NE(plot_stats(broken, (dir / "out.svg").string()).find("not valid JSON"), std::string::npos);
    expect_only({"array.json", "types.json", "broken.json"});
}

}  // namespace
}  // namespace iommusim::program
