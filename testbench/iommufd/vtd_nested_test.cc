// VT-d nested translation end to end through the C API: VFIO cdev bind, IOAS map of a host
// buffer, nest parent, guest stage-1 tables written into that buffer, nested HWPT, attach, DMA,
// PTE edit, the stale DMA the checker reports, IOMMU_HWPT_INVALIDATE, fresh DMA. Also every VT-d
// errno path of HWPT_ALLOC / HWPT_INVALIDATE / GET_HW_INFO (spec §2.2, §4.1, §4.2, §4.4) and the
// VFIO cdev rules. The platform is process-wide; each test builds and tears down its own context.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "driver/hw_bus.h"
#include "iommufd/iommufd_util.h"
#include "iommusim/hw/vtd_fault.h"
#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_regs.h"
#include "platform/platform.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t guest_base_gpa = 0x100000;  // where the guest buffer sits in the IOAS
constexpr unsigned guest_pages = 16;
constexpr uint64_t guest_iova = 0x40000000;  // stage-1 input address used for DMA
// Pages of the guest buffer.
constexpr unsigned pml4_page = 0, pdpt_page = 1, pd_page = 2, pt_page = 3, data_a = 4, data_b = 5, data_c = 6;

uint64_t fs_entry(uint64_t gpa) {
    using namespace hw;
    return fs_pte::p::make(1) | fs_pte::rw::make(1) | fs_pte::us::make(1) | fs_pte::addr::make(gpa >> 12);
}

void ConfigurePlatform() {
    iommusim_config config{};
    config.stale_check = 1;
    // Only the first configuration of the process counts (EBUSY afterwards).
    (void)iommusim_configure(&config);
}

class VtdNested : public ::testing::Test {
  protected:
    void SetUp() override {
        ConfigurePlatform();
        m_guest = static_cast<uint8_t*>(std::aligned_alloc(page, guest_pages * page));
        ASSERT_NE(nullptr, m_guest);
        std::memset(m_guest, 0, guest_pages * page);
        std::memset(gpage(data_a), 0xa1, page);
        std::memset(gpage(data_b), 0xb2, page);
        // Guest stage-1: PML4 -> PDPT -> PD -> PT -> data A, for guest_iova.
        set_entry(pml4_page, hw::pt_index(guest_iova, 4), gpa(pdpt_page));
        set_entry(pdpt_page, hw::pt_index(guest_iova, 3), gpa(pd_page));
        set_entry(pd_page, hw::pt_index(guest_iova, 2), gpa(pt_page));
        set_entry(pt_page, hw::pt_index(guest_iova, 1), gpa(data_a));

        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        m_vfio = iommusim_open(("/dev/vfio/devices/vfio" + std::to_string(device_index())).c_str(), O_RDWR);
        ASSERT_GE(m_vfio, 0);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = m_fd;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
        m_dev_id = bind.out_devid;
        ASSERT_NE(0u, m_dev_id);
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
        uint64_t iova = guest_base_gpa;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, m_guest, guest_pages * page, &iova,
                             IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
        TestCmdHwptAlloc(m_fd, m_dev_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT, &m_parent_id);
    }
    void TearDown() override {
        if (m_vfio >= 0) {
            EXPECT_EQ(0, iommusim_close(m_vfio));
        }
        if (m_fd >= 0) {
            EXPECT_EQ(0, iommusim_close(m_fd));
        }
        std::free(m_guest);
    }

    // The platform device under test (default configuration: vfio0 without ATS, vfio1 with ATS).
    virtual unsigned device_index() const { return 0; }
    void RunDmaInvalidateFlow();

    uint8_t* gpage(unsigned n) { return m_guest + n * page; }
    static uint64_t gpa(unsigned n) { return guest_base_gpa + n * page; }
    void set_entry(unsigned table_page, unsigned index, uint64_t target_gpa) {
        uint64_t e = fs_entry(target_gpa);
        std::memcpy(gpage(table_page) + index * sizeof(uint64_t), &e, sizeof(e));
    }

