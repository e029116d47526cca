// The driver's cache-tag module on its own, without hardware: the aligned block a range is
// invalidated as (also for seeded random ranges of every shape, against a naive reference), tag
// refcounting, and the descriptors flush_range / flush_all / flush_range_np and the PASID-entry
// sequences emit (Linux drivers/iommu/intel/cache.c; docs/vtd-facts.md §3.3, §6.2,
// §6.7). Expectations are spelled out with the descriptor encoders of include/iommusim/hw.
#include "driver/cache.h"

#include <gtest/gtest.h>

#include <bit>
#include <random>
#include <vector>

namespace iommusim::test {
namespace {

using driver::cache_tag_type;
using driver::cache_tags;
using driver::domain_stage;
using driver::flush_caps;
using driver::psi_block;

constexpr uint16_t did = 5;
constexpr uint16_t child_did = 9;
constexpr uint16_t rid_a = 0x0108;
constexpr uint16_t rid_b = 0x0110;
constexpr uint64_t all_ones = ~uint64_t{0};

flush_caps psi_caps() {
    flush_caps caps;
    caps.psi = true;
    caps.mamv = 18;
    return caps;
}

// Type-3 invalidation of the whole range: S=1 with every address bit from 12 to 62 set.
hw::inv_desc whole_dev_tlb(uint16_t rid) {
    return hw::make_dev_tlb_inv(rid, (uint64_t{1} << 63) - 1, true);
}

// A nest parent with ATS device rid_b attached directly and a nested child with ATS device rid_a.
class DriverCacheNest : public ::testing::Test {
  protected:
    DriverCacheNest() {
        parent.assign_device(did, rid_b, true);
        child.assign_device(child_did, rid_a, true);
    }
    cache_tags parent{domain_stage::second};
    cache_tags child{domain_stage::first, &parent};
    std::vector<hw::inv_desc> batch;
};

TEST(DriverCache, RangeEndSaturatesAtTheTopOfTheAddressSpace) {
    EXPECT_EQ(driver::range_last(0x5000, 0x1000), 0x5fffu);
    EXPECT_EQ(driver::range_last(0xffff'ffff'ffff'f000ull, 0x1000), all_ones);
    EXPECT_EQ(driver::range_last(0xffff'ffff'ffff'f000ull, 0x2000), all_ones);
    EXPECT_EQ(driver::range_last_of_pages(0x5000, 3), 0x7fffu);
    EXPECT_EQ(driver::range_last_of_pages(0, all_ones), all_ones);
    EXPECT_EQ(driver::range_last_of_pages(0x1000, uint64_t{1} << 52), all_ones);
    EXPECT_EQ(driver::range_last_of_pages(0x2000, (uint64_t{1} << 52) - 1), all_ones);
}

TEST(DriverCache, PsiBlockIsTheNaturallyAlignedPowerOfTwoCover) {
    // One page.
    EXPECT_EQ(psi_block::covering(0x5000, 0x5fff), (psi_block{0x5000, 0}));
    // Three pages, aligned start: rounded up to four.
    EXPECT_EQ(psi_block::covering(0x8000, 0xafff), (psi_block{0x8000, 2}));
    // Two pages straddling a 16 KiB boundary (pfn 3..4): grow until start and end agree -> 8 pages.
    EXPECT_EQ(psi_block::covering(0x3000, 0x4fff), (psi_block{0, 3}));
    // Unaligned start inside one 2 MiB block.
    EXPECT_EQ(psi_block::covering(0x201000, 0x202fff), (psi_block{0x200000, 2}));
    // Everything.
    EXPECT_EQ(psi_block::covering(0, 0xffff'ffff'ffff'efffull), (psi_block{0, 52}));
    EXPECT_EQ(psi_block::covering(0x1000, all_ones), (psi_block{0, 52}));
}

TEST(DriverCache, TagsAreRefcountedPerDidAndDevice) {
    cache_tags tags(domain_stage::second);
    tags.assign_device(did, rid_b, true);
    tags.assign_device(did, rid_a, true);
    tags.assign_device(did, rid_a, true);  // the same device again: one more user of its tags
    ASSERT_EQ(tags.tags().size(), 3u);
    // One IOTLB tag for the unit, then the device-TLB tags by device.
    EXPECT_EQ(tags.tags()[0].type, cache_tag_type::iotlb);
    EXPECT_EQ(tags.tags()[0].users, 3u);
    EXPECT_EQ(tags.tags()[1].type, cache_tag_type::dev_tlb);
    EXPECT_EQ(tags.tags()[1].rid, rid_a);
    EXPECT_EQ(tags.tags()[1].users, 2u);
    EXPECT_EQ(tags.tags()[2].rid, rid_b);
    tags.unassign_device(did, rid_a, true);
    tags.unassign_device(did, rid_b, true);
    ASSERT_EQ(tags.tags().size(), 2u);
    EXPECT_EQ(tags.tags()[0].users, 1u);
    EXPECT_EQ(tags.tags()[1].rid, rid_a);
    tags.unassign_device(did, rid_a, true);
    EXPECT_TRUE(tags.empty());
    // Removing what is not there changes nothing.
    tags.unassign(cache_tag_type::dev_tlb, did, rid_a);
    EXPECT_TRUE(tags.empty());
    // Without ATS only the IOTLB tag.
    tags.assign_device(did, rid_a, false);
    ASSERT_EQ(tags.tags().size(), 1u);
    EXPECT_EQ(tags.tags()[0].type, cache_tag_type::iotlb);
}

TEST(DriverCache, NestedAttachmentsTagTheParentWithNestingTags) {
    cache_tags parent(domain_stage::second);
    cache_tags child(domain_stage::first, &parent);
    parent.assign_device(did, rid_b, false);
    child.assign_device(child_did, rid_a, true);
    ASSERT_EQ(child.tags().size(), 2u);
    ASSERT_EQ(parent.tags().size(), 3u);
    // The parent's own tags first, then the nesting tags of the child's DID.
    EXPECT_EQ(parent.tags()[0].type, cache_tag_type::iotlb);
    EXPECT_EQ(parent.tags()[1].type, cache_tag_type::nesting_iotlb);
    EXPECT_EQ(parent.tags()[1].did, child_did);
    EXPECT_EQ(parent.tags()[2].type, cache_tag_type::nesting_dev_tlb);
    EXPECT_EQ(parent.tags()[2].rid, rid_a);
    child.unassign_device(child_did, rid_a, true);
    EXPECT_TRUE(child.empty());
    ASSERT_EQ(parent.tags().size(), 1u);
    EXPECT_EQ(parent.tags()[0].type, cache_tag_type::iotlb);
}

TEST(DriverCache, FlushRangeOfASecondStageDomain) {
    cache_tags tags(domain_stage::second);
    std::vector<hw::inv_desc> batch;
    tags.flush_range(batch, psi_caps(), 0x104000, 0x107fff, false);
    EXPECT_TRUE(batch.empty()) << "no tags, nothing cached";

    tags.assign_device(did, rid_a, false);
    tags.flush_range(batch, psi_caps(), 0x104000, 0x107fff, true);
    ASSERT_EQ(batch.size(), 1u) << "no ATS: no device-TLB invalidation";
    EXPECT_EQ(batch[0], hw::make_iotlb_inv(hw::iotlb_desc::page, did, 0x104000, 2, true));

    batch.clear();
    tags.assign_device(did, rid_b, true);
    tags.flush_range(batch, psi_caps(), 0x104000, 0x107fff, false);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], hw::make_iotlb_inv(hw::iotlb_desc::page, did, 0x104000, 2, false));
    // 4 pages at 0x104000 in the ATS size encoding: address bits 12 (size 8 KiB) set, bit 13 clear.
    EXPECT_EQ(batch[1], hw::make_dev_tlb_inv(rid_b, 0x105000, true));

    // Above MAMV, or without PSI: domain-selective, with the drain bits the unit offers.
    batch.clear();
    flush_caps caps = psi_caps();
    caps.drain = true;
    caps.pfsid_from_rid = true;
    tags.flush_range(batch, caps, 0, (uint64_t{1} << 31) - 1, false);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], hw::make_iotlb_inv(hw::iotlb_desc::domain, did, 0, 0, false, true));
    EXPECT_EQ(batch[1], hw::make_dev_tlb_inv(rid_b, (uint64_t{1} << 30) - 1, true, 0, rid_b));
    batch.clear();
    caps.psi = false;
    tags.flush_range(batch, caps, 0x5000, 0x5fff, false);
    EXPECT_EQ(batch[0], hw::make_iotlb_inv(hw::iotlb_desc::domain, did, 0, 0, false, true));
    EXPECT_EQ(batch[1], hw::make_dev_tlb_inv(rid_b, 0x5000, false, 0, rid_b));
}

TEST(DriverCache, FlushRangeOfANestedDomainAndOfItsParent) {
    cache_tags parent(domain_stage::second);
    cache_tags child(domain_stage::first, &parent);
    child.assign_device(child_did, rid_a, true);
    std::vector<hw::inv_desc> batch;
    // First stage: PASID-based IOTLB invalidation with IH, then the device TLB of the same block.
    child.flush_range(batch, psi_caps(), 0x8000, 0xafff, true);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, child_did, 0, 0x8000, 2, true));
    EXPECT_EQ(batch[1], hw::make_dev_tlb_inv(rid_a, 0x9000, true));
    // The whole address space: PASID-selective.
    batch.clear();
    child.flush_range(batch, psi_caps(), 0, all_ones, false);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, child_did, 0));
    EXPECT_EQ(batch[1], whole_dev_tlb(rid_a));
    // A stage-2 change: type 2 with the child's DID, and the child's device TLB entirely.
    batch.clear();
    parent.flush_range(batch, psi_caps(), 0x200000, 0x200fff, false);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], hw::make_iotlb_inv(hw::iotlb_desc::page, child_did, 0x200000, 0, false));
    EXPECT_EQ(batch[1], whole_dev_tlb(rid_a));
}

