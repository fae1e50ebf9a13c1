// The storage stack of a boot config: provider rows and MNT1 mount rows.
//
// A provider row is the only way storage-private authority moves: vfsd
// receives the endpoint of each provider's filesystem service, and that
// filesystem service receives the endpoints of the provider's block and key
// services. None of these roles is public, so `peers` cannot wire them on
// its own (roles.hpp: storage_pair).
//
// Rules (each a reason code):
//   - a provider's service has a filesystem role; its block service (if any)
//     the block role; its key service (if any) the key role;
//   - the filesystem role decides whether block and key may, must or must
//     not be given; a partition needs a block service;
//   - each filesystem service serves one provider (its block/key authority
//     stays specific to that medium), and every provider is mounted;
//   - vfsd exists whenever there is storage, and storage then has exactly
//     one root mount "/";
//   - mount paths are absolute and normal: no "//", no trailing "/", no "."
//     or ".." component. Uniqueness and provider references are structural
//     (bcfg parse), so two normal paths never name the same mount point.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "rootd/bcfg.hpp"
#include "rootd/owner.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"

namespace rootd {

inline constexpr std::size_t kMaxStoragePeers = 2 * bcfg::kMaxProviders;  // block + key per provider
static_assert(bcfg::kMaxProviders <= kMaxPeerLocalSlots, "vfsd needs a peer slot per provider");

constexpr const Role* service_role(const bcfg::View& config, std::size_t service) {
  return find_role(config.service(service).role);
}

// Reason::NONE when `path` is an absolute, normal mount path.
constexpr Reason mount_path_problem(std::string_view path) {
  if (path.empty() || path[0] != '/') return Reason::MOUNT_PATH_NOT_ABSOLUTE;
  if (path.size() == 1) return Reason::NONE;
  std::size_t start = 1;  // first byte of the current component
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    const std::string_view component(path.data() + start, i - start);
    if (component.empty()) {
      return i == path.size() ? Reason::MOUNT_PATH_TRAILING_SLASH : Reason::MOUNT_PATH_EMPTY_COMPONENT;
    }
    if (component == "." || component == "..") return Reason::MOUNT_PATH_DOT_COMPONENT;
    start = i + 1;
  }
  return Reason::NONE;
}

// Whether a provider row makes `to` a storage-private peer of `from`.
constexpr bool storage_bound(const bcfg::View& config, std::size_t from, std::size_t to) {
  const Role* from_role = service_role(config, from);
  if (from_role == nullptr) return false;
  for (std::size_t p = 0; p < config.provider_count(); ++p) {
    const bcfg::Provider provider = config.provider(p);
    if (from_role->storage == StorageClass::VFS && provider.service == to) return true;
    if (provider.service == from && (provider.block == to || provider.key == to)) return true;
  }
  return false;
}

namespace detail {
constexpr std::size_t storage_peers_of(const bcfg::View& config, const Role* from_role, std::size_t from,
                                       std::span<std::uint16_t, kMaxStoragePeers> out) {
  if (from_role == nullptr) return 0;
  std::size_t n = 0;
  auto insert = [&](std::uint16_t s) {
    if (s == bcfg::kNoIndex || n == out.size()) return;
    std::size_t at = 0;
    while (at < n && out[at] < s) ++at;
    if (at < n && out[at] == s) return;
    for (std::size_t k = n; k > at; --k) out[k] = out[k - 1];
    out[at] = s;
    ++n;
  };
  for (std::size_t p = 0; p < config.provider_count(); ++p) {
    const bcfg::Provider provider = config.provider(p);
    if (from_role->storage == StorageClass::VFS) insert(provider.service);
    if (provider.service == from) {
      insert(provider.block);
      insert(provider.key);
    }
  }
  return n;
}
}  // namespace detail

// The services whose endpoints provider rows give to service `from`,
// ascending and without repeats. Returns how many were written to `out`.
constexpr std::size_t storage_peers(const bcfg::View& config, const ServiceRoles& roles, std::size_t from,
                                    std::span<std::uint16_t, kMaxStoragePeers> out) {
  if (config.provider_count() == 0) return 0;
  return detail::storage_peers_of(config, roles.role(from), from, out);
}
constexpr std::size_t storage_peers(const bcfg::View& config, std::size_t from,
                                    std::span<std::uint16_t, kMaxStoragePeers> out) {
  return detail::storage_peers_of(config, service_role(config, from), from, out);
}

