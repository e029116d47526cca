// Scenario files: what the parser refuses (with the file, line and key), what each step kind checks
// when the program runs a file, and that the shipped files reproduce the built-in scenarios.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "program/cli_options.h"
#include "program/scenario_file.h"
#include "test_files.h"

namespace iommusim::program {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// ---- Parsing: accepted values, hand-checked ----

TEST(ScenarioFileParse, ReadsEveryPartOfAFile) {
    const std::string text = R"(name: demo
description: all parts
seed: 9
platform:
  devices: [{rid: 0x0100}, {rid: 0x0108, ats: true}]
  iommu: {iotlb_sets: 16}
guest:
  ram: 128M
  pages:
    A: {gpa: 0x100000, fill: 0xaa}
    L: {gpa: 0x400000, fill: 7}
stage1:
  - {gva: 0x40000000, page: A, write: false}
  - {gva: 0x40200000, gpa: 0x400000, size: 2M}
setup: {devices: [1, 0]}
steps:
  - dma: {device: 1, gva: 0x40000010, len: 16, expect: {page: A}}
  - dma: {gva: 0x40200000, len: 8, write: true, data: 0x5a, pasid: 3}
  - remap: {gva: 0x40201000, to: 0x600000}
  - invalidate: {device: 0, entries: [{addr: 0x40200000, npages: 512, leaf: true}, {addr: 0, npages: 1}], expect: EINVAL}
  - expect_stale_hits: 2
  - unmap: {gva: 0x40000000}
  - dma: {gva: 0x40000000, len: 4, expect: {fault: 0x71}}
)";
    scenario_document doc;
    ASSERT_EQ(parse_scenario_document(text, "demo.yaml", doc), "");
    EXPECT_EQ(doc.name, "demo");
    EXPECT_EQ(doc.description, "all parts");
    EXPECT_EQ(doc.seed, 9u);
    EXPECT_EQ(json::parse(doc.platform_json),
              json::parse(R"({"devices": [{"rid": "0x0100"}, {"rid": "0x0108", "ats": true}],
                              "iommu": {"iotlb_sets": 16}})"));
    EXPECT_EQ(doc.ram_bytes, 0x800'0000u);
    ASSERT_EQ(doc.pages.size(), 2u);
    EXPECT_EQ(doc.pages.at("L").gpa, 0x40'0000u);
    EXPECT_EQ(doc.pages.at("L").fill, 7);
    ASSERT_EQ(doc.stage1.size(), 2u);
    EXPECT_EQ(doc.stage1[0].gpa, 0x10'0000u);
    EXPECT_FALSE(doc.stage1[0].writable);
    EXPECT_EQ(doc.stage1[1].level, 2u);
    EXPECT_EQ(doc.devices, (std::vector<unsigned>{1, 0}));
    ASSERT_EQ(doc.steps.size(), 7u);
    EXPECT_EQ(doc.steps[0].line, 17u);
    const auto& read = std::get<dma_step>(doc.steps[0].body);
    EXPECT_EQ(read.device, 1u);
    EXPECT_EQ(read.expect.what, dma_expect::kind::page);
    const auto& write = std::get<dma_step>(doc.steps[1].body);
    EXPECT_EQ(write.device, 1u);  // the first of setup.devices
    EXPECT_TRUE(write.write);
    EXPECT_EQ(write.data, 0x5a);
    EXPECT_EQ(write.pasid, 3u);
    EXPECT_EQ(write.expect.what, dma_expect::kind::success);
    // A remap inside a 2 MiB leaf edits that leaf.
    EXPECT_EQ(std::get<remap_step>(doc.steps[2].body).gva, 0x4020'0000u);
    EXPECT_EQ(std::get<remap_step>(doc.steps[2].body).gpa, 0x60'0000u);
    const auto& inv = std::get<invalidate_step>(doc.steps[3].body);
    ASSERT_EQ(inv.entries.size(), 2u);
    EXPECT_EQ(inv.entries[0].npages, 512u);
    EXPECT_TRUE(inv.entries[0].leaf);
    EXPECT_FALSE(inv.entries[1].leaf);
    EXPECT_EQ(inv.expect_errno, EINVAL);
    EXPECT_EQ(std::get<stale_hits_step>(doc.steps[4].body).hits, 2u);
    EXPECT_EQ(std::get<dma_step>(doc.steps[6].body).expect.fault_reason, 0x71u);
}

TEST(ScenarioFileParse, TheNameDefaultsToThePathAndTheRandomStreamToAllPages) {
    const std::string text = R"(guest:
  pages: {P: {gpa: 0x1000, fill: 1}, Q: {gpa: 0x2000, fill: 2}}
stage1: [{gva: 0x0, page: P}, {gva: 0x1000, page: Q}]
steps:
  - random: {count: 5, gva: 0, pages: 2, remap_ratio: 0.5, write_ratio: 1}
)";
    scenario_document doc;
    ASSERT_EQ(parse_scenario_document(text, "r.yaml", doc), "");
    EXPECT_EQ(doc.name, "r.yaml");
    EXPECT_EQ(doc.ram_bytes, 64u << 20);
    const auto& r = std::get<random_step>(doc.steps[0].body);
    EXPECT_FALSE(r.seed.has_value());
    EXPECT_EQ(r.targets, (std::vector<uint64_t>{0x1000, 0x2000}));
    EXPECT_EQ(r.devices, (std::vector<unsigned>{0}));
    EXPECT_DOUBLE_EQ(r.remap_ratio, 0.5);
    EXPECT_TRUE(r.invalidate);
}

TEST(ScenarioFileParse, RunTakesTheFileAndTheOptionsOfAScenarioRun) {
    std::string error;
    const auto o = parse_cli({"run", "--seed", "4", "-q", "--stats-json", "s.json", "scenarios/a.yaml"}, error);
    ASSERT_TRUE(o) << error;
    EXPECT_EQ(o->command, "run");
    EXPECT_EQ(o->scenario, "scenarios/a.yaml");
    EXPECT_EQ(o->seed, 4u);
    EXPECT_EQ(o->level, verbosity::quiet);
    EXPECT_EQ(o->stats_json, "s.json");
    EXPECT_FALSE(parse_cli({"run", "a.yaml", "b.yaml"}, error));
    EXPECT_EQ(error, "more than one scenario given ('a.yaml' and 'b.yaml')");
}

TEST(ScenarioFileParse, ScenarioFileNamesEndInYaml) {
    EXPECT_TRUE(is_scenario_file_name("scenarios/a.yaml"));
    EXPECT_TRUE(is_scenario_file_name("a.yml"));
    EXPECT_FALSE(is_scenario_file_name("nested-invalidate"));
    EXPECT_FALSE(is_scenario_file_name(".yaml"));
}

// ---- Parsing: errors name the file, the line and the key ----

const char* const good_head = R"(guest:
  pages:
    A: {gpa: 0x100000, fill: 0xaa}
stage1:
  - {gva: 0x40000000, page: A}
)";

std::string parse_error(const std::string& text) {
    scenario_document doc;
    return parse_scenario_document(text, "t.yaml", doc);
}

TEST(ScenarioFileParse, ErrorsNameFileLineAndKey) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"nmae: x\nsteps: [{expect_stale_hits: 0}]\n", "t.yaml:1: nmae: unknown key (known: name, description"},
        {std::string(good_head) + "steps:\n  - dma: {gva: 0x40000000, len: many}\n",
         "t.yaml:7: steps[0].dma.len: must be a non-negative integer (decimal or 0x hexadecimal), not 'many'"},
        {std::string(good_head) + "steps:\n  - dma: {gva: 0x40000000, len: 5000}\n",
         "t.yaml:7: steps[0].dma.len: must be 1..4096, not 5000"},
        {std::string(good_head) + "steps:\n  - dma: {gva: 0x40000000, len: 4, colour: red}\n",
         "t.yaml:7: steps[0].dma.colour: unknown key"},
        {std::string(good_head) + "steps:\n  - jump: {gva: 0}\n", "t.yaml:7: steps[0].jump: unknown step"},
        {std::string(good_head) + "steps:\n  - dma: {gva: 0x40000000, len: 4, write: yes}\n",
         "t.yaml:7: steps[0].dma.write: must be true or false, not 'yes'"},
        {std::string(good_head) + "steps:\n  - dma: {gva: 0x40000000, len: 4, expect: {page: Z}}\n",
         "t.yaml:7: steps[0].dma.expect.page: no guest page named 'Z' (guest.pages)"},
        {std::string(good_head) + "steps:\n  - dma: {gva: 0x40000000, len: 4, expect: {fault: 0x99}}\n",
         "t.yaml:7: steps[0].dma.expect.fault: 0x99 is not a VT-d fault reason"},
        {std::string(good_head) + "steps:\n  - remap: {gva: 0x50000000, page: A}\n",
         "t.yaml:7: steps[0].remap.gva: no present stage-1 mapping covers GVA 0x50000000 at this step"},
        {std::string(good_head) + "steps:\n  - unmap: {gva: 0x40000000}\n  - remap: {gva: 0x40000000, to: 0}\n",
         "t.yaml:8: steps[1].remap.gva: no present stage-1 mapping covers GVA 0x40000000"},
        {std::string(good_head) + "steps:\n  - invalidate: {entries: [{addr: 0, npages: 1}], expect: ENOPE}\n",
         "t.yaml:7: steps[0].invalidate.expect: must be ok or an errno name"},
        {std::string(good_head) + "steps:\n  - random: {count: 3, gva: 0x40000000, pages: 2}\n",
         "t.yaml:7: steps[0].random.pages: GVA 0x40001000 of the window is not a 4 KiB stage-1 mapping"},
        {std::string(good_head) + "steps:\n  - random: {count: 3, gva: 0x40000000, pages: 1, write_ratio: 2}\n",
         "t.yaml:7: steps[0].random.write_ratio: must be a number from 0 to 1, not '2'"},
        {std::string(good_head) + "setup: {devices: [0]}\nsteps:\n  - dma: {device: 1, gva: 0, len: 4}\n",
         "t.yaml:8: steps[0].dma.device: device 1 is not attached (setup.devices)"},
        {"guest:\n  pages:\n    A: {gpa: 0x100000, fill: 256}\nsteps: [{expect_stale_hits: 0}]\n",
         "t.yaml:3: guest.pages.A.fill: must be 0..255, not 256"},
        {"guest:\n  ram: 1M\n  pages:\n    A: {gpa: 0x100000, fill: 1}\nsteps: [{expect_stale_hits: 0}]\n",
         "t.yaml:4: guest.pages.A.gpa: must be a 4 KiB-aligned GPA inside guest RAM"},
        {"guest: {ram: lots}\nsteps: [{expect_stale_hits: 0}]\n", "t.yaml:1: guest.ram: must be a size in bytes"},
        {"stage1:\n  - {gva: 0x40001000, gpa: 0x200000, size: 2M}\nsteps: [{expect_stale_hits: 0}]\n",
         "t.yaml:2: stage1[0]: gva and gpa must be aligned to the page size (0x200000)"},
        {"stage1:\n  - {gva: 0x0, gpa: 0x0, size: 8K}\nsteps: [{expect_stale_hits: 0}]\n",
         "t.yaml:2: stage1[0].size: must be 4K, 2M or 1G, not '8K'"},
        {"stage1:\n  - {gva: 0x0, gpa: 0x0}\n  - {gva: 0x0, gpa: 0x1000}\nsteps: [{expect_stale_hits: 0}]\n",
         "t.yaml:3: stage1[1]: overlaps a present mapping"},
        {"stage1:\n  - {gva: 0x0, gpa: 0x0, page: A}\nsteps: [{expect_stale_hits: 0}]\n",
         "t.yaml:2: stage1[0]: needs exactly one of gpa and page"},
        {"platform:\n  iommu: {bogus: 1}\nsteps: [{expect_stale_hits: 0}]\n", "t.yaml:2: platform: "},
        {"platform:\n  seed: -1\nsteps: [{expect_stale_hits: 0}]\n", "t.yaml:2: platform: "},
        {"platform: {devices: [{rid: 0x100}]}\nsetup: {devices: [2]}\nsteps: [{expect_stale_hits: 0}]\n",
         "t.yaml:2: setup.devices: the platform has 1 device(s)"},
        {std::string(good_head) + "steps:\n  - map: {gva: 0x40000000, page: A}\n",
         "t.yaml:7: steps[0].map: overlaps a present mapping"},
        {std::string(good_head) + "steps:\n  - entry_bits: {gva: 0x40000000, level: 5, set: 1}\n",
         "t.yaml:7: steps[0].entry_bits.level: must be 1..4, not 5"},
        {std::string(good_head) + "steps:\n  - entry_bits: {gva: 0x40000000, level: 4}\n",
         "t.yaml:7: steps[0].entry_bits: needs gva, level and set or clear"},
        {"stage1: [{gva: 0x40000000, gpa: 0x200000, size: 2M}]\nsteps:\n"
         "  - entry_bits: {gva: 0x40000000, level: 1, set: 4}\n",
         "t.yaml:3: steps[0].entry_bits.level: GVA 0x40000000 is mapped by a level-2 leaf: there is no level-1 entry"},
        {"steps:\n  - wait: {ns: 0}\n", "t.yaml:2: steps[0].wait.ns: must be 1..1000000000000, not 0"},
        {"steps:\n  - wait: {us: 3}\n", "t.yaml:2: steps[0].wait.us: unknown key (known: ns)"},
        // Two data pages at the top of 1 MiB leave no room for the PML4, PDPT, PD and PT.
        {"guest:\n  ram: 1M\n  pages: {A: {gpa: 0xfe000, fill: 1}}\nstage1: [{gva: 0, gpa: 0xff000}]\n"
         "steps: [{expect_stale_hits: 0}]\n",
         "t.yaml:2: guest.ram: 0x100000 bytes of guest RAM hold the data up to GPA 0x100000 but not the 4 stage-1 "
         "table page(s) above it"},
        {"name: x\n", "t.yaml:1: steps: missing"},
        {"steps: [\n", "t.yaml:2: not valid YAML"},
        {"- just\n- a list\n", "t.yaml:1: the scenario must be a mapping"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string err = parse_error(text);
        EXPECT_EQ(err.rfind(expected, 0), 0u) << "for:\n" << text << "got: " << err;
    }
    // The platform's own message names the key it refuses.
    EXPECT_NE(parse_error("platform:\n  iommu: {bogus: 1}\nsteps: [{expect_stale_hits: 0}]\n").find("bogus"),
              std::string::npos);
}

// pri_dma steps: the fault queue they need, how the VMM answers, and the hole a fix fills.
TEST(ScenarioFileParse, PriDmaStepsNeedTheFaultQueueAndAHoleToFill) {
    const std::string head = std::string(good_head) + "setup: {fault_queue: true}\nsteps:\n";
    scenario_document doc;
    ASSERT_EQ(parse_scenario_document(head + "  - pri_dma: {gva: 0x40000010, len: 8, write: true, data: 7}\n"
                                             "  - pri_dma: {gva: 0x40001020, len: 4, fault: {map: {gpa: 0x300000, "
                                             "write: false}}, expect: {data: 0}}\n"
                                             "  - pri_dma: {gva: 0x40002000, len: 1, fault: {response: invalid}}\n",
                                      "t.yaml", doc),
              "");
    EXPECT_TRUE(doc.fault_queue);
    ASSERT_EQ(doc.steps.size(), 3u);
    const auto& present = std::get<pri_dma_step>(doc.steps[0].body);
    EXPECT_FALSE(present.fault.has_value());
    EXPECT_TRUE(present.dma.write);
    EXPECT_EQ(present.dma.data, 7);
    const auto& hole = std::get<pri_dma_step>(doc.steps[1].body);
    ASSERT_TRUE(hole.fault && hole.fault->map);
    EXPECT_TRUE(hole.fault->success);
    EXPECT_EQ(hole.fault->map->gva, 0x4000'1000u) << "the faulting 4 KiB page";
    EXPECT_EQ(hole.fault->map->gpa, 0x30'0000u);
    EXPECT_FALSE(hole.fault->map->writable);
    EXPECT_EQ(hole.dma.expect.what, dma_expect::kind::data);
    const auto& refused = std::get<pri_dma_step>(doc.steps[2].body);
    ASSERT_TRUE(refused.fault.has_value());
    EXPECT_FALSE(refused.fault->success);
    EXPECT_FALSE(refused.fault->map.has_value());

    const std::vector<std::pair<std::string, std::string>> cases{
        {std::string(good_head) + "steps:\n  - pri_dma: {gva: 0x40000000, len: 4}\n",
         "t.yaml:7: steps[0].pri_dma: needs setup.fault_queue: true"},
        {std::string(good_head) + "setup: {fault_queue: yes}\nsteps:\n  - pri_dma: {gva: 0x40000000, len: 4}\n",
         "t.yaml:6: setup.fault_queue: must be true or false, not 'yes'"},
        {head + "  - pri_dma: {gva: 0x40000000, len: 4, pasid: 5}\n", "t.yaml:8: steps[0].pri_dma.pasid: unknown key"},
        {head + "  - pri_dma: {gva: 0x40000000, len: 0}\n", "t.yaml:8: steps[0].pri_dma.len: must be 1..4096, not 0"},
        {head + "  - pri_dma: {gva: 0x50000000, len: 4, fault: {response: maybe}}\n",
         "t.yaml:8: steps[0].pri_dma.fault.response: must be success or invalid, not 'maybe'"},
        {head + "  - pri_dma: {gva: 0x40000008, len: 4, fault: {map: {page: A}}}\n",
         "t.yaml:8: steps[0].pri_dma.fault.map: GVA 0x40000000 is mapped at this step: there is no hole to fill"},
        {head + "  - pri_dma: {gva: 0x50000000, len: 4, fault: {map: {page: A}}}\n"
                "  - pri_dma: {gva: 0x50000000, len: 4, fault: {map: {page: A}}}\n",
         "t.yaml:9: steps[1].pri_dma.fault.map: GVA 0x50000000 is mapped at this step"},
        {head + "  - pri_dma: {gva: 0x50000000, len: 4, fault: {map: {page: Z}}}\n",
         "t.yaml:8: steps[0].pri_dma.fault.map.page: no guest page named 'Z' (guest.pages)"},
        {head + "  - pri_dma: {gva: 0x50000000, len: 4, fault: {map: {page: A}, response: invalid}}\n",
         "t.yaml:8: steps[0].pri_dma.fault.map: a fault answered invalid fixes nothing"},
        {head + "  - pri_dma: {gva: 0x50000000, len: 4, fault: {response: invalid}, expect: {data: 0}}\n",
         "t.yaml:8: steps[0].pri_dma.expect: an access answered invalid fails: there is nothing to expect"},
        {head + "  - pri_dma: {gva: 0x50000000, len: 4, fault: {retry: 2}}\n",
         "t.yaml:8: steps[0].pri_dma.fault.retry: unknown key (known: map, response)"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string err = parse_error(text);
        EXPECT_EQ(err.rfind(expected, 0), 0u) << "for:\n" << text << "got: " << err;
    }
}

// storm and dirty_tracking steps: the built-ins' parameters as fields, with their defaults and
// ranges; each brings its own setup and runs alone.
TEST(ScenarioFileParse, StormAndDirtyTrackingStepsTakeTheBuiltInsParameters) {
    scenario_document doc;
    ASSERT_EQ(parse_scenario_document("steps:\n  - storm: {rounds: 5, max_batch: 3, seed: 9}\n", "t.yaml", doc), "");
    const auto& storm = std::get<storm_step>(doc.steps.at(0).body);
    EXPECT_EQ(storm.seed, 9u);
    EXPECT_EQ(storm.params.rounds, 5u);
    EXPECT_EQ(storm.params.max_batch, 3u);
    // The rest are the built-in's defaults (README: 400, 64, 256, 16, 24).
    EXPECT_EQ(storm.params.pages_per_device, 64u);
    EXPECT_EQ(storm.params.data_pages, 256u);
    EXPECT_EQ(storm.params.max_range_pages, 24u);
    ASSERT_EQ(parse_scenario_document("steps:\n  - dirty_tracking: {writes: 7}\n", "t.yaml", doc), "");
    const auto& dirty = std::get<dirty_tracking_step>(doc.steps.at(0).body);
    EXPECT_FALSE(dirty.seed.has_value());
    EXPECT_EQ(dirty.params.rounds, 8u);
    EXPECT_EQ(dirty.params.pages, 256u);
    EXPECT_EQ(dirty.params.writes, 7u);

    const std::vector<std::pair<std::string, std::string>> cases{
        {"steps:\n  - storm: {rounds: 0}\n", "t.yaml:2: steps[0].storm.rounds: must be 1..100000, not 0"},
        {"steps:\n  - storm: {pages: 16}\n", "t.yaml:2: steps[0].storm.pages: must be 32..512, not 16"},
        {"steps:\n  - storm: {devices: 2}\n", "t.yaml:2: steps[0].storm.devices: unknown key (known: seed, rounds"},
        {"steps:\n  - storm:\n", "t.yaml:2: steps[0].storm: must be a mapping of the storm's parameters"},
        {"steps:\n  - dirty_tracking: {writes: 5000}\n",
         "t.yaml:2: steps[0].dirty_tracking.writes: must be 1..4096, not 5000"},
        {"steps:\n  - storm: {}\n  - wait: {ns: 5}\n",
         "t.yaml:2: steps[0].storm: brings its own setup (the built-in invalidation-storm's): the file has no "
         "guest, stage1 or setup and no other step"},
        {std::string(good_head) + "steps:\n  - dirty_tracking: {}\n",
         "t.yaml:7: steps[0].dirty_tracking: brings its own setup (the built-in dirty-tracking's)"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string err = parse_error(text);
        EXPECT_EQ(err.rfind(expected, 0), 0u) << "for:\n" << text << "got: " << err;
    }
}

TEST(ScenarioFileParse, AFileThatCannotBeReadIsAnError) {
    std::string error;
    EXPECT_EQ(load_scenario_file("/nonexistent/s.yaml", error), nullptr);
    EXPECT_EQ(error, "cannot read scenario file /nonexistent/s.yaml");
}

// ---- Running files: every step kind passing and failing ----

struct result {
    int status = -1;
    std::string out;
};

class ScenarioFileRun : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("iommusim_scnfile_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    // Runs the program in m_dir (IOMMUSIM_IOTLB unset); stdout and stderr together.
    result run(const std::vector<std::string>& args) {
        std::string cmd = "cd '" + m_dir.string() + "' && env -u IOMMUSIM_IOTLB '" + IOMMUSIM_PROGRAM + "'";
        for (const std::string& a : args) {
            cmd += " '" + a + "'";
        }
        cmd += " >out.txt 2>&1";
        const int rc = std::system(cmd.c_str());
        result r;
        r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
        r.out = test::file_text(m_dir / "out.txt");
        return r;
    }
    // Runs a file of a 64 MiB guest with pages A (0xaa), B (0xbb) and GVA 0x40000000 -> A, and `steps`.
    result run_steps(const std::string& steps) {
        std::ofstream(m_dir / "s.yaml") << R"(guest:
  pages:
    A: {gpa: 0x100000, fill: 0xaa}
    B: {gpa: 0x200000, fill: 0xbb}
stage1:
  - {gva: 0x40000000, page: A}
  - {gva: 0x40001000, page: B, write: false}
setup: {devices: [0]}
steps:
)" << steps;
        return run({"run", "s.yaml"});
    }
    static bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

    fs::path m_dir;
};

TEST_F(ScenarioFileRun, DmaReadExpectsDataOrAPage) {
    result r = run_steps(
        "  - dma: {gva: 0x40000000, len: 16, expect: {data: 0xaa}}\n"
        "  - dma: {gva: 0x40000008, len: 16, expect: {page: A}}\n");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(has(r.out, "ok: step 2 (line 11): DMA read of 16 bytes at GVA 0x40000008 from vfio0 reads page A"))
        << r.out;

    r = run_steps(
        "  - dma: {gva: 0x40000000, len: 16, expect: {data: 0xab}}\n"
        "  - dma: {gva: 0x40000000, len: 16, expect: {page: B}}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 1 (line 10): DMA read of 16 bytes at GVA 0x40000000 from vfio0 reads 0xab "
                    "(byte 0 is 0xaa)"))
        << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 2 (line 11): DMA read of 16 bytes at GVA 0x40000000 from vfio0 reads page B "
                    "(byte 0 is 0xaa, page B has 0xbb)"))
        << r.out;
    EXPECT_TRUE(has(r.out, "RESULT: FAILED (2 check(s) failed)")) << r.out;
}

TEST_F(ScenarioFileRun, DmaWriteLandsInThePageOrFaultsOnAReadOnlyMapping) {
    result r = run_steps(
        "  - dma: {gva: 0x40000010, len: 8, write: true, data: 0x5c, expect: {page: A}}\n"
        "  - dma: {gva: 0x40000010, len: 8, expect: {data: 0x5c}}\n"
        "  - dma: {gva: 0x40000018, len: 8, expect: {data: 0xaa}}\n");
    EXPECT_EQ(r.status, 0) << r.out;
    r = run_steps("  - dma: {gva: 0x40000010, len: 8, write: true, data: 0x5c, expect: {page: B}}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 1 (line 10): DMA write of 8 bytes at GVA 0x40000010 from vfio0 lands in page "
                    "B (page B byte 0 is 0xbb: the write went elsewhere)"))
        << r.out;
    // A write through a stage-1 entry without R/W: the first stage does not permit it.
    r = run_steps("  - dma: {gva: 0x40001000, len: 4, write: true, data: 1, expect: {fault: none}}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 1 (line 10): DMA write of 4 bytes at GVA 0x40001000 from vfio0 succeeds "
                    "(it faulted with 0x"))
        << r.out;
}

