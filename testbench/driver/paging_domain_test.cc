// Second-stage paging domains on the TLM model: table construction with large pages, map/unmap
// rules, the flushes after unmap (PSI/DSI, device TLBs, nested children) and attach/replace/detach
// (docs/vtd-facts.md §4.4, §5.4, §6.2, §6.7). Flushes are read back from the ring and the queue engine's
// statistics; unmap is also checked end to end with device DMA.
#include "driver/paging_domain.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "driver/nested_domain.h"
#include "driver/vtd_model_util.h"
#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_pte.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {
namespace {

using driver::iommu_device;
using driver::nested_domain;
using driver::page_allocator;
using driver::paging_domain;
using driver::prot_read;
using driver::prot_write;
using driver::vtd_iommu;
using driver::vtd_ops;

constexpr uint64_t mib2 = uint64_t{1} << 21;
constexpr uint64_t gib1 = uint64_t{1} << 30;

std::unique_ptr<paging_domain> new_domain(model_unit& u, bool nest_parent = false) {
    std::unique_ptr<paging_domain> d;
    EXPECT_EQ(paging_domain::create(u.vtd(), &u.ops(), nest_parent, d), 0);
    return d;
}

TEST(PagingDomain, MapUsesLargePagesWhereAlignmentAllows) {
    model_unit b;
    b.run([&] {
        auto d = new_domain(b);
        // 1 GiB + 2 MiB + 4 KiB, all aligned to their sizes.
        ASSERT_EQ(d->map_pa(gib1, 0x40'0000'0000ull, gib1 + mib2 + 0x1000, prot_read | prot_write), 0);
        uint64_t pa = 0, size = 0;
        int prot = 0;
        ASSERT_TRUE(d->lookup(gib1 + 0x1234, pa, prot, size));
        EXPECT_EQ(size, gib1);
        EXPECT_EQ(pa, 0x40'0000'1234ull);
        EXPECT_EQ(prot, prot_read | prot_write);
        ASSERT_TRUE(d->lookup(2 * gib1 + 0x5000, pa, prot, size));
        EXPECT_EQ(size, mib2);
        ASSERT_TRUE(d->lookup(2 * gib1 + mib2, pa, prot, size));
        EXPECT_EQ(size, 0x1000u);
        EXPECT_FALSE(d->lookup(2 * gib1 + mib2 + 0x1000, pa, prot, size));
        // Only the tables on the path were created: root, one PDPT, one PD, one PT.
        EXPECT_EQ(d->table_pages(), 4u);
    });
}

TEST(PagingDomain, MisalignedPhysicalAddressOrMissingSslpsUsesSmallerPages) {
    platform_config cfg = unit_config();
    cfg.iommu.sslps_1g = false;  // 2 MiB only
    model_unit b(cfg);
    b.run([&] {
        auto d = new_domain(b);
        ASSERT_EQ(d->map_pa(0, 0x40'0000'0000ull, gib1, prot_read), 0);
        uint64_t pa = 0, size = 0;
        int prot = 0;
        ASSERT_TRUE(d->lookup(0x12345000, pa, prot, size));
        EXPECT_EQ(size, mib2);
        EXPECT_EQ(prot, prot_read);
        ASSERT_EQ(d->map_pa(gib1, 0x50'0000'1000ull, mib2, prot_write), 0);  // pa only 4 KiB aligned
        ASSERT_TRUE(d->lookup(gib1, pa, prot, size));
        EXPECT_EQ(size, 0x1000u);
        EXPECT_EQ(pa, 0x50'0000'1000ull);
    });
}

TEST(PagingDomain, LeafEntriesAreBuiltThroughTheSharedLayout) {
    model_unit b;
    b.run([&] {
        auto d = new_domain(b);
        ASSERT_EQ(d->map_pa(0x20'0000, 0x7000'0000, mib2, prot_read), 0);
        // Walk by hand: PML4[0] -> PDPT[0] -> PD[1] is a 2 MiB leaf.
        uint64_t e = 0;
        ASSERT_TRUE(b.bus().read64(d->root(), e));
        EXPECT_EQ(hw::ss_pte::r::get(e) & hw::ss_pte::w::get(e), 1u);
        ASSERT_TRUE(b.bus().read64(hw::ss_pte::addr::get(e) << 12, e));
        ASSERT_TRUE(b.bus().read64((hw::ss_pte::addr::get(e) << 12) + 8, e));
        EXPECT_EQ(hw::ss_pte::ps::get(e), 1u);
        EXPECT_EQ(hw::ss_pte::r::get(e), 1u);
        EXPECT_EQ(hw::ss_pte::w::get(e), 0u);
        EXPECT_EQ(hw::ss_pte::addr::get(e) << 12, 0x7000'0000u);
    });
}

TEST(PagingDomain, MapRejectsBadInput) {
    model_unit b;
    b.run([&] {
        auto d = new_domain(b);
        EXPECT_EQ(d->map_pa(0x1001, 0x1000, 0x1000, prot_read), -EINVAL);
        EXPECT_EQ(d->map_pa(0x1000, 0x1000, 0, prot_read), -EINVAL);
        EXPECT_EQ(d->map_pa(0x1000, 0x1000, 0x1000, 0), -EINVAL);
        EXPECT_EQ(d->map_pa(uint64_t{1} << 48, 0x1000, 0x1000, prot_read), -EINVAL) << "beyond MGAW";
        ASSERT_EQ(d->map_pa(0x10000, 0x1000, 0x3000, prot_read), 0);
        EXPECT_EQ(d->map_pa(0x8000, 0x9000, 0x10000, prot_read), -EEXIST);
        uint64_t pa = 0, size = 0;
        int prot = 0;
        EXPECT_FALSE(d->lookup(0x8000, pa, prot, size)) << "a failed map leaves nothing of itself";
        EXPECT_TRUE(d->lookup(0x10000, pa, prot, size));
    });
}

TEST(PagingDomain, UnmapFlushesPageSelectiveAndDeviceTlbs) {
    model_unit b;
    std::unique_ptr<paging_domain> d;
    b.run([&] {
        d = new_domain(b);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->attach_dev(b.ats_dev), 0);
        EXPECT_EQ(b.dev.domain, d.get());
        ASSERT_EQ(d->map_pa(0x100000, 0x3000'0000, 0x10000, prot_read | prot_write), 0);
    });
    // Device 0 (0x0100) reads through the mapping, which fills the IOTLB.
    uint8_t buf[64] = {};
    ASSERT_EQ(b.plat().dma(0, 0, 0x105000, buf, sizeof buf, false), 0);
    b.run([&] {
        b.mark();
        uint64_t unmapped = 0;
        ASSERT_EQ(d->unmap_pa(0x104000, 0x3000, &unmapped), 0);
        EXPECT_EQ(unmapped, 0x3000u);
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 3u);
        EXPECT_EQ(sent[0], hw::make_iotlb_inv(hw::iotlb_desc::page, d->did(), 0x104000, 2, false));
        EXPECT_EQ(sent[1], driver::dev_tlb_inv(b.vtd().flush_capabilities(), 0x0108, {0x104000, 2}));
        EXPECT_EQ(hw::desc::type_of(sent[2]), static_cast<unsigned>(hw::inv_type::wait));
        EXPECT_EQ(b.executed_scope(scope_kind::iotlb_domain_range), 1u);
        EXPECT_EQ(b.executed_scope(scope_kind::devtlb), 1u);
        uint64_t pa = 0, size = 0;
        int prot = 0;
        EXPECT_FALSE(d->lookup(0x105000, pa, prot, size));
        EXPECT_TRUE(d->lookup(0x107000, pa, prot, size));
    });
    EXPECT_EQ(b.atc(0x0108).requests().size(), 1u);
    // The flush reached the IOTLB: the unmapped page faults, the rest still translates.
    uint8_t reason = 0;
    EXPECT_EQ(b.plat().dma(0, 0, 0x105000, buf, sizeof buf, false, &reason), -EFAULT);
    EXPECT_NE(reason, 0u);
    EXPECT_EQ(b.plat().dma(0, 0, 0x107000, buf, sizeof buf, false), 0);
    b.run([&] { d.reset(); });
}

TEST(PagingDomain, LargeRangeFlushesDomainSelective) {
    model_unit b;
    b.run([&] {
        auto d = new_domain(b);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0, 0, 2 * gib1, prot_read), 0);
        b.mark();
        ASSERT_EQ(d->unmap_pa(0, 2 * gib1), 0);  // 2^19 pages > MAMV 18
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 2u);
        EXPECT_EQ(sent[0], hw::make_iotlb_inv(hw::iotlb_desc::domain, d->did()));
        EXPECT_EQ(b.executed_scope(scope_kind::iotlb_domain), 1u);
    });
}

