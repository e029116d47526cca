#include "driver/fake_vtd_util.h"

#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {

fake_caps default_caps() {
    fake_caps c;
    c.cap = hw::cap::nd::make(6) | hw::cap::sagaw::make((1u << 1) | (1u << 2)) | hw::cap::mgaw::make(47) |
            hw::cap::sslps::make(3) | hw::cap::psi::make(1) | hw::cap::mamv::make(18) | hw::cap::fs1gp::make(1) |
            hw::cap::fro::make(0x22) | hw::cap::esrtps::make(0);
    c.ecap = hw::ecap::qi::make(1) | hw::ecap::dt::make(1) | hw::ecap::pt::make(1) | hw::ecap::nest::make(1) |
             hw::ecap::srs::make(1) | hw::ecap::eafs::make(1) | hw::ecap::pss::make(19) | hw::ecap::pasid::make(1) |
             hw::ecap::smts::make(1) | hw::ecap::ssts::make(1) | hw::ecap::fsts::make(1) | hw::ecap::smpwcs::make(1) |
             hw::ecap::rps::make(1);
    return c;
}

fake_vtd::fake_vtd(const fake_caps& c) : caps(c) {}

uint32_t fake_vtd::mmio_read32(uint32_t off) {
    m_now += 1;
    switch (off) {
        case hw::reg::VER_OFFSET:
            return caps.ver;
        case hw::reg::GSTS_OFFSET:
            return gsts;
        case hw::reg::FSTS_OFFSET:
            return fsts;
        case hw::reg::ICS_OFFSET:
            return ics;
        case hw::reg::IECTL_OFFSET:
            return iectl;
        default:
            return 0;
    }
}

uint64_t fake_vtd::mmio_read64(uint32_t off) {
    m_now += 1;
    switch (off) {
        case hw::reg::CAP_OFFSET:
            return caps.cap;
        case hw::reg::ECAP_OFFSET:
            return caps.ecap;
        case hw::reg::RTADDR_OFFSET:
            return rtaddr;
        case hw::reg::IQH_OFFSET:
            return iqh;
        case hw::reg::IQT_OFFSET:
            return iqt;
        case hw::reg::IQA_OFFSET:
            return iqa;
        case hw::reg::IQERCD_OFFSET:
            return iqercd;
        default:
            return 0;
    }
}

void fake_vtd::mmio_write32(uint32_t off, uint32_t value) {
    m_now += 1;
    ++mmio_writes;
    switch (off) {
        case hw::reg::GCMD_OFFSET: {
            if (gsts_stuck)
                return;
            const uint32_t persistent = static_cast<uint32_t>(hw::gsts::tes::mask | hw::gsts::qies::mask);
            const bool qie_was = hw::gsts::qies::get(gsts);
            gsts = (gsts & ~persistent) | (value & persistent);
            if (!qie_was && hw::gsts::qies::get(gsts))
                iqh = 0;
            if (value & hw::gcmd::srtp::mask) {
                gsts |= static_cast<uint32_t>(hw::gsts::rtps::mask);
                active_root = rtaddr;
            }
            return;
        }
        case hw::reg::FSTS_OFFSET:
            fsts &= ~(value & static_cast<uint32_t>(hw::fsts::w1c_mask));
            return;
        case hw::reg::ICS_OFFSET:
            ics &= ~(value & static_cast<uint32_t>(hw::ics::iwc::mask));
            return;
        case hw::reg::IECTL_OFFSET:
            iectl = value & static_cast<uint32_t>(hw::iectl::im::mask);
            return;
        default:
            return;
    }
}

void fake_vtd::mmio_write64(uint32_t off, uint64_t value) {
    m_now += 1;
    ++mmio_writes;
    switch (off) {
        case hw::reg::RTADDR_OFFSET:
            rtaddr = value;
            return;
        case hw::reg::IQT_OFFSET:
            iqt = value & hw::iqt::rw_mask;
            return;
        case hw::reg::IQA_OFFSET:
            iqa = value;
            return;
        default:
            return;
    }
}

