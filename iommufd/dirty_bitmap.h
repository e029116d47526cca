// The user bitmap of IOMMU_HWPT_GET_DIRTY_BITMAP (kernel drivers/iommu/iommufd/iova_bitmap.c).
//
// Bit i stands for the page at iova + i * page_size, in byte i / 8 at bit i % 8 of the user's
// bitmap (the kernel's u64 words on a little-endian machine). Reported ranges set bits and never
// clear any (bitmap_set); a page partly inside a report counts as dirty, and what lies outside
// [iova, iova + length) is dropped. The bit granularity is the lowest set bit of page_size, as the
// kernel's pgshift = __ffs(page_size).
// The kernel pins the bitmap pages for writing as it goes and drops a failed pin; the model pins
// every byte that holds a bit before the driver reads any dirty state, so a bad bitmap is EFAULT
// with the dirty state unchanged, then ORs the bits in once the driver is done.
#pragma once

#include <cstdint>
#include <vector>

#include "driver/iommu_ops.h"

namespace iommusim::iommufd {

class user_dirty_bitmap final : public driver::dirty_bitmap_sink {
  public:
    // [iova, iova + length) with length > 0 and page_size > 0; data is the user address.
    user_dirty_bitmap(uint64_t iova, uint64_t length, uint64_t page_size, uint64_t data);

    // Kernel pin_user_pages(FOLL_WRITE) of the bitmap: the bytes must be readable and writable
    // (they are read and written back unchanged). 0, -EFAULT, or -ENOMEM when the model cannot
    // buffer a bitmap that large.
    int pin();
    void record(uint64_t iova, uint64_t length) override;
    // ORs every recorded bit into the user bitmap; writes nothing when none was recorded. 0 or -EFAULT.
    int publish();

    uint64_t bits() const { return m_bits; }

  private:
    uint64_t m_iova;
    uint64_t m_last;   // last IOVA of the range
    unsigned m_shift;  // log2 of the bit granularity
    uint64_t m_data;
    uint64_t m_bits;
    std::vector<uint64_t> m_words;  // the recorded bits, in the user's layout
    std::vector<uint8_t> m_user;    // the user's bytes as pinned
    bool m_recorded = false;
};

}  // namespace iommusim::iommufd
