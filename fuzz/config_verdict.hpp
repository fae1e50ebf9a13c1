// What rootd concludes about a boot-config blob, as one comparable value,
// computed by a function that also runs in a constant expression. The
// differential target compares it computed at compile time (static_assert
// over fixed corpus entries) with the same function at run time, and with
// the erix-bcfg pipeline's independent, vector-based collection of errors.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rootd/bcfg.hpp"
#include "rootd/ordering.hpp"
#include "rootd/policy.hpp"
#include "rootd/result.hpp"

namespace rootd_fuzz {

struct ConfigVerdict {
  rootd::Error parse_error{};  // NONE: the blob parsed
  bool config_valid = false;   // validate_config
  rootd::Error first_config_error{};
  std::size_t config_errors = 0;
  bool planned = false;  // plan_order
  rootd::Error first_plan_error{};
  std::size_t plan_errors = 0;
  std::uint16_t wave_count = 0;
  std::uint16_t cycle_length = 0;
  std::uint32_t plan_digest = 0;  // FNV-1a over the launch order and every wave

  friend constexpr bool operator==(const ConfigVerdict&, const ConfigVerdict&) = default;
};

namespace detail {

// Counts errors and keeps the first; never stops the validator.
struct FirstAndCount {
  rootd::Error first{};
  std::size_t count = 0;
  constexpr bool operator()(rootd::Error e) {
    if (count == 0) first = e;
    ++count;
    return true;
  }
};

constexpr std::uint32_t fnv1a(std::uint32_t h, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    h ^= (v >> (8 * i)) & 0xFFU;
    h *= 16777619U;
  }
  return h;
}

}  // namespace detail

constexpr ConfigVerdict config_verdict(rootd::Bytes blob) {
  ConfigVerdict v;
  const rootd::Result<rootd::bcfg::View> parsed = rootd::bcfg::parse(blob);
  if (!parsed) {
    v.parse_error = parsed.error();
    return v;
  }
  detail::FirstAndCount config_sink;
  v.config_valid = rootd::validate_config(*parsed, config_sink);
  v.first_config_error = config_sink.first;
  v.config_errors = config_sink.count;

  // Too large for a constexpr stack frame and for most run-time stacks; the
  // transient allocation is what a constant expression allows.
  auto* plan = new rootd::OrderPlan();
  detail::FirstAndCount plan_sink;
  v.planned = rootd::plan_order(*parsed, *plan, plan_sink);
  v.first_plan_error = plan_sink.first;
  v.plan_errors = plan_sink.count;
  v.wave_count = plan->wave_count;
  v.cycle_length = plan->cycle_length;
  std::uint32_t h = 2166136261U;
  if (v.planned) {
    for (std::size_t i = 0; i < plan->service_count; ++i) {
      h = detail::fnv1a(h, plan->order[i]);
      h = detail::fnv1a(h, plan->wave[i]);
    }
  } else {
    for (std::size_t k = 0; k < plan->cycle_length; ++k) h = detail::fnv1a(h, plan->cycle[k]);
  }
  v.plan_digest = h;
  delete plan;
  return v;
}

}  // namespace rootd_fuzz
