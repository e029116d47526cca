// Translator tests: the stale-translation checker on every cache a translation can use besides
// the IOTLB (context, PASID and paging-structure caches) and caching mode's not-present cache
// (VT-d spec §6.1). Each seeded bug is an invalidation software owes and leaves out (or narrows);
// the checker must catch it by what the translation used, and the complete invalidation must
// leave it silent.
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

uint64_t stale_of(const translator& tr, stale_cache c) {
    return tr.stats().stale_hits_by_cache[static_cast<unsigned>(c)];
}

// The one stale report of a cache (fails the test when there is not exactly one).
stale_report only_report(const translator& tr, stale_cache c) {
    std::vector<stale_report> found;
    for (const stale_report& r : tr.stale_reports()) {
        if (r.cache == c) {
            found.push_back(r);
        }
    }
    EXPECT_EQ(found.size(), 1u) << stale_cache_name(c);
    return found.empty() ? stale_report{} : found.front();
}

// ---------------------------------------------------------------- paging-structure caches

class StalePsc : public Translator, public ::testing::WithParamInterface<bool /* IH: the seeded bug */> {
  protected:
    // A directory edit: the PDE covering 0x1000 and 0x2000 gets a new page table that maps 0x2000
    // to 0x32000. Returns the old and the new table.
    std::pair<uint64_t, uint64_t> replace_ss_pde() {
        const uint64_t pde = tb.ss_entry_addr(ss_root, 4, 0x1000, 2);
        const uint64_t old_table = sp::addr::get(tb.read64(pde)) << 12;
        const uint64_t table = tb.alloc_page();
        tb.write64(table + hw::pt_index(0x2000, 1) * 8, k_rw | sp::addr::make(0x32000 >> 12));
        tb.write64(pde, k_rw | sp::x::mask | sp::addr::make(table >> 12));
        return {old_table, table};
    }
    std::pair<uint64_t, uint64_t> replace_fs_pde() {
        const uint64_t pde = tb.fs_entry_addr(fs, 0x1000, 2);
        const uint64_t old_table = fp::addr::get(tb.read64(pde)) << 12;
        const uint64_t table = tb.alloc_page();
        tb.write64(table + hw::pt_index(0x2000, 1) * 8, k_fs_urw | fp::addr::make(0x32000 >> 12));
        tb.write64(pde, k_fs_urw | fp::addr::make(table >> 12));
        return {old_table, table};
    }
};

TEST_P(StalePsc, SecondStageDirectoryEditNeedsTheNonLeafInvalidation) {
    const bool leaf_only = GetParam();
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());  // caches PML4E, PDPE and PDE
    const auto [old_table, table] = replace_ss_pde();
    // Linux: a directory change flushes with IH=0 (drivers/iommu/intel/iommu.c intel_iommu_tlb_sync,
    // ih only when no page-table page was freed); IH=1 keeps the PDE cached (§6.4).
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = leaf_only, .range = page_range::of_address(0x0, 9)});
    const translation_result r = xl(0x2008);
    if (!leaf_only) {
        EXPECT_EQ(r.out_addr, 0x32008u);
        EXPECT_FALSE(r.stale);
        EXPECT_EQ(tr->stats().stale_hits, 0u);
        return;
    }
    // The cached PDE still leads to the old table, where 0x2000 is not mapped.
    EXPECT_EQ(r.fault, fault_reason::ss_perm);
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(stale_of(*tr, stale_cache::ss_psc), 1u);
    EXPECT_EQ(tr->stats().stale_hits, 1u);
    const stale_report rep = only_report(*tr, stale_cache::ss_psc);
    EXPECT_EQ(rep.level, 2u);
    EXPECT_EQ(rep.key_addr, 0x2008u);
    EXPECT_EQ(rep.did, 1u);
    EXPECT_EQ(rep.cached_out, old_table);
    EXPECT_EQ(rep.current_out, table);
    EXPECT_EQ(rep.current_fault, fault_reason::none);
}

