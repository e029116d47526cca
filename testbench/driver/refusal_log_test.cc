// Every refusal and recovered hardware error of the VT-d driver leaves its reason in the kernel
// log with Linux's "DMAR: " prefix and the kernel level (<3> err, <4> warning, <6> info), read
// back through the C API: probe refusal, queue errors (IQE, ITE, ICE, time-out, no queue), attach
// refusals, domain allocation refusals, cache_invalidate_user refusals and map refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "driver/bare_unit_util.h"
#include "driver/mock_driver.h"
#include "driver/nested_domain.h"
#include "driver/paging_domain.h"
#include "driver/vtd_model_util.h"
#include "iommusim/iommufd.h"
#include "log_watch.h"

namespace iommusim::test {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

hw::inv_desc iotlb_page(uint16_t did, uint64_t addr) {
    return hw::make_iotlb_inv(hw::iotlb_desc::page, did, addr, 0);
}

uint64_t uptr(const void* p) {
    return reinterpret_cast<uint64_t>(p);
}

TEST(DriverRefusalLog, ProbeRefusalNamesTheMissingCapability) {
    platform_config cfg = unit_config();
    cfg.iommu.ssts = false;
    bare_unit unit(cfg);
    log_watch log;
    unit.run([&] {
        driver::page_allocator pages(unit.bus(), 0x1000'0000, 0x10'0000);
        driver::vtd_iommu iommu(unit.bus(), pages);
        EXPECT_EQ(iommu.probe(), -ENODEV);
    });
    EXPECT_EQ(log.fresh(), "<3>DMAR: second-stage translation (ECAP.SSTS) not supported\n");
}

TEST(DriverRefusalLog, InvalidDescriptorIsLoggedAsIqe) {
    model_unit u;
    u.run([&] {
        const unsigned bad_index = (u.vtd().qi().tail() + 1) % u.vtd().qi().entries();
        hw::inv_desc bad = iotlb_page(1, 0x1000);
        bad[2] = 1;  // qw2 is reserved in 256-bit descriptors
        log_watch log;
        EXPECT_EQ(u.vtd().qi().submit(std::vector<hw::inv_desc>{iotlb_page(1, 0x5000), bad}), -EINVAL);
        EXPECT_EQ(log.fresh(), "<3>DMAR: Invalidation Queue Error (IQE) cleared: invalid descriptor at queue index " +
                                   std::to_string(bad_index) + " replaced by a wait; the batch fails (EINVAL)\n");
    });
}

TEST(DriverRefusalLog, DeviceTlbTimeoutIsLoggedAsIte) {
    model_unit u;
    u.atc(0x0108).set_fault(ats_device_tlb::fault_mode::never_answer);
    u.run([&] {
        log_watch log;
        EXPECT_EQ(u.vtd().qi().submit(driver::dev_tlb_inv(u.vtd().flush_capabilities(), 0x0108, {0, 52})), -ETIMEDOUT);
        EXPECT_EQ(log.fresh(),
                  "<3>DMAR: Invalidation Time-out Error (ITE) cleared: a device-TLB invalidation was not answered; the "
                  "pending waits were aborted and the batch fails (ETIMEDOUT)\n");
    });
}

TEST(DriverRefusalLog, UnexpectedCompletionIsLoggedAsIceWarning) {
    model_unit u;
    u.atc(0x0108).set_fault(ats_device_tlb::fault_mode::duplicate);
    u.run([&] {
        log_watch log;
        EXPECT_EQ(u.vtd().qi().submit(driver::dev_tlb_inv(u.vtd().flush_capabilities(), 0x0108, {0, 52})), 0);
        EXPECT_EQ(u.vtd().qi().submit(iotlb_page(1, 0x1000)), 0);  // sees ICE at the latest
        EXPECT_EQ(log.fresh(),
                  "<4>DMAR: Invalidation Completion Error (ICE) cleared: a device-TLB invalidation completion carried "
                  "an unexpected ITag\n");
    });
}

TEST(DriverRefusalLog, StalledQueueTimeoutIsLogged) {
    platform_config cfg = unit_config();
    cfg.iommu.esrtps = true;
    cfg.iommu.qi_desc_process_ns = 10'000'000;
    driver::vtd_iommu_config dcfg;
    dcfg.qi.timeout_ns = 50'000;
    model_unit u(cfg, dcfg);
    u.run([&] {
        log_watch log;
        EXPECT_EQ(u.vtd().qi().submit(std::vector<hw::inv_desc>(8, iotlb_page(1, 0))), -ETIMEDOUT);
        EXPECT_EQ(log.fresh(),
                  "<3>DMAR: queued invalidation timed out: the hardware did not complete the batch within 50000 ns "
                  "(ETIMEDOUT)\n");
    });
}

TEST(DriverRefusalLog, SubmissionWithoutQueueIsLogged) {
    model_unit u(unit_config(), {}, false);
    u.run([&] {
        driver::queued_invalidation qi(u.bus());
        log_watch log;
        EXPECT_EQ(qi.submit(iotlb_page(1, 0)), -ENODEV);
        EXPECT_EQ(log.fresh(), "<3>DMAR: invalidation refused: queued invalidation is not enabled (ENODEV)\n");
    });
}

TEST(DriverRefusalLog, UnprobedUnitRefusesDomainsAndAttach) {
    model_unit u(unit_config(), {}, false);
    u.run([&] {
        log_watch log;
        std::unique_ptr<driver::paging_domain> d;
        EXPECT_EQ(driver::paging_domain::create(u.vtd(), &u.ops(), false, d), -ENODEV);
        hw::pasid_entry::words entry{};
        driver::cache_tags tags(driver::domain_stage::second);
        EXPECT_EQ(u.vtd().set_device_entry(0x0100, false, entry, tags), -ENODEV);
        std::vector<uint8_t> info;
        uint32_t type = 0;
        uint64_t caps = 0;
        EXPECT_EQ(u.ops().hw_info(u.ats_dev, info, type, caps), -ENODEV);
        EXPECT_EQ(log.fresh(),
                  "<3>DMAR: paging domain refused: the remapping unit is not probed (ENODEV)\n"
                  "<3>DMAR: 0000:01:00.0: attach refused: the remapping unit is not probed (ENODEV)\n"
                  "<3>DMAR: 0000:01:01.0: hw_info refused: the remapping unit is not probed (ENODEV)\n");
    });
}

TEST(DriverRefusalLog, AttachOfAnotherDriversDeviceIsEinval) {
    model_unit u;
    u.run([&] {
        std::unique_ptr<driver::iommu_domain> d;
        ASSERT_EQ(u.ops().domain_alloc_paging_flags(u.dev, 0, nullptr, d), 0);
        driver::iommu_device other;
        other.rid = 0x0210;  // 0000:02:02.0
        other.ops = &driver::mock_driver::instance();
        log_watch log;
        EXPECT_EQ(d->attach_dev(other), -EINVAL);
        EXPECT_THAT(log.fresh(), ContainsRegex("^<6>DMAR: 0000:02:02\\.0: attach refused: domain [0-9]+ belongs to "
                                               "another IOMMU driver \\(EINVAL\\)\n$"));
    });
}

// Nested domain whose stage-1 description the unit cannot honour, refused at attach (Linux's order).
TEST(DriverRefusalLog, NestedAttachNamesTheUnsupportedStageOne) {
    platform_config cfg = unit_config();
    cfg.iommu.fs5lp = false;
    model_unit u(cfg);
    u.run([&] {
        std::unique_ptr<driver::iommu_domain> parent;
        ASSERT_EQ(u.ops().domain_alloc_paging_flags(u.dev, driver::alloc_flag_nest_parent, nullptr, parent), 0);
        struct case_ {
            uint32_t addr_width;
            const char* reason;
        };
        for (const case_& c : {case_{39, "stage-1 addr_width must be 48 or 57"},
                               case_{57, "a 57-bit stage 1 needs 5-level first-stage paging \\(CAP\\.FS5LP\\)"}}) {
            SCOPED_TRACE(c.addr_width);
            iommu_hwpt_vtd_s1 s1{};
            s1.pgtbl_addr = 0x1234'5000;
            s1.addr_width = c.addr_width;
            driver::iommu_user_data data{IOMMU_HWPT_DATA_VTD_S1, uptr(&s1), sizeof s1};
            std::unique_ptr<driver::iommu_domain> nested;
            ASSERT_EQ(u.ops().domain_alloc_nested(u.dev, *parent, 0, data, nested), 0);
            log_watch log;
            EXPECT_EQ(nested->attach_dev(u.dev), -EINVAL);
            EXPECT_THAT(log.fresh(), ContainsRegex(std::string("^<6>DMAR: nested domain [0-9]+: attach refused: ") +
                                                   c.reason + " \\(EINVAL\\)\n$"));
        }
    });
}

TEST(DriverRefusalLog, PagingAllocationRefusalsNameTheReason) {
    platform_config cfg = unit_config();
    cfg.iommu.nest = false;
    model_unit u(cfg);
    u.run([&] {
        struct case_ {
            uint32_t flags;
            bool with_data;
            const char* reason;
        };
        const uint64_t blob = 0;
        for (const case_& c :
             {case_{1u << 7, false, "unknown allocation flags"}, case_{0, true, "paging domains take no driver data"},
              case_{driver::alloc_flag_dirty_tracking, false, "dirty tracking needs second-stage A/D (ECAP.SSADS)"},
              case_{driver::alloc_flag_nest_parent, false,
                    "nest parent needs nested translation (ECAP.NEST and ECAP.SMTS)"}}) {
            SCOPED_TRACE(c.reason);
            const driver::iommu_user_data data{IOMMU_HWPT_DATA_VTD_S1, uptr(&blob), sizeof blob};
            std::unique_ptr<driver::iommu_domain> d;
            log_watch log;
            EXPECT_EQ(u.ops().domain_alloc_paging_flags(u.dev, c.flags, c.with_data ? &data : nullptr, d), -EOPNOTSUPP);
            char flags[16];
            std::snprintf(flags, sizeof flags, "0x%x", c.flags);
            EXPECT_EQ(log.fresh(), std::string("<6>DMAR: 0000:01:00.0: paging domain refused (flags ") + flags +
                                       "): " + c.reason + " (EOPNOTSUPP)\n");
        }
    });
}

TEST(DriverRefusalLog, NestedAllocationRefusalsNameTheReason) {
    model_unit u;
    u.run([&] {
        std::unique_ptr<driver::iommu_domain> plain;
        ASSERT_EQ(u.ops().domain_alloc_paging_flags(u.dev, 0, nullptr, plain), 0);
        std::unique_ptr<driver::iommu_domain> parent;
        ASSERT_EQ(u.ops().domain_alloc_paging_flags(u.dev, driver::alloc_flag_nest_parent, nullptr, parent), 0);
        iommu_hwpt_vtd_s1 s1{};
        s1.addr_width = 48;
        const driver::iommu_user_data vtd{IOMMU_HWPT_DATA_VTD_S1, uptr(&s1), sizeof s1};
        const driver::iommu_user_data selftest{IOMMU_HWPT_DATA_SELFTEST, uptr(&s1), sizeof s1};
        std::unique_ptr<driver::iommu_domain> out;
        log_watch log;
        EXPECT_EQ(u.ops().domain_alloc_nested(u.dev, *parent, 1, vtd, out), -EOPNOTSUPP);
        EXPECT_EQ(u.ops().domain_alloc_nested(u.dev, *parent, 0, selftest, out), -EOPNOTSUPP);
        EXPECT_EQ(u.ops().domain_alloc_nested(u.dev, *plain, 0, vtd, out), -EINVAL);
        EXPECT_EQ(log.fresh(),
                  "<6>DMAR: 0000:01:00.0: nested domain refused (flags 0x1, data type 1): unsupported allocation flags "
                  "(EOPNOTSUPP)\n"
                  "<6>DMAR: 0000:01:00.0: nested domain refused (flags 0x0, data type 57005): the data type is not "
                  "IOMMU_HWPT_DATA_VTD_S1 (EOPNOTSUPP)\n"
                  "<6>DMAR: 0000:01:00.0: nested domain refused: the parent is not a VT-d nest-parent paging domain "
                  "(EINVAL)\n");
    });
}

TEST(DriverRefusalLog, CacheInvalidateUserRefusalsNameTheEntry) {
    model_unit u;
    u.run([&] {
        std::unique_ptr<driver::iommu_domain> parent;
        ASSERT_EQ(u.ops().domain_alloc_paging_flags(u.dev, driver::alloc_flag_nest_parent, nullptr, parent), 0);
        iommu_hwpt_vtd_s1 s1{};
        s1.addr_width = 48;
        std::unique_ptr<driver::iommu_domain> nested;
        ASSERT_EQ(
            u.ops().domain_alloc_nested(u.dev, *parent, 0, {IOMMU_HWPT_DATA_VTD_S1, uptr(&s1), sizeof s1}, nested), 0);
        std::vector<iommu_hwpt_vtd_s1_invalidate> entries(2);
        entries[0].npages = 1;
        auto array = [&](uint32_t type) {
            return driver::iommu_user_data_array{type, uptr(entries.data()), sizeof entries[0], 2};
        };
        const std::string prefix = "^<6>DMAR: nested domain [0-9]+: invalid";
        struct case_ {
            uint32_t type;
            uint32_t flags;
            uint64_t addr;
            int rc;
            const char* log;
        };
        for (const case_& c :
             {case_{IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0, 0, -EINVAL,
                    "ation refused: data type 3735928559 is not IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 \\(EINVAL\\)"},
              case_{IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 1u << 4, 0, -EOPNOTSUPP,
                    "ation entry 1 refused: unknown flags 0x10 or non-zero reserved field \\(EOPNOTSUPP\\)"},
              case_{IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0, 0x1234, -EINVAL,
                    "ation entry 1 refused: addr 0x1234 is not 4 KiB aligned, or npages names everything with a "
                    "non-zero addr \\(EINVAL\\)"}}) {
            SCOPED_TRACE(c.log);
            entries[1].flags = c.flags;
            entries[1].addr = c.addr;
            entries[1].npages = 1;
            auto a = array(c.type);
            log_watch log;
            EXPECT_EQ(nested->cache_invalidate_user(a), c.rc);
            EXPECT_THAT(log.fresh(), ContainsRegex(prefix + c.log + "\n$"));
        }
        // An entry that cannot be read.
        void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(page, MAP_FAILED);
        driver::iommu_user_data_array unreadable{IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, uptr(page), sizeof entries[0], 1};
        log_watch log;
        EXPECT_EQ(nested->cache_invalidate_user(unreadable), -EFAULT);
        EXPECT_THAT(
            log.fresh(),
            ContainsRegex(prefix + "ation entry 0 refused: it cannot be copied from user space \\(EFAULT\\)\n$"));
        munmap(page, 4096);
    });
}

TEST(DriverRefusalLog, MapRefusalsNameTheReason) {
    model_unit u;
    u.run([&] {
        std::unique_ptr<driver::paging_domain> d;
        ASSERT_EQ(driver::paging_domain::create(u.vtd(), &u.ops(), false, d), 0);
        const std::string domain = "^<6>DMAR: domain [0-9]+: map ";
        struct case_ {
            uint64_t iova;
            uint64_t len;
            int prot;
            const char* log;
        };
        for (const case_& c :
             {case_{0x1001, 0x1000, driver::prot_read,
                    "of 0x1001\\+0x1000 refused: IOVA, address and length must be 4 KiB aligned and the length "
                    "non-zero"},
              case_{0x1000, 0x1000, 0, "of 0x1000\\+0x1000 refused: the permissions must be read, write or both"},
              case_{uint64_t{1} << 48, 0x1000, driver::prot_read,
                    "of 0x1000000000000\\+0x1000 refused: the range ends beyond the domain's input address width"}}) {
            SCOPED_TRACE(c.log);
            log_watch log;
            EXPECT_EQ(d->map_pa(c.iova, 0x1000, c.len, c.prot), -EINVAL);
            EXPECT_THAT(log.fresh(), ContainsRegex(domain + c.log + " \\(EINVAL\\)\n$"));
        }
        ASSERT_EQ(d->map_pa(0x10000, 0x1000, 0x1000, driver::prot_read), 0);
        log_watch log;
        EXPECT_EQ(d->map_pa(0x10000, 0x2000, 0x1000, driver::prot_read), -EEXIST);
        EXPECT_THAT(log.fresh(), ContainsRegex(domain + "refused: IOVA 0x10000 is already mapped \\(EEXIST\\)\n$"));
        alignas(4096) static char buffer[2 * 4096];
        log_watch unaligned;
        EXPECT_EQ(d->map(0x20000, buffer + 8, 4096, driver::prot_read), -EINVAL);
        EXPECT_THAT(unaligned.fresh(),
                    ContainsRegex(domain + "of 0x20000\\+0x1000 refused: IOVA, user address and length must be 4 KiB "
                                           "aligned and the length non-zero \\(EINVAL\\)\n$"));
    });
}

TEST(DriverRefusalLog, DomainIdExhaustionIsLogged) {
    platform_config cfg = unit_config();
    cfg.iommu.nd = 0;  // 16 domain ids, DID 0 reserved
    model_unit u(cfg);
    u.run([&] {
        uint16_t did = 0;
        for (int i = 0; i < 15; ++i) {
            ASSERT_EQ(u.vtd().alloc_did(did), 0);
        }
        log_watch log;
        EXPECT_EQ(u.vtd().alloc_did(did), -ENOSPC);
        EXPECT_EQ(log.fresh(), "<4>DMAR: no free domain id: all 15 that CAP.ND allows are in use (ENOSPC)\n");
    });
}

}  // namespace
}  // namespace iommusim::test
