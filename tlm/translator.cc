#include "tlm/translator.h"

#include <stdexcept>
#include <tuple>

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
    , m_cpp_tlb(dynamic_cast<iotlb*>(&tlb))
    , m_context_cache(m_config.context_cache_entries)
    , m_pasid_cache(m_config.pasid_cache_entries)
    , m_psc(m_config.fs_psc_entries, m_config.ss_psc_entries)
    , m_not_present(m_config.not_present_cache_entries)
    , m_walker(m_config, mem, &m_psc) {
    set_stale_check(m_config.stale_check);
}

void translator::set_stale_check(bool on) {
    m_config.stale_check = on;
    if (on) {
        m_checked.fill(checked_source{});  // the checker records the entries each translation uses
    }
    m_walker.set_psc_use_log(on ? &m_used.psc : nullptr);
    update_repeat_ok();
}

void translator::update_repeat_ok() {
    m_repeat_ok = !m_config.stale_check && m_cpp_tlb && !m_lookup_observer;
    if (!m_repeat_ok) {
        for (checked_source& c : m_checked) {
            c.repeat_changes = checked_source::no_changes;
        }
    }
}

translator::hit_rights translator::rights_of(const pasid_info& p, uint8_t pm, const access_type& access) {
    const uint8_t read_needs = page_walker::rights_needed(p, false, access.priv);
    const uint8_t write_needs = page_walker::rights_needed(p, true, access.priv);
    const bool read_ok = (pm & read_needs) == read_needs;
    const bool write_ok = (pm & write_needs) == write_needs;
    // Without exec the access is the read or the write checked above.
    const bool rights_ok = access.exec    ? page_walker::check_rights(p, pm, access) == fault_reason::none
                           : access.write ? write_ok
                                          : read_ok;
    const bool dirty = pm & iotlb_perm::dirty;
    return hit_rights{rights_ok && (!access.write || dirty), read_ok, dirty && write_ok};
}

inline void translator::translate_checked(const translation_request& req, const pasid_info& p, const uint32_t& pasid,
                                          const access_type& access, const bool& fpd, checked_source* source,
                                          translation_result& r) {
    // IOTLB.
    const uint64_t vpn = page_walker::input_vpn(req.addr);
    if (m_lookup_observer) {
        m_lookup_observer();
    }
    const iotlb_entry* hit = nullptr;
    if (m_cpp_tlb) {
        if (source) {
            source->repeat_changes = checked_source::no_changes;  // set again by a repeatable hit
        }
        hit = source ? m_cpp_tlb->find(p.did, pasid, p.kind, vpn, source->hint)
                     : m_cpp_tlb->find(p.did, pasid, p.kind, vpn);
    } else if (std::optional<iotlb_entry> found = m_tlb.lookup(p.did, pasid, p.kind, vpn)) {
        m_other_hit = *found;
        hit = &m_other_hit;
    }
    if (hit) {
        const uint8_t pm = hit->payload.perm;
        hit_rights rights;
        if (source && source->rights_perm == pm) {
            rights = source->rights;
        } else {
            rights = rights_of(p, pm, access);
            if (source) {
                source->rights_perm = pm;
                source->rights = rights;
            }
        }
        if (rights.usable) {
            ++m_stats.iotlb_hits;
            const uint64_t bytes = uint64_t{1} << page_level_shift(hit->tag.level);
            r.iotlb_hit = true;
            r.page_bytes = bytes;
            r.out_addr = (hit->payload.out_pfn << 12) | (req.addr & (bytes - 1));
            r.can_read = rights.can_read;
            r.can_write = rights.can_write;
            if (m_config.stale_check) {
                stale_check(req, p, access, *hit, r);
            }
            if (source && m_repeat_ok) {
                source->repeat_changes = source->changes;
                source->tlb_changes = m_cpp_tlb->changes();
                source->payload = hit->payload;
                source->offset_mask = bytes - 1;
                source->result = r;
                source->result.out_addr = hit->payload.out_pfn << 12;
            }
            return;
        }
        ++m_stats.dirty_rewalks;
    } else {
        ++m_stats.iotlb_misses;
    }
    if (source) [[likely]] {
        if (source->misses == miss_path::undecided) [[unlikely]] {
            plan_misses(*source, p, access);
        }
        if (source->misses == miss_path::planned) [[likely]] {
            walk_planned_and_fill<miss_path::planned>(req, *source, vpn, r);
            return;
        }
        if (source->misses == miss_path::planned_nested) {
            walk_planned_and_fill<miss_path::planned_nested>(req, *source, vpn, r);
            return;
        }
    }
    walk_and_fill(req, p, pasid, access, fpd, vpn, source, r);
}

