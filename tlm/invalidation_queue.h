// Queued-invalidation engine of the IOMMU: queue registers, descriptor fetch/validate/apply thread,
// invalidation-wait completion, device-TLB invalidation tracking, errors and statistics.
//
// Models: docs/vtd-facts.md §1.10-1.12 (IQH/IQT/IQA, ICS, IECTL/IEDATA/IEADDR/IEUADDR, IQERCD), §2.1-2.7
// (enable latch, in-order fetch with wrap-around, 128/256-bit widths, IQE with IQEI 1-7 leaving IQH
// on the offending descriptor and resuming at IQH when FSTS.IQE is cleared, ITE/ICE, idle-only
// disable resetting IQH, wait descriptors with SW/IF/FN), §3 (via descriptor_decoder), §6 scopes
// applied through qi_host::caches(); device-TLB invalidations of types 3/8 sent to a per-SID
// device_tlb_port with an ITag and a time-out.
// Page group responses (type 9, with ECAP.PRS) go to the device's port (tlm/device_tlb_port.h).
// Wait descriptors with PD (ECAP.PDS) complete only after the page requests the unit received before
// them are in the page request queue (qi_host::drain_page_requests, docs/vtd-facts.md §10.4).
// Does not model: interrupt-entry caches (type 4 counted only),
// DMA draining (DR/DW complete at once), legacy register-based invalidation.
// Choices: IQA is latched when QIE goes 0->1 (later IQA writes take effect at the next enable);
// IQEI 5 (DW=1 without SMTS/ADMS) and 7 (active TTM reserved: 10b, 01b without SMTS, 11b without
// ADMS) are detected when the engine is about to fetch, with IQH on that descriptor; the queue works
// in legacy mode (TTM=00, e.g. before the first SRTP) with descriptor types 1-5, where types 6-8 are
// IQEI 3, and in abort-DMA mode with the scalable-mode rules; a wait descriptor always holds back later
// descriptors until it completes (what FN=1 requires, allowed for FN=0); a failing status write is
// reported as IQE with IQEI 2 (the wait's memory access failed) with IQH on the wait and no
// interrupt; on ITE the wait being held is consumed without status write or interrupt (IQH moves past
// it, as Linux's qi_check_fault expects), every outstanding device-TLB request is forgotten and
// nothing is fetched until FSTS.ITE is cleared; a type-3/8 descriptor for a requester id without a
// registered port completes at once; QIE 1->0 while busy is refused (QIES stays 1, counted); a
// queue stopped on IQE/ITE may be disabled (software's only way out of IQEI 5).
//
// Host cost: the engine runs ahead of sc_time_stamp() (a local time offset, as a quantum keeper
// would, up to the TLM global quantum) while no other process has activity before the end of the
// descriptor at hand, annotating each descriptor's time instead of waiting for it; nothing else
// can observe the caches, memory or registers meanwhile, so behaviour and timing are those of one
// wait per descriptor. Only code outside the simulation may find the engine up to a quantum ahead
// when an sc_start(duration) ends (a zero quantum, the default, keeps one wait per descriptor). It
// synchronises (waits for its offset) before anything another process sees at once: an interrupt
// or fault status, a wait completion, a device-TLB request or page response, going idle, and when
// another process has activity before the descriptor would end. The waveform state goes to a
// queue_wave_observer with each change's own time; the signals follow when the engine blocks
// (idle, or waiting for a device). The kernel is asked for the next activity once per run ahead,
// not per descriptor (see m_activity_known), and descriptors are fetched with
// phys_mem_if::read_in_page (a copy from a directly readable page).
//
// Timing (iommu_config): a descriptor takes qi_fetch_ns + memory_latency_ns, plus qi_desc_process_ns
// when valid (its effect lands at the end); a status write memory_latency_ns; a device-TLB request
// completes when its device answers and times out after devtlb_timeout_ns. A wait completes no earlier
// than the end of every upstream request served so far (qi_host::latest_served_request_end): under
// temporal decoupling an initiator may run up to its quantum ahead of the kernel, and a request it
// issued before the invalidation took effect must not be stamped after the completion.
//
// Wiring (the owning sc_module, tlm/iommu): construct it as a child with a qi_host, let it own its
// registers in the register block with attach_registers() (reads come from the engine, writes and
// FSTS W1C of IQE/ICE/ITE go to it), and forward GCMD.QIE changes to set_enabled(qie), mirroring
// the result into GSTS.QIES. A harness without a register block calls read_* / write_* directly.
// The SC_THREAD is the module's own; nothing needs spawning.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include <systemc>

