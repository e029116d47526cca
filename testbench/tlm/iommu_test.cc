// iommu: the TLM shell end to end, through its sockets (docs/vtd-facts.md §1, §1.5, §1.8-1.9, §2, §6).
// Each test elaborates one bench and runs in its own process (gtest_discover_tests).
#include "tlm/iommu.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <functional>

#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_regs.h"
#include "tlm/edge_counter_util.h"
#include "tlm/initiator_tester_util.h"
#include "tlm/iotlb.h"
#include "tlm/memory.h"
#include "tlm/table_builder_util.h"

namespace iommusim {
namespace {

using namespace hw;
using test::edge_counter;
using test::initiator_tester;

constexpr uint16_t k_rid = 0x0100;  // bus 1, dev 0, fn 0
constexpr uint16_t k_did = 5;
constexpr uint64_t k_iova = 0x40'0000;
constexpr uint64_t k_hpa = 0x8000'0000;

memory_config memory_for(const iommu_config& c) {
    memory_config m;
    m.read_ns = c.memory_latency_ns;
    m.write_ns = c.memory_latency_ns;
    return m;
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
    edge_counter fault_irqs{"fault_irqs"};
    edge_counter inv_irqs{"inv_irqs"};
    test::table_builder tb{mem.store()};
    dma_extension ext;
    uint64_t ss_root = 0;

    explicit bench(const iommu_config& c = iommu_config{})
        : cfg(c), tlb(iotlb_geometry{c.iotlb_sets, c.iotlb_ways}), mem("mem", memory_for(c)), mmu("mmu", c, tlb) {
        dev.socket.bind(mmu.target_socket);
        cpu.socket.bind(mmu.mmio_socket);
        mmu.initiator_socket.bind(mem.target_socket);
        mmu.irq_fault.bind(fault_line);
        mmu.irq_inv.bind(inv_line);
        fault_irqs.line.bind(fault_line);
        inv_irqs.line.bind(inv_line);
        ext.requester_id = k_rid;
        dev.extension = &ext;
    }

    // Second-stage-only domain k_did for k_rid (requests without PASID use RID_PASID 0).
    void build_tables(uint64_t leaf_flags = ss_pte::r::mask | ss_pte::w::mask) {
        tb.set_context(k_rid);
        ss_root = tb.new_ss();
        tb.map_ss(ss_root, 4, k_iova, k_hpa, 1, leaf_flags);
        tb.map_ss(ss_root, 4, k_iova + 0x1000, k_hpa + 0x5000, 1, leaf_flags);  // not contiguous
        test::pasid_opts o;
        o.did = k_did;
        o.ssptptr = ss_root;
        tb.set_pasid(k_rid, 0, o);
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
    // Linux's protocol: read GSTS, change one bit, write GCMD, check GSTS.
    void gcmd_set(uint64_t cmd_bit, uint64_t status_bit) {
        const uint32_t persistent = reg32(reg::GSTS_OFFSET) & static_cast<uint32_t>(gsts::tes::mask | gsts::qies::mask);
        EXPECT_EQ(cpu.write32(reg::GCMD_OFFSET, persistent | static_cast<uint32_t>(cmd_bit)), tlm::TLM_OK_RESPONSE);
        EXPECT_TRUE(reg32(reg::GSTS_OFFSET) & status_bit);
    }
    void gcmd_clear(uint64_t cmd_bit, uint64_t status_bit) {
        const uint32_t persistent = reg32(reg::GSTS_OFFSET) & static_cast<uint32_t>(gsts::tes::mask | gsts::qies::mask);
        EXPECT_EQ(cpu.write32(reg::GCMD_OFFSET, persistent & ~static_cast<uint32_t>(cmd_bit)), tlm::TLM_OK_RESPONSE);
        EXPECT_FALSE(reg32(reg::GSTS_OFFSET) & status_bit);
    }
    void enable_translation() {
        EXPECT_EQ(cpu.write64(reg::RTADDR_OFFSET, tb.rtaddr_value()), tlm::TLM_OK_RESPONSE);
        gcmd_set(gcmd::srtp::mask, gsts::rtps::mask);
        gcmd_set(gcmd::te::mask, gsts::tes::mask);
    }

    void run(std::function<void()> body) {
        cpu.body = std::move(body);
        sc_core::sc_start();
        ASSERT_TRUE(cpu.done);
    }
};

TEST(Iommu, CapabilitiesDerivedFromConfig) {
    iommu_config c;
    c.nfr = 3;
    c.mgaw = 57;
    c.sagaw_57 = true;
    c.fs5lp = true;
    c.pss = 15;
    bench b(c);
    b.run([&] {
        const uint64_t cap = b.reg64(reg::CAP_OFFSET);
        EXPECT_EQ(cap::nfr::get(cap), 3u);
        EXPECT_EQ(cap::fro::get(cap) * 16, reg::FRO_OFFSET);
        EXPECT_EQ(cap::mgaw::get(cap), 56u);
        EXPECT_EQ(cap::sagaw::get(cap), 0xeu);
        EXPECT_EQ(cap::fs5lp::get(cap), 1u);
        EXPECT_EQ(cap::esrtps::get(cap), 1u);
        EXPECT_EQ(cap::mamv::get(cap), c.mamv);
        const uint64_t ecap = b.reg64(reg::ECAP_OFFSET);
        EXPECT_EQ(ecap::iro::get(ecap) * 16, reg::IRO_OFFSET);
        EXPECT_EQ(ecap::smts::get(ecap), 1u);
        EXPECT_EQ(ecap::qi::get(ecap), 1u);
        EXPECT_EQ(ecap::nest::get(ecap), 1u);
        EXPECT_EQ(ecap::pss::get(ecap), 15u);
        EXPECT_EQ(ecap::ssads::get(ecap), 0u);
        EXPECT_EQ(ver::max::get(b.reg32(reg::VER_OFFSET)), 6u);
        // Only NFR+1 fault recording registers exist.
        uint64_t v = 0;
        EXPECT_EQ(b.cpu.read64(reg::frcd_offset(3) + 8, v), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.cpu.read64(reg::frcd_offset(4), v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
}

// ECAP.PDS is off without page requests and ECAP.IR follows iommu_config::ir (off by default).
TEST(Iommu, EcapReportsIrAndNoPageRequestDrainByDefault) {
    iommu_config c;
    c.ir = true;
    bench b(c);
    b.run([&] {
        const uint64_t ecap = b.reg64(reg::ECAP_OFFSET);
        EXPECT_EQ(ecap::ir::get(ecap), 1u);
        EXPECT_EQ(ecap::pds::get(ecap), 0u);
        EXPECT_EQ(ecap::prs::get(ecap), 0u);
        EXPECT_EQ(ecap::dit::get(ecap), 0u);
    });
}

// ECAP.SSADS (bit 45) follows iommu_config::ssads.
TEST(Iommu, EcapReportsSecondStageAccessedDirty) {
    iommu_config c;
    c.ssads = true;
    bench b(c);
    b.run([&] { EXPECT_EQ((b.reg64(reg::ECAP_OFFSET) >> 45) & 1, 1u); });
}

TEST(Iommu, MmioErrorsChangeNothing) {
    bench b;
    b.run([&] {
        uint32_t v = 0;
        EXPECT_EQ(b.cpu.read32(0x004, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.cpu.write32(0x0b8, 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);  // IRTA: not implemented
        uint16_t h = 0;
        EXPECT_EQ(b.cpu.read(reg::FECTL_OFFSET, &h, 2), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.cpu.write64(reg::GCMD_OFFSET, gcmd::te::mask), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.reg32(reg::GSTS_OFFSET), 0u);
        EXPECT_EQ(b.reg32(reg::FECTL_OFFSET), fectl::im::mask);
        EXPECT_EQ(b.mmu.statistics().mmio_errors, 4u);
        EXPECT_EQ(b.cpu.delay, sc_core::sc_time(static_cast<double>(b.cfg.mmio_ns), sc_core::SC_NS));
    });
}

// A register access acts at its annotated time only while the registers act on it: a refused one
// (a 2-byte read, an address beyond the block) leaves the IOMMU's time as the kernel's.
TEST(Iommu, RefusedRegisterAccessLeavesNoTimeOffsetBehind) {
    bench b;
    b.run([&] {
        b.cpu.run_ahead = sc_core::sc_time(40, sc_core::SC_NS);
        uint16_t h = 0;
        EXPECT_EQ(b.cpu.read(reg::FECTL_OFFSET, &h, 2), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.mmu.operation_time(), sc_core::sc_time_stamp());
        uint64_t v = 0;
        EXPECT_EQ(b.cpu.read64(uint64_t{1} << 33, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.mmu.operation_time(), sc_core::sc_time_stamp());
        EXPECT_EQ(b.reg32(reg::GSTS_OFFSET), 0u);
        EXPECT_EQ(b.mmu.operation_time(), sc_core::sc_time_stamp());
    });
}

TEST(Iommu, GcmdProtocol) {
    bench b;
    b.build_tables();
    b.run([&] {
        // RTADDR is only a register until SRTP latches it.
        EXPECT_EQ(b.cpu.write64(reg::RTADDR_OFFSET, b.tb.rtaddr_value()), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.reg64(reg::RTADDR_OFFSET), b.tb.rtaddr_value());
        EXPECT_FALSE(b.mmu.translation().root_latched());
        b.gcmd_set(gcmd::srtp::mask, gsts::rtps::mask);
        EXPECT_TRUE(b.mmu.translation().root_latched());
        EXPECT_EQ(b.reg32(reg::GCMD_OFFSET), 0u);  // write-only
        b.gcmd_set(gcmd::te::mask, gsts::tes::mask);
        // WBF completes at once: WBFS reads 0, TE stays.
        EXPECT_EQ(b.cpu.write32(reg::GCMD_OFFSET, gsts::tes::mask | gcmd::wbf::mask), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.reg32(reg::GSTS_OFFSET) & (gsts::wbfs::mask | gsts::tes::mask), gsts::tes::mask);
        // Queued invalidation on and off (idle queue).
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0), tlm::TLM_OK_RESPONSE);
        b.gcmd_set(gcmd::qie::mask, gsts::qies::mask);
        EXPECT_TRUE(b.mmu.queue().enabled());
        b.gcmd_clear(gcmd::qie::mask, gsts::qies::mask);
        EXPECT_TRUE(b.reg32(reg::GSTS_OFFSET) & gsts::tes::mask);
        b.gcmd_clear(gcmd::te::mask, gsts::tes::mask);
    });
}

// SRTP with CAP.ESRTPS=1 drops every cached translation; without it the IOTLB keeps them.
void srtp_and_count(bool esrtps, unsigned expected_after) {
    iommu_config c;
    c.esrtps = esrtps;
    bench b(c);
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        uint32_t v = 0;
        b.dev.read32(k_iova, v);
        EXPECT_EQ(b.tlb.valid_count(), 1u);
        b.gcmd_set(gcmd::srtp::mask, gsts::rtps::mask);
        EXPECT_EQ(b.tlb.valid_count(), expected_after);
    });
}

TEST(Iommu, SrtpWithEsrtpsFlushesCaches) {
    srtp_and_count(true, 0);
}

TEST(Iommu, SrtpWithoutEsrtpsKeepsCaches) {
    srtp_and_count(false, 1);
}

TEST(Iommu, TranslationOffPassesThrough) {
    bench b;
    b.run([&] {
        const uint64_t v = 0x1122334455667788ull;
        EXPECT_EQ(b.dev.write64(0x9000, v), tlm::TLM_OK_RESPONSE);
        uint64_t m = 0;
        ASSERT_TRUE(b.mem.store().read64(0x9000, m));
        EXPECT_EQ(m, v);
        EXPECT_EQ(b.ext.fault, fault_reason::none);
        EXPECT_EQ(b.mmu.statistics().pass_through, 1u);
        // Pass-through DMI is the identity, revoked when translation is turned on.
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(0x9008, dmi));
        EXPECT_EQ(dmi.get_start_address(), 0x9000u);
        EXPECT_TRUE(dmi.is_read_write_allowed());
        b.build_tables();
        b.enable_translation();
        EXPECT_FALSE(b.dev.invalidations.empty());
        EXPECT_EQ(b.mmu.dmi_grant_count(), 0u);
    });
}

TEST(Iommu, TranslatedDmaIsSplitAtPageBoundaries) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        std::array<uint8_t, 32> out{};
        for (unsigned i = 0; i < out.size(); ++i) {
            out[i] = static_cast<uint8_t>(i + 1);
        }
        // 16 bytes at the end of the first page, 16 at the start of the second.
        EXPECT_EQ(b.dev.write(k_iova + 0xff0, out.data(), 32), tlm::TLM_OK_RESPONSE);
        std::array<uint8_t, 16> m{};
        ASSERT_TRUE(b.mem.store().read(k_hpa + 0xff0, m.data(), 16));
        EXPECT_EQ(0, std::memcmp(m.data(), out.data(), 16));
        ASSERT_TRUE(b.mem.store().read(k_hpa + 0x5000, m.data(), 16));
        EXPECT_EQ(0, std::memcmp(m.data(), out.data() + 16, 16));
        std::array<uint8_t, 32> in{};
        EXPECT_EQ(b.dev.read(k_iova + 0xff0, in.data(), 32), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(in, out);
        EXPECT_EQ(b.mmu.statistics().dma_chunks, 4u);
        EXPECT_EQ(b.mmu.statistics().dma_bytes, 64u);
    });
}

// A request that ends at its page's last byte is one piece; one more byte makes two (the second
// page is mapped elsewhere: k_hpa + 0x5000).
TEST(Iommu, DmaEndingAtThePageEndIsOnePiece) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        std::array<uint8_t, 17> out{};
        for (unsigned i = 0; i < out.size(); ++i) {
            out[i] = static_cast<uint8_t>(0xa0 + i);
        }
        EXPECT_EQ(b.dev.write(k_iova + 0xff0, out.data(), 16), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.mmu.statistics().dma_chunks, 1u);
        std::array<uint8_t, 16> m{};
        ASSERT_TRUE(b.mem.store().read(k_hpa + 0xff0, m.data(), 16));
        EXPECT_EQ(0, std::memcmp(m.data(), out.data(), 16));
        EXPECT_EQ(b.dev.write(k_iova + 0xff0, out.data(), 17), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.mmu.statistics().dma_chunks, 3u);
        uint8_t last = 0;
        ASSERT_TRUE(b.mem.store().read(k_hpa + 0x5000, &last, 1));
        EXPECT_EQ(last, 0xb0u);
        uint8_t in = 0;
        EXPECT_EQ(b.dev.read(k_iova + 0xfff, &in, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(in, 0xafu);
        EXPECT_EQ(b.mmu.statistics().dma_chunks, 4u);
        EXPECT_EQ(b.mmu.statistics().dma_bytes, 34u);
    });
}

TEST(Iommu, RequestWithoutExtensionIsRequesterZero) {
    bench b;
    b.tb.set_context(0);
    const uint64_t ss = b.tb.new_ss();
    b.tb.map_ss(ss, 4, k_iova, k_hpa);
    test::pasid_opts o;
    o.did = k_did;
    o.ssptptr = ss;
    b.tb.set_pasid(0, 0, o);
    b.dev.extension = nullptr;
    b.run([&] {
        b.enable_translation();
        EXPECT_EQ(b.dev.write32(k_iova + 4, 0x77), tlm::TLM_OK_RESPONSE);
        uint32_t m = 0;
        ASSERT_TRUE(b.mem.store().read(k_hpa + 4, &m, 4));
        EXPECT_EQ(m, 0x77u);
        // Unmapped: the fault is recorded for source id 0.
        EXPECT_EQ(b.dev.write32(k_iova + 0x10000, 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(frcd::sid::get(frcd::words{0, b.reg64(reg::frcd_offset(0) + 8)}), 0u);
        EXPECT_EQ(frcd::f::get(frcd::words{0, b.reg64(reg::frcd_offset(0) + 8)}), 1u);
    });
}

TEST(Iommu, IotlbHitCostsLessThanAWalk) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_OK_RESPONSE);
        const sc_core::sc_time miss = b.dev.delay;
        EXPECT_EQ(b.dev.read32(k_iova + 4, v), tlm::TLM_OK_RESPONSE);
        const sc_core::sc_time hit = b.dev.delay;
        // A hit: context and PASID cache lookups, the IOTLB lookup and the data access.
        const uint64_t hit_ns = 2 * b.cfg.cache_lookup_ns + b.cfg.iotlb_hit_ns + b.cfg.memory_latency_ns;
        EXPECT_EQ(hit, sc_core::sc_time(static_cast<double>(hit_ns), sc_core::SC_NS));
        // A miss adds one memory access per walk read (root, context, PASID dir/table, 4 SS levels).
        EXPECT_GE(miss, hit + sc_core::sc_time(static_cast<double>(4 * b.cfg.memory_latency_ns), sc_core::SC_NS));
        const translation_stats s = b.mmu.translation().stats();
        EXPECT_EQ(s.iotlb_hits, 1u);
        EXPECT_EQ(s.iotlb_misses, 1u);
    });
}

