#include "driver/vtd_iommu.h"

#include <algorithm>
#include <cerrno>

#include "driver/log.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::driver {

namespace {

// GSTS bits that reflect persistent GCMD commands (§1.5); one-shot bits must not be echoed back.
constexpr uint32_t persistent_status = static_cast<uint32_t>(
    hw::gsts::tes::mask | hw::gsts::afls::mask | hw::gsts::qies::mask | hw::gsts::ires::mask | hw::gsts::cfis::mask);

// A probe refusal: logged, and returned to the caller as "VT-d: <reason>".
void fail(std::string* error, const char* reason) {
    klog::printk(klog::level::err, dmar_log, "%s", reason);
    if (error) {
        *error = std::string("VT-d: ") + reason;
    }
}

}  // namespace

vtd_iommu::vtd_iommu(hw_bus& bus, page_allocator& pages, const vtd_iommu_config& config)
    : m_bus(bus), m_pages(pages), m_config(config), m_qi(bus, config.qi) {}

unsigned vtd_iommu::ss_width() const {
    const unsigned width = hw::ss_width_from_aw(ss_aw());
    const unsigned mgaw = static_cast<unsigned>(hw::cap::mgaw::get(m_cap)) + 1;
    return std::min(width, mgaw);
}

bool vtd_iommu::nesting_supported() const {
    return hw::ecap::smts::get(m_ecap) && hw::ecap::nest::get(m_ecap);
}

bool vtd_iommu::ssads_supported() const {
    return hw::ecap::smts::get(m_ecap) && hw::ecap::ssads::get(m_ecap);
}

bool vtd_iommu::pasid_supported() const {
    return hw::ecap::smts::get(m_ecap) && hw::ecap::pasid::get(m_ecap);
}

unsigned vtd_iommu::pasid_width() const {
    return pasid_supported() ? static_cast<unsigned>(hw::ecap::pss::get(m_ecap)) + 1 : 0;
}

bool vtd_iommu::has_device_tlb() const {
    return hw::ecap::dt::get(m_ecap) != 0;
}

int vtd_iommu::check_capabilities(std::string* error) {
    m_ver = m_bus.mmio_read32(hw::reg::VER_OFFSET);
    m_cap = m_bus.mmio_read64(hw::reg::CAP_OFFSET);
    m_ecap = m_bus.mmio_read64(hw::reg::ECAP_OFFSET);
    if (hw::ver::max::get(m_ver) == 0) {
        fail(error, "VER_REG reads major version 0: no remapping hardware");
        return -ENODEV;
    }
    if (!hw::ecap::qi::get(m_ecap)) {
        fail(error, "queued invalidation (ECAP.QI) not supported");
        return -ENODEV;
    }
    if (!hw::ecap::smts::get(m_ecap)) {
        fail(error, "scalable-mode translation (ECAP.SMTS) not supported");
        return -ENODEV;
    }
    if (!hw::ecap::ssts::get(m_ecap)) {
        fail(error, "second-stage translation (ECAP.SSTS) not supported");
        return -ENODEV;
    }
    const uint64_t sagaw = hw::cap::sagaw::get(m_cap);
    // 4-level (48-bit) first, as Linux prefers; then 5-level, then 3-level.
    if (sagaw & (1u << 2)) {
        m_ss_levels = 4;
    } else if (sagaw & (1u << 3)) {
        m_ss_levels = 5;
    } else if (sagaw & (1u << 1)) {
        m_ss_levels = 3;
    } else {
        fail(error, "no supported second-stage address width (CAP.SAGAW)");
        return -ENODEV;
    }
    const unsigned nd = static_cast<unsigned>(hw::cap::nd::get(m_cap));
    if (nd > 6) {
        fail(error, "reserved number-of-domains encoding (CAP.ND)");
        return -ENODEV;
    }
    m_flush_caps = flush_caps::from_registers(m_cap, m_ecap);
    m_dids.assign(std::size_t{1} << (4 + 2 * nd), false);
    m_dids[0] = true;  // DID 0 is reserved
    m_dids_used = 0;
    return 0;
}