namespace detail {
template <class Sink>
constexpr bool check_provider(const bcfg::View& config, const ServiceRoles& roles, std::size_t p,
                              Reporter<Sink>& report) {
  const bcfg::Provider provider = config.provider(p);
  auto fail = [&](Reason r) { return report(provider_error(config, r, p)); };
  const Role* fs = roles.role(provider.service);
  if (fs == nullptr) return true;  // ROLE_UNKNOWN, reported by the role checks
  if (fs->storage != StorageClass::FILESYSTEM) return fail(Reason::PROVIDER_SERVICE_NOT_FILESYSTEM);
  if (provider.block != bcfg::kNoIndex) {
    const Role* block = roles.role(provider.block);
    if (block != nullptr && block->storage != StorageClass::BLOCK) {
      if (!fail(Reason::PROVIDER_BLOCK_NOT_BLOCK_SERVICE)) return false;
    }
    if (fs->block == Need::FORBIDDEN && !fail(Reason::PROVIDER_BLOCK_FORBIDDEN)) return false;
  } else {
    if (fs->block == Need::REQUIRED && !fail(Reason::PROVIDER_BLOCK_REQUIRED)) return false;
    if (provider.partition != bcfg::kNoPartition && !fail(Reason::PROVIDER_PARTITION_WITHOUT_BLOCK)) {
      return false;
    }
  }
  if (provider.key != bcfg::kNoIndex) {
    const Role* key = roles.role(provider.key);
    if (key != nullptr && key->storage != StorageClass::KEY) {
      if (!fail(Reason::PROVIDER_KEY_NOT_KEY_SERVICE)) return false;
    }
    if (fs->key == Need::FORBIDDEN && !fail(Reason::PROVIDER_KEY_FORBIDDEN)) return false;
  }
  for (std::size_t q = 0; q < p; ++q) {
    if (config.provider(q).service == provider.service) return fail(Reason::PROVIDER_SERVICE_SHARED);
  }
  return true;
}
}  // namespace detail

// Every storage rule above; config only. Locations: the provider or mount
// row; for a missing vfsd the first provider (or mount); for a missing root
// vfsd's service row (or the first provider).
template <class Sink>
constexpr bool validate_storage(const bcfg::View& config, const ServiceRoles& roles, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  const std::size_t vfsd = roles.first_of(RoleId::VFSD);
  const bool has_vfsd = vfsd != bcfg::kNoIndex;
  for (std::size_t p = 0; p < config.provider_count(); ++p) {
    if (!detail::check_provider(config, roles, p, report)) return false;
    bool mounted = false;
    for (std::size_t m = 0; m < config.mount_count(); ++m) mounted = mounted || config.mount(m).provider == p;
    if (!mounted && !report(provider_error(config, Reason::PROVIDER_NOT_MOUNTED, p))) return false;
  }
  bool has_root = false;
  for (std::size_t m = 0; m < config.mount_count(); ++m) {
    const std::string_view path = config.mount(m).path;
    has_root = has_root || path == "/";
    const Reason problem = mount_path_problem(path);
    if (problem != Reason::NONE && !report(mount_error(config, problem, m))) return false;
  }
  const bool has_storage = config.provider_count() > 0 || config.mount_count() > 0;
  if (has_storage && !has_vfsd) {
    const Error e = config.provider_count() > 0 ? provider_error(config, Reason::STORAGE_VFSD_MISSING, 0)
                                                : mount_error(config, Reason::STORAGE_VFSD_MISSING, 0);
    if (!report(e)) return false;
  }
  if ((has_storage || has_vfsd) && !has_root) {
    const Error e = has_vfsd ? service_error(config, Reason::MOUNT_ROOT_MISSING, vfsd)
                             : provider_error(config, Reason::MOUNT_ROOT_MISSING, 0);
    if (!report(e)) return false;
  }
  return report.clean();
}

template <class Sink>
constexpr bool validate_storage(const bcfg::View& config, Sink&& sink) {
  ServiceRoles roles;
  resolve_roles(config, roles);
  return validate_storage(config, roles, sink);
}

}  // namespace rootd
