// A deliberately wrong IOTLB for tests: wraps a correct one and breaks one behaviour, so the
// checkers (iotlb-diff, lockstep) can be shown to find and shrink a real bug.
//
// Models: every operation forwarded to the wrapped IOTLB except the one the fault names.
// Does not model: any other fault.
#pragma once

#include <memory>
#include <string>

#include "tlm/iotlb_if.h"

namespace iommusim::testing {

enum class iotlb_fault {
    // A type-6 page-selective invalidation of 512 pages or more (am >= 9) drops nothing: the
    // classic "large ranges take another path, and that path forgot a case" bug.
    large_pasid_range_ignored,
};

class faulty_iotlb final : public iotlb_if {
  public:
    faulty_iotlb(std::unique_ptr<iotlb_if> inner, iotlb_fault fault) : m_inner(std::move(inner)), m_fault(fault) {}

    std::optional<iotlb_entry> lookup(uint16_t did, uint32_t pasid, translation_kind kind, uint64_t vpn) override {
        return m_inner->lookup(did, pasid, kind, vpn);
    }
    iotlb_fill_result fill(const iotlb_entry& entry) override { return m_inner->fill(entry); }
    unsigned invalidate(iotlb_scope scope, uint16_t did, uint32_t pasid, const page_range& range) override {
        if (m_fault == iotlb_fault::large_pasid_range_ignored && scope == iotlb_scope::pasid_range && range.am() >= 9) {
            return 0;
        }
        return m_inner->invalidate(scope, did, pasid, range);
    }
    iotlb_geometry geometry() const override { return m_inner->geometry(); }
    void for_each_valid(const std::function<void(unsigned set, unsigned way, const iotlb_entry&)>& fn) const override {
        m_inner->for_each_valid(fn);
    }
    std::optional<uint64_t> plru_bits(unsigned set) const override { return m_inner->plru_bits(set); }
    std::string name() const override { return "faulty(" + m_inner->name() + ")"; }

  private:
    std::unique_ptr<iotlb_if> m_inner;
    iotlb_fault m_fault;
};

}  // namespace iommusim::testing
