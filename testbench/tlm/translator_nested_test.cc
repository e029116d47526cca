// Translator tests: Nested walks (docs/vtd-facts.md §5.5): first-stage tables read through the second stage.
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

// ---------------------------------------------------------------- nested (§5.5)

TEST_F(Translator, NestedFourByFourWalk) {
    cfg.psc_enable = false;
    setup_nested();
    tb.map_fs(fs, 0x7f00'0000'1000, 0x9000'0000);       // GVA -> GPA
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);  // GPA -> HPA
    // Pre-set A on every FS entry so the count is the pure walk.
    for (unsigned l = 4; l >= 1; --l) {
        tb.set_bits(tb.fs_entry_addr(fs, 0x7f00'0000'1000, l), fp::a::mask);
    }
    build();
    auto r = xl(0x7f00'0000'1234, {.pasid = 5});
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0x5'0000'0234u);
    EXPECT_EQ(r.kind, translation_kind::nested);
    EXPECT_EQ(r.walk_accesses, 4u + 24u);  // 5 SS walks x 4 + 4 FS reads
    EXPECT_TRUE(xl(0x7f00'0000'1000, {.pasid = 5}).iotlb_hit);
}

TEST_F(Translator, NestedPageSizeIsTheSmallerStage) {
    setup_nested();
    tb.map_fs(fs, 0x4000'0000, 0x8000'0000, 3);            // FS 1 GiB
    tb.map_ss(ss_root, 4, 0x8000'0000, 0x1'0000'0000, 2);  // SS 2 MiB for the first 2 MiB
    tb.map_fs(fs, 0x20'0000, 0xc000'0000, 1);              // FS 4 KiB
    tb.map_ss(ss_root, 4, 0xc000'0000, 0x2'0000'0000, 3);  // over SS 1 GiB
    build();
    auto a = xl(0x4000'1234, {.pasid = 5});
    ASSERT_TRUE(a.ok()) << std::hex << unsigned(a.fault);
    EXPECT_EQ(a.out_addr, 0x1'0000'1234u);
    EXPECT_EQ(a.page_bytes, 2u << 20);
    auto b = xl(0x20'0010, {.pasid = 5});
    ASSERT_TRUE(b.ok()) << std::hex << unsigned(b.fault);
    EXPECT_EQ(b.out_addr, 0x2'0000'0010u);
    EXPECT_EQ(b.page_bytes, 4096u);
}

TEST_F(Translator, NestedSecondStageReadOnFsEntries) {
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_fs(fs, 0x40'0000'0000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    build();
    // SS maps the FS root table page write-only: 0x75.
    const uint64_t root_ss = tb.ss_entry_addr(ss_root, 4, fs.root, 1);
    tb.write64(root_ss, (tb.read64(root_ss) & ~sp::r::mask));
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_root_ss_read);
    tb.set_bits(root_ss, sp::r::mask);
    // Same for the page-table page below: 0x76.
    const uint64_t pt_gpa = fp::addr::get(tb.read64(tb.fs_entry_addr(fs, 0x1000, 2))) << 12;
    const uint64_t pt_ss = tb.ss_entry_addr(ss_root, 4, pt_gpa, 1);
    tb.clear_bits(pt_ss, sp::r::mask);
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_entry_ss_read);
}

TEST_F(Translator, NestedAdUpdateNeedsSecondStageWrite) {
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    const uint64_t pt_gpa = fp::addr::get(tb.read64(tb.fs_entry_addr(fs, 0x1000, 2))) << 12;
    tb.clear_bits(tb.ss_entry_addr(ss_root, 4, pt_gpa, 1), sp::w::mask);  // FS PT page read-only in SS
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_ad_ss_write);
    // With A already set a read needs no update and succeeds; a write still needs D.
    tb.set_bits(tb.fs_entry_addr(fs, 0x1000, 1), fp::a::mask);
    EXPECT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    EXPECT_EQ(xl(0x1000, {.pasid = 5, .write = true}).fault, fault_reason::fs_ad_ss_write);
}

TEST_F(Translator, NestedFinalGpaChecks) {
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);  // not mapped in SS
    tb.map_fs(fs, 0x2000, 0x9000'1000);
    tb.map_ss(ss_root, 4, 0x9000'1000, 0x5'0000'0000, 1, sp::r::mask);
    tb.map_fs(fs, 0x3000, uint64_t{1} << 49);  // GPA beyond MGAW 48
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::ss_perm);
    EXPECT_TRUE(xl(0x2000, {.pasid = 5}).ok());
    EXPECT_EQ(xl(0x2000, {.pasid = 5, .write = true}).fault, fault_reason::gn_write_denied);
    EXPECT_EQ(xl(0x3000, {.pasid = 5}).fault, fault_reason::gn_ss_addr_beyond_max);
}

TEST_F(Translator, NestedExecuteNeedsSecondStageXWithSsee) {
    pasid_opts o;
    o.ere = true;
    o.ssee = true;
    setup_nested(o);
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_fs(fs, 0x2000, 0x9000'1000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000, 1, k_rw);
    tb.map_ss(ss_root, 4, 0x9000'1000, 0x5'0000'1000, 1, k_rw | sp::x::mask);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5, .exec = true}).fault, fault_reason::gn_exec_denied);
    EXPECT_TRUE(xl(0x2000, {.pasid = 5, .exec = true}).ok());
}

TEST_F(Translator, NestedFsTableBeyondMgawAndRootAccess) {
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    // PDE points at a GPA beyond MGAW: 0x74.
    const uint64_t pde = tb.fs_entry_addr(fs, 0x1000, 2);
    tb.write64(pde, (tb.read64(pde) & ~fp::addr::mask) | fp::addr::make((uint64_t{1} << 49) >> 12));
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_addr_beyond_mgaw);
    // The FS root page's HPA fails to read: 0x73.
    mem.inject_error_range(tb.fs_entry_addr(fs, 0x1000, 4), 8);
    tr->invalidate({.kind = scope_kind::iotlb_all});
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::fs_root_access);
}

TEST_F(Translator, NestedRequiresNestCapability) {
    cfg.nest = false;
    setup_nested();
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

class NestedShapes
    : public Translator,
      public ::testing::WithParamInterface<
          std::tuple<unsigned /*fs levels*/, unsigned /*ss aw*/, unsigned /*fs leaf*/, unsigned /*ss leaf*/>> {};

TEST_P(NestedShapes, TranslatesThroughBothStages) {
    const auto [fs_levels, aw, fs_leaf, ss_leaf] = GetParam();
    cfg.fs5lp = true;
    cfg.sagaw_57 = true;
    cfg.mgaw = 57;
    const unsigned ss_levels = hw::ss_levels_from_aw(aw);
    ss_root = tb.new_ss();
    fs = tb.new_nested_fs(ss_root, ss_levels, fs_levels);
    tb.set_context(k_rid);
    pasid_opts o;
    o.pgtt = hw::pgtt::nested;
    o.aw = aw;
    o.fsptptr = fs.root;
    o.ssptptr = ss_root;
    o.fspm = fs_levels == 5 ? 1 : 0;
    tb.set_pasid(k_rid, 5, o);
    const uint64_t va = 0x0000'5a00'0000'0000 & hw::low_mask(fs_levels == 5 ? 56 : 47);
    const uint64_t gpa = 0x40'0000'0000 & hw::low_mask(hw::ss_width_from_aw(aw) - 1);  // 1 GiB aligned
    const uint64_t hpa = 0x3'8000'0000;                                                // 1 GiB aligned
    tb.map_fs(fs, va, gpa, fs_leaf);
    tb.map_ss(ss_root, ss_levels, gpa, hpa, ss_leaf);
    build();
    const uint64_t off = 0x123;
    auto r = xl(va + off, {.pasid = 5, .write = true});
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, hpa + off);
    EXPECT_EQ(r.page_bytes, hw::level_page_bytes(std::min(fs_leaf, ss_leaf)));
    EXPECT_EQ(r.kind, translation_kind::nested);
    EXPECT_TRUE(fp::d::get(tb.read64(tb.fs_entry_addr(fs, va, fs_leaf))));
    auto h = xl(va, {.pasid = 5, .write = true});
    EXPECT_TRUE(h.iotlb_hit);
    EXPECT_EQ(h.out_addr, hpa);
}

INSTANTIATE_TEST_SUITE_P(Shapes, NestedShapes,
                         ::testing::Combine(::testing::Values(4u, 5u), ::testing::Values(1u, 2u, 3u),
                                            ::testing::Values(1u, 2u, 3u), ::testing::Values(1u, 2u, 3u)));

TEST_F(Translator, DevicesSharingADomainShareIotlbEntries) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.set_context(k_rid + 1);
    pasid_opts o;
    o.ssptptr = ss_root;
    tb.set_pasid(k_rid + 1, 0, o);  // same DID 1, same RID_PASID 0
    build();
    ASSERT_FALSE(xl(0x1000).iotlb_hit);
    auto r = xl(0x1000, {.rid = k_rid + 1});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.iotlb_hit);
}

TEST_F(Translator, PassThroughForRequestsWithPasid) {
    tb.set_context(k_rid);
    pasid_opts o;
    o.pgtt = hw::pgtt::pass_through;
    o.did = 4;
    tb.set_pasid(k_rid, 9, o);
    build();
    auto r = xl(0x7654'3210, {.pasid = 9, .write = true});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.out_addr, 0x7654'3210u);
    EXPECT_EQ(r.did, 4u);
    EXPECT_EQ(r.pasid, 9u);
    EXPECT_TRUE(r.can_write);
    EXPECT_EQ(xl(0xFEE0'1000, {.pasid = 9}).fault, fault_reason::gn_interrupt_range);
}

}  // namespace
}  // namespace iommusim::translator_test
