// The driver contract between the iommufd core and an IOMMU driver (VT-d, the selftest mock).
//
// Models (docs/iommufd-facts.md §3.2, §6.1): the kernel's `struct iommu_ops` and `struct iommu_domain_ops`
// reduced to what IOMMU_HWPT_ALLOC, IOMMU_HWPT_INVALIDATE, IOMMU_GET_HW_INFO, IOAS_MAP/UNMAP and the
// VFIO attach/detach calls need: hw_info, domain_alloc_paging_flags, domain_alloc_nested, domain free
// (the destructor), attach with replace semantics, detach (back to blocking), map/unmap of paging
// domains, and cache_invalidate_user with entry_num write-back.
// Also the dirty-tracking ops (kernel struct iommu_dirty_ops: set_dirty_tracking,
// read_and_clear_dirty) and I/O page fault reporting (kernel iommu_report_device_fault() to the
// domain's iopf handler, iommu_page_response() back to the driver's page_response op).
// PASID attachment (kernel domain_ops->set_dev_pasid, blocked_domain->set_dev_pasid for removal):
// the domains on a device's PASIDs other than RID_PASID, each with replace semantics, and the core
// checks of iommu_attach_device_pasid / iommu_replace_device_pasid (drivers/iommu/iommu.c).
// And the vIOMMU contract (kernel struct iommufd_viommu_ops, include/linux/iommufd.h): a driver's
// virtual IOMMU over a nest-parent domain, its nested domains and its cache invalidation by
// virtual device ids, and the events it reports to the vIOMMU's event queues.
// Does not model: iommu groups (every device is its own group), default/identity domains.
//
// Every call returns 0 or a negative errno, as the kernel does. User pointers stay user pointers
// (uint64_t): drivers read them with driver/uaccess.h, which turns a bad address into -EFAULT.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace iommusim::driver {

class iommu_ops;
class iommu_domain;

// A device behind an IOMMU, as the core sees it (kernel: struct device + its iommu_dev).
struct iommu_device {
    uint16_t rid = 0;                // requester id, (bus << 8) | devfn
    bool ats = false;                // ATS enabled: the device keeps a device TLB
    bool pasid = false;              // PASID-capable
    uint8_t max_pasid_log2 = 0;      // PASID width (kernel ilog2(dev->iommu->max_pasids)), 0: none
    iommu_ops* ops = nullptr;        // the driver the device is behind
    void* owner = nullptr;           // the iommufd device object bound to it (nullptr = unowned)
    iommu_domain* domain = nullptr;  // currently attached domain (nullptr = blocking)
    void* driver_data = nullptr;     // per-device state of the driver
    // Domains attached on PASIDs other than RID_PASID (kernel group->pasid_array); an absent PASID
    // is blocked. Maintained by the drivers' set_dev_pasid / remove_dev_pasid.
    std::map<uint32_t, iommu_domain*> pasid_domains;
    bool pri = false;  // PRI-capable: may send page requests (needs ats)

    virtual ~iommu_device() = default;
};

// IOMMU_DOMAIN_PAGING (kernel-managed, map/unmap) or IOMMU_DOMAIN_NESTED (user-managed stage 1).
enum class domain_type { paging, nested };

// Domain allocation flags (same values as enum iommufd_hwpt_alloc_flags).
inline constexpr uint32_t alloc_flag_nest_parent = 1u << 0;
inline constexpr uint32_t alloc_flag_dirty_tracking = 1u << 1;
// IOMMU_HWPT_ALLOC_PASID: the domain may be attached to PASIDs (the core's pasid_compat).
inline constexpr uint32_t alloc_flag_pasid = 1u << 3;

// IOMMU_NO_PASID: requests without PASID, translated through the RID_PASID entry.
inline constexpr uint32_t no_pasid = 0;

