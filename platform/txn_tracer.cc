#include "platform/txn_tracer.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>
#include <sstream>

#include <fstream>
#include <functional>
#include <sstream>

#include "tlm/iommu.h"

namespace iommusim {

namespace {
constexpr uint32_t no_pasid = 0xffffffffu;
}

txn_tracer::device_signals::device_signals(unsigned n)
    : valid(("dev" + std::to_string(n) + "_dma_valid").c_str())
    , write(("dev" + std::to_string(n) + "_dma_write").c_str())
    , rid(("dev" + std::to_string(n) + "_dma_rid").c_str())
    , pasid(("dev" + std::to_string(n) + "_dma_pasid").c_str())
    , iova(("dev" + std::to_string(n) + "_dma_iova").c_str())
    , fault(("dev" + std::to_string(n) + "_dma_fault").c_str())
    , hit(("dev" + std::to_string(n) + "_dma_hit").c_str()) {}

txn_tracer::txn_tracer(const sc_core::sc_module_name& name, const std::string& path, unsigned devices, iommu& mmu,
                       sc_core::sc_signal<bool>& irq_fault, sc_core::sc_signal<bool>& irq_inv)
    : sc_core::sc_module(name), m_path(path), m_mmu(mmu) {
    std::string base = path;
    if (base.size() > 4 && base.compare(base.size() - 4, 4, ".vcd") == 0)
        base.resize(base.size() - 4);
    m_path = base + ".vcd";
    m_file = sc_core::sc_create_vcd_trace_file(base.c_str());
    m_file->set_time_unit(1, sc_core::SC_NS);
    for (unsigned n = 0; n < devices; ++n) {
        m_devices.push_back(std::make_unique<device_signals>(n));
        m_active.push_back(false);
        device_signals& d = *m_devices.back();
        const std::string p = "dev" + std::to_string(n) + ".dma_";
        sc_core::sc_trace(m_file, d.valid, p + "valid");
        sc_core::sc_trace(m_file, d.write, p + "write");
        sc_core::sc_trace(m_file, d.rid, p + "rid");
        sc_core::sc_trace(m_file, d.pasid, p + "pasid");
        sc_core::sc_trace(m_file, d.iova, p + "iova");
        sc_core::sc_trace(m_file, d.fault, p + "fault");
        sc_core::sc_trace(m_file, d.hit, p + "hit");
    }
    sc_core::sc_trace(m_file, m_iotlb_hits, "iommu.iotlb_hits");
    sc_core::sc_trace(m_file, m_iotlb_misses, "iommu.iotlb_misses");
    sc_core::sc_trace(m_file, m_walks, "iommu.walks");
    sc_core::sc_trace(m_file, m_walk_accesses, "iommu.walk_accesses");
    sc_core::sc_trace(m_file, m_faults_recorded, "iommu.faults_recorded");
    invalidation_queue& q = mmu.queue();
    sc_core::sc_trace(m_file, q.iqh_signal, "qi.iqh");
    sc_core::sc_trace(m_file, q.iqt_signal, "qi.iqt");
    sc_core::sc_trace(m_file, q.desc_type_signal, "qi.desc_type");
    sc_core::sc_trace(m_file, q.waits_signal, "qi.waits");
    sc_core::sc_trace(m_file, irq_fault, "irq.fault");
    sc_core::sc_trace(m_file, irq_inv, "irq.inv");
    sc_core::sc_trace(m_file, m_cpu_busy, "cpu.busy");
}

txn_tracer::~txn_tracer() {
    close();
}

void txn_tracer::close(const std::string& rtl_fst) {
    if (!m_file)
        return;
    sc_core::sc_close_vcd_trace_file(m_file);
    m_file = nullptr;
    const std::string gtkw = m_path.substr(0, m_path.size() - 4) + ".gtkw";
    std::ofstream(gtkw) << gtkw_for(m_path, m_active, rtl_fst, sc_core::sc_time_stamp().to_seconds() * 1e9);
}

// GTKWave save-file flags (analyzer.h): hex 0x2, decimal 0x4, binary 0x8, right-justify 0x20,
// blank 0x200, file-translated 0x2000, group begin 0x800000 / end 0x1000000.
std::string txn_tracer::gtkw_for(const std::string& vcd_path, const std::vector<bool>& active,
                                 const std::string& rtl_fst, double end_ns) {
    std::ostringstream g;
    const char* bin = "@28\n";
    const char* hex = "@22\n";
    const char* dec = "@24\n";
    auto group = [&](const std::string& name, const std::function<void()>& body, bool open = true) {
        g << (open ? "@800200\n-" : "@c00200\n-") << name << "\n";  // 0x400000: closed
        body();
        g << (open ? "@1000200\n-" : "@1400200\n-") << name << "\n";
    };
    g << "[*] iommusim transaction-level view (written with the wave file)\n";
    if (!rtl_fst.empty())
        g << "[*] RTL IOTLB signals are merged in (scope dut); all of them: gtkwave " << rtl_fst
          << " waves/iotlb.gtkw\n";
    g << "[dumpfile] \"" << vcd_path << "\"\n[timestart] 0\n[size] 1600 900\n[signals_width] 260\n";
    // Zoom to the whole run. GTKWave's window spans about 5 * 2^-z time units at zoom z (measured
    // on its default 1600-pixel window); the merged file counts picoseconds, the platform's own
    // nanoseconds.
    const double units = end_ns * (rtl_fst.empty() ? 1.0 : 1000.0);
    if (units > 5) {
        g << "*" << std::fixed << std::setprecision(6) << -std::ceil(std::log2(units / 5.0)) << " 0";
        for (int i = 0; i < 26; ++i)
            g << " -1";
        g << "\n";
    }
    g << "[sst_expanded] 1\n[sst_vpaned_height] 220\n";
    // Devices that did DMA come first, open; idle ones last, closed.
    auto device_group = [&](unsigned n, bool open) {
        const std::string d = "SystemC.dev" + std::to_string(n) + ".dma_";
        group(
            "dev" + std::to_string(n) + " DMA",
            [&] {
                g << bin << d << "valid\n" << d << "write\n" << d << "hit\n";
                g << hex << d << "rid[31:0]\n" << d << "pasid[31:0]\n" << d << "iova[63:0]\n";
                g << "@2022\n^1 waves/fault_reason.txt\n" << d << "fault[31:0]\n";
            },
            open);
    };
    for (unsigned n = 0; n < active.size(); ++n)
        if (active[n])
            device_group(n, true);
    group("IOMMU", [&] {
        g << dec << "SystemC.iommu.iotlb_hits[63:0]\nSystemC.iommu.iotlb_misses[63:0]\nSystemC.iommu.walks[63:0]\n"
          << "SystemC.iommu.walk_accesses[63:0]\nSystemC.iommu.faults_recorded[63:0]\n";
    });
    group("invalidation queue", [&] {
        g << dec << "SystemC.qi.iqh[31:0]\nSystemC.qi.iqt[31:0]\n";
        g << "@2022\n^2 waves/desc_type.txt\nSystemC.qi.desc_type[31:0]\n";
        g << dec << "SystemC.qi.waits[63:0]\n";
    });
    group("interrupts and CPU", [&] { g << bin << "SystemC.irq.fault\nSystemC.irq.inv\nSystemC.cpu.busy\n"; });
    if (!rtl_fst.empty())  // merged into the VCD at the end of the run (platform_impl::merge_rtl_waves)
        group("RTL IOTLB (dut)", [&] {
            g << bin << "dut.clk_i\ndut.busy_o\ndut.lkp_req_valid_i\ndut.lkp_resp_valid_o\ndut.lkp_resp_hit_o\n"
              << "dut.fill_req_valid_i\ndut.fill_resp_evict_valid_o\ndut.inv_req_valid_i\ndut.inv_resp_valid_o\n";
            g << "@2022\n^3 waves/iotlb_inv_scope.txt\ndut.inv_req_scope_i[2:0]\n";
            g << hex << "dut.lkp_req_did_i[15:0]\ndut.lkp_req_vpn_i[44:0]\ndut.lkp_resp_pfn_o[39:0]\n";
        });
    for (unsigned n = 0; n < active.size(); ++n)
        if (!active[n])
            device_group(n, false);
    return g.str();
}

void txn_tracer::sample_iommu() {
    const translation_stats s = m_mmu.core().stats();
    m_iotlb_hits.write(s.iotlb_hits);
    m_iotlb_misses.write(s.iotlb_misses);
    m_walks.write(s.walks);
    m_walk_accesses.write(s.walk_accesses);
    m_faults_recorded.write(m_mmu.faults().statistics().recorded);
}

void txn_tracer::dma_begin(unsigned dev, uint16_t rid, bool has_pasid, uint32_t pasid, uint64_t iova, bool write) {
    device_signals& d = *m_devices.at(dev);
    m_active.at(dev) = true;
    d.valid.write(true);
    d.write.write(write);
    d.rid.write(rid);
    d.pasid.write(has_pasid ? pasid : no_pasid);
    d.iova.write(iova);
    d.fault.write(0);
    m_hits_before = m_mmu.core().stats().iotlb_hits;
}

void txn_tracer::dma_end(unsigned dev, hw::fault_reason fault) {
    device_signals& d = *m_devices.at(dev);
    d.valid.write(false);
    d.fault.write(static_cast<uint32_t>(fault));
    d.hit.write(m_mmu.core().stats().iotlb_hits > m_hits_before);
    sample_iommu();
}

}  // namespace iommusim
