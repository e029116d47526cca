// A PCIe DMA device behind the IOMMU: issues reads and writes with its requester id (and a PASID
// when asked), uses DMI pointers the IOMMU grants, and, when ATS-capable, keeps a device TLB.
//
// Models: untranslated DMA through the IOMMU (split at 4 KiB boundaries, as the IOMMU translates
// per page), DMI use with revocation, temporal decoupling with a quantum keeper, ATS translation
// requests filling a device TLB (tlm/ats_device_tlb.h), which answers device-TLB invalidations
// (types 3 and 8, docs/vtd-facts.md §3.3, §3.8, §6.6) after a configurable latency.
// With PRI (config pri), a translation that comes back R=W=0 (not present, or without the right
// asked for) makes the device send a page request (docs/vtd-facts.md §10.1) and wait for its group's
// response (§10.3): Success -> it asks for the translation again; Invalid Request / Response
// Failure -> the access fails. A group may hold several pages (requests with one PRGI, LPIG on the
// last, PCIe PRI): the group's response makes every page of it due for a retry.
// Does not model: PCIe ordering rules, translated (AT=10) requests, stop markers.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>
#include <cstdint>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "iommusim/hw/vtd_fault.h"
#include "platform/platform_config.h"
#include "platform/traffic.h"
#include "tlm/ats_device_tlb.h"
#include "tlm/dma_extension.h"

namespace iommusim {

// Told of every transfer of a device (the platform's waves), at its simulated time: the device's
// own time, sc_time_stamp() plus its quantum keeper's local offset.
struct dma_observer {
    virtual ~dma_observer() = default;
    virtual void dma_started(unsigned device, uint16_t rid, bool has_pasid, uint32_t pasid, uint64_t iova,
                             bool is_write, sc_core::sc_time at) = 0;
    virtual void dma_finished(unsigned device, hw::fault_reason fault, sc_core::sc_time at) = 0;
    // PRI (docs/vtd-facts.md §10): a page request for the page at `page` left the device; its
    // group's response `code` (hw::pgrp_resp_desc) arrived; the translation asked again after a
    // Success response ran from `at` to `done` and granted the access or not.
    virtual void page_request_sent(unsigned device, uint64_t page, sc_core::sc_time at) {
        (void)device, (void)page, (void)at;
    }
    virtual void page_response_received(unsigned device, uint8_t code, sc_core::sc_time at) {
        (void)device, (void)code, (void)at;
    }
    virtual void translation_retried(unsigned device, uint64_t page, bool granted, sc_core::sc_time at,
                                     sc_core::sc_time done) {
        (void)device, (void)page, (void)granted, (void)at, (void)done;
    }
};

class dma_device : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<dma_device> socket;

    struct stats {
        uint64_t transfers = 0;
        uint64_t bytes = 0;
        uint64_t faults = 0;                 // transfers that ended with an error response
        uint64_t target_aborts = 0;          // of those, the ones the IOMMU translated but memory refused
        uint64_t dmi_accesses = 0;           // chunks served through a DMI pointer
        uint64_t dmi_invalidations = 0;      // invalidate_direct_mem_ptr calls received
        uint64_t ats_translations = 0;       // ATS translation requests answered with a translation
        uint64_t page_requests = 0;          // page requests sent
        uint64_t page_responses = 0;         // page group responses received (the unit's own included)
        uint64_t page_request_retries = 0;   // translations asked again after a Success response
        uint64_t retries_granted = 0;        // of those, the ones that granted the access
        uint64_t page_request_failures = 0;  // groups answered Invalid Request or Response Failure
    };

    dma_device(const sc_core::sc_module_name& name, const dma_device_config& cfg, bool use_dmi);
    dma_device(const dma_device&) = delete;
    dma_device& operator=(const dma_device&) = delete;

    const dma_device_config& config() const { return m_cfg; }

    // One DMA of `len` bytes at `iova`. Must run in an SC_THREAD (the platform's CPU thread).
    // Returns TLM_OK_RESPONSE or the first error status; *reason gets the IOMMU fault reason.
    tlm::tlm_response_status transfer(bool has_pasid, uint32_t pasid, uint64_t iova, void* buf, std::size_t len,
                                      bool is_write, hw::fault_reason* reason);

    // Waits out the time the device ran ahead of the kernel (temporal decoupling). Must run in an
    // SC_THREAD.
    void sync() { m_qk.sync(); }
    // At most one observer; `index` is the device's number in its reports.
    void set_observer(dma_observer* observer, unsigned index) {
        m_observer = observer;
        m_index = index;
    }

    // The device as traffic generator (platform/traffic.h). Must run in an SC_THREAD.
    traffic_result run_traffic(const traffic_spec& spec);

