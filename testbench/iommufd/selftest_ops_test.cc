// IOMMU_TEST_CMD ops of the selftest mock (kernel drivers/iommu/iommufd/selftest.c) beyond plain
// MOCK_DOMAIN: MOCK_DOMAIN_FLAGS (the MOCK_FLAGS_DEVICE_* flags and what they change for the
// device and its domains), MD_CHECK_MAP (the IOVA-to-user-address check of a mock domain) and
// DEV_CHECK_CACHE (a mock device's four cache slots) and SET_TEMP_MEMORY_LIMIT's lower bound.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cstdint>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t mock_page = page / 2;  // the kernel's MOCK_IO_PAGE_SIZE

class SelftestOps : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
    }
    void TearDown() override { EXPECT_EQ(0, iommusim_close(m_fd)); }

    uint32_t MaxPasidLog2(uint32_t dev_id) {
        uint8_t data[8] = {};
        iommu_hw_info cmd{};
        cmd.size = sizeof(cmd);
        cmd.dev_id = dev_id;
        cmd.data_len = sizeof(data);
        cmd.data_uptr = reinterpret_cast<uint64_t>(data);
        cmd.out_max_pasid_log2 = 0xff;
        EXPECT_EQ(0, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
        return cmd.out_max_pasid_log2;
    }

    int m_fd = -1;
    uint32_t m_ioas_id = 0;
};

// MOCK_DOMAIN_FLAGS with no flags is MOCK_DOMAIN; unknown flags are EINVAL after the object id
// was reserved, and the failure leaves nothing behind.
TEST_F(SelftestOps, MockDomainFlagsUnknownFlagsAreEinvalAndLeaveNothing) {
    uint32_t stdev = 0;
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    EXPECT_EQ(EINVAL, MockDomainFlags(m_fd, m_ioas_id, 1u << 3, &stdev, &hwpt, &idev));
    EXPECT_EQ(EINVAL, MockDomainFlags(m_fd, m_ioas_id, 1u << 31, &stdev, &hwpt, &idev));
    // Unknown flags are refused before the attach looks at pt_id.
    EXPECT_EQ(EINVAL, MockDomainFlags(m_fd, 999, 1u << 3, &stdev, &hwpt, &idev));
    EXPECT_EQ(ENOENT, MockDomainFlags(m_fd, 999, 0, &stdev, &hwpt, &idev));
    ASSERT_EQ(0, MockDomainFlags(m_fd, m_ioas_id, 0, &stdev, &hwpt, &idev));
    EXPECT_EQ(m_ioas_id + 1, stdev) << "the failed calls reserved no id for good";
    EXPECT_NE(0u, hwpt);
    EXPECT_NE(0u, idev);
}

// NO_DIRTY: no dirty-tracking capability, no dirty-tracking domain for it (EOPNOTSUPP), and EINVAL
// attaching it to a dirty-tracking domain another device allocated.
TEST_F(SelftestOps, MockDomainFlagsNoDirty) {
    uint32_t stdev = 0;
    uint32_t idev = 0;
    ASSERT_EQ(0, MockDomainFlags(m_fd, m_ioas_id, MOCK_FLAGS_DEVICE_NO_DIRTY, &stdev, nullptr, &idev));
    uint8_t data[8] = {};
    uint64_t caps = ~uint64_t{0};
    ASSERT_EQ(0, GetHwInfo(m_fd, idev, data, sizeof(data), nullptr, &caps));
    EXPECT_EQ(0u, caps & IOMMU_HW_CAP_DIRTY_TRACKING);
    uint32_t hwpt = 0;
    TestErrHwptAlloc(EOPNOTSUPP, m_fd, idev, m_ioas_id, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt);
    TestCmdHwptAlloc(m_fd, idev, m_ioas_id, 0, &hwpt);

    uint32_t plain_idev = 0;
    TestCmdMockDomain(m_fd, m_ioas_id, nullptr, nullptr, &plain_idev);
    ASSERT_EQ(0, GetHwInfo(m_fd, plain_idev, data, sizeof(data), nullptr, &caps));
    EXPECT_EQ(uint64_t{IOMMU_HW_CAP_DIRTY_TRACKING}, caps & IOMMU_HW_CAP_DIRTY_TRACKING);
    uint32_t dirty_hwpt = 0;
    TestCmdHwptAlloc(m_fd, plain_idev, m_ioas_id, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty_hwpt);
    EXPECT_EQ(EINVAL, MockDomainFlags(m_fd, dirty_hwpt, MOCK_FLAGS_DEVICE_NO_DIRTY, nullptr, nullptr, nullptr));
    EXPECT_EQ(0, MockDomainFlags(m_fd, hwpt, MOCK_FLAGS_DEVICE_NO_DIRTY, nullptr, nullptr, nullptr))
        << "a domain without dirty tracking takes the device";
    EXPECT_EQ(EINVAL, MockDomainReplace(m_fd, stdev, dirty_hwpt));
}

