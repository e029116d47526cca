// Generic ioctl rules (spec §1.2-§1.6) and every errno path of HWPT_ALLOC, HWPT_INVALIDATE, DESTROY,
// GET_HW_INFO and the IOAS calls, against the C API with selftest mock devices. Includes the
// kernel selftest's cmd_length and cmd_fail, extensible-struct rules on every ioctl, and EFAULT
// on unreadable and unwritable user memory.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

#define OFFSETOFEND(type, field) (offsetof(type, field) + sizeof(type::field))

// Two pages: the first read-write, the second with `second_prot`. Lets a test place a struct or
// array right before an inaccessible or read-only page.
class guard_pages {
  public:
    explicit guard_pages(int second_prot) {
        m_page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        void* p = mmap(nullptr, 2 * m_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            throw std::bad_alloc();
        }
        m_base = static_cast<char*>(p);
        mprotect(m_base + m_page, m_page, second_prot);
    }
    ~guard_pages() { munmap(m_base, 2 * m_page); }
    guard_pages(const guard_pages&) = delete;
    guard_pages& operator=(const guard_pages&) = delete;

    char* first() const { return m_base; }
    char* second() const { return m_base + m_page; }
    // Makes the second page read-only after it has been filled.
    void seal_second() { mprotect(second(), m_page, PROT_READ); }

  private:
    std::size_t m_page = 0;
    char* m_base = nullptr;
};

class Iommufd : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
    }
    void TearDown() override { EXPECT_EQ(0, iommusim_close(m_fd)); }
    int m_fd = -1;
};

// A context with an IOAS, one mock device on it, a nest parent and one nested HWPT.
class IommufdNested : public Iommufd {
  protected:
    void SetUp() override {
        Iommufd::SetUp();
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
        TestCmdMockDomain(m_fd, m_ioas_id, &m_stdev_id, &m_auto_hwpt_id, &m_device_id);
        TestCmdHwptAlloc(m_fd, m_device_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT, &m_parent_id);
        iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
        TestCmdHwptAllocNested(m_fd, m_device_id, m_parent_id, 0, &m_nested_id, IOMMU_HWPT_DATA_SELFTEST, &data,
                               sizeof(data));
    }
    uint32_t m_ioas_id = 0;
    uint32_t m_stdev_id = 0;
    uint32_t m_auto_hwpt_id = 0;
    uint32_t m_device_id = 0;
    uint32_t m_parent_id = 0;
    uint32_t m_nested_id = 0;
};

// The kernel's TEST_LENGTH: min_size - 1 is EINVAL, sizeof + 1 with a non-zero extra byte is
// E2BIG, and sizeof + 1 with a zero extra byte behaves exactly like sizeof.
template <typename T>
void TestLength(int fd, unsigned long ioctl_num, std::size_t min_size) {
    SCOPED_TRACE(testing::Message() << "ioctl 0x" << std::hex << ioctl_num);
    struct {
        T cmd;
        uint8_t extra;
    } __attribute__((packed)) cmd{};
    std::memset(&cmd, 0, sizeof(cmd));
    cmd.cmd.size = static_cast<uint32_t>(min_size - 1);
    cmd.extra = 0xff;
    EXPECT_EQ(EINVAL, Ioctl(fd, ioctl_num, &cmd));
    cmd.cmd.size = sizeof(T) + 1;
    EXPECT_EQ(E2BIG, Ioctl(fd, ioctl_num, &cmd));
    cmd.cmd.size = sizeof(T);
    int old_err = Ioctl(fd, ioctl_num, &cmd);
    std::memset(&cmd, 0, sizeof(cmd));
    cmd.cmd.size = sizeof(T) + 1;
    EXPECT_EQ(old_err, Ioctl(fd, ioctl_num, &cmd));
}

TEST_F(Iommufd, CmdLength) {
    TestLength<iommu_destroy>(m_fd, IOMMU_DESTROY, OFFSETOFEND(iommu_destroy, id));
    TestLength<iommu_hw_info>(m_fd, IOMMU_GET_HW_INFO, OFFSETOFEND(iommu_hw_info, __reserved));
    TestLength<iommu_hwpt_alloc>(m_fd, IOMMU_HWPT_ALLOC, OFFSETOFEND(iommu_hwpt_alloc, __reserved));
    TestLength<iommu_hwpt_invalidate>(m_fd, IOMMU_HWPT_INVALIDATE, OFFSETOFEND(iommu_hwpt_invalidate, __reserved));
    TestLength<iommu_ioas_alloc>(m_fd, IOMMU_IOAS_ALLOC, OFFSETOFEND(iommu_ioas_alloc, out_ioas_id));
    TestLength<iommu_ioas_iova_ranges>(m_fd, IOMMU_IOAS_IOVA_RANGES,
                                       OFFSETOFEND(iommu_ioas_iova_ranges, out_iova_alignment));
    TestLength<iommu_ioas_map>(m_fd, IOMMU_IOAS_MAP, OFFSETOFEND(iommu_ioas_map, iova));
    TestLength<iommu_ioas_unmap>(m_fd, IOMMU_IOAS_UNMAP, OFFSETOFEND(iommu_ioas_unmap, length));
    TestLength<iommu_ioas_allow_iovas>(m_fd, IOMMU_IOAS_ALLOW_IOVAS,
                                       OFFSETOFEND(iommu_ioas_allow_iovas, allowed_iovas));
    TestLength<iommu_ioas_copy>(m_fd, IOMMU_IOAS_COPY, OFFSETOFEND(iommu_ioas_copy, src_iova));
    TestLength<iommu_option>(m_fd, IOMMU_OPTION, OFFSETOFEND(iommu_option, val64));
    TestLength<iommu_test_cmd>(m_fd, IOMMU_TEST_CMD, OFFSETOFEND(iommu_test_cmd, last));
}

