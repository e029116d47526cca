// The interrupt lines: one 1 ns pulse per fault, completion or page request message.
#include "tlm/iommu.h"

namespace iommusim {

void iommu::send(pulse& p) {
    ++p.pending;
    if (!p.high) {
        // At once (the line's process runs in this delta cycle); a register access (an unmasking)
        // sends at its annotated time.
        if (m_access_delay == sc_core::SC_ZERO_TIME) {
            p.ev.notify();
        } else {
            p.ev.notify(m_access_delay);
        }
    }
}

void iommu::drive(sc_core::sc_signal_inout_if<bool>* line, pulse& p) {
    if (p.high) {
        if (line) {
            line->write(false);
        }
        p.high = false;
        if (p.pending) {
            p.ev.notify(1, sc_core::SC_NS);
        }
        return;
    }
    if (p.pending) {
        --p.pending;
        if (line) {
            line->write(true);
        }
        p.high = true;
        p.ev.notify(1, sc_core::SC_NS);
    }
}

}  // namespace iommusim