TEST(PagingDomain, NoPsiFlushesDomainSelective) {
    platform_config cfg = unit_config();
    cfg.iommu.psi = false;
    model_unit b(cfg);
    b.run([&] {
        auto d = new_domain(b);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0, 0, 0x1000, prot_read), 0);
        b.mark();
        ASSERT_EQ(d->unmap_pa(0, 0x1000), 0);
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 2u);
        EXPECT_EQ(sent[0], hw::make_iotlb_inv(hw::iotlb_desc::domain, d->did()));
        EXPECT_EQ(b.executed_scope(scope_kind::iotlb_domain), 1u) << "accepted by a unit without PSI";
    });
}

TEST(PagingDomain, PartialUnmapSplitsALargePage) {
    model_unit b;
    b.run([&] {
        auto d = new_domain(b);
        ASSERT_EQ(d->map_pa(0, 0x4000'0000, mib2, prot_read | prot_write), 0);
        ASSERT_EQ(d->unmap_pa(0x3000, 0x1000), 0);
        uint64_t pa = 0, size = 0;
        int prot = 0;
        EXPECT_FALSE(d->lookup(0x3000, pa, prot, size));
        ASSERT_TRUE(d->lookup(0x4000, pa, prot, size));
        EXPECT_EQ(size, 0x1000u);
        EXPECT_EQ(pa, 0x4000'4000u);
        EXPECT_EQ(prot, prot_read | prot_write);
        ASSERT_TRUE(d->lookup(0x1ff000, pa, prot, size));
        EXPECT_EQ(pa, 0x401f'f000u);
    });
}

TEST(PagingDomain, PermissionReductionIsFlushedAndAdditionIsNot) {
    model_unit b;
    b.run([&] {
        auto d = new_domain(b);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(d->map_pa(0, 0x4000'0000, mib2, prot_read | prot_write), 0);
        b.mark();
        ASSERT_EQ(d->set_prot(0x1000, 0x1000, prot_read), 0);  // splits the 2 MiB leaf
        uint64_t pa = 0, size = 0;
        int prot = 0;
        ASSERT_TRUE(d->lookup(0x1000, pa, prot, size));
        EXPECT_EQ(prot, prot_read);
        EXPECT_EQ(size, 0x1000u);
        ASSERT_TRUE(d->lookup(0x2000, pa, prot, size));
        EXPECT_EQ(prot, prot_read | prot_write);
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 2u);
        EXPECT_EQ(sent[0], hw::make_iotlb_inv(hw::iotlb_desc::page, d->did(), 0x1000, 0, false));
        EXPECT_EQ(b.executed_total(), 2u);
        b.mark();
        ASSERT_EQ(d->set_prot(0x1000, 0x1000, prot_read | prot_write), 0);
        EXPECT_TRUE(b.sent().empty()) << "adding a right needs no flush";
        EXPECT_EQ(b.executed_total(), 0u);
        EXPECT_EQ(d->set_prot(0x1000, 0x1000, 0), -EINVAL);
    });
}

TEST(PagingDomain, NestParentRefusesReadOnlyMappings) {
    // ERRATA_772415_SPR17 (docs/iommufd-facts.md): Linux refuses read-only leaves in a nest parent.
    model_unit b;
    b.run([&] {
        auto parent = new_domain(b, true);
        EXPECT_EQ(parent->map_pa(0, 0x4000'0000, 0x1000, prot_read), -EINVAL);
        uint64_t pa = 0, size = 0;
        int prot = 0;
        EXPECT_FALSE(parent->lookup(0, pa, prot, size)) << "a refused map leaves nothing behind";
        EXPECT_EQ(parent->table_pages(), 1u) << "only the root table";
        ASSERT_EQ(parent->map_pa(0, 0x4000'0000, 0x1000, prot_write), 0);
        ASSERT_EQ(parent->map_pa(0x1000, 0x4000'1000, 0x1000, prot_read | prot_write), 0);
        EXPECT_EQ(parent->set_prot(0x1000, 0x1000, prot_read), -EINVAL);
        ASSERT_TRUE(parent->lookup(0x1000, pa, prot, size));
        EXPECT_EQ(prot, prot_read | prot_write) << "the refused reduction changed nothing";
        // A domain that is no nest parent keeps accepting them.
        auto plain = new_domain(b);
        EXPECT_EQ(plain->map_pa(0, 0x4000'0000, 0x1000, prot_read), 0);
    });
}

TEST(PagingDomain, UnmapOfANestParentFlushesNestedChildren) {
    model_unit b;
    b.run([&] {
        auto parent = new_domain(b, true);
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = 0x5000;
        s1.addr_width = 48;
        std::unique_ptr<nested_domain> child;
        ASSERT_EQ(nested_domain::create(b.vtd(), &b.ops(), *parent, s1, child), 0);
        ASSERT_EQ(child->attach_dev(b.ats_dev), 0);
        ASSERT_EQ(parent->map_pa(0x200000, 0x6000'0000, 0x2000, prot_read | prot_write), 0);
        b.mark();
        ASSERT_EQ(parent->unmap_pa(0x200000, 0x1000), 0);
        // No device on the parent itself: only the child's DID and a whole device-TLB flush.
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 3u);
        EXPECT_EQ(sent[0], hw::make_iotlb_inv(hw::iotlb_desc::page, child->did(), 0x200000, 0, false));
        EXPECT_EQ(sent[1], driver::dev_tlb_inv(b.vtd().flush_capabilities(), 0x0108, {0, 52}));
        EXPECT_EQ(b.executed(hw::inv_type::iotlb), 1u);
        EXPECT_EQ(b.executed(hw::inv_type::dev_tlb), 1u);
    });
}

TEST(PagingDomain, AttachProgramsSecondStageEntryAndDetachBlocks) {
    model_unit b;
    b.run([&] {
        auto d = new_domain(b);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        hw::pasid_entry::words e{};
        ASSERT_TRUE(b.vtd().read_device_entry(b.dev.rid, e));
        EXPECT_EQ(hw::pasid_entry::p::get(e), 1u);
        EXPECT_EQ(hw::pasid_entry::pgtt::get(e), static_cast<uint64_t>(hw::pgtt::second_stage));
        EXPECT_EQ(hw::pasid_entry::ssptptr::get(e) << 12, d->root());
        EXPECT_EQ(hw::pasid_entry::aw::get(e), 2u);
        EXPECT_EQ(hw::pasid_entry::did::get(e), d->did());
        // Replace by another paging domain: the old entry is flushed with the old DID.
        auto d2 = new_domain(b);
        b.mark();
        ASSERT_EQ(d2->attach_dev(b.dev), 0);
        EXPECT_EQ(b.dev.domain, d2.get());
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 3u);
        EXPECT_EQ(sent[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, d->did(), 0));
        EXPECT_EQ(sent[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, d->did()));
        EXPECT_EQ(b.executed_total(), 3u);
        b.ops().detach_dev(b.dev);
        EXPECT_EQ(b.dev.domain, nullptr);
        ASSERT_TRUE(b.vtd().read_device_entry(b.dev.rid, e));
        EXPECT_EQ(hw::pasid_entry::p::get(e), 0u);
    });
}

TEST(PagingDomain, MapOfUserMemoryPinsItAndDestroyReturnsEverything) {
    model_unit b;
    b.run([&] {
        const std::size_t free_before = b.pages().free_pages();
        const unsigned dids_before = b.vtd().dids_in_use();
        {
            auto d = new_domain(b);
            alignas(4096) static uint8_t buffer[0x3000];
            buffer[0x1004] = 0x5a;
            ASSERT_EQ(d->map(0x80000, buffer, sizeof buffer, prot_read), 0);
            uint64_t pa = 0, size = 0;
            int prot = 0;
            ASSERT_TRUE(d->lookup(0x81004, pa, prot, size));
            uint8_t v = 0;
            ASSERT_TRUE(b.bus().mem_read(pa, &v, 1));
            EXPECT_EQ(v, 0x5a);
            EXPECT_EQ(d->map(0x90000, buffer + 1, 0x1000, prot_read), -EINVAL);
            ASSERT_EQ(d->unmap(0x80000, sizeof buffer), 0);
            EXPECT_FALSE(d->lookup(0x81004, pa, prot, size));
        }
        EXPECT_EQ(b.pages().free_pages(), free_before);
        EXPECT_EQ(b.vtd().dids_in_use(), dids_before);
    });
}

}  // namespace
}  // namespace iommusim::test
