// Probe, bring-up, GCMD protocol, DID allocation, device tables and the IOTLB invalidation encoder,
// on the TLM model (docs/vtd-facts.md §1-§4, §6.7). Units the driver refuses are built without the
// platform (bare_unit); VER 0 and a reserved-only SAGAW, which the model cannot be configured with,
// are probed on a capability-register double.
#include "driver/vtd_iommu.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "driver/bare_unit_util.h"
#include "driver/capability_regs_util.h"
#include "driver/vtd_model_util.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {
namespace {

using driver::page_allocator;
using driver::vtd_iommu;

TEST(VtdIommu, ProbeBringsUpQueueRootTableAndTranslation) {
    model_unit u(unit_config(), {}, false);
    u.run([&] {
        EXPECT_FALSE(hw::gsts::tes::get(u.read32(hw::reg::GSTS_OFFSET))) << "starts disabled";
        u.mark();
        std::string error;
        ASSERT_EQ(u.vtd().probe(&error), 0) << error;
        const uint32_t gsts = u.read32(hw::reg::GSTS_OFFSET);
        EXPECT_TRUE(hw::gsts::qies::get(gsts));
        EXPECT_TRUE(hw::gsts::tes::get(gsts));
        EXPECT_TRUE(hw::gsts::rtps::get(gsts));
        const uint64_t iqa = u.read64(hw::reg::IQA_OFFSET);
        EXPECT_EQ(hw::iqa::dw::get(iqa), 1u);
        EXPECT_EQ(hw::iqa::qs::get(iqa), 1u);
        const uint64_t rtaddr = u.read64(hw::reg::RTADDR_OFFSET);
        EXPECT_EQ(hw::rtaddr::ttm::get(rtaddr), 1u) << "scalable mode";
        EXPECT_EQ(hw::rtaddr::rta::get(rtaddr) << 12, u.vtd().root_table());
        EXPECT_EQ(u.vtd().ss_levels(), 4u);
        EXPECT_EQ(u.vtd().ss_width(), 48u);
        // Without ESRTPS the new root is followed by global context, PASID-cache and IOTLB flushes.
        const auto sent = u.sent();
        ASSERT_EQ(sent.size(), 4u);
        EXPECT_EQ(sent[0], hw::make_cc_inv(hw::cc_desc::global));
        EXPECT_EQ(sent[1], hw::make_pc_inv(hw::pc_desc::global));
        EXPECT_EQ(sent[2], hw::make_iotlb_inv(hw::iotlb_desc::global));
        EXPECT_EQ(hw::desc::type_of(sent[3]), static_cast<unsigned>(hw::inv_type::wait));
        EXPECT_EQ(u.executed(hw::inv_type::context_cache), 1u);
        EXPECT_EQ(u.executed(hw::inv_type::pasid_cache), 1u);
        EXPECT_EQ(u.executed(hw::inv_type::iotlb), 1u);
        EXPECT_EQ(u.executed(hw::inv_type::wait), 1u);
        // Ring and root table are 4 KiB aligned driver pages.
        EXPECT_EQ(u.vtd().root_table() & 0xfff, 0u);
        EXPECT_GE(u.vtd().root_table(), model_unit::driver_memory_base);
        EXPECT_EQ((hw::iqa::iqa::get(iqa) << 12) & 0xfff, 0u);
        EXPECT_GE(hw::iqa::iqa::get(iqa) << 12, model_unit::driver_memory_base);
    });
}

TEST(VtdIommu, EsrtpsSkipsTheGlobalFlush) {
    platform_config cfg = unit_config();
    cfg.iommu.esrtps = true;
    model_unit u(cfg, {}, false);
    u.run([&] {
        u.mark();
        ASSERT_EQ(u.vtd().probe(), 0);
        EXPECT_TRUE(u.sent().empty());
        EXPECT_EQ(u.executed_total(), 0u);
        EXPECT_TRUE(hw::gsts::rtps::get(u.read32(hw::reg::GSTS_OFFSET)));
    });
}

// Probes a unit built without the platform (which would probe it itself and fail); returns the
// driver's result and error text.
int probe_bare(bare_unit& unit, std::string& error) {
    int rc = 1;
    unit.run([&] {
        page_allocator pages(unit.bus(), 0x1000'0000, 0x10'0000);
        vtd_iommu iommu(unit.bus(), pages);
        rc = iommu.probe(&error);
        EXPECT_FALSE(iommu.probed());
    });
    return rc;
}

TEST(VtdIommu, ProbeRefusesAUnitWithoutQueuedInvalidation) {
    platform_config cfg = unit_config();
    cfg.iommu.qi = false;
    cfg.iommu.smts = false;  // scalable mode requires QI
    bare_unit unit(cfg);
    std::string error;
    EXPECT_EQ(probe_bare(unit, error), -ENODEV);
    EXPECT_NE(error.find("ECAP.QI"), std::string::npos) << error;
    unit.run([&] {
        EXPECT_EQ(hw::ecap::qi::get(unit.bus().mmio_read64(hw::reg::ECAP_OFFSET)), 0u);
        // The model ignores GCMD.QIE without ECAP.QI: GSTS.QIES stays 0.
        unit.bus().mmio_write32(hw::reg::GCMD_OFFSET, static_cast<uint32_t>(hw::gcmd::qie::mask));
        unit.bus().delay(100);
        EXPECT_EQ(hw::gsts::qies::get(unit.bus().mmio_read32(hw::reg::GSTS_OFFSET)), 0u);
    });
    EXPECT_FALSE(unit.top().mmu.queue().enabled());
}

TEST(VtdIommu, ProbeRefusesAUnitWithoutScalableMode) {
    platform_config cfg = unit_config();
    cfg.iommu.smts = false;
    bare_unit unit(cfg);
    std::string error;
    EXPECT_EQ(probe_bare(unit, error), -ENODEV);
    EXPECT_NE(error.find("ECAP.SMTS"), std::string::npos) << error;
    unit.run([&] {
        driver::hw_bus& bus = unit.bus();
        EXPECT_EQ(hw::ecap::smts::get(bus.mmio_read64(hw::reg::ECAP_OFFSET)), 0u);
        // Without SMTS a scalable-mode root (TTM=01) is reserved: with translation enabled every
        // request is blocked with RTA.1, nothing is walked.
        bus.mmio_write64(hw::reg::RTADDR_OFFSET, hw::rtaddr::rta::make(0x1000'0000 >> 12) | hw::rtaddr::ttm::make(1));
        bus.mmio_write32(hw::reg::GCMD_OFFSET, static_cast<uint32_t>(hw::gcmd::srtp::mask));
        bus.mmio_write32(hw::reg::GCMD_OFFSET, static_cast<uint32_t>(hw::gcmd::te::mask));
        EXPECT_EQ(hw::gsts::tes::get(bus.mmio_read32(hw::reg::GSTS_OFFSET)), 1u);
        uint8_t buf[8] = {};
        hw::fault_reason reason = hw::fault_reason::none;
        EXPECT_NE(unit.top().devices[0]->transfer(false, 0, 0x1000, buf, sizeof buf, false, &reason),
                  tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(reason, hw::fault_reason::rta_invalid);
    });
}

TEST(VtdIommu, ProbeRefusesAUnitWithoutSecondStage) {
    platform_config cfg = unit_config();
    cfg.iommu.ssts = false;
    bare_unit unit(cfg);
    std::string error;
    EXPECT_EQ(probe_bare(unit, error), -ENODEV);
    EXPECT_NE(error.find("ECAP.SSTS"), std::string::npos) << error;
}

TEST(VtdIommu, ProbeRefusesNamingTheMissingCapability) {
    // VER 0 and a SAGAW with only the reserved 2-level encoding are no configuration of the model:
    // the capability registers of the real model, edited, on the capability-register double.
    model_unit u;
    uint32_t ver = 0;
    uint64_t cap = 0, ecap = 0;
    u.run([&] {
        ver = u.read32(hw::reg::VER_OFFSET);
        cap = u.read64(hw::reg::CAP_OFFSET);
        ecap = u.read64(hw::reg::ECAP_OFFSET);
    });
    auto probe_with = [](uint32_t v, uint64_t c, uint64_t e, std::string& error) {
        capability_regs hw(v, c, e);
        page_allocator pages(hw, 0x1000'0000, 0x10'0000);
        vtd_iommu iommu(hw, pages);
        const int rc = iommu.probe(&error);
        EXPECT_FALSE(iommu.probed());
        return rc;
    };
    std::string error;
    EXPECT_EQ(probe_with(ver, hw::cap::sagaw::set(cap, 1), ecap, error), -ENODEV)
        << "only the reserved 2-level encoding";
    EXPECT_NE(error.find("CAP.SAGAW"), std::string::npos) << error;
    EXPECT_EQ(probe_with(0, cap, ecap, error), -ENODEV);
    EXPECT_NE(error.find("VER_REG"), std::string::npos) << error;
}

TEST(VtdIommu, ProbePicksFiveLevelWhenFourIsMissing) {
    platform_config cfg = unit_config();
    cfg.iommu.sagaw_39 = false;
    cfg.iommu.sagaw_48 = false;
    cfg.iommu.sagaw_57 = true;
    cfg.iommu.mgaw = 57;
    model_unit u(cfg);
    u.run([&] {
        EXPECT_EQ(u.vtd().ss_levels(), 5u);
        EXPECT_EQ(u.vtd().ss_aw(), 3u);
        EXPECT_EQ(u.vtd().ss_width(), 57u);
    });
}

TEST(VtdIommu, GcmdTimesOutWhenStatusDoesNotFollow) {
    // The model refuses QIE=0 while the queue is busy (GSTS.QIES stays 1): a batch on a very slow
    // engine is abandoned by the driver and still in the hardware when the queue is disabled.
    platform_config cfg = unit_config();
    cfg.iommu.esrtps = true;  // bring-up sends no descriptors
    cfg.iommu.qi_desc_process_ns = 5'000'000;
    driver::vtd_iommu_config dcfg;
    dcfg.qi.timeout_ns = 20'000;
    dcfg.gcmd_timeout_ns = 100'000;
    model_unit u(cfg, dcfg);
    u.run([&] {
        const hw::inv_desc flush = hw::make_iotlb_inv(hw::iotlb_desc::global);
        EXPECT_EQ(u.vtd().qi().submit(flush), -ETIMEDOUT) << "the batch is still in the engine";
        const uint64_t refused = u.model_stats().disable_refused;
        const uint64_t t0 = u.bus().now_ns();
        EXPECT_EQ(u.vtd().gcmd(static_cast<uint32_t>(hw::gcmd::qie::mask), false), -ETIMEDOUT);
        EXPECT_GE(u.bus().now_ns() - t0, dcfg.gcmd_timeout_ns);
        EXPECT_TRUE(hw::gsts::qies::get(u.read32(hw::reg::GSTS_OFFSET))) << "QIE=0 refused while busy";
        EXPECT_GT(u.model_stats().disable_refused, refused);
    });
}

TEST(VtdIommu, GcmdWritesOneCommandKeepingPersistentBits) {
    model_unit u;
    u.run([&] {
        ASSERT_EQ(u.vtd().gcmd(static_cast<uint32_t>(hw::gcmd::te::mask), false), 0);
        const uint32_t gsts = u.read32(hw::reg::GSTS_OFFSET);
        EXPECT_FALSE(hw::gsts::tes::get(gsts));
        EXPECT_TRUE(hw::gsts::qies::get(gsts)) << "QIE kept while TE is cleared";
        EXPECT_TRUE(hw::gsts::rtps::get(gsts));
    });
}

TEST(VtdIommu, DidAllocatorIsSizedByNd) {
    platform_config cfg = unit_config();
    cfg.iommu.nd = 0;  // 16 domains
    model_unit u(cfg);
    u.run([&] {
        vtd_iommu& iommu = u.vtd();
        EXPECT_EQ(hw::cap::nd::get(iommu.cap()), 0u);
        EXPECT_EQ(iommu.did_count(), 16u);
        std::vector<uint16_t> dids;
        uint16_t did = 0;
        while (iommu.alloc_did(did) == 0) {
            EXPECT_NE(did, 0) << "DID 0 is reserved";
            EXPECT_LT(did, 16);
            dids.push_back(did);
        }
        EXPECT_EQ(dids.size(), 15u);
        EXPECT_EQ(iommu.alloc_did(did), -ENOSPC);
        iommu.free_did(dids[4]);
        ASSERT_EQ(iommu.alloc_did(did), 0);
        EXPECT_EQ(did, dids[4]);
    });
}

TEST(VtdIommu, DeviceEntryCreatesContextAndPasidTables) {
    model_unit u;
    u.run([&] {
        vtd_iommu& iommu = u.vtd();
        hw::pasid_entry::words e{};
        hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::second_stage));
        hw::pasid_entry::did::set(e, 7);
        hw::pasid_entry::p::set(e, 1);
        const uint16_t rid = 0x0288;  // bus 2, devfn 0x88: upper context table
        driver::cache_tags tags(driver::domain_stage::second);
        ASSERT_EQ(iommu.set_device_entry(rid, true, e, tags), 0);

        driver::hw_bus& hw = u.bus();
        hw::root_entry::words re{};
        ASSERT_TRUE(hw.mem_read(iommu.root_table() + 2 * hw::root_entry::bytes, re.data(), sizeof re));
        EXPECT_EQ(hw::root_entry::lp::get(re), 0u);
        ASSERT_EQ(hw::root_entry::up::get(re), 1u);
        const uint64_t ctx = hw::root_entry::uctp::get(re) << 12;
        hw::context_entry::words ce{};
        ASSERT_TRUE(hw.mem_read(ctx + (0x88 % 128) * hw::context_entry::bytes, ce.data(), sizeof ce));
        EXPECT_EQ(hw::context_entry::p::get(ce), 1u);
        EXPECT_EQ(hw::context_entry::dte::get(ce), 1u);
        EXPECT_EQ(hw::context_entry::rid_pasid::get(ce), 0u);
        uint64_t dir = 0;
        ASSERT_TRUE(hw.read64(hw::context_entry::pasiddirptr::get(ce) << 12, dir));
        EXPECT_EQ(hw::pasid_dir_entry::p::get(dir), 1u);
        hw::pasid_entry::words got{};
        ASSERT_TRUE(hw.mem_read(hw::pasid_dir_entry::smptblptr::get(dir) << 12, got.data(), sizeof got));
        EXPECT_EQ(got, e);
        ASSERT_NE(iommu.attachment_of(rid), nullptr);
        EXPECT_EQ(iommu.attachment_of(rid)->did, 7);
    });
}

TEST(VtdIommu, ReplacingAPresentEntryRunsTheSection67Sequence) {
    model_unit u;
    u.run([&] {
        vtd_iommu& iommu = u.vtd();
        hw::pasid_entry::words e{};
        hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::nested));
        hw::pasid_entry::did::set(e, 9);
        hw::pasid_entry::p::set(e, 1);
        driver::cache_tags first(driver::domain_stage::second);
        driver::cache_tags second(driver::domain_stage::second);
        ASSERT_EQ(iommu.set_device_entry(0x0108, true, e, first), 0);
        EXPECT_EQ(first.tags().size(), 2u) << "IOTLB and device-TLB tags";
        u.mark();
        hw::pasid_entry::did::set(e, 10);
        hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::second_stage));
        ASSERT_EQ(iommu.set_device_entry(0x0108, true, e, second), 0);
        EXPECT_TRUE(first.empty()) << "the replaced owner loses the device's tags";
        EXPECT_EQ(second.tags().size(), 2u);
        auto sent = u.sent();
        ASSERT_EQ(sent.size(), 4u);
        EXPECT_EQ(sent[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, 9, 0));
        EXPECT_EQ(sent[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, 9));
        EXPECT_EQ(sent[2], driver::dev_tlb_inv(iommu.flush_capabilities(), 0x0108, {0, 52}));
        EXPECT_EQ(hw::desc::type_of(sent[3]), static_cast<unsigned>(hw::inv_type::wait));
        EXPECT_EQ(u.executed(hw::inv_type::pasid_cache), 1u);
        EXPECT_EQ(u.executed(hw::inv_type::iotlb), 1u);
        EXPECT_EQ(u.executed(hw::inv_type::dev_tlb), 1u);
        EXPECT_EQ(u.atc(0x0108).requests().size(), 1u) << "the device received the invalidation";

