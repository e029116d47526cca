// The device TLB (ATC) of an ATS-capable DMA device, as the invalidation queue engine reaches it.
//
// Models: docs/vtd-facts.md §6.6 and §2.5 from the device's side: cached translation ranges tagged with
// or without a PASID; an invalidation request (type 3: translations without PASID; type 8: one
// PASID or all PASIDs) drops every overlapping range when it arrives and is answered with an
// invalidation completion after a configurable latency. Fault injection for ITE/ICE tests: never
// answer, answer with a wrong ITag, answer from a wrong requester id, answer twice; and a device
// that answers but keeps what the request covered (the stale checker's seeded bug).
// Stale checker (set_stale_check): every hit of lookup() is compared with the invalidations the
// device completed after the entry was cached; a hit on an entry one of them covered is reported
// (tlm/stale_report.h) and counted.
// Page group responses (docs/vtd-facts.md §10.3) that reach the device are kept in arrival order
// until the device takes the one for its group (take_page_response), with an event on each arrival.
// Does not model: translation requests and page requests (the device, platform/dma_device.h,
// sends them), invalidate-request queue depth (MIP).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include <systemc>

#include "tlm/device_tlb_port.h"
#include "tlm/stale_report.h"

namespace iommusim {

class ats_device_tlb : public sc_core::sc_module, public device_tlb_port {
  public:
    enum class fault_mode : uint8_t { none, never_answer, wrong_itag, wrong_sid, duplicate, keeps_entries };

    struct atc_entry {
        bool with_pasid = false;
        uint32_t pasid = 0;
        uint64_t base = 0;
        uint64_t length = 4096;
        uint64_t out = 0;        // translated address of base
        uint64_t cached_at = 0;  // device event number of the fill (set by cache())
    };

    struct stats {
        uint64_t lookups = 0;
        uint64_t hits = 0;
        uint64_t stale_checks = 0;
        uint64_t stale_hits = 0;  // hits on entries a completed invalidation covered
    };

    ats_device_tlb(sc_core::sc_module_name name, uint16_t sid, uint64_t latency_ns);
    ats_device_tlb(const ats_device_tlb&) = delete;
    ats_device_tlb& operator=(const ats_device_tlb&) = delete;

    uint16_t sid() const { return m_sid; }
    void set_fault(fault_mode m) { m_fault = m; }
    void set_latency_ns(uint64_t ns) { m_latency_ns = ns; }

    // The device cached a translation of [base, base + length).
    void cache(const atc_entry& e);
    // The device uses its translation of addr: the entry that covers it, or nullptr.
    const atc_entry* lookup(bool with_pasid, uint32_t pasid, uint64_t addr);
    // True when a cached range of that tag covers addr.
    bool holds(bool with_pasid, uint32_t pasid, uint64_t addr) const;
    std::size_t entries() const { return m_atc.size(); }

    void invalidate(const devtlb_request& req, devtlb_completion_sink& sink) override;
    void page_response(const page_group_response& resp) override;
    // Removes and returns the oldest response received for group `prg_index` (of that PASID tag).
    bool take_page_response(bool with_pasid, uint32_t pasid, uint16_t prg_index, page_group_response* out);
    const sc_core::sc_event& page_response_event() const { return m_response_arrived; }
    uint64_t page_responses_received() const { return m_responses_received; }
    // Every request received, in order.
    const std::vector<devtlb_request>& requests() const { return m_requests; }
    uint64_t completions_sent() const { return m_completions_sent; }

    void set_stale_check(bool on) { m_stale_check = on; }
    void set_stale_report_limit(unsigned n) { m_report_limit = n; }
    const std::vector<stale_report>& stale_reports() const { return m_stale; }
    const stats& statistics() const { return m_stats; }

  private:
    struct answer {
        devtlb_completion_sink* sink = nullptr;
        uint16_t sid = 0;
        uint32_t itag_mask = 0;
        std::size_t request = 0;  // index in m_requests
    };
    // An invalidation the device completed, and when it arrived (device event number).
    struct completed {
        devtlb_request req;
        uint64_t arrived_at = 0;
        sc_core::sc_time done;
    };
    void respond();
    void check(const atc_entry& e, uint64_t addr);
    void record_completion(std::size_t request, const sc_core::sc_time& at);

    const uint16_t m_sid;
    uint64_t m_latency_ns;
    fault_mode m_fault = fault_mode::none;
    std::vector<atc_entry> m_atc;
    std::vector<devtlb_request> m_requests;
    std::vector<uint64_t> m_arrivals;    // event number of each request's arrival
    std::vector<completed> m_completed;  // kept while an entry cached before them may be hit
    uint64_t m_events = 0;
    bool m_stale_check = false;
    unsigned m_report_limit = 1024;
    std::vector<stale_report> m_stale;
    stats m_stats;
    std::multimap<sc_core::sc_time, answer> m_answers;  // by due time
    uint64_t m_completions_sent = 0;
    sc_core::sc_event m_due;
    std::vector<page_group_response> m_responses;
    uint64_t m_responses_received = 0;
    sc_core::sc_event m_response_arrived;
};

}  // namespace iommusim
