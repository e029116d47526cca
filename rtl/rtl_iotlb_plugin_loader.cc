#include "rtl/rtl_iotlb_plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace iommusim {

namespace {

std::string geometry_list(const std::vector<iotlb_geometry>& geometries) {
    std::ostringstream out;  // (not string operator+: GCC 12 -O3 raises a false -Wrestrict on it)
    for (const iotlb_geometry& g : geometries) {
        out << " " << g.sets << "x" << g.ways;
    }
    return out.str();
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
    throw std::invalid_argument("RTL IOTLB plug-in " + path + ": " + why);
}

}  // namespace

std::shared_ptr<const rtl_iotlb_plugin> rtl_iotlb_plugin::load(const std::string& path) {
    std::error_code ec;
    if (path.empty()) {
        throw std::invalid_argument("RTL IOTLB plug-in: empty path");
    }
    if (!std::filesystem::is_regular_file(path, ec)) {
        refuse(path, std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
    }
    // A path without a slash would make dlopen search the library path instead of this file.
    const std::string open_path = path.find('/') == std::string::npos ? "./" + path : path;
    void* handle = dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* err = dlerror();
        refuse(path, std::string("cannot be loaded: ") + (err ? err : "unknown dlopen error"));
    }
    using entry_fn = const iommusim_rtl_iotlb_plugin* (*)();
    auto entry = reinterpret_cast<entry_fn>(dlsym(handle, IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY_NAME));
    if (entry == nullptr) {
        dlclose(handle);
        refuse(path, std::string("not an iommusim RTL IOTLB plug-in (no ") + IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY_NAME +
                         " entry point; build it with iommusim_add_rtl_iotlb)");
    }
    const iommusim_rtl_iotlb_plugin* abi = entry();
    // Later versions only append to the descriptor: an older one is the prefix of ours.
    if (abi == nullptr || abi->abi_version < IOMMUSIM_RTL_IOTLB_ABI_OLDEST ||
        abi->abi_version > IOMMUSIM_RTL_IOTLB_ABI_VERSION) {
        const std::string version = abi == nullptr ? "none" : std::to_string(abi->abi_version);
        dlclose(handle);
        refuse(path, "plug-in ABI version " + version + ", this iommusim loads versions " +
                         std::to_string(IOMMUSIM_RTL_IOTLB_ABI_OLDEST) + " to " +
                         std::to_string(IOMMUSIM_RTL_IOTLB_ABI_VERSION) +
                         " (rebuild it against this iommusim's package)");
    }
    if (abi->geometry_count == 0 || abi->geometries == nullptr || abi->create == nullptr || abi->destroy == nullptr ||
        abi->eval == nullptr || abi->dump == nullptr || abi->close_waves == nullptr || abi->name == nullptr ||
        abi->top == nullptr ||
        (abi->abi_version >= 2 && (abi->create_with_plusargs == nullptr || abi->error_count == nullptr))) {
        dlclose(handle);
        refuse(path, "incomplete plug-in descriptor");
    }
    return std::shared_ptr<const rtl_iotlb_plugin>(new rtl_iotlb_plugin(path, handle, abi));
}

rtl_iotlb_plugin::~rtl_iotlb_plugin() {
    dlclose(m_handle);
}

std::vector<iotlb_geometry> rtl_iotlb_plugin::geometries() const {
    std::vector<iotlb_geometry> out;
    for (uint32_t i = 0; i < m_abi->geometry_count; ++i) {
        out.push_back({m_abi->geometries[i].sets, m_abi->geometries[i].ways});
    }
    return out;
}

bool rtl_iotlb_plugin::supports(iotlb_geometry geometry) const {
    const std::vector<iotlb_geometry> all = geometries();
    return std::any_of(all.begin(), all.end(),
                       [&](const iotlb_geometry& g) { return g.sets == geometry.sets && g.ways == geometry.ways; });
}

iommusim_rtl_iotlb_model* rtl_iotlb_plugin::create(iotlb_geometry geometry, const std::string& fst_path,
                                                   const std::string& plusargs) const {
    if (std::string err = unsupported(geometry); !err.empty()) {
        throw std::invalid_argument(err);
    }
    char error[256] = "";
    const char* fst = fst_path.empty() ? nullptr : fst_path.c_str();
    iommusim_rtl_iotlb_model* model = nullptr;
    if (m_abi->abi_version >= 2) {
        model = m_abi->create_with_plusargs(geometry.sets, geometry.ways, fst, plusargs.c_str(), error, sizeof error);
    } else if (!plusargs.empty()) {
        refuse(m_path,
               "built for plug-in ABI version 1, which takes no plusargs (rebuild it against this "
               "iommusim's package to give it '" +
                   plusargs + "')");
    } else {
        model = m_abi->create(geometry.sets, geometry.ways, fst, error, sizeof error);
    }
    if (model == nullptr) {
        refuse(m_path, error);
    }
    return model;
}

std::string rtl_iotlb_plugin::unsupported(iotlb_geometry geometry) const {
    if (supports(geometry)) {
        return "";
    }
    std::ostringstream msg;
    msg << "RTL IOTLB plug-in " << m_path << " (" << m_abi->name << "): geometry " << geometry.sets << "x"
        << geometry.ways << " (sets x ways) is not verilated; it has" << geometry_list(geometries());
    return msg.str();
}

std::string rtl_iotlb_plugin::builtin_path() {
    const std::filesystem::path file = IOMMUSIM_RTL_PLUGIN_FILE;
    std::vector<std::filesystem::path> candidates;
    std::error_code ec;
    // Install tree, relocatable: <prefix>/bin/iommusim finds <prefix>/<libdir>/iommusim/.
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        candidates.push_back(self.parent_path() / IOMMUSIM_LIBDIR_FROM_BINDIR / "iommusim" / file);
    }
    // The same from a shared library in <libdir> (the interposer runs in any program).
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&rtl_iotlb_plugin::builtin_path), &info) != 0 && info.dli_fname != nullptr &&
        std::string_view(info.dli_fname).find(".so") != std::string_view::npos) {
        candidates.push_back(std::filesystem::path(info.dli_fname).parent_path() / "iommusim" / file);
    }
    candidates.push_back(IOMMUSIM_RTL_PLUGIN_INSTALL_PATH);
    candidates.push_back(IOMMUSIM_RTL_PLUGIN_BUILD_PATH);
    std::string tried;
    for (const std::filesystem::path& c : candidates) {
        if (std::filesystem::is_regular_file(c, ec)) {
            return c.lexically_normal().string();
        }
        tried += " " + c.lexically_normal().string();
    }
    throw std::invalid_argument("the project's RTL IOTLB plug-in " + file.string() + " is in none of:" + tried);
}

}  // namespace iommusim