    int AllocNested(uint32_t* out, uint32_t addr_width = 48, uint32_t len = sizeof(iommu_hwpt_vtd_s1)) {
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = gpa(pml4_page);
        s1.addr_width = addr_width;
        return HwptAlloc(m_fd, m_dev_id, m_parent_id, 0, out, IOMMU_HWPT_DATA_VTD_S1, &s1, len);
    }
    int Attach(uint32_t pt_id, uint32_t* out_pt = nullptr) {
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.pt_id = pt_id;
        int err = Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
        if (out_pt != nullptr) {
            *out_pt = attach.pt_id;
        }
        return err;
    }
    int Detach() {
        vfio_device_detach_iommufd_pt detach{};
        detach.argsz = sizeof(detach);
        return Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
    }
    int Invalidate(uint32_t hwpt, uint64_t addr, uint64_t npages, uint32_t flags, uint32_t* num) {
        iommu_hwpt_vtd_s1_invalidate inv{};
        inv.addr = addr;
        inv.npages = npages;
        inv.flags = flags;
        return HwptInvalidate(m_fd, hwpt, &inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(inv), num);
    }
    // Reads one byte at guest_iova + off through device DMA; -1 on a fault.
    int DmaByte(uint64_t iova) {
        uint8_t b = 0;
        if (iommusim_dma(m_vfio, IOMMU_NO_PASID, iova, &b, 1, 0) != 0) {
            return -1;
        }
        return b;
    }

    uint8_t* m_guest = nullptr;
    int m_fd = -1;
    int m_vfio = -1;
    uint32_t m_dev_id = 0;
    uint32_t m_ioas_id = 0;
    uint32_t m_parent_id = 0;
};

TEST_F(VtdNested, ConfigurationOnlyBeforeThePlatformExists) {
    iommusim_config config{};
    errno = 0;
    EXPECT_EQ(-1, iommusim_configure(&config));
    EXPECT_EQ(EBUSY, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_configure(nullptr));
    EXPECT_EQ(EINVAL, errno);
}

TEST_F(VtdNested, GetHwInfoReportsTheModelsCapabilities) {
    iommu_hw_info_vtd info{};
    uint32_t type = 0;
    uint32_t len = 0;
    ASSERT_EQ(0, GetHwInfo(m_fd, m_dev_id, &info, sizeof(info), &type, nullptr, &len));
    EXPECT_EQ(uint32_t{IOMMU_HW_INFO_TYPE_INTEL_VTD}, type);
    EXPECT_EQ(sizeof(info), len);
    EXPECT_EQ(uint32_t{IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17}, info.flags);
    // The raw registers of the model, as the driver reads them over MMIO.
    uint64_t cap = 0;
    uint64_t ecap = 0;
    platform& p = platform::instance();
    p.run([&] {
        cap = p.bus().mmio_read64(hw::reg::CAP_OFFSET);
        ecap = p.bus().mmio_read64(hw::reg::ECAP_OFFSET);
    });
    EXPECT_EQ(cap, info.cap_reg);
    EXPECT_EQ(ecap, info.ecap_reg);
    EXPECT_EQ(1u, hw::ecap::nest::get(info.ecap_reg));
    // Reserved/flags checks come first, then the device lookup.
    EXPECT_EQ(ENOENT, GetHwInfo(m_fd, m_ioas_id, &info, sizeof(info)));
}

class VtdNestedAts : public VtdNested {
  protected:
    unsigned device_index() const override { return 1; }
};

TEST_F(VtdNested, DmaThroughNestedTranslationAndInvalidate) {
    RunDmaInvalidateFlow();
}

// Same flow on an ATS device: HWPT_INVALIDATE must also reach its device TLB.
TEST_F(VtdNestedAts, DmaThroughNestedTranslationAndInvalidate) {
    RunDmaInvalidateFlow();
}

