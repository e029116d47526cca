// A checker of the RTL IOTLB's valid/ready port contract (rtl/iotlb.sv), fed the ports once per
// rising clock edge (the values that edge samples) by the adapter (rtl/rtl_iotlb.cc).
//
// Models: per channel (lookup, fill, invalidate) a request and a response valid/ready pair with
// its payload words; names each violation with its cycle and time: a response without a request,
// a request (or response) payload changed while valid and not ready, valid dropped before ready,
// a second operation accepted while one is in flight (the RTL serves one at a time), and errors
// the design reports itself (its assertions, as rtl/iotlb.sv's, fed in by the adapter).
// Does not model: X on an output: Verilator's model is 2-state, every bit is 0 or 1 (X sources
// become values by its x-assign/x-initial policy), so X cannot be seen at the adapter.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace iommusim {

// One valid/ready handshake and the payload it carries (unused words stay 0).
struct iotlb_port_handshake {
    bool valid = false;
    bool ready = false;
    std::array<uint64_t, 12> payload{};
    bool operator==(const iotlb_port_handshake&) const = default;
};

enum class iotlb_channel : uint8_t { lookup, fill, invalidate };
constexpr unsigned iotlb_channel_count = 3;
const char* iotlb_channel_name(iotlb_channel c);

// The ports at one rising edge.
struct iotlb_port_sample {
    std::array<iotlb_port_handshake, iotlb_channel_count> request;
    std::array<iotlb_port_handshake, iotlb_channel_count> response;
};

struct iotlb_protocol_violation {
    uint64_t cycle = 0;
    uint64_t time_ps = 0;
    std::string what;  // e.g. "fill response without a request"
    std::string to_string() const;
};

class iotlb_protocol_checker {
  public:
    // Checks one rising edge against the previous ones.
    void on_edge(const iotlb_port_sample& ports, uint64_t cycle, uint64_t time_ps);
    // Forgets the history (reset asserted: nothing is in flight).
    void reset();
    // The design itself reported `count` new errors (failed assertions, $error) at this edge.
    void on_design_errors(uint64_t count, uint64_t cycle, uint64_t time_ps);

    uint64_t violations() const { return m_count; }
    const std::vector<iotlb_protocol_violation>& log() const { return m_log; }  // the first log_limit
    // The logged violations, one a line.
    std::string report() const;

    static constexpr std::size_t log_limit = 16;

  private:
    void violated(uint64_t cycle, uint64_t time_ps, std::string what);

    iotlb_port_sample m_previous;
    bool m_have_previous = false;
    int m_in_flight = -1;  // channel of the accepted operation whose response is pending, -1: none
    uint64_t m_count = 0;
    std::vector<iotlb_protocol_violation> m_log;
};

// The sample of the contract's pins (docs/rtl-iotlb-contract.md names): inputs as the adapter drives them,
// outputs as the design presents them (rtl/plugin ABI structs, or one verilated class for both).
template <typename In, typename Out>
iotlb_port_sample sample_iotlb_ports(const In& i, const Out& o) {
    iotlb_port_sample s;
    auto& lr = s.request[0];
    lr = {static_cast<bool>(i.lkp_req_valid_i),
          static_cast<bool>(o.lkp_req_ready_o),
          {i.lkp_req_did_i, i.lkp_req_pasid_i, i.lkp_req_kind_i, i.lkp_req_vpn_i}};
    s.response[0] = {static_cast<bool>(o.lkp_resp_valid_o),
                     static_cast<bool>(i.lkp_resp_ready_i),
                     {o.lkp_resp_hit_o, o.lkp_resp_set_o, o.lkp_resp_way_o, o.lkp_resp_did_o, o.lkp_resp_pasid_o,
                      o.lkp_resp_kind_o, o.lkp_resp_level_o, o.lkp_resp_vpn_o, o.lkp_resp_pfn_o, o.lkp_resp_perm_o}};
    s.request[1] = {static_cast<bool>(i.fill_req_valid_i),
                    static_cast<bool>(o.fill_req_ready_o),
                    {i.fill_req_did_i, i.fill_req_pasid_i, i.fill_req_kind_i, i.fill_req_level_i, i.fill_req_vpn_i,
                     i.fill_req_pfn_i, i.fill_req_perm_i}};
    s.response[1] = {
        static_cast<bool>(o.fill_resp_valid_o),
        static_cast<bool>(i.fill_resp_ready_i),
        {o.fill_resp_set_o, o.fill_resp_way_o, o.fill_resp_replaced_o, o.fill_resp_evict_valid_o,
         o.fill_resp_evict_did_o, o.fill_resp_evict_pasid_o, o.fill_resp_evict_kind_o, o.fill_resp_evict_level_o,
         o.fill_resp_evict_vpn_o, o.fill_resp_evict_pfn_o, o.fill_resp_evict_perm_o}};
    s.request[2] = {static_cast<bool>(i.inv_req_valid_i),
                    static_cast<bool>(o.inv_req_ready_o),
                    {i.inv_req_scope_i, i.inv_req_did_i, i.inv_req_pasid_i, i.inv_req_vpn_i, i.inv_req_am_i}};
    s.response[2] = {
        static_cast<bool>(o.inv_resp_valid_o), static_cast<bool>(i.inv_resp_ready_i), {o.inv_resp_count_o}};
    return s;
}

}  // namespace iommusim
