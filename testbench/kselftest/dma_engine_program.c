/* An ordinary VFIO program, written against the kernel's <linux/iommufd.h> and <linux/vfio.h>
 * only (plus the device's register layout): it maps a buffer into an IOAS, attaches the device,
 * finds BAR0 with VFIO_DEVICE_GET_REGION_INFO, sets a completion eventfd with
 * VFIO_DEVICE_SET_IRQS and makes the device DMA by pwrite()s of its registers. Runs unchanged on
 * the model under the interposer. Prints "dma-engine: PASS" and exits 0 when every check held. */
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommusim/hw/dma_engine.h"

#define CHECK(cond)                                                                                                   \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            fprintf(stderr, "dma-engine: FAIL line %d: %s (errno %d %s)\n", __LINE__, #cond, errno, strerror(errno)); \
            exit(1);                                                                                                  \
        }                                                                                                             \
    } while (0)

static int device;
static uint64_t bar0;

static void reg_write(unsigned off, uint32_t v) {
    CHECK(pwrite(device, &v, sizeof v, (off_t)(bar0 + off)) == sizeof v);
}

static uint32_t reg_read(unsigned off) {
    uint32_t v = 0;
    CHECK(pread(device, &v, sizeof v, (off_t)(bar0 + off)) == sizeof v);
    return v;
}

/* One transfer of len bytes at iova; waits for the completion interrupt. Returns STATUS. */
static uint32_t transfer(int irq, uint64_t iova, uint32_t len, int to_memory) {
    CHECK(pwrite(device, &iova, sizeof iova, (off_t)(bar0 + IOMMUSIM_DMA_ENGINE_IOVA)) == sizeof iova);
    reg_write(IOMMUSIM_DMA_ENGINE_LENGTH, len);
    reg_write(IOMMUSIM_DMA_ENGINE_PASID, 0);
    reg_write(IOMMUSIM_DMA_ENGINE_DIRECTION, to_memory ? IOMMUSIM_DMA_ENGINE_DIRECTION_TO_MEMORY : 0);
    reg_write(IOMMUSIM_DMA_ENGINE_DOORBELL, IOMMUSIM_DMA_ENGINE_DOORBELL_START);
    struct pollfd p = {.fd = irq, .events = POLLIN};
    CHECK(poll(&p, 1, 10000) == 1);
    uint64_t count = 0;
    CHECK(read(irq, &count, sizeof count) == sizeof count && count == 1);
    return reg_read(IOMMUSIM_DMA_ENGINE_STATUS);
}

int main(void) {
    const long page = sysconf(_SC_PAGESIZE);
    int iommufd = open("/dev/iommu", O_RDWR);
    CHECK(iommufd >= 0);
    device = open("/dev/vfio/devices/vfio0", O_RDWR);
    CHECK(device >= 0);

    struct vfio_device_bind_iommufd bind = {.argsz = sizeof bind, .iommufd = iommufd};
    CHECK(ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0);
    struct iommu_ioas_alloc ioas = {.size = sizeof ioas};
    CHECK(ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas) == 0);
    struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof attach, .pt_id = ioas.out_ioas_id};
    CHECK(ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == 0);

    uint8_t* memory = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(memory != MAP_FAILED);
    struct iommu_ioas_map map = {
        .size = sizeof map,
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = ioas.out_ioas_id,
        .user_va = (uintptr_t)memory,
        .length = 2 * page,
        .iova = 0x10000000,
    };
    CHECK(ioctl(iommufd, IOMMU_IOAS_MAP, &map) == 0);

    struct vfio_device_info info = {.argsz = sizeof info};
    CHECK(ioctl(device, VFIO_DEVICE_GET_INFO, &info) == 0);
    CHECK((info.flags & VFIO_DEVICE_FLAGS_PCI) && info.num_regions > VFIO_PCI_BAR0_REGION_INDEX);
    struct vfio_region_info region = {.argsz = sizeof region, .index = VFIO_PCI_BAR0_REGION_INDEX};
    CHECK(ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &region) == 0);
    CHECK(region.size >= IOMMUSIM_DMA_ENGINE_REGION_SIZE && (region.flags & VFIO_REGION_INFO_FLAG_WRITE));
    bar0 = region.offset;
    CHECK(reg_read(IOMMUSIM_DMA_ENGINE_ID) == IOMMUSIM_DMA_ENGINE_ID_VALUE);

    int irq = eventfd(0, EFD_CLOEXEC);
    CHECK(irq >= 0);
    struct {
        struct vfio_irq_set set;
        int32_t fd;
    } irq_set = {
        .set = {.argsz = sizeof irq_set,
                .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                .index = VFIO_PCI_MSI_IRQ_INDEX,
                .start = 0,
                .count = 1},
        .fd = irq,
    };
    CHECK(ioctl(device, VFIO_DEVICE_SET_IRQS, &irq_set) == 0);

    /* Device to memory: the pattern written into the device's buffer lands in the second page. */
    uint8_t pattern[512];
    for (unsigned i = 0; i < sizeof pattern; ++i)
        pattern[i] = (uint8_t)(i ^ 0xa5);
    CHECK(pwrite(device, pattern, sizeof pattern, (off_t)(bar0 + IOMMUSIM_DMA_ENGINE_BUFFER)) == sizeof pattern);
    CHECK(transfer(irq, map.iova + page + 64, sizeof pattern, 1) == IOMMUSIM_DMA_ENGINE_STATUS_DONE);
    CHECK(memcmp(memory + page + 64, pattern, sizeof pattern) == 0);

    /* Memory to device. */
    memset(memory, 0x3c, 128);
    CHECK(transfer(irq, map.iova, 128, 0) == IOMMUSIM_DMA_ENGINE_STATUS_DONE);
    uint8_t back[128];
    CHECK(pread(device, back, sizeof back, (off_t)(bar0 + IOMMUSIM_DMA_ENGINE_BUFFER)) == sizeof back);
    for (unsigned i = 0; i < sizeof back; ++i)
        CHECK(back[i] == 0x3c);

    /* After the unmap the same IOVA faults, with a VT-d fault reason. */
    struct iommu_ioas_unmap unmap = {
        .size = sizeof unmap, .ioas_id = ioas.out_ioas_id, .iova = map.iova, .length = 2 * page};
    CHECK(ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap) == 0);
    CHECK(transfer(irq, map.iova, 8, 1) == IOMMUSIM_DMA_ENGINE_STATUS_FAULT);
    CHECK(reg_read(IOMMUSIM_DMA_ENGINE_FAULT_REASON) != 0);
    CHECK(reg_read(IOMMUSIM_DMA_ENGINE_COMPLETIONS) == 3);

    CHECK(close(irq) == 0 && close(device) == 0 && close(iommufd) == 0);
    printf("dma-engine: PASS\n");
    return 0;
}
