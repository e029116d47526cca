// Page requests through the TLM shell (docs/vtd-facts.md §1.13, §3.10, §3.11, §10): descriptors at
// PQT with hand-computed bits, PRS.PPR/PRO, the page request event and its mask, the unit's own
// answer on overflow, and page group responses (type 9) reaching the device's port.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_regs.h"
#include "tlm/edge_counter_util.h"
#include "tlm/initiator_tester_util.h"
#include "tlm/iommu.h"
#include "tlm/iotlb.h"
#include "tlm/memory.h"
#include "tlm/table_builder_util.h"

namespace iommusim {
namespace {

using namespace hw;
using test::edge_counter;
using test::initiator_tester;

// A device's response side: records what the queue engine sends.
struct recording_port : device_tlb_port {
    std::vector<page_group_response> responses;
    void invalidate(const devtlb_request&, devtlb_completion_sink&) override {}
    void page_response(const page_group_response& r) override { responses.push_back(r); }
};

constexpr uint16_t k_rid = 0x0100;
constexpr uint64_t k_queue = 0x20'0000;  // page request queue (4 KiB, PQS=0: 128 descriptors)

iommu_config prs_config(bool prs = true) {
    iommu_config c;
    c.prs = prs;
    return c;
}

struct bench {
    iommu_config cfg;
    iotlb tlb;
    memory mem;
    iommu mmu;
    initiator_tester dev{"dev"};
    initiator_tester cpu{"cpu"};
    sc_core::sc_signal<bool> fault_line{"fault_line"};
    sc_core::sc_signal<bool> inv_line{"inv_line"};
    sc_core::sc_signal<bool> prq_line{"prq_line"};
    edge_counter prq_irqs{"prq_irqs"};
    test::table_builder tb{mem.store()};
    dma_extension ext;

    explicit bench(const iommu_config& c)
        : cfg(c), tlb(iotlb_geometry{c.iotlb_sets, c.iotlb_ways}), mem("mem", memory_config{}), mmu("mmu", c, tlb) {
        dev.socket.bind(mmu.target_socket);
        cpu.socket.bind(mmu.mmio_socket);
        mmu.initiator_socket.bind(mem.target_socket);
        mmu.irq_fault.bind(fault_line);
        mmu.irq_inv.bind(inv_line);
        mmu.irq_prq.bind(prq_line);
        prq_irqs.line.bind(prq_line);
        ext.requester_id = k_rid;
        dev.extension = &ext;
    }

