// Translator tests: the planned walks of an IOTLB miss (the misses of a request source whose
// context and PASID entries were cached): first stage without paging-structure caches, nested with
// them warm; what they answer, fill and count, and every case they leave to the full walk.
#include <vector>

#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

namespace pm = iotlb_perm;

constexpr uint64_t k_a = fp::a::mask;
constexpr uint64_t k_ad = fp::a::mask | fp::d::mask;
constexpr uint64_t k_warm = 0x7f00'0000'0000;  // the first page translated; the others share its tables
constexpr uint8_t k_ss_all = pm::ss_r | pm::ss_w | pm::ss_x;

class PlannedWalk : public Translator {
  protected:
    PlannedWalk() { cfg.psc_enable = false; }

    // First-stage PASID 5; its table pointers carry A already (no flag to set on the way).
    void start(pasid_opts o = {}, unsigned levels = 4) {
        setup_fs(levels, o);
        map(0, 0x50'0000, k_fs_urw | k_a);
    }
    void map(unsigned page, uint64_t out, uint64_t leaf_flags) {
        tb.map_fs(fs, k_warm + page * 0x1000, out, 1, leaf_flags, k_fs_urw | k_a);
    }
    // The first translation reads the context and PASID entries into their caches (no checked
    // source yet); later requests of the source take the planned walk.
    void warm(const req_opts& o = {.pasid = 5}) {
        build();
        ASSERT_TRUE(xl(k_warm, o).ok());
        tr->reset_stats();
    }
    translation_result page(unsigned n, uint64_t offset, req_opts o = {.pasid = 5}) {
        return xl(k_warm + n * 0x1000 + offset, o);
    }
    std::optional<iotlb_entry> cached(unsigned n) {
        return tlb->lookup(1, 5, translation_kind::first_stage, (k_warm >> 12) + n);
    }
};

TEST_F(PlannedWalk, AnswersFillsAndCountsFourReads) {
    start();
    map(1, 0x1234'5000, k_fs_urw | k_ad);
    warm({.pasid = 5, .write = true});
    const uint64_t leaf = tb.read64(tb.fs_entry_addr(fs, k_warm + 0x1000, 1));
    const translation_result r = page(1, 0x123, {.pasid = 5, .write = true});
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_FALSE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, 0x1234'5123u);
    EXPECT_EQ(r.page_bytes, 0x1000u);
    EXPECT_EQ(r.walk_accesses, 4u);
    EXPECT_TRUE(r.can_read);
    EXPECT_TRUE(r.can_write);
    EXPECT_EQ(r.did, 1u);
    EXPECT_EQ(r.pasid, 5u);
    EXPECT_EQ(r.kind, translation_kind::first_stage);
    const translation_stats st = tr->stats();
    EXPECT_EQ(st.translations, 1u);
    EXPECT_EQ(st.iotlb_misses, 1u);
    EXPECT_EQ(st.walks, 1u);
    EXPECT_EQ(st.walk_accesses, 4u);
    EXPECT_EQ(st.iotlb_fills, 1u);
    EXPECT_EQ(st.faults, 0u);
    const std::optional<iotlb_entry> e = cached(1);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->tag.level, page_level::size_4k);
    EXPECT_EQ(e->payload.out_pfn, 0x12345u);
    EXPECT_EQ(e->payload.perm, pm::fs_rw | pm::fs_us | k_ss_all | pm::dirty | pm::accessed);
    EXPECT_EQ(tb.read64(tb.fs_entry_addr(fs, k_warm + 0x1000, 1)), leaf);  // nothing written
    EXPECT_TRUE(page(1, 0, {.pasid = 5, .write = true}).iotlb_hit);
}

TEST_F(PlannedWalk, RightsOfReadOnlyAndCleanPages) {
    start();
    map(1, 0x21000, fp::p::mask | fp::us::mask | k_ad);  // no R/W
    map(2, 0x22000, k_fs_urw | k_a);                     // no D
    warm();
    const translation_result ro = page(1, 0);
    ASSERT_TRUE(ro.ok());
    EXPECT_EQ(ro.walk_accesses, 4u);
    EXPECT_TRUE(ro.can_read);
    EXPECT_FALSE(ro.can_write);
    EXPECT_EQ(cached(1)->payload.perm, pm::fs_us | k_ss_all | pm::dirty | pm::accessed);
    const translation_result clean = page(2, 0);
    ASSERT_TRUE(clean.ok());
    EXPECT_EQ(clean.walk_accesses, 4u);
    EXPECT_TRUE(clean.can_read);
    EXPECT_FALSE(clean.can_write);  // a write must walk to set D
    EXPECT_EQ(cached(2)->payload.perm, pm::fs_rw | pm::fs_us | k_ss_all | pm::accessed);
}

TEST_F(PlannedWalk, SupervisorRightsFollowWpe) {
    cfg.srs = true;
    for (const bool wpe : {false, true}) {
        pasid_opts o;
        o.sre = true;
        o.wpe = wpe;
        start(o);
        map(1, 0x21000, fp::p::mask | k_ad);  // supervisor page, no R/W
        warm({.pasid = 5, .priv = true});
        const translation_result r = page(1, 0, {.pasid = 5, .priv = true});
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r.walk_accesses, 4u);
        EXPECT_TRUE(r.can_read);
        EXPECT_EQ(r.can_write, !wpe) << "wpe " << wpe;
        EXPECT_EQ(cached(1)->payload.perm, k_ss_all | pm::dirty | pm::accessed);
        const translation_result user = page(1, 0x10);  // another source: user requests need U/S
        EXPECT_EQ(user.fault, fault_reason::gn_user_denied);
    }
}

