#include "tlm/context_cache.h"

namespace iommusim {

context_cache::context_cache(unsigned entries) : m_cache(entries) {}

void context_cache::fill(uint16_t sid, const context_info& info) {
    m_cache.fill(sid, info);
}

unsigned context_cache::invalidate_all() {
    return m_cache.drop_if([](uint16_t, const context_info&) { return true; });
}

unsigned context_cache::invalidate_device(uint16_t sid, unsigned fm) {
    fm &= 3;
    // FM=1 masks SID bit 2, FM=2 bits 2:1, FM=3 bits 2:0 (the function number's top bits).
    const uint16_t ignore = static_cast<uint16_t>(((1u << fm) - 1) << (3 - fm));
    return m_cache.drop_if([=](uint16_t s, const context_info&) { return ((s ^ sid) & ~ignore) == 0; });
}

}  // namespace iommusim
