#include "rtl/iotlb_factory.h"

#include <cstdlib>
#include <stdexcept>

#include "rtl/rtl_iotlb_plugin_loader.h"
#include "tlm/iotlb.h"

namespace iommusim {

std::optional<iotlb_impl> parse_iotlb_impl(std::string_view text) {
    if (text == "cpp") {
        return iotlb_impl::cpp;
    }
    if (text == "rtl") {
        return iotlb_impl::rtl;
    }
    if (text == "lockstep") {
        return iotlb_impl::lockstep;
    }
    return std::nullopt;
}

std::string_view to_string(iotlb_impl impl) {
    switch (impl) {
        case iotlb_impl::cpp:
            return "cpp";
        case iotlb_impl::rtl:
            return "rtl";
        case iotlb_impl::lockstep:
            return "lockstep";
    }
    return "cpp";
}

std::optional<iotlb_spec> parse_iotlb_spec(std::string_view text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
        if (auto impl = parse_iotlb_impl(text)) {
            return iotlb_spec{*impl, ""};
        }
        return std::nullopt;
    }
    const auto impl = parse_iotlb_impl(text.substr(0, colon));
    const std::string_view path = text.substr(colon + 1);
    if (!impl || *impl == iotlb_impl::cpp || path.empty()) {
        return std::nullopt;
    }
    return iotlb_spec{*impl, std::string(path)};
}

std::string to_string(const iotlb_spec& spec) {
    std::string out(to_string(spec.impl));
    if (!spec.plugin.empty()) {
        out += ":" + spec.plugin;
    }
    return out;
}

std::string check_iotlb_spec(const iotlb_spec& spec, const iotlb_geometry& geometry) {
    if (spec.impl == iotlb_impl::cpp) {
        return "";
    }
    try {
        const std::string path = spec.plugin.empty() ? rtl_iotlb_plugin::builtin_path() : spec.plugin;
        return rtl_iotlb_plugin::load(path)->unsupported(geometry);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
}

iotlb_impl iotlb_impl_from_env() {
    const char* value = std::getenv("IOMMUSIM_IOTLB");
    if (value == nullptr || *value == '\0') {
        return iotlb_impl::cpp;
    }
    if (auto impl = parse_iotlb_impl(value)) {
        return *impl;
    }
    throw std::invalid_argument(std::string("IOMMUSIM_IOTLB=") + value + " (expected cpp, rtl or lockstep)");
}

std::unique_ptr<iotlb_if> make_iotlb(const iotlb_spec& spec, const iotlb_geometry& geometry,
                                     const rtl_waves_options& waves, const lockstep_options& lockstep,
                                     const rtl_iotlb_options& rtl) {
    switch (spec.impl) {
        case iotlb_impl::cpp:
            return std::make_unique<iotlb>(geometry);
        case iotlb_impl::rtl:
            return std::make_unique<rtl_iotlb>(geometry, waves, spec.plugin, rtl);
        case iotlb_impl::lockstep:
            return std::make_unique<lockstep_iotlb>(std::make_unique<iotlb>(geometry),
                                                    std::make_unique<rtl_iotlb>(geometry, waves, spec.plugin, rtl),
                                                    lockstep);
    }
    throw std::invalid_argument("make_iotlb: unknown implementation");
}

std::unique_ptr<iotlb_if> make_iotlb(iotlb_impl impl, const iotlb_geometry& geometry, const rtl_waves_options& waves,
                                     const lockstep_options& lockstep) {
    return make_iotlb(iotlb_spec{impl, ""}, geometry, waves, lockstep);
}

}  // namespace iommusim
