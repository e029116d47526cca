#include "driver/paging_domain.h"

#include <algorithm>
#include <cerrno>

#include "driver/log.h"
#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::driver {

namespace {

bool present(uint64_t e) {
    return hw::ss_pte::r::get(e) || hw::ss_pte::w::get(e);
}
uint64_t next_table(uint64_t e) {
    return hw::ss_pte::addr::get(e) << 12;
}

}  // namespace

paging_domain::paging_domain(vtd_iommu& iommu, iommu_ops* owner, bool nest_parent, bool dirty_ops)
    : iommu_domain(domain_type::paging, owner)
    , m_iommu(iommu)
    , m_nest_parent(nest_parent)
    , m_dirty_ops(dirty_ops)
    , m_levels(iommu.ss_levels()) {}

int paging_domain::create(vtd_iommu& iommu, iommu_ops* owner, bool nest_parent, std::unique_ptr<paging_domain>& out,
                          bool dirty_ops) {
    if (!iommu.probed()) {
        klog::printk(klog::level::err, dmar_log, "paging domain refused: the remapping unit is not probed (ENODEV)");
        return -ENODEV;
    }
    std::unique_ptr<paging_domain> d(new paging_domain(iommu, owner, nest_parent, dirty_ops));
    if (int rc = iommu.alloc_did(d->m_did)) {
        return rc;
    }
    if (iommu.pages().alloc(d->m_root)) {
        klog::printk(klog::level::err, dmar_log,
                     "paging domain failed: out of driver memory for its root table (ENOMEM)");
        return -ENOMEM;  // the destructor returns the DID
    }
    d->m_tables.push_back(d->m_root);
    out = std::move(d);
    return 0;
}

paging_domain::~paging_domain() {
    m_iommu.forget_tags(m_cache);
    for (auto& [iova, pin] : m_pins) {
        m_iommu.bus().unpin_user_memory(pin.first);
    }
    for (uint64_t t : m_tables) {
        m_iommu.pages().free(t);
    }
    if (m_did) {
        m_iommu.free_did(m_did);
    }
}

bool paging_domain::check_device(const iommu_device& dev, const char* what) const {
    if (dev.ops != owner()) {
        klog::printk(klog::level::info, dmar_log, "%s: %s refused: domain %u belongs to another IOMMU driver (EINVAL)",
                     pci_name_of(dev.rid).text, what, m_did);
        return false;
    }
    if (m_dirty_ops && !m_iommu.ssads_supported()) {
        // Linux paging_domain_compatible: SSADE needs ECAP.SSADS.
        klog::printk(klog::level::info, dmar_log,
                     "%s: %s refused: domain %u tracks dirty pages and the unit has no ECAP.SSADS (EINVAL)",
                     pci_name_of(dev.rid).text, what, m_did);
        return false;
    }
    return true;
}

hw::pasid_entry::words paging_domain::build_entry() const {
    // Linux intel_pasid_setup_second_level: the same entry for RID_PASID and any other PASID.
    hw::pasid_entry::words e{};
    hw::pasid_entry::aw::set(e, aw());
    hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::second_stage));
    hw::pasid_entry::ssptptr::set(e, m_root >> 12);
    hw::pasid_entry::did::set(e, m_did);
    hw::pasid_entry::pwsnp::set(e, hw::ecap::smpwcs::get(m_iommu.ecap()));
    hw::pasid_entry::ssade::set(e, m_dirty_tracking ? 1 : 0);
    hw::pasid_entry::p::set(e, 1);
    return e;
}

int paging_domain::attach_dev(iommu_device& dev) {
    if (!check_device(dev, "attach")) {
        return -EINVAL;
    }
    if (int rc = m_iommu.set_device_entry(dev, no_pasid, build_entry(), m_cache)) {
        return rc;
    }
    dev.domain = this;
    return 0;
}

