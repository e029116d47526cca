// Scenario fault-injection: the architected errors a broken guest, a broken driver and a broken
// device cause, and the recovery from each, all while other traffic keeps working.
//  1. The guest writes a reserved bit into a present stage-1 table entry: DMA faults with SFL.3 (0x72),
//     the fault is recorded; the guest repairs the entry, invalidates, DMA works again.
//  2. The guest clears a present bit: DMA faults with SFL.2 (0x71) after the invalidation.
//  3. A corrupt descriptor reaches the invalidation queue: IQE (reserved field), the driver
//     replaces it and fails that batch with -EINVAL; the next HWPT_INVALIDATE works.
//  4. An ATS device stops answering device-TLB invalidations: ITE, the driver clears it (the
//     ioctl itself succeeds, as Linux's cache_invalidate_user ignores flush errors); once the device
//     answers again, invalidation and DMA work.
#include <cerrno>
#include <cstdint>
#include <sstream>
#include <vector>

#include "iommusim/hw/vtd_desc.h"
#include "iommusim/hw/vtd_fault.h"
#include "iommusim/hw/vtd_pte.h"
#include "platform/platform.h"
#include "program/nested_setup.h"

namespace iommusim::program {

namespace {

std::string reason_text(int reason) {
    std::ostringstream s;
    s << "0x" << std::hex << reason << " (" << hw::fault_reason_name(static_cast<hw::fault_reason>(reason)) << ")";
    return s.str();
}

std::string descriptor_text(const hw::inv_desc& d) {
    std::ostringstream s;
    s << std::hex;
    for (std::size_t i = 0; i < d.size(); ++i) {
        s << (i ? " " : "") << "0x" << d[i];
    }
    return s.str();
}

// The first ATS-capable device, or -1.
int first_ats_device(platform& p) {
    for (unsigned n = 0; n < p.config().devices.size(); ++n) {
        if (p.config().devices[n].ats) {
            return static_cast<int>(n);
        }
    }
    return -1;
}

}  // namespace

void run_fault_injection(scenario_log& log, const cli_options&) {
    platform& p = platform::instance();
    nested_setup s(log);
    uint32_t word = 0;
    int reason = 0;
    const uint64_t gva = nested_setup::gva;

    // 1. Reserved bit: PS is reserved in a PML4 entry (docs/vtd-facts.md §5.1).
    log.checkpoint();
    log.step("[1] guest sets PS (reserved there) in the PML4 entry above its buffer and invalidates (non-leaf)");
    uint64_t* pml4e = reinterpret_cast<uint64_t*>(s.guest.at(s.guest.s1_root())) + hw::pt_index(gva, 4);
    const uint64_t good = *pml4e;
    *pml4e = hw::fs_pte::ps::set(good, 1);
    p.note_guest_pte_edit("set_reserved_PS_in_PML4E_above_GVA_0x40000000");
    s.v.hwpt_invalidate(s.nested, {{gva, 1, false}});
    const uint64_t faults_before = p.recorded_faults();
    int err = s.read(gva, &word, 4, &reason);
    log.expect(err == EFAULT && reason == static_cast<int>(hw::fault_reason::fs_reserved),
               "DMA faults with " + reason_text(reason));
    log.expect(p.recorded_faults() > faults_before, "the fault is recorded in a fault recording register");
    *pml4e = good;
    p.note_guest_pte_edit("repair_PML4E_above_GVA_0x40000000");
    s.v.hwpt_invalidate(s.nested, {{gva, 1, false}});
    err = s.read(gva, &word, 4);
    log.expect(err == 0 && (word & 0xff) == 0xaa, "after the repair and an invalidation DMA works again");

    // 2. Not-present leaf.
    log.checkpoint();
    log.step("[2] guest unmaps the page and invalidates");
    s.guest.unmap(gva);
    s.v.hwpt_invalidate(s.nested, {{gva, 1, true}});
    err = s.read(gva, &word, 4, &reason);
    log.expect(err == EFAULT && reason == static_cast<int>(hw::fault_reason::fs_not_present),
               "DMA faults with " + reason_text(reason));
    s.guest.map(gva, nested_setup::page_a);
    s.v.hwpt_invalidate(s.nested, {{gva, 1, true}});

    // 3. A corrupt descriptor: a PASID-based IOTLB invalidation with a reserved bit set.
    log.checkpoint();
    log.step("[3] a corrupt descriptor (reserved bit set) is put on the invalidation queue");
    hw::inv_desc bad = hw::make_p_iotlb_inv(hw::p_iotlb_desc::page, 1, 0, gva, 0);
    bad[0] |= uint64_t{1} << 63;  // qw0 bits 63:52 are reserved in a type-6 descriptor
    const int rc = p.submit_raw_descriptor(bad);
    log.detail("raw descriptor " + descriptor_text(bad) + " submitted by the driver -> " + std::to_string(rc));
    log.expect(rc == -EINVAL, "the driver sees IQE, replaces the descriptor and fails the batch with -EINVAL (got " +
                                  std::to_string(rc) + ")");
    uint32_t done = 0;
    err = s.v.hwpt_invalidate(s.nested, {{gva, 1, true}}, &done);
    log.expect(err == 0 && done == 1, "the next IOMMU_HWPT_INVALIDATE succeeds: the queue recovered");
    err = s.read(gva, &word, 4);
    log.expect(err == 0, "DMA keeps working");

    // 4. Device-TLB time-out on an ATS device.
    const int ats = first_ats_device(p);
    if (ats < 0) {
        log.step("[4] skipped: the configuration has no ATS-capable device");
        return;
    }
    log.checkpoint();
    log.step("[4] ATS device vfio" + std::to_string(ats) + " stops answering device-TLB invalidations");
    nested_setup t(log, static_cast<unsigned>(ats));
    p.set_device_tlb_unresponsive(static_cast<unsigned>(ats), true);
    const uint64_t ite_before = p.driver_ite_count();
    err = t.v.hwpt_invalidate(t.nested, {{gva, 1, true}}, &done);
    log.expect(p.driver_ite_count() == ite_before + 1,
               "the device-TLB invalidation times out: FSTS.ITE, the pending wait is aborted, the driver clears it");
    // As in Linux, cache_invalidate_user does not report flush failures to user space.
    log.expect(err == 0 && done == 1,
               "IOMMU_HWPT_INVALIDATE still reports its entry handled (flush errors are "
               "not returned to user space, as in Linux)");
    p.set_device_tlb_unresponsive(static_cast<unsigned>(ats), false);
    err = t.v.hwpt_invalidate(t.nested, {{gva, 1, true}}, &done);
    log.expect(err == 0 && done == 1, "once the device answers again the invalidation succeeds");
    err = t.read(gva, &word, 4);
    log.expect(err == 0 && (word & 0xff) == 0xaa, "and its DMA works");
    log.summary_row("faults recorded", std::to_string(p.recorded_faults()));
}

}  // namespace iommusim::program