[[gnu::noinline]] void translator::plan_misses(checked_source& c, const pasid_info& p, const access_type& access) {
    miss_plan& plan = plan_of(c);
    c.misses = miss_path::full;
    if (!caches_not_present()) {
        if (m_walker.plan_fs(p, access, plan.fs)) {
            c.misses = miss_path::planned;
        } else if (m_walker.plan_nested(p, access, plan.nested)) {
            c.misses = miss_path::planned_nested;
        }
    }
    plan.fill_tag = iotlb_tag{p.did, c.pasid, p.kind, page_level::size_4k, 0};
    plan.read_needs = page_walker::rights_needed(p, false, access.priv);
    plan.write_needs = page_walker::rights_needed(p, true, access.priv) | iotlb_perm::dirty;
}

translation_result translator::translate_full(const translation_request& req, checked_source& c) {
    translation_result r;
    // With the stale checker on no source is valid (set_stale_check, resolve).
    if (c.changes != cache_changes() || !same_source(c.req, req)) {
        ++m_stats.translations;
        if (m_config.stale_check) {
            m_used.clear();
            resolve(req, r);
            check_structures(req, r);
            return r;
        }
        resolve(req, r);
        return r;
    }
    if (((c.req.addr ^ req.addr) >> 12) != 0) {
        if (m_walker.check_input(*c.p, req.addr) != fault_reason::none) {
            ++m_stats.translations;
            resolve(req, r);  // the fault, found and counted as without the table
            return r;
        }
        c.req.addr = req.addr;
    }
    ++m_checked_translations;
    m_context_cache.touch(c.ctx_position);
    m_pasid_cache.touch(c.pasid_position);
    const pasid_info& p = *c.p;
    r.pasid = c.pasid;
    r.did = p.did;
    r.kind = p.kind;
    translate_checked(req, p, c.pasid, c.access, c.fpd, &c, r);
    return r;
}