void VtdNested::RunDmaInvalidateFlow() {
    uint32_t nested = 0;
    ASSERT_EQ(0, AllocNested(&nested));
    ASSERT_EQ(0, Attach(nested));
    // Translation: guest_iova -(guest stage 1)-> GPA of data A -(stage 2)-> the host buffer.
    EXPECT_EQ(0xa1, DmaByte(guest_iova));
    EXPECT_EQ(0xa1, DmaByte(guest_iova + 100));

    // The guest edits its PTE without invalidating: the IOTLB still translates to data A and the
    // checker reports the stale hit.
    const uint64_t stale_before = platform::instance().stale_hits();
    set_entry(pt_page, hw::pt_index(guest_iova, 1), gpa(data_b));
    EXPECT_EQ(0xa1, DmaByte(guest_iova));
    EXPECT_GT(platform::instance().stale_hits(), stale_before);

    // HWPT_INVALIDATE for that page, then the fresh translation.
    uint32_t num = 1;
    ASSERT_EQ(0, Invalidate(nested, guest_iova, 1, 0, &num));
    EXPECT_EQ(1u, num);
    EXPECT_EQ(0xb2, DmaByte(guest_iova));

    // DMA writes land in the caller's buffer.
    set_entry(pt_page, hw::pt_index(guest_iova, 1), gpa(data_c));
    num = 1;
    ASSERT_EQ(0, Invalidate(nested, 0, ~uint64_t{0}, 0, &num));
    const char msg[] = "written by the device";
    ASSERT_EQ(0, iommusim_dma(m_vfio, IOMMU_NO_PASID, guest_iova + 8, const_cast<char*>(msg), sizeof(msg), 1));
    EXPECT_EQ(0, std::memcmp(gpage(data_c) + 8, msg, sizeof(msg)));

    // An IOVA the guest did not map faults, with a VT-d fault reason.
    errno = 0;
    uint8_t b = 0;
    EXPECT_EQ(-1, iommusim_dma(m_vfio, IOMMU_NO_PASID, guest_iova + 0x200000, &b, 1, 0));
    EXPECT_EQ(EFAULT, errno);
    EXPECT_NE(0, iommusim_last_fault(m_vfio));

    // The attachment pins the nested HWPT, the child pins the parent.
    TestErrDestroy(EBUSY, m_fd, nested);
    TestErrDestroy(EBUSY, m_fd, m_parent_id);
    ASSERT_EQ(0, Detach());
    // Detached (blocking): DMA faults.
    EXPECT_EQ(-1, DmaByte(guest_iova));
    TestCmdDestroy(m_fd, nested);
    TestCmdDestroy(m_fd, m_parent_id);
}

TEST_F(VtdNested, UnmapOfTheParentFlushesNestedTranslations) {
    uint32_t nested = 0;
    ASSERT_EQ(0, AllocNested(&nested));
    ASSERT_EQ(0, Attach(nested));
    EXPECT_EQ(0xa1, DmaByte(guest_iova));  // now cached in the IOTLB
    // IOAS_UNMAP changes stage 2 under the nested domain: the driver must flush the nested
    // translations too, so the next DMA walks again and faults instead of hitting the IOTLB.
    const uint64_t stale_before = platform::instance().stale_hits();
    uint64_t unmapped = 0;
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, guest_base_gpa, guest_pages * page, &unmapped));
    EXPECT_EQ(guest_pages * page, unmapped);
    EXPECT_EQ(-1, DmaByte(guest_iova));
    EXPECT_EQ(stale_before, platform::instance().stale_hits());
    // Mapping it back restores the translation.
    uint64_t iova = guest_base_gpa;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, m_guest, guest_pages * page, &iova,
                         IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
    EXPECT_EQ(0xa1, DmaByte(guest_iova));
}

TEST_F(VtdNested, ReplaceBetweenNestedParentAndIoas) {
    uint32_t nested = 0;
    ASSERT_EQ(0, AllocNested(&nested));
    ASSERT_EQ(0, Attach(nested));
    EXPECT_EQ(0xa1, DmaByte(guest_iova));
    // Replace with the parent: the device now uses stage 2 only (IOVA = GPA).
    ASSERT_EQ(0, Attach(m_parent_id));
    EXPECT_EQ(0xb2, DmaByte(gpa(data_b)));
    TestCmdDestroy(m_fd, nested);
    // Attach to the IOAS: an automatic paging HWPT is created and its id written back.
    uint32_t out = 0;
    ASSERT_EQ(0, Attach(m_ioas_id, &out));
    EXPECT_NE(m_ioas_id, out);
    EXPECT_NE(m_parent_id, out);
    EXPECT_EQ(0xa1, DmaByte(gpa(data_a)));
    TestErrDestroy(EBUSY, m_fd, out);
    TestCmdDestroy(m_fd, m_parent_id);
    // Unmapping the IOAS flushes the automatic domain: the device faults.
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, guest_base_gpa, guest_pages * page));
    EXPECT_EQ(-1, DmaByte(gpa(data_a)));
}

