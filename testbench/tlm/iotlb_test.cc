#include "tlm/iotlb.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "iotlb_models/naive_iotlb.h"

namespace iommusim {
namespace {

using tk = translation_kind;
using pl = page_level;

iotlb_entry make_entry(uint16_t did, uint32_t pasid, tk kind, pl level, uint64_t vpn, uint64_t out_pfn,
                       uint8_t perm = iotlb_perm::fs_rw | iotlb_perm::fs_us | iotlb_perm::ss_r | iotlb_perm::ss_w) {
    iotlb_entry e;
    e.tag = iotlb_tag{did, pasid, kind, level, vpn & ~(page_level_pages(level) - 1)};
    e.payload = iotlb_payload{out_pfn & ~(page_level_pages(level) - 1), perm};
    return e;
}

bool present(iotlb& t, const iotlb_entry& e, uint64_t probe_vpn) {
    auto hit = t.lookup(e.tag.did, e.tag.pasid, e.tag.kind, probe_vpn);
    return hit && *hit == e;
}

TEST(Iotlb, RejectsNonPowerOfTwoGeometry) {
    EXPECT_THROW(iotlb(iotlb_geometry{12, 4}), std::invalid_argument);
    EXPECT_THROW(iotlb(iotlb_geometry{16, 3}), std::invalid_argument);
    EXPECT_THROW(iotlb(iotlb_geometry{0, 4}), std::invalid_argument);
    EXPECT_NO_THROW(iotlb(iotlb_geometry{1, 1}));
}

TEST(Iotlb, MissThenHitOnAnyAddressOfThePage) {
    iotlb t({16, 4});
    EXPECT_FALSE(t.lookup(1, 0, tk::second_stage, 0x1234));
    const auto e = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x1234, 0x777);
    auto r = t.fill(e);
    // The page number's low bits flipped by DID 1's hash on 16 sets: the top four bits of
    // 1 * 0x9e3779b97f4a7c15, 9.
    EXPECT_EQ(r.set, (0x1234u & 15) ^ 9u);
    EXPECT_FALSE(r.replaced_same_tag);
    EXPECT_FALSE(r.evicted);
    EXPECT_TRUE(present(t, e, 0x1234));
    EXPECT_FALSE(t.lookup(1, 0, tk::second_stage, 0x1235));
    EXPECT_FALSE(t.lookup(2, 0, tk::second_stage, 0x1234));  // other DID
    EXPECT_FALSE(t.lookup(1, 5, tk::second_stage, 0x1234));  // other PASID
    EXPECT_FALSE(t.lookup(1, 0, tk::nested, 0x1234));        // other kind
}

TEST(Iotlb, ProbesAllThreePageSizes) {
    iotlb t({16, 4});
    const auto e2m = make_entry(3, 7, tk::first_stage, pl::size_2m, 0x40000, 0x80000);
    const auto e1g = make_entry(3, 7, tk::first_stage, pl::size_1g, 0x4000000, 0xc0000);
    // DID 3 PASID 7 (first stage) on 16 sets: the top four bits of 0x70003 * 0x9e3779b97f4a7c15, 2.
    EXPECT_EQ(t.fill(e2m).set, ((0x40000u >> 9) & 15) ^ 2u);
    EXPECT_EQ(t.fill(e1g).set, ((0x4000000u >> 18) & 15) ^ 2u);
    for (uint64_t off : {0ull, 1ull, 0x1ffull}) {
        EXPECT_TRUE(present(t, e2m, 0x40000 + off));
    }
    EXPECT_FALSE(t.lookup(3, 7, tk::first_stage, 0x40200));
    for (uint64_t off : {0ull, 0x200ull, 0x3ffffull}) {
        EXPECT_TRUE(present(t, e1g, 0x4000000 + off));
    }
    EXPECT_FALSE(t.lookup(3, 7, tk::first_stage, 0x4040000));
}

TEST(Iotlb, FourKilobyteEntryWinsOverLargerOne) {
    iotlb t({16, 4});
    const auto big = make_entry(1, 0, tk::second_stage, pl::size_2m, 0x200, 0x1000);
    const auto small = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x203, 0x9999);
    t.fill(big);
    t.fill(small);
    EXPECT_TRUE(present(t, small, 0x203));
    EXPECT_TRUE(present(t, big, 0x204));
}

