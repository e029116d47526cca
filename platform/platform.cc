#include "platform/platform.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <systemc>
#include <tlm>
#include <vector>

#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_regs.h"
#include "platform/output_file.h"
#include "platform/platform_impl.h"
#include "platform/rtl_iotlb_view.h"
#include "platform/stop_signal.h"
#include "platform/vcd_merge.h"
#include "rtl/iotlb_factory.h"
#include "util/klog.h"

namespace iommusim {

// ---- platform_top ---------------------------------------------------------------------------

namespace {

memory_config memory_config_from(const platform_config& cfg) {
    memory_config m;
    m.read_ns = m.write_ns = cfg.iommu.memory_latency_ns;
    m.addr_bits = cfg.iommu.phys_addr_bits;
    return m;
}

}  // namespace

platform_top::platform_top(const sc_core::sc_module_name& name, const platform_config& cfg, iotlb_if& tlb,
                           const std::vector<own_device*>& own)
    : sc_core::sc_module(name)
    , mem("memory", memory_config_from(cfg))
    , mem_bus("mem_bus")
    , mmu("iommu", cfg.iommu, tlb)
    , pcie("pcie")
    , cpu("cpu")
    , irq_fault("irq_fault")
    , irq_inv("irq_inv")
    , irq_prq("irq_prq") {
    cpu.mmio_socket.bind(mmu.mmio_socket);
    cpu.mem_socket.bind(mem_bus.target_socket);
    mmu.initiator_socket.bind(mem_bus.target_socket);
    mem_bus.initiator_socket.bind(mem.target_socket);
    pcie.initiator_socket.bind(mmu.target_socket);
    mmu.irq_fault(irq_fault);
    mmu.irq_inv(irq_inv);
    cpu.irq_fault(irq_fault);
    cpu.irq_inv(irq_inv);
    mmu.irq_prq(irq_prq);
    cpu.irq_prq(irq_prq);
    // DMI straight to memory would bypass the stale-translation checker; the IOMMU refuses it then.
    const bool use_dmi = !cfg.iommu.stale_check;
    for (unsigned n = 0; n < cfg.devices.size(); ++n) {
        devices.push_back(std::make_unique<dma_device>(("vfio" + std::to_string(n)).c_str(), cfg.devices[n], use_dmi));
        devices.back()->socket.bind(pcie.target_socket);
        if (ats_device_tlb* atc = devices.back()->atc()) {
            mmu.queue().register_device_tlb(cfg.devices[n].rid, *atc);
            atc->set_stale_check(cfg.iommu.stale_check);
            atc->set_stale_report_limit(cfg.iommu.stale_report_limit);
        }
    }
    // The user's devices, upstream of the IOMMU like the built-in ones.
    for (own_device* d : own) {
        d->socket.bind(pcie.target_socket);
        if (device_tlb_port* port = d->devtlb_port()) {
            mmu.queue().register_device_tlb(d->requester_id(), *port);
            d->device_tlb()->set_stale_check(cfg.iommu.stale_check);
            d->device_tlb()->set_stale_report_limit(cfg.iommu.stale_report_limit);
        }
        own_devices.push_back(d);
    }
}

// ---- platform_impl --------------------------------------------------------------------------

platform_impl::platform_impl(const platform_config& cfg, const std::vector<own_device*>& own)
    : m_cfg(cfg), m_next_user_pa(cfg.user_memory_base) {
    // The log output first, so that the driver's probe is logged there too.
    klog::level log_level = klog::level::debug;
    klog::parse_level(cfg.log_level, log_level);  // validate() refused unknown names
    if (std::string err = klog::set_output(cfg.log_file, log_level); !err.empty()) {
        throw std::runtime_error(err);
    }
    tlm::tlm_global_quantum::instance().set(
        sc_core::sc_time(static_cast<double>(cfg.iommu.quantum_ns), sc_core::SC_NS));
    // RTL waves go next to the transaction-level file: <dir>/<stem>_iotlb.fst.
    rtl_waves_options waves;
    if (!cfg.waves.empty()) {
        // configure() checked the path; it may have gone since. SystemC opens the file only at the
        // first sc_start and cannot unwind from a file that never opened, so check it again first.
        if (std::string err = prepare_output_file(cfg.waves); !err.empty()) {
            throw std::runtime_error("waves: " + err);
        }
        const std::filesystem::path p(cfg.waves);
        waves.enabled = true;
        waves.dir = p.has_parent_path() ? p.parent_path().string() : ".";
        waves.name = p.stem().string() + "_iotlb";
    }
    waves.clock_period_ps = cfg.iommu.iotlb_cycle_ps;  // RTL cycles and annotated delay agree
    // The RTL clock follows the IOMMU's own time, so a lookup appears at its DMA's time.
    waves.now_ps = [this] {
        const sc_core::sc_time t = m_top ? m_top->mmu.operation_time() : sc_core::sc_time_stamp();
        return static_cast<uint64_t>(t.to_seconds() * 1e12 + 0.5);
    };
    lockstep_options lockstep;
    lockstep.replacement = *parse_iotlb_replacement(cfg.iotlb_replacement);
    m_iotlb = make_iotlb(*parse_iotlb_spec(cfg.iotlb), iotlb_geometry{cfg.iommu.iotlb_sets, cfg.iommu.iotlb_ways},
                         waves, lockstep);
    m_top = std::make_unique<platform_top>("platform", cfg, *m_iotlb, own);
    if (!cfg.waves.empty()) {
        std::vector<uint16_t> rids;
        for (const dma_device_config& d : cfg.devices) {
            rids.push_back(d.rid);
        }
        m_tracer = std::make_unique<txn_tracer>("waves", cfg.waves, rids, m_top->mmu, m_top->devices, m_top->irq_fault,
                                                m_top->irq_inv, m_top->irq_prq);
    }
    m_top->cpu.set_user_memory_pinner(this);
    m_top->cpu.set_lazy_sync(cfg.cpu_lazy_sync);

    m_pages = std::make_unique<driver::page_allocator>(m_top->cpu, cfg.driver_memory_base, cfg.driver_memory_size);
    driver::vtd_iommu_config vtd_cfg;
    vtd_cfg.qi.use_interrupt = cfg.driver_completion_interrupt;
    m_vtd = std::make_unique<driver::vtd_iommu>(m_top->cpu, *m_pages, vtd_cfg);
    std::string error;
    int rc = 0;
    run([&] { rc = m_vtd->probe(&error); });
    if (rc != 0) {
        throw std::runtime_error("VT-d driver probe failed: " + error);
    }
    m_ops = std::make_unique<driver::vtd_ops>(*m_vtd);
    m_ops->set_device_lookup([this](uint16_t rid) { return find_device(rid); });

    for (unsigned n = 0; n < cfg.devices.size(); ++n) {
        auto d = std::make_unique<platform_device>();
        d->rid = cfg.devices[n].rid;
        d->ats = cfg.devices[n].ats;
        d->pri = cfg.devices[n].pri;
        d->pasid = cfg.devices[n].pasid && m_vtd->pasid_supported();
        // Linux: dev->iommu->max_pasids, the unit's 2^(ECAP.PSS + 1) for a PASID-capable device.
        d->max_pasid_log2 = d->pasid ? static_cast<uint8_t>(m_vtd->pasid_width()) : 0;
        d->ops = m_ops.get();
        d->index = n;
        d->hw = m_top->devices[n].get();
        m_devices.push_back(std::move(d));
    }
    for (own_device* dev : own) {
        auto d = std::make_unique<platform_device>();
        d->rid = dev->config().rid;
        d->ats = dev->config().ats;
        d->pri = dev->config().pri;
        d->pasid = dev->config().pasid && m_vtd->pasid_supported();
        d->max_pasid_log2 = d->pasid ? static_cast<uint8_t>(m_vtd->pasid_width()) : 0;
        d->ops = m_ops.get();
        d->index = static_cast<unsigned>(m_devices.size());
        d->own = dev;
        m_devices.push_back(std::move(d));
    }
    register_statistics();
}

platform_impl::~platform_impl() {
    finish();
}

driver::iommu_ops& platform_impl::ops() {
    return *m_ops;
}

void platform_impl::run(const std::function<void()>& fn) {
    const bool named = m_tracer && m_job_name;
    if (named) {
        m_tracer->job_started(m_job_name);
    }
    try {
        m_top->cpu.execute(fn);
    } catch (...) {
        if (named) {
            m_tracer->job_finished();
        }
        throw;
    }
    if (named) {
        m_tracer->job_finished();
    } else if (m_tracer) {
        m_tracer->flush();
    }
    note_cpu_job_done();
}

bool platform_impl::pin(void* host, std::size_t len, uint64_t& pa) {
    if (!host || len == 0 || reinterpret_cast<uintptr_t>(host) % 4096 || len % 4096) {
        return false;
    }
    // Buffers start 2 MiB aligned, those of 1 GiB or more 1 GiB aligned, as hugetlbfs backing would
    // give them: the driver then maps them with large second-stage pages.
    constexpr uint64_t align_2m = uint64_t{1} << 21, align_1g = uint64_t{1} << 30;
    const uint64_t align = len >= align_1g ? align_1g : align_2m;
    const uint64_t at = (m_next_user_pa + align - 1) & ~(align - 1);
    if (!m_top->mem.adopt(at, host, len)) {
        return false;
    }
    m_pinned[at] = len;
    m_next_user_pa = at + ((len + align_2m - 1) & ~(align_2m - 1));
    pa = at;
    return true;
}

void platform_impl::unpin(uint64_t pa) {
    auto it = m_pinned.find(pa);
    if (it == m_pinned.end()) {
        return;
    }
    m_top->mem.release(pa, it->second);
    m_pinned.erase(it);
}

void platform_impl::sample_timeline() {
    m_timeline->sample(static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9));
}

