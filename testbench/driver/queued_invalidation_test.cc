// Queue submission against the register-level stand-in: batching, wrap-around, full-ring waits,
// IQE/ITE/ICE handling, interrupt mode and statistics (spec/vtd.md §2).
#include "driver/queued_invalidation.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "driver/fake_vtd_util.h"
#include "driver/page_allocator.h"
#include "driver/vtd_iommu.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {
namespace {

using driver::page_allocator;
using driver::vtd_iommu;
using driver::vtd_iommu_config;

struct QiBench {
    explicit QiBench(vtd_iommu_config cfg = {}) : pages(hw, 0x1000'0000, 0x100'0000), iommu(hw, pages, cfg) {
        EXPECT_EQ(iommu.probe(), 0);
        hw.processed.clear();
        iommu.qi().reset_stats();
    }
    fake_vtd hw;
    page_allocator pages;
    vtd_iommu iommu;
};

hw::inv_desc iotlb_page(uint16_t did, uint64_t addr) {
    return hw::make_iotlb_inv(hw::iotlb_desc::page, did, addr, 0);
}

TEST(QueuedInvalidation, BatchEndsWithOneWaitAndCompletes) {
    QiBench b;
    const std::vector<hw::inv_desc> descs = {iotlb_page(1, 0x1000), iotlb_page(1, 0x2000), iotlb_page(2, 0x3000)};
    ASSERT_EQ(b.iommu.qi().submit(descs), 0);
    ASSERT_EQ(b.hw.processed.size(), 4u);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(b.hw.processed[i], descs[i]);
    const hw::inv_desc& wait = b.hw.processed[3];
    EXPECT_EQ(hw::desc::type_of(wait), static_cast<unsigned>(hw::inv_type::wait));
    EXPECT_EQ(hw::wait_desc::sw::get(wait), 1u);
    EXPECT_EQ(hw::wait_desc::if_::get(wait), 0u);
    uint32_t status = 0;
    ASSERT_TRUE(b.hw.read32(hw::wait_desc::status_addr::get(wait) << 2, status));
    EXPECT_EQ(status, hw::wait_desc::status_data::get(wait));
    EXPECT_EQ(b.iommu.qi().stats().batches, 1u);
    EXPECT_EQ(b.iommu.qi().stats().descriptors, 4u);
    EXPECT_GT(b.iommu.qi().stats().wait_ns_last, 0u);
    EXPECT_EQ(b.hw.iqt, b.hw.iqh);
}

TEST(QueuedInvalidation, TailWrapsAroundUnderLoad) {
    QiBench b;
    const unsigned entries = b.iommu.qi().entries();
    ASSERT_EQ(entries, 256u);
    const unsigned start = b.iommu.qi().tail();  // after the bring-up flush
    uint64_t expected = 0;
    for (unsigned batch = 0; batch < 100; ++batch) {
        std::vector<hw::inv_desc> descs;
        for (unsigned i = 0; i < 6; ++i)
            descs.push_back(iotlb_page(static_cast<uint16_t>(batch + 1), i * 0x1000ull));
        ASSERT_EQ(b.iommu.qi().submit(descs), 0) << "batch " << batch;
        expected += 7;
        EXPECT_EQ(b.iommu.qi().tail(), (start + expected) % entries);
    }
    ASSERT_EQ(b.hw.processed.size(), expected);
    // Order is kept across the wrap: every batch's descriptors then its wait.
    for (unsigned batch = 0; batch < 100; ++batch) {
        for (unsigned i = 0; i < 6; ++i)
            EXPECT_EQ(b.hw.processed[batch * 7 + i], iotlb_page(static_cast<uint16_t>(batch + 1), i * 0x1000ull));
        EXPECT_EQ(hw::desc::type_of(b.hw.processed[batch * 7 + 6]), static_cast<unsigned>(hw::inv_type::wait));
    }
}

TEST(QueuedInvalidation, BatchLargerThanTheRingWaitsForSpace) {
    QiBench b;
    b.hw.rate = 1;
    std::vector<hw::inv_desc> descs;
    for (unsigned i = 0; i < 700; ++i)
        descs.push_back(iotlb_page(3, i * 0x1000ull));
    ASSERT_EQ(b.iommu.qi().submit(descs), 0);
    ASSERT_EQ(b.hw.processed.size(), 701u);
    for (unsigned i = 0; i < 700; ++i)
        ASSERT_EQ(b.hw.processed[i], descs[i]);
    EXPECT_GT(b.iommu.qi().stats().full_waits, 0u);
    EXPECT_EQ(count_type(b.hw.processed, hw::inv_type::wait), 1u);
}

TEST(QueuedInvalidation, InvalidDescriptorIsReplacedAndBatchFailsWithEinval) {
    QiBench b;
    hw::inv_desc bad = iotlb_page(1, 0x1000);
    bad[2] = 1;  // qw2 is reserved in 256-bit descriptors
    const std::vector<hw::inv_desc> descs = {iotlb_page(1, 0x5000), bad, iotlb_page(1, 0x6000)};
    EXPECT_EQ(b.iommu.qi().submit(descs), -EINVAL);
    EXPECT_EQ(b.iommu.qi().stats().iqe, 1u);
    EXPECT_EQ(hw::fsts::iqe::get(b.hw.fsts), 0u) << "IQE cleared";
    // The queue keeps working: the replaced slot and the rest drain, then a new batch completes.
    ASSERT_EQ(b.iommu.qi().submit(iotlb_page(1, 0x7000)), 0);
    ASSERT_GE(b.hw.processed.size(), 5u);
    EXPECT_EQ(b.hw.processed[0], descs[0]);
    EXPECT_EQ(hw::desc::type_of(b.hw.processed[1]), static_cast<unsigned>(hw::inv_type::wait)) << "bad slot";
    EXPECT_EQ(b.hw.processed[2], descs[2]);
    EXPECT_EQ(b.hw.processed[b.hw.processed.size() - 2], iotlb_page(1, 0x7000));
}

TEST(QueuedInvalidation, DeviceTlbTimeoutAbortsWithEtimedout) {
    QiBench b;
    b.hw.unresponsive.insert(0x0108);
    const std::vector<hw::inv_desc> descs = {iotlb_page(1, 0x1000), b.iommu.dev_tlb_inv(0x0108, 0, 52)};
    EXPECT_EQ(b.iommu.qi().submit(descs), -ETIMEDOUT);
    EXPECT_EQ(b.iommu.qi().stats().ite, 1u);
    EXPECT_EQ(hw::fsts::ite::get(b.hw.fsts), 0u) << "ITE cleared";
    b.hw.unresponsive.clear();
    EXPECT_EQ(b.iommu.qi().submit(iotlb_page(1, 0x2000)), 0);
}

TEST(QueuedInvalidation, CompletionErrorIsClearedAndBatchContinues) {
    QiBench b;
    b.hw.fsts |= static_cast<uint32_t>(hw::fsts::ice::mask);
    // The status word is polled before the hardware runs, so the fault check sees ICE first.
    EXPECT_EQ(b.iommu.qi().submit(iotlb_page(1, 0x1000)), 0);
    EXPECT_EQ(b.iommu.qi().stats().ice, 1u);
    EXPECT_EQ(hw::fsts::ice::get(b.hw.fsts), 0u);
}

TEST(QueuedInvalidation, StalledQueueTimesOutInsteadOfHanging) {
    vtd_iommu_config cfg;
    cfg.qi.timeout_ns = 50'000;
    QiBench b(cfg);
    b.hw.stalled = true;
    std::vector<hw::inv_desc> descs(300, iotlb_page(1, 0));  // more than the ring: the fill loop waits too
    EXPECT_EQ(b.iommu.qi().submit(descs), -ETIMEDOUT);
    EXPECT_EQ(b.iommu.qi().stats().timeouts, 1u);
    EXPECT_GE(b.hw.now_ns(), 50'000u);
}

TEST(QueuedInvalidation, InterruptModeSetsIfAndClearsIwc) {
    vtd_iommu_config cfg;
    cfg.qi.use_interrupt = true;
    QiBench b(cfg);
    EXPECT_EQ(hw::iectl::im::get(b.hw.iectl), 0u) << "completion event unmasked";
    ASSERT_EQ(b.iommu.qi().submit(iotlb_page(1, 0x1000)), 0);
    const hw::inv_desc& wait = b.hw.processed.back();
    EXPECT_EQ(hw::wait_desc::if_::get(wait), 1u);
    EXPECT_EQ(hw::wait_desc::sw::get(wait), 1u);
    ASSERT_EQ(b.iommu.qi().submit(iotlb_page(1, 0x2000)), 0);
    EXPECT_EQ(b.iommu.qi().stats().batches, 2u);
}

TEST(QueuedInvalidation, StatisticsCountBatchesDescriptorsAndWaitTime) {
    QiBench b;
    b.iommu.qi().reset_stats();
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(b.iommu.qi().submit(iotlb_page(1, i * 0x1000ull)), 0);
    const auto& s = b.iommu.qi().stats();
    EXPECT_EQ(s.batches, 5u);
    EXPECT_EQ(s.descriptors, 10u);
    EXPECT_GE(s.wait_ns_total, s.wait_ns_max);
    EXPECT_GT(s.wait_ns_max, 0u);
}

TEST(QueuedInvalidation, NoQueueIsEnodev) {
    fake_vtd hw;
    driver::queued_invalidation qi(hw);
    EXPECT_EQ(qi.submit(iotlb_page(1, 0)), -ENODEV);
}

}  // namespace
}  // namespace iommusim::test
