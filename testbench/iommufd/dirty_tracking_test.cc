// Dirty tracking of paging HWPTs (kernel drivers/iommu/iommufd/hw_pagetable.c, io_pagetable.c,
// iova_bitmap.c) on the selftest mock (selftest.c dirty ops and IOMMU_TEST_OP_DIRTY):
// IOMMU_HWPT_SET_DIRTY_TRACKING and IOMMU_HWPT_GET_DIRTY_BITMAP validation and errno, and the bitmap
// contents against hand-computed bit positions (bit i = the page at iova + i * page_size, byte i / 8,
// bit i % 8), with and without NO_CLEAR, for sub-ranges, larger bitmap pages and huge mock pages.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t mock_page = page / 2;         // the kernel's MOCK_IO_PAGE_SIZE
constexpr uint64_t huge_page = 512 * mock_page;  // MOCK_HUGE_PAGE_SIZE, 1 MiB
constexpr uint64_t buffer_pages = 64;            // 128 mock entries
constexpr uint64_t entries = buffer_pages * page / mock_page;
constexpr uint32_t map_rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA;
constexpr uint64_t base = MOCK_APERTURE_START;

int SetDirtyTracking(int fd, uint32_t hwpt_id, uint32_t flags, uint32_t reserved = 0) {
    iommu_hwpt_set_dirty_tracking cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = flags;
    cmd.hwpt_id = hwpt_id;
    cmd.__reserved = reserved;
    return Ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

iommu_hwpt_get_dirty_bitmap BitmapCmd(uint32_t hwpt_id, uint64_t iova, uint64_t length, uint64_t page_size, void* data,
                                      uint32_t flags = 0) {
    iommu_hwpt_get_dirty_bitmap cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = hwpt_id;
    cmd.flags = flags;
    cmd.iova = iova;
    cmd.length = length;
    cmd.page_size = page_size;
    cmd.data = reinterpret_cast<uint64_t>(data);
    return cmd;
}

int GetDirtyBitmap(int fd, iommu_hwpt_get_dirty_bitmap cmd) {
    return Ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

// IOMMU_TEST_OP_DIRTY: 0 or errno; out_nr_dirty into *nr.
int MockSetDirty(int fd, uint32_t hwpt_id, uint64_t iova, uint64_t length, uint64_t page_size, const void* bitmap,
                 uint64_t* nr = nullptr) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_DIRTY;
    cmd.id = hwpt_id;
    cmd.dirty.iova = iova;
    cmd.dirty.length = length;
    cmd.dirty.page_size = page_size;
    cmd.dirty.uptr = reinterpret_cast<uint64_t>(bitmap);
    cmd.dirty.out_nr_dirty = ~uint64_t{0};
    int err = Ioctl(fd, IOMMU_TEST_CMD, &cmd);
    if (err == 0 && nr != nullptr) {
        *nr = cmd.dirty.out_nr_dirty;
    }
    return err;
}

// A bitmap of `bytes` bytes with the listed bits set (byte i / 8, bit i % 8).
std::vector<uint8_t> Bits(std::size_t bytes, std::initializer_list<uint64_t> set) {
    std::vector<uint8_t> out(bytes, 0);
    for (uint64_t i : set) {
        out.at(i / 8) |= static_cast<uint8_t>(1u << (i % 8));
    }
    return out;
}

std::vector<uint8_t> BitRange(std::size_t bytes, uint64_t first, uint64_t end) {
    std::vector<uint8_t> out(bytes, 0);
    for (uint64_t i = first; i < end; ++i) {
        out.at(i / 8) |= static_cast<uint8_t>(1u << (i % 8));
    }
    return out;
}

// An IOAS with a mock device, `buffer_pages` pages mapped at base and a dirty-tracking HWPT on it.
class DirtyTracking : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas);
        TestCmdMockDomain(m_fd, m_ioas, &m_stdev, &m_auto_hwpt, &m_idev);
        void* p = mmap(nullptr, buffer_pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, p);
        m_buf = p;
        uint64_t iova = base;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas, m_buf, buffer_pages * page, &iova, map_rw));
        TestCmdHwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &m_hwpt);
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_fd));
        munmap(m_buf, buffer_pages * page);
    }

    // Flags the listed mock entries (by index from base) dirty; expects every one counted.
    void MarkEntries(uint32_t hwpt, std::initializer_list<uint64_t> list) {
        const std::vector<uint8_t> bits = Bits(entries / 8, list);
        uint64_t nr = 0;
        ASSERT_EQ(0, MockSetDirty(m_fd, hwpt, base, entries * mock_page, mock_page, bits.data(), &nr));
        EXPECT_EQ(list.size(), nr);
    }
    // The whole buffer's bitmap at MOCK_IO_PAGE_SIZE granularity.
    std::vector<uint8_t> ReadAll(uint32_t flags = 0) {
        std::vector<uint8_t> bits(entries / 8, 0);
        EXPECT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, mock_page, bits.data(), flags)));
        return bits;
    }

    int m_fd = -1;
    void* m_buf = nullptr;
    uint32_t m_ioas = 0;
    uint32_t m_stdev = 0;
    uint32_t m_auto_hwpt = 0;
    uint32_t m_idev = 0;
    uint32_t m_hwpt = 0;
};

