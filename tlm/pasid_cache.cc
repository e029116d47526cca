#include "tlm/pasid_cache.h"

namespace iommusim {

pasid_cache::pasid_cache(unsigned entries) : m_cache(entries) {}

void pasid_cache::fill(uint16_t sid, const pasid_info& info) {
    m_cache.fill(key{sid, info.pasid}, info);
}

unsigned pasid_cache::invalidate_all() {
    return m_cache.drop_if([](const key&, const pasid_info&) { return true; });
}

unsigned pasid_cache::invalidate_domain(uint16_t did) {
    return m_cache.drop_if([did](const key&, const pasid_info& i) { return i.did == did; });
}

unsigned pasid_cache::invalidate_pasid(uint16_t did, uint32_t pasid) {
    return m_cache.drop_if([=](const key&, const pasid_info& i) { return i.did == did && i.pasid == pasid; });
}

}  // namespace iommusim
