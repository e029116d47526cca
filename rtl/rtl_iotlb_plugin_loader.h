// Loading an RTL IOTLB plug-in (include/iommusim/rtl_iotlb_plugin.h), a shared library built by
// iommusim_add_rtl_iotlb (cmake/IommusimRtlIotlb.cmake).
//
// Models: dlopen with RTLD_NOW | RTLD_LOCAL (nothing of the plug-in becomes visible to the
// program or to another plug-in), a check of the entry point and its ABI version before anything
// else is read, the geometry list. Every refusal is a std::invalid_argument naming the path: a
// missing file, a file the dynamic loader refuses (not a shared library, missing dependencies), a
// shared library without the entry point, an ABI version outside IOMMUSIM_RTL_IOTLB_ABI_OLDEST ..
// IOMMUSIM_RTL_IOTLB_ABI_VERSION, an unsupported geometry, plusargs for a version-1 plug-in.
// The project's own IOTLB (rtl/iotlb.sv) is a plug-in like any other, found by builtin_path().
// Does not model: unloading while instances live (each instance holds its library).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "iommusim/rtl_iotlb_plugin.h"
#include "tlm/iotlb_if.h"

namespace iommusim {

class rtl_iotlb_plugin {
  public:
    // Loads (or shares the already loaded) library at path; std::invalid_argument as above.
    static std::shared_ptr<const rtl_iotlb_plugin> load(const std::string& path);
    // The project's own plug-in: beside the program or the library this code is in (install tree
    // layout), at the installed path, then in the build tree; std::invalid_argument when in none.
    static std::string builtin_path();

    ~rtl_iotlb_plugin();
    rtl_iotlb_plugin(const rtl_iotlb_plugin&) = delete;
    rtl_iotlb_plugin& operator=(const rtl_iotlb_plugin&) = delete;

    const std::string& path() const { return m_path; }
    std::string name() const { return m_abi->name; }
    std::vector<iotlb_geometry> geometries() const;
    bool supports(iotlb_geometry geometry) const;
    // "" when supported, else the refusal: the path, the geometry and the ones the plug-in has.
    std::string unsupported(iotlb_geometry geometry) const;
    const iommusim_rtl_iotlb_plugin& abi() const { return *m_abi; }
    // An instance of geometry (checked: unsupported() first) given plusargs ("": none) and
    // writing waves to fst_path (empty: none). std::invalid_argument with the path for a
    // failure of create, or for plusargs given to a version-1 plug-in (it cannot take them).
    iommusim_rtl_iotlb_model* create(iotlb_geometry geometry, const std::string& fst_path,
                                     const std::string& plusargs) const;

  private:
    rtl_iotlb_plugin(std::string path, void* handle, const iommusim_rtl_iotlb_plugin* abi)
        : m_path(std::move(path)), m_handle(handle), m_abi(abi) {}

    std::string m_path;
    void* m_handle;
    const iommusim_rtl_iotlb_plugin* m_abi;
};

}  // namespace iommusim
