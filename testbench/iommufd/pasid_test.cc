// PASID attach on the selftest mock (kernel tools/testing/selftests/iommu/iommufd.c
// iommufd_device_pasid; drivers/iommu/iommufd/device.c, selftest.c): IOMMU_TEST_OP_PASID_ATTACH,
// _REPLACE, _DETACH and _CHECK_HWPT (newer than 6.12), the IOMMU_HWPT_ALLOC_PASID rules, the
// attach/replace/detach lifecycle with its HWPT references, and the mock's failing second attach
// of PASID 1024 that shows a failed replace keeps the old HWPT.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <cerrno>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

int PasidOp(int fd, uint32_t op, uint32_t stdev_id, uint32_t pasid, uint32_t pt_id, uint32_t* out_pt = nullptr) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = op;
    cmd.id = stdev_id;
    cmd.pasid_attach.pasid = pasid;  // the four PASID ops share this layout (pasid, then pt_id/hwpt_id)
    cmd.pasid_attach.pt_id = pt_id;
    int err = Ioctl(fd, IOMMU_TEST_CMD, &cmd);
    if (err == 0 && out_pt != nullptr) {
        *out_pt = cmd.pasid_attach.pt_id;
    }
    return err;
}

// CHECK_HWPT: 1 when the PASID's domain is hwpt_id's (0: nothing attached), else 0; -1 with an errno.
int CheckHwpt(int fd, uint32_t stdev_id, uint32_t pasid, uint32_t hwpt_id, int* err = nullptr) {
    uint8_t result = 0xff;
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_PASID_CHECK_HWPT;
    cmd.id = stdev_id;
    cmd.pasid_check.pasid = pasid;
    cmd.pasid_check.hwpt_id = hwpt_id;
    cmd.pasid_check.out_result_ptr = reinterpret_cast<uint64_t>(&result);
    const int e = Ioctl(fd, IOMMU_TEST_CMD, &cmd);
    if (err != nullptr) {
        *err = e;
    }
    return e != 0 ? -1 : result;
}

class MockPasid : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas);
        ASSERT_EQ(0, MockDomainFlags(m_fd, m_ioas, MOCK_FLAGS_DEVICE_PASID, &m_stdev, &m_auto_hwpt, &m_idev));
    }
    void TearDown() override { EXPECT_EQ(0, iommusim_close(m_fd)); }

    int Attach(uint32_t pasid, uint32_t pt, uint32_t* out = nullptr) {
        return PasidOp(m_fd, IOMMU_TEST_OP_PASID_ATTACH, m_stdev, pasid, pt, out);
    }
    int Replace(uint32_t pasid, uint32_t pt, uint32_t* out = nullptr) {
        return PasidOp(m_fd, IOMMU_TEST_OP_PASID_REPLACE, m_stdev, pasid, pt, out);
    }
    int Detach(uint32_t pasid) { return PasidOp(m_fd, IOMMU_TEST_OP_PASID_DETACH, m_stdev, pasid, 0); }
    // RID (IOMMU_NO_PASID) onto a PASID-compatible paging HWPT, so PASIDs may be attached.
    uint32_t CompatRid() {
        uint32_t hwpt = 0;
        EXPECT_EQ(0, HwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_PASID, &hwpt));
        EXPECT_EQ(0, MockDomainReplace(m_fd, m_stdev, hwpt));
        return hwpt;
    }

    int m_fd = -1;
    uint32_t m_ioas = 0;
    uint32_t m_stdev = 0;
    uint32_t m_auto_hwpt = 0;
    uint32_t m_idev = 0;
};

TEST_F(MockPasid, HwInfoReportsTheMockPasidWidth) {
    iommu_test_hw_info info{};
    iommu_hw_info cmd{};
    cmd.size = sizeof(cmd);
    cmd.dev_id = m_idev;
    cmd.data_len = sizeof(info);
    cmd.data_uptr = reinterpret_cast<uint64_t>(&info);
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
    EXPECT_EQ(20u, cmd.out_max_pasid_log2);  // MOCK_PASID_WIDTH
}

TEST_F(MockPasid, RidOnAnAutomaticDomainBlocksPasidAttach) {
    uint32_t compat = 0;
    ASSERT_EQ(0, HwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_PASID, &compat));
    // The RID's automatic domain was allocated without IOMMU_HWPT_ALLOC_PASID.
    EXPECT_EQ(EINVAL, Attach(100, compat));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, 100, 0)) << "nothing attached";
    ASSERT_EQ(0, MockDomainReplace(m_fd, m_stdev, compat));
    EXPECT_EQ(0, Attach(100, compat));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, 100, compat));
}