// Requests without PASID to 0xFEEx_xxxx are interrupt requests (docs/vtd-facts.md §5.8): through the
// C API a write there succeeds without being remapped, a read fails with fault 0x87 (SGN.8), and
// the platform statistics show the interrupt request.
TEST_F(VtdNested, InterruptWindowWithoutPasidThroughTheCApi) {
    uint32_t msi = 0x4025;
    ASSERT_EQ(0, iommusim_dma(m_vfio, IOMMU_NO_PASID, 0xFEE0'0000, &msi, sizeof msi, 1));
    uint32_t v = 0;
    errno = 0;
    EXPECT_EQ(-1, iommusim_dma(m_vfio, IOMMU_NO_PASID, 0xFEE0'0000, &v, sizeof v, 0));
    EXPECT_EQ(EFAULT, errno);
    EXPECT_EQ(static_cast<int>(hw::fault_reason::gn_interrupt_range), iommusim_last_fault(m_vfio));
    const std::string stats = platform::instance().stats_json();
    EXPECT_NE(stats.find("\"interrupts\": {\"requests\": 1, \"window_errors\": 1, \"last\": {\"rid\": 256, "
                         "\"addr\": 4276092928, \"data\": 16421, \"len\": 4}}"),
              std::string::npos)
        << stats;
}

TEST_F(VtdNested, NestParentRefusesReadOnlyMappings) {
    // GET_HW_INFO reports ERRATA_772415_SPR17: read-only mappings are refused on a nest parent
    // (docs/iommufd-facts.md), with EINVAL from IOAS_MAP, which then maps nothing.
    iommu_hw_info_vtd info{};
    ASSERT_EQ(0, GetHwInfo(m_fd, m_dev_id, &info, sizeof(info)));
    ASSERT_NE(0u, info.flags & IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17);
    uint8_t* extra = static_cast<uint8_t*>(std::aligned_alloc(page, page));
    ASSERT_NE(nullptr, extra);
    std::memset(extra, 0x5c, page);
    const uint64_t extra_gpa = guest_base_gpa + guest_pages * page;
    uint64_t iova = extra_gpa;
    EXPECT_EQ(EINVAL,
              IoasMap(m_fd, m_ioas_id, extra, page, &iova, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
    uint64_t unmapped = 0;
    EXPECT_EQ(ENOENT, IoasUnmap(m_fd, m_ioas_id, extra_gpa, page, &unmapped)) << "the IOAS kept no area";
    // Writable mappings still work, and the device sees them through the parent.
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, extra, page, &iova,
                         IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
    ASSERT_EQ(0, Attach(m_parent_id));
    EXPECT_EQ(0x5c, DmaByte(extra_gpa));
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, extra_gpa, page));
    // A read-only area already in the IOAS keeps a new nest parent from being allocated on it.
    uint32_t second_ioas = 0;
    TestCmdIoasAlloc(m_fd, &second_ioas);
    ASSERT_EQ(0, IoasMap(m_fd, second_ioas, extra, page, &iova, IOMMU_IOAS_MAP_READABLE));
    uint32_t out = 0;
    TestErrHwptAlloc(EINVAL, m_fd, m_dev_id, second_ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &out);
    uint32_t plain = 0;
    TestCmdHwptAlloc(m_fd, m_dev_id, second_ioas, 0, &plain);  // no nest parent: accepted
    TestCmdDestroy(m_fd, plain);
    ASSERT_EQ(0, IoasUnmap(m_fd, second_ioas, iova, page));
    TestCmdDestroy(m_fd, second_ioas);
    std::free(extra);
}

TEST_F(VtdNested, HwptAllocErrnos) {
    uint32_t out = 0;
    iommu_hwpt_vtd_s1 s1{};
    s1.pgtbl_addr = gpa(pml4_page);
    s1.addr_width = 48;
    // Exact size only.
    EXPECT_EQ(EINVAL, AllocNested(&out, 48, sizeof(iommu_hwpt_vtd_s1) - 1));
    EXPECT_EQ(EINVAL, AllocNested(&out, 48, sizeof(iommu_hwpt_vtd_s1) + 8));
    // Wrong data type for the driver.
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_dev_id, m_parent_id, 0, &out, IOMMU_HWPT_DATA_SELFTEST, &s1, sizeof(s1)));
    // Bad pointer.
    EXPECT_EQ(EFAULT, HwptAlloc(m_fd, m_dev_id, m_parent_id, 0, &out, IOMMU_HWPT_DATA_VTD_S1, nullptr, sizeof(s1)));
    // The parent must be a nest parent.
    uint32_t plain = 0;
    TestCmdHwptAlloc(m_fd, m_dev_id, m_ioas_id, 0, &plain);
    EXPECT_EQ(EINVAL, HwptAlloc(m_fd, m_dev_id, plain, 0, &out, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1)));
    // Driver data for a paging domain is not supported.
    EXPECT_EQ(EOPNOTSUPP, HwptAlloc(m_fd, m_dev_id, m_ioas_id, 0, &out, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1)));
    // addr_width is only checked at attach time.
    uint32_t bad_width = 0;
    ASSERT_EQ(0, AllocNested(&bad_width, 39));
    EXPECT_EQ(EINVAL, Attach(bad_width));
    TestCmdDestroy(m_fd, bad_width);
    TestCmdDestroy(m_fd, plain);
}

