#include "rtl/iotlb_protocol_checker.h"

#include <sstream>
#include <string>

namespace iommusim {

const char* iotlb_channel_name(iotlb_channel c) {
    switch (c) {
        case iotlb_channel::lookup:
            return "lookup";
        case iotlb_channel::fill:
            return "fill";
        case iotlb_channel::invalidate:
            return "invalidate";
    }
    return "?";
}

std::string iotlb_protocol_violation::to_string() const {
    std::ostringstream os;
    os << "cycle " << cycle << " (" << time_ps << " ps): " << what;
    return os.str();
}

void iotlb_protocol_checker::violated(uint64_t cycle, uint64_t time_ps, std::string what) {
    ++m_count;
    if (m_log.size() < log_limit) {
        m_log.push_back({cycle, time_ps, std::move(what)});
    }
}

void iotlb_protocol_checker::reset() {
    m_have_previous = false;
    m_in_flight = -1;
}

void iotlb_protocol_checker::on_design_errors(uint64_t count, uint64_t cycle, uint64_t time_ps) {
    violated(cycle, time_ps,
             "the design reported " + std::to_string(count) + (count == 1 ? " error" : " errors") +
                 " (a failed assertion or $error; its message is printed above)");
}

void iotlb_protocol_checker::on_edge(const iotlb_port_sample& ports, uint64_t cycle, uint64_t time_ps) {
    for (unsigned c = 0; c < iotlb_channel_count; ++c) {
        // Names are built only for a violation: this runs at every clock edge.
        const char* name = iotlb_channel_name(static_cast<iotlb_channel>(c));
        // A handshake that was pending at the last edge must be held, unchanged, until it completes.
        auto held = [&](const iotlb_port_handshake& before, const iotlb_port_handshake& now, const char* side) {
            if (!m_have_previous || !before.valid || before.ready) {
                return;
            }
            if (!now.valid) {
                violated(cycle, time_ps, std::string(name) + " " + side + " valid dropped before ready");
            } else if (now.payload != before.payload) {
                violated(cycle, time_ps, std::string(name) + " " + side + " payload changed while valid and not ready");
            }
        };
        held(m_previous.request[c], ports.request[c], "request");
        held(m_previous.response[c], ports.response[c], "response");
        // A response needs an accepted request of its channel (reported once, when it appears).
        const bool was_valid = m_have_previous && m_previous.response[c].valid;
        if (ports.response[c].valid && !was_valid && m_in_flight != static_cast<int>(c)) {
            violated(cycle, time_ps, std::string(name) + " response without a request");
        }
    }
    // Responses complete at this edge before requests are accepted at it (the RTL takes the next
    // request in the cycle its response is taken).
    if (m_in_flight >= 0 && ports.response[m_in_flight].valid && ports.response[m_in_flight].ready) {
        m_in_flight = -1;
    }
    for (unsigned c = 0; c < iotlb_channel_count; ++c) {
        if (!ports.request[c].valid || !ports.request[c].ready) {
            continue;
        }
        if (m_in_flight >= 0) {
            violated(cycle, time_ps,
                     std::string(iotlb_channel_name(static_cast<iotlb_channel>(c))) + " request accepted while a " +
                         iotlb_channel_name(static_cast<iotlb_channel>(m_in_flight)) + " operation is in flight");
        }
        m_in_flight = static_cast<int>(c);
    }
    m_previous = ports;
    m_have_previous = true;
}

std::string iotlb_protocol_checker::report() const {
    std::string out;
    for (const iotlb_protocol_violation& v : m_log) {
        out += v.to_string() + "\n";
    }
    if (m_count > m_log.size()) {
        out += "... " + std::to_string(m_count - m_log.size()) + " more\n";
    }
    return out;
}

}  // namespace iommusim
