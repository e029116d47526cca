// vIOMMU, vDEVICE and vEVENTQ through the C API with the selftest mock (kernel viommu.c, eventq.c,
// selftest.c mock_viommu_*; the semantics tools/testing/selftests/iommu/iommufd.c
// FIXTURE(iommufd_viommu) checks): each ioctl's errno paths, object lifetimes, nested HWPTs and
// cache invalidation through a vIOMMU, and the vEVENTQ fd's records, sequence numbers, lost
// events and poll readiness. Expected values are the uAPI's (include/uapi/linux/iommufd.h) and
// the mock's (IOMMU_TEST_DEV_CACHE_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

int ViommuAlloc(int fd, uint32_t dev_id, uint32_t hwpt_id, uint32_t type, uint32_t* out_id, uint32_t flags = 0) {
    iommu_viommu_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = flags;
    cmd.type = type;
    cmd.dev_id = dev_id;
    cmd.hwpt_id = hwpt_id;
    int rc = Ioctl(fd, IOMMU_VIOMMU_ALLOC, &cmd);
    if (rc == 0 && out_id != nullptr) {
        *out_id = cmd.out_viommu_id;
    }
    return rc;
}

int VdeviceAlloc(int fd, uint32_t viommu_id, uint32_t dev_id, uint64_t virt_id, uint32_t* out_id) {
    iommu_vdevice_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.viommu_id = viommu_id;
    cmd.dev_id = dev_id;
    cmd.virt_id = virt_id;
    int rc = Ioctl(fd, IOMMU_VDEVICE_ALLOC, &cmd);
    if (rc == 0 && out_id != nullptr) {
        *out_id = cmd.out_vdevice_id;
    }
    return rc;
}

int VeventqAlloc(int fd, uint32_t viommu_id, uint32_t type, uint32_t depth, uint32_t* out_id, int* out_fd) {
    iommu_veventq_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.viommu_id = viommu_id;
    cmd.type = type;
    cmd.veventq_depth = depth;
    int rc = Ioctl(fd, IOMMU_VEVENTQ_ALLOC, &cmd);
    if (rc == 0) {
        if (out_id != nullptr) {
            *out_id = cmd.out_veventq_id;
        }
        if (out_fd != nullptr) {
            *out_fd = static_cast<int>(cmd.out_veventq_fd);
        }
    }
    return rc;
}

int TriggerVevent(int fd, uint32_t dev_id) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_TRIGGER_VEVENT;
    cmd.trigger_vevent.dev_id = dev_id;
    return Ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

// One selftest vEVENT record as read(2) returns it: header then the virt_id.
struct selftest_record {
    iommufd_vevent_header header;
    iommu_viommu_event_selftest event;
};
static_assert(sizeof(selftest_record) == 12);

class Viommu : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
        ASSERT_EQ(0, MockDomain(m_fd, m_ioas_id, &m_stdev_id, &m_hwpt_id, &m_dev_id));
        ASSERT_EQ(0, HwptAlloc(m_fd, m_dev_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT, &m_parent_id));
    }
    void TearDown() override {
        if (m_veventq_fd >= 0) {
            iommusim_close(m_veventq_fd);
        }
        iommusim_close(m_fd);
    }
    // vIOMMU, vdevice of virt_id, nested HWPT of the vIOMMU with the device attached to it.
    void Nest(uint64_t virt_id) {
        ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
        ASSERT_EQ(0, VdeviceAlloc(m_fd, m_viommu_id, m_dev_id, virt_id, &m_vdev_id));
        iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
        ASSERT_EQ(
            0, HwptAlloc(m_fd, m_dev_id, m_viommu_id, 0, &m_nested_id, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
        ASSERT_EQ(0, MockDomainReplace(m_fd, m_stdev_id, m_nested_id));
    }
    int Invalidate(const std::vector<iommu_viommu_invalidate_selftest>& inv, uint32_t* num,
                   uint32_t type = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) {
        return HwptInvalidate(m_fd, m_viommu_id, inv.data(), type, sizeof(iommu_viommu_invalidate_selftest), num);
    }

    int m_fd = -1;
    int m_veventq_fd = -1;
    uint32_t m_ioas_id = 0, m_stdev_id = 0, m_hwpt_id = 0, m_dev_id = 0, m_parent_id = 0;
    uint32_t m_viommu_id = 0, m_vdev_id = 0, m_nested_id = 0;
};

TEST_F(Viommu, AllocRefusals) {
    uint32_t id = 0;
    EXPECT_EQ(EOPNOTSUPP, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_DEFAULT, &id));
    EXPECT_EQ(EOPNOTSUPP, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &id, 1));
    EXPECT_EQ(ENOENT, ViommuAlloc(m_fd, 9999, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &id));
    // The mock has no ARM SMMUv3 vIOMMU: refused before the HWPT is looked at.
    EXPECT_EQ(EOPNOTSUPP, ViommuAlloc(m_fd, m_dev_id, 9999, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, &id));
    EXPECT_EQ(ENOENT, ViommuAlloc(m_fd, m_dev_id, 9999, IOMMU_VIOMMU_TYPE_SELFTEST, &id));
    EXPECT_EQ(ENOENT, ViommuAlloc(m_fd, m_dev_id, m_ioas_id, IOMMU_VIOMMU_TYPE_SELFTEST, &id));
    // The automatic domain of the mock device is not a nest parent.
    EXPECT_EQ(EINVAL, ViommuAlloc(m_fd, m_dev_id, m_hwpt_id, IOMMU_VIOMMU_TYPE_SELFTEST, &id));
    // Below offsetofend(out_viommu_id) = 24 bytes.
    iommu_viommu_alloc small{};
    small.size = 20;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, IOMMU_VIOMMU_ALLOC, &small));
}

