// Accesses (kernel selftest.c access ops, device.c iommufd_access_*): pins seen by MD_CHECK_REFS,
// the unmap notification, reads and writes through the IOAS and the errno of each op (ACCESS_RW's
// in the kernel's order), ACCESS_REPLACE_IOAS moving the pins, IOAS_COPY sharing an access's pins,
// lazily pinned user memory failing at access time, and fault injection on CREATE_ACCESS.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cstring>
#include <limits>

#include "iommufd/fail_nth.h"
#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t ulong_max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t rw_fixed = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA;

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

int CreateAccess(int fd, uint32_t ioas, uint32_t flags, int* access_fd) {
    iommu_test_cmd cmd{};
    cmd.op = IOMMU_TEST_OP_CREATE_ACCESS;
    cmd.id = ioas;
    cmd.create_access.flags = flags;
    const int err = TestCmd(fd, cmd);
    *access_fd = err == 0 ? static_cast<int>(cmd.create_access.out_access_fd) : -1;
    return err;
}

int AccessPages(int fd, int access_fd, uint64_t iova, uint64_t length, void* uptr, uint32_t* id = nullptr,
                uint32_t flags = 0) {
    iommu_test_cmd cmd{};
    cmd.op = IOMMU_TEST_OP_ACCESS_PAGES;
    cmd.id = static_cast<uint32_t>(access_fd);
    cmd.access_pages.flags = flags;
    cmd.access_pages.iova = iova;
    cmd.access_pages.length = length;
    cmd.access_pages.uptr = reinterpret_cast<uint64_t>(uptr);
    const int err = TestCmd(fd, cmd);
    if (id != nullptr) {
        *id = cmd.access_pages.out_access_pages_id;
    }
    return err;
}

int DestroyAccessPages(int fd, int access_fd, uint32_t id) {
    iommu_test_cmd cmd{};
    cmd.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
    cmd.id = static_cast<uint32_t>(access_fd);
    cmd.destroy_access_pages.access_pages_id = id;
    return TestCmd(fd, cmd);
}

int AccessRw(int fd, uint32_t access_fd, uint64_t iova, void* uptr, uint64_t length, uint32_t flags) {
    iommu_test_cmd cmd{};
    cmd.op = IOMMU_TEST_OP_ACCESS_RW;
    cmd.id = access_fd;
    cmd.access_rw.iova = iova;
    cmd.access_rw.uptr = reinterpret_cast<uint64_t>(uptr);
    cmd.access_rw.length = length;
    cmd.access_rw.flags = flags;
    return TestCmd(fd, cmd);
}

int ReplaceIoas(int fd, int access_fd, uint32_t ioas) {
    iommu_test_cmd cmd{};
    cmd.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS;
    cmd.id = static_cast<uint32_t>(access_fd);
    cmd.access_replace_ioas.ioas_id = ioas;
    return TestCmd(fd, cmd);
}

// A context and a page-aligned buffer of `pages` pages, both released at the end.
class AccessTest : public ::testing::Test {
  protected:
    static constexpr uint64_t pages = 4;
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        void* p = mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, p);
        m_buf = static_cast<uint8_t*>(p);
        for (uint64_t i = 0; i < pages * page; ++i) {
            m_buf[i] = static_cast<uint8_t>(i * 13 + 1);
        }
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_fd));
        munmap(m_buf, pages * page);
    }
    int map(uint32_t ioas, void* at, uint64_t length, uint64_t iova, uint32_t flags = rw_fixed) {
        return IoasMap(m_fd, ioas, at, length, &iova, flags);
    }

    int m_fd = -1;
    uint8_t* m_buf = nullptr;
};

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

