#include "tlm/context_cache.h"

namespace iommusim {

context_cache::context_cache(unsigned entries) : m_entries(entries ? entries : 1) {}

const context_info* context_cache::lookup(uint16_t sid) {
    slot& last = m_entries[m_last];
    if (last.valid && last.sid == sid) {
        last.stamp = ++m_clock;
        return &last.info;
    }
    for (unsigned i = 0; i < m_entries.size(); ++i) {
        slot& s = m_entries[i];
        if (s.valid && s.sid == sid) {
            s.stamp = ++m_clock;
            m_last = i;
            return &s.info;
        }
    }
    return nullptr;
}

void context_cache::fill(uint16_t sid, const context_info& info) {
    unsigned victim = 0;
    for (unsigned i = 0; i < m_entries.size(); ++i) {
        const slot& s = m_entries[i];
        if (s.valid && s.sid == sid) {
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

unsigned context_cache::invalidate_all() {
    unsigned n = 0;
    for (slot& s : m_entries) {
        n += s.valid ? 1 : 0;
        s.valid = false;
    }
    return n;
}

unsigned context_cache::invalidate_device(uint16_t sid, unsigned fm) {
    fm &= 3;
    // FM=1 masks SID bit 2, FM=2 bits 2:1, FM=3 bits 2:0 (the function number's top bits).
    const uint16_t ignore = static_cast<uint16_t>(((1u << fm) - 1) << (3 - fm));
    unsigned n = 0;
    for (slot& s : m_entries) {
        if (s.valid && ((s.sid ^ sid) & ~ignore) == 0) {
            s.valid = false;
            ++n;
        }
    }
    return n;
}

unsigned context_cache::size() const {
    unsigned n = 0;
    for (const slot& s : m_entries)
        n += s.valid ? 1 : 0;
    return n;
}

}  // namespace iommusim
