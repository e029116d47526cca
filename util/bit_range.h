// Bit ranges of a bitset kept as 64-bit words (bit i in word i / 64 at bit i % 64): the dirty
// bitmaps of the mock driver and of GET_DIRTY_BITMAP both set, test and clear whole ranges a word
// at a time.
#pragma once

#include <algorithm>
#include <cstdint>

namespace iommusim {

// Calls fn(word, mask) for every word holding bits of [first, end), in order, with the mask of
// the range's bits in that word.
template <typename Fn>
void for_each_bit_word(uint64_t first, uint64_t end, Fn fn) {
    while (first < end) {
        const unsigned bit = first % 64;
        const uint64_t count = std::min<uint64_t>(64 - bit, end - first);
        const uint64_t mask = (count == 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1) << bit;
        fn(first / 64, mask);
        first += count;
    }
}

}  // namespace iommusim
