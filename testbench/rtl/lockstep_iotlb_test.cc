// Lockstep comparison of the C++ reference and the verilated RTL IOTLB: the seeded differential
// random test (>= 1,000,000 mixed operations, zero divergences) and the divergence reporting.
#include "rtl/lockstep_iotlb.h"

#include <gtest/gtest.h>

#include <deque>
#include <iostream>
#include <random>
#include <stdexcept>
#include <systemc>

#include "rtl/rtl_iotlb.h"
#include "tlm/iotlb.h"

namespace iommusim {
namespace {

using tk = translation_kind;
using pl = page_level;

iotlb_entry make_entry(uint16_t did, uint32_t pasid, tk kind, pl level, uint64_t vpn, uint64_t out_pfn, uint8_t perm) {
    iotlb_entry e;
    e.tag = iotlb_tag{did, pasid, kind, level, vpn & ~(page_level_pages(level) - 1)};
    e.payload = iotlb_payload{out_pfn & ~(page_level_pages(level) - 1), perm};
    return e;
}

std::unique_ptr<lockstep_iotlb> make_lockstep(iotlb_geometry g, lockstep_options o = {}) {
    return std::make_unique<lockstep_iotlb>(std::make_unique<iotlb>(g), std::make_unique<rtl_iotlb>(g), o);
}

// Mixed operations over many DIDs, PASIDs, kinds, page sizes and every invalidation scope. Lookups
// mostly revisit recent fills (so hits, PLRU updates and evictions are frequent) with addresses
// anywhere inside the page; invalidation ranges use every AM, misaligned addresses and addresses
// beyond the descriptor's 52-bit field.
class random_ops {
  public:
    // inv_permille: share of invalidations; the rest is 60:33 lookups to fills.
    random_ops(uint64_t seed, unsigned inv_permille) : m_rng(seed), m_inv_permille(inv_permille) {}

    struct stats {
        uint64_t lookups = 0, hits = 0, fills = 0, refills = 0, evictions = 0, invalidations = 0, dropped = 0;
    };
    const stats& counts() const { return m_stats; }

    void run_one(iotlb_if& t) {
        const unsigned op = static_cast<unsigned>(pick(1000));
        if (op < m_inv_permille) {
            invalidate(t, static_cast<unsigned>(pick(70)));
        } else if (pick(93) < 60) {
            lookup(t);
        } else {
            fill(t);
        }
    }

  private:
    uint64_t pick(uint64_t n) { return m_rng() % n; }

    uint16_t did() {
        static constexpr uint16_t dids[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0xffff};
        return dids[pick(std::size(dids))];
    }
    uint32_t pasid() {
        static constexpr uint32_t pasids[] = {0, 1, 2, 3, 0x10, 0x400, 0xfffff};
        return pasids[pick(std::size(pasids))];
    }
    tk kind() { return static_cast<tk>(1 + pick(4)); }
    pl level() {
        const unsigned r = static_cast<unsigned>(pick(10));
        return r < 6 ? pl::size_4k : r < 9 ? pl::size_2m : pl::size_1g;
    }
    // Page numbers cluster in a few 1 GiB regions spread over the 45-bit space, so sets conflict.
    uint64_t vpn() {
        static constexpr uint64_t regions[] = {0, 1, 2, 0x1000, 0x7ffff, 0x3ffff, 0x12345, 0x7fffe};
        const uint64_t base = regions[pick(std::size(regions))] << 18;
        return base + (pick(4) == 0 ? pick(uint64_t{1} << 18) : pick(64) * 0x200 + pick(16));
    }

    void lookup(iotlb_if& t) {
        if (!m_recent.empty() && pick(10) < 7) {
            const iotlb_tag& r = m_recent[pick(m_recent.size())];
            m_stats.hits += t.lookup(r.did, r.pasid, r.kind, r.vpn + pick(page_level_pages(r.level))).has_value();
        } else {
            m_stats.hits += t.lookup(did(), pasid(), kind(), vpn()).has_value();
        }
        ++m_stats.lookups;
    }