TEST_F(VtdNested, HwptInvalidateErrnos) {
    uint32_t nested = 0;
    ASSERT_EQ(0, AllocNested(&nested));
    uint32_t num = 1;
    // Type: EINVAL even with entry_num 0.
    num = 0;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, nested, nullptr, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 24, &num));
    num = 0;
    EXPECT_EQ(0, HwptInvalidate(m_fd, nested, nullptr, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 24, &num));
    // Per-entry checks, entry_num = index of the failing entry.
    iommu_hwpt_vtd_s1_invalidate inv[3] = {};
    inv[0].addr = guest_iova;
    inv[0].npages = 1;
    inv[1] = inv[0];
    inv[2] = inv[0];
    num = 3;
    EXPECT_EQ(0, HwptInvalidate(m_fd, nested, inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(inv[0]), &num));
    EXPECT_EQ(3u, num);
    num = 3;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, nested, inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 23, &num));
    EXPECT_EQ(0u, num);
    num = 1;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, nested, inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 32, &num));
    EXPECT_EQ(0u, num);
    inv[1].flags = 1u << 1;
    num = 3;
    EXPECT_EQ(EOPNOTSUPP, HwptInvalidate(m_fd, nested, inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(inv[0]), &num));
    EXPECT_EQ(1u, num);
    inv[1].flags = IOMMU_VTD_INV_FLAGS_LEAF;
    inv[1].__reserved = 1;
    num = 3;
    EXPECT_EQ(EOPNOTSUPP, HwptInvalidate(m_fd, nested, inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(inv[0]), &num));
    EXPECT_EQ(1u, num);
    inv[1].__reserved = 0;
    inv[2].addr = guest_iova + 8;
    num = 3;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, nested, inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(inv[0]), &num));
    EXPECT_EQ(2u, num);
    inv[2].addr = page;
    inv[2].npages = ~uint64_t{0};
    num = 3;
    EXPECT_EQ(EINVAL, HwptInvalidate(m_fd, nested, inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(inv[0]), &num));
    EXPECT_EQ(2u, num);
    // The parent and the IOAS are not nested: EINVAL (6.13+); unknown ids ENOENT.
    num = 1;
    EXPECT_EQ(EINVAL, Invalidate(m_parent_id, 0, ~uint64_t{0}, 0, &num));
    EXPECT_EQ(0u, num);
    num = 1;
    EXPECT_EQ(EINVAL, Invalidate(m_ioas_id, 0, ~uint64_t{0}, 0, &num));
    num = 1;
    EXPECT_EQ(EINVAL, Invalidate(m_dev_id, 0, ~uint64_t{0}, 0, &num));
    num = 1;
    EXPECT_EQ(ENOENT, Invalidate(nested + 100, 0, ~uint64_t{0}, 0, &num));
    TestCmdDestroy(m_fd, nested);
}

