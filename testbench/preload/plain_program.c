/* A plain C program using /dev/iommu and a VFIO device through the C library's own entry points
 * (open, ioctl, close, dup, fcntl, poll, fork, ...), as a VMM does on Linux: run by ctest under
 * libiommusim-preload.so. It includes no iommusim header besides the uAPI (uapi.h).
 *
 * usage: plain_program CASE    (CASE: one of the names in `cases` below)
 * Prints one line per failed check and exits 1 if any failed, 0 otherwise. Each expectation is
 * what Linux gives for the same calls on the kernel's iommufd and VFIO cdev files. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "uapi.h"

#define PAGE 4096UL
#define GPA_BASE 0x100000UL
#define GUEST_PAGES 8

/* ---- helpers: one ioctl each, returning 0 or the errno -------------------------------------- */

static int call(int fd, unsigned long request, void* arg) {
    return ioctl(fd, request, arg) == 0 ? 0 : errno;
}

static int ioas_alloc(int fd, uint32_t* id) {
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    const int rc = call(fd, IOMMU_IOAS_ALLOC, &a);
    *id = a.out_ioas_id;
    return rc;
}

static int destroy(int fd, uint32_t id) {
    struct iommu_destroy d = {.size = sizeof(d), .id = id};
    return call(fd, IOMMU_DESTROY, &d);
}

static int bind(int device, int iommufd, uint32_t* dev_id) {
    struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = iommufd};
    const int rc = call(device, VFIO_DEVICE_BIND_IOMMUFD, &b);
    *dev_id = b.out_devid;
    return rc;
}

/* ---- cases ---------------------------------------------------------------------------------- */

/* Descriptor semantics: O_CLOEXEC, dup/F_DUPFD_CLOEXEC share one context, poll/select report the
 * default mask, read/write/mmap/epoll refuse as for a file without those methods. */
static void case_descriptors(void) {
    const int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(fcntl(fd, F_SETFD, 0) == 0 && fcntl(fd, F_GETFD) == 0);
    uint32_t first = 0, second = 0, third = 0;
    CHECK(ioas_alloc(fd, &first) == 0 && first != 0);
    const int copy = dup(fd);
    CHECK(copy >= 0 && copy != fd);
    CHECK(ioas_alloc(copy, &second) == 0 && second != first); /* one object table */
    const int high = fcntl(fd, F_DUPFD_CLOEXEC, 100);
    CHECK(high >= 100 && (fcntl(high, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(close(fd) == 0);
    CHECK(ioas_alloc(high, &third) == 0 && third != first && third != second); /* still open */
    CHECK(destroy(copy, first) == 0 && destroy(copy, first) == ENOENT);
    CHECK(close(high) == 0);

    struct pollfd p = {.fd = copy, .events = POLLIN | POLLOUT};
    CHECK(poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLOUT)) == (POLLIN | POLLOUT));
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(copy, &readable);
    struct timeval zero = {0, 0};
    CHECK(select(copy + 1, &readable, NULL, NULL, &zero) == 1);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, copy, &ev) == -1 && errno == EPERM);
    close(ep);

    char buf[8];
    CHECK(read(copy, buf, sizeof(buf)) == -1 && errno == EINVAL);
    CHECK(write(copy, buf, sizeof(buf)) == -1 && errno == EINVAL);
    CHECK(pread(copy, buf, sizeof(buf), 0) == -1 && errno == EINVAL);
    CHECK(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, copy, 0) == MAP_FAILED && errno == ENODEV);
    CHECK(call(copy, 0x3bff, NULL) == ENOTTY); /* an iommufd command number nobody defines */
    CHECK(fcntl(copy, F_SETFL, O_NONBLOCK) == 0 && (fcntl(copy, F_GETFL) & O_NONBLOCK) != 0);
    CHECK(close(copy) == 0);
    CHECK(ioas_alloc(copy, &first) == EBADF); /* closed */
    CHECK(close(copy) == -1 && errno == EBADF);

    CHECK(open("/dev/iommu", O_RDWR | O_CREAT | O_EXCL, 0600) == -1 && errno == EEXIST);
    CHECK(open("/dev/vfio/devices/vfio9999", O_RDWR) == -1 && errno == ENOENT);
    CHECK(open("/dev/vfio/devices/vfio01", O_RDWR) == -1 && errno == ENOENT);
}

