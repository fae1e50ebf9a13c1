// Byte-level helpers shared by the wire formats: little-endian loads and
// stores, overflow-free range checks, and CRC-32C. All constexpr: the wire
// formats are read byte by byte, never by casting structs over the input.
//
// Wire bytes are spans of `char`, not uint8_t or std::byte: names inside a
// blob can then be returned as std::string_view during constant evaluation,
// which no cast between byte types allows. Loads widen through uint8_t.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace rootd {

using Bytes = std::span<const char>;
using MutableBytes = std::span<char>;

constexpr std::uint8_t byte_at(Bytes b, std::size_t at) { return static_cast<std::uint8_t>(b[at]); }

// True when [offset, offset + length) lies inside a buffer of `size` bytes,
// computed without overflow.
constexpr bool range_fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

// Callers check bounds first (range_fits); these never read past `at + N`.
constexpr std::uint16_t load_le16(Bytes b, std::size_t at) {
  return static_cast<std::uint16_t>(byte_at(b, at) | (byte_at(b, at + 1) << 8));
}
constexpr std::uint32_t load_le32(Bytes b, std::size_t at) {
  return static_cast<std::uint32_t>(byte_at(b, at)) |
         (static_cast<std::uint32_t>(byte_at(b, at + 1)) << 8) |
         (static_cast<std::uint32_t>(byte_at(b, at + 2)) << 16) |
         (static_cast<std::uint32_t>(byte_at(b, at + 3)) << 24);
}
constexpr std::uint64_t load_le64(Bytes b, std::size_t at) {
  return static_cast<std::uint64_t>(load_le32(b, at)) |
         (static_cast<std::uint64_t>(load_le32(b, at + 4)) << 32);
}

constexpr void store_le16(MutableBytes b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<char>(v & 0xFFU);
  b[at + 1] = static_cast<char>((v >> 8) & 0xFFU);
}
constexpr void store_le32(MutableBytes b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}
constexpr void store_le64(MutableBytes b, std::size_t at, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}

// Callers check range_fits(at, len, b.size()) first.
constexpr std::string_view chars_at(Bytes b, std::size_t at, std::size_t len) {
  return std::string_view(b.data() + at, len);
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), init and final
// xor 0xFFFFFFFF. Check value: crc32c("123456789") == 0xE3069283.
namespace detail {
constexpr std::uint32_t crc32c_entry(std::uint32_t index) {
  std::uint32_t c = index;
  for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? (c >> 1) ^ 0x82F63B78U : c >> 1;
  return c;
}
struct Crc32cTable {
  std::uint32_t v[256];
};
constexpr Crc32cTable make_crc32c_table() {
  Crc32cTable t{};
  for (std::uint32_t i = 0; i < 256; ++i) t.v[i] = crc32c_entry(i);
  return t;
}
inline constexpr Crc32cTable kCrc32cTable = make_crc32c_table();
}  // namespace detail

// Incremental form: start with kCrc32cInit, feed spans, finish with crc32c_final.
inline constexpr std::uint32_t kCrc32cInit = 0xFFFFFFFFU;
constexpr std::uint32_t crc32c_update(std::uint32_t state, Bytes data) {
  for (char c : data) {
    state = detail::kCrc32cTable.v[(state ^ static_cast<std::uint8_t>(c)) & 0xFFU] ^ (state >> 8);
  }
  return state;
}
constexpr std::uint32_t crc32c_final(std::uint32_t state) { return state ^ 0xFFFFFFFFU; }
constexpr std::uint32_t crc32c(Bytes data) { return crc32c_final(crc32c_update(kCrc32cInit, data)); }

}  // namespace rootd
