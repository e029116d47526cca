#include "platform/cpu.h"

#include <cstring>
#include <stdexcept>

namespace iommusim {

namespace {
unsigned irq_index(driver::hw_irq irq) {
    switch (irq) {
        case driver::hw_irq::invalidation_completion:
            return 0;
        case driver::hw_irq::fault_event:
            return 1;
        case driver::hw_irq::page_request:
            break;
    }
    return 2;
}
}  // namespace

cpu::cpu(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name)
    , mmio_socket("mmio_socket")
    , mem_socket("mem_socket")
    , irq_fault("irq_fault")
    , irq_inv("irq_inv")
    , irq_prq("irq_prq") {
    mem_socket.register_invalidate_direct_mem_ptr(this, &cpu::invalidate_mem_dmi);
    for (unsigned i = 0; i < irq_lines; ++i) {
        m_irq_or_timeout[i] |= m_irq_event[i];
        m_irq_or_timeout[i] |= m_irq_timeout;
    }
    SC_THREAD(job_thread);
    SC_METHOD(on_job_end);
    sensitive << m_job_end_event;
    dont_initialize();
    SC_METHOD(on_irq_inv);
    sensitive << irq_inv.pos();
    dont_initialize();
    SC_METHOD(on_irq_fault);
    sensitive << irq_fault.pos();
    dont_initialize();
    SC_METHOD(on_irq_prq);
    sensitive << irq_prq.pos();
    dont_initialize();
}

// A rising line wakes a waiting job in the same delta cycle (an immediate notification): the job
// sees the interrupt at the time it was raised either way.
void cpu::on_irq_inv() {
    m_irq_pending[0] = true;
    m_irq_event[0].notify();
}

void cpu::on_irq_fault() {
    m_irq_pending[1] = true;
    m_irq_event[1].notify();
}

void cpu::on_irq_prq() {
    m_irq_pending[2] = true;
    m_irq_event[2].notify();
}

void cpu::job_thread() {
    for (;;) {
        sc_core::wait(m_job_event);
        m_quantum = tlm::tlm_global_quantum::instance().get().value();  // fixed while a job runs
        try {
            (*m_job)();
        } catch (...) {
            m_job_error = std::current_exception();
        }
        end_job();
    }
}

void cpu::end_job() {
    // As sync_kernel(), but the job-end method waits to the CPU's time: the thread is free for the
    // next job at once (one coroutine switch fewer per job).
    if (sc_core::sc_time ahead; take_time_ahead(ahead)) {
        m_job_end_event.notify(ahead);
        return;
    }
    on_job_end();
}

void cpu::on_job_end() {
    m_job_done = true;
    sc_core::sc_pause();
}

void cpu::execute(const std::function<void()>& job) {
    // The first call ends elaboration: run the initialisation so the job thread waits for work.
    if (sc_core::sc_get_status() == sc_core::SC_ELABORATION) {
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
    }
    m_job = &job;
    m_job_done = false;
    m_job_error = nullptr;
    m_job_event.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
    m_job = nullptr;
    if (!m_job_done) {
        throw std::runtime_error(
            "simulation stopped before the CPU job finished (the driver waits for an event "
            "that never comes)");
    }
    if (m_job_error) {
        std::rethrow_exception(m_job_error);
    }
}

bool cpu::mmio(tlm::tlm_command cmd, uint32_t off, void* data, unsigned len) {
    tlm::tlm_generic_payload& trans = m_mmio_trans;
    trans.set_command(cmd);
    trans.set_address(off);
    trans.set_data_ptr(static_cast<unsigned char*>(data));
    trans.set_data_length(len);
    trans.set_streaming_width(len);
    trans.set_dmi_allowed(false);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    // It takes effect at the synchronisation point; the memory latency since overlaps it.
    sc_core::sc_time delay = m_sync_ahead;
    mmio_socket->b_transport(trans, delay);
    m_local += delay - m_sync_ahead;
    sync();  // uncached device access: the CPU waits for it
    ++m_mmio_accesses;
    return trans.is_response_ok();
}

uint32_t cpu::mmio_read32(uint32_t off) {
    uint32_t v = 0;
    return mmio(tlm::TLM_READ_COMMAND, off, &v, 4) ? v : ~uint32_t{0};
}

uint64_t cpu::mmio_read64(uint32_t off) {
    uint64_t v = 0;
    return mmio(tlm::TLM_READ_COMMAND, off, &v, 8) ? v : ~uint64_t{0};
}

void cpu::mmio_write32(uint32_t off, uint32_t value) {
    mmio(tlm::TLM_WRITE_COMMAND, off, &value, 4);
}
void cpu::mmio_write64(uint32_t off, uint64_t value) {
    mmio(tlm::TLM_WRITE_COMMAND, off, &value, 8);
}

bool cpu::mem(tlm::tlm_command cmd, uint64_t pa, void* data, std::size_t len) {
    const bool ok = mem_unsynced(cmd, pa, data, len);
    if (need_sync()) {
        sync();
    }
    return ok;
}

bool cpu::mem_unsynced(tlm::tlm_command cmd, uint64_t pa, void* data, std::size_t len) {
    ++m_mem_accesses;
    const bool rd = cmd == tlm::TLM_READ_COMMAND;
    if (const tlm::tlm_dmi* dmi = m_mem_dmi.copy(pa, data, len, rd)) {
        m_local += rd ? dmi->get_read_latency() : dmi->get_write_latency();
        return true;
    }
    tlm::tlm_generic_payload& trans = m_mem_trans;
    trans.set_command(cmd);
    trans.set_address(pa);
    trans.set_data_ptr(static_cast<unsigned char*>(data));
    trans.set_data_length(static_cast<unsigned>(len));
    trans.set_streaming_width(static_cast<unsigned>(len));
    trans.set_dmi_allowed(false);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = m_local;
    mem_socket->b_transport(trans, delay);
    m_local = delay;
    const bool ok = trans.is_response_ok();
    if (ok && trans.is_dmi_allowed() && (rd || cmd == tlm::TLM_WRITE_COMMAND)) {
        tlm::tlm_dmi granted;
        if (mem_socket->get_direct_mem_ptr(trans, granted)) {
            m_mem_dmi.remember(pa, granted);
        }
    }
    return ok;
}

void cpu::invalidate_mem_dmi(sc_dt::uint64 start, sc_dt::uint64 end) {
    m_mem_dmi.invalidate(start, end);
}

bool cpu::cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) {
    // A locked read-modify-write: the read and the write are issued back to back, and the quantum
    // is synchronised only afterwards, so no DMA (IOMMU A/D update) can come in between.
    bool ok = mem_unsynced(tlm::TLM_READ_COMMAND, pa, &observed, sizeof observed);
    if (ok && observed == expected) {
        ok = mem_unsynced(tlm::TLM_WRITE_COMMAND, pa, &desired, sizeof desired);
    }
    if (need_sync()) {
        sync();
    }
    return ok;
}