TEST(Iotlb, SameTagRefillReplacesPayloadInPlace) {
    iotlb t({4, 4});
    const auto a = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x10, 0x100);
    const auto b = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x14, 0x200);
    auto ra = t.fill(a);
    t.fill(b);
    auto a2 = a;
    a2.payload.out_pfn = 0x300;
    a2.payload.perm |= iotlb_perm::dirty;
    auto r = t.fill(a2);
    EXPECT_TRUE(r.replaced_same_tag);
    EXPECT_FALSE(r.evicted);
    EXPECT_EQ(r.way, ra.way);
    EXPECT_EQ(t.valid_count(), 2u);
    EXPECT_TRUE(present(t, a2, 0x10));
}

TEST(Iotlb, LowestInvalidWayFirstThenTreePlru) {
    iotlb t({1, 4});
    for (unsigned i = 0; i < 4; ++i) {
        auto r = t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, i, i));
        EXPECT_EQ(r.way, i);
        EXPECT_FALSE(r.evicted);
    }
    // After touching 0,1,2,3 in order the tree points at way 0.
    EXPECT_EQ(t.plru_victim(0), 0u);
    // Touch way 0 by a hit: the victim moves to the other half (way 2).
    ASSERT_TRUE(t.lookup(1, 0, tk::second_stage, 0));
    EXPECT_EQ(t.plru_victim(0), 2u);
    auto r = t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, 4, 4));
    EXPECT_EQ(r.way, 2u);
    ASSERT_TRUE(r.evicted);
    EXPECT_EQ(r.evicted->tag.vpn, 2u);
    // Now ways 0 and 2 recent; victim: root points left (way 2 touched last), node1 points to 1.
    EXPECT_EQ(t.plru_victim(0), 1u);
    // Invalidation frees a way: the lowest invalid way is used before PLRU.
    t.invalidate_domain_range(1, 3, 0);
    r = t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, 9, 9));
    EXPECT_EQ(r.way, 3u);
    EXPECT_FALSE(r.evicted);
}

TEST(Iotlb, PlruBitsFollowHeapOrder) {
    iotlb t({1, 8});
    for (unsigned i = 0; i < 8; ++i) {
        t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, i, i));
    }
    // Last touch: way 7 (path nodes 0,2,6 from the right) -> those bits 0; way 6 set node 6? no:
    // way 7 is node 6's right child so node 6 = 0; node 2 = 0; node 0 = 0.
    // Ways 0..5 touched before set nodes 1,3,4,5 to: node1 last touched via way 3 (right) -> 0,
    // node3 last way1 (right) -> 0, node4 last way3 (right) -> 0, node5 last way5 (right) -> 0.
    EXPECT_EQ(t.plru_bits(0), 0u);
    EXPECT_EQ(t.plru_victim(0), 0u);
    ASSERT_TRUE(t.lookup(1, 0, tk::second_stage, 0));  // way 0: nodes 0,1,3 -> 1
    EXPECT_EQ(t.plru_bits(0), (1u << 0) | (1u << 1) | (1u << 3));
    EXPECT_EQ(t.plru_victim(0), 4u);  // right half, node 2=0 -> node 5, node5=0 -> way 4
}

// A hint follows the hits of its did, pasid and kind from page to page, each probe touching the
// PLRU bits a lookup() would; a find() for another did does not probe with the hint's.
TEST(Iotlb, HintFollowsHitsOnOtherPagesOnlyOfItsOwnDomain) {
    iotlb t({16, 4});
    // DID 1 on 16 sets flips the page number's low bits by 9 (MissThenHitOnAnyAddressOfThePage),
    // DID 2 by 3 (the top four bits of 2 * 0x9e3779b97f4a7c15 = 0x3c6e...).
    const auto a = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x10, 0x100);  // set 9, way 0
    const auto b = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x20, 0x200);  // set 9, way 1
    const auto c = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x11, 0x300);  // set 8
    const auto d = make_entry(2, 0, tk::second_stage, pl::size_4k, 0x11, 0x400);  // set 2
    EXPECT_EQ(t.fill(a).set, 9u);
    EXPECT_EQ(t.fill(b).way, 1u);
    EXPECT_EQ(t.fill(c).set, 8u);
    EXPECT_EQ(t.fill(d).set, 2u);
    // 4 ways: a touch of way 0 sets nodes 0 and 1 (0b011); of way 1, node 0 and clears node 1.
    EXPECT_EQ(t.plru_bits(9), 0b001u);
    iotlb::hit_hint h;
    const iotlb_entry* hit = t.find(1, 0, tk::second_stage, 0x10, h);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, a);
    EXPECT_EQ(t.plru_bits(9), 0b011u);
    hit = t.find(1, 0, tk::second_stage, 0x20, h);  // another page: probed with the hint's key
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, b);
    EXPECT_EQ(t.plru_bits(9), 0b001u);
    EXPECT_TRUE(t.hinted(h, 0x20));
    EXPECT_FALSE(t.hinted(h, 0x10));
    hit = t.find(1, 0, tk::second_stage, 0x10, h);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, a);
    EXPECT_EQ(t.plru_bits(9), 0b011u);
    hit = t.find(1, 0, tk::second_stage, 0x11, h);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, c);
    // DID 2 with DID 1's hint: its own key and set (DID 1's would find c in set 8).
    hit = t.find(2, 0, tk::second_stage, 0x11, h);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, d);
    EXPECT_TRUE(t.hinted(h, 0x11));
    EXPECT_EQ(h.entry->payload.out_pfn, 0x400u);
    EXPECT_FALSE(t.find(2, 0, tk::second_stage, 0x20, h));  // a miss leaves the hint
    EXPECT_EQ(h.entry->payload.out_pfn, 0x400u);
    EXPECT_EQ(t.plru_bits(9), 0b011u);
    EXPECT_EQ(t.plru_bits(8), 0b011u);
    EXPECT_EQ(t.plru_bits(2), 0b011u);
}

