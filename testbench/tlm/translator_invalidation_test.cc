// Translator tests: the invalidation scopes of docs/vtd-facts.md §6.2-6.5 applied through
// translator::invalidate, the stale-translation checker, and random remaps with and without the
// invalidations software owes.
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

// ---------------------------------------------------------------- invalidation scopes

TEST_F(Translator, IotlbDomainRangeDropsSecondStageAndKeepsOthers) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.map_ss(ss_root, 4, 0x9000, 0x19000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    ASSERT_TRUE(xl(0x9000).ok());
    tb.map_ss(ss_root, 4, 0x1000, 0x21000);    // remap, then invalidate 0x0000..0x3fff
    EXPECT_EQ(xl(0x1000).out_addr, 0x11000u);  // still cached: no invalidation yet
    EXPECT_GE(
        tr->invalidate(
            {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = true, .range = page_range::of_address(0x0, 2)}),
        1u);
    auto r = xl(0x1000);
    EXPECT_FALSE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, 0x21000u);
    EXPECT_TRUE(xl(0x9000).iotlb_hit);
    EXPECT_EQ(
        tr->invalidate(
            {.kind = scope_kind::iotlb_domain_range, .did = 2, .ih = false, .range = page_range::of_address(0x0, 20)}),
        0u);  // other domain
    EXPECT_TRUE(xl(0x9000).iotlb_hit);
}

TEST_F(Translator, RepeatedRequestSeesContextAndPasidCacheChanges) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(xl(0x1008).did, 1u);  // the same request again: context, PASID and IOTLB hits
    translation_stats s = tr->stats();
    EXPECT_EQ(s.context_hits, 1u);
    EXPECT_EQ(s.pasid_hits, 1u);
    pasid_opts o;
    o.did = 2;
    o.ssptptr = ss_root;
    tb.set_pasid(k_rid, 0, o);
    EXPECT_EQ(xl(0x1010).did, 1u);  // still the cached PASID entry
    tr->invalidate({.kind = scope_kind::pasid_cache_all});
    EXPECT_EQ(xl(0x1018).did, 2u);  // re-read: the new DID
    s = tr->stats();
    EXPECT_EQ(s.pasid_misses, 2u);
    EXPECT_EQ(s.pasid_hits, 2u);
    EXPECT_EQ(s.context_hits, 3u);
    tr->ctx_cache().invalidate_all();  // straight on the cache, not through a scope
    EXPECT_EQ(xl(0x1020).did, 2u);
    EXPECT_EQ(tr->stats().context_misses, 2u);
    EXPECT_EQ(tr->stats().context_hits, 3u);
}

TEST_F(Translator, PscKeptWithInvalidationHint) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::second), 3u);  // PML4E, PDPE, PDE
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = true, .range = page_range::of_address(0x1000, 0)});
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::second), 3u);
    auto r = xl(0x1000);
    EXPECT_EQ(r.walk_accesses, 1u);  // PSC gives the page table: one leaf read
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = false, .range = page_range::of_address(0x1000, 0)});
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::second), 0u);
    EXPECT_EQ(xl(0x1000).walk_accesses, 4u);
}

TEST_F(Translator, PasidRangeScopeOnFirstStage) {
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    tb.map_fs(fs, 0x40'0000'0000, 0x12000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    ASSERT_TRUE(xl(0x40'0000'0000, {.pasid = 5}).ok());
    const unsigned fs_psc = tr->psc().size(paging_structure_cache::stage::first);
    EXPECT_EQ(fs_psc, 5u);  // shared PML4E + 2 x (PDPE, PDE)
    // IH=1: the leaf goes, the PSC stays.
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 5,
                              .ih = true,
                              .range = page_range::of_address(0x1000, 0)}),
              1u);
    EXPECT_FALSE(xl(0x1000, {.pasid = 5}).iotlb_hit);
    EXPECT_TRUE(xl(0x40'0000'0000, {.pasid = 5}).iotlb_hit);
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 5u);
    // IH=0: the PSC entries covering the range go too (PML4E shared, PDPE, PDE of 0x1000).
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 5,
                              .ih = false,
                              .range = page_range::of_address(0x1000, 0)}),
              1u + 3u);
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 2u);
    // Type-6 PSI on another PASID or domain drops nothing.
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 6,
                              .ih = false,
                              .range = page_range::of_address(0x40'0000'0000, 0)}),
              0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 2,
                              .pasid = 5,
                              .ih = false,
                              .range = page_range::of_address(0x40'0000'0000, 0)}),
              0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid, .did = 1, .pasid = 5}), 1u + 2u);
}

