// A lockstep run's verdict: a real divergence between the C++ and the RTL IOTLB (forced by a fault
// injected into the RTL side behind the comparator's back) fails the run with exit status 1, the
// counts in the summary and the statistics, and the first divergent operation named; a clean run
// passes with its counts.
#include "program/lockstep_check.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "program/nested_setup.h"
#include "rtl/lockstep_iotlb.h"

namespace iommusim::program {
namespace {

lockstep_iotlb& lockstep_platform() {
    platform_config cfg;
    cfg.iotlb = "lockstep";
    cfg.iommu.stale_check = true;  // as the program runs: every DMA goes through the IOTLB, no DMI
    std::string err;
    EXPECT_TRUE(platform::configure(cfg, &err)) << err;
    lockstep_iotlb* ls = platform::instance().lockstep();
    if (!ls) {
        throw std::runtime_error("the platform's IOTLB is not a lockstep comparator");
    }
    return *ls;
}

std::string summary_value(const scenario_log& log, const std::string& key) {
    for (const auto& [k, v] : log.summary()) {
        if (k == key) {
            return v;
        }
    }
    return "(no summary row " + key + ")";
}

TEST(LockstepCheck, ADivergenceFailsTheRunWithTheCountsAndTheFirstDivergentOperation) {
    lockstep_iotlb& ls = lockstep_platform();
    platform& p = platform::instance();
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    nested_setup s(log);
    uint8_t b = 0;
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);  // miss, walk, fill: both IOTLBs hold the entry
    ASSERT_EQ(ls.divergences(), 0u);
    std::vector<iotlb_entry> cached;
    ls.reference().for_each_valid([&](unsigned, unsigned, const iotlb_entry& e) { cached.push_back(e); });
    ASSERT_EQ(cached.size(), 1u);
    const iotlb_tag tag = cached[0].tag;
    ASSERT_EQ(tag.kind, translation_kind::nested);

    // The injected fault: the RTL IOTLB loses its entries without the comparator seeing it.
    ASSERT_EQ(ls.dut().invalidate_all(), 1u);
    const uint64_t operations_before = ls.operations();
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);  // the reference hits, the RTL misses
    EXPECT_EQ(b, 0xaa) << "the caller gets the reference's answer";
    EXPECT_EQ(ls.operations(), operations_before + 1) << "one IOTLB lookup";

    check_lockstep(p, log);
    // The lookup, then the final state comparison (the reference holds an entry the RTL lacks).
    EXPECT_EQ(summary_value(log, "lockstep compared operations"), std::to_string(operations_before + 1));
    EXPECT_EQ(summary_value(log, "lockstep divergences"), "2");
    std::ostringstream pasid;
    pasid << std::hex << tag.pasid;
    const std::string first_op = "op #" + std::to_string(operations_before) + " lookup did=" + std::to_string(tag.did) +
                                 " pasid=0x" + pasid.str() + " kind=nested vpn=0x40000";
    ASSERT_EQ(log.failures().size(), 1u);
    EXPECT_NE(log.failures()[0].find("first: " + first_op + ": reference hit {did="), std::string::npos)
        << log.failures()[0];
    EXPECT_NE(log.failures()[0].find(", dut miss"), std::string::npos) << log.failures()[0];
    EXPECT_NE(out.str().find("FAILED: the C++ and RTL IOTLBs agree"), std::string::npos) << out.str();

    const auto stats = nlohmann::json::parse(p.stats_json());
    const auto& lockstep = stats.at("platform").at("lockstep");
    EXPECT_EQ(lockstep.at("compared_operations"), operations_before + 1);
    EXPECT_EQ(lockstep.at("divergences"), 2);
    EXPECT_EQ(
        lockstep.at("first_divergence").at("description").get<std::string>().rfind(first_op + ": reference hit", 0), 0u)
        << lockstep.at("first_divergence");

    EXPECT_EQ(print_result(log), 1);
    EXPECT_NE(out.str().find("RESULT: FAILED (1 check(s) failed)"), std::string::npos) << out.str();
}

TEST(LockstepCheck, AnAgreeingRunPassesWithItsCounts) {
    lockstep_iotlb& ls = lockstep_platform();
    platform& p = platform::instance();
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    nested_setup s(log);
    uint8_t b = 0;
    const uint64_t operations_before = ls.operations();
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);  // lookup (miss) and fill
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);  // lookup (hit)
    check_lockstep(p, log);
    EXPECT_FALSE(log.failed()) << out.str();
    EXPECT_EQ(summary_value(log, "lockstep compared operations"), std::to_string(operations_before + 3));
    EXPECT_EQ(summary_value(log, "lockstep divergences"), "0");
    const auto stats = nlohmann::json::parse(p.stats_json());
    EXPECT_EQ(stats.at("platform").at("lockstep").at("divergences"), 0);
    EXPECT_TRUE(stats.at("platform").at("lockstep").at("first_divergence").is_null());
    EXPECT_EQ(print_result(log), 0);
    EXPECT_NE(out.str().find("RESULT: PASSED"), std::string::npos);
}

TEST(LockstepCheck, OtherIotlbKindsAddNothing) {
    platform_config cfg;
    cfg.iotlb = "cpp";
    ASSERT_TRUE(platform::configure(cfg));
    std::ostringstream out;
    scenario_log log(out, verbosity::quiet);
    check_lockstep(platform::instance(), log);
    EXPECT_TRUE(log.summary().empty());
    EXPECT_FALSE(log.failed());
    EXPECT_FALSE(nlohmann::json::parse(platform::instance().stats_json()).at("platform").contains("lockstep"));
}

}  // namespace
}  // namespace iommusim::program
