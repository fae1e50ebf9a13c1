// Startup envelopes: for every service, the exact table of capabilities
// rootd copies into its cspace before delivering the envelope, and the
// validation of the whole set together.
//
// Synthesis is deterministic. Service i's envelope lists, in ascending
// local slot order:
//   1. its service endpoint: rootd's retained endpoint at first_free_slot + i,
//      at abi::kServiceEndpointLocalSlot;
//   2. peer and storage endpoints: the union of its `peers` and of the
//      services provider rows bind to it, ascending by service index, at
//      kFirstPeerLocalSlot + n; a storage-bound service is a STORAGE_ENDPOINT,
//      any other a PEER_ENDPOINT;
//   3. the boot image frame, for roles that receive it;
//   4. each profile module the config's profile lists and the role consumes
//      (roles.hpp kModuleGrants), read-only;
//   5. its dedicated endpoints in kind order (= slot order).
// Sources in rootd's cspace (Sources): dedicated endpoints where the handoff
// inventory says, the image frame from the handoff, retained endpoints at
// first_free_slot + i. The boot engine owns every rootd slot at and above
// first_free_slot + service_count.
//
// validate_envelopes() checks the set against the config and the sources:
// every transfer authorized (authority.hpp); every slot inside the window
// and used once; each service endpoint, image frame and every dedicated
// endpoint the role's rules give it present; peers and storage endpoints
// exactly the configured ones, each once; no dedicated endpoint given twice
// to one role or received on by two holders; every source where Sources
// says, with the rights rootd holds there.
//
// Memory (rootd's stack budget is 16 KiB): a stored set lives in caller
// storage (EnvelopeStorage, about 372 KiB at full capacity, all-zero so it is
// .bss); rootd's streaming validate_envelopes(config, handoff, sink) needs no
// stored set and about 2 KiB of stack.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "rootd/abi.hpp"
#include "rootd/authority.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/owner.hpp"
#include "rootd/profiles.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"
#include "rootd/storage.hpp"

namespace rootd {

namespace detail {
constexpr std::array<std::uint32_t, kModuleGrantCount> no_module_frames() {
  std::array<std::uint32_t, kModuleGrantCount> slots{};
  for (std::uint32_t& s : slots) s = abi::kNoSlot;
  return slots;
}
}  // namespace detail

// Where each kind of authority comes from in rootd's cspace, and the rights
// rootd holds on it: what the kernel gives when it makes the cap
// (docs/kernel-abi.md).
struct Sources {
  std::array<std::uint32_t, kEndpointKindCount> dedicated{};  // abi::kNoSlot when absent
  // Per kModuleGrants row, the module's frame; abi::kNoSlot when absent.
  // Module frames are made like the image frame, with the same rights.
  std::array<std::uint32_t, kModuleGrantCount> module_frames = detail::no_module_frames();
  std::uint32_t image_frame = abi::kNoSlot;
  std::uint32_t first_free_slot = 0;
  std::uint32_t endpoint_rights = kEndpointFullRights;
  std::uint32_t image_frame_rights = abi::RIGHT_READ | abi::RIGHT_EXECUTE | abi::RIGHT_GRANT;

