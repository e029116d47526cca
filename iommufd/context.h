// One /dev/iommu open: the iommufd object table and the ioctl dispatcher.
//
// Models (docs/iommufd-facts.md): the dispatcher rules of §1.2-§1.4 (ENOTTY, EFAULT, EINVAL below the
// minimum size, copy_struct_from_user, respond with min(user size, ours)); the object table of §1.5
// (ids from 1, lowest free reused, two-phase creation with abort on a failed copy-out, typed lookup
// that treats unpublished objects as absent, users counts); IOMMU_DESTROY with EBUSY (§1.6); the
// IOAS (mapped ranges propagated to every paging HWPT of the IOAS), paging and nested HWPTs (§6.1),
// HWPT_INVALIDATE (§2.3, §3.1, 6.13+ errnos), GET_HW_INFO (§2.2), device bind/attach/replace/detach
// with automatic paging domains for IOAS attach, dirty tracking of paging HWPTs through the
// domain's dirty ops (dirty_tracking.cc), PASID attach/replace/detach of a device's other
// PASIDs (kernel iommufd_device_attach/replace/detach with a pasid, iommufd_hwpt_pasid_compat and
// IOMMU_HWPT_ALLOC_PASID), accesses (in-kernel users of an IOAS: pins, reads
// and writes through it, the unmap notification; access.cc) and the IOMMU_TEST_CMD subset of §5.
// Fault objects and their fault fds (IOMMU_FAULT_QUEUE_ALLOC, HWPTs allocated with a fault_id,
// I/O page faults of the devices attached to them; fault.h).
// Pins are counted per user page as the kernel's page references: one per pages object (a map and
// every IOAS_COPY of it) holding the page, for its domains or for an access.
// VFIO type1 container compatibility is in vfio_compat.cc.
// IOAS_MAP_FILE areas hold the file through iommufd/mapped_file.h.
// vIOMMU, vDEVICE and vEVENTQ objects (viommu.h): IOMMU_VIOMMU_ALLOC, IOMMU_VDEVICE_ALLOC,
// IOMMU_VEVENTQ_ALLOC, nested HWPTs allocated and invalidated through a vIOMMU.
// Does not model: dma-buf IOAS_MAP_FILE, device reserved regions, vIOMMU HW queues,
// memory accounting (SET_TEMP_MEMORY_LIMIT is checked as the
// kernel does, below 12 EINVAL, then recorded and unused),
// physical pages (a pin keeps no page alive: the model reads the program's memory at its address).
//
// The core is driver-agnostic: it reaches drivers only through driver/iommu_ops.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "driver/iommu_ops.h"
#include "driver/user_space.h"
#include "util/id_allocator.h"

namespace iommusim::iommufd {

// Kernel-log prefix of the core (drivers/iommu/iommufd pr_fmt).
inline constexpr const char* iommufd_log = "iommufd: ";

enum class obj_type { any, device, hwpt_paging, hwpt_nested, ioas, selftest, access, fault, viommu, vdevice, veventq };

// Base of every object (kernel struct iommufd_object). `users` starts at 1: the table's reference.
struct object {
    explicit object(obj_type t) : type(t) {}
    virtual ~object() = default;
    object(const object&) = delete;
    object& operator=(const object&) = delete;

