/* The iommufd user ABI subset the platform implements, with the kernel's names and byte-identical
 * layouts (Linux include/uapi/linux/iommufd.h, the selftest header iommufd_test.h and the VFIO cdev
 * part of include/uapi/linux/vfio.h), written from the published ABI facts (docs/iommufd-facts.md §1, §2,
 * §5). A program written against the kernel headers compiles against this one by calling
 * iommusim_ioctl() (iommusim/iommusim.h) instead of ioctl(2).
 *
 * Supported commands: IOMMU_DESTROY, IOMMU_IOAS_ALLOC, IOMMU_IOAS_IOVA_RANGES, IOMMU_IOAS_MAP,
 * IOMMU_IOAS_UNMAP, IOMMU_HWPT_ALLOC, IOMMU_GET_HW_INFO, IOMMU_HWPT_INVALIDATE, IOMMU_TEST_CMD
 * (MOCK_DOMAIN, MOCK_DOMAIN_REPLACE, MD_CHECK_IOTLB, SET_TEMP_MEMORY_LIMIT), and on VFIO device fds
 * VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_DETACH_IOMMUFD_PT.
 * Every other command number answers ENOTTY. Usable from C and C++. */
#ifndef IOMMUSIM_IOMMUFD_H
#define IOMMUSIM_IOMMUFD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define IOMMUSIM_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define IOMMUSIM_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* __aligned_u64: 8-byte aligned on every ABI, as the kernel declares it. */
typedef uint64_t iommusim_aligned_u64 __attribute__((aligned(8)));

/* _IO(type, nr): direction none, size 0, so the value is (type << 8) | nr (spec §1.1). */
#define IOMMUSIM_IO(type, nr) ((unsigned long)((((unsigned)(type)) << 8) | ((unsigned)(nr))))

/* ---- iommufd (spec §1.1) ---- */

#define IOMMUFD_TYPE (';')

enum {
    IOMMUFD_CMD_BASE = 0x80,
    IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
    IOMMUFD_CMD_IOAS_ALLOC = 0x81,
    IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
    IOMMUFD_CMD_IOAS_COPY = 0x83,
    IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
    IOMMUFD_CMD_IOAS_MAP = 0x85,
    IOMMUFD_CMD_IOAS_UNMAP = 0x86,
    IOMMUFD_CMD_OPTION = 0x87,
    IOMMUFD_CMD_VFIO_IOAS = 0x88,
    IOMMUFD_CMD_HWPT_ALLOC = 0x89,
    IOMMUFD_CMD_GET_HW_INFO = 0x8a,
    IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
    IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
    IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
    IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
    IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
    IOMMUFD_CMD_VIOMMU_ALLOC = 0x90,
    IOMMUFD_CMD_VDEVICE_ALLOC = 0x91,
    IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
    IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93,
    IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,
};

/* IOMMU_DESTROY (§1.6) */
struct iommu_destroy {
    uint32_t size;
    uint32_t id;
};
#define IOMMU_DESTROY IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/* IOMMU_IOAS_ALLOC */
struct iommu_ioas_alloc {
    uint32_t size;
    uint32_t flags;
    uint32_t out_ioas_id;
};
#define IOMMU_IOAS_ALLOC IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* IOMMU_IOAS_IOVA_RANGES */
struct iommu_iova_range {
    iommusim_aligned_u64 start;
    iommusim_aligned_u64 last;
};

