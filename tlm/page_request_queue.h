// The page request queue (functional core, no SystemC state): page requests of ATS/PRI devices
// written as 256-bit descriptors into the queue software set up, and the page request event.
//
// Models: docs/vtd-facts.md §1.13 and §10.1-§10.3. A request goes to the descriptor at PQT (PQA base,
// 2^PQS pages, wrapping), PQT advances by 32 bytes and PRS.PPR is set. The queue is full when the
// next tail would equal PQH; a request finding it full, or finding PRS.PRO already set, is not
// written and sets PRO, and when it is the last of its group the unit answers the group itself
// with Success (§10.2), so the device retries and asks again. The page request event follows the
// fault event's rule (§1.8): it is raised only when neither PPR nor PRO was pending; PECTL.IM=0
// delivers it at once, IM=1 keeps PECTL.IP until software clears IM; clearing PPR and PRO clears
// IP. Without ECAP.PRS every request is refused (answered Response Failure by the caller).
// The context entry's PRE check comes before (iommu::page_request, translator::page_request_context).
// Does not model: private data (words 2-3 are written zero), MSI writes (delivery is a callback),
// stop markers.
#pragma once

#include <cstdint>
#include <functional>

#include "iommusim/hw/vtd_prq.h"
#include "tlm/phys_mem_if.h"
#include "tlm/register_file.h"
#include "tlm/stats_group.h"

namespace iommusim {

class page_request_queue {
  public:
    enum class outcome {
        queued,        // written at PQT
        overflow,      // not written, PRO set (an LPIG request needs the unit's own Success response)
        write_failed,  // the queue's memory refused the descriptor write (treated like overflow)
        unsupported,   // ECAP.PRS=0
    };

    struct stats {
        uint64_t received = 0;
        uint64_t queued = 0;
        uint64_t overflows = 0;       // requests dropped on a full queue or with PRO set
        uint64_t auto_responses = 0;  // groups the unit answered Success itself
        uint64_t events = 0;          // page request events delivered
        void register_stats(stats_group& group) const;
    };

    // `regs` holds PQH/PQT/PQA/PRS/PECTL; descriptors go to `mem`. `deliver` is called whenever
    // the page request event interrupt is sent.
    page_request_queue(register_file& regs, phys_mem_if& mem, bool supported, std::function<void()> deliver);
    page_request_queue(const page_request_queue&) = delete;
    page_request_queue& operator=(const page_request_queue&) = delete;

    outcome submit(const hw::page_request_fields& request);
    // True when a refused request must be answered by the unit (the caller sends the response).
    static bool needs_auto_response(outcome o, const hw::page_request_fields& request) {
        return o != outcome::queued && request.last_in_group;
    }
    void count_auto_response() { ++m_stats.auto_responses; }

    const stats& statistics() const { return m_stats; }
    // Queue size in bytes as PQA programs it.
    uint64_t queue_bytes() const;

  private:
    void raise(uint32_t prs_bits);
    void deliver();
    void on_prs_write(const register_file::write_event& ev);
    void on_pectl_write(const register_file::write_event& ev);

    register_file& m_regs;
    phys_mem_if& m_mem;
    const bool m_supported;
    std::function<void()> m_deliver;
    stats m_stats;
};

}  // namespace iommusim