bool cpu::mem_read(uint64_t pa, void* dst, std::size_t len) {
    return mem(tlm::TLM_READ_COMMAND, pa, dst, len);
}

bool cpu::mem_write(uint64_t pa, const void* src, std::size_t len) {
    // The payload's data pointer is not const; the target only reads it for a write.
    return mem(tlm::TLM_WRITE_COMMAND, pa, const_cast<void*>(src), len);
}

void cpu::delay(uint64_t ns) {
    const sc_core::sc_time sleep =
        ns == 0 ? sc_core::SC_ZERO_TIME : sc_core::sc_time(static_cast<double>(ns), sc_core::SC_NS);
    if (!m_lazy_sync) {
        sync();
        sc_core::wait(sleep);
        return;
    }
    sync_then_sleep(sleep);  // the synchronisation point and the end of the sleep in one check
}

uint64_t cpu::now_ns() {
    return rounded_ns(time());
}

bool cpu::may_skip_wait(const sc_core::sc_time& ahead) const {
    // Activity due at or before the CPU's time would run before the CPU resumed: the CPU waits.
    // (Activity at the kernel's time counts as due after none.)
    return m_lazy_sync && ahead < sc_core::sc_time_to_pending_activity();
}

void cpu::start_quantum(const sc_core::sc_time& at) {
    const uint64_t t = at.value();
    m_next_sync = m_quantum == 0 ? t : (t / m_quantum + 1) * m_quantum;
}