struct iommu_ioas_iova_ranges {
    uint32_t size;
    uint32_t ioas_id;
    uint32_t num_iovas;
    uint32_t __reserved;
    iommusim_aligned_u64 allowed_iovas;
    iommusim_aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/* IOMMU_IOAS_MAP */
enum iommufd_ioas_map_flags {
    IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
    IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
    IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

struct iommu_ioas_map {
    uint32_t size;
    uint32_t flags;
    uint32_t ioas_id;
    uint32_t __reserved;
    iommusim_aligned_u64 user_va;
    iommusim_aligned_u64 length;
    iommusim_aligned_u64 iova;
};
#define IOMMU_IOAS_MAP IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/* IOMMU_IOAS_UNMAP */
struct iommu_ioas_unmap {
    uint32_t size;
    uint32_t ioas_id;
    iommusim_aligned_u64 iova;
    iommusim_aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/* IOMMU_HWPT_ALLOC (§2.1) */
enum iommufd_hwpt_alloc_flags {
    IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
    IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
    IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
    IOMMU_HWPT_ALLOC_PASID = 1 << 3,
};

enum iommu_hwpt_vtd_s1_flags {
    IOMMU_VTD_S1_SRE = 1 << 0,
    IOMMU_VTD_S1_EAFE = 1 << 1,
    IOMMU_VTD_S1_WPE = 1 << 2,
};

struct iommu_hwpt_vtd_s1 {
    iommusim_aligned_u64 flags;
    iommusim_aligned_u64 pgtbl_addr;
    uint32_t addr_width;
    uint32_t __reserved;
};

enum iommu_hwpt_data_type {
    IOMMU_HWPT_DATA_NONE = 0,
    IOMMU_HWPT_DATA_VTD_S1 = 1,
    IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
};

struct iommu_hwpt_alloc {
    uint32_t size;
    uint32_t flags;
    uint32_t dev_id;
    uint32_t pt_id;
    uint32_t out_hwpt_id;
    uint32_t __reserved;
    uint32_t data_type;
    uint32_t data_len;
    iommusim_aligned_u64 data_uptr;
    uint32_t fault_id;
    uint32_t __reserved2;
};
#define IOMMU_HWPT_ALLOC IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/* IOMMU_GET_HW_INFO (§2.2) */
enum iommu_hw_info_vtd_flags {
    IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

struct iommu_hw_info_vtd {
    uint32_t flags;
    uint32_t __reserved;
    iommusim_aligned_u64 cap_reg;
    iommusim_aligned_u64 ecap_reg;
};

enum iommu_hw_info_type {
    IOMMU_HW_INFO_TYPE_NONE = 0,
    IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
    IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
};

enum iommufd_hw_capabilities {
    IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
};

struct iommu_hw_info {
    uint32_t size;
    uint32_t flags;
    uint32_t dev_id;
    uint32_t data_len;
    iommusim_aligned_u64 data_uptr;
    uint32_t out_data_type;
    uint32_t __reserved;
    iommusim_aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/* IOMMU_HWPT_INVALIDATE (§2.3) */
enum iommu_hwpt_invalidate_data_type {
    IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
    IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,
};

enum iommu_hwpt_vtd_s1_invalidate_flags {
    IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

struct iommu_hwpt_vtd_s1_invalidate {
    iommusim_aligned_u64 addr;
    iommusim_aligned_u64 npages;
    uint32_t flags;
    uint32_t __reserved;
};

struct iommu_hwpt_invalidate {
    uint32_t size;
    uint32_t hwpt_id;
    iommusim_aligned_u64 data_uptr;
    uint32_t data_type;
    uint32_t entry_len;
    uint32_t entry_num;
    uint32_t __reserved;
};
#define IOMMU_HWPT_INVALIDATE IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/* ---- selftest subset (iommufd_test.h, spec §5) ---- */

enum {
    IOMMU_TEST_OP_ADD_RESERVED = 1,
    IOMMU_TEST_OP_MOCK_DOMAIN = 2,
    IOMMU_TEST_OP_MD_CHECK_MAP = 3,
    IOMMU_TEST_OP_MD_CHECK_REFS = 4,
    IOMMU_TEST_OP_CREATE_ACCESS = 5,
    IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,
    IOMMU_TEST_OP_ACCESS_PAGES = 7,
    IOMMU_TEST_OP_ACCESS_RW = 8,
    IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
    IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
    IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,
    IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,
    IOMMU_TEST_OP_DIRTY = 13,
    IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,
};

enum {
    MOCK_APERTURE_START = 1UL << 24,
    MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

enum {
    MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
    MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

struct iommu_test_cmd {
    uint32_t size;
    uint32_t op;
    uint32_t id;
    uint32_t __reserved;
    union {
        struct {
            iommusim_aligned_u64 start;
            iommusim_aligned_u64 length;
        } add_reserved;
        struct {
            uint32_t out_stdev_id;
            uint32_t out_hwpt_id;
            uint32_t out_idev_id;
        } mock_domain;
        struct {
            uint32_t out_stdev_id;
            uint32_t out_hwpt_id;
            uint32_t out_idev_id;
            uint32_t dev_flags;
        } mock_domain_flags;
        struct {
            uint32_t pt_id;
        } mock_domain_replace;
        struct {
            uint32_t limit;
        } memory_limit;
        struct {
            uint32_t flags;
            iommusim_aligned_u64 iova;
            iommusim_aligned_u64 length;
            iommusim_aligned_u64 page_size;
            iommusim_aligned_u64 uptr;
            iommusim_aligned_u64 out_nr_dirty;
        } dirty;
        struct {
            uint32_t id;
            uint32_t iotlb;
        } check_iotlb;
    };
    uint32_t last;
};
#define IOMMU_TEST_CMD IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

struct iommu_test_hw_info {
    uint32_t flags;
    uint32_t test_reg;
};

#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

struct iommu_hwpt_selftest {
    uint32_t iotlb;
};

#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

#define IOMMU_TEST_INVALIDATE_FLAG_ALL (1 << 0)
struct iommu_hwpt_invalidate_selftest {
    uint32_t flags;
    uint32_t iotlb_id;
};

/* ---- VFIO device cdev subset (include/uapi/linux/vfio.h) ---- */

#define VFIO_TYPE (';')
#define VFIO_BASE 100

struct vfio_device_bind_iommufd {
    uint32_t argsz;
    uint32_t flags;
    int32_t iommufd;
    uint32_t out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 18)

#define VFIO_DEVICE_ATTACH_PASID (1 << 0)
struct vfio_device_attach_iommufd_pt {
    uint32_t argsz;
    uint32_t flags;
    uint32_t pt_id;
    uint32_t pasid;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 19)

#define VFIO_DEVICE_DETACH_PASID (1 << 0)
struct vfio_device_detach_iommufd_pt {
    uint32_t argsz;
    uint32_t flags;
    uint32_t pasid;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 20)

/* ---- layout checks: every size and offset ---- */

#define IOMMUSIM_ABI_SIZE(s, n) IOMMUSIM_ABI_ASSERT(sizeof(struct s) == (n), #s " size")
#define IOMMUSIM_ABI_OFF(s, f, n) IOMMUSIM_ABI_ASSERT(offsetof(struct s, f) == (n), #s "." #f " offset")

IOMMUSIM_ABI_SIZE(iommu_destroy, 8);
IOMMUSIM_ABI_OFF(iommu_destroy, size, 0);
IOMMUSIM_ABI_OFF(iommu_destroy, id, 4);

IOMMUSIM_ABI_SIZE(iommu_ioas_alloc, 12);
IOMMUSIM_ABI_OFF(iommu_ioas_alloc, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_alloc, flags, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_alloc, out_ioas_id, 8);

IOMMUSIM_ABI_SIZE(iommu_iova_range, 16);
IOMMUSIM_ABI_OFF(iommu_iova_range, start, 0);
IOMMUSIM_ABI_OFF(iommu_iova_range, last, 8);

IOMMUSIM_ABI_SIZE(iommu_ioas_iova_ranges, 32);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, ioas_id, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, num_iovas, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, __reserved, 12);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, allowed_iovas, 16);
IOMMUSIM_ABI_OFF(iommu_ioas_iova_ranges, out_iova_alignment, 24);

IOMMUSIM_ABI_SIZE(iommu_ioas_map, 40);
IOMMUSIM_ABI_OFF(iommu_ioas_map, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_map, flags, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_map, ioas_id, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_map, __reserved, 12);
IOMMUSIM_ABI_OFF(iommu_ioas_map, user_va, 16);
IOMMUSIM_ABI_OFF(iommu_ioas_map, length, 24);
IOMMUSIM_ABI_OFF(iommu_ioas_map, iova, 32);

IOMMUSIM_ABI_SIZE(iommu_ioas_unmap, 24);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, size, 0);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, ioas_id, 4);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, iova, 8);
IOMMUSIM_ABI_OFF(iommu_ioas_unmap, length, 16);

IOMMUSIM_ABI_SIZE(iommu_hwpt_vtd_s1, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, flags, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, pgtbl_addr, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, addr_width, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1, __reserved, 20);

IOMMUSIM_ABI_SIZE(iommu_hwpt_alloc, 48);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, size, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, flags, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, dev_id, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, pt_id, 12);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, out_hwpt_id, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, __reserved, 20);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, data_type, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, data_len, 28);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, data_uptr, 32);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, fault_id, 40);
IOMMUSIM_ABI_OFF(iommu_hwpt_alloc, __reserved2, 44);

