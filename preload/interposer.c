/* libiommusim-preload.so: the C library entry points a program reaches the iommufd and VFIO
 * files through, replaced so that those files are served by the model (model_files.h) and every
 * other file goes to the C library untouched (dlsym(RTLD_NEXT)). Loaded with LD_PRELOAD (see
 * `iommusim exec`). Written in C so that each definition is exactly the C library's prototype.
 *
 * Also: the fortified variants (__open_2, __read_chk, ...) that _FORTIFY_SOURCE programs call,
 * and MAP_HUGETLB on a host without huge pages (an aligned ordinary mapping, unless
 * IOMMUSIM_HUGETLB=host), and sigaction(2)/signal(2) reported to the model, whose copies of user
 * memory stop relying on their own fault handler once the program sets a SIGSEGV or SIGBUS handler
 * (tlm/fault_safe_copy.h). Does not model: paths relative to a directory descriptor or the current
 * directory (only the absolute paths are the model's), fopen(3) of a model path (the C library
 * opens internally), a model file kept across execve(2) (the new image does not know it). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mman.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/model_files.h"

#define EXPORT __attribute__((visibility("default")))

/* The next definition of `name` (the C library's), resolved on first use: a call may come before
 * this library's constructor has run. */
#define REAL(name)                                                    \
    ({                                                                \
        static __typeof__(&name) real_##name;                         \
        if (real_##name == NULL)                                      \
            real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name); \
        real_##name;                                                  \
    })

/* Opens with O_CREAT or O_TMPFILE take a mode. */
static int needs_mode(int flags) {
    return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

#define MODE_ARG(flags, mode)          \
    do {                               \
        if (needs_mode(flags)) {       \
            va_list ap;                \
            va_start(ap, flags);       \
            mode = va_arg(ap, mode_t); \
            va_end(ap);                \
        }                              \
    } while (0)

/* ---- open ------------------------------------------------------------------------------------ */

EXPORT int open(const char* path, int flags, ...) {
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(open)(path, flags, mode);
}

EXPORT int open64(const char* path, int flags, ...) {
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(open64)(path, flags, mode);
}

EXPORT int openat(int dirfd, const char* path, int flags, ...) {
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(openat)(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
    mode_t mode = 0;
    MODE_ARG(flags, mode);
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(openat64)(dirfd, path, flags, mode);
}

int __open_2(const char* path, int flags);
int __open64_2(const char* path, int flags);
int __openat_2(int dirfd, const char* path, int flags);
int __openat64_2(int dirfd, const char* path, int flags);

EXPORT int __open_2(const char* path, int flags) {
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(__open_2)(path, flags);
}

EXPORT int __open64_2(const char* path, int flags) {
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(__open64_2)(path, flags);
}

EXPORT int __openat_2(int dirfd, const char* path, int flags) {
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(__openat_2)(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
    int fd;
    if (iommusim_preload_open(path, flags, &fd))
        return fd;
    return REAL(__openat64_2)(dirfd, path, flags);
}

/* debugfs: the fault-injection attributes iommufd_fail_nth.c sets (fail_nth.h). */
EXPORT DIR* opendir(const char* path) {
    const char* instead = iommusim_preload_opendir_path(path);
    return REAL(opendir)(instead != NULL ? instead : path);
}

/* ---- ioctl ----------------------------------------------------------------------------------- */

EXPORT int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    int rc;
    if (iommusim_preload_ioctl(fd, request, arg, &rc))
        return rc;
    return REAL(ioctl)(fd, request, arg);
}

/* ---- signal dispositions --------------------------------------------------------------------- */

EXPORT int sigaction(int signum, const struct sigaction* act, struct sigaction* oldact) {
    if (act != NULL)
        iommusim_preload_signal_disposition(signum, (act->sa_flags & SA_SIGINFO) != 0
                                                        ? (const void*)act->sa_sigaction
                                                        : (const void*)act->sa_handler);
    return REAL(sigaction)(signum, act, oldact);
}

EXPORT sighandler_t signal(int signum, sighandler_t handler) {
    iommusim_preload_signal_disposition(signum, (const void*)handler);
    return REAL(signal)(signum, handler);
}

/* ---- close and dup --------------------------------------------------------------------------- */

EXPORT int close(int fd) {
    return iommusim_preload_close(fd, REAL(close));
}

EXPORT int close_range(unsigned first, unsigned last, int flags) {
    const int rc = REAL(close_range)(first, last, flags);
    if (rc == 0 && (flags & CLOSE_RANGE_CLOEXEC) == 0)
        iommusim_preload_range_closed(first, last);
    return rc;
}

EXPORT void closefrom(int lowfd) {
    REAL(closefrom)(lowfd);
    if (lowfd >= 0)
        iommusim_preload_range_closed((unsigned)lowfd, UINT_MAX);
}

EXPORT int dup(int oldfd) {
    const int fd = REAL(dup)(oldfd);
    if (fd >= 0)
        iommusim_preload_dup(oldfd, fd);
    return fd;
}

EXPORT int dup2(int oldfd, int newfd) {
    ino_t previous = 0;
    const int replacing = oldfd != newfd && iommusim_preload_replacing(newfd, &previous);
    const int rc = REAL(dup2)(oldfd, newfd);
    if (rc >= 0 && replacing)
        iommusim_preload_replaced(newfd, previous);
    if (rc >= 0)
        iommusim_preload_dup(oldfd, newfd);
    return rc;
}

EXPORT int dup3(int oldfd, int newfd, int flags) {
    ino_t previous = 0;
    const int replacing = oldfd != newfd && iommusim_preload_replacing(newfd, &previous);
    const int rc = REAL(dup3)(oldfd, newfd, flags);
    if (rc >= 0 && replacing)
        iommusim_preload_replaced(newfd, previous);
    if (rc >= 0)
        iommusim_preload_dup(oldfd, newfd);
    return rc;
}

/* ---- fcntl ----------------------------------------------------------------------------------- */

static int after_fcntl(int fd, int cmd, int rc) {
    if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
        iommusim_preload_dup(fd, rc);
    return rc;
}

EXPORT int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return after_fcntl(fd, cmd, REAL(fcntl)(fd, cmd, arg));
}

EXPORT int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return after_fcntl(fd, cmd, REAL(fcntl64)(fd, cmd, arg));
}