TEST_F(ScenarioFileRun, DmaExpectsAFaultReason) {
    // An unmapped GVA: the first-stage entry is not present, SFL.2 (0x71).
    result r = run_steps("  - dma: {gva: 0x50000000, len: 4, expect: {fault: 0x71}}\n");
    EXPECT_EQ(r.status, 0) << r.out;
    r = run_steps(
        "  - dma: {gva: 0x40000000, len: 4, expect: {fault: 0x71}}\n"
        "  - dma: {gva: 0x50000000, len: 4, expect: {fault: none}}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 1 (line 10): DMA read of 4 bytes at GVA 0x40000000 from vfio0 faults with "
                    "0x71 (SFL.2) (it succeeded)"))
        << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 2 (line 11): DMA read of 4 bytes at GVA 0x50000000 from vfio0 succeeds (it "
                    "faulted with 0x71 (SFL.2))"))
        << r.out;
}

TEST_F(ScenarioFileRun, RemapInvalidateAndStaleHits) {
    const std::string remap =
        "  - dma: {gva: 0x40000000, len: 4, expect: {page: A}}\n"
        "  - remap: {gva: 0x40000000, page: B}\n";
    result r = run_steps(remap +
                         "  - invalidate: {entries: [{addr: 0x40000000, npages: 1, leaf: true}], expect: ok}\n"
                         "  - dma: {gva: 0x40000000, len: 4, expect: {page: B}}\n"
                         "  - expect_stale_hits: 0\n");
    EXPECT_EQ(r.status, 0) << r.out;
    // Without the invalidation the IOTLB serves page A and the checker counts it.
    r = run_steps(remap +
                  "  - dma: {gva: 0x40000000, len: 4, expect: {page: B}}\n"
                  "  - expect_stale_hits: 0\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 3 (line 12): DMA read of 4 bytes at GVA 0x40000000 from vfio0 reads page B "
                    "(byte 0 is 0xaa, page B has 0xbb)"))
        << r.out;
    EXPECT_TRUE(has(r.out, "checker: stale IOTLB hit: rid 0x100 no PASID addr 0x40000000")) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 4 (line 13): the stale-translation checker reports 0 stale hit(s) since the "
                    "previous count (got 1)"))
        << r.out;
}

