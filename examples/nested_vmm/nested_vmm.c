/* A VMM in C against the installed iommusim package: the nested-translation sequence of Linux's
 * iommufd, with iommusim_open/iommusim_ioctl/iommusim_dma standing in for open(2)/ioctl(2)/device
 * DMA. Exit status 0 when every step behaved as the kernel would. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommusim.h>

#define RAM_BYTES (4u << 20)
#define GVA 0x40000000ull
#define PAGE_A 0x100000ull
#define PAGE_B 0x200000ull
#define FS_P 1ull
#define FS_RW 2ull
#define FS_US 4ull

static uint8_t* ram;
static uint64_t next_table = RAM_BYTES;

static int check(int ok, const char* what) {
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    return ok ? 0 : 1;
}

static int ioctl_or_errno(int fd, unsigned long req, void* arg) {
    return iommusim_ioctl(fd, req, arg) == 0 ? 0 : errno;
}

static uint64_t alloc_table(void) {
    next_table -= 4096;
    memset(ram + next_table, 0, 4096);
    return next_table;
}

/* Guest stage-1 (x86-64 4-level): GVA -> GPA, user, read/write. */
static uint64_t* map_page(uint64_t root, uint64_t gva, uint64_t gpa) {
    uint64_t table = root;
    for (int level = 4; level > 1; --level) {
        uint64_t* e = (uint64_t*)(ram + table) + ((gva >> (12 + 9 * (level - 1))) & 511);
        if (!(*e & FS_P)) *e = alloc_table() | FS_P | FS_RW | FS_US;
        table = *e & 0x000ffffffffff000ull;
    }
    uint64_t* leaf = (uint64_t*)(ram + table) + ((gva >> 12) & 511);
    *leaf = gpa | FS_P | FS_RW | FS_US;
    return leaf;
}

int main(void) {
    int failures = 0;
    ram = aligned_alloc(4096, RAM_BYTES);
    memset(ram, 0, RAM_BYTES);
    memset(ram + PAGE_A, 0xaa, 4096);
    memset(ram + PAGE_B, 0xbb, 4096);

    int iommufd = iommusim_open("/dev/iommu", O_RDWR);
    int vfio = iommusim_open("/dev/vfio/devices/vfio0", O_RDWR);
    struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = iommufd};
    failures += check(ioctl_or_errno(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0, "VFIO_DEVICE_BIND_IOMMUFD");

    struct iommu_ioas_alloc ioas = {.size = sizeof(ioas)};
    failures += check(ioctl_or_errno(iommufd, IOMMU_IOAS_ALLOC, &ioas) == 0, "IOMMU_IOAS_ALLOC");
    struct iommu_ioas_map map = {.size = sizeof(map),
                                 .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
                                          IOMMU_IOAS_MAP_WRITEABLE,
                                 .ioas_id = ioas.out_ioas_id,
                                 .user_va = (uintptr_t)ram,
                                 .length = RAM_BYTES,
                                 .iova = 0};
    failures += check(ioctl_or_errno(iommufd, IOMMU_IOAS_MAP, &map) == 0, "IOMMU_IOAS_MAP of guest RAM at GPA 0");

    struct iommu_hwpt_alloc parent = {.size = sizeof(parent),
                                      .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
                                      .dev_id = bind.out_devid,
                                      .pt_id = ioas.out_ioas_id};
    failures += check(ioctl_or_errno(iommufd, IOMMU_HWPT_ALLOC, &parent) == 0, "nest parent HWPT");

    uint64_t root = alloc_table();
    uint64_t* pte = map_page(root, GVA, PAGE_A);
    struct iommu_hwpt_vtd_s1 s1 = {.pgtbl_addr = root, .addr_width = 48};
    struct iommu_hwpt_alloc nested = {.size = sizeof(nested),
                                      .dev_id = bind.out_devid,
                                      .pt_id = parent.out_hwpt_id,
                                      .data_type = IOMMU_HWPT_DATA_VTD_S1,
                                      .data_len = sizeof(s1),
                                      .data_uptr = (uintptr_t)&s1};
    failures += check(ioctl_or_errno(iommufd, IOMMU_HWPT_ALLOC, &nested) == 0, "nested HWPT over the guest table");
    struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof(attach), .pt_id = nested.out_hwpt_id};
    failures += check(ioctl_or_errno(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) == 0, "attach");

    uint8_t byte = 0;
    failures += check(iommusim_dma(vfio, 0, GVA, &byte, 1, 0) == 0 && byte == 0xaa, "DMA reads page A");
    *pte = PAGE_B | FS_P | FS_RW | FS_US; /* the guest remaps its page ... */
    struct iommu_hwpt_vtd_s1_invalidate inv = {.addr = GVA, .npages = 1, .flags = IOMMU_VTD_INV_FLAGS_LEAF};
    struct iommu_hwpt_invalidate cmd = {.size = sizeof(cmd),
                                        .hwpt_id = nested.out_hwpt_id,
                                        .data_uptr = (uintptr_t)&inv,
                                        .data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
                                        .entry_len = sizeof(inv),
                                        .entry_num = 1};
    failures += check(ioctl_or_errno(iommufd, IOMMU_HWPT_INVALIDATE, &cmd) == 0 && cmd.entry_num == 1,
                      "... and invalidates it");
    failures += check(iommusim_dma(vfio, 0, GVA, &byte, 1, 0) == 0 && byte == 0xbb, "DMA reads page B");

    struct iommu_destroy destroy = {.size = sizeof(destroy), .id = parent.out_hwpt_id};
    failures += check(ioctl_or_errno(iommufd, IOMMU_DESTROY, &destroy) == EBUSY, "a nest parent in use is EBUSY");

    iommusim_close(vfio);
    iommusim_close(iommufd);
    free(ram);
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}
