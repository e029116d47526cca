#include "tlm/translator.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <tuple>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_regs.h"
#include "tlm/iotlb.h"
#include "tlm/sparse_memory.h"
#include "tlm/table_builder_util.h"

namespace iommusim {
namespace {

using hw::fault_reason;
using test::context_opts;
using test::fs_space;
using test::pasid_opts;
using test::table_builder;
namespace fp = hw::fs_pte;
namespace sp = hw::ss_pte;
namespace pe = hw::pasid_entry;

// Lowest bit of a mask (a reserved bit taken from a layout's reserved mask).
constexpr uint64_t lowest_bit(uint64_t m) {
    return m & (~m + 1);
}

constexpr uint16_t k_rid = 0x0310;  // 03:02.0
constexpr uint64_t k_rw = sp::r::mask | sp::w::mask;
constexpr uint64_t k_fs_urw = fp::p::mask | fp::rw::mask | fp::us::mask;

// Requests are written with designated initializers naming only what differs from the default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

struct req_opts {
    std::optional<uint32_t> pasid;
    bool write = false;
    bool exec = false;
    bool priv = false;
    bool ats = false;
    uint16_t rid = k_rid;
};

class TranslatorTest : public ::testing::Test {
  protected:
    TranslatorTest() : tb(mem) {}

    void build() {
        tlb = std::make_unique<iotlb>(iotlb_geometry{cfg.iotlb_sets, cfg.iotlb_ways});
        tr = std::make_unique<translator>(cfg, mem, *tlb);
        tr->set_root(tb.rtaddr_value());
    }

    translation_result xl(uint64_t addr, const req_opts& o = {}) {
        translation_request r;
        r.rid = o.rid;
        r.has_pasid = o.pasid.has_value();
        r.pasid = o.pasid.value_or(0);
        r.addr = addr;
        r.write = o.write;
        r.exec = o.exec;
        r.priv = o.priv;
        r.ats_translation = o.ats;
        return tr->translate(r);
    }

    // Second-stage-only domain on RID_PASID 0 with 4-level tables.
    uint64_t setup_ss(unsigned aw = 2, uint16_t did = 1) {
        ss_root = tb.new_ss();
        tb.set_context(k_rid);
        pasid_opts o;
        o.pgtt = hw::pgtt::second_stage;
        o.aw = aw;
        o.did = did;
        o.ssptptr = ss_root;
        pasid_entry = tb.set_pasid(k_rid, 0, o);
        return ss_root;
    }

    // First-stage-only PASID 5.
    fs_space setup_fs(unsigned levels = 4, pasid_opts o = {}) {
        fs = tb.new_fs(levels);
        context_opts c;
        tb.set_context(k_rid, c);
        o.pgtt = hw::pgtt::first_stage;
        o.fsptptr = fs.root;
        o.fspm = levels == 5 ? 1 : 0;
        pasid_entry = tb.set_pasid(k_rid, 5, o);
        return fs;
    }

    // Nested PASID 5: FS tables in guest memory mapped by the SS.
    fs_space setup_nested(pasid_opts o = {}, unsigned fs_levels = 4) {
        ss_root = tb.new_ss();
        fs = tb.new_nested_fs(ss_root, 4, fs_levels);
        tb.set_context(k_rid);
        o.pgtt = hw::pgtt::nested;
        o.fsptptr = fs.root;
        o.ssptptr = ss_root;
        o.fspm = fs_levels == 5 ? 1 : 0;
        pasid_entry = tb.set_pasid(k_rid, 5, o);
        return fs;
    }

    iommu_config cfg;
    sparse_memory mem;
    table_builder tb;
    std::unique_ptr<iotlb> tlb;
    std::unique_ptr<translator> tr;
    uint64_t ss_root = 0;
    uint64_t pasid_entry = 0;
    fs_space fs;
};

// ---------------------------------------------------------------- second stage

TEST_F(TranslatorTest, SecondStageWalkThenIotlbHit) {
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

class SecondStageLevels : public TranslatorTest, public ::testing::WithParamInterface<unsigned> {};

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

TEST_F(TranslatorTest, SecondStageAwNotInSagawIsInvalidPasidEntry) {
    cfg.sagaw_57 = false;
    setup_ss(3);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_invalid);
}

TEST_F(TranslatorTest, SecondStageAddressBeyondMgaw) {
    cfg.mgaw = 39;  // 4-level tables but MGAW 39
    setup_ss(2);
    build();
    EXPECT_EQ(xl(uint64_t{1} << 39).fault, fault_reason::gn_addr_beyond_max);
    EXPECT_EQ(xl((uint64_t{1} << 39) - 4096).fault, fault_reason::ss_perm);  // in range, not mapped
}

class SecondStageLargePages : public TranslatorTest,
                              public ::testing::WithParamInterface<std::tuple<unsigned, bool>> {};

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

TEST_F(TranslatorTest, SecondStageLargePageReservedLowBits) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x200000, 0x400000, 2);
    tb.set_bits(tb.ss_entry_addr(ss_root, 4, 0x200000, 2), lowest_bit(sp::large_2m_reserved));
    build();
    EXPECT_EQ(xl(0x200000).fault, fault_reason::ss_reserved);
}

