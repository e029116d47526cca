// Port of the kernel selftest iommufd_ioas.alloc_hwpt_nested (tools/testing/selftests/iommu/iommufd.c)
// against the C API, with the variants NoDomain, MockDomain and TwoMockDomain, its fault-queue steps
// included. Pins the 6.13+ behaviour: HWPT_INVALIDATE on the nest parent is EINVAL.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <utility>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

struct ioas_variant {
    const char* name;
    unsigned mock_domains;
    uint32_t memory_limit;
};

void PrintTo(const ioas_variant& v, std::ostream* os) {
    *os << v.name;
}

class IommufdIoas : public ::testing::TestWithParam<ioas_variant> {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
        ASSERT_EQ(0, SetTempMemoryLimit(m_fd, GetParam().memory_limit != 0 ? GetParam().memory_limit : 65536));
        for (unsigned i = 0; i < GetParam().mock_domains; ++i) {
            TestCmdMockDomain(m_fd, m_ioas_id, &m_stdev_id, &m_hwpt_id, &m_device_id);
        }
    }
    void TearDown() override {
        if (m_fd >= 0) {
            EXPECT_EQ(0, iommusim_close(m_fd));
        }
    }

    int m_fd = -1;
    uint32_t m_ioas_id = 0;
    uint32_t m_stdev_id = 0;
    uint32_t m_hwpt_id = 0;
    uint32_t m_device_id = 0;
};

