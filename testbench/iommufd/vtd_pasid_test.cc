// PASID attach end to end through the C API on the VT-d platform: VFIO_DEVICE_ATTACH_IOMMUFD_PT /
// VFIO_DEVICE_DETACH_IOMMUFD_PT with VFIO_DEVICE_ATTACH_PASID / VFIO_DEVICE_DETACH_PASID
// (drivers/vfio/device_cdev.c), the IOMMU_HWPT_ALLOC_PASID rules of iommufd_hwpt_pasid_compat
// (drivers/iommu/iommufd/device.c), GET_HW_INFO's out_max_pasid_log2, and DMA tagged with two
// PASIDs of one device translated through two nested HWPTs: each reads what its own guest stage 1
// maps, and an invalidation of one leaves the other's cached translation in place.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "iommufd/iommufd_util.h"
#include "iommusim/hw/vtd_pte.h"
#include "platform/platform.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t guest_base_gpa = 0x100000;  // where the guest buffer sits in the IOAS
constexpr unsigned guest_pages = 16;
constexpr uint64_t guest_iova = 0x40000000;  // stage-1 input address of the DMAs
// Pages of the guest buffer: one stage-1 table chain per PASID (PML4, PDPT, PD, PT), then data.
constexpr unsigned chain_a = 0, chain_b = 4, data_a = 8, data_b = 9, data_c = 10;
// PASID B lies beyond the first directory page: attaching it grows the device's PASID directory.
constexpr uint32_t pasid_a = 1, pasid_b = 0x54321;

void ConfigurePlatform() {
    iommusim_config config{};
    config.stale_check = 1;
    // Only the first configuration of the process counts (EBUSY afterwards).
    (void)iommusim_configure(&config);
}

