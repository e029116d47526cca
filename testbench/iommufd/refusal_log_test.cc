// Every refusal of the iommufd core leaves its reason in the kernel log with Linux's "iommufd: "
// prefix, and every refusal of the selftest mock driver with "iommufd_mock: ", read back through the
// C API: IOAS_MAP, IOAS_UNMAP, HWPT_ALLOC (paging and nested), HWPT_INVALIDATE, GET_HW_INFO, DESTROY,
// attach/replace (ENOENT, EINVAL, another driver's HWPT), bind (EBUSY), and the VFIO device calls
// ("vfio: ").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>

#include "driver/mock_driver.h"
#include "iommufd/context.h"
#include "iommufd/iommufd_util.h"
#include "log_watch.h"

namespace iommusim::test {
namespace {

// printf into a std::string, for expected records with object ids in them.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    return text;
}

// A context with an IOAS, one mock device on it (automatic HWPT), a nest parent and a nested HWPT.
class RefusalLog : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas);
        TestCmdMockDomain(m_fd, m_ioas, &m_stdev, &m_auto_hwpt, &m_dev);
        TestCmdHwptAlloc(m_fd, m_dev, m_ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &m_parent);
        TestCmdHwptAlloc(m_fd, m_dev, m_ioas, 0, &m_plain);
        iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
        TestCmdHwptAllocNested(m_fd, m_dev, m_parent, 0, &m_nested, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data));
    }
    void TearDown() override { EXPECT_EQ(0, iommusim_close(m_fd)); }

    // Runs the call, expects `err` from it and exactly `record` (one line) in the log.
    void expect_refusal(int err, const std::function<int()>& call, const std::string& record) {
        SCOPED_TRACE(record);
        log_watch log;
        EXPECT_EQ(err, call());
        EXPECT_EQ(log.fresh(), record + "\n");
    }

    int m_fd = -1;
    uint32_t m_ioas = 0, m_stdev = 0, m_auto_hwpt = 0, m_dev = 0, m_parent = 0, m_plain = 0, m_nested = 0;
};

TEST_F(RefusalLog, IoasMapRefusalsNameTheReason) {
    alignas(4096) static char buffer[2 * 4096];
    const uint64_t va = reinterpret_cast<uint64_t>(buffer);
    const uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
    auto map = [&](uint32_t ioas, uint32_t flags, uint64_t user_va, uint64_t length, uint64_t iova) {
        return [=, this] {
            iommu_ioas_map cmd{};
            cmd.size = sizeof(cmd);
            cmd.flags = flags;
            cmd.ioas_id = ioas;
            cmd.user_va = user_va;
            cmd.length = length;
            cmd.iova = iova;
            return Ioctl(m_fd, IOMMU_IOAS_MAP, &cmd);
        };
    };
    auto record = [&](uint64_t iova, uint64_t length, uint32_t ioas, const char* reason, const char* err) {
        return format("<6>iommufd: IOMMU_IOAS_MAP of 0x%llx+0x%llx into IOAS %u refused: %s (%s)",
                      static_cast<unsigned long long>(iova), static_cast<unsigned long long>(length), ioas, reason,
                      err);
    };
    const uint64_t top = 0xffff'ffff'ffff'f000ull;
    expect_refusal(EOPNOTSUPP, map(m_ioas, 1u << 7, va, 4096, 0),
                   record(0, 4096, m_ioas, "unknown flags or non-zero __reserved", "EOPNOTSUPP"));
    expect_refusal(EOVERFLOW, map(m_ioas, rw, va, 4096, ~0ull),
                   record(~0ull, 4096, m_ioas, "iova or length is ULONG_MAX", "EOVERFLOW"));
    expect_refusal(EINVAL, map(m_ioas, 0, va, 4096, 0),
                   record(0, 4096, m_ioas, "neither IOMMU_IOAS_MAP_READABLE nor IOMMU_IOAS_MAP_WRITEABLE", "EINVAL"));
    expect_refusal(ENOENT, map(999, rw, va, 4096, 0), record(0, 4096, 999, "no IOAS with that id", "ENOENT"));
    // The mock domain's 2048-byte page makes the IOAS alignment 2048 (kernel iova_alignment).
    expect_refusal(EINVAL, map(m_ioas, rw, va, 0x400, 0),
                   record(0, 0x400, m_ioas, "the length is zero or not a multiple of the IOAS alignment", "EINVAL"));
    expect_refusal(EOVERFLOW, map(m_ioas, rw, top, 0x2000, 0),
                   record(0, 0x2000, m_ioas, "the user range wraps around", "EOVERFLOW"));
    const uint32_t fixed = rw | IOMMU_IOAS_MAP_FIXED_IOVA;
    expect_refusal(EINVAL, map(m_ioas, fixed, va, 4096, 0x1001),
                   record(0x1001, 4096, m_ioas, "a fixed iova must be a multiple of the IOAS alignment", "EINVAL"));
    expect_refusal(EOVERFLOW, map(m_ioas, fixed, va, 0x2000, top),
                   record(top, 0x2000, m_ioas, "the IOVA range wraps around", "EOVERFLOW"));
    ASSERT_EQ(0, map(m_ioas, fixed, va, 4096, MOCK_APERTURE_START)());
    expect_refusal(EEXIST, map(m_ioas, fixed, va + 4096, 4096, MOCK_APERTURE_START),
                   record(MOCK_APERTURE_START, 4096, m_ioas, "the IOVA range overlaps a mapped area", "EEXIST"));
    expect_refusal(ENOSPC, map(m_ioas, rw, va, 1ull << 62, 0),
                   record(0, 1ull << 62, m_ioas, "no free IOVA window of that length in the allowed ranges", "ENOSPC"));
    void* hole = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(hole, MAP_FAILED);
    expect_refusal(EFAULT, map(m_ioas, fixed, reinterpret_cast<uint64_t>(hole), 4096, MOCK_APERTURE_START + 0x10000),
                   record(MOCK_APERTURE_START + 0x10000, 4096, m_ioas,
                          "the user range cannot be pinned (unmapped, or read-only for a writeable map)", "EFAULT"));
    munmap(hole, 4096);
}

