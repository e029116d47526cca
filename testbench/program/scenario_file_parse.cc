// Reading a scenario file: YAML (yaml-cpp) into a scenario_document, every key, type, range and
// reference checked before anything runs.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "iommusim/hw/vtd_fault.h"
#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_tables.h"
#include "platform/platform.h"
#include "program/config_file.h"
#include "program/parse_number.h"
#include "program/scenario_file.h"

namespace iommusim::program {

namespace {

using json = nlohmann::json;

using hw::page_size_4k;
constexpr uint64_t gva_limit = 1ull << 48;           // 4-level first-stage paging: 48-bit input addresses
constexpr uint32_t pasid_limit = 1u << 20;           // PASIDs are 20 bits (VT-d 3.4 "PASID")
constexpr uint64_t max_wait_ns = 1'000'000'000'000;  // a wait step: 1000 s of simulated time at most
constexpr unsigned table_levels = 4;                 // the guest's stage-1 tables (guest_memory's default)
constexpr const char* step_kinds =
    "dma, remap, unmap, map, entry_bits, invalidate, expect_stale_hits, wait, random, pri_dma, storm, "
    "dirty_tracking";

// An error at a node: its line and the key it is under.
struct file_error {
    unsigned line;
    std::string key;
    std::string what;
};

[[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what) {
    throw file_error{static_cast<unsigned>(at.Mark().line + 1), key, what};
}

std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

// A mapping's keys must all be among `allowed`.
void check_keys(const YAML::Node& map, const std::string& where, std::initializer_list<const char*> allowed) {
    if (!map.IsMap()) {
        fail(map, where, "must be a mapping");
    }
    for (const auto& kv : map) {
        const std::string key = kv.first.as<std::string>();
        if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
            std::string known;
            for (const char* a : allowed) {
                known += (known.empty() ? "" : ", ") + std::string(a);
            }
            fail(kv.first, where.empty() ? key : where + "." + key, "unknown key (known: " + known + ")");
        }
    }
}

std::string scalar(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) {
        fail(n, key, "must be a single value");
    }
    return n.Scalar();
}

uint64_t number(const YAML::Node& n, const std::string& key, uint64_t min = 0, uint64_t max = UINT64_MAX) {
    uint64_t v = 0;
    if (!parse_u64(scalar(n, key), v)) {
        fail(n, key, "must be a non-negative integer (decimal or 0x hexadecimal), not '" + n.Scalar() + "'");
    }
    if (v < min || v > max) {
        fail(n, key, "must be " + std::to_string(min) + ".." + std::to_string(max) + ", not " + n.Scalar());
    }
    return v;
}

uint8_t byte_value(const YAML::Node& n, const std::string& key) {
    return static_cast<uint8_t>(number(n, key, 0, 255));
}

bool boolean(const YAML::Node& n, const std::string& key) {
    const std::string s = scalar(n, key);
    if (s == "true") {
        return true;
    }
    if (s == "false") {
        return false;
    }
    fail(n, key, "must be true or false, not '" + s + "'");
}

double ratio(const YAML::Node& n, const std::string& key) {
    const std::string s = scalar(n, key);
    std::size_t used = 0;
    double v = -1;
    try {
        v = std::stod(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != s.size() || !(v >= 0 && v <= 1)) {
        fail(n, key, "must be a number from 0 to 1, not '" + s + "'");
    }
    return v;
}

// A size with an optional K, M or G suffix (binary multiples): 4096, 4K, 64M, 1G.
uint64_t size_value(const YAML::Node& n, const std::string& key) {
    std::string s = scalar(n, key);
    uint64_t mult = 1;
    if (!s.empty()) {
        switch (s.back()) {
            case 'K':
                mult = 1ull << 10;
                break;
            case 'M':
                mult = 1ull << 20;
                break;
            case 'G':
                mult = 1ull << 30;
                break;
            default:
                break;
        }
    }
    if (mult != 1) {
        s.pop_back();
    }
    uint64_t v = 0;
    if (!parse_u64(s, v) || v == 0 || v > UINT64_MAX / mult) {
        fail(n, key, "must be a size in bytes (e.g. 4096, 4K, 64M, 1G), not '" + n.Scalar() + "'");
    }
    return v * mult;
}

// The level of a stage-1 leaf of the given size.
unsigned leaf_level(const YAML::Node& n, const std::string& key) {
    const std::string s = scalar(n, key);
    if (s == "4K") {
        return 1;
    }
    if (s == "2M") {
        return 2;
    }
    if (s == "1G") {
        return 3;
    }
    fail(n, key, "must be 4K, 2M or 1G, not '" + s + "'");
}

// The errno names an invalidation may expect (the ones IOMMU_HWPT_INVALIDATE returns,
// drivers/iommu/iommufd/hw_pagetable.c and drivers/iommu/intel/nested.c).
int errno_by_name(const std::string& name) {
    static const std::map<std::string, int> names = {
        {"EINVAL", EINVAL}, {"EFAULT", EFAULT},       {"ENOENT", ENOENT}, {"EOPNOTSUPP", EOPNOTSUPP},
        {"E2BIG", E2BIG},   {"EOVERFLOW", EOVERFLOW}, {"ENOMEM", ENOMEM}, {"EBUSY", EBUSY},
        {"ENODEV", ENODEV}, {"EPERM", EPERM},         {"EIO", EIO},       {"ETIMEDOUT", ETIMEDOUT},
    };
    const auto it = names.find(name);
    return it == names.end() ? 0 : it->second;
}

// The platform mapping as the JSON of a --config file: unquoted true/false become booleans and
// decimal integers numbers; everything else stays a string (config_file.cc reads "0x.." strings as
// numbers).
json to_json(const YAML::Node& n) {
    if (n.IsMap()) {
        json o = json::object();
        for (const auto& kv : n) {
            const std::string key = kv.first.as<std::string>();
            if (o.contains(key)) {
                fail(kv.first, "platform." + key, "given more than once");
            }
            o[key] = to_json(kv.second);
        }
        return o;
    }
    if (n.IsSequence()) {
        json a = json::array();
        for (const auto& e : n) {
            a.push_back(to_json(e));
        }
        return a;
    }
    if (!n.IsScalar()) {
        return nullptr;
    }
    const std::string& s = n.Scalar();
    if (n.Tag() != "!") {  // "!" marks a quoted scalar: always a string
        if (s == "true" || s == "false") {
            return s == "true";
        }
        if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            uint64_t v = 0;
            if (parse_u64(s, v)) {
                return v;
            }
        }
    }
    return s;
}

// The 4 KiB pages stage-1 maps, as the steps before the current one left them (for checking that
// remap and unmap name present leaves, and the random stream's window is all 4 KiB leaves).
class mapping_model {
  public:
    void map(const file_mapping& m) { m_leaves[m.gva] = m.level; }
    // The leaf covering gva (its GVA), or nullopt.
    std::optional<uint64_t> leaf_of(uint64_t gva) const {
        auto it = m_leaves.upper_bound(gva);
        if (it == m_leaves.begin()) {
            return std::nullopt;
        }
        --it;
        if (gva - it->first < hw::level_page_bytes(it->second)) {
            return it->first;
        }
        return std::nullopt;
    }
    unsigned level_at(uint64_t leaf_gva) const { return m_leaves.at(leaf_gva); }
    void unmap(uint64_t leaf_gva) { m_leaves.erase(leaf_gva); }
    bool overlaps(const file_mapping& m) const {
        const uint64_t end = m.gva + hw::level_page_bytes(m.level);
        auto it = m_leaves.lower_bound(m.gva);
        if (it != m_leaves.end() && it->first < end) {
            return true;
        }
        return leaf_of(m.gva).has_value();
    }