TEST_F(Viommu, LifetimesHoldTheParentAndTheVIommu) {
    ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    EXPECT_EQ(EBUSY, Destroy(m_fd, m_parent_id));
    ASSERT_EQ(0, VdeviceAlloc(m_fd, m_viommu_id, m_dev_id, 0x99, &m_vdev_id));
    EXPECT_EQ(EBUSY, Destroy(m_fd, m_viommu_id));
    EXPECT_EQ(0, Destroy(m_fd, m_vdev_id));
    uint32_t q = 0;
    ASSERT_EQ(0, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &q, &m_veventq_fd));
    EXPECT_EQ(EBUSY, Destroy(m_fd, m_viommu_id));
    EXPECT_EQ(EBUSY, Destroy(m_fd, q));  // its fd is open
    ASSERT_EQ(0, iommusim_close(m_veventq_fd));
    m_veventq_fd = -1;
    EXPECT_EQ(0, Destroy(m_fd, q));
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    uint32_t nested = 0;
    ASSERT_EQ(0, HwptAlloc(m_fd, m_dev_id, m_viommu_id, 0, &nested, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    EXPECT_EQ(EBUSY, Destroy(m_fd, m_viommu_id));
    EXPECT_EQ(0, Destroy(m_fd, nested));
    EXPECT_EQ(0, Destroy(m_fd, m_viommu_id));
    EXPECT_EQ(0, Destroy(m_fd, m_parent_id));
}

TEST_F(Viommu, VdeviceRefusals) {
    ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    uint32_t id = 0;
    EXPECT_EQ(ENOENT, VdeviceAlloc(m_fd, 9999, m_dev_id, 1, &id));
    EXPECT_EQ(ENOENT, VdeviceAlloc(m_fd, m_parent_id, m_dev_id, 1, &id));  // not a vIOMMU
    EXPECT_EQ(ENOENT, VdeviceAlloc(m_fd, m_viommu_id, 9999, 1, &id));
    ASSERT_EQ(0, VdeviceAlloc(m_fd, m_viommu_id, m_dev_id, 1, &m_vdev_id));
    // One vdevice per device, even with another virt_id.
    EXPECT_EQ(EEXIST, VdeviceAlloc(m_fd, m_viommu_id, m_dev_id, 2, &id));
    uint32_t stdev2 = 0, hwpt2 = 0, dev2 = 0;
    ASSERT_EQ(0, MockDomain(m_fd, m_ioas_id, &stdev2, &hwpt2, &dev2));
    // One device per virt_id.
    EXPECT_EQ(EEXIST, VdeviceAlloc(m_fd, m_viommu_id, dev2, 1, &id));
    EXPECT_EQ(0, VdeviceAlloc(m_fd, m_viommu_id, dev2, 2, &id));
}

TEST_F(Viommu, UnbindDestroysTheVdevice) {
    ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    uint32_t stdev2 = 0, hwpt2 = 0, dev2 = 0, vdev2 = 0;
    ASSERT_EQ(0, MockDomain(m_fd, m_ioas_id, &stdev2, &hwpt2, &dev2));
    ASSERT_EQ(0, VdeviceAlloc(m_fd, m_viommu_id, dev2, 7, &vdev2));
    EXPECT_EQ(0, Destroy(m_fd, stdev2));  // unbinds dev2
    EXPECT_EQ(ENOENT, Destroy(m_fd, vdev2));
    EXPECT_EQ(0, Destroy(m_fd, m_viommu_id));
}

TEST_F(Viommu, NestedHwptThroughTheVIommu) {
    ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    uint32_t id = 0;
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_dev_id, m_viommu_id, IOMMU_HWPT_ALLOC_NEST_PARENT, &id,
                                    IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_dev_id, m_viommu_id, 0, &id));  // no data
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_dev_id, m_viommu_id, 0, &id, IOMMU_HWPT_DATA_VTD_S1, &data, sizeof(data)));
    uint32_t pasid_capable = 0;
    ASSERT_EQ(0, HwptAlloc(m_fd, m_dev_id, m_viommu_id, IOMMU_HWPT_ALLOC_PASID, &pasid_capable,
                           IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    EXPECT_EQ(0, Destroy(m_fd, pasid_capable));
    ASSERT_EQ(0, HwptAlloc(m_fd, m_dev_id, m_viommu_id, 0, &id, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; ++i) {
        EXPECT_EQ(0, CheckIotlb(m_fd, id, i, IOMMU_TEST_IOTLB_DEFAULT));
    }
    ASSERT_EQ(0, MockDomainReplace(m_fd, m_stdev_id, id));
    EXPECT_EQ(EBUSY, Destroy(m_fd, id));
    ASSERT_EQ(0, MockDomainReplace(m_fd, m_stdev_id, m_parent_id));
    EXPECT_EQ(0, Destroy(m_fd, id));
}

TEST_F(Viommu, CacheInvalidation) {
    Nest(0x99);
    for (uint32_t i = 0; i < MOCK_DEV_CACHE_NUM; ++i) {
        EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, i, IOMMU_TEST_DEV_CACHE_DEFAULT));
    }
    uint32_t num = 1;
    std::vector<iommu_viommu_invalidate_selftest> inv{{0, 0x99, 0}};
    EXPECT_EQ(EINVAL, Invalidate(inv, &num, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID));
    EXPECT_EQ(0u, num);
    num = 0;  // an empty array of the right type only checks the type
    EXPECT_EQ(0, Invalidate(inv, &num));
    EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, 0, IOMMU_TEST_DEV_CACHE_DEFAULT));
    // Entry 1 has an unknown flag: entry 0 is done, the count says 1.
    inv = {{0, 0x99, 1}, {0xffff, 0x99, 2}};
    num = 2;
    EXPECT_EQ(EOPNOTSUPP, Invalidate(inv, &num));
    EXPECT_EQ(1u, num);
    EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, 1, 0));
    EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, 2, IOMMU_TEST_DEV_CACHE_DEFAULT));
    inv = {{0, 0x99, MOCK_DEV_CACHE_ID_MAX + 1}};
    num = 1;
    EXPECT_EQ(EINVAL, Invalidate(inv, &num));
    EXPECT_EQ(0u, num);
    inv = {{0, 0x98, 2}};  // no vdevice has virt_id 0x98
    num = 1;
    EXPECT_EQ(EINVAL, Invalidate(inv, &num));
    EXPECT_EQ(0u, num);
    EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, 2, IOMMU_TEST_DEV_CACHE_DEFAULT));
    inv = {{0, 0x99, 2}, {0, 0x99, 3}};
    num = 2;
    EXPECT_EQ(0, Invalidate(inv, &num));
    EXPECT_EQ(2u, num);
    EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, 0, IOMMU_TEST_DEV_CACHE_DEFAULT));
    EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, 3, 0));
    inv = {{IOMMU_TEST_INVALIDATE_FLAG_ALL, 0x99, 0}};
    num = 1;
    EXPECT_EQ(0, Invalidate(inv, &num));
    for (uint32_t i = 0; i < MOCK_DEV_CACHE_NUM; ++i) {
        EXPECT_EQ(0, DevCheckCache(m_fd, m_dev_id, i, 0));
    }
    // The nested HWPT's own invalidation stays the nested domain's.
    std::array<iommu_hwpt_invalidate_selftest, 1> hinv{{{IOMMU_TEST_INVALIDATE_FLAG_ALL, 0}}};
    num = 1;
    EXPECT_EQ(
        0, HwptInvalidate(m_fd, m_nested_id, hinv.data(), IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(hinv[0]), &num));
    EXPECT_EQ(0, CheckIotlb(m_fd, m_nested_id, 0, 0));
}