void translator::set_root(uint64_t rtaddr_value) {
    m_checked.fill(checked_source{});
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

fault_reason translator::page_request_context(uint16_t rid, bool has_pasid, bool& fpd) {
    fpd = false;
    if (const fault_reason rf = m_root_fault[has_pasid ? 1 : 0]; rf != fault_reason::none) {
        return rf;
    }
    const context_info* ctx = m_context_cache.lookup(rid);
    context_info walked;
    if (ctx == nullptr) {
        unsigned accesses = 0;
        if (const fault_reason f = m_walker.read_context(m_rtaddr, rid, walked, fpd, accesses);
            f != fault_reason::none) {
            return f;
        }
        m_context_cache.fill(rid, walked);
        ctx = &walked;
    }
    fpd = ctx->fpd;
    return ctx->pre ? fault_reason::none : fault_reason::ctx_pre_clear;
}

void translator::resolve(const translation_request& req, translation_result& r) {
    const fault_reason rf = m_root_fault[req.has_pasid ? 1 : 0];
    if (rf != fault_reason::none) {
        set_fault(r, rf, false);
        return;
    }

    // Context entry.
    const context_info* ctx = m_context_cache.lookup(req.rid);
    context_info ctx_walked;
    if (ctx) {
        ++m_stats.context_hits;
        if (m_config.stale_check) {
            m_used.has_ctx = true;
            m_used.ctx = *ctx;
        }
    } else {
        ++m_stats.context_misses;
        bool fpd = false;
        const fault_reason f = m_walker.read_context(m_rtaddr, req.rid, ctx_walked, fpd, r.walk_accesses);
        if (f != fault_reason::none) {
            set_fault(r, f, fpd);
            return;
        }
        m_context_cache.fill(req.rid, ctx_walked);
        ctx = &ctx_walked;
    }
    const bool ctx_fpd = ctx->fpd;
    uint32_t pasid = 0;
    access_type access;
    if (const fault_reason f = m_walker.setup_request(*ctx, req, pasid, access); f != fault_reason::none) {
        set_fault(r, f, ctx_fpd);
        return;
    }
    r.pasid = pasid;

    // PASID entry.
    const pasid_info* pi = m_pasid_cache.lookup(req.rid, pasid);
    pasid_info pi_walked;
    if (pi) {
        ++m_stats.pasid_hits;
        if (m_config.stale_check) {
            m_used.has_pasid = true;
            m_used.pasid = *pi;
        }
    } else {
        ++m_stats.pasid_misses;
        bool fpd = ctx_fpd;
        const fault_reason f = m_walker.read_pasid(*ctx, pasid, pi_walked, fpd, r.walk_accesses);
        if (f != fault_reason::none) {
            set_fault(r, f, fpd);
            return;
        }
        m_pasid_cache.fill(req.rid, pi_walked);
        pi = &pi_walked;
    }
    const pasid_info& p = *pi;
    if (m_config.stale_check) {
        m_used.ctx_used = *ctx;
        m_used.p = p;
        m_used.has_p = true;
    }
    const bool fpd = ctx_fpd || p.fpd;
    r.did = p.did;
    r.kind = p.kind;
    if (const fault_reason f = m_walker.check_pasid_request(p, access); f != fault_reason::none) {
        set_fault(r, f, fpd);
        return;
    }
    if (const fault_reason f = m_walker.check_input(p, req.addr); f != fault_reason::none) {
        set_fault(r, f, fpd);
        return;
    }
    checked_source* source = nullptr;
    if (ctx != &ctx_walked && pi != &pi_walked && !m_config.stale_check) {
        source = &m_checked[checked_slot(req)];
        *source = checked_source{};
        source->req = req;
        source->changes = cache_changes();
        source->ctx_position = m_context_cache.position(ctx);
        source->pasid_position = m_pasid_cache.position(pi);
        source->p = pi;
        source->pasid = pasid;
        source->access = access;
        source->fpd = fpd;
    }
    translate_checked(req, p, pasid, access, fpd, source, r);
}

inline void translator::fill_walked(const pasid_info& p, uint32_t pasid, uint64_t vpn, page_level level,
                                    uint64_t out_addr, uint8_t perm, uint8_t read_needs, uint8_t write_needs,
                                    translation_result& r) {
    const uint64_t bytes = uint64_t{1} << page_level_shift(level);
    iotlb_entry e;
    e.tag = iotlb_tag{p.did, pasid, p.kind, level, vpn & ~(page_level_pages(level) - 1)};
    e.payload = iotlb_payload{(out_addr & ~(bytes - 1)) >> 12, perm};
    const iotlb_fill_result fr = m_tlb.fill(e);
    ++m_stats.iotlb_fills;
    if (fr.evicted) {
        ++m_stats.iotlb_evictions;
    }
    r.out_addr = out_addr;
    r.page_bytes = bytes;
    r.can_read = (perm & read_needs) == read_needs;
    r.can_write = (perm & write_needs) == write_needs;
}

template <translator::miss_path path>
inline void translator::walk_planned_and_fill(const translation_request& req, checked_source& c, uint64_t vpn,
                                              translation_result& r) {
    miss_plan& plan = plan_of(c);
    page_walker::planned_result w;
    unsigned reads = 0;
    if constexpr (path == miss_path::planned) {
        w = m_walker.walk_planned(plan.fs, req.addr);
        reads = plan.fs.levels;
    } else {
        static_assert(path == miss_path::planned_nested);
        w = m_walker.walk_planned_nested(plan.nested, req.addr, c.access.write);
        if (!w.done) [[unlikely]] {
            w = m_walker.walk_planned_nested_peeking(plan.nested, *c.p, req.addr, c.access.write);
        }
        reads = page_walker::nested_plan::reads;
    }
    if (!w.done) [[unlikely]] {
        walk_and_fill(req, *c.p, c.pasid, c.access, c.fpd, vpn, &c, r);
        return;
    }
    // fill_walked() of a 4 KiB page, its key from the plan, the answer before the fill's call so
    // that nothing of the walk is live across it (spelled out: sharing fill_walked() with the page
    // size and key as parameters costs this path 3 to 7 instructions).
    r.walk_accesses += reads;
    m_stats.walk_accesses += reads;
    r.out_addr = w.out_addr;
    r.page_bytes = hw::page_size_4k;
    r.can_read = (w.perm & plan.read_needs) == plan.read_needs;
    r.can_write = (w.perm & plan.write_needs) == plan.write_needs;
    iotlb_entry e;
    e.tag = plan.fill_tag;
    e.tag.vpn = vpn;
    e.payload = iotlb_payload{w.out_addr >> 12, w.perm};
    ++m_stats.iotlb_fills;
    if (m_tlb.fill(e).evicted) {
        ++m_stats.iotlb_evictions;
    }
    ++m_stats.walks;  // apart from walk_accesses: two scalar additions, not one vector one
}

void translator::walk_and_fill(const translation_request& req, const pasid_info& p, uint32_t pasid,
                               const access_type& access, bool fpd, uint64_t vpn, checked_source* source,
                               translation_result& r) {
    // Walk (on a miss, a write hit without D, or a hit lacking the right: the tables decide),
    // unless caching mode keeps the page's not-present entry.
    const pasid_info& pw = p;
    const bool np_caching = caches_not_present();
    const hw::fault_reason* cached_np = nullptr;
    if (np_caching) [[unlikely]] {
        cached_np = m_not_present.lookup(iotlb_tag{p.did, pasid, p.kind, page_level::size_4k, vpn});
        if (cached_np) {
            ++m_stats.not_present_hits;
            if (m_config.stale_check) {
                m_used.not_present = true;
            }
        }
    }
    if (!cached_np) {
        ++m_stats.walks;
    }
    walk_result w = cached_np ? walk_result{*cached_np} : m_walker.walk(pw, req.addr, access, true);
    if (np_caching && !cached_np && w.fault == fault_reason::ss_perm) {
        // A not-present second-stage entry (CM may cache it, VT-d spec §6.1; first-stage entries
        // are never cached not-present).
        m_not_present.fill(iotlb_tag{p.did, pasid, p.kind, page_level::size_4k, vpn}, w.fault);
        ++m_stats.not_present_fills;
    }
    if (!cached_np && req.ats_translation && hw::fault_is_recoverable(w.fault) && access.write) {
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
            return;
        }
        set_fault(r, w.fault, fpd);
        return;
    }
    uint8_t read_needs = 0;
    uint8_t write_needs = 0;
    if (source) {
        read_needs = plan_of(*source).read_needs;
        write_needs = plan_of(*source).write_needs;
    } else {
        read_needs = page_walker::rights_needed(pw, false, access.priv);
        write_needs = page_walker::rights_needed(pw, true, access.priv) | iotlb_perm::dirty;
    }
    fill_walked(p, pasid, vpn, w.level, w.out_addr, w.perm, read_needs, write_needs, r);
}

