#include "tlm/page_walker.h"

#include <algorithm>
#include <cstring>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim {

using hw::fault_reason;
namespace perm = iotlb_perm;

namespace {

constexpr unsigned k_max_ad_retries = 4;  // a racing table writer cannot make the walk loop

// Large-page frame address of a leaf at `level` (the addr field with its low bits masked).
uint64_t leaf_frame(uint64_t addr_field_value, unsigned level) {
    return (addr_field_value << 12) & ~(hw::level_page_bytes(level) - 1);
}

}  // namespace

page_walker::page_walker(const iommu_config& config, phys_mem_if& mem, paging_structure_cache* psc)
    : m_config(config)
    , m_mem(mem)
    , m_psc(psc)
    , m_haw_mask(~hw::low_mask(config.haw))
    , m_addr_above_haw(hw::fs_pte::addr::mask & m_haw_mask)
    , m_ss_reserved(m_addr_above_haw | hw::ss_pte::tm::mask) {
    static_assert(hw::fs_pte::addr::mask == hw::ss_pte::addr::mask);
}

page_walker::flag_update page_walker::set_flags(walk_ctx& w, uint64_t pa, uint64_t& e, uint64_t want,
                                                unsigned attempt) {
    ++w.accesses;
    observe(pa, walk_stage::ad_update, 0);
    uint64_t observed = 0;
    if (!m_mem.cmpxchg64(pa, e, want, observed)) {
        return flag_update::failed;
    }
    if (observed != e) {
        if (attempt >= k_max_ad_retries) {
            return flag_update::failed;
        }
        e = observed;
        return flag_update::changed;
    }
    e = want;
    return flag_update::done;
}

hw::fault_reason page_walker::set_fs_flags(walk_ctx& w, const pasid_info& p, bool nested, uint8_t entry_ss_perm,
                                           uint64_t entry_gpa, uint64_t entry_pa, uint64_t& e, uint64_t want,
                                           unsigned attempt, bool& retry) {
    using hw::fault_reason;
    retry = false;
    if (nested) {
        // Setting a flag through the second stage is a write: it needs SS R and W (§5.5).
        if (!((entry_ss_perm & perm::ss_r) && (entry_ss_perm & perm::ss_w))) {
            return fault_reason::fs_ad_ss_write;
        }
        if (p.ssade) {
            ss_out ssw;  // sets the SS A/D flags of the table page
            const fault_reason f = ss_translate(w, entry_gpa, true, ssw);
            if (f != fault_reason::none) {
                return f;
            }
        }
    }
    switch (set_flags(w, entry_pa, e, want, attempt)) {
        case flag_update::failed:
            return fault_reason::fs_ad_update_failed;
        case flag_update::changed:
            retry = true;
            return fault_reason::none;
        case flag_update::done:
            break;
    }
    return fault_reason::none;
}

fault_reason page_walker::check_root(uint64_t rtaddr, bool latched, bool has_pasid) const {
    if (!latched) {
        return fault_reason::rta_invalid;
    }
    const uint64_t ttm = hw::rtaddr::ttm::get(rtaddr);
    if (ttm == 0) {
        return has_pasid ? fault_reason::rta_legacy_with_pasid : fault_reason::rta_invalid;
    }
    if (ttm != 1) {
        return fault_reason::rta_invalid;  // reserved, or abort-DMA (not modelled)
    }
    if ((hw::rtaddr::rta::get(rtaddr) << 12) & m_haw_mask) {
        return fault_reason::rta_invalid;
    }
    return fault_reason::none;
}

