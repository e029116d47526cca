#include "driver/mock_driver.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "driver/log.h"
#include "driver/uaccess.h"
#include "iommusim/iommufd.h"
#include "util/bit_range.h"

namespace iommusim::driver {

mock_driver& mock_driver::instance() {
    static mock_driver driver;
    return driver;
}

mock_device::mock_device() {
    cache.fill(IOMMU_TEST_DEV_CACHE_DEFAULT);
}

int mock_driver::create_device(uint32_t dev_flags, std::unique_ptr<iommu_device>& out) {
    constexpr uint32_t known = MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID;
    if ((dev_flags & ~known) != 0) {
        klog::printk(klog::level::info, mock_log, "mock device refused: unknown flags 0x%x (EINVAL)", dev_flags);
        return -EINVAL;
    }
    auto dev = std::make_unique<mock_device>();
    dev->rid = m_next_rid++;
    dev->ops = this;
    dev->flags = dev_flags;
    if ((dev_flags & MOCK_FLAGS_DEVICE_PASID) != 0) {
        dev->pasid = true;
        dev->max_pasid_log2 = MOCK_PASID_WIDTH;
    }
    out = std::move(dev);
    return 0;
}

std::unique_ptr<iommu_device> mock_driver::create_device() {
    std::unique_ptr<iommu_device> dev;
    create_device(0, dev);
    return dev;
}

namespace {

uint32_t mock_device_flags(const iommu_device& dev) {
    const auto* mock = dynamic_cast<const mock_device*>(&dev);
    return mock != nullptr ? mock->flags : 0;
}

}  // namespace

int mock_driver::hw_info(iommu_device& dev, std::vector<uint8_t>& data, uint32_t& type, uint64_t& capabilities) {
    iommu_test_hw_info info{};
    info.flags = 0;
    info.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
    data.resize(sizeof(info));
    std::memcpy(data.data(), &info, sizeof(info));
    type = IOMMU_HW_INFO_TYPE_SELFTEST;
    // Mock devices are dirty-tracking capable unless created with MOCK_FLAGS_DEVICE_NO_DIRTY.
    capabilities = (mock_device_flags(dev) & MOCK_FLAGS_DEVICE_NO_DIRTY) != 0 ? 0 : IOMMU_HW_CAP_DIRTY_TRACKING;
    return 0;
}

int mock_driver::domain_alloc_paging_flags(iommu_device& dev, uint32_t flags, const iommu_user_data* user_data,
                                           std::unique_ptr<iommu_domain>& out) {
    if ((flags & ~(alloc_flag_nest_parent | alloc_flag_dirty_tracking | alloc_flag_pasid)) != 0 ||
        user_data != nullptr) {
        klog::printk(klog::level::info, mock_log,
                     "paging domain refused: unknown flags 0x%x or driver data given (EOPNOTSUPP)", flags);
        return -EOPNOTSUPP;
    }
    const uint32_t dev_flags = mock_device_flags(dev);
    const bool dirty_tracking = (flags & alloc_flag_dirty_tracking) != 0;
    if (dirty_tracking && (dev_flags & MOCK_FLAGS_DEVICE_NO_DIRTY) != 0) {
        klog::printk(klog::level::info, mock_log,
                     "paging domain refused: dirty tracking asked of a MOCK_FLAGS_DEVICE_NO_DIRTY device (EOPNOTSUPP)");
        return -EOPNOTSUPP;
    }
    uint64_t pgsize_bitmap = mock_io_page_size;
    if ((dev_flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) != 0) {
        pgsize_bitmap |= mock_huge_page_size;
    }
    out = std::make_unique<mock_paging_domain>(this, (flags & alloc_flag_nest_parent) != 0, dirty_tracking,
                                               pgsize_bitmap);
    return 0;
}

namespace {

// Kernel __mock_domain_alloc_nested: the IOMMU_HWPT_DATA_SELFTEST data sets every iotlb entry.
int alloc_mock_nested(iommu_ops* owner, mock_paging_domain& parent, const iommu_user_data& user_data,
                      std::unique_ptr<iommu_domain>& out) {
    if (user_data.type != IOMMU_HWPT_DATA_SELFTEST) {
        klog::printk(klog::level::info, mock_log,
                     "nested domain refused: data type %u is not IOMMU_HWPT_DATA_SELFTEST (EOPNOTSUPP)",
                     user_data.type);
        return -EOPNOTSUPP;
    }
    iommu_hwpt_selftest data{};
    int rc = iommu_copy_struct_from_user(&data, sizeof(data), sizeof(data.iotlb), user_data, IOMMU_HWPT_DATA_SELFTEST);
    if (rc != 0) {
        klog::printk(klog::level::info, mock_log,
                     "nested domain refused: its data cannot be copied from user space (%s)", strerrorname_np(-rc));
        return rc;
    }
    out = std::make_unique<mock_nested_domain>(owner, parent, data.iotlb);
    return 0;
}

}  // namespace

int mock_driver::domain_alloc_nested(iommu_device& dev, iommu_domain& parent, uint32_t flags,
                                     const iommu_user_data& user_data, std::unique_ptr<iommu_domain>& out) {
    (void)dev;
    if ((flags & ~alloc_flag_pasid) != 0) {
        klog::printk(klog::level::info, mock_log, "nested domain refused: flags 0x%x are not supported (EOPNOTSUPP)",
                     flags);
        return -EOPNOTSUPP;
    }
    auto* mock_parent = dynamic_cast<mock_paging_domain*>(&parent);
    if (mock_parent == nullptr) {
        klog::printk(klog::level::info, mock_log,
                     "nested domain refused: the parent is not a mock paging domain (EINVAL)");
        return -EINVAL;
    }
    return alloc_mock_nested(this, *mock_parent, user_data, out);
}

// Kernel mock_get_viommu_size: only the selftest type.
bool mock_driver::supports_viommu(uint32_t type) const {
    return type == IOMMU_VIOMMU_TYPE_SELFTEST;
}

int mock_driver::viommu_alloc(iommu_device& dev, iommu_domain& parent, uint32_t type, const iommu_user_data* user_data,
                              std::unique_ptr<iommu_viommu>& out) {
    (void)dev;
    if (!supports_viommu(type)) {
        return -EOPNOTSUPP;
    }
    if (user_data != nullptr) {
        klog::printk(klog::level::info, mock_log,
                     "vIOMMU refused: the mock vIOMMU's user data is not modelled (EOPNOTSUPP)");
        return -EOPNOTSUPP;
    }
    auto* mock_parent = dynamic_cast<mock_paging_domain*>(&parent);
    if (mock_parent == nullptr) {
        klog::printk(klog::level::info, mock_log, "vIOMMU refused: the parent is not a mock paging domain (EINVAL)");
        return -EINVAL;
    }
    out = std::make_unique<mock_viommu>(this, *mock_parent);
    return 0;
}

void mock_driver::detach_dev(iommu_device& dev) {
    dev.domain = nullptr;
}

// Kernel mock_dev_enable_feat(IOMMU_DEV_FEAT_IOPF): every mock device joins the mock's iopf queue.
bool mock_driver::supports_iopf(const iommu_device& dev) const {
    return dynamic_cast<const mock_device*>(&dev) != nullptr;
}

int mock_driver::page_response(iommu_device& dev, const page_request& request, const struct page_response& response) {
    (void)request;
    if (auto* mock = dynamic_cast<mock_device*>(&dev)) {
        mock->page_responses.push_back(response);
    }
    return 0;
}

namespace {

// Kernel mock_domain_set_dev_pasid_nop: nothing to program. PASID 1024 fails every second attach
// with -ENOMEM (the flag is set by one attach, cleared by the next or by blocking), so the core's
// rollback can be exercised.
int mock_set_dev_pasid(iommu_domain& domain, iommu_device& dev, uint32_t pasid) {
    constexpr uint32_t fake_error_pasid = 1024;
    if (auto* mock = dynamic_cast<mock_device*>(&dev); mock != nullptr && pasid == fake_error_pasid) {
        mock->pasid_1024_fake_error = !mock->pasid_1024_fake_error;
        if (!mock->pasid_1024_fake_error) {
            klog::printk(klog::level::info, mock_log, "PASID %u attach fails as every second one does (ENOMEM)", pasid);
            return -ENOMEM;
        }
    }
    dev.pasid_domains[pasid] = &domain;
    return 0;
}

}  // namespace

void mock_driver::remove_dev_pasid(iommu_device& dev, uint32_t pasid) {
    if (auto* mock = dynamic_cast<mock_device*>(&dev); mock != nullptr && pasid == 1024) {
        mock->pasid_1024_fake_error = false;
    }
    dev.pasid_domains.erase(pasid);
}

int mock_paging_domain::set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) {
    (void)old;
    return mock_set_dev_pasid(*this, dev, pasid);
}

