// The driver's page request queue on the TLM model (driver/vtd_prq.h; docs/vtd-facts.md §1.13,
// §3.10, §3.11, §10): set up at probe with ECAP.PRS, drained on the page request event, each
// request reported to the device's domain, answered with page group responses the device receives.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "driver/vtd_model_util.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {
namespace {

constexpr uint16_t k_ats_rid = 0x0108;  // platform device 1: ATS
constexpr unsigned k_ats_device = 1;

platform_config prs_config() {
    platform_config cfg = unit_config();
    cfg.iommu.prs = true;
    cfg.devices[k_ats_device].pri = true;
    return cfg;
}

// A domain whose iopf handler keeps what it was given (iommufd's fault object would queue it).
struct recording_domain : driver::iommu_domain, driver::iopf_handler {
    std::vector<driver::page_request> requests;
    int refuse = 0;
    recording_domain() : driver::iommu_domain(driver::domain_type::paging, nullptr) { set_iopf_handler(this); }
    int attach_dev(driver::iommu_device& dev) override {
        dev.domain = this;
        return 0;
    }
    int handle(driver::iommu_device&, const driver::page_request& r) override {
        requests.push_back(r);
        return refuse;
    }
};

struct prq_unit : model_unit {
    prq_unit() : model_unit(prs_config()) { ats_dev.pri = true; }
    // Runs fn once the ATS device's context entry exists: the unit takes page requests only from
    // a device whose context entry allows them (PRE).
    void run(const std::function<void()>& fn) {
        model_unit::run([&] {
            ASSERT_EQ(vtd().setup_context(ats_dev), 0);
            fn();
        });
    }
    dma_device& device() { return plat().dma_engine(k_ats_device); }
    // The page request thread of the driver, finding the ATS device by its requester id.
    unsigned service() {
        return ops().handle_page_requests(
            [this](uint16_t rid) { return rid == k_ats_rid ? &ats_dev : static_cast<driver::iommu_device*>(nullptr); });
    }
    // The response the device got for `group` (none: 0xff).
    uint8_t response(uint16_t group, bool with_pasid = false, uint32_t pasid = 0) {
        uint8_t code = 0xff;
        if (!device().wait_page_response(with_pasid, pasid, group, 10'000, &code)) {
            return 0xff;
        }
        return code;
    }
};

TEST(VtdPrq, ProbeSetsUpTheQueueWithLinuxOrder) {
    prq_unit u;
    u.run([&] {
        EXPECT_TRUE(u.vtd().prq().enabled());
        const uint64_t pqa = u.read64(hw::reg::PQA_OFFSET);
        EXPECT_EQ(pqa & 0x7, 4u);  // PQS: 16 pages, as Linux PRQ_ORDER
        EXPECT_NE(pqa & ~uint64_t{0xfff}, 0u);
        EXPECT_EQ(u.read64(hw::reg::PQH_OFFSET), 0u);
        EXPECT_EQ(u.read64(hw::reg::PQT_OFFSET), 0u);
        EXPECT_EQ(u.read32(hw::reg::PECTL_OFFSET), 0u);  // unmasked
    });
}

TEST(VtdPrq, WithoutPrsThereIsNoQueueAndNoIopf) {
    platform_config cfg = unit_config();
    model_unit u(cfg);
    u.ats_dev.pri = true;
    u.run([&] {
        EXPECT_FALSE(u.vtd().prq().enabled());
        EXPECT_EQ(u.read64(hw::reg::PQA_OFFSET), 0u);
        EXPECT_FALSE(u.ops().supports_iopf(u.ats_dev));
    });
}

TEST(VtdPrq, IopfNeedsAtsAndPri) {
    prq_unit u;
    EXPECT_TRUE(u.ops().supports_iopf(u.ats_dev));
    EXPECT_FALSE(u.ops().supports_iopf(u.dev));  // no ATS
    u.ats_dev.pri = false;
    EXPECT_FALSE(u.ops().supports_iopf(u.ats_dev));
}

TEST(VtdPrq, ContextEntryAllowsPageRequestsOnlyForAnAtsPriDevice) {
    prq_unit u;
    u.run([&] {
        ASSERT_EQ(u.vtd().setup_context(u.dev), 0);
        // Context entries by hand: root table from RTADDR, bus 1 lower context table, devfn 0x00
        // (no ATS) and 0x08 (ATS+PRI) 32 bytes each; PRE is bit 4 of qword 0.
        const uint64_t root = u.read64(hw::reg::RTADDR_OFFSET) & ~uint64_t{0xfff};
        uint64_t lctp = 0;
        ASSERT_TRUE(u.bus().read64(root + 1 * 16, lctp));
        const uint64_t table = lctp & ~uint64_t{0xfff};
        uint64_t plain = 0, pri = 0;
        ASSERT_TRUE(u.bus().read64(table + 0x00 * 32, plain));
        ASSERT_TRUE(u.bus().read64(table + 0x08 * 32, pri));
        EXPECT_EQ(plain & 1, 1u);
        EXPECT_EQ((plain >> 4) & 1, 0u);
        EXPECT_EQ(pri & 1, 1u);
        EXPECT_EQ((pri >> 4) & 1, 1u);
    });
}

TEST(VtdPrq, DeviceWithoutPreInItsContextEntryIsRefusedByTheUnit) {
    prq_unit u;
    u.ats_dev.pri = false;  // the driver sees no PRI capability: PRE stays clear
    u.run([&] {
        uint8_t code = 0xff;
        EXPECT_TRUE(u.device().send_page_request(false, 0, 0x9000, false, 7, &code));
        EXPECT_EQ(code, 1u);  // Invalid Request from the unit itself
        EXPECT_EQ(u.read64(hw::reg::PQT_OFFSET), 0u);
        EXPECT_EQ(u.service(), 0u);
        EXPECT_EQ(u.mmu().statistics().page_request_faults, 1u);
    });
}

TEST(VtdPrq, RequestReachesTheDomainHandlerAndTheResponseTheDevice) {
    prq_unit u;
    recording_domain dom;
    dom.attach_dev(u.ats_dev);
    u.run([&] {
        uint8_t code = 0;
        ASSERT_FALSE(u.device().send_page_request(false, 0, 0x7'5123, true, 0x42, &code));  // queued
        sc_core::wait(10, sc_core::SC_NS);
        EXPECT_TRUE(u.bus().irq_pending(driver::hw_irq::page_request));
        u.bus().irq_ack(driver::hw_irq::page_request);
        EXPECT_EQ(u.service(), 1u);
        ASSERT_EQ(dom.requests.size(), 1u);
        const driver::page_request& r = dom.requests[0];
        EXPECT_EQ(r.addr, 0x7'5000u);
        EXPECT_EQ(r.grpid, 0x42u);
        EXPECT_EQ(r.flags, driver::page_request_last_page);
        EXPECT_EQ(r.perm, driver::page_request_perm_write);
        EXPECT_EQ(u.read64(hw::reg::PQH_OFFSET), 0x20u);  // consumed
        EXPECT_EQ(u.read32(hw::reg::PRS_OFFSET), 0u);     // PPR cleared by the thread
        EXPECT_EQ(u.response(0x42), 0xff);                // nothing answered yet
        // The VMM's answer through the core (intel_iommu_page_response).
        EXPECT_EQ(u.ops().page_response(u.ats_dev, r, {0, 0x42, driver::page_response_code::success}), 0);
        EXPECT_EQ(u.response(0x42), 0u);  // Success
    });
}

// A group of three pages: the thread reports the three requests in queue order, the group index
// on each and LAST_PAGE on the third only (Linux intel_prq_report; the IOMMU core groups them).
TEST(VtdPrq, MultiPageGroupIsReportedRequestByRequest) {
    prq_unit u;
    recording_domain dom;
    dom.attach_dev(u.ats_dev);
    u.run([&] {
        for (unsigned i = 0; i < 3; ++i) {
            ASSERT_FALSE(u.device().send_page_request(false, 0, 0x30'0000 + i * 0x1000, false, 0x21, nullptr, i == 2));
        }
        EXPECT_EQ(u.service(), 3u);
        ASSERT_EQ(dom.requests.size(), 3u);
        for (unsigned i = 0; i < 3; ++i) {
            EXPECT_EQ(dom.requests[i].addr, 0x30'0000u + i * 0x1000);
            EXPECT_EQ(dom.requests[i].grpid, 0x21u);
            EXPECT_EQ(dom.requests[i].perm, driver::page_request_perm_read);
            EXPECT_EQ(dom.requests[i].flags, i == 2 ? driver::page_request_last_page : 0u);
        }
        // One response for the group (named by its last request) reaches the device.
        EXPECT_EQ(u.ops().page_response(u.ats_dev, dom.requests[2], {0, 0x21, driver::page_response_code::success}), 0);
        EXPECT_EQ(u.response(0x21), 0u);
        EXPECT_EQ(u.response(0x21), 0xff) << "only one";
    });
}

TEST(VtdPrq, RefusedByTheHandlerIsAnsweredInvalid) {
    prq_unit u;
    recording_domain dom;
    dom.refuse = -ENOMEM;
    dom.attach_dev(u.ats_dev);
    u.run([&] {
        u.device().send_page_request(false, 0, 0x9000, false, 5, nullptr);
        EXPECT_EQ(u.service(), 1u);
        EXPECT_EQ(u.response(5), 1u);  // Invalid Request
    });
}

TEST(VtdPrq, NoDomainHandlerIsAnsweredInvalid) {
    prq_unit u;
    u.run([&] {
        u.device().send_page_request(false, 0, 0x9000, false, 6, nullptr);
        EXPECT_EQ(u.service(), 1u);
        EXPECT_EQ(u.response(6), 1u);
    });
}

TEST(VtdPrq, UnknownRequesterIsAnsweredInvalidWithoutReport) {
    prq_unit u;
    recording_domain dom;
    dom.attach_dev(u.ats_dev);
    u.run([&] {
        u.device().send_page_request(false, 0, 0x9000, false, 8, nullptr);
        EXPECT_EQ(u.ops().handle_page_requests([](uint16_t) { return nullptr; }), 1u);
        EXPECT_TRUE(dom.requests.empty());
        EXPECT_EQ(u.response(8), 1u);
        EXPECT_EQ(u.vtd().prq().statistics().bad, 1u);
    });
}

TEST(VtdPrq, NonCanonicalAddressIsRefusedAsLinux) {
    prq_unit u;
    recording_domain dom;
    dom.attach_dev(u.ats_dev);
    u.run([&] {
        u.device().send_page_request(true, 3, 0x0000'8000'0000'0000ull, false, 9, nullptr);
        EXPECT_EQ(u.service(), 1u);
        EXPECT_TRUE(dom.requests.empty());
        EXPECT_EQ(u.response(9, true, 3), 1u);
    });
}

TEST(VtdPrq, OverflowIsClearedOnceTheQueueIsDrained) {
    prq_unit u;
    recording_domain dom;
    dom.attach_dev(u.ats_dev);
    u.run([&] {
        // 16 pages of 32-byte descriptors: 2048 slots, 2047 usable.
        for (unsigned i = 0; i < 2047; ++i) {
            ASSERT_FALSE(u.device().send_page_request(false, 0, 0x1000, false, i & 0x1ff, nullptr));
        }
        uint8_t code = 0xff;
        EXPECT_TRUE(u.device().send_page_request(false, 0, 0x2000, false, 0x1ff, &code));
        EXPECT_EQ(code, 0u);  // the unit answered the dropped group Success
        EXPECT_EQ(u.read32(hw::reg::PRS_OFFSET), 0x3u);
        EXPECT_EQ(u.service(), 2047u);
        EXPECT_EQ(u.read32(hw::reg::PRS_OFFSET), 0u);  // PQH == PQT: PRO cleared
        EXPECT_EQ(u.vtd().prq().statistics().overflows, 1u);
        EXPECT_EQ(dom.requests.size(), 2047u);
    });
}

}  // namespace
}  // namespace iommusim::test