int vtd_iommu::probe(std::string* error) {
    if (m_probed) {
        return 0;
    }
    int rc = check_capabilities(error);
    if (rc) {
        return rc;
    }
    rc = bring_up();
    if (rc) {
        fail(error, rc == -ENOMEM ? "out of driver memory during bring-up"
                                  : "hardware did not acknowledge a global command (GSTS)");
        return rc;
    }
    m_probed = true;
    return 0;
}

int vtd_iommu::gcmd(uint32_t command_bit, bool set) {
    const uint32_t status = m_bus.mmio_read32(hw::reg::GSTS_OFFSET) & persistent_status;
    const bool one_shot = (command_bit & persistent_status) == 0;
    const uint32_t value = set ? (status | command_bit) : (status & ~command_bit);
    m_bus.mmio_write32(hw::reg::GCMD_OFFSET, value);
    // GCMD and GSTS use the same bit positions (TE/TES, SRTP/RTPS, QIE/QIES, ...).
    const uint64_t start = m_bus.now_ns();
    for (;;) {
        const uint32_t now = m_bus.mmio_read32(hw::reg::GSTS_OFFSET);
        const bool on = (now & command_bit) != 0;
        if (one_shot ? on : on == set) {
            return 0;
        }
        if (m_bus.now_ns() - start > m_config.gcmd_timeout_ns) {
            return -ETIMEDOUT;
        }
        m_bus.delay(m_config.qi.poll_ns);
    }
}

int vtd_iommu::bring_up() {
    // Queued invalidation first (Linux init_dmars), it carries the global flush after SRTP.
    const unsigned qs = m_config.qi_order > 7 ? 7 : m_config.qi_order;
    if (m_pages.alloc(m_ring, qs) || m_pages.alloc(m_status_page)) {
        return -ENOMEM;
    }
    m_bus.mmio_write64(hw::reg::IQT_OFFSET, 0);
    m_bus.mmio_write64(hw::reg::IQA_OFFSET,
                       hw::iqa::iqa::make(m_ring >> 12) | hw::iqa::dw::make(1) | hw::iqa::qs::make(qs));
    if (m_config.qi.use_interrupt) {
        m_bus.mmio_write32(hw::reg::IECTL_OFFSET, 0);  // unmask
    }
    if (int rc = gcmd(static_cast<uint32_t>(hw::gcmd::qie::mask), true)) {
        return rc;
    }
    m_qi.attach(m_ring, qs, m_status_page);
    // Page requests are answered through the queue, so the PRQ comes after it (Linux init_dmars).
    if (hw::ecap::prs::get(m_ecap)) {
        if (int rc = m_prq.enable()) {
            return rc;
        }
    }

    if (m_pages.alloc(m_root)) {
        return -ENOMEM;
    }
    m_bus.mmio_write64(hw::reg::RTADDR_OFFSET, hw::rtaddr::rta::make(m_root >> 12) | hw::rtaddr::ttm::make(1));
    if (int rc = gcmd(static_cast<uint32_t>(hw::gcmd::srtp::mask), true)) {
        return rc;
    }
    if (!hw::cap::esrtps::get(m_cap)) {
        const hw::inv_desc flush[] = {hw::make_cc_inv(hw::cc_desc::global), hw::make_pc_inv(hw::pc_desc::global),
                                      hw::make_iotlb_inv(hw::iotlb_desc::global)};
        if (int rc = m_qi.submit(flush)) {
            return rc;
        }
    }
    return gcmd(static_cast<uint32_t>(hw::gcmd::te::mask), true);
}

void vtd_iommu::set_completion_interrupt(bool on) {
    m_bus.mmio_write32(hw::reg::IECTL_OFFSET, on ? 0u : static_cast<uint32_t>(hw::iectl::im::mask));
    m_qi.set_use_interrupt(on);
}

int vtd_iommu::alloc_did(uint16_t& did) {
    const std::size_t n = m_dids.size();
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (m_did_hint + k) % n;
        if (m_dids[i]) {
            continue;
        }
        m_dids[i] = true;
        ++m_dids_used;
        m_did_hint = static_cast<unsigned>((i + 1) % n);
        did = static_cast<uint16_t>(i);
        return 0;
    }
    klog::printk(klog::level::warning, dmar_log, "no free domain id: all %zu that CAP.ND allows are in use (ENOSPC)",
                 n - 1);
    return -ENOSPC;
}