TEST_F(ScenarioFileRun, UnmapThenInvalidateFaults) {
    const result r = run_steps(
        "  - dma: {gva: 0x40000000, len: 4, expect: {page: A}}\n"
        "  - unmap: {gva: 0x40000000}\n"
        "  - invalidate: {entries: [{addr: 0x40000000, npages: 1, leaf: true}]}\n"
        "  - dma: {gva: 0x40000000, len: 4, expect: {fault: 0x71}}\n");
    EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(ScenarioFileRun, MapAfterUnmapAndReservedBitsInADirectoryEntry) {
    // PS is reserved in a PML4 entry (docs/vtd-facts.md §5.1): SFL.3 (0x72) once the non-leaf
    // invalidation drops the cached directory entries; clearing it again repairs the walk.
    result r = run_steps(
        "  - entry_bits: {gva: 0x40000000, level: 4, set: 0x80}\n"
        "  - invalidate: {entries: [{addr: 0x40000000, npages: 1}]}\n"
        "  - dma: {gva: 0x40000000, len: 4, expect: {fault: 0x72}}\n"
        "  - entry_bits: {gva: 0x40000000, level: 4, clear: 0x80}\n"
        "  - invalidate: {entries: [{addr: 0x40000000, npages: 1}]}\n"
        "  - dma: {gva: 0x40000000, len: 4, expect: {page: A}}\n"
        "  - unmap: {gva: 0x40000000}\n"
        "  - map: {gva: 0x40000000, page: B}\n"
        "  - invalidate: {entries: [{addr: 0x40000000, npages: 1, leaf: true}]}\n"
        "  - dma: {gva: 0x40000000, len: 4, expect: {page: B}}\n");
    EXPECT_EQ(r.status, 0) << r.out;
    // Clearing the leaf's R/W bit (bit 1) makes a write fault; the check names what happened.
    r = run_steps(
        "  - entry_bits: {gva: 0x40000000, level: 1, clear: 2}\n"
        "  - invalidate: {entries: [{addr: 0x40000000, npages: 1, leaf: true}]}\n"
        "  - dma: {gva: 0x40000000, len: 4, write: true, data: 1, expect: {page: A}}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 3 (line 12): DMA write of 4 bytes at GVA 0x40000000 from vfio0 lands in page "
                    "A (it faulted with 0x"))
        << r.out;
}

