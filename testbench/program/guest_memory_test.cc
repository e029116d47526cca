// guest_memory: the guest's stage-1 tables are allocated from the top of its RAM down and never
// below the floor that protects the guest's own data pages; large leaves, table replacement and
// directory unmaps write the entries the x86-64 format gives (bits decoded here by hand: P bit 0,
// PS bit 7, address bits 51:12).
#include "program/guest_memory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

namespace iommusim::program {
namespace {

constexpr uint64_t page = 4096;

TEST(GuestMemory, TablesStopAtTheFloorWithAClearError) {
    guest_memory g(0, 16 * page);    // the root takes the top page
    g.keep_tables_above(12 * page);  // pages 12..14 are left for tables
    std::memset(g.at(11 * page), 0x5a, page);
    g.map(0x1000, 11 * page);  // PDPT, PD and PT: the three pages above the floor
    EXPECT_NE(g.leaf(0x1000), nullptr);
    try {
        g.map(0x4000'0000, 11 * page);  // another 1 GiB region needs a new PD
        FAIL() << "a table was allocated below the floor";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "guest RAM exhausted: no page left for page tables above the guest's data");
    }
    for (uint64_t off = 0; off < page; ++off) {
        ASSERT_EQ(g.at(11 * page)[off], 0x5a) << "the data page below the floor was overwritten";
    }
}

constexpr uint64_t present = 1, ps = 1ull << 7, addr_mask = 0x000f'ffff'ffff'f000ull;

// The raw entry at `index` of the table page at `table_gpa`.
uint64_t raw(guest_memory& g, uint64_t table_gpa, unsigned index) {
    uint64_t v = 0;
    std::memcpy(&v, g.at(table_gpa) + index * 8, 8);
    return v;
}

// GVA 0x40'4020'0000: PML4 index 0, PDPT index 257, PD index 1.
constexpr uint64_t gva = (257ull << 30) | (1ull << 21);
constexpr uint64_t gva_1g = 257ull << 30;  // PDPT index 257

TEST(GuestMemory, LargePagesAreLeavesWithPsAtTheirLevel) {
    guest_memory g(0, 64 * page);
    g.map_large(gva_1g, 0x4000'0000, 3);  // 1 GiB
    const uint64_t pml4e = raw(g, g.s1_root(), 0);
    ASSERT_EQ(pml4e & present, present);
    const uint64_t pdpte = raw(g, pml4e & addr_mask, 257);
    EXPECT_EQ(pdpte & (present | ps), present | ps);
    EXPECT_EQ(pdpte & addr_mask, 0x4000'0000u);
    unsigned level = 0;
    EXPECT_EQ(g.leaf(gva_1g + 0x12'3456, &level), reinterpret_cast<uint64_t*>(g.at(pml4e & addr_mask) + 257 * 8));
    EXPECT_EQ(level, 3u);
    g.remap(gva_1g, 0x8000'0000);
    EXPECT_EQ(raw(g, pml4e & addr_mask, 257) & addr_mask, 0x8000'0000u);
    EXPECT_THROW(g.remap(gva_1g, 0x8020'0000), std::invalid_argument);  // not 1 GiB aligned
    EXPECT_THROW(g.map(gva_1g + page, 0x1000), std::logic_error);       // a 4 KiB page inside the 1 GiB one

    g.map_large(1ull << 21, 0x60'0000, 2);  // 2 MiB: PDPT index 0, PD index 1
    const uint64_t pdpt0 = raw(g, pml4e & addr_mask, 0);
    const uint64_t pde = raw(g, pdpt0 & addr_mask, 1);
    EXPECT_EQ(pde & (present | ps), present | ps);
    EXPECT_EQ(pde & addr_mask, 0x60'0000u);
    EXPECT_THROW(g.map_large(page, 0x60'0000, 2), std::invalid_argument);        // GVA not aligned
    EXPECT_THROW(g.map_large(1ull << 22, 0x60'1000, 2), std::invalid_argument);  // GPA not aligned
    EXPECT_THROW(g.map_large(1ull << 22, 0x60'0000, 1), std::invalid_argument);  // no such large level
}

TEST(GuestMemory, ReplaceTableCopiesThePageAndRepointsThePde) {
    guest_memory g(0, 64 * page);
    g.map(gva, 0x1000);
    g.map(gva + 5 * page, 0x2000);
    const uint64_t pml4e = raw(g, g.s1_root(), 0);
    const uint64_t pd = raw(g, pml4e & addr_mask, 257) & addr_mask;
    const uint64_t old_table = raw(g, pd, 1) & addr_mask;
    const uint64_t copy = g.replace_table(gva + 5 * page);
    EXPECT_NE(copy, old_table);
    EXPECT_EQ(raw(g, pd, 1) & addr_mask, copy);
    EXPECT_EQ(raw(g, pd, 1) & present, present);
    EXPECT_EQ(std::memcmp(g.at(copy), g.at(old_table), page), 0);
    // Edits go to the copy; the old page keeps what it held.
    g.remap(gva + 5 * page, 0x3000);
    EXPECT_EQ(raw(g, copy, 5) & addr_mask, 0x3000u);
    EXPECT_EQ(raw(g, old_table, 5) & addr_mask, 0x2000u);
    EXPECT_THROW(g.replace_table(gva + (1ull << 21)), std::logic_error);  // no table there
}

TEST(GuestMemory, UnmapTableClearsThePdeAndMapBuildsANewTable) {
    guest_memory g(0, 64 * page);
    g.map(gva, 0x1000);
    const uint64_t pml4e = raw(g, g.s1_root(), 0);
    const uint64_t pd = raw(g, pml4e & addr_mask, 257) & addr_mask;
    const uint64_t old_table = raw(g, pd, 1) & addr_mask;
    g.unmap_table(gva + 7 * page);
    EXPECT_EQ(raw(g, pd, 1) & present, 0u);
    EXPECT_EQ(g.leaf(gva), nullptr);
    g.map(gva + 7 * page, 0x4000);
    const uint64_t table = raw(g, pd, 1) & addr_mask;
    EXPECT_NE(table, old_table);
    EXPECT_EQ(raw(g, table, 0), 0u) << "the new table holds only the new mapping";
    EXPECT_EQ(raw(g, table, 7) & addr_mask, 0x4000u);
}

}  // namespace
}  // namespace iommusim::program