/* Every other file is the C library's, untouched: a temporary file read, written, mapped, dup'd
 * and closed; an iommufd command number on it is the kernel's ENOTTY; pipes and FIONREAD. */
static void case_other_files(void) {
    char path[] = "/tmp/iommusim-preload-XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(write(fd, "iommusim", 8) == 8 && pwrite(fd, "I", 1, 0) == 1);
    char buf[8] = {0};
    CHECK(pread(fd, buf, 8, 0) == 8 && memcmp(buf, "Iommusim", 8) == 0);
    const char* map = mmap(NULL, 8, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(map != MAP_FAILED && memcmp(map, "Iommusim", 8) == 0);
    munmap((void*)map, 8);
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    CHECK(call(fd, IOMMU_IOAS_ALLOC, &a) == ENOTTY);
    const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 50);
    CHECK(copy >= 50 && lseek(copy, 0, SEEK_SET) == 0 && read(copy, buf, 8) == 8);
    CHECK(close(copy) == 0 && close(fd) == 0);
    int p[2];
    CHECK(pipe(p) == 0 && write(p[1], "xy", 2) == 2);
    int pending = 0;
    CHECK(ioctl(p[0], FIONREAD, &pending) == 0 && pending == 2);
    close(p[0]);
    close(p[1]);
    CHECK(open("/nonexistent/iommu", O_RDONLY) == -1 && errno == ENOENT);
}

/* /dev/vfio/vfio is an iommufd (CONFIG_IOMMUFD_VFIO_CONTAINER): the type1 calls of a VMM on the
 * compat IOAS, and a device cdev bound to the container's descriptor. */
static void case_vfio_container(void) {
    const int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    CHECK(container >= 0);
    CHECK(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION);
    CHECK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1);
    CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == -1 && errno == ENODEV); /* no compat IOAS */
    uint32_t ioas = 0, dev_id = 0;
    CHECK(ioas_alloc(container, &ioas) == 0);
    struct iommu_vfio_ioas compat = {.size = sizeof(compat), .ioas_id = ioas, .op = IOMMU_VFIO_IOAS_SET};
    CHECK(call(container, IOMMU_VFIO_IOAS, &compat) == 0);
    CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR);
    CHECK(device >= 0 && bind(device, container, &dev_id) == 0);
    struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof(attach), .pt_id = ioas};
    CHECK(call(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == 0);
    uint8_t* guest = mmap(NULL, GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(guest != MAP_FAILED);
    struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map),
                                           .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                           .vaddr = (uintptr_t)guest,
                                           .iova = GPA_BASE,
                                           .size = GUEST_PAGES * PAGE};
    CHECK(call(container, VFIO_IOMMU_MAP_DMA, &map) == 0);
    struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap), .flags = VFIO_DMA_UNMAP_FLAG_ALL};
    CHECK(call(container, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 && unmap.size == GUEST_PAGES * PAGE);
    CHECK(call(container, VFIO_IOMMU_DIRTY_PAGES, &unmap) == ENOTTY);
    munmap(guest, GUEST_PAGES * PAGE);
    CHECK(close(device) == 0 && close(container) == 0);
}

/* The nested-translation flow of a VMM: bind, IOAS_MAP of guest memory, a nesting parent, a
 * VT-d stage-1 HWPT, attach, HWPT_INVALIDATE, GET_HW_INFO, detach; the dup'd iommufd is the one
 * the device is bound with. */
