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
}  // namespace

paging_structure_cache::paging_structure_cache(unsigned entries_fs, unsigned entries_ss) {
    for (unsigned l = 0; l < levels; ++l) {
        m_arrays[l].slots.resize(entries_fs ? entries_fs : 1);
        m_arrays[levels + l].slots.resize(entries_ss ? entries_ss : 1);
    }
}

const paging_structure_cache::entry* paging_structure_cache::lookup(stage st, uint16_t did, uint32_t pasid,
                                                                    unsigned level, uint64_t addr) {
    if (level < min_level || level > max_level)
        return nullptr;
    if (st == stage::second)
        pasid = 0;
    level_array& a = arr(st, level);
    const uint64_t prefix = addr >> prefix_shift(level);
    auto match = [&](const slot& s) { return s.valid && s.prefix == prefix && s.did == did && s.pasid == pasid; };
    if (match(a.slots[a.last])) {
        a.slots[a.last].stamp = ++m_clock;
        return &a.slots[a.last].e;
    }
    for (unsigned i = 0; i < a.slots.size(); ++i) {
        if (match(a.slots[i])) {
            a.slots[i].stamp = ++m_clock;
            a.last = i;
            return &a.slots[i].e;
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
    const uint64_t prefix = addr >> prefix_shift(level);
    unsigned victim = 0;
    for (unsigned i = 0; i < a.slots.size(); ++i) {
        const slot& s = a.slots[i];
        if (s.valid && s.prefix == prefix && s.did == did && s.pasid == pasid) {
            victim = i;
            break;
        }
        if (!s.valid) {
            if (a.slots[victim].valid)
                victim = i;
        } else if (a.slots[victim].valid && s.stamp < a.slots[victim].stamp) {
            victim = i;
        }
    }
    a.slots[victim] = slot{true, did, pasid, prefix, ++m_clock, e};
    a.last = victim;
}

template <typename Pred>
unsigned paging_structure_cache::drop_if(stage st, Pred pred) {
    unsigned n = 0;
    for (unsigned l = min_level; l <= max_level; ++l) {
        for (slot& s : arr(st, l).slots) {
            if (s.valid && pred(s, l)) {
                s.valid = false;
                ++n;
            }
        }
    }
    return n;
}

unsigned paging_structure_cache::invalidate_all() {
    auto all = [](const slot&, unsigned) { return true; };
    return drop_if(stage::first, all) + drop_if(stage::second, all);
}

unsigned paging_structure_cache::invalidate_domain(uint16_t did) {
    auto dom = [did](const slot& s, unsigned) { return s.did == did; };
    return drop_if(stage::first, dom) + drop_if(stage::second, dom);
}

unsigned paging_structure_cache::invalidate_domain_range(uint16_t did, uint64_t vpn, unsigned am, bool ih) {
    if (ih)
        return 0;  // only leaves changed: non-leaf caching may be kept (spec/vtd.md §6.4)
    return drop_if(stage::second,
                   [=](const slot& s, unsigned l) { return s.did == did && overlaps(s.prefix, l, vpn, am); });
}

unsigned paging_structure_cache::invalidate_pasid(uint16_t did, uint32_t pasid) {
    return drop_if(stage::first, [=](const slot& s, unsigned) { return s.did == did && s.pasid == pasid; });
}

unsigned paging_structure_cache::invalidate_pasid_range(uint16_t did, uint32_t pasid, uint64_t vpn, unsigned am,
                                                        bool ih) {
    if (ih)
        return 0;
    return drop_if(stage::first, [=](const slot& s, unsigned l) {
        return s.did == did && s.pasid == pasid && overlaps(s.prefix, l, vpn, am);
    });
}

unsigned paging_structure_cache::size(stage st) const {
    unsigned n = 0;
    for (unsigned l = 0; l < levels; ++l)
        for (const slot& s : m_arrays[static_cast<unsigned>(st) * levels + l].slots)
            n += s.valid ? 1 : 0;
    return n;
}

}  // namespace iommusim
