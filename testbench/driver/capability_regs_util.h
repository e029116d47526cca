// A register-level double for the one thing the TLM model cannot be: a unit whose VER/CAP/ECAP
// describe hardware the driver must refuse and no iommu_config can express (VER_REG major version
// 0, a SAGAW with only the reserved 2-level encoding). It answers reads of
// VER_REG, CAP_REG and ECAP_REG only, with values the test takes from the real model and edits,
// and fails the test on any other access: a refusing probe must not touch anything else.
// Everything else in the driver tests runs on the model (driver/vtd_model_util.h).
#pragma once

#include <cstdint>

#include "driver/hw_bus.h"

namespace iommusim::test {

class capability_regs : public driver::hw_bus {
  public:
    capability_regs(uint32_t ver, uint64_t cap, uint64_t ecap) : m_ver(ver), m_cap(cap), m_ecap(ecap) {}

    uint32_t mmio_read32(uint32_t off) override;
    uint64_t mmio_read64(uint32_t off) override;
    void mmio_write32(uint32_t off, uint32_t value) override;
    void mmio_write64(uint32_t off, uint64_t value) override;
    bool mem_read(uint64_t pa, void* dst, std::size_t len) override;
    bool mem_write(uint64_t pa, const void* src, std::size_t len) override;
    void delay(uint64_t ns) override;
    uint64_t now_ns() override { return 0; }
    bool irq_pending(driver::hw_irq irq) override;
    void irq_ack(driver::hw_irq irq) override;

  private:
    uint32_t m_ver;
    uint64_t m_cap;
    uint64_t m_ecap;
};

}  // namespace iommusim::test