TEST_F(TranslatorTest, SecondStagePermissions) {
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

TEST_F(TranslatorTest, SecondStageReservedAndAccessFaults) {
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

TEST_F(TranslatorTest, SecondStageSnpBitIsIgnored) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000, 1, k_rw | sp::snp::mask);
    build();
    EXPECT_TRUE(xl(0x1000).ok());
}

TEST_F(TranslatorTest, InvalidSecondStagePointer) {
    setup_ss();
    pasid_opts o;
    cfg.haw = 48;
    o.ssptptr = uint64_t{1} << 50;  // an address at or above HAW
    tb.set_pasid(k_rid, 0, o);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::ss_invalid_ptr);
}

// ---------------------------------------------------------------- first stage

class FirstStageShapes
    : public TranslatorTest,
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

TEST_F(TranslatorTest, FirstStageCanonicalCheck) {
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

TEST_F(TranslatorTest, FirstStageOneGigNeedsFs1gp) {
    cfg.fs1gp = false;
    setup_fs(4);
    tb.map_fs(fs, 0x4000'0000, 0x8000'0000, 3);
    tb.map_fs(fs, 0x20'0000, 0x40'0000, 2);
    build();
    EXPECT_EQ(xl(0x4000'0000, {.pasid = 5}).fault, fault_reason::fs_reserved);
    EXPECT_TRUE(xl(0x20'0000, {.pasid = 5}).ok());
}

TEST_F(TranslatorTest, FirstStageFiveLevelNeedsFs5lp) {
    cfg.fs5lp = false;
    setup_fs(5);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

TEST_F(TranslatorTest, FirstStageReservedBits) {
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

TEST_F(TranslatorTest, FirstStageNotPresentAndAccessErrors) {
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

TEST_F(TranslatorTest, FirstStageRootPointerBeyondHaw) {
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

class FirstStageRights : public TranslatorTest, public ::testing::WithParamInterface<rights_case> {};

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

TEST_F(TranslatorTest, SupervisorAndExecuteNeedSreAndEre) {
    setup_fs(4);  // SRE = ERE = 0
    tb.map_fs(fs, 0x7000, 0x17000);
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5, .priv = true}).fault, fault_reason::pte_sre_clear);
    EXPECT_EQ(xl(0x7000, {.pasid = 5, .exec = true}).fault, fault_reason::pte_ere_clear);
    EXPECT_TRUE(xl(0x7000, {.pasid = 5}).ok());
}

TEST_F(TranslatorTest, UserRightsAreAndedDownTheWalk) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000, 1, k_fs_urw, fp::p::mask | fp::rw::mask);  // non-leaf U/S = 0
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5}).fault, fault_reason::gn_user_denied);
}

// ---------------------------------------------------------------- A/D flags (§5.3)

TEST_F(TranslatorTest, AccessedOnEveryLevelDirtyOnlyOnWrite) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000);
    build();
    ASSERT_TRUE(xl(0x7000, {.pasid = 5}).ok());
    for (unsigned l = 4; l >= 1; --l) {
        const uint64_t e = tb.read64(tb.fs_entry_addr(fs, 0x7000, l));
        EXPECT_TRUE(fp::a::get(e)) << "level " << l;
        EXPECT_FALSE(fp::d::get(e)) << "level " << l;
        EXPECT_FALSE(fp::ea::get(e));
    }
    auto w = xl(0x7000, {.pasid = 5, .write = true});  // hit without D: re-walk sets D
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w.iotlb_hit);
    EXPECT_TRUE(fp::d::get(tb.read64(tb.fs_entry_addr(fs, 0x7000, 1))));
    EXPECT_FALSE(fp::d::get(tb.read64(tb.fs_entry_addr(fs, 0x7000, 2))));
    EXPECT_EQ(tr->stats().dirty_rewalks, 1u);
    auto w2 = xl(0x7000, {.pasid = 5, .write = true});
    EXPECT_TRUE(w2.iotlb_hit);
    EXPECT_TRUE(w2.can_write);
}

