#include "driver/nested_domain.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "driver/log.h"
#include "driver/paging_domain.h"
#include "driver/uaccess.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::driver {

nested_domain::nested_domain(vtd_iommu& iommu, iommu_ops* owner, paging_domain& parent, const iommu_hwpt_vtd_s1& s1)
    : iommu_domain(domain_type::nested, owner)
    , m_iommu(iommu)
    , m_parent(parent)
    , m_s1(s1)
    , m_cache(domain_stage::first, &parent.cache()) {}

int nested_domain::create(vtd_iommu& iommu, iommu_ops* owner, paging_domain& parent, const iommu_hwpt_vtd_s1& s1,
                          std::unique_ptr<nested_domain>& out) {
    std::unique_ptr<nested_domain> d(new nested_domain(iommu, owner, parent, s1));
    if (int rc = iommu.alloc_did(d->m_did)) {
        d->m_did = 0;
        return rc;
    }
    out = std::move(d);
    return 0;
}

nested_domain::~nested_domain() {
    m_iommu.forget_tags(m_cache);
    if (m_did) {
        m_iommu.free_did(m_did);
    }
}

int nested_domain::build_entry(hw::pasid_entry::words& e) const {
    const uint64_t cap = m_iommu.cap();
    const uint64_t ecap = m_iommu.ecap();
    const char* refusal = nullptr;
    if (m_s1.addr_width != 48 && m_s1.addr_width != 57) {
        refusal = "stage-1 addr_width must be 48 or 57";
    } else if (m_s1.addr_width == 57 && !hw::cap::fs5lp::get(cap)) {
        refusal = "a 57-bit stage 1 needs 5-level first-stage paging (CAP.FS5LP)";
    } else if ((m_s1.flags & IOMMU_VTD_S1_SRE) && !hw::ecap::srs::get(ecap)) {
        refusal = "IOMMU_VTD_S1_SRE needs supervisor requests (ECAP.SRS)";
    } else if ((m_s1.flags & IOMMU_VTD_S1_EAFE) && !hw::ecap::eafs::get(ecap)) {
        refusal = "IOMMU_VTD_S1_EAFE needs the extended accessed flag (ECAP.EAFS)";
    } else if (m_parent.has_dirty_ops() && !m_iommu.ssads_supported()) {
        refusal = "the parent tracks dirty pages and the unit has no ECAP.SSADS";  // Linux paging_domain_compatible
    }
    if (refusal) {
        klog::printk(klog::level::info, dmar_log, "nested domain %u: attach refused: %s (EINVAL)", m_did, refusal);
        return -EINVAL;
    }
    e = {};
    hw::pasid_entry::fsptptr::set(e, m_s1.pgtbl_addr >> 12);
    hw::pasid_entry::fspm::set(e, m_s1.addr_width == 57 ? 1 : 0);
    if (m_s1.flags & IOMMU_VTD_S1_SRE) {
        hw::pasid_entry::sre::set(e, 1);
        if (m_s1.flags & IOMMU_VTD_S1_WPE) {
            hw::pasid_entry::wpe::set(e, 1);  // WPE only with SRE
        }
    }
    if (m_s1.flags & IOMMU_VTD_S1_EAFE) {
        hw::pasid_entry::eafe::set(e, 1);
    }
    hw::pasid_entry::ssptptr::set(e, m_parent.root() >> 12);
    hw::pasid_entry::aw::set(e, m_parent.aw());
    hw::pasid_entry::did::set(e, m_did);
    hw::pasid_entry::pwsnp::set(e, hw::ecap::smpwcs::get(ecap));
    // The parent's dirty tracking covers the second-stage half of nested walks (Linux
    // intel_pasid_setup_nested).
    hw::pasid_entry::ssade::set(e, m_parent.dirty_tracking() ? 1 : 0);
    hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::nested));
    hw::pasid_entry::p::set(e, 1);
    return 0;
}

int nested_domain::attach_dev(iommu_device& dev) {
    if (dev.ops != owner()) {
        klog::printk(klog::level::info, dmar_log,
                     "%s: attach refused: nested domain %u belongs to another IOMMU driver (EINVAL)",
                     pci_name_of(dev.rid).text, m_did);
        return -EINVAL;
    }
    hw::pasid_entry::words e{};
    if (int rc = build_entry(e)) {
        return rc;
    }
    if (int rc = m_iommu.set_device_entry(dev, no_pasid, e, m_cache)) {
        return rc;
    }
    dev.domain = this;
    return 0;
}

