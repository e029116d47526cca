// BM_GetDirtyBitmap/{pages}: one clearing IOMMU_HWPT_GET_DIRTY_BITMAP over `pages` mock I/O pages
// (MOCK_IO_PAGE_SIZE, 2 KiB; one bit each) of which every other one is dirty, through the C API,
// the iommufd core (range checks, the walk over the IOAS areas, the user bitmap) and the selftest
// mock's read_and_clear_dirty. Before each call (outside the timed part) IOMMU_TEST_OP_DIRTY flags
// the same pages dirty again. Reports host time per page; 32768 pages is the kernel selftest's
// 64M variant. BM_GetDirtyBitmapNoClear/{pages}: the same read with NO_CLEAR.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <cstdint>
#include <vector>

#include "bench/bench_iterations.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"

namespace {

constexpr uint64_t mock_page = 2048;  // MOCK_IO_PAGE_SIZE

// A context with a mock device, `pages` mock pages mapped at MOCK_APERTURE_START and a
// dirty-tracking paging HWPT on them with tracking on.
struct dirty_setup {
    explicit dirty_setup(uint64_t pages) : pages(pages) {
        fd = iommusim_open("/dev/iommu", O_RDWR);
        length = pages * mock_page;
        buffer = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (fd < 0 || buffer == MAP_FAILED) {
            return;
        }
        iommu_ioas_alloc ioas{};
        ioas.size = sizeof(ioas);
        if (iommusim_ioctl(fd, IOMMU_IOAS_ALLOC, &ioas) != 0) {
            return;
        }
        iommu_test_cmd mock{};
        mock.size = sizeof(mock);
        mock.op = IOMMU_TEST_OP_MOCK_DOMAIN;
        mock.id = ioas.out_ioas_id;
        iommu_ioas_map map{};
        map.size = sizeof(map);
        map.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA;
        map.ioas_id = ioas.out_ioas_id;
        map.user_va = reinterpret_cast<uint64_t>(buffer);
        map.length = length;
        map.iova = MOCK_APERTURE_START;
        if (iommusim_ioctl(fd, IOMMU_TEST_CMD, &mock) != 0 || iommusim_ioctl(fd, IOMMU_IOAS_MAP, &map) != 0) {
            return;
        }
        iommu_hwpt_alloc hwpt{};
        hwpt.size = sizeof(hwpt);
        hwpt.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
        hwpt.dev_id = mock.mock_domain.out_idev_id;
        hwpt.pt_id = ioas.out_ioas_id;
        if (iommusim_ioctl(fd, IOMMU_HWPT_ALLOC, &hwpt) != 0) {
            return;
        }
        iommu_hwpt_set_dirty_tracking enable{};
        enable.size = sizeof(enable);
        enable.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
        enable.hwpt_id = hwpt.out_hwpt_id;
        if (iommusim_ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &enable) != 0) {
            return;
        }
        hwpt_id = hwpt.out_hwpt_id;
        // Every other page: bits 0, 2, 4, ... (0x55 in every byte).
        marks.assign((pages + 63) / 64, 0x5555555555555555ull);
        bitmap.assign((pages + 63) / 64, 0);
        ok = true;
    }
    ~dirty_setup() {
        if (fd >= 0) {
            iommusim_close(fd);
        }
        if (buffer != MAP_FAILED) {
            munmap(buffer, length);
        }
    }
    dirty_setup(const dirty_setup&) = delete;
    dirty_setup& operator=(const dirty_setup&) = delete;

    bool mark() {
        iommu_test_cmd cmd{};
        cmd.size = sizeof(cmd);
        cmd.op = IOMMU_TEST_OP_DIRTY;
        cmd.id = hwpt_id;
        cmd.dirty.iova = MOCK_APERTURE_START;
        cmd.dirty.length = length;
        cmd.dirty.page_size = mock_page;
        cmd.dirty.uptr = reinterpret_cast<uint64_t>(marks.data());
        return iommusim_ioctl(fd, IOMMU_TEST_CMD, &cmd) == 0 && cmd.dirty.out_nr_dirty == (pages + 1) / 2;
    }

    uint64_t pages;
    uint64_t length = 0;
    int fd = -1;
    void* buffer = MAP_FAILED;
    uint32_t hwpt_id = 0;
    std::vector<uint64_t> marks;
    std::vector<uint64_t> bitmap;
    bool ok = false;
};

void BM_GetDirtyBitmap(benchmark::State& state) {
    dirty_setup s(static_cast<uint64_t>(state.range(0)));
    if (!s.ok) {
        state.SkipWithError("set-up failed");
        return;
    }
    iommu_hwpt_get_dirty_bitmap cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = s.hwpt_id;
    cmd.iova = MOCK_APERTURE_START;
    cmd.length = s.length;
    cmd.page_size = mock_page;
    cmd.data = reinterpret_cast<uint64_t>(s.bitmap.data());
    for (auto _ : state) {
        state.PauseTiming();
        const bool marked = s.mark();
        state.ResumeTiming();
        if (!marked || iommusim_ioctl(s.fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd) != 0) {
            state.SkipWithError("IOMMU_TEST_OP_DIRTY or IOMMU_HWPT_GET_DIRTY_BITMAP failed");
            break;
        }
        benchmark::DoNotOptimize(s.bitmap.data());
    }
    if (s.bitmap.front() != 0x5555555555555555ull) {
        state.SkipWithError("the bitmap does not hold every other page");
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["host_time_per_page"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(state.range(0)),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_GetDirtyBitmap)->Arg(512)->Arg(4096)->Arg(32768)->Apply(iommusim::bench::iterations_from_environment);

// The same read with IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: the pages stay dirty, so nothing runs
// between the calls and the instruction count is the read's alone.
void BM_GetDirtyBitmapNoClear(benchmark::State& state) {
    dirty_setup s(static_cast<uint64_t>(state.range(0)));
    if (!s.ok || !s.mark()) {
        state.SkipWithError("set-up failed");
        return;
    }
    iommu_hwpt_get_dirty_bitmap cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = s.hwpt_id;
    cmd.flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
    cmd.iova = MOCK_APERTURE_START;
    cmd.length = s.length;
    cmd.page_size = mock_page;
    cmd.data = reinterpret_cast<uint64_t>(s.bitmap.data());
    for (auto _ : state) {
        if (iommusim_ioctl(s.fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd) != 0) {
            state.SkipWithError("IOMMU_HWPT_GET_DIRTY_BITMAP failed");
            break;
        }
        benchmark::DoNotOptimize(s.bitmap.data());
    }
    if (s.bitmap.front() != 0x5555555555555555ull) {
        state.SkipWithError("the bitmap does not hold every other page");
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["host_time_per_page"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(state.range(0)),
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_GetDirtyBitmapNoClear)
    ->Arg(512)
    ->Arg(4096)
    ->Arg(32768)
    ->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
