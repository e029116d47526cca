// A register-level stand-in for a VT-d unit, implementing driver::hw_bus over a sparse_memory, for
// unit tests of the driver's pure parts (queue submission, table construction, descriptor contents).
// It processes the invalidation queue on delay() (a few descriptors per call, so that full rings and
// waits happen), records every descriptor it executed, and can inject IQE (invalid descriptors are
// refused as the spec says), ITE (device-TLB invalidations to chosen requester ids never complete)
// and a stalled engine. The integration tests run the driver against the real TLM model instead.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "driver/hw_bus.h"
#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_regs.h"
#include "tlm/sparse_memory.h"

namespace iommusim::test {

struct fake_caps {
    uint64_t cap = 0;
    uint64_t ecap = 0;
    uint32_t ver = 0x60;
};

// CAP/ECAP of a capable unit: ND=6, SAGAW 39/48, MGAW 48, SSLPS 2M+1G, PSI, MAMV 18, FS1GP; QI, DT,
// PT, NEST, SRS, EAFS, PSS 19, PASID, SMTS, SSTS, FSTS, SMPWCS, RPS.
fake_caps default_caps();

class fake_vtd : public driver::hw_bus {
  public:
    explicit fake_vtd(const fake_caps& caps = default_caps());

    uint32_t mmio_read32(uint32_t off) override;
    uint64_t mmio_read64(uint32_t off) override;
    void mmio_write32(uint32_t off, uint32_t value) override;
    void mmio_write64(uint32_t off, uint64_t value) override;
    bool mem_read(uint64_t pa, void* dst, std::size_t len) override { return memory.read(pa, dst, len); }
    bool mem_write(uint64_t pa, const void* src, std::size_t len) override { return memory.write(pa, src, len); }
    void delay(uint64_t ns) override;
    uint64_t now_ns() override { return m_now; }
    bool irq_pending(driver::hw_irq irq) override { return m_irq[static_cast<int>(irq)]; }
    void irq_ack(driver::hw_irq irq) override { m_irq[static_cast<int>(irq)] = false; }
    bool pin_user_memory(void* host, std::size_t len, uint64_t& pa) override;
    void unpin_user_memory(uint64_t pa) override;

    sparse_memory memory;
    fake_caps caps;
    unsigned rate = 4;                    // descriptors processed per delay() call
    bool stalled = false;                 // the engine processes nothing
    bool gsts_stuck = false;              // GCMD writes have no effect
    std::set<uint16_t> unresponsive;      // device-TLB invalidations to these RIDs time out (ITE)
    std::vector<hw::inv_desc> processed;  // descriptors executed, in order (waits included)
    uint64_t mmio_writes = 0;

    uint32_t gsts = 0;
    uint32_t fsts = 0;
    uint32_t ics = 0;
    uint32_t iectl = static_cast<uint32_t>(hw::iectl::reset);
    uint64_t rtaddr = 0;
    uint64_t iqa = 0;
    uint64_t iqh = 0;
    uint64_t iqt = 0;
    uint64_t iqercd = 0;
    uint64_t active_root = 0;

  private:
    void process();
    bool valid(const hw::inv_desc& d) const;

    uint64_t m_now = 0;
    bool m_irq[2] = {false, false};
    uint64_t m_next_user_pa = 0x100'0000'0000ull;
};

// Count of descriptors of one type in a list.
unsigned count_type(const std::vector<hw::inv_desc>& v, hw::inv_type t);

}  // namespace iommusim::test