int paging_domain::set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) {
    (void)old;  // the unit's entry knows what it replaces
    // Linux intel_iommu_set_dev_pasid, in its order.
    if (!m_iommu.pasid_supported()) {
        klog::printk(klog::level::info, dmar_log,
                     "%s: attach of PASID %u refused: the unit has no requests with PASID (ECAP.PASID) (EOPNOTSUPP)",
                     pci_name_of(dev.rid).text, pasid);
        return -EOPNOTSUPP;
    }
    if (m_dirty_ops) {
        klog::printk(klog::level::info, dmar_log,
                     "%s: attach of PASID %u refused: domain %u has dirty tracking, which PASIDs cannot use (EINVAL)",
                     pci_name_of(dev.rid).text, pasid, m_did);
        return -EINVAL;
    }
    if (!check_device(dev, "PASID attach")) {
        return -EINVAL;
    }
    if (int rc = m_iommu.set_device_entry(dev, pasid, build_entry(), m_cache)) {
        return rc;
    }
    dev.pasid_domains[pasid] = this;
    return 0;
}

int paging_domain::walk_alloc(uint64_t iova, unsigned level, uint64_t& entry_pa) {
    hw_bus& bus = m_iommu.bus();
    uint64_t table = m_root;
    for (unsigned l = m_levels; l > level; --l) {
        const uint64_t pa = table + hw::pt_index(iova, l) * 8;
        uint64_t e = 0;
        if (!bus.read64(pa, e)) {
            return -EFAULT;
        }
        if (!present(e)) {
            uint64_t page = 0;
            if (m_iommu.pages().alloc(page)) {
                return -ENOMEM;
            }
            m_tables.push_back(page);
            e = hw::ss_pte::r::make(1) | hw::ss_pte::w::make(1) | hw::ss_pte::addr::make(page >> 12);
            if (!bus.write64(pa, e)) {
                return -EFAULT;
            }
        } else if (hw::ss_pte::ps::get(e)) {
            return -EEXIST;  // a large page already covers iova
        }
        table = next_table(e);
    }
    entry_pa = table + hw::pt_index(iova, level) * 8;
    return 0;
}

int paging_domain::map_pa(uint64_t iova, uint64_t pa, uint64_t len, int prot) {
    const unsigned width = m_iommu.ss_width();
    const char* refusal = nullptr;
    if (len == 0 || ((iova | pa | len) & (hw::page_size_4k - 1))) {
        refusal = "IOVA, address and length must be 4 KiB aligned and the length non-zero";
    } else if (!(prot & (prot_read | prot_write)) || (prot & ~(prot_read | prot_write))) {
        refusal = "the permissions must be read, write or both";
    } else if (refuses_read_only(prot)) {
        refusal = "a nest parent cannot hold read-only mappings (ERRATA_772415_SPR17)";
    } else if (iova + len < iova || (width < 64 && iova + len > (uint64_t{1} << width))) {
        refusal = "the range ends beyond the domain's input address width";
    }
    if (refusal) {
        klog::printk(klog::level::info, dmar_log, "domain %u: map of 0x%llx+0x%llx refused: %s (EINVAL)", m_did,
                     static_cast<unsigned long long>(iova), static_cast<unsigned long long>(len), refusal);
        return -EINVAL;
    }
    const uint64_t sslps = hw::cap::sslps::get(m_iommu.cap());
    hw_bus& bus = m_iommu.bus();
    uint64_t done = 0;
    int rc = 0;
    while (done < len) {
        const uint64_t va = iova + done;
        const uint64_t phys = pa + done;
        unsigned level = 1;
        for (unsigned l : {3u, 2u}) {
            if (!(sslps & (1u << (l - 2)))) {
                continue;
            }
            const uint64_t size = hw::level_page_bytes(l);
            if (((va | phys) & (size - 1)) == 0 && len - done >= size) {
                level = l;
                break;
            }
        }
        uint64_t entry_pa = 0;
        if ((rc = walk_alloc(va, level, entry_pa)) != 0) {
            break;
        }
        uint64_t old = 0;
        if (!bus.read64(entry_pa, old)) {
            rc = -EFAULT;
            break;
        }
        if (present(old)) {
            klog::printk(klog::level::info, dmar_log, "domain %u: map refused: IOVA 0x%llx is already mapped (EEXIST)",
                         m_did, static_cast<unsigned long long>(va));
            rc = -EEXIST;
            break;
        }
        const uint64_t e = hw::ss_pte::r::make((prot & prot_read) ? 1 : 0) |
                           hw::ss_pte::w::make((prot & prot_write) ? 1 : 0) | hw::ss_pte::ps::make(level > 1) |
                           hw::ss_pte::addr::make(phys >> 12);
        if (!bus.write64(entry_pa, e)) {
            rc = -EFAULT;
            break;
        }
        done += hw::level_page_bytes(level);
    }
    if (rc) {
        if (done) {
            unmap_pa(iova, done);
        }
        return rc;
    }
    flush_range_np(iova, len);
    return 0;
}

