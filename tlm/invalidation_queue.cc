#include "tlm/invalidation_queue.h"

#include <algorithm>

#include <tlm>

#include "iommusim/hw/vtd_regs.h"
#include "tlm/kernel_time.h"

namespace iommusim {

namespace {
constexpr const char* msg_type = "iommusim/invalidation_queue";
constexpr unsigned max_itags = 32;            // ATS ITags are 5 bits
constexpr std::size_t max_iqt_writes = 4096;  // latency bookkeeping bound (software writing garbage)
constexpr unsigned legacy_ttm = 0;
constexpr unsigned scalable_ttm = 1;
constexpr unsigned always_reserved_ttm = 2;
constexpr unsigned abort_dma_ttm = 3;
}  // namespace

invalidation_queue::invalidation_queue(sc_core::sc_module_name name, const iommu_config& cfg, qi_host& host)
    : sc_core::sc_module(name)
    , iqh_signal("iqh")
    , iqt_signal("iqt")
    , desc_type_signal("desc_type")
    , waits_signal("waits")
    , m_cfg(cfg)
    , m_host(host)
    , m_fetch_delay(static_cast<double>(cfg.qi_fetch_ns + cfg.memory_latency_ns), sc_core::SC_NS)
    , m_fetch_process_delay(static_cast<double>(cfg.qi_fetch_ns + cfg.memory_latency_ns + cfg.qi_desc_process_ns),
                            sc_core::SC_NS)
    , m_memory_delay(static_cast<double>(cfg.memory_latency_ns), sc_core::SC_NS)
    , m_timeout_delay(static_cast<double>(cfg.devtlb_timeout_ns), sc_core::SC_NS)
    , m_legacy_caps(caps_for(false))
    , m_scalable_caps(caps_for(true))
    , m_reserved_ttms(reserved_ttms())
    , m_iectl(static_cast<uint32_t>(hw::iectl::reset)) {
    SC_HAS_PROCESS(invalidation_queue);
    SC_THREAD(engine);
}

// ---- Registers ---------------------------------------------------------------------------------

void invalidation_queue::attach_registers(register_file& regs) {
    using namespace hw;
    using ev_t = register_file::write_event;
    regs.on_read(reg::IQH_OFFSET, [this] { return read_iqh(); });
    regs.on_read(reg::IQT_OFFSET, [this] { return read_iqt(); });
    regs.on_read(reg::IQA_OFFSET, [this] { return read_iqa(); });
    regs.on_read(reg::ICS_OFFSET, [this] { return read_ics(); });
    regs.on_read(reg::IECTL_OFFSET, [this] { return read_iectl(); });
    regs.on_read(reg::IEDATA_OFFSET, [this] { return read_iedata(); });
    regs.on_read(reg::IEADDR_OFFSET, [this] { return read_ieaddr(); });
    regs.on_read(reg::IEUADDR_OFFSET, [this] { return read_ieuaddr(); });
    regs.on_read(reg::IQERCD_OFFSET, [this] { return read_iqercd(); });
    regs.on_write(reg::IQT_OFFSET, [this](const ev_t& ev) { write_iqt(ev.new_value); });
    regs.on_write(reg::IQA_OFFSET, [this](const ev_t& ev) { write_iqa(ev.new_value); });
    // ICS is W1C: what software wrote, not what would remain.
    regs.on_write(reg::ICS_OFFSET,
                  [this](const ev_t& ev) { write_ics(static_cast<uint32_t>(ev.written & ev.written_mask)); });
    regs.on_write(reg::IECTL_OFFSET, [this](const ev_t& ev) { write_iectl(static_cast<uint32_t>(ev.new_value)); });
    regs.on_write(reg::IEDATA_OFFSET, [this](const ev_t& ev) { write_iedata(static_cast<uint32_t>(ev.new_value)); });
    regs.on_write(reg::IEADDR_OFFSET, [this](const ev_t& ev) { write_ieaddr(static_cast<uint32_t>(ev.new_value)); });
    regs.on_write(reg::IEUADDR_OFFSET, [this](const ev_t& ev) { write_ieuaddr(static_cast<uint32_t>(ev.new_value)); });
    // Processing resumes when software clears IQE/ICE/ITE.
    regs.on_write(reg::FSTS_OFFSET, [this](const ev_t& ev) {
        const uint32_t cleared = static_cast<uint32_t>(ev.old_value & ~ev.new_value) &
                                 static_cast<uint32_t>(fsts::iqe::mask | fsts::ice::mask | fsts::ite::mask);
        if (cleared) {
            on_fsts_w1c(cleared);
        }
    });
}

uint64_t invalidation_queue::read_iqh() const {
    return hw::iqh::qh::make(uint64_t{m_head} << (shift() - 4));
}

void invalidation_queue::write_iqt(uint64_t value) {
    m_iqt = value & hw::iqt::rw_mask;
    note_iqt_write();
    m_wake.notify(m_host.register_access_delay());
}

void invalidation_queue::write_iqa(uint64_t value) {
    m_iqa = value & hw::iqa::rw_mask;
}

void invalidation_queue::write_ics(uint32_t value) {
    if (hw::ics::iwc::get(value) == 0 || hw::ics::iwc::get(m_ics) == 0) {
        return;
    }
    m_ics = static_cast<uint32_t>(hw::ics::iwc::set(m_ics, 0));
    // Clearing IWC while the interrupt is pending withdraws it (docs/vtd-facts.md §1.11).
    m_iectl = static_cast<uint32_t>(hw::iectl::ip::set(m_iectl, 0));
}

void invalidation_queue::write_iectl(uint32_t value) {
    const bool was_masked = hw::iectl::im::get(m_iectl) != 0;
    const bool masked = hw::iectl::im::get(value) != 0;
    m_iectl = static_cast<uint32_t>(hw::iectl::im::set(m_iectl, masked));
    if (was_masked && !masked && hw::iectl::ip::get(m_iectl) != 0) {
        // Unmasking a pending completion event sends it now (docs/vtd-facts.md §1.11).
        m_iectl = static_cast<uint32_t>(hw::iectl::ip::set(m_iectl, 0));
        send_completion_msi();
    }
}

void invalidation_queue::write_ieaddr(uint32_t value) {
    m_ieaddr = static_cast<uint32_t>(value & hw::ieaddr::rw_mask);
}

bool invalidation_queue::set_enabled(bool qie) {
    if (qie && !m_qies) {
        // Enable latches base, width and size (docs/vtd-facts.md §2.1); bits at or above HAW are ignored.
        m_base = (hw::iqa::iqa::get(m_iqa) << 12) & hw::low_mask(m_cfg.haw);
        m_dw = hw::iqa::dw::get(m_iqa) != 0;
        m_qs = static_cast<unsigned>(hw::iqa::qs::get(m_iqa));
        m_qies = true;
        m_iqt_writes.clear();
        note_iqt_write();
        m_wake.notify(m_host.register_access_delay());
        return true;
    }
    if (!qie && m_qies) {
        if (busy()) {
            // Software must wait for IQH == IQT first (docs/vtd-facts.md §2.6); refusing keeps the queue whole.
            ++m_stats.disable_refused;
            SC_REPORT_WARNING(msg_type, "QIE cleared while the invalidation queue is busy: refused");
            return true;
        }
        m_qies = false;
        m_head = 0;
        m_iqt_writes.clear();
        m_wake.notify(m_host.register_access_delay());
        return false;
    }
    return m_qies;
}

void invalidation_queue::on_fsts_w1c(uint32_t cleared_bits) {
    if (hw::fsts::iqe::get(cleared_bits) != 0) {
        m_iqe = false;
    }
    if (hw::fsts::ite::get(cleared_bits) != 0) {
        m_ite = false;
    }
    if (hw::fsts::ice::get(cleared_bits) != 0) {
        m_ice = false;
    }
    m_wake.notify(m_host.register_access_delay());
}

bool invalidation_queue::busy() const {
    if (!m_qies) {
        return false;
    }
    if (!m_outstanding.empty() || m_in_wait) {
        return true;
    }
    // Stopped on IQE/ITE counts as idle, so that software can disable and reprogram the queue
    // (e.g. after IQEI 5, which only a new IQA.DW fixes).
    return !m_iqe && !m_ite && hw::iqt::qt::get(m_iqt) != (uint64_t{m_head} << (shift() - 4));
}

// ---- Device TLBs -------------------------------------------------------------------------------

void invalidation_queue::register_device_tlb(uint16_t sid, device_tlb_port& port) {
    m_ports[sid] = &port;
}

void invalidation_queue::unregister_device_tlb(uint16_t sid) {
    m_ports.erase(sid);
}

void invalidation_queue::devtlb_complete(uint16_t sid, uint32_t itag_mask) {
    bool unexpected = itag_mask == 0;
    for (unsigned tag = 0; tag < max_itags; ++tag) {
        if (((itag_mask >> tag) & 1u) == 0) {
            continue;
        }
        auto it = std::find_if(m_outstanding.begin(), m_outstanding.end(),
                               [&](const outstanding_devtlb& o) { return o.sid == sid && o.itag == tag; });
        if (it == m_outstanding.end()) {
            unexpected = true;
            continue;
        }
        m_outstanding.erase(it);
        ++m_stats.devtlb_completed;
    }
    if (unexpected) {
        // Bad ITag or requester id (docs/vtd-facts.md §2.5); ICESID is captured only if ICE was clear.
        ++m_stats.ice;
        if (!m_ice) {
            m_ice = true;
            m_iqercd = hw::iqercd::icesid::set(m_iqercd, sid);
            m_host.set_fsts(static_cast<uint32_t>(hw::fsts::ice::mask));
        }
    }
    m_wake.notify(sc_core::SC_ZERO_TIME);  // a device's message, no register access
}

// ---- Engine ------------------------------------------------------------------------------------

decode_caps invalidation_queue::caps_for(bool scalable_mode) const {
    decode_caps c;
    c.mamv = m_cfg.mamv;
    c.nd = m_cfg.nd;
    c.psi = m_cfg.psi;
    c.dt = m_cfg.dt;
    c.ir = m_cfg.ir;
    c.pds = m_cfg.pds;
    c.dit = m_cfg.dit;
    c.prs = m_cfg.prs;
    c.scalable_mode = scalable_mode;
    return c;
}

uint8_t invalidation_queue::reserved_ttms() const {
    // 10b is always reserved; 01b needs ECAP.SMTS and 11b ECAP.ADMS (docs/vtd-facts.md §1.6).
    static_assert(abort_dma_ttm == 3, "ttm_reserved() knows TTM values 0-3");
    return static_cast<uint8_t>((1u << always_reserved_ttm) | (m_cfg.smts ? 0u : 1u << scalable_ttm) |
                                (m_cfg.adms ? 0u : 1u << abort_dma_ttm));
}

void invalidation_queue::show_queue(uint32_t head, uint32_t tail) {
    m_wave.iqh = head;
    m_wave.iqt = tail;
    if (m_wave_observer) {
        m_wave_observer->queue_state_changed(now(), m_wave);
    }
}

void invalidation_queue::show(const queue_wave_state& state) {
    if (state == m_wave) {
        return;
    }
    m_wave = state;
    if (m_wave_observer) {
        m_wave_observer->queue_state_changed(now(), state);
    }
}

void invalidation_queue::write_signals() {
    // Only changed signals: an update request is activity at the current time, which would end
    // the next run ahead.
    if (m_wave.iqh != m_signalled.iqh) {
        iqh_signal.write(m_wave.iqh);
    }
    if (m_wave.iqt != m_signalled.iqt) {
        iqt_signal.write(m_wave.iqt);
    }
    if (m_wave.desc_type != m_signalled.desc_type) {
        desc_type_signal.write(m_wave.desc_type);
    }
    if (m_wave.waits != m_signalled.waits) {
        waits_signal.write(m_wave.waits);
    }
    m_signalled = m_wave;
}

void invalidation_queue::settle() {
    if (!m_activity_known) {
        // Until the next sync() nothing creates activity (see m_activity_known), so the kernel's
        // answer holds for every descriptor up to then.
        m_quantum = tlm::tlm_global_quantum::instance().get();
        m_time_to_activity = sc_core::sc_time_to_pending_activity();
        m_activity_known = true;
    }
    // Another process running before the end (or at it: the kernel orders processes of one time
    // itself; activity at the current time counts as zero) could see what the descriptor changed
    // before its time. Beyond the quantum, code outside the simulation could (between two
    // sc_start calls).
    if (m_ahead > m_quantum || m_time_to_activity <= m_ahead) {
        // Even a zero wait: the delta cycle lets that activity run first, as one wait per descriptor would.
        const sc_core::sc_time w = m_ahead;
        m_ahead = sc_core::SC_ZERO_TIME;
        m_activity_known = false;
        wait(w);
    }
}

void invalidation_queue::sync() {
    m_activity_known = false;
    if (m_ahead != sc_core::SC_ZERO_TIME) {
        const sc_core::sc_time t = m_ahead;
        m_ahead = sc_core::SC_ZERO_TIME;
        wait(t);
    }
}

void invalidation_queue::note_iqt_write() {
    if (!m_qies) {
        return;
    }
    const uint64_t qt = hw::iqt::qt::get(m_iqt);
    const auto tail = static_cast<uint32_t>(m_dw ? qt >> 1 : qt);
    const uint32_t last = m_iqt_writes.empty() ? m_head : m_iqt_writes.back().first;
    if (tail == last) {
        return;
    }
    if (m_iqt_writes.size() >= max_iqt_writes) {
        m_iqt_writes.pop_front();
    }
    m_iqt_writes.emplace_back(tail, kernel_time() + m_host.register_access_delay());
}

sc_core::sc_time invalidation_queue::earliest_deadline() const {
    sc_core::sc_time t = m_outstanding.front().deadline;
    for (const outstanding_devtlb& o : m_outstanding) {
        t = std::min(t, o.deadline);
    }
    return t;
}

void invalidation_queue::engine() {
    for (;;) {
        check_timeouts();
        if (can_fetch()) {
            step();
            continue;
        }
        publish();
        show_desc_type(0);
        sync();
        write_signals();
        if (m_outstanding.empty()) {
            wait(m_wake);
        } else {
            wait(earliest_deadline() - kernel_time(), m_wake);
        }
    }
}

void invalidation_queue::queue_error(uint8_t code) {
    m_iqe = true;
    m_iqercd = hw::iqercd::iqei::set(m_iqercd, code);
    ++m_stats.iqe_by_iqei[code];
    show_desc_type(0);
    publish();
    sync();  // software sees the error at once
    m_host.set_fsts(static_cast<uint32_t>(hw::fsts::iqe::mask));
}

bool invalidation_queue::step() {
    const uint64_t qt = hw::iqt::qt::get(m_iqt);
    publish();
    // Queue-level checks first, with IQH on the descriptor that would be fetched (docs/vtd-facts.md §2.4).
    if (m_dw && !(m_cfg.smts || m_cfg.adms)) {
        queue_error(iqei::invalid_width);
        return false;
    }
    const unsigned ttm = m_host.active_ttm();
    if (ttm_reserved(ttm)) {
        queue_error(iqei::invalid_ttm);
        return false;
    }
    if (m_dw && (qt & 1) != 0) {
        queue_error(iqei::misaligned_tail);
        return false;
    }
    if ((m_dw ? qt >> 1 : qt) >= entries()) {
        queue_error(iqei::invalid_tail);
        return false;
    }

    // The descriptor is read and checked when the fetch starts, and its outcome takes effect after the
    // fetch latency (error) or fetch + processing latency (apply).
    hw::inv_desc d{};
    const std::size_t bytes = std::size_t{1} << shift();
    const decode_result r =
        m_host.memory().read_in_page(m_base + (uint64_t{m_head} << shift()), d.data(), bytes)
            ? descriptor_decoder::decode(d, m_dw, ttm == legacy_ttm ? m_legacy_caps : m_scalable_caps)
            : decode_result{iqei::fetch_error, {}};
    if (!r.ok()) {
        spend(m_fetch_delay);
        queue_error(r.iqei);
        return false;
    }
    show_desc_type(static_cast<uint32_t>(r.desc.type));
    spend(m_fetch_process_delay);
    m_publish_time = m_iqt_writes.empty() ? now() : m_iqt_writes.front().second;
    if (!process(r.desc)) {
        return false;
    }

    ++m_stats.descriptors;
    ++m_stats.per_type[static_cast<unsigned>(r.desc.type)];
    ++m_stats.per_scope[static_cast<unsigned>(r.desc.scope.kind)];
    m_head = (m_head + 1) & (entries() - 1);
    while (!m_iqt_writes.empty() && m_iqt_writes.front().first == m_head) {
        m_iqt_writes.pop_front();
    }
    publish();
    return true;
}

bool invalidation_queue::process(const decoded_desc& d) {
    switch (d.type) {
        case hw::inv_type::context_cache:
        case hw::inv_type::iotlb:
        case hw::inv_type::pasid_iotlb:
        case hw::inv_type::pasid_cache: {
            const unsigned dropped = m_host.caches().invalidate(d.scope);
            m_stats.entries_dropped += dropped;
            m_host.scope_applied(d.scope, dropped);
            if (const sc_core::sc_time t = m_host.take_cache_time(); t != sc_core::SC_ZERO_TIME) {
                spend(t);
            }
            return true;
        }
        case hw::inv_type::dev_tlb:
        case hw::inv_type::pasid_dev_tlb:
            return send_devtlb(d);
        case hw::inv_type::wait:
            return run_wait(d);
        case hw::inv_type::page_group_response:
            send_page_response(d);
            return true;
        default:
            return true;  // type 4: no interrupt-entry cache is modelled
    }
}

// Type 9 (§3.10): the response message goes to the device at RID; one without a registered port
// (no PRI-capable device there) drops it.
void invalidation_queue::send_page_response(const decoded_desc& d) {
    sync();  // the device acts on it at once
    page_group_response resp;
    resp.rid = d.scope.sid;
    resp.pasid_present = d.pasid_present;
    resp.pasid = d.scope.pasid;
    resp.prg_index = d.prg_index;
    resp.code = d.response_code;
    resp.lpig = d.lpig;
    deliver_page_response(resp);
}

void invalidation_queue::deliver_page_response(const page_group_response& resp) {
    auto port = m_ports.find(resp.rid);
    if (port == m_ports.end()) {
        ++m_stats.page_responses_no_device;
        return;
    }
    ++m_stats.page_responses_sent;
    port->second->page_response(resp);
}

bool invalidation_queue::send_devtlb(const decoded_desc& d) {
    auto port = m_ports.find(d.scope.sid);
    if (port == m_ports.end()) {
        ++m_stats.devtlb_no_device;
        return true;
    }
    sync();  // the device acts on the request at once, and its time-out runs from now
    // Out of ITags: hold the descriptor until a completion frees one (or a time-out stops us).
    for (;;) {
        check_timeouts();
        if (m_ite) {
            return false;
        }
        if (m_outstanding.size() < max_itags) {
            break;
        }
        write_signals();
        wait(earliest_deadline() - kernel_time(), m_wake);
    }
    uint8_t tag = m_next_itag;
    while (std::any_of(m_outstanding.begin(), m_outstanding.end(),
                       [&](const outstanding_devtlb& o) { return o.itag == tag; })) {
        tag = static_cast<uint8_t>((tag + 1) % max_itags);
    }
    m_next_itag = static_cast<uint8_t>((tag + 1) % max_itags);

    devtlb_request req;
    req.sid = d.scope.sid;
    req.itag = tag;
    req.with_pasid = d.type == hw::inv_type::pasid_dev_tlb;
    req.pasid = d.scope.pasid;
    req.all_pasids = d.all_pasids;
    req.base = d.dev_base;
    req.length = d.dev_length;
    req.mip = d.mip;
    req.pfsid = d.pfsid;
    m_outstanding.push_back({d.scope.sid, tag, now() + m_timeout_delay});
    ++m_stats.devtlb_sent;
    port->second->invalidate(req, *this);  // may complete synchronously
    return true;
}

bool invalidation_queue::run_wait(const decoded_desc& d) {
    if (d.fn) {
        ++m_stats.fences;
    }
    m_in_wait = true;
    // Completion strictly after every earlier descriptor, device-TLB invalidations included (§2.7).
    for (;;) {
        check_timeouts();
        if (m_ite || m_outstanding.empty()) {
            break;
        }
        sync();
        write_signals();
        wait(earliest_deadline() - kernel_time(), m_wake);
    }
    m_in_wait = false;
    if (m_ite) {
        // A time-out aborts the pending wait: no status write, no interrupt (docs/vtd-facts.md §2.5).
        ++m_stats.waits_aborted;
        return true;
    }
    if (d.pd) {
        // Page-request drain (§10.4): the device-TLB invalidations above have pushed the devices'
        // earlier page requests into the unit; the completion waits until they are in the queue.
        sync();
        write_signals();
        m_host.drain_page_requests();
    }
    // The completion is a synchronisation point for every initiator: a request served before the
    // descriptors above took effect, but stamped later (an initiator ahead of the kernel by up to
    // its quantum), must not end after the completion software sees.
    const sc_core::sc_time completes_at = now() + (d.sw ? m_memory_delay : sc_core::SC_ZERO_TIME);
    if (const sc_core::sc_time served = m_host.latest_served_request_end(); served > completes_at) {
        ++m_stats.waits_held;
        spend(served - completes_at);
    }
    if (d.sw) {
        spend(m_memory_delay);
        sync();  // software may read the word from now on
        const uint32_t data = d.status_data;
        if (!m_host.memory().write(d.status_addr, &data, sizeof data)) {
            queue_error(iqei::fetch_error);
            return false;
        }
        ++m_stats.status_writes;
    }
    sync();  // the completion interrupt and event are seen at once (SW=0: nothing was annotated)
    if (d.iflag) {
        set_ics_iwc();
    }
    ++m_stats.waits_completed;
    m_stats.iqt_to_wait_ns.add(rounded_ns(kernel_time() - m_publish_time));
    queue_wave_state s = m_wave;
    s.waits = m_stats.waits_completed;
    show(s);
    write_signals();
    m_wait_completed.notify();  // waiters run in this delta cycle: no delta cycle of its own
    return true;
}

void invalidation_queue::check_deadlines() {
    const sc_core::sc_time t = now();
    for (const outstanding_devtlb& o : m_outstanding) {
        if (o.deadline <= t) {
            time_out(o.sid);
            return;
        }
    }
}

void invalidation_queue::time_out(uint16_t sid) {
    sync();  // software sees ITE at once (nothing else ran meanwhile: m_outstanding is unchanged)
    ++m_stats.ite;
    const bool first = !m_ite;
    m_ite = true;
    // Every outstanding request is forgotten: a late completion for one of them is unexpected (ICE).
    m_outstanding.clear();
    if (first) {
        m_iqercd = hw::iqercd::itesid::set(m_iqercd, sid);
        m_host.set_fsts(static_cast<uint32_t>(hw::fsts::ite::mask));
    }
}

void invalidation_queue::set_ics_iwc() {
    // A completion while IWC is still set is not signalled again (docs/vtd-facts.md §1.11).
    if (hw::ics::iwc::get(m_ics) != 0) {
        return;
    }
    m_ics = static_cast<uint32_t>(hw::ics::iwc::set(m_ics, 1));
    if (hw::iectl::im::get(m_iectl) != 0) {
        m_iectl = static_cast<uint32_t>(hw::iectl::ip::set(m_iectl, 1));
    } else {
        send_completion_msi();
    }
}

void invalidation_queue::send_completion_msi() {
    ++m_stats.completion_interrupts;
    m_host.raise_completion_event((uint64_t{m_ieuaddr} << 32) | m_ieaddr, m_iedata);
}

}  // namespace iommusim
