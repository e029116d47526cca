#include "driver/queued_invalidation.h"

#include <algorithm>
#include <cerrno>

#include "driver/log.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::driver {

namespace {
constexpr unsigned desc_bytes = 32;  // 256-bit descriptors
}  // namespace

queued_invalidation::queued_invalidation(hw_bus& bus, const qi_config& config) : m_bus(bus), m_config(config) {
    if (m_config.poll_ns == 0) {
        m_config.poll_ns = 1;
    }
}

void queued_invalidation::attach(uint64_t ring_pa, unsigned qs, uint64_t status_pa) {
    m_ring = ring_pa;
    m_entries = 1u << (qs + 7);  // 2^qs pages of 128 descriptors
    m_status = status_pa;
    m_tail = 0;
}

void queued_invalidation::detach() {
    m_entries = 0;
    m_tail = 0;
}

unsigned queued_invalidation::read_head() {
    const uint64_t iqh = m_bus.mmio_read64(hw::reg::IQH_OFFSET);
    // QH counts 16-byte units; with 256-bit descriptors bit 4 is always 0.
    return static_cast<unsigned>((hw::iqh::qh::get(iqh) * 16 / desc_bytes) % m_entries);
}

bool queued_invalidation::write_slot(unsigned index, const hw::inv_desc& d) {
    return m_bus.mem_write(m_ring + uint64_t{index} * desc_bytes, d.data(), desc_bytes);
}

bool queued_invalidation::write_slots(unsigned index, const hw::inv_desc* d, unsigned count) {
    static_assert(sizeof(hw::inv_desc) == desc_bytes);
    return m_bus.mem_write(m_ring + uint64_t{index} * desc_bytes, d, std::size_t{count} * desc_bytes);
}

void queued_invalidation::write_tail() {
    m_bus.mmio_write64(hw::reg::IQT_OFFSET, hw::iqt::qt::make(uint64_t{m_tail} * desc_bytes / 16));
}

int queued_invalidation::check_fault(unsigned ours, const hw::inv_desc& wait) {
    const uint32_t fsts = m_bus.mmio_read32(hw::reg::FSTS_OFFSET);
    if (hw::fsts::iqe::get(fsts)) {
        ++m_stats.iqe;
        // The head stays on the offending descriptor: replace it with our wait descriptor so that
        // the hardware can go on once IQE is cleared (Linux qi_check_fault).
        const unsigned head = read_head();
        const unsigned pending = (m_tail + m_entries - head) % m_entries;
        write_slot(head, wait);
        m_bus.mmio_write32(hw::reg::FSTS_OFFSET, static_cast<uint32_t>(hw::fsts::iqe::make(1)));
        const bool this_batch = pending != 0 && pending <= ours;
        klog::printk(
            klog::level::err, dmar_log,
            "Invalidation Queue Error (IQE) cleared: invalid descriptor at queue index %u replaced by a wait%s", head,
            this_batch ? "; the batch fails (EINVAL)" : " (left over from an earlier batch)");
        if (this_batch) {
            return -EINVAL;
        }
        // A leftover of an earlier, already failed batch: keep waiting for ours.
    }
    if (hw::fsts::ite::get(fsts)) {
        ++m_stats.ite;
        // The hardware aborted every pending wait descriptor, ours included.
        m_bus.mmio_write32(hw::reg::FSTS_OFFSET, static_cast<uint32_t>(hw::fsts::ite::make(1)));
        klog::printk(klog::level::err, dmar_log,
                     "Invalidation Time-out Error (ITE) cleared: a device-TLB invalidation was not answered; the "
                     "pending waits were aborted and the batch fails (ETIMEDOUT)");
        return -ETIMEDOUT;
    }
    if (hw::fsts::ice::get(fsts)) {
        ++m_stats.ice;
        m_bus.mmio_write32(hw::reg::FSTS_OFFSET, static_cast<uint32_t>(hw::fsts::ice::make(1)));
        klog::printk(klog::level::warning, dmar_log,
                     "Invalidation Completion Error (ICE) cleared: a device-TLB invalidation completion carried an "
                     "unexpected ITag");
    }
    return 0;
}

int queued_invalidation::submit(std::span<const hw::inv_desc> descs) {
    return submit(descs, false);
}

