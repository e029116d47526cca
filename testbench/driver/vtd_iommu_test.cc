// Probe, bring-up, GCMD protocol, DID allocation, device tables and the PSI address/mask algorithm,
// against the register-level stand-in (spec/vtd.md §1-§4, §6.7).
#include "driver/vtd_iommu.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "driver/fake_vtd_util.h"
#include "iommusim/hw/vtd_regs.h"

namespace iommusim::test {
namespace {

using driver::page_allocator;
using driver::vtd_iommu;

int probe_with(fake_caps caps, std::string& error) {
    fake_vtd hw(caps);
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    return iommu.probe(&error);
}

TEST(VtdIommu, ProbeBringsUpQueueRootTableAndTranslation) {
    fake_vtd hw;
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    std::string error;
    ASSERT_EQ(iommu.probe(&error), 0) << error;
    EXPECT_TRUE(hw::gsts::qies::get(hw.gsts));
    EXPECT_TRUE(hw::gsts::tes::get(hw.gsts));
    EXPECT_TRUE(hw::gsts::rtps::get(hw.gsts));
    EXPECT_EQ(hw::iqa::dw::get(hw.iqa), 1u);
    EXPECT_EQ(hw::iqa::qs::get(hw.iqa), 1u);
    EXPECT_EQ(hw::rtaddr::ttm::get(hw.active_root), 1u) << "scalable mode";
    EXPECT_EQ(hw::rtaddr::rta::get(hw.active_root) << 12, iommu.root_table());
    EXPECT_EQ(iommu.ss_levels(), 4u);
    EXPECT_EQ(iommu.ss_width(), 48u);
    // Without ESRTPS the new root is followed by global context, PASID-cache and IOTLB flushes.
    ASSERT_EQ(hw.processed.size(), 4u);
    EXPECT_EQ(hw.processed[0], hw::make_cc_inv(hw::cc_desc::global));
    EXPECT_EQ(hw.processed[1], hw::make_pc_inv(hw::pc_desc::global));
    EXPECT_EQ(hw.processed[2], hw::make_iotlb_inv(hw::iotlb_desc::global));
    // Ring and root table are zeroed, 4 KiB aligned driver pages.
    EXPECT_EQ(iommu.root_table() & 0xfff, 0u);
    EXPECT_EQ((hw::iqa::iqa::get(hw.iqa) << 12) & 0xfff, 0u);
}

TEST(VtdIommu, EsrtpsSkipsTheGlobalFlush) {
    fake_caps caps = default_caps();
    caps.cap |= hw::cap::esrtps::make(1);
    fake_vtd hw(caps);
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    EXPECT_TRUE(hw.processed.empty());
}

TEST(VtdIommu, ProbeRefusesNamingTheMissingCapability) {
    std::string error;
    fake_caps caps = default_caps();
    caps.ecap = hw::ecap::qi::set(caps.ecap, 0);
    EXPECT_EQ(probe_with(caps, error), -ENODEV);
    EXPECT_NE(error.find("ECAP.QI"), std::string::npos) << error;

    caps = default_caps();
    caps.ecap = hw::ecap::smts::set(caps.ecap, 0);
    EXPECT_EQ(probe_with(caps, error), -ENODEV);
    EXPECT_NE(error.find("ECAP.SMTS"), std::string::npos) << error;

    caps = default_caps();
    caps.ecap = hw::ecap::ssts::set(caps.ecap, 0);
    EXPECT_EQ(probe_with(caps, error), -ENODEV);
    EXPECT_NE(error.find("ECAP.SSTS"), std::string::npos) << error;

    caps = default_caps();
    caps.cap = hw::cap::sagaw::set(caps.cap, 1);  // only the reserved 2-level encoding
    EXPECT_EQ(probe_with(caps, error), -ENODEV);
    EXPECT_NE(error.find("CAP.SAGAW"), std::string::npos) << error;

    caps = default_caps();
    caps.ver = 0;
    EXPECT_EQ(probe_with(caps, error), -ENODEV);
    EXPECT_NE(error.find("VER_REG"), std::string::npos) << error;
}

TEST(VtdIommu, ProbePicksFiveLevelWhenFourIsMissing) {
    fake_caps caps = default_caps();
    caps.cap = hw::cap::sagaw::set(caps.cap, 1u << 3);
    caps.cap = hw::cap::mgaw::set(caps.cap, 56);
    fake_vtd hw(caps);
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    EXPECT_EQ(iommu.ss_levels(), 5u);
    EXPECT_EQ(iommu.ss_aw(), 3u);
    EXPECT_EQ(iommu.ss_width(), 57u);
}

TEST(VtdIommu, GcmdTimesOutWhenStatusDoesNotFollow) {
    fake_vtd hw;
    hw.gsts_stuck = true;
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    std::string error;
    EXPECT_EQ(iommu.probe(&error), -ETIMEDOUT);
    EXPECT_NE(error.find("GSTS"), std::string::npos);
    EXPECT_FALSE(iommu.probed());
}

TEST(VtdIommu, GcmdWritesOneCommandKeepingPersistentBits) {
    fake_vtd hw;
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    ASSERT_EQ(iommu.gcmd(static_cast<uint32_t>(hw::gcmd::te::mask), false), 0);
    EXPECT_FALSE(hw::gsts::tes::get(hw.gsts));
    EXPECT_TRUE(hw::gsts::qies::get(hw.gsts)) << "QIE kept while TE is cleared";
}

TEST(VtdIommu, DidAllocatorIsSizedByNd) {
    fake_caps caps = default_caps();
    caps.cap = hw::cap::nd::set(caps.cap, 0);  // 16 domains
    fake_vtd hw(caps);
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    EXPECT_EQ(iommu.did_count(), 16u);
    std::vector<uint16_t> dids;
    uint16_t did = 0;
    while (iommu.alloc_did(did) == 0) {
        EXPECT_NE(did, 0) << "DID 0 is reserved";
        EXPECT_LT(did, 16);
        dids.push_back(did);
    }
    EXPECT_EQ(dids.size(), 15u);
    EXPECT_EQ(iommu.alloc_did(did), -ENOSPC);
    iommu.free_did(dids[4]);
    ASSERT_EQ(iommu.alloc_did(did), 0);
    EXPECT_EQ(did, dids[4]);
}

TEST(VtdIommu, DeviceEntryCreatesContextAndPasidTables) {
    fake_vtd hw;
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    hw::pasid_entry::words e{};
    hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::second_stage));
    hw::pasid_entry::did::set(e, 7);
    hw::pasid_entry::p::set(e, 1);
    const uint16_t rid = 0x0288;  // bus 2, devfn 0x88: upper context table
    ASSERT_EQ(iommu.set_device_entry(rid, true, e, &hw), 0);