TEST_F(IommufdNested, OlderStructSizeWritesBackOnlyItsBytes) {
    // A 6.8-era caller passes the 40-byte HWPT_ALLOC; the response must not touch byte 40 onwards,
    // here an unmapped page.
    guard_pages pages(PROT_NONE);
    const std::size_t old_size = offsetof(iommu_hwpt_alloc, fault_id);
    auto* cmd = reinterpret_cast<iommu_hwpt_alloc*>(pages.second() - old_size);
    std::memset(cmd, 0, old_size);
    cmd->size = old_size;
    cmd->dev_id = m_device_id;
    cmd->pt_id = m_ioas_id;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_HWPT_ALLOC, cmd));
    EXPECT_EQ(m_nested_id + 1, cmd->out_hwpt_id);
    // Same for HWPT_INVALIDATE at exactly its size, and IOAS_ALLOC.
    auto* inv = reinterpret_cast<iommu_hwpt_invalidate*>(pages.second() - sizeof(iommu_hwpt_invalidate));
    *inv = iommu_hwpt_invalidate{};
    inv->size = sizeof(*inv);
    inv->hwpt_id = m_nested_id;
    inv->data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, inv));
    auto* ioas = reinterpret_cast<iommu_ioas_alloc*>(pages.second() - sizeof(iommu_ioas_alloc));
    *ioas = iommu_ioas_alloc{};
    ioas->size = sizeof(*ioas);
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_ALLOC, ioas));
    EXPECT_EQ(m_nested_id + 2, ioas->out_ioas_id);
}

TEST_F(Iommufd, CmdLengthValues) {
    // The errno of the all-zero struct, per spec §6.2.
    iommu_hwpt_invalidate inv{};
    inv.size = sizeof(inv);
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, &inv));
    iommu_hwpt_alloc alloc{};
    alloc.size = sizeof(alloc);
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_HWPT_ALLOC, &alloc));
    iommu_hw_info info{};
    info.size = sizeof(info);
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_GET_HW_INFO, &info));
    // HWPT_ALLOC of the 6.8 size (40 bytes, no fault_id) is still accepted.
    alloc.size = offsetof(iommu_hwpt_alloc, fault_id);
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_HWPT_ALLOC, &alloc));
}

TEST_F(Iommufd, CmdFail) {
    struct {
        iommu_destroy cmd;
        uint64_t ext;
    } cmd{};
    // 0 is never a valid id.
    EXPECT_EQ(ENOENT, Destroy(m_fd, 0));
    // Bad pointer.
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_DESTROY, nullptr));
    // Unknown ioctl.
    EXPECT_EQ(ENOTTY, Ioctl(m_fd, IOMMUSIM_IO(';', IOMMUFD_CMD_BASE - 1), &cmd));
    cmd.cmd.size = sizeof(cmd);
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_DESTROY, &cmd));
    cmd.ext = 1;
    EXPECT_EQ(E2BIG, Ioctl(m_fd, IOMMU_DESTROY, &cmd));
    cmd.ext = 0;
    cmd.cmd.size = 8;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_DESTROY, &cmd));
    cmd.cmd.size = 7;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_DESTROY, &cmd));
}

