// The semantic checks of a boot config that need no handoff: everything
// rootd can reject before it looks at the kernel's inventory, and what
// `erix-bcfg check` reports.
//
// validate_config() runs, in this order, reporting every error it finds:
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
// Offsets are byte offsets in the bcfg blob: a service row, the entry of a
// `peers` list, a provider or mount row, or the profile row.
// service_for_offset() maps one back to the service a DETAIL marker names.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rootd/bcfg.hpp"
#include "rootd/profiles.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/sink.hpp"
#include "rootd/storage.hpp"

namespace rootd {

// The service an error offset refers to, or bcfg::kNoIndex: a service row
// or one of its after/peers entries names that service; a provider row
// names its filesystem service; a mount row its provider's.
constexpr std::uint16_t service_for_offset(const bcfg::View& config, std::uint32_t offset) {
  const std::size_t services = config.service_count();
  const std::uint32_t first_row = config.section_offset(bcfg::Section::SERVICES);
  if (offset >= first_row && offset - first_row < services * bcfg::kServiceRowSize) {
    return static_cast<std::uint16_t>((offset - first_row) / bcfg::kServiceRowSize);
  }
  for (std::size_t i = 0; i < services; ++i) {
    const std::uint32_t after = config.after_offset(i);
    const std::uint32_t peers = config.peers_offset(i);
    if (offset >= after && offset - after < config.after(i).size() * bcfg::kEdgeRowSize) {
      return static_cast<std::uint16_t>(i);
    }
    if (offset >= peers && offset - peers < config.peers(i).size() * bcfg::kEdgeRowSize) {
      return static_cast<std::uint16_t>(i);
    }
  }
  const std::uint32_t first_provider = config.section_offset(bcfg::Section::PROVIDERS);
  if (offset >= first_provider && offset - first_provider < config.provider_count() * bcfg::kProviderRowSize) {
    return config.provider((offset - first_provider) / bcfg::kProviderRowSize).service;
  }
  const std::uint32_t first_mount = config.section_offset(bcfg::Section::MOUNTS);
  if (offset >= first_mount && offset - first_mount < config.mount_count() * bcfg::kMountRowSize) {
    const bcfg::Mount m = config.mount((offset - first_mount) / bcfg::kMountRowSize);
    return config.provider(m.provider).service;
  }
  return bcfg::kNoIndex;
}

namespace detail {

template <class Sink>
constexpr bool check_roles(const bcfg::View& config, Reporter<Sink>& report, RoleSet& present) {
  std::array<std::uint16_t, kRoleCount> seen{};
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    const bcfg::Service s = config.service(i);
    const std::uint32_t at = config.service_offset(i);
    const Role* r = find_role(s.role);
    if (r == nullptr) {
      if (!report(Reason::ROLE_UNKNOWN, at)) return false;
      continue;
    }
    present = present.with(r->id);
    const bool driver = r->launch == LaunchPath::DEVICED;
    const bool by_deviced = s.launch == bcfg::Launch::DEVICED;
    if (driver && !by_deviced && !report(Reason::ROLE_DRIVER_NOT_LAUNCHED_BY_DEVICED, at)) return false;
    if (!driver && by_deviced && !report(Reason::ROLE_LAUNCHED_BY_DEVICED_NOT_DRIVER, at)) return false;
    if (++seen[role_index(r->id)] > 1 && r->singleton && !report(Reason::ROLE_SINGLETON_REPEATED, at)) {
      return false;
    }
  }
  return true;
}

template <class Sink>
constexpr bool check_launchers(const bcfg::View& config, Reporter<Sink>& report, RoleSet present) {
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    const Role* r = find_role(config.service(i).role);
    if (r == nullptr) continue;
    const std::optional<RoleId> launcher = launcher_dependency(*r);
    if (!launcher.has_value() || present.has(*launcher)) continue;
    // Foundation roles chain to the one ranked before them; an absent link
    // anywhere below also shows up as the absent predecessor.
    Reason reason = Reason::ROLE_FOUNDATION_INCOMPLETE;
    if (r->launch == LaunchPath::DEVICED) reason = Reason::ROLE_DEVICED_MISSING;
    if (r->launch == LaunchPath::PROCD || r->launch == LaunchPath::PROBE) reason = Reason::ROLE_PROCD_MISSING;
    if (!report(reason, config.service_offset(i))) return false;
  }
  return true;
}

template <class Sink>
constexpr bool check_peers(const bcfg::View& config, std::size_t i, Reporter<Sink>& report) {
  const Role* r = find_role(config.service(i).role);
  if (r == nullptr) return true;
  std::array<std::uint16_t, kMaxStoragePeers> storage{};
  const std::size_t storage_count = storage_peers(config, i, storage);
  const bcfg::IndexList peers = config.peers(i);
  RoleSet exact_seen{};
  bool exact_repeated = false;
  std::size_t storage_also_listed = 0;
  for (std::size_t k = 0; k < peers.size(); ++k) {
    const std::uint16_t j = peers[k];
    const std::uint32_t at = config.peers_offset(i) + static_cast<std::uint32_t>(k * bcfg::kEdgeRowSize);
    if (j == i) {
      if (!report(Reason::PEER_SELF, at)) return false;
      continue;
    }
    const Role* rj = find_role(config.service(j).role);
    if (rj == nullptr) continue;
    if (storage_pair(*r, *rj)) {
      bool bound = false;
      for (std::size_t s = 0; s < storage_count; ++s) bound = bound || storage[s] == j;
      if (!bound && !report(Reason::PEER_STORAGE_WITHOUT_PROVIDER, at)) return false;
      storage_also_listed += bound;
      continue;
    }
    if (!peer_allowed(*r, *rj)) {
      if (!report(Reason::PEER_NOT_PERMITTED, at)) return false;
      continue;
    }
    if (r->peer_policy == PeerPolicy::EXACT) {
      exact_repeated = exact_repeated || exact_seen.has(rj->id);
      exact_seen = exact_seen.with(rj->id);
    }
  }
  const std::uint32_t row = config.service_offset(i);
  if (r->peer_policy == PeerPolicy::EXACT && (exact_seen != r->private_peers || exact_repeated)) {
    if (!report(Reason::PEER_EXACT_SET_INCOMPLETE, row)) return false;
  }
  const std::size_t wired = peers.size() + storage_count - storage_also_listed;
  if (wired > r->max_peers && !report(Reason::PEER_CAPACITY_EXCEEDED, row)) return false;
  return true;
}

}  // namespace detail

// Every config-only check; true when the config is valid.
template <class Sink>
constexpr bool validate_config(const bcfg::View& config, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  auto forward = [&report](Error e) { return report(e); };
  RoleSet present{};
  if (!detail::check_roles(config, report, present)) return false;
  if (!detail::check_launchers(config, report, present)) return false;
  validate_profile_config(config, forward);
  if (report.stopped()) return false;
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    if (!detail::check_peers(config, i, report)) return false;
  }
  validate_storage(config, forward);
  return report.clean();
}

}  // namespace rootd
