#include "tlm/ats_device_tlb.h"

#include <algorithm>

#include "tlm/kernel_time.h"

namespace iommusim {

namespace {
constexpr unsigned itag_count = 32;

bool overlaps(uint64_t base, uint64_t length, uint64_t rbase, uint64_t rlength) {
    if (rlength == 0) {
        return true;  // whole address space
    }
    return base < rbase + rlength && rbase < base + length;
}

// True when the request covers the entry (§6.6: type 3 the translations without PASID, type 8 one
// PASID or all of them).
bool covers(const devtlb_request& req, const ats_device_tlb::atc_entry& e) {
    if (e.with_pasid != req.with_pasid) {
        return false;
    }
    if (req.with_pasid && !req.all_pasids && e.pasid != req.pasid) {
        return false;
    }
    return overlaps(e.base, e.length, req.base, req.length);
}
}  // namespace

ats_device_tlb::ats_device_tlb(sc_core::sc_module_name name, uint16_t sid, uint64_t latency_ns)
    : sc_core::sc_module(name), m_sid(sid), m_latency_ns(latency_ns) {
    SC_HAS_PROCESS(ats_device_tlb);
    SC_METHOD(respond);
    sensitive << m_due;
    dont_initialize();
}

void ats_device_tlb::cache(const atc_entry& e) {
    m_atc.push_back(e);
    m_atc.back().cached_at = ++m_events;
}

const ats_device_tlb::atc_entry* ats_device_tlb::lookup(bool with_pasid, uint32_t pasid, uint64_t addr) {
    ++m_stats.lookups;
    for (const atc_entry& e : m_atc) {
        if (e.with_pasid == with_pasid && (!with_pasid || e.pasid == pasid) && addr >= e.base &&
            addr - e.base < e.length) {
            ++m_stats.hits;
            if (m_stale_check) {
                check(e, addr);
            }
            return &e;
        }
    }
    return nullptr;
}

void ats_device_tlb::check(const atc_entry& e, uint64_t addr) {
    ++m_stats.stale_checks;
    // Completed invalidations that arrived after the fill and cover the entry should have dropped it.
    for (const completed& c : m_completed) {
        if (c.arrived_at < e.cached_at || !covers(c.req, e)) {
            continue;
        }
        ++m_stats.stale_hits;
        if (m_stale.size() < m_report_limit) {
            stale_report rep;
            rep.cache = stale_cache::device_tlb;
            rep.time_ps = kernel_time().value() / sc_core::sc_time(1, sc_core::SC_PS).value();
            rep.rid = m_sid;
            rep.has_pasid = e.with_pasid;
            rep.pasid = e.pasid;
            rep.addr = addr;
            rep.key_addr = e.base;
            rep.cached_out = e.out + (addr - e.base);
            rep.current_fault = hw::fault_reason::none;
            rep.invalidated_ps = c.done.value() / sc_core::sc_time(1, sc_core::SC_PS).value();
            m_stale.push_back(rep);
        }
        return;
    }
}

void ats_device_tlb::record_completion(std::size_t request, const sc_core::sc_time& at) {
    // Only entries cached before the request arrived can be ones it should have dropped: history
    // older than every entry is of no use.
    uint64_t oldest = m_events + 1;
    for (const atc_entry& e : m_atc) {
        oldest = std::min(oldest, e.cached_at);
    }
    std::erase_if(m_completed, [&](const completed& c) { return c.arrived_at < oldest; });
    if (m_arrivals[request] >= oldest) {
        m_completed.push_back(completed{m_requests[request], m_arrivals[request], at});
    }
}

bool ats_device_tlb::holds(bool with_pasid, uint32_t pasid, uint64_t addr) const {
    return std::any_of(m_atc.begin(), m_atc.end(), [&](const atc_entry& e) {
        return e.with_pasid == with_pasid && (!with_pasid || e.pasid == pasid) && addr >= e.base &&
               addr - e.base < e.length;
    });
}

void ats_device_tlb::invalidate(const devtlb_request& req, devtlb_completion_sink& sink) {
    m_requests.push_back(req);
    m_arrivals.push_back(++m_events);
    // The device drops what the request covers as it arrives; the completion follows its latency.
    if (m_fault != fault_mode::keeps_entries) {
        std::erase_if(m_atc, [&](const atc_entry& e) { return covers(req, e); });
    }
    if (m_fault == fault_mode::never_answer) {
        return;
    }
    answer a{&sink, m_sid, 1u << req.itag, m_requests.size() - 1};
    if (m_fault == fault_mode::wrong_itag) {
        a.itag_mask = 1u << ((req.itag + 1) % itag_count);
    }
    if (m_fault == fault_mode::wrong_sid) {
        a.sid = static_cast<uint16_t>(m_sid + 1);
    }
    const sc_core::sc_time delay(static_cast<double>(m_latency_ns), sc_core::SC_NS);
    const sc_core::sc_time due = kernel_time() + delay;
    m_answers.emplace(due, a);
    if (m_fault == fault_mode::duplicate) {
        m_answers.emplace(due, a);
    }
    m_due.notify(delay);  // an earlier pending notification wins; respond() re-arms for the rest
}

void ats_device_tlb::respond() {
    const sc_core::sc_time now = kernel_time();
    while (!m_answers.empty() && m_answers.begin()->first <= now) {
        const answer a = m_answers.begin()->second;
        m_answers.erase(m_answers.begin());
        ++m_completions_sent;
        if (m_stale_check) {
            record_completion(a.request, now);
        }
        a.sink->devtlb_complete(a.sid, a.itag_mask);
    }
    if (!m_answers.empty()) {
        m_due.notify(m_answers.begin()->first - now);
    }
}

void ats_device_tlb::page_response(const page_group_response& resp) {
    m_responses.push_back(resp);
    ++m_responses_received;
    m_response_arrived.notify(sc_core::SC_ZERO_TIME);
}

bool ats_device_tlb::take_page_response(bool with_pasid, uint32_t pasid, uint16_t prg_index, page_group_response* out) {
    auto it = std::find_if(m_responses.begin(), m_responses.end(), [&](const page_group_response& r) {
        return r.pasid_present == with_pasid && (!with_pasid || r.pasid == pasid) && r.prg_index == prg_index;
    });
    if (it == m_responses.end()) {
        return false;
    }
    if (out) {
        *out = *it;
    }
    m_responses.erase(it);
    return true;
}

}  // namespace iommusim
