#include "program/lockstep_check.h"

#include <string>

#include "rtl/lockstep_iotlb.h"

namespace iommusim::program {

void check_lockstep(platform& p, scenario_log& log) {
    lockstep_iotlb* ls = p.lockstep();
    if (!ls) {
        return;
    }
    // A difference no operation has shown yet (an entry one side silently lost) still counts.
    ls->compare_state();
    const uint64_t operations = ls->operations(), divergences = ls->divergences();
    log.summary_row("lockstep compared operations", std::to_string(operations));
    log.summary_row("lockstep divergences", std::to_string(divergences));
    std::string what = "the C++ and RTL IOTLBs agree on all " + std::to_string(operations) + " compared operations";
    if (const lockstep_divergence* first = ls->first_divergence()) {
        what += " (" + std::to_string(divergences) + " divergence(s); first: " + first->to_string() + ")";
    }
    log.expect(divergences == 0, what);
}

}  // namespace iommusim::program
