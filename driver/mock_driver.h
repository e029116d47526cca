// The iommufd selftest mock driver (kernel drivers/iommu/iommufd/selftest.c), docs/iommufd-facts.md §5.
//
// Models: mock paging domains (map/unmap recorded per IOVA, aperture MOCK_APERTURE_START..LAST,
// nest-parent flag), the mock nested domain with its u32 iotlb[4] and
// mock_domain_cache_invalidate_user (type -> per entry: exact size, flags, iotlb_id range, clear,
// entry_num write-back), the selftest hw_info type (0xfeedbeef, test_reg 0xdeadbeef) and
// dirty-tracking capability, and the MOCK_FLAGS_DEVICE_* creation flags of a mock device (NO_DIRTY:
// no dirty-tracking capability, no dirty-tracking domains, EINVAL attaching to one; HUGE_IOVA: its
// paging domains also take MOCK_HUGE_PAGE_SIZE pages; PASID: a MOCK_PASID_WIDTH-bit PASID space),
// PASID attach of both domain kinds (mock_domain_set_dev_pasid_nop, with its every-second-attach
// failure of PASID 1024) and IOMMU_HWPT_ALLOC_PASID, and
// I/O page faults: every mock device takes page requests (the mock's IOPF feature), the driver has a
// user-managed PASID table, and page_response records each answer on the device (the kernel's mock
// drops it).
// Dirty tracking as selftest.c's dirty ops: a dirty flag per MOCK_IO_PAGE_SIZE entry (kernel
// MOCK_PFN_DIRTY_IOVA), set by IOMMU_TEST_OP_DIRTY, reported per entry, or per MOCK_HUGE_PAGE_SIZE
// page where the domain mapped a huge page, by read_and_clear_dirty. A HUGE_IOVA domain picks its
// page sizes per map() call from the IOVA and host address alone: the core does not tell it that
// an IOAS disabled large pages (IOMMU_OPTION_HUGE_PAGES 0), where Linux maps PAGE_SIZE at a time.
// The selftest vIOMMU type (IOMMU_VIOMMU_TYPE_SELFTEST, kernel mock_viommu_*): nested domains
// over its nest parent as mock_domain_alloc_nested, and cache invalidation of
// IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST entries clearing cache[] entries of the mock device
// behind each entry's vdev_id.
// Does not model: access objects, the mock vIOMMU's user data and its mmap-able page (newest
// kernels: struct iommu_viommu_selftest; EOPNOTSUPP here), vIOMMU HW queues.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "driver/iommu_ops.h"

namespace iommusim::driver {

class mock_paging_domain;

// Mock I/O page sizes (kernel selftest.c MOCK_IO_PAGE_SIZE, MOCK_HUGE_PAGE_SIZE): half a CPU page,
// so the core's IOVA alignment differs from PAGE_SIZE.
inline constexpr uint64_t mock_io_page_size = 4096 / 2;
inline constexpr uint64_t mock_huge_page_size = 512 * mock_io_page_size;

// A mock device (kernel struct mock_dev) with its MOCK_FLAGS_DEVICE_* creation flags and its
// per-device cache (u32 cache[MOCK_DEV_CACHE_NUM], IOMMU_TEST_DEV_CACHE_DEFAULT at creation; a
// mock vIOMMU's cache invalidation clears its entries).
struct mock_device : iommu_device {
    static constexpr unsigned cache_num = 4;

    mock_device();

    uint32_t flags = 0;
    std::array<uint32_t, cache_num> cache{};
    // Every page response the device got, oldest first.
    std::vector<page_response> page_responses;
    bool pasid_1024_fake_error = false;  // the next attach of PASID 1024 fails (kernel selftest.c)
};

// The mock driver: one process-wide instance serves every mock device (it holds no state).
class mock_driver : public iommu_ops {
  public:
    static mock_driver& instance();

    int hw_info(iommu_device& dev, std::vector<uint8_t>& data, uint32_t& type, uint64_t& capabilities) override;
    int domain_alloc_paging_flags(iommu_device& dev, uint32_t flags, const iommu_user_data* user_data,
                                  std::unique_ptr<iommu_domain>& out) override;
    bool has_domain_alloc_nested() const override { return true; }
    int domain_alloc_nested(iommu_device& dev, iommu_domain& parent, uint32_t flags, const iommu_user_data& user_data,
                            std::unique_ptr<iommu_domain>& out) override;
    void detach_dev(iommu_device& dev) override;
    bool supports_viommu(uint32_t type) const override;
    int viommu_alloc(iommu_device& dev, iommu_domain& parent, uint32_t type, const iommu_user_data* user_data,
                     std::unique_ptr<iommu_viommu>& out) override;
    bool supports_iopf(const iommu_device& dev) const override;
    bool user_pasid_table() const override { return true; }
    int page_response(iommu_device& dev, const page_request& request, const struct page_response& response) override;
    void remove_dev_pasid(iommu_device& dev, uint32_t pasid) override;

    // A new mock device behind this driver (kernel mock_dev_create): -EINVAL for flags outside
    // MOCK_FLAGS_DEVICE_NO_DIRTY | HUGE_IOVA | PASID.
    int create_device(uint32_t dev_flags, std::unique_ptr<iommu_device>& out);
    std::unique_ptr<iommu_device> create_device();

