#include "tlm/translator.h"

#include <stdexcept>

namespace iommusim {

using hw::fault_reason;

namespace {

const iommu_config& validated(const iommu_config& c) {
    const std::string err = c.validate();
    if (!err.empty()) {
        throw std::invalid_argument("iommu_config: " + err);
    }
    return c;
}

}  // namespace

translator::translator(const iommu_config& config, phys_mem_if& mem, iotlb_if& tlb)
    : m_config(validated(config))
    , m_mem(mem)
    , m_tlb(tlb)
    , m_context_cache(m_config.context_cache_entries)
    , m_pasid_cache(m_config.pasid_cache_entries)
    , m_psc(m_config.fs_psc_entries, m_config.ss_psc_entries)
    , m_walker(m_config, mem, &m_psc) {}

void translator::set_root(uint64_t rtaddr_value) {
    m_rtaddr = rtaddr_value;
    m_root_latched = true;
    m_root_fault[0] = m_walker.check_root(rtaddr_value, true, false);
    m_root_fault[1] = m_walker.check_root(rtaddr_value, true, true);
    if (m_config.esrtps) {
        invalidate({.kind = scope_kind::context_all});
        invalidate({.kind = scope_kind::pasid_cache_all});
        invalidate({.kind = scope_kind::iotlb_all});
    }
}

void translator::set_fault(translation_result& r, fault_reason f, bool fpd) {
    r.fault = f;
    r.suppressed = fpd && hw::fault_is_qualified(f);
    r.out_addr = 0;
    r.page_bytes = 0;
    r.can_read = r.can_write = false;
    ++m_stats.faults;
    ++m_stats.faults_by_reason[static_cast<uint8_t>(f)];
    if (r.suppressed) {
        ++m_stats.faults_suppressed;
    }
}

translation_result translator::translate(const translation_request& req) {
    ++m_stats.translations;
    translation_result r;
    const fault_reason rf = m_root_fault[req.has_pasid ? 1 : 0];
    if (rf != fault_reason::none) {
        set_fault(r, rf, false);
        return r;
    }

    // Context entry.
    const context_info* ctx = m_context_cache.lookup(req.rid);
    context_info ctx_walked;
    if (ctx) {
        ++m_stats.context_hits;
    } else {
        ++m_stats.context_misses;
        bool fpd = false;
        const fault_reason f = m_walker.read_context(m_rtaddr, req.rid, ctx_walked, fpd, r.walk_accesses);
        if (f != fault_reason::none) {
            set_fault(r, f, fpd);
            return r;
        }
        m_context_cache.fill(req.rid, ctx_walked);
        ctx = &ctx_walked;
    }
    const bool ctx_fpd = ctx->fpd;
    uint32_t pasid = 0;
    access_type access;
    if (const fault_reason f = m_walker.setup_request(*ctx, req, pasid, access); f != fault_reason::none) {
        set_fault(r, f, ctx_fpd);
        return r;
    }
    r.pasid = pasid;

    // PASID entry.
    const pasid_info* pi = m_pasid_cache.lookup(req.rid, pasid);
    pasid_info pi_walked;
    if (pi) {
        ++m_stats.pasid_hits;
    } else {
        ++m_stats.pasid_misses;
        bool fpd = ctx_fpd;
        const fault_reason f = m_walker.read_pasid(*ctx, pasid, pi_walked, fpd, r.walk_accesses);
        if (f != fault_reason::none) {
            set_fault(r, f, fpd);
            return r;
        }
        m_pasid_cache.fill(req.rid, pi_walked);
        pi = &pi_walked;
    }
    const pasid_info& p = *pi;
    const bool fpd = ctx_fpd || p.fpd;
    r.did = p.did;
    r.kind = p.kind;
    if (const fault_reason f = m_walker.check_pasid_request(p, access); f != fault_reason::none) {
        set_fault(r, f, fpd);
        return r;
    }
    if (const fault_reason f = m_walker.check_input(p, req.addr); f != fault_reason::none) {
        set_fault(r, f, fpd);
        return r;
    }

    // IOTLB.
    const uint64_t vpn = page_walker::input_vpn(req.addr);
    if (m_lookup_observer) {
        m_lookup_observer();
    }
    if (auto hit = m_tlb.lookup(p.did, pasid, p.kind, vpn)) {
        const uint8_t pm = hit->payload.perm;
        const bool rights_ok = page_walker::check_rights(p, pm, access) == fault_reason::none;
        if (rights_ok && (!access.write || (pm & iotlb_perm::dirty))) {
            ++m_stats.iotlb_hits;
            const uint64_t bytes = uint64_t{1} << page_level_shift(hit->tag.level);
            r.iotlb_hit = true;
            r.page_bytes = bytes;
            r.out_addr = (hit->payload.out_pfn << 12) | (req.addr & (bytes - 1));
            r.can_read = page_walker::check_rights(p, pm, access_type{false, false, access.priv}) == fault_reason::none;
            r.can_write = (pm & iotlb_perm::dirty) &&
                          page_walker::check_rights(p, pm, access_type{true, false, access.priv}) == fault_reason::none;
            if (m_config.stale_check) {
                stale_check(req, p, access, *hit, r);
            }
            return r;
        }
        ++m_stats.dirty_rewalks;
    } else {
        ++m_stats.iotlb_misses;
    }

    // Walk (on a miss, a write hit without D, or a hit lacking the right: the tables decide).
    const pasid_info& pw = p;
    ++m_stats.walks;
    walk_result w = m_walker.walk(pw, req.addr, access, true);
    if (req.ats_translation && hw::fault_is_recoverable(w.fault) && access.write) {
        // An ATS translation reports what is granted: retry as a read.
        access_type ro = access;
        ro.write = false;
        const unsigned before = w.accesses;
        w = m_walker.walk(pw, req.addr, ro, true);
        w.accesses += before;
    }
    r.walk_accesses += w.accesses;
    m_stats.walk_accesses += w.accesses;
    if (w.fault != fault_reason::none) {
        if (req.ats_translation && hw::fault_is_recoverable(w.fault)) {
            r.page_bytes = hw::page_size_4k;  // granted nothing (R=W=0), not a fault
            ++m_stats.ats_no_rights;
            return r;
        }
        set_fault(r, w.fault, fpd);
        return r;
    }
    const uint64_t bytes = uint64_t{1} << page_level_shift(w.level);
    iotlb_entry e;
    e.tag = iotlb_tag{p.did, pasid, p.kind, w.level, vpn & ~(page_level_pages(w.level) - 1)};
    e.payload = iotlb_payload{(w.out_addr & ~(bytes - 1)) >> 12, w.perm};
    const iotlb_fill_result fr = m_tlb.fill(e);
    ++m_stats.iotlb_fills;
    if (fr.evicted) {
        ++m_stats.iotlb_evictions;
    }
    r.out_addr = w.out_addr;
    r.page_bytes = bytes;
    r.can_read = page_walker::check_rights(pw, w.perm, access_type{false, false, access.priv}) == fault_reason::none;
    r.can_write = (w.perm & iotlb_perm::dirty) &&
                  page_walker::check_rights(pw, w.perm, access_type{true, false, access.priv}) == fault_reason::none;
    return r;
}

void translator::stale_check(const translation_request& req, const pasid_info& p, const access_type& access,
                             const iotlb_entry& cached, translation_result& r) {
    ++m_stats.stale_checks;
    struct unobserved {  // the checker's reads are no hardware accesses (waves)
        page_walker& w;
        explicit unobserved(page_walker& walker) : w(walker) { w.pause_read_observer(true); }
        ~unobserved() { w.pause_read_observer(false); }
    } quiet(m_walker);
    // Re-resolve everything from memory, without side effects: a stale context or PASID entry is
    // as much a missing invalidation as a stale leaf.
    stale_report rep;
    rep.rid = req.rid;
    rep.has_pasid = req.has_pasid;
    rep.pasid = p.pasid;
    rep.addr = req.addr;
    rep.write = req.write;
    rep.did = p.did;
    rep.kind = p.kind;
    rep.cached_out = r.out_addr;
    rep.cached_perm = cached.payload.perm;
    unsigned accesses = 0;
    context_info ctx;
    bool fpd = false;
    fault_reason f = m_walker.read_context(m_rtaddr, req.rid, ctx, fpd, accesses);
    uint32_t pasid = 0;
    access_type acc;
    pasid_info cur;
    if (f == fault_reason::none) {
        f = m_walker.setup_request(ctx, req, pasid, acc);
    }
    if (f == fault_reason::none) {
        f = m_walker.read_pasid(ctx, pasid, cur, fpd, accesses);
    }
    if (f == fault_reason::none && (cur.did != p.did || cur.kind != p.kind)) {
        f = fault_reason::pte_invalid;
    }
    if (f == fault_reason::none) {
        f = m_walker.check_pasid_request(cur, acc);
    }
    if (f == fault_reason::none) {
        f = m_walker.check_input(cur, req.addr);
    }
    walk_result w;
    if (f == fault_reason::none) {
        w = m_walker.walk(cur, req.addr, access, false);
        f = w.fault;
    }
    bool stale = f != fault_reason::none;
    if (!stale) {
        stale = w.out_addr != r.out_addr;
        const uint8_t cp = cached.payload.perm;
        for (bool wr : {false, true}) {
            const access_type a{wr, false, access.priv};
            const bool was = page_walker::check_rights(p, cp, a) == fault_reason::none;
            const bool now = page_walker::check_rights(cur, w.perm, a) == fault_reason::none;
            if (was && !now) {
                stale = true;
            }
        }
    }
    if (!stale) {
        return;
    }
    ++m_stats.stale_hits;
    r.stale = true;
    rep.current_fault = f;
    rep.current_out = w.out_addr;
    rep.current_perm = w.perm;
    if (m_stale.size() < m_config.stale_report_limit) {
        m_stale.push_back(rep);
    }
}

void translator::on_invalidate(std::function<void(const invalidation_scope&)> observer) {
    m_observers.push_back(std::move(observer));
}

unsigned translator::invalidate(const invalidation_scope& s) {
    unsigned n = 0;
    const page_range& r = s.range;
    switch (s.kind) {
        case scope_kind::context_all:
            n = m_context_cache.invalidate_all();
            break;
        case scope_kind::context_device:
            n = m_context_cache.invalidate_device(s.sid, s.fm & 3);
            break;
        case scope_kind::pasid_cache_all:
            n = m_pasid_cache.invalidate_all();
            break;
        case scope_kind::pasid_cache_domain:
            n = m_pasid_cache.invalidate_domain(s.did);
            break;
        case scope_kind::pasid_cache_pasid:
            n = m_pasid_cache.invalidate_pasid(s.did, s.pasid);
            break;
        case scope_kind::iotlb_all:
            n = m_tlb.invalidate_all() + m_psc.invalidate_all();
            break;
        case scope_kind::iotlb_domain:
            n = m_tlb.invalidate_domain(s.did) + m_psc.invalidate_domain(s.did);
            break;
        case scope_kind::iotlb_domain_range:
            n = m_tlb.invalidate_domain_range(s.did, r.vpn(), r.am()) +
                m_psc.invalidate_domain_range(s.did, r.vpn(), r.am(), s.ih);
            break;
        case scope_kind::iotlb_pasid:
            n = m_tlb.invalidate_pasid(s.did, s.pasid) + m_psc.invalidate_pasid(s.did, s.pasid);
            break;
        case scope_kind::iotlb_pasid_range:
            n = m_tlb.invalidate_pasid_range(s.did, s.pasid, r.vpn(), r.am()) +
                m_psc.invalidate_pasid_range(s.did, s.pasid, r.vpn(), r.am(), s.ih);
            break;
        case scope_kind::none:
        case scope_kind::devtlb:
        case scope_kind::devtlb_pasid:
        case scope_kind::iec_all:
        case scope_kind::iec_index:
        case scope_kind::wait:
            return 0;  // the queue engine handles these; no translation cache holds them
    }
    ++m_stats.invalidations;
    m_stats.invalidated_entries += n;
    for (const auto& fn : m_observers) {
        fn(s);
    }
    return n;
}

translation_stats translator::stats() const {
    translation_stats s = m_stats;
    s.fs_psc_hits = m_walker.fs_psc_hits;
    s.fs_psc_misses = m_walker.fs_psc_misses;
    s.ss_psc_hits = m_walker.ss_psc_hits;
    s.ss_psc_misses = m_walker.ss_psc_misses;
    return s;
}

void translator::reset_stats() {
    m_stats = translation_stats{};
    m_walker.fs_psc_hits = m_walker.fs_psc_misses = m_walker.ss_psc_hits = m_walker.ss_psc_misses = 0;
}

}  // namespace iommusim
