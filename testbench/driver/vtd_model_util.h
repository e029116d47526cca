// A VT-d unit for the driver's unit tests: the real TLM model on the process's platform
// (platform/platform.h) with a driver of the test's own (page allocator, vtd_iommu, vtd_ops) built
// on platform::bus(), so that a test controls probe and driver configuration. The platform's own
// driver is switched off first (TE and QIE cleared, the queue idle), so the unit is as after
// reset. What the driver sent is observed on the model: the ring in memory, the queue engine's
// per-type statistics, the device TLBs' received requests, the registers.
//
// One unit per process (SystemC elaborates once): run one test per process (ctest does). Driver
// calls must happen inside run().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "driver/iommu_ops.h"
#include "driver/page_allocator.h"
#include "driver/vtd_iommu.h"
#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_desc.h"
#include "platform/dma_device.h"
#include "platform/platform.h"
#include "tlm/invalidation_queue_stats.h"
#include "tlm/iommu.h"

namespace iommusim::test {

// The capable unit the driver tests assume: model defaults (ND=6, SAGAW 39/48, MGAW 48, SSLPS
// 2M+1G, PSI, MAMV 18, QI, DT, PT, NEST, SRS, EAFS, PSS 19, SMTS, SSTS, FSTS, ...) without ESRTPS,
// so that a new root table is followed by the global flushes; the default DMA devices (0x0100
// plain, 0x0108 ATS, ...).
platform_config unit_config();

class model_unit {
  public:
    static constexpr uint64_t driver_memory_base = 0x2000'0000;  // the test driver's tables and ring
    static constexpr uint64_t driver_memory_size = 0x400'0000;

    // Configures and creates the platform, quiesces its driver and builds the test's driver
    // (probed when `probe`; the probe result is then expected to be 0).
    explicit model_unit(const platform_config& cfg = unit_config(), const driver::vtd_iommu_config& dcfg = {},
                        bool probe = true);
    model_unit(const model_unit&) = delete;
    model_unit& operator=(const model_unit&) = delete;

    platform& plat() { return m_platform; }
    void run(const std::function<void()>& fn) { m_platform.run(fn); }

    driver::hw_bus& bus();
    iommu& mmu();
    driver::page_allocator& pages() { return *m_pages; }
    driver::vtd_iommu& vtd() { return *m_vtd; }
    driver::vtd_ops& ops() { return *m_ops; }
    // The device TLB of the ATS device with this requester id (fails the test when there is none).
    ats_device_tlb& atc(uint16_t rid);

    // Driver-side devices: 0x0100 without ATS, 0x0108 with ATS (platform devices 0 and 1).
    driver::iommu_device dev;
    driver::iommu_device ats_dev;

    // ---- Observation (inside run()) ----
    // Remembers the driver's ring tail and the queue engine's statistics.
    void mark();
    // The ring slots written since mark(), up to the driver's tail (wrap-around followed).
    std::vector<hw::inv_desc> sent();
    // Ring slot `index` as the hardware reads it.
    hw::inv_desc slot(unsigned index);
    // Descriptors of type t the queue engine executed since mark().
    uint64_t executed(hw::inv_type t);
    uint64_t executed_total();
    // Descriptors of scope s (tlm/descriptor_decoder.h) the queue engine executed since mark().
    uint64_t executed_scope(scope_kind s);
    const invalidation_queue_stats& model_stats();
    uint32_t read32(uint32_t reg) { return bus().mmio_read32(reg); }
    uint64_t read64(uint32_t reg) { return bus().mmio_read64(reg); }

  private:
    platform& m_platform;
    std::unique_ptr<driver::page_allocator> m_pages;
    std::unique_ptr<driver::vtd_iommu> m_vtd;
    std::unique_ptr<driver::vtd_ops> m_ops;
    unsigned m_mark_tail = 0;
    invalidation_queue_stats m_mark_stats;
};

// Count of descriptors of one type in a list.
unsigned count_type(const std::vector<hw::inv_desc>& v, hw::inv_type t);

}  // namespace iommusim::test
