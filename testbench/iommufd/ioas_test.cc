// The IOAS semantics the kernel has and the model follows (drivers/iommu/iommufd/ioas.c,
// io_pagetable.c): the IOAS alignment in IOVA_RANGES and MAP, lazy pinning with no domain,
// automatic IOVA alignment, and every errno path of ALLOW_IOVAS, COPY, OPTION and the selftest's
// ADD_RESERVED. Expected values are the kernel selftest's (tools/testing/selftests/iommu/iommufd.c).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t mock_page = 2048;  // the selftest's MOCK_PAGE_SIZE
constexpr uint64_t ulong_max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;

class Ioas : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        ASSERT_EQ(0, IoasAlloc(m_fd, &m_ioas));
        void* p = mmap(nullptr, 16 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, p);
        m_buf = static_cast<char*>(p);
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_fd));
        munmap(m_buf, 16 * page);
    }

    int map(uint32_t ioas, uint64_t user_va, uint64_t length, uint64_t* iova, uint32_t flags = rw) {
        iommu_ioas_map cmd{};
        cmd.size = sizeof(cmd);
        cmd.flags = flags;
        cmd.ioas_id = ioas;
        cmd.user_va = user_va;
        cmd.length = length;
        cmd.iova = *iova;
        int err = Ioctl(m_fd, IOMMU_IOAS_MAP, &cmd);
        *iova = cmd.iova;
        return err;
    }
    int map_fixed(uint64_t user_va, uint64_t length, uint64_t iova, uint32_t flags = rw) {
        return map(m_ioas, user_va, length, &iova, flags | IOMMU_IOAS_MAP_FIXED_IOVA);
    }
    uint64_t va(uint64_t offset = 0) const { return reinterpret_cast<uint64_t>(m_buf) + offset; }
    int ranges(std::vector<iommu_iova_range>& out, uint64_t& alignment) {
        out.assign(8, {});
        iommu_ioas_iova_ranges cmd{};
        cmd.size = sizeof(cmd);
        cmd.ioas_id = m_ioas;
        cmd.num_iovas = 8;
        cmd.allowed_iovas = reinterpret_cast<uint64_t>(out.data());
        int err = Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
        out.resize(cmd.num_iovas);
        alignment = cmd.out_iova_alignment;
        return err;
    }
    int add_reserved(uint64_t start, uint64_t length, uint32_t ioas = 0) {
        iommu_test_cmd cmd{};
        cmd.size = sizeof(cmd);
        cmd.op = IOMMU_TEST_OP_ADD_RESERVED;
        cmd.id = ioas != 0 ? ioas : m_ioas;
        cmd.add_reserved.start = start;
        cmd.add_reserved.length = length;
        return Ioctl(m_fd, IOMMU_TEST_CMD, &cmd);
    }
    int allow(const std::vector<iommu_iova_range>& r) {
        iommu_ioas_allow_iovas cmd{};
        cmd.size = sizeof(cmd);
        cmd.ioas_id = m_ioas;
        cmd.num_iovas = static_cast<uint32_t>(r.size());
        cmd.allowed_iovas = reinterpret_cast<uint64_t>(r.data());
        return Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
    }
    int mock_domain() {
        uint32_t stdev = 0, hwpt = 0, idev = 0;
        return MockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev);
    }

    int m_fd = -1;
    uint32_t m_ioas = 0;
    char* m_buf = nullptr;
};

TEST_F(Ioas, IovaRangesReportTheAlignmentOfTheDomains) {
    std::vector<iommu_iova_range> r;
    uint64_t alignment = 0;
    ASSERT_EQ(0, ranges(r, alignment));
    ASSERT_EQ(1u, r.size());
    EXPECT_EQ(0u, r[0].start);
    EXPECT_EQ(ulong_max, r[0].last);
    EXPECT_EQ(1u, alignment);  // no domain: byte granular
    ASSERT_EQ(0, add_reserved(page, page));
    ASSERT_EQ(0, ranges(r, alignment));
    ASSERT_EQ(2u, r.size());
    EXPECT_EQ(page - 1, r[0].last);
    EXPECT_EQ(2 * page, r[1].start);
    ASSERT_EQ(0, mock_domain());
    ASSERT_EQ(0, ranges(r, alignment));
    ASSERT_EQ(1u, r.size());
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START}, r[0].start);
    EXPECT_EQ(uint64_t{MOCK_APERTURE_LAST}, r[0].last);
    EXPECT_EQ(mock_page, alignment);
}