/* ---- read and write -------------------------------------------------------------------------- */

EXPORT ssize_t read(int fd, void* buf, size_t len) {
    ssize_t rc;
    if (iommusim_preload_read(fd, buf, len, -1, &rc))
        return rc;
    return REAL(read)(fd, buf, len);
}

EXPORT ssize_t write(int fd, const void* buf, size_t len) {
    ssize_t rc;
    if (iommusim_preload_write(fd, buf, len, -1, &rc))
        return rc;
    return REAL(write)(fd, buf, len);
}

EXPORT ssize_t pread(int fd, void* buf, size_t len, off_t offset) {
    ssize_t rc;
    if (iommusim_preload_read(fd, buf, len, offset, &rc))
        return rc;
    return REAL(pread)(fd, buf, len, offset);
}

EXPORT ssize_t pread64(int fd, void* buf, size_t len, off64_t offset) {
    ssize_t rc;
    if (iommusim_preload_read(fd, buf, len, offset, &rc))
        return rc;
    return REAL(pread64)(fd, buf, len, offset);
}

EXPORT ssize_t pwrite(int fd, const void* buf, size_t len, off_t offset) {
    ssize_t rc;
    if (iommusim_preload_write(fd, buf, len, offset, &rc))
        return rc;
    return REAL(pwrite)(fd, buf, len, offset);
}

EXPORT ssize_t pwrite64(int fd, const void* buf, size_t len, off64_t offset) {
    ssize_t rc;
    if (iommusim_preload_write(fd, buf, len, offset, &rc))
        return rc;
    return REAL(pwrite64)(fd, buf, len, offset);
}

/* The fortified reads check the buffer first, as the C library's own do. */
ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen);
ssize_t __pread_chk(int fd, void* buf, size_t len, off_t offset, size_t buflen);
ssize_t __pread64_chk(int fd, void* buf, size_t len, off64_t offset, size_t buflen);

EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
    ssize_t rc;
    if (len <= buflen && iommusim_preload_read(fd, buf, len, -1, &rc))
        return rc;
    return REAL(__read_chk)(fd, buf, len, buflen);
}

EXPORT ssize_t __pread_chk(int fd, void* buf, size_t len, off_t offset, size_t buflen) {
    ssize_t rc;
    if (len <= buflen && iommusim_preload_read(fd, buf, len, offset, &rc))
        return rc;
    return REAL(__pread_chk)(fd, buf, len, offset, buflen);
}

EXPORT ssize_t __pread64_chk(int fd, void* buf, size_t len, off64_t offset, size_t buflen) {
    ssize_t rc;
    if (len <= buflen && iommusim_preload_read(fd, buf, len, offset, &rc))
        return rc;
    return REAL(__pread64_chk)(fd, buf, len, offset, buflen);
}