TEST(Iotlb, ChangesMoveOnEveryFillDropAndFlushOnly) {
    iotlb t({16, 4});
    const auto a = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x10, 0x100);
    uint64_t seen = t.changes();
    auto moved = [&] {
        const bool m = t.changes() != seen;
        seen = t.changes();
        return m;
    };
    EXPECT_FALSE(t.lookup(1, 0, tk::second_stage, 0x10));
    EXPECT_FALSE(moved());
    t.fill(a);
    EXPECT_TRUE(moved());
    ASSERT_TRUE(t.lookup(1, 0, tk::second_stage, 0x10));
    iotlb::hit_hint h;
    ASSERT_TRUE(t.find(1, 0, tk::second_stage, 0x10, h));
    ASSERT_TRUE(t.find(1, 0, tk::second_stage, 0x10, h));
    EXPECT_FALSE(moved());
    t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, 0x10, 0x200));  // in place
    EXPECT_TRUE(moved());
    EXPECT_EQ(t.invalidate(iotlb_scope::domain, 2, 0, page_range{}), 0u);  // nothing of DID 2
    EXPECT_FALSE(moved());
    EXPECT_EQ(t.invalidate(iotlb_scope::domain, 1, 0, page_range{}), 1u);
    EXPECT_TRUE(moved());
    t.fill(a);
    EXPECT_TRUE(moved());
    EXPECT_EQ(t.invalidate(iotlb_scope::all, 0, 0, page_range{}), 1u);
    EXPECT_TRUE(moved());
    EXPECT_EQ(t.invalidate(iotlb_scope::all, 0, 0, page_range{}), 0u);
    EXPECT_FALSE(moved());
}

TEST(Iotlb, PlruNeverEvictsTheMostRecentWayRandomised) {
    std::mt19937_64 rng(1234);
    iotlb t({2, 8});
    uint64_t next = 0;
    for (int i = 0; i < 2000; ++i) {
        const uint64_t vpn = (rng() % 64) * 2 + 1;  // set 0 only: DID 1's hash on 2 sets is 1
        if (rng() % 2) {
            auto r = t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, vpn, next++));
            EXPECT_NE(t.plru_victim(0), r.way);
        } else if (t.lookup(1, 0, tk::second_stage, vpn)) {
            unsigned way = 8;
            t.for_each_valid([&](unsigned set, unsigned w, const iotlb_entry& e) {
                if (set == 0 && e.tag.vpn == vpn) {
                    way = w;
                }
            });
            EXPECT_NE(t.plru_victim(0), way);
        }
    }
}