void platform_impl::finish() {
    if (m_finished) {
        return;
    }
    m_finished = true;
    if (!m_tracer) {
        return;
    }
    std::string fst;  // where the RTL IOTLB's waves went (see the constructor)
    if (m_cfg.iotlb != "cpp") {
        const std::filesystem::path p(m_cfg.waves);
        fst =
            ((p.has_parent_path() ? p.parent_path() : std::filesystem::path(".")) / (p.stem().string() + "_iotlb.fst"))
                .string();
    }
    // A wave path ending in .fst: the VCD is written beside it and converted at the end.
    const bool want_fst = m_cfg.waves.size() > 4 && m_cfg.waves.compare(m_cfg.waves.size() - 4, 4, ".fst") == 0;
    if (const std::string error = m_tracer->close(fst, want_fst ? m_cfg.waves : ""); !error.empty()) {
        SC_REPORT_WARNING("iommusim/platform", ("waves: " + error).c_str());
    }
    m_iotlb->close_waves();
    if (!fst.empty()) {
        write_rtl_view(fst);
        merge_rtl_waves(fst);
    }
    if (want_fst) {
        convert_waves_to_fst(m_tracer->path(), m_cfg.waves);
    }
}

// The RTL IOTLB's own view beside its FST (<stem>_iotlb.gtkw), for this run's geometry.
void platform_impl::write_rtl_view(const std::string& fst) {
    const std::string view = fst.substr(0, fst.size() - 4) + ".gtkw";
    const uint64_t end = static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e12 + 0.5);
    {
        std::ofstream out(view + ".part");
        out << rtl_iotlb_view(fst, iotlb_geometry{m_cfg.iommu.iotlb_sets, m_cfg.iommu.iotlb_ways},
                              m_tracer->first_dma_ps(), end, txn_tracer::filter_dir());
    }
    std::error_code ec;
    std::filesystem::rename(view + ".part", view, ec);
    if (ec) {
        SC_REPORT_WARNING("iommusim/platform", ("cannot write " + view + ": " + ec.message()).c_str());
    }
}

