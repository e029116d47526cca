#include "rtl/iotlb_factory.h"

#include <cstdlib>
#include <stdexcept>

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

std::unique_ptr<iotlb_if> make_iotlb(iotlb_impl impl, const iotlb_geometry& geometry, const rtl_waves_options& waves,
                                     const lockstep_options& lockstep) {
    switch (impl) {
        case iotlb_impl::cpp:
            return std::make_unique<iotlb>(geometry);
        case iotlb_impl::rtl:
            return std::make_unique<rtl_iotlb>(geometry, waves);
        case iotlb_impl::lockstep:
            return std::make_unique<lockstep_iotlb>(std::make_unique<iotlb>(geometry),
                                                    std::make_unique<rtl_iotlb>(geometry, waves), lockstep);
    }
    throw std::invalid_argument("make_iotlb: unknown implementation");
}

}  // namespace iommusim
