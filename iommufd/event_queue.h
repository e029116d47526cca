// The file side every iommufd event queue shares (kernel drivers/iommu/iommufd/eventq.c, struct
// iommufd_eventq and its file operations): the fault fd (fault.h) and the vEVENTQ fd (viommu.h).
// The descriptor layers (platform/capi.cc, the interposer) reach both through this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace iommusim::iommufd {

class event_queue_file {
  public:
    virtual ~event_queue_file() = default;
    // read(2) and write(2) into or from user buffer buf: the bytes done, or a negative errno.
    virtual long read(uint64_t buf, std::size_t count) = 0;
    virtual long write(uint64_t buf, std::size_t count) = 0;
    // Something waits to be read: poll's POLLIN | POLLRDNORM (POLLOUT is always set, kernel
    // iommufd_eventq_fops_poll).
    virtual bool pending() const = 0;
    // The file's last descriptor closed: drops the file's user of its object.
    virtual void release_file() = 0;

    // Told whenever pending() changes, by the file layer that mirrors it on a real descriptor.
    std::function<void(bool pending)> on_pending_changed;
};

}  // namespace iommusim::iommufd
