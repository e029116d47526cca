// Directed tests of the verilated RTL IOTLB through the IOTLB interface, with the C++ reference
// (tlm/iotlb.h) as the expected behaviour where the contract leaves a choice to the state.
#include "rtl/rtl_iotlb.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tlm/iotlb.h"

namespace iommusim {
namespace {

using tk = translation_kind;
using pl = page_level;

constexpr uint8_t default_perm = iotlb_perm::fs_rw | iotlb_perm::fs_us | iotlb_perm::ss_r | iotlb_perm::ss_w;

iotlb_entry make_entry(uint16_t did, uint32_t pasid, tk kind, pl level, uint64_t vpn, uint64_t out_pfn,
                       uint8_t perm = default_perm) {
    iotlb_entry e;
    e.tag = iotlb_tag{did, pasid, kind, level, vpn & ~(page_level_pages(level) - 1)};
    e.payload = iotlb_payload{out_pfn & ~(page_level_pages(level) - 1), perm};
    return e;
}

bool present(iotlb_if& t, const iotlb_entry& e, uint64_t probe_vpn) {
    auto hit = t.lookup(e.tag.did, e.tag.pasid, e.tag.kind, probe_vpn);
    return hit && *hit == e;
}

std::map<std::pair<unsigned, unsigned>, iotlb_entry> contents(const iotlb_if& t) {
    std::map<std::pair<unsigned, unsigned>, iotlb_entry> m;
    t.for_each_valid([&](unsigned s, unsigned w, const iotlb_entry& e) { m.emplace(std::pair{s, w}, e); });
    return m;
}

TEST(RtlIotlb, RejectsGeometriesThatWereNotVerilated) {
    EXPECT_THROW(rtl_iotlb(iotlb_geometry{32, 4}), std::invalid_argument);
    EXPECT_FALSE(rtl_iotlb::supported({8, 8}));
    for (const iotlb_geometry& g : rtl_iotlb::supported_geometries()) {
        EXPECT_TRUE(rtl_iotlb::supported(g));
    }
    EXPECT_TRUE(rtl_iotlb::supported({16, 4}));  // iotlb_geometry default
}

TEST(RtlIotlb, MissThenHitOnAnyAddressOfThePageInOneCycle) {
    rtl_iotlb t({16, 4});
    EXPECT_FALSE(t.lookup(1, 0, tk::second_stage, 0x1234));
    EXPECT_EQ(t.last_op_cycles(), 1u);
    const auto e = make_entry(1, 0, tk::second_stage, pl::size_4k, 0x1234, 0x777);
    auto r = t.fill(e);
    EXPECT_EQ(t.last_op_cycles(), 1u);
    EXPECT_EQ(r.set, iotlb_set_index(0x1234, pl::size_4k, 1, 0, tk::second_stage, 16));
    EXPECT_EQ(r.way, 0u);
    EXPECT_FALSE(r.replaced_same_tag);
    EXPECT_FALSE(r.evicted);
    EXPECT_TRUE(present(t, e, 0x1234));
    EXPECT_EQ(t.last_op_cycles(), 1u);
    EXPECT_FALSE(t.lookup(1, 0, tk::second_stage, 0x1235));
    EXPECT_FALSE(t.lookup(2, 0, tk::second_stage, 0x1234));  // other DID
    EXPECT_FALSE(t.lookup(1, 5, tk::second_stage, 0x1234));  // other PASID
    EXPECT_FALSE(t.lookup(1, 0, tk::nested, 0x1234));        // other kind
}

TEST(RtlIotlb, ProbesAllThreePageSizes) {
    rtl_iotlb t({16, 4});
    const auto e2m = make_entry(3, 7, tk::first_stage, pl::size_2m, 0x40000, 0x80000);
    const auto e1g = make_entry(3, 7, tk::first_stage, pl::size_1g, 0x4000000, 0xc0000);
    EXPECT_EQ(t.fill(e2m).set, iotlb_set_index(0x40000, pl::size_2m, 3, 7, tk::first_stage, 16));
    EXPECT_EQ(t.fill(e1g).set, iotlb_set_index(0x4000000, pl::size_1g, 3, 7, tk::first_stage, 16));
    for (uint64_t off : {0ull, 1ull, 0x1ffull}) {
        EXPECT_TRUE(present(t, e2m, 0x40000 + off));
    }
    EXPECT_FALSE(t.lookup(3, 7, tk::first_stage, 0x40200));
    for (uint64_t off : {0ull, 0x200ull, 0x3ffffull}) {
        EXPECT_TRUE(present(t, e1g, 0x4000000 + off));
    }
    EXPECT_FALSE(t.lookup(3, 7, tk::first_stage, 0x4040000));
}

TEST(RtlIotlb, SmallestPageSizeWinsWhenSeveralMatch) {
    rtl_iotlb t({16, 4});
    const auto e4k = make_entry(2, 1, tk::nested, pl::size_4k, 0x40005, 0x1000);
    const auto e2m = make_entry(2, 1, tk::nested, pl::size_2m, 0x40000, 0x2000);
    const auto e1g = make_entry(2, 1, tk::nested, pl::size_1g, 0x40000, 0x80000);
    t.fill(e1g);
    t.fill(e2m);
    t.fill(e4k);
    EXPECT_TRUE(present(t, e4k, 0x40005));
    EXPECT_TRUE(present(t, e2m, 0x40006));
    EXPECT_TRUE(present(t, e1g, 0x40200));
}

TEST(RtlIotlb, PayloadFieldsRoundTripAtFullWidth) {
    rtl_iotlb t({16, 4});
    const uint64_t vpn = (uint64_t{1} << 45) - 1;
    const auto e = make_entry(0xffff, 0xfffff, tk::pass_through, pl::size_4k, vpn, (uint64_t{1} << 40) - 1,
                              iotlb_perm::fs_rw | iotlb_perm::fs_us | iotlb_perm::fs_xd | iotlb_perm::ss_r |
                                  iotlb_perm::ss_w | iotlb_perm::ss_x | iotlb_perm::dirty | iotlb_perm::accessed);
    t.fill(e);
    EXPECT_TRUE(present(t, e, vpn));
    const auto m = contents(t);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m.begin()->second, e);
}

TEST(RtlIotlb, SameTagRefillUpdatesInPlace) {
    rtl_iotlb t({16, 4});
    const auto a = make_entry(4, 0, tk::second_stage, pl::size_4k, 0x20, 0x100);
    const auto other = make_entry(4, 0, tk::second_stage, pl::size_4k, 0x30, 0x300);  // same set, 16 pages on
    t.fill(other);
    const auto first = t.fill(a);
    EXPECT_EQ(first.way, 1u);
    auto b = a;
    b.payload.out_pfn = 0x200;
    b.payload.perm = iotlb_perm::ss_r | iotlb_perm::accessed;
    const auto r = t.fill(b);
    EXPECT_TRUE(r.replaced_same_tag);
    EXPECT_FALSE(r.evicted);
    EXPECT_EQ(r.way, first.way);
    EXPECT_TRUE(present(t, b, 0x20));
    EXPECT_EQ(contents(t).size(), 2u);
}

TEST(RtlIotlb, FullSetEvictsTheTreePlruVictim) {
    rtl_iotlb t({16, 4});
    std::vector<iotlb_entry> e;
    // Pages 16 apart of one domain share a set.
    for (unsigned i = 0; i < 4; ++i) {
        e.push_back(make_entry(2, 0, tk::second_stage, pl::size_4k, 0x3 + 16 * i, 0x10 + i));
        const auto r = t.fill(e.back());
        EXPECT_EQ(r.way, i);  // lowest invalid way first
        EXPECT_FALSE(r.evicted);
    }
    // Fills touched 0,1,2,3 in that order: the tree points at way 0. Touch way 0 by a hit: the
    // victim moves to way 2 (root points right, right node points at way 2).
    EXPECT_TRUE(present(t, e[0], 0x3));
    const auto r = t.fill(make_entry(2, 0, tk::second_stage, pl::size_4k, 0x3 + 16 * 9, 0x99));
    EXPECT_EQ(r.way, 2u);
    ASSERT_TRUE(r.evicted);
    EXPECT_EQ(*r.evicted, e[2]);
    EXPECT_FALSE(t.lookup(2, 0, tk::second_stage, 0x3 + 16 * 2));
}

// Drives the C++ reference and the RTL with the same fills and hits in a few sets and checks
// every placement and the PLRU bits after every step.
void check_plru_order_matches_cpp(iotlb_geometry g, uint64_t seed) {
    rtl_iotlb rtl(g);
    iotlb cpp(g);
    std::mt19937_64 rng(seed);
    const unsigned sets_used = 3;
    for (int step = 0; step < 4000; ++step) {
        const unsigned set = static_cast<unsigned>(rng() % sets_used);
        const uint16_t did = static_cast<uint16_t>(rng() % (2 * g.ways));
        // The page of this domain that maps to `set` (the domain's hash flips the low bits).
        const uint64_t vpn = set ^ iotlb_set_hash(did, 0, tk::first_stage, g.sets);
        const auto e = make_entry(did, 0, tk::first_stage, pl::size_4k, vpn, rng() & 0xffff);
        if (rng() % 3 == 0) {
            EXPECT_EQ(rtl.lookup(did, 0, tk::first_stage, vpn), cpp.lookup(did, 0, tk::first_stage, vpn));
        } else {
            const auto r = rtl.fill(e);
            const auto c = cpp.fill(e);
            ASSERT_EQ(r, c) << "step " << step;
        }
        ASSERT_EQ(rtl.plru_bits(set), cpp.plru_bits(set)) << "step " << step;
    }
}

TEST(RtlIotlb, PlruVictimOrderMatchesCppFourWays) {
    check_plru_order_matches_cpp({16, 4}, 11);
}

TEST(RtlIotlb, PlruVictimOrderMatchesCppSixteenWays) {
    check_plru_order_matches_cpp({64, 16}, 12);
}

TEST(RtlIotlb, PlruSequenceOfTouchesMatchesTheContract) {
    // Touch each way of a 16-way set once, in a scrambled order: afterwards the victim must be the
    // way touched longest ago that the tree can tell apart, exactly as the C++ tree decides.
    rtl_iotlb rtl({64, 16});
    iotlb cpp({64, 16});
    const unsigned order[16] = {5, 12, 0, 9, 3, 15, 7, 1, 14, 10, 2, 8, 13, 4, 11, 6};
    // Pages 64 apart of one domain and PASID share a set.
    const unsigned set = iotlb_set_index(7, pl::size_4k, 1, 0, tk::nested, 64);
    for (unsigned w : order) {
        const auto e = make_entry(1, 0, tk::nested, pl::size_4k, 7 + 64 * w, w);
        EXPECT_EQ(rtl.fill(e).way, cpp.fill(e).way);
    }
    for (unsigned w : order) {
        ASSERT_TRUE(rtl.lookup(1, 0, tk::nested, 7 + 64 * w));
        cpp.lookup(1, 0, tk::nested, 7 + 64 * w);
        EXPECT_EQ(rtl.plru_bits(set), cpp.plru_bits(set));
    }
    for (unsigned i = 0; i < 16; ++i) {
        const auto e = make_entry(1, 0, tk::nested, pl::size_4k, 7 + 64 * (100 + i), 0);
        const auto r = rtl.fill(e);
        EXPECT_EQ(r, cpp.fill(e)) << i;
        EXPECT_EQ(r.set, set);
        ASSERT_TRUE(r.evicted);
        EXPECT_EQ(rtl.plru_bits(set), cpp.plru_bits(set)) << i;
    }
}

// A population covering every kind, size, two DIDs and two PASIDs, placed in distinct sets.
struct population {
    std::vector<iotlb_entry> entries;
    population() {
        uint64_t vpn = 0;
        for (uint16_t did : {1, 2}) {
            for (uint32_t pasid : {0u, 5u}) {
                for (tk kind : {tk::first_stage, tk::second_stage, tk::nested, tk::pass_through}) {
                    entries.push_back(make_entry(did, pasid, kind, pl::size_4k, 0x100 + vpn, 0x9000 + vpn));
                    ++vpn;
                }
            }
        }
        entries.push_back(make_entry(1, 5, tk::nested, pl::size_2m, 0x200, 0x400));
        entries.push_back(make_entry(1, 0, tk::second_stage, pl::size_1g, 0x40000, 0x80000));
    }
    void fill(iotlb_if& t) const {
        for (const auto& e : entries) {
            t.fill(e);
        }
    }
};

template <typename Op>
void check_scope(const char* what, Op op, unsigned expected) {
    SCOPED_TRACE(what);
    rtl_iotlb rtl({64, 4});
    iotlb cpp({64, 4});
    population p;
    p.fill(rtl);
    p.fill(cpp);
    std::vector<uint64_t> plru_before;
    for (unsigned s = 0; s < 64; ++s) {
        plru_before.push_back(rtl.plru_bits(s).value());
    }
    EXPECT_EQ(op(cpp), expected);
    EXPECT_EQ(op(rtl), expected);
    EXPECT_EQ(rtl.last_op_cycles(), 1u + 64u);
    EXPECT_EQ(contents(rtl), contents(cpp));
    for (unsigned s = 0; s < 64; ++s) {
        EXPECT_EQ(rtl.plru_bits(s), plru_before[s]) << "invalidation changed the PLRU bits of set " << s;
    }
}

TEST(RtlIotlb, InvalidateAll) {
    check_scope(
        "all", [](iotlb_if& t) { return t.invalidate_all(); }, 18);
}

TEST(RtlIotlb, InvalidateDomain) {
    check_scope(
        "domain 1", [](iotlb_if& t) { return t.invalidate_domain(1); }, 10);
    check_scope(
        "domain 7", [](iotlb_if& t) { return t.invalidate_domain(7); }, 0);
}

TEST(RtlIotlb, InvalidateDomainRangeDropsFirstStageAndNestedRegardless) {
    // did 1: 4 first-stage/nested 4K + the nested 2M go regardless; the range [0x100, 0x102) holds
    // the did-1 pasid-0 first-stage (already counted) and second-stage entries.
    check_scope(
        "range 0x100/1", [](iotlb_if& t) { return t.invalidate_domain_range(1, 0x100, 1); }, 6);
    // The 1 GiB second-stage entry at 0x40000 overlaps a one-page range inside it.
    check_scope(
        "range in 1G", [](iotlb_if& t) { return t.invalidate_domain_range(1, 0x40123, 0); }, 6);
    // AM beyond the page-number width covers everything of the domain; the low AM bits are ignored.
    check_scope(
        "range huge", [](iotlb_if& t) { return t.invalidate_domain_range(1, 0x123456789, 60); }, 10);
    check_scope(
        "range misaligned", [](iotlb_if& t) { return t.invalidate_domain_range(2, 0x10f, 4); }, 8);
    // A range far beyond the 52-bit address field overlaps nothing but still drops the first-stage ones.
    check_scope(
        "range beyond ADDR", [](iotlb_if& t) { return t.invalidate_domain_range(1, uint64_t{1} << 60, 2); }, 5);
}

TEST(RtlIotlb, InvalidatePasid) {
    check_scope(
        "pasid 1/5", [](iotlb_if& t) { return t.invalidate_pasid(1, 5); }, 5);
    check_scope(
        "pasid 2/0", [](iotlb_if& t) { return t.invalidate_pasid(2, 0); }, 4);
}

TEST(RtlIotlb, InvalidatePasidRangeOnlyFirstStageAndNested) {
    // did 1 pasid 5 4K entries sit at 0x104..0x107: first-stage 0x104 and nested 0x106 overlap
    // [0x104, 0x108); the nested 2M at 0x200 does not.
    check_scope(
        "pasid range", [](iotlb_if& t) { return t.invalidate_pasid_range(1, 5, 0x104, 2); }, 2);
    check_scope(
        "pasid range 2M", [](iotlb_if& t) { return t.invalidate_pasid_range(1, 5, 0x3ff, 0); }, 1);
    // 0x101 holds the did-1 pasid-0 second-stage entry: out of a type-6 invalidation's scope.
    check_scope(
        "pasid range ss", [](iotlb_if& t) { return t.invalidate_pasid_range(1, 0, 0x101, 0); }, 0);
    check_scope(
        "pasid range nested", [](iotlb_if& t) { return t.invalidate_pasid_range(1, 0, 0x102, 0); }, 1);
}

TEST(RtlIotlb, OutOfWidthInputsAreHandled) {
    rtl_iotlb t({16, 4});
    EXPECT_FALSE(t.lookup(1, 0, tk::second_stage, uint64_t{1} << 45));
    EXPECT_FALSE(t.lookup(1, 1u << 20, tk::second_stage, 0));
    EXPECT_THROW(t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, uint64_t{1} << 45, 0)), std::out_of_range);
    EXPECT_THROW(t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, 0, uint64_t{1} << 40)), std::out_of_range);
    t.fill(make_entry(1, 0, tk::second_stage, pl::size_4k, 0, 0));
    // No entry can carry a PASID wider than 20 bits: nothing to walk, nothing dropped.
    EXPECT_EQ(t.invalidate_pasid(1, 1u << 20), 0u);
    EXPECT_EQ(t.invalidate_pasid_range(1, 1u << 20, 0, 0), 0u);
    EXPECT_EQ(t.last_op_cycles(), 0u);
    EXPECT_EQ(contents(t).size(), 1u);
}

