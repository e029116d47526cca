// I/O page fault reporting, the IOMMU core's side (kernel drivers/iommu/io-pgfault.c
// iommu_report_device_fault and find_fault_handler): a driver hands each page request of a device
// here, which finds the domain whose iopf handler takes it and, when there is none, answers the
// request invalid through the driver's page_response.
//
// Models: a request without a PASID goes to the domain attached to the device (its RID); one with
// a PASID to the domain attached to that PASID, and when there is none, for a driver with a
// user-managed PASID table (the selftest mock), to the nested domain attached to the RID. A domain
// without an iopf handler takes nothing (no fallback).
#pragma once

#include "driver/iommu_ops.h"

namespace iommusim::driver {

// 0 when a handler took the request; -EINVAL when none could (the request was answered invalid);
// the handler's errno when it refused (the group was answered invalid).
int report_page_request(iommu_device& dev, const page_request& request);

}  // namespace iommusim::driver
