// Run-time selection of the IOTLB implementation: the C++ model (tlm/iotlb.h, default), a
// verilated RTL design (rtl/rtl_iotlb.h) or the two in lockstep (rtl/lockstep_iotlb.h).
//
// The choice is a string, the same on the command line (--iotlb), in configuration files, in
// iommusim_configure() and in IOMMUSIM_IOTLB:
//   cpp             the C++ model
//   rtl             the project's own RTL IOTLB (rtl/iotlb.sv, its built-in plug-in)
//   lockstep        the C++ model and the project's RTL compared operation by operation
//   rtl:PATH        the RTL IOTLB plug-in at PATH (built by iommusim_add_rtl_iotlb)
//   lockstep:PATH   the C++ model and the plug-in at PATH in lockstep
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

// One choice of the list above.
struct iotlb_spec {
    iotlb_impl impl = iotlb_impl::cpp;
    std::string plugin;  // rtl/lockstep: the plug-in's path, empty for the project's own
};

// The syntax above; std::nullopt for anything else (no file is looked at).
std::optional<iotlb_spec> parse_iotlb_spec(std::string_view text);
std::string to_string(const iotlb_spec& spec);
// What parse_iotlb_spec accepts, for error messages.
inline constexpr const char* iotlb_spec_syntax = "cpp, rtl, lockstep, rtl:PATH or lockstep:PATH";

// "" when an IOTLB of spec and geometry can be built, else why not: the plug-in cannot be
// loaded, or has no verilation of this geometry (the message names the path).
std::string check_iotlb_spec(const iotlb_spec& spec, const iotlb_geometry& geometry);

// IOMMUSIM_IOTLB from the environment, cpp when unset; std::invalid_argument for an unknown value.
iotlb_impl iotlb_impl_from_env();

// Builds the selected IOTLB. waves and rtl apply to the RTL side; lockstep to the comparator.
// std::invalid_argument when the RTL is asked for a geometry that was not verilated, its
// plug-in cannot be loaded or refuses the plusargs.
std::unique_ptr<iotlb_if> make_iotlb(const iotlb_spec& spec, const iotlb_geometry& geometry,
                                     const rtl_waves_options& waves = {}, const lockstep_options& lockstep = {},
                                     const rtl_iotlb_options& rtl = {});
std::unique_ptr<iotlb_if> make_iotlb(iotlb_impl impl, const iotlb_geometry& geometry,
                                     const rtl_waves_options& waves = {}, const lockstep_options& lockstep = {});

}  // namespace iommusim
