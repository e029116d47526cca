// Lowest-free id allocation: ids come out lowest first, freed ids are reused lowest first, the
// range is bounded at both ends.
#include "util/id_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace iommusim::test {
namespace {

TEST(IdAllocator, HandsOutTheLowestFreeId) {
    id_allocator ids(1024, 2000);
    uint32_t id = 0;
    for (uint32_t want = 1024; want < 1029; ++want) {
        ASSERT_TRUE(ids.alloc(id));
        EXPECT_EQ(id, want);
    }
    EXPECT_EQ(ids.used(), 5u);
    ids.free(1026);
    ids.free(1025);
    EXPECT_FALSE(ids.in_use(1025));
    ASSERT_TRUE(ids.alloc(id));
    EXPECT_EQ(id, 1025u) << "the lowest of the freed ones first";
    ASSERT_TRUE(ids.alloc(id));
    EXPECT_EQ(id, 1026u);
    ASSERT_TRUE(ids.alloc(id));
    EXPECT_EQ(id, 1029u) << "then above every id in use";
    // Freeing what is not in use (or outside the range) changes nothing.
    ids.free(1500);
    ids.free(7);
    EXPECT_EQ(ids.used(), 6u);
    ASSERT_TRUE(ids.alloc(id));
    EXPECT_EQ(id, 1030u);
}

TEST(IdAllocator, RefusesWhenEveryIdIsInUse) {
    id_allocator ids(1, 3);
    uint32_t id = 0;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(ids.alloc(id));
    }
    id = 99;
    EXPECT_FALSE(ids.alloc(id));
    EXPECT_EQ(id, 99u) << "untouched on failure";
    ids.free(2);
    ASSERT_TRUE(ids.alloc(id));
    EXPECT_EQ(id, 2u);
    EXPECT_FALSE(ids.alloc(id));
    // The top of the 32-bit range is usable and does not wrap around.
    id_allocator top(UINT32_MAX - 1, UINT32_MAX);
    ASSERT_TRUE(top.alloc(id));
    ASSERT_TRUE(top.alloc(id));
    EXPECT_EQ(id, UINT32_MAX);
    EXPECT_FALSE(top.alloc(id));
}

}  // namespace
}  // namespace iommusim::test