// GTKWave's vcd2fst (Debian package gtkwave) writes the FST; the VCD is removed once it did. The
// FST is written under a temporary name, so a failed conversion leaves no partial file.
void platform_impl::convert_waves_to_fst(const std::string& vcd, const std::string& fst) {
    const std::string part = fst + ".part.fst";
    const std::string cmd = "vcd2fst -v '" + vcd + "' -f '" + part + "' >/dev/null 2>&1";
    std::error_code ec;
    if (std::system(cmd.c_str()) == 0) {
        std::filesystem::rename(part, fst, ec);
        if (!ec) {
            std::filesystem::remove(vcd, ec);
            return;
        }
    }
    std::filesystem::remove(part, ec);
    SC_REPORT_WARNING(
        "iommusim/platform",
        ("vcd2fst failed or is not installed (Debian package gtkwave); the waves stay in " + vcd).c_str());
}

// Puts the RTL IOTLB's signals into the transaction-level VCD so one GTKWave view shows both (the
// FST stays beside it). Needs fst2vcd (Debian package gtkwave); without it the files stay apart.
void platform_impl::merge_rtl_waves(const std::string& fst) {
    const std::string vcd = m_tracer->path();
    const std::string rtl_vcd = vcd + ".rtl.tmp";
    const std::string merged = vcd + ".merged.tmp";
    const std::string cmd = "fst2vcd -f '" + fst + "' -o '" + rtl_vcd + "' >/dev/null 2>&1";
    std::string error;
    if (std::system(cmd.c_str()) != 0) {
        error = "fst2vcd failed or is not installed (Debian package gtkwave)";
    } else {
        error = merge_vcd(vcd, rtl_vcd, merged);
    }
    std::error_code ec;
    if (error.empty()) {
        std::filesystem::rename(merged, vcd, ec);
    }
    std::filesystem::remove(rtl_vcd, ec);
    std::filesystem::remove(merged, ec);
    if (!error.empty()) {
        SC_REPORT_WARNING("iommusim/platform", ("RTL waves stay in " + fst + ": " + error).c_str());
    }
}

