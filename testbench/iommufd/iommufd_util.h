// Helpers for the iommufd suites, after the kernel's tools/testing/selftests/iommu/iommufd_utils.h:
// each call returns 0 or the errno the ioctl set, and comes as a pair of macros, TestCmdX (asserts
// success) and TestErrX(errno, ...) (expects that errno). Only the public C API is used.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"

namespace iommusim::test {

// ioctl through the C API: 0 or errno.
int Ioctl(int fd, unsigned long request, void* arg);

int IoasAlloc(int fd, uint32_t* ioas_id);
int Destroy(int fd, uint32_t id);
int IoasMap(int fd, uint32_t ioas_id, void* buf, uint64_t length, uint64_t* iova, uint32_t flags);
int IoasUnmap(int fd, uint32_t ioas_id, uint64_t iova, uint64_t length, uint64_t* out_len = nullptr);
int HwptAlloc(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t* out_hwpt_id,
              uint32_t data_type = IOMMU_HWPT_DATA_NONE, const void* data = nullptr, uint32_t data_len = 0);
int HwptInvalidate(int fd, uint32_t hwpt_id, const void* reqs, uint32_t data_type, uint32_t entry_len,
                   uint32_t* entry_num);
int GetHwInfo(int fd, uint32_t dev_id, void* data, uint32_t data_len, uint32_t* out_type = nullptr,
              uint64_t* out_caps = nullptr, uint32_t* out_len = nullptr);
int MockDomain(int fd, uint32_t pt_id, uint32_t* stdev_id, uint32_t* hwpt_id, uint32_t* idev_id);
int MockDomainFlags(int fd, uint32_t pt_id, uint32_t dev_flags, uint32_t* stdev_id, uint32_t* hwpt_id,
                    uint32_t* idev_id);
int DevCheckCache(int fd, uint32_t dev_id, uint32_t cache_id, uint32_t value);
int CheckMap(int fd, uint32_t hwpt_id, uint64_t iova, uint64_t length, const void* uptr);
int MockDomainReplace(int fd, uint32_t stdev_id, uint32_t pt_id, uint32_t* out_pt_id = nullptr);
int CheckIotlb(int fd, uint32_t hwpt_id, uint32_t iotlb_id, uint32_t value);
int SetTempMemoryLimit(int fd, uint32_t limit);
// IOMMU_FAULT_QUEUE_ALLOC: the fault object's id and its fault fd.
int FaultQueueAlloc(int fd, uint32_t* fault_id, int* fault_fd);
// IOMMU_HWPT_ALLOC with IOMMU_HWPT_FAULT_ID_VALID and fault_id.
int HwptAllocIopf(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t fault_id, uint32_t* out_hwpt_id,
                  uint32_t data_type = IOMMU_HWPT_DATA_NONE, const void* data = nullptr, uint32_t data_len = 0);
// The kernel's _test_cmd_trigger_iopf: IOMMU_TEST_OP_TRIGGER_IOPF on dev_id (pasid 1, grpid 2, read
// and write, address 0xdeadbeaf), then one record read from fault_fd and answered with success;
// EIO when the read or the write moved no bytes.
int TriggerIopfRoundTrip(int fd, uint32_t dev_id, int fault_fd);

}  // namespace iommusim::test

#define TestCmdIoasAlloc(fd, id) ASSERT_EQ(0, ::iommusim::test::IoasAlloc(fd, id))
#define TestCmdDestroy(fd, id) ASSERT_EQ(0, ::iommusim::test::Destroy(fd, id))
#define TestErrDestroy(err, fd, id) EXPECT_EQ(err, ::iommusim::test::Destroy(fd, id))
#define TestCmdHwptAlloc(fd, dev, pt, flags, out) ASSERT_EQ(0, ::iommusim::test::HwptAlloc(fd, dev, pt, flags, out))
#define TestErrHwptAlloc(err, fd, dev, pt, flags, out) \
    EXPECT_EQ(err, ::iommusim::test::HwptAlloc(fd, dev, pt, flags, out))
#define TestCmdHwptAllocNested(fd, dev, pt, flags, out, type, data, len) \
    ASSERT_EQ(0, ::iommusim::test::HwptAlloc(fd, dev, pt, flags, out, type, data, len))
#define TestErrHwptAllocNested(err, fd, dev, pt, flags, out, type, data, len) \
    EXPECT_EQ(err, ::iommusim::test::HwptAlloc(fd, dev, pt, flags, out, type, data, len))
#define TestCmdHwptInvalidate(fd, hwpt, reqs, type, len, num) \
    ASSERT_EQ(0, ::iommusim::test::HwptInvalidate(fd, hwpt, reqs, type, len, num))
#define TestErrHwptInvalidate(err, fd, hwpt, reqs, type, len, num) \
    EXPECT_EQ(err, ::iommusim::test::HwptInvalidate(fd, hwpt, reqs, type, len, num))
#define TestCmdMockDomain(fd, pt, stdev, hwpt, idev) \
    ASSERT_EQ(0, ::iommusim::test::MockDomain(fd, pt, stdev, hwpt, idev))
#define TestCmdMockDomainReplace(fd, stdev, pt) ASSERT_EQ(0, ::iommusim::test::MockDomainReplace(fd, stdev, pt))
#define TestErrMockDomainReplace(err, fd, stdev, pt) EXPECT_EQ(err, ::iommusim::test::MockDomainReplace(fd, stdev, pt))
#define TestCmdCheckIotlb(fd, hwpt, id, value) ASSERT_EQ(0, ::iommusim::test::CheckIotlb(fd, hwpt, id, value))
#define TestCmdCheckIotlbAll(fd, hwpt, value)                                \
    do {                                                                     \
        for (uint32_t i_ = 0; i_ < MOCK_NESTED_DOMAIN_IOTLB_NUM; ++i_) {     \
            ASSERT_EQ(0, ::iommusim::test::CheckIotlb(fd, hwpt, i_, value)); \
        }                                                                    \
    } while (0)
