// VT-d dirty tracking on the TLM model (Linux intel_dirty_ops; docs/vtd-facts.md §4.4, §5.4):
// allocation and attach refusals without ECAP.SSADS, the hw_info capability, SSADE in the PASID
// entries read back from memory with the invalidations that follow it, and read_and_clear_dirty
// against pages a device really wrote. Entries are read with the spec's bit positions (PASID
// entry SSADE bit 9 of qword 0, second-stage D bit 9); flushes are read back from the ring.
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <utility>
#include <vector>

#include "driver/nested_domain.h"
#include "driver/paging_domain.h"
#include "driver/vtd_model_util.h"
#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_desc.h"
#include "iommusim/iommufd.h"

namespace iommusim::test {
namespace {

using driver::iommu_domain;
using driver::nested_domain;
using driver::paging_domain;
using driver::prot_read;
using driver::prot_write;

constexpr uint64_t k_ssade = uint64_t{1} << 9;  // PASID entry qword 0
constexpr uint64_t k_dirty = uint64_t{1} << 9;  // second-stage leaf D
constexpr uint64_t mib2 = uint64_t{1} << 21;
constexpr uint32_t k_dirty_flag = driver::alloc_flag_dirty_tracking;

platform_config ssads_config() {
    platform_config cfg = unit_config();
    cfg.iommu.ssads = true;
    return cfg;
}

// What read_and_clear_dirty reported, in order.
struct dirty_log : driver::dirty_bitmap_sink {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    void record(uint64_t iova, uint64_t length) override { ranges.emplace_back(iova, length); }
};
using ranges = std::vector<std::pair<uint64_t, uint64_t>>;

paging_domain* alloc(model_unit& b, uint32_t flags, std::unique_ptr<iommu_domain>& out) {
    EXPECT_EQ(b.ops().domain_alloc_paging_flags(b.dev, flags, nullptr, out), 0);
    return dynamic_cast<paging_domain*>(out.get());
}

uint64_t entry_word0(model_unit& b, uint16_t rid) {
    hw::pasid_entry::words e{};
    EXPECT_TRUE(b.vtd().read_device_entry(rid, e));
    return e[0];
}

// The 4 KiB-level second-stage leaf of iova, found by hand: 9 index bits per level above bit 12,
// the next table in bits 51:12; stops at a large leaf (bit 7).
uint64_t leaf_of(model_unit& b, const paging_domain& d, uint64_t iova) {
    uint64_t table = d.root();
    for (unsigned l = d.levels(); l >= 1; --l) {
        uint64_t e = 0;
        EXPECT_TRUE(b.bus().read64(table + ((iova >> (12 + 9 * (l - 1))) & 511) * 8, e));
        if (l == 1 || (e & (1u << 7))) {
            return e;
        }
        table = e & 0x000f'ffff'ffff'f000ull;
    }
    return 0;
}

TEST(DirtyTracking, RefusedWithoutSsads) {
    model_unit b;  // ECAP.SSADS off (model default)
    b.run([&] {
        std::vector<uint8_t> data;
        uint32_t type = 0;
        uint64_t caps = ~uint64_t{0};
        ASSERT_EQ(b.ops().hw_info(b.dev, data, type, caps), 0);
        EXPECT_EQ(caps, 0u);
        std::unique_ptr<iommu_domain> d;
        EXPECT_EQ(b.ops().domain_alloc_paging_flags(b.dev, k_dirty_flag, nullptr, d), -EOPNOTSUPP);
        EXPECT_EQ(d, nullptr);
        // A dirty-tracking domain that reaches attach anyway is refused there (Linux
        // paging_domain_compatible), and the device stays blocked.
        std::unique_ptr<paging_domain> forced;
        ASSERT_EQ(paging_domain::create(b.vtd(), &b.ops(), false, forced, true), 0);
        EXPECT_EQ(forced->attach_dev(b.dev), -EINVAL);
        EXPECT_EQ(b.dev.domain, nullptr);
        EXPECT_EQ(b.vtd().attachment_of(b.dev.rid), nullptr);
    });
}

TEST(DirtyTracking, HwInfoAndAllocationWithSsads) {
    model_unit b(ssads_config());
    b.run([&] {
        std::vector<uint8_t> data;
        uint32_t type = 0;
        uint64_t caps = 0;
        ASSERT_EQ(b.ops().hw_info(b.dev, data, type, caps), 0);
        EXPECT_EQ(caps, uint64_t{1} << 0) << "IOMMU_HW_CAP_DIRTY_TRACKING";
        std::unique_ptr<iommu_domain> tracked, plain;
        ASSERT_NE(alloc(b, k_dirty_flag | driver::alloc_flag_nest_parent, tracked), nullptr);
        EXPECT_TRUE(tracked->has_dirty_ops());
        EXPECT_TRUE(tracked->is_nest_parent());
        ASSERT_NE(alloc(b, 0, plain), nullptr);
        EXPECT_FALSE(plain->has_dirty_ops());
        EXPECT_EQ(plain->set_dirty_tracking(true), -EOPNOTSUPP);
        dirty_log log;
        EXPECT_EQ(plain->read_and_clear_dirty(0, 0x1000, 0, log), -EOPNOTSUPP);
    });
}

TEST(DirtyTracking, SetDirtyTrackingFlipsSsadeWithItsInvalidations) {
    model_unit b(ssads_config());
    b.run([&] {
        std::unique_ptr<iommu_domain> owner;
        paging_domain* d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->attach_dev(b.ats_dev), 0);
        const uint64_t before = entry_word0(b, b.dev.rid);
        EXPECT_EQ(before & k_ssade, 0u);
        b.mark();
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
        EXPECT_EQ(entry_word0(b, b.dev.rid), before | k_ssade) << "only SSADE changes";
        EXPECT_EQ(entry_word0(b, b.ats_dev.rid) & k_ssade, k_ssade);
        // Per device: PASID-selective PASID cache, domain IOTLB, the whole device TLB for ATS.
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 7u);
        EXPECT_EQ(sent[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, d->did(), 0));
        EXPECT_EQ(sent[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, d->did()));
        EXPECT_EQ(hw::desc::type_of(sent[2]), static_cast<unsigned>(hw::inv_type::wait));
        EXPECT_EQ(sent[3], hw::make_pc_inv(hw::pc_desc::pasid_sel, d->did(), 0));
        EXPECT_EQ(sent[4], hw::make_iotlb_inv(hw::iotlb_desc::domain, d->did()));
        EXPECT_EQ(hw::desc::type_of(sent[5]), static_cast<unsigned>(hw::inv_type::dev_tlb));
        EXPECT_EQ(hw::desc::type_of(sent[6]), static_cast<unsigned>(hw::inv_type::wait));
        EXPECT_EQ(b.executed_scope(scope_kind::pasid_cache_pasid), 2u);
        EXPECT_EQ(b.executed_scope(scope_kind::iotlb_domain), 2u);
        b.mark();
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
        EXPECT_TRUE(b.sent().empty()) << "already on: nothing to change";
        ASSERT_EQ(d->set_dirty_tracking(false), 0);
        EXPECT_EQ(entry_word0(b, b.dev.rid), before);
        EXPECT_EQ(entry_word0(b, b.ats_dev.rid) & k_ssade, 0u);
        owner.reset();
    });
}

