// A forked child's calls on the iommufd files it inherited, served by its parent's model.
//
// On Linux parent and child share one iommufd file: what the child maps the parent sees. Here the
// model lives in the process that opened the file, so at fork the interposer connects the child to
// that process (a socket pair): the child sends each ioctl on an inherited iommufd file and waits;
// a thread of the parent runs it on the model with the child as the current user space
// (driver/user_space.h), asking the child for every byte of its memory the call reads or writes
// and for the shared mapping behind a range it maps, which the model then reaches through its own
// mapping of the same memory. The child's memory is gone when the child is (exit, exec): the
// connection closes and pages nothing pinned yet can no longer be pinned (EFAULT, as the kernel's
// mmget_not_zero).
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace iommusim::preload {

// Runs one forwarded call on the parent's model under the interposer's lock: the ioctl `request`
// with argument `arg` (an address in the child) on the model object of memfd inode `ino`. Returns
// the ioctl's result and sets `error` to its errno.
using serve_call_fn = int (*)(ino_t ino, unsigned long request, uint64_t arg, int& error);

// The two ends of a fork's connection (both -1 when it could not be made).
struct fork_channel {
    int parent_end = -1;
    int child_end = -1;
};

// Before fork: a new connection.
fork_channel open_fork_channel();
// In the parent after fork: closes the child's end and serves the parent's end on a new thread
// until the child closes it.
void serve_forked_child(const fork_channel& channel, serve_call_fn serve);
// In the child after fork: closes the parent's end; the channel's child end is the one to use.
void adopt_fork_channel(const fork_channel& channel);
// In a forked child: the parent's ends of the connections this process serves, inherited from it,
// are not the child's to serve (the threads did not survive the fork).
void forget_served_channels();
// In the child: sends the call over `fd` and answers the parent's requests for its memory until
// the result comes. Returns the result and sets errno; EBADF when the parent is gone.
int forward_call(int fd, ino_t ino, unsigned long request, void* arg);

}  // namespace iommusim::preload
