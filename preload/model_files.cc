#include "preload/model_files.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "driver/uaccess.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/descriptor_names.h"
#include "preload/exec_session.h"
#include "preload/fail_nth.h"
#include "preload/forked_callers.h"
#include "tlm/fault_safe_copy.h"

namespace iommusim::preload {

namespace {

enum class file_kind { iommufd, vfio_container, vfio_device, fail_nth, access, fault };

struct model_object {
    int model_fd = -1;  // the C API's descriptor (none for the fail-nth file)
    file_kind kind = file_kind::iommufd;
    // A fault fd is one end of a socket pair, readable exactly while its queue has a group to read:
    // the model sends one byte from the other end, kept here, and takes it back when the queue
    // empties (poll, select and epoll then see the fault queue's readiness).
    int signal_fd = -1;
    bool signalled = false;
    // In a forked child, an iommufd file inherited from the parent: the connection its calls take
    // to the parent's model (preload/forked_callers.h); -1 for a file this process's model serves.
    int channel = -1;
};

// The files whose calls a forked child forwards: the iommufd contexts. Device, access and
// fail-nth files stay on the child's own copy of the model.
bool shared_across_fork(file_kind kind) {
    return kind == file_kind::iommufd || kind == file_kind::vfio_container;
}

// Descriptors below this are flagged in an array, so that read/write/mmap of every other file cost
// one load; model files above it are found in the table.
constexpr int flagged_fds = 1 << 16;

struct state {
    std::recursive_mutex mutex;
    std::unordered_map<ino_t, model_object> objects;  // live model files by file key (file_key())
    std::unordered_set<ino_t> closed;                 // model objects closed while a memfd may live on
    std::unordered_map<int, ino_t> fds;               // descriptors the interposer saw of each
    std::unordered_map<int, model_object> reserved;   // access files and fault fds being created
    dev_t memfd_dev = 0;                              // the device every memfd lives on
    bool have_memfd_dev = false;
    dev_t socket_dev = 0;  // the device of every socket (the fault fds)
    bool have_socket_dev = false;
    pid_t owner = getpid();             // a vfork child shares this memory, not the fds
    int parent_channel = -1;            // this process's connection to its parent's model, if any
    fork_channel forking;               // the connection made for the fork in progress
    std::atomic<bool> high_fds{false};  // a model file above flagged_fds exists
    std::atomic<uint8_t> flagged[flagged_fds] = {};
};

// Never destroyed: a program's exit handlers and other libraries' destructors may still close.
state& st() {
    static state* s = new state;
    return *s;
}

void flag(int fd, bool on) {
    if (fd >= 0 && fd < flagged_fds) {
        st().flagged[fd].store(on ? 1 : 0, std::memory_order_relaxed);
    } else if (on) {
        st().high_fds.store(true, std::memory_order_relaxed);
    }
}

bool parse_device_number(const char* digits) {
    if (*digits == '\0' || (digits[0] == '0' && digits[1] != '\0')) {
        return false;
    }
    for (const char* p = digits; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9') {
            return false;
        }
    }
    return true;
}

// The files the model owns: absolute paths only (a relative open reaches the host's file).
bool owned_kind(const char* path, file_kind& kind) {
    static const char device_prefix[] = "/dev/vfio/devices/vfio";
    if (std::strcmp(path, "/dev/iommu") == 0) {
        kind = file_kind::iommufd;
        return true;
    }
    if (std::strcmp(path, "/dev/vfio/vfio") == 0) {
        kind = file_kind::vfio_container;  // an iommufd, as CONFIG_IOMMUFD_VFIO_CONTAINER provides it
        return true;
    }
    if (std::strncmp(path, device_prefix, sizeof(device_prefix) - 1) == 0 &&
        parse_device_number(path + sizeof(device_prefix) - 1)) {
        kind = file_kind::vfio_device;
        return true;
    }
    if (is_fail_nth_path(path)) {
        kind = file_kind::fail_nth;
        return true;
    }
    return false;
}

bool in_vfork_child() {
    return getpid() != st().owner;
}

// The key of a model file: its memfd's inode, or for a fault fd its socket's inode with the top
// bit set (sockets and memfds number their inodes independently; socket inode numbers are 32-bit).
constexpr ino_t socket_key_bit = ino_t{1} << (sizeof(ino_t) * 8 - 1);

bool file_key(const struct stat& sb, ino_t& key) {
    const state& s = st();
    if (s.have_memfd_dev && sb.st_dev == s.memfd_dev) {
        key = sb.st_ino;
        return true;
    }
    if (s.have_socket_dev && sb.st_dev == s.socket_dev && S_ISSOCK(sb.st_mode)) {
        key = sb.st_ino | socket_key_bit;
        return true;
    }
    return false;
}

// The file key of fd when it may be one of the model's files, else false. Caller holds the mutex.
bool inode_of(int fd, ino_t& ino) {
    struct stat sb;
    return st().have_memfd_dev && fstat(fd, &sb) == 0 && file_key(sb, ino);
}

// The model object behind fd, else nullptr. Caller holds the mutex. A descriptor the interposer saw
// made (open, dup, fcntl) is found in its table, without a system call; one made behind its back
// (a raw dup) by its inode (fstat).
model_object* object_of(int fd, ino_t& ino) {
    state& s = st();
    if (const auto known = s.fds.find(fd); known != s.fds.end()) {
        if (const auto obj = s.objects.find(known->second); obj != s.objects.end()) {
            ino = known->second;
            return &obj->second;
        }
    }
    if (!inode_of(fd, ino)) {
        return nullptr;
    }
    auto it = s.objects.find(ino);
    return it == s.objects.end() ? nullptr : &it->second;
}

// Closes the model object of `ino` when no descriptor the interposer saw still refers to it.
void release_if_unreferenced(ino_t ino) {
    state& s = st();
    for (auto it = s.fds.begin(); it != s.fds.end();) {
        ino_t now = 0;
        if (it->second != ino) {
            ++it;
        } else if (inode_of(it->first, now) && now == ino) {
            return;  // still referenced
        } else {
            flag(it->first, false);  // closed behind the interposer's back
            it = s.fds.erase(it);
        }
    }
    auto obj = s.objects.find(ino);
    if (obj == s.objects.end()) {
        return;
    }
    if (obj->second.model_fd >= 0) {
        iommusim_close(obj->second.model_fd);
    }
    if (obj->second.signal_fd >= 0) {
        close(obj->second.signal_fd);
    }
    s.objects.erase(obj);
    s.closed.insert(ino);
}

const char* memfd_name(file_kind kind) {
    switch (kind) {
        case file_kind::iommufd:
            return "iommusim:/dev/iommu";
        case file_kind::vfio_container:
            return "iommusim:/dev/vfio/vfio";
        case file_kind::vfio_device:
            return "iommusim:/dev/vfio/devices/vfio";
        case file_kind::fail_nth:
            return "iommusim:fail-nth";
        case file_kind::access:
            return "iommusim:[iommufd_test_staccess]";
        case file_kind::fault:
            return "iommusim:[iommufd-pgfault]";  // a socket, named for the log only
    }
    return "iommusim";
}

// Whether the program's argument can be read and written back, as the kernel's copies would.
bool readable_writable(void* addr, std::size_t len) {
    unsigned char copy[64];
    const auto uaddr = reinterpret_cast<uint64_t>(addr);
    return len <= sizeof(copy) && driver::copy_from_user(copy, uaddr, len) == 0 &&
           driver::copy_to_user(uaddr, copy, len) == 0;
}

// VFIO_DEVICE_BIND_IOMMUFD names the iommufd by the program's descriptor: the model gets its own.
int bind_iommufd(const model_object& device, void* arg) {
    vfio_device_bind_iommufd bind{};
    constexpr std::size_t minsz = offsetof(vfio_device_bind_iommufd, out_devid) + sizeof(bind.out_devid);
    auto* user = static_cast<vfio_device_bind_iommufd*>(arg);
    // An unreadable argument: the model reports EFAULT from the program's own pointer.
    if (!readable_writable(arg, minsz)) {
        return iommusim_ioctl(device.model_fd, VFIO_DEVICE_BIND_IOMMUFD, arg);
    }
    std::memcpy(&bind, user, minsz);
    if (bind.iommufd >= 0) {
        ino_t ino = 0;
        model_object* ctx = object_of(bind.iommufd, ino);
        if (ctx == nullptr || ctx->kind == file_kind::fail_nth) {
            // As the kernel: not an open descriptor EBADF, another kind of file EBADFD.
            errno = fcntl(bind.iommufd, F_GETFD) == -1 ? EBADF : EBADFD;
            return -1;
        }
        bind.iommufd = ctx->model_fd;
    }
    const int rc = iommusim_ioctl(device.model_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
    if (rc == 0) {
        user->out_devid = bind.out_devid;
    }
    return rc;
}

// The descriptor names of the model's access files and fault fds (platform/descriptor_names.h): a
// memfd or a socket each, reserved (not yet a model file) until the creating ioctl completed. They
// run inside the model's ioctl, which holds the (recursive) mutex already.
int reserve_access_fd(int model_fd) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    const int fd = memfd_create(memfd_name(file_kind::access), MFD_CLOEXEC);  // kernel: O_CLOEXEC
    if (fd < 0) {
        return -errno;
    }
    model_object obj;
    obj.kind = file_kind::access;
    obj.model_fd = model_fd;
    s.reserved[fd] = obj;
    return fd;
}

// The program's end of a socket pair (O_CLOEXEC and O_RDWR, as the kernel's fault fd).
int reserve_fault_fd(int model_fd) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
        return -errno;
    }
    model_object obj;
    obj.kind = file_kind::fault;
    obj.model_fd = model_fd;
    obj.signal_fd = ends[1];
    s.reserved[ends[0]] = obj;
    return ends[0];
}