#include "iommusim/hw/vtd_regs.h"
#include "tlm/descriptor_decoder.h"
#include "tlm/device_tlb_port.h"
#include "tlm/invalidation_queue_stats.h"
#include "tlm/iommu_config.h"
#include "tlm/kernel_time.h"
#include "tlm/qi_host.h"
#include "tlm/register_file.h"

namespace iommusim {

// The queue state the waves show (qi.iqh, qi.iqt, qi.desc_type, qi.waits).
struct queue_wave_state {
    uint32_t iqh = 0;        // descriptor index at the head
    uint32_t iqt = 0;        // descriptor index at the tail
    uint32_t desc_type = 0;  // type in flight, 0 idle
    uint64_t waits = 0;      // completed wait count
    bool operator==(const queue_wave_state&) const = default;
};

// Told every change of the wave state with the simulated time it happens at, which may be later
// than sc_time_stamp() (the engine runs ahead); several changes at one time: the last one holds.
class queue_wave_observer {
  public:
    virtual ~queue_wave_observer() = default;
    virtual void queue_state_changed(sc_core::sc_time at, const queue_wave_state& state) = 0;
};

class invalidation_queue : public sc_core::sc_module, public devtlb_completion_sink {
  public:
    invalidation_queue(sc_core::sc_module_name name, const iommu_config& cfg, qi_host& host);
    invalidation_queue(const invalidation_queue&) = delete;
    invalidation_queue& operator=(const invalidation_queue&) = delete;

    // ---- Register block side (values as the registers hold them, docs/vtd-facts.md §1.10-1.12) ----
    // The queue holds IQH, IQT, IQA, ICS, IECTL, IEDATA, IEADDR, IEUADDR and IQERCD: `regs` reads
    // them from it and passes software writes (and FSTS clears of IQE/ICE/ITE) to it. Call after
    // the fault recorder hooked FSTS.
    void attach_registers(register_file& regs);
    uint64_t read_iqh() const;
    uint64_t read_iqt() const { return m_iqt; }
    uint64_t read_iqa() const { return m_iqa; }
    uint32_t read_ics() const { return m_ics; }
    uint32_t read_iectl() const { return m_iectl; }
    uint32_t read_iedata() const { return m_iedata; }
    uint32_t read_ieaddr() const { return m_ieaddr; }
    uint32_t read_ieuaddr() const { return m_ieuaddr; }
    uint64_t read_iqercd() const { return m_iqercd; }

    void write_iqt(uint64_t value);    // reserved bits dropped; wakes the engine
    void write_iqa(uint64_t value);    // latched at the next enable
    void write_ics(uint32_t value);    // W1C IWC; clearing IWC clears IECTL.IP
    void write_iectl(uint32_t value);  // IM; clearing IM with IP=1 sends the pending MSI
    void write_iedata(uint32_t value) { m_iedata = value; }
    void write_ieaddr(uint32_t value);
    void write_ieuaddr(uint32_t value) { m_ieuaddr = value; }
    // GCMD.QIE: 0->1 latches IQA; 1->0 only when !busy(), then IQH = 0. Returns the new GSTS.QIES.
    bool set_enabled(bool qie);
    bool enabled() const { return m_qies; }
    // Software cleared these FSTS bits (hw::fsts::iqe / ice / ite masks); processing resumes at IQH.
    void on_fsts_w1c(uint32_t cleared_bits);
    // True while a device-TLB invalidation or a wait is outstanding, or IQH != IQT and the engine
    // is not stopped on IQE/ITE.
    bool busy() const;