fault_reason page_walker::read_context(uint64_t rtaddr, uint16_t rid, context_info& out, bool& fpd,
                                       unsigned& accesses) {
    namespace re = hw::root_entry;
    namespace ce = hw::context_entry;
    fpd = false;
    const uint64_t rta = hw::rtaddr::rta::get(rtaddr) << 12;
    re::words root{};
    ++accesses;
    observe(rta + uint64_t{hw::rid_bus(rid)} * re::bytes, walk_stage::root, 0);
    if (!m_mem.read(rta + uint64_t{hw::rid_bus(rid)} * re::bytes, root.data(), re::bytes)) {
        return fault_reason::root_access;
    }
    const unsigned devfn = hw::rid_devfn(rid);
    const bool upper = devfn >= ce::per_table;
    if (!(upper ? re::up::get(root) : re::lp::get(root))) {
        return fault_reason::root_not_present;
    }
    const uint64_t ctp = (upper ? re::uctp::get(root) : re::lctp::get(root)) << 12;
    if (hw::any_outside(root, re::words{~re::reserved_mask[0], ~re::reserved_mask[1]}) || (ctp & m_haw_mask)) {
        return fault_reason::root_reserved;
    }

    ce::words ctx{};
    ++accesses;
    observe(ctp + uint64_t{devfn % ce::per_table} * ce::bytes, walk_stage::context, 0);
    if (!m_mem.read(ctp + uint64_t{devfn % ce::per_table} * ce::bytes, ctx.data(), ce::bytes)) {
        return fault_reason::ctx_access;
    }
    if (!ce::p::get(ctx)) {
        return fault_reason::ctx_not_present;
    }
    const uint64_t dir = ce::pasiddirptr::get(ctx) << 12;
    ce::words allowed{};
    for (unsigned i = 0; i < 4; ++i) {
        allowed[i] = ~ce::reserved_mask[i];
    }
    if (hw::any_outside(ctx, allowed) || (dir & m_haw_mask)) {
        return fault_reason::ctx_reserved;
    }
    fpd = ce::fpd::get(ctx);
    out = context_info{};
    out.fpd = fpd;
    out.dte = ce::dte::get(ctx);
    out.paside = ce::paside::get(ctx);
    out.pre = ce::pre::get(ctx);
    out.pdts = static_cast<unsigned>(ce::pdts::get(ctx));
    out.pasid_dir = dir;
    out.rid_pasid = m_config.rps ? static_cast<uint32_t>(ce::rid_pasid::get(ctx)) : 0;
    out.rid_priv = m_config.rprivs && ce::rid_priv::get(ctx);
    return fault_reason::none;
}

fault_reason page_walker::read_pasid(const context_info& ctx, uint32_t pasid, pasid_info& out, bool& fpd,
                                     unsigned& accesses) {
    namespace pd = hw::pasid_dir_entry;
    namespace pe = hw::pasid_entry;
    uint64_t pde = 0;
    ++accesses;
    observe(ctx.pasid_dir + uint64_t{pasid >> 6} * pd::bytes, walk_stage::pasid_dir, 0);
    if (!m_mem.read(ctx.pasid_dir + uint64_t{pasid >> 6} * pd::bytes, &pde, sizeof pde)) {
        return fault_reason::pdir_access;
    }
    if (!pd::p::get(pde)) {
        return fault_reason::pdir_not_present;
    }
    const uint64_t table = pd::smptblptr::get(pde) << 12;
    if ((pde & pd::reserved_mask) || (table & m_haw_mask)) {
        return fault_reason::pdir_reserved;
    }
    fpd = fpd || pd::fpd::get(pde);

    pe::words e{};
    ++accesses;
    observe(table + uint64_t{pasid % pe::per_table} * pe::bytes, walk_stage::pasid_table, 0);
    if (!m_mem.read(table + uint64_t{pasid % pe::per_table} * pe::bytes, e.data(), pe::bytes)) {
        return fault_reason::pte_access;
    }
    if (!pe::p::get(e)) {
        return fault_reason::pte_not_present;
    }
    pe::words allowed{};
    for (unsigned i = 0; i < allowed.size(); ++i) {
        allowed[i] = ~pe::reserved_mask[i];
    }
    if (hw::any_outside(e, allowed)) {
        return fault_reason::pte_reserved;
    }
    fpd = fpd || pe::fpd::get(e);

    out = pasid_info{};
    out.pasid = pasid;
    out.fpd = fpd;
    out.did = static_cast<uint16_t>(pe::did::get(e));
    const auto pgtt = static_cast<unsigned>(pe::pgtt::get(e));
    switch (pgtt) {
        case static_cast<unsigned>(hw::pgtt::first_stage):
            if (!m_config.fsts) {
                return fault_reason::pte_invalid;
            }
            break;
        case static_cast<unsigned>(hw::pgtt::second_stage):
            if (!m_config.ssts) {
                return fault_reason::pte_invalid;
            }
            break;
        case static_cast<unsigned>(hw::pgtt::nested):
            if (!m_config.nest) {
                return fault_reason::pte_invalid;
            }
            break;
        case static_cast<unsigned>(hw::pgtt::pass_through):
            if (!m_config.pt) {
                return fault_reason::pte_invalid;
            }
            break;
        default:
            return fault_reason::pte_invalid;
    }
    out.kind = static_cast<translation_kind>(pgtt);
    const auto aw = static_cast<unsigned>(pe::aw::get(e));
    out.ss_levels = hw::ss_levels_from_aw(aw);
    out.ssee = pe::ssee::get(e);
    out.ssade = pe::ssade::get(e);
    out.sre = pe::sre::get(e) && m_config.srs;
    out.ere = pe::ere::get(e) && m_config.ers;
    out.wpe = pe::wpe::get(e);
    out.nxe = pe::nxe::get(e);
    out.smep = pe::smep::get(e);
    out.eafe = pe::eafe::get(e);
    out.fsptptr = pe::fsptptr::get(e) << 12;
    out.ssptptr = pe::ssptptr::get(e) << 12;
    const auto fspm = static_cast<unsigned>(pe::fspm::get(e));
    out.fs_levels = fspm == 1 ? 5 : 4;
    if (out.uses_ss()) {
        if (!m_config.aw_supported(aw)) {
            return fault_reason::pte_invalid;
        }
        if (out.ssade && !m_config.ssads) {
            return fault_reason::pte_invalid;
        }
    }
    if (out.uses_fs()) {
        if (fspm > 1 || (fspm == 1 && !m_config.fs5lp)) {
            return fault_reason::pte_invalid;
        }
        if (out.eafe && !m_config.eafs) {
            return fault_reason::pte_invalid;
        }
    }
    if (m_config.nd < 6 && out.did >= (1u << (4 + 2 * m_config.nd))) {
        return fault_reason::pte_invalid;
    }
    return fault_reason::none;
}

