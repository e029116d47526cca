// The configuration file against its documentation. README "Configuration" must list every field
// of platform_config, iommu_config and dma_device_config (read here from their headers, not from
// the parser's own field list), each with its true default; every listed field must be settable
// from a file, to both ends of its documented range, and be refused by name just beyond them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "iommusim/iommusim.h"
#include "platform/output_file.h"
#include "program/config_file.h"
#include "program/resolve_config.h"

namespace iommusim::program {
namespace {

using json = nlohmann::json;
using fs_path = std::filesystem::path;

std::string read_source(const std::string& relative) {
    std::ifstream in(std::string(IOMMUSIM_SOURCE_DIR) + "/" + relative);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" `");
    const auto e = s.find_last_not_of(" `");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

struct documented_field {
    std::string name;  // iommu.mgaw, devices[].rid, seed
    std::string default_value;
    std::string allowed;
};

// The rows of the README table headed "| Field | Default | Allowed | Meaning |".
std::vector<documented_field> readme_fields() {
    std::istringstream in(read_source("README.md"));
    std::vector<documented_field> rows;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("| Field | Default | Allowed |", 0) == 0) {
            inside = true;
            continue;
        }
        if (!inside || line.rfind("| ---", 0) == 0) {
            continue;
        }
        if (line.empty() || line[0] != '|') {
            break;
        }
        std::vector<std::string> cells;
        std::stringstream cs(line.substr(1));
        for (std::string cell; std::getline(cs, cell, '|');) {
            cells.push_back(trim(cell));
        }
        if (cells.size() >= 3) {
            rows.push_back({cells[0], cells[1], cells[2]});
        }
    }
    return rows;
}

// Data members of `struct name { ... };` in a header (four-space indented declarations).
std::vector<std::string> struct_members(const std::string& header, const std::string& name) {
    const std::string text = read_source(header);
    const auto start = text.find("struct " + name + " {");
    if (start == std::string::npos) {
        return {};
    }
    const std::string body = text.substr(start, text.find("\n};", start) - start);
    static const std::regex member(R"(^    (?:[\w:<>]|, )+ ([a-z_0-9]+)\s*(=[^;]*)?;)");
    std::vector<std::string> out;
    std::istringstream in(body);
    std::smatch m;
    for (std::string line; std::getline(in, line);) {
        if (std::regex_search(line, m, member)) {
            out.push_back(m[1]);
        }
    }
    return out;
}

std::set<std::string> header_fields() {
    std::set<std::string> out;
    for (const std::string& f : struct_members("platform/platform_config.h", "platform_config")) {
        out.insert(f);
        if (f == "iommu") {
            out.erase(f);
        }
    }
    for (const std::string& f : struct_members("tlm/iommu_config.h", "iommu_config")) {
        out.insert("iommu." + f);
    }
    for (const std::string& f : struct_members("platform/platform_config.h", "dma_device_config")) {
        out.insert("devices[]." + f);
    }
    return out;
}

// Flattens a configuration's JSON into "iommu.mgaw" -> 48, "devices[0].rid" -> 256, ...
void flatten(const json& j, const std::string& path, std::map<std::string, json>& out) {
    if (j.is_object()) {
        for (const auto& [k, v] : j.items()) {
            flatten(v, path.empty() ? k : path + "." + k, out);
        }
    } else if (j.is_array()) {
        out[path + ".size"] = j.size();
        for (std::size_t i = 0; i < j.size(); ++i) {
            flatten(j[i], path + "[" + std::to_string(i) + "]", out);
        }
    } else {
        out[path] = j;
    }
}

std::map<std::string, json> flat(const platform_config& c) {
    std::map<std::string, json> out;
    flatten(json::parse(config_json(c)), "", out);
    return out;
}

// A file setting `name` (dotted, devices[] meaning the only device) to `value`, merged into `base`.
json with_field(json base, const std::string& name, const json& value) {
    if (name.rfind("devices[].", 0) == 0) {
        if (!base.contains("devices")) {
            base["devices"] = json::array({json::object()});
        }
        base["devices"][0][name.substr(10)] = value;
    } else if (name.rfind("iommu.", 0) == 0) {
        base["iommu"][name.substr(6)] = value;
    } else {
        base[name] = value;
    }
    return base;
}

