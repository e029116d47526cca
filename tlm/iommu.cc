#include "tlm/iommu.h"

#include <algorithm>

#include "tlm/iommu_internal.h"
#include "tlm/iotlb.h"
#include "tlm/kernel_time.h"

namespace iommusim {

using namespace iommu_detail;

// What the queue engine needs from its owner (tlm/qi_host.h).
class iommu::queue_host final : public qi_host {
  public:
    explicit queue_host(iommu& owner) : m_owner(owner) {}
    phys_mem_if& memory() override { return *m_owner.m_queue_mem; }
    invalidation_target& caches() override { return m_owner.m_translator; }
    unsigned active_ttm() override { return static_cast<unsigned>(hw::rtaddr::ttm::get(m_owner.m_active_rtaddr)); }
    void set_fsts(uint32_t bits) override { m_owner.m_faults.raise_status(bits); }
    void raise_completion_event(uint64_t, uint32_t) override {
        ++m_owner.m_stats.completion_events;
        m_owner.send(m_owner.m_inv_pulse);
    }
    sc_core::sc_time latest_served_request_end() override { return m_owner.m_latest_request_end; }
    void drain_page_requests() override { m_owner.drain_page_requests(); }
    sc_core::sc_time register_access_delay() const override { return m_owner.m_access_delay; }
    void scope_applied(const invalidation_scope& scope, unsigned dropped) override {
        m_owner.m_coverage.scope_applied(scope, dropped);
    }
    sc_core::sc_time take_cache_time() override {
        const uint64_t now = m_owner.m_tlb.cycles();
        const uint64_t spent = now - m_cycles_seen;
        m_cycles_seen = now;
        return spent == 0 ? sc_core::SC_ZERO_TIME : m_owner.cycle_time(spent);  // untimed caches: no sc_time built
    }

