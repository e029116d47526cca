#include "driver/vtd_prq.h"

#include <cerrno>
#include <vector>

#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_prq.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::driver {

namespace {
// x86-64 canonical form for 48-bit virtual addresses (Linux is_canonical_address with 4-level
// paging; prq.c refuses other addresses).
bool canonical(uint64_t addr) {
    const int64_t s = static_cast<int64_t>(addr << 16) >> 16;
    return static_cast<uint64_t>(s) == addr;
}
}  // namespace

int vtd_prq::enable(unsigned order) {
    if (order > 7 || m_queue) {
        return -EINVAL;
    }
    uint64_t queue = 0;
    if (m_pages.alloc(queue, order)) {
        return -ENOMEM;
    }
    const std::vector<uint8_t> zero(size_t{4096} << order, 0);
    m_bus.mem_write(queue, zero.data(), zero.size());
    m_queue = queue;
    m_order = order;
    m_bus.mmio_write64(hw::reg::PQH_OFFSET, 0);
    m_bus.mmio_write64(hw::reg::PQT_OFFSET, 0);
    m_bus.mmio_write64(hw::reg::PQA_OFFSET, hw::pqa::pqa::make(queue >> 12) | hw::pqa::pqs::make(order));
    m_bus.mmio_write32(hw::reg::PECTL_OFFSET, 0);  // unmask
    return 0;
}

void vtd_prq::disable() {
    if (!m_queue) {
        return;
    }
    m_bus.mmio_write32(hw::reg::PECTL_OFFSET, static_cast<uint32_t>(hw::pectl::im::mask));
    m_bus.mmio_write64(hw::reg::PQH_OFFSET, 0);
    m_bus.mmio_write64(hw::reg::PQT_OFFSET, 0);
    m_bus.mmio_write64(hw::reg::PQA_OFFSET, 0);
    m_pages.free(m_queue, m_order);
    m_queue = 0;
}

unsigned vtd_prq::handle_event(const report_fn& report) {
    if (!m_queue) {
        return 0;
    }
    ++m_stats.events;
    const uint64_t ring_mask = queue_offset_mask();
    // Clear PPR first: a request written after this raises a new event (prq_event_thread).
    m_bus.mmio_write32(hw::reg::PRS_OFFSET, static_cast<uint32_t>(hw::prs::ppr::mask));
    const uint64_t tail = m_bus.mmio_read64(hw::reg::PQT_OFFSET) & ring_mask;
    uint64_t head = m_bus.mmio_read64(hw::reg::PQH_OFFSET) & ring_mask;
    unsigned consumed = 0;
    while (head != tail) {
        hw::page_req_desc d{};
        m_bus.mem_read(m_queue + head, d.data(), sizeof d);
        const hw::page_request_fields f = hw::parse_page_req(d);
        ++consumed;
        ++m_stats.requests;
        head = (head + hw::page_req_desc_bytes) & ring_mask;
        const bool refused = !canonical(f.addr) || (f.priv && (f.read || f.write)) || (f.exec && f.read);
        if (refused) {
            answer_bad(f.rid, f.pasid_present, f.pasid, f.prg_index, f.last_in_group);
            continue;
        }
        // A last-page request asking for nothing: dropped without an answer.
        if (f.last_in_group && !f.read && !f.write) {
            continue;
        }
        page_request r;
        r.flags = (f.pasid_present ? page_request_pasid_valid : 0) | (f.last_in_group ? page_request_last_page : 0);
        r.pasid = f.pasid_present ? f.pasid : 0;
        r.grpid = f.prg_index;
        r.perm = (f.read ? page_request_perm_read : 0) | (f.write ? page_request_perm_write : 0) |
                 (f.exec ? page_request_perm_exec : 0) | (f.priv ? page_request_perm_priv : 0);
        r.addr = f.addr;
        if (!report || !report(f.rid, r)) {
            answer_bad(f.rid, f.pasid_present, f.pasid, f.prg_index, f.last_in_group);
            continue;
        }
        ++m_stats.reported;
    }
    m_bus.mmio_write64(hw::reg::PQH_OFFSET, tail);
    // PRO is cleared only once software caught up with the queue (Linux prq_event_thread).
    if (m_bus.mmio_read32(hw::reg::PRS_OFFSET) & hw::prs::pro::mask) {
        ++m_stats.overflows;
        const uint64_t h = m_bus.mmio_read64(hw::reg::PQH_OFFSET) & ring_mask;
        const uint64_t t = m_bus.mmio_read64(hw::reg::PQT_OFFSET) & ring_mask;
        if (h == t) {
            m_bus.mmio_write32(hw::reg::PRS_OFFSET, static_cast<uint32_t>(hw::prs::pro::mask));
        }
    }
    return consumed;
}

