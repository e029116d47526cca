#include "tlm/fault_recorder.h"

#include <systemc>

namespace iommusim {

namespace {
constexpr uint32_t fsts_off = hw::reg::FSTS_OFFSET;
constexpr uint32_t fectl_off = hw::reg::FECTL_OFFSET;
uint32_t frcd_lo(unsigned i) {
    return hw::reg::frcd_offset(i);
}
uint32_t frcd_hi(unsigned i) {
    return hw::reg::frcd_offset(i) + 8;
}
}  // namespace

void fault_recorder::stats::register_stats(stats_group& g) const {
    g.counter("recorded", "faults recorded in a fault recording register", recorded);
    g.counter("compressed", "faults not recorded: the same source id is already pending", compressed);
    g.counter("overflow", "faults that set PFO", overflow);
    g.counter("dropped", "faults lost while PFO was set", dropped);
    g.counter("suppressed", "faults suppressed by FPD", suppressed);
    g.counter("events", "fault events delivered", events);
}

fault_recorder::fault_recorder(register_file& regs, unsigned num_records, std::function<void()> deliver)
    : m_regs(regs), m_num_records(num_records), m_deliver(std::move(deliver)) {
    if (num_records == 0 || num_records > hw::reg::FRCD_MAX || !regs.contains(frcd_hi(num_records - 1))) {
        SC_REPORT_FATAL("iommusim/fault_recorder", "fault record count does not match the register file");
    }
    m_regs.on_write(fsts_off, [this](const register_file::write_event& ev) { on_fsts_write(ev); });
    m_regs.on_write(fectl_off, [this](const register_file::write_event& ev) { on_fectl_write(ev); });
    m_regs.on_write(frcd_hi(0), [this](const register_file::write_event& ev) { on_frcd_hi_write(ev); });
}

bool fault_recorder::record_pending(unsigned i) const {
    return i < m_num_records && hw::frcd::f::get(hw::frcd::words{0, m_regs.get(frcd_hi(i))});
}

fault_info fault_recorder::record_at(unsigned i) const {
    const hw::frcd::words w{m_regs.get(frcd_lo(i)), m_regs.get(frcd_hi(i))};
    fault_info f;
    f.addr = hw::frcd::fi::get(w) << 12;
    f.sid = static_cast<uint16_t>(hw::frcd::sid::get(w));
    f.reason = static_cast<hw::fault_reason>(hw::frcd::fr::get(w));
    f.type = static_cast<fault_request>((hw::frcd::t1::get(w) << 1) | hw::frcd::t2::get(w));
    f.has_pasid = hw::frcd::pp::get(w);
    f.pasid = static_cast<uint32_t>(hw::frcd::pv::get(w));
    f.priv = hw::frcd::priv::get(w);
    f.exec = hw::frcd::exe::get(w);
    return f;
}

fault_recorder::outcome fault_recorder::record(const fault_info& f, bool suppressed) {
    if (suppressed) {
        ++m_stats.suppressed;
        return outcome::suppressed;
    }
    const uint32_t pre = static_cast<uint32_t>(m_regs.get(fsts_off));
    if (hw::fsts::pfo::get(pre)) {
        ++m_stats.dropped;
        return outcome::dropped;
    }
    for (unsigned i = 0; i < m_num_records; ++i) {
        if (record_pending(i) && record_at(i).sid == f.sid) {
            ++m_stats.compressed;
            return outcome::compressed;
        }
    }
    if (record_pending(m_next)) {
        m_regs.set_bits(fsts_off, hw::fsts::pfo::mask);
        ++m_stats.overflow;
        generate_event(pre);
        return outcome::overflow;
    }
    hw::frcd::words w{};
    hw::frcd::fi::set(w, f.addr >> 12);
    hw::frcd::sid::set(w, f.sid);
    hw::frcd::fr::set(w, static_cast<uint64_t>(f.reason));
    // Request type: T1 is the high bit of the two-bit encoding, so T1 alone means read (legacy T).
    hw::frcd::t1::set(w, static_cast<uint64_t>(f.type) >> 1);
    hw::frcd::t2::set(w, static_cast<uint64_t>(f.type) & 1);
    hw::frcd::at::set(w, f.type == fault_request::translation ? 1 : 0);
    hw::frcd::pp::set(w, f.has_pasid);
    hw::frcd::pv::set(w, f.has_pasid ? f.pasid : 0);
    hw::frcd::priv::set(w, f.priv);
    hw::frcd::exe::set(w, f.exec);
    hw::frcd::f::set(w, 1);
    m_regs.set(frcd_lo(m_next), w[0]);
    m_regs.set(frcd_hi(m_next), w[1]);
    if (!hw::fsts::ppf::get(pre)) {
        m_regs.set_field<hw::fsts::fri>(fsts_off, m_next);
    }
    update_ppf();
    m_next = (m_next + 1) % m_num_records;
    ++m_stats.recorded;
    generate_event(pre);
    return outcome::recorded;
}

void fault_recorder::raise_status(uint32_t fsts_bits) {
    const uint32_t pre = static_cast<uint32_t>(m_regs.get(fsts_off));
    const uint32_t fresh = fsts_bits & ~pre & static_cast<uint32_t>(hw::fsts::w1c_mask);
    if (!fresh) {
        return;
    }
    m_regs.set_bits(fsts_off, fresh);
    generate_event(pre);
}

bool fault_recorder::conditions_clear() const {
    return (m_regs.get(fsts_off) & pending_conditions) == 0;
}

// New condition: IP only when nothing was pending before (docs/vtd-facts.md §1.8).
void fault_recorder::generate_event(uint32_t pre_fsts) {
    if (pre_fsts & pending_conditions) {
        return;
    }
    if (hw::fectl::im::get(m_regs.get(fectl_off))) {
        m_regs.set_bits(fectl_off, hw::fectl::ip::mask);
        return;
    }
    m_regs.clear_bits(fectl_off, hw::fectl::ip::mask);
    ++m_stats.events;
    if (m_deliver) {
        m_deliver();
    }
}

void fault_recorder::update_ppf() {
    bool any = false;
    for (unsigned i = 0; i < m_num_records && !any; ++i) {
        any = record_pending(i);
    }
    m_regs.set_field<hw::fsts::ppf>(fsts_off, any);
}

void fault_recorder::maybe_clear_ip() {
    if (!conditions_clear()) {
        return;
    }
    m_regs.clear_bits(fectl_off, hw::fectl::ip::mask);
    if (m_cleared) {
        m_cleared();
    }
}

void fault_recorder::on_fsts_write(const register_file::write_event&) {
    maybe_clear_ip();
}

void fault_recorder::on_fectl_write(const register_file::write_event& ev) {
    // Unmasking with an event pending delivers it now.
    if (!hw::fectl::im::get(ev.new_value) && hw::fectl::ip::get(ev.new_value)) {
        m_regs.clear_bits(fectl_off, hw::fectl::ip::mask);
        ++m_stats.events;
        if (m_deliver) {
            m_deliver();
        }
    }
}

void fault_recorder::on_frcd_hi_write(const register_file::write_event& ev) {
    if (ev.index >= m_num_records) {
        return;
    }
    update_ppf();
    const uint64_t fsts = m_regs.get(fsts_off);
    if (hw::fsts::ppf::get(fsts)) {
        // FRI moves to the oldest record still pending, in recording order from the current FRI.
        const unsigned fri = static_cast<unsigned>(hw::fsts::fri::get(fsts)) % m_num_records;
        for (unsigned k = 0; k < m_num_records; ++k) {
            const unsigned i = (fri + k) % m_num_records;
            if (record_pending(i)) {
                m_regs.set_field<hw::fsts::fri>(fsts_off, i);
                break;
            }
        }
    }
    maybe_clear_ip();
}

}  // namespace iommusim
