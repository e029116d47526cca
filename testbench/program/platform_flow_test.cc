// End-to-end flows through the whole platform (C API -> iommufd -> VT-d driver -> queue ->
// TLM IOMMU -> devices), written like a VMM: no DMI into user memory, IOAS unmap, second-stage-only
// attach, ATS devices and the device TLB, the stale checker's report.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include <fcntl.h>

#include "iommusim/hw/vtd_fault.h"
#include "iommusim/iommusim.h"
#include "platform/dma_device.h"
#include "platform/platform.h"
#include "program/guest_memory.h"
#include "program/nested_setup.h"
#include "program/vmm.h"
#include "tlm/iommu.h"

namespace iommusim::program {
namespace {

void configure(bool stale_check) {
    platform_config cfg;
    cfg.iommu.stale_check = stale_check;
    std::string err;
    ASSERT_TRUE(platform::configure(cfg, &err)) << err;
}

std::ostringstream sink;

TEST(PlatformFlow, NoDmiIntoUserMemory) {
    // Guest RAM is the VMM's memory (IOAS_MAP), which the program may unmap at any time: a raw
    // DMI pointer into it could crash the process, so every access goes through b_transport
    // (DMI grants and their revocation over owned memory: tlm/iommu_test).
    configure(false);  // the stale checker would refuse DMI anyway
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log);
    platform& p = platform::instance();
    dma_device& dev = p.dma_engine(0);
    uint8_t b = 0;
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);
    ASSERT_EQ(b, 0xaa);
    ASSERT_EQ(s.read(nested_setup::gva + 8, &b, 1), 0);
    EXPECT_EQ(dev.statistics().dmi_accesses, 0u);
    EXPECT_EQ(p.iommu_model().statistics().dmi_grants, 0u);
    EXPECT_EQ(p.iommu_model().statistics().memory_dmi_accesses, 0u);

    s.guest.remap(nested_setup::gva, nested_setup::page_b);
    ASSERT_EQ(s.v.hwpt_invalidate(s.nested, {{nested_setup::gva, 1, true}}), 0);
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);
    EXPECT_EQ(b, 0xbb);
}

TEST(PlatformFlow, IoasUnmapFlushesTheNestParent) {
    configure(true);
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log);
    uint8_t b = 0;
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);
    // Unmapping guest RAM from the IOAS removes it from the stage-2 parent (a whole area: iommufd
    // does not split areas); the driver's flush must drop the nested IOTLB entry built on it.
    s.v.ioas_unmap(s.ioas, s.guest.gpa_base(), s.guest.size());
    int reason = 0;
    EXPECT_EQ(s.read(nested_setup::gva, &b, 1, &reason), EFAULT);
    EXPECT_NE(reason, 0) << "a second-stage fault for the unmapped GPA";
    EXPECT_EQ(platform::instance().stale_hits(), 0u);
}

TEST(PlatformFlow, SecondStageOnlyAttachTranslatesGpa) {
    configure(true);
    vmm v;
    guest_memory g(0, 1 << 20);
    g.at(0x3000)[0] = 0x5a;
    const unsigned dev = v.open_device(2);
    const uint32_t ioas = v.ioas_alloc();
    v.ioas_map(ioas, g.host(), g.size(), 0x8000'0000);
    v.attach(dev, ioas);  // attaching to an IOAS gives an automatic paging (stage-2) domain
    uint8_t b = 0;
    ASSERT_EQ(v.dma(dev, 0x8000'3000, &b, 1, false), 0);
    EXPECT_EQ(b, 0x5a);
    int reason = 0;
    EXPECT_EQ(v.dma(dev, 0x4000, &b, 1, false, 0, &reason), EFAULT) << "outside the IOAS mapping";
}

TEST(PlatformFlow, DmaWritesReachTheCallersBuffer) {
    configure(true);
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log);
    const uint32_t value = 0xfeedf00d;
    ASSERT_EQ(s.v.dma(s.dev, nested_setup::gva + 0x10, const_cast<uint32_t*>(&value), 4, true), 0);
    uint32_t seen = 0;
    std::memcpy(&seen, s.guest.at(nested_setup::page_a + 0x10), 4);
    EXPECT_EQ(seen, value) << "IOAS_MAP adopted the host buffer: the DMA wrote guest RAM in place";
    // The first-stage leaf got A and D set by the walk (docs/vtd-facts.md §5.3).
    const uint64_t pte = *s.guest.leaf(nested_setup::gva);
    EXPECT_TRUE(pte & (1u << 5));
    EXPECT_TRUE(pte & (1u << 6));
}

TEST(PlatformFlow, AtsDeviceGetsDeviceTlbInvalidations) {
    configure(true);
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log, 1);  // vfio1 is ATS-capable
    dma_device& dev = platform::instance().dma_engine(1);
    ASSERT_TRUE(dev.config().ats);
    platform::instance().run([&] { EXPECT_TRUE(dev.ats_translate(false, 0, nested_setup::gva, false, nullptr)); });
    ASSERT_NE(dev.atc(), nullptr);
    EXPECT_TRUE(dev.atc()->holds(false, 0, nested_setup::gva));
    const std::size_t before = dev.atc()->requests().size();
    ASSERT_EQ(s.v.hwpt_invalidate(s.nested, {{nested_setup::gva, 1, true}}), 0);
    EXPECT_GT(dev.atc()->requests().size(), before);
    EXPECT_FALSE(dev.atc()->holds(false, 0, nested_setup::gva)) << "the device-TLB invalidation dropped it";
}

TEST(PlatformFlow, TrafficGeneratorChecksItsDataAndReportsFaults) {
    configure(true);
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log);
    traffic_spec spec;
    spec.base = nested_setup::gva;
    spec.size = 4096;
    spec.count = 200;
    spec.seed = 5;
    const traffic_result ok = platform::instance().run_traffic(0, spec);
    EXPECT_EQ(ok.transfers, 200u);
    EXPECT_EQ(ok.faults, 0u);
    EXPECT_GT(ok.checked_bytes, 0u);
    EXPECT_EQ(ok.mismatches, 0u);

    spec.base = nested_setup::gva + 0x10'0000;  // not mapped by the guest's stage 1
    const traffic_result bad = platform::instance().run_traffic(0, spec);
    EXPECT_EQ(bad.faults, bad.transfers);
    EXPECT_EQ(bad.first_fault, hw::fault_reason::fs_not_present);
}

