// register_file: access semantics driven by the generated VT-d register table (docs/vtd-facts.md §1).
#include "tlm/register_file.h"

#include <gtest/gtest.h>

#include <string>
#include <systemc>
#include <vector>

namespace iommusim {
namespace {

using namespace hw;

class RegisterFile : public ::testing::Test {
  protected:
    register_file m_regs{reg_table};
    uint64_t read(uint32_t off, unsigned size = 4) {
        uint64_t v = 0xdeadbeef;
        EXPECT_TRUE(m_regs.read(off, size, v)) << std::hex << off;
        return v;
    }
};

TEST_F(RegisterFile, ResetValues) {
    EXPECT_EQ(read(reg::VER_OFFSET), ver::reset);
    EXPECT_EQ(ver::max::get(read(reg::VER_OFFSET)), 6u);
    EXPECT_EQ(read(reg::FECTL_OFFSET), fectl::im::mask);
    EXPECT_EQ(read(reg::IECTL_OFFSET), iectl::im::mask);
    EXPECT_EQ(read(reg::GSTS_OFFSET), 0u);
    EXPECT_EQ(read(reg::RTADDR_OFFSET, 8), 0u);
    EXPECT_EQ(read(reg::frcd_offset(reg::FRCD_MAX - 1) + 8, 8), 0u);
}

TEST_F(RegisterFile, ReadOnlyBitsIgnoreWrites) {
    EXPECT_TRUE(m_regs.write(reg::GSTS_OFFSET, 4, 0xffffffff));
    EXPECT_EQ(read(reg::GSTS_OFFSET), 0u);
    EXPECT_TRUE(m_regs.write(reg::CAP_OFFSET, 8, ~uint64_t{0}));
    EXPECT_EQ(read(reg::CAP_OFFSET, 8), 0u);
    EXPECT_TRUE(m_regs.write(reg::IQH_OFFSET, 8, 0x7fff0));
    EXPECT_EQ(read(reg::IQH_OFFSET, 8), 0u);
    // FECTL.IP is read-only, IM is read/write.
    EXPECT_TRUE(m_regs.write(reg::FECTL_OFFSET, 4, fectl::ip::mask));
    EXPECT_EQ(read(reg::FECTL_OFFSET), 0u);
}

TEST_F(RegisterFile, ReservedBitsReadZero) {
    EXPECT_TRUE(m_regs.write(reg::RTADDR_OFFSET, 8, ~uint64_t{0}));
    EXPECT_EQ(read(reg::RTADDR_OFFSET, 8), rtaddr::rw_mask);
    EXPECT_EQ(rtaddr::rw_mask & low_mask(10), 0u);
    EXPECT_TRUE(m_regs.write(reg::IQT_OFFSET, 8, ~uint64_t{0}));
    EXPECT_EQ(read(reg::IQT_OFFSET, 8), iqt::qt::mask);
}

TEST_F(RegisterFile, WriteOneToClear) {
    m_regs.set(reg::FSTS_OFFSET, fsts::pfo::mask | fsts::iqe::mask | fsts::ppf::mask);
    EXPECT_TRUE(m_regs.write(reg::FSTS_OFFSET, 4, 0));  // writing 0 keeps W1C bits
    EXPECT_EQ(read(reg::FSTS_OFFSET), fsts::pfo::mask | fsts::iqe::mask | fsts::ppf::mask);
    EXPECT_TRUE(m_regs.write(reg::FSTS_OFFSET, 4, fsts::iqe::mask | fsts::ppf::mask));  // PPF is RO
    EXPECT_EQ(read(reg::FSTS_OFFSET), fsts::pfo::mask | fsts::ppf::mask);
    // FRCD.F (bit 127) through an 8-byte write of the high half, and through a 4-byte write of its top word.
    const uint32_t hi = reg::frcd_offset(2) + 8;
    m_regs.set(hi, frcd::f::mask | (uint64_t{0x55} << (frcd::fr::shift)));
    EXPECT_TRUE(m_regs.write(hi, 8, 0));
    EXPECT_EQ(read(hi, 8), frcd::f::mask | (uint64_t{0x55} << frcd::fr::shift));
    EXPECT_TRUE(m_regs.write(hi + 4, 4, 0x80000000u));
    EXPECT_EQ(read(hi, 8), uint64_t{0x55} << frcd::fr::shift);
}

TEST_F(RegisterFile, WriteOnlyCommandBitsReadZero) {
    std::vector<register_file::write_event> seen;
    m_regs.on_write(reg::GCMD_OFFSET, [&](const register_file::write_event& ev) { seen.push_back(ev); });
    EXPECT_TRUE(m_regs.write(reg::GCMD_OFFSET, 4, gcmd::te::mask | gcmd::qie::mask));
    EXPECT_EQ(read(reg::GCMD_OFFSET), 0u);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].written, gcmd::te::mask | gcmd::qie::mask);
    EXPECT_EQ(seen[0].written_mask, 0xffffffffu);
}

