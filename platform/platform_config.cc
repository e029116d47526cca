#include "platform/platform_config.h"

#include <cstdlib>
#include <set>

#include "rtl/iotlb_factory.h"
#include "rtl/lockstep_iotlb.h"
#include "util/klog.h"

namespace iommusim {

std::string platform_config::default_iotlb() {
    const char* env = std::getenv("IOMMUSIM_IOTLB");
    return env && *env ? env : "cpp";
}

std::string platform_config::validate() const {
    if (std::string err = iommu.validate(); !err.empty()) {
        return "iommu: " + err;
    }
    const std::optional<iotlb_spec> spec = parse_iotlb_spec(iotlb);
    if (!spec) {
        return "iotlb=\"" + iotlb + "\" (must be " + iotlb_spec_syntax + ")";
    }
    if (!parse_iotlb_replacement(iotlb_replacement)) {
        return "iotlb_replacement=\"" + iotlb_replacement + "\" (must be tree-plru or free)";
    }
    if (std::string err = check_iotlb_spec(*spec, iotlb_geometry{iommu.iotlb_sets, iommu.iotlb_ways}); !err.empty()) {
        return "iotlb=" + iotlb + ": " + err;
    }
    if (devices.empty()) {
        return "devices: at least one DMA device is needed";
    }
    if (devices.size() > max_devices) {
        return "devices: " + std::to_string(devices.size()) + " DMA devices configured, at most " +
               std::to_string(max_devices) + " are supported";
    }
    std::set<uint16_t> rids;
    for (std::size_t i = 0; i < devices.size(); ++i) {
        const dma_device_config& d = devices[i];
        const std::string name = "devices[" + std::to_string(i) + "].";
        if (!rids.insert(d.rid).second) {
            return name + "rid: requester id " + std::to_string(d.rid) + " used twice";
        }
        if (d.devtlb_entries == 0 || d.devtlb_entries > max_devtlb_entries) {
            return name + "devtlb_entries=" + std::to_string(d.devtlb_entries) + " (must be 1.." +
                   std::to_string(max_devtlb_entries) + ")";
        }
        if (d.devtlb_latency_ns > iommu_config::max_time) {
            return name + "devtlb_latency_ns=" + std::to_string(d.devtlb_latency_ns) + " (must be 0.." +
                   std::to_string(iommu_config::max_time) + ")";
        }
        if (d.ats && !iommu.dt) {
            return name + "ats: an ATS device needs iommu.dt=true";
        }
        if (d.pri && !d.ats) {
            return name + "pri: page requests need ats=true";
        }
    }
    if (driver_memory_size < (1u << 20) || driver_memory_size > max_driver_memory_size) {
        return "driver_memory_size=" + std::to_string(driver_memory_size) + " (must be 1 MiB..4 GiB)";
    }
    if (driver_memory_base % 4096 || driver_memory_size % 4096) {
        return "driver_memory_base and driver_memory_size must be page aligned (4 KiB)";
    }
    const uint64_t memory_limit = uint64_t{1} << iommu.phys_addr_bits;
    if (driver_memory_base >= memory_limit || driver_memory_size > memory_limit - driver_memory_base) {
        return "driver memory must lie below 2^iommu.phys_addr_bits";
    }
    if (user_memory_base % 4096 || user_memory_base <= driver_memory_base + driver_memory_size - 1 ||
        user_memory_base >= memory_limit) {
        return "user_memory_base must be page aligned, above the driver memory and below 2^iommu.phys_addr_bits";
    }
    if (timeline_interval_ns > iommu_config::max_time) {
        return "timeline_interval_ns=" + std::to_string(timeline_interval_ns) + " (must be 0.." +
               std::to_string(iommu_config::max_time) + ")";
    }
    if (klog::level level{}; !klog::parse_level(log_level, level)) {
        return "log_level=\"" + log_level + "\" (must be emerg, alert, crit, err, warning, notice, info or debug)";
    }
    return "";
}

}  // namespace iommusim
