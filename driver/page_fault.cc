#include "driver/page_fault.h"

#include <cerrno>

namespace iommusim::driver {

namespace {

// Kernel find_fault_handler: the domain the request belongs to, when it takes page requests. A
// request with a PASID belongs to the domain attached to that PASID; only when none is does a
// driver with a user-managed PASID table send it to the nested domain on the RID.
iommu_domain* fault_domain(const iommu_device& dev, const page_request& request) {
    iommu_domain* domain = dev.domain;
    if ((request.flags & page_request_pasid_valid) != 0) {
        if (auto it = dev.pasid_domains.find(request.pasid); it != dev.pasid_domains.end()) {
            domain = it->second;
        } else if (!dev.ops->user_pasid_table() || domain == nullptr || domain->type() != domain_type::nested) {
            return nullptr;
        }
    }
    return domain != nullptr && domain->iopf() != nullptr ? domain : nullptr;
}

void answer_invalid(iommu_device& dev, const page_request& request) {
    dev.ops->page_response(dev, request, page_response{request.pasid, request.grpid, page_response_code::invalid});
}

}  // namespace

int report_page_request(iommu_device& dev, const page_request& request) {
    iommu_domain* domain = fault_domain(dev, request);
    if (domain == nullptr) {
        answer_invalid(dev, request);  // kernel iopf_error_response
        return -EINVAL;
    }
    const int rc = domain->iopf()->handle(dev, request);
    if (rc != 0) {
        answer_invalid(dev, request);
    }
    return rc;
}

}  // namespace iommusim::driver
