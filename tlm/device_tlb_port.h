// Device-TLB (ATS) invalidation as the invalidation queue engine sees an ATS-capable device
// (docs/vtd-facts.md §2.5, §3.3, §3.8, §6.6).
//
// The engine registers one port per requester id (invalidation_queue::register_device_tlb). For a
// type-3 or type-8 descriptor it calls invalidate() once with a fresh ITag; the device answers by
// calling devtlb_completion_sink::devtlb_complete(sid, itag_mask) later in simulated time (after
// its own latency), or never (time-out, FSTS.ITE). A completion naming an ITag that is not
// outstanding for that requester id is an invalidation completion error (FSTS.ICE).
// The same port receives the page group responses (type-9 descriptors, §3.10) the engine sends to
// that requester id (the unit's own answer to a request it dropped, §10.2, travels back in the
// request's payload instead).
#pragma once

#include <cstdint>

namespace iommusim {

struct devtlb_request {
    uint16_t sid = 0;         // requester id of the device
    uint8_t itag = 0;         // invalidation tag (0..31), echoed in the completion
    bool with_pasid = false;  // type 8: PASID-tagged translations (type 3: requests without PASID)
    uint32_t pasid = 0;       // valid when with_pasid && !all_pasids
    bool all_pasids = false;  // type 8 G=1: every PASID of the device
    uint64_t base = 0;        // first byte covered (aligned to the length)
    uint64_t length = 0;      // bytes covered; 0 = the whole address space
    uint8_t mip = 0;          // max invalidations pending (descriptor MIP field)
    uint16_t pfsid = 0;       // physical-function source id (descriptor PFSID)
};

// A PCIe Page Request Group Response message to a device.
struct page_group_response {
    uint16_t rid = 0;
    bool pasid_present = false;
    uint32_t pasid = 0;
    uint16_t prg_index = 0;  // the group it answers (9 bits)
    uint8_t code = 0;        // hw::pgrp_resp_desc::code
    bool lpig = false;
};

class devtlb_completion_sink {
  public:
    virtual ~devtlb_completion_sink() = default;
    // An invalidation completion message from device `sid` completing the ITags set in itag_mask.
    virtual void devtlb_complete(uint16_t sid, uint32_t itag_mask) = 0;
};

class device_tlb_port {
  public:
    virtual ~device_tlb_port() = default;
    // Called from the engine's thread. Must not block; the completion comes through `sink`.
    virtual void invalidate(const devtlb_request& req, devtlb_completion_sink& sink) = 0;
    // A page group response for this device; a device without PRI ignores it. Must not block.
    virtual void page_response(const page_group_response&) {}
};

}  // namespace iommusim
