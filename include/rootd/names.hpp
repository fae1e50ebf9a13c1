// Text rules both wire formats share: the name alphabet, graphic paths, the
// canonical byte order, and binary search over rows sorted in that order.
// The handoff's module names and the boot config's service, role, image,
// provider and profile names share one alphabet, so any image name a config
// can hold is a name a module can carry.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "rootd/bytes.hpp"

namespace rootd {

// Names: 1..max bytes of [a-z0-9-].
constexpr bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}
constexpr bool is_name_text(std::string_view text, std::size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  for (char c : text) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

// Eight bytes at once (the word's bytes in any order): bit 7 of a byte of
// the result is set exactly where that byte is outside the name alphabet.
// Bit 7 is tested apart and cleared first, so no sum below carries into the
// next byte.
constexpr std::uint64_t non_name_bytes(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = kOnes * 0x80;
  constexpr std::uint64_t kLow7 = kOnes * 0x7F;
  const std::uint64_t y = word & kLow7;
  const std::uint64_t from_a = y + kOnes * (0x80 - 'a');       // bit 7: y >= 'a'
  const std::uint64_t past_z = y + kOnes * (0x7F - 'z');       // bit 7: y > 'z'
  const std::uint64_t from_0 = y + kOnes * (0x80 - '0');       // bit 7: y >= '0'
  const std::uint64_t past_9 = y + kOnes * (0x7F - '9');       // bit 7: y > '9'
  const std::uint64_t not_dash = (y ^ (kOnes * '-')) + kLow7;  // bit 7: y != '-'
  const std::uint64_t in = (from_a & ~past_z) | (from_0 & ~past_9) | ~not_dash;
  return (~in | word) & kHigh;
}

// Paths, structurally: 1..max graphic ASCII bytes (0x21..0x7E).
constexpr bool is_graphic_char(char c) { return c >= '!' && c <= '~'; }
constexpr bool is_graphic_text(std::string_view text, std::size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  for (char c : text) {
    if (!is_graphic_char(c)) return false;
  }
  return true;
}

// Offset of the first byte of `b` outside the name alphabet, or b.size().
// Parsers whose names lie back to back (the boot config's string table) test
// them all with this one pass and then only compare each name's end with
// the result. Branch-free per block of 16 so the compiler can vectorize it;
// the exact position is looked for only inside a block that failed.
constexpr std::size_t first_non_name_char(Bytes b) {
  constexpr std::size_t kBlock = 16;
  std::size_t at = 0;
  for (; b.size() - at >= kBlock; at += kBlock) {
    // One byte of flags per input byte, so vector lanes never widen.
    std::uint8_t bad = 0;
    for (std::size_t i = 0; i < kBlock; ++i)
      bad |= static_cast<std::uint8_t>(!is_name_char(b[at + i]));
    if (bad != 0) break;
  }
  for (; at < b.size(); ++at) {
    if (!is_name_char(b[at])) return at;
  }
  return b.size();
}

namespace detail {
// Run time only (compare_bytes): eight bytes as a big-endian integer.
inline std::uint64_t load_be64(const char* p) {
  std::uint64_t v;
  __builtin_memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
  return v;
}
}  // namespace detail

// The canonical order: bytes compared as unsigned values, a proper prefix
// first. Written out so no memcmp call can appear in freestanding code. At
// run time eight bytes are compared per step, read most significant first so
// that integer order is byte order: the parsers compare every row's name with
// its neighbour's, and names share long prefixes.
[[gnu::always_inline]] constexpr int compare_bytes(std::string_view a, std::string_view b) {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  std::size_t i = 0;
  if (!std::is_constant_evaluated()) {
    for (; n - i >= 8; i += 8) {
      const std::uint64_t x = detail::load_be64(a.data() + i);
      const std::uint64_t y = detail::load_be64(b.data() + i);
      if (x != y) return x < y ? -1 : 1;
    }
  }
  for (; i < n; ++i) {
    const auto x = static_cast<std::uint8_t>(a[i]);
    const auto y = static_cast<std::uint8_t>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

// Search over n keys sorted by compare_bytes, none repeated: the position of
// `key`, or n when it is absent. key_at(i) yields the i-th key.
//
// Planning looks up every service's image module this way, and at 2048
// services that was most of planning's cost: a binary search is a chain of
// dependent loads and compares, and its three-way branch mispredicted about
// every other step. Here each step compares three pivots at once (their loads
// do not wait on each other) and narrows the range to about a quarter by
// arithmetic rather than a branch; equality is tested once, at the end.
template <class KeyAt>
constexpr std::size_t find_sorted(std::string_view key, std::size_t n, KeyAt key_at) {
  if (n == 0) return n;
  // The last key <= `key` is at [base, base + len), or there is none (base
  // stays 0, and the final test fails).
  std::size_t base = 0;
  std::size_t len = n;
  while (len > 1) {
    const std::size_t half = len / 2;
    base += compare_bytes(key_at(base + half), key) <= 0 ? half : 0;
    len -= half;
  }
  return compare_bytes(key_at(base), key) == 0 ? base : n;
}

}  // namespace rootd
