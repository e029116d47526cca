// The ATS device TLB's stale checker: a hit on an entry that a completed device-TLB invalidation
// covered is reported with its key, the translation used and the completion time; a device that
// drops what it is told to (the default) or a hit before the completion reports nothing
// (docs/vtd-facts.md §6.6).
#include "tlm/ats_device_tlb.h"

#include <gtest/gtest.h>

#include <vector>

namespace iommusim {
namespace {

constexpr uint16_t k_sid = 0x0108;

struct completions : devtlb_completion_sink {
    void devtlb_complete(uint16_t, uint32_t itag_mask) override { masks.push_back(itag_mask); }
    std::vector<uint32_t> masks;
};

void run_ns(double ns) {
    sc_core::sc_start(sc_core::sc_time(ns, sc_core::SC_NS));
}

devtlb_request range(uint64_t base, uint64_t length, uint8_t itag = 0) {
    devtlb_request r;
    r.sid = k_sid;
    r.itag = itag;
    r.base = base;
    r.length = length;
    return r;
}

ats_device_tlb::atc_entry entry(uint64_t base, uint64_t out, bool with_pasid = false, uint32_t pasid = 0) {
    ats_device_tlb::atc_entry e;
    e.with_pasid = with_pasid;
    e.pasid = pasid;
    e.base = base;
    e.length = 0x1000;
    e.out = out;
    return e;
}

TEST(AtsDeviceTlb, HitAfterACompletedCoveringInvalidationIsStale) {
    ats_device_tlb dev("dev", k_sid, 100);
    dev.set_stale_check(true);
    dev.set_fault(ats_device_tlb::fault_mode::keeps_entries);  // the seeded bug: answers, keeps the entry
    completions sink;
    dev.cache(entry(0x10000, 0x5'0000));
    dev.cache(entry(0x20000, 0x6'0000));
    run_ns(10);
    dev.invalidate(range(0x10000, 0x1000), sink);
    ASSERT_NE(dev.lookup(false, 0, 0x10010), nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 0u) << "not completed yet: the device may still use it";
    run_ns(200);
    ASSERT_EQ(sink.masks.size(), 1u);
    const ats_device_tlb::atc_entry* hit = dev.lookup(false, 0, 0x10010);
    ASSERT_NE(hit, nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 1u);
    ASSERT_EQ(dev.stale_reports().size(), 1u);
    const stale_report& rep = dev.stale_reports()[0];
    EXPECT_EQ(rep.cache, stale_cache::device_tlb);
    EXPECT_EQ(rep.rid, k_sid);
    EXPECT_FALSE(rep.has_pasid);
    EXPECT_EQ(rep.addr, 0x10010u);
    EXPECT_EQ(rep.key_addr, 0x10000u);
    EXPECT_EQ(rep.cached_out, 0x5'0010u);
    EXPECT_EQ(rep.invalidated_ps, 110'000u) << "arrived at 10 ns, answered 100 ns later";
    EXPECT_EQ(rep.time_ps, 210'000u);
    // The entry the invalidation did not cover is no stale hit.
    EXPECT_NE(dev.lookup(false, 0, 0x20000), nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 1u);
    EXPECT_EQ(dev.statistics().hits, 3u);
}

TEST(AtsDeviceTlb, DeviceThatDropsWhatItIsToldReportsNothing) {
    ats_device_tlb dev("dev", k_sid, 100);
    dev.set_stale_check(true);
    completions sink;
    dev.cache(entry(0x10000, 0x5'0000));
    dev.invalidate(range(0, 0), sink);  // whole address space
    run_ns(200);
    EXPECT_EQ(dev.lookup(false, 0, 0x10000), nullptr);
    // Cached again after the invalidation: a fresh translation.
    dev.cache(entry(0x10000, 0x7'0000));
    EXPECT_NE(dev.lookup(false, 0, 0x10000), nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 0u);
    EXPECT_EQ(dev.statistics().stale_checks, 1u);
}

TEST(AtsDeviceTlb, EntryCachedAfterTheInvalidationArrivedIsFresh) {
    ats_device_tlb dev("dev", k_sid, 100);
    dev.set_stale_check(true);
    dev.set_fault(ats_device_tlb::fault_mode::keeps_entries);
    completions sink;
    dev.invalidate(range(0x10000, 0x1000), sink);
    dev.cache(entry(0x10000, 0x5'0000));  // the translation the device asked for after it
    run_ns(200);
    EXPECT_NE(dev.lookup(false, 0, 0x10000), nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 0u);
}

TEST(AtsDeviceTlb, PasidScopedInvalidationCoversOnlyItsPasid) {
    ats_device_tlb dev("dev", k_sid, 100);
    dev.set_stale_check(true);
    dev.set_fault(ats_device_tlb::fault_mode::keeps_entries);
    completions sink;
    dev.cache(entry(0x10000, 0x5'0000, true, 5));
    dev.cache(entry(0x10000, 0x6'0000, true, 6));
    dev.cache(entry(0x10000, 0x8'0000));
    devtlb_request r = range(0x10000, 0x1000);
    r.with_pasid = true;
    r.pasid = 5;
    dev.invalidate(r, sink);
    run_ns(200);
    EXPECT_NE(dev.lookup(true, 6, 0x10000), nullptr);
    EXPECT_NE(dev.lookup(false, 0, 0x10000), nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 0u);
    EXPECT_NE(dev.lookup(true, 5, 0x10000), nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 1u);
    ASSERT_EQ(dev.stale_reports().size(), 1u);
    EXPECT_EQ(dev.stale_reports()[0].pasid, 5u);
}

TEST(AtsDeviceTlb, StaleCheckOffReportsNothing) {
    ats_device_tlb dev("dev", k_sid, 100);
    dev.set_fault(ats_device_tlb::fault_mode::keeps_entries);
    completions sink;
    dev.cache(entry(0x10000, 0x5'0000));
    dev.invalidate(range(0x10000, 0x1000), sink);
    run_ns(200);
    EXPECT_NE(dev.lookup(false, 0, 0x10000), nullptr);
    EXPECT_EQ(dev.statistics().stale_hits, 0u);
    EXPECT_EQ(dev.statistics().stale_checks, 0u);
}

}  // namespace
}  // namespace iommusim
