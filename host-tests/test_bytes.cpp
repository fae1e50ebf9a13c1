#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "rootd/bytes.hpp"
#include "rootd/names.hpp"

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

// ---- run-time fast paths against their constant-evaluation twins ----------------

// Reference loads, byte by byte, that never take a fast path.
std::uint64_t le_bytes(const std::vector<char>& b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= std::uint64_t{static_cast<std::uint8_t>(b[at + i])} << (8 * i);
  return v;
}

TEST_CASE("run-time loads read the same values as byte-by-byte loads, at every alignment") {
  std::mt19937 rng(7);
  std::vector<char> b(64);
  for (char& c : b) c = static_cast<char>(rng());
  for (std::size_t at = 0; at + 8 <= b.size(); ++at) {
    CHECK(rootd::load_le16(b, at) == le_bytes(b, at, 2));
    CHECK(rootd::load_le32(b, at) == le_bytes(b, at, 4));
    CHECK(rootd::load_le64(b, at) == le_bytes(b, at, 8));
  }
}

namespace {
int compare_reference(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  const int c = std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}
}  // namespace

static_assert(rootd::compare_bytes("svc-0000a", "svc-0000b") < 0);
static_assert(rootd::compare_bytes("svc-00001", "svc-0000") > 0);
static_assert(rootd::compare_bytes("\xff", "a") > 0);

TEST_CASE("compare_bytes at run time (eight bytes per step) orders like memcmp with prefix first") {
  std::mt19937 rng(11);
  // Short alphabets and long shared prefixes, so the word step, the byte tail
  // and the prefix rule are all reached; 0x80..0xFF bytes check unsigned order.
  const char alphabet[] = {'a', 'b', '\x7f', '\x80', '\xff'};
  for (int round = 0; round < 20000; ++round) {
    std::string a(rng() % 20, 'x');
    std::string b = a;
    const std::size_t extra_a = rng() % 4;
    const std::size_t extra_b = rng() % 4;
    for (std::size_t i = 0; i < extra_a; ++i) a += alphabet[rng() % 5];
    for (std::size_t i = 0; i < extra_b; ++i) b += alphabet[rng() % 5];
    INFO(a << " vs " << b);
    REQUIRE(rootd::compare_bytes(a, b) == compare_reference(a, b));
    REQUIRE(rootd::compare_bytes(b, a) == compare_reference(b, a));
  }
}

TEST_CASE("non_name_bytes flags exactly the bytes outside [a-z0-9-], each value in each position") {
  for (int value = 0; value < 256; ++value) {
    for (std::size_t pos = 0; pos < 8; ++pos) {
      std::array<char, 8> word;
      word.fill('m');
      word[pos] = static_cast<char>(value);
      const std::uint64_t flags = rootd::non_name_bytes(rootd::load_le64(word, 0));
      const std::uint64_t expected =
          rootd::is_name_char(static_cast<char>(value)) ? 0 : std::uint64_t{0x80} << (8 * pos);
      INFO("byte " << value << " at " << pos);
      REQUIRE(flags == expected);
    }
  }
  static_assert(rootd::non_name_bytes(0x2D7A61397A30612DULL) == 0, "-a0z9az- is all name bytes");
  static_assert(rootd::non_name_bytes(0x2D7A61397A30612EULL) == 0x80, "'.' is not");
}

TEST_CASE("first_non_name_char finds the first byte outside the alphabet at any length") {
  for (std::size_t length = 0; length < 70; ++length) {
    for (std::size_t bad = 0; bad <= length; ++bad) {
      std::vector<char> text(length, 'k');
      if (bad < length) text[bad] = (bad % 2 == 0) ? '_' : 'A';
      if (bad + 1 < length) text[bad + 1] = '.';  // later bad bytes do not matter
      REQUIRE(rootd::first_non_name_char(rootd::Bytes(text.data(), text.size())) == bad);
    }
  }
}

TEST_CASE("first_nonzero finds the first set byte of a range, or its end") {
  for (std::size_t length = 0; length < 12; ++length) {
    for (std::size_t set = 0; set <= length; ++set) {
      std::vector<char> b(length + 4, '\x5a');  // set bytes around the range
      for (std::size_t i = 0; i < length; ++i) b[2 + i] = 0;
      if (set < length) b[2 + set] = static_cast<char>(set % 2 == 0 ? 0x01 : 0x80);
      if (set + 1 < length) b[2 + set + 1] = 0x7f;  // a later set byte is not the one found
      REQUIRE(rootd::first_nonzero(b, 2, length) == 2 + set);
    }
  }
  static_assert(rootd::first_nonzero(rootd::Bytes("\0\0\0\1", 4), 0, 3) == 3);
  static_assert(rootd::first_nonzero(rootd::Bytes("\0\2\0\1", 4), 0, 4) == 1);
}
