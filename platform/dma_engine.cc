// The DMA engine register region and its vfio-pci device calls (platform/dma_engine.h).
#include "platform/dma_engine.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "driver/uaccess.h"
#include "iommusim/iommusim.h"
#include "platform/platform.h"
#include "util/klog.h"

namespace iommusim {

namespace {

static_assert(IOMMUSIM_DMA_ENGINE_REGION_INDEX == VFIO_PCI_BAR0_REGION_INDEX);
static_assert(IOMMUSIM_DMA_ENGINE_IRQ_INDEX == VFIO_PCI_MSI_IRQ_INDEX);

constexpr const char* vfio_log = "vfio: ";
constexpr unsigned region_shift = 40;  // vfio-pci: region i starts at file offset i << 40

// Interrupt vectors per index: no INTx pin, one MSI vector, no MSI-X, the PCIe error and request
// interrupts (vfio_pci_get_irq_count).
constexpr std::array<uint32_t, VFIO_PCI_NUM_IRQS> irq_count{0, 1, 0, 1, 1};

// The writable bytes: the programming registers and the data buffer.
bool writable(unsigned off) {
    return (off >= IOMMUSIM_DMA_ENGINE_IOVA && off < IOMMUSIM_DMA_ENGINE_DOORBELL) || off >= IOMMUSIM_DMA_ENGINE_BUFFER;
}

// eventfd_ctx_fdget: EBADF for a closed descriptor, EINVAL for one that is not an eventfd.
int check_eventfd(int fd) {
    if (fcntl(fd, F_GETFD) < 0) {
        return -EBADF;
    }
    char link[64] = {};
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = readlink(path.c_str(), link, sizeof link - 1);
    if (n < 0 || std::strcmp(link, "anon_inode:[eventfd]") != 0) {
        return -EINVAL;
    }
    return 0;
}

}  // namespace

dma_engine::~dma_engine() {
    for (int& fd : m_trigger) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

dma_engine& dma_engine_of(unsigned n) {
    static std::mutex lock;
    // Never destroyed: engines hold eventfds that a program may still read after exit handlers.
    static auto& engines = *new std::map<unsigned, std::unique_ptr<dma_engine>>;
    std::lock_guard<std::mutex> guard(lock);
    auto& e = engines[n];
    if (!e) {
        e = std::make_unique<dma_engine>(n);
    }
    return *e;
}

uint32_t dma_engine::reg32(unsigned off) const {
    uint32_t v = 0;
    std::memcpy(&v, m_region.data() + off, sizeof v);
    return v;
}

void dma_engine::set_reg32(unsigned off, uint32_t v) {
    std::memcpy(m_region.data() + off, &v, sizeof v);
}

void dma_engine::reset() {
    m_region.fill(0);
    set_reg32(IOMMUSIM_DMA_ENGINE_ID, IOMMUSIM_DMA_ENGINE_ID_VALUE);
    set_reg32(IOMMUSIM_DMA_ENGINE_VERSION, IOMMUSIM_DMA_ENGINE_VERSION_VALUE);
}

long dma_engine::read(void* buf, std::size_t len, uint64_t offset) {
    const uint64_t index = offset >> region_shift;
    const uint64_t pos = offset & ((uint64_t{1} << region_shift) - 1);
    if (index != IOMMUSIM_DMA_ENGINE_REGION_INDEX || pos >= m_region.size()) {
        return -EINVAL;
    }
    const std::size_t n = std::min<std::size_t>(len, m_region.size() - pos);
    if (driver::copy_to_user(reinterpret_cast<uint64_t>(buf), m_region.data() + pos, n) != 0) {
        return -EFAULT;  // the caller's buffer, like the kernel's copy_to_user
    }
    return static_cast<long>(n);
}

long dma_engine::write(const void* buf, std::size_t len, uint64_t offset) {
    const uint64_t index = offset >> region_shift;
    const uint64_t pos = offset & ((uint64_t{1} << region_shift) - 1);
    if (index != IOMMUSIM_DMA_ENGINE_REGION_INDEX || pos >= m_region.size()) {
        return -EINVAL;
    }
    const std::size_t n = std::min<std::size_t>(len, m_region.size() - pos);
    std::array<uint8_t, IOMMUSIM_DMA_ENGINE_REGION_SIZE> staged{};
    if (driver::copy_from_user(staged.data(), reinterpret_cast<uint64_t>(buf), n) != 0) {
        return -EFAULT;  // nothing is written from an unreadable buffer
    }
    const uint8_t* src = staged.data();
    std::array<uint8_t, 4> doorbell{};
    bool rang = false;
    for (std::size_t i = 0; i < n; ++i) {
        const auto off = static_cast<unsigned>(pos + i);
        if (writable(off)) {
            m_region[off] = src[i];
        } else if (off >= IOMMUSIM_DMA_ENGINE_DOORBELL && off < IOMMUSIM_DMA_ENGINE_DOORBELL + 4) {
            doorbell[off - IOMMUSIM_DMA_ENGINE_DOORBELL] = src[i];
            rang = true;
        }
    }
    uint32_t ring = 0;
    std::memcpy(&ring, doorbell.data(), sizeof ring);
    if (rang && ring == IOMMUSIM_DMA_ENGINE_DOORBELL_START) {
        start_transfer();
    }
    return static_cast<long>(n);
}

void dma_engine::start_transfer() {
    uint64_t iova = 0;
    std::memcpy(&iova, m_region.data() + IOMMUSIM_DMA_ENGINE_IOVA, sizeof iova);
    const uint32_t len = reg32(IOMMUSIM_DMA_ENGINE_LENGTH);
    const uint32_t pasid_reg = reg32(IOMMUSIM_DMA_ENGINE_PASID);
    const bool to_memory = (reg32(IOMMUSIM_DMA_ENGINE_DIRECTION) & IOMMUSIM_DMA_ENGINE_DIRECTION_TO_MEMORY) != 0;
    uint32_t status = 0;
    if (len == 0 || len > IOMMUSIM_DMA_ENGINE_BUFFER_SIZE) {
        klog::printk(klog::level::warning, vfio_log,
                     "vfio%u: DMA engine transfer refused: LENGTH %u is not 1..%u (STATUS.ERROR)", m_device, len,
                     IOMMUSIM_DMA_ENGINE_BUFFER_SIZE);
        status = IOMMUSIM_DMA_ENGINE_STATUS_ERROR;
    } else {
        const uint32_t pasid = (pasid_reg & IOMMUSIM_DMA_ENGINE_PASID_VALID) != 0
                                   ? (pasid_reg & IOMMUSIM_DMA_ENGINE_PASID_MASK)
                                   : uint32_t{IOMMU_NO_PASID};
        uint8_t reason = 0;
        const int rc = platform::instance().dma(m_device, pasid, iova, m_region.data() + IOMMUSIM_DMA_ENGINE_BUFFER,
                                                len, to_memory, &reason);
        if (rc == 0) {
            status = IOMMUSIM_DMA_ENGINE_STATUS_DONE;
        } else {
            status = IOMMUSIM_DMA_ENGINE_STATUS_FAULT;
            set_reg32(IOMMUSIM_DMA_ENGINE_FAULT_REASON, reason);
        }
    }
    set_reg32(IOMMUSIM_DMA_ENGINE_STATUS, status);
    set_reg32(IOMMUSIM_DMA_ENGINE_COMPLETIONS, reg32(IOMMUSIM_DMA_ENGINE_COMPLETIONS) + 1);
    signal(VFIO_PCI_MSI_IRQ_INDEX);
}

void dma_engine::signal(unsigned irq_index) {
    if (m_trigger[irq_index] >= 0) {
        const uint64_t one = 1;
        if (::write(m_trigger[irq_index], &one, sizeof one) != sizeof one) {
            klog::printk(klog::level::warning, vfio_log, "vfio%u: signalling interrupt %u failed", m_device, irq_index);
        }
    }
}

int dma_engine::ioctl(unsigned long request, uint64_t arg) {
    switch (request) {
        case VFIO_DEVICE_GET_INFO:
            return get_info(arg);
        case VFIO_DEVICE_GET_REGION_INFO:
            return get_region_info(arg);
        case VFIO_DEVICE_GET_IRQ_INFO:
            return get_irq_info(arg);
        case VFIO_DEVICE_SET_IRQS:
            return set_irqs(arg);
        case VFIO_DEVICE_RESET:
            reset();
            return 0;
        default:
            return -ENOTTY;
    }
}

int dma_engine::get_info(uint64_t arg) {
    vfio_device_info info{};
    const std::size_t minsz = offsetof(vfio_device_info, num_irqs) + sizeof(info.num_irqs);
    if (driver::copy_from_user(&info, arg, minsz) != 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz) {
        klog::printk(klog::level::info, vfio_log, "vfio%u: VFIO_DEVICE_GET_INFO refused: argsz %u below %zu (EINVAL)",
                     m_device, info.argsz, minsz);
        return -EINVAL;
    }
    info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
    info.num_regions = VFIO_PCI_NUM_REGIONS;
    info.num_irqs = VFIO_PCI_NUM_IRQS;
    return driver::copy_to_user(arg, &info, minsz) != 0 ? -EFAULT : 0;
}

int dma_engine::get_region_info(uint64_t arg) {
    vfio_region_info info{};
    const std::size_t minsz = offsetof(vfio_region_info, offset) + sizeof(info.offset);
    if (driver::copy_from_user(&info, arg, minsz) != 0) {
        return -EFAULT;
    }
    // VGA: the device has none, so its index is refused like any beyond the last.
    if (info.argsz < minsz || info.index >= VFIO_PCI_VGA_REGION_INDEX) {
        klog::printk(klog::level::info, vfio_log,
                     "vfio%u: VFIO_DEVICE_GET_REGION_INFO refused: argsz %u below %zu or no region %u (EINVAL)",
                     m_device, info.argsz, minsz, info.index);
        return -EINVAL;
    }
    info.offset = uint64_t{info.index} << region_shift;
    info.cap_offset = 0;
    if (info.index == IOMMUSIM_DMA_ENGINE_REGION_INDEX) {
        info.size = IOMMUSIM_DMA_ENGINE_REGION_SIZE;
        info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    } else {
        info.size = 0;  // unimplemented BARs, no ROM, config space not modelled
        info.flags = 0;
    }
    return driver::copy_to_user(arg, &info, minsz) != 0 ? -EFAULT : 0;
}

int dma_engine::get_irq_info(uint64_t arg) {
    vfio_irq_info info{};
    const std::size_t minsz = offsetof(vfio_irq_info, count) + sizeof(info.count);
    if (driver::copy_from_user(&info, arg, minsz) != 0) {
        return -EFAULT;
    }
    if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS) {
        klog::printk(klog::level::info, vfio_log,
                     "vfio%u: VFIO_DEVICE_GET_IRQ_INFO refused: argsz %u below %zu or no interrupt index %u (EINVAL)",
                     m_device, info.argsz, minsz, info.index);
        return -EINVAL;
    }
    info.flags = VFIO_IRQ_INFO_EVENTFD;
    info.count = irq_count[info.index];
    if (info.index == VFIO_PCI_INTX_IRQ_INDEX) {
        info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
    } else {
        info.flags |= VFIO_IRQ_INFO_NORESIZE;
    }
    return driver::copy_to_user(arg, &info, minsz) != 0 ? -EFAULT : 0;
}

int dma_engine::set_irqs(uint64_t arg) {
    vfio_irq_set hdr{};
    const std::size_t minsz = offsetof(vfio_irq_set, count) + sizeof(hdr.count);
    if (driver::copy_from_user(&hdr, arg, minsz) != 0) {
        return -EFAULT;
    }
    const uint32_t data_type = hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
    const uint32_t action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    auto refuse = [&](int rc, const char* why) {
        klog::printk(klog::level::info, vfio_log, "vfio%u: VFIO_DEVICE_SET_IRQS refused: %s (%s)", m_device, why,
                     strerrorname_np(-rc));
        return rc;
    };
    // vfio_set_irqs_validate_and_prepare, in its order.
    if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS || hdr.count >= UINT32_MAX - hdr.start ||
        (hdr.flags & ~uint32_t{VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK}) != 0) {
        return refuse(-EINVAL, "argsz, index, start + count or flags out of range");
    }
    const uint32_t vectors = irq_count[hdr.index];
    if (hdr.start >= vectors || hdr.start + hdr.count > vectors) {
        return refuse(-EINVAL, "start + count beyond the vectors of the index");
    }
    std::size_t size = 0;
    switch (data_type) {
        case VFIO_IRQ_SET_DATA_NONE:
            break;
        case VFIO_IRQ_SET_DATA_BOOL:
            size = sizeof(uint8_t);
            break;
        case VFIO_IRQ_SET_DATA_EVENTFD:
            size = sizeof(int32_t);
            break;
        default:
            return refuse(-EINVAL, "not exactly one data type");
    }
    if (size != 0 && hdr.argsz - minsz < hdr.count * size) {
        return refuse(-EINVAL, "argsz too small for the data");
    }
    if (action != VFIO_IRQ_SET_ACTION_TRIGGER) {
        return refuse(-ENOTTY, "only the trigger action exists for MSI and the error and request interrupts");
    }
    int& trigger = m_trigger[hdr.index];
    if (data_type == VFIO_IRQ_SET_DATA_NONE && hdr.count == 0) {
        if (trigger >= 0) {
            ::close(trigger);
            trigger = -1;
        }
        return 0;  // disable
    }
    if (data_type == VFIO_IRQ_SET_DATA_EVENTFD) {
        int32_t fd = -1;
        if (hdr.count == 1 && driver::copy_from_user(&fd, arg + minsz, sizeof fd) != 0) {
            return -EFAULT;
        }
        if (hdr.count == 1 && fd >= 0) {
            const int rc = check_eventfd(fd);
            if (rc != 0) {
                return refuse(rc, "the descriptor is not an eventfd");
            }
            // The kernel holds the eventfd itself: closing the program's descriptor keeps it.
            const int held = fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (held < 0) {
                return -errno;
            }
            if (trigger >= 0) {
                ::close(trigger);
            }
            trigger = held;
        } else if (hdr.count == 1 && trigger >= 0) {
            ::close(trigger);  // fd -1: unset
            trigger = -1;
        }
        return 0;
    }
    // Loopback: DATA_NONE fires, DATA_BOOL fires where true.
    uint8_t fire = 1;
    if (data_type == VFIO_IRQ_SET_DATA_BOOL && hdr.count == 1 &&
        driver::copy_from_user(&fire, arg + minsz, sizeof fire) != 0) {
        return -EFAULT;
    }
    if (hdr.count == 1 && fire != 0) {
        signal(hdr.index);
    }
    return 0;
}

}  // namespace iommusim