TEST_F(Translator, PasidRangeScopeOnUpperHalfAddresses) {
    setup_fs(4);
    const uint64_t va = 0xffff'8000'0000'1000;
    tb.map_fs(fs, va, 0x11000);
    build();
    ASSERT_TRUE(xl(va, {.pasid = 5}).ok());
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 3u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 5,
                              .ih = false,
                              .range = page_range::of_address(va, 0)}),
              1u + 3u);
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 0u);
}

TEST_F(Translator, DomainAndGlobalScopes) {
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 2}), 0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 1}), 1u + 3u);
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_all}), 1u + 3u);
    EXPECT_FALSE(xl(0x1000, {.pasid = 5}).iotlb_hit);
}

TEST_F(Translator, ContextAndPasidCacheScopes) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.set_context(k_rid + 1);
    pasid_opts o;
    o.ssptptr = ss_root;
    o.did = 2;
    tb.set_pasid(k_rid + 1, 0, o);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    ASSERT_TRUE(xl(0x1000, {.rid = k_rid + 1}).ok());
    EXPECT_EQ(tr->ctx_cache().size(), 2u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid + 4, .fm = 0}), 0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid + 4, .fm = 1}),
              1u);  // FM=1 ignores SID bit 2: hits k_rid
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid + 1, .fm = 3}), 1u);
    EXPECT_EQ(tr->pasid_entry_cache().size(), 2u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 1, .pasid = 1}), 0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 1, .pasid = 0}), 1u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_domain, .did = 2}), 1u);
    ASSERT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_all}), 1u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_all}), 1u);
}

TEST_F(Translator, CachedPasidEntryIsUsedUntilInvalidated) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tb.clear_bits(pasid_entry, pe::p::mask);
    tr->invalidate({.kind = scope_kind::iotlb_all});
    EXPECT_TRUE(xl(0x1000).ok());  // the PASID cache still holds the entry
    tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 1, .pasid = 0});
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_not_present);
}

