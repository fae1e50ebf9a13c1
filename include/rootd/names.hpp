// Text rules both wire formats share: the name alphabet, graphic paths, the
// canonical byte order, and binary search over rows sorted in that order.
// The handoff's module names and the boot config's service, role, image,
// provider and profile names are one alphabet, so a module name always
// matches the image name that asks for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

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

// Paths, structurally: 1..max graphic ASCII bytes (0x21..0x7E).
constexpr bool is_graphic_char(char c) { return c >= '!' && c <= '~'; }
constexpr bool is_graphic_text(std::string_view text, std::size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  for (char c : text) {
    if (!is_graphic_char(c)) return false;
  }
  return true;
}

// The canonical order: bytes compared as unsigned values, a proper prefix
// first. Written out so no memcmp call can appear in freestanding code.
constexpr int compare_bytes(std::string_view a, std::string_view b) {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<std::uint8_t>(a[i]);
    const auto y = static_cast<std::uint8_t>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

// Binary search over n keys sorted by compare_bytes: the position of `key`,
// or n when it is absent. key_at(i) yields the i-th key.
template <class KeyAt>
constexpr std::size_t find_sorted(std::string_view key, std::size_t n, KeyAt key_at) {
  std::size_t lo = 0;
  std::size_t hi = n;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const int c = compare_bytes(key_at(mid), key);
    if (c == 0) return mid;
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return n;
}

}  // namespace rootd
