// iommusim iotlb-diff: the operation format, the generator's corners, the run on every kind, a
// deliberately wrong IOTLB found, shrunk and replayed, replacement-free runs, waves of the failing
// window and bad usage.
#include "program/iotlb_diff_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

#include "iotlb_models/faulty_iotlb.h"
#include "iotlb_models/naive_iotlb.h"
#include "program/vcd_reader.h"
#include "rtl/rtl_iotlb.h"
#include "tlm/iotlb.h"

namespace iommusim::program {
namespace {

using testing::faulty_iotlb;
using testing::iotlb_fault;
using testing::naive_iotlb;

struct result {
    int status = 0;
    std::string out, err;
};

result run(const std::vector<std::string>& args, const iotlb_maker* dut = nullptr) {
    std::ostringstream out, err;
    result r;
    r.status = dut ? iotlb_diff_main(args, out, err, *dut) : iotlb_diff_main(args, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
}

std::filesystem::path scratch(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / "iommusim_iotlb_diff_test";
    std::filesystem::create_directories(dir);
    std::filesystem::remove_all(dir / name);
    return dir / name;
}

std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The number in "shrunk to N operation(s)".
unsigned shrunk_to(const std::string& out) {
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("shrunk to ([0-9]+) operation"))) {
        return ~0u;
    }
    return static_cast<unsigned>(std::stoul(m[1]));
}

const iotlb_maker faulty_cpp = [](const iotlb_geometry& g, const rtl_waves_options&) {
    return std::make_unique<faulty_iotlb>(std::make_unique<iotlb>(g), iotlb_fault::large_pasid_range_ignored);
};
const iotlb_maker round_robin = [](const iotlb_geometry& g, const rtl_waves_options&) {
    return std::make_unique<naive_iotlb>(g, naive_iotlb::victim_order::round_robin);
};

TEST(IotlbOps, FormatAndParseRoundTripEveryGeneratedOperation) {
    iotlb_op_generator gen(5, {16, 4});
    for (int i = 0; i < 20000; ++i) {
        const iotlb_op op = gen.next();
        std::string error;
        const auto back = parse_op(format_op(op), error);
        ASSERT_TRUE(back) << format_op(op) << ": " << error;
        iotlb_op want = op;
        if (op.op == iotlb_op::type::invalidate) {
            want.entry.payload = {};  // not part of an invalidation
        }
        EXPECT_EQ(format_op(*back), format_op(want));
    }
}

TEST(IotlbOps, ParsesTheDocumentedLines) {
    std::string error;
    auto fill = parse_op("fill did=3 pasid=0x5 kind=nested level=size_2m vpn=0x1200 pfn=0x40000 perm=0x3f", error);
    ASSERT_TRUE(fill) << error;
    EXPECT_EQ(fill->entry.tag, (iotlb_tag{3, 5, translation_kind::nested, page_level::size_2m, 0x1200}));
    EXPECT_EQ(fill->entry.payload, (iotlb_payload{0x40000, 0x3f}));
    auto inv = parse_op("invalidate scope=domain_range did=3 vpn=0x1000 am=9", error);
    ASSERT_TRUE(inv) << error;
    EXPECT_EQ(inv->scope, iotlb_scope::domain_range);
    EXPECT_EQ(inv->am, 9u);
    EXPECT_EQ(inv->entry.tag.vpn, 0x1000u);
}

TEST(IotlbOps, RefusesMalformedLinesNamingTheProblem) {
    std::string error;
    EXPECT_FALSE(parse_op("evict did=1", error));
    EXPECT_NE(error.find("unknown operation 'evict'"), std::string::npos) << error;
    EXPECT_FALSE(parse_op("lookup did=1 pasid=0 kind=nested", error));
    EXPECT_NE(error.find("needs vpn="), std::string::npos) << error;
    EXPECT_FALSE(parse_op("lookup did=1 pasid=0 kind=fourth vpn=0", error));
    EXPECT_NE(error.find("kind=fourth"), std::string::npos) << error;
    EXPECT_FALSE(parse_op("invalidate scope=all did=1", error));  // all takes no DID
    EXPECT_NE(error.find("did=1"), std::string::npos) << error;
    EXPECT_FALSE(parse_op("fill did=1 pasid=0 kind=nested level=size_2m vpn=0x1201 pfn=0 perm=0", error));
    EXPECT_NE(error.find("aligned"), std::string::npos) << error;
    EXPECT_FALSE(parse_op("lookup did=70000 pasid=0 kind=nested vpn=0", error));
}

// The mix reaches every corner the tool promises, counted on the C++ IOTLB itself.
TEST(IotlbOps, GeneratorReachesTheCorners) {
    const iotlb_geometry g{64, 4};
    iotlb t(g);
    iotlb_op_generator gen(1, g);
    unsigned hits[3] = {0, 0, 0}, refills = 0, evictions = 0, drops[5] = {0, 0, 0, 0, 0}, idle_invalidations = 0,
             set_covering_ranges = 0;
    for (int i = 0; i < 200000; ++i) {
        const iotlb_op op = gen.next();
        const iotlb_tag& tag = op.entry.tag;
        if (op.op == iotlb_op::type::lookup) {
            if (auto hit = t.lookup(tag.did, tag.pasid, tag.kind, tag.vpn)) {
                ++hits[static_cast<unsigned>(hit->tag.level)];
            }
        } else if (op.op == iotlb_op::type::fill) {
            const auto r = t.fill(op.entry);
            refills += r.replaced_same_tag;
            evictions += r.evicted.has_value();
        } else {
            drops[static_cast<unsigned>(op.scope)] +=
                t.invalidate(op.scope, tag.did, tag.pasid, page_range(tag.vpn, op.am));
            idle_invalidations += (iotlb_scope_fields(op.scope) & iotlb_scope_field::did) && tag.did >= 100;
            set_covering_ranges += (iotlb_scope_fields(op.scope) & iotlb_scope_field::range) && op.am >= 6;
        }
    }
    for (unsigned level = 0; level < 3; ++level) {
        EXPECT_GT(hits[level], 100u) << "hits of level " << level;
    }
    EXPECT_GT(refills, 100u);
    EXPECT_GT(evictions, 1000u);
    for (unsigned scope = 0; scope < 5; ++scope) {
        EXPECT_GT(drops[scope], 10u) << iotlb_scope_name(static_cast<iotlb_scope>(scope));
    }
    EXPECT_GT(idle_invalidations, 100u);
    EXPECT_GT(set_covering_ranges, 100u);
}

TEST(IotlbDiff, CppHasNoDivergenceAndReportsThroughput) {
    const result r = run({"--iotlb", "cpp", "--ops", "100000", "--seed", "3"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("no divergence in 100000 operations"), std::string::npos) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("throughput [0-9]+ operations/s"))) << r.out;
}