TEST_P(StalePsc, FirstStageDirectoryEditNeedsTheNonLeafInvalidation) {
    const bool leaf_only = GetParam();
    cfg.stale_check = true;
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    const auto [old_table, table] = replace_fs_pde();
    tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                    .did = 1,
                    .pasid = 5,
                    .ih = leaf_only,
                    .range = page_range::of_address(0x0, 9)});
    const translation_result r = xl(0x2008, {.pasid = 5});
    if (!leaf_only) {
        EXPECT_EQ(r.out_addr, 0x32008u);
        EXPECT_EQ(tr->stats().stale_hits, 0u);
        return;
    }
    EXPECT_EQ(r.fault, fault_reason::fs_not_present);
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(stale_of(*tr, stale_cache::fs_psc), 1u);
    const stale_report rep = only_report(*tr, stale_cache::fs_psc);
    EXPECT_EQ(rep.level, 2u);
    EXPECT_EQ(rep.pasid, 5u);
    EXPECT_EQ(rep.cached_out, old_table);
    EXPECT_EQ(rep.current_out, table);
}

INSTANTIATE_TEST_SUITE_P(InvalidationHint, StalePsc, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "LeafOnly" : "NonLeaf"; });

TEST_F(Translator, StalePscWithFewerRightsIsNoStaleEntry) {
    // A cached entry with fewer rights than the tables only faults (the walk is re-done after an
    // invalidation); only rights the tables took away make it stale.
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.map_ss(ss_root, 4, 0x2000, 0x12000);
    tb.map_ss(ss_root, 4, 0x3000, 0x13000);
    const uint64_t pde = tb.ss_entry_addr(ss_root, 4, 0x1000, 2);
    tb.clear_bits(pde, sp::w::mask);
    build();
    ASSERT_TRUE(xl(0x1000).ok());   // caches the PDE with R and X
    tb.set_bits(pde, sp::w::mask);  // a right added, no invalidation
    EXPECT_TRUE(xl(0x2000).ok());
    EXPECT_EQ(tr->stats().stale_hits, 0u);
    tb.clear_bits(pde, sp::x::mask);  // a right the cached PDE holds taken away
    const translation_result r = xl(0x3008);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.stale) << "the cached PDE still grants X";
    EXPECT_EQ(stale_of(*tr, stale_cache::ss_psc), 1u);
    const stale_report rep = only_report(*tr, stale_cache::ss_psc);
    EXPECT_TRUE(rep.cached_perm & iotlb_perm::ss_x);
    EXPECT_FALSE(rep.current_perm & iotlb_perm::ss_x);
}

