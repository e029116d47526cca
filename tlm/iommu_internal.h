// Pieces the IOMMU shell's source files share (tlm/iommu*.cc, tlm/dmi_grants.cc); not a public header.
#pragma once

#include <cstdint>
#include <systemc>

#include "tlm/iommu.h"

namespace iommusim::iommu_detail {

constexpr const char* msg_type = "iommusim/iommu";
constexpr uint64_t page_4k = 4096;

inline sc_core::sc_time ns(uint64_t v) {
    return sc_core::sc_time(static_cast<double>(v), sc_core::SC_NS);
}

inline bool in_thread() {
    return sc_core::sc_get_current_process_handle().proc_kind() == sc_core::SC_THREAD_PROC_;
}

}  // namespace iommusim::iommu_detail

namespace iommusim {

// phys_mem_if over initiator_socket. The timed instance accumulates each access's annotated delay
// into m_delay, which the DMA path resets per request; the queue engine's instance is untimed and
// reads and writes through the memory's DMI pointers where it grants them (the latency it would
// annotate is not charged either way), else through b_transport.
class iommu::socket_memory final : public phys_mem_if {
  public:
    socket_memory(iommu& owner, bool timed) : m_owner(owner), m_timed(timed) {}

    bool read(uint64_t pa, void* dst, std::size_t len) override { return access(tlm::TLM_READ_COMMAND, pa, dst, len); }
    bool write(uint64_t pa, const void* src, std::size_t len) override {
        return access(tlm::TLM_WRITE_COMMAND, pa, const_cast<void*>(src), len);
    }
    // The walker's A/D updates. No other initiator runs between the two accesses (b_transport of
    // the memory does not wait), so the pair is atomic in the simulation.
    bool cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) override {
        if (!read(pa, &observed, sizeof observed)) {
            return false;
        }
        if (observed != expected) {
            return true;
        }
        return write(pa, &desired, sizeof desired);
    }
    // The memory revoked its DMI pointers over [start, end].
    void invalidate_dmi(uint64_t start, uint64_t end) { m_dmi.invalidate(start, end); }

    sc_core::sc_time m_delay;

  private:
    bool access(tlm::tlm_command cmd, uint64_t pa, void* data, std::size_t len) {
        const bool rd = cmd == tlm::TLM_READ_COMMAND;
        if (!m_timed && m_dmi.copy(pa, data, len, rd)) {
            return true;
        }
        // Reused: the memory's b_transport never waits, so no second access starts meanwhile.
        tlm::tlm_generic_payload& p = m_payload;
        p.set_command(cmd);
        p.set_address(pa);
        p.set_data_ptr(static_cast<unsigned char*>(data));
        p.set_data_length(static_cast<unsigned>(len));
        p.set_streaming_width(static_cast<unsigned>(len));
        p.set_dmi_allowed(false);
        p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        m_owner.initiator_socket->b_transport(p, d);
        if (m_timed) {
            m_delay += d;
        }
        const bool ok = p.is_response_ok();
        if (!m_timed && ok && p.is_dmi_allowed() && (rd || cmd == tlm::TLM_WRITE_COMMAND)) {
            tlm::tlm_dmi granted;
            if (m_owner.initiator_socket->get_direct_mem_ptr(p, granted)) {
                m_dmi.remember(pa, granted);
            }
        }
        return ok;
    }

    iommu& m_owner;
    bool m_timed;
    tlm::tlm_generic_payload m_payload;
    dmi_slots<8> m_dmi;  // by 4 KiB page: the queue's ring pages and status words
};

}  // namespace iommusim
