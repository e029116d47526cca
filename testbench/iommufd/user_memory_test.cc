// User memory behind IOMMU_IOAS_MAP that the program protects or takes away, through the C API on
// the VT-d platform: a writeable map of read-only memory is EFAULT at map time (the kernel pins with
// FOLL_WRITE), and a device DMA into memory the program has unmapped since is a target abort the
// device sees as -1/EFAULT (no VT-d fault reason) and the statistics count, never a signal.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "iommufd/iommufd_util.h"
#include "iommusim/iommusim.h"
#include "platform/platform.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint32_t rw = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;

// vfio0 bound to a fresh context with an IOAS; the device is attached to a plain paging HWPT.
class UserMemory : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        m_vfio = iommusim_open("/dev/vfio/devices/vfio0", O_RDWR);
        ASSERT_GE(m_vfio, 0);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = m_fd;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
        TestCmdHwptAlloc(m_fd, bind.out_devid, m_ioas_id, 0, &m_hwpt_id);
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.pt_id = m_hwpt_id;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_vfio));
        EXPECT_EQ(0, iommusim_close(m_fd));
    }
    static void* map_pages(std::size_t n, int prot) {
        void* p = mmap(nullptr, n * page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? nullptr : p;
    }
    // vfio0's statistics from the platform's JSON.
    static nlohmann::json device_stats() {
        return nlohmann::json::parse(platform::instance().stats_json())["platform"]["devices"][0];
    }

    int m_fd = -1;
    int m_vfio = -1;
    uint32_t m_ioas_id = 0;
    uint32_t m_hwpt_id = 0;
};

TEST_F(UserMemory, WriteableMapOfReadOnlyMemoryIsEfault) {
    auto* ro = static_cast<uint8_t*>(map_pages(2, PROT_READ | PROT_WRITE));
    ASSERT_NE(nullptr, ro);
    std::memset(ro, 0x6d, 2 * page);
    ASSERT_EQ(0, mprotect(ro + page, page, PROT_READ));  // only the second page is read-only
    uint64_t iova = 0x100000;
    EXPECT_EQ(EFAULT, IoasMap(m_fd, m_ioas_id, ro, 2 * page, &iova, rw | IOMMU_IOAS_MAP_FIXED_IOVA));
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_ioas_id, iova, 2 * page)) << "nothing was mapped";
    EXPECT_EQ(0x6d, ro[0]) << "the probe changed no user memory";
    // Read-only memory mapped readable only: the device reads it, and its write is an IOMMU fault.
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, ro + page, page, &iova, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
    uint8_t b = 0;
    ASSERT_EQ(0, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + 5, &b, 1, 0));
    EXPECT_EQ(0x6d, b);
    errno = 0;
    EXPECT_EQ(-1, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + 5, &b, 1, 1));
    EXPECT_EQ(EFAULT, errno);
    EXPECT_NE(0, iommusim_last_fault(m_vfio)) << "refused by the IOMMU, not by memory";
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, iova, page));
    munmap(ro, 2 * page);
}

TEST_F(UserMemory, DmaIntoMemoryTheProgramUnmappedIsATargetAbort) {
    auto* buf = static_cast<uint8_t*>(map_pages(2, PROT_READ | PROT_WRITE));
    ASSERT_NE(nullptr, buf);
    uint64_t iova = 0x200000;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, buf, 2 * page, &iova, rw | IOMMU_IOAS_MAP_FIXED_IOVA));
    const uint32_t value = 0x600dcafe;
    ASSERT_EQ(0, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + page + 8, const_cast<uint32_t*>(&value), 4, 1));
    uint32_t seen = 0;
    std::memcpy(&seen, buf + page + 8, 4);
    EXPECT_EQ(value, seen);
    const uint64_t aborts_before = device_stats()["target_aborts"];
    const auto faults_before = platform::instance().recorded_faults();  // earlier tests of the process may have some

    // The program gives the second page back to the system while it is still mapped in the IOAS.
    ASSERT_EQ(0, munmap(buf + page, page));
    errno = 0;
    EXPECT_EQ(-1, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + page + 8, const_cast<uint32_t*>(&value), 4, 1));
    EXPECT_EQ(EFAULT, errno);
    EXPECT_EQ(0, iommusim_last_fault(m_vfio)) << "translated fine: no VT-d fault reason";
    errno = 0;
    EXPECT_EQ(-1, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + page, &seen, 4, 0));
    EXPECT_EQ(EFAULT, errno);
    const nlohmann::json stats = device_stats();
    EXPECT_EQ(aborts_before + 2, stats["target_aborts"].get<uint64_t>());
    EXPECT_EQ(faults_before, platform::instance().recorded_faults()) << "no fault record: the IOMMU did not fault";

    // The page still mapped keeps working, and the area unmaps normally.
    ASSERT_EQ(0, iommusim_dma(m_vfio, IOMMU_NO_PASID, iova + 16, const_cast<uint32_t*>(&value), 4, 1));
    std::memcpy(&seen, buf + 16, 4);
    EXPECT_EQ(value, seen);
    uint64_t unmapped = 0;
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, iova, 2 * page, &unmapped));
    EXPECT_EQ(2 * page, unmapped);
    munmap(buf, page);
}

}  // namespace
}  // namespace iommusim::test
