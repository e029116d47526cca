// The fault queue: IOMMU_FAULT_QUEUE_ALLOC, HWPTs allocated with IOMMU_HWPT_FAULT_ID_VALID, the fault
// fd's read/write/poll, and IOMMU_TEST_OP_TRIGGER_IOPF, against the kernel's semantics
// (drivers/iommu/iommufd/fault.c and selftest.c in 6.12, include/uapi/linux/iommufd.h).
// FaultQueue* use the public C API; FaultQueueCore* drive iommufd::context with the selftest mock
// driver directly, to see the page responses the mock devices get.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "driver/mock_driver.h"
#include "iommufd/context.h"
#include "iommufd/fault.h"
#include "iommufd/file_table.h"
#include "iommufd/iommufd_util.h"
#include "iommusim/iommufd.h"
#include "iommusim/iommusim.h"

namespace iommusim::test {
namespace {

constexpr std::size_t record = 40;   // sizeof(struct iommu_hwpt_pgfault) in the uAPI
constexpr std::size_t response = 8;  // sizeof(struct iommu_hwpt_page_response)

int FaultAlloc(int fd, uint32_t* fault_id, int* fault_fd, uint32_t flags = 0, uint32_t size = 16) {
    iommu_fault_alloc cmd{};
    cmd.size = size;
    cmd.flags = flags;
    const int err = Ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);
    if (err == 0) {
        *fault_id = cmd.out_fault_id;
        *fault_fd = static_cast<int>(cmd.out_fault_fd);
    }
    return err;
}

int HwptAllocFault(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t fault_id, uint32_t flags, uint32_t* out,
                   uint32_t data_type = IOMMU_HWPT_DATA_NONE, const void* data = nullptr, uint32_t data_len = 0) {
    iommu_hwpt_alloc cmd{};
    cmd.size = sizeof(cmd);
    cmd.flags = flags;
    cmd.dev_id = dev_id;
    cmd.pt_id = pt_id;
    cmd.data_type = data_type;
    cmd.data_len = data_len;
    cmd.data_uptr = reinterpret_cast<uint64_t>(data);
    cmd.fault_id = fault_id;
    const int err = Ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
    if (err == 0) {
        *out = cmd.out_hwpt_id;
    }
    return err;
}

int TriggerIopf(int fd, uint32_t dev_id, uint32_t pasid, uint32_t grpid, uint32_t perm, uint64_t addr) {
    iommu_test_cmd cmd{};
    cmd.size = sizeof(cmd);
    cmd.op = IOMMU_TEST_OP_TRIGGER_IOPF;
    cmd.trigger_iopf.dev_id = dev_id;
    cmd.trigger_iopf.pasid = pasid;
    cmd.trigger_iopf.grpid = grpid;
    cmd.trigger_iopf.perm = perm;
    cmd.trigger_iopf.addr = addr;
    return Ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

// A fault record as the uAPI lays it out, read field by field from the bytes (independent of the
// struct the model fills).
struct pgfault_fields {
    uint32_t flags, dev_id, pasid, grpid, perm, reserved;
    uint64_t addr;
    uint32_t length, cookie;
};

pgfault_fields Fields(const unsigned char* at) {
    pgfault_fields f{};
    std::memcpy(&f.flags, at + 0, 4);
    std::memcpy(&f.dev_id, at + 4, 4);
    std::memcpy(&f.pasid, at + 8, 4);
    std::memcpy(&f.grpid, at + 12, 4);
    std::memcpy(&f.perm, at + 16, 4);
    std::memcpy(&f.reserved, at + 20, 4);
    std::memcpy(&f.addr, at + 24, 8);
    std::memcpy(&f.length, at + 32, 4);
    std::memcpy(&f.cookie, at + 36, 4);
    return f;
}

// A response record: cookie at 0, code at 4.
std::vector<unsigned char> Response(uint32_t cookie, uint32_t code) {
    std::vector<unsigned char> r(response);
    std::memcpy(r.data(), &cookie, 4);
    std::memcpy(r.data() + 4, &code, 4);
    return r;
}

// An IOAS with one mock device, a nest parent over it and a nested HWPT with a fault object, the
// device attached to that HWPT: the kernel selftest's alloc_hwpt_nested fault steps.
class FaultQueue : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        TestCmdIoasAlloc(m_fd, &m_ioas_id);
        TestCmdMockDomain(m_fd, m_ioas_id, &m_stdev_id, &m_hwpt_id, &m_device_id);
        TestCmdHwptAlloc(m_fd, m_device_id, m_ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT, &m_parent_id);
        ASSERT_EQ(0, FaultAlloc(m_fd, &m_fault_id, &m_fault_fd));
        iommu_hwpt_selftest data{};
        data.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
        ASSERT_EQ(0, HwptAllocFault(m_fd, m_device_id, m_parent_id, m_fault_id, IOMMU_HWPT_FAULT_ID_VALID,
                                    &m_iopf_hwpt_id, IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
        TestCmdMockDomainReplace(m_fd, m_stdev_id, m_iopf_hwpt_id);
    }
    void TearDown() override {
        if (m_fault_fd >= 0) {
            EXPECT_EQ(0, iommusim_close(m_fault_fd));
        }
        EXPECT_EQ(0, iommusim_close(m_fd));
    }
    int m_fd = -1;
    int m_fault_fd = -1;
    uint32_t m_ioas_id = 0, m_stdev_id = 0, m_hwpt_id = 0, m_device_id = 0;
    uint32_t m_parent_id = 0, m_fault_id = 0, m_iopf_hwpt_id = 0;
};

TEST(FaultQueueAlloc, FlagsSizeAndIds) {
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    uint32_t id = 0;
    int ffd = -1;
    EXPECT_EQ(EOPNOTSUPP, FaultAlloc(fd, &id, &ffd, 1));
    // Below offsetofend(out_fault_fd) (16 bytes): EINVAL before anything else.
    EXPECT_EQ(EINVAL, FaultAlloc(fd, &id, &ffd, 0, 12));
    ASSERT_EQ(0, FaultAlloc(fd, &id, &ffd));
    EXPECT_EQ(1u, id);  // the first object of the context
    EXPECT_GT(ffd, 0);
    // No ioctl on the fault fd; no read of /dev/iommu.
    iommu_destroy d{};
    d.size = sizeof(d);
    d.id = id;
    errno = 0;
    EXPECT_EQ(-1, iommusim_ioctl(ffd, IOMMU_DESTROY, &d));
    EXPECT_EQ(ENOTTY, errno);
    unsigned char buf[record];
    errno = 0;
    EXPECT_EQ(-1, iommusim_read(fd, buf, sizeof(buf)));
    EXPECT_EQ(EINVAL, errno);
    // The fault fd holds a user of the object: EBUSY until it is closed.
    TestErrDestroy(EBUSY, fd, id);
    EXPECT_EQ(0, iommusim_close(ffd));
    TestCmdDestroy(fd, id);
    TestErrDestroy(ENOENT, fd, id);
    EXPECT_EQ(0, iommusim_close(fd));
}

TEST(FaultQueueAlloc, FdOutlivesIommufd) {
    const int fd = iommusim_open("/dev/iommu", O_RDWR);
    ASSERT_GE(fd, 0);
    uint32_t id = 0;
    int ffd = -1;
    ASSERT_EQ(0, FaultAlloc(fd, &id, &ffd));
    EXPECT_EQ(0, iommusim_close(fd));  // the fault fd keeps the context (kernel iommufd_ctx_get)
    unsigned char buf[record];
    EXPECT_EQ(0, iommusim_read(ffd, buf, sizeof(buf)));
    EXPECT_EQ(POLLOUT, iommusim_poll(ffd));
    EXPECT_EQ(0, iommusim_close(ffd));
}

TEST_F(FaultQueue, FaultIdValidation) {
    iommu_hwpt_selftest data{};
    data.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
    uint32_t hwpt = 0;
    // Not an object, or an object of another type: ENOENT (typed lookup).
    EXPECT_EQ(ENOENT, HwptAllocFault(m_fd, m_device_id, m_parent_id, UINT32_MAX, IOMMU_HWPT_FAULT_ID_VALID, &hwpt,
                                     IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    EXPECT_EQ(ENOENT, HwptAllocFault(m_fd, m_device_id, m_parent_id, m_ioas_id, IOMMU_HWPT_FAULT_ID_VALID, &hwpt,
                                     IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
    // A nest parent cannot take page faults.
    EXPECT_EQ(EOPNOTSUPP, HwptAllocFault(m_fd, m_device_id, m_ioas_id, m_fault_id,
                                         IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt));
    // Without the flag fault_id is not looked at.
    ASSERT_EQ(0, HwptAllocFault(m_fd, m_device_id, m_parent_id, UINT32_MAX, 0, &hwpt, IOMMU_HWPT_DATA_SELFTEST, &data,
                                sizeof(data)));
    TestCmdDestroy(m_fd, hwpt);
    // The refused allocations left no HWPT holding the fault object: one HWPT and the fd hold it.
    TestErrDestroy(EBUSY, m_fd, m_fault_id);
}

TEST_F(FaultQueue, TriggerReadRespond) {
    ASSERT_EQ(0,
              TriggerIopf(m_fd, m_device_id, 0x1, 0x2, IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE, 0xdeadbeaf));
    EXPECT_EQ(POLLOUT | POLLIN | POLLRDNORM, iommusim_poll(m_fault_fd));
    unsigned char buf[2 * record] = {};
    ASSERT_EQ(static_cast<ssize_t>(record), iommusim_read(m_fault_fd, buf, sizeof(buf)));
    const pgfault_fields f = Fields(buf);
    // LAST_PAGE | PASID_VALID (pasid != IOMMU_NO_PASID), the device object's id, the first cookie.
    EXPECT_EQ(3u, f.flags);
    EXPECT_EQ(m_device_id, f.dev_id);
    EXPECT_EQ(1u, f.pasid);
    EXPECT_EQ(2u, f.grpid);
    EXPECT_EQ(3u, f.perm);
    EXPECT_EQ(0u, f.reserved);
    EXPECT_EQ(0xdeadbeafu, f.addr);
    EXPECT_EQ(0u, f.length);
    EXPECT_EQ(1u, f.cookie);
    EXPECT_EQ(POLLOUT, iommusim_poll(m_fault_fd));
    EXPECT_EQ(0, iommusim_read(m_fault_fd, buf, sizeof(buf)));  // empty: 0, never blocks

    const auto ok = Response(f.cookie, IOMMUFD_PAGE_RESP_SUCCESS);
    EXPECT_EQ(static_cast<ssize_t>(response), iommusim_write(m_fault_fd, ok.data(), ok.size()));
    // The cookie is answered: a second response to it is EINVAL.
    errno = 0;
    EXPECT_EQ(-1, iommusim_write(m_fault_fd, ok.data(), ok.size()));
    EXPECT_EQ(EINVAL, errno);
}

TEST_F(FaultQueue, ReadErrors) {
    unsigned char buf[3 * record] = {};
    errno = 0;
    EXPECT_EQ(-1, iommusim_read(m_fault_fd, buf, record - 1));  // not a multiple of the record
    EXPECT_EQ(ESPIPE, errno);
    EXPECT_EQ(0, iommusim_read(m_fault_fd, buf, 0));  // nothing waits
    ASSERT_EQ(0, TriggerIopf(m_fd, m_device_id, 0, 7, IOMMU_PGFAULT_PERM_READ, 0x1000));
    errno = 0;
    EXPECT_EQ(-1, iommusim_read(m_fault_fd, buf, 0));  // too short for the first group
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_pread(m_fault_fd, buf, record, 0));  // not seekable
    EXPECT_EQ(ESPIPE, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_read(m_fault_fd, nullptr, record));
    EXPECT_EQ(EFAULT, errno);
    // The failed reads left the group queued.
    EXPECT_EQ(POLLOUT | POLLIN | POLLRDNORM, iommusim_poll(m_fault_fd));
    ASSERT_EQ(static_cast<ssize_t>(record), iommusim_read(m_fault_fd, buf, sizeof(buf)));
    const pgfault_fields f = Fields(buf);
    EXPECT_EQ(2u, f.flags);  // LAST_PAGE only: IOMMU_NO_PASID
    EXPECT_EQ(0u, f.pasid);
    EXPECT_EQ(7u, f.grpid);
    EXPECT_EQ(1u, f.cookie);  // the EFAULT read gave its cookie back
}

TEST_F(FaultQueue, ReadsWholeGroupsAndCookies) {
    for (uint32_t g = 0; g < 3; ++g) {
        ASSERT_EQ(0, TriggerIopf(m_fd, m_device_id, 0, g, IOMMU_PGFAULT_PERM_READ, 0x1000 * (g + 1)));
    }
    unsigned char buf[3 * record] = {};
    // Two records' room: two groups, oldest first, cookies 1 and 2.
    ASSERT_EQ(static_cast<ssize_t>(2 * record), iommusim_read(m_fault_fd, buf, 2 * record));
    EXPECT_EQ(0u, Fields(buf).grpid);
    EXPECT_EQ(1u, Fields(buf).cookie);
    EXPECT_EQ(0x1000u, Fields(buf).addr);
    EXPECT_EQ(1u, Fields(buf + record).grpid);
    EXPECT_EQ(2u, Fields(buf + record).cookie);
    // Answer cookie 1: the next group read gets the lowest free cookie, 1 again.
    const auto first = Response(1, IOMMUFD_PAGE_RESP_INVALID);
    ASSERT_EQ(static_cast<ssize_t>(response), iommusim_write(m_fault_fd, first.data(), first.size()));
    ASSERT_EQ(static_cast<ssize_t>(record), iommusim_read(m_fault_fd, buf, sizeof(buf)));
    EXPECT_EQ(2u, Fields(buf).grpid);
    EXPECT_EQ(1u, Fields(buf).cookie);
}

TEST_F(FaultQueue, WriteErrors) {
    ASSERT_EQ(0, TriggerIopf(m_fd, m_device_id, 0, 1, IOMMU_PGFAULT_PERM_READ, 0x1000));
    ASSERT_EQ(0, TriggerIopf(m_fd, m_device_id, 0, 2, IOMMU_PGFAULT_PERM_READ, 0x2000));
    unsigned char buf[2 * record] = {};
    ASSERT_EQ(static_cast<ssize_t>(2 * record), iommusim_read(m_fault_fd, buf, sizeof(buf)));
    const auto ok1 = Response(1, IOMMUFD_PAGE_RESP_SUCCESS);
    errno = 0;
    EXPECT_EQ(-1, iommusim_write(m_fault_fd, ok1.data(), response - 1));  // not a whole record
    EXPECT_EQ(ESPIPE, errno);
    const auto bad_code = Response(1, 2);
    errno = 0;
    EXPECT_EQ(-1, iommusim_write(m_fault_fd, bad_code.data(), bad_code.size()));
    EXPECT_EQ(EINVAL, errno);
    const auto unknown = Response(9, IOMMUFD_PAGE_RESP_SUCCESS);
    errno = 0;
    EXPECT_EQ(-1, iommusim_write(m_fault_fd, unknown.data(), unknown.size()));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_write(m_fault_fd, nullptr, response));
    EXPECT_EQ(EFAULT, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_pwrite(m_fault_fd, ok1.data(), ok1.size(), 0));
    EXPECT_EQ(ESPIPE, errno);
    // Two records, the second unknown: the first is answered, the write returns its bytes.
    std::vector<unsigned char> two = ok1;
    two.insert(two.end(), unknown.begin(), unknown.end());
    EXPECT_EQ(static_cast<ssize_t>(response), iommusim_write(m_fault_fd, two.data(), two.size()));
    const auto ok2 = Response(2, IOMMUFD_PAGE_RESP_SUCCESS);
    EXPECT_EQ(static_cast<ssize_t>(response), iommusim_write(m_fault_fd, ok2.data(), ok2.size()));
    errno = 0;
    EXPECT_EQ(-1, iommusim_write(m_fault_fd, ok1.data(), ok1.size()));  // already answered
    EXPECT_EQ(EINVAL, errno);
}

TEST_F(FaultQueue, TriggerChecksAndNoHandler) {
    EXPECT_EQ(ENOENT, TriggerIopf(m_fd, 0xffff, 0, 0, 0, 0));
    EXPECT_EQ(ENOENT, TriggerIopf(m_fd, m_ioas_id, 0, 0, 0, 0));
    // Attached to a HWPT without a fault object: answered invalid by the core, the op succeeds,
    // nothing is queued.
    TestCmdMockDomainReplace(m_fd, m_stdev_id, m_parent_id);
    EXPECT_EQ(0, TriggerIopf(m_fd, m_device_id, 0, 0, IOMMU_PGFAULT_PERM_READ, 0x1000));
    EXPECT_EQ(POLLOUT, iommusim_poll(m_fault_fd));
}

TEST_F(FaultQueue, LifetimeAndBusy) {
    // Attached HWPT busy; the fault object busy while a HWPT and the fd hold it.
    TestErrDestroy(EBUSY, m_fd, m_iopf_hwpt_id);
    TestErrDestroy(EBUSY, m_fd, m_fault_id);
    ASSERT_EQ(0, TriggerIopf(m_fd, m_device_id, 0, 1, IOMMU_PGFAULT_PERM_READ, 0x1000));
    // Leaving the HWPT answers the group: nothing left to read.
    TestCmdMockDomainReplace(m_fd, m_stdev_id, m_parent_id);
    EXPECT_EQ(POLLOUT, iommusim_poll(m_fault_fd));
    TestCmdDestroy(m_fd, m_iopf_hwpt_id);
    TestErrDestroy(EBUSY, m_fd, m_fault_id);  // the fd still holds it
    EXPECT_EQ(0, iommusim_close(m_fault_fd));
    m_fault_fd = -1;
    TestCmdDestroy(m_fd, m_fault_id);
}

TEST_F(FaultQueue, AttachNeedsIopfCapableDevice) {
    // A paging HWPT with a fault object (the current kernel's rule; not a nest parent) takes the
    // mock device, which supports IOPF.
    uint32_t paging = 0;
    ASSERT_EQ(0, HwptAllocFault(m_fd, m_device_id, m_ioas_id, m_fault_id, IOMMU_HWPT_FAULT_ID_VALID, &paging));
    TestCmdMockDomainReplace(m_fd, m_stdev_id, paging);
    ASSERT_EQ(0, TriggerIopf(m_fd, m_device_id, 0, 4, IOMMU_PGFAULT_PERM_WRITE, 0x4000));
    unsigned char buf[record] = {};
    ASSERT_EQ(static_cast<ssize_t>(record), iommusim_read(m_fault_fd, buf, sizeof(buf)));
    EXPECT_EQ(4u, Fields(buf).grpid);
    // A PASID request on a paging domain finds no handler (no PASID attach): nothing queued.
    ASSERT_EQ(0, TriggerIopf(m_fd, m_device_id, 5, 4, IOMMU_PGFAULT_PERM_WRITE, 0x4000));
    EXPECT_EQ(POLLOUT, iommusim_poll(m_fault_fd));
    TestCmdMockDomainReplace(m_fd, m_stdev_id, m_ioas_id);
    TestCmdDestroy(m_fd, paging);
}

// ---- the core with the mock driver: the page responses the devices get --------------------------

// A descriptor table that hands out one fault fd number and keeps its queue.
class recording_files final : public iommufd::file_table {
  public:
    int reserve(std::shared_ptr<iommufd::selftest_access>) override { return -ENOMEM; }
    int reserve_event_queue(iommufd::event_queue_file& queue) override {
        reserved = dynamic_cast<iommufd::fault*>(&queue);
        return 42;
    }
    void install(int) override { installed = reserved; }
    void unreserve(int) override { reserved = nullptr; }
    std::shared_ptr<iommufd::selftest_access> access_file(int) override { return nullptr; }
    iommufd::fault* reserved = nullptr;
    iommufd::fault* installed = nullptr;
};

class FaultQueueCore : public ::testing::Test {
  protected:
    void SetUp() override {
        m_ctx.files = &m_files;
        iommu_ioas_alloc a{};
        a.size = sizeof(a);
        ASSERT_EQ(0, call(IOMMU_IOAS_ALLOC, &a));
        m_ioas_id = a.out_ioas_id;
        iommu_test_cmd md{};
        md.size = sizeof(md);
        md.op = IOMMU_TEST_OP_MOCK_DOMAIN;
        md.id = m_ioas_id;
        ASSERT_EQ(0, call(IOMMU_TEST_CMD, &md));
        m_stdev_id = md.mock_domain.out_stdev_id;
        m_device_id = md.mock_domain.out_idev_id;
        iommu_fault_alloc fa{};
        fa.size = sizeof(fa);
        ASSERT_EQ(0, call(IOMMU_FAULT_QUEUE_ALLOC, &fa));
        EXPECT_EQ(42u, fa.out_fault_fd);
        m_fault_id = fa.out_fault_id;
        ASSERT_NE(nullptr, m_files.installed);
        m_queue = m_files.installed;
        m_queue->on_pending_changed = [this](bool pending) { m_readiness.push_back(pending); };
        iommu_hwpt_alloc ha{};
        ha.size = sizeof(ha);
        ha.flags = IOMMU_HWPT_FAULT_ID_VALID;
        ha.dev_id = m_device_id;
        ha.pt_id = m_ioas_id;
        ha.fault_id = m_fault_id;
        ASSERT_EQ(0, call(IOMMU_HWPT_ALLOC, &ha));
        m_hwpt_id = ha.out_hwpt_id;
        ASSERT_EQ(0, replace(m_hwpt_id));
    }
    int call(unsigned long cmd, void* arg) { return m_ctx.ioctl(cmd, reinterpret_cast<uint64_t>(arg)); }
    int replace(uint32_t pt_id) {
        iommu_test_cmd c{};
        c.size = sizeof(c);
        c.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
        c.id = m_stdev_id;
        c.mock_domain_replace.pt_id = pt_id;
        return call(IOMMU_TEST_CMD, &c);
    }
    const std::vector<driver::page_response>& responses() {
        auto* idev = m_ctx.get<iommufd::device>(m_device_id, iommufd::obj_type::device);
        return static_cast<driver::mock_device*>(idev->dev)->page_responses;
    }
    driver::iommu_device& mock() { return *m_ctx.get<iommufd::device>(m_device_id, iommufd::obj_type::device)->dev; }
    static driver::page_request request(uint32_t grpid, uint64_t addr, bool last, uint32_t pasid = 0) {
        driver::page_request r;
        r.flags = (last ? driver::page_request_last_page : 0) | (pasid != 0 ? driver::page_request_pasid_valid : 0);
        r.pasid = pasid;
        r.grpid = grpid;
        r.perm = driver::page_request_perm_read;
        r.addr = addr;
        return r;
    }
    long read(std::vector<unsigned char>& buf) {
        return m_queue->read(reinterpret_cast<uint64_t>(buf.data()), buf.size());
    }
    void release_fd() {
        if (!m_fd_released) {
            iommufd::fault_file_release(*m_queue);
            m_fd_released = true;
        }
    }
    void TearDown() override {
        if (m_queue != nullptr) {
            release_fd();
        }
    }

    recording_files m_files;
    iommufd::context m_ctx;
    iommufd::fault* m_queue = nullptr;
    std::vector<bool> m_readiness;
    bool m_fd_released = false;
    uint32_t m_ioas_id = 0, m_stdev_id = 0, m_device_id = 0, m_fault_id = 0, m_hwpt_id = 0;
};

TEST_F(FaultQueueCore, ResponseReachesTheDriver) {
    ASSERT_EQ(0, m_queue->handle(mock(), request(3, 0x3000, true, 9)));
    EXPECT_EQ(std::vector<bool>{true}, m_readiness);
    std::vector<unsigned char> buf(record);
    ASSERT_EQ(static_cast<long>(record), read(buf));
    EXPECT_EQ((std::vector<bool>{true, false}), m_readiness);
    EXPECT_TRUE(responses().empty());
    EXPECT_EQ(1u, m_queue->awaiting_response());
    const auto ok = Response(Fields(buf.data()).cookie, IOMMUFD_PAGE_RESP_SUCCESS);
    ASSERT_EQ(static_cast<long>(response), m_queue->write(reinterpret_cast<uint64_t>(ok.data()), ok.size()));
    ASSERT_EQ(1u, responses().size());
    EXPECT_EQ(9u, responses()[0].pasid);
    EXPECT_EQ(3u, responses()[0].grpid);
    EXPECT_EQ(driver::page_response_code::success, responses()[0].code);
    EXPECT_EQ(0u, m_queue->awaiting_response());
}

TEST_F(FaultQueueCore, PartialRequestsJoinTheirGroup) {
    // Two requests of group 5 without LAST_PAGE, one of group 6, then group 5's last: one group
    // of three records in report order; group 6 keeps waiting for its last request.
    ASSERT_EQ(0, m_queue->handle(mock(), request(5, 0x5000, false)));
    ASSERT_EQ(0, m_queue->handle(mock(), request(6, 0x6000, false)));
    ASSERT_EQ(0, m_queue->handle(mock(), request(5, 0x5001000, false)));
    EXPECT_FALSE(m_queue->pending());
    ASSERT_EQ(0, m_queue->handle(mock(), request(5, 0x5002000, true)));
    std::vector<unsigned char> small(2 * record);
    EXPECT_EQ(-EINVAL, read(small));  // the group needs three records
    std::vector<unsigned char> buf(4 * record);
    ASSERT_EQ(static_cast<long>(3 * record), read(buf));
    const uint64_t expected_addr[3] = {0x5000, 0x5001000, 0x5002000};
    const uint32_t expected_flags[3] = {0, 0, 2};
    for (int i = 0; i < 3; ++i) {
        const pgfault_fields f = Fields(buf.data() + i * record);
        EXPECT_EQ(5u, f.grpid);
        EXPECT_EQ(expected_addr[i], f.addr);
        EXPECT_EQ(expected_flags[i], f.flags);
        EXPECT_EQ(1u, f.cookie);  // one cookie for the group
    }
    ASSERT_EQ(0, m_queue->handle(mock(), request(6, 0x6001000, true)));
    ASSERT_EQ(static_cast<long>(2 * record), read(buf));
    EXPECT_EQ(0x6000u, Fields(buf.data()).addr);
    EXPECT_EQ(2u, Fields(buf.data()).cookie);
}

TEST_F(FaultQueueCore, LeavingTheHwptAnswersInvalid) {
    ASSERT_EQ(0, m_queue->handle(mock(), request(1, 0x1000, true)));
    ASSERT_EQ(0, m_queue->handle(mock(), request(2, 0x2000, true)));
    std::vector<unsigned char> buf(record);
    ASSERT_EQ(static_cast<long>(record), read(buf));  // group 1 read, group 2 queued
    ASSERT_EQ(0, replace(m_ioas_id));
    ASSERT_EQ(2u, responses().size());
    EXPECT_EQ(2u, responses()[0].grpid);  // the queued group first, then the read one
    EXPECT_EQ(1u, responses()[1].grpid);
    for (const auto& r : responses()) {
        EXPECT_EQ(driver::page_response_code::invalid, r.code);
    }
    EXPECT_FALSE(m_queue->pending());
    EXPECT_EQ(0u, m_queue->awaiting_response());
    // Not attached any more: the queue refuses the device's requests.
    EXPECT_EQ(-EINVAL, m_queue->handle(mock(), request(3, 0x3000, true)));
}

TEST_F(FaultQueueCore, CloseDoesNotAnswer) {
    ASSERT_EQ(0, m_queue->handle(mock(), request(8, 0x8000, true)));
    release_fd();  // the kernel's release only drops the file's user
    EXPECT_TRUE(responses().empty());
    EXPECT_TRUE(m_queue->pending());
    ASSERT_EQ(0, replace(m_ioas_id));  // the attachment ends: now the group is answered
    ASSERT_EQ(1u, responses().size());
    EXPECT_EQ(8u, responses()[0].grpid);
    EXPECT_EQ(driver::page_response_code::invalid, responses()[0].code);
    iommu_destroy d{};
    d.size = sizeof(d);
    d.id = m_fault_id;
    EXPECT_EQ(-EBUSY, call(IOMMU_DESTROY, &d));  // the HWPT holds it
    d.id = m_hwpt_id;
    ASSERT_EQ(0, call(IOMMU_DESTROY, &d));
    d.id = m_fault_id;
    EXPECT_EQ(0, call(IOMMU_DESTROY, &d));
}

TEST_F(FaultQueueCore, AttachRefusesDeviceWithoutIopf) {
    // A device behind the mock driver that is no mock device: its driver takes no page requests
    // for it (iommu_dev_enable_feature(IOPF) fails), so the fault HWPT refuses it with ENODEV.
    driver::iommu_device plain;
    plain.ops = &driver::mock_driver::instance();
    uint32_t plain_id = 0;
    ASSERT_EQ(0, m_ctx.bind(plain, plain_id));
    auto* idev = m_ctx.get<iommufd::device>(plain_id, iommufd::obj_type::device);
    uint32_t pt = m_hwpt_id;
    EXPECT_EQ(-ENODEV, m_ctx.attach(*idev, pt));
    EXPECT_EQ(nullptr, idev->hwpt);
    pt = m_ioas_id;
    EXPECT_EQ(0, m_ctx.attach(*idev, pt));  // a HWPT without a fault object takes it
    m_ctx.unbind(plain_id);
}

TEST_F(FaultQueueCore, PasidAttachRefusesDeviceWithoutIopf) {
    // The same rule on a PASID (kernel iommufd_hwpt_attach_device enables IOPF for any PASID):
    // a PASID-compatible fault HWPT refuses the plain device's PASID 1 with ENODEV before its
    // driver sees the attach.
    iommu_hwpt_alloc ha{};
    ha.size = sizeof(ha);
    ha.flags = IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
    ha.dev_id = m_device_id;
    ha.pt_id = m_ioas_id;
    ha.fault_id = m_fault_id;
    ASSERT_EQ(0, call(IOMMU_HWPT_ALLOC, &ha));
    driver::iommu_device plain;
    plain.ops = &driver::mock_driver::instance();
    plain.max_pasid_log2 = 20;
    uint32_t plain_id = 0;
    ASSERT_EQ(0, m_ctx.bind(plain, plain_id));
    auto* idev = m_ctx.get<iommufd::device>(plain_id, iommufd::obj_type::device);
    uint32_t pt = ha.out_hwpt_id;
    EXPECT_EQ(-ENODEV, m_ctx.attach_pasid(*idev, 1, pt));
    EXPECT_TRUE(idev->pasid_hwpts.empty());
    m_ctx.unbind(plain_id);
}

TEST_F(FaultQueueCore, DestroyWithQueuedGroupsAnswersInvalid) {
    ASSERT_EQ(0, m_queue->handle(mock(), request(1, 0x1000, true)));
    ASSERT_EQ(0, m_queue->handle(mock(), request(2, 0x2000, true)));
    std::vector<unsigned char> buf(record);
    ASSERT_EQ(static_cast<long>(record), read(buf));
    // The kernel's iommufd_fault_destroy answers what is left; reached here directly, as the
    // object's destructor runs once no HWPT and no fd holds it.
    m_queue->respond_all_invalid();
    ASSERT_EQ(2u, responses().size());
    EXPECT_EQ(driver::page_response_code::invalid, responses()[0].code);
    EXPECT_EQ(driver::page_response_code::invalid, responses()[1].code);
    EXPECT_EQ((std::vector<bool>{true, false}), m_readiness);
}

}  // namespace
}  // namespace iommusim::test