TEST_F(Viommu, VeventqRefusals) {
    ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    uint32_t id = 0;
    int qfd = -1;
    EXPECT_EQ(EOPNOTSUPP, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_DEFAULT, 2, &id, &qfd));
    EXPECT_EQ(EINVAL, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 0, &id, &qfd));
    EXPECT_EQ(ENOENT, VeventqAlloc(m_fd, 9999, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &id, &qfd));
    iommu_veventq_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.viommu_id = m_viommu_id;
    cmd.type = IOMMU_VEVENTQ_TYPE_SELFTEST;
    cmd.veventq_depth = 2;
    cmd.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_VEVENTQ_ALLOC, &cmd));
    ASSERT_EQ(0, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &id, &m_veventq_fd));
    EXPECT_EQ(EEXIST, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 4, &id, &qfd));
    // Another type is another queue.
    int arm_fd = -1;
    uint32_t arm_id = 0;
    ASSERT_EQ(0, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 1, &arm_id, &arm_fd));
    EXPECT_EQ(0, iommusim_close(arm_fd));
    EXPECT_EQ(0, Destroy(m_fd, arm_id));
}

TEST_F(Viommu, TriggerVeventNeedsAttachmentVdeviceAndQueue) {
    ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    EXPECT_EQ(ENOENT, TriggerVevent(m_fd, 9999));
    EXPECT_EQ(ENOENT, TriggerVevent(m_fd, m_dev_id));  // not attached to a nested HWPT of a vIOMMU
    Destroy(m_fd, m_viommu_id);
    Nest(0x99);
    EXPECT_EQ(EOPNOTSUPP, TriggerVevent(m_fd, m_dev_id));  // no selftest vEVENTQ
}

