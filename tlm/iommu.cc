#include "tlm/iommu.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace iommusim {

namespace {
constexpr const char* msg_type = "iommusim/iommu";
constexpr uint64_t page_4k = 4096;

sc_core::sc_time ns(uint64_t v) {
    return sc_core::sc_time(static_cast<double>(v), sc_core::SC_NS);
}

bool in_thread() {
    return sc_core::sc_get_current_process_handle().proc_kind() == sc_core::SC_THREAD_PROC_;
}
}  // namespace

// phys_mem_if over initiator_socket. The timed instance accumulates each access's annotated delay
// into m_delay, which the DMA path resets per request; the queue engine's instance is untimed.
class iommu::socket_memory final : public phys_mem_if {
  public:
    socket_memory(iommu& owner, bool timed) : m_owner(owner), m_timed(timed) {}

    bool read(uint64_t pa, void* dst, std::size_t len) override { return access(tlm::TLM_READ_COMMAND, pa, dst, len); }
    bool write(uint64_t pa, const void* src, std::size_t len) override {
        return access(tlm::TLM_WRITE_COMMAND, pa, const_cast<void*>(src), len);
    }
    // The walker's A/D updates. No other initiator runs between the two accesses (b_transport of
    // the memory does not wait), so the pair is atomic in the simulation.
    bool cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) override {
        if (!read(pa, &observed, sizeof observed))
            return false;
        if (observed != expected)
            return true;
        return write(pa, &desired, sizeof desired);
    }

    sc_core::sc_time m_delay;

  private:
    bool access(tlm::tlm_command cmd, uint64_t pa, void* data, std::size_t len) {
        // Reused: the memory's b_transport never waits, so no second access starts meanwhile.
        tlm::tlm_generic_payload& p = m_payload;
        p.set_command(cmd);
        p.set_address(pa);
        p.set_data_ptr(static_cast<unsigned char*>(data));
        p.set_data_length(static_cast<unsigned>(len));
        p.set_streaming_width(static_cast<unsigned>(len));
        p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time d = sc_core::SC_ZERO_TIME;
        m_owner.initiator_socket->b_transport(p, d);
        if (m_timed)
            m_delay += d;
        return p.is_response_ok();
    }

    iommu& m_owner;
    bool m_timed;
    tlm::tlm_generic_payload m_payload;
};

// What the queue engine needs from its owner (tlm/qi_host.h).
class iommu::queue_host final : public qi_host {
  public:
    explicit queue_host(iommu& owner) : m_owner(owner) {}
    phys_mem_if& memory() override { return *m_owner.m_queue_mem; }
    invalidation_target& caches() override { return m_owner.m_translator; }
    unsigned active_ttm() override { return static_cast<unsigned>(hw::rtaddr::ttm::get(m_owner.m_active_rtaddr)); }
    void set_fsts(uint32_t bits) override { m_owner.m_faults.raise_status(bits); }
    void raise_completion_event(uint64_t, uint32_t) override {
        ++m_owner.m_stats.completion_events;
        m_owner.send(m_owner.m_inv_pulse);
    }
    void registers_changed() override { m_owner.mirror_queue_registers(); }
    sc_core::sc_time latest_served_request_end() override { return m_owner.m_latest_request_end; }
    sc_core::sc_time take_cache_time() override {
        const uint64_t now = m_owner.m_tlb.cycles();
        const uint64_t spent = now - m_cycles_seen;
        m_cycles_seen = now;
        return m_owner.cycle_time(spent);
    }

  private:
    iommu& m_owner;
    uint64_t m_cycles_seen = 0;
};

namespace {
// The register table with CAP.NFR + 1 fault recording registers.
std::vector<hw::reg_desc> table_for(const iommu_config& cfg) {
    const std::string err = cfg.validate();
    if (!err.empty())
        SC_REPORT_FATAL(msg_type, ("bad iommu_config: " + err).c_str());
    if (cfg.nfr + 1 > hw::reg::FRCD_MAX)
        SC_REPORT_FATAL(msg_type, ("bad iommu_config: nfr=" + std::to_string(cfg.nfr) + " (the register table holds " +
                                   std::to_string(hw::reg::FRCD_MAX) + " fault recording registers)")
                                      .c_str());
    std::vector<hw::reg_desc> t(hw::reg_table.begin(), hw::reg_table.end());
    for (hw::reg_desc& d : t) {
        if (d.count > 1)
            d.count = cfg.nfr + 1;
    }
    return t;
}
}  // namespace