TEST_F(Translator, ObserversSeeEveryScope) {
    setup_ss();
    build();
    std::vector<invalidation_scope> seen;
    tr->on_invalidate([&](const invalidation_scope& s) { seen.push_back(s); });
    tr->invalidate({.kind = scope_kind::context_all});
    tr->invalidate({.kind = scope_kind::context_device, .sid = 0x10, .fm = 2});
    tr->invalidate({.kind = scope_kind::pasid_cache_all});
    tr->invalidate({.kind = scope_kind::pasid_cache_domain, .did = 3});
    tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 3, .pasid = 4});
    tr->invalidate({.kind = scope_kind::iotlb_all});
    tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 3});
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 3, .ih = true, .range = page_range::of_address(0x10000, 4)});
    tr->invalidate({.kind = scope_kind::iotlb_pasid, .did = 3, .pasid = 4});
    tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                    .did = 3,
                    .pasid = 4,
                    .ih = false,
                    .range = page_range::of_address(0x20000, 1)});
    ASSERT_EQ(seen.size(), 10u);
    EXPECT_EQ(seen[1].kind, scope_kind::context_device);
    EXPECT_EQ(seen[1].fm, 2u);
    EXPECT_EQ(seen[7].kind, scope_kind::iotlb_domain_range);
    EXPECT_TRUE(seen[7].ih);
    EXPECT_EQ(seen[7].range.am(), 4u);
    // covers(): second-stage range vs first-stage any address.
    EXPECT_TRUE(seen[7].covers(0, 3, 0, translation_kind::second_stage, 0x1f000, 0x1000));
    EXPECT_FALSE(seen[7].covers(0, 3, 0, translation_kind::second_stage, 0x20000, 0x1000));
    EXPECT_TRUE(seen[7].covers(0, 3, 9, translation_kind::nested, 0x9990000, 0x1000));
    EXPECT_FALSE(seen[7].covers(0, 4, 0, translation_kind::second_stage, 0x1f000, 0x1000));
    EXPECT_TRUE(seen[9].covers(0, 3, 4, translation_kind::first_stage, 0x21000, 0x1000));
    EXPECT_FALSE(seen[9].covers(0, 3, 4, translation_kind::first_stage, 0x22000, 0x1000));
    EXPECT_FALSE(seen[9].covers(0, 3, 4, translation_kind::second_stage, 0x21000, 0x1000));
    invalidation_scope hi = seen[9];
    hi.range = page_range::of_address(0xffff'8000'0000'0000, 0);
    EXPECT_TRUE(hi.covers(0, 3, 4, translation_kind::first_stage, 0xffff'8000'0000'0000, 0x1000));
    EXPECT_FALSE(hi.covers(0, 3, 4, translation_kind::first_stage, 0xffff'8000'0000'1000, 0x1000));
    EXPECT_TRUE(seen[1].covers(0x16, 0, 0, translation_kind::second_stage, 0, 1));  // FM=2 ignores bits 2:1
    EXPECT_FALSE(seen[1].covers(0x11, 0, 0, translation_kind::second_stage, 0, 1));
}

TEST_F(Translator, SrtpWithEsrtpsFlushesCaches) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tr->set_root(tb.rtaddr_value());
    EXPECT_FALSE(xl(0x1000).iotlb_hit);
}

// ---------------------------------------------------------------- stale checker

TEST_F(Translator, StaleCheckerReportsMissingInvalidation) {
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.map_ss(ss_root, 4, 0x2000, 0x12000);
    tb.map_ss(ss_root, 4, 0x3000, 0x13000);
    build();
    for (uint64_t a : {0x1000, 0x2000, 0x3000}) {
        ASSERT_TRUE(xl(a).ok());
    }
    EXPECT_FALSE(xl(0x1000).stale);
    // Remap without invalidation: the hit still gives the old page.
    tb.map_ss(ss_root, 4, 0x1000, 0x21000);
    auto r = xl(0x1008);
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(r.out_addr, 0x11008u);
    // Permission reduction without invalidation.
    tb.map_ss(ss_root, 4, 0x2000, 0x12000, 1, sp::r::mask);
    EXPECT_TRUE(xl(0x2000).stale);
    // Unmap without invalidation.
    tb.write64(tb.ss_entry_addr(ss_root, 4, 0x3000, 1), 0);
    EXPECT_TRUE(xl(0x3000).stale);
    ASSERT_EQ(tr->stale_reports().size(), 3u);
    const stale_report& s0 = tr->stale_reports()[0];
    EXPECT_EQ(s0.rid, k_rid);
    EXPECT_EQ(s0.addr, 0x1008u);
    EXPECT_EQ(s0.cached_out, 0x11008u);
    EXPECT_EQ(s0.current_out, 0x21008u);
    EXPECT_EQ(tr->stale_reports()[2].current_fault, fault_reason::ss_perm);
    EXPECT_EQ(tr->stats().stale_hits, 3u);
    // After the invalidation the translation is fresh.
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = true, .range = page_range::of_address(0x1000, 0)});
    auto f = xl(0x1000);
    EXPECT_FALSE(f.stale);
    EXPECT_EQ(f.out_addr, 0x21000u);
    EXPECT_FALSE(xl(0x1000).stale);
}

TEST_F(Translator, StaleCheckerSeesSecondStageChangesUnderNesting) {
    cfg.stale_check = true;
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    EXPECT_FALSE(xl(0x1000, {.pasid = 5}).stale);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x6'0000'0000);  // host remaps the GPA, no invalidation
    auto r = xl(0x1000, {.pasid = 5});
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_TRUE(r.stale);
    ASSERT_EQ(tr->stale_reports().size(), 1u);
    EXPECT_EQ(tr->stale_reports()[0].current_out, 0x6'0000'0000u);
    EXPECT_EQ(tr->stale_reports()[0].kind, translation_kind::nested);
    // A type-2 page-selective invalidation of the GPA drops every nested entry of the domain.
    tr->invalidate({.kind = scope_kind::iotlb_domain_range,
                    .did = 1,
                    .ih = false,
                    .range = page_range::of_address(0x9000'0000, 0)});
    auto f = xl(0x1000, {.pasid = 5});
    EXPECT_FALSE(f.iotlb_hit);
    EXPECT_EQ(f.out_addr, 0x6'0000'0000u);
}

TEST_F(Translator, StaleCheckerHasNoSideEffects) {
    cfg.stale_check = true;
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    tb.clear_bits(tb.fs_entry_addr(fs, 0x1000, 1), fp::a::mask);  // software clears A, no invalidation
    auto r = xl(0x1000, {.pasid = 5});
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_FALSE(r.stale);  // same page and rights
    EXPECT_FALSE(fp::a::get(tb.read64(tb.fs_entry_addr(fs, 0x1000, 1))));
}

TEST_F(Translator, StaleCheckerOffByDefault) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tb.map_ss(ss_root, 4, 0x1000, 0x21000);
    EXPECT_FALSE(xl(0x1000).stale);
    EXPECT_EQ(tr->stats().stale_checks, 0u);
}

// Random remaps with the invalidation software owes (docs/vtd-facts.md §6.7): every translation must
// match a reference map and the stale checker must stay silent; dropping the invalidation makes
// it fire.
class RandomRemaps : public Translator, public ::testing::WithParamInterface<std::tuple<bool /*fs*/, bool /*inv*/>> {};

TEST_P(RandomRemaps, CachesFollowTheTables) {
    const auto [first_stage, invalidate] = GetParam();
    cfg.stale_check = true;
    cfg.iotlb_sets = 4;  // small: evictions and refills happen too
    cfg.iotlb_ways = 2;
    if (first_stage) {
        setup_fs(4);
    } else {
        setup_ss();
    }
    std::mt19937_64 rng(first_stage ? 11 : 22);
    std::map<uint64_t, uint64_t> ref;                                              // input page -> output page
    auto page_of = [&](unsigned i) { return uint64_t{i} << (12 + 3 * (i % 4)); };  // spread over tables
    auto map = [&](uint64_t in, uint64_t out) {
        if (first_stage) {
            tb.map_fs(fs, in, out);
        } else {
            tb.map_ss(ss_root, 4, in, out);
        }
        ref[in] = out;
    };
    for (unsigned i = 1; i <= 32; ++i) {
        map(page_of(i), 0x10'0000'0000 + uint64_t{i} * 4096);
    }
    build();
    unsigned checked = 0;
    for (unsigned step = 0; step < 3000; ++step) {
        const uint64_t in = page_of(1 + static_cast<unsigned>(rng() % 32));
        if (rng() % 5 == 0) {
            map(in, 0x20'0000'0000 + (rng() % 4096) * 4096);
            if (invalidate) {
                if (first_stage) {
                    tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                                    .did = 1,
                                    .pasid = 5,
                                    .ih = true,
                                    .range = page_range::of_address(in, 0)});
                } else {
                    tr->invalidate({.kind = scope_kind::iotlb_domain_range,
                                    .did = 1,
                                    .ih = true,
                                    .range = page_range::of_address(in, 0)});
                }
            }
            continue;
        }
        const bool write = rng() % 2;
        auto r = first_stage ? xl(in + 8, {.pasid = 5, .write = write}) : xl(in + 8, {.write = write});
        ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
        if (invalidate) {
            ASSERT_EQ(r.out_addr, ref[in] + 8) << "step " << step;
            ASSERT_FALSE(r.stale);
            ++checked;
        }
    }
    if (invalidate) {
        EXPECT_GT(checked, 2000u);
        EXPECT_EQ(tr->stats().stale_hits, 0u);
        EXPECT_GT(tr->stats().iotlb_hits, 100u);
    } else {
        EXPECT_GT(tr->stats().stale_hits, 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(Stages, RandomRemaps, ::testing::Combine(::testing::Bool(), ::testing::Bool()));

}  // namespace
}  // namespace iommusim::translator_test