TEST_F(DriverCacheNest, FlushAllInvalidatesEveryTaggedCacheEntirely) {
    parent.flush_all(batch, psi_caps());
    ASSERT_EQ(batch.size(), 4u);
    EXPECT_EQ(batch[0], hw::make_iotlb_inv(hw::iotlb_desc::domain, did));
    EXPECT_EQ(batch[1], whole_dev_tlb(rid_b));
    EXPECT_EQ(batch[2], hw::make_iotlb_inv(hw::iotlb_desc::domain, child_did));
    EXPECT_EQ(batch[3], whole_dev_tlb(rid_a));
    batch.clear();
    child.flush_all(batch, psi_caps());
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, child_did, 0));
    EXPECT_EQ(batch[1], whole_dev_tlb(rid_a));
}

TEST_F(DriverCacheNest, FlushRangeNpOnlyInCachingModeAndOnlyTheIotlb) {
    parent.flush_range_np(batch, psi_caps(), 0x5000, 0x5fff);
    EXPECT_TRUE(batch.empty()) << "without CAP.CM nothing not-present is cached";
    flush_caps caps = psi_caps();
    caps.caching_mode = true;
    parent.flush_range_np(batch, caps, 0x5000, 0x5fff);
    ASSERT_EQ(batch.size(), 2u) << "device TLBs never hold not-present entries";
    EXPECT_EQ(batch[0], hw::make_iotlb_inv(hw::iotlb_desc::page, did, 0x5000, 0, false));
    EXPECT_EQ(batch[1], hw::make_iotlb_inv(hw::iotlb_desc::page, child_did, 0x5000, 0, false));
    batch.clear();
    child.flush_range_np(batch, caps, 0x5000, 0x5fff);
    EXPECT_TRUE(batch.empty()) << "first-stage tables are the guest's";
}

