#include "tlm/iotlb.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace iommusim {

namespace {
bool is_pow2(unsigned v) {
    return v != 0 && (v & (v - 1)) == 0;
}

// Calls f(i) for every i < n with dids[i] == did. Thirty-two 16-bit DIDs are tested per step
// without branches (the compiler turns this into a few vector compares), so a scan that finds
// nothing costs a fraction of a cycle per slot.
template <typename F>
void for_each_did(const uint16_t* dids, std::size_t n, uint16_t did, F f) {
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint16_t any = 0;
        for (unsigned j = 0; j < 32; ++j) {
            any |= static_cast<uint16_t>(dids[i + j] ^ did) == 0 ? 0xffff : 0;
        }
        if (any == 0) {
            continue;
        }
        for (unsigned j = 0; j < 32; ++j) {
            if (dids[i + j] == did) {
                f(i + j);
            }
        }
    }
    for (; i < n; ++i) {
        if (dids[i] == did) {
            f(i);
        }
    }
}

// Calls f(i) for every i < n with fps[i] == fp, sixteen 32-bit values per branch-free step.
template <typename F>
void for_each_fingerprint(const uint32_t* fps, std::size_t n, uint32_t fp, F f) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint32_t any = 0;
        for (unsigned j = 0; j < 16; ++j) {
            any |= (fps[i + j] ^ fp) == 0 ? 0xffff'ffffu : 0u;
        }
        if (any == 0) {
            continue;
        }
        for (unsigned j = 0; j < 16; ++j) {
            if (fps[i + j] == fp) {
                f(i + j);
            }
        }
    }
    for (; i < n; ++i) {
        if (fps[i] == fp) {
            f(i);
        }
    }
}
}  // namespace

iotlb::iotlb(iotlb_geometry geometry) : m_geometry(geometry) {
    if (!is_pow2(geometry.sets) || !is_pow2(geometry.ways) || geometry.ways > 64) {
        throw std::invalid_argument("iotlb: sets and ways must be powers of two, ways <= 64");
    }
    m_way_shift = static_cast<unsigned>(std::countr_zero(geometry.ways));
    m_keys.assign(static_cast<std::size_t>(geometry.sets) * geometry.ways, 0);
    m_entries.resize(m_keys.size());
    m_dids.assign(m_keys.size(), 0);
    m_fingerprints.assign(m_keys.size(), 0);
    m_plru.assign(geometry.sets, 0);
    // Walk from each way's leaf up: each node on the path points away from the child it came from.
    m_touch_path.assign(geometry.ways, 0);
    m_touch_bits.assign(geometry.ways, 0);
    for (unsigned way = 0; way < geometry.ways; ++way) {
        unsigned node = way + geometry.ways - 1;
        while (node != 0) {
            const unsigned parent = (node - 1) / 2;
            m_touch_path[way] |= uint64_t{1} << parent;
            if (node == 2 * parent + 1) {
                m_touch_bits[way] |= uint64_t{1} << parent;  // from the left: victim now in the right subtree
            }
            node = parent;
        }
    }
    m_did_filter.assign(filter_buckets, 0);
    m_pasid_filter.assign(filter_buckets, 0);
    const std::size_t region_slots = std::max<std::size_t>(1024, std::bit_ceil(m_keys.size() * 8));
    m_region_filter.assign(region_slots, 0);
    m_region_shift = 64 - static_cast<unsigned>(std::countr_zero(region_slots));
    m_stage1_head.assign(filter_buckets, no_slot);
    m_stage1_next.assign(m_keys.size(), no_slot);
    m_stage1_prev.assign(m_keys.size(), no_slot);
}

unsigned iotlb::plru_victim(unsigned set) const {
    const uint64_t bits = m_plru[set];
    unsigned node = 0;
    while (node < m_geometry.ways - 1) {
        node = ((bits >> node) & 1) ? 2 * node + 2 : 2 * node + 1;
    }
    return node - (m_geometry.ways - 1);
}

void iotlb::link_stage1(std::size_t i, uint16_t did) {
    uint32_t& head = m_stage1_head[did_bucket(did)];
    m_stage1_prev[i] = no_slot;
    m_stage1_next[i] = head;
    if (head != no_slot) {
        m_stage1_prev[head] = static_cast<uint32_t>(i);
    }
    head = static_cast<uint32_t>(i);
}

void iotlb::unlink_stage1(std::size_t i, uint16_t did) {
    const uint32_t prev = m_stage1_prev[i];
    const uint32_t next = m_stage1_next[i];
    (prev == no_slot ? m_stage1_head[did_bucket(did)] : m_stage1_next[prev]) = next;
    if (next != no_slot) {
        m_stage1_prev[next] = prev;
    }
}

