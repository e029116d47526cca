// Primary fault recording and the fault event (functional core, no SystemC state).
//
// Models: docs/vtd-facts.md §1.9 FRCD recording (QEMU vtd_report_frcd_fault order: drop while PFO=1;
// compression of a fault whose source id already sits in a pending record; PFO when the next record
// is still pending; FRI set when PPF goes 0->1; records used round-robin over CAP.NFR+1), PPF derived
// from the F bits, FRCD.F write-1-to-clear; §1.8 fault event: a new condition raises FECTL.IP only
// when no earlier condition is pending in FSTS; IM=0 delivers it at once (IP cleared), IM=1 keeps IP
// until software clears IM; clearing every condition clears IP. Faults suppressed by FPD are counted,
// not recorded. Other units (the invalidation queue) raise IQE/ICE/ITE through raise_status().
// Does not model: advanced fault logging (AFO/APF stay 0), MSI writes (delivery is a callback).
#pragma once

#include <cstdint>
#include <functional>

#include "iommusim/hw/vtd_fault.h"
#include "tlm/register_file.h"
#include "tlm/stats_group.h"

namespace iommusim {

// Request type as FRCD T2/T1 encode it (VirtualBox encoding, docs/vtd-facts.md §1.9).
enum class fault_request : uint8_t { write = 0, translation = 1, read = 2, atomic = 3 };

struct fault_info {
    uint16_t sid = 0;   // requester id (bus:dev.fn)
    uint64_t addr = 0;  // faulting input address (page address is recorded)
    hw::fault_reason reason = hw::fault_reason::none;
    fault_request type = fault_request::read;
    bool has_pasid = false;
    uint32_t pasid = 0;
    bool priv = false;  // supervisor request
    bool exec = false;  // execute request
};

class fault_recorder {
  public:
    enum class outcome { recorded, compressed, overflow, dropped, suppressed };

    struct stats {
        uint64_t recorded = 0;
        uint64_t compressed = 0;  // same SID already pending
        uint64_t overflow = 0;    // next record pending: PFO set
        uint64_t dropped = 0;     // PFO already set
        uint64_t suppressed = 0;  // FPD=1
        uint64_t events = 0;      // fault events delivered (MSIs)
        void register_stats(stats_group& group) const;
    };

    // `regs` holds FSTS, FECTL and `num_records` FRCD instances. `deliver` is called whenever the
    // fault event interrupt is sent.
    fault_recorder(register_file& regs, unsigned num_records, std::function<void()> deliver);
    fault_recorder(const fault_recorder&) = delete;
    fault_recorder& operator=(const fault_recorder&) = delete;

    // Records a primary fault; `suppressed` when FPD qualifies the fault (never recorded).
    outcome record(const fault_info& f, bool suppressed = false);

    // Sets FSTS status bits (IQE, ICE, ITE) for another unit and raises the fault event if they
    // form a new condition.
    void raise_status(uint32_t fsts_bits);

    // True while no FSTS condition (and no pending record) is outstanding: the interrupt line is low.
    bool conditions_clear() const;

    const stats& statistics() const { return m_stats; }
    unsigned num_records() const { return m_num_records; }
    // Decoded record i (tests, traces): valid only when its F bit is set.
    bool record_pending(unsigned i) const;
    fault_info record_at(unsigned i) const;
    // Called whenever the software-visible conditions went from pending to all clear.
    void on_conditions_cleared(std::function<void()> cb) { m_cleared = std::move(cb); }

  private:
    static constexpr uint32_t pending_conditions = hw::fsts::pfo::mask | hw::fsts::ppf::mask | hw::fsts::iqe::mask |
                                                   hw::fsts::ice::mask | hw::fsts::ite::mask | hw::fsts::apf::mask |
                                                   hw::fsts::afo::mask;
    void generate_event(uint32_t pre_fsts);
    void update_ppf();
    void maybe_clear_ip();
    void on_fsts_write(const register_file::write_event& ev);
    void on_fectl_write(const register_file::write_event& ev);
    void on_frcd_hi_write(const register_file::write_event& ev);

    register_file& m_regs;
    unsigned m_num_records;
    unsigned m_next = 0;
    std::function<void()> m_deliver;
    std::function<void()> m_cleared;
    stats m_stats;
};

}  // namespace iommusim