bool page_walker::ss_large_page_ok(uint64_t e, unsigned level) const {
    namespace sp = hw::ss_pte;
    switch (level) {
        case 2:
            return m_config.sslps_2m && !(e & sp::large_2m_reserved);
        case 3:
            return m_config.sslps_1g && !(e & sp::large_1g_reserved);
        default:
            return false;  // PS is reserved in SS-PML4E/PML5E
    }
}

bool page_walker::fs_large_page_ok(uint64_t e, unsigned level) const {
    namespace fp = hw::fs_pte;
    switch (level) {
        case 2:
            return !(e & fp::large_2m_reserved);
        case 3:
            return m_config.fs1gp && !(e & fp::large_1g_reserved);
        default:
            return false;  // PS is reserved in PML4E/PML5E
    }
}

template <paging_structure_cache::stage st>
[[gnu::always_inline]] inline bool page_walker::psc_resume(uint16_t did, uint32_t pasid, unsigned levels, uint64_t addr,
                                                           uint64_t& table, uint8_t& pm, unsigned& level) {
    unsigned l = 0;
    if (const auto* e = m_psc->lookup_lowest<st>(did, pasid, levels, addr, l)) {
        log_psc_use(st, l, addr, *e);
        table = e->next_table;
        pm = e->perm;
        level = l - 1;
        return true;
    }
    return false;
}

page_walker::entry_step page_walker::ss_entry_slow(walk_ctx& w, uint64_t gpa, bool write, unsigned level, uint64_t pa,
                                                   uint64_t e, uint8_t pm, ss_out& out) {
    namespace sp = hw::ss_pte;
    const pasid_info& p = *w.p;
    const bool set_ad = p.ssade && w.side_effects;
    for (unsigned attempt = 0;; ++attempt) {
        if (!(e & (sp::r::mask | sp::w::mask))) {
            return entry_step{fault_reason::ss_perm};  // not present
        }
        const bool large = level != 1 && sp::ps::get(e);
        if ((e & m_ss_reserved) || (large && !ss_large_page_ok(e, level))) {
            return entry_step{fault_reason::ss_reserved};
        }
        const bool leaf = level == 1 || large;
        const uint8_t npm = ss_entry_perm(pm, e);
        // Second-stage A/D (SSADE): A on every entry used, D on a permitted write leaf.
        if (set_ad) {
            uint64_t want = e | sp::a::mask;
            if (leaf && write && (npm & perm::ss_w)) {
                want |= sp::d::mask;
            }
            if (want != e) {
                const flag_update u = set_flags(w, pa, e, want, attempt);
                if (u == flag_update::failed) {
                    return entry_step{fault_reason::ss_access};
                }
                if (u == flag_update::changed) {
                    continue;
                }
            }
        }
        if (leaf) {
            out.level = level;
            out.hpa = leaf_frame(sp::addr::get(e), level) | (gpa & (hw::level_page_bytes(level) - 1));
            out.perm = npm;
            out.dirty = !p.ssade || sp::d::get(e);
            return entry_step{fault_reason::none, true};
        }
        return entry_step{fault_reason::none, false, npm, e & sp::addr::mask};
    }
}

