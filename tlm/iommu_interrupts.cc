// The interrupt lines: one 1 ns pulse per fault or completion message.
#include "tlm/iommu.h"

namespace iommusim {

void iommu::send(pulse& p) {
    ++p.pending;
    if (!p.high) {
        p.ev.notify(sc_core::SC_ZERO_TIME);
    }
}

void iommu::drive(sc_core::sc_out<bool>& line, pulse& p) {
    if (p.high) {
        line.write(false);
        p.high = false;
        if (p.pending) {
            p.ev.notify(1, sc_core::SC_NS);
        }
        return;
    }
    if (p.pending) {
        --p.pending;
        line.write(true);
        p.high = true;
        p.ev.notify(1, sc_core::SC_NS);
    }
}

}  // namespace iommusim
