// guest_memory: the guest's stage-1 tables are allocated from the top of its RAM down and never
// below the floor that protects the guest's own data pages.
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

}  // namespace
}  // namespace iommusim::program
