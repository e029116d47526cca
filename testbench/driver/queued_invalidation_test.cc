// Queue submission against the TLM model's invalidation queue engine: batching, wrap-around,
// full-ring waits, IQE/ITE/ICE handling, interrupt mode and statistics (docs/vtd-facts.md §2). What was
// sent is read back from the ring in memory; what ran, from the engine's statistics.
#include "driver/queued_invalidation.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

#include "driver/vtd_model_util.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {
namespace {

using driver::vtd_iommu_config;

hw::inv_desc iotlb_page(uint16_t did, uint64_t addr) {
    return hw::make_iotlb_inv(hw::iotlb_desc::page, did, addr, 0);
}

// Starts a test's run: driver statistics cleared, observation window opened.
void begin(model_unit& u) {
    u.vtd().qi().reset_stats();
    u.mark();
}

TEST(QueuedInvalidation, BatchEndsWithOneWaitAndCompletes) {
    model_unit u;
    u.run([&] {
        begin(u);
        const std::vector<hw::inv_desc> descs = {iotlb_page(1, 0x1000), iotlb_page(1, 0x2000), iotlb_page(2, 0x3000)};
        ASSERT_EQ(u.vtd().qi().submit(descs), 0);
        const auto sent = u.sent();
        ASSERT_EQ(sent.size(), 4u);
        for (int i = 0; i < 3; ++i) {
            EXPECT_EQ(sent[i], descs[i]);
        }
        const hw::inv_desc& wait = sent[3];
        EXPECT_EQ(hw::desc::type_of(wait), static_cast<unsigned>(hw::inv_type::wait));
        EXPECT_EQ(hw::wait_desc::sw::get(wait), 1u);
        EXPECT_EQ(hw::wait_desc::if_::get(wait), 0u);
        // The engine ran all four, and the wait's status write landed.
        EXPECT_EQ(u.executed(hw::inv_type::iotlb), 3u);
        EXPECT_EQ(u.executed(hw::inv_type::wait), 1u);
        uint32_t status = 0;
        ASSERT_TRUE(u.bus().read32(hw::wait_desc::status_addr::get(wait) << 2, status));
        EXPECT_EQ(status, hw::wait_desc::status_data::get(wait));
        EXPECT_EQ(u.vtd().qi().stats().batches, 1u);
        EXPECT_EQ(u.vtd().qi().stats().descriptors, 4u);
        EXPECT_GT(u.vtd().qi().stats().wait_ns_last, 0u);
        EXPECT_EQ(u.read64(hw::reg::IQT_OFFSET), u.read64(hw::reg::IQH_OFFSET));
    });
}

TEST(QueuedInvalidation, TailWrapsAroundUnderLoad) {
    model_unit u;
    u.run([&] {
        begin(u);
        const unsigned entries = u.vtd().qi().entries();
        ASSERT_EQ(entries, 256u);
        const unsigned start = u.vtd().qi().tail();  // after the bring-up flush
        uint64_t expected = 0;
        for (unsigned batch = 0; batch < 100; ++batch) {
            std::vector<hw::inv_desc> descs;
            for (unsigned i = 0; i < 6; ++i) {
                descs.push_back(iotlb_page(static_cast<uint16_t>(batch + 1), i * 0x1000ull));
            }
            u.mark();
            ASSERT_EQ(u.vtd().qi().submit(descs), 0) << "batch " << batch;
            expected += 7;
            EXPECT_EQ(u.vtd().qi().tail(), (start + expected) % entries);
            // Order is kept across the wrap: the batch's descriptors then its wait, all executed.
            const auto sent = u.sent();
            ASSERT_EQ(sent.size(), 7u);
            for (unsigned i = 0; i < 6; ++i) {
                EXPECT_EQ(sent[i], descs[i]) << "batch " << batch;
            }
            EXPECT_EQ(hw::desc::type_of(sent[6]), static_cast<unsigned>(hw::inv_type::wait));
            EXPECT_EQ(u.executed(hw::inv_type::iotlb), 6u);
            EXPECT_EQ(u.executed(hw::inv_type::wait), 1u);
        }
        EXPECT_GT(expected, entries) << "the ring wrapped";
        EXPECT_EQ(u.read64(hw::reg::IQT_OFFSET), u.read64(hw::reg::IQH_OFFSET));
    });
}

TEST(QueuedInvalidation, BatchLargerThanTheRingWaitsForSpace) {
    platform_config cfg = unit_config();
    cfg.iommu.qi_desc_process_ns = 2000;  // a slow engine: the driver outpaces it and finds the ring full
    model_unit u(cfg);
    u.run([&] {
        begin(u);
        std::vector<hw::inv_desc> descs;
        for (unsigned i = 0; i < 700; ++i) {
            descs.push_back(iotlb_page(3, i * 0x1000ull));
        }
        ASSERT_EQ(u.vtd().qi().submit(descs), 0);
        EXPECT_EQ(u.executed(hw::inv_type::iotlb), 700u);
        EXPECT_EQ(u.executed(hw::inv_type::wait), 1u);
        EXPECT_EQ(u.executed_total(), 701u);
        EXPECT_GT(u.vtd().qi().stats().full_waits, 0u);
        // The ring holds the batch's last 255 descriptors in order, the wait last.
        const unsigned entries = u.vtd().qi().entries();
        const unsigned tail = u.vtd().qi().tail();
        const hw::inv_desc wait = u.slot((tail + entries - 1) % entries);
        EXPECT_EQ(hw::desc::type_of(wait), static_cast<unsigned>(hw::inv_type::wait));
        for (unsigned k = 2; k < entries; ++k) {
            ASSERT_EQ(u.slot((tail + entries - k) % entries), descs[700 - (k - 1)]) << k;
        }
    });
}

TEST(QueuedInvalidation, InvalidDescriptorIsReplacedAndBatchFailsWithEinval) {
    model_unit u;
    u.run([&] {
        begin(u);
        const unsigned start = u.vtd().qi().tail();
        const unsigned entries = u.vtd().qi().entries();
        hw::inv_desc bad = iotlb_page(1, 0x1000);
        bad[2] = 1;  // qw2 is reserved in 256-bit descriptors
        const std::vector<hw::inv_desc> descs = {iotlb_page(1, 0x5000), bad, iotlb_page(1, 0x6000)};
        EXPECT_EQ(u.vtd().qi().submit(descs), -EINVAL);
        EXPECT_EQ(u.vtd().qi().stats().iqe, 1u);
        uint64_t iqe = 0;
        for (uint64_t n : u.model_stats().iqe_by_iqei) {
            iqe += n;
        }
        EXPECT_EQ(iqe, 1u) << "the engine refused the descriptor";
        EXPECT_EQ(hw::fsts::iqe::get(u.read32(hw::reg::FSTS_OFFSET)), 0u) << "IQE cleared";
        // The queue keeps working: the replaced slot and the rest drain, then a new batch completes.
        ASSERT_EQ(u.vtd().qi().submit(iotlb_page(1, 0x7000)), 0);
        EXPECT_EQ(u.slot(start), descs[0]);
        EXPECT_EQ(hw::desc::type_of(u.slot((start + 1) % entries)), static_cast<unsigned>(hw::inv_type::wait))
            << "bad slot";
        EXPECT_EQ(u.slot((start + 2) % entries), descs[2]);
        const auto sent = u.sent();
        ASSERT_EQ(sent.size(), 6u);
        EXPECT_EQ(sent[4], iotlb_page(1, 0x7000));
        // Executed: both good descriptors of the failed batch and the new one; the replacement
        // wait, the failed batch's wait and the new batch's wait.
        EXPECT_EQ(u.executed(hw::inv_type::iotlb), 3u);
        EXPECT_EQ(u.executed(hw::inv_type::wait), 3u);
        EXPECT_EQ(u.read64(hw::reg::IQT_OFFSET), u.read64(hw::reg::IQH_OFFSET));
    });
}

TEST(QueuedInvalidation, DeviceTlbTimeoutAbortsWithEtimedout) {
    model_unit u;
    u.atc(0x0108).set_fault(ats_device_tlb::fault_mode::never_answer);
    u.run([&] {
        begin(u);
        const std::vector<hw::inv_desc> descs = {iotlb_page(1, 0x1000),
                                                 driver::dev_tlb_inv(u.vtd().flush_capabilities(), 0x0108, {0, 52})};
        EXPECT_EQ(u.vtd().qi().submit(descs), -ETIMEDOUT);
        EXPECT_EQ(u.vtd().qi().stats().ite, 1u);
        EXPECT_EQ(u.model_stats().ite, 1u);
        EXPECT_EQ(u.model_stats().waits_aborted, 1u);
        EXPECT_EQ(hw::fsts::ite::get(u.read32(hw::reg::FSTS_OFFSET)), 0u) << "ITE cleared";
        u.atc(0x0108).set_fault(ats_device_tlb::fault_mode::none);
        EXPECT_EQ(u.vtd().qi().submit(iotlb_page(1, 0x2000)), 0);
        EXPECT_EQ(u.vtd().qi().submit(driver::dev_tlb_inv(u.vtd().flush_capabilities(), 0x0108, {0, 52})), 0)
            << "the device answers again";
    });
    EXPECT_EQ(u.atc(0x0108).requests().size(), 2u);
}

TEST(QueuedInvalidation, CompletionErrorIsClearedAndBatchContinues) {
    model_unit u;
    // The device answers every invalidation twice: the second completion matches no outstanding
    // request, which the hardware reports as ICE (docs/vtd-facts.md §2.5) while the batch completes.
    u.atc(0x0108).set_fault(ats_device_tlb::fault_mode::duplicate);
    u.run([&] {
        begin(u);
        EXPECT_EQ(u.vtd().qi().submit(driver::dev_tlb_inv(u.vtd().flush_capabilities(), 0x0108, {0, 52})), 0);
        EXPECT_EQ(u.model_stats().ice, 1u);
        // Whether the batch's own polls saw ICE depends on timing; the next batch's first poll
        // (before its wait can complete) sees it at the latest.
        EXPECT_EQ(u.vtd().qi().submit(iotlb_page(1, 0x1000)), 0);
        EXPECT_EQ(u.vtd().qi().stats().ice, 1u);
        EXPECT_EQ(hw::fsts::ice::get(u.read32(hw::reg::FSTS_OFFSET)), 0u);
        EXPECT_EQ(u.executed(hw::inv_type::wait), 2u);
    });
}

TEST(QueuedInvalidation, CompletionErrorDoesNotEndTheBatchEarly) {
    model_unit u;
    // A completion with the wrong ITag: ICE at once, and the real request never completes (ITE).
    u.atc(0x0108).set_fault(ats_device_tlb::fault_mode::wrong_itag);
    u.run([&] {
        begin(u);
        const uint64_t t0 = u.bus().now_ns();
        EXPECT_EQ(u.vtd().qi().submit(driver::dev_tlb_inv(u.vtd().flush_capabilities(), 0x0108, {0, 52})), -ETIMEDOUT);
        EXPECT_EQ(u.vtd().qi().stats().ice, 1u) << "ICE seen and cleared while waiting";
        EXPECT_EQ(u.vtd().qi().stats().ite, 1u);
        EXPECT_GE(u.bus().now_ns() - t0, u.mmu().config().devtlb_timeout_ns) << "kept waiting after ICE";
        EXPECT_EQ(hw::fsts::ice::get(u.read32(hw::reg::FSTS_OFFSET)), 0u);
        EXPECT_EQ(hw::fsts::ite::get(u.read32(hw::reg::FSTS_OFFSET)), 0u);
    });
}

TEST(QueuedInvalidation, StalledQueueTimesOutInsteadOfHanging) {
    platform_config cfg = unit_config();
    cfg.iommu.esrtps = true;                    // bring-up needs no flush through the slow engine
    cfg.iommu.qi_desc_process_ns = 10'000'000;  // an engine that barely moves
    vtd_iommu_config dcfg;
    dcfg.qi.timeout_ns = 50'000;
    model_unit u(cfg, dcfg);
    u.run([&] {
        begin(u);
        std::vector<hw::inv_desc> descs(300, iotlb_page(1, 0));  // more than the ring: the fill loop waits too
        const uint64_t t0 = u.bus().now_ns();
        EXPECT_EQ(u.vtd().qi().submit(descs), -ETIMEDOUT);
        EXPECT_EQ(u.vtd().qi().stats().timeouts, 1u);
        EXPECT_GE(u.bus().now_ns() - t0, 50'000u);
        EXPECT_GT(u.vtd().qi().stats().full_waits, 0u);
        EXPECT_LT(u.executed_total(), 300u) << "the engine did not drain the batch";
    });
}

TEST(QueuedInvalidation, InterruptModeSetsIfAndClearsIwc) {
    vtd_iommu_config dcfg;
    dcfg.qi.use_interrupt = true;
    model_unit u(unit_config(), dcfg);
    u.run([&] {
        begin(u);
        EXPECT_EQ(hw::iectl::im::get(u.read32(hw::reg::IECTL_OFFSET)), 0u) << "completion event unmasked";
        ASSERT_EQ(u.vtd().qi().submit(iotlb_page(1, 0x1000)), 0);
        const hw::inv_desc wait = u.sent().back();
        EXPECT_EQ(hw::wait_desc::if_::get(wait), 1u);
        EXPECT_EQ(hw::wait_desc::sw::get(wait), 1u);
        EXPECT_EQ(hw::ics::iwc::get(u.read32(hw::reg::ICS_OFFSET)), 0u) << "IWC cleared by the driver";
        ASSERT_EQ(u.vtd().qi().submit(iotlb_page(1, 0x2000)), 0);
        EXPECT_EQ(u.vtd().qi().stats().batches, 2u);
        EXPECT_EQ(hw::ics::iwc::get(u.read32(hw::reg::ICS_OFFSET)), 0u);
    });
    EXPECT_GE(u.mmu().queue().stats().completion_interrupts, 2u) << "IWC 0->1 twice, IM=0: two events";
}

TEST(QueuedInvalidation, StatisticsCountBatchesDescriptorsAndWaitTime) {
    model_unit u;
    u.run([&] {
        begin(u);
        for (int i = 0; i < 5; ++i) {
            ASSERT_EQ(u.vtd().qi().submit(iotlb_page(1, i * 0x1000ull)), 0);
        }
        const auto& s = u.vtd().qi().stats();
        EXPECT_EQ(s.batches, 5u);
        EXPECT_EQ(s.descriptors, 10u);
        EXPECT_EQ(u.executed_total(), s.descriptors);
        EXPECT_GE(s.wait_ns_total, s.wait_ns_max);
        EXPECT_GT(s.wait_ns_max, 0u);
    });
}

TEST(QueuedInvalidation, NoQueueIsEnodev) {
    model_unit u(unit_config(), {}, false);
    u.run([&] {
        u.mark();
        driver::queued_invalidation qi(u.bus());
        EXPECT_EQ(qi.submit(iotlb_page(1, 0)), -ENODEV);
        EXPECT_EQ(u.executed_total(), 0u);
    });
}

}  // namespace
}  // namespace iommusim::test
