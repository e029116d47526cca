#include "tlm/page_walker.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_regs.h"
#include "tlm/sparse_memory.h"
#include "tlm/table_builder_util.h"

namespace iommusim {
namespace {

using hw::fault_reason;
namespace fp = hw::fs_pte;
namespace sp = hw::ss_pte;

pasid_info fs_pasid(uint64_t root, unsigned levels = 4) {
    pasid_info p;
    p.pasid = 5;
    p.did = 1;
    p.kind = translation_kind::first_stage;
    p.fs_levels = levels;
    p.fsptptr = root;
    return p;
}

pasid_info ss_pasid(uint64_t root, unsigned levels = 4) {
    pasid_info p;
    p.did = 1;
    p.kind = translation_kind::second_stage;
    p.ss_levels = levels;
    p.ssptptr = root;
    return p;
}

class PageWalker : public ::testing::Test {
  protected:
    PageWalker() : tb(mem), psc(16, 16), walker(cfg, mem, &psc) {}
    iommu_config cfg;
    sparse_memory mem;
    test::table_builder tb;
    paging_structure_cache psc;
    page_walker walker;
};

TEST_F(PageWalker, CheckRoot) {
    namespace ra = hw::rtaddr;
    const uint64_t base = ra::rta::make(0x1234);
    EXPECT_EQ(walker.check_root(base | ra::ttm::make(1), false, false), fault_reason::rta_invalid);
    EXPECT_EQ(walker.check_root(base | ra::ttm::make(1), true, true), fault_reason::none);
    EXPECT_EQ(walker.check_root(base | ra::ttm::make(0), true, true), fault_reason::rta_legacy_with_pasid);
    EXPECT_EQ(walker.check_root(base | ra::ttm::make(0), true, false), fault_reason::rta_invalid);
    EXPECT_EQ(walker.check_root(base | ra::ttm::make(2), true, false), fault_reason::rta_invalid);
    EXPECT_EQ(walker.check_root(base | ra::ttm::make(3), true, false), fault_reason::rta_invalid);
}

TEST_F(PageWalker, CheckInputWidths) {
    EXPECT_EQ(walker.check_input(fs_pasid(0, 4), 0x0000'7fff'ffff'f000), fault_reason::none);
    EXPECT_EQ(walker.check_input(fs_pasid(0, 4), 0xffff'8000'0000'0000), fault_reason::none);
    EXPECT_EQ(walker.check_input(fs_pasid(0, 4), 0x0000'8000'0000'0000), fault_reason::gn_not_canonical);
    EXPECT_EQ(walker.check_input(fs_pasid(0, 5), 0x0000'8000'0000'0000), fault_reason::none);
    EXPECT_EQ(walker.check_input(fs_pasid(0, 5), 0x0100'0000'0000'0000), fault_reason::gn_not_canonical);
    EXPECT_EQ(walker.check_input(fs_pasid(0, 5), 0xff00'0000'0000'0000), fault_reason::none);
    EXPECT_EQ(walker.check_input(ss_pasid(0, 3), (uint64_t{1} << 39) - 1), fault_reason::none);
    EXPECT_EQ(walker.check_input(ss_pasid(0, 3), uint64_t{1} << 39), fault_reason::gn_addr_beyond_max);
    EXPECT_EQ(walker.check_input(ss_pasid(0, 5), uint64_t{1} << 48), fault_reason::gn_addr_beyond_max);  // MGAW
}

TEST_F(PageWalker, SecondStageRightsMatrix) {
    pasid_info p = ss_pasid(0);
    namespace pm = iotlb_perm;
    const uint8_t base = pm::fs_rw | pm::fs_us;
    const access_type rd{false, false, false}, wr{true, false, false}, ex{false, true, false};
    EXPECT_EQ(page_walker::check_rights(p, base | pm::ss_r, rd), fault_reason::none);
    EXPECT_EQ(page_walker::check_rights(p, base | pm::ss_w, rd), fault_reason::gn_read_denied);
    EXPECT_EQ(page_walker::check_rights(p, base | pm::ss_r, wr), fault_reason::gn_write_denied);
    EXPECT_EQ(page_walker::check_rights(p, base | pm::ss_r, ex), fault_reason::none);  // X ignored without SSEE
    p.ssee = true;
    EXPECT_EQ(page_walker::check_rights(p, base | pm::ss_r, ex), fault_reason::gn_exec_denied);
    EXPECT_EQ(page_walker::check_rights(p, base | pm::ss_r | pm::ss_x, ex), fault_reason::none);
    EXPECT_EQ(page_walker::check_rights(p, base | pm::ss_x, ex), fault_reason::gn_read_denied);
}

TEST_F(PageWalker, RightsNeededByReadsAndWrites) {
    namespace pm = iotlb_perm;
    pasid_info fs = fs_pasid(0);
    EXPECT_EQ(page_walker::rights_needed(fs, false, false), pm::fs_us);
    EXPECT_EQ(page_walker::rights_needed(fs, true, false), pm::fs_us | pm::fs_rw);
    EXPECT_EQ(page_walker::rights_needed(fs, false, true), 0);
    EXPECT_EQ(page_walker::rights_needed(fs, true, true), 0);  // a supervisor write ignores R/W without WPE
    fs.wpe = true;
    EXPECT_EQ(page_walker::rights_needed(fs, true, true), pm::fs_rw);
    const pasid_info ss = ss_pasid(0);
    EXPECT_EQ(page_walker::rights_needed(ss, false, false), pm::ss_r);
    EXPECT_EQ(page_walker::rights_needed(ss, true, true), pm::ss_w);
    pasid_info nested = fs_pasid(0);
    nested.kind = translation_kind::nested;
    EXPECT_EQ(page_walker::rights_needed(nested, true, false), pm::fs_us | pm::fs_rw | pm::ss_w);
    pasid_info pt = ss_pasid(0);
    pt.kind = translation_kind::pass_through;
    EXPECT_EQ(page_walker::rights_needed(pt, true, false), 0);
    // Every permission byte: the bits needed are exactly what check_rights asks of a read or write.
    for (const translation_kind kind : {translation_kind::first_stage, translation_kind::second_stage,
                                        translation_kind::nested, translation_kind::pass_through}) {
        for (const bool wpe : {false, true}) {
            pasid_info p = fs_pasid(0);
            p.kind = kind;
            p.wpe = wpe;
            p.smep = p.nxe = p.ssee = true;
            for (const bool write : {false, true}) {
                for (const bool priv : {false, true}) {
                    const uint8_t need = page_walker::rights_needed(p, write, priv);
                    for (unsigned perm = 0; perm < 256; ++perm) {
                        const auto b = static_cast<uint8_t>(perm);
                        EXPECT_EQ((b & need) == need, page_walker::check_rights(
                                                          p, b, access_type{write, false, priv}) == fault_reason::none)
                            << static_cast<unsigned>(kind) << wpe << write << priv << " perm " << perm;
                    }
                }
            }
        }
    }
}

TEST_F(PageWalker, SideEffectFreeWalkWritesNothing) {
    const test::fs_space fs = tb.new_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    const pasid_info p = fs_pasid(fs.root);
    walk_result r = walker.walk(p, 0x1000, access_type{true, false, false}, false);
    ASSERT_EQ(r.fault, fault_reason::none);
    EXPECT_EQ(r.out_addr, 0x11000u);
    EXPECT_EQ(r.accesses, 4u);
    for (unsigned l = 4; l >= 1; --l) {
        EXPECT_EQ(tb.read64(tb.fs_entry_addr(fs, 0x1000, l)) & (fp::a::mask | fp::d::mask), 0u);
    }
    EXPECT_EQ(psc.size(paging_structure_cache::stage::first), 0u);
    EXPECT_FALSE(r.perm & iotlb_perm::dirty);
    // With side effects: A everywhere, D on the leaf, PSC filled.
    r = walker.walk(p, 0x1000, access_type{true, false, false}, true);
    ASSERT_EQ(r.fault, fault_reason::none);
    EXPECT_TRUE(r.perm & iotlb_perm::dirty);
    EXPECT_TRUE(r.perm & iotlb_perm::accessed);
    EXPECT_EQ(psc.size(paging_structure_cache::stage::first), 3u);
    EXPECT_EQ(r.accesses, 8u);
}

TEST_F(PageWalker, PagingStructureCacheShortensWalks) {
    const uint64_t ss = tb.new_ss();
    tb.map_ss(ss, 4, 0x1000, 0x11000);
    tb.map_ss(ss, 4, 0x2000, 0x12000);
    const pasid_info p = ss_pasid(ss);
    EXPECT_EQ(walker.walk(p, 0x1000, {}, true).accesses, 4u);
    EXPECT_EQ(walker.walk(p, 0x2000, {}, true).accesses, 1u);  // PDE cached: only the PTE
    EXPECT_EQ(walker.ss_psc_hits, 1u);
    EXPECT_EQ(walker.ss_psc_misses, 1u);
    // The stale-checker mode never uses the caches.
    EXPECT_EQ(walker.walk(p, 0x2000, {}, false).accesses, 4u);
    // Disabled by configuration.
    iommu_config off = cfg;
    off.psc_enable = false;
    page_walker w2(off, mem, &psc);
    EXPECT_EQ(w2.walk(p, 0x2000, {}, true).accesses, 4u);
    page_walker w3(cfg, mem, nullptr);
    EXPECT_EQ(w3.walk(p, 0x2000, {}, true).accesses, 4u);
}

TEST_F(PageWalker, NestedWithWarmCachesReadsFewEntries) {
    const uint64_t ss = tb.new_ss();
    const test::fs_space fs = tb.new_nested_fs(ss);
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_fs(fs, 0x2000, 0x9000'1000);
    tb.map_ss(ss, 4, 0x9000'0000, 0x5'0000'0000);
    tb.map_ss(ss, 4, 0x9000'1000, 0x5'0000'1000);
    pasid_info p = fs_pasid(fs.root);
    p.kind = translation_kind::nested;
    p.ssptptr = ss;
    auto first = walker.walk(p, 0x1000, {}, true);
    ASSERT_EQ(first.fault, fault_reason::none);
    EXPECT_EQ(first.out_addr, 0x5'0000'0000u);
    auto second = walker.walk(p, 0x2000, {}, true);
    ASSERT_EQ(second.fault, fault_reason::none);
    EXPECT_EQ(second.out_addr, 0x5'0000'1000u);
    // FS PDE cached -> SS walk of the FS PT page (SS PDE cached: 1 read) + FS PTE read + A update
    // + SS walk of the final GPA (1 read).
    EXPECT_EQ(second.accesses, 4u);
}

// Makes the table page holding `pa` readable only through read() (adopted host memory is never
// directly readable), keeping its contents.
void make_not_direct(sparse_memory& mem, uint64_t pa, std::vector<uint8_t>& host) {
    const uint64_t page = pa & ~uint64_t{0xfff};
    host.assign(0x1000, 0);
    ASSERT_TRUE(mem.read(page, host.data(), host.size()));
    ASSERT_TRUE(mem.adopt(page, host.data(), host.size()));
    std::size_t len = 0;
    ASSERT_EQ(mem.host_ptr(page, len), nullptr);
}

// A table page in the middle of a first-stage walk that is not directly readable: the walk reads
// it through read() and goes on; every entry is read once.
TEST_F(PageWalker, FirstStageTablePageNotDirectlyReadable) {
    const test::fs_space fs = tb.new_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    const pasid_info p = fs_pasid(fs.root);
    // The first walk sets A in all four entries: 4 reads, 4 compare-exchanges.
    EXPECT_EQ(walker.walk(p, 0x1234, {}, false).accesses, 4u);
    cfg.psc_enable = false;
    EXPECT_EQ(walker.walk(p, 0x1234, {}, true).accesses, 8u);
    std::vector<uint8_t> host;
    make_not_direct(mem, tb.fs_entry_addr(fs, 0x1000, 2), host);  // the page directory
    const walk_result r = walker.walk(p, 0x1234, {}, true);
    ASSERT_EQ(r.fault, fault_reason::none);
    EXPECT_EQ(r.out_addr, 0x11234u);
    EXPECT_EQ(r.level, page_level::size_4k);
    EXPECT_EQ(r.accesses, 4u);
    EXPECT_EQ(r.perm & (iotlb_perm::fs_rw | iotlb_perm::fs_us | iotlb_perm::accessed),
              iotlb_perm::fs_rw | iotlb_perm::fs_us | iotlb_perm::accessed);
    // The leaf page itself not directly readable: the same.
    std::vector<uint8_t> leaf_host;
    make_not_direct(mem, tb.fs_entry_addr(fs, 0x1000, 1), leaf_host);
    EXPECT_EQ(walker.walk(p, 0x1234, {}, true).accesses, 4u);
    EXPECT_EQ(walker.walk(p, 0x1234, {}, true).out_addr, 0x11234u);
}

// A first-stage walk whose entries are all plain decides a rights fault itself, after its four
// reads; one that meets an entry needing an update (D for a write) leaves it to the full walk,
// which reads every entry once and faults the same way before any update.
TEST_F(PageWalker, PlainFirstStageWalkFaultsOnRights) {
    cfg.psc_enable = false;
    const test::fs_space fs = tb.new_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000, 1, fp::p::mask);  // supervisor, read-only leaf
    const pasid_info p = fs_pasid(fs.root);
    ASSERT_EQ(walker.walk(p, 0x1000, access_type{false, false, true}, true).fault, fault_reason::none);  // sets A
    const access_type user_read{false, false, false};
    walk_result r = walker.walk(p, 0x1000, user_read, true);
    EXPECT_EQ(r.fault, fault_reason::gn_user_denied);
    EXPECT_EQ(r.accesses, 4u);
    const access_type user_write{true, false, false};
    r = walker.walk(p, 0x1000, user_write, true);
    EXPECT_EQ(r.fault, fault_reason::gn_user_denied);
    EXPECT_EQ(r.accesses, 4u);
    EXPECT_EQ(tb.read64(tb.fs_entry_addr(fs, 0x1000, 1)) & fp::d::mask, 0u);
}

// The same in the second stage of a nested walk: a second-stage page directory that every table
// pointer's walk passes, not directly readable. 4 x (4 + 1) + 4 reads.
TEST_F(PageWalker, NestedSecondStagePageNotDirectlyReadable) {
    cfg.psc_enable = false;
    const uint64_t ss = tb.new_ss();
    const test::fs_space fs = tb.new_nested_fs(ss);
    tb.map_fs(fs, 0x1000, 0x9000'0000);
    tb.map_ss(ss, 4, 0x9000'0000, 0x5'0000'0000);
    pasid_info p = fs_pasid(fs.root);
    p.kind = translation_kind::nested;
    p.ssptptr = ss;
    ASSERT_EQ(walker.walk(p, 0x1000, {}, true).fault, fault_reason::none);  // sets the A flags
    walk_result r = walker.walk(p, 0x1040, {}, true);
    ASSERT_EQ(r.fault, fault_reason::none);
    EXPECT_EQ(r.accesses, 24u);
    std::vector<uint8_t> host;
    make_not_direct(mem, tb.ss_entry_addr(ss, 4, fs.root, 2), host);
    r = walker.walk(p, 0x1040, {}, true);
    ASSERT_EQ(r.fault, fault_reason::none);
    EXPECT_EQ(r.out_addr, 0x5'0000'0040u);
    EXPECT_EQ(r.accesses, 24u);
    // The second stage's root page too.
    std::vector<uint8_t> root_host;
    make_not_direct(mem, ss, root_host);
    r = walker.walk(p, 0x1040, {}, true);
    EXPECT_EQ(r.out_addr, 0x5'0000'0040u);
    EXPECT_EQ(r.accesses, 24u);
}

// Second-stage A/D (SSADE): a write through a leaf whose A is set but D is not leaves the short
// way at the leaf, which is read again by the full checks and gets D: 3 + 1 reads and one
// compare-exchange, no read counted twice.
TEST_F(PageWalker, SecondStageWriteSetsDirtyOnALeafWithAccessed) {
    const uint64_t ss = tb.new_ss();
    tb.map_ss(ss, 4, 0x1000, 0x11000);
    pasid_info p = ss_pasid(ss);
    p.ssade = true;
    cfg.psc_enable = false;
    // A read sets A in every entry: 4 reads, 4 compare-exchanges.
    EXPECT_EQ(walker.walk(p, 0x1000, {}, true).accesses, 8u);
    const uint64_t leaf = tb.ss_entry_addr(ss, 4, 0x1000, 1);
    EXPECT_EQ(tb.read64(leaf) & (sp::a::mask | sp::d::mask), sp::a::mask);
    walk_result r = walker.walk(p, 0x1008, access_type{true, false, false}, true);
    ASSERT_EQ(r.fault, fault_reason::none);
    EXPECT_EQ(r.out_addr, 0x11008u);
    EXPECT_EQ(r.accesses, 5u);
    EXPECT_TRUE(r.perm & iotlb_perm::dirty);
    EXPECT_EQ(tb.read64(leaf) & (sp::a::mask | sp::d::mask), sp::a::mask | sp::d::mask);
    // Now nothing to update: the four reads.
    EXPECT_EQ(walker.walk(p, 0x1008, access_type{true, false, false}, true).accesses, 4u);
}

TEST_F(PageWalker, SelfReferencingFirstStageTableTerminates) {
    const test::fs_space fs = tb.new_fs(4);
    tb.write64(fs.root, test::table_builder::k_fs_default | fp::addr::make(fs.root >> 12));
    const pasid_info p = fs_pasid(fs.root);
    auto r = walker.walk(p, 0x0, {}, true);
    ASSERT_EQ(r.fault, fault_reason::none);
    EXPECT_EQ(r.out_addr, fs.root);
    EXPECT_LE(r.accesses, 8u);
}

// Random table contents never crash, hang or escape the fault codes of the walker.
TEST_F(PageWalker, RandomTablesAlwaysTerminate) {
    std::mt19937_64 rng(20261124);
    const uint64_t pool = tb.alloc_pages(64);
    for (unsigned i = 0; i < 64 * 512; ++i) {
        // Entries point back into the pool (or anywhere) with random flag bits.
        const uint64_t target = (rng() % 4 == 0) ? (rng() & hw::low_mask(52)) : pool + (rng() % 64) * 4096;
        const uint64_t flags = rng() & (hw::low_mask(12) | (uint64_t{0x7ff} << 52));
        tb.write64(pool + uint64_t{i} * 8, (target & fp::addr::mask) | flags);
    }
    cfg.fs1gp = true;
    unsigned ok = 0, faults = 0;
    for (unsigned i = 0; i < 20000; ++i) {
        pasid_info p;
        p.did = 1;
        p.pasid = 5;
        p.kind = static_cast<translation_kind>(1 + rng() % 3);
        p.fs_levels = 4;
        p.ss_levels = 4;
        p.fsptptr = pool + (rng() % 64) * 4096;
        p.ssptptr = pool + (rng() % 64) * 4096;
        p.eafe = rng() & 1;
        p.nxe = rng() & 1;
        const uint64_t addr = rng() & hw::low_mask(39);
        const access_type a{static_cast<bool>(rng() & 1), false, static_cast<bool>(rng() & 1)};
        if (walker.check_input(p, addr) != fault_reason::none) {
            continue;
        }
        const walk_result r = walker.walk(p, addr, a, rng() & 1);
        EXPECT_LE(r.accesses, 64u);
        (r.fault == fault_reason::none ? ok : faults)++;
    }
    EXPECT_GT(ok + faults, 0u);
    EXPECT_GT(faults, 0u);
}

// Another agent modifies the entry between the walker's read and its cmpxchg64.
class racing_memory : public phys_mem_if {
  public:
    racing_memory(sparse_memory& m, uint64_t race_mask, unsigned races) : m_mem(m), m_mask(race_mask), m_races(races) {}
    bool read(uint64_t pa, void* dst, std::size_t len) override { return m_mem.read(pa, dst, len); }
    bool write(uint64_t pa, const void* src, std::size_t len) override { return m_mem.write(pa, src, len); }
    bool cmpxchg64(uint64_t pa, uint64_t expected, uint64_t desired, uint64_t& observed) override {
        if (m_races) {
            --m_races;
            ++m_raced;
            uint64_t v = 0;
            m_mem.read64(pa, v);
            m_mem.write64(pa, v ^ m_mask);  // the other agent's update lands first
        }
        return m_mem.cmpxchg64(pa, expected, desired, observed);
    }
    unsigned raced() const { return m_raced; }

  private:
    sparse_memory& m_mem;
    uint64_t m_mask;
    unsigned m_races;
    unsigned m_raced = 0;
};

TEST_F(PageWalker, AdUpdateRetriesWithTheRacingValue) {
    const test::fs_space fs = tb.new_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    racing_memory rm(mem, fp::rw::mask, 1);  // the first cmpxchg finds R/W flipped off
    page_walker w(cfg, rm, nullptr);
    const walk_result r = w.walk(fs_pasid(fs.root), 0x1000, access_type{true, false, false}, true);
    EXPECT_EQ(rm.raced(), 1u);
    // The PML4E lost R/W before A was set: the walk continued with the new value and the write
    // is denied by it.
    EXPECT_EQ(r.fault, fault_reason::gn_write_denied);
    EXPECT_TRUE(fp::a::get(tb.read64(tb.fs_entry_addr(fs, 0x1000, 4))));
}

TEST_F(PageWalker, EndlessRacesFaultInsteadOfLooping) {
    const test::fs_space fs = tb.new_fs(4);
    tb.map_fs(fs, 0x1000, 0x11000);
    racing_memory rm(mem, fp::pwt::mask, 1000);
    page_walker w(cfg, rm, nullptr);
    const walk_result r = w.walk(fs_pasid(fs.root), 0x1000, {}, true);
    EXPECT_EQ(r.fault, fault_reason::fs_ad_update_failed);
    EXPECT_LE(rm.raced(), 8u);
}

TEST_F(PageWalker, ContextAndPasidDecode) {
    test::context_opts c;
    c.pdts = 3;
    c.rid_pasid = 42;
    c.dte = true;
    tb.set_context(0x0812, c);
    test::pasid_opts o;
    o.pgtt = hw::pgtt::nested;
    o.did = 0x1234;
    o.aw = 1;
    o.ssptptr = 0x7000;
    o.fsptptr = 0x8000;
    o.sre = o.ere = o.wpe = o.smep = o.nxe = o.ssee = true;
    tb.set_pasid(0x0812, 42, o);
    context_info ci;
    bool fpd = false;
    unsigned acc = 0;
    ASSERT_EQ(walker.read_context(tb.rtaddr_value(), 0x0812, ci, fpd, acc), fault_reason::none);
    EXPECT_EQ(ci.pdts, 3u);
    EXPECT_EQ(ci.rid_pasid, 42u);
    EXPECT_TRUE(ci.dte);
    EXPECT_EQ(acc, 2u);
    pasid_info pi;
    ASSERT_EQ(walker.read_pasid(ci, 42, pi, fpd, acc), fault_reason::none);
    EXPECT_EQ(pi.did, 0x1234u);
    EXPECT_EQ(pi.kind, translation_kind::nested);
    EXPECT_EQ(pi.ss_levels, 3u);
    EXPECT_EQ(pi.ssptptr, 0x7000u);
    EXPECT_EQ(pi.fsptptr, 0x8000u);
    EXPECT_TRUE(pi.sre && pi.ere && pi.wpe && pi.smep && pi.nxe && pi.ssee);
    EXPECT_EQ(acc, 4u);
    // ECAP.RPS=0: RID_PASID reads as 0; SRS/ERS=0 mask SRE/ERE.
    iommu_config c2 = cfg;
    c2.rps = false;
    c2.srs = false;
    c2.ers = false;
    page_walker w2(c2, mem, nullptr);
    ASSERT_EQ(w2.read_context(tb.rtaddr_value(), 0x0812, ci, fpd, acc), fault_reason::none);
    EXPECT_EQ(ci.rid_pasid, 0u);
    ci.rid_pasid = 42;
    ASSERT_EQ(w2.read_pasid(ci, 42, pi, fpd, acc), fault_reason::none);
    EXPECT_FALSE(pi.sre);
    EXPECT_FALSE(pi.ere);
}

TEST_F(PageWalker, DomainIdBeyondNd) {
    cfg.nd = 0;  // 16 domains
    tb.set_context(0x10);
    test::pasid_opts o;
    o.did = 16;
    o.ssptptr = 0x7000;
    tb.set_pasid(0x10, 0, o);
    context_info ci;
    bool fpd = false;
    unsigned acc = 0;
    ASSERT_EQ(walker.read_context(tb.rtaddr_value(), 0x10, ci, fpd, acc), fault_reason::none);
    pasid_info pi;
    EXPECT_EQ(walker.read_pasid(ci, 0, pi, fpd, acc), fault_reason::pte_invalid);
}

}  // namespace
}  // namespace iommusim
