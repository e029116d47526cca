#include "driver/uaccess.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace iommusim::driver {

namespace {

// Some sandboxes forbid process_vm_readv/writev (seccomp). Then user memory goes through a pipe:
// the kernel copies from/to the user address inside write()/read() and answers EFAULT just the same.
std::atomic<int> g_force_pipe{0};

bool vm_calls_work() {
    static const bool ok = [] {
        char a = 1;
        char b = 0;
        iovec l{&b, 1};
        iovec r{&a, 1};
        return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == 1 && b == 1;
    }();
    return ok;
}

std::size_t transfer_pipe(void* local, uint64_t remote, std::size_t len, bool to_user) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return len;
    }
    std::size_t done = 0;
    const uint64_t page = 4096;
    while (done < len) {
        // One user page at a time: a pipe transfer is all-or-nothing per call, and faults are
        // page-granular, so this reports exactly how far the copy got.
        const uint64_t to_boundary = page - ((remote + done) & (page - 1));
        const std::size_t chunk = static_cast<std::size_t>(std::min<uint64_t>(len - done, to_boundary));
        char* l = static_cast<char*>(local) + done;
        void* r = reinterpret_cast<void*>(remote + done);
        ssize_t n = 0;
        if (to_user) {
            if (write(fds[1], l, chunk) != static_cast<ssize_t>(chunk)) {
                break;
            }
            n = read(fds[0], r, chunk);
        } else {
            n = write(fds[1], r, chunk);
            if (n > 0 && read(fds[0], l, static_cast<std::size_t>(n)) != n) {
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
std::size_t transfer(void* local, uint64_t remote, std::size_t len, bool to_user) {
    if (g_force_pipe.load() != 0 || !vm_calls_work()) {
        return transfer_pipe(local, remote, len, to_user);
    }
    std::size_t done = 0;
    while (done < len) {
        iovec l{static_cast<char*>(local) + done, len - done};
        iovec r{reinterpret_cast<void*>(remote + done), len - done};
        ssize_t n =
            to_user ? process_vm_writev(getpid(), &l, 1, &r, 1, 0) : process_vm_readv(getpid(), &l, 1, &r, 1, 0);
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

// The innermost active snapshot of this thread (see user_snapshot).
thread_local const user_snapshot* t_snapshot = nullptr;

}  // namespace

void uaccess_use_pipe_fallback(bool on) {
    g_force_pipe.store(on ? 1 : 0);
}

user_snapshot::user_snapshot(uint64_t uptr, std::size_t len) : m_base(uptr), m_prev(t_snapshot) {
    if (uptr == 0 || len == 0 || uptr + len < uptr || len > max_len) {
        return;
    }
    m_data.resize(len);
    m_valid = len - transfer(m_data.data(), uptr, len, false);
    t_snapshot = this;
}

user_snapshot::~user_snapshot() {
    if (t_snapshot == this) {
        t_snapshot = m_prev;
    }
}

bool user_snapshot::read(void* dst, uint64_t src, std::size_t len) const {
    if (src < m_base || src - m_base > m_valid || len > m_valid - (src - m_base)) {
        return false;
    }
    std::memcpy(dst, m_data.data() + (src - m_base), len);
    return true;
}

std::size_t copy_from_user(void* dst, uint64_t src, std::size_t len) {
    if (len == 0) {
        return 0;
    }
    if (src == 0 || src + len < src) {
        std::memset(dst, 0, len);
        return len;
    }
    if (t_snapshot != nullptr && t_snapshot->read(dst, src, len)) {
        return 0;
    }
    std::size_t left = transfer(dst, src, len, false);
    if (left != 0) {
        std::memset(static_cast<char*>(dst) + (len - left), 0, left);
    }
    return left;
}

std::size_t copy_to_user(uint64_t dst, const void* src, std::size_t len) {
    if (len == 0) {
        return 0;
    }
    if (dst == 0 || dst + len < dst) {
        return len;
    }
    return transfer(const_cast<void*>(src), dst, len, true);
}

int check_zeroed_user(uint64_t src, std::size_t len) {
    unsigned char buf[256];
    while (len != 0) {
        std::size_t chunk = len < sizeof(buf) ? len : sizeof(buf);
        if (copy_from_user(buf, src, chunk) != 0) {
            return -EFAULT;
        }
        for (std::size_t i = 0; i < chunk; ++i) {
            if (buf[i] != 0) {
                return 0;
            }
        }
        src += chunk;
        len -= chunk;
    }
    return 1;
}

int copy_struct_from_user(void* dst, std::size_t ksize, uint64_t src, std::size_t usize) {
    std::size_t size = usize < ksize ? usize : ksize;
    if (usize < ksize) {
        std::memset(static_cast<char*>(dst) + size, 0, ksize - size);
    } else if (usize > ksize) {
        int ret = check_zeroed_user(src + ksize, usize - ksize);
        if (ret <= 0) {
            return ret == 0 ? -E2BIG : ret;
        }
    }
    if (copy_from_user(dst, src, size) != 0) {
        return -EFAULT;
    }
    return 0;
}

int iommu_copy_struct_from_user(void* dst, std::size_t ksize, std::size_t min_len, const iommu_user_data& data,
                                uint32_t type) {
    if (data.type != type) {
        return -EINVAL;
    }
    if (data.len < min_len || data.len > ksize) {
        return -EINVAL;
    }
    return copy_struct_from_user(dst, ksize, data.uptr, data.len);
}

int iommu_copy_struct_from_user_array(void* dst, std::size_t ksize, std::size_t min_len,
                                      const iommu_user_data_array& array, uint32_t type, uint32_t index) {
    if (array.entry_num == 0 || index >= array.entry_num) {
        return -EINVAL;
    }
    iommu_user_data item{array.type, array.uptr + array.entry_len * index, array.entry_len};
    return iommu_copy_struct_from_user(dst, ksize, min_len, item, type);
}

}  // namespace iommusim::driver