TEST_F(PlannedWalk, ExecuteDisableWithNxe) {
    pasid_opts o;
    o.nxe = true;
    start(o);
    map(1, 0x21000, k_fs_urw | k_ad | fp::xd::mask);
    warm();
    ASSERT_TRUE(page(1, 0).ok());
    EXPECT_EQ(cached(1)->payload.perm, pm::fs_rw | pm::fs_us | pm::fs_xd | k_ss_all | pm::dirty | pm::accessed);
}

TEST_F(PlannedWalk, FiveLevels) {
    cfg.fs5lp = true;
    cfg.mgaw = 57;
    start({}, 5);
    map(1, 0x21000, k_fs_urw | k_ad);
    warm();
    const translation_result r = page(1, 0x8);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.out_addr, 0x21008u);
    EXPECT_EQ(r.walk_accesses, 5u);
    EXPECT_EQ(tr->stats().walk_accesses, 5u);
}

TEST_F(PlannedWalk, FlagUpdatesAreLeftToTheFullWalk) {
    start();
    map(1, 0x21000, k_fs_urw);        // A clear
    map(2, 0x22000, k_fs_urw | k_a);  // D clear, for a write
    warm({.pasid = 5, .write = true});
    const translation_result a = page(1, 0, {.pasid = 5, .write = true});
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a.walk_accesses, 5u);  // four reads and the A/D update
    EXPECT_EQ(tb.read64(tb.fs_entry_addr(fs, k_warm + 0x1000, 1)) & k_ad, k_ad);
    const translation_result d = page(2, 0, {.pasid = 5, .write = true});
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d.walk_accesses, 5u);
    EXPECT_TRUE(d.can_write);
    EXPECT_EQ(tb.read64(tb.fs_entry_addr(fs, k_warm + 0x2000, 1)) & k_ad, k_ad);
    const translation_stats st = tr->stats();
    EXPECT_EQ(st.walks, 2u);
    EXPECT_EQ(st.walk_accesses, 10u);
}

