// The DMA engine register region of a VFIO device fd (docs/dma-engine.md) through the C API: the
// vfio-pci information calls with the kernel's argsz/index errnos, pread/pwrite of the registers
// and the data buffer, transfers to and from user memory mapped in an IOAS, an IOMMU fault reported
// in STATUS and FAULT_REASON, and the completion eventfd set with VFIO_DEVICE_SET_IRQS.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "iommufd/iommufd_util.h"
#include "iommusim/hw/dma_engine.h"
#include "iommusim/iommusim.h"

namespace iommusim::test {
namespace {

constexpr uint64_t page = 4096;
constexpr uint64_t iova = 0x300000;

// vfio1 bound to a fresh context, attached to an IOAS mapping two pages of user memory at iova.
class DmaEngine : public ::testing::Test {
  protected:
    void SetUp() override {
        m_fd = iommusim_open("/dev/iommu", O_RDWR);
        ASSERT_GE(m_fd, 0);
        m_vfio = iommusim_open("/dev/vfio/devices/vfio1", O_RDWR);
        ASSERT_GE(m_vfio, 0);
        uint32_t probe = 0;
        errno = 0;
        EXPECT_EQ(-1, iommusim_pread(m_vfio, &probe, 4, 0)) << "no access before bind";
        EXPECT_EQ(EINVAL, errno);
        vfio_device_bind_iommufd bind{};
        bind.argsz = sizeof(bind);
        bind.iommufd = m_fd;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind));
        ASSERT_EQ(0, IoasAlloc(m_fd, &m_ioas_id));
        vfio_device_attach_iommufd_pt attach{};
        attach.argsz = sizeof(attach);
        attach.pt_id = m_ioas_id;
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
        m_mem =
            static_cast<uint8_t*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        ASSERT_NE(MAP_FAILED, static_cast<void*>(m_mem));
        uint64_t at = iova;
        ASSERT_EQ(0, IoasMap(m_fd, m_ioas_id, m_mem, 2 * page, &at,
                             IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA));
        ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_RESET, nullptr));
    }
    void TearDown() override {
        EXPECT_EQ(0, iommusim_close(m_vfio));
        EXPECT_EQ(0, iommusim_close(m_fd));
        munmap(m_mem, 2 * page);
    }
    uint32_t reg(unsigned off) {
        uint32_t v = 0;
        EXPECT_EQ(4, iommusim_pread(m_vfio, &v, 4, off));
        return v;
    }
    void set(unsigned off, uint32_t v) { EXPECT_EQ(4, iommusim_pwrite(m_vfio, &v, 4, off)); }
    void program(uint64_t at, uint32_t len, bool to_memory) {
        EXPECT_EQ(8, iommusim_pwrite(m_vfio, &at, 8, IOMMUSIM_DMA_ENGINE_IOVA));
        set(IOMMUSIM_DMA_ENGINE_LENGTH, len);
        set(IOMMUSIM_DMA_ENGINE_DIRECTION, to_memory ? IOMMUSIM_DMA_ENGINE_DIRECTION_TO_MEMORY : 0);
        set(IOMMUSIM_DMA_ENGINE_DOORBELL, IOMMUSIM_DMA_ENGINE_DOORBELL_START);
    }

    int m_fd = -1;
    int m_vfio = -1;
    uint32_t m_ioas_id = 0;
    uint8_t* m_mem = nullptr;
};

TEST_F(DmaEngine, DeviceInfoDescribesOnePciBarAndOneMsiVector) {
    vfio_device_info info{};
    info.argsz = sizeof(info);
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_GET_INFO, &info));
    EXPECT_EQ(3u, info.flags);  // PCI | RESET
    EXPECT_EQ(9u, info.num_regions);
    EXPECT_EQ(5u, info.num_irqs);
    info.argsz = 15;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_GET_INFO, &info));

    vfio_region_info region{};
    region.argsz = sizeof(region);
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_GET_REGION_INFO, &region));
    EXPECT_EQ(0x2000u, region.size);
    EXPECT_EQ(0u, region.offset);
    EXPECT_EQ(3u, region.flags);  // READ | WRITE
    region.index = 2;
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_GET_REGION_INFO, &region));
    EXPECT_EQ(0u, region.size);
    EXPECT_EQ(uint64_t{2} << 40, region.offset);
    for (uint32_t bad : {8u, 9u, 1000u}) {
        region.index = bad;
        EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_GET_REGION_INFO, &region)) << bad;
    }
    region.index = 0;
    region.argsz = 31;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_GET_REGION_INFO, &region));

    vfio_irq_info irq{};
    irq.argsz = sizeof(irq);
    irq.index = 1;
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_GET_IRQ_INFO, &irq));
    EXPECT_EQ(1u, irq.count);
    EXPECT_EQ(9u, irq.flags);  // EVENTFD | NORESIZE
    irq.index = 5;
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_GET_IRQ_INFO, &irq));
}