int paging_domain::split_large(uint64_t entry_pa, uint64_t entry, unsigned level) {
    uint64_t page = 0;
    if (m_iommu.pages().alloc(page)) {
        return -ENOMEM;
    }
    m_tables.push_back(page);
    const uint64_t base = next_table(entry);
    const uint64_t step = hw::level_page_bytes(level - 1);
    // Rights and A/D stay: the smaller leaves were accessed and written as the large one was.
    const uint64_t keep = entry & (hw::ss_pte::r::mask | hw::ss_pte::w::mask | hw::ss_pte::x::mask |
                                   hw::ss_pte::a::mask | hw::ss_pte::d::mask);
    std::vector<uint64_t> sub(hw::pt_entries);
    for (unsigned i = 0; i < hw::pt_entries; ++i) {
        sub[i] = keep | hw::ss_pte::ps::make(level - 1 > 1) | hw::ss_pte::addr::make((base + i * step) >> 12);
    }
    hw_bus& bus = m_iommu.bus();
    if (!bus.mem_write(page, sub.data(), sub.size() * 8)) {
        return -EFAULT;
    }
    const uint64_t table = hw::ss_pte::r::make(1) | hw::ss_pte::w::make(1) | hw::ss_pte::addr::make(page >> 12);
    return bus.write64(entry_pa, table) ? 0 : -EFAULT;
}

template <typename Leaf>
int paging_domain::for_each_leaf(uint64_t iova, uint64_t len, Leaf&& leaf) {
    hw_bus& bus = m_iommu.bus();
    const uint64_t end = iova + len;
    uint64_t cur = iova;
    int rc = 0;
    while (cur < end && rc == 0) {
        uint64_t table = m_root;
        for (unsigned l = m_levels; l >= 1; --l) {
            const uint64_t size = hw::level_page_bytes(l);
            const uint64_t pa = table + hw::pt_index(cur, l) * 8;
            uint64_t e = 0;
            if (!bus.read64(pa, e)) {
                rc = -EFAULT;
                break;
            }
            const uint64_t block = cur & ~(size - 1);
            if (!present(e)) {
                cur = block + size;  // nothing mapped below this entry
                break;
            }
            if (l == 1 || hw::ss_pte::ps::get(e)) {
                if (block >= cur && block + size <= end) {
                    rc = leaf(pa, e, size);
                    cur = block + size;
                    break;
                }
                // Leaf only partly inside the range: turn it into a table of smaller pages, descend.
                if ((rc = split_large(pa, e, l)) != 0) {
                    break;
                }
                if (!bus.read64(pa, e)) {
                    rc = -EFAULT;
                }
            }
            table = next_table(e);
        }
        if (cur == 0) {
            break;  // wrapped at the top of the address space
        }
    }
    return rc;
}

int paging_domain::unmap_pa(uint64_t iova, uint64_t len, uint64_t* unmapped) {
    if (unmapped) {
        *unmapped = 0;
    }
    if (len == 0 || ((iova | len) & (hw::page_size_4k - 1)) || iova + len < iova) {
        return -EINVAL;
    }
    uint64_t cleared = 0;
    const int rc = for_each_leaf(iova, len, [&](uint64_t pa, uint64_t, uint64_t size) {
        cleared += size;
        return m_iommu.bus().write64(pa, 0) ? 0 : -EFAULT;
    });
    if (cleared) {
        flush_range(iova, len);
    }
    if (unmapped) {
        *unmapped = cleared;
    }
    return rc;
}

