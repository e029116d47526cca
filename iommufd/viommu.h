// vIOMMU, vDEVICE and vEVENTQ objects (kernel drivers/iommu/iommufd/viommu.c, eventq.c, driver.c;
// include/uapi/linux/iommufd.h).
//
// Models: IOMMU_VIOMMU_ALLOC (the driver's vIOMMU of a type over a nest-parent paging HWPT, which
// it holds), IOMMU_VDEVICE_ALLOC (a device's virt_id in a vIOMMU: one vdevice per device, one
// device per virt_id, EEXIST otherwise; a device behind another IOMMU driver EINVAL), nested HWPTs
// allocated through a vIOMMU and HWPT_INVALIDATE with a vIOMMU id (hw_pagetable.cc), and
// IOMMU_VEVENTQ_ALLOC: one queue per event type per vIOMMU (EEXIST), veventq_depth events at
// most; an event reported while the queue is full is dropped and a lone lost-events header
// (IOMMU_VEVENTQ_FLAG_LOST_EVENTS) is queued last instead, every queued record taking the next
// 31-bit sequence number (kernel iommufd_vevent_handler). read() hands out whole records
// (struct iommufd_vevent_header, then the event data), poll readiness as the fault fd's.
// Lifetimes: a vIOMMU is held by each of its vdevices, nested HWPTs and vEVENTQs (IOMMU_DESTROY:
// EBUSY); a vEVENTQ by its open fd; a device's unbind destroys its vdevice first (kernel
// iommufd_device_pre_destroy).
// Does not model: vIOMMU HW queues (IOMMU_HW_QUEUE_ALLOC), the tombstone a vdevice destroyed by an
// unbind leaves on its id (its id is freed at once here), blocking reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "driver/iommu_ops.h"
#include "iommufd/context.h"
#include "iommufd/event_queue.h"

namespace iommusim::iommufd {

struct veventq;

// The table holds one user; each vdevice, nested HWPT and vEVENTQ of it holds one more.
struct viommu : object, driver::viommu_event_sink {
    viommu() : object(obj_type::viommu) {}

    // Kernel iommufd_viommu_report_event: to the vEVENTQ of `type`.
    int report(uint32_t type, const void* data, std::size_t len) override;

    uint32_t viommu_type = 0;
    hwpt_paging* hwpt = nullptr;                // the nest parent, of which it holds a user
    driver::iommu_ops* ops = nullptr;           // the IOMMU the vIOMMU belongs to (kernel viommu->iommu_dev)
    std::unique_ptr<driver::iommu_viommu> drv;  // the driver's part
    std::map<uint32_t, veventq*> veventqs;      // by type (kernel viommu->veventqs)
};

// A device's identity in a vIOMMU (kernel struct iommufd_vdevice). The table holds the one user.
struct vdevice : object {
    vdevice() : object(obj_type::vdevice) {}
    struct viommu* viommu = nullptr;  // holds one user of it
    device* idev = nullptr;           // whose vdev points back here
    uint64_t virt_id = 0;
};

// One queued record (kernel struct iommufd_vevent); a lost-events header has no data.
struct vevent {
    bool lost_events = false;
    uint32_t sequence = 0;
    std::vector<unsigned char> data;
};

// The table holds one user, the open fd another (kernel struct iommufd_veventq).
struct veventq : object, event_queue_file {
    veventq() : object(obj_type::veventq) {}

    // Kernel iommufd_veventq_fops_read: whole records only; a buffer that cannot hold the first
    // one reads 0; EFAULT when nothing was copied.
    long read(uint64_t buf, std::size_t count) override;
    // The vEVENTQ fd has no write op (EINVAL, as vfs_write for a file without one).
    long write(uint64_t buf, std::size_t count) override;
    bool pending() const override { return !m_deliver.empty(); }
    void release_file() override;

    // Queues an event (kernel iommufd_viommu_report_event after the lookup): dropped for a
    // lost-events header when depth events already wait.
    void add(const void* data, std::size_t len);
    // Normal events waiting (kernel veventq->num_events).
    uint32_t num_events() const { return m_num_events; }

    struct viommu* viommu = nullptr;  // holds one user of it
    uint32_t queue_type = 0;
    uint32_t depth = 0;

  private:
    // Kernel iommufd_vevent_handler: a lost-events header that is last gives way to the new
    // record, which takes the next sequence number.
    void queue(vevent event);
    void notify_if_changed(bool before);

    std::deque<vevent> m_deliver;
    uint32_t m_num_events = 0;
    uint32_t m_sequence = 0;
};

}  // namespace iommusim::iommufd