// Settings a field's documented constraints need so that the field alone can be varied.
json companions(const std::string& name) {
    static const std::map<std::string, json> needs = {
        {"iommu.qi", {{"iommu", {{"smts", false}}}}},                           // scalable mode needs QI
        {"iommu.dt", {{"devices", json::array({{{"rid", 256}}})}}},             // ATS devices need DT
        {"iommu.devtlb_ns", {{"iommu", {{"devtlb_timeout_ns", 1000000000}}}}},  // time-out not below it
        {"iommu.devtlb_timeout_ns", {{"iommu", {{"devtlb_ns", 0}}}}},
        {"iommu.phys_addr_bits", {{"user_memory_base", "0x80000000"}}},  // memory below 2^bits
        {"iommu.iotlb_sets", {{"iotlb", "cpp"}}},                        // geometries beyond the verilated ones
        {"iommu.iotlb_ways", {{"iotlb", "cpp"}}},
        {"iommu.pds", {{"iommu", {{"prs", true}}}}},  // page-request drain needs page requests
        {"iommu.dit", {{"iommu", {{"dt", true}}}}},
        {"devices[].pri", {{"devices", json::array({{{"ats", true}}})}}},  // page requests need ATS
    };
    const auto it = needs.find(name);
    json base = it == needs.end() ? json::object() : it->second;
    if (name.rfind("devices[].", 0) == 0 && !base.contains("devices")) {
        base["devices"] = json::array({json::object()});
    }
    return base;
}

// "A..B" at the start of the Allowed column.
bool documented_range(const std::string& allowed, uint64_t& lo, uint64_t& hi) {
    static const std::regex range(R"(^(\d+)\.\.(\d+))");
    std::smatch m;
    if (!std::regex_search(allowed, m, range)) {
        return false;
    }
    lo = std::stoull(m[1]);
    hi = std::stoull(m[2]);
    return true;
}

json parse_default(const std::string& text) {
    if (text == "true" || text == "false") {
        return text == "true";
    }
    if (text == "\"\"") {
        return "";
    }
    if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) {
        return std::stoull(text, nullptr, 0);
    }
    return text;
}

// Values to set a field to, from its documented default and allowed values.
std::vector<json> values_to_try(const documented_field& f, const json& current) {
    uint64_t lo = 0, hi = 0;
    if (f.allowed == "true, false") {
        return {!current.get<bool>()};
    }
    if (documented_range(f.allowed, lo, hi)) {
        return {lo, hi};
    }
    if (f.allowed == "a path") {
        return {"out/run.vcd"};
    }
    if (f.allowed == "page aligned") {
        return {current.get<uint64_t>() + 0x100000};
    }
    if (f.allowed == "any 64-bit integer") {
        return {current.get<uint64_t>() + 1, std::numeric_limits<uint64_t>::max()};
    }
    std::vector<json> out;  // an enumeration: "cpp, rtl, lockstep"
    std::stringstream s(f.allowed);
    for (std::string word; std::getline(s, word, ',');) {
        out.push_back(trim(word));
    }
    return out;
}

// A file with `n` devices, distinct requester ids.
json devices_file(std::size_t n) {
    json devices = json::array();
    for (std::size_t i = 0; i < n; ++i) {
        devices.push_back({{"rid", 0x100 + i}});  // distinct for up to max_devices
    }
    return {{"devices", devices}};
}

TEST(ConfigDocumentation, ReadmeTableListsExactlyTheFieldsOfTheStructs) {
    const std::set<std::string> in_headers = header_fields();
    ASSERT_GT(in_headers.size(), 60u) << "the header parse found too few fields";
    std::set<std::string> in_readme;
    for (const documented_field& f : readme_fields()) {
        EXPECT_TRUE(in_readme.insert(f.name).second) << f.name << " is listed twice";
    }
    for (const std::string& f : in_headers) {
        EXPECT_TRUE(in_readme.count(f)) << f << " is a configuration field missing from README's table";
    }
    for (const std::string& f : in_readme) {
        EXPECT_TRUE(in_headers.count(f)) << f << " is in README's table but is no field of the structs";
    }
}