        u.mark();
        ASSERT_EQ(iommu.clear_device_entry(0x0108), 0);
        sent = u.sent();
        ASSERT_EQ(sent.size(), 4u);
        EXPECT_EQ(sent[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, 10, 0));
        EXPECT_EQ(sent[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, 10));
        EXPECT_EQ(u.executed_total(), 4u);
        hw::pasid_entry::words got{};
        ASSERT_TRUE(iommu.read_device_entry(0x0108, got));
        EXPECT_EQ(hw::pasid_entry::p::get(got), 0u);
        EXPECT_EQ(iommu.attachment_of(0x0108), nullptr);
        EXPECT_TRUE(second.empty());
    });
}

TEST(VtdIommu, IotlbInvalidationFallsBackToDomainSelective) {
    model_unit u;
    u.run([&] {
        vtd_iommu& iommu = u.vtd();
        EXPECT_EQ(hw::cap::mamv::get(iommu.cap()), 18u);
        EXPECT_EQ(driver::iotlb_inv(iommu.flush_capabilities(), 5, {0x40000, 18}, true),
                  hw::make_iotlb_inv(hw::iotlb_desc::page, 5, 0x40000, 18, true));
        EXPECT_EQ(driver::iotlb_inv(iommu.flush_capabilities(), 5, {0, 19}, true),
                  hw::make_iotlb_inv(hw::iotlb_desc::domain, 5));
        // The model accepts both (a mask above MAMV would be IQE).
        u.mark();
        const hw::inv_desc both[] = {driver::iotlb_inv(iommu.flush_capabilities(), 5, {0x40000, 18}, true),
                                     driver::iotlb_inv(iommu.flush_capabilities(), 5, {0, 19}, true)};
        EXPECT_EQ(iommu.qi().submit(both), 0);
        EXPECT_EQ(u.executed(hw::inv_type::iotlb), 2u);
    });
}

