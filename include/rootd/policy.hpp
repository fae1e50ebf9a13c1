// The semantic checks of a boot config that need no handoff: everything
// rootd can reject before it looks at the kernel's inventory, and what
// `erix-bcfg check` reports.
//
// validate_config() runs, in this order, reporting every error it finds:
//   0. the config starts at least one service (a boot that starts nothing
//      would report READY for a system that is not there);
//   1. roles: each service names a catalog role; the launch kind fits the
//      role (drivers launch = "deviced", nothing else); singletons at most once;
//   2. launchers: each foundation role has the ones ranked before it; procd
//      exists when anything is launched through it, deviced when any driver is;
//   3. the profile (profiles.hpp);
//   4. peers: no self-wiring; each peer allowed by the rules (roles.hpp
//      peer_allowed); a storage pair only where a provider row binds it; an
//      EXACT role (loaderd) has one peer of each listed role; peer and
//      storage endpoints together fit the role's peer slots;
//   5. storage: providers and mounts (storage.hpp).
// The `after` lists (self-edges, cycles) are ordering.hpp's.
//
// Every error carries its typed location (owner.hpp): a service row, an
// entry of a `peers` list, a provider or mount row, or the profile;
// owner_of() names the service a DETAIL marker names.
//
// validate_config(config, roles, sink) takes the roles resolved once
// (service_roles.hpp); validate_config(config, sink) resolves them itself.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "rootd/bcfg.hpp"
#include "rootd/owner.hpp"
#include "rootd/profiles.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"
#include "rootd/storage.hpp"

namespace rootd {

namespace detail {

template <class Sink>
constexpr bool check_roles(const bcfg::View& config, const ServiceRoles& roles, Reporter<Sink>& report) {
  std::array<std::uint16_t, kRoleCount> seen{};
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    const Role* r = roles.role(i);
    if (r == nullptr) {
      if (!report(service_error(config, Reason::ROLE_UNKNOWN, i))) return false;
      continue;
    }
    const bool driver = r->launch == LaunchPath::DEVICED;
    const bool by_deviced = service_launch(config, i) == bcfg::Launch::DEVICED;
    if (driver && !by_deviced && !report(service_error(config, Reason::ROLE_DRIVER_NOT_LAUNCHED_BY_DEVICED, i))) {
      return false;
    }
    if (!driver && by_deviced && !report(service_error(config, Reason::ROLE_LAUNCHED_BY_DEVICED_NOT_DRIVER, i))) {
      return false;
    }
    if (++seen[role_index(r->id)] > 1 && r->singleton &&
        !report(service_error(config, Reason::ROLE_SINGLETON_REPEATED, i))) {
      return false;
    }
  }
  return true;
}

template <class Sink>
constexpr bool check_launchers(const bcfg::View& config, const ServiceRoles& roles, Reporter<Sink>& report) {
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    const Role* r = roles.role(i);
    if (r == nullptr) continue;
    const std::optional<RoleId> launcher = launcher_dependency(*r);
    if (!launcher.has_value() || roles.present.has(*launcher)) continue;
    // Foundation roles chain to the one ranked before them; an absent link
    // anywhere below also shows up as the absent predecessor.
    Reason reason = Reason::ROLE_FOUNDATION_INCOMPLETE;
    if (r->launch == LaunchPath::DEVICED) reason = Reason::ROLE_DEVICED_MISSING;
    if (r->launch == LaunchPath::PROCD || r->launch == LaunchPath::PROBE) reason = Reason::ROLE_PROCD_MISSING;
    if (!report(service_error(config, reason, i))) return false;
  }
  return true;
}

template <class Sink>
[[gnu::always_inline]] constexpr bool check_peers(const bcfg::View& config, const ServiceRoles& roles, std::size_t i,
                           std::span<std::uint16_t, kMaxStoragePeers> storage, Reporter<Sink>& report) {
  const Role* r = roles.role(i);
  if (r == nullptr) return true;
  const std::size_t storage_count = storage_peers(config, roles, i, storage);
  const bcfg::IndexList peers = config.peers(i);
  RoleSet exact_seen{};
  bool exact_repeated = false;
  std::size_t storage_also_listed = 0;
  for (std::size_t k = 0; k < peers.size(); ++k) {
    const std::uint16_t j = peers[k];
    if (j == i) {
      if (!report(peer_entry_error(config, Reason::PEER_SELF, i, k))) return false;
      continue;
    }
    const Role* rj = roles.role(j);
    if (rj == nullptr) continue;
    if (storage_pair(*r, *rj)) {
      bool bound = false;
      for (std::size_t s = 0; s < storage_count; ++s) bound = bound || storage[s] == j;
      if (!bound && !report(peer_entry_error(config, Reason::PEER_STORAGE_WITHOUT_PROVIDER, i, k))) return false;
      storage_also_listed += bound;
      continue;
    }
    if (!peer_allowed(*r, *rj)) {
      if (!report(peer_entry_error(config, Reason::PEER_NOT_PERMITTED, i, k))) return false;
      continue;
    }
    if (r->peer_policy == PeerPolicy::EXACT) {
      exact_repeated = exact_repeated || exact_seen.has(rj->id);
      exact_seen = exact_seen.with(rj->id);
    }
  }
  if (r->peer_policy == PeerPolicy::EXACT && (exact_seen != r->private_peers || exact_repeated)) {
    if (!report(service_error(config, Reason::PEER_EXACT_SET_INCOMPLETE, i))) return false;
  }
  const std::size_t wired = peers.size() + storage_count - storage_also_listed;
  if (wired > r->max_peers && !report(service_error(config, Reason::PEER_CAPACITY_EXCEEDED, i))) return false;
  return true;
}

}  // namespace detail

// Every config-only check; true when the config is valid. `roles` must be
// resolve_roles(config).
template <class Sink>
constexpr bool validate_config(const bcfg::View& config, const ServiceRoles& roles, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  auto forward = [&report](Error e) { return report(e); };
  if (config.service_count() == 0 && !report(services_error(config, Reason::CONFIG_NO_SERVICES))) return false;
  if (!detail::check_roles(config, roles, report)) return false;
  if (!detail::check_launchers(config, roles, report)) return false;
  validate_profile_config(config, roles, forward);
  if (report.stopped()) return false;
  // Scratch for each service's storage peers, filled afresh per service
  // (zeroing it per service cost more than the check itself).
  std::array<std::uint16_t, kMaxStoragePeers> storage{};
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    if (!detail::check_peers(config, roles, i, storage, report)) return false;
  }
  validate_storage(config, roles, forward);
  return report.clean();
}

template <class Sink>
constexpr bool validate_config(const bcfg::View& config, Sink&& sink) {
  ServiceRoles roles;
  resolve_roles(config, roles);
  return validate_config(config, roles, sink);
}

}  // namespace rootd