TEST_F(MockPasid, AttachReplaceDetachLifecycle) {
    const uint32_t rid_hwpt = CompatRid();
    uint32_t parent = 0;
    ASSERT_EQ(0, HwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID, &parent));
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    uint32_t nested[2] = {};
    uint32_t plain_nested = 0;
    for (uint32_t& n : nested) {
        ASSERT_EQ(0, HwptAlloc(m_fd, m_idev, parent, IOMMU_HWPT_ALLOC_PASID, &n, IOMMU_HWPT_DATA_SELFTEST, &data,
                               sizeof(data)));
    }
    ASSERT_EQ(0, HwptAlloc(m_fd, m_idev, parent, 0, &plain_nested, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));

    const uint32_t pasid = 100;
    // Replace needs an attachment; attach writes pt_id back.
    EXPECT_EQ(EINVAL, Replace(pasid, nested[0]));
    uint32_t out = 0;
    ASSERT_EQ(0, Attach(pasid, nested[0], &out));
    EXPECT_EQ(nested[0], out);
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, pasid, nested[0]));
    EXPECT_EQ(0, CheckHwpt(m_fd, m_stdev, pasid, nested[1]));
    EXPECT_EQ(0, CheckHwpt(m_fd, m_stdev, pasid, 0)) << "something is attached";
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, pasid + 1, 0));
    // A second attach of the same PASID is EBUSY, whatever the HWPT.
    EXPECT_EQ(EBUSY, Attach(pasid, nested[0]));
    EXPECT_EQ(EBUSY, Attach(pasid, nested[1]));
    // Replace onto an incompatible HWPT fails and keeps the old one.
    EXPECT_EQ(EINVAL, Replace(pasid, plain_nested));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, pasid, nested[0]));
    ASSERT_EQ(0, Replace(pasid, nested[1]));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, pasid, nested[1]));
    // The attachment holds its HWPT; the replaced one is free again.
    TestErrDestroy(EBUSY, m_fd, nested[1]);
    TestCmdDestroy(m_fd, nested[0]);
    // A paging HWPT on a second PASID, then the RID may not go to an incompatible HWPT.
    ASSERT_EQ(0, Attach(pasid + 1, rid_hwpt));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, pasid + 1, rid_hwpt));
    EXPECT_EQ(EINVAL, MockDomainReplace(m_fd, m_stdev, m_ioas)) << "the automatic domain is not PASID-compatible";
    ASSERT_EQ(0, Detach(pasid));
    ASSERT_EQ(0, Detach(pasid));  // nothing attached: nothing to do
    ASSERT_EQ(0, Detach(pasid + 1));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, pasid, 0));
    TestCmdDestroy(m_fd, nested[1]);
    EXPECT_EQ(0, MockDomainReplace(m_fd, m_stdev, m_ioas)) << "no PASID attached any more";
}

TEST_F(MockPasid, AttachToAnIoasGetsAnAutomaticDomainWhichIsNotCompatible) {
    CompatRid();
    // Kernel iommufd_device_auto_get_domain allocates without flags: never PASID-compatible.
    EXPECT_EQ(EINVAL, Attach(7, m_ioas));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, 7, 0));
}

TEST_F(MockPasid, Refusals) {
    const uint32_t compat = CompatRid();
    EXPECT_EQ(EINVAL, Attach(0, compat)) << "IOMMU_NO_PASID";
    EXPECT_EQ(EINVAL, Attach(1u << 20, compat)) << "beyond MOCK_PASID_WIDTH";
    EXPECT_EQ(0, Attach((1u << 20) - 1, compat));
    EXPECT_EQ(ENOENT, Attach(3, 9999));
    EXPECT_EQ(EINVAL, Attach(3, m_idev)) << "a device is not a page table";
    EXPECT_EQ(ENOENT, PasidOp(m_fd, IOMMU_TEST_OP_PASID_ATTACH, m_idev, 3, compat)) << "not a selftest object";
    int err = 0;
    EXPECT_EQ(-1, CheckHwpt(m_fd, m_stdev, 3, 9999, &err));
    EXPECT_EQ(ENOENT, err);
    EXPECT_EQ(-1, CheckHwpt(m_fd, m_stdev, 3, m_ioas, &err));
    EXPECT_EQ(EINVAL, err) << "an IOAS is not a HWPT";

    // A device without MOCK_FLAGS_DEVICE_PASID has no PASIDs: every PASID is beyond its width.
    uint32_t stdev = 0, idev = 0, hwpt = 0;
    ASSERT_EQ(0, MockDomain(m_fd, m_ioas, &stdev, nullptr, &idev));
    ASSERT_EQ(0, HwptAlloc(m_fd, idev, m_ioas, IOMMU_HWPT_ALLOC_PASID, &hwpt));
    ASSERT_EQ(0, MockDomainReplace(m_fd, stdev, hwpt));
    EXPECT_EQ(EINVAL, PasidOp(m_fd, IOMMU_TEST_OP_PASID_ATTACH, stdev, 1, hwpt));
}

TEST_F(MockPasid, FailedReplaceKeepsTheOldHwpt) {
    CompatRid();
    uint32_t a = 0, b = 0;
    ASSERT_EQ(0, HwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_PASID, &a));
    ASSERT_EQ(0, HwptAlloc(m_fd, m_idev, m_ioas, IOMMU_HWPT_ALLOC_PASID, &b));
    // The mock fails every second set_dev_pasid of PASID 1024 with ENOMEM.
    ASSERT_EQ(0, Attach(1024, a));
    EXPECT_EQ(ENOMEM, Replace(1024, b));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, 1024, a));
    TestErrDestroy(EBUSY, m_fd, a);
    TestCmdDestroy(m_fd, b);  // the failed replace took no reference
    // Detaching (blocking) clears the mock's flag: attach works again.
    ASSERT_EQ(0, Detach(1024));
    ASSERT_EQ(0, Attach(1024, a));
    EXPECT_EQ(1, CheckHwpt(m_fd, m_stdev, 1024, a));
}

TEST_F(MockPasid, DestroyingTheDeviceDetachesItsPasids) {
    const uint32_t compat = CompatRid();
    ASSERT_EQ(0, Attach(5, compat));
    ASSERT_EQ(0, Attach(6, compat));
    TestErrDestroy(EBUSY, m_fd, compat);
    TestCmdDestroy(m_fd, m_stdev);
    TestCmdDestroy(m_fd, compat);
}

}  // namespace
}  // namespace iommusim::test
