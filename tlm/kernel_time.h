// The SystemC kernel's time, read inline: sc_core::sc_time_stamp() is a library call that reads the
// same value, and the hot paths (every DMA, every CPU synchronisation, every queue-engine step)
// read it often. And a time in whole nanoseconds, rounded, without the library's floating-point
// conversion.
#pragma once

#include <cstdint>
#include <systemc>

namespace iommusim {

inline const sc_core::sc_time& kernel_time() {
    return sc_core::sc_get_curr_simcontext()->time_stamp();
}

// t in nanoseconds, rounded to the nearest (a half rounds up).
inline uint64_t rounded_ns(const sc_core::sc_time& t) {
    // The resolution is fixed once a time exists (the kernel refuses to change it later).
    static const uint64_t units_per_ns = sc_core::sc_time(1, sc_core::SC_NS).value();
    if (units_per_ns == 0) [[unlikely]] {  // a resolution coarser than 1 ns
        return static_cast<uint64_t>(t.to_seconds() * 1e9 + 0.5);
    }
    return (t.value() + units_per_ns / 2) / units_per_ns;
}

}  // namespace iommusim
