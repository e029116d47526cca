// Scalable-mode translation structures (VT-d spec rev 3.x+, chapter 9; docs/vtd-facts.md §4).
// Fields are absolute bit numbers within the structure; see bits.h.
#pragma once

#include <array>
#include <cstdint>

#include "iommusim/hw/bits.h"

namespace iommusim::hw {

constexpr uint64_t page_shift = 12;
constexpr uint64_t page_size_4k = uint64_t{1} << page_shift;

// The interrupt address range 0xFEE0_0000-0xFEEF_FFFF (docs/vtd-facts.md §5.6): requests without
// PASID there are interrupt requests, and no translation may output into it.
constexpr uint64_t interrupt_window_base = 0xFEE0'0000;
constexpr uint64_t interrupt_window_end = 0xFEF0'0000;  // exclusive
constexpr bool overlaps_interrupt_window(uint64_t base, uint64_t bytes) {
    return base < interrupt_window_end && interrupt_window_base < base + bytes;
}

// Root table: 4 KiB, 256 x 128-bit entries indexed by bus (§4.1).
namespace root_entry {
using words = std::array<uint64_t, 2>;
constexpr unsigned count = 256;
constexpr unsigned bytes = 16;
using lp = bit_flag<0>;           // lower context table present (devfn 0-127)
using lctp = bit_field<63, 12>;   // lower context-table pointer >> 12
using up = bit_flag<64>;          // upper context table present (devfn 128-255)
using uctp = bit_field<127, 76>;  // upper context-table pointer >> 12 (bits 127:76 hold address bits 63:12)
// Every bit that is not one of the fields above is reserved (SRT.3).
constexpr words reserved_mask = {~(lp::mask | lctp::mask), ~(up::mask | uctp::mask)};
}  // namespace root_entry

// Scalable-mode context entry: 256-bit, 128 per context table indexed by devfn[6:0] (§4.2).
namespace context_entry {
using words = std::array<uint64_t, 4>;
constexpr unsigned per_table = 128;
constexpr unsigned bytes = 32;
using p = bit_flag<0>;
using fpd = bit_flag<1>;
using dte = bit_flag<2>;
using paside = bit_flag<3>;
using pre = bit_flag<4>;
using pdts = bit_field<11, 9>;          // PASID directory holds 2^(PDTS+7) entries
using pasiddirptr = bit_field<63, 12>;  // PASID directory base >> 12
using rid_pasid = bit_field<83, 64>;
using rid_priv = bit_flag<84>;
constexpr words reserved_mask = {bit_field<8, 5>::mask, bit_field<127, 85>::mask, ~uint64_t{0}, ~uint64_t{0}};
}  // namespace context_entry

// PASID directory entry: 64-bit, 512 per 4 KiB page, indexed by PASID[19:6] (§4.3).
namespace pasid_dir_entry {
constexpr unsigned bytes = 8;
using p = bit_flag<0>;
using fpd = bit_flag<1>;
using smptblptr = bit_field<63, 12>;  // PASID table base >> 12
constexpr uint64_t reserved_mask = bit_field<11, 2>::mask;
}  // namespace pasid_dir_entry

// PASID-granular translation type (PASID entry bits 8:6).
enum class pgtt : uint8_t {
    first_stage = 0b001,
    second_stage = 0b010,
    nested = 0b011,
    pass_through = 0b100,
};

// PASID table entry: 512-bit, 64 per 4 KiB page, indexed by PASID[5:0] (§4.4).
namespace pasid_entry {
using words = std::array<uint64_t, 8>;
constexpr unsigned per_table = 64;
constexpr unsigned bytes = 64;
using p = bit_flag<0>;
using fpd = bit_flag<1>;
using aw = bit_field<4, 2>;  // second-stage levels = AW + 2
using ssee = bit_flag<5>;
using pgtt = bit_field<8, 6>;
using ssade = bit_flag<9>;
using ssptptr = bit_field<63, 12>;  // second-stage root >> 12 (HPA)
using did = bit_field<79, 64>;
using pwsnp = bit_flag<87>;
using pgsnp = bit_flag<88>;
using cd = bit_flag<89>;
using emte = bit_flag<90>;
using emt = bit_field<93, 91>;
using pwt = bit_flag<94>;
using pcd = bit_flag<95>;
using pat = bit_field<127, 96>;
using sre = bit_flag<128>;
using ere = bit_flag<129>;
using fspm = bit_field<131, 130>;  // 0: 4-level, 1: 5-level
using wpe = bit_flag<132>;
using nxe = bit_flag<133>;
using smep = bit_flag<134>;
using eafe = bit_flag<135>;
using fsptptr = bit_field<191, 140>;  // first-stage root >> 12 (GPA when nested)
constexpr words reserved_mask = {bit_field<11, 10>::mask,
                                 bit_field<86, 80>::mask,
                                 bit_field<139, 136>::mask,
                                 ~uint64_t{0},
                                 ~uint64_t{0},
                                 ~uint64_t{0},
                                 ~uint64_t{0},
                                 ~uint64_t{0}};
}  // namespace pasid_entry

// Second-stage address width encodings (PASID entry AW, CAP.SAGAW bit index).
constexpr unsigned ss_levels_from_aw(unsigned aw) {
    return aw + 2;
}
constexpr unsigned ss_width_from_aw(unsigned aw) {
    return 30 + 9 * aw;
}

// Requests without PASID use RID_PASID; PASIDs are 20 bits.
constexpr uint32_t pasid_bits = 20;
constexpr uint32_t pasid_max = (uint32_t{1} << pasid_bits) - 1;

// Requester id helpers (bus:dev.fn).
constexpr uint8_t rid_bus(uint16_t rid) {
    return static_cast<uint8_t>(rid >> 8);
}
constexpr uint8_t rid_devfn(uint16_t rid) {
    return static_cast<uint8_t>(rid & 0xff);
}

}  // namespace iommusim::hw
