#include "tlm/iotlb.h"

#include <algorithm>
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
    m_did_stage1_filter.assign(filter_buckets, 0);
}

inline void iotlb::touch(unsigned set, unsigned way) {
    m_plru[set] = (m_plru[set] & ~m_touch_path[way]) | m_touch_bits[way];
}

unsigned iotlb::plru_victim(unsigned set) const {
    const uint64_t bits = m_plru[set];
    unsigned node = 0;
    while (node < m_geometry.ways - 1) {
        node = ((bits >> node) & 1) ? 2 * node + 2 : 2 * node + 1;
    }
    return node - (m_geometry.ways - 1);
}

void iotlb::count_in(const iotlb_tag& t, int delta) {
    const auto d = static_cast<unsigned>(delta);  // modular: -1 decrements
    m_level_count[static_cast<unsigned>(t.level)] += d;
    m_valid += d;
    m_did_filter[did_bucket(t.did)] += d;
    m_pasid_filter[pasid_bucket(t.did, t.pasid)] += d;
    if (!iotlb_kind_is_stage2(t.kind)) {
        m_did_stage1_filter[did_bucket(t.did)] += d;
    }
}

void iotlb::drop(std::size_t i) {
    m_keys[i] = 0;
    count_in(m_entries[i].tag, -1);
}

const iotlb_entry* iotlb::find(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) {
    const unsigned ways = m_geometry.ways;
    const uint64_t key_4k = match_key(did, pasid, kind, page_level::size_4k);  // the level ORed in per probe
    const uint64_t* keys = m_keys.data();
    const iotlb_entry* entries = m_entries.data();
    for (unsigned l = 0; l < 3; ++l) {
        if (m_level_count[l] == 0) {
            continue;
        }
        const auto level = static_cast<page_level>(l);
        const uint64_t aligned = vpn & ~(page_level_pages(level) - 1);
        const uint64_t key = key_4k | (uint64_t{l} << level_shift);
        const unsigned set = iotlb_set_index(vpn, level, m_geometry.sets);
        const std::size_t base = index(set, 0);
        for (unsigned w = 0; w < ways; ++w) {
            if (keys[base + w] == key && entries[base + w].tag.vpn == aligned) {
                touch(set, w);
                return &entries[base + w];
            }
        }
    }
    return nullptr;
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
    r.set = iotlb_set_index(entry.tag.vpn, entry.tag.level, m_geometry.sets);
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
        count_in(m_entries[base + target].tag, -1);
    }
    count_in(entry.tag, +1);
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

template <typename Scan, typename Pred>
unsigned iotlb::drop_level_range(page_level level, uint64_t first_page, uint64_t last_page, Scan scan, Pred pred) {
    const unsigned l = static_cast<unsigned>(level);
    if (m_level_count[l] == 0) {
        return 0;
    }
    const unsigned sets = m_geometry.sets;
    unsigned n = 0;
    auto check = [&](std::size_t i) {
        const uint64_t k = m_keys[i];
        if (k != 0 && key_level(k) == l && pred(m_entries[i].tag)) {
            drop(i);
            ++n;
        }
    };
    auto run = [&](unsigned first_set, unsigned count) {
        const std::size_t first = index(first_set, 0);
        const std::size_t slots = static_cast<std::size_t>(count) * m_geometry.ways;
        if (slots <= 16) {  // a set or a few (the common small range): the keys directly
            for (std::size_t i = first; i < first + slots; ++i) {
                check(i);
            }
        } else {
            scan(first, slots, check);
        }
    };
    if (last_page - first_page >= sets - 1) {
        run(0, sets);
        return n;
    }
    const auto first_set = static_cast<unsigned>(first_page & (sets - 1));
    const auto count = static_cast<unsigned>(last_page - first_page + 1);
    if (first_set + count <= sets) {
        run(first_set, count);
    } else {  // the range wraps past the last set
        run(first_set, sets - first_set);
        run(0, count - (sets - first_set));
    }
    return n;
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
    std::fill(m_did_stage1_filter.begin(), m_did_stage1_filter.end(), 0);
    m_level_count[0] = m_level_count[1] = m_level_count[2] = 0;
    m_valid = 0;
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
    // Type-2 PSI addresses are GPAs: first-stage and nested entries cannot be matched by address
    // and go regardless (docs/vtd-facts.md §6.2).
    const page_span span = range.span();
    if (m_did_stage1_filter[did_bucket(did)] != 0 || range.am() >= 52) {
        return drop_domain(
            did, [=](const iotlb_tag& t) { return !iotlb_kind_is_stage2(t.kind) || iotlb_overlaps(t, span); });
    }
    // The DID holds second-stage and pass-through entries only: those in range, found in the sets
    // the range covers at each level.
    auto pred = [=](const iotlb_tag& t) { return t.did == did && iotlb_overlaps(t, span); };
    auto by_did = [&](std::size_t first, std::size_t slots, auto f) {
        for_each_did(m_dids.data() + first, slots, did, [&](std::size_t i) { f(first + i); });
    };
    unsigned n = 0;
    for (unsigned l = 0; l < 3; ++l) {
        n += drop_level_range(static_cast<page_level>(l), span.first >> (9 * l), span.last >> (9 * l), by_did, pred);
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
    // An entry of level L overlapping the range has its page number (vpn >> 9L) between those of
    // the range's first and last 4 KiB page, so only those sets can hold one (the hot path of
    // guest stage-1 invalidations).
    if (range.am() >= 52) {  // every input address (Linux's "flush all" range uses AM 52)
        return drop_pasid(did, pasid, pred);
    }
    const uint32_t fp = fingerprint(did, pasid);
    auto by_fingerprint = [&](std::size_t first, std::size_t slots, auto f) {
        for_each_fingerprint(m_fingerprints.data() + first, slots, fp, [&](std::size_t i) { f(first + i); });
    };
    unsigned n = 0;
    for (unsigned l = 0; l < 3; ++l) {
        n += drop_level_range(static_cast<page_level>(l), span.first >> (9 * l), span.last >> (9 * l), by_fingerprint,
                              pred);
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