void vtd_iommu::free_did(uint16_t did) {
    if (did == 0 || did >= m_dids.size() || !m_dids[did]) {
        return;
    }
    m_dids[did] = false;
    --m_dids_used;
}

bool vtd_iommu::write_entry(uint64_t pa, const hw::pasid_entry::words& e) {
    // Everything but the present bit first, then word 0: hardware never sees a half-written entry
    // marked present.
    if (!m_bus.mem_write(pa + 8, &e[1], sizeof(uint64_t) * 7)) {
        return false;
    }
    return m_bus.write64(pa, e[0]);
}

int vtd_iommu::ensure_context(const iommu_device& dev, device_tables*& out) {
    const uint16_t rid = dev.rid;
    auto it = m_devices.find(rid);
    if (it != m_devices.end()) {
        out = &it->second;
        return 0;
    }
    const unsigned bus = hw::rid_bus(rid);
    const unsigned devfn = hw::rid_devfn(rid);
    const bool upper = devfn >= hw::context_entry::per_table;
    uint64_t& ctx_table = m_context_tables[bus * 2 + (upper ? 1 : 0)];
    if (ctx_table == 0) {
        uint64_t page = 0;
        if (m_pages.alloc(page)) {
            return -ENOMEM;
        }
        hw::root_entry::words re{};
        if (!m_bus.mem_read(m_root + bus * hw::root_entry::bytes, re.data(), sizeof re)) {
            return -EFAULT;
        }
        if (upper) {
            hw::root_entry::uctp::set(re, page >> 12);
            hw::root_entry::up::set(re, 1);
        } else {
            hw::root_entry::lctp::set(re, page >> 12);
            hw::root_entry::lp::set(re, 1);
        }
        if (!m_bus.mem_write(m_root + bus * hw::root_entry::bytes, re.data(), sizeof re)) {
            return -EFAULT;
        }
        ctx_table = page;
    }
    device_tables t;
    t.rid = rid;
    t.ats = dev.ats && has_device_tlb();
    t.pasid_capable = dev.pasid && pasid_supported();
    // Linux intel_iommu_probe_device: pri_supported needs ATS and ECAP.PRS (with the queue up).
    t.pri = t.ats && dev.pri && m_prq.enabled();
    // Linux intel_pasid_alloc_table sizes the directory for the device's PASIDs (8-byte entries,
    // 64 PASIDs each), at least one page. The directory starts at one page here and grows to that
    // size when a PASID beyond it is attached (grow_directory).
    const unsigned width = t.pasid_capable ? std::min<unsigned>(dev.max_pasid_log2, pasid_width()) : 0;
    const uint64_t dir_bytes = ((uint64_t{1} << width) / hw::pasid_entry::per_table) * hw::pasid_dir_entry::bytes;
    while ((hw::page_size_4k << t.full_dir_order) < dir_bytes) {
        ++t.full_dir_order;
    }
    if (m_pages.alloc(t.pasid_dir, t.dir_order)) {
        return -ENOMEM;
    }
    uint64_t table0 = 0;
    if (m_pages.alloc(table0)) {
        m_pages.free(t.pasid_dir, t.dir_order);
        return -ENOMEM;
    }
    // PASID 0 lives in directory entry 0.
    const uint64_t dir_entry = hw::pasid_dir_entry::p::make(1) | hw::pasid_dir_entry::smptblptr::make(table0 >> 12);
    if (!m_bus.write64(t.pasid_dir, dir_entry)) {
        return -EFAULT;
    }
    t.pasid_tables[0] = table0;

    hw::context_entry::words ce{};
    hw::context_entry::p::set(ce, 1);
    hw::context_entry::dte::set(ce, t.ats);
    // Requests with PASID only for PASID-capable devices (Linux context_entry_set_pasid_table).
    hw::context_entry::paside::set(ce, t.pasid_capable);
    // Page requests allowed (Linux context_entry_set_pasid_table: context_set_sm_pre).
    hw::context_entry::pre::set(ce, t.pri);
    // 2^(PDTS+7) directory entries: (pages << 12) / 8 of them.
    hw::context_entry::pdts::set(ce, t.dir_order + 2);
    hw::context_entry::pasiddirptr::set(ce, t.pasid_dir >> 12);
    hw::context_entry::rid_pasid::set(ce, no_pasid);
    const uint64_t ce_pa = ctx_table + (devfn % hw::context_entry::per_table) * hw::context_entry::bytes;
    if (!m_bus.mem_write(ce_pa + 8, &ce[1], sizeof(uint64_t) * 3) || !m_bus.write64(ce_pa, ce[0])) {
        return -EFAULT;
    }
    t.context_pa = ce_pa;
    if (hw::cap::cm::get(m_cap)) {
        // Caching mode: even not-present -> present changes are invalidated (§6.7).
        const hw::inv_desc flush = hw::make_cc_inv(hw::cc_desc::device, 0, rid, 0);
        m_qi.submit(flush);
    }
    out = &m_devices.emplace(rid, std::move(t)).first->second;
    return 0;
}