TEST_F(Ioas, MapTakesAnyLengthWithoutADomainAndTheDomainAlignmentWithOne) {
    for (uint64_t length : {uint64_t{1}, uint64_t{3}, page + 1}) {
        uint64_t iova = 0;
        EXPECT_EQ(0, map(m_ioas, va(5), length, &iova)) << length;
        EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas, iova, length));
    }
    ASSERT_EQ(0, mock_domain());
    uint64_t iova = 0;
    EXPECT_EQ(EINVAL, map(m_ioas, va(), mock_page / 2, &iova));
    EXPECT_EQ(EINVAL, map(m_ioas, va(mock_page / 2), mock_page, &iova));  // page offset 1024
    EXPECT_EQ(0, map(m_ioas, va(mock_page), mock_page, &iova));
    EXPECT_EQ(0u, iova % mock_page);
    EXPECT_EQ(EINVAL, map_fixed(va(), mock_page, MOCK_APERTURE_START + mock_page / 2));
    EXPECT_EQ(EINVAL, map_fixed(va(), page, MOCK_APERTURE_START - page));  // outside the aperture
}

TEST_F(Ioas, UnmappedUserMemoryIsRefusedWhenADomainIsFilled) {
    void* hole = mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, hole);
    const uint64_t iova = MOCK_APERTURE_START;
    ASSERT_EQ(0, map_fixed(reinterpret_cast<uint64_t>(hole), page, iova));  // lazy: nothing pinned
    EXPECT_EQ(EFAULT, mock_domain());
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, iova, page));
    // Read-only memory mapped writeable: also refused at fill time.
    ASSERT_EQ(0, mprotect(m_buf, page, PROT_READ));
    ASSERT_EQ(0, map_fixed(va(), page, iova));
    EXPECT_EQ(EFAULT, mock_domain());
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, iova, page));
    ASSERT_EQ(0, map_fixed(va(), page, iova, IOMMU_IOAS_MAP_READABLE));
    EXPECT_EQ(0, mock_domain());
    // With a domain attached the map itself pins.
    EXPECT_EQ(EFAULT, map_fixed(reinterpret_cast<uint64_t>(hole), page, iova + page));
    munmap(hole, page);
}

TEST_F(Ioas, AutomaticIovasAreAlignedToTheLength) {
    // User address 1 << 31 (unmapped, pinned lazily): the alignment is roundup_pow_of_two(length).
    const uint64_t uptr = uint64_t{1} << 31;
    uint64_t iova = 0;
    ASSERT_EQ(0, map(m_ioas, uptr, page, &iova));
    EXPECT_EQ(page, iova);  // never IOVA 0
    ASSERT_EQ(0, map(m_ioas, uptr, 2 * page, &iova));
    EXPECT_EQ(2 * page, iova);
    ASSERT_EQ(0, map(m_ioas, uptr, 3 * page, &iova));
    EXPECT_EQ(4 * page, iova);
    // The user address's lowest set bit caps it: 4 KiB here, so right after the 3-page area.
    ASSERT_EQ(0, map(m_ioas, uptr + page, 4 * page, &iova));
    EXPECT_EQ(7 * page, iova);
    ASSERT_EQ(0, map(m_ioas, uptr + page / 2 + page, page, &iova));
    EXPECT_EQ(11 * page + page / 2, iova);  // 2 KiB aligned, keeping the page offset
}

