// I/O page faults through VT-d end to end (docs/vtd-facts.md §10, docs/iommufd-facts.md fault
// queue): an ATS+PRI device touches a page its HWPT does not map, the translation comes back
// R=W=0, the device's page request goes through the page request queue and the driver's page
// request thread to the HWPT's fault object, the VMM reads the fault fd, maps the page and writes
// the response, the page group response reaches the device, which retries and moves its data.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "iommufd/iommufd_util.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/dma_device.h"
#include "platform/platform.h"
#include "tlm/iommu.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr unsigned k_device = 1;        // vfio1: ATS, and PRI here
constexpr uint64_t k_iova = 0x20'3000;  // page request group 3 (page number's low 9 bits)

void ConfigurePlatform() {
    if (platform::exists()) {
        return;
    }
    platform_config cfg;
    cfg.iommu.prs = true;
    cfg.devices[k_device].pri = true;
    std::string error;
    ASSERT_TRUE(platform::configure(cfg, &error)) << error;
}

class VtdIopf : public ::testing::Test {
  protected:
    void SetUp() override {
        ConfigurePlatform();
        m_buf = static_cast<uint8_t*>(std::aligned_alloc(page, page));
        ASSERT_NE(nullptr, m_buf);
        std::memset(m_buf, 0, page);
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        m_vfio = iommusim_open(("/dev/vfio/devices/vfio" + std::to_string(k_device)).c_str(), O_RDWR);
        ASSERT_GE(m_vfio, 0);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = m_fd;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
        m_dev_id = bind.out_devid;
        ASSERT_EQ(0, IoasAlloc(m_fd, &m_ioas_id));
        ASSERT_EQ(0, FaultQueueAlloc(m_fd, &m_fault_id, &m_fault_fd));
        ASSERT_EQ(0, HwptAllocIopf(m_fd, m_dev_id, m_ioas_id, m_fault_id, &m_hwpt_id));
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.pt_id = m_hwpt_id;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    }
    void TearDown() override {
        if (m_vfio >= 0) {
            EXPECT_EQ(0, iommusim_close(m_vfio));
        }
        if (m_fault_fd >= 0) {
            EXPECT_EQ(0, iommusim_close(m_fault_fd));
        }
        if (m_fd >= 0) {
            EXPECT_EQ(0, iommusim_close(m_fd));
        }
        std::free(m_buf);
    }
    // The VMM's side: one fault record from the fault fd.
    iommu_hwpt_pgfault ReadFault() {
        iommu_hwpt_pgfault f{};
        EXPECT_EQ(static_cast<ssize_t>(sizeof f), iommusim_read(m_fault_fd, &f, sizeof f));
        return f;
    }
    void Respond(uint32_t cookie, uint32_t code) {
        iommu_hwpt_page_response r{cookie, code};
        EXPECT_EQ(static_cast<ssize_t>(sizeof r), iommusim_write(m_fault_fd, &r, sizeof r));
    }
    void MapThePage() {
        uint64_t iova = k_iova;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, m_buf, page, &iova,
                             IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
    }

    uint8_t* m_buf = nullptr;
    int m_fd = -1;
    int m_vfio = -1;
    int m_fault_fd = -1;
    uint32_t m_dev_id = 0;
    uint32_t m_ioas_id = 0;
    uint32_t m_fault_id = 0;
    uint32_t m_hwpt_id = 0;
};

