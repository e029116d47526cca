// The driver's only window onto the hardware: MMIO register accesses to one VT-d remapping unit,
// reads and writes of physical memory, waiting in simulated time and the completion/fault
// interrupts. The platform implements it over TLM (a CPU thread doing b_transport to the IOMMU's
// register socket and to memory); unit tests implement it over plain memory.
//
// Models (docs/vtd-facts.md §1, §2, §1.8, §1.11): little-endian 32/64-bit register accesses at the
// offsets of include/iommusim/hw/vtd_regs.h, physical memory accesses as a CPU makes them (the
// driver's tables, the invalidation queue and the wait status word live there), the passage of
// simulated time while software polls, and the two VT-d interrupt lines (invalidation completion
// event IECTL/IEDATA, fault event FECTL/FEDATA) as level "pending" flags the driver can test and
// acknowledge; atomic compare-exchange of a memory word (the driver clears D flags with it).
// Does not model: MSI address decoding, caches or write buffers between CPU and memory, DMA.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iommusim::driver {

// The two interrupt sources of a VT-d unit the driver may wait for.
enum class hw_irq {
    invalidation_completion,  // ICS.IWC set by a wait descriptor with IF=1 (§1.11)
    fault_event,              // fault event (FSTS conditions, §1.8)
    page_request,             // page request event (PRS conditions, §1.13)
};

class hw_bus {
  public:
    virtual ~hw_bus() = default;

    // Register accesses to the IOMMU at byte offset `off` (4- or 8-byte, naturally aligned). An
    // access the hardware rejects reads as all ones / is dropped, as on a real bus.
    virtual uint32_t mmio_read32(uint32_t off) = 0;
    virtual uint64_t mmio_read64(uint32_t off) = 0;
    virtual void mmio_write32(uint32_t off, uint32_t value) = 0;
    virtual void mmio_write64(uint32_t off, uint64_t value) = 0;

    // Physical memory as the CPU sees it (host-physical addresses, little-endian, coherent with
    // the IOMMU's table walks and status writes). False when the address is not backed by memory.
    virtual bool mem_read(uint64_t pa, void* dst, std::size_t len) = 0;
    virtual bool mem_write(uint64_t pa, const void* src, std::size_t len) = 0;

    // Advances simulated time by `ns` (at least one delta cycle when ns is 0), letting the hardware
    // run. Every polling loop of the driver calls it between two polls.
    virtual void delay(uint64_t ns) = 0;
    // Current simulated time in nanoseconds.
    virtual uint64_t now_ns() = 0;

    // True while the interrupt has been signalled and not acknowledged.
    virtual bool irq_pending(hw_irq irq) = 0;
    // Acknowledges a signalled interrupt (clears the pending flag; the register-level status, e.g.
    // ICS.IWC, is cleared by the driver through MMIO as on hardware).
    virtual void irq_ack(hw_irq irq) = 0;
    // Waits until the interrupt is pending or `timeout_ns` of simulated time have passed.
    // Returns true if it is pending. The default polls with delay(); a TLM implementation may wait
    // on an sc_event instead.
    virtual bool wait_for_irq(hw_irq irq, uint64_t timeout_ns) {
        const uint64_t end = now_ns() + timeout_ns;
        while (!irq_pending(irq)) {
            if (now_ns() >= end) {
                return false;
            }
            delay(poll_interval_ns);
        }
        return true;
    }

    // Pins a host (user) buffer as physical memory, like the kernel's pin_user_pages(): on success
    // `pa` is the physical address of its first byte and [pa, pa + len) is backed by the buffer
    // until unpin_user_memory(pa). Paging domains map user buffers through it. The default refuses
    // (a bus without user memory).
    virtual bool pin_user_memory(void* host, std::size_t len, uint64_t& pa) {
        (void)host, (void)len, (void)pa;
        return false;
    }
    virtual void unpin_user_memory(uint64_t pa) { (void)pa; }

    // Atomic compare-exchange of the naturally aligned 64-bit word at pa, as a locked CPU
    // instruction: when it holds `expected` it becomes `desired`. `observed` gets the value found.
    // False when the address is not backed by memory. The IOMMU updates A/D flags of the tables the
    // same way (docs/vtd-facts.md §5.3), so neither side loses the other's update. The default is
    // a read and a write, atomic on a bus where nothing else runs between two accesses.
    virtual bool cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) {
        if (!read64(pa, observed)) {
            return false;
        }
        return observed != expected || write64(pa, desired);
    }

    // Convenience helpers on top of mem_read/mem_write.
    bool read64(uint64_t pa, uint64_t& v) { return mem_read(pa, &v, sizeof v); }
    bool write64(uint64_t pa, uint64_t v) { return mem_write(pa, &v, sizeof v); }
    bool read32(uint64_t pa, uint32_t& v) { return mem_read(pa, &v, sizeof v); }
    bool write32(uint64_t pa, uint32_t v) { return mem_write(pa, &v, sizeof v); }

    // Default interval between two polls of a register or memory word (simulated ns).
    static constexpr uint64_t poll_interval_ns = 10;
};

}  // namespace iommusim::driver