// I/O page faults (include/linux/iommu.h struct iommu_fault_page_request, struct
// iommu_page_response). Flag and permission bits have the kernel's values, which are also the uAPI's
// IOMMU_PGFAULT_FLAGS_* and IOMMU_PGFAULT_PERM_* (include/uapi/linux/iommufd.h).
inline constexpr uint32_t page_request_pasid_valid = 1u << 0;
inline constexpr uint32_t page_request_last_page = 1u << 1;
inline constexpr uint32_t page_request_perm_read = 1u << 0;
inline constexpr uint32_t page_request_perm_write = 1u << 1;
inline constexpr uint32_t page_request_perm_exec = 1u << 2;
inline constexpr uint32_t page_request_perm_priv = 1u << 3;

// One page request of a device, as the driver reports it.
struct page_request {
    uint32_t flags = 0;  // page_request_pasid_valid | page_request_last_page
    uint32_t pasid = 0;
    uint32_t grpid = 0;  // page request group index: one response answers the whole group
    uint32_t perm = 0;   // page_request_perm_*
    uint64_t addr = 0;   // page-aligned faulting address
};

// Response codes (enum iommu_page_response_code; uAPI enum iommufd_page_response_code).
enum class page_response_code : uint32_t { success = 0, invalid = 1 };

// The answer to a page request group.
struct page_response {
    uint32_t pasid = 0;
    uint32_t grpid = 0;
    page_response_code code = page_response_code::success;
};

// Where a domain's page requests go (kernel: domain->iopf_handler; iommufd's fault object).
// handle() returns 0 when it took the request (it will answer with iommu_ops::page_response) or a
// negative errno, on which the core answers the group itself with page_response_code::invalid.
class iopf_handler {
  public:
    virtual ~iopf_handler() = default;
    virtual int handle(iommu_device& dev, const page_request& request) = 0;
};

// Collects dirty IOVA ranges for read_and_clear_dirty (kernel struct iommu_dirty_bitmap).
class dirty_bitmap_sink {
  public:
    virtual ~dirty_bitmap_sink() = default;
    // [iova, iova + length) was written since the last clear.
    virtual void record(uint64_t iova, uint64_t length) = 0;
    // False for the core's clearing pass before it enables tracking (kernel iopt_clear_dirty_data
    // passes a NULL bitmap): drivers then clear without reporting, even while tracking is off.
    virtual bool reports() const { return true; }
};

// read_and_clear_dirty flags (IOMMU_DIRTY_NO_CLEAR: report without clearing).
inline constexpr unsigned long dirty_no_clear = 1ul << 0;

// Mapping permissions for map().
inline constexpr int prot_read = 1 << 0;
inline constexpr int prot_write = 1 << 1;

// kernel struct iommu_user_data: one driver blob (HWPT_ALLOC data_type/data_len/data_uptr).
struct iommu_user_data {
    uint32_t type = 0;
    uint64_t uptr = 0;
    std::size_t len = 0;
};

// kernel struct iommu_user_data_array (§3.2). The driver overwrites entry_num with the number of
// entries it handled, on success and on error.
struct iommu_user_data_array {
    uint32_t type = 0;
    uint64_t uptr = 0;
    std::size_t entry_len = 0;
    uint32_t entry_num = 0;
};

// A translation domain (kernel: struct iommu_domain + its iommu_domain_ops).
// Destroying the object is the kernel's domain free; it runs after every device is detached.
class iommu_domain {
  public:
    iommu_domain(domain_type type, iommu_ops* owner) : m_type(type), m_owner(owner) {}
    virtual ~iommu_domain() = default;
    iommu_domain(const iommu_domain&) = delete;
    iommu_domain& operator=(const iommu_domain&) = delete;