// PASID: GET_HW_INFO reports the mock PASID width for that device only.
TEST_F(SelftestOps, MockDomainFlagsPasidReportsItsWidth) {
    uint32_t plain_idev = 0;
    uint32_t pasid_idev = 0;
    TestCmdMockDomain(m_fd, m_ioas_id, nullptr, nullptr, &plain_idev);
    ASSERT_EQ(0, MockDomainFlags(m_fd, m_ioas_id, MOCK_FLAGS_DEVICE_PASID, nullptr, nullptr, &pasid_idev));
    EXPECT_EQ(0u, MaxPasidLog2(plain_idev));
    EXPECT_EQ(20u, MaxPasidLog2(pasid_idev));
}

// HUGE_IOVA devices attach and map like any other (the huge page size is the domain's to use).
TEST_F(SelftestOps, MockDomainFlagsHugeIovaMapsLikeAnyOther) {
    uint32_t hwpt = 0;
    ASSERT_EQ(0, MockDomainFlags(m_fd, m_ioas_id, MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_NO_DIRTY, nullptr,
                                 &hwpt, nullptr));
    void* buf = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, buf);
    uint64_t iova = MOCK_APERTURE_START;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buf, page, &iova,
                         IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova, page, buf));
    munmap(buf, page);
}

// MD_CHECK_MAP (kernel iommufd_test_md_check_pa): alignment to MOCK_IO_PAGE_SIZE and overflow are
// EINVAL first, then the id must be a paging HWPT (ENOENT) of the mock driver; each half page must
// map the same half page of uptr (EINVAL), and an unmapped user page is EFAULT when reached.
TEST_F(SelftestOps, MdCheckMap) {
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    TestCmdMockDomain(m_fd, m_ioas_id, nullptr, &hwpt, &idev);
    auto* buf =
        static_cast<uint8_t*>(mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(buf));
    const uint64_t iova = MOCK_APERTURE_START + 0x10000;
    uint64_t at = iova;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buf, 2 * page, &at,
                         IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));

    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova, 2 * page, buf));
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova + mock_page, mock_page, buf + mock_page)) << "half-page steps";
    EXPECT_EQ(0, CheckMap(m_fd, hwpt, iova, 0, buf)) << "an empty range checks nothing";
    // Alignment and overflow before the id is looked at.
    EXPECT_EQ(EINVAL, CheckMap(m_fd, 999, iova + 1, page, buf));
    EXPECT_EQ(EINVAL, CheckMap(m_fd, 999, iova, page + 1, buf));
    EXPECT_EQ(EINVAL, CheckMap(m_fd, 999, iova, page, buf + 1));
    EXPECT_EQ(EINVAL, CheckMap(m_fd, 999, iova, 2 * mock_page, reinterpret_cast<void*>(~uint64_t{0} - mock_page + 1)));
    // The id: absent, not a paging HWPT.
    EXPECT_EQ(ENOENT, CheckMap(m_fd, 999, iova, page, buf));
    EXPECT_EQ(ENOENT, CheckMap(m_fd, m_ioas_id, iova, page, buf));
    EXPECT_EQ(ENOENT, CheckMap(m_fd, idev, iova, page, buf));
    // Mismatches: another user address, an IOVA past the mapping.
    EXPECT_EQ(EINVAL, CheckMap(m_fd, hwpt, iova, page, buf + page));
    EXPECT_EQ(EINVAL, CheckMap(m_fd, hwpt, iova + page, 2 * page, buf + page));
    // An unmapped user page: EINVAL when a mismatch comes first, EFAULT when reached.
    ASSERT_EQ(0, munmap(buf + 3 * page, page));
    EXPECT_EQ(EFAULT, CheckMap(m_fd, hwpt, MOCK_APERTURE_START + 0x100000, page, buf + 3 * page));
    EXPECT_EQ(EINVAL, CheckMap(m_fd, hwpt, iova, 4 * page, buf)) << "the third page is unmapped in the domain";
    // After the unmap the domain maps nothing there.
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, iova, 2 * page));
    EXPECT_EQ(EINVAL, CheckMap(m_fd, hwpt, iova, page, buf));
    munmap(buf, 3 * page);
}