// Kernel iommufd_hwpt_set_dirty_tracking: unknown flags EOPNOTSUPP, then the id must be a paging
// HWPT (ENOENT otherwise, a nested one too), then it needs dirty ops (EOPNOTSUPP); __reserved is
// not checked. Enabling or disabling twice is no error.
TEST_F(DirtyTracking, SetDirtyTrackingErrnos) {
    EXPECT_EQ(EOPNOTSUPP, SetDirtyTracking(m_fd, m_hwpt, 2));
    EXPECT_EQ(EOPNOTSUPP, SetDirtyTracking(m_fd, 999, 2)) << "flags before the lookup";
    EXPECT_EQ(ENOENT, SetDirtyTracking(m_fd, 999, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    EXPECT_EQ(ENOENT, SetDirtyTracking(m_fd, m_ioas, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    uint32_t parent = 0;
    uint32_t nested = 0;
    TestCmdHwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &parent);
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    TestCmdHwptAllocNested(m_fd, m_idev, parent, 0, &nested, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data));
    EXPECT_EQ(ENOENT, SetDirtyTracking(m_fd, nested, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    EXPECT_EQ(EOPNOTSUPP, SetDirtyTracking(m_fd, m_auto_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    EXPECT_EQ(EOPNOTSUPP, SetDirtyTracking(m_fd, m_auto_hwpt, 0));
    EXPECT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 0xffffffff));
    EXPECT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    EXPECT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, 0));
    EXPECT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, 0));
    EXPECT_EQ(0, SetDirtyTracking(m_fd, parent, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
}

// Each GET_DIRTY_BITMAP refusal in the kernel's order (flags and __reserved, lookup,
// iommufd_check_iova_range, dirty ops, a range not wholly mapped, the driver's own check) leaves
// both the bitmap and the dirty state as they were.
TEST_F(DirtyTracking, GetDirtyBitmapErrnosChangeNothing) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {0, 7, 127});
    const uint64_t length = entries * mock_page;
    std::vector<uint8_t> bits(entries / 8 + 64, 0x5a);
    const std::vector<uint8_t> before = bits;
    void* data = bits.data();
    struct refusal {
        const char* what;
        iommu_hwpt_get_dirty_bitmap cmd;
        int err;
    };
    const uint64_t end_of_space = ~uint64_t{0} - mock_page + 1;
    std::vector<refusal> refusals = {
        {"unknown flag", BitmapCmd(m_hwpt, base, length, mock_page, data, 2), EOPNOTSUPP},
        {"unknown id", BitmapCmd(999, base, length, mock_page, data), ENOENT},
        {"an IOAS id", BitmapCmd(m_ioas, base, length, mock_page, data), ENOENT},
        {"iova + length - 1 overflows", BitmapCmd(m_hwpt, end_of_space, 2 * mock_page, mock_page, data), EOVERFLOW},
        {"length 0 from a non-zero iova overflows", BitmapCmd(m_hwpt, base, 0, mock_page, data), EOVERFLOW},
        {"iova below the IOAS alignment", BitmapCmd(m_hwpt, base + 1024, length - 2048, 1024, data), EINVAL},
        {"length below the IOAS alignment", BitmapCmd(m_hwpt, base, length - 1024, 1024, data), EINVAL},
        {"page_size 0", BitmapCmd(m_hwpt, base, length, 0, data), EINVAL},
        {"iova not a multiple of page_size", BitmapCmd(m_hwpt, base + mock_page, page, page, data), EINVAL},
        {"end not a multiple of page_size", BitmapCmd(m_hwpt, base, 3 * mock_page, page, data), EINVAL},
        {"no dirty ops", BitmapCmd(m_auto_hwpt, base, length, mock_page, data), EOPNOTSUPP},
        {"past the mapped range", BitmapCmd(m_hwpt, base, length + mock_page, mock_page, data), EINVAL},
        {"before the mapped range", BitmapCmd(m_hwpt, base - mock_page, length, mock_page, data), EINVAL},
        {"all of the IOVA space (length 0 at 0)", BitmapCmd(m_hwpt, 0, 0, mock_page, data), EINVAL},
    };
    iommu_hwpt_get_dirty_bitmap reserved = BitmapCmd(m_hwpt, base, length, mock_page, data);
    reserved.__reserved = 1;
    refusals.push_back({"__reserved", reserved, EOPNOTSUPP});
    for (const refusal& r : refusals) {
        SCOPED_TRACE(r.what);
        EXPECT_EQ(r.err, GetDirtyBitmap(m_fd, r.cmd));
        EXPECT_EQ(before, bits);
    }
    // Tracking off: the mock refuses a report (EINVAL) and keeps its dirty entries.
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, 0));
    EXPECT_EQ(EINVAL, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, length, mock_page, data)));
    EXPECT_EQ(before, bits);
    EXPECT_EQ(EINVAL, MockSetDirty(m_fd, m_hwpt, base, length, mock_page, Bits(entries / 8, {1}).data()));
    // Re-enabling starts from a clean snapshot (iopt_set_dirty_tracking clears first).
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    EXPECT_EQ(Bits(entries / 8, {}), ReadAll());
}

