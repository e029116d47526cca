#include "program/nested_setup.h"

#include <cstring>
#include <sstream>

#include "platform/platform.h"
#include "program/op_trace.h"

namespace iommusim::program {

namespace {
std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}
}  // namespace

nested_setup::nested_setup(scenario_log& log, unsigned device_index) {
    trace_operations(v, log);
    dev = v.open_device(device_index);
    log.step("VMM: opened /dev/vfio/devices/vfio" + std::to_string(device_index) + ", bound to iommufd as dev_id " +
             std::to_string(v.dev_id(dev)));
    ioas = v.ioas_alloc();
    v.ioas_map(ioas, guest.host(), guest.size(), guest.gpa_base());
    log.step("VMM: IOAS " + std::to_string(ioas) + " maps " + std::to_string(guest.size() >> 20) +
             " MiB of guest RAM at GPA " + hex(guest.gpa_base()));
    parent = v.hwpt_alloc_nest_parent(dev, ioas);
    log.step("VMM: nest parent HWPT " + std::to_string(parent) + " (host stage 2: GPA -> HPA)");
    fill(page_a, 0xaa);
    fill(page_b, 0xbb);
    guest.map(gva, page_a);
    log.step("guest: stage-1 table at GPA " + hex(guest.s1_root()) + " maps GVA " + hex(gva) + " -> GPA " +
             hex(page_a) + " (filled with 0xaa)");
    nested = v.hwpt_alloc_nested_vtd(dev, parent, guest.s1_root());
    log.step("VMM: nested HWPT " + std::to_string(nested) + " (IOMMU_HWPT_DATA_VTD_S1 over the guest table)");
    v.attach(dev, nested);
    log.step("VMM: device attached to the nested HWPT");
}

void nested_setup::fill(uint64_t gpa, uint8_t value) {
    std::memset(guest.at(gpa), value, 4096);
}

int nested_setup::read(uint64_t gva_addr, void* buf, std::size_t len, int* reason) {
    return v.dma(dev, gva_addr, buf, len, false, 0, reason);
}

uint64_t platform_stale_hits() {
    return platform::instance().stale_hits();
}

}  // namespace iommusim::program
