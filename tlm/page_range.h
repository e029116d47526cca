// The page range of a page-selective invalidation: 2^AM 4 KiB pages at a page number whose low AM
// bits are ignored (docs/vtd-facts.md §3.2, §3.6, §6.2-6.3). One type and one overlap test for
// the IOTLB, the paging-structure caches, the RTL adapter and DMI revocation.
//
// The one AM clamp is here. CAP.MAMV bounds AM for type-2 page-selective requests only, and the
// decoder refuses a larger AM there (IQE, docs/vtd-facts.md §3.2); type 6 is bounded by its 6-bit
// field alone (Linux sends AM 52, docs/iommufd-facts.md §4.3). The range therefore clamps AM to
// the field's largest value, 63, which keeps 2^AM and the last page representable; from AM 45 on a
// range already holds every page of the 57-bit input-address space.
#pragma once

#include <cstdint>

namespace iommusim {

// The inclusive page-number bounds of a range: the one overlap test. A scan over many entries
// takes the span once, so the bounds are not recomputed per entry.
struct page_span {
    uint64_t first = 0;
    uint64_t last = 0;

    // True when the span overlaps the `count` (>= 1) pages from page number `first_vpn`.
    constexpr bool covers(uint64_t first_vpn, uint64_t count) const {
        return first_vpn <= last && first <= first_vpn + (count - 1);
    }
};

class page_range {
  public:
    static constexpr unsigned max_am = 63;              // the 6-bit AM field
    static constexpr unsigned input_address_bits = 57;  // 5-level paging: keys are 45-bit page numbers
    static constexpr unsigned input_page_bits = input_address_bits - 12;

    constexpr page_range() = default;
    // vpn: a page number as written (the low am bits are ignored); am: log2 of the page count.
    constexpr page_range(uint64_t vpn, unsigned am)
        : m_vpn(vpn), m_am(static_cast<uint8_t>(am > max_am ? max_am : am)) {}
    // From a descriptor's byte address, reduced to the input-address width the caches key on.
    static constexpr page_range of_address(uint64_t addr, unsigned am) {
        return page_range((addr & ((uint64_t{1} << input_address_bits) - 1)) >> 12, am);
    }

    constexpr uint64_t vpn() const { return m_vpn; }  // as written
    constexpr unsigned am() const { return m_am; }
    constexpr uint64_t pages() const { return uint64_t{1} << m_am; }
    constexpr uint64_t first() const { return m_vpn & ~(pages() - 1); }
    constexpr uint64_t last() const { return first() + (pages() - 1); }  // inclusive: never wraps

    constexpr page_span span() const { return {first(), last()}; }

    // True when the range overlaps the `count` (>= 1) pages from page number `first_vpn`.
    constexpr bool covers(uint64_t first_vpn, uint64_t count) const { return span().covers(first_vpn, count); }

    constexpr bool operator==(const page_range&) const = default;

  private:
    uint64_t m_vpn = 0;
    uint8_t m_am = 0;
};

}  // namespace iommusim
