#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tlm/context_cache.h"
#include "tlm/paging_structure_cache.h"
#include "tlm/pasid_cache.h"

namespace iommusim {
namespace {

context_info ctx_with_dir(uint64_t dir) {
    context_info c;
    c.pasid_dir = dir;
    return c;
}

TEST(ContextCache, HitMissAndRefill) {
    context_cache c(4);
    EXPECT_EQ(c.lookup(0x10), nullptr);
    c.fill(0x10, ctx_with_dir(0x1000));
    ASSERT_NE(c.lookup(0x10), nullptr);
    EXPECT_EQ(c.lookup(0x10)->pasid_dir, 0x1000u);
    c.fill(0x10, ctx_with_dir(0x2000));  // same tag: replaced, not duplicated
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(c.lookup(0x10)->pasid_dir, 0x2000u);
    EXPECT_EQ(c.lookup(0x11), nullptr);
}

TEST(ContextCache, LruEviction) {
    context_cache c(3);
    c.fill(1, ctx_with_dir(1));
    c.fill(2, ctx_with_dir(2));
    c.fill(3, ctx_with_dir(3));
    ASSERT_NE(c.lookup(1), nullptr);  // 2 is now least recently used
    c.fill(4, ctx_with_dir(4));
    EXPECT_EQ(c.lookup(2), nullptr);
    EXPECT_NE(c.lookup(1), nullptr);
    EXPECT_NE(c.lookup(3), nullptr);
    EXPECT_NE(c.lookup(4), nullptr);
    EXPECT_EQ(c.capacity(), 3u);
}

TEST(ContextCache, DeviceSelectiveFunctionMasks) {
    context_cache c(16);
    for (uint16_t f = 0; f < 8; ++f) {
        c.fill(static_cast<uint16_t>(0x0308 | f), ctx_with_dir(f));  // 03:01.0-7
    }
    c.fill(0x0400, ctx_with_dir(9));
    EXPECT_EQ(c.invalidate_device(0x030b, 0), 1u);  // exact
    EXPECT_EQ(c.lookup(0x030b), nullptr);
    EXPECT_EQ(c.invalidate_device(0x030a, 1), 2u);  // ignores SID bit 2: 0x030a and 0x030e
    EXPECT_EQ(c.lookup(0x030e), nullptr);
    EXPECT_NE(c.lookup(0x0308), nullptr);
    EXPECT_EQ(c.invalidate_device(0x0309, 2), 3u);  // ignores bits 2:1: 0x0309, 0x030d, 0x030f
    EXPECT_EQ(c.invalidate_device(0x0308, 3), 2u);  // all functions: 0x0308, 0x030c remain
    EXPECT_EQ(c.size(), 1u);
    EXPECT_NE(c.lookup(0x0400), nullptr);
    EXPECT_EQ(c.invalidate_all(), 1u);
    EXPECT_EQ(c.size(), 0u);
}

TEST(ContextCache, LruEvictionAtCapacityAfterDrops) {
    context_cache c(64);
    for (uint16_t sid = 0; sid < 64; ++sid) {
        c.fill(static_cast<uint16_t>(0x100 + sid), ctx_with_dir(sid));
    }
    EXPECT_EQ(c.size(), 64u);
    for (uint16_t sid = 0; sid < 32; ++sid) {  // 0x100..0x11f used again: 0x120 is now the oldest
        ASSERT_NE(c.lookup(static_cast<uint16_t>(0x100 + sid)), nullptr);
    }
    c.fill(0x200, ctx_with_dir(0x200));
    EXPECT_EQ(c.lookup(0x120), nullptr);
    EXPECT_NE(c.lookup(0x121), nullptr);
    EXPECT_EQ(c.invalidate_device(0x105, 0), 1u);  // a free slot: the next fill evicts nothing
    c.fill(0x201, ctx_with_dir(0x201));
    EXPECT_EQ(c.size(), 64u);
    EXPECT_NE(c.lookup(0x122), nullptr);
    EXPECT_EQ(c.lookup(0x201)->pasid_dir, 0x201u);
    c.fill(0x202, ctx_with_dir(0x202));  // full again: the oldest is 0x123
    EXPECT_EQ(c.lookup(0x123), nullptr);
    EXPECT_NE(c.lookup(0x124), nullptr);
}

pasid_info pinfo(uint16_t did, uint32_t pasid) {
    pasid_info p;
    p.did = did;
    p.pasid = pasid;
    return p;
}

TEST(PasidCache, LookupBySidAndPasid) {
    pasid_cache c(8);
    c.fill(0x10, pinfo(1, 5));
    EXPECT_NE(c.lookup(0x10, 5), nullptr);
    EXPECT_EQ(c.lookup(0x11, 5), nullptr);  // another device
    EXPECT_EQ(c.lookup(0x10, 6), nullptr);
    EXPECT_EQ(c.lookup(0x10, 5)->did, 1u);
}

TEST(PasidCache, Scopes) {
    pasid_cache c(8);
    c.fill(0x10, pinfo(1, 5));
    c.fill(0x11, pinfo(1, 5));  // two devices in one domain share DID + PASID
    c.fill(0x10, pinfo(1, 6));
    c.fill(0x10, pinfo(2, 7));
    EXPECT_EQ(c.invalidate_pasid(1, 7), 0u);
    EXPECT_EQ(c.invalidate_pasid(1, 5), 2u);
    EXPECT_NE(c.lookup(0x10, 6), nullptr);
    EXPECT_EQ(c.invalidate_domain(1), 1u);
    EXPECT_NE(c.lookup(0x10, 7), nullptr);
    EXPECT_EQ(c.invalidate_all(), 1u);
    EXPECT_EQ(c.size(), 0u);
}

TEST(PasidCache, LruEviction) {
    pasid_cache c(2);
    c.fill(1, pinfo(1, 1));
    c.fill(1, pinfo(1, 2));
    ASSERT_NE(c.lookup(1, 1), nullptr);
    c.fill(1, pinfo(1, 3));
    EXPECT_EQ(c.lookup(1, 2), nullptr);
    EXPECT_NE(c.lookup(1, 1), nullptr);
}

using stage = paging_structure_cache::stage;

TEST(PagingStructureCache, TagsByLevelPrefix) {
    paging_structure_cache p(8, 8);
    p.fill(stage::first, 1, 5, 2, 0x1234'5000, {0xaa000, 0x3});
    // Same PDE region (2 MiB) hits, the next region misses.
    ASSERT_NE(p.lookup(stage::first, 1, 5, 2, 0x1220'0000), nullptr);
    EXPECT_EQ(p.lookup(stage::first, 1, 5, 2, 0x1220'0000)->next_table, 0xaa000u);
    EXPECT_EQ(p.lookup(stage::first, 1, 5, 2, 0x1240'0000), nullptr);
    EXPECT_EQ(p.lookup(stage::first, 1, 5, 3, 0x1234'5000), nullptr);   // another level
    EXPECT_EQ(p.lookup(stage::first, 1, 6, 2, 0x1234'5000), nullptr);   // another PASID
    EXPECT_EQ(p.lookup(stage::first, 2, 5, 2, 0x1234'5000), nullptr);   // another domain
    EXPECT_EQ(p.lookup(stage::second, 1, 5, 2, 0x1234'5000), nullptr);  // another stage
    // Second stage ignores the PASID.
    p.fill(stage::second, 1, 9, 3, 0x4000'0000, {0xbb000, 0x1});
    EXPECT_NE(p.lookup(stage::second, 1, 0, 3, 0x7fff'f000), nullptr);
    // Levels outside 2..5 are never cached.
    p.fill(stage::first, 1, 5, 1, 0x1000, {0xcc000, 0});
    EXPECT_EQ(p.lookup(stage::first, 1, 5, 1, 0x1000), nullptr);
    EXPECT_EQ(p.size(stage::first), 1u);
}

TEST(PagingStructureCache, LruPerLevel) {
    paging_structure_cache p(2, 2);
    p.fill(stage::first, 1, 0, 2, 0x0000'0000, {1, 0});
    p.fill(stage::first, 1, 0, 2, 0x0020'0000, {2, 0});
    p.fill(stage::first, 1, 0, 3, 0x4000'0000, {3, 0});  // another level: no pressure on level 2
    ASSERT_NE(p.lookup(stage::first, 1, 0, 2, 0x0), nullptr);
    p.fill(stage::first, 1, 0, 2, 0x0040'0000, {4, 0});
    EXPECT_EQ(p.lookup(stage::first, 1, 0, 2, 0x0020'0000), nullptr);
    EXPECT_NE(p.lookup(stage::first, 1, 0, 2, 0x0), nullptr);
    EXPECT_NE(p.lookup(stage::first, 1, 0, 3, 0x4000'0000), nullptr);
}

// lookup_lowest: the lowest level below the walk's level count that holds an entry, with the
// LRU update of that hit only.
TEST(PagingStructureCache, LookupLowestLevelFirst) {
    paging_structure_cache p(2, 2);
    p.fill(stage::first, 1, 5, 3, 0x4000'0000, {3, 0x1});  // PDPE: 0x4000'0000..0x7fff'ffff
    p.fill(stage::first, 1, 5, 2, 0x4020'0000, {2, 0x2});  // PDE: 0x4020'0000..0x403f'ffff
    unsigned level = 0;
    const auto* e = p.lookup_lowest<stage::first>(1, 5, 4, 0x4030'0000, level);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(level, 2u);
    EXPECT_EQ(e->next_table, 2u);
    // Outside the PDE's region, inside the PDPE's.
    e = p.lookup_lowest<stage::first>(1, 5, 4, 0x4040'0000, level);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(level, 3u);
    EXPECT_EQ(e->next_table, 3u);
    // A 3-level walk has no level-3 entry to resume below.
    EXPECT_EQ(p.lookup_lowest<stage::first>(1, 5, 3, 0x4040'0000, level), nullptr);
    EXPECT_EQ(p.lookup_lowest<stage::first>(1, 6, 4, 0x4030'0000, level), nullptr);   // another PASID
    EXPECT_EQ(p.lookup_lowest<stage::second>(1, 5, 4, 0x4030'0000, level), nullptr);  // another stage
    // Second stage: the PASID is ignored.
    p.fill(stage::second, 1, 0, 2, 0x0, {7, 0});
    e = p.lookup_lowest<stage::second>(1, 9, 4, 0x1000, level);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(level, 2u);
    // A hit makes its entry the most recently used: the other one is evicted next.
    p.fill(stage::first, 1, 5, 2, 0x0, {4, 0});  // level 2 now full: 0x0 newest, 0x4020'0000 oldest
    ASSERT_NE(p.lookup_lowest<stage::first>(1, 5, 4, 0x4020'0000, level), nullptr);
    p.fill(stage::first, 1, 5, 2, 0x8000'0000, {5, 0});
    EXPECT_EQ(p.lookup(stage::first, 1, 5, 2, 0x0), nullptr);
    EXPECT_NE(p.lookup(stage::first, 1, 5, 2, 0x4020'0000), nullptr);
    EXPECT_NE(p.lookup(stage::first, 1, 5, 2, 0x8000'0000), nullptr);
}

// peek: lookup() without the LRU update, looking at the slot it found before first; touch: the
// LRU update alone.
TEST(PagingStructureCache, PeekAndTouch) {
    paging_structure_cache p(2, 2);
    p.fill(stage::first, 1, 5, 2, 0x0, {1, 0});
    p.fill(stage::first, 1, 5, 2, 0x20'0000, {2, 0});
    uint32_t slot = 7;  // no slot of the level
    const auto* e = p.peek(stage::first, 1, 5, 2, 0x10'0000, slot);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->next_table, 1u);
    const uint32_t first = slot;
    e = p.peek(stage::first, 1, 5, 2, 0x20'0000, slot);  // the slot holds another tag: probed
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->next_table, 2u);
    EXPECT_NE(slot, first);
    const uint32_t second = slot;
    EXPECT_EQ(p.peek(stage::first, 1, 6, 2, 0x20'0000, slot), nullptr);  // another PASID
    EXPECT_EQ(slot, second);
    EXPECT_EQ(p.peek(stage::second, 1, 5, 2, 0x20'0000, slot), nullptr);  // another stage
    EXPECT_EQ(p.invalidate_pasid_range(1, 5, 0x0, 9, false), 1u);
    slot = first;
    EXPECT_EQ(p.peek(stage::first, 1, 5, 2, 0x0, slot), nullptr);  // its slot is invalid now
    p.fill(stage::first, 1, 5, 2, 0x40'0000, {3, 0});              // into that slot
    EXPECT_EQ(p.peek(stage::first, 1, 5, 2, 0x0, slot), nullptr);
    e = p.peek(stage::first, 1, 5, 2, 0x40'0000, slot);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->next_table, 3u);
    EXPECT_EQ(slot, first);
    // 0x20'0000 is the older entry; a peek leaves it so, a touch makes it the newer.
    ASSERT_NE(p.peek(stage::first, 1, 5, 2, 0x20'0000, slot), nullptr);
    p.fill(stage::first, 1, 5, 2, 0x60'0000, {4, 0});
    EXPECT_EQ(p.peek(stage::first, 1, 5, 2, 0x20'0000, slot), nullptr);
    ASSERT_NE(p.peek(stage::first, 1, 5, 2, 0x40'0000, slot), nullptr);  // now the older
    p.touch(stage::first, 2, slot);
    p.fill(stage::first, 1, 5, 2, 0x80'0000, {5, 0});
    EXPECT_NE(p.peek(stage::first, 1, 5, 2, 0x40'0000, slot), nullptr);
    EXPECT_EQ(p.peek(stage::first, 1, 5, 2, 0x60'0000, slot), nullptr);
}

class PscScopes : public ::testing::Test {
  protected:
    PscScopes() : p(16, 16) {
        // First stage: did 1 pasid 5 and 6, did 2 pasid 5; PDEs for 0x0 and 0x4000'0000, a PML4E.
        p.fill(stage::first, 1, 5, 2, 0x0, {1, 0});
        p.fill(stage::first, 1, 5, 2, 0x4000'0000, {2, 0});
        p.fill(stage::first, 1, 5, 4, 0x0, {3, 0});
        p.fill(stage::first, 1, 6, 2, 0x0, {4, 0});
        p.fill(stage::first, 2, 5, 2, 0x0, {5, 0});
        // Second stage: did 1 at GPA 0 (PDE, PDPE) and 0x8000'0000 (PDE); did 2 at 0.
        p.fill(stage::second, 1, 0, 2, 0x0, {6, 0});
        p.fill(stage::second, 1, 0, 3, 0x0, {7, 0});
        p.fill(stage::second, 1, 0, 2, 0x8000'0000, {8, 0});
        p.fill(stage::second, 2, 0, 2, 0x0, {9, 0});
    }
    paging_structure_cache p;
};

TEST_F(PscScopes, All) {
    EXPECT_EQ(p.invalidate_all(), 9u);
    EXPECT_EQ(p.size(stage::first) + p.size(stage::second), 0u);
}

TEST_F(PscScopes, DomainCoversBothStages) {
    EXPECT_EQ(p.invalidate_domain(1), 7u);
    EXPECT_NE(p.lookup(stage::first, 2, 5, 2, 0x0), nullptr);
    EXPECT_NE(p.lookup(stage::second, 2, 0, 2, 0x0), nullptr);
}

TEST_F(PscScopes, DomainRangeIsSecondStageOnlyAndHonoursIh) {
    EXPECT_EQ(p.invalidate_domain_range(1, 0x10, 0, true), 0u);
    EXPECT_EQ(p.invalidate_domain_range(1, 0x10, 0, false), 2u);  // PDE and PDPE covering GPA 0x10000
    EXPECT_EQ(p.lookup(stage::second, 1, 0, 2, 0x0), nullptr);
    EXPECT_EQ(p.lookup(stage::second, 1, 0, 3, 0x0), nullptr);
    EXPECT_NE(p.lookup(stage::second, 1, 0, 2, 0x8000'0000), nullptr);
    EXPECT_NE(p.lookup(stage::second, 2, 0, 2, 0x0), nullptr);
    EXPECT_EQ(p.size(stage::first), 5u);  // first stage untouched
    // A range larger than the region also hits it.
    EXPECT_EQ(p.invalidate_domain_range(1, 0x0, 20, false), 1u);
}

TEST_F(PscScopes, PasidIsFirstStageOnly) {
    EXPECT_EQ(p.invalidate_pasid(1, 5), 3u);
    EXPECT_NE(p.lookup(stage::first, 1, 6, 2, 0x0), nullptr);
    EXPECT_NE(p.lookup(stage::first, 2, 5, 2, 0x0), nullptr);
    EXPECT_EQ(p.size(stage::second), 4u);
}

TEST_F(PscScopes, PasidRangeHonoursIh) {
    EXPECT_EQ(p.invalidate_pasid_range(1, 5, 0x40000, 0, true), 0u);
    // The PDE of 0x4000'0000 and the PML4E whose 512 GiB region contains it.
    EXPECT_EQ(p.invalidate_pasid_range(1, 5, 0x40000, 0, false), 2u);
    EXPECT_EQ(p.lookup(stage::first, 1, 5, 4, 0x0), nullptr);
    EXPECT_NE(p.lookup(stage::first, 1, 5, 2, 0x0), nullptr);
    EXPECT_NE(p.lookup(stage::first, 1, 6, 2, 0x0), nullptr);
    EXPECT_EQ(p.size(stage::second), 4u);
}

// Range invalidation at every level against regions whose first and last pages sit exactly on the
// range boundaries.
TEST(PagingStructureCache, RangeBoundariesAtEveryLevel) {
    for (unsigned level = paging_structure_cache::min_level; level <= paging_structure_cache::max_level; ++level) {
        SCOPED_TRACE(level);
        const unsigned region_log2 = 9 * (level - 1);  // region size in 4 KiB pages
        const uint64_t region_pages = uint64_t{1} << region_log2;
        const uint64_t base_vpn = 3 * region_pages;  // region [3R, 4R)
        paging_structure_cache p(4, 4);
        auto refill = [&] {
            p.fill(stage::first, 1, 5, level, base_vpn << 12, {0x1000, 0});
            p.fill(stage::second, 1, 0, level, base_vpn << 12, {0x2000, 0});
        };
        refill();
        // Single pages just outside the region on either side miss it.
        EXPECT_EQ(p.invalidate_pasid_range(1, 5, base_vpn - 1, 0, false), 0u);
        EXPECT_EQ(p.invalidate_pasid_range(1, 5, base_vpn + region_pages, 0, false), 0u);
        EXPECT_EQ(p.invalidate_domain_range(1, base_vpn - 1, 0, false), 0u);
        EXPECT_EQ(p.invalidate_domain_range(1, base_vpn + region_pages, 0, false), 0u);
        // An aligned range ending right below the region misses it.
        EXPECT_EQ(p.invalidate_pasid_range(1, 5, 2 * region_pages, region_log2, false), 0u);
        // The first and the last page of the region hit it.
        EXPECT_EQ(p.invalidate_pasid_range(1, 5, base_vpn, 0, false), 1u);
        EXPECT_EQ(p.invalidate_domain_range(1, base_vpn + region_pages - 1, 0, false), 1u);
        EXPECT_EQ(p.size(stage::first) + p.size(stage::second), 0u);
        refill();
        // Another DID or PASID, and IH=1, keep both entries.
        EXPECT_EQ(p.invalidate_pasid_range(1, 6, base_vpn, 0, false), 0u);
        EXPECT_EQ(p.invalidate_pasid_range(2, 5, base_vpn, 0, false), 0u);
        EXPECT_EQ(p.invalidate_domain_range(2, base_vpn, 0, false), 0u);
        EXPECT_EQ(p.invalidate_pasid_range(1, 5, base_vpn, 0, true), 0u);
        EXPECT_EQ(p.invalidate_domain_range(1, base_vpn, 0, true), 0u);
        // A larger range containing the region hits it; the low bits of vpn are ignored.
        EXPECT_EQ(p.invalidate_pasid_range(1, 5, base_vpn + 1, region_log2 + 2, false), 1u);
        EXPECT_EQ(p.invalidate_domain_range(1, base_vpn + 1, region_log2 + 2, false), 1u);
        refill();
        EXPECT_EQ(p.invalidate_pasid_range(1, 5, 0, 52, false), 1u);  // "everything" range
        EXPECT_EQ(p.invalidate_domain_range(1, 0, 63, false), 1u);
    }
}

// Bookkeeping survives evictions: an evicted entry is not counted again by an invalidation, and
// a freed slot is reused before the least recently used one.
TEST(PagingStructureCache, InvalidationCountsAfterEvictions) {
    paging_structure_cache p(3, 3);
    for (uint64_t i = 0; i < 5; ++i) {  // regions 0..4 of PASID 5: 0 and 1 are evicted
        p.fill(stage::first, 1, 5, 2, i << 21, {i, 0});
    }
    EXPECT_EQ(p.size(stage::first), 3u);
    EXPECT_EQ(p.lookup(stage::first, 1, 5, 2, 0), nullptr);
    EXPECT_EQ(p.invalidate_pasid_range(1, 5, 0, 10, false), 0u);  // regions 0, 1: already evicted
    EXPECT_EQ(p.invalidate_pasid_range(1, 5, 3 << 9, 0, false), 1u);
    EXPECT_EQ(p.size(stage::first), 2u);
    // Regions 2 and 4 remain; region 5 takes the freed slot, region 2 stays resident.
    p.fill(stage::first, 1, 5, 2, uint64_t{5} << 21, {5, 0});
    EXPECT_NE(p.lookup(stage::first, 1, 5, 2, uint64_t{2} << 21), nullptr);
    EXPECT_EQ(p.invalidate_pasid(1, 5), 3u);
    EXPECT_EQ(p.invalidate_pasid(1, 5), 0u);
    EXPECT_EQ(p.size(stage::first), 0u);
    // Domain scope on an emptied stage finds nothing, then finds a new fill.
    EXPECT_EQ(p.invalidate_domain(1), 0u);
    p.fill(stage::second, 1, 0, 5, 0, {9, 0});
    EXPECT_EQ(p.invalidate_domain(1), 1u);
    EXPECT_EQ(p.invalidate_all(), 0u);
}

// A straightforward model of the cache (one array of tagged slots per stage and level, linear
// scans, the same victim choice) that the indexed implementation must match operation by
// operation.
class reference_psc {
  public:
    struct slot {
        bool valid = false;
        uint16_t did = 0;
        uint32_t pasid = 0;
        uint64_t prefix = 0;
        uint64_t stamp = 0;
        paging_structure_cache::entry e;
    };

    reference_psc(unsigned fs, unsigned ss) {
        for (unsigned l = 0; l < 4; ++l) {
            m_levels[l].resize(fs);
            m_levels[4 + l].resize(ss);
        }
    }
    const paging_structure_cache::entry* lookup(stage st, uint16_t did, uint32_t pasid, unsigned level, uint64_t addr) {
        if (level < 2 || level > 5) {
            return nullptr;
        }
        pasid = st == stage::second ? 0 : pasid;
        for (slot& s : arr(st, level)) {
            if (s.valid && s.did == did && s.pasid == pasid && s.prefix == (addr >> shift(level))) {
                s.stamp = ++m_clock;
                return &s.e;
            }
        }
        return nullptr;
    }
    void fill(stage st, uint16_t did, uint32_t pasid, unsigned level, uint64_t addr,
              const paging_structure_cache::entry& e) {
        if (level < 2 || level > 5) {
            return;
        }
        pasid = st == stage::second ? 0 : pasid;
        auto& a = arr(st, level);
        const uint64_t prefix = addr >> shift(level);
        std::size_t victim = a.size();
        for (std::size_t i = 0; i < a.size() && victim == a.size(); ++i) {
            if (a[i].valid && a[i].did == did && a[i].pasid == pasid && a[i].prefix == prefix) {
                victim = i;
            }
        }
        for (std::size_t i = 0; i < a.size() && victim == a.size(); ++i) {
            if (!a[i].valid) {
                victim = i;
            }
        }
        if (victim == a.size()) {
            victim = 0;
            for (std::size_t i = 1; i < a.size(); ++i) {
                if (a[i].stamp < a[victim].stamp) {
                    victim = i;
                }
            }
        }
        a[victim] = slot{true, did, pasid, prefix, ++m_clock, e};
    }
    // Drops the valid entries of the selected stages for which pred(slot, level) holds.
    template <typename Pred>
    unsigned drop(bool first, bool second, Pred pred) {
        unsigned n = 0;
        for (unsigned i = 0; i < 8; ++i) {
            if ((i < 4 && !first) || (i >= 4 && !second)) {
                continue;
            }
            for (slot& s : m_levels[i]) {
                if (s.valid && pred(s, 2 + i % 4)) {
                    s.valid = false;
                    ++n;
                }
            }
        }
        return n;
    }
    // The block of 2^am pages holding vpn (docs/vtd-facts.md §3.2); am is a 6-bit field, so a page
    // number beyond the 52-bit ADDR field with a large am still names the block that holds it.
    static bool overlaps(uint64_t prefix, unsigned level, uint64_t vpn, unsigned am) {
        am = am > 63 ? 63 : am;
        const unsigned pshift = shift(level) - 12;
        const uint64_t lo = vpn & ~((uint64_t{1} << am) - 1);
        const uint64_t hi = lo + (uint64_t{1} << am) - 1;  // last page of the range
        return (prefix << pshift) <= hi && lo <= (prefix << pshift) + ((uint64_t{1} << pshift) - 1);
    }
    unsigned size(stage st) const {
        const bool first = st == stage::first;
        unsigned n = 0;
        for (unsigned i = first ? 0 : 4; i < (first ? 4u : 8u); ++i) {
            for (const slot& s : m_levels[i]) {
                n += s.valid ? 1 : 0;
            }
        }
        return n;
    }

  private:
    static unsigned shift(unsigned level) { return 12 + 9 * (level - 1); }
    std::vector<slot>& arr(stage st, unsigned level) { return m_levels[(st == stage::first ? 0 : 4) + level - 2]; }
    std::vector<slot> m_levels[8];
    uint64_t m_clock = 0;
};

TEST(PagingStructureCache, MatchesReferenceModelRandomised) {
    std::mt19937_64 rng(20261124);
    auto pick = [&](uint64_t n) { return rng() % n; };
    for (unsigned round = 0; round < 4; ++round) {
        const unsigned fs = 1 + static_cast<unsigned>(pick(round == 0 ? 3 : 12));
        const unsigned ss = 1 + static_cast<unsigned>(pick(12));
        paging_structure_cache dut(fs, ss);
        reference_psc ref(fs, ss);
        using rs = reference_psc::slot;
        // Few tags and addresses so that fills collide, hit, evict and invalidations find entries.
        // DIDs 0, 256 and 512 share a low byte; occasional PASIDs from a wider set share hash
        // buckets with the frequent ones.
        auto did = [&] { return static_cast<uint16_t>(pick(4) == 0 ? 256 * pick(3) : pick(3)); };
        auto pasid = [&] {
            const uint64_t r = pick(8);
            return static_cast<uint32_t>(r == 0 ? 0xfffff : r == 1 ? pick(600) : pick(3));
        };
        auto level = [&] { return 1 + static_cast<unsigned>(pick(6)); };  // 1 and 6 are never cached
        auto addr = [&] { return (pick(8) << 21) | (pick(4) << 30) | (pick(2) << 39) | (pick(2) << 48); };
        auto am = [&] {
            static constexpr unsigned ams[] = {0, 1, 9, 10, 18, 19, 27, 30, 36, 45, 52, 63};
            return ams[pick(std::size(ams))];
        };
        for (unsigned op = 0; op < 50000; ++op) {
            SCOPED_TRACE(op);
            const stage st = pick(2) ? stage::first : stage::second;
            switch (pick(10)) {
                case 0:
                case 1:
                case 2: {
                    const uint16_t d = did();
                    const uint32_t p = pasid();
                    const unsigned l = level();
                    const uint64_t a = addr();
                    const auto* x = dut.lookup(st, d, p, l, a);
                    const auto* y = ref.lookup(st, d, p, l, a);
                    ASSERT_EQ(x == nullptr, y == nullptr);
                    if (x != nullptr) {
                        ASSERT_EQ(x->next_table, y->next_table);
                        ASSERT_EQ(x->perm, y->perm);
                    }
                    break;
                }
                case 3:
                case 4:
                case 5: {
                    const uint16_t d = did();
                    const uint32_t p = pasid();
                    const unsigned l = level();
                    const uint64_t a = addr();
                    const paging_structure_cache::entry e{rng() & 0xffff'f000, static_cast<uint8_t>(rng())};
                    dut.fill(st, d, p, l, a, e);
                    ref.fill(st, d, p, l, a, e);
                    break;
                }
                case 6: {
                    const uint16_t d = did();
                    const uint64_t v = pick(8) == 0 ? rng() : addr() >> 12;  // sometimes far beyond any region
                    const unsigned m = am();
                    const bool ih = pick(4) == 0;
                    ASSERT_EQ(dut.invalidate_domain_range(d, v, m, ih),
                              ih ? 0u : ref.drop(false, true, [&](const rs& s, unsigned l) {
                                  return s.did == d && reference_psc::overlaps(s.prefix, l, v, m);
                              }));
                    break;
                }
                case 7: {
                    const uint16_t d = did();
                    const uint32_t p = pasid();
                    const uint64_t v = pick(8) == 0 ? rng() : addr() >> 12;  // sometimes far beyond any region
                    const unsigned m = am();
                    const bool ih = pick(4) == 0;
                    ASSERT_EQ(dut.invalidate_pasid_range(d, p, v, m, ih),
                              ih ? 0u : ref.drop(true, false, [&](const rs& s, unsigned l) {
                                  return s.did == d && s.pasid == p && reference_psc::overlaps(s.prefix, l, v, m);
                              }));
                    break;
                }
                case 8: {
                    const uint16_t d = did();
                    const uint32_t p = pasid();
                    if (pick(2)) {
                        ASSERT_EQ(dut.invalidate_pasid(d, p), ref.drop(true, false, [&](const rs& s, unsigned) {
                            return s.did == d && s.pasid == p;
                        }));
                    } else {
                        ASSERT_EQ(dut.invalidate_domain(d),
                                  ref.drop(true, true, [&](const rs& s, unsigned) { return s.did == d; }));
                    }
                    break;
                }
                default:
                    if (pick(50) == 0) {
                        ASSERT_EQ(dut.invalidate_all(), ref.drop(true, true, [](const rs&, unsigned) { return true; }));
                    }
                    break;
            }
            ASSERT_EQ(dut.size(stage::first), ref.size(stage::first));
            ASSERT_EQ(dut.size(stage::second), ref.size(stage::second));
        }
    }
}

}  // namespace
}  // namespace iommusim