// DEV_CHECK_CACHE (kernel iommufd_test_dev_check_cache): a device id (ENOENT otherwise) whose four
// slots start at 0xbaddad; another value or a slot beyond 3 is EINVAL.
TEST_F(SelftestOps, DevCheckCacheStartsAtTheDefault) {
    uint32_t stdev = 0;
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    TestCmdMockDomain(m_fd, m_ioas_id, &stdev, &hwpt, &idev);
    for (uint32_t slot = 0; slot < 4; ++slot) {
        EXPECT_EQ(0, DevCheckCache(m_fd, idev, slot, 0xbaddad)) << slot;
        EXPECT_EQ(EINVAL, DevCheckCache(m_fd, idev, slot, 0)) << slot;
    }
    EXPECT_EQ(EINVAL, DevCheckCache(m_fd, idev, 4, 0xbaddad));
    EXPECT_EQ(EINVAL, DevCheckCache(m_fd, idev, ~0u, 0xbaddad));
    EXPECT_EQ(ENOENT, DevCheckCache(m_fd, 999, 0, 0xbaddad));
    EXPECT_EQ(ENOENT, DevCheckCache(m_fd, stdev, 0, 0xbaddad)) << "the selftest object is no device";
    EXPECT_EQ(ENOENT, DevCheckCache(m_fd, hwpt, 0, 0xbaddad));
    EXPECT_EQ(ENOENT, DevCheckCache(m_fd, m_ioas_id, 0, 0xbaddad));
    uint32_t flagged_idev = 0;
    ASSERT_EQ(0, MockDomainFlags(m_fd, m_ioas_id, MOCK_FLAGS_DEVICE_NO_DIRTY, nullptr, nullptr, &flagged_idev));
    EXPECT_EQ(0, DevCheckCache(m_fd, flagged_idev, 3, 0xbaddad));
}

// SET_TEMP_MEMORY_LIMIT (kernel selftest.c): a limit below one batch element, sizeof(unsigned long)
// + sizeof(u32) = 12 bytes, is EINVAL; 12 and anything above are taken.
TEST_F(SelftestOps, TempMemoryLimitBelowOneBatchElementIsEinval) {
    for (uint32_t limit : {0u, 1u, 11u}) {
        EXPECT_EQ(EINVAL, SetTempMemoryLimit(m_fd, limit)) << limit;
    }
    for (uint32_t limit : {12u, 16u, 65536u, ~0u}) {
        EXPECT_EQ(0, SetTempMemoryLimit(m_fd, limit)) << limit;
    }
}

}  // namespace
}  // namespace iommusim::test
