#include <gtest/gtest.h>

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
    for (uint16_t f = 0; f < 8; ++f)
        c.fill(static_cast<uint16_t>(0x0308 | f), ctx_with_dir(f));  // 03:01.0-7
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

}  // namespace
}  // namespace iommusim
