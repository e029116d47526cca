// Translator tests: second-stage accessed/dirty tracking (PASID-entry SSADE with ECAP.SSADS;
// docs/vtd-facts.md §4.4, §5.4): A on every second-stage entry a walk uses, D on the leaf of a
// permitted write, for second-stage-only and for the second-stage walks of nested translation; the
// IOTLB remembers whether the leaf was dirty. Expected entries are written out from the layout
// (R bit 0, W bit 1, X bit 2, PS bit 7, A bit 8, D bit 9, address from bit 12).
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

constexpr uint64_t k_r = 1u << 0;
constexpr uint64_t k_w = 1u << 1;
constexpr uint64_t k_x = 1u << 2;
constexpr uint64_t k_ps = 1u << 7;
constexpr uint64_t k_a = 1u << 8;
constexpr uint64_t k_d = 1u << 9;
constexpr uint64_t k_ad = k_a | k_d;

class SsDirty : public Translator {
  protected:
    // Second stage only, RID_PASID 0, 4 levels, DID 1, SSADE as given, ECAP.SSADS on.
    void setup_ss_ad(bool ssade) {
        cfg.ssads = true;
        ss_root = tb.new_ss();
        tb.set_context(k_rid);
        pasid_opts o;
        o.ssptptr = ss_root;
        o.ssade = ssade;
        pasid_entry = tb.set_pasid(k_rid, 0, o);
    }
    uint64_t ss(uint64_t gpa, unsigned level) { return tb.read64(tb.ss_entry_addr(ss_root, 4, gpa, level)); }
    // Flags A and D of the entry.
    uint64_t ad(uint64_t gpa, unsigned level) { return ss(gpa, level) & k_ad; }
    // Nested PASID 5 with SSADE on (and ECAP.SSADS).
    void setup_nested_ad() {
        cfg.ssads = true;
        pasid_opts o;
        o.ssade = true;
        setup_nested(o);
    }
    // GPA of the first-stage table holding the level-`level` entry of va.
    uint64_t fs_table_gpa(uint64_t va, unsigned level) {
        if (level == fs.levels) {
            return fs.root;
        }
        return fp::addr::get(tb.read64(tb.fs_entry_addr(fs, va, level + 1))) << 12;
    }
};

TEST_F(SsDirty, ReadSetsAccessedOnEveryLevelAndNoDirty) {
    setup_ss_ad(true);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(ss(0x1000, 1), 0x11000u | k_r | k_w | k_a);
    for (unsigned l = 4; l >= 2; --l) {
        EXPECT_EQ(ad(0x1000, l), k_a) << "level " << l;
        EXPECT_EQ(ss(0x1000, l) & (k_r | k_w | k_x), k_r | k_w | k_x) << "non-leaf rights untouched";
    }
}

TEST_F(SsDirty, WriteSetsDirtyOnlyInTheLeaf) {
    setup_ss_ad(true);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.write = true}).ok());
    EXPECT_EQ(ss(0x1000, 1), 0x11000u | k_r | k_w | k_a | k_d);
    for (unsigned l = 4; l >= 2; --l) {
        EXPECT_EQ(ad(0x1000, l), k_a) << "D is for leaves only, level " << l;
    }
}

TEST_F(SsDirty, LargeLeafGetsDirty) {
    setup_ss_ad(true);
    tb.map_ss(ss_root, 4, 0x20'0000, 0x4060'0000, 2);  // 2 MiB leaf in the PDE
    build();
    ASSERT_TRUE(xl(0x21'2345, {.write = true}).ok());
    EXPECT_EQ(ss(0x20'0000, 2), 0x4060'0000u | k_r | k_w | k_ps | k_a | k_d);
    EXPECT_EQ(ad(0x20'0000, 3), k_a);
    EXPECT_EQ(ad(0x20'0000, 4), k_a);
}

TEST_F(SsDirty, SsadeClearWritesNoFlags) {
    setup_ss_ad(false);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    ASSERT_TRUE(xl(0x1000, {.write = true}).ok());
    EXPECT_EQ(ss(0x1000, 1), 0x11000u | k_r | k_w);
    for (unsigned l = 4; l >= 2; --l) {
        EXPECT_EQ(ad(0x1000, l), 0u) << "level " << l;
    }
    EXPECT_TRUE(xl(0x1000, {.write = true}).iotlb_hit) << "without SSADE the cached entry takes writes";
}

TEST_F(SsDirty, DeniedWriteSetsNoDirty) {
    setup_ss_ad(true);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000, 1, k_r);
    build();
    EXPECT_EQ(xl(0x1000, {.write = true}).fault, fault_reason::gn_write_denied);
    EXPECT_EQ(ss(0x1000, 1) & k_d, 0u);
}

TEST_F(SsDirty, WriteHitOnCleanCachedEntrySetsDirtyInMemory) {
    setup_ss_ad(true);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    auto r = xl(0x1000);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.can_write) << "a clean entry grants no direct write";
    EXPECT_TRUE(xl(0x1000).iotlb_hit);
    EXPECT_EQ(ad(0x1000, 1), k_a);
    auto w = xl(0x1000, {.write = true});
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w.iotlb_hit) << "the cached entry had no D: the tables are walked again";
    EXPECT_EQ(ad(0x1000, 1), k_ad);
    EXPECT_EQ(tr->stats().dirty_rewalks, 1u);
    auto w2 = xl(0x1000, {.write = true});
    EXPECT_TRUE(w2.iotlb_hit);
    EXPECT_TRUE(w2.can_write);
    EXPECT_EQ(w2.walk_accesses, 0u);
}

// Software that clears D must flush: the IOTLB keeps the dirty state the hardware wrote.
TEST_F(SsDirty, ClearedDirtyIsSetAgainOnlyAfterTheFlush) {
    setup_ss_ad(true);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.write = true}).ok());
    const uint64_t leaf = tb.ss_entry_addr(ss_root, 4, 0x1000, 1);
    tb.clear_bits(leaf, k_d);
    EXPECT_TRUE(xl(0x1000, {.write = true}).iotlb_hit);
    EXPECT_EQ(tb.read64(leaf) & k_d, 0u) << "a hit on a dirty entry writes nothing";
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = true, .range = page_range::of_address(0x1000, 0)});
    auto w = xl(0x1000, {.write = true});
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w.iotlb_hit);
    EXPECT_EQ(tb.read64(leaf), 0x11000u | k_r | k_w | k_a | k_d);
}