TEST(ConfigDocumentation, DocumentedDefaultsAreTheDefaults) {
    platform_config defaults;
    defaults.devices = {dma_device_config{}};  // device fields: a default-constructed device
    const auto actual = flat(defaults);
    const bool iotlb_from_env = std::getenv("IOMMUSIM_IOTLB") != nullptr;
    for (const documented_field& f : readme_fields()) {
        if (f.name == "devices" || f.name == "params" || (f.name == "iotlb" && iotlb_from_env)) {
            continue;  // the containers: their own tests
        }
        std::string key = f.name;
        if (key.rfind("devices[].", 0) == 0) {
            key = "devices[0]." + key.substr(10);
        }
        ASSERT_TRUE(actual.count(key)) << key;
        EXPECT_EQ(actual.at(key), parse_default(f.default_value)) << f.name;
    }
}

TEST(ConfigFile, EveryDocumentedFieldIsSettableAlone) {
    for (const documented_field& f : readme_fields()) {
        if (f.name == "devices" || f.name == "params") {
            continue;  // the list itself: SizesAreRefusedBeyondTheirBoundsByName; params: ScenarioParams*
        }
        const json base = companions(f.name);
        platform_config baseline;
        ASSERT_EQ(apply_config_json(base.dump(), baseline), "") << f.name;
        const auto before = flat(baseline);
        std::string key = f.name;
        if (key.rfind("devices[].", 0) == 0) {
            key = "devices[0]." + key.substr(10);
        }
        ASSERT_TRUE(before.count(key)) << f.name << " is not written back by config_json";
        for (const json& v : values_to_try(f, before.at(key))) {
            if (v == before.at(key)) {
                continue;
            }
            platform_config c;
            const std::string file = with_field(base, f.name, v).dump();
            ASSERT_EQ(apply_config_json(file, c), "") << file;
            const auto after = flat(c);
            EXPECT_EQ(after.at(key), v) << file;
            for (const auto& [k, old] : before) {
                if (k != key) {
                    EXPECT_EQ(after.at(k), old) << "setting " << f.name << " also changed " << k;
                }
            }
        }
    }
}

TEST(ConfigFile, PriWithoutAtsIsRefusedByName) {
    platform_config c;
    EXPECT_EQ(apply_config_json(R"({"devices": [{"pri": true}]})", c), "devices[0].pri: page requests need ats=true");
    platform_config ok;
    EXPECT_EQ(apply_config_json(R"({"devices": [{"ats": true, "pri": true}]})", ok), "");
    EXPECT_TRUE(ok.devices[0].pri);
}

TEST(ConfigFile, ScenarioParamsAreReadAndWrittenBack) {
    platform_config c;
    ASSERT_EQ(apply_config_json(R"({"params": {"rounds": 5, "max_batch": 0}})", c), "");
    EXPECT_EQ(c.params, (std::map<std::string, uint64_t>{{"max_batch", 0}, {"rounds", 5}}));
    platform_config again;
    ASSERT_EQ(apply_config_json(config_json(c), again), "");
    EXPECT_EQ(again.params, c.params);
    EXPECT_EQ(json::parse(config_json(platform_config{}))["params"], json::object());
}

TEST(ConfigFile, ScenarioParamsOfTheWrongFormAreRefusedByName) {
    platform_config c;
    c.params["pages"] = 40;
    EXPECT_EQ(apply_config_json(R"({"params": 3})", c), "\"params\" must be an object of scenario parameters");
    EXPECT_EQ(apply_config_json(R"({"params": {"rounds": -1}})", c),
              "\"params.rounds\" must be a non-negative integer");
    EXPECT_EQ(apply_config_json(R"({"params": {"rounds": 1.5}})", c),
              "\"params.rounds\" must be a non-negative integer");
    EXPECT_EQ(c.params, (std::map<std::string, uint64_t>{{"pages", 40}}));  // unchanged
}

TEST(ConfigFile, SizesAreRefusedBeyondTheirBoundsByName) {
    for (const documented_field& f : readme_fields()) {
        uint64_t lo = 0, hi = 0;
        if (!documented_range(f.allowed, lo, hi)) {
            continue;
        }
        const std::string short_name = f.name.substr(f.name.rfind('.') + 1);
        auto attempt = [&](uint64_t v) {
            platform_config c;
            const json file = f.name == "devices" ? devices_file(v) : with_field(companions(f.name), f.name, v);
            return apply_config_json(file.dump(), c);
        };
        EXPECT_EQ(attempt(hi), "") << f.name << " = " << hi;
        EXPECT_EQ(attempt(lo), "") << f.name << " = " << lo;
        const std::string above = attempt(hi + 1);
        EXPECT_NE(above.find(short_name), std::string::npos) << f.name << " = " << hi + 1 << ": '" << above << "'";
        if (lo > 0) {
            const std::string below = attempt(lo - 1);
            EXPECT_NE(below.find(short_name), std::string::npos) << f.name << " = " << lo - 1 << ": '" << below << "'";
        }
    }
}

