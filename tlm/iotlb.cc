#include "tlm/iotlb.h"

#include <stdexcept>

namespace iommusim {

namespace {
bool is_pow2(unsigned v) {
    return v != 0 && (v & (v - 1)) == 0;
}

bool is_stage2_kind(translation_kind k) {
    return k == translation_kind::second_stage || k == translation_kind::pass_through;
}
}  // namespace

iotlb::iotlb(iotlb_geometry geometry) : m_geometry(geometry) {
    if (!is_pow2(geometry.sets) || !is_pow2(geometry.ways) || geometry.ways > 64)
        throw std::invalid_argument("iotlb: sets and ways must be powers of two, ways <= 64");
    m_slots.resize(static_cast<std::size_t>(geometry.sets) * geometry.ways);
    m_plru.assign(geometry.sets, 0);
}

void iotlb::touch(unsigned set, unsigned way) {
    // Walk from the leaf up: each node on the path points away from the touched child.
    uint64_t bits = m_plru[set];
    unsigned node = way + m_geometry.ways - 1;
    while (node != 0) {
        const unsigned parent = (node - 1) / 2;
        const bool from_left = node == 2 * parent + 1;
        if (from_left)
            bits |= uint64_t{1} << parent;  // victim now in the right subtree
        else
            bits &= ~(uint64_t{1} << parent);
        node = parent;
    }
    m_plru[set] = bits;
}

unsigned iotlb::plru_victim(unsigned set) const {
    const uint64_t bits = m_plru[set];
    unsigned node = 0;
    while (node < m_geometry.ways - 1)
        node = ((bits >> node) & 1) ? 2 * node + 2 : 2 * node + 1;
    return node - (m_geometry.ways - 1);
}

std::optional<iotlb_entry> iotlb::lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
    const unsigned ways = m_geometry.ways;
    for (unsigned l = 0; l < 3; ++l) {
        const auto level = static_cast<page_level>(l);
        const uint64_t aligned = vpn & ~(page_level_pages(level) - 1);
        const uint64_t key = match_key(did, pasid, kind, level);
        const unsigned set = iotlb_set_index(vpn, level, m_geometry.sets);
        slot* s = set_begin(set);
        for (unsigned w = 0; w < ways; ++w) {
            if (s[w].key == key && s[w].entry.tag.vpn == aligned) {
                touch(set, w);
                return s[w].entry;
            }
        }
    }
    return std::nullopt;
}

iotlb_fill_result iotlb::fill(const iotlb_entry& entry) {
    iotlb_fill_result r;
    const unsigned ways = m_geometry.ways;
    r.set = iotlb_set_index(entry.tag.vpn, entry.tag.level, m_geometry.sets);
    slot* s = set_begin(r.set);
    unsigned target = ways;
    for (unsigned w = 0; w < ways; ++w) {
        if (s[w].valid && s[w].entry.tag == entry.tag) {
            target = w;
            r.replaced_same_tag = true;
            break;
        }
    }
    if (target == ways) {
        for (unsigned w = 0; w < ways; ++w) {
            if (!s[w].valid) {
                target = w;
                break;
            }
        }
    }
    if (target == ways) {
        target = plru_victim(r.set);
        r.evicted = s[target].entry;
    }
    if (s[target].valid)
        --m_level_count[static_cast<unsigned>(s[target].entry.tag.level)];
    ++m_level_count[static_cast<unsigned>(entry.tag.level)];
    s[target].valid = true;
    s[target].entry = entry;
    s[target].key = match_key(entry.tag.did, entry.tag.pasid, entry.tag.kind, entry.tag.level);
    r.way = target;
    touch(r.set, target);
    return r;
}

template <typename Pred>
unsigned iotlb::drop_if(Pred pred) {
    unsigned n = 0;
    for (slot& s : m_slots) {
        if (s.valid && pred(s.entry.tag)) {
            s.valid = false;
            s.key = 0;
            --m_level_count[static_cast<unsigned>(s.entry.tag.level)];
            ++n;
        }
    }
    return n;
}

template <typename Pred>
unsigned iotlb::drop_level_range(page_level level, uint64_t first_page, uint64_t last_page, Pred pred) {
    const unsigned l = static_cast<unsigned>(level);
    if (m_level_count[l] == 0)
        return 0;
    const unsigned sets = m_geometry.sets;
    const unsigned ways = m_geometry.ways;
    const bool every_set = last_page - first_page >= sets - 1;
    const unsigned count = every_set ? sets : static_cast<unsigned>(last_page - first_page + 1);
    unsigned n = 0;
    for (unsigned i = 0; i < count; ++i) {
        const unsigned set = every_set ? i : static_cast<unsigned>((first_page + i) & (sets - 1));
        slot* s = set_begin(set);
        for (unsigned w = 0; w < ways; ++w) {
            if (s[w].valid && s[w].entry.tag.level == level && pred(s[w].entry.tag)) {
                s[w].valid = false;
                s[w].key = 0;
                ++n;
            }
        }
    }
    m_level_count[l] -= n;
    return n;
}

unsigned iotlb::invalidate_all() {
    return drop_if([](const iotlb_tag&) { return true; });
}

unsigned iotlb::invalidate_domain(uint16_t did) {
    return drop_if([did](const iotlb_tag& t) { return t.did == did; });
}

unsigned iotlb::invalidate_domain_range(uint16_t did, uint64_t vpn, unsigned am) {
    am = am > 63 ? 63 : am;  // a 6-bit AM field; keeps the shift in iotlb_overlaps defined
    // Type-2 PSI addresses are GPAs: first-stage and nested entries cannot be matched by address
    // and go regardless (spec/vtd.md §6.2).
    return drop_if(
        [=](const iotlb_tag& t) { return t.did == did && (!is_stage2_kind(t.kind) || iotlb_overlaps(t, vpn, am)); });
}

unsigned iotlb::invalidate_pasid(uint16_t did, uint32_t pasid) {
    return drop_if([=](const iotlb_tag& t) { return t.did == did && t.pasid == pasid; });
}

unsigned iotlb::invalidate_pasid_range(uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am) {
    am = am > 63 ? 63 : am;
    // Second-stage-only and pass-through entries are out of a type-6 PSI's scope (spec/vtd.md §6.3).
    auto pred = [=](const iotlb_tag& t) {
        return t.did == did && t.pasid == pasid && !is_stage2_kind(t.kind) && iotlb_overlaps(t, vpn, am);
    };
    // An entry of level L overlapping the range has its page number (vpn >> 9L) between those of
    // the range's first and last 4 KiB page, so only those sets can hold one (the hot path of
    // guest stage-1 invalidations).
    if (am >= 52)  // every input address (Linux's "flush all" range uses AM 52)
        return drop_if(pred);
    const uint64_t range_pages = uint64_t{1} << am;
    const uint64_t base = vpn & ~(range_pages - 1);
    const uint64_t last = base + range_pages - 1;
    unsigned n = 0;
    for (unsigned l = 0; l < 3; ++l)
        n += drop_level_range(static_cast<page_level>(l), base >> (9 * l), last >> (9 * l), pred);
    return n;
}

void iotlb::for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const {
    for (unsigned set = 0; set < m_geometry.sets; ++set)
        for (unsigned w = 0; w < m_geometry.ways; ++w) {
            const slot& s = m_slots[static_cast<std::size_t>(set) * m_geometry.ways + w];
            if (s.valid)
                fn(set, w, s.entry);
        }
}

unsigned iotlb::valid_count() const {
    unsigned n = 0;
    for (const slot& s : m_slots)
        n += s.valid ? 1 : 0;
    return n;
}

}  // namespace iommusim