int nested_domain::set_dev_pasid(iommu_device& dev, uint32_t pasid, iommu_domain* old) {
    (void)old;  // the unit's entry knows what it replaces
    // Linux intel_nested_set_dev_pasid: the unit must take requests with PASID, then the attach
    // checks and the nested entry (intel_pasid_setup_nested) under `pasid`.
    if (!m_iommu.pasid_supported()) {
        klog::printk(klog::level::info, dmar_log,
                     "%s: attach of PASID %u refused: the unit has no requests with PASID (ECAP.PASID) (EOPNOTSUPP)",
                     pci_name_of(dev.rid).text, pasid);
        return -EOPNOTSUPP;
    }
    if (dev.ops != owner()) {
        klog::printk(klog::level::info, dmar_log,
                     "%s: PASID attach refused: nested domain %u belongs to another IOMMU driver (EINVAL)",
                     pci_name_of(dev.rid).text, m_did);
        return -EINVAL;
    }
    hw::pasid_entry::words e{};
    if (int rc = build_entry(e)) {
        return rc;
    }
    if (int rc = m_iommu.set_device_entry(dev, pasid, e, m_cache)) {
        return rc;
    }
    dev.pasid_domains[pasid] = this;
    return 0;
}

int nested_domain::cache_invalidate_user(iommu_user_data_array& array) {
    if (array.type != IOMMU_HWPT_INVALIDATE_DATA_VTD_S1) {
        klog::printk(
            klog::level::info, dmar_log,
            "nested domain %u: invalidation refused: data type %u is not IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 (EINVAL)",
            m_did, array.type);
        array.entry_num = 0;
        return -EINVAL;
    }
    std::vector<hw::inv_desc>& batch = m_batch;
    batch.clear();
    // entry_num is user input: the reservation is capped as the bulk copy is.
    batch.reserve(std::min(array.entry_num, user_array_reader::bulk_limit) * m_cache.tags().size());
    uint32_t done = 0;
    int rc = 0;
    const user_array_reader entries(array, sizeof(iommu_hwpt_vtd_s1_invalidate), sizeof(iommu_hwpt_vtd_s1_invalidate),
                                    IOMMU_HWPT_INVALIDATE_DATA_VTD_S1);
    for (uint32_t index = 0; index < array.entry_num; ++index) {
        iommu_hwpt_vtd_s1_invalidate inv{};
        rc = entries.read(&inv, index);
        if (rc) {
            klog::printk(klog::level::info, dmar_log,
                         "nested domain %u: invalidation entry %u refused: it cannot be copied from user space (%s)",
                         m_did, index, strerrorname_np(-rc));
            break;
        }
        if ((inv.flags & ~static_cast<uint32_t>(IOMMU_VTD_INV_FLAGS_LEAF)) || inv.__reserved) {
            klog::printk(
                klog::level::info, dmar_log,
                "nested domain %u: invalidation entry %u refused: unknown flags 0x%x or non-zero reserved field "
                "(EOPNOTSUPP)",
                m_did, index, inv.flags);
            rc = -EOPNOTSUPP;
            break;
        }
        if ((inv.addr & (hw::page_size_4k - 1)) || (inv.npages == ~uint64_t{0} && inv.addr != 0)) {
            klog::printk(klog::level::info, dmar_log,
                         "nested domain %u: invalidation entry %u refused: addr 0x%llx is not 4 KiB aligned, or npages "
                         "names everything with a non-zero addr (EINVAL)",
                         m_did, index, static_cast<unsigned long long>(inv.addr));
            rc = -EINVAL;
            break;
        }
        // npages == 0 names no page: handled, nothing to invalidate. Without an attached device
        // there are no tags: nothing can be cached under this DID either.
        if (inv.npages != 0) {
            m_cache.flush_range(batch, m_iommu.flush_capabilities(), inv.addr,
                                range_last_of_pages(inv.addr, inv.npages), (inv.flags & IOMMU_VTD_INV_FLAGS_LEAF) != 0);
        }
        ++done;
    }
    // The entries handled before a bad one are flushed too, with one wait for all of them. Flush
    // problems are not reported, as in Linux.
    if (!batch.empty()) {
        m_iommu.qi().submit(batch);
    }
    array.entry_num = done;
    return rc;
}

}  // namespace iommusim::driver
