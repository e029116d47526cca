// Scalable-mode page walker: root/context/PASID structures and first-stage, second-stage,
// nested and pass-through translation (docs/vtd-facts.md §4, §5).
//
// Models: RTADDR TTM check (RTA.1/RTA.2); root and scalable context entries; PASID directory and
// table (RID_PASID for requests without PASID); PGTT first-stage (4/5-level, FSPM), second-stage
// (3/4/5 levels from AW, checked against SAGAW), nested (every first-stage table address and the
// final GPA through a full second-stage walk with the §5.5 permission rules and faults
// 0x73-0x77) and pass-through; 2 MiB / 1 GiB pages in both stages per FS1GP / SSLPS; access
// rights of §5.2 (user/supervisor, SRE, WPE, R/W, U/S, XD with NXE, SMEP, ERE, SS X with SSEE);
// A/EA/D updates by cmpxchg64 (§5.3, nested needs SS R+W on the entry); second-stage A/D with the
// PASID entry's SSADE (ECAP.SSADS, §5.4): A in every SS entry a walk uses, D in the leaf of a
// permitted write, also in the SS walks of nested translation (a first-stage flag update is an SS
// write of its table page), SSADE without SSADS a bad PASID entry (0x5B); canonical and MGAW/AGAW
// checks; reserved bits at every level; the interrupt range 0xFEEx_xxxx; FPD qualification;
// memory access errors as the level's access fault; paging-structure caches (optional) and a
// side-effect-free mode (no A/D writes, no cache fills) for the stale-translation checker, which
// also gets the paging-structure-cache hits of each walk and the non-leaf entry the tables hold
// at a level (table_entry()).
// A walk is bounded by the level count: a table pointing at itself is just walked into.
// Does not model: legacy (TTM=00) translation, abort-DMA mode, page requests, memory types and
// snooping (no SFL.9 / SSL.5), translation timing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "iommusim/hw/vtd_fault.h"
#include "iommusim/hw/vtd_pte.h"
#include "tlm/iommu_config.h"
#include "tlm/paging_structure_cache.h"
#include "tlm/phys_mem_if.h"
#include "tlm/plain_walk.h"
#include "tlm/translation_types.h"

namespace iommusim {

// Outcome of walk(): the translation of the request's page, or a fault.
struct walk_result {
    hw::fault_reason fault = hw::fault_reason::none;
    uint64_t out_addr = 0;                   // HPA of the request address
    page_level level = page_level::size_4k;  // size of the linear region cached for the request
    uint8_t perm = 0;                        // iotlb_perm bits
    unsigned accesses = 0;                   // memory reads and cmpxchg operations
};

// One paging-structure-cache entry a walk used (the stale-translation checker compares it with
// the tables afterwards).
struct psc_use {
    paging_structure_cache::stage stage = paging_structure_cache::stage::first;
    unsigned level = 0;  // level of the cached entry (2 PDE .. 5 PML5E)
    uint64_t addr = 0;   // the address it translated (input address; GPA for the second stage)
    paging_structure_cache::entry cached;
};

// What the tables hold now at one non-leaf level (table_entry()).
struct table_entry_view {
    hw::fault_reason fault = hw::fault_reason::none;  // the walk down to the level failed
    bool non_leaf = false;                            // false: a leaf (large page) at or above the level
    uint64_t next_table = 0;
    uint8_t perm = 0;  // rights accumulated from the root down to and including the entry
    // Nested first stage: the walk failed because the second stage no longer maps (or lets the
    // walk read) a first-stage table on the way; the first-stage entry itself is out of sight.
    bool second_stage_blocked = false;
};

// Which table a walk memory access reads (walk-read observers, waves).
enum class walk_stage : uint8_t {
    root = 1,          // root table entry
    context = 2,       // context entry
    pasid_dir = 3,     // PASID directory entry
    pasid_table = 4,   // PASID table entry
    first_stage = 5,   // first-stage paging entry (level 5..1)
    second_stage = 6,  // second-stage paging entry (level 5..1)
    ad_update = 7,     // atomic A/D/EA update of a first-stage entry (read and compare-exchange)
};

class page_walker {
  public:
    page_walker(const iommu_config& config, phys_mem_if& mem, paging_structure_cache* psc);
    page_walker(const page_walker&) = delete;
    page_walker& operator=(const page_walker&) = delete;

    // RTA.1 / RTA.2: the latched RTADDR value must select scalable mode (docs/vtd-facts.md §1.6).
    hw::fault_reason check_root(uint64_t rtaddr, bool latched, bool has_pasid) const;

    // Root entry and scalable context entry of `rid` (faults 0x38-0x42). `fpd` reports the
    // context entry's FPD once the entry was found present.
    hw::fault_reason read_context(uint64_t rtaddr, uint16_t rid, context_info& out, bool& fpd, unsigned& accesses);