void install_reserved_fd(int fd) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    auto it = s.reserved.find(fd);
    struct stat sb;
    if (it == s.reserved.end() || fstat(fd, &sb) != 0) {
        return;
    }
    if (it->second.kind == file_kind::fault) {
        s.socket_dev = sb.st_dev;
        s.have_socket_dev = true;
    } else {
        s.memfd_dev = sb.st_dev;
        s.have_memfd_dev = true;
    }
    ino_t key = 0;
    file_key(sb, key);
    s.closed.erase(key);
    s.objects[key] = it->second;
    s.fds[fd] = key;
    flag(fd, true);
    s.reserved.erase(it);
}

void unreserve_fd(int fd) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    auto it = s.reserved.find(fd);
    if (it == s.reserved.end()) {
        return;
    }
    if (it->second.signal_fd >= 0) {
        close(it->second.signal_fd);
    }
    s.reserved.erase(it);
    close(fd);  // not a model file yet: the C library's close
}

int model_access_fd(int fd) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    ino_t ino = 0;
    const model_object* obj = object_of(fd, ino);
    return obj != nullptr && obj->kind == file_kind::access ? obj->model_fd : -1;
}

// The fault queue behind C API descriptor model_fd gained its first group to read (send the byte
// that makes the program's end readable) or lost its last one (take it back, through any
// descriptor the program has of that end: they share one socket).
void set_fault_pending(int model_fd, bool pending) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    for (auto& [key, obj] : s.objects) {
        if (obj.kind != file_kind::fault || obj.model_fd != model_fd || obj.signalled == pending) {
            continue;
        }
        if (pending) {
            const char byte = 1;
            obj.signalled = send(obj.signal_fd, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
            return;
        }
        for (const auto& [fd, fd_key] : s.fds) {
            ino_t now = 0;
            if (fd_key != key || !inode_of(fd, now) || now != key) {
                continue;
            }
            char byte = 0;
            while (recv(fd, &byte, 1, MSG_DONTWAIT) == 1) {
            }
            obj.signalled = false;
            return;
        }
        return;
    }
}

