// The MMIO socket: 4- and 8-byte accesses to the register block.
#include "tlm/iommu.h"

#include <cstring>

namespace iommusim {

namespace {

// A 4- or 8-byte register access's data (each size a constant copy: no library call).
void copy_register_bytes(void* to, const void* from, unsigned len) {
    if (len == 8) {
        std::memcpy(to, from, 8);
    } else {
        std::memcpy(to, from, 4);
    }
}

}  // namespace

// An access acts at the initiator's time, `delay` after the kernel's: what it starts (the queue
// engine, an interrupt message) is scheduled that much later, and what it records is stamped then.
void iommu::mmio_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const sc_core::sc_time acts_after = delay;
    delay += m_mmio_latency;
    const unsigned len = trans.get_data_length();
    if (trans.get_byte_enable_ptr()) {
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        ++m_stats.mmio_errors;
        return;
    }
    if (trans.get_address() > UINT32_MAX || (len != 4 && len != 8) || trans.get_streaming_width() < len) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ++m_stats.mmio_errors;
        return;
    }
    const uint32_t off = static_cast<uint32_t>(trans.get_address());
    uint64_t v = 0;
    bool ok = true;
    m_access_delay = acts_after;  // only while the registers act: refused accesses return earlier
    if (trans.is_read()) {
        ++m_stats.mmio_reads;
        ok = m_regs.read(off, len, v);
        if (ok) {
            copy_register_bytes(trans.get_data_ptr(), &v, len);
        }
    } else if (trans.is_write()) {
        ++m_stats.mmio_writes;
        copy_register_bytes(&v, trans.get_data_ptr(), len);
        ok = m_regs.write(off, len, v);
    }
    m_access_delay = sc_core::SC_ZERO_TIME;
    if (!ok) {
        ++m_stats.mmio_errors;
    }
    trans.set_response_status(ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

unsigned int iommu::mmio_transport_dbg(tlm::tlm_generic_payload& trans) {
    // Debug reads only (no side effects); 4 or 8 bytes at a register.
    const unsigned len = trans.get_data_length();
    uint64_t v = 0;
    if (!trans.is_read() || trans.get_address() > UINT32_MAX ||
        !m_regs.read(static_cast<uint32_t>(trans.get_address()), len, v)) {
        return 0;
    }
    std::memcpy(trans.get_data_ptr(), &v, len);
    return len;
}

}  // namespace iommusim