  private:
    iommu& m_owner;
    uint64_t m_cycles_seen = 0;
};

namespace {
// The register table with CAP.NFR + 1 fault recording registers.
std::vector<hw::reg_desc> table_for(const iommu_config& cfg) {
    const std::string err = cfg.validate();
    if (!err.empty()) {
        SC_REPORT_FATAL(msg_type, ("bad iommu_config: " + err).c_str());
    }
    if (cfg.nfr + 1 > hw::reg::FRCD_MAX) {
        SC_REPORT_FATAL(msg_type, ("bad iommu_config: nfr=" + std::to_string(cfg.nfr) + " (the register table holds " +
                                   std::to_string(hw::reg::FRCD_MAX) + " fault recording registers)")
                                      .c_str());
    }
    std::vector<hw::reg_desc> t(hw::reg_table.begin(), hw::reg_table.end());
    for (hw::reg_desc& d : t) {
        if (d.count > 1) {
            d.count = cfg.nfr + 1;
        }
    }
    return t;
}
}  // namespace

iommu::iommu(const sc_core::sc_module_name& name, const iommu_config& cfg, iotlb_if& tlb)
    : sc_core::sc_module(name)
    , target_socket("target_socket")
    , mmio_socket("mmio_socket")
    , initiator_socket("initiator_socket")
    , irq_fault("irq_fault")
    , irq_inv("irq_inv")
    , irq_prq("irq_prq")
    , m_cfg(cfg)
    , m_table(table_for(cfg))
    , m_regs(m_table)
    , m_faults(m_regs, cfg.nfr + 1,
               [this] {
                   ++m_stats.fault_events;
                   send(m_fault_pulse);
               })
    , m_walk_mem(std::make_unique<socket_memory>(*this, true))
    , m_queue_mem(std::make_unique<socket_memory>(*this, false))
    , m_translator(cfg, *m_walk_mem, tlb)
    , m_host(std::make_unique<queue_host>(*this))
    , m_prq(m_regs, *m_queue_mem, cfg.prs,
            [this] {
                ++m_stats.page_request_events;
                send(m_prq_pulse);
            })
    , m_tlb(tlb)
    , m_tlb_timed(dynamic_cast<iotlb*>(&tlb) == nullptr)
    , m_lookup_latency(ns(2 * cfg.cache_lookup_ns))
    , m_iotlb_latency(ns(cfg.iotlb_hit_ns))
    , m_mmio_latency(ns(cfg.mmio_ns))
    , m_quantum(ns(cfg.quantum_ns)) {
    m_queue = std::make_unique<invalidation_queue>("queue", cfg, *m_host);

    target_socket.register_b_transport(this, &iommu::b_transport);
    target_socket.register_get_direct_mem_ptr(this, &iommu::get_direct_mem_ptr);
    target_socket.register_transport_dbg(this, &iommu::transport_dbg);
    mmio_socket.register_b_transport(this, &iommu::mmio_b_transport);
    mmio_socket.register_transport_dbg(this, &iommu::mmio_transport_dbg);
    initiator_socket.register_invalidate_direct_mem_ptr(this, &iommu::memory_invalidate_dmi);

    derive_capabilities();
    hook_registers();
    register_statistics();

    // Every invalidation revokes the DMI grants whose translation it covers. Accesses through a DMI
    // pointer never reach the shell: its holder may have used it up to one quantum (plus the access
    // in flight) ahead of the kernel, so the next wait completes no earlier than that.
    m_translator.on_invalidate([this](const invalidation_scope& s) {
        const uint64_t before = m_stats.dmi_revocations;
        revoke_if([&](const dmi_grant& g) {
            return !g.untranslated && s.covers(g.rid, g.did, g.pasid, g.kind, g.in_start, g.in_end - g.in_start + 1);
        });
        if (m_stats.dmi_revocations != before) {
            m_latest_request_end =
                std::max(m_latest_request_end, operation_time() + m_quantum + ns(m_cfg.memory_latency_ns));
        }
    });

    // Stale reports carry the kernel's time (a device's quantum offset is not visible here), or
    // the queue engine's own when it applies an invalidation ahead of the kernel.
    m_translator.set_clock([this] {
        return (kernel_time() + m_queue->time_ahead() + m_access_delay).value() /
               sc_core::sc_time(1, sc_core::SC_PS).value();
    });

    SC_METHOD(fault_irq_process);
    sensitive << m_fault_pulse.ev;
    dont_initialize();
    SC_METHOD(inv_irq_process);
    sensitive << m_inv_pulse.ev;
    dont_initialize();
    SC_METHOD(prq_irq_process);
    sensitive << m_prq_pulse.ev;
    dont_initialize();
}

iommu::~iommu() = default;

phys_mem_if& iommu::walk_memory() {
    return *m_walk_mem;
}

void iommu::set_stale_check(bool on) {
    m_translator.set_stale_check(on);
    if (on) {
        revoke_all();
    }
}

void iommu::set_observer(iommu_observer* observer) {
    m_observer = observer;
    if (!observer) {
        m_translator.walker().set_read_observer(nullptr);
        m_translator.set_lookup_observer(nullptr);
        return;
    }
    m_translator.set_lookup_observer([this] {
        m_looked_up = true;
        m_lookup_at = operation_time();
    });
    m_translator.walker().set_read_observer([this](uint64_t pa, walk_stage stage, unsigned level) {
        m_observer->walk_access(operation_time(), pa, stage, level);
    });
}

sc_core::sc_time iommu::operation_time() const {
    if (!m_translating) {
        // The queue engine runs ahead; a register access takes effect at its annotated time.
        return kernel_time() + m_queue->time_ahead() + m_access_delay;
    }
    return kernel_time() + m_translation_start + m_walk_mem->m_delay +
           cycle_time(m_tlb.cycles() - m_translation_cycles);
}

sc_core::sc_time iommu::cycle_time(uint64_t cycles) const {
    return sc_core::sc_time(static_cast<double>(cycles * m_cfg.iotlb_cycle_ps), sc_core::SC_PS);
}

}  // namespace iommusim
