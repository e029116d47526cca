// Second-stage paging domains against the register-level stand-in: table construction with large
// pages, map/unmap rules, the flushes after unmap (PSI/DSI, device TLBs, nested children) and
// attach/replace/detach (spec/vtd.md §4.4, §5.4, §6.2, §6.7).
#include "driver/paging_domain.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "driver/fake_vtd_util.h"
#include "driver/nested_domain.h"
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

struct Bench {
    explicit Bench(fake_caps caps = default_caps())
        : hw(caps), pages(hw, 0x1000'0000, 0x400'0000), iommu(hw, pages), ops(iommu) {
        EXPECT_EQ(iommu.probe(), 0);
        hw.processed.clear();
        dev.rid = 0x0100;
        dev.ops = &ops;
        ats_dev.rid = 0x0108;
        ats_dev.ats = true;
        ats_dev.ops = &ops;
    }
    std::unique_ptr<paging_domain> domain(bool nest_parent = false) {
        std::unique_ptr<paging_domain> d;
        EXPECT_EQ(paging_domain::create(iommu, &ops, nest_parent, d), 0);
        return d;
    }
    fake_vtd hw;
    page_allocator pages;
    vtd_iommu iommu;
    vtd_ops ops;
    iommu_device dev;
    iommu_device ats_dev;
};

TEST(PagingDomain, MapUsesLargePagesWhereAlignmentAllows) {
    Bench b;
    auto d = b.domain();
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
}

TEST(PagingDomain, MisalignedPhysicalAddressOrMissingSslpsUsesSmallerPages) {
    fake_caps caps = default_caps();
    caps.cap = hw::cap::sslps::set(caps.cap, 1);  // 2 MiB only
    Bench b(caps);
    auto d = b.domain();
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
}