TEST_F(Iommufd, UnsupportedCommandsAreEnotty) {
    iommu_destroy cmd{};
    cmd.size = sizeof(cmd);
    // Known numbers the model does not implement.
    for (unsigned nr : {IOMMUFD_CMD_HW_QUEUE_ALLOC}) {
        EXPECT_EQ(ENOTTY, Ioctl(m_fd, IOMMUSIM_IO(';', nr), &cmd)) << nr;
    }
    // Past the table, and a different type byte for a known number.
    EXPECT_EQ(ENOTTY, Ioctl(m_fd, IOMMUSIM_IO(';', 0xA1), &cmd));
    EXPECT_EQ(ENOTTY, Ioctl(m_fd, IOMMUSIM_IO('x', IOMMUFD_CMD_DESTROY), &cmd));
    // A real _IOW-style encoding of a known number is a different ioctl value.
    EXPECT_EQ(ENOTTY, Ioctl(m_fd, IOMMU_DESTROY | (8ul << 16) | (1ul << 30), &cmd));
    // VFIO device ioctls are not iommufd ioctls.
    EXPECT_EQ(ENOTTY, Ioctl(m_fd, VFIO_DEVICE_BIND_IOMMUFD, &cmd));
    // Unknown descriptor.
    errno = 0;
    EXPECT_EQ(-1, iommusim_ioctl(123456, IOMMU_DESTROY, &cmd));
    EXPECT_EQ(EBADF, errno);
}

TEST_F(Iommufd, IdsStartAtOneAndReuseLowestFree) {
    uint32_t a = 0;
    uint32_t b = 0;
    uint32_t c = 0;
    TestCmdIoasAlloc(m_fd, &a);
    TestCmdIoasAlloc(m_fd, &b);
    TestCmdIoasAlloc(m_fd, &c);
    EXPECT_EQ(1u, a);
    EXPECT_EQ(2u, b);
    EXPECT_EQ(3u, c);
    TestCmdDestroy(m_fd, b);
    TestErrDestroy(ENOENT, m_fd, b);
    uint32_t d = 0;
    TestCmdIoasAlloc(m_fd, &d);
    EXPECT_EQ(b, d);
    // Contexts are independent.
    int fd2 = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd2, 0);
    TestErrDestroy(ENOENT, fd2, a);
    uint32_t e = 0;
    TestCmdIoasAlloc(fd2, &e);
    EXPECT_EQ(1u, e);
    EXPECT_EQ(0, iommusim_close(fd2));
}

TEST_F(Iommufd, IoasAllocFlagsAndFailedCopyOut) {
    iommu_ioas_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_ALLOC, &cmd));
    // The struct is readable but not writable: the object is created, the copy-out fails, and the
    // object is aborted (its id is free again).
    guard_pages pages(PROT_READ | PROT_WRITE);
    auto* ro = reinterpret_cast<iommu_ioas_alloc*>(pages.second());
    *ro = iommu_ioas_alloc{};
    ro->size = sizeof(*ro);
    pages.seal_second();
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_IOAS_ALLOC, ro));
    uint32_t id = 0;
    TestCmdIoasAlloc(m_fd, &id);
    EXPECT_EQ(1u, id);
}

TEST_F(Iommufd, StructCrossingIntoUnmappedPageIsEfault) {
    guard_pages pages(PROT_NONE);
    // size is readable, the rest of the struct is not.
    auto* p = reinterpret_cast<uint32_t*>(pages.second() - sizeof(uint32_t));
    *p = sizeof(iommu_destroy);
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_DESTROY, p));
    // Larger than ours: the tail check reads the unmapped page.
    auto* q = reinterpret_cast<iommu_destroy*>(pages.second() - sizeof(iommu_destroy));
    q->size = sizeof(iommu_destroy) + 8;
    q->id = 0;
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_DESTROY, q));
    // Entirely unmapped.
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_DESTROY, pages.second()));
}

TEST_F(IommufdNested, DestroyErrnos) {
    TestErrDestroy(ENOENT, m_fd, 0);
    TestErrDestroy(ENOENT, m_fd, 0x7fffffff);
    TestErrDestroy(ENOENT, m_fd, 0xffffffff);
    // IOAS backs HWPTs, the parent has a nested child, the device belongs to its selftest object,
    // the automatic HWPT has the device attached.
    TestErrDestroy(EBUSY, m_fd, m_ioas_id);
    TestErrDestroy(EBUSY, m_fd, m_parent_id);
    TestErrDestroy(EBUSY, m_fd, m_device_id);
    TestErrDestroy(EBUSY, m_fd, m_auto_hwpt_id);
    // Unwinding in dependency order works.
    TestCmdDestroy(m_fd, m_nested_id);
    TestCmdDestroy(m_fd, m_parent_id);
    TestCmdDestroy(m_fd, m_stdev_id);
    TestErrDestroy(ENOENT, m_fd, m_device_id);
    TestErrDestroy(ENOENT, m_fd, m_auto_hwpt_id);
    TestCmdDestroy(m_fd, m_ioas_id);
}

