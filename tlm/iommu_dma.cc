// Upstream requests: DMA split at translated pages, ATS translation requests, the interrupt window,
// debug accesses, quantum synchronisation.
#include "tlm/iommu.h"

#include <algorithm>
#include <cstring>

#include "iommusim/hw/vtd_regs.h"
#include "tlm/iommu_internal.h"
#include "tlm/kernel_time.h"

namespace iommusim {

using namespace iommu_detail;

void iommu::record_fault(const translation_request& req, const translation_result& r, dma_extension* ext) {
    fault_info f;
    f.sid = req.rid;
    f.addr = req.addr;
    f.reason = r.fault;
    f.type = req.ats_translation ? fault_request::translation : req.write ? fault_request::write : fault_request::read;
    f.has_pasid = req.has_pasid;
    f.pasid = req.pasid;
    f.priv = req.priv;
    f.exec = req.exec;
    const fault_recorder::outcome o = m_faults.record(f, r.suppressed);
    if (ext) {
        ext->fault = r.fault;
        ext->fault_recorded = o == fault_recorder::outcome::recorded;
    }
}

void iommu::quantum_sync(sc_core::sc_time& delay) {
    if (in_thread()) {
        sc_core::wait(delay);
        delay = sc_core::SC_ZERO_TIME;
        ++m_stats.quantum_syncs;
    }
}

inline bool iommu::forward_dmi(tlm::tlm_generic_payload& trans, uint64_t out_addr, unsigned offset, unsigned len,
                               sc_core::sc_time& delay) {
    const bool rd = trans.is_read();
    if (trans.get_byte_enable_ptr() || !(rd || trans.is_write())) {
        return false;
    }
    const tlm::tlm_dmi* d = m_mem_dmi.copy(out_addr, trans.get_data_ptr() + offset, len, rd);
    if (!d) {
        return false;
    }
    delay += rd ? d->get_read_latency() : d->get_write_latency();
    ++m_stats.memory_dmi_accesses;
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return true;
}

void iommu::forward(tlm::tlm_generic_payload& trans, uint64_t out_addr, unsigned offset, unsigned len,
                    sc_core::sc_time& delay) {
    unsigned char* data = trans.get_data_ptr() + offset;
    unsigned char* be = trans.get_byte_enable_ptr();
    // One payload reused for every piece: constructing a generic payload allocates.
    tlm::tlm_generic_payload& p = m_fwd;
    p.set_command(trans.get_command());
    p.set_address(out_addr);
    p.set_data_ptr(data);
    p.set_data_length(len);
    p.set_streaming_width(len);
    p.set_byte_enable_ptr(nullptr);
    p.set_byte_enable_length(0);
    p.set_dmi_allowed(false);
    if (be) {
        const unsigned be_len = trans.get_byte_enable_length();
        if (be_len >= trans.get_data_length()) {
            p.set_byte_enable_ptr(be + offset);
            p.set_byte_enable_length(len);
        } else {
            // A repeating pattern; the caller only splits when the pattern stays aligned.
            p.set_byte_enable_ptr(be);
            p.set_byte_enable_length(be_len);
        }
    }
    p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    initiator_socket->b_transport(p, delay);
    trans.set_response_status(p.get_response_status());
    if (p.is_response_ok() && p.is_dmi_allowed()) {
        tlm::tlm_dmi d;
        if (initiator_socket->get_direct_mem_ptr(p, d)) {
            m_mem_dmi.remember(out_addr, d);
        }
    }
}

// Translation plus the IOTLB's time: its cycles when it is cycle-timed (RTL, lockstep), else the
// configured fixed lookup latency. The walk's memory time is charged by the walk memory.
inline translation_result iommu::timed_translate(const translation_request& req, const sc_core::sc_time& delay) {
    const uint64_t before = m_tlb_timed ? m_tlb.cycles() : 0;
    const uint64_t walks_before = m_observer ? m_translator.walks() : 0;
    m_translating = true;
    m_translation_start = delay;
    m_translation_cycles = before;
    m_looked_up = false;
    translation_result r = m_translator.translate(req);
    m_translating = false;
    const uint64_t spent = m_tlb_timed ? m_tlb.cycles() - before : 0;
    m_walk_mem->m_delay += spent ? cycle_time(spent) : m_iotlb_latency;
    m_coverage.translation(req, r);
    if (m_observer) {
        m_observer->translated(m_looked_up, m_lookup_at, kernel_time() + delay + m_walk_mem->m_delay, req.rid,
                               r.iotlb_hit, m_translator.walks() != walks_before, r.fault);
    }
    return r;
}

void iommu::ats_translate(tlm::tlm_generic_payload& trans, dma_extension* ext, sc_core::sc_time& delay) {
    ++m_stats.ats_requests;
    const uint64_t addr = trans.get_address();
    if (!m_te) {
        // Untranslated mode: the identity mapping with every right.
        ext->translated_addr = addr & ~(page_4k - 1);
        ext->translated_size = page_4k;
        ext->ats_read = ext->ats_write = ext->ats_exec = true;
        ext->ats_priv = ext->priv;
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    translation_request req = make_request(trans, ext, addr);
    req.ats_translation = true;
    m_walk_mem->m_delay = sc_core::sc_time();  // zero, without loading the library's SC_ZERO_TIME
    const translation_result r = timed_translate(req, delay);
    delay += m_lookup_latency + m_walk_mem->m_delay;
    if (!r.ok()) {
        // Non-recoverable: recorded like a DMA fault and answered with an error completion, no
        // translation (not-present entries and missing rights came back as R=W=0 translations).
        ++m_stats.ats_errors;
        record_fault(req, r, ext);
        const bool abort = hw::fault_is_access_error(r.fault);
        ext->ats_status = abort ? ats_completion::completer_abort : ats_completion::unsupported_request;
        trans.set_response_status(abort ? tlm::TLM_GENERIC_ERROR_RESPONSE : tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
    const uint64_t bytes = r.page_bytes ? r.page_bytes : page_4k;
    ext->translated_addr = r.out_addr & ~(bytes - 1);
    ext->translated_size = bytes;
    ext->ats_read = r.can_read;
    // Writes through a translated request need D already set; report the right when granted.
    ext->ats_write = r.can_write;
    ext->ats_exec = r.can_read && ext->exec;
    ext->ats_priv = ext->priv;
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

// A PRI Page Request Message (docs/vtd-facts.md §10.1-§10.2): queued for software, or dropped with
// the group answered here when it cannot be (Success on overflow, so that the device asks again;
// Response Failure without ECAP.PRS; Invalid Request when the context entry refuses it). True when
// the request went into the queue.
bool iommu::page_request(tlm::tlm_generic_payload& trans, dma_extension* ext) {
    ++m_stats.page_requests;
    hw::page_request_fields f;
    f.rid = ext->requester_id;
    f.pasid_present = ext->has_pasid;
    f.pasid = ext->has_pasid ? ext->pasid : 0;
    f.exec = ext->has_pasid && ext->exec;
    f.priv = ext->has_pasid && ext->priv;
    f.read = ext->pr_read;
    f.write = ext->pr_write;
    f.last_in_group = ext->pr_last;
    f.prg_index = ext->pr_group & 0x1ff;
    f.addr = trans.get_address() & ~(page_4k - 1);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    if (m_cfg.prs) {
        // The requester's context entry must allow page requests (PRE); otherwise the request is
        // not queued, the fault is recorded (0x47, qualified) and a last-in-group request is
        // answered Invalid Request here, so the device stops asking.
        bool fpd = false;
        if (const hw::fault_reason fr = m_translator.page_request_context(f.rid, f.pasid_present, fpd);
            fr != hw::fault_reason::none) {
            ++m_stats.page_request_faults;
            translation_request req;
            req.rid = f.rid;
            req.addr = f.addr;
            req.write = f.write;
            req.has_pasid = f.pasid_present;
            req.pasid = f.pasid;
            req.priv = f.priv;
            req.exec = f.exec;
            translation_result r;
            r.fault = fr;
            r.suppressed = fpd && hw::fault_is_qualified(fr);
            record_fault(req, r, ext);
            if (f.last_in_group) {
                ext->pr_auto_response = true;
                ext->pr_response_code = hw::pgrp_resp_desc::invalid_request;
            }
            return false;
        }
    }
    const page_request_queue::outcome o = m_prq.submit(f);
    if (o == page_request_queue::outcome::unsupported) {
        ext->pr_auto_response = true;
        ext->pr_response_code = hw::pgrp_resp_desc::failure;
        return false;
    }
    if (page_request_queue::needs_auto_response(o, f)) {
        m_prq.count_auto_response();
        ext->pr_auto_response = true;
        ext->pr_response_code = hw::pgrp_resp_desc::success;
    }
    return o == page_request_queue::outcome::queued;
}

// A request received before the drain began is done when it left m_page_requests_in_flight;
// later arrivals do not hold the drain.
void iommu::drain_page_requests() {
    const uint64_t received = m_page_requests_arrived;
    while (!m_page_requests_in_flight.empty() && *m_page_requests_in_flight.begin() <= received) {
        sc_core::wait(m_page_request_done);
    }
}

// A page request message (ext->page_request) through b_transport.
void iommu::page_request_transport(tlm::tlm_generic_payload& trans, dma_extension* ext, sc_core::sc_time& delay) {
    delay += ns(m_cfg.memory_latency_ns);  // the descriptor write
    // A page request is a message to software: the unit takes it at the device's time, so the
    // page request event (raised by the queue) goes out after the request, not earlier on the
    // kernel's clock.
    uint64_t arrival = 0;
    if (in_thread()) {
        m_latest_request_end = std::max(m_latest_request_end, kernel_time() + delay);
        arrival = ++m_page_requests_arrived;
        m_page_requests_in_flight.insert(arrival);
        sc_core::wait(delay);
        delay = sc_core::SC_ZERO_TIME;
    }
    if (page_request(trans, ext) && m_observer) {
        m_observer->page_request_queued(kernel_time() + delay, m_regs.get(hw::reg::PQT_OFFSET));
    }
    if (arrival != 0) {
        m_page_requests_in_flight.erase(arrival);
        m_page_request_done.notify(sc_core::SC_ZERO_TIME);
    }
}

// The translation of the piece at addr with its time; a fault is recorded and answers the request
// with an address error.
inline translation_result iommu::translate_piece(tlm::tlm_generic_payload& trans, dma_extension* ext, uint64_t addr,
                                                 sc_core::sc_time& delay) {
    const translation_request req = make_request(trans, ext, addr);
    m_walk_mem->m_delay = sc_core::sc_time();  // zero, without loading the library's SC_ZERO_TIME
    const translation_result r = timed_translate(req, delay);
    delay += m_lookup_latency + m_walk_mem->m_delay;
    if (!r.ok()) [[unlikely]] {
        ++m_stats.dma_faults;
        record_fault(req, r, ext);
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    }
    return r;
}

// Moves the translated piece [offset, offset + len) of the data to or from out_addr; false when
// the memory failed it (counted, its status in the request).
inline bool iommu::move_piece(tlm::tlm_generic_payload& trans, uint64_t out_addr, unsigned offset, unsigned len,
                              sc_core::sc_time& delay) {
    if (!forward_dmi(trans, out_addr, offset, len, delay)) {
        forward(trans, out_addr, offset, len, delay);
    }
    ++m_stats.dma_chunks;
    if (!trans.is_response_ok()) [[unlikely]] {
        ++m_stats.dma_errors;
        return false;
    }
    m_stats.dma_bytes += len;
    return true;
}

void iommu::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    ++m_stats.dma_requests;
    dma_extension* ext = trans.get_extension<dma_extension>();
    if (ext) {
        ext->clear_response();
    }
    const unsigned len = trans.get_data_length();
    if (trans.get_streaming_width() < len) {
        ++m_stats.dma_errors;
        trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    if (ext && (ext->ats_translation || ext->page_request)) [[unlikely]] {
        if (ext->ats_translation) {
            ats_translate(trans, ext, delay);
        } else {
            page_request_transport(trans, ext, delay);
        }
        sync(delay);
        return;
    }
    // The interrupt window is decoded before (and regardless of) DMA remapping.
    if (interrupt_window_request(trans, ext)) [[unlikely]] {
        interrupt_window(trans, ext);
        sync(delay);
        return;
    }
    if (!m_te) {
        ++m_stats.pass_through;
        initiator_socket->b_transport(trans, delay);
        if (trans.is_response_ok()) {
            m_stats.dma_bytes += len;
        } else {
            ++m_stats.dma_errors;
        }
        trans.set_dmi_allowed(!m_translator.config().stale_check && trans.is_dmi_allowed());
        sync(delay);
        return;
    }
    const uint64_t start = trans.get_address();
    const bool write = trans.is_write();
    bool dmi_ok = !m_translator.config().stale_check;
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    // A short repeating byte-enable pattern only survives splitting at multiples of its length.
    const unsigned be_len = trans.get_byte_enable_ptr() ? trans.get_byte_enable_length() : 0;
    unsigned done = 0;
    while (done < len || (len == 0 && done == 0)) {
        const uint64_t addr = start + done;
        const translation_result r = translate_piece(trans, ext, addr, delay);
        if (!r.ok() || len == 0) {
            break;
        }
        const uint64_t bytes = r.page_bytes ? r.page_bytes : page_4k;
        const uint64_t page_end = (addr & ~(bytes - 1)) + bytes;
        const unsigned n = static_cast<unsigned>(std::min<uint64_t>(len - done, page_end - addr));
        if (be_len && be_len < len && (done % be_len) != 0) {
            ++m_stats.dma_errors;
            trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
            break;
        }
        if (!move_piece(trans, r.out_addr, done, n, delay)) {
            break;
        }
        dmi_ok = dmi_ok && (write ? r.can_write : r.can_read);
        done += n;
    }
    trans.set_dmi_allowed(dmi_ok && trans.is_response_ok());
    sync(delay);
}

void iommu::interrupt_window(tlm::tlm_generic_payload& trans, dma_extension* ext) {
    const uint64_t addr = trans.get_address();
    const unsigned len = trans.get_data_length();
    const bool inside = addr >= hw::interrupt_window_base && addr + len <= hw::interrupt_window_end;
    if (trans.is_write() && len > 0 && inside) {
        // An interrupt request (docs/vtd-facts.md §5.6): not remapped here, recorded.
        ++m_stats.interrupt_requests;
        if (m_interrupts.size() < interrupt_record_limit) {
            interrupt_request ir;
            ir.rid = ext ? ext->requester_id : 0;
            ir.addr = addr;
            ir.len = len;
            std::memcpy(&ir.data, trans.get_data_ptr(), std::min<std::size_t>(len, sizeof ir.data));
            m_interrupts.push_back(ir);
        }
        trans.set_dmi_allowed(false);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    // A read (or a write reaching past the window) there is no interrupt and no DMA: aborted and
    // reported as an interrupt-range access (SGN.8), as for a translation ending in the window.
    ++m_stats.interrupt_window_errors;
    translation_request req = make_request(trans, ext, addr);
    translation_result r;
    r.fault = hw::fault_reason::gn_interrupt_range;
    record_fault(req, r, ext);
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

unsigned int iommu::transport_dbg(tlm::tlm_generic_payload& trans) {
    // Debug access through the current translation, without recording faults or timing; stops at
    // the first untranslatable page. The translation itself behaves as for a DMA (cache fills, A/D).
    const dma_extension* ext = trans.get_extension<dma_extension>();
    if (interrupt_window_request(trans, ext)) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);  // no memory behind the window
        return 0;
    }
    const bool te = m_te;
    const unsigned len = trans.get_data_length();
    unsigned done = 0;
    while (done < len) {
        const uint64_t addr = trans.get_address() + done;
        uint64_t out = addr;
        uint64_t bytes = page_4k;
        if (te) {
            const translation_result r = m_translator.translate(make_request(trans, ext, addr));
            if (!r.ok()) {
                break;
            }
            out = r.out_addr;
            bytes = r.page_bytes ? r.page_bytes : page_4k;
        }
        const unsigned n = static_cast<unsigned>(std::min<uint64_t>(len - done, (addr & ~(bytes - 1)) + bytes - addr));
        tlm::tlm_generic_payload p;
        p.set_command(trans.get_command());
        p.set_address(out);
        p.set_data_ptr(trans.get_data_ptr() + done);
        p.set_data_length(n);
        const unsigned got = initiator_socket->transport_dbg(p);
        done += got;
        if (got < n) {
            break;
        }
    }
    trans.set_response_status(done == len ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return done;
}

}  // namespace iommusim