TEST_F(ScenarioFileRun, WaitLetsSimulatedTimePass) {
    const std::string dma = "  - dma: {gva: 0x40000000, len: 4, expect: {page: A}}\n";
    std::ofstream(m_dir / "plain.yaml") << "stage1: [{gva: 0x40000000, gpa: 0x100000}]\nguest: {pages: {A: {gpa: "
                                           "0x100000, fill: 1}}}\nsteps:\n"
                                        << dma << dma;
    std::ofstream(m_dir / "wait.yaml") << "stage1: [{gva: 0x40000000, gpa: 0x100000}]\nguest: {pages: {A: {gpa: "
                                          "0x100000, fill: 1}}}\nsteps:\n"
                                       << dma << "  - wait: {ns: 5000}\n"
                                       << dma;
    ASSERT_EQ(run({"run", "-q", "--stats-json", "plain.json", "plain.yaml"}).status, 0);
    const result r = run({"run", "--stats-json", "wait.json", "wait.yaml"});
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(has(r.out, "step 2 (line 5): 5000 ns of simulated time pass")) << r.out;
    const json plain = json::parse(test::file_text(m_dir / "plain.json"));
    const json waited = json::parse(test::file_text(m_dir / "wait.json"));
    EXPECT_EQ(waited["platform"]["simulated_ns"].get<uint64_t>(),
              plain["platform"]["simulated_ns"].get<uint64_t>() + 5000);
}

