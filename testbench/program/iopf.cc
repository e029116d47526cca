// Scenario iopf: I/O page faults on a guest-owned stage-1 table (docs/vtd-facts.md §5.8, §10). The
// VMM allocates a fault queue (IOMMU_FAULT_QUEUE_ALLOC) and a nested HWPT over the guest's stage-1
// table with IOMMU_HWPT_FAULT_ID_VALID, and attaches the ATS+PRI device. The guest table maps only
// the even pages of the device's window: the odd ones are holes. The device writes each page; a
// present page translates at once, a hole's translation comes back R=W=0 and the device sends a
// page request, which travels through the page request queue and the driver's page request thread
// to the fault fd. The VMM reads the fault, fixes the guest table (maps the page), invalidates the
// address (IOMMU_HWPT_INVALIDATE) and answers Success; the page group response reaches the device
// over the invalidation queue and its retried translation lets the write land. One last access
// outside the window is answered Invalid, and the device's access fails.
#include <cstring>
#include <random>
#include <sstream>
#include <string>

#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/dma_device.h"
#include "platform/platform.h"
#include "program/guest_memory.h"
#include "program/op_trace.h"
#include "program/scenario.h"
#include "program/vmm.h"

namespace iommusim::program {

namespace {

constexpr uint64_t page_bytes = 4096;
constexpr uint64_t guest_ram_bytes = 64ull << 20;
constexpr uint64_t window_gva = 0x4000'0000;  // the device's window (stage-1 input addresses)
constexpr uint64_t data_gpa = 0x0010'0000;    // guest page i of the window is data_gpa + i pages
constexpr unsigned pri_device = 1;            // vfio1: ATS (the default devices), PRI from the scenario

std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

bool is_hole(uint64_t page) {
    return page % 2 == 1;
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
    guest_memory guest(0, guest_ram_bytes);
    guest.keep_tables_above(data_gpa + pages * page_bytes);
    const unsigned dev = v.open_device(pri_device);
    const uint32_t ioas = v.ioas_alloc();
    v.ioas_map(ioas, guest.host(), guest.size(), guest.gpa_base());
    const uint32_t parent = v.hwpt_alloc_nest_parent(dev, ioas);
    uint64_t holes = 0;
    for (uint64_t i = 0; i < pages; ++i) {
        if (is_hole(i)) {
            ++holes;
        } else {
            guest.map(window_gva + i * page_bytes, data_gpa + i * page_bytes);
        }
    }
    log.step("guest: stage-1 table at GPA " + hex(guest.s1_root()) + " maps the even pages of " +
             std::to_string(pages) + " at GVA " + hex(window_gva) + "; " + std::to_string(holes) +
             " odd pages are holes");
    const vmm::fault_queue queue = v.fault_queue_alloc();
    const uint32_t nested = v.hwpt_alloc_nested_vtd(dev, parent, guest.s1_root(), 48, 0, 0, queue.id);
    v.attach(dev, nested);
    log.step("VMM: fault queue " + std::to_string(queue.id) + ", nested HWPT " + std::to_string(nested) +
             " over the guest table with IOMMU_HWPT_FAULT_ID_VALID, ATS+PRI device vfio" + std::to_string(pri_device) +
             " attached");

    uint64_t faults = 0, wrong = 0, landed = 0, errors = 0, direct = 0;
    const uint64_t start_ns = p.now_ns();
    for (uint64_t i = 0; i < pages; ++i) {
        log.checkpoint();
        const uint64_t offset = (i % 64) * 64;  // a 64-byte slot of the page, as scenarios/iopf.yaml writes
        const uint64_t gva = window_gva + i * page_bytes + offset;
        uint8_t data[64];
        for (uint8_t& b : data) {
            b = static_cast<uint8_t>(rng());
        }
        int rc = p.iopf_request(pri_device, 0, gva, true);
        while (rc == -EAGAIN) {  // the unit answered at once (its queue was full): ask again
            rc = p.iopf_request(pri_device, 0, gva, true);
        }
        if (rc == 0) {
            // Present in the guest table: the translation granted the write.
            ++direct;
            if (v.dma(dev, gva, data, sizeof data, true) != 0) {
                ++errors;
                continue;
            }
        } else if (rc == 1) {
            iommu_hwpt_pgfault f{};
            if (!v.read_fault(queue.fd, &f, sizeof f)) {
                ++errors;
                continue;
            }
            ++faults;
            const uint64_t page = gva & ~(page_bytes - 1);
            wrong += f.addr != page || f.perm != IOMMU_PGFAULT_PERM_WRITE;
            // The guest fills its hole (not present -> present) and invalidates the address, as a
            // guest on a caching-mode vIOMMU does before the VMM answers the fault.
            guest.map(f.addr, data_gpa + i * page_bytes);
            p.note_guest_pte_edit("map_hole_GVA_" + hex(f.addr));
            if (v.hwpt_invalidate(nested, {{f.addr, 1, true}}) != 0 ||
                v.page_response(queue.fd, f.cookie, IOMMUFD_PAGE_RESP_SUCCESS) != 0 ||
                p.iopf_complete(pri_device, 0, gva, data, sizeof data, true) != 0) {
                ++errors;
                continue;
            }
        } else {
            ++errors;
            continue;
        }
        const bool ok = std::memcmp(guest.at(data_gpa + i * page_bytes + offset), data, sizeof data) == 0;
        landed += ok;
        log.expect_each(ok, "page " + std::to_string(i) +
                                (is_hole(i) ? ": fault read, table fixed, invalidated, "
                                              "answered, retried write landed"
                                            : ": present, write landed"));
    }
    const uint64_t elapsed_ns = p.now_ns() - start_ns;

    // Outside the window: the VMM refuses, the device's access fails.
    const uint64_t outside = window_gva + pages * page_bytes;
    int refused = -1;
    if (p.iopf_request(pri_device, 0, outside, false) == 1) {
        iommu_hwpt_pgfault f{};
        if (v.read_fault(queue.fd, &f, sizeof f)) {
            v.page_response(queue.fd, f.cookie, IOMMUFD_PAGE_RESP_INVALID);
            uint8_t b = 0;
            refused = p.iopf_complete(pri_device, 0, outside, &b, 1, false);
        }
    }
    const dma_device::stats& s = p.dma_engine(pri_device).statistics();
    log.expect(faults == holes,
               "every hole faulted once (" + std::to_string(faults) + " of " + std::to_string(holes) + ")");
    log.expect(direct == pages - holes, "every present page translated without a fault (" + std::to_string(direct) +
                                            " of " + std::to_string(pages - holes) + ")");
    log.expect(wrong == 0, "every fault named the page and the write permission (" + std::to_string(wrong) + " wrong)");
    log.expect(landed == pages, "every write landed in its guest page (" + std::to_string(landed) + ")");
    log.expect(errors == 0, "no step failed (" + std::to_string(errors) + ")");
    log.expect(refused == -EACCES, "the access answered Invalid failed");
    // Each hole and the refused access: one page request and one response each; each hole one
    // retry, which granted the write.
    log.expect(s.page_requests == holes + 1 && s.page_responses == holes + 1,
               "page requests and responses: " + std::to_string(s.page_requests) + " / " +
                   std::to_string(s.page_responses) + " (" + std::to_string(holes + 1) + " expected)");
    log.expect(s.page_request_retries == holes && s.retries_granted == holes,
               "retries / granted: " + std::to_string(s.page_request_retries) + " / " +
                   std::to_string(s.retries_granted) + " (" + std::to_string(holes) + " expected)");
    log.summary_row("pages (present / holes)", std::to_string(pages - holes) + " / " + std::to_string(holes));
    log.summary_row("faults read from the fault fd", std::to_string(faults));
    log.summary_row("page requests / responses",
                    std::to_string(s.page_requests) + " / " + std::to_string(s.page_responses));
    log.summary_row("retries / granted",
                    std::to_string(s.page_request_retries) + " / " + std::to_string(s.retries_granted));
    log.summary_row("simulated ns per page", std::to_string(pages ? elapsed_ns / pages : 0));
    log.summary_row("page request events", p.statistic("model.iommu.page_request_events"));
    iommusim_close(queue.fd);
}

}  // namespace iommusim::program
