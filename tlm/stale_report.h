// One stale cached entry used: what the stale-translation checker found when it compared an
// entry a translation (or a device) took from a cache with what the tables (or the completed
// invalidations) say now (DESIGN.md principle 5). Shared by the translator's caches and the ATS
// device TLBs, printed by the platform.
#pragma once

#include <cstdint>

#include "iommusim/hw/vtd_fault.h"
#include "tlm/iotlb_codes.h"  // translation_kind

namespace iommusim {

// The cache a stale entry came from; the order of the per-cache statistics.
enum class stale_cache : uint8_t {
    iotlb,        // a leaf translation (IOTLB hit)
    context,      // a context-cache entry
    pasid,        // a PASID-cache entry
    fs_psc,       // a first-stage paging-structure-cache entry
    ss_psc,       // a second-stage paging-structure-cache entry
    not_present,  // a not-present entry cached under caching mode (the tables now translate)
    device_tlb,   // an ATS device-TLB entry a completed invalidation covered
};
constexpr unsigned stale_cache_count = static_cast<unsigned>(stale_cache::device_tlb) + 1;

constexpr const char* stale_cache_name(stale_cache c) {
    switch (c) {
        case stale_cache::iotlb:
            return "IOTLB";
        case stale_cache::context:
            return "context-cache";
        case stale_cache::pasid:
            return "PASID-cache";
        case stale_cache::fs_psc:
            return "first-stage paging-structure-cache";
        case stale_cache::ss_psc:
            return "second-stage paging-structure-cache";
        case stale_cache::not_present:
            return "not-present-cache";
        case stale_cache::device_tlb:
            return "device-TLB";
    }
    return "?";
}

struct stale_report {
    stale_cache cache = stale_cache::iotlb;
    uint64_t time_ps = 0;  // simulated time of the use
    // The request that used the entry.
    uint16_t rid = 0;
    bool has_pasid = false;
    uint32_t pasid = 0;
    uint64_t addr = 0;
    bool write = false;
    uint16_t did = 0;
    translation_kind kind = translation_kind::second_stage;
    // Key of the entry beyond the request: the level of a paging-structure-cache entry (2 PDE ..
    // 5 PML5E) and the address it was looked up by (input address, or GPA for the second stage).
    unsigned level = 0;
    uint64_t key_addr = 0;
    // Cached vs current. IOTLB, not-present cache, device TLB: the output address (HPA); paging-
    // structure caches: the next table; context and PASID caches: the value of `field`.
    const char* field = nullptr;  // context / PASID caches: the first field that differs
    uint64_t cached_out = 0;
    uint8_t cached_perm = 0;
    hw::fault_reason current_fault = hw::fault_reason::none;  // what the tables give now
    uint64_t current_out = 0;
    uint8_t current_perm = 0;
    // Device TLB: when the invalidation that covered the entry completed.
    uint64_t invalidated_ps = 0;
};

}  // namespace iommusim