  private:
    std::map<uint64_t, unsigned> m_leaves;  // leaf GVA -> level
};

class parser {
  public:
    explicit parser(scenario_document& doc) : m_doc(doc) {}

    void document(const YAML::Node& root) {
        check_keys(root, "", {"name", "description", "seed", "platform", "guest", "stage1", "setup", "steps"});
        if (root["name"]) {
            m_doc.name = scalar(root["name"], "name");
        }
        if (root["description"]) {
            m_doc.description = scalar(root["description"], "description");
        }
        if (root["seed"]) {
            m_doc.seed = number(root["seed"], "seed");
        }
        if (const YAML::Node p = root["platform"]) {
            platform(p);
        }
        if (const YAML::Node g = root["guest"]) {
            guest(g);
        }
        if (const YAML::Node s = root["stage1"]) {
            stage1(s);
        }
        if (const YAML::Node s = root["setup"]) {
            setup(s);
        }
        const YAML::Node steps = root["steps"];
        if (!steps) {
            fail(root, "steps", "missing: a scenario needs at least one step");
        }
        if (!steps.IsSequence() || steps.size() == 0) {
            fail(steps, "steps", "must be a non-empty list of steps");
        }
        for (std::size_t i = 0; i < steps.size(); ++i) {
            step(steps[i], "steps[" + std::to_string(i) + "]");
        }
        for (std::size_t i = 0; i < m_doc.steps.size(); ++i) {
            const bool storm = std::holds_alternative<storm_step>(m_doc.steps[i].body);
            const bool dirty = std::holds_alternative<dirty_tracking_step>(m_doc.steps[i].body);
            if ((storm || dirty) && (steps.size() > 1 || root["guest"] || root["stage1"] || root["setup"])) {
                fail(steps[i], "steps[" + std::to_string(i) + (storm ? "].storm" : "].dirty_tracking"),
                     std::string("brings its own setup (the built-in ") +
                         (storm ? "invalidation-storm" : "dirty-tracking") +
                         "'s): the file has no guest, stage1 or setup and no other step");
            }
        }
        check_table_space(root["guest"] ? root["guest"] : root);
    }