void iotlb::count_in(std::size_t i, const iotlb_tag& t, int delta) {
    const auto d = static_cast<unsigned>(delta);  // modular: -1 decrements
    const auto l = static_cast<unsigned>(t.level);
    ++m_changes;
    m_level_count[l] += d;
    m_valid += d;
    m_did_filter[did_bucket(t.did)] += d;
    m_pasid_filter[pasid_bucket(t.did, t.pasid)] += d;
    // The granularities above the entry's page, spelled out so that each slot is a few
    // instructions with constant shifts.
    const uint64_t seed = region_seed(region_identity(t.did, t.pasid, t.kind), l);
    static_assert(region_granularities == 3);
    switch (l) {
        case 0:
            m_region_filter[region_slot(seed, 1, t.vpn >> 9)] += d;
            [[fallthrough]];
        case 1:
            m_region_filter[region_slot(seed, 2, t.vpn >> 18)] += d;
            [[fallthrough]];
        default:
            m_region_filter[region_slot(seed, 3, t.vpn >> 27)] += d;
    }
    if (!iotlb_kind_is_stage2(t.kind)) {
        if (delta > 0) {
            link_stage1(i, t.did);
        } else {
            unlink_stage1(i, t.did);
        }
    }
}

void iotlb::drop(std::size_t i) {
    m_keys[i] = 0;
    count_in(i, m_entries[i].tag, -1);
}

const iotlb_entry* iotlb::find(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
    const uint32_t slot = find_slot(match_key(did, pasid, kind, page_level::size_4k),
                                    iotlb_set_hash(did, pasid, kind, m_geometry.sets), vpn);
    return slot == no_slot ? nullptr : &m_entries[slot];
}

std::optional<iotlb_entry> iotlb::lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
    if (const iotlb_entry* e = find(did, pasid, kind, vpn)) {
        return *e;
    }
    return std::nullopt;
}

iotlb_fill_result iotlb::fill(const iotlb_entry& entry) {
    iotlb_fill_result r;
    const unsigned ways = m_geometry.ways;
    r.set = iotlb_set_index(entry.tag, m_geometry.sets);
    const std::size_t base = index(r.set, 0);
    const uint64_t key = match_key(entry.tag.did, entry.tag.pasid, entry.tag.kind, entry.tag.level);
    unsigned target = ways;
    for (unsigned w = 0; w < ways; ++w) {
        if (m_keys[base + w] == key && m_entries[base + w].tag.vpn == entry.tag.vpn) {
            target = w;
            r.replaced_same_tag = true;
            break;
        }
    }
    if (target == ways) {
        for (unsigned w = 0; w < ways; ++w) {
            if (m_keys[base + w] == 0) {
                target = w;
                break;
            }
        }
    }
    if (target == ways) {
        target = plru_victim(r.set);
        r.evicted = m_entries[base + target];
    }
    if (m_keys[base + target] != 0) {
        count_in(base + target, m_entries[base + target].tag, -1);
    }
    count_in(base + target, entry.tag, +1);
    m_keys[base + target] = key;
    m_dids[base + target] = entry.tag.did;
    m_fingerprints[base + target] = fingerprint(entry.tag.did, entry.tag.pasid);
    m_entries[base + target] = entry;
    r.way = target;
    touch(r.set, target);
    return r;
}

template <typename Pred>
unsigned iotlb::drop_domain(uint16_t did, Pred pred) {
    unsigned n = 0;
    for_each_did(m_dids.data(), m_dids.size(), did, [&](std::size_t i) {
        if (m_keys[i] != 0 && pred(m_entries[i].tag)) {
            drop(i);
            ++n;
        }
    });
    return n;
}

template <typename Pred>
unsigned iotlb::drop_pasid(uint16_t did, uint32_t pasid, Pred pred) {
    const uint64_t want = match_key(did, pasid, translation_kind{0}, page_level{0});
    unsigned n = 0;
    for_each_fingerprint(m_fingerprints.data(), m_fingerprints.size(), fingerprint(did, pasid), [&](std::size_t i) {
        if ((m_keys[i] & did_pasid_mask) == want && pred(m_entries[i].tag)) {
            drop(i);
            ++n;
        }
    });
    return n;
}

uint64_t iotlb::sets_cost(unsigned k) const {
    const uint64_t sets = m_geometry.sets;
    return (k >= 63 || (uint64_t{1} << k) >= sets ? sets : uint64_t{1} << k) * m_geometry.ways;
}

