// The IOTLB interface: what the translation path and the invalidation engine need from an IOTLB.
// Implemented by the C++ set-associative IOTLB (tlm/iotlb.h), the verilated RTL IOTLB
// (rtl/rtl_iotlb.h) and the lockstep comparator that runs both.
//
// Behavioural contract shared by every implementation (the RTL mirrors it bit for bit):
//  * Geometry: `sets` x `ways`, both powers of two. An entry of page size level L (0: 4 KiB,
//    1: 2 MiB, 2: 1 GiB) lives in set  ((vpn >> 9L) ^ hash) & (sets - 1)  where vpn = input
//    address >> 12 and hash (iotlb_set_hash) is the top log2(sets) bits of the 64-bit product
//    ((pasid << 16) | did) * iotlb_set_hash_multiplier (tlm/iotlb_codes.h), 0 for one set. The
//    PASID counts for first-stage and nested entries only (pasid taken as 0 for second-stage and
//    pass-through), so a type-2 page-selective invalidation, which drops those kinds whatever
//    their PASID, finds them in the sets its range covers, as a type-6 one (which names the PASID)
//    finds its kinds. An aligned run of 2^k page numbers (a range at one level) still maps to an
//    aligned run of min(2^k, sets) sets: the hash only permutes the sets within it.
//  * lookup(did, pasid, kind, vpn) probes the 4 KiB, then 2 MiB, then 1 GiB set and hits on the
//    first valid entry whose did, pasid, kind and size-aligned vpn match. A hit updates that set's
//    tree-PLRU state.
//  * fill(entry): if the target set already holds an entry with the same tag (did, pasid, kind,
//    size, size-aligned vpn) its payload is replaced in place; otherwise the victim is the lowest
//    invalid way, or the tree-PLRU way when the set is full. The filled way becomes most recently
//    used.
//  * Tree-PLRU (ways-1 bits per set, heap order, node n has children 2n+1 / 2n+2): a bit value
//    of 0 means "the victim is in the left subtree". Touching way w sets every node on w's path
//    to point away from w. The victim is found by following the bits from the root.
//  * Invalidations (docs/vtd-facts.md §6.2, §6.3) clear valid bits and leave PLRU state alone:
//      invalidate_all                      everything
//      invalidate_domain(did)              every entry of did
//      invalidate_domain_range(did, ...)   type-2 page-selective: second-stage and pass-through
//                                          entries of did overlapping the range (any PASID) AND
//                                          every first-stage and nested entry of did, any address
//      invalidate_pasid(did, pasid)        type-6 PASID-selective: every entry of did+pasid
//      invalidate_pasid_range(did, pasid, ...) type-6 page-selective: first-stage and nested
//                                          entries of did+pasid overlapping the range
//    A range is 2^am 4 KiB pages starting at vpn with the low am bits of vpn ignored (page_range,
//    which also clamps am).
//    Each returns the number of entries it dropped.
#pragma once

#include <bit>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tlm/iotlb_codes.h"  // translation_kind, page_level, iotlb_scope (shared with the RTL)
#include "tlm/page_range.h"

namespace iommusim {

constexpr unsigned page_level_shift(page_level l) {
    return 12 + 9 * static_cast<unsigned>(l);
}
constexpr uint64_t page_level_pages(page_level l) {
    return uint64_t{1} << (9 * static_cast<unsigned>(l));
}

// Effective permissions and A/D state captured by the walk (payload bit vector; RTL width 8).
namespace iotlb_perm {
constexpr uint8_t fs_rw = 1 << 0;     // AND of first-stage R/W along the path (1 when no first stage)
constexpr uint8_t fs_us = 1 << 1;     // AND of first-stage U/S (1 when no first stage)
constexpr uint8_t fs_xd = 1 << 2;     // OR of first-stage XD (0 when no first stage)
constexpr uint8_t ss_r = 1 << 3;      // AND of second-stage R for the final page (1 when no second stage)
constexpr uint8_t ss_w = 1 << 4;      // AND of second-stage W
constexpr uint8_t ss_x = 1 << 5;      // AND of second-stage X
constexpr uint8_t dirty = 1 << 6;     // leaf D already set: a write hit needs no A/D update
constexpr uint8_t accessed = 1 << 7;  // leaf A set by the walk that filled the entry
}  // namespace iotlb_perm

struct iotlb_tag {
    uint16_t did = 0;
    uint32_t pasid = 0;  // 20 bits
    translation_kind kind = translation_kind::second_stage;
    page_level level = page_level::size_4k;
    uint64_t vpn = 0;  // input address >> 12, aligned down to the page size (45 bits)
    bool operator==(const iotlb_tag&) const = default;
};

struct iotlb_payload {
    uint64_t out_pfn = 0;  // output (host-physical) address >> 12, aligned to the page size (40 bits)
    uint8_t perm = 0;      // iotlb_perm bits
    bool operator==(const iotlb_payload&) const = default;
};

struct iotlb_entry {
    iotlb_tag tag;
    iotlb_payload payload;
    bool operator==(const iotlb_entry&) const = default;
};

struct iotlb_geometry {
    unsigned sets = 16;
    unsigned ways = 4;
    unsigned entries() const { return sets * ways; }
};

struct iotlb_fill_result {
    unsigned set = 0;
    unsigned way = 0;
    bool replaced_same_tag = false;      // an entry with the same tag was updated in place
    std::optional<iotlb_entry> evicted;  // a valid entry with another tag that was dropped
    bool operator==(const iotlb_fill_result&) const = default;
};

class iotlb_if {
  public:
    virtual ~iotlb_if() = default;

