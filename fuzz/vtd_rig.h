// The platform side shared by the VT-d fuzz targets. SystemC elaborates once per process, so one
// platform (stale-translation checker on) serves every input; what an input builds is torn down
// after it and what it may have changed is reset before the next.
//
// Built once: a VMM (iommufd context) with vfio0 and vfio1 bound, guest RAM mapped into an IOAS at
// GPA 0, a nest parent over it, and vfio1 attached straight to the nest parent: the isolation
// witness, whose DMA must keep reading guest RAM at GPA = IOVA whatever happens to vfio0's nested
// domain. A second, empty iommufd context must never see the first one's objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "iommusim/iommufd.h"
#include "program/guest_memory.h"
#include "program/vmm.h"

namespace iommusim::fuzz {

class vtd_rig {
  public:
    static constexpr std::size_t ram_bytes = std::size_t{8} << 20;
    static constexpr uint64_t page = 4096;

    static vtd_rig& instance();

    program::vmm& vmm() { return m_vmm; }
    program::guest_memory& guest() { return m_guest; }
    unsigned nested_dev() const { return m_dev; }  // vfio0: the fuzzed nested domains attach here
    uint32_t parent() const { return m_parent; }

    // The platform's stale-translation hits so far.
    uint64_t stale_hits() const;
    // Reads one page of GVA/IOVA iova through vfio0 (errno, 0 = ok).
    int read(uint64_t iova, void* buf, std::size_t len, int* reason = nullptr);
    // The witness and the second context are as they should be (aborts through the oracle otherwise).
    void check_isolation(uint32_t nested_id);
    // VFIO_DEVICE_ATTACH_IOMMUFD_PT of vfio0 to pt_id: 0 or the errno.
    int attach_nested(uint32_t pt_id);
    // vfio0 back on the nest parent, then IOMMU_DESTROY of the nested HWPT (must succeed).
    void release_nested(uint32_t nested_id);

    // A physical scratch page outside everything the driver and the guest use.
    uint64_t scratch_pa() const { return m_scratch_pa; }

  private:
    vtd_rig();
    program::vmm m_vmm;
    program::vmm m_other;  // a second context: sees nothing of the first
    program::guest_memory m_guest{0, ram_bytes};
    unsigned m_dev = 0;
    unsigned m_witness = 0;
    uint32_t m_ioas = 0;
    uint32_t m_parent = 0;
    uint64_t m_scratch_pa = 0;
    uint64_t m_witness_cursor = 0;
};

// A nested HWPT on vfio0 over a guest stage-1 table that maps `pages` GVA pages (spread over
// several leaf tables, page directories and PDPTs), each leaf pointing at one of `targets` data
// pages (each filled with its own byte) or not present. Built once (and every page read once, so
// that it is cached); reset() puts every leaf back on its home page and invalidates everything.
class mapped_guest {
  public:
    static constexpr unsigned pages = 16;
    static constexpr unsigned targets = 24;
    static constexpr int not_present = -1;

    explicit mapped_guest(vtd_rig& rig);
    uint32_t nested() const { return m_nested; }
    static uint64_t gva(unsigned i);
    static uint64_t target_gpa(unsigned t);
    static uint8_t target_byte(unsigned t) { return static_cast<uint8_t>(0x40 + t); }

    // The guest points leaf i at target t (or clears its present bit): no invalidation.
    void point(unsigned i, int t);
    int target_of(unsigned i) const { return m_target[i]; }
    void reset();
    // A read of page i through vfio0 agrees with the leaf as it is now: the target's bytes, or a
    // fault when it is not present. `what` names the situation in the report.
    void expect_current(unsigned i, const char* what);

  private:
    vtd_rig& m_rig;
    uint32_t m_nested = 0;
    int m_target[pages];
};

// The expected result of IOMMU_HWPT_INVALIDATE on a VT-d nested HWPT, written from
// docs/iommufd-facts.md §3.1 and §4.2/§4.4 (not from the model): the errno and the entry_num
// written back, and which requests were handled. `entries` holds what the array's readable part
// holds (`readable` bytes from data_uptr).
struct vtd_invalidate_expectation {
    int err = 0;
    uint32_t done = 0;
};
vtd_invalidate_expectation expect_vtd_invalidate(const iommu_hwpt_invalidate& cmd, const uint8_t* entries,
                                                 std::size_t readable);

}  // namespace iommusim::fuzz
