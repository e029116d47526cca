// The VT-d page request queue as the driver runs it (Linux drivers/iommu/intel/prq.c).
//
// Models (docs/vtd-facts.md §1.13, §3.10, §3.11, §10): intel_iommu_enable_prq (a zeroed queue of
// 2^order pages, PQH = PQT = 0, PQA with the order, PECTL unmasked); prq_event_thread (PPR cleared
// first, then every descriptor from PQH to PQT checked and reported, PQH written with the tail
// once, and PRO cleared only when the queue is empty again); handle_bad_prq_event (a request
// Linux refuses is answered Invalid Request when it ends its group: non-canonical address,
// privileged read/write, execute with read, no device); a last-page request asking for nothing is
// dropped; intel_iommu_page_response (a type-9 descriptor naming the request's group, PASID and
// LPIG, submitted on the invalidation queue).
// intel_iommu_drain_pasid_prq (VT-d spec §7.10, docs/vtd-facts.md §10.4): while the queue holds a
// request of the device and PASID, the page request thread runs; then one batch of a fenced wait
// (FN, no status write, status data QI_DONE), the IOTLB invalidation (domain-selective for
// requests without PASID, PASID-selective otherwise) and the whole device TLB of the PASID (type 3
// or 8), ended by the wait with PD; while PRS.PRO is set afterwards, the thread runs and the batch
// is submitted again.
// Does not model: the interrupt thread itself (the caller runs handle_event when the page request
// event is pending; the drain runs it where Linux waits for its completion), private data.
// Difference: Linux sets PD whatever ECAP.PDS says; here PD is set only with ECAP.PDS (a unit
// without it reports PD as a reserved field, IQEI 4).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "driver/hw_bus.h"
#include "driver/iommu_ops.h"
#include "driver/page_allocator.h"
#include "driver/queued_invalidation.h"
#include "iommusim/hw/vtd_prq.h"

namespace iommusim::driver {

class vtd_prq {
  public:
    // Linux PRQ_ORDER: a 16-page queue (2048 descriptors).
    static constexpr unsigned default_order = 4;

    struct stats {
        uint64_t events = 0;     // handle_event runs
        uint64_t requests = 0;   // descriptors consumed
        uint64_t reported = 0;   // passed to the IOMMU core
        uint64_t bad = 0;        // refused (answered Invalid Request when they ended a group)
        uint64_t overflows = 0;  // PRO seen
        uint64_t responses = 0;  // page group responses submitted
        uint64_t drains = 0;     // drain() calls that ran (a PASID's page requests drained)
    };

    vtd_prq(hw_bus& bus, page_allocator& pages, queued_invalidation& qi) : m_bus(bus), m_pages(pages), m_qi(qi) {}
    vtd_prq(const vtd_prq&) = delete;
    vtd_prq& operator=(const vtd_prq&) = delete;

    // 0, -ENOMEM. `order` at most 7 (PQA.PQS is 3 bits).
    int enable(unsigned order = default_order);
    bool enabled() const { return m_queue != 0; }
    // Linux intel_iommu_finish_prq: the registers cleared, the event masked, the queue freed.
    void disable();

    // One run of the page request thread. `report(rid, request)` hands a request to the IOMMU
    // core: it returns false when no device has that requester id (the request is then refused).
    // Returns the number of descriptors consumed.
    using report_fn = std::function<bool(uint16_t rid, const page_request& request)>;
    unsigned handle_event(const report_fn& report);
    // The reporter the page request thread uses when the drain runs it (Linux device_rbtree_find
    // and iommu_report_device_fault); without one, each request is refused.
    void set_reporter(report_fn report) { m_reporter = std::move(report); }

    // Drains the page requests of device rid on `pasid` (no_pasid: requests without PASID) after
    // its entry was torn down or replaced (intel_iommu_drain_pasid_prq). `flush` are the IOTLB and
    // device-TLB invalidations that go between the fenced wait and the draining one; `pd` whether
    // the unit reports ECAP.PDS. 0 or the queue's errno. Nothing to do without a queue.
    int drain(uint16_t rid, uint32_t pasid, std::span<const hw::inv_desc> flush, bool pd);

    // Answers the group of `request` from device `rid` (intel_iommu_page_response). 0 or the
    // queue's errno.
    int page_response(uint16_t rid, const page_request& request, const struct page_response& response);

    const stats& statistics() const { return m_stats; }

  private:
    // A descriptor between PQH and PQT comes from rid on pasid.
    bool holds(uint16_t rid, uint32_t pasid);
    void answer_bad(uint16_t rid, bool pasid_present, uint32_t pasid, uint16_t group, bool last);

    hw_bus& m_bus;
    page_allocator& m_pages;
    queued_invalidation& m_qi;
    uint64_t m_queue = 0;
    unsigned m_order = 0;
    // PQH/PQT offsets within the queue of 4 KiB << m_order bytes, descriptor aligned.
    uint64_t queue_offset_mask() const {
        return ((uint64_t{4096} << m_order) - 1) & ~uint64_t{hw::page_req_desc_bytes - 1};
    }
    report_fn m_reporter;
    stats m_stats;
};

}  // namespace iommusim::driver
