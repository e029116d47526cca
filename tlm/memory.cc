#include "tlm/memory.h"

#include <cstring>
#include <vector>

namespace iommusim {

namespace {
constexpr const char* msg_type = "iommusim/memory";
constexpr uint64_t page_mask = 0xfff;
}  // namespace

memory::memory(const sc_core::sc_module_name& name, const memory_config& cfg)
    : sc_core::sc_module(name)
    , target_socket("target_socket")
    , m_cfg(cfg)
    , m_store(cfg.addr_bits)
    , m_read_latency(sc_core::sc_time(static_cast<double>(cfg.read_ns), sc_core::SC_NS))
    , m_write_latency(sc_core::sc_time(static_cast<double>(cfg.write_ns), sc_core::SC_NS)) {
    if (cfg.addr_bits < 32 || cfg.addr_bits > 64) {
        SC_REPORT_FATAL(msg_type, "addr_bits must be 32..64");
    }
    target_socket.register_b_transport(this, &memory::b_transport);
    target_socket.register_transport_dbg(this, &memory::transport_dbg);
    target_socket.register_get_direct_mem_ptr(this, &memory::get_direct_mem_ptr);
}

bool memory::access(tlm::tlm_generic_payload& trans) {
    const uint64_t addr = trans.get_address();
    const unsigned len = trans.get_data_length();
    uint8_t* data = trans.get_data_ptr();
    const uint8_t* be = trans.get_byte_enable_ptr();
    const unsigned be_len = trans.get_byte_enable_length();
    if (trans.is_read()) {
        if (!be) {
            return m_store.read(addr, data, len);
        }
        std::vector<uint8_t> tmp(len);
        if (!m_store.read(addr, tmp.data(), len)) {
            return false;
        }
        for (unsigned i = 0; i < len; ++i) {
            if (be[i % be_len] == TLM_BYTE_ENABLED) {
                data[i] = tmp[i];
            }
        }
        return true;
    }
    if (trans.is_write()) {
        if (!be) {
            return m_store.write(addr, data, len);
        }
        std::vector<uint8_t> tmp(len);
        if (!m_store.read(addr, tmp.data(), len)) {
            return false;
        }
        for (unsigned i = 0; i < len; ++i) {
            if (be[i % be_len] == TLM_BYTE_ENABLED) {
                tmp[i] = data[i];
            }
        }
        return m_store.write(addr, tmp.data(), len);
    }
    return true;  // TLM_IGNORE_COMMAND
}

void memory::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    if (trans.get_streaming_width() < trans.get_data_length()) {
        trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        ++m_stats.errors;
        return;
    }
    if (trans.get_byte_enable_ptr() && trans.get_byte_enable_length() == 0) {
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        ++m_stats.errors;
        return;
    }
    if (!access(trans)) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ++m_stats.errors;
        return;
    }
    if (trans.is_read()) {
        ++m_stats.reads;
        delay += m_read_latency;
    } else if (trans.is_write()) {
        ++m_stats.writes;
        delay += m_write_latency;
    }
    if (m_cfg.dmi && !m_store.is_adopted(trans.get_address())) {
        trans.set_dmi_allowed(true);
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int memory::transport_dbg(tlm::tlm_generic_payload& trans) {
    ++m_stats.debug_accesses;
    const uint64_t addr = trans.get_address();
    const unsigned len = trans.get_data_length();
    bool ok = true;
    if (trans.is_read()) {
        ok = m_store.read(addr, trans.get_data_ptr(), len);
    }
    if (trans.is_write()) {
        ok = m_store.write(addr, trans.get_data_ptr(), len);
    }
    trans.set_response_status(ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return ok ? len : 0;
}

bool memory::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
    const uint64_t addr = trans.get_address();
    if (m_cfg.dmi) {
        // Prefer a span from the start of the page, so that neighbouring accesses reuse the grant.
        uint64_t start = addr & ~page_mask;
        std::size_t len = 0;
        uint8_t* p = m_store.host_ptr(start, len);
        if (!p || start + len <= addr) {
            start = addr;
            p = m_store.host_ptr(start, len);
        }
        if (p && len) {
            dmi.set_dmi_ptr(p);
            dmi.set_start_address(start);
            dmi.set_end_address(start + len - 1);
            dmi.allow_read_write();
            dmi.set_read_latency(m_read_latency);
            dmi.set_write_latency(m_write_latency);
            ++m_stats.dmi_grants;
            return true;
        }
    }
    // Denied for this address only.
    dmi.set_start_address(addr);
    dmi.set_end_address(addr);
    dmi.allow_none();
    return false;
}

void memory::revoke(uint64_t start, uint64_t end) {
    // Before binding nobody can hold a pointer.
    if (target_socket.get_base_port().size() > 0) {
        target_socket->invalidate_direct_mem_ptr(start, end);
    }
}

bool memory::adopt(uint64_t pa, void* host, std::size_t len) {
    if (!m_store.adopt(pa, host, len)) {
        return false;
    }
    revoke(pa, pa + len - 1);
    return true;
}

bool memory::release(uint64_t pa, std::size_t len) {
    if (!m_store.release(pa)) {
        return false;
    }
    revoke(pa, pa + len - 1);
    return true;
}

void memory::inject_error_range(uint64_t pa, uint64_t len) {
    m_store.inject_error_range(pa, len);
    if (len) {
        revoke(pa, pa + len - 1);
    }
}

void memory::clear_error_ranges() {
    m_store.clear_error_ranges();
}

}  // namespace iommusim
