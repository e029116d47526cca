#include "platform/dma_device.h"

#include <algorithm>
#include <cstring>

namespace iommusim {

namespace {
constexpr uint64_t page_bytes = 4096;
constexpr uint32_t no_pasid_key = ~uint32_t{0};  // ATC key of translations for requests without PASID
}  // namespace

dma_device::dma_device(const sc_core::sc_module_name& name, const dma_device_config& cfg, bool use_dmi)
    : sc_core::sc_module(name), socket("socket"), m_cfg(cfg), m_use_dmi(use_dmi) {
    socket.register_invalidate_direct_mem_ptr(this, &dma_device::invalidate_direct_mem_ptr);
    m_ext.requester_id = cfg.rid;
    SC_METHOD(send_completions);
    sensitive << m_completion_event;
    dont_initialize();
}

void dma_device::invalidate(const devtlb_request& req, devtlb_completion_sink& sink) {
    // Type 3 covers requests without PASID; type 8 one PASID or (G=1) all of them.
    atc_invalidate(req.with_pasid && req.all_pasids, req.with_pasid ? req.pasid : no_pasid_key, req.base, req.length);
    if (m_unresponsive)
        return;
    uint32_t mask = uint32_t{1} << req.itag;
    if (m_bad_completion_tag) {
        mask = ~mask;  // names every ITag except the outstanding one
        m_bad_completion_tag = false;
    }
    const sc_core::sc_time latency(static_cast<double>(m_cfg.devtlb_latency_ns), sc_core::SC_NS);
    m_completions.push_back({sc_core::sc_time_stamp() + latency, mask, &sink});
    if (m_completions.size() == 1)
        m_completion_event.notify(latency);
}

void dma_device::send_completions() {
    while (!m_completions.empty() && m_completions.front().due <= sc_core::sc_time_stamp()) {
        const pending_completion c = m_completions.front();
        m_completions.pop_front();
        c.sink->devtlb_complete(m_cfg.rid, c.itag_mask);
    }
    if (!m_completions.empty())
        m_completion_event.notify(m_completions.front().due - sc_core::sc_time_stamp());
}

const tlm::tlm_dmi* dma_device::find_dmi(bool has_pasid, uint32_t pasid, uint64_t addr, std::size_t len,
                                         bool is_write) const {
    for (const dmi_region& r : m_dmi) {
        if (r.has_pasid != has_pasid || (has_pasid && r.pasid != pasid))
            continue;
        const tlm::tlm_dmi& d = r.dmi;
        if (addr < d.get_start_address() || addr + len - 1 > d.get_end_address())
            continue;
        if (is_write ? !d.is_write_allowed() : !d.is_read_allowed())
            continue;
        return &d;
    }
    return nullptr;
}

void dma_device::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
    ++m_stats.dmi_invalidations;
    std::erase_if(m_dmi, [&](const dmi_region& r) {
        return r.dmi.get_start_address() <= end && start <= r.dmi.get_end_address();
    });
}