static void case_nested_flow(void) {
    const int iommufd = open("/dev/iommu", O_RDWR);
    const int ctx = dup(iommufd);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
    CHECK(iommufd >= 0 && ctx >= 0 && device >= 0);
    uint32_t dev_id = 0, ioas = 0;
    CHECK(bind(device, ctx, &dev_id) == 0 && dev_id != 0);
    uint32_t unused = 0;
    CHECK(bind(device, ctx, &unused) == EINVAL); /* already bound */
    CHECK(ioas_alloc(iommufd, &ioas) == 0);

    uint8_t* guest = mmap(NULL, GUEST_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(guest != MAP_FAILED);
    struct iommu_ioas_map map = {
        .size = sizeof(map),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = ioas,
        .user_va = (uintptr_t)guest,
        .length = GUEST_PAGES * PAGE,
        .iova = GPA_BASE};
    CHECK(call(iommufd, IOMMU_IOAS_MAP, &map) == 0);
    struct iommu_hwpt_alloc parent = {
        .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT, .dev_id = dev_id, .pt_id = ioas};
    CHECK(call(iommufd, IOMMU_HWPT_ALLOC, &parent) == 0);
    struct iommu_hwpt_vtd_s1 s1 = {.pgtbl_addr = GPA_BASE, .addr_width = 48};
    struct iommu_hwpt_alloc nested = {.size = sizeof(nested),
                                      .dev_id = dev_id,
                                      .pt_id = parent.out_hwpt_id,
                                      .data_type = IOMMU_HWPT_DATA_VTD_S1,
                                      .data_len = sizeof(s1),
                                      .data_uptr = (uintptr_t)&s1};
    CHECK(call(iommufd, IOMMU_HWPT_ALLOC, &nested) == 0);
    struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof(attach), .pt_id = nested.out_hwpt_id};
    CHECK(call(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == 0);

    struct iommu_hwpt_vtd_s1_invalidate inv[4];
    memset(inv, 0, sizeof(inv));
    for (unsigned i = 0; i < 4; ++i) {
        inv[i].addr = 0x40000000UL + i * PAGE;
        inv[i].npages = 1;
    }
    struct iommu_hwpt_invalidate cmd = {.size = sizeof(cmd),
                                        .hwpt_id = nested.out_hwpt_id,
                                        .data_uptr = (uintptr_t)inv,
                                        .data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
                                        .entry_len = sizeof(inv[0]),
                                        .entry_num = 4};
    CHECK(call(iommufd, IOMMU_HWPT_INVALIDATE, &cmd) == 0 && cmd.entry_num == 4);
    inv[2].flags = 0x80000000u; /* an undefined flag: the entries before it are done */
    cmd.entry_num = 4;
    CHECK(call(iommufd, IOMMU_HWPT_INVALIDATE, &cmd) == EOPNOTSUPP && cmd.entry_num == 2);

    struct iommu_hw_info info = {.size = sizeof(info), .dev_id = dev_id};
    CHECK(call(iommufd, IOMMU_GET_HW_INFO, &info) == 0 && info.out_data_type == IOMMU_HW_INFO_TYPE_INTEL_VTD);
    CHECK(destroy(iommufd, nested.out_hwpt_id) == EBUSY); /* attached */
    struct vfio_device_detach_iommufd_pt detach = {.argsz = sizeof(detach)};
    CHECK(call(device, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) == 0);
    CHECK(destroy(iommufd, nested.out_hwpt_id) == 0);
    CHECK(close(device) == 0 && close(ctx) == 0 && close(iommufd) == 0);
    munmap(guest, GUEST_PAGES * PAGE);
}

/* VFIO_DEVICE_BIND_IOMMUFD with a descriptor that is not an iommufd: as the kernel, EBADF for a
 * closed one, EBADFD for another kind of file. */
static void case_bind_errors(void) {
    const int device = open("/dev/vfio/devices/vfio1", O_RDWR);
    const int other = open("/dev/vfio/devices/vfio2", O_RDWR);
    const int pipe_fds[2] = {-1, -1};
    CHECK(pipe((int*)pipe_fds) == 0);
    uint32_t dev_id = 0;
    CHECK(bind(device, pipe_fds[0], &dev_id) == EBADFD);
    CHECK(bind(device, other, &dev_id) == EBADFD);
    CHECK(bind(device, 999, &dev_id) == EBADF);
    CHECK(call(device, VFIO_DEVICE_BIND_IOMMUFD, (void*)16) == EFAULT);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    close(other);
    close(device);
}

/* fork: the child's calls on the iommufd it inherited reach the parent's model, as on Linux, where
 * both share the one file: what the child allocates and destroys the parent sees. The child's
 * close drops only its own descriptors (the parent's device stays bound). */
static void case_fork(void) {
    const int fd = open("/dev/iommu", O_RDWR);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR);
    uint32_t dev_id = 0, before = 0;
    CHECK(bind(device, fd, &dev_id) == 0 && ioas_alloc(fd, &before) == 0);
    fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        uint32_t id = 0;
        int ok = ioas_alloc(fd, &id) == 0 && id == before + 1 && destroy(fd, before) == 0;
        ok = ok && close(device) == 0 && close(fd) == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    uint32_t id = 0;
    CHECK(destroy(fd, before) == ENOENT);            /* the child destroyed it */
    CHECK(ioas_alloc(fd, &id) == 0 && id == before); /* its id is free again */
    CHECK(destroy(fd, before + 1) == 0);             /* the child's allocation is ours too */
    CHECK(bind(device, fd, &dev_id) == EINVAL);      /* its close was its own: still bound */
    close(device);
    close(fd);
}

