#include "driver/capability_regs_util.h"

#include <gtest/gtest.h>

#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {

uint32_t capability_regs::mmio_read32(uint32_t off) {
    if (off == hw::reg::VER_OFFSET) {
        return m_ver;
    }
    ADD_FAILURE() << "probe read 32-bit register 0x" << std::hex << off;
    return 0;
}

uint64_t capability_regs::mmio_read64(uint32_t off) {
    if (off == hw::reg::CAP_OFFSET) {
        return m_cap;
    }
    if (off == hw::reg::ECAP_OFFSET) {
        return m_ecap;
    }
    ADD_FAILURE() << "probe read 64-bit register 0x" << std::hex << off;
    return 0;
}

void capability_regs::mmio_write32(uint32_t off, uint32_t) {
    ADD_FAILURE() << "probe wrote register 0x" << std::hex << off;
}

void capability_regs::mmio_write64(uint32_t off, uint64_t) {
    ADD_FAILURE() << "probe wrote register 0x" << std::hex << off;
}

bool capability_regs::mem_read(uint64_t pa, void*, std::size_t) {
    ADD_FAILURE() << "probe read memory at 0x" << std::hex << pa;
    return false;
}

bool capability_regs::mem_write(uint64_t pa, const void*, std::size_t) {
    ADD_FAILURE() << "probe wrote memory at 0x" << std::hex << pa;
    return false;
}

void capability_regs::delay(uint64_t) {
    ADD_FAILURE() << "probe waited";
}

bool capability_regs::irq_pending(driver::hw_irq) {
    ADD_FAILURE() << "probe polled an interrupt";
    return false;
}

void capability_regs::irq_ack(driver::hw_irq) {
    ADD_FAILURE() << "probe acknowledged an interrupt";
}

}  // namespace iommusim::test