// The refusals above changed no dirty state: with tracking still on, the entries are reported.
TEST_F(DirtyTracking, RefusedCallsKeepTheDirtyState) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {3, 64});
    std::vector<uint8_t> bits(entries / 8, 0);
    EXPECT_EQ(EINVAL, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, (entries + 1) * mock_page, mock_page, bits.data())));
    EXPECT_EQ(Bits(entries / 8, {3, 64}), ReadAll());
}

// Clearing read: bit i set for each dirty entry i, then nothing; NO_CLEAR reads leave the state.
TEST_F(DirtyTracking, ReadAndClearAndNoClear) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {0, 1, 5, 63, 64, 100, 127});
    const std::vector<uint8_t> expected = Bits(entries / 8, {0, 1, 5, 63, 64, 100, 127});
    EXPECT_EQ(expected, ReadAll(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
    EXPECT_EQ(expected, ReadAll(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
    EXPECT_EQ(expected, ReadAll());
    EXPECT_EQ(Bits(entries / 8, {}), ReadAll());
}

// Bits are set in the caller's bitmap, never cleared: the result is the old contents OR the dirty bits.
TEST_F(DirtyTracking, BitsAreOrredIntoTheBitmap) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {0, 9, 126});
    std::vector<uint8_t> bits(entries / 8, 0);
    bits[0] = 0x80;   // bit 7
    bits[1] = 0x01;   // bit 8
    bits[15] = 0x80;  // bit 127
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, mock_page, bits.data())));
    EXPECT_EQ(Bits(entries / 8, {0, 7, 8, 9, 126, 127}), bits);
    // Nothing dirty: the bitmap is left alone.
    std::vector<uint8_t> ones(entries / 8, 0xff);
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, mock_page, ones.data())));
    EXPECT_EQ(std::vector<uint8_t>(entries / 8, 0xff), ones);
}

// A sub-range starting inside the mapping: bit 0 is the range's first page; dirty entries outside
// the range stay dirty.
TEST_F(DirtyTracking, SubRangeBitsAreRelativeToItsIova) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {9, 10, 12, 29, 30});
    std::vector<uint8_t> bits(4, 0);
    ASSERT_EQ(0,
              GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base + 10 * mock_page, 20 * mock_page, mock_page, bits.data())));
    EXPECT_EQ(Bits(4, {0, 2, 19}), bits);  // entries 10, 12, 29
    EXPECT_EQ(Bits(entries / 8, {9, 30}), ReadAll());
}

// A bitmap page of 8 KiB covers four mock entries (any dirty one sets its bit); 4 KiB covers two.
TEST_F(DirtyTracking, LargerBitmapPages) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {0, 5, 6, 127});
    std::vector<uint8_t> bits(4, 0);
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, 2 * page, bits.data(),
                                                IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)));
    EXPECT_EQ(Bits(4, {0, 1, 31}), bits);
    std::vector<uint8_t> half(8, 0);
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, page, half.data())));
    EXPECT_EQ(Bits(8, {0, 2, 3, 63}), half);
}