    domain_type type() const { return m_type; }
    // The driver that allocated the domain (cross-driver nesting is EINVAL, §6.1).
    iommu_ops* owner() const { return m_owner; }
    // Paging domains: allocated with alloc_flag_nest_parent (may carry nested children).
    virtual bool is_nest_parent() const { return false; }
    // Paging domains: the IOVA range the domain can translate (IOMMU_IOAS_IOVA_RANGES reports the
    // intersection over every paging domain of an IOAS).
    virtual uint64_t aperture_start() const { return 0; }
    virtual uint64_t aperture_last() const { return ~uint64_t{0}; }
    // Paging domains: the smallest page the domain maps (kernel 1 << __ffs(pgsize_bitmap)); the
    // IOAS aligns IOVAs, lengths and user page offsets to the largest of its domains'.
    virtual uint64_t min_page_size() const { return 4096; }

    // Attaches dev, replacing whatever domain it had (replace semantics: on failure the old
    // attachment is kept). On success the driver sets dev.domain = this.
    virtual int attach_dev(iommu_device& dev) = 0;

    // Does the domain implement set_dev_pasid (the kernel checks for a NULL op: EOPNOTSUPP)?
    virtual bool has_set_dev_pasid() const { return false; }
    // Attaches `pasid` (not no_pasid, below the device's width: the core checked) of dev to this
    // domain, replacing `old` (nullptr: the PASID was blocked). On failure the old attachment is
    // kept. On success the driver sets dev.pasid_domains[pasid] = this.
    virtual int set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) {
        (void)dev, (void)pasid, (void)old;
        return -EOPNOTSUPP;
    }

    // Paging domains: map [iova, iova + len) to the host buffer at `host` (which the platform
    // adopts as physical memory). `prot` is prot_read | prot_write.
    virtual int map(uint64_t iova, void* host, uint64_t len, int prot) {
        (void)iova, (void)host, (void)len, (void)prot;
        return -EINVAL;  // not a paging domain
    }
    // Paging domains: unmap [iova, iova + len) and flush every cache that may hold it (the
    // IOTLB of this domain and of every nested child) before returning.
    virtual int unmap(uint64_t iova, uint64_t len) {
        (void)iova, (void)len;
        return -EINVAL;
    }

    // Nested domains: does the domain implement cache_invalidate_user (the kernel checks for a
    // NULL op and answers EOPNOTSUPP)?
    virtual bool has_cache_invalidate_user() const { return false; }
    // Contract (§3.2, §4.2, §5): check array.type first (EINVAL, entry_num 0); handle entries in
    // order, stop at the first failure; always set array.entry_num to the count handled.
    virtual int cache_invalidate_user(iommu_user_data_array& array) {
        array.entry_num = 0;
        return -EOPNOTSUPP;
    }

    // Dirty tracking (kernel domain->dirty_ops). A domain allocated with
    // alloc_flag_dirty_tracking implements both; the core checks has_dirty_ops() first (EINVAL).
    virtual bool has_dirty_ops() const { return false; }
    virtual int set_dirty_tracking(bool enabled) {
        (void)enabled;
        return -EOPNOTSUPP;
    }
    // Reports every dirty range inside [iova, iova + size) to `dirty` and, unless flags has
    // dirty_no_clear, clears the dirty state and flushes what caches it before returning.
    virtual int read_and_clear_dirty(uint64_t iova, uint64_t size, unsigned long flags, dirty_bitmap_sink& dirty) {
        (void)iova, (void)size, (void)flags, (void)dirty;
        return -EOPNOTSUPP;
    }

    // Page requests of devices attached to this domain go to `handler` (nullptr: the domain
    // cannot fault; the driver answers invalid). Set by the core for HWPTs with a fault object.
    void set_iopf_handler(iopf_handler* handler) { m_iopf_handler = handler; }
    iopf_handler* iopf() const { return m_iopf_handler; }

  private:
    domain_type m_type;
    iommu_ops* m_owner;
    iopf_handler* m_iopf_handler = nullptr;
};