class IotlbScopes : public ::testing::Test {
  protected:
    IotlbScopes() : t({64, 16}) {
        // DID 1: SS at 0x100 (pasid 0), SS at 0x900 (pasid 0), PT at 0x101, FS pasid 5 at 0x100,
        // nested pasid 5 at 0x5000, FS pasid 6 at 0x100; DID 2: SS 0x100, FS pasid 5 0x100.
        ss_in = add(1, 0, tk::second_stage, pl::size_4k, 0x100);
        ss_out = add(1, 0, tk::second_stage, pl::size_4k, 0x900);
        ss_2m = add(1, 9, tk::second_stage, pl::size_2m, 0x200);
        pt_in = add(1, 0, tk::pass_through, pl::size_4k, 0x101);
        fs5 = add(1, 5, tk::first_stage, pl::size_4k, 0x100);
        fs5_far = add(1, 5, tk::first_stage, pl::size_4k, 0x7000);
        nest5 = add(1, 5, tk::nested, pl::size_4k, 0x5000);
        fs6 = add(1, 6, tk::first_stage, pl::size_4k, 0x100);
        ss5 = add(1, 5, tk::second_stage, pl::size_4k, 0x100);
        d2_ss = add(2, 0, tk::second_stage, pl::size_4k, 0x100);
        d2_fs = add(2, 5, tk::first_stage, pl::size_4k, 0x100);
    }
    iotlb_entry add(uint16_t did, uint32_t pasid, tk kind, pl level, uint64_t vpn) {
        auto e = make_entry(did, pasid, kind, level, vpn, vpn + 0x1000000);
        t.fill(e);
        return e;
    }
    bool has(const iotlb_entry& e) { return present(t, e, e.tag.vpn); }
    iotlb t;
    iotlb_entry ss_in, ss_out, ss_2m, pt_in, fs5, fs5_far, nest5, fs6, ss5, d2_ss, d2_fs;
};

TEST_F(IotlbScopes, AllDropsEverything) {
    EXPECT_EQ(t.invalidate_all(), 11u);
    EXPECT_EQ(t.valid_count(), 0u);
    EXPECT_FALSE(has(ss_in));
}

TEST_F(IotlbScopes, DomainDropsOnlyThatDomain) {
    EXPECT_EQ(t.invalidate_domain(1), 9u);
    EXPECT_FALSE(has(ss_in));
    EXPECT_FALSE(has(fs6));
    EXPECT_TRUE(has(d2_ss));
    EXPECT_TRUE(has(d2_fs));
    EXPECT_EQ(t.invalidate_domain(1), 0u);
}

TEST_F(IotlbScopes, DomainRangeDropsStage2InRangeAndEveryFirstStage) {
    // Range: 4 pages at 0x100 (low bits ignored: 0x102 -> 0x100..0x103).
    EXPECT_EQ(t.invalidate_domain_range(1, 0x102, 2), 7u);
    EXPECT_FALSE(has(ss_in));
    EXPECT_FALSE(has(pt_in));
    EXPECT_FALSE(has(ss5));
    EXPECT_FALSE(has(fs5));
    EXPECT_FALSE(has(fs5_far));  // first-stage: any address
    EXPECT_FALSE(has(nest5));
    EXPECT_FALSE(has(fs6));
    EXPECT_TRUE(has(ss_out));  // second stage outside the range stays
    EXPECT_TRUE(has(ss_2m));   // 2 MiB page at 0x200.. does not overlap 0x100..0x103
    EXPECT_TRUE(has(d2_ss));
    EXPECT_TRUE(has(d2_fs));
}

TEST_F(IotlbScopes, DomainRangeOverlapsLargePage) {
    EXPECT_EQ(t.invalidate_domain_range(1, 0x3ff, 0), 5u);  // hits the 2 MiB entry + 4 FS/nested
    EXPECT_FALSE(has(ss_2m));
    EXPECT_TRUE(has(ss_in));
    // A range covering a large page from below also hits it.
    auto e = add(1, 9, tk::second_stage, pl::size_2m, 0x400);
    EXPECT_EQ(t.invalidate_domain_range(1, 0x000, 11), 4u);  // 0x000..0x7ff: ss_in, pt_in, ss5, e
    EXPECT_FALSE(has(e));
    EXPECT_FALSE(has(ss_in));
    EXPECT_FALSE(has(pt_in));
    EXPECT_FALSE(has(ss5));
    EXPECT_TRUE(has(ss_out));
}

TEST_F(IotlbScopes, PasidDropsEveryKindOfThatPasid) {
    EXPECT_EQ(t.invalidate_pasid(1, 5), 4u);
    EXPECT_FALSE(has(fs5));
    EXPECT_FALSE(has(fs5_far));
    EXPECT_FALSE(has(nest5));
    EXPECT_FALSE(has(ss5));
    EXPECT_TRUE(has(fs6));
    EXPECT_TRUE(has(d2_fs));
    EXPECT_TRUE(has(ss_in));
}