TEST_F(RegisterFile, HalfAccessesToSixtyFourBitRegisters) {
    EXPECT_TRUE(m_regs.write(reg::IQA_OFFSET, 4, 0x12345801u));  // low half: base bits + DW + QS
    EXPECT_TRUE(m_regs.write(reg::IQA_OFFSET + 4, 4, 0x9u));
    EXPECT_EQ(read(reg::IQA_OFFSET, 8), 0x0000000912345801ull);
    EXPECT_EQ(read(reg::IQA_OFFSET + 4, 4), 0x9u);
    EXPECT_EQ(iqa::dw::get(read(reg::IQA_OFFSET, 8)), 1u);
    EXPECT_EQ(iqa::qs::get(read(reg::IQA_OFFSET, 8)), 1u);
}

TEST_F(RegisterFile, BadOffsetOrSizeIsAnErrorAndChangesNothing) {
    uint64_t v = 7;
    EXPECT_FALSE(m_regs.read(0x004, 4, v));                // hole between VER and CAP
    EXPECT_FALSE(m_regs.read(0x058, 8, v));                // AFLOG is not implemented
    EXPECT_FALSE(m_regs.read(reg::IQA_OFFSET + 2, 4, v));  // misaligned
    EXPECT_FALSE(m_regs.read(reg::GCMD_OFFSET, 8, v));     // 8 bytes across two 32-bit registers
    EXPECT_FALSE(m_regs.read(reg::IQA_OFFSET + 4, 8, v));  // 8 bytes at the high half
    EXPECT_FALSE(m_regs.read(reg::IQA_OFFSET, 2, v));      // 2-byte access
    EXPECT_FALSE(m_regs.read(0x2000, 4, v));               // beyond the block
    EXPECT_EQ(v, 7u);
    int calls = 0;
    m_regs.on_write(reg::FECTL_OFFSET, [&](const register_file::write_event&) { ++calls; });
    EXPECT_FALSE(m_regs.write(reg::FECTL_OFFSET, 8, 0));
    EXPECT_FALSE(m_regs.write(reg::FECTL_OFFSET, 1, 0));
    EXPECT_FALSE(m_regs.write(0x0b8, 8, 0));
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(read(reg::FECTL_OFFSET), fectl::im::mask);
}

TEST_F(RegisterFile, ArrayCallbacksSeeTheInstance) {
    std::vector<unsigned> idx;
    m_regs.on_write(reg::frcd_offset(0) + 8, [&](const register_file::write_event& ev) { idx.push_back(ev.index); });
    EXPECT_TRUE(m_regs.write(reg::frcd_offset(5) + 8, 8, 0));
    EXPECT_TRUE(m_regs.write(reg::frcd_offset(0) + 12, 4, 0));
    EXPECT_TRUE(m_regs.write(reg::frcd_offset(5), 8, 0));  // low half: no callback registered
    EXPECT_EQ(idx, (std::vector<unsigned>{5, 0}));
}

TEST_F(RegisterFile, HardwareSideAndReset) {
    m_regs.set_field<gsts::qies>(reg::GSTS_OFFSET, 1);
    EXPECT_EQ(read(reg::GSTS_OFFSET), gsts::qies::mask);
    m_regs.set(reg::GSTS_OFFSET, ~uint64_t{0});  // 32-bit register keeps 32 bits
    EXPECT_EQ(m_regs.get(reg::GSTS_OFFSET), 0xffffffffu);
    m_regs.write(reg::FECTL_OFFSET, 4, 0);
    m_regs.reset();
    EXPECT_EQ(read(reg::GSTS_OFFSET), 0u);
    EXPECT_EQ(read(reg::FECTL_OFFSET), fectl::im::mask);
    EXPECT_EQ(m_regs.name_at(reg::IQA_OFFSET + 4), "IQA");
}