  private:
    // The guest builds its stage-1 tables from the top of RAM down, above every page it uses for
    // data (guest_memory::keep_tables_above): they must fit, or the run could not start.
    void check_table_space(const YAML::Node& at) {
        std::vector<file_mapping> all = m_doc.stage1;
        for (const file_step& st : m_doc.steps) {
            if (const auto* m = std::get_if<map_step>(&st.body)) {
                all.push_back(m->mapping);
            }
            if (const auto* p = std::get_if<pri_dma_step>(&st.body); p && p->fault && p->fault->map) {
                all.push_back(*p->fault->map);
            }
        }
        uint64_t data_top = 0;
        for (const auto& [name, page] : m_doc.pages) {
            data_top = std::max(data_top, page.gpa + page_size_4k);
        }
        // One table per distinct index prefix above each leaf: PDPTs, PDs and PTs, plus the PML4.
        std::set<std::pair<unsigned, uint64_t>> tables;
        for (const file_mapping& m : all) {
            data_top = std::max(data_top, m.gpa + hw::level_page_bytes(m.level));
            for (unsigned level = m.level; level < table_levels; ++level) {
                tables.insert({level, m.gva / hw::level_page_bytes(level + 1)});
            }
        }
        const uint64_t table_pages = 1 + tables.size();
        if (data_top + table_pages * page_size_4k > m_doc.ram_bytes) {
            fail(at, "guest.ram",
                 hex(m_doc.ram_bytes) + " bytes of guest RAM hold the data up to GPA " + hex(data_top) +
                     " but not the " + std::to_string(table_pages) + " stage-1 table page(s) above it");
        }
    }

    void platform(const YAML::Node& p) {
        if (!p.IsMap()) {
            fail(p, "platform", "must be a mapping of --config settings");
        }
        m_doc.platform_json = to_json(p).dump();
        platform_config scratch;
        if (const std::string err = apply_config_json(m_doc.platform_json, scratch); !err.empty()) {
            fail(p, "platform", err);
        }
        if (const std::string err = scratch.validate(); !err.empty()) {
            fail(p, "platform", err);
        }
        // The own devices the program attached come after the configured ones (platform::attach).
        m_platform_devices = scratch.devices.size() + platform::attached_device_count();
    }

    void guest(const YAML::Node& g) {
        check_keys(g, "guest", {"ram", "pages"});
        if (g["ram"]) {
            m_doc.ram_bytes = size_value(g["ram"], "guest.ram");
            if (m_doc.ram_bytes % page_size_4k) {
                fail(g["ram"], "guest.ram", "must be whole 4 KiB pages");
            }
        }
        if (const YAML::Node pages = g["pages"]) {
            if (!pages.IsMap()) {
                fail(pages, "guest.pages", "must be a mapping NAME: {gpa, fill}");
            }
            for (const auto& kv : pages) {
                const std::string name = kv.first.as<std::string>();
                const std::string key = "guest.pages." + name;
                check_keys(kv.second, key, {"gpa", "fill"});
                if (!kv.second["gpa"] || !kv.second["fill"]) {
                    fail(kv.second, key, "needs gpa and fill");
                }
                file_page page;
                page.gpa = number(kv.second["gpa"], key + ".gpa");
                if (page.gpa % page_size_4k || page.gpa >= m_doc.ram_bytes) {
                    fail(kv.second["gpa"], key + ".gpa",
                         "must be a 4 KiB-aligned GPA inside guest RAM (" + hex(m_doc.ram_bytes) + " bytes)");
                }
                page.fill = byte_value(kv.second["fill"], key + ".fill");
                m_doc.pages[name] = page;
            }
        }
    }

