#include "tlm/descriptor_decoder.h"

namespace iommusim {

namespace {

using hw::inv_desc;
using hw::inv_type;

// Bits of words 0/1 outside the named fields, or any bit of words 2/3 in a 256-bit queue
// (docs/vtd-facts.md §2.3, §3.9).
bool reserved_set(const inv_desc& d, const inv_desc& allowed, bool wide) {
    if ((d[0] & ~allowed[0]) != 0 || (d[1] & ~allowed[1]) != 0) {
        return true;
    }
    return wide && (d[2] != 0 || d[3] != 0);
}

// PFSID (types 3 and 8) is reserved unless ECAP.DIT (docs/vtd-facts.md §3.3, §3.9).
template <typename pfsid_lo, typename pfsid_hi>
bool pfsid_reserved(const inv_desc& d, const decode_caps& caps) {
    return !caps.dit && (pfsid_lo::get(d) != 0 || pfsid_hi::get(d) != 0);
}

bool did_supported(uint64_t did, const decode_caps& caps) {
    const unsigned bits = 4 + 2 * caps.nd;
    return bits >= 16 || (did >> bits) == 0;
}

// Fills o and returns iqei::none, or returns the IQEI code (o is then partly written).
uint8_t decode_fields(const inv_desc& d, bool wide, const decode_caps& caps, decoded_desc& o) {
    const unsigned type = hw::desc::type_of(d);
    switch (type) {
        case static_cast<unsigned>(inv_type::context_cache): {
            namespace f = hw::cc_desc;
            if (reserved_set(d, f::allowed, wide)) {
                return iqei::reserved_field;
            }
            const uint64_t g = f::g::get(d);
            if (g == 0 || !did_supported(f::did::get(d), caps)) {
                return iqei::reserved_field;
            }
            o.type = inv_type::context_cache;
            o.scope.did = static_cast<uint16_t>(f::did::get(d));
            o.scope.sid = static_cast<uint16_t>(f::sid::get(d));
            o.scope.fm = static_cast<uint8_t>(f::fm::get(d));
            // Scalable-mode context entries carry no DID: domain-selective is global (§3.1).
            o.scope.kind = g == f::device ? scope_kind::context_device : scope_kind::context_all;
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::iotlb): {
            namespace f = hw::iotlb_desc;
            if (reserved_set(d, f::allowed, wide)) {
                return iqei::reserved_field;
            }
            const uint64_t g = f::g::get(d);
            if (g == 0 || !did_supported(f::did::get(d), caps)) {
                return iqei::reserved_field;
            }
            o.type = inv_type::iotlb;
            o.scope.did = static_cast<uint16_t>(f::did::get(d));
            const auto am = static_cast<unsigned>(f::am::get(d));
            o.scope.ih = f::ih::get(d) != 0;
            o.scope.range = page_range::of_address(f::addr::get(d) << 12, am);
            o.drain = f::dr::get(d) != 0 || f::dw::get(d) != 0;
            if (g == f::page && am > caps.mamv) {
                return iqei::reserved_field;
            }
            if (g == f::global) {
                o.scope.kind = scope_kind::iotlb_all;
            } else if (g == f::domain || !caps.psi) {
                o.scope.kind = scope_kind::iotlb_domain;
            } else {
                o.scope.kind = scope_kind::iotlb_domain_range;
            }
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::dev_tlb): {
            namespace f = hw::dev_tlb_desc;
            if (!caps.dt) {
                return iqei::invalid_type;  // no device-TLB support (ECAP.DT=0)
            }
            if (reserved_set(d, f::allowed, wide) || pfsid_reserved<f::pfsid_lo, f::pfsid_hi>(d, caps)) {
                return iqei::reserved_field;
            }
            o.type = inv_type::dev_tlb;
            o.scope.kind = scope_kind::devtlb;
            o.scope.sid = static_cast<uint16_t>(f::sid::get(d));
            o.mip = static_cast<uint8_t>(f::mip::get(d));
            o.pfsid = static_cast<uint16_t>(f::pfsid_lo::get(d) | (f::pfsid_hi::get(d) << 4));
            o.dev_length = hw::ats_inv_range(f::addr::get(d) << 12, f::s::get(d) != 0, o.dev_base);
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::iec): {
            namespace f = hw::iec_desc;
            if (!caps.ir) {
                return iqei::invalid_type;  // no interrupt remapping (ECAP.IR=0)
            }
            if (reserved_set(d, f::allowed, wide)) {
                return iqei::reserved_field;
            }
            o.type = inv_type::iec;
            o.scope.kind = f::g::get(d) != 0 ? scope_kind::iec_index : scope_kind::iec_all;
            o.iidx = static_cast<uint16_t>(f::iidx::get(d));
            o.im = static_cast<uint8_t>(f::im::get(d));
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::wait): {
            namespace f = hw::wait_desc;
            if (reserved_set(d, f::allowed, wide)) {
                return iqei::reserved_field;
            }
            if (f::pd::get(d) != 0 && !caps.pds) {
                return iqei::reserved_field;
            }
            o.type = inv_type::wait;
            o.scope.kind = scope_kind::wait;
            o.iflag = f::if_::get(d) != 0;
            o.sw = f::sw::get(d) != 0;
            o.fn = f::fn::get(d) != 0;
            o.pd = f::pd::get(d) != 0;
            o.status_data = static_cast<uint32_t>(f::status_data::get(d));
            o.status_addr = f::status_addr::get(d) << 2;
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::pasid_iotlb): {
            namespace f = hw::p_iotlb_desc;
            // Scalable-mode-only type: unknown in legacy mode or in a 128-bit queue (§2.3).
            if (!wide || !caps.scalable_mode) {
                return iqei::invalid_type;
            }
            if (reserved_set(d, f::allowed, wide)) {
                return iqei::reserved_field;
            }
            const uint64_t g = f::g::get(d);
            if (g < f::pasid_all || !did_supported(f::did::get(d), caps)) {
                return iqei::reserved_field;
            }
            o.type = inv_type::pasid_iotlb;
            o.scope.did = static_cast<uint16_t>(f::did::get(d));
            o.scope.pasid = static_cast<uint32_t>(f::pasid::get(d));
            const auto am = static_cast<unsigned>(f::am::get(d));
            o.scope.ih = f::ih::get(d) != 0;
            o.scope.range = page_range::of_address(f::addr::get(d) << 12, am);
            // CAP.MAMV bounds page-selective invalidation of second-stage translations (type 2)
            // only; a first-stage range may be as large as the field allows. Linux 6.10-6.16 sent a
            // whole-space type-6 request with AM = 52 (docs/iommufd-facts.md §4.3).
            o.scope.kind = g == f::page ? scope_kind::iotlb_pasid_range : scope_kind::iotlb_pasid;
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::pasid_cache): {
            namespace f = hw::pc_desc;
            if (!wide || !caps.scalable_mode) {
                return iqei::invalid_type;
            }
            if (reserved_set(d, f::allowed, wide)) {
                return iqei::reserved_field;
            }
            const uint64_t g = f::g::get(d);
            if (g == 2 || !did_supported(f::did::get(d), caps)) {
                return iqei::reserved_field;
            }
            o.type = inv_type::pasid_cache;
            o.scope.did = static_cast<uint16_t>(f::did::get(d));
            o.scope.pasid = static_cast<uint32_t>(f::pasid::get(d));
            o.scope.kind = g == f::global   ? scope_kind::pasid_cache_all
                           : g == f::domain ? scope_kind::pasid_cache_domain
                                            : scope_kind::pasid_cache_pasid;
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::pasid_dev_tlb): {
            namespace f = hw::p_dev_tlb_desc;
            if (!wide || !caps.scalable_mode || !caps.dt) {
                return iqei::invalid_type;
            }
            if (reserved_set(d, f::allowed, wide) || pfsid_reserved<f::pfsid_lo, f::pfsid_hi>(d, caps)) {
                return iqei::reserved_field;
            }
            o.type = inv_type::pasid_dev_tlb;
            o.scope.kind = scope_kind::devtlb_pasid;
            o.scope.sid = static_cast<uint16_t>(f::sid::get(d));
            o.scope.pasid = static_cast<uint32_t>(f::pasid::get(d));
            o.all_pasids = f::g::get(d) != 0;
            o.mip = static_cast<uint8_t>(f::mip::get(d));
            o.pfsid = static_cast<uint16_t>(f::pfsid_lo::get(d) | (f::pfsid_hi::get(d) << 4));
            o.dev_length = hw::ats_inv_range(f::addr::get(d) << 12, f::s::get(d) != 0, o.dev_base);
            return iqei::none;
        }
        case static_cast<unsigned>(inv_type::page_group_response): {
            namespace f = hw::pgrp_resp_desc;
            if (!caps.prs || !caps.scalable_mode) {
                return iqei::invalid_type;
            }
            // Words 2-3 carry the request's private data back: not reserved.
            if ((d[0] & ~f::allowed[0]) != 0 || (d[1] & ~f::allowed[1]) != 0) {
                return iqei::reserved_field;
            }
            o.type = inv_type::page_group_response;
            o.scope.kind = scope_kind::none;
            o.scope.sid = static_cast<uint16_t>(f::rid::get(d));
            o.scope.pasid = static_cast<uint32_t>(f::pasid::get(d));
            o.pasid_present = f::pp::get(d) != 0;
            o.prg_index = static_cast<uint16_t>(f::prgi::get(d));
            o.response_code = static_cast<uint8_t>(f::rc::get(d));
            o.lpig = f::lpig::get(d) != 0;
            return iqei::none;
        }
        default:
            // 0, page stream responses (type 10) and undefined types.
            return iqei::invalid_type;
    }
}

}  // namespace

// One named result filled in place (the caller's object): no copy of the decoded fields.
decode_result descriptor_decoder::decode(const inv_desc& d, bool wide, const decode_caps& caps) {
    decode_result r;
    r.iqei = decode_fields(d, wide, caps, r.desc);
    if (r.iqei != iqei::none) {
        r.desc = decoded_desc{};  // a refused descriptor carries no fields
    }
    return r;
}

}  // namespace iommusim