    // Request checks against the context entry (0x44-0x48); yields the effective PASID and access.
    hw::fault_reason setup_request(const context_info& ctx, const translation_request& req, uint32_t& pasid,
                                   access_type& access) const;

    // PASID directory and table entry (0x50-0x5B). `fpd` accumulates the entries' FPD.
    hw::fault_reason read_pasid(const context_info& ctx, uint32_t pasid, pasid_info& out, bool& fpd,
                                unsigned& accesses);

    // Request checks against the PASID entry (0x5C, 0x5D).
    hw::fault_reason check_pasid_request(const pasid_info& p, const access_type& access) const;

    // Input address checks (0x80 canonical, 0x83 beyond MGAW/AGAW).
    hw::fault_reason check_input(const pasid_info& p, uint64_t addr) const;

    // Walks the tables for `addr` (which passed check_input). With side_effects=false no A/D flag
    // is written and no paging-structure cache is filled (nor used: the answer is the tables').
    [[gnu::always_inline]] walk_result walk(const pasid_info& p, uint64_t addr, const access_type& access,
                                            bool side_effects);

    // The non-leaf entry at `level` of stage `st` that translates `addr` (an input address, or a
    // GPA for the second stage), read from memory without side effects or caches: what a
    // paging-structure-cache entry for it must hold.
    table_entry_view table_entry(const pasid_info& p, paging_structure_cache::stage st, unsigned level, uint64_t addr);

    // While set, every paging-structure-cache hit of a walk is appended to *log (nullptr: none).
    void set_psc_use_log(std::vector<psc_use>* log) {
        m_psc_log = log;
        update_unplanned();
    }

    // The first-stage walks of one PASID entry for one access, decided once (the translator plans
    // them per request source): the root and levels, and the plain-entry masks of its A/EA/D needs.
    struct fs_plan {
        plain_entries plain;
        uint64_t root = 0;
        unsigned levels = 4;
        uint8_t xd_perm = 0;       // fs_xd when XD counts (NXE)
        uint8_t access_needs = 0;  // rights_needed() of the access
    };
    // The plan of p's walks with side effects for `access`; false when they need more than plain
    // first-stage entries can give (another kind, the paging-structure caches, a root beyond HAW)
    // or the access executes (its rights are more than a mask).
    bool plan_fs(const pasid_info& p, const access_type& access, fs_plan& plan) const;
    // What a planned walk decided: done, with the 4 KiB page's out_addr and perm; or not done, having
    // read, counted, observed and changed nothing (walk() decides). Small enough to be returned in
    // registers: the planned walks are calls of their own, so that their values stay in registers.
    struct planned_result {
        uint64_t out_addr = 0;
        uint8_t perm = 0;
        bool done = false;
    };
    // walk(p, va, access, true) for the access planned when every entry on the way is plain
    // (plan.levels reads, no flag to set) in a directly readable page, the leaf's rights allow the
    // access and its page is outside the interrupt window.
    planned_result walk_planned(const fs_plan& plan, uint64_t va);

