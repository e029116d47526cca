#include <gtest/gtest.h>

#include "program/cli_options.h"
#include "program/config_file.h"

namespace iommusim::program {
namespace {

std::optional<cli_options> parse(std::vector<std::string> args, std::string* err_out = nullptr) {
    std::string err;
    auto o = parse_cli(args, err);
    if (err_out) {
        *err_out = err;
    }
    return o;
}

TEST(CliOptions, DefaultsRunNestedInvalidate) {
    auto o = parse({});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->command, "run");
    EXPECT_EQ(o->scenario, "nested-invalidate");
    EXPECT_FALSE(o->iotlb);  // unset: the configuration file, IOMMUSIM_IOTLB or the default decides
    EXPECT_FALSE(o->seed);
    EXPECT_FALSE(o->waves);
}

TEST(CliOptions, EveryOptionInBothSpellings) {
    auto o = parse({"--scenario=invalidation-storm", "--iotlb", "lockstep", "--waves", "--stats-json", "s.json",
                    "--seed=0x10", "-v", "--config", "c.json"});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->scenario, "invalidation-storm");
    EXPECT_EQ(o->iotlb, std::optional<std::string>("lockstep"));
    ASSERT_TRUE(o->waves);
    EXPECT_EQ(*o->waves, "");
    EXPECT_EQ(o->stats_json, "s.json");
    EXPECT_EQ(o->seed, std::optional<uint64_t>(16));
    EXPECT_EQ(o->level, verbosity::verbose);
    EXPECT_EQ(o->config_file, "c.json");
    auto p = parse({"fault-injection", "--waves=out.vcd", "-q"});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->scenario, "fault-injection");
    EXPECT_EQ(*p->waves, "out.vcd");
    EXPECT_EQ(p->level, verbosity::quiet);
}

TEST(CliOptions, BadInputNamesTheProblem) {
    std::string err;
    EXPECT_FALSE(parse({"--iotlb=fpga"}, &err));
    EXPECT_NE(err.find("fpga"), std::string::npos);
    EXPECT_FALSE(parse({"--frobnicate"}, &err));
    EXPECT_NE(err.find("--frobnicate"), std::string::npos);
    EXPECT_FALSE(parse({"--seed", "-3"}, &err));
    EXPECT_NE(err.find("--seed"), std::string::npos);
    EXPECT_FALSE(parse({"--seed"}, &err));
    EXPECT_NE(err.find("needs a value"), std::string::npos);
    EXPECT_FALSE(parse({"a", "b"}, &err));
    EXPECT_FALSE(parse({"plot", "only-one"}, &err));
}

TEST(CliOptions, PlotTakesTwoPaths) {
    auto o = parse({"plot", "stats.json", "out.png"});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->command, "plot");
    EXPECT_EQ(o->plot_args, (std::vector<std::string>{"stats.json", "out.png"}));
    EXPECT_TRUE(parse({"plot", "stats.json", "out.svg"}));
    EXPECT_TRUE(parse({"plot", "stats.json", "OUT.PDF"}));
}

TEST(CliOptions, PlotRefusesAnOutputWhoseExtensionNamesNoFormat) {
    std::string err;
    for (const char* out : {"out.jpg", "out", "out.svg.bak"}) {
        EXPECT_FALSE(parse({"plot", "stats.json", out}, &err)) << out;
        EXPECT_NE(err.find(std::string("'") + out + "' ends in none of .png, .svg, .pdf"), std::string::npos) << err;
    }
}

TEST(CliOptions, ExecTakesTheProgramAfterTheDoubleDash) {
    auto o = parse({"exec", "--iotlb", "rtl", "--stats-json=s.json", "--", "./vmm", "--iotlb", "--", "x"});
    ASSERT_TRUE(o);
    EXPECT_EQ(o->command, "exec");
    EXPECT_EQ(o->iotlb, std::optional<std::string>("rtl"));
    EXPECT_EQ(o->stats_json, "s.json");
    // Everything after the first "--" is the program's, flags included.
    EXPECT_EQ(o->exec_args, (std::vector<std::string>{"./vmm", "--iotlb", "--", "x"}));
}

TEST(CliOptions, ExecRefusesAMissingProgramAndStandardOutputStatistics) {
    std::string err;
    EXPECT_FALSE(parse({"exec"}, &err));
    EXPECT_NE(err.find("exec needs -- and a program"), std::string::npos) << err;
    EXPECT_FALSE(parse({"exec", "--"}, &err));
    EXPECT_NE(err.find("exec needs a program after --"), std::string::npos) << err;
    EXPECT_FALSE(parse({"exec", "./vmm"}, &err));
    EXPECT_NE(err.find("not './vmm'"), std::string::npos) << err;
    EXPECT_FALSE(parse({"exec", "--stats-json", "-", "--", "./vmm"}, &err));
    EXPECT_NE(err.find("standard output"), std::string::npos) << err;
}

TEST(ConfigFile, AppliesKnownKeys) {
    platform_config c;
    EXPECT_EQ(apply_config_json(R"({"iotlb":"rtl","iommu":{"iotlb_sets":16,"stale_check":true,
        "memory_latency_ns":"0x50"},"devices":[{"rid":"0x0300","ats":true}]})",
                                c),
              "");
    EXPECT_EQ(c.iotlb, "rtl");
    EXPECT_EQ(c.iommu.iotlb_sets, 16u);
    EXPECT_TRUE(c.iommu.stale_check);
    EXPECT_EQ(c.iommu.memory_latency_ns, 0x50u);
    ASSERT_EQ(c.devices.size(), 1u);
    EXPECT_EQ(c.devices[0].rid, 0x300);
    EXPECT_TRUE(c.devices[0].ats);
}

TEST(ConfigFile, RejectsAndLeavesConfigUnchanged) {
    platform_config c;
    const platform_config before = c;
    EXPECT_NE(apply_config_json(R"({"iommu":{"iotlb_sets":12}})", c).find("iotlb_sets"), std::string::npos);
    EXPECT_NE(apply_config_json(R"({"iommu":{"bogus":1}})", c).find("bogus"), std::string::npos);
    EXPECT_NE(apply_config_json(R"({"iommu":{"psi":1}})", c).find("psi"), std::string::npos);
    EXPECT_NE(apply_config_json(R"({"iommu":{"nfr":100}})", c).find("nfr=100"), std::string::npos);
    EXPECT_NE(apply_config_json(R"({"iotlb":"rtl","iommu":{"iotlb_sets":128}})", c).find("128x4"), std::string::npos);
    EXPECT_NE(apply_config_json("{not json", c).find("JSON"), std::string::npos);
    EXPECT_NE(apply_config_json(R"({"iotlb":"fpga"})", c).find("fpga"), std::string::npos);
    EXPECT_EQ(c.iommu.iotlb_sets, before.iommu.iotlb_sets);
    EXPECT_EQ(c.iotlb, before.iotlb);
}

}  // namespace
}  // namespace iommusim::program