TEST_F(TranslatorTest, DeniedWriteSetsNoDirtyFlag) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000, 1, fp::p::mask | fp::us::mask);
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5, .write = true}).fault, fault_reason::gn_write_denied);
    EXPECT_FALSE(fp::d::get(tb.read64(tb.fs_entry_addr(fs, 0x7000, 1))));
}

TEST_F(TranslatorTest, ExtendedAccessedWithEafe) {
    pasid_opts o;
    o.eafe = true;
    setup_fs(4, o);
    tb.map_fs(fs, 0x7000, 0x17000);
    build();
    ASSERT_TRUE(xl(0x7000, {.pasid = 5}).ok());
    for (unsigned l = 4; l >= 1; --l)
        EXPECT_TRUE(fp::ea::get(tb.read64(tb.fs_entry_addr(fs, 0x7000, l))));
}

TEST_F(TranslatorTest, EafeWithoutEafsIsInvalid) {
    cfg.eafs = false;
    pasid_opts o;
    o.eafe = true;
    setup_fs(4, o);
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

TEST_F(TranslatorTest, FlagsAlreadySetNeedNoUpdate) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000);
    build();
    for (unsigned l = 4; l >= 1; --l)
        tb.set_bits(tb.fs_entry_addr(fs, 0x7000, l), fp::a::mask | fp::d::mask);
    auto r = xl(0x7000, {.pasid = 5, .write = true});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.walk_accesses, 4u + 4u);  // no A/D update accesses
}

// A memory that fails every cmpxchg64: A/D updates cannot be made (SFL.10).
class no_cas_memory : public phys_mem_if {
  public:
    explicit no_cas_memory(sparse_memory& m) : m_mem(m) {}
    bool read(uint64_t pa, void* dst, std::size_t len) override { return m_mem.read(pa, dst, len); }
    bool write(uint64_t pa, const void* src, std::size_t len) override { return m_mem.write(pa, src, len); }
    bool cmpxchg64(uint64_t, uint64_t, uint64_t, uint64_t&) override { return false; }

  private:
    sparse_memory& m_mem;
};

TEST_F(TranslatorTest, AdUpdateWriteErrorIsSfl10) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000);
    no_cas_memory nc(mem);
    iotlb t({16, 4});
    translator x(cfg, nc, t);
    x.set_root(tb.rtaddr_value());
    translation_request rq;
    rq.rid = k_rid;
    rq.has_pasid = true;
    rq.pasid = 5;
    rq.addr = 0x7000;
    EXPECT_EQ(x.translate(rq).fault, fault_reason::fs_ad_update_failed);
}

TEST_F(TranslatorTest, SecondStageAccessedDirtyWithSsade) {
    cfg.ssads = true;
    ss_root = tb.new_ss();
    tb.set_context(k_rid);
    pasid_opts o;
    o.ssptptr = ss_root;
    o.ssade = true;
    tb.set_pasid(k_rid, 0, o);
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    EXPECT_TRUE(sp::a::get(tb.read64(tb.ss_entry_addr(ss_root, 4, 0x1000, 1))));
    EXPECT_TRUE(sp::a::get(tb.read64(tb.ss_entry_addr(ss_root, 4, 0x1000, 4))));
    EXPECT_FALSE(sp::d::get(tb.read64(tb.ss_entry_addr(ss_root, 4, 0x1000, 1))));
    auto w = xl(0x1000, {.write = true});
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w.iotlb_hit);  // no D in the cached entry: re-walk
    EXPECT_TRUE(sp::d::get(tb.read64(tb.ss_entry_addr(ss_root, 4, 0x1000, 1))));
}

TEST_F(TranslatorTest, SsadeWithoutSsadsIsInvalid) {
    cfg.ssads = false;
    ss_root = tb.new_ss();
    tb.set_context(k_rid);
    pasid_opts o;
    o.ssptptr = ss_root;
    o.ssade = true;
    tb.set_pasid(k_rid, 0, o);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_invalid);
}

// ---------------------------------------------------------------- nested (§5.5)