    // ATS: asks the IOMMU for the translation of iova and caches it in the device TLB; the size of
    // the translation (4 KiB, 2 MiB, 1 GiB) goes to *translated_bytes.
    bool ats_translate(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, hw::fault_reason* reason,
                       uint64_t* translated_bytes = nullptr);
    // The device uses the translation its device TLB holds for iova (false: none cached); a
    // translated request (AT=10) would carry *hpa. The device TLB's stale checker sees the use.
    bool atc_translate(bool has_pasid, uint32_t pasid, uint64_t iova, uint64_t* hpa);
    // The device TLB (ATS-capable devices only, else nullptr): the invalidation queue's
    // device_tlb_port for this requester id, with its latency and fault injection.
    ats_device_tlb* atc() { return m_atc.get(); }

    // What a translation with page requests ended in.
    enum class pri_outcome : uint8_t {
        translated,   // the device TLB holds a translation granting the access
        refused,      // the group was answered Invalid Request or Response Failure
        no_response,  // no response within the time-out
        error,        // the translation request got UR/CA (a non-recoverable fault), or no PRI
    };
    // One step of a translation with page requests: the ATS translation of iova, and when it grants
    // nothing for the access, one page request (group `group`, last in group).
    enum class pri_step : uint8_t {
        translated,  // the device TLB holds a translation granting the access
        requested,   // a page request waits for software's response
        answered,    // the unit answered the group at once (*code)
        error,       // UR/CA (a non-recoverable fault), or no PRI
    };
    pri_step request_translation(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, uint16_t group,
                                 uint8_t* code);
    // The first half of request_translation: the ATS translation of iova; `requested` here means
    // that it grants nothing for the access, so a page request is due (not sent).
    pri_step translate_for_access(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write);
    // ATS translation of iova for a read or write; while the answer grants nothing for it, one page
    // request (group `group`, last in group) and a wait of at most `timeout_ns` for its response,
    // then the translation again, at most `max_requests` times. Must run in an SC_THREAD.
    pri_outcome translate_with_page_requests(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write,
                                             uint16_t group, uint64_t timeout_ns, unsigned max_requests = 4,
                                             uint8_t* last_code = nullptr);
    // One page request for the page of iova, and the wait for its group's response code.
    // False when no response came within `timeout_ns`. Must run in an SC_THREAD.
    bool page_request(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, uint16_t group, uint64_t timeout_ns,
                      uint8_t* code);
    // The two halves: sends the page request (the last of its group unless `last` is false); true
    // when the unit answered the group at once (*code set: its queue was full, or it has no page
    // requests; only a last request is answered so).
    bool send_page_request(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, uint16_t group, uint8_t* code,
                           bool last = true);
    // Takes the group's response, waiting at most `timeout_ns` for it (0: only what arrived).
    bool wait_page_response(bool has_pasid, uint32_t pasid, uint16_t group, uint64_t timeout_ns, uint8_t* code);

    const stats& statistics() const { return m_stats; }

  private:
    // A DMI grant is only valid for the address space (RID + PASID) it was granted for.
    struct dmi_region {
        bool has_pasid;
        uint32_t pasid;
        tlm::tlm_dmi dmi;
    };
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);
    // A group's response arrived (counted, observed; a Success makes its page's retry due).
    void note_response(bool has_pasid, uint32_t pasid, uint16_t prgi, uint8_t code);
    // A translation of iova that began at `at`: when its page's retry was due, it is that retry.
    void note_retry(bool has_pasid, uint32_t pasid, uint64_t iova, bool granted, sc_core::sc_time at);
    const tlm::tlm_dmi* find_dmi(bool has_pasid, uint32_t pasid, uint64_t addr, std::size_t len, bool is_write) const;

    dma_device_config m_cfg;
    bool m_use_dmi;
    tlm_utils::tlm_quantumkeeper m_qk;
    dma_extension m_ext;
    dma_observer* m_observer = nullptr;
    unsigned m_index = 0;
    std::vector<dmi_region> m_dmi;  // granted pointers (per-page, few)
    std::unique_ptr<ats_device_tlb> m_atc;
    // Pages whose group was answered Success: the next translation of one of them is its retry.
    struct retry_key {
        bool has_pasid;
        uint32_t pasid;
        uint64_t page;
    };
    std::vector<retry_key> m_retries_due;
    // The pages each outstanding group asked for, by PRGI; `closed` once its last request left (a
    // later request of that PRGI starts the group anew: the device asks again).
    struct requested_group {
        uint16_t prgi;
        bool closed;
        std::vector<retry_key> pages;
    };
    std::vector<requested_group> m_requested;
    stats m_stats;
};

}  // namespace iommusim