int mock_nested_domain::set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) {
    (void)old;
    return mock_set_dev_pasid(*this, dev, pasid);
}

uint64_t mock_paging_domain::aperture_start() const {
    return MOCK_APERTURE_START;
}
uint64_t mock_paging_domain::aperture_last() const {
    return MOCK_APERTURE_LAST;
}

int mock_paging_domain::attach_dev(iommu_device& dev) {
    if (m_dirty_tracking && (mock_device_flags(dev) & MOCK_FLAGS_DEVICE_NO_DIRTY) != 0) {
        klog::printk(klog::level::info, mock_log,
                     "attach refused: a MOCK_FLAGS_DEVICE_NO_DIRTY device on a dirty-tracking domain (EINVAL)");
        return -EINVAL;
    }
    dev.domain = this;
    return 0;
}

int mock_paging_domain::map(uint64_t iova, void* host, uint64_t len, int prot) {
    if (len == 0 || iova + len - 1 < iova) {
        return -EINVAL;
    }
    auto next = m_map.lower_bound(iova);
    if (next != m_map.end() && next->first <= iova + len - 1) {
        return -EEXIST;
    }
    if (next != m_map.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second.len > iova) {
            return -EEXIST;
        }
    }
    mapping m{len, host, prot, 0, 0, {}};
    m.dirty.assign((len + mock_io_page_size - 1) / mock_io_page_size / 64 + 1, 0);
    const uint64_t phys = reinterpret_cast<uintptr_t>(host);
    constexpr uint64_t huge_mask = mock_huge_page_size - 1;
    if ((m_pgsize_bitmap & mock_huge_page_size) != 0 && ((iova ^ phys) & huge_mask) == 0) {
        // Huge pages from the first huge-aligned IOVA up to the last whole huge page.
        const uint64_t begin = ((iova + huge_mask) & ~huge_mask) - iova;
        const uint64_t end = ((iova + len) & ~huge_mask) - iova;
        if (begin < end) {
            m.huge_begin = begin;
            m.huge_end = end;
        }
    }
    m_map.emplace(iova, std::move(m));
    return 0;
}

