// Helpers shared by the libFuzzer targets (host only).
//
// A target that finds a broken property calls fuzz_failure(): it prints what
// broke and aborts, which libFuzzer records as a crash with the input that
// caused it. Plain assert() is not used because a release build would drop it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "rootd/bcfg.hpp"
#include "rootd/bytes.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd_fuzz {

[[noreturn]] inline void fuzz_failure(std::string_view what) {
  std::fprintf(stderr, "fuzz property broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

[[noreturn]] inline void report_mismatch(rootd::Error a, rootd::Error b, std::string_view what);

inline void require(bool holds, std::string_view what) {
  if (!holds) fuzz_failure(what);
}

inline void require_same_error(rootd::Error a, rootd::Error b, std::string_view what) {
  if (a == b) return;
  report_mismatch(a, b, what);
}

// A diagnostic carries a reason and a byte offset, not the Error's subject:
// it matches an Error when those two do.
inline void require_same_diagnostic(rootd::Error diagnostic, rootd::Error e, std::string_view what) {
  if (diagnostic.reason == e.reason && diagnostic.offset == e.offset) return;
  report_mismatch(diagnostic, e, what);
}

inline void report_mismatch(rootd::Error a, rootd::Error b, std::string_view what) {
  std::fprintf(stderr, "  %.*s vs %.*s (offsets %u vs %u)\n",
               static_cast<int>(rootd::reason_name(a.reason).size()), rootd::reason_name(a.reason).data(),
               static_cast<int>(rootd::reason_name(b.reason).size()), rootd::reason_name(b.reason).data(),
               a.offset, b.offset);
  fuzz_failure(what);
}

inline rootd::Bytes bytes_of(const std::uint8_t* data, std::size_t size) {
  return rootd::Bytes(reinterpret_cast<const char*>(data), size);
}

inline rootd::Bytes bytes_of(const std::vector<char>& v) { return rootd::Bytes(v.data(), v.size()); }

// Reads every byte of a string a View hands out, so that AddressSanitizer
// sees a view that points outside its blob; the sum keeps the reads alive.
inline std::uint32_t touch(std::string_view s) {
  std::uint32_t sum = 0;
  for (char c : s) sum += static_cast<std::uint8_t>(c);
  return sum;
}

// Both formats carry a CRC the mutator almost never gets right, and a total
// size that inserting or erasing a byte breaks. Each target parses the input
// as given and also a copy with both fields made to fit, so that mutations
// reach the checks behind them. The copy is empty when the input is too
// short to hold the fields or already has them right.
inline std::vector<char> resealed_bcfg(rootd::Bytes input) {
  namespace bc = rootd::bcfg;
  if (input.size() < bc::kHeaderSize || input.size() > 0xFFFFFFFFU) return {};
  std::vector<char> copy(input.begin(), input.end());
  const rootd::MutableBytes out(copy);
  rootd::store_le32(out, bc::kHeaderTotalSizeOffset, static_cast<std::uint32_t>(copy.size()));
  rootd::store_le32(out, bc::kHeaderChecksumOffset, bc::checksum(bytes_of(copy)));
  if (std::equal(copy.begin(), copy.end(), input.begin(), input.end())) return {};
  return copy;
}

inline std::vector<char> resealed_handoff(rootd::Bytes input) {
  namespace ho = rootd::handoff;
  if (input.size() < ho::kHeaderSize || input.size() > 0xFFFFFFFFU) return {};
  std::vector<char> copy(input.begin(), input.end());
  const rootd::MutableBytes out(copy);
  rootd::store_le32(out, ho::kHeaderTotalSizeOffset, static_cast<std::uint32_t>(copy.size()));
  require(rootd::ok(ho::seal(out)), "seal of a header-sized blob");
  if (std::equal(copy.begin(), copy.end(), input.begin(), input.end())) return {};
  return copy;
}

}  // namespace rootd_fuzz
