// Reads a platform configuration from JSON, and writes one back:
//   { "iotlb": "lockstep", "seed": 7, "driver_completion_interrupt": false,
//     "iommu": { "iotlb_sets": 16, "stale_check": true, "memory_latency_ns": 80, ... },
//     "devices": [ { "rid": "0x0100", "ats": false, "pasid": true }, ... ] }
// Top-level keys are the field names of platform_config, keys of "iommu" those of iommu_config
// (tlm/iommu_config.h), keys of a device those of dma_device_config. Unknown keys, keys given twice
// and values of the wrong type or out of range are errors that name the key.
#pragma once

#include <string>

#include "platform/platform_config.h"

namespace iommusim::program {

// Applies the file to `config`. Returns "" on success, else a message; `config` is then unchanged.
std::string load_config_file(const std::string& path, platform_config& config);
std::string apply_config_json(const std::string& text, platform_config& config);

// Every field of `config` as JSON that apply_config_json reads back to the same configuration.
std::string config_json(const platform_config& config);

}  // namespace iommusim::program