TEST(PagingDomain, LeafEntriesAreBuiltThroughTheSharedLayout) {
    Bench b;
    auto d = b.domain();
    ASSERT_EQ(d->map_pa(0x20'0000, 0x7000'0000, mib2, prot_read), 0);
    // Walk by hand: PML4[0] -> PDPT[0] -> PD[1] is a 2 MiB leaf.
    uint64_t e = 0;
    ASSERT_TRUE(b.hw.read64(d->root(), e));
    EXPECT_EQ(hw::ss_pte::r::get(e) & hw::ss_pte::w::get(e), 1u);
    ASSERT_TRUE(b.hw.read64(hw::ss_pte::addr::get(e) << 12, e));
    ASSERT_TRUE(b.hw.read64((hw::ss_pte::addr::get(e) << 12) + 8, e));
    EXPECT_EQ(hw::ss_pte::ps::get(e), 1u);
    EXPECT_EQ(hw::ss_pte::r::get(e), 1u);
    EXPECT_EQ(hw::ss_pte::w::get(e), 0u);
    EXPECT_EQ(hw::ss_pte::addr::get(e) << 12, 0x7000'0000u);
}

TEST(PagingDomain, MapRejectsBadInput) {
    Bench b;
    auto d = b.domain();
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
}

TEST(PagingDomain, UnmapFlushesPageSelectiveAndDeviceTlbs) {
    Bench b;
    auto d = b.domain();
    ASSERT_EQ(d->attach_dev(b.dev), 0);
    ASSERT_EQ(d->attach_dev(b.ats_dev), 0);
    EXPECT_EQ(b.dev.domain, d.get());
    ASSERT_EQ(d->map_pa(0x100000, 0x3000'0000, 0x10000, prot_read | prot_write), 0);
    b.hw.processed.clear();
    uint64_t unmapped = 0;
    ASSERT_EQ(d->unmap_pa(0x104000, 0x3000, &unmapped), 0);
    EXPECT_EQ(unmapped, 0x3000u);
    ASSERT_EQ(b.hw.processed.size(), 3u);
    EXPECT_EQ(b.hw.processed[0], hw::make_iotlb_inv(hw::iotlb_desc::page, d->did(), 0x104000, 2, false));
    EXPECT_EQ(b.hw.processed[1], b.iommu.dev_tlb_inv(0x0108, 0x104000, 2));
    EXPECT_EQ(hw::desc::type_of(b.hw.processed[2]), static_cast<unsigned>(hw::inv_type::wait));
    uint64_t pa = 0, size = 0;
    int prot = 0;
    EXPECT_FALSE(d->lookup(0x105000, pa, prot, size));
    EXPECT_TRUE(d->lookup(0x107000, pa, prot, size));
}

TEST(PagingDomain, LargeRangeOrNoPsiFlushesDomainSelective) {
    Bench b;
    auto d = b.domain();
    ASSERT_EQ(d->attach_dev(b.dev), 0);
    ASSERT_EQ(d->map_pa(0, 0, 2 * gib1, prot_read), 0);
    b.hw.processed.clear();
    ASSERT_EQ(d->unmap_pa(0, 2 * gib1), 0);  // 2^19 pages > MAMV 18
    ASSERT_EQ(b.hw.processed.size(), 2u);
    EXPECT_EQ(b.hw.processed[0], hw::make_iotlb_inv(hw::iotlb_desc::domain, d->did()));

    fake_caps caps = default_caps();
    caps.cap = hw::cap::psi::set(caps.cap, 0);
    Bench nopsi(caps);
    auto d2 = nopsi.domain();
    ASSERT_EQ(d2->attach_dev(nopsi.dev), 0);
    ASSERT_EQ(d2->map_pa(0, 0, 0x1000, prot_read), 0);
    nopsi.hw.processed.clear();
    ASSERT_EQ(d2->unmap_pa(0, 0x1000), 0);
    EXPECT_EQ(nopsi.hw.processed[0], hw::make_iotlb_inv(hw::iotlb_desc::domain, d2->did()));
}

TEST(PagingDomain, PartialUnmapSplitsALargePage) {
    Bench b;
    auto d = b.domain();
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
}

TEST(PagingDomain, PermissionReductionIsFlushedAndAdditionIsNot) {
    Bench b;
    auto d = b.domain();
    ASSERT_EQ(d->attach_dev(b.dev), 0);
    ASSERT_EQ(d->map_pa(0, 0x4000'0000, mib2, prot_read | prot_write), 0);
    b.hw.processed.clear();
    ASSERT_EQ(d->set_prot(0x1000, 0x1000, prot_read), 0);  // splits the 2 MiB leaf
    uint64_t pa = 0, size = 0;
    int prot = 0;
    ASSERT_TRUE(d->lookup(0x1000, pa, prot, size));
    EXPECT_EQ(prot, prot_read);
    EXPECT_EQ(size, 0x1000u);
    ASSERT_TRUE(d->lookup(0x2000, pa, prot, size));
    EXPECT_EQ(prot, prot_read | prot_write);
    ASSERT_EQ(b.hw.processed.size(), 2u);
    EXPECT_EQ(b.hw.processed[0], hw::make_iotlb_inv(hw::iotlb_desc::page, d->did(), 0x1000, 0, false));
    b.hw.processed.clear();
    ASSERT_EQ(d->set_prot(0x1000, 0x1000, prot_read | prot_write), 0);
    EXPECT_TRUE(b.hw.processed.empty()) << "adding a right needs no flush";
    EXPECT_EQ(d->set_prot(0x1000, 0x1000, 0), -EINVAL);
}

TEST(PagingDomain, UnmapOfANestParentFlushesNestedChildren) {
    Bench b;
    auto parent = b.domain(true);
    iommu_hwpt_vtd_s1 s1{};
    s1.pgtbl_addr = 0x5000;
    s1.addr_width = 48;
    std::unique_ptr<nested_domain> child;
    ASSERT_EQ(nested_domain::create(b.iommu, &b.ops, *parent, s1, child), 0);
    ASSERT_EQ(child->attach_dev(b.ats_dev), 0);
    ASSERT_EQ(parent->map_pa(0x200000, 0x6000'0000, 0x2000, prot_read), 0);
    b.hw.processed.clear();
    ASSERT_EQ(parent->unmap_pa(0x200000, 0x1000), 0);
    // No device on the parent itself: only the child's DID and a whole device-TLB flush.
    ASSERT_EQ(b.hw.processed.size(), 3u);
    EXPECT_EQ(b.hw.processed[0], hw::make_iotlb_inv(hw::iotlb_desc::page, child->did(), 0x200000, 0, false));
    EXPECT_EQ(b.hw.processed[1], b.iommu.dev_tlb_inv(0x0108, 0, 52));
}

TEST(PagingDomain, AttachProgramsSecondStageEntryAndDetachBlocks) {
    Bench b;
    auto d = b.domain();
    ASSERT_EQ(d->attach_dev(b.dev), 0);
    hw::pasid_entry::words e{};
    ASSERT_TRUE(b.iommu.read_device_entry(b.dev.rid, e));
    EXPECT_EQ(hw::pasid_entry::p::get(e), 1u);
    EXPECT_EQ(hw::pasid_entry::pgtt::get(e), static_cast<uint64_t>(hw::pgtt::second_stage));
    EXPECT_EQ(hw::pasid_entry::ssptptr::get(e) << 12, d->root());
    EXPECT_EQ(hw::pasid_entry::aw::get(e), 2u);
    EXPECT_EQ(hw::pasid_entry::did::get(e), d->did());
    // Replace by another paging domain: the old entry is flushed with the old DID.
    auto d2 = b.domain();
    b.hw.processed.clear();
    ASSERT_EQ(d2->attach_dev(b.dev), 0);
    EXPECT_EQ(b.dev.domain, d2.get());
    ASSERT_EQ(b.hw.processed.size(), 3u);
    EXPECT_EQ(b.hw.processed[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, d->did(), 0));
    EXPECT_EQ(b.hw.processed[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, d->did()));
    b.ops.detach_dev(b.dev);
    EXPECT_EQ(b.dev.domain, nullptr);
    ASSERT_TRUE(b.iommu.read_device_entry(b.dev.rid, e));
    EXPECT_EQ(hw::pasid_entry::p::get(e), 0u);
}

TEST(PagingDomain, MapOfUserMemoryPinsItAndDestroyReturnsEverything) {
    Bench b;
    const std::size_t free_before = b.pages.free_pages();
    const unsigned dids_before = b.iommu.dids_in_use();
    {
        auto d = b.domain();
        alignas(4096) static uint8_t buffer[0x3000];
        buffer[0x1004] = 0x5a;
        ASSERT_EQ(d->map(0x80000, buffer, sizeof buffer, prot_read), 0);
        uint64_t pa = 0, size = 0;
        int prot = 0;
        ASSERT_TRUE(d->lookup(0x81004, pa, prot, size));
        uint8_t v = 0;
        ASSERT_TRUE(b.hw.mem_read(pa, &v, 1));
        EXPECT_EQ(v, 0x5a);
        EXPECT_EQ(d->map(0x90000, buffer + 1, 0x1000, prot_read), -EINVAL);
        ASSERT_EQ(d->unmap(0x80000, sizeof buffer), 0);
        EXPECT_FALSE(d->lookup(0x81004, pa, prot, size));
    }
    EXPECT_EQ(b.pages.free_pages(), free_before);
    EXPECT_EQ(b.iommu.dids_in_use(), dids_before);
}

}  // namespace
}  // namespace iommusim::test
