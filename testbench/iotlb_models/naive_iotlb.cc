#include "iotlb_models/naive_iotlb.h"

#include <cstddef>
#include <stdexcept>

namespace iommusim::testing {

namespace {

// 4 KiB pages one entry of this level spans.
uint64_t pages_of(page_level level) {
    switch (level) {
        case page_level::size_4k:
            return 1;
        case page_level::size_2m:
            return 512;
        case page_level::size_1g:
            return 512 * 512;
    }
    throw std::logic_error("naive_iotlb: bad page level");
}

bool is_first_stage_or_nested(translation_kind k) {
    return k == translation_kind::first_stage || k == translation_kind::nested;
}

// The set: the page number of the level, its low set bits flipped by the top set bits of the
// 64-bit product of (PASID << 16 | DID) and the shared multiplier (the PASID only for
// first-stage and nested entries).
unsigned set_of(uint64_t vpn, page_level level, uint16_t did, uint32_t pasid, translation_kind kind, unsigned sets) {
    unsigned set_bits = 0;
    while ((1u << set_bits) < sets) {
        ++set_bits;
    }
    const uint64_t key = (is_first_stage_or_nested(kind) ? uint64_t{pasid} * 65536 : 0) + did;
    const uint64_t product = key * iotlb_set_hash_multiplier;  // modulo 2^64
    const uint64_t hash = set_bits == 0 ? 0 : product >> (64 - set_bits);
    return static_cast<unsigned>(((vpn / pages_of(level)) % sets) ^ hash);
}

// The range of an invalidation: the naturally aligned block of 2^am pages that holds vpn (am is
// at most 63: page_range clamps it). The entry's pages and the block overlap when each starts
// no later than the other ends.
bool in_range(const iotlb_tag& t, uint64_t vpn, unsigned am) {
    const uint64_t block_pages = uint64_t{1} << am;
    const uint64_t block_first = vpn - vpn % block_pages;
    const uint64_t block_last = block_first + (block_pages - 1);
    const uint64_t entry_last = t.vpn + (pages_of(t.level) - 1);
    return t.vpn <= block_last && block_first <= entry_last;
}

bool covered(iotlb_scope scope, uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am, const iotlb_tag& t) {
    switch (scope) {
        case iotlb_scope::all:
            return true;
        case iotlb_scope::domain:
            return t.did == did;
        case iotlb_scope::domain_range:
            // Type 2 page-selective: second-stage and pass-through entries in the range; first-stage
            // and nested entries of the domain wherever they are.
            return t.did == did && (is_first_stage_or_nested(t.kind) || in_range(t, vpn, am));
        case iotlb_scope::pasid:
            return t.did == did && t.pasid == pasid;
        case iotlb_scope::pasid_range:
            return t.did == did && t.pasid == pasid && is_first_stage_or_nested(t.kind) && in_range(t, vpn, am);
    }
    throw std::invalid_argument("naive_iotlb: bad invalidation scope");
}

bool is_power_of_two(unsigned v) {
    return v != 0 && (v & (v - 1)) == 0;
}

}  // namespace

naive_iotlb::naive_iotlb(iotlb_geometry geometry, victim_order order)
    : m_geometry(geometry), m_order(order), m_next_victim(geometry.sets, 0) {
    if (!is_power_of_two(geometry.sets) || !is_power_of_two(geometry.ways)) {
        throw std::invalid_argument("naive_iotlb: sets and ways must be powers of two");
    }
    for (unsigned set = 0; set < geometry.sets; ++set) {
        for (unsigned way = 0; way < geometry.ways; ++way) {
            m_slots.push_back(slot{set, way, false, {}});
        }
        m_plru.emplace_back(geometry.ways - 1, false);
    }
}

naive_iotlb::slot& naive_iotlb::at(unsigned set, unsigned way) {
    slot& s = m_slots.at(static_cast<std::size_t>(set) * m_geometry.ways + way);
    if (s.set != set || s.way != way) {
        throw std::logic_error("naive_iotlb: slot list out of order");
    }
    return s;
}

// Walks from the root towards `way`; each node on the way is set to point at the other half.
void naive_iotlb::touch(unsigned set, unsigned way) {
    unsigned node = 0;
    unsigned first_way = 0;
    unsigned ways_below = m_geometry.ways;
    while (ways_below > 1) {
        ways_below /= 2;
        const bool way_is_left = way < first_way + ways_below;
        m_plru[set][node] = way_is_left;  // 1: the victim is on the right
        if (way_is_left) {
            node = 2 * node + 1;
        } else {
            node = 2 * node + 2;
            first_way += ways_below;
        }
    }
}

unsigned naive_iotlb::victim(unsigned set) const {
    if (m_order == victim_order::round_robin) {
        return m_next_victim[set];
    }
    unsigned node = 0;
    unsigned first_way = 0;
    unsigned ways_below = m_geometry.ways;
    while (ways_below > 1) {
        ways_below /= 2;
        if (m_plru[set][node]) {
            node = 2 * node + 2;
            first_way += ways_below;
        } else {
            node = 2 * node + 1;
        }
    }
    return first_way;
}

std::optional<iotlb_entry> naive_iotlb::lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
    for (page_level level : {page_level::size_4k, page_level::size_2m, page_level::size_1g}) {
        const unsigned set = set_of(vpn, level, did, pasid, kind, m_geometry.sets);
        const uint64_t page_first = vpn - vpn % pages_of(level);
        for (unsigned way = 0; way < m_geometry.ways; ++way) {
            const slot& s = at(set, way);
            const iotlb_tag& t = s.entry.tag;
            if (s.valid && t.level == level && t.did == did && t.pasid == pasid && t.kind == kind &&
                t.vpn == page_first) {
                touch(set, way);
                return s.entry;
            }
        }
    }
    return std::nullopt;
}

