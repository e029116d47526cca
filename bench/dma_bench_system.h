// The device -> IOMMU -> memory system the TLM DMA benchmarks share: 64-byte reads from a device
// initiator with a tlm_quantumkeeper over a 64 KiB window of 4 KiB second-stage pages that stays
// in the IOTLB. SystemC elaborates once per process, so a benchmark program builds every system
// it needs before its first sc_start; each benchmark runs its loop inside a device's SC_THREAD.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include <benchmark/benchmark.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "iommusim/hw/vtd_regs.h"
#include "tlm/dma_extension.h"
#include "tlm/iommu.h"
#include "tlm/memory.h"
#include "tlm/table_builder_util.h"

namespace iommusim::bench {

constexpr uint16_t k_rid = 0x0100;
constexpr uint64_t k_iova = 0x40'0000;
constexpr uint64_t k_hpa = 0x8000'0000;
constexpr unsigned k_pages = 16;
constexpr unsigned k_len = 64;

// Address of access i: strided over the window so that every page is used.
inline uint64_t offset_of(uint64_t i) {
    return (i * 7 * k_len) % (uint64_t{k_pages} * 4096);
}

inline memory_config memory_for(const iommu_config& c) {
    memory_config m;
    m.read_ns = m.write_ns = c.memory_latency_ns;
    return m;
}

class device : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<device> socket;
    std::function<void(device&)> job;
    sc_core::sc_event start;
    tlm_utils::tlm_quantumkeeper qk;
    dma_extension ext;

    SC_HAS_PROCESS(device);
    explicit device(const sc_core::sc_module_name& n) : sc_core::sc_module(n), socket("socket") {
        socket.register_invalidate_direct_mem_ptr(this, &device::invalidate);
        ext.requester_id = k_rid;
        SC_THREAD(run);
    }

    // One timed read through b_transport.
    bool read(uint64_t addr, uint8_t* data) {
        tlm::tlm_generic_payload p;
        p.set_command(tlm::TLM_READ_COMMAND);
        p.set_address(addr);
        p.set_data_ptr(data);
        p.set_data_length(k_len);
        p.set_streaming_width(k_len);
        p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        p.set_extension(&ext);
        sc_core::sc_time d = qk.get_local_time();
        socket->b_transport(p, d);
        qk.set(d);
        if (qk.need_sync()) {
            qk.sync();
        }
        p.clear_extension(&ext);
        return p.is_response_ok();
    }

    // One read through a cached DMI pointer (requested on a miss); b_transport when denied.
    bool read_dmi(uint64_t addr, uint8_t* data) {
        for (const tlm::tlm_dmi& d : m_dmi) {
            if (addr >= d.get_start_address() && addr + k_len - 1 <= d.get_end_address()) {
                std::memcpy(data, d.get_dmi_ptr() + (addr - d.get_start_address()), k_len);
                qk.inc(d.get_read_latency());
                if (qk.need_sync()) {
                    qk.sync();
                }
                return true;
            }
        }
        tlm::tlm_generic_payload p;
        p.set_command(tlm::TLM_READ_COMMAND);
        p.set_address(addr);
        p.set_extension(&ext);
        tlm::tlm_dmi d;
        const bool ok = socket->get_direct_mem_ptr(p, d);
        p.clear_extension(&ext);
        if (ok && d.is_read_allowed()) {
            m_dmi.push_back(d);
            return read_dmi(addr, data);
        }
        return read(addr, data);
    }

  private:
    // A job handed over before the first sc_start is already there when the thread first runs:
    // SystemC triggers notifications made during elaboration before any process waits for them.
    void run() {
        for (;;) {
            while (!job) {
                sc_core::wait(start);
            }
            job(*this);
            job = nullptr;
        }
    }
    void invalidate(sc_dt::uint64 s, sc_dt::uint64 e) {
        std::erase_if(m_dmi,
                      [&](const tlm::tlm_dmi& d) { return d.get_start_address() <= e && s <= d.get_end_address(); });
    }
    std::vector<tlm::tlm_dmi> m_dmi;
};

// Runs job in d's thread until it returns.
inline void run_on(device& d, std::function<void(device&)> job) {
    d.job = std::move(job);
    d.start.notify(sc_core::SC_ZERO_TIME);
    sc_core::sc_start();
}

