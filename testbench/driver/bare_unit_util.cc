#include "driver/bare_unit_util.h"

#include <gtest/gtest.h>

namespace iommusim::test {

bare_unit::bare_unit(const platform_config& cfg) : m_tlb(iotlb_geometry{cfg.iommu.iotlb_sets, cfg.iommu.iotlb_ways}) {
    EXPECT_EQ(cfg.validate(), "");
    m_top = std::make_unique<platform_top>("unit", cfg, m_tlb, std::vector<own_device*>{});
}

}  // namespace iommusim::test
