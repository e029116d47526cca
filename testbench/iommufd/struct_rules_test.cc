// The extensible-struct rules of every ioctl the model dispatches (kernel drivers/iommu/iommufd/
// main.c iommufd_fops_ioctl with copy_struct_from_user, and each handler's flag and __reserved
// checks in ioas.c, hw_pagetable.c, device.c, vfio_compat.c, main.c). The command numbers, minimum
// sizes (offsetofend of the last field the ioctl had when it was introduced), current sizes and
// field offsets are the kernel's, written out here rather than taken from the model's headers, so
// a layout or size-table change in the model shows as a failure.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint32_t map_rw = 6;  // IOMMU_IOAS_MAP_WRITEABLE (1 << 1) | IOMMU_IOAS_MAP_READABLE (1 << 2)
constexpr uint64_t copy_src_iova = MOCK_APERTURE_START;

// _IO(IOMMUFD_TYPE, nr): the kernel's command values carry no size or direction.
constexpr unsigned long kernel_ioctl(unsigned nr) {
    return (0x3bul << 8) | nr;
}

// A field the handler checks: writing `value` (of `width` bytes) at `offset` answers `err`.
struct checked_field {
    const char* name;
    std::size_t offset;
    std::size_t width;
    uint64_t value;
    int err;
};

struct ioctl_case {
    const char* name;
    unsigned nr;
    std::size_t min_size;  // the kernel's op->min_size
    std::size_t size;      // the kernel's sizeof(struct) today
    int ok;                // the errno of the well-formed command the case builds
    std::vector<checked_field> fields;
};

