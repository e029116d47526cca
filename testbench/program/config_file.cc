#include "program/config_file.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <variant>

namespace iommusim::program {

namespace {

using json = nlohmann::json;
using field_ptr = std::variant<bool iommu_config::*, unsigned iommu_config::*, uint64_t iommu_config::*>;

// Every iommu_config knob reachable from a configuration file.
const std::vector<std::pair<const char*, field_ptr>>& iommu_fields() {
    static const std::vector<std::pair<const char*, field_ptr>> fields = {
        {"mgaw", &iommu_config::mgaw},
        {"sagaw_39", &iommu_config::sagaw_39},
        {"sagaw_48", &iommu_config::sagaw_48},
        {"sagaw_57", &iommu_config::sagaw_57},
        {"fs1gp", &iommu_config::fs1gp},
        {"fs5lp", &iommu_config::fs5lp},
        {"sslps_2m", &iommu_config::sslps_2m},
        {"sslps_1g", &iommu_config::sslps_1g},
        {"psi", &iommu_config::psi},
        {"mamv", &iommu_config::mamv},
        {"nfr", &iommu_config::nfr},
        {"nd", &iommu_config::nd},
        {"cm", &iommu_config::cm},
        {"esrtps", &iommu_config::esrtps},
        {"haw", &iommu_config::haw},
        {"qi", &iommu_config::qi},
        {"dt", &iommu_config::dt},
        {"ir", &iommu_config::ir},
        {"dit", &iommu_config::dit},
        {"pt", &iommu_config::pt},
        {"pasid", &iommu_config::pasid},
        {"pss", &iommu_config::pss},
        {"smts", &iommu_config::smts},
        {"fsts", &iommu_config::fsts},
        {"ssts", &iommu_config::ssts},
        {"nest", &iommu_config::nest},
        {"srs", &iommu_config::srs},
        {"ers", &iommu_config::ers},
        {"eafs", &iommu_config::eafs},
        {"rps", &iommu_config::rps},
        {"pds", &iommu_config::pds},
        {"iotlb_sets", &iommu_config::iotlb_sets},
        {"iotlb_ways", &iommu_config::iotlb_ways},
        {"context_cache_entries", &iommu_config::context_cache_entries},
        {"pasid_cache_entries", &iommu_config::pasid_cache_entries},
        {"fs_psc_entries", &iommu_config::fs_psc_entries},
        {"ss_psc_entries", &iommu_config::ss_psc_entries},
        {"psc_enable", &iommu_config::psc_enable},
        {"stale_check", &iommu_config::stale_check},
        {"iotlb_hit_ns", &iommu_config::iotlb_hit_ns},
        {"cache_lookup_ns", &iommu_config::cache_lookup_ns},
        {"memory_latency_ns", &iommu_config::memory_latency_ns},
        {"mmio_ns", &iommu_config::mmio_ns},
        {"qi_fetch_ns", &iommu_config::qi_fetch_ns},
        {"qi_desc_process_ns", &iommu_config::qi_desc_process_ns},
        {"devtlb_ns", &iommu_config::devtlb_ns},
        {"devtlb_timeout_ns", &iommu_config::devtlb_timeout_ns},
        {"quantum_ns", &iommu_config::quantum_ns},
    };
    return fields;
}

// Numbers may be given as JSON integers or as "0x.." strings.
bool as_u64(const json& v, uint64_t& out) {
    if (v.is_number_unsigned()) {
        out = v.get<uint64_t>();
        return true;
    }
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        try {
            size_t used = 0;
            out = std::stoull(s, &used, 0);
            return used == s.size() && !s.empty() && s[0] != '-';
        } catch (const std::exception&) {
            return false;
        }
    }
    return false;
}

std::string apply_iommu(const json& obj, iommu_config& cfg) {
    if (!obj.is_object())
        return "\"iommu\" must be an object";
    for (const auto& [key, value] : obj.items()) {
        const field_ptr* field = nullptr;
        for (const auto& [name, ptr] : iommu_fields())
            if (key == name)
                field = &ptr;
        if (!field)
            return "unknown iommu setting \"" + key + "\"";
        std::string err;
        std::visit(
            [&](auto member) {
                using type = std::remove_reference_t<decltype(cfg.*member)>;
                if constexpr (std::is_same_v<type, bool>) {
                    if (!value.is_boolean())
                        err = "iommu." + key + " must be true or false";
                    else
                        cfg.*member = value.get<bool>();
                } else {
                    uint64_t n = 0;
                    if (!as_u64(value, n) || n > std::numeric_limits<type>::max())
                        err = "iommu." + key + " must be a non-negative integer in range";
                    else
                        cfg.*member = static_cast<type>(n);
                }
            },
            *field);
        if (!err.empty())
            return err;
    }
    return "";
}

std::string apply_devices(const json& arr, std::vector<dma_device_config>& devices) {
    if (!arr.is_array() || arr.empty())
        return "\"devices\" must be a non-empty array";
    std::vector<dma_device_config> out;
    for (const json& d : arr) {
        if (!d.is_object())
            return "each device must be an object";
        dma_device_config dev;
        for (const auto& [key, value] : d.items()) {
            uint64_t n = 0;
            if (key == "rid") {
                if (!as_u64(value, n) || n > 0xffff)
                    return "device rid must be 0..0xffff";
                dev.rid = static_cast<uint16_t>(n);
            } else if (key == "ats" || key == "pasid") {
                if (!value.is_boolean())
                    return "device " + key + " must be true or false";
                (key == "ats" ? dev.ats : dev.pasid) = value.get<bool>();
            } else if (key == "devtlb_latency_ns") {
                if (!as_u64(value, n))
                    return "device devtlb_latency_ns must be a non-negative integer";
                dev.devtlb_latency_ns = n;
            } else if (key == "devtlb_entries") {
                if (!as_u64(value, n) || n == 0 || n > 65536)
                    return "device devtlb_entries must be 1..65536";
                dev.devtlb_entries = static_cast<unsigned>(n);
            } else {
                return "unknown device setting \"" + key + "\"";
            }
        }
        out.push_back(dev);
    }
    devices = std::move(out);
    return "";
}

}  // namespace

std::string apply_config_json(const std::string& text, platform_config& config) {
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::parse_error& e) {
        return std::string("not valid JSON: ") + e.what();
    }
    if (!doc.is_object())
        return "the configuration must be a JSON object";
    platform_config next = config;
    for (const auto& [key, value] : doc.items()) {
        std::string err;
        if (key == "iommu") {
            err = apply_iommu(value, next.iommu);
        } else if (key == "devices") {
            err = apply_devices(value, next.devices);
        } else if (key == "iotlb") {
            if (!value.is_string())
                return "\"iotlb\" must be a string";
            next.iotlb = value.get<std::string>();
        } else {
            err = "unknown setting \"" + key + "\"";
        }
        if (!err.empty())
            return err;
    }
    if (std::string err = next.validate(); !err.empty())
        return err;
    config = next;
    return "";
}

std::string load_config_file(const std::string& path, platform_config& config) {
    std::ifstream in(path);
    if (!in)
        return "cannot read " + path;
    std::stringstream text;
    text << in.rdbuf();
    const std::string err = apply_config_json(text.str(), config);
    return err.empty() ? "" : path + ": " + err;
}

}  // namespace iommusim::program