// Kernel iommufd_test_access_rw then iommufd_access_rw: the length bound, the flags, the access
// file, a zero or wrapping range, then per area the protection, and a range not fully mapped.
TEST_F(AccessTest, AccessRwErrnosInTheKernelsOrder) {
    uint32_t ioas = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    ASSERT_EQ(0, map(ioas, m_buf, 2 * page, 0x10000));
    ASSERT_EQ(0, map(ioas, m_buf + 2 * page, page, 0x20000, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
    ASSERT_EQ(0, map(ioas, m_buf + 3 * page, page, 0x30000, IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
    int afd = -1;
    ASSERT_EQ(0, CreateAccess(m_fd, ioas, 0, &afd));
    const auto access = static_cast<uint32_t>(afd);
    uint8_t data[64] = {};
    const uint32_t unknown = 1u << 1;
    EXPECT_EQ(ENOMEM, AccessRw(m_fd, 999, 0x10000, data, 16 * 1024 * 1024 + 1, unknown));
    EXPECT_EQ(EOPNOTSUPP, AccessRw(m_fd, 999, 0x10000, data, sizeof(data), unknown));
    EXPECT_EQ(EBADFD, AccessRw(m_fd, static_cast<uint32_t>(m_fd), 0x10000, data, sizeof(data), 0))
        << "the iommufd is not an access file";
    EXPECT_EQ(EBADFD, AccessRw(m_fd, 999, 0x10000, data, 0, 0));
    EXPECT_EQ(EINVAL, AccessRw(m_fd, access, 0x10000, data, 0, 0));
    EXPECT_EQ(EOVERFLOW, AccessRw(m_fd, access, ulong_max - 1, data, 4, 0));
    EXPECT_EQ(ENOENT, AccessRw(m_fd, access, 0x5000, data, sizeof(data), 0)) << "nothing mapped";
    EXPECT_EQ(ENOENT, AccessRw(m_fd, access, 0x12000 - 8, data, 16, 0)) << "runs past the area";
    EXPECT_EQ(EPERM, AccessRw(m_fd, access, 0x20000, data, sizeof(data), MOCK_ACCESS_RW_WRITE)) << "read-only";
    EXPECT_EQ(EPERM, AccessRw(m_fd, access, 0x30000, data, sizeof(data), 0)) << "write-only";
    // Unreadable source for a write, unwritable destination for a read.
    void* guard = mmap(nullptr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, guard);
    EXPECT_EQ(EFAULT, AccessRw(m_fd, access, 0x10000, guard, sizeof(data), 0));
    ASSERT_EQ(0, mprotect(guard, page, PROT_NONE));
    EXPECT_EQ(EFAULT, AccessRw(m_fd, access, 0x10000, guard, sizeof(data), MOCK_ACCESS_RW_WRITE));
    munmap(guard, page);
    // What is allowed works both ways, fast and slow path, across the page boundary.
    for (uint32_t slow : {0u, uint32_t{MOCK_ACCESS_RW_SLOW_PATH}}) {
        EXPECT_EQ(0, AccessRw(m_fd, access, 0x11000 - 20, data, sizeof(data), slow));
        EXPECT_EQ(0, std::memcmp(data, m_buf + page - 20, sizeof(data)));
        EXPECT_EQ(0, AccessRw(m_fd, access, 0x20000, data, sizeof(data), slow));
        EXPECT_EQ(0, std::memcmp(data, m_buf + 2 * page, sizeof(data)));
        std::memset(data, 0x3c + static_cast<int>(slow), sizeof(data));
        EXPECT_EQ(0, AccessRw(m_fd, access, 0x30000 + 8, data, sizeof(data), MOCK_ACCESS_RW_WRITE | slow));
        EXPECT_EQ(0, std::memcmp(data, m_buf + 3 * page + 8, sizeof(data)));
    }
    EXPECT_EQ(0, iommusim_close(afd));
}

// The kernel pins lazily: a map of memory that cannot be pinned succeeds with no domain, and
// the failure comes when an access pins it or copies through it.
TEST_F(AccessTest, UnpinnableUserMemoryFailsWhenAnAccessTouchesIt) {
    void* hole = mmap(nullptr, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, hole);
    uint32_t ioas = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    ASSERT_EQ(0, map(ioas, hole, 2 * page, 0x10000));
    int afd = -1;
    ASSERT_EQ(0, CreateAccess(m_fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &afd));
    EXPECT_EQ(EFAULT, AccessPages(m_fd, afd, 0x10000, page, nullptr));
    uint8_t data[16] = {};
    EXPECT_EQ(EFAULT, AccessRw(m_fd, static_cast<uint32_t>(afd), 0x10000, data, sizeof(data), 0));
    // Once the memory is there the same area pins.
    ASSERT_EQ(0, mprotect(hole, 2 * page, PROT_READ | PROT_WRITE));
    EXPECT_EQ(0, AccessPages(m_fd, afd, 0x10000, 2 * page, hole));
    EXPECT_EQ(0, Refs(m_fd, hole, 2 * page, 1));
    EXPECT_EQ(0, iommusim_close(afd));
    EXPECT_EQ(0, Refs(m_fd, hole, 2 * page, 0));
    munmap(hole, 2 * page);
}

// Kernel iommufd_access_replace / iommufd_access_change_ioas: the new IOAS must exist and fit the
// access's PAGE_SIZE alignment (the access stays where it was otherwise); moving runs the unmap
// notification over the old IOAS, which unpins everything and frees it for destruction.
TEST_F(AccessTest, ReplaceIoasMovesThePinsAndReleasesTheOldIoas) {
    uint32_t a = 0;
    uint32_t b = 0;
    uint32_t misaligned = 0;
    TestCmdIoasAlloc(m_fd, &a);
    TestCmdIoasAlloc(m_fd, &b);
    TestCmdIoasAlloc(m_fd, &misaligned);
    ASSERT_EQ(0, map(a, m_buf, pages * page, 0x10000));
    ASSERT_EQ(0, map(b, m_buf, pages * page, 0x40000));
    ASSERT_EQ(0, map(misaligned, m_buf, page, 0x10800));
    int afd = -1;
    ASSERT_EQ(0, CreateAccess(m_fd, a, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &afd));
    uint32_t item = 0;
    ASSERT_EQ(0, AccessPages(m_fd, afd, 0x10000, 2 * page, m_buf, &item));
    EXPECT_EQ(0, Refs(m_fd, m_buf, 2 * page, 1));

    EXPECT_EQ(ENOENT, ReplaceIoas(m_fd, afd, 999));
    EXPECT_EQ(ENOENT, ReplaceIoas(m_fd, afd, static_cast<uint32_t>(a + 3))) << "the access object is no IOAS";
    EXPECT_EQ(EADDRINUSE, ReplaceIoas(m_fd, afd, misaligned));
    EXPECT_EQ(0, Refs(m_fd, m_buf, 2 * page, 1)) << "a refused replace keeps the pins";
    EXPECT_EQ(0, ReplaceIoas(m_fd, afd, a)) << "the same IOAS: nothing moves";
    EXPECT_EQ(0, Refs(m_fd, m_buf, 2 * page, 1));
    EXPECT_EQ(EBUSY, Destroy(m_fd, a));

    ASSERT_EQ(0, ReplaceIoas(m_fd, afd, b));
    EXPECT_EQ(0, Refs(m_fd, m_buf, pages * page, 0));
    EXPECT_EQ(ENOENT, DestroyAccessPages(m_fd, afd, item)) << "the notification dropped the old pins";
    EXPECT_EQ(0, Destroy(m_fd, a)) << "the access no longer holds the old IOAS";
    EXPECT_EQ(EBUSY, Destroy(m_fd, b));
    EXPECT_EQ(ENOENT, AccessPages(m_fd, afd, 0x10000, page, nullptr)) << "old IOVAs are gone";
    ASSERT_EQ(0, AccessPages(m_fd, afd, 0x41000, 2 * page, m_buf + page, &item));
    EXPECT_EQ(0, Refs(m_fd, m_buf + page, 2 * page, 1));
    uint8_t data[32] = {};
    ASSERT_EQ(0, AccessRw(m_fd, static_cast<uint32_t>(afd), 0x43000, data, sizeof(data), 0));
    EXPECT_EQ(0, std::memcmp(data, m_buf + 3 * page, sizeof(data)));
    EXPECT_EQ(0, iommusim_close(afd));
    EXPECT_EQ(0, Refs(m_fd, m_buf, pages * page, 0));
    EXPECT_EQ(0, Destroy(m_fd, b));
}

// An IOAS_COPY shares the source's pages (kernel iopt_get_pages): a page an access pinned through
// the source and a domain of the destination maps is pinned once; a separate IOAS_MAP of the same
// memory is a second pages object and pins again.
TEST_F(AccessTest, CopyOfAnAccessPinnedAreaSharesItsPins) {
    uint32_t src = 0;
    uint32_t dst = 0;
    TestCmdIoasAlloc(m_fd, &src);
    TestCmdIoasAlloc(m_fd, &dst);
    ASSERT_EQ(0, map(src, m_buf, pages * page, 0x10000));
    int afd = -1;
    ASSERT_EQ(0, CreateAccess(m_fd, src, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &afd));
    ASSERT_EQ(0, AccessPages(m_fd, afd, 0x10000, 2 * page, m_buf));
    iommu_ioas_copy copy{};
    copy.size = sizeof(copy);
    copy.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA;
    copy.dst_ioas_id = dst;
    copy.src_ioas_id = src;
    copy.length = pages * page;
    copy.dst_iova = MOCK_APERTURE_START;
    copy.src_iova = 0x10000;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_COPY, &copy));
    EXPECT_EQ(0, Refs(m_fd, m_buf, 2 * page, 1));
    EXPECT_EQ(0, Refs(m_fd, m_buf + 2 * page, 2 * page, 0)) << "no domain pins the copy yet";
    TestCmdMockDomain(m_fd, dst, nullptr, nullptr, nullptr);
    EXPECT_EQ(0, Refs(m_fd, m_buf, pages * page, 1)) << "the access's pins and the domain's are one";
    ASSERT_EQ(0, map(dst, m_buf, pages * page, MOCK_APERTURE_START + 0x100000));
    EXPECT_EQ(0, Refs(m_fd, m_buf, pages * page, 2));
    // Unmapping the source notifies the access; the destination's copy keeps its pages pinned.
    uint64_t unmapped = 0;
    ASSERT_EQ(0, IoasUnmap(m_fd, src, 0, ulong_max, &unmapped));
    EXPECT_EQ(pages * page, unmapped);
    EXPECT_EQ(0, Refs(m_fd, m_buf, pages * page, 2));
    ASSERT_EQ(0, IoasUnmap(m_fd, dst, MOCK_APERTURE_START, pages * page));
    EXPECT_EQ(0, Refs(m_fd, m_buf, pages * page, 1));
    EXPECT_EQ(0, iommusim_close(afd));
    ASSERT_EQ(0, IoasUnmap(m_fd, dst, 0, ulong_max));
    EXPECT_EQ(0, Refs(m_fd, m_buf, pages * page, 0));
}

// Fault injection (the kernel's fail-nth, iommufd_fail_nth.c): CREATE_ACCESS with each of its
// allocations failing answers ENOMEM and leaves no object, no descriptor and no hold on the IOAS.
TEST_F(AccessTest, CreateAccessUnwindsAtEveryInjectedFailure) {
    uint32_t ioas = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    const int free_fd = iommusim_open("/dev/iommu", O_RDWR);  // the lowest free descriptor
    ASSERT_GE(free_fd, 0);
    ASSERT_EQ(0, iommusim_close(free_fd));
    int afd = -1;
    unsigned nth = 1;
    for (; nth <= 16; ++nth) {
        iommufd::set_task_fail_nth(nth);
        const int err = CreateAccess(m_fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &afd);
        const bool fired = iommufd::task_fail_nth() == 0;
        iommufd::set_task_fail_nth(0);
        if (!fired) {
            ASSERT_EQ(0, err) << "nth " << nth;
            break;
        }
        ASSERT_EQ(ENOMEM, err) << "nth " << nth;
        EXPECT_EQ(ENOENT, Destroy(m_fd, ioas + 1)) << "nth " << nth << ": an access object was left";
        const int probe = iommusim_open("/dev/iommu", O_RDWR);
        EXPECT_EQ(free_fd, probe) << "nth " << nth << ": a descriptor was left reserved";
        ASSERT_EQ(0, iommusim_close(probe));
    }
    ASSERT_GT(nth, 1u) << "CREATE_ACCESS has no fault-injection point";
    ASSERT_LE(nth, 16u);
    EXPECT_EQ(free_fd, afd);
    EXPECT_EQ(EBUSY, Destroy(m_fd, ioas));
    EXPECT_EQ(0, iommusim_close(afd));
    EXPECT_EQ(0, Destroy(m_fd, ioas));
}

}  // namespace
}  // namespace iommusim::test
