// DMA throughput through the TLM shell (bench/dma_bench_system.h: 64-byte reads over a window
// of 4 KiB second-stage pages that stays in the IOTLB).
//   BM_TlmDmaIotlbHit      device -> iommu (TE=1, IOTLB hits) -> memory, b_transport
//   BM_TlmDmaNoIommu       the same traffic straight to a memory, b_transport
//   BM_TlmDmaDmi           DMI pointers granted by the iommu (one per translated page)
//   BM_TlmDmaNoIommuDmi    DMI pointers granted by a memory directly
#include <benchmark/benchmark.h>

#include "dma_bench_system.h"
#include "tlm/iotlb.h"

namespace iommusim::bench {
namespace {

struct systems {
    dma_system iommu{"cpp", std::make_unique<iotlb>(iotlb_geometry{64, 4})};
    memory direct_mem{"direct_mem", memory_for(iommu.cfg)};
    device raw{"raw"};
    systems() { raw.socket.bind(direct_mem.target_socket); }
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

BENCHMARK(BM_TlmDmaIotlbHit);
BENCHMARK(BM_TlmDmaNoIommu);
BENCHMARK(BM_TlmDmaDmi);
BENCHMARK(BM_TlmDmaNoIommuDmi);

}  // namespace
}  // namespace iommusim::bench