// Where a vIOMMU's events go (the iommufd core's vEVENTQs; kernel iommufd_viommu_report_event).
class viommu_event_sink {
  public:
    virtual ~viommu_event_sink() = default;
    // Queues `len` bytes of event data on the vEVENTQ of `type`: 0, -EOPNOTSUPP when the vIOMMU
    // has no vEVENTQ of that type, -ENOMEM (the event is then counted as lost).
    virtual int report(uint32_t type, const void* data, std::size_t len) = 0;
};

// A driver's virtual IOMMU instance (kernel struct iommufd_viommu with its iommufd_viommu_ops).
// The core keeps the virtual device table (kernel viommu->vdevs): virt_id -> device.
class iommu_viommu {
  public:
    explicit iommu_viommu(iommu_domain& parent) : m_parent(parent) {}
    virtual ~iommu_viommu() = default;
    iommu_viommu(const iommu_viommu&) = delete;
    iommu_viommu& operator=(const iommu_viommu&) = delete;

    // The nest-parent paging domain the vIOMMU translates its stage-1 tables through.
    iommu_domain& parent() const { return m_parent; }

    // Nested domain of this vIOMMU (kernel ops->alloc_domain_nested; none: EOPNOTSUPP). `flags`
    // are the HWPT_ALLOC flags the core passes on (IOMMU_HWPT_FAULT_ID_VALID at most).
    virtual bool has_alloc_domain_nested() const { return false; }
    virtual int alloc_domain_nested(uint32_t flags, const iommu_user_data& user_data,
                                    std::unique_ptr<iommu_domain>& out) {
        (void)flags, (void)user_data, (void)out;
        return -EOPNOTSUPP;
    }
    // HWPT_INVALIDATE with a vIOMMU id (kernel ops->cache_invalidate; none: EOPNOTSUPP), with the
    // contract of iommu_domain::cache_invalidate_user (entry_num written back).
    virtual bool has_cache_invalidate() const { return false; }
    virtual int cache_invalidate(iommu_user_data_array& array) {
        array.entry_num = 0;
        return -EOPNOTSUPP;
    }

    // ---- kept by the core ----
    // The device with a vdevice of virt_id in this vIOMMU (kernel iommufd_viommu_find_dev), else nullptr.
    iommu_device* find_device(uint64_t virt_id) const {
        auto it = m_vdevs.find(virt_id);
        return it == m_vdevs.end() ? nullptr : it->second;
    }
    // The virt_id of dev's vdevice in this vIOMMU (kernel iommufd_viommu_get_vdev_id): false if none.
    bool virt_id_of(const iommu_device& dev, uint64_t& out) const {
        for (const auto& [virt_id, d] : m_vdevs) {
            if (d == &dev) {
                out = virt_id;
                return true;
            }
        }
        return false;
    }
    // Reports an event to the core (kernel iommufd_viommu_report_event): -EOPNOTSUPP without a sink.
    int report_event(uint32_t type, const void* data, std::size_t len) {
        return m_events != nullptr ? m_events->report(type, data, len) : -EOPNOTSUPP;
    }
    void add_vdev(uint64_t virt_id, iommu_device& dev) { m_vdevs[virt_id] = &dev; }
    void remove_vdev(uint64_t virt_id) { m_vdevs.erase(virt_id); }
    bool has_vdev(uint64_t virt_id) const { return m_vdevs.count(virt_id) != 0; }
    void set_event_sink(viommu_event_sink* sink) { m_events = sink; }

  private:
    iommu_domain& m_parent;
    std::map<uint64_t, iommu_device*> m_vdevs;
    viommu_event_sink* m_events = nullptr;
};

// Per-driver operations (kernel: struct iommu_ops).
class iommu_ops {
  public:
    virtual ~iommu_ops() = default;

    // IOMMU_GET_HW_INFO: fills `data` with the type-specific info struct and `type` with its
    // enum iommu_hw_info_type value; `capabilities` gets IOMMU_HW_CAP_* bits.
    virtual int hw_info(iommu_device& dev, std::vector<uint8_t>& data, uint32_t& type, uint64_t& capabilities) = 0;

