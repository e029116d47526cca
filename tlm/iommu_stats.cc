// The IOMMU's statistics: its own counters and its components' in one group,
// {"iommu": {...}, "translation": {...}, "faults": {...}, "qi": {...}, "interrupts": {...}}.
#include "tlm/iommu.h"

namespace iommusim {

void iommu::register_statistics() {
    const stats& s = m_stats;
    stats_group& own = m_stats_group.subgroup("iommu", "the TLM shell");
    own.counter("dma_requests", "upstream b_transport calls", s.dma_requests);
    own.counter("dma_bytes", "bytes moved to or from memory for them", s.dma_bytes);
    own.counter("dma_chunks", "page-bounded pieces forwarded to memory", s.dma_chunks);
    own.counter("dma_faults", "requests blocked by a translation fault", s.dma_faults);
    own.counter("dma_errors", "requests failed by memory or unsupported", s.dma_errors);
    own.counter("pass_through", "requests while TE=0", s.pass_through);
    own.counter("ats_requests", "ATS translation requests", s.ats_requests);
    own.counter("ats_errors", "ATS requests answered UR or CA", s.ats_errors);
    own.counter("mmio_reads", "register reads", s.mmio_reads);
    own.counter("mmio_writes", "register writes", s.mmio_writes);
    own.counter("mmio_errors", "register accesses at an unknown offset or of a bad size", s.mmio_errors);
    own.counter("dmi_grants", "DMI grants to devices", s.dmi_grants);
    own.counter("dmi_denied", "DMI requests denied", s.dmi_denied);
    own.counter("dmi_revocations", "DMI grants revoked", s.dmi_revocations);
    own.value("dmi_live", "DMI grants held now", [this] { return static_cast<uint64_t>(m_grants.size()); });
    own.counter("memory_dmi_accesses", "pieces moved through a DMI pointer of the memory", s.memory_dmi_accesses);
    own.counter("quantum_syncs", "waits on reaching the quantum", s.quantum_syncs);
    own.counter("fault_events", "fault event pulses", s.fault_events);
    own.counter("completion_events", "invalidation completion pulses", s.completion_events);
    own.counter("page_requests", "PRI page request messages", s.page_requests);
    own.counter("page_request_faults",
                "page requests the context entry refused (PRE clear, not present): recorded "
                "faults, answered Invalid Request",
                s.page_request_faults);
    own.counter("page_request_events", "page request event pulses", s.page_request_events);

    stats_group& translation = m_stats_group.subgroup("translation", "the translation core");
    translation.on_prepare([this] { m_translation_snapshot = m_translator.stats(); });
    m_translation_snapshot.register_stats(translation);
    m_faults.statistics().register_stats(m_stats_group.subgroup("faults", "fault recording"));
    m_queue->stats().register_stats(m_stats_group.subgroup("qi", "the queued-invalidation engine"));
    m_prq.statistics().register_stats(m_stats_group.subgroup("prq", "the page request queue"));

    // The last interrupt request recorded, so that a stats reader sees what it was.
    stats_group& interrupts = m_stats_group.subgroup("interrupts", "requests to the interrupt window");
    interrupts.counter("requests", "interrupt requests (writes without PASID)", s.interrupt_requests);
    interrupts.counter("window_errors", "other requests touching the window (aborted)", s.interrupt_window_errors);
    stats_group& last = interrupts.subgroup("last", "the last interrupt request recorded");
    interrupts.only_if([this] { return !m_interrupts.empty(); });
    last.value("rid", "requester id", [this] { return uint64_t{m_interrupts.back().rid}; });
    last.value("addr", "address", [this] { return m_interrupts.back().addr; });
    last.value("data", "first four data bytes, little-endian", [this] { return uint64_t{m_interrupts.back().data}; });
    last.value("len", "bytes written", [this] { return uint64_t{m_interrupts.back().len}; });
}

std::string iommu::stats_json() const {
    return m_stats_group.to_json();
}

std::string iommu::coverage_json() const {
    return m_coverage.to_json(m_translator.stats(), m_queue->stats());
}

}  // namespace iommusim