// An IOAS with a mock domain, a nest parent and a nested HWPT on it, one page mapped at
// copy_src_iova, a second IOAS without a domain, a one-page memfd and a context with no objects.
class StructRules : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        m_empty_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        ASSERT_GE(m_empty_fd, 0);
        void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, p);
        m_buf = p;
        m_memfd = memfd_create("struct_rules", 0);
        ASSERT_GE(m_memfd, 0);
        ASSERT_EQ(0, ftruncate(m_memfd, page));
        TestCmdIoasAlloc(m_fd, &m_ioas);
        TestCmdIoasAlloc(m_fd, &m_bare_ioas);
        TestCmdMockDomain(m_fd, m_ioas, &m_stdev, &m_auto_hwpt, &m_idev);
        TestCmdHwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &m_parent);
        iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
        TestCmdHwptAllocNested(m_fd, m_idev, m_parent, 0, &m_nested, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data));
        uint64_t iova = copy_src_iova;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas, m_buf, page, &iova, map_rw | IOMMU_IOAS_MAP_FIXED_IOVA));
        TestCmdHwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &m_dirty);
        iommu_hwpt_set_dirty_tracking enable{};
        enable.size = sizeof(enable);
        enable.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
        enable.hwpt_id = m_dirty;
        ASSERT_EQ(0, Ioctl(m_fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &enable));
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_fd));
        EXPECT_EQ(0, iommusim_close(m_empty_fd));
        close(m_memfd);
        munmap(m_buf, page);
    }

    static void put32(std::vector<uint8_t>& b, std::size_t at, uint32_t v) { std::memcpy(&b[at], &v, sizeof(v)); }
    static void put64(std::vector<uint8_t>& b, std::size_t at, uint64_t v) { std::memcpy(&b[at], &v, sizeof(v)); }

    // Writes the well-formed command of case nr into b (zeroed, at least the kernel's size) and
    // returns the descriptor it goes to. Fields are placed at the kernel's offsets.
    int fill(unsigned nr, std::vector<uint8_t>& b) {
        switch (nr) {
            case 0x80: {  // IOMMU_DESTROY {size, id}: a fresh IOAS each time
                uint32_t id = 0;
                EXPECT_EQ(0, IoasAlloc(m_fd, &id));
                put32(b, 4, id);
                return m_fd;
            }
            case 0x81:  // IOMMU_IOAS_ALLOC {size, flags, out_ioas_id}
                return m_fd;
            case 0x82:  // IOMMU_IOAS_ALLOW_IOVAS {size, ioas_id, num_iovas, __reserved, allowed_iovas}
                put32(b, 4, m_bare_ioas);
                return m_fd;
            case 0x83:           // IOMMU_IOAS_COPY {size, flags, dst_ioas_id, src_ioas_id, length, dst_iova, src_iova}
                put32(b, 4, 4);  // IOMMU_IOAS_MAP_READABLE
                put32(b, 8, m_bare_ioas);
                put32(b, 12, m_ioas);
                put64(b, 16, page);
                put64(b, 32, copy_src_iova);
                return m_fd;
            case 0x84:  // IOMMU_IOAS_IOVA_RANGES {size, ioas_id, num_iovas, __reserved, allowed_iovas, alignment}
                put32(b, 4, m_ioas);
                put32(b, 8, static_cast<uint32_t>(m_ranges.size()));
                put64(b, 16, reinterpret_cast<uint64_t>(m_ranges.data()));
                return m_fd;
            case 0x85:  // IOMMU_IOAS_MAP {size, flags, ioas_id, __reserved, user_va, length, iova}
                put32(b, 4, map_rw);
                put32(b, 8, m_ioas);
                put64(b, 16, reinterpret_cast<uint64_t>(m_buf));
                put64(b, 24, page);
                return m_fd;
            case 0x86:  // IOMMU_IOAS_UNMAP {size, ioas_id, iova, length}: everything of the bare IOAS
                put32(b, 4, m_bare_ioas);
                put64(b, 16, ~uint64_t{0});
                return m_fd;
            case 0x87:     // IOMMU_OPTION {size, option_id, op:16, __reserved:16, object_id, val64}: RLIMIT_MODE (0)
                b[8] = 1;  // IOMMU_OPTION_OP_GET
                return m_fd;
            case 0x88:  // IOMMU_VFIO_IOAS {size, ioas_id, op:16, __reserved:16}: SET
                put32(b, 4, m_ioas);
                b[8] = 1;  // IOMMU_VFIO_IOAS_SET
                return m_fd;
            case 0x89:  // IOMMU_HWPT_ALLOC {size, flags, dev_id, pt_id, out_hwpt_id, __reserved, data_type,
                        // data_len, data_uptr, fault_id, __reserved2}: a paging HWPT on the IOAS
                put32(b, 8, m_idev);
                put32(b, 12, m_ioas);
                return m_fd;
            case 0x8a:  // IOMMU_GET_HW_INFO {size, flags, dev_id, data_len, data_uptr, out_data_type,
                        // out_max_pasid_log2:8, __reserved[3], out_capabilities}
                put32(b, 8, m_idev);
                return m_fd;
            case 0x8b:  // IOMMU_HWPT_SET_DIRTY_TRACKING {size, flags, hwpt_id, __reserved}: enable (again)
                put32(b, 4, IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
                put32(b, 8, m_dirty);
                return m_fd;
            case 0x8c:  // IOMMU_HWPT_GET_DIRTY_BITMAP {size, hwpt_id, flags, __reserved, iova, length,
                        // page_size, data}: the mapped page, nothing dirty
                put32(b, 4, m_dirty);
                put64(b, 16, copy_src_iova);
                put64(b, 24, page);
                put64(b, 32, page);
                put64(b, 40, reinterpret_cast<uint64_t>(&m_dirty_bits));
                return m_fd;
            case 0x8d:  // IOMMU_HWPT_INVALIDATE {size, hwpt_id, data_uptr, data_type, entry_len, entry_num,
                        // __reserved}: no entries
                put32(b, 4, m_nested);
                put32(b, 16, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST);
                return m_fd;
            case 0x8f:  // IOMMU_IOAS_MAP_FILE {size, flags, ioas_id, fd, start, length, iova}
                put32(b, 4, map_rw);
                put32(b, 8, m_ioas);
                put32(b, 12, static_cast<uint32_t>(m_memfd));
                put64(b, 24, page);
                return m_fd;
            case 0x92:  // IOMMU_IOAS_CHANGE_PROCESS {size, __reserved}: a context with nothing mapped
                return m_empty_fd;
            case 0xa0:  // IOMMU_TEST_CMD {size, op, id, __reserved, union, last}: ADD_RESERVED far away
                put32(b, 4, IOMMU_TEST_OP_ADD_RESERVED);
                put32(b, 8, m_bare_ioas);
                put64(b, 16, uint64_t{1} << 40);
                put64(b, 24, page);
                return m_fd;
            default:
                ADD_FAILURE() << "no command for nr 0x" << std::hex << nr;
                return -1;
        }
    }

    int call(unsigned nr, std::vector<uint8_t>& b, uint32_t size, int fd) {
        put32(b, 0, size);
        return Ioctl(fd, kernel_ioctl(nr), b.data());
    }

    int m_fd = -1;
    int m_empty_fd = -1;
    int m_memfd = -1;
    void* m_buf = nullptr;
    std::vector<iommu_iova_range> m_ranges = std::vector<iommu_iova_range>(4);
    uint32_t m_ioas = 0;
    uint32_t m_bare_ioas = 0;
    uint32_t m_stdev = 0;
    uint32_t m_auto_hwpt = 0;
    uint32_t m_idev = 0;
    uint32_t m_parent = 0;
    uint32_t m_nested = 0;
    uint32_t m_dirty = 0;  // a dirty-tracking paging HWPT with tracking on
    uint64_t m_dirty_bits = 0;
};