// ---- platform -------------------------------------------------------------------------------

namespace {

std::unique_ptr<platform>& the_platform() {
    static std::unique_ptr<platform> p;
    return p;
}

platform_config& pending_config() {
    static platform_config c;
    return c;
}

std::vector<own_device*>& attached_devices() {
    static std::vector<own_device*> d;
    return d;
}

// "" when no attached own device shares its requester id with a device of `cfg`, or with `adding`
// (being attached); else a message naming both.
std::string rid_conflict(const platform_config& cfg, const own_device* adding) {
    auto hex = [](uint16_t rid) {
        char text[8];
        std::snprintf(text, sizeof text, "0x%04x", rid);
        return std::string(text);
    };
    for (const own_device* d : attached_devices()) {
        for (std::size_t n = 0; n < cfg.devices.size(); ++n) {
            if (cfg.devices[n].rid == d->requester_id()) {
                return "requester id " + hex(d->requester_id()) + " of own device " + d->name() +
                       " is also configured device " + std::to_string(n) + "'s";
            }
        }
        if (adding && adding != d && adding->requester_id() == d->requester_id()) {
            return "requester id " + hex(d->requester_id()) + " of own device " + adding->name() +
                   " is also own device " + d->name() + "'s";
        }
    }
    return "";
}

}  // namespace

platform& platform::instance() {
    auto& p = the_platform();
    if (!p) {
        p.reset(new platform(pending_config()));
    }
    return *p;
}

std::size_t platform::attached_device_count() {
    return attached_devices().size();
}

bool platform::attach(own_device& device, std::string* error) {
    auto refuse = [&](const std::string& why) {
        if (error) {
            *error = why;
        }
        return false;
    };
    if (the_platform()) {
        return refuse("the platform already exists (attach devices before its first use)");
    }
    auto& attached = attached_devices();
    if (std::find(attached.begin(), attached.end(), &device) != attached.end()) {
        return refuse(std::string("own device ") + device.name() + " is attached already");
    }
    if (std::string err = device.config().validate(); !err.empty()) {
        return refuse(std::string("own device ") + device.name() + ": " + err);
    }
    if (pending_config().devices.size() + attached.size() + 1 > platform_config::max_devices) {
        return refuse("the platform has " + std::to_string(platform_config::max_devices) + " devices already");
    }
    attached.push_back(&device);
    if (std::string err = rid_conflict(pending_config(), &device); !err.empty()) {
        attached.pop_back();
        return refuse(err);
    }
    return true;
}

