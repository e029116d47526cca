// User-memory access with the kernel's semantics, for the iommufd core and the drivers.
//
// Models (docs/iommufd-facts.md §1.3, §3.3): copy_from_user / copy_to_user (return the number of bytes
// NOT copied; copy_from_user zero-fills what it could not read), copy_struct_from_user
// (0, -E2BIG, -EFAULT), check_zeroed_user, and the driver-data helpers iommu_copy_struct_from_user
// and iommu_copy_struct_from_user_array (exact length rules, -EINVAL on type or size mismatch).
// A user pointer is a plain address in this process, or, while a call of another process is served
// (driver/user_space.h), in that process: the copies and the pinning checks then reach it. Reads and writes go through
// tlm/fault_safe_copy.h (the kernel copies), so an unmapped or protected address gives -EFAULT
// instead of a crash.
// Does not model: access_ok() range limits, partial-page fault granularity of real hardware.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "driver/iommu_ops.h"

namespace iommusim::driver {

// Copies len bytes from user address src. Returns the number of bytes not copied (0 = success);
// the uncopied tail of dst is zero-filled, as the kernel does.
std::size_t copy_from_user(void* dst, uint64_t src, std::size_t len);
// Copies len bytes to user address dst. Returns the number of bytes not copied.
std::size_t copy_to_user(uint64_t dst, const void* src, std::size_t len);

// 1 if [src, src + len) is all zero, 0 if not, -EFAULT if unreadable.
int check_zeroed_user(uint64_t src, std::size_t len);

// Kernel copy_struct_from_user(dst, ksize, src, usize), §1.3: usize < ksize copies and zero-fills,
// usize > ksize requires the user tail to be zero (-E2BIG otherwise). Returns 0, -E2BIG or -EFAULT.
int copy_struct_from_user(void* dst, std::size_t ksize, uint64_t src, std::size_t usize);

// Kernel iommu_copy_struct_from_user, §3.3: type mismatch or len outside [min_len, ksize] -> -EINVAL,
// then copy_struct_from_user. min_len is offsetofend(struct, min_last).
int iommu_copy_struct_from_user(void* dst, std::size_t ksize, std::size_t min_len, const iommu_user_data& data,
                                uint32_t type);

// Kernel iommu_copy_struct_from_user_array, §3.3: copies entry `index` of the array with the same
// exact-length rules (an entry_len above ksize is -EINVAL even when the extra bytes are zero).
int iommu_copy_struct_from_user_array(void* dst, std::size_t ksize, std::size_t min_len,
                                      const iommu_user_data_array& array, uint32_t type, uint32_t index);

// The entries of a driver-data array, each as iommu_copy_struct_from_user_array gives it. When the
// stride is the struct size (and the type and sizes are right), an array of 2 to bulk_limit entries
// that is readable as a whole is copied once up front: the same result for a caller whose memory
// does not change during the call, as the kernel's full-array copy helper. Otherwise every entry is
// copied on its own, so the failing index and errno are the kernel's.
class user_array_reader {
  public:
    // entry_num is user input with no upper limit (docs/iommufd-facts.md §3.1): larger arrays are
    // read entry by entry.
    static constexpr uint32_t bulk_limit = 4096;

    user_array_reader(const iommu_user_data_array& array, std::size_t ksize, std::size_t min_len, uint32_t type);
    // Entry `index` into dst (ksize bytes): 0, or the errno of iommu_copy_struct_from_user_array.
    int read(void* dst, uint32_t index) const;

  private:
    const iommu_user_data_array& m_array;
    std::size_t m_ksize;
    std::size_t m_min_len;
    uint32_t m_type;
    std::vector<unsigned char> m_bulk;  // the whole array, or empty
};

// Pinning for writing (kernel pin_user_pages with FOLL_WRITE, docs/iommufd-facts.md): true when
// every byte of [uptr, uptr + len) lies in a writable mapping of this process. Reads the mapping
// table (/proc/self/maps) and writes nothing; where that table cannot be read it answers true
// (device writes into adopted memory are fault-safe anyway).
bool user_range_writable(uint64_t uptr, std::size_t len);

// Pinning for reading (get_user_pages without FOLL_WRITE): how many bytes from uptr, up to len,
// lie in readable mappings without a gap. Same table and fallback (len) as user_range_writable.
uint64_t user_readable_prefix(uint64_t uptr, uint64_t len);

// Whether user addresses a and b reach the same memory, as the kernel's physical-page comparison
// sees it: the same address, or the same offset of one file that both map shared (the page cache
// page; /proc/self/maps gives each mapping's device, inode and file offset).
bool same_user_page(uint64_t a, uint64_t b);

// A shared file mapping of this process (memfd, shmem, MAP_SHARED|MAP_ANONYMOUS, a shared file):
// the file's device and inode and a file offset, from /proc/self/maps.
struct shared_mapping {
    uint64_t device = 0;  // major << 32 | minor
    uint64_t inode = 0;
    uint64_t offset = 0;
};
// The shared mapping holding all of [uptr, uptr + len) in one mapping, with uptr's offset. False
// for private memory, a gap, a range across mappings, or an unreadable table.
bool shared_mapping_of(uint64_t uptr, uint64_t len, shared_mapping& out);
// Where this process maps len bytes of that file from that offset, shared, in one mapping.
bool address_of_shared(const shared_mapping& file, uint64_t len, uint64_t& out);

}  // namespace iommusim::driver
