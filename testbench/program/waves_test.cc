// Wave output of a short scenario: the VCD is produced, well-formed, and shows the transactions
// (DMA valid pulses, the IOTLB hit of the stale access, the queue tail moving on the invalidation).
// With the RTL IOTLB the FST file of the RTL signals is produced next to it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "iommusim/hw/vtd_fault.h"
#include "platform/platform.h"
#include "platform/rtl_iotlb_view.h"
#include "program/scenario.h"
#include "program/vcd_reader.h"

namespace iommusim::program {
namespace {

bool contains(const std::vector<std::string>& values, const std::string& want) {
    for (const std::string& s : values) {
        if (s == want || (s.find_first_not_of('0') != std::string::npos && want == "nonzero")) {
            return true;
        }
    }
    return false;
}

std::string waves_dir() {
    const char* dir = std::getenv("IOMMUSIM_WAVES_DIR");
    std::filesystem::path p = dir ? dir : "waves";
    std::filesystem::create_directories(p);
    return p.string();
}

void run_scenario(const std::string& iotlb, const std::string& wave_path) {
    platform_config cfg;
    cfg.iommu.stale_check = true;
    cfg.iotlb = iotlb;
    cfg.waves = wave_path;
    std::string err;
    ASSERT_TRUE(platform::configure(cfg, &err)) << err;
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    run_nested_invalidate(log, cli_options{});
    EXPECT_FALSE(log.failed()) << out.str();
    platform::instance().finish();
}

TEST(Waves, TransactionLevelVcdShowsTheScenario) {
    const std::string path = waves_dir() + "/program_waves_nested_invalidate.vcd";
    std::filesystem::remove(path);
    run_scenario("cpp", path);
    ASSERT_TRUE(std::filesystem::exists(path));
    const vcd v = read_vcd(path);
    ASSERT_TRUE(v.header_ok);
    EXPECT_EQ(v.error, "");
    for (const char* name : {"vfio0.dma_valid", "vfio0.dma_iova", "vfio0.dma_hit", "vfio0.dma_fault", "qi.iqt",
                             "qi.iqh", "qi.desc_type", "iommu.iotlb_hits", "irq.fault", "irq.inv", "cpu.busy"}) {
        EXPECT_TRUE(v.id_of.count(name)) << "missing signal " << name;
    }
    EXPECT_TRUE(contains(values_of(v, "vfio0.dma_valid"), "1"));
    EXPECT_TRUE(contains(values_of(v, "vfio0.dma_valid"), "0"));
    EXPECT_TRUE(contains(values_of(v, "vfio0.dma_hit"), "1")) << "the stale access hit the IOTLB";
    EXPECT_TRUE(contains(values_of(v, "vfio0.dma_iova"), "nonzero"));
    EXPECT_GE(values_of(v, "qi.iqt").size(), 2u) << "the queue tail moved (bring-up, attach, invalidation)";
    EXPECT_TRUE(contains(values_of(v, "qi.desc_type"), "nonzero"));
    EXPECT_TRUE(contains(values_of(v, "iommu.iotlb_hits"), "nonzero"));
    EXPECT_TRUE(contains(values_of(v, "cpu.busy"), "1"));
}

TEST(Waves, GtkwViewIsWrittenAndNamesOnlyTracedSignals) {
    const std::string path = waves_dir() + "/program_waves_view.vcd";
    const std::string gtkw = waves_dir() + "/program_waves_view.gtkw";
    std::filesystem::remove(gtkw);
    run_scenario("cpp", path);
    ASSERT_TRUE(std::filesystem::exists(gtkw));
    const vcd v = read_vcd(path);
    std::ifstream in(gtkw);
    std::string line;
    unsigned traces = 0;
    while (std::getline(in, line)) {
        if (line.rfind("SystemC.", 0) != 0) {
            continue;
        }
        std::string name = line.substr(8);
        if (auto bracket = name.find('['); bracket != std::string::npos) {
            name.resize(bracket);
        }
        EXPECT_TRUE(v.id_of.count(name)) << "the view names " << name << ", which the VCD does not have";
        ++traces;
    }
    EXPECT_EQ(traces, v.id_of.size()) << "every traced signal is in the view";
}

// The translate filters shown by name in GTKWave must say what the shared definitions say.
TEST(Waves, FilterFilesMatchTheSharedDefinitions) {
    std::map<unsigned, std::string> filter;
    std::ifstream in(std::string(IOMMUSIM_SOURCE_DIR) + "/waves/fault_reason.txt");
    ASSERT_TRUE(in);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        filter[std::stoul(line.substr(0, 8), nullptr, 16)] = line.substr(9);
    }
    unsigned named = 0;
    for (unsigned code = 0; code < 256; ++code) {
        const std::string name(hw::fault_reason_name(static_cast<hw::fault_reason>(code)));
        if (name == "unknown fault reason") {
            EXPECT_FALSE(filter.count(code)) << std::hex << code;
            continue;
        }
        ++named;
        EXPECT_EQ(filter[code], name) << "fault reason 0x" << std::hex << code;
    }
    EXPECT_EQ(filter.size(), named);
}

TEST(Waves, RtlIotlbIsMergedIntoTheVcdAndKeptAsFst) {
    const std::string path = waves_dir() + "/program_waves_rtl.vcd";
    const std::string fst = waves_dir() + "/program_waves_rtl_iotlb.fst";
    std::filesystem::remove(path);
    std::filesystem::remove(fst);
    run_scenario("rtl", path);
    ASSERT_TRUE(std::filesystem::exists(path));
    ASSERT_TRUE(std::filesystem::exists(fst));
    EXPECT_GT(std::filesystem::file_size(fst), 100u);
    // The RTL signals are merged into the VCD: one view shows the DMA and the IOTLB lookups.
    const vcd v = read_vcd(path);
    ASSERT_TRUE(v.header_ok);
    EXPECT_EQ(v.error, "");
    EXPECT_TRUE(contains(values_of(v, "vfio0.dma_valid"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dut.lkp_req_valid_i"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dut.lkp_resp_hit_o"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dut.inv_req_valid_i"), "1")) << "the invalidation reached the RTL";
}

// Intervals [rise, fall) where a 1-bit signal is high.
std::vector<std::pair<uint64_t, uint64_t>> high_intervals(const vcd& v, const std::string& name) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    bool high = false;
    uint64_t since = 0;
    for (const auto& [t, value] : changes_of(v, name)) {
        if (value == "1" && !high) {
            high = true;
            since = t;
        } else if (value == "0" && high) {
            high = false;
            out.emplace_back(since, t);
        }
    }
    if (high) {
        out.emplace_back(since, UINT64_MAX);
    }
    return out;
}

bool inside(const std::vector<std::pair<uint64_t, uint64_t>>& intervals, uint64_t t) {
    for (const auto& [from, to] : intervals) {
        if (t >= from && t < to) {
            return true;
        }
    }
    return false;
}

// The value a signal has at time t (the last change at or before t).
std::string value_at(const vcd& v, const std::string& name, uint64_t t) {
    std::string value;
    for (const auto& [when, what] : changes_of(v, name)) {
        if (when <= t) {
            value = what;
        }
    }
    return value;
}

uint64_t number(const std::string& binary) {
    return std::stoull(binary, nullptr, 2);
}

// The nested-invalidate scenario on the RTL IOTLB: the IOMMU's counters step when the RTL
// IOTLB is asked (its lookup request in the merged file), inside the DMA, not at its end.
TEST(Waves, CountersStepAtTheIotlbLookupOfTheirDma) {
    const std::string path = waves_dir() + "/program_waves_timing.vcd";
    run_scenario("rtl", path);
    const vcd v = read_vcd(path);
    ASSERT_EQ(v.error, "");
    const auto dma = high_intervals(v, "vfio0.dma_valid");
    const auto lookups = high_intervals(v, "dut.lkp_req_valid_i");
    ASSERT_FALSE(lookups.empty());
    unsigned steps = 0;
    for (const char* counter : {"iommu.iotlb_misses", "iommu.iotlb_hits"}) {
        for (const auto& [t, value] : changes_of(v, counter)) {
            if (number(value) == 0) {
                continue;
            }
            ++steps;
            EXPECT_TRUE(inside(dma, t)) << counter << " steps at " << t << " ps, outside every DMA";
            // The RTL presents the lookup within one clock cycle (1000 ps) of the IOMMU's time.
            bool asked = false;
            for (const auto& [from, to] : lookups) {
                asked = asked || (from >= t && from <= t + 1000);
            }
            EXPECT_TRUE(asked) << counter << " steps at " << t << " ps without an RTL lookup there";
        }
    }
    EXPECT_EQ(steps, 3u) << "three DMAs: miss, stale hit, miss after the invalidation";
}

// Every memory access of a walk is shown with its address, table and level; the access counter
// ends where the model's statistics do.
TEST(Waves, WalkMemoryAccessesAreShownWithAddressStageAndLevel) {
    const std::string path = waves_dir() + "/program_waves_walk.vcd";
    run_scenario("cpp", path);
    const vcd v = read_vcd(path);
    ASSERT_EQ(v.error, "");
    std::map<uint64_t, unsigned> stages;  // walk_stage value -> changes to it
    for (const auto& [t, value] : changes_of(v, "iommu.walk_stage")) {
        ++stages[number(value)];
    }
    EXPECT_GT(stages[5], 0u) << "first-stage entries";
    EXPECT_GT(stages[6], 0u) << "second-stage entries (nested)";
    EXPECT_GT(stages[2], 0u) << "the context entry";
    std::map<uint64_t, unsigned> levels;
    for (const auto& [t, value] : changes_of(v, "iommu.walk_level")) {
        ++levels[number(value)];
    }
    for (uint64_t level : {1, 2, 3, 4}) {
        EXPECT_GT(levels[level], 0u) << "level " << level;
    }
    EXPECT_FALSE(changes_of(v, "iommu.walk_addr").empty());
    const auto stats = nlohmann::json::parse(platform::instance().stats_json());
    const auto& accesses = changes_of(v, "iommu.walk_accesses");
    ASSERT_FALSE(accesses.empty());
    EXPECT_EQ(number(accesses.back().second), stats["platform"]["walk_memory_accesses"].get<uint64_t>());
    EXPECT_EQ(number(changes_of(v, "iommu.walks").back().second), stats["platform"]["walks"].get<uint64_t>());
    // Each access is a change of the counter at its own time: the 4-level nested walks of a
    // DMA's miss spread over its duration, 60 ns (memory latency) apart.
    EXPECT_EQ(accesses.size() - 1, stats["platform"]["walk_memory_accesses"].get<uint64_t>());
}

// dma_hit and dma_fault say something only while dma_valid is high; the miss after the
// invalidation shows no hit.
TEST(Waves, DmaResultIsValidOnlyWhileTheDmaIsInFlight) {
    const std::string path = waves_dir() + "/program_waves_hit.vcd";
    run_scenario("cpp", path);
    const vcd v = read_vcd(path);
    ASSERT_EQ(v.error, "");
    const auto dma = high_intervals(v, "vfio0.dma_valid");
    for (const auto& [from, to] : high_intervals(v, "vfio0.dma_hit")) {
        EXPECT_TRUE(inside(dma, from) && (to == UINT64_MAX ? false : inside(dma, to - 1)))
            << "dma_hit high over [" << from << ", " << to << ") outside a DMA";
    }
    const auto& starts = changes_of(v, "vfio0.dma_seq");
    ASSERT_EQ(starts.size(), 4u) << "initial value and three DMAs";
    const uint64_t stale_start = starts[2].first, last_start = starts[3].first;
    EXPECT_EQ(value_at(v, "vfio0.dma_hit", stale_start), "1") << "the stale access hit";
    for (const auto& [t, value] : changes_of(v, "vfio0.dma_hit")) {
        if (t >= last_start) {
            EXPECT_EQ(value, "0") << "the DMA after the invalidation missed, yet dma_hit is 1 at " << t;
        }
    }
}

// cpu.busy is high only while an ioctl runs (never during the scenario's DMAs), with the ioctl's
// name beside it; the guest's edit of its present entry is marked.
TEST(Waves, CpuBusyOnlyDuringIoctlsWithTheirNames) {
    const std::string path = waves_dir() + "/program_waves_cpu.vcd";
    run_scenario("cpp", path);
    const vcd v = read_vcd(path);
    ASSERT_EQ(v.error, "");
    const auto busy = high_intervals(v, "cpu.busy");
    ASSERT_FALSE(busy.empty());
    for (const auto& [from, to] : high_intervals(v, "vfio0.dma_valid")) {
        EXPECT_FALSE(inside(busy, from)) << "cpu.busy high when the DMA at " << from << " starts";
        EXPECT_FALSE(inside(busy, to - 1)) << "cpu.busy high when the DMA ending at " << to << " ends";
    }
    bool invalidate_named = false;
    for (const auto& [from, to] : busy) {
        const std::string name = value_at(v, "cpu.ioctl", from);
        EXPECT_NE(name, "-") << "busy at " << from << " without an ioctl name";
        invalidate_named = invalidate_named || name == "IOMMU_HWPT_INVALIDATE";
        EXPECT_EQ(value_at(v, "cpu.ioctl", to), "-");
    }
    EXPECT_TRUE(invalidate_named);
    bool marked = false;
    for (const auto& [t, value] : changes_of(v, "guest.pte_edit")) {
        marked = marked || value == "remap_GVA_0x40000000_to_GPA_0x200000";
    }
    EXPECT_TRUE(marked) << "the guest's edit of its present entry is marked";
}

// The view names its translate filters by paths that resolve wherever the view is.
TEST(Waves, ViewFiltersResolveOutsideTheRepository) {
    const std::string dir = (std::filesystem::temp_directory_path() / "iommusim_view_test").string();
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/elsewhere.vcd";
    run_scenario("cpp", path);
    std::ifstream in(dir + "/elsewhere.gtkw");
    ASSERT_TRUE(in);
    std::string line;
    unsigned filters = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] != '^') {
            continue;
        }
        const std::string file = line.substr(line.find(' ') + 1);
        EXPECT_TRUE(std::filesystem::path(file).is_absolute()) << file;
        EXPECT_TRUE(std::filesystem::exists(file)) << file;
        ++filters;
    }
    EXPECT_GE(filters, 3u);
}

