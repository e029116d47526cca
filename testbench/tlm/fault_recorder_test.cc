// fault_recorder: FRCD recording and the fault event (docs/vtd-facts.md §1.8, §1.9).
#include "tlm/fault_recorder.h"

#include <gtest/gtest.h>

#include <vector>

namespace iommusim {
namespace {

using namespace hw;

std::vector<reg_desc> table_with_records(unsigned n) {
    std::vector<reg_desc> t(reg_table.begin(), reg_table.end());
    for (reg_desc& d : t) {
        if (d.count > 1) {
            d.count = n;
        }
    }
    return t;
}

fault_info fault(uint16_t sid, uint64_t addr, fault_reason r = fault_reason::ss_reserved) {
    fault_info f;
    f.sid = sid;
    f.addr = addr;
    f.reason = r;
    return f;
}

class FaultRecorder : public ::testing::Test {
  protected:
    static constexpr unsigned records = 4;
    std::vector<reg_desc> m_table = table_with_records(records);
    register_file m_regs{m_table};
    unsigned m_msis = 0;
    fault_recorder m_rec{m_regs, records, [this] { ++m_msis; }};

    uint32_t fsts() { return static_cast<uint32_t>(m_regs.get(reg::FSTS_OFFSET)); }
    uint32_t fectl() { return static_cast<uint32_t>(m_regs.get(reg::FECTL_OFFSET)); }
    void unmask() { ASSERT_TRUE(m_regs.write(reg::FECTL_OFFSET, 4, 0)); }
    void clear_record(unsigned i) { ASSERT_TRUE(m_regs.write(reg::frcd_offset(i) + 12, 4, 0x80000000u)); }
};

TEST_F(FaultRecorder, RecordsEveryField) {
    fault_info f = fault(0x0108, 0x12345678, fault_reason::gn_write_denied);
    f.type = fault_request::write;
    f.has_pasid = true;
    f.pasid = 0xabcde;
    f.priv = true;
    f.exec = true;
    EXPECT_EQ(m_rec.record(f), fault_recorder::outcome::recorded);
    const frcd::words w{m_regs.get(reg::frcd_offset(0)), m_regs.get(reg::frcd_offset(0) + 8)};
    EXPECT_EQ(frcd::fi::get(w), 0x12345u);
    EXPECT_EQ(frcd::sid::get(w), 0x0108u);
    EXPECT_EQ(frcd::fr::get(w), 0x85u);
    EXPECT_EQ(frcd::pp::get(w), 1u);
    EXPECT_EQ(frcd::pv::get(w), 0xabcdeu);
    EXPECT_EQ(frcd::priv::get(w), 1u);
    EXPECT_EQ(frcd::exe::get(w), 1u);
    EXPECT_EQ(frcd::t1::get(w), 0u);  // write
    EXPECT_EQ(frcd::f::get(w), 1u);
    EXPECT_EQ(fsts::ppf::get(fsts()), 1u);
    EXPECT_EQ(fsts::fri::get(fsts()), 0u);
    const fault_info back = m_rec.record_at(0);
    EXPECT_EQ(back.addr, 0x12345000u);
    EXPECT_EQ(back.type, fault_request::write);

    f.sid = 0x0200;
    f.type = fault_request::read;
    f.has_pasid = false;
    EXPECT_EQ(m_rec.record(f), fault_recorder::outcome::recorded);
    EXPECT_EQ(frcd::t1::get(frcd::words{0, m_regs.get(reg::frcd_offset(1) + 8)}), 1u);  // read
    EXPECT_EQ(m_rec.record_at(1).type, fault_request::read);
    EXPECT_FALSE(m_rec.record_at(1).has_pasid);
}

TEST_F(FaultRecorder, CompressesFaultsOfAPendingSource) {
    EXPECT_EQ(m_rec.record(fault(7, 0x1000)), fault_recorder::outcome::recorded);
    EXPECT_EQ(m_rec.record(fault(7, 0x2000, fault_reason::ss_perm)), fault_recorder::outcome::compressed);
    EXPECT_FALSE(m_rec.record_pending(1));
    clear_record(0);
    EXPECT_EQ(m_rec.record(fault(7, 0x2000)), fault_recorder::outcome::recorded);
    EXPECT_TRUE(m_rec.record_pending(1));  // the next record in round-robin order
    EXPECT_EQ(m_rec.statistics().compressed, 1u);
}

TEST_F(FaultRecorder, OverflowSetsPfoAndDropsUntilCleared) {
    for (uint16_t s = 0; s < records; ++s) {
        EXPECT_EQ(m_rec.record(fault(s, 0)), fault_recorder::outcome::recorded);
    }
    EXPECT_EQ(fsts::pfo::get(fsts()), 0u);
    EXPECT_EQ(m_rec.record(fault(100, 0)), fault_recorder::outcome::overflow);
    EXPECT_EQ(fsts::pfo::get(fsts()), 1u);
    clear_record(0);
    // PFO still set: new faults are dropped even though a record is free.
    EXPECT_EQ(m_rec.record(fault(101, 0)), fault_recorder::outcome::dropped);
    ASSERT_TRUE(m_regs.write(reg::FSTS_OFFSET, 4, fsts::pfo::mask));
    EXPECT_EQ(m_rec.record(fault(101, 0)), fault_recorder::outcome::recorded);
    EXPECT_EQ(m_rec.record_at(0).sid, 101u);
    EXPECT_EQ(m_rec.statistics().overflow, 1u);
    EXPECT_EQ(m_rec.statistics().dropped, 1u);
}

TEST_F(FaultRecorder, FriTracksTheFirstPendingRecord) {
    m_rec.record(fault(1, 0));
    m_rec.record(fault(2, 0));
    m_rec.record(fault(3, 0));
    EXPECT_EQ(fsts::fri::get(fsts()), 0u);
    clear_record(0);
    EXPECT_EQ(fsts::fri::get(fsts()), 1u);
    EXPECT_EQ(fsts::ppf::get(fsts()), 1u);
    clear_record(1);
    clear_record(2);
    EXPECT_EQ(fsts::ppf::get(fsts()), 0u);
    // PPF 0 -> 1 sets FRI to the record just written (index 3).
    m_rec.record(fault(4, 0));
    EXPECT_EQ(fsts::fri::get(fsts()), 3u);
}

TEST_F(FaultRecorder, MaskedEventStaysPendingUntilUnmasked) {
    m_rec.record(fault(1, 0));  // FECTL.IM resets to 1
    EXPECT_EQ(m_msis, 0u);
    EXPECT_EQ(fectl::ip::get(fectl()), 1u);
    unmask();
    EXPECT_EQ(m_msis, 1u);
    EXPECT_EQ(fectl::ip::get(fectl()), 0u);
}

TEST_F(FaultRecorder, OneEventUntilSoftwareClearsEveryCondition) {
    unmask();
    m_rec.record(fault(1, 0));
    EXPECT_EQ(m_msis, 1u);
    m_rec.record(fault(2, 0));            // PPF already pending: no new event
    m_rec.raise_status(fsts::iqe::mask);  // neither
    EXPECT_EQ(m_msis, 1u);
    EXPECT_EQ(fsts::iqe::get(fsts()), 1u);
    clear_record(0);
    clear_record(1);
    EXPECT_FALSE(m_rec.conditions_clear());  // IQE still set
    ASSERT_TRUE(m_regs.write(reg::FSTS_OFFSET, 4, fsts::iqe::mask));
    EXPECT_TRUE(m_rec.conditions_clear());
    m_rec.raise_status(fsts::ite::mask);
    EXPECT_EQ(m_msis, 2u);
    m_rec.raise_status(fsts::ite::mask);  // already set: nothing new
    EXPECT_EQ(m_msis, 2u);
}

TEST_F(FaultRecorder, ClearingConditionsClearsPendingIp) {
    m_rec.record(fault(1, 0));
    EXPECT_EQ(fectl::ip::get(fectl()), 1u);
    bool cleared = false;
    m_rec.on_conditions_cleared([&] { cleared = true; });
    clear_record(0);
    EXPECT_TRUE(cleared);
    EXPECT_EQ(fectl::ip::get(fectl()), 0u);
    unmask();
    EXPECT_EQ(m_msis, 0u);  // nothing left to deliver
}

TEST_F(FaultRecorder, SuppressedFaultsAreCountedNotRecorded) {
    unmask();
    EXPECT_EQ(m_rec.record(fault(1, 0), true), fault_recorder::outcome::suppressed);
    EXPECT_FALSE(m_rec.record_pending(0));
    EXPECT_EQ(fsts(), 0u);
    EXPECT_EQ(m_msis, 0u);
    EXPECT_EQ(m_rec.statistics().suppressed, 1u);
}

}  // namespace
}  // namespace iommusim