iommu::iommu(const sc_core::sc_module_name& name, const iommu_config& cfg, iotlb_if& tlb)
    : sc_core::sc_module(name)
    , target_socket("target_socket")
    , mmio_socket("mmio_socket")
    , initiator_socket("initiator_socket")
    , irq_fault("irq_fault")
    , irq_inv("irq_inv")
    , m_cfg(cfg)
    , m_table(table_for(cfg))
    , m_regs(m_table)
    , m_faults(m_regs, cfg.nfr + 1,
               [this] {
                   ++m_stats.fault_events;
                   send(m_fault_pulse);
               })
    , m_walk_mem(std::make_unique<socket_memory>(*this, true))
    , m_queue_mem(std::make_unique<socket_memory>(*this, false))
    , m_translator(cfg, *m_walk_mem, tlb)
    , m_host(std::make_unique<queue_host>(*this))
    , m_tlb(tlb)
    , m_lookup_latency(ns(2 * cfg.cache_lookup_ns))
    , m_iotlb_latency(ns(cfg.iotlb_hit_ns))
    , m_mmio_latency(ns(cfg.mmio_ns))
    , m_quantum(ns(cfg.quantum_ns)) {
    m_queue = std::make_unique<invalidation_queue>("queue", cfg, *m_host);

    target_socket.register_b_transport(this, &iommu::b_transport);
    target_socket.register_get_direct_mem_ptr(this, &iommu::get_direct_mem_ptr);
    target_socket.register_transport_dbg(this, &iommu::transport_dbg);
    mmio_socket.register_b_transport(this, &iommu::mmio_b_transport);
    mmio_socket.register_transport_dbg(this, &iommu::mmio_transport_dbg);
    initiator_socket.register_invalidate_direct_mem_ptr(this, &iommu::memory_invalidate_dmi);

    derive_capabilities();
    hook_registers();
    mirror_queue_registers();

    // Every invalidation revokes the DMI grants whose translation it covers. Accesses through a DMI
    // pointer never reach the shell: its holder may have used it up to one quantum (plus the access
    // in flight) ahead of the kernel, so the next wait completes no earlier than that.
    m_translator.on_invalidate([this](const invalidation_scope& s) {
        const uint64_t before = m_stats.dmi_revocations;
        revoke_if([&](const dmi_grant& g) {
            return !g.untranslated && s.covers(g.rid, g.did, g.pasid, g.kind, g.in_start, g.in_end - g.in_start + 1);
        });
        if (m_stats.dmi_revocations != before)
            m_latest_request_end =
                std::max(m_latest_request_end, sc_core::sc_time_stamp() + m_quantum + ns(m_cfg.memory_latency_ns));
    });

    SC_METHOD(fault_irq_process);
    sensitive << m_fault_pulse.ev;
    dont_initialize();
    SC_METHOD(inv_irq_process);
    sensitive << m_inv_pulse.ev;
    dont_initialize();
}

iommu::~iommu() = default;

phys_mem_if& iommu::walk_memory() {
    return *m_walk_mem;
}

void iommu::set_stale_check(bool on) {
    m_translator.set_stale_check(on);
    if (on)
        revoke_all();
}

// ---------------------------------------------------------------- registers

void iommu::derive_capabilities() {
    using namespace hw;
    uint64_t c = 0;
    c = cap::nd::set(c, m_cfg.nd);
    c = cap::cm::set(c, m_cfg.cm);
    c = cap::sagaw::set(c, m_cfg.sagaw_bits());
    c = cap::mgaw::set(c, m_cfg.mgaw - 1);
    c = cap::fro::set(c, reg::FRO_OFFSET / 16);
    c = cap::sslps::set(c, (m_cfg.sslps_2m ? 1u : 0u) | (m_cfg.sslps_1g ? 2u : 0u));
    c = cap::psi::set(c, m_cfg.psi);
    c = cap::nfr::set(c, m_cfg.nfr);
    c = cap::mamv::set(c, m_cfg.mamv);
    c = cap::dwd::set(c, m_cfg.dwd);
    c = cap::drd::set(c, m_cfg.drd);
    c = cap::fs1gp::set(c, m_cfg.fs1gp);
    c = cap::fs5lp::set(c, m_cfg.fs5lp);
    c = cap::esrtps::set(c, m_cfg.esrtps);
    m_regs.set(reg::CAP_OFFSET, c);

    uint64_t e = 0;
    e = ecap::qi::set(e, m_cfg.qi);
    e = ecap::dt::set(e, m_cfg.dt);
    e = ecap::ir::set(e, m_cfg.ir);
    e = ecap::pt::set(e, m_cfg.pt);
    e = ecap::iro::set(e, reg::IRO_OFFSET / 16);
    e = ecap::nest::set(e, m_cfg.nest);
    e = ecap::prs::set(e, m_cfg.prs);
    e = ecap::ers::set(e, m_cfg.ers);
    e = ecap::srs::set(e, m_cfg.srs);
    e = ecap::eafs::set(e, m_cfg.eafs);
    e = ecap::pss::set(e, m_cfg.pss);
    e = ecap::pasid::set(e, m_cfg.pasid);
    e = ecap::dit::set(e, m_cfg.dit);
    e = ecap::pds::set(e, m_cfg.pds);
    e = ecap::smts::set(e, m_cfg.smts);
    e = ecap::ssads::set(e, m_cfg.ssads);
    e = ecap::ssts::set(e, m_cfg.ssts);
    e = ecap::fsts::set(e, m_cfg.fsts);
    e = ecap::smpwcs::set(e, m_cfg.smpwcs);
    e = ecap::rps::set(e, m_cfg.rps);
    e = ecap::adms::set(e, m_cfg.adms);
    e = ecap::rprivs::set(e, m_cfg.rprivs);
    m_regs.set(reg::ECAP_OFFSET, e);
}

