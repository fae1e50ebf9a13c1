#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "rootd/bytes.hpp"

namespace {
constexpr std::string_view kCheck = "123456789";
constexpr std::uint32_t crc_of(std::string_view s) { return rootd::crc32c(rootd::Bytes(s.data(), s.size())); }

constexpr bool le_round_trip() {
  std::array<char, 8> buf{};
  rootd::store_le64(buf, 0, 0x0102030405060708ULL);
  if (rootd::byte_at(buf, 0) != 0x08 || rootd::byte_at(buf, 7) != 0x01) return false;
  if (rootd::load_le64(buf, 0) != 0x0102030405060708ULL) return false;
  rootd::store_le32(buf, 4, 0xFFFEFDFCU);
  if (rootd::load_le32(buf, 4) != 0xFFFEFDFCU) return false;
  rootd::store_le16(buf, 0, 0xBEEF);
  return rootd::load_le16(buf, 0) == 0xBEEF;
}

// Both CRC loops, whichever one crc32c() picks in this build.
constexpr std::uint32_t sliced(std::string_view s) {
  return rootd::crc32c_final(rootd::detail::crc32c_update_sliced(rootd::kCrc32cInit, rootd::Bytes(s.data(), s.size())));
}
constexpr std::uint32_t bytewise(std::string_view s) {
  return rootd::crc32c_final(
      rootd::detail::crc32c_update_bytewise(rootd::kCrc32cInit, rootd::Bytes(s.data(), s.size())));
}

// A third CRC-32C, bit by bit with no table, so a wrong table entry cannot
// hide by being shared between the two loops under test.
std::uint32_t bitwise_crc32c(const char* data, std::size_t size) {
  std::uint32_t c = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < size; ++i) {
    c ^= static_cast<std::uint8_t>(data[i]);
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78U & (0U - (c & 1U)));
  }
  return ~c;
}
}  // namespace

// The sliced loop during constant evaluation: below one 8-byte block, exactly
// one, and blocks plus a tail.
static_assert(sliced(kCheck) == 0xE3069283U);
static_assert(bytewise(kCheck) == 0xE3069283U);
static_assert(sliced("") == 0 && sliced("a") == bytewise("a"));
static_assert(sliced("12345678") == bytewise("12345678"));
static_assert(sliced("The quick brown fox jumps over the lazy dog") == 0x22620404U);

// The published CRC-32C check value.
static_assert(crc_of(kCheck) == 0xE3069283U);
static_assert(crc_of("") == 0);
static_assert(le_round_trip());
static_assert(rootd::range_fits(0, 0, 0));
static_assert(rootd::range_fits(4, 4, 8));
static_assert(!rootd::range_fits(5, 4, 8));
static_assert(!rootd::range_fits(9, 0, 8));
static_assert(!rootd::range_fits(4, ~0ULL, 8), "length near 2^64 must not wrap");
static_assert(!rootd::range_fits(~0ULL, 2, 8));

TEST_CASE("incremental CRC-32C equals the one-shot value for every split") {
  const std::string_view text = "The quick brown fox jumps over the lazy dog";
  const std::uint32_t whole = crc_of(text);
  for (std::size_t split = 0; split <= text.size(); ++split) {
    auto s = rootd::crc32c_update(rootd::kCrc32cInit, rootd::Bytes(text.data(), split));
    s = rootd::crc32c_update(s, rootd::Bytes(text.data() + split, text.size() - split));
    CHECK(rootd::crc32c_final(s) == whole);
  }
  CHECK(whole == 0x22620404U);
}

TEST_CASE("sliced CRC-32C equals the bytewise and bitwise ones for every length 0..300") {
  std::mt19937 rng(20261124);
  std::uniform_int_distribution<int> byte(0, 255);
  // Eight bytes of slack so each length is also tried at every alignment.
  std::vector<char> buffer(300 + 8);
  for (int round = 0; round < 4; ++round) {
    for (char& c : buffer) c = static_cast<char>(byte(rng));
    for (std::size_t length = 0; length <= 300; ++length) {
      for (std::size_t shift = 0; shift < 8; ++shift) {
        const rootd::Bytes data(buffer.data() + shift, length);
        const std::uint32_t reference = bitwise_crc32c(data.data(), data.size());
        const std::uint32_t fast = rootd::crc32c_final(rootd::detail::crc32c_update_sliced(rootd::kCrc32cInit, data));
        const std::uint32_t slow =
            rootd::crc32c_final(rootd::detail::crc32c_update_bytewise(rootd::kCrc32cInit, data));
        if (fast != reference || slow != reference || rootd::crc32c(data) != reference) {
          FAIL("length " << length << " shift " << shift << ": sliced " << fast << " bytewise " << slow
                         << " bitwise " << reference);
        }
      }
    }
  }
  SUCCEED("every length and alignment agrees");
}

TEST_CASE("sliced CRC-32C continues a bytewise state and vice versa") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<char> data(300);
  for (char& c : data) c = static_cast<char>(byte(rng));
  const std::uint32_t whole = bitwise_crc32c(data.data(), data.size());
  for (std::size_t split = 0; split <= data.size(); ++split) {
    const rootd::Bytes head(data.data(), split);
    const rootd::Bytes tail(data.data() + split, data.size() - split);
    const std::uint32_t a = rootd::detail::crc32c_update_sliced(
        rootd::detail::crc32c_update_bytewise(rootd::kCrc32cInit, head), tail);
    const std::uint32_t b = rootd::detail::crc32c_update_bytewise(
        rootd::detail::crc32c_update_sliced(rootd::kCrc32cInit, head), tail);
    CHECK(rootd::crc32c_final(a) == whole);
    CHECK(rootd::crc32c_final(b) == whole);
  }
}
