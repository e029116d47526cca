// Queued-invalidation submission: the driver side of the VT-d invalidation queue.
//
// Models (docs/vtd-facts.md §1.10, §1.11, §2.2-§2.5, §2.7, §6.8): a ring of 256-bit descriptors in driver
// memory; descriptors are appended at the software tail with wrap-around, keeping one slot free so
// that a full ring (tail one behind head) differs from an empty one; every batch ends with an
// invalidation wait descriptor (SW=1, status write of a per-batch sequence number to a driver-owned
// word, IF=1 too in interrupt mode); completion is detected by polling that word with a delay
// between polls (growing exponentially, so that a long wait costs few polls), or by waiting for the
// completion interrupt. Descriptors that are contiguous in the ring are written with one access. A batch larger than
// the free space waits for the head to move. Errors as Linux qi_check_fault handles them: IQE -> the bad slot is
// overwritten with a copy of the batch's wait descriptor, IQE is cleared and the batch fails with
// -EINVAL; ITE -> ITE is cleared and the batch fails with -ETIMEDOUT (the hardware aborted its
// wait); ICE -> cleared, the batch goes on. A batch that never completes fails with -ETIMEDOUT
// after a simulated-time limit, so a broken or disabled queue never hangs the driver.
// Does not model: 128-bit queues (scalable mode always uses 256-bit descriptors), concurrent
// submitters (one CPU thread), the kernel's -EAGAIN resubmission after ITE.
#pragma once

#include <cstdint>
#include <span>

#include "driver/hw_bus.h"
#include "iommusim/hw/vtd_desc.h"

namespace iommusim::driver {

struct qi_config {
    bool use_interrupt = false;        // wait for the completion interrupt (IF=1) instead of polling
    uint64_t poll_ns = 20;             // first interval between two polls of the status word / IQH
    uint64_t poll_max_ns = 1000;       // the interval doubles after each unsuccessful poll up to this
    uint64_t timeout_ns = 10'000'000;  // a batch not complete after this much simulated time fails
};

struct qi_stats {
    uint64_t batches = 0;        // submit() calls that reached the queue
    uint64_t descriptors = 0;    // descriptors submitted, wait descriptors included
    uint64_t wait_ns_total = 0;  // simulated time from the first IQT write to completion, summed
    uint64_t wait_ns_max = 0;
    uint64_t wait_ns_last = 0;
    uint64_t full_waits = 0;  // polls made because the ring had no free slot
    uint64_t iqe = 0;         // invalidation queue errors recovered
    uint64_t ite = 0;         // device-TLB time-outs
    uint64_t ice = 0;         // invalidation completion errors cleared
    uint64_t timeouts = 0;    // batches given up after timeout_ns
};

class queued_invalidation {
  public:
    queued_invalidation(hw_bus& bus, const qi_config& config = {});
    queued_invalidation(const queued_invalidation&) = delete;
    queued_invalidation& operator=(const queued_invalidation&) = delete;

    // Takes over the ring the hardware was enabled with: 2^qs pages at ring_pa (256-bit
    // descriptors), IQT = 0, and a 4-byte status word at status_pa owned by the driver.
    void attach(uint64_t ring_pa, unsigned qs, uint64_t status_pa);
    void detach();
    bool attached() const { return m_entries != 0; }
    unsigned entries() const { return m_entries; }
    unsigned tail() const { return m_tail; }

    // Submits descs followed by one wait descriptor and waits for completion. 0, -EINVAL (IQE in
    // this batch), -ETIMEDOUT (ITE, or no completion in time), -ENODEV (no queue), -EFAULT (ring
    // memory not writable).
    int submit(std::span<const hw::inv_desc> descs);
    // The same with PD set in the batch's wait descriptor when `drain_page_requests` (Linux
    // QI_OPT_WAIT_DRAIN; needs ECAP.PDS, docs/vtd-facts.md §10.4).
    int submit(std::span<const hw::inv_desc> descs, bool drain_page_requests);
    int submit(const hw::inv_desc& d) { return submit(std::span<const hw::inv_desc>(&d, 1)); }

    const qi_stats& stats() const { return m_stats; }
    void reset_stats() { m_stats = {}; }
    const qi_config& config() const { return m_config; }
    // Switches between polling and the completion interrupt for later batches (the owner unmasks
    // IECTL first, see vtd_iommu::set_completion_interrupt).
    void set_use_interrupt(bool on) { m_config.use_interrupt = on; }

  private:
    unsigned read_head();
    unsigned free_slots(unsigned head) const { return (head + m_entries - m_tail - 1) % m_entries; }
    bool write_slot(unsigned index, const hw::inv_desc& d);
    bool write_slots(unsigned index, const hw::inv_desc* d, unsigned count);
    void write_tail();
    // Checks FSTS for IQE/ITE/ICE. `ours` = descriptors of this batch that may still be pending.
    int check_fault(unsigned ours, const hw::inv_desc& wait);

    hw_bus& m_bus;
    qi_config m_config;
    uint64_t m_ring = 0;
    uint64_t m_status = 0;
    unsigned m_entries = 0;
    unsigned m_tail = 0;
    uint32_t m_seq = 0;
    qi_stats m_stats;
};

}  // namespace iommusim::driver