TEST(Iommu, QuantumSynchronisesTheInitiator) {
    iommu_config c;
    c.quantum_ns = 100;
    bench b(c);
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        const sc_core::sc_time t0 = sc_core::sc_time_stamp();
        uint32_t v = 0;
        b.dev.read32(k_iova, v);  // a miss takes several memory accesses: beyond the quantum
        EXPECT_EQ(b.dev.delay, sc_core::SC_ZERO_TIME);
        EXPECT_GT(sc_core::sc_time_stamp(), t0);
        EXPECT_EQ(b.mmu.statistics().quantum_syncs, 1u);
        b.dev.read32(k_iova, v);  // a hit stays within the quantum: annotated, not waited
        EXPECT_GT(b.dev.delay, sc_core::SC_ZERO_TIME);
        EXPECT_EQ(b.mmu.statistics().quantum_syncs, 1u);
    });
}

TEST(Iommu, FaultIsRecordedAndRaisesTheFaultEvent) {
    bench b;
    b.build_tables(ss_pte::r::mask);  // read-only mapping
    b.run([&] {
        b.enable_translation();
        EXPECT_EQ(b.cpu.write32(reg::FECTL_OFFSET, 0), tlm::TLM_OK_RESPONSE);  // unmask
        uint32_t v = 0xabcd;
        EXPECT_EQ(b.dev.write32(k_iova + 0x10, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_NE(b.ext.fault, fault_reason::none);
        EXPECT_TRUE(b.ext.fault_recorded);
        uint32_t m = 0;
        ASSERT_TRUE(b.mem.store().read(k_hpa + 0x10, &m, 4));
        EXPECT_EQ(m, 0u);  // nothing written
        const uint32_t fsts_v = b.reg32(reg::FSTS_OFFSET);
        EXPECT_EQ(fsts::ppf::get(fsts_v), 1u);
        EXPECT_EQ(fsts::fri::get(fsts_v), 0u);
        const frcd::words w{b.reg64(reg::frcd_offset(0)), b.reg64(reg::frcd_offset(0) + 8)};
        EXPECT_EQ(frcd::f::get(w), 1u);
        EXPECT_EQ(frcd::sid::get(w), k_rid);
        EXPECT_EQ(frcd::fi::get(w) << 12, k_iova);
        EXPECT_EQ(frcd::fr::get(w), static_cast<uint64_t>(b.ext.fault));
        EXPECT_EQ(frcd::t1::get(w), 0u);  // a write
        sc_core::wait(5, sc_core::SC_NS);
        EXPECT_EQ(b.fault_irqs.rises, 1u);
        // A second fault of the same source is compressed; reads still work.
        EXPECT_EQ(b.dev.write32(k_iova + 0x20, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_FALSE(b.ext.fault_recorded);
        EXPECT_EQ(b.dev.read32(k_iova + 0x10, v), tlm::TLM_OK_RESPONSE);
        // Clearing F clears PPF; the next fault raises a new event.
        EXPECT_EQ(b.cpu.write32(reg::frcd_offset(0) + 12, 0x80000000u), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(fsts::ppf::get(b.reg32(reg::FSTS_OFFSET)), 0u);
        EXPECT_EQ(b.dev.write32(k_iova + 0x20, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        sc_core::wait(5, sc_core::SC_NS);
        EXPECT_EQ(b.fault_irqs.rises, 2u);
        EXPECT_EQ(b.mmu.faults().statistics().recorded, 2u);
        EXPECT_EQ(b.mmu.faults().statistics().compressed, 1u);
    });
}

TEST(Iommu, FpdSuppressedFaultsAreNotRecorded) {
    bench b;
    b.tb.set_context(k_rid, test::context_opts{.fpd = true});
    b.run([&] {
        b.enable_translation();
        uint32_t v = 0;
        // No PASID entry behind the context entry: a qualified fault, suppressed by FPD.
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_NE(b.ext.fault, fault_reason::none);
        EXPECT_FALSE(b.ext.fault_recorded);
        EXPECT_EQ(fsts::ppf::get(b.reg32(reg::FSTS_OFFSET)), 0u);
        EXPECT_EQ(b.mmu.faults().statistics().suppressed, 1u);
    });
}

TEST(Iommu, DmiGrantHasTheMappingsRightsAndIsRevokedByInvalidation) {
    bench b;
    b.build_tables(ss_pte::r::mask);
    b.run([&] {
        b.enable_translation();
        b.mem.store().write64(k_hpa + 0x40, 0x5555);
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(k_iova + 0x40, dmi));
        EXPECT_EQ(dmi.get_start_address(), k_iova);
        EXPECT_EQ(dmi.get_end_address(), k_iova + 0xfff);
        EXPECT_TRUE(dmi.is_read_allowed());
        EXPECT_FALSE(dmi.is_write_allowed());
        uint64_t v = 0;
        std::memcpy(&v, dmi.get_dmi_ptr() + 0x40, 8);
        EXPECT_EQ(v, 0x5555u);
        EXPECT_EQ(b.mmu.dmi_grant_count(), 1u);
        // An invalidation of another domain leaves it; one covering the page revokes it.
        b.mmu.translation().invalidate({.kind = scope_kind::iotlb_domain, .did = k_did + 1});
        EXPECT_TRUE(b.dev.invalidations.empty());
        b.mmu.translation().invalidate({.kind = scope_kind::iotlb_domain_range,
                                        .did = k_did,
                                        .ih = false,
                                        .range = page_range::of_address(k_iova, 0)});
        ASSERT_EQ(b.dev.invalidations.size(), 1u);
        EXPECT_EQ(b.dev.invalidations[0], std::make_pair(k_iova, k_iova + 0xfff));
        EXPECT_EQ(b.mmu.dmi_grant_count(), 0u);
        EXPECT_EQ(b.mmu.statistics().dmi_revocations, 1u);
    });
}

TEST(Iommu, DmiForWriteOnAReadOnlyPageGrantsReadOnly) {
    bench b;
    b.build_tables(ss_pte::r::mask);
    b.run([&] {
        b.enable_translation();
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(k_iova, dmi, true));
        EXPECT_TRUE(dmi.is_read_allowed());
        EXPECT_FALSE(dmi.is_write_allowed());
        EXPECT_EQ(fsts::ppf::get(b.reg32(reg::FSTS_OFFSET)), 0u);  // a DMI request records no fault
    });
}

TEST(Iommu, DmiRevokedBySrtpAndTranslationDisable) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(k_iova, dmi, true));
        EXPECT_TRUE(dmi.is_read_write_allowed());
        b.gcmd_set(gcmd::srtp::mask, gsts::rtps::mask);
        EXPECT_EQ(b.dev.invalidations.size(), 1u);
        ASSERT_TRUE(b.dev.get_dmi(k_iova + 0x1000, dmi));
        EXPECT_NE(dmi.get_dmi_ptr(), nullptr);
        b.gcmd_clear(gcmd::te::mask, gsts::tes::mask);
        EXPECT_EQ(b.dev.invalidations.size(), 2u);
        EXPECT_EQ(b.mmu.dmi_grant_count(), 0u);
    });
}

TEST(Iommu, DmiDeniedWhileTheStaleCheckerRuns) {
    iommu_config c;
    c.stale_check = true;
    bench b(c);
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        tlm::tlm_dmi dmi;
        EXPECT_FALSE(b.dev.get_dmi(k_iova, dmi));
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_OK_RESPONSE);
        EXPECT_FALSE(b.dev.last_dmi_allowed);
    });
}

