// Fuzz target: raw descriptors on the VT-d invalidation queue.
//
// Each input is up to four 256-bit descriptors that the driver submits as they are, each followed
// by its own wait descriptor (platform::submit_raw_descriptor, what a driver bug would produce),
// between a guest edit of a stage-1 leaf and the invalidation that covers it. A wait descriptor from
// the input has its status address moved into a scratch page: a status write anywhere else would
// overwrite the driver's own tables, which is the input's doing, not the model's.
// The oracle, from docs/vtd-facts.md §2 and §3, not from the model's decoder:
// - the driver reports 0, -EINVAL (IQE, recovered) or -ETIMEDOUT (device-TLB time-out); a type
//   outside 1..10 and a type 1..8 with non-zero bits in qw2/qw3 are -EINVAL;
// - afterwards FSTS shows no IQE, ICE or ITE (the driver cleared them), and the queue still works:
//   the invalidation of the edited page completes and the page reads its new target, with no stale
//   hit; after the input every page reads right, the witness device reads guest RAM unchanged.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cerrno>

#include "iommusim/iommusim.h"
#include "oracle.h"
#include "platform/platform.h"
#include "vtd_rig.h"

namespace {

using iommusim::fuzz::mapped_guest;
using iommusim::fuzz::vtd_rig;

constexpr uint32_t fsts_iqe = 1u << 4;
constexpr uint32_t fsts_ice = 1u << 5;
constexpr uint32_t fsts_ite = 1u << 6;
constexpr unsigned wait_type = 5;

// type = qw0 bits 11:9 as type[6:4], bits 3:0 as type[3:0] (docs/vtd-facts.md §3).
unsigned type_of(const std::array<uint64_t, 4>& d) {
    return static_cast<unsigned>(((d[0] >> 9) & 0x7) << 4 | (d[0] & 0xf));
}

std::array<uint64_t, 4> descriptor(FuzzedDataProvider& in, uint64_t scratch_pa) {
    std::array<uint64_t, 4> d{};
    for (uint64_t& q : d) {
        q = in.ConsumeIntegral<uint64_t>();
    }
    if (in.ConsumeProbability<float>() < 0.8f) {
        // A known type with a zero upper half, the other fields as the input has them.
        const unsigned type = in.ConsumeIntegralInRange<unsigned>(1, 8);
        d[0] = (d[0] & ~uint64_t{0xe0f}) | type;
        d[2] = d[3] = 0;
    }
    if (type_of(d) == wait_type) {
        d[1] = scratch_pa | (d[1] & 0xfff);
    }
    return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    vtd_rig& rig = vtd_rig::instance();
    static mapped_guest g(rig);
    iommusim::platform& p = iommusim::platform::instance();
    FuzzedDataProvider in(data, size);
    for (unsigned n = in.ConsumeIntegralInRange<unsigned>(1, 4); n > 0 && in.remaining_bytes() > 0; --n) {
        const unsigned page = in.ConsumeIntegralInRange<unsigned>(0, mapped_guest::pages - 1);
        const int target = in.ConsumeIntegralInRange<int>(-1, mapped_guest::targets - 1);
        g.point(page, target);
        const std::array<uint64_t, 4> d = descriptor(in, rig.scratch_pa());
        const unsigned type = type_of(d);
        const int rc = p.submit_raw_descriptor(d);
        FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ETIMEDOUT, "raw descriptor type %u: driver result %d", type, rc);
        if (type == 0 || type > 10) {
            FUZZ_CHECK(rc == -EINVAL, "descriptor of invalid type %u: driver result %d", type, rc);
        }
        if (type >= 1 && type <= 8 && (d[2] != 0 || d[3] != 0)) {
            FUZZ_CHECK(rc == -EINVAL, "type %u with reserved qw2/qw3 bits set: driver result %d", type, rc);
        }
        const uint32_t fsts = p.fault_status();
        FUZZ_CHECK((fsts & (fsts_iqe | fsts_ice | fsts_ite)) == 0, "FSTS 0x%x after the driver's recovery", fsts);
        uint32_t done = 0;
        const int inv = rig.vmm().hwpt_invalidate(g.nested(), {{mapped_guest::gva(page), 1, false}}, &done);
        FUZZ_CHECK(inv == 0 && done == 1, "invalidation after a raw descriptor of type %u: errno %d entry_num %u", type,
                   inv, done);
        const uint64_t before = rig.stale_hits();
        g.expect_current(page, "after a raw descriptor and the page's invalidation");
        FUZZ_CHECK(rig.stale_hits() == before, "stale translation used after a completed invalidation");
    }
    g.reset();
    for (unsigned i = 0; i < mapped_guest::pages; ++i) {
        g.expect_current(i, "after reset and invalidate-all");
    }
    rig.check_isolation(g.nested());
    return 0;
}
