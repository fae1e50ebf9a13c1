// Error and Result: how every parser and rule reports failure.
//
// An Error is a reason code (status.hpp), the byte offset or index it refers
// to and, where the reporter knows it, a typed location: which blob the
// offset is in and what the offset is about (a service row, an entry of a
// service's `after` or `peers` list, a provider, a mount, the profile, a
// handoff module or descriptor) with that thing's index. The location is
// what owner_of (owner.hpp) answers from; the offset stays for people and
// tools. Parsers build `Error{reason, offset}` and leave the location
// unknown. Both types are [[nodiscard]], and a Result's value can only be
// read after checking it: reading the value of a failed Result calls a
// function that is deliberately not constexpr (so misuse fails the build in a
// constant expression) and traps at run time.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>
#include <type_traits>
#include <utility>

#include "rootd/status.hpp"

namespace rootd {

// The input an Error's offset points into.
enum class Blob : std::uint8_t {
  UNKNOWN = 0,  // not recorded (parsers; the reason block tells)
  HANDOFF = 1,
  CONFIG = 2,
};

// What an Error is about. `index` says which one; for list entries `entry`
// is the position in the list of service `index`.
enum class Subject : std::uint8_t {
  NONE = 0,     // the blob as a whole, or not recorded
  SERVICE,      // config service row `index`
  AFTER_ENTRY,  // entry `entry` of service `index`'s `after` list
  PEER_ENTRY,   // entry `entry` of service `index`'s `peers` list
  PROVIDER,     // config provider row `index`
  MOUNT,        // config mount row `index`
  PROFILE,      // the config's profile (`index` unused)
  MODULE,       // handoff module entry `index`
  ENDPOINT,     // handoff endpoint entry `index`
  DESCRIPTOR,   // handoff descriptor (cspace, image frame, untyped `index`, framebuffer)
  SERVICES,     // the config's service table as a whole
};

inline constexpr std::uint16_t kNoSubjectIndex = 0xFFFF;

struct [[nodiscard]] Error {
  Reason reason = Reason::NONE;
  std::uint32_t offset = 0;  // byte offset into the input, or a row index
  Blob blob = Blob::UNKNOWN;
  Subject subject = Subject::NONE;
  std::uint16_t index = kNoSubjectIndex;
  std::uint16_t entry = kNoSubjectIndex;

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
