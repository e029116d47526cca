// A user's own device on the platform (platform/own_device.h): attached after the configured
// devices, reached through the iommufd/VFIO C API, its DMA translated by the IOMMU, ATS
// translations cached in its device TLB and dropped by the driver's device-TLB invalidation.
// Each test runs in its own process (one platform per process).
#include "platform/own_device.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "driver/iommu_ops.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"
#include "platform/dma_device.h"
#include "platform/platform.h"

namespace iommusim {
namespace {

constexpr uint16_t own_rid = 0x0300;
constexpr uint64_t iova_base = 0x100000;
constexpr std::size_t buffer_bytes = 4 * 4096;

// Counts what the platform asked of it and what reached its device TLB.
class counting_device : public own_device {
  public:
    using own_device::own_device;
    tlm::tlm_response_status dma(const own_dma_request& req, hw::fault_reason* fault) override {
        requests.push_back(req);
        return own_device::dma(req, fault);
    }
    std::vector<own_dma_request> requests;
    std::vector<devtlb_request> invalidations;

  protected:
    void device_tlb_invalidated(const devtlb_request& req) override { invalidations.push_back(req); }
};

// One configured device (vfio0) and the own device after it (vfio1).
platform_config one_builtin_device() {
    platform_config cfg;
    cfg.devices = {dma_device_config{}};
    cfg.devices[0].rid = 0x0100;
    return cfg;
}

// The own device bound to an iommufd and attached to an IOAS that maps `host` at iova_base.
struct attached_ioas {
    int iommufd = -1;
    int vfio = -1;
    uint32_t ioas = 0;
    explicit attached_ioas(void* host) {
        iommufd = iommusim_open("/dev/iommu", O_RDWR);
        vfio = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = iommufd;
        EXPECT_EQ(iommusim_ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
        iommu_ioas_alloc alloc{};
        alloc.size = sizeof(alloc);
        EXPECT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
        ioas = alloc.out_ioas_id;
        iommu_ioas_map map{};
        map.size = sizeof(map);
        map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
        map.ioas_id = ioas;
        map.user_va = reinterpret_cast<uintptr_t>(host);
        map.length = buffer_bytes;
        map.iova = iova_base;
        EXPECT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_MAP, &map), 0);
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.pt_id = ioas;
        EXPECT_EQ(iommusim_ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), 0);
    }
    ~attached_ioas() {
        iommusim_close(vfio);
        iommusim_close(iommufd);
    }
};

struct host_buffer {
    void* p = std::aligned_alloc(4096, buffer_bytes);
    host_buffer() { std::memset(p, 0, buffer_bytes); }
    ~host_buffer() { std::free(p); }
    uint8_t* bytes() const { return static_cast<uint8_t*>(p); }
};

TEST(OwnDevice, TagPutsTheRequesterIdAndPasidOnThePayload) {
    own_device dev("tagging", own_device_config{0x0310, false, true, false, 200});
    tlm::tlm_generic_payload trans;
    dma_extension ext;
    ext.fault = hw::fault_reason::none;
    ext.translated_size = 4096;  // left from an earlier request: cleared
    dev.tag(trans, ext, true, 0x5a5, true, false);
    EXPECT_EQ(trans.get_extension<dma_extension>(), &ext);
    EXPECT_EQ(ext.requester_id, 0x0310);
    EXPECT_TRUE(ext.has_pasid);
    EXPECT_EQ(ext.pasid, 0x5a5u);
    EXPECT_TRUE(ext.priv);
    EXPECT_FALSE(ext.exec);
    EXPECT_FALSE(ext.ats_translation);
    EXPECT_EQ(ext.translated_size, 0u);
    trans.clear_extension(&ext);
}

TEST(OwnDevice, AttachedDeviceComesAfterTheConfiguredOnes) {
    ASSERT_TRUE(platform::configure(one_builtin_device()));
    counting_device dev("mine", own_device_config{own_rid, false, true, false, 200});
    std::string error;
    ASSERT_TRUE(platform::attach(dev, &error)) << error;
    EXPECT_EQ(platform::attached_device_count(), 1u);
    platform& p = platform::instance();
    EXPECT_EQ(p.device_count(), 2u);
    EXPECT_EQ(p.device_index(dev), 1);
    EXPECT_EQ(p.own_device_at(1), &dev);
    EXPECT_EQ(p.own_device_at(0), nullptr);
    EXPECT_EQ(p.device(1).rid, own_rid);
    const int fd = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
    EXPECT_GE(fd, 0);
    iommusim_close(fd);
    // Once the platform exists, nothing more is attached (SystemC has elaborated).
    EXPECT_FALSE(platform::attach(dev, &error));
    EXPECT_NE(error.find("already exists"), std::string::npos) << error;
    EXPECT_EQ(platform::attached_device_count(), 1u);
}

