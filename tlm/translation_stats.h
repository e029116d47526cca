// Counters of the translation core: translations, per-cache hits and misses, walks, walk memory
// accesses, faults by reason, stale hits (in all and per cache), invalidations. Plain data, registered into a
// stats_group.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "tlm/stale_report.h"
#include "tlm/stats_group.h"

namespace iommusim {

struct translation_stats {
    uint64_t translations = 0;
    uint64_t faults = 0;                           // all faults (recorded or suppressed)
    uint64_t faults_suppressed = 0;                // qualified faults with FPD set
    std::array<uint64_t, 256> faults_by_reason{};  // indexed by hw::fault_reason value
    uint64_t context_hits = 0;
    uint64_t context_misses = 0;
    uint64_t pasid_hits = 0;
    uint64_t pasid_misses = 0;
    uint64_t iotlb_hits = 0;
    uint64_t iotlb_misses = 0;
    uint64_t iotlb_fills = 0;
    uint64_t iotlb_evictions = 0;
    uint64_t dirty_rewalks = 0;  // write hits on entries without D, or rights the entry lacks
    uint64_t ats_no_rights = 0;  // ATS translation requests answered R=W=0 (not present or no right; no fault)
    uint64_t fs_psc_hits = 0;
    uint64_t fs_psc_misses = 0;
    uint64_t ss_psc_hits = 0;
    uint64_t ss_psc_misses = 0;
    uint64_t walks = 0;
    uint64_t walk_accesses = 0;      // memory reads and cmpxchg operations of walks
    uint64_t not_present_hits = 0;   // translations faulted by a cached not-present entry (caching mode)
    uint64_t not_present_fills = 0;  // not-present entries cached (caching mode)
    uint64_t stale_checks = 0;       // cached entries compared against the tables
    uint64_t stale_hits = 0;         // stale cached entries used (every cache)
    std::array<uint64_t, stale_cache_count> stale_hits_by_cache{};  // indexed by stale_cache
    uint64_t invalidations = 0;                                     // invalidation method calls
    uint64_t invalidated_entries = 0;                               // entries dropped by them (every cache)

    // Every field by its name; faults_by_reason lists non-zero reasons as {"0x71": n, ...}.
    void register_stats(stats_group& group) const;
    std::string to_json() const;
};

}  // namespace iommusim