int queued_invalidation::submit(std::span<const hw::inv_desc> descs, bool drain_page_requests) {
    if (m_entries == 0) {
        klog::printk(klog::level::err, dmar_log, "invalidation refused: queued invalidation is not enabled (ENODEV)");
        return -ENODEV;
    }
    ++m_stats.batches;
    const std::size_t total = descs.size() + 1;
    m_stats.descriptors += total;

    if (++m_seq == 0) {
        m_seq = 1;  // 0 is what the word holds while a batch is in flight
    }
    const uint32_t seq = m_seq;
    if (!m_bus.write32(m_status, 0)) {
        klog::printk(klog::level::err, dmar_log, "invalidation failed: the wait status word is not writable (EFAULT)");
        return -EFAULT;
    }
    const hw::inv_desc wait = hw::make_wait(true, m_status, seq, m_config.use_interrupt, false, drain_page_requests);

    const uint64_t start = m_bus.now_ns();
    int rc = 0;
    std::size_t written = 0;
    unsigned ours = 0;  // descriptors of this batch possibly not yet fetched
    uint64_t interval = m_config.poll_ns;
    auto give_up = [&] {
        if (m_bus.now_ns() - start <= m_config.timeout_ns) {
            return false;
        }
        ++m_stats.timeouts;
        klog::printk(
            klog::level::err, dmar_log,
            "queued invalidation timed out: the hardware did not complete the batch within %llu ns (ETIMEDOUT)",
            static_cast<unsigned long long>(m_config.timeout_ns));
        return true;
    };
    while (written < total) {
        const unsigned head = read_head();
        ours = std::min<unsigned>(ours, (m_tail + m_entries - head) % m_entries);
        unsigned space = free_slots(head);
        if (space == 0) {
            // A full ring waits for the hardware to consume descriptors.
            ++m_stats.full_waits;
            if ((rc = check_fault(ours, wait)) != 0) {
                break;
            }
            if (give_up()) {
                rc = -ETIMEDOUT;
                break;
            }
            m_bus.delay(interval);
            interval = std::min(interval * 2, m_config.poll_max_ns);
            continue;
        }
        interval = m_config.poll_ns;
        while (space > 0 && written < total) {
            // Contiguous run: up to the end of the ring, the free space and the batch's descriptors.
            const unsigned run = static_cast<unsigned>(std::min<std::size_t>(
                {space, m_entries - m_tail, descs.size() > written ? descs.size() - written : 0}));
            if (run > 0 ? !write_slots(m_tail, descs.data() + written, run) : !write_slot(m_tail, wait)) {
                klog::printk(klog::level::err, dmar_log, "invalidation failed: the queue is not writable (EFAULT)");
                return -EFAULT;
            }
            const unsigned n = run > 0 ? run : 1;
            m_tail = (m_tail + n) % m_entries;
            ours += n;
            written += n;
            space -= n;
        }
        write_tail();
    }

    interval = m_config.poll_ns;
    while (rc == 0) {
        uint32_t status = 0;
        if (!m_bus.read32(m_status, status)) {
            klog::printk(klog::level::err, dmar_log,
                         "invalidation failed: the wait status word is not readable (EFAULT)");
            rc = -EFAULT;
            break;
        }
        if (status == seq) {
            break;
        }
        if ((rc = check_fault(ours, wait)) != 0) {
            break;
        }
        if (give_up()) {
            rc = -ETIMEDOUT;
            break;
        }
        if (m_config.use_interrupt) {
            if (m_bus.wait_for_irq(hw_irq::invalidation_completion, m_config.poll_max_ns * 16)) {
                // Clear IWC so that the next wait descriptor raises the event again (§1.11).
                m_bus.mmio_write32(hw::reg::ICS_OFFSET, static_cast<uint32_t>(hw::ics::iwc::make(1)));
                m_bus.irq_ack(hw_irq::invalidation_completion);
            }
        } else {
            m_bus.delay(interval);
            interval = std::min(interval * 2, m_config.poll_max_ns);
        }
    }

    const uint64_t waited = m_bus.now_ns() - start;
    m_stats.wait_ns_last = waited;
    m_stats.wait_ns_total += waited;
    if (waited > m_stats.wait_ns_max) {
        m_stats.wait_ns_max = waited;
    }
    return rc;
}

}  // namespace iommusim::driver
