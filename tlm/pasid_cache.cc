#include "tlm/pasid_cache.h"

namespace iommusim {

pasid_cache::pasid_cache(unsigned entries) : m_entries(entries ? entries : 1) {}

const pasid_info* pasid_cache::lookup(uint16_t sid, uint32_t pasid) {
    slot& last = m_entries[m_last];
    if (last.valid && last.sid == sid && last.info.pasid == pasid) {
        last.stamp = ++m_clock;
        return &last.info;
    }
    for (unsigned i = 0; i < m_entries.size(); ++i) {
        slot& s = m_entries[i];
        if (s.valid && s.sid == sid && s.info.pasid == pasid) {
            s.stamp = ++m_clock;
            m_last = i;
            return &s.info;
        }
    }
    return nullptr;
}

void pasid_cache::fill(uint16_t sid, const pasid_info& info) {
    unsigned victim = 0;
    for (unsigned i = 0; i < m_entries.size(); ++i) {
        const slot& s = m_entries[i];
        if (s.valid && s.sid == sid && s.info.pasid == info.pasid) {
            victim = i;
            break;
        }
        if (!s.valid) {
            if (m_entries[victim].valid)
                victim = i;
        } else if (m_entries[victim].valid && s.stamp < m_entries[victim].stamp) {
            victim = i;
        }
    }
    m_entries[victim] = slot{true, sid, ++m_clock, info};
    m_last = victim;
}

template <typename Pred>
unsigned pasid_cache::drop_if(Pred pred) {
    unsigned n = 0;
    for (slot& s : m_entries) {
        if (s.valid && pred(s.info)) {
            s.valid = false;
            ++n;
        }
    }
    return n;
}

unsigned pasid_cache::invalidate_all() {
    return drop_if([](const pasid_info&) { return true; });
}

unsigned pasid_cache::invalidate_domain(uint16_t did) {
    return drop_if([did](const pasid_info& i) { return i.did == did; });
}

unsigned pasid_cache::invalidate_pasid(uint16_t did, uint32_t pasid) {
    return drop_if([=](const pasid_info& i) { return i.did == did && i.pasid == pasid; });
}

unsigned pasid_cache::size() const {
    unsigned n = 0;
    for (const slot& s : m_entries)
        n += s.valid ? 1 : 0;
    return n;
}

}  // namespace iommusim