IOMMUSIM_ABI_SIZE(iommu_hw_info_vtd, 24);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, flags, 0);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, __reserved, 4);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, cap_reg, 8);
IOMMUSIM_ABI_OFF(iommu_hw_info_vtd, ecap_reg, 16);

IOMMUSIM_ABI_SIZE(iommu_hw_info, 40);
IOMMUSIM_ABI_OFF(iommu_hw_info, size, 0);
IOMMUSIM_ABI_OFF(iommu_hw_info, flags, 4);
IOMMUSIM_ABI_OFF(iommu_hw_info, dev_id, 8);
IOMMUSIM_ABI_OFF(iommu_hw_info, data_len, 12);
IOMMUSIM_ABI_OFF(iommu_hw_info, data_uptr, 16);
IOMMUSIM_ABI_OFF(iommu_hw_info, out_data_type, 24);
IOMMUSIM_ABI_OFF(iommu_hw_info, __reserved, 28);
IOMMUSIM_ABI_OFF(iommu_hw_info, out_capabilities, 32);

IOMMUSIM_ABI_SIZE(iommu_hwpt_vtd_s1_invalidate, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, addr, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, npages, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, flags, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_vtd_s1_invalidate, __reserved, 20);

IOMMUSIM_ABI_SIZE(iommu_hwpt_invalidate, 32);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, size, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, hwpt_id, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, data_uptr, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, data_type, 16);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, entry_len, 20);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, entry_num, 24);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate, __reserved, 28);

