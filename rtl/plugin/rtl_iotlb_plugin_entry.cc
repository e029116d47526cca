// The entry point of a plug-in built by iommusim_add_rtl_iotlb: the descriptor of
// include/iommusim/rtl_iotlb_plugin.h over the geometries listed in the generated
// iommusim_rtl_iotlb_plugin_config.h (IOMMUSIM_PLUGIN_NAME, IOMMUSIM_PLUGIN_TOP,
// IOMMUSIM_PLUGIN_GEOMETRIES, the verilated headers and the port names).
#include "iommusim_rtl_iotlb_plugin_config.h"
#include "rtl_iotlb_plugin_model.h"

#include <cstdio>
#include <exception>

namespace {

struct geometry_maker {
    uint32_t sets;
    uint32_t ways;
    iommusim_rtl_iotlb_model* (*make)(const char* fst_path, const char* plusargs);
};

#define IOMMUSIM_PLUGIN_MAKER(sets, ways, verilated) {sets, ways, &iommusim_plugin::make<verilated>},
constexpr geometry_maker makers[] = {IOMMUSIM_PLUGIN_GEOMETRIES(IOMMUSIM_PLUGIN_MAKER)};
#undef IOMMUSIM_PLUGIN_MAKER

#define IOMMUSIM_PLUGIN_GEOMETRY(sets, ways, verilated) {sets, ways},
constexpr iommusim_rtl_iotlb_geometry geometries[] = {IOMMUSIM_PLUGIN_GEOMETRIES(IOMMUSIM_PLUGIN_GEOMETRY)};
#undef IOMMUSIM_PLUGIN_GEOMETRY

void set_error(char* error, uint32_t size, const char* message) {
    if (error != nullptr && size > 0) {
        std::snprintf(error, size, "%s", message);
    }
}

iommusim_rtl_iotlb_model* create_with_plusargs(uint32_t sets, uint32_t ways, const char* fst_path, const char* plusargs,
                                               char* error, uint32_t size) {
    for (const geometry_maker& m : makers) {
        if (m.sets == sets && m.ways == ways) {
            try {
                return m.make(fst_path, plusargs);
            } catch (const std::exception& e) {  // no exception crosses the C boundary
                set_error(error, size, e.what());
                return nullptr;
            }
        }
    }
    char message[96];
    std::snprintf(message, sizeof message, "geometry %ux%u (sets x ways) is not verilated", sets, ways);
    set_error(error, size, message);
    return nullptr;
}

iommusim_rtl_iotlb_model* create(uint32_t sets, uint32_t ways, const char* fst_path, char* error, uint32_t size) {
    return create_with_plusargs(sets, ways, fst_path, nullptr, error, size);
}

void destroy(iommusim_rtl_iotlb_model* model) {
    delete model;
}

void eval(iommusim_rtl_iotlb_model* model, const iommusim_rtl_iotlb_inputs* in, iommusim_rtl_iotlb_outputs* out,
          uint64_t time_ps) {
    model->eval(*in, *out, time_ps);
}

void dump(iommusim_rtl_iotlb_model* model, uint64_t time_ps) {
    model->dump(time_ps);
}

void close_waves(iommusim_rtl_iotlb_model* model) {
    model->close_waves();
}

uint64_t error_count(iommusim_rtl_iotlb_model* model) {
    return model->error_count();
}

constexpr iommusim_rtl_iotlb_plugin descriptor = {
    IOMMUSIM_RTL_IOTLB_ABI_VERSION,
    IOMMUSIM_PLUGIN_NAME,
    IOMMUSIM_PLUGIN_TOP,
    sizeof geometries / sizeof geometries[0],
    geometries,
    &create,
    &destroy,
    &eval,
    &dump,
    &close_waves,
    &create_with_plusargs,
    &error_count,
};

}  // namespace

// Visible whatever the visibility preset; the version script keeps everything else local.
extern "C" __attribute__((visibility("default"))) const iommusim_rtl_iotlb_plugin* IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY(
    void) {
    return &descriptor;
}
