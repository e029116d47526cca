// A PCIe DMA device behind the IOMMU: issues reads and writes with its requester id (and a PASID
// when asked), uses DMI pointers the IOMMU grants, and, when ATS-capable, keeps a device TLB.
//
// Models: untranslated DMA through the IOMMU (split at 4 KiB boundaries, as the IOMMU translates
// per page), DMI use with revocation, temporal decoupling with a quantum keeper, the device side of
// device-TLB invalidations (types 3 and 8, spec/vtd.md §3.3, §3.8, §6.6): the ATC drops the range and
// the completion is returned after a configurable latency, or never when made unresponsive.
// Does not model: PCIe ordering rules, translated (AT=10) requests, page requests.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>
#include <cstdint>
#include <deque>
#include <map>
#include <systemc>
#include <tlm>
#include <vector>

#include "iommusim/hw/vtd_fault.h"
#include "platform/platform_config.h"
#include "tlm/device_tlb_port.h"
#include "tlm/dma_extension.h"

namespace iommusim {

class dma_device : public sc_core::sc_module, public device_tlb_port {
  public:
    tlm_utils::simple_initiator_socket<dma_device> socket;

    struct stats {
        uint64_t transfers = 0;
        uint64_t bytes = 0;
        uint64_t faults = 0;
        uint64_t dmi_accesses = 0;       // chunks served through a DMI pointer
        uint64_t dmi_invalidations = 0;  // invalidate_direct_mem_ptr calls received
        uint64_t atc_invalidations = 0;  // device-TLB invalidation requests received
        uint64_t atc_entries_dropped = 0;
    };

    SC_HAS_PROCESS(dma_device);
    dma_device(const sc_core::sc_module_name& name, const dma_device_config& cfg, bool use_dmi);
    dma_device(const dma_device&) = delete;
    dma_device& operator=(const dma_device&) = delete;

    const dma_device_config& config() const { return m_cfg; }

    // One DMA of `len` bytes at `iova`. Must run in an SC_THREAD (the platform's CPU thread).
    // Returns TLM_OK_RESPONSE or the first error status; *reason gets the IOMMU fault reason.
    tlm::tlm_response_status transfer(bool has_pasid, uint32_t pasid, uint64_t iova, void* buf, std::size_t len,
                                      bool is_write, hw::fault_reason* reason);

    // Device-TLB side: drop cached translations in [base, base + len) (len 0 = everything) for
    // one PASID or all of them; returns entries dropped.
    unsigned atc_invalidate(bool all_pasids, uint32_t pasid, uint64_t base, uint64_t len);
    // ATC fill from an ATS translation request (ATS-capable devices only).
    bool ats_translate(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, hw::fault_reason* reason);
    std::size_t atc_size() const { return m_atc.size(); }

    // device_tlb_port: an invalidation request from the IOMMU's queue engine. The ATC drops the
    // range at once; the completion goes to `sink` after devtlb_latency_ns (never when unresponsive).
    void invalidate(const devtlb_request& req, devtlb_completion_sink& sink) override;

    // Fault injection: the device stops answering device-TLB invalidations (ITE) ...
    void set_unresponsive(bool v) { m_unresponsive = v; }
    bool unresponsive() const { return m_unresponsive; }
    // ... or answers the next one with an ITag that was never outstanding (ICE).
    void set_bad_completion_tag(bool v) { m_bad_completion_tag = v; }

    const stats& statistics() const { return m_stats; }

  private:
    // A DMI grant is only valid for the address space (RID + PASID) it was granted for.
    struct dmi_region {
        bool has_pasid;
        uint32_t pasid;
        tlm::tlm_dmi dmi;
    };
    struct atc_entry {
        uint64_t translated;  // page address
        uint64_t size;
        bool write;
    };
    struct pending_completion {
        sc_core::sc_time due;
        uint32_t itag_mask;
        devtlb_completion_sink* sink;
    };
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);
    void send_completions();
    const tlm::tlm_dmi* find_dmi(bool has_pasid, uint32_t pasid, uint64_t addr, std::size_t len, bool is_write) const;

    dma_device_config m_cfg;
    bool m_use_dmi;
    bool m_unresponsive = false;
    bool m_bad_completion_tag = false;
    std::deque<pending_completion> m_completions;  // in due order (constant latency)
    sc_core::sc_event m_completion_event;
    tlm_utils::tlm_quantumkeeper m_qk;
    dma_extension m_ext;
    std::vector<dmi_region> m_dmi;                             // granted pointers (per-page, few)
    std::map<std::pair<uint32_t, uint64_t>, atc_entry> m_atc;  // (pasid or no-PASID key, page) -> translation
    stats m_stats;
};

}  // namespace iommusim
