// Text for rights masks and role sets, shared by erix-bcfg's reports, its
// policy messages and the authority-table generator (host only).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/roles.hpp"

namespace bcfg_tool {

// "send|grant" style; `none` when no bit is set.
inline std::string rights_text(std::uint32_t rights, std::string_view separator, std::string_view none) {
  std::string out;
  for (const auto& right : rootd::abi::kRightNames) {
    if ((rights & right.bit) == 0) continue;
    if (!out.empty()) out += separator;
    out += right.name;
  }
  return out.empty() ? std::string(none) : out;
}

// Role names of a set in catalog order, comma separated; `none` when empty.
inline std::string role_list(rootd::RoleSet set, std::string_view none) {
  std::string out;
  for (const rootd::Role& r : rootd::kRoles) {
    if (!set.has(r.id)) continue;
    if (!out.empty()) out += ", ";
    out += r.name;
  }
  return out.empty() ? std::string(none) : out;
}

}  // namespace bcfg_tool
