// Configuration of the whole platform: the IOMMU model, the IOTLB implementation, the DMA devices
// and the memory the driver owns. Every field has a default and one line of help.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tlm/iommu_config.h"

namespace iommusim {

struct dma_device_config {
    uint16_t rid = 0x0100;             // requester id (bus:dev.fn)
    bool ats = false;                  // ATS-capable: keeps a device TLB, gets device-TLB invalidations
    bool pasid = true;                 // may issue requests with PASID
    uint64_t devtlb_latency_ns = 200;  // time the device takes to answer a device-TLB invalidation
    unsigned devtlb_entries = 32;      // device-TLB (ATC) capacity
    bool pri = false;                  // PRI: asks for not-present pages with page requests (needs ats)
};

struct platform_config {
    // The most DMA devices a platform may have: the largest count the suite runs the
    // invalidation-storm scenario on end to end (testbench/program/max_devices_test.cc).
    static constexpr std::size_t max_devices = 8192;

    iommu_config iommu;                                          // IOMMU capabilities, cache geometry, latencies
    std::string iotlb = default_iotlb();                         // IOTLB: cpp, rtl, lockstep, rtl:PATH, lockstep:PATH
    std::string iotlb_replacement = "tree-plru";                 // lockstep: tree-plru (victims must match) or free
    std::string waves;                                           // wave file path ("" = no waves; see configure())
    std::vector<dma_device_config> devices = default_devices();  // DMA devices, vfio0..vfioN-1
    uint64_t driver_memory_base = 0x1000'0000;                   // physical range the driver allocates tables from
    uint64_t driver_memory_size = 0x1000'0000;                   // 256 MiB
    uint64_t user_memory_base = 0x100'0000'0000;                 // where adopted host buffers are placed
    bool driver_completion_interrupt = true;                     // driver waits for invalidations on the completion
                                                                 // interrupt (wait IF=1); false: polls the status word
    bool cpu_lazy_sync = true;  // the CPU skips waits in the kernel that no other process would notice (same results,
                                // less host time); false: every synchronisation point waits (platform/cpu.h)
    uint64_t seed = 1;          // seed for anything random in the platform
    // Parameters of the scenario that runs (program/scenario.h declares each scenario's, with
    // its default and range); the platform itself does not read them.
    std::map<std::string, uint64_t> params;
    uint64_t timeline_interval_ns = 100000;  // statistics timeline sampling period (0 = off)
    std::string log_file;                    // kernel log output besides its ring: "" none,
                                             // "stderr", or a file path (truncated)
    std::string log_level = "debug";         // records written there: this level or more
                                             // severe (emerg alert crit err warning notice info debug)

    // IOMMUSIM_IOTLB from the environment (so a whole test suite can run on the RTL), else "cpp".
    static std::string default_iotlb();
    static std::vector<dma_device_config> default_devices() {
        return {{0x0100, false, true, 200, 32},
                {0x0108, true, true, 200, 32},
                {0x0200, false, true, 200, 32},
                {0x0208, true, true, 200, 32}};
    }
    // Upper bounds (README "Configuration" lists every range).
    static constexpr unsigned max_devtlb_entries = 65536;
    static constexpr uint64_t max_driver_memory_size = uint64_t{4} << 30;  // its page map is host memory

    // "" when valid, else a message naming the bad value.
    std::string validate() const;
};

}  // namespace iommusim