void fake_vtd::delay(uint64_t ns) {
    m_now += ns ? ns : 1;
    process();
}

bool fake_vtd::valid(const hw::inv_desc& d) const {
    using namespace hw;
    switch (desc::type_of(d)) {
        case 1:
            return !any_outside(d, cc_desc::allowed);
        case 2:
            return !any_outside(d, iotlb_desc::allowed) && iotlb_desc::g::get(d) != 0 &&
                   (iotlb_desc::g::get(d) != iotlb_desc::page || iotlb_desc::am::get(d) <= cap::mamv::get(caps.cap));
        case 3:
            return !any_outside(d, dev_tlb_desc::allowed);
        case 5:
            return !any_outside(d, wait_desc::allowed) && (wait_desc::sw::get(d) || wait_desc::if_::get(d));
        case 6:
            return !any_outside(d, p_iotlb_desc::allowed) && p_iotlb_desc::g::get(d) >= 2;
        case 7:
            return !any_outside(d, pc_desc::allowed);
        case 8:
            return !any_outside(d, p_dev_tlb_desc::allowed);
        default:
            return false;
    }
}

void fake_vtd::process() {
    if (stalled || !hw::gsts::qies::get(gsts))
        return;
    const uint64_t base = hw::iqa::iqa::get(iqa) << 12;
    const unsigned entries = 1u << (hw::iqa::qs::get(iqa) + 7);
    for (unsigned n = 0; n < rate; ++n) {
        if (fsts & (hw::fsts::iqe::mask | hw::fsts::ite::mask))
            return;
        if (iqh == iqt)
            return;
        const unsigned index = static_cast<unsigned>(iqh >> 5);
        hw::inv_desc d{};
        memory.read(base + index * 32ull, d.data(), 32);
        if (!valid(d)) {
            fsts |= static_cast<uint32_t>(hw::fsts::iqe::mask);
            iqercd = hw::iqercd::iqei::make(4);
            return;  // IQH stays on the bad descriptor
        }
        const unsigned type = hw::desc::type_of(d);
        if (type == 3 && unresponsive.count(static_cast<uint16_t>(hw::dev_tlb_desc::sid::get(d)))) {
            fsts |= static_cast<uint32_t>(hw::fsts::ite::mask);
            // The pending wait descriptors are aborted: skip to the tail without their status writes.
            iqh = iqt;
            return;
        }
        processed.push_back(d);
        if (type == 5) {
            if (hw::wait_desc::sw::get(d)) {
                const uint32_t data = static_cast<uint32_t>(hw::wait_desc::status_data::get(d));
                memory.write(hw::wait_desc::status_addr::get(d) << 2, &data, 4);
            }
            if (hw::wait_desc::if_::get(d) && !hw::ics::iwc::get(ics)) {
                ics |= static_cast<uint32_t>(hw::ics::iwc::mask);
                if (!hw::iectl::im::get(iectl))
                    m_irq[static_cast<int>(driver::hw_irq::invalidation_completion)] = true;
            }
        }
        iqh = ((index + 1) % entries) * 32ull;
    }
}

bool fake_vtd::pin_user_memory(void* host, std::size_t len, uint64_t& pa) {
    const std::size_t rounded = (len + 0xfff) & ~std::size_t{0xfff};
    if (!memory.adopt(m_next_user_pa, host, rounded))
        return false;
    pa = m_next_user_pa;
    m_next_user_pa += rounded + 0x1000;
    return true;
}

void fake_vtd::unpin_user_memory(uint64_t pa) {
    memory.release(pa);
}

unsigned count_type(const std::vector<hw::inv_desc>& v, hw::inv_type t) {
    unsigned n = 0;
    for (const auto& d : v)
        if (hw::desc::type_of(d) == static_cast<unsigned>(t))
            ++n;
    return n;
}

}  // namespace iommusim::test