    // The nested walks of one PASID entry for one access that the paging-structure caches shorten
    // to the leaf (planned once, as fs_plan): a first-stage PDE and second-stage PDEs cached, the
    // three entries below them plain.
    struct nested_plan {
        static constexpr unsigned reads = 3;  // the first-stage leaf and the two second-stage leaves
        uint64_t fs_leaf_check = 0;           // a plain first-stage leaf, as fs_plain_entries()
        uint64_t fs_leaf_want = 0;
        uint64_t ss_leaf_check = 0;  // a plain second-stage leaf (R or W), as ss_translate's short way
        uint64_t ss_leaf_want = 0;
        uint64_t gpa_limit = 0;  // ss_input_limit()
        uint8_t xd_perm = 0;
        uint8_t fs_needs = 0;     // the first-stage half of rights_needed() of the access
        uint8_t ss_needs = 0;     // and its second-stage half
        bool ss_needs_d = false;  // SS A/D: a permitted write needs the second-stage leaf's D
        bool ss_ad = false;       // SS A/D on (SSADE): the leaf's D is the page's second-stage dirty bit
        // Where the walks found the caches' entries last (paging_structure_cache::peek looks there
        // first): the first-stage PDE, the leaf table's and the output's second-stage PDEs.
        uint32_t fs_slot = 0;
        uint32_t ss_table_slot = 0;
        uint32_t ss_out_slot = 0;
        // The last planned walk's PDEs and the changes() of both stages' PDE levels after its
        // touches (pde_changes()): while neither changed, a walk of the same 2 MiB input region
        // (fs_prefix) finds the same first-stage PDE and so the same leaf-table PDE, an output GPA
        // in the same 2 MiB region (out_prefix) the same output PDE, and its touches leave the LRU
        // order as it is. no_changes: none recorded.
        static constexpr uint64_t no_changes = ~uint64_t{0};
        uint64_t pde_changes = no_changes;  // the sum (both only grow: the same sum, the same two)
        uint64_t fs_prefix = 0;
        uint64_t out_prefix = 0;
        paging_structure_cache::entry ss_table_pde;
        paging_structure_cache::entry ss_out_pde;
        uint32_t ss_table_index = 0;  // the leaf table GPA's index below ss_table_pde
        uint64_t ss_table_leaf = 0;   // the second-stage leaf found there, plain and readable (0: none)
        uint8_t fs_pde_perm = 0;      // the first-stage PDE's rights
    };
    // The plan of p's walks with side effects for `access`; false for another kind, no
    // paging-structure caches, a second-stage root beyond HAW or an executing access.
    bool plan_nested(const pasid_info& p, const access_type& access, nested_plan& plan) const;
    // walk(p, va, access, true) for the access planned when the first-stage PDE of va and the
    // second-stage PDEs of the GPAs on the way are cached and the leaves below them are plain in
    // directly readable pages, the rights allow the access and the page is outside the interrupt
    // window; done: the caches' hits counted and made the most recently used in the walk's order.
    // This one takes the PDEs the plan holds from the last walk while the caches hold them
    // unchanged (nested_plan::pde_changes); not done, walk_planned_nested_peeking() finds them.
    planned_result walk_planned_nested(nested_plan& plan, uint64_t va, bool write);
    // walk_planned_nested() that finds the PDEs in the caches (peek), touches them in the walk's
    // order and records them in the plan.
    planned_result walk_planned_nested_peeking(nested_plan& plan, const pasid_info& p, uint64_t va, bool write);

    // Access rights of `perm` for `access` (docs/vtd-facts.md §5.2, §5.5): 0x81/0x82/0x85/0x86 or none.
    static hw::fault_reason check_rights(const pasid_info& p, uint8_t perm, const access_type& access);
    // The iotlb_perm bits a read or write (no exec) of privilege `priv` needs in p's stages:
    // check_rights allows it exactly when perm holds all of them.
    static uint8_t rights_needed(const pasid_info& p, bool write, bool priv);
    // Its first-stage half (U/S, R/W, XD, WPE, SMEP) and its second-stage half (R, W, X with SSEE).
    static hw::fault_reason check_fs_rights(const pasid_info& p, uint8_t perm, const access_type& access);
    static hw::fault_reason check_ss_rights(const pasid_info& p, uint8_t perm, const access_type& access);

    // The IOTLB key of an input address: bits above the widest input address (57) dropped.
    static uint64_t input_vpn(uint64_t addr) { return (addr & hw::low_mask(57)) >> 12; }

    // Called before every memory access of a walk with its address, table and level (0 for the
    // root, context and PASID structures). Empty: nothing is called.
    using read_observer = std::function<void(uint64_t pa, walk_stage stage, unsigned level)>;
    void set_read_observer(read_observer fn) {
        m_read_observer = std::move(fn);
        m_observing = m_read_observer && !m_observer_paused;
        update_unplanned();
    }
    // While paused the observer is not called (the stale checker's look at the tables is no
    // hardware access).
    void pause_read_observer(bool paused) {
        m_observer_paused = paused;
        m_observing = m_read_observer && !m_observer_paused;
        update_unplanned();
    }

    // Counters of the paging-structure caches (read by the translator's statistics).
    uint64_t fs_psc_hits = 0;
    uint64_t fs_psc_misses = 0;
    uint64_t ss_psc_hits = 0;
    uint64_t ss_psc_misses = 0;

