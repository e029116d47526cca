// The call-free walk of plain paging entries: table pointers and a 4 KiB leaf that need no
// checks beyond a mask compare, read from directly readable pages (phys_mem_if::direct_view). The
// page walker's short way for both stages; it stops before the first other entry, which the full
// checks then read and judge.
#pragma once

#include <cstdint>

#include "iommusim/hw/vtd_pte.h"
#include "tlm/phys_mem_if.h"

namespace iommusim {

// Where a plain walk stopped: at the entry at `level` of `table`, the first it did not take (a
// page that is not directly readable, or an entry that is not plain), after `passed` entries whose
// AND and OR it kept; or done: the last one taken was the level-1 leaf `leaf`.
struct plain_walk {
    uint64_t table = 0;
    uint64_t all_bits = ~uint64_t{0};
    uint64_t any_bits = 0;
    uint64_t leaf = 0;
    unsigned level = 0;
    unsigned passed = 0;
    bool done = false;
};

// What makes an entry of a stage plain: present (some bit of `present`; 0: the masks below ask for
// it), and masked with table_check (a table pointer, levels above 1; none taken unless `tables`) or
// leaf_check (a 4 KiB leaf) equal to table_want or leaf_want.
struct plain_entries {
    uint64_t present = 0;
    uint64_t table_check = 0;
    uint64_t table_want = 0;
    uint64_t leaf_check = 0;
    uint64_t leaf_want = 0;
    bool tables = true;
};

// One step of follow_plain at `level` (a constant: the index shift is one): takes the entry of
// run.table if it is plain, else leaves run as it is and returns false.
template <unsigned level>
[[gnu::always_inline]] inline bool take_plain(phys_mem_if::direct_view direct, uint64_t addr, const plain_entries& k,
                                              plain_walk& run) {
    uint64_t e = 0;
    if (!direct.load_entry(run.table, hw::pt_index(addr, level), e)) {
        return false;
    }
    if (k.present != 0 && !(e & k.present)) {
        return false;
    }
    if constexpr (level == 1) {
        if ((e & k.leaf_check) != k.leaf_want) {
            return false;
        }
        run.leaf = e;
        run.done = true;
    } else {
        if ((e & k.table_check) != k.table_want) {
            return false;
        }
        run.all_bits &= e;
        run.any_bits |= e;
        run.table = e & hw::fs_pte::addr::mask;
        run.level = level - 1;
    }
    ++run.passed;
    return true;
}

// Follows the plain entries of directly readable pages from the entry at `level` of `table` (a
// table page's address: a root pointer, a paging-structure-cache entry's) down to the leaf, without
// calls and unrolled per level (inlined where it is used, so the caller's values stay in registers).
[[gnu::always_inline]] inline plain_walk follow_plain(phys_mem_if::direct_view direct, uint64_t addr, uint64_t table,
                                                      unsigned level, const plain_entries& k) {
    plain_walk run;
    run.table = table;
    run.level = level;
    if (level == 1) {  // below a paging-structure-cache hit
        take_plain<1>(direct, addr, k, run);
        return run;
    }
    if (!k.tables) {
        return run;
    }
    switch (level) {
        case 5:
            if (!take_plain<5>(direct, addr, k, run)) {
                break;
            }
            [[fallthrough]];
        case 4:
            if (!take_plain<4>(direct, addr, k, run)) {
                break;
            }
            [[fallthrough]];
        case 3:
            if (!take_plain<3>(direct, addr, k, run)) {
                break;
            }
            [[fallthrough]];
        case 2:
            if (!take_plain<2>(direct, addr, k, run)) {
                break;
            }
            [[fallthrough]];
        case 1:
            take_plain<1>(direct, addr, k, run);
            break;
        default:
            break;
    }
    return run;
}

}  // namespace iommusim
