// The SystemC kernel's time, read inline: sc_core::sc_time_stamp() is a library call that reads the
// same value, and the hot paths (every DMA, every CPU synchronisation, every queue-engine step)
// read it often.
#pragma once

#include <systemc>

namespace iommusim {

inline const sc_core::sc_time& kernel_time() {
    return sc_core::sc_get_curr_simcontext()->time_stamp();
}

}  // namespace iommusim