const descriptor_names model_names{reserve_access_fd,   reserve_fault_fd, set_fault_pending,
                                   install_reserved_fd, unreserve_fd,     model_access_fd};

bool maybe_model_file(int fd) {
    if (fd >= 0 && fd < flagged_fds) {
        return st().flagged[fd].load(std::memory_order_relaxed) != 0;
    }
    return fd >= flagged_fds && st().high_fds.load(std::memory_order_relaxed);
}

bool open_file(const char* path, int flags, int& result) {
    file_kind kind;
    if (path == nullptr || !owned_kind(path, kind)) {
        return false;
    }
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    // As open(2) of a character device or a proc file that exists.
    if ((flags & O_CREAT) && (flags & O_EXCL)) {
        errno = EEXIST;
        result = -1;
        return true;
    }
    if (flags & O_DIRECTORY) {
        errno = ENOTDIR;
        result = -1;
        return true;
    }
    model_object obj;
    obj.kind = kind;
    if (kind != file_kind::fail_nth) {
        configure_platform_once();
        static const bool names_installed = (set_descriptor_names(&model_names), true);
        (void)names_installed;
        obj.model_fd = iommusim_open(path, flags);
        if (obj.model_fd < 0) {
            result = -1;
            return true;
        }
    }
    const int fd = memfd_create(memfd_name(kind), (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        const int saved = errno;
        if (fd >= 0) {
            close(fd);
        }
        if (obj.model_fd >= 0) {
            iommusim_close(obj.model_fd);
        }
        errno = saved;
        result = -1;
        return true;
    }
    if (flags & O_NONBLOCK) {
        fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    s.memfd_dev = sb.st_dev;
    s.have_memfd_dev = true;
    s.closed.erase(sb.st_ino);
    s.objects[sb.st_ino] = obj;
    s.fds[fd] = sb.st_ino;
    flag(fd, true);
    result = fd;
    return true;
}

bool ioctl_file(int fd, unsigned long request, void* arg, int& result) {
    if (_IOC_TYPE(request) != IOMMUFD_TYPE) {
        return false;  // generic ioctls (FIONBIO, FIOCLEX, ...) act on the reserved kernel file
    }
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    ino_t ino = 0;
    model_object* obj = object_of(fd, ino);
    if (obj == nullptr) {
        if (!s.have_memfd_dev || !s.closed.count(ino) || !inode_of(fd, ino)) {
            return false;
        }
        // A descriptor of a model file the interposer never saw (a raw dup) after the model closed
        // the object with the last descriptor it knew of.
        errno = EBADF;
        result = -1;
        return true;
    }
    if (obj->channel >= 0) {
        result = forward_call(obj->channel, ino, request, arg);
    } else if (obj->kind == file_kind::fail_nth) {
        errno = ENOTTY;
        result = -1;
    } else if (obj->kind == file_kind::vfio_device && request == VFIO_DEVICE_BIND_IOMMUFD) {
        result = bind_iommufd(*obj, arg);
    } else {
        result = iommusim_ioctl(obj->model_fd, request, arg);
    }
    note_ioctl(result >= 0);  // VFIO_CHECK_EXTENSION answers 1
    return true;
}

// A VFIO device's regions (iommusim_pread/iommusim_pwrite). read/write (offset -1) use and advance
// the file position of the reserved descriptor, which its dups share, as VFIO uses the file's.
ssize_t device_region_io(int fd, int model_fd, void* buf, std::size_t len, off_t offset, bool is_write) {
    const bool positioned = offset >= 0;
    if (!positioned && (offset = lseek(fd, 0, SEEK_CUR)) < 0) {
        return -1;
    }
    const ssize_t n =
        is_write ? iommusim_pwrite(model_fd, buf, len, offset) : iommusim_pread(model_fd, buf, len, offset);
    if (!positioned && n > 0) {
        lseek(fd, offset + n, SEEK_SET);
    }
    return n;
}

// Runs fn on the model object behind fd, under the lock. False, without running fn, when fd is
// not a model file (the caller then hands the call to the C library).
template <typename Fn>
bool on_model_object(int fd, Fn&& fn) {
    if (!maybe_model_file(fd)) {
        return false;
    }
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    ino_t ino = 0;
    model_object* obj = object_of(fd, ino);
    if (obj == nullptr) {
        return false;
    }
    fn(*obj);
    return true;
}

bool read_file(int fd, void* buf, std::size_t len, off_t offset, ssize_t& result) {
    return on_model_object(fd, [&](model_object& obj) {
        if (obj.kind == file_kind::fail_nth) {
            result = fail_nth_read(fd, buf, len, offset);
        } else if (obj.kind == file_kind::fault) {
            result = offset >= 0 ? (errno = ESPIPE, -1) : iommusim_read(obj.model_fd, buf, len);  // not seekable
        } else if (obj.kind == file_kind::vfio_device) {
            result = device_region_io(fd, obj.model_fd, buf, len, offset, false);
        } else {
            errno = EINVAL;  // iommufd has no read
            result = -1;
        }
    });
}

bool write_file(int fd, const void* buf, std::size_t len, off_t offset, ssize_t& result) {
    return on_model_object(fd, [&](model_object& obj) {
        if (obj.kind == file_kind::fail_nth) {
            result = fail_nth_write(buf, len);  // ignores the offset
        } else if (obj.kind == file_kind::fault) {
            result = offset >= 0 ? (errno = ESPIPE, -1) : iommusim_write(obj.model_fd, buf, len);
        } else if (obj.kind == file_kind::vfio_device) {
            result = device_region_io(fd, obj.model_fd, const_cast<void*>(buf), len, offset, true);
        } else {
            errno = EINVAL;
            result = -1;
        }
    });
}

bool vector_io(int fd, ssize_t& result) {
    return on_model_object(fd, [&](model_object&) {
        errno = EINVAL;
        result = -1;
    });
}

bool mmap_file(int fd, void*& result) {
    return on_model_object(fd, [&](model_object& obj) {
        // iommufd has no mmap (ENODEV); a VFIO device maps mmap-capable regions only (none yet).
        errno = obj.kind == file_kind::vfio_device ? EINVAL : ENODEV;
        result = MAP_FAILED;
    });
}

int close_file(int fd, int (*real_close)(int)) {
    if (!maybe_model_file(fd)) {
        return real_close(fd);
    }
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    if (in_vfork_child()) {
        return real_close(fd);  // the child's descriptor table is its own; the model is the parent's
    }
    auto it = s.fds.find(fd);
    const bool known = it != s.fds.end();
    const ino_t ino = known ? it->second : 0;
    const int rc = real_close(fd);
    const int saved = errno;
    if (known) {
        s.fds.erase(it);
        flag(fd, false);
        release_if_unreferenced(ino);
    }
    errno = saved;
    return rc;
}

void note_dup(int oldfd, int newfd) {
    if (newfd < 0 || !st().have_memfd_dev) {
        return;
    }
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    if (in_vfork_child()) {
        return;
    }
    ino_t ino = 0;
    if (object_of(oldfd, ino) == nullptr) {
        return;
    }
    s.fds[newfd] = ino;
    flag(newfd, true);
}

bool model_inode_of(int fd, ino_t& ino) {
    if (!maybe_model_file(fd)) {
        return false;
    }
    std::lock_guard<std::recursive_mutex> guard(st().mutex);
    auto it = st().fds.find(fd);
    if (it == st().fds.end()) {
        return false;
    }
    ino = it->second;
    return true;
}

void note_replaced(int newfd, ino_t previous) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    if (in_vfork_child()) {
        return;
    }
    s.fds.erase(newfd);
    flag(newfd, false);
    release_if_unreferenced(previous);
}

void note_range_closed(unsigned first, unsigned last) {
    state& s = st();
    std::lock_guard<std::recursive_mutex> guard(s.mutex);
    if (in_vfork_child()) {
        return;
    }
    std::vector<ino_t> lost;
    for (auto it = s.fds.begin(); it != s.fds.end();) {
        const unsigned fd = static_cast<unsigned>(it->first);
        if (fd >= first && fd <= last) {
            lost.push_back(it->second);
            flag(it->first, false);
            it = s.fds.erase(it);
        } else {
            ++it;
        }
    }
    for (ino_t ino : lost) {
        release_if_unreferenced(ino);
    }
}

// A forked child's call on an iommufd file it inherited, run on this process's model with the
// child as the current user space (forked_callers.h runs it so). EBADF once this process closed
// the file's model object: the child's descriptor outlives it here, not on Linux.
int serve_forwarded_call(ino_t ino, unsigned long request, uint64_t arg, int& error) {
    try {
        state& s = st();
        std::lock_guard<std::recursive_mutex> guard(s.mutex);
        auto it = s.objects.find(ino);
        if (it == s.objects.end() || it->second.channel >= 0 || !shared_across_fork(it->second.kind)) {
            error = EBADF;
            return -1;
        }
        const int rc = iommusim_ioctl(it->second.model_fd, request, reinterpret_cast<void*>(arg));
        error = rc < 0 ? errno : 0;
        return rc;
    } catch (...) {
        error = ENOMEM;
        return -1;
    }
}

void prepare_fork() {
    state& s = st();
    s.mutex.lock();  // no thread is inside the model while its memory is copied
    s.forking = fork_channel{};
    for (const auto& [ino, obj] : s.objects) {
        (void)ino;
        if (shared_across_fork(obj.kind) && obj.channel < 0) {
            s.forking = open_fork_channel();  // the child will reach this process's model
            break;
        }
    }
}

void after_fork_parent() {
    state& s = st();
    serve_forked_child(s.forking, serve_forwarded_call);
    s.forking = fork_channel{};
    s.mutex.unlock();
}

void after_fork_child() {
    state& s = st();
    s.owner = getpid();
    // The lock was taken by the parent's thread, whose id the child's thread does not have: a
    // fresh mutex (no other thread exists in the child).
    new (&s.mutex) std::recursive_mutex;
    forget_served_channels();
    adopt_fork_channel(s.forking);
    // Files the parent itself reached through its own parent's model run on this copy: the
    // connection is the parent's, and its parent serves only it.
    if (s.parent_channel >= 0) {
        close(s.parent_channel);
    }
    s.parent_channel = s.forking.child_end;
    for (auto& [ino, obj] : s.objects) {
        (void)ino;
        obj.channel = shared_across_fork(obj.kind) && obj.channel < 0 ? s.forking.child_end : -1;
    }
    s.forking = fork_channel{};
    forked_child_outputs_off();
}

}  // namespace

}  // namespace iommusim::preload

