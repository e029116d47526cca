#include "tlm/invalidation_scope.h"

namespace iommusim {

namespace {

bool stage2_kind(translation_kind k) {
    return k == translation_kind::second_stage || k == translation_kind::pass_through;
}

// Compares on the 57-bit input key the IOTLB uses (upper-half canonical addresses included).
bool range_covers(const page_range& r, uint64_t in_addr, uint64_t bytes) {
    in_addr &= (uint64_t{1} << page_range::input_address_bits) - 1;
    const uint64_t first = in_addr >> 12;
    return r.covers(first, ((in_addr + bytes - 1) >> 12) - first + 1);
}

}  // namespace

const char* scope_kind_name(scope_kind k) {
    switch (k) {
        case scope_kind::none:
            return "none";
        case scope_kind::context_all:
            return "context_all";
        case scope_kind::context_device:
            return "context_device";
        case scope_kind::pasid_cache_all:
            return "pasid_cache_all";
        case scope_kind::pasid_cache_domain:
            return "pasid_cache_domain";
        case scope_kind::pasid_cache_pasid:
            return "pasid_cache_pasid";
        case scope_kind::iotlb_all:
            return "iotlb_all";
        case scope_kind::iotlb_domain:
            return "iotlb_domain";
        case scope_kind::iotlb_domain_range:
            return "iotlb_domain_range";
        case scope_kind::iotlb_pasid:
            return "iotlb_pasid";
        case scope_kind::iotlb_pasid_range:
            return "iotlb_pasid_range";
        case scope_kind::devtlb:
            return "devtlb";
        case scope_kind::devtlb_pasid:
            return "devtlb_pasid";
        case scope_kind::iec_all:
            return "iec_all";
        case scope_kind::iec_index:
            return "iec_index";
        case scope_kind::wait:
            return "wait";
    }
    return "?";
}

bool invalidation_scope::covers(uint16_t s, uint16_t d, uint32_t p, translation_kind k, uint64_t in_addr,
                                uint64_t bytes) const {
    switch (kind) {
        case scope_kind::context_all:
        case scope_kind::pasid_cache_all:
        case scope_kind::iotlb_all:
            return true;
        case scope_kind::context_device: {
            const unsigned f = fm & 3;
            const uint16_t ignore = static_cast<uint16_t>(((1u << f) - 1) << (3 - f));
            return ((s ^ sid) & ~ignore) == 0;
        }
        case scope_kind::pasid_cache_domain:
        case scope_kind::iotlb_domain:
            return d == did;
        case scope_kind::pasid_cache_pasid:
        case scope_kind::iotlb_pasid:
            return d == did && p == pasid;
        case scope_kind::iotlb_domain_range:
            return d == did && (!stage2_kind(k) || range_covers(range, in_addr, bytes));
        case scope_kind::iotlb_pasid_range:
            return d == did && p == pasid && !stage2_kind(k) && range_covers(range, in_addr, bytes);
        case scope_kind::none:
        case scope_kind::devtlb:
        case scope_kind::devtlb_pasid:
        case scope_kind::iec_all:
        case scope_kind::iec_index:
        case scope_kind::wait:
            return false;  // no translation-cache entry dropped
    }
    return true;
}

}  // namespace iommusim