TEST_F(IommufdNested, HwptAllocErrnos) {
    uint32_t out = 0;
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    // __reserved first, before anything is looked up.
    iommu_hwpt_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.dev_id = 0;
    cmd.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_HWPT_ALLOC, &cmd));
    // data_type/data_len consistency, before the device lookup.
    EXPECT_EQ(EINVAL, HwptAlloc(m_fd, 0, m_ioas_id, 0, &out, IOMMU_HWPT_DATA_NONE, &data, sizeof(data)));
    EXPECT_EQ(EINVAL, HwptAlloc(m_fd, 0, m_ioas_id, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &data, 0));
    // dev_id: unknown, or not a device -> ENOENT.
    EXPECT_EQ(ENOENT, HwptAlloc(m_fd, 0, m_ioas_id, 0, &out));
    EXPECT_EQ(ENOENT, HwptAlloc(m_fd, 999, m_ioas_id, 0, &out));
    EXPECT_EQ(ENOENT, HwptAlloc(m_fd, m_ioas_id, m_ioas_id, 0, &out));
    EXPECT_EQ(ENOENT, HwptAlloc(m_fd, m_stdev_id, m_ioas_id, 0, &out));
    // pt_id: unknown -> EINVAL (not ENOENT); device, selftest, nested -> EINVAL.
    EXPECT_EQ(EINVAL, HwptAlloc(m_fd, m_device_id, 0, 0, &out));
    EXPECT_EQ(EINVAL, HwptAlloc(m_fd, m_device_id, 999, 0, &out));
    EXPECT_EQ(EINVAL, HwptAlloc(m_fd, m_device_id, m_device_id, 0, &out));
    EXPECT_EQ(EINVAL, HwptAlloc(m_fd, m_device_id, m_stdev_id, 0, &out));
    EXPECT_EQ(EINVAL,
              HwptAlloc(m_fd, m_device_id, m_nested_id, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    // Paging path: unknown flags, FAULT_ID_VALID with NEST_PARENT, driver data for a paging domain.
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_device_id, m_ioas_id, 1u << 4, &out));
    EXPECT_EQ(EOPNOTSUPP,
              HwptAlloc(m_fd, m_device_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_FAULT_ID_VALID, &out));
    EXPECT_EQ(EOPNOTSUPP,
              HwptAlloc(m_fd, m_device_id, m_ioas_id, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    // A fault_id that names no fault object -> ENOENT, and nothing is left behind.
    EXPECT_EQ(ENOENT, HwptAlloc(m_fd, m_device_id, m_ioas_id, IOMMU_HWPT_FAULT_ID_VALID, &out));
    uint32_t next = 0;
    TestCmdHwptAlloc(m_fd, m_device_id, m_ioas_id, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &next);
    TestCmdDestroy(m_fd, next);
    // Nested path: flags, no data, parent kinds, data checks.
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_device_id, m_parent_id, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &out,
                                    IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_device_id, m_parent_id, 0, &out));
    EXPECT_EQ(EINVAL,
              HwptAlloc(m_fd, m_device_id, m_auto_hwpt_id, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    EXPECT_EQ(EINVAL,
              HwptAlloc(m_fd, m_device_id, m_parent_id, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data) + 4));
    EXPECT_EQ(EOPNOTSUPP,
              HwptAlloc(m_fd, m_device_id, m_parent_id, 0, &out, IOMMU_HWPT_DATA_VTD_S1, &data, sizeof(data)));
    guard_pages pages(PROT_NONE);
    EXPECT_EQ(EFAULT, HwptAlloc(m_fd, m_device_id, m_parent_id, 0, &out, IOMMU_HWPT_DATA_SELFTEST, pages.second(), 4));
}

TEST_F(IommufdNested, HwptAllocFailedCopyOutDestroysTheObject) {
    guard_pages pages(PROT_READ | PROT_WRITE);
    auto* ro = reinterpret_cast<iommu_hwpt_alloc*>(pages.second());
    *ro = iommu_hwpt_alloc{};
    ro->size = sizeof(*ro);
    ro->dev_id = m_device_id;
    ro->pt_id = m_ioas_id;
    ro->flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
    pages.seal_second();
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_HWPT_ALLOC, ro));
    // The aborted HWPT no longer holds the IOAS, and its id is the next one handed out.
    uint32_t id = 0;
    TestCmdHwptAlloc(m_fd, m_device_id, m_ioas_id, 0, &id);
    EXPECT_EQ(m_nested_id + 1, id);
}