    // `page: NAME` or a GPA under `gpa_key`.
    uint64_t gpa_or_page(const YAML::Node& n, const std::string& where, const char* gpa_key) {
        const bool has_gpa = n[gpa_key].IsDefined();
        const bool has_page = n["page"].IsDefined();
        if (has_gpa == has_page) {
            fail(n, where, std::string("needs exactly one of ") + gpa_key + " and page");
        }
        if (has_page) {
            return page_gpa(n["page"], where + ".page");
        }
        const uint64_t gpa = number(n[gpa_key], where + "." + gpa_key);
        if (gpa >= m_doc.ram_bytes) {
            fail(n[gpa_key], where + "." + gpa_key, hex(gpa) + " is outside guest RAM (" + hex(m_doc.ram_bytes) + ")");
        }
        return gpa;
    }

    uint64_t page_gpa(const YAML::Node& n, const std::string& key) {
        const std::string name = scalar(n, key);
        const auto it = m_doc.pages.find(name);
        if (it == m_doc.pages.end()) {
            fail(n, key, "no guest page named '" + name + "' (guest.pages)");
        }
        return it->second.gpa;
    }

    void stage1(const YAML::Node& s) {
        if (!s.IsSequence()) {
            fail(s, "stage1", "must be a list of mappings {gva, gpa | page, size, write}");
        }
        for (std::size_t i = 0; i < s.size(); ++i) {
            m_doc.stage1.push_back(mapping(s[i], "stage1[" + std::to_string(i) + "]"));
        }
    }

    // One stage-1 leaf {gva, gpa | page, size, write}, which no present mapping may overlap.
    file_mapping mapping(const YAML::Node& m, const std::string& where) {
        check_keys(m, where, {"gva", "gpa", "page", "size", "write"});
        if (!m["gva"]) {
            fail(m, where, "needs gva");
        }
        file_mapping fm;
        fm.gva = number(m["gva"], where + ".gva", 0, gva_limit - 1);
        fm.gpa = gpa_or_page(m, where, "gpa");
        if (m["size"]) {
            fm.level = leaf_level(m["size"], where + ".size");
        }
        if (m["write"]) {
            fm.writable = boolean(m["write"], where + ".write");
        }
        const uint64_t bytes = hw::level_page_bytes(fm.level);
        if (fm.gva % bytes || fm.gpa % bytes) {
            fail(m, where, "gva and gpa must be aligned to the page size (" + hex(bytes) + ")");
        }
        if (fm.gpa + bytes > m_doc.ram_bytes) {
            fail(m, where, "the page at GPA " + hex(fm.gpa) + " does not fit in guest RAM");
        }
        if (m_model.overlaps(fm)) {
            fail(m, where, "overlaps a present mapping");
        }
        m_model.map(fm);
        return fm;
    }

    unsigned device_index(const YAML::Node& n, const std::string& key) {
        const auto d = static_cast<unsigned>(number(n, key, 0, 1023));
        if (m_doc.devices && std::find(m_doc.devices->begin(), m_doc.devices->end(), d) == m_doc.devices->end()) {
            fail(n, key, "device " + std::to_string(d) + " is not attached (setup.devices)");
        }
        if (!m_doc.devices && m_platform_devices && d >= *m_platform_devices) {
            fail(n, key, "the platform has " + std::to_string(*m_platform_devices) + " device(s)");
        }
        return d;
    }

