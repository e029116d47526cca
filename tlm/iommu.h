// The IOMMU as a SystemC/TLM-2.0 module: the thin shell around the functional core
// (register_file, fault_recorder, translator, invalidation_queue).
//
// Models: the register block of docs/vtd-facts.md §1 with CAP/ECAP derived from iommu_config; with
// ECAP.PRS, PRI page requests from devices queued as page request descriptors with the page request
// event (§1.13, §10; tlm/page_request_queue.h), a dropped group's Success answered in the payload,
// and page group responses (type 9) sent by the queue engine to the device's port; the
// GCMD/GSTS one-command-per-write protocol of §1.5 (TE; SRTP latching RTADDR, §1.6, with CAP.ESRTPS
// a global cache flush; QIE enable/disable through the queue engine, §2.1/§2.6; WBF completes at
// once); fault recording and the fault event (§1.8-1.9); the queued-invalidation engine (§2, §3,
// §6) owning its registers; upstream DMA: pass-through while TE=0, else translation, split
// at translated page boundaries, blocked requests answered with TLM_ADDRESS_ERROR_RESPONSE and the
// fault reason in the dma_extension; ATS translation requests answered with the translation (R=W=0
// without a fault for a not-present entry or a missing right; Unsupported Request, or Completer
// Abort for a structure access error, with the fault recorded for every other condition);
// DMI grants of one translated page with only the rights the mapping gives, revoked whenever an
// invalidation scope covers them, on TE changes, SRTP, and when memory revokes the backing DMI;
// loosely-timed annotation (per translation two cache lookups, context and PASID, and one IOTLB
// lookup; on a walk the latency of each memory access through initiator_socket; MMIO accesses)
// with quantum-keeper synchronisation, and every wait descriptor completing after the ends of the
// requests already served (an initiator ahead of the kernel cannot see a completion before its own
// earlier request took effect, tlm/invalidation_queue.h); translated DMA pieces use the memory's DMI pointers when it
// grants them (same annotated latency; byte-enabled pieces always use b_transport); statistics as JSON.
// Does not model: legacy mode (CCMD/IVA/IOTLB_REG are stored only; a unit configured without
// SMTS blocks every translated request with RTA.1, one without ECAP.QI ignores GCMD.QIE),
// interrupt remapping (a write without PASID to 0xFEEx_xxxx is recorded as an interrupt request, any
// other request without PASID touching that window is aborted with fault 0x87 recorded), advanced
// fault logging, MSI writes (fault, completion and page request events are 1 ns pulses
// on irq_fault / irq_inv / irq_prq, one per message), DMI while the stale-translation checker is on. A DMI grant
// behaves like a cached translation that is never evicted: only an invalidation covering it, SRTP, a TE change or the
// memory's own revocation ends it (table edits without invalidation stay unseen, as they would for an IOTLB entry).
// Requirement: the memory side of initiator_socket must not wait inside b_transport (the translation core is not
// re-entrant; the shell synchronises only after a request is complete).
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "tlm/dma_extension.h"
#include "tlm/dmi_slots.h"
#include "tlm/fault_recorder.h"
#include "tlm/functional_coverage.h"
#include "tlm/invalidation_queue.h"
#include "tlm/iommu_config.h"
#include "tlm/iotlb_if.h"
#include "tlm/kernel_time.h"
#include "tlm/page_request_queue.h"
#include "tlm/phys_mem_if.h"
#include "tlm/qi_host.h"
#include "tlm/register_file.h"
#include "tlm/stats_group.h"
#include "tlm/translator.h"

namespace iommusim {

// What the IOMMU reports to an observer (the platform's waves), each at the simulated time it
// happens: the DMA's own time (sc_time_stamp() plus its annotated delay so far), not the time the
// initiator next synchronises.
struct iommu_observer {
    virtual ~iommu_observer() = default;
    // One translation of a DMA piece (or an ATS translation request): when `looked_up`, the IOTLB
    // was looked up at `at` (after the context and PASID entries) and hit or missed; `walked` when
    // the tables were walked; `fault` (none when it translated) known at `done`.
    virtual void translated(bool looked_up, sc_core::sc_time at, sc_core::sc_time done, uint16_t rid, bool hit,
                            bool walked, hw::fault_reason fault) = 0;
    // A memory access of a walk (page_walker::read_observer) at `at`.
    virtual void walk_access(sc_core::sc_time at, uint64_t pa, walk_stage stage, unsigned level) = 0;
    // A page request descriptor was written into the page request queue at `at`; PQT is now `pqt`.
    virtual void page_request_queued(sc_core::sc_time at, uint64_t pqt) { (void)at, (void)pqt; }
};

class iommu : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<iommu> target_socket;        // device DMA (upstream)
    tlm_utils::simple_target_socket<iommu> mmio_socket;          // register block, offsets from 0
    tlm_utils::simple_initiator_socket<iommu> initiator_socket;  // memory: DMA, walks, queue, status writes
    sc_core::sc_out<bool> irq_fault;                             // fault event (one pulse per message)
    sc_core::sc_out<bool> irq_inv;                               // invalidation completion event
    // Page request event (one pulse per message); may stay unbound (no page requests wired).
    sc_core::sc_port<sc_core::sc_signal_inout_if<bool>, 1, sc_core::SC_ZERO_OR_MORE_BOUND> irq_prq;