TEST_F(IommufdNested, HwptInvalidateErrnos) {
    iommu_hwpt_invalidate_selftest req{};
    uint32_t num = 1;
    // __reserved: EOPNOTSUPP, entry_num written back as 0.
    iommu_hwpt_invalidate cmd{};
    cmd.size = sizeof(cmd);
    cmd.hwpt_id = m_nested_id;
    cmd.data_uptr = reinterpret_cast<uint64_t>(&req);
    cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    cmd.entry_len = sizeof(req);
    cmd.entry_num = 1;
    cmd.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, &cmd));
    EXPECT_EQ(0u, cmd.entry_num);
    // Array sanity comes before the lookup.
    num = 1;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, 0, nullptr, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(req), &num));
    num = 1;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, 0, &req, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, &num));
    // Lookup: unknown -> ENOENT; any non-nested object -> EINVAL.
    for (uint32_t id : {0u, 999u}) {
        num = 1;
        EXPECT_EQ(ENOENT, HwptInvalidate(m_fd, id, &req, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(req), &num));
        EXPECT_EQ(0u, num);
    }
    for (uint32_t id : {m_ioas_id, m_parent_id, m_auto_hwpt_id, m_device_id, m_stdev_id}) {
        num = 1;
        EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, id, &req, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(req), &num));
        EXPECT_EQ(0u, num);
    }
    // entry_num == 0 ignores the array but still checks the data type.
    num = 0;
    EXPECT_EQ(0, HwptInvalidate(m_fd, m_nested_id, nullptr, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, &num));
    num = 0;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, m_nested_id, nullptr, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0, &num));
    // A larger entry is rejected even when its extra bytes are zero.
    struct {
        iommu_hwpt_invalidate_selftest e;
        uint32_t pad;
    } big{};
    num = 1;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, m_nested_id, &big, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(big), &num));
    EXPECT_EQ(0u, num);
    TestCmdCheckIotlbAll(m_fd, m_nested_id, IOMMU_TEST_IOTLB_DEFAULT);
}

TEST_F(IommufdNested, HwptInvalidateEfault) {
    // The second entry sits on an unmapped page: the first is handled, entry_num = 1, EFAULT.
    guard_pages pages(PROT_NONE);
    auto* reqs = reinterpret_cast<iommu_hwpt_invalidate_selftest*>(pages.second()) - 1;
    reqs[0].flags = 0;
    reqs[0].iotlb_id = 2;
    uint32_t num = 2;
    EXPECT_EQ(EFAULT, HwptInvalidate(m_fd, m_nested_id, reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                                     sizeof(iommu_hwpt_invalidate_selftest), &num));
    EXPECT_EQ(1u, num);
    TestCmdCheckIotlb(m_fd, m_nested_id, 2, 0);
    TestCmdCheckIotlb(m_fd, m_nested_id, 3, IOMMU_TEST_IOTLB_DEFAULT);
}

TEST_F(IommufdNested, HwptInvalidateFailedWriteBackIsEfault) {
    iommu_hwpt_invalidate_selftest req{IOMMU_TEST_INVALIDATE_FLAG_ALL, 0};
    guard_pages pages(PROT_READ | PROT_WRITE);
    auto* ro = reinterpret_cast<iommu_hwpt_invalidate*>(pages.second());
    *ro = iommu_hwpt_invalidate{};
    ro->size = sizeof(*ro);
    ro->hwpt_id = m_nested_id;
    ro->data_uptr = reinterpret_cast<uint64_t>(&req);
    ro->data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    ro->entry_len = sizeof(req);
    ro->entry_num = 1;
    pages.seal_second();
    // The driver ran (the IOTLB is flushed) but the write-back failed: EFAULT overrides success.
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, ro));
    TestCmdCheckIotlbAll(m_fd, m_nested_id, 0);
}

TEST_F(IommufdNested, HwptInvalidateFailedWriteBackOverridesErrors) {
    // The handler's ENOENT is replaced by the EFAULT of the entry_num write-back.
    guard_pages pages(PROT_READ | PROT_WRITE);
    auto* ro = reinterpret_cast<iommu_hwpt_invalidate*>(pages.second());
    *ro = iommu_hwpt_invalidate{};
    ro->size = sizeof(*ro);
    ro->hwpt_id = 999;
    pages.seal_second();
    EXPECT_EQ(EFAULT, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, ro));
    // Dispatcher-level failures never write back, so they keep their errno.
    guard_pages small(PROT_READ | PROT_WRITE);
    auto* ro_small = reinterpret_cast<iommu_hwpt_invalidate*>(small.second());
    *ro_small = iommu_hwpt_invalidate{};
    ro_small->size = sizeof(*ro_small) - 1;
    small.seal_second();
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, ro_small));
}

TEST_F(IommufdNested, HwptInvalidateExtensibleStruct) {
    iommu_hwpt_invalidate_selftest req{0, 1};
    struct {
        iommu_hwpt_invalidate cmd;
        uint32_t extra;
        uint32_t after;
    } big{};
    big.cmd.size = sizeof(big.cmd) + sizeof(big.extra);
    big.cmd.hwpt_id = m_nested_id;
    big.cmd.data_uptr = reinterpret_cast<uint64_t>(&req);
    big.cmd.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    big.cmd.entry_len = sizeof(req);
    big.cmd.entry_num = 1;
    big.after = 0x5a5a5a5a;
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, &big));
    // Only min(user size, ours) is written back.
    EXPECT_EQ(1u, big.cmd.entry_num);
    EXPECT_EQ(0u, big.extra);
    EXPECT_EQ(0x5a5a5a5au, big.after);
    TestCmdCheckIotlb(m_fd, m_nested_id, 1, 0);
    big.extra = 1;
    EXPECT_EQ(E2BIG, Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, &big));
}