TEST(IotlbDiff, RtlHasNoDivergenceInAShortRun) {
    for (const char* geometry : {"16x4", "64x16"}) {
        const result r = run({"--iotlb", "rtl", "--ops", "20000", "--geometry", geometry});
        EXPECT_EQ(r.status, 0) << geometry << r.out << r.err;
        EXPECT_NE(r.out.find("no divergence in 20000 operations"), std::string::npos) << r.out;
    }
}

// The wrong IOTLB is found and shrunk to the bug's essence: a first-stage or nested fill and the
// large type-6 range invalidation that leaves it behind (the dropped counts differ there).
TEST(IotlbDiff, FindsAndShrinksADeliberateBugThenReplaysIt) {
    const auto file = scratch("faulty.txt");
    const result r = run({"--iotlb", "cpp", "--ops", "200000", "--reproducer", file.string()}, &faulty_cpp);
    ASSERT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("FAILED at operation #"), std::string::npos) << r.out;
    EXPECT_LE(shrunk_to(r.out), 3u) << r.out;
    std::string error;
    const auto repro = parse_reproducer(read(file), error);
    ASSERT_TRUE(repro) << error;
    EXPECT_EQ(repro->geometry.sets, 64u);
    ASSERT_FALSE(repro->ops.empty());
    const iotlb_op& last = repro->ops.back();
    EXPECT_EQ(last.op, iotlb_op::type::invalidate);
    EXPECT_EQ(last.scope, iotlb_scope::pasid_range);
    EXPECT_GE(last.am, 9u);
    bool covered_fill = false;
    for (const iotlb_op& op : repro->ops) {
        covered_fill = covered_fill || (op.op == iotlb_op::type::fill &&
                                        iotlb_scope_covers(last.scope, last.entry.tag.did, last.entry.tag.pasid,
                                                           page_range(last.entry.tag.vpn, last.am), op.entry.tag));
    }
    EXPECT_TRUE(covered_fill) << read(file);
    // The printed reproducer is the file's text.
    EXPECT_NE(r.out.find(read(file)), std::string::npos);

    const result again = run({"--replay", file.string()}, &faulty_cpp);
    EXPECT_EQ(again.status, 1) << again.out << again.err;
    EXPECT_NE(again.out.find("FAILED at operation #"), std::string::npos) << again.out;
    // The correct IOTLB passes the same file.
    const result correct = run({"--replay", file.string(), "--iotlb", "cpp"});
    EXPECT_EQ(correct.status, 0) << correct.out << correct.err;
}