IOMMUSIM_ABI_SIZE(iommu_test_cmd, 72);
IOMMUSIM_ABI_OFF(iommu_test_cmd, size, 0);
IOMMUSIM_ABI_OFF(iommu_test_cmd, op, 4);
IOMMUSIM_ABI_OFF(iommu_test_cmd, id, 8);
IOMMUSIM_ABI_OFF(iommu_test_cmd, __reserved, 12);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain.out_stdev_id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain.out_hwpt_id, 20);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain.out_idev_id, 24);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain_flags.dev_flags, 28);
IOMMUSIM_ABI_OFF(iommu_test_cmd, mock_domain_replace.pt_id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, memory_limit.limit, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, dirty.out_nr_dirty, 56);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_iotlb.id, 16);
IOMMUSIM_ABI_OFF(iommu_test_cmd, check_iotlb.iotlb, 20);
IOMMUSIM_ABI_OFF(iommu_test_cmd, last, 64);

IOMMUSIM_ABI_SIZE(iommu_test_hw_info, 8);
IOMMUSIM_ABI_OFF(iommu_test_hw_info, flags, 0);
IOMMUSIM_ABI_OFF(iommu_test_hw_info, test_reg, 4);
IOMMUSIM_ABI_SIZE(iommu_hwpt_selftest, 4);
IOMMUSIM_ABI_OFF(iommu_hwpt_selftest, iotlb, 0);
IOMMUSIM_ABI_SIZE(iommu_hwpt_invalidate_selftest, 8);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate_selftest, flags, 0);
IOMMUSIM_ABI_OFF(iommu_hwpt_invalidate_selftest, iotlb_id, 4);

IOMMUSIM_ABI_SIZE(vfio_device_bind_iommufd, 16);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, flags, 4);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, iommufd, 8);
IOMMUSIM_ABI_OFF(vfio_device_bind_iommufd, out_devid, 12);
IOMMUSIM_ABI_SIZE(vfio_device_attach_iommufd_pt, 16);
IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, flags, 4);
IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, pt_id, 8);
IOMMUSIM_ABI_OFF(vfio_device_attach_iommufd_pt, pasid, 12);
IOMMUSIM_ABI_SIZE(vfio_device_detach_iommufd_pt, 12);
IOMMUSIM_ABI_OFF(vfio_device_detach_iommufd_pt, argsz, 0);
IOMMUSIM_ABI_OFF(vfio_device_detach_iommufd_pt, flags, 4);
IOMMUSIM_ABI_OFF(vfio_device_detach_iommufd_pt, pasid, 8);

IOMMUSIM_ABI_ASSERT(IOMMU_DESTROY == 0x3B80, "IOMMU_DESTROY value");
IOMMUSIM_ABI_ASSERT(IOMMU_HWPT_ALLOC == 0x3B89, "IOMMU_HWPT_ALLOC value");
IOMMUSIM_ABI_ASSERT(IOMMU_GET_HW_INFO == 0x3B8A, "IOMMU_GET_HW_INFO value");
IOMMUSIM_ABI_ASSERT(IOMMU_HWPT_INVALIDATE == 0x3B8D, "IOMMU_HWPT_INVALIDATE value");
IOMMUSIM_ABI_ASSERT(IOMMU_TEST_CMD == 0x3BA0, "IOMMU_TEST_CMD value");
IOMMUSIM_ABI_ASSERT(VFIO_DEVICE_BIND_IOMMUFD == 0x3B76, "VFIO_DEVICE_BIND_IOMMUFD value");

#endif /* IOMMUSIM_IOMMUFD_H */
