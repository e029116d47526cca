/* A plug-in of another ABI version: the loader must refuse it before reading further. */
#include "iommusim/rtl_iotlb_plugin.h"

static const struct iommusim_rtl_iotlb_plugin other_abi = {
    IOMMUSIM_RTL_IOTLB_ABI_VERSION + 1u, "other_abi", "iotlb", 0, 0, 0, 0, 0, 0, 0};

const struct iommusim_rtl_iotlb_plugin* IOMMUSIM_RTL_IOTLB_PLUGIN_ENTRY(void) {
    return &other_abi;
}