TEST(IotlbDiff, ReplacementFreeAcceptsAnotherVictimOrderButNotABug) {
    const result exact = run({"--iotlb", "cpp", "--ops", "20000", "--geometry", "16x4"}, &round_robin);
    EXPECT_EQ(exact.status, 1) << exact.out;  // tree-PLRU expected, round robin given
    const result free =
        run({"--iotlb", "cpp", "--ops", "20000", "--geometry", "16x4", "--iotlb-replacement", "free"}, &round_robin);
    EXPECT_EQ(free.status, 0) << free.out << free.err;
    const iotlb_maker faulty_round_robin = [](const iotlb_geometry& g, const rtl_waves_options&) {
        return std::make_unique<faulty_iotlb>(std::make_unique<naive_iotlb>(g, naive_iotlb::victim_order::round_robin),
                                              iotlb_fault::large_pasid_range_ignored);
    };
    const result bug = run({"--iotlb", "cpp", "--ops", "20000", "--geometry", "16x4", "--iotlb-replacement", "free"},
                           &faulty_round_robin);
    EXPECT_EQ(bug.status, 1) << bug.out;
    // Free replacement cannot compare dropped counts, so the stale entry shows on a later hit.
    EXPECT_LE(shrunk_to(bug.out), 3u) << bug.out;
    EXPECT_NE(bug.out.find("replacement free"), std::string::npos) << bug.out;
}

// The RTL behind the faulty wrapper: the waves hold only the shrunk operations' few cycles.
TEST(IotlbDiff, WavesCoverJustTheFailingWindow) {
    const iotlb_maker faulty_rtl = [](const iotlb_geometry& g, const rtl_waves_options& w) {
        return std::make_unique<faulty_iotlb>(std::make_unique<rtl_iotlb>(g, w),
                                              iotlb_fault::large_pasid_range_ignored);
    };
    const auto waves = scratch("window.vcd");
    const result r = run({"--iotlb", "rtl", "--ops", "100000", "--waves", waves.string()}, &faulty_rtl);
    ASSERT_EQ(r.status, 1) << r.out << r.err;
    const unsigned ops = shrunk_to(r.out);
    ASSERT_LE(ops, 3u) << r.out;
    ASSERT_TRUE(std::filesystem::exists(waves)) << r.out;
    const vcd v = read_vcd(waves.string());
    ASSERT_TRUE(v.error.empty()) << v.error;
    std::string clock;
    for (const auto& [name, id] : v.id_of) {
        if (name.size() >= 5 && name.compare(name.size() - 5, 5, "clk_i") == 0) {
            clock = name;
        }
    }
    ASSERT_FALSE(clock.empty());
    unsigned rising = 0;
    for (const std::string& value : values_of(v, clock)) {
        rising += value == "1";
    }
    // Reset (2 edges) plus at most 1 + 64 cycles per operation (an invalidation walks every set).
    EXPECT_LE(rising, 2 + ops * 66) << rising;
    EXPECT_GE(rising, 3u);  // reset and the fill (the faulty wrapper keeps the invalidation from the RTL)
}