namespace {

// Keeps the checker's reads out of the walk-read observer (waves): they are no hardware accesses.
class unobserved {
  public:
    explicit unobserved(page_walker& walker) : m_walker(walker) { m_walker.pause_read_observer(true); }
    ~unobserved() { m_walker.pause_read_observer(false); }
    unobserved(const unobserved&) = delete;
    unobserved& operator=(const unobserved&) = delete;

  private:
    page_walker& m_walker;
};

struct field_difference {
    const char* field = nullptr;  // nullptr: equal
    uint64_t cached = 0;
    uint64_t current = 0;
};

// The first field of a decoded entry that differs (the report names it), nullptr when equal.
template <typename... Fields>
field_difference first_difference(Fields... fields) {
    field_difference d;
    auto one = [&](const char* name, uint64_t cached, uint64_t current) {
        if (d.field == nullptr && cached != current) {
            d = field_difference{name, cached, current};
        }
    };
    (std::apply(one, fields), ...);
    return d;
}

field_difference context_difference(const context_info& a, const context_info& b) {
    using f = std::tuple<const char*, uint64_t, uint64_t>;
    return first_difference(f{"fpd", a.fpd, b.fpd}, f{"dte", a.dte, b.dte}, f{"paside", a.paside, b.paside},
                            f{"pre", a.pre, b.pre}, f{"pdts", a.pdts, b.pdts}, f{"pasid_dir", a.pasid_dir, b.pasid_dir},
                            f{"rid_pasid", a.rid_pasid, b.rid_pasid}, f{"rid_priv", a.rid_priv, b.rid_priv});
}

field_difference pasid_difference(const pasid_info& a, const pasid_info& b) {
    using f = std::tuple<const char*, uint64_t, uint64_t>;
    return first_difference(
        f{"did", a.did, b.did}, f{"pgtt", static_cast<uint64_t>(a.kind), static_cast<uint64_t>(b.kind)},
        f{"fpd", a.fpd, b.fpd}, f{"ss_levels", a.ss_levels, b.ss_levels}, f{"ssptptr", a.ssptptr, b.ssptptr},
        f{"fsptptr", a.fsptptr, b.fsptptr}, f{"fs_levels", a.fs_levels, b.fs_levels}, f{"ssee", a.ssee, b.ssee},
        f{"ssade", a.ssade, b.ssade}, f{"sre", a.sre, b.sre}, f{"ere", a.ere, b.ere}, f{"wpe", a.wpe, b.wpe},
        f{"nxe", a.nxe, b.nxe}, f{"smep", a.smep, b.smep}, f{"eafe", a.eafe, b.eafe});
}

}  // namespace

