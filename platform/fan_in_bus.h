// Many initiators, one target: the devices' PCIe side into the IOMMU's upstream socket, and the
// CPU plus the IOMMU into memory. Transactions pass through unchanged (the DMA extension carries
// the requester id); DMI invalidations from the target are broadcast back to every initiator.
//
// Models: a zero-latency interconnect (latency belongs to the IOMMU and the memory).
// Does not model: arbitration, posted-write ordering, address decoding.
#pragma once

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

namespace iommusim {

class fan_in_bus : public sc_core::sc_module {
  public:
    tlm_utils::multi_passthrough_target_socket<fan_in_bus> target_socket;
    tlm_utils::simple_initiator_socket<fan_in_bus> initiator_socket;

    explicit fan_in_bus(const sc_core::sc_module_name& name);
    fan_in_bus(const fan_in_bus&) = delete;
    fan_in_bus& operator=(const fan_in_bus&) = delete;

  private:
    void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned int transport_dbg(int id, tlm::tlm_generic_payload& trans);
    bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);
};

}  // namespace iommusim
