// PASID attachment through the VT-d driver on the TLM model (Linux intel_iommu_set_dev_pasid,
// intel_nested_set_dev_pasid, blocking_domain_set_dev_pasid; drivers/iommu/intel/pasid.c): the
// context entry and PASID directory sized for the device's PASID width, the PASID entries of each
// translation type read back from memory with the spec's bit positions (VT-d spec §9.4, §9.5,
// §9.6), the tear-down and its descriptors (§6.5.2), the core's refusals (drivers/iommu/iommu.c),
// and invalidations of a domain scoped to the PASIDs it is attached on.
#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "driver/nested_domain.h"
#include "driver/paging_domain.h"
#include "driver/vtd_model_util.h"
#include "driver/vtd_ops.h"
#include "iommusim/hw/vtd_desc.h"
#include "iommusim/iommufd.h"

namespace iommusim::test {
namespace {

using driver::iommu_device;
using driver::iommu_domain;
using driver::iommu_user_data;
using driver::iommu_user_data_array;
using driver::paging_domain;

constexpr uint64_t addr_mask = 0x000f'ffff'ffff'f000ull;  // bits 51:12 of a table pointer

uint64_t uptr(const void* p) {
    return reinterpret_cast<uint64_t>(p);
}

// Field readers written from the spec's layouts, independent of the driver's.
unsigned pgtt_of(uint64_t w0) {
    return static_cast<unsigned>((w0 >> 6) & 7);  // PASID entry bits 8:6
}
unsigned desc_type(const hw::inv_desc& d) {
    return static_cast<unsigned>((d[0] & 0xf) | ((d[0] >> 9) & 7) << 4);
}
unsigned desc_granularity(const hw::inv_desc& d) {
    return static_cast<unsigned>((d[0] >> 4) & 3);
}
unsigned desc_did(const hw::inv_desc& d) {
    return static_cast<unsigned>((d[0] >> 16) & 0xffff);
}
uint32_t desc_pasid(const hw::inv_desc& d) {
    return static_cast<uint32_t>((d[0] >> 32) & 0xfffff);  // types 6, 7, 8: bits 51:32
}

// A unit whose devices are PASID-capable with the unit's 20-bit PASID space (ECAP.PSS = 19), as
// the platform sets them up (Linux: max_pasids = 2^(PSS + 1)).
struct Bench : model_unit {
    explicit Bench(const platform_config& cfg = unit_config()) : model_unit(cfg) {
        for (iommu_device* d : {&dev, &ats_dev}) {
            d->pasid = true;
            d->max_pasid_log2 = 20;
        }
    }
    ~Bench() {
        run([&] {
            nested.clear();
            domains.clear();
        });
    }
    paging_domain* paging(uint32_t flags = 0) {
        std::unique_ptr<iommu_domain> d;
        EXPECT_EQ(ops().domain_alloc_paging_flags(dev, flags, nullptr, d), 0);
        domains.push_back(std::move(d));
        return dynamic_cast<paging_domain*>(domains.back().get());
    }
    driver::nested_domain* nested_on(iommu_domain& parent, uint64_t pgtbl) {
        iommu_hwpt_vtd_s1 s1{};
        s1.pgtbl_addr = pgtbl;
        s1.addr_width = 48;
        iommu_user_data data{IOMMU_HWPT_DATA_VTD_S1, uptr(&s1), sizeof s1};
        std::unique_ptr<iommu_domain> d;
        EXPECT_EQ(ops().domain_alloc_nested(dev, parent, driver::alloc_flag_pasid, data, d), 0);
        nested.push_back(std::move(d));
        return dynamic_cast<driver::nested_domain*>(nested.back().get());
    }
    // PASID entry `pasid` of rid found by hand: context entry -> directory entry pasid[19:6] ->
    // table entry pasid[5:0], 64 bytes each.
    // Scalable-mode context entry of rid: root entry bus (16 bytes; lower context table pointer in
    // bits 63:12 for devfn < 128), then entry devfn of that table (32 bytes each).
    hw::context_entry::words context_by_hand(uint16_t rid) {
        uint64_t root_lo = 0;
        EXPECT_TRUE(bus().read64(vtd().root_table() + static_cast<uint64_t>(rid >> 8) * 16, root_lo));
        EXPECT_EQ(root_lo & 1, 1u) << "lower context table present";
        hw::context_entry::words ce{};
        EXPECT_TRUE(
            bus().mem_read((root_lo & addr_mask) + static_cast<uint64_t>(rid & 0x7f) * 32, ce.data(), sizeof ce));
        return ce;
    }
    hw::pasid_entry::words entry_by_hand(uint16_t rid, uint32_t pasid) {
        const hw::context_entry::words ce = context_by_hand(rid);
        const uint64_t dir = ce[0] & addr_mask;
        uint64_t pde = 0;
        EXPECT_TRUE(bus().read64(dir + uint64_t{pasid >> 6} * 8, pde));
        EXPECT_EQ(pde & 1, 1u) << "directory entry " << (pasid >> 6) << " present";
        hw::pasid_entry::words e{};
        EXPECT_TRUE(bus().mem_read((pde & addr_mask) + uint64_t{pasid & 63} * 64, e.data(), sizeof e));
        return e;
    }
    std::vector<std::unique_ptr<iommu_domain>> nested;  // destroyed before their parents
    std::vector<std::unique_ptr<iommu_domain>> domains;
};

TEST(PasidAttach, DirectoryGrowsToTheDevicesPasidWidth) {
    Bench b;
    b.run([&] {
        paging_domain* d = b.paging(driver::alloc_flag_pasid);
        paging_domain* high = b.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(d->attach_dev(b.dev), 0);
        ASSERT_EQ(driver::attach_device_pasid(*d, b.dev, 3), 0);
        hw::context_entry::words ce = b.context_by_hand(b.dev.rid);
        // PASIDE (bit 3) for a PASID-capable device; PDTS (bits 11:9) 2: 2^(2+7) directory entries,
        // one page, PASIDs below 32768; RID_PASID (bits 83:64) 0.
        EXPECT_EQ((ce[0] >> 3) & 1, 1u);
        EXPECT_EQ((ce[0] >> 9) & 7, 2u);
        EXPECT_EQ(ce[1] & 0xfffff, 0u);
        const uint64_t small_dir = ce[0] & addr_mask;
        // PASID 0x54321 (directory entry 0x150d) needs the 20-bit directory: 2^14 entries, PDTS 7,
        // 32 pages; the move is followed by a device-selective context-cache invalidation.
        b.mark();
        ASSERT_EQ(driver::attach_device_pasid(*high, b.dev, 0x54321), 0);
        const std::vector<hw::inv_desc> sent = b.sent();
        ASSERT_FALSE(sent.empty());
        EXPECT_EQ(desc_type(sent[0]), 1u);
        EXPECT_EQ(desc_granularity(sent[0]), 3u) << "device-selective";
        EXPECT_EQ((sent[0][0] >> 32) & 0xffff, b.dev.rid) << "SID";
        ce = b.context_by_hand(b.dev.rid);
        EXPECT_EQ((ce[0] >> 9) & 7, 7u);
        EXPECT_NE(ce[0] & addr_mask, small_dir);
        // Every entry is reachable through the new directory: the old PASIDs and the new one.
        EXPECT_EQ(b.entry_by_hand(b.dev.rid, 0)[1] & 0xffff, d->did());
        EXPECT_EQ(b.entry_by_hand(b.dev.rid, 3)[1] & 0xffff, d->did());
        EXPECT_EQ(b.entry_by_hand(b.dev.rid, 0x54321)[1] & 0xffff, high->did());
    });
}

TEST(PasidAttach, DeviceWithoutPasidsGetsOneDirectoryPage) {
    Bench b;
    b.dev.pasid = false;
    b.dev.max_pasid_log2 = 0;
    b.run([&] {
        ASSERT_EQ(b.paging()->attach_dev(b.dev), 0);
        const hw::context_entry::words ce = b.context_by_hand(b.dev.rid);
        EXPECT_EQ((ce[0] >> 3) & 1, 0u) << "no PASIDE";
        EXPECT_EQ((ce[0] >> 9) & 7, 2u) << "512 directory entries, one page";
    });
}

TEST(PasidAttach, SecondStageEntryOnAnotherPasid) {
    Bench b;
    b.run([&] {
        paging_domain* rid_domain = b.paging(driver::alloc_flag_pasid);
        paging_domain* d = b.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(rid_domain->attach_dev(b.dev), 0);
        // PASID 100: directory entry 1 gets a new PASID table, entry 36 of it.
        ASSERT_EQ(driver::attach_device_pasid(*d, b.dev, 100), 0);
        EXPECT_EQ(b.dev.pasid_domains.at(100), d);
        EXPECT_EQ(b.dev.domain, rid_domain) << "RID_PASID keeps its domain";
        const hw::pasid_entry::words e = b.entry_by_hand(b.dev.rid, 100);
        EXPECT_EQ(e[0] & 1, 1u);
        EXPECT_EQ(pgtt_of(e[0]), 2u) << "second stage";
        EXPECT_EQ((e[0] >> 2) & 7, 2u) << "AW: 4-level";
        EXPECT_EQ(e[0] & addr_mask, d->root());
        EXPECT_EQ(e[1] & 0xffff, d->did());
        // RID_PASID's entry is the other domain's.
        const hw::pasid_entry::words e0 = b.entry_by_hand(b.dev.rid, 0);
        EXPECT_EQ(e0[0] & addr_mask, rid_domain->root());
        EXPECT_EQ(e0[1] & 0xffff, rid_domain->did());
    });
}

TEST(PasidAttach, NestedEntryOnAnotherPasid) {
    Bench b;
    b.run([&] {
        paging_domain* parent = b.paging(driver::alloc_flag_nest_parent | driver::alloc_flag_pasid);
        driver::nested_domain* n = b.nested_on(*parent, 0x1234'5000);
        ASSERT_EQ(driver::attach_device_pasid(*n, b.dev, 7), 0);
        const hw::pasid_entry::words e = b.entry_by_hand(b.dev.rid, 7);
        EXPECT_EQ(pgtt_of(e[0]), 3u) << "nested";
        EXPECT_EQ(e[0] & addr_mask, parent->root()) << "SSPTPTR: the parent";
        EXPECT_EQ(e[2] & addr_mask, 0x1234'5000u) << "FSPTPTR (bits 191:140): the guest table";
        EXPECT_EQ(e[1] & 0xffff, n->did());
        EXPECT_EQ(b.dev.domain, nullptr) << "RID_PASID stays blocked";
    });
}

TEST(PasidAttach, TearDownClearsTheEntryWithPasidScopedFlushes) {
    Bench b;
    b.run([&] {
        paging_domain* d = b.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(driver::attach_device_pasid(*d, b.ats_dev, 5), 0);
        const std::size_t devtlb_before = b.atc(b.ats_dev.rid).requests().size();
        b.mark();
        driver::detach_device_pasid(b.ats_dev, 5);
        EXPECT_EQ(b.ats_dev.pasid_domains.count(5), 0u);
        const std::vector<hw::inv_desc> sent = b.sent();
        // PASID cache (type 7, PASID-selective G=01, DID, PASID 5), domain IOTLB (type 2, G=10),
        // the device TLB of PASID 5 (type 8, G=0, S=1 with ADDR all ones: every address), wait.
        ASSERT_EQ(sent.size(), 4u);
        EXPECT_EQ(desc_type(sent[0]), 7u);
        EXPECT_EQ(desc_granularity(sent[0]), 1u);
        EXPECT_EQ(desc_did(sent[0]), d->did());
        EXPECT_EQ(desc_pasid(sent[0]), 5u);
        EXPECT_EQ(desc_type(sent[1]), 2u);
        EXPECT_EQ(desc_granularity(sent[1]), 2u);
        EXPECT_EQ(desc_did(sent[1]), d->did());
        EXPECT_EQ(desc_type(sent[2]), 8u);
        EXPECT_EQ(desc_pasid(sent[2]), 5u);
        EXPECT_EQ((sent[2][0] >> 16) & 0xffff, b.ats_dev.rid) << "SID";
        EXPECT_EQ(sent[2][1] & 1, 0u) << "G: this PASID only";
        EXPECT_EQ((sent[2][1] >> 11) & 1, 1u) << "S";
        // ATS size encoding of everything: ADDR[62:12] set, bit 63 clear.
        EXPECT_EQ(sent[2][1] >> 12, 0x0007'ffff'ffff'ffffull);
        EXPECT_EQ(desc_type(sent[3]), 5u);
        EXPECT_EQ(b.executed(hw::inv_type::pasid_dev_tlb), 1u) << "the model ran the type-8 descriptor";
        // The device received it as an invalidation of PASID 5's translations, every address.
        const auto& reqs = b.atc(b.ats_dev.rid).requests();
        ASSERT_EQ(reqs.size(), devtlb_before + 1);
        EXPECT_TRUE(reqs.back().with_pasid);
        EXPECT_FALSE(reqs.back().all_pasids);
        EXPECT_EQ(reqs.back().pasid, 5u);
        EXPECT_EQ(reqs.back().length, 0u) << "the whole address space";
        const hw::pasid_entry::words e = b.entry_by_hand(b.ats_dev.rid, 5);
        for (uint64_t w : e) {
            EXPECT_EQ(w, 0u);
        }
        EXPECT_EQ(b.vtd().attachment_of(b.ats_dev.rid, 5), nullptr);
    });
}

TEST(PasidAttach, ReplaceFlushesTheOldEntryOfThatPasid) {
    Bench b;
    b.run([&] {
        paging_domain* a = b.paging(driver::alloc_flag_pasid);
        paging_domain* c = b.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(driver::attach_device_pasid(*a, b.dev, 9), 0);
        b.mark();
        ASSERT_EQ(driver::replace_device_pasid(*c, b.dev, 9), 0);
        EXPECT_EQ(b.dev.pasid_domains.at(9), c);
        const std::vector<hw::inv_desc> sent = b.sent();
        // The old entry's PASID cache and IOTLB (DID of a), no device TLB (no ATS), wait.
        ASSERT_EQ(sent.size(), 3u);
        EXPECT_EQ(desc_type(sent[0]), 7u);
        EXPECT_EQ(desc_did(sent[0]), a->did());
        EXPECT_EQ(desc_pasid(sent[0]), 9u);
        EXPECT_EQ(desc_type(sent[1]), 2u);
        EXPECT_EQ(desc_did(sent[1]), a->did());
        EXPECT_EQ(b.entry_by_hand(b.dev.rid, 9)[1] & 0xffff, c->did());
        // Replacing with the domain already there is a no-op.
        b.mark();
        EXPECT_EQ(driver::replace_device_pasid(*c, b.dev, 9), 0);
        EXPECT_TRUE(b.sent().empty());
    });
}

TEST(PasidAttach, CoreRefusals) {
    Bench b;
    b.run([&] {
        paging_domain* d = b.paging(driver::alloc_flag_pasid);
        EXPECT_EQ(driver::attach_device_pasid(*d, b.dev, driver::no_pasid), -EINVAL) << "IOMMU_NO_PASID";
        EXPECT_EQ(driver::attach_device_pasid(*d, b.dev, 1u << 20), -EINVAL) << "beyond the 20-bit width";
        EXPECT_EQ(driver::replace_device_pasid(*d, b.dev, 3), -EINVAL) << "replace of a PASID without a domain";
        ASSERT_EQ(driver::attach_device_pasid(*d, b.dev, (1u << 20) - 1), 0) << "the last PASID";
        EXPECT_EQ(driver::attach_device_pasid(*d, b.dev, (1u << 20) - 1), -EBUSY) << "attached already";
        iommu_device plain;  // no PASID capability: width 0
        plain.rid = 0x0110;
        plain.ops = &b.ops();
        EXPECT_EQ(driver::attach_device_pasid(*d, plain, 1), -EINVAL);
        EXPECT_TRUE(plain.pasid_domains.empty());
        // Detaching a PASID without a domain changes nothing.
        b.mark();
        driver::detach_device_pasid(b.dev, 4);
        EXPECT_TRUE(b.sent().empty());
    });
}

TEST(PasidAttach, DirtyTrackingDomainsRefused) {
    platform_config cfg = unit_config();
    cfg.iommu.ssads = true;
    Bench b(cfg);
    b.run([&] {
        paging_domain* d = b.paging(driver::alloc_flag_dirty_tracking | driver::alloc_flag_pasid);
        // Linux intel_iommu_set_dev_pasid: domain->dirty_ops -> EINVAL.
        EXPECT_EQ(driver::attach_device_pasid(*d, b.dev, 1), -EINVAL);
        EXPECT_TRUE(b.dev.pasid_domains.empty());
        EXPECT_EQ(b.vtd().attachment_of(b.dev.rid, 1), nullptr);
    });
}

TEST(PasidAttach, RefusedWithoutPasidSupport) {
    platform_config cfg = unit_config();
    cfg.iommu.pasid = false;  // ECAP.PASID clear
    Bench b(cfg);
    b.run([&] {
        paging_domain* parent = b.paging(driver::alloc_flag_nest_parent | driver::alloc_flag_pasid);
        driver::nested_domain* n = b.nested_on(*parent, 0x1234'5000);
        EXPECT_EQ(driver::attach_device_pasid(*parent, b.dev, 1), -EOPNOTSUPP);
        EXPECT_EQ(driver::attach_device_pasid(*n, b.dev, 1), -EOPNOTSUPP);
        EXPECT_TRUE(b.dev.pasid_domains.empty());
    });
}

TEST(PasidAttach, NestedInvalidationNamesOnlyItsPasids) {
    Bench b;
    b.run([&] {
        paging_domain* parent = b.paging(driver::alloc_flag_nest_parent | driver::alloc_flag_pasid);
        driver::nested_domain* one = b.nested_on(*parent, 0x1000'0000);
        driver::nested_domain* two = b.nested_on(*parent, 0x2000'0000);
        ASSERT_EQ(driver::attach_device_pasid(*one, b.ats_dev, 1), 0);
        ASSERT_EQ(driver::attach_device_pasid(*two, b.ats_dev, 2), 0);
        iommu_hwpt_vtd_s1_invalidate inv{};
        inv.addr = 0x40000000;
        inv.npages = 1;
        iommu_user_data_array array{IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, uptr(&inv), sizeof inv, 1};
        b.mark();
        ASSERT_EQ(one->cache_invalidate_user(array), 0);
        const std::vector<hw::inv_desc> sent = b.sent();
        // Page-selective PASID IOTLB (type 6, G=11) of the first DID and PASID 1, the device TLB
        // of PASID 1 (type 8), wait: nothing names the second domain or PASID 2.
        ASSERT_EQ(sent.size(), 3u);
        EXPECT_EQ(desc_type(sent[0]), 6u);
        EXPECT_EQ(desc_granularity(sent[0]), 3u);
        EXPECT_EQ(desc_did(sent[0]), one->did());
        EXPECT_EQ(desc_pasid(sent[0]), 1u);
        EXPECT_EQ(sent[0][1] >> 12, 0x40000000u >> 12);
        EXPECT_EQ(desc_type(sent[1]), 8u);
        EXPECT_EQ(desc_pasid(sent[1]), 1u);
        EXPECT_EQ(sent[1][1] >> 12, 0x40000000u >> 12) << "one page: S=0, the page's address";
        EXPECT_EQ(desc_type(sent[2]), 5u);
        // A stage-2 unmap of the parent reaches both children's DIDs.
        std::vector<hw::inv_desc> batch;
        parent->cache().flush_all(batch, b.vtd().flush_capabilities());
        unsigned one_seen = 0, two_seen = 0;
        for (const hw::inv_desc& d : batch) {
            one_seen += desc_type(d) == 2 && desc_did(d) == one->did();
            two_seen += desc_type(d) == 2 && desc_did(d) == two->did();
        }
        EXPECT_EQ(one_seen, 1u);
        EXPECT_EQ(two_seen, 1u);
    });
}

TEST(PasidAttach, DestroyingAttachedDomainForgetsItsPasidTags) {
    Bench b;
    b.run([&] {
        paging_domain* d = b.paging(driver::alloc_flag_pasid);
        ASSERT_EQ(driver::attach_device_pasid(*d, b.dev, 11), 0);
        ASSERT_EQ(d->cache().tags().size(), 1u);
        EXPECT_EQ(d->cache().tags()[0].pasid, 11u);
        driver::detach_device_pasid(b.dev, 11);
        EXPECT_TRUE(d->cache().empty());
    });
}

}  // namespace
}  // namespace iommusim::test
