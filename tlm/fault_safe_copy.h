// Copies to and from host memory that the simulator does not own and that may be unmapped or
// protected at any moment (user buffers adopted as physical memory, user pointers of ioctls).
//
// Three ways, the first the process allows: a plain copy (`rep movsq`, `rep movsb`) whose fault the SIGSEGV /
// SIGBUS handler installed on first use ends, as the kernel's exception table ends a faulting
// copy_from_user (x86-64 Linux, not under a sanitizer; no system call, so about as fast as
// memcpy); process_vm_readv / process_vm_writev on our own pid; or, where those calls are
// forbidden (some seccomp sandboxes), a pipe, whose read()/write() copy to and from the address
// inside the kernel (one or two system calls per copy, some 300 ns). Either way an unmapped
// address, or a write to read-only memory, ends the copy with a count instead of a signal.
//
// The handler passes every other fault on to the handler (or the default action) it replaced. A
// program that installs its own SIGSEGV or SIGBUS handler later would receive the copies' faults
// instead: the preload library tells (fault_safe_copy_disposition_set) and the
// copies use the system calls from then on.
#pragma once

#include <cstddef>
#include <optional>

namespace iommusim {

// Copies len bytes from host address src to dst. Returns the number of bytes NOT copied (0 =
// success); the copy stops at the first inaccessible page, the tail of dst is left as it was.
std::size_t fault_safe_read(void* dst, const void* src, std::size_t len);
// Copies len bytes from src to host address dst. Returns the number of bytes NOT copied; bytes
// before the first inaccessible page may have been stored.
std::size_t fault_safe_write(void* dst, const void* src, std::size_t len);

enum class fault_safe_backend {
    fault_fixup,  // a plain copy ended by the fault handler
    process_vm,   // process_vm_readv / process_vm_writev
    pipe,         // a pipe's write() and read()
};

// Its name: "FaultFixup", "ProcessVm" or "Pipe".
const char* fault_safe_backend_name(fault_safe_backend backend);

// The way the copies go now.
fault_safe_backend fault_safe_copy_backend();
// Whether this build and process can use fault_fixup (it installs the handlers on first call).
bool fault_safe_copy_fixup_available();

// The program sets the disposition of signal `signum` to `handler` (a sa_handler or sa_sigaction
// value): for SIGSEGV or SIGBUS, anything but the copies' own fault handler stops fault_fixup for
// good (the copies' faults would no longer reach that handler).
void fault_safe_copy_disposition_set(int signum, const void* handler);

// Tests only: use `backend` (fault_fixup only where available), or, with nullopt, the first the
// process allows again.
void fault_safe_copy_use(std::optional<fault_safe_backend> backend);

}  // namespace iommusim
