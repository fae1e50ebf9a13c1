#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <string_view>

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
}  // namespace

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
