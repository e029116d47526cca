// Context cache: decoded scalable-mode context entries tagged by source id (spec/vtd.md §6.1, §6.5).
//
// Models: a bounded, fully associative cache with LRU replacement; only entries that decoded
// without fault are cached; global and device-selective (SID + function mask) invalidation.
// Domain-selective context invalidation behaves as global in scalable mode (the translator maps it).
// Does not model: legacy-mode context entries, timing.
#pragma once

#include <cstdint>
#include <vector>

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

    unsigned size() const;  // valid entries
    unsigned capacity() const { return static_cast<unsigned>(m_entries.size()); }

  private:
    struct slot {
        bool valid = false;
        uint16_t sid = 0;
        uint64_t stamp = 0;
        context_info info;
    };
    std::vector<slot> m_entries;
    uint64_t m_clock = 0;
    unsigned m_last = 0;  // slot of the last hit: repeated requests of one device skip the scan
};

}  // namespace iommusim
