/* The interposer's table of model files: each file the model owns (/dev/iommu, /dev/vfio/vfio, a VFIO device
 * cdev, the fail-nth file, the selftest's access files that IOMMU_TEST_OP_CREATE_ACCESS returns and the
 * access ops name) is a real kernel file descriptor reserved with memfd_create, so close,
 * dup*, fcntl, O_CLOEXEC, poll/select/epoll and fork act on it as on the kernel's file (neither
 * iommufd nor a VFIO device file has a poll method: poll reports the default mask, epoll_ctl
 * refuses with EPERM, on both). A fault fd (IOMMU_FAULT_QUEUE_ALLOC) is one end of a socket pair
 * instead, readable exactly while its queue has a group to read, so poll, select and epoll wait
 * on it as on the kernel's (read and write go to the model: whole fault and response records;
 * pread/pwrite ESPIPE); a vEVENTQ fd (IOMMU_VEVENTQ_ALLOC) is one too, readable while an event
 * waits (read takes vEVENT records, write EINVAL). A model file is identified by its memfd's (or socket's) inode: every
 * descriptor of that inode (dup'd ones included) reaches the same model object; the object is
 * closed in the model when the last descriptor the interposer saw of it is closed (close,
 * dup2/dup3 over it, close_range, closefrom). Does not model: reads and writes of a fault fd in a
 * forked child (they reach the child's copy of the model, whose queue the parent no longer
 * feeds), readv/writev of a fault fd (EINVAL).
 *
 * A C interface, for the C entry points in interposer.c. Every function returning bool returns
 * false when fd or path is not a model file: the caller then forwards to the C library. Calls
 * into the model are serialised by one mutex (the model is single-threaded). Nothing throws. */
#ifndef IOMMUSIM_PRELOAD_MODEL_FILES_H
#define IOMMUSIM_PRELOAD_MODEL_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opens path if the model owns it: *result is the new descriptor, or -1 with errno. */
bool iommusim_preload_open(const char* path, int flags, int* result);

/* ioctl(2) of an iommufd or VFIO command (type ';') on a model file. */
bool iommusim_preload_ioctl(int fd, unsigned long request, void* arg, int* result);

/* read/write at offset (-1: at the file position); readv/writev families (iommufd and the model's
 * devices read and write nothing: EINVAL). */
bool iommusim_preload_read(int fd, void* buf, size_t len, off_t offset, ssize_t* result);
bool iommusim_preload_write(int fd, const void* buf, size_t len, off_t offset, ssize_t* result);
bool iommusim_preload_vector_io(int fd, ssize_t* result);

/* mmap(2) of a model file. */
bool iommusim_preload_mmap(int fd, void** result);

/* close(2) through real_close; the last descriptor of a model file closes its model object. */
int iommusim_preload_close(int fd, int (*real_close)(int));
/* After a successful dup: newfd is a descriptor of oldfd's file. */
void iommusim_preload_dup(int oldfd, int newfd);
/* Before dup2/dup3 onto newfd: remembers newfd's model file; after: releases it if replaced. */
bool iommusim_preload_replacing(int newfd, ino_t* previous);
void iommusim_preload_replaced(int newfd, ino_t previous);
/* close_range/closefrom closed every descriptor in [first, last]. */
void iommusim_preload_range_closed(unsigned first, unsigned last);

/* The directory opendir(path) opens instead when path is debugfs (fail_nth.h), else NULL. */
const char* iommusim_preload_opendir_path(const char* path);

/* The program sets signal signum's disposition to handler (sigaction(2), signal(2)): the model's
 * copies of user memory stop relying on their own SIGSEGV/SIGBUS handler (tlm/fault_safe_copy.h). */
void iommusim_preload_signal_disposition(int signum, const void* handler);

/* fork(2) handlers (pthread_atfork): the child continues with its own copy of the model. */
void iommusim_preload_prepare_fork(void);
void iommusim_preload_parent_after_fork(void);
void iommusim_preload_child_after_fork(void);

#ifdef __cplusplus
}
#endif

#endif /* IOMMUSIM_PRELOAD_MODEL_FILES_H */
