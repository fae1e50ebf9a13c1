// Error sinks: how a validator that can find several independent errors
// hands them to its caller, who picks the failure policy.
//
// A validator takes `Sink&& sink`, any callable `bool(Error)`, and calls it
// once per error in a deterministic order; the sink returns false to stop
// the validator early. The validator returns true when it reported nothing.
// rootd passes FirstError (fail closed, keep the one DETAIL it reports);
// erix-bcfg `check` collects every error; tests use ErrorCollector in
// constant expressions.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>

#include "rootd/result.hpp"

namespace rootd {

// Keeps the first error and stops.
struct FirstError {
  Error error{};
  constexpr bool operator()(Error e) {
    error = e;
    return false;
  }
};

// Keeps up to N errors and never stops; counts the ones that did not fit.
template <std::size_t N>
struct ErrorCollector {
  std::array<Error, N> errors{};
  std::size_t count = 0;
  std::size_t dropped = 0;

  constexpr bool operator()(Error e) {
    if (count < N) {
      errors[count++] = e;
    } else {
      ++dropped;
    }
    return true;
  }
  constexpr bool has(Reason r) const {
    for (std::size_t i = 0; i < count; ++i) {
      if (errors[i].reason == r) return true;
    }
    return false;
  }
};

namespace detail {
// Bookkeeping shared by the validators: remembers that something was
// reported and whether the sink wants more.
template <class Sink>
class Reporter {
 public:
  constexpr explicit Reporter(Sink& sink) : sink_(sink) {}
  // False when the validator must stop now.
  constexpr bool operator()(Error e) {
    clean_ = false;
    if (!sink_(e)) stopped_ = true;
    return !stopped_;
  }
  // An error with no typed location (handoff checks that name only a byte).
  constexpr bool operator()(Reason reason, std::uint32_t offset) { return (*this)(Error{reason, offset}); }
  constexpr bool clean() const { return clean_; }
  constexpr bool stopped() const { return stopped_; }

 private:
  Sink& sink_;
  bool clean_ = true;
  bool stopped_ = false;
};
}  // namespace detail

}  // namespace rootd