TEST(ConfigFile, AbsurdCacheSizeIsRefusedNamingTheField) {
    platform_config c;
    const std::string err = apply_config_json(R"({"iommu": {"context_cache_entries": 100000000}})", c);
    EXPECT_NE(err.find("context_cache_entries=100000000"), std::string::npos) << err;
    EXPECT_EQ(c.iommu.context_cache_entries, platform_config{}.iommu.context_cache_entries);
}

TEST(ConfigFile, DuplicateKeysAreRefusedNamingTheKey) {
    platform_config c;
    const platform_config before = c;
    struct example {
        const char* text;
        const char* key;
    };
    for (const example& e : {
             example{R"({"seed": 1, "seed": 2})", "\"seed\""},
             example{R"({"iommu": {"mamv": 9, "psi": true, "mamv": 10}})", "\"iommu.mamv\""},
             example{R"({"iommu": {"mamv": 9}, "iommu": {"mamv": 10}})", "\"iommu\""},
             example{R"({"devices": [{"rid": 1}, {"rid": 2, "ats": true, "rid": 3}]})", "\"devices[1].rid\""},
         }) {
        const std::string err = apply_config_json(e.text, c);
        EXPECT_NE(err.find(e.key), std::string::npos) << e.text << ": '" << err << "'";
        EXPECT_NE(err.find("more than once"), std::string::npos) << err;
    }
    EXPECT_EQ(config_json(c), config_json(before));
    // The same key in two different objects is no duplicate.
    EXPECT_EQ(apply_config_json(R"({"devices": [{"rid": 1, "ats": true}, {"rid": 2, "ats": true}]})", c), "");
}

// ---- Where each setting comes from: flag > file > environment > default ----

class ResolveConfig : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir =
            std::filesystem::temp_directory_path() / ("iommusim_resolve_" + std::to_string(::getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(m_dir);
        std::filesystem::create_directories(m_dir);
        const char* env = std::getenv("IOMMUSIM_IOTLB");
        m_saved_env = env ? std::optional<std::string>(env) : std::nullopt;
        ::unsetenv("IOMMUSIM_IOTLB");
    }
    void TearDown() override {
        if (m_saved_env) {
            ::setenv("IOMMUSIM_IOTLB", m_saved_env->c_str(), 1);
        } else {
            ::unsetenv("IOMMUSIM_IOTLB");
        }
        std::filesystem::remove_all(m_dir);
    }
    std::string write_config(const std::string& text) {
        const std::string path = (m_dir / "c.json").string();
        std::ofstream(path) << text;
        return path;
    }
    std::filesystem::path m_dir;
    std::optional<std::string> m_saved_env;
};

TEST_F(ResolveConfig, IotlbFlagBeatsFileBeatsEnvironmentBeatsDefault) {
    cli_options o;
    platform_config c;
    std::string source;
    ASSERT_EQ(resolve_config(o, "nested-invalidate", c, source), "");
    EXPECT_EQ(c.iotlb, "cpp");
    EXPECT_EQ(source, "default");

    ::setenv("IOMMUSIM_IOTLB", "rtl", 1);
    ASSERT_EQ(resolve_config(o, "nested-invalidate", c, source), "");
    EXPECT_EQ(c.iotlb, "rtl");
    EXPECT_EQ(source, "IOMMUSIM_IOTLB");

    o.config_file = write_config(R"({"iotlb": "lockstep", "seed": 9})");
    ASSERT_EQ(resolve_config(o, "nested-invalidate", c, source), "");
    EXPECT_EQ(c.iotlb, "lockstep");
    EXPECT_EQ(source, o.config_file);
    EXPECT_EQ(c.seed, 9u);

    o.iotlb = "cpp";
    o.seed = 3;
    ASSERT_EQ(resolve_config(o, "nested-invalidate", c, source), "");
    EXPECT_EQ(c.iotlb, "cpp");
    EXPECT_EQ(source, "--iotlb");
    EXPECT_EQ(c.seed, 3u);
}

