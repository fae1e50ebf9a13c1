// Error and Result: how every parser and rule reports failure.
//
// An Error is a reason code (status.hpp) plus the byte offset or index it
// refers to. Both types are [[nodiscard]], and a Result's value can only be
// read after checking it: reading the value of a failed Result calls a
// function that is deliberately not constexpr (so misuse fails the build in a
// constant expression) and traps at run time.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "rootd/status.hpp"

namespace rootd {

struct [[nodiscard]] Error {
  Reason reason = Reason::NONE;
  std::uint32_t offset = 0;  // byte offset into the input, or a row index

  constexpr Status status() const { return reason_status(reason); }
  friend constexpr bool operator==(const Error&, const Error&) = default;
};

namespace detail {
// Not constexpr on purpose: reaching it during constant evaluation is a
// compile error; at run time it stops the program where the bug is.
[[noreturn]] inline void unchecked_result_access() { __builtin_trap(); }
}  // namespace detail

template <class T>
class [[nodiscard]] Result {
  static_assert(std::is_default_constructible_v<T>);

 public:
  constexpr Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  constexpr Result(Error error) : error_(error) {          // NOLINT: implicit by design
    if (error_.reason == Reason::NONE) error_.reason = Reason::INTERNAL_STATE;
  }

  constexpr bool ok() const { return error_.reason == Reason::NONE; }
  constexpr explicit operator bool() const { return ok(); }
  constexpr Error error() const { return error_; }

  constexpr const T& value() const& {
    if (!ok()) detail::unchecked_result_access();
    return value_;
  }
  constexpr T& value() & {
    if (!ok()) detail::unchecked_result_access();
    return value_;
  }
  constexpr const T* operator->() const { return &value(); }
  constexpr const T& operator*() const { return value(); }

 private:
  T value_{};
  Error error_{};
};

// Result of an operation with no value: an Error where NONE means success.
using Check = Error;

constexpr bool ok(Check c) { return c.reason == Reason::NONE; }
inline constexpr Check kOk{};

}  // namespace rootd
