// `erix-bcfg diff`: the authority two boot configs give each service, and
// the difference between them as a review report.
//
// A service's authority is its role, the launch path the role implies, and
// the capabilities of its startup envelope (envelope.hpp's synthesis, the
// same transfer tables `plan` prints). Services are matched by name, and
// capabilities by what they are rather than by where rootd keeps them: the
// service indices of a config, and so rootd's source slots, change with
// every added or removed service without any authority changing.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "planning.hpp"
#include "rootd/authority.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/roles.hpp"

namespace bcfg_tool {

// One capability a service receives. `target` is what it designates: the
// owning service's name for a service, peer or storage endpoint, the
// endpoint kind's name for a dedicated endpoint, "boot-image" for the image
// frame. Ordered by local slot first, the order of a transfer table.
struct CapabilityKey {
  std::uint32_t local_slot = 0;
  rootd::AuthorityKind kind = rootd::AuthorityKind::SERVICE_ENDPOINT;
  std::string target;
  friend auto operator<=>(const CapabilityKey&, const CapabilityKey&) = default;
};

struct ServiceAuthority {
  std::string role;
  rootd::LaunchPath launch = rootd::LaunchPath::PROCD;
  std::map<CapabilityKey, std::uint32_t> capabilities;  // -> rights mask
};

// By service name.
using AuthorityMap = std::map<std::string, ServiceAuthority, std::less<>>;

// Every service's authority in a config that passed every check, with its
// envelopes in `planned` (check_policy with any sources: the sources only
// decide rootd's slots, which the map leaves out).
AuthorityMap authority_of(const rootd::bcfg::View& view, const Planned& planned);

struct AuthorityDiff {
  std::string text;  // the report erix-bcfg diff prints (docs/erix-bcfg.md)
  bool changed = false;
};

AuthorityDiff diff_authority(std::string_view old_name, const AuthorityMap& old_authority,
                             std::string_view new_name, const AuthorityMap& new_authority);

}  // namespace bcfg_tool
