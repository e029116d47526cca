#include "iommufd/mapped_file.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace iommusim::iommufd {

namespace {

constexpr uint64_t page_size = 4096;

// The model's own descriptor and mapping go straight to the kernel: under the interposer
// (preload/) the C library's fcntl, mmap and close are the interposer's, which must not see them.
long sys_fcntl(int fd, int cmd, long arg) {
    return syscall(SYS_fcntl, fd, cmd, arg);
}

void* sys_mmap(uint64_t len, int prot, int flags, int fd, uint64_t offset) {
    return reinterpret_cast<void*>(syscall(SYS_mmap, nullptr, len, prot, flags, fd, offset));
}

}  // namespace

int mapped_file::open(int fd, uint64_t start, uint64_t length, bool writable, std::shared_ptr<mapped_file>& out) {
    // fget: any open descriptor.
    const long fl = fd < 0 ? -1 : sys_fcntl(fd, F_GETFL, 0);
    if (fl < 0) {
        return -EBADF;
    }
    // iopt_alloc_file_pages (newest kernel): FMODE_WRITE, then mapping_map_writable, which a
    // write-sealed memfd refuses.
    if (writable) {
        if ((fl & O_ACCMODE) == O_RDONLY) {
            return -EPERM;
        }
        const long seals = sys_fcntl(fd, F_GET_SEALS, 0);
        if (seals > 0 && (seals & F_SEAL_WRITE) != 0) {
            return -EPERM;
        }
    }
    // iopt_alloc_pages.
    if (length > std::numeric_limits<uint64_t>::max() - page_size) {
        return -EINVAL;
    }
    const int own = static_cast<int>(sys_fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (own < 0) {
        return errno == EMFILE ? -EMFILE : -ENOMEM;
    }
    const uint64_t aligned_start = start & ~(page_size - 1);
    const uint64_t span = (start - aligned_start + length + page_size - 1) & ~(page_size - 1);
    bool mapped = false;
    void* base = MAP_FAILED;
    if (aligned_start <= static_cast<uint64_t>(std::numeric_limits<off_t>::max())) {
        base = sys_mmap(span, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, own, aligned_start);
        mapped = base != MAP_FAILED;
    }
    if (!mapped) {
        base = sys_mmap(span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (base == MAP_FAILED) {
        syscall(SYS_close, own);
        return -ENOMEM;
    }
    out.reset(new mapped_file(own, aligned_start, reinterpret_cast<uint64_t>(base), span, mapped));
    return 0;
}

mapped_file::~mapped_file() {
    syscall(SYS_munmap, m_base, m_span);
    syscall(SYS_close, m_fd);
}

int mapped_file::pin(uint64_t address, uint64_t length) const {
    struct statfs fs {};
    if (fstatfs(m_fd, &fs) != 0 || (fs.f_type != TMPFS_MAGIC && fs.f_type != static_cast<long>(HUGETLBFS_MAGIC))) {
        return -EINVAL;  // neither shmem_file() nor is_file_hugepages()
    }
    // pin_memfd_pages asks for whole pages: the last byte of the last page must be inside the file.
    const uint64_t first = offset_of(address) & ~(page_size - 1);
    const uint64_t last = ((offset_of(address) + length + page_size - 1) & ~(page_size - 1)) - 1;
    struct stat st {};
    if (fstat(m_fd, &st) != 0 || st.st_size < 0 || last >= static_cast<uint64_t>(st.st_size) || first > last) {
        return -EINVAL;
    }
    return m_mapped ? 0 : -EINVAL;
}

}  // namespace iommusim::iommufd
