// Functional coverage of the IOMMU model: which kinds of behaviour a run exercised, as coverpoints
// and crosses with named bins (UVM-style), sampled on every translation and every applied
// invalidation scope, plus points read from the model's counters when the coverage is written.
//
// Points (the bin lists are declared once, in functional_coverage.cc):
//   translation.kind_x_fault     translation kind x outcome (no fault, or each fault reason the kind
//                                can raise: first-stage SFL/SGN, second-stage SSL/SGN, nested both)
//   translation.structure_fault  faults in the root/context/PASID structures (RTA, SRT, SCT, SPD, SPT)
//   translation.kind_x_page      translation kind x effective page size of a successful translation
//   translation.request_x_kind   untagged / PASID-tagged read / write, ATS translation request x kind
//   ats.translation              ATS translation requests: translated, answered R=W=0, faulted
//   invalidation.scope_x_ih_x_dropped  each cache scope (descriptor type x granularity) x IH (range
//                                scopes) x entries dropped (none / some)
//   invalidation.device_tlb      type 3 / type 8 sent, completed, timed out (ITE), no such device
//   invalidation.wait            status write, interrupt, fence, aborted by ITE
//   queue.error                  IQE by IQEI code, ITE, ICE
//   checker.stale_hit            the stale-translation checker's hits, per cache
//
// The JSON (to_json): an array of {"name", "description", "axes": [...], "bins": [{"at": [...],
// "hits": n}, ...]}; the program wraps it with the run's metadata and merges files of many runs.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "tlm/invalidation_queue_stats.h"
#include "tlm/invalidation_scope.h"
#include "tlm/iotlb_codes.h"
#include "tlm/translation_stats.h"
#include "tlm/translation_types.h"

namespace iommusim {

class functional_coverage {
  public:
    // One translation of a DMA piece or an ATS translation request, with its outcome.
    // One counter per translation (to_json() adds up the points): every DMA piece samples.
    void translation(const translation_request& req, const translation_result& r) {
        const unsigned kind = kind_index(r.kind);
        const unsigned request = request_index(req);
        if (r.ok()) [[likely]] {
            ++m_translated[request][kind][page_index(r.page_bytes)];
        } else {
            ++m_faulted[request][kind];
            ++m_kind_fault[kind][static_cast<uint8_t>(r.fault)];
        }
    }
    // A cache scope the queue engine applied, and the entries it dropped from every cache.
    void scope_applied(const invalidation_scope& scope, unsigned dropped) {
        ++m_scope_ih_dropped[static_cast<unsigned>(scope.kind)][scope.ih ? 1 : 0][dropped ? 1 : 0];
    }

    // Every point with its bins; the counter-based points come from `translation` and `queue`.
    std::string to_json(const translation_stats& translation, const invalidation_queue_stats& queue) const;

  private:
    // index = translation_kind value, one slot per value of its bits (a mask, not a division;
    // the unused values stay at zero)
    static constexpr unsigned kinds = 1u << translation_kind_bits;
    static constexpr unsigned pages = 4;     // 4 KiB, 2 MiB, 1 GiB, other
    static constexpr unsigned requests = 5;  // untagged read, untagged write, PASID read, PASID write, ATS
    static unsigned kind_index(translation_kind k) { return static_cast<unsigned>(k) & (kinds - 1); }
    static unsigned page_index(uint64_t bytes) {
        return bytes == 4096 ? 0 : bytes == (uint64_t{1} << 21) ? 1 : bytes == (uint64_t{1} << 30) ? 2 : 3;
    }
    static constexpr unsigned ats_request = 4;
    static unsigned request_index(const translation_request& req) {
        return req.ats_translation ? ats_request : (req.has_pasid ? 2u : 0u) + (req.write ? 1u : 0u);
    }

    // Translations by request, kind and page size; faults by request and kind, and by kind and
    // reason (an ATS request answered R=W=0 is a translation: the counters split them).
    std::array<std::array<std::array<uint64_t, pages>, kinds>, requests> m_translated{};
    std::array<std::array<uint64_t, kinds>, requests> m_faulted{};
    std::array<std::array<uint64_t, 256>, kinds> m_kind_fault{};
    std::array<std::array<std::array<uint64_t, 2>, 2>, scope_kind_count> m_scope_ih_dropped{};
};

}  // namespace iommusim
