// VFIO type1 container compatibility (iommufd/vfio_compat.cc) against the C API with a selftest mock
// domain: IOMMU_VFIO_IOAS, VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU,
// VFIO_IOMMU_GET_INFO and its capability chain, VFIO_IOMMU_MAP_DMA / UNMAP_DMA, on /dev/iommu and
// /dev/vfio/vfio. Expected values come from include/uapi/linux/vfio.h and
// drivers/iommu/iommufd/vfio_compat.c (Linux 6.12 and newer).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "iommufd/iommufd_util.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t buffer_pages = 16;

// The ioctl's own return value, or -errno.
long Raw(int fd, unsigned long request, unsigned long arg) {
    const int rc = iommusim_ioctl(fd, request, reinterpret_cast<void*>(arg));
    return rc < 0 ? -errno : rc;
}

int VfioIoas(int fd, uint16_t op, uint32_t* ioas_id, uint32_t size = sizeof(iommu_vfio_ioas)) {
    alignas(8) unsigned char buf[32] = {};
    iommu_vfio_ioas cmd{};
    cmd.size = size;
    cmd.op = op;
    cmd.ioas_id = *ioas_id;
    std::memcpy(buf, &cmd, sizeof(cmd));
    const int rc = Ioctl(fd, IOMMU_VFIO_IOAS, buf);
    std::memcpy(&cmd, buf, sizeof(cmd));
    *ioas_id = cmd.ioas_id;
    return rc;
}

class VfioCompat : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        void* p = mmap(nullptr, buffer_pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(MAP_FAILED, p);
        m_buffer = static_cast<unsigned char*>(p);
        std::memset(m_buffer, 0x5a, buffer_pages * page);
    }
    void TearDown() override {
        munmap(m_buffer, buffer_pages * page);
        EXPECT_EQ(0, iommusim_close(m_fd));
    }
    // An IOAS with a mock domain made the compat IOAS, then SET_IOMMU(version): the kernel
    // selftest's vfio_compat_mock_domain fixture.
    void Container(unsigned long version) {
        TestCmdIoasAlloc(m_fd, &m_ioas);
        uint32_t stdev = 0, hwpt = 0, idev = 0;
        TestCmdMockDomain(m_fd, m_ioas, &stdev, &hwpt, &idev);
        uint32_t id = m_ioas;
        ASSERT_EQ(0, VfioIoas(m_fd, IOMMU_VFIO_IOAS_SET, &id));
        ASSERT_EQ(0, Raw(m_fd, VFIO_SET_IOMMU, version));
    }
    int MapDma(uint64_t iova, uint64_t offset, uint64_t size,
               uint32_t flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE) {
        vfio_iommu_type1_dma_map map{};
        map.argsz = sizeof(map);
        map.flags = flags;
        map.vaddr = reinterpret_cast<uint64_t>(m_buffer + offset);
        map.iova = iova;
        map.size = size;
        return Ioctl(m_fd, VFIO_IOMMU_MAP_DMA, &map);
    }
    int UnmapDma(uint64_t iova, uint64_t size, uint32_t flags = 0, uint64_t* unmapped = nullptr) {
        vfio_iommu_type1_dma_unmap unmap{};
        unmap.argsz = sizeof(unmap);
        unmap.flags = flags;
        unmap.iova = iova;
        unmap.size = size;
        const int rc = Ioctl(m_fd, VFIO_IOMMU_UNMAP_DMA, &unmap);
        if (unmapped != nullptr) {
            *unmapped = unmap.size;
        }
        return rc;
    }

    int m_fd = -1;
    uint32_t m_ioas = 0;
    unsigned char* m_buffer = nullptr;
};

