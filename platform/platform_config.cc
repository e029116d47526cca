#include "platform/platform_config.h"

#include <cstdlib>
#include <set>
#include <sstream>

#include "rtl/rtl_iotlb.h"

namespace iommusim {

std::string platform_config::default_iotlb() {
    const char* env = std::getenv("IOMMUSIM_IOTLB");
    return env && *env ? env : "cpp";
}

std::string platform_config::validate() const {
    if (std::string err = iommu.validate(); !err.empty())
        return "iommu: " + err;
    if (iotlb != "cpp" && iotlb != "rtl" && iotlb != "lockstep")
        return "iotlb=\"" + iotlb + "\" (must be cpp, rtl or lockstep)";
    if (iotlb != "cpp" && !rtl_iotlb::supported(iotlb_geometry{iommu.iotlb_sets, iommu.iotlb_ways})) {
        // An ostringstream: GCC 12 at -O3 misreads string operator+ chains (-Wrestrict).
        std::ostringstream msg;
        msg << "iotlb=" << iotlb << " needs a verilated IOTLB geometry; " << iommu.iotlb_sets << "x" << iommu.iotlb_ways
            << " (sets x ways) is not one of";
        for (const iotlb_geometry& g : rtl_iotlb::supported_geometries())
            msg << " " << g.sets << "x" << g.ways;
        return msg.str();
    }
    if (devices.empty())
        return "devices: at least one DMA device is needed";
    if (devices.size() > max_devices)
        return "devices: " + std::to_string(devices.size()) + " DMA devices configured, at most " +
               std::to_string(max_devices) + " are supported";
    std::set<uint16_t> rids;
    for (const dma_device_config& d : devices) {
        if (!rids.insert(d.rid).second)
            return "devices: requester id " + std::to_string(d.rid) + " used twice";
        if (d.devtlb_entries == 0)
            return "devices: devtlb_entries must be >= 1";
        if (d.ats && !iommu.dt)
            return "devices: an ATS device needs iommu.dt=true";
    }
    if (driver_memory_size < (1u << 20) || driver_memory_base % 4096 || driver_memory_size % 4096)
        return "driver memory must be page aligned and at least 1 MiB";
    if (user_memory_base % 4096 || user_memory_base <= driver_memory_base + driver_memory_size - 1)
        return "user_memory_base must be page aligned and above the driver memory";
    return "";
}

}  // namespace iommusim