TEST_F(IommufdNested, GetHwInfoErrnos) {
    iommu_hw_info cmd{};
    cmd.size = sizeof(cmd);
    cmd.dev_id = m_device_id;
    cmd.flags = 2;  // only bit 0 (IOMMU_HW_INFO_FLAG_INPUT_TYPE) is defined
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
    cmd.flags = 0;
    for (int i = 0; i < 3; ++i) {
        cmd.__reserved[i] = 1;
        EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd)) << i;
        cmd.__reserved[i] = 0;
    }
    // An input type: the driver's own (0xfeedbeef for the mock) or the default is answered,
    // any other is refused; without the flag the field's input value is ignored.
    cmd.flags = 1;
    cmd.in_data_type = 0xfeedbeef;
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
    EXPECT_EQ(0xfeedbeefu, cmd.out_data_type);
    EXPECT_EQ(0u, cmd.out_max_pasid_log2);
    cmd.in_data_type = 0;
    cmd.data_len = 0;  // the call above reported the driver's length
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
    cmd.in_data_type = 1;  // VT-d info from the mock driver
    cmd.data_len = 0;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
    cmd.flags = 0;
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
    EXPECT_EQ(0xfeedbeefu, cmd.out_data_type);
    for (uint32_t id : {0u, 999u, m_ioas_id, m_stdev_id, m_nested_id}) {
        EXPECT_EQ(ENOENT, GetHwInfo(m_fd, id, nullptr, 0)) << id;
    }
    // data_len 0: nothing copied, the driver's length reported.
    uint32_t len = 0;
    uint32_t type = 0;
    EXPECT_EQ(0, GetHwInfo(m_fd, m_device_id, nullptr, 0, &type, nullptr, &len));
    EXPECT_EQ(sizeof(iommu_test_hw_info), len);
    EXPECT_EQ(uint32_t{IOMMU_HW_INFO_TYPE_SELFTEST}, type);
    // Smaller buffer: partial copy.
    uint32_t small[2] = {0xaaaaaaaa, 0xaaaaaaaa};
    EXPECT_EQ(0, GetHwInfo(m_fd, m_device_id, small, 4, nullptr, nullptr, &len));
    EXPECT_EQ(0u, small[0]);  // flags
    EXPECT_EQ(0xaaaaaaaau, small[1]);
    EXPECT_EQ(sizeof(iommu_test_hw_info), len);
    // Larger buffer: the rest is zeroed.
    std::vector<uint8_t> large(32, 0xaa);
    EXPECT_EQ(0, GetHwInfo(m_fd, m_device_id, large.data(), 32, nullptr, nullptr, &len));
    iommu_test_hw_info info{};
    std::memcpy(&info, large.data(), sizeof(info));
    EXPECT_EQ(uint32_t{IOMMU_HW_INFO_SELFTEST_REGVAL}, info.test_reg);
    for (std::size_t i = sizeof(info); i < large.size(); ++i) {
        EXPECT_EQ(0, large[i]) << i;
    }
    // Bad buffers.
    guard_pages pages(PROT_NONE);
    EXPECT_EQ(EFAULT, GetHwInfo(m_fd, m_device_id, pages.second(), 8));
    EXPECT_EQ(EFAULT, GetHwInfo(m_fd, m_device_id, pages.second() - 4, 8));
    // Room for the data but a zero tail on an unmapped page.
    EXPECT_EQ(EFAULT, GetHwInfo(m_fd, m_device_id, pages.second() - 8, 16));
}

// data_len is the caller's (up to 4 GiB): zeroing the rest of a larger buffer must not allocate
// that much. With the address space limited to 1 GiB more than in use, it zeroes the accessible
// page and stops with EFAULT at the inaccessible one (an allocation would fail with ENOMEM).
TEST_F(IommufdNested, GetHwInfoHugeDataLenZeroesWithoutAllocating) {
#ifdef IOMMUSIM_SANITIZE
    GTEST_SKIP() << "the sanitizers reserve more address space than any limit this test could set";
#endif
    guard_pages pages(PROT_NONE);
    auto* buf = reinterpret_cast<uint8_t*>(pages.first());
    std::memset(buf, 0xaa, 4096);
    rlimit old{};
    ASSERT_EQ(0, getrlimit(RLIMIT_AS, &old));
    std::size_t vm_pages = 0;
    FILE* statm = std::fopen("/proc/self/statm", "r");
    ASSERT_NE(nullptr, statm);
    ASSERT_EQ(1, std::fscanf(statm, "%zu", &vm_pages));
    std::fclose(statm);
    rlimit tight = old;
    tight.rlim_cur = vm_pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) + (std::size_t{1} << 30);
    ASSERT_EQ(0, setrlimit(RLIMIT_AS, &tight));
    const int err = GetHwInfo(m_fd, m_device_id, buf, 0xffffffffu);
    ASSERT_EQ(0, setrlimit(RLIMIT_AS, &old));
    EXPECT_EQ(EFAULT, err);
    for (std::size_t i = sizeof(iommu_test_hw_info); i < 4096; ++i) {
        ASSERT_EQ(0, buf[i]) << i;
    }
}