TEST_F(IotlbScopes, PasidRangeDropsOnlyFirstStageAndNestedInRange) {
    EXPECT_EQ(t.invalidate_pasid_range(1, 5, 0x100, 0), 1u);
    EXPECT_FALSE(has(fs5));
    EXPECT_TRUE(has(ss5));  // second-stage of the same DID+PASID is out of scope
    EXPECT_TRUE(has(fs5_far));
    EXPECT_TRUE(has(nest5));
    EXPECT_TRUE(has(fs6));
    EXPECT_TRUE(has(d2_fs));
    EXPECT_EQ(t.invalidate_pasid_range(1, 5, 0x4000, 14), 2u);  // 0x4000..0x7fff
    EXPECT_FALSE(has(nest5));
    EXPECT_FALSE(has(fs5_far));
}

TEST_F(IotlbScopes, InvalidationKeepsPlruState) {
    std::vector<uint64_t> before;
    for (unsigned s = 0; s < 64; ++s) {
        before.push_back(t.plru_bits(s).value());
    }
    t.invalidate_all();
    for (unsigned s = 0; s < 64; ++s) {
        EXPECT_EQ(t.plru_bits(s), before[s]);
    }
}

// DIDs whose counting-filter buckets collide (DID mod 1024) keep separate scopes.
// A domain holding only second-stage entries is matched by address in the sets a range covers;
// the expectation is the overlap of each filled page with the range, worked out here by hand.
TEST(Iotlb, DomainRangeOfASecondStageOnlyDomainDropsExactlyWhatTheRangeCovers) {
    struct range_case {
        uint64_t vpn;
        unsigned am;
    };
    const range_case cases[] = {{12, 2}, {0, 3}, {0x200, 0}, {0x3ff, 0}, {0x40000 + 0x1234, 0}, {0x30, 4}, {64, 6}};
    for (const range_case& r : cases) {
        iotlb t({16, 8});
        std::vector<iotlb_entry> filled;
        for (uint64_t page = 0; page < 64; ++page) {  // four 4 KiB pages per set
            filled.push_back(make_entry(3, 0, tk::second_stage, pl::size_4k, page, 0x1000 + page));
        }
        filled.push_back(make_entry(3, 0, tk::pass_through, pl::size_4k, 0x31, 0x31));
        filled.push_back(make_entry(3, 0, tk::second_stage, pl::size_2m, 0x200, 0x8000));     // pages 0x200..0x3ff
        filled.push_back(make_entry(3, 0, tk::second_stage, pl::size_1g, 0x40000, 0x80000));  // 0x40000..0x7ffff
        filled.push_back(make_entry(4, 0, tk::second_stage, pl::size_4k, 13, 0x9000));        // another domain
        for (const iotlb_entry& e : filled) {
            t.fill(e);
        }
        ASSERT_EQ(t.valid_count(), filled.size());
        const uint64_t first = r.vpn & ~((uint64_t{1} << r.am) - 1);
        const uint64_t last = first + (uint64_t{1} << r.am) - 1;
        unsigned expected = 0;
        for (const iotlb_entry& e : filled) {
            const uint64_t pages = e.tag.level == pl::size_4k ? 1 : e.tag.level == pl::size_2m ? 512 : 512 * 512;
            const bool drops = e.tag.did == 3 && e.tag.vpn <= last && first <= e.tag.vpn + pages - 1;
            expected += drops ? 1 : 0;
        }
        EXPECT_EQ(t.invalidate_domain_range(3, r.vpn, r.am), expected) << "range " << r.vpn << " am " << r.am;
        for (const iotlb_entry& e : filled) {
            const uint64_t pages = e.tag.level == pl::size_4k ? 1 : e.tag.level == pl::size_2m ? 512 : 512 * 512;
            const bool drops = e.tag.did == 3 && e.tag.vpn <= last && first <= e.tag.vpn + pages - 1;
            EXPECT_EQ(present(t, e, e.tag.vpn), !drops) << "entry at " << e.tag.vpn << ", range " << r.vpn;
        }
    }
}

// Once the domain holds a first-stage entry the same invalidation drops it wherever it is, and after
// that entry has gone (evicted or dropped) the domain is matched by address again.
TEST(Iotlb, DomainRangeDropsFirstStageEntriesOnceTheDomainHasThem) {
    iotlb t({4, 1});
    // Sets: page number ^ hash, the hashes on 4 sets being 3 (DID 3), 0 (DID 3 PASID 7 first
    // stage) and 0 (DID 5).
    const auto ss = make_entry(3, 0, tk::second_stage, pl::size_4k, 0x10, 0x100);       // set 3
    const auto fs = make_entry(3, 7, tk::first_stage, pl::size_4k, 0x21, 0x200);        // set 1
    const auto evictor = make_entry(5, 0, tk::second_stage, pl::size_4k, 0x31, 0x300);  // set 1
    t.fill(ss);
    t.fill(fs);
    EXPECT_EQ(t.invalidate_domain_range(3, 0x400, 0), 1u);  // far from both: the first-stage entry goes
    EXPECT_FALSE(present(t, fs, 0x21));
    EXPECT_TRUE(present(t, ss, 0x10));
    t.fill(fs);
    t.fill(evictor);  // evicts the first-stage entry (one way)
    EXPECT_FALSE(present(t, fs, 0x21));
    EXPECT_EQ(t.invalidate_domain_range(3, 0x400, 0), 0u);
    EXPECT_EQ(t.invalidate_domain_range(3, 0x10, 0), 1u);
    EXPECT_FALSE(present(t, ss, 0x10));
    EXPECT_TRUE(present(t, evictor, 0x31));
}

