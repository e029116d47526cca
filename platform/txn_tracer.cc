#include "platform/txn_tracer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <sstream>

#include "iommusim/hw/vtd_desc.h"

namespace iommusim {

namespace {
constexpr uint32_t no_pasid = 0xffffffffu;
constexpr uint64_t pte_edit_marker_ps = 1000;  // how long guest.pte_edit shows an edit
const char* const idle = "-";                  // cpu.ioctl and guest.pte_edit between events
}  // namespace

uint64_t txn_tracer::ps(sc_core::sc_time t) {
    return static_cast<uint64_t>(t.to_seconds() * 1e12 + 0.5);
}

txn_tracer::txn_tracer(const sc_core::sc_module_name& name, const std::string& path, const std::vector<uint16_t>& rids,
                       iommu& mmu, std::vector<std::unique_ptr<dma_device>>& devices,
                       sc_core::sc_signal<bool>& irq_fault, sc_core::sc_signal<bool>& irq_inv,
                       sc_core::sc_signal<bool>& irq_prq)
    : sc_core::sc_module(name)
    , m_path(path.size() > 4 && path.compare(path.size() - 4, 4, ".vcd") == 0 ? path : path + ".vcd")
    , m_mmu(mmu)
    , m_dma_devices(devices)
    , m_irq_fault_line(irq_fault)
    , m_irq_inv_line(irq_inv)
    , m_irq_prq_line(irq_prq)
    , m_vcd(m_path, "SystemC")
    , m_rids(rids) {
    for (unsigned n = 0; n < rids.size(); ++n) {
        const std::string d = "vfio" + std::to_string(n);
        device_signals s{};
        s.valid = m_vcd.add_wire(d, "dma_valid", 1);
        s.write = m_vcd.add_wire(d, "dma_write", 1);
        s.hit = m_vcd.add_wire(d, "dma_hit", 1);
        s.rid = m_vcd.add_wire(d, "dma_rid", 16);
        s.pasid = m_vcd.add_wire(d, "dma_pasid", 32);
        s.iova = m_vcd.add_wire(d, "dma_iova", 64);
        s.fault = m_vcd.add_wire(d, "dma_fault", 32);  // 32 bits: the filter files use 8 hex digits
        s.seq = m_vcd.add_wire(d, "dma_seq", 64);
        s.pr_pending = m_vcd.add_wire(d, "pr_pending", 1);
        s.pr_page = m_vcd.add_wire(d, "pr_page", 64);
        s.pr_response = m_vcd.add_string(d, "pr_response", idle);
        s.pr_retry = m_vcd.add_wire(d, "pr_retry", 1);
        s.pr_retry_ok = m_vcd.add_wire(d, "pr_retry_ok", 1);
        m_devices.push_back(s);
        m_active.push_back(false);
    }
    m_iotlb_hits = m_vcd.add_wire("iommu", "iotlb_hits", 64);
    m_iotlb_misses = m_vcd.add_wire("iommu", "iotlb_misses", 64);
    m_walks = m_vcd.add_wire("iommu", "walks", 64);
    m_walk_accesses = m_vcd.add_wire("iommu", "walk_accesses", 64);
    m_walk_addr = m_vcd.add_wire("iommu", "walk_addr", 64);
    m_walk_stage = m_vcd.add_wire("iommu", "walk_stage", 32);
    m_walk_level = m_vcd.add_wire("iommu", "walk_level", 8);
    m_faults_recorded = m_vcd.add_wire("iommu", "faults_recorded", 64);
    m_iqh = m_vcd.add_wire("qi", "iqh", 32);
    m_iqt = m_vcd.add_wire("qi", "iqt", 32);
    m_desc_type = m_vcd.add_wire("qi", "desc_type", 32);
    m_waits = m_vcd.add_wire("qi", "waits", 64);
    m_irq_fault = m_vcd.add_wire("irq", "fault", 1);
    m_irq_inv = m_vcd.add_wire("irq", "inv", 1);
    m_irq_prq = m_vcd.add_wire("irq", "prq", 1);
    m_prq_pqt = m_vcd.add_wire("prq", "pqt", 32);
    m_prq_requests = m_vcd.add_wire("prq", "requests", 64);
    m_cpu_busy = m_vcd.add_wire("cpu", "busy", 1);
    m_cpu_ioctl = m_vcd.add_string("cpu", "ioctl", idle);
    m_pte_edit = m_vcd.add_string("guest", "pte_edit", idle);

    // The interrupt lines are signals written at their own time; the queue engine, which runs
    // ahead of the kernel, reports each change with its time.
    SC_METHOD(sample_irqs);
    sensitive << irq_fault << irq_inv << irq_prq;
    dont_initialize();
    mmu.queue().set_wave_observer(this);

    mmu.set_observer(this);
    for (unsigned n = 0; n < devices.size(); ++n) {
        devices[n]->set_observer(this, n);
    }
}

txn_tracer::~txn_tracer() {
    close();
}

void txn_tracer::sample_irqs() {
    const uint64_t now = ps(sc_core::sc_time_stamp());
    m_vcd.set(now, m_irq_fault, m_irq_fault_line.read());
    m_vcd.set(now, m_irq_inv, m_irq_inv_line.read());
    m_vcd.set(now, m_irq_prq, m_irq_prq_line.read());
}

void txn_tracer::queue_state_changed(sc_core::sc_time at, const queue_wave_state& state) {
    const uint64_t t = ps(at);
    m_vcd.set(t, m_iqh, state.iqh);
    m_vcd.set(t, m_iqt, state.iqt);
    m_vcd.set(t, m_desc_type, state.desc_type);
    m_vcd.set(t, m_waits, state.waits);
}

void txn_tracer::job_started(const std::string& name) {
    const uint64_t now = ps(sc_core::sc_time_stamp());
    m_vcd.set(now, m_cpu_busy, 1);
    m_vcd.set(now, m_cpu_ioctl, name);
}

void txn_tracer::job_finished() {
    const uint64_t now = ps(sc_core::sc_time_stamp());
    m_vcd.set(now, m_cpu_busy, 0);
    m_vcd.set(now, m_cpu_ioctl, idle);
    m_vcd.set(now, m_faults_recorded, m_mmu.faults().statistics().recorded);
    flush();
}

void txn_tracer::guest_pte_edit(const std::string& what) {
    const uint64_t now = ps(sc_core::sc_time_stamp());
    m_vcd.set(now, m_pte_edit, what);
    m_vcd.set(now + pte_edit_marker_ps, m_pte_edit, idle);
}

void txn_tracer::flush() {
    m_vcd.flush_before(ps(sc_core::sc_time_stamp()));
}

void txn_tracer::translated(bool looked_up, sc_core::sc_time at, sc_core::sc_time done, uint16_t rid, bool hit,
                            bool walked, hw::fault_reason fault) {
    const uint64_t t = ps(looked_up ? at : done);
    if (looked_up) {
        m_vcd.set(t, hit ? m_iotlb_hits : m_iotlb_misses, hit ? ++m_hits : ++m_misses);
    }
    if (walked) {
        m_vcd.set(t, m_walks, ++m_walk_count);
    }
    for (unsigned n = 0; n < m_rids.size(); ++n) {
        device_signals& d = m_devices[n];
        if (m_rids[n] != rid || !d.in_flight) {
            continue;  // an ATS translation request, or a request no traced device made
        }
        d.all_hit = d.all_hit && hit && looked_up;
        d.looked_up = true;
        m_vcd.set(t, d.hit, d.all_hit ? 1 : 0);
        if (fault != hw::fault_reason::none) {
            m_vcd.set(ps(done), d.fault, static_cast<uint64_t>(fault));
        }
    }
}

void txn_tracer::walk_access(sc_core::sc_time at, uint64_t pa, walk_stage stage, unsigned level) {
    const uint64_t t = ps(at);
    m_vcd.set(t, m_walk_addr, pa);
    m_vcd.set(t, m_walk_stage, static_cast<uint64_t>(stage));
    m_vcd.set(t, m_walk_level, level);
    // The counter counts what translation_stats::walk_accesses counts: paging entries and A/D updates.
    if (stage == walk_stage::first_stage || stage == walk_stage::second_stage || stage == walk_stage::ad_update) {
        m_vcd.set(t, m_walk_accesses, ++m_accesses);
    }
}

void txn_tracer::page_request_queued(sc_core::sc_time at, uint64_t pqt) {
    const uint64_t t = ps(at);
    m_vcd.set(t, m_prq_pqt, pqt);
    m_vcd.set(t, m_prq_requests, ++m_page_requests);
}

void txn_tracer::page_request_sent(unsigned device, uint64_t page, sc_core::sc_time at) {
    if (device >= m_devices.size()) {
        return;
    }
    const uint64_t t = ps(at);
    m_active[device] = true;
    m_first_dma_ps = std::min(m_first_dma_ps, t);
    m_vcd.set(t, m_devices[device].pr_pending, 1);
    m_vcd.set(t, m_devices[device].pr_page, page);
}

void txn_tracer::page_response_received(unsigned device, uint8_t code, sc_core::sc_time at) {
    if (device >= m_devices.size()) {
        return;
    }
    const uint64_t t = ps(at);
    const char* name = code == hw::pgrp_resp_desc::success           ? "Success"
                       : code == hw::pgrp_resp_desc::invalid_request ? "Invalid_Request"
                       : code == hw::pgrp_resp_desc::failure         ? "Response_Failure"
                                                                     : "reserved_code";
    m_vcd.set(t, m_devices[device].pr_pending, 0);
    m_vcd.set(t, m_devices[device].pr_response, name);
    m_vcd.set(t + pte_edit_marker_ps, m_devices[device].pr_response, idle);
}

void txn_tracer::translation_retried(unsigned device, uint64_t, bool granted, sc_core::sc_time at,
                                     sc_core::sc_time done) {
    if (device >= m_devices.size()) {
        return;
    }
    const uint64_t t = ps(at);
    // A retry is at least 1 ns wide, so that one answered without delay still shows.
    const uint64_t end = std::max(ps(done), t + pte_edit_marker_ps);
    m_vcd.set(t, m_devices[device].pr_retry, 1);
    m_vcd.set(t, m_devices[device].pr_retry_ok, granted ? 1 : 0);
    m_vcd.set(end, m_devices[device].pr_retry, 0);
    m_vcd.set(end, m_devices[device].pr_retry_ok, 0);
}

void txn_tracer::dma_started(unsigned device, uint16_t rid, bool has_pasid, uint32_t pasid, uint64_t iova,
                             bool is_write, sc_core::sc_time at) {
    if (device >= m_devices.size()) {
        return;
    }
    device_signals& d = m_devices[device];
    const uint64_t t = ps(at);
    m_active[device] = true;
    m_first_dma_ps = std::min(m_first_dma_ps, t);
    d.in_flight = true;
    d.all_hit = true;
    d.looked_up = false;
    m_vcd.set(t, d.valid, 1);
    m_vcd.set(t, d.seq, ++d.count);
    m_vcd.set(t, d.write, is_write ? 1 : 0);
    m_vcd.set(t, d.rid, rid);
    m_vcd.set(t, d.pasid, has_pasid ? pasid : no_pasid);
    m_vcd.set(t, d.iova, iova);
    m_vcd.set(t, d.hit, 0);
    m_vcd.set(t, d.fault, 0);
}

void txn_tracer::dma_finished(unsigned device, hw::fault_reason, sc_core::sc_time at) {
    if (device >= m_devices.size()) {
        return;
    }
    device_signals& d = m_devices[device];
    const uint64_t t = ps(at);
    d.in_flight = false;
    // The result signals are valid only while dma_valid is high.
    m_vcd.set(t, d.valid, 0);
    m_vcd.set(t, d.hit, 0);
    m_vcd.set(t, d.fault, 0);
    m_vcd.set(t, m_faults_recorded, m_mmu.faults().statistics().recorded);
}

std::string txn_tracer::close(const std::string& rtl_fst, const std::string& view_dump) {
    if (!m_vcd.is_open()) {
        return "";
    }
    m_mmu.set_observer(nullptr);
    m_mmu.queue().set_wave_observer(nullptr);
    for (auto& d : m_dma_devices) {
        d->set_observer(nullptr, 0);
    }
    const uint64_t end = ps(sc_core::sc_time_stamp());
    std::string error = m_vcd.close(end);
    const std::string dump = view_dump.empty() ? m_path : view_dump;
    const std::string gtkw =
        (std::filesystem::path(dump).parent_path() / std::filesystem::path(dump).stem()).string() + ".gtkw";
    const uint64_t begin = m_first_dma_ps == UINT64_MAX ? 0 : m_first_dma_ps;
    const std::string view = gtkw_for(dump, m_active, rtl_fst, begin, end, filter_dir());
    // Written beside the wave file through a temporary name, so no half-written view is left.
    {
        std::ofstream out(gtkw + ".part");
        out << view;
        if (!out && error.empty()) {
            error = "cannot write " + gtkw;
        }
    }
    std::error_code ec;
    std::filesystem::rename(gtkw + ".part", gtkw, ec);
    if (ec && error.empty()) {
        error = "cannot write " + gtkw + ": " + ec.message();
    }
    return error;
}

std::string txn_tracer::filter_dir() {
    if (const char* dir = std::getenv("IOMMUSIM_WAVES_FILTERS"); dir && *dir) {
        return std::filesystem::absolute(dir).string();
    }
    for (const char* dir : {IOMMUSIM_SOURCE_WAVES_DIR, IOMMUSIM_INSTALLED_WAVES_DIR}) {
        if (std::filesystem::exists(std::filesystem::path(dir) / "fault_reason.txt")) {
            return dir;
        }
    }
    return IOMMUSIM_INSTALLED_WAVES_DIR;
}

// GTKWave save-file flags (analyzer.h): hex 0x2, decimal 0x4, binary 0x8, right-justify 0x20,
// blank 0x200, file-translated 0x2000, group begin 0x800000 / end 0x1000000.
std::string txn_tracer::gtkw_for(const std::string& vcd_path, const std::vector<bool>& active,
                                 const std::string& rtl_fst, uint64_t begin_ps, uint64_t end_ps,
                                 const std::string& filter_dir) {
    std::ostringstream g;
    const char* bin = "@28\n";
    const char* hex = "@22\n";
    const char* dec = "@24\n";
    const char* text = "@22\n";  // string variables: GTKWave shows their text whatever the base
    auto filter = [&](unsigned n, const char* file) {
        g << "@2022\n^" << n << " " << filter_dir << "/" << file << "\n";
    };
    auto group = [&](const std::string& name, const std::function<void()>& body, bool open = true) {
        g << (open ? "@800200\n-" : "@c00200\n-") << name << "\n";  // 0x400000: closed
        body();
        g << (open ? "@1000200\n-" : "@1400200\n-") << name << "\n";
    };
    g << "[*] iommusim transaction-level view (written with the wave file)\n";
    if (!rtl_fst.empty()) {
        g << "[*] RTL IOTLB signals are merged in (scope dut); all of them: gtkwave " << rtl_fst << " " << filter_dir
          << "/iotlb.gtkw\n";
    }
    g << "[dumpfile] \"" << vcd_path << "\"\n[size] 1600 900\n[signals_width] 260\n";
    // Open on the activity: from a little before the first DMA to the end. GTKWave's window spans
    // about 5 * 2^-z time units at zoom z (its default 1600-pixel window); the file counts ps.
    const uint64_t span = end_ps > begin_ps ? end_ps - begin_ps : 0;
    const uint64_t start = begin_ps > span / 20 ? begin_ps - span / 20 : 0;
    g << "[timestart] " << start << "\n";
    const double units = static_cast<double>(end_ps - start);
    if (units > 5) {
        g << "*" << std::fixed << std::setprecision(6) << -std::ceil(std::log2(units / 5.0)) << " " << start;
        for (int i = 0; i < 26; ++i) {
            g << " -1";
        }
        g << "\n";
    }
    g << "[sst_expanded] 1\n[sst_vpaned_height] 220\n";
    // Devices that did DMA come first, open; idle ones last, closed.
    auto device_group = [&](unsigned n, bool open) {
        const std::string name = "vfio" + std::to_string(n);
        const std::string d = "SystemC." + name + ".dma_";
        group(
            name + " DMA",
            [&] {
                g << bin << d << "valid\n" << d << "write\n" << d << "hit\n";
                g << hex << d << "rid[15:0]\n" << d << "pasid[31:0]\n" << d << "iova[63:0]\n";
                g << dec << d << "seq[63:0]\n";
                filter(1, "fault_reason.txt");
                g << d << "fault[31:0]\n";
                const std::string pr = "SystemC." + name + ".pr_";
                g << bin << pr << "pending\n";
                g << hex << pr << "page[63:0]\n";
                g << text << pr << "response\n";
                g << bin << pr << "retry\n" << pr << "retry_ok\n";
            },
            open);
    };
    for (unsigned n = 0; n < active.size(); ++n) {
        if (active[n]) {
            device_group(n, true);
        }
    }
    group("IOMMU", [&] {
        g << dec << "SystemC.iommu.iotlb_hits[63:0]\nSystemC.iommu.iotlb_misses[63:0]\nSystemC.iommu.walks[63:0]\n"
          << "SystemC.iommu.walk_accesses[63:0]\n";
        g << hex << "SystemC.iommu.walk_addr[63:0]\n";
        filter(4, "walk_stage.txt");
        g << "SystemC.iommu.walk_stage[31:0]\n";
        g << dec << "SystemC.iommu.walk_level[7:0]\nSystemC.iommu.faults_recorded[63:0]\n";
    });
    group("invalidation queue", [&] {
        g << dec << "SystemC.qi.iqh[31:0]\nSystemC.qi.iqt[31:0]\n";
        filter(2, "desc_type.txt");
        g << "SystemC.qi.desc_type[31:0]\n";
        g << dec << "SystemC.qi.waits[63:0]\n";
    });
    group("page request queue", [&] { g << dec << "SystemC.prq.pqt[31:0]\nSystemC.prq.requests[63:0]\n"; });
    group("interrupts, CPU and guest", [&] {
        g << bin << "SystemC.irq.fault\nSystemC.irq.inv\nSystemC.irq.prq\nSystemC.cpu.busy\n";
        g << text << "SystemC.cpu.ioctl\nSystemC.guest.pte_edit\n";
    });
    if (!rtl_fst.empty()) {  // merged into the VCD at the end of the run (platform_impl::merge_rtl_waves)
        group("RTL IOTLB (dut)", [&] {
            g << bin << "dut.clk_i\ndut.busy_o\ndut.lkp_req_valid_i\ndut.lkp_resp_valid_o\ndut.lkp_resp_hit_o\n"
              << "dut.fill_req_valid_i\ndut.fill_resp_evict_valid_o\ndut.inv_req_valid_i\ndut.inv_resp_valid_o\n";
            filter(3, "iotlb_inv_scope.txt");
            g << "dut.inv_req_scope_i[2:0]\n";
            g << hex << "dut.lkp_req_did_i[15:0]\ndut.lkp_req_vpn_i[44:0]\ndut.lkp_resp_pfn_o[39:0]\n";
        });
    }
    for (unsigned n = 0; n < active.size(); ++n) {
        if (!active[n]) {
            device_group(n, false);
        }
    }
    return g.str();
}

}  // namespace iommusim
