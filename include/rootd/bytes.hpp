// Byte-level helpers shared by the wire formats: little-endian loads and
// stores, overflow-free range checks, and CRC-32C. All constexpr: the wire
// formats are read byte by byte, never by casting structs over the input.
//
// Wire bytes are spans of `char`, not uint8_t or std::byte: names inside a
// blob can then be returned as std::string_view during constant evaluation,
// which no cast between byte types allows. Loads widen through uint8_t.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace rootd {

using Bytes = std::span<const char>;
using MutableBytes = std::span<char>;

constexpr std::uint8_t byte_at(Bytes b, std::size_t at) { return static_cast<std::uint8_t>(b[at]); }

// True when [offset, offset + length) lies inside a buffer of `size` bytes,
// computed without overflow.
constexpr bool range_fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

// Run time on a little-endian target reads a field with one load: GCC does
// not always fuse the byte loads below, and parsers read a field per row.
// __builtin_memcpy of a constant 2, 4 or 8 bytes is always a plain move,
// never a libc call. Constant evaluation takes the byte path.
namespace detail {
inline constexpr bool kLittleEndianTarget = std::endian::native == std::endian::little;

template <class T>
constexpr T load_native(Bytes b, std::size_t at) {
  T v;
  __builtin_memcpy(&v, b.data() + at, sizeof v);
  return v;
}
}  // namespace detail

// Callers check bounds first (range_fits); these never read past `at + N`.
constexpr std::uint16_t load_le16(Bytes b, std::size_t at) {
  if (detail::kLittleEndianTarget && !std::is_constant_evaluated())
    return detail::load_native<std::uint16_t>(b, at);
  return static_cast<std::uint16_t>(byte_at(b, at) | (byte_at(b, at + 1) << 8));
}
constexpr std::uint32_t load_le32(Bytes b, std::size_t at) {
  if (detail::kLittleEndianTarget && !std::is_constant_evaluated())
    return detail::load_native<std::uint32_t>(b, at);
  return static_cast<std::uint32_t>(byte_at(b, at)) |
         (static_cast<std::uint32_t>(byte_at(b, at + 1)) << 8) |
         (static_cast<std::uint32_t>(byte_at(b, at + 2)) << 16) |
         (static_cast<std::uint32_t>(byte_at(b, at + 3)) << 24);
}
constexpr std::uint64_t load_le64(Bytes b, std::size_t at) {
  if (detail::kLittleEndianTarget && !std::is_constant_evaluated())
    return detail::load_native<std::uint64_t>(b, at);
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

// Offset of the first non-zero byte in [at, at + length), or at + length:
// both formats' reserved fields. They are a few bytes per row, so they are
// tested together and walked only when one is set. Callers check the range.
constexpr std::size_t first_nonzero(Bytes b, std::size_t at, std::size_t length) {
  unsigned any = 0;
  for (std::size_t i = 0; i < length; ++i) any |= byte_at(b, at + i);
  if (any == 0) return at + length;
  for (std::size_t i = 0; i < length; ++i) {
    if (b[at + i] != 0) return at + i;
  }
  return at + length;
}

// Callers check range_fits(at, len, b.size()) first.
constexpr std::string_view chars_at(Bytes b, std::size_t at, std::size_t len) {
  return std::string_view(b.data() + at, len);
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), init and final
// xor 0xFFFFFFFF. Check value: crc32c("123456789") == 0xE3069283.
//
// Two ways to the same value. The bytewise loop uses one 1 KiB table; the
// sliced loop ("slicing-by-8") folds eight bytes per step through eight
// tables (8 KiB) and is about five times faster on the host. Builds that
// optimize for size (-Os, which defines __OPTIMIZE_SIZE__: the freestanding
// rootd image, whose budget is 64 KiB) keep the bytewise loop, so the seven
// extra tables are never referenced and never linked in; rootd checksums a
// few hundred KiB at most, once. host-tests/test_bytes.cpp holds the two
// loops to the same results.
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

// Row k maps a byte to its CRC contribution when k more bytes follow it in
// the same step. Row 0 is kCrc32cTable, so v[k - 1] holds row k, k = 1..7.
inline constexpr std::size_t kCrc32cSlice = 8;
struct Crc32cSliceTables {
  std::uint32_t v[kCrc32cSlice - 1][256];
};
constexpr Crc32cSliceTables make_crc32c_slice_tables() {
  Crc32cSliceTables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = kCrc32cTable.v[i];
    for (std::size_t k = 0; k + 1 < kCrc32cSlice; ++k) {
      c = (c >> 8) ^ kCrc32cTable.v[c & 0xFFU];
      t.v[k][i] = c;
    }
  }
  return t;
}
inline constexpr Crc32cSliceTables kCrc32cSliceTables = make_crc32c_slice_tables();

constexpr std::uint32_t crc32c_update_bytewise(std::uint32_t state, Bytes data) {
  for (char c : data) {
    state = kCrc32cTable.v[(state ^ static_cast<std::uint8_t>(c)) & 0xFFU] ^ (state >> 8);
  }
  return state;
}

constexpr std::uint32_t crc32c_update_sliced(std::uint32_t state, Bytes data) {
  const auto& t = kCrc32cSliceTables.v;
  std::size_t at = 0;
  // Byte reads, not a word load (no casts, so this stays constexpr): the
  // first four bytes absorb the state, the last four enter as they are.
  for (; data.size() - at >= kCrc32cSlice; at += kCrc32cSlice) {
    state = t[6][(byte_at(data, at) ^ state) & 0xFFU] ^ t[5][(byte_at(data, at + 1) ^ (state >> 8)) & 0xFFU] ^
            t[4][(byte_at(data, at + 2) ^ (state >> 16)) & 0xFFU] ^ t[3][byte_at(data, at + 3) ^ (state >> 24)] ^
            t[2][byte_at(data, at + 4)] ^ t[1][byte_at(data, at + 5)] ^ t[0][byte_at(data, at + 6)] ^
            kCrc32cTable.v[byte_at(data, at + 7)];
  }
  return crc32c_update_bytewise(state, Bytes(data.data() + at, data.size() - at));
}
}  // namespace detail

// Incremental form: start with kCrc32cInit, feed spans, finish with crc32c_final.
inline constexpr std::uint32_t kCrc32cInit = 0xFFFFFFFFU;
constexpr std::uint32_t crc32c_update(std::uint32_t state, Bytes data) {
#if defined(__OPTIMIZE_SIZE__)
  return detail::crc32c_update_bytewise(state, data);
#else
  return detail::crc32c_update_sliced(state, data);
#endif
}
constexpr std::uint32_t crc32c_final(std::uint32_t state) { return state ^ 0xFFFFFFFFU; }
constexpr std::uint32_t crc32c(Bytes data) { return crc32c_final(crc32c_update(kCrc32cInit, data)); }

}  // namespace rootd
