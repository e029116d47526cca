/* The iommufd user ABI subset the platform implements, with the kernel's names and byte-identical
 * layouts (Linux include/uapi/linux/iommufd.h, the selftest header iommufd_test.h and the VFIO cdev
 * part of include/uapi/linux/vfio.h), written from the published ABI facts (docs/iommufd-facts.md §1, §2,
 * §5). A program written against the kernel headers compiles against this one by calling
 * iommusim_ioctl() (iommusim/iommusim.h) instead of ioctl(2).
 *
 * Supported commands: IOMMU_DESTROY, IOMMU_IOAS_ALLOC, IOMMU_IOAS_IOVA_RANGES, IOMMU_IOAS_MAP,
 * IOMMU_IOAS_MAP_FILE, IOMMU_IOAS_ALLOW_IOVAS, IOMMU_IOAS_COPY, IOMMU_OPTION, IOMMU_IOAS_CHANGE_PROCESS,
 * IOMMU_IOAS_UNMAP, IOMMU_HWPT_ALLOC, IOMMU_GET_HW_INFO, IOMMU_HWPT_INVALIDATE, IOMMU_FAULT_QUEUE_ALLOC
 * (the fault fd reads struct iommu_hwpt_pgfault and takes struct iommu_hwpt_page_response records),
 * IOMMU_TEST_CMD (MOCK_DOMAIN, MOCK_DOMAIN_REPLACE, MD_CHECK_REFS, MD_CHECK_IOTLB, SET_TEMP_MEMORY_LIMIT,
 * TRIGGER_IOPF), and on VFIO device fds
 * VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_DETACH_IOMMUFD_PT,
 * VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_SET_IRQS
 * and VFIO_DEVICE_RESET (the DMA engine's register region, iommusim/hw/dma_engine.h); the VFIO type1
 * container calls on an iommufd (IOMMU_VFIO_IOAS, VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION,
 * VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA).
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

/* IOMMU_IOAS_MAP_FILE (Linux 6.13+): `start` bytes into the memfd `fd` instead of a user pointer;
 * flags, ioas_id, length and iova as for IOMMU_IOAS_MAP. */
