#include "platform/dma_device.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <unordered_map>

#include "iommusim/hw/vtd_desc.h"
#include "tlm/kernel_time.h"

namespace iommusim {

namespace {
constexpr uint64_t page_bytes = 4096;
}  // namespace

dma_device::dma_device(const sc_core::sc_module_name& name, const dma_device_config& cfg, bool use_dmi)
    : sc_core::sc_module(name), socket("socket"), m_cfg(cfg), m_use_dmi(use_dmi) {
    socket.register_invalidate_direct_mem_ptr(this, &dma_device::invalidate_direct_mem_ptr);
    m_ext.requester_id = cfg.rid;
    if (cfg.ats) {
        m_atc = std::make_unique<ats_device_tlb>("atc", cfg.rid, cfg.devtlb_latency_ns);
    }
}

const tlm::tlm_dmi* dma_device::find_dmi(bool has_pasid, uint32_t pasid, uint64_t addr, std::size_t len,
                                         bool is_write) const {
    for (const dmi_region& r : m_dmi) {
        if (r.has_pasid != has_pasid || (has_pasid && r.pasid != pasid)) {
            continue;
        }
        const tlm::tlm_dmi& d = r.dmi;
        if (addr < d.get_start_address() || addr + len - 1 > d.get_end_address()) {
            continue;
        }
        if (is_write ? !d.is_write_allowed() : !d.is_read_allowed()) {
            continue;
        }
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
    if (reason) {
        *reason = hw::fault_reason::none;
    }
    if (m_observer) {
        m_observer->dma_started(m_index, m_cfg.rid, has_pasid, pasid, iova, is_write, m_qk.get_current_time());
    }
    auto* bytes = static_cast<unsigned char*>(buf);
    tlm::tlm_response_status status = tlm::TLM_OK_RESPONSE;
    std::size_t done = 0;
    while (done < len) {
        const uint64_t addr = iova + done;
        const std::size_t chunk = std::min<std::size_t>(len - done, page_bytes - (addr % page_bytes));
        if (m_use_dmi) {
            if (const tlm::tlm_dmi* d = find_dmi(has_pasid, pasid, addr, chunk, is_write)) {
                unsigned char* p = d->get_dmi_ptr() + (addr - d->get_start_address());
                if (is_write) {
                    std::memcpy(p, bytes + done, chunk);
                } else {
                    std::memcpy(bytes + done, p, chunk);
                }
                m_qk.inc(is_write ? d->get_write_latency() : d->get_read_latency());
                ++m_stats.dmi_accesses;
                done += chunk;
                // DMI accesses bypass the IOMMU, which relies on them staying within one quantum.
                if (m_qk.need_sync()) {
                    m_qk.sync();
                }
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
            if (m_ext.fault == hw::fault_reason::none) {
                ++m_stats.target_aborts;
            }
            if (reason) {
                *reason = m_ext.fault;
            }
            break;
        }
        if (m_use_dmi && trans.is_dmi_allowed()) {
            tlm::tlm_generic_payload probe;
            probe.set_command(is_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
            probe.set_address(addr);
            probe.set_extension(&m_ext);
            dmi_region r{has_pasid, pasid, {}};
            if (socket->get_direct_mem_ptr(probe, r.dmi)) {
                m_dmi.push_back(r);
            }
            probe.clear_extension(&m_ext);
        }
        done += chunk;
    }
    m_stats.bytes += done;
    if (m_observer) {
        m_observer->dma_finished(m_index, status == tlm::TLM_OK_RESPONSE ? hw::fault_reason::none : m_ext.fault,
                                 m_qk.get_current_time());
    }
    if (m_qk.need_sync()) {
        m_qk.sync();
    }
    return status;
}

traffic_result dma_device::run_traffic(const traffic_spec& spec) {
    traffic_result r;
    if (spec.size == 0 || spec.min_bytes == 0 || spec.max_bytes < spec.min_bytes) {
        return r;
    }
    std::mt19937_64 rng(spec.seed);
    std::unordered_map<uint64_t, uint8_t> written;  // iova -> byte this stream last wrote there
    std::vector<uint8_t> buf(spec.max_bytes);
    auto pattern = [&](uint64_t iova, unsigned generation) {
        uint64_t x = (iova ^ (spec.seed * 0x9e3779b97f4a7c15ull)) + generation;
        x ^= x >> 29;
        return static_cast<uint8_t>(x * 0xbf58476d1ce4e5b9ull >> 56);
    };
    for (unsigned i = 0; i < spec.count; ++i) {
        const uint64_t len =
            std::min<uint64_t>(spec.size, spec.min_bytes + rng() % (spec.max_bytes - spec.min_bytes + 1));
        const uint64_t iova = spec.base + rng() % (spec.size - len + 1);
        const bool is_write = rng() % 100 < spec.write_percent;
        if (is_write) {
            for (uint64_t k = 0; k < len; ++k) {
                buf[k] = pattern(iova + k, i);
            }
        }
        hw::fault_reason reason = hw::fault_reason::none;
        const bool ok =
            transfer(spec.has_pasid, spec.pasid, iova, buf.data(), len, is_write, &reason) == tlm::TLM_OK_RESPONSE;
        ++r.transfers;
        if (!ok) {
            if (r.faults++ == 0) {
                r.first_fault = reason;
                r.first_fault_iova = iova;
            }
            continue;
        }
        r.bytes += len;
        for (uint64_t k = 0; k < len; ++k) {
            if (is_write) {
                written[iova + k] = buf[k];
            } else if (auto it = written.find(iova + k); it != written.end()) {
                ++r.checked_bytes;
                if (it->second != buf[k] && r.mismatches++ == 0) {
                    r.first_mismatch_iova = iova + k;
                }
            }
        }
    }
    return r;
}

bool dma_device::atc_translate(bool has_pasid, uint32_t pasid, uint64_t iova, uint64_t* hpa) {
    const ats_device_tlb::atc_entry* e = m_atc ? m_atc->lookup(has_pasid, pasid, iova) : nullptr;
    if (e && hpa) {
        *hpa = e->out + (iova - e->base);
    }
    return e != nullptr;
}

bool dma_device::ats_translate(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, hw::fault_reason* reason,
                               uint64_t* translated_bytes) {
    if (!m_atc) {
        return false;
    }
    const sc_core::sc_time at = m_qk.get_current_time();
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
    if (reason) {
        *reason = m_ext.fault;
    }
    // An error completion (UR/CA) or a translation granting nothing (R=W=0) is not cached.
    const bool cached = trans.get_response_status() == tlm::TLM_OK_RESPONSE && m_ext.translated_size != 0 &&
                        (m_ext.ats_read || m_ext.ats_write);
    note_retry(has_pasid, pasid, iova, cached && (is_write ? m_ext.ats_write : m_ext.ats_read), at);
    if (!cached) {
        return false;
    }
    const uint64_t size = m_ext.translated_size;
    m_atc->cache({has_pasid, pasid, iova & ~(size - 1), size, m_ext.translated_addr & ~(size - 1)});
    if (translated_bytes) {
        *translated_bytes = size;
    }
    ++m_stats.ats_translations;
    return true;
}

bool dma_device::send_page_request(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, uint16_t group,
                                   uint8_t* code, bool last) {
    ++m_stats.page_requests;
    const uint64_t page = iova & ~(page_bytes - 1);
    const uint16_t prgi = group & 0x1ff;
    if (m_observer) {
        m_observer->page_request_sent(m_index, page, m_qk.get_current_time());
    }
    auto requested =
        std::find_if(m_requested.begin(), m_requested.end(), [&](const requested_group& r) { return r.prgi == prgi; });
    if (requested == m_requested.end()) {
        m_requested.push_back({prgi, false, {}});
        requested = m_requested.end() - 1;
    } else if (requested->closed) {
        requested->closed = false;
        requested->pages.clear();
    }
    requested->pages.push_back(retry_key{has_pasid, pasid, page});
    requested->closed = last;
    tlm::tlm_generic_payload trans;
    m_ext.has_pasid = has_pasid;
    m_ext.pasid = pasid;
    m_ext.page_request = true;
    m_ext.pr_read = !is_write;
    m_ext.pr_write = is_write;
    m_ext.pr_last = last;
    m_ext.pr_group = group & 0x1ff;
    m_ext.clear_response();
    trans.set_command(tlm::TLM_WRITE_COMMAND);  // a message: no data
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
    m_ext.page_request = false;
    if (!m_ext.pr_auto_response) {
        return false;
    }
    if (code) {
        *code = m_ext.pr_response_code;
    }
    note_response(has_pasid, pasid, prgi, m_ext.pr_response_code);
    return true;
}

bool dma_device::wait_page_response(bool has_pasid, uint32_t pasid, uint16_t group, uint64_t timeout_ns,
                                    uint8_t* code) {
    if (!m_atc) {
        return false;
    }
    // The response comes from software through the invalidation queue: wait for it in simulated
    // time, with the time this device ran ahead given back first.
    m_qk.sync();
    const uint16_t prgi = group & 0x1ff;
    const sc_core::sc_time deadline = kernel_time() + sc_core::sc_time(static_cast<double>(timeout_ns), sc_core::SC_NS);
    page_group_response resp;
    while (!m_atc->take_page_response(has_pasid, pasid, prgi, &resp)) {
        const sc_core::sc_time now = kernel_time();
        if (now >= deadline) {
            return false;
        }
        sc_core::wait(deadline - now, m_atc->page_response_event());
    }
    if (code) {
        *code = resp.code;
    }
    note_response(has_pasid, pasid, prgi, resp.code);
    return true;
}

void dma_device::note_response(bool has_pasid, uint32_t pasid, uint16_t prgi, uint8_t code) {
    ++m_stats.page_responses;
    m_stats.page_request_failures += code != hw::pgrp_resp_desc::success;
    if (m_observer) {
        m_observer->page_response_received(m_index, code, m_qk.get_current_time());
    }
    const auto requested = std::find_if(m_requested.begin(), m_requested.end(), [&](const requested_group& r) {
        return r.prgi == prgi && r.pages.front().has_pasid == has_pasid && r.pages.front().pasid == pasid;
    });
    if (requested == m_requested.end()) {
        return;
    }
    if (code == hw::pgrp_resp_desc::success) {
        m_retries_due.insert(m_retries_due.end(), requested->pages.begin(), requested->pages.end());
    }
    m_requested.erase(requested);
}

void dma_device::note_retry(bool has_pasid, uint32_t pasid, uint64_t iova, bool granted, sc_core::sc_time at) {
    const uint64_t page = iova & ~(page_bytes - 1);
    const auto due = std::find_if(m_retries_due.begin(), m_retries_due.end(), [&](const retry_key& k) {
        return k.has_pasid == has_pasid && k.pasid == pasid && k.page == page;
    });
    if (due == m_retries_due.end()) {
        return;
    }
    m_retries_due.erase(due);
    ++m_stats.page_request_retries;
    m_stats.retries_granted += granted;
    if (m_observer) {
        m_observer->translation_retried(m_index, page, granted, at, m_qk.get_current_time());
    }
}

bool dma_device::page_request(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, uint16_t group,
                              uint64_t timeout_ns, uint8_t* code) {
    if (!m_atc || !m_cfg.pri) {
        return false;
    }
    if (send_page_request(has_pasid, pasid, iova, is_write, group, code)) {
        return true;
    }
    return wait_page_response(has_pasid, pasid, group, timeout_ns, code);
}

dma_device::pri_outcome dma_device::translate_with_page_requests(bool has_pasid, uint32_t pasid, uint64_t iova,
                                                                 bool is_write, uint16_t group, uint64_t timeout_ns,
                                                                 unsigned max_requests, uint8_t* last_code) {
    if (!m_atc || !m_cfg.pri) {
        return pri_outcome::error;
    }
    for (unsigned attempt = 0;; ++attempt) {
        hw::fault_reason reason = hw::fault_reason::none;
        const bool cached = ats_translate(has_pasid, pasid, iova, is_write, &reason);
        if (!cached && reason != hw::fault_reason::none) {
            return pri_outcome::error;  // UR/CA: the fault was recorded, page requests cannot help
        }
        if (cached && (is_write ? m_ext.ats_write : m_ext.ats_read)) {
            return pri_outcome::translated;
        }
        if (attempt == max_requests) {
            return pri_outcome::refused;
        }
        uint8_t code = 0;
        if (!page_request(has_pasid, pasid, iova, is_write, group, timeout_ns, &code)) {
            return pri_outcome::no_response;
        }
        if (last_code) {
            *last_code = code;
        }
        if (code != hw::pgrp_resp_desc::success) {
            return pri_outcome::refused;  // counted by note_response
        }
        // The next ats_translate is the retry (counted there).
    }
}

dma_device::pri_step dma_device::translate_for_access(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write) {
    if (!m_atc || !m_cfg.pri) {
        return pri_step::error;
    }
    hw::fault_reason reason = hw::fault_reason::none;
    const bool cached = ats_translate(has_pasid, pasid, iova, is_write, &reason);
    if (!cached && reason != hw::fault_reason::none) {
        return pri_step::error;
    }
    if (cached && (is_write ? m_ext.ats_write : m_ext.ats_read)) {
        return pri_step::translated;
    }
    return pri_step::requested;
}

dma_device::pri_step dma_device::request_translation(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write,
                                                     uint16_t group, uint8_t* code) {
    const pri_step step = translate_for_access(has_pasid, pasid, iova, is_write);
    if (step != pri_step::requested) {
        return step;
    }
    return send_page_request(has_pasid, pasid, iova, is_write, group, code) ? pri_step::answered : pri_step::requested;
}

}  // namespace iommusim