static int ioas_map_fixed(int fd, uint32_t ioas, void* at, uint64_t length, uint64_t iova) {
    struct iommu_ioas_map map = {
        .size = sizeof(map),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = ioas,
        .user_va = (uintptr_t)at,
        .length = length,
        .iova = iova};
    return call(fd, IOMMU_IOAS_MAP, &map);
}

/* Unmaps [iova, iova + length) and gives the bytes unmapped (0 on an error). */
static uint64_t ioas_unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t length) {
    struct iommu_ioas_unmap unmap = {.size = sizeof(unmap), .ioas_id = ioas, .iova = iova, .length = length};
    return call(fd, IOMMU_IOAS_UNMAP, &unmap) == 0 ? unmap.length : 0;
}

/* Runs child_fn in a forked child and gives its exit status (-1 if it did not exit). */
static int in_child(int (*child_fn)(int fd, uint32_t ioas, void* shared, void* private_mem), int fd, uint32_t ioas,
                    void* shared, void* private_mem) {
    fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        _exit(child_fn(fd, ioas, shared, private_mem));
    }
    int status = 0;
    return waitpid(child, &status, 0) == child && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int child_maps_both(int fd, uint32_t ioas, void* shared, void* private_mem) {
    const int shared_rc = ioas_map_fixed(fd, ioas, shared, 4 * PAGE, 0x100000);
    const int private_rc = ioas_map_fixed(fd, ioas, private_mem, 4 * PAGE, 0x200000);
    return shared_rc == 0 && private_rc == EFAULT ? 0 : 1;
}

/* What a forked child maps through the parent's model: memory both share (MAP_SHARED) lands in
 * the parent's IOAS, reached through the parent's mapping of it; memory private to the child is
 * EFAULT, the model's process cannot reach it. Pages nothing pinned yet cannot be pinned once the
 * child is gone: attaching a device then is EFAULT, as Linux answers without the child's mm. */