TEST(Iommu, TurningTheStaleCheckerOnRevokesDmi) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(k_iova, dmi));
        b.mmu.set_stale_check(true);
        EXPECT_EQ(b.dev.invalidations.size(), 1u);
        EXPECT_FALSE(b.dev.get_dmi(k_iova, dmi));
        b.mmu.set_stale_check(false);
        EXPECT_TRUE(b.dev.get_dmi(k_iova, dmi));
    });
}

TEST(Iommu, MemoryRevocationReachesDevices) {
    bench b;
    b.build_tables();
    alignas(4096) static std::array<uint8_t, 0x1000> host{};
    b.run([&] {
        b.enable_translation();
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(k_iova, dmi));
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_OK_RESPONSE);  // primes the iommu's memory DMI
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.mmu.statistics().memory_dmi_accesses, 1u);
        ASSERT_TRUE(b.mem.adopt(k_hpa, host.data(), host.size()));
        ASSERT_EQ(b.dev.invalidations.size(), 1u);
        EXPECT_EQ(b.dev.invalidations[0].first, k_iova);
        EXPECT_FALSE(b.dev.get_dmi(k_iova, dmi)) << "memory grants no DMI into adopted host memory";
        // The iommu's own DMI pointers into memory were dropped too: DMA reaches the new buffer.
        EXPECT_EQ(b.dev.write32(k_iova + 8, 0xc0ffee), tlm::TLM_OK_RESPONSE);
        uint32_t seen = 0;
        std::memcpy(&seen, host.data() + 8, 4);
        EXPECT_EQ(seen, 0xc0ffeeu);
    });
}