TEST_F(ScenarioFileRun, InvalidateExpectsTheKernelsErrno) {
    // drivers/iommu/intel/nested.c: an address that is not 4 KiB-aligned is EINVAL (entry_num 0).
    result r = run_steps("  - invalidate: {entries: [{addr: 0x40000800, npages: 1}], expect: EINVAL}\n");
    EXPECT_EQ(r.status, 0) << r.out;
    r = run_steps("  - invalidate: {entries: [{addr: 0x40000000, npages: 1}, {addr: 0x40000800, npages: 1}]}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 1 (line 10): IOMMU_HWPT_INVALIDATE of vfio0's nested HWPT [{addr 0x40000000, "
                    "npages 1}, {addr 0x40000800, npages 1}] succeeds with entry_num 2 (got EINVAL, "
                    "entry_num 1)"))
        << r.out;
    r = run_steps("  - invalidate: {entries: [{addr: 0x40000000, npages: 1}], expect: EINVAL}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out, "fails with EINVAL (got ok, entry_num 1)")) << r.out;
}

TEST_F(ScenarioFileRun, RandomStreamChecksItselfAndCatchesAMissingInvalidation) {
    const std::string pages =
        "  - random: {seed: 5, count: 60, gva: 0x40000000, pages: 1, remap_ratio: 0.5, "
        "write_ratio: 0.5, targets: [A, B]";
    result r = run_steps(pages + "}\n  - expect_stale_hits: 0\n");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(has(r.out,
                    "ok: step 1 (line 10): every DMA of the random stream saw the guest's current mapping (0 "
                    "of 60 did not)"))
        << r.out;
    // The same stream without the guest's invalidations reads and writes stale pages.
    r = run_steps(pages + ", invalidate: false}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out, "FAILED: step 1 (line 10) round ")) << r.out;
    EXPECT_TRUE(has(r.out, "FAILED: step 1 (line 10): every DMA of the random stream saw the guest's current mapping"))
        << r.out;
}

TEST_F(ScenarioFileRun, ABadFileIsRefusedBeforeTheRunWithExitStatus2) {
    std::ofstream(m_dir / "bad.yaml") << "steps:\n  - dma: {gva: 0, len: 0}\n";
    const result r = run({"run", "bad.yaml"});
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "iommusim: bad.yaml:2: steps[0].dma.len: must be 1..4096, not 0\n");
    EXPECT_EQ(run({"run", "missing.yaml"}).out, "iommusim: cannot read scenario file missing.yaml\n");
}

