// The register region of a platform DMA device (include/iommusim/hw/dma_engine.h,
// docs/dma-engine.md) and the vfio-pci device calls that describe and drive it: what a program
// that knows only VFIO uses to make the device DMA.
//
// Models (Linux drivers/vfio/pci/vfio_pci_core.c, vfio_pci_intrs.c, drivers/vfio/vfio_main.c):
// VFIO_DEVICE_GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS (validation of
// vfio_set_irqs_validate_and_prepare; MSI trigger eventfds, DATA_NONE/BOOL loopback triggers) and
// RESET, with the kernel's minsz/argsz rules and errnos; region reads and writes clamped to the
// region's end (vfio_pci_bar_rw). A doorbell write runs the transfer synchronously.
// Does not model: PCI config space, ROM and VGA regions (config reads as a region of size 0),
// mmap of the region, INTx and MSI-X (0 vectors), masking, region capabilities.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "iommusim/hw/dma_engine.h"
#include "iommusim/iommufd.h"

namespace iommusim {

class dma_engine {
  public:
    explicit dma_engine(unsigned device_index) : m_device(device_index) {
        m_trigger.fill(-1);
        reset();
    }
    ~dma_engine();
    dma_engine(const dma_engine&) = delete;
    dma_engine& operator=(const dma_engine&) = delete;

    // A VFIO device ioctl of the region and interrupts: 0 or a negative errno; -ENOTTY for any
    // other request.
    int ioctl(unsigned long request, uint64_t arg);
    // pread/pwrite of the device fd at `offset`: the bytes transferred, or a negative errno.
    long read(void* buf, std::size_t len, uint64_t offset);
    long write(const void* buf, std::size_t len, uint64_t offset);

  private:
    int get_info(uint64_t arg);
    int get_region_info(uint64_t arg);
    int get_irq_info(uint64_t arg);
    int set_irqs(uint64_t arg);
    void reset();
    void start_transfer();
    void signal(unsigned irq_index);
    uint32_t reg32(unsigned off) const;
    void set_reg32(unsigned off, uint32_t v);

    unsigned m_device;
    std::array<uint8_t, IOMMUSIM_DMA_ENGINE_REGION_SIZE> m_region{};
    std::array<int, VFIO_PCI_NUM_IRQS> m_trigger;  // eventfds held (dup'ed), -1 none
};

// The engine of platform device n, created on first use; one per device for the process.
dma_engine& dma_engine_of(unsigned n);

}  // namespace iommusim
