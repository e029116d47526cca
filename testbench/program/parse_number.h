// The numbers the program's options and text files take: decimal, or hexadecimal after 0x.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

namespace iommusim::program {

// The whole of s as a number; false for anything else (empty, trailing text, out of range).
inline bool parse_u64(std::string_view s, uint64_t& out) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        base = 16;
    }
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace iommusim::program