// ---- The shipped files reproduce the built-in scenarios ----

// The counters of the model, the driver and the platform (translations, IOTLB hits and misses,
// walks, stale hits, descriptors, simulated times): a file doing what a built-in does drives the
// platform through the same operations in the same order.
void expect_same_counters(const json& builtin, const json& file) {
    for (const char* block : {"model", "driver", "platform"}) {
        ASSERT_TRUE(builtin.contains(block)) << block;
        EXPECT_EQ(file[block], builtin[block]) << block;
    }
}

TEST_F(ScenarioFileRun, NestedInvalidateFileHasTheBuiltInsStatistics) {
    const std::string file = std::string(IOMMUSIM_SOURCE_DIR) + "/scenarios/nested-invalidate.yaml";
    ASSERT_EQ(run({"-q", "--stats-json", "b.json", "nested-invalidate"}).status, 0);
    const result r = run({"run", "-q", "--stats-json", "f.json", file});
    ASSERT_EQ(r.status, 0) << r.out;
    const json builtin = json::parse(test::file_text(m_dir / "b.json"));
    const json from_file = json::parse(test::file_text(m_dir / "f.json"));
    expect_same_counters(builtin, from_file);
    // Hand-counted: three DMA reads of 64 bytes: an IOTLB miss and walk, the stale hit, a miss and
    // walk after the invalidation.
    const json& t = from_file["model"]["translation"];
    EXPECT_EQ(t["translations"], 3);
    EXPECT_EQ(t["iotlb_hits"], 1);
    EXPECT_EQ(t["iotlb_misses"], 2);
    EXPECT_EQ(t["walks"], 2);
    EXPECT_EQ(t["stale_hits"], 1);
    EXPECT_EQ(from_file["model"]["iommu"]["dma_bytes"], 192);
    EXPECT_EQ(from_file["platform"]["stale_hits"], 1);
    EXPECT_EQ(from_file["run"]["scenario"], file);
}

