// Translator tests: root, context and PASID structures (their faults, FPD), termination of
// looping tables, and ATS translation requests.
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

// ---------------------------------------------------------------- root / context / PASID faults

TEST_F(Translator, RootFaults) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tlb = std::make_unique<iotlb>(iotlb_geometry{16, 4});
    tr = std::make_unique<translator>(cfg, mem, *tlb);
    EXPECT_EQ(xl(0x1000).fault, fault_reason::rta_invalid);  // SRTP never done
    tr->set_root(tb.root());                                 // TTM = legacy
    EXPECT_EQ(xl(0x1000, {.pasid = 0}).fault, fault_reason::rta_legacy_with_pasid);
    EXPECT_EQ(xl(0x1000).fault, fault_reason::rta_invalid);
    tr->set_root(tb.root() | hw::rtaddr::ttm::make(2));  // reserved TTM
    EXPECT_EQ(xl(0x1000).fault, fault_reason::rta_invalid);
    tr->set_root(tb.rtaddr_value());
    EXPECT_TRUE(xl(0x1000).ok());
    // Root entry: not present, reserved, access error.
    tr->set_root(tb.rtaddr_value());
    EXPECT_EQ(xl(0x1000, {.rid = 0x0400}).fault, fault_reason::root_not_present);
    EXPECT_EQ(xl(0x1000, {.rid = 0x0390}).fault, fault_reason::root_not_present);  // upper half absent
    tb.set_bits(tb.root_entry_addr(k_rid), lowest_bit(hw::root_entry::reserved_mask[0]));
    tr->invalidate({.kind = scope_kind::context_all});
    EXPECT_EQ(xl(0x1000).fault, fault_reason::root_reserved);
    mem.inject_error_range(tb.root_entry_addr(0x0500), 16);
    EXPECT_EQ(xl(0x1000, {.rid = 0x0500}).fault, fault_reason::root_access);
}

TEST_F(Translator, ContextFaults) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    EXPECT_EQ(xl(0x1000, {.rid = k_rid + 1}).fault, fault_reason::ctx_not_present);
    namespace ce = hw::context_entry;
    const uint64_t ce_addr = tb.context_entry_addr(k_rid);
    tb.set_bits(ce_addr + 8, lowest_bit(ce::reserved_mask[1]));
    EXPECT_EQ(xl(0x1000).fault, fault_reason::ctx_reserved);
    tb.clear_bits(ce_addr + 8, lowest_bit(ce::reserved_mask[1]));
    tr->invalidate({.kind = scope_kind::context_all});
    EXPECT_TRUE(xl(0x1000).ok());
    mem.inject_error_range(tb.context_entry_addr(k_rid + 2), 32);
    tb.set_context(k_rid + 2);
    EXPECT_EQ(xl(0x1000, {.rid = k_rid + 2}).fault, fault_reason::ctx_access);
}

TEST_F(Translator, ContextRequestChecks) {
    ss_root = tb.new_ss();
    context_opts c;
    c.dte = false;
    c.paside = false;
    c.pdts = 0;  // 128 directory entries: PASIDs below 8192
    tb.set_context(k_rid, c);
    pasid_opts o;
    o.ssptptr = ss_root;
    tb.set_pasid(k_rid, 0, o);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    EXPECT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(xl(0x1000, {.ats = true}).fault, fault_reason::ctx_dte_clear);
    EXPECT_EQ(xl(0x1000, {.pasid = 1}).fault, fault_reason::ctx_paside_clear);
    c.paside = true;
    tb.set_context(k_rid, c);
    tr->invalidate({.kind = scope_kind::context_all});
    EXPECT_EQ(xl(0x1000, {.pasid = 8192}).fault, fault_reason::ctx_pasid_too_large);
    EXPECT_EQ(xl(0x1000, {.pasid = 1u << 20}).fault, fault_reason::ctx_pasid_too_large);
    c.rid_pasid = 9000;  // beyond the directory
    tb.set_context(k_rid, c);
    tr->invalidate({.kind = scope_kind::context_all});
    EXPECT_EQ(xl(0x1000).fault, fault_reason::ctx_rid_pasid);
}