    void fill(iotlb_if& t) {
        iotlb_entry e;
        if (!m_recent.empty() && pick(8) == 0) {
            e.tag = m_recent[pick(m_recent.size())];  // refill of a cached tag with a new payload
        } else {
            e = make_entry(did(), pasid(), kind(), level(), vpn(), 0, 0);
        }
        e.payload.out_pfn = (m_rng() & ((uint64_t{1} << 40) - 1)) & ~(page_level_pages(e.tag.level) - 1);
        e.payload.perm = static_cast<uint8_t>(m_rng());
        const iotlb_fill_result r = t.fill(e);
        ++m_stats.fills;
        m_stats.refills += r.replaced_same_tag;
        m_stats.evictions += r.evicted.has_value();
        m_recent.push_back(e.tag);
        if (m_recent.size() > 96) {
            m_recent.pop_front();
        }
    }

    unsigned am() {
        const unsigned r = static_cast<unsigned>(pick(20));
        if (r < 12) {
            return static_cast<unsigned>(pick(10));
        }
        if (r < 18) {
            return static_cast<unsigned>(9 + pick(20));
        }
        return static_cast<unsigned>(40 + pick(40));  // up to 79: clamped to 63 by both
    }
    uint64_t range_vpn() {
        const unsigned r = static_cast<unsigned>(pick(20));
        if (r == 0) {
            return m_rng();  // beyond the 52-bit ADDR field
        }
        if (r < 12 && !m_recent.empty()) {
            const iotlb_tag& t = m_recent[pick(m_recent.size())];
            return t.vpn + pick(page_level_pages(t.level));
        }
        return vpn();
    }

    void invalidate(iotlb_if& t, unsigned r) {
        // r in [0, 70)
        unsigned n;
        if (r == 0 && pick(4) == 0) {
            n = t.invalidate_all();
        } else if (r < 10) {
            n = t.invalidate_domain(did());
        } else if (r < 35) {
            n = t.invalidate_domain_range(did(), range_vpn(), am());
        } else if (r < 45) {
            n = t.invalidate_pasid(did(), pasid());
        } else {
            n = t.invalidate_pasid_range(did(), pasid(), range_vpn(), am());
        }
        ++m_stats.invalidations;
        m_stats.dropped += n;
    }