int vtd_iommu::setup_context(const iommu_device& dev) {
    device_tables* t = nullptr;
    return ensure_context(dev, t);
}

int vtd_iommu::pasid_entry_pa(device_tables& t, uint32_t pasid, bool allocate, uint64_t& pa) {
    // Linux intel_pasid_get_entry: beyond the directory there is no entry (-ENODEV); a missing
    // PASID table is allocated and linked on first use.
    if (pasid >= t.max_pasid() && allocate && pasid < t.max_pasid(t.full_dir_order)) {
        if (int rc = grow_directory(t)) {
            return rc;
        }
    }
    if (pasid >= t.max_pasid()) {
        return -ENODEV;
    }
    const uint32_t dir_index = pasid / hw::pasid_entry::per_table;
    auto it = t.pasid_tables.find(dir_index);
    if (it == t.pasid_tables.end()) {
        if (!allocate) {
            return -ENOENT;
        }
        uint64_t page = 0;
        if (m_pages.alloc(page)) {
            return -ENOMEM;
        }
        const uint64_t dir_entry = hw::pasid_dir_entry::p::make(1) | hw::pasid_dir_entry::smptblptr::make(page >> 12);
        if (!m_bus.write64(t.pasid_dir + uint64_t{dir_index} * hw::pasid_dir_entry::bytes, dir_entry)) {
            m_pages.free(page);
            return -EFAULT;
        }
        it = t.pasid_tables.emplace(dir_index, page).first;
    }
    pa = it->second + uint64_t{pasid % hw::pasid_entry::per_table} * hw::pasid_entry::bytes;
    return 0;
}

int vtd_iommu::grow_directory(device_tables& t) {
    uint64_t dir = 0;
    if (m_pages.alloc(dir, t.full_dir_order)) {
        return -ENOMEM;
    }
    for (const auto& [index, table] : t.pasid_tables) {
        const uint64_t entry = hw::pasid_dir_entry::p::make(1) | hw::pasid_dir_entry::smptblptr::make(table >> 12);
        if (!m_bus.write64(dir + uint64_t{index} * hw::pasid_dir_entry::bytes, entry)) {
            m_pages.free(dir, t.full_dir_order);
            return -EFAULT;
        }
    }
    // PASIDDIRPTR and PDTS share qword 0 with P: one store moves the device to the new directory,
    // whose entries name the same PASID tables, so only the cached context entry is stale.
    uint64_t w0 = 0;
    if (!m_bus.read64(t.context_pa, w0)) {
        m_pages.free(dir, t.full_dir_order);
        return -EFAULT;
    }
    w0 = hw::context_entry::pdts::set(w0, t.full_dir_order + 2);
    w0 = hw::context_entry::pasiddirptr::set(w0, dir >> 12);
    if (!m_bus.write64(t.context_pa, w0)) {
        m_pages.free(dir, t.full_dir_order);
        return -EFAULT;
    }
    const hw::inv_desc flush = hw::make_cc_inv(hw::cc_desc::device, 0, t.rid, 0);
    m_qi.submit(flush);
    m_pages.free(t.pasid_dir, t.dir_order);
    t.pasid_dir = dir;
    t.dir_order = t.full_dir_order;
    return 0;
}