int paging_domain::set_prot(uint64_t iova, uint64_t len, int prot) {
    if (len == 0 || ((iova | len) & (hw::page_size_4k - 1)) || iova + len < iova) {
        return -EINVAL;
    }
    if (!(prot & (prot_read | prot_write)) || (prot & ~(prot_read | prot_write))) {
        return -EINVAL;
    }
    if (refuses_read_only(prot)) {
        return -EINVAL;
    }
    bool reduced = false;
    const int rc = for_each_leaf(iova, len, [&](uint64_t pa, uint64_t e, uint64_t) {
        const uint64_t r = (prot & prot_read) ? 1 : 0;
        const uint64_t w = (prot & prot_write) ? 1 : 0;
        if ((hw::ss_pte::r::get(e) && !r) || (hw::ss_pte::w::get(e) && !w)) {
            reduced = true;
        }
        const uint64_t n = hw::ss_pte::w::set(hw::ss_pte::r::set(e, r), w);
        return n == e || m_iommu.bus().write64(pa, n) ? 0 : -EFAULT;
    });
    // Cached translations may keep a right the tables no longer give (docs/vtd-facts.md §6.1); added
    // rights need no flush unless caching mode.
    if (reduced || hw::cap::cm::get(m_iommu.cap())) {
        flush_range(iova, len);
    }
    return rc;
}

int paging_domain::map(uint64_t iova, void* host, uint64_t len, int prot) {
    if (len == 0 || ((iova | len | reinterpret_cast<uintptr_t>(host)) & (hw::page_size_4k - 1))) {
        klog::printk(klog::level::info, dmar_log,
                     "domain %u: map of 0x%llx+0x%llx refused: IOVA, user address and length must be 4 KiB aligned and "
                     "the length non-zero (EINVAL)",
                     m_did, static_cast<unsigned long long>(iova), static_cast<unsigned long long>(len));
        return -EINVAL;
    }
    uint64_t pa = 0;
    if (!m_iommu.bus().pin_user_memory(host, len, pa)) {
        klog::printk(klog::level::info, dmar_log,
                     "domain %u: map of IOVA 0x%llx refused: the user memory cannot be pinned (EFAULT)", m_did,
                     static_cast<unsigned long long>(iova));
        return -EFAULT;
    }
    const int rc = map_pa(iova, pa, len, prot);
    if (rc) {
        m_iommu.bus().unpin_user_memory(pa);
        return rc;
    }
    m_pins[iova] = {pa, len};
    return 0;
}

int paging_domain::unmap(uint64_t iova, uint64_t len) {
    const int rc = unmap_pa(iova, len);
    // Unpin the user buffers that lie entirely inside the range (after the flush: no DMA can use them).
    for (auto it = m_pins.lower_bound(iova); it != m_pins.end() && it->first + it->second.second <= iova + len;) {
        m_iommu.bus().unpin_user_memory(it->second.first);
        it = m_pins.erase(it);
    }
    return rc;
}

bool paging_domain::lookup(uint64_t iova, uint64_t& pa, int& prot, uint64_t& page_bytes) {
    hw_bus& bus = m_iommu.bus();
    uint64_t table = m_root;
    for (unsigned l = m_levels; l >= 1; --l) {
        uint64_t e = 0;
        if (!bus.read64(table + hw::pt_index(iova, l) * 8, e) || !present(e)) {
            return false;
        }
        if (l == 1 || hw::ss_pte::ps::get(e)) {
            page_bytes = hw::level_page_bytes(l);
            pa = next_table(e) + (iova & (page_bytes - 1));
            prot = (hw::ss_pte::r::get(e) ? prot_read : 0) | (hw::ss_pte::w::get(e) ? prot_write : 0);
            return true;
        }
        table = next_table(e);
    }
    return false;
}

int paging_domain::flush_range(uint64_t iova, uint64_t len) {
    if (len == 0) {
        return 0;
    }
    std::vector<hw::inv_desc> batch;
    m_cache.flush_range(batch, m_iommu.flush_capabilities(), iova, range_last(iova, len), false);
    return batch.empty() ? 0 : m_iommu.qi().submit(batch);
}

