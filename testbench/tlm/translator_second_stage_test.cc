// Translator tests: Second-stage walks (docs/vtd-facts.md §5.4), pass-through and the interrupt address range.
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

// ---------------------------------------------------------------- second stage

TEST_F(Translator, SecondStageWalkThenIotlbHit) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x12345000, 0xabcd000);
    build();
    auto r = xl(0x12345678);
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0xabcd678u);
    EXPECT_EQ(r.page_bytes, 4096u);
    EXPECT_EQ(r.did, 1u);
    EXPECT_EQ(r.kind, translation_kind::second_stage);
    EXPECT_FALSE(r.iotlb_hit);
    EXPECT_EQ(r.walk_accesses, 4u + 4u);  // root, context, PASID dir, PASID entry + 4 levels
    EXPECT_TRUE(r.can_read);
    EXPECT_TRUE(r.can_write);
    auto h = xl(0x12345008, {.write = true});
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(h.iotlb_hit);
    EXPECT_EQ(h.out_addr, 0xabcd008u);
    EXPECT_EQ(h.walk_accesses, 0u);
    auto s = tr->stats();
    EXPECT_EQ(s.translations, 2u);
    EXPECT_EQ(s.iotlb_hits, 1u);
    EXPECT_EQ(s.iotlb_misses, 1u);
    EXPECT_EQ(s.context_hits, 1u);
    EXPECT_EQ(s.pasid_hits, 1u);
    EXPECT_EQ(s.walks, 1u);
}

class SecondStageLevels : public Translator, public ::testing::WithParamInterface<unsigned> {};

TEST_P(SecondStageLevels, WalksAwPlusTwoLevels) {
    const unsigned aw = GetParam();
    cfg.sagaw_57 = true;
    cfg.mgaw = 57;
    setup_ss(aw);
    const unsigned levels = aw + 2;
    const uint64_t gpa = (uint64_t{1} << (hw::ss_width_from_aw(aw) - 1)) + 0x7000;  // top half of the width
    tb.map_ss(ss_root, levels, gpa, 0x5555000);
    build();
    auto r = xl(gpa + 0x10);
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0x5555010u);
    EXPECT_EQ(r.walk_accesses, 4u + levels);
    auto beyond = xl(uint64_t{1} << hw::ss_width_from_aw(aw));
    EXPECT_EQ(beyond.fault, fault_reason::gn_addr_beyond_max);
}

INSTANTIATE_TEST_SUITE_P(Aw, SecondStageLevels, ::testing::Values(1u, 2u, 3u));

TEST_F(Translator, SecondStageAwNotInSagawIsInvalidPasidEntry) {
    cfg.sagaw_57 = false;
    setup_ss(3);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_invalid);
}

TEST_F(Translator, SecondStageAddressBeyondMgaw) {
    cfg.mgaw = 39;  // 4-level tables but MGAW 39
    setup_ss(2);
    build();
    EXPECT_EQ(xl(uint64_t{1} << 39).fault, fault_reason::gn_addr_beyond_max);
    EXPECT_EQ(xl((uint64_t{1} << 39) - 4096).fault, fault_reason::ss_perm);  // in range, not mapped
}

class SecondStageLargePages : public Translator, public ::testing::WithParamInterface<std::tuple<unsigned, bool>> {};

TEST_P(SecondStageLargePages, LeafSizeFollowsSslps) {
    const auto [leaf, supported] = GetParam();
    cfg.sslps_2m = leaf == 2 ? supported : true;
    cfg.sslps_1g = leaf == 3 ? supported : true;
    setup_ss();
    const uint64_t bytes = hw::level_page_bytes(leaf);
    tb.map_ss(ss_root, 4, 0x80000000, 0x1'c000'0000, leaf);
    build();
    auto r = xl(0x80000000 + bytes - 8);
    if (!supported) {
        EXPECT_EQ(r.fault, fault_reason::ss_reserved);
        return;
    }
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.page_bytes, bytes);
    EXPECT_EQ(r.out_addr, 0x1'c000'0000 + bytes - 8);
    EXPECT_TRUE(xl(0x80000000).iotlb_hit);
}

INSTANTIATE_TEST_SUITE_P(Sizes, SecondStageLargePages,
                         ::testing::Combine(::testing::Values(2u, 3u), ::testing::Bool()));

TEST_F(Translator, SecondStageLargePageReservedLowBits) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x200000, 0x400000, 2);
    tb.set_bits(tb.ss_entry_addr(ss_root, 4, 0x200000, 2), lowest_bit(sp::large_2m_reserved));
    build();
    EXPECT_EQ(xl(0x200000).fault, fault_reason::ss_reserved);
}

