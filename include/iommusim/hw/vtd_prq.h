// Page request descriptors (docs/vtd-facts.md §3.11): the 256-bit records the remapping unit writes
// into the page request queue at PQT for each PCIe page request it receives (Linux
// drivers/iommu/intel/prq.c struct page_req_dsc). One definition for the model, the driver and
// the tests.
#pragma once

#include <array>
#include <cstdint>

#include "iommusim/hw/bits.h"

namespace iommusim::hw {

using page_req_desc = std::array<uint64_t, 4>;
constexpr unsigned page_req_desc_bytes = 32;

namespace prq_desc {
constexpr uint64_t type_page_request = 0x1;
using type = bit_field<7, 0>;
using pp = bit_flag<8>;  // PASID present
using rid = bit_field<31, 16>;
using pasid = bit_field<51, 32>;
using er = bit_flag<52>;   // execute requested
using pmr = bit_flag<53>;  // privileged mode requested
using rdr = bit_flag<64>;  // read requested
using wrr = bit_flag<65>;  // write requested
using lpig = bit_flag<66>;
using prgi = bit_field<75, 67>;   // page request group index
using addr = bit_field<127, 76>;  // page address >> 12
using prv_lo = bit_field<191, 128>;
using prv_hi = bit_field<255, 192>;
}  // namespace prq_desc

// What a page request carries (PCIe Page Request Message plus its PASID prefix).
struct page_request_fields {
    uint16_t rid = 0;
    bool pasid_present = false;
    uint32_t pasid = 0;
    bool exec = false;
    bool priv = false;
    bool read = false;
    bool write = false;
    bool last_in_group = false;
    uint16_t prg_index = 0;  // 9 bits
    uint64_t addr = 0;       // page address (bits 11:0 ignored)
};

inline page_req_desc make_page_req(const page_request_fields& f) {
    page_req_desc d{};
    prq_desc::type::set(d, prq_desc::type_page_request);
    prq_desc::pp::set(d, f.pasid_present);
    prq_desc::rid::set(d, f.rid);
    prq_desc::pasid::set(d, f.pasid_present ? f.pasid : 0);
    prq_desc::er::set(d, f.exec);
    prq_desc::pmr::set(d, f.priv);
    prq_desc::rdr::set(d, f.read);
    prq_desc::wrr::set(d, f.write);
    prq_desc::lpig::set(d, f.last_in_group);
    prq_desc::prgi::set(d, f.prg_index & 0x1ff);
    prq_desc::addr::set(d, f.addr >> 12);
    return d;
}

inline page_request_fields parse_page_req(const page_req_desc& d) {
    page_request_fields f;
    f.rid = static_cast<uint16_t>(prq_desc::rid::get(d));
    f.pasid_present = prq_desc::pp::get(d) != 0;
    f.pasid = static_cast<uint32_t>(prq_desc::pasid::get(d));
    f.exec = prq_desc::er::get(d) != 0;
    f.priv = prq_desc::pmr::get(d) != 0;
    f.read = prq_desc::rdr::get(d) != 0;
    f.write = prq_desc::wrr::get(d) != 0;
    f.last_in_group = prq_desc::lpig::get(d) != 0;
    f.prg_index = static_cast<uint16_t>(prq_desc::prgi::get(d));
    f.addr = prq_desc::addr::get(d) << 12;
    return f;
}

}  // namespace iommusim::hw