TEST(DirtyTracking, AttachToATrackingDomainSetsSsade) {
    model_unit b(ssads_config());
    b.run([&] {
        std::unique_ptr<iommu_domain> owner;
        paging_domain* d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->set_dirty_tracking(true), 0) << "no device attached yet";
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        EXPECT_EQ(entry_word0(b, b.dev.rid) & k_ssade, k_ssade);
        owner.reset();
    });
}

// The core's clearing pass before it enables tracking (a sink that does not report).
struct clearing_pass : driver::dirty_bitmap_sink {
    unsigned records = 0;
    void record(uint64_t, uint64_t) override { ++records; }
    bool reports() const override { return false; }
};

TEST(DirtyTracking, ReadWithTrackingOffIsRefusedButTheClearingPassClears) {
    model_unit b(ssads_config());
    std::unique_ptr<iommu_domain> owner;
    paging_domain* d = nullptr;
    b.run([&] {
        d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0x100000, 0x3000'0000, 0x4000, prot_read | prot_write), 0);
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
    });
    uint8_t buf[8] = {};
    ASSERT_EQ(b.plat().dma(0, 0, 0x101000, buf, sizeof buf, true), 0);
    b.run([&] {
        ASSERT_EQ(d->set_dirty_tracking(false), 0);
        dirty_log log;
        EXPECT_EQ(d->read_and_clear_dirty(0x100000, 0x4000, 0, log), -EINVAL);
        EXPECT_TRUE(log.ranges.empty());
        EXPECT_EQ(leaf_of(b, *d, 0x101000) & k_dirty, k_dirty) << "a refused read clears nothing";
        clearing_pass pass;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x4000, 0, pass), 0);
        EXPECT_EQ(leaf_of(b, *d, 0x101000) & k_dirty, 0u) << "the clearing pass drops what the last cycle left";
        owner.reset();
    });
}

