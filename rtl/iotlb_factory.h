// Run-time selection of the IOTLB implementation: the C++ model (tlm/iotlb.h, default), the
// verilated RTL (rtl/rtl_iotlb.h) or both in lockstep (rtl/lockstep_iotlb.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rtl/lockstep_iotlb.h"
#include "rtl/rtl_iotlb.h"
#include "tlm/iotlb_if.h"

namespace iommusim {

enum class iotlb_impl { cpp, rtl, lockstep };

// "cpp", "rtl" or "lockstep"; std::nullopt for anything else.
std::optional<iotlb_impl> parse_iotlb_impl(std::string_view text);
std::string_view to_string(iotlb_impl impl);

// IOMMUSIM_IOTLB from the environment, cpp when unset; std::invalid_argument for an unknown value.
iotlb_impl iotlb_impl_from_env();

// Builds the selected IOTLB. waves applies to the RTL side; lockstep to the comparator.
// std::invalid_argument when the RTL is asked for a geometry that was not verilated.
std::unique_ptr<iotlb_if> make_iotlb(iotlb_impl impl, const iotlb_geometry& geometry,
                                     const rtl_waves_options& waves = {}, const lockstep_options& lockstep = {});

}  // namespace iommusim
