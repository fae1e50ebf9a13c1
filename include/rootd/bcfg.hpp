// PLACEHOLDER: replaced by the bcfg implementation.
#pragma once
#include "rootd/bytes.hpp"
#include "rootd/result.hpp"
namespace rootd::bcfg {
struct View {};
constexpr Result<View> parse(Bytes) { return Error{Reason::INTERNAL_STATE, 0}; }
}  // namespace rootd::bcfg