TEST_P(IommufdIoas, AllocHwptNested) {
    const uint32_t min_data_len = offsetof(iommu_hwpt_selftest, iotlb) + sizeof(uint32_t);
    iommu_hwpt_selftest data{};
    data.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
    iommu_hwpt_invalidate_selftest inv_reqs[2] = {};
    uint32_t nested_hwpt_id[2] = {};
    uint32_t num_inv = 0;
    uint32_t parent_hwpt_id = 0;
    uint32_t parent_hwpt_id_not_work = 0;
    uint32_t test_hwpt_id = 0;
    const int fd = m_fd;

    if (m_device_id == 0) {
        TestErrHwptAlloc(ENOENT, fd, m_device_id, m_ioas_id, 0, &parent_hwpt_id);
        TestErrHwptAllocNested(ENOENT, fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[0], IOMMU_HWPT_DATA_SELFTEST,
                               &data, sizeof(data));
        TestErrHwptAllocNested(ENOENT, fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[1], IOMMU_HWPT_DATA_SELFTEST,
                               &data, sizeof(data));
        TestErrMockDomainReplace(ENOENT, fd, m_stdev_id, nested_hwpt_id[0]);
        TestErrMockDomainReplace(ENOENT, fd, m_stdev_id, nested_hwpt_id[1]);
        return;
    }

    // Negative tests.
    TestErrHwptAlloc(ENOENT, fd, m_ioas_id, m_device_id, 0, &test_hwpt_id);
    TestErrHwptAlloc(EINVAL, fd, m_device_id, m_device_id, 0, &test_hwpt_id);
    TestErrHwptAlloc(EOPNOTSUPP, fd, m_device_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_FAULT_ID_VALID,
                     &test_hwpt_id);

    TestCmdHwptAlloc(fd, m_device_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_hwpt_id);
    TestCmdHwptAlloc(fd, m_device_id, m_ioas_id, 0, &parent_hwpt_id_not_work);

    // Negative nested tests.
    TestErrHwptAllocNested(EINVAL, fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[0], IOMMU_HWPT_DATA_NONE, &data,
                           sizeof(data));
    TestErrHwptAllocNested(EOPNOTSUPP, fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[0],
                           IOMMU_HWPT_DATA_SELFTEST + 1, &data, sizeof(data));
    TestErrHwptAllocNested(EINVAL, fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[0], IOMMU_HWPT_DATA_SELFTEST,
                           &data, min_data_len - 1);
    TestErrHwptAllocNested(EFAULT, fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[0], IOMMU_HWPT_DATA_SELFTEST,
                           nullptr, sizeof(data));
    TestErrHwptAllocNested(EOPNOTSUPP, fd, m_device_id, parent_hwpt_id, IOMMU_HWPT_ALLOC_NEST_PARENT,
                           &nested_hwpt_id[0], IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data));
    TestErrHwptAllocNested(EINVAL, fd, m_device_id, parent_hwpt_id_not_work, 0, &nested_hwpt_id[0],
                           IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data));

    // Allocate two nested hwpts sharing one common parent hwpt, and a third reporting to a fault queue.
    uint32_t fault_id = 0;
    int fault_fd = -1;
    uint32_t iopf_hwpt_id = 0;
    ASSERT_EQ(0, FaultQueueAlloc(fd, &fault_id, &fault_fd));
    ASSERT_NE(0u, fault_id);
    ASSERT_NE(0, fault_fd);
    TestCmdHwptAllocNested(fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[0], IOMMU_HWPT_DATA_SELFTEST, &data,
                           sizeof(data));
    TestCmdHwptAllocNested(fd, m_device_id, parent_hwpt_id, 0, &nested_hwpt_id[1], IOMMU_HWPT_DATA_SELFTEST, &data,
                           sizeof(data));
    EXPECT_EQ(ENOENT, HwptAllocIopf(fd, m_device_id, parent_hwpt_id, UINT32_MAX, &iopf_hwpt_id,
                                    IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    ASSERT_EQ(0, HwptAllocIopf(fd, m_device_id, parent_hwpt_id, fault_id, &iopf_hwpt_id, IOMMU_HWPT_DATA_SELFTEST,
                               &data, sizeof(data)));
    TestCmdCheckIotlbAll(fd, nested_hwpt_id[0], IOMMU_TEST_IOTLB_DEFAULT);
    TestCmdCheckIotlbAll(fd, nested_hwpt_id[1], IOMMU_TEST_IOTLB_DEFAULT);

    // Negative test: a nested hwpt on top of a nested hwpt.
    TestErrHwptAllocNested(EINVAL, fd, m_device_id, nested_hwpt_id[0], 0, &test_hwpt_id, IOMMU_HWPT_DATA_SELFTEST,
                           &data, sizeof(data));
    // Negative test: parent hwpt now cannot be freed.
    TestErrDestroy(EBUSY, fd, parent_hwpt_id);

    // hwpt_invalidate does not support a parent hwpt.
    num_inv = 1;
    TestErrHwptInvalidate(EINVAL, fd, parent_hwpt_id, inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(*inv_reqs),
                          &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Check data_type by passing zero-length array.
    num_inv = 0;
    TestCmdHwptInvalidate(fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(*inv_reqs),
                          &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Negative test: Invalid data_type.
    num_inv = 1;
    TestErrHwptInvalidate(EINVAL, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
                          sizeof(*inv_reqs), &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Negative test: structure size sanity.
    num_inv = 1;
    TestErrHwptInvalidate(EINVAL, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                          sizeof(*inv_reqs) + 1, &num_inv);
    EXPECT_EQ(0u, num_inv);

    num_inv = 1;
    TestErrHwptInvalidate(EINVAL, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 1, &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Negative test: invalid flag is passed.
    num_inv = 1;
    inv_reqs[0].flags = 0xffffffff;
    TestErrHwptInvalidate(EOPNOTSUPP, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                          sizeof(*inv_reqs), &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Negative test: invalid data_uptr when array is not empty.
    num_inv = 1;
    inv_reqs[0].flags = 0;
    TestErrHwptInvalidate(EINVAL, fd, nested_hwpt_id[0], nullptr, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                          sizeof(*inv_reqs), &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Negative test: invalid entry_len when array is not empty.
    num_inv = 1;
    inv_reqs[0].flags = 0;
    TestErrHwptInvalidate(EINVAL, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Negative test: invalid iotlb_id.
    num_inv = 1;
    inv_reqs[0].flags = 0;
    inv_reqs[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
    TestErrHwptInvalidate(EINVAL, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                          sizeof(*inv_reqs), &num_inv);
    EXPECT_EQ(0u, num_inv);

    // Invalidate the 1st iotlb entry but fail the 2nd request due to invalid flags.
    num_inv = 2;
    inv_reqs[0].flags = 0;
    inv_reqs[0].iotlb_id = 0;
    inv_reqs[1].flags = 0xffffffff;
    inv_reqs[1].iotlb_id = 1;
    TestErrHwptInvalidate(EOPNOTSUPP, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                          sizeof(*inv_reqs), &num_inv);
    EXPECT_EQ(1u, num_inv);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 0, 0);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 1, IOMMU_TEST_IOTLB_DEFAULT);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 2, IOMMU_TEST_IOTLB_DEFAULT);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 3, IOMMU_TEST_IOTLB_DEFAULT);

    // Invalidate the 1st iotlb entry but fail the 2nd request due to invalid iotlb_id.
    num_inv = 2;
    inv_reqs[0].flags = 0;
    inv_reqs[0].iotlb_id = 0;
    inv_reqs[1].flags = 0;
    inv_reqs[1].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
    TestErrHwptInvalidate(EINVAL, fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
                          sizeof(*inv_reqs), &num_inv);
    EXPECT_EQ(1u, num_inv);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 0, 0);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 1, IOMMU_TEST_IOTLB_DEFAULT);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 2, IOMMU_TEST_IOTLB_DEFAULT);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 3, IOMMU_TEST_IOTLB_DEFAULT);

    // Invalidate the 2nd iotlb entry and verify.
    num_inv = 1;
    inv_reqs[0].flags = 0;
    inv_reqs[0].iotlb_id = 1;
    TestCmdHwptInvalidate(fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(*inv_reqs),
                          &num_inv);
    EXPECT_EQ(1u, num_inv);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 0, 0);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 1, 0);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 2, IOMMU_TEST_IOTLB_DEFAULT);
    TestCmdCheckIotlb(fd, nested_hwpt_id[0], 3, IOMMU_TEST_IOTLB_DEFAULT);

    // Invalidate the 3rd and 4th iotlb entries and verify.
    num_inv = 2;
    inv_reqs[0].flags = 0;
    inv_reqs[0].iotlb_id = 2;
    inv_reqs[1].flags = 0;
    inv_reqs[1].iotlb_id = 3;
    TestCmdHwptInvalidate(fd, nested_hwpt_id[0], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(*inv_reqs),
                          &num_inv);
    EXPECT_EQ(2u, num_inv);
    TestCmdCheckIotlbAll(fd, nested_hwpt_id[0], 0);

    // Invalidate all iotlb entries for nested_hwpt_id[1] and verify.
    num_inv = 1;
    inv_reqs[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
    TestCmdHwptInvalidate(fd, nested_hwpt_id[1], inv_reqs, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(*inv_reqs),
                          &num_inv);
    EXPECT_EQ(1u, num_inv);
    TestCmdCheckIotlbAll(fd, nested_hwpt_id[1], 0);

    // Attach device to nested_hwpt_id[0] that then will be busy.
    TestCmdMockDomainReplace(fd, m_stdev_id, nested_hwpt_id[0]);
    TestErrDestroy(EBUSY, fd, nested_hwpt_id[0]);

    // Switch from nested_hwpt_id[0] to nested_hwpt_id[1].
    TestCmdMockDomainReplace(fd, m_stdev_id, nested_hwpt_id[1]);
    TestErrDestroy(EBUSY, fd, nested_hwpt_id[1]);
    TestCmdDestroy(fd, nested_hwpt_id[0]);

    // Switch from nested_hwpt_id[1] to iopf_hwpt_id and trigger an IOPF on the device.
    TestCmdMockDomainReplace(fd, m_stdev_id, iopf_hwpt_id);
    TestErrDestroy(EBUSY, fd, iopf_hwpt_id);
    EXPECT_EQ(0, TriggerIopfRoundTrip(fd, m_device_id, fault_fd));

    // Detach from nested_hwpt_id[1] and destroy it.
    TestCmdMockDomainReplace(fd, m_stdev_id, parent_hwpt_id);
    TestCmdDestroy(fd, nested_hwpt_id[1]);
    TestCmdDestroy(fd, iopf_hwpt_id);

    // Detach from the parent hw_pagetable and destroy it.
    TestCmdMockDomainReplace(fd, m_stdev_id, m_ioas_id);
    TestCmdDestroy(fd, parent_hwpt_id);
    TestCmdDestroy(fd, parent_hwpt_id_not_work);
    EXPECT_EQ(0, iommusim_close(fault_fd));
    TestCmdDestroy(fd, fault_id);
}

