// Bit-field descriptions shared by the hardware model, the driver and the tests.
//
// A field is declared once with its absolute bit position inside a structure of one or more
// little-endian 64-bit words, written exactly as the VT-d specification tables give it
// (e.g. PASID-entry FSPTPTR is bits 191:140). No field here crosses a 64-bit word boundary;
// the static_assert in bit_field enforces that.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace iommusim::hw {

// Mask of `width` low bits (width may be 64).
constexpr uint64_t low_mask(unsigned width) {
    return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
}

// Bits [hi:lo] of an N-word structure. `Hi` and `Lo` are absolute bit numbers.
template <unsigned Hi, unsigned Lo>
struct bit_field {
    static_assert(Hi >= Lo, "bit_field<Hi, Lo>: Hi must not be below Lo");
    static_assert(Hi / 64 == Lo / 64, "bit_field may not cross a 64-bit word boundary");
    static constexpr unsigned word = Lo / 64;
    static constexpr unsigned shift = Lo % 64;
    static constexpr unsigned width = Hi - Lo + 1;
    static constexpr uint64_t mask = low_mask(width) << shift;  // mask within `word`

    // Single-word accessors, for registers and 64-bit entries (word must be 0).
    static constexpr uint64_t get(uint64_t v) {
        static_assert(word == 0, "use the array form for fields beyond bit 63");
        return (v & mask) >> shift;
    }
    static constexpr uint64_t set(uint64_t v, uint64_t x) {
        static_assert(word == 0, "use the array form for fields beyond bit 63");
        return (v & ~mask) | ((x << shift) & mask);
    }
    static constexpr uint64_t make(uint64_t x) { return set(0, x); }
    // The field value must be representable; callers that encode check this first.
    static constexpr bool fits(uint64_t x) { return (x & ~low_mask(width)) == 0; }

    template <std::size_t N>
    static constexpr uint64_t get(const std::array<uint64_t, N>& w) {
        static_assert(word < N, "field beyond the structure");
        return (w[word] & mask) >> shift;
    }
    template <std::size_t N>
    static constexpr void set(std::array<uint64_t, N>& w, uint64_t x) {
        static_assert(word < N, "field beyond the structure");
        w[word] = (w[word] & ~mask) | ((x << shift) & mask);
    }
};

// A single bit.
template <unsigned Bit>
using bit_flag = bit_field<Bit, Bit>;

// Builds a per-word mask from a list of fields, for reserved-bit checks ("every bit not named").
template <std::size_t N, typename... Fields>
constexpr std::array<uint64_t, N> fields_mask() {
    std::array<uint64_t, N> m{};
    ((m[Fields::word] |= Fields::mask), ...);
    return m;
}

// True when any bit outside `allowed` is set in `w`.
template <std::size_t N>
constexpr bool any_outside(const std::array<uint64_t, N>& w, const std::array<uint64_t, N>& allowed) {
    for (std::size_t i = 0; i < N; ++i) {
        if (w[i] & ~allowed[i]) {
            return true;
        }
    }
    return false;
}

}  // namespace iommusim::hw
