// The pages behind an IOMMU_IOAS_MAP_FILE area: the caller's file, held and mapped by the model.
//
// Models (Linux drivers/iommu/iommufd/io_pagetable.c iopt_map_file_pages, pages.c
// iopt_alloc_file_pages and pin_memfd_pages, mm/gup.c memfd_pin_folios, newest upstream): the file
// is held from the map on (a descriptor of the model's own), so the caller may close its descriptor
// and unmap its own view; a writeable map needs a descriptor open for writing and a file that is not
// write-sealed (EPERM); pinning refuses (EINVAL) a file that is neither shmem (memfd, tmpfs) nor
// hugetlbfs and a range whose last page reaches the end of the file. The model maps the
// page-aligned span MAP_SHARED into the process when the map is made, so each domain is handed a
// host pointer into the file's own pages and a DMA reads and writes what the file holds.
// Does not model: a file the model cannot map (a pipe, an O_WRONLY descriptor, a writeable map of
// an F_SEAL_FUTURE_WRITE memfd): its span is reserved inaccessible and pinning it is EINVAL, as for a
// file that is not a memfd; a span the process cannot reserve (beyond the address space) is ENOMEM
// at map time where Linux records it and fails at pin time; pages truncated away after pinning stay
// pinned in Linux, here a DMA to them is a target abort (EFAULT).
#pragma once

#include <cstdint>
#include <memory>

namespace iommusim::iommufd {

class mapped_file {
  public:
    // Holds and maps the bytes [start, start + length) of the file behind fd, in the kernel's order:
    // -EBADF (no such descriptor), -EPERM (writable without a writeable, unsealed file), -EINVAL
    // (length above ULONG_MAX - PAGE_SIZE), -ENOMEM or -EMFILE when the process runs out.
    // The caller has checked that length is non-zero and start + length does not wrap.
    static int open(int fd, uint64_t start, uint64_t length, bool writable, std::shared_ptr<mapped_file>& out);
    ~mapped_file();
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;

    // Host address of the byte at file offset `offset` (inside the span).
    uint64_t address_of(uint64_t offset) const { return m_base + (offset - m_start); }
    // File offset of the byte at host address `address` (inside the span).
    uint64_t offset_of(uint64_t address) const { return m_start + (address - m_base); }
    // memfd_pin_folios' checks for the pages that [address, address + length) touches: 0 or -EINVAL.
    int pin(uint64_t address, uint64_t length) const;

  private:
    mapped_file(int fd, uint64_t start, uint64_t base, uint64_t span, bool mapped)
        : m_fd(fd), m_start(start), m_base(base), m_span(span), m_mapped(mapped) {}

    int m_fd;          // the model's descriptor of the file
    uint64_t m_start;  // page-aligned file offset of m_base
    uint64_t m_base;   // host address of the span
    uint64_t m_span;   // bytes mapped (or reserved), a multiple of the page size
    bool m_mapped;     // false: the span is an inaccessible reservation
};

}  // namespace iommusim::iommufd
