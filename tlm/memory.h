// Physical memory as a TLM-2.0 target, over a sparse_memory.
//
// Models: loosely-timed b_transport with a fixed annotated read/write latency, byte enables,
// transport_dbg (untimed), DMI for one 4 KiB page of owned memory (with the same latencies), host
// buffers adopted as physical regions (never through DMI: the host can unmap them at any time),
// injected access-error ranges and adopted memory the host no longer maps or lets us write (both
// answered with TLM_ADDRESS_ERROR_RESPONSE, a target abort). Adopting, releasing or poisoning a
// range revokes DMI over it.
// Does not model: bandwidth, banks, contention, cache coherence.
#pragma once

#include <tlm_utils/simple_target_socket.h>
#include <cstdint>
#include <systemc>
#include <tlm>

#include "tlm/sparse_memory.h"

namespace iommusim {

struct memory_config {
    uint64_t read_ns = 60;    // latency annotated on every b_transport read
    uint64_t write_ns = 60;   // latency annotated on every b_transport write
    unsigned addr_bits = 52;  // accesses at or above 2^addr_bits fail
    bool dmi = true;          // grant DMI pointers
};

class memory : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<memory> target_socket;

    struct stats {
        uint64_t reads = 0;
        uint64_t writes = 0;
        uint64_t errors = 0;  // accesses answered with an error response
        uint64_t dmi_grants = 0;
        uint64_t debug_accesses = 0;
    };

    memory(const sc_core::sc_module_name& name, const memory_config& cfg);
    memory(const memory&) = delete;
    memory& operator=(const memory&) = delete;

    // The backing store (tests and the platform preload tables through it, untimed).
    sparse_memory& store() { return m_store; }
    const memory_config& config() const { return m_cfg; }

    // Forwarded to sparse_memory; revoke any DMI pointer over the range.
    bool adopt(uint64_t pa, void* host, std::size_t len);
    bool release(uint64_t pa, std::size_t len);
    void inject_error_range(uint64_t pa, uint64_t len);
    void clear_error_ranges();

    const stats& statistics() const { return m_stats; }

  private:
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
    bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
    // Moves data between the payload and the store; false on an access error.
    bool access(tlm::tlm_generic_payload& trans);
    void revoke(uint64_t start, uint64_t end);

    memory_config m_cfg;
    sparse_memory m_store;
    sc_core::sc_time m_read_latency;
    sc_core::sc_time m_write_latency;
    stats m_stats;
};

}  // namespace iommusim