TEST_F(VtdNested, VfioCdevRules) {
    // A second file of the same device cannot bind while the first holds it.
    int other = iommusim_open("/dev/vfio/devices/vfio0", O_RDWR);
    ASSERT_GE(other, 0);
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof(attach);
    attach.pt_id = m_ioas_id;
    EXPECT_EQ(EINVAL, Ioctl(other, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));  // not bound
    vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof(bind);
    bind.iommufd = m_fd;
    EXPECT_EQ(EBUSY, Ioctl(other, VFIO_DEVICE_BIND_IOMMUFD, &bind));
    EXPECT_EQ(0, iommusim_close(other));

    // The device object belongs to the VFIO file until it is closed.
    TestErrDestroy(EBUSY, m_fd, m_dev_id);

    // Argument checks on the bound file.
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));  // already bound
    EXPECT_EQ(EFAULT, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, nullptr));
    attach.argsz = 8;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    attach.argsz = sizeof(attach);
    attach.flags = 2;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    // VFIO_DEVICE_ATTACH_PASID needs argsz to reach pasid; PASID 0 (IOMMU_NO_PASID) is no PASID to
    // attach (tests of PASID attach: vtd_pasid_test.cc).
    attach.flags = VFIO_DEVICE_ATTACH_PASID;
    attach.argsz = offsetof(vfio_device_attach_iommufd_pt, pasid);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    attach.argsz = sizeof(attach);
    attach.pasid = 0;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    attach.flags = 0;
    attach.pt_id = 999;
    EXPECT_EQ(ENOENT, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    attach.pt_id = m_dev_id;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    vfio_device_detach_iommufd_pt detach{};
    detach.argsz = sizeof(detach);
    detach.flags = 4;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
    iommu_destroy not_vfio{};
    EXPECT_EQ(ENOTTY, Ioctl(m_vfio, IOMMU_DESTROY, &not_vfio));

    // Bind argument checks on a fresh file of another device.
    int dev1 = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
    ASSERT_GE(dev1, 0);
    vfio_device_bind_iommufd b{};
    b.argsz = sizeof(b) - 1;
    b.iommufd = m_fd;
    EXPECT_EQ(EINVAL, Ioctl(dev1, VFIO_DEVICE_BIND_IOMMUFD, &b));
    b.argsz = sizeof(b);
    b.flags = 1;
    EXPECT_EQ(EINVAL, Ioctl(dev1, VFIO_DEVICE_BIND_IOMMUFD, &b));
    b.flags = 0;
    b.iommufd = -1;
    EXPECT_EQ(EINVAL, Ioctl(dev1, VFIO_DEVICE_BIND_IOMMUFD, &b));
    b.iommufd = 77777;
    EXPECT_EQ(EBADF, Ioctl(dev1, VFIO_DEVICE_BIND_IOMMUFD, &b));
    b.iommufd = m_vfio;
    EXPECT_EQ(EBADFD, Ioctl(dev1, VFIO_DEVICE_BIND_IOMMUFD, &b));
    b.iommufd = m_fd;
    ASSERT_EQ(0, Ioctl(dev1, VFIO_DEVICE_BIND_IOMMUFD, &b));
    EXPECT_NE(m_dev_id, b.out_devid);
    // Closing the device file unbinds it; the device can then be bound again elsewhere.
    EXPECT_EQ(0, iommusim_close(dev1));
    int fd2 = iommusim_open("/dev/iommu", O_RDWR);
    dev1 = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
    b.iommufd = fd2;
    EXPECT_EQ(0, Ioctl(dev1, VFIO_DEVICE_BIND_IOMMUFD, &b));
    // The device file keeps its context alive after the context's own fd is closed.
    EXPECT_EQ(0, iommusim_close(fd2));
    EXPECT_EQ(0, iommusim_close(dev1));

    for (const char* path : {"/dev/vfio/devices/vfio999", "/dev/vfio/devices/vfio01", "/dev/vfio/devices/vfio",
                             "/dev/vfio/devices/vfio1x", "/dev/vfio/vfio0"}) {
        errno = 0;
        EXPECT_EQ(-1, iommusim_open(path, O_RDWR)) << path;
        EXPECT_EQ(ENOENT, errno) << path;
    }
}

// drivers/iommu/intel/ implements no vIOMMU (no get_viommu_size/viommu_init): every type is
// EOPNOTSUPP, even over a valid nest parent.
TEST_F(VtdNested, ViommuAllocIsNotSupported) {
    for (uint32_t type : {uint32_t{IOMMU_VIOMMU_TYPE_DEFAULT}, uint32_t{IOMMU_VIOMMU_TYPE_ARM_SMMUV3},
                          uint32_t{IOMMU_VIOMMU_TYPE_SELFTEST}, uint32_t{0x1234}}) {
        iommu_viommu_alloc cmd{};
        cmd.size = sizeof(cmd);
        cmd.type = type;
        cmd.dev_id = m_dev_id;
        cmd.hwpt_id = m_parent_id;
        EXPECT_EQ(EOPNOTSUPP, Ioctl(m_fd, IOMMU_VIOMMU_ALLOC, &cmd)) << "type " << type;
        EXPECT_EQ(0u, cmd.out_viommu_id);
    }
}

}  // namespace
}  // namespace iommusim::test
