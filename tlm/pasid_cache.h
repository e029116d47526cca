// PASID cache: decoded PASID-table entries (with their PASID-directory FPD) tagged by DID + PASID
// and remembering the source id that loaded them (docs/vtd-facts.md §6.1, §6.5).
//
// Models: a bounded, fully associative cache with LRU replacement, looked up by (SID, PASID)
// because the DID is only known from the entry, in O(1) through a hash of the two
// (tlm/lru_cache.h); only entries that decoded without fault are cached; global,
// domain-selective and PASID-selective (DID + PASID) invalidation.
// Does not model: timing.
#pragma once

#include <cstdint>

#include "tlm/lru_cache.h"
#include "tlm/translation_types.h"

namespace iommusim {

class pasid_cache {
  public:
    explicit pasid_cache(unsigned entries);

    const pasid_info* lookup(uint16_t sid, uint32_t pasid) { return m_cache.lookup(key{sid, pasid}); }
    void fill(uint16_t sid, const pasid_info& info);

    // Fills and invalidations so far: an entry lookup() returned stays valid while this is unchanged.
    uint64_t changes() const { return m_cache.changes(); }
    // Where an entry lookup() returned sits, and another hit on it (LRU update) without the lookup.
    uint32_t position(const pasid_info* entry) const { return m_cache.position(entry); }
    void touch(uint32_t position) { m_cache.touch(position); }

    unsigned invalidate_all();
    unsigned invalidate_domain(uint16_t did);
    unsigned invalidate_pasid(uint16_t did, uint32_t pasid);

    unsigned size() const { return m_cache.size(); }
    unsigned capacity() const { return m_cache.capacity(); }

  private:
    struct key {
        uint16_t sid = 0;
        uint32_t pasid = 0;
        bool operator==(const key&) const = default;
    };
    struct key_bits {
        uint64_t operator()(const key& k) const { return (uint64_t{k.sid} << 32) | k.pasid; }
    };
    lru_cache<key, pasid_info, key_bits> m_cache;
};

}  // namespace iommusim