template <typename Scan, typename Pred>
unsigned iotlb::drop_level_sets(level_search<Scan, Pred>& s, uint64_t first_page, unsigned k) {
    const unsigned sets = m_geometry.sets;
    unsigned n = 0;
    auto check = [&](std::size_t i) {
        const uint64_t key = m_keys[i];
        if (key != 0 && key_level(key) == s.level && s.pred(m_entries[i].tag)) {
            drop(i);
            ++n;
        }
    };
    unsigned first_set = 0;
    unsigned count = sets;
    if (k < 63 && (uint64_t{1} << k) < sets) {
        count = 1u << k;
        // first_page is aligned to 2^k, so the block's sets are the aligned run holding its first.
        first_set = ((static_cast<unsigned>(first_page) ^ s.hash) & (sets - 1)) & ~(count - 1);
    }
    const std::size_t first = index(first_set, 0);
    const std::size_t slots = static_cast<std::size_t>(count) * m_geometry.ways;
    if (slots <= 16) {  // a set or a few (the common small range): the keys directly
        for (std::size_t i = first; i < first + slots; ++i) {
            check(i);
        }
    } else {
        s.scan(first, slots, check);
    }
    return n;
}

template <typename Scan, typename Pred>
unsigned iotlb::drop_level_regions(level_search<Scan, Pred>& s, const page_span& span, unsigned am, unsigned g,
                                   uint64_t first_region, uint64_t count) {
    const unsigned region_bits = 9 * g;
    const unsigned level_bits = 9 * s.level;
    // The span's part in one region: all of the span when it is smaller, else the whole region.
    const unsigned part_am = std::min(am, region_bits);
    unsigned n = 0;
    for (uint64_t r = first_region; r < first_region + count; ++r) {
        if (m_region_filter[region_slot(s.seed, g, r)] == 0) {
            continue;
        }
        const uint64_t part_first = std::max(span.first, r << region_bits);
        const unsigned k = part_am - level_bits;  // the part holds 2^k pages of the level
        // Split into sub-regions only when their filter slots are fewer than the slots of the sets.
        const unsigned sub_bits = region_bits - 9;
        if (g == s.level + 1 || (uint64_t{1} << (part_am - sub_bits)) >= sets_cost(k) / 8) {
            n += drop_level_sets(s, part_first >> level_bits, k);
        } else {
            n += drop_level_regions(s, span, am, g - 1, part_first >> sub_bits, uint64_t{1} << (part_am - sub_bits));
        }
    }
    return n;
}

template <typename Scan, typename Pred>
unsigned iotlb::drop_level_range(level_search<Scan, Pred>& s, const page_span& span, unsigned am) {
    if (m_level_count[s.level] == 0) {
        return 0;
    }
    const unsigned level_bits = 9 * s.level;
    const unsigned k = am > level_bits ? am - level_bits : 0;  // the span holds 2^k pages of the level
    // A few sets: searched directly, no filter can save much.
    if (k == 0 || sets_cost(k) <= 16) {
        return drop_level_sets(s, span.first >> level_bits, k);
    }
    // The smallest region (larger than the level's pages) holding the whole span, else the
    // largest regions, as many as the span covers, unless the sets are fewer to search.
    for (unsigned g = s.level + 1; g <= region_granularities; ++g) {
        if (9 * g >= am) {
            return drop_level_regions(s, span, am, g, span.first >> (9 * g), 1);
        }
    }
    constexpr unsigned top_bits = 9 * region_granularities;
    if (am - top_bits >= 63 || (uint64_t{1} << (am - top_bits)) >= sets_cost(k) / 8) {
        return drop_level_sets(s, span.first >> level_bits, k);
    }
    return drop_level_regions(s, span, am, region_granularities, span.first >> top_bits,
                              uint64_t{1} << (am - top_bits));
}

unsigned iotlb::invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) {
    switch (scope) {
        case iotlb_scope::all:
            return clear_all();
        case iotlb_scope::domain:
            return clear_domain(did);
        case iotlb_scope::domain_range:
            return clear_domain_range(did, range);
        case iotlb_scope::pasid:
            return clear_pasid(did, pasid);
        case iotlb_scope::pasid_range:
            return clear_pasid_range(did, pasid, range);
    }
    return 0;
}

unsigned iotlb::clear_all() {
    const unsigned n = m_valid;
    if (n == 0) {
        return 0;
    }
    std::fill(m_keys.begin(), m_keys.end(), 0);
    std::fill(m_did_filter.begin(), m_did_filter.end(), 0);
    std::fill(m_pasid_filter.begin(), m_pasid_filter.end(), 0);
    std::fill(m_region_filter.begin(), m_region_filter.end(), 0);
    std::fill(m_stage1_head.begin(), m_stage1_head.end(), no_slot);
    m_level_count[0] = m_level_count[1] = m_level_count[2] = 0;
    m_valid = 0;
    ++m_changes;
    return n;
}

