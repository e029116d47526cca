// The simulated CPU the driver runs on. It executes jobs (a VMM's ioctl, a DMA request) in one
// SC_THREAD and is the driver's hw_bus: MMIO through `mmio_socket` to the IOMMU registers, memory
// through `mem_socket`, time through wait(), interrupts from `irq_fault` / `irq_inv` / `irq_prq`.
//
// Models: a single in-order core with a quantum keeper for memory accesses (it synchronises at the
// global quantum's boundaries); MMIO accesses are synchronising (the CPU waits for each to complete
// before issuing the next), as uncached device accesses are. An MMIO access takes effect at the
// CPU's last synchronisation point: the memory accesses since are posted and overlap it (their
// latency is added after it).
// Host cost: memory accesses go through a DMI pointer of the memory when it grants one (the same
// latency annotated); one transaction object per socket is reused. Lazy synchronisation (on by
// default): a synchronisation point moves the CPU's time on without a wait in the kernel while no
// other process has activity due by then, which cannot change what any process sees (targets
// apply an access at its annotated time); the kernel's time then stays behind the CPU's until a
// synchronisation that others must see, a wait for an interrupt, catch_up() or the job's end.
// Does not model: caches, multiple cores, interrupt controllers (the lines are level inputs).
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <array>
#include <exception>
#include <functional>
#include <systemc>
#include <tlm>

#include "driver/hw_bus.h"
#include "tlm/dmi_slots.h"
#include "tlm/kernel_time.h"

namespace iommusim {

class cpu : public sc_core::sc_module, public driver::hw_bus {
  public:
    tlm_utils::simple_initiator_socket<cpu> mmio_socket;
    tlm_utils::simple_initiator_socket<cpu> mem_socket;
    sc_core::sc_in<bool> irq_fault;
    sc_core::sc_in<bool> irq_inv;
    sc_core::sc_in<bool> irq_prq;

    SC_HAS_PROCESS(cpu);
    explicit cpu(const sc_core::sc_module_name& name);
    cpu(const cpu&) = delete;
    cpu& operator=(const cpu&) = delete;

    // Runs `job` on the CPU thread; returns when it finished. Rethrows what the job threw. Throws
    // std::runtime_error if the simulation ran out of events before the job finished (a hang).
    void execute(const std::function<void()>& job);

    // ---- driver::hw_bus ----
    uint32_t mmio_read32(uint32_t off) override;
    uint64_t mmio_read64(uint32_t off) override;
    void mmio_write32(uint32_t off, uint32_t value) override;
    void mmio_write64(uint32_t off, uint64_t value) override;
    bool mem_read(uint64_t pa, void* dst, std::size_t len) override;
    bool mem_write(uint64_t pa, const void* src, std::size_t len) override;
    bool cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) override;
    void delay(uint64_t ns) override;
    uint64_t now_ns() override;
    bool irq_pending(driver::hw_irq irq) override;
    void irq_ack(driver::hw_irq irq) override;
    bool wait_for_irq(driver::hw_irq irq, uint64_t timeout_ns) override;
    bool pin_user_memory(void* host, std::size_t len, uint64_t& pa) override;
    void unpin_user_memory(uint64_t pa) override;

    // Who places pinned user buffers in physical memory (the platform).
    struct user_memory_pinner {
        virtual ~user_memory_pinner() = default;
        virtual bool pin(void* host, std::size_t len, uint64_t& pa) = 0;
        virtual void unpin(uint64_t pa) = 0;
    };
    void set_user_memory_pinner(user_memory_pinner* p) { m_pinner = p; }

    // Lazy synchronisation (see above); off: every synchronisation point waits in the kernel.
    void set_lazy_sync(bool on) { m_lazy_sync = on; }
    // Inside a job, before code that uses the kernel's time itself (a device's transfer): waits
    // until the kernel's time is the CPU's last synchronisation point, where it would be without
    // lazy synchronisation.
    void catch_up();