class VtdPasid : public ::testing::Test {
  protected:
    void SetUp() override {
        ConfigurePlatform();
        m_guest = static_cast<uint8_t*>(std::aligned_alloc(page, guest_pages * page));
        ASSERT_NE(nullptr, m_guest);
        std::memset(m_guest, 0, guest_pages * page);
        std::memset(gpage(data_a), 0xa1, page);
        std::memset(gpage(data_b), 0xb2, page);
        std::memset(gpage(data_c), 0xc3, page);
        build_chain(chain_a, data_a);
        build_chain(chain_b, data_b);

        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        m_vfio = iommusim_open(("/dev/vfio/devices/vfio" + std::to_string(device_index())).c_str(), O_RDWR);
        ASSERT_GE(m_vfio, 0);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = m_fd;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
        m_dev_id = bind.out_devid;
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
        uint64_t iova = guest_base_gpa;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, m_guest, guest_pages * page, &iova,
                             IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
        TestCmdHwptAlloc(m_fd, m_dev_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID,
                         &m_parent_id);
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

    // The platform device under test (vfio0 without ATS, vfio1 with ATS).
    virtual unsigned device_index() const { return 0; }
    void RunTwoPasidFlow();

    uint8_t* gpage(unsigned n) { return m_guest + n * page; }
    static uint64_t gpa(unsigned n) { return guest_base_gpa + n * page; }
    // Stage-1 PML4 -> PDPT -> PD -> PT at pages first..first+3, the leaf for guest_iova -> data.
    void build_chain(unsigned first, unsigned data) {
        for (unsigned level = 4; level >= 2; --level) {
            set_entry(first + (4 - level), hw::pt_index(guest_iova, level), gpa(first + (4 - level) + 1));
        }
        set_leaf(first, data);
    }
    void set_leaf(unsigned first, unsigned data) { set_entry(first + 3, hw::pt_index(guest_iova, 1), gpa(data)); }
    void set_entry(unsigned table_page, unsigned index, uint64_t target_gpa) {
        using namespace hw;
        const uint64_t e =
            fs_pte::p::make(1) | fs_pte::rw::make(1) | fs_pte::us::make(1) | fs_pte::addr::make(target_gpa >> 12);
        std::memcpy(gpage(table_page) + index * sizeof(uint64_t), &e, sizeof(e));
    }

    int AllocNested(unsigned chain, uint32_t flags, uint32_t* out) {
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = gpa(chain);
        s1.addr_width = 48;
        return HwptAlloc(m_fd, m_dev_id, m_parent_id, flags, out, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
    }
    int AttachPasid(uint32_t pasid, uint32_t pt_id, uint32_t* out_pt = nullptr) {
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.flags = VFIO_DEVICE_ATTACH_PASID;
        attach.pt_id = pt_id;
        attach.pasid = pasid;
        int err = Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
        if (out_pt != nullptr) {
            *out_pt = attach.pt_id;
        }
        return err;
    }
    int DetachPasid(uint32_t pasid) {
        vfio_device_detach_iommufd_pt detach{};
        detach.argsz = sizeof(detach);
        detach.flags = VFIO_DEVICE_DETACH_PASID;
        detach.pasid = pasid;
        return Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
    }
    int Attach(uint32_t pt_id) {
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.pt_id = pt_id;
        return Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
    }
    int Invalidate(uint32_t hwpt, uint64_t addr, uint64_t npages) {
        iommu_hwpt_vtd_s1_invalidate inv{};
        inv.addr = addr;
        inv.npages = npages;
        uint32_t num = 1;
        return HwptInvalidate(m_fd, hwpt, &inv, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, sizeof(inv), &num);
    }
    // One byte at iova read by device DMA tagged with pasid; -1 on a fault.
    int DmaByte(uint32_t pasid, uint64_t iova) {
        uint8_t b = 0;
        if (iommusim_dma(m_vfio, pasid, iova, &b, 1, 0) != 0) {
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

class VtdPasidAts : public VtdPasid {
  protected:
    unsigned device_index() const override { return 1; }
};

TEST_F(VtdPasid, HwInfoReportsTheDevicesPasidWidth) {
    iommu_hw_info_vtd info{};
    iommu_hw_info cmd{};
    cmd.size = sizeof(cmd);
    cmd.dev_id = m_dev_id;
    cmd.data_len = sizeof(info);
    cmd.data_uptr = reinterpret_cast<uint64_t>(&info);
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_GET_HW_INFO, &cmd));
    // The model's ECAP.PSS is 19: 2^20 PASIDs.
    EXPECT_EQ(20u, cmd.out_max_pasid_log2);
}

void VtdPasid::RunTwoPasidFlow() {
    uint32_t nested_a = 0;
    uint32_t nested_b = 0;
    ASSERT_EQ(0, AllocNested(chain_a, IOMMU_HWPT_ALLOC_PASID, &nested_a));
    ASSERT_EQ(0, AllocNested(chain_b, IOMMU_HWPT_ALLOC_PASID, &nested_b));
    ASSERT_EQ(0, AttachPasid(pasid_a, nested_a));
    ASSERT_EQ(0, AttachPasid(pasid_b, nested_b));
    // Each PASID walks its own guest table: A maps guest_iova to data A, B to data B.
    EXPECT_EQ(0xa1, DmaByte(pasid_a, guest_iova));
    EXPECT_EQ(0xb2, DmaByte(pasid_b, guest_iova + 7));
    // Nothing is attached on IOMMU_NO_PASID and PASID 3: their DMA faults.
    EXPECT_EQ(-1, DmaByte(IOMMU_NO_PASID, guest_iova));
    EXPECT_EQ(-1, DmaByte(3, guest_iova));

    // Both guests point their leaf at data C without invalidating: the cached translations stay.
    const uint64_t stale_before = platform::instance().stale_hits();
    set_leaf(chain_a, data_c);
    set_leaf(chain_b, data_c);
    EXPECT_EQ(0xa1, DmaByte(pasid_a, guest_iova));
    EXPECT_EQ(0xb2, DmaByte(pasid_b, guest_iova));
    EXPECT_GT(platform::instance().stale_hits(), stale_before);

    // Invalidating HWPT A refreshes PASID A only: PASID B still hits its old translation.
    ASSERT_EQ(0, Invalidate(nested_a, guest_iova, 1));
    EXPECT_EQ(0xc3, DmaByte(pasid_a, guest_iova));
    EXPECT_EQ(0xb2, DmaByte(pasid_b, guest_iova));
    ASSERT_EQ(0, Invalidate(nested_b, 0, ~uint64_t{0}));
    EXPECT_EQ(0xc3, DmaByte(pasid_b, guest_iova));

    // A DMA write through PASID B lands in data C.
    const char msg[] = "pasid two";
    ASSERT_EQ(0, iommusim_dma(m_vfio, pasid_b, guest_iova + 16, const_cast<char*>(msg), sizeof(msg), 1));
    EXPECT_EQ(0, std::memcmp(gpage(data_c) + 16, msg, sizeof(msg)));

    // Replace: PASID B onto HWPT A (attach again = replace), then it translates as PASID A does.
    set_leaf(chain_a, data_a);
    ASSERT_EQ(0, Invalidate(nested_a, 0, ~uint64_t{0}));
    ASSERT_EQ(0, AttachPasid(pasid_b, nested_a));
    EXPECT_EQ(0xa1, DmaByte(pasid_b, guest_iova));
    // HWPT B is free of users but its parent is held; HWPT A is held by both PASIDs.
    TestErrDestroy(EBUSY, m_fd, nested_a);
    TestCmdDestroy(m_fd, nested_b);

    // Detach PASID A: blocked, PASID B unaffected; detaching it again is nothing to do.
    ASSERT_EQ(0, DetachPasid(pasid_a));
    EXPECT_EQ(-1, DmaByte(pasid_a, guest_iova));
    EXPECT_EQ(0xa1, DmaByte(pasid_b, guest_iova));
    EXPECT_EQ(0, DetachPasid(pasid_a));
    ASSERT_EQ(0, DetachPasid(pasid_b));
    EXPECT_EQ(-1, DmaByte(pasid_b, guest_iova));
    TestCmdDestroy(m_fd, nested_a);
}

TEST_F(VtdPasid, TwoPasidsThroughTwoNestedHwpts) {
    RunTwoPasidFlow();
}

// The same on an ATS device: the device TLB of each PASID is invalidated on its own.
TEST_F(VtdPasidAts, TwoPasidsThroughTwoNestedHwpts) {
    RunTwoPasidFlow();
}

TEST_F(VtdPasid, PasidCompatRules) {
    uint32_t plain = 0;
    uint32_t compat = 0;
    ASSERT_EQ(0, AllocNested(chain_a, 0, &plain));
    ASSERT_EQ(0, AllocNested(chain_b, IOMMU_HWPT_ALLOC_PASID, &compat));
    // A HWPT without IOMMU_HWPT_ALLOC_PASID never goes on a PASID; an IOAS's automatic domain is
    // allocated without it either.
    EXPECT_EQ(EINVAL, AttachPasid(pasid_a, plain));
    EXPECT_EQ(EINVAL, AttachPasid(pasid_a, m_ioas_id));
    // The IOMMU_NO_PASID HWPT must be PASID-compatible for a PASID attach...
    ASSERT_EQ(0, Attach(plain));
    EXPECT_EQ(EINVAL, AttachPasid(pasid_a, compat));
    ASSERT_EQ(0, Attach(compat));
    ASSERT_EQ(0, AttachPasid(pasid_a, compat));
    // ...and cannot be replaced by an incompatible one while a PASID is attached.
    EXPECT_EQ(EINVAL, Attach(plain));
    EXPECT_EQ(0xb2, DmaByte(IOMMU_NO_PASID, guest_iova)) << "IOMMU_NO_PASID kept its HWPT";
    EXPECT_EQ(0xb2, DmaByte(pasid_a, guest_iova));
    ASSERT_EQ(0, DetachPasid(pasid_a));
    EXPECT_EQ(0, Attach(plain));
    TestCmdDestroy(m_fd, compat);
}

TEST_F(VtdPasid, AttachRefusals) {
    uint32_t compat = 0;
    ASSERT_EQ(0, AllocNested(chain_a, IOMMU_HWPT_ALLOC_PASID, &compat));
    EXPECT_EQ(EINVAL, AttachPasid(1u << 20, compat)) << "beyond the 20-bit PASID width";
    EXPECT_EQ(EINVAL, AttachPasid(0, compat)) << "IOMMU_NO_PASID";
    EXPECT_EQ(ENOSPC, AttachPasid(0x8000'0000u, compat)) << "beyond VFIO's PASID ids";
    EXPECT_EQ(ENOENT, AttachPasid(pasid_a, 999));
    EXPECT_EQ(EINVAL, AttachPasid(pasid_a, m_dev_id)) << "not an IOAS or HWPT";
    // argsz must reach pasid when the flag is given, for attach and for detach.
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = offsetof(vfio_device_attach_iommufd_pt, pasid);
    attach.flags = VFIO_DEVICE_ATTACH_PASID;
    attach.pt_id = compat;
    attach.pasid = pasid_a;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    vfio_device_detach_iommufd_pt detach{};
    detach.argsz = offsetof(vfio_device_detach_iommufd_pt, pasid);
    detach.flags = VFIO_DEVICE_DETACH_PASID;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
    detach.flags = VFIO_DEVICE_DETACH_PASID << 1;
    detach.argsz = sizeof(detach);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
    // None of it attached anything.
    EXPECT_EQ(-1, DmaByte(pasid_a, guest_iova));
    TestCmdDestroy(m_fd, compat);
}

TEST_F(VtdPasid, PagingHwptOnAPasid) {
    // A paging HWPT of the IOAS on PASID 4: DMA at the GPA reads the guest buffer directly.
    uint32_t paging = 0;
    TestCmdHwptAlloc(m_fd, m_dev_id, m_ioas_id, IOMMU_HWPT_ALLOC_PASID, &paging);
    uint32_t out = 0;
    ASSERT_EQ(0, AttachPasid(4, paging, &out));
    EXPECT_EQ(paging, out) << "pt_id written back";
    EXPECT_EQ(0xb2, DmaByte(4, gpa(data_b)));
    // Unmapping the IOAS flushes what PASID 4 cached: its DMA faults afterwards.
    ASSERT_EQ(0, IoasUnmap(m_fd, m_ioas_id, guest_base_gpa, guest_pages * page));
    EXPECT_EQ(-1, DmaByte(4, gpa(data_b)));
    TestErrDestroy(EBUSY, m_fd, paging);
    // Closing the device file detaches its PASIDs (the context is closed in TearDown).
    EXPECT_EQ(0, iommusim_close(m_vfio));
    m_vfio = -1;
    TestCmdDestroy(m_fd, paging);
}

}  // namespace
}  // namespace iommusim::test
