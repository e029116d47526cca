#include "program/config_file.h"

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <variant>
#include <vector>

namespace iommusim::program {

namespace {

using json = nlohmann::ordered_json;

// Where a field lives in its struct; one list per struct names every field a file may set.
template <typename S>
using member = std::variant<bool S::*, uint16_t S::*, unsigned S::*, uint64_t S::*, std::string S::*>;

template <typename S>
struct field {
    const char* name;
    member<S> ptr;
};

const std::vector<field<iommu_config>>& iommu_fields() {
    static const std::vector<field<iommu_config>> fields = {
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
        {"dwd", &iommu_config::dwd},
        {"drd", &iommu_config::drd},
        {"haw", &iommu_config::haw},
        {"qi", &iommu_config::qi},
        {"dt", &iommu_config::dt},
        {"ir", &iommu_config::ir},
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
        {"ssads", &iommu_config::ssads},
        {"rps", &iommu_config::rps},
        {"rprivs", &iommu_config::rprivs},
        {"pds", &iommu_config::pds},
        {"prs", &iommu_config::prs},
        {"smpwcs", &iommu_config::smpwcs},
        {"dit", &iommu_config::dit},
        {"adms", &iommu_config::adms},
        {"iotlb_sets", &iommu_config::iotlb_sets},
        {"iotlb_ways", &iommu_config::iotlb_ways},
        {"context_cache_entries", &iommu_config::context_cache_entries},
        {"pasid_cache_entries", &iommu_config::pasid_cache_entries},
        {"fs_psc_entries", &iommu_config::fs_psc_entries},
        {"ss_psc_entries", &iommu_config::ss_psc_entries},
        {"psc_enable", &iommu_config::psc_enable},
        {"stale_check", &iommu_config::stale_check},
        {"stale_report_limit", &iommu_config::stale_report_limit},
        {"cm_not_present_caching", &iommu_config::cm_not_present_caching},
        {"not_present_cache_entries", &iommu_config::not_present_cache_entries},
        {"iotlb_hit_ns", &iommu_config::iotlb_hit_ns},
        {"iotlb_cycle_ps", &iommu_config::iotlb_cycle_ps},
        {"cache_lookup_ns", &iommu_config::cache_lookup_ns},
        {"memory_latency_ns", &iommu_config::memory_latency_ns},
        {"mmio_ns", &iommu_config::mmio_ns},
        {"qi_fetch_ns", &iommu_config::qi_fetch_ns},
        {"qi_desc_process_ns", &iommu_config::qi_desc_process_ns},
        {"devtlb_ns", &iommu_config::devtlb_ns},
        {"devtlb_timeout_ns", &iommu_config::devtlb_timeout_ns},
        {"quantum_ns", &iommu_config::quantum_ns},
        {"phys_addr_bits", &iommu_config::phys_addr_bits},
    };
    return fields;
}

const std::vector<field<dma_device_config>>& device_fields() {
    static const std::vector<field<dma_device_config>> fields = {
        {"rid", &dma_device_config::rid},
        {"ats", &dma_device_config::ats},
        {"pri", &dma_device_config::pri},
        {"pasid", &dma_device_config::pasid},
        {"devtlb_latency_ns", &dma_device_config::devtlb_latency_ns},
        {"devtlb_entries", &dma_device_config::devtlb_entries},
    };
    return fields;
}

// The platform's own scalar fields ("iommu" and "devices" are the nested ones).
const std::vector<field<platform_config>>& platform_fields() {
    static const std::vector<field<platform_config>> fields = {
        {"iotlb", &platform_config::iotlb},
        {"iotlb_replacement", &platform_config::iotlb_replacement},
        {"waves", &platform_config::waves},
        {"driver_memory_base", &platform_config::driver_memory_base},
        {"driver_memory_size", &platform_config::driver_memory_size},
        {"user_memory_base", &platform_config::user_memory_base},
        {"driver_completion_interrupt", &platform_config::driver_completion_interrupt},
        {"cpu_lazy_sync", &platform_config::cpu_lazy_sync},
        {"seed", &platform_config::seed},
        {"timeline_interval_ns", &platform_config::timeline_interval_ns},
        {"log_file", &platform_config::log_file},
        {"log_level", &platform_config::log_level},
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

// Sets one field from its JSON value; "" or a message naming `path`.
template <typename S>
std::string set_field(S& s, const member<S>& ptr, const json& value, const std::string& path) {
    std::string err;
    std::visit(
        [&](auto m) {
            using type = std::remove_reference_t<decltype(s.*m)>;
            if constexpr (std::is_same_v<type, bool>) {
                if (!value.is_boolean()) {
                    err = path + " must be true or false";
                } else {
                    s.*m = value.get<bool>();
                }
            } else if constexpr (std::is_same_v<type, std::string>) {
                if (!value.is_string()) {
                    err = path + " must be a string";
                } else {
                    s.*m = value.get<std::string>();
                }
            } else {
                uint64_t n = 0;
                if (!as_u64(value, n) || n > std::numeric_limits<type>::max()) {
                    err = path + " must be an integer 0.." + std::to_string(std::numeric_limits<type>::max());
                } else {
                    s.*m = static_cast<type>(n);
                }
            }
        },
        ptr);
    return err;
}

template <typename S>
std::string apply_object(const json& obj, S& s, const std::vector<field<S>>& fields, const std::string& prefix) {
    for (const auto& [key, value] : obj.items()) {
        const field<S>* f = nullptr;
        for (const field<S>& candidate : fields) {
            if (key == candidate.name) {
                f = &candidate;
            }
        }
        if (!f) {
            return "unknown setting \"" + prefix + key + "\"";
        }
        if (std::string err = set_field(s, f->ptr, value, prefix + key); !err.empty()) {
            return err;
        }
    }
    return "";
}

template <typename S>
json object_json(const S& s, const std::vector<field<S>>& fields) {
    json out = json::object();
    for (const field<S>& f : fields) {
        std::visit([&](auto m) { out[f.name] = s.*m; }, f.ptr);
    }
    return out;
}

std::string apply_devices(const json& arr, std::vector<dma_device_config>& devices) {
    if (!arr.is_array() || arr.empty()) {
        return "\"devices\" must be a non-empty array";
    }
    std::vector<dma_device_config> out;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string prefix = "devices[" + std::to_string(i) + "].";
        if (!arr[i].is_object()) {
            return prefix.substr(0, prefix.size() - 1) + " must be an object";
        }
        dma_device_config dev;
        if (std::string err = apply_object(arr[i], dev, device_fields(), prefix); !err.empty()) {
            return err;
        }
        out.push_back(dev);
    }
    devices = std::move(out);
    return "";
}

// nlohmann::json keeps the last of two equal keys; a file that says a setting twice is refused
// instead. Tracks the keys seen per object while parsing and names the first repeated one.
class duplicate_key_finder {
  public:
    bool operator()(int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                m_stack.push_back({child_path(), {}, event == json::parse_event_t::array_start, 0});
                break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                m_stack.pop_back();
                break;
            case json::parse_event_t::key: {
                frame& top = m_stack.back();
                m_key = parsed.get<std::string>();
                if (!top.keys.insert(m_key).second && m_duplicate.empty()) {
                    m_duplicate = (top.path.empty() ? "" : top.path + ".") + m_key;
                }
                break;
            }
            case json::parse_event_t::value:
                if (!m_stack.empty() && m_stack.back().is_array) {
                    ++m_stack.back().index;
                }
                break;
        }
        return true;
    }
    const std::string& duplicate() const { return m_duplicate; }

  private:
    struct frame {
        std::string path;
        std::set<std::string> keys;
        bool is_array;
        std::size_t index;
    };
    // Path of the object or array that starts now: under the last key, or the next array element.
    std::string child_path() {
        if (m_stack.empty()) {
            return "";
        }
        frame& top = m_stack.back();
        if (top.is_array) {
            return top.path + "[" + std::to_string(top.index++) + "]";
        }
        return top.path.empty() ? m_key : top.path + "." + m_key;
    }
    std::vector<frame> m_stack;
    std::string m_key;
    std::string m_duplicate;
};

}  // namespace

namespace {

// "params": {"rounds": 800, ...}: which names and values a scenario takes is checked by the
// program against that scenario (program/scenario.h), here only their form.
std::string apply_params(const json& value, std::map<std::string, uint64_t>& params) {
    if (!value.is_object()) {
        return "\"params\" must be an object of scenario parameters";
    }
    std::map<std::string, uint64_t> next = params;
    for (const auto& [name, v] : value.items()) {
        if (!v.is_number_unsigned()) {
            return "\"params." + name + "\" must be a non-negative integer";
        }
        next[name] = v.get<uint64_t>();
    }
    params = std::move(next);
    return "";
}

}  // namespace

std::string apply_config_json(const std::string& text, platform_config& config) {
    json doc;
    duplicate_key_finder duplicates;
    try {
        doc = json::parse(text, std::ref(duplicates));
    } catch (const json::parse_error& e) {
        return std::string("not valid JSON: ") + e.what();
    }
    if (!duplicates.duplicate().empty()) {
        return "setting \"" + duplicates.duplicate() + "\" is given more than once";
    }
    if (!doc.is_object()) {
        return "the configuration must be a JSON object";
    }
    platform_config next = config;
    json scalars = json::object();
    for (const auto& [key, value] : doc.items()) {
        std::string err;
        if (key == "iommu") {
            err = value.is_object() ? apply_object(value, next.iommu, iommu_fields(), "iommu.")
                                    : "\"iommu\" must be an object";
        } else if (key == "devices") {
            err = apply_devices(value, next.devices);
        } else if (key == "params") {
            err = apply_params(value, next.params);
        } else {
            scalars[key] = value;
        }
        if (!err.empty()) {
            return err;
        }
    }
    if (std::string err = apply_object(scalars, next, platform_fields(), ""); !err.empty()) {
        return err;
    }
    if (std::string err = next.validate(); !err.empty()) {
        return err;
    }
    config = next;
    return "";
}

std::string config_json(const platform_config& config) {
    json out = object_json(config, platform_fields());
    out["iommu"] = object_json(config.iommu, iommu_fields());
    json devices = json::array();
    for (const dma_device_config& d : config.devices) {
        devices.push_back(object_json(d, device_fields()));
    }
    out["devices"] = devices;
    out["params"] = config.params;
    return out.dump();
}

std::string load_config_file(const std::string& path, platform_config& config) {
    std::ifstream in(path);
    if (!in) {
        return "cannot read " + path;
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string err = apply_config_json(text.str(), config);
    return err.empty() ? "" : path + ": " + err;
}

}  // namespace iommusim::program