static void case_fork_memory(void) {
    const int fd = open("/dev/iommu", O_RDWR);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR);
    uint32_t dev_id = 0, ioas = 0;
    CHECK(bind(device, fd, &dev_id) == 0 && ioas_alloc(fd, &ioas) == 0);
    void* shared = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    void* private_mem = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED && private_mem != MAP_FAILED);
    memset(private_mem, 1, 4 * PAGE);

    CHECK(in_child(child_maps_both, fd, ioas, shared, private_mem) == 0);
    struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof(attach), .pt_id = ioas};
    CHECK(call(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == EFAULT); /* the child is gone */
    CHECK(ioas_unmap(fd, ioas, 0x200000, 4 * PAGE) == 0);                  /* never mapped */
    CHECK(ioas_unmap(fd, ioas, 0x100000, 4 * PAGE) == 4 * PAGE);           /* the child's map */

    CHECK(ioas_map_fixed(fd, ioas, shared, 4 * PAGE, 0x100000) == 0); /* the parent's own pins later */
    attach.pt_id = ioas;
    CHECK(call(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == 0);
    close(device);
    close(fd);
    munmap(shared, 4 * PAGE);
    munmap(private_mem, 4 * PAGE);
}

/* Closing behind the interposer's back: close_range and closefrom close the model's objects too
 * (a device closed that way is unbound, so it binds again). dup2 over a model file closes it. */
static void case_close_range(void) {
    const int a = open("/dev/iommu", O_RDWR);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR);
    uint32_t dev_id = 0, id = 0;
    CHECK(bind(device, a, &dev_id) == 0);
    const int lo = a < device ? a : device, hi = a < device ? device : a;
    CHECK(close_range((unsigned)lo, (unsigned)hi, 0) == 0);
    CHECK(ioas_alloc(a, &id) == EBADF);
    const int b = open("/dev/iommu", O_RDWR);
    const int again = open("/dev/vfio/devices/vfio0", O_RDWR);
    CHECK(bind(again, b, &dev_id) == 0); /* the old binding went with its file */

    const int high = fcntl(again, F_DUPFD, 200);
    CHECK(close(again) == 0);
    CHECK(close_range((unsigned)high, (unsigned)high, CLOSE_RANGE_CLOEXEC) == 0); /* not a close */
    CHECK((fcntl(high, F_GETFD) & FD_CLOEXEC) != 0);
    struct vfio_device_detach_iommufd_pt detach = {.argsz = sizeof(detach)};
    CHECK(call(high, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach) == 0);
    closefrom(200);
    CHECK(fcntl(high, F_GETFD) == -1 && errno == EBADF);
    const int third = open("/dev/vfio/devices/vfio0", O_RDWR);
    CHECK(bind(third, b, &dev_id) == 0);

    const int null_fd = open("/dev/null", O_RDWR);
    CHECK(dup2(null_fd, third) == third); /* replaces the device file */
    CHECK(call(third, VFIO_DEVICE_BIND_IOMMUFD, NULL) == ENOTTY);
    const int fourth = open("/dev/vfio/devices/vfio0", O_RDWR);
    CHECK(bind(fourth, b, &dev_id) == 0);
    close(fourth);
    close(third);
    close(null_fd);
    close(b);
}

/* A descriptor the interposer never saw (a raw dup system call) after the model closed the object
 * with the last one it knew of: EBADF, never a crash. */
static void case_raw_dup(void) {
    const int fd = open("/dev/iommu", O_RDWR);
    const int raw = (int)syscall(SYS_dup, fd);
    CHECK(raw >= 0);
    uint32_t id = 0;
    CHECK(ioas_alloc(raw, &id) == 0); /* the same file: the same context */
    CHECK(close(fd) == 0);
    CHECK(ioas_alloc(raw, &id) == EBADF);
    CHECK(close(raw) == 0);
}

#define THREADS 4
#define ROUNDS 200

static int g_shared_fd;

static void* allocate_and_destroy(void* arg) {
    (void)arg;
    long bad = 0;
    for (int i = 0; i < ROUNDS; ++i) {
        uint32_t id = 0;
        if (ioas_alloc(g_shared_fd, &id) != 0 || destroy(g_shared_fd, id) != 0) {
            ++bad;
        }
        const int copy = dup(g_shared_fd);
        if (copy < 0 || close(copy) != 0) {
            ++bad;
        }
    }
    return (void*)bad;
}

/* Threads calling concurrently on one iommufd (and dup/close around it): every call served. The
 * iommufd has a platform device bound, so every call runs on the simulated CPU (the model is
 * entered from each thread in turn). */
static void case_threads(void) {
    g_shared_fd = open("/dev/iommu", O_RDWR);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR);
    uint32_t dev_id = 0;
    CHECK(bind(device, g_shared_fd, &dev_id) == 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; ++i) {
        CHECK(pthread_create(&t[i], NULL, allocate_and_destroy, NULL) == 0);
    }
    for (int i = 0; i < THREADS; ++i) {
        void* bad = NULL;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
    uint32_t id = 0;
    CHECK(ioas_alloc(g_shared_fd, &id) == 0 && id == 2); /* every thread's objects destroyed (1: the device) */
    close(device);
    close(g_shared_fd);
}