bool vtd_prq::holds(uint16_t rid, uint32_t pasid) {
    const uint64_t ring_mask = queue_offset_mask();
    const uint64_t tail = m_bus.mmio_read64(hw::reg::PQT_OFFSET) & ring_mask;
    for (uint64_t head = m_bus.mmio_read64(hw::reg::PQH_OFFSET) & ring_mask; head != tail;
         head = (head + hw::page_req_desc_bytes) & ring_mask) {
        hw::page_req_desc d{};
        m_bus.mem_read(m_queue + head, d.data(), sizeof d);
        const hw::page_request_fields f = hw::parse_page_req(d);
        const bool same_pasid = f.pasid_present ? f.pasid == pasid : pasid == no_pasid;
        if (f.rid == rid && same_pasid) {
            return true;
        }
    }
    return false;
}

int vtd_prq::drain(uint16_t rid, uint32_t pasid, std::span<const hw::inv_desc> flush, bool pd) {
    if (!m_queue) {
        return 0;
    }
    ++m_stats.drains;
    // Linux waits for the thread's completion and looks again; here the thread runs at once. A
    // bound keeps a device that never stops asking from holding the driver forever.
    constexpr unsigned max_rounds = 1024;
    unsigned rounds = 0;
    while (holds(rid, pasid) && ++rounds <= max_rounds) {
        handle_event(m_reporter);
    }
    // QI_IWD_STATUS_DATA(QI_DONE) | QI_IWD_FENCE: fences the flush behind what went before.
    constexpr uint32_t linux_qi_done = 2;
    std::vector<hw::inv_desc> batch;
    batch.reserve(flush.size() + 1);
    batch.push_back(hw::make_wait(false, 0, linux_qi_done, false, true));
    batch.insert(batch.end(), flush.begin(), flush.end());
    for (rounds = 0;;) {
        if (const int rc = m_qi.submit(batch, pd)) {
            return rc;
        }
        // Requests dropped on overflow meanwhile: once the thread made room, drain again.
        if ((m_bus.mmio_read32(hw::reg::PRS_OFFSET) & hw::prs::pro::mask) == 0 || ++rounds > max_rounds) {
            return 0;
        }
        handle_event(m_reporter);
    }
}

void vtd_prq::answer_bad(uint16_t rid, bool pasid_present, uint32_t pasid, uint16_t group, bool last) {
    ++m_stats.bad;
    if (!last) {
        return;
    }
    ++m_stats.responses;
    m_qi.submit(hw::make_pgrp_resp(rid, pasid_present, pasid, group, true, hw::pgrp_resp_desc::invalid_request));
}

int vtd_prq::page_response(uint16_t rid, const page_request& request, const struct page_response& response) {
    const bool pasid_present = (request.flags & page_request_pasid_valid) != 0;
    const bool last = (request.flags & page_request_last_page) != 0;
    // The core's codes are the PCIe ones for Success (0) and Invalid Request (1).
    const uint8_t code = response.code == page_response_code::success ? hw::pgrp_resp_desc::success
                                                                      : hw::pgrp_resp_desc::invalid_request;
    ++m_stats.responses;
    return m_qi.submit(
        hw::make_pgrp_resp(rid, pasid_present, request.pasid, static_cast<uint16_t>(request.grpid), last, code));
}

}  // namespace iommusim::driver