TEST_F(PlannedWalk, FaultsAreLeftToTheFullWalk) {
    start();
    map(1, 0x21000, fp::p::mask | fp::rw::mask | k_ad);  // supervisor only
    map(2, hw::interrupt_window_base, k_fs_urw | k_ad);
    tb.map_fs(fs, k_warm + 0x3000, 0x23000, 1, k_fs_urw | k_ad, k_fs_urw | k_a);
    tb.write64(tb.fs_entry_addr(fs, k_warm + 0x3000, 1), 0);  // not present
    warm();
    const translation_result user = page(1, 0);
    EXPECT_EQ(user.fault, fault_reason::gn_user_denied);
    EXPECT_EQ(user.walk_accesses, 4u);
    EXPECT_EQ(page(2, 0).fault, fault_reason::gn_interrupt_range);
    const translation_result absent = page(3, 0);
    EXPECT_EQ(absent.fault, fault_reason::fs_not_present);
    EXPECT_EQ(absent.walk_accesses, 4u);
    const translation_stats st = tr->stats();
    EXPECT_EQ(st.faults, 3u);
    EXPECT_EQ(st.walk_accesses, 12u);
    EXPECT_EQ(st.iotlb_fills, 0u);
    EXPECT_FALSE(cached(1).has_value());
}

TEST_F(PlannedWalk, ObservedReadsAreLeftToTheFullWalk) {
    start();
    map(1, 0x21000, k_fs_urw | k_ad);
    warm();
    std::vector<unsigned> levels;
    tr->walker().set_read_observer([&](uint64_t, walk_stage stage, unsigned level) {
        EXPECT_EQ(stage, walk_stage::first_stage);
        levels.push_back(level);
    });
    const translation_result r = page(1, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.walk_accesses, 4u);
    EXPECT_EQ(levels, (std::vector<unsigned>{4, 3, 2, 1}));
}

TEST_F(PlannedWalk, ExecutingRequestsTakeTheFullWalk) {
    cfg.ers = true;
    pasid_opts o;
    o.ere = true;
    o.nxe = true;
    start(o);
    map(1, 0x21000, k_fs_urw | k_ad);
    map(2, 0x22000, k_fs_urw | k_ad | fp::xd::mask);
    warm({.pasid = 5, .exec = true});
    const translation_result x = page(1, 0, {.pasid = 5, .exec = true});
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(x.walk_accesses, 4u);
    EXPECT_EQ(page(2, 0, {.pasid = 5, .exec = true}).fault, fault_reason::gn_exec_denied);
}

// A checked source's plan holds while its entries do: a PASID entry re-read after an invalidation
// walks its new tables.
TEST_F(PlannedWalk, NewPasidEntryIsPlannedAgain) {
    start();
    map(1, 0x21000, k_fs_urw | k_ad);
    warm();
    EXPECT_EQ(page(1, 0x40).out_addr, 0x21040u);
    const fs_space old = fs;
    const fs_space other = tb.new_fs(4);
    tb.map_fs(other, k_warm + 0x1000, 0x61000, 1, k_fs_urw | k_ad, k_fs_urw | k_a);
    pasid_opts o;
    o.pgtt = hw::pgtt::first_stage;
    o.fsptptr = other.root;
    tb.set_pasid(k_rid, 5, o);
    tr->invalidate({.kind = scope_kind::pasid_cache_all});
    tr->invalidate({.kind = scope_kind::iotlb_all});
    EXPECT_EQ(page(1, 0x40).out_addr, 0x61040u);  // re-read entry, source checked again
    EXPECT_EQ(page(1, 0x80).out_addr, 0x61080u);  // IOTLB hit
    tr->invalidate({.kind = scope_kind::iotlb_all});
    const translation_result r = page(1, 0xc0);  // planned again, on the new root
    EXPECT_EQ(r.out_addr, 0x610c0u);
    EXPECT_EQ(r.walk_accesses, 4u);
    EXPECT_NE(old.root, other.root);
}

TEST_F(PlannedWalk, PagingStructureCachesTakeTheFullWalk) {
    cfg.psc_enable = true;
    start();
    map(1, 0x21000, k_fs_urw | k_ad);
    warm();
    const translation_result r = page(1, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.walk_accesses, 1u);  // resumed below the cached PDE
    EXPECT_EQ(tr->stats().fs_psc_hits, 1u);
}

// The planned nested walk: the paging-structure caches warm (the first translation fills them),
// later pages of the same first-stage leaf table read three entries.
class PlannedNestedWalk : public Translator {
  protected:
    static constexpr uint64_t k_out = 0x9000'0000;  // GPA of page n's output: k_out + n * 0x1000