    hw::root_entry::words re{};
    ASSERT_TRUE(hw.mem_read(iommu.root_table() + 2 * hw::root_entry::bytes, re.data(), sizeof re));
    EXPECT_EQ(hw::root_entry::lp::get(re), 0u);
    ASSERT_EQ(hw::root_entry::up::get(re), 1u);
    const uint64_t ctx = hw::root_entry::uctp::get(re) << 12;
    hw::context_entry::words ce{};
    ASSERT_TRUE(hw.mem_read(ctx + (0x88 % 128) * hw::context_entry::bytes, ce.data(), sizeof ce));
    EXPECT_EQ(hw::context_entry::p::get(ce), 1u);
    EXPECT_EQ(hw::context_entry::dte::get(ce), 1u);
    EXPECT_EQ(hw::context_entry::rid_pasid::get(ce), 0u);
    uint64_t dir = 0;
    ASSERT_TRUE(hw.read64(hw::context_entry::pasiddirptr::get(ce) << 12, dir));
    EXPECT_EQ(hw::pasid_dir_entry::p::get(dir), 1u);
    hw::pasid_entry::words got{};
    ASSERT_TRUE(hw.mem_read(hw::pasid_dir_entry::smptblptr::get(dir) << 12, got.data(), sizeof got));
    EXPECT_EQ(got, e);
    ASSERT_NE(iommu.attachment_of(rid), nullptr);
    EXPECT_EQ(iommu.attachment_of(rid)->did, 7);
}

