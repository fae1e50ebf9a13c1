// The role catalog: the one table that says, for every role a boot-config
// service may name, how it is launched, which kernel authority it may hold,
// where in its own cspace it receives each capability, and which other
// roles it may be wired to.
//
// Everything else (the transfer rules of authority.hpp, the envelopes of
// envelope.hpp, docs/authority.md, the erix-bcfg planner) reads this table;
// nothing keeps a copy. Adding a role is one enum value plus one row; the
// static_asserts at the bottom reject a row whose slots, window or peer
// rules contradict each other.
//
// Local slot layout, the same in every service's own cspace:
//   1              the service endpoint (abi::kServiceEndpointLocalSlot), on
//                  which the envelope arrives; not part of the window
//   2048 + n       the n-th peer or storage endpoint, n < kMaxPeerLocalSlots,
//                  in ascending service-index order of the peers
//   2096           the boot image frame (procd, pagerd)
//   2097 + m       the m-th profile module grant (fbcond: console-font)
//   2112 + 16 k    dedicated endpoint of kind k (endpoints.hpp)
// A role's window is the smallest contiguous range holding every slot the
// role can be given; a transfer outside it is refused.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/endpoints.hpp"

namespace rootd {

// Table order is the role index (stable: rows are only appended).
enum class RoleId : std::uint8_t {
  MEMD,
  VSPACED,
  PAGERD,
  PROCD,
  LOGD,
  DEVICED,
  TIMED,
  IRQD,
  HOTPLUGD,
  PROBED,
  FBCOND,
  DRV_SERIAL,
  DRV_ACPI,
  DRV_I8042,
  DRV_PS2_KBD,
  DRV_PS2_MOUSE,
  DRV_VIRTIO_BLOCK,
  INPUTD,
  BLOCKD,
  RAMFSD,
  KEYD,
  E2FSD,
  FATD,
  VFSD,
  LOADERD,
  PHASE0_PROBE,
  SERVICE,
};
inline constexpr std::size_t kRoleCount = 27;
inline constexpr std::size_t kMaxRoles = 64;  // RoleSet is one 64-bit word
static_assert(kRoleCount <= kMaxRoles);

constexpr std::size_t role_index(RoleId r) { return static_cast<std::size_t>(r); }

// A set of roles as a bit mask over role indices.
struct RoleSet {
  std::uint64_t bits = 0;

  constexpr bool has(RoleId r) const { return ((bits >> role_index(r)) & 1U) != 0; }
  constexpr RoleSet with(RoleId r) const { return RoleSet{bits | (std::uint64_t{1} << role_index(r))}; }
  constexpr bool empty() const { return bits == 0; }
  constexpr bool contains_all(RoleSet other) const { return (bits & other.bits) == other.bits; }
  friend constexpr bool operator==(RoleSet, RoleSet) = default;
};

template <class... R>
constexpr RoleSet role_set(R... roles) {
  RoleSet s{};
  ((s = s.with(roles)), ...);
  return s;
}

// How a service of the role comes to exist.
enum class LaunchPath : std::uint8_t {
  FOUNDATION = 0,  // rootd through kernel-control IPC, fixed order by foundation_rank
  PROCD = 1,       // rootd through procd's staged lifecycle
  DEVICED = 2,     // deviced's START_DRIVER; the config says launch = "deviced"
  PROBE = 3,       // spawned through procd as the profile's probe; rootd waits for completion
};

constexpr std::string_view launch_path_name(LaunchPath p) {
  switch (p) {
    case LaunchPath::FOUNDATION: return "foundation";
    case LaunchPath::PROCD: return "procd";
    case LaunchPath::DEVICED: return "deviced";
    case LaunchPath::PROBE: return "probe";
  }
  return "?";
}

// Which other services a role may be wired to through `peers`.
enum class PeerPolicy : std::uint8_t {
  PRIVATE_ONLY = 0,        // only roles in private_peers (foundation: started before anything public)
  PUBLIC_AND_PRIVATE = 1,  // any public role, plus roles in private_peers
  EXACT = 2,               // exactly one service of each role in private_peers, nothing else
};

// A role's part in the storage stack. Storage-private endpoints are wired by
// provider rows, not by `peers`: vfsd -> each provider's filesystem service,
// a filesystem service -> its provider's block and key services.
enum class StorageClass : std::uint8_t { NONE, FILESYSTEM, BLOCK, KEY, VFS };

// For a filesystem role: whether a provider served by it may, must, or must
// not name a block (or key) service.
enum class Need : std::uint8_t { FORBIDDEN, OPTIONAL, REQUIRED };

struct DedicatedRule {
  EndpointKind kind;
  std::uint32_t rights;  // abi::Rights bits the holder receives
};

struct SlotWindow {
  std::uint32_t first = 0;
  std::uint32_t count = 0;