// The case with the mock domain: after one page at the aperture's start, two pages go to
// the next 8 KiB boundary (0x1002000), not to the first free byte (0x1001000).
TEST_F(Ioas, AutomaticIovaInTheMockApertureSkipsToTheLengthsAlignment) {
    // User addresses aligned to 64 KiB, so that only the length limits the IOVA alignment.
    constexpr uint64_t span = 32 * page;
    void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, p);
    const uint64_t base = (reinterpret_cast<uint64_t>(p) + 16 * page - 1) & ~(16 * page - 1);
    ASSERT_EQ(0, mock_domain());
    uint64_t iova = 0;
    ASSERT_EQ(0, map(m_ioas, base, page, &iova));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START}, iova);
    ASSERT_EQ(0, map(m_ioas, base, 2 * page, &iova));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START} + 2 * page, iova);
    // The hole left at 0x1001000 still takes a page.
    ASSERT_EQ(0, map(m_ioas, base, page, &iova));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START} + page, iova);
    // The domain's 2 KiB pages: a 2 KiB map at user page offset 2 KiB keeps that offset in the IOVA
    // (kernel __alloc_iova_check_range: ALIGN(hole, alignment) | page_offset).
    ASSERT_EQ(0, map(m_ioas, base + mock_page, mock_page, &iova));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START} + 4 * page + mock_page, iova);
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, 0, ulong_max));
    munmap(p, span);
}

TEST_F(Ioas, AllowIovasErrnos) {
    iommu_ioas_allow_iovas cmd{};
    cmd.size = sizeof(cmd);
    cmd.ioas_id = m_ioas;
    cmd.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
    cmd.__reserved = 0;
    cmd.ioas_id = 999;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
    cmd.ioas_id = m_ioas;
    cmd.num_iovas = 1;
    cmd.allowed_iovas = 0;
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
    EXPECT_EQ(EINVAL, allow({{2 * page, page}}));                        // start > last
    EXPECT_EQ(EINVAL, allow({{page, 4 * page}, {2 * page, 8 * page}}));  // overlapping
    ASSERT_EQ(0, add_reserved(16 * page, page));
    EXPECT_EQ(EADDRINUSE, allow({{page, 32 * page}}));
    ASSERT_EQ(0, allow({{32 * page, 64 * page - 1}}));
    EXPECT_EQ(EADDRINUSE, add_reserved(40 * page, page));  // meets an allowed range
    uint64_t iova = 0;
    ASSERT_EQ(0, map(m_ioas, va(), page, &iova));
    EXPECT_EQ(32 * page, iova);
    EXPECT_EQ(EADDRINUSE, add_reserved(32 * page, 1));  // meets a mapped area
    EXPECT_EQ(ENOSPC, map(m_ioas, va(), 64 * page, &iova));
    ASSERT_EQ(0, allow({}));  // no ranges: everything allowed again
    EXPECT_EQ(0, map(m_ioas, va(), 64 * page, &iova));
    EXPECT_EQ(EINVAL, map_fixed(va(), page, 16 * page));  // reserved
    EXPECT_EQ(ENOENT, add_reserved(0, page, 999));
}

TEST_F(Ioas, CopyErrnosAndPieces) {
    uint32_t dst = 0;
    ASSERT_EQ(0, IoasAlloc(m_fd, &dst));
    ASSERT_EQ(0, map_fixed(va(), page, 0x10000));
    ASSERT_EQ(0, map_fixed(va(4 * page), page, 0x11000, IOMMU_IOAS_MAP_READABLE));
    iommu_ioas_copy cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE;
    cmd.dst_ioas_id = dst;
    cmd.src_ioas_id = m_ioas;
    cmd.length = 2 * page;
    cmd.src_iova = 0x10000;
    cmd.dst_iova = 0x40000;
    cmd.flags |= 1u << 3;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    cmd.flags &= ~(1u << 3);
    cmd.length = ulong_max;
    EXPECT_EQ(EOVERFLOW, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    cmd.length = 0;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    cmd.length = 2 * page;
    cmd.src_ioas_id = 999;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    cmd.src_ioas_id = m_ioas;
    cmd.dst_ioas_id = 999;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    cmd.dst_ioas_id = dst;
    cmd.length = 3 * page;  // runs past the second area
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    cmd.length = 2 * page;
    cmd.flags |= IOMMU_IOAS_MAP_WRITEABLE;  // the second area's pages were mapped read-only
    EXPECT_EQ(EPERM, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    cmd.flags &= ~IOMMU_IOAS_MAP_WRITEABLE;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));  // two areas, one copy
    EXPECT_EQ(EEXIST, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    uint64_t unmapped = 0;
    // The copy made one area per source area: the first alone unmaps.
    ASSERT_EQ(0, IoasUnmap(m_fd, dst, 0x40000, page, &unmapped));
    EXPECT_EQ(page, unmapped);
    // A middle slice with an automatic IOVA keeps the user page offset.
    cmd.flags = IOMMU_IOAS_MAP_READABLE;
    cmd.src_iova = 0x10000 + 0x123;
    cmd.length = 0x100;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_COPY, &cmd));
    EXPECT_EQ(0x123u, cmd.dst_iova % page);
}