  private:
    struct ss_out {
        uint64_t hpa = 0;
        unsigned level = 1;  // leaf level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB)
        uint8_t perm = 0;    // iotlb_perm::ss_r | ss_w | ss_x accumulated
        bool dirty = true;   // leaf D (true when SS A/D is off)
    };
    struct walk_ctx {
        const pasid_info* p = nullptr;
        bool side_effects = true;
        bool use_psc = false;
        unsigned accesses = 0;
        // table_entry(): stop below the non-leaf entry of this level of that stage (0: walk on).
        unsigned stop_fs_level = 0;
        unsigned stop_ss_level = 0;
        table_entry_view* stop = nullptr;
        // Set by prepare() for the second stage's short way: a plain table pointer has R or W and
        // (e & ss_table_bits) == ss_need_a; per-level work: a stop level or PSC fills.
        uint64_t ss_table_bits = 0;
        uint64_t ss_need_a = 0;  // A when SSADE asks for A/D updates
        bool ss_per_level_work = false;
    };
    void prepare(walk_ctx& w) const;
    // changes() of the PDE levels of both stages, summed (nested_plan::pde_changes).
    uint64_t pde_changes() const {
        using stage = paging_structure_cache::stage;
        return m_psc->changes(stage::first, 2) + m_psc->changes(stage::second, 2);
    }
    // The three plain leaves of a planned nested walk below the first-stage PDE of va (its rights
    // fs_pde_perm) and the second-stage PDE table_pde of its leaf table's GPA (the leaf at
    // table_index; known_table_leaf: one found plain and readable there before, nullptr: none);
    // out_pde_of(gpa): the second-stage PDE of the output GPA, below the second stage's input
    // limit (nullptr: beyond it, or the walk is not planned).
    // True with out_addr, perm and the leaf table page's second-stage leaf.
    template <typename OutPde>
    [[gnu::always_inline]] bool nested_leaves(const nested_plan& plan, uint64_t va, bool write, uint8_t fs_pde_perm,
                                              const paging_structure_cache::entry& table_pde, unsigned table_index,
                                              const uint64_t* known_table_leaf, OutPde out_pde_of, uint64_t& table_leaf,
                                              uint64_t& out_addr, uint8_t& perm);
    void log_psc_use(paging_structure_cache::stage st, unsigned level, uint64_t addr,
                     const paging_structure_cache::entry& e) {
        if (m_psc_log) [[unlikely]] {
            append_psc_use(st, level, addr, e);
        }
    }
    [[gnu::noinline]] void append_psc_use(paging_structure_cache::stage st, unsigned level, uint64_t addr,
                                          const paging_structure_cache::entry& e) {
        m_psc_log->push_back(psc_use{st, level, addr, e});
    }

    // The rights an entry leaves of `pm`: a second-stage entry's R/W/X (bits 2:0) line up with
    // ss_r/ss_w/ss_x three bits up, a first-stage entry's R/W and U/S (bits 2:1) with fs_rw/fs_us
    // one bit down, and XD (bit 63) with fs_xd 61 bits down.
    static constexpr uint8_t ss_rwx = iotlb_perm::ss_r | iotlb_perm::ss_w | iotlb_perm::ss_x;
    static_assert(iotlb_perm::ss_r == hw::ss_pte::r::mask << 3 && iotlb_perm::ss_w == hw::ss_pte::w::mask << 3 &&
                  iotlb_perm::ss_x == hw::ss_pte::x::mask << 3);
    static_assert(iotlb_perm::fs_rw == hw::fs_pte::rw::mask >> 1 && iotlb_perm::fs_us == hw::fs_pte::us::mask >> 1 &&
                  iotlb_perm::fs_xd == hw::fs_pte::xd::mask >> 61);
    // The page size of a leaf at leaf_level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB).
    static page_level to_page_level(unsigned leaf_level) { return static_cast<page_level>(leaf_level - 1); }
    static uint8_t ss_entry_perm(uint8_t pm, uint64_t e) {
        return pm & static_cast<uint8_t>((e << 3) | ~uint64_t{ss_rwx});
    }
    // xd_perm: fs_xd when XD counts (NXE), else 0.
    static uint8_t fs_entry_perm(uint8_t pm, uint64_t e, uint8_t xd_perm) {
        const auto kept = static_cast<uint8_t>(pm & ((e >> 1) | ~uint64_t{iotlb_perm::fs_rw | iotlb_perm::fs_us}));
        return kept | static_cast<uint8_t>((e >> 61) & xd_perm);
    }
    // The plain first-stage entries of a walk: a present table pointer without reserved bits whose
    // A (and EA) needs no update (taken by follow_plain only when `tables`), and a present 4 KiB
    // leaf without reserved bits whose A (EA) and, for a write, D need no update.
    plain_entries fs_plain_entries(const walk_ctx& w, const access_type& access, bool tables) const {
        namespace fp = hw::fs_pte;
        const uint64_t need_a = w.side_effects ? fp::a::mask | (w.p->eafe ? fp::ea::mask : 0) : 0;
        const uint64_t need_ad = need_a | (w.side_effects && access.write ? fp::d::mask : 0);
        return plain_entries{fp::p::mask,           fp::p::mask | m_addr_above_haw | fp::ps::mask | need_a,
                             fp::p::mask | need_a,  fp::p::mask | m_addr_above_haw | need_ad,
                             fp::p::mask | need_ad, tables};
    }
    // The rights pm leaves after the table pointers a plain walk passed: R/W and U/S survive in
    // their AND, XD (with NXE) in their OR.
    static uint8_t fs_run_perm(const pasid_info& p, uint8_t pm, const plain_walk& run) {
        return fs_run_perm(p.nxe ? iotlb_perm::fs_xd : 0, pm, run);
    }
    // The same with xd_perm as fs_entry_perm's.
    static uint8_t fs_run_perm(uint8_t xd_perm, uint8_t pm, const plain_walk& run) {
        return static_cast<uint8_t>(fs_entry_perm(pm, run.all_bits, 0) | ((run.any_bits >> 61) & xd_perm));
    }
    // The dirty and accessed bits of a first-stage leaf e (dirty only while ss_dirty: the page is
    // dirty in the second stage too): D sits where dirty does, A two bits below accessed.
    static uint8_t fs_leaf_flags(uint64_t e, bool ss_dirty = true) {
        namespace fp = hw::fs_pte;
        static_assert(fp::d::mask == iotlb_perm::dirty && fp::a::mask << 2 == iotlb_perm::accessed);
        return static_cast<uint8_t>((e & (ss_dirty ? fp::d::mask : 0)) | ((e & fp::a::mask) << 2));
    }
    // The translation of a plain 4 KiB first-stage leaf e below the rights pm (first stage only):
    // its rights checked, then r.
    static hw::fault_reason fs_plain_leaf(const pasid_info& p, uint8_t pm, uint64_t e, uint64_t va,
                                          const access_type& access, walk_result& r);
    // r for a plain 4 KiB first-stage leaf e that leaves the rights npm (first stage only).
    static void fs_plain_translation(uint8_t npm, uint64_t e, uint64_t va, walk_result& r);
    // A first-stage walk (no PSC, no observer, no stop) whose entries are all plain and whose pages
    // are all directly readable, all or nothing: true when it decided (f, r and the reads counted);
    // false when it met anything else, having counted nothing: the full walk then does it all.
    bool fs_walk_plain(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r, hw::fault_reason& f);

