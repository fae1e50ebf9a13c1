// Startup ordering: from a validated config, the dependency graph (explicit
// `after` edges plus the edges the role rules imply), a deterministic launch
// order and the start waves.
//
// A service depends on: every service in its `after` list; every peer it is
// wired to (a peer's endpoint must be served before it is handed out); the
// service that launches it (procd for procd-launched roles and the probe,
// deviced for drivers, the previous foundation service for foundation roles:
// memd -> vspaced -> pagerd -> procd); a block service on its block driver
// (blockd on drv-virtio-block); and through provider rows, a filesystem
// service on its block and key services and vfsd on every provider's
// filesystem service. So a block-backed provider starts in the order
// drv-virtio-block -> blockd -> its filesystem -> vfsd whatever `peers` say,
// and a provider whose block service has no driver in the config is refused
// (ORDER_BLOCK_DRIVER_MISSING, at the block service's row).
//
// Wave w holds every service whose longest dependency chain has w links, so
// a wave can start together once the previous waves are READY. The launch
// order lists waves in turn, each by service index (= name order, since the
// config is canonical). Everything is linear in services plus edges, in
// caller-provided storage (OrderPlan is large; rootd keeps it in static
// storage, never on the stack).
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/bcfg.hpp"
#include "rootd/owner.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"

namespace rootd {

enum class EdgeKind : std::uint8_t {
  AFTER = 0,       // explicit `after`
  PEER = 1,        // wired peer
  LAUNCHER = 2,    // procd / deviced launches it
  FOUNDATION = 3,  // memd -> vspaced -> pagerd -> procd
  STORAGE = 4,     // provider rows, and a block service's driver
};

constexpr std::string_view edge_kind_name(EdgeKind k) {
  switch (k) {
    case EdgeKind::AFTER: return "after";
    case EdgeKind::PEER: return "peer";
    case EdgeKind::LAUNCHER: return "launcher";
    case EdgeKind::FOUNDATION: return "foundation";
    case EdgeKind::STORAGE: return "storage";
  }
  return "?";
}

// Upper bound on dependency edges: explicit lists, one launcher edge per
// service, foundation chain, per provider at most block + key + vfsd, and
// the driver edges of the first service of each block role (block roles are
// singletons; a second one is policy's error and gets no driver edge, so the
// bound holds for any config).
inline constexpr std::size_t kMaxBlockDrivers = 1;
namespace detail {
constexpr bool block_driver_roles_fit() {
  for (const Role& r : kRoles) {
    std::size_t drivers = 0;
    for (const Role& d : kRoles) drivers += r.private_peers.has(d.id) && d.launch == LaunchPath::DEVICED ? 1 : 0;
    if (r.storage == StorageClass::BLOCK && (drivers > kMaxBlockDrivers || !r.singleton)) return false;
  }
  return true;
}
static_assert(block_driver_roles_fit(), "a block role must be a singleton with at most kMaxBlockDrivers driver roles");
}  // namespace detail
inline constexpr std::size_t kMaxDependencies = bcfg::kMaxAfterEdges + bcfg::kMaxPeerEdges + bcfg::kMaxServices + 3 +
                                                3 * bcfg::kMaxProviders + kMaxBlockDrivers * kRoleCount;
static_assert(kMaxDependencies < 0xFFFFFFFFULL);

struct OrderPlan {
  std::uint16_t service_count = 0;
  std::uint8_t role_of[bcfg::kMaxServices] = {};  // RoleId index, or kUnknownRole

  // Dependencies of service i: deps[dep_start[i] .. dep_start[i + 1]).
  std::uint32_t dep_start[bcfg::kMaxServices + 1] = {};
  std::uint16_t deps[kMaxDependencies] = {};
  std::uint8_t dep_kind[kMaxDependencies] = {};
  // Dependents of service i (who waits for it), same layout.
  std::uint32_t dependent_start[bcfg::kMaxServices + 1] = {};
  std::uint16_t dependents[kMaxDependencies] = {};