TEST(VtdIommu, ReplacingAPresentEntryRunsTheSection67Sequence) {
    fake_vtd hw;
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    hw::pasid_entry::words e{};
    hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::nested));
    hw::pasid_entry::did::set(e, 9);
    hw::pasid_entry::p::set(e, 1);
    ASSERT_EQ(iommu.set_device_entry(0x0108, true, e, &hw), 0);
    hw.processed.clear();
    hw::pasid_entry::did::set(e, 10);
    hw::pasid_entry::pgtt::set(e, static_cast<uint64_t>(hw::pgtt::second_stage));
    ASSERT_EQ(iommu.set_device_entry(0x0108, true, e, &e), 0);
    ASSERT_EQ(hw.processed.size(), 4u);
    EXPECT_EQ(hw.processed[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, 9, 0));
    EXPECT_EQ(hw.processed[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, 9));
    EXPECT_EQ(hw.processed[2], iommu.dev_tlb_inv(0x0108, 0, 52));
    EXPECT_EQ(hw::desc::type_of(hw.processed[3]), static_cast<unsigned>(hw::inv_type::wait));

    hw.processed.clear();
    ASSERT_EQ(iommu.clear_device_entry(0x0108), 0);
    ASSERT_EQ(hw.processed.size(), 4u);
    EXPECT_EQ(hw.processed[0], hw::make_pc_inv(hw::pc_desc::pasid_sel, 10, 0));
    EXPECT_EQ(hw.processed[1], hw::make_iotlb_inv(hw::iotlb_desc::domain, 10));
    hw::pasid_entry::words got{};
    ASSERT_TRUE(iommu.read_device_entry(0x0108, got));
    EXPECT_EQ(hw::pasid_entry::p::get(got), 0u);
    EXPECT_EQ(iommu.attachment_of(0x0108), nullptr);
}

TEST(VtdIommu, PsiAlignedAddressFollowsTheCacheTagAlgorithm) {
    unsigned mask = 0;
    // One page.
    EXPECT_EQ(vtd_iommu::psi_aligned(0x5000, 0x5fff, mask), 0x5000u);
    EXPECT_EQ(mask, 0u);
    // Three pages, aligned start: rounded up to four.
    EXPECT_EQ(vtd_iommu::psi_aligned(0x8000, 0xafff, mask), 0x8000u);
    EXPECT_EQ(mask, 2u);
    // Two pages straddling a 16 KiB boundary (pfn 3..4): grow until start and end agree -> 8 pages.
    EXPECT_EQ(vtd_iommu::psi_aligned(0x3000, 0x4fff, mask), 0x0u);
    EXPECT_EQ(mask, 3u);
    // Unaligned start inside one 2 MiB block.
    EXPECT_EQ(vtd_iommu::psi_aligned(0x201000, 0x202fff, mask), 0x200000u + 0x0);
    EXPECT_EQ(mask, 2u);
    // Everything.
    EXPECT_EQ(vtd_iommu::psi_aligned(0, 0xffff'ffff'ffff'efffull, mask), 0u);
    EXPECT_EQ(mask, 52u);
}

TEST(VtdIommu, IotlbInvalidationFallsBackToDomainSelective) {
    fake_caps caps = default_caps();
    fake_vtd hw(caps);
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    EXPECT_EQ(iommu.iotlb_inv(5, 0x40000, 18, true), hw::make_iotlb_inv(hw::iotlb_desc::page, 5, 0x40000, 18, true));
    EXPECT_EQ(iommu.iotlb_inv(5, 0, 19, true), hw::make_iotlb_inv(hw::iotlb_desc::domain, 5));
}

TEST(PageAllocator, AllocatesZeroedAlignedBlocksAndReusesFreedPages) {
    fake_vtd hw;
    page_allocator pages(hw, 0x1000'1000, 0x10'000);  // 16 pages, base not 8-page aligned
    uint64_t a = 0;
    ASSERT_TRUE(hw.write64(0x1000'1000, 0xdead));
    ASSERT_EQ(pages.alloc(a), 0);
    EXPECT_EQ(a, 0x1000'1000u);
    uint64_t v = 1;
    ASSERT_TRUE(hw.read64(a, v));
    EXPECT_EQ(v, 0u) << "zeroed";
    uint64_t big = 0;
    ASSERT_EQ(pages.alloc(big, 3), 0);
    EXPECT_EQ(big & 0x7fff, 0u) << "8-page block naturally aligned";
    EXPECT_EQ(pages.free_pages(), 16u - 9u);
    pages.free(a);
    uint64_t again = 0;
    ASSERT_EQ(pages.alloc(again), 0);
    EXPECT_EQ(again, a);
    uint64_t huge = 0;
    EXPECT_EQ(pages.alloc(huge, 4), -ENOMEM);
}

}  // namespace
}  // namespace iommusim::test
