// RTL IOTLB plug-ins: the loader's refusals (each naming the path), a plug-in of a geometry the
// project's own lacks (32 sets x 2 ways, built by iommusim_add_rtl_iotlb) running in lockstep with
// the C++ model, the symbols a plug-in exports, and the `rtl:PATH` / `lockstep:PATH` syntax.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "rtl/iotlb_factory.h"
#include "rtl/lockstep_iotlb.h"
#include "rtl/rtl_iotlb_plugin_loader.h"

namespace iommusim {
namespace {

using ::testing::HasSubstr;

std::string load_error(const std::string& path) {
    try {
        rtl_iotlb_plugin::load(path);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

TEST(RtlIotlbPlugin, MissingFileIsRefusedByName) {
    const std::string err = load_error("/nonexistent/libmy_iotlb.so");
    EXPECT_THAT(err, HasSubstr("/nonexistent/libmy_iotlb.so"));
    EXPECT_THAT(err, HasSubstr("no such file"));
}

TEST(RtlIotlbPlugin, FileThatIsNoSharedLibraryIsRefusedByName) {
    const std::string err = load_error(IOMMUSIM_TEST_TEXT_FILE);
    EXPECT_THAT(err, HasSubstr(IOMMUSIM_TEST_TEXT_FILE));
    EXPECT_THAT(err, HasSubstr("cannot be loaded"));
}

TEST(RtlIotlbPlugin, SharedLibraryWithoutTheEntryPointIsRefusedByName) {
    const std::string err = load_error(IOMMUSIM_TEST_NOT_A_PLUGIN);
    EXPECT_THAT(err, HasSubstr(IOMMUSIM_TEST_NOT_A_PLUGIN));
    EXPECT_THAT(err, HasSubstr("not an iommusim RTL IOTLB plug-in (no iommusim_rtl_iotlb_plugin_entry"));
}

TEST(RtlIotlbPlugin, OtherAbiVersionIsRefusedByName) {
    const std::string err = load_error(IOMMUSIM_TEST_PLUGIN_OTHER_ABI);
    EXPECT_THAT(err, HasSubstr(IOMMUSIM_TEST_PLUGIN_OTHER_ABI));
    EXPECT_THAT(err, HasSubstr("plug-in ABI version 3, this iommusim loads versions 1 to 2"));
}

TEST(RtlIotlbPlugin, PreviousAbiVersionLoadsButTakesNoPlusargs) {
    EXPECT_EQ(load_error(IOMMUSIM_TEST_PLUGIN_ABI1), "");
    EXPECT_NO_THROW(rtl_iotlb({16, 4}, {}, IOMMUSIM_TEST_PLUGIN_ABI1));
    rtl_iotlb_options o;
    o.plusargs = "+x=1";
    try {
        rtl_iotlb t({16, 4}, {}, IOMMUSIM_TEST_PLUGIN_ABI1, o);
        FAIL() << "plusargs were given to a version-1 plug-in";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(std::string(e.what()), HasSubstr(IOMMUSIM_TEST_PLUGIN_ABI1));
        EXPECT_THAT(std::string(e.what()), HasSubstr("ABI version 1, which takes no plusargs"));
    }
}

// The set a 2 MiB fill lands in, on the mutant build given plusargs.
unsigned set_of_2m_fill(const std::string& plusargs) {
    rtl_iotlb_options o;
    o.plusargs = plusargs;
    rtl_iotlb t({16, 4}, {}, IOMMUSIM_TEST_PLUGIN_MUTANTS, o);
    iotlb_entry e;
    e.tag = {1, 0, translation_kind::second_stage, page_level::size_2m, uint64_t{5} << 9};
    return t.fill(e).set;
}

// Mutant 11 of testbench/rtl/mutants/mutants.json indexes large pages by the low page-number
// bits: 2 MiB page 5 (vpn 5 << 9) of DID 1 goes to set 0 ^ 9 instead of set 5 ^ 9 (9: DID 1's
// set-index hash on 16 sets), only when the design read the plusarg.
TEST(RtlIotlbPlugin, PlusargsReachTheDesign) {
    EXPECT_EQ(set_of_2m_fill(""), 12u);
    EXPECT_EQ(set_of_2m_fill("+iotlb_mutant=11"), 9u);
    EXPECT_EQ(set_of_2m_fill("  +unrelated  +iotlb_mutant=11 "), 9u);
    EXPECT_EQ(set_of_2m_fill("+verilator+rand+reset+0 +iotlb_mutant=0"), 12u);
}

TEST(RtlIotlbPlugin, MalformedPlusargsAreRefusedByName) {
    for (const char* bad :
         {"iotlb_mutant=11", "+", "+verilator+debug", "+verilator+rand+reset+3", "+verilator+seed+0"}) {
        rtl_iotlb_options o;
        o.plusargs = bad;
        try {
            rtl_iotlb t({16, 4}, {}, IOMMUSIM_TEST_PLUGIN_MUTANTS, o);
            ADD_FAILURE() << "'" << bad << "' was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_THAT(std::string(e.what()), HasSubstr(IOMMUSIM_TEST_PLUGIN_MUTANTS));
            EXPECT_THAT(std::string(e.what()), HasSubstr(std::string("'") + bad + "'"));
        }
    }
}

// Back-pressure leaves responses untaken: the design under it (the project's own) keeps every
// rule of the contract and gives the same answers; mutant 16, which withdraws a lookup response
// after one cycle, is seen by the protocol checker only with back-pressure.
TEST(RtlIotlbPlugin, BackpressureExposesAResponseWithdrawnBeforeReady) {
    auto run = [](const std::string& plusargs, std::optional<uint64_t> seed, uint64_t* stalled_cycles) {
        rtl_iotlb_options o;
        o.plusargs = plusargs;
        o.backpressure_seed = seed;
        rtl_iotlb t({16, 4}, {}, IOMMUSIM_TEST_PLUGIN_MUTANTS, o);
        const uint64_t start = t.cycles();
        uint64_t design_cycles = 0;
        iotlb_entry e;
        e.tag = {1, 0, translation_kind::second_stage, page_level::size_4k, 0x40};
        e.payload.out_pfn = 0x1234;
        t.fill(e);
        design_cycles += t.last_op_cycles();
        for (int i = 0; i < 64; ++i) {
            const auto hit = t.lookup(1, 0, translation_kind::second_stage, 0x40);
            design_cycles += t.last_op_cycles();
            EXPECT_TRUE(hit && hit->payload.out_pfn == 0x1234u);
        }
        if (stalled_cycles != nullptr) {
            // Beyond the operations' own cycles: those the responses waited.
            *stalled_cycles = t.cycles() - start - design_cycles;
        }
        return t.protocol_report();
    };
    uint64_t stalled = 1;
    EXPECT_EQ(run("", std::nullopt, &stalled), "");
    EXPECT_EQ(stalled, 0u);
    // About one response in four waits 1 to 3 cycles: 65 responses wait about 32 cycles.
    EXPECT_EQ(run("", 3, &stalled), "");
    EXPECT_GT(stalled, 8u);
    EXPECT_LT(stalled, 100u);
    EXPECT_EQ(run("+iotlb_mutant=16", std::nullopt, nullptr), "");
    EXPECT_THAT(run("+iotlb_mutant=16", 3, nullptr), HasSubstr("lookup response valid dropped before ready"));
}

TEST(RtlIotlbPlugin, UnsupportedGeometryNamesThePathAndTheGeometriesItHas) {
    try {
        rtl_iotlb t({16, 4}, {}, IOMMUSIM_TEST_PLUGIN_32X2);
        FAIL() << "a 16x4 instance of a 32x2-only plug-in was built";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(std::string(e.what()), HasSubstr(IOMMUSIM_TEST_PLUGIN_32X2));
        EXPECT_THAT(std::string(e.what()), HasSubstr("geometry 16x4 (sets x ways) is not verilated; it has 32x2"));
    }
    EXPECT_THAT(check_iotlb_spec(*parse_iotlb_spec(std::string("lockstep:") + IOMMUSIM_TEST_PLUGIN_32X2), {64, 4}),
                HasSubstr("geometry 64x4 (sets x ways) is not verilated; it has 32x2"));
    EXPECT_EQ(check_iotlb_spec(*parse_iotlb_spec(std::string("rtl:") + IOMMUSIM_TEST_PLUGIN_32X2), {32, 2}), "");
    EXPECT_THAT(check_iotlb_spec(*parse_iotlb_spec("rtl:/nonexistent.so"), {32, 2}), HasSubstr("/nonexistent.so"));
}

TEST(RtlIotlbPlugin, DescribesItself) {
    auto p = rtl_iotlb_plugin::load(IOMMUSIM_TEST_PLUGIN_32X2);
    EXPECT_EQ(p->name(), "iotlb_32x2_test_plugin");
    EXPECT_STREQ(p->abi().top, "iotlb");
    ASSERT_EQ(p->geometries().size(), 1u);
    EXPECT_EQ(p->geometries()[0].sets, 32u);
    EXPECT_EQ(p->geometries()[0].ways, 2u);
    auto builtin = rtl_iotlb_plugin::load(rtl_iotlb_plugin::builtin_path());
    EXPECT_TRUE(builtin->supports({16, 4}));
    EXPECT_TRUE(builtin->supports({64, 4}));
    EXPECT_TRUE(builtin->supports({64, 16}));
    EXPECT_FALSE(builtin->supports({32, 2}));
}

// Only the entry point is visible: the Verilator runtime inside (Verilated::threadContextp and the
// rest) binds within the library and cannot clash with another copy.
TEST(RtlIotlbPlugin, ExportsOnlyItsEntryPoint) {
    void* h = dlopen(IOMMUSIM_TEST_PLUGIN_32X2, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << dlerror();
    EXPECT_NE(dlsym(h, "iommusim_rtl_iotlb_plugin_entry"), nullptr);
    EXPECT_EQ(dlsym(h, "_ZN9Verilated14threadContextpEv"), nullptr);
    dlclose(h);
}

// Two plug-ins, each with its own Verilator runtime, interleaved in one process.
TEST(RtlIotlbPlugin, TwoPluginsRunSideBySide) {
    rtl_iotlb own({16, 4});
    rtl_iotlb other({32, 2}, {}, IOMMUSIM_TEST_PLUGIN_32X2);
    iotlb_entry e;
    e.tag = {7, 0, translation_kind::second_stage, page_level::size_4k, 0x40};
    e.payload.out_pfn = 0x1234;
    e.payload.perm = iotlb_perm::ss_r;
    own.fill(e);
    other.fill(e);
    ASSERT_TRUE(own.lookup(7, 0, translation_kind::second_stage, 0x40));
    ASSERT_TRUE(other.lookup(7, 0, translation_kind::second_stage, 0x40));
    EXPECT_EQ(other.lookup(7, 0, translation_kind::second_stage, 0x40)->payload.out_pfn, 0x1234u);
    EXPECT_EQ(other.name(), "rtl_iotlb(iotlb_32x2_test_plugin)");
    EXPECT_EQ(own.name(), "rtl_iotlb");
}

// A seeded mix of fills, lookups and every invalidation scope on the 32x2 plug-in, compared with
// the C++ model operation by operation and state by state.
TEST(RtlIotlbPlugin, Geometry32x2RunsInLockstepWithTheCppModel) {
    const iotlb_geometry g{32, 2};
    lockstep_options o;
    o.report = false;
    o.state_check_interval = 64;
    auto made = make_iotlb(*parse_iotlb_spec(std::string("lockstep:") + IOMMUSIM_TEST_PLUGIN_32X2), g, {}, o);
    auto* ls = dynamic_cast<lockstep_iotlb*>(made.get());
    ASSERT_NE(ls, nullptr);
    EXPECT_EQ(ls->name(), "lockstep(iotlb,rtl_iotlb(iotlb_32x2_test_plugin))");
    std::mt19937_64 rng(17);
    const translation_kind kinds[] = {translation_kind::first_stage, translation_kind::second_stage,
                                      translation_kind::nested};
    const iotlb_scope scopes[] = {iotlb_scope::all, iotlb_scope::domain, iotlb_scope::domain_range, iotlb_scope::pasid,
                                  iotlb_scope::pasid_range};
    unsigned hits = 0;
    unsigned evictions = 0;
    std::vector<iotlb_tag> filled;  // half the lookups ask for a tag filled before
    for (int i = 0; i < 3000; ++i) {
        const auto did = static_cast<uint16_t>(rng() % 3);
        const auto pasid = static_cast<uint32_t>(rng() % 2);
        const translation_kind kind = kinds[rng() % 3];
        const auto level = static_cast<page_level>(rng() % 8 == 0 ? 1 : 0);
        const uint64_t vpn = (rng() % 256) << (9 * static_cast<unsigned>(level));
        switch (rng() % 32) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 4:
            case 5:
            case 6:
            case 7:
            case 8:
            case 9:
            case 10:
            case 11: {
                iotlb_entry e;
                e.tag = {did, pasid, kind, level, vpn};
                e.payload.out_pfn = rng() % (uint64_t{1} << 30);
                e.payload.perm = iotlb_perm::ss_r;
                evictions += ls->fill(e).evicted.has_value();
                filled.push_back(e.tag);
                break;
            }
            case 31: {
                const unsigned am = static_cast<unsigned>(rng() % 4);
                ls->invalidate(scopes[rng() % 5], did, pasid, page_range(vpn & ~((uint64_t{1} << am) - 1), am));
                break;
            }
            default:
                if (!filled.empty() && rng() % 2 == 0) {
                    const iotlb_tag& t = filled[filled.size() - 1 - rng() % std::min<std::size_t>(filled.size(), 96)];
                    hits += ls->lookup(t.did, t.pasid, t.kind, t.vpn + rng() % 4).has_value();
                } else {
                    hits += ls->lookup(did, pasid, kind, vpn).has_value();
                }
        }
    }
    EXPECT_TRUE(ls->compare_state());
    EXPECT_EQ(ls->operations(), 3000u);
    EXPECT_EQ(ls->divergences(), 0u) << (ls->first_divergence() ? ls->first_divergence()->to_string() : "");
    // The mix exercised hits and PLRU replacement, not only misses.
    EXPECT_GT(hits, 100u);
    EXPECT_GT(evictions, 100u);
}

TEST(RtlIotlbPlugin, SpecSyntax) {
    EXPECT_EQ(parse_iotlb_spec("rtl")->impl, iotlb_impl::rtl);
    EXPECT_EQ(parse_iotlb_spec("rtl")->plugin, "");
    EXPECT_EQ(parse_iotlb_spec("rtl:/a/libx.so")->impl, iotlb_impl::rtl);
    EXPECT_EQ(parse_iotlb_spec("rtl:/a/libx.so")->plugin, "/a/libx.so");
    EXPECT_EQ(parse_iotlb_spec("lockstep:build/liby.so")->impl, iotlb_impl::lockstep);
    EXPECT_EQ(parse_iotlb_spec("lockstep:build/liby.so")->plugin, "build/liby.so");
    EXPECT_EQ(parse_iotlb_spec("lockstep:c:d")->plugin, "c:d");  // only the first colon separates
    EXPECT_FALSE(parse_iotlb_spec("rtl:"));
    EXPECT_FALSE(parse_iotlb_spec("cpp:/a.so"));
    EXPECT_FALSE(parse_iotlb_spec("RTL:/a.so"));
    EXPECT_FALSE(parse_iotlb_spec(":/a.so"));
    EXPECT_FALSE(parse_iotlb_spec("fpga"));
    EXPECT_EQ(to_string(*parse_iotlb_spec("lockstep:/a.so")), "lockstep:/a.so");
    EXPECT_EQ(to_string(*parse_iotlb_spec("cpp")), "cpp");
}

}  // namespace
}  // namespace iommusim
