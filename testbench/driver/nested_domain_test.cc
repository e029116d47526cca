// vtd_ops and nested domains on the TLM model: hw_info, the allocation checks of docs/iommufd-facts.md
// §4.1 and §6.1, the attach-time checks, the nested PASID entry, and cache_invalidate_user's
// errno/entry_num contract and descriptors (§4.2-§4.4), read back from the ring, the queue
// engine's statistics and the ATS device's received requests.
#include "driver/nested_domain.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "driver/paging_domain.h"
#include "driver/vtd_model_util.h"
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

// A unit on the model with a nest-parent paging domain (built and destroyed on the CPU thread).
struct Bench : model_unit {
    explicit Bench(const platform_config& cfg = unit_config()) : model_unit(cfg) {
        run([&] {
            EXPECT_EQ(ops().domain_alloc_paging_flags(dev, driver::alloc_flag_nest_parent, nullptr, parent), 0);
        });
    }
    ~Bench() {
        run([&] { parent.reset(); });
    }
    int alloc_nested(const iommu_hwpt_vtd_s1& s1, std::unique_ptr<iommu_domain>& out, uint32_t flags = 0,
                     std::size_t len = sizeof(iommu_hwpt_vtd_s1), uint32_t type = IOMMU_HWPT_DATA_VTD_S1) {
        iommu_user_data data{type, uptr(&s1), len};
        return ops().domain_alloc_nested(dev, *parent, flags, data, out);
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
    b.run([&] {
        std::vector<uint8_t> data;
        uint32_t type = 0;
        uint64_t caps = ~uint64_t{0};
        ASSERT_EQ(b.ops().hw_info(b.dev, data, type, caps), 0);
        EXPECT_EQ(type, static_cast<uint32_t>(IOMMU_HW_INFO_TYPE_INTEL_VTD));
        ASSERT_EQ(data.size(), sizeof(iommu_hw_info_vtd));
        iommu_hw_info_vtd info{};
        std::memcpy(&info, data.data(), sizeof info);
        EXPECT_EQ(info.cap_reg, b.read64(hw::reg::CAP_OFFSET));
        EXPECT_EQ(info.ecap_reg, b.read64(hw::reg::ECAP_OFFSET));
        EXPECT_EQ(info.flags, static_cast<uint32_t>(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17));
        EXPECT_EQ(caps, 0u);
    });
}

TEST(VtdOps, PagingAllocationChecks) {
    Bench b;
    b.run([&] {
        std::unique_ptr<iommu_domain> d;
        EXPECT_EQ(b.ops().domain_alloc_paging_flags(b.dev, 1u << 5, nullptr, d), -EOPNOTSUPP);
        EXPECT_EQ(b.ops().domain_alloc_paging_flags(b.dev, driver::alloc_flag_dirty_tracking, nullptr, d), -EOPNOTSUPP);
        iommu_user_data data{};
        EXPECT_EQ(b.ops().domain_alloc_paging_flags(b.dev, 0, &data, d), -EOPNOTSUPP);
        ASSERT_EQ(b.ops().domain_alloc_paging_flags(b.dev, 0, nullptr, d), 0);
        EXPECT_FALSE(d->is_nest_parent());
        EXPECT_TRUE(b.parent->is_nest_parent());
    });
}

TEST(VtdOps, NestParentNeedsNesting) {
    platform_config cfg = unit_config();
    cfg.iommu.nest = false;
    model_unit u(cfg);
    u.run([&] {
        EXPECT_EQ(hw::ecap::nest::get(u.read64(hw::reg::ECAP_OFFSET)), 0u);
        std::unique_ptr<iommu_domain> d;
        EXPECT_EQ(u.ops().domain_alloc_paging_flags(u.dev, driver::alloc_flag_nest_parent, nullptr, d), -EOPNOTSUPP);
        EXPECT_EQ(u.ops().domain_alloc_paging_flags(u.dev, 0, nullptr, d), 0) << "plain paging still works";
    });
}

TEST(VtdOps, NestedAllocationChecksInKernelOrder) {
    Bench b;
    b.run([&] {
        iommu_hwpt_vtd_s1 s1{};
        s1.addr_width = 48;
        std::unique_ptr<iommu_domain> out;
        EXPECT_EQ(b.alloc_nested(s1, out, 1), -EOPNOTSUPP) << "flags";
        EXPECT_EQ(b.alloc_nested(s1, out, 0, sizeof s1, IOMMU_HWPT_DATA_NONE), -EOPNOTSUPP) << "data type";
        EXPECT_EQ(b.alloc_nested(s1, out, 0, sizeof s1 - 1), -EINVAL) << "short data";
        EXPECT_EQ(b.alloc_nested(s1, out, 0, sizeof s1 + 8), -EINVAL) << "long data";
        iommu_user_data bad{IOMMU_HWPT_DATA_VTD_S1, 0x10, sizeof s1};
        EXPECT_EQ(b.ops().domain_alloc_nested(b.dev, *b.parent, 0, bad, out), -EFAULT);
        std::unique_ptr<iommu_domain> plain;
        ASSERT_EQ(b.ops().domain_alloc_paging_flags(b.dev, 0, nullptr, plain), 0);
        iommu_user_data data{IOMMU_HWPT_DATA_VTD_S1, uptr(&s1), sizeof s1};
        EXPECT_EQ(b.ops().domain_alloc_nested(b.dev, *plain, 0, data, out), -EINVAL) << "parent not nest parent";
        ASSERT_EQ(b.alloc_nested(s1, out), 0);
        EXPECT_EQ(b.ops().domain_alloc_nested(b.dev, *out, 0, data, out), -EINVAL) << "nested parent";
        // Not validated at allocation: width, reserved, unknown flags.
        s1.addr_width = 39;
        s1.__reserved = 1;
        s1.flags = 1u << 7;
        EXPECT_EQ(b.alloc_nested(s1, out), 0);
    });
}

TEST(VtdOps, NestedAllocationNeedsNestingSupport) {
    // Without ECAP.NEST the nesting check comes first: -EOPNOTSUPP, where a nesting unit answers
    // -EINVAL for the same non-parent domain (NestedAllocationChecksInKernelOrder).
    platform_config cfg = unit_config();
    cfg.iommu.nest = false;
    model_unit u(cfg);
    u.run([&] {
        EXPECT_FALSE(u.vtd().nesting_supported());
        std::unique_ptr<iommu_domain> plain;
        ASSERT_EQ(u.ops().domain_alloc_paging_flags(u.dev, 0, nullptr, plain), 0);
        iommu_hwpt_vtd_s1 s1{};
        s1.addr_width = 48;
        iommu_user_data data{IOMMU_HWPT_DATA_VTD_S1, uptr(&s1), sizeof s1};
        std::unique_ptr<iommu_domain> out;
        EXPECT_EQ(u.ops().domain_alloc_nested(u.dev, *plain, 0, data, out), -EOPNOTSUPP);
        EXPECT_EQ(out, nullptr);
    });
}

TEST(NestedDomain, AttachTimeChecks) {
    Bench b;
    b.run([&] {
        EXPECT_EQ(b.nested(39)->attach_dev(b.dev), -EINVAL);
        EXPECT_EQ(b.nested(57)->attach_dev(b.dev), -EINVAL) << "57 needs FS5LP";
        EXPECT_EQ(b.dev.domain, nullptr) << "failed attach keeps the old state";
        hw::pasid_entry::words e{};
        EXPECT_FALSE(b.vtd().read_device_entry(b.dev.rid, e) && hw::pasid_entry::p::get(e)) << "nothing programmed";
    });
}

TEST(NestedDomain, AttachTimeChecksFollowTheUnitsCapabilities) {
    platform_config cfg = unit_config();
    cfg.iommu.fs5lp = true;
    cfg.iommu.srs = false;
    cfg.iommu.eafs = false;
    Bench c(cfg);
    c.run([&] {
        EXPECT_EQ(c.nested(57)->attach_dev(c.dev), 0);
        EXPECT_EQ(c.nested(48, IOMMU_VTD_S1_SRE)->attach_dev(c.dev), -EINVAL) << "SRE needs SRS";
        EXPECT_EQ(c.nested(48, IOMMU_VTD_S1_EAFE)->attach_dev(c.dev), -EINVAL) << "EAFE needs EAFS";
    });
}

TEST(NestedDomain, AttachProgramsANestedPasidEntry) {
    Bench b;
    b.run([&] {
        auto n = b.nested(48, IOMMU_VTD_S1_SRE | IOMMU_VTD_S1_WPE | IOMMU_VTD_S1_EAFE);
        auto& nd = static_cast<driver::nested_domain&>(*n);
        auto& parent = static_cast<driver::paging_domain&>(*b.parent);
        ASSERT_EQ(n->attach_dev(b.dev), 0);
        EXPECT_EQ(b.dev.domain, n.get());
        hw::pasid_entry::words e{};
        ASSERT_TRUE(b.vtd().read_device_entry(b.dev.rid, e));
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
        ASSERT_TRUE(b.vtd().read_device_entry(b.dev.rid, e));
        EXPECT_EQ(hw::pasid_entry::wpe::get(e), 0u);
    });
}

TEST(NestedDomain, FiveLevelStageOneSetsFspm) {
    platform_config cfg = unit_config();
    cfg.iommu.fs5lp = true;
    Bench b(cfg);
    b.run([&] {
        auto n = b.nested(57);
        ASSERT_EQ(n->attach_dev(b.dev), 0);
        hw::pasid_entry::words e{};
        ASSERT_TRUE(b.vtd().read_device_entry(b.dev.rid, e));
        EXPECT_EQ(hw::pasid_entry::fspm::get(e), 1u);
    });
}

TEST(CacheInvalidateUser, WrongTypeIsEinvalEvenWithNoEntries) {
    Bench b;
    b.run([&] {
        auto n = b.nested();
        b.mark();
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
        EXPECT_EQ(b.executed(hw::inv_type::pasid_iotlb), 0u) << "nothing flushed";
    });
}

TEST(CacheInvalidateUser, EveryErrnoRuleStopsAtTheFailingEntry) {
    Bench b;
    b.run([&] {
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
            b.mark();
            EXPECT_EQ(n->cache_invalidate_user(a), c.err);
            EXPECT_EQ(a.entry_num, 2u);
            EXPECT_EQ(b.executed(hw::inv_type::pasid_iotlb), 2u) << "the two entries before it";
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
        b.mark();
        EXPECT_EQ(n->cache_invalidate_user(a), 0);
        EXPECT_EQ(a.entry_num, 3u);
        EXPECT_EQ(b.executed(hw::inv_type::wait), 1u);
    });
}

TEST(CacheInvalidateUser, EntriesBecomePasidIotlbDescriptorsInOneBatch) {
    Bench b;
    b.run([&] {
        auto n = b.nested();
        auto& nd = static_cast<driver::nested_domain&>(*n);
        ASSERT_EQ(n->attach_dev(b.dev), 0);
        ASSERT_EQ(n->attach_dev(b.ats_dev), 0);
        b.mark();
        b.vtd().qi().reset_stats();
        const std::size_t devtlb_before = b.atc(0x0108).requests().size();
        std::vector<iommu_hwpt_vtd_s1_invalidate> v = {inv(0x5000, 1), inv(0x3000, 2, IOMMU_VTD_INV_FLAGS_LEAF),
                                                       inv(0, ~uint64_t{0})};
        auto a = array_of(v);
        ASSERT_EQ(n->cache_invalidate_user(a), 0);
        EXPECT_EQ(b.vtd().qi().stats().batches, 1u);
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 7u);
        using hw::p_iotlb_desc::page;
        EXPECT_EQ(sent[0], hw::make_p_iotlb_inv(page, nd.did(), 0, 0x5000, 0, false));
        EXPECT_EQ(sent[1], driver::dev_tlb_inv(b.vtd().flush_capabilities(), 0x0108, {0x5000, 0}));
        // pfn 3..4 straddle: grown to 8 pages at 0.
        EXPECT_EQ(sent[2], hw::make_p_iotlb_inv(page, nd.did(), 0, 0, 3, true));
        EXPECT_EQ(sent[3], driver::dev_tlb_inv(b.vtd().flush_capabilities(), 0x0108, {0, 3}));
        // Everything: PASID-selective (granularity 10), no address (Linux cache.c).
        EXPECT_EQ(sent[4], hw::make_p_iotlb_inv(hw::p_iotlb_desc::pasid_all, nd.did(), 0));
        EXPECT_EQ(sent[5], driver::dev_tlb_inv(b.vtd().flush_capabilities(), 0x0108, {0, 52}));
        EXPECT_EQ(hw::desc::type_of(sent[6]), static_cast<unsigned>(hw::inv_type::wait));
        EXPECT_EQ(b.executed(hw::inv_type::pasid_iotlb), 3u);
        EXPECT_EQ(b.executed(hw::inv_type::dev_tlb), 3u);
        EXPECT_EQ(b.executed(hw::inv_type::wait), 1u);
        // The device-TLB descriptor uses the ATS size encoding, as the device decoded it.
        uint64_t base = 0;
        EXPECT_EQ(
            hw::ats_inv_range(hw::dev_tlb_desc::addr::get(sent[3]) << 12, hw::dev_tlb_desc::s::get(sent[3]), base),
            0x8000u);
        EXPECT_EQ(base, 0u);
        const auto& reqs = b.atc(0x0108).requests();
        ASSERT_EQ(reqs.size(), devtlb_before + 3);
        EXPECT_EQ(reqs[devtlb_before + 1].base, 0u);
        EXPECT_EQ(reqs[devtlb_before + 1].length, 0x8000u);
    });
}