    virtual std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) = 0;
    virtual iotlb_fill_result fill(const iotlb_entry& entry) = 0;

    // One method per invalidation scope (the contract above), each the scope's iotlb_scope code
    // on invalidate(), as the RTL's one invalidation port takes it.
    unsigned invalidate_all() { return invalidate(iotlb_scope::all, 0, 0, {}); }
    unsigned invalidate_domain(uint16_t did) { return invalidate(iotlb_scope::domain, did, 0, {}); }
    unsigned invalidate_domain_range(uint16_t did, uint64_t vpn, unsigned am) {
        return invalidate(iotlb_scope::domain_range, did, 0, page_range(vpn, am));
    }
    unsigned invalidate_pasid(uint16_t did, uint32_t pasid) { return invalidate(iotlb_scope::pasid, did, pasid, {}); }
    unsigned invalidate_pasid_range(uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am) {
        return invalidate(iotlb_scope::pasid_range, did, pasid, page_range(vpn, am));
    }
    // Drops what the scope covers; the fields it does not use (iotlb_scope_fields) are zero.
    // Returns the entries dropped.
    virtual unsigned invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) = 0;

    virtual iotlb_geometry geometry() const = 0;
    // Visits every valid entry (tests, stale checker, lockstep comparison). No state change.
    virtual void for_each_valid(
        const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const = 0;
    // Tree-PLRU bits of a set (bit n = node n) when the implementation exposes them (the lockstep
    // comparison checks them); empty otherwise.
    virtual std::optional<uint64_t> plru_bits(unsigned /*set*/) const { return std::nullopt; }
    // Hardware cycles the last operation took (RTL); 0 for the untimed C++ model.
    virtual uint64_t last_op_cycles() const { return 0; }
    // Hardware cycles all operations so far took (RTL); 0 for the untimed C++ model. The IOMMU
    // charges the difference across a translation or an invalidation as annotated delay
    // (iommu_config::iotlb_cycle_ps per cycle) in place of its fixed IOTLB latency.
    virtual uint64_t cycles() const { return 0; }
    // Completes any wave file the implementation writes (end of simulation); later operations are
    // not traced. Nothing to do for the C++ model.
    virtual void close_waves() {}
    // Handshake-contract violations seen on the implementation's ports (the RTL adapter's protocol
    // checker, rtl/iotlb_protocol_checker.h): a failed check of the run, like a lockstep
    // divergence. None for models without ports.
    virtual uint64_t protocol_violations() const { return 0; }
    // The first violations, one a line ("" when none).
    virtual std::string protocol_report() const { return {}; }
    virtual std::string name() const = 0;
};

// True when the entry's page overlaps the range.
constexpr bool iotlb_overlaps(const iotlb_tag& t, const page_span& s) {
    return s.covers(t.vpn, page_level_pages(t.level));
}

// Second-stage-only and pass-through entries: the kinds a type-2 page-selective invalidation
// matches by address and a type-6 one leaves alone (docs/vtd-facts.md §6.2, §6.3).
constexpr bool iotlb_kind_is_stage2(translation_kind k) {
    return k == translation_kind::second_stage || k == translation_kind::pass_through;
}

// What a translation's identity adds to its set index (the contract above): DID and, for the
// kinds a type-6 invalidation addresses by PASID, the PASID, spread by a multiplicative hash whose
// top bits are the set bits.
constexpr unsigned iotlb_set_hash(uint16_t did, uint32_t pasid, translation_kind kind, unsigned sets) {
    if (sets <= 1) {
        return 0;
    }
    constexpr uint32_t pasid_mask = (uint32_t{1} << 20) - 1;  // the 20-bit PASID of the tag
    const uint64_t key = (uint64_t{iotlb_kind_is_stage2(kind) ? 0 : pasid & pasid_mask} << 16) | did;
    return static_cast<unsigned>((key * iotlb_set_hash_multiplier) >> (64 - std::countr_zero(sets)));
}

// Set index of an entry or a probe (see the contract above), from the iotlb_set_hash of its did,
// pasid and kind.
constexpr unsigned iotlb_set_index(uint64_t vpn, page_level level, unsigned set_hash, unsigned sets) {
    return static_cast<unsigned>(((vpn >> (9 * static_cast<unsigned>(level))) ^ set_hash) & (sets - 1));
}
constexpr unsigned iotlb_set_index(uint64_t vpn, page_level level, uint16_t did, uint32_t pasid, translation_kind kind,
                                   unsigned sets) {
    return iotlb_set_index(vpn, level, iotlb_set_hash(did, pasid, kind, sets), sets);
}
constexpr unsigned iotlb_set_index(const iotlb_tag& t, unsigned sets) {
    return iotlb_set_index(t.vpn, t.level, t.did, t.pasid, t.kind, sets);
}

// True when an invalidation of this scope drops an entry with this tag (the table in the contract
// above), one entry at a time: for checkers that follow what an IOTLB must have dropped.
constexpr bool iotlb_scope_covers(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range,
                                  const iotlb_tag& t) {
    switch (scope) {
        case iotlb_scope::all:
            return true;
        case iotlb_scope::domain:
            return t.did == did;
        case iotlb_scope::domain_range:
            return t.did == did && (!iotlb_kind_is_stage2(t.kind) || iotlb_overlaps(t, range.span()));
        case iotlb_scope::pasid:
            return t.did == did && t.pasid == pasid;
        case iotlb_scope::pasid_range:
            return t.did == did && t.pasid == pasid && !iotlb_kind_is_stage2(t.kind) && iotlb_overlaps(t, range.span());
    }
    return false;
}

}  // namespace iommusim