inline fault_reason page_walker::ss_translate_inline(walk_ctx& w, uint64_t gpa, bool write, ss_out& out) {
    namespace sp = hw::ss_pte;
    const pasid_info& p = *w.p;
    if (p.ssptptr & m_haw_mask) {
        return fault_reason::ss_invalid_ptr;
    }
    uint64_t table = p.ssptptr;
    uint8_t pm = ss_rwx;
    unsigned level = p.ss_levels;
    if (w.use_psc) [[unlikely]] {
        if (psc_resume<paging_structure_cache::stage::second>(p.did, 0, p.ss_levels, gpa, table, pm, level)) {
            ++ss_psc_hits;
        } else {
            ++ss_psc_misses;
        }
    }
    if (!m_observing) [[likely]] {
        // Straight through the plain entries of directly readable pages: present table pointers
        // without reserved bits or PS whose A needs no update (none when the levels have work: PSC
        // fills, a stop) and a 4 KiB leaf needing no A/D update. It stops before the first other
        // entry, which ss_walk_from reads (again) and checks fully: no read is counted twice.
        const uint64_t need_a = w.ss_need_a;
        const plain_walk run = follow_plain(m_mem.direct(), gpa, table, level,
                                            plain_entries{sp::r::mask | sp::w::mask, w.ss_table_bits, need_a,
                                                          m_ss_reserved | need_a, need_a, !w.ss_per_level_work});
        pm = ss_entry_perm(pm, run.all_bits);
        table = run.table;
        level = run.level;
        unsigned passed = run.passed;
        if (run.done) {
            const uint64_t e = run.leaf;
            const uint8_t npm = ss_entry_perm(pm, e);
            if (!(need_a && write && (npm & perm::ss_w) && !sp::d::get(e))) [[likely]] {
                w.accesses += passed;
                out.level = 1;
                out.hpa = (e & sp::addr::mask) | (gpa & (hw::page_size_4k - 1));
                out.perm = npm;
                out.dirty = !p.ssade || sp::d::get(e);
                return fault_reason::none;
            }
            --passed;  // the leaf needs D: ss_walk_from reads it again
        }
        w.accesses += passed;
    }
    return ss_walk_from(w, gpa, write, out, level, table, pm);
}

fault_reason page_walker::ss_translate(walk_ctx& w, uint64_t gpa, bool write, ss_out& out) {
    return ss_translate_inline(w, gpa, write, out);
}

fault_reason page_walker::ss_walk_from(walk_ctx& w, uint64_t gpa, bool write, ss_out& out, unsigned level,
                                       uint64_t table, uint8_t pm) {
    namespace sp = hw::ss_pte;
    const pasid_info& p = *w.p;
    // The common entries, a present table pointer or 4 KiB leaf without reserved bits whose A (and
    // D) need no update, take the short way; anything else gets the full checks (ss_entry_slow).
    for (;; --level) {
        const uint64_t pa = table + uint64_t{hw::pt_index(gpa, level)} * 8;
        const phys_mem_if::loaded64 entry = read_entry(w, pa, walk_stage::second_stage, level);
        if (!entry.ok) {
            return fault_reason::ss_access;
        }
        const uint64_t e = entry.value;
        const bool present = (e & (sp::r::mask | sp::w::mask)) != 0;
        if (level == 1) {
            if (present && !(e & m_ss_reserved)) [[likely]] {
                const uint8_t npm = ss_entry_perm(pm, e);
                const uint64_t need_a = w.ss_need_a;
                const uint64_t need = need_a | (need_a && write && (npm & perm::ss_w) ? sp::d::mask : 0);
                if ((e & need) == need) [[likely]] {
                    out.level = 1;
                    out.hpa = (e & sp::addr::mask) | (gpa & (hw::page_size_4k - 1));
                    out.perm = npm;
                    out.dirty = !p.ssade || sp::d::get(e);
                    return fault_reason::none;
                }
            }
            return ss_entry_slow(w, gpa, write, level, pa, e, pm, out).fault;
        }
        if (present && (e & w.ss_table_bits) == w.ss_need_a) [[likely]] {
            pm = ss_entry_perm(pm, e);
            table = e & sp::addr::mask;
        } else {
            const entry_step s = ss_entry_slow(w, gpa, write, level, pa, e, pm, out);
            if (s.fault != fault_reason::none || s.done) {
                return s.fault;
            }
            pm = s.pm;
            table = s.table;
        }
        if (w.ss_per_level_work) [[unlikely]] {
            if (level == w.stop_ss_level) {
                *w.stop = table_entry_view{fault_reason::none, true, table, pm};
                return fault_reason::none;
            }
            if (w.use_psc && w.side_effects) {
                m_psc->fill(paging_structure_cache::stage::second, p.did, 0, level, gpa,
                            paging_structure_cache::entry{table, pm});
            }
        }
    }
}

fault_reason page_walker::fs_walk(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r) {
    return w.p->kind == translation_kind::nested ? fs_walk_stages<true>(w, va, access, r)
                                                 : fs_walk_stages<false>(w, va, access, r);
}

