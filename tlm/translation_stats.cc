#include "tlm/translation_stats.h"

#include <cstdio>

namespace iommusim {

std::string translation_stats::to_json() const {
    std::string s = "{";
    auto field = [&s](const char* name, uint64_t v) {
        s += '"';
        s += name;
        s += "\": ";
        s += std::to_string(v);
        s += ", ";
    };
    field("translations", translations);
    field("faults", faults);
    field("faults_suppressed", faults_suppressed);
    field("context_hits", context_hits);
    field("context_misses", context_misses);
    field("pasid_hits", pasid_hits);
    field("pasid_misses", pasid_misses);
    field("iotlb_hits", iotlb_hits);
    field("iotlb_misses", iotlb_misses);
    field("iotlb_fills", iotlb_fills);
    field("iotlb_evictions", iotlb_evictions);
    field("dirty_rewalks", dirty_rewalks);
    field("ats_no_rights", ats_no_rights);
    field("fs_psc_hits", fs_psc_hits);
    field("fs_psc_misses", fs_psc_misses);
    field("ss_psc_hits", ss_psc_hits);
    field("ss_psc_misses", ss_psc_misses);
    field("walks", walks);
    field("walk_accesses", walk_accesses);
    field("stale_checks", stale_checks);
    field("stale_hits", stale_hits);
    field("invalidations", invalidations);
    field("invalidated_entries", invalidated_entries);
    s += "\"faults_by_reason\": {";
    bool first = true;
    for (unsigned r = 0; r < faults_by_reason.size(); ++r) {
        if (!faults_by_reason[r])
            continue;
        char key[8];
        std::snprintf(key, sizeof key, "0x%02x", r);
        if (!first)
            s += ", ";
        first = false;
        s += '"';
        s += key;
        s += "\": ";
        s += std::to_string(faults_by_reason[r]);
    }
    s += "}}";
    return s;
}

}  // namespace iommusim