TEST_F(VtdIopf, FaultReadFixedAnsweredAndTheRetriedDmaLands) {
    platform& p = platform::instance();
    ASSERT_EQ(1, p.iopf_request(k_device, 0, k_iova + 0x10, true));  // not present: page request out
    const iommu_hwpt_pgfault f = ReadFault();
    EXPECT_EQ(f.flags, static_cast<uint32_t>(IOMMU_PGFAULT_FLAGS_LAST_PAGE));
    EXPECT_EQ(f.dev_id, m_dev_id);
    EXPECT_EQ(f.grpid, 3u);
    EXPECT_EQ(f.perm, static_cast<uint32_t>(IOMMU_PGFAULT_PERM_WRITE));
    EXPECT_EQ(f.addr, k_iova);
    EXPECT_EQ(f.length, 0u);  // Linux iommufd_compose_fault_message leaves it 0
    // The device waits: no response yet.
    char msg[] = "after the fault";
    EXPECT_EQ(-EAGAIN, p.iopf_complete(k_device, 0, k_iova + 0x10, msg, sizeof msg, true));
    MapThePage();
    Respond(f.cookie, IOMMUFD_PAGE_RESP_SUCCESS);
    uint8_t code = 0xff;
    EXPECT_EQ(0, p.iopf_complete(k_device, 0, k_iova + 0x10, msg, sizeof msg, true, &code));
    EXPECT_EQ(code, 0u);
    EXPECT_EQ(0, std::memcmp(m_buf + 0x10, msg, sizeof msg));
    // The translation is now in the device TLB: a second access asks nothing.
    EXPECT_EQ(0, p.iopf_request(k_device, 0, k_iova, false));
}