    uint32_t reg32(uint32_t off) {
        uint32_t v = 0;
        EXPECT_EQ(cpu.read32(off, v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    uint64_t reg64(uint32_t off) {
        uint64_t v = 0;
        EXPECT_EQ(cpu.read64(off, v), tlm::TLM_OK_RESPONSE);
        return v;
    }
    // The requester's scalable-mode context entry (PRE as given, FPD as given), the root table
    // latched: page requests are checked against it.
    void setup_context(bool pre, bool fpd = false) {
        test::context_opts o;
        o.pre = pre;
        o.fpd = fpd;
        tb.set_context(k_rid, o);
        EXPECT_EQ(cpu.write64(reg::RTADDR_OFFSET, tb.rtaddr_value()), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.write32(reg::GCMD_OFFSET, static_cast<uint32_t>(gcmd::srtp::mask)), tlm::TLM_OK_RESPONSE);
    }
    // Linux intel_iommu_enable_prq: PQH = PQT = 0, PQA with the size order; here PECTL unmasked.
    // The requester's context entry allows page requests (PRE).
    void setup_queue(bool unmask = true) {
        setup_context(true);
        setup_queue_registers(unmask);
    }
    // The queue registers only (the context entry set up otherwise).
    void setup_queue_registers(bool unmask = true) {
        EXPECT_EQ(cpu.write64(reg::PQH_OFFSET, 0), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.write64(reg::PQT_OFFSET, 0), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.write64(reg::PQA_OFFSET, k_queue), tlm::TLM_OK_RESPONSE);  // PQS=0
        if (unmask) {
            EXPECT_EQ(cpu.write32(reg::PECTL_OFFSET, 0), tlm::TLM_OK_RESPONSE);
        }
    }
    // One page request message from the device; returns the extension's answer.
    void page_request(uint64_t addr, bool write, uint16_t group, bool last, bool with_pasid = false,
                      uint32_t pasid = 0) {
        ext.has_pasid = with_pasid;
        ext.pasid = pasid;
        ext.page_request = true;
        ext.pr_read = !write;
        ext.pr_write = write;
        ext.pr_last = last;
        ext.pr_group = group;
        uint8_t none = 0;
        EXPECT_EQ(dev.access(tlm::TLM_WRITE_COMMAND, addr, &none, 0), tlm::TLM_OK_RESPONSE);
        ext.page_request = false;
    }
    std::array<uint64_t, 4> descriptor(unsigned index) {
        std::array<uint64_t, 4> d{};
        mem.store().read(k_queue + index * 32, d.data(), 32);
        return d;
    }
    void run(std::function<void()> body) {
        cpu.body = std::move(body);
        sc_core::sc_start();
        ASSERT_TRUE(cpu.done);
    }
};

TEST(PageRequest, EcapPrsFollowsTheConfiguration) {
    bench on(prs_config(true));
    on.run([&] { EXPECT_EQ((on.reg64(reg::ECAP_OFFSET) >> 29) & 1, 1u); });
}

TEST(PageRequest, EcapPrsClearWithoutPageRequests) {
    bench off(prs_config(false));
    off.run([&] { EXPECT_EQ((off.reg64(reg::ECAP_OFFSET) >> 29) & 1, 0u); });
}

TEST(PageRequest, DescriptorWrittenAtTailWithItsFields) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        b.page_request(0x40'0123, true, 0x155, true, true, 7);
        const auto d = b.descriptor(0);
        // qw0: type 1, PP (bit 8), RID 0x0100 at 31:16, PASID 7 at 51:32.
        EXPECT_EQ(d[0], 0x0000'0007'0100'0101ull);
        // qw1: WRR (bit 1), LPIG (bit 2), PRGI 0x155 at 11:3, page address 0x400000 at 63:12.
        EXPECT_EQ(d[1], 0x0000'0000'0040'0aaeull);
        EXPECT_EQ(d[2], 0u);
        EXPECT_EQ(d[3], 0u);
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 0x20u);
        EXPECT_EQ(b.reg32(reg::PRS_OFFSET), 0x1u);  // PPR
        sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(b.prq_irqs.rises, 1u);
        EXPECT_FALSE(b.ext.pr_auto_response);
    });
}

// A group of three pages (PCIe PRI): three messages with PRGI 0x42, LPIG on the third only; the
// unit writes each as its own descriptor, in order, and answers none of them itself.
TEST(PageRequest, MultiPageGroupIsWrittenRequestByRequest) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        b.page_request(0x10'0000, true, 0x42, false);
        b.page_request(0x10'1000, true, 0x42, false);
        b.page_request(0x10'2000, true, 0x42, true);
        EXPECT_FALSE(b.ext.pr_auto_response);
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 3u * 32);
        // qw1: WRR (bit 1), LPIG (bit 2) on the last, PRGI 0x42 << 3 = 0x210, the page at 63:12.
        EXPECT_EQ(b.descriptor(0)[1], 0x0010'0212ull);
        EXPECT_EQ(b.descriptor(1)[1], 0x0010'1212ull);
        EXPECT_EQ(b.descriptor(2)[1], 0x0010'2216ull);
        EXPECT_EQ(b.descriptor(0)[0], 0x0000'0000'0100'0001ull);  // type 1, RID 0x0100, no PASID
        EXPECT_EQ(b.mmu.page_requests().statistics().queued, 3u);
        sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(b.prq_irqs.rises, 1u) << "one event: PPR stayed set after the first";
    });
}

TEST(PageRequest, RequestWithoutPasidReadsAsReadRequest) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        b.page_request(0x1234'5000, false, 3, false);
        const auto d = b.descriptor(0);
        EXPECT_EQ(d[0], 0x0000'0000'0100'0001ull);
        // RDR (bit 0), PRGI 3 (0x18), address 0x12345000.
        EXPECT_EQ(d[1], 0x1234'5019ull);
    });
}

TEST(PageRequest, EventOnlyWhenNoConditionWasPending) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        b.page_request(0x1000, false, 1, true);
        b.page_request(0x2000, false, 2, true);
        sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(b.prq_irqs.rises, 1u);  // PPR was still set for the second
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 0x40u);
        // Linux prq_event_thread clears PPR first; the next request is a new event.
        EXPECT_EQ(b.cpu.write32(reg::PRS_OFFSET, 0x1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.reg32(reg::PRS_OFFSET), 0u);
        b.page_request(0x3000, false, 3, true);
        sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(b.prq_irqs.rises, 2u);
        EXPECT_EQ(b.mmu.statistics().page_request_events, 2u);
    });
}

TEST(PageRequest, MaskedEventStaysPendingUntilUnmasked) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue(false);  // PECTL.IM resets to 1
        EXPECT_EQ(b.reg32(reg::PECTL_OFFSET), 0x8000'0000u);
        b.page_request(0x1000, false, 1, true);
        sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(b.prq_irqs.rises, 0u);
        EXPECT_EQ(b.reg32(reg::PECTL_OFFSET), 0xc000'0000u);  // IM, IP
        EXPECT_EQ(b.cpu.write32(reg::PECTL_OFFSET, 0), tlm::TLM_OK_RESPONSE);
        sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(b.prq_irqs.rises, 1u);
        EXPECT_EQ(b.reg32(reg::PECTL_OFFSET), 0u);
    });
}

TEST(PageRequest, ClearingPprAndProClearsPendingIp) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue(false);
        b.page_request(0x1000, false, 1, true);
        EXPECT_EQ(b.cpu.write32(reg::PRS_OFFSET, 0x1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.reg32(reg::PECTL_OFFSET), 0x8000'0000u);  // IP cleared with the condition
    });
}

TEST(PageRequest, FullQueueSetsProAndAnswersTheGroupSuccess) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        // 128 slots, one stays free: 127 requests fit.
        for (unsigned i = 0; i < 127; ++i) {
            b.page_request(0x1000 * (i + 1), false, i, true);
            ASSERT_FALSE(b.ext.pr_auto_response);
        }
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 127u * 32);
        b.page_request(0x99'0000, true, 0x1ff, false);  // not last in its group: no answer
        EXPECT_FALSE(b.ext.pr_auto_response);
        EXPECT_EQ(b.reg32(reg::PRS_OFFSET), 0x3u);  // PPR, PRO
        b.page_request(0x99'0000, true, 0x1ff, true);
        EXPECT_TRUE(b.ext.pr_auto_response);
        EXPECT_EQ(b.ext.pr_response_code, pgrp_resp_desc::success);
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 127u * 32);
        // Software drains (PQH = PQT) and clears PRO, as Linux prq_event_thread: requests queue again.
        EXPECT_EQ(b.cpu.write64(reg::PQH_OFFSET, 127u * 32), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.cpu.write32(reg::PRS_OFFSET, 0x3), tlm::TLM_OK_RESPONSE);
        b.page_request(0x5000, false, 9, true);
        EXPECT_FALSE(b.ext.pr_auto_response);
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 0u);     // 127 * 32 + 32 wraps to 0
        EXPECT_EQ(b.descriptor(127)[1], 0x504dull);  // RDR, LPIG, PRGI 9, page 0x5000
        const page_request_queue::stats& s = b.mmu.page_requests().statistics();
        EXPECT_EQ(s.queued, 128u);
        EXPECT_EQ(s.overflows, 2u);
        EXPECT_EQ(s.auto_responses, 1u);
    });
}

