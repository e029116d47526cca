// The driver's page request drain when a PASID entry of a device with PRI is torn down or replaced
// (driver/vtd_prq.h drain, Linux intel_iommu_drain_pasid_prq; VT-d spec §7.10, docs/vtd-facts.md
// §10.4): the descriptors it submits, checked word by word against hand-written ones, and the
// page request thread it runs while the queue holds requests of that PASID.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "driver/paging_domain.h"
#include "driver/vtd_model_util.h"
#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {
namespace {

constexpr uint16_t k_ats_rid = 0x0108;  // platform device 1: ATS, with PRI here
constexpr unsigned k_ats_device = 1;

platform_config drain_config(bool pds = true) {
    platform_config cfg = unit_config();
    cfg.iommu.prs = true;
    cfg.iommu.pds = pds;
    cfg.devices[k_ats_device].pri = true;
    return cfg;
}

// Keeps what the domain's page requests were (iommufd's fault object would queue them).
struct recording_handler : driver::iopf_handler {
    std::vector<driver::page_request> requests;
    int handle(driver::iommu_device&, const driver::page_request& r) override {
        requests.push_back(r);
        return 0;
    }
};

struct drain_unit : model_unit {
    explicit drain_unit(bool pds = true) : model_unit(drain_config(pds)) {
        ats_dev.pri = true;
        ats_dev.pasid = true;
        ats_dev.max_pasid_log2 = 20;
        ops().set_device_lookup([this](uint16_t rid) { return rid == k_ats_rid ? &ats_dev : nullptr; });
    }
    ~drain_unit() {
        run([&] { domains.clear(); });
    }
    driver::paging_domain* paging(uint32_t flags = 0) {
        std::unique_ptr<driver::iommu_domain> d;
        EXPECT_EQ(ops().domain_alloc_paging_flags(ats_dev, flags, nullptr, d), 0);
        d->set_iopf_handler(&handler);
        domains.push_back(std::move(d));
        return static_cast<driver::paging_domain*>(domains.back().get());
    }
    dma_device& device() { return plat().dma_engine(k_ats_device); }
    recording_handler handler;
    std::vector<std::unique_ptr<driver::iommu_domain>> domains;
};

// Words of the descriptors Linux builds, by hand (docs/vtd-facts.md §3.2, §3.3, §3.5, §3.6, §3.8).
// The fenced wait: type 5, FN (bit 6), no status write, status data QI_DONE (2).
constexpr uint64_t k_fenced_wait_qw0 = 0x0000'0002'0000'0045ull;
// Domain-selective IOTLB: type 2, G=10b (bits 5:4), DID in 31:16.
uint64_t iotlb_dsi_qw0(uint16_t did) {
    return 0x22ull | uint64_t{did} << 16;
}
// Device TLB of requests without PASID, every address: type 3, SID 0x0108 in 47:32; qw1 S (bit 0)
// with ADDR[62:12] all ones (the ATS size encoding of the whole space).
constexpr uint64_t k_devtlb_qw0 = 0x0000'0108'0000'0003ull;
constexpr uint64_t k_devtlb_qw1 = 0x7fff'ffff'ffff'f001ull;
// PASID-selective PASID IOTLB: type 6, G=10b, DID, PASID in 51:32.
uint64_t piotlb_qw0(uint16_t did, uint32_t pasid) {
    return 0x26ull | uint64_t{did} << 16 | uint64_t{pasid} << 32;
}
// PASID device TLB, every address: type 8, SID in 31:16, PASID in 51:32; qw1 S (bit 75 = qw1
// bit 11) and ADDR[62:12] all ones.
uint64_t p_devtlb_qw0(uint32_t pasid) {
    return 0x8ull | uint64_t{k_ats_rid} << 16 | uint64_t{pasid} << 32;
}
constexpr uint64_t k_p_devtlb_qw1 = 0x7fff'ffff'ffff'f800ull;
// The batch's own wait: type 5, SW (bit 5), and PD (bit 7) when draining; the status data is the
// batch's sequence number.
constexpr uint64_t k_wait_sw = 0x25;
constexpr uint64_t k_wait_sw_pd = 0xa5;

TEST(VtdPrqDrain, DetachOfTheRidDrainsAfterTheTeardownFlush) {
    drain_unit u;
    u.run([&] {
        driver::paging_domain* d = u.paging();
        ASSERT_EQ(d->attach_dev(u.ats_dev), 0);
        u.mark();
        u.ops().detach_dev(u.ats_dev);
        const std::vector<hw::inv_desc> sent = u.sent();
        // Teardown (PASID cache, IOTLB, device TLB, wait), then the drain's batch.
        ASSERT_EQ(sent.size(), 8u);
        EXPECT_EQ(sent[3][0] & 0xffff'ffff, k_wait_sw);
        EXPECT_EQ(sent[4][0], k_fenced_wait_qw0);
        EXPECT_EQ(sent[4][1], 0u);
        EXPECT_EQ(sent[5][0], iotlb_dsi_qw0(d->did()));
        EXPECT_EQ(sent[5][1], 0u);
        EXPECT_EQ(sent[6][0], k_devtlb_qw0);
        EXPECT_EQ(sent[6][1], k_devtlb_qw1);
        EXPECT_EQ(sent[7][0] & 0xffff'ffff, k_wait_sw_pd);
        EXPECT_EQ(hw::fsts::iqe::get(u.read32(hw::reg::FSTS_OFFSET)), 0u);
        EXPECT_EQ(u.vtd().prq().statistics().drains, 1u);
    });
}

TEST(VtdPrqDrain, DetachOfAPasidDrainsWithPasidScopedInvalidations) {
    drain_unit u;
    u.run([&] {
        driver::paging_domain* d = u.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(driver::attach_device_pasid(*d, u.ats_dev, 5), 0);
        u.mark();
        driver::detach_device_pasid(u.ats_dev, 5);
        const std::vector<hw::inv_desc> sent = u.sent();
        ASSERT_EQ(sent.size(), 8u);
        EXPECT_EQ(sent[4][0], k_fenced_wait_qw0);
        EXPECT_EQ(sent[5][0], piotlb_qw0(d->did(), 5));
        EXPECT_EQ(sent[5][1], 0u);
        EXPECT_EQ(sent[6][0], p_devtlb_qw0(5));
        EXPECT_EQ(sent[6][1], k_p_devtlb_qw1);
        EXPECT_EQ(sent[7][0] & 0xffff'ffff, k_wait_sw_pd);
        EXPECT_EQ(hw::fsts::iqe::get(u.read32(hw::reg::FSTS_OFFSET)), 0u);
    });
}

TEST(VtdPrqDrain, ReplacingTheRidDomainDrainsTheOldOne) {
    drain_unit u;
    u.run([&] {
        driver::paging_domain* a = u.paging();
        driver::paging_domain* b = u.paging();
        ASSERT_EQ(a->attach_dev(u.ats_dev), 0);
        u.mark();
        ASSERT_EQ(b->attach_dev(u.ats_dev), 0);
        const std::vector<hw::inv_desc> sent = u.sent();
        ASSERT_EQ(sent.size(), 8u);
        EXPECT_EQ(sent[4][0], k_fenced_wait_qw0);
        EXPECT_EQ(sent[5][0], iotlb_dsi_qw0(a->did())) << "the invalidations of the entry replaced";
        EXPECT_EQ(sent[7][0] & 0xffff'ffff, k_wait_sw_pd);
    });
}

TEST(VtdPrqDrain, NoDrainForADeviceWithoutPri) {
    drain_unit u;
    u.ats_dev.pri = false;  // no PRE in its context entry
    u.run([&] {
        driver::paging_domain* d = u.paging();
        ASSERT_EQ(d->attach_dev(u.ats_dev), 0);
        u.mark();
        u.ops().detach_dev(u.ats_dev);
        EXPECT_EQ(u.sent().size(), 4u) << "the teardown flush only";
        EXPECT_EQ(u.vtd().prq().statistics().drains, 0u);
    });
}

TEST(VtdPrqDrain, WithoutPdsTheDrainingWaitHasNoPd) {
    drain_unit u(false);
    u.run([&] {
        driver::paging_domain* d = u.paging();
        ASSERT_EQ(d->attach_dev(u.ats_dev), 0);
        u.mark();
        u.ops().detach_dev(u.ats_dev);
        const std::vector<hw::inv_desc> sent = u.sent();
        ASSERT_EQ(sent.size(), 8u);
        EXPECT_EQ(sent[7][0] & 0xffff'ffff, k_wait_sw);
        EXPECT_EQ(hw::fsts::iqe::get(u.read32(hw::reg::FSTS_OFFSET)), 0u) << "PD would be a reserved field";
    });
}

// A request of the PASID waiting in the queue: the drain runs the page request thread before its
// invalidations, so the request reaches the domain's handler while it is still the one attached.
TEST(VtdPrqDrain, RequestsOfThePasidInTheQueueAreHandledFirst) {
    drain_unit u;
    u.run([&] {
        driver::paging_domain* d = u.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(driver::attach_device_pasid(*d, u.ats_dev, 5), 0);
        ASSERT_FALSE(u.device().send_page_request(true, 5, 0x4000, true, 3, nullptr));
        sc_core::wait(100, sc_core::SC_NS);
        ASSERT_EQ(u.read64(hw::reg::PQT_OFFSET), 0x20u);
        driver::detach_device_pasid(u.ats_dev, 5);
        ASSERT_EQ(u.handler.requests.size(), 1u);
        EXPECT_EQ(u.handler.requests[0].pasid, 5u);
        EXPECT_EQ(u.handler.requests[0].addr, 0x4000u);
        EXPECT_EQ(u.read64(hw::reg::PQH_OFFSET), 0x20u) << "consumed";
        EXPECT_EQ(u.vtd().prq().statistics().events, 1u);
    });
}

// Linux looks only for requests of the device and PASID being drained: another PASID's request
// stays in the queue for the thread's next run.
TEST(VtdPrqDrain, RequestsOfAnotherPasidStayQueued) {
    drain_unit u;
    u.run([&] {
        driver::paging_domain* d = u.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(driver::attach_device_pasid(*d, u.ats_dev, 5), 0);
        ASSERT_EQ(driver::attach_device_pasid(*d, u.ats_dev, 9), 0);
        ASSERT_FALSE(u.device().send_page_request(true, 9, 0x4000, true, 3, nullptr));
        sc_core::wait(100, sc_core::SC_NS);
        driver::detach_device_pasid(u.ats_dev, 5);
        EXPECT_TRUE(u.handler.requests.empty());
        EXPECT_EQ(u.read64(hw::reg::PQH_OFFSET), 0u);
        EXPECT_EQ(u.vtd().prq().statistics().events, 0u);
    });
}

}  // namespace
}  // namespace iommusim::test