// The device-independent parts of the kernel's iommufd_ioas fixture.
TEST_P(IommufdIoas, DestroyIoasWhileUsed) {
    if (m_device_id == 0) {
        TestCmdDestroy(m_fd, m_ioas_id);
        return;
    }
    // The automatic domain of the mock device holds the IOAS.
    TestErrDestroy(EBUSY, m_fd, m_ioas_id);
    TestErrDestroy(EBUSY, m_fd, m_hwpt_id);
    // The device object belongs to its selftest object until that is destroyed.
    TestErrDestroy(EBUSY, m_fd, m_device_id);
    TestCmdDestroy(m_fd, m_stdev_id);
    if (GetParam().mock_domains == 1) {
        // The last device left the automatic domain, which went with it.
        TestErrDestroy(ENOENT, m_fd, m_hwpt_id);
        TestCmdDestroy(m_fd, m_ioas_id);
    }
}

TEST_P(IommufdIoas, MockDomainAutoHwptIsShared) {
    if (m_device_id == 0) {
        // No selftest device to replace.
        TestErrMockDomainReplace(ENOENT, m_fd, m_stdev_id, m_ioas_id);
        return;
    }
    uint32_t stdev = 0;
    uint32_t hwpt = 0;
    uint32_t idev = 0;
    TestCmdMockDomain(m_fd, m_ioas_id, &stdev, &hwpt, &idev);
    // Compatible devices share the IOAS's automatic paging domain.
    EXPECT_EQ(m_hwpt_id, hwpt);
    EXPECT_NE(m_device_id, idev);
    uint32_t out = 0;
    ASSERT_EQ(0, MockDomainReplace(m_fd, stdev, m_ioas_id, &out));
    EXPECT_EQ(m_hwpt_id, out);
}

