// A user's own device model on the platform (README "Your own device models"): a SystemC initiator
// whose socket the platform binds, like its built-in DMA devices, to the PCIe fan-in upstream of
// the IOMMU, with its own requester id.
//
// Usage: derive from own_device, give it a requester id (own_device_config), construct it before
// the platform exists and hand it to platform::attach(). The platform then lists it after the
// configured devices: it is /dev/vfio/devices/vfioN with N = its index (platform::device_index),
// the iommufd/VFIO API binds and attaches it like any device, and platform::dma(N, ...) (the C
// API's iommusim_dma, the scenario files' `dma` steps, the built-in scenarios) asks it for a DMA
// by calling its dma() on the simulated CPU's thread. The default dma() moves the bytes through
// the IOMMU as the built-in devices do; a device overrides it with its own behaviour and uses the
// helpers below to build its transactions.
//
// Models: requests tagged through the payload extension (tlm/dma_extension.h: requester id, PASID
// with privileged/execute, ATS translation requests, PRI page requests); for an ATS device a device
// TLB (tlm/ats_device_tlb.h) the IOMMU's invalidation queue reaches (types 3 and 8,
// docs/vtd-facts.md §6.6), answered after the configured latency, with the device told of each
// invalidation (device_tlb_invalidated); page requests and the page group responses that answer
// them (docs/vtd-facts.md §10), with the device told of each response (page_response_received).
// Blocking: every transaction is b_transport, and the helpers wait out its annotated delay at once
// (no temporal decoupling), so they must run in an SC_THREAD: dma() does. A device may also run
// threads of its own; the SystemC kernel runs while the platform does (ioctls, DMAs, waits), so they
// progress as simulated time passes there (a scenario file's `wait` step).
// Does not model: translated requests (AT=10), DMI for own devices, own devices in the waves.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <systemc>
#include <tlm>

#include "iommusim/hw/vtd_fault.h"
#include "tlm/ats_device_tlb.h"
#include "tlm/device_tlb_port.h"
#include "tlm/dma_extension.h"

namespace iommusim {

struct own_device_config {
    uint16_t rid = 0x0300;             // requester id (bus:dev.fn); no other platform device may have it
    bool ats = false;                  // ATS-capable: keeps a device TLB, gets device-TLB invalidations
    bool pasid = true;                 // may issue requests with PASID
    bool pri = false;                  // PRI: may send page requests (needs ats)
    uint64_t devtlb_latency_ns = 200;  // time the device takes to answer a device-TLB invalidation

    // "" when valid, else what is wrong.
    std::string validate() const;
};

// A DMA the platform asks the device for (platform::dma): `len` bytes at `iova`, from `data` (a
// write) or into it (a read). pasid 0 is IOMMU_NO_PASID: an untagged request.
struct own_dma_request {
    bool has_pasid = false;
    uint32_t pasid = 0;
    uint64_t iova = 0;
    void* data = nullptr;
    std::size_t len = 0;
    bool is_write = false;
};

// The completion of an ATS translation request (PCIe; docs/vtd-facts.md §4).
struct ats_result {
    ats_completion status = ats_completion::success;  // UR/CA carry no translation
    hw::fault_reason fault = hw::fault_reason::none;  // the fault the IOMMU recorded for UR/CA
    uint64_t addr = 0;                                // translated address of the page that holds iova
    uint64_t size = 0;                                // 4 KiB, 2 MiB or 1 GiB; 0: no translation
    bool read = false;                                // rights granted (R=W=0: nothing, e.g. not present)
    bool write = false;
    // The translation of iova itself (addr plus iova's offset in the translated page).
    uint64_t translate(uint64_t iova) const { return addr + (iova & (size - 1)); }
    bool grants(bool is_write) const { return size != 0 && (is_write ? write : read); }
};

class own_device : public sc_core::sc_module {
  public:
    // Bound by the platform to the PCIe fan-in in front of the IOMMU's upstream socket.
    tlm_utils::simple_initiator_socket<own_device> socket;
    // For an initiator socket of another module (any base-protocol tlm_initiator_socket): bind it
    // here and its transactions go upstream through `socket` with this device's requester id. A
    // payload without a dma_extension goes untagged (no PASID); one with it keeps its PASID and
    // ATS/PRI attributes. No DMI (get_direct_mem_ptr answers false).
    tlm_utils::simple_target_socket_optional<own_device> forward_socket;  // may stay unbound

