// Translator tests: Accessed/dirty flag updates of both stages (docs/vtd-facts.md §5.3).
#include "tlm/translator_fixture_util.h"

namespace iommusim::translator_test {
namespace {

// ---------------------------------------------------------------- A/D flags (§5.3)

TEST_F(Translator, AccessedOnEveryLevelDirtyOnlyOnWrite) {
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

TEST_F(Translator, DeniedWriteSetsNoDirtyFlag) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000, 1, fp::p::mask | fp::us::mask);
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5, .write = true}).fault, fault_reason::gn_write_denied);
    EXPECT_FALSE(fp::d::get(tb.read64(tb.fs_entry_addr(fs, 0x7000, 1))));
}

TEST_F(Translator, ExtendedAccessedWithEafe) {
    pasid_opts o;
    o.eafe = true;
    setup_fs(4, o);
    tb.map_fs(fs, 0x7000, 0x17000);
    build();
    ASSERT_TRUE(xl(0x7000, {.pasid = 5}).ok());
    for (unsigned l = 4; l >= 1; --l) {
        EXPECT_TRUE(fp::ea::get(tb.read64(tb.fs_entry_addr(fs, 0x7000, l))));
    }
}

TEST_F(Translator, EafeWithoutEafsIsInvalid) {
    cfg.eafs = false;
    pasid_opts o;
    o.eafe = true;
    setup_fs(4, o);
    build();
    EXPECT_EQ(xl(0x7000, {.pasid = 5}).fault, fault_reason::pte_invalid);
}

TEST_F(Translator, FlagsAlreadySetNeedNoUpdate) {
    setup_fs(4);
    tb.map_fs(fs, 0x7000, 0x17000);
    build();
    for (unsigned l = 4; l >= 1; --l) {
        tb.set_bits(tb.fs_entry_addr(fs, 0x7000, l), fp::a::mask | fp::d::mask);
    }
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

TEST_F(Translator, AdUpdateWriteErrorIsSfl10) {
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

TEST_F(Translator, SecondStageAccessedDirtyWithSsade) {
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

TEST_F(Translator, SsadeWithoutSsadsIsInvalid) {
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

}  // namespace
}  // namespace iommusim::translator_test