// ---- C interface: no exception crosses into the C entry points ---------------------------------

namespace {

// Out of memory in the interposer's own tables: the call fails as the kernel would, ENOMEM.
template <typename Fn>
bool guarded(Fn&& fn) {
    try {
        return fn();
    } catch (...) {
        errno = ENOMEM;
        return true;
    }
}

}  // namespace

using namespace iommusim::preload;

extern "C" bool iommusim_preload_open(const char* path, int flags, int* result) {
    *result = -1;
    return guarded([&] { return open_file(path, flags, *result); });
}

extern "C" void iommusim_preload_signal_disposition(int signum, const void* handler) {
    iommusim::fault_safe_copy_disposition_set(signum, handler);
}

extern "C" bool iommusim_preload_ioctl(int fd, unsigned long request, void* arg, int* result) {
    *result = -1;
    return guarded([&] { return ioctl_file(fd, request, arg, *result); });
}

extern "C" bool iommusim_preload_read(int fd, void* buf, size_t len, off_t offset, ssize_t* result) {
    *result = -1;
    return maybe_model_file(fd) && guarded([&] { return read_file(fd, buf, len, offset, *result); });
}

extern "C" bool iommusim_preload_write(int fd, const void* buf, size_t len, off_t offset, ssize_t* result) {
    *result = -1;
    return maybe_model_file(fd) && guarded([&] { return write_file(fd, buf, len, offset, *result); });
}

