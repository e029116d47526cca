#include "tlm/paging_structure_cache.h"

#include <bit>

namespace iommusim {

namespace {
// The prefixes (at every level) of the regions overlapping a range are the interval
// [first >> pshift, last >> pshift] of that level; the default covers every prefix.
struct prefix_interval {
    uint64_t lo = 0;
    uint64_t span = ~uint64_t{0};  // hi - lo: prefix p is inside when p - lo <= span (unsigned)
};

prefix_interval range_interval(unsigned level, const page_range& r) {
    const unsigned pshift = paging_structure_cache::prefix_shift(level) - 12;  // region size in pages, log2
    const uint64_t lo = r.first() >> pshift;
    return prefix_interval{lo, (r.last() >> pshift) - lo};
}

// Calls f(i) for every i < n with (keys[i] & mask) == want and prefixes[i] inside `in`. Eight
// slots are tested per step without branches into a bit mask; only the hits are visited.
template <typename F>
void for_each_match(const uint64_t* keys, const uint64_t* prefixes, unsigned n, uint64_t mask, uint64_t want,
                    const prefix_interval& in, F f) {
    auto hit = [&](unsigned i) {
        return static_cast<unsigned>((keys[i] & mask) == want) & static_cast<unsigned>(prefixes[i] - in.lo <= in.span);
    };
    unsigned i = 0;
    for (; i + 8 <= n; i += 8) {
        unsigned bits = 0;
        for (unsigned j = 0; j < 8; ++j) {
            bits |= hit(i + j) << j;
        }
        for (; bits != 0; bits &= bits - 1) {
            f(i + static_cast<unsigned>(std::countr_zero(bits)));
        }
    }
    for (; i < n; ++i) {
        if (hit(i)) {
            f(i);
        }
    }
}
}  // namespace

void paging_structure_cache::level_array::init(unsigned n) {
    keys.assign(n, 0);
    prefixes.assign(n, 0);
    entries.assign(n, entry{});
    newer.assign(n, none);
    older.assign(n, none);
    mru = lru = none;
    invalid.assign((n + 63) / 64, 0);
    for (unsigned i = 0; i < n; ++i) {
        invalid[i / 64] |= uint64_t{1} << (i % 64);
    }
    // At most half full: probe sequences stay short.
    const unsigned buckets = std::bit_ceil(2 * n);
    index.assign(buckets, 0);
    index_shift = 64 - static_cast<unsigned>(std::countr_zero(buckets));
    index_mask = buckets - 1;
    count = 0;
}

void paging_structure_cache::level_array::index_insert(uint32_t slot) {
    const unsigned mask = index_mask;
    unsigned b = bucket(keys[slot], prefixes[slot]);
    while (index[b] != 0) {
        b = (b + 1) & mask;
    }
    index[b] = slot + 1;
}

void paging_structure_cache::level_array::index_erase(uint32_t slot) {
    const unsigned mask = index_mask;
    unsigned hole = bucket(keys[slot], prefixes[slot]);
    while (index[hole] != slot + 1) {
        hole = (hole + 1) & mask;
    }
    // Backward-shift deletion: move up every later entry of the probe run whose home bucket does
    // not lie cyclically in (hole, b], so no lookup meets an empty bucket before its entry.
    for (unsigned b = (hole + 1) & mask; index[b] != 0; b = (b + 1) & mask) {
        const uint32_t s = index[b] - 1;
        const unsigned home = bucket(keys[s], prefixes[s]);
        if (((b - home) & mask) >= ((b - hole) & mask)) {
            index[hole] = index[b];
            hole = b;
        }
    }
    index[hole] = 0;
}

void paging_structure_cache::level_array::drop(uint32_t slot) {
    index_erase(slot);
    unlink(slot);
    keys[slot] = 0;
    invalid[slot / 64] |= uint64_t{1} << (slot % 64);
    --count;
}

paging_structure_cache::paging_structure_cache(unsigned entries_fs, unsigned entries_ss) {
    for (unsigned st = 0; st < 2; ++st) {
        const unsigned n = st == 0 ? (entries_fs ? entries_fs : 1) : (entries_ss ? entries_ss : 1);
        for (unsigned l = 0; l < levels; ++l) {
            m_arrays[st * levels + l].init(n);
        }
    }
}

void paging_structure_cache::fill(stage st, uint16_t did, uint32_t pasid, unsigned level, uint64_t addr,
                                  const entry& e) {
    if (level < min_level || level > max_level) {
        return;
    }
    level_array& a = arr(st, level);
    const uint64_t key = stage_key(st, did, pasid);
    const uint64_t prefix = addr >> prefix_shift(level);
    // Victim: the entry with the same tag, else the lowest invalid slot, else the least recently
    // used one.
    uint32_t victim = a.count != 0 ? a.find(key, prefix) : level_array::none;
    if (victim != level_array::none) {
        a.unlink(victim);
    } else {
        unsigned w = 0;
        while (w < a.invalid.size() && a.invalid[w] == 0) {
            ++w;
        }
        if (w < a.invalid.size()) {
            victim = w * 64 + static_cast<unsigned>(std::countr_zero(a.invalid[w]));
            a.invalid[w] &= a.invalid[w] - 1;
            ++a.count;
            ++m_stage_count[static_cast<unsigned>(st)];
        } else {
            victim = a.lru;
            a.index_erase(victim);
            a.unlink(victim);
            count_out(st, a.keys[victim]);
        }
        count_in(st, key);
        a.keys[victim] = key;
        a.prefixes[victim] = prefix;
        a.index_insert(victim);
    }
    a.entries[victim] = e;
    a.link_mru(victim);
}

unsigned paging_structure_cache::drop_if(stage st, uint64_t mask, uint64_t want, const page_range* r) {
    const unsigned si = static_cast<unsigned>(st);
    if (m_stage_count[si] == 0) {
        return 0;
    }
    // Nothing cached for the DID (or DID+PASID) in any level: nothing to scan.
    if (mask == did_mask && m_did_filter[si][did_bucket(want)] == 0) {
        return 0;
    }
    if (mask == ~uint64_t{0} && m_key_filter[si][key_bucket(want)] == 0) {
        return 0;
    }
    unsigned n = 0;
    for (unsigned l = min_level; l <= max_level; ++l) {
        level_array& a = arr(st, l);
        if (a.count == 0) {
            continue;
        }
        const prefix_interval in = r ? range_interval(l, *r) : prefix_interval{};
        unsigned dropped = 0;
        for_each_match(a.keys.data(), a.prefixes.data(), static_cast<unsigned>(a.keys.size()), mask, want, in,
                       [&](unsigned i) {
                           count_out(st, a.keys[i]);
                           a.drop(i);
                           ++dropped;
                       });
        n += dropped;
    }
    m_stage_count[si] -= n;
    return n;
}

unsigned paging_structure_cache::invalidate_all() {
    return drop_if(stage::first, valid_bit, valid_bit, nullptr) + drop_if(stage::second, valid_bit, valid_bit, nullptr);
}

unsigned paging_structure_cache::invalidate_domain(uint16_t did) {
    const uint64_t want = tag_key(did, 0);
    return drop_if(stage::first, did_mask, want, nullptr) + drop_if(stage::second, did_mask, want, nullptr);
}

unsigned paging_structure_cache::invalidate_domain_range(uint16_t did, uint64_t vpn, unsigned am, bool ih) {
    if (ih) {
        return 0;  // only leaves changed: non-leaf caching may be kept (docs/vtd-facts.md §6.4)
    }
    // Second-stage entries are tagged with PASID 0, so the full key selects the domain.
    const page_range r(vpn, am);
    return drop_if(stage::second, ~uint64_t{0}, tag_key(did, 0), &r);
}

unsigned paging_structure_cache::invalidate_pasid(uint16_t did, uint32_t pasid) {
    return drop_if(stage::first, ~uint64_t{0}, tag_key(did, pasid), nullptr);
}

unsigned paging_structure_cache::invalidate_pasid_range(uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am,
                                                        bool ih) {
    if (ih) {
        return 0;
    }
    const page_range r(vpn, am);
    return drop_if(stage::first, ~uint64_t{0}, tag_key(did, pasid), &r);
}

void paging_structure_cache::count_in(stage st, uint64_t key) {
    const unsigned si = static_cast<unsigned>(st);
    ++m_did_filter[si][did_bucket(key)];
    ++m_key_filter[si][key_bucket(key)];
}

void paging_structure_cache::count_out(stage st, uint64_t key) {
    const unsigned si = static_cast<unsigned>(st);
    --m_did_filter[si][did_bucket(key)];
    --m_key_filter[si][key_bucket(key)];
}

unsigned paging_structure_cache::size(stage st) const {
    return m_stage_count[static_cast<unsigned>(st)];
}

}  // namespace iommusim