TEST(Iommu, WalkThroughAdoptedTableTheHostUnmappedIsAnAccessFault) {
    // The second-stage root table lives in adopted host memory (as guest tables live in user
    // memory) that the host unmaps: the walk gets an access error (SSL.1), no signal.
    bench b;
    b.build_tables();
    void* host = mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(host, MAP_FAILED);
    ASSERT_TRUE(b.mem.store().read(b.ss_root, host, 0x1000));
    ASSERT_TRUE(b.mem.adopt(b.ss_root, host, 0x1000));
    b.run([&] {
        b.enable_translation();
        // Unmapped only now: starting the simulation maps thread stacks, which could reuse the range.
        ASSERT_EQ(munmap(host, 0x1000), 0);
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.ext.fault, fault_reason::ss_access);
        EXPECT_TRUE(b.ext.fault_recorded);
    });
    EXPECT_GT(b.mem.store().host_faults(), 0u);
}

TEST(Iommu, AtsTranslationRequestReturnsTheTranslation) {
    bench b;
    b.build_tables(ss_pte::r::mask);
    b.run([&] {
        b.enable_translation();
        b.ext.ats_translation = true;
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(k_iova + 0x1234, v), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.ext.translated_addr, k_hpa + 0x5000);
        EXPECT_EQ(b.ext.translated_size, 0x1000u);
        EXPECT_TRUE(b.ext.ats_read);
        EXPECT_FALSE(b.ext.ats_write);
        EXPECT_EQ(b.mmu.statistics().ats_requests, 1u);
    });
}

