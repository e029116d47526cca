#include "tlm/page_request_queue.h"

#include "iommusim/hw/vtd_regs.h"

namespace iommusim {

namespace {
constexpr uint32_t pqh_off = hw::reg::PQH_OFFSET;
constexpr uint32_t pqt_off = hw::reg::PQT_OFFSET;
constexpr uint32_t pqa_off = hw::reg::PQA_OFFSET;
constexpr uint32_t prs_off = hw::reg::PRS_OFFSET;
constexpr uint32_t pectl_off = hw::reg::PECTL_OFFSET;
constexpr uint32_t pending_conditions = hw::prs::ppr::mask | hw::prs::pro::mask;
}  // namespace

void page_request_queue::stats::register_stats(stats_group& g) const {
    g.counter("received", "page requests received", received);
    g.counter("queued", "page request descriptors written", queued);
    g.counter("overflows", "page requests dropped: queue full or PRO set", overflows);
    g.counter("auto_responses", "page groups the unit answered Success itself", auto_responses);
    g.counter("events", "page request events delivered", events);
}

page_request_queue::page_request_queue(register_file& regs, phys_mem_if& mem, bool supported,
                                       std::function<void()> deliver)
    : m_regs(regs), m_mem(mem), m_supported(supported), m_deliver(std::move(deliver)) {
    m_regs.on_write(prs_off, [this](const register_file::write_event& ev) { on_prs_write(ev); });
    m_regs.on_write(pectl_off, [this](const register_file::write_event& ev) { on_pectl_write(ev); });
}

uint64_t page_request_queue::queue_bytes() const {
    return uint64_t{4096} << hw::pqa::pqs::get(m_regs.get(pqa_off));
}

page_request_queue::outcome page_request_queue::submit(const hw::page_request_fields& request) {
    if (!m_supported) {
        return outcome::unsupported;
    }
    ++m_stats.received;
    const uint64_t size = queue_bytes();
    const uint64_t head = (hw::pqh::pqh::get(m_regs.get(pqh_off)) * hw::page_req_desc_bytes) % size;
    const uint64_t tail = (hw::pqt::pqt::get(m_regs.get(pqt_off)) * hw::page_req_desc_bytes) % size;
    const uint64_t next = (tail + hw::page_req_desc_bytes) % size;
    // §10.2: no room (one slot stays free so that PQH == PQT means empty), or an overflow software
    // has not yet acknowledged: the request is dropped.
    if (next == head || hw::prs::pro::get(m_regs.get(prs_off))) {
        ++m_stats.overflows;
        raise(hw::prs::pro::mask);
        return outcome::overflow;
    }
    const hw::page_req_desc d = hw::make_page_req(request);
    const uint64_t base = hw::pqa::pqa::get(m_regs.get(pqa_off)) << 12;
    if (!m_mem.write(base + tail, d.data(), sizeof d)) {
        ++m_stats.overflows;
        raise(hw::prs::pro::mask);
        return outcome::write_failed;
    }
    ++m_stats.queued;
    m_regs.set(pqt_off, hw::pqt::pqt::make(next / hw::page_req_desc_bytes));
    raise(hw::prs::ppr::mask);
    return outcome::queued;
}

// A new condition raises the event only when none was pending (the fault event's rule, §1.8).
void page_request_queue::raise(uint32_t prs_bits) {
    const uint32_t pre = static_cast<uint32_t>(m_regs.get(prs_off));
    m_regs.set_bits(prs_off, prs_bits);
    if (pre & pending_conditions) {
        return;
    }
    if (hw::pectl::im::get(m_regs.get(pectl_off))) {
        m_regs.set_bits(pectl_off, hw::pectl::ip::mask);
        return;
    }
    deliver();
}

void page_request_queue::deliver() {
    m_regs.clear_bits(pectl_off, hw::pectl::ip::mask);
    ++m_stats.events;
    if (m_deliver) {
        m_deliver();
    }
}

void page_request_queue::on_prs_write(const register_file::write_event& ev) {
    if ((ev.new_value & pending_conditions) == 0) {
        m_regs.clear_bits(pectl_off, hw::pectl::ip::mask);
    }
}

void page_request_queue::on_pectl_write(const register_file::write_event& ev) {
    // Unmasking with an event pending delivers it now.
    if (!hw::pectl::im::get(ev.new_value) && hw::pectl::ip::get(ev.new_value)) {
        deliver();
    }
}

}  // namespace iommusim
