// Validation profiles: what a boot config's `profile` id demands of the
// service graph and of the boot modules.
//
// `none` is the runtime profile and demands nothing beyond the general
// rules. A phase profile names the roles its smoke or integration scenario
// exercises, the extra boot modules it reads, whether rootd spawns a probe
// and waits for its completion before READY, and whether the filesystem
// stack must be block-backed.
//
// The checks are split by what they need:
//   validate_profile_config(bcfg::View[, ServiceRoles], sink)
//                                               config only (erix-bcfg check runs it)
//   profile modules                             against the handoff, in inventory.hpp
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rootd/bcfg.hpp"
#include "rootd/owner.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"

namespace rootd {

inline constexpr std::size_t kMaxProfileModules = 2;
// Profile ids are [a-z0-9-]; the seed's longest, phase4-loader-materialized-launch,
// has 33 characters.
inline constexpr std::size_t kMaxProfileIdLength = bcfg::kMaxProfileLength;  // the blob's own limit

struct Profile {
  std::string_view id;
  RoleSet required_roles;  // at least one service of each
  std::array<std::string_view, kMaxProfileModules> modules;
  std::uint8_t module_count;
  std::optional<RoleId> probe;  // the role of the probe rootd spawns; it waits for its completion
  bool needs_block_storage;     // some provider sits on a block service
  Prose summary;  // roles.hpp
};

namespace detail {
inline constexpr RoleSet kFoundationRoles = role_set(RoleId::MEMD, RoleId::VSPACED, RoleId::PAGERD, RoleId::PROCD);
// loaderd with its two explicit peers.
inline constexpr RoleSet kLoaderRoles = role_set(RoleId::LOADERD, RoleId::VFSD, RoleId::PROCD);
// The real block-backed filesystem stack beneath vfsd.
inline constexpr RoleSet kBlockStackRoles =
    role_set(RoleId::DEVICED, RoleId::DRV_VIRTIO_BLOCK, RoleId::BLOCKD, RoleId::E2FSD);
}  // namespace detail

inline constexpr Profile kProfiles[] = {
    {"none", {}, {}, 0, std::nullopt, false, "runtime images: the general rules only"},
    {"phase0", detail::kFoundationRoles.with(RoleId::PHASE0_PROBE), {}, 0, RoleId::PHASE0_PROBE, false,
     "foundation smoke: the probe checks memd, vspaced, pagerd and procd"},
    {"phase3-framebuffer", detail::kFoundationRoles.with(RoleId::FBCOND), {{"console-font"}}, 1, std::nullopt,
     false, "framebuffer console with its font"},
    {"phase3-input",
     role_set(RoleId::DEVICED, RoleId::DRV_I8042, RoleId::DRV_PS2_KBD, RoleId::DRV_PS2_MOUSE, RoleId::INPUTD), {},
     0, std::nullopt, false, "PS/2 input path"},
    {"phase4-loader-contract", detail::kLoaderRoles.with(RoleId::RAMFSD), {}, 0, std::nullopt, false,
     "loader ABI over the memory-backed VFS stack"},
    {"phase4-loader-fs-discovery", RoleSet{detail::kLoaderRoles.bits | detail::kBlockStackRoles.bits}, {}, 0,
     std::nullopt, true, "loader discovers executables on block-backed storage"},
    {"phase4-loader-materialized-launch", RoleSet{detail::kLoaderRoles.bits | detail::kBlockStackRoles.bits}, {},
     0, std::nullopt, true, "loader materializes disk executables and launches them through procd"},
    {"phase4-loader-cleanup-authority", RoleSet{detail::kLoaderRoles.bits | detail::kBlockStackRoles.bits}, {}, 0,
     std::nullopt, true, "loader cleanup faults leave no inherited authority"},
    {"phase4-loader-closure", RoleSet{detail::kLoaderRoles.bits | detail::kBlockStackRoles.bits}, {}, 0,
     std::nullopt, true, "the phase 4 loader gate: all loader scenarios together"},
};
inline constexpr std::size_t kProfileCount = sizeof(kProfiles) / sizeof(kProfiles[0]);

constexpr const Profile* find_profile(std::string_view id) {
  for (const Profile& p : kProfiles) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

constexpr bool spawns_probe(const Profile& p) { return p.probe.has_value(); }

// Whether the profile `id` reads boot module `module`.
constexpr bool profile_lists_module(std::string_view id, std::string_view module) {
  const Profile* p = find_profile(id);
  for (std::size_t m = 0; p != nullptr && m < p->module_count; ++m) {
    if (p->modules[m] == module) return true;
  }
  return false;
}

namespace detail {
constexpr bool profile_id_is_well_formed(std::string_view id) {
  if (id.empty() || id.size() > kMaxProfileIdLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

constexpr bool profiles_are_sound() {
  for (std::size_t i = 0; i < kProfileCount; ++i) {
    const Profile& p = kProfiles[i];
    if (!profile_id_is_well_formed(p.id)) return false;
    for (std::size_t j = i + 1; j < kProfileCount; ++j) {
      if (p.id == kProfiles[j].id) return false;
    }
    if (p.module_count > kMaxProfileModules) return false;
    for (std::size_t m = 0; m < p.module_count; ++m) {
      if (!bcfg::name_is_well_formed(p.modules[m])) return false;
    }
    // The probe is a required role, launched as a probe.
    if (p.probe.has_value()) {
      if (!p.required_roles.has(*p.probe)) return false;
      if (role(*p.probe).launch != LaunchPath::PROBE) return false;
    }
    // A block-backed stack is spelled out in the required roles.
    if (p.needs_block_storage && !p.required_roles.has(RoleId::BLOCKD)) return false;
  }
  // Every probe role belongs to a profile that spawns it.
  for (const Role& r : kRoles) {
    if (r.launch != LaunchPath::PROBE) continue;
    bool spawned = false;
    for (const Profile& p : kProfiles) spawned = spawned || (p.probe.has_value() && *p.probe == r.id);
    if (!spawned) return false;
  }
  // A module grant serves a module some profile reads, whose consumer that
  // profile requires.
  for (const ModuleGrant& g : kModuleGrants) {
    bool read = false;
    for (const Profile& p : kProfiles) {
      for (std::size_t m = 0; m < p.module_count; ++m) {
        read = read || (p.modules[m] == g.module && p.required_roles.has(g.consumer));
      }
    }
    if (!read) return false;
  }
  return kProfiles[0].id == "none" && kProfiles[0].required_roles.empty();
}
}  // namespace detail
static_assert(detail::profiles_are_sound(), "profiles: ids, modules and probes must be consistent");

// The config-only part of a profile: the id is known, every required role
// has a service, a probe role appears only where the profile spawns it, and
// a block-backed profile has a provider on a block service. Locations: the
// profile for profile-wide errors, the service row for a probe.
template <class Sink>
constexpr bool validate_profile_config(const bcfg::View& config, const ServiceRoles& roles, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  const Profile* profile = find_profile(config.profile());
  if (profile == nullptr) {
    report(profile_error(config, Reason::PROFILE_UNKNOWN));
    return false;
  }
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    const Role* r = roles.role(i);
    if (r == nullptr || r->launch != LaunchPath::PROBE) continue;  // ROLE_UNKNOWN is policy.hpp's
    const bool expected_probe = profile->probe.has_value() && *profile->probe == r->id;
    if (!expected_probe && !report(service_error(config, Reason::PROFILE_PROBE_UNEXPECTED, i))) return false;
  }
  for (const Role& r : kRoles) {
    if (profile->required_roles.has(r.id) && !roles.present.has(r.id)) {
      if (!report(profile_error(config, Reason::PROFILE_ROLE_MISSING))) return false;
    }
  }
  if (profile->needs_block_storage) {
    bool block_backed = false;
    for (std::size_t p = 0; p < config.provider_count(); ++p) {
      block_backed = block_backed || config.provider(p).block != bcfg::kNoIndex;
    }
    if (!block_backed && !report(profile_error(config, Reason::PROFILE_BLOCK_STORAGE_MISSING))) return false;
  }
  return report.clean();
}

template <class Sink>
constexpr bool validate_profile_config(const bcfg::View& config, Sink&& sink) {
  ServiceRoles roles;
  resolve_roles(config, roles);
  return validate_profile_config(config, roles, sink);
}

}  // namespace rootd