// ATS translation requests (README, "Choices"): a not-present entry is a successful completion
// granting nothing (R=W=0), with no fault recorded and no fault event.
TEST(Iommu, AtsTranslationOfNotPresentPageIsEmptyCompletionWithoutFault) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        EXPECT_EQ(b.cpu.write32(reg::FECTL_OFFSET, 0), tlm::TLM_OK_RESPONSE);  // unmask
        b.ext.ats_translation = true;
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(k_iova + 0x8000, v), tlm::TLM_OK_RESPONSE);  // nothing mapped there
        EXPECT_EQ(b.ext.ats_status, ats_completion::success);
        EXPECT_EQ(b.ext.translated_size, 0x1000u);
        EXPECT_FALSE(b.ext.ats_read);
        EXPECT_FALSE(b.ext.ats_write);
        EXPECT_EQ(b.ext.fault, fault_reason::none);
        EXPECT_FALSE(b.ext.fault_recorded);
        sc_core::wait(5, sc_core::SC_NS);
        EXPECT_EQ(fsts::ppf::get(b.reg32(reg::FSTS_OFFSET)), 0u);
        EXPECT_EQ(frcd::f::get(frcd::words{0, b.reg64(reg::frcd_offset(0) + 8)}), 0u);
        EXPECT_EQ(b.fault_irqs.rises, 0u);
        EXPECT_EQ(b.mmu.statistics().ats_errors, 0u);
    });
}