extern "C" bool iommusim_preload_vector_io(int fd, ssize_t* result) {
    *result = -1;
    return maybe_model_file(fd) && guarded([&] { return vector_io(fd, *result); });
}

extern "C" bool iommusim_preload_mmap(int fd, void** result) {
    *result = MAP_FAILED;
    return maybe_model_file(fd) && guarded([&] { return mmap_file(fd, *result); });
}

extern "C" int iommusim_preload_close(int fd, int (*real_close)(int)) {
    if (!maybe_model_file(fd)) {
        return real_close(fd);
    }
    try {
        return close_file(fd, real_close);
    } catch (...) {
        return real_close(fd);
    }
}

extern "C" void iommusim_preload_dup(int oldfd, int newfd) {
    guarded([&] {
        note_dup(oldfd, newfd);
        return true;
    });
}

extern "C" bool iommusim_preload_replacing(int newfd, ino_t* previous) {
    return model_inode_of(newfd, *previous);
}

extern "C" void iommusim_preload_replaced(int newfd, ino_t previous) {
    guarded([&] {
        note_replaced(newfd, previous);
        return true;
    });
}

extern "C" void iommusim_preload_range_closed(unsigned first, unsigned last) {
    guarded([&] {
        note_range_closed(first, last);
        return true;
    });
}

extern "C" const char* iommusim_preload_opendir_path(const char* path) {
    try {
        return is_debugfs_path(path) ? fault_injection_debugfs() : nullptr;
    } catch (...) {
        return nullptr;
    }
}

extern "C" void iommusim_preload_prepare_fork(void) {
    prepare_fork();
}

extern "C" void iommusim_preload_parent_after_fork(void) {
    after_fork_parent();
}

extern "C" void iommusim_preload_child_after_fork(void) {
    guarded([] {
        after_fork_child();
        return true;
    });
}