#define VECTOR_IO(name, params, args)            \
    EXPORT ssize_t name params {                 \
        ssize_t rc;                              \
        if (iommusim_preload_vector_io(fd, &rc)) \
            return rc;                           \
        return REAL(name) args;                  \
    }

VECTOR_IO(readv, (int fd, const struct iovec* iov, int n), (fd, iov, n))
VECTOR_IO(writev, (int fd, const struct iovec* iov, int n), (fd, iov, n))
VECTOR_IO(preadv, (int fd, const struct iovec* iov, int n, off_t o), (fd, iov, n, o))
VECTOR_IO(pwritev, (int fd, const struct iovec* iov, int n, off_t o), (fd, iov, n, o))
VECTOR_IO(preadv64, (int fd, const struct iovec* iov, int n, off64_t o), (fd, iov, n, o))
VECTOR_IO(pwritev64, (int fd, const struct iovec* iov, int n, off64_t o), (fd, iov, n, o))
VECTOR_IO(preadv2, (int fd, const struct iovec* iov, int n, off_t o, int f), (fd, iov, n, o, f))
VECTOR_IO(pwritev2, (int fd, const struct iovec* iov, int n, off_t o, int f), (fd, iov, n, o, f))
VECTOR_IO(preadv64v2, (int fd, const struct iovec* iov, int n, off64_t o, int f), (fd, iov, n, o, f))
VECTOR_IO(pwritev64v2, (int fd, const struct iovec* iov, int n, off64_t o, int f), (fd, iov, n, o, f))

/* ---- mmap ------------------------------------------------------------------------------------ */

/* MAP_HUGETLB with no huge page to be had (ENOMEM, a host with nr_hugepages=0): an ordinary
 * mapping aligned to the huge page size asked for (2 MiB by default), so programs that map huge
 * pages for their DMA buffers run anywhere. IOMMUSIM_HUGETLB=host keeps the host's refusal. */
static void* hugetlb_fallback(void* addr, size_t len, int prot, int flags,
                              void* (*real_mmap)(void*, size_t, int, int, int, off_t)) {
    const char* setting = getenv("IOMMUSIM_HUGETLB");
    if (setting != NULL && strcmp(setting, "host") == 0) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    const unsigned shift = ((unsigned)flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    const size_t align = shift != 0 && shift < 40 ? (size_t)1 << shift : (size_t)2 << 20;
    const size_t length = (len + align - 1) & ~(align - 1);
    const int plain = flags & ~(MAP_HUGETLB | (MAP_HUGE_MASK << MAP_HUGE_SHIFT));
    if (length < len) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
        return real_mmap(addr, length, prot, plain, -1, 0);
    char* raw = real_mmap(NULL, length + align, prot, plain, -1, 0);
    if (raw == MAP_FAILED)
        return MAP_FAILED;
    char* aligned = (char*)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (aligned > raw)
        munmap(raw, (size_t)(aligned - raw));
    if (aligned + length < raw + length + align)
        munmap(aligned + length, (size_t)(raw + length + align - (aligned + length)));
    madvise(aligned, length, MADV_HUGEPAGE); /* a transparent huge page where the host has them */
    return aligned;
}

static void* mmap_common(void* addr, size_t len, int prot, int flags, int fd, off_t offset,
                         void* (*real_mmap)(void*, size_t, int, int, int, off_t)) {
    void* result;
    if ((flags & MAP_ANONYMOUS) == 0 && iommusim_preload_mmap(fd, &result))
        return result;
    result = real_mmap(addr, len, prot, flags, fd, offset);
    if (result == MAP_FAILED && errno == ENOMEM && (flags & MAP_HUGETLB) && (flags & MAP_ANONYMOUS))
        return hugetlb_fallback(addr, len, prot, flags, real_mmap);
    return result;
}

EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
    return mmap_common(addr, len, prot, flags, fd, offset, REAL(mmap));
}

EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off64_t offset) {
    return mmap_common(addr, len, prot, flags, fd, offset, REAL(mmap64));
}

/* ---- fork ------------------------------------------------------------------------------------ */

__attribute__((constructor)) static void register_fork_handlers(void) {
    pthread_atfork(iommusim_preload_prepare_fork, iommusim_preload_parent_after_fork,
                   iommusim_preload_child_after_fork);
}

/* libsystemc.so refers to sc_main (its own main() would call it) and is loaded with this library
 * into programs that have none; the program's own, if it has one, comes first. */
EXPORT int sc_main(int argc, char** argv) {
    (void)argc;
    (void)argv;
    return 1;
}
