/* C API of the platform: the iommufd and VFIO cdev system calls, served by the model.
 *
 * Files:
 *   "/dev/iommu"               each open is a new, independent iommufd context (object table).
 *   "/dev/vfio/devices/vfioN"  DMA device N of the platform (VFIO cdev). Bind it to an iommufd
 *                              context with VFIO_DEVICE_BIND_IOMMUFD, then attach it with
 *                              VFIO_DEVICE_ATTACH_IOMMUFD_PT.
 * A context also hands out descriptors of its own: the selftest's access files
 * (IOMMU_TEST_OP_CREATE_ACCESS) and fault fds (IOMMU_FAULT_QUEUE_ALLOC; iommusim_read,
 * iommusim_write and iommusim_poll below). Each keeps its context alive until closed.
 * The commands and structs are those of iommusim/iommufd.h. Every call behaves like the system
 * call it stands for: 0 (or a file descriptor) on success, -1 with errno set on failure.
 *
 * The platform (memory, IOMMU, DMA devices, VT-d driver) is created on the first open of a VFIO
 * device (or first use of a device fd) with the default configuration, unless iommusim_configure()
 * was called before. A process that only uses "/dev/iommu" with the selftest mock devices
 * (IOMMU_TEST_CMD) never creates it.
 *
 * File descriptors of this API are not kernel file descriptors: use them only with these calls. */
#ifndef IOMMUSIM_IOMMUSIM_H
#define IOMMUSIM_IOMMUSIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PASID value for untagged DMA (requests without PASID). */
#define IOMMU_NO_PASID 0

/* Explicit platform configuration. A zero or NULL field keeps the default. */
struct iommusim_config {
    unsigned num_devices; /* DMA devices vfio0..vfioN-1 (default 4, at most 64; odd-numbered ones are ATS-capable) */
    const char* iotlb;    /* IOTLB implementation: "cpp" (default), "rtl", "lockstep" (the project's RTL
                             IOTLB alone or compared with the C++ one), "rtl:PATH", "lockstep:PATH"
                             (the RTL IOTLB plug-in at PATH, see docs/rtl-iotlb-contract.md) */
    const char* waves;    /* wave file path (".vcd" added when missing; missing directories are
                             created; a directory gets iommusim.vcd inside), NULL = no waves */
    uint64_t seed;        /* seed for anything random in the platform (default 1) */
    int stale_check;      /* non-zero: the IOTLB re-walks on every hit and reports stale translations */
    const char* log_file; /* kernel log output besides its ring: NULL none, "stderr", or a file path */
    const char* iotlb_replacement; /* lockstep: "tree-plru" (default, victims must match the C++
                                      model) or "free" (the RTL's own victim choice) */
    int page_requests;             /* non-zero: the IOMMU takes page requests (ECAP.PRS) and every ATS-capable
                                      device asks for not-present pages with them (PRI), so a fault HWPT
                                      (IOMMU_HWPT_FAULT_ID_VALID) takes those devices */
};

/* Configures the platform before its creation. Returns 0, or -1 with errno EBUSY when the
 * platform already exists, EINVAL when the configuration is invalid or the wave file cannot be
 * written (the reason, naming the field or path, is printed on stderr). */
int iommusim_configure(const struct iommusim_config* config);

/* open(2): "/dev/iommu" or "/dev/vfio/devices/vfioN". ENOENT for any other path or a device
 * number the platform does not have; ENODEV when the platform cannot come up (the driver refuses
 * the configured hardware; the reason is printed on stderr and logged, see iommusim_log_read()).
 * No call of this API throws: ENOMEM and EIO report what a C++ caller would have seen as an
 * exception. */
int iommusim_open(const char* path, int flags);

/* ioctl(2) on a descriptor returned by iommusim_open(). EBADF for an unknown descriptor. */
int iommusim_ioctl(int fd, unsigned long request, void* arg);

