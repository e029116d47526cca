// Scenario nested-invalidate (default) and missing-invalidation: a guest remaps a present stage-1
// entry; with IOMMU_HWPT_INVALIDATE the next DMA sees the new page, without it the IOTLB keeps
// serving the old one and the stale-translation checker says so.
#include <cstdint>
#include <string>
#include <vector>

#include "platform/platform.h"
#include "program/nested_setup.h"

namespace iommusim::program {

namespace {

std::string byte_hex(uint8_t b) {
    static const char* digits = "0123456789abcdef";
    return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

// Runs the remap sequence; `invalidate` chooses whether the guest does its job.
void remap_sequence(scenario_log& log, bool invalidate) {
    nested_setup s(log);
    std::vector<uint8_t> buf(64);

    int err = s.read(nested_setup::gva, buf.data(), buf.size());
    log.expect(err == 0 && buf[0] == 0xaa, "DMA read of GVA 0x40000000 returns page A (" + byte_hex(buf[0]) + ")");
    const uint64_t stale_before = platform_stale_hits();

    log.checkpoint();
    s.guest.remap(nested_setup::gva, nested_setup::page_b);
    log.step("guest: edits the present stage-1 entry: GVA 0x40000000 -> GPA 0x200000 (page B, 0xbb)");

    err = s.read(nested_setup::gva, buf.data(), buf.size());
    const uint64_t stale_after_edit = platform_stale_hits() - stale_before;
    log.step("DMA before any invalidation reads " + byte_hex(buf[0]) + " (the IOTLB still holds page A)");
    log.expect(err == 0 && buf[0] == 0xaa, "the cached translation is still used before the invalidation");
    log.expect(stale_after_edit == 1, "stale-translation checker reports exactly one stale hit (got " +
                                          std::to_string(stale_after_edit) + ")");

    log.checkpoint();
    if (invalidate) {
        uint32_t entry_num = 0;
        err = s.v.hwpt_invalidate(s.nested, {{nested_setup::gva, 1, true}}, &entry_num);
        log.step("guest: IOMMU_HWPT_INVALIDATE {addr 0x40000000, npages 1, LEAF} -> driver -> P_IOTLB + wait");
        log.expect(err == 0 && entry_num == 1, "IOMMU_HWPT_INVALIDATE succeeds with entry_num 1");
    } else {
        log.step("guest: (forgets IOMMU_HWPT_INVALIDATE)");
    }

    log.checkpoint();
    const uint64_t stale_mark = platform_stale_hits();
    err = s.read(nested_setup::gva, buf.data(), buf.size());
    const uint64_t stale_now = platform_stale_hits() - stale_mark;
    log.step("DMA after that reads " + byte_hex(buf[0]));
    log.summary_row("stale hits caught", std::to_string(platform_stale_hits() - stale_before));
    if (invalidate) {
        log.expect(err == 0 && buf[0] == 0xbb, "DMA after the invalidation sees page B");
        log.expect(stale_now == 0, "no stale hit after the invalidation");
    } else {
        for (const std::string& r : platform::instance().stale_reports()) {
            log.report("checker: " + r);
        }
        log.expect(stale_now == 0,
                   "DMA after the guest's edit uses the current stage-1 translation "
                   "(stale hit: the guest never invalidated)");
    }
}

}  // namespace

void run_nested_invalidate(scenario_log& log, const cli_options&) {
    remap_sequence(log, true);
}
void run_missing_invalidation(scenario_log& log, const cli_options&) {
    remap_sequence(log, false);
}

}  // namespace iommusim::program
