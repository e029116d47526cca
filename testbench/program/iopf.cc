// Scenario iopf: demand paging of a device's memory through VT-d page requests (docs/vtd-facts.md
// §10). The VMM attaches an ATS+PRI device to a paging HWPT with a fault queue
// (IOMMU_FAULT_QUEUE_ALLOC, IOMMU_HWPT_FAULT_ID_VALID) over an IOAS with nothing mapped. For every
// page of a window the device writes, its translation comes back not present, its page request
// travels through the page request queue and the driver's page request thread to the fault fd;
// the VMM reads the fault, maps a page of guest RAM there and answers Success, and the device's
// retried translation lets the write land. One last access outside the window is answered
// Invalid, and the device's access fails.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/platform.h"
#include "program/op_trace.h"
#include "program/scenario.h"
#include "program/vmm.h"

namespace iommusim::program {

namespace {

constexpr uint64_t page_bytes = 4096;
constexpr uint64_t window_iova = 0x4000'0000;  // the device's window: nothing mapped at the start
constexpr unsigned pri_device = 1;             // vfio1: ATS (the default devices), PRI from platform_defaults

int ioctl_errno(int fd, unsigned long request, void* arg) {
    return iommusim_ioctl(fd, request, arg) == 0 ? 0 : errno;
}

}  // namespace

void run_iopf(scenario_log& log, const cli_options&) {
    platform& p = platform::instance();
    const platform_config& config = p.config();
    const scenario& self = *find_scenario("iopf");
    const uint64_t pages = param_value(self, config, "pages");
    std::mt19937_64 rng(config.seed);

    vmm v;
    trace_operations(v, log);
    const unsigned dev = v.open_device(pri_device);
    const uint32_t ioas = v.ioas_alloc();
    iommu_fault_alloc fault{};
    fault.size = sizeof(fault);
    if (!log.expect(ioctl_errno(v.iommufd(), IOMMU_FAULT_QUEUE_ALLOC, &fault) == 0, "IOMMU_FAULT_QUEUE_ALLOC")) {
        return;
    }
    const int fault_fd = static_cast<int>(fault.out_fault_fd);
    iommu_hwpt_alloc hwpt{};
    hwpt.size = sizeof(hwpt);
    hwpt.flags = IOMMU_HWPT_FAULT_ID_VALID;
    hwpt.dev_id = v.dev_id(dev);
    hwpt.pt_id = ioas;
    hwpt.fault_id = fault.out_fault_id;
    if (!log.expect(ioctl_errno(v.iommufd(), IOMMU_HWPT_ALLOC, &hwpt) == 0,
                    "IOMMU_HWPT_ALLOC with a fault queue (the VT-d device takes page requests: ATS, PRI, ECAP.PRS)")) {
        iommusim_close(fault_fd);
        return;
    }
    v.attach(dev, hwpt.out_hwpt_id);

    void* ram_ptr = ::mmap(nullptr, pages * page_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram_ptr == MAP_FAILED) {
        throw std::runtime_error("iopf: cannot map guest RAM");
    }
    auto* ram = static_cast<uint8_t*>(ram_ptr);
    log.step("VMM: a paging HWPT with a fault queue, nothing mapped; the device writes each of " +
             std::to_string(pages) + " pages at IOVA 0x40000000 and the VMM maps them on demand");

    uint64_t faults = 0, landed = 0, wrong = 0, errors = 0;
    const uint64_t start_ns = p.now_ns();
    for (uint64_t i = 0; i < pages; ++i) {
        log.checkpoint();
        const uint64_t iova = window_iova + i * page_bytes + 8 * (rng() % 64);
        uint8_t data[64];
        for (uint8_t& b : data) {
            b = static_cast<uint8_t>(rng());
        }
        int rc = p.iopf_request(pri_device, 0, iova, true);
        while (rc == -EAGAIN) {  // the unit answered at once (queue full): ask again
            rc = p.iopf_request(pri_device, 0, iova, true);
        }
        if (rc != 1) {
            ++errors;
            continue;
        }
        iommu_hwpt_pgfault f{};
        if (iommusim_read(fault_fd, &f, sizeof f) != static_cast<ssize_t>(sizeof f)) {
            ++errors;
            continue;
        }
        ++faults;
        wrong += f.addr != (iova & ~(page_bytes - 1)) || f.perm != IOMMU_PGFAULT_PERM_WRITE;
        // Demand paging: the faulting page of the window gets page i of guest RAM.
        v.ioas_map(ioas, ram + i * page_bytes, page_bytes, f.addr);
        iommu_hwpt_page_response resp{f.cookie, IOMMUFD_PAGE_RESP_SUCCESS};
        if (iommusim_write(fault_fd, &resp, sizeof resp) != static_cast<ssize_t>(sizeof resp)) {
            ++errors;
            continue;
        }
        if (p.iopf_complete(pri_device, 0, iova, data, sizeof data, true) != 0) {
            ++errors;
            continue;
        }
        landed += std::memcmp(ram + i * page_bytes + (iova % page_bytes), data, sizeof data) == 0;
        log.expect_each(true, "page " + std::to_string(i) + ": fault read, mapped, answered, write landed");
    }
    const uint64_t elapsed_ns = p.now_ns() - start_ns;

    // Outside the window: the VMM refuses, the device's access fails.
    const uint64_t outside = window_iova + pages * page_bytes;
    int refused = -1;
    if (p.iopf_request(pri_device, 0, outside, false) == 1) {
        iommu_hwpt_pgfault f{};
        if (iommusim_read(fault_fd, &f, sizeof f) == static_cast<ssize_t>(sizeof f)) {
            iommu_hwpt_page_response resp{f.cookie, IOMMUFD_PAGE_RESP_INVALID};
            iommusim_write(fault_fd, &resp, sizeof resp);
            uint8_t b = 0;
            refused = p.iopf_complete(pri_device, 0, outside, &b, 1, false);
        }
    }
    log.expect(faults == pages,
               "every page faulted once (" + std::to_string(faults) + " of " + std::to_string(pages) + ")");
    log.expect(wrong == 0, "every fault named the page and the write permission (" + std::to_string(wrong) + " wrong)");
    log.expect(landed == pages, "every retried write landed in its page (" + std::to_string(landed) + ")");
    log.expect(errors == 0, "no step failed (" + std::to_string(errors) + ")");
    log.expect(refused == -EACCES, "the access answered Invalid failed");
    log.summary_row("pages faulted in / writes landed", std::to_string(faults) + " / " + std::to_string(landed));
    log.summary_row("simulated ns per fault round trip", std::to_string(pages ? elapsed_ns / pages : 0));
    log.summary_row("page request events", p.statistic("model.iommu.page_request_events"));
    ::munmap(ram_ptr, pages * page_bytes);
    iommusim_close(fault_fd);
}

}  // namespace iommusim::program
