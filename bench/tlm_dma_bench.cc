// DMA throughput through the TLM shell (bench/dma_bench_system.h: 64-byte reads over a window
// of 4 KiB second-stage pages that stays in the IOTLB).
//   BM_TlmDmaIotlbHit      device -> iommu (TE=1, IOTLB hits) -> memory, b_transport
//   BM_TlmDmaNoIommu       the same traffic straight to a memory, b_transport
//   BM_TlmDmaDmi           DMI pointers granted by the iommu (one per translated page)
//   BM_TlmDmaNoIommuDmi    DMI pointers granted by a memory directly
//   BM_TlmDmaUserMemory    BM_TlmDmaNoIommu into an adopted host buffer (user memory: every
//                          access is a fault-safe kernel copy, and memory grants no DMI)
//   BM_TlmDmaDevices/N     N devices (requester ids, each its own domain) interleaved access by
//                          access, each over its own page: every access an IOTLB hit
//   BM_TlmDmaSharedIova/N  N devices interleaved over one shared 16-page IOVA window, each in its
//                          own domain: N x 16 entries in a 1024-entry IOTLB
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "bench/bench_iterations.h"
#include "dma_bench_system.h"
#include "tlm/iotlb.h"

namespace iommusim::bench {
namespace {

constexpr uint64_t k_user_pa = 0x1'0000'0000;  // where the adopted buffer sits in direct_mem

struct many_devices_system;

constexpr unsigned k_max_devices = 128;

iommu_config many_devices_config() {
    iommu_config c;
    c.iotlb_sets = 256;  // 1024 entries
    c.iotlb_ways = 4;
    return c;
}

struct systems {
    dma_system iommu{"cpp", std::make_unique<iotlb>(iotlb_geometry{64, 4})};
    memory direct_mem{"direct_mem", memory_for(iommu.cfg)};
    device raw{"raw"};
    // Requester ids k_rid .. k_rid + 127, each its own domain, over one 128-page window.
    dma_system many{"many", std::make_unique<iotlb>(iotlb_geometry{256, 4}), k_max_devices, k_max_devices,
                    many_devices_config()};
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

// Access i comes from device i % n; `page_of(i, n)` is the window page it touches.
template <typename PageOf>
void interleaved(benchmark::State& state, PageOf page_of) {
    dma_system& s = sys().many;
    const auto n = static_cast<unsigned>(state.range(0));
    auto access = [&](device& d, uint64_t i, uint8_t* buf) {
        d.ext.requester_id = static_cast<uint16_t>(k_rid + i % n);
        return d.read(k_iova + page_of(i, n) * 4096ull + (i / n * k_len) % 4096, buf);
    };
    const translation_stats before = s.mmu.translation().stats();
    run_on(s.dev, [&](device& d) {
        std::vector<uint8_t> buf(k_len);
        bool ok = true;
        for (uint64_t i = 0; i < uint64_t{n} * 16; ++i) {  // warm: every device's pages once
            ok &= access(d, i, buf.data());
        }
        uint64_t i = 0;
        for (auto _ : state) {
            ok &= access(d, i++, buf.data());
            benchmark::DoNotOptimize(buf.data());
        }
        d.ext.requester_id = k_rid;
        if (!ok) {
            state.SkipWithError("a DMA failed");
        }
    });
    const translation_stats after = s.mmu.translation().stats();
    const uint64_t hits = after.iotlb_hits - before.iotlb_hits;
    const uint64_t misses = after.iotlb_misses - before.iotlb_misses;
    state.counters["iotlb_hit_rate"] =
        static_cast<double>(hits) / static_cast<double>(std::max<uint64_t>(1, hits + misses));
    state.counters["devices"] = n;
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * k_len);
}

void BM_TlmDmaDevices(benchmark::State& state) {
    interleaved(state, [](uint64_t i, unsigned n) { return i % n; });
}

void BM_TlmDmaSharedIova(benchmark::State& state) {
    interleaved(state, [](uint64_t i, unsigned n) { return i / n % 16; });
}

BENCHMARK(BM_TlmDmaIotlbHit)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaNoIommu)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaDmi)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaNoIommuDmi)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaUserMemory)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaDevices)->Arg(1)->Arg(8)->Arg(64)->Arg(128)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_TlmDmaSharedIova)->Arg(1)->Arg(8)->Arg(16)->Arg(64)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
}  // namespace iommusim::bench
