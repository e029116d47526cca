// BM_PageRequestRoundTrip: one I/O page fault through VT-d, from the device's translation that
// comes back not present to its retried DMA: page request descriptor, page request event, the
// driver's page request thread, the fault fd read, IOMMU_IOAS_MAP of the page, the response write,
// the page group response on the invalidation queue, the device's retry and a 64-byte write.
// The page is unmapped again outside the timing. Reports host time per round trip and simulated
// time per round trip.
#include <benchmark/benchmark.h>
#include <fcntl.h>

#include <cstdlib>
#include <string>

#include "bench/bench_iterations.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/platform.h"

namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t iova = 0x4000'0000;
constexpr unsigned pri_device = 1;  // ATS in the default devices; PRI set below

struct iopf_setup {
    bool ok = false;
    int fd = -1;
    int vfio = -1;
    int fault_fd = -1;
    uint32_t ioas = 0;
    void* buf = std::aligned_alloc(page, page);

    iopf_setup() {
        iommusim::platform_config cfg;
        cfg.iommu.prs = true;
        cfg.iommu.pds = true;
        cfg.devices[pri_device].pri = true;
        if (!iommusim::platform::configure(cfg)) {
            return;
        }
        fd = iommusim_open("/dev/iommu", O_RDWR);
        vfio = iommusim_open(("/dev/vfio/devices/vfio" + std::to_string(pri_device)).c_str(), O_RDWR);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = fd;
        iommu_ioas_alloc ioas_cmd{};
        ioas_cmd.size = sizeof(ioas_cmd);
        iommu_fault_alloc fault{};
        fault.size = sizeof(fault);
        if (fd < 0 || vfio < 0 || iommusim_ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind) != 0 ||
            iommusim_ioctl(fd, IOMMU_IOAS_ALLOC, &ioas_cmd) != 0 ||
            iommusim_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &fault) != 0) {
            return;
        }
        ioas = ioas_cmd.out_ioas_id;
        fault_fd = static_cast<int>(fault.out_fault_fd);
        iommu_hwpt_alloc hwpt{};
        hwpt.size = sizeof(hwpt);
        hwpt.flags = IOMMU_HWPT_FAULT_ID_VALID;
        hwpt.dev_id = bind.out_devid;
        hwpt.pt_id = ioas;
        hwpt.fault_id = fault.out_fault_id;
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        if (iommusim_ioctl(fd, IOMMU_HWPT_ALLOC, &hwpt) != 0) {
            return;
        }
        attach.pt_id = hwpt.out_hwpt_id;
        ok = iommusim_ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == 0;
    }
    bool map() {
        iommu_ioas_map cmd{};
        cmd.size = sizeof(cmd);
        cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
        cmd.ioas_id = ioas;
        cmd.user_va = reinterpret_cast<uint64_t>(buf);
        cmd.length = page;
        cmd.iova = iova;
        return iommusim_ioctl(fd, IOMMU_IOAS_MAP, &cmd) == 0;
    }
    bool unmap() {
        iommu_ioas_unmap cmd{};
        cmd.size = sizeof(cmd);
        cmd.ioas_id = ioas;
        cmd.iova = iova;
        cmd.length = page;
        return iommusim_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd) == 0;
    }
};

void BM_PageRequestRoundTrip(benchmark::State& state) {
    static iopf_setup s;
    if (!s.ok) {
        state.SkipWithError("platform set-up failed");
        return;
    }
    iommusim::platform& p = iommusim::platform::instance();
    char data[64] = "page request round trip";
    uint64_t sim_ns = 0;
    for (auto _ : state) {
        const uint64_t start = p.now_ns();
        iommu_hwpt_pgfault f{};
        if (p.iopf_request(pri_device, 0, iova, true) != 1 ||
            iommusim_read(s.fault_fd, &f, sizeof f) != static_cast<ssize_t>(sizeof f) || !s.map()) {
            state.SkipWithError("no page fault");
            break;
        }
        iommu_hwpt_page_response resp{f.cookie, IOMMUFD_PAGE_RESP_SUCCESS};
        if (iommusim_write(s.fault_fd, &resp, sizeof resp) != static_cast<ssize_t>(sizeof resp) ||
            p.iopf_complete(pri_device, 0, iova, data, sizeof data, true) != 0) {
            state.SkipWithError("the retried DMA failed");
            break;
        }
        sim_ns += p.now_ns() - start;
        state.PauseTiming();
        // The device TLB entry goes with the unmap's device-TLB invalidation: the next access faults.
        if (!s.unmap()) {
            state.SkipWithError("IOMMU_IOAS_UNMAP failed");
            break;
        }
        state.ResumeTiming();
    }
    const double iters = static_cast<double>(state.iterations());
    state.counters["host_time_per_fault"] =
        benchmark::Counter(iters, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    if (iters > 0) {
        state.counters["sim_ns_per_fault"] = static_cast<double>(sim_ns) / iters;
    }
}
BENCHMARK(BM_PageRequestRoundTrip)->Apply(iommusim::bench::iterations_from_environment);

}  // namespace