    // A first-stage entry a walk read: its address (a GPA under nesting), where it was read and the
    // second stage's rights on its page (nested).
    struct fs_entry {
        uint64_t gpa = 0;
        uint64_t pa = 0;
        uint64_t e = 0;
        uint8_t ss_perm = 0;
    };
    // What the full checks of one entry decided: a fault, the end of the walk (done: a leaf), or
    // the next table and the rights so far.
    struct entry_step {
        hw::fault_reason fault = hw::fault_reason::none;
        bool done = false;
        uint8_t pm = 0;
        uint64_t table = 0;
    };
    // The lowest cached non-leaf entry for a walk of `levels` levels: the walk resumes below it
    // (table, pm, level set; false: no hit).
    template <paging_structure_cache::stage st>
    bool psc_resume(uint16_t did, uint32_t pasid, unsigned levels, uint64_t addr, uint64_t& table, uint8_t& pm,
                    unsigned& level);
    // Full second-stage walk of `gpa` (faults 0x78-0x7B only; the caller checks rights and range).
    hw::fault_reason ss_translate(walk_ctx& w, uint64_t gpa, bool write, ss_out& out);
    // The same, inlined where a walk calls it per entry (nested first-stage tables and output).
    [[gnu::always_inline]] hw::fault_reason ss_translate_inline(walk_ctx& w, uint64_t gpa, bool write, ss_out& out);
    // Its walk from the entry at `level` of `table` on, pm the rights above (every read counted
    // and observed, every entry checked).
    [[gnu::noinline]] hw::fault_reason ss_walk_from(walk_ctx& w, uint64_t gpa, bool write, ss_out& out, unsigned level,
                                                    uint64_t table, uint8_t pm);
    // The full checks of a second-stage entry e read at pa that the short way does not take (not
    // present, reserved bits, large pages, A/D updates); pm: the rights above it. done: out holds
    // the translation.
    [[gnu::noinline]] entry_step ss_entry_slow(walk_ctx& w, uint64_t gpa, bool write, unsigned level, uint64_t pa,
                                               uint64_t e, uint8_t pm, ss_out& out);
    hw::fault_reason fs_walk(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r);
    // fs_walk for one translation kind: first-stage only, or nested (every table through the second stage).
    template <bool nested>
    hw::fault_reason fs_walk_stages(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r);
    // The full checks of a first-stage entry that fs_walk_stages' short way does not take; pm: the
    // rights above it. done: r holds the translation (or table_entry() met a leaf).
    template <bool nested>
    [[gnu::noinline]] entry_step fs_entry_slow(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r,
                                               unsigned level, fs_entry at, uint64_t gpa_limit, uint8_t pm);
    // A PS entry at `level` (2..5) is a supported large page without reserved low address bits.
    bool ss_large_page_ok(uint64_t e, unsigned level) const;
    bool fs_large_page_ok(uint64_t e, unsigned level) const;
    // One paging-entry read of a walk (counted and observed); entries are 8-byte aligned.
    phys_mem_if::loaded64 read_entry(walk_ctx& w, uint64_t pa, walk_stage stage, unsigned level) {
        ++w.accesses;
        observe(pa, stage, level);
        return m_mem.load_aligned64(pa);
    }
    void observe(uint64_t pa, walk_stage stage, unsigned level) const {
        if (m_observing) [[unlikely]] {
            m_read_observer(pa, stage, level);
        }
    }
    // Atomically moves the entry at pa from e to want (A/D/EA updates, docs/vtd-facts.md §5.3). done: e is
    // want; changed: another writer changed the entry first, e holds what it wrote and the caller
    // re-checks it; failed: a memory error, or the entry kept changing (the walk must terminate).
    enum class flag_update { done, changed, failed };
    flag_update set_flags(walk_ctx& w, uint64_t pa, uint64_t& e, uint64_t want, unsigned attempt);
    // Sets first-stage A/D/EA flags: the nested preconditions of §5.5 (SS R and W on the entry's
    // page, SS A/D of that page) and then set_flags. none with retry false: done; none with retry
    // true: the entry changed, re-check it; else the fault.
    hw::fault_reason set_fs_flags(walk_ctx& w, const pasid_info& p, bool nested, uint8_t entry_ss_perm,
                                  uint64_t entry_gpa, uint64_t entry_pa, uint64_t& e, uint64_t want, unsigned attempt,
                                  bool& retry);
    uint64_t ss_input_limit(const pasid_info& p) const;  // first GPA beyond min(MGAW, AGAW)