    uint64_t mmio_accesses() const { return m_mmio_accesses; }
    uint64_t mem_accesses() const { return m_mem_accesses; }

  private:
    void job_thread();
    // The job's end: the kernel is brought to the CPU's time (by m_job_end_event, unless it is
    // there), where on_job_end() marks the job done and pauses the simulation.
    void end_job();
    void on_job_end();
    void on_irq_fault();
    void on_irq_inv();
    void on_irq_prq();
    bool mmio(tlm::tlm_command cmd, uint32_t off, void* data, unsigned len);
    bool mem(tlm::tlm_command cmd, uint64_t pa, void* data, std::size_t len);
    // One memory transport without a quantum sync (no other process runs before the caller syncs).
    bool mem_unsynced(tlm::tlm_command cmd, uint64_t pa, void* data, std::size_t len);
    void invalidate_mem_dmi(sc_dt::uint64 start, sc_dt::uint64 end);

    // The CPU's time is sc_time_stamp() + m_sync_ahead + m_local: its last synchronisation point,
    // and the memory latencies since.
    sc_core::sc_time time() const { return kernel_time() + m_sync_ahead + m_local; }
    bool need_sync() const { return time().value() >= m_next_sync; }
    // Moves the synchronisation point to the CPU's time (waits in the kernel unless lazy
    // synchronisation may skip it) and starts a new quantum there.
    void sync();
    // sync(), then `sleep` more, the quantum going on through it (a sleep is no synchronisation
    // point): one wait in the kernel at most, none when lazy synchronisation may skip it.
    [[gnu::always_inline]] void sync_then_sleep(const sc_core::sc_time& sleep);
    // One wait in the kernel to the CPU's time (the job's end, a wait for an interrupt): the
    // kernel's time is the CPU's and a new quantum starts.
    void sync_kernel();
    // The CPU's time ahead of the kernel's, taken (the offsets cleared, a new quantum started at
    // the CPU's time): true when the kernel must wait `ahead` to be there.
    bool take_time_ahead(sc_core::sc_time& ahead);
    // Lazy synchronisation may move the synchronisation point `ahead` of the kernel's time on
    // without a wait: no other process has activity due by then.
    bool may_skip_wait(const sc_core::sc_time& ahead) const;
    // The quantum ends at the global quantum's first boundary after `at` (0: every access syncs).
    void start_quantum(const sc_core::sc_time& at);

    bool m_lazy_sync = true;
    sc_core::sc_time m_sync_ahead;
    sc_core::sc_time m_local;
    uint64_t m_next_sync = 0;  // sc_time value at which the quantum ends
    uint64_t m_quantum = 0;    // the global quantum's sc_time value
    // Reused: neither target's b_transport waits, so no second access starts meanwhile.
    tlm::tlm_generic_payload m_mmio_trans;
    tlm::tlm_generic_payload m_mem_trans;
    // DMI pointers of the memory, one slot per 4 KiB page (page number modulo the slot count).
    dmi_slots<16> m_mem_dmi;
    sc_core::sc_event m_job_event;
    sc_core::sc_event m_job_end_event;
    static constexpr unsigned irq_lines = 3;  // driver::hw_irq values
    sc_core::sc_event m_irq_event[irq_lines];
    sc_core::sc_event m_irq_timeout;                        // wait_for_irq's time-outs
    sc_core::sc_event_or_list m_irq_or_timeout[irq_lines];  // m_irq_event[i] | m_irq_timeout
    bool m_irq_pending[irq_lines] = {false, false, false};
    const std::function<void()>* m_job = nullptr;
    bool m_job_done = false;
    std::exception_ptr m_job_error;
    user_memory_pinner* m_pinner = nullptr;
    uint64_t m_mmio_accesses = 0;
    uint64_t m_mem_accesses = 0;
};

}  // namespace iommusim