template <bool nested>
page_walker::entry_step page_walker::fs_entry_slow(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r,
                                                   unsigned level, fs_entry at, uint64_t gpa_limit, uint8_t pm) {
    namespace fp = hw::fs_pte;
    const pasid_info& p = *w.p;
    const uint64_t ad_bits_a = fp::a::mask | (p.eafe ? fp::ea::mask : 0);
    const uint8_t xd_perm = p.nxe ? perm::fs_xd : 0;
    uint64_t& e = at.e;
    for (unsigned attempt = 0;; ++attempt) {
        if (!fp::p::get(e)) {
            return entry_step{fault_reason::fs_not_present};
        }
        const bool large = level != 1 && fp::ps::get(e);
        if ((e & m_addr_above_haw) || (large && !fs_large_page_ok(e, level))) {
            return entry_step{fault_reason::fs_reserved};
        }
        const uint8_t npm = fs_entry_perm(pm, e, xd_perm);
        if (level != 1 && !large) {
            if (w.side_effects && (e & ad_bits_a) != ad_bits_a) {
                bool retry = false;
                const fault_reason f =
                    set_fs_flags(w, p, nested, at.ss_perm, at.gpa, at.pa, e, e | ad_bits_a, attempt, retry);
                if (f != fault_reason::none) {
                    return entry_step{f};
                }
                if (retry) {
                    continue;
                }
            }
            return entry_step{fault_reason::none, false, npm, e & fp::addr::mask};
        }
        if (w.stop_fs_level != 0) {
            return entry_step{fault_reason::none, true};  // a leaf where table_entry() looks for a table
        }
        // Leaf: rights first; A (and D for a write) only for an access that is allowed.
        const fault_reason rights = check_fs_rights(p, npm, access);
        if (rights != fault_reason::none) {
            return entry_step{rights};
        }
        const uint64_t out_gpa = leaf_frame(fp::addr::get(e), level) | (va & (hw::level_page_bytes(level) - 1));
        uint64_t out_hpa = out_gpa;
        unsigned out_level = level;
        uint8_t ss_pm = ss_rwx;
        bool ss_dirty = true;
        if constexpr (nested) {
            if (out_gpa >= gpa_limit) {
                return entry_step{fault_reason::gn_ss_addr_beyond_max};
            }
            ss_out fin;
            const fault_reason f = ss_translate(w, out_gpa, access.write, fin);
            if (f != fault_reason::none) {
                return entry_step{f};
            }
            const fault_reason sr = check_ss_rights(p, fin.perm, access);
            if (sr != fault_reason::none) {
                return entry_step{sr};
            }
            out_hpa = fin.hpa;
            out_level = std::min(level, fin.level);
            ss_pm = fin.perm;
            ss_dirty = fin.dirty;
        }
        uint64_t want = e | ad_bits_a;
        if (access.write) {
            want |= fp::d::mask;
        }
        if (w.side_effects && want != e) {
            bool retry = false;
            const fault_reason f = set_fs_flags(w, p, nested, at.ss_perm, at.gpa, at.pa, e, want, attempt, retry);
            if (f != fault_reason::none) {
                return entry_step{f};
            }
            if (retry) {
                continue;
            }
        }
        r.out_addr = out_hpa;
        r.level = to_page_level(out_level);
        r.perm = static_cast<uint8_t>(npm | ss_pm | fs_leaf_flags(e, ss_dirty));
        return entry_step{fault_reason::none, true};
    }
}