    void setup(const YAML::Node& s) {
        check_keys(s, "setup", {"devices", "fault_queue"});
        if (const YAML::Node f = s["fault_queue"]) {
            m_doc.fault_queue = boolean(f, "setup.fault_queue");
        }
        if (const YAML::Node d = s["devices"]) {
            if (!d.IsSequence() || d.size() == 0) {
                fail(d, "setup.devices", "must be a non-empty list of device indices (vfioN)");
            }
            std::vector<unsigned> devs;
            for (std::size_t i = 0; i < d.size(); ++i) {
                const auto n = static_cast<unsigned>(number(d[i], "setup.devices", 0, 1023));
                if (m_platform_devices && n >= *m_platform_devices) {
                    fail(d[i], "setup.devices",
                         "the platform has " + std::to_string(*m_platform_devices) + " device(s)");
                }
                if (std::find(devs.begin(), devs.end(), n) != devs.end()) {
                    fail(d[i], "setup.devices", "device " + std::to_string(n) + " is listed twice");
                }
                devs.push_back(n);
            }
            m_doc.devices = devs;
        }
    }

    void step(const YAML::Node& n, const std::string& where) {
        if (!n.IsMap() || n.size() != 1) {
            fail(n, where, "a step is a mapping with one key: " + std::string(step_kinds));
        }
        const std::string kind = n.begin()->first.as<std::string>();
        const YAML::Node body = n.begin()->second;
        const std::string key = where + "." + kind;
        file_step st;
        st.line = static_cast<unsigned>(n.Mark().line + 1);
        if (kind == "dma") {
            st.body = dma(body, key);
        } else if (kind == "remap") {
            st.body = remap(body, key);
        } else if (kind == "unmap") {
            st.body = unmap(body, key);
        } else if (kind == "map") {
            st.body = map_step{mapping(body, key)};
        } else if (kind == "entry_bits") {
            st.body = entry_bits(body, key);
        } else if (kind == "invalidate") {
            st.body = invalidate(body, key);
        } else if (kind == "expect_stale_hits") {
            st.body = stale_hits_step{number(body, key)};
        } else if (kind == "wait") {
            check_keys(body, key, {"ns"});
            if (!body["ns"]) {
                fail(body, key, "needs ns");
            }
            st.body = wait_step{number(body["ns"], key + ".ns", 1, max_wait_ns)};
        } else if (kind == "random") {
            st.body = random(body, key);
        } else if (kind == "pri_dma") {
            st.body = pri_dma(body, key);
        } else if (kind == "storm") {
            st.body = storm(body, key, n);
        } else if (kind == "dirty_tracking") {
            st.body = dirty_tracking(body, key, n);
        } else {
            fail(n.begin()->first, key, "unknown step (known: " + std::string(step_kinds) + ")");
        }
        m_doc.steps.push_back(std::move(st));
    }

    // A parameter of a built-in scenario given as a step's field: its default and range are the
    // built-in's (scenario.cc).
    static uint64_t builtin_param(const YAML::Node& n, const std::string& where, const char* scenario_name,
                                  const char* name) {
        for (const scenario_param& p : find_scenario(scenario_name)->params) {
            if (p.name == name) {
                return n[name] ? number(n[name], where + "." + name, p.min, p.max) : p.default_value;
            }
        }
        throw std::logic_error(std::string(scenario_name) + " declares no parameter " + name);
    }

    static std::optional<uint64_t> step_seed(const YAML::Node& n, const std::string& where) {
        return n["seed"] ? std::optional<uint64_t>(number(n["seed"], where + ".seed")) : std::nullopt;
    }

    // `step` locates an empty body (YAML marks a null value at the next line).
    storm_step storm(const YAML::Node& n, const std::string& where, const YAML::Node& step) {
        if (n.IsNull()) {
            fail(step, where, "must be a mapping of the storm's parameters (an empty one: {})");
        }
        check_keys(n, where, {"seed", "rounds", "pages", "data_pages", "max_batch", "max_range_pages"});
        const auto param = [&](const char* name) {
            return static_cast<unsigned>(builtin_param(n, where, "invalidation-storm", name));
        };
        return storm_step{step_seed(n, where), storm_params{param("rounds"), param("pages"), param("data_pages"),
                                                            param("max_batch"), param("max_range_pages")}};
    }

    dirty_tracking_step dirty_tracking(const YAML::Node& n, const std::string& where, const YAML::Node& step) {
        if (n.IsNull()) {
            fail(step, where, "must be a mapping of the migration's parameters (an empty one: {})");
        }
        check_keys(n, where, {"seed", "rounds", "pages", "writes"});
        const auto param = [&](const char* name) { return builtin_param(n, where, "dirty-tracking", name); };
        return dirty_tracking_step{step_seed(n, where),
                                   dirty_tracking_params{param("rounds"), param("pages"), param("writes")}};
    }

