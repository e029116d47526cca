// vtd_ops and nested domains against the register-level stand-in: hw_info, the allocation checks of
// spec/iommufd.md §4.1 and §6.1, the attach-time checks, the nested PASID entry, and
// cache_invalidate_user's errno/entry_num contract and descriptors (§4.2-§4.4).
#include "driver/nested_domain.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "driver/fake_vtd_util.h"
#include "driver/paging_domain.h"
#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_regs.h"
#include "iommusim/iommufd.h"

namespace iommusim::test {
namespace {

using driver::iommu_device;
using driver::iommu_domain;
using driver::iommu_user_data;
using driver::iommu_user_data_array;
using driver::page_allocator;
using driver::vtd_iommu;
using driver::vtd_ops;

uint64_t uptr(const void* p) {
    return reinterpret_cast<uint64_t>(p);
}

struct Bench {
    explicit Bench(fake_caps caps = default_caps())
        : hw(caps), pages(hw, 0x1000'0000, 0x400'0000), iommu(hw, pages), ops(iommu) {
        EXPECT_EQ(iommu.probe(), 0);
        dev.rid = 0x0100;
        dev.ops = &ops;
        ats_dev.rid = 0x0108;
        ats_dev.ats = true;
        ats_dev.ops = &ops;
        EXPECT_EQ(ops.domain_alloc_paging_flags(dev, driver::alloc_flag_nest_parent, nullptr, parent), 0);
    }
    int alloc_nested(const iommu_hwpt_vtd_s1& s1, std::unique_ptr<iommu_domain>& out, uint32_t flags = 0,
                     std::size_t len = sizeof(iommu_hwpt_vtd_s1), uint32_t type = IOMMU_HWPT_DATA_VTD_S1) {
        iommu_user_data data{type, uptr(&s1), len};
        return ops.domain_alloc_nested(dev, *parent, flags, data, out);
    }
    std::unique_ptr<iommu_domain> nested(uint32_t addr_width = 48, uint64_t flags = 0) {
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = 0x1234'5000;
        s1.addr_width = addr_width;
        s1.flags = flags;
        std::unique_ptr<iommu_domain> out;
        EXPECT_EQ(alloc_nested(s1, out), 0);
        return out;
    }
    fake_vtd hw;
    page_allocator pages;
    vtd_iommu iommu;
    vtd_ops ops;
    iommu_device dev;
    iommu_device ats_dev;
    std::unique_ptr<iommu_domain> parent;
};

iommu_hwpt_vtd_s1_invalidate inv(uint64_t addr, uint64_t npages, uint32_t flags = 0) {
    iommu_hwpt_vtd_s1_invalidate e{};
    e.addr = addr;
    e.npages = npages;
    e.flags = flags;
    return e;
}

iommu_user_data_array array_of(const std::vector<iommu_hwpt_vtd_s1_invalidate>& v,
                               uint32_t type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1) {
    iommu_user_data_array a;
    a.type = type;
    a.uptr = uptr(v.data());
    a.entry_len = sizeof(iommu_hwpt_vtd_s1_invalidate);
    a.entry_num = static_cast<uint32_t>(v.size());
    return a;
}

TEST(VtdOps, HwInfoReportsTheLiveCapabilityRegisters) {
    Bench b;
    std::vector<uint8_t> data;
    uint32_t type = 0;
    uint64_t caps = ~uint64_t{0};
    ASSERT_EQ(b.ops.hw_info(b.dev, data, type, caps), 0);
    EXPECT_EQ(type, static_cast<uint32_t>(IOMMU_HW_INFO_TYPE_INTEL_VTD));
    ASSERT_EQ(data.size(), sizeof(iommu_hw_info_vtd));
    iommu_hw_info_vtd info{};
    std::memcpy(&info, data.data(), sizeof info);
    EXPECT_EQ(info.cap_reg, b.hw.caps.cap);
    EXPECT_EQ(info.ecap_reg, b.hw.caps.ecap);
    EXPECT_EQ(info.flags, static_cast<uint32_t>(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17));
    EXPECT_EQ(caps, 0u);
}

TEST(VtdOps, PagingAllocationChecks) {
    Bench b;
    std::unique_ptr<iommu_domain> d;
    EXPECT_EQ(b.ops.domain_alloc_paging_flags(b.dev, 1u << 5, nullptr, d), -EOPNOTSUPP);
    EXPECT_EQ(b.ops.domain_alloc_paging_flags(b.dev, driver::alloc_flag_dirty_tracking, nullptr, d), -EOPNOTSUPP);
    iommu_user_data data{};
    EXPECT_EQ(b.ops.domain_alloc_paging_flags(b.dev, 0, &data, d), -EOPNOTSUPP);
    ASSERT_EQ(b.ops.domain_alloc_paging_flags(b.dev, 0, nullptr, d), 0);
    EXPECT_FALSE(d->is_nest_parent());
    EXPECT_TRUE(b.parent->is_nest_parent());

    fake_caps caps = default_caps();
    caps.ecap = hw::ecap::nest::set(caps.ecap, 0);
    fake_vtd hw(caps);
    page_allocator pages(hw, 0x1000'0000, 0x10'0000);
    vtd_iommu iommu(hw, pages);
    ASSERT_EQ(iommu.probe(), 0);
    vtd_ops ops(iommu);
    EXPECT_EQ(ops.domain_alloc_paging_flags(b.dev, driver::alloc_flag_nest_parent, nullptr, d), -EOPNOTSUPP);
}

TEST(VtdOps, NestedAllocationChecksInKernelOrder) {
    Bench b;
    iommu_hwpt_vtd_s1 s1{};
    s1.addr_width = 48;
    std::unique_ptr<iommu_domain> out;
    EXPECT_EQ(b.alloc_nested(s1, out, 1), -EOPNOTSUPP) << "flags";
    EXPECT_EQ(b.alloc_nested(s1, out, 0, sizeof s1, IOMMU_HWPT_DATA_NONE), -EOPNOTSUPP) << "data type";
    EXPECT_EQ(b.alloc_nested(s1, out, 0, sizeof s1 - 1), -EINVAL) << "short data";
    EXPECT_EQ(b.alloc_nested(s1, out, 0, sizeof s1 + 8), -EINVAL) << "long data";
    iommu_user_data bad{IOMMU_HWPT_DATA_VTD_S1, 0x10, sizeof s1};
    EXPECT_EQ(b.ops.domain_alloc_nested(b.dev, *b.parent, 0, bad, out), -EFAULT);
    std::unique_ptr<iommu_domain> plain;
    ASSERT_EQ(b.ops.domain_alloc_paging_flags(b.dev, 0, nullptr, plain), 0);
    iommu_user_data data{IOMMU_HWPT_DATA_VTD_S1, uptr(&s1), sizeof s1};
    EXPECT_EQ(b.ops.domain_alloc_nested(b.dev, *plain, 0, data, out), -EINVAL) << "parent not nest parent";
    ASSERT_EQ(b.alloc_nested(s1, out), 0);
    EXPECT_EQ(b.ops.domain_alloc_nested(b.dev, *out, 0, data, out), -EINVAL) << "nested parent";
    // Not validated at allocation: width, reserved, unknown flags.
    s1.addr_width = 39;
    s1.__reserved = 1;
    s1.flags = 1u << 7;
    EXPECT_EQ(b.alloc_nested(s1, out), 0);
}

TEST(VtdOps, NestedAllocationNeedsNestingSupport) {
    Bench b;
    b.hw.caps.ecap = 0;  // no effect on an already probed unit: capabilities are latched at probe
    iommu_hwpt_vtd_s1 s1{};
    s1.addr_width = 48;
    std::unique_ptr<iommu_domain> out;
    EXPECT_EQ(b.alloc_nested(s1, out), 0);
}

TEST(NestedDomain, AttachTimeChecks) {
    Bench b;
    EXPECT_EQ(b.nested(39)->attach_dev(b.dev), -EINVAL);
    EXPECT_EQ(b.nested(57)->attach_dev(b.dev), -EINVAL) << "57 needs FS5LP";
    EXPECT_EQ(b.dev.domain, nullptr) << "failed attach keeps the old state";

    fake_caps caps = default_caps();
    caps.cap |= hw::cap::fs5lp::make(1);
    caps.ecap = hw::ecap::srs::set(caps.ecap, 0);
    caps.ecap = hw::ecap::eafs::set(caps.ecap, 0);
    Bench c(caps);
    EXPECT_EQ(c.nested(57)->attach_dev(c.dev), 0);
    EXPECT_EQ(c.nested(48, IOMMU_VTD_S1_SRE)->attach_dev(c.dev), -EINVAL) << "SRE needs SRS";
    EXPECT_EQ(c.nested(48, IOMMU_VTD_S1_EAFE)->attach_dev(c.dev), -EINVAL) << "EAFE needs EAFS";
}

TEST(NestedDomain, AttachProgramsANestedPasidEntry) {
    Bench b;
    auto n = b.nested(48, IOMMU_VTD_S1_SRE | IOMMU_VTD_S1_WPE | IOMMU_VTD_S1_EAFE);
    auto& nd = static_cast<driver::nested_domain&>(*n);
    auto& parent = static_cast<driver::paging_domain&>(*b.parent);
    ASSERT_EQ(n->attach_dev(b.dev), 0);
    EXPECT_EQ(b.dev.domain, n.get());
    hw::pasid_entry::words e{};
    ASSERT_TRUE(b.iommu.read_device_entry(b.dev.rid, e));
    EXPECT_EQ(hw::pasid_entry::p::get(e), 1u);
    EXPECT_EQ(hw::pasid_entry::pgtt::get(e), static_cast<uint64_t>(hw::pgtt::nested));
    EXPECT_EQ(hw::pasid_entry::fsptptr::get(e) << 12, 0x1234'5000u);
    EXPECT_EQ(hw::pasid_entry::fspm::get(e), 0u);
    EXPECT_EQ(hw::pasid_entry::ssptptr::get(e) << 12, parent.root());
    EXPECT_EQ(hw::pasid_entry::aw::get(e), parent.aw());
    EXPECT_EQ(hw::pasid_entry::did::get(e), nd.did());
    EXPECT_NE(nd.did(), parent.did());
    EXPECT_EQ(hw::pasid_entry::sre::get(e), 1u);
    EXPECT_EQ(hw::pasid_entry::wpe::get(e), 1u);
    EXPECT_EQ(hw::pasid_entry::eafe::get(e), 1u);
    // WPE without SRE is not programmed.
    auto w = b.nested(48, IOMMU_VTD_S1_WPE);
    ASSERT_EQ(w->attach_dev(b.dev), 0);
    ASSERT_TRUE(b.iommu.read_device_entry(b.dev.rid, e));
    EXPECT_EQ(hw::pasid_entry::wpe::get(e), 0u);
}

TEST(NestedDomain, FiveLevelStageOneSetsFspm) {
    fake_caps caps = default_caps();
    caps.cap |= hw::cap::fs5lp::make(1);
    Bench b(caps);
    auto n = b.nested(57);
    ASSERT_EQ(n->attach_dev(b.dev), 0);
    hw::pasid_entry::words e{};
    ASSERT_TRUE(b.iommu.read_device_entry(b.dev.rid, e));
    EXPECT_EQ(hw::pasid_entry::fspm::get(e), 1u);
}

TEST(CacheInvalidateUser, WrongTypeIsEinvalEvenWithNoEntries) {
    Bench b;
    auto n = b.nested();
    std::vector<iommu_hwpt_vtd_s1_invalidate> none;
    auto a = array_of(none, 1);
    EXPECT_EQ(n->cache_invalidate_user(a), -EINVAL);
    EXPECT_EQ(a.entry_num, 0u);
    std::vector<iommu_hwpt_vtd_s1_invalidate> one = {inv(0, 1)};
    a = array_of(one, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST);
    EXPECT_EQ(n->cache_invalidate_user(a), -EINVAL);
    EXPECT_EQ(a.entry_num, 0u);
    a = array_of(none);
    EXPECT_EQ(n->cache_invalidate_user(a), 0);
    EXPECT_EQ(a.entry_num, 0u);
}

TEST(CacheInvalidateUser, EveryErrnoRuleStopsAtTheFailingEntry) {
    Bench b;
    auto n = b.nested();
    ASSERT_EQ(n->attach_dev(b.dev), 0);
    struct Case {
        iommu_hwpt_vtd_s1_invalidate bad;
        int err;
    };
    auto reserved = inv(0, 1);
    reserved.__reserved = 1;
    const Case cases[] = {
        {inv(0x1000, 1, 1u << 1), -EOPNOTSUPP},  // unknown flag
        {reserved, -EOPNOTSUPP},                 // reserved field
        {inv(0x1800, 1), -EINVAL},               // not 4 KiB aligned
        {inv(0x1000, ~uint64_t{0}), -EINVAL},    // U64_MAX needs addr 0
    };
    for (const Case& c : cases) {
        std::vector<iommu_hwpt_vtd_s1_invalidate> v = {inv(0, 1), inv(0x2000, 2, IOMMU_VTD_INV_FLAGS_LEAF), c.bad,
                                                       inv(0x3000, 1)};
        auto a = array_of(v);
        EXPECT_EQ(n->cache_invalidate_user(a), c.err);
        EXPECT_EQ(a.entry_num, 2u);
    }
    // Entry size must be exactly 24, smaller or larger.
    std::vector<iommu_hwpt_vtd_s1_invalidate> v = {inv(0, 1), inv(0, 1)};
    auto a = array_of(v);
    a.entry_len = 16;
    EXPECT_EQ(n->cache_invalidate_user(a), -EINVAL);
    EXPECT_EQ(a.entry_num, 0u);
    a = array_of(v);
    a.entry_len = 32;
    EXPECT_EQ(n->cache_invalidate_user(a), -EINVAL);
    EXPECT_EQ(a.entry_num, 0u);
    // A fault on the second entry.
    a = array_of(v);
    a.uptr = 0x1000 - sizeof(iommu_hwpt_vtd_s1_invalidate) + 0;  // entry 0 in page 0: unreadable as well
    EXPECT_EQ(n->cache_invalidate_user(a), -EFAULT);
    EXPECT_EQ(a.entry_num, 0u);
    // All good: entry_num unchanged; U64_MAX with addr 0 and npages 0 are accepted.
    std::vector<iommu_hwpt_vtd_s1_invalidate> good = {inv(0, ~uint64_t{0}), inv(0x5000, 0), inv(0x7000, 3)};
    a = array_of(good);
    EXPECT_EQ(n->cache_invalidate_user(a), 0);
    EXPECT_EQ(a.entry_num, 3u);
}

TEST(CacheInvalidateUser, EntriesBecomePasidIotlbDescriptorsInOneBatch) {
    Bench b;
    auto n = b.nested();
    auto& nd = static_cast<driver::nested_domain&>(*n);
    ASSERT_EQ(n->attach_dev(b.dev), 0);
    ASSERT_EQ(n->attach_dev(b.ats_dev), 0);
    b.hw.processed.clear();
    b.iommu.qi().reset_stats();
    std::vector<iommu_hwpt_vtd_s1_invalidate> v = {inv(0x5000, 1), inv(0x3000, 2, IOMMU_VTD_INV_FLAGS_LEAF),
                                                   inv(0, ~uint64_t{0})};
    auto a = array_of(v);
    ASSERT_EQ(n->cache_invalidate_user(a), 0);
    EXPECT_EQ(b.iommu.qi().stats().batches, 1u);
    ASSERT_EQ(b.hw.processed.size(), 7u);
    using hw::p_iotlb_desc::page;
    EXPECT_EQ(b.hw.processed[0], hw::make_p_iotlb_inv(page, nd.did(), 0, 0x5000, 0, false));
    EXPECT_EQ(b.hw.processed[1], b.iommu.dev_tlb_inv(0x0108, 0x5000, 0));
    // pfn 3..4 straddle: grown to 8 pages at 0.
    EXPECT_EQ(b.hw.processed[2], hw::make_p_iotlb_inv(page, nd.did(), 0, 0, 3, true));
    EXPECT_EQ(b.hw.processed[3], b.iommu.dev_tlb_inv(0x0108, 0, 3));
    EXPECT_EQ(b.hw.processed[4], hw::make_p_iotlb_inv(page, nd.did(), 0, 0, 52, false));
    EXPECT_EQ(b.hw.processed[5], b.iommu.dev_tlb_inv(0x0108, 0, 52));
    EXPECT_EQ(hw::desc::type_of(b.hw.processed[6]), static_cast<unsigned>(hw::inv_type::wait));
    // The device-TLB descriptor uses the ATS size encoding.
    uint64_t base = 0;
    EXPECT_EQ(hw::ats_inv_range(hw::dev_tlb_desc::addr::get(b.hw.processed[3]) << 12,
                                hw::dev_tlb_desc::s::get(b.hw.processed[3]), base),
              0x8000u);
    EXPECT_EQ(base, 0u);
}

TEST(CacheInvalidateUser, SixtyFourEntriesCostOneWait) {
    Bench b;
    auto n = b.nested();
    ASSERT_EQ(n->attach_dev(b.dev), 0);
    b.hw.processed.clear();
    b.iommu.qi().reset_stats();
    std::vector<iommu_hwpt_vtd_s1_invalidate> v;
    for (uint64_t i = 0; i < 64; ++i)
        v.push_back(inv(i * 0x1000, 1));
    auto a = array_of(v);
    ASSERT_EQ(n->cache_invalidate_user(a), 0);
    EXPECT_EQ(a.entry_num, 64u);
    EXPECT_EQ(b.iommu.qi().stats().batches, 1u);
    EXPECT_EQ(b.hw.processed.size(), 65u);
    EXPECT_EQ(count_type(b.hw.processed, hw::inv_type::wait), 1u);
}

TEST(CacheInvalidateUser, HugeEntryCountStopsAtTheFirstUnreadableEntry) {
    Bench b;
    auto n = b.nested();
    ASSERT_EQ(n->attach_dev(b.dev), 0);
    // Three readable entries followed by an unmapped page: a count of 2^32-1 must neither allocate
    // for it nor run past the fault.
    const long pg = 4096;
    void* m = mmap(nullptr, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(m, MAP_FAILED);
    ASSERT_EQ(munmap(static_cast<uint8_t*>(m) + pg, pg), 0);
    auto* entries = reinterpret_cast<iommu_hwpt_vtd_s1_invalidate*>(static_cast<uint8_t*>(m) + pg - 3 * 24);
    for (int i = 0; i < 3; ++i)
        entries[i] = inv(0x1000 * i, 1);
    iommu_user_data_array a;
    a.type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
    a.uptr = uptr(entries);
    a.entry_len = sizeof(iommu_hwpt_vtd_s1_invalidate);
    a.entry_num = ~uint32_t{0};
    EXPECT_EQ(n->cache_invalidate_user(a), -EFAULT);
    EXPECT_EQ(a.entry_num, 3u);
    munmap(m, pg);
}

TEST(CacheInvalidateUser, ValidEntriesBeforeABadOneAreStillFlushed) {
    Bench b;
    auto n = b.nested();
    ASSERT_EQ(n->attach_dev(b.dev), 0);
    b.hw.processed.clear();
    std::vector<iommu_hwpt_vtd_s1_invalidate> v = {inv(0x1000, 1), inv(0x2001, 1)};
    auto a = array_of(v);
    EXPECT_EQ(n->cache_invalidate_user(a), -EINVAL);
    EXPECT_EQ(a.entry_num, 1u);
    ASSERT_EQ(b.hw.processed.size(), 2u);
    EXPECT_EQ(hw::p_iotlb_desc::addr::get(b.hw.processed[0]) << 12, 0x1000u);
}

}  // namespace
}  // namespace iommusim::test
