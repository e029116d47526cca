// invalidation_queue: the queued-invalidation engine against the real translator, IOTLB and
// sparse memory, driven by a small harness that plays the IOMMU shell's role (qi_host) and the
// driver's (ring writes, IQT, FSTS clears). One SystemC elaboration per test (one test per process).
#include "tlm/invalidation_queue.h"

#include <gtest/gtest.h>

#include <tlm>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "iommusim/hw/vtd_regs.h"
#include "tlm/ats_device_tlb.h"
#include "tlm/iotlb.h"
#include "tlm/register_file.h"
#include "tlm/sparse_memory.h"
#include "tlm/translator.h"

namespace iommusim {
namespace {

using hw::inv_desc;
using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t ring_base = 0x100000;
constexpr uint64_t status_base = 0x200000;

iommu_config test_config() {
    iommu_config c;
    c.iotlb_sets = 16;
    c.iotlb_ways = 16;  // room for every test's entries in one set: no evictions
    c.ir = true;        // ECAP.IR: type-4 descriptors exist
    return c;
}

class harness : public qi_host {
  public:
    // `qi_cfg` configures the engine only (lets a test give it capabilities the translator refuses).
    explicit harness(const iommu_config& cfg = test_config()) : harness(cfg, cfg) {}
    harness(const iommu_config& cfg, const iommu_config& qi_cfg)
        : cfg(cfg)
        , mem(cfg.phys_addr_bits)
        , tlb(iotlb_geometry{cfg.iotlb_sets, cfg.iotlb_ways})
        , tr(cfg, mem, tlb)
        , qi("qi", qi_cfg, *this) {}

    // ---- qi_host ----
    phys_mem_if& memory() override { return mem; }
    invalidation_target& caches() override { return tr; }
    unsigned active_ttm() override { return ttm; }
    void set_fsts(uint32_t bits) override {
        fsts |= bits;
        ++fault_events;
    }
    void raise_completion_event(uint64_t addr, uint32_t data) override { msis.push_back({addr, data}); }

    // ---- Driver side ----
    void enable(bool wide = true, unsigned qs = 0) {
        dw = wide;
        qi.write_iqt(0);
        qi.write_iqa(hw::iqa::iqa::make(ring_base >> 12) | hw::iqa::dw::make(wide) | hw::iqa::qs::make(qs));
        ASSERT_TRUE(qi.set_enabled(true));
        tail = 0;
        entries = 1u << (qs + (wide ? 7 : 8));
    }
    std::size_t desc_bytes() const { return dw ? 32 : 16; }
    void put(uint32_t index, const inv_desc& d) {
        ASSERT_TRUE(mem.write(ring_base + index * desc_bytes(), d.data(), desc_bytes()));
    }
    uint64_t iqt_value(uint32_t index) const { return hw::iqt::qt::make(uint64_t{index} << (dw ? 1 : 0)); }
    // Writes the descriptors at the tail and publishes them with one IQT write.
    void submit(const std::vector<inv_desc>& ds) {
        for (const inv_desc& d : ds) {
            put(tail, d);
            tail = (tail + 1) % entries;
        }
        qi.write_iqt(iqt_value(tail));
    }
    uint32_t head_index() const { return static_cast<uint32_t>(hw::iqh::qh::get(qi.read_iqh()) >> (dw ? 1 : 0)); }
    uint32_t status(uint64_t addr) {
        uint32_t v = 0;
        EXPECT_TRUE(mem.read(addr, &v, sizeof v));
        return v;
    }
    void clear_fsts(uint32_t bits) {
        fsts &= ~bits;
        qi.on_fsts_w1c(bits);
    }
    unsigned iqei() const { return static_cast<unsigned>(hw::iqercd::iqei::get(qi.read_iqercd())); }
    bool iqe() const { return hw::fsts::iqe::get(fsts) != 0; }

    // ---- Cache population ----
    void fill_tlb(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn,
                  page_level level = page_level::size_4k) {
        iotlb_entry e;
        e.tag = iotlb_tag{did, pasid, kind, level, vpn};
        e.payload.out_pfn = vpn + 0x1000;
        tlb.fill(e);
    }
    bool in_tlb(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
        bool found = false;
        tlb.for_each_valid([&](unsigned, unsigned, const iotlb_entry& e) {
            found = found || (e.tag.did == did && e.tag.pasid == pasid && e.tag.kind == kind && e.tag.vpn == vpn);
        });
        return found;
    }
    unsigned tlb_size() {
        unsigned n = 0;
        tlb.for_each_valid([&](unsigned, unsigned, const iotlb_entry&) { ++n; });
        return n;
    }

    iommu_config cfg;
    sparse_memory mem;
    iotlb tlb;
    translator tr;
    invalidation_queue qi;

    unsigned ttm = 1;
    uint32_t fsts = 0;
    unsigned fault_events = 0;
    std::vector<std::pair<uint64_t, uint32_t>> msis;
    bool dw = true;
    uint32_t tail = 0;
    uint32_t entries = 128;
};

void run_ns(double ns) {
    sc_core::sc_start(sc_time(ns, SC_NS));
}

constexpr auto fs = translation_kind::first_stage;
constexpr auto ss = translation_kind::second_stage;
constexpr auto nested = translation_kind::nested;
constexpr auto pt = translation_kind::pass_through;

// ---- Cache scopes --------------------------------------------------------------------------------

TEST(InvalidationQueue, IotlbPageSelectiveDropsRangeOfDomainAndAllFirstStageOfDomain) {
    harness h;
    h.enable();
    h.fill_tlb(1, 0, ss, 0x100);
    h.fill_tlb(1, 0, ss, 0x101);
    h.fill_tlb(1, 0, ss, 0x102);
    h.fill_tlb(1, 7, ss, 0x101);     // another PASID, same GPA range
    h.fill_tlb(1, 0, pt, 0x101);     // pass-through in range
    h.fill_tlb(1, 5, fs, 0x900);     // first stage, any address
    h.fill_tlb(1, 6, nested, 0x33);  // nested, any address
    h.fill_tlb(2, 0, ss, 0x101);     // other domain
    h.fill_tlb(2, 5, fs, 0x900);
    std::vector<invalidation_scope> seen;
    h.tr.on_invalidate([&](const invalidation_scope& s) { seen.push_back(s); });
    // AM=1 at page 0x101 covers pages 0x100-0x101 (low AM bits ignored).
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::page, 1, 0x101000, 1, false)});
    run_ns(1000);
    EXPECT_FALSE(h.in_tlb(1, 0, ss, 0x100));
    EXPECT_FALSE(h.in_tlb(1, 0, ss, 0x101));
    EXPECT_FALSE(h.in_tlb(1, 7, ss, 0x101));
    EXPECT_FALSE(h.in_tlb(1, 0, pt, 0x101));
    EXPECT_FALSE(h.in_tlb(1, 5, fs, 0x900));
    EXPECT_FALSE(h.in_tlb(1, 6, nested, 0x33));
    EXPECT_TRUE(h.in_tlb(1, 0, ss, 0x102));
    EXPECT_TRUE(h.in_tlb(2, 0, ss, 0x101));
    EXPECT_TRUE(h.in_tlb(2, 5, fs, 0x900));
    EXPECT_EQ(h.qi.stats().entries_dropped, 6u);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].kind, scope_kind::iotlb_domain_range);
    EXPECT_EQ(seen[0].did, 1);
    EXPECT_EQ(seen[0].range.am(), 1u);
    EXPECT_EQ(h.head_index(), 1u);
    EXPECT_FALSE(h.iqe());
}