TEST_F(Viommu, VeventRecordsSequenceAndLostEvents) {
    Nest(0x99);
    uint32_t q = 0;
    ASSERT_EQ(0, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 2, &q, &m_veventq_fd));
    std::array<unsigned char, 64> buf{};
    EXPECT_EQ(0, iommusim_read(m_veventq_fd, buf.data(), buf.size()));  // empty: 0 bytes
    EXPECT_EQ(POLLOUT, iommusim_poll(m_veventq_fd));
    ASSERT_EQ(0, TriggerVevent(m_fd, m_dev_id));
    EXPECT_EQ(POLLOUT | POLLIN | POLLRDNORM, iommusim_poll(m_veventq_fd));
    // A buffer too small for the whole record reads nothing and keeps it.
    EXPECT_EQ(0, iommusim_read(m_veventq_fd, buf.data(), 11));
    selftest_record rec[3]{};
    ASSERT_EQ(12, iommusim_read(m_veventq_fd, rec, sizeof(rec)));
    EXPECT_EQ(0u, rec[0].header.flags);
    EXPECT_EQ(0u, rec[0].header.sequence);
    EXPECT_EQ(0x99u, rec[0].event.virt_id);
    EXPECT_EQ(POLLOUT, iommusim_poll(m_veventq_fd));
    // Depth 2: the third and fourth events are lost; one lost-events header, last, with the
    // sequence number after theirs... the fourth replaces the third's header.
    for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(0, TriggerVevent(m_fd, m_dev_id));
    }
    std::array<unsigned char, 64> out{};
    ASSERT_EQ(12 + 12 + 8, iommusim_read(m_veventq_fd, out.data(), out.size()));
    iommufd_vevent_header h{};
    iommu_viommu_event_selftest e{};
    std::memcpy(&h, out.data(), sizeof(h));
    std::memcpy(&e, out.data() + 8, sizeof(e));
    EXPECT_EQ(0u, h.flags);
    EXPECT_EQ(1u, h.sequence);
    EXPECT_EQ(0x99u, e.virt_id);
    std::memcpy(&h, out.data() + 12, sizeof(h));
    EXPECT_EQ(0u, h.flags);
    EXPECT_EQ(2u, h.sequence);
    std::memcpy(&h, out.data() + 24, sizeof(h));
    EXPECT_EQ(uint32_t{IOMMU_VEVENTQ_FLAG_LOST_EVENTS}, h.flags);
    EXPECT_EQ(4u, h.sequence);  // 3 went to the first header, which the second replaced
    // Room again: the next event follows with the next sequence number.
    ASSERT_EQ(0, TriggerVevent(m_fd, m_dev_id));
    ASSERT_EQ(12, iommusim_read(m_veventq_fd, rec, sizeof(rec)));
    EXPECT_EQ(5u, rec[0].header.sequence);
    // No write op.
    EXPECT_EQ(-1, iommusim_write(m_veventq_fd, rec, sizeof(rec[0])));
    EXPECT_EQ(EINVAL, errno);
}