// One device -> IOMMU -> memory system around `tlb`, with a second-stage domain for k_rid over the
// window, set up through the register file (GCMD protocol: SRTP, then TE). With `requesters` > 1
// the requester ids k_rid + r (r < requesters) each get their own context and PASID entry and their
// own domain (DID r + 1) over one shared second-stage table of `pages` pages: the device thread can
// then speak for any of them (dma_extension.requester_id), as interleaved devices would.
struct dma_system {
    iommu_config cfg;
    std::unique_ptr<iotlb_if> tlb;
    memory mem;
    iommu mmu;
    device dev;
    device cpu;  // on the register socket (unused: setup goes through the register file)
    sc_core::sc_signal<bool> irq_fault;
    sc_core::sc_signal<bool> irq_inv;
    test::table_builder tb{mem.store()};

    dma_system(const std::string& prefix, std::unique_ptr<iotlb_if> t, unsigned requesters = 1,
               unsigned pages = k_pages, const iommu_config& config = {})
        : cfg(config)
        , tlb(std::move(t))
        , mem((prefix + "_mem").c_str(), memory_for(cfg))
        , mmu((prefix + "_mmu").c_str(), cfg, *tlb)
        , dev((prefix + "_dev").c_str())
        , cpu((prefix + "_cpu").c_str())
        , irq_fault((prefix + "_irq_fault").c_str())
        , irq_inv((prefix + "_irq_inv").c_str()) {
        dev.socket.bind(mmu.target_socket);
        mmu.initiator_socket.bind(mem.target_socket);
        cpu.socket.bind(mmu.mmio_socket);
        mmu.irq_fault.bind(irq_fault);
        mmu.irq_inv.bind(irq_inv);
        tlm_utils::tlm_quantumkeeper::set_global_quantum(
            sc_core::sc_time(static_cast<double>(cfg.quantum_ns), sc_core::SC_NS));
        const uint64_t ss = tb.new_ss();
        for (unsigned i = 0; i < pages; ++i) {
            tb.map_ss(ss, 4, k_iova + i * 4096ull, k_hpa + i * 4096ull);
        }
        for (unsigned r = 0; r < requesters; ++r) {
            const auto rid = static_cast<uint16_t>(k_rid + r);
            tb.set_context(rid);
            test::pasid_opts o;
            o.did = static_cast<uint16_t>(r + 1);
            o.ssptptr = ss;
            tb.set_pasid(rid, 0, o);
        }
        register_file& r = mmu.registers();
        r.write(hw::reg::RTADDR_OFFSET, 8, tb.rtaddr_value());
        r.write(hw::reg::GCMD_OFFSET, 4, hw::gcmd::srtp::mask);
        r.write(hw::reg::GCMD_OFFSET, 4, hw::gcmd::te::mask);
    }

    // Touches every page of the window once, so the IOTLB holds them all.
    void warm() {
        run_on(dev, [](device& d) {
            std::vector<uint8_t> buf(k_len);
            for (unsigned p = 0; p < k_pages; ++p) {
                d.read(k_iova + p * 4096ull, buf.data());
            }
        });
    }

    double iotlb_hit_rate() {
        const translation_stats ts = mmu.translation().stats();
        return static_cast<double>(ts.iotlb_hits) /
               static_cast<double>(std::max<uint64_t>(1, ts.iotlb_hits + ts.iotlb_misses));
    }
};

// The benchmark loop: 64-byte reads at base + offset_of(i), through b_transport or DMI.
inline void traffic(benchmark::State& state, device& d, uint64_t base, bool dmi) {
    run_on(d, [&](device& dev) {
        std::vector<uint8_t> buf(k_len);
        uint64_t i = 0;
        bool ok = true;
        for (auto _ : state) {
            ok &= dmi ? dev.read_dmi(base + offset_of(i), buf.data()) : dev.read(base + offset_of(i), buf.data());
            benchmark::DoNotOptimize(buf.data());
            ++i;
        }
        if (!ok) {
            state.SkipWithError("a DMA failed");
        }
    });
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * k_len);
}

}  // namespace iommusim::bench