// Like dma(), run_traffic returns when the stream has completed in simulated time: the device is
// not left ahead of the kernel (where it would hold up the next invalidation's wait).
TEST(PlatformFlow, TrafficStreamHasCompletedInSimulatedTimeWhenTheCallReturns) {
    configure(true);
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log);
    platform& p = platform::instance();
    uint8_t b = 0;
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);  // IOTLB warm: the transfer below is a hit
    traffic_spec spec;
    spec.base = nested_setup::gva;
    spec.size = 4096;
    spec.count = 1;
    spec.min_bytes = spec.max_bytes = 8;
    const uint64_t start = p.now_ns();
    ASSERT_EQ(p.run_traffic(0, spec).faults, 0u);
    // The transfer moves its bytes with at least one memory access (well within a quantum).
    EXPECT_GE(p.now_ns() - start, p.config().iommu.memory_latency_ns);
}

// With the RTL IOTLB its cycles are the lookup time: a 1 us clock makes an IOTLB hit cost >= 1 us
// of simulated time (the C++ IOTLB would charge iotlb_hit_ns, 2 ns).
TEST(PlatformFlow, RtlIotlbCyclesBecomeAnnotatedDelay) {
    platform_config cfg;
    cfg.iotlb = "rtl";
    cfg.iommu.iotlb_cycle_ps = 1'000'000;
    cfg.iommu.stale_check = true;  // no DMI: every access goes through the IOMMU
    std::string err;
    ASSERT_TRUE(platform::configure(cfg, &err)) << err;
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log);
    uint8_t b = 0;
    ASSERT_EQ(s.read(nested_setup::gva, &b, 1), 0);  // miss: walk + fill
    platform& p = platform::instance();
    const uint64_t t0 = p.now_ns();
    ASSERT_EQ(s.read(nested_setup::gva + 1, &b, 1), 0);  // hit: one lookup cycle
    EXPECT_GE(p.now_ns() - t0, 1000u);
}

// The C API never lets a C++ exception reach a C caller: hardware the driver refuses is ENODEV.
TEST(PlatformFlow, CApiReportsAPlatformThatCannotComeUp) {
#ifdef IOMMUSIM_SANITIZE
    GTEST_SKIP() << "not under AddressSanitizer (an exception after a simulation run; SystemC coroutine stacks)";
#endif
    platform_config cfg;
    cfg.iommu.ssts = false;
    ASSERT_TRUE(platform::configure(cfg));
    errno = 0;
    EXPECT_EQ(iommusim_open("/dev/vfio/devices/vfio0", O_RDWR), -1);
    EXPECT_EQ(errno, ENODEV);
    EXPECT_FALSE(platform::exists());
}

TEST(PlatformFlow, StatisticsAreValidJson) {
    configure(true);
    scenario_log log(sink, verbosity::quiet);
    nested_setup s(log);
    uint8_t b = 0;
    s.read(nested_setup::gva, &b, 1);
    const auto doc = nlohmann::json::parse(platform::instance().stats_json());
    EXPECT_GT(doc["platform"]["walks"].get<uint64_t>(), 0u);
    EXPECT_TRUE(doc.contains("driver"));
    EXPECT_TRUE(doc.contains("model"));
}

}  // namespace
}  // namespace iommusim::program