    // ---- Device TLBs ----
    void register_device_tlb(uint16_t sid, device_tlb_port& port);
    void unregister_device_tlb(uint16_t sid);
    // devtlb_completion_sink: an invalidation completion message (any process context).
    void devtlb_complete(uint16_t sid, uint32_t itag_mask) override;
    // A page group response to the device registered at resp.rid (type-9 descriptors, and the
    // unit's own responses to page requests it dropped); counted and dropped without a device.
    void deliver_page_response(const page_group_response& resp);

    // ---- Observation ----
    const invalidation_queue_stats& stats() const { return m_stats; }
    void reset_stats() { m_stats = invalidation_queue_stats{}; }
    // At most one observer of the wave state (nullptr removes it).
    void set_wave_observer(queue_wave_observer* observer) { m_wave_observer = observer; }
    // How far the engine thread has run ahead of sc_time_stamp(): its own time is
    // sc_time_stamp() + time_ahead(). Zero outside the engine's processing.
    sc_core::sc_time time_ahead() const { return m_ahead; }
    // The wave state, as of the last time the engine blocked (written by the engine thread only).
    sc_core::sc_signal<uint32_t, sc_core::SC_MANY_WRITERS> iqh_signal;        // descriptor index at the head
    sc_core::sc_signal<uint32_t, sc_core::SC_MANY_WRITERS> iqt_signal;        // descriptor index at the tail
    sc_core::sc_signal<uint32_t, sc_core::SC_MANY_WRITERS> desc_type_signal;  // type in flight, 0 idle
    sc_core::sc_signal<uint64_t, sc_core::SC_MANY_WRITERS> waits_signal;      // completed wait count
    // Notified whenever a wait descriptor completes (after its status write and interrupt).
    const sc_core::sc_event& wait_completed_event() const { return m_wait_completed; }

  private:
    struct outstanding_devtlb {
        uint16_t sid = 0;
        uint8_t itag = 0;
        sc_core::sc_time deadline;
    };

    void engine();
    bool can_fetch() const {
        return m_qies && !m_iqe && !m_ite && hw::iqt::qt::get(m_iqt) != (uint64_t{m_head} << (shift() - 4));
    }
    // One descriptor at IQH: checks, fetch, decode, apply. False when it stopped on an error.
    bool step();
    void queue_error(uint8_t code);
    bool process(const decoded_desc& d);      // false: stop (error) or held back
    bool send_devtlb(const decoded_desc& d);  // false: stopped by a time-out before sending
    void send_page_response(const decoded_desc& d);
    bool run_wait(const decoded_desc& d);
    void check_timeouts() {
        if (!m_outstanding.empty()) {
            check_deadlines();
        }
    }
    void check_deadlines();
    void time_out(uint16_t sid);
    void set_ics_iwc();
    void send_completion_msi();
    // The observer sees IQH/IQT (publish) and the type in flight when they change.
    void publish() {
        const uint64_t qt = hw::iqt::qt::get(m_iqt);
        const auto tail = static_cast<uint32_t>(m_dw ? qt >> 1 : qt);
        if (m_wave.iqh != m_head || m_wave.iqt != tail) {
            show_queue(m_head, tail);
        }
    }
    void show_queue(uint32_t head, uint32_t tail);  // one of them changed
    void show_desc_type(uint32_t type) {
        if (m_wave.desc_type != type) {
            queue_wave_state s = m_wave;
            s.desc_type = type;
            show(s);
        }
    }
    void show(const queue_wave_state& state);
    // The engine's own time, ahead of the kernel's by m_ahead.
    sc_core::sc_time now() const { return kernel_time() + m_ahead; }
    // Spends t of the engine's time: annotated when no other process has activity before it ends,
    // else waited for (with what was annotated before).
    void spend(const sc_core::sc_time& t) {
        m_ahead += t;
        if (!m_activity_known || m_ahead > m_quantum || m_time_to_activity <= m_ahead) {
            settle();
        }
    }
    // spend()'s decision: annotate, or wait for what was annotated.
    void settle();
    // Waits for the annotated time, so that sc_time_stamp() is the engine's time.
    void sync();
    // The signals take the wave state: before the engine blocks on an event (an update request
    // is activity at the current time, which would end the next run ahead at once).
    void write_signals();
    void note_iqt_write();
    sc_core::sc_time earliest_deadline() const;
    uint32_t entries() const { return 1u << (m_qs + (m_dw ? 7 : 8)); }
    unsigned shift() const { return m_dw ? 5 : 4; }  // log2 descriptor bytes
    decode_caps caps_for(bool scalable_mode) const;  // RTADDR.TTM legacy (00b) or not
    bool ttm_reserved(unsigned ttm) const {          // IQEI 7
        return ttm >= 4 || ((m_reserved_ttms >> ttm) & 1) != 0;
    }
    uint8_t reserved_ttms() const;  // bit t: RTADDR.TTM t is reserved for the unit

