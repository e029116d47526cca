// DMA request sideband carried on the TLM generic payload (libsystemctlm-soc atsattr style).
//
// Models: the PCIe request attributes the IOMMU needs (docs/vtd-facts.md §4-§5): requester id, PASID
// prefix with privileged/execute flags, ATS translation requests (the response carries the
// translation instead of data, or an Unsupported Request / Completer Abort completion status),
// and on the way back the fault reason of a blocked request.
// A PRI Page Request Message is a payload with page_request set (address = the page, no data):
// the IOMMU queues it (tlm/page_request_queue.h) and, when it drops the last request of a group,
// answers the group itself in pr_auto_response / pr_response_code.
// Does not model: PASID prefix on completions, ATS translated requests (AT=10).
// A payload without this extension is treated as requester id 0, no PASID, user, not execute.
#pragma once

#include <cstdint>
#include <tlm>

#include "iommusim/hw/vtd_fault.h"

namespace iommusim {

// Completion status of an ATS translation request (PCIe): a successful completion carries the
// translation (possibly R=W=0); UR and CA carry none. The TLM response status is OK, COMMAND_ERROR
// (UR) or GENERIC_ERROR (CA) to match.
enum class ats_completion : uint8_t { success, unsupported_request, completer_abort };

class dma_extension : public tlm::tlm_extension<dma_extension> {
  public:
    // ---- Request (set by the device) ----
    uint16_t requester_id = 0;     // bus:dev.fn
    bool has_pasid = false;        // request-with-PASID
    uint32_t pasid = 0;            // 20 bits, meaningful when has_pasid
    bool priv = false;             // privileged (supervisor) request; needs has_pasid
    bool exec = false;             // execute request; needs has_pasid
    bool ats_translation = false;  // ATS translation request: no data moves, the result comes back below
    // PRI page request (with has_pasid/pasid/priv/exec above).
    bool page_request = false;
    bool pr_read = false;
    bool pr_write = false;
    bool pr_last = false;   // last request of its page request group (LPIG)
    uint16_t pr_group = 0;  // page request group index (9 bits)

    // ---- Response (set by the IOMMU) ----
    hw::fault_reason fault = hw::fault_reason::none;  // why the request was blocked (none if it was not)
    bool fault_recorded = false;                      // the fault went to an FRCD (not suppressed/compressed)
    // ATS translation result: translated page address and size, and the rights granted.
    uint64_t translated_addr = 0;
    uint64_t translated_size = 0;  // bytes (4 KiB, 2 MiB or 1 GiB)
    bool ats_read = false;
    bool ats_write = false;
    bool ats_exec = false;
    bool ats_priv = false;
    ats_completion ats_status = ats_completion::success;
    // Page request: the unit answered the group itself (queue full, or no page request support).
    bool pr_auto_response = false;
    uint8_t pr_response_code = 0;  // hw::pgrp_resp_desc::code

    // Resets the response part before a new request reuses the extension.
    void clear_response() {
        fault = hw::fault_reason::none;
        fault_recorded = false;
        translated_addr = translated_size = 0;
        ats_read = ats_write = ats_exec = ats_priv = false;
        ats_status = ats_completion::success;
        pr_auto_response = false;
        pr_response_code = 0;
    }

    tlm::tlm_extension_base* clone() const override { return new dma_extension(*this); }
    void copy_from(const tlm::tlm_extension_base& other) override { *this = static_cast<const dma_extension&>(other); }
};

}  // namespace iommusim