void vtd_iommu::append_teardown_flush(std::vector<hw::inv_desc>& out, const attachment& old) const {
    append_pasid_teardown_flush(out, m_flush_caps, old.did, old.type, old.rid, old.ats, old.pasid);
}

int vtd_iommu::set_device_entry(uint16_t rid, bool ats, const hw::pasid_entry::words& entry, cache_tags& tags) {
    iommu_device dev;
    dev.rid = rid;
    dev.ats = ats;
    return set_device_entry(dev, no_pasid, entry, tags);
}

int vtd_iommu::set_device_entry(const iommu_device& dev, uint32_t pasid, const hw::pasid_entry::words& entry,
                                cache_tags& tags) {
    const uint16_t rid = dev.rid;
    if (!m_probed) {
        klog::printk(klog::level::err, dmar_log, "%s: attach refused: the remapping unit is not probed (ENODEV)",
                     pci_name_of(rid).text);
        return -ENODEV;
    }
    device_tables* t = nullptr;
    if (int rc = ensure_context(dev, t)) {
        klog::printk(klog::level::err, dmar_log, "%s: attach failed: %s while setting up its context and PASID tables",
                     pci_name_of(rid).text,
                     rc == -ENOMEM ? "out of driver memory (ENOMEM)" : "memory write failed (EFAULT)");
        return rc;
    }
    uint64_t pa = 0;
    if (int rc = pasid_entry_pa(*t, pasid, true, pa)) {
        klog::printk(klog::level::err, dmar_log, "%s: attach of PASID %u failed: %s", pci_name_of(rid).text, pasid,
                     rc == -ENODEV   ? "beyond its PASID directory (ENODEV)"
                     : rc == -ENOMEM ? "out of driver memory for its PASID table (ENOMEM)"
                                     : "memory write failed (EFAULT)");
        return rc;
    }
    auto old_it = t->attached.find(pasid);
    const bool was_present = old_it != t->attached.end();
    const attachment old = was_present ? old_it->second : attachment{};
    if (!write_entry(pa, entry)) {
        klog::printk(klog::level::err, dmar_log, "%s: attach failed: writing its PASID entry failed (EFAULT)",
                     pci_name_of(rid).text);
        return -EFAULT;
    }
    attachment& att = t->attached[pasid];
    att.rid = rid;
    att.pasid = pasid;
    att.ats = t->ats;
    att.tags = &tags;
    att.did = static_cast<uint16_t>(hw::pasid_entry::did::get(entry));
    att.type = static_cast<hw::pgtt>(hw::pasid_entry::pgtt::get(entry));
    if (was_present && old.tags) {
        old.tags->unassign_device(old.did, rid, old.ats, pasid);
    }
    tags.assign_device(att.did, rid, att.ats, pasid);

    std::vector<hw::inv_desc> flush;
    if (was_present) {
        append_teardown_flush(flush, old);
    } else {
        append_pasid_setup_flush(flush, m_flush_caps, att.did, pasid);
    }
    // Flush problems are not reported to the caller, as in Linux: the entry is in place.
    if (!flush.empty()) {
        m_qi.submit(flush);
    }
    if (was_present) {
        drain_page_requests(*t, old);
    }
    return 0;
}

void vtd_iommu::drain_page_requests(const device_tables& t, const attachment& old) {
    if (!t.pri) {
        return;  // Linux: !info->pri_enabled
    }
    const bool rid_pasid = old.pasid == no_pasid;
    const hw::inv_desc flush[] = {
        rid_pasid ? hw::make_iotlb_inv(hw::iotlb_desc::domain, old.did)
                  : hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, old.did, old.pasid),
        dev_tlb_inv_all(m_flush_caps, old.rid, old.pasid),
    };
    m_prq.drain(old.rid, old.pasid, flush, hw::ecap::pds::get(m_ecap) != 0);
}

