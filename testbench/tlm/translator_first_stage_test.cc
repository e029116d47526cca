// Translator tests: First-stage walks (docs/vtd-facts.md §5.1-5.2): shapes, canonical and reserved-bit checks, rights.
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

// ---------------------------------------------------------------- first stage

class FirstStageShapes
    : public Translator,
      public ::testing::WithParamInterface<std::tuple<unsigned /*levels*/, unsigned /*leaf level*/>> {};

TEST_P(FirstStageShapes, TranslatesAndCachesPageSize) {
    const auto [levels, leaf] = GetParam();
    cfg.fs5lp = true;
    cfg.mgaw = 57;
    setup_fs(levels);
    const uint64_t va = levels == 5 ? 0x00ff'f000'0000'0000 : 0x0000'7f00'0000'0000;
    const uint64_t bytes = hw::level_page_bytes(leaf);
    tb.map_fs(fs, va, 0x2'4000'0000, leaf);
    build();
    auto r = xl(va + bytes - 1, {.pasid = 5});
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0x2'4000'0000 + bytes - 1);
    EXPECT_EQ(r.page_bytes, bytes);
    EXPECT_EQ(r.kind, translation_kind::first_stage);
    EXPECT_EQ(r.walk_accesses, 4u + 2 * (levels - leaf + 1));  // a read and an A update per level
    EXPECT_TRUE(xl(va, {.pasid = 5}).iotlb_hit);
}

INSTANTIATE_TEST_SUITE_P(LevelsAndPages, FirstStageShapes,
                         ::testing::Combine(::testing::Values(4u, 5u), ::testing::Values(1u, 2u, 3u)));

