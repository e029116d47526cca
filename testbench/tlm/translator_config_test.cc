// Translator tests: Translator statistics and configuration checks.
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

// ---------------------------------------------------------------- statistics

TEST_F(Translator, StatisticsJson) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    xl(0x1000);
    xl(0x1000);
    xl(0x5000);
    const std::string j = tr->stats().to_json();
    EXPECT_NE(j.find("\"translations\": 3"), std::string::npos) << j;
    EXPECT_NE(j.find("\"iotlb_hits\": 1"), std::string::npos) << j;
    EXPECT_NE(j.find("\"faults_by_reason\": {\"0x79\": 1}"), std::string::npos) << j;
    EXPECT_EQ(j.front(), '{');
    EXPECT_EQ(j.back(), '}');
    tr->reset_stats();
    EXPECT_EQ(tr->stats().translations, 0u);
}

TEST(TranslatorConfig, RejectsInvalidConfiguration) {
    iommu_config c;
    c.iotlb_sets = 3;
    sparse_memory m;
    iotlb t({16, 4});
    EXPECT_THROW(translator(c, m, t), std::invalid_argument);
    iommu_config d;
    EXPECT_EQ(d.validate(), "");
    d.mgaw = 30;
    EXPECT_NE(d.validate().find("mgaw"), std::string::npos);
}

// Page-request drain exists only with page requests, the device-TLB invalidation throttle only with
// device TLBs: the default unit reports neither PDS nor PRS, and a configuration asking for one
// without the other is refused with a message naming it.
TEST(TranslatorConfig, PdsNeedsPrsAndDitNeedsDt) {
    const iommu_config defaults;
    EXPECT_FALSE(defaults.pds);
    EXPECT_FALSE(defaults.prs);
    iommu_config c;
    c.pds = true;
    EXPECT_NE(c.validate().find("pds=true with prs=false"), std::string::npos) << c.validate();
    c.prs = true;
    EXPECT_EQ(c.validate(), "");
    iommu_config d;
    d.dit = true;
    d.dt = false;
    EXPECT_NE(d.validate().find("dit=true with dt=false"), std::string::npos) << d.validate();
    d.dt = true;
    EXPECT_EQ(d.validate(), "");
}

}  // namespace
}  // namespace iommusim::translator_test
