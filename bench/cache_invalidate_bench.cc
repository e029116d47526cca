// cache_invalidate_user end to end: one call with 1 or 64 page entries, through the queue engine and
// the wait descriptor, on the platform (nested domain attached to an ATS device, so every entry also
// costs a device-TLB invalidation). Host time per entry is the figure of merit: the 64-entry call
// must cost at most a tenth of a single-entry call per entry (one batch, one wait). The model runs
// in one host thread (SystemC coroutines), so CPU time is the host cost.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "bench/bench_iterations.h"
#include "driver/nested_domain.h"
#include "driver/paging_domain.h"
#include "driver/vtd_iommu.h"
#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_pte.h"
#include "iommusim/iommufd.h"
#include "platform/platform.h"

namespace {

using namespace iommusim;

// One platform per process (SystemC elaborates once): a guest with RAM at GPA 0 behind a nest
// parent, a nested domain on top, attached to device 0.
struct setup {
    setup() : ram(static_cast<uint8_t*>(std::aligned_alloc(4096, ram_bytes))) {
        std::memset(ram, 0, ram_bytes);
        platform& p = platform::instance();
        driver::iommu_ops& ops = *p.device(0).ops;
        p.run([&] {
            ops.domain_alloc_paging_flags(p.device(0), driver::alloc_flag_nest_parent, nullptr, parent);
            parent->map(0, ram, ram_bytes, driver::prot_read | driver::prot_write);
            iommu_hwpt_vtd_s1 s1{};
            s1.pgtbl_addr = 0x1000;
            s1.addr_width = 48;
            driver::iommu_user_data data{IOMMU_HWPT_DATA_VTD_S1, reinterpret_cast<uint64_t>(&s1), sizeof s1};
            ops.domain_alloc_nested(p.device(0), *parent, 0, data, nested);
            attach_rc = nested->attach_dev(p.device(0));
        });
    }
    static setup& get() {
        static setup s;
        return s;
    }
    static constexpr std::size_t ram_bytes = 1 << 20;
    uint8_t* ram;
    std::unique_ptr<driver::iommu_domain> parent;
    std::unique_ptr<driver::iommu_domain> nested;
    int attach_rc = -1;
};

void run_calls(benchmark::State& state, unsigned entries, bool interrupt) {
    setup& s = setup::get();
    if (s.attach_rc != 0) {
        state.SkipWithError("nested attach failed");
        return;
    }
    std::vector<iommu_hwpt_vtd_s1_invalidate> v(entries);
    for (unsigned i = 0; i < entries; ++i) {
        v[i] = {};
        v[i].addr = 0x4000'0000ull + i * 0x1000ull;
        v[i].npages = 1;
        v[i].flags = IOMMU_VTD_INV_FLAGS_LEAF;
    }
    platform& p = platform::instance();
    p.run([&] { p.vtd_driver().set_completion_interrupt(interrupt); });
    driver::qi_stats before = p.vtd_driver().qi().stats();
    for (auto _ : state) {
        driver::iommu_user_data_array a;
        a.type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
        a.uptr = reinterpret_cast<uint64_t>(v.data());
        a.entry_len = sizeof(iommu_hwpt_vtd_s1_invalidate);
        a.entry_num = entries;
        int rc = 0;
        p.run([&] { rc = s.nested->cache_invalidate_user(a); });
        if (rc != 0 || a.entry_num != entries) {
            state.SkipWithError("cache_invalidate_user failed");
            break;
        }
    }
    const driver::qi_stats& after = p.vtd_driver().qi().stats();
    const double calls = static_cast<double>(state.iterations());
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * entries);
    state.counters["entries"] = entries;
    state.counters["batches_per_call"] = calls ? static_cast<double>(after.batches - before.batches) / calls : 0;
    state.counters["sim_wait_ns_per_call"] =
        calls ? static_cast<double>(after.wait_ns_total - before.wait_ns_total) / calls : 0;
    state.counters["host_ns_per_entry"] = benchmark::Counter(static_cast<double>(state.iterations()) * entries,
                                                             benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The platform driver's default: completion on the invalidation-completion interrupt (IF=1).
void BM_CacheInvalidateUser1(benchmark::State& state) {
    run_calls(state, 1, true);
}
void BM_CacheInvalidateUser64(benchmark::State& state) {
    run_calls(state, 64, true);
}
// Completion by polling the status word, as Linux's qi_submit_sync does.
void BM_CacheInvalidateUser1Poll(benchmark::State& state) {
    run_calls(state, 1, false);
}
void BM_CacheInvalidateUser64Poll(benchmark::State& state) {
    run_calls(state, 64, false);
}

// The per-call and per-entry cost apart: batches of 1 to 256 entries (interrupt completion); the
// slope between two sizes is the cost per entry, the intercept the fixed cost per call.
void BM_CacheInvalidateUserBatch(benchmark::State& state) {
    run_calls(state, static_cast<unsigned>(state.range(0)), true);
}

// The floor of every call above: handing an empty job to the simulated CPU and running the
// SystemC kernel until it has returned.
void BM_PlatformRunEmpty(benchmark::State& state) {
    platform& p = platform::instance();
    for (auto _ : state) {
        p.run([] {});
    }
}

// One job of 8 short delays, as the driver's polling loops take them, with nothing else due in
// the simulation (lazy synchronisation: no wait in the kernel until the job ends).
void BM_PlatformRunDelays(benchmark::State& state) {
    platform& p = platform::instance();
    for (auto _ : state) {
        p.run([&] {
            for (int i = 0; i < 8; ++i) {
                p.bus().delay(1);
            }
        });
    }
}

BENCHMARK(BM_PlatformRunEmpty)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_PlatformRunDelays)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_CacheInvalidateUserBatch)
    ->Arg(1)
    ->Arg(4)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_CacheInvalidateUser1)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_CacheInvalidateUser64)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_CacheInvalidateUser1Poll)->Apply(iommusim::bench::iterations_from_environment);
BENCHMARK(BM_CacheInvalidateUser64Poll)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
