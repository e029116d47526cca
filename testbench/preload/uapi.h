/* The iommufd and VFIO cdev uAPI for the programs run under the interposer: the host's kernel
 * headers when they have iommufd (Linux 6.2 and later), else the repository's copy of the same
 * ABI. Never the iommusim C API: these programs know nothing of the model. */
#ifndef IOMMUSIM_TESTBENCH_PRELOAD_UAPI_H
#define IOMMUSIM_TESTBENCH_PRELOAD_UAPI_H

#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#include <linux/vfio.h>
#else
#include "iommusim/iommufd.h"
#endif

#endif