  private:
    uint16_t m_next_rid = 0;
};

// Mock paging domain: records each mapped IOVA range.
class mock_paging_domain : public iommu_domain {
  public:
    mock_paging_domain(iommu_ops* owner, bool nest_parent, bool dirty_tracking, uint64_t pgsize_bitmap)
        : iommu_domain(domain_type::paging, owner)
        , m_nest_parent(nest_parent)
        , m_dirty_tracking(dirty_tracking)
        , m_pgsize_bitmap(pgsize_bitmap) {}

    bool is_nest_parent() const override { return m_nest_parent; }
    // Allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING (the kernel's domain->dirty_ops).
    bool dirty_tracking() const { return m_dirty_tracking; }
    bool has_dirty_ops() const override { return m_dirty_tracking; }
    // Kernel mock_domain_set_dirty_tracking: the MOCK_DIRTY_TRACK flag; enabling needs dirty ops (EINVAL).
    int set_dirty_tracking(bool enabled) override;
    bool dirty_tracking_enabled() const { return m_tracking_enabled; }
    // Kernel mock_domain_read_and_clear_dirty: EINVAL while tracking is off unless the sink only
    // clears; every mapped entry of [iova, iova + size) that is dirty is reported (a huge entry as
    // its whole MOCK_HUGE_PAGE_SIZE page, all of whose entries it tests and clears).
    int read_and_clear_dirty(uint64_t iova, uint64_t size, unsigned long flags, dirty_bitmap_sink& dirty) override;
    // IOMMU_TEST_OP_DIRTY: flags the MOCK_IO_PAGE_SIZE entry holding iova dirty; false if unmapped.
    bool mark_dirty(uint64_t iova);
    // The page sizes the domain maps with (kernel domain->pgsize_bitmap).
    uint64_t pgsize_bitmap() const { return m_pgsize_bitmap; }
    uint64_t aperture_start() const override;
    uint64_t aperture_last() const override;
    // Half a CPU page, as the kernel's mock (selftest.c MOCK_IO_PAGE_SIZE = PAGE_SIZE / 2).
    uint64_t min_page_size() const override { return 2048; }
    int attach_dev(iommu_device& dev) override;
    bool has_set_dev_pasid() const override { return true; }
    int set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) override;
    int map(uint64_t iova, void* host, uint64_t len, int prot) override;
    int unmap(uint64_t iova, uint64_t len) override;

    // Host address behind iova, or nullptr when unmapped.
    void* lookup(uint64_t iova) const;

  private:
    // One map() call. The IOMMU core maps with the largest page size of the domain that the
    // IOVA, the physical address (here the host address) and the remaining length allow (kernel
    // iommu_pgsize), so [huge_begin, huge_end) (offsets, possibly empty) holds the huge pages.
    struct mapping {
        uint64_t len;
        void* host;
        int prot;
        uint64_t huge_begin = 0;
        uint64_t huge_end = 0;
        std::vector<uint64_t> dirty;  // one bit per MOCK_IO_PAGE_SIZE entry
    };
    // Reports (and unless no_clear clears) the dirty entries of m from entry `first` up to `end`
    // (exclusive) mapped with MOCK_IO_PAGE_SIZE pages.
    static void report_small(uint64_t start, mapping& m, uint64_t first, uint64_t end, bool clear,
                             dirty_bitmap_sink& dirty);
    bool m_nest_parent;
    bool m_dirty_tracking;
    bool m_tracking_enabled = false;
    uint64_t m_pgsize_bitmap;
    std::map<uint64_t, mapping> m_map;  // by start IOVA
};

// Mock nested domain: the user-visible "IOTLB" is four u32 slots.
class mock_nested_domain : public iommu_domain {
  public:
    static constexpr unsigned iotlb_num = 4;

    mock_nested_domain(iommu_ops* owner, mock_paging_domain& parent, uint32_t iotlb);

    int attach_dev(iommu_device& dev) override;
    bool has_set_dev_pasid() const override { return true; }
    int set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) override;
    bool has_cache_invalidate_user() const override { return true; }
    int cache_invalidate_user(iommu_user_data_array& array) override;

    uint32_t iotlb(unsigned id) const { return m_iotlb.at(id); }
    mock_paging_domain& parent() const { return m_parent; }

  private:
    mock_paging_domain& m_parent;
    std::array<uint32_t, iotlb_num> m_iotlb{};
};

// The selftest vIOMMU (kernel struct mock_viommu) over a mock nest-parent domain.
class mock_viommu : public iommu_viommu {
  public:
    mock_viommu(iommu_ops* owner, mock_paging_domain& parent);

    bool has_alloc_domain_nested() const override { return true; }
    // Kernel mock_viommu_alloc_domain_nested: flags other than IOMMU_HWPT_ALLOC_PASID EOPNOTSUPP,
    // IOMMU_HWPT_DATA_SELFTEST data.
    int alloc_domain_nested(uint32_t flags, const iommu_user_data& user_data,
                            std::unique_ptr<iommu_domain>& out) override;
    bool has_cache_invalidate() const override { return true; }
    // Kernel mock_viommu_cache_invalidate: the whole array is read first (EFAULT, E2BIG, EINVAL
    // for a wrong type); then per entry unknown flags EOPNOTSUPP, a cache_id beyond
    // MOCK_DEV_CACHE_ID_MAX or a vdev_id without a vdevice EINVAL.
    int cache_invalidate(iommu_user_data_array& array) override;

  private:
    iommu_ops* m_owner;
    mock_paging_domain& m_s2_parent;
};

}  // namespace iommusim::driver