TEST(Iotlb, DomainsSharingAFilterBucketStaySeparate) {
    iotlb t({16, 4});
    const auto a = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x10, 0x100);
    const auto b = make_entry(1025, 0, tk::second_stage, pl::size_4k, 0x11, 0x101);
    t.fill(a);
    EXPECT_EQ(t.invalidate_domain(1025), 0u);  // same bucket as DID 1, nothing of its own
    EXPECT_EQ(t.invalidate_domain_range(1025, 0x10, 4), 0u);
    EXPECT_EQ(t.invalidate_pasid(1025, 0), 0u);
    EXPECT_TRUE(present(t, a, 0x10));
    t.fill(b);
    EXPECT_EQ(t.invalidate_domain(1025), 1u);
    EXPECT_FALSE(present(t, b, 0x11));
    EXPECT_TRUE(present(t, a, 0x10));
    EXPECT_EQ(t.invalidate_domain(1), 1u);
    EXPECT_EQ(t.invalidate_domain(1), 0u);
    EXPECT_EQ(t.valid_count(), 0u);
}

// Evicted and refilled entries leave the bookkeeping exact: a domain whose entries were all
// evicted has nothing to invalidate, a same-tag refill is counted once.
TEST(Iotlb, InvalidationCountsAfterEvictionAndRefill) {
    iotlb t({1, 2});
    t.fill(make_entry(7, 3, tk::first_stage, pl::size_4k, 0x1, 0x10));
    t.fill(make_entry(7, 3, tk::first_stage, pl::size_4k, 0x1, 0x20));  // same tag: in place
    EXPECT_EQ(t.valid_count(), 1u);
    t.fill(make_entry(8, 3, tk::first_stage, pl::size_2m, 0x200, 0x400));
    t.fill(make_entry(9, 3, tk::nested, pl::size_1g, 0x40000, 0x40000));  // evicts DID 7 (LRU)
    EXPECT_EQ(t.valid_count(), 2u);
    EXPECT_EQ(t.invalidate_domain(7), 0u);
    EXPECT_EQ(t.invalidate_pasid(7, 3), 0u);
    EXPECT_EQ(t.invalidate_pasid_range(7, 3, 0x1, 0), 0u);
    EXPECT_EQ(t.invalidate_pasid_range(8, 3, 0x3ff, 0), 1u);  // last page of the 2 MiB entry
    EXPECT_EQ(t.invalidate_pasid(9, 3), 1u);
    EXPECT_EQ(t.valid_count(), 0u);
    EXPECT_EQ(t.invalidate_all(), 0u);
}

// The set index flips the page number's low bits by a hash of the DID (and the PASID of first-stage
// and nested entries): the top log2(sets) bits of (PASID << 16 | DID) * 0x9e3779b97f4a7c15, worked
// out here by hand for 64 sets.
TEST(Iotlb, SetIndexMixesDidAndFirstStagePasid) {
    iotlb t({64, 4});
    // DID 1: 0x9e3779b97f4a7c15 >> 58 = 39. DID 2: 0x3c6ef372fe94f82a >> 58 = 15.
    EXPECT_EQ(t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, 0x40, 0)).set, 0u ^ 39u);
    EXPECT_EQ(t.fill(make_entry(2, 0, tk::second_stage, pl::size_4k, 0x40, 0)).set, 0u ^ 15u);
    // Second-stage and pass-through entries ignore the PASID; first-stage and nested ones do not:
    // DID 1 PASID 1 is key 0x10001, times the multiplier 0x17f0f903fb5f7c15: top six bits 5.
    EXPECT_EQ(t.fill(make_entry(1, 1, tk::second_stage, pl::size_4k, 0x41, 0)).set, 1u ^ 39u);
    EXPECT_EQ(t.fill(make_entry(1, 1, tk::pass_through, pl::size_4k, 0x42, 0)).set, 2u ^ 39u);
    EXPECT_EQ(t.fill(make_entry(1, 0, tk::first_stage, pl::size_4k, 0x43, 0)).set, 3u ^ 39u);
    EXPECT_EQ(t.fill(make_entry(1, 1, tk::first_stage, pl::size_4k, 0x44, 0)).set, 4u ^ 5u);
    EXPECT_EQ(t.fill(make_entry(1, 1, tk::nested, pl::size_2m, 0x45 << 9, 0)).set, 5u ^ 5u);
    // One set: no hash.
    iotlb one({1, 4});
    EXPECT_EQ(one.fill(make_entry(1, 1, tk::nested, pl::size_4k, 0x45, 0)).set, 0u);
}