TEST_P(IommufdIoas, MockDomainHwInfo) {
    iommu_test_hw_info info{};
    uint32_t type = 0;
    uint64_t caps = 0;
    uint32_t len = 0;
    if (m_device_id == 0) {
        EXPECT_EQ(ENOENT, GetHwInfo(m_fd, m_device_id, &info, sizeof(info), &type, &caps, &len));
        return;
    }
    ASSERT_EQ(0, GetHwInfo(m_fd, m_device_id, &info, sizeof(info), &type, &caps, &len));
    EXPECT_EQ(uint32_t{IOMMU_HW_INFO_TYPE_SELFTEST}, type);
    EXPECT_EQ(uint32_t{IOMMU_HW_INFO_SELFTEST_REGVAL}, info.test_reg);
    EXPECT_EQ(0u, info.flags);
    EXPECT_EQ(sizeof(info), len);
    EXPECT_EQ(uint64_t{IOMMU_HW_CAP_DIRTY_TRACKING}, caps);
}

TEST_P(IommufdIoas, IoasDestroy) {
    if (m_stdev_id != 0) {
        // An IOAS cannot be freed while a device has a HWPT using it.
        TestErrDestroy(EBUSY, m_fd, m_ioas_id);
    } else {
        // Can allocate and manually free an IOAS table.
        TestCmdDestroy(m_fd, m_ioas_id);
    }
}

TEST_P(IommufdIoas, HwptAttach) {
    // Create a device attached directly to a HWPT.
    if (m_stdev_id != 0) {
        TestCmdMockDomain(m_fd, m_hwpt_id, nullptr, nullptr, nullptr);
    } else {
        EXPECT_EQ(ENOENT, MockDomain(m_fd, m_hwpt_id, nullptr, nullptr, nullptr));
    }
}

// Page-aligned buffer for IOAS_MAP.
class map_buffer {
  public:
    explicit map_buffer(std::size_t len) : m_len(len) {
        m_p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    ~map_buffer() { munmap(m_p, m_len); }
    map_buffer(const map_buffer&) = delete;
    map_buffer& operator=(const map_buffer&) = delete;
    void* get() const { return m_p; }

  private:
    std::size_t m_len;
    void* m_p;
};

constexpr uint64_t page_size = 4096;
constexpr uint32_t map_rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA;

TEST_P(IommufdIoas, IoasAreaDestroy) {
    map_buffer buffer(page_size);
    uint64_t iova = MOCK_APERTURE_START;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buffer.get(), page_size, &iova, map_rw));
    // Adding an area does not change the ability to destroy.
    if (m_stdev_id != 0) {
        TestErrDestroy(EBUSY, m_fd, m_ioas_id);
    } else {
        TestCmdDestroy(m_fd, m_ioas_id);
    }
}

TEST_P(IommufdIoas, Area) {
    const uint64_t base = MOCK_APERTURE_START;
    map_buffer buffer(4 * page_size);
    for (uint64_t i = 0; i != 10; ++i) {
        uint64_t iova = base + i * page_size;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buffer.get(), page_size, &iova, map_rw));
    }
    // Unmap fails if nothing is mapped.
    for (uint64_t i = 0; i != 10; ++i) {
        EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_ioas_id, i * page_size, page_size));
    }
    // Unmap works.
    for (uint64_t i = 0; i != 10; ++i) {
        EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas_id, base + i * page_size, page_size));
    }
    // Split fails.
    uint64_t iova = base + 16 * page_size;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buffer.get(), 2 * page_size, &iova, map_rw));
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_ioas_id, base + 16 * page_size, page_size));
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_ioas_id, base + 17 * page_size, page_size));
    // Over map fails.
    const std::pair<uint64_t, uint64_t> overlaps[] = {{16, 2}, {16, 1}, {17, 1}, {15, 2}, {15, 3}};
    for (const auto& [first, pages] : overlaps) {
        uint64_t at = base + first * page_size;
        EXPECT_EQ(EEXIST, IoasMap(m_fd, m_ioas_id, buffer.get(), pages * page_size, &at, map_rw));
    }
    // Unmap all works, also on an empty IOAS.
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas_id, 0, UINT64_MAX));
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas_id, 0, UINT64_MAX));
}

INSTANTIATE_TEST_SUITE_P(Variants, IommufdIoas,
                         ::testing::Values(ioas_variant{"NoDomain", 0, 0}, ioas_variant{"MockDomain", 1, 0},
                                           ioas_variant{"TwoMockDomain", 2, 0}),
                         [](const ::testing::TestParamInfo<ioas_variant>& info) {
                             return std::string(info.param.name);
                         });

}  // namespace
}  // namespace iommusim::test