/* close(2). A VFIO device fd is unbound (and detached) by its close; an iommufd context lives
 * until its fd and every device fd bound to it are closed. */
int iommusim_close(int fd);

/* Device `device_fd` issues a DMA of len bytes at iova (with pasid, IOMMU_NO_PASID for untagged)
 * through the IOMMU; is_write != 0 writes buf to memory, else reads memory into buf.
 * Returns 0, or -1 with errno EFAULT when the IOMMU faulted (reason: iommusim_last_fault()),
 * EBADF when device_fd is not a VFIO device fd. */
int iommusim_dma(int device_fd, uint32_t pasid, uint64_t iova, void* buf, size_t len, int is_write);

/* pread(2)/pwrite(2) on a VFIO device fd: the device's register region (BAR0, file offset 0,
 * iommusim/hw/dma_engine.h); a write of the doorbell runs the DMA before returning. Returns the
 * bytes transferred (clamped to the region's end), or -1 with errno EBADF for an unknown
 * descriptor, EINVAL for "/dev/iommu", a device not yet bound, or an offset outside the region.
 * The device fd also answers VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO,
 * VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS (completion eventfd on MSI vector 0) and
 * VFIO_DEVICE_RESET through iommusim_ioctl(). */
ssize_t iommusim_pread(int fd, void* buf, size_t count, off_t offset);
ssize_t iommusim_pwrite(int fd, const void* buf, size_t count, off_t offset);

/* read(2)/write(2) on a fault fd (IOMMU_FAULT_QUEUE_ALLOC's out_fault_fd): read takes whole
 * struct iommu_hwpt_pgfault records of the page request groups waiting (0 when none waits), write
 * answers groups with struct iommu_hwpt_page_response records; the kernel's errnos (ESPIPE for a
 * count not a multiple of the record size, EINVAL for a read too short for the first group or an
 * unknown cookie or code). EINVAL on every other descriptor; iommusim_pread/iommusim_pwrite on a
 * fault fd are ESPIPE (it is not seekable). */
ssize_t iommusim_read(int fd, void* buf, size_t count);
ssize_t iommusim_write(int fd, const void* buf, size_t count);

/* poll(2)'s event mask of fd: for a fault fd POLLOUT, with POLLIN | POLLRDNORM while a group waits
 * to be read; for every other descriptor POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM (the kernel's
 * files without a poll method). -1 with errno EBADF for an unknown descriptor. */
int iommusim_poll(int fd);

/* VT-d fault reason code of the last iommusim_dma() of device_fd that faulted (0 if none has
 * faulted since the fd was opened; the register region's transfers report theirs in its
 * FAULT_REASON register). -1 with errno EBADF when device_fd is not a VFIO device fd. */
int iommusim_last_fault(int device_fd);

/* The model's kernel log, what dmesg shows on Linux: why the VT-d driver ("DMAR: "), iommufd
 * ("iommufd: "), the selftest mock driver ("iommufd_mock: ") or a VFIO device call ("vfio: ")
 * refused a request, or which hardware error was recovered from. Copies the newest whole records
 * that fit in len - 1 bytes into buf, oldest first, one line each as "<N>PREFIX: text\n" (N the
 * kernel level: 3 err, 4 warning, 6 info), and a terminating NUL. Reading does not consume the log
 * (syslog(2) READ_ALL). Returns the bytes copied without the NUL; with buf NULL or len 0, the bytes
 * the whole log needs. */
size_t iommusim_log_read(char* buf, size_t len);

/* Fault injection, as the kernel's /proc/<pid>/fail-nth: the nth iommufd object allocation from
 * now, in any context, fails with ENOMEM; 0 turns it off. */
void iommusim_fail_nth_set(unsigned nth);
/* What is left of that count: 0 once the failure was injected (or when off). */
unsigned iommusim_fail_nth_get(void);

#ifdef __cplusplus
}
#endif

#endif /* IOMMUSIM_IOMMUSIM_H */
