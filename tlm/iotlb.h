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
    // sets and ways must be powers of two (std::invalid_argument otherwise: misconfiguration).
    explicit iotlb(iotlb_geometry geometry);
    iotlb(const iotlb&) = delete;
    iotlb& operator=(const iotlb&) = delete;

    std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) override;
    // lookup() without the copy: the entry hit (valid until the next fill or invalidation), else
    // nullptr. The translator calls it directly when its IOTLB is this class.
    const iotlb_entry* find(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn);
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
    void touch(unsigned set, unsigned way);
    void count_in(const iotlb_tag& t, int delta);
    void drop(std::size_t i);
    // Drops every valid entry of did whose tag satisfies pred (scans the DID array).
    template <typename Pred>
    unsigned drop_domain(uint16_t did, Pred pred);
    // Drops every valid entry of did+pasid whose tag satisfies pred (scans the fingerprints).
    template <typename Pred>
    unsigned drop_pasid(uint16_t did, uint32_t pasid, Pred pred);
    // Drops the matching entries of one level that live in the sets a range of that level's pages
    // maps to (a range covering every set: all of them). Those sets are at most two runs of
    // consecutive slots; scan(first_slot, slots, f) calls f for the candidates of a run (the DID or
    // fingerprint vector compare), so the cost is the sets covered, a fraction of a cycle per slot.
    template <typename Scan, typename Pred>
    unsigned drop_level_range(page_level level, uint64_t first_page, uint64_t last_page, Scan scan, Pred pred);

    iotlb_geometry m_geometry;
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
    std::vector<unsigned> m_did_filter;    // filter_buckets counters
    std::vector<unsigned> m_pasid_filter;  // filter_buckets counters
    // Valid first-stage and nested entries per DID bucket: a zero bucket lets a type-2
    // page-selective invalidation match by address alone (it drops those kinds regardless).
    std::vector<unsigned> m_did_stage1_filter;
};

}  // namespace iommusim