TEST_F(Ioas, OptionErrnos) {
    iommu_option cmd{};
    cmd.size = sizeof(cmd);
    cmd.option_id = IOMMU_OPTION_RLIMIT_MODE;
    cmd.op = IOMMU_OPTION_OP_GET;
    cmd.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    cmd.__reserved = 0;
    cmd.option_id = 7;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    cmd.option_id = IOMMU_OPTION_RLIMIT_MODE;
    cmd.object_id = m_ioas;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_OPTION, &cmd));  // global: no object
    cmd.object_id = 0;
    cmd.val64 = 5;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    EXPECT_EQ(0u, cmd.val64);
    cmd.op = IOMMU_OPTION_OP_SET;
    cmd.val64 = 1;
    EXPECT_EQ(EBUSY, Ioctl(m_fd, IOMMU_OPTION, &cmd));  // this context already has an IOAS
    cmd.op = 2;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_OPTION, &cmd));

    cmd.option_id = IOMMU_OPTION_HUGE_PAGES;
    cmd.op = IOMMU_OPTION_OP_GET;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    cmd.object_id = m_ioas;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    EXPECT_EQ(1u, cmd.val64);
    cmd.op = 2;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    cmd.op = IOMMU_OPTION_OP_SET;
    cmd.val64 = 2;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    // A misaligned area blocks PAGE_SIZE alignment; once gone, unaligned maps are refused.
    ASSERT_EQ(0, map_fixed(va(mock_page), page, 0x10000));
    cmd.val64 = 0;
    EXPECT_EQ(EADDRINUSE, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, 0x10000, page));
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    std::vector<iommu_iova_range> r;
    uint64_t alignment = 0;
    ASSERT_EQ(0, ranges(r, alignment));
    EXPECT_EQ(page, alignment);
    EXPECT_EQ(EINVAL, map_fixed(va(mock_page), page, 0x10000));
    // Disabling again with a domain and an area is refused.
    cmd.val64 = 1;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_OPTION, &cmd));
    ASSERT_EQ(0, mock_domain());
    ASSERT_EQ(0, map_fixed(va(), page, MOCK_APERTURE_START));
    cmd.val64 = 0;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_OPTION, &cmd));
}

TEST_F(Ioas, ChangeProcessRefusesUserAddressAreas) {
    iommu_ioas_change_process cmd{};
    cmd.size = sizeof(cmd);
    cmd.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));
    cmd.__reserved = 0;
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));  // nothing to move
    ASSERT_EQ(0, map_fixed(va(), page, 0x10000));
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));  // not file-backed
    cmd.size = 7;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));
}

TEST(IoasOption, RlimitModeIsSetOnAnEmptyContext) {
    int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    iommu_option cmd{};
    cmd.size = sizeof(cmd);
    cmd.option_id = IOMMU_OPTION_RLIMIT_MODE;
    cmd.op = IOMMU_OPTION_OP_SET;
    cmd.val64 = 2;
    EXPECT_EQ(EINVAL, Ioctl(fd, IOMMU_OPTION, &cmd));
    cmd.val64 = 1;
    ASSERT_EQ(0, Ioctl(fd, IOMMU_OPTION, &cmd));
    cmd.op = IOMMU_OPTION_OP_GET;
    cmd.val64 = 0;
    ASSERT_EQ(0, Ioctl(fd, IOMMU_OPTION, &cmd));
    EXPECT_EQ(1u, cmd.val64);
    EXPECT_EQ(0, iommusim_close(fd));
}

}  // namespace
}  // namespace iommusim::test
