// The drivers' kernel-log prefixes (each as its Linux counterpart's pr_fmt) and the device name
// their records use.
#pragma once

#include <cstdint>
#include <cstdio>

#include "util/klog.h"

namespace iommusim::driver {

inline constexpr const char* dmar_log = "DMAR: ";          // drivers/iommu/intel
inline constexpr const char* mock_log = "iommufd_mock: ";  // the iommufd selftest mock driver
inline constexpr const char* iommu_core_log = "iommu: ";   // drivers/iommu/iommu.c

// A requester id as Linux names the PCI device on segment 0: "0000:01:00.0".
struct pci_name {
    char text[16];
};
inline pci_name pci_name_of(uint16_t rid) {
    pci_name name{};
    std::snprintf(name.text, sizeof name.text, "0000:%02x:%02x.%u", rid >> 8, (rid >> 3) & 0x1f, rid & 7u);
    return name;
}

}  // namespace iommusim::driver
