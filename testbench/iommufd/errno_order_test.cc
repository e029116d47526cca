// Which errno wins when a command has two faults at once, and the IOAS lookup of every ioctl that
// names an IOAS. The order is the kernel's (drivers/iommu/iommufd/ioas.c handlers, then
// io_pagetable.c iopt_alloc_pages / iopt_alloc_area_pages / iopt_check_iova / iopt_insert_area,
// main.c iommufd_option, device.c iommufd_get_hw_info, vfio_compat.c iommufd_vfio_ioas).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t ulong_max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t rd = IOMMU_IOAS_MAP_READABLE;
constexpr uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
constexpr uint32_t fixed = IOMMU_IOAS_MAP_FIXED_IOVA;
constexpr uint32_t unknown_flag = 1u << 3;

// m_ioas has a mock domain (alignment 2048) and a read-only page at MOCK_APERTURE_START; m_bare has
// no domain (alignment 1).
class ErrnoOrder : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        void* p = mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, p);
        m_buf = static_cast<char*>(p);
        TestCmdIoasAlloc(m_fd, &m_ioas);
        TestCmdIoasAlloc(m_fd, &m_bare);
        TestCmdMockDomain(m_fd, m_ioas, &m_stdev, &m_hwpt, &m_idev);
        uint64_t iova = MOCK_APERTURE_START;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas, m_buf, page, &iova, rd | fixed));
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_fd));
        munmap(m_buf, 4 * page);
    }

    int map(uint32_t ioas, uint64_t user_va, uint64_t length, uint64_t iova, uint32_t flags, uint32_t reserved = 0) {
        iommu_ioas_map cmd{};
        cmd.size = sizeof(cmd);
        cmd.flags = flags;
        cmd.ioas_id = ioas;
        cmd.__reserved = reserved;
        cmd.user_va = user_va;
        cmd.length = length;
        cmd.iova = iova;
        return Ioctl(m_fd, IOMMU_IOAS_MAP, &cmd);
    }
    int copy(uint32_t dst, uint32_t src, uint64_t length, uint64_t dst_iova, uint64_t src_iova, uint32_t flags) {
        iommu_ioas_copy cmd{};
        cmd.size = sizeof(cmd);
        cmd.flags = flags;
        cmd.dst_ioas_id = dst;
        cmd.src_ioas_id = src;
        cmd.length = length;
        cmd.dst_iova = dst_iova;
        cmd.src_iova = src_iova;
        return Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd);
    }
    uint64_t va(uint64_t offset = 0) const { return reinterpret_cast<uint64_t>(m_buf) + offset; }

    int m_fd = -1;
    char* m_buf = nullptr;
    uint32_t m_ioas = 0;
    uint32_t m_bare = 0;
    uint32_t m_stdev = 0;
    uint32_t m_hwpt = 0;
    uint32_t m_idev = 0;
};

TEST_F(ErrnoOrder, IoasMap) {
    // Flags and __reserved, then ULONG_MAX, then no access right, then the IOAS, then the length.
    EXPECT_EQ(EOPNOTSUPP, map(999, va(), ulong_max, 0, rw | unknown_flag));
    EXPECT_EQ(EOPNOTSUPP, map(999, va(), ulong_max, 0, 0, 1));
    EXPECT_EQ(EOVERFLOW, map(999, va(), ulong_max, 0, 0));
    EXPECT_EQ(EOVERFLOW, map(999, va(), page, ulong_max, 0));
    EXPECT_EQ(EINVAL, map(999, va(), 0, 0, 0));
    EXPECT_EQ(ENOENT, map(999, va(), 0, 0, rw));
    // iopt_alloc_pages: a zero length, then a wrapping user range, before any IOVA check.
    EXPECT_EQ(EINVAL, map(m_ioas, va(), 0, MOCK_APERTURE_START, rw | fixed));
    EXPECT_EQ(EOVERFLOW, map(m_bare, ulong_max - page + 1, 2 * page, MOCK_APERTURE_START, rw | fixed));
    // iopt_alloc_area_pages: the length's alignment before the IOVA; iopt_check_iova: the IOVA's
    // alignment, wrap-around, reserved IOVA, then overlap.
    EXPECT_EQ(EINVAL, map(m_ioas, va(), 1024, MOCK_APERTURE_START, rw | fixed)) << "overlapping too";
    EXPECT_EQ(EINVAL, map(m_ioas, va(), page, MOCK_APERTURE_START + 1024, rw | fixed)) << "overlapping too";
    EXPECT_EQ(EOVERFLOW, map(m_bare, va(), 2 * page, ulong_max - page, rw | fixed));
    EXPECT_EQ(EINVAL, map(m_ioas, va(), 2 * page, MOCK_APERTURE_START - page, rw | fixed))
        << "below the aperture and overlapping";
    EXPECT_EQ(EEXIST, map(m_ioas, va(1), page, MOCK_APERTURE_START, rw | fixed))
        << "an overlap is found before the user address's page offset is checked";
    // iopt_insert_area: the page offset of the user address after the IOVA.
    EXPECT_EQ(EINVAL, map(m_ioas, va(1024), page, MOCK_APERTURE_START + page, rw | fixed));
}

