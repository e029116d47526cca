/* The register region of every platform DMA device (docs/dma-engine.md): what a program that
 * knows only VFIO reads and writes through the device fd to make the device DMA, in the spirit of
 * QEMU's edu test device. Usable from C and C++; the model (platform/dma_engine.cc) and the tests
 * use these names.
 *
 * The region is BAR0 of a VFIO PCI device (VFIO_PCI_BAR0_REGION_INDEX, at file offset
 * IOMMUSIM_DMA_ENGINE_REGION_OFFSET of the device fd, as vfio-pci places region i at i << 40),
 * IOMMUSIM_DMA_ENGINE_REGION_SIZE bytes: registers, then the device's own data buffer. Registers
 * are little-endian; any access width works, a 64-bit register may be accessed in two halves. */
#ifndef IOMMUSIM_HW_DMA_ENGINE_H
#define IOMMUSIM_HW_DMA_ENGINE_H

#define IOMMUSIM_DMA_ENGINE_REGION_INDEX 0 /* VFIO_PCI_BAR0_REGION_INDEX */
#define IOMMUSIM_DMA_ENGINE_REGION_OFFSET (0ULL << 40)
#define IOMMUSIM_DMA_ENGINE_REGION_SIZE 0x2000u

/* Register offsets within the region. RO: writes ignored; WO: reads 0. */
#define IOMMUSIM_DMA_ENGINE_ID 0x00           /* RO 32: IOMMUSIM_DMA_ENGINE_ID_VALUE */
#define IOMMUSIM_DMA_ENGINE_VERSION 0x04      /* RO 32: 1 */
#define IOMMUSIM_DMA_ENGINE_IOVA 0x08         /* RW 64: I/O virtual address of the transfer */
#define IOMMUSIM_DMA_ENGINE_LENGTH 0x10       /* RW 32: bytes, 1 .. IOMMUSIM_DMA_ENGINE_BUFFER_SIZE */
#define IOMMUSIM_DMA_ENGINE_PASID 0x14        /* RW 32: bits 19:0 PASID, bit 31 PASID_VALID */
#define IOMMUSIM_DMA_ENGINE_DIRECTION 0x18    /* RW 32: bit 0 TO_MEMORY (device writes memory) */
#define IOMMUSIM_DMA_ENGINE_DOORBELL 0x1c     /* WO 32: writing IOMMUSIM_DMA_ENGINE_DOORBELL_START starts it */
#define IOMMUSIM_DMA_ENGINE_STATUS 0x20       /* RO 32: IOMMUSIM_DMA_ENGINE_STATUS_* of the last transfer */
#define IOMMUSIM_DMA_ENGINE_FAULT_REASON 0x24 /* RO 32: VT-d fault reason of the last faulted transfer */
#define IOMMUSIM_DMA_ENGINE_COMPLETIONS 0x28  /* RO 32: transfers finished (done or faulted) */
#define IOMMUSIM_DMA_ENGINE_BUFFER 0x1000     /* RW: the device's data buffer */
#define IOMMUSIM_DMA_ENGINE_BUFFER_SIZE 0x1000u

#define IOMMUSIM_DMA_ENGINE_ID_VALUE 0x696f6d75u /* "umoi" little-endian: iommusim DMA engine */
#define IOMMUSIM_DMA_ENGINE_VERSION_VALUE 1u
#define IOMMUSIM_DMA_ENGINE_PASID_VALID (1u << 31)
#define IOMMUSIM_DMA_ENGINE_PASID_MASK 0xfffffu
#define IOMMUSIM_DMA_ENGINE_DIRECTION_TO_MEMORY (1u << 0)
#define IOMMUSIM_DMA_ENGINE_DOORBELL_START 1u
#define IOMMUSIM_DMA_ENGINE_STATUS_DONE (1u << 0)  /* the transfer completed */
#define IOMMUSIM_DMA_ENGINE_STATUS_FAULT (1u << 1) /* the IOMMU refused it: see FAULT_REASON */
#define IOMMUSIM_DMA_ENGINE_STATUS_ERROR (1u << 2) /* not started: LENGTH 0 or above BUFFER_SIZE */

/* Completion interrupt: MSI vector 0 (VFIO_PCI_MSI_IRQ_INDEX), signalled through the eventfd set
 * with VFIO_DEVICE_SET_IRQS after every transfer (done, faulted or refused). */
#define IOMMUSIM_DMA_ENGINE_IRQ_INDEX 1 /* VFIO_PCI_MSI_IRQ_INDEX */

#endif /* IOMMUSIM_HW_DMA_ENGINE_H */