TEST_F(TranslatorTest, NestedFourByFourWalk) {
    cfg.psc_enable = false;
    setup_nested();
    tb.map_fs(fs, 0x7f00'0000'1000, 0x9000'0000);       // GVA -> GPA
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);  // GPA -> HPA
    // Pre-set A on every FS entry so the count is the pure walk.
    for (unsigned l = 4; l >= 1; --l)
        tb.set_bits(tb.fs_entry_addr(fs, 0x7f00'0000'1000, l), fp::a::mask);
    build();
    auto r = xl(0x7f00'0000'1234, {.pasid = 5});
    ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
    EXPECT_EQ(r.out_addr, 0x5'0000'0234u);
    EXPECT_EQ(r.kind, translation_kind::nested);
    EXPECT_EQ(r.walk_accesses, 4u + 24u);  // 5 SS walks x 4 + 4 FS reads
    EXPECT_TRUE(xl(0x7f00'0000'1000, {.pasid = 5}).iotlb_hit);
}

TEST_F(TranslatorTest, NestedPageSizeIsTheSmallerStage) {
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

TEST_F(TranslatorTest, NestedSecondStageReadOnFsEntries) {
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

TEST_F(TranslatorTest, NestedAdUpdateNeedsSecondStageWrite) {
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

TEST_F(TranslatorTest, NestedFinalGpaChecks) {
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

TEST_F(TranslatorTest, NestedExecuteNeedsSecondStageXWithSsee) {
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

TEST_F(TranslatorTest, NestedFsTableBeyondMgawAndRootAccess) {
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

TEST_F(TranslatorTest, NestedRequiresNestCapability) {
    cfg.nest = false;
    setup_nested();
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

class NestedShapes
    : public TranslatorTest,
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

TEST_F(TranslatorTest, DevicesSharingADomainShareIotlbEntries) {
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

TEST_F(TranslatorTest, PassThroughForRequestsWithPasid) {
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

// ---------------------------------------------------------------- pass-through and interrupt range

TEST_F(TranslatorTest, PassThroughIdentityWithLargePages) {
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

TEST_F(TranslatorTest, PassThroughRequiresPtCapability) {
    cfg.pt = false;
    tb.set_context(k_rid);
    pasid_opts o;
    o.pgtt = hw::pgtt::pass_through;
    tb.set_pasid(k_rid, 0, o);
    build();
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_invalid);
}

TEST_F(TranslatorTest, SecondStageOutputInInterruptRange) {
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

// ---------------------------------------------------------------- root / context / PASID faults

TEST_F(TranslatorTest, RootFaults) {
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

TEST_F(TranslatorTest, ContextFaults) {
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

TEST_F(TranslatorTest, ContextRequestChecks) {
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

TEST_F(TranslatorTest, RidPasidSelectsThePasidEntryOfRequestsWithoutPasid) {
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

TEST_F(TranslatorTest, PasidDirectoryAndEntryFaults) {
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

class InvalidPasidEntry : public TranslatorTest, public ::testing::WithParamInterface<int> {};

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

TEST_F(TranslatorTest, UnsupportedPgttPerCapability) {
    cfg.fsts = false;
    setup_fs(4);
    build();
    EXPECT_EQ(xl(0x1000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

TEST_F(TranslatorTest, FspmReservedEncoding) {
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

TEST_F(TranslatorTest, FpdSuppressesQualifiedFaultsOnly) {
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

TEST_F(TranslatorTest, PasidEntryFpd) {
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

TEST_F(TranslatorTest, SelfReferencingTablesTerminate) {
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

TEST_F(TranslatorTest, AtsTranslationReportsRights) {
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
TEST_F(TranslatorTest, AtsTranslationOfNotPresentEntryGrantsNothingWithoutFault) {
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

TEST_F(TranslatorTest, AtsTranslationOfNotPresentFirstStageEntryGrantsNothing) {
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
TEST_F(TranslatorTest, AtsTranslationOfBadStructuresStillFaults) {
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

// ---------------------------------------------------------------- invalidation scopes

TEST_F(TranslatorTest, IotlbDomainRangeDropsSecondStageAndKeepsOthers) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.map_ss(ss_root, 4, 0x9000, 0x19000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    ASSERT_TRUE(xl(0x9000).ok());
    tb.map_ss(ss_root, 4, 0x1000, 0x21000);    // remap, then invalidate 0x0000..0x3fff
    EXPECT_EQ(xl(0x1000).out_addr, 0x11000u);  // still cached: no invalidation yet
    EXPECT_GE(
        tr->invalidate(
            {.kind = scope_kind::iotlb_domain_range, .did = 1, .range = page_range::of_address(0x0, 2), .ih = true}),
        1u);
    auto r = xl(0x1000);
    EXPECT_FALSE(r.iotlb_hit);
    EXPECT_EQ(r.out_addr, 0x21000u);
    EXPECT_TRUE(xl(0x9000).iotlb_hit);
    EXPECT_EQ(
        tr->invalidate(
            {.kind = scope_kind::iotlb_domain_range, .did = 2, .range = page_range::of_address(0x0, 20), .ih = false}),
        0u);  // other domain
    EXPECT_TRUE(xl(0x9000).iotlb_hit);
}

TEST_F(TranslatorTest, PscKeptWithInvalidationHint) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::second), 3u);  // PML4E, PDPE, PDE
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .range = page_range::of_address(0x1000, 0), .ih = true});
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::second), 3u);
    auto r = xl(0x1000);
    EXPECT_EQ(r.walk_accesses, 1u);  // PSC gives the page table: one leaf read
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .range = page_range::of_address(0x1000, 0), .ih = false});
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::second), 0u);
    EXPECT_EQ(xl(0x1000).walk_accesses, 4u);
}

TEST_F(TranslatorTest, PasidRangeScopeOnFirstStage) {
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    tb.map_fs(fs, 0x40'0000'0000, 0x12000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    ASSERT_TRUE(xl(0x40'0000'0000, {.pasid = 5}).ok());
    const unsigned fs_psc = tr->psc().size(paging_structure_cache::stage::first);
    EXPECT_EQ(fs_psc, 5u);  // shared PML4E + 2 x (PDPE, PDE)
    // IH=1: the leaf goes, the PSC stays.
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 5,
                              .range = page_range::of_address(0x1000, 0),
                              .ih = true}),
              1u);
    EXPECT_FALSE(xl(0x1000, {.pasid = 5}).iotlb_hit);
    EXPECT_TRUE(xl(0x40'0000'0000, {.pasid = 5}).iotlb_hit);
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 5u);
    // IH=0: the PSC entries covering the range go too (PML4E shared, PDPE, PDE of 0x1000).
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 5,
                              .range = page_range::of_address(0x1000, 0),
                              .ih = false}),
              1u + 3u);
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 2u);
    // Type-6 PSI on another PASID or domain drops nothing.
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 6,
                              .range = page_range::of_address(0x40'0000'0000, 0),
                              .ih = false}),
              0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 2,
                              .pasid = 5,
                              .range = page_range::of_address(0x40'0000'0000, 0),
                              .ih = false}),
              0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid, .did = 1, .pasid = 5}), 1u + 2u);
}

TEST_F(TranslatorTest, PasidRangeScopeOnUpperHalfAddresses) {
    setup_fs(4);
    const uint64_t va = 0xffff'8000'0000'1000;
    tb.map_fs(fs, va, 0x11000);
    build();
    ASSERT_TRUE(xl(va, {.pasid = 5}).ok());
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 3u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                              .did = 1,
                              .pasid = 5,
                              .range = page_range::of_address(va, 0),
                              .ih = false}),
              1u + 3u);
    EXPECT_EQ(tr->psc().size(paging_structure_cache::stage::first), 0u);
}