// A bitmap at an odd address: bit i is still byte i / 8 from data; the bytes around are untouched.
TEST_F(DirtyTracking, UnalignedBitmapAddress) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {0, 8, 70});
    std::vector<uint8_t> storage(entries / 8 + 8, 0);
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, mock_page, storage.data() + 3)));
    std::vector<uint8_t> expected(entries / 8 + 8, 0);
    expected[3 + 0] = 0x01;
    expected[3 + 1] = 0x01;
    expected[3 + 8] = 0x40;  // bit 70: byte 8, bit 6
    EXPECT_EQ(expected, storage);
}

// A range over two adjacent areas reads both; a hole between areas is EINVAL.
TEST_F(DirtyTracking, AdjacentAreasAndHoles) {
    void* more = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, more);
    uint64_t next = base + buffer_pages * page;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas, more, page, &next, map_rw));
    uint64_t apart = base + (buffer_pages + 2) * page;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas, static_cast<uint8_t*>(more) + page, page, &apart, map_rw));
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    std::vector<uint8_t> mark = Bits(20, {127, 128, 129, 132, 133});
    uint64_t nr = 0;
    ASSERT_EQ(0, MockSetDirty(m_fd, m_hwpt, base, 134 * mock_page, mock_page, mark.data(), &nr));
    EXPECT_EQ(5u, nr);
    std::vector<uint8_t> bits(20, 0);
    EXPECT_EQ(EINVAL, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, 134 * mock_page, mock_page, bits.data())))
        << "entries 130 and 131 are a hole";
    EXPECT_EQ(std::vector<uint8_t>(20, 0), bits);
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, 130 * mock_page, mock_page, bits.data())));
    EXPECT_EQ(Bits(20, {127, 128, 129}), bits);
    std::vector<uint8_t> tail(1, 0);
    ASSERT_EQ(0,
              GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base + 132 * mock_page, 2 * mock_page, mock_page, tail.data())));
    EXPECT_EQ(Bits(1, {0, 1}), tail);
    munmap(more, 2 * page);
}

// An unmapped or read-only bitmap is EFAULT, and the dirty state and the memory stay as they were.
TEST_F(DirtyTracking, BadBitmapIsEfaultAndChangesNothing) {
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    MarkEntries(m_hwpt, {2, 77});
    void* gone = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, gone);
    ASSERT_EQ(0, munmap(gone, page));
    EXPECT_EQ(EFAULT, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, mock_page, gone)));
    auto* ro = static_cast<uint8_t*>(mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(ro));
    std::memset(ro, 0x11, page);
    ASSERT_EQ(0, mprotect(ro, page, PROT_READ));
    EXPECT_EQ(EFAULT, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, mock_page, ro)));
    for (uint64_t i = 0; i < page; ++i) {
        ASSERT_EQ(0x11, ro[i]) << "byte " << i;
    }
    // The bitmap's last byte in a read-only page: EFAULT though the first bytes are writable.
    auto* two =
        static_cast<uint8_t*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(two));
    ASSERT_EQ(0, mprotect(two + page, page, PROT_READ));
    EXPECT_EQ(EFAULT, GetDirtyBitmap(m_fd, BitmapCmd(m_hwpt, base, entries * mock_page, mock_page, two + page - 8)));
    EXPECT_EQ(Bits(entries / 8, {2, 77}), ReadAll());
    munmap(ro, page);
    munmap(two, 2 * page);
}