TEST_F(DmaEngine, RegistersReadBackAndReadOnlyOnesIgnoreWrites) {
    EXPECT_EQ(0x696f6d75u, reg(0x00));
    EXPECT_EQ(1u, reg(0x04));
    set(0x00, 0);
    EXPECT_EQ(0x696f6d75u, reg(0x00));
    set(IOMMUSIM_DMA_ENGINE_LENGTH, 123);
    EXPECT_EQ(123u, reg(IOMMUSIM_DMA_ENGINE_LENGTH));
    // A write across the end is clamped; at or past the end, and in another region, EINVAL.
    uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(4, iommusim_pwrite(m_vfio, bytes, 8, 0x2000 - 4));
    errno = 0;
    EXPECT_EQ(-1, iommusim_pwrite(m_vfio, bytes, 1, 0x2000));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_pread(m_vfio, bytes, 1, off_t{1} << 40));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_pread(m_fd, bytes, 1, 0)) << "/dev/iommu has no read";
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_pread(99999, bytes, 1, 0));
    EXPECT_EQ(EBADF, errno);
    // An unmapped buffer is EFAULT, and a write from one changes no register.
    auto* pages =
        static_cast<uint8_t*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(MAP_FAILED, static_cast<void*>(pages));
    ASSERT_EQ(0, mprotect(pages + page, page, PROT_NONE));
    errno = 0;
    EXPECT_EQ(-1, iommusim_pread(m_vfio, pages + page, 4, IOMMUSIM_DMA_ENGINE_LENGTH));
    EXPECT_EQ(EFAULT, errno);
    errno = 0;
    EXPECT_EQ(-1, iommusim_pwrite(m_vfio, pages + page - 2, 4, IOMMUSIM_DMA_ENGINE_LENGTH));
    EXPECT_EQ(EFAULT, errno);
    EXPECT_EQ(123u, reg(IOMMUSIM_DMA_ENGINE_LENGTH));
    munmap(pages, 2 * page);
}

TEST_F(DmaEngine, TransfersMoveTheBufferToAndFromMemory) {
    std::vector<uint8_t> pattern(256);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        pattern[i] = static_cast<uint8_t>(i * 7 + 1);
    }
    ASSERT_EQ(256, iommusim_pwrite(m_vfio, pattern.data(), 256, IOMMUSIM_DMA_ENGINE_BUFFER));
    program(iova + page + 16, 256, true);
    EXPECT_EQ(IOMMUSIM_DMA_ENGINE_STATUS_DONE, reg(IOMMUSIM_DMA_ENGINE_STATUS));
    EXPECT_EQ(1u, reg(IOMMUSIM_DMA_ENGINE_COMPLETIONS));
    EXPECT_EQ(0, std::memcmp(pattern.data(), m_mem + page + 16, 256));

    std::memset(m_mem, 0x5c, 64);
    program(iova, 64, false);
    EXPECT_EQ(IOMMUSIM_DMA_ENGINE_STATUS_DONE, reg(IOMMUSIM_DMA_ENGINE_STATUS));
    std::vector<uint8_t> back(64);
    ASSERT_EQ(64, iommusim_pread(m_vfio, back.data(), 64, IOMMUSIM_DMA_ENGINE_BUFFER));
    EXPECT_EQ(std::vector<uint8_t>(64, 0x5c), back);
    EXPECT_EQ(2u, reg(IOMMUSIM_DMA_ENGINE_COMPLETIONS));
}