inline void cpu::sync_then_sleep(const sc_core::sc_time& sleep) {
    const sc_core::sc_time point = m_sync_ahead + m_local;
    m_local = sc_core::SC_ZERO_TIME;
    start_quantum(kernel_time() + point);
    const sc_core::sc_time wake = point + sleep;
    if (may_skip_wait(wake)) {
        m_sync_ahead = wake;
        return;
    }
    m_sync_ahead = sc_core::SC_ZERO_TIME;
    sc_core::wait(wake);
}

void cpu::sync() {
    sync_then_sleep(sc_core::SC_ZERO_TIME);
}

void cpu::catch_up() {
    if (m_sync_ahead != sc_core::SC_ZERO_TIME) {
        const sc_core::sc_time ahead = m_sync_ahead;
        m_sync_ahead = sc_core::SC_ZERO_TIME;
        sc_core::wait(ahead);
    }
}

bool cpu::take_time_ahead(sc_core::sc_time& ahead) {
    ahead = m_sync_ahead + m_local;
    m_sync_ahead = sc_core::SC_ZERO_TIME;
    m_local = sc_core::SC_ZERO_TIME;
    start_quantum(kernel_time() + ahead);
    // With nothing ahead a delta cycle only when lazy synchronisation finds nothing due at the
    // kernel's time either.
    return !m_lazy_sync || ahead != sc_core::SC_ZERO_TIME || sc_core::sc_pending_activity_at_current_time();
}

void cpu::sync_kernel() {
    if (sc_core::sc_time ahead; take_time_ahead(ahead)) {
        sc_core::wait(ahead);
    }
}

bool cpu::pin_user_memory(void* host, std::size_t len, uint64_t& pa) {
    return m_pinner && m_pinner->pin(host, len, pa);
}

void cpu::unpin_user_memory(uint64_t pa) {
    if (m_pinner) {
        m_pinner->unpin(pa);
    }
}

bool cpu::irq_pending(driver::hw_irq irq) {
    return m_irq_pending[irq_index(irq)];
}

void cpu::irq_ack(driver::hw_irq irq) {
    m_irq_pending[irq_index(irq)] = false;
}

bool cpu::wait_for_irq(driver::hw_irq irq, uint64_t timeout_ns) {
    sync_kernel();
    const unsigned i = irq_index(irq);
    const sc_core::sc_time deadline = kernel_time() + sc_core::sc_time(static_cast<double>(timeout_ns), sc_core::SC_NS);
    // One time-out event for every wait: an earlier call's notification still pending wakes the
    // thread early, and the loop waits again for the rest. A fresh time-out per call (wait(t, e))
    // would leave one cancelled entry per answered wait in the kernel's timed queue until its time.
    if (timeout_ns == 0 && !m_irq_pending[i]) {
        sc_core::wait(sc_core::SC_ZERO_TIME, m_irq_event[i]);
    }
    while (!m_irq_pending[i] && kernel_time() < deadline) {
        m_irq_timeout.notify(deadline - kernel_time());  // keeps an earlier pending one
        sc_core::wait(m_irq_or_timeout[i]);
    }
    return m_irq_pending[i];
}

}  // namespace iommusim