TEST(DriverCache, PasidEntrySequences) {
    std::vector<hw::inv_desc> batch;
    driver::append_pasid_teardown_flush(batch, psi_caps(), did, hw::pgtt::nested, rid_a, true);
    ASSERT_EQ(batch.size(), 3u);
    EXPECT_EQ(batch[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, did, 0));
    EXPECT_EQ(batch[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, did));
    EXPECT_EQ(batch[2], whole_dev_tlb(rid_a));
    batch.clear();
    driver::append_pasid_teardown_flush(batch, psi_caps(), did, hw::pgtt::first_stage, rid_a, false);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[1], hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, did, 0));
    batch.clear();
    driver::append_pasid_setup_flush(batch, psi_caps(), did);
    EXPECT_TRUE(batch.empty());
    flush_caps caps = psi_caps();
    caps.caching_mode = true;
    driver::append_pasid_setup_flush(batch, caps, did);
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, did, 0));
    EXPECT_EQ(batch[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, did));
}

// ---- Seeded random flushes of a nested domain in every shape guests send -------------------------
// One page, ranges whose page count is not a power of two from an unaligned start, ranges inside and
// equal to 2 MiB and 1 GiB pages, leaf or not. The expectation is computed naively, page-frame
// numbers shifted right until start and end fall into one block, and the descriptors are decoded
// field by field, so a shared mistake in psi_block cannot hide in both.

struct decoded_block {
    uint64_t base = 0;  // bytes
    unsigned mask = 0;  // log2 pages
    bool ih = false;
};

// Smallest naturally aligned power-of-two block of pages holding [start, last].
decoded_block naive_block(uint64_t start, uint64_t last) {
    unsigned mask = 0;
    while ((start >> (12 + mask)) != (last >> (12 + mask))) {
        ++mask;
    }
    return {(start >> (12 + mask)) << (12 + mask), mask, false};
}

