// The IOMMU's statistics as JSON.
#include "tlm/iommu.h"

#include <sstream>

namespace iommusim {

std::string iommu::stats_json() const {
    const stats& s = m_stats;
    const fault_recorder::stats& f = m_faults.statistics();
    std::ostringstream o;
    o << "{\"iommu\": {\"dma_requests\": " << s.dma_requests << ", \"dma_bytes\": " << s.dma_bytes
      << ", \"dma_chunks\": " << s.dma_chunks << ", \"dma_faults\": " << s.dma_faults
      << ", \"dma_errors\": " << s.dma_errors << ", \"pass_through\": " << s.pass_through
      << ", \"ats_requests\": " << s.ats_requests << ", \"ats_errors\": " << s.ats_errors
      << ", \"mmio_reads\": " << s.mmio_reads << ", \"mmio_writes\": " << s.mmio_writes
      << ", \"mmio_errors\": " << s.mmio_errors << ", \"dmi_grants\": " << s.dmi_grants
      << ", \"dmi_denied\": " << s.dmi_denied << ", \"dmi_revocations\": " << s.dmi_revocations
      << ", \"dmi_live\": " << m_grants.size() << ", \"memory_dmi_accesses\": " << s.memory_dmi_accesses
      << ", \"quantum_syncs\": " << s.quantum_syncs << ", \"fault_events\": " << s.fault_events
      << ", \"completion_events\": " << s.completion_events << "}";
    o << ", \"translation\": " << m_translator.stats().to_json();
    o << ", \"faults\": {\"recorded\": " << f.recorded << ", \"compressed\": " << f.compressed
      << ", \"overflow\": " << f.overflow << ", \"dropped\": " << f.dropped << ", \"suppressed\": " << f.suppressed
      << ", \"events\": " << f.events << "}";
    o << ", \"qi\": " << m_queue->stats().to_json();
    // The last interrupt request recorded, so that a stats reader sees what it was.
    o << ", \"interrupts\": {\"requests\": " << s.interrupt_requests
      << ", \"window_errors\": " << s.interrupt_window_errors;
    if (!m_interrupts.empty()) {
        const interrupt_request& ir = m_interrupts.back();
        o << ", \"last\": {\"rid\": " << ir.rid << ", \"addr\": " << ir.addr << ", \"data\": " << ir.data
          << ", \"len\": " << ir.len << "}";
    }
    o << "}}";
    return o.str();
}

}  // namespace iommusim