    // A pri_dma step: a dma step's keys (without pasid) and how the VMM answers its page fault.
    pri_dma_step pri_dma(const YAML::Node& n, const std::string& where) {
        check_keys(n, where, {"device", "gva", "len", "write", "data", "expect", "fault"});
        if (!m_doc.fault_queue) {
            fail(n, where, "needs setup.fault_queue: true (the VMM reads page faults from the fault fd)");
        }
        pri_dma_step p;
        p.dma = dma(n, where, true);
        const YAML::Node f = n["fault"];
        if (!f) {
            return p;
        }
        const std::string fk = where + ".fault";
        check_keys(f, fk, {"map", "response"});
        pri_fault fault;
        if (const YAML::Node r = f["response"]) {
            const std::string s = scalar(r, fk + ".response");
            if (s != "success" && s != "invalid") {
                fail(r, fk + ".response", "must be success or invalid, not '" + s + "'");
            }
            fault.success = s == "success";
        }
        if (const YAML::Node m = f["map"]) {
            if (!fault.success) {
                fail(m, fk + ".map", "a fault answered invalid fixes nothing (map needs response: success)");
            }
            check_keys(m, fk + ".map", {"gpa", "page", "write"});
            file_mapping fm;
            fm.gva = p.dma.gva & ~(page_size_4k - 1);
            fm.gpa = gpa_or_page(m, fk + ".map", "gpa");
            if (m["write"]) {
                fm.writable = boolean(m["write"], fk + ".map.write");
            }
            if (fm.gpa % page_size_4k) {
                fail(m, fk + ".map", "the GPA must be 4 KiB-aligned");
            }
            if (m_model.overlaps(fm)) {
                fail(m, fk + ".map", "GVA " + hex(fm.gva) + " is mapped at this step: there is no hole to fill");
            }
            m_model.map(fm);
            fault.map = fm;
        }
        if (!fault.success && n["expect"]) {
            fail(n["expect"], where + ".expect", "an access answered invalid fails: there is nothing to expect");
        }
        p.fault = fault;
        return p;
    }

    dma_step dma(const YAML::Node& n, const std::string& where, bool pri = false) {
        if (!pri) {
            check_keys(n, where, {"device", "gva", "len", "write", "data", "pasid", "expect"});
        }
        if (!n["gva"] || !n["len"]) {
            fail(n, where, "needs gva and len");
        }
        dma_step d;
        d.device = n["device"] ? device_index(n["device"], where + ".device") : first_device();
        d.gva = number(n["gva"], where + ".gva", 0, gva_limit - 1);
        d.len = number(n["len"], where + ".len", 1, page_size_4k);
        if (n["write"]) {
            d.write = boolean(n["write"], where + ".write");
        }
        if (n["data"]) {
            if (!d.write) {
                fail(n["data"], where + ".data", "is the byte a write writes (a read expects data under expect)");
            }
            d.data = byte_value(n["data"], where + ".data");
        }
        if (n["pasid"]) {
            d.pasid = static_cast<uint32_t>(number(n["pasid"], where + ".pasid", 0, pasid_limit - 1));
            d.has_pasid = true;
        }
        if (const YAML::Node e = n["expect"]) {
            const std::string ek = where + ".expect";
            check_keys(e, ek, {"data", "page", "fault"});
            if (e.size() != 1) {
                fail(e, ek, "needs exactly one of data, page, fault");
            }
            if (e["data"]) {
                if (d.write) {
                    fail(e["data"], ek + ".data", "a write has no data to compare (expect page: NAME or fault)");
                }
                d.expect.what = dma_expect::kind::data;
                d.expect.byte = byte_value(e["data"], ek + ".data");
            } else if (e["page"]) {
                page_gpa(e["page"], ek + ".page");
                d.expect.what = dma_expect::kind::page;
                d.expect.page = e["page"].Scalar();
                if ((d.gva % page_size_4k) + d.len > page_size_4k) {
                    fail(e["page"], ek + ".page", "the DMA crosses a 4 KiB page boundary");
                }
            } else if (scalar(e["fault"], ek + ".fault") == "none") {
                d.expect.what = dma_expect::kind::success;
            } else {
                const auto reason = number(e["fault"], ek + ".fault", 1, 255);
                if (hw::fault_reason_name(static_cast<hw::fault_reason>(reason)) == "unknown fault reason") {
                    fail(e["fault"], ek + ".fault", hex(reason) + " is not a VT-d fault reason");
                }
                d.expect.what = dma_expect::kind::fault;
                d.expect.fault_reason = static_cast<uint32_t>(reason);
            }
        }
        return d;
    }