TEST_F(Translator, NestParentUnmapLeavesNoStaleFirstStagePsc) {
    // The host unmaps guest RAM (its first-stage tables and the data page) from the second stage
    // and flushes as Linux does for a nest parent (drivers/iommu/intel/cache.c: type-2 PSI with the
    // nested DID, IH=0). The first-stage PSC keeps the guest's PDE (a GPA pointer the guest did
    // not change); the next walk uses it and faults in the second stage, as a fresh walk does. No
    // cached entry the tables contradict was used.
    cfg.stale_check = true;
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    ASSERT_GT(tr->psc().size(paging_structure_cache::stage::first), 0u);
    std::vector<uint64_t> table_gpas = {fs.root};
    for (unsigned level = 4; level >= 2; --level) {
        table_gpas.push_back(fp::addr::get(tb.read64(tb.fs_entry_addr(fs, 0x1000, level))) << 12);
    }
    for (uint64_t gpa : table_gpas) {
        tb.write64(tb.ss_entry_addr(ss_root, 4, gpa, 1), 0);
    }
    tb.write64(tb.ss_entry_addr(ss_root, 4, 0x9000'0000, 1), 0);
    for (uint64_t gpa : {table_gpas.front(), uint64_t{0x9000'0000}}) {
        tr->invalidate(
            {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = false, .range = page_range::of_address(gpa, 9)});
    }
    const uint64_t fs_psc_hits = tr->stats().fs_psc_hits;
    const translation_result r = xl(0x1000, {.pasid = 5});
    EXPECT_EQ(r.fault, fault_reason::ss_perm);
    EXPECT_EQ(tr->stats().fs_psc_hits, fs_psc_hits + 1) << "the walk used the cached PDE";
    // What the checker sees for that PDE: the guest's upper tables are out of the second stage's reach.
    pasid_info p;
    p.pasid = 5;
    p.did = 1;
    p.kind = translation_kind::nested;
    p.fsptptr = fs.root;
    p.ssptptr = ss_root;
    const table_entry_view view = tr->walker().table_entry(p, paging_structure_cache::stage::first, 2, 0x1000);
    EXPECT_TRUE(view.second_stage_blocked);
    EXPECT_NE(view.fault, fault_reason::none);
    EXPECT_FALSE(r.stale);
    EXPECT_EQ(tr->stats().stale_hits, 0u);
}

TEST_F(Translator, GuestPdeEditUnderNestingIsAStaleFirstStagePsc) {
    // The same cached PDE is stale once the guest itself points it elsewhere without the
    // PASID-based invalidation (IH=1 is the seeded bug).
    cfg.stale_check = true;
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    const uint64_t pde = tb.fs_entry_addr(fs, 0x1000, 2);
    const uint64_t old_table = fp::addr::get(tb.read64(pde)) << 12;
    const uint64_t other = 0x4008'0000;  // another guest page (GPA), mapped by the second stage
    tb.map_ss(ss_root, 4, other, tb.alloc_page());
    tb.write64(pde, k_fs_urw | fp::addr::make(other >> 12));
    tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                    .did = 1,
                    .pasid = 5,
                    .ih = true,
                    .range = page_range::of_address(0x1000, 0)});
    EXPECT_TRUE(xl(0x1000, {.pasid = 5}).stale);
    const stale_report rep = only_report(*tr, stale_cache::fs_psc);
    EXPECT_EQ(rep.cached_out, old_table);
    EXPECT_EQ(rep.current_out, other);
    EXPECT_EQ(rep.kind, translation_kind::nested);
}

// Random leaf remaps and directory edits (a PDE given a new page table) with the invalidation
// each needs (IH=1 for a leaf, IH=0 for a directory): every translation matches a reference map
// and no cache is stale. With the directory flush narrowed to IH=1 (the seeded bug) the
// paging-structure cache goes stale.
class RandomDirectoryEdits : public Translator, public ::testing::WithParamInterface<bool /* IH=0 flush */> {};

TEST_P(RandomDirectoryEdits, PagingStructureCachesFollowTheTables) {
    const bool correct = GetParam();
    cfg.stale_check = true;
    cfg.iotlb_sets = 4;
    cfg.iotlb_ways = 2;
    setup_ss();
    constexpr unsigned regions = 4;  // 2 MiB regions, one PDE each
    constexpr unsigned per_region = 8;
    auto page_of = [](unsigned region, unsigned i) { return (uint64_t{region} << 21) + (uint64_t{i} << 12); };
    std::map<uint64_t, uint64_t> ref;
    std::mt19937_64 rng(correct ? 5 : 6);
    uint64_t next_out = 0x10'0000'0000;
    auto map = [&](uint64_t in) {
        next_out += 0x1000;
        tb.map_ss(ss_root, 4, in, next_out);
        ref[in] = next_out;
    };
    for (unsigned r = 0; r < regions; ++r) {
        for (unsigned i = 0; i < per_region; ++i) {
            map(page_of(r, i));
        }
    }
    build();
    unsigned checked = 0;
    unsigned directory_edits = 0;
    for (unsigned step = 0; step < 2000; ++step) {
        const unsigned region = static_cast<unsigned>(rng() % regions);
        const unsigned choice = static_cast<unsigned>(rng() % 8);
        if (choice == 0) {
            // Directory edit: a fresh page table for the region, every page remapped.
            const uint64_t table = tb.alloc_page();
            tb.write64(tb.ss_entry_addr(ss_root, 4, page_of(region, 0), 2),
                       k_rw | sp::x::mask | sp::addr::make(table >> 12));
            for (unsigned i = 0; i < per_region; ++i) {
                map(page_of(region, i));
            }
            tr->invalidate({.kind = scope_kind::iotlb_domain_range,
                            .did = 1,
                            .ih = !correct,
                            .range = page_range::of_address(page_of(region, 0), 9)});
            ++directory_edits;
            continue;
        }
        const uint64_t in = page_of(region, static_cast<unsigned>(rng() % per_region));
        if (choice == 1) {
            map(in);
            tr->invalidate(
                {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = true, .range = page_range::of_address(in, 0)});
            continue;
        }
        const translation_result r = xl(in + 8);
        if (correct) {
            ASSERT_TRUE(r.ok()) << "step " << step;
            ASSERT_EQ(r.out_addr, ref[in] + 8) << "step " << step;
            ASSERT_FALSE(r.stale) << "step " << step;
            ++checked;
        }
    }
    EXPECT_GT(directory_edits, 150u);
    EXPECT_GT(tr->stats().ss_psc_hits, 500u);
    if (correct) {
        EXPECT_GT(checked, 1000u);
        EXPECT_EQ(tr->stats().stale_hits, 0u);
    } else {
        EXPECT_GT(stale_of(*tr, stale_cache::ss_psc), 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(Flush, RandomDirectoryEdits, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "NonLeaf" : "LeafOnly"; });

// ---------------------------------------------------------------- context and PASID caches

TEST_F(Translator, ContextEntryEditWithoutContextInvalidationIsStale) {
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tb.set_bits(tb.context_entry_addr(k_rid), hw::context_entry::fpd::mask);  // software sets FPD
    const translation_result r = xl(0x1000);
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(stale_of(*tr, stale_cache::context), 1u);
    const stale_report rep = only_report(*tr, stale_cache::context);
    ASSERT_NE(rep.field, nullptr);
    EXPECT_STREQ(rep.field, "fpd");
    EXPECT_EQ(rep.cached_out, 0u);
    EXPECT_EQ(rep.current_out, 1u);
    EXPECT_EQ(rep.rid, k_rid);
    // The device-selective context-cache invalidation the edit needs (§6.5).
    tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid});
    EXPECT_FALSE(xl(0x1000).stale);
    EXPECT_EQ(tr->stats().stale_hits, 1u);
}

TEST_F(Translator, ClearedContextEntryStillCachedIsStale) {
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tb.clear_bits(tb.context_entry_addr(k_rid), hw::context_entry::p::mask);
    // An invalidation that names another device (the seeded bug: the wrong SID).
    tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid + 8});
    EXPECT_TRUE(xl(0x1000).stale);
    EXPECT_EQ(only_report(*tr, stale_cache::context).current_fault, fault_reason::ctx_not_present);
    tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid});
    EXPECT_EQ(xl(0x1000).fault, fault_reason::ctx_not_present);
    EXPECT_EQ(stale_of(*tr, stale_cache::context), 1u);
}