template <bool nested>
fault_reason page_walker::fs_walk_stages(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r) {
    namespace fp = hw::fs_pte;
    const pasid_info& p = *w.p;
    const unsigned levels = p.fs_levels;
    // Canonical: bits above 56 repeat bit 56. Keep 57 bits for every paging mode so the PSC tags
    // match input_vpn(), the key invalidations use (a 4-level upper-half address keeps bits 56:48 set).
    va &= hw::low_mask(57);
    // Nested: first GPA beyond both MGAW and the second stage's reach (the smaller of the two).
    const uint64_t gpa_limit = nested ? ss_input_limit(p) : 0;
    if (!nested && (p.fsptptr & m_haw_mask)) {
        return fault_reason::fs_root_access;
    }

    uint64_t table = p.fsptptr;
    uint8_t pm = perm::fs_rw | perm::fs_us;
    unsigned level = levels;
    if (w.use_psc) {
        if (psc_resume<paging_structure_cache::stage::first>(p.did, p.pasid, levels, va, table, pm, level)) {
            ++fs_psc_hits;
        } else {
            ++fs_psc_misses;
        }
    }

    const uint8_t xd_perm = p.nxe ? perm::fs_xd : 0;
    // The plain entries take the short way, anything else gets the full checks (fs_entry_slow).
    const plain_entries plain = fs_plain_entries(w, access, !w.use_psc);
    const bool per_level_work = w.stop_fs_level != 0 || w.use_psc;
    if (!nested && !m_observing && w.stop_fs_level == 0) {
        // First stage only: straight through the plain entries of directly readable pages (table
        // pointers only while no PSC fill is due), stopping before the first other entry, which
        // the loop below reads (again) and checks fully: no read is counted twice. R/W and U/S of
        // the table pointers passed survive in the AND of the entries, XD in their OR.
        const plain_walk run = follow_plain(m_mem.direct(), va, table, level, plain);
        w.accesses += run.passed;
        pm = fs_run_perm(p, pm, run);
        table = run.table;
        level = run.level;
        if (run.done) {
            return fs_plain_leaf(p, pm, run.leaf, va, access, r);
        }
    }
    for (;; --level) {
        const uint64_t entry_gpa = table + uint64_t{hw::pt_index(va, level)} * 8;
        uint64_t entry_pa = entry_gpa;
        uint8_t entry_ss_perm = 0;  // nested: the second stage's rights on the entry's page
        if constexpr (nested) {
            ss_out ss;
            fault_reason f = fault_reason::none;
            if (entry_gpa >= gpa_limit) {
                f = fault_reason::fs_addr_beyond_mgaw;
            } else if (f = ss_translate_inline(w, entry_gpa, false, ss);
                       f == fault_reason::none && !(ss.perm & perm::ss_r)) {
                f = level == levels ? fault_reason::fs_root_ss_read : fault_reason::fs_entry_ss_read;
            }
            if (f != fault_reason::none) {
                if (w.stop) {
                    w.stop->second_stage_blocked = true;
                }
                return f;
            }
            entry_pa = ss.hpa;
            entry_ss_perm = ss.perm;
        }
        const phys_mem_if::loaded64 entry = read_entry(w, entry_pa, walk_stage::first_stage, level);
        if (!entry.ok) {
            return level == levels ? fault_reason::fs_root_access : fault_reason::fs_access;
        }
        const uint64_t e = entry.value;
        if (level == 1 && (e & plain.leaf_check) == plain.leaf_want && w.stop_fs_level == 0) [[likely]] {
            // Leaf: rights first, then (nested) the second stage of the output address.
            const uint8_t npm = fs_entry_perm(pm, e, xd_perm);
            const fault_reason rights = check_fs_rights(p, npm, access);
            if (rights != fault_reason::none) {
                return rights;
            }
            uint64_t out = (e & fp::addr::mask) | (va & (hw::page_size_4k - 1));
            uint8_t ss_pm = ss_rwx;
            bool ss_dirty = true;
            if constexpr (nested) {
                if (out >= gpa_limit) {
                    return fault_reason::gn_ss_addr_beyond_max;
                }
                ss_out fin;
                const fault_reason f = ss_translate_inline(w, out, access.write, fin);
                if (f != fault_reason::none) {
                    return f;
                }
                const fault_reason sr = check_ss_rights(p, fin.perm, access);
                if (sr != fault_reason::none) {
                    return sr;
                }
                out = fin.hpa;
                ss_pm = fin.perm;
                ss_dirty = fin.dirty;
            }
            r.out_addr = out;
            r.level = page_level::size_4k;
            r.perm = static_cast<uint8_t>(npm | ss_pm | fs_leaf_flags(e, ss_dirty));
            return fault_reason::none;
        }
        if (level != 1 && (e & plain.table_check) == plain.table_want) [[likely]] {
            pm = fs_entry_perm(pm, e, xd_perm);
            table = e & fp::addr::mask;
        } else {
            const entry_step s = fs_entry_slow<nested>(w, va, access, r, level,
                                                       fs_entry{entry_gpa, entry_pa, e, entry_ss_perm}, gpa_limit, pm);
            if (s.fault != fault_reason::none || s.done) {
                return s.fault;
            }
            pm = s.pm;
            table = s.table;
        }
        if (per_level_work) [[unlikely]] {
            if (level == w.stop_fs_level) {
                *w.stop = table_entry_view{fault_reason::none, true, table, pm};
                return fault_reason::none;
            }
            if (w.use_psc && w.side_effects) {
                m_psc->fill(paging_structure_cache::stage::first, p.did, p.pasid, level, va,
                            paging_structure_cache::entry{table, pm});
            }
        }
    }
}