    obj_type type;
    uint32_t id = 0;
    unsigned users = 1;
};

struct hwpt_paging;
struct access;
struct fault;
struct viommu;
struct vdevice;

// The user memory of one IOAS_MAP, shared by every area IOAS_COPY made of it (kernel struct
// iopt_pages): the kernel pins each of its pages once, whoever needs it.
struct user_pages {
    // Accesses' pins by page-aligned user address (kernel pages->access_itree users).
    std::map<uint64_t, unsigned> access_pins;
    // The process whose memory these are, when not the model's own (kernel pages->source_mm): the
    // forked child that mapped them. The areas hold the model's address of the same memory.
    std::shared_ptr<driver::user_space> source;
};

class mapped_file;

// A mapped IOVA range: any byte length and user address (the kernel's iopt_area over its pages).
// An IOAS_MAP_FILE area's user_va lies in the model's own mapping of the file, which it holds.
struct ioas_area {
    uint64_t length = 0;
    uint64_t user_va = 0;
    int prot = 0;
    bool writable_pages = false;  // the pages were mapped writeable (IOAS_COPY may then map them so)
    std::shared_ptr<user_pages> pages;
    unsigned num_accesses = 0;          // access pins through this area (kernel area->num_accesses)
    bool prevent_access = false;        // an unmap is waiting for the accesses to let go
    std::shared_ptr<mapped_file> file;  // the file behind an IOAS_MAP_FILE area, else null
};

struct ioas : object {
    ioas() : object(obj_type::ioas) {}
    std::map<uint64_t, ioas_area> areas;    // by start IOVA
    std::vector<access*> accesses;          // attached accesses (kernel iopt->access_list)
    std::map<uint64_t, uint64_t> reserved;  // IOMMU_TEST_OP_ADD_RESERVED ranges: start -> last
    std::map<uint64_t, uint64_t> allowed;   // IOMMU_IOAS_ALLOW_IOVAS ranges: start -> last; empty: all
    bool disable_large_pages = false;  // IOMMU_OPTION_HUGE_PAGES 0 or VFIO_TYPE1_IOMMU: PAGE_SIZE alignment, areas may
                                       // be cut by an unmap (vfio_compat.cc)
    std::vector<hwpt_paging*> hwpts;   // paging HWPTs whose domain maps this IOAS
};

struct hw_pagetable : object {
    using object::object;
    std::unique_ptr<driver::iommu_domain> domain;
    // Allocated with IOMMU_HWPT_FAULT_ID_VALID: the fault object its page requests go to, of
    // which it holds one user (kernel hwpt->fault).
    struct fault* fault = nullptr;
    bool pasid_compat = false;  // allocated with IOMMU_HWPT_ALLOC_PASID: may be attached to PASIDs
};

struct hwpt_paging : hw_pagetable {
    hwpt_paging() : hw_pagetable(obj_type::hwpt_paging) {}
    struct ioas* ioas = nullptr;  // holds one user of the IOAS
    bool auto_domain = false;     // created by an attach to an IOAS; destroyed with its last device
    bool nest_parent = false;
};

struct hwpt_nested : hw_pagetable {
    hwpt_nested() : hw_pagetable(obj_type::hwpt_nested) {}
    hwpt_paging* parent = nullptr;  // holds one user of the parent
    // Allocated through a vIOMMU (HWPT_ALLOC with pt_id a vIOMMU): holds one user of it
    // (kernel hwpt_nested->viommu); parent is then the vIOMMU's nest parent.
    struct viommu* viommu = nullptr;
};

// A bound device (kernel struct iommufd_device). The binder holds a second user until unbind.
struct device : object {
    device() : object(obj_type::device) {}
    driver::iommu_device* dev = nullptr;
    hw_pagetable* hwpt = nullptr;  // attached HWPT, holds one user of it
    // HWPTs attached on PASIDs other than IOMMU_NO_PASID, each holding one user (kernel
    // igroup->pasid_attach).
    std::map<uint32_t, hw_pagetable*> pasid_hwpts;
    vdevice* vdev = nullptr;  // its vdevice (kernel idev->vdev): at most one, in any vIOMMU
};

// Selftest mock device (kernel selftest_obj of type TYPE_IDEV): owns the mock device and its binding.
struct selftest_device : object {
    selftest_device() : object(obj_type::selftest) {}
    std::unique_ptr<driver::iommu_device> mock;
    device* idev = nullptr;
};

// An in-kernel user of an IOAS (kernel struct iommufd_access, the mdev path): it pins pages and
// reads or writes through the IOAS without DMA. The table holds one user, the creating driver
// another until it destroys the access; an attached access holds one user of its IOAS.
struct access : object {
    access() : object(obj_type::access) {}
    struct ioas* ioas = nullptr;
    uint64_t iova_alignment = 1;  // PAGE_SIZE for drivers that pin pages
    bool needs_pin_pages = false;
    // The driver's unmap op: stop using [iova, iova + length) and unpin what it pinned there.
    std::function<void(uint64_t iova, uint64_t length)> unmap;
};

class context;
class file_table;

// One ioctl in flight (kernel struct iommufd_ucmd).
struct ucmd {
    context& ctx;
    uint64_t ubuffer;    // user pointer to the command struct
    uint32_t user_size;  // the size the caller declared
    void* cmd;           // kernel copy, sizeof(our struct)
    template <typename T>
    T& as() {
        return *static_cast<T*>(cmd);
    }
    // Copies min(user_size, len) bytes back. 0 or -EFAULT.
    int respond(std::size_t len);
};

class context {
  public:
    context();
    ~context();
    context(const context&) = delete;
    context& operator=(const context&) = delete;

