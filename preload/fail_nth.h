// The kernel's per-task fault-injection file (Documentation/fault-injection/fault-injection.rst,
// "/proc/<pid>/fail-nth"): writing N makes the Nth fault-injection point from now fail; reading
// gives what is left of the count ("0\n" once it fired). The model's points are its iommufd object
// allocations (-ENOMEM), shared by the whole process (the model is single-threaded).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace iommusim::preload {

// /proc/self/task/<tid>/fail-nth, /proc/<pid>/task/<tid>/fail-nth of this process, or
// /proc/thread-self/fail-nth.
bool is_fail_nth_path(const char* path);

// read/pread (offset -1: the file position of fd) and write of the file, as the system calls.
ssize_t fail_nth_read(int fd, void* buf, std::size_t len, off_t offset);
ssize_t fail_nth_write(const void* buf, std::size_t len);

// The directory a program opening debugfs ("/sys/kernel/debug") gets instead (opendir): the
// fault-injection attributes iommufd_fail_nth.c sets before it uses fail-nth (failslab/,
// fail_page_alloc/: ignore-gfp-wait, ignore-gfp-highmem, verbose), as ordinary files in a temporary
// directory removed at exit, so the host's own settings are never written. nullptr if it cannot
// be made.
const char* fault_injection_debugfs();
bool is_debugfs_path(const char* path);

}  // namespace iommusim::preload