bool platform::exists() {
    return the_platform() != nullptr;
}

bool platform::configure(const platform_config& config, std::string* error) {
    if (the_platform()) {
        if (error) {
            *error = "the platform already exists (configure before the first use)";
        }
        return false;
    }
    if (std::string err = config.validate(); !err.empty()) {
        if (error) {
            *error = err;
        }
        return false;
    }
    if (std::string err = rid_conflict(config, nullptr); !err.empty()) {
        if (error) {
            *error = err;
        }
        return false;
    }
    if (config.devices.size() + attached_devices().size() > platform_config::max_devices) {
        if (error) {
            *error = std::to_string(config.devices.size()) + " devices and " +
                     std::to_string(attached_devices().size()) + " attached own device(s) are more than " +
                     std::to_string(platform_config::max_devices);
        }
        return false;
    }
    platform_config accepted = config;
    if (!config.waves.empty()) {
        if (std::string err = resolve_waves_file(config.waves, "iommusim", accepted.waves); !err.empty()) {
            if (error) {
                *error = "waves: " + err;
            }
            return false;
        }
    }
    pending_config() = accepted;
    return true;
}

platform::platform(const platform_config& config)
    : m_impl(std::make_unique<platform_impl>(config, attached_devices())) {}
platform::~platform() = default;

const platform_config& platform::config() const {
    return m_impl->config();
}
void platform::run(const std::function<void()>& fn) {
    m_impl->run(fn);
}
uint64_t platform::now_ns() const {
    return static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9);
}
unsigned platform::device_count() const {
    return static_cast<unsigned>(m_impl->devices().size());
}
driver::iommu_device& platform::device(unsigned n) {
    return *m_impl->devices().at(n);
}
int platform::device_index(const own_device& device) const {
    for (const auto& d : m_impl->devices()) {
        if (d->own == &device) {
            return static_cast<int>(d->index);
        }
    }
    return -1;
}
own_device* platform::own_device_at(unsigned n) {
    return n < device_count() ? m_impl->devices()[n]->own : nullptr;
}
driver::hw_bus& platform::bus() {
    return m_impl->top().cpu;
}
driver::vtd_iommu& platform::vtd_driver() {
    return m_impl->vtd();
}
iommu& platform::iommu_model() {
    return m_impl->top().mmu;
}
dma_device& platform::dma_engine(unsigned n) {
    return *m_impl->top().devices.at(n);
}
std::string platform::stats_json() const {
    return m_impl->stats_json();
}

std::string platform::statistic(std::string_view path) const {
    return m_impl->statistics().summary_text(path);
}
iotlb_if& platform::iotlb() {
    return m_impl->iotlb();
}
lockstep_iotlb* platform::lockstep() {
    return dynamic_cast<lockstep_iotlb*>(&m_impl->iotlb());
}
void platform::set_job_name(const char* name) {
    m_impl->set_job_name(name);
}
void platform::note_guest_pte_edit(const std::string& what) {
    if (txn_tracer* t = m_impl->tracer()) {
        t->guest_pte_edit(what);
    }
}
void platform::finish() {
    m_impl->finish();
}

int platform::dma(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len, bool is_write,
                  uint8_t* fault_reason) {
    if (n >= device_count()) {
        return -EINVAL;
    }
    platform_device& d = *m_impl->devices()[n];
    tlm::tlm_response_status status = tlm::TLM_OK_RESPONSE;
    hw::fault_reason reason = hw::fault_reason::none;
    // pasid 0 is IOMMU_NO_PASID: an untagged request (the driver attached it through RID_PASID).
    const bool has_pasid = pasid != 0;
    m_impl->run([&] {
        status = m_impl->transfer(d, has_pasid, pasid, iova, buf, len, is_write, &reason);
        m_impl->sample_timeline();
    });
    if (fault_reason) {
        *fault_reason = static_cast<uint8_t>(reason);
    }
    return status == tlm::TLM_OK_RESPONSE ? 0 : -EFAULT;
}