TEST_F(ResolveConfig, BadEnvironmentIsRefusedByName) {
    ::setenv("IOMMUSIM_IOTLB", "fpga", 1);
    cli_options o;
    platform_config c;
    std::string source;
    const std::string err = resolve_config(o, "nested-invalidate", c, source);
    EXPECT_NE(err.find("IOMMUSIM_IOTLB=fpga"), std::string::npos) << err;
}

TEST_F(ResolveConfig, WavesPathsAreResolvedAndPreparedBeforeTheRun) {
    cli_options o;
    platform_config c;
    std::string source;
    // A file in directories that do not exist yet: they are created, the file is not.
    o.waves = (m_dir / "a" / "b" / "run.vcd").string();
    ASSERT_EQ(resolve_config(o, "nested-invalidate", c, source), "");
    EXPECT_EQ(c.waves, *o.waves);
    EXPECT_TRUE(std::filesystem::is_directory(m_dir / "a" / "b"));
    EXPECT_FALSE(std::filesystem::exists(*o.waves));
    // An existing directory: the wave file goes inside it, named after the scenario.
    o.waves = m_dir.string();
    ASSERT_EQ(resolve_config(o, "fault-injection", c, source), "");
    EXPECT_EQ(c.waves, (m_dir / "fault-injection.vcd").string());
    // Without a suffix, .vcd is added (the file the tracer writes).
    o.waves = (m_dir / "plain").string();
    ASSERT_EQ(resolve_config(o, "fault-injection", c, source), "");
    EXPECT_EQ(c.waves, (m_dir / "plain.vcd").string());
    // An unwritable place is refused, naming the path, and leaves no directory behind.
    o.waves = "/proc/iommusim/x.vcd";
    const std::string err = resolve_config(o, "nested-invalidate", c, source);
    EXPECT_NE(err.find("/proc/iommusim"), std::string::npos) << err;
    EXPECT_FALSE(std::filesystem::exists("/proc/iommusim"));
}

TEST_F(ResolveConfig, StatsPathIsCheckedBeforeTheRun) {
    cli_options o;
    platform_config c;
    std::string source;
    o.stats_json = "/proc/stats.json";
    std::string err = resolve_config(o, "nested-invalidate", c, source);
    EXPECT_NE(err.find("--stats-json"), std::string::npos) << err;
    EXPECT_NE(err.find("/proc/stats.json"), std::string::npos) << err;
    o.stats_json = m_dir.string();
    err = resolve_config(o, "nested-invalidate", c, source);
    EXPECT_NE(err.find("is a directory"), std::string::npos) << err;
    o.stats_json = "-";  // standard output
    EXPECT_EQ(resolve_config(o, "nested-invalidate", c, source), "");
    EXPECT_FALSE(std::filesystem::exists("-"));
}

// ---- Output files ----

TEST_F(ResolveConfig, OutputThroughASymbolicLinkKeepsTheLink) {
    const fs_path target = m_dir / "target.json";
    const fs_path link = m_dir / "link.json";
    std::ofstream(target) << "old";
    std::filesystem::create_symlink(target, link);
    ASSERT_EQ(prepare_output_file(link.string()), "");
    ASSERT_EQ(write_output_file(link.string(), "new"), "");
    EXPECT_TRUE(std::filesystem::is_symlink(link));
    std::ifstream in(target);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "new");
}

TEST_F(ResolveConfig, OutputReplacesAFileWholeAndLeavesNoTemporary) {
    const fs_path file = m_dir / "s.json";
    std::ofstream(file) << "a much longer old content";
    ASSERT_EQ(prepare_output_file(file.string()), "");
    ASSERT_EQ(write_output_file(file.string(), "new"), "");
    std::ifstream in(file);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "new");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(m_dir), std::filesystem::directory_iterator()), 1);
}

// ---- The C API's configuration ----

TEST(CApiConfigure, UnwritableWavesAreRefusedBeforeThePlatformExists) {
    iommusim_config cfg{};
    cfg.waves = "/proc/iommusim_waves/x.vcd";
    errno = 0;
    EXPECT_EQ(iommusim_configure(&cfg), -1);
    EXPECT_EQ(errno, EINVAL);
}

TEST(CApiConfigure, AbsurdDeviceCountIsRefused) {
    iommusim_config cfg{};
    cfg.num_devices = 100'000'000;
    errno = 0;
    EXPECT_EQ(iommusim_configure(&cfg), -1);
    EXPECT_EQ(errno, EINVAL);
}

}  // namespace
}  // namespace iommusim::program