TEST_F(ErrnoOrder, IoasCopy) {
    const uint64_t src = MOCK_APERTURE_START;
    // Flags, ULONG_MAX, no access right, the source IOAS, the source range, then the destination.
    EXPECT_EQ(EOPNOTSUPP, copy(999, 999, ulong_max, 0, 0, rd | unknown_flag));
    EXPECT_EQ(EOVERFLOW, copy(999, 999, ulong_max, 0, 0, 0));
    EXPECT_EQ(EOVERFLOW, copy(999, 999, page, 0, ulong_max, 0));
    EXPECT_EQ(EINVAL, copy(999, 999, 0, 0, 0, 0));
    EXPECT_EQ(EINVAL, copy(m_bare, m_ioas, page, 0, src, fixed)) << "FIXED_IOVA alone grants no access";
    EXPECT_EQ(ENOENT, copy(999, 999, 0, 0, src, rd));
    EXPECT_EQ(EINVAL, copy(999, m_ioas, 0, 0, src, rd)) << "a zero length before the destination lookup";
    EXPECT_EQ(ENOENT, copy(m_bare, m_ioas, page, 0, src + page, rd)) << "nothing mapped there";
    EXPECT_EQ(ENOENT, copy(999, m_ioas, page, 0, src, rd));
    EXPECT_EQ(ENOENT, copy(m_hwpt, m_ioas, page, 0, src, rd)) << "the destination is a HWPT";
    // In the destination: the IOVA checks come before the pages' write permission.
    ASSERT_EQ(0, copy(m_bare, m_ioas, page, 0x10000, src, rd | fixed));
    EXPECT_EQ(EEXIST, copy(m_bare, m_ioas, page, 0x10000, src, rw | fixed)) << "and read-only pages";
    EXPECT_EQ(EPERM, copy(m_bare, m_ioas, page, 0x20000, src, rw | fixed));
}

TEST_F(ErrnoOrder, IoasUnmap) {
    // The IOAS first, then ULONG_MAX (except for unmap-all), then the range.
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, 999, ulong_max, 0));
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_hwpt, 0, ulong_max));
    EXPECT_EQ(EOVERFLOW, IoasUnmap(m_fd, m_bare, ulong_max, 0));
    EXPECT_EQ(EOVERFLOW, IoasUnmap(m_fd, m_bare, page, ulong_max));
    EXPECT_EQ(EINVAL, IoasUnmap(m_fd, m_bare, page, 0));
    EXPECT_EQ(EOVERFLOW, IoasUnmap(m_fd, m_bare, ulong_max - page, 2 * page));
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_bare, page, page)) << "nothing mapped";
    EXPECT_EQ(0, IoasUnmap(m_fd, m_bare, 0, ulong_max)) << "unmap-all of an empty IOAS";
}

TEST_F(ErrnoOrder, IovaRangesAndAllowIovas) {
    iommu_ioas_iova_ranges ranges{};
    ranges.size = sizeof(ranges);
    ranges.ioas_id = 999;
    ranges.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
    ranges.__reserved = 0;
    ranges.num_iovas = 1;  // and no array
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
    ranges.ioas_id = m_ioas;
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
    ranges.num_iovas = 0;  // nothing copied: the count goes back with EMSGSIZE
    EXPECT_EQ(EMSGSIZE, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
    EXPECT_EQ(1u, ranges.num_iovas);

    iommu_ioas_allow_iovas allow{};
    allow.size = sizeof(allow);
    allow.ioas_id = 999;
    allow.__reserved = 1;
    allow.num_iovas = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
    allow.__reserved = 0;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &allow)) << "before the unreadable array";
    allow.ioas_id = m_ioas;
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
    // Every range is read and checked for shape before any is checked against reserved IOVA:
    // the first lies below the aperture, the second is malformed.
    std::vector<iommu_iova_range> r = {{0, page - 1}, {3 * page, page}};
    allow.num_iovas = 2;
    allow.allowed_iovas = reinterpret_cast<uint64_t>(r.data());
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
    r[1] = {MOCK_APERTURE_START, MOCK_APERTURE_START + page - 1};
    EXPECT_EQ(EADDRINUSE, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
    // All or nothing: the refused calls left every IOVA allowed.
    uint64_t iova = 0;
    EXPECT_EQ(0, IoasMap(m_fd, m_ioas, m_buf + page, page, &iova, rw));
    EXPECT_EQ(MOCK_APERTURE_START + page, iova);
}