  constexpr std::uint32_t end() const { return first + count; }  // one past the last slot
  constexpr bool contains(std::uint32_t slot) const { return slot >= first && slot - first < count; }
  friend constexpr bool operator==(SlotWindow, SlotWindow) = default;
};

inline constexpr std::uint32_t kFirstPeerLocalSlot = 2048;
inline constexpr std::uint32_t kMaxPeerLocalSlots = 48;
inline constexpr std::uint32_t kImageFrameLocalSlot = 2096;
static_assert(kFirstPeerLocalSlot + kMaxPeerLocalSlots <= kImageFrameLocalSlot);
static_assert(kImageFrameLocalSlot < kFirstDedicatedLocalSlot);

inline constexpr std::uint8_t kNotFoundation = 0xFF;
// Boot configs name roles with bcfg names: 1..31 of [a-z0-9-].
inline constexpr std::size_t kMaxRoleNameLength = 31;
inline constexpr std::size_t kMaxExtraEndpoints = 2;

// Rights a role receives with each kind of authority. The primary holder of
// a dedicated endpoint serves it; peers only call in and may pass caps.
inline constexpr std::uint32_t kEndpointFullRights = abi::RIGHT_SEND | abi::RIGHT_RECEIVE | abi::RIGHT_GRANT;
inline constexpr std::uint32_t kPrimaryRights = kEndpointFullRights;
inline constexpr std::uint32_t kServiceEndpointRights = kEndpointFullRights;
inline constexpr std::uint32_t kPeerRights = abi::RIGHT_SEND | abi::RIGHT_GRANT;
inline constexpr std::uint32_t kImageFrameRights = abi::RIGHT_READ | abi::RIGHT_EXECUTE;

// A launcher (procd, deviced) receives each service's image frame carried in
// the launch CALL. The kernel drops GRANT from a carried copy
// (docs/kernel-abi.md), so a frame rootd holds with READ|EXECUTE|GRANT
// arrives with exactly what the launcher needs to map the image: READ and
// EXECUTE, and it cannot pass the frame on. Carried frames land in the
// launcher's receive window, above every slot of the catalog, at a slot the
// launcher chooses (its lowest free one there).
inline constexpr std::uint32_t kCarriedImageRights = abi::RIGHT_READ | abi::RIGHT_EXECUTE;
inline constexpr SlotWindow kCarriedImageWindow{2400, 1696};
static_assert(kCarriedImageWindow.first >= kFirstDedicatedLocalSlot + kDedicatedLocalSlotStride * kEndpointKindCount);
static_assert(kCarriedImageWindow.end() == 4096);  // a service's cspace: 4096 slots (docs/kernel-abi.md)

// deviced populates a driver one cap at a time (boot_launch.hpp): rootd
// copies the cap into deviced's cspace at this slot, deviced copies it on
// into the driver through its child-populate endpoint and drops it. The slot
// is in no role's window and below the carried window, so no rule explains
// a staged cap left behind: the audit calls it a leak.
inline constexpr std::uint32_t kPopulateStagingSlot = 2352;
static_assert(kPopulateStagingSlot >= kFirstDedicatedLocalSlot + kDedicatedLocalSlotStride * kEndpointKindCount);
static_assert(kPopulateStagingSlot < kCarriedImageWindow.first);

// The role that launches services of `launched`'s role: procd for procd
// launches and probes, deviced for drivers; none for the foundation.
constexpr std::optional<RoleId> launcher_role(LaunchPath launched) {
  switch (launched) {
    case LaunchPath::PROCD:
    case LaunchPath::PROBE: return RoleId::PROCD;
    case LaunchPath::DEVICED: return RoleId::DEVICED;
    case LaunchPath::FOUNDATION: return std::nullopt;
  }
  return std::nullopt;
}

// A table row's prose, for readers of the table. rootd never prints it,
// so in its images (ROOTD_IMAGE) it holds nothing and the text is not in
// their loaded bytes.
#if defined(ROOTD_IMAGE)
struct Prose {
  consteval Prose(const char*) {}  // NOLINT(google-explicit-constructor): rows are written as literals
};
#else
using Prose = std::string_view;
#endif

struct Role {
  RoleId id;
  std::string_view name;
  LaunchPath launch;
  std::uint8_t foundation_rank;  // 0..3 for FOUNDATION, kNotFoundation otherwise
  std::optional<EndpointKind> primary;  // dedicated primary control endpoint (kPrimaryRights)
  std::array<DedicatedRule, kMaxExtraEndpoints> extras;
  std::uint8_t extra_count;
  bool image_frame;  // receives the boot image frame at kImageFrameLocalSlot
  SlotWindow window;
  std::uint8_t max_peers;  // peer + storage endpoints it may receive
  bool singleton;          // at most one service of this role
  bool is_public;          // any PUBLIC_AND_PRIVATE role may be wired to it
  PeerPolicy peer_policy;
  RoleSet private_peers;  // non-public roles it may be wired to
  StorageClass storage;
  Need block;  // FILESYSTEM only
  Need key;    // FILESYSTEM only
  Prose purpose;
};

namespace detail {
inline constexpr std::array<DedicatedRule, kMaxExtraEndpoints> kNoExtras{};
inline constexpr RoleSet kDriverPeers = role_set(RoleId::DEVICED, RoleId::PROBED, RoleId::IRQD);
}  // namespace detail

// The catalog. Windows are written out so the table reads as the contract;
// roles_are_sound() below proves each equals the smallest window that holds
// the row's slots.
inline constexpr Role kRoles[kRoleCount] = {
    // ---- foundation: kernel-control launch, memd -> vspaced -> pagerd -> procd ----
    {RoleId::MEMD, "memd", LaunchPath::FOUNDATION, 0, EndpointKind::MEMORY, detail::kNoExtras, 0, false,
     {2224, 1}, 0, true, false, PeerPolicy::PRIVATE_ONLY, {}, StorageClass::NONE, Need::FORBIDDEN,
     Need::FORBIDDEN, "physical memory"},
    {RoleId::VSPACED, "vspaced", LaunchPath::FOUNDATION, 1, EndpointKind::VSPACE, detail::kNoExtras, 0, false,
     {2048, 193}, 1, true, false, PeerPolicy::PRIVATE_ONLY, role_set(RoleId::MEMD), StorageClass::NONE,
     Need::FORBIDDEN, Need::FORBIDDEN, "address spaces"},
    {RoleId::PAGERD, "pagerd", LaunchPath::FOUNDATION, 2, EndpointKind::PAGER, detail::kNoExtras, 0, true,
     {2048, 209}, 2, true, false, PeerPolicy::PRIVATE_ONLY, role_set(RoleId::MEMD, RoleId::VSPACED),
     StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN, "page faults, maps image pages"},
    {RoleId::PROCD, "procd", LaunchPath::FOUNDATION, 3, EndpointKind::PROCESS_CONTROL,
     {{{EndpointKind::DRIVER_LIFECYCLE, kEndpointFullRights}}}, 1, true, {2048, 241}, 3, true, false,
     PeerPolicy::PRIVATE_ONLY, role_set(RoleId::MEMD, RoleId::VSPACED, RoleId::PAGERD), StorageClass::NONE,
     Need::FORBIDDEN, Need::FORBIDDEN, "processes; serves driver lifecycle"},
    // ---- core services, launched through procd ----
    {RoleId::LOGD, "logd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, true, true, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::NONE, Need::FORBIDDEN,
     Need::FORBIDDEN, "log sink"},
    {RoleId::DEVICED, "deviced", LaunchPath::PROCD, kNotFoundation, EndpointKind::LOG_QUERY,
     {{{EndpointKind::DRIVER_LIFECYCLE, abi::RIGHT_SEND | abi::RIGHT_GRANT},
       {EndpointKind::CHILD_POPULATE, abi::RIGHT_SEND}}},
     2, false, {2048, 257}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE,
     role_set(RoleId::IRQD, RoleId::PROBED, RoleId::HOTPLUGD), StorageClass::NONE, Need::FORBIDDEN,
     Need::FORBIDDEN, "device manager; starts drivers"},
    {RoleId::TIMED, "timed", LaunchPath::PROCD, kNotFoundation, EndpointKind::TIME_CONTROL, detail::kNoExtras, 0,
     false, {2048, 81}, 16, true, true, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::NONE, Need::FORBIDDEN,
     Need::FORBIDDEN, "clocks and timers"},
    {RoleId::IRQD, "irqd", LaunchPath::PROCD, kNotFoundation, EndpointKind::IRQ_CONTROL, detail::kNoExtras, 0,
     false, {2048, 97}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::NONE,
     Need::FORBIDDEN, Need::FORBIDDEN, "interrupt routing"},
    {RoleId::HOTPLUGD, "hotplugd", LaunchPath::PROCD, kNotFoundation, EndpointKind::HOTPLUG_CONTROL,
     detail::kNoExtras, 0, false, {2048, 113}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE, {},
     StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN, "hotplug events"},
    {RoleId::PROBED, "probed", LaunchPath::PROCD, kNotFoundation, EndpointKind::PCI_CONFIG, detail::kNoExtras, 0,
     false, {2048, 129}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::NONE,
     Need::FORBIDDEN, Need::FORBIDDEN, "PCI enumeration"},
    {RoleId::FBCOND, "fbcond", LaunchPath::PROCD, kNotFoundation, EndpointKind::CONSOLE, detail::kNoExtras, 0,
     false, {2048, 145}, 16, true, true, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::NONE,
     Need::FORBIDDEN, Need::FORBIDDEN, "framebuffer console"},
    // ---- drivers, launched by deviced (START_DRIVER) ----
    {RoleId::DRV_SERIAL, "drv-serial", LaunchPath::DEVICED, kNotFoundation, EndpointKind::COM1,
     detail::kNoExtras, 0, false, {2048, 161}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE,
     detail::kDriverPeers, StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN, "COM1 UART"},
    {RoleId::DRV_ACPI, "drv-acpi", LaunchPath::DEVICED, kNotFoundation, EndpointKind::ACPI_READ,
     detail::kNoExtras, 0, false, {2048, 273}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE,
     detail::kDriverPeers, StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN, "ACPI tables"},
    {RoleId::DRV_I8042, "drv-i8042", LaunchPath::DEVICED, kNotFoundation, EndpointKind::I8042,
     detail::kNoExtras, 0, false, {2048, 289}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE,
     detail::kDriverPeers, StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN, "PS/2 controller"},
    {RoleId::DRV_PS2_KBD, "drv-ps2-kbd", LaunchPath::DEVICED, kNotFoundation, std::nullopt, detail::kNoExtras, 0,
     false, {2048, 16}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE,
     detail::kDriverPeers.with(RoleId::DRV_I8042), StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN,
     "PS/2 keyboard"},
    {RoleId::DRV_PS2_MOUSE, "drv-ps2-mouse", LaunchPath::DEVICED, kNotFoundation, std::nullopt,
     detail::kNoExtras, 0, false, {2048, 16}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE,
     detail::kDriverPeers.with(RoleId::DRV_I8042), StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN,
     "PS/2 mouse"},
    {RoleId::DRV_VIRTIO_BLOCK, "drv-virtio-block", LaunchPath::DEVICED, kNotFoundation, std::nullopt,
     detail::kNoExtras, 0, false, {2048, 16}, 16, false, false, PeerPolicy::PUBLIC_AND_PRIVATE,
     detail::kDriverPeers, StorageClass::NONE, Need::FORBIDDEN, Need::FORBIDDEN, "virtio block device"},
    // ---- input and storage ----
    {RoleId::INPUTD, "inputd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, true, true, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::NONE, Need::FORBIDDEN,
     Need::FORBIDDEN, "input events"},
    {RoleId::BLOCKD, "blockd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE, role_set(RoleId::DRV_VIRTIO_BLOCK),
     StorageClass::BLOCK, Need::FORBIDDEN, Need::FORBIDDEN, "block devices, GPT partitions"},
    {RoleId::RAMFSD, "ramfsd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, false, false, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::FILESYSTEM,
     Need::FORBIDDEN, Need::FORBIDDEN, "memory-backed filesystem"},
    {RoleId::KEYD, "keyd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, true, false, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::KEY, Need::FORBIDDEN,
     Need::FORBIDDEN, "filesystem encryption keys"},
    {RoleId::E2FSD, "e2fsd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, false, false, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::FILESYSTEM,
     Need::REQUIRED, Need::OPTIONAL, "ext2/3/4 filesystem"},
    {RoleId::FATD, "fatd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, false, false, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::FILESYSTEM,
     Need::REQUIRED, Need::FORBIDDEN, "FAT/exFAT filesystem"},
    {RoleId::VFSD, "vfsd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 48}, 48, true, true, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::VFS, Need::FORBIDDEN,
     Need::FORBIDDEN, "public namespace over the mounts"},
    {RoleId::LOADERD, "loaderd", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 2}, 2, true, false, PeerPolicy::EXACT, role_set(RoleId::VFSD, RoleId::PROCD), StorageClass::NONE,
     Need::FORBIDDEN, Need::FORBIDDEN, "loads programs from vfsd, launches through procd"},
    // ---- probes and the generic role ----
    // SEND only on process control: its completion goes there, where rootd
    // awaits it (boot_wait.hpp).
    {RoleId::PHASE0_PROBE, "phase0-probe", LaunchPath::PROBE, kNotFoundation, std::nullopt,
     {{{EndpointKind::PROCESS_CONTROL, abi::RIGHT_SEND}}}, 1, false, {2048, 241}, 16, true, false,
     PeerPolicy::PUBLIC_AND_PRIVATE,
     role_set(RoleId::MEMD, RoleId::VSPACED, RoleId::PAGERD, RoleId::PROCD), StorageClass::NONE,
     Need::FORBIDDEN, Need::FORBIDDEN, "phase0 smoke probe"},
    {RoleId::SERVICE, "service", LaunchPath::PROCD, kNotFoundation, std::nullopt, detail::kNoExtras, 0, false,
     {2048, 16}, 16, false, true, PeerPolicy::PUBLIC_AND_PRIVATE, {}, StorageClass::NONE, Need::FORBIDDEN,
     Need::FORBIDDEN, "any integrator service: public peers only, no kernel authority"},
};

