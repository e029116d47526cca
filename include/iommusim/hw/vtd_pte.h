// First- and second-stage paging entries (docs/vtd-facts.md §5.1, §5.4).
#pragma once

#include <cstdint>

#include "iommusim/hw/bits.h"

namespace iommusim::hw {

constexpr unsigned pt_entries = 512;  // entries per 4 KiB table
constexpr unsigned pt_index_bits = 9;

// Index of `addr` in the table at `level` (1 = PT, 2 = PD, 3 = PDPT, 4 = PML4, 5 = PML5).
constexpr unsigned pt_index(uint64_t addr, unsigned level) {
    return static_cast<unsigned>((addr >> (12 + pt_index_bits * (level - 1))) & (pt_entries - 1));
}
// Bytes mapped by one entry at `level` (4 KiB, 2 MiB, 1 GiB, ...).
constexpr uint64_t level_page_bytes(unsigned level) {
    return uint64_t{1} << (12 + pt_index_bits * (level - 1));
}

// x86-64 IA-32e layout, used for first-stage tables.
namespace fs_pte {
using p = bit_flag<0>;
using rw = bit_flag<1>;
using us = bit_flag<2>;
using pwt = bit_flag<3>;
using pcd = bit_flag<4>;
using a = bit_flag<5>;
using d = bit_flag<6>;
using ps = bit_flag<7>;  // PDPE: 1 GiB, PDE: 2 MiB; PAT in a 4 KiB PTE; reserved in PML4E/PML5E
using ea = bit_flag<10>;
using addr = bit_field<51, 12>;  // next table or page frame >> 12
using xd = bit_flag<63>;
// Reserved low address bits of large-page leaves (bit 12 is PAT there).
constexpr uint64_t large_2m_reserved = bit_field<20, 13>::mask;
constexpr uint64_t large_1g_reserved = bit_field<29, 13>::mask;
}  // namespace fs_pte

// Second-stage entry (no present bit: R=W=X=0 means not present).
namespace ss_pte {
using r = bit_flag<0>;
using w = bit_flag<1>;
using x = bit_flag<2>;
using emt = bit_field<5, 3>;
using ipat = bit_flag<6>;
using ps = bit_flag<7>;  // SS-PDPE: 1 GiB, SS-PDE: 2 MiB; reserved in SS-PML4E/PML5E
using a = bit_flag<8>;
using d = bit_flag<9>;
using snp = bit_flag<11>;  // treated as ignored in scalable mode (docs/vtd-facts.md §5.4 note)
using addr = bit_field<51, 12>;
using tm = bit_flag<62>;  // reserved in scalable mode
// QEMU's masks minus bit 11 (SNP), which scalable mode does not reserve.
constexpr uint64_t large_2m_reserved = bit_field<20, 12>::mask;
constexpr uint64_t large_1g_reserved = bit_field<29, 12>::mask;
}  // namespace ss_pte

}  // namespace iommusim::hw
