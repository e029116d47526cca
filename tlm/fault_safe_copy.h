// Copies to and from host memory that the simulator does not own and that may be unmapped or
// protected at any moment (user buffers adopted as physical memory, user pointers of ioctls).
//
// The kernel does the copy: process_vm_readv / process_vm_writev on our own pid, or, where those
// calls are forbidden (some seccomp sandboxes), a pipe, whose read()/write() copy to and from the
// address inside the kernel. Either way an unmapped address, or a write to read-only memory, ends
// the copy with a count instead of a signal. Costs one or two system calls per copy.
#pragma once

#include <cstddef>

namespace iommusim {

// Copies len bytes from host address src to dst. Returns the number of bytes NOT copied (0 =
// success); the copy stops at the first inaccessible page, the tail of dst is left as it was.
std::size_t fault_safe_read(void* dst, const void* src, std::size_t len);
// Copies len bytes from src to host address dst. Returns the number of bytes NOT copied; bytes
// before the first inaccessible page may have been stored.
std::size_t fault_safe_write(void* dst, const void* src, std::size_t len);

// Tests only: force the pipe transfer that is chosen automatically where process_vm_readv/writev
// are not permitted.
void fault_safe_copy_use_pipe(bool on);

}  // namespace iommusim
