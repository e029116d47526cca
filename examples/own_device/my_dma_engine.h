// An example of a user's own device model: an ATS-capable DMA engine. For each page of a DMA the
// platform asks of it, it takes the translation from its device TLB, or asks the IOMMU for one
// (an ATS translation request) and keeps it; then it moves the bytes with an untranslated request
// through the IOMMU, with the request's PASID. Device-TLB invalidations are counted.
#pragma once

#include <cstdint>

#include "platform/own_device.h"

class my_dma_engine : public iommusim::own_device {
  public:
    struct counters {
        uint64_t pages = 0;  // pages moved
        uint64_t translation_requests = 0;
        uint64_t device_tlb_hits = 0;
        uint64_t invalidations = 0;  // device-TLB invalidation requests received
        uint64_t refused = 0;        // pages whose translation did not grant the access
    };

    my_dma_engine(const sc_core::sc_module_name& name, uint16_t rid);

    tlm::tlm_response_status dma(const iommusim::own_dma_request& req, iommusim::hw::fault_reason* fault) override;
    const counters& stats() const { return m_stats; }

  protected:
    void device_tlb_invalidated(const iommusim::devtlb_request& req) override;

  private:
    counters m_stats;
};