    // The iommufd ioctl entry point: 0 or a negative errno (§1.2).
    int ioctl(unsigned long cmd, uint64_t arg);

    // ---- object table (§1.5) ----
    // Reserves the lowest free id for obj (lookups do not see it yet). 0 and -ENOSPC when full.
    uint32_t add(std::unique_ptr<object> obj, int& rc);
    void finalize(uint32_t id);
    // Removes an unpublished or published object and runs its destructor.
    void abort(uint32_t id);
    // Published object `id` of `type` (obj_type::any matches all), else nullptr (-> ENOENT).
    object* get_object(uint32_t id, obj_type type);
    template <typename T>
    T* get(uint32_t id, obj_type type) {
        return static_cast<T*>(get_object(id, type));
    }
    // IOMMU_DESTROY semantics: -ENOENT, -EBUSY, or 0.
    int destroy(uint32_t id);
    std::size_t object_count() const { return m_objects.size(); }
    // Published objects of `type`, by id.
    std::vector<object*> objects_of(obj_type type);
    // Fault injection (kernel fail-nth): the nth object allocation from now (1-based) fails
    // with -ENOMEM; 0 turns injection off.
    void fail_nth_allocation(unsigned nth) { m_fail_nth = nth; }

    // ---- devices ----
    // Binds dev (VFIO_DEVICE_BIND_IOMMUFD / mock device): -EBUSY if it already has an owner.
    int bind(driver::iommu_device& dev, uint32_t& out_id);
    // Detaches and removes the device object.
    void unbind(uint32_t dev_id);
    // Attach or replace onto pt_id (IOAS, paging or nested HWPT). For an IOAS pt_id becomes the
    // HWPT actually attached.
    int attach(device& idev, uint32_t& pt_id);
    void detach(device& idev);
    // The same for PASID `pasid` of the device. `mode`: attach (kernel iommufd_device_attach with a
    // pasid: -EBUSY when the PASID has a HWPT), replace (iommufd_device_replace: -EINVAL when it has
    // none) or either (VFIO_DEVICE_ATTACH_PASID: replace when attached). The HWPT must be
    // IOMMU_HWPT_ALLOC_PASID-compatible, and so must the one on IOMMU_NO_PASID (-EINVAL); the
    // driver core's refusals follow (driver/iommu_ops.h).
    enum class pasid_change { attach, replace, either };
    int attach_pasid(device& idev, uint32_t pasid, uint32_t& pt_id, pasid_change mode = pasid_change::either);
    void detach_pasid(device& idev, uint32_t pasid);

    // ---- helpers shared by the object files ----
    int hwpt_paging_create(ioas& as, device& idev, uint32_t flags, const driver::iommu_user_data* data,
                           bool auto_domain, hwpt_paging*& out);
    void destroy_object(object& obj);

    // Pins this context holds on the user page at uptr (page-aligned): one per IOAS area covering
    // it in an IOAS with at least one domain, as the kernel pins an area's pages for its domains.
    unsigned user_page_pins(uint64_t uptr) const;
    // Every context alive in the process: the kernel's page pin counts are process-wide.
    static std::vector<const context*> live_contexts();

    uint32_t memory_limit = 0;
    // The caller's descriptor table for the files the selftest hands out (access files); none: the
    // context cannot create them (ENOMEM, as a failed get_unused_fd_flags).
    file_table* files = nullptr;
    // The compat IOAS of the VFIO type1 calls (kernel ictx->vfio_ioas), 0 = none; cleared when the
    // IOAS is destroyed.
    uint32_t vfio_ioas_id = 0;
    // IOMMU_OPTION_RLIMIT_MODE: 1 charges pinned pages to the mm instead of the user.
    bool account_mm = false;