// Page-selective invalidations of large ranges consult the region filters: entries of the same
// DID and PASID just outside the range (same 2 MiB, same 1 GiB, same 512 GiB region), inside it at
// every level, and of other identities. The expectation is each entry's overlap with the range,
// worked out here by hand.
TEST(Iotlb, LargeRangesDropExactlyWhatTheyCoverAroundNeighbours) {
    struct range_case {
        uint64_t vpn;
        unsigned am;
    };
    const range_case cases[] = {{0x100000, 5},   {0x100020, 5},   {0x100200, 9},  {0x100000, 12}, {0x101000, 12},
                                {0x100000, 17},  {0x120000, 17},  {0x100000, 18}, {0x140000, 18}, {0x100000, 20},
                                {0x8000000, 27}, {0x8000000, 26}, {0, 30},        {0, 36},        {0x1000000000, 36},
                                {0, 40},         {0, 44},         {0, 45},        {0x123, 52}};
    for (const bool type6 : {true, false}) {
        const tk kind = type6 ? tk::first_stage : tk::second_stage;
        for (const range_case& r : cases) {
            iotlb t({256, 8});
            std::vector<iotlb_entry> filled;
            for (uint64_t i = 0; i < 32; ++i) {  // pages 0x100000..0x10001f: one 2 MiB region, 4 GiB up
                filled.push_back(make_entry(1, 3, kind, pl::size_4k, 0x100000 + i, i));
            }
            filled.push_back(make_entry(1, 3, kind, pl::size_4k, 0x100400, 1));             // next 2 MiB region
            filled.push_back(make_entry(1, 3, kind, pl::size_2m, 0x120000, 2));             // same 1 GiB region
            filled.push_back(make_entry(1, 3, kind, pl::size_1g, 0x140000, 3));             // next 1 GiB region
            filled.push_back(make_entry(1, 3, kind, pl::size_4k, 0x8000005, 4));            // 512 GiB up
            filled.push_back(make_entry(1, 3, kind, pl::size_1g, 0x1000000000, 5));         // 256 TiB up
            filled.push_back(make_entry(1, 4, tk::first_stage, pl::size_4k, 0x100001, 6));  // other PASID
            filled.push_back(make_entry(2, 3, kind, pl::size_4k, 0x100002, 7));             // other DID
            for (const iotlb_entry& e : filled) {
                t.fill(e);
            }
            ASSERT_EQ(t.valid_count(), filled.size());
            const uint64_t pages = uint64_t{1} << r.am;
            const uint64_t first = r.vpn & ~(pages - 1);
            const uint64_t last = first + (pages - 1);
            auto drops = [&](const iotlb_entry& e) {
                const uint64_t size = e.tag.level == pl::size_4k ? 1 : e.tag.level == pl::size_2m ? 512 : 512 * 512;
                const bool overlaps = e.tag.vpn <= last && first <= e.tag.vpn + size - 1;
                if (type6) {  // DID 1 PASID 3 first-stage entries in range
                    return e.tag.did == 1 && e.tag.pasid == 3 && overlaps;
                }
                // DID 1 second-stage entries in range, and every first-stage entry of DID 1
                return e.tag.did == 1 && (e.tag.kind == tk::first_stage || overlaps);
            };
            unsigned expected = 0;
            for (const iotlb_entry& e : filled) {
                expected += drops(e) ? 1 : 0;
            }
            const unsigned got =
                type6 ? t.invalidate_pasid_range(1, 3, r.vpn, r.am) : t.invalidate_domain_range(1, r.vpn, r.am);
            EXPECT_EQ(got, expected) << (type6 ? "type 6" : "type 2") << " range " << r.vpn << " am " << r.am;
            for (const iotlb_entry& e : filled) {
                EXPECT_EQ(present(t, e, e.tag.vpn), !drops(e))
                    << "entry at " << e.tag.vpn << ", range " << r.vpn << " am " << r.am;
            }
            // The filters follow the drops: the same invalidation again drops nothing.
            EXPECT_EQ(type6 ? t.invalidate_pasid_range(1, 3, r.vpn, r.am) : t.invalidate_domain_range(1, r.vpn, r.am),
                      0u);
        }
    }
}