TEST(InvalidationQueue, IotlbDomainAndGlobal) {
    harness h;
    h.enable();
    h.fill_tlb(1, 0, ss, 0x100);
    h.fill_tlb(1, 3, fs, 0x200);
    h.fill_tlb(2, 0, ss, 0x100);
    h.fill_tlb(3, 4, nested, 0x100);
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::domain, 1)});
    run_ns(1000);
    EXPECT_FALSE(h.in_tlb(1, 0, ss, 0x100));
    EXPECT_FALSE(h.in_tlb(1, 3, fs, 0x200));
    EXPECT_TRUE(h.in_tlb(2, 0, ss, 0x100));
    EXPECT_TRUE(h.in_tlb(3, 4, nested, 0x100));
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::global)});
    run_ns(1000);
    EXPECT_EQ(h.tlb_size(), 0u);
    EXPECT_EQ(h.qi.stats().per_scope[static_cast<unsigned>(scope_kind::iotlb_domain)], 1u);
    EXPECT_EQ(h.qi.stats().per_scope[static_cast<unsigned>(scope_kind::iotlb_all)], 1u);
    EXPECT_EQ(h.qi.stats().per_type[static_cast<unsigned>(hw::inv_type::iotlb)], 2u);
}

TEST(InvalidationQueue, PasidIotlbScopesSpareSecondStageAndPassThrough) {
    harness h;
    h.enable();
    h.fill_tlb(1, 5, fs, 0x100);
    h.fill_tlb(1, 5, fs, 0x180);  // outside the range
    h.fill_tlb(1, 5, nested, 0x101);
    h.fill_tlb(1, 5, ss, 0x100);  // second-stage only: type-6 PSI leaves it
    h.fill_tlb(1, 5, pt, 0x100);
    h.fill_tlb(1, 6, fs, 0x100);                     // other PASID
    h.fill_tlb(2, 5, fs, 0x100);                     // other domain
    h.fill_tlb(1, 5, fs, 0x0, page_level::size_2m);  // 2 MiB page covering 0x100
    h.submit({hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 5, 0x100000, 2, false)});
    run_ns(1000);
    EXPECT_FALSE(h.in_tlb(1, 5, fs, 0x100));
    EXPECT_FALSE(h.in_tlb(1, 5, nested, 0x101));
    EXPECT_FALSE(h.in_tlb(1, 5, fs, 0x0));
    EXPECT_TRUE(h.in_tlb(1, 5, fs, 0x180));
    EXPECT_TRUE(h.in_tlb(1, 5, ss, 0x100));
    EXPECT_TRUE(h.in_tlb(1, 5, pt, 0x100));
    EXPECT_TRUE(h.in_tlb(1, 6, fs, 0x100));
    EXPECT_TRUE(h.in_tlb(2, 5, fs, 0x100));
    // PASID-selective: every entry of DID+PASID, every kind.
    h.submit({hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 1, 5)});
    run_ns(1000);
    EXPECT_FALSE(h.in_tlb(1, 5, fs, 0x180));
    EXPECT_FALSE(h.in_tlb(1, 5, ss, 0x100));
    EXPECT_FALSE(h.in_tlb(1, 5, pt, 0x100));
    EXPECT_TRUE(h.in_tlb(1, 6, fs, 0x100));
    EXPECT_TRUE(h.in_tlb(2, 5, fs, 0x100));
}

TEST(InvalidationQueue, InvalidationHintKeepsPagingStructureCaches) {
    harness h;
    h.enable();
    using st = paging_structure_cache::stage;
    auto& psc = h.tr.psc();
    psc.fill(st::second, 1, 0, 2, 0x100000, {0x5000, 0});
    psc.fill(st::first, 1, 5, 2, 0x100000, {0x6000, 0});
    // IH=1: leaf-only change, the paging-structure caches survive.
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::page, 1, 0x100000, 0, true),
              hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 5, 0x100000, 0, true)});
    run_ns(2000);
    EXPECT_EQ(psc.size(st::second), 1u);
    EXPECT_EQ(psc.size(st::first), 1u);
    // IH=0 drops them.
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::page, 1, 0x100000, 0, false)});
    run_ns(1000);
    EXPECT_EQ(psc.size(st::second), 0u);
    EXPECT_EQ(psc.size(st::first), 1u);
    h.submit({hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 5, 0x100000, 0, false)});
    run_ns(1000);
    EXPECT_EQ(psc.size(st::first), 0u);
}