TEST(DirtyTracking, ReadAndClearReportsTheWrittenPagesClearsAndFlushes) {
    model_unit b(ssads_config());
    std::unique_ptr<iommu_domain> owner;
    paging_domain* d = nullptr;
    b.run([&] {
        d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0x100000, 0x3000'0000, 0x10000, prot_read | prot_write), 0);
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
    });
    uint8_t buf[64] = {1, 2, 3};
    ASSERT_EQ(b.plat().dma(0, 0, 0x101040, buf, sizeof buf, true), 0);
    ASSERT_EQ(b.plat().dma(0, 0, 0x103000, buf, sizeof buf, true), 0);
    ASSERT_EQ(b.plat().dma(0, 0, 0x102000, buf, sizeof buf, false), 0);
    b.run([&] {
        EXPECT_EQ(leaf_of(b, *d, 0x101000) & k_dirty, k_dirty);
        EXPECT_EQ(leaf_of(b, *d, 0x102000) & k_dirty, 0u) << "a read sets no D";
        b.mark();
        dirty_log log;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x10000, 0, log), 0);
        EXPECT_EQ(log.ranges, (ranges{{0x101000, 0x1000}, {0x103000, 0x1000}}));
        EXPECT_EQ(leaf_of(b, *d, 0x101000) & k_dirty, 0u);
        EXPECT_EQ(leaf_of(b, *d, 0x103000) & k_dirty, 0u);
        // Pages 0x101..0x103: the naturally aligned block 0x100000, 4 pages (mask 2).
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 2u);
        EXPECT_EQ(sent[0], hw::make_iotlb_inv(hw::iotlb_desc::page, d->did(), 0x100000, 2, false));
        EXPECT_EQ(hw::desc::type_of(sent[1]), static_cast<unsigned>(hw::inv_type::wait));
        dirty_log again;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x10000, 0, again), 0);
        EXPECT_TRUE(again.ranges.empty());
    });
    // The flush reached the IOTLB: the next write walks the tables and sets D again.
    ASSERT_EQ(b.plat().dma(0, 0, 0x101000, buf, sizeof buf, true), 0);
    b.run([&] {
        dirty_log log;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x10000, 0, log), 0);
        EXPECT_EQ(log.ranges, (ranges{{0x101000, 0x1000}}));
        owner.reset();
    });
}

// Without SSADE the IOTLB holds writable translations as if dirty; switching SSADE on must drop
// them, or the next write would hit and never set D.
TEST(DirtyTracking, EnablingDropsTranslationsCachedWithoutTracking) {
    model_unit b(ssads_config());
    std::unique_ptr<iommu_domain> owner;
    paging_domain* d = nullptr;
    b.run([&] {
        d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0x100000, 0x3000'0000, 0x1000, prot_read | prot_write), 0);
    });
    uint8_t buf[8] = {};
    ASSERT_EQ(b.plat().dma(0, 0, 0x100000, buf, sizeof buf, true), 0);
    b.run([&] {
        EXPECT_EQ(leaf_of(b, *d, 0x100000) & k_dirty, 0u) << "SSADE off: no D";
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
    });
    ASSERT_EQ(b.plat().dma(0, 0, 0x100000, buf, sizeof buf, true), 0);
    b.run([&] {
        dirty_log log;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x1000, 0, log), 0);
        EXPECT_EQ(log.ranges, (ranges{{0x100000, 0x1000}}));
        owner.reset();
    });
}

TEST(DirtyTracking, NoClearReportsAndKeepsDirty) {
    model_unit b(ssads_config());
    std::unique_ptr<iommu_domain> owner;
    paging_domain* d = nullptr;
    b.run([&] {
        d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0x100000, 0x3000'0000, 0x4000, prot_read | prot_write), 0);
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
    });
    uint8_t buf[8] = {};
    ASSERT_EQ(b.plat().dma(0, 0, 0x102000, buf, sizeof buf, true), 0);
    b.run([&] {
        b.mark();
        dirty_log kept;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x4000, driver::dirty_no_clear, kept), 0);
        EXPECT_EQ(kept.ranges, (ranges{{0x102000, 0x1000}}));
        EXPECT_EQ(leaf_of(b, *d, 0x102000) & k_dirty, k_dirty);
        EXPECT_TRUE(b.sent().empty()) << "nothing cleared, nothing to flush";
        dirty_log cleared;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x4000, 0, cleared), 0);
        EXPECT_EQ(cleared.ranges, (ranges{{0x102000, 0x1000}}));
        dirty_log none;
        ASSERT_EQ(d->read_and_clear_dirty(0x100000, 0x4000, 0, none), 0);
        EXPECT_TRUE(none.ranges.empty());
        owner.reset();
    });
}