    std::mt19937_64 m_rng;
    std::deque<iotlb_tag> m_recent;
    unsigned m_inv_permille;
    stats m_stats;
};

void run_differential(iotlb_geometry g, uint64_t seed, uint64_t ops, unsigned inv_permille) {
    lockstep_options o;
    o.state_check_interval = 20000;
    auto ls = make_lockstep(g, o);
    random_ops gen(seed, inv_permille);
    for (uint64_t i = 0; i < ops && ls->divergences() == 0; ++i) {
        gen.run_one(*ls);
    }
    EXPECT_TRUE(ls->compare_state());
    EXPECT_EQ(ls->divergences(), 0u);
    for (const auto& d : ls->divergence_log()) {
        ADD_FAILURE() << d.to_string();
    }
    EXPECT_GE(ls->operations(), ops);
    // The mix must exercise every path, or zero divergences would mean little.
    const auto& c = gen.counts();
    EXPECT_GT(c.hits, c.lookups / 5);
    EXPECT_LT(c.hits, c.lookups);
    EXPECT_GT(c.refills, c.fills / 50);
    EXPECT_GT(c.evictions, c.fills / 4);
    EXPECT_GT(c.dropped, c.invalidations / 2);
    std::cout << "ops " << ls->operations() << " lookups " << c.lookups << " hits " << c.hits << " fills " << c.fills
              << " refills " << c.refills << " evictions " << c.evictions << " invalidations " << c.invalidations
              << " dropped " << c.dropped << "\n";
}

TEST(LockstepIotlb, DifferentialRandomMillionOpsSixtyFourEntries) {
    run_differential({16, 4}, 0x5eed0001, 1'000'000, 70);
}

TEST(LockstepIotlb, DifferentialRandomTwoHundredFiftySixEntries) {
    run_differential({64, 4}, 0x5eed0002, 300'000, 30);
}

TEST(LockstepIotlb, DifferentialRandomThousandEntriesSixteenWays) {
    run_differential({64, 16}, 0x5eed0003, 300'000, 4);
}

TEST(LockstepIotlb, ReturnsTheReferenceResultAndCountsOperations) {
    auto ls = make_lockstep({16, 4});
    const auto e = make_entry(3, 4, tk::nested, pl::size_2m, 0x600, 0x1200, iotlb_perm::fs_rw | iotlb_perm::ss_r);
    const auto r = ls->fill(e);
    EXPECT_EQ(r.set, iotlb_set_index(0x600, pl::size_2m, 3, 4, tk::nested, 16));
    const auto hit = ls->lookup(3, 4, tk::nested, 0x7ff);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit, e);
    EXPECT_EQ(ls->last_op_cycles(), 1u);  // the RTL's
    EXPECT_EQ(ls->invalidate_pasid_range(3, 4, 0x700, 0), 1u);
    EXPECT_EQ(ls->operations(), 3u);
    EXPECT_EQ(ls->divergences(), 0u);
    EXPECT_TRUE(ls->compare_state());
}

// A second IOTLB that starts with an extra entry diverges on the first lookup of it.
TEST(LockstepIotlb, ReportsADivergenceWithOperationTagsCycleAndTime) {
    iotlb_geometry g{16, 4};
    auto rtl = std::make_unique<rtl_iotlb>(g);
    const auto stray = make_entry(7, 0, tk::second_stage, pl::size_4k, 0x42, 0x99, iotlb_perm::ss_r);
    rtl->fill(stray);
    lockstep_options o;
    o.report = false;
    lockstep_iotlb ls(std::make_unique<iotlb>(g), std::move(rtl), o);
    EXPECT_FALSE(ls.lookup(7, 0, tk::second_stage, 0x42));  // the reference's answer
    ASSERT_EQ(ls.divergences(), 1u);
    const lockstep_divergence& d = ls.divergence_log().at(0);
    EXPECT_EQ(d.op_index, 0u);
    EXPECT_EQ(d.operation, "lookup did=7 pasid=0x0 kind=second_stage vpn=0x42");
    EXPECT_EQ(d.reference, "miss");
    EXPECT_NE(d.dut.find("hit {did=7"), std::string::npos) << d.dut;
    EXPECT_GT(d.cycle, 0u);
    EXPECT_EQ(d.sim_time, "-");  // no SystemC simulation in this test
    // The fill placement differs too: the RTL's set already holds the stray entry. Set of DID 7's
    // page 0x42 on 16 sets: 2 ^ 5 (DID 7's hash) = 7; DID 8's page 0x48: 8 ^ 15 (its hash) = 7.
    ls.fill(make_entry(8, 0, tk::second_stage, pl::size_4k, 0x48, 0x1, 0));
    EXPECT_EQ(ls.divergences(), 2u);
    EXPECT_EQ(ls.invalidate_domain(7), 0u);
    EXPECT_EQ(ls.divergences(), 3u);
    EXPECT_NE(ls.divergence_log().at(2).dut, ls.divergence_log().at(2).reference);
    // Both now hold only did 8's entry, but in different ways: a state divergence.
    EXPECT_FALSE(ls.compare_state());
    EXPECT_EQ(ls.divergences(), 4u);
    EXPECT_NE(ls.divergence_log().at(3).reference.find("[7,0]={did=8"), std::string::npos);
    EXPECT_NE(ls.divergence_log().at(3).dut.find("[7,1]={did=8"), std::string::npos);
}

// The first divergence is kept even when the log keeps none; the JSON carries the counts.
TEST(LockstepIotlb, KeepsTheFirstDivergenceBeyondTheLogLimitAndReportsItAsJson) {
    iotlb_geometry g{16, 4};
    auto rtl = std::make_unique<rtl_iotlb>(g);
    rtl->fill(make_entry(7, 0, tk::second_stage, pl::size_4k, 0x42, 0x99, 0));
    lockstep_options o;
    o.report = false;
    o.log_limit = 0;
    lockstep_iotlb ls(std::make_unique<iotlb>(g), std::move(rtl), o);
    EXPECT_EQ(ls.first_divergence(), nullptr);
    EXPECT_EQ(ls.to_json(), R"({"compared_operations": 0, "divergences": 0, "replacement": "tree-plru", )"
                            R"("lookups": 0, "reference_hits": 0, "dut_hits": 0, "first_divergence": null})");
    ls.lookup(1, 0, tk::second_stage, 0x42);  // agrees: both miss
    ls.lookup(7, 0, tk::second_stage, 0x42);  // the RTL's stray entry
    ls.lookup(7, 0, tk::second_stage, 0x42);
    EXPECT_TRUE(ls.divergence_log().empty());
    ASSERT_NE(ls.first_divergence(), nullptr);
    EXPECT_EQ(ls.first_divergence()->op_index, 1u);
    const std::string json = ls.to_json();
    EXPECT_EQ(json.rfind(R"({"compared_operations": 3, "divergences": 2, "replacement": "tree-plru", "lookups": 3, )"
                         R"("reference_hits": 0, "dut_hits": 2, "first_divergence": {"op_index": 1, )"
                         R"("operation": "lookup did=7 pasid=0x0 kind=second_stage vpn=0x42", "expected": "miss", )"
                         R"("got": "hit {did=7 )",
                         0),
              0u)
        << json;
    // Where: the sets the lookup probed and the slot the stray entry is in: the page numbers of the
    // levels (0x42 % 16 = 2, 0, 0) flipped by DID 7's hash on 16 sets, 5 (the top four bits of
    // 7 * 0x9e3779b97f4a7c15); way 0.
    EXPECT_NE(json.find(R"("set_way": "probed sets 4k=7 2m=5 1g=5; reference miss, dut set=7 way=0")"),
              std::string::npos)
        << json;
}

TEST(LockstepIotlb, CompareStateFindsDifferentContents) {
    iotlb_geometry g{16, 4};
    auto cpp = std::make_unique<iotlb>(g);
    cpp->fill(make_entry(1, 0, tk::first_stage, pl::size_4k, 0x5, 0x6, 0));
    lockstep_options o;
    o.report = false;
    lockstep_iotlb ls(std::move(cpp), std::make_unique<rtl_iotlb>(g), o);
    EXPECT_FALSE(ls.compare_state());
    EXPECT_EQ(ls.divergences(), 1u);
    // Page 5 of DID 1 (hash 9 on 16 sets): set 5 ^ 9 = 12.
    EXPECT_NE(ls.divergence_log().at(0).reference.find("[12,0]={did=1"), std::string::npos);
}

// Looks up the stray entry 25 ns into the simulation.
struct lookup_probe : sc_core::sc_module {
    SC_HAS_PROCESS(lookup_probe);
    lookup_probe(sc_core::sc_module_name n, lockstep_iotlb& ls) : sc_core::sc_module(n), m_ls(ls) { SC_THREAD(run); }
    void run() {
        wait(sc_core::sc_time(25, sc_core::SC_NS));
        m_ls.lookup(7, 0, tk::second_stage, 0x42);
    }
    lockstep_iotlb& m_ls;
};

TEST(LockstepIotlb, DivergenceTimeIsTheSystemCTime) {
    iotlb_geometry g{16, 4};
    auto rtl = std::make_unique<rtl_iotlb>(g);
    rtl->fill(make_entry(7, 0, tk::second_stage, pl::size_4k, 0x42, 0x99, 0));
    lockstep_options o;
    o.report = false;
    lockstep_iotlb ls(std::make_unique<iotlb>(g), std::move(rtl), o);
    lookup_probe p("probe", ls);
    sc_core::sc_start();
    ASSERT_EQ(ls.divergences(), 1u);
    EXPECT_EQ(ls.divergence_log().at(0).sim_time, sc_core::sc_time(25, sc_core::SC_NS).to_string());
}

// SystemC reports go to stdout; the death test reads stderr.
void report_to_stderr(const sc_core::sc_report& r, const sc_core::sc_actions& actions) {
    std::cerr << r.get_msg_type() << ": " << r.get_msg() << std::endl;
    sc_core::sc_report_handler::default_handler(r, actions);
}

void diverge_with_fatal_option() {
    sc_core::sc_report_handler::set_handler(report_to_stderr);
    iotlb_geometry g{16, 4};
    auto rtl = std::make_unique<rtl_iotlb>(g);
    rtl->fill(make_entry(7, 0, tk::second_stage, pl::size_4k, 0x42, 0x99, 0));
    lockstep_options o;
    o.fatal = true;
    lockstep_iotlb ls(std::make_unique<iotlb>(g), std::move(rtl), o);
    ls.lookup(7, 0, tk::second_stage, 0x42);
}

TEST(LockstepIotlbDeathTest, FatalOnDivergenceWhenAsked) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(diverge_with_fatal_option(), "divergence: op #0 lookup did=7");
}

TEST(LockstepIotlb, RejectsDifferentGeometries) {
    EXPECT_THROW(lockstep_iotlb(std::make_unique<iotlb>(iotlb_geometry{16, 4}),
                                std::make_unique<rtl_iotlb>(iotlb_geometry{64, 4})),
                 std::invalid_argument);
}

}  // namespace
}  // namespace iommusim