TEST(InvalidationQueue, ContextCacheScopes) {
    harness h;
    h.enable();
    auto& cc = h.tr.ctx_cache();
    for (uint16_t sid : {0x10, 0x14, 0x11, 0x20}) {
        cc.fill(sid, context_info{});
    }
    // Device-selective, FM=0: that SID only.
    h.submit({hw::make_cc_inv(hw::cc_desc::device, 0, 0x10, 0)});
    run_ns(1000);
    EXPECT_EQ(cc.lookup(0x10), nullptr);
    EXPECT_NE(cc.lookup(0x14), nullptr);
    // FM=1 ignores function bit 2: 0x11 and 0x15 (0x15 absent).
    h.submit({hw::make_cc_inv(hw::cc_desc::device, 0, 0x15, 1)});
    run_ns(1000);
    EXPECT_EQ(cc.lookup(0x11), nullptr);
    EXPECT_NE(cc.lookup(0x14), nullptr);
    EXPECT_NE(cc.lookup(0x20), nullptr);
    // Domain-selective acts as global in scalable mode.
    h.submit({hw::make_cc_inv(hw::cc_desc::domain, 42)});
    run_ns(1000);
    EXPECT_EQ(cc.size(), 0u);
    cc.fill(0x30, context_info{});
    h.submit({hw::make_cc_inv(hw::cc_desc::global)});
    run_ns(1000);
    EXPECT_EQ(cc.size(), 0u);
    EXPECT_EQ(h.qi.stats().per_type[static_cast<unsigned>(hw::inv_type::context_cache)], 4u);
}

TEST(InvalidationQueue, PasidCacheScopes) {
    harness h;
    h.enable();
    auto& pc = h.tr.pasid_entry_cache();
    auto fill = [&](uint16_t sid, uint32_t pasid, uint16_t did) {
        pasid_info p;
        p.pasid = pasid;
        p.did = did;
        pc.fill(sid, p);
    };
    fill(0x10, 1, 7);
    fill(0x10, 2, 7);
    fill(0x11, 1, 8);
    fill(0x12, 3, 9);
    h.submit({hw::make_pc_inv(hw::pc_desc::pasid_sel, 7, 2)});
    run_ns(1000);
    EXPECT_EQ(pc.lookup(0x10, 2), nullptr);
    EXPECT_NE(pc.lookup(0x10, 1), nullptr);
    h.submit({hw::make_pc_inv(hw::pc_desc::domain, 8)});
    run_ns(1000);
    EXPECT_EQ(pc.lookup(0x11, 1), nullptr);
    EXPECT_NE(pc.lookup(0x10, 1), nullptr);
    EXPECT_NE(pc.lookup(0x12, 3), nullptr);
    h.submit({hw::make_pc_inv(hw::pc_desc::global)});
    run_ns(1000);
    EXPECT_EQ(pc.size(), 0u);
}

TEST(InvalidationQueue, InterruptEntryCacheIsCountedOnly) {
    harness h;
    h.enable();
    h.fill_tlb(1, 0, ss, 0x100);
    h.submit({hw::make_iec_inv(false), hw::make_iec_inv(true, 5, 2)});
    run_ns(1000);
    EXPECT_EQ(h.head_index(), 2u);
    EXPECT_EQ(h.tlb_size(), 1u);
    EXPECT_EQ(h.qi.stats().per_type[static_cast<unsigned>(hw::inv_type::iec)], 2u);
    EXPECT_EQ(h.qi.stats().entries_dropped, 0u);
}

// ---- Ring mechanics ------------------------------------------------------------------------------

TEST(InvalidationQueue, WrapAroundProcessesInOrder) {
    harness h;
    h.enable(true, 0);  // 128 256-bit entries
    // Move the head to 126 with fence-only waits, then wrap with status writes.
    std::vector<inv_desc> filler(126, hw::make_wait(false, 0, 0));
    h.submit(filler);
    run_ns(126 * 200.0);
    ASSERT_EQ(h.head_index(), 126u);
    std::vector<inv_desc> batch;
    for (uint32_t i = 0; i < 5; ++i) {
        batch.push_back(hw::make_wait(true, status_base + 4 * i, 100 + i));
    }
    h.submit(batch);
    run_ns(5000);
    EXPECT_EQ(h.head_index(), 3u);
    EXPECT_EQ(hw::iqh::qh::get(h.qi.read_iqh()) & 1, 0u);  // bit 4 of IQH stays 0 with DW=1
    for (uint32_t i = 0; i < 5; ++i) {
        EXPECT_EQ(h.status(status_base + 4 * i), 100 + i);
    }
    EXPECT_FALSE(h.iqe());
    EXPECT_EQ(h.qi.iqh_signal.read(), 3u);
    EXPECT_EQ(h.qi.iqt_signal.read(), 3u);
    EXPECT_EQ(h.qi.desc_type_signal.read(), 0u);
}

TEST(InvalidationQueue, NarrowQueueProcessesLegacyTypesAndRejectsScalableOnes) {
    harness h;
    h.enable(false, 0);  // 256 128-bit entries
    h.fill_tlb(1, 0, ss, 0x100);
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::domain, 1), hw::make_wait(true, status_base, 9)});
    run_ns(1000);
    EXPECT_FALSE(h.in_tlb(1, 0, ss, 0x100));
    EXPECT_EQ(h.status(status_base), 9u);
    EXPECT_EQ(hw::iqh::qh::get(h.qi.read_iqh()), 2u);  // 16-byte units
    h.submit({hw::make_pc_inv(hw::pc_desc::global)});
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::invalid_type);
    EXPECT_EQ(h.head_index(), 2u);
}

TEST(InvalidationQueue, TimingFollowsConfiguredLatencies) {
    harness h;
    h.enable();
    h.submit({hw::make_wait(true, status_base, 1)});
    const uint64_t fetch = h.cfg.qi_fetch_ns + h.cfg.memory_latency_ns;
    const uint64_t done = fetch + h.cfg.qi_desc_process_ns + h.cfg.memory_latency_ns;
    run_ns(static_cast<double>(done) - 1);
    EXPECT_EQ(h.status(status_base), 0u);
    run_ns(2);
    EXPECT_EQ(h.status(status_base), 1u);
    EXPECT_EQ(h.qi.stats().iqt_to_wait_ns.samples, 1u);
    EXPECT_EQ(h.qi.stats().iqt_to_wait_ns.max_ns, done);
}

