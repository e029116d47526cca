// Paging-structure caches: non-leaf first-stage entries (tag DID + PASID + input-address prefix
// per level) and non-leaf second-stage entries (tag DID + GPA prefix per level), docs/vtd-facts.md
// §6.1-6.4.
//
// Models: one bounded LRU array per stage and level (levels 2..5, i.e. PDE..PML5E); an entry
// holds the next table's address and the permissions accumulated from the root down to and
// including the cached entry, so a walk can resume below it. First-stage entries hold the next
// table's address as the first stage sees it (a GPA under nesting): second-stage changes never
// make them stale. Invalidation scopes: all; domain (both stages); domain-range (second stage,
// any PASID, kept when IH=1); PASID (first stage); PASID-range (first stage, kept when IH=1).
// Does not model: timing, caching of leaf entries (that is the IOTLB).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "tlm/page_range.h"

namespace iommusim {

class paging_structure_cache {
  public:
    enum class stage : uint8_t { first = 0, second = 1 };
    static constexpr unsigned min_level = 2;  // PDE: the lowest non-leaf level
    static constexpr unsigned max_level = 5;  // PML5E
    // Address bits below the tag of a level's entries (the region one entry translates).
    static constexpr unsigned prefix_shift(unsigned level) { return 12 + 9 * (level - 1); }

    struct entry {
        uint64_t next_table = 0;  // address of the table the cached entry points to
        uint8_t perm = 0;         // accumulated rights (iotlb_perm bits of the stage)
    };

    // `entries_fs` / `entries_ss`: capacity of each per-level array.
    paging_structure_cache(unsigned entries_fs, unsigned entries_ss);

    // The cached entry at `level` that translates `addr` (first stage: the input address for
    // did+pasid; second stage: a GPA for did, pasid ignored), or nullptr.
    const entry* lookup(stage st, uint16_t did, uint32_t pasid, unsigned level, uint64_t addr);
    // The same for the lowest level from min_level up to below walk_levels that holds an entry for
    // `addr` (level set to it), or nullptr: where a walk of walk_levels levels resumes.
    template <stage st>
    [[gnu::always_inline]] const entry* lookup_lowest(uint16_t did, uint32_t pasid, unsigned walk_levels, uint64_t addr,
                                                      unsigned& level);
    void fill(stage st, uint16_t did, uint32_t pasid, unsigned level, uint64_t addr, const entry& e);
    // lookup() without making the entry the most recently used (slot: where it is, for touch()).
    // A slot that peek() returned before is looked at first: while it still holds the tag (tags are
    // unique per level), its entry is the one, found without the probes.
    const entry* peek(stage st, uint16_t did, uint32_t pasid, unsigned level, uint64_t addr, uint32_t& slot) const;
    // What lookup() would have done to the LRU order for the entry peek() found (nothing changed since).
    void touch(stage st, unsigned level, uint32_t slot);
    // Counts every change of a level's contents or LRU order (fills, drops, moves to the most
    // recently used end): while it stays the same, lookups find the same entries in the same slots,
    // and touching the entries that were last touched again, in the same order, changes nothing.
    uint64_t changes(stage st, unsigned level) const { return arr(st, level).changes; }

    unsigned invalidate_all();
    unsigned invalidate_domain(uint16_t did);
    // Second-stage entries of did overlapping 2^am pages at page number vpn; none when ih.
    unsigned invalidate_domain_range(uint16_t did, uint64_t vpn, unsigned am, bool ih);
    unsigned invalidate_pasid(uint16_t did, uint32_t pasid);
    // First-stage entries of did+pasid overlapping the range; none when ih.
    unsigned invalidate_pasid_range(uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am, bool ih);

    unsigned size(stage st) const;  // valid entries of a stage, all levels