TEST(PageRequest, ProStillSetDropsRequestsEvenWithRoom) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        for (unsigned i = 0; i < 128; ++i) {
            b.page_request(0x1000, false, 1, true);
        }
        EXPECT_EQ(b.cpu.write64(reg::PQH_OFFSET, 127u * 32), tlm::TLM_OK_RESPONSE);  // room again, PRO kept
        b.page_request(0x2000, false, 2, true);
        EXPECT_TRUE(b.ext.pr_auto_response);
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 127u * 32);
    });
}

TEST(PageRequest, WithoutPrsTheRequestIsAnsweredResponseFailure) {
    bench b(prs_config(false));
    b.run([&] {
        b.setup_queue();
        b.page_request(0x1000, false, 1, true);
        EXPECT_TRUE(b.ext.pr_auto_response);
        EXPECT_EQ(b.ext.pr_response_code, pgrp_resp_desc::failure);
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 0u);
        EXPECT_EQ(b.reg32(reg::PRS_OFFSET), 0u);
        EXPECT_EQ(b.descriptor(0)[0], 0u);
    });
}

TEST(PageRequest, PreClearRefusesTheRequestWithAFaultAndInvalidRequest) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        b.setup_context(false);  // the same device, its context entry now without PRE
        b.page_request(0x5000, true, 3, true, true, 7);
        EXPECT_TRUE(b.ext.pr_auto_response);
        EXPECT_EQ(b.ext.pr_response_code, 1u);  // Invalid Request
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 0u) << "nothing queued";
        EXPECT_EQ(b.reg32(reg::PRS_OFFSET), 0u);
        EXPECT_EQ(b.prq_irqs.rises, 0u);
        // Recorded like a DMA fault: FRCD 0 holds reason 0x47 (SCT.8) for the page, SID, PASID 7,
        // a write (T1 = 0), and FSTS.PPF is set.
        const uint32_t frcd = static_cast<uint32_t>(cap::fro::get(b.reg64(reg::CAP_OFFSET)) * 16);
        const uint64_t lo = b.reg64(frcd);
        const uint64_t hi = b.reg64(frcd + 8);
        EXPECT_EQ(lo & ~0xfffull, 0x5000u);
        EXPECT_EQ(hi & 0xffff, k_rid);
        EXPECT_EQ((hi >> 32) & 0xff, 0x47u);
        EXPECT_EQ((hi >> 31) & 1, 1u) << "PASID present";
        EXPECT_EQ((hi >> 40) & 0xfffff, 7u);
        EXPECT_EQ((hi >> 62) & 1, 0u) << "write";
        EXPECT_EQ((hi >> 63) & 1, 1u) << "F";
        EXPECT_EQ(b.reg32(reg::FSTS_OFFSET) & 2u, 2u) << "PPF";
        // A request that is not the last of its group gets no answer.
        b.page_request(0x6000, false, 4, false);
        EXPECT_FALSE(b.ext.pr_auto_response);
        EXPECT_EQ(b.mmu.statistics().page_request_faults, 2u);
    });
}