int vtd_iommu::clear_device_entry(uint16_t rid, uint32_t pasid) {
    auto it = m_devices.find(rid);
    if (it == m_devices.end()) {
        return 0;
    }
    device_tables& t = it->second;
    auto at = t.attached.find(pasid);
    if (at == t.attached.end()) {
        return 0;
    }
    uint64_t pa = 0;
    if (int rc = pasid_entry_pa(t, pasid, false, pa)) {
        return rc;
    }
    uint64_t w0 = 0;
    if (!m_bus.read64(pa, w0)) {
        return -EFAULT;
    }
    // Clear P first, flush, then wipe the entry (Linux intel_pasid_tear_down_entry).
    if (!m_bus.write64(pa, hw::pasid_entry::p::set(w0, 0))) {
        return -EFAULT;
    }
    const attachment old = at->second;
    std::vector<hw::inv_desc> flush;
    append_teardown_flush(flush, old);
    m_qi.submit(flush);
    const hw::pasid_entry::words zero{};
    write_entry(pa, zero);
    if (old.tags) {
        old.tags->unassign_device(old.did, rid, old.ats, pasid);
    }
    t.attached.erase(at);
    drain_page_requests(t, old);
    return 0;
}

bool vtd_iommu::read_device_entry(uint16_t rid, hw::pasid_entry::words& entry) {
    return read_device_entry(rid, no_pasid, entry);
}

bool vtd_iommu::read_device_entry(uint16_t rid, uint32_t pasid, hw::pasid_entry::words& entry) {
    auto it = m_devices.find(rid);
    uint64_t pa = 0;
    if (it == m_devices.end() || pasid_entry_pa(it->second, pasid, false, pa) != 0) {
        return false;
    }
    return m_bus.mem_read(pa, entry.data(), sizeof entry);
}

const vtd_iommu::attachment* vtd_iommu::attachment_of(uint16_t rid, uint32_t pasid) const {
    auto it = m_devices.find(rid);
    if (it == m_devices.end()) {
        return nullptr;
    }
    auto at = it->second.attached.find(pasid);
    return at == it->second.attached.end() ? nullptr : &at->second;
}

void vtd_iommu::forget_tags(cache_tags& tags) {
    for (auto& [rid, t] : m_devices) {
        for (auto& [pasid, att] : t.attached) {
            if (att.tags == &tags) {
                tags.unassign_device(att.did, rid, att.ats, pasid);
                att.tags = nullptr;
            }
        }
    }
}

int vtd_iommu::set_entry_ssade(device_tables& t, const attachment& att, bool enable) {
    namespace pe = hw::pasid_entry;
    uint64_t pa = 0;
    if (int rc = pasid_entry_pa(t, att.pasid, false, pa)) {
        return rc;
    }
    uint64_t w0 = 0;
    if (!m_bus.read64(pa, w0)) {
        return -EFAULT;
    }
    const auto pgtt = static_cast<hw::pgtt>(pe::pgtt::get(w0));
    if (pgtt != hw::pgtt::second_stage && pgtt != hw::pgtt::nested) {
        klog::printk(klog::level::err, dmar_log, "%s: dirty tracking not supported on translation type %u (EOPNOTSUPP)",
                     pci_name_of(att.rid).text, static_cast<unsigned>(pgtt));
        return -EOPNOTSUPP;
    }
    if (pe::ssade::get(w0) == (enable ? 1u : 0u)) {
        return 0;
    }
    // SSADE (bit 9) and P share qword 0: one store changes the entry without a torn state.
    if (!m_bus.write64(pa, pe::ssade::set(w0, enable ? 1 : 0))) {
        return -EFAULT;
    }
    // The entry may be cached with the old SSADE, and IOTLB entries were filled under it: PASID
    // cache, domain IOTLB and, except in caching mode, the device TLB (Linux pasid.c).
    std::vector<hw::inv_desc> flush;
    append_pasid_teardown_flush(flush, m_flush_caps, att.did, pgtt, att.rid, att.ats && !m_flush_caps.caching_mode,
                                att.pasid);
    m_qi.submit(flush);
    return 0;
}

int vtd_iommu::set_dirty_tracking(const cache_tags& tags, bool enable) {
    for (auto& [rid, t] : m_devices) {
        for (auto& [pasid, att] : t.attached) {
            if (!att.tags || (att.tags != &tags && att.tags->parent() != &tags)) {
                continue;
            }
            if (int rc = set_entry_ssade(t, att, enable)) {
                return rc;
            }
        }
    }
    return 0;
}

}  // namespace iommusim::driver