TEST_F(Translator, PasidEntryEditWithoutPasidCacheInvalidationIsStale) {
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    // Software moves RID_PASID to DID 2 (PASID entry DID, bits 79:64).
    const uint64_t word1 = pasid_entry + 8;
    tb.write64(word1, (tb.read64(word1) & ~uint64_t{0xffff}) | 2);
    const translation_result r = xl(0x1000);
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(r.did, 1u) << "the cached entry decided the domain";
    EXPECT_EQ(stale_of(*tr, stale_cache::pasid), 1u);
    const stale_report rep = only_report(*tr, stale_cache::pasid);
    ASSERT_NE(rep.field, nullptr);
    EXPECT_STREQ(rep.field, "did");
    EXPECT_EQ(rep.cached_out, 1u);
    EXPECT_EQ(rep.current_out, 2u);
    // A PASID-cache invalidation of the old DID and the PASID (§6.5, 6.7): fresh from then on.
    const uint64_t before = tr->stats().stale_hits;
    tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 1, .pasid = 0});
    const translation_result f = xl(0x1000);
    EXPECT_EQ(f.did, 2u);
    EXPECT_FALSE(f.stale);
    EXPECT_EQ(tr->stats().stale_hits, before);
}

TEST_F(Translator, PasidCacheInvalidationOfAnotherDomainLeavesItStale) {
    cfg.stale_check = true;
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    tb.clear_bits(pasid_entry, pe::p::mask);                                        // PASID 5 torn down
    tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 3, .pasid = 5});  // wrong DID
    EXPECT_TRUE(xl(0x1000, {.pasid = 5}).stale);
    EXPECT_EQ(stale_of(*tr, stale_cache::pasid), 1u);
    EXPECT_NE(only_report(*tr, stale_cache::pasid).current_fault, fault_reason::none);
}

