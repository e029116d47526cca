// The seeds a regression runs: "1-1000", "7", "1,5,9-12" (decimal or 0x hexadecimal, ranges
// inclusive), in ascending order without repeats.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iommusim::program {

// At most this many seeds in one set: a regression beyond that is a typo (1-10000000000).
inline constexpr uint64_t max_seed_count = 1'000'000;

// Parses `text` into `seeds`. Returns "" or a message naming the bad part.
std::string parse_seed_set(const std::string& text, std::vector<uint64_t>& seeds);

}  // namespace iommusim::program
