// DMA throughput through the TLM shell (bench/dma_bench_system.h: 64-byte reads over a window
// of 4 KiB second-stage pages that stays in the IOTLB).
//   BM_TlmDmaIotlbHit      device -> iommu (TE=1, IOTLB hits) -> memory, b_transport
//   BM_TlmDmaNoIommu       the same traffic straight to a memory, b_transport
//   BM_TlmDmaDmi           DMI pointers granted by the iommu (one per translated page)
//   BM_TlmDmaNoIommuDmi    DMI pointers granted by a memory directly
//   BM_TlmDmaUserMemory    BM_TlmDmaNoIommu into an adopted host buffer (user memory: every
//                          access is a fault-safe kernel copy, and memory grants no DMI)
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "bench/bench_iterations.h"
#include "dma_bench_system.h"
#include "tlm/iotlb.h"

namespace iommusim::bench {
namespace {

constexpr uint64_t k_user_pa = 0x1'0000'0000;  // where the adopted buffer sits in direct_mem

struct systems {
    dma_system iommu{"cpp", std::make_unique<iotlb>(iotlb_geometry{64, 4})};
    memory direct_mem{"direct_mem", memory_for(iommu.cfg)};
    device raw{"raw"};
    void* user = std::aligned_alloc(4096, k_pages * 4096ull);
    systems() {
        raw.socket.bind(direct_mem.target_socket);
        direct_mem.adopt(k_user_pa, user, k_pages * 4096ull);
    }
};

systems& sys() {
    static systems s;
    return s;
}

void BM_TlmDmaIotlbHit(benchmark::State& state) {
    dma_system& s = sys().iommu;
    s.warm();
    traffic(state, s.dev, k_iova, false);
    state.counters["iotlb_hit_rate"] = s.iotlb_hit_rate();
}

void BM_TlmDmaNoIommu(benchmark::State& state) {
    traffic(state, sys().raw, k_hpa, false);
}

void BM_TlmDmaDmi(benchmark::State& state) {
    dma_system& s = sys().iommu;
    traffic(state, s.dev, k_iova, true);
    state.counters["dmi_grants"] = static_cast<double>(s.mmu.statistics().dmi_grants);
}

void BM_TlmDmaNoIommuDmi(benchmark::State& state) {
    traffic(state, sys().raw, k_hpa, true);
}

void BM_TlmDmaUserMemory(benchmark::State& state) {
    traffic(state, sys().raw, k_user_pa, false);
}

BENCHMARK(BM_TlmDmaIotlbHit)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaNoIommu)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaDmi)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaNoIommuDmi)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaUserMemory)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
}  // namespace iommusim::bench