TEST(DirtyTracking, LargeLeafIsReportedWhole) {
    model_unit b(ssads_config());
    std::unique_ptr<iommu_domain> owner;
    paging_domain* d = nullptr;
    b.run([&] {
        d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(mib2, 0x4000'0000, mib2, prot_read | prot_write), 0);
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
    });
    uint8_t buf[8] = {};
    ASSERT_EQ(b.plat().dma(0, 0, mib2 + 0x5000, buf, sizeof buf, true), 0);
    b.run([&] {
        dirty_log log;
        ASSERT_EQ(d->read_and_clear_dirty(mib2 + 0x1000, 0x1000, 0, log), 0);
        EXPECT_EQ(log.ranges, (ranges{{mib2, mib2}}));
        EXPECT_EQ(leaf_of(b, *d, mib2) & k_dirty, 0u);
        owner.reset();
    });
}

TEST(DirtyTracking, PartialUnmapOfADirtyLargeLeafKeepsTheRestDirty) {
    model_unit b(ssads_config());
    std::unique_ptr<iommu_domain> owner;
    paging_domain* d = nullptr;
    b.run([&] {
        d = alloc(b, k_dirty_flag, owner);
        ASSERT_NE(d, nullptr);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0, 0x4000'0000, mib2, prot_read | prot_write), 0);
        ASSERT_EQ(d->set_dirty_tracking(true), 0);
    });
    uint8_t buf[8] = {};
    ASSERT_EQ(b.plat().dma(0, 0, 0x10'0000, buf, sizeof buf, true), 0);
    b.run([&] {
        ASSERT_EQ(d->unmap_pa(0x3000, 0x1000), 0);  // splits the 2 MiB leaf into 4 KiB leaves
        dirty_log log;
        ASSERT_EQ(d->read_and_clear_dirty(0, mib2, 0, log), 0);
        ASSERT_EQ(log.ranges.size(), 511u) << "every remaining 4 KiB page of the written 2 MiB page";
        EXPECT_EQ(log.ranges.front(), std::make_pair(uint64_t{0}, uint64_t{0x1000}));
        EXPECT_EQ(log.ranges[3], std::make_pair(uint64_t{0x4000}, uint64_t{0x1000}));
        EXPECT_EQ(log.ranges.back(), std::make_pair(mib2 - 0x1000, uint64_t{0x1000}));
        owner.reset();
    });
}

// The bus's compare-exchange, through the platform CPU to memory.
TEST(DirtyTracking, BusCompareExchange) {
    model_unit b;
    b.run([&] {
        const uint64_t pa = model_unit::driver_memory_base + model_unit::driver_memory_size - 8;
        ASSERT_TRUE(b.bus().write64(pa, 0x1234));
        uint64_t observed = 0;
        EXPECT_TRUE(b.bus().cmpxchg64(pa, 0x1111, 0x5678, observed));
        EXPECT_EQ(observed, 0x1234u);
        uint64_t v = 0;
        ASSERT_TRUE(b.bus().read64(pa, v));
        EXPECT_EQ(v, 0x1234u) << "a mismatch writes nothing";
        EXPECT_TRUE(b.bus().cmpxchg64(pa, 0x1234, 0x5678, observed));
        EXPECT_EQ(observed, 0x1234u);
        ASSERT_TRUE(b.bus().read64(pa, v));
        EXPECT_EQ(v, 0x5678u);
        EXPECT_FALSE(b.bus().cmpxchg64(uint64_t{1} << 52, 0, 1, observed)) << "beyond physical memory";
    });
}

TEST(DirtyTracking, NestedChildFollowsTheParent) {
    model_unit b(ssads_config());
    b.run([&] {
        std::unique_ptr<iommu_domain> owner;
        paging_domain* parent = alloc(b, k_dirty_flag | driver::alloc_flag_nest_parent, owner);
        ASSERT_NE(parent, nullptr);
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = 0x1234'5000;
        s1.addr_width = 48;
        std::unique_ptr<nested_domain> child;
        ASSERT_EQ(nested_domain::create(b.vtd(), &b.ops(), *parent, s1, child), 0);
        ASSERT_EQ(child->attach_dev(b.dev), 0);
        EXPECT_EQ(entry_word0(b, b.dev.rid) & k_ssade, 0u);
        b.mark();
        ASSERT_EQ(parent->set_dirty_tracking(true), 0);
        EXPECT_EQ(entry_word0(b, b.dev.rid) & k_ssade, k_ssade);
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 3u);
        EXPECT_EQ(sent[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, child->did(), 0)) << "the child's DID";
        EXPECT_EQ(sent[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, child->did()));
        // A device attached to the child later gets SSADE from the parent's state.
        ASSERT_EQ(child->attach_dev(b.ats_dev), 0);
        EXPECT_EQ(entry_word0(b, b.ats_dev.rid) & k_ssade, k_ssade);
        child.reset();
        owner.reset();
    });
}

// A device behind a nested domain writes through guest tables that live in the parent's GPA space:
// the parent's dirty pages are the guest table pages whose first-stage A flags the walk set (a write
// through the second stage) and the written page itself.
TEST(DirtyTracking, NestedDmaDirtiesTheGuestTablePagesAndTheTarget) {
    model_unit b(ssads_config());
    constexpr uint64_t guest_ram_pa = 0x3000'0000;                    // GPA 0 .. 64 KiB
    constexpr uint64_t fs_flags = (1u << 0) | (1u << 1) | (1u << 2);  // P, R/W, U/S
    constexpr uint64_t gva = 0x1000;
    constexpr uint64_t target_gpa = 0x8000;
    std::unique_ptr<iommu_domain> owner;
    std::unique_ptr<nested_domain> child;
    paging_domain* parent = nullptr;
    b.run([&] {
        parent = alloc(b, k_dirty_flag | driver::alloc_flag_nest_parent, owner);
        ASSERT_NE(parent, nullptr);
        ASSERT_EQ(parent->map_pa(0, guest_ram_pa, 0x10000, prot_read | prot_write), 0);
        // Guest first stage: root at GPA 0, then tables at 0x1000, 0x2000, 0x3000; gva -> target_gpa.
        // gva 0x1000 indexes entry 0 of the PML4, PDPT and PD, and entry 1 of the page table.
        for (uint64_t table = 0; table < 3; ++table) {
            ASSERT_TRUE(b.bus().write64(guest_ram_pa + table * 0x1000, fs_flags | ((table + 1) * 0x1000)));
        }
        ASSERT_TRUE(b.bus().write64(guest_ram_pa + 0x3000 + 1 * 8, fs_flags | target_gpa));
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = 0;
        s1.addr_width = 48;
        ASSERT_EQ(nested_domain::create(b.vtd(), &b.ops(), *parent, s1, child), 0);
        ASSERT_EQ(child->attach_dev(b.dev), 0);
        ASSERT_EQ(parent->set_dirty_tracking(true), 0);
    });
    uint8_t buf[16] = {7};
    ASSERT_EQ(b.plat().dma(0, 0, gva + 0x10, buf, sizeof buf, true), 0);
    b.run([&] {
        dirty_log log;
        ASSERT_EQ(parent->read_and_clear_dirty(0, 0x10000, 0, log), 0);
        EXPECT_EQ(
            log.ranges,
            (ranges{{0x0000, 0x1000}, {0x1000, 0x1000}, {0x2000, 0x1000}, {0x3000, 0x1000}, {target_gpa, 0x1000}}));
        uint64_t leaf = 0;
        ASSERT_TRUE(b.bus().read64(guest_ram_pa + 0x3000 + 8, leaf));
        EXPECT_EQ(leaf, fs_flags | target_gpa | (1u << 5) | (1u << 6)) << "first-stage A and D of the write";
    });
    // The first-stage flags are set now: a second write (after the flush) dirties only the target.
    ASSERT_EQ(b.plat().dma(0, 0, gva, buf, sizeof buf, true), 0);
    b.run([&] {
        dirty_log log;
        ASSERT_EQ(parent->read_and_clear_dirty(0, 0x10000, 0, log), 0);
        EXPECT_EQ(log.ranges, (ranges{{target_gpa, 0x1000}}));
        child.reset();
        owner.reset();
    });
}

}  // namespace
}  // namespace iommusim::test