void iommu::hook_registers() {
    using namespace hw;
    using ev_t = register_file::write_event;
    m_regs.on_write(reg::GCMD_OFFSET, [this](const ev_t& ev) { on_gcmd(ev); });
    m_regs.on_write(reg::IQT_OFFSET, [this](const ev_t& ev) {
        m_queue->write_iqt(ev.new_value);
        mirror_queue_registers();
    });
    m_regs.on_write(reg::IQA_OFFSET, [this](const ev_t& ev) {
        m_queue->write_iqa(ev.new_value);
        mirror_queue_registers();
    });
    m_regs.on_write(reg::ICS_OFFSET, [this](const ev_t& ev) {
        m_queue->write_ics(static_cast<uint32_t>(ev.written & ev.written_mask));
        mirror_queue_registers();
    });
    m_regs.on_write(reg::IECTL_OFFSET, [this](const ev_t& ev) {
        m_queue->write_iectl(static_cast<uint32_t>(ev.new_value));
        mirror_queue_registers();
    });
    m_regs.on_write(reg::IEDATA_OFFSET,
                    [this](const ev_t& ev) { m_queue->write_iedata(static_cast<uint32_t>(ev.new_value)); });
    m_regs.on_write(reg::IEADDR_OFFSET,
                    [this](const ev_t& ev) { m_queue->write_ieaddr(static_cast<uint32_t>(ev.new_value)); });
    m_regs.on_write(reg::IEUADDR_OFFSET,
                    [this](const ev_t& ev) { m_queue->write_ieuaddr(static_cast<uint32_t>(ev.new_value)); });
    // The fault recorder hooked FSTS first; the queue engine resumes on IQE/ICE/ITE clears.
    m_regs.on_write(reg::FSTS_OFFSET, [this](const ev_t& ev) {
        const uint32_t cleared = static_cast<uint32_t>(ev.old_value & ~ev.new_value) &
                                 static_cast<uint32_t>(fsts::iqe::mask | fsts::ice::mask | fsts::ite::mask);
        if (cleared) {
            m_queue->on_fsts_w1c(cleared);
            mirror_queue_registers();
        }
    });
}

// The register file holds copies of the queue engine's registers so that MMIO reads see them.
void iommu::mirror_queue_registers() {
    using namespace hw;
    m_regs.set(reg::IQH_OFFSET, m_queue->read_iqh());
    m_regs.set(reg::IQT_OFFSET, m_queue->read_iqt());
    m_regs.set(reg::IQA_OFFSET, m_queue->read_iqa());
    m_regs.set(reg::ICS_OFFSET, m_queue->read_ics());
    m_regs.set(reg::IECTL_OFFSET, m_queue->read_iectl());
    m_regs.set(reg::IEDATA_OFFSET, m_queue->read_iedata());
    m_regs.set(reg::IEADDR_OFFSET, m_queue->read_ieaddr());
    m_regs.set(reg::IEUADDR_OFFSET, m_queue->read_ieuaddr());
    m_regs.set(reg::IQERCD_OFFSET, m_queue->read_iqercd());
    m_regs.set_field<gsts::qies>(reg::GSTS_OFFSET, m_queue->enabled());
}