// Every change of the wave state at its own time, hand-computed from the default latencies: a
// descriptor takes fetch 20 + memory 60 + processing 20 = 100 ns and takes effect at its end, the
// wait's status write 60 ns more; three page-selective descriptors and a wait with IF=1 published
// together at 0.
TEST(InvalidationQueue, WaveObserverSeesEveryDescriptorAtItsTime) {
    struct recorder : queue_wave_observer {
        std::map<uint64_t, queue_wave_state> last;  // per ns, the last state
        void queue_state_changed(sc_time at, const queue_wave_state& s) override {
            last[static_cast<uint64_t>(at.to_seconds() * 1e9 + 0.5)] = s;
        }
    } rec;
    tlm::tlm_global_quantum::instance().set(sc_time(1000, SC_NS));  // the engine may run ahead
    harness h;
    h.qi.set_wave_observer(&rec);
    h.enable();
    h.submit({hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 0, 0x1000),
              hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 0, 0x2000),
              hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 0, 0x3000), hw::make_wait(true, status_base, 9, true)});
    run_ns(2000);
    const std::map<uint64_t, queue_wave_state> want = {
        {0, {0, 4, 6, 0}},                         // descriptor 0 (type 6) in flight
        {100, {1, 4, 6, 0}},                       // descriptor 1
        {200, {2, 4, 6, 0}}, {300, {3, 4, 5, 0}},  // the wait (type 5)
        {460, {4, 4, 0, 1}},                       // completed: idle
    };
    EXPECT_EQ(rec.last.size(), want.size());
    for (const auto& [t, s] : want) {
        ASSERT_TRUE(rec.last.count(t)) << "no change at " << t << " ns";
        const queue_wave_state& got = rec.last[t];
        EXPECT_EQ(got.iqh, s.iqh) << t;
        EXPECT_EQ(got.iqt, s.iqt) << t;
        EXPECT_EQ(got.desc_type, s.desc_type) << t;
        EXPECT_EQ(got.waits, s.waits) << t;
    }
    // The signals hold the final state.
    EXPECT_EQ(h.qi.iqh_signal.read(), 4u);
    EXPECT_EQ(h.qi.desc_type_signal.read(), 0u);
    EXPECT_EQ(h.qi.waits_signal.read(), 1u);
    EXPECT_EQ(hw::ics::iwc::get(h.qi.read_ics()), 1u);  // IF=1 (IECTL.IM masks the message itself)
    h.qi.set_wave_observer(nullptr);
}

// A process that looks at the caches while descriptors are in flight sees each descriptor's
// effect from its end on (100, 200, 300 ns), not earlier: the engine does not run ahead of it.
TEST(InvalidationQueue, AnotherProcessSeesEachDescriptorTakeEffectAtItsEnd) {
    tlm::tlm_global_quantum::instance().set(sc_time(1000, SC_NS));  // the engine may run ahead
    harness h;
    h.enable();
    for (uint64_t vpn = 1; vpn <= 3; ++vpn) {
        h.fill_tlb(1, 0, fs, vpn);
    }
    std::vector<std::vector<bool>> seen;  // at 50, 150, 250, 350 ns: pages 1..3 still cached
    sc_core::sc_spawn([&] {
        sc_core::wait(sc_time(50, SC_NS));
        for (int i = 0; i < 4; ++i) {
            seen.push_back({h.in_tlb(1, 0, fs, 1), h.in_tlb(1, 0, fs, 2), h.in_tlb(1, 0, fs, 3)});
            sc_core::wait(sc_time(100, SC_NS));
        }
    });
    h.submit({hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 0, 0x1000),
              hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 0, 0x2000),
              hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 0, 0x3000), hw::make_wait(true, status_base, 9)});
    run_ns(2000);
    const std::vector<std::vector<bool>> want = {
        {true, true, true}, {false, true, true}, {false, false, true}, {false, false, false}};
    EXPECT_EQ(seen, want);
    EXPECT_EQ(h.status(status_base), 9u);
}

// ---- Errors (IQEI 1-7) -----------------------------------------------------------------------------

TEST(InvalidationQueue, Iqei1TailBeyondQueueThenResume) {
    harness h;
    h.enable(true, 0);
    h.qi.write_iqt(h.iqt_value(128));
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::invalid_tail);
    EXPECT_EQ(h.head_index(), 0u);
    EXPECT_EQ(h.fault_events, 1u);
    h.submit({hw::make_wait(true, status_base, 5)});  // tail back in range (index 1)
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 0u);  // nothing is fetched while IQE is set
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 5u);
    EXPECT_EQ(h.qi.stats().iqe_by_iqei[iqei::invalid_tail], 1u);
}

TEST(InvalidationQueue, Iqei2QueueOutsideMemoryThenResume) {
    harness h;
    h.mem.inject_error_range(ring_base, 4096);
    h.enable();
    h.submit({});  // nothing written: the ring is unreachable
    h.qi.write_iqt(h.iqt_value(1));
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::fetch_error);
    EXPECT_EQ(h.head_index(), 0u);
    h.mem.clear_error_ranges();
    h.put(0, hw::make_wait(true, status_base, 3));
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(1000);
    EXPECT_FALSE(h.iqe());
    EXPECT_EQ(h.status(status_base), 3u);
    EXPECT_EQ(h.head_index(), 1u);
}

TEST(InvalidationQueue, Iqei3GarbageTypeHeadStaysAndSoftwareRecovers) {
    harness h;
    h.enable();
    h.fill_tlb(1, 0, ss, 0x100);
    inv_desc garbage{};
    hw::desc::type_lo::set(garbage, 0xf);
    h.submit({hw::make_wait(true, status_base, 1), garbage, hw::make_iotlb_inv(hw::iotlb_desc::global)});
    run_ns(2000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::invalid_type);
    EXPECT_EQ(h.head_index(), 1u);
    EXPECT_EQ(h.status(status_base), 1u);
    EXPECT_TRUE(h.in_tlb(1, 0, ss, 0x100));  // nothing after the bad descriptor ran
    // Linux's recovery: overwrite the bad slot with a wait, clear IQE.
    h.put(1, hw::make_wait(true, status_base + 4, 2));
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(2000);
    EXPECT_FALSE(h.iqe());
    EXPECT_EQ(h.status(status_base + 4), 2u);
    EXPECT_FALSE(h.in_tlb(1, 0, ss, 0x100));
    EXPECT_EQ(h.head_index(), 3u);
}

TEST(InvalidationQueue, Iqei4ReservedBitHeadStays) {
    harness h;
    h.enable();
    inv_desc bad = hw::make_iotlb_inv(hw::iotlb_desc::global);
    bad[2] = 1;  // word 2 is reserved in a 256-bit queue
    h.submit({hw::make_iec_inv(false), bad});
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::reserved_field);
    EXPECT_EQ(h.head_index(), 1u);
    EXPECT_EQ(h.qi.stats().iqe_by_iqei[iqei::reserved_field], 1u);
    // Clearing IQE without fixing the slot reports it again.
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.head_index(), 1u);
    EXPECT_EQ(h.qi.stats().iqe_by_iqei[iqei::reserved_field], 2u);
}