    const iommu_config& m_config;
    phys_mem_if& m_mem;
    paging_structure_cache* m_psc;
    uint64_t m_haw_mask;        // address bits at or above HAW
    uint64_t m_addr_above_haw;  // the address-field bits of a paging entry at or above HAW (reserved)
    uint64_t m_ss_reserved;     // and, for a second-stage entry, TM (reserved in scalable mode)
    read_observer m_read_observer;
    bool m_observer_paused = false;
    bool m_observing = false;  // an observer is set and not paused
    std::vector<psc_use>* m_psc_log = nullptr;
    bool m_unplanned = false;  // m_observing or m_psc_log: the planned walks leave every walk to walk()
    void update_unplanned() { m_unplanned = m_observing || m_psc_log != nullptr; }
};

inline hw::fault_reason page_walker::fs_plain_leaf(const pasid_info& p, uint8_t pm, uint64_t e, uint64_t va,
                                                   const access_type& access, walk_result& r) {
    const uint8_t npm = fs_entry_perm(pm, e, p.nxe ? iotlb_perm::fs_xd : 0);
    if (const hw::fault_reason rights = check_fs_rights(p, npm, access); rights != hw::fault_reason::none) {
        return rights;
    }
    fs_plain_translation(npm, e, va, r);
    return hw::fault_reason::none;
}

inline void page_walker::fs_plain_translation(uint8_t npm, uint64_t e, uint64_t va, walk_result& r) {
    namespace fp = hw::fs_pte;
    r.out_addr = (e & fp::addr::mask) | (va & (hw::page_size_4k - 1));
    r.level = page_level::size_4k;
    r.perm = static_cast<uint8_t>(npm | ss_rwx | fs_leaf_flags(e));
}

inline bool page_walker::fs_walk_plain(walk_ctx& w, uint64_t va, const access_type& access, walk_result& r,
                                       hw::fault_reason& f) {
    const pasid_info& p = *w.p;
    if (p.fsptptr & m_haw_mask) {
        return false;
    }
    // As fs_walk_stages' short way, from the root.
    const plain_walk run = follow_plain(m_mem.direct(), va, p.fsptptr, p.fs_levels, fs_plain_entries(w, access, true));
    if (!run.done) {
        return false;
    }
    w.accesses += run.passed;
    f = fs_plain_leaf(p, fs_run_perm(p, iotlb_perm::fs_rw | iotlb_perm::fs_us, run), run.leaf, va, access, r);
    return true;
}

inline bool page_walker::plan_fs(const pasid_info& p, const access_type& access, fs_plan& plan) const {
    if (p.kind != translation_kind::first_stage || (m_psc != nullptr && m_config.psc_enable) ||
        (p.fsptptr & m_haw_mask) || access.exec) {
        return false;
    }
    walk_ctx w;
    w.p = &p;
    plan.plain = fs_plain_entries(w, access, true);
    plan.root = p.fsptptr;
    plan.levels = p.fs_levels;
    plan.xd_perm = p.nxe ? iotlb_perm::fs_xd : 0;
    plan.access_needs = rights_needed(p, access.write, access.priv);
    return true;
}

inline bool page_walker::plan_nested(const pasid_info& p, const access_type& access, nested_plan& plan) const {
    namespace sp = hw::ss_pte;
    namespace perm = iotlb_perm;
    if (p.kind != translation_kind::nested || m_psc == nullptr || !m_config.psc_enable || (p.ssptptr & m_haw_mask) ||
        access.exec) {
        return false;
    }
    plan = nested_plan{};  // nothing recorded of another entry's walks
    walk_ctx w;
    w.p = &p;
    const plain_entries fs = fs_plain_entries(w, access, false);
    plan.fs_leaf_check = fs.leaf_check;
    plan.fs_leaf_want = fs.leaf_want;
    const uint64_t need_a = p.ssade ? sp::a::mask : 0;
    plan.ss_leaf_check = m_ss_reserved | need_a;
    plan.ss_leaf_want = need_a;
    plan.gpa_limit = ss_input_limit(p);
    plan.xd_perm = p.nxe ? perm::fs_xd : 0;
    const uint8_t needs = rights_needed(p, access.write, access.priv);
    plan.fs_needs = needs & (perm::fs_rw | perm::fs_us);
    plan.ss_needs = needs & ss_rwx;
    plan.ss_needs_d = p.ssade && access.write;
    plan.ss_ad = p.ssade;
    return true;
}

inline void page_walker::prepare(walk_ctx& w) const {
    w.ss_need_a = w.p->ssade && w.side_effects ? hw::ss_pte::a::mask : 0;
    w.ss_table_bits = m_ss_reserved | hw::ss_pte::ps::mask | w.ss_need_a;
    w.ss_per_level_work = w.stop_ss_level != 0 || w.use_psc;
}

// Inline: the translator calls it for every walk.
inline walk_result page_walker::walk(const pasid_info& p, uint64_t addr, const access_type& access, bool side_effects) {
    namespace perm = iotlb_perm;
    walk_result r;
    walk_ctx w;
    w.p = &p;
    w.side_effects = side_effects;
    w.use_psc = side_effects && m_psc != nullptr && m_config.psc_enable;
    if (p.uses_ss()) {
        prepare(w);
    }
    hw::fault_reason f = hw::fault_reason::none;
    switch (p.kind) {
        case translation_kind::first_stage:
            if (w.use_psc || m_observing || !fs_walk_plain(w, addr, access, r, f)) {
                f = fs_walk_stages<false>(w, addr, access, r);
            }
            break;
        case translation_kind::nested:
            f = fs_walk_stages<true>(w, addr, access, r);
            break;
        case translation_kind::second_stage: {
            ss_out ss;
            f = ss_translate(w, addr, access.write, ss);
            if (f == hw::fault_reason::none) {
                f = check_rights(p, ss.perm, access);
            }
            if (f == hw::fault_reason::none) {
                r.out_addr = ss.hpa;
                r.level = to_page_level(ss.level);
                r.perm = static_cast<uint8_t>(perm::fs_rw | perm::fs_us | ss.perm | perm::accessed);
                if (ss.dirty) {
                    r.perm |= perm::dirty;
                }
            }
            break;
        }
        case translation_kind::pass_through: {
            r.out_addr = addr;
            r.level = page_level::size_1g;
            r.perm = perm::fs_rw | perm::fs_us | perm::ss_r | perm::ss_w | perm::ss_x | perm::dirty | perm::accessed;
            break;
        }
    }
    r.accesses = w.accesses;
    if (f != hw::fault_reason::none) {
        r.fault = f;
        return r;
    }
    // The interrupt window is never reachable by DMA (§5.6); a page around it is cached as 4 KiB so
    // a cached translation can never cover it.
    if (hw::overlaps_interrupt_window(r.out_addr, 1)) {
        r.fault = hw::fault_reason::gn_interrupt_range;
        return r;
    }
    while (r.level != page_level::size_4k) {
        const uint64_t bytes = uint64_t{1} << page_level_shift(r.level);
        const uint64_t out_base = r.out_addr & ~(bytes - 1);
        const uint64_t in_base = addr & ~(bytes - 1);
        const bool in_range = p.kind != translation_kind::pass_through || ((in_base + bytes - 1) >> m_config.mgaw) == 0;
        if (!hw::overlaps_interrupt_window(out_base, bytes) && in_range) {
            break;
        }
        r.level = static_cast<page_level>(static_cast<unsigned>(r.level) - 1);
    }
    return r;
}

// Inline: the translator calls these for every translation, IOTLB hits included.
inline hw::fault_reason page_walker::setup_request(const context_info& ctx, const translation_request& req,
                                                   uint32_t& pasid, access_type& access) const {
    if (req.ats_translation && !(ctx.dte && m_config.dt)) {
        return hw::fault_reason::ctx_dte_clear;
    }
    const uint64_t dir_entries = uint64_t{1} << (ctx.pdts + 7);
    if (req.has_pasid) {
        if (!ctx.paside || !m_config.pasid) {
            return hw::fault_reason::ctx_paside_clear;
        }
        const uint64_t pasid_limit = uint64_t{1} << (m_config.pss + 1);
        if (req.pasid >= pasid_limit || (req.pasid >> 6) >= dir_entries) {
            return hw::fault_reason::ctx_pasid_too_large;
        }
        pasid = req.pasid;
        access = access_type{req.write, req.exec, req.priv};
    } else {
        if ((ctx.rid_pasid >> 6) >= dir_entries) {
            return hw::fault_reason::ctx_rid_pasid;
        }
        pasid = ctx.rid_pasid;
        // Requests without PASID are user data requests unless RID_PRIV says otherwise (§5.2).
        access = access_type{req.write, false, ctx.rid_priv};
    }
    return hw::fault_reason::none;
}

inline hw::fault_reason page_walker::check_pasid_request(const pasid_info& p, const access_type& access) const {
    if (access.exec && !p.ere) {
        return hw::fault_reason::pte_ere_clear;
    }
    if (access.priv && !p.sre) {
        return hw::fault_reason::pte_sre_clear;
    }
    return hw::fault_reason::none;
}

inline uint64_t page_walker::ss_input_limit(const pasid_info& p) const {
    const unsigned width = std::min(m_config.mgaw, hw::ss_width_from_aw(p.ss_levels - 2));
    return uint64_t{1} << width;
}

inline hw::fault_reason page_walker::check_input(const pasid_info& p, uint64_t addr) const {
    switch (p.kind) {
        case translation_kind::first_stage:
        case translation_kind::nested: {
            const unsigned n = p.fs_levels == 5 ? 57 : 48;
            const uint64_t upper = addr >> (n - 1);  // bits 63:n-1 all equal
            if (upper != 0 && upper != (~uint64_t{0} >> (n - 1))) {
                return hw::fault_reason::gn_not_canonical;
            }
            return hw::fault_reason::none;
        }
        case translation_kind::second_stage:
            return addr >= ss_input_limit(p) ? hw::fault_reason::gn_addr_beyond_max : hw::fault_reason::none;
        case translation_kind::pass_through:
            return (addr >> m_config.mgaw) ? hw::fault_reason::gn_addr_beyond_max : hw::fault_reason::none;
    }
    return hw::fault_reason::none;
}

// Inline: the IOTLB hit path calls it for every translation.
inline hw::fault_reason page_walker::check_rights(const pasid_info& p, uint8_t pm, const access_type& a) {
    if (p.uses_fs()) {
        if (const hw::fault_reason f = check_fs_rights(p, pm, a); f != hw::fault_reason::none) {
            return f;
        }
    }
    return p.uses_ss() ? check_ss_rights(p, pm, a) : hw::fault_reason::none;
}

inline uint8_t page_walker::rights_needed(const pasid_info& p, bool write, bool priv) {
    namespace perm = iotlb_perm;
    uint8_t need = 0;
    if (p.uses_fs()) {
        // A user access needs U/S; a write R/W, unless it is a supervisor one without WPE.
        need |= priv ? 0 : perm::fs_us;
        need |= write && (!priv || p.wpe) ? perm::fs_rw : 0;
    }
    if (p.uses_ss()) {
        need |= write ? perm::ss_w : perm::ss_r;
    }
    return need;
}

inline hw::fault_reason page_walker::check_fs_rights(const pasid_info& p, uint8_t pm, const access_type& a) {
    using hw::fault_reason;
    namespace perm = iotlb_perm;
    const bool rw = pm & perm::fs_rw;
    const bool us = pm & perm::fs_us;
    const bool xd = pm & perm::fs_xd;
    if (!a.priv) {
        if (!us) {
            return fault_reason::gn_user_denied;
        }
        if (a.write && !rw) {
            return fault_reason::gn_write_denied;
        }
        if (a.exec && xd) {
            return fault_reason::gn_exec_denied;
        }
    } else {
        if (a.write && p.wpe && !rw) {
            return fault_reason::gn_write_denied;
        }
        if (a.exec && (xd || (p.smep && us))) {
            return fault_reason::gn_exec_denied;
        }
    }
    return fault_reason::none;
}

inline hw::fault_reason page_walker::check_ss_rights(const pasid_info& p, uint8_t pm, const access_type& a) {
    using hw::fault_reason;
    namespace perm = iotlb_perm;
    if (a.exec) {
        if (!(pm & perm::ss_r)) {
            return fault_reason::gn_read_denied;
        }
        if (p.ssee && !(pm & perm::ss_x)) {
            return fault_reason::gn_exec_denied;
        }
    } else if (a.write) {
        if (!(pm & perm::ss_w)) {
            return fault_reason::gn_write_denied;
        }
    } else if (!(pm & perm::ss_r)) {
        return fault_reason::gn_read_denied;
    }
    return fault_reason::none;
}

}  // namespace iommusim
