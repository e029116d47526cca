// The platform's SystemC system (memory, IOMMU model, CPU, devices: platform_top) without the
// platform around it, so without a driver probed at creation: for tests of units the driver must
// refuse, where the platform itself could not come up. The IOTLB is the C++ one. One per process.
#pragma once

#include <functional>
#include <memory>

#include "platform/platform_config.h"
#include "platform/platform_impl.h"
#include "tlm/iotlb.h"

namespace iommusim::test {

class bare_unit {
  public:
    explicit bare_unit(const platform_config& cfg);
    bare_unit(const bare_unit&) = delete;
    bare_unit& operator=(const bare_unit&) = delete;

    // Runs fn on the simulated CPU thread (driver code, MMIO) and returns when it has finished.
    void run(const std::function<void()>& fn) { m_top->cpu.execute(fn); }
    driver::hw_bus& bus() { return m_top->cpu; }
    platform_top& top() { return *m_top; }

  private:
    iotlb m_tlb;
    std::unique_ptr<platform_top> m_top;
};

}  // namespace iommusim::test
