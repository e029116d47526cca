#include "program/lockstep_check.h"

#include <string>

#include "rtl/lockstep_iotlb.h"
#include "tlm/iotlb_if.h"

namespace iommusim::program {

void check_lockstep(platform& p, scenario_log& log) {
    // The RTL's port contract, with the RTL IOTLB alone or in lockstep.
    const iotlb_if& tlb = p.iotlb();
    if (p.config().iotlb != "cpp") {
        const uint64_t violations = tlb.protocol_violations();
        log.summary_row("iotlb protocol violations", std::to_string(violations));
        log.expect(violations == 0, violations == 0
                                        ? std::string("the RTL IOTLB kept its port contract")
                                        : "the RTL IOTLB violated its port contract " + std::to_string(violations) +
                                              " time(s):\n" + tlb.protocol_report());
    }
    lockstep_iotlb* ls = p.lockstep();
    if (!ls) {
        return;
    }
    // A difference no operation has shown yet (an entry one side silently lost) still counts.
    ls->compare_state();
    const uint64_t operations = ls->operations(), divergences = ls->divergences();
    log.summary_row("lockstep compared operations", std::to_string(operations));
    log.summary_row("lockstep divergences", std::to_string(divergences));
    log.summary_row("lockstep replacement", std::string(to_string(ls->replacement())));
    if (ls->replacement() == iotlb_replacement::free && ls->lookups() != 0) {
        // Reported, never failed: a design with its own victim choice hits differently.
        auto rate = [&](uint64_t hits) {
            return std::to_string(hits * 1000 / ls->lookups() / 10.0).substr(0, 5) + " %";
        };
        log.summary_row("lockstep hit rate reference / dut", rate(ls->reference_hits()) + " / " + rate(ls->dut_hits()));
    }
    std::string what = "the C++ and RTL IOTLBs agree on all " + std::to_string(operations) + " compared operations";
    if (const lockstep_divergence* first = ls->first_divergence()) {
        what += " (" + std::to_string(divergences) + " divergence(s); first: " + first->to_string() + ")";
    }
    log.expect(divergences == 0, what);
}

}  // namespace iommusim::program