TEST(RegisterFileCount, ArrayCountFromCaller) {
    std::vector<reg_desc> table(reg_table.begin(), reg_table.end());
    for (reg_desc& d : table) {
        if (d.count > 1) {
            d.count = 2;
        }
    }
    register_file regs(table);
    EXPECT_TRUE(regs.contains(reg::frcd_offset(1) + 8));
    EXPECT_FALSE(regs.contains(reg::frcd_offset(2)));
}

// A register held by its owner: reads and get() ask the owner, a write's masks apply to the owner's
// value and the result reaches only the write callbacks; reset() and the stored copy play no part.
TEST(RegisterFileReadCallback, OwnerHoldsTheValue) {
    register_file regs{reg_table};
    uint64_t held = 0x1234'5670;  // IQT.QT occupies bits 18:4
    std::vector<register_file::write_event> writes;
    regs.on_read(reg::IQT_OFFSET, [&] { return held; });
    regs.on_write(reg::IQT_OFFSET, [&](const register_file::write_event& ev) { writes.push_back(ev); });
    uint64_t v = 0;
    EXPECT_TRUE(regs.read(reg::IQT_OFFSET, 8, v));
    EXPECT_EQ(v, held & iqt::rw_mask);
    EXPECT_EQ(regs.get(reg::IQT_OFFSET), held);
    held = 0x70;
    EXPECT_TRUE(regs.read(reg::IQT_OFFSET, 4, v));
    EXPECT_EQ(v, 0x70u);

    EXPECT_TRUE(regs.write(reg::IQT_OFFSET, 8, 0x7ffff));
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].old_value, 0x70u);
    EXPECT_EQ(writes[0].new_value, 0x7ffffu & iqt::rw_mask);
    // The owner did not take the value: the register still reads what the owner holds.
    EXPECT_TRUE(regs.read(reg::IQT_OFFSET, 8, v));
    EXPECT_EQ(v, 0x70u);
    regs.reset();
    EXPECT_EQ(regs.get(reg::IQT_OFFSET), 0x70u);
}

// A 32-bit register provided with wider data reads only its 32 bits; W1C bits apply to the owner's value.
TEST(RegisterFileReadCallback, WidthAndW1cOfAnOwnedRegister) {
    register_file regs{reg_table};
    uint64_t held = 0xffff'ffff'0000'0000u | ics::iwc::mask;
    uint64_t seen = ~uint64_t{0};
    regs.on_read(reg::ICS_OFFSET, [&] { return held; });
    regs.on_write(reg::ICS_OFFSET, [&](const register_file::write_event& ev) { seen = ev.new_value; });
    EXPECT_EQ(regs.get(reg::ICS_OFFSET), ics::iwc::mask);
    EXPECT_TRUE(regs.write(reg::ICS_OFFSET, 4, ics::iwc::mask));
    EXPECT_EQ(seen, 0u);
}

// SC_REPORT_FATAL is made to throw so the message can be checked.
template <typename F>
std::string fatal_message(F f) {
    sc_core::sc_report_handler::set_actions(sc_core::SC_FATAL, sc_core::SC_THROW);
    try {
        f();
    } catch (const sc_core::sc_report& r) {
        return r.get_msg();
    }
    return "";
}

TEST(RegisterFileReadCallback, OnlySingleRegistersCanBeOwnedAndOwnedOnesAreNotSet) {
    register_file regs{reg_table};
    EXPECT_NE(fatal_message([&] { regs.on_read(reg::frcd_offset(0), [] { return uint64_t{0}; }); }).find("on_read"),
              std::string::npos);
    regs.on_read(reg::IQH_OFFSET, [] { return uint64_t{0}; });
    EXPECT_NE(fatal_message([&] { regs.set(reg::IQH_OFFSET, 1); }).find("IQH is held by its owner"), std::string::npos);
}

}  // namespace
}  // namespace iommusim