table_entry_view page_walker::table_entry(const pasid_info& p, paging_structure_cache::stage st, unsigned level,
                                          uint64_t addr) {
    table_entry_view view;
    walk_ctx w;
    w.p = &p;
    w.side_effects = false;
    w.stop = &view;
    if (st == paging_structure_cache::stage::second) {
        w.stop_ss_level = level;
        prepare(w);
        ss_out ss;
        view.fault = ss_translate(w, addr, false, ss);
    } else {
        w.stop_fs_level = level;
        prepare(w);
        walk_result r;
        view.fault = fs_walk(w, addr, access_type{}, r);
    }
    return view;
}

template fault_reason page_walker::fs_walk_stages<false>(walk_ctx& w, uint64_t va, const access_type& access,
                                                         walk_result& r);
template fault_reason page_walker::fs_walk_stages<true>(walk_ctx& w, uint64_t va, const access_type& access,
                                                        walk_result& r);

page_walker::planned_result page_walker::walk_planned(const fs_plan& plan, uint64_t va) {
    if (m_unplanned) [[unlikely]] {
        return {};
    }
    // P is in both masks' wanted bits: no test of its own (a constant 0); table pointers are taken.
    const plain_entries& k = plan.plain;
    const plain_walk run = follow_plain(m_mem.direct(), va, plan.root, plan.levels,
                                        plain_entries{0, k.table_check, k.table_want, k.leaf_check, k.leaf_want, true});
    if (!run.done) [[unlikely]] {
        return {};
    }
    const uint8_t npm =
        fs_entry_perm(fs_run_perm(plan.xd_perm, iotlb_perm::fs_rw | iotlb_perm::fs_us, run), run.leaf, plan.xd_perm);
    if ((npm & plan.access_needs) != plan.access_needs) [[unlikely]] {
        return {};
    }
    walk_result r;
    fs_plain_translation(npm, run.leaf, va, r);
    if (hw::overlaps_interrupt_window(r.out_addr, 1)) [[unlikely]] {
        return {};
    }
    return planned_result{r.out_addr, r.perm, true};
}

template <typename OutPde>
inline bool page_walker::nested_leaves(const nested_plan& plan, uint64_t va, bool write, uint8_t fs_pde_perm,
                                       const paging_structure_cache::entry& table_pde, unsigned table_index,
                                       const uint64_t* known_table_leaf, OutPde out_pde_of, uint64_t& table_leaf,
                                       uint64_t& out_addr, uint8_t& perm) {
    namespace fp = hw::fs_pte;
    namespace sp = hw::ss_pte;
    namespace pm = iotlb_perm;
    const phys_mem_if::direct_view direct = m_mem.direct();
    // The plain 4 KiB second-stage leaf e at `index` below a PDE, and the rights it leaves.
    auto ss_plain = [&](const paging_structure_cache::entry& pde, unsigned index, bool for_write, uint64_t& e,
                        uint8_t& ss_perm) __attribute__((always_inline)) {
        if (!direct.load_entry(pde.next_table, index, e) || !(e & (sp::r::mask | sp::w::mask)) ||
            (e & plan.ss_leaf_check) != plan.ss_leaf_want) {
            return false;
        }
        ss_perm = ss_entry_perm(pde.perm, e);
        return !(plan.ss_needs_d && for_write && (ss_perm & pm::ss_w) && !sp::d::get(e));
    };
    // The leaf table page's second-stage leaf: the one the last walk found plain and readable below
    // the same PDE (known_table_leaf) needs no checks again.
    uint64_t table_e = 0;
    uint8_t table_perm = 0;
    if (!direct.load_entry(table_pde.next_table, table_index, table_e)) {
        return false;
    }
    if ((known_table_leaf == nullptr || table_e != *known_table_leaf) &&
        (!ss_plain(table_pde, table_index, false, table_e, table_perm) || !(table_perm & pm::ss_r))) {
        return false;
    }
    table_leaf = table_e;
    uint64_t e = 0;
    if (!direct.load_entry(table_e & sp::addr::mask, hw::pt_index(va, 1), e) ||
        (e & plan.fs_leaf_check) != plan.fs_leaf_want) {
        return false;
    }
    const uint8_t npm = fs_entry_perm(fs_pde_perm, e, plan.xd_perm);
    const uint64_t out_gpa = (e & fp::addr::mask) | (va & (hw::page_size_4k - 1));
    if ((npm & plan.fs_needs) != plan.fs_needs) {
        return false;
    }
    const paging_structure_cache::entry* out_pde = out_pde_of(out_gpa);
    uint64_t leaf = 0;
    uint8_t leaf_perm = 0;
    if (out_pde == nullptr || !ss_plain(*out_pde, hw::pt_index(out_gpa, 1), write, leaf, leaf_perm) ||
        (leaf_perm & plan.ss_needs) != plan.ss_needs) {
        return false;
    }
    const uint64_t hpa = (leaf & sp::addr::mask) | (out_gpa & (hw::page_size_4k - 1));
    if (hw::overlaps_interrupt_window(hpa, 1)) {
        return false;
    }
    const bool ss_dirty = !plan.ss_ad || sp::d::get(leaf);
    out_addr = hpa;
    perm = static_cast<uint8_t>(npm | leaf_perm | fs_leaf_flags(e, ss_dirty));
    ++fs_psc_hits;
    ss_psc_hits += 2;
    return true;
}