// GCMD: hardware acts on changes of persistent bits against GSTS and on set one-shot bits
// (docs/vtd-facts.md §1.5); software changes one command per write.
void iommu::on_gcmd(const register_file::write_event& ev) {
    using namespace hw;
    const uint64_t cmd = ev.written & gcmd::wo_mask;
    const uint64_t sts = m_regs.get(reg::GSTS_OFFSET);
    const bool te = gcmd::te::get(cmd), tes = gsts::tes::get(sts);
    const bool qie = gcmd::qie::get(cmd), qies = gsts::qies::get(sts);
    unsigned commands = 0;

    // Should software combine commands anyway, the root pointer is latched before TE acts on it.
    if (gcmd::srtp::get(cmd)) {
        ++commands;
        m_active_rtaddr = m_regs.get(reg::RTADDR_OFFSET);
        // Without ECAP.SMTS, TTM=01 is reserved and legacy mode is not modelled: the walker sees a
        // reserved TTM and blocks every request (RTA.1).
        const uint64_t root = m_cfg.smts ? m_active_rtaddr : rtaddr::ttm::set(m_active_rtaddr, 2);
        m_translator.set_root(root);  // with CAP.ESRTPS also flushes every cache
        revoke_all();
        m_regs.set_field<gsts::rtps>(reg::GSTS_OFFSET, 1);
    }
    if (te != tes) {
        ++commands;
        // Translations (or identity grants) handed out under the old mode are void.
        revoke_all();
        m_regs.set_field<gsts::tes>(reg::GSTS_OFFSET, te);
        m_te = te;
    }
    if (qie != qies && m_cfg.qi) {  // without ECAP.QI the bit is reserved: ignored, QIES stays 0
        ++commands;
        const bool now = m_queue->set_enabled(qie);
        if (now == qies)
            SC_REPORT_WARNING(msg_type, "GCMD.QIE=0 refused: the invalidation queue is not idle");
        mirror_queue_registers();
    }
    if (gcmd::wbf::get(cmd)) {
        // Nothing is buffered: the flush completes at once (WBFS reads 0 again).
        ++commands;
        m_regs.set_field<gsts::wbfs>(reg::GSTS_OFFSET, 0);
    }
    // GSTS never reports AFLS/IRES/CFIS, so a set EAFL/IRE/CFI bit is always a change.
    const uint64_t unmodelled =
        gcmd::sfl::mask | gcmd::sirtp::mask | gcmd::eafl::mask | gcmd::ire::mask | gcmd::cfi::mask;
    if (cmd & unmodelled) {
        ++commands;
        SC_REPORT_WARNING(msg_type, "GCMD: SFL/EAFL/IRE/SIRTP/CFI are not modelled; ignored");
    }
    if (commands > 1)
        SC_REPORT_WARNING(msg_type, "GCMD: more than one command in one write");
}

// ---------------------------------------------------------------- MMIO

