#include "tlm/descriptor_decoder.h"

namespace iommusim {

namespace {

using hw::inv_desc;
using hw::inv_type;

// Bits of words 0/1 outside the named fields, or any bit of words 2/3 in a 256-bit queue
// (docs/vtd-facts.md §2.3, §3.9).
bool reserved_set(const inv_desc& d, const inv_desc& allowed, bool wide) {
    if ((d[0] & ~allowed[0]) != 0 || (d[1] & ~allowed[1]) != 0)
        return true;
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

decode_result fail(uint8_t code) {
    decode_result r;
    r.iqei = code;
    return r;
}

}  // namespace

const char* qi_scope_name(qi_scope s) {
    switch (s) {
        case qi_scope::none:
            return "none";
        case qi_scope::context_all:
            return "context_all";
        case qi_scope::context_device:
            return "context_device";
        case qi_scope::pasid_cache_all:
            return "pasid_cache_all";
        case qi_scope::pasid_cache_domain:
            return "pasid_cache_domain";
        case qi_scope::pasid_cache_pasid:
            return "pasid_cache_pasid";
        case qi_scope::iotlb_all:
            return "iotlb_all";
        case qi_scope::iotlb_domain:
            return "iotlb_domain";
        case qi_scope::iotlb_domain_range:
            return "iotlb_domain_range";
        case qi_scope::iotlb_pasid:
            return "iotlb_pasid";
        case qi_scope::iotlb_pasid_range:
            return "iotlb_pasid_range";
        case qi_scope::devtlb:
            return "devtlb";
        case qi_scope::devtlb_pasid:
            return "devtlb_pasid";
        case qi_scope::iec_all:
            return "iec_all";
        case qi_scope::iec_index:
            return "iec_index";
        case qi_scope::wait:
            return "wait";
    }
    return "?";
}

decode_result descriptor_decoder::decode(const inv_desc& d, bool wide, const decode_caps& caps) {
    const unsigned type = hw::desc::type_of(d);
    decode_result r;
    decoded_desc& o = r.desc;
    switch (type) {
        case static_cast<unsigned>(inv_type::context_cache): {
            namespace f = hw::cc_desc;
            if (reserved_set(d, f::allowed, wide))
                return fail(iqei::reserved_field);
            const uint64_t g = f::g::get(d);
            if (g == 0 || !did_supported(f::did::get(d), caps))
                return fail(iqei::reserved_field);
            o.type = inv_type::context_cache;
            o.did = static_cast<uint16_t>(f::did::get(d));
            o.sid = static_cast<uint16_t>(f::sid::get(d));
            o.fm = static_cast<uint8_t>(f::fm::get(d));
            // Scalable-mode context entries carry no DID: domain-selective is global (§3.1).
            o.scope = g == f::device ? qi_scope::context_device : qi_scope::context_all;
            return r;
        }
        case static_cast<unsigned>(inv_type::iotlb): {
            namespace f = hw::iotlb_desc;
            if (reserved_set(d, f::allowed, wide))
                return fail(iqei::reserved_field);
            const uint64_t g = f::g::get(d);
            if (g == 0 || !did_supported(f::did::get(d), caps))
                return fail(iqei::reserved_field);
            o.type = inv_type::iotlb;
            o.did = static_cast<uint16_t>(f::did::get(d));
            o.am = static_cast<uint8_t>(f::am::get(d));
            o.ih = f::ih::get(d) != 0;
            o.addr = f::addr::get(d) << 12;
            o.drain = f::dr::get(d) != 0 || f::dw::get(d) != 0;
            if (g == f::page && o.am > caps.mamv)
                return fail(iqei::reserved_field);
            if (g == f::global)
                o.scope = qi_scope::iotlb_all;
            else if (g == f::domain || !caps.psi)
                o.scope = qi_scope::iotlb_domain;
            else
                o.scope = qi_scope::iotlb_domain_range;
            return r;
        }
        case static_cast<unsigned>(inv_type::dev_tlb): {
            namespace f = hw::dev_tlb_desc;
            if (!caps.dt)
                return fail(iqei::invalid_type);  // no device-TLB support (ECAP.DT=0)
            if (reserved_set(d, f::allowed, wide) || pfsid_reserved<f::pfsid_lo, f::pfsid_hi>(d, caps))
                return fail(iqei::reserved_field);
            o.type = inv_type::dev_tlb;
            o.scope = qi_scope::devtlb;
            o.sid = static_cast<uint16_t>(f::sid::get(d));
            o.mip = static_cast<uint8_t>(f::mip::get(d));
            o.pfsid = static_cast<uint16_t>(f::pfsid_lo::get(d) | (f::pfsid_hi::get(d) << 4));
            o.dev_length = hw::ats_inv_range(f::addr::get(d) << 12, f::s::get(d) != 0, o.dev_base);
            return r;
        }
        case static_cast<unsigned>(inv_type::iec): {
            namespace f = hw::iec_desc;
            if (!caps.ir)
                return fail(iqei::invalid_type);  // no interrupt remapping (ECAP.IR=0)
            if (reserved_set(d, f::allowed, wide))
                return fail(iqei::reserved_field);
            o.type = inv_type::iec;
            o.scope = f::g::get(d) != 0 ? qi_scope::iec_index : qi_scope::iec_all;
            o.iidx = static_cast<uint16_t>(f::iidx::get(d));
            o.im = static_cast<uint8_t>(f::im::get(d));
            return r;
        }
        case static_cast<unsigned>(inv_type::wait): {
            namespace f = hw::wait_desc;
            if (reserved_set(d, f::allowed, wide))
                return fail(iqei::reserved_field);
            if (f::pd::get(d) != 0 && !caps.pds)
                return fail(iqei::reserved_field);
            o.type = inv_type::wait;
            o.scope = qi_scope::wait;
            o.iflag = f::if_::get(d) != 0;
            o.sw = f::sw::get(d) != 0;
            o.fn = f::fn::get(d) != 0;
            o.pd = f::pd::get(d) != 0;
            o.status_data = static_cast<uint32_t>(f::status_data::get(d));
            o.status_addr = f::status_addr::get(d) << 2;
            return r;
        }
        case static_cast<unsigned>(inv_type::pasid_iotlb): {
            namespace f = hw::p_iotlb_desc;
            // Scalable-mode-only type: unknown in legacy mode or in a 128-bit queue (§2.3).
            if (!wide || !caps.scalable_mode)
                return fail(iqei::invalid_type);
            if (reserved_set(d, f::allowed, wide))
                return fail(iqei::reserved_field);
            const uint64_t g = f::g::get(d);
            if (g < f::pasid_all || !did_supported(f::did::get(d), caps))
                return fail(iqei::reserved_field);
            o.type = inv_type::pasid_iotlb;
            o.did = static_cast<uint16_t>(f::did::get(d));
            o.pasid = static_cast<uint32_t>(f::pasid::get(d));
            o.am = static_cast<uint8_t>(f::am::get(d));
            o.ih = f::ih::get(d) != 0;
            o.addr = f::addr::get(d) << 12;
            // CAP.MAMV bounds page-selective invalidation of second-stage translations (type 2)
            // only; a first-stage range may be as large as the field allows. Linux 6.10-6.16 sent a
            // whole-space type-6 request with AM = 52 (docs/iommufd-facts.md §4.3).
            o.scope = g == f::page ? qi_scope::iotlb_pasid_range : qi_scope::iotlb_pasid;
            return r;
        }
        case static_cast<unsigned>(inv_type::pasid_cache): {
            namespace f = hw::pc_desc;
            if (!wide || !caps.scalable_mode)
                return fail(iqei::invalid_type);
            if (reserved_set(d, f::allowed, wide))
                return fail(iqei::reserved_field);
            const uint64_t g = f::g::get(d);
            if (g == 2 || !did_supported(f::did::get(d), caps))
                return fail(iqei::reserved_field);
            o.type = inv_type::pasid_cache;
            o.did = static_cast<uint16_t>(f::did::get(d));
            o.pasid = static_cast<uint32_t>(f::pasid::get(d));
            o.scope = g == f::global   ? qi_scope::pasid_cache_all
                      : g == f::domain ? qi_scope::pasid_cache_domain
                                       : qi_scope::pasid_cache_pasid;
            return r;
        }
        case static_cast<unsigned>(inv_type::pasid_dev_tlb): {
            namespace f = hw::p_dev_tlb_desc;
            if (!wide || !caps.scalable_mode || !caps.dt)
                return fail(iqei::invalid_type);
            if (reserved_set(d, f::allowed, wide) || pfsid_reserved<f::pfsid_lo, f::pfsid_hi>(d, caps))
                return fail(iqei::reserved_field);
            o.type = inv_type::pasid_dev_tlb;
            o.scope = qi_scope::devtlb_pasid;
            o.sid = static_cast<uint16_t>(f::sid::get(d));
            o.pasid = static_cast<uint32_t>(f::pasid::get(d));
            o.all_pasids = f::g::get(d) != 0;
            o.mip = static_cast<uint8_t>(f::mip::get(d));
            o.pfsid = static_cast<uint16_t>(f::pfsid_lo::get(d) | (f::pfsid_hi::get(d) << 4));
            o.dev_length = hw::ats_inv_range(f::addr::get(d) << 12, f::s::get(d) != 0, o.dev_base);
            return r;
        }
        default:
            // 0, page group/stream responses (no page requests modelled) and undefined types.
            return fail(iqei::invalid_type);
    }
}

unsigned descriptor_decoder::apply(const decoded_desc& d, invalidation_sink& sink) {
    switch (d.scope) {
        case qi_scope::context_all:
            return sink.invalidate_context_all();
        case qi_scope::context_device:
            return sink.invalidate_context_device(d.sid, d.fm);
        case qi_scope::pasid_cache_all:
            return sink.invalidate_pasid_cache_all();
        case qi_scope::pasid_cache_domain:
            return sink.invalidate_pasid_cache_domain(d.did);
        case qi_scope::pasid_cache_pasid:
            return sink.invalidate_pasid_cache_pasid(d.did, d.pasid);
        case qi_scope::iotlb_all:
            return sink.invalidate_iotlb_all();
        case qi_scope::iotlb_domain:
            return sink.invalidate_iotlb_domain(d.did);
        case qi_scope::iotlb_domain_range:
            return sink.invalidate_iotlb_domain_range(d.did, d.addr, d.am, d.ih);
        case qi_scope::iotlb_pasid:
            return sink.invalidate_iotlb_pasid(d.did, d.pasid);
        case qi_scope::iotlb_pasid_range:
            return sink.invalidate_iotlb_pasid_range(d.did, d.pasid, d.addr, d.am, d.ih);
        case qi_scope::none:
        case qi_scope::devtlb:
        case qi_scope::devtlb_pasid:
        case qi_scope::iec_all:
        case qi_scope::iec_index:
        case qi_scope::wait:
            return 0;
    }
    return 0;
}

}  // namespace iommusim