// A wave path ending in .fst gets the merged transaction-level + RTL waves as FST (vcd2fst), with
// its view beside it; the intermediate VCD is gone.
TEST(Waves, MergedWavesAsFstOnRequest) {
    const std::string dir = waves_dir();
    const std::string fst = dir + "/program_waves_merged.fst";
    std::filesystem::remove(fst);
    run_scenario("rtl", fst);
    ASSERT_TRUE(std::filesystem::exists(fst));
    EXPECT_FALSE(std::filesystem::exists(fst + ".vcd"));
    const std::string back = dir + "/program_waves_merged_back.vcd";
    ASSERT_EQ(std::system(("fst2vcd -f '" + fst + "' -o '" + back + "' >/dev/null 2>&1").c_str()), 0);
    const vcd v = read_vcd(back);
    EXPECT_EQ(v.error, "");
    EXPECT_TRUE(contains(values_of(v, "vfio0.dma_valid"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dut.lkp_req_valid_i"), "1"));
    std::ifstream view(dir + "/program_waves_merged.gtkw");
    std::stringstream text;
    text << view.rdbuf();
    EXPECT_NE(text.str().find("[dumpfile] \"" + fst + "\""), std::string::npos) << text.str();
}

// Views are written beside the wave file; none of them is a file the repository tracks, so a run
// with the default wave paths (waves/<scenario>.vcd) overwrites nothing that is checked in.
TEST(Waves, NoScenarioViewIsTrackedInTheRepository) {
    const std::string src = IOMMUSIM_SOURCE_DIR;
    if (std::system(("git -C '" + src + "' rev-parse >/dev/null 2>&1").c_str()) != 0) {
        GTEST_SKIP() << "not a git checkout";
    }
    for (const scenario& sc : all_scenarios()) {
        const std::string cmd =
            "git -C '" + src + "' ls-files --error-unmatch waves/" + sc.name + ".gtkw >/dev/null 2>&1";
        EXPECT_NE(std::system(cmd.c_str()), 0) << "waves/" << sc.name << ".gtkw is tracked; --waves would overwrite it";
    }
}

// The RTL view written beside a run's FST names every signal with the width this geometry gives
// it (the Controller group included); the checked-in waves/iotlb.gtkw is that view for the
// program's default 64 x 4 geometry.
TEST(Waves, RtlViewFitsTheGeometryAndTheCheckedInViewIsThe64x4One) {
    std::ifstream in(std::string(IOMMUSIM_SOURCE_DIR) + "/waves/iotlb.gtkw");
    std::stringstream checked_in;
    checked_in << in.rdbuf();
    const std::string expected = rtl_iotlb_view("", iotlb_geometry{64, 4}, 0, 0, "waves");
    if (checked_in.str() != expected) {
        std::ofstream(waves_dir() + "/iotlb.gtkw.expected") << expected;
    }
    EXPECT_EQ(checked_in.str(), expected)
        << "regenerate waves/iotlb.gtkw from " << waves_dir() << "/iotlb.gtkw.expected";

    const std::string path = waves_dir() + "/program_waves_rtl_view.vcd";
    run_scenario("rtl", path);  // the program's default geometry, 64 x 4
    const std::string fst = waves_dir() + "/program_waves_rtl_view_iotlb.fst";
    const std::string back = waves_dir() + "/program_waves_rtl_view_back.vcd";
    ASSERT_EQ(std::system(("fst2vcd -f '" + fst + "' -o '" + back + "' >/dev/null 2>&1").c_str()), 0);
    const vcd v = read_vcd(back);
    std::ifstream view(waves_dir() + "/program_waves_rtl_view_iotlb.gtkw");
    ASSERT_TRUE(view);
    std::string line;
    unsigned named = 0, controller = 0;
    bool in_controller = false;
    while (std::getline(view, line)) {
        if (line == "-Controller") {
            in_controller = !in_controller;
        }
        if (line.rfind("dut.", 0) != 0) {
            continue;
        }
        std::string name = line;
        unsigned width = 1;
        if (const auto bracket = name.find('['); bracket != std::string::npos) {
            width = static_cast<unsigned>(std::stoul(name.substr(bracket + 1))) + 1;
            name.resize(bracket);
        }
        const auto id = v.id_of.find(name);
        ASSERT_NE(id, v.id_of.end()) << "the view names " << name << ", which the RTL waves do not have";
        EXPECT_EQ(v.width_of.at(id->second), width) << name;
        ++named;
        controller += in_controller;
    }
    EXPECT_GT(named, 40u);
    EXPECT_EQ(controller, 3u) << "state, walked set and drop count";
}

// The fault-injection scenario: dma_fault carries the reason (0x72 reserved bit, 0x71 not present)
// from the faulting translation to the end of that DMA only; the guest's table edits are marked.
TEST(Waves, DmaFaultShowsTheReasonOnlyWhileTheDmaIsInFlight) {
    const std::string path = waves_dir() + "/program_waves_fault.vcd";
    platform_config cfg;
    cfg.iommu.stale_check = true;
    cfg.iotlb = "cpp";
    cfg.waves = path;
    std::string err;
    ASSERT_TRUE(platform::configure(cfg, &err)) << err;
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    run_fault_injection(log, cli_options{});
    EXPECT_FALSE(log.failed()) << out.str();
    platform::instance().finish();
    const vcd v = read_vcd(path);
    ASSERT_EQ(v.error, "");
    const auto dma = high_intervals(v, "vfio0.dma_valid");
    std::vector<uint64_t> reasons;
    for (const auto& [t, value] : changes_of(v, "vfio0.dma_fault")) {
        if (number(value) == 0) {
            continue;
        }
        reasons.push_back(number(value));
        EXPECT_TRUE(inside(dma, t)) << "dma_fault set at " << t << " outside a DMA";
    }
    for (const auto& [from, to] : dma) {
        EXPECT_EQ(value_at(v, "vfio0.dma_fault", to), "0") << "dma_fault still set after the DMA ending at " << to;
    }
    ASSERT_GE(reasons.size(), 2u);
    EXPECT_EQ(reasons[0], 0x72u);
    EXPECT_EQ(reasons[1], 0x71u);
    bool marked = false;
    for (const auto& [t, value] : changes_of(v, "guest.pte_edit")) {
        marked = marked || value.rfind("set_reserved_PS", 0) == 0;
    }
    EXPECT_TRUE(marked);
}

// The iopf scenario on one time axis: the device's page request (vfio1.pr_pending rises), its
// descriptor written into the page request queue (prq.requests, prq.pqt) and the page request
// event (irq.prq), the page group response descriptor on the invalidation queue (qi.desc_type 9,
// docs/vtd-facts.md §3.10), the response reaching the device (pr_pending falls) and the retried
// translation (pr_retry), which granted the write.
TEST(Waves, PageRequestResponseAndRetryInOrder) {
    const std::string path = waves_dir() + "/program_waves_iopf.vcd";
    platform_config cfg;
    find_scenario("iopf")->platform_defaults(cfg);
    cfg.params["pages"] = 2;  // page 0 present, page 1 a hole
    cfg.waves = path;
    std::string err;
    ASSERT_TRUE(platform::configure(cfg, &err)) << err;
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    run_iopf(log, cli_options{});
    EXPECT_FALSE(log.failed()) << out.str();
    platform::instance().finish();
    const vcd v = read_vcd(path);
    ASSERT_EQ(v.error, "");
    for (const char* name : {"vfio1.pr_pending", "vfio1.pr_page", "vfio1.pr_response", "vfio1.pr_retry",
                             "vfio1.pr_retry_ok", "prq.pqt", "prq.requests", "irq.prq", "qi.desc_type"}) {
        ASSERT_TRUE(v.id_of.count(name)) << "missing signal " << name;
    }
    // Two page requests: the hole (page 1, GVA 0x40001000) and the refused access past the window.
    const auto pending = high_intervals(v, "vfio1.pr_pending");
    ASSERT_EQ(pending.size(), 2u);
    const uint64_t request = pending[0].first, response = pending[0].second;
    EXPECT_EQ(number(value_at(v, "vfio1.pr_page", request)), 0x4000'1000u);
    auto first_change_after = [&](const std::string& name, uint64_t t, uint64_t value) {
        for (const auto& [when, what] : changes_of(v, name)) {
            if (when >= t && number(what) == value) {
                return when;
            }
        }
        return UINT64_MAX;
    };
    const uint64_t queued = first_change_after("prq.requests", request, 1);
    const uint64_t event = first_change_after("irq.prq", request, 1);
    const uint64_t descriptor = first_change_after("qi.desc_type", request, 9);
    EXPECT_EQ(number(value_at(v, "prq.pqt", queued)), 0x20u) << "one 32-byte descriptor at the tail";
    EXPECT_LT(request, queued);
    EXPECT_LE(queued, event);
    EXPECT_LT(event, descriptor) << "the driver answers after the page request event";
    EXPECT_LT(descriptor, response) << "the response reaches the device after its descriptor was fetched";
    EXPECT_EQ(value_at(v, "vfio1.pr_response", response), "Success");
    const auto retries = high_intervals(v, "vfio1.pr_retry");
    ASSERT_EQ(retries.size(), 1u) << "only the Success response is followed by a retry";
    EXPECT_LE(response, retries[0].first);
    EXPECT_LT(response, retries[0].second);
    EXPECT_EQ(value_at(v, "vfio1.pr_retry_ok", retries[0].first), "1") << "the retry granted the write";
    // The refused access: answered Invalid, no retry.
    EXPECT_EQ(value_at(v, "vfio1.pr_response", pending[1].second), "Invalid_Request");
    EXPECT_LT(retries[0].second, pending[1].first);
}

}  // namespace
}  // namespace iommusim::program
