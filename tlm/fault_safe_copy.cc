#include "tlm/fault_safe_copy.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>

namespace iommusim {

namespace {

std::atomic<int> g_force_pipe{0};

// Our pid, read once: a system call saved per copy (getpid is not cached by glibc). A forked
// child must not copy to and from its parent, so the child re-reads it.
std::atomic<pid_t> g_pid{0};

pid_t self_pid() {
    static const bool fork_handler = [] {
        return pthread_atfork(nullptr, nullptr, [] { g_pid.store(0, std::memory_order_relaxed); }) == 0;
    }();
    pid_t pid = g_pid.load(std::memory_order_relaxed);
    if (pid == 0 || !fork_handler) {
        pid = getpid();
        g_pid.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

bool vm_calls_work() {
    static const bool ok = [] {
        char a = 1;
        char b = 0;
        iovec l{&b, 1};
        iovec r{&a, 1};
        return process_vm_readv(self_pid(), &l, 1, &r, 1, 0) == 1 && b == 1;
    }();
    return ok;
}

// `host` is the foreign address, `local` our own buffer.
std::size_t transfer_pipe(char* local, char* host, std::size_t len, bool to_host) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return len;
    }
    std::size_t done = 0;
    const uintptr_t page = 4096;
    while (done < len) {
        // One host page at a time: a pipe transfer is all-or-nothing per call, and faults are
        // page-granular, so this reports exactly how far the copy got.
        const uintptr_t to_boundary = page - (reinterpret_cast<uintptr_t>(host + done) & (page - 1));
        const std::size_t chunk = static_cast<std::size_t>(std::min<uintptr_t>(len - done, to_boundary));
        ssize_t n = 0;
        if (to_host) {
            if (write(fds[1], local + done, chunk) != static_cast<ssize_t>(chunk)) {
                break;
            }
            n = read(fds[0], host + done, chunk);
        } else {
            n = write(fds[1], host + done, chunk);
            if (n > 0 && read(fds[0], local + done, static_cast<std::size_t>(n)) != n) {
                n = -1;
            }
        }
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
        if (static_cast<std::size_t>(n) < chunk) {
            break;
        }
    }
    close(fds[0]);
    close(fds[1]);
    return len - done;
}

// process_vm_* stop at the first inaccessible page and report how much was transferred; an
// inaccessible first byte gives -1/EFAULT. Either way we count what actually moved.
std::size_t transfer(char* local, char* host, std::size_t len, bool to_host) {
    if (len == 0) {
        return 0;
    }
    if (g_force_pipe.load(std::memory_order_relaxed) != 0 || !vm_calls_work()) {
        return transfer_pipe(local, host, len, to_host);
    }
    const pid_t pid = self_pid();
    std::size_t done = 0;
    while (done < len) {
        iovec l{local + done, len - done};
        iovec r{host + done, len - done};
        const ssize_t n = to_host ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return len - done;
}

}  // namespace

std::size_t fault_safe_read(void* dst, const void* src, std::size_t len) {
    return transfer(static_cast<char*>(dst), const_cast<char*>(static_cast<const char*>(src)), len, false);
}

std::size_t fault_safe_write(void* dst, const void* src, std::size_t len) {
    return transfer(const_cast<char*>(static_cast<const char*>(src)), static_cast<char*>(dst), len, true);
}

void fault_safe_copy_use_pipe(bool on) {
    g_force_pipe.store(on ? 1 : 0, std::memory_order_relaxed);
}

}  // namespace iommusim