struct iommu_ioas_map_file {
    uint32_t size;
    uint32_t flags;
    uint32_t ioas_id;
    int32_t fd;
    iommusim_aligned_u64 start;
    iommusim_aligned_u64 length;
    iommusim_aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/* IOMMU_IOAS_UNMAP */
struct iommu_ioas_unmap {
    uint32_t size;
    uint32_t ioas_id;
    iommusim_aligned_u64 iova;
    iommusim_aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/* IOMMU_IOAS_ALLOW_IOVAS */
struct iommu_ioas_allow_iovas {
    uint32_t size;
    uint32_t ioas_id;
    uint32_t num_iovas;
    uint32_t __reserved;
    iommusim_aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/* IOMMU_IOAS_COPY (flags are iommufd_ioas_map_flags) */
struct iommu_ioas_copy {
    uint32_t size;
    uint32_t flags;
    uint32_t dst_ioas_id;
    uint32_t src_ioas_id;
    iommusim_aligned_u64 length;
    iommusim_aligned_u64 dst_iova;
    iommusim_aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/* IOMMU_OPTION */
enum iommufd_option {
    IOMMU_OPTION_RLIMIT_MODE = 0,
    IOMMU_OPTION_HUGE_PAGES = 1,
};

enum iommufd_option_ops {
    IOMMU_OPTION_OP_SET = 0,
    IOMMU_OPTION_OP_GET = 1,
};

struct iommu_option {
    uint32_t size;
    uint32_t option_id;
    uint16_t op;
    uint16_t __reserved;
    uint32_t object_id;
    iommusim_aligned_u64 val64;
};
#define IOMMU_OPTION IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/* IOMMU_IOAS_CHANGE_PROCESS (Linux 6.13+) */
struct iommu_ioas_change_process {
    uint32_t size;
    uint32_t __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

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
    IOMMU_HW_INFO_TYPE_DEFAULT = 0, /* as in_data_type: the driver's own type */
    IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
    IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
};

enum iommufd_hw_capabilities {
    IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
    IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
    IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

enum iommufd_hw_info_flags {
    IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0, /* in_data_type names the type asked for */
};

/* Current kernels: in_data_type and out_data_type share one field; out_max_pasid_log2 is the
 * device's PASID width (0: no PASID), followed by three reserved bytes that must be 0. */
struct iommu_hw_info {
    uint32_t size;
    uint32_t flags;
    uint32_t dev_id;
    uint32_t data_len;
    iommusim_aligned_u64 data_uptr;
    union {
        uint32_t in_data_type;
        uint32_t out_data_type;
    };
    uint8_t out_max_pasid_log2;
    uint8_t __reserved[3];
    iommusim_aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/* IOMMU_HWPT_SET_DIRTY_TRACKING, IOMMU_HWPT_GET_DIRTY_BITMAP (paging HWPTs allocated with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING). Bit i of the bitmap at data stands for the page_size page at
 * iova + i * page_size: byte i / 8, bit i % 8. */
enum iommufd_hwpt_set_dirty_tracking_flags {
    IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

struct iommu_hwpt_set_dirty_tracking {
    uint32_t size;
    uint32_t flags;
    uint32_t hwpt_id;
    uint32_t __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

enum iommufd_hwpt_get_dirty_bitmap_flags {
    IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

struct iommu_hwpt_get_dirty_bitmap {
    uint32_t size;
    uint32_t hwpt_id;
    uint32_t flags;
    uint32_t __reserved;
    iommusim_aligned_u64 iova;
    iommusim_aligned_u64 length;
    iommusim_aligned_u64 page_size;
    iommusim_aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

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

/* I/O page fault delivery: the records a fault fd reads and takes (include/uapi/linux/iommufd.h) */
enum iommu_hwpt_pgfault_flags {
    IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0,
    IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1,
};

enum iommu_hwpt_pgfault_perm {
    IOMMU_PGFAULT_PERM_READ = 1 << 0,
    IOMMU_PGFAULT_PERM_WRITE = 1 << 1,
    IOMMU_PGFAULT_PERM_EXEC = 1 << 2,
    IOMMU_PGFAULT_PERM_PRIV = 1 << 3,
};

struct iommu_hwpt_pgfault {
    uint32_t flags;
    uint32_t dev_id;
    uint32_t pasid;
    uint32_t grpid;
    uint32_t perm;
    uint32_t __reserved;
    iommusim_aligned_u64 addr;
    uint32_t length;
    uint32_t cookie;
};

enum iommufd_page_response_code {
    IOMMUFD_PAGE_RESP_SUCCESS = 0,
    IOMMUFD_PAGE_RESP_INVALID = 1,
};

struct iommu_hwpt_page_response {
    uint32_t cookie;
    uint32_t code;
};

/* IOMMU_FAULT_QUEUE_ALLOC */
struct iommu_fault_alloc {
    uint32_t size;
    uint32_t flags;
    uint32_t out_fault_id;
    uint32_t out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

/* IOMMU_VIOMMU_ALLOC: a virtual IOMMU instance over a nest-parent HWPT (6.13+) */
enum iommu_viommu_type {
    IOMMU_VIOMMU_TYPE_DEFAULT = 0,
    IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1,
    IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2,
};

struct iommu_viommu_alloc {
    uint32_t size;
    uint32_t flags;
    uint32_t type;
    uint32_t dev_id;
    uint32_t hwpt_id;
    uint32_t out_viommu_id;
    uint32_t data_len;
    uint32_t __reserved;
    iommusim_aligned_u64 data_uptr;
};
#define IOMMU_VIOMMU_ALLOC IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)

/* IOMMU_VDEVICE_ALLOC: a device's identity (virt_id, e.g. a virtual RID) in a vIOMMU */
struct iommu_vdevice_alloc {
    uint32_t size;
    uint32_t viommu_id;
    uint32_t dev_id;
    uint32_t out_vdevice_id;
    iommusim_aligned_u64 virt_id;
};
#define IOMMU_VDEVICE_ALLOC IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)

/* IOMMU_VEVENTQ_ALLOC: a vIOMMU's event queue and its fd (6.15+). read() returns, per event, a
 * struct iommufd_vevent_header followed by the type's event data; a lone header with
 * IOMMU_VEVENTQ_FLAG_LOST_EVENTS stands for the events dropped while the queue was full. */
enum iommu_veventq_flag {
    IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1u << 0,
};

struct iommufd_vevent_header {
    uint32_t flags;
    uint32_t sequence;
};

enum iommu_veventq_type {
    IOMMU_VEVENTQ_TYPE_DEFAULT = 0,
    IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1,
    IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

struct iommu_veventq_alloc {
    uint32_t size;
    uint32_t flags;
    uint32_t viommu_id;
    uint32_t type;
    uint32_t veventq_depth;
    uint32_t out_veventq_id;
    uint32_t out_veventq_fd;
    uint32_t __reserved;
};
#define IOMMU_VEVENTQ_ALLOC IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)

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
    IOMMU_TEST_OP_TRIGGER_IOPF = 15,
    IOMMU_TEST_OP_DEV_CHECK_CACHE = 16,
    /* Newer than 6.12. */
    IOMMU_TEST_OP_TRIGGER_VEVENT = 17,
    IOMMU_TEST_OP_PASID_ATTACH = 18,
    IOMMU_TEST_OP_PASID_REPLACE = 19,
    IOMMU_TEST_OP_PASID_DETACH = 20,
    IOMMU_TEST_OP_PASID_CHECK_HWPT = 21,
};

enum {
    MOCK_APERTURE_START = 1UL << 24,
    MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

enum {
    MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
    MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

enum {
    MOCK_ACCESS_RW_WRITE = 1 << 0,
    MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

enum {
    MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

enum {
    MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
    MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
    MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

enum {
    MOCK_PASID_WIDTH = 20,
};

enum {
    MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
    MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

enum {
    MOCK_DEV_CACHE_ID_MAX = 3,
    MOCK_DEV_CACHE_NUM = 4,
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
            iommusim_aligned_u64 iova;
            iommusim_aligned_u64 length;
            iommusim_aligned_u64 uptr;
        } check_map;
        struct {
            iommusim_aligned_u64 length;
            iommusim_aligned_u64 uptr;
            uint32_t refs;
        } check_refs;
        struct {
            uint32_t out_access_fd;
            uint32_t flags;
        } create_access;
        struct {
            uint32_t access_pages_id;
        } destroy_access_pages;
        struct {
            uint32_t flags;
            uint32_t out_access_pages_id;
            iommusim_aligned_u64 iova;
            iommusim_aligned_u64 length;
            iommusim_aligned_u64 uptr;
        } access_pages;
        struct {
            iommusim_aligned_u64 iova;
            iommusim_aligned_u64 length;
            iommusim_aligned_u64 uptr;
            uint32_t flags;
        } access_rw;
        struct {
            uint32_t limit;
        } memory_limit;
        struct {
            uint32_t ioas_id;
        } access_replace_ioas;
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
        struct {
            uint32_t id;
            uint32_t cache;
        } check_dev_cache;
        struct {
            uint32_t dev_id;
            uint32_t pasid;
            uint32_t grpid;
            uint32_t perm;
            iommusim_aligned_u64 addr;
        } trigger_iopf;
        /* PASID ops: @id is the selftest device object. */
        struct {
            uint32_t pasid;
            uint32_t pt_id;
        } pasid_attach;
        struct {
            uint32_t pasid;
            uint32_t pt_id;
        } pasid_replace;
        struct {
            uint32_t pasid;
        } pasid_detach;
        struct {
            uint32_t pasid;
            uint32_t hwpt_id;
            iommusim_aligned_u64 out_result_ptr; /* one byte: 1 when pasid has hwpt_id's domain (0: none) */
        } pasid_check;
        struct {
            uint32_t dev_id;
        } trigger_vevent;
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
#define IOMMU_TEST_DEV_CACHE_DEFAULT 0xbaddad

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

#define IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef

#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/* One vIOMMU cache invalidation of the mock: cache[cache_id] (or every entry with
 * IOMMU_TEST_INVALIDATE_FLAG_ALL) of the device whose vdevice has virt_id vdev_id. */
struct iommu_viommu_invalidate_selftest {
    uint32_t flags;
    uint32_t vdev_id;
    uint32_t cache_id;
};

#define IOMMU_VEVENTQ_TYPE_SELFTEST 0xbeefbeef

/* The event data of IOMMU_TEST_OP_TRIGGER_VEVENT: the virt_id of the device's vdevice. */
struct iommu_viommu_event_selftest {
    uint32_t virt_id;
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

/* Device information, regions and interrupts (vfio-pci device fds). */
struct vfio_device_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t num_regions;
    uint32_t num_irqs;
    uint32_t cap_offset;
    uint32_t pad;
};
#define VFIO_DEVICE_FLAGS_RESET (1 << 0)
#define VFIO_DEVICE_FLAGS_PCI (1 << 1)
#define VFIO_DEVICE_GET_INFO IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 7)

struct vfio_region_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t cap_offset;
    iommusim_aligned_u64 size;
    iommusim_aligned_u64 offset;
};
#define VFIO_REGION_INFO_FLAG_READ (1 << 0)
#define VFIO_REGION_INFO_FLAG_WRITE (1 << 1)
#define VFIO_REGION_INFO_FLAG_MMAP (1 << 2)
#define VFIO_DEVICE_GET_REGION_INFO IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 8)

struct vfio_irq_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t count;
};
#define VFIO_IRQ_INFO_EVENTFD (1 << 0)
#define VFIO_IRQ_INFO_MASKABLE (1 << 1)
#define VFIO_IRQ_INFO_AUTOMASKED (1 << 2)
#define VFIO_IRQ_INFO_NORESIZE (1 << 3)
#define VFIO_DEVICE_GET_IRQ_INFO IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 9)

struct vfio_irq_set {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t start;
    uint32_t count;
    uint8_t data[];
};
#define VFIO_IRQ_SET_DATA_NONE (1 << 0)
#define VFIO_IRQ_SET_DATA_BOOL (1 << 1)
#define VFIO_IRQ_SET_DATA_EVENTFD (1 << 2)
#define VFIO_IRQ_SET_ACTION_MASK (1 << 3)
#define VFIO_IRQ_SET_ACTION_UNMASK (1 << 4)
#define VFIO_IRQ_SET_ACTION_TRIGGER (1 << 5)
#define VFIO_IRQ_SET_DATA_TYPE_MASK (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD)
#define VFIO_IRQ_SET_ACTION_TYPE_MASK \
    (VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER)
#define VFIO_DEVICE_SET_IRQS IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 10)
#define VFIO_DEVICE_RESET IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 11)

/* vfio-pci region and interrupt indexes. */
enum {
    VFIO_PCI_BAR0_REGION_INDEX,
    VFIO_PCI_BAR1_REGION_INDEX,
    VFIO_PCI_BAR2_REGION_INDEX,
    VFIO_PCI_BAR3_REGION_INDEX,
    VFIO_PCI_BAR4_REGION_INDEX,
    VFIO_PCI_BAR5_REGION_INDEX,
    VFIO_PCI_ROM_REGION_INDEX,
    VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_PCI_VGA_REGION_INDEX,
    VFIO_PCI_NUM_REGIONS = 9
};
enum {
    VFIO_PCI_INTX_IRQ_INDEX,
    VFIO_PCI_MSI_IRQ_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX,
    VFIO_PCI_ERR_IRQ_INDEX,
    VFIO_PCI_REQ_IRQ_INDEX,
    VFIO_PCI_NUM_IRQS
};

/* ---- VFIO type1 container compatibility (include/uapi/linux/iommufd.h IOMMU_VFIO_IOAS and the
 * type1 part of include/uapi/linux/vfio.h), on /dev/iommu and /dev/vfio/vfio ---- */

enum iommufd_vfio_ioas_op {
    IOMMU_VFIO_IOAS_GET = 0,
    IOMMU_VFIO_IOAS_SET = 1,
    IOMMU_VFIO_IOAS_CLEAR = 2,
};
struct iommu_vfio_ioas {
    uint32_t size;
    uint32_t ioas_id;
    uint16_t op;
    uint16_t __reserved;
};
#define IOMMU_VFIO_IOAS IOMMUSIM_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

#define VFIO_API_VERSION 0
/* Extensions (VFIO_CHECK_EXTENSION) and IOMMU types (VFIO_SET_IOMMU). */
#define VFIO_TYPE1_IOMMU 1
#define VFIO_SPAPR_TCE_IOMMU 2
#define VFIO_TYPE1v2_IOMMU 3
#define VFIO_DMA_CC_IOMMU 4
#define VFIO_EEH 5
#define VFIO_TYPE1_NESTING_IOMMU 6 /* __VFIO_RESERVED_TYPE1_NESTING_IOMMU in newer headers */
#define VFIO_SPAPR_TCE_v2_IOMMU 7
#define VFIO_NOIOMMU_IOMMU 8
#define VFIO_UNMAP_ALL 9
#define VFIO_UPDATE_VADDR 10

#define VFIO_GET_API_VERSION IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 0)
#define VFIO_CHECK_EXTENSION IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 1)
#define VFIO_SET_IOMMU IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 2)

struct vfio_info_cap_header {
    uint16_t id;
    uint16_t version;
    uint32_t next; /* offset of the next capability from the start of the info struct, 0 = last */
};

struct vfio_iommu_type1_info {
    uint32_t argsz;
    uint32_t flags;
    iommusim_aligned_u64 iova_pgsizes;
    uint32_t cap_offset;
    uint32_t pad;
};
#define VFIO_IOMMU_INFO_PGSIZES (1 << 0)
#define VFIO_IOMMU_INFO_CAPS (1 << 1)
#define VFIO_IOMMU_GET_INFO IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 12)

#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1
struct vfio_iova_range {
    iommusim_aligned_u64 start;
    iommusim_aligned_u64 end;
};
/* Followed by nr_iovas struct vfio_iova_range (the kernel's flexible iova_ranges[]). */
struct vfio_iommu_type1_info_cap_iova_range {
    struct vfio_info_cap_header header;
    uint32_t nr_iovas;
    uint32_t reserved;
};
#define VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION 2
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
struct vfio_iommu_type1_info_dma_avail {
    struct vfio_info_cap_header header;
    uint32_t avail;
};

struct vfio_iommu_type1_dma_map {
    uint32_t argsz;
    uint32_t flags;
    iommusim_aligned_u64 vaddr;
    iommusim_aligned_u64 iova;
    iommusim_aligned_u64 size;
};
#define VFIO_DMA_MAP_FLAG_READ (1 << 0)
#define VFIO_DMA_MAP_FLAG_WRITE (1 << 1)
#define VFIO_DMA_MAP_FLAG_VADDR (1 << 2)
#define VFIO_IOMMU_MAP_DMA IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 13)

/* Followed by a struct vfio_bitmap with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (the kernel's data[]). */
struct vfio_iommu_type1_dma_unmap {
    uint32_t argsz;
    uint32_t flags;
    iommusim_aligned_u64 iova;
    iommusim_aligned_u64 size;
};
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1 << 0)
#define VFIO_DMA_UNMAP_FLAG_ALL (1 << 1)
#define VFIO_DMA_UNMAP_FLAG_VADDR (1 << 2)
#define VFIO_IOMMU_UNMAP_DMA IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 14)
#define VFIO_IOMMU_ENABLE IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 15)
#define VFIO_IOMMU_DISABLE IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 16)
#define VFIO_IOMMU_DIRTY_PAGES IOMMUSIM_IO(VFIO_TYPE, VFIO_BASE + 17)

/* ---- layout checks: every size, offset and constant (the list is shared with the ABI test) ---- */

#define IOMMUSIM_ABI_SIZE(s, n) IOMMUSIM_ABI_ASSERT(sizeof(struct s) == (n), #s " size")
#define IOMMUSIM_ABI_OFF(s, f, n) IOMMUSIM_ABI_ASSERT(offsetof(struct s, f) == (n), #s "." #f " offset")
#define IOMMUSIM_ABI_FIELD_SIZE(s, f, n) IOMMUSIM_ABI_ASSERT(sizeof(((struct s*)0)->f) == (n), #s "." #f " size")
#define IOMMUSIM_ABI_VALUE(name, v) IOMMUSIM_ABI_ASSERT((name) == (v), #name " value")
#define IOMMUSIM_ABI_NEWER(entry) entry
#include "iommusim/iommufd_abi.h"
#undef IOMMUSIM_ABI_SIZE
#undef IOMMUSIM_ABI_OFF
#undef IOMMUSIM_ABI_FIELD_SIZE
#undef IOMMUSIM_ABI_VALUE
#undef IOMMUSIM_ABI_NEWER

#endif /* IOMMUSIM_IOMMUFD_H */
