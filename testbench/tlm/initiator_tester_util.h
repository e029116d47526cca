// A TLM initiator for tests (QBox initiator-tester style): blocking reads/writes that return the
// response status, DMI requests, and a log of the DMI invalidations it received. The test body runs
// in an SC_THREAD so b_transport targets may wait.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <cstdint>
#include <cstring>
#include <functional>
#include <systemc>
#include <tlm>
#include <utility>
#include <vector>

#include "tlm/dma_extension.h"

namespace iommusim::test {

class initiator_tester : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<initiator_tester> socket;
    std::function<void()> body;                                // run once in a thread at simulation start
    sc_core::sc_time delay;                                    // accumulated annotated delay of the last access
    sc_core::sc_time run_ahead;                                // local time each access starts with (decoupling)
    std::vector<std::pair<uint64_t, uint64_t>> invalidations;  // DMI ranges revoked by the target
    dma_extension* extension = nullptr;                        // attached to every payload (not owned)

    SC_HAS_PROCESS(initiator_tester);
    explicit initiator_tester(const sc_core::sc_module_name& name) : sc_core::sc_module(name), socket("socket") {
        socket.register_invalidate_direct_mem_ptr(this, &initiator_tester::invalidate);
        SC_THREAD(run);
    }

    tlm::tlm_response_status access(tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
        tlm::tlm_generic_payload p;
        p.set_command(cmd);
        p.set_address(addr);
        p.set_data_ptr(static_cast<unsigned char*>(data));
        p.set_data_length(len);
        p.set_streaming_width(len);
        p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        if (extension) {
            p.set_extension(extension);
        }
        delay = run_ahead;
        socket->b_transport(p, delay);
        last_dmi_allowed = p.is_dmi_allowed();
        if (extension) {
            p.clear_extension(extension);
        }
        return p.get_response_status();
    }
    tlm::tlm_response_status read(uint64_t addr, void* data, unsigned len) {
        return access(tlm::TLM_READ_COMMAND, addr, data, len);
    }
    tlm::tlm_response_status write(uint64_t addr, const void* data, unsigned len) {
        return access(tlm::TLM_WRITE_COMMAND, addr, const_cast<void*>(data), len);
    }
    tlm::tlm_response_status read32(uint64_t addr, uint32_t& v) { return read(addr, &v, 4); }
    tlm::tlm_response_status read64(uint64_t addr, uint64_t& v) { return read(addr, &v, 8); }
    tlm::tlm_response_status write32(uint64_t addr, uint32_t v) { return write(addr, &v, 4); }
    tlm::tlm_response_status write64(uint64_t addr, uint64_t v) { return write(addr, &v, 8); }

    bool get_dmi(uint64_t addr, tlm::tlm_dmi& dmi, bool for_write = false) {
        tlm::tlm_generic_payload p;
        p.set_command(for_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        p.set_address(addr);
        if (extension) {
            p.set_extension(extension);
        }
        const bool ok = socket->get_direct_mem_ptr(p, dmi);
        if (extension) {
            p.clear_extension(extension);
        }
        return ok;
    }
    unsigned debug(tlm::tlm_command cmd, uint64_t addr, void* data, unsigned len) {
        tlm::tlm_generic_payload p;
        p.set_command(cmd);
        p.set_address(addr);
        p.set_data_ptr(static_cast<unsigned char*>(data));
        p.set_data_length(len);
        return socket->transport_dbg(p);
    }

    bool last_dmi_allowed = false;
    bool done = false;

  private:
    void run() {
        if (body) {
            body();
        }
        done = true;
    }
    void invalidate(sc_dt::uint64 start, sc_dt::uint64 end) { invalidations.emplace_back(start, end); }
};

}  // namespace iommusim::test