    void start(pasid_opts o = {}) {
        setup_nested(o);
        map(0, k_fs_urw | k_a);
    }
    void map(unsigned n, uint64_t leaf_flags, uint64_t ss_leaf_flags = k_rw) {
        tb.map_fs(fs, k_warm + n * 0x1000, k_out + n * 0x1000, 1, leaf_flags, k_fs_urw | k_a);
        tb.map_ss(ss_root, 4, k_out + n * 0x1000, 0x8'0000'0000 + n * 0x5000, 1, ss_leaf_flags);
    }
    void warm(const req_opts& o = {.pasid = 5}) {
        build();
        ASSERT_TRUE(xl(k_warm, o).ok());
        tr->reset_stats();
    }
    translation_result page(unsigned n, uint64_t offset, req_opts o = {.pasid = 5}) {
        return xl(k_warm + n * 0x1000 + offset, o);
    }
    // The GPA of the first-stage leaf table (the cached PDE's pointer).
    uint64_t leaf_table_gpa() {
        uint32_t slot = 0;
        const auto* pde = tr->psc().peek(paging_structure_cache::stage::first, 1, 5, 2, k_warm, slot);
        return pde != nullptr ? pde->next_table : 0;
    }
    // A lookup of the leaf table's second-stage PDE makes the output's the older one; returns the
    // leaf table's GPA.
    uint64_t make_output_pde_older() {
        const uint64_t tables = leaf_table_gpa();
        EXPECT_NE(tables, 0u);
        EXPECT_NE(tr->psc().lookup(paging_structure_cache::stage::second, 1, 0, 2, tables), nullptr);
        return tables;
    }
    // With two second-stage PDEs cached (ss_psc_entries = 2): the output's is the more recently
    // used one, so a third fill evicts the leaf table's (`tables`).
    void expect_output_pde_newer(uint64_t tables) {
        using stage = paging_structure_cache::stage;
        tr->psc().fill(stage::second, 1, 0, 2, 0x1'0000'0000, {0x5000, 0});  // evicts the least recently used
        uint32_t slot = 0;
        EXPECT_EQ(tr->psc().peek(stage::second, 1, 0, 2, tables, slot), nullptr);
        EXPECT_NE(tr->psc().peek(stage::second, 1, 0, 2, k_out, slot), nullptr);
    }
};

TEST_F(PlannedNestedWalk, AnswersFromWarmCachesWithThreeReads) {
    start();
    map(1, k_fs_urw | k_ad);
    warm({.pasid = 5, .write = true});
    const translation_result r = page(1, 0x10, {.pasid = 5, .write = true});
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0x8'0000'5010u);
    EXPECT_EQ(r.page_bytes, 0x1000u);
    EXPECT_EQ(r.walk_accesses, 3u);
    EXPECT_TRUE(r.can_read);
    EXPECT_TRUE(r.can_write);
    EXPECT_EQ(r.kind, translation_kind::nested);
    const translation_stats st = tr->stats();
    EXPECT_EQ(st.walks, 1u);
    EXPECT_EQ(st.walk_accesses, 3u);
    EXPECT_EQ(st.fs_psc_hits, 1u);
    EXPECT_EQ(st.fs_psc_misses, 0u);
    EXPECT_EQ(st.ss_psc_hits, 2u);
    EXPECT_EQ(st.ss_psc_misses, 0u);
    EXPECT_EQ(st.iotlb_fills, 1u);
    const std::optional<iotlb_entry> e = tlb->lookup(1, 5, translation_kind::nested, (k_warm >> 12) + 1);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->payload.out_pfn, 0x8'0000'5u);
    EXPECT_EQ(e->payload.perm, pm::fs_rw | pm::fs_us | pm::ss_r | pm::ss_w | pm::dirty | pm::accessed);
}

TEST_F(PlannedNestedWalk, ReadOnlySecondStage) {
    start();
    map(1, k_fs_urw | k_ad, sp::r::mask);
    warm();
    const translation_result r = page(1, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.walk_accesses, 3u);
    EXPECT_TRUE(r.can_read);
    EXPECT_FALSE(r.can_write);
    EXPECT_EQ(page(1, 0, {.pasid = 5, .write = true}).fault, fault_reason::gn_write_denied);
}