stale_report translator::report_for(stale_cache cache, const translation_request& req) const {
    stale_report rep;
    rep.cache = cache;
    rep.time_ps = m_clock ? m_clock() : 0;
    rep.rid = req.rid;
    rep.has_pasid = req.has_pasid;
    rep.pasid = req.pasid;
    rep.addr = req.addr;
    rep.write = req.write;
    return rep;
}

void translator::add_stale(const stale_report& rep, translation_result& r) {
    ++m_stats.stale_hits;
    ++m_stats.stale_hits_by_cache[static_cast<unsigned>(rep.cache)];
    r.stale = true;
    if (m_stale.size() < m_config.stale_report_limit) {
        m_stale.push_back(rep);
    }
}

void translator::stale_check(const translation_request& req, const pasid_info& p, const access_type& access,
                             const iotlb_entry& cached, translation_result& r) {
    ++m_stats.stale_checks;
    const unobserved quiet(m_walker);
    // Re-resolve everything from memory, without side effects: a stale context or PASID entry is
    // as much a missing invalidation as a stale leaf.
    stale_report rep = report_for(stale_cache::iotlb, req);
    rep.pasid = p.pasid;
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
    rep.current_fault = f;
    rep.current_out = w.out_addr;
    rep.current_perm = w.perm;
    add_stale(rep, r);
}