// The contract says a fill carries a size-aligned page number; the RTL's assertion checks it, and
// its failure (printed by Verilator on standard output) is a protocol violation, not an abort.
TEST(RtlIotlb, AssertionsRunInTheVerilatedModelAndFailuresAreReported) {
    rtl_iotlb t({16, 4});
    iotlb_entry e = make_entry(1, 0, tk::nested, pl::size_2m, 0x400, 0x800);
    e.tag.vpn += 1;
    ::testing::internal::CaptureStdout();
    t.fill(e);
    const std::string printed = ::testing::internal::GetCapturedStdout();
    EXPECT_NE(printed.find("FillVpnAligned_A"), std::string::npos) << printed;
    EXPECT_GE(t.protocol_violations(), 1u);
    EXPECT_NE(t.protocol_report().find("the design reported 1 error"), std::string::npos) << t.protocol_report();
}

TEST(RtlIotlb, ClockAdvancesOnePeriodPerCycle) {
    rtl_waves_options w;
    w.clock_period_ps = 2000;
    rtl_iotlb t({16, 4}, w);
    const uint64_t c0 = t.cycle(), t0 = t.time_ps();
    t.lookup(1, 0, tk::first_stage, 0);
    t.invalidate_all();
    EXPECT_EQ(t.cycle() - c0, 1u + 1u + 16u);
    EXPECT_EQ(t.time_ps() - t0, (t.cycle() - c0) * 2000);
}