    struct stats {
        uint64_t dma_requests = 0;             // upstream b_transport calls
        uint64_t dma_bytes = 0;                // bytes moved to or from memory for them
        uint64_t dma_chunks = 0;               // page-bounded pieces forwarded to memory
        uint64_t memory_dmi_accesses = 0;      // pieces moved through a DMI pointer of the memory
        uint64_t dma_faults = 0;               // requests blocked by a translation fault
        uint64_t dma_errors = 0;               // requests failed by memory or unsupported (burst, byte enables)
        uint64_t pass_through = 0;             // requests while TE=0
        uint64_t ats_requests = 0;             // ATS translation requests
        uint64_t ats_errors = 0;               // ... answered Unsupported Request or Completer Abort (fault recorded)
        uint64_t interrupt_requests = 0;       // writes without PASID to the interrupt window (not DMA)
        uint64_t interrupt_window_errors = 0;  // other requests without PASID touching the window (aborted)
        uint64_t mmio_reads = 0;
        uint64_t mmio_writes = 0;
        uint64_t mmio_errors = 0;  // unknown offset or bad size
        uint64_t dmi_grants = 0;
        uint64_t dmi_denied = 0;
        uint64_t dmi_revocations = 0;      // invalidate_direct_mem_ptr calls towards devices
        uint64_t quantum_syncs = 0;        // wait() calls on reaching the quantum
        uint64_t fault_events = 0;         // irq_fault messages
        uint64_t completion_events = 0;    // irq_inv messages
        uint64_t page_requests = 0;        // PRI page request messages received
        uint64_t page_request_faults = 0;  // of those, refused by the context entry (PRE clear, not present)
        uint64_t page_request_events = 0;  // irq_prq messages
    };

    // Validates the configuration (SC_REPORT_FATAL on bad values, e.g. CAP.NFR beyond the
    // register table's FRCD_MAX records).
    SC_HAS_PROCESS(iommu);
    iommu(const sc_core::sc_module_name& name, const iommu_config& cfg, iotlb_if& tlb);
    iommu(const iommu&) = delete;
    iommu& operator=(const iommu&) = delete;
    ~iommu() override;

    const iommu_config& config() const { return m_cfg; }
    register_file& registers() { return m_regs; }
    fault_recorder& faults() { return m_faults; }
    translator& translation() { return m_translator; }
    invalidation_queue& queue() { return *m_queue; }
    page_request_queue& page_requests() { return m_prq; }
    // Turns the stale-translation checker on or off at run time; turning it on revokes every DMI
    // grant, since accesses through DMI bypass the IOTLB the checker watches.
    void set_stale_check(bool on);
    // Memory as the translator sees it (timed through initiator_socket); tests use it too.
    phys_mem_if& walk_memory();

    const stats& statistics() const { return m_stats; }
    // A write without PASID into 0xFEEx_xxxx: an interrupt request (MSI), not DMA. Interrupt
    // remapping is not modelled: the request is recorded and goes nowhere.
    struct interrupt_request {
        uint16_t rid = 0;
        uint64_t addr = 0;
        uint32_t data = 0;  // the first (up to) four bytes, little-endian
        unsigned len = 0;
    };
    static constexpr std::size_t interrupt_record_limit = 1024;  // later ones are only counted
    const std::vector<interrupt_request>& interrupt_requests() const { return m_interrupts; }
    // {"iommu": {...}, "translation": {...}, "faults": {...}, "qi": {...},
    //  "interrupts": {"requests", "window_errors", "last": {"rid", "addr", "data", "len"}}}
    std::string stats_json() const;
    // The functional coverage so far (tlm/functional_coverage.h): a JSON array of points.
    std::string coverage_json() const;
    // The group stats_json() writes (a platform adds it to its own).
    const stats_group& statistics_group() const { return m_stats_group; }
    // At most one observer; nullptr removes it.
    void set_observer(iommu_observer* observer);
    // Simulated time of what the IOMMU is doing now: inside a translation, sc_time_stamp() plus the
    // DMA's annotated delay, the walk's memory time and the IOTLB cycles spent so far; else
    // sc_time_stamp() plus how far the queue engine has run ahead (invalidation_queue::time_ahead)
    // or, during a register access, the access's annotated delay.
    // The RTL IOTLB clocks its waves by it.
    sc_core::sc_time operation_time() const;
    // Live DMI grants (tests).
    std::size_t dmi_grant_count() const { return m_grants.size(); }