TEST(InvalidationQueue, Iqei5WideQueueWithoutScalableMode) {
    iommu_config cfg = test_config();
    cfg.smts = false;  // not a valid platform configuration; the engine still answers architecturally
    harness h(test_config(), cfg);
    h.ttm = 0;  // without SMTS only legacy mode exists (TTM=01 would be reserved: IQEI 7)
    h.enable(true, 0);
    h.submit({hw::make_wait(true, status_base, 1)});
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::invalid_width);
    EXPECT_EQ(h.status(status_base), 0u);
    EXPECT_EQ(h.head_index(), 0u);
    // Recovery: disable (allowed while stopped on the error), reprogram 128-bit, enable, clear IQE.
    EXPECT_FALSE(h.qi.set_enabled(false));
    h.enable(false, 0);
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    h.submit({hw::make_wait(true, status_base, 2)});
    run_ns(1000);
    EXPECT_FALSE(h.iqe());
    EXPECT_EQ(h.status(status_base), 2u);
}

TEST(InvalidationQueue, Iqei6MisalignedTailInWideQueue) {
    harness h;
    h.enable(true, 0);
    h.put(0, hw::make_wait(true, status_base, 1));
    h.qi.write_iqt(hw::iqt::qt::make(1));  // 16-byte offset: bit 4 set
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::misaligned_tail);
    EXPECT_EQ(h.status(status_base), 0u);
    h.qi.write_iqt(h.iqt_value(1));
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 1u);
}

// IQEI 7 is for a reserved TTM (10b): the queue stops with IQH on the descriptor and resumes once
// a valid mode is active and IQE is cleared.
TEST(InvalidationQueue, Iqei7ReservedTtmThenResume) {
    harness h;
    h.ttm = 2;
    h.enable();
    h.submit({hw::make_wait(true, status_base, 4)});
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::invalid_ttm);
    EXPECT_EQ(h.head_index(), 0u);
    EXPECT_EQ(h.status(status_base), 0u);
    h.ttm = 1;
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 4u);
    EXPECT_EQ(h.qi.stats().iqe_by_iqei[iqei::invalid_ttm], 1u);
}

// Scalable mode without ECAP.SMTS and abort-DMA mode without ECAP.ADMS are reserved TTMs too.
TEST(InvalidationQueue, Iqei7TtmTheUnitDoesNotSupport) {
    iommu_config qi_cfg = test_config();
    qi_cfg.smts = false;
    harness h(test_config(), qi_cfg);
    h.ttm = 1;
    h.enable(false);
    h.submit({hw::make_wait(true, status_base, 4)});
    run_ns(1000);
    EXPECT_EQ(h.iqei(), iqei::invalid_ttm) << "TTM=01 without SMTS";
    h.ttm = 3;
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(1000);
    EXPECT_EQ(h.iqei(), iqei::invalid_ttm) << "TTM=11 without ADMS";
    EXPECT_EQ(h.qi.stats().iqe_by_iqei[iqei::invalid_ttm], 2u);
    EXPECT_EQ(h.status(status_base), 0u);
}

// Legacy mode (TTM=00: before the first SRTP, or a legacy root table) runs the queue with the
// descriptor types legacy mode has (context-cache, IOTLB, device-TLB, interrupt-entry-cache, wait);
// the PASID-based types 6-8 do not exist there: IQE with IQEI 3, IQH on that descriptor.
void expect_legacy_types_one_to_five_processed(harness& h, bool wide) {
    h.ttm = 0;
    h.enable(wide);
    h.fill_tlb(3, 0, ss, 0x40);
    h.fill_tlb(4, 0, ss, 0x40);
    h.submit({hw::make_cc_inv(hw::cc_desc::global), hw::make_iotlb_inv(hw::iotlb_desc::domain, 3),
              hw::make_dev_tlb_inv(0x0108, 0x5000, false), hw::make_iec_inv(false),
              hw::make_wait(true, status_base, 7)});
    run_ns(2000);
    EXPECT_FALSE(h.iqe());
    EXPECT_EQ(h.head_index(), 5u);
    EXPECT_EQ(h.status(status_base), 7u);
    EXPECT_FALSE(h.in_tlb(3, 0, ss, 0x40)) << "the IOTLB invalidation was applied";
    EXPECT_TRUE(h.in_tlb(4, 0, ss, 0x40));
    for (unsigned t = 1; t <= 5; ++t) {
        EXPECT_EQ(h.qi.stats().per_type[t], 1u) << "type " << t;
    }
}

TEST(InvalidationQueue, LegacyModeProcessesTypesOneToFive) {
    harness h;
    expect_legacy_types_one_to_five_processed(h, false);
}

TEST(InvalidationQueue, LegacyModePasidTypesAreIqei3) {
    harness h;
    expect_legacy_types_one_to_five_processed(h, true);  // a 256-bit queue (ECAP.SMTS) in legacy mode
    for (const inv_desc& d :
         {hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, 4, 0), hw::make_pc_inv(hw::pc_desc::global),
          hw::make_p_dev_tlb_inv(0x0108, 1, true, 0, false)}) {
        const uint32_t at = h.head_index();
        h.submit({d, hw::make_wait(true, status_base, 8)});
        run_ns(1000);
        EXPECT_TRUE(h.iqe()) << "type " << hw::desc::type_of(d);
        EXPECT_EQ(h.iqei(), iqei::invalid_type);
        EXPECT_EQ(h.head_index(), at) << "IQH stays on the descriptor";
        EXPECT_TRUE(h.in_tlb(4, 0, ss, 0x40));
        EXPECT_EQ(h.status(status_base), 7u) << "the wait behind it does not run";
        // Software replaces the bad slot with a wait (as Linux does) and clears IQE.
        h.put(at, hw::make_wait(false, 0, 0));
        h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
        run_ns(1000);
        EXPECT_FALSE(h.iqe());
        EXPECT_EQ(h.status(status_base), 8u);
        const uint32_t reset = 7;  // the next descriptor's expectations start from the first wait's value
        ASSERT_TRUE(h.mem.write(status_base, &reset, sizeof reset));
    }
    EXPECT_EQ(h.qi.stats().iqe_by_iqei[iqei::invalid_type], 3u);
}