    // The leaf GVA of a present stage-1 mapping covering gva, else an error at `n`.
    uint64_t present_leaf(const YAML::Node& n, const std::string& key, uint64_t gva) {
        const auto leaf = m_model.leaf_of(gva);
        if (!leaf) {
            fail(n, key, "no present stage-1 mapping covers GVA " + hex(gva) + " at this step");
        }
        return *leaf;
    }

    remap_step remap(const YAML::Node& n, const std::string& where) {
        check_keys(n, where, {"gva", "to", "page"});
        if (!n["gva"]) {
            fail(n, where, "needs gva");
        }
        remap_step r;
        r.gva = number(n["gva"], where + ".gva", 0, gva_limit - 1);
        const uint64_t leaf = present_leaf(n["gva"], where + ".gva", r.gva);
        r.gpa = gpa_or_page(n, where, "to");
        const uint64_t bytes = hw::level_page_bytes(m_model.level_at(leaf));
        if (r.gpa % bytes || r.gpa + bytes > m_doc.ram_bytes) {
            fail(n, where, "the new page must be aligned to the leaf's size (" + hex(bytes) + ") and fit in guest RAM");
        }
        r.gva = leaf;
        return r;
    }

    unmap_step unmap(const YAML::Node& n, const std::string& where) {
        check_keys(n, where, {"gva"});
        if (!n["gva"]) {
            fail(n, where, "needs gva");
        }
        const uint64_t gva = number(n["gva"], where + ".gva", 0, gva_limit - 1);
        const uint64_t leaf = present_leaf(n["gva"], where + ".gva", gva);
        m_model.unmap(leaf);
        return unmap_step{leaf};
    }

    entry_bits_step entry_bits(const YAML::Node& n, const std::string& where) {
        check_keys(n, where, {"gva", "level", "set", "clear"});
        if (!n["gva"] || !n["level"] || (!n["set"] && !n["clear"])) {
            fail(n, where, "needs gva, level and set or clear (bit masks)");
        }
        entry_bits_step e;
        e.gva = number(n["gva"], where + ".gva", 0, gva_limit - 1);
        e.level = static_cast<unsigned>(number(n["level"], where + ".level", 1, table_levels));
        if (n["set"]) {
            e.set = number(n["set"], where + ".set");
        }
        if (n["clear"]) {
            e.clear = number(n["clear"], where + ".clear");
        }
        // The entry exists when a present leaf at or below that level covers the GVA.
        const uint64_t leaf = present_leaf(n["gva"], where + ".gva", e.gva);
        if (m_model.level_at(leaf) > e.level) {
            fail(n["level"], where + ".level",
                 "GVA " + hex(e.gva) + " is mapped by a level-" + std::to_string(m_model.level_at(leaf)) +
                     " leaf: there is no level-" + std::to_string(e.level) + " entry on its path");
        }
        return e;
    }

    invalidate_step invalidate(const YAML::Node& n, const std::string& where) {
        check_keys(n, where, {"device", "entries", "expect"});
        invalidate_step inv;
        inv.device = n["device"] ? device_index(n["device"], where + ".device") : first_device();
        const YAML::Node entries = n["entries"];
        if (!entries || !entries.IsSequence()) {
            fail(entries ? entries : n, where + ".entries", "needs a list of {addr, npages, leaf}");
        }
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const std::string ek = where + ".entries[" + std::to_string(i) + "]";
            check_keys(entries[i], ek, {"addr", "npages", "leaf"});
            if (!entries[i]["addr"] || !entries[i]["npages"]) {
                fail(entries[i], ek, "needs addr and npages");
            }
            // Any value goes: the kernel's answer to a bad one (EINVAL) is what a step may expect.
            invalidate_entry e;
            e.addr = number(entries[i]["addr"], ek + ".addr");
            e.npages = number(entries[i]["npages"], ek + ".npages");
            if (entries[i]["leaf"]) {
                e.leaf = boolean(entries[i]["leaf"], ek + ".leaf");
            }
            inv.entries.push_back(e);
        }
        if (const YAML::Node e = n["expect"]) {
            const std::string s = scalar(e, where + ".expect");
            if (s != "ok") {
                inv.expect_errno = errno_by_name(s);
                if (!inv.expect_errno) {
                    fail(e, where + ".expect",
                         "must be ok or an errno name (EINVAL, EFAULT, EOPNOTSUPP, ...), not '" + s + "'");
                }
            }
        }
        return inv;
    }

