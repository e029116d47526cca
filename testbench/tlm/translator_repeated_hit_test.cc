// Translator tests: a request that repeats its source's last one (same requester, PASID, access
// flags and page) behaves as any other IOTLB hit: it sees what the IOTLB holds now, keeps the
// context-cache LRU order and the IOTLB's tree-PLRU state exact, calls the lookup observer and
// goes through the stale checker when either is set (tlm/iotlb_if.h contract, docs/vtd-facts.md §6).
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

constexpr uint64_t k_va = 0x1234'5000;
constexpr uint64_t k_pa = 0xabcd'000;
constexpr uint8_t k_all_rights = iotlb_perm::fs_rw | iotlb_perm::fs_us | iotlb_perm::ss_r | iotlb_perm::ss_w |
                                 iotlb_perm::ss_x | iotlb_perm::dirty | iotlb_perm::accessed;

// A second-stage entry of DID 1 for requests without PASID (RID_PASID 0).
iotlb_entry ss_entry(uint64_t vpn, uint64_t out_pfn, uint8_t perm, page_level level = page_level::size_4k) {
    return iotlb_entry{iotlb_tag{1, 0, translation_kind::second_stage, level, vpn}, iotlb_payload{out_pfn, perm}};
}

TEST_F(Translator, RepeatedHitSeesAnInPlaceRefill) {
    setup_ss();
    tb.map_ss(ss_root, 4, k_va, k_pa);
    build();
    ASSERT_FALSE(xl(k_va + 0x10).iotlb_hit);
    ASSERT_EQ(xl(k_va + 0x20).out_addr, k_pa + 0x20);
    ASSERT_EQ(xl(k_va + 0x30).out_addr, k_pa + 0x30);
    // The same tag with another output page replaces the payload in place.
    ASSERT_TRUE(tlb->fill(ss_entry(k_va >> 12, 0x777, k_all_rights)).replaced_same_tag);
    const translation_result r = xl(k_va + 0x40);
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, 0x777'040u);
    const translation_stats s = tr->stats();
    EXPECT_EQ(s.translations, 4u);
    EXPECT_EQ(s.iotlb_hits, 3u);
    EXPECT_EQ(s.walks, 1u);
}

// A repeat is answered at once while the IOTLB did not change; a change elsewhere leaves the hit
// found again, a dropped entry or a flush does not.
TEST_F(Translator, RepeatedHitAfterAnIotlbChangeSeesWhatTheIotlbHolds) {
    setup_ss();
    tb.map_ss(ss_root, 4, k_va, k_pa);
    tb.map_ss(ss_root, 4, k_va + 4096, k_pa + 0x3000);
    build();
    xl(k_va);
    ASSERT_TRUE(xl(k_va + 8).iotlb_hit);
    // A fill of another page: the repeat still hits its own entry, without a walk.
    ASSERT_FALSE(tlb->fill(ss_entry((k_va >> 12) + 7, 0x555, k_all_rights)).replaced_same_tag);
    translation_result r = xl(k_va + 0x10);
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, k_pa + 0x10);
    EXPECT_EQ(tr->stats().walks, 1u);
    // The domain's entries dropped: the repeat misses and walks.
    tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 1});
    r = xl(k_va + 0x18);
    EXPECT_FALSE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, k_pa + 0x18);
    EXPECT_EQ(tr->stats().walks, 2u);
    ASSERT_TRUE(xl(k_va + 0x20).iotlb_hit);
    // Every entry flushed: again.
    tr->invalidate({.kind = scope_kind::iotlb_all});
    r = xl(k_va + 0x28);
    EXPECT_FALSE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, k_pa + 0x28);
    const translation_stats s = tr->stats();
    EXPECT_EQ(s.translations, 6u);
    EXPECT_EQ(s.iotlb_hits, 3u);
    EXPECT_EQ(s.iotlb_misses, 3u);
    EXPECT_EQ(s.walks, 3u);
}

TEST_F(Translator, RepeatedHitOnAnEntryThatLostTheRightWalks) {
    setup_ss();
    tb.map_ss(ss_root, 4, k_va, k_pa);
    build();
    xl(k_va);
    xl(k_va + 8);
    // Refilled without the read right: the tables decide (they still grant it) and refill.
    tlb->fill(ss_entry(k_va >> 12, 0x777, k_all_rights & ~iotlb_perm::ss_r));
    const translation_result r = xl(k_va + 0x10);
    EXPECT_FALSE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, k_pa + 0x10);
    const translation_stats s = tr->stats();
    EXPECT_EQ(s.dirty_rewalks, 1u);
    EXPECT_EQ(s.walks, 2u);
    EXPECT_EQ(xl(k_va + 0x18).out_addr, k_pa + 0x18);
}