void iommu::mmio_b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    delay += m_mmio_latency;
    const unsigned len = trans.get_data_length();
    if (trans.get_byte_enable_ptr()) {
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        ++m_stats.mmio_errors;
        return;
    }
    if (trans.get_address() > UINT32_MAX || (len != 4 && len != 8) || trans.get_streaming_width() < len) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        ++m_stats.mmio_errors;
        return;
    }
    const uint32_t off = static_cast<uint32_t>(trans.get_address());
    uint64_t v = 0;
    bool ok = true;
    if (trans.is_read()) {
        ++m_stats.mmio_reads;
        ok = m_regs.read(off, len, v);
        if (ok)
            std::memcpy(trans.get_data_ptr(), &v, len);
    } else if (trans.is_write()) {
        ++m_stats.mmio_writes;
        std::memcpy(&v, trans.get_data_ptr(), len);
        ok = m_regs.write(off, len, v);
    }
    if (!ok)
        ++m_stats.mmio_errors;
    trans.set_response_status(ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

unsigned int iommu::mmio_transport_dbg(tlm::tlm_generic_payload& trans) {
    // Debug reads only (no side effects); 4 or 8 bytes at a register.
    const unsigned len = trans.get_data_length();
    uint64_t v = 0;
    if (!trans.is_read() || trans.get_address() > UINT32_MAX ||
        !m_regs.read(static_cast<uint32_t>(trans.get_address()), len, v))
        return 0;
    std::memcpy(trans.get_data_ptr(), &v, len);
    return len;
}

// ---------------------------------------------------------------- DMA

translation_request iommu::make_request(const tlm::tlm_generic_payload& trans, const dma_extension* ext,
                                        uint64_t addr) const {
    translation_request r;
    r.addr = addr;
    r.write = trans.is_write();
    if (ext) {
        r.rid = ext->requester_id;
        r.has_pasid = ext->has_pasid;
        r.pasid = ext->pasid & 0xfffff;
        r.priv = ext->has_pasid && ext->priv;
        r.exec = ext->has_pasid && ext->exec;
        r.ats_translation = ext->ats_translation;
    }
    return r;
}

void iommu::record_fault(const translation_request& req, const translation_result& r, dma_extension* ext) {
    fault_info f;
    f.sid = req.rid;
    f.addr = req.addr;
    f.reason = r.fault;
    f.type = req.ats_translation ? fault_request::translation : req.write ? fault_request::write : fault_request::read;
    f.has_pasid = req.has_pasid;
    f.pasid = req.pasid;
    f.priv = req.priv;
    f.exec = req.exec;
    const fault_recorder::outcome o = m_faults.record(f, r.suppressed);
    if (ext) {
        ext->fault = r.fault;
        ext->fault_recorded = o == fault_recorder::outcome::recorded;
    }
}

void iommu::sync(sc_core::sc_time& delay) {
    // Noted before yielding: the queue engine may reach a wait descriptor while this initiator waits.
    m_latest_request_end = std::max(m_latest_request_end, sc_core::sc_time_stamp() + delay);
    // Quantum-keeper semantics: run ahead of simulated time up to one quantum, then yield.
    if (delay >= m_quantum && in_thread()) {
        sc_core::wait(delay);
        delay = sc_core::SC_ZERO_TIME;
        ++m_stats.quantum_syncs;
    }
}

void iommu::forward(tlm::tlm_generic_payload& trans, uint64_t out_addr, unsigned offset, unsigned len,
                    sc_core::sc_time& delay) {
    // One payload reused for every piece: constructing a generic payload allocates.
    tlm::tlm_generic_payload& p = m_fwd;
    p.set_command(trans.get_command());
    p.set_address(out_addr);
    p.set_data_ptr(trans.get_data_ptr() + offset);
    p.set_data_length(len);
    p.set_streaming_width(len);
    p.set_byte_enable_ptr(nullptr);
    p.set_byte_enable_length(0);
    p.set_dmi_allowed(false);
    if (unsigned char* be = trans.get_byte_enable_ptr()) {
        const unsigned be_len = trans.get_byte_enable_length();
        if (be_len >= trans.get_data_length()) {
            p.set_byte_enable_ptr(be + offset);
            p.set_byte_enable_length(len);
        } else {
            // A repeating pattern; the caller only splits when the pattern stays aligned.
            p.set_byte_enable_ptr(be);
            p.set_byte_enable_length(be_len);
        }
    }
    // Without byte enables the piece may go through a DMI pointer of the memory (same latency).
    const bool rd = trans.is_read();
    if (!p.get_byte_enable_ptr() && (rd || trans.is_write())) {
        tlm::tlm_dmi& d = m_mem_dmi[(out_addr >> 12) % mem_dmi_slots];
        if (d.get_dmi_ptr() && out_addr >= d.get_start_address() && out_addr + len - 1 <= d.get_end_address() &&
            (rd ? d.is_read_allowed() : d.is_write_allowed())) {
            unsigned char* host = d.get_dmi_ptr() + (out_addr - d.get_start_address());
            if (rd) {
                std::memcpy(p.get_data_ptr(), host, len);
                delay += d.get_read_latency();
            } else {
                std::memcpy(host, p.get_data_ptr(), len);
                delay += d.get_write_latency();
            }
            ++m_stats.memory_dmi_accesses;
            trans.set_response_status(tlm::TLM_OK_RESPONSE);
            return;
        }
    }
    p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    initiator_socket->b_transport(p, delay);
    trans.set_response_status(p.get_response_status());
    if (p.is_response_ok() && p.is_dmi_allowed()) {
        tlm::tlm_dmi d;
        if (initiator_socket->get_direct_mem_ptr(p, d))
            m_mem_dmi[(out_addr >> 12) % mem_dmi_slots] = d;
    }
}

void iommu::ats_translate(tlm::tlm_generic_payload& trans, dma_extension* ext, sc_core::sc_time& delay) {
    ++m_stats.ats_requests;
    const uint64_t addr = trans.get_address();
    if (!m_te) {
        // Untranslated mode: the identity mapping with every right.
        ext->translated_addr = addr & ~(page_4k - 1);
        ext->translated_size = page_4k;
        ext->ats_read = ext->ats_write = ext->ats_exec = true;
        ext->ats_priv = ext->priv;
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    translation_request req = make_request(trans, ext, addr);
    req.ats_translation = true;
    m_walk_mem->m_delay = sc_core::SC_ZERO_TIME;
    const translation_result r = timed_translate(req, delay);
    delay += m_lookup_latency + m_walk_mem->m_delay;
    if (!r.ok()) {
        // Non-recoverable: recorded like a DMA fault and answered with an error completion, no
        // translation (not-present entries and missing rights came back as R=W=0 translations).
        ++m_stats.ats_errors;
        record_fault(req, r, ext);
        const bool abort = hw::fault_is_access_error(r.fault);
        ext->ats_status = abort ? ats_completion::completer_abort : ats_completion::unsupported_request;
        trans.set_response_status(abort ? tlm::TLM_GENERIC_ERROR_RESPONSE : tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
    const uint64_t bytes = r.page_bytes ? r.page_bytes : page_4k;
    ext->translated_addr = r.out_addr & ~(bytes - 1);
    ext->translated_size = bytes;
    ext->ats_read = r.can_read;
    // Writes through a translated request need D already set; report the right when granted.
    ext->ats_write = r.can_write;
    ext->ats_exec = r.can_read && ext->exec;
    ext->ats_priv = ext->priv;
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void iommu::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    ++m_stats.dma_requests;
    dma_extension* ext = trans.get_extension<dma_extension>();
    if (ext)
        ext->clear_response();
    const unsigned len = trans.get_data_length();
    if (trans.get_streaming_width() < len) {
        ++m_stats.dma_errors;
        trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
        return;
    }
    if (ext && ext->ats_translation) {
        ats_translate(trans, ext, delay);
        sync(delay);
        return;
    }
    // The interrupt window is decoded before (and regardless of) DMA remapping.
    if (interrupt_window_request(trans, ext)) {
        interrupt_window(trans, ext);
        sync(delay);
        return;
    }
    if (!m_te) {
        ++m_stats.pass_through;
        initiator_socket->b_transport(trans, delay);
        if (trans.is_response_ok())
            m_stats.dma_bytes += len;
        else
            ++m_stats.dma_errors;
        trans.set_dmi_allowed(!m_translator.config().stale_check && trans.is_dmi_allowed());
        sync(delay);
        return;
    }
    // A short repeating byte-enable pattern only survives splitting at multiples of its length.
    const unsigned be_len = trans.get_byte_enable_ptr() ? trans.get_byte_enable_length() : 0;
    const uint64_t start = trans.get_address();
    unsigned done = 0;
    bool dmi_ok = !m_translator.config().stale_check;
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    while (done < len || (len == 0 && done == 0)) {
        const uint64_t addr = start + done;
        const translation_request req = make_request(trans, ext, addr);
        m_walk_mem->m_delay = sc_core::SC_ZERO_TIME;
        const translation_result r = timed_translate(req, delay);
        delay += m_lookup_latency + m_walk_mem->m_delay;
        if (!r.ok()) {
            ++m_stats.dma_faults;
            record_fault(req, r, ext);
            trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            break;
        }
        if (len == 0)
            break;
        const uint64_t bytes = r.page_bytes ? r.page_bytes : page_4k;
        const uint64_t page_end = (addr & ~(bytes - 1)) + bytes;
        const unsigned n = static_cast<unsigned>(std::min<uint64_t>(len - done, page_end - addr));
        if (be_len && be_len < len && (done % be_len) != 0) {
            ++m_stats.dma_errors;
            trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
            break;
        }
        forward(trans, r.out_addr, done, n, delay);
        ++m_stats.dma_chunks;
        if (!trans.is_response_ok()) {
            ++m_stats.dma_errors;
            break;
        }
        dmi_ok = dmi_ok && (trans.is_write() ? r.can_write : r.can_read);
        m_stats.dma_bytes += n;
        done += n;
    }
    trans.set_dmi_allowed(dmi_ok && trans.is_response_ok());
    sync(delay);
}

bool iommu::interrupt_window_request(const tlm::tlm_generic_payload& trans, const dma_extension* ext) {
    const uint64_t len = std::max<uint64_t>(trans.get_data_length(), 1);
    return !(ext && ext->has_pasid) && hw::overlaps_interrupt_window(trans.get_address(), len);
}

void iommu::interrupt_window(tlm::tlm_generic_payload& trans, dma_extension* ext) {
    const uint64_t addr = trans.get_address();
    const unsigned len = trans.get_data_length();
    const bool inside = addr >= hw::interrupt_window_base && addr + len <= hw::interrupt_window_end;
    if (trans.is_write() && len > 0 && inside) {
        // An interrupt request (docs/vtd-facts.md §5.6): not remapped here, recorded.
        ++m_stats.interrupt_requests;
        if (m_interrupts.size() < interrupt_record_limit) {
            interrupt_request ir;
            ir.rid = ext ? ext->requester_id : 0;
            ir.addr = addr;
            ir.len = len;
            std::memcpy(&ir.data, trans.get_data_ptr(), std::min<std::size_t>(len, sizeof ir.data));
            m_interrupts.push_back(ir);
        }
        trans.set_dmi_allowed(false);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    // A read (or a write reaching past the window) there is no interrupt and no DMA: aborted and
    // reported as an interrupt-range access (SGN.8), as for a translation ending in the window.
    ++m_stats.interrupt_window_errors;
    translation_request req = make_request(trans, ext, addr);
    translation_result r;
    r.fault = hw::fault_reason::gn_interrupt_range;
    record_fault(req, r, ext);
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

unsigned int iommu::transport_dbg(tlm::tlm_generic_payload& trans) {
    // Debug access through the current translation, without recording faults or timing; stops at
    // the first untranslatable page. The translation itself behaves as for a DMA (cache fills, A/D).
    const dma_extension* ext = trans.get_extension<dma_extension>();
    if (interrupt_window_request(trans, ext)) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);  // no memory behind the window
        return 0;
    }
    const bool te = m_te;
    const unsigned len = trans.get_data_length();
    unsigned done = 0;
    while (done < len) {
        const uint64_t addr = trans.get_address() + done;
        uint64_t out = addr;
        uint64_t bytes = page_4k;
        if (te) {
            const translation_result r = m_translator.translate(make_request(trans, ext, addr));
            if (!r.ok())
                break;
            out = r.out_addr;
            bytes = r.page_bytes ? r.page_bytes : page_4k;
        }
        const unsigned n = static_cast<unsigned>(std::min<uint64_t>(len - done, (addr & ~(bytes - 1)) + bytes - addr));
        tlm::tlm_generic_payload p;
        p.set_command(trans.get_command());
        p.set_address(out);
        p.set_data_ptr(trans.get_data_ptr() + done);
        p.set_data_length(n);
        const unsigned got = initiator_socket->transport_dbg(p);
        done += got;
        if (got < n)
            break;
    }
    trans.set_response_status(done == len ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return done;
}

// ---------------------------------------------------------------- DMI

bool iommu::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
    const uint64_t addr = trans.get_address();
    auto deny = [&] {
        ++m_stats.dmi_denied;
        dmi.set_start_address(addr);
        dmi.set_end_address(addr);
        dmi.allow_none();
        return false;
    };
    // The stale checker must see every access, so no access may bypass the IOTLB.
    if (m_translator.config().stale_check)
        return deny();
    const dma_extension* ext = trans.get_extension<dma_extension>();
    if (ext && ext->ats_translation)
        return deny();
    if (interrupt_window_request(trans, ext))
        return deny();

    dmi_grant g;
    uint64_t in_page = addr & ~(page_4k - 1);
    uint64_t bytes = page_4k;
    uint64_t out_page = in_page;
    bool can_read = true, can_write = true;
    const bool te = m_te;
    if (te) {
        // A DMI request is no DMA: a fault here is not recorded, the device falls back to b_transport.
        translation_request req = make_request(trans, ext, addr);
        translation_result r = m_translator.translate(req);
        if (!r.ok() && req.write) {
            // Not writable: a read-only grant may still be possible.
            req.write = false;
            r = m_translator.translate(req);
        }
        if (!r.ok() || !r.can_read)
            return deny();
        bytes = r.page_bytes ? r.page_bytes : page_4k;
        in_page = addr & ~(bytes - 1);
        out_page = r.out_addr & ~(bytes - 1);
        can_read = r.can_read;
        can_write = r.can_write;
        g.rid = req.rid;
        g.did = r.did;
        g.pasid = r.pasid;
        g.kind = r.kind;
    } else {
        g.untranslated = true;
    }

    // The memory's grant for the output address, cut down to the translated page.
    tlm::tlm_generic_payload p;
    p.set_command(trans.get_command());
    p.set_address(out_page + (addr - in_page));
    tlm::tlm_dmi mdmi;
    if (!initiator_socket->get_direct_mem_ptr(p, mdmi))
        return deny();
    const uint64_t lo = std::max<uint64_t>(mdmi.get_start_address(), out_page);
    const uint64_t hi = std::min<uint64_t>(mdmi.get_end_address(), out_page + bytes - 1);
    if (lo > hi)
        return deny();
    g.out_start = lo;
    g.out_end = hi;
    g.in_start = in_page + (lo - out_page);
    g.in_end = in_page + (hi - out_page);
    // A grant must not let requests without PASID reach memory through the interrupt window.
    if (!(ext && ext->has_pasid) && hw::overlaps_interrupt_window(g.in_start, g.in_end - g.in_start + 1))
        return deny();
    dmi.set_dmi_ptr(mdmi.get_dmi_ptr() + (lo - mdmi.get_start_address()));
    dmi.set_start_address(g.in_start);
    dmi.set_end_address(g.in_end);
    dmi.allow_none();
    if (can_read && mdmi.is_read_allowed())
        dmi.allow_read();
    if (can_write && mdmi.is_write_allowed())
        dmi.allow_write();
    if (can_read && can_write && mdmi.is_read_write_allowed())
        dmi.allow_read_write();
    dmi.set_read_latency(mdmi.get_read_latency());
    dmi.set_write_latency(mdmi.get_write_latency());
    m_grants.push_back(g);
    ++m_stats.dmi_grants;
    return true;
}

void iommu::revoke_if(const std::function<bool(const dmi_grant&)>& pred) {
    std::vector<dmi_grant> gone;
    auto it = std::partition(m_grants.begin(), m_grants.end(), [&](const dmi_grant& g) { return !pred(g); });
    gone.assign(it, m_grants.end());
    m_grants.erase(it, m_grants.end());
    for (const dmi_grant& g : gone) {
        ++m_stats.dmi_revocations;
        target_socket->invalidate_direct_mem_ptr(g.in_start, g.in_end);
    }
}

void iommu::memory_invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) {
    for (tlm::tlm_dmi& d : m_mem_dmi) {
        if (d.get_dmi_ptr() && d.get_start_address() <= end && start <= d.get_end_address())
            d.init();
    }
    revoke_if([&](const dmi_grant& g) { return g.out_start <= end && start <= g.out_end; });
}

// ---------------------------------------------------------------- interrupts

void iommu::send(pulse& p) {
    ++p.pending;
    if (!p.high)
        p.ev.notify(sc_core::SC_ZERO_TIME);
}

void iommu::drive(sc_core::sc_out<bool>& line, pulse& p) {
    if (p.high) {
        line.write(false);
        p.high = false;
        if (p.pending)
            p.ev.notify(1, sc_core::SC_NS);
        return;
    }
    if (p.pending) {
        --p.pending;
        line.write(true);
        p.high = true;
        p.ev.notify(1, sc_core::SC_NS);
    }
}

// ---------------------------------------------------------------- statistics

std::string iommu::stats_json() const {
    const stats& s = m_stats;
    const fault_recorder::stats& f = m_faults.statistics();
    std::ostringstream o;
    o << "{\"iommu\": {\"dma_requests\": " << s.dma_requests << ", \"dma_bytes\": " << s.dma_bytes
      << ", \"dma_chunks\": " << s.dma_chunks << ", \"dma_faults\": " << s.dma_faults
      << ", \"dma_errors\": " << s.dma_errors << ", \"pass_through\": " << s.pass_through
      << ", \"ats_requests\": " << s.ats_requests << ", \"ats_errors\": " << s.ats_errors
      << ", \"mmio_reads\": " << s.mmio_reads << ", \"mmio_writes\": " << s.mmio_writes
      << ", \"mmio_errors\": " << s.mmio_errors << ", \"dmi_grants\": " << s.dmi_grants
      << ", \"dmi_denied\": " << s.dmi_denied << ", \"dmi_revocations\": " << s.dmi_revocations
      << ", \"dmi_live\": " << m_grants.size() << ", \"memory_dmi_accesses\": " << s.memory_dmi_accesses
      << ", \"quantum_syncs\": " << s.quantum_syncs << ", \"fault_events\": " << s.fault_events
      << ", \"completion_events\": " << s.completion_events << "}";
    o << ", \"translation\": " << m_translator.stats().to_json();
    o << ", \"faults\": {\"recorded\": " << f.recorded << ", \"compressed\": " << f.compressed
      << ", \"overflow\": " << f.overflow << ", \"dropped\": " << f.dropped << ", \"suppressed\": " << f.suppressed
      << ", \"events\": " << f.events << "}";
    o << ", \"qi\": " << m_queue->stats().to_json();
    // The last interrupt request recorded, so that a stats reader sees what it was.
    o << ", \"interrupts\": {\"requests\": " << s.interrupt_requests
      << ", \"window_errors\": " << s.interrupt_window_errors;
    if (!m_interrupts.empty()) {
        const interrupt_request& ir = m_interrupts.back();
        o << ", \"last\": {\"rid\": " << ir.rid << ", \"addr\": " << ir.addr << ", \"data\": " << ir.data
          << ", \"len\": " << ir.len << "}";
    }
    o << "}}";
    return o.str();
}

// Translation plus the IOTLB's time: its cycles when it is cycle-timed (RTL, lockstep), else the
// configured fixed lookup latency. The walk's memory time is charged by the walk memory.
translation_result iommu::timed_translate(const translation_request& req, const sc_core::sc_time& delay) {
    const uint64_t before = m_tlb.cycles();
    const uint64_t walks_before = m_observer ? m_translator.stats().walks : 0;
    m_translating = true;
    m_translation_start = delay;
    m_translation_cycles = before;
    m_looked_up = false;
    translation_result r = m_translator.translate(req);
    m_translating = false;
    const uint64_t spent = m_tlb.cycles() - before;
    m_walk_mem->m_delay += spent ? cycle_time(spent) : m_iotlb_latency;
    if (m_observer)
        m_observer->translated(m_looked_up, m_lookup_at, sc_core::sc_time_stamp() + delay + m_walk_mem->m_delay,
                               req.rid, r.iotlb_hit, m_translator.stats().walks != walks_before, r.fault);
    return r;
}

void iommu::set_observer(iommu_observer* observer) {
    m_observer = observer;
    if (!observer) {
        m_translator.walker().set_read_observer(nullptr);
        m_translator.set_lookup_observer(nullptr);
        return;
    }
    m_translator.set_lookup_observer([this] {
        m_looked_up = true;
        m_lookup_at = operation_time();
    });
    m_translator.walker().set_read_observer([this](uint64_t pa, walk_stage stage, unsigned level) {
        m_observer->walk_access(operation_time(), pa, stage, level);
    });
}

sc_core::sc_time iommu::operation_time() const {
    if (!m_translating)
        return sc_core::sc_time_stamp();
    return sc_core::sc_time_stamp() + m_translation_start + m_walk_mem->m_delay +
           cycle_time(m_tlb.cycles() - m_translation_cycles);
}

sc_core::sc_time iommu::cycle_time(uint64_t cycles) const {
    return sc_core::sc_time(static_cast<double>(cycles * m_cfg.iotlb_cycle_ps), sc_core::SC_PS);
}

}  // namespace iommusim