TEST_F(Viommu, LostEventsHeaderGivesWayToANewEvent) {
    Nest(5);
    uint32_t q = 0;
    ASSERT_EQ(0, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 1, &q, &m_veventq_fd));
    ASSERT_EQ(0, TriggerVevent(m_fd, m_dev_id));  // sequence 0
    ASSERT_EQ(0, TriggerVevent(m_fd, m_dev_id));  // lost: header with sequence 1
    // Reading just the first record frees the depth; the header stays last.
    selftest_record rec{};
    ASSERT_EQ(12, iommusim_read(m_veventq_fd, &rec, sizeof(rec)));
    EXPECT_EQ(0u, rec.header.sequence);
    ASSERT_EQ(0, TriggerVevent(m_fd, m_dev_id));  // replaces the header: sequence 2
    std::array<unsigned char, 64> out{};
    ASSERT_EQ(12, iommusim_read(m_veventq_fd, out.data(), out.size()));
    iommufd_vevent_header h{};
    std::memcpy(&h, out.data(), sizeof(h));
    EXPECT_EQ(0u, h.flags);
    EXPECT_EQ(2u, h.sequence);
}

TEST_F(Viommu, VirtIdZeroHasNoEvents) {
    Nest(0);
    uint32_t q = 0;
    ASSERT_EQ(0, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 1, &q, &m_veventq_fd));
    EXPECT_EQ(ENOENT, TriggerVevent(m_fd, m_dev_id));
}

// A failed object allocation (fail-nth ENOMEM) leaves nothing behind: the next success takes the
// same lowest free id, and what the failed object would have held stays free.
TEST_F(Viommu, FailedAllocationsLeaveNothing) {
    // ids so far: IOAS 1, selftest 2, device 3, automatic HWPT 4, nest parent 5.
    ASSERT_EQ(5u, m_parent_id);
    iommusim_fail_nth_set(1);
    EXPECT_EQ(ENOMEM, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    ASSERT_EQ(0, ViommuAlloc(m_fd, m_dev_id, m_parent_id, IOMMU_VIOMMU_TYPE_SELFTEST, &m_viommu_id));
    EXPECT_EQ(6u, m_viommu_id);
    iommusim_fail_nth_set(1);
    EXPECT_EQ(ENOMEM, VdeviceAlloc(m_fd, m_viommu_id, m_dev_id, 3, &m_vdev_id));
    ASSERT_EQ(0, VdeviceAlloc(m_fd, m_viommu_id, m_dev_id, 3, &m_vdev_id));  // virt_id 3 still free
    EXPECT_EQ(7u, m_vdev_id);
    uint32_t q = 0;
    iommusim_fail_nth_set(1);
    EXPECT_EQ(ENOMEM, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 1, &q, &m_veventq_fd));
    ASSERT_EQ(0, VeventqAlloc(m_fd, m_viommu_id, IOMMU_VEVENTQ_TYPE_SELFTEST, 1, &q, &m_veventq_fd));  // no EEXIST
    EXPECT_EQ(8u, q);
    iommu_hwpt_selftest data{IOMMU_TEST_IOTLB_DEFAULT};
    iommusim_fail_nth_set(1);
    EXPECT_EQ(ENOMEM,
              HwptAlloc(m_fd, m_dev_id, m_viommu_id, 0, &m_nested_id, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    iommusim_fail_nth_set(0);
    // The vIOMMU is held by its vdevice and vEVENTQ only.
    EXPECT_EQ(0, Destroy(m_fd, m_vdev_id));
    ASSERT_EQ(0, iommusim_close(m_veventq_fd));
    m_veventq_fd = -1;
    EXPECT_EQ(0, Destroy(m_fd, q));
    EXPECT_EQ(0, Destroy(m_fd, m_viommu_id));
}

}  // namespace
}  // namespace iommusim::test