namespace {
constexpr uint64_t iopf_page = 4096;
// A group is named by its first page: the group index is that page number's low 9 bits.
uint16_t iopf_group(uint64_t iova) {
    return static_cast<uint16_t>((iova >> 12) & 0x1ff);
}
}  // namespace

void platform_impl::sync_device(platform_device& d) {
    m_top->cpu.catch_up();
    if (!d.own) {
        d.hw->sync();  // an own device's helpers wait out their delays themselves
    }
}

tlm::tlm_response_status platform_impl::transfer(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova,
                                                 void* buf, std::size_t len, bool is_write, hw::fault_reason* reason) {
    m_top->cpu.catch_up();  // the device works on the kernel's time
    if (d.own) {
        *reason = hw::fault_reason::none;
        own_dma_request req{has_pasid, pasid, iova, buf, len, is_write};
        return d.own->dma(req, reason);
    }
    const tlm::tlm_response_status status = d.hw->transfer(has_pasid, pasid, iova, buf, len, is_write, reason);
    d.hw->sync();  // the call returns when the DMA has completed in simulated time
    return status;
}

dma_device::pri_step platform_impl::translate_for_access(platform_device& d, bool has_pasid, uint32_t pasid,
                                                         uint64_t iova, bool is_write) {
    m_top->cpu.catch_up();
    if (!d.own) {
        return d.hw->translate_for_access(has_pasid, pasid, iova, is_write);
    }
    // An own device takes the built-in device's steps through its helpers.
    const ats_result t = d.own->translate(has_pasid, pasid, iova, is_write);
    if (t.status != ats_completion::success) {
        return dma_device::pri_step::error;
    }
    return t.grants(is_write) ? dma_device::pri_step::translated : dma_device::pri_step::requested;
}

bool platform_impl::send_page_request(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova, bool is_write,
                                      uint16_t group, bool last, uint8_t* code) {
    m_top->cpu.catch_up();
    return d.own ? d.own->send_page_request(has_pasid, pasid, iova, is_write, group, code, last)
                 : d.hw->send_page_request(has_pasid, pasid, iova, is_write, group, code, last);
}

bool platform_impl::take_page_response(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova,
                                       uint8_t* code) {
    m_top->cpu.catch_up();
    return d.own ? d.own->wait_page_response(has_pasid, pasid, iopf_group(iova), 0, code)
                 : d.hw->wait_page_response(has_pasid, pasid, iopf_group(iova), 0, code);
}

driver::iommu_device* platform_impl::find_device(uint16_t rid) {
    for (auto& dev : m_devices) {
        if (dev->rid == rid) {
            return dev.get();
        }
    }
    return nullptr;
}

// Runs inside a CPU job: the device's translation of every page of [iova, iova + len) (at least
// iova's), one page request group for the pages it did not get (LPIG on the last), then, when
// requests are outstanding, the driver's page request thread on its event.
int platform_impl::iopf_step(platform_device& d, bool has_pasid, uint32_t pasid, uint64_t iova, std::size_t len,
                             bool is_write) {
    const uint64_t first = iova & ~(iopf_page - 1);
    const uint64_t end = iova + std::max<std::size_t>(len, 1);
    std::vector<uint64_t> missing;
    for (uint64_t at = first; at < end; at += iopf_page) {
        const dma_device::pri_step step = translate_for_access(d, has_pasid, pasid, std::max(at, iova), is_write);
        if (step == dma_device::pri_step::error) {
            sync_device(d);
            return -EFAULT;
        }
        if (step == dma_device::pri_step::requested) {
            missing.push_back(std::max(at, iova));
        }
    }
    uint8_t code = 0;
    bool answered = false;
    for (std::size_t i = 0; i < missing.size(); ++i) {
        answered = send_page_request(d, has_pasid, pasid, missing[i], is_write, iopf_group(iova),
                                     i + 1 == missing.size(), &code);
    }
    sync_device(d);
    if (missing.empty()) {
        return 0;
    }
    if (answered) {
        return code == hw::pgrp_resp_desc::success ? -EAGAIN : -EACCES;
    }
    driver::hw_bus& bus = m_top->cpu;
    const bool event = bus.wait_for_irq(driver::hw_irq::page_request, m_cfg.iommu.memory_latency_ns + 1000);
    // Without a new event (PPR was still set) the request is in the queue all the same.
    if (event || bus.mmio_read32(hw::reg::PRS_OFFSET) != 0) {
        bus.irq_ack(driver::hw_irq::page_request);
        m_ops->handle_page_requests([this](uint16_t rid) { return find_device(rid); });
    }
    return 1;
}