// Any other condition is recorded as a translation-request fault and answered Unsupported Request, or Completer Abort
// when a structure could not be read.
TEST(Iommu, AtsTranslationOfBadStructureIsRecordedAndUnsupportedRequest) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        b.ext.ats_translation = true;
        b.ext.requester_id = k_rid + 1;  // no context entry: SCT.2
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_COMMAND_ERROR_RESPONSE);
        EXPECT_EQ(b.ext.ats_status, ats_completion::unsupported_request);
        EXPECT_EQ(b.ext.translated_size, 0u);
        EXPECT_EQ(b.ext.fault, fault_reason::ctx_not_present);
        EXPECT_TRUE(b.ext.fault_recorded);
        const frcd::words w{b.reg64(reg::frcd_offset(0)), b.reg64(reg::frcd_offset(0) + 8)};
        EXPECT_EQ(frcd::f::get(w), 1u);
        EXPECT_EQ(frcd::sid::get(w), k_rid + 1u);
        EXPECT_EQ(frcd::fr::get(w), static_cast<uint64_t>(fault_reason::ctx_not_present));
        EXPECT_EQ(frcd::t1::get(w), 0u);  // type "page translation request" (T1=0, T2=1)
        EXPECT_EQ(frcd::t2::get(w), 1u);
        // A context table the hardware cannot read: Completer Abort (SCT.1), recorded too.
        b.tb.set_context(k_rid + 2);
        b.mem.inject_error_range(b.tb.context_entry_addr(k_rid + 2), 32);
        b.ext.requester_id = k_rid + 2;
        EXPECT_EQ(b.dev.read32(k_iova, v), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(b.ext.ats_status, ats_completion::completer_abort);
        EXPECT_EQ(b.ext.fault, fault_reason::ctx_access);
        EXPECT_TRUE(b.ext.fault_recorded);
        EXPECT_EQ(b.mmu.statistics().ats_errors, 2u);
        EXPECT_EQ(b.mmu.faults().statistics().recorded, 2u);
    });
}