  private:
    class socket_memory;
    class queue_host;
    struct dmi_grant {
        uint64_t in_start = 0;  // device-side range (inclusive end)
        uint64_t in_end = 0;
        uint64_t out_start = 0;  // memory-side range
        uint64_t out_end = 0;
        uint16_t rid = 0;
        uint16_t did = 0;
        uint32_t pasid = 0;
        translation_kind kind = translation_kind::pass_through;
        bool untranslated = false;  // granted while TE=0
    };
    struct pulse {
        sc_core::sc_event ev;
        unsigned pending = 0;
        bool high = false;
    };

    // Sockets.
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
    void mmio_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned int mmio_transport_dbg(tlm::tlm_generic_payload& trans);
    void memory_invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end);

    // DMA helpers.
    translation_request make_request(const tlm::tlm_generic_payload& trans, const dma_extension* ext,
                                     uint64_t addr) const;
    void record_fault(const translation_request& req, const translation_result& r, dma_extension* ext);
    // A translated piece to memory through initiator_socket (keeping the DMI pointer memory grants).
    void forward(tlm::tlm_generic_payload& trans, uint64_t out_addr, unsigned offset, unsigned len,
                 sc_core::sc_time& delay);
    // The same through the memory's DMI pointer (same latency) when it has one for the piece and the
    // piece has no byte enables; false (nothing done) otherwise.
    bool forward_dmi(tlm::tlm_generic_payload& trans, uint64_t out_addr, unsigned offset, unsigned len,
                     sc_core::sc_time& delay);
    // The translation of one DMA piece at addr, timed; a fault is recorded and answers the request
    // with TLM_ADDRESS_ERROR_RESPONSE. Inline: once per piece.
    [[gnu::always_inline]] translation_result translate_piece(tlm::tlm_generic_payload& trans, dma_extension* ext,
                                                              uint64_t addr, sc_core::sc_time& delay);
    // A translated piece to memory (forward_dmi, else forward) with its statistics; false when the
    // memory failed it.
    [[gnu::always_inline]] bool move_piece(tlm::tlm_generic_payload& trans, uint64_t out_addr, unsigned offset,
                                           unsigned len, sc_core::sc_time& delay);
    void ats_translate(tlm::tlm_generic_payload& trans, dma_extension* ext, sc_core::sc_time& delay);
    void page_request_transport(tlm::tlm_generic_payload& trans, dma_extension* ext, sc_core::sc_time& delay);
    // True when a request without PASID touches the interrupt window.
    static bool interrupt_window_request(const tlm::tlm_generic_payload& trans, const dma_extension* ext);
    void interrupt_window(tlm::tlm_generic_payload& trans, dma_extension* ext);
    bool page_request(tlm::tlm_generic_payload& trans, dma_extension* ext);
    // Waits (in the calling thread) until every page request received so far has been written or
    // dropped: the drain of a wait descriptor with PD.
    void drain_page_requests();
    // After each upstream request: notes its end for the queue engine's wait descriptors and, with
    // quantum-keeper semantics (run ahead of simulated time up to one quantum), yields when the
    // annotated delay reached the quantum. Inline: every request; the yield is quantum_sync().
    void sync(sc_core::sc_time& delay) {
        // Noted before yielding: the queue engine may reach a wait descriptor while this initiator waits.
        m_latest_request_end = std::max(m_latest_request_end, kernel_time() + delay);
        if (delay >= m_quantum) {
            quantum_sync(delay);
        }
    }
    void quantum_sync(sc_core::sc_time& delay);
    // `delay`: the request's annotated delay before the translation (sets operation_time()).
    // Inline: once per DMA piece.
    [[gnu::always_inline]] translation_result timed_translate(const translation_request& req,
                                                              const sc_core::sc_time& delay);
    sc_core::sc_time cycle_time(uint64_t cycles) const;

    // Statistics: the IOMMU's own counters and every component's, in m_stats_group.
    void register_statistics();

    // Registers.
    void derive_capabilities();
    void hook_registers();
    void on_gcmd(const register_file::write_event& ev);

    // DMI bookkeeping.
    void revoke_if(const std::function<bool(const dmi_grant&)>& pred);
    void revoke_all() {
        revoke_if([](const dmi_grant&) { return true; });
    }

    // Interrupt lines: one process drives each (pulse per message).
    void fault_irq_process() { drive(irq_fault.operator->(), m_fault_pulse); }
    void inv_irq_process() { drive(irq_inv.operator->(), m_inv_pulse); }
    void prq_irq_process() { drive(irq_prq.size() ? irq_prq.operator->() : nullptr, m_prq_pulse); }
    // `line` nullptr: an unbound optional line, the pulse is only counted.
    void drive(sc_core::sc_signal_inout_if<bool>* line, pulse& p);
    void send(pulse& p);

    const iommu_config m_cfg;
    std::vector<hw::reg_desc> m_table;
    register_file m_regs;
    fault_recorder m_faults;
    std::unique_ptr<socket_memory> m_walk_mem;  // timed, per-request delay (translator)
    iommu_observer* m_observer = nullptr;
    bool m_translating = false;                  // inside timed_translate: operation_time() adds the offsets
    sc_core::sc_time m_access_delay;             // during a register access: its annotated delay (when it acts)
    sc_core::sc_time m_translation_start;        // the request's annotated delay at the translation's start
    uint64_t m_translation_cycles = 0;           // IOTLB cycles counter at the translation's start
    bool m_looked_up = false;                    // the translation in progress reached the IOTLB lookup
    sc_core::sc_time m_lookup_at;                // and when
    std::unique_ptr<socket_memory> m_queue_mem;  // untimed for the queue engine (it charges latency)
    translator m_translator;
    std::unique_ptr<queue_host> m_host;
    std::unique_ptr<invalidation_queue> m_queue;
    page_request_queue m_prq;
    uint64_t m_active_rtaddr = 0;
    bool m_te = false;  // GSTS.TES, kept here for the DMA path
    std::vector<dmi_grant> m_grants;
    tlm::tlm_generic_payload m_fwd;  // memory-side payload of forwarded DMA pieces
    // The memory's DMI grants, direct-mapped by output page, used for DMA pieces.
    dmi_slots<64> m_mem_dmi;
    pulse m_fault_pulse;
    pulse m_inv_pulse;
    pulse m_prq_pulse;
    iotlb_if& m_tlb;
    bool m_tlb_timed;  // m_tlb may count cycles (not the untimed C++ IOTLB): asked around each translation
    sc_core::sc_time m_lookup_latency;  // context + PASID cache lookups
    sc_core::sc_time m_iotlb_latency;   // IOTLB lookup of an untimed IOTLB (RTL: its cycles)
    sc_core::sc_time m_mmio_latency;
    sc_core::sc_time m_quantum;
    sc_core::sc_time m_latest_request_end;  // stamp of the latest end of a served upstream request
    // Page requests received and not yet written (waiting for their descriptor write), by arrival
    // number; notified as each one is done.
    uint64_t m_page_requests_arrived = 0;
    std::set<uint64_t> m_page_requests_in_flight;
    sc_core::sc_event m_page_request_done;
    stats m_stats;
    std::vector<interrupt_request> m_interrupts;
    translation_stats m_translation_snapshot;  // the translator computes its statistics: taken when written
    functional_coverage m_coverage;
    stats_group m_stats_group;
};

// Inline: every DMA request needs them.
inline translation_request iommu::make_request(const tlm::tlm_generic_payload& trans, const dma_extension* ext,
                                               uint64_t addr) const {
    translation_request r;
    r.addr = addr;
    r.write = trans.is_write();
    if (ext) {
        r.rid = ext->requester_id;
        r.has_pasid = ext->has_pasid;
        r.pasid = ext->pasid & 0xfffff;
        r.priv = ext->has_pasid && ext->priv;
        r.exec = ext->has_pasid && ext->exec;
        r.ats_translation = ext->ats_translation;
    }
    return r;
}

inline bool iommu::interrupt_window_request(const tlm::tlm_generic_payload& trans, const dma_extension* ext) {
    const uint64_t len = std::max<uint64_t>(trans.get_data_length(), 1);
    return !(ext && ext->has_pasid) && hw::overlaps_interrupt_window(trans.get_address(), len);
}

}  // namespace iommusim