TEST(InvalidationQueue, StatusWriteToFaultingAddressIsIqe2OnTheWait) {
    harness h;
    h.enable();
    h.qi.write_iectl(0);
    const uint64_t bad = uint64_t{1} << 51;
    h.mem.inject_error_range(bad, 4096);
    h.submit({hw::make_wait(true, bad, 1, true), hw::make_wait(true, status_base, 2)});
    run_ns(2000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(h.iqei(), iqei::fetch_error);
    EXPECT_EQ(h.head_index(), 0u);
    EXPECT_TRUE(h.msis.empty());  // no interrupt for a wait that did not complete
    EXPECT_EQ(hw::ics::iwc::get(h.qi.read_ics()), 0u);
    h.put(0, hw::make_wait(true, status_base + 8, 3));
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    run_ns(2000);
    EXPECT_EQ(h.status(status_base + 8), 3u);
    EXPECT_EQ(h.status(status_base), 2u);
}

TEST(InvalidationQueue, GarbageRingNeverStallsOnceSoftwareRecovers) {
    harness h;
    h.enable(true, 0);
    std::mt19937_64 rng(20261124);
    std::vector<inv_desc> ring;
    for (unsigned i = 0; i < 100; ++i) {
        inv_desc d{rng(), rng(), (i % 4 == 0) ? rng() : 0, 0};
        if (i % 2 == 0) {
            // Half keep a valid type with random fields; reserved-bit luck decides the rest.
            d[0] &= ~hw::desc::type_hi::mask;
            hw::desc::type_lo::set(d, 1 + rng() % 8);
        }
        if (hw::desc::type_of(d) == static_cast<unsigned>(hw::inv_type::wait)) {
            hw::wait_desc::sw::set(d, 0);  // keep random status writes out of the ring memory
        }
        ring.push_back(d);
    }
    h.submit(ring);
    unsigned errors = 0;
    for (unsigned round = 0; round < 200 && h.head_index() != h.tail; ++round) {
        run_ns(50000);
        if (hw::fsts::ite::get(h.fsts) != 0) {
            h.clear_fsts(static_cast<uint32_t>(hw::fsts::ite::mask));
        }
        if (!h.iqe()) {
            continue;
        }
        ++errors;
        // The head is on a descriptor the decoder rejects, with the code the engine reported.
        const uint32_t at = h.head_index();
        decode_caps caps;  // the capabilities of test_config()
        caps.ir = h.cfg.ir;
        const decode_result r = descriptor_decoder::decode(ring[at], true, caps);
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.iqei, h.iqei());
        h.put(at, hw::make_iec_inv(false));
        h.clear_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
    }
    run_ns(50000);
    EXPECT_EQ(h.head_index(), h.tail);
    EXPECT_FALSE(h.iqe());
    EXPECT_GT(errors, 0u);
    EXPECT_EQ(h.qi.stats().descriptors, 100u);
    // Other traffic continues.
    h.submit({hw::make_wait(true, status_base, 77)});
    run_ns(2000);
    EXPECT_EQ(h.status(status_base), 77u);
}

// ---- Wait descriptor -----------------------------------------------------------------------------

TEST(InvalidationQueue, WaitInterruptFollowsIectlRules) {
    harness h;
    h.enable();
    h.qi.write_iedata(0x4041);
    h.qi.write_ieaddr(0xfee00000);
    h.qi.write_ieuaddr(0x1);
    // IM=1 after reset: IWC and IP set, no message.
    h.submit({hw::make_wait(false, 0, 0, true)});
    run_ns(1000);
    EXPECT_EQ(hw::ics::iwc::get(h.qi.read_ics()), 1u);
    EXPECT_EQ(hw::iectl::ip::get(h.qi.read_iectl()), 1u);
    EXPECT_TRUE(h.msis.empty());
    // Unmasking sends the pending message.
    h.qi.write_iectl(0);
    ASSERT_EQ(h.msis.size(), 1u);
    EXPECT_EQ(h.msis[0].first, 0x1fee00000u);
    EXPECT_EQ(h.msis[0].second, 0x4041u);
    EXPECT_EQ(hw::iectl::ip::get(h.qi.read_iectl()), 0u);
    // IWC still set: a second completion is not signalled.
    h.submit({hw::make_wait(false, 0, 0, true)});
    run_ns(1000);
    EXPECT_EQ(h.msis.size(), 1u);
    // After software clears IWC the next one is.
    h.qi.write_ics(static_cast<uint32_t>(hw::ics::iwc::mask));
    EXPECT_EQ(hw::ics::iwc::get(h.qi.read_ics()), 0u);
    h.submit({hw::make_wait(true, status_base, 7, true)});
    run_ns(1000);
    EXPECT_EQ(h.msis.size(), 2u);
    EXPECT_EQ(h.status(status_base), 7u);  // SW and IF together
    EXPECT_EQ(h.qi.stats().completion_interrupts, 2u);
    EXPECT_EQ(h.qi.stats().waits_completed, 3u);
    EXPECT_EQ(h.qi.waits_signal.read(), 3u);
}

TEST(InvalidationQueue, ClearingIwcWithdrawsPendingInterrupt) {
    harness h;
    h.enable();
    h.submit({hw::make_wait(false, 0, 0, true)});
    run_ns(1000);
    EXPECT_EQ(hw::iectl::ip::get(h.qi.read_iectl()), 1u);
    h.qi.write_ics(static_cast<uint32_t>(hw::ics::iwc::mask));
    EXPECT_EQ(hw::iectl::ip::get(h.qi.read_iectl()), 0u);
    h.qi.write_iectl(0);
    EXPECT_TRUE(h.msis.empty());
}

// ---- Device TLBs -----------------------------------------------------------------------------------

