// One invalidation scope: what a decoded invalidation descriptor does, as one value that the
// decoder emits, the queue engine hands to the translator, the translator fans out to its caches
// and its observers (DMI revocation) test with covers() (docs/vtd-facts.md §3, §6.2-6.5).
//
// A new scope is a kind here (with its name), its decode (tlm/descriptor_decoder.cc), its fan-out
// (translator::invalidate) and the per-cache method it calls.
#pragma once

#include <cstdint>

#include "tlm/iotlb_codes.h"  // translation_kind
#include "tlm/page_range.h"

namespace iommusim {

// Every scope a descriptor can have, one per descriptor; the order is that of the queue's
// per-scope statistics. context_* .. iotlb_* drop translation-cache entries; the others are
// handled by the queue engine itself.
enum class scope_kind : uint8_t {
    none = 0,
    context_all,         // type 1 G=01, and G=10 (domain-selective is global in scalable mode)
    context_device,      // type 1 G=11: sid, fm
    pasid_cache_all,     // type 7 G=11
    pasid_cache_domain,  // type 7 G=00: did
    pasid_cache_pasid,   // type 7 G=01: did, pasid
    iotlb_all,           // type 2 G=01
    iotlb_domain,        // type 2 G=10 (and G=11 without CAP.PSI): did
    iotlb_domain_range,  // type 2 G=11: did, range, ih
    iotlb_pasid,         // type 6 G=10: did, pasid
    iotlb_pasid_range,   // type 6 G=11: did, pasid, range, ih
    devtlb,              // type 3: sid
    devtlb_pasid,        // type 8: sid, pasid
    iec_all,             // type 4 G=0
    iec_index,           // type 4 G=1
    wait,                // type 5
};
constexpr unsigned scope_kind_count = static_cast<unsigned>(scope_kind::wait) + 1;
const char* scope_kind_name(scope_kind k);

struct invalidation_scope {
    scope_kind kind = scope_kind::none;
    uint16_t did = 0;
    uint32_t pasid = 0;
    uint16_t sid = 0;
    uint8_t fm = 0;      // context_device: function mask, the low function-number bits of sid ignored (§3.1)
    bool ih = false;     // *_range kinds: only leaves changed, paging-structure caches may stay (§6.4)
    page_range range{};  // *_range kinds (last: 32 bytes without padding inside)

    // True when a translation of requester sid for did/pasid/kind over [in_addr, in_addr+bytes)
    // could depend on what this scope dropped.
    bool covers(uint16_t sid, uint16_t did, uint32_t pasid, translation_kind kind, uint64_t in_addr,
                uint64_t bytes) const;
};

// What the queue engine applies a scope to (the translator); returns the entries dropped, 0 for
// the kinds that are no translation-cache scope.
class invalidation_target {
  public:
    virtual ~invalidation_target() = default;
    virtual unsigned invalidate(const invalidation_scope& scope) = 0;
};

}  // namespace iommusim
