// Decoded<T>: what a strict decoder of a service protocol (fbcond, inputd)
// returns. Unlike Result, a refusal carries no reason code: the caller is a
// verifier or a simulated service, and for both a refused message simply is
// not that message. Which part was refused (the label, the carried cap or a
// word) is kept for tests and diagnostics.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>

#include "rootd/result.hpp"

namespace rootd {

// Decoded::refused: what the decoder refused, or kDecodedOk.
inline constexpr std::uint8_t kDecodedOk = 0xFF;
inline constexpr std::uint8_t kRefusedLabel = 0xFE;
inline constexpr std::uint8_t kRefusedCap = 0xFD;
// 0..5: that message word.

template <class T>
struct [[nodiscard]] Decoded {
  T decoded{};
  std::uint8_t refused = kRefusedLabel;

  constexpr bool ok() const { return refused == kDecodedOk; }
  // Reading a refused message's value is a bug: a compile error in a constant
  // expression, a trap at run time (as for Result).
  constexpr const T& value() const {
    if (!ok()) detail::unchecked_result_access();
    return decoded;
  }
};

template <class T>
constexpr Decoded<T> accept(const T& value) {
  return Decoded<T>{value, kDecodedOk};
}
template <class T>
constexpr Decoded<T> refuse(std::uint8_t what) {
  return Decoded<T>{T{}, what};
}

}  // namespace rootd
