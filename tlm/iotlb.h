// The C++ set-associative IOTLB: the reference implementation of the contract in tlm/iotlb_if.h
// (the verilated RTL IOTLB must match it bit for bit).
//
// Models: final-translation caching tagged by DID, PASID, translation kind and page size
// (4 KiB / 2 MiB / 1 GiB) with 3-size probing, tree-PLRU replacement per set, in-place refill of a
// same-tag entry, and the type-2 / type-6 invalidation scopes of docs/vtd-facts.md §6.2-6.3.
// Does not model: timing (last_op_cycles() is 0), paging-structure caches (separate classes),
// the IH hint (it only concerns paging-structure caches, docs/vtd-facts.md §6.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tlm/iotlb_if.h"

namespace iommusim {

class iotlb final : public iotlb_if {
  public:
    static constexpr uint32_t no_slot = ~uint32_t{0};

    // sets and ways must be powers of two (std::invalid_argument otherwise: misconfiguration).
    explicit iotlb(iotlb_geometry geometry);
    iotlb(const iotlb&) = delete;
    iotlb& operator=(const iotlb&) = delete;

    std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) override;
    // lookup() without the copy: the entry hit (valid until the next fill or invalidation), else
    // nullptr. The translator calls it directly when its IOTLB is this class.
    const iotlb_entry* find(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn);

    // Where the last find() of one did, pasid and kind hit. A caller that looks up the same did,
    // pasid and kind again keeps one and passes it back: while the slot still holds that entry and
    // no smaller page size could hit first, the probes would find it again, so only its PLRU touch
    // is repeated. It points into this IOTLB's arrays (never reallocated).
    struct hit_hint {
        const uint64_t* key = nullptr;  // the slot's match key (nullptr: no hit yet)
        uint64_t key_value = 0;         // match_key() of the entry
        // The did, pasid and kind probed (match_key() at 4 KiB) and their iotlb_set_hash: a hit on
        // another page of theirs probes without computing them again.
        uint64_t key_4k = 0;
        unsigned set_hash = 0;
        const iotlb_entry* entry = nullptr;
        uint64_t vpn_mask = 0;  // aligns a page number to the entry's page size
        uint32_t level = 0;
        uint64_t* plru = nullptr;  // the set's PLRU bits, and the touch of the entry's way: bits kept, bits set
        uint64_t plru_keep = 0;
        uint64_t plru_set = 0;
    };
    // find() that tries `hint` first and leaves it at the entry hit (unchanged on a miss).
    const iotlb_entry* find(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn, hit_hint& hint) {
        const uint64_t key_4k = match_key(did, pasid, kind, page_level::size_4k);
        if (hint.key && hint.key_4k == key_4k) {
            if (hinted(hint, vpn)) {
                touch(hint);
                return hint.entry;
            }
            return find_and_hint(key_4k, hint.set_hash, vpn, hint);
        }
        return find_and_hint(key_4k, iotlb_set_hash(did, pasid, kind, m_geometry.sets), vpn, hint);
    }
    // True when find() would hit the hint's entry for vpn (and the hint's did, pasid and kind);
    // `hint` from a hit. No state change. Bits of vpn above the tag's 45 are ignored.
    bool hinted(const hit_hint& hint, uint64_t vpn) const {
        return *hint.key == hint.key_value && hint.entry->tag.vpn == (vpn & hint.vpn_mask) &&
               (hint.level == 0 || smaller_levels_empty(hint.level));
    }
    // Moves on every change of the entries (a fill, a drop, a flush), never on a lookup: while it
    // stands still, every lookup finds what it found before (its PLRU touch aside).
    uint64_t changes() const { return m_changes; }
    // The PLRU update of a hit on the hint's entry (after hinted() found it).
    static void touch(const hit_hint& hint) { *hint.plru = (*hint.plru & hint.plru_keep) | hint.plru_set; }
    iotlb_fill_result fill(const iotlb_entry& entry) override;