TEST(PageAllocator, AllocatesZeroedAlignedBlocksAndReusesFreedPages) {
    model_unit u;
    u.run([&] {
        driver::hw_bus& hw = u.bus();
        const uint64_t base = model_unit::driver_memory_base + model_unit::driver_memory_size + 0x1000;
        page_allocator pages(hw, base, 0x10'000);  // 16 pages, base not 8-page aligned
        uint64_t a = 0;
        ASSERT_TRUE(hw.write64(base, 0xdead));
        ASSERT_EQ(pages.alloc(a), 0);
        EXPECT_EQ(a, base);
        uint64_t v = 1;
        ASSERT_TRUE(hw.read64(a, v));
        EXPECT_EQ(v, 0u) << "zeroed";
        uint64_t big = 0;
        ASSERT_EQ(pages.alloc(big, 3), 0);
        EXPECT_EQ(big & 0x7fff, 0u) << "8-page block naturally aligned";
        EXPECT_EQ(pages.free_pages(), 16u - 9u);
        pages.free(a);
        uint64_t again = 0;
        ASSERT_EQ(pages.alloc(again), 0);
        EXPECT_EQ(again, a);
        uint64_t huge = 0;
        EXPECT_EQ(pages.alloc(huge, 4), -ENOMEM);
    });
}

}  // namespace
}  // namespace iommusim::test
