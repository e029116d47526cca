#include "my_dma_engine.h"

#include <algorithm>

using namespace iommusim;

my_dma_engine::my_dma_engine(const sc_core::sc_module_name& name, uint16_t rid)
    : own_device(name, own_device_config{rid, /*ats=*/true, /*pasid=*/true, /*pri=*/false, /*devtlb_latency_ns=*/500}) {
}

tlm::tlm_response_status my_dma_engine::dma(const own_dma_request& req, hw::fault_reason* fault) {
    auto* bytes = static_cast<unsigned char*>(req.data);
    std::size_t done = 0;
    while (done < req.len) {
        const uint64_t iova = req.iova + done;
        const std::size_t chunk = std::min<std::size_t>(req.len - done, 4096 - (iova & 4095));
        // The device TLB first (the stale-translation checker sees this use), else a translation request.
        if (device_tlb()->lookup(req.has_pasid, req.pasid, iova) != nullptr) {
            ++m_stats.device_tlb_hits;
        } else {
            ++m_stats.translation_requests;
            const ats_result t = translate(req.has_pasid, req.pasid, iova, req.is_write);
            if (!t.grants(req.is_write)) {
                ++m_stats.refused;  // the untranslated request below gets the IOMMU's fault
            }
        }
        const tlm::tlm_response_status status =
            access(req.has_pasid, req.pasid, iova, bytes + done, chunk, req.is_write, fault);
        if (status != tlm::TLM_OK_RESPONSE) {
            return status;
        }
        ++m_stats.pages;
        done += chunk;
    }
    return tlm::TLM_OK_RESPONSE;
}

void my_dma_engine::device_tlb_invalidated(const devtlb_request&) {
    ++m_stats.invalidations;
}
