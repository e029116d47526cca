// The configuration a run uses, from every source in order of precedence: command-line flag >
// configuration file (--config) > environment (IOMMUSIM_IOTLB) > default.
#pragma once

#include <string>

#include "platform/platform_config.h"
#include "program/cli_options.h"

namespace iommusim::program {

// Fills `config` for a run of `scenario`, checks it, and prepares every output path (the wave file
// and --stats-json: missing directories created, writability checked) so that nothing is found
// wrong only after the run. `iotlb_source` says where the IOTLB kind came from. Returns "" or a
// message naming the bad setting, value or path.
std::string resolve_config(const cli_options& opts, const std::string& scenario, platform_config& config,
                           std::string& iotlb_source);

}  // namespace iommusim::program
