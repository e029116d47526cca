// Invalidation-queue descriptors (docs/vtd-facts.md §3). One definition used by the queue engine,
// the driver and the tests; descriptors are always built through the make_* functions here.
#pragma once

#include <array>
#include <cstdint>

#include "iommusim/hw/bits.h"

namespace iommusim::hw {

// A descriptor as it sits in the ring: 128-bit queues use words 0-1, 256-bit queues all four.
using inv_desc = std::array<uint64_t, 4>;

enum class inv_type : uint8_t {
    context_cache = 1,
    iotlb = 2,
    dev_tlb = 3,
    iec = 4,
    wait = 5,
    pasid_iotlb = 6,
    pasid_cache = 7,
    pasid_dev_tlb = 8,
    page_group_response = 9,
    page_stream_response = 10,
};

namespace desc {
using type_lo = bit_field<3, 0>;
using type_hi = bit_field<11, 9>;
constexpr unsigned type_of(const inv_desc& d) {
    return static_cast<unsigned>((type_hi::get(d) << 4) | type_lo::get(d));
}
inline void set_type(inv_desc& d, inv_type t) {
    type_lo::set(d, static_cast<uint64_t>(t) & 0xf);
    type_hi::set(d, static_cast<uint64_t>(t) >> 4);
}
}  // namespace desc

// Type 1: context-cache invalidate (§3.1).
namespace cc_desc {
using g = bit_field<5, 4>;
using did = bit_field<31, 16>;
using sid = bit_field<47, 32>;
using fm = bit_field<49, 48>;
enum granularity : uint8_t { global = 1, domain = 2, device = 3 };
constexpr inv_desc allowed = fields_mask<4, desc::type_lo, desc::type_hi, g, did, sid, fm>();
}  // namespace cc_desc

// Type 2: IOTLB invalidate (§3.2).
namespace iotlb_desc {
using g = bit_field<5, 4>;
using dw = bit_flag<6>;
using dr = bit_flag<7>;
using did = bit_field<31, 16>;
using am = bit_field<69, 64>;
using ih = bit_flag<70>;
using addr = bit_field<127, 76>;  // address >> 12
enum granularity : uint8_t { global = 1, domain = 2, page = 3 };
constexpr inv_desc allowed = fields_mask<4, desc::type_lo, desc::type_hi, g, dw, dr, did, am, ih, addr>();
}  // namespace iotlb_desc

// Type 3: device-TLB invalidate (§3.3).
namespace dev_tlb_desc {
using pfsid_lo = bit_field<15, 12>;
using mip = bit_field<20, 16>;
using sid = bit_field<47, 32>;
using pfsid_hi = bit_field<63, 52>;
using s = bit_flag<64>;
using addr = bit_field<127, 76>;
constexpr inv_desc allowed = fields_mask<4, desc::type_lo, desc::type_hi, pfsid_lo, mip, sid, pfsid_hi, s, addr>();
}  // namespace dev_tlb_desc

// Type 4: interrupt-entry-cache invalidate (§3.4).
namespace iec_desc {
using g = bit_flag<4>;  // 0 global, 1 index-selective
using im = bit_field<31, 27>;
using iidx = bit_field<47, 32>;
constexpr inv_desc allowed = fields_mask<4, desc::type_lo, desc::type_hi, g, im, iidx>();
}  // namespace iec_desc

// Type 5: invalidation wait (§3.5, §2.7).
namespace wait_desc {
using if_ = bit_flag<4>;
using sw = bit_flag<5>;
using fn = bit_flag<6>;
using pd = bit_flag<7>;
using status_data = bit_field<63, 32>;
using status_addr = bit_field<127, 66>;  // address >> 2
constexpr inv_desc allowed = fields_mask<4, desc::type_lo, desc::type_hi, if_, sw, fn, pd, status_data, status_addr>();
}  // namespace wait_desc

// Type 6: PASID-based IOTLB invalidate (§3.6, 256-bit only).
namespace p_iotlb_desc {
using g = bit_field<5, 4>;
using did = bit_field<31, 16>;
using pasid = bit_field<51, 32>;
using am = bit_field<69, 64>;
using ih = bit_flag<70>;
using addr = bit_field<127, 76>;
enum granularity : uint8_t { pasid_all = 2, page = 3 };
constexpr inv_desc allowed = fields_mask<4, desc::type_lo, desc::type_hi, g, did, pasid, am, ih, addr>();
}  // namespace p_iotlb_desc

// Type 7: PASID-cache invalidate (§3.7, 256-bit only).
namespace pc_desc {
using g = bit_field<5, 4>;
using did = bit_field<31, 16>;
using pasid = bit_field<51, 32>;
enum granularity : uint8_t { domain = 0, pasid_sel = 1, global = 3 };
constexpr inv_desc allowed = fields_mask<4, desc::type_lo, desc::type_hi, g, did, pasid>();
}  // namespace pc_desc

// Type 8: PASID-based device-TLB invalidate (§3.8, 256-bit only).
namespace p_dev_tlb_desc {
using mip = bit_field<8, 4>;
using pfsid_lo = bit_field<15, 12>;
using sid = bit_field<31, 16>;
using pasid = bit_field<51, 32>;
using pfsid_hi = bit_field<63, 52>;
using g = bit_flag<64>;
using s = bit_flag<75>;
using addr = bit_field<127, 76>;
constexpr inv_desc allowed =
    fields_mask<4, desc::type_lo, desc::type_hi, mip, pfsid_lo, sid, pasid, pfsid_hi, g, s, addr>();
}  // namespace p_dev_tlb_desc

// Type 9: page group response (docs/vtd-facts.md §3.10; Linux intel/iommu.h QI_PGRP_*). Answers
// the page request group PRGI of requester RID (with PASID when PP); words 2-3 may carry the
// request's private data back.
namespace pgrp_resp_desc {
using pp = bit_flag<4>;
using rc = bit_field<15, 12>;
using rid = bit_field<31, 16>;
using pasid = bit_field<51, 32>;
using lpig = bit_flag<66>;
using prgi = bit_field<75, 67>;
using prv_lo = bit_field<191, 128>;
using prv_hi = bit_field<255, 192>;
// Response codes (PCIe PRG Response Message).
enum code : uint8_t { success = 0x0, invalid_request = 0x1, failure = 0xf };
constexpr inv_desc allowed =
    fields_mask<4, desc::type_lo, desc::type_hi, pp, rc, rid, pasid, lpig, prgi, prv_lo, prv_hi>();
}  // namespace pgrp_resp_desc

// ---- Builders -----------------------------------------------------------------------------------

inline inv_desc make_cc_inv(cc_desc::granularity g, uint16_t did = 0, uint16_t sid = 0, uint8_t fm = 0) {
    inv_desc d{};
    desc::set_type(d, inv_type::context_cache);
    cc_desc::g::set(d, g);
    cc_desc::did::set(d, did);
    cc_desc::sid::set(d, sid);
    cc_desc::fm::set(d, fm);
    return d;
}

inline inv_desc make_iotlb_inv(iotlb_desc::granularity g, uint16_t did = 0, uint64_t addr = 0, uint8_t am = 0,
                               bool ih = false, bool drain = false) {
    inv_desc d{};
    desc::set_type(d, inv_type::iotlb);
    iotlb_desc::g::set(d, g);
    iotlb_desc::did::set(d, did);
    iotlb_desc::dr::set(d, drain);
    iotlb_desc::dw::set(d, drain);
    iotlb_desc::am::set(d, am);
    iotlb_desc::ih::set(d, ih);
    iotlb_desc::addr::set(d, addr >> 12);
    return d;
}

// `size_bit` = S; with S=1 the size is encoded in the low address bits (ATS rule).
inline inv_desc make_dev_tlb_inv(uint16_t sid, uint64_t addr, bool size_bit, uint8_t mip = 0, uint16_t pfsid = 0) {
    inv_desc d{};
    desc::set_type(d, inv_type::dev_tlb);
    dev_tlb_desc::sid::set(d, sid);
    dev_tlb_desc::mip::set(d, mip);
    dev_tlb_desc::pfsid_lo::set(d, pfsid & 0xf);
    dev_tlb_desc::pfsid_hi::set(d, pfsid >> 4);
    dev_tlb_desc::s::set(d, size_bit);
    dev_tlb_desc::addr::set(d, addr >> 12);
    return d;
}

inline inv_desc make_iec_inv(bool index_selective, uint16_t iidx = 0, uint8_t im = 0) {
    inv_desc d{};
    desc::set_type(d, inv_type::iec);
    iec_desc::g::set(d, index_selective);
    iec_desc::iidx::set(d, iidx);
    iec_desc::im::set(d, im);
    return d;
}

// `page_drain`: PD, only with ECAP.PDS (docs/vtd-facts.md §10.4).
inline inv_desc make_wait(bool status_write, uint64_t status_addr, uint32_t status_data, bool interrupt = false,
                          bool fence = false, bool page_drain = false) {
    inv_desc d{};
    desc::set_type(d, inv_type::wait);
    wait_desc::sw::set(d, status_write);
    wait_desc::if_::set(d, interrupt);
    wait_desc::fn::set(d, fence);
    wait_desc::pd::set(d, page_drain);
    wait_desc::status_data::set(d, status_data);
    wait_desc::status_addr::set(d, status_addr >> 2);
    return d;
}

inline inv_desc make_p_iotlb_inv(p_iotlb_desc::granularity g, uint16_t did, uint32_t pasid, uint64_t addr = 0,
                                 uint8_t am = 0, bool ih = false) {
    inv_desc d{};
    desc::set_type(d, inv_type::pasid_iotlb);
    p_iotlb_desc::g::set(d, g);
    p_iotlb_desc::did::set(d, did);
    p_iotlb_desc::pasid::set(d, pasid);
    p_iotlb_desc::am::set(d, am);
    p_iotlb_desc::ih::set(d, ih);
    p_iotlb_desc::addr::set(d, addr >> 12);
    return d;
}

inline inv_desc make_pc_inv(pc_desc::granularity g, uint16_t did = 0, uint32_t pasid = 0) {
    inv_desc d{};
    desc::set_type(d, inv_type::pasid_cache);
    pc_desc::g::set(d, g);
    pc_desc::did::set(d, did);
    pc_desc::pasid::set(d, pasid);
    return d;
}

inline inv_desc make_p_dev_tlb_inv(uint16_t sid, uint32_t pasid, bool all_pasids, uint64_t addr, bool size_bit,
                                   uint8_t mip = 0, uint16_t pfsid = 0) {
    inv_desc d{};
    desc::set_type(d, inv_type::pasid_dev_tlb);
    p_dev_tlb_desc::sid::set(d, sid);
    p_dev_tlb_desc::pasid::set(d, pasid);
    p_dev_tlb_desc::g::set(d, all_pasids);
    p_dev_tlb_desc::s::set(d, size_bit);
    p_dev_tlb_desc::addr::set(d, addr >> 12);
    p_dev_tlb_desc::mip::set(d, mip);
    p_dev_tlb_desc::pfsid_lo::set(d, pfsid & 0xf);
    p_dev_tlb_desc::pfsid_hi::set(d, pfsid >> 4);
    return d;
}

// ATS invalidation size (S=1): the lowest clear bit of ADDR[63:12] gives the range; all ones = everything.
// Returns the byte length covered by a device-TLB invalidation, and its aligned base in `base`.
constexpr uint64_t ats_inv_range(uint64_t addr, bool size_bit, uint64_t& base) {
    const uint64_t pfn = addr >> 12;
    if (!size_bit) {
        base = pfn << 12;
        return uint64_t{1} << 12;
    }
    const uint64_t ones = ~pfn;
    if ((ones & low_mask(52)) == 0) {  // ADDR[63:12] all ones: whole address space
        base = 0;
        return 0;  // 0 means "all"
    }
    unsigned k = 0;
    while (((pfn >> k) & 1) != 0) {
        ++k;  // k trailing ones -> 2^(k+1) pages
    }
    const uint64_t pages = uint64_t{1} << (k + 1);
    base = (pfn & ~(pages - 1)) << 12;
    return pages << 12;
}

inline inv_desc make_pgrp_resp(uint16_t rid, bool pasid_present, uint32_t pasid, uint16_t prg_index, bool lpig,
                               uint8_t code) {
    inv_desc d{};
    desc::set_type(d, inv_type::page_group_response);
    pgrp_resp_desc::pp::set(d, pasid_present);
    pgrp_resp_desc::rc::set(d, code);
    pgrp_resp_desc::rid::set(d, rid);
    pgrp_resp_desc::pasid::set(d, pasid);
    pgrp_resp_desc::lpig::set(d, lpig);
    pgrp_resp_desc::prgi::set(d, prg_index);
    return d;
}

}  // namespace iommusim::hw