TEST_F(ScenarioFileRun, MissingInvalidationFileHasTheBuiltInsStatistics) {
    const std::string file = std::string(IOMMUSIM_SOURCE_DIR) + "/scenarios/missing-invalidation.yaml";
    ASSERT_EQ(run({"-q", "--stats-json", "b.json", "missing-invalidation"}).status, 1);
    const result r = run({"run", "-q", "--stats-json", "f.json", file});
    ASSERT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out, "checker: stale IOTLB hit: rid 0x100 no PASID addr 0x40000000")) << r.out;
    expect_same_counters(json::parse(test::file_text(m_dir / "b.json")),
                         json::parse(test::file_text(m_dir / "f.json")));
}

// A pri_dma step checks that the fault comes, what the fault fd names, and the retried access.
TEST_F(ScenarioFileRun, PriDmaChecksTheFaultTheFixAndTheRetry) {
    auto file = [&](const std::string& steps) {
        std::ofstream(m_dir / "p.yaml") << R"(platform:
  iommu: {prs: true}
  devices: [{rid: 0x0100, ats: true, pri: true}]
guest:
  pages:
    A: {gpa: 0x100000, fill: 0xaa}
    B: {gpa: 0x200000, fill: 0xbb}
stage1:
  - {gva: 0x40000000, page: A}
setup: {fault_queue: true}
steps:
)" << steps;
        return run({"run", "p.yaml"});
    };
    result r = file(
        "  - pri_dma: {gva: 0x40000000, len: 8, expect: {data: 0xaa}}\n"
        "  - pri_dma: {gva: 0x40001000, len: 8, fault: {map: {page: B}}, expect: {data: 0xbb}}\n"
        "  - dma: {gva: 0x40001000, len: 8, expect: {page: B}}\n"
        "  - pri_dma: {gva: 0x40002000, len: 8, write: true, data: 1, fault: {response: invalid}}\n");
    EXPECT_EQ(r.status, 0) << r.out;
    // The same steps where the guest's table says otherwise.
    r = file(
        "  - pri_dma: {gva: 0x40000000, len: 8, fault: {response: invalid}}\n"
        "  - pri_dma: {gva: 0x40001000, len: 8, expect: {data: 0xbb}}\n");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 1 (line 12): DMA read of 8 bytes at GVA 0x40000000 from vfio0 (ATS, PRI): the "
                    "translation ends in a page request (it was granted at once)"))
        << r.out;
    EXPECT_TRUE(has(r.out,
                    "FAILED: step 2 (line 13): DMA read of 8 bytes at GVA 0x40001000 from vfio0 (ATS, PRI): the "
                    "translation grants the access at once (it sent a page request)"))
        << r.out;
}

