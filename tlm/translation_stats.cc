#include "tlm/translation_stats.h"

#include <cstdio>

namespace iommusim {

void translation_stats::register_stats(stats_group& g) const {
    auto stale_of = [this](stale_cache c) -> const uint64_t& { return stale_hits_by_cache[static_cast<unsigned>(c)]; };
    g.counter("translations", "translation requests", translations);
    g.counter("faults", "faults, recorded or suppressed", faults);
    g.counter("faults_suppressed", "qualified faults with FPD set", faults_suppressed);
    g.counter("context_hits", "context-cache hits", context_hits);
    g.counter("context_misses", "context-cache misses", context_misses);
    g.counter("pasid_hits", "PASID-cache hits", pasid_hits);
    g.counter("pasid_misses", "PASID-cache misses", pasid_misses);
    g.counter("iotlb_hits", "IOTLB hits", iotlb_hits);
    g.counter("iotlb_misses", "IOTLB misses", iotlb_misses);
    g.counter("iotlb_fills", "IOTLB fills", iotlb_fills);
    g.counter("iotlb_evictions", "IOTLB evictions", iotlb_evictions);
    g.counter("dirty_rewalks", "hits walked again for D or a missing right", dirty_rewalks);
    g.counter("ats_no_rights", "ATS translations answered R=W=0", ats_no_rights);
    g.counter("fs_psc_hits", "first-stage paging-structure cache hits", fs_psc_hits);
    g.counter("fs_psc_misses", "first-stage paging-structure cache misses", fs_psc_misses);
    g.counter("ss_psc_hits", "second-stage paging-structure cache hits", ss_psc_hits);
    g.counter("ss_psc_misses", "second-stage paging-structure cache misses", ss_psc_misses);
    g.counter("walks", "page walks", walks);
    g.counter("walk_accesses", "memory reads and cmpxchg operations of walks", walk_accesses);
    g.counter("not_present_hits", "translations faulted by a cached not-present entry (caching mode)",
              not_present_hits);
    g.counter("not_present_fills", "not-present entries cached (caching mode)", not_present_fills);
    g.counter("stale_checks", "cached entries compared against the tables", stale_checks);
    g.counter("stale_hits", "stale cached entries used, every cache", stale_hits);
    g.counter("stale_iotlb_hits", "stale IOTLB entries used", stale_of(stale_cache::iotlb));
    g.counter("stale_context_hits", "stale context-cache entries used", stale_of(stale_cache::context));
    g.counter("stale_pasid_hits", "stale PASID-cache entries used", stale_of(stale_cache::pasid));
    g.counter("stale_fs_psc_hits", "stale first-stage paging-structure-cache entries used",
              stale_of(stale_cache::fs_psc));
    g.counter("stale_ss_psc_hits", "stale second-stage paging-structure-cache entries used",
              stale_of(stale_cache::ss_psc));
    g.counter("stale_not_present_hits", "cached not-present entries used where the tables translate",
              stale_of(stale_cache::not_present));
    g.counter("invalidations", "invalidation method calls", invalidations);
    g.counter("invalidated_entries", "entries invalidations dropped", invalidated_entries);
    g.named_counters("faults_by_reason", "faults by reason code", faults_by_reason, [](std::size_t r, uint64_t n) {
        if (n == 0) {
            return std::string();
        }
        char key[8];
        std::snprintf(key, sizeof key, "0x%02x", static_cast<unsigned>(r));
        return std::string(key);
    });
}

std::string translation_stats::to_json() const {
    stats_group g;
    register_stats(g);
    return g.to_json();
}

}  // namespace iommusim
