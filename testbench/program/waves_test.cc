// Wave output of a short scenario: the VCD is produced, well-formed, and shows the transactions
// (DMA valid pulses, the IOTLB hit of the stale access, the queue tail moving on the invalidation).
// With the RTL IOTLB the FST file of the RTL signals is produced next to it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "iommusim/hw/vtd_fault.h"
#include "platform/platform.h"
#include "program/scenario.h"
#include "program/vcd_reader.h"

namespace iommusim::program {
namespace {

bool contains(const std::vector<std::string>& values, const std::string& want) {
    for (const std::string& s : values)
        if (s == want || (s.find_first_not_of('0') != std::string::npos && want == "nonzero"))
            return true;
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
    for (const char* name : {"dev0.dma_valid", "dev0.dma_iova", "dev0.dma_hit", "dev0.dma_fault", "qi.iqt", "qi.iqh",
                             "qi.desc_type", "iommu.iotlb_hits", "irq.fault", "irq.inv", "cpu.busy"})
        EXPECT_TRUE(v.id_of.count(name)) << "missing signal " << name;
    EXPECT_TRUE(contains(values_of(v, "dev0.dma_valid"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dev0.dma_valid"), "0"));
    EXPECT_TRUE(contains(values_of(v, "dev0.dma_hit"), "1")) << "the stale access hit the IOTLB";
    EXPECT_TRUE(contains(values_of(v, "dev0.dma_iova"), "nonzero"));
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
        if (line.rfind("SystemC.", 0) != 0)
            continue;
        std::string name = line.substr(8);
        if (auto bracket = name.find('['); bracket != std::string::npos)
            name.resize(bracket);
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
        if (line.empty() || line[0] == '#')
            continue;
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
    EXPECT_TRUE(contains(values_of(v, "dev0.dma_valid"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dut.lkp_req_valid_i"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dut.lkp_resp_hit_o"), "1"));
    EXPECT_TRUE(contains(values_of(v, "dut.inv_req_valid_i"), "1")) << "the invalidation reached the RTL";
}

}  // namespace
}  // namespace iommusim::program