unsigned iotlb::clear_domain(uint16_t did) {
    if (m_did_filter[did_bucket(did)] == 0) {
        return 0;
    }
    return drop_domain(did, [](const iotlb_tag&) { return true; });
}

unsigned iotlb::clear_domain_range(uint16_t did, const page_range& range) {
    if (m_did_filter[did_bucket(did)] == 0) {
        return 0;
    }
    const page_span span = range.span();
    if (range.am() >= page_range::input_page_bits) {  // as many pages as input addresses: one scan
        return drop_domain(
            did, [=](const iotlb_tag& t) { return !iotlb_kind_is_stage2(t.kind) || iotlb_overlaps(t, span); });
    }
    // Type-2 PSI addresses are GPAs: first-stage and nested entries cannot be matched by address
    // and go regardless (docs/vtd-facts.md §6.2); their list holds only them.
    unsigned n = 0;
    for (uint32_t i = m_stage1_head[did_bucket(did)]; i != no_slot;) {
        const uint32_t next = m_stage1_next[i];
        if (m_entries[i].tag.did == did) {
            drop(i);
            ++n;
        }
        i = next;
    }
    // Second-stage and pass-through entries in range, found in the sets the range covers at each
    // level, in the regions the filters do not rule out.
    auto pred = [=](const iotlb_tag& t) {
        return t.did == did && iotlb_kind_is_stage2(t.kind) && iotlb_overlaps(t, span);
    };
    auto by_did = [&](std::size_t first, std::size_t slots, auto f) {
        for_each_did(m_dids.data() + first, slots, did, [&](std::size_t i) { f(first + i); });
    };
    const unsigned hash = iotlb_set_hash(did, 0, translation_kind::second_stage, m_geometry.sets);
    const uint64_t identity = region_identity(did, 0, translation_kind::second_stage);
    for (unsigned l = 0; l < 3; ++l) {
        level_search<decltype(by_did), decltype(pred)> s{l, hash, region_seed(identity, l), by_did, pred};
        n += drop_level_range(s, span, range.am());
    }
    return n;
}

unsigned iotlb::clear_pasid(uint16_t did, uint32_t pasid) {
    if (m_pasid_filter[pasid_bucket(did, pasid)] == 0) {
        return 0;
    }
    return drop_pasid(did, pasid, [](const iotlb_tag&) { return true; });
}

unsigned iotlb::clear_pasid_range(uint16_t did, uint32_t pasid, const page_range& range) {
    if (m_pasid_filter[pasid_bucket(did, pasid)] == 0) {
        return 0;
    }
    // Second-stage-only and pass-through entries are out of a type-6 PSI's scope (docs/vtd-facts.md §6.3).
    const page_span span = range.span();
    auto pred = [=](const iotlb_tag& t) {
        return t.did == did && t.pasid == pasid && !iotlb_kind_is_stage2(t.kind) && iotlb_overlaps(t, span);
    };
    if (range.am() >= page_range::input_page_bits) {  // every input address (Linux's "flush all" uses AM 52)
        return drop_pasid(did, pasid, pred);
    }
    // An entry of level L overlapping the range has its page number (vpn >> 9L) in the range's
    // block at that level, so only those sets can hold one (the hot path of guest stage-1
    // invalidations), and only in the regions the filters do not rule out.
    const uint32_t fp = fingerprint(did, pasid);
    auto by_fingerprint = [&](std::size_t first, std::size_t slots, auto f) {
        for_each_fingerprint(m_fingerprints.data() + first, slots, fp, [&](std::size_t i) { f(first + i); });
    };
    const unsigned hash = iotlb_set_hash(did, pasid, translation_kind::first_stage, m_geometry.sets);
    const uint64_t identity = region_identity(did, pasid, translation_kind::first_stage);
    unsigned n = 0;
    for (unsigned l = 0; l < 3; ++l) {
        level_search<decltype(by_fingerprint), decltype(pred)> s{l, hash, region_seed(identity, l), by_fingerprint,
                                                                 pred};
        n += drop_level_range(s, span, range.am());
    }
    return n;
}

void iotlb::for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const {
    for (unsigned set = 0; set < m_geometry.sets; ++set) {
        for (unsigned w = 0; w < m_geometry.ways; ++w) {
            const std::size_t i = index(set, w);
            if (m_keys[i] != 0) {
                fn(set, w, m_entries[i]);
            }
        }
    }
}

unsigned iotlb::valid_count() const {
    return m_valid;
}

}  // namespace iommusim