// IOMMU_TEST_OP_DIRTY (kernel iommufd_test_dirty): argument checks EINVAL, a paging HWPT (ENOENT)
// of the mock with tracking on (EINVAL), the bitmap read in full (EFAULT, nothing flagged); only
// mapped entries are flagged and counted.
TEST_F(DirtyTracking, TestOpDirty) {
    const std::vector<uint8_t> one = Bits(entries / 8, {4});
    const uint64_t length = entries * mock_page;
    EXPECT_EQ(EINVAL, MockSetDirty(m_fd, m_hwpt, base, length, 0, one.data()));
    EXPECT_EQ(EINVAL, MockSetDirty(m_fd, m_hwpt, base, 0, mock_page, one.data()));
    EXPECT_EQ(EINVAL, MockSetDirty(m_fd, m_hwpt, base + 1, length, mock_page, one.data()));
    EXPECT_EQ(EINVAL, MockSetDirty(m_fd, m_hwpt, base, length + 1, mock_page, one.data()));
    EXPECT_EQ(EINVAL, MockSetDirty(m_fd, m_hwpt, base, length, mock_page, nullptr));
    EXPECT_EQ(ENOENT, MockSetDirty(m_fd, 999, base, length, mock_page, one.data()));
    EXPECT_EQ(ENOENT, MockSetDirty(m_fd, m_ioas, base, length, mock_page, one.data()));
    EXPECT_EQ(EINVAL, MockSetDirty(m_fd, m_hwpt, base, length, mock_page, one.data())) << "tracking is off";
    ASSERT_EQ(0, SetDirtyTracking(m_fd, m_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    auto* two =
        static_cast<uint8_t*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(two));
    std::memset(two, 0xff, page);
    ASSERT_EQ(0, munmap(two + page, page));
    EXPECT_EQ(EFAULT, MockSetDirty(m_fd, m_hwpt, base, length, mock_page, two + page - 4));
    EXPECT_EQ(Bits(entries / 8, {}), ReadAll()) << "the failed call flagged nothing";
    // Bits past the mapping (entries 128..135) are not counted; the bitmap is ceil(9 / 8) bytes.
    std::vector<uint8_t> wide(17, 0xff);
    uint64_t nr = 0;
    ASSERT_EQ(0, MockSetDirty(m_fd, m_hwpt, base + 120 * mock_page, 9 * mock_page, mock_page, wide.data(), &nr));
    EXPECT_EQ(8u, nr);
    EXPECT_EQ(BitRange(entries / 8, 120, 128), ReadAll());
    munmap(two, page);
}

// A MOCK_FLAGS_DEVICE_HUGE_IOVA domain maps 1 MiB pages where IOVA and address are 1 MiB aligned:
// one dirty entry in a huge page reports (and clears) the whole page; the small pages around it
// report alone.
TEST_F(DirtyTracking, HugePagesReportWhole) {
    uint32_t ioas = 0;
    uint32_t idev = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    ASSERT_EQ(0, MockDomainFlags(m_fd, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA, nullptr, nullptr, &idev));
    const uint64_t span = 4 * huge_page;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, raw);
    const uint64_t aligned = (reinterpret_cast<uint64_t>(raw) + huge_page - 1) & ~(huge_page - 1);
    // Two small entries, one huge page, two small entries: [base + 1M - 4K, base + 2M + 4K).
    const uint64_t iova = base + huge_page - page;
    const uint64_t length = huge_page + 2 * page;
    uint64_t at = iova;
    ASSERT_EQ(0, IoasMap(m_fd, ioas, reinterpret_cast<void*>(aligned + huge_page - page), length, &at, map_rw));
    uint32_t hwpt = 0;
    TestCmdHwptAlloc(m_fd, idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
    ASSERT_EQ(0, SetDirtyTracking(m_fd, hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE));
    const uint64_t n = length / mock_page;  // 516 entries: 2 small, 512 huge, 2 small
    const std::size_t bytes = (n + 7) / 8;
    const std::vector<uint8_t> mark = Bits(bytes, {1, 2 + 100, 2 + 512 + 1});
    uint64_t nr = 0;
    ASSERT_EQ(0, MockSetDirty(m_fd, hwpt, iova, length, mock_page, mark.data(), &nr));
    EXPECT_EQ(3u, nr);
    std::vector<uint8_t> bits(bytes, 0);
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(hwpt, iova, length, mock_page, bits.data(),
                                                IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR)));
    std::vector<uint8_t> expected = BitRange(bytes, 2, 2 + 512);
    expected[0] |= 0x02;                   // entry 1
    expected[515 / 8] |= 1u << (515 % 8);  // entry 515
    EXPECT_EQ(expected, bits);
    // A range inside the huge page: the page is reported from its head, clipped to the range.
    std::vector<uint8_t> inner(2, 0);
    ASSERT_EQ(0, GetDirtyBitmap(
                     m_fd, BitmapCmd(hwpt, base + huge_page + 8 * mock_page, 16 * mock_page, mock_page, inner.data())));
    EXPECT_EQ(BitRange(2, 0, 16), inner);
    // That clearing read cleared the whole huge page; the small entries are still dirty.
    std::fill(bits.begin(), bits.end(), 0);
    ASSERT_EQ(0, GetDirtyBitmap(m_fd, BitmapCmd(hwpt, iova, length, mock_page, bits.data())));
    EXPECT_EQ(Bits(bytes, {1, 515}), bits);
    TestCmdDestroy(m_fd, hwpt);
    munmap(raw, span);
}

}  // namespace
}  // namespace iommusim::test