/* vfork + exec: the child shares the parent's memory but has its own descriptors; what it closes
 * before exec stays open in the parent. */
static void case_vfork(void) {
    const int fd = open("/dev/iommu", O_RDWR);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR);
    uint32_t dev_id = 0;
    CHECK(bind(device, fd, &dev_id) == 0);
    const pid_t child = vfork();
    if (child == 0) {
        close(device);
        close(fd);
        dup2(2, 1);
        execl("/bin/true", "true", (char*)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    uint32_t id = 0;
    CHECK(ioas_alloc(fd, &id) == 0);
    CHECK(bind(device, fd, &dev_id) == EINVAL); /* still bound: the child's close was its own */
    close(device);
    close(fd);
}

/* execve: an O_CLOEXEC model file is closed by it, as any; one kept open is a descriptor the new
 * image's model does not know (ENOTTY: a memfd), never a crash. */
static void case_exec_keep(void) {
    const int kept = open("/dev/iommu", O_RDWR);
    const int closed = open("/dev/iommu", O_RDWR | O_CLOEXEC);
    char kept_text[16], closed_text[16];
    snprintf(kept_text, sizeof(kept_text), "%d", kept);
    snprintf(closed_text, sizeof(closed_text), "%d", closed);
    fflush(stdout);
    execl("/proc/self/exe", "plain_program", "after_exec", kept_text, closed_text, (char*)NULL);
    CHECK(!"execl failed");
}

static void case_after_exec(int kept, int closed) {
    uint32_t id = 0;
    CHECK(fcntl(kept, F_GETFD) == 0);
    CHECK(ioas_alloc(kept, &id) == ENOTTY);
    CHECK(close(kept) == 0);
    CHECK(fcntl(closed, F_GETFD) == -1 && errno == EBADF);
    const int fresh = open("/dev/iommu", O_RDWR);
    CHECK(ioas_alloc(fresh, &id) == 0 && id == 1); /* a model of its own */
    close(fresh);
}

/* The kernel's fail-nth file, as iommufd_fail_nth.c drives it. */
static void case_fail_nth(void) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", (int)gettid());
    const int nth = open(path, O_RDWR);
    const int fd = open("/dev/iommu", O_RDWR);
    CHECK(nth >= 0 && fd >= 0);
    char buf[16] = {0};
    uint32_t id = 0;
    CHECK(pwrite(nth, "1", 1, 0) == 1);
    CHECK(ioas_alloc(fd, &id) == ENOMEM);
    CHECK(pread(nth, buf, sizeof(buf), 0) == 2 && memcmp(buf, "0\n", 2) == 0);
    CHECK(ioas_alloc(fd, &id) == 0);
    CHECK(pwrite(nth, "5\n", 2, 0) == 2);
    CHECK(ioas_alloc(fd, &id) == 0);
    CHECK(pread(nth, buf, sizeof(buf), 0) == 2 && memcmp(buf, "4\n", 2) == 0);
    CHECK(pwrite(nth, "0", 1, 0) == 1);
    CHECK(pwrite(nth, "x", 1, 0) == -1 && errno == EINVAL);
    CHECK(pread(nth, buf, sizeof(buf), 0) == 2 && memcmp(buf, "0\n", 2) == 0);
    CHECK(read(nth, buf, sizeof(buf)) == 2 && read(nth, buf, sizeof(buf)) == 0); /* then end of file */
    const int self = open("/proc/thread-self/fail-nth", O_RDWR);
    CHECK(self >= 0 && write(self, "1", 1) == 1);
    CHECK(ioas_alloc(fd, &id) == ENOMEM);
    close(self);
    close(nth);
    close(fd);
}

/* iommufd_fail_nth.c's set-up: debugfs's fault-injection attributes, found and written through
 * opendir/openat, are the interposer's (the host's own are never written). */
