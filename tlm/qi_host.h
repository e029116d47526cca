// What the invalidation queue engine needs from the IOMMU that owns it (the TLM shell, tlm/iommu,
// or a test harness). The owner implements it; the engine calls it from its SC_THREAD and from
// register accessors. memory(), caches(), active_ttm(), take_cache_time(), scope_applied() and
// latest_served_request_end() are called while the engine runs ahead of the kernel: they notify no
// event and write no signal (that would happen at the kernel's time, not the engine's).
#pragma once

#include <cstdint>
#include <systemc>

#include "tlm/invalidation_scope.h"
#include "tlm/phys_mem_if.h"

namespace iommusim {

class qi_host {
  public:
    virtual ~qi_host() = default;

    // Memory for descriptor fetches and wait-descriptor status writes. Accesses are untimed: the
    // engine charges iommu_config::qi_fetch_ns / memory_latency_ns itself.
    virtual phys_mem_if& memory() = 0;
    // The translation caches (normally the translator) every cache scope is applied to.
    virtual invalidation_target& caches() = 0;
    // RTADDR.TTM of the root table made active by the last SRTP (docs/vtd-facts.md §1.6): 0 legacy,
    // 1 scalable, 2 reserved, 3 abort-DMA. The engine decides which are reserved for the unit (IQEI 7)
    // and which descriptor types exist in the mode (legacy: types 1-5).
    virtual unsigned active_ttm() = 0;
    // Set FSTS bits (hw::fsts::iqe / ice / ite masks) and raise the fault event of docs/vtd-facts.md §1.8
    // (the owner's fault_recorder::raise_status does both).
    virtual void set_fsts(uint32_t bits) = 0;
    // Send the invalidation-completion MSI (docs/vtd-facts.md §1.11) on irq_inv. The engine has already
    // applied the ICS/IECTL rules and calls this only when the message is really sent.
    virtual void raise_completion_event(uint64_t msi_addr, uint32_t msi_data) = 0;
    // Time the caches took for the last applied scope beyond the engine's fixed processing
    // latency (the cycles of an RTL IOTLB's set walk); zero for untimed caches.
    virtual sc_core::sc_time take_cache_time() { return sc_core::SC_ZERO_TIME; }
    // The latest simulated time at which an upstream request already served ends. Initiators
    // running ahead of the kernel (temporal decoupling) are served with the caches as they are
    // now, so a wait descriptor completes no earlier than this. Zero for owners without DMA.
    virtual sc_core::sc_time latest_served_request_end() { return sc_core::SC_ZERO_TIME; }
    // A wait descriptor with PD (docs/vtd-facts.md §2.7, §10.4): returns, in the engine's thread,
    // once every page request the unit received until now has been written to the page request
    // queue or dropped. May wait; owners without page requests return at once.
    virtual void drain_page_requests() {}
    // While the engine serves a register access: how far after the kernel's time the access takes
    // effect (the initiator's annotated delay), which is when what it starts must happen. Zero
    // otherwise, and for owners whose initiators always synchronise first.
    virtual sc_core::sc_time register_access_delay() const { return sc_core::SC_ZERO_TIME; }
    // A cache scope was applied and dropped `dropped` entries (functional coverage).
    virtual void scope_applied(const invalidation_scope& scope, unsigned dropped) { (void)scope, (void)dropped; }
};

}  // namespace iommusim
