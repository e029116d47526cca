#include "util/bit_range.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace iommusim {
namespace {

using calls = std::vector<std::pair<uint64_t, uint64_t>>;

calls collect(uint64_t first, uint64_t end) {
    calls out;
    for_each_bit_word(first, end, [&](uint64_t word, uint64_t mask) { out.emplace_back(word, mask); });
    return out;
}

TEST(BitRange, WordsAndMasks) {
    EXPECT_EQ(calls{}, collect(5, 5));
    EXPECT_EQ((calls{{0, 0x1}}), collect(0, 1));
    EXPECT_EQ((calls{{0, 0x70}}), collect(4, 7));
    EXPECT_EQ((calls{{0, ~uint64_t{0}}}), collect(0, 64));
    EXPECT_EQ((calls{{0, 0x8000000000000000ull}, {1, 0x1}}), collect(63, 65));
    EXPECT_EQ((calls{{1, 0xfffffffffffffffcull}, {2, ~uint64_t{0}}, {3, 0x7}}), collect(66, 195));
}

}  // namespace
}  // namespace iommusim
