// A deliberately naive IOTLB for tests: a flat list of slots with the contract of tlm/iotlb_if.h
// written out plainly, so the C++ IOTLB (and anything else run against it) is checked by code
// that shares none of its helpers (no page_span / page_range overlap, no set-index or page-size
// helper, no filters, no packed keys).
//
// Models: the whole contract (set choice, 4 KiB / 2 MiB / 1 GiB probe order, same-tag refill,
// lowest invalid way, tree-PLRU walked node by node, every invalidation scope with its kind rule
// and the AM range rule of docs/vtd-facts.md §3.2 and §6.2-6.3). With victim_order::round_robin
// a full set evicts its ways in turn instead (a correct IOTLB whose replacement differs from
// tree-PLRU, for the replacement-free lockstep checks).
// Does not model: speed (every operation scans every slot), timing, waves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlm/iotlb_if.h"

namespace iommusim::testing {

class naive_iotlb final : public iotlb_if {
  public:
    enum class victim_order { tree_plru, round_robin };

    explicit naive_iotlb(iotlb_geometry geometry, victim_order order = victim_order::tree_plru);

    std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) override;
    iotlb_fill_result fill(const iotlb_entry& entry) override;
    unsigned invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) override;

    iotlb_geometry geometry() const override { return m_geometry; }
    void for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const override;
    // The tree-PLRU bits (kept in either victim order, since lookups and fills still touch).
    std::optional<uint64_t> plru_bits(unsigned set) const override;
    std::string name() const override;

    // The way the next fill of a full set would replace.
    unsigned victim(unsigned set) const;

  private:
    struct slot {
        unsigned set = 0;
        unsigned way = 0;
        bool valid = false;
        iotlb_entry entry;
    };
    slot& at(unsigned set, unsigned way);
    void touch(unsigned set, unsigned way);

    iotlb_geometry m_geometry;
    victim_order m_order;
    std::vector<slot> m_slots;              // every (set, way), set-major
    std::vector<std::vector<bool>> m_plru;  // per set: node n of the tree at index n
    std::vector<unsigned> m_next_victim;    // per set, round_robin only
};

}  // namespace iommusim::testing