// The RTL side's back-pressure seed and plusargs are part of a reproducer (a protocol failure
// needs them to fail again), and a report of several lines stays one comment.
TEST(IotlbDiff, ReproducerKeepsBackpressureAndPlusargs) {
    iotlb_reproducer r;
    r.iotlb = "rtl";
    r.geometry = {16, 4};
    r.backpressure_seed = 7;
    r.plusargs = "+iotlb_mutant=16 +x";
    r.comments = {"protocol violation: cycle 4 (5000 ps): a\ncycle 4 (5000 ps): b\n"};
    std::string error;
    r.ops = {*parse_op("lookup did=1 pasid=0 kind=nested vpn=0x10", error)};
    const std::string text = format_reproducer(r);
    EXPECT_NE(text.find("backpressure 7\nplusargs +iotlb_mutant=16 +x\n"), std::string::npos) << text;
    EXPECT_NE(text.find("# cycle 4 (5000 ps): b\n"), std::string::npos) << text;
    const auto back = parse_reproducer(text, error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->backpressure_seed, std::optional<uint64_t>(7));
    EXPECT_EQ(back->plusargs, "+iotlb_mutant=16 +x");
    EXPECT_EQ(back->ops, r.ops);
    // Absent lines: none (reproducers written before either existed replay as they did).
    const auto plain = parse_reproducer("geometry 16x4\nlookup did=1 pasid=0 kind=nested vpn=0\n", error);
    ASSERT_TRUE(plain) << error;
    EXPECT_FALSE(plain->backpressure_seed);
    EXPECT_EQ(plain->plusargs, "");
    EXPECT_FALSE(parse_reproducer("geometry 16x4\nbackpressure soon\nlookup did=1 pasid=0 kind=nested vpn=0\n", error));
    EXPECT_NE(error.find("line 2: backpressure needs a seed"), std::string::npos) << error;
}

// A random run on the RTL says what the design got: back-pressure seeded by --seed, or none.
TEST(IotlbDiff, RtlRunAppliesBackpressureSeededByTheRun) {
    const result on = run({"--iotlb", "rtl", "--ops", "2000", "--seed", "9", "--geometry", "16x4"});
    EXPECT_EQ(on.status, 0) << on.out << on.err;
    EXPECT_NE(on.out.find("response back-pressure seed 9"), std::string::npos) << on.out;
    const result off = run({"--iotlb", "rtl", "--ops", "2000", "--geometry", "16x4", "--backpressure", "off"});
    EXPECT_EQ(off.status, 0) << off.out << off.err;
    EXPECT_NE(off.out.find("no response back-pressure"), std::string::npos) << off.out;
}

TEST(IotlbDiff, BadUsageIsExitTwoWithAMessage) {
    const auto bad = scratch("bad.txt");
    std::ofstream(bad) << "geometry 16x4\nlookup did=1 pasid=0 kind=nested vpn=0\nflush everything\n";
    const struct {
        std::vector<std::string> args;
        const char* message;
    } cases[] = {
        {{}, "needs --iotlb KIND"},
        {{"--iotlb", "fpga"}, "--iotlb must be cpp, rtl, lockstep, rtl:PATH or lockstep:PATH"},
        {{"--iotlb", "cpp", "--ops", "0"}, "--ops needs a positive integer"},
        {{"--iotlb", "cpp", "--geometry", "3x4"}, "--geometry needs SETSxWAYS"},
        {{"--iotlb", "rtl", "--geometry", "8x2"}, "not verilated"},
        {{"--iotlb", "cpp", "--iotlb-replacement", "lru"}, "tree-plru or free"},
        {{"--iotlb", "cpp", "--backpressure", "sometimes"}, "--backpressure must be on or off"},
        {{"--iotlb", "rtl", "--plusargs", "iotlb_mutant=1"}, "plusarg 'iotlb_mutant=1' does not start with '+'"},
        {{"--iotlb", "cpp", "--frobnicate", "1"}, "unknown option '--frobnicate'"},
        {{"--iotlb", "cpp", "--seed"}, "--seed needs a value"},
        {{"--replay", "/nonexistent/repro.txt"}, "cannot read --replay"},
        {{"--replay", bad.string(), "--iotlb", "cpp"}, "line 3: unknown operation 'flush'"},
        {{"--replay", bad.string(), "--ops", "5"}, "--ops, --seed and --geometry do not apply"},
    };
    for (const auto& c : cases) {
        const result r = run(c.args);
        EXPECT_EQ(r.status, 2) << c.message;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

}  // namespace
}  // namespace iommusim::program