  private:
    struct slot {
        std::unique_ptr<object> obj;
        bool published = false;
    };
    std::map<uint32_t, slot> m_objects;
    id_allocator m_ids{1, 0x7fffffff};  // ids are 31-bit; negative values belong to VFIO
    unsigned m_fail_nth = 0;
};

// ioctl handlers, one file per object kind.
int ioas_alloc_ioctl(ucmd& u);
int ioas_iova_ranges_ioctl(ucmd& u);
int ioas_map_ioctl(ucmd& u);
int ioas_map_file_ioctl(ucmd& u);
int ioas_unmap_ioctl(ucmd& u);
int ioas_allow_iovas_ioctl(ucmd& u);
int ioas_copy_ioctl(ucmd& u);
int option_ioctl(ucmd& u);
int ioas_change_process_ioctl(ucmd& u);
int hwpt_alloc_ioctl(ucmd& u);
int hwpt_invalidate_ioctl(ucmd& u);
int hwpt_set_dirty_tracking_ioctl(ucmd& u);
int hwpt_get_dirty_bitmap_ioctl(ucmd& u);
int get_hw_info_ioctl(ucmd& u);
int test_cmd_ioctl(ucmd& u);
int fault_queue_alloc_ioctl(ucmd& u);
int viommu_alloc_ioctl(ucmd& u);
int vdevice_alloc_ioctl(ucmd& u);
int veventq_alloc_ioctl(ucmd& u);
int vfio_ioas_ioctl(ucmd& u);
// The VFIO type1 container ioctls (command numbers outside the iommufd table): a non-negative result
// or a negative errno, -ENOTTY for every other command.
int vfio_compat_ioctl(context& ctx, unsigned long cmd, uint64_t arg);

// Destructors by object kind (the destroy table): release what the object holds.
void ioas_destroy(context& ctx, object& obj);
void hwpt_paging_destroy(context& ctx, object& obj);
void hwpt_nested_destroy(context& ctx, object& obj);
void device_destroy(context& ctx, object& obj);
void selftest_destroy(context& ctx, object& obj);
void access_destroy(context& ctx, object& obj);
void fault_destroy(context& ctx, object& obj);
void viommu_destroy(context& ctx, object& obj);
void vdevice_destroy(context& ctx, object& obj);
void veventq_destroy(context& ctx, object& obj);

// Kernel iopt->iova_alignment: the largest minimum page of its domains and access alignment
// (PAGE_SIZE with large pages disabled), 1 with neither.
uint64_t ioas_iova_alignment(const ioas& as);
// Object helpers (ioas.cc): map every area of `as` into `domain`, undoing on failure.
int ioas_fill_domain(ioas& as, driver::iommu_domain& domain);
void ioas_empty_domain(ioas& as, driver::iommu_domain& domain);
// IOMMU_TEST_OP_ADD_RESERVED: -EADDRINUSE when the range meets a mapped area or an allowed range.
int ioas_add_reserved(ioas& as, uint64_t start, uint64_t length);
// Kernel iopt_add_access / iopt_remove_access: the access joins (-EADDRINUSE when its alignment does
// not fit every area) or leaves the IOAS's access list.
int ioas_add_access(ioas& as, access& acc);
void ioas_remove_access(ioas& as, access& acc);
// Pins the pages of [user_va, user_va + length) (the model keeps no page: it checks they can be
// pinned). User memory as pin_user_pages: every page readable, and writable for a write pin
// (FOLL_WRITE), else -EFAULT. An IOAS_MAP_FILE area's pages (file non-null) as memfd_pin_folios:
// the file's own answer. 0 or the errno. The addresses are the model's own, whoever called.
int pin_pages(uint64_t user_va, uint64_t length, bool write, const mapped_file* file);
// Kernel mmget_not_zero(pages->source_mm) before pinning pages nothing holds yet: false once the
// process that mapped them is gone (the pin is then EFAULT).
bool pages_source_alive(const user_pages& pages);

// Accesses (access.cc, kernel device.c iommufd_access_*). Creation publishes the object at once.
int access_create(context& ctx, bool needs_pin_pages, std::function<void(uint64_t, uint64_t)> unmap, access*& out);
// Attach to an IOAS (ENOENT when ioas_id is none) or replace it (ENOENT when not attached).
int access_attach(context& ctx, access& acc, uint32_t ioas_id);
int access_replace(context& ctx, access& acc, uint32_t ioas_id);
// Pins the pages under [iova, iova + length); out_pages gets their user addresses, one a page.
int access_pin_pages(access& acc, uint64_t iova, uint64_t length, bool write, std::vector<uint64_t>& out_pages);
// Exactly undoes one access_pin_pages of the same range.
void access_unpin_pages(access& acc, uint64_t iova, uint64_t length);
// Copies between data and the memory under [iova, iova + length); flags IOMMUFD_ACCESS_RW_* (the
// selftest's MOCK_ACCESS_RW_* values).
int access_rw(access& acc, uint64_t iova, void* data, uint64_t length, uint32_t flags);

}  // namespace iommusim::iommufd
