#include "platform/fan_in_bus.h"

namespace iommusim {

fan_in_bus::fan_in_bus(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name), target_socket("target_socket"), initiator_socket("initiator_socket") {
    target_socket.register_b_transport(this, &fan_in_bus::b_transport);
    target_socket.register_transport_dbg(this, &fan_in_bus::transport_dbg);
    target_socket.register_get_direct_mem_ptr(this, &fan_in_bus::get_direct_mem_ptr);
    initiator_socket.register_invalidate_direct_mem_ptr(this, &fan_in_bus::invalidate_direct_mem_ptr);
}

void fan_in_bus::b_transport(int, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    initiator_socket->b_transport(trans, delay);
}

unsigned int fan_in_bus::transport_dbg(int, tlm::tlm_generic_payload& trans) {
    return initiator_socket->transport_dbg(trans);
}

bool fan_in_bus::get_direct_mem_ptr(int, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
    return initiator_socket->get_direct_mem_ptr(trans, dmi);
}

void fan_in_bus::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
    for (unsigned i = 0; i < target_socket.size(); ++i) {
        target_socket[i]->invalidate_direct_mem_ptr(start, end);
    }
}

}  // namespace iommusim