// Sizes and checks per ioctl, from the kernel's iommufd_ioctl_ops table and handlers. Unknown
// flags and non-zero __reserved are EOPNOTSUPP everywhere; IOMMU_TEST_CMD checks no __reserved
// and IOMMU_HWPT_ALLOC documents __reserved2 as zero but never checks it.
const std::vector<ioctl_case>& cases() {
    static const std::vector<ioctl_case> table = {
        {"IOMMU_DESTROY", 0x80, 8, 8, 0, {}},
        {"IOMMU_IOAS_ALLOC", 0x81, 12, 12, 0, {{"flags", 4, 4, 1, EOPNOTSUPP}}},
        {"IOMMU_IOAS_ALLOW_IOVAS", 0x82, 24, 24, 0, {{"__reserved", 12, 4, 1, EOPNOTSUPP}}},
        {"IOMMU_IOAS_COPY", 0x83, 40, 40, 0, {{"flags", 4, 4, 4 | (1u << 3), EOPNOTSUPP}}},
        {"IOMMU_IOAS_IOVA_RANGES", 0x84, 32, 32, 0, {{"__reserved", 12, 4, 1, EOPNOTSUPP}}},
        {"IOMMU_IOAS_MAP",
         0x85,
         40,
         40,
         0,
         {{"flags", 4, 4, map_rw | (1u << 3), EOPNOTSUPP}, {"__reserved", 12, 4, 1, EOPNOTSUPP}}},
        {"IOMMU_IOAS_UNMAP", 0x86, 24, 24, 0, {}},
        {"IOMMU_OPTION",
         0x87,
         24,
         24,
         0,
         {{"__reserved", 10, 2, 1, EOPNOTSUPP}, {"option_id", 4, 4, 99, EOPNOTSUPP}, {"op", 8, 2, 7, EOPNOTSUPP}}},
        {"IOMMU_VFIO_IOAS", 0x88, 12, 12, 0, {{"__reserved", 10, 2, 1, EOPNOTSUPP}, {"op", 8, 2, 3, EOPNOTSUPP}}},
        {"IOMMU_HWPT_ALLOC",
         0x89,
         24,
         48,
         0,
         {{"flags", 4, 4, 1u << 7, EOPNOTSUPP}, {"__reserved", 20, 4, 1, EOPNOTSUPP}, {"__reserved2", 44, 4, 1, 0}}},
        {"IOMMU_GET_HW_INFO",
         0x8a,
         32,
         40,
         0,
         {{"flags", 4, 4, 2, EOPNOTSUPP},
          {"__reserved[0]", 29, 1, 1, EOPNOTSUPP},
          {"__reserved[1]", 30, 1, 1, EOPNOTSUPP},
          {"__reserved[2]", 31, 1, 1, EOPNOTSUPP}}},
        // SET_DIRTY_TRACKING checks no __reserved (hw_pagetable.c iommufd_hwpt_set_dirty_tracking).
        {"IOMMU_HWPT_SET_DIRTY_TRACKING",
         0x8b,
         16,
         16,
         0,
         {{"flags", 4, 4, 2, EOPNOTSUPP}, {"__reserved", 12, 4, 1, 0}}},
        {"IOMMU_HWPT_GET_DIRTY_BITMAP",
         0x8c,
         48,
         48,
         0,
         {{"flags", 8, 4, 2, EOPNOTSUPP}, {"__reserved", 12, 4, 1, EOPNOTSUPP}}},
        {"IOMMU_HWPT_INVALIDATE", 0x8d, 32, 32, 0, {{"__reserved", 28, 4, 1, EOPNOTSUPP}}},
        {"IOMMU_IOAS_MAP_FILE", 0x8f, 40, 40, 0, {{"flags", 4, 4, map_rw | (1u << 3), EOPNOTSUPP}}},
        {"IOMMU_IOAS_CHANGE_PROCESS", 0x92, 8, 8, 0, {{"__reserved", 4, 4, 1, EOPNOTSUPP}}},
        // The selftest struct is no ABI: its union (and so min_size) is the 6.12 selftest's.
        {"IOMMU_TEST_CMD", 0xa0, 68, 72, 0, {{"op", 4, 4, 0xffff, EOPNOTSUPP}, {"__reserved", 12, 4, 1, 0}}},
    };
    return table;
}