// Linux's cache_tag_flush_iotlb (drivers/iommu/intel/cache.c) sends a PASID-selective P_IOTLB
// when the aligned block reaches MAX_AGAW_PFN_WIDTH (52): for addr 0 / npages U64_MAX and for any
// range whose block grows to the whole space; a 2^51-page block stays page-selective.
TEST(CacheInvalidateUser, WholeAddressSpaceIsPasidSelective) {
    Bench b;
    b.run([&] {
        auto n = b.nested();
        auto& nd = static_cast<driver::nested_domain&>(*n);
        ASSERT_EQ(n->attach_dev(b.dev), 0);
        ASSERT_EQ(n->attach_dev(b.ats_dev), 0);
        b.mark();
        std::vector<iommu_hwpt_vtd_s1_invalidate> v = {inv(0, ~uint64_t{0}, IOMMU_VTD_INV_FLAGS_LEAF),
                                                       inv(0x1000, (uint64_t{1} << 52) - 1), inv(0, uint64_t{1} << 51)};
        auto a = array_of(v);
        ASSERT_EQ(n->cache_invalidate_user(a), 0);
        EXPECT_EQ(a.entry_num, 3u);
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 7u);
        // Type 6 in qw0 bits 3:0, G=10 in bits 5:4, DID in 31:16, PASID 0; qw1 (ADDR, IH, AM) zero.
        const uint64_t pasid_selective = 0x6u | (0x2u << 4) | (uint64_t{nd.did()} << 16);
        for (unsigned i : {0u, 2u}) {
            EXPECT_EQ(sent[i][0], pasid_selective) << "entry " << i / 2;
            EXPECT_EQ(sent[i][1], 0u) << "entry " << i / 2;
            EXPECT_EQ(sent[i][2] | sent[i][3], 0u);
        }
        // The 2^51-page block at 0: page-selective (G=11), AM 51, ADDR 0.
        EXPECT_EQ(sent[4][0], 0x6u | (0x3u << 4) | (uint64_t{nd.did()} << 16));
        EXPECT_EQ(sent[4][1], 51u);
        // Device TLB: the whole-space ATS encoding (S=1, ADDR[62:12] all ones, bit 63 clear).
        for (unsigned i : {1u, 3u}) {
            EXPECT_EQ(hw::desc::type_of(sent[i]), static_cast<unsigned>(hw::inv_type::dev_tlb));
            EXPECT_EQ(sent[i][1], 0x7fff'ffff'ffff'f001ull) << "entry " << i / 2;
        }
        EXPECT_EQ(b.executed_scope(scope_kind::iotlb_pasid), 2u);
        EXPECT_EQ(b.executed_scope(scope_kind::iotlb_pasid_range), 1u);
    });
}