int mock_paging_domain::unmap(uint64_t iova, uint64_t len) {
    // The core only unmaps whole ranges it mapped before; anything else is a core bug.
    auto it = m_map.find(iova);
    if (it == m_map.end() || it->second.len != len) {
        return -ENOENT;
    }
    m_map.erase(it);
    return 0;
}

void* mock_paging_domain::lookup(uint64_t iova) const {
    auto it = m_map.upper_bound(iova);
    if (it == m_map.begin()) {
        return nullptr;
    }
    --it;
    if (iova - it->first >= it->second.len) {
        return nullptr;
    }
    return static_cast<char*>(it->second.host) + (iova - it->first);
}

int mock_paging_domain::set_dirty_tracking(bool enabled) {
    if (enabled && !m_dirty_tracking) {
        klog::printk(klog::level::info, mock_log,
                     "dirty tracking refused: the domain was allocated without dirty tracking (EINVAL)");
        return -EINVAL;
    }
    m_tracking_enabled = enabled;
    return 0;
}

void mock_paging_domain::report_small(uint64_t start, mapping& m, uint64_t first, uint64_t end, bool clear,
                                      dirty_bitmap_sink& dirty) {
    for_each_bit_word(first, end, [&](uint64_t word, uint64_t mask) {
        uint64_t bits = m.dirty[word] & mask;
        if (bits == 0) {
            return;
        }
        if (clear) {
            m.dirty[word] &= ~bits;
        }
        // One report per run of consecutive dirty entries: the same bits as one report each.
        while (bits != 0) {
            const int low = std::countr_zero(bits);
            const int run = std::countr_one(bits >> low);
            dirty.record(start + (word * 64 + static_cast<uint64_t>(low)) * mock_io_page_size,
                         static_cast<uint64_t>(run) * mock_io_page_size);
            bits &= run == 64 ? 0 : ~(((uint64_t{1} << run) - 1) << low);
        }
    });
}