page_walker::planned_result page_walker::walk_planned_nested(nested_plan& plan, uint64_t va, bool write) {
    if (m_unplanned) [[unlikely]] {
        return {};
    }
    planned_result r;
    uint64_t table_leaf = 0;
    constexpr unsigned pde_shift = paging_structure_cache::prefix_shift(2);
    // PSC tags use the 57-bit input address (fs_walk_stages). The same first-stage PDE: the same
    // leaf-table GPA, its limit check passed and its second-stage leaf at the same index.
    if (plan.pde_changes == pde_changes() && (va & hw::low_mask(57)) >> pde_shift == plan.fs_prefix &&
        nested_leaves(
            plan, va, write, plan.fs_pde_perm, plan.ss_table_pde, plan.ss_table_index, &plan.ss_table_leaf,
            [&](uint64_t out_gpa) __attribute__((always_inline)) {
                // Below the limit (2^39 or more): in the 2 MiB region of the last walk's output, which was.
                return out_gpa >> pde_shift == plan.out_prefix ? &plan.ss_out_pde : nullptr;
            },
            table_leaf, r.out_addr, r.perm)) [[likely]] {
        r.done = true;
    }
    return r;
}

page_walker::planned_result page_walker::walk_planned_nested_peeking(nested_plan& plan, const pasid_info& p,
                                                                     uint64_t va, bool write) {
    if (m_unplanned) [[unlikely]] {
        return {};
    }
    using stage = paging_structure_cache::stage;
    constexpr unsigned pde_shift = paging_structure_cache::prefix_shift(2);
    // PSC tags use the 57-bit input address (fs_walk_stages).
    const uint64_t fva = va & hw::low_mask(57);
    uint32_t fs_slot = plan.fs_slot;
    uint32_t table_slot = plan.ss_table_slot;
    uint32_t out_slot = plan.ss_out_slot;
    const paging_structure_cache::entry* fs_pde = m_psc->peek(stage::first, p.did, p.pasid, 2, fva, fs_slot);
    if (fs_pde == nullptr) {
        return {};
    }
    const uint64_t entry_gpa = fs_pde->next_table + uint64_t{hw::pt_index(fva, 1)} * 8;
    if (entry_gpa >= plan.gpa_limit) {
        return {};
    }
    const paging_structure_cache::entry* table_pde = m_psc->peek(stage::second, p.did, 0, 2, entry_gpa, table_slot);
    if (table_pde == nullptr) {
        return {};
    }
    planned_result r;
    uint64_t table_leaf = 0;
    uint64_t out_gpa = 0;
    const paging_structure_cache::entry* out_pde = nullptr;
    if (!nested_leaves(
            plan, va, write, fs_pde->perm, *table_pde, hw::pt_index(entry_gpa, 1), nullptr,
            [&](uint64_t gpa) {
                out_gpa = gpa;
                out_pde = gpa < plan.gpa_limit ? m_psc->peek(stage::second, p.did, 0, 2, gpa, out_slot) : nullptr;
                return out_pde;
            },
            table_leaf, r.out_addr, r.perm)) {
        return {};
    }
    // What the walk's lookups do, in its order; then the PDEs are the plan's until the caches change.
    m_psc->touch(stage::first, 2, fs_slot);
    m_psc->touch(stage::second, 2, table_slot);
    m_psc->touch(stage::second, 2, out_slot);
    plan.fs_slot = fs_slot;
    plan.ss_table_slot = table_slot;
    plan.ss_out_slot = out_slot;
    plan.fs_pde_perm = fs_pde->perm;
    plan.ss_table_pde = *table_pde;
    plan.ss_table_index = hw::pt_index(entry_gpa, 1);
    plan.ss_table_leaf = table_leaf;
    plan.ss_out_pde = *out_pde;
    plan.fs_prefix = fva >> pde_shift;
    plan.out_prefix = out_gpa >> pde_shift;
    plan.pde_changes = pde_changes();
    r.done = true;
    return r;
}

}  // namespace iommusim
