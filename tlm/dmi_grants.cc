// DMI grants to devices, cut to one translated page, and their revocation.
#include "tlm/iommu.h"

#include <algorithm>

#include "tlm/iommu_internal.h"

namespace iommusim {

using namespace iommu_detail;

bool iommu::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
    const uint64_t addr = trans.get_address();
    auto deny = [&] {
        ++m_stats.dmi_denied;
        dmi.set_start_address(addr);
        dmi.set_end_address(addr);
        dmi.allow_none();
        return false;
    };
    // The stale checker must see every access, so no access may bypass the IOTLB.
    if (m_translator.config().stale_check) {
        return deny();
    }
    const dma_extension* ext = trans.get_extension<dma_extension>();
    if (ext && ext->ats_translation) {
        return deny();
    }
    if (interrupt_window_request(trans, ext)) {
        return deny();
    }

    dmi_grant g;
    uint64_t in_page = addr & ~(page_4k - 1);
    uint64_t bytes = page_4k;
    uint64_t out_page = in_page;
    bool can_read = true, can_write = true;
    const bool te = m_te;
    if (te) {
        // A DMI request is no DMA: a fault here is not recorded, the device falls back to b_transport.
        translation_request req = make_request(trans, ext, addr);
        translation_result r = m_translator.translate(req);
        if (!r.ok() && req.write) {
            // Not writable: a read-only grant may still be possible.
            req.write = false;
            r = m_translator.translate(req);
        }
        if (!r.ok() || !r.can_read) {
            return deny();
        }
        bytes = r.page_bytes ? r.page_bytes : page_4k;
        in_page = addr & ~(bytes - 1);
        out_page = r.out_addr & ~(bytes - 1);
        can_read = r.can_read;
        can_write = r.can_write;
        g.rid = req.rid;
        g.did = r.did;
        g.pasid = r.pasid;
        g.kind = r.kind;
    } else {
        g.untranslated = true;
    }

    // The memory's grant for the output address, cut down to the translated page.
    tlm::tlm_generic_payload p;
    p.set_command(trans.get_command());
    p.set_address(out_page + (addr - in_page));
    tlm::tlm_dmi mdmi;
    if (!initiator_socket->get_direct_mem_ptr(p, mdmi)) {
        return deny();
    }
    const uint64_t lo = std::max<uint64_t>(mdmi.get_start_address(), out_page);
    const uint64_t hi = std::min<uint64_t>(mdmi.get_end_address(), out_page + bytes - 1);
    if (lo > hi) {
        return deny();
    }
    g.out_start = lo;
    g.out_end = hi;
    g.in_start = in_page + (lo - out_page);
    g.in_end = in_page + (hi - out_page);
    // A grant must not let requests without PASID reach memory through the interrupt window.
    if (!(ext && ext->has_pasid) && hw::overlaps_interrupt_window(g.in_start, g.in_end - g.in_start + 1)) {
        return deny();
    }
    dmi.set_dmi_ptr(mdmi.get_dmi_ptr() + (lo - mdmi.get_start_address()));
    dmi.set_start_address(g.in_start);
    dmi.set_end_address(g.in_end);
    dmi.allow_none();
    if (can_read && mdmi.is_read_allowed()) {
        dmi.allow_read();
    }
    if (can_write && mdmi.is_write_allowed()) {
        dmi.allow_write();
    }
    if (can_read && can_write && mdmi.is_read_write_allowed()) {
        dmi.allow_read_write();
    }
    dmi.set_read_latency(mdmi.get_read_latency());
    dmi.set_write_latency(mdmi.get_write_latency());
    m_grants.push_back(g);
    ++m_stats.dmi_grants;
    return true;
}

void iommu::revoke_if(const std::function<bool(const dmi_grant&)>& pred) {
    std::vector<dmi_grant> gone;
    auto it = std::partition(m_grants.begin(), m_grants.end(), [&](const dmi_grant& g) { return !pred(g); });
    gone.assign(it, m_grants.end());
    m_grants.erase(it, m_grants.end());
    for (const dmi_grant& g : gone) {
        ++m_stats.dmi_revocations;
        target_socket->invalidate_direct_mem_ptr(g.in_start, g.in_end);
    }
}

void iommu::memory_invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) {
    m_mem_dmi.invalidate(start, end);
    m_queue_mem->invalidate_dmi(start, end);
    revoke_if([&](const dmi_grant& g) { return g.out_start <= end && start <= g.out_end; });
}

}  // namespace iommusim