int mock_paging_domain::read_and_clear_dirty(uint64_t iova, uint64_t size, unsigned long flags,
                                             dirty_bitmap_sink& dirty) {
    if (!m_tracking_enabled && dirty.reports()) {
        klog::printk(klog::level::info, mock_log, "dirty bitmap refused: dirty tracking is not enabled (EINVAL)");
        return -EINVAL;
    }
    if (size == 0) {
        return 0;
    }
    const uint64_t last = iova + std::min(size - 1, ~uint64_t{0} - iova);
    const bool clear = (flags & dirty_no_clear) == 0;
    constexpr uint64_t page = mock_io_page_size;
    constexpr uint64_t huge_entries = mock_huge_page_size / mock_io_page_size;
    auto it = m_map.upper_bound(iova);
    if (it != m_map.begin() && iova - std::prev(it)->first < std::prev(it)->second.len) {
        --it;
    }
    for (; it != m_map.end() && it->first <= last; ++it) {
        const uint64_t start = it->first;
        mapping& m = it->second;
        // Entries [first, end) of this mapping lie in the range.
        const uint64_t first = (std::max(iova, start) - start) / page;
        const uint64_t end = ((std::min(last, start + m.len - 1) - start) / page) + 1;
        const uint64_t huge_first = m.huge_begin / page;
        const uint64_t huge_end = m.huge_end / page;
        report_small(start, m, first, std::min(end, huge_first), clear, dirty);
        // A huge entry is tested and cleared as its whole page, from the page's head.
        const uint64_t from = std::max(first, huge_first);
        const uint64_t to = std::min(end, huge_end);
        for (uint64_t head = from - (from - huge_first) % huge_entries; from < to && head < to; head += huge_entries) {
            bool any = false;
            for_each_bit_word(head, head + huge_entries, [&](uint64_t word, uint64_t mask) {
                if ((m.dirty[word] & mask) != 0) {
                    any = true;
                    if (clear) {
                        m.dirty[word] &= ~mask;
                    }
                }
            });
            if (any) {
                dirty.record(start + head * page, mock_huge_page_size);
            }
        }
        report_small(start, m, std::max(first, huge_end), end, clear, dirty);
    }
    return 0;
}

bool mock_paging_domain::mark_dirty(uint64_t iova) {
    auto it = m_map.upper_bound(iova);
    if (it == m_map.begin()) {
        return false;
    }
    --it;
    if (iova - it->first >= it->second.len) {
        return false;
    }
    const uint64_t entry = (iova - it->first) / mock_io_page_size;
    it->second.dirty[entry / 64] |= uint64_t{1} << (entry % 64);
    return true;
}

mock_nested_domain::mock_nested_domain(iommu_ops* owner, mock_paging_domain& parent, uint32_t iotlb)
    : iommu_domain(domain_type::nested, owner), m_parent(parent) {
    m_iotlb.fill(iotlb);
}

int mock_nested_domain::attach_dev(iommu_device& dev) {
    dev.domain = this;
    return 0;
}

int mock_nested_domain::cache_invalidate_user(iommu_user_data_array& array) {
    uint32_t processed = 0;
    int rc = 0;
    if (array.type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
        klog::printk(klog::level::info, mock_log,
                     "invalidation refused: data type %u is not IOMMU_HWPT_INVALIDATE_DATA_SELFTEST (EINVAL)",
                     array.type);
        rc = -EINVAL;
    } else {
        const user_array_reader entries(array, sizeof(iommu_hwpt_invalidate_selftest),
                                        sizeof(iommu_hwpt_invalidate_selftest), IOMMU_HWPT_INVALIDATE_DATA_SELFTEST);
        for (uint32_t i = 0; i < array.entry_num; ++i) {
            iommu_hwpt_invalidate_selftest inv{};
            rc = entries.read(&inv, i);
            if (rc != 0) {
                klog::printk(klog::level::info, mock_log,
                             "invalidation entry %u refused: it cannot be copied from user space (%s)", i,
                             strerrorname_np(-rc));
                break;
            }
            if ((inv.flags & ~uint32_t{IOMMU_TEST_INVALIDATE_FLAG_ALL}) != 0) {
                klog::printk(klog::level::info, mock_log,
                             "invalidation entry %u refused: unknown flags 0x%x (EOPNOTSUPP)", i, inv.flags);
                rc = -EOPNOTSUPP;
                break;
            }
            if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
                klog::printk(
                    klog::level::info, mock_log,
                    "invalidation entry %u refused: iotlb_id %u is beyond MOCK_NESTED_DOMAIN_IOTLB_ID_MAX (EINVAL)", i,
                    inv.iotlb_id);
                rc = -EINVAL;
                break;
            }
            if ((inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) != 0) {
                m_iotlb.fill(0);
            } else {
                m_iotlb[inv.iotlb_id] = 0;
            }
            ++processed;
        }
    }
    array.entry_num = processed;
    return rc;
}