TEST(PageRequest, PreClearWithFpdIsNotRecorded) {
    bench b(prs_config());
    b.run([&] {
        b.setup_queue();
        b.setup_context(false, true);
        b.page_request(0x5000, false, 3, true);
        EXPECT_TRUE(b.ext.pr_auto_response);
        EXPECT_EQ(b.ext.pr_response_code, 1u);
        EXPECT_EQ(b.reg32(reg::FSTS_OFFSET) & 2u, 0u) << "FPD suppresses the qualified fault 0x47";
    });
}

// Scalable mode (type 9 exists only there), then a 256-bit invalidation queue of one page at
// `queue`, enabled through the registers.
void enable_invalidation_queue(bench& b, uint64_t queue, bool pre = false) {
    test::context_opts o;
    o.pre = pre;
    b.tb.set_context(k_rid, o);
    EXPECT_EQ(b.cpu.write64(reg::RTADDR_OFFSET, b.tb.rtaddr_value()), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b.cpu.write32(reg::GCMD_OFFSET, static_cast<uint32_t>(gcmd::srtp::mask)), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b.cpu.write64(reg::IQA_OFFSET, iqa::iqa::make(queue >> 12) | iqa::dw::make(1)), tlm::TLM_OK_RESPONSE);
    const uint32_t sts = b.reg32(reg::GSTS_OFFSET) & static_cast<uint32_t>(gsts::tes::mask | gsts::qies::mask);
    EXPECT_EQ(b.cpu.write32(reg::GCMD_OFFSET, sts | static_cast<uint32_t>(gcmd::qie::mask)), tlm::TLM_OK_RESPONSE);
}