// Requests without PASID to 0xFEEx_xxxx are interrupt requests, never DMA-remapped: a write is
// recorded as an interrupt request (interrupt remapping is not modelled) and reaches no memory,
// even where the tables map that IOVA; a read there is aborted and reported (SGN.8).
TEST(Iommu, RequestsWithoutPasidToTheInterruptWindowAreInterrupts) {
    bench b;
    b.build_tables();
    b.tb.map_ss(b.ss_root, 4, 0xFEE0'0000, k_hpa + 0x9000);  // a DMA mapping of that IOVA is ignored
    b.run([&] {
        b.enable_translation();
        EXPECT_EQ(b.dev.write32(0xFEE0'1004, 0x4041), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.ext.fault, fault_reason::none);
        ASSERT_EQ(b.mmu.interrupt_requests().size(), 1u);
        const auto& ir = b.mmu.interrupt_requests()[0];
        EXPECT_EQ(ir.rid, k_rid);
        EXPECT_EQ(ir.addr, 0xFEE0'1004u);
        EXPECT_EQ(ir.data, 0x4041u);
        EXPECT_EQ(ir.len, 4u);
        uint32_t m = 0;
        ASSERT_TRUE(b.mem.store().read(k_hpa + 0x9004, &m, 4));
        EXPECT_EQ(m, 0u) << "the write was DMA-remapped";
        EXPECT_EQ(b.mmu.translation().stats().translations, 0u);
        // A read in the window: target abort, fault 0x87 recorded.
        uint32_t v = 0;
        EXPECT_EQ(b.dev.read32(0xFEE0'0000, v), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.ext.fault, fault_reason::gn_interrupt_range);
        EXPECT_TRUE(b.ext.fault_recorded);
        const frcd::words w{b.reg64(reg::frcd_offset(0)), b.reg64(reg::frcd_offset(0) + 8)};
        EXPECT_EQ(frcd::fr::get(w), static_cast<uint64_t>(fault_reason::gn_interrupt_range));
        EXPECT_EQ(frcd::fi::get(w) << 12, 0xFEE0'0000u);
        EXPECT_EQ(frcd::t1::get(w), 1u);  // a read
        // A write reaching past the window is no interrupt either.
        const uint64_t two[2] = {1, 2};
        EXPECT_EQ(b.dev.write(0xFEEF'FFFC, two, sizeof two), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(b.mmu.interrupt_requests().size(), 1u);
        // No DMI into the window, nor a debug access.
        tlm::tlm_dmi dmi;
        EXPECT_FALSE(b.dev.get_dmi(0xFEE0'0000, dmi));
        EXPECT_EQ(b.mmu.statistics().interrupt_window_errors, 2u);
    });
    const std::string j = b.mmu.stats_json();
    EXPECT_NE(j.find("\"interrupts\": {\"requests\": 1, \"window_errors\": 2, \"last\": {\"rid\": 256, "
                     "\"addr\": 4276097028, \"data\": 16449, \"len\": 4}}"),
              std::string::npos)
        << j;
}

// Requests with PASID to the same addresses are translated as usual (docs/vtd-facts.md §5.6).
TEST(Iommu, RequestsWithPasidToTheInterruptWindowAreTranslated) {
    bench b;
    b.build_tables();
    test::pasid_opts o;
    o.did = k_did;
    o.ssptptr = b.ss_root;
    b.tb.set_pasid(k_rid, 7, o);
    b.tb.map_ss(b.ss_root, 4, 0xFEE0'0000, k_hpa + 0x9000);
    b.run([&] {
        b.enable_translation();
        b.ext.has_pasid = true;
        b.ext.pasid = 7;
        EXPECT_EQ(b.dev.write32(0xFEE0'0004, 0x77), tlm::TLM_OK_RESPONSE);
        uint32_t m = 0;
        ASSERT_TRUE(b.mem.store().read(k_hpa + 0x9004, &m, 4));
        EXPECT_EQ(m, 0x77u);
        EXPECT_TRUE(b.mmu.interrupt_requests().empty());
    });
}

TEST(Iommu, QueuedInvalidationRevokesDmiAndCompletes) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(k_iova, dmi));
        // A 256-bit queue of one page: an IOTLB domain invalidation, then a wait with a status write.
        const uint64_t queue = b.tb.alloc_page();
        const uint64_t status = b.tb.alloc_page();
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.cpu.write64(reg::IQA_OFFSET, iqa::iqa::make(queue >> 12) | iqa::dw::make(1)), tlm::TLM_OK_RESPONSE);
        b.gcmd_set(gcmd::qie::mask, gsts::qies::mask);
        inv_desc d0{};
        desc::set_type(d0, inv_type::iotlb);
        iotlb_desc::g::set(d0, iotlb_desc::domain);
        iotlb_desc::did::set(d0, k_did);
        inv_desc d1{};
        desc::set_type(d1, inv_type::wait);
        wait_desc::sw::set(d1, 1);
        wait_desc::status_data::set(d1, 0x600d);
        wait_desc::status_addr::set(d1, status >> 2);
        b.mem.store().write(queue, d0.data(), 32);
        b.mem.store().write(queue + 32, d1.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, iqt::qt::make(4)), tlm::TLM_OK_RESPONSE);  // 2 x 32 bytes
        uint32_t st = 0;
        for (int i = 0; i < 1000 && st != 0x600d; ++i) {
            sc_core::wait(100, sc_core::SC_NS);
            b.mem.store().read(status, &st, 4);
        }
        EXPECT_EQ(st, 0x600du);
        EXPECT_EQ(b.reg64(reg::IQH_OFFSET), iqh::qh::make(4));
        ASSERT_EQ(b.dev.invalidations.size(), 1u);
        EXPECT_EQ(b.dev.invalidations[0].first, k_iova);
        EXPECT_EQ(fsts::iqe::get(b.reg32(reg::FSTS_OFFSET)), 0u);
    });
}

// A 256-bit queue of one page at `queue`, enabled through the registers (Linux's sequence).
void enable_queue(bench& b, uint64_t queue) {
    EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, 0), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b.cpu.write64(reg::IQA_OFFSET, iqa::iqa::make(queue >> 12) | iqa::dw::make(1)), tlm::TLM_OK_RESPONSE);
    b.gcmd_set(gcmd::qie::mask, gsts::qies::mask);
}

inv_desc wait_descriptor(uint64_t status, uint32_t data, bool sw, bool irq) {
    inv_desc d{};
    desc::set_type(d, inv_type::wait);
    wait_desc::sw::set(d, sw);
    wait_desc::if_::set(d, irq);
    wait_desc::status_data::set(d, data);
    wait_desc::status_addr::set(d, status >> 2);
    return d;
}

TEST(Iommu, QueueErrorRaisesTheFaultEventAndResumesWhenCleared) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        EXPECT_EQ(b.cpu.write32(reg::FECTL_OFFSET, 0), tlm::TLM_OK_RESPONSE);
        const uint64_t queue = b.tb.alloc_page();
        const uint64_t status = b.tb.alloc_page();
        enable_queue(b, queue);
        inv_desc bad{};
        desc::type_lo::set(bad, 0xf);  // no such descriptor type
        b.mem.store().write(queue, bad.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, iqt::qt::make(2)), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(fsts::iqe::get(b.reg32(reg::FSTS_OFFSET)), 1u);
        EXPECT_EQ(iqercd::iqei::get(b.reg64(reg::IQERCD_OFFSET)), 3u);  // invalid type
        EXPECT_EQ(b.reg64(reg::IQH_OFFSET), 0u);                        // IQH stays on the bad descriptor
        EXPECT_EQ(b.fault_irqs.rises, 1u);
        // Linux's recovery: overwrite the slot with a wait descriptor, clear IQE.
        const inv_desc w = wait_descriptor(status, 0x1234, true, false);
        b.mem.store().write(queue, w.data(), 32);
        EXPECT_EQ(b.cpu.write32(reg::FSTS_OFFSET, fsts::iqe::mask), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        uint32_t st = 0;
        b.mem.store().read(status, &st, 4);
        EXPECT_EQ(st, 0x1234u);
        EXPECT_EQ(b.reg64(reg::IQH_OFFSET), iqh::qh::make(2));
        EXPECT_EQ(b.reg32(reg::FSTS_OFFSET), 0u);
    });
}

TEST(Iommu, WaitWithInterruptRaisesTheCompletionEvent) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        const uint64_t queue = b.tb.alloc_page();
        enable_queue(b, queue);
        EXPECT_EQ(b.cpu.write32(reg::IECTL_OFFSET, 0), tlm::TLM_OK_RESPONSE);  // unmask
        const inv_desc w = wait_descriptor(0, 0, false, true);
        b.mem.store().write(queue, w.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, iqt::qt::make(2)), tlm::TLM_OK_RESPONSE);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(ics::iwc::get(b.reg32(reg::ICS_OFFSET)), 1u);
        EXPECT_EQ(iectl::ip::get(b.reg32(reg::IECTL_OFFSET)), 0u);  // delivered
        EXPECT_EQ(b.inv_irqs.rises, 1u);
        EXPECT_EQ(b.mmu.statistics().completion_events, 1u);
        EXPECT_EQ(b.cpu.write32(reg::ICS_OFFSET, ics::iwc::mask), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(b.reg32(reg::ICS_OFFSET), 0u);
        // Disabling an idle queue resets IQH.
        b.gcmd_clear(gcmd::qie::mask, gsts::qies::mask);
        EXPECT_EQ(b.reg64(reg::IQH_OFFSET), 0u);
    });
}

// Temporal decoupling: the device runs 500 ns ahead of the kernel (within its 10 us quantum) and is
// served while the invalidation is still in flight. Its DMA is stamped after the time the wait
// would complete on its own, so the wait must complete no earlier than that DMA ends.
TEST(Iommu, WaitCompletesAfterADmaServedAheadOfTheKernel) {
    iommu_config c;
    c.quantum_ns = 10000;
    bench b(c);
    b.build_tables();
    constexpr uint64_t new_hpa = k_hpa + 0x9000;
    b.mem.store().write(k_hpa, "\x11\x11\x11\x11", 4);
    b.mem.store().write(new_hpa, "\x22\x22\x22\x22", 4);
    sc_core::sc_event device_go;
    uint32_t seen = 0;
    sc_core::sc_time dma_end;
    b.dev.body = [&] {
        sc_core::wait(device_go);
        b.dev.run_ahead = sc_core::sc_time(500, sc_core::SC_NS);
        ASSERT_EQ(b.dev.read32(k_iova, seen), tlm::TLM_OK_RESPONSE);
        dma_end = sc_core::sc_time_stamp() + b.dev.delay;
    };
    b.run([&] {
        b.enable_translation();
        uint32_t v = 0;
        ASSERT_EQ(b.dev.read32(k_iova, v), tlm::TLM_OK_RESPONSE);  // cached: old page
        ASSERT_EQ(v, 0x11111111u);
        sc_core::wait(b.dev.delay);  // the warm-up DMA is over
        const uint64_t queue = b.tb.alloc_page();
        const uint64_t status = b.tb.alloc_page();
        enable_queue(b, queue);
        b.tb.map_ss(b.ss_root, 4, k_iova, new_hpa);  // the remap the invalidation publishes
        const inv_desc d0 = make_iotlb_inv(iotlb_desc::domain, k_did);
        const inv_desc d1 = wait_descriptor(status, 1, true, false);
        b.mem.store().write(queue, d0.data(), 32);
        b.mem.store().write(queue + 32, d1.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, iqt::qt::make(4)), tlm::TLM_OK_RESPONSE);
        const sc_core::sc_time published = sc_core::sc_time_stamp();
        device_go.notify(10, sc_core::SC_NS);  // before the invalidation takes effect
        sc_core::wait(b.mmu.queue().wait_completed_event());
        const sc_core::sc_time completed = sc_core::sc_time_stamp();
        ASSERT_TRUE(b.dev.done);
        // The race this test is about: served at published + 10 ns, before the descriptor's effect
        // (fetch + memory + processing = 100 ns), stamped at published + 510 ns.
        EXPECT_EQ(seen, 0x11111111u) << "the DMA was served before the invalidation took effect";
        EXPECT_GT(dma_end, published + sc_core::sc_time(500, sc_core::SC_NS));
        EXPECT_GE(completed, dma_end) << "a DMA that used the old page ended after the wait completed";
        uint32_t st = 0;
        b.mem.store().read(status, &st, 4);
        EXPECT_EQ(st, 1u);
        EXPECT_EQ(b.mmu.queue().stats().waits_held, 1u);
        // A DMA after the completion sees the new page.
        ASSERT_EQ(b.dev.read32(k_iova, v), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(v, 0x22222222u);
    });
}

// Accesses through a DMI pointer never reach the IOMMU, and its holder may be up to one quantum
// ahead of the kernel when the pointer is revoked: the wait completes no earlier than that.
TEST(Iommu, WaitCompletesAQuantumAfterRevokingADmiGrant) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(b.dev.get_dmi(k_iova, dmi));
        const uint64_t queue = b.tb.alloc_page();
        const uint64_t status = b.tb.alloc_page();
        enable_queue(b, queue);
        const inv_desc d0 = make_iotlb_inv(iotlb_desc::domain, k_did);
        const inv_desc d1 = wait_descriptor(status, 1, true, false);
        b.mem.store().write(queue, d0.data(), 32);
        b.mem.store().write(queue + 32, d1.data(), 32);
        EXPECT_EQ(b.cpu.write64(reg::IQT_OFFSET, iqt::qt::make(4)), tlm::TLM_OK_RESPONSE);
        const sc_core::sc_time published = sc_core::sc_time_stamp();
        sc_core::wait(b.mmu.queue().wait_completed_event());
        ASSERT_EQ(b.dev.invalidations.size(), 1u) << "the grant was revoked";
        EXPECT_GE(sc_core::sc_time_stamp(),
                  published + sc_core::sc_time(static_cast<double>(b.cfg.quantum_ns), sc_core::SC_NS));
    });
}

