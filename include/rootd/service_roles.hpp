// Each service's catalog role, resolved once per validation.
//
// Every policy check asks "what role has service i" (its own, or a peer's,
// or a provider's), some of them for every peer entry too. Looking the role
// name up in the catalog each time cost about ten name lookups per service
// and dominated validation. resolve_roles() does it once into this table,
// which validate_config, validate_modules, validate_inventory,
// validate_envelopes and plan_order share; each of them still has its
// historical signature, which resolves the table itself.
//
// The table is about 2 KiB at full capacity (one byte per service): small
// enough for rootd's stack, and all-zero by default.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/bcfg.hpp"
#include "rootd/bytes.hpp"
#include "rootd/roles.hpp"

namespace rootd {

inline constexpr std::uint8_t kUnknownRole = 0xFF;

struct ServiceRoles {
  std::uint16_t service_count = 0;
  std::uint16_t unknown_count = 0;  // services whose role is not in the catalog
  RoleSet present{};                // roles with at least one service
  std::uint16_t first_of_role[kRoleCount] = {};  // lowest service index of each role, or kNoIndex
  std::uint8_t role_of[bcfg::kMaxServices] = {};  // role index, or kUnknownRole

  // nullptr for an unknown role or an index outside the config.
  constexpr const Role* role(std::size_t service) const {
    if (service >= service_count || role_of[service] == kUnknownRole) return nullptr;
    return &kRoles[role_of[service]];
  }
  constexpr std::uint16_t first_of(RoleId r) const { return first_of_role[role_index(r)]; }
};

namespace detail {
// One string field of service row i, read in place. View::service() decodes
// all three strings of the row; the checks need one field at a time, once
// per service, and that difference is most of their cost at scale.
struct RowString {
  std::uint32_t offset = 0;  // from the string table's start
  std::uint32_t length = 0;
  friend constexpr bool operator==(RowString, RowString) = default;
};
constexpr RowString row_string(const bcfg::View& config, std::size_t i, std::size_t field) {
  const std::size_t ref = config.service_offset(i) + field;
  return {load_le32(config.bytes(), ref + bcfg::kStrRefOffsetOffset),
          load_le32(config.bytes(), ref + bcfg::kStrRefLengthOffset)};
}
constexpr std::string_view string_of(const bcfg::View& config, RowString s) {
  return chars_at(config.bytes(), config.section_offset(bcfg::Section::STRINGS) + s.offset, s.length);
}
}  // namespace detail

// config.service(i).role, .image and .launch, without decoding the rest.
constexpr std::string_view service_role_name(const bcfg::View& config, std::size_t i) {
  return detail::string_of(config, detail::row_string(config, i, bcfg::kServiceRoleOffset));
}
constexpr std::string_view service_image(const bcfg::View& config, std::size_t i) {
  return detail::string_of(config, detail::row_string(config, i, bcfg::kServiceImageOffset));
}
constexpr bcfg::Launch service_launch(const bcfg::View& config, std::size_t i) {
  return static_cast<bcfg::Launch>(byte_at(config.bytes(), config.service_offset(i) + bcfg::kServiceLaunchOffset));
}

// Fills `out` from `config`. Most services of a config share a handful of
// roles, and consecutive rows often name the same one: the previous answer
// is reused when the row refers to the same string, or to equal bytes.
constexpr void resolve_roles(const bcfg::View& config, ServiceRoles& out) {
  const std::size_t n = config.service_count();
  out.service_count = static_cast<std::uint16_t>(n);
  out.unknown_count = 0;
  out.present = RoleSet{};
  for (auto& f : out.first_of_role) f = bcfg::kNoIndex;
  detail::RowString last_ref{};
  std::string_view last_name{};
  const Role* last = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    const detail::RowString ref = detail::row_string(config, i, bcfg::kServiceRoleOffset);
    const Role* r = last;
    if (i == 0 || ref != last_ref) {
      const std::string_view name = detail::string_of(config, ref);
      if (i == 0 || name != last_name) r = find_role(name);
      last_name = name;
    }
    last_ref = ref;
    last = r;
    if (r == nullptr) {
      out.role_of[i] = kUnknownRole;
      ++out.unknown_count;
      continue;
    }
    const std::size_t k = role_index(r->id);
    out.role_of[i] = static_cast<std::uint8_t>(k);
    if (out.first_of_role[k] == bcfg::kNoIndex) out.first_of_role[k] = static_cast<std::uint16_t>(i);
    out.present = out.present.with(r->id);
  }
}

}  // namespace rootd
