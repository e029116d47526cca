// The CPU's time keeping (platform/cpu.h): lazy synchronisation leaves the kernel's time behind
// while no other process has activity due, and changes nothing another process or a target sees:
// every expectation below is the time the access or observation has with a wait at every
// synchronisation point, worked out from the latencies. Each test runs in its own process (one
// elaboration per process).
#include "platform/cpu.h"

#include <gtest/gtest.h>

#include <tlm_utils/simple_target_socket.h>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace iommusim {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t mmio_latency_ns = 10;
constexpr uint64_t mem_latency_ns = 5;

uint64_t ns_of(const sc_time& t) {
    return static_cast<uint64_t>(t.to_seconds() * 1e9 + 0.5);
}

// A register target that records when each access takes effect (the kernel's time plus the
// annotated delay) and a memory without DMI; both add a fixed latency.
struct targets : sc_core::sc_module {
    tlm_utils::simple_target_socket<targets> mmio{"mmio"};
    tlm_utils::simple_target_socket<targets> mem{"mem"};
    std::vector<uint64_t> mmio_effect_ns;
    uint8_t bytes[4096] = {};

    explicit targets(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        mmio.register_b_transport(this, &targets::mmio_access);
        mem.register_b_transport(this, &targets::mem_access);
    }
    void mmio_access(tlm::tlm_generic_payload& trans, sc_time& delay) {
        mmio_effect_ns.push_back(ns_of(sc_core::sc_time_stamp() + delay));
        delay += sc_time(mmio_latency_ns, SC_NS);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    void mem_access(tlm::tlm_generic_payload& trans, sc_time& delay) {
        const uint64_t at = trans.get_address() % sizeof bytes;
        if (trans.is_read()) {
            std::memcpy(trans.get_data_ptr(), bytes + at, trans.get_data_length());
        } else {
            std::memcpy(bytes + at, trans.get_data_ptr(), trans.get_data_length());
        }
        delay += sc_time(mem_latency_ns, SC_NS);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

// A process that wakes at fixed times and records what the CPU's job had written by then.
struct watcher : sc_core::sc_module {
    SC_HAS_PROCESS(watcher);
    watcher(const sc_core::sc_module_name& name, std::vector<uint64_t> wake_ns, const int& progress)
        : sc_core::sc_module(name), m_wake_ns(std::move(wake_ns)), m_progress(progress) {
        SC_THREAD(run);
    }
    void run() {
        uint64_t now = 0;
        for (uint64_t at : m_wake_ns) {
            sc_core::wait(sc_time(static_cast<double>(at - now), SC_NS));
            now = at;
            seen.push_back(m_progress);
        }
    }
    std::vector<int> seen;

  private:
    std::vector<uint64_t> m_wake_ns;
    const int& m_progress;
};

// Raises a line at a fixed time.
struct line_raiser : sc_core::sc_module {
    SC_HAS_PROCESS(line_raiser);
    line_raiser(const sc_core::sc_module_name& name, sc_core::sc_signal<bool>& line, uint64_t at_ns)
        : sc_core::sc_module(name), m_line(line), m_at_ns(at_ns) {
        SC_THREAD(run);
    }
    void run() {
        sc_core::wait(sc_time(static_cast<double>(m_at_ns), SC_NS));
        m_line.write(true);
    }

  private:
    sc_core::sc_signal<bool>& m_line;
    uint64_t m_at_ns;
};

struct bench {
    cpu core{"cpu"};
    targets t{"targets"};
    sc_core::sc_signal<bool> irq_fault{"irq_fault"}, irq_inv{"irq_inv"}, irq_prq{"irq_prq"};
    explicit bench(bool lazy) {
        tlm::tlm_global_quantum::instance().set(sc_time(1000, SC_NS));
        core.mmio_socket.bind(t.mmio);
        core.mem_socket.bind(t.mem);
        core.irq_fault(irq_fault);
        core.irq_inv(irq_inv);
        core.irq_prq(irq_prq);
        core.set_lazy_sync(lazy);
    }
};

class CpuSync : public ::testing::TestWithParam<bool> {};

// Alone in the simulation, delays and MMIO accesses move the CPU's time, not the kernel's; the
// job's end brings the kernel to the CPU's time.
TEST_P(CpuSync, AloneTheKernelStaysBehindUntilTheJobEnds) {
    const bool lazy = GetParam();
    bench b(lazy);
    std::vector<uint64_t> cpu_ns, kernel_ns;
    b.core.execute([&] {
        for (int i = 0; i < 3; ++i) {
            b.core.delay(100);
            b.core.mmio_write32(0x88, 1);
            cpu_ns.push_back(b.core.now_ns());
            kernel_ns.push_back(ns_of(sc_core::sc_time_stamp()));
        }
    });
    EXPECT_EQ(cpu_ns, (std::vector<uint64_t>{110, 220, 330}));
    // Each access takes effect where the CPU's delay ended.
    EXPECT_EQ(b.t.mmio_effect_ns, (std::vector<uint64_t>{100, 210, 320}));
    if (lazy) {
        EXPECT_EQ(kernel_ns, (std::vector<uint64_t>{0, 0, 0}));
    } else {
        EXPECT_EQ(kernel_ns, cpu_ns);
    }
    EXPECT_EQ(ns_of(sc_core::sc_time_stamp()), 330u);
}

// Another process that acts at 250 ns sees what the job had done by 250 ns: the CPU waits in the
// kernel once that activity is due before its time.
TEST_P(CpuSync, AnotherProcessSeesTheJobAsOfItsOwnTime) {
    int progress = 0;
    bench b(GetParam());
    watcher w("watcher", {250, 1150}, progress);
    b.core.execute([&] {
        for (int i = 0; i < 10; ++i) {
            b.core.delay(100);
            progress = i + 1;  // done at (i + 1) * 100 ns
        }
    });
    EXPECT_EQ(ns_of(sc_core::sc_time_stamp()), 1000u);
    b.core.execute([&] { b.core.delay(200); });
    EXPECT_EQ(w.seen, (std::vector<int>{2, 10}));
}

// Memory latency since the last synchronisation point overlaps the next MMIO access (it takes
// effect at the point), and the quantum still ends at the global quantum's boundary.
TEST_P(CpuSync, PostedMemoryLatencyAndQuantumBoundaries) {
    bench b(GetParam());
    std::vector<uint64_t> cpu_ns;
    b.core.execute([&] {
        uint32_t v = 7;
        b.core.delay(990);                  // the synchronisation point: 990 ns
        b.core.mem_write(0x40, &v, 4);      // 995: the quantum (1000 ns) not yet reached
        b.core.mmio_write32(0x88, 1);       // takes effect at 990, done at 1005
        cpu_ns.push_back(b.core.now_ns());  // 1005
        for (int i = 0; i < 3; ++i) {
            b.core.mem_write(0x40, &v, 4);  // 1010, 1015, 1020: within the quantum that ends at 2000
        }
        cpu_ns.push_back(b.core.now_ns());
        b.core.mmio_write32(0x88, 2);  // takes effect at 1005, the last synchronisation point
    });
    EXPECT_EQ(cpu_ns, (std::vector<uint64_t>{1005, 1020}));
    EXPECT_EQ(b.t.mmio_effect_ns, (std::vector<uint64_t>{990, 1005}));
    EXPECT_EQ(ns_of(sc_core::sc_time_stamp()), 1030u);
}

// catch_up() brings the kernel to the CPU's last synchronisation point, not past it.
TEST_P(CpuSync, CatchUpReachesTheSynchronisationPoint) {
    bench b(GetParam());
    uint64_t kernel_after_catch_up = 0, cpu_after = 0;
    b.core.execute([&] {
        uint32_t v = 0;
        b.core.delay(300);
        b.core.mem_write(0x40, &v, 4);  // 305: after the point
        b.core.catch_up();
        kernel_after_catch_up = ns_of(sc_core::sc_time_stamp());
        cpu_after = b.core.now_ns();
    });
    EXPECT_EQ(kernel_after_catch_up, 300u);
    EXPECT_EQ(cpu_after, 305u);
    EXPECT_EQ(ns_of(sc_core::sc_time_stamp()), 305u);
}

// A job ends at the CPU's time, memory latency after the last synchronisation point included: the
// kernel runs what is due up to then (at 395 ns too: the same delta cycle) and nothing later; the
// next job starts there, and one that throws ends at its time as well.
TEST_P(CpuSync, AJobEndsAtItsTimeWithWhatIsDueThen) {
    int progress = 0;
    bench b(GetParam());
    watcher w("watcher", {394, 395, 396}, progress);
    b.core.execute([&] {
        uint32_t v = 0;
        b.core.delay(390);
        b.core.mem_write(0x40, &v, 4);  // 395
        progress = 1;
    });
    EXPECT_EQ(ns_of(sc_core::sc_time_stamp()), 395u);
    EXPECT_EQ(w.seen, (std::vector<int>{1, 1}));
    b.core.execute([&] {
        b.core.delay(10);  // the watcher's 396 ns is due first
        progress = 2;
    });
    EXPECT_EQ(ns_of(sc_core::sc_time_stamp()), 405u);
    EXPECT_EQ(w.seen, (std::vector<int>{1, 1, 1}));
    EXPECT_THROW(b.core.execute([&] {
        b.core.delay(20);
        throw std::runtime_error("job failed");
    }),
                 std::runtime_error);
    EXPECT_EQ(ns_of(sc_core::sc_time_stamp()), 425u);
}

// An interrupt raised at 150 ns while the CPU's job runs ahead is pending when the job asks for
// it at 300 ns, and the wait returns at once.
TEST_P(CpuSync, AnInterruptRaisedMeanwhileIsPending) {
    bench b(GetParam());
    line_raiser r("raiser", b.irq_inv, 150);
    bool pending_at_100 = true, got = false;
    uint64_t returned_ns = 0;
    b.core.execute([&] {
        b.core.delay(100);
        pending_at_100 = b.core.irq_pending(driver::hw_irq::invalidation_completion);
        b.core.delay(200);
        got = b.core.wait_for_irq(driver::hw_irq::invalidation_completion, 1000);
        returned_ns = b.core.now_ns();
    });
    EXPECT_FALSE(pending_at_100);
    EXPECT_TRUE(got);
    EXPECT_EQ(returned_ns, 300u);
}

INSTANTIATE_TEST_SUITE_P(Modes, CpuSync, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Lazy" : "Eager"; });

}  // namespace
}  // namespace iommusim