TEST_F(Translator, RidPasidSelectsThePasidEntryOfRequestsWithoutPasid) {
    ss_root = tb.new_ss();
    context_opts c;
    c.rid_pasid = 77;
    tb.set_context(k_rid, c);
    pasid_opts o;
    o.ssptptr = ss_root;
    o.did = 9;
    tb.set_pasid(k_rid, 77, o);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    auto r = xl(0x1000);
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.pasid, 77u);
    EXPECT_EQ(r.did, 9u);
}

TEST_F(Translator, PasidDirectoryAndEntryFaults) {
    setup_ss();
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 64}).fault, fault_reason::pdir_not_present);
    EXPECT_EQ(xl(0x1000, {.pasid = 1}).fault, fault_reason::pte_not_present);
    tb.set_bits(tb.pasid_dir_entry_addr(k_rid, 0), lowest_bit(hw::pasid_dir_entry::reserved_mask));
    EXPECT_EQ(xl(0x1000, {.pasid = 2}).fault, fault_reason::pdir_reserved);
    tb.clear_bits(tb.pasid_dir_entry_addr(k_rid, 0), lowest_bit(hw::pasid_dir_entry::reserved_mask));
    tb.set_bits(pasid_entry + 8, lowest_bit(pe::reserved_mask[1]));
    tr->invalidate({.kind = scope_kind::pasid_cache_all});
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_reserved);
    mem.inject_error_range(tb.pasid_dir_entry_addr(k_rid, 128), 8);
    EXPECT_EQ(xl(0x1000, {.pasid = 128}).fault, fault_reason::pdir_access);
    mem.inject_error_range(pasid_entry + 3 * 64, 64);
    EXPECT_EQ(xl(0x1000, {.pasid = 3}).fault, fault_reason::pte_access);
}

class InvalidPasidEntry : public Translator, public ::testing::WithParamInterface<int> {};

TEST_P(InvalidPasidEntry, PgttEncodingsAreRejected) {
    setup_ss();
    pasid_opts o;
    o.ssptptr = ss_root;
    o.pgtt_raw = GetParam();
    tb.set_pasid(k_rid, 0, o);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_invalid);
}

INSTANTIATE_TEST_SUITE_P(Reserved, InvalidPasidEntry, ::testing::Values(0, 5, 6, 7));

TEST_F(Translator, UnsupportedPgttPerCapability) {
    cfg.fsts = false;
    setup_fs(4);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

TEST_F(Translator, FspmReservedEncoding) {
    pasid_opts o;
    setup_fs(4, o);
    o.pgtt = hw::pgtt::first_stage;
    o.fsptptr = fs.root;
    o.fspm = 2;
    tb.set_pasid(k_rid, 5, o);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

// ---------------------------------------------------------------- FPD

TEST_F(Translator, FpdSuppressesQualifiedFaultsOnly) {
    ss_root = tb.new_ss();
    context_opts c;
    c.fpd = true;
    tb.set_context(k_rid, c);
    pasid_opts o;
    o.ssptptr = ss_root;
    tb.set_pasid(k_rid, 0, o);
    build();
    auto r = xl(0x1000);
    EXPECT_EQ(r.fault, fault_reason::ss_perm);
    EXPECT_TRUE(r.suppressed);
    mem.inject_error_range(tb.pasid_dir_entry_addr(k_rid, 64), 8);
    auto a = xl(0x1000, {.pasid = 64});
    EXPECT_EQ(a.fault, fault_reason::pdir_access);
    EXPECT_FALSE(a.suppressed);  // PASID-directory access errors are never qualified
    auto s = tr->stats();
    EXPECT_EQ(s.faults, 2u);
    EXPECT_EQ(s.faults_suppressed, 1u);
}

TEST_F(Translator, PasidEntryFpd) {
    ss_root = tb.new_ss();
    tb.set_context(k_rid);
    pasid_opts o;
    o.ssptptr = ss_root;
    o.fpd = true;
    tb.set_pasid(k_rid, 0, o);
    build();
    EXPECT_TRUE(xl(0x1000).suppressed);
    EXPECT_FALSE(xl(0x1000, {.rid = k_rid + 1}).suppressed);  // context not present, no FPD seen
}

// ---------------------------------------------------------------- termination

TEST_F(Translator, SelfReferencingTablesTerminate) {
    setup_ss();
    // The SS root's entry 0 points at the root itself, at every level.
    tb.write64(ss_root, k_rw | sp::addr::make(ss_root >> 12));
    build();
    auto r = xl(0x0);
    // Walk reads the same entry 4 times and uses it as a 4 KiB leaf mapping GPA 0 -> the root page.
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.out_addr, ss_root);
    EXPECT_EQ(r.walk_accesses, 8u);
}

// ---------------------------------------------------------------- ATS

TEST_F(Translator, AtsTranslationReportsRights) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000, 1, sp::r::mask);
    build();
    auto r = xl(0x1000, {.write = true, .ats = true});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.out_addr, 0x11000u);
    EXPECT_TRUE(r.can_read);
    EXPECT_FALSE(r.can_write);
    EXPECT_EQ(tr->stats().faults, 0u);
}