TEST(CacheInvalidateUser, SixtyFourEntriesCostOneWait) {
    Bench b;
    b.run([&] {
        auto n = b.nested();
        ASSERT_EQ(n->attach_dev(b.dev), 0);
        b.mark();
        b.vtd().qi().reset_stats();
        std::vector<iommu_hwpt_vtd_s1_invalidate> v;
        for (uint64_t i = 0; i < 64; ++i) {
            v.push_back(inv(i * 0x1000, 1));
        }
        auto a = array_of(v);
        ASSERT_EQ(n->cache_invalidate_user(a), 0);
        EXPECT_EQ(a.entry_num, 64u);
        EXPECT_EQ(b.vtd().qi().stats().batches, 1u);
        const auto sent = b.sent();
        EXPECT_EQ(sent.size(), 65u);
        EXPECT_EQ(count_type(sent, hw::inv_type::wait), 1u);
        EXPECT_EQ(b.executed(hw::inv_type::pasid_iotlb), 64u);
        EXPECT_EQ(b.executed(hw::inv_type::wait), 1u);
    });
}

TEST(CacheInvalidateUser, HugeEntryCountStopsAtTheFirstUnreadableEntry) {
    Bench b;
    b.run([&] {
        auto n = b.nested();
        ASSERT_EQ(n->attach_dev(b.dev), 0);
        // Three readable entries followed by an unmapped page: a count of 2^32-1 must neither allocate
        // for it nor run past the fault.
        const long pg = 4096;
        void* m = mmap(nullptr, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(m, MAP_FAILED);
        ASSERT_EQ(munmap(static_cast<uint8_t*>(m) + pg, pg), 0);
        auto* entries = reinterpret_cast<iommu_hwpt_vtd_s1_invalidate*>(static_cast<uint8_t*>(m) + pg - 3 * 24);
        for (int i = 0; i < 3; ++i) {
            entries[i] = inv(0x1000 * i, 1);
        }
        iommu_user_data_array a;
        a.type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1;
        a.uptr = uptr(entries);
        a.entry_len = sizeof(iommu_hwpt_vtd_s1_invalidate);
        a.entry_num = ~uint32_t{0};
        b.mark();
        EXPECT_EQ(n->cache_invalidate_user(a), -EFAULT);
        EXPECT_EQ(a.entry_num, 3u);
        EXPECT_EQ(b.executed(hw::inv_type::pasid_iotlb), 3u);
        munmap(m, pg);
    });
}

TEST(CacheInvalidateUser, ValidEntriesBeforeABadOneAreStillFlushed) {
    Bench b;
    b.run([&] {
        auto n = b.nested();
        ASSERT_EQ(n->attach_dev(b.dev), 0);
        b.mark();
        std::vector<iommu_hwpt_vtd_s1_invalidate> v = {inv(0x1000, 1), inv(0x2001, 1)};
        auto a = array_of(v);
        EXPECT_EQ(n->cache_invalidate_user(a), -EINVAL);
        EXPECT_EQ(a.entry_num, 1u);
        const auto sent = b.sent();
        ASSERT_EQ(sent.size(), 2u);
        EXPECT_EQ(hw::p_iotlb_desc::addr::get(sent[0]) << 12, 0x1000u);
        EXPECT_EQ(b.executed(hw::inv_type::pasid_iotlb), 1u);
        EXPECT_EQ(b.executed(hw::inv_type::wait), 1u);
    });
}

}  // namespace
}  // namespace iommusim::test