TEST(InvalidationQueue, DeviceTlbInvalidationsReachTheDeviceAndWaitCompletesAfterThem) {
    harness h;
    ats_device_tlb dev("dev", 0x0100, 500);
    h.qi.register_device_tlb(0x0100, dev);
    dev.cache({false, 0, 0x10000, 0x1000});
    dev.cache({false, 0, 0x20000, 0x1000});
    dev.cache({true, 5, 0x10000, 0x1000});
    dev.cache({true, 6, 0x10000, 0x1000});
    dev.cache({true, 7, 0x90000, 0x1000});
    h.enable();
    h.submit({hw::make_dev_tlb_inv(0x0100, 0x10000, false), hw::make_p_dev_tlb_inv(0x0100, 5, false, 0x10000, false),
              hw::make_wait(true, status_base, 1)});
    // Devtlb sent at 100 ns and 200 ns, answers at 600 / 700 ns; the wait completes after both.
    run_ns(650);
    EXPECT_EQ(h.status(status_base), 0u);
    EXPECT_FALSE(dev.holds(false, 0, 0x10000));
    EXPECT_TRUE(dev.holds(false, 0, 0x20000));
    EXPECT_FALSE(dev.holds(true, 5, 0x10000));
    EXPECT_TRUE(dev.holds(true, 6, 0x10000));
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 1u);
    ASSERT_EQ(dev.requests().size(), 2u);
    EXPECT_FALSE(dev.requests()[0].with_pasid);
    EXPECT_TRUE(dev.requests()[1].with_pasid);
    EXPECT_EQ(dev.requests()[1].pasid, 5u);
    EXPECT_NE(dev.requests()[0].itag, dev.requests()[1].itag);
    EXPECT_GE(h.qi.stats().iqt_to_wait_ns.max_ns, 700u);
    // All PASIDs, whole range (Linux encoding).
    h.submit({hw::make_p_dev_tlb_inv(0x0100, 0, true, hw::low_mask(63) & ~hw::low_mask(12), true),
              hw::make_wait(true, status_base, 2)});
    run_ns(2000);
    EXPECT_EQ(h.status(status_base), 2u);
    EXPECT_EQ(dev.entries(), 1u);  // the non-PASID entry at 0x20000
    EXPECT_EQ(h.qi.stats().devtlb_sent, 3u);
    EXPECT_EQ(h.qi.stats().devtlb_completed, 3u);
    EXPECT_EQ(h.qi.stats().ice, 0u);
}

TEST(InvalidationQueue, OutOfItagsHoldsTheNextDeviceTlbInvalidation) {
    harness h;
    ats_device_tlb dev("dev", 0x0100, 10000);
    h.qi.register_device_tlb(0x0100, dev);
    h.enable();
    std::vector<inv_desc> batch;
    for (uint64_t i = 0; i < 33; ++i) {
        batch.push_back(hw::make_dev_tlb_inv(0x0100, i << 12, false));
    }
    batch.push_back(hw::make_wait(true, status_base, 1));
    h.submit(batch);
    run_ns(8000);
    EXPECT_EQ(dev.requests().size(), 32u);  // every ITag in use
    EXPECT_EQ(h.head_index(), 32u);
    std::vector<bool> used(32, false);
    for (const devtlb_request& r : dev.requests()) {
        ASSERT_LT(r.itag, 32u);
        EXPECT_FALSE(used[r.itag]) << "ITag " << unsigned{r.itag} << " reused while outstanding";
        used[r.itag] = true;
    }
    run_ns(30000);
    EXPECT_EQ(dev.requests().size(), 33u);
    EXPECT_EQ(h.status(status_base), 1u);
    EXPECT_EQ(h.qi.stats().devtlb_completed, 33u);
    EXPECT_EQ(h.qi.stats().ice + h.qi.stats().ite, 0u);
}

TEST(InvalidationQueue, DeviceTlbForUnknownRequesterCompletesAtOnce) {
    harness h;
    h.enable();
    h.submit({hw::make_dev_tlb_inv(0x0300, 0, false), hw::make_wait(true, status_base, 1)});
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 1u);
    EXPECT_EQ(h.qi.stats().devtlb_no_device, 1u);
}

TEST(InvalidationQueue, FenceHoldsLaterDescriptorsUntilDeviceCompletes) {
    harness h;
    ats_device_tlb dev("dev", 0x0100, 1000);
    h.qi.register_device_tlb(0x0100, dev);
    h.enable();
    h.fill_tlb(1, 0, ss, 0x100);
    h.submit({hw::make_dev_tlb_inv(0x0100, 0, false), hw::make_wait(true, status_base, 1, false, true),
              hw::make_iotlb_inv(hw::iotlb_desc::domain, 1)});
    run_ns(900);
    EXPECT_EQ(h.status(status_base), 0u);
    EXPECT_TRUE(h.in_tlb(1, 0, ss, 0x100));  // held behind the fence
    EXPECT_EQ(h.head_index(), 1u);           // IQH on the wait
    EXPECT_TRUE(h.qi.busy());
    run_ns(2000);
    EXPECT_EQ(h.status(status_base), 1u);
    EXPECT_FALSE(h.in_tlb(1, 0, ss, 0x100));
    EXPECT_EQ(h.qi.stats().fences, 1u);
}

TEST(InvalidationQueue, DeviceTimeoutGivesIteAbortsWaitAndStopsFetching) {
    iommu_config cfg = test_config();
    cfg.devtlb_timeout_ns = 5000;
    harness h(cfg);
    ats_device_tlb dev("dev", 0x0105, 500);
    dev.set_fault(ats_device_tlb::fault_mode::never_answer);
    h.qi.register_device_tlb(0x0105, dev);
    h.enable();
    h.qi.write_iectl(0);
    h.fill_tlb(1, 0, ss, 0x100);
    h.submit({hw::make_dev_tlb_inv(0x0105, 0, false), hw::make_wait(true, status_base, 1, true)});
    run_ns(4000);
    EXPECT_EQ(hw::fsts::ite::get(h.fsts), 0u);
    run_ns(2000);
    EXPECT_EQ(hw::fsts::ite::get(h.fsts), 1u);
    EXPECT_EQ(hw::iqercd::itesid::get(h.qi.read_iqercd()), 0x0105u);
    EXPECT_EQ(h.status(status_base), 0u);  // the wait was aborted
    EXPECT_TRUE(h.msis.empty());
    EXPECT_EQ(h.head_index(), 2u);  // past the aborted wait
    EXPECT_EQ(h.qi.stats().waits_aborted, 1u);
    EXPECT_EQ(h.qi.stats().ite, 1u);
    // Nothing is fetched until ITE is cleared.
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::global), hw::make_wait(true, status_base + 4, 2)});
    run_ns(2000);
    EXPECT_TRUE(h.in_tlb(1, 0, ss, 0x100));
    h.clear_fsts(static_cast<uint32_t>(hw::fsts::ite::mask));
    run_ns(2000);
    EXPECT_FALSE(h.in_tlb(1, 0, ss, 0x100));
    EXPECT_EQ(h.status(status_base + 4), 2u);
    EXPECT_EQ(h.msis.size(), 0u);  // that wait had no IF
}