TEST(RtlIotlb, WavesGoToOneFileNamedAfterTheTest) {
    const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    // Under ctest IOMMUSIM_WAVES_DIR is the source tree's waves/; otherwise ./waves.
    auto w = rtl_waves_options::from_env(test_name);
    w.enabled = true;
    const char* env_dir = std::getenv("IOMMUSIM_WAVES_DIR");
    EXPECT_EQ(w.dir, env_dir ? std::string(env_dir) : std::string("waves"));
    const std::string path = w.dir + "/" + test_name + ".fst";
    std::filesystem::remove(path);
    {
        rtl_iotlb t({16, 4}, w);
        EXPECT_EQ(t.wave_path(), path);
        t.fill(make_entry(1, 2, tk::nested, pl::size_2m, 0x400, 0x800));
        t.lookup(1, 2, tk::nested, 0x401);
        t.invalidate_pasid(1, 2);
    }
    ASSERT_TRUE(std::filesystem::exists(path));
    EXPECT_GT(std::filesystem::file_size(path), 100u);
    // An FST file opens with a header block (type 0) of 329 bytes.
    std::ifstream f(path, std::ios::binary);
    char block_type = 1;
    f.read(&block_type, 1);
    EXPECT_EQ(block_type, 0);
}

TEST(RtlIotlb, VcdOnRequest) {
    auto w = rtl_waves_options::from_env("RtlIotlbVcdOnRequest");
    w.enabled = true;
    w.format = rtl_waves_options::file_format::vcd;
    std::filesystem::remove(w.path());
    {
        rtl_iotlb t({16, 4}, w);
        EXPECT_EQ(t.wave_path(), w.dir + "/RtlIotlbVcdOnRequest.vcd");
        t.fill(make_entry(1, 2, tk::first_stage, pl::size_4k, 0x400, 0x800));
    }
    ASSERT_TRUE(std::filesystem::exists(w.path()));
    EXPECT_FALSE(std::filesystem::exists(w.fst_path()));
    std::ifstream f(w.path());
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("$scope module dut"), std::string::npos);
    EXPECT_NE(text.find("fill_req_valid_i"), std::string::npos);
}

TEST(RtlIotlb, WavesOffByDefault) {
    rtl_iotlb t({16, 4});
    EXPECT_TRUE(t.wave_path().empty());
}

}  // namespace
}  // namespace iommusim