int platform::iopf_request(unsigned n, uint32_t pasid, uint64_t iova, bool is_write) {
    return iopf_request_range(n, pasid, iova, 1, is_write);
}

int platform::iopf_request_range(unsigned n, uint32_t pasid, uint64_t iova, std::size_t len, bool is_write) {
    if (n >= device_count()) {
        return -EINVAL;
    }
    platform_device& d = *m_impl->devices()[n];
    if (!d.pri) {
        return -EOPNOTSUPP;
    }
    int rc = 0;
    m_impl->run([&] { rc = m_impl->iopf_step(d, pasid != 0, pasid, iova, len, is_write); });
    return rc;
}

int platform::iopf_complete(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len, bool is_write,
                            uint8_t* response_code) {
    return m_impl->iopf_complete(n, pasid, iova, buf, len, 1, is_write, response_code);
}

int platform::iopf_complete_range(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len, bool is_write,
                                  uint8_t* response_code) {
    return m_impl->iopf_complete(n, pasid, iova, buf, len, len, is_write, response_code);
}

int platform_impl::iopf_complete(unsigned n, uint32_t pasid, uint64_t iova, void* buf, std::size_t len,
                                 std::size_t retried, bool is_write, uint8_t* response_code) {
    if (n >= m_devices.size()) {
        return -EINVAL;
    }
    platform_device& d = *m_devices[n];
    if (!d.pri) {
        return -EOPNOTSUPP;
    }
    const bool has_pasid = pasid != 0;
    int rc = 0;
    run([&] {
        uint8_t code = 0;
        if (!take_page_response(d, has_pasid, pasid, iova, &code)) {
            rc = -EAGAIN;
            return;
        }
        if (response_code) {
            *response_code = code;
        }
        if (code != hw::pgrp_resp_desc::success) {
            rc = -EACCES;
            return;
        }
        rc = iopf_step(d, has_pasid, pasid, iova, retried, is_write);
        if (rc != 0) {
            return;
        }
        hw::fault_reason reason = hw::fault_reason::none;
        rc = transfer(d, has_pasid, pasid, iova, buf, len, is_write, &reason) == tlm::TLM_OK_RESPONSE ? 0 : -EFAULT;
    });
    return rc;
}

traffic_result platform::run_traffic(unsigned n, const traffic_spec& spec) {
    traffic_result r;
    if (n >= m_impl->top().devices.size()) {
        return r;
    }
    m_impl->run([&] {
        m_impl->top().cpu.catch_up();
        r = m_impl->top().devices[n]->run_traffic(spec);
        m_impl->top().devices[n]->sync();  // as dma(): returns when the stream has completed in simulated time
        m_impl->sample_timeline();
    });
    return r;
}

uint64_t platform::map_user_memory(void* host, std::size_t len) {
    uint64_t pa = 0;
    return m_impl->pin(host, len, pa) ? pa : 0;
}

void platform::unmap_user_memory(uint64_t pa) {
    m_impl->unpin(pa);
}

uint64_t platform::stale_hits() const {
    uint64_t n = m_impl->top().mmu.translation().stats().stale_hits;
    for (const auto& d : m_impl->top().devices) {
        if (const ats_device_tlb* atc = d->atc()) {
            n += atc->statistics().stale_hits;
        }
    }
    for (const own_device* d : m_impl->top().own_devices) {
        if (const ats_device_tlb* atc = d->device_tlb()) {
            n += atc->statistics().stale_hits;
        }
    }
    return n;
}