TEST(OwnDevice, AttachRefusesARequesterIdInUseAndBadConfigurations) {
    ASSERT_TRUE(platform::configure(one_builtin_device()));
    std::string error;
    counting_device clash("clash", own_device_config{0x0100, false, true, false, 200});
    EXPECT_FALSE(platform::attach(clash, &error));
    EXPECT_NE(error.find("requester id 0x0100 of own device clash is also configured device 0's"), std::string::npos)
        << error;
    counting_device pri_only("pri_only", own_device_config{own_rid, false, true, true, 200});
    EXPECT_FALSE(platform::attach(pri_only, &error));
    EXPECT_NE(error.find("pri needs ats"), std::string::npos) << error;
    counting_device first("first", own_device_config{own_rid, false, true, false, 200});
    counting_device second("second", own_device_config{own_rid, true, true, false, 200});
    ASSERT_TRUE(platform::attach(first, &error)) << error;
    EXPECT_FALSE(platform::attach(first, &error));
    EXPECT_NE(error.find("attached already"), std::string::npos) << error;
    EXPECT_FALSE(platform::attach(second, &error));
    EXPECT_NE(error.find("is also own device first's"), std::string::npos) << error;
    EXPECT_EQ(platform::attached_device_count(), 1u);
    // A configuration whose device takes an attached device's requester id is refused too.
    platform_config cfg = one_builtin_device();
    cfg.devices[0].rid = own_rid;
    EXPECT_FALSE(platform::configure(cfg, &error));
    EXPECT_NE(error.find("is also configured device 0's"), std::string::npos) << error;
}

TEST(OwnDevice, DmaGoesThroughTheDeviceAndLandsAtTheMappedHostPage) {
    ASSERT_TRUE(platform::configure(one_builtin_device()));
    counting_device dev("mine", own_device_config{own_rid, false, true, false, 200});
    ASSERT_TRUE(platform::attach(dev));
    host_buffer host;
    attached_ioas io(host.p);
    // A write of 32 bytes across the boundary of the IOAS's second and third pages.
    std::vector<uint8_t> data(32);
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<uint8_t>(0x40 + i);
    }
    const uint64_t iova = iova_base + 0x2000 - 16;
    ASSERT_EQ(iommusim_dma(io.vfio, 0, iova, data.data(), data.size(), 1), 0);
    EXPECT_EQ(std::memcmp(host.bytes() + 0x2000 - 16, data.data(), data.size()), 0);
    ASSERT_EQ(dev.requests.size(), 1u);
    EXPECT_EQ(dev.requests[0].iova, iova);
    EXPECT_EQ(dev.requests[0].len, 32u);
    EXPECT_TRUE(dev.requests[0].is_write);
    EXPECT_FALSE(dev.requests[0].has_pasid);
    // A read gives back what the host page holds.
    host.bytes()[0x3000] = 0xc3;
    uint8_t byte = 0;
    ASSERT_EQ(iommusim_dma(io.vfio, 0, iova_base + 0x3000, &byte, 1, 0), 0);
    EXPECT_EQ(byte, 0xc3);
    // Outside the IOAS's mapping the IOMMU blocks it.
    errno = 0;
    EXPECT_EQ(iommusim_dma(io.vfio, 0, iova_base + buffer_bytes, &byte, 1, 0), -1);
    EXPECT_EQ(errno, EFAULT);
    EXPECT_NE(iommusim_last_fault(io.vfio), 0);
    // The built-in device is untouched by all this.
    EXPECT_EQ(platform::instance().dma_engine(0).statistics().transfers, 0u);
}

// Any initiator socket of another module, bound to forward_socket, reaches the IOMMU with the own
// device's requester id: an untagged payload and one whose extension names another id.
struct plain_initiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<plain_initiator> socket{"socket"};
    explicit plain_initiator(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {}
    tlm::tlm_response_status write(uint64_t addr, uint8_t* data, unsigned len, dma_extension* ext) {
        tlm::tlm_generic_payload trans;
        trans.set_command(tlm::TLM_WRITE_COMMAND);
        trans.set_address(addr);
        trans.set_data_ptr(data);
        trans.set_data_length(len);
        trans.set_streaming_width(len);
        trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        if (ext) {
            trans.set_extension(ext);
        }
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(trans, delay);
        if (ext) {
            trans.clear_extension(ext);
        }
        return trans.get_response_status();
    }
};