  private:
    // Structure of arrays per level: invalidations scan the 8-byte tags only (one cache line per
    // eight entries) and touch prefixes and payloads of candidates. Lookups go through a hash
    // index of the valid slots (open addressing, linear probing), the LRU order is a list through
    // the valid slots: lookup, fill and eviction cost O(1), not O(capacity).
    struct level_array {
        static constexpr uint32_t none = ~uint32_t{0};
        std::vector<uint64_t> keys;      // tag_key(did, pasid) when valid, 0 when invalid
        std::vector<uint64_t> prefixes;  // addr >> prefix_shift(level)
        std::vector<entry> entries;
        std::vector<uint32_t> newer;  // LRU list: the next more recently used valid slot
        std::vector<uint32_t> older;  // and the next less recently used one
        uint32_t mru = none;
        uint32_t lru = none;
        std::vector<uint64_t> invalid;  // bit i: slot i is invalid (the lowest is filled first)
        std::vector<uint32_t> index;    // hash buckets: slot + 1, 0 when empty; size a power of two
        unsigned index_shift = 64;      // 64 - log2(index.size())
        unsigned index_mask = 0;        // index.size() - 1
        unsigned count = 0;             // valid entries (an empty level is skipped)
        uint64_t changes = 0;           // changes(): every unlink, link_mru and make_mru

