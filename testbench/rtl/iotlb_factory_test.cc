// Run-time selection of the IOTLB implementation.
#include "rtl/iotlb_factory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

#include "tlm/iotlb.h"

namespace iommusim {
namespace {

TEST(IotlbFactory, ParsesTheThreeNames) {
    EXPECT_EQ(parse_iotlb_impl("cpp"), iotlb_impl::cpp);
    EXPECT_EQ(parse_iotlb_impl("rtl"), iotlb_impl::rtl);
    EXPECT_EQ(parse_iotlb_impl("lockstep"), iotlb_impl::lockstep);
    EXPECT_FALSE(parse_iotlb_impl(""));
    EXPECT_FALSE(parse_iotlb_impl("RTL"));
    EXPECT_FALSE(parse_iotlb_impl("verilator"));
    for (iotlb_impl i : {iotlb_impl::cpp, iotlb_impl::rtl, iotlb_impl::lockstep}) {
        EXPECT_EQ(parse_iotlb_impl(to_string(i)), i);
    }
}

TEST(IotlbFactory, MakesEachImplementation) {
    const iotlb_geometry g{64, 4};
    auto cpp = make_iotlb(iotlb_impl::cpp, g);
    auto rtl = make_iotlb(iotlb_impl::rtl, g);
    auto ls = make_iotlb(iotlb_impl::lockstep, g);
    EXPECT_NE(dynamic_cast<iotlb*>(cpp.get()), nullptr);
    EXPECT_NE(dynamic_cast<rtl_iotlb*>(rtl.get()), nullptr);
    EXPECT_NE(dynamic_cast<lockstep_iotlb*>(ls.get()), nullptr);
    EXPECT_EQ(ls->name(), "lockstep(iotlb,rtl_iotlb)");
    for (iotlb_if* t : {cpp.get(), rtl.get(), ls.get()}) {
        EXPECT_EQ(t->geometry().sets, 64u);
        EXPECT_EQ(t->geometry().ways, 4u);
        iotlb_entry e;
        e.tag = iotlb_tag{9, 1, translation_kind::nested, page_level::size_4k, 0x77};
        e.payload = iotlb_payload{0x55, iotlb_perm::fs_rw | iotlb_perm::ss_r | iotlb_perm::ss_w};
        t->fill(e);
        auto hit = t->lookup(9, 1, translation_kind::nested, 0x77);
        ASSERT_TRUE(hit) << t->name();
        EXPECT_EQ(*hit, e);
    }
    EXPECT_EQ(cpp->last_op_cycles(), 0u);
    EXPECT_EQ(rtl->last_op_cycles(), 1u);
    EXPECT_EQ(ls->last_op_cycles(), 1u);
}

TEST(IotlbFactory, RtlGeometryThatWasNotVerilatedThrows) {
    EXPECT_NO_THROW(make_iotlb(iotlb_impl::cpp, {8, 2}));
    EXPECT_THROW(make_iotlb(iotlb_impl::rtl, {8, 2}), std::invalid_argument);
    EXPECT_THROW(make_iotlb(iotlb_impl::lockstep, {8, 2}), std::invalid_argument);
}

TEST(IotlbFactory, EnvironmentSelectsTheImplementation) {
    ::unsetenv("IOMMUSIM_IOTLB");
    EXPECT_EQ(iotlb_impl_from_env(), iotlb_impl::cpp);
    ::setenv("IOMMUSIM_IOTLB", "lockstep", 1);
    EXPECT_EQ(iotlb_impl_from_env(), iotlb_impl::lockstep);
    ::setenv("IOMMUSIM_IOTLB", "rtl", 1);
    EXPECT_EQ(iotlb_impl_from_env(), iotlb_impl::rtl);
    ::setenv("IOMMUSIM_IOTLB", "fpga", 1);
    EXPECT_THROW(iotlb_impl_from_env(), std::invalid_argument);
    ::unsetenv("IOMMUSIM_IOTLB");
}

TEST(IotlbFactory, WavesOptionsFromTheEnvironment) {
    ::setenv("IOMMUSIM_WAVES", "1", 1);
    ::setenv("IOMMUSIM_WAVES_DIR", "/tmp/somewhere", 1);
    auto w = rtl_waves_options::from_env("run1");
    EXPECT_TRUE(w.enabled);
    EXPECT_EQ(w.path(), "/tmp/somewhere/run1.fst");
    ::setenv("IOMMUSIM_WAVES", "0", 1);
    ::unsetenv("IOMMUSIM_WAVES_DIR");
    w = rtl_waves_options::from_env("run2");
    EXPECT_FALSE(w.enabled);
    EXPECT_EQ(w.path(), "waves/run2.fst");
    ::setenv("IOMMUSIM_WAVES_FORMAT", "vcd", 1);
    w = rtl_waves_options::from_env("run3");
    EXPECT_EQ(w.format, rtl_waves_options::file_format::vcd);
    EXPECT_EQ(w.path(), "waves/run3.vcd");
    EXPECT_EQ(w.fst_path(), "waves/run3.fst");
    ::unsetenv("IOMMUSIM_WAVES_FORMAT");
    ::unsetenv("IOMMUSIM_WAVES");
}

}  // namespace
}  // namespace iommusim