TEST(InvalidationQueue, UnexpectedCompletionGivesIce) {
    harness h;
    ats_device_tlb dev("dev", 0x0107, 300);
    dev.set_fault(ats_device_tlb::fault_mode::duplicate);
    h.qi.register_device_tlb(0x0107, dev);
    h.enable();
    h.submit({hw::make_dev_tlb_inv(0x0107, 0, false), hw::make_wait(true, status_base, 1)});
    run_ns(3000);
    EXPECT_EQ(h.status(status_base), 1u);  // the first answer completed it
    EXPECT_EQ(hw::fsts::ice::get(h.fsts), 1u);
    EXPECT_EQ(hw::iqercd::icesid::get(h.qi.read_iqercd()), 0x0107u);
    EXPECT_EQ(h.qi.stats().ice, 1u);
    EXPECT_FALSE(h.iqe());
}

TEST(InvalidationQueue, CompletionFromWrongRequesterGivesIceThenIte) {
    iommu_config cfg = test_config();
    cfg.devtlb_timeout_ns = 3000;
    harness h(cfg);
    ats_device_tlb dev("dev", 0x0108, 300);
    dev.set_fault(ats_device_tlb::fault_mode::wrong_sid);
    h.qi.register_device_tlb(0x0108, dev);
    h.enable();
    h.submit({hw::make_dev_tlb_inv(0x0108, 0, false), hw::make_wait(true, status_base, 1)});
    run_ns(10000);
    EXPECT_EQ(hw::fsts::ice::get(h.fsts), 1u);
    EXPECT_EQ(hw::iqercd::icesid::get(h.qi.read_iqercd()), 0x0109u);
    EXPECT_EQ(hw::fsts::ite::get(h.fsts), 1u);
    EXPECT_EQ(hw::iqercd::itesid::get(h.qi.read_iqercd()), 0x0108u);
    EXPECT_EQ(h.status(status_base), 0u);
}

// ---- Enable / disable ------------------------------------------------------------------------------

TEST(InvalidationQueue, DisableOnlyWhenIdleAndResetsHead) {
    harness h;
    h.enable();
    h.submit({hw::make_iec_inv(false), hw::make_iec_inv(false), hw::make_iec_inv(false)});
    run_ns(150);  // one descriptor done, two pending
    EXPECT_TRUE(h.qi.busy());
    EXPECT_TRUE(h.qi.set_enabled(false));  // refused
    EXPECT_EQ(h.qi.stats().disable_refused, 1u);
    run_ns(1000);
    EXPECT_EQ(h.head_index(), 3u);
    EXPECT_FALSE(h.qi.busy());
    EXPECT_FALSE(h.qi.set_enabled(false));
    EXPECT_EQ(h.qi.read_iqh(), 0u);
    // A disabled queue fetches nothing.
    h.put(3, hw::make_wait(true, status_base, 1));
    h.qi.write_iqt(h.iqt_value(4));
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 0u);
    // Re-enabling latches the (new) IQA: start again at 0.
    h.enable();
    h.submit({hw::make_wait(true, status_base, 2)});
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 2u);
}

TEST(InvalidationQueue, StatisticsAsJson) {
    harness h;
    h.enable();
    h.submit({hw::make_iotlb_inv(hw::iotlb_desc::global), hw::make_wait(true, status_base, 1)});
    run_ns(1000);
    const std::string j = h.qi.stats().to_json();
    EXPECT_NE(j.find("\"descriptors\": 2"), std::string::npos) << j;
    EXPECT_NE(j.find("\"iotlb_all\": 1"), std::string::npos) << j;
    EXPECT_NE(j.find("\"waits_completed\": 1"), std::string::npos) << j;
    EXPECT_NE(j.find("\"samples\": 1"), std::string::npos) << j;
}

// The register block reads the queue's registers from the engine: MMIO sees IQH move as the engine
// consumes descriptors, IQERCD and ICS as the engine sets them, and writes reach the engine.
TEST(InvalidationQueue, AttachedRegistersShowTheEngineState) {
    harness h;
    register_file regs{hw::reg_table};
    h.qi.attach_registers(regs);
    auto mmio = [&](uint32_t off, unsigned size) {
        uint64_t v = 0;
        EXPECT_TRUE(regs.read(off, size, v));
        return v;
    };
    h.dw = true;
    const uint64_t iqa = hw::iqa::iqa::make(ring_base >> 12) | hw::iqa::dw::make(1);
    EXPECT_TRUE(regs.write(hw::reg::IQA_OFFSET, 8, iqa));
    EXPECT_EQ(h.qi.read_iqa(), iqa);
    EXPECT_EQ(mmio(hw::reg::IQA_OFFSET, 8), iqa);
    ASSERT_TRUE(h.qi.set_enabled(true));
    h.put(0, hw::make_iotlb_inv(hw::iotlb_desc::global));
    h.put(1, hw::make_wait(true, status_base, 1, /*iflag=*/true));
    EXPECT_TRUE(regs.write(hw::reg::IQT_OFFSET, 8, 2 << 5));  // two 256-bit descriptors: QT in 128-bit units
    EXPECT_EQ(mmio(hw::reg::IQT_OFFSET, 8), uint64_t{2 << 5});
    EXPECT_EQ(mmio(hw::reg::IQH_OFFSET, 8), 0u);
    run_ns(1000);
    EXPECT_EQ(h.status(status_base), 1u);
    EXPECT_EQ(mmio(hw::reg::IQH_OFFSET, 8), uint64_t{2 << 5});
    EXPECT_EQ(hw::ics::iwc::get(mmio(hw::reg::ICS_OFFSET, 4)), 1u);
    // ICS is W1C through the register block.
    EXPECT_TRUE(regs.write(hw::reg::ICS_OFFSET, 4, hw::ics::iwc::mask));
    EXPECT_EQ(h.qi.read_ics(), 0u);
    EXPECT_EQ(mmio(hw::reg::ICS_OFFSET, 4), 0u);
    // A bad tail: IQE with IQEI 1 appears in IQERCD without anything copying it there.
    EXPECT_TRUE(regs.write(hw::reg::IQT_OFFSET, 8, uint64_t{200} << 5));
    run_ns(1000);
    EXPECT_TRUE(h.iqe());
    EXPECT_EQ(hw::iqercd::iqei::get(mmio(hw::reg::IQERCD_OFFSET, 8)), 1u);
}

}  // namespace
}  // namespace iommusim
