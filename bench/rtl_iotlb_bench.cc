// The verilated RTL IOTLB in isolation and behind the TLM IOMMU.
//   BM_RtlIotlbLookupHit/<entries>        lookups that hit, through the rtl_iotlb adapter
//   BM_RtlIotlbInvalidateDomain/<entries> domain-selective invalidation (one set walked per cycle)
//   BM_TlmDmaIotlbHit{Cpp,Rtl,Lockstep}   64-byte DMA reads through the TLM IOMMU over a window of
//                                         4 KiB second-stage pages that stays in the IOTLB, with
//                                         the IOTLB built by make_iotlb (bench/tlm_dma_bench.cc
//                                         traffic, one system per implementation)
// 64 entries = 16 sets x 4 ways, 1024 entries = 64 sets x 16 ways (the verilated geometries).
#include <benchmark/benchmark.h>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "iommusim/hw/vtd_regs.h"
#include "rtl/iotlb_factory.h"
#include "tlm/iommu.h"
#include "tlm/memory.h"
// The bench links no test helpers: the table builder is compiled into this program.
#include "tlm/table_builder_util.cc"

namespace iommusim {
namespace {

iotlb_geometry geometry_for(int64_t entries) {
    return entries == 64 ? iotlb_geometry{16, 4} : iotlb_geometry{64, 16};
}

iotlb_entry entry(uint16_t did, uint64_t vpn) {
    iotlb_entry e;
    e.tag = iotlb_tag{did, 0, translation_kind::second_stage, page_level::size_4k, vpn};
    e.payload =
        iotlb_payload{0x80000 + vpn, iotlb_perm::fs_rw | iotlb_perm::fs_us | iotlb_perm::ss_r | iotlb_perm::ss_w};
    return e;
}

void BM_RtlIotlbLookupHit(benchmark::State& state) {
    const iotlb_geometry g = geometry_for(state.range(0));
    rtl_iotlb t(g);
    // Fill every entry: ways DIDs per set, consecutive pages so every set is used.
    std::vector<iotlb_entry> filled;
    for (unsigned w = 0; w < g.ways; ++w)
        for (unsigned s = 0; s < g.sets; ++s) {
            filled.push_back(entry(static_cast<uint16_t>(w + 1), 0x1000 + s));
            t.fill(filled.back());
        }
    size_t i = 0;
    uint64_t hits = 0, cycles = 0;
    for (auto _ : state) {
        const iotlb_entry& e = filled[i];
        i = i + 1 == filled.size() ? 0 : i + 1;
        hits += t.lookup(e.tag.did, e.tag.pasid, e.tag.kind, e.tag.vpn).has_value();
        cycles += t.last_op_cycles();
    }
    if (hits != static_cast<uint64_t>(state.iterations()))
        state.SkipWithError("a lookup missed");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["rtl_cycles_per_op"] =
        static_cast<double>(cycles) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

void BM_RtlIotlbInvalidateDomain(benchmark::State& state) {
    const iotlb_geometry g = geometry_for(state.range(0));
    rtl_iotlb t(g);
    for (unsigned w = 0; w < g.ways; ++w)
        for (unsigned s = 0; s < g.sets; ++s)
            t.fill(entry(static_cast<uint16_t>(w + 1), 0x1000 + s));
    // Every invalidation walks all sets; the first of each domain drops its entries.
    uint16_t did = 1;
    uint64_t cycles = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(t.invalidate_domain(did));
        cycles += t.last_op_cycles();
        did = static_cast<uint16_t>(did % (g.ways + 4) + 1);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["rtl_cycles_per_op"] =
        static_cast<double>(cycles) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

BENCHMARK(BM_RtlIotlbLookupHit)->Arg(64)->Arg(1024);
BENCHMARK(BM_RtlIotlbInvalidateDomain)->Arg(64)->Arg(1024);

// ---- DMA through the TLM IOMMU ----

constexpr uint16_t k_rid = 0x0100;
constexpr uint64_t k_iova = 0x40'0000;
constexpr uint64_t k_hpa = 0x8000'0000;
constexpr unsigned k_pages = 16;
constexpr unsigned k_len = 64;

uint64_t offset_of(uint64_t i) {
    return (i * 7 * k_len) % (uint64_t{k_pages} * 4096);
}

class device : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<device> socket;
    std::function<void(device&)> job;
    sc_core::sc_event start;
    tlm_utils::tlm_quantumkeeper qk;
    dma_extension ext;

    SC_HAS_PROCESS(device);
    explicit device(const sc_core::sc_module_name& n) : sc_core::sc_module(n), socket("socket") {
        ext.requester_id = k_rid;
        SC_THREAD(run);
    }

    bool read(uint64_t addr, uint8_t* data) {
        tlm::tlm_generic_payload p;
        p.set_command(tlm::TLM_READ_COMMAND);
        p.set_address(addr);
        p.set_data_ptr(data);
        p.set_data_length(k_len);
        p.set_streaming_width(k_len);
        p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        p.set_extension(&ext);
        sc_core::sc_time d = qk.get_local_time();
        socket->b_transport(p, d);
        qk.set(d);
        if (qk.need_sync())
            qk.sync();
        p.clear_extension(&ext);
        return p.is_response_ok();
    }

  private:
    void run() {
        for (;;) {
            sc_core::wait(start);
            if (job)
                job(*this);
            job = nullptr;
        }
    }
};

memory_config memory_for(const iommu_config& c) {
    memory_config m;
    m.read_ns = m.write_ns = c.memory_latency_ns;
    return m;
}

// One device -> IOMMU -> memory system around an IOTLB made by make_iotlb.
struct dma_system {
    iommu_config cfg;
    std::unique_ptr<iotlb_if> tlb;
    memory mem;
    iommu mmu;
    device dev;
    device cpu;  // on the register socket (unused: setup goes through the register file)
    sc_core::sc_signal<bool> irq_fault;
    sc_core::sc_signal<bool> irq_inv;
    test::table_builder tb{mem.store()};

    dma_system(const std::string& prefix, iotlb_impl impl)
        : tlb(make_iotlb(impl, iotlb_geometry{cfg.iotlb_sets, cfg.iotlb_ways}))
        , mem((prefix + "_mem").c_str(), memory_for(cfg))
        , mmu((prefix + "_mmu").c_str(), cfg, *tlb)
        , dev((prefix + "_dev").c_str())
        , cpu((prefix + "_cpu").c_str())
        , irq_fault((prefix + "_irq_fault").c_str())
        , irq_inv((prefix + "_irq_inv").c_str()) {
        dev.socket.bind(mmu.target_socket);
        mmu.initiator_socket.bind(mem.target_socket);
        cpu.socket.bind(mmu.mmio_socket);
        mmu.irq_fault.bind(irq_fault);
        mmu.irq_inv.bind(irq_inv);
        tlm_utils::tlm_quantumkeeper::set_global_quantum(
            sc_core::sc_time(static_cast<double>(cfg.quantum_ns), sc_core::SC_NS));
        tb.set_context(k_rid);
        const uint64_t ss = tb.new_ss();
        for (unsigned i = 0; i < k_pages; ++i)
            tb.map_ss(ss, 4, k_iova + i * 4096ull, k_hpa + i * 4096ull);
        test::pasid_opts o;
        o.did = 1;
        o.ssptptr = ss;
        tb.set_pasid(k_rid, 0, o);
        register_file& r = mmu.registers();
        r.write(hw::reg::RTADDR_OFFSET, 8, tb.rtaddr_value());
        r.write(hw::reg::GCMD_OFFSET, 4, hw::gcmd::srtp::mask);
        r.write(hw::reg::GCMD_OFFSET, 4, hw::gcmd::te::mask);
    }

    void run(std::function<void(device&)> job) {
        dev.job = std::move(job);
        dev.start.notify(sc_core::SC_ZERO_TIME);
        sc_core::sc_start();
    }
};

// SystemC elaborates once: every system is built before the first sc_start.
struct systems {
    dma_system cpp{"cpp", iotlb_impl::cpp};
    dma_system rtl{"rtl", iotlb_impl::rtl};
    dma_system lockstep{"lockstep", iotlb_impl::lockstep};
};

systems& all() {
    static systems s;
    return s;
}

void dma_iotlb_hit(benchmark::State& state, dma_system& s) {
    s.run([](device& d) {
        std::vector<uint8_t> buf(k_len);
        for (unsigned p = 0; p < k_pages; ++p)
            d.read(k_iova + p * 4096ull, buf.data());
    });
    s.run([&](device& d) {
        std::vector<uint8_t> buf(k_len);
        uint64_t i = 0;
        bool ok = true;
        for (auto _ : state) {
            ok &= d.read(k_iova + offset_of(i), buf.data());
            benchmark::DoNotOptimize(buf.data());
            ++i;
        }
        if (!ok)
            state.SkipWithError("a DMA failed");
    });
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * k_len);
    const translation_stats ts = s.mmu.core().stats();
    state.counters["iotlb_hit_rate"] = static_cast<double>(ts.iotlb_hits) /
                                       static_cast<double>(std::max<uint64_t>(1, ts.iotlb_hits + ts.iotlb_misses));
    if (auto* ls = dynamic_cast<lockstep_iotlb*>(s.tlb.get())) {
        state.counters["divergences"] = static_cast<double>(ls->divergences());
        if (ls->divergences() != 0)
            state.SkipWithError("lockstep divergence");
    }
}

void BM_TlmDmaIotlbHitCpp(benchmark::State& state) {
    dma_iotlb_hit(state, all().cpp);
}
void BM_TlmDmaIotlbHitRtl(benchmark::State& state) {
    dma_iotlb_hit(state, all().rtl);
}
void BM_TlmDmaIotlbHitLockstep(benchmark::State& state) {
    dma_iotlb_hit(state, all().lockstep);
}

BENCHMARK(BM_TlmDmaIotlbHitCpp);
BENCHMARK(BM_TlmDmaIotlbHitRtl);
BENCHMARK(BM_TlmDmaIotlbHitLockstep);

}  // namespace
}  // namespace iommusim
