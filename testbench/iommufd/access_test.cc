// Accesses (kernel selftest.c access ops, device.c iommufd_access_*): pins seen by MD_CHECK_REFS,
// the unmap notification, reads through the IOAS and the errno of each op, against the C API.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cstring>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;

int TestCmd(int fd, iommu_test_cmd& cmd) {
    cmd.size = sizeof(cmd);
    return Ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

int Refs(int fd, void* at, uint64_t length, uint32_t refs) {
    iommu_test_cmd cmd{};
    cmd.op = IOMMU_TEST_OP_MD_CHECK_REFS;
    cmd.check_refs.uptr = reinterpret_cast<uint64_t>(at);
    cmd.check_refs.length = length;
    cmd.check_refs.refs = refs;
    return TestCmd(fd, cmd);
}

TEST(IommufdAccess, PinsUnmapNotificationAndErrnos) {
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    auto* buf =
        static_cast<uint8_t*>(mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(buf));
    uint32_t ioas = 0;
    TestCmdIoasAlloc(fd, &ioas);
    uint64_t iova = MOCK_APERTURE_START;
    const uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA;
    ASSERT_EQ(0, IoasMap(fd, ioas, buf, 4 * page, &iova, rw));

    iommu_test_cmd create{};
    create.op = IOMMU_TEST_OP_CREATE_ACCESS;
    create.id = ioas;
    create.create_access.flags = 2;
    EXPECT_EQ(EOPNOTSUPP, TestCmd(fd, create));
    create.id = 999;
    create.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
    EXPECT_EQ(ENOENT, TestCmd(fd, create));
    create.id = ioas;
    ASSERT_EQ(0, TestCmd(fd, create));
    const uint32_t access_fd = create.create_access.out_access_fd;
    EXPECT_EQ(EBUSY, Destroy(fd, ioas)) << "the access holds the IOAS";
    EXPECT_EQ(EBUSY, Destroy(fd, ioas + 1)) << "the access object's id: its driver holds it";

    iommu_test_cmd pin{};
    pin.op = IOMMU_TEST_OP_ACCESS_PAGES;
    pin.id = access_fd;
    pin.access_pages.iova = MOCK_APERTURE_START + page;
    pin.access_pages.length = 2 * page;
    pin.access_pages.uptr = reinterpret_cast<uint64_t>(buf + page);
    ASSERT_EQ(0, TestCmd(fd, pin));
    EXPECT_EQ(0, Refs(fd, buf + page, 2 * page, 1));
    EXPECT_EQ(0, Refs(fd, buf, page, 0));
    ASSERT_EQ(0, TestCmd(fd, pin));
    EXPECT_EQ(0, Refs(fd, buf + page, 2 * page, 1)) << "one pages object pins a page once";
    pin.access_pages.uptr = reinterpret_cast<uint64_t>(buf);
    EXPECT_EQ(EBADE, TestCmd(fd, pin)) << "uptr is not the memory under the IOVA";
    pin.access_pages.uptr = 0;
    pin.access_pages.iova = MOCK_APERTURE_START + 4 * page;
    EXPECT_EQ(ENOENT, TestCmd(fd, pin));
    pin.access_pages.iova = MOCK_APERTURE_START + 100;
    EXPECT_EQ(EINVAL, TestCmd(fd, pin)) << "not page aligned";
    pin.access_pages.length = 17 * 1024 * 1024;
    EXPECT_EQ(ENOMEM, TestCmd(fd, pin));
    pin.id = static_cast<uint32_t>(fd);
    pin.access_pages.length = page;
    EXPECT_EQ(EBADFD, TestCmd(fd, pin));

    // Read through the IOAS, across a page boundary.
    for (unsigned i = 0; i < 4 * page; ++i) {
        buf[i] = static_cast<uint8_t>(i * 7 + 3);
    }
    uint8_t out[64] = {};
    iommu_test_cmd rd{};
    rd.op = IOMMU_TEST_OP_ACCESS_RW;
    rd.id = access_fd;
    rd.access_rw.iova = MOCK_APERTURE_START + page - 10;
    rd.access_rw.length = sizeof(out);
    rd.access_rw.uptr = reinterpret_cast<uint64_t>(out);
    ASSERT_EQ(0, TestCmd(fd, rd));
    EXPECT_EQ(0, std::memcmp(out, buf + page - 10, sizeof(out)));

    // The unmap notification: the mock drops its items, the unmap succeeds, nothing stays pinned.
    uint64_t unmapped = 0;
    ASSERT_EQ(0, IoasUnmap(fd, ioas, MOCK_APERTURE_START, 4 * page, &unmapped));
    EXPECT_EQ(4 * page, unmapped);
    EXPECT_EQ(0, Refs(fd, buf, 4 * page, 0));
    iommu_test_cmd drop{};
    drop.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
    drop.id = access_fd;
    drop.destroy_access_pages.access_pages_id = 0;
    EXPECT_EQ(ENOENT, TestCmd(fd, drop));

    EXPECT_EQ(0, iommusim_close(static_cast<int>(access_fd)));
    EXPECT_EQ(EBADFD, TestCmd(fd, drop)) << "closing the access file destroyed the access";
    EXPECT_EQ(0, Destroy(fd, ioas));
    EXPECT_EQ(0, iommusim_close(fd));
    munmap(buf, 4 * page);
}

}  // namespace
}  // namespace iommusim::test