TEST_F(DmaEngine, UnmappedIovaFaultsWithTheVtdReasonAndBadLengthIsAnError) {
    program(iova + 2 * page, 8, true);  // just past the map
    EXPECT_EQ(IOMMUSIM_DMA_ENGINE_STATUS_FAULT, reg(IOMMUSIM_DMA_ENGINE_STATUS));
    EXPECT_NE(0u, reg(IOMMUSIM_DMA_ENGINE_FAULT_REASON));
    for (uint32_t len : {0u, 0x1001u}) {
        program(iova, len, true);
        EXPECT_EQ(IOMMUSIM_DMA_ENGINE_STATUS_ERROR, reg(IOMMUSIM_DMA_ENGINE_STATUS)) << len;
    }
    EXPECT_EQ(3u, reg(IOMMUSIM_DMA_ENGINE_COMPLETIONS));
}

TEST_F(DmaEngine, CompletionSignalsTheMsiEventfd) {
    const int efd = eventfd(0, EFD_NONBLOCK);
    ASSERT_GE(efd, 0);
    std::vector<uint8_t> set_buf(sizeof(vfio_irq_set) + sizeof(int32_t));
    auto* irq_set = reinterpret_cast<vfio_irq_set*>(set_buf.data());
    irq_set->argsz = static_cast<uint32_t>(set_buf.size());
    irq_set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    irq_set->index = 1;
    irq_set->start = 0;
    irq_set->count = 1;
    std::memcpy(irq_set->data, &efd, sizeof efd);
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, irq_set));
    program(iova, 4, true);
    program(iova + 2 * page, 4, true);  // a faulted transfer completes too
    uint64_t count = 0;
    ASSERT_EQ(8, read(efd, &count, sizeof count));
    EXPECT_EQ(2u, count);
    // Loopback trigger with DATA_NONE, then disable (count 0): no more signals.
    vfio_irq_set none{};
    none.argsz = sizeof(none);
    none.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    none.index = 1;
    none.count = 1;
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, &none));
    ASSERT_EQ(8, read(efd, &count, sizeof count));
    EXPECT_EQ(1u, count);
    none.count = 0;
    ASSERT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, &none));
    program(iova, 4, true);
    EXPECT_EQ(-1, read(efd, &count, sizeof count));
    EXPECT_EQ(EAGAIN, errno);
    close(efd);
}

TEST_F(DmaEngine, SetIrqsRefusesWhatTheKernelRefuses) {
    std::vector<uint8_t> buf(sizeof(vfio_irq_set) + sizeof(int32_t));
    auto* s = reinterpret_cast<vfio_irq_set*>(buf.data());
    auto reset = [&](uint32_t flags, uint32_t index, uint32_t count, int32_t fd) {
        s->argsz = static_cast<uint32_t>(buf.size());
        s->flags = flags;
        s->index = index;
        s->start = 0;
        s->count = count;
        std::memcpy(s->data, &fd, sizeof fd);
    };
    const uint32_t eventfd_trigger = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    reset(eventfd_trigger, 5, 1, -1);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "no such index";
    reset(eventfd_trigger, 0, 1, -1);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "no INTx vector";
    reset(eventfd_trigger, 1, 2, -1);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "one MSI vector only";
    reset(eventfd_trigger | VFIO_IRQ_SET_DATA_BOOL, 1, 1, -1);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "two data types";
    reset(eventfd_trigger | 0x40, 1, 1, -1);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "unknown flag";
    reset(eventfd_trigger, 1, 1, -1);
    s->argsz = sizeof(vfio_irq_set);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "no room for the eventfd";
    reset(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, 1, 1, -1);
    EXPECT_EQ(ENOTTY, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "MSI cannot be masked";
    int pipe_fds[2] = {-1, -1};
    ASSERT_EQ(0, pipe(pipe_fds));
    reset(eventfd_trigger, 1, 1, pipe_fds[0]);
    EXPECT_EQ(EINVAL, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "not an eventfd";
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    reset(eventfd_trigger, 1, 1, pipe_fds[0]);
    EXPECT_EQ(EBADF, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "a closed descriptor";
    reset(eventfd_trigger, 1, 1, -1);
    EXPECT_EQ(0, Ioctl(m_vfio, VFIO_DEVICE_SET_IRQS, s)) << "-1 unsets";
}

}  // namespace
}  // namespace iommusim::test