    own_device(const sc_core::sc_module_name& name, const own_device_config& cfg);
    ~own_device() override;
    own_device(const own_device&) = delete;
    own_device& operator=(const own_device&) = delete;

    const own_device_config& config() const { return m_cfg; }
    uint16_t requester_id() const { return m_cfg.rid; }

    // The platform's request for a DMA, on the simulated CPU thread (an SC_THREAD). Returns
    // TLM_OK_RESPONSE or the first error status, with the IOMMU's fault reason in *fault.
    // Default: access() of the whole request.
    virtual tlm::tlm_response_status dma(const own_dma_request& req, hw::fault_reason* fault);

    // ---- Helpers for the device's own transactions (each in an SC_THREAD) ----

    // Puts this device's requester id and the PASID attributes on `trans` through `ext` (its
    // response part cleared), replacing any extension of that type the payload had.
    void tag(tlm::tlm_generic_payload& trans, dma_extension& ext, bool has_pasid, uint32_t pasid, bool priv = false,
             bool exec = false) const;
    // Sends `trans` (tagged or not) upstream and waits out the annotated delay.
    void send(tlm::tlm_generic_payload& trans);
    // An untranslated read or write of `len` bytes through the IOMMU, split at 4 KiB boundaries as
    // the IOMMU translates per page; stops at the first error (its fault reason in *fault).
    tlm::tlm_response_status access(bool has_pasid, uint32_t pasid, uint64_t iova, void* data, std::size_t len,
                                    bool is_write, hw::fault_reason* fault = nullptr);

    // ATS (ats devices): a translation request for the page of iova; a translation granting
    // anything is kept in the device TLB. Without ATS: an unsupported_request result, nothing sent.
    ats_result translate(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write);
    // The device TLB (ats devices only, else nullptr): lookup(), holds(), the invalidations received.
    ats_device_tlb* device_tlb() { return m_atc.get(); }
    const ats_device_tlb* device_tlb() const { return m_atc.get(); }

    // PRI (pri devices): a page request for the page of iova in group `group` (9 bits), the last
    // of the group unless `last` is false (a group of several pages: the same group, LPIG on the
    // last only, one response for all). True when the unit answered the group at once (*code:
    // hw::pgrp_resp_desc::code), as it does for a last request when its page request queue is
    // full; else the response comes from software later.
    bool send_page_request(bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write, uint16_t group, uint8_t* code,
                           bool last = true);
    // Takes the response to group `group`, waiting at most timeout_ns of simulated time for it (0:
    // only one that has arrived). False when none came.
    bool wait_page_response(bool has_pasid, uint32_t pasid, uint16_t group, uint64_t timeout_ns, uint8_t* code);

    // What the platform registers with the invalidation queue for this device's requester id (ats
    // devices only, else nullptr): the device TLB, then the hooks below.
    device_tlb_port* devtlb_port();

  protected:
    // A device-TLB invalidation arrived; the device TLB has dropped what it covers and answers
    // after the configured latency. Called from the invalidation queue's thread: must not wait.
    virtual void device_tlb_invalidated(const devtlb_request&) {}
    // A page group response arrived (kept for wait_page_response). Must not wait.
    virtual void page_response_received(const page_group_response&) {}

  private:
    // A data-less request for iova's page, tagged (ATS translation requests, page requests).
    void message(tlm::tlm_generic_payload& trans, dma_extension& ext, tlm::tlm_command command, bool has_pasid,
                 uint32_t pasid, uint64_t iova) const;
    class tlb_port;
    void forward_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned int forward_transport_dbg(tlm::tlm_generic_payload& trans);
    bool no_dmi(tlm::tlm_generic_payload&, tlm::tlm_dmi&) { return false; }
    own_device_config m_cfg;
    std::unique_ptr<ats_device_tlb> m_atc;
    std::unique_ptr<tlb_port> m_port;
};

}  // namespace iommusim