TEST_F(TranslatorTest, DomainAndGlobalScopes) {
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 2}), 0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 1}), 1u + 3u);
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::iotlb_all}), 1u + 3u);
    EXPECT_FALSE(xl(0x1000, {.pasid = 5}).iotlb_hit);
}

TEST_F(TranslatorTest, ContextAndPasidCacheScopes) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.set_context(k_rid + 1);
    pasid_opts o;
    o.ssptptr = ss_root;
    o.did = 2;
    tb.set_pasid(k_rid + 1, 0, o);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    ASSERT_TRUE(xl(0x1000, {.rid = k_rid + 1}).ok());
    EXPECT_EQ(tr->ctx_cache().size(), 2u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid + 4, .fm = 0}), 0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid + 4, .fm = 1}),
              1u);  // FM=1 ignores SID bit 2: hits k_rid
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_device, .sid = k_rid + 1, .fm = 3}), 1u);
    EXPECT_EQ(tr->pasid_entry_cache().size(), 2u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 1, .pasid = 1}), 0u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 1, .pasid = 0}), 1u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_domain, .did = 2}), 1u);
    ASSERT_TRUE(xl(0x1000).ok());
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::pasid_cache_all}), 1u);
    EXPECT_EQ(tr->invalidate({.kind = scope_kind::context_all}), 1u);
}