// ---------------------------------------------------------------- caching mode: not-present entries

struct cm_case {
    bool cm;
    bool not_present_caching;
};

class CachingMode : public Translator, public ::testing::WithParamInterface<cm_case> {};

TEST_P(CachingMode, MapWithoutInvalidationKeepsFaultingOnlyUnderCm) {
    const cm_case c = GetParam();
    cfg.cm = c.cm;
    cfg.cm_not_present_caching = c.not_present_caching;
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    EXPECT_EQ(xl(0x2000).fault, fault_reason::ss_perm);  // not mapped yet
    tb.map_ss(ss_root, 4, 0x2000, 0x12000);              // mapped, not invalidated
    const translation_result r = xl(0x2008);
    const bool cached = c.cm && c.not_present_caching;
    EXPECT_EQ(tr->stats().not_present_fills, cached ? 1u : 0u);
    if (!cached) {
        EXPECT_EQ(r.out_addr, 0x12008u) << "without CM a not-present entry is never cached";
        EXPECT_EQ(tr->stats().stale_hits, 0u);
        return;
    }
    EXPECT_EQ(r.fault, fault_reason::ss_perm) << "the not-present entry is still cached";
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(tr->stats().not_present_hits, 1u);
    const stale_report rep = only_report(*tr, stale_cache::not_present);
    EXPECT_EQ(rep.addr, 0x2008u);
    EXPECT_EQ(rep.current_out, 0x12008u);
    // The flush Linux issues after a map under CM (cache_tag_flush_range_np: type-2 PSI).
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .ih = false, .range = page_range::of_address(0x2000, 0)});
    const translation_result f = xl(0x2008);
    EXPECT_EQ(f.out_addr, 0x12008u);
    EXPECT_FALSE(f.stale);
    EXPECT_EQ(tr->stats().stale_hits, 1u);
}

INSTANTIATE_TEST_SUITE_P(Modes, CachingMode,
                         ::testing::Values(cm_case{true, true}, cm_case{true, false}, cm_case{false, true}),
                         [](const auto& info) {
                             return std::string(info.param.cm ? "Cm" : "NoCm") +
                                    (info.param.not_present_caching ? "Caching" : "NotCaching");
                         });

TEST_F(Translator, CachingModeNeverCachesFirstStageNotPresent) {
    // §6.1: under CM software still need not invalidate first-stage not-present -> present.
    cfg.cm = true;
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    build();
    EXPECT_EQ(xl(0x2000, {.pasid = 5}).fault, fault_reason::fs_not_present);
    tb.map_fs(fs, 0x2000, 0x12000);
    EXPECT_EQ(xl(0x2000, {.pasid = 5}).out_addr, 0x12000u);
    EXPECT_EQ(tr->stats().not_present_fills, 0u);
}

TEST_F(Translator, NotPresentCacheIsBoundedAndDroppedByDomainScopes) {
    cfg.cm = true;
    cfg.not_present_cache_entries = 4;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    for (uint64_t page = 2; page < 10; ++page) {
        EXPECT_EQ(xl(page << 12).fault, fault_reason::ss_perm);
    }
    EXPECT_EQ(tr->not_present_entries().size(), 4u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 2}), 0u) << "another domain";
    const unsigned psc = tr->psc().size(paging_structure_cache::stage::second);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 1}), 4u + psc) << "the four and the PSC";
    EXPECT_EQ(tr->not_present_entries().size(), 0u);
}

TEST_F(Translator, NotPresentCacheSizeIsValidated) {
    cfg.not_present_cache_entries = 0;
    EXPECT_NE(cfg.validate().find("not_present_cache_entries=0"), std::string::npos) << cfg.validate();
}

}  // namespace
}  // namespace iommusim::translator_test