int paging_domain::flush_range_np(uint64_t iova, uint64_t len) {
    std::vector<hw::inv_desc> batch;
    m_cache.flush_range_np(batch, m_iommu.flush_capabilities(), iova, range_last(iova, len));
    return batch.empty() ? 0 : m_iommu.qi().submit(batch);
}

int paging_domain::set_dirty_tracking(bool enabled) {
    if (!m_dirty_ops) {
        return -EOPNOTSUPP;
    }
    if (enabled == m_dirty_tracking) {
        return 0;
    }
    if (int rc = m_iommu.set_dirty_tracking(m_cache, enabled)) {
        m_iommu.set_dirty_tracking(m_cache, m_dirty_tracking);  // unwind, as Linux does
        return rc;
    }
    m_dirty_tracking = enabled;
    return 0;
}

int paging_domain::test_and_clear_dirty(uint64_t entry_pa, uint64_t e, bool no_clear, bool& was_dirty) {
    // The IOMMU only ever sets A and D in a leaf, so the exchange succeeds within a few attempts.
    constexpr unsigned max_attempts = 8;
    for (unsigned attempt = 0; attempt < max_attempts; ++attempt) {
        was_dirty = hw::ss_pte::d::get(e) != 0;
        if (!was_dirty || no_clear) {
            return 0;
        }
        uint64_t observed = 0;
        if (!m_iommu.bus().cmpxchg64(entry_pa, e, e & ~hw::ss_pte::d::mask, observed)) {
            return -EFAULT;
        }
        if (observed == e) {
            return 0;
        }
        e = observed;
    }
    return -EFAULT;
}

int paging_domain::read_and_clear_dirty(uint64_t iova, uint64_t size, unsigned long flags, dirty_bitmap_sink& dirty) {
    if (!m_dirty_ops) {
        return -EOPNOTSUPP;
    }
    if (!m_dirty_tracking && dirty.reports()) {
        return -EINVAL;  // only the core's clearing pass runs while tracking is off
    }
    const unsigned width = m_iommu.ss_width();
    const uint64_t input_last = width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    if (size == 0 || iova > input_last) {
        return 0;  // nothing can be mapped there
    }
    const uint64_t last = std::min(range_last(iova, size), input_last);
    const bool no_clear = (flags & dirty_no_clear) != 0;
    hw_bus& bus = m_iommu.bus();
    uint64_t cleared_first = ~uint64_t{0};
    uint64_t cleared_last = 0;
    int rc = 0;
    uint64_t cur = iova;
    for (;;) {
        uint64_t table = m_root;
        uint64_t block = cur;
        uint64_t bytes = hw::page_size_4k;
        for (unsigned l = m_levels; l >= 1; --l) {
            bytes = hw::level_page_bytes(l);
            block = cur & ~(bytes - 1);
            const uint64_t pa = table + hw::pt_index(cur, l) * 8;
            uint64_t e = 0;
            if (!bus.read64(pa, e)) {
                rc = -EFAULT;
                break;
            }
            if (!present(e)) {
                break;  // nothing mapped in this block
            }
            if (l == 1 || hw::ss_pte::ps::get(e)) {
                bool was_dirty = false;
                if ((rc = test_and_clear_dirty(pa, e, no_clear, was_dirty)) != 0) {
                    break;
                }
                if (was_dirty) {
                    dirty.record(block, bytes);
                    if (!no_clear) {
                        cleared_first = std::min(cleared_first, block);
                        cleared_last = std::max(cleared_last, block + (bytes - 1));
                    }
                }
                break;
            }
            table = next_table(e);
        }
        if (rc != 0 || block + (bytes - 1) >= last) {
            break;
        }
        cur = block + bytes;
    }
    // Cached translations may still say "dirty": a later write would hit them and leave D clear.
    if (cleared_first <= cleared_last) {
        std::vector<hw::inv_desc> batch;
        m_cache.flush_range(batch, m_iommu.flush_capabilities(), cleared_first, cleared_last, false);
        if (!batch.empty()) {
            m_iommu.qi().submit(batch);
        }
    }
    return rc;
}

}  // namespace iommusim::driver