namespace {

std::string describe(const stale_report& r) {
    std::ostringstream s;
    s << std::hex << "stale " << stale_cache_name(r.cache) << " hit: rid 0x" << r.rid
      << (r.has_pasid ? " pasid 0x" : " no PASID") << (r.has_pasid ? std::to_string(r.pasid) : "") << " addr 0x"
      << r.addr;
    if (r.cache != stale_cache::device_tlb) {
        s << " DID 0x" << r.did;
    }
    switch (r.cache) {
        case stale_cache::fs_psc:
        case stale_cache::ss_psc:
            s << " level " << std::dec << r.level << std::hex << " key 0x" << r.key_addr << ": cached -> table 0x"
              << r.cached_out;
            break;
        case stale_cache::context:
        case stale_cache::pasid:
            s << ": cached " << (r.field ? r.field : "entry") << " 0x" << r.cached_out;
            break;
        case stale_cache::not_present:
            s << ": cached not present";
            break;
        case stale_cache::device_tlb:
            s << ": cached -> 0x" << r.cached_out << ", dropped by the invalidation completed at " << std::dec
              << r.invalidated_ps << " ps";
            break;
        case stale_cache::iotlb:
            s << ": cached -> HPA 0x" << r.cached_out;
            break;
    }
    if (r.cache != stale_cache::device_tlb) {
        s << ", tables now give ";
        if (r.current_fault != hw::fault_reason::none) {
            s << "fault 0x" << static_cast<unsigned>(r.current_fault) << " (" << hw::fault_reason_name(r.current_fault)
              << ")";
        } else if (r.cache == stale_cache::fs_psc || r.cache == stale_cache::ss_psc) {
            s << (r.current_out ? "table 0x" : "a leaf");
            if (r.current_out) {
                s << r.current_out;
            }
        } else if (r.cache == stale_cache::context || r.cache == stale_cache::pasid) {
            s << "0x" << r.current_out;
        } else {
            s << "HPA 0x" << r.current_out;
        }
    }
    s << std::dec << " at " << r.time_ps << " ps";
    return s.str();
}

}  // namespace

std::vector<std::string> platform::stale_reports() const {
    std::vector<std::string> out;
    for (const stale_report& r : m_impl->top().mmu.translation().stale_reports()) {
        out.push_back(describe(r));
    }
    for (const auto& d : m_impl->top().devices) {
        if (const ats_device_tlb* atc = d->atc()) {
            for (const stale_report& r : atc->stale_reports()) {
                out.push_back(describe(r));
            }
        }
    }
    for (const own_device* d : m_impl->top().own_devices) {
        if (const ats_device_tlb* atc = d->device_tlb()) {
            for (const stale_report& r : atc->stale_reports()) {
                out.push_back(describe(r));
            }
        }
    }
    return out;
}

void platform::set_device_tlb_unresponsive(unsigned n, bool unresponsive) {
    platform_device& d = *m_impl->devices().at(n);
    if (ats_device_tlb* atc = d.own ? d.own->device_tlb() : d.hw->atc()) {
        atc->set_fault(unresponsive ? ats_device_tlb::fault_mode::never_answer : ats_device_tlb::fault_mode::none);
    }
}

int platform::submit_raw_descriptor(const std::array<uint64_t, 4>& desc) {
    int rc = 0;
    m_impl->run([&] { rc = m_impl->vtd().qi().submit(desc); });
    return rc;
}

uint32_t platform::fault_status() const {
    uint32_t v = 0;
    auto& cpu = m_impl->top().cpu;
    m_impl->run([&] { v = cpu.mmio_read32(hw::reg::FSTS_OFFSET); });
    return v;
}

uint64_t platform::driver_ite_count() const {
    return m_impl->vtd().qi().stats().ite;
}

uint64_t platform::recorded_faults() const {
    return m_impl->top().mmu.faults().statistics().recorded;
}

}  // namespace iommusim

// libsystemc.so refers to sc_main (its own main() would call it). Programs built on the platform
// have their own main(): the platform runs the SystemC kernel itself. This weak definition
// satisfies the reference; a program that does define sc_main overrides it.
extern "C" __attribute__((weak)) int sc_main(int, char**) {
    std::fprintf(stderr, "iommusim: sc_main called; programs using the platform define main()\n");
    return 1;
}
