#include "platform/own_device.h"

#include <algorithm>

#include "tlm/kernel_time.h"

namespace iommusim {

namespace {
constexpr uint64_t page_bytes = 4096;
}  // namespace

std::string own_device_config::validate() const {
    if (pri && !ats) {
        return "pri needs ats (page requests follow ATS translation requests, docs/vtd-facts.md §10)";
    }
    if (devtlb_latency_ns == 0 && ats) {
        return "devtlb_latency_ns must be at least 1";
    }
    return "";
}

// The device TLB answers the invalidation queue; the device hears of each message after it.
class own_device::tlb_port : public device_tlb_port {
  public:
    explicit tlb_port(own_device& dev) : m_dev(dev) {}
    void invalidate(const devtlb_request& req, devtlb_completion_sink& sink) override {
        m_dev.m_atc->invalidate(req, sink);
        m_dev.device_tlb_invalidated(req);
    }
    void page_response(const page_group_response& resp) override {
        m_dev.m_atc->page_response(resp);
        m_dev.page_response_received(resp);
    }

  private:
    own_device& m_dev;
};

own_device::own_device(const sc_core::sc_module_name& name, const own_device_config& cfg)
    : sc_core::sc_module(name), socket("socket"), forward_socket("forward_socket"), m_cfg(cfg) {
    forward_socket.register_b_transport(this, &own_device::forward_b_transport);
    forward_socket.register_transport_dbg(this, &own_device::forward_transport_dbg);
    forward_socket.register_get_direct_mem_ptr(this, &own_device::no_dmi);
    if (cfg.ats) {
        m_atc = std::make_unique<ats_device_tlb>("atc", cfg.rid, cfg.devtlb_latency_ns);
        m_port = std::make_unique<tlb_port>(*this);
    }
}

own_device::~own_device() = default;

device_tlb_port* own_device::devtlb_port() {
    return m_port.get();
}

void own_device::tag(tlm::tlm_generic_payload& trans, dma_extension& ext, bool has_pasid, uint32_t pasid, bool priv,
                     bool exec) const {
    ext.requester_id = m_cfg.rid;
    ext.has_pasid = has_pasid;
    ext.pasid = pasid;
    ext.priv = priv;
    ext.exec = exec;
    ext.ats_translation = false;
    ext.page_request = false;
    ext.clear_response();
    trans.set_extension(&ext);
}

void own_device::send(tlm::tlm_generic_payload& trans) {
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(trans, delay);
    sc_core::wait(delay);
}

// The forwarded payload carries this device's requester id: its own extension with the id set (and
// given back afterwards), or one of ours for the time of the call.
void own_device::forward_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    if (dma_extension* ext = trans.get_extension<dma_extension>()) {
        const uint16_t rid = ext->requester_id;
        ext->requester_id = m_cfg.rid;
        socket->b_transport(trans, delay);
        ext->requester_id = rid;
        return;
    }
    dma_extension ext;
    tag(trans, ext, false, 0);
    socket->b_transport(trans, delay);
    trans.clear_extension(&ext);
}

unsigned int own_device::forward_transport_dbg(tlm::tlm_generic_payload& trans) {
    if (dma_extension* ext = trans.get_extension<dma_extension>()) {
        const uint16_t rid = ext->requester_id;
        ext->requester_id = m_cfg.rid;
        const unsigned int n = socket->transport_dbg(trans);
        ext->requester_id = rid;
        return n;
    }
    dma_extension ext;
    tag(trans, ext, false, 0);
    const unsigned int n = socket->transport_dbg(trans);
    trans.clear_extension(&ext);
    return n;
}

