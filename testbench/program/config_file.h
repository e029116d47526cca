// Reads a platform configuration from JSON:
//   { "iotlb": "lockstep",
//     "iommu": { "iotlb_sets": 16, "stale_check": true, "memory_latency_ns": 80, ... },
//     "devices": [ { "rid": "0x0100", "ats": false, "pasid": true }, ... ] }
// Keys of "iommu" are the field names of iommu_config (tlm/iommu_config.h). Unknown keys and
// values of the wrong type are errors that name the key.
#pragma once

#include <string>

#include "platform/platform_config.h"

namespace iommusim::program {

// Applies the file to `config`. Returns "" on success, else a message; `config` is then unchanged.
std::string load_config_file(const std::string& path, platform_config& config);
std::string apply_config_json(const std::string& text, platform_config& config);

}  // namespace iommusim::program