void translator::check_structures(const translation_request& req, translation_result& r) {
    const unobserved quiet(m_walker);
    unsigned accesses = 0;
    if (m_used.has_ctx) {
        ++m_stats.stale_checks;
        context_info now;
        bool fpd = false;
        const fault_reason f = m_walker.read_context(m_rtaddr, req.rid, now, fpd, accesses);
        const field_difference d = f == fault_reason::none ? context_difference(m_used.ctx, now) : field_difference{};
        if (f != fault_reason::none || d.field) {
            stale_report rep = report_for(stale_cache::context, req);
            rep.field = d.field;
            rep.cached_out = d.cached;
            rep.current_out = d.current;
            rep.current_fault = f;
            add_stale(rep, r);
        }
    }
    if (m_used.has_pasid) {
        // The PASID entry behind the context entry the translation used (a stale context entry
        // is reported above).
        ++m_stats.stale_checks;
        pasid_info now;
        bool fpd = m_used.ctx_used.fpd;
        const fault_reason f = m_walker.read_pasid(m_used.ctx_used, m_used.pasid.pasid, now, fpd, accesses);
        // The entry's FPD includes the context entry's at fill time; the translation ORs in the
        // current context's FPD again, so compare what takes effect.
        pasid_info cached = m_used.pasid;
        cached.fpd = cached.fpd || m_used.ctx_used.fpd;
        const field_difference d = f == fault_reason::none ? pasid_difference(cached, now) : field_difference{};
        if (f != fault_reason::none || d.field) {
            stale_report rep = report_for(stale_cache::pasid, req);
            rep.pasid = m_used.pasid.pasid;
            rep.did = m_used.pasid.did;
            rep.kind = m_used.pasid.kind;
            rep.field = d.field;
            rep.cached_out = d.cached;
            rep.current_out = d.current;
            rep.current_fault = f;
            add_stale(rep, r);
        }
    }
    if (!m_used.has_p) {
        return;
    }
    const pasid_info& p = m_used.p;
    for (const psc_use& u : m_used.psc) {
        ++m_stats.stale_checks;
        const table_entry_view now = m_walker.table_entry(p, u.stage, u.level, u.addr);
        if (now.second_stage_blocked) {
            // A first-stage entry under nesting holds a GPA table pointer: a second-stage change
            // (a nest-parent unmap) does not make it stale, and with the table out of the second
            // stage's reach the entry cannot be read to compare. Whatever the walk did with the
            // second stage is checked on its own (second-stage PSC uses, the IOTLB).
            continue;
        }
        // Stale: the tables no longer hold a table there, hold another one, or give fewer rights
        // (a cached entry with fewer rights than the tables is allowed: it only faults).
        const bool same = now.fault == fault_reason::none && now.non_leaf && now.next_table == u.cached.next_table &&
                          (u.cached.perm & ~now.perm) == 0;
        if (same) {
            continue;
        }
        stale_report rep = report_for(
            u.stage == paging_structure_cache::stage::first ? stale_cache::fs_psc : stale_cache::ss_psc, req);
        rep.pasid = p.pasid;
        rep.did = p.did;
        rep.kind = p.kind;
        rep.level = u.level;
        rep.key_addr = u.addr;
        rep.cached_out = u.cached.next_table;
        rep.cached_perm = u.cached.perm;
        rep.current_fault = now.fault;
        rep.current_out = now.non_leaf ? now.next_table : 0;
        rep.current_perm = now.perm;
        add_stale(rep, r);
    }
    if (m_used.not_present) {
        // Caching mode let the not-present entry stand: stale when the tables now translate.
        ++m_stats.stale_checks;
        access_type access;
        uint32_t pasid = 0;
        if (m_walker.setup_request(m_used.ctx_used, req, pasid, access) != fault_reason::none) {
            return;
        }
        const walk_result w = m_walker.walk(p, req.addr, access, false);
        if (w.fault == fault_reason::none) {
            stale_report rep = report_for(stale_cache::not_present, req);
            rep.pasid = p.pasid;
            rep.did = p.did;
            rep.kind = p.kind;
            rep.current_out = w.out_addr;
            rep.current_perm = w.perm;
            add_stale(rep, r);
        }
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
            n = m_tlb.invalidate_all() + m_psc.invalidate_all() + m_not_present.invalidate(iotlb_scope::all, 0, 0, r);
            break;
        case scope_kind::iotlb_domain:
            n = m_tlb.invalidate_domain(s.did) + m_psc.invalidate_domain(s.did) +
                m_not_present.invalidate(iotlb_scope::domain, s.did, 0, r);
            break;
        case scope_kind::iotlb_domain_range:
            n = m_tlb.invalidate_domain_range(s.did, r.vpn(), r.am()) +
                m_psc.invalidate_domain_range(s.did, r.vpn(), r.am(), s.ih) +
                m_not_present.invalidate(iotlb_scope::domain_range, s.did, 0, r);
            break;
        case scope_kind::iotlb_pasid:
            n = m_tlb.invalidate_pasid(s.did, s.pasid) + m_psc.invalidate_pasid(s.did, s.pasid) +
                m_not_present.invalidate(iotlb_scope::pasid, s.did, s.pasid, r);
            break;
        case scope_kind::iotlb_pasid_range:
            n = m_tlb.invalidate_pasid_range(s.did, s.pasid, r.vpn(), r.am()) +
                m_psc.invalidate_pasid_range(s.did, s.pasid, r.vpn(), r.am(), s.ih) +
                m_not_present.invalidate(iotlb_scope::pasid_range, s.did, s.pasid, r);
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
    s.translations += m_checked_translations;
    s.context_hits += m_checked_translations;
    s.pasid_hits += m_checked_translations;
    s.fs_psc_hits = m_walker.fs_psc_hits;
    s.fs_psc_misses = m_walker.fs_psc_misses;
    s.ss_psc_hits = m_walker.ss_psc_hits;
    s.ss_psc_misses = m_walker.ss_psc_misses;
    return s;
}

void translator::reset_stats() {
    m_stats = translation_stats{};
    m_checked_translations = 0;
    m_walker.fs_psc_hits = m_walker.fs_psc_misses = m_walker.ss_psc_hits = m_walker.ss_psc_misses = 0;
}

}  // namespace iommusim
