// The caller's descriptor table for the files iommufd hands out as descriptors (kernel
// get_unused_fd_flags / fd_install / put_unused_fd / fget): the selftest's access files and the
// event queue fds (fault fds, vEVENTQ fds). Implemented by the C API over its descriptors, or the program's under the
// interposer.
#pragma once

#include <memory>

namespace iommusim::iommufd {

struct selftest_access;
class event_queue_file;

class file_table {
  public:
    virtual ~file_table() = default;
    // Reserves a descriptor for an access file, not yet found by lookups: the number, or a
    // negative errno.
    virtual int reserve(std::shared_ptr<selftest_access> file) = 0;
    // Reserves a descriptor for the fd of event queue `queue` (a fault or vEVENTQ object: the fd
    // holds a user of it once installed, and gives it back with release_file): the number, or a
    // negative errno.
    virtual int reserve_event_queue(event_queue_file& queue) = 0;
    // Makes a reserved descriptor live, or gives it back.
    virtual void install(int fd) = 0;
    virtual void unreserve(int fd) = 0;
    // The access file of live descriptor fd, else nullptr.
    virtual std::shared_ptr<selftest_access> access_file(int fd) = 0;
};

}  // namespace iommusim::iommufd