TEST(Iommu, StatisticsJson) {
    bench b;
    b.build_tables();
    b.run([&] {
        b.enable_translation();
        uint32_t v = 0;
        b.dev.read32(k_iova, v);
    });
    const std::string j = b.mmu.stats_json();
    EXPECT_NE(j.find("\"dma_requests\": 1"), std::string::npos) << j;
    EXPECT_NE(j.find("\"translation\": {"), std::string::npos) << j;
    EXPECT_NE(j.find("\"faults\": {"), std::string::npos) << j;
    EXPECT_NE(j.find("\"qi\": {"), std::string::npos) << j;
}

// SC_REPORT_FATAL is made to throw so the message can be checked (one construction per process).
std::string construction_error(const iommu_config& c) {
    sc_core::sc_report_handler::set_actions(sc_core::SC_FATAL, sc_core::SC_THROW);
    iotlb tlb(iotlb_geometry{});
    try {
        iommu m("m", c, tlb);
    } catch (const sc_core::sc_report& r) {
        return r.get_msg();
    }
    return "";
}

TEST(IommuConfig, TooManyFaultRecordsIsFatal) {
    iommu_config c;
    c.nfr = reg::FRCD_MAX;  // a valid CAP.NFR encoding, but beyond the register table
    EXPECT_NE(construction_error(c).find("nfr=16"), std::string::npos);
}

TEST(IommuConfig, InvalidConfigurationIsFatal) {
    iommu_config c;
    c.mgaw = 30;
    EXPECT_NE(construction_error(c).find("mgaw=30"), std::string::npos);
}

}  // namespace
}  // namespace iommusim