TEST_F(Translator, SecondStagePermissions) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000, 1, sp::r::mask);
    tb.map_ss(ss_root, 4, 0x2000, 0x12000, 1, sp::w::mask);
    build();
    EXPECT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(xl(0x1000, {.write = true}).fault, fault_reason::gn_write_denied);
    EXPECT_TRUE(xl(0x2000, {.write = true}).ok());
    EXPECT_EQ(xl(0x2000).fault, fault_reason::gn_read_denied);
    // Permissions are ANDed down the walk: a non-leaf without W denies writes below it.
    tb.map_ss(ss_root, 4, 0x40000000, 0x13000, 1, k_rw);
    tb.clear_bits(tb.ss_entry_addr(ss_root, 4, 0x40000000, 3), sp::w::mask);
    EXPECT_TRUE(xl(0x40000000).ok());
    EXPECT_EQ(xl(0x40000000, {.write = true}).fault, fault_reason::gn_write_denied);
    auto r = xl(0x1000);
    EXPECT_TRUE(r.can_read);
    EXPECT_FALSE(r.can_write);
}

TEST_F(Translator, SecondStageReservedAndAccessFaults) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.map_ss(ss_root, 4, 0x40000000, 0x12000);
    tb.map_ss(ss_root, 4, 0x80000000, 0x13000);
    tb.set_bits(tb.ss_entry_addr(ss_root, 4, 0x1000, 1), sp::tm::mask);
    tb.set_bits(tb.ss_entry_addr(ss_root, 4, 0x40000000, 1), sp::addr::make(uint64_t{1} << (47 - 12)));  // >= HAW
    cfg.haw = 46;
    // SS-PML4E with PS is reserved.
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::ss_reserved);
    EXPECT_EQ(xl(0x40000000).fault, fault_reason::ss_reserved);
    mem.inject_error_range(tb.ss_entry_addr(ss_root, 4, 0x80000000, 2), 8);
    EXPECT_EQ(xl(0x80000000).fault, fault_reason::ss_access);
    tb.set_bits(tb.ss_entry_addr(ss_root, 4, 0x1000, 4), sp::ps::mask);
    tr->invalidate({.kind = scope_kind::iotlb_all});
    EXPECT_EQ(xl(0x1000).fault, fault_reason::ss_reserved);
}

TEST_F(Translator, SecondStageSnpBitIsIgnored) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000, 1, k_rw | sp::snp::mask);
    build();
    EXPECT_TRUE(xl(0x1000).ok());
}

TEST_F(Translator, InvalidSecondStagePointer) {
    setup_ss();
    pasid_opts o;
    cfg.haw = 48;
    o.ssptptr = uint64_t{1} << 50;  // an address at or above HAW
    tb.set_pasid(k_rid, 0, o);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::ss_invalid_ptr);
}

// ---------------------------------------------------------------- pass-through and interrupt range

TEST_F(Translator, PassThroughIdentityWithLargePages) {
    tb.set_context(k_rid);
    pasid_opts o;
    o.pgtt = hw::pgtt::pass_through;
    tb.set_pasid(k_rid, 0, o);
    build();
    auto r = xl(0x1'2345'6789);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.out_addr, 0x1'2345'6789u);
    EXPECT_EQ(r.page_bytes, 1u << 30);
    EXPECT_EQ(r.kind, translation_kind::pass_through);
    // Around the interrupt window the cached page shrinks until it no longer overlaps it.
    auto n = xl(0xFED0'0000);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(n.page_bytes, 2u << 20);
    EXPECT_EQ(xl(0xFEF0'0000).page_bytes, 4096u);
    EXPECT_EQ(xl(0xFEE0'0000).fault, fault_reason::gn_interrupt_range);
    EXPECT_EQ(xl(0xFEEF'FFF8, {.write = true}).fault, fault_reason::gn_interrupt_range);
    EXPECT_TRUE(xl(0xFEF0'0000).ok());
    EXPECT_EQ(xl(uint64_t{1} << 48).fault, fault_reason::gn_addr_beyond_max);
}

TEST_F(Translator, PassThroughRequiresPtCapability) {
    cfg.pt = false;
    tb.set_context(k_rid);
    pasid_opts o;
    o.pgtt = hw::pgtt::pass_through;
    tb.set_pasid(k_rid, 0, o);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_invalid);
}

TEST_F(Translator, SecondStageOutputInInterruptRange) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0xFEE0'1000);
    tb.map_ss(ss_root, 4, 0x20'0000, 0xFEE0'0000, 2);  // 2 MiB page starting with the window
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::gn_interrupt_range);
    auto r = xl(0x30'0000);  // 0xFEF00000: outside the window, but the page is cached as 4 KiB
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.out_addr, 0xFEF0'0000u);
    EXPECT_EQ(r.page_bytes, 4096u);
    EXPECT_EQ(xl(0x2f'f000).fault, fault_reason::gn_interrupt_range);
    EXPECT_TRUE(xl(0x30'0000).iotlb_hit);
}

}  // namespace
}  // namespace iommusim::translator_test