  std::uint16_t order[bcfg::kMaxServices] = {};  // launch order
  std::uint16_t wave[bcfg::kMaxServices] = {};   // wave of service i
  std::uint16_t wave_count = 0;
  std::uint32_t wave_start[bcfg::kMaxServices + 1] = {};  // order[wave_start[w] .. wave_start[w + 1])

  // When the graph has a cycle: its services in dependency direction, each
  // waiting for the next, the last waiting for the first.
  std::uint16_t cycle[bcfg::kMaxServices] = {};
  std::uint16_t cycle_length = 0;

  constexpr std::uint32_t dependency_count(std::size_t i) const { return dep_start[i + 1] - dep_start[i]; }
  constexpr const Role* role_at(std::size_t i) const {
    return role_of[i] == kUnknownRole ? nullptr : &kRoles[role_of[i]];
  }
};

namespace detail {

struct LauncherIndex {
  std::uint16_t by_role[kRoleCount] = {};  // first service of each role, or kNoIndex
};

constexpr LauncherIndex index_roles(const ServiceRoles& roles, OrderPlan& plan) {
  LauncherIndex idx{};
  for (std::size_t k = 0; k < kRoleCount; ++k) idx.by_role[k] = roles.first_of_role[k];
  for (std::size_t i = 0; i < roles.service_count; ++i) plan.role_of[i] = roles.role_of[i];
  return idx;
}

// A block service's driver: the first service of the deviced-launched role
// its role may be wired to (blockd: drv-virtio-block; kMaxBlockDrivers says
// there is at most one such role), as launcher edges name the first
// launcher; kNoIndex when the config has none.
constexpr std::uint16_t block_driver_of(const OrderPlan& plan, const LauncherIndex& idx, std::uint16_t block) {
  const Role* r = plan.role_at(block);
  for (std::size_t k = 0; r != nullptr && k < kRoleCount; ++k) {
    if (r->private_peers.has(kRoles[k].id) && kRoles[k].launch == LaunchPath::DEVICED) return idx.by_role[k];
  }
  return bcfg::kNoIndex;
}

// Whether `after` or `peers` of `from` name `to` already: the order is then
// explicit, and the graph shows the edge once.
constexpr bool listed(const bcfg::View& cfg, std::uint16_t from, std::uint16_t to) {
  for (std::uint16_t d : cfg.after(from)) {
    if (d == to) return true;
  }
  for (std::uint16_t d : cfg.peers(from)) {
    if (d == to) return true;
  }
  return false;
}

// Calls f(dependent, dependency, kind) for every edge, self edges included
// (the caller skips those). A launcher that is absent gives no edge:
// validate_config (policy.hpp) reports it, and planning never runs on a
// config that failed it; here it must only not crash.
template <class F>
constexpr void for_each_edge(const bcfg::View& cfg, const OrderPlan& plan, const LauncherIndex& idx, F&& f) {
  const std::size_t n = cfg.service_count();
  for (std::size_t i = 0; i < n; ++i) {
    const auto me = static_cast<std::uint16_t>(i);
    for (std::uint16_t d : cfg.after(i)) f(me, d, EdgeKind::AFTER);
    for (std::uint16_t p : cfg.peers(i)) f(me, p, EdgeKind::PEER);
    const Role* r = plan.role_at(i);
    if (r == nullptr) continue;  // validate_config reports unknown roles
    const auto launcher = launcher_dependency(*r);
    if (!launcher.has_value()) continue;
    const std::uint16_t l = idx.by_role[role_index(*launcher)];
    if (l == bcfg::kNoIndex) continue;
    f(me, l, r->launch == LaunchPath::FOUNDATION ? EdgeKind::FOUNDATION : EdgeKind::LAUNCHER);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto me = static_cast<std::uint16_t>(i);
    const Role* r = plan.role_at(i);
    if (r == nullptr || r->storage != StorageClass::BLOCK || idx.by_role[role_index(r->id)] != me) continue;
    const std::uint16_t driver = block_driver_of(plan, idx, me);
    if (driver != bcfg::kNoIndex && !listed(cfg, me, driver)) f(me, driver, EdgeKind::STORAGE);
  }
  const std::uint16_t vfsd = idx.by_role[role_index(RoleId::VFSD)];
  for (std::size_t p = 0; p < cfg.provider_count(); ++p) {
    const bcfg::Provider prov = cfg.provider(p);
    if (prov.block != bcfg::kNoIndex) f(prov.service, prov.block, EdgeKind::STORAGE);
    if (prov.key != bcfg::kNoIndex) f(prov.service, prov.key, EdgeKind::STORAGE);
    if (vfsd != bcfg::kNoIndex) f(vfsd, prov.service, EdgeKind::STORAGE);
  }
}

}  // namespace detail

// Builds the dependency graph, the order and the waves. Reports every error
// found through `sink` (see policy contract: return false to stop early) and
// returns true when there was none. Self-dependencies are reported and left
// out of the graph; a cycle is reported once, with plan.cycle filled in.
// Locations: the `after` entry naming the service itself; the first `after`
// (else `peers`) entry by which a foundation service waits for another
// service; the service row of the cycle's first service. `roles` must be
// resolve_roles(cfg); the form without it resolves them.
template <class Sink>
constexpr bool plan_order(const bcfg::View& cfg, const ServiceRoles& roles, OrderPlan& plan, Sink&& sink) {
  const std::size_t n = cfg.service_count();
  plan.service_count = static_cast<std::uint16_t>(n);
  plan.wave_count = 0;
  plan.cycle_length = 0;
  const detail::LauncherIndex idx = detail::index_roles(roles, plan);
  // Every error goes through `report`, which stops calling the sink once it
  // has asked to stop; any error means no order is produced.
  bool clean = true;
  bool stopped = false;
  auto report = [&](Error e) {
    clean = false;
    if (!stopped && !sink(e)) stopped = true;
    return !stopped;
  };

  // Foundation services wait only for foundation services: anything else is
  // launched through procd, which is itself the last foundation service.
  for (std::size_t i = 0; i < n; ++i) {
    const Role* r = plan.role_at(i);
    if (r == nullptr || r->launch != LaunchPath::FOUNDATION) continue;
    auto not_foundation = [&](std::uint16_t d) {
      const Role* dr = plan.role_at(d);
      return dr != nullptr && dr->launch != LaunchPath::FOUNDATION;
    };
    const bcfg::IndexList after = cfg.after(i);
    const bcfg::IndexList peers = cfg.peers(i);
    bool reported = false;
    for (std::size_t k = 0; k < after.size() && !reported; ++k) {
      if (!not_foundation(after[k])) continue;
      report(after_entry_error(cfg, Reason::ORDER_FOUNDATION_WAITS_FOR_SERVICE, i, k));
      reported = true;
    }
    for (std::size_t k = 0; k < peers.size() && !reported; ++k) {
      if (!not_foundation(peers[k])) continue;
      report(peer_entry_error(cfg, Reason::ORDER_FOUNDATION_WAITS_FOR_SERVICE, i, k));
      reported = true;
    }
  }
  // A block service that backs a provider serves a disk only through its
  // driver: without one, the filesystems above it would start on nothing.
  for (std::size_t p = 0; p < cfg.provider_count(); ++p) {
    const std::uint16_t block = cfg.provider(p).block;
    // A block that is not a block service is policy's PROVIDER_BLOCK_NOT_BLOCK_SERVICE.
    if (block == bcfg::kNoIndex || plan.role_at(block) == nullptr || plan.role_at(block)->storage != StorageClass::BLOCK ||
        detail::block_driver_of(plan, idx, block) != bcfg::kNoIndex) {
      continue;
    }
    bool first = true;  // one report per block service
    for (std::size_t q = 0; q < p; ++q) first = first && cfg.provider(q).block != block;
    if (first) report(service_error(cfg, Reason::ORDER_BLOCK_DRIVER_MISSING, block));
  }
  // Pass 1: count each service's dependencies (and dependents), noting any
  // self `after` (a self peer is policy's PEER_SELF). The edges of the
  // service loop arrive grouped by dependent, in the order pass 2 would place
  // them, so they are written straight into deps; only provider (STORAGE)
  // edges, enumerated last, need pass 2 to interleave.
  for (std::size_t i = 0; i <= n; ++i) plan.dep_start[i] = plan.dependent_start[i] = 0;
  std::uint32_t written = 0;
  bool storage_edges = false;
  bool self_after = false;
  detail::for_each_edge(cfg, plan, idx, [&](std::uint16_t from, std::uint16_t to, EdgeKind kind) {
    if (from == to) {
      self_after = self_after || kind == EdgeKind::AFTER;
      return;
    }
    ++plan.dep_start[from + 1];
    ++plan.dependent_start[to + 1];
    if (kind == EdgeKind::STORAGE) {
      storage_edges = true;
      return;
    }
    plan.deps[written] = to;
    plan.dep_kind[written] = static_cast<std::uint8_t>(kind);
    ++written;
  });
  // Each self `after`, in service order, at its entry.
  for (std::size_t i = 0; self_after && i < n; ++i) {
    const bcfg::IndexList after = cfg.after(i);
    for (std::size_t k = 0; k < after.size(); ++k) {
      if (after[k] != i) continue;
      report(after_entry_error(cfg, Reason::ORDER_SELF_DEPENDENCY, i, k));
      break;
    }
  }
  if (!clean) return false;
  for (std::size_t i = 0; i < n; ++i) {
    plan.dep_start[i + 1] += plan.dep_start[i];
    plan.dependent_start[i + 1] += plan.dependent_start[i];
  }

  // Pass 2: fill both adjacency lists. wave[] and order[] count fill
  // positions here.
  for (std::size_t i = 0; i < n; ++i) plan.wave[i] = 0;
  for (std::size_t i = 0; i < n; ++i) plan.order[i] = 0;
  if (storage_edges) {
    detail::for_each_edge(cfg, plan, idx, [&](std::uint16_t from, std::uint16_t to, EdgeKind kind) {
      if (from == to) return;
      const std::uint32_t at = plan.dep_start[from] + plan.wave[from]++;
      plan.deps[at] = to;
      plan.dep_kind[at] = static_cast<std::uint8_t>(kind);
      plan.dependents[plan.dependent_start[to] + plan.order[to]++] = from;
    });
  } else {
    // deps is complete; dependents in the same (dependent-major) order.
    for (std::size_t from = 0; from < n; ++from) {
      for (std::uint32_t e = plan.dep_start[from]; e < plan.dep_start[from + 1]; ++e) {
        const std::uint16_t to = plan.deps[e];
        plan.dependents[plan.dependent_start[to] + plan.order[to]++] = static_cast<std::uint16_t>(from);
      }
    }
  }

  // Kahn's algorithm; wave[v] = 1 + the largest wave among v's dependencies.
  // `order` doubles as the FIFO queue; indegrees live in `cycle` meanwhile.
  std::uint16_t* indegree = plan.cycle;
  std::size_t head = 0;
  std::size_t tail = 0;
  for (std::size_t i = 0; i < n; ++i) {
    indegree[i] = static_cast<std::uint16_t>(plan.dependency_count(i));
    plan.wave[i] = 0;
    if (indegree[i] == 0) plan.order[tail++] = static_cast<std::uint16_t>(i);
  }
  // Selects, not branches: procd and logd have every generic service as a
  // dependent, and whether this edge was a service's last came out at
  // random. Writing order[tail] before knowing is safe: v is not queued yet,
  // so tail < n.
  while (head < tail) {
    const std::uint16_t u = plan.order[head++];
    const auto next_wave = static_cast<std::uint16_t>(plan.wave[u] + 1);
    const std::uint32_t end = plan.dependent_start[u + 1];
    for (std::uint32_t e = plan.dependent_start[u]; e < end; ++e) {
      const std::uint16_t v = plan.dependents[e];
      const std::uint16_t w = plan.wave[v];
      plan.wave[v] = w < next_wave ? next_wave : w;
      const auto left = static_cast<std::uint16_t>(indegree[v] - 1);
      indegree[v] = left;
      plan.order[tail] = v;
      tail += left == 0 ? 1 : 0;
    }
  }

  if (tail < n) {
    // Every unprocessed service still waits for an unprocessed one, so
    // walking "first unprocessed dependency" must revisit a service: that
    // loop is a cycle. The walk's positions are kept in `wave` (0 = unseen).
    std::uint16_t start = 0;
    while (indegree[start] == 0) ++start;
    for (std::size_t i = 0; i < n; ++i) plan.wave[i] = 0;
    std::uint16_t path_len = 0;
    std::uint16_t at = start;
    while (plan.wave[at] == 0) {
      plan.order[path_len++] = at;
      plan.wave[at] = path_len;
      std::uint16_t next = at;
      for (std::uint32_t e = plan.dep_start[at]; e < plan.dep_start[at + 1]; ++e) {
        if (indegree[plan.deps[e]] != 0) {
          next = plan.deps[e];
          break;
        }
      }
      at = next;
    }
    const std::uint16_t first = static_cast<std::uint16_t>(plan.wave[at] - 1);
    plan.cycle_length = static_cast<std::uint16_t>(path_len - first);
    for (std::uint16_t k = 0; k < plan.cycle_length; ++k) plan.cycle[k] = plan.order[first + k];
    plan.wave_count = 0;
    report(service_error(cfg, Reason::ORDER_CYCLE, plan.cycle[0]));
    return false;
  }

  // Stable counting sort by wave: within a wave, services keep index order.
  std::uint16_t max_wave = 0;
  for (std::size_t i = 0; i < n; ++i) max_wave = plan.wave[i] > max_wave ? plan.wave[i] : max_wave;
  plan.wave_count = n == 0 ? 0 : static_cast<std::uint16_t>(max_wave + 1);
  // Neighbouring services mostly share a wave, so both passes go by runs of
  // equal waves: a counter bumped once per service waits on its own previous
  // store each time.
  for (std::size_t w = 0; w <= plan.wave_count; ++w) plan.wave_start[w] = 0;
  for (std::size_t i = 0; i < n;) {
    const std::uint16_t w = plan.wave[i];
    std::size_t run = i + 1;
    while (run < n && plan.wave[run] == w) ++run;
    plan.wave_start[w + 1] += static_cast<std::uint32_t>(run - i);
    i = run;
  }
  for (std::size_t w = 0; w < plan.wave_count; ++w) plan.wave_start[w + 1] += plan.wave_start[w];
  std::uint16_t* fill = plan.cycle;  // per-wave fill counters, reused scratch
  for (std::size_t w = 0; w < plan.wave_count; ++w) fill[w] = 0;
  for (std::size_t i = 0; i < n;) {
    const std::uint16_t w = plan.wave[i];
    std::uint32_t at = plan.wave_start[w] + fill[w];
    std::size_t run = i;
    for (; run < n && plan.wave[run] == w; ++run) plan.order[at++] = static_cast<std::uint16_t>(run);
    fill[w] = static_cast<std::uint16_t>(fill[w] + (run - i));
    i = run;
  }
  for (std::size_t w = 0; w < plan.wave_count; ++w) fill[w] = 0;
  return true;
}

template <class Sink>
constexpr bool plan_order(const bcfg::View& cfg, OrderPlan& plan, Sink&& sink) {
  ServiceRoles roles;
  resolve_roles(cfg, roles);
  return plan_order(cfg, roles, plan, sink);
}

}  // namespace rootd
