// Context cache: decoded scalable-mode context entries tagged by source id (docs/vtd-facts.md §6.1, §6.5).
//
// Models: a bounded, fully associative cache with LRU replacement, looked up in O(1) through a
// hash of the SID (tlm/lru_cache.h); only entries that decoded without fault are cached; global
// and device-selective (SID + function mask) invalidation.
// Domain-selective context invalidation behaves as global in scalable mode (the translator maps it).
// Does not model: legacy-mode context entries, timing.
#pragma once

#include <cstdint>

#include "tlm/lru_cache.h"
#include "tlm/translation_types.h"

namespace iommusim {

class context_cache {
  public:
    explicit context_cache(unsigned entries);

    const context_info* lookup(uint16_t sid) { return m_cache.lookup(sid); }
    void fill(uint16_t sid, const context_info& info);

    // Fills and invalidations so far: an entry lookup() returned stays valid while this is unchanged.
    uint64_t changes() const { return m_cache.changes(); }
    // Where an entry lookup() returned sits, and another hit on it (LRU update) without the lookup.
    uint32_t position(const context_info* entry) const { return m_cache.position(entry); }
    void touch(uint32_t position) { m_cache.touch(position); }

    unsigned invalidate_all();
    // FM (2 bits): 0 = exact SID, n = ignore the n most significant function bits of SID[2:0].
    unsigned invalidate_device(uint16_t sid, unsigned fm);

    unsigned size() const { return m_cache.size(); }  // valid entries
    unsigned capacity() const { return m_cache.capacity(); }

  private:
    struct sid_bits {
        uint64_t operator()(uint16_t sid) const { return sid; }
    };
    lru_cache<uint16_t, context_info, sid_bits> m_cache;
};

}  // namespace iommusim