TEST_F(ScenarioFileRun, IopfFileHasTheBuiltInsStatistics) {
    const std::string file = std::string(IOMMUSIM_SOURCE_DIR) + "/scenarios/iopf.yaml";
    ASSERT_EQ(run({"-q", "--stats-json", "b.json", "iopf"}).status, 0);
    const result r = run({"run", "-q", "--stats-json", "f.json", file});
    ASSERT_EQ(r.status, 0) << r.out;
    const json from_file = json::parse(test::file_text(m_dir / "f.json"));
    expect_same_counters(json::parse(test::file_text(m_dir / "b.json")), from_file);
    // Hand-counted: 32 pages, the 16 odd ones holes, and one access past the window answered
    // Invalid: a page request and a response for each hole and that access, a retry for each hole.
    const json& d = from_file["platform"]["devices"][1];
    EXPECT_EQ(d["page_requests"], 17);
    EXPECT_EQ(d["page_responses"], 17);
    EXPECT_EQ(d["page_request_retries"], 16);
    EXPECT_EQ(d["retries_granted"], 16);
    EXPECT_EQ(d["page_request_failures"], 1);
    EXPECT_EQ(d["transfers"], 32);
    EXPECT_EQ(d["bytes"], 32 * 64);
    EXPECT_EQ(from_file["model"]["iommu"]["page_request_events"], 17);
}

TEST_F(ScenarioFileRun, StormFileHasTheBuiltInsStatistics) {
    const std::string file = std::string(IOMMUSIM_SOURCE_DIR) + "/scenarios/invalidation-storm.yaml";
    ASSERT_EQ(run({"-q", "--seed", "4", "--stats-json", "b.json", "invalidation-storm"}).status, 0);
    const result r = run({"run", "-q", "--seed", "4", "--stats-json", "f.json", file});
    ASSERT_EQ(r.status, 0) << r.out;
    const json from_file = json::parse(test::file_text(m_dir / "f.json"));
    expect_same_counters(json::parse(test::file_text(m_dir / "b.json")), from_file);
    EXPECT_EQ(from_file["platform"]["stale_hits"], 0);
    EXPECT_EQ(from_file["platform"]["devices"].size(), 4u) << "the default platform's devices";
    // The step's fields are the built-in's parameters: fewer rounds, another run.
    std::ofstream(m_dir / "short.yaml") << "steps:\n  - storm: {rounds: 20, max_batch: 2}\n";
    ASSERT_EQ(
        run({"-q", "--param", "rounds=20", "--param", "max_batch=2", "--stats-json", "b20.json", "invalidation-storm"})
            .status,
        0);
    ASSERT_EQ(run({"run", "-q", "--stats-json", "f20.json", "short.yaml"}).status, 0);
    expect_same_counters(json::parse(test::file_text(m_dir / "b20.json")),
                         json::parse(test::file_text(m_dir / "f20.json")));
}

TEST_F(ScenarioFileRun, DirtyTrackingFileHasTheBuiltInsStatistics) {
    const std::string file = std::string(IOMMUSIM_SOURCE_DIR) + "/scenarios/dirty-tracking.yaml";
    ASSERT_EQ(run({"-q", "--stats-json", "b.json", "dirty-tracking"}).status, 0);
    const result r = run({"run", "-q", "--stats-json", "f.json", file});
    ASSERT_EQ(r.status, 0) << r.out;
    expect_same_counters(json::parse(test::file_text(m_dir / "b.json")),
                         json::parse(test::file_text(m_dir / "f.json")));
}

TEST_F(ScenarioFileRun, TheFilesSeedAndPlatformAreDefaultsTheFlagsOverride) {
    const std::string file = std::string(IOMMUSIM_SOURCE_DIR) + "/scenarios/random-remaps.yaml";
    ASSERT_EQ(run({"run", "-q", "--stats-json", "a.json", file}).status, 0);
    const json a = json::parse(test::file_text(m_dir / "a.json"));
    EXPECT_EQ(a["run"]["config"]["seed"], 1);
    ASSERT_EQ(a["run"]["config"]["devices"].size(), 2u);
    ASSERT_EQ(run({"run", "-q", "--seed", "7", "--stats-json", "b.json", file}).status, 0);
    const json b = json::parse(test::file_text(m_dir / "b.json"));
    EXPECT_EQ(b["run"]["config"]["seed"], 7);
    EXPECT_NE(a["model"], b["model"]);  // another stream
}

TEST_F(ScenarioFileRun, RegressRunsAFileOverSeeds) {
    const std::string file = std::string(IOMMUSIM_SOURCE_DIR) + "/scenarios/random-remaps.yaml";
    const result r = run({"regress", file, "--seeds", "1-3", "-j", "1"});
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_TRUE(has(r.out, "3 seeds, 3 passed, 0 failed")) << r.out;
    // Results go under the file's stem, each seed's statistics naming the file.
    const json stats = json::parse(test::file_text(m_dir / "regress/random-remaps/seed-2.stats.json"));
    EXPECT_EQ(stats["run"]["scenario"], file);
    EXPECT_EQ(stats["run"]["seed"], 2);
    std::ofstream(m_dir / "bad.yaml") << "steps: 3\n";
    const result bad = run({"regress", "bad.yaml", "--seeds", "1-3"});
    EXPECT_EQ(bad.status, 2) << bad.out;
    EXPECT_TRUE(has(bad.out, "bad.yaml:1: steps: must be a non-empty list of steps")) << bad.out;
}

}  // namespace
}  // namespace iommusim::program
