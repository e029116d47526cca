// The fault object (kernel drivers/iommu/iommufd/fault.c, 6.12; struct iommufd_fault in
// iommufd_private.h): the queue through which the page requests of devices attached to a HWPT
// allocated with IOMMU_HWPT_FAULT_ID_VALID reach user space, and the fault fd's read, write and
// poll.
//
// Models: page requests collected into groups (io-pgfault.c: requests without LAST_PAGE wait,
// per device, for the last one of their group index, which completes the group); complete groups
// queued for delivery; read() hands out whole groups as struct iommu_hwpt_pgfault records, each
// group with a cookie (the lowest free from 1) and moves it to the awaiting-response table;
// write() takes struct iommu_hwpt_page_response records and answers their groups through the
// driver's page_response; poll readiness (POLLIN | POLLRDNORM while a group waits for delivery,
// POLLOUT always); the invalid answer to every group of an attachment that ends (auto response)
// and to every group left when the object is destroyed. Errnos and partial results as the
// kernel's: a count that is not a multiple of the record size ESPIPE, a read too short for the
// first group EINVAL, an unknown cookie or response code EINVAL, a bad buffer EFAULT, and a
// read or write that made progress returns the bytes done.
// Does not model: blocking reads (the kernel's fault fd never blocks either: an empty queue
// reads 0), the length hint (always 0, as the kernel fills it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "driver/iommu_ops.h"
#include "iommufd/context.h"
#include "iommufd/event_queue.h"
#include "util/id_allocator.h"

namespace iommusim::iommufd {

// One page request group (kernel struct iopf_group): what one response answers.
struct fault_group {
    std::vector<driver::page_request> requests;  // report order; the LAST_PAGE request is the last
    driver::iommu_device* dev = nullptr;
    uint32_t dev_id = 0;                 // the device object the records name (kernel idev->obj.id)
    const hw_pagetable* hwpt = nullptr;  // the attachment it came through (kernel group->attach_handle):
    uint32_t pasid = driver::no_pasid;   // the HWPT on the device's RID, or on this PASID
};

// The table holds one user; every HWPT allocated with it and an open fault fd hold one each.
struct fault : object, driver::iopf_handler, event_queue_file {
    fault() : object(obj_type::fault) {}

    // A page request of dev, reported through the domain of its attached HWPT (kernel
    // iommufd_fault_iopf_handler, with io-pgfault.c's grouping before it): the HWPT on the
    // request's PASID when it has one attached, else the HWPT on the RID. -EINVAL when that is no
    // HWPT of this fault object (the reporter then answers invalid).
    int handle(driver::iommu_device& dev, const driver::page_request& request) override;

    // The fault fd's read (kernel iommufd_fault_fops_read) into user buffer buf: the bytes
    // written, or a negative errno.
    long read(uint64_t buf, std::size_t count) override;
    // The fault fd's write (kernel iommufd_fault_fops_write) of responses from user buffer buf.
    long write(uint64_t buf, std::size_t count) override;
    // A group waits to be read (poll's POLLIN | POLLRDNORM).
    bool pending() const override { return !m_deliver.empty(); }
    // fault_file_release.
    void release_file() override;
    // Groups read and not yet answered.
    std::size_t awaiting_response() const { return m_response.size(); }

    // The attachment of dev (its RID, or `pasid`) to hwpt ended: every group it reported, read or
    // not, is answered invalid and the device's partial requests are dropped (kernel
    // iommufd_auto_response_faults).
    void auto_respond(const hw_pagetable& hwpt, const driver::iommu_device& dev, uint32_t pasid = driver::no_pasid);
    // Destruction: every group left is answered invalid (kernel iommufd_fault_destroy).
    void respond_all_invalid();

  private:
    void answer(const fault_group& group, driver::page_response_code code);
    // Calls on_pending_changed when pending() differs from `before`.
    void notify_if_changed(bool before);

    std::deque<fault_group> m_deliver;           // complete groups not read yet, oldest first
    std::map<uint32_t, fault_group> m_response;  // read groups by cookie (kernel fault->response)
    id_allocator m_cookies{1, UINT32_MAX};       // xa_alloc with XA_FLAGS_ALLOC1 and xa_limit_32b
    std::map<const driver::iommu_device*, std::vector<driver::page_request>> m_partial;
};

// The fault fd's release (its last descriptor closed): drops the file's user of the object
// (kernel iommufd_fault_fops_release). Pending groups stay until the object is destroyed.
void fault_file_release(fault& obj);

}  // namespace iommusim::iommufd
