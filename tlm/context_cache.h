// Context cache: decoded scalable-mode context entries tagged by source id (docs/vtd-facts.md §6.1, §6.5).
//
// Models: a bounded, fully associative cache with LRU replacement; only entries that decoded
// without fault are cached; global and device-selective (SID + function mask) invalidation.
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

    const context_info* lookup(uint16_t sid);
    void fill(uint16_t sid, const context_info& info);

    unsigned invalidate_all();
    // FM (2 bits): 0 = exact SID, n = ignore the n most significant function bits of SID[2:0].
    unsigned invalidate_device(uint16_t sid, unsigned fm);

    unsigned size() const { return m_cache.size(); }  // valid entries
    unsigned capacity() const { return m_cache.capacity(); }

  private:
    lru_cache<uint16_t, context_info> m_cache;
};

}  // namespace iommusim