tlm::tlm_response_status dma_device::transfer(bool has_pasid, uint32_t pasid, uint64_t iova, void* buf, std::size_t len,
                                              bool is_write, hw::fault_reason* reason) {
    ++m_stats.transfers;
    if (reason)
        *reason = hw::fault_reason::none;
    auto* bytes = static_cast<unsigned char*>(buf);
    tlm::tlm_response_status status = tlm::TLM_OK_RESPONSE;
    std::size_t done = 0;
    while (done < len) {
        const uint64_t addr = iova + done;
        const std::size_t chunk = std::min<std::size_t>(len - done, page_bytes - (addr % page_bytes));
        if (m_use_dmi) {
            if (const tlm::tlm_dmi* d = find_dmi(has_pasid, pasid, addr, chunk, is_write)) {
                unsigned char* p = d->get_dmi_ptr() + (addr - d->get_start_address());
                if (is_write)
                    std::memcpy(p, bytes + done, chunk);
                else
                    std::memcpy(bytes + done, p, chunk);
                m_qk.inc(is_write ? d->get_write_latency() : d->get_read_latency());
                ++m_stats.dmi_accesses;
                done += chunk;
                continue;
            }
        }
        tlm::tlm_generic_payload trans;
        m_ext.has_pasid = has_pasid;
        m_ext.pasid = pasid;
        m_ext.priv = false;
        m_ext.exec = false;
        m_ext.ats_translation = false;
        m_ext.clear_response();
        trans.set_command(is_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        trans.set_address(addr);
        trans.set_data_ptr(bytes + done);
        trans.set_data_length(static_cast<unsigned>(chunk));
        trans.set_streaming_width(static_cast<unsigned>(chunk));
        trans.set_byte_enable_ptr(nullptr);
        trans.set_dmi_allowed(false);
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        trans.set_extension(&m_ext);
        sc_core::sc_time delay = m_qk.get_local_time();
        socket->b_transport(trans, delay);
        m_qk.set(delay);
        trans.clear_extension(&m_ext);
        if (trans.get_response_status() != tlm::TLM_OK_RESPONSE) {
            status = trans.get_response_status();
            ++m_stats.faults;
            if (reason)
                *reason = m_ext.fault;
            break;
        }
        if (m_use_dmi && trans.is_dmi_allowed()) {
            tlm::tlm_generic_payload probe;
            probe.set_command(is_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
            probe.set_address(addr);
            probe.set_extension(&m_ext);
            dmi_region r{has_pasid, pasid, {}};
            if (socket->get_direct_mem_ptr(probe, r.dmi))
                m_dmi.push_back(r);
            probe.clear_extension(&m_ext);
        }
        done += chunk;
    }
    m_stats.bytes += done;
    if (m_qk.need_sync())
        m_qk.sync();
    return status;
}

bool dma_device::ats_translate(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, hw::fault_reason* reason) {
    if (!m_cfg.ats)
        return false;
    tlm::tlm_generic_payload trans;
    m_ext.has_pasid = has_pasid;
    m_ext.pasid = pasid;
    m_ext.ats_translation = true;
    m_ext.clear_response();
    trans.set_command(is_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    trans.set_address(iova & ~(page_bytes - 1));
    trans.set_data_ptr(nullptr);
    trans.set_data_length(0);
    trans.set_streaming_width(0);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    trans.set_extension(&m_ext);
    sc_core::sc_time delay = m_qk.get_local_time();
    socket->b_transport(trans, delay);
    m_qk.set(delay);
    trans.clear_extension(&m_ext);
    m_ext.ats_translation = false;
    if (reason)
        *reason = m_ext.fault;
    if (trans.get_response_status() != tlm::TLM_OK_RESPONSE || m_ext.translated_size == 0)
        return false;
    if (m_atc.size() >= m_cfg.devtlb_entries)
        m_atc.erase(m_atc.begin());  // capacity: drop the lowest key
    const uint64_t size = m_ext.translated_size;
    m_atc[{has_pasid ? pasid : no_pasid_key, iova & ~(size - 1)}] = {m_ext.translated_addr, size, m_ext.ats_write};
    return true;
}

unsigned dma_device::atc_invalidate(bool all_pasids, uint32_t pasid, uint64_t base, uint64_t len) {
    ++m_stats.atc_invalidations;
    unsigned dropped = 0;
    for (auto it = m_atc.begin(); it != m_atc.end();) {
        const auto& [key, e] = *it;
        const bool pasid_match = all_pasids || key.first == pasid;
        const bool range_match = len == 0 || (key.second < base + len && base < key.second + e.size);
        if (pasid_match && range_match) {
            it = m_atc.erase(it);
            ++dropped;
        } else {
            ++it;
        }
    }
    m_stats.atc_entries_dropped += dropped;
    return dropped;
}

}  // namespace iommusim