constexpr const Role& role(RoleId r) { return kRoles[role_index(r)]; }

// Profile modules that reach one consumer role: the module's frame, copied
// read-only (a font is data: no WRITE, no EXECUTE) to a fixed slot of the
// consumer, when the config's profile lists the module. Transfer.peer holds
// the row's index (authority.hpp PROFILE_MODULE).
struct ModuleGrant {
  std::string_view module;
  RoleId consumer;
  std::uint32_t local_slot;
};
inline constexpr std::uint32_t kProfileModuleRights = abi::RIGHT_READ;
inline constexpr ModuleGrant kModuleGrants[] = {
    {"console-font", RoleId::FBCOND, kImageFrameLocalSlot + 1},
};
inline constexpr std::size_t kModuleGrantCount = sizeof(kModuleGrants) / sizeof(kModuleGrants[0]);
static_assert(kImageFrameLocalSlot + kModuleGrantCount < kFirstDedicatedLocalSlot);

constexpr const Role* find_role(std::string_view name) {
  for (const Role& r : kRoles) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// Local slot of the capability through which the role is controlled: its
// dedicated primary endpoint, or else its service endpoint.
constexpr std::uint32_t primary_control_slot(const Role& r) {
  return r.primary.has_value() ? endpoint_info(*r.primary).local_slot : abi::kServiceEndpointLocalSlot;
}

// Whether the role may receive dedicated endpoint `k`, and with which
// rights (0 = not at all).
constexpr std::uint32_t dedicated_rights(const Role& r, EndpointKind k) {
  if (r.primary.has_value() && *r.primary == k) return kPrimaryRights;
  for (std::size_t i = 0; i < r.extra_count; ++i) {
    if (r.extras[i].kind == k) return r.extras[i].rights;
  }
  return 0;
}

// The storage-private relation: `from` may receive `to`'s endpoint when a
// provider row binds them (vfsd -> filesystem, filesystem -> block / key).
constexpr bool storage_pair(const Role& from, const Role& to) {
  if (from.storage == StorageClass::VFS) return to.storage == StorageClass::FILESYSTEM;
  if (from.storage != StorageClass::FILESYSTEM) return false;
  if (to.storage == StorageClass::BLOCK) return from.block != Need::FORBIDDEN;
  if (to.storage == StorageClass::KEY) return from.key != Need::FORBIDDEN;
  return false;
}

// Whether `from` may be wired to `to` through `peers` (role level; the
// config layer adds the per-service checks: providers, EXACT completeness).
constexpr bool peer_allowed(const Role& from, const Role& to) {
  if (storage_pair(from, to)) return false;  // only through provider rows
  if (from.private_peers.has(to.id)) return true;
  return from.peer_policy == PeerPolicy::PUBLIC_AND_PRIVATE && to.is_public;
}

// The role whose readiness a service of role `r` needs before it can be
// launched at all: the previous foundation role, procd, or deviced.
constexpr std::optional<RoleId> launcher_dependency(const Role& r) {
  switch (r.launch) {
    case LaunchPath::FOUNDATION:
      for (const Role& other : kRoles) {
        if (other.launch == LaunchPath::FOUNDATION && other.foundation_rank + 1 == r.foundation_rank) {
          return other.id;
        }
      }
      return std::nullopt;
    case LaunchPath::PROCD:
    case LaunchPath::PROBE: return RoleId::PROCD;
    case LaunchPath::DEVICED: return RoleId::DEVICED;
  }
  return std::nullopt;
}

namespace detail {
constexpr std::uint32_t max_u32(std::uint32_t a, std::uint32_t b) { return a > b ? a : b; }
constexpr std::uint32_t min_u32(std::uint32_t a, std::uint32_t b) { return a < b ? a : b; }

// The smallest window that holds every slot the row can be given.
constexpr SlotWindow minimal_window(const Role& r) {
  std::uint32_t lo = 0xFFFFFFFFU;
  std::uint32_t hi = 0;  // one past the last
  auto take = [&](std::uint32_t first, std::uint32_t end) {
    lo = min_u32(lo, first);
    hi = max_u32(hi, end);
  };
  if (r.max_peers > 0) take(kFirstPeerLocalSlot, kFirstPeerLocalSlot + r.max_peers);
  if (r.image_frame) take(kImageFrameLocalSlot, kImageFrameLocalSlot + 1);
  if (r.primary.has_value()) {
    const std::uint32_t s = endpoint_info(*r.primary).local_slot;
    take(s, s + 1);
  }
  for (std::size_t i = 0; i < r.extra_count; ++i) {
    const std::uint32_t s = endpoint_info(r.extras[i].kind).local_slot;
    take(s, s + 1);
  }
  for (const ModuleGrant& g : kModuleGrants) {
    if (g.consumer == r.id) take(g.local_slot, g.local_slot + 1);
  }
  if (hi == 0) return SlotWindow{};
  return SlotWindow{lo, hi - lo};
}

constexpr std::size_t set_size(RoleSet s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kMaxRoles; ++i) n += (s.bits >> i) & 1U;
  return n;
}

constexpr bool name_is_role_name(std::string_view n) {
  if (n.empty() || n.size() > kMaxRoleNameLength) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

constexpr bool row_is_sound(const Role& r) {
  if (!name_is_role_name(r.name)) return false;
  if (r.window != minimal_window(r)) return false;
  if (r.window.count == 0) return false;  // every role can hold something
  if (r.max_peers > kMaxPeerLocalSlots) return false;
  if (r.extra_count > kMaxExtraEndpoints) return false;
  if ((r.launch == LaunchPath::FOUNDATION) != (r.foundation_rank != kNotFoundation)) return false;
  // Dedicated authority belongs to one service: its holders are singletons,
  // and no kind appears twice in one row.
  const bool holds_dedicated = r.primary.has_value() || r.extra_count > 0;
  if (holds_dedicated && !r.singleton) return false;
  for (std::size_t i = 0; i < r.extra_count; ++i) {
    if (r.primary.has_value() && *r.primary == r.extras[i].kind) return false;
    if (r.extras[i].rights == 0 || (r.extras[i].rights & ~kEndpointFullRights) != 0) return false;
    for (std::size_t j = i + 1; j < r.extra_count; ++j) {
      if (r.extras[i].kind == r.extras[j].kind) return false;
    }
  }
  if (r.private_peers.has(r.id)) return false;
  for (std::size_t i = kRoleCount; i < kMaxRoles; ++i) {
    if (((r.private_peers.bits >> i) & 1U) != 0) return false;
  }
  // Private peers are private: listing a public role would be redundant for
  // PUBLIC_AND_PRIVATE; storage pairs go through provider rows.
  for (const Role& to : kRoles) {
    if (!r.private_peers.has(to.id)) continue;
    if (storage_pair(r, to)) return false;
    if (to.is_public && r.peer_policy == PeerPolicy::PUBLIC_AND_PRIVATE) return false;
  }
  // A role that can be wired to anything has room for it.
  const bool may_have_peers = !r.private_peers.empty() || r.peer_policy == PeerPolicy::PUBLIC_AND_PRIVATE;
  if (may_have_peers != (r.max_peers > 0)) return false;
  if (r.peer_policy == PeerPolicy::EXACT && r.max_peers != set_size(r.private_peers)) return false;
  if (r.peer_policy == PeerPolicy::PRIVATE_ONLY && r.max_peers != set_size(r.private_peers)) return false;
  if (r.storage != StorageClass::FILESYSTEM && (r.block != Need::FORBIDDEN || r.key != Need::FORBIDDEN)) {
    return false;
  }
  if (r.image_frame && !r.singleton) return false;
  if (r.window.contains(kPopulateStagingSlot)) return false;
  return true;
}

constexpr bool roles_are_sound() {
  std::size_t foundation = 0;
  for (std::size_t i = 0; i < kRoleCount; ++i) {
    const Role& r = kRoles[i];
    if (role_index(r.id) != i) return false;
    if (!row_is_sound(r)) return false;
    for (std::size_t j = i + 1; j < kRoleCount; ++j) {
      if (r.name == kRoles[j].name) return false;
    }
    if (r.launch == LaunchPath::FOUNDATION) ++foundation;
  }
  // Foundation ranks are 0..n-1, each once.
  for (std::uint8_t rank = 0; rank < foundation; ++rank) {
    std::size_t holders = 0;
    for (const Role& r : kRoles) holders += (r.launch == LaunchPath::FOUNDATION && r.foundation_rank == rank);
    if (holders != 1) return false;
  }
  // Each dedicated endpoint kind has at most one holder that receives on it,
  // and the only shared kinds are the driver-lifecycle endpoint and process
  // control (procd serves it, the probe reports its completion on it).
  for (std::size_t k = 0; k < kEndpointKindCount; ++k) {
    const auto kind = static_cast<EndpointKind>(k);
    std::size_t holders = 0;
    std::size_t servers = 0;
    for (const Role& r : kRoles) {
      const std::uint32_t rights = dedicated_rights(r, kind);
      holders += rights != 0;
      servers += (rights & abi::RIGHT_RECEIVE) != 0;
    }
    if (servers > 1) return false;
    const bool shared = kind == EndpointKind::DRIVER_LIFECYCLE || kind == EndpointKind::PROCESS_CONTROL;
    if (holders != (shared ? 2U : 1U)) return false;
  }
  return true;
}
}  // namespace detail

static_assert(detail::roles_are_sound(), "role catalog: rows contradict their slots, windows or peer rules");

}  // namespace rootd