TEST(PageRequest, PageGroupResponseReachesTheDevicePort) {
    bench b(prs_config());
    recording_port port;
    b.mmu.queue().register_device_tlb(k_rid, port);
    b.run([&] {
        const uint64_t queue = 0x30'0000;
        enable_invalidation_queue(b, queue);
        // Linux intel_iommu_page_response: type 9, PP, code Invalid Request, RID, PASID 7; LPIG,
        // PRGI 0x155. Written by hand: qw0 = 0x9 | 1 << 4 | 1 << 12 | 0x0100 << 16 | 7 << 32.
        const std::array<uint64_t, 4> d{0x0000'0007'0100'1019ull, 0x0000'0000'0000'0aacull, 0, 0};
        b.mem.store().write(queue, d.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0x20), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(b.reg64(reg::IQH_OFFSET), 0x20u);
        EXPECT_EQ(fsts::iqe::get(b.reg32(reg::FSTS_OFFSET)), 0u);
        ASSERT_EQ(port.responses.size(), 1u);
        EXPECT_EQ(port.responses[0].rid, k_rid);
        EXPECT_TRUE(port.responses[0].pasid_present);
        EXPECT_EQ(port.responses[0].pasid, 7u);
        EXPECT_EQ(port.responses[0].prg_index, 0x155u);
        EXPECT_EQ(port.responses[0].code, 1u);
        EXPECT_TRUE(port.responses[0].lpig);
        // The builder the driver uses gives the same words.
        EXPECT_EQ(make_pgrp_resp(k_rid, true, 7, 0x155, true, pgrp_resp_desc::invalid_request)[0], d[0]);
        EXPECT_EQ(make_pgrp_resp(k_rid, true, 7, 0x155, true, pgrp_resp_desc::invalid_request)[1], d[1]);
    });
}