  constexpr std::uint32_t service_endpoint(std::size_t service) const {
    return first_free_slot + static_cast<std::uint32_t>(service);
  }
};

// The kernel installs each dedicated endpoint at its canonical slot in
// rootd's cspace (inventory.hpp checks it): without a handoff, as for
// `erix-bcfg plan`, these are the sources; module frames stand in just
// above the image frame.
constexpr Sources canonical_sources(std::uint32_t image_frame_slot, std::uint32_t first_free_slot) {
  Sources s;
  for (std::size_t k = 0; k < kEndpointKindCount; ++k) s.dedicated[k] = kEndpointTable[k].local_slot;
  for (std::size_t g = 0; g < kModuleGrantCount; ++g) s.module_frames[g] = image_frame_slot + 1 + static_cast<std::uint32_t>(g);
  s.image_frame = image_frame_slot;
  s.first_free_slot = first_free_slot;
  return s;
}

constexpr Sources sources_from(const handoff::View& h) {
  Sources s;
  for (std::size_t k = 0; k < kEndpointKindCount; ++k) {
    const std::uint32_t slot = h.endpoint_slot(static_cast<EndpointKind>(k));
    s.dedicated[k] = slot == handoff::kNoSlot ? abi::kNoSlot : slot;
  }
  for (std::size_t g = 0; g < kModuleGrantCount; ++g) {
    const std::size_t m = h.find_module(kModuleGrants[g].module);
    if (m < h.module_count()) s.module_frames[g] = h.module(m).frame_slot;
  }
  s.image_frame = h.image_frame().slot;
  s.first_free_slot = h.cspace().first_free_slot;
  return s;
}

// All-zero by default, like Transfer, so EnvelopeStorage is .bss.
struct Envelope {
  std::uint16_t service = 0;  // identity: the service's index in the config
  RoleId role = RoleId::MEMD;
  std::uint32_t primary_slot = 0;  // local slot of its primary control capability
  SlotWindow window{};             // delegated slots (the service endpoint is outside)
  std::uint32_t first_transfer = 0;  // into EnvelopeSet::transfers
  std::uint32_t transfer_count = 0;
};

// Per service: service endpoint, image frame, up to 1 + kMaxExtraEndpoints
// dedicated endpoints; peer edges and provider-bound endpoints on top.
// Module grants go to singleton consumers (profiles are sound): one each.
inline constexpr std::size_t kMaxTransfers = bcfg::kMaxServices + 2 + (kEndpointKindCount + 1) +
                                             bcfg::kMaxPeerEdges + 3 * bcfg::kMaxProviders + kModuleGrantCount;
inline constexpr std::size_t kMaxTransfersPerEnvelope = 2 + kMaxPeerLocalSlots + 1 + kMaxExtraEndpoints;

namespace detail {
constexpr bool per_envelope_bound_holds() {
  for (const Role& r : kRoles) {
    std::size_t modules = 0;
    for (const ModuleGrant& g : kModuleGrants) modules += g.consumer == r.id ? (r.singleton ? 1 : kMaxTransfers) : 0;
    const std::size_t most = 1 + r.max_peers + (r.image_frame ? 1 : 0) + (r.primary.has_value() ? 1 : 0) +
                             r.extra_count + modules;
    if (most > kMaxTransfersPerEnvelope) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::per_envelope_bound_holds(), "a valid config's envelope fits kMaxTransfersPerEnvelope");

struct EnvelopeSet {
  std::span<Envelope> envelopes{};
  std::span<Transfer> transfers{};
  std::size_t envelope_count = 0;
  std::size_t transfer_count = 0;

  constexpr std::span<const Transfer> transfers_of(std::size_t i) const {
    if (i >= envelope_count) return {};
    const Envelope& e = envelopes[i];
    if (e.first_transfer > transfer_count || e.transfer_count > transfer_count - e.first_transfer) return {};
    return std::span<const Transfer>(transfers.data() + e.first_transfer, e.transfer_count);
  }
};

// Caller-provided storage; the full size is about 340 KiB, so rootd keeps it
// in static storage. Tests use small capacities.
template <std::size_t MaxServices = bcfg::kMaxServices, std::size_t MaxTransfers = kMaxTransfers>
struct EnvelopeStorage {
  std::array<Envelope, MaxServices> envelopes{};
  std::array<Transfer, MaxTransfers> transfers{};
};

namespace detail {
// Appends transfers to `out` from `used` on; nullptr (INTERNAL_CAPACITY)
// when full. Each transfer is written in place, field by field: building it
// on the stack and copying it in made every envelope wait on store
// forwarding, a third of validate_envelopes at scale.
class TransferSink {
 public:
  constexpr TransferSink(std::span<Transfer> out, std::size_t used) : out_(out), used_(used) {}
  constexpr Transfer* add(AuthorityKind kind, std::uint32_t local, std::uint32_t source, std::uint32_t rights,
                          std::uint32_t source_rights) {
    if (used_ >= out_.size()) return nullptr;
    Transfer& t = out_[used_++];
    t = Transfer{};
    t.op = abi::CapOp::COPY_ATTENUATED;
    t.authority = kind;
    t.local_slot = local;
    t.source_slot = source;
    t.rights = rights;
    t.source_rights = source_rights;
    return &t;
  }
  constexpr std::size_t used() const { return used_; }

 private:
  std::span<Transfer> out_;
  std::size_t used_;
};
}  // namespace detail

namespace detail {
// The synthesis of one envelope; `role_of(j)` gives service j's role or
// nullptr (a shared table, or a name lookup for one-off callers).
// `peers` is config.peers(i); `storage` is scratch for its storage peers.
template <class RoleOf>
constexpr Result<Envelope> synthesize_envelope_with(const bcfg::View& config, RoleOf&& role_of,
                                                    const Sources& sources, std::size_t i, std::span<Transfer> out,
                                                    std::size_t used, const bcfg::IndexList& peers,
                                                    std::span<std::uint16_t, kMaxStoragePeers> storage) {
  const Role* r = role_of(i);
  if (r == nullptr) return service_error(config, Reason::ROLE_UNKNOWN, i);
  Envelope e;
  e.service = static_cast<std::uint16_t>(i);
  e.role = r->id;
  e.primary_slot = primary_control_slot(*r);
  e.window = r->window;
  e.first_transfer = static_cast<std::uint32_t>(used);
  TransferSink sink(out, used);
  const Error full = service_error(config, Reason::INTERNAL_CAPACITY, i);

  Transfer* own = sink.add(AuthorityKind::SERVICE_ENDPOINT, abi::kServiceEndpointLocalSlot,
                           sources.service_endpoint(i), kServiceEndpointRights, sources.endpoint_rights);
  if (own == nullptr) return full;
  own->peer = static_cast<std::uint16_t>(i);

  // Merge the ascending `peers` list with the ascending storage-bound list.
  const std::size_t storage_count = config.provider_count() == 0 ? 0 : storage_peers_of(config, r, i, storage);
  std::size_t a = 0;
  std::size_t b = 0;
  std::uint32_t next_slot = kFirstPeerLocalSlot;
  while (a < peers.size() || b < storage_count) {
    std::uint16_t j = 0;
    bool bound = false;
    if (b == storage_count || (a < peers.size() && peers[a] < storage[b])) {
      j = peers[a++];
    } else {
      j = storage[b++];
      bound = true;
      if (a < peers.size() && peers[a] == j) ++a;
    }
    const Role* rj = role_of(j);
    if (rj == nullptr) return service_error(config, Reason::ROLE_UNKNOWN, j);
    Transfer* t = sink.add(bound ? AuthorityKind::STORAGE_ENDPOINT : AuthorityKind::PEER_ENDPOINT, next_slot++,
                           sources.service_endpoint(j), kPeerRights, sources.endpoint_rights);
    if (t == nullptr) return full;
    t->peer = j;
    t->peer_role = rj->id;
  }

  if (r->image_frame) {
    if (sink.add(AuthorityKind::IMAGE_FRAME, kImageFrameLocalSlot, sources.image_frame, kImageFrameRights,
                 sources.image_frame_rights) == nullptr) {
      return full;
    }
  }
  // Profile modules: only what the profile lists reaches its consumer; a
  // module the handoff lacks is refused by module discovery first.
  for (std::size_t g = 0; g < kModuleGrantCount; ++g) {
    if (kModuleGrants[g].consumer != r->id || !profile_lists_module(config.profile(), kModuleGrants[g].module) ||
        sources.module_frames[g] == abi::kNoSlot) {
      continue;
    }
    Transfer* t = sink.add(AuthorityKind::PROFILE_MODULE, kModuleGrants[g].local_slot, sources.module_frames[g],
                           kProfileModuleRights, sources.image_frame_rights);
    if (t == nullptr) return full;
    t->peer = static_cast<std::uint16_t>(g);
  }
  const bool has_dedicated = r->primary.has_value() || r->extra_count != 0;
  for (std::size_t k = 0; has_dedicated && k < kEndpointKindCount; ++k) {
    const auto kind = static_cast<EndpointKind>(k);
    const std::uint32_t rights = dedicated_rights(*r, kind);
    if (rights == 0) continue;
    Transfer* t = sink.add(AuthorityKind::DEDICATED_ENDPOINT, endpoint_info(kind).local_slot, sources.dedicated[k],
                           rights, sources.endpoint_rights);
    if (t == nullptr) return full;
    t->endpoint = kind;
  }
  e.transfer_count = static_cast<std::uint32_t>(sink.used() - used);
  return e;
}
}  // namespace detail

// Service i's envelope, its transfers appended to `out` from `used` on.
// Expects a config that passed validate_config(); fails only with
// ROLE_UNKNOWN (at the service row) or INTERNAL_CAPACITY. `roles` must be
// resolve_roles(config).
constexpr Result<Envelope> synthesize_envelope(const bcfg::View& config, const ServiceRoles& roles,
                                               const Sources& sources, std::size_t i, std::span<Transfer> out,
                                               std::size_t used) {
  // Scratch that storage_peers_of fills before anything reads it: boot
  // planning synthesizes every service's envelope, and zeroing 128 bytes per
  // call showed up there.
  std::array<std::uint16_t, kMaxStoragePeers> storage;
  return detail::synthesize_envelope_with(
      config, [&roles](std::size_t j) { return roles.role(j); }, sources, i, out, used, config.peers(i), storage);
}

// One envelope with no shared table (boot: at each launch): looks up only
// the roles of service i and of its peers, by name.
constexpr Result<Envelope> synthesize_envelope(const bcfg::View& config, const Sources& sources, std::size_t i,
                                               std::span<Transfer> out, std::size_t used) {
  std::array<std::uint16_t, kMaxStoragePeers> storage{};
  return detail::synthesize_envelope_with(
      config, [&config](std::size_t j) { return service_role(config, j); }, sources, i, out, used, config.peers(i), storage);
}

// Every service's envelope, in service-index order.
constexpr Result<EnvelopeSet> synthesize_envelopes(const bcfg::View& config, const Sources& sources,
                                                   std::span<Envelope> envelopes, std::span<Transfer> transfers) {
  EnvelopeSet set{envelopes, transfers, 0, 0};
  if (config.service_count() > envelopes.size()) {
    return services_error(config, Reason::INTERNAL_CAPACITY);
  }
  ServiceRoles roles;
  resolve_roles(config, roles);
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    const Result<Envelope> e = synthesize_envelope(config, roles, sources, i, transfers, set.transfer_count);
    if (!e) return e.error();
    envelopes[i] = *e;
    set.envelope_count = i + 1;
    set.transfer_count = e->first_transfer + e->transfer_count;
  }
  return set;
}

template <std::size_t S, std::size_t T>
constexpr Result<EnvelopeSet> synthesize_envelopes(const bcfg::View& config, const Sources& sources,
                                                   EnvelopeStorage<S, T>& storage) {
  return synthesize_envelopes(config, sources, storage.envelopes, storage.transfers);
}

namespace detail {

// Another service's endpoint, wired by `peers` or by a provider row.
constexpr bool is_wired(AuthorityKind k) {
  return k == AuthorityKind::PEER_ENDPOINT || k == AuthorityKind::STORAGE_ENDPOINT;
}

constexpr std::uint32_t largest_window() {
  std::uint32_t n = 0;
  for (const Role& r : kRoles) n = r.window.count > n ? r.window.count : n;
  return n;
}
inline constexpr std::size_t kWindowBitmapWords = 8;
static_assert(largest_window() <= kWindowBitmapWords * 64, "slot bitmap must cover every window");

// Dedicated endpoints across the set: which roles hold each kind, and
// which kinds someone receives on.
struct DedicatedHolders {
  std::array<RoleSet, kEndpointKindCount> holders{};
  std::uint32_t receiving = 0;
};

// Where the transfer's source must be, and the rights rootd holds there.
constexpr bool source_matches(const Sources& sources, const Transfer& t) {
  std::uint32_t slot = abi::kNoSlot;
  std::uint32_t held = sources.endpoint_rights;
  switch (t.authority) {
    case AuthorityKind::SERVICE_ENDPOINT:
    case AuthorityKind::PEER_ENDPOINT:
    case AuthorityKind::STORAGE_ENDPOINT: slot = sources.service_endpoint(t.peer); break;
    case AuthorityKind::DEDICATED_ENDPOINT: slot = sources.dedicated[static_cast<std::size_t>(t.endpoint)]; break;
    case AuthorityKind::IMAGE_FRAME:
      slot = sources.image_frame;
      held = sources.image_frame_rights;
      break;
    case AuthorityKind::CARRIED_IMAGE_FRAME: return false;  // carried in a launch CALL, never copied
    case AuthorityKind::PROFILE_MODULE:
      if (t.peer >= kModuleGrantCount) return false;
      slot = sources.module_frames[t.peer];
      held = sources.image_frame_rights;
      break;
  }
  return slot != abi::kNoSlot && t.source_slot == slot && t.source_rights == held;
}

template <class Sink>
constexpr bool check_peer_transfer(const bcfg::View& config, const ServiceRoles& roles, std::size_t i,
                                   const Transfer& t, const bcfg::IndexList& peers,
                                   std::span<const std::uint16_t> storage, Reporter<Sink>& report) {
  auto fail = [&](Reason r) { return report(service_error(config, r, i)); };
  if (t.peer >= config.service_count() || t.peer == i) return fail(Reason::ENVELOPE_PEER_INDEX_INVALID);
  const Role* owner = roles.role(t.peer);
  if (owner == nullptr || owner->id != t.peer_role) return fail(Reason::ENVELOPE_PEER_ROLE_MISMATCH);
  bool bound = false;
  for (std::uint16_t s : storage) bound = bound || s == t.peer;
  bool listed = false;
  for (std::uint16_t p : peers) listed = listed || p == t.peer;
  const bool expected = bound ? t.authority == AuthorityKind::STORAGE_ENDPOINT
                              : listed && t.authority == AuthorityKind::PEER_ENDPOINT;
  if (!expected) return fail(Reason::ENVELOPE_PEER_NOT_CONFIGURED);
  return true;
}

template <class Sink>
[[gnu::always_inline]] constexpr bool check_envelope(const bcfg::View& config, const ServiceRoles& roles, const Sources& sources,
                              std::size_t i, const Envelope& e, std::span<const Transfer> transfers,
                              DedicatedHolders& dedicated, const bcfg::IndexList& peers,
                              std::span<std::uint16_t, kMaxStoragePeers> storage_buffer, Reporter<Sink>& report) {
  auto fail = [&](Reason r) { return report(service_error(config, r, i)); };
  if (e.service != i) return fail(Reason::ENVELOPE_IDENTITY_MISMATCH);
  const Role* r = roles.role(i);
  if (r == nullptr || r->id != e.role) return fail(Reason::ENVELOPE_ROLE_MISMATCH);
  if (e.window != r->window && !fail(Reason::ENVELOPE_WINDOW_MISMATCH)) return false;
  if (e.primary_slot != primary_control_slot(*r) && !fail(Reason::ENVELOPE_PRIMARY_SLOT_MISMATCH)) {
    return false;
  }
  // Distinct slots inside the window plus the service endpoint: more
  // transfers than that must collide somewhere.
  if (transfers.size() > r->window.count + 1) return fail(Reason::ENVELOPE_SLOT_COLLISION);

  const std::size_t storage_count = storage_peers(config, roles, i, storage_buffer);
  const std::span<const std::uint16_t> storage(storage_buffer.data(), storage_count);

  std::array<std::uint64_t, kWindowBitmapWords> used{};
  std::size_t service_endpoints = 0;
  std::uint32_t dedicated_seen = 0;  // kinds in this envelope, by bit
  bool has_image_frame = false;
  for (std::size_t k = 0; k < transfers.size(); ++k) {
    const Transfer& t = transfers[k];
    // A launcher's carried image frames travel in launch CALLs, not in envelopes.
    if (t.authority == AuthorityKind::CARRIED_IMAGE_FRAME) {
      if (!fail(Reason::TRANSFER_AUTHORITY_UNKNOWN)) return false;
      continue;
    }
    if (Check c = authorize(*r, t); !ok(c)) {
      if (!fail(c.reason)) return false;
      continue;
    }
    // authorize() pins a dedicated endpoint to its kind's slot, so a second
    // copy would always surface as a slot collision: name the real fault.
    if (t.authority == AuthorityKind::DEDICATED_ENDPOINT &&
        (dedicated_seen & (std::uint32_t{1} << static_cast<std::size_t>(t.endpoint))) != 0) {
      if (!fail(Reason::ENVELOPE_DEDICATED_REPEATED)) return false;
      continue;
    }
    if (t.authority == AuthorityKind::SERVICE_ENDPOINT) {
      ++service_endpoints;
      if (t.peer != i && !fail(Reason::ENVELOPE_SERVICE_ENDPOINT_INVALID)) return false;
    } else {
      const std::uint32_t bit = t.local_slot - r->window.first;
      std::uint64_t& word = used[bit / 64];
      const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
      if ((word & mask) != 0 && !fail(Reason::ENVELOPE_SLOT_COLLISION)) return false;
      word |= mask;
    }
    if (!source_matches(sources, t) && !fail(Reason::ENVELOPE_SOURCE_MISMATCH)) return false;
    switch (t.authority) {
      case AuthorityKind::SERVICE_ENDPOINT:
      case AuthorityKind::CARRIED_IMAGE_FRAME:
      case AuthorityKind::PROFILE_MODULE: break;
      case AuthorityKind::IMAGE_FRAME: has_image_frame = true; break;
      case AuthorityKind::DEDICATED_ENDPOINT: {
        const std::size_t kind = static_cast<std::size_t>(t.endpoint);
        const std::uint32_t kind_bit = std::uint32_t{1} << kind;
        dedicated_seen |= kind_bit;
        const bool receives = (t.rights & abi::RIGHT_RECEIVE) != 0;
        const bool repeated = dedicated.holders[kind].has(r->id) || (receives && (dedicated.receiving & kind_bit) != 0);
        if (repeated && !fail(Reason::ENVELOPE_DEDICATED_REPEATED)) return false;
        dedicated.holders[kind] = dedicated.holders[kind].with(r->id);
        if (receives) dedicated.receiving |= kind_bit;
        break;
      }
      case AuthorityKind::PEER_ENDPOINT:
      case AuthorityKind::STORAGE_ENDPOINT: {
        if (!check_peer_transfer(config, roles, i, t, peers, storage, report)) return false;
        for (std::size_t m = 0; m < k; ++m) {
          const Transfer& earlier = transfers[m];
          if (is_wired(earlier.authority) && earlier.peer == t.peer &&
              !fail(Reason::ENVELOPE_PEER_REPEATED)) {
            return false;
          }
        }
        break;
      }
    }
  }
  if (service_endpoints != 1 && !fail(Reason::ENVELOPE_SERVICE_ENDPOINT_INVALID)) return false;
  const auto seen = [dedicated_seen](EndpointKind k) {
    return (dedicated_seen & (std::uint32_t{1} << static_cast<std::size_t>(k))) != 0;
  };
  if (r->primary.has_value() && !seen(*r->primary) && !fail(Reason::ENVELOPE_PRIMARY_MISSING)) return false;
  for (std::size_t x = 0; x < r->extra_count; ++x) {
    if (!seen(r->extras[x].kind) && !fail(Reason::ENVELOPE_DEDICATED_MISSING)) return false;
  }
  if (r->image_frame && !has_image_frame && !fail(Reason::ENVELOPE_IMAGE_FRAME_MISSING)) return false;
  // Every configured peer and every provider-bound service arrives.
  auto delivered = [&](std::uint16_t j) {
    for (const Transfer& t : transfers) {
      if (is_wired(t.authority) && t.peer == j) return true;
    }
    return false;
  };
  for (std::uint16_t j : storage) {
    if (!delivered(j) && !fail(Reason::ENVELOPE_STORAGE_ENDPOINT_MISSING)) return false;
  }
  const auto bound = [&storage](std::uint16_t j) {
    for (std::uint16_t s : storage) {
      if (s == j) return true;
    }
    return false;
  };
  for (std::uint16_t j : peers) {
    if (j != i && !delivered(j) && !bound(j) && !fail(Reason::ENVELOPE_PEER_MISSING)) return false;
  }
  return true;
}

}  // namespace detail

// The whole set against the config and the sources. Locations: the service
// row of the envelope at fault, or the service table for a count mismatch.
template <class Sink>
constexpr bool validate_envelopes(const bcfg::View& config, const ServiceRoles& roles, const Sources& sources,
                                  const EnvelopeSet& set, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  if (set.envelope_count != config.service_count() || set.envelope_count > set.envelopes.size() ||
      set.transfer_count > set.transfers.size()) {
    report(services_error(config, Reason::ENVELOPE_COUNT_MISMATCH));
    return false;
  }
  detail::DedicatedHolders dedicated{};
  std::array<std::uint16_t, kMaxStoragePeers> storage{};  // scratch, refilled per service
  for (std::size_t i = 0; i < set.envelope_count; ++i) {
    const Envelope& e = set.envelopes[i];
    if (e.first_transfer > set.transfer_count || e.transfer_count > set.transfer_count - e.first_transfer) {
      if (!report(service_error(config, Reason::INTERNAL_STATE, i))) return false;
      continue;
    }
    const std::span<const Transfer> transfers(set.transfers.data() + e.first_transfer, e.transfer_count);
    if (!detail::check_envelope(config, roles, sources, i, e, transfers, dedicated, config.peers(i), storage,
                                report)) {
      return false;
    }
  }
  return report.clean();
}

template <class Sink>
constexpr bool validate_envelopes(const bcfg::View& config, const Sources& sources, const EnvelopeSet& set,
                                  Sink&& sink) {
  ServiceRoles roles;
  resolve_roles(config, roles);
  return validate_envelopes(config, roles, sources, set, sink);
}

// rootd's form: sources from the handoff, each envelope synthesized into a
// small buffer on the stack (kMaxTransfersPerEnvelope transfers, about
// 1.7 KiB) and checked against the envelopes before it, so the whole set is
// validated without storing it. A synthesis failure is reported like any
// other error. boot: rootd synthesizes each envelope again when it launches
// the service (synthesize_envelope), with the same result.
template <class Sink, class OnEnvelope>
constexpr bool validate_envelopes(const bcfg::View& config, const ServiceRoles& roles, const handoff::View& h,
                                  Sink&& sink, OnEnvelope&& on_envelope) {
  detail::Reporter<Sink> report(sink);
  const Sources sources = sources_from(h);
  detail::DedicatedHolders dedicated{};
  std::array<Transfer, kMaxTransfersPerEnvelope> buffer{};
  std::array<std::uint16_t, kMaxStoragePeers> storage{};  // scratch, refilled per service
  const auto role_of = [&roles](std::size_t j) { return roles.role(j); };
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    const bcfg::IndexList peers = config.peers(i);
    const Result<Envelope> e = detail::synthesize_envelope_with(config, role_of, sources, i, buffer, 0, peers, storage);
    if (!e) {
      if (!report(e.error())) return false;
      continue;
    }
    const std::span<const Transfer> transfers(buffer.data(), e->transfer_count);
    if (!detail::check_envelope(config, roles, sources, i, *e, transfers, dedicated, peers, storage, report)) {
      return false;
    }
    on_envelope(i, transfers);
  }
  return report.clean();
}

// The same, for callers that need nothing from each envelope.
template <class Sink>
constexpr bool validate_envelopes(const bcfg::View& config, const ServiceRoles& roles, const handoff::View& h,
                                  Sink&& sink) {
  return validate_envelopes(config, roles, h, sink, [](std::size_t, std::span<const Transfer>) {});
}

template <class Sink>
constexpr bool validate_envelopes(const bcfg::View& config, const handoff::View& h, Sink&& sink) {
  ServiceRoles roles;
  resolve_roles(config, roles);
  return validate_envelopes(config, roles, h, sink);
}

}  // namespace rootd