static void case_debugfs(void) {
    DIR* debugfs = opendir("/sys/kernel/debug/");
    CHECK(debugfs != NULL);
    if (debugfs == NULL) {
        return;
    }
    int attributes = 0;
    for (const struct dirent* e; (e = readdir(debugfs)) != NULL;) {
        attributes += strncmp(e->d_name, "fail", 4) == 0;
    }
    CHECK(attributes == 2); /* failslab, fail_page_alloc */
    const int fd = openat(dirfd(debugfs), "failslab/ignore-gfp-wait", O_WRONLY);
    CHECK(fd >= 0 && write(fd, "N", 1) == 1);
    close(fd);
    char self[64], target[256] = {0};
    snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd(debugfs));
    CHECK(readlink(self, target, sizeof(target) - 1) > 0 && strncmp(target, "/sys/", 5) != 0);
    closedir(debugfs);
}

/* MAP_HUGETLB on a host without huge pages: an ordinary mapping aligned to 2 MiB. */
static void case_hugetlb(void) {
    const size_t len = 2UL << 20;
    char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    CHECK(p != MAP_FAILED && ((uintptr_t)p & (len - 1)) == 0);
    if (p != MAP_FAILED) {
        p[0] = 1;
        p[len - 1] = 2;
        CHECK(munmap(p, len) == 0);
    }
}

/* IOMMUSIM_HUGETLB=host: the host's answer (ENOMEM with no huge pages). */
static void case_hugetlb_host(void) {
    FILE* meminfo = fopen("/proc/meminfo", "r");
    char line[128];
    long free_pages = 0;
    while (meminfo != NULL && fgets(line, sizeof(line), meminfo) != NULL) {
        sscanf(line, "HugePages_Free: %ld", &free_pages);
    }
    if (meminfo != NULL) {
        fclose(meminfo);
    }
    if (free_pages > 0) {
        printf("hugetlb_host: skipped, the host has huge pages\n");
        exit(77); /* ctest's SKIP_RETURN_CODE */
    }
    const void* p = mmap(NULL, 2UL << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    CHECK(p == MAP_FAILED && errno == ENOMEM);
}

/* A short program for `iommusim exec`: a few ioctls, one refused. */
static void case_exec(void) {
    const int fd = open("/dev/iommu", O_RDWR);
    const int device = open("/dev/vfio/devices/vfio0", O_RDWR);
    uint32_t dev_id = 0, id = 0;
    CHECK(bind(device, fd, &dev_id) == 0 && ioas_alloc(fd, &id) == 0);
    CHECK(destroy(fd, 77) == ENOENT);
    close(device);
    close(fd);
}

struct test_case {
    const char* name;
    void (*run)(void);
};

static const struct test_case cases[] = {
    {"descriptors", case_descriptors},
    {"other_files", case_other_files},
    {"nested_flow", case_nested_flow},
    {"vfio_container", case_vfio_container},
    {"bind_errors", case_bind_errors},
    {"fork", case_fork},
    {"fork_memory", case_fork_memory},
    {"close_range", case_close_range},
    {"raw_dup", case_raw_dup},
    {"threads", case_threads},
    {"vfork", case_vfork},
    {"exec_keep", case_exec_keep},
    {"fail_nth", case_fail_nth},
    {"debugfs", case_debugfs},
    {"hugetlb", case_hugetlb},
    {"hugetlb_host", case_hugetlb_host},
    {"exec", case_exec},
};

int main(int argc, char** argv) {
    if (argc == 4 && strcmp(argv[1], "after_exec") == 0) { /* the image case_exec_keep starts */
        case_after_exec(atoi(argv[2]), atoi(argv[3]));
        printf("exec_keep: %s\n", failures ? "FAILED" : "passed");
        return failures ? 1 : 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].run();
            printf("%s: %s\n", cases[i].name, failures ? "FAILED" : "passed");
            return failures ? 1 : 0;
        }
    }
    fprintf(stderr, "%s: unknown case '%s'\n", argv[0], argv[1]);
    return 2;
}