TEST(PageRequest, PageGroupResponseWithoutPrsIsAnInvalidType) {
    bench b(prs_config(false));
    b.run([&] {
        const uint64_t queue = 0x30'0000;
        enable_invalidation_queue(b, queue);
        const std::array<uint64_t, 4> d{0x0000'0000'0100'0009ull, 0x4ull, 0, 0};
        b.mem.store().write(queue, d.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0x20), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(fsts::iqe::get(b.reg32(reg::FSTS_OFFSET)), 1u);
        EXPECT_EQ(iqercd::iqei::get(b.reg64(reg::IQERCD_OFFSET)), 3u);
    });
}

TEST(PageRequest, PageGroupResponseReservedBitIsAReservedFieldError) {
    bench b(prs_config());
    b.run([&] {
        const uint64_t queue = 0x30'0000;
        enable_invalidation_queue(b, queue);
        const std::array<uint64_t, 4> d{0x0000'0000'0100'0009ull | (1ull << 60), 0x4ull, 0, 0};
        b.mem.store().write(queue, d.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0x20), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(iqercd::iqei::get(b.reg64(reg::IQERCD_OFFSET)), 4u);
    });
}

TEST(PageRequest, EcapPdsReportedWithPageRequests) {
    iommu_config c = prs_config();
    c.pds = true;
    bench b(c);
    b.run([&] {
        const uint64_t ecap = b.reg64(reg::ECAP_OFFSET);
        EXPECT_EQ((ecap >> 42) & 1, 1u);  // PDS
        EXPECT_EQ((ecap >> 29) & 1, 1u);  // PRS
    });
}

// A wait descriptor with SW and PD written by hand (docs/vtd-facts.md §3.5): qw0 = type 5 | SW (bit 5)
// | PD (bit 7) | status data 0xabcd << 32; qw1 = the status address.
constexpr uint64_t k_status = 0x31'0000;
constexpr std::array<uint64_t, 4> k_draining_wait{0x0000'abcd'0000'00a5ull, k_status, 0, 0};

// The device's page request leaves at 500 ns but, running 5 us ahead of the kernel, reaches the
// unit's descriptor write only at 500 + 5000 + 60 (memory latency) = 5560 ns. The draining wait,
// fetched long before, completes only after that write: when it completes, the descriptor is at
// PQT.
TEST(PageRequest, DrainingWaitCompletesAfterThePageRequestsReceivedBeforeIt) {
    iommu_config c = prs_config();
    c.pds = true;
    bench b(c);
    b.dev.run_ahead = sc_core::sc_time(5, sc_core::SC_US);
    b.dev.body = [&] {
        sc_core::wait(500, sc_core::SC_NS);
        b.page_request(0x7000, true, 5, true);
    };
    b.run([&] {
        const uint64_t queue = 0x30'0000;
        enable_invalidation_queue(b, queue, true);
        b.setup_queue_registers();
        sc_core::wait(sc_core::sc_time(600, sc_core::SC_NS) - sc_core::sc_time_stamp());
        ASSERT_EQ(b.reg64(reg::PQT_OFFSET), 0u) << "the request is still on its way";
        b.mem.store().write(queue, k_draining_wait.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0x20), tlm::TLM_OK_RESPONSE);
        sc_core::wait(sc_core::sc_time(20, sc_core::SC_US), b.mmu.queue().wait_completed_event());
        uint32_t status = 0;
        b.mem.store().read(k_status, &status, 4);
        EXPECT_EQ(status, 0xabcdu);
        // The drain ends with the request's write at 5560 ns, the status write takes 60 ns more.
        // (Without the drain the wait would be held only until the request's end, 5560 ns.)
        EXPECT_EQ(sc_core::sc_time_stamp(), sc_core::sc_time(5620, sc_core::SC_NS));
        EXPECT_EQ(b.reg64(reg::PQT_OFFSET), 0x20u) << "the request was written before the wait completed";
        EXPECT_EQ(b.descriptor(0)[1], 0x7000u | 1u << 2 | 5u << 3 | 2u);  // write, LPIG, PRGI 5
        EXPECT_EQ(fsts::iqe::get(b.reg32(reg::FSTS_OFFSET)), 0u);
    });
}

// With no page request on its way the draining wait completes as any wait: fetch and processing
// (20 + 60 + 20 ns) and the status write (60 ns), well within 1 us.
TEST(PageRequest, DrainingWaitWithNothingToDrainCompletesAtOnce) {
    iommu_config c = prs_config();
    c.pds = true;
    bench b(c);
    b.run([&] {
        const uint64_t queue = 0x30'0000;
        enable_invalidation_queue(b, queue, true);
        b.setup_queue_registers();
        b.mem.store().write(queue, k_draining_wait.data(), 32);
        const sc_core::sc_time start = sc_core::sc_time_stamp();
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0x20), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        uint32_t status = 0;
        b.mem.store().read(k_status, &status, 4);
        EXPECT_EQ(status, 0xabcdu);
        EXPECT_EQ(b.reg64(reg::IQH_OFFSET), 0x20u);
        EXPECT_LT(sc_core::sc_time_stamp() - start, sc_core::sc_time(1100, sc_core::SC_NS));
    });
}

// Without ECAP.PDS the PD flag is a reserved field (IQEI 4), as the decoder checks.
TEST(PageRequest, DrainingWaitWithoutPdsIsAReservedFieldError) {
    bench b(prs_config());
    b.run([&] {
        const uint64_t queue = 0x30'0000;
        enable_invalidation_queue(b, queue);
        b.mem.store().write(queue, k_draining_wait.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0x20), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(fsts::iqe::get(b.reg32(reg::FSTS_OFFSET)), 1u);
        EXPECT_EQ(iqercd::iqei::get(b.reg64(reg::IQERCD_OFFSET)), 4u);
    });
}

}  // namespace
}  // namespace iommusim