TEST_F(RefusalLog, IoasUnmapRefusalsNameTheReason) {
    alignas(4096) static char buffer[2 * 4096];
    uint64_t iova = MOCK_APERTURE_START;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas, buffer, sizeof buffer, &iova,
                         IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
    auto record = [&](uint64_t start, uint64_t length, uint32_t ioas, const char* reason) {
        return format("<6>iommufd: IOMMU_IOAS_UNMAP of 0x%llx+0x%llx from IOAS %u refused: %s",
                      static_cast<unsigned long long>(start), static_cast<unsigned long long>(length), ioas, reason);
    };
    auto unmap = [&](uint32_t ioas, uint64_t start, uint64_t length) {
        return [=, this] { return IoasUnmap(m_fd, ioas, start, length); };
    };
    expect_refusal(ENOENT, unmap(999, iova, 4096), record(iova, 4096, 999, "no IOAS with that id (ENOENT)"));
    expect_refusal(EOVERFLOW, unmap(m_ioas, ~0ull, 4096),
                   record(~0ull, 4096, m_ioas, "iova or length is ULONG_MAX (EOVERFLOW)"));
    expect_refusal(EINVAL, unmap(m_ioas, iova, 0), record(iova, 0, m_ioas, "the length is zero (EINVAL)"));
    expect_refusal(EOVERFLOW, unmap(m_ioas, 0xffff'ffff'ffff'f000ull, 0x2000),
                   record(0xffff'ffff'ffff'f000ull, 0x2000, m_ioas, "the IOVA range wraps around (EOVERFLOW)"));
    expect_refusal(ENOENT, unmap(m_ioas, iova, 4096),
                   record(iova, 4096, m_ioas, "the range maps nothing or cuts a mapped area (ENOENT)"));
}

TEST_F(RefusalLog, HwptAllocRefusalsNameTheReason) {
    auto alloc = [&](uint32_t dev, uint32_t pt, uint32_t flags, uint32_t type, const void* data, uint32_t len,
                     uint32_t reserved = 0, uint32_t fault_id = 0) {
        return [=, this] {
            iommu_hwpt_alloc cmd{};
            cmd.size = sizeof(cmd);
            cmd.flags = flags;
            cmd.dev_id = dev;
            cmd.pt_id = pt;
            cmd.__reserved = reserved;
            cmd.data_type = type;
            cmd.data_len = len;
            cmd.data_uptr = reinterpret_cast<uint64_t>(data);
            cmd.fault_id = fault_id;
            return Ioctl(m_fd, IOMMU_HWPT_ALLOC, &cmd);
        };
    };
    const iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    const uint32_t none = IOMMU_HWPT_DATA_NONE;
    const uint32_t selftest = IOMMU_HWPT_DATA_SELFTEST;
    const std::string core = "<6>iommufd: IOMMU_HWPT_ALLOC refused: ";
    expect_refusal(EOPNOTSUPP, alloc(m_dev, m_ioas, 0, none, nullptr, 0, 1),
                   core + "__reserved must be 0 (EOPNOTSUPP)");
    expect_refusal(EINVAL, alloc(m_dev, m_ioas, 0, none, &data, 4),
                   core + "data_type 0 with data_len 4 (data only with a type) (EINVAL)");
    expect_refusal(ENOENT, alloc(999, m_ioas, 0, none, nullptr, 0), core + "999 is not a device id (ENOENT)");
    expect_refusal(EINVAL, alloc(m_dev, 999, 0, none, nullptr, 0), core + "no object with pt_id 999 (EINVAL)");
    expect_refusal(EOPNOTSUPP, alloc(m_dev, m_ioas, 1u << 10, none, nullptr, 0),
                   core + "unknown flags 0x400 (EOPNOTSUPP)");
    expect_refusal(EOPNOTSUPP,
                   alloc(m_dev, m_ioas, IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_NEST_PARENT, none, nullptr, 0),
                   core + "a nest parent cannot take a fault_id (EOPNOTSUPP)");
    expect_refusal(EINVAL, alloc(m_dev, m_dev, 0, none, nullptr, 0),
                   core + format("pt_id %u is not an IOAS, a paging HWPT or a vIOMMU (EINVAL)", m_dev));
    expect_refusal(ENOENT, alloc(m_dev, m_ioas, IOMMU_HWPT_FAULT_ID_VALID, none, nullptr, 0, 0, 7),
                   core + "fault_id 7 is not a fault object (ENOENT)");
    expect_refusal(EOPNOTSUPP, alloc(m_dev, m_ioas, 0, selftest, &data, sizeof data),
                   "<6>iommufd_mock: paging domain refused: unknown flags 0x0 or driver data given (EOPNOTSUPP)");
    // Nested HWPTs: the core's checks, then the mock driver's.
    const std::string nested = "<6>iommufd: nested HWPT refused: ";
    expect_refusal(EOPNOTSUPP, alloc(m_dev, m_parent, IOMMU_HWPT_ALLOC_NEST_PARENT, selftest, &data, sizeof data),
                   nested + "flags 0x1, no driver data, or the driver has no nested domains (EOPNOTSUPP)");
    expect_refusal(EINVAL, alloc(m_dev, m_auto_hwpt, 0, selftest, &data, sizeof data),
                   nested + format("parent HWPT %u is an automatic domain (EINVAL)", m_auto_hwpt));
    expect_refusal(
        EINVAL, alloc(m_dev, m_plain, 0, selftest, &data, sizeof data),
        nested + format("parent HWPT %u is not allocated with IOMMU_HWPT_ALLOC_NEST_PARENT (EINVAL)", m_plain));
    expect_refusal(EOPNOTSUPP, alloc(m_dev, m_parent, 0, IOMMU_HWPT_DATA_VTD_S1, &data, sizeof data),
                   "<6>iommufd_mock: nested domain refused: data type 1 is not IOMMU_HWPT_DATA_SELFTEST (EOPNOTSUPP)");
    expect_refusal(EINVAL, alloc(m_dev, m_parent, 0, selftest, &data, 2),
                   "<6>iommufd_mock: nested domain refused: its data cannot be copied from user space (EINVAL)");
}

TEST_F(RefusalLog, HwptInvalidateRefusalsNameTheReason) {
    iommu_hwpt_invalidate_selftest entry{};
    auto invalidate = [&](uint32_t hwpt, uint32_t type, const void* data, uint32_t len, uint32_t num,
                          uint32_t reserved = 0) {
        return [=, this] {
            iommu_hwpt_invalidate cmd{};
            cmd.size = sizeof(cmd);
            cmd.hwpt_id = hwpt;
            cmd.data_uptr = reinterpret_cast<uint64_t>(data);
            cmd.data_type = type;
            cmd.entry_len = len;
            cmd.entry_num = num;
            cmd.__reserved = reserved;
            return Ioctl(m_fd, IOMMU_HWPT_INVALIDATE, &cmd);
        };
    };
    const uint32_t selftest = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    auto core = [](uint32_t id, const char* reason) {
        return format("<6>iommufd: IOMMU_HWPT_INVALIDATE of hwpt_id %u refused: %s", id, reason);
    };
    expect_refusal(EOPNOTSUPP, invalidate(m_nested, selftest, &entry, sizeof entry, 1, 1),
                   core(m_nested, "__reserved must be 0 (EOPNOTSUPP)"));
    expect_refusal(EINVAL, invalidate(m_nested, selftest, nullptr, sizeof entry, 1),
                   core(m_nested, "entries given without data_uptr or entry_len (EINVAL)"));
    expect_refusal(ENOENT, invalidate(999, selftest, &entry, sizeof entry, 1),
                   core(999, "no object with that hwpt_id (ENOENT)"));
    expect_refusal(EINVAL, invalidate(m_parent, selftest, &entry, sizeof entry, 1),
                   core(m_parent, "the object is not a nested HWPT or a vIOMMU (EINVAL)"));
    expect_refusal(EINVAL, invalidate(m_nested, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, &entry, sizeof entry, 1),
                   "<6>iommufd_mock: invalidation refused: data type 0 is not IOMMU_HWPT_INVALIDATE_DATA_SELFTEST "
                   "(EINVAL)");
    entry.flags = 2;
    expect_refusal(EOPNOTSUPP, invalidate(m_nested, selftest, &entry, sizeof entry, 1),
                   "<6>iommufd_mock: invalidation entry 0 refused: unknown flags 0x2 (EOPNOTSUPP)");
    entry.flags = 0;
    entry.iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
    expect_refusal(EINVAL, invalidate(m_nested, selftest, &entry, sizeof entry, 1),
                   format("<6>iommufd_mock: invalidation entry 0 refused: iotlb_id %u is beyond "
                          "MOCK_NESTED_DOMAIN_IOTLB_ID_MAX (EINVAL)",
                          MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1));
}

TEST_F(RefusalLog, GetHwInfoRefusalsNameTheReason) {
    uint8_t data[64];
    auto info = [&](uint32_t dev, uint32_t flags) {
        return [=, this, &data] {
            iommu_hw_info cmd{};
            cmd.size = sizeof(cmd);
            cmd.flags = flags;
            cmd.dev_id = dev;
            cmd.data_len = sizeof data;
            cmd.data_uptr = reinterpret_cast<uint64_t>(data);
            return Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd);
        };
    };
    expect_refusal(
        EOPNOTSUPP, info(m_dev, 2),
        "<6>iommufd: IOMMU_GET_HW_INFO refused: flags 0x2 has unknown bits or __reserved is not 0 (EOPNOTSUPP)");
    expect_refusal(ENOENT, info(999, 0), "<6>iommufd: IOMMU_GET_HW_INFO refused: 999 is not a device id (ENOENT)");
}

TEST_F(RefusalLog, ReplaceRefusalsNameTheTarget) {
    expect_refusal(
        ENOENT, [&] { return MockDomainReplace(m_fd, m_stdev, 999); },
        format("<6>iommufd: attach of device %u refused: no object with id 999 (ENOENT)", m_dev));
    expect_refusal(
        EINVAL, [&] { return MockDomainReplace(m_fd, m_stdev, m_stdev); },
        format("<6>iommufd: attach of device %u refused: object %u is not an IOAS or a HWPT (EINVAL)", m_dev, m_stdev));
}

TEST_F(RefusalLog, DestroyRefusalsNameTheObject) {
    expect_refusal(
        ENOENT, [&] { return Destroy(m_fd, 999); },
        "<6>iommufd: IOMMU_DESTROY refused: no object with id 999 (ENOENT)");
    // The nest parent is held by the nested HWPT.
    expect_refusal(
        EBUSY, [&] { return Destroy(m_fd, m_parent); },
        format("<6>iommufd: IOMMU_DESTROY of object %u refused: 1 other users still hold it (EBUSY)", m_parent));
}

TEST(IommufdRefusalLog, VfioDeviceRefusalsNameTheReason) {
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    const int vfio = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
    ASSERT_GE(vfio, 0);
    auto refused = [&](int err, unsigned long request, void* arg, const std::string& record) {
        SCOPED_TRACE(record);
        log_watch log;
        EXPECT_EQ(err, Ioctl(vfio, request, arg));
        EXPECT_EQ(log.fresh(), "<6>vfio: vfio1: " + record + "\n");
    };
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof attach;
    refused(EINVAL, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach,
            "ioctl refused: the device is not bound to an iommufd yet (EINVAL)");
    vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof bind;
    bind.iommufd = fd;
    bind.flags = 1;
    refused(EINVAL, VFIO_DEVICE_BIND_IOMMUFD, &bind,
            "VFIO_DEVICE_BIND_IOMMUFD refused: argsz below the minimum, non-zero flags or a negative iommufd (EINVAL)");
    bind.flags = 0;
    bind.iommufd = 4000;
    refused(EBADF, VFIO_DEVICE_BIND_IOMMUFD, &bind,
            "VFIO_DEVICE_BIND_IOMMUFD refused: iommufd is not an open descriptor (EBADF)");
    bind.iommufd = vfio;
    refused(EBADFD, VFIO_DEVICE_BIND_IOMMUFD, &bind,
            "VFIO_DEVICE_BIND_IOMMUFD refused: iommufd is a VFIO device, not /dev/iommu (EBADFD)");
    bind.iommufd = fd;
    ASSERT_EQ(0, Ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
    refused(EINVAL, VFIO_DEVICE_BIND_IOMMUFD, &bind,
            "VFIO_DEVICE_BIND_IOMMUFD refused: the device is already bound (EINVAL)");
    attach.flags = 1u << 5;
    refused(EINVAL, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach,
            "VFIO_DEVICE_ATTACH_IOMMUFD_PT refused: argsz below the minimum or unknown flags (EINVAL)");
    attach.flags = VFIO_DEVICE_ATTACH_PASID;
    attach.argsz = offsetof(vfio_device_attach_iommufd_pt, pasid);
    refused(EINVAL, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach,
            "VFIO_DEVICE_ATTACH_IOMMUFD_PT refused: VFIO_DEVICE_ATTACH_PASID with argsz not reaching pasid (EINVAL)");
    attach.argsz = sizeof attach;
    attach.pasid = 0x8000'0000u;
    refused(ENOSPC, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach,
            "VFIO_DEVICE_ATTACH_IOMMUFD_PT refused: the PASID does not fit the device's PASID ids (ENOSPC)");
    EXPECT_EQ(0, iommusim_close(vfio));
    EXPECT_EQ(0, iommusim_close(fd));
}

TEST(IommufdRefusalLog, BindOfAnOwnedDeviceIsEbusy) {
    auto dev = driver::mock_driver::instance().create_device();
    iommufd::context first;
    iommufd::context second;
    uint32_t id = 0;
    ASSERT_EQ(0, first.bind(*dev, id));
    log_watch log;
    EXPECT_EQ(-EBUSY, second.bind(*dev, id));
    EXPECT_EQ(log.fresh(), "<6>iommufd: bind refused: the device is already bound to an iommufd (EBUSY)\n");
    first.unbind(id);
}

// A mock device replaced onto the VT-d driver's HWPT: the core refuses the cross-driver attach.
TEST(IommufdRefusalLog, AttachToAnotherDriversHwptIsEinval) {
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    uint32_t ioas = 0;
    TestCmdIoasAlloc(fd, &ioas);
    const int vfio = iommusim_open("/dev/vfio/devices/vfio0", O_RDWR);
    ASSERT_GE(vfio, 0);
    vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof bind;
    bind.iommufd = fd;
    ASSERT_EQ(0, Ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof attach;
    attach.pt_id = ioas;
    ASSERT_EQ(0, Ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    const uint32_t vtd_hwpt = attach.pt_id;
    uint32_t stdev = 0, mock_hwpt = 0, mock_dev = 0;
    TestCmdMockDomain(fd, ioas, &stdev, &mock_hwpt, &mock_dev);
    log_watch log;
    EXPECT_EQ(EINVAL, MockDomainReplace(fd, stdev, vtd_hwpt));
    EXPECT_EQ(log.fresh(), format("<6>iommufd: attach of device %u to HWPT %u refused: the HWPT belongs to another "
                                  "IOMMU driver (EINVAL)\n",
                                  mock_dev, vtd_hwpt));
    EXPECT_EQ(0, iommusim_close(vfio));
    EXPECT_EQ(0, iommusim_close(fd));
}

}  // namespace
}  // namespace iommusim::test
