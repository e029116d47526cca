// BM_HwptInvalidateIoctl64: one IOMMU_HWPT_INVALIDATE with 64 VT-d stage-1 entries, end to end
// through the C API, the iommufd core, the VT-d driver (descriptors, queue, wait) and the IOMMU
// model. Reports host time per entry and simulated time per ioctl.
#include <benchmark/benchmark.h>
#include <fcntl.h>

#include <cerrno>

#include "bench/bench_iterations.h"
#include "bench/nested_invalidate_setup.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/platform.h"

namespace {

using namespace iommusim::bench;

struct c_api {
    static int open(const char* path, int flags) { return iommusim_open(path, flags); }
    static int ioctl(int fd, unsigned long request, void* arg) { return iommusim_ioctl(fd, request, arg); }
};
using setup = nested_invalidate_setup<c_api>;

void BM_HwptInvalidateIoctl64(benchmark::State& state) {
    static setup s;
    if (!s.ok) {
        state.SkipWithError("platform set-up failed");
        return;
    }
    setup::invalidation invalidation(s.nested);
    iommu_hwpt_invalidate& cmd = invalidation.cmd;
    const uint64_t sim_start = iommusim::platform::instance().now_ns();
    for (auto _ : state) {
        cmd.entry_num = entries;
        if (iommusim_ioctl(s.fd, IOMMU_HWPT_INVALIDATE, &cmd) != 0 || cmd.entry_num != entries) {
            state.SkipWithError("IOMMU_HWPT_INVALIDATE failed");
            break;
        }
    }
    const double iters = static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations() * entries);
    state.counters["host_time_per_entry"] =
        benchmark::Counter(iters * entries, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    if (iters > 0) {
        state.counters["sim_ns_per_ioctl"] =
            static_cast<double>(iommusim::platform::instance().now_ns() - sim_start) / iters;
    }
}
BENCHMARK(BM_HwptInvalidateIoctl64)->Apply(iommusim::bench::iterations_from_environment);

// The same ioctl on the selftest mock nested domain: the cost of the C API, the dispatcher, the
// object lookup and the per-entry user copies, without a driver or hardware behind it.
void BM_HwptInvalidateIoctlMock64(benchmark::State& state) {
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    iommu_ioas_alloc ioas{};
    ioas.size = sizeof(ioas);
    iommu_test_cmd mock{};
    mock.size = sizeof(mock);
    mock.op = IOMMU_TEST_OP_MOCK_DOMAIN;
    if (fd < 0 || setup::ioctl(fd, IOMMU_IOAS_ALLOC, &ioas) != 0) {
        state.SkipWithError("context set-up failed");
        return;
    }
    mock.id = ioas.out_ioas_id;
    iommu_hwpt_alloc parent{};
    parent.size = sizeof(parent);
    parent.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
    parent.pt_id = ioas.out_ioas_id;
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    iommu_hwpt_alloc nested{};
    nested.size = sizeof(nested);
    nested.data_type = IOMMU_HWPT_DATA_SELFTEST;
    nested.data_len = sizeof(data);
    nested.data_uptr = reinterpret_cast<uint64_t>(&data);
    if (setup::ioctl(fd, IOMMU_TEST_CMD, &mock) != 0) {
        state.SkipWithError("mock domain failed");
        return;
    }
    parent.dev_id = mock.mock_domain.out_idev_id;
    nested.dev_id = mock.mock_domain.out_idev_id;
    if (setup::ioctl(fd, IOMMU_HWPT_ALLOC, &parent) != 0) {
        state.SkipWithError("parent allocation failed");
        return;
    }
    nested.pt_id = parent.out_hwpt_id;
    if (setup::ioctl(fd, IOMMU_HWPT_ALLOC, &nested) != 0) {
        state.SkipWithError("nested allocation failed");
        return;
    }
    iommu_hwpt_invalidate_selftest inv[entries] = {};
    for (unsigned i = 0; i < entries; ++i) {
        inv[i].iotlb_id = i % MOCK_NESTED_DOMAIN_IOTLB_NUM;
    }
    iommu_hwpt_invalidate cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = nested.out_hwpt_id;
    cmd.data_uptr = reinterpret_cast<uint64_t>(inv);
    cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    cmd.entry_len = sizeof(inv[0]);
    for (auto _ : state) {
        cmd.entry_num = entries;
        if (iommusim_ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd) != 0 || cmd.entry_num != entries) {
            state.SkipWithError("IOMMU_HWPT_INVALIDATE failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * entries);
    state.counters["host_time_per_entry"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * entries, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    iommusim_close(fd);
}
BENCHMARK(BM_HwptInvalidateIoctlMock64)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