constexpr uint8_t untouched = 0xa5;  // marks bytes the ioctl must neither read nor write

TEST_F(StructRules, EveryIoctlAtItsSizeAnswersItsWellFormedResult) {
    for (const ioctl_case& c : cases()) {
        SCOPED_TRACE(c.name);
        std::vector<uint8_t> b(c.size);
        const int fd = fill(c.nr, b);
        EXPECT_EQ(c.ok, call(c.nr, b, static_cast<uint32_t>(c.size), fd));
    }
}

TEST_F(StructRules, BelowTheMinimumSizeIsEinval) {
    for (const ioctl_case& c : cases()) {
        SCOPED_TRACE(c.name);
        for (std::size_t size : {std::size_t{0}, std::size_t{4}, c.min_size - 1}) {
            std::vector<uint8_t> b(c.size);
            const int fd = fill(c.nr, b);
            EXPECT_EQ(EINVAL, call(c.nr, b, static_cast<uint32_t>(size), fd)) << "size " << size;
        }
    }
}

// An older caller's struct (the minimum size): the rest reads as zero and is not written back.
TEST_F(StructRules, TheMinimumSizeIsAcceptedAndNothingPastItIsTouched) {
    for (const ioctl_case& c : cases()) {
        SCOPED_TRACE(c.name);
        std::vector<uint8_t> b(c.size + 8);
        const int fd = fill(c.nr, b);
        std::memset(b.data() + c.min_size, untouched, b.size() - c.min_size);
        EXPECT_EQ(c.ok, call(c.nr, b, static_cast<uint32_t>(c.min_size), fd));
        for (std::size_t i = c.min_size; i < b.size(); ++i) {
            ASSERT_EQ(untouched, b[i]) << "byte " << i;
        }
    }
}

// A newer caller's struct: zero trailing bytes behave like the exact size, any non-zero one is E2BIG.
TEST_F(StructRules, LargerSizesNeedZeroTrailingBytes) {
    for (const ioctl_case& c : cases()) {
        SCOPED_TRACE(c.name);
        const std::size_t larger = c.size + 16;
        std::vector<uint8_t> b(larger + 8);
        int fd = fill(c.nr, b);
        std::memset(b.data() + larger, untouched, 8);
        EXPECT_EQ(c.ok, call(c.nr, b, static_cast<uint32_t>(larger), fd));
        for (std::size_t i = c.size; i < larger; ++i) {
            ASSERT_EQ(0, b[i]) << "the trailing byte " << i << " was written";
        }
        for (std::size_t i = larger; i < b.size(); ++i) {
            ASSERT_EQ(untouched, b[i]) << "byte " << i << " past the declared size was written";
        }
        for (std::size_t at : {c.size, larger - 1}) {
            std::vector<uint8_t> big(larger);
            fd = fill(c.nr, big);
            big[at] = 1;
            EXPECT_EQ(E2BIG, call(c.nr, big, static_cast<uint32_t>(larger), fd)) << "non-zero byte " << at;
        }
    }
}

TEST_F(StructRules, UnknownFlagsAndReservedFieldsAnswerTheKernelsErrno) {
    for (const ioctl_case& c : cases()) {
        for (const checked_field& f : c.fields) {
            SCOPED_TRACE(testing::Message() << c.name << "." << f.name);
            std::vector<uint8_t> b(c.size);
            const int fd = fill(c.nr, b);
            std::memcpy(&b[f.offset], &f.value, f.width);  // little-endian: the low bytes
            EXPECT_EQ(f.err, call(c.nr, b, static_cast<uint32_t>(c.size), fd));
        }
    }
}

}  // namespace
}  // namespace iommusim::test