TEST_F(TranslatorTest, CachedPasidEntryIsUsedUntilInvalidated) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tb.clear_bits(pasid_entry, pe::p::mask);
    tr->invalidate({.kind = scope_kind::iotlb_all});
    EXPECT_TRUE(xl(0x1000).ok());  // the PASID cache still holds the entry
    tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 1, .pasid = 0});
    EXPECT_EQ(xl(0x1000).fault, fault_reason::pte_not_present);
}

TEST_F(TranslatorTest, ObserversSeeEveryScope) {
    setup_ss();
    build();
    std::vector<invalidation_scope> seen;
    tr->on_invalidate([&](const invalidation_scope& s) { seen.push_back(s); });
    tr->invalidate({.kind = scope_kind::context_all});
    tr->invalidate({.kind = scope_kind::context_device, .sid = 0x10, .fm = 2});
    tr->invalidate({.kind = scope_kind::pasid_cache_all});
    tr->invalidate({.kind = scope_kind::pasid_cache_domain, .did = 3});
    tr->invalidate({.kind = scope_kind::pasid_cache_pasid, .did = 3, .pasid = 4});
    tr->invalidate({.kind = scope_kind::iotlb_all});
    tr->invalidate({.kind = scope_kind::iotlb_domain, .did = 3});
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 3, .range = page_range::of_address(0x10000, 4), .ih = true});
    tr->invalidate({.kind = scope_kind::iotlb_pasid, .did = 3, .pasid = 4});
    tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                    .did = 3,
                    .pasid = 4,
                    .range = page_range::of_address(0x20000, 1),
                    .ih = false});
    ASSERT_EQ(seen.size(), 10u);
    EXPECT_EQ(seen[1].kind, scope_kind::context_device);
    EXPECT_EQ(seen[1].fm, 2u);
    EXPECT_EQ(seen[7].kind, scope_kind::iotlb_domain_range);
    EXPECT_TRUE(seen[7].ih);
    EXPECT_EQ(seen[7].range.am(), 4u);
    // covers(): second-stage range vs first-stage any address.
    EXPECT_TRUE(seen[7].covers(0, 3, 0, translation_kind::second_stage, 0x1f000, 0x1000));
    EXPECT_FALSE(seen[7].covers(0, 3, 0, translation_kind::second_stage, 0x20000, 0x1000));
    EXPECT_TRUE(seen[7].covers(0, 3, 9, translation_kind::nested, 0x9990000, 0x1000));
    EXPECT_FALSE(seen[7].covers(0, 4, 0, translation_kind::second_stage, 0x1f000, 0x1000));
    EXPECT_TRUE(seen[9].covers(0, 3, 4, translation_kind::first_stage, 0x21000, 0x1000));
    EXPECT_FALSE(seen[9].covers(0, 3, 4, translation_kind::first_stage, 0x22000, 0x1000));
    EXPECT_FALSE(seen[9].covers(0, 3, 4, translation_kind::second_stage, 0x21000, 0x1000));
    invalidation_scope hi = seen[9];
    hi.range = page_range::of_address(0xffff'8000'0000'0000, 0);
    EXPECT_TRUE(hi.covers(0, 3, 4, translation_kind::first_stage, 0xffff'8000'0000'0000, 0x1000));
    EXPECT_FALSE(hi.covers(0, 3, 4, translation_kind::first_stage, 0xffff'8000'0000'1000, 0x1000));
    EXPECT_TRUE(seen[1].covers(0x16, 0, 0, translation_kind::second_stage, 0, 1));  // FM=2 ignores bits 2:1
    EXPECT_FALSE(seen[1].covers(0x11, 0, 0, translation_kind::second_stage, 0, 1));
}

TEST_F(TranslatorTest, SrtpWithEsrtpsFlushesCaches) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tr->set_root(tb.rtaddr_value());
    EXPECT_FALSE(xl(0x1000).iotlb_hit);
}

// ---------------------------------------------------------------- stale checker

TEST_F(TranslatorTest, StaleCheckerReportsMissingInvalidation) {
    cfg.stale_check = true;
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    tb.map_ss(ss_root, 4, 0x2000, 0x12000);
    tb.map_ss(ss_root, 4, 0x3000, 0x13000);
    build();
    for (uint64_t a : {0x1000, 0x2000, 0x3000})
        ASSERT_TRUE(xl(a).ok());
    EXPECT_FALSE(xl(0x1000).stale);
    // Remap without invalidation: the hit still gives the old page.
    tb.map_ss(ss_root, 4, 0x1000, 0x21000);
    auto r = xl(0x1008);
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_TRUE(r.stale);
    EXPECT_EQ(r.out_addr, 0x11008u);
    // Permission reduction without invalidation.
    tb.map_ss(ss_root, 4, 0x2000, 0x12000, 1, sp::r::mask);
    EXPECT_TRUE(xl(0x2000).stale);
    // Unmap without invalidation.
    tb.write64(tb.ss_entry_addr(ss_root, 4, 0x3000, 1), 0);
    EXPECT_TRUE(xl(0x3000).stale);
    ASSERT_EQ(tr->stale_reports().size(), 3u);
    const stale_report& s0 = tr->stale_reports()[0];
    EXPECT_EQ(s0.rid, k_rid);
    EXPECT_EQ(s0.addr, 0x1008u);
    EXPECT_EQ(s0.cached_out, 0x11008u);
    EXPECT_EQ(s0.current_out, 0x21008u);
    EXPECT_EQ(tr->stale_reports()[2].current_fault, fault_reason::ss_perm);
    EXPECT_EQ(tr->stats().stale_hits, 3u);
    // After the invalidation the translation is fresh.
    tr->invalidate(
        {.kind = scope_kind::iotlb_domain_range, .did = 1, .range = page_range::of_address(0x1000, 0), .ih = true});
    auto f = xl(0x1000);
    EXPECT_FALSE(f.stale);
    EXPECT_EQ(f.out_addr, 0x21000u);
    EXPECT_FALSE(xl(0x1000).stale);
}

TEST_F(TranslatorTest, StaleCheckerSeesSecondStageChangesUnderNesting) {
    cfg.stale_check = true;
    setup_nested();
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x5'0000'0000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    EXPECT_FALSE(xl(0x1000, {.pasid = 5}).stale);
    tb.map_ss(ss_root, 4, 0x9000'0000, 0x6'0000'0000);  // host remaps the GPA, no invalidation
    auto r = xl(0x1000, {.pasid = 5});
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_TRUE(r.stale);
    ASSERT_EQ(tr->stale_reports().size(), 1u);
    EXPECT_EQ(tr->stale_reports()[0].current_out, 0x6'0000'0000u);
    EXPECT_EQ(tr->stale_reports()[0].kind, translation_kind::nested);
    // A type-2 page-selective invalidation of the GPA drops every nested entry of the domain.
    tr->invalidate({.kind = scope_kind::iotlb_domain_range,
                    .did = 1,
                    .range = page_range::of_address(0x9000'0000, 0),
                    .ih = false});
    auto f = xl(0x1000, {.pasid = 5});
    EXPECT_FALSE(f.iotlb_hit);
    EXPECT_EQ(f.out_addr, 0x6'0000'0000u);
}

TEST_F(TranslatorTest, StaleCheckerHasNoSideEffects) {
    cfg.stale_check = true;
    setup_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000, {.pasid = 5}).ok());
    tb.clear_bits(tb.fs_entry_addr(fs, 0x1000, 1), fp::a::mask);  // software clears A, no invalidation
    auto r = xl(0x1000, {.pasid = 5});
    EXPECT_TRUE(r.iotlb_hit);
    EXPECT_FALSE(r.stale);  // same page and rights
    EXPECT_FALSE(fp::a::get(tb.read64(tb.fs_entry_addr(fs, 0x1000, 1))));
}

TEST_F(TranslatorTest, StaleCheckerOffByDefault) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    ASSERT_TRUE(xl(0x1000).ok());
    tb.map_ss(ss_root, 4, 0x1000, 0x21000);
    EXPECT_FALSE(xl(0x1000).stale);
    EXPECT_EQ(tr->stats().stale_checks, 0u);
}

// Random remaps with the invalidation software owes (docs/vtd-facts.md §6.7): every translation must
// match a reference map and the stale checker must stay silent; dropping the invalidation makes
// it fire.
class RandomRemaps : public TranslatorTest,
                     public ::testing::WithParamInterface<std::tuple<bool /*fs*/, bool /*inv*/>> {};

TEST_P(RandomRemaps, CachesFollowTheTables) {
    const auto [first_stage, invalidate] = GetParam();
    cfg.stale_check = true;
    cfg.iotlb_sets = 4;  // small: evictions and refills happen too
    cfg.iotlb_ways = 2;
    if (first_stage)
        setup_fs(4);
    else
        setup_ss();
    std::mt19937_64 rng(first_stage ? 11 : 22);
    std::map<uint64_t, uint64_t> ref;                                              // input page -> output page
    auto page_of = [&](unsigned i) { return uint64_t{i} << (12 + 3 * (i % 4)); };  // spread over tables
    auto map = [&](uint64_t in, uint64_t out) {
        if (first_stage)
            tb.map_fs(fs, in, out);
        else
            tb.map_ss(ss_root, 4, in, out);
        ref[in] = out;
    };
    for (unsigned i = 1; i <= 32; ++i)
        map(page_of(i), 0x10'0000'0000 + uint64_t{i} * 4096);
    build();
    unsigned checked = 0;
    for (unsigned step = 0; step < 3000; ++step) {
        const uint64_t in = page_of(1 + static_cast<unsigned>(rng() % 32));
        if (rng() % 5 == 0) {
            map(in, 0x20'0000'0000 + (rng() % 4096) * 4096);
            if (invalidate) {
                if (first_stage)
                    tr->invalidate({.kind = scope_kind::iotlb_pasid_range,
                                    .did = 1,
                                    .pasid = 5,
                                    .range = page_range::of_address(in, 0),
                                    .ih = true});
                else
                    tr->invalidate({.kind = scope_kind::iotlb_domain_range,
                                    .did = 1,
                                    .range = page_range::of_address(in, 0),
                                    .ih = true});
            }
            continue;
        }
        const bool write = rng() % 2;
        auto r = first_stage ? xl(in + 8, {.pasid = 5, .write = write}) : xl(in + 8, {.write = write});
        ASSERT_TRUE(r.ok()) << std::hex << unsigned(r.fault);
        if (invalidate) {
            ASSERT_EQ(r.out_addr, ref[in] + 8) << "step " << step;
            ASSERT_FALSE(r.stale);
            ++checked;
        }
    }
    if (invalidate) {
        EXPECT_GT(checked, 2000u);
        EXPECT_EQ(tr->stats().stale_hits, 0u);
        EXPECT_GT(tr->stats().iotlb_hits, 100u);
    } else {
        EXPECT_GT(tr->stats().stale_hits, 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(Stages, RandomRemaps, ::testing::Combine(::testing::Bool(), ::testing::Bool()));

// ---------------------------------------------------------------- statistics

TEST_F(TranslatorTest, StatisticsJson) {
    setup_ss();
    tb.map_ss(ss_root, 4, 0x1000, 0x11000);
    build();
    xl(0x1000);
    xl(0x1000);
    xl(0x5000);
    const std::string j = tr->stats().to_json();
    EXPECT_NE(j.find("\"translations\": 3"), std::string::npos) << j;
    EXPECT_NE(j.find("\"iotlb_hits\": 1"), std::string::npos) << j;
    EXPECT_NE(j.find("\"faults_by_reason\": {\"0x79\": 1}"), std::string::npos) << j;
    EXPECT_EQ(j.front(), '{');
    EXPECT_EQ(j.back(), '}');
    tr->reset_stats();
    EXPECT_EQ(tr->stats().translations, 0u);
}

TEST(TranslatorConfig, RejectsInvalidConfiguration) {
    iommu_config c;
    c.iotlb_sets = 3;
    sparse_memory m;
    iotlb t({16, 4});
    EXPECT_THROW(translator(c, m, t), std::invalid_argument);
    iommu_config d;
    EXPECT_EQ(d.validate(), "");
    d.mgaw = 30;
    EXPECT_NE(d.validate().find("mgaw"), std::string::npos);
}

// Page-request drain exists only with page requests, the device-TLB invalidation throttle only with
// device TLBs: the default unit reports neither PDS nor PRS, and a configuration asking for one
// without the other is refused with a message naming it.
TEST(TranslatorConfig, PdsNeedsPrsAndDitNeedsDt) {
    const iommu_config defaults;
    EXPECT_FALSE(defaults.pds);
    EXPECT_FALSE(defaults.prs);
    iommu_config c;
    c.pds = true;
    EXPECT_NE(c.validate().find("pds=true with prs=false"), std::string::npos) << c.validate();
    c.prs = true;
    EXPECT_EQ(c.validate(), "");
    iommu_config d;
    d.dit = true;
    d.dt = false;
    EXPECT_NE(d.validate().find("dit=true with dt=false"), std::string::npos) << d.validate();
    d.dt = true;
    EXPECT_EQ(d.validate(), "");
}

}  // namespace
}  // namespace iommusim