TEST_F(ErrnoOrder, OptionHwInfoVfioIoasAndChangeProcess) {
    iommu_option opt{};
    opt.size = sizeof(opt);
    opt.option_id = IOMMU_OPTION_HUGE_PAGES;
    opt.op = 7;
    opt.object_id = 999;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_OPTION, &opt)) << "the IOAS lookup before the op";
    opt.object_id = m_hwpt;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_OPTION, &opt));
    opt.object_id = m_ioas;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_OPTION, &opt));
    opt.option_id = IOMMU_OPTION_RLIMIT_MODE;
    opt.op = IOMMU_OPTION_OP_SET;
    opt.object_id = 0;
    opt.val64 = 2;
    EXPECT_EQ(EBUSY, Ioctl(m_fd, IOMMU_OPTION, &opt)) << "objects exist: before the value is looked at";
    opt.object_id = m_ioas;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_OPTION, &opt)) << "a global option takes no object";

    iommu_hw_info info{};
    info.size = sizeof(info);
    info.dev_id = 999;
    info.flags = 2;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_GET_HW_INFO, &info)) << "flags before the device lookup";
    info.flags = 0;
    info.__reserved[1] = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_GET_HW_INFO, &info));
    info.__reserved[1] = 0;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_GET_HW_INFO, &info));
    info.dev_id = m_stdev;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_GET_HW_INFO, &info)) << "the selftest object is not the device";

    iommu_vfio_ioas vfio{};
    vfio.size = sizeof(vfio);
    vfio.op = 3;
    vfio.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_VFIO_IOAS, &vfio));
    vfio.__reserved = 0;
    vfio.op = IOMMU_VFIO_IOAS_SET;
    vfio.ioas_id = m_hwpt;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_VFIO_IOAS, &vfio));
    vfio.op = IOMMU_VFIO_IOAS_GET;
    EXPECT_EQ(ENODEV, Ioctl(m_fd, IOMMU_VFIO_IOAS, &vfio)) << "none set";

    iommu_ioas_change_process change{};
    change.size = sizeof(change);
    change.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &change)) << "before the user-VA areas";
    change.__reserved = 0;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &change));
}

// Every command that names an IOAS answers ENOENT for 0, an unknown id and every other kind of
// object (kernel iommufd_get_ioas: a typed lookup).
TEST_F(ErrnoOrder, EveryIoasLookupIsTyped) {
    const int memfd = memfd_create("errno_order", 0);
    ASSERT_GE(memfd, 0);
    ASSERT_EQ(0, ftruncate(memfd, page));
    const std::vector<std::pair<const char*, std::function<int(uint32_t)>>> commands = {
        {"IOAS_MAP", [&](uint32_t id) { return map(id, va(), page, 0, rw); }},
        {"IOAS_UNMAP", [&](uint32_t id) { return IoasUnmap(m_fd, id, 0, ulong_max); }},
        {"IOAS_COPY source", [&](uint32_t id) { return copy(m_bare, id, page, 0, MOCK_APERTURE_START, rd); }},
        {"IOAS_COPY destination", [&](uint32_t id) { return copy(id, m_ioas, page, 0, MOCK_APERTURE_START, rd); }},
        {"IOAS_IOVA_RANGES",
         [&](uint32_t id) {
             iommu_ioas_iova_ranges c{};
             c.size = sizeof(c);
             c.ioas_id = id;
             return Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &c);
         }},
        {"IOAS_ALLOW_IOVAS",
         [&](uint32_t id) {
             iommu_ioas_allow_iovas c{};
             c.size = sizeof(c);
             c.ioas_id = id;
             return Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &c);
         }},
        {"IOAS_MAP_FILE",
         [&](uint32_t id) {
             iommu_ioas_map_file c{};
             c.size = sizeof(c);
             c.flags = rw;
             c.ioas_id = id;
             c.fd = memfd;
             c.length = page;
             return Ioctl(m_fd, IOMMU_IOAS_MAP_FILE, &c);
         }},
        {"OPTION HUGE_PAGES",
         [&](uint32_t id) {
             iommu_option c{};
             c.size = sizeof(c);
             c.option_id = IOMMU_OPTION_HUGE_PAGES;
             c.op = IOMMU_OPTION_OP_GET;
             c.object_id = id;
             return Ioctl(m_fd, IOMMU_OPTION, &c);
         }},
        {"VFIO_IOAS SET",
         [&](uint32_t id) {
             iommu_vfio_ioas c{};
             c.size = sizeof(c);
             c.op = IOMMU_VFIO_IOAS_SET;
             c.ioas_id = id;
             return Ioctl(m_fd, IOMMU_VFIO_IOAS, &c);
         }},
        {"TEST_OP_ADD_RESERVED",
         [&](uint32_t id) {
             iommu_test_cmd c{};
             c.size = sizeof(c);
             c.op = IOMMU_TEST_OP_ADD_RESERVED;
             c.id = id;
             c.add_reserved.start = uint64_t{1} << 40;
             c.add_reserved.length = page;
             return Ioctl(m_fd, IOMMU_TEST_CMD, &c);
         }},
    };
    for (const auto& [name, run] : commands) {
        for (uint32_t id : {0u, 999u, m_hwpt, m_idev, m_stdev}) {
            EXPECT_EQ(ENOENT, run(id)) << name << " with id " << id;
        }
    }
    close(memfd);
}

}  // namespace
}  // namespace iommusim::test
