// The cache-invalidation scopes the invalidation queue engine applies (docs/vtd-facts.md §6.2-6.5): one
// method per scope, each returning the number of cached entries it dropped. The translator
// implements them (context cache, PASID cache, IOTLB and paging-structure caches, DMI revocation
// through its observer); forwarding_invalidation_sink adapts any class with these method names, so
// the engine does not depend on the translator's concrete type.
#pragma once

#include <cstdint>

namespace iommusim {

class invalidation_sink {
  public:
    virtual ~invalidation_sink() = default;

    // Context cache (type 1). fm masks the low function-number bits of sid (docs/vtd-facts.md §3.1).
    virtual unsigned invalidate_context_all() = 0;
    virtual unsigned invalidate_context_device(uint16_t sid, unsigned fm) = 0;
    // PASID cache (type 7).
    virtual unsigned invalidate_pasid_cache_all() = 0;
    virtual unsigned invalidate_pasid_cache_domain(uint16_t did) = 0;
    virtual unsigned invalidate_pasid_cache_pasid(uint16_t did, uint32_t pasid) = 0;
    // IOTLB + paging-structure caches (types 2 and 6). addr is a byte address, the range is 2^am
    // 4 KiB pages with the low am page-number bits ignored; ih=1 keeps paging-structure entries.
    virtual unsigned invalidate_iotlb_all() = 0;
    virtual unsigned invalidate_iotlb_domain(uint16_t did) = 0;
    virtual unsigned invalidate_iotlb_domain_range(uint16_t did, uint64_t addr, unsigned am, bool ih) = 0;
    virtual unsigned invalidate_iotlb_pasid(uint16_t did, uint32_t pasid) = 0;
    virtual unsigned invalidate_iotlb_pasid_range(uint16_t did, uint32_t pasid, uint64_t addr, unsigned am,
                                                  bool ih) = 0;
};

// Forwards every scope to an object with the same method names (the translator).
template <typename Target>
class forwarding_invalidation_sink final : public invalidation_sink {
  public:
    explicit forwarding_invalidation_sink(Target& target) : m_target(target) {}

    unsigned invalidate_context_all() override { return m_target.invalidate_context_all(); }
    unsigned invalidate_context_device(uint16_t sid, unsigned fm) override {
        return m_target.invalidate_context_device(sid, fm);
    }
    unsigned invalidate_pasid_cache_all() override { return m_target.invalidate_pasid_cache_all(); }
    unsigned invalidate_pasid_cache_domain(uint16_t did) override {
        return m_target.invalidate_pasid_cache_domain(did);
    }
    unsigned invalidate_pasid_cache_pasid(uint16_t did, uint32_t pasid) override {
        return m_target.invalidate_pasid_cache_pasid(did, pasid);
    }
    unsigned invalidate_iotlb_all() override { return m_target.invalidate_iotlb_all(); }
    unsigned invalidate_iotlb_domain(uint16_t did) override { return m_target.invalidate_iotlb_domain(did); }
    unsigned invalidate_iotlb_domain_range(uint16_t did, uint64_t addr, unsigned am, bool ih) override {
        return m_target.invalidate_iotlb_domain_range(did, addr, am, ih);
    }
    unsigned invalidate_iotlb_pasid(uint16_t did, uint32_t pasid) override {
        return m_target.invalidate_iotlb_pasid(did, pasid);
    }
    unsigned invalidate_iotlb_pasid_range(uint16_t did, uint32_t pasid, uint64_t addr, unsigned am, bool ih) override {
        return m_target.invalidate_iotlb_pasid_range(did, pasid, addr, am, ih);
    }

  private:
    Target& m_target;
};

}  // namespace iommusim
