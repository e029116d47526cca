// Translator tests: the planned first-stage walk of an IOTLB miss (the misses of a request source
// whose context and PASID entries were cached, without paging-structure caches): what it answers,
// fills and counts, and every case it leaves to the full walk.
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

}  // namespace
}  // namespace iommusim::translator_test