TEST(OwnDevice, AnInitiatorBoundToTheForwardSocketDmasAsTheDevice) {
    ASSERT_TRUE(platform::configure(one_builtin_device()));
    counting_device dev("front", own_device_config{own_rid, false, true, false, 200});
    plain_initiator engine("engine");
    engine.socket.bind(dev.forward_socket);
    ASSERT_TRUE(platform::attach(dev));
    host_buffer host;
    attached_ioas io(host.p);
    uint8_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t b[4] = {9, 10, 11, 12};
    dma_extension foreign;
    foreign.requester_id = 0x0100;  // the built-in device's id, which has no translation here
    tlm::tlm_response_status first = tlm::TLM_INCOMPLETE_RESPONSE, second = tlm::TLM_INCOMPLETE_RESPONSE;
    platform::instance().run([&] {
        first = engine.write(iova_base + 0x100, a, sizeof a, nullptr);
        second = engine.write(iova_base + 0x3000, b, sizeof b, &foreign);
    });
    EXPECT_EQ(first, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(second, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(std::memcmp(host.bytes() + 0x100, a, sizeof a), 0);
    EXPECT_EQ(std::memcmp(host.bytes() + 0x3000, b, sizeof b), 0);
    EXPECT_EQ(foreign.requester_id, 0x0100);  // the initiator's extension is given back as it was
}

TEST(OwnDevice, AtsTranslationIsCachedAndTheDriverInvalidatesIt) {
    platform_config cfg = one_builtin_device();
    ASSERT_TRUE(platform::configure(cfg));
    counting_device dev("ats", own_device_config{own_rid, true, true, false, 200});
    ASSERT_TRUE(platform::attach(dev));
    host_buffer host;
    attached_ioas io(host.p);
    ats_result t;
    platform::instance().run([&] { t = dev.translate(false, 0, iova_base + 0x1234, true); });
    EXPECT_EQ(t.status, ats_completion::success);
    EXPECT_EQ(t.size, 4096u);
    EXPECT_TRUE(t.read);
    EXPECT_TRUE(t.write);
    // The first host buffer the platform adopts starts at user_memory_base (2 MiB aligned).
    EXPECT_EQ(t.addr, cfg.user_memory_base + 0x1000);
    EXPECT_EQ(t.translate(iova_base + 0x1234), cfg.user_memory_base + 0x1234);
    ASSERT_NE(dev.device_tlb(), nullptr);
    EXPECT_TRUE(dev.device_tlb()->holds(false, 0, iova_base + 0x1234));
    // Unmapping the page makes the driver invalidate the device TLB (type 3, no PASID).
    iommu_ioas_unmap unmap{};
    unmap.size = sizeof(unmap);
    unmap.ioas_id = io.ioas;
    unmap.iova = iova_base;
    unmap.length = buffer_bytes;
    ASSERT_EQ(iommusim_ioctl(io.iommufd, IOMMU_IOAS_UNMAP, &unmap), 0);
    ASSERT_FALSE(dev.invalidations.empty());
    EXPECT_EQ(dev.invalidations[0].sid, own_rid);
    EXPECT_FALSE(dev.invalidations[0].with_pasid);
    EXPECT_FALSE(dev.device_tlb()->holds(false, 0, iova_base + 0x1234));
    EXPECT_EQ(dev.device_tlb()->completions_sent(), dev.invalidations.size());
    // Fault injection reaches an own device's TLB too: unanswered, the driver sees a time-out (ITE).
    platform::instance().set_device_tlb_unresponsive(1, true);
    iommu_ioas_map map{};
    map.size = sizeof(map);
    map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
    map.ioas_id = io.ioas;
    map.user_va = reinterpret_cast<uintptr_t>(host.p);
    map.length = buffer_bytes;
    map.iova = iova_base;
    ASSERT_EQ(iommusim_ioctl(io.iommufd, IOMMU_IOAS_MAP, &map), 0);
    const uint64_t ite_before = platform::instance().driver_ite_count();
    const std::size_t sent_before = dev.device_tlb()->completions_sent();
    ASSERT_EQ(iommusim_ioctl(io.iommufd, IOMMU_IOAS_UNMAP, &unmap), 0);
    EXPECT_EQ(dev.device_tlb()->completions_sent(), sent_before);
    EXPECT_GT(platform::instance().driver_ite_count(), ite_before);
    platform::instance().set_device_tlb_unresponsive(1, false);
    // Now the translation request comes back granting nothing: not cached.
    platform::instance().run([&] { t = dev.translate(false, 0, iova_base + 0x1234, false); });
    EXPECT_FALSE(t.grants(false));
    EXPECT_FALSE(dev.device_tlb()->holds(false, 0, iova_base + 0x1234));
}

// An own ATS+PRI device faults a page in through the iommufd fault queue (docs/vtd-facts.md §10):
// its page request reaches the VMM's fault fd, the VMM maps the page and answers Success, the
// device receives that page group response, asks again and its write lands.
TEST(OwnDevice, PageRequestOfAnOwnDeviceIsAnsweredThroughTheFaultQueue) {
    platform_config cfg = one_builtin_device();
    cfg.iommu.prs = true;
    ASSERT_TRUE(platform::configure(cfg));
    struct pri_device : counting_device {
        using counting_device::counting_device;
        std::vector<page_group_response> responses;
        void page_response_received(const page_group_response& r) override { responses.push_back(r); }
    } dev("pri", own_device_config{own_rid, true, true, true, 200});
    ASSERT_TRUE(platform::attach(dev));
    platform& p = platform::instance();
    const int iommufd = iommusim_open("/dev/iommu", O_RDWR);
    const int vfio = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
    vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof(bind);
    bind.iommufd = iommufd;
    ASSERT_EQ(iommusim_ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
    iommu_ioas_alloc alloc{};
    alloc.size = sizeof(alloc);
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
    iommu_fault_alloc fault{};
    fault.size = sizeof(fault);
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &fault), 0);
    iommu_hwpt_alloc hwpt{};
    hwpt.size = sizeof(hwpt);
    hwpt.flags = IOMMU_HWPT_FAULT_ID_VALID;
    hwpt.dev_id = bind.out_devid;
    hwpt.pt_id = alloc.out_ioas_id;
    hwpt.fault_id = fault.out_fault_id;
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_HWPT_ALLOC, &hwpt), 0);
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof(attach);
    attach.pt_id = hwpt.out_hwpt_id;
    ASSERT_EQ(iommusim_ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), 0);

    // Nothing is mapped: the translation grants nothing, the device sends a page request.
    const uint64_t iova = iova_base + 0x5000 + 0x40;
    ASSERT_EQ(p.iopf_request(1, 0, iova, true), 1);
    iommu_hwpt_pgfault f{};
    const int fault_fd = static_cast<int>(fault.out_fault_fd);
    ASSERT_EQ(iommusim_read(fault_fd, &f, sizeof f), static_cast<ssize_t>(sizeof f));
    EXPECT_EQ(f.addr, iova_base + 0x5000);
    EXPECT_EQ(f.perm, static_cast<uint32_t>(IOMMU_PGFAULT_PERM_WRITE));
    // No response yet: the device has nothing to take.
    uint8_t data[16];
    std::memset(data, 0x77, sizeof data);
    EXPECT_EQ(p.iopf_complete(1, 0, iova, data, sizeof data, true), -EAGAIN);
    host_buffer host;
    iommu_ioas_map map{};
    map.size = sizeof(map);
    map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
    map.ioas_id = alloc.out_ioas_id;
    map.user_va = reinterpret_cast<uintptr_t>(host.p);
    map.length = 4096;
    map.iova = iova_base + 0x5000;
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_MAP, &map), 0);
    iommu_hwpt_page_response resp{f.cookie, IOMMUFD_PAGE_RESP_SUCCESS};
    ASSERT_EQ(iommusim_write(fault_fd, &resp, sizeof resp), static_cast<ssize_t>(sizeof resp));
    uint8_t code = 0xff;
    ASSERT_EQ(p.iopf_complete(1, 0, iova, data, sizeof data, true, &code), 0);
    EXPECT_EQ(code, 0);  // Success (VT-d page group response code 0)
    ASSERT_EQ(dev.responses.size(), 1u);
    EXPECT_EQ(dev.responses[0].rid, own_rid);
    EXPECT_EQ(dev.responses[0].prg_index, ((iova_base + 0x5000) >> 12) & 0x1ff);
    // The retried write went through the device's dma() and landed in the mapped page.
    ASSERT_EQ(dev.requests.size(), 1u);
    EXPECT_EQ(std::memcmp(host.bytes() + 0x40, data, sizeof data), 0);
    iommusim_close(fault_fd);
    iommusim_close(vfio);
    iommusim_close(iommufd);
}