tlm::tlm_response_status own_device::access(bool has_pasid, uint32_t pasid, uint64_t iova, void* data, std::size_t len,
                                            bool is_write, hw::fault_reason* fault) {
    if (fault) {
        *fault = hw::fault_reason::none;
    }
    auto* bytes = static_cast<unsigned char*>(data);
    dma_extension ext;
    std::size_t done = 0;
    while (done < len) {
        const uint64_t addr = iova + done;
        const std::size_t chunk = std::min<std::size_t>(len - done, page_bytes - (addr % page_bytes));
        tlm::tlm_generic_payload trans;
        trans.set_command(is_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        trans.set_address(addr);
        trans.set_data_ptr(bytes + done);
        trans.set_data_length(static_cast<unsigned>(chunk));
        trans.set_streaming_width(static_cast<unsigned>(chunk));
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        tag(trans, ext, has_pasid, pasid);
        send(trans);
        trans.clear_extension(&ext);
        if (trans.get_response_status() != tlm::TLM_OK_RESPONSE) {
            if (fault) {
                *fault = ext.fault;
            }
            return trans.get_response_status();
        }
        done += chunk;
    }
    return tlm::TLM_OK_RESPONSE;
}

tlm::tlm_response_status own_device::dma(const own_dma_request& req, hw::fault_reason* fault) {
    return access(req.has_pasid, req.pasid, req.iova, req.data, req.len, req.is_write, fault);
}

// A request without data for iova's page (an ATS translation request, a page request message),
// tagged with the device's attributes.
void own_device::message(tlm::tlm_generic_payload& trans, dma_extension& ext, tlm::tlm_command command, bool has_pasid,
                         uint32_t pasid, uint64_t iova) const {
    trans.set_command(command);
    trans.set_address(iova & ~(page_bytes - 1));
    trans.set_data_ptr(nullptr);
    trans.set_data_length(0);
    trans.set_streaming_width(0);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    tag(trans, ext, has_pasid, pasid);
}

ats_result own_device::translate(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write) {
    ats_result r;
    if (!m_atc) {
        r.status = ats_completion::unsupported_request;
        return r;
    }
    dma_extension ext;
    tlm::tlm_generic_payload trans;
    message(trans, ext, is_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, has_pasid, pasid, iova);
    ext.ats_translation = true;
    send(trans);
    trans.clear_extension(&ext);
    r.status = ext.ats_status;
    r.fault = ext.fault;
    if (trans.get_response_status() != tlm::TLM_OK_RESPONSE || ext.translated_size == 0) {
        return r;
    }
    r.size = ext.translated_size;
    r.addr = ext.translated_addr & ~(r.size - 1);
    r.read = ext.ats_read;
    r.write = ext.ats_write;
    // A translation granting nothing (R=W=0) is not cached (PCIe ATS).
    if (r.read || r.write) {
        m_atc->cache({has_pasid, pasid, iova & ~(r.size - 1), r.size, r.addr});
    }
    return r;
}

bool own_device::send_page_request(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, uint16_t group,
                                   uint8_t* code, bool last) {
    dma_extension ext;
    tlm::tlm_generic_payload trans;
    message(trans, ext, tlm::TLM_WRITE_COMMAND, has_pasid, pasid, iova);
    ext.page_request = true;
    ext.pr_read = !is_write;
    ext.pr_write = is_write;
    ext.pr_last = last;
    ext.pr_group = group & 0x1ff;
    send(trans);
    trans.clear_extension(&ext);
    if (ext.pr_auto_response && code) {
        *code = ext.pr_response_code;
    }
    return ext.pr_auto_response;
}

bool own_device::wait_page_response(bool has_pasid, uint32_t pasid, uint16_t group, uint64_t timeout_ns,
                                    uint8_t* code) {
    if (!m_atc) {
        return false;
    }
    const sc_core::sc_time deadline = kernel_time() + sc_core::sc_time(static_cast<double>(timeout_ns), sc_core::SC_NS);
    page_group_response resp;
    while (!m_atc->take_page_response(has_pasid, pasid, group & 0x1ff, &resp)) {
        const sc_core::sc_time now = kernel_time();
        if (now >= deadline) {
            return false;
        }
        sc_core::wait(deadline - now, m_atc->page_response_event());
    }
    if (code) {
        *code = resp.code;
    }
    return true;
}

}  // namespace iommusim