TEST_F(VfioCompat, VfioIoasGetSetClear) {
    uint32_t id = 0;
    EXPECT_EQ(ENODEV, VfioIoas(m_fd, IOMMU_VFIO_IOAS_GET, &id));
    id = 99;
    EXPECT_EQ(ENOENT, VfioIoas(m_fd, IOMMU_VFIO_IOAS_SET, &id));
    uint32_t ioas = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    id = ioas;
    ASSERT_EQ(0, VfioIoas(m_fd, IOMMU_VFIO_IOAS_SET, &id));
    id = 0;
    ASSERT_EQ(0, VfioIoas(m_fd, IOMMU_VFIO_IOAS_GET, &id));
    EXPECT_EQ(ioas, id);
    ASSERT_EQ(0, VfioIoas(m_fd, IOMMU_VFIO_IOAS_CLEAR, &id));
    EXPECT_EQ(ENODEV, VfioIoas(m_fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(VfioCompat, VfioIoasRefusals) {
    uint32_t ioas = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    uint32_t id = ioas;
    EXPECT_EQ(EOPNOTSUPP, VfioIoas(m_fd, 3, &id));
    // Below offsetofend(__reserved) = 12 is EINVAL; a larger struct needs a zero tail.
    EXPECT_EQ(EINVAL, VfioIoas(m_fd, IOMMU_VFIO_IOAS_SET, &id, 11));
    EXPECT_EQ(0, VfioIoas(m_fd, IOMMU_VFIO_IOAS_SET, &id, 16));
    iommu_vfio_ioas cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_VFIO_IOAS_GET;
    cmd.__reserved = 1;
    EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_VFIO_IOAS, &cmd));
    alignas(8) unsigned char big[16] = {};
    cmd.__reserved = 0;
    std::memcpy(big, &cmd, sizeof(cmd));
    big[15] = 1;
    reinterpret_cast<iommu_vfio_ioas*>(big)->size = sizeof(big);
    EXPECT_EQ(E2BIG, Ioctl(m_fd, IOMMU_VFIO_IOAS, big));
}

TEST_F(VfioCompat, DestroyingTheCompatIoasClearsIt) {
    uint32_t ioas = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    uint32_t id = ioas;
    ASSERT_EQ(0, VfioIoas(m_fd, IOMMU_VFIO_IOAS_SET, &id));
    TestCmdDestroy(m_fd, ioas);
    EXPECT_EQ(ENODEV, VfioIoas(m_fd, IOMMU_VFIO_IOAS_GET, &id));
    // A new IOAS reusing the id is not the compat IOAS.
    uint32_t again = 0;
    TestCmdIoasAlloc(m_fd, &again);
    EXPECT_EQ(ioas, again);
    EXPECT_EQ(ENODEV, VfioIoas(m_fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(VfioCompat, ApiVersionAndExtensions) {
    EXPECT_EQ(0, Raw(m_fd, VFIO_GET_API_VERSION, 0));
    EXPECT_EQ(1, Raw(m_fd, VFIO_CHECK_EXTENSION, 1));   // VFIO_TYPE1_IOMMU
    EXPECT_EQ(1, Raw(m_fd, VFIO_CHECK_EXTENSION, 3));   // VFIO_TYPE1v2_IOMMU
    EXPECT_EQ(1, Raw(m_fd, VFIO_CHECK_EXTENSION, 9));   // VFIO_UNMAP_ALL
    EXPECT_EQ(0, Raw(m_fd, VFIO_CHECK_EXTENSION, 6));   // the withdrawn nesting type
    EXPECT_EQ(0, Raw(m_fd, VFIO_CHECK_EXTENSION, 10));  // VFIO_UPDATE_VADDR
    EXPECT_EQ(0, Raw(m_fd, VFIO_CHECK_EXTENSION, 2));   // SPAPR
    EXPECT_EQ(0, Raw(m_fd, VFIO_CHECK_EXTENSION, 12345));
    // DMA_CC asks the compat IOAS.
    EXPECT_EQ(-ENODEV, Raw(m_fd, VFIO_CHECK_EXTENSION, 4));
    Container(VFIO_TYPE1v2_IOMMU);
    EXPECT_EQ(1, Raw(m_fd, VFIO_CHECK_EXTENSION, 4));
}

TEST_F(VfioCompat, OtherContainerCommandsAreNotTty) {
    EXPECT_EQ(-ENOTTY, Raw(m_fd, VFIO_IOMMU_DIRTY_PAGES, 0));
    EXPECT_EQ(-ENOTTY, Raw(m_fd, VFIO_IOMMU_ENABLE, 0));
    EXPECT_EQ(-ENOTTY, Raw(m_fd, 0x3b7f, 0));  // VFIO_BASE + 27: the last number below iommufd's
}

TEST_F(VfioCompat, SetIommuRules) {
    // The type is checked before the compat IOAS.
    EXPECT_EQ(-EINVAL, Raw(m_fd, VFIO_SET_IOMMU, 2));
    EXPECT_EQ(-EINVAL, Raw(m_fd, VFIO_SET_IOMMU, 8));  // NOIOMMU: no no-IOMMU device in the model
    EXPECT_EQ(-ENODEV, Raw(m_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    EXPECT_EQ(-ENODEV, Raw(m_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
    Container(VFIO_TYPE1v2_IOMMU);
    // TYPE1 (no large pages) is refused once a domain holds a mapping, and allowed again after.
    ASSERT_EQ(0, MapDma(MOCK_APERTURE_START, 0, page));
    EXPECT_EQ(-EINVAL, Raw(m_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
    EXPECT_EQ(0, Raw(m_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
    ASSERT_EQ(0, UnmapDma(0, 0, VFIO_DMA_UNMAP_FLAG_ALL));
    EXPECT_EQ(0, Raw(m_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
}

TEST_F(VfioCompat, MapRefusals) {
    vfio_iommu_type1_dma_map map{};
    EXPECT_EQ(ENODEV, MapDma(MOCK_APERTURE_START, 0, page));  // flags fine, no compat IOAS
    map.argsz = sizeof(map) - 1;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, VFIO_IOMMU_MAP_DMA, &map));
    EXPECT_EQ(EINVAL, MapDma(MOCK_APERTURE_START, 0, page, 1U << 31));
    EXPECT_EQ(EINVAL, MapDma(MOCK_APERTURE_START, 0, page, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_VADDR));
    EXPECT_EQ(EFAULT, Ioctl(m_fd, VFIO_IOMMU_MAP_DMA, nullptr));
    Container(VFIO_TYPE1v2_IOMMU);
    // The IOAS map rules apply: no overlap.
    ASSERT_EQ(0, MapDma(MOCK_APERTURE_START, 0, 2 * page));
    EXPECT_EQ(EEXIST, MapDma(MOCK_APERTURE_START + page, 0, page));
}

TEST_F(VfioCompat, MapLandsInTheCompatIoas) {
    Container(VFIO_TYPE1v2_IOMMU);
    ASSERT_EQ(0, MapDma(MOCK_APERTURE_START, 0, 4 * page));
    // The area is the compat IOAS's: IOMMU_IOAS_UNMAP of it returns its length.
    uint64_t length = 0;
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas, MOCK_APERTURE_START, 4 * page, &length));
    EXPECT_EQ(4 * page, length);
}

TEST_F(VfioCompat, UnmapRules) {
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = 1;
    EXPECT_EQ(EINVAL, Ioctl(m_fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
    EXPECT_EQ(EINVAL, UnmapDma(MOCK_APERTURE_START, page, 1U << 31));
    EXPECT_EQ(EINVAL, UnmapDma(MOCK_APERTURE_START, page, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP));
    EXPECT_EQ(EINVAL, UnmapDma(MOCK_APERTURE_START, page, VFIO_DMA_UNMAP_FLAG_VADDR));
    EXPECT_EQ(ENODEV, UnmapDma(MOCK_APERTURE_START, page));
    Container(VFIO_TYPE1v2_IOMMU);
    uint64_t unmapped = 1;
    // Nothing mapped there: success with 0 bytes.
    EXPECT_EQ(0, UnmapDma(MOCK_APERTURE_START, page, 0, &unmapped));
    EXPECT_EQ(0U, unmapped);
    EXPECT_EQ(EINVAL, UnmapDma(MOCK_APERTURE_START, 0));
    EXPECT_EQ(EOVERFLOW, UnmapDma(2 * page, ~uint64_t{0}));
    ASSERT_EQ(0, MapDma(MOCK_APERTURE_START, 0, 4 * page));
    ASSERT_EQ(0, MapDma(MOCK_APERTURE_START + 8 * page, 8 * page, 2 * page));
    // TYPE1v2 does not cut a mapping.
    EXPECT_EQ(ENOENT, UnmapDma(MOCK_APERTURE_START + page, page));
    // UNMAP_FLAG_ALL needs iova and size 0, and unmaps every mapping.
    EXPECT_EQ(EINVAL, UnmapDma(MOCK_APERTURE_START, 0, VFIO_DMA_UNMAP_FLAG_ALL));
    EXPECT_EQ(EINVAL, UnmapDma(0, page, VFIO_DMA_UNMAP_FLAG_ALL));
    ASSERT_EQ(0, UnmapDma(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &unmapped));
    EXPECT_EQ(6 * page, unmapped);
    ASSERT_EQ(0, UnmapDma(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &unmapped));
    EXPECT_EQ(0U, unmapped);
}

TEST_F(VfioCompat, Type1UnmapCutsMappings) {
    Container(VFIO_TYPE1_IOMMU);
    ASSERT_EQ(0, MapDma(MOCK_APERTURE_START, 0, 8 * page));
    uint64_t unmapped = 0;
    ASSERT_EQ(0, UnmapDma(MOCK_APERTURE_START + 2 * page, 3 * page, 0, &unmapped));
    EXPECT_EQ(3 * page, unmapped);
    // Cuts need the IOVA alignment.
    EXPECT_EQ(EINVAL, UnmapDma(MOCK_APERTURE_START + 6 * page + 1, page));
    // What is left is two areas, [0, 2) and [5, 8) pages, each removable on its own.
    uint64_t length = 0;
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas, MOCK_APERTURE_START, 2 * page, &length));
    EXPECT_EQ(2 * page, length);
    EXPECT_EQ(0, IoasUnmap(m_fd, m_ioas, MOCK_APERTURE_START + 5 * page, 3 * page, &length));
    EXPECT_EQ(3 * page, length);
}

// GET_INFO's layout, from include/uapi/linux/vfio.h: the 24-byte info, then the DMA-avail
// capability (12 bytes, padded to 16), then the IOVA-range capability (16 + 16 per range).
constexpr uint32_t info_size = 24;
constexpr uint32_t dma_avail_at = info_size;
constexpr uint32_t iova_cap_at = dma_avail_at + 16;
constexpr uint32_t chain_end = iova_cap_at + 16 + 16;

struct info_buffer {
    alignas(8) unsigned char bytes[256];
    template <typename T>
    T at(std::size_t off) const {
        T v;
        std::memcpy(&v, bytes + off, sizeof(v));
        return v;
    }
};

int GetInfo(int fd, uint32_t argsz, info_buffer& b) {
    std::memset(b.bytes, 0xaa, sizeof(b.bytes));
    std::memset(b.bytes, 0, std::min<std::size_t>(argsz, info_size));
    std::memcpy(b.bytes, &argsz, sizeof(argsz));
    return Ioctl(fd, VFIO_IOMMU_GET_INFO, b.bytes);
}

bool UntouchedFrom(const info_buffer& b, std::size_t from) {
    for (std::size_t i = from; i < sizeof(b.bytes); ++i) {
        if (b.bytes[i] != 0xaa) {
            return false;
        }
    }
    return true;
}

TEST_F(VfioCompat, GetInfoRefusals) {
    info_buffer b;
    EXPECT_EQ(EINVAL, GetInfo(m_fd, 15, b));
    EXPECT_EQ(ENODEV, GetInfo(m_fd, info_size, b));
    EXPECT_EQ(EFAULT, Ioctl(m_fd, VFIO_IOMMU_GET_INFO, nullptr));
}

TEST_F(VfioCompat, GetInfoChain) {
    Container(VFIO_TYPE1v2_IOMMU);
    info_buffer b;
    // The pre-capability ABI (argsz 16): flags and page sizes, nothing written past argsz.
    ASSERT_EQ(0, GetInfo(m_fd, 16, b));
    EXPECT_EQ(uint32_t{VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS}, b.at<uint32_t>(4));
    EXPECT_EQ(page, b.at<uint64_t>(8));  // the mock domain, 4 KiB pages
    EXPECT_EQ(chain_end, b.at<uint32_t>(0));
    EXPECT_TRUE(UntouchedFrom(b, 16));
    // Room for the info only: no cap_offset, argsz names the size of the whole chain.
    ASSERT_EQ(0, GetInfo(m_fd, info_size, b));
    EXPECT_EQ(0U, b.at<uint32_t>(16));
    EXPECT_EQ(chain_end, b.at<uint32_t>(0));
    EXPECT_TRUE(UntouchedFrom(b, info_size));
    // Every size short of the chain: no cap_offset and nothing written past argsz.
    for (uint32_t argsz = info_size + 1; argsz < chain_end; ++argsz) {
        ASSERT_EQ(0, GetInfo(m_fd, argsz, b));
        EXPECT_EQ(0U, b.at<uint32_t>(16)) << argsz;
        EXPECT_TRUE(UntouchedFrom(b, argsz)) << argsz;
    }
    // The whole chain.
    ASSERT_EQ(0, GetInfo(m_fd, chain_end, b));
    EXPECT_EQ(chain_end, b.at<uint32_t>(0));
    EXPECT_EQ(info_size, b.at<uint32_t>(16));
    EXPECT_EQ(3, b.at<uint16_t>(dma_avail_at));  // VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
    EXPECT_EQ(1, b.at<uint16_t>(dma_avail_at + 2));
    EXPECT_EQ(iova_cap_at, b.at<uint32_t>(dma_avail_at + 4));
    EXPECT_EQ(0xffffffffU, b.at<uint32_t>(dma_avail_at + 8));
    EXPECT_EQ(1, b.at<uint16_t>(iova_cap_at));  // VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE
    EXPECT_EQ(1, b.at<uint16_t>(iova_cap_at + 2));
    EXPECT_EQ(0U, b.at<uint32_t>(iova_cap_at + 4));
    EXPECT_EQ(1U, b.at<uint32_t>(iova_cap_at + 8));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_START}, b.at<uint64_t>(iova_cap_at + 16));
    EXPECT_EQ(uint64_t{MOCK_APERTURE_LAST}, b.at<uint64_t>(iova_cap_at + 24));
    EXPECT_TRUE(UntouchedFrom(b, chain_end));
}

TEST_F(VfioCompat, GetInfoWithoutDomain) {
    uint32_t ioas = 0;
    TestCmdIoasAlloc(m_fd, &ioas);
    uint32_t id = ioas;
    ASSERT_EQ(0, VfioIoas(m_fd, IOMMU_VFIO_IOAS_SET, &id));
    info_buffer b;
    ASSERT_EQ(0, GetInfo(m_fd, chain_end, b));
    // No domain: every page size from the CPU page up; the whole IOVA space.
    EXPECT_EQ(~uint64_t{0xfff}, b.at<uint64_t>(8));
    EXPECT_EQ(0U, b.at<uint64_t>(iova_cap_at + 16));
    EXPECT_EQ(~uint64_t{0}, b.at<uint64_t>(iova_cap_at + 24));
}

TEST(VfioContainer, DevVfioVfioIsAnIommufd) {
    const int fd = iommusim_open("/dev/vfio/vfio", O_RDWR);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(0, Raw(fd, VFIO_GET_API_VERSION, 0));
    uint32_t ioas = 0;
    TestCmdIoasAlloc(fd, &ioas);
    uint32_t id = ioas;
    EXPECT_EQ(0, VfioIoas(fd, IOMMU_VFIO_IOAS_SET, &id));
    EXPECT_EQ(0, iommusim_close(fd));
}

}  // namespace
}  // namespace iommusim::test
