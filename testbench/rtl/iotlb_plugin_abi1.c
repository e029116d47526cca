/* A plug-in of ABI version 1 (before create_with_plusargs and error_count): the loader must still
 * load it, and refuse plusargs for it by name. Its "design" answers nothing; it only lives through
 * the adapter's reset. */
#include <string.h>

#include "iommusim/rtl_iotlb_plugin.h"

static char instance;
static const struct iommusim_rtl_iotlb_geometry geometries[] = {{16, 4}};

static iommusim_rtl_iotlb_model* create(uint32_t sets, uint32_t ways, const char* fst_path, char* error,
                                        uint32_t error_size) {
    (void)sets, (void)ways, (void)fst_path, (void)error, (void)error_size;
    return (iommusim_rtl_iotlb_model*)&instance;
}
static void destroy(iommusim_rtl_iotlb_model* model) {
    (void)model;
}
static void eval(iommusim_rtl_iotlb_model* model, const struct iommusim_rtl_iotlb_inputs* in,
                 struct iommusim_rtl_iotlb_outputs* out, uint64_t time_ps) {
    (void)model, (void)in, (void)time_ps;
    memset(out, 0, sizeof *out);
}
static void dump(iommusim_rtl_iotlb_model* model, uint64_t time_ps) {
    (void)model, (void)time_ps;
}
static void close_waves(iommusim_rtl_iotlb_model* model) {
    (void)model;
}

/* Only the fields version 1 had; the loader reads no further. */
static const struct iommusim_rtl_iotlb_plugin abi1 = {1u,    "abi1", "iotlb",      1, geometries, &create, &destroy,
                                                      &eval, &dump,  &close_waves, 0, 0};

const struct iommusim_rtl_iotlb_plugin* IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY(void) {
    return &abi1;
}