iotlb_fill_result naive_iotlb::fill(const iotlb_entry& entry) {
    iotlb_fill_result r;
    r.set = set_of(entry.tag.vpn, entry.tag.level, entry.tag.did, entry.tag.pasid, entry.tag.kind, m_geometry.sets);
    bool placed = false;
    for (unsigned way = 0; way < m_geometry.ways && !placed; ++way) {
        if (at(r.set, way).valid && at(r.set, way).entry.tag == entry.tag) {
            r.way = way;
            r.replaced_same_tag = true;
            placed = true;
        }
    }
    for (unsigned way = 0; way < m_geometry.ways && !placed; ++way) {
        if (!at(r.set, way).valid) {
            r.way = way;
            placed = true;
        }
    }
    if (!placed) {
        r.way = victim(r.set);
        r.evicted = at(r.set, r.way).entry;
        m_next_victim[r.set] = (r.way + 1) % m_geometry.ways;
    }
    slot& s = at(r.set, r.way);
    s.valid = true;
    s.entry = entry;
    touch(r.set, r.way);
    return r;
}

unsigned naive_iotlb::invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) {
    unsigned dropped = 0;
    for (slot& s : m_slots) {
        if (s.valid && covered(scope, did, pasid, range.vpn(), range.am(), s.entry.tag)) {
            s.valid = false;
            ++dropped;
        }
    }
    return dropped;
}

void naive_iotlb::for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const {
    // The list is in (set, way) order, the order every implementation visits them in.
    for (const slot& s : m_slots) {
        if (s.valid) {
            fn(s.set, s.way, s.entry);
        }
    }
}

std::optional<uint64_t> naive_iotlb::plru_bits(unsigned set) const {
    uint64_t bits = 0;
    for (unsigned node = 0; node + 1 < m_geometry.ways; ++node) {
        if (m_plru[set][node]) {
            bits |= uint64_t{1} << node;
        }
    }
    return bits;
}

std::string naive_iotlb::name() const {
    return m_order == victim_order::tree_plru ? "naive_iotlb" : "naive_iotlb(round_robin)";
}

}  // namespace iommusim::testing