// Type 3: S=0 is one page; S=1 marks the size by the lowest zero address bit above bit 11.
decoded_block decode_dev_tlb(const hw::inv_desc& d) {
    const uint64_t addr = hw::dev_tlb_desc::addr::get(d) << 12;
    if (!hw::dev_tlb_desc::s::get(d)) {
        return {addr, 0, false};
    }
    unsigned ones = 0;
    while ((addr >> (12 + ones)) & 1) {
        ++ones;
    }
    const unsigned mask = ones + 1;
    return {addr & ~((uint64_t{1} << (12 + mask)) - 1), mask, false};
}

struct random_range {
    uint64_t start = 0, last = 0;
    bool leaf = true;
};

random_range next_shape(std::mt19937_64& rng) {
    constexpr uint64_t page = 4096, page_2m = uint64_t{1} << 21, page_1g = uint64_t{1} << 30;
    const uint64_t region = (rng() % 64) * page_1g;  // somewhere in the first 64 GiB
    random_range r;
    r.leaf = rng() % 3 != 0;
    uint64_t pages = 1;
    switch (rng() % 5) {
        case 0:  // one page
            r.start = region + (rng() % (page_1g / page)) * page;
            break;
        case 1: {  // several pages, not a power of two, start not aligned to the block
            pages = 3 + rng() % 60;
            pages += (pages & (pages - 1)) == 0;
            const uint64_t block = std::bit_ceil(pages);
            uint64_t first = 1 + rng() % 100'000;
            first -= first % block == 0;
            r.start = region + first * page;
            break;
        }
        case 2:  // inside a 2 MiB page
            r.start = region + (rng() % 512) * page_2m + (rng() % 512) * page;
            pages = 1 + rng() % 16;
            break;
        case 3:  // inside a 1 GiB page
            r.start = region + (rng() % (page_1g / page)) * page;
            pages = 1 + rng() % 16;
            break;
        default:  // a whole large page
            if (rng() % 2) {
                r.start = region + (rng() % 512) * page_2m;
                pages = 512;
            } else {
                r.start = region;
                pages = page_1g / page;
            }
            break;
    }
    r.last = r.start + pages * page - 1;
    return r;
}

// Flushes `count` random ranges through the child's tags; returns how many were not invalidated as
// the naive expectation says (IOTLB block and IH, device-TLB block).
unsigned random_flush_violations(const flush_caps& caps, unsigned count, uint64_t seed) {
    cache_tags parent{domain_stage::second};
    cache_tags child{domain_stage::first, &parent};
    child.assign_device(child_did, rid_a, true);
    std::mt19937_64 rng(seed);
    unsigned violations = 0;
    for (unsigned n = 0; n < count; ++n) {
        const random_range r = next_shape(rng);
        std::vector<hw::inv_desc> batch;
        child.flush_range(batch, caps, r.start, r.last, r.leaf);
        const decoded_block want = naive_block(r.start, r.last);
        if (batch.size() != 2 || hw::desc::type_of(batch[0]) != static_cast<unsigned>(hw::inv_type::pasid_iotlb) ||
            hw::desc::type_of(batch[1]) != static_cast<unsigned>(hw::inv_type::dev_tlb)) {
            ++violations;
            continue;
        }
        const hw::inv_desc& p = batch[0];
        const bool iotlb_ok = hw::p_iotlb_desc::g::get(p) == hw::p_iotlb_desc::page &&
                              (hw::p_iotlb_desc::addr::get(p) << 12) == want.base &&
                              hw::p_iotlb_desc::am::get(p) == want.mask &&
                              (hw::p_iotlb_desc::ih::get(p) != 0) == r.leaf;
        const decoded_block dev = decode_dev_tlb(batch[1]);
        const bool dev_ok = dev.base == want.base && dev.mask == want.mask;
        violations += !(iotlb_ok && dev_ok);
    }
    return violations;
}

TEST(DriverCacheRandom, EveryRangeShapeIsFlushedAsTheSmallestAlignedBlockWithItsLeafHint) {
    EXPECT_EQ(random_flush_violations(psi_caps(), 20'000, 17), 0u);
}

TEST(DriverCacheRandom, SeededFlushBuilderBugsBreakTheExpectation) {
    flush_caps caps = psi_caps();
    caps.seeded_bug = driver::seeded_flush_bug::drop_last_page;
    EXPECT_GT(random_flush_violations(caps, 20'000, 17), 0u);
    caps.seeded_bug = driver::seeded_flush_bug::nonleaf_as_leaf;
    EXPECT_GT(random_flush_violations(caps, 20'000, 17), 0u);
}

}  // namespace
}  // namespace iommusim::test
