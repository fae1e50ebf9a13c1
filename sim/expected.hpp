// Expected<T, E>: a value or the error that prevented it, for host-side sim
// code. C++20 has no std::expected; this is the small subset the simulator
// needs. Reading the wrong alternative throws std::logic_error, since that is
// a bug in the caller, not a condition of the input.
#pragma once

#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace erix::sim {

template <class E>
struct Unexpected {
  E error;
};

template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
  return {std::forward<E>(error)};
}

template <class T, class E>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  template <class G>
  Expected(Unexpected<G> error) : state_(std::in_place_index<1>, std::move(error.error)) {}  // NOLINT

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    if (!has_value()) throw std::logic_error("Expected::value() on an error");
    return std::get<0>(state_);
  }
  const T& value() const& {
    if (!has_value()) throw std::logic_error("Expected::value() on an error");
    return std::get<0>(state_);
  }
  T&& value() && {
    if (!has_value()) throw std::logic_error("Expected::value() on an error");
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const {
    if (has_value()) throw std::logic_error("Expected::error() on a value");
    return std::get<1>(state_);
  }

 private:
  std::variant<T, E> state_;
};

// Success with nothing to return, or the error.
template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;
  template <class G>
  Expected(Unexpected<G> error) : error_(std::move(error.error)), failed_(true) {}  // NOLINT

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }

  const E& error() const {
    if (!failed_) throw std::logic_error("Expected::error() on a value");
    return error_;
  }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace erix::sim
