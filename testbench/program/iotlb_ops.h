// IOTLB operations as data: what `iommusim iotlb-diff` generates, runs on two IOTLBs, shrinks and
// writes to (and reads from) a reproducer file, one operation a line:
//
//   lookup did=3 pasid=0x5 kind=nested vpn=0x1234
//   fill did=3 pasid=0x5 kind=nested level=size_2m vpn=0x1200 pfn=0x40000 perm=0x3f
//   invalidate scope=domain_range did=3 vpn=0x1000 am=9
//
// Numbers are decimal or 0x-prefixed hex; kind, level and scope are the names of
// data/iotlb_codes.json (tlm/iotlb_codes.h). An invalidation names only the fields its scope uses
// (iotlb_scope_fields); the others are zero.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tlm/iotlb_if.h"

namespace iommusim::program {

struct iotlb_op {
    enum class type : uint8_t { lookup, fill, invalidate };
    type op = type::lookup;
    // lookup: tag.did, tag.pasid, tag.kind, tag.vpn (any address of the page); fill: the entry;
    // invalidate: tag.did, tag.pasid and tag.vpn as the scope uses them.
    iotlb_entry entry;
    iotlb_scope scope = iotlb_scope::all;  // invalidate only
    unsigned am = 0;                       // invalidate only
    bool operator==(const iotlb_op&) const = default;
};

// Runs the operation on an IOTLB.
void apply(iotlb_if& t, const iotlb_op& op);

// One line of the format above (no newline).
std::string format_op(const iotlb_op& op);
// Parses one line; std::nullopt with `error` naming the bad token.
std::optional<iotlb_op> parse_op(std::string_view line, std::string& error);

// The constrained random mix of iotlb-diff: lookups (most revisiting recent fills, anywhere in the
// page, some with a near-miss tag, some of idle domains that never fill), fills (same-tag refills,
// many tags in a few sets so sets fill up and evict, 2 MiB and 1 GiB pages, addresses up to the
// top of the 45-bit page-number space) and every invalidation scope (AMs from one page to ranges
// covering every set and the whole space, misaligned bases, ranges just before or just after a
// cached page, idle domains; one in twenty global). Deterministic per seed
// and geometry.
class iotlb_op_generator {
  public:
    iotlb_op_generator(uint64_t seed, iotlb_geometry geometry);
    iotlb_op next();

  private:
    uint64_t pick(uint64_t n) { return m_rng() % n; }
    uint16_t did();
    uint32_t pasid();
    translation_kind kind();
    page_level level();
    uint64_t page(page_level level);  // a page number aligned to the level
    iotlb_op lookup();
    iotlb_op fill();
    iotlb_op invalidate();

    std::mt19937_64 m_rng;
    iotlb_geometry m_geometry;
    unsigned m_set_bits = 0;
    std::vector<iotlb_tag> m_recent;  // ring of recently filled tags
    std::size_t m_next_recent = 0;
};

}  // namespace iommusim::program