// A translation request that meets a not-present entry (first stage P=0, second stage R=W=0) is
// answered with a translation granting nothing, as a missing right is: no fault, nothing cached.
TEST_F(Translator, AtsTranslationOfNotPresentEntryGrantsNothingWithoutFault) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    for (bool write : {false, true}) {
        auto r = xl(0x7000, {.write = write, .ats = true});  // SS leaf not present
        EXPECT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
        EXPECT_FALSE(r.can_read);
        EXPECT_FALSE(r.can_write);
        EXPECT_FALSE(r.suppressed);
        EXPECT_EQ(r.page_bytes, 4096u);
        auto far = xl(0x40'0000'0000, {.write = write, .ats = true});  // upper SS level not present
        EXPECT_TRUE(far.ok()) << std::hex << unsigned(far.fault);
        EXPECT_FALSE(far.can_read);
    }
    EXPECT_EQ(tr->stats().faults, 0u);
    EXPECT_EQ(tr->stats().ats_no_rights, 4u);
    EXPECT_EQ(tr->stats().iotlb_fills, 0u);
    // The same address as a DMA read is a fault.
    EXPECT_EQ(xl(0x7000).fault, fault_reason::ss_perm);
}

TEST_F(Translator, AtsTranslationOfNotPresentFirstStageEntryGrantsNothing) {
    setup_fs();
    tb.map_fs(fs, 0x2000, 0x12000);
    build();
    auto r = xl(0x5000, {.pasid = 5, .ats = true});
    EXPECT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_FALSE(r.can_read);
    EXPECT_FALSE(r.can_write);
    EXPECT_EQ(tr->stats().faults, 0u);
    EXPECT_EQ(xl(0x5000, {.pasid = 5}).fault, fault_reason::fs_not_present);
}

// Conditions that are not a missing translation stay faults for translation requests: an entry
// with reserved bits, a PASID entry that is not present, an unreadable table.
TEST_F(Translator, AtsTranslationOfBadStructuresStillFaults) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.map_ss(ss_root, 4, 0x80000000, 0x13000);
    tb.set_bits(tb.ss_entry_addr(ss_root, 4, 0x1000, 1), sp::tm::mask);
    build();
    EXPECT_EQ(xl(0x1000, {.ats = true}).fault, fault_reason::ss_reserved);
    mem.inject_error_range(tb.ss_entry_addr(ss_root, 4, 0x80000000, 2), 8);
    EXPECT_EQ(xl(0x80000000, {.ats = true}).fault, fault_reason::ss_access);
    EXPECT_EQ(xl(0x1000, {.pasid = 3, .ats = true}).fault, fault_reason::pte_not_present);
    EXPECT_EQ(tr->stats().ats_no_rights, 0u);
}

}  // namespace
}  // namespace iommusim::translator_test