TEST_F(IommufdNested, TestCmdErrnos) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = 0x7777;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_TEST_CMD, &cmd));
    // MD_CHECK_IOTLB: wrong object kind, bad id, mismatching value.
    EXPECT_EQ(ENOENT, CheckIotlb(m_fd, m_parent_id, 0, IOMMU_TEST_IOTLB_DEFAULT));
    EXPECT_EQ(ENOENT, CheckIotlb(m_fd, 0, 0, IOMMU_TEST_IOTLB_DEFAULT));
    EXPECT_EQ(EINVAL, CheckIotlb(m_fd, m_nested_id, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1, IOMMU_TEST_IOTLB_DEFAULT));
    EXPECT_EQ(EINVAL, CheckIotlb(m_fd, m_nested_id, 0, 0));
    // MOCK_DOMAIN on something that is not attachable.
    EXPECT_EQ(ENOENT, MockDomain(m_fd, 999, nullptr, nullptr, nullptr));
    EXPECT_EQ(EINVAL, MockDomain(m_fd, m_device_id, nullptr, nullptr, nullptr));
    // MOCK_DOMAIN_REPLACE on a non-selftest id.
    EXPECT_EQ(ENOENT, MockDomainReplace(m_fd, m_device_id, m_parent_id));
    EXPECT_EQ(ENOENT, MockDomainReplace(m_fd, m_stdev_id, 999));
    EXPECT_EQ(EINVAL, MockDomainReplace(m_fd, m_stdev_id, m_device_id));
    // The failed MOCK_DOMAIN calls left nothing behind: the next object gets the next id.
    uint32_t id = 0;
    TestCmdIoasAlloc(m_fd, &id);
    EXPECT_EQ(m_nested_id + 1, id);
}

// MD_CHECK_REFS (kernel iommufd_test_md_check_refs): a page mapped into an IOAS with a domain is
// pinned once per area covering it, in any context of the process; an IOAS without a domain pins
// nothing; unaligned ranges are EINVAL, unmapped pages EFAULT, a different count EIO.
TEST_F(IommufdNested, MdCheckRefsCountsPinsProcessWide) {
    const std::size_t len = 4 * 4096;
    auto* buf = static_cast<uint8_t*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(buf));
    auto check = [&](uint8_t* at, uint64_t length, uint32_t refs) {
        iommu_test_cmd cmd{};
        cmd.size = sizeof(cmd);
        cmd.op = IOMMU_TEST_OP_MD_CHECK_REFS;
        cmd.check_refs.uptr = reinterpret_cast<uint64_t>(at);
        cmd.check_refs.length = length;
        cmd.check_refs.refs = refs;
        return Ioctl(m_fd, IOMMU_TEST_CMD, &cmd);
    };
    const uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA;
    EXPECT_EQ(0, check(buf, len, 0));
    uint64_t iova = MOCK_APERTURE_START;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buf + 4096, 2 * 4096, &iova, rw));
    EXPECT_EQ(0, check(buf + 4096, 2 * 4096, 1));
    EXPECT_EQ(EIO, check(buf, len, 1)) << "the first and last pages are not pinned";
    EXPECT_EQ(0, check(buf, 4096, 0));
    // A second area over the same pages pins them again; another context sees both pins.
    uint64_t iova2 = MOCK_APERTURE_START + 0x100000;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buf, len, &iova2, rw));
    EXPECT_EQ(0, check(buf + 4096, 4096, 2));
    const int other = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(other, 0);
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_MD_CHECK_REFS;
    cmd.check_refs.uptr = reinterpret_cast<uint64_t>(buf);
    cmd.check_refs.length = 4096;
    cmd.check_refs.refs = 1;
    EXPECT_EQ(0, Ioctl(other, IOMMU_TEST_CMD, &cmd));
    // An IOAS of its own without a domain pins nothing.
    uint32_t bare = 0;
    TestCmdIoasAlloc(other, &bare);
    uint64_t iova3 = 0x400000;
    ASSERT_EQ(0, IoasMap(other, bare, buf, 4096, &iova3, rw));
    EXPECT_EQ(0, Ioctl(other, IOMMU_TEST_CMD, &cmd));
    EXPECT_EQ(0, iommusim_close(other));
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, iova2, len));
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, iova, 2 * 4096));
    EXPECT_EQ(0, check(buf, len, 0));
    // Bad ranges.
    EXPECT_EQ(EINVAL, check(buf + 1, 4096, 0));
    EXPECT_EQ(EINVAL, check(buf, 4095, 0));
    ASSERT_EQ(0, munmap(buf + 3 * 4096, 4096));
    EXPECT_EQ(EFAULT, check(buf, len, 0));
    munmap(buf, 3 * 4096);
}