mock_viommu::mock_viommu(iommu_ops* owner, mock_paging_domain& parent)
    : iommu_viommu(parent), m_owner(owner), m_s2_parent(parent) {}

int mock_viommu::alloc_domain_nested(uint32_t flags, const iommu_user_data& user_data,
                                     std::unique_ptr<iommu_domain>& out) {
    // IOMMU_HWPT_ALLOC_PASID: the mock's nested domains may be attached to any PASID.
    if ((flags & ~uint32_t{IOMMU_HWPT_ALLOC_PASID}) != 0) {
        klog::printk(klog::level::info, mock_log,
                     "vIOMMU nested domain refused: flags 0x%x are not supported (EOPNOTSUPP)", flags);
        return -EOPNOTSUPP;
    }
    return alloc_mock_nested(m_owner, m_s2_parent, user_data, out);
}

int mock_viommu::cache_invalidate(iommu_user_data_array& array) {
    // A zero-length array of the right type only validates the type.
    if (array.entry_num == 0 && array.type == IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) {
        return 0;
    }
    if (array.type != IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) {
        klog::printk(klog::level::info, mock_log,
                     "vIOMMU invalidation refused: data type %u is not IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST (EINVAL)",
                     array.type);
        array.entry_num = 0;
        return -EINVAL;
    }
    // Kernel iommu_copy_struct_from_full_user_array: every entry is read before any is handled.
    std::vector<iommu_viommu_invalidate_selftest> cmds(array.entry_num);
    const user_array_reader entries(array, sizeof(iommu_viommu_invalidate_selftest),
                                    sizeof(iommu_viommu_invalidate_selftest), IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST);
    for (uint32_t i = 0; i < array.entry_num; ++i) {
        const int rc = entries.read(&cmds[i], i);
        if (rc != 0) {
            klog::printk(klog::level::info, mock_log,
                         "vIOMMU invalidation refused: entry %u cannot be copied from user space (%s)", i,
                         strerrorname_np(-rc));
            array.entry_num = 0;
            return rc;
        }
    }
    uint32_t processed = 0;
    int rc = 0;
    for (const iommu_viommu_invalidate_selftest& inv : cmds) {
        if ((inv.flags & ~uint32_t{IOMMU_TEST_INVALIDATE_FLAG_ALL}) != 0) {
            klog::printk(klog::level::info, mock_log,
                         "vIOMMU invalidation entry %u refused: unknown flags 0x%x (EOPNOTSUPP)", processed, inv.flags);
            rc = -EOPNOTSUPP;
            break;
        }
        if (inv.cache_id > MOCK_DEV_CACHE_ID_MAX) {
            klog::printk(klog::level::info, mock_log,
                         "vIOMMU invalidation entry %u refused: cache_id %u is beyond MOCK_DEV_CACHE_ID_MAX (EINVAL)",
                         processed, inv.cache_id);
            rc = -EINVAL;
            break;
        }
        auto* mdev = dynamic_cast<mock_device*>(find_device(inv.vdev_id));
        if (mdev == nullptr) {
            klog::printk(klog::level::info, mock_log,
                         "vIOMMU invalidation entry %u refused: no vdevice has virt_id %u (EINVAL)", processed,
                         inv.vdev_id);
            rc = -EINVAL;
            break;
        }
        if ((inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) != 0) {
            mdev->cache.fill(0);
        } else {
            mdev->cache[inv.cache_id] = 0;
        }
        ++processed;
    }
    array.entry_num = processed;
    return rc;
}

}  // namespace iommusim::driver
