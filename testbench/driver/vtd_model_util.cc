#include "driver/vtd_model_util.h"

#include <gtest/gtest.h>

#include <string>

#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {

namespace {

platform& create(const platform_config& cfg) {
    std::string error;
    EXPECT_TRUE(platform::configure(cfg, &error)) << error;
    return platform::instance();
}

}  // namespace

platform_config unit_config() {
    platform_config cfg;
    cfg.iommu.esrtps = false;
    // The platform's own driver keeps a small range below the test driver's.
    cfg.driver_memory_size = 0x100'0000;
    return cfg;
}

model_unit::model_unit(const platform_config& cfg, const driver::vtd_iommu_config& dcfg, bool probe)
    : m_platform(create(cfg)) {
    dev.rid = 0x0100;
    ats_dev.rid = 0x0108;
    ats_dev.ats = true;
    run([&] {
        // The platform's driver brought the unit up; take it down again (TE first, then the idle queue).
        driver::vtd_iommu& own = m_platform.vtd_driver();
        EXPECT_EQ(own.gcmd(static_cast<uint32_t>(hw::gcmd::te::mask), false), 0);
        EXPECT_EQ(own.gcmd(static_cast<uint32_t>(hw::gcmd::qie::mask), false), 0);
        m_pages = std::make_unique<driver::page_allocator>(bus(), driver_memory_base, driver_memory_size);
        m_vtd = std::make_unique<driver::vtd_iommu>(bus(), *m_pages, dcfg);
        m_ops = std::make_unique<driver::vtd_ops>(*m_vtd);
        if (probe) {
            std::string error;
            EXPECT_EQ(m_vtd->probe(&error), 0) << error;
        }
    });
    dev.ops = m_ops.get();
    ats_dev.ops = m_ops.get();
}

driver::hw_bus& model_unit::bus() {
    return m_platform.bus();
}

iommu& model_unit::mmu() {
    return m_platform.iommu_model();
}

ats_device_tlb& model_unit::atc(uint16_t rid) {
    for (unsigned n = 0; n < m_platform.device_count(); ++n) {
        if (dma_device& d = m_platform.dma_engine(n); d.config().rid == rid && d.atc()) {
            return *d.atc();
        }
    }
    ADD_FAILURE() << "no ATS device with requester id " << rid;
    return *m_platform.dma_engine(1).atc();
}

void model_unit::mark() {
    m_mark_tail = m_vtd->qi().attached() ? m_vtd->qi().tail() : 0;
    m_mark_stats = mmu().queue().stats();
}

hw::inv_desc model_unit::slot(unsigned index) {
    const uint64_t base = hw::iqa::iqa::get(read64(hw::reg::IQA_OFFSET)) << 12;
    hw::inv_desc d{};
    EXPECT_TRUE(bus().mem_read(base + uint64_t{index} * sizeof d, d.data(), sizeof d));
    return d;
}

std::vector<hw::inv_desc> model_unit::sent() {
    std::vector<hw::inv_desc> out;
    const unsigned entries = m_vtd->qi().entries();
    if (entries == 0) {
        return out;
    }
    for (unsigned i = m_mark_tail; i != m_vtd->qi().tail(); i = (i + 1) % entries) {
        out.push_back(slot(i));
    }
    return out;
}

uint64_t model_unit::executed(hw::inv_type t) {
    const auto i = static_cast<unsigned>(t);
    return mmu().queue().stats().per_type[i] - m_mark_stats.per_type[i];
}

uint64_t model_unit::executed_total() {
    return mmu().queue().stats().descriptors - m_mark_stats.descriptors;
}

uint64_t model_unit::executed_scope(scope_kind s) {
    const auto i = static_cast<unsigned>(s);
    return mmu().queue().stats().per_scope[i] - m_mark_stats.per_scope[i];
}

const invalidation_queue_stats& model_unit::model_stats() {
    return mmu().queue().stats();
}

unsigned count_type(const std::vector<hw::inv_desc>& v, hw::inv_type t) {
    unsigned n = 0;
    for (const auto& d : v) {
        if (hw::desc::type_of(d) == static_cast<unsigned>(t)) {
            ++n;
        }
    }
    return n;
}

}  // namespace iommusim::test
