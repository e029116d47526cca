// The verilated RTL IOTLB in isolation and behind the TLM IOMMU.
//   BM_RtlIotlbLookupHit/<entries>        lookups that hit, through the rtl_iotlb adapter
//   BM_RtlIotlbInvalidateDomain/<entries> domain-selective invalidation (one set walked per cycle)
//   BM_TlmDmaIotlbHit{Cpp,Rtl,Lockstep}   64-byte DMA reads through the TLM IOMMU over a window of
//                                         4 KiB second-stage pages that stays in the IOTLB, with
//                                         the IOTLB built by make_iotlb (bench/dma_bench_system.h,
//                                         one system per implementation)
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

#include "bench/bench_iterations.h"
#include "dma_bench_system.h"
#include "iommusim/hw/vtd_regs.h"
#include "rtl/iotlb_factory.h"
#include "tlm/iommu.h"
#include "tlm/memory.h"

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
    for (unsigned w = 0; w < g.ways; ++w) {
        for (unsigned s = 0; s < g.sets; ++s) {
            filled.push_back(entry(static_cast<uint16_t>(w + 1), 0x1000 + s));
            t.fill(filled.back());
        }
    }
    size_t i = 0;
    uint64_t hits = 0, cycles = 0;
    for (auto _ : state) {
        const iotlb_entry& e = filled[i];
        i = i + 1 == filled.size() ? 0 : i + 1;
        hits += t.lookup(e.tag.did, e.tag.pasid, e.tag.kind, e.tag.vpn).has_value();
        cycles += t.last_op_cycles();
    }
    if (hits != static_cast<uint64_t>(state.iterations())) {
        state.SkipWithError("a lookup missed");
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["rtl_cycles_per_op"] =
        static_cast<double>(cycles) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

void BM_RtlIotlbInvalidateDomain(benchmark::State& state) {
    const iotlb_geometry g = geometry_for(state.range(0));
    rtl_iotlb t(g);
    for (unsigned w = 0; w < g.ways; ++w) {
        for (unsigned s = 0; s < g.sets; ++s) {
            t.fill(entry(static_cast<uint16_t>(w + 1), 0x1000 + s));
        }
    }
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

BENCHMARK(BM_RtlIotlbLookupHit)->Arg(64)->Arg(1024)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_RtlIotlbInvalidateDomain)->Arg(64)->Arg(1024)->Apply(iommusim::bench::iterations_from_environment);

// ---- DMA through the TLM IOMMU (bench/dma_bench_system.h) ----

// SystemC elaborates once: every system is built before the first sc_start.
struct systems {
    bench::dma_system cpp{"cpp", make_iotlb(iotlb_impl::cpp, iotlb_geometry{64, 4})};
    bench::dma_system rtl{"rtl", make_iotlb(iotlb_impl::rtl, iotlb_geometry{64, 4})};
    bench::dma_system lockstep{"lockstep", make_iotlb(iotlb_impl::lockstep, iotlb_geometry{64, 4})};
};

systems& all() {
    static systems s;
    return s;
}

void dma_iotlb_hit(benchmark::State& state, bench::dma_system& s) {
    s.warm();
    bench::traffic(state, s.dev, bench::k_iova, false);
    state.counters["iotlb_hit_rate"] = s.iotlb_hit_rate();
    if (auto* ls = dynamic_cast<lockstep_iotlb*>(s.tlb.get())) {
        state.counters["divergences"] = static_cast<double>(ls->divergences());
        if (ls->divergences() != 0) {
            state.SkipWithError("lockstep divergence");
        }
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

BENCHMARK(BM_TlmDmaIotlbHitCpp)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaIotlbHitRtl)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaIotlbHitLockstep)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
}  // namespace iommusim