TEST_F(Translator, SmallerPageFilledUnderARepeatedLargeHitWins) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x4000'0000, 0x8000'0000, 2);  // one 2 MiB page
    build();
    ASSERT_EQ(xl(0x4000'1010).page_bytes, 2u << 20);
    ASSERT_TRUE(xl(0x4000'1018).iotlb_hit);
    ASSERT_EQ(xl(0x4000'1020).out_addr, 0x8000'1020u);
    // A lookup probes the 4 KiB set before the 2 MiB one.
    tlb->fill(ss_entry(0x4'0001, 0x9'9999, k_all_rights));
    const translation_result r = xl(0x4000'1028);
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, 0x9999'9028u);
    EXPECT_EQ(r.page_bytes, 4096u);
    // Elsewhere in the 2 MiB page the large entry still answers.
    EXPECT_EQ(xl(0x4000'2000).out_addr, 0x8000'2000u);
}

TEST_F(Translator, RepeatedHitMakesItsContextEntryMostRecentlyUsed) {
    cfg.context_cache_entries = 2;
    setup_ss();
    constexpr uint16_t a = k_rid;
    constexpr uint16_t b = k_rid + 1;
    constexpr uint16_t c = k_rid + 2;
    for (const uint16_t rid : {b, c}) {
        tb.set_context(rid);
        pasid_opts o;
        o.ssptptr = ss_root;
        tb.set_pasid(rid, 0, o);
    }
    tb.map_ss(ss_root, 4, k_va, k_pa);
    build();
    xl(k_va, {.rid = a});      // context miss
    xl(k_va, {.rid = b});      // context miss
    xl(k_va, {.rid = a});      // hit
    xl(k_va, {.rid = b});      // hit: b most recently used
    xl(k_va + 8, {.rid = a});  // repeats a's request: a most recently used
    xl(k_va, {.rid = c});      // context miss: evicts the least recently used, b
    ASSERT_EQ(tr->stats().context_misses, 3u);
    xl(k_va, {.rid = a});
    EXPECT_EQ(tr->stats().context_misses, 3u);
    xl(k_va, {.rid = b});
    EXPECT_EQ(tr->stats().context_misses, 4u);
}

TEST_F(Translator, RepeatedHitTouchesTheIotlbPlru) {
    cfg.iotlb_sets = 1;
    cfg.iotlb_ways = 2;
    setup_ss();
    constexpr uint16_t a = k_rid;
    constexpr uint16_t b = k_rid + 1;
    tb.set_context(b);
    pasid_opts o;
    o.ssptptr = ss_root;
    tb.set_pasid(b, 0, o);  // DID 1 as a's: both use the same IOTLB entries
    for (uint64_t page = 0; page < 3; ++page) {
        tb.map_ss(ss_root, 4, k_va + page * 4096, k_pa + page * 4096);
    }
    build();
    xl(k_va + 4096, {.rid = b});      // page 1 into way 0
    xl(k_va, {.rid = a});             // page 0 into way 1
    xl(k_va, {.rid = a});             // hit way 1
    xl(k_va + 4096, {.rid = b});      // hit way 0: the victim is now way 1
    xl(k_va + 8, {.rid = a});         // repeats a's request: hit way 1, the victim is way 0
    xl(k_va + 2 * 4096, {.rid = b});  // miss: replaces page 1
    const uint64_t misses = tr->stats().iotlb_misses;
    EXPECT_TRUE(xl(k_va + 0x10, {.rid = a}).iotlb_hit);
    EXPECT_EQ(tr->stats().iotlb_misses, misses);
    EXPECT_FALSE(xl(k_va + 4096, {.rid = b}).iotlb_hit);
}

TEST_F(Translator, LookupObserverSetAfterRepeatsSeesEveryLookup) {
    setup_ss();
    tb.map_ss(ss_root, 4, k_va, k_pa);
    build();
    xl(k_va);
    xl(k_va + 8);
    xl(k_va + 16);
    unsigned lookups = 0;
    tr->set_lookup_observer([&] { ++lookups; });
    xl(k_va + 24);
    xl(k_va + 32);
    EXPECT_EQ(lookups, 2u);
    tr->set_lookup_observer(nullptr);
    xl(k_va + 40);
    EXPECT_EQ(lookups, 2u);
    EXPECT_EQ(tr->stats().iotlb_hits, 5u);
}

TEST_F(Translator, StaleCheckTurnedOnAfterRepeatsChecksTheRepeatedHit) {
    setup_ss();
    tb.map_ss(ss_root, 4, k_va, k_pa);
    build();
    xl(k_va);
    xl(k_va + 8);
    xl(k_va + 16);
    tb.map_ss(ss_root, 4, k_va, 0x5'5000);  // remapped without an invalidation
    tr->set_stale_check(true);
    const translation_result r = xl(k_va + 24);
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, k_pa + 24);  // what the IOTLB holds
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(tr->stats().stale_hits, 1u);
    ASSERT_EQ(tr->stale_reports().size(), 1u);
    EXPECT_EQ(tr->stale_reports()[0].current_out, 0x5'5000u + 24);
}

TEST_F(Translator, SameSourceOnAnotherPageChecksTheInputAddress) {
    setup_ss(2);  // 48-bit input addresses
    tb.map_ss(ss_root, 4, k_va, k_pa);
    build();
    xl(k_va);
    xl(k_va + 8);
    const translation_result r = xl(uint64_t{1} << 48);
    EXPECT_EQ(r.fault, fault_reason::gn_addr_beyond_max);
    const translation_stats s = tr->stats();
    EXPECT_EQ(s.translations, 3u);
    EXPECT_EQ(s.context_hits, 2u);
    EXPECT_EQ(s.pasid_hits, 2u);
    EXPECT_EQ(s.faults, 1u);
    EXPECT_EQ(xl(k_va + 16).out_addr, k_pa + 16);
}

}  // namespace
}  // namespace iommusim::translator_test
