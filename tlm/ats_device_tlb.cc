#include "tlm/ats_device_tlb.h"

#include <algorithm>

namespace iommusim {

namespace {
constexpr unsigned itag_count = 32;

bool overlaps(uint64_t base, uint64_t length, uint64_t rbase, uint64_t rlength) {
    if (rlength == 0) {
        return true;  // whole address space
    }
    return base < rbase + rlength && rbase < base + length;
}
}  // namespace

ats_device_tlb::ats_device_tlb(sc_core::sc_module_name name, uint16_t sid, uint64_t latency_ns)
    : sc_core::sc_module(name), m_sid(sid), m_latency_ns(latency_ns) {
    SC_HAS_PROCESS(ats_device_tlb);
    SC_METHOD(respond);
    sensitive << m_due;
    dont_initialize();
}

bool ats_device_tlb::holds(bool with_pasid, uint32_t pasid, uint64_t addr) const {
    return std::any_of(m_atc.begin(), m_atc.end(), [&](const atc_entry& e) {
        return e.with_pasid == with_pasid && (!with_pasid || e.pasid == pasid) && addr >= e.base &&
               addr - e.base < e.length;
    });
}

void ats_device_tlb::invalidate(const devtlb_request& req, devtlb_completion_sink& sink) {
    m_requests.push_back(req);
    // The device drops what the request covers as it arrives; the completion follows its latency.
    std::erase_if(m_atc, [&](const atc_entry& e) {
        if (e.with_pasid != req.with_pasid) {
            return false;
        }
        if (req.with_pasid && !req.all_pasids && e.pasid != req.pasid) {
            return false;
        }
        return overlaps(e.base, e.length, req.base, req.length);
    });
    if (m_fault == fault_mode::never_answer) {
        return;
    }
    answer a{&sink, m_sid, 1u << req.itag};
    if (m_fault == fault_mode::wrong_itag) {
        a.itag_mask = 1u << ((req.itag + 1) % itag_count);
    }
    if (m_fault == fault_mode::wrong_sid) {
        a.sid = static_cast<uint16_t>(m_sid + 1);
    }
    const sc_core::sc_time delay(static_cast<double>(m_latency_ns), sc_core::SC_NS);
    const sc_core::sc_time due = sc_core::sc_time_stamp() + delay;
    m_answers.emplace(due, a);
    if (m_fault == fault_mode::duplicate) {
        m_answers.emplace(due, a);
    }
    m_due.notify(delay);  // an earlier pending notification wins; respond() re-arms for the rest
}

void ats_device_tlb::respond() {
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    while (!m_answers.empty() && m_answers.begin()->first <= now) {
        const answer a = m_answers.begin()->second;
        m_answers.erase(m_answers.begin());
        ++m_completions_sent;
        a.sink->devtlb_complete(a.sid, a.itag_mask);
    }
    if (!m_answers.empty()) {
        m_due.notify(m_answers.begin()->first - now);
    }
}

}  // namespace iommusim