TEST_F(SsDirty, SsadeWithoutSsadsIsABadPasidEntryForNestedToo) {
    cfg.ssads = false;
    pasid_opts o;
    o.ssade = true;
    setup_nested(o);
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
    EXPECT_EQ(tb.read64(tb.ss_entry_addr(ss_root, 4, 0x9000'0000, 1)), 0x5'0000'0000u | k_r | k_w);
}

// Nested: the second stage maps every first-stage table page and the final GPA. Reading a
// first-stage entry sets A in the SS entries of its page; setting A/D in a first-stage entry is a
// write through the second stage and so sets D in the SS leaf of its page.
TEST_F(SsDirty, NestedWalkMarksTablePagesAndTheFinalPage) {
    setup_nested_ad();
    const uint64_t va = 0x7f00'0000'1000;
    tb.map_fs(fs, va, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    build();
    std::vector<uint64_t> table_leaf_before;
    for (unsigned l = 4; l >= 1; --l) {
        table_leaf_before.push_back(ss(fs_table_gpa(va, l), 1));
        EXPECT_EQ(table_leaf_before.back() & k_ad, 0u);
    }
    ASSERT_TRUE(xl(va, {.pasid = 5}).ok());
    for (unsigned l = 4, i = 0; l >= 1; --l, ++i) {
        const uint64_t gpa = fs_table_gpa(va, l);
        EXPECT_EQ(ss(gpa, 1), table_leaf_before[i] | k_a | k_d) << "table page of FS level " << l;
        EXPECT_EQ(ad(gpa, 2), k_a);
        EXPECT_TRUE(fp::a::get(tb.read64(tb.fs_entry_addr(fs, va, l))));
    }
    EXPECT_EQ(ss(0x9000'0000, 1), 0x5'0000'0000u | k_r | k_w | k_a) << "the final page was only read";
    auto w = xl(va, {.pasid = 5, .write = true});
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w.iotlb_hit);
    EXPECT_EQ(ss(0x9000'0000, 1), 0x5'0000'0000u | k_r | k_w | k_a | k_d);
    EXPECT_TRUE(fp::d::get(tb.read64(tb.fs_entry_addr(fs, va, 1))));
    EXPECT_TRUE(xl(va, {.pasid = 5, .write = true}).iotlb_hit);
}

TEST_F(SsDirty, NestedWalkWithFirstStageFlagsSetOnlyReadsTheTablePages) {
    setup_nested_ad();
    const uint64_t va = 0x1000;
    tb.map_fs(fs, va, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    for (unsigned l = 4; l >= 1; --l) {
        tb.set_bits(tb.fs_entry_addr(fs, va, l), fp::a::mask | fp::d::mask);
    }
    build();
    ASSERT_TRUE(xl(va, {.pasid = 5, .write = true}).ok());
    for (unsigned l = 4; l >= 1; --l) {
        EXPECT_EQ(ad(fs_table_gpa(va, l), 1), k_a) << "no first-stage flag written on FS level " << l;
    }
    EXPECT_EQ(ad(0x9000'0000, 1), k_ad);
}

TEST_F(SsDirty, NestedFinalPageCachedCleanIsWalkedAgainForAWrite) {
    setup_nested_ad();
    const uint64_t va = 0x1000;
    tb.map_fs(fs, va, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    tb.set_bits(tb.fs_entry_addr(fs, va, 1), fp::d::mask);  // FS leaf already dirty, SS leaf clean
    build();
    ASSERT_TRUE(xl(va, {.pasid = 5}).ok());
    EXPECT_EQ(ad(0x9000'0000, 1), k_a);
    auto w = xl(va, {.pasid = 5, .write = true});
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w.iotlb_hit);
    EXPECT_EQ(ad(0x9000'0000, 1), k_ad);
}

}  // namespace
}  // namespace iommusim::translator_test