// The hits are made the most recently used in the walk's order: the leaf table's second-stage PDE,
// then the output's.
TEST_F(PlannedNestedWalk, HitsAreMadeMostRecentlyUsed) {
    cfg.ss_psc_entries = 2;
    start();
    map(1, k_fs_urw | k_ad);
    warm();
    const uint64_t tables = make_output_pde_older();
    ASSERT_TRUE(page(1, 0).ok());
    EXPECT_EQ(tr->stats().walk_accesses, 3u);
    expect_output_pde_newer(tables);
}

// Walks that find the PDEs the last one used (nothing in the caches changed since) leave the LRU
// order as touching them again would: the leaf table's PDE stays the older one.
TEST_F(PlannedNestedWalk, RepeatedWalksKeepTheLruOrder) {
    cfg.ss_psc_entries = 2;
    start();
    for (unsigned n = 1; n <= 3; ++n) {
        map(n, k_fs_urw | k_ad);
    }
    warm();
    for (unsigned n = 1; n <= 3; ++n) {
        const translation_result r = page(n, 0x8);
        ASSERT_TRUE(r.ok()) << n;
        EXPECT_EQ(r.out_addr, 0x8'0000'0008u + n * 0x5000) << n;
        EXPECT_EQ(r.walk_accesses, 3u) << n;
    }
    const translation_stats st = tr->stats();
    EXPECT_EQ(st.fs_psc_hits, 3u);
    EXPECT_EQ(st.ss_psc_hits, 6u);
    EXPECT_EQ(st.ss_psc_misses, 0u);
    expect_output_pde_newer(leaf_table_gpa());
}

// A lookup between two walks changes the LRU order: the next walk touches its PDEs again, so the
// output's PDE is the most recently used once more.
TEST_F(PlannedNestedWalk, WalkAfterAnotherLookupTouchesItsPdesAgain) {
    cfg.ss_psc_entries = 2;
    start();
    map(1, k_fs_urw | k_ad);
    map(2, k_fs_urw | k_ad);
    warm();
    ASSERT_TRUE(page(1, 0).ok());
    const uint64_t tables = make_output_pde_older();
    ASSERT_TRUE(page(2, 0).ok());
    EXPECT_EQ(tr->stats().walk_accesses, 6u);
    expect_output_pde_newer(tables);
}

// A cached PDE refilled with another table between two walks: the next walk reads below the new one.
TEST_F(PlannedNestedWalk, RefilledPdeIsTheOneTheNextWalkUses) {
    start();
    map(1, k_fs_urw | k_ad);
    map(2, k_fs_urw | k_ad);
    warm();
    ASSERT_TRUE(page(1, 0).ok());
    // Another second-stage leaf table for the outputs' 2 MiB region: page 2's GPA maps elsewhere.
    const uint64_t other_table = tb.alloc_page();
    const uint64_t gpa = k_out + 2 * 0x1000;
    tb.write64(other_table + hw::pt_index(gpa, 1) * 8, 0x7'0000'3000 | k_rw);
    using stage = paging_structure_cache::stage;
    tr->psc().fill(stage::second, 1, 0, 2, gpa, {other_table, k_ss_all});
    const translation_result r = page(2, 0x24);
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0x7'0000'3024u);
    EXPECT_EQ(r.walk_accesses, 3u);
}

