#include "program/op_trace.h"

#include "driver/vtd_iommu.h"
#include "platform/platform.h"

namespace iommusim::program {

void trace_operations(vmm& v, scenario_log& log) {
    if (log.level() != verbosity::verbose) {
        return;
    }
    platform& p = platform::instance();
    // What the driver and the IOMMU did since the previous call, read from their counters.
    struct seen {
        uint64_t descriptors = 0;
        uint64_t batches = 0;
        uint64_t faults = 0;
    };
    auto counters = [&p] {
        const driver::qi_stats& q = p.vtd_driver().qi().stats();
        return seen{q.descriptors, q.batches, p.recorded_faults()};
    };
    v.set_trace([&log, counters, last = counters()](const std::string& line) mutable {
        const seen now = counters();
        std::string text = line;
        // Since the previous call: a scenario may also reach the driver directly (a raw descriptor).
        if (now.descriptors != last.descriptors) {
            text += "; since the previous call the driver queued " +
                    std::to_string(now.descriptors - last.descriptors) + " descriptor(s) (waits included) in " +
                    std::to_string(now.batches - last.batches) + " batch(es)";
        }
        if (now.faults != last.faults) {
            text += "; the IOMMU recorded " + std::to_string(now.faults - last.faults) + " fault(s)";
        }
        last = now;
        log.detail(text);
    });
}

}  // namespace iommusim::program
