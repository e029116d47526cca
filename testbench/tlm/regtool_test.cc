// The generated register header (util/regtool.py, data/vtd_regs.json) against docs/vtd-facts.md §1.
#include <gtest/gtest.h>

#include <set>

#include "iommusim/hw/vtd_regs.h"

namespace iommusim::hw {
namespace {

TEST(Regtool, OffsetsMatchSpec) {
    EXPECT_EQ(reg::VER_OFFSET, 0x000u);
    EXPECT_EQ(reg::CAP_OFFSET, 0x008u);
    EXPECT_EQ(reg::ECAP_OFFSET, 0x010u);
    EXPECT_EQ(reg::GCMD_OFFSET, 0x018u);
    EXPECT_EQ(reg::GSTS_OFFSET, 0x01cu);
    EXPECT_EQ(reg::RTADDR_OFFSET, 0x020u);
    EXPECT_EQ(reg::FSTS_OFFSET, 0x034u);
    EXPECT_EQ(reg::FECTL_OFFSET, 0x038u);
    EXPECT_EQ(reg::IQH_OFFSET, 0x080u);
    EXPECT_EQ(reg::IQT_OFFSET, 0x088u);
    EXPECT_EQ(reg::IQA_OFFSET, 0x090u);
    EXPECT_EQ(reg::ICS_OFFSET, 0x09cu);
    EXPECT_EQ(reg::IECTL_OFFSET, 0x0a0u);
    EXPECT_EQ(reg::IQERCD_OFFSET, 0x0b0u);
    EXPECT_EQ(reg::IVA_OFFSET, reg::IRO_OFFSET);
    EXPECT_EQ(reg::IOTLB_OFFSET, reg::IRO_OFFSET + 8);
    EXPECT_EQ(reg::FRCD_OFFSET, reg::FRO_OFFSET);
    EXPECT_EQ(reg::frcd_offset(3), reg::FRO_OFFSET + 48);
}

TEST(Regtool, FieldPositionsMatchSpec) {
    EXPECT_EQ(gcmd::te::mask, uint64_t{1} << 31);
    EXPECT_EQ(gcmd::srtp::mask, uint64_t{1} << 30);
    EXPECT_EQ(gcmd::qie::mask, uint64_t{1} << 26);
    EXPECT_EQ(gsts::qies::mask, uint64_t{1} << 26);
    EXPECT_EQ(rtaddr::ttm::shift, 10u);
    EXPECT_EQ(iqa::dw::shift, 11u);
    EXPECT_EQ(iqh::qh::shift, 4u);
    EXPECT_EQ(iqh::qh::width, 15u);
    EXPECT_EQ(fsts::fri::shift, 8u);
    EXPECT_EQ(cap::nfr::shift, 40u);
    EXPECT_EQ(ecap::smts::shift, 43u);
    EXPECT_EQ(frcd::f::word, 1u);
    EXPECT_EQ(frcd::f::shift, 63u);
    EXPECT_EQ(frcd::fr::word, 1u);
    EXPECT_EQ(frcd::fr::shift, 32u);
}

TEST(Regtool, AccessMasksFollowFieldTypes) {
    // GCMD is write-only, GSTS read-only, FSTS mixes W1C and RO, FECTL.IM resets to 1.
    EXPECT_EQ(gcmd::wo_mask, 0xff800000u);
    EXPECT_EQ(gcmd::rw_mask, 0u);
    EXPECT_EQ(gsts::ro_mask, 0xff800000u);
    EXPECT_EQ(fsts::w1c_mask, fsts::pfo::mask | fsts::afo::mask | fsts::apf::mask | fsts::iqe::mask | fsts::ice::mask |
                                  fsts::ite::mask);
    EXPECT_EQ(fsts::ro_mask, fsts::ppf::mask | fsts::fri::mask);
    EXPECT_EQ(fectl::reset, fectl::im::mask);
    EXPECT_EQ(iectl::reset, iectl::im::mask);
    EXPECT_EQ(ver::max::get(ver::reset), 6u);
    EXPECT_EQ(frcd::w1c_mask_hi, frcd::f::mask);
}

TEST(Regtool, TableIsConsistent) {
    std::set<uint32_t> offsets;
    for (const reg_desc& d : reg_table) {
        EXPECT_TRUE(d.size == 4 || d.size == 8) << d.name;
        EXPECT_EQ(d.offset % d.size, 0u) << d.name;
        EXPECT_GE(d.count, 1u) << d.name;
        // The access classes never overlap, and the reset value only sets named bits.
        EXPECT_EQ(d.rw_mask & d.w1c_mask, 0u) << d.name;
        EXPECT_EQ(d.rw_mask & d.wo_mask, 0u) << d.name;
        EXPECT_EQ(d.rw_mask & d.ro_mask, 0u) << d.name;
        EXPECT_EQ(d.w1c_mask & d.ro_mask, 0u) << d.name;
        EXPECT_EQ(d.reset & ~(d.rw_mask | d.w1c_mask | d.wo_mask | d.ro_mask), 0u) << d.name;
        if (d.size == 4) {
            EXPECT_EQ((d.rw_mask | d.w1c_mask | d.wo_mask | d.ro_mask) >> 32, 0u) << d.name;
        }
        for (unsigned i = 0; i < d.count; ++i) {
            EXPECT_TRUE(offsets.insert(d.offset + i * d.stride).second) << d.name;
        }
    }
    EXPECT_EQ(frcd::desc_lo.count, reg::FRCD_MAX);
}

}  // namespace
}  // namespace iommusim::hw