    random_step random(const YAML::Node& n, const std::string& where) {
        check_keys(n, where,
                   {"seed", "count", "device", "devices", "gva", "pages", "write_ratio", "remap_ratio", "invalidate",
                    "targets"});
        if (!n["count"] || !n["gva"] || !n["pages"]) {
            fail(n, where, "needs count, gva and pages");
        }
        random_step r;
        if (n["seed"]) {
            r.seed = number(n["seed"], where + ".seed");
        }
        r.count = number(n["count"], where + ".count", 1, 1'000'000);
        if (n["device"] && n["devices"]) {
            fail(n, where, "give device or devices, not both");
        }
        if (const YAML::Node d = n["devices"]) {
            if (!d.IsSequence() || d.size() == 0) {
                fail(d, where + ".devices", "must be a non-empty list of device indices");
            }
            for (std::size_t i = 0; i < d.size(); ++i) {
                r.devices.push_back(device_index(d[i], where + ".devices"));
            }
        } else {
            r.devices.push_back(n["device"] ? device_index(n["device"], where + ".device") : first_device());
        }
        r.gva = number(n["gva"], where + ".gva", 0, gva_limit - 1);
        r.pages = number(n["pages"], where + ".pages", 1, 1u << 20);
        if (r.gva % page_size_4k) {
            fail(n["gva"], where + ".gva", "must be 4 KiB-aligned");
        }
        for (uint64_t p = 0; p < r.pages; ++p) {
            const uint64_t gva = r.gva + p * page_size_4k;
            const auto leaf = m_model.leaf_of(gva);
            if (!leaf || m_model.level_at(*leaf) != 1) {
                fail(n["pages"], where + ".pages",
                     "GVA " + hex(gva) + " of the window is not a 4 KiB stage-1 mapping at this step");
            }
        }
        if (n["write_ratio"]) {
            r.write_ratio = ratio(n["write_ratio"], where + ".write_ratio");
        }
        if (n["remap_ratio"]) {
            r.remap_ratio = ratio(n["remap_ratio"], where + ".remap_ratio");
        }
        if (n["invalidate"]) {
            r.invalidate = boolean(n["invalidate"], where + ".invalidate");
        }
        if (const YAML::Node t = n["targets"]) {
            if (!t.IsSequence() || t.size() == 0) {
                fail(t, where + ".targets", "must be a non-empty list of guest page names");
            }
            for (std::size_t i = 0; i < t.size(); ++i) {
                r.targets.push_back(page_gpa(t[i], where + ".targets"));
            }
        } else {
            for (const auto& [name, page] : m_doc.pages) {
                r.targets.push_back(page.gpa);
            }
        }
        if (r.remap_ratio > 0 && r.targets.empty()) {
            fail(n, where, "remaps need target pages (guest.pages or targets)");
        }
        return r;
    }

    unsigned first_device() const { return m_doc.devices ? m_doc.devices->front() : 0; }

    scenario_document& m_doc;
    mapping_model m_model;
    std::optional<std::size_t> m_platform_devices;  // when the platform mapping lists them
};

}  // namespace

bool is_scenario_file_name(const std::string& name) {
    auto ends = [&](const std::string& suffix) {
        return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends(".yaml") || ends(".yml");
}

std::string parse_scenario_document(const std::string& text, const std::string& path, scenario_document& out) {
    scenario_document doc;
    doc.path = path;
    try {
        const YAML::Node root = YAML::Load(text);
        if (!root.IsMap()) {
            return path + ":1: the scenario must be a mapping (name, platform, guest, stage1, setup, steps)";
        }
        parser(doc).document(root);
    } catch (const YAML::Exception& e) {
        return path + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg;
    } catch (const file_error& e) {
        return path + ":" + std::to_string(e.line) + ": " + e.key + ": " + e.what;
    }
    if (doc.name.empty()) {
        doc.name = path;
    }
    out = std::move(doc);
    return "";
}

}  // namespace iommusim::program