    unsigned invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) override;

    iotlb_geometry geometry() const override { return m_geometry; }
    void for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const override;
    std::string name() const override { return "iotlb"; }

    // Tree-PLRU bits of a set, bit n = node n (tests and lockstep comparison).
    std::optional<uint64_t> plru_bits(unsigned set) const override { return m_plru[set]; }
    // Way the next fill of a full set would replace (no state change).
    unsigned plru_victim(unsigned set) const;
    unsigned valid_count() const;

  private:
    // find() of the did, pasid and kind of key_4k (their match_key() at 4 KiB) and set_hash
    // (their iotlb_set_hash), leaving the hint at the entry hit.
    [[gnu::always_inline]] const iotlb_entry* find_and_hint(uint64_t key_4k, unsigned set_hash, uint64_t vpn,
                                                            hit_hint& hint);
    static constexpr uint64_t vpn_bits = (uint64_t{1} << 45) - 1;  // iotlb_tag::vpn
    bool smaller_levels_empty(unsigned level) const {
        return m_level_count[0] == 0 && (level < 2 || m_level_count[1] == 0);
    }

    // The scopes of invalidate().
    unsigned clear_all();
    unsigned clear_domain(uint16_t did);
    unsigned clear_domain_range(uint16_t did, const page_range& range);
    unsigned clear_pasid(uint16_t did, uint32_t pasid);
    unsigned clear_pasid_range(uint16_t did, uint32_t pasid, const page_range& range);

    // The match key packs valid, did, pasid (32 bits), kind and level so a probe compares two
    // words; 0 marks an invalid slot.
    static constexpr uint64_t valid_bit = uint64_t{1} << 63;
    static constexpr uint64_t did_pasid_mask = valid_bit | 0xffff'ffff'ffff;
    static constexpr unsigned level_shift = 56;
    static uint64_t match_key(uint16_t did, uint32_t pasid, translation_kind kind, page_level level) {
        return valid_bit | did | (uint64_t{pasid} << 16) | (uint64_t{static_cast<uint8_t>(kind)} << 48) |
               (uint64_t{static_cast<uint8_t>(level)} << level_shift);
    }
    // Equal for equal did+pasid; collisions (only beyond 20-bit PASIDs or 12-bit DIDs) are
    // filtered by the key compare.
    static uint32_t fingerprint(uint16_t did, uint32_t pasid) { return pasid ^ (uint32_t{did} << 20); }
    static unsigned key_level(uint64_t key) { return static_cast<unsigned>(key >> level_shift) & 0x7f; }
    // Counting filters: valid entries per hash bucket of the DID and of DID+PASID. A zero bucket
    // proves that an invalidation of that DID (or DID+PASID) has nothing to drop.
    static constexpr unsigned filter_buckets = 1024;
    static unsigned did_bucket(uint16_t did) { return did & (filter_buckets - 1); }
    static unsigned pasid_bucket(uint16_t did, uint32_t pasid) {
        const uint64_t h = ((uint64_t{did} << 32) | pasid) * 0x9e37'79b9'7f4a'7c15ull;
        return static_cast<unsigned>(h >> 54);  // top 10 bits
    }

    std::size_t index(unsigned set, unsigned way) const {
        return static_cast<std::size_t>(set) * m_geometry.ways + way;
    }
    void touch(unsigned set, unsigned way) { m_plru[set] = (m_plru[set] & ~m_touch_path[way]) | m_touch_bits[way]; }
    // The slot find() hits (index(set, way)), else no_slot; key_4k and set_hash as for find_and_hint().
    [[gnu::always_inline]] uint32_t find_slot(uint64_t key_4k, unsigned set_hash, uint64_t vpn);
    // Books slot i's entry (tag t) in or out of every filter, count and list.
    void count_in(std::size_t i, const iotlb_tag& t, int delta);
    void drop(std::size_t i);
    // Drops every valid entry of did whose tag satisfies pred (scans the DID array).
    template <typename Pred>
    unsigned drop_domain(uint16_t did, Pred pred);
    // Drops every valid entry of did+pasid whose tag satisfies pred (scans the fingerprints).
    template <typename Pred>
    unsigned drop_pasid(uint16_t did, uint32_t pasid, Pred pred);

    // Region filters: valid entries per hash slot of (identity, page level, region), the regions
    // being the naturally aligned 2 MiB, 1 GiB and 512 GiB blocks of input addresses (granularity
    // g = 1..3: page number >> 9g) larger than the entry's page. The identity is what
    // a page-selective invalidation names: the DID for second-stage and pass-through entries
    // (type 2), DID+PASID for first-stage and nested ones (type 6). A zero slot proves that the
    // identity holds no entry of that level in the region, so a large range is searched only in
    // the regions that may hold one.
    static constexpr unsigned region_granularities = 3;
    static uint64_t region_identity(uint16_t did, uint32_t pasid, translation_kind kind) {
        return iotlb_kind_is_stage2(kind) ? (uint64_t{1} << 40) | did : (uint64_t{pasid} << 16) | did;
    }
    // The identity and level part of a slot's hash, computed once per entry or search.
    static uint64_t region_seed(uint64_t identity, unsigned level) {
        return (identity ^ (uint64_t{level} << 44)) * 0xff51'afd7'ed55'8ccdull;
    }
    // The granularity moves the seed by a large odd step, so that small region numbers of two
    // granularities do not meet before the final multiply spreads them.
    std::size_t region_slot(uint64_t seed, unsigned g, uint64_t region) const {
        const uint64_t x = (seed + g * 0x9e37'79b9'7f4a'7c15ull) ^ region;
        return static_cast<std::size_t>((x * 0xc4ce'b9fe'1a85'ec53ull) >> m_region_shift);
    }
    // What a range search of one level needs: the entries' set hash, the filter seed and the
    // entry test.
    template <typename Scan, typename Pred>
    struct level_search {
        unsigned level;
        unsigned hash;  // iotlb_set_hash of the identity
        uint64_t seed;  // region_seed of the identity at this level
        Scan scan;
        Pred pred;
    };
    // Drops the matching entries of one level overlapping `span` (naturally aligned, 2^am pages):
    // the regions whose filter slot is zero are skipped, the others searched set by set or split
    // into their sub-regions, whichever visits fewer slots.
    template <typename Scan, typename Pred>
    unsigned drop_level_range(level_search<Scan, Pred>& s, const page_span& span, unsigned am);
    // Drops the matching entries in the sets an aligned block of 2^k page numbers of the level from
    // `first_page` maps to: one aligned run of min(2^k, sets) sets (the hash permutes the sets
    // within it). scan(first_slot, slots, f) calls f for the candidates of the run (the DID or
    // fingerprint vector compare), so the cost is a fraction of a cycle per slot.
    template <typename Scan, typename Pred>
    unsigned drop_level_sets(level_search<Scan, Pred>& s, uint64_t first_page, unsigned k);
    // Searches the `count` regions of granularity g from `first_region` that the filter does not
    // rule out, each restricted to `span`.
    template <typename Scan, typename Pred>
    unsigned drop_level_regions(level_search<Scan, Pred>& s, const page_span& span, unsigned am, unsigned g,
                                uint64_t first_region, uint64_t count);
    // Slots a set-by-set search of 2^k page numbers of one level visits.
    uint64_t sets_cost(unsigned k) const;

    // First-stage and nested entries per DID bucket, as doubly linked lists through the slots: a
    // type-2 page-selective invalidation drops them whatever their address, visiting only them.
    void link_stage1(std::size_t i, uint16_t did);
    void unlink_stage1(std::size_t i, uint16_t did);

    iotlb_geometry m_geometry;
    unsigned m_way_shift = 0;            // log2(ways): a slot's set is slot >> m_way_shift
    std::vector<uint64_t> m_keys;        // sets x ways, set-major: match_key() when valid, 0 when invalid
    std::vector<iotlb_entry> m_entries;  // sets x ways, set-major
    // Narrow copies of tag fields for the DID and DID+PASID scans; stale in invalid slots, so a
    // candidate is confirmed against m_keys.
    std::vector<uint16_t> m_dids;
    std::vector<uint32_t> m_fingerprints;  // fingerprint(did, pasid)
    std::vector<uint64_t> m_plru;          // ways-1 bits per set (ways <= 64)
    // Per way: the PLRU nodes on its path and the values a touch gives them (away from the way).
    std::vector<uint64_t> m_touch_path;
    std::vector<uint64_t> m_touch_bits;
    unsigned m_level_count[3] = {0, 0, 0};  // valid entries per page level (skips empty levels)
    unsigned m_valid = 0;
    uint64_t m_changes = 0;                 // changes()
    std::vector<unsigned> m_did_filter;     // filter_buckets counters
    std::vector<unsigned> m_pasid_filter;   // filter_buckets counters
    std::vector<uint32_t> m_region_filter;  // a power of two of counters, 8 per entry at least
    unsigned m_region_shift = 0;            // 64 - log2(m_region_filter.size())
    std::vector<uint32_t> m_stage1_head;    // filter_buckets list heads (no_slot: empty)
    std::vector<uint32_t> m_stage1_next;    // per slot
    std::vector<uint32_t> m_stage1_prev;    // per slot
};

// Inline: the translator finds its IOTLB hits on another page through them.
inline uint32_t iotlb::find_slot(uint64_t key_4k, unsigned set_hash, uint64_t vpn) {
    const unsigned ways = m_geometry.ways;
    const uint64_t* keys = m_keys.data();
    const iotlb_entry* entries = m_entries.data();
    for (unsigned l = 0; l < 3; ++l) {
        if (m_level_count[l] == 0) {
            continue;
        }
        const auto level = static_cast<page_level>(l);
        const uint64_t aligned = vpn & ~(page_level_pages(level) - 1);
        const uint64_t key = key_4k | (uint64_t{l} << level_shift);  // the level ORed in per probe
        const unsigned set = iotlb_set_index(vpn, level, set_hash, m_geometry.sets);
        const std::size_t base = index(set, 0);
        for (unsigned w = 0; w < ways; ++w) {
            if (keys[base + w] == key && entries[base + w].tag.vpn == aligned) {
                touch(set, w);
                return static_cast<uint32_t>(base + w);
            }
        }
    }
    return no_slot;
}

inline const iotlb_entry* iotlb::find_and_hint(uint64_t key_4k, unsigned set_hash, uint64_t vpn, hit_hint& hint) {
    const uint32_t slot = find_slot(key_4k, set_hash, vpn);
    if (slot == no_slot) {
        return nullptr;
    }
    const iotlb_entry& e = m_entries[slot];
    const unsigned way = slot & (m_geometry.ways - 1);  // ways: a power of two
    hint.key = &m_keys[slot];
    hint.key_value = m_keys[slot];
    hint.key_4k = key_4k;
    hint.set_hash = set_hash;
    hint.entry = &e;
    hint.vpn_mask = ~(page_level_pages(e.tag.level) - 1) & vpn_bits;
    hint.level = static_cast<uint32_t>(e.tag.level);
    hint.plru = &m_plru[slot >> m_way_shift];
    hint.plru_keep = ~m_touch_path[way];
    hint.plru_set = m_touch_bits[way];
    return &e;
}

}  // namespace iommusim
