// Not-present cache of caching mode (CAP.CM, VT-d spec §6.1): with CM set, hardware may cache
// not-present or erroneous entries of every structure other than the first-stage tables, so
// software must invalidate after it makes such an entry present. The model caches translations
// that failed on a not-present second-stage entry (second-stage-only and nested requests), tagged
// like IOTLB entries (DID, PASID, kind, 4 KiB input page), and drops them with the IOTLB scopes.
//
// Models: a bounded, fully associative cache with LRU replacement (tlm/lru_cache.h); the IOTLB invalidation scopes
// of docs/vtd-facts.md §6.2-6.3 (iotlb_scope_covers).
// Does not model: not-present context, PASID or paging-structure entries; timing.
#pragma once

#include <cstdint>

#include "iommusim/hw/vtd_fault.h"
#include "tlm/iotlb_if.h"
#include "tlm/lru_cache.h"
#include "tlm/page_range.h"

namespace iommusim {

class not_present_cache {
  public:
    explicit not_present_cache(unsigned entries) : m_cache(entries) {}

    // The fault a cached not-present entry gives for the page, or nullptr.
    const hw::fault_reason* lookup(const iotlb_tag& tag) { return m_cache.lookup(tag); }
    void fill(const iotlb_tag& tag, hw::fault_reason fault) { m_cache.fill(tag, fault); }

    // Drops the entries the IOTLB scope covers; returns how many.
    unsigned invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) {
        return m_cache.drop_if(
            [&](const iotlb_tag& t, hw::fault_reason) { return iotlb_scope_covers(scope, did, pasid, range, t); });
    }

    unsigned size() const { return m_cache.size(); }

  private:
    // The tag folded into 64 bits for the hash (equal tags, equal bits; the tag compare decides).
    struct tag_bits {
        uint64_t operator()(const iotlb_tag& t) const {
            return t.vpn ^ (uint64_t{t.did} << 28) ^ (uint64_t{t.pasid} << 44) ^
                   (uint64_t{static_cast<uint8_t>(t.kind)} << 60) ^ (uint64_t{static_cast<uint8_t>(t.level)} << 62);
        }
    };
    lru_cache<iotlb_tag, hw::fault_reason, tag_bits> m_cache;
};

}  // namespace iommusim