// Outputs in another 2 MiB region of guest memory need that region's PDE: the first walk there
// fills it, later ones find it, and the first region's outputs still translate.
TEST_F(PlannedNestedWalk, OutputsInAnotherRegionTakeTheirOwnPde) {
    start();
    map(1, k_fs_urw | k_ad);
    map(2, k_fs_urw | k_ad);
    constexpr uint64_t k_far = k_out + 0x40'0000;
    for (unsigned n = 3; n <= 4; ++n) {
        tb.map_fs(fs, k_warm + n * 0x1000, k_far + n * 0x1000, 1, k_fs_urw | k_ad, k_fs_urw | k_a);
        tb.map_ss(ss_root, 4, k_far + n * 0x1000, 0x9'0000'0000 + n * 0x1000, 1, k_rw);
    }
    warm();
    const unsigned order[] = {1, 3, 4, 2};
    const uint64_t want[] = {0x8'0000'5010, 0x9'0000'3010, 0x9'0000'4010, 0x8'0000'a010};
    for (unsigned i = 0; i < 4; ++i) {
        const translation_result r = page(order[i], 0x10);
        ASSERT_TRUE(r.ok()) << order[i];
        EXPECT_EQ(r.out_addr, want[i]) << order[i];
        // The far region's first walk reads its PDE too (through the cached PDPTE).
        EXPECT_EQ(r.walk_accesses, i == 1 ? 4u : 3u) << order[i];
    }
    EXPECT_EQ(tr->stats().fs_psc_hits, 4u);
}

// The second stage moves the first-stage leaf table to another page between two walks (the
// same PDEs cached): the next walk reads the table where it is now, and one whose page lost its
// read right is a fault.
TEST_F(PlannedNestedWalk, MovedLeafTableIsReadWhereItIsNow) {
    start();
    map(1, k_fs_urw | k_ad);
    map(2, k_fs_urw | k_ad);
    map(3, k_fs_urw | k_ad);
    warm();
    ASSERT_TRUE(page(1, 0).ok());
    const uint64_t table_gpa = leaf_table_gpa();
    const uint64_t table_leaf = tb.ss_entry_addr(ss_root, 4, table_gpa, 1);
    const uint64_t old_table = tb.read64(table_leaf) & sp::addr::mask;
    // A copy of the leaf table whose entry for page 2 points at page 3's output.
    const uint64_t new_table = tb.alloc_page();
    for (unsigned i = 0; i < 512; ++i) {
        tb.write64(new_table + i * 8, tb.read64(old_table + i * 8));
    }
    const unsigned page2 = hw::pt_index(k_warm + 2 * 0x1000, 1);
    const unsigned page3 = hw::pt_index(k_warm + 3 * 0x1000, 1);
    tb.write64(new_table + page2 * 8, tb.read64(old_table + page3 * 8));
    tb.write64(table_leaf, new_table | (tb.read64(table_leaf) & ~sp::addr::mask));
    const translation_result moved = page(2, 0x30);
    ASSERT_TRUE(moved.ok()) << std::hex << unsigned(moved.fault);
    EXPECT_EQ(moved.out_addr, 0x8'0000'f030u);  // page 3's output
    EXPECT_EQ(moved.walk_accesses, 3u);
    tb.clear_bits(table_leaf, sp::r::mask);
    EXPECT_FALSE(page(3, 0).ok());
}

TEST_F(PlannedNestedWalk, OtherCasesAreLeftToTheFullWalk) {
    start();
    map(1, k_fs_urw);            // A clear
    map(2, k_fs_urw | k_ad, 0);  // output not mapped by the second stage
    map(3, k_fs_urw | k_ad);
    warm();
    const translation_result a = page(1, 0);
    ASSERT_TRUE(a.ok());
    EXPECT_GT(a.walk_accesses, 3u);  // the A update through the second stage
    EXPECT_TRUE(fp::a::get(tb.read64(tb.fs_entry_addr(fs, k_warm + 0x1000, 1))));
    const translation_result absent = page(2, 0);
    EXPECT_FALSE(absent.ok());
    EXPECT_EQ(absent.walk_accesses, 3u);
    std::vector<walk_stage> stages;
    tr->walker().set_read_observer([&](uint64_t, walk_stage st, unsigned) { stages.push_back(st); });
    tr->reset_stats();
    ASSERT_TRUE(page(3, 0).ok());
    EXPECT_EQ(stages,
              (std::vector<walk_stage>{walk_stage::second_stage, walk_stage::first_stage, walk_stage::second_stage}));
    EXPECT_EQ(tr->stats().ss_psc_hits, 2u);
}

}  // namespace
}  // namespace iommusim::translator_test