TEST_F(IommufdNested, IoasMapUnmapRanges) {
    const std::size_t len = 4 * 4096;
    void* buf = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(MAP_FAILED, buf);
    // The mock domain's aperture bounds the IOAS.
    iommu_iova_range range{};
    iommu_ioas_iova_ranges ranges{};
    ranges.size = sizeof(ranges);
    ranges.ioas_id = m_ioas_id;
    ranges.num_iovas = 0;
    EXPECT_EQ(EMSGSIZE, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
    EXPECT_EQ(1u, ranges.num_iovas);
    ranges.allowed_iovas = reinterpret_cast<uint64_t>(&range);
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START}, range.start);
    EXPECT_EQ(uint64_t{MOCK_APERTURE_LAST}, range.last);
    EXPECT_EQ(2048u, ranges.out_iova_alignment);  // the mock domain's page (kernel MOCK_IO_PAGE_SIZE)
    ranges.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));
    ranges.__reserved = 0;
    ranges.ioas_id = m_parent_id;
    EXPECT_EQ(ENOENT, Ioctl(m_fd, IOMMU_IOAS_IOVA_RANGES, &ranges));

    const uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
    uint64_t iova = 0;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buf, len, &iova, rw));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START}, iova);
    uint64_t fixed = MOCK_APERTURE_START + 0x100000;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buf, len, &fixed, rw | IOMMU_IOAS_MAP_FIXED_IOVA));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START} + 0x100000, fixed);
    // Overlap, bad flags, no permission, misalignment, bad id, bad memory.
    uint64_t again = fixed + 4096;
    EXPECT_EQ(EEXIST, IoasMap(m_fd, m_ioas_id, buf, len, &again, rw | IOMMU_IOAS_MAP_FIXED_IOVA));
    EXPECT_EQ(EOPNOTSUPP, IoasMap(m_fd, m_ioas_id, buf, len, &again, rw | (1u << 3)));
    EXPECT_EQ(EINVAL, IoasMap(m_fd, m_ioas_id, buf, len, &again, 0));
    EXPECT_EQ(EINVAL, IoasMap(m_fd, m_ioas_id, buf, 100, &again, rw));  // not a multiple of the mock domain's 2048
    EXPECT_EQ(EINVAL, IoasMap(m_fd, m_ioas_id, buf, 0, &again, rw));
    EXPECT_EQ(ENOENT, IoasMap(m_fd, m_parent_id, buf, len, &again, rw));
    guard_pages pages(PROT_NONE);
    EXPECT_EQ(EFAULT, IoasMap(m_fd, m_ioas_id, pages.first(), 2 * 4096, &again, rw));
    iommu_ioas_map reserved{};
    reserved.size = sizeof(reserved);
    reserved.flags = rw;
    reserved.ioas_id = m_ioas_id;
    reserved.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_IOAS_MAP, &reserved));

    // Unmap: cutting an area is ENOENT, whole areas go, then unmap-all.
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_ioas_id, iova, 4096));
    EXPECT_EQ(EINVAL, IoasUnmap(m_fd, m_ioas_id, iova, 0));
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_parent_id, iova, len));
    uint64_t out = 0;
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas_id, iova, len, &out));
    EXPECT_EQ(len, out);
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_ioas_id, iova, len));
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas_id, 0, ~uint64_t{0}, &out));
    EXPECT_EQ(len, out);
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas_id, 0, ~uint64_t{0}, &out));
    EXPECT_EQ(0u, out);
    munmap(buf, len);
}

TEST(IommusimApi, OpenAndClose) {
    errno = 0;
    EXPECT_EQ(-1, iommusim_open("/dev/nothing", O_RDWR));
    EXPECT_EQ(ENOENT, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_close(99999));
    EXPECT_EQ(EBADF, errno);
    int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    // A context with live objects closes cleanly (mock devices included).
    uint32_t ioas = 0;
    TestCmdIoasAlloc(fd, &ioas);
    ASSERT_EQ(0, MockDomain(fd, ioas, nullptr, nullptr, nullptr));
    EXPECT_EQ(0, iommusim_close(fd));
    errno = 0;
    EXPECT_EQ(-1, iommusim_close(fd));
    EXPECT_EQ(EBADF, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_last_fault(fd));
    EXPECT_EQ(EBADF, errno);
}

}  // namespace
}  // namespace iommusim::test