    const iommu_config m_cfg;
    qi_host& m_host;
    const sc_core::sc_time m_fetch_delay;          // qi_fetch_ns + memory_latency_ns
    const sc_core::sc_time m_fetch_process_delay;  // + qi_desc_process_ns
    const sc_core::sc_time m_memory_delay;         // status write
    const sc_core::sc_time m_timeout_delay;        // devtlb_timeout_ns
    const decode_caps m_legacy_caps;
    const decode_caps m_scalable_caps;
    const uint8_t m_reserved_ttms;

    // Registers.
    uint64_t m_iqt = 0;
    uint64_t m_iqa = 0;
    uint32_t m_ics = 0;
    uint32_t m_iectl;
    uint32_t m_iedata = 0;
    uint32_t m_ieaddr = 0;
    uint32_t m_ieuaddr = 0;
    uint64_t m_iqercd = 0;
    // Latched at enable.
    bool m_qies = false;
    uint64_t m_base = 0;
    bool m_dw = false;
    unsigned m_qs = 0;
    uint32_t m_head = 0;  // descriptor index
    // Error state mirrored from FSTS (set by the engine, cleared by on_fsts_w1c).
    bool m_iqe = false;
    bool m_ite = false;
    bool m_ice = false;

    std::map<uint16_t, device_tlb_port*> m_ports;
    std::vector<outstanding_devtlb> m_outstanding;
    uint8_t m_next_itag = 0;
    bool m_in_wait = false;           // the engine holds a wait descriptor
    sc_core::sc_time m_publish_time;  // IQT write that published the descriptor in flight
    std::deque<std::pair<uint32_t, sc_core::sc_time>> m_iqt_writes;  // (tail index, time)

    sc_core::sc_time m_ahead;  // local time offset of the engine thread
    // The kernel's time to the next activity of any process and the global quantum, as spend()
    // last asked them. They hold until the engine waits or creates activity itself, and it does
    // either only after sync() (or in spend()), which forget them: between two waits no other
    // process runs, and what the engine calls while ahead of the kernel (memory, the caches, the
    // coverage and cache-time hooks of qi_host, the wave observer) creates none.
    bool m_activity_known = false;
    sc_core::sc_time m_time_to_activity;
    sc_core::sc_time m_quantum;
    queue_wave_state m_wave;       // as shown to the observer
    queue_wave_state m_signalled;  // as written to the signals
    queue_wave_observer* m_wave_observer = nullptr;

    sc_core::sc_event m_wake;
    sc_core::sc_event m_wait_completed;
    invalidation_queue_stats m_stats;
};

}  // namespace iommusim