TEST_F(Translator, FirstStageCanonicalCheck) {
    setup_fs(4);
    const uint64_t high = 0xffff'8000'0000'1000;  // canonical upper half
    tb.map_fs(fs, high, 0x3000);
    build();
    auto r = xl(high, {.pasid = 5});
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0x3000u);
    EXPECT_EQ(xl(0x0000'8000'0000'0000, {.pasid = 5}).fault, fault_reason::gn_not_canonical);
    EXPECT_EQ(xl(0xfff0'0000'0000'0000, {.pasid = 5}).fault, fault_reason::gn_not_canonical);
}

TEST_F(Translator, FirstStageOneGigNeedsFs1gp) {
    cfg.fs1gp = false;
    setup_fs(4);
    tb.map_fs(fs, 0x4000'0000, 0x8000'0000, 3);
    tb.map_fs(fs, 0x20'0000, 0x40'0000, 2);
    build();
    EXPECT_EQ(xl(0x4000'0000, {.pasid = 5}).fault, fault_reason::fs_reserved);
    EXPECT_TRUE(xl(0x20'0000, {.pasid = 5}).ok());
}

TEST_F(Translator, FirstStageFiveLevelNeedsFs5lp) {
    cfg.fs5lp = false;
    setup_fs(5);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

TEST_F(Translator, FirstStageReservedBits) {
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    tb.map_fs(fs, 0x20'0000, 0x40'0000, 2);
    tb.map_fs(fs, 0x80'0000'0000, 0x12000);
    tb.set_bits(tb.fs_entry_addr(fs, 0x20'0000, 2), lowest_bit(fp::large_2m_reserved));
    tb.set_bits(tb.fs_entry_addr(fs, 0x80'0000'0000, 4), fp::ps::mask);                      // PS in a PML4E
    tb.set_bits(tb.fs_entry_addr(fs, 0x1000, 1), fp::addr::make(uint64_t{1} << (51 - 12)));  // >= HAW
    cfg.haw = 46;
    build();
    EXPECT_EQ(xl(0x20'0000, {.pasid = 5}).fault, fault_reason::fs_reserved);
    EXPECT_EQ(xl(0x80'0000'0000, {.pasid = 5}).fault, fault_reason::fs_reserved);
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_reserved);
}

TEST_F(Translator, FirstStageNotPresentAndAccessErrors) {
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    tb.map_fs(fs, 0x40'0000'0000, 0x12000);
    build();
    EXPECT_EQ(xl(0x2000, {.pasid = 5}).fault, fault_reason::fs_not_present);
    mem.inject_error_range(tb.fs_entry_addr(fs, 0x40'0000'0000, 2), 8);
    EXPECT_EQ(xl(0x40'0000'0000, {.pasid = 5}).fault, fault_reason::fs_access);
    mem.inject_error_range(tb.fs_entry_addr(fs, 0x1000, 4), 8);
    tr->invalidate({.kind = scope_kind::iotlb_all});  // the PSC holds the root entry from the walks above
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_root_access);
}

TEST_F(Translator, FirstStageRootPointerBeyondHaw) {
    cfg.haw = 40;
    setup_fs(4);
    pasid_opts o;
    o.pgtt = hw::pgtt::first_stage;
    o.fsptptr = uint64_t{1} << 45;
    tb.set_pasid(k_rid, 5, o);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_root_access);
}

// Access-rights matrix of docs/vtd-facts.md §5.2.
struct rights_case {
    const char* name;
    uint64_t leaf;  // leaf flags (non-leaf entries are P|RW|US)
    bool priv, write, exec;
    bool wpe, smep, nxe;
    fault_reason expect;
};

class FirstStageRights : public Translator, public ::testing::WithParamInterface<rights_case> {};

TEST_P(FirstStageRights, Matrix) {
    const rights_case& c = GetParam();
    pasid_opts o;
    o.sre = true;
    o.ere = true;
    o.wpe = c.wpe;
    o.smep = c.smep;
    o.nxe = c.nxe;
    setup_fs(4, o);
    tb.map_fs(fs, 0x7000, 0x17000, 1, c.leaf);
    build();
    auto r = xl(0x7000, {.pasid = 5, .write = c.write, .exec = c.exec, .priv = c.priv});
    EXPECT_EQ(r.fault, c.expect) << std::hex << unsigned(r.fault);
    // The same answer from a cached entry (warm the IOTLB with an always-allowed read first).
    tr->invalidate({.kind = scope_kind::iotlb_all});
    if (xl(0x7000, {.pasid = 5, .priv = true}).ok()) {
        auto h = xl(0x7000, {.pasid = 5, .write = c.write, .exec = c.exec, .priv = c.priv});
        EXPECT_EQ(h.fault, c.expect);
    }
}

constexpr uint64_t P = fp::p::mask, RW = fp::rw::mask, US = fp::us::mask, XD = fp::xd::mask;
INSTANTIATE_TEST_SUITE_P(
    Cases, FirstStageRights,
    ::testing::Values(
        rights_case{"UserRead", P | US, false, false, false, false, false, false, fault_reason::none},
        rights_case{"UserReadSupervisorPage", P | RW, false, false, false, false, false, false,
                    fault_reason::gn_user_denied},
        rights_case{"UserWriteRo", P | US, false, true, false, false, false, false, fault_reason::gn_write_denied},
        rights_case{"UserWrite", P | US | RW, false, true, false, false, false, false, fault_reason::none},
        rights_case{"UserExecXdNxe", P | US | XD, false, false, true, false, false, true, fault_reason::gn_exec_denied},
        rights_case{"UserExecXdNoNxe", P | US | XD, false, false, true, false, false, false, fault_reason::none},
        rights_case{"SupervisorReadUserless", P, true, false, false, false, false, false, fault_reason::none},
        rights_case{"SupervisorWriteRoNoWpe", P, true, true, false, false, false, false, fault_reason::none},
        rights_case{"SupervisorWriteRoWpe", P, true, true, false, true, false, false, fault_reason::gn_write_denied},
        rights_case{"SupervisorWriteRwWpe", P | RW, true, true, false, true, false, false, fault_reason::none},
        rights_case{"SupervisorExecUserPageSmep", P | US, true, false, true, false, true, false,
                    fault_reason::gn_exec_denied},
        rights_case{"SupervisorExecUserPageNoSmep", P | US, true, false, true, false, false, false, fault_reason::none},
        rights_case{"SupervisorExecSupervisorPageSmep", P, true, false, true, false, true, false, fault_reason::none},
        rights_case{"SupervisorExecXd", P | XD, true, false, true, false, false, true, fault_reason::gn_exec_denied}),
    [](const ::testing::TestParamInfo<rights_case>& i) { return std::string(i.param.name); });

TEST_F(Translator, SupervisorAndExecuteNeedSreAndEre) {
    setup_fs(4);  // SRE = ERE = 0
    tb.map_fs(fs, 0x7000, 0x17000);
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5, .priv = true}).fault, fault_reason::pte_sre_clear);
    EXPECT_EQ(xl(0x7000, {.pasid = 5, .exec = true}).fault, fault_reason::pte_ere_clear);
    EXPECT_TRUE(xl(0x7000, {.pasid = 5}).ok());
}

TEST_F(Translator, UserRightsAreAndedDownTheWalk) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000, 1, k_fs_urw, fp::p::mask | fp::rw::mask);  // non-leaf U/S = 0
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5}).fault, fault_reason::gn_user_denied);
}

}  // namespace
}  // namespace iommusim::translator_test