    // Paging domain for dev. `flags` are alloc_flag_*; `user_data` is non-null only when the
    // caller passed driver data (drivers without paging data answer EOPNOTSUPP).
    virtual int domain_alloc_paging_flags(iommu_device& dev, uint32_t flags, const iommu_user_data* user_data,
                                          std::unique_ptr<iommu_domain>& out) = 0;

    // Does the driver implement domain_alloc_nested (no op: EOPNOTSUPP before the parent checks)?
    virtual bool has_domain_alloc_nested() const { return false; }
    // Nested domain on top of `parent` (a paging domain of this driver, allocated as nest parent).
    virtual int domain_alloc_nested(iommu_device& dev, iommu_domain& parent, uint32_t flags,
                                    const iommu_user_data& user_data, std::unique_ptr<iommu_domain>& out) {
        (void)dev, (void)parent, (void)flags, (void)user_data, (void)out;
        return -EOPNOTSUPP;
    }

    // Detaches dev from its domain (kernel: attach to the blocking domain). Sets dev.domain = nullptr.
    virtual void detach_dev(iommu_device& dev) = 0;
    // Blocks `pasid` of dev again (kernel blocked_domain->ops->set_dev_pasid): erases it from
    // dev.pasid_domains; DMA tagged with it faults afterwards.
    virtual void remove_dev_pasid(iommu_device& dev, uint32_t pasid) { dev.pasid_domains.erase(pasid); }

    // Does the driver take page requests (kernel: IOMMU_DEV_FEAT_IOPF enabled)?
    virtual bool supports_iopf(const iommu_device& dev) const {
        (void)dev;
        return false;
    }
    // Does the driver keep a user-managed PASID table (kernel ops->user_pasid_table)? Page
    // requests with a PASID then go to the nested domain attached to the device's RID.
    virtual bool user_pasid_table() const { return false; }
    // Does the driver implement vIOMMUs of `type` (kernel ops->get_viommu_size answering non-zero)?
    virtual bool supports_viommu(uint32_t type) const {
        (void)type;
        return false;
    }
    // A vIOMMU of `type` for dev over nest-parent domain `parent` (kernel ops->get_viommu_size and
    // ops->viommu_init): -EOPNOTSUPP for a type the driver does not implement. `user_data` is
    // non-null only when the caller passed driver data.
    virtual int viommu_alloc(iommu_device& dev, iommu_domain& parent, uint32_t type, const iommu_user_data* user_data,
                             std::unique_ptr<iommu_viommu>& out) {
        (void)dev, (void)parent, (void)type, (void)user_data, (void)out;
        return -EOPNOTSUPP;
    }
    // Answers a page request group of dev (kernel ops->page_response).
    virtual int page_response(iommu_device& dev, const page_request& request, const page_response& response) {
        (void)dev, (void)request, (void)response;
        return -EOPNOTSUPP;
    }
};

// The core's PASID attach calls (drivers/iommu/iommu.c), refusing in the kernel's order: no
// set_dev_pasid op -> -EOPNOTSUPP; another driver's domain or no_pasid -> -EINVAL; a PASID at or
// beyond the device's width (1 << max_pasid_log2; a device without PASIDs has width 0) ->
// -EINVAL. Attach: a PASID that already has a domain -> -EBUSY. Replace: a PASID without one ->
// -EINVAL; the same domain is a no-op. Then the driver's errno.
int attach_device_pasid(iommu_domain& domain, iommu_device& dev, uint32_t pasid);
int replace_device_pasid(iommu_domain& domain, iommu_device& dev, uint32_t pasid);
// Blocks the PASID again (nothing to do when it has no domain).
void detach_device_pasid(iommu_device& dev, uint32_t pasid);

}  // namespace iommusim::driver
