// BM_PreloadHwptInvalidate64: BM_HwptInvalidateIoctl64 (hwpt_invalidate_bench.cc) through the C
// library's open/ioctl, which this program reaches libiommusim-preload.so through (it is linked
// against the interposer, as a program started by `iommusim exec` has it preloaded). The
// difference between the two is what the interposer adds per ioctl: the descriptor lookup (one
// fstat) and the lock.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "bench/bench_iterations.h"
#include "bench/nested_invalidate_setup.h"
#include "iommusim/iommufd.h"

namespace {

using namespace iommusim::bench;

struct libc {
    static int open(const char* path, int flags) { return ::open(path, flags); }
    static int ioctl(int fd, unsigned long request, void* arg) { return ::ioctl(fd, request, arg); }
};
using setup = nested_invalidate_setup<libc>;

void BM_PreloadHwptInvalidate64(benchmark::State& state) {
    static setup s;
    if (!s.ok) {
        state.SkipWithError("platform set-up through the interposer failed");
        return;
    }
    setup::invalidation invalidation(s.nested);
    iommu_hwpt_invalidate& cmd = invalidation.cmd;
    for (auto _ : state) {
        cmd.entry_num = entries;
        if (::ioctl(s.fd, IOMMU_HWPT_INVALIDATE, &cmd) != 0 || cmd.entry_num != entries) {
            state.SkipWithError("IOMMU_HWPT_INVALIDATE failed");
            break;
        }
    }
    const double iters = static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations() * entries);
    state.counters["host_time_per_entry"] =
        benchmark::Counter(iters * entries, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_PreloadHwptInvalidate64)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
