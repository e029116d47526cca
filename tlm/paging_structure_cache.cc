#include "tlm/paging_structure_cache.h"

namespace iommusim {

namespace {
constexpr unsigned prefix_shift(unsigned level) {
    return 12 + 9 * (level - 1);
}

// Does the region mapped by a level-`level` entry with `prefix` overlap 2^am pages at vpn?
bool overlaps(uint64_t prefix, unsigned level, uint64_t vpn, unsigned am) {
    am = am > 52 ? 52 : am;
    const unsigned pshift = prefix_shift(level) - 12;  // region size in pages, log2
    const uint64_t region_base = prefix << pshift;
    const uint64_t region_pages = uint64_t{1} << pshift;
    const uint64_t range_pages = uint64_t{1} << am;
    const uint64_t range_base = vpn & ~(range_pages - 1);
    return region_base < range_base + range_pages && range_base < region_base + region_pages;
}

// Calls f(i) for every i < n with (keys[i] & mask) == want. Eight keys are tested per step
// without branches, so a scan that finds nothing costs one compare per key.
template <typename F>
void for_each_match(const uint64_t* keys, unsigned n, uint64_t mask, uint64_t want, F f) {
    unsigned i = 0;
    for (; i + 8 <= n; i += 8) {
        unsigned any = 0;
        for (unsigned j = 0; j < 8; ++j)
            any |= (keys[i + j] & mask) == want ? 1u : 0u;
        if (any == 0)
            continue;
        for (unsigned j = 0; j < 8; ++j)
            if ((keys[i + j] & mask) == want)
                f(i + j);
    }
    for (; i < n; ++i)
        if ((keys[i] & mask) == want)
            f(i);
}
}  // namespace

paging_structure_cache::paging_structure_cache(unsigned entries_fs, unsigned entries_ss) {
    for (unsigned st = 0; st < 2; ++st) {
        const unsigned n = st == 0 ? (entries_fs ? entries_fs : 1) : (entries_ss ? entries_ss : 1);
        for (unsigned l = 0; l < levels; ++l) {
            level_array& a = m_arrays[st * levels + l];
            a.keys.assign(n, 0);
            a.prefixes.assign(n, 0);
            a.stamps.assign(n, 0);
            a.entries.assign(n, entry{});
        }
    }
}

const paging_structure_cache::entry* paging_structure_cache::lookup(stage st, uint16_t did, uint32_t pasid,
                                                                    unsigned level, uint64_t addr) {
    if (level < min_level || level > max_level)
        return nullptr;
    if (st == stage::second)
        pasid = 0;
    level_array& a = arr(st, level);
    if (a.count == 0)
        return nullptr;
    const uint64_t key = tag_key(did, pasid);
    const uint64_t prefix = addr >> prefix_shift(level);
    if (a.keys[a.last] == key && a.prefixes[a.last] == prefix) {
        a.stamps[a.last] = ++m_clock;
        return &a.entries[a.last];
    }
    const unsigned n = static_cast<unsigned>(a.keys.size());
    for (unsigned i = 0; i < n; ++i) {
        if (a.keys[i] == key && a.prefixes[i] == prefix) {
            a.stamps[i] = ++m_clock;
            a.last = i;
            return &a.entries[i];
        }
    }
    return nullptr;
}

void paging_structure_cache::fill(stage st, uint16_t did, uint32_t pasid, unsigned level, uint64_t addr,
                                  const entry& e) {
    if (level < min_level || level > max_level)
        return;
    if (st == stage::second)
        pasid = 0;
    level_array& a = arr(st, level);
    const uint64_t key = tag_key(did, pasid);
    const uint64_t prefix = addr >> prefix_shift(level);
    const unsigned n = static_cast<unsigned>(a.keys.size());
    // Victim: the entry with the same tag, else the lowest invalid slot, else the least recently
    // used one.
    unsigned same = n;
    unsigned first_invalid = n;
    unsigned oldest = n;
    for (unsigned i = 0; i < n; ++i) {
        const uint64_t k = a.keys[i];
        if (k == key && a.prefixes[i] == prefix) {
            same = i;
            break;
        }
        if (k == 0) {
            if (first_invalid == n)
                first_invalid = i;
        } else if (oldest == n || a.stamps[i] < a.stamps[oldest]) {
            oldest = i;
        }
    }
    const unsigned victim = same != n ? same : first_invalid != n ? first_invalid : oldest;
    if (a.keys[victim] == 0) {
        ++a.count;
        ++m_stage_count[static_cast<unsigned>(st)];
    }
    a.keys[victim] = key;
    a.prefixes[victim] = prefix;
    a.stamps[victim] = ++m_clock;
    a.entries[victim] = e;
    a.last = victim;
}

template <typename Pred>
unsigned paging_structure_cache::drop_if(stage st, uint64_t mask, uint64_t want, Pred pred) {
    if (m_stage_count[static_cast<unsigned>(st)] == 0)
        return 0;
    unsigned n = 0;
    for (unsigned l = min_level; l <= max_level; ++l) {
        level_array& a = arr(st, l);
        if (a.count == 0)
            continue;
        unsigned dropped = 0;
        for_each_match(a.keys.data(), static_cast<unsigned>(a.keys.size()), mask, want, [&](unsigned i) {
            if (pred(a.prefixes[i], l)) {
                a.keys[i] = 0;
                ++dropped;
            }
        });
        a.count -= dropped;
        n += dropped;
    }
    m_stage_count[static_cast<unsigned>(st)] -= n;
    return n;
}

unsigned paging_structure_cache::invalidate_all() {
    auto all = [](uint64_t, unsigned) { return true; };
    return drop_if(stage::first, valid_bit, valid_bit, all) + drop_if(stage::second, valid_bit, valid_bit, all);
}

unsigned paging_structure_cache::invalidate_domain(uint16_t did) {
    auto all = [](uint64_t, unsigned) { return true; };
    const uint64_t want = tag_key(did, 0);
    return drop_if(stage::first, did_mask, want, all) + drop_if(stage::second, did_mask, want, all);
}

unsigned paging_structure_cache::invalidate_domain_range(uint16_t did, uint64_t vpn, unsigned am, bool ih) {
    if (ih)
        return 0;  // only leaves changed: non-leaf caching may be kept (spec/vtd.md §6.4)
    // Second-stage entries are tagged with PASID 0, so the full key selects the domain.
    return drop_if(stage::second, ~uint64_t{0}, tag_key(did, 0),
                   [=](uint64_t prefix, unsigned l) { return overlaps(prefix, l, vpn, am); });
}

unsigned paging_structure_cache::invalidate_pasid(uint16_t did, uint32_t pasid) {
    return drop_if(stage::first, ~uint64_t{0}, tag_key(did, pasid), [](uint64_t, unsigned) { return true; });
}

unsigned paging_structure_cache::invalidate_pasid_range(uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am,
                                                        bool ih) {
    if (ih)
        return 0;
    return drop_if(stage::first, ~uint64_t{0}, tag_key(did, pasid),
                   [=](uint64_t prefix, unsigned l) { return overlaps(prefix, l, vpn, am); });
}

unsigned paging_structure_cache::size(stage st) const {
    return m_stage_count[static_cast<unsigned>(st)];
}

}  // namespace iommusim