// Every operation, the contents and the PLRU state against the naive model (testbench/iotlb_models),
// which shares no helper with the IOTLB: a bug in the shared overlap or set-index code cannot hide
// in both.
void run_against_reference(iotlb_geometry g, uint64_t seed, unsigned ops) {
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return rng() % n; };
    iotlb dut(g);
    testing::naive_iotlb ref(g);
    // DIDs 1, 1025 and 2049 share a counting-filter bucket, as do 0xfff and 0xffff (whose DID+PASID
    // fingerprints also collide); many DID+PASID pairs share buckets too.
    static constexpr uint16_t dids[] = {0, 1, 2, 3, 1025, 2049, 0xfff, 0xffff};
    static constexpr uint32_t pasids[] = {0, 1, 2, 5, 0x400, 0xfffff};
    auto did = [&] { return dids[pick(std::size(dids))]; };
    auto pasid = [&] { return pasids[pick(std::size(pasids))]; };
    auto kind = [&] { return static_cast<tk>(1 + pick(4)); };
    auto vpn = [&] { return pick(4) == 0 ? rng() & 0x1fff'ffff'ffff : pick(8 * g.sets) * (pick(2) ? 1 : 512); };
    auto am = [&] {
        static constexpr unsigned ams[] = {0, 1, 2, 9, 10, 18, 20, 30, 51, 52, 63, 64};
        return ams[pick(std::size(ams))];
    };
    for (unsigned op = 0; op < ops; ++op) {
        SCOPED_TRACE(op);
        const unsigned choice = static_cast<unsigned>(pick(12));
        if (choice < 3) {
            const uint16_t d = did();
            const uint32_t p = pasid();
            const tk k = kind();
            const uint64_t v = vpn();
            ASSERT_EQ(dut.lookup(d, p, k, v), ref.lookup(d, p, k, v));
        } else if (choice < 7) {
            const auto e = make_entry(did(), pasid(), kind(), static_cast<pl>(pick(3)), vpn(), rng() & 0xff'ffff'ffff,
                                      static_cast<uint8_t>(rng()));
            ASSERT_EQ(dut.fill(e), ref.fill(e));
        } else if (choice < 11 || pick(40) == 0) {
            // domain, domain_range, pasid, pasid_range; now and then all.
            const auto scope = choice < 11 ? static_cast<iotlb_scope>(choice - 6) : iotlb_scope::all;
            const unsigned fields = iotlb_scope_fields(scope);
            const uint16_t d = (fields & iotlb_scope_field::did) ? did() : 0;
            const uint32_t p = (fields & iotlb_scope_field::pasid) ? pasid() : 0;
            const page_range r = (fields & iotlb_scope_field::range) ? page_range(vpn(), am()) : page_range();
            ASSERT_EQ(dut.invalidate(scope, d, p, r), ref.invalidate(scope, d, p, r)) << iotlb_scope_name(scope);
        }
        if (op % 64 == 0) {
            std::vector<std::tuple<unsigned, unsigned, iotlb_entry>> got, want;
            dut.for_each_valid(
                [&](unsigned set, unsigned way, const iotlb_entry& e) { got.emplace_back(set, way, e); });
            ref.for_each_valid(
                [&](unsigned set, unsigned way, const iotlb_entry& e) { want.emplace_back(set, way, e); });
            ASSERT_EQ(got, want);
            ASSERT_EQ(dut.valid_count(), got.size());
            for (unsigned set = 0; set < g.sets; ++set) {
                ASSERT_EQ(dut.plru_bits(set), ref.plru_bits(set));
                ASSERT_EQ(dut.plru_victim(set), ref.victim(set));
            }
        }
    }
}

TEST(Iotlb, MatchesReferenceModelSmallRandomised) {
    run_against_reference({4, 2}, 11, 100000);
}

TEST(Iotlb, MatchesReferenceModelDirectMappedRandomised) {
    run_against_reference({8, 1}, 12, 50000);
}

TEST(Iotlb, MatchesReferenceModelLargeRandomised) {
    run_against_reference({64, 16}, 13, 100000);
}

}  // namespace
}  // namespace iommusim
