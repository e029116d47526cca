// The register block: capabilities derived from the configuration, the queue's registers attached, GCMD.
#include "tlm/iommu.h"

#include "tlm/iommu_internal.h"

namespace iommusim {

using namespace iommu_detail;

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
    // The fault recorder hooked FSTS first; the queue owns its registers and resumes on IQE/ICE/ITE clears.
    m_queue->attach_registers(m_regs);
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
        if (now == qies) {
            SC_REPORT_WARNING(msg_type, "GCMD.QIE=0 refused: the invalidation queue is not idle");
        }
        m_regs.set_field<gsts::qies>(reg::GSTS_OFFSET, now);
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
    if (commands > 1) {
        SC_REPORT_WARNING(msg_type, "GCMD: more than one command in one write");
    }
}

}  // namespace iommusim