TEST_F(VtdIopf, PasidTaggedFaultReachesTheFaultQueueOfTheHwptOnThatPasid) {
    // The RID leaves its HWPT (allocated without IOMMU_HWPT_ALLOC_PASID); PASID 7 goes onto a
    // PASID-compatible fault HWPT of the same IOAS.
    vfio_device_detach_iommufd_pt detach{};
    detach.argsz = sizeof(detach);
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
    iommu_hwpt_alloc ha{};
    ha.size = sizeof(ha);
    ha.flags = IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
    ha.dev_id = m_dev_id;
    ha.pt_id = m_ioas_id;
    ha.fault_id = m_fault_id;
    ASSERT_EQ(0, Ioctl(m_fd, IOMMU_HWPT_ALLOC, &ha));
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof(attach);
    attach.flags = VFIO_DEVICE_ATTACH_PASID;
    attach.pt_id = ha.out_hwpt_id;
    attach.pasid = 7;
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));

    platform& p = platform::instance();
    ASSERT_EQ(1, p.iopf_request(k_device, 7, k_iova + 0x20, false));
    const iommu_hwpt_pgfault f = ReadFault();
    EXPECT_EQ(f.flags, static_cast<uint32_t>(IOMMU_PGFAULT_FLAGS_PASID_VALID | IOMMU_PGFAULT_FLAGS_LAST_PAGE));
    EXPECT_EQ(f.pasid, 7u);
    EXPECT_EQ(f.addr, k_iova);
    EXPECT_EQ(f.grpid, 3u);
    std::memset(m_buf, 0x5a, page);
    MapThePage();
    Respond(f.cookie, IOMMUFD_PAGE_RESP_SUCCESS);
    uint8_t b[4] = {};
    uint8_t code = 0xff;
    EXPECT_EQ(0, p.iopf_complete(k_device, 7, k_iova + 0x20, b, sizeof b, false, &code));
    EXPECT_EQ(code, 0u);
    EXPECT_EQ(b[0], 0x5a);
    EXPECT_EQ(b[3], 0x5a);
    // A second fault on PASID 7, read and left unanswered: detaching the PASID answers it Invalid.
    ASSERT_EQ(1, p.iopf_request(k_device, 7, 0x40'0000, true));
    const iommu_hwpt_pgfault again = ReadFault();
    EXPECT_EQ(again.pasid, 7u);
    vfio_device_detach_iommufd_pt detach_pasid{};
    detach_pasid.argsz = sizeof(detach_pasid);
    detach_pasid.flags = VFIO_DEVICE_DETACH_PASID;
    detach_pasid.pasid = 7;
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach_pasid));
    EXPECT_EQ(-EACCES, p.iopf_complete(k_device, 7, 0x40'0000, b, sizeof b, true, &code));
    EXPECT_EQ(code, 1u);  // Invalid Request
}

TEST_F(VtdIopf, InvalidResponseFailsTheAccess) {
    platform& p = platform::instance();
    ASSERT_EQ(1, p.iopf_request(k_device, 0, k_iova, false));
    const iommu_hwpt_pgfault f = ReadFault();
    Respond(f.cookie, IOMMUFD_PAGE_RESP_INVALID);
    uint8_t code = 0xff;
    uint8_t b = 0;
    EXPECT_EQ(-EACCES, p.iopf_complete(k_device, 0, k_iova, &b, 1, false, &code));
    EXPECT_EQ(code, 1u);  // Invalid Request
}

TEST_F(VtdIopf, SuccessWithoutAFixAsksAgain) {
    platform& p = platform::instance();
    ASSERT_EQ(1, p.iopf_request(k_device, 0, k_iova, false));
    Respond(ReadFault().cookie, IOMMUFD_PAGE_RESP_SUCCESS);
    uint8_t b = 0;
    EXPECT_EQ(1, p.iopf_complete(k_device, 0, k_iova, &b, 1, false));  // still not present: a new request
    const iommu_hwpt_pgfault again = ReadFault();
    EXPECT_EQ(again.addr, k_iova);
    EXPECT_EQ(again.perm, static_cast<uint32_t>(IOMMU_PGFAULT_PERM_READ));
    Respond(again.cookie, IOMMUFD_PAGE_RESP_INVALID);
    EXPECT_EQ(-EACCES, p.iopf_complete(k_device, 0, k_iova, &b, 1, false));
}

// A page request the device sent that is still in the page request queue when the VMM detaches
// the device: the driver's drain (Linux intel_iommu_drain_pasid_prq) hands it to the fault object
// before the detach returns, and the kernel's auto response (iommufd_auto_response_faults) answers
// it Invalid with the group read and not answered; nothing is left for the fault fd afterwards.
TEST_F(VtdIopf, DetachDrainsQueuedRequestsAndAnswersEveryPendingGroupInvalid) {
    platform& p = platform::instance();
    ASSERT_EQ(1, p.iopf_request(k_device, 0, 0x40'0000, true));  // group 0, read and left unanswered
    const iommu_hwpt_pgfault read = ReadFault();
    // Group 3 reaches the queue, but the page request thread has not run for it.
    p.run([&] {
        dma_device& dev = p.dma_engine(k_device);
        EXPECT_FALSE(dev.send_page_request(false, 0, k_iova, true, 3, nullptr));
        dev.sync();
    });
    vfio_device_detach_iommufd_pt detach{};
    detach.argsz = sizeof(detach);
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
    iommu_hwpt_pgfault f{};
    EXPECT_EQ(0, iommusim_read(m_fault_fd, &f, sizeof f)) << "no fault of the old attachment after the detach";
    uint8_t code = 0xff;
    uint8_t b = 0;
    EXPECT_EQ(-EACCES, p.iopf_complete(k_device, 0, k_iova, &b, 1, true, &code));
    EXPECT_EQ(code, 1u);  // Invalid Request for the drained group
    code = 0xff;
    EXPECT_EQ(-EACCES, p.iopf_complete(k_device, 0, 0x40'0000, &b, 1, true, &code));
    EXPECT_EQ(code, 1u);  // and for the group read before
    iommu_hwpt_page_response late{read.cookie, IOMMUFD_PAGE_RESP_SUCCESS};
    EXPECT_EQ(-1, iommusim_write(m_fault_fd, &late, sizeof late));
    EXPECT_EQ(EINVAL, errno) << "the group was answered already";
}

// The same when the VMM replaces the device's HWPT: the drained request belonged to the old
// attachment and is answered Invalid; the new HWPT's fault queue sees nothing of it.
TEST_F(VtdIopf, ReplaceDrainsQueuedRequestsOfTheOldHwpt) {
    platform& p = platform::instance();
    uint32_t second = 0;
    ASSERT_EQ(0, HwptAllocIopf(m_fd, m_dev_id, m_ioas_id, m_fault_id, &second));
    p.run([&] {
        dma_device& dev = p.dma_engine(k_device);
        EXPECT_FALSE(dev.send_page_request(false, 0, k_iova, false, 3, nullptr));
        dev.sync();
    });
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof(attach);
    attach.pt_id = second;
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    iommu_hwpt_pgfault f{};
    EXPECT_EQ(0, iommusim_read(m_fault_fd, &f, sizeof f));
    uint8_t code = 0xff;
    uint8_t b = 0;
    EXPECT_EQ(-EACCES, p.iopf_complete(k_device, 0, k_iova, &b, 1, false, &code));
    EXPECT_EQ(code, 1u);
    // A fault after the replace goes to the new HWPT (same fault object) and is read as usual.
    ASSERT_EQ(1, p.iopf_request(k_device, 0, k_iova, false));
    EXPECT_EQ(ReadFault().addr, k_iova);
}

// A device touching three not-present pages of one group (PCIe PRI): three page requests with
// PRGI 3, LPIG on the last only; the unit writes all three, the driver reports them, the fault
// object delivers them as one group of three records with one cookie, one response answers all,
// and the device asks again for all three pages before its write lands in each.
TEST_F(VtdIopf, MultiPageGroupIsReadAsOneGroupAnsweredOnceAndRetriedWhole) {
    platform& p = platform::instance();
    constexpr std::size_t pages = 3;
    const dma_device::stats before = p.dma_engine(k_device).statistics();
    const uint64_t queued_before = p.iommu_model().page_requests().statistics().queued;
    ASSERT_EQ(1, p.iopf_request_range(k_device, 0, k_iova, pages * page, true));
    EXPECT_EQ(p.iommu_model().page_requests().statistics().queued - queued_before, pages) << "the unit wrote all three";
    iommu_hwpt_pgfault f[pages + 1] = {};
    ASSERT_EQ(static_cast<ssize_t>(pages * sizeof f[0]), iommusim_read(m_fault_fd, f, sizeof f));
    for (unsigned i = 0; i < pages; ++i) {
        EXPECT_EQ(f[i].addr, k_iova + i * page);
        EXPECT_EQ(f[i].grpid, 3u);
        EXPECT_EQ(f[i].cookie, f[0].cookie) << "one group";
        EXPECT_EQ(f[i].perm, static_cast<uint32_t>(IOMMU_PGFAULT_PERM_WRITE));
        EXPECT_EQ(f[i].flags, i + 1 == pages ? static_cast<uint32_t>(IOMMU_PGFAULT_FLAGS_LAST_PAGE) : 0u);
    }
    auto* mem = static_cast<uint8_t*>(std::aligned_alloc(page, pages * page));
    ASSERT_NE(nullptr, mem);
    std::memset(mem, 0, pages * page);
    uint64_t iova = k_iova;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, mem, pages * page, &iova,
                         IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
    Respond(f[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS);
    std::vector<uint8_t> data(pages * page);
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<uint8_t>(i * 7 + 1);
    }
    uint8_t code = 0xff;
    EXPECT_EQ(0, p.iopf_complete_range(k_device, 0, k_iova, data.data(), data.size(), true, &code));
    EXPECT_EQ(code, 0u);
    EXPECT_EQ(0, std::memcmp(mem, data.data(), data.size()));
    const dma_device::stats& after = p.dma_engine(k_device).statistics();
    EXPECT_EQ(after.page_requests - before.page_requests, pages);
    EXPECT_EQ(after.page_responses - before.page_responses, 1u);
    EXPECT_EQ(after.page_request_retries - before.page_request_retries, pages);
    EXPECT_EQ(after.retries_granted - before.retries_granted, pages);
    iommu_ioas_unmap unmap{};
    unmap.size = sizeof(unmap);
    unmap.ioas_id = m_ioas_id;
    unmap.iova = k_iova;
    unmap.length = pages * page;
    EXPECT_EQ(0, Ioctl(m_fd, IOMMU_IOAS_UNMAP, &unmap));
    std::free(mem);
}

// Only the pages the device did not get join the group: the middle one is mapped.
TEST_F(VtdIopf, MultiPageGroupHoldsOnlyThePagesNotTranslated) {
    platform& p = platform::instance();
    uint64_t iova = k_iova + page;
    ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, m_buf, page, &iova,
                         IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE));
    ASSERT_EQ(1, p.iopf_request_range(k_device, 0, k_iova, 3 * page, false));
    iommu_hwpt_pgfault f[3] = {};
    ASSERT_EQ(static_cast<ssize_t>(2 * sizeof f[0]), iommusim_read(m_fault_fd, f, sizeof f));
    EXPECT_EQ(f[0].addr, k_iova);
    EXPECT_EQ(f[0].flags, 0u);
    EXPECT_EQ(f[1].addr, k_iova + 2 * page);
    EXPECT_EQ(f[1].flags, static_cast<uint32_t>(IOMMU_PGFAULT_FLAGS_LAST_PAGE));
    EXPECT_EQ(f[1].grpid, 3u);
    Respond(f[0].cookie, IOMMUFD_PAGE_RESP_INVALID);
    uint8_t code = 0xff;
    uint8_t b[8] = {};
    EXPECT_EQ(-EACCES, p.iopf_complete_range(k_device, 0, k_iova, b, sizeof b, false, &code));
    EXPECT_EQ(code, 1u);
}

TEST_F(VtdIopf, DeviceWithoutPriIsRefused) {
    EXPECT_EQ(-EOPNOTSUPP, platform::instance().iopf_request(0, 0, k_iova, false));
    EXPECT_EQ(-EINVAL, platform::instance().iopf_request(99, 0, k_iova, false));
}

// The C API's page_requests field is the same configuration as iommu.prs + PRI on the ATS devices
// (vfio1 and vfio3 of four): run in a process of its own so that configuration is the first.
TEST(VtdIopfCApi, PageRequestsFieldTurnsOnPrsAndPriOnTheAtsDevices) {
    if (platform::exists()) {
        GTEST_SKIP() << "the platform of this process was configured by another test";
    }
    iommusim_config config{};
    config.page_requests = 1;
    ASSERT_EQ(0, iommusim_configure(&config));
    platform& p = platform::instance();
    EXPECT_TRUE(p.config().iommu.prs);
    ASSERT_EQ(4u, p.config().devices.size());
    EXPECT_FALSE(p.config().devices[0].pri);
    EXPECT_TRUE(p.config().devices[1].pri);
    EXPECT_FALSE(p.config().devices[2].pri);
    EXPECT_TRUE(p.config().devices[3].pri);
    // A fault HWPT takes vfio1 (ATS+PRI behind a unit with PRS) and refuses vfio0 (ENODEV).
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    uint32_t ioas = 0, fault = 0, hwpt = 0;
    int fault_fd = -1;
    ASSERT_EQ(0, IoasAlloc(fd, &ioas));
    ASSERT_EQ(0, FaultQueueAlloc(fd, &fault, &fault_fd));
    int vfio[2] = {-1, -1};
    uint32_t dev_id[2] = {0, 0};
    for (unsigned n = 0; n < 2; ++n) {
        vfio[n] = iommusim_open(("/dev/vfio/devices/vfio" + std::to_string(n)).c_str(), O_RDWR);
        ASSERT_GE(vfio[n], 0);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = fd;
        ASSERT_EQ(0, Ioctl(vfio[n], VFIO_DEVICE_BIND_IOMMUFD, &bind));
        dev_id[n] = bind.out_devid;
    }
    ASSERT_EQ(0, HwptAllocIopf(fd, dev_id[1], ioas, fault, &hwpt));
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof(attach);
    attach.pt_id = hwpt;
    EXPECT_EQ(0, Ioctl(vfio[1], VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    attach.pt_id = hwpt;
    EXPECT_EQ(ENODEV, Ioctl(vfio[0], VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
    for (int f : {vfio[0], vfio[1], fault_fd, fd}) {
        EXPECT_EQ(0, iommusim_close(f));
    }
}

}  // namespace
}  // namespace iommusim::test