// An own ATS+PRI device touching two not-present pages: one page request group of two requests
// (one PRGI, LPIG on the second), read from the fault fd as two records with one cookie, one
// response; the device gets that one response, asks again for both pages and its write lands.
TEST(OwnDevice, MultiPageGroupOfAnOwnDeviceIsAnsweredOnce) {
    platform_config cfg = one_builtin_device();
    cfg.iommu.prs = true;
    cfg.iommu.pds = true;
    ASSERT_TRUE(platform::configure(cfg));
    struct pri_device : counting_device {
        using counting_device::counting_device;
        std::vector<page_group_response> responses;
        void page_response_received(const page_group_response& r) override { responses.push_back(r); }
    } dev("pri", own_device_config{own_rid, true, true, true, 200});
    ASSERT_TRUE(platform::attach(dev));
    platform& p = platform::instance();
    const int iommufd = iommusim_open("/dev/iommu", O_RDWR);
    const int vfio = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
    vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof(bind);
    bind.iommufd = iommufd;
    ASSERT_EQ(iommusim_ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
    iommu_ioas_alloc alloc{};
    alloc.size = sizeof(alloc);
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc), 0);
    iommu_fault_alloc fault{};
    fault.size = sizeof(fault);
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &fault), 0);
    iommu_hwpt_alloc hwpt{};
    hwpt.size = sizeof(hwpt);
    hwpt.flags = IOMMU_HWPT_FAULT_ID_VALID;
    hwpt.dev_id = bind.out_devid;
    hwpt.pt_id = alloc.out_ioas_id;
    hwpt.fault_id = fault.out_fault_id;
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_HWPT_ALLOC, &hwpt), 0);
    vfio_device_attach_iommufd_pt attach{};
    attach.argsz = sizeof(attach);
    attach.pt_id = hwpt.out_hwpt_id;
    ASSERT_EQ(iommusim_ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), 0);

    const uint64_t iova = iova_base + 0x6000;
    ASSERT_EQ(p.iopf_request_range(1, 0, iova, 2 * 4096, true), 1);
    iommu_hwpt_pgfault f[2]{};
    const int fault_fd = static_cast<int>(fault.out_fault_fd);
    ASSERT_EQ(iommusim_read(fault_fd, f, sizeof f), static_cast<ssize_t>(sizeof f));
    EXPECT_EQ(f[0].addr, iova);
    EXPECT_EQ(f[0].flags, 0u);
    EXPECT_EQ(f[1].addr, iova + 0x1000);
    EXPECT_EQ(f[1].flags, static_cast<uint32_t>(IOMMU_PGFAULT_FLAGS_LAST_PAGE));
    EXPECT_EQ(f[0].grpid, f[1].grpid);
    EXPECT_EQ(f[0].cookie, f[1].cookie);
    host_buffer host;
    iommu_ioas_map map{};
    map.size = sizeof(map);
    map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
    map.ioas_id = alloc.out_ioas_id;
    map.user_va = reinterpret_cast<uintptr_t>(host.p);
    map.length = 2 * 4096;
    map.iova = iova;
    ASSERT_EQ(iommusim_ioctl(iommufd, IOMMU_IOAS_MAP, &map), 0);
    iommu_hwpt_page_response resp{f[0].cookie, IOMMUFD_PAGE_RESP_SUCCESS};
    ASSERT_EQ(iommusim_write(fault_fd, &resp, sizeof resp), static_cast<ssize_t>(sizeof resp));
    std::vector<uint8_t> data(2 * 4096, 0x6c);
    uint8_t code = 0xff;
    ASSERT_EQ(p.iopf_complete_range(1, 0, iova, data.data(), data.size(), true, &code), 0);
    EXPECT_EQ(code, 0);
    ASSERT_EQ(dev.responses.size(), 1u) << "one response for the group";
    EXPECT_EQ(dev.responses[0].prg_index, (iova >> 12) & 0x1ff);
    EXPECT_TRUE(dev.responses[0].lpig);
    EXPECT_EQ(std::memcmp(host.bytes(), data.data(), data.size()), 0);
    iommusim_close(fault_fd);
    iommusim_close(vfio);
    iommusim_close(iommufd);
}

TEST(OwnDevice, WithoutAtsATranslationRequestIsNotSent) {
    own_device dev("plain", own_device_config{0x0320, false, true, false, 200});
    const ats_result t = dev.translate(false, 0, 0x1000, false);
    EXPECT_EQ(t.status, ats_completion::unsupported_request);
    EXPECT_EQ(dev.device_tlb(), nullptr);
    EXPECT_EQ(dev.devtlb_port(), nullptr);
}

}  // namespace
}  // namespace iommusim