        void init(unsigned n);
        unsigned bucket(uint64_t key, uint64_t prefix) const {
            return static_cast<unsigned>(((key ^ (prefix * 0x9e37'79b9'7f4a'7c15ull)) * 0xff51'afd7'ed55'8ccdull) >>
                                         index_shift);
        }
        uint32_t find(uint64_t key, uint64_t prefix) const;      // the valid slot with that tag, or none
        uint32_t find_and_touch(uint64_t key, uint64_t prefix);  // find(), the hit made the most recent
        void unlink(uint32_t slot);                              // from the LRU list
        void link_mru(uint32_t slot);
        void make_mru(uint32_t slot);  // a valid slot that is not the most recently used one
        void index_insert(uint32_t slot);
        void index_erase(uint32_t slot);  // the slot must be indexed
        void drop(uint32_t slot);         // valid -> invalid (list, index, invalid bits)
    };
    static constexpr unsigned levels = max_level - min_level + 1;
    static constexpr uint64_t valid_bit = uint64_t{1} << 63;
    static constexpr uint64_t did_mask = valid_bit | (uint64_t{0xffff} << 32);
    static constexpr uint64_t tag_key(uint16_t did, uint32_t pasid) {
        return valid_bit | (uint64_t{did} << 32) | pasid;
    }
    // The key of a stage's entry: second-stage entries serve every PASID of the domain.
    static constexpr uint64_t stage_key(stage st, uint16_t did, uint32_t pasid) {
        return tag_key(did, st == stage::second ? 0 : pasid);
    }

    // Counting filters per stage: valid entries per hash bucket of the DID and of the whole key
    // (DID+PASID). A zero bucket proves that a scope of that DID (or DID+PASID) has nothing to drop.
    static constexpr unsigned filter_buckets = 256;
    static unsigned did_bucket(uint64_t key) { return static_cast<unsigned>(key >> 32) & (filter_buckets - 1); }
    static unsigned key_bucket(uint64_t key) {
        return static_cast<unsigned>(((key & ~valid_bit) * 0x9e37'79b9'7f4a'7c15ull) >> 56);  // top 8 bits
    }
    void count_in(stage st, uint64_t key);
    void count_out(stage st, uint64_t key);

    level_array& arr(stage st, unsigned level) {
        return m_arrays[static_cast<unsigned>(st) * levels + (level - min_level)];
    }
    const level_array& arr(stage st, unsigned level) const {
        return m_arrays[static_cast<unsigned>(st) * levels + (level - min_level)];
    }
    // Drops the entries of a stage whose key masked by `mask` equals `want` and, when r is given,
    // whose region overlaps the range.
    unsigned drop_if(stage st, uint64_t mask, uint64_t want, const page_range* r);

    std::array<level_array, 2 * levels> m_arrays;
    std::array<unsigned, 2> m_stage_count{};  // valid entries per stage
    std::array<std::array<unsigned, filter_buckets>, 2> m_did_filter{};
    std::array<std::array<unsigned, filter_buckets>, 2> m_key_filter{};
};

// Inline: every walk looks up each stage's caches.
inline uint32_t paging_structure_cache::level_array::find(uint64_t key, uint64_t prefix) const {
    for (unsigned b = bucket(key, prefix);; b = (b + 1) & index_mask) {
        const uint32_t v = index[b];
        if (v == 0) {
            return none;
        }
        if (keys[v - 1] == key && prefixes[v - 1] == prefix) {
            return v - 1;
        }
    }
}

inline void paging_structure_cache::level_array::unlink(uint32_t slot) {
    ++changes;
    const uint32_t n = newer[slot];
    const uint32_t o = older[slot];
    (n == none ? mru : older[n]) = o;
    (o == none ? lru : newer[o]) = n;
}

inline void paging_structure_cache::level_array::link_mru(uint32_t slot) {
    ++changes;
    newer[slot] = none;
    older[slot] = mru;
    (mru == none ? lru : newer[mru]) = slot;
    mru = slot;
}

inline void paging_structure_cache::level_array::make_mru(uint32_t slot) {
    // Not the newest: it has a newer neighbour, and the list a newest entry.
    ++changes;
    const uint32_t n = newer[slot];
    const uint32_t o = older[slot];
    older[n] = o;
    (o == none ? lru : newer[o]) = n;
    newer[slot] = none;
    older[slot] = mru;
    newer[mru] = slot;
    mru = slot;
}

inline uint32_t paging_structure_cache::level_array::find_and_touch(uint64_t key, uint64_t prefix) {
    const uint32_t i = find(key, prefix);
    if (i != none && i != mru) {
        make_mru(i);
    }
    return i;
}

inline const paging_structure_cache::entry* paging_structure_cache::lookup(stage st, uint16_t did, uint32_t pasid,
                                                                           unsigned level, uint64_t addr) {
    if (level < min_level || level > max_level) {
        return nullptr;
    }
    level_array& a = arr(st, level);
    if (a.count == 0) {
        return nullptr;
    }
    const uint32_t i = a.find_and_touch(stage_key(st, did, pasid), addr >> prefix_shift(level));
    return i == level_array::none ? nullptr : &a.entries[i];
}

inline const paging_structure_cache::entry* paging_structure_cache::peek(stage st, uint16_t did, uint32_t pasid,
                                                                         unsigned level, uint64_t addr,
                                                                         uint32_t& slot) const {
    if (level < min_level || level > max_level) {
        return nullptr;
    }
    const level_array& a = arr(st, level);
    const uint64_t key = stage_key(st, did, pasid);
    const uint64_t prefix = addr >> prefix_shift(level);
    if (slot < a.keys.size() && a.keys[slot] == key && a.prefixes[slot] == prefix) {
        return &a.entries[slot];
    }
    const uint32_t i = a.find(key, prefix);
    if (i == level_array::none) {
        return nullptr;
    }
    slot = i;
    return &a.entries[i];
}

inline void paging_structure_cache::touch(stage st, unsigned level, uint32_t slot) {
    level_array& a = arr(st, level);
    if (slot != a.mru) {
        a.make_mru(slot);
    }
}

template <paging_structure_cache::stage st>
inline const paging_structure_cache::entry* paging_structure_cache::lookup_lowest(uint16_t did, uint32_t pasid,
                                                                                  unsigned walk_levels, uint64_t addr,
                                                                                  unsigned& level) {
    const uint64_t key = stage_key(st, did, pasid);
    const unsigned top = walk_levels < max_level + 1 ? walk_levels : max_level + 1;
    level_array* a = &arr(st, min_level);
    for (unsigned l = min_level; l < top; ++l, ++a) {
        if (a->count == 0) {
            continue;
        }
        const uint32_t i = a->find_and_touch(key, addr >> prefix_shift(l));
        if (i != level_array::none) {
            level = l;
            return &a->entries[i];
        }
    }
    return nullptr;
}

}  // namespace iommusim
