// The transfer rules: what one startup transfer is, and whether a role may
// receive it.
//
// A Transfer moves one capability from rootd's cspace (source_slot) into a
// service's cspace (local_slot) by CAP COPY_ATTENUATED with a rights mask.
// authorize() is the single rule check. It looks at one transfer against the
// receiving role's row of the catalog (roles.hpp); checks that need the
// whole set (exclusivity, collisions, completeness) or the config (which
// services are wired) are envelope.hpp's.
//
// Authority kinds and their rule:
//   SERVICE_ENDPOINT    the service's own endpoint, at abi::kServiceEndpointLocalSlot,
//                       at most kServiceEndpointRights; every role.
//   DEDICATED_ENDPOINT  kernel endpoint of kind K at endpoint_info(K).local_slot, with at
//                       most the rights the role's row grants for K (primary or extra).
//   IMAGE_FRAME         the boot image frame at kImageFrameLocalSlot, at most
//                       kImageFrameRights; roles with `image_frame`.
//   PEER_ENDPOINT       another service's endpoint, wired by `peers`, in the role's peer
//                       slots, at most kPeerRights; the target role must be allowed
//                       (peer_allowed).
//   STORAGE_ENDPOINT    another service's endpoint, wired by a provider row, in the peer
//                       slots, at most kPeerRights; the pair must be a storage pair.
//   CARRIED_IMAGE_FRAME a launched service's image frame, carried in the launcher's
//                       CREATE_STAGED_PROCESS / SPAWN_PROBE / START_DRIVER call, at most
//                       kCarriedImageRights; only the role that launches the service's
//                       role (launcher_role), in kCarriedImageWindow. The launcher picks
//                       the slot: rootd, which cannot know it, names abi::kNoSlot.
//   PROFILE_MODULE      a boot module's frame the profile lists, to the role of its
//                       kModuleGrants row (peer = the row), at the row's slot, at most
//                       kProfileModuleRights (READ): never WRITE or EXECUTE.
// Anything else is ambient authority and refused.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"

namespace rootd {

enum class AuthorityKind : std::uint8_t {
  SERVICE_ENDPOINT = 0,
  DEDICATED_ENDPOINT = 1,
  IMAGE_FRAME = 2,
  PEER_ENDPOINT = 3,
  STORAGE_ENDPOINT = 4,
  CARRIED_IMAGE_FRAME = 5,
  PROFILE_MODULE = 6,
};
inline constexpr std::size_t kAuthorityKindCount = 7;

constexpr std::string_view authority_kind_name(AuthorityKind k) {
  switch (k) {
    case AuthorityKind::SERVICE_ENDPOINT: return "service-endpoint";
    case AuthorityKind::DEDICATED_ENDPOINT: return "dedicated-endpoint";
    case AuthorityKind::IMAGE_FRAME: return "image-frame";
    case AuthorityKind::PEER_ENDPOINT: return "peer-endpoint";
    case AuthorityKind::STORAGE_ENDPOINT: return "storage-endpoint";
    case AuthorityKind::CARRIED_IMAGE_FRAME: return "carried-image-frame";
    case AuthorityKind::PROFILE_MODULE: return "profile-module";
  }
  return "unknown";
}

// Every member defaults to zero, so that large tables of transfers in static
// storage land in .bss rather than in the image.
struct Transfer {
  abi::CapOp op{};                  // synthesis sets COPY_ATTENUATED; 0 is no operation
  std::uint32_t local_slot = 0;     // in the receiving service's cspace
  std::uint32_t source_slot = 0;    // in rootd's cspace
  std::uint32_t rights = 0;         // abi::Rights mask of the copy
  std::uint32_t source_rights = 0;  // rights rootd holds on the source cap
  std::uint16_t peer = 0;           // service owning the endpoint (SERVICE/PEER/STORAGE); launched (CARRIED);
                                    // the kModuleGrants row (PROFILE_MODULE)
  AuthorityKind authority = AuthorityKind::SERVICE_ENDPOINT;
  EndpointKind endpoint = EndpointKind::DRIVER_LIFECYCLE;  // DEDICATED_ENDPOINT only
  RoleId peer_role = RoleId::MEMD;                         // PEER/STORAGE; the launched role (CARRIED)
  friend constexpr bool operator==(const Transfer&, const Transfer&) = default;
};

constexpr bool rights_within(std::uint32_t rights, std::uint32_t allowed) { return (rights & ~allowed) == 0; }

// CAP_COPY (8) would copy the source's full rights: it is reserved and
// always refused. Only attenuated copies move authority.
constexpr Check cap_op_allowed(abi::CapOp op) {
  if (op == abi::CapOp::COPY) return Error{Reason::TRANSFER_CAP_COPY_DENIED, 0};
  if (op != abi::CapOp::COPY_ATTENUATED) return Error{Reason::TRANSFER_CAP_OP_UNKNOWN, 0};
  return kOk;
}

// Peer and storage endpoints occupy [kFirstPeerLocalSlot, + max_peers).
constexpr bool is_peer_slot(const Role& r, std::uint32_t slot) {
  return slot >= kFirstPeerLocalSlot && slot - kFirstPeerLocalSlot < r.max_peers;
}

// The rule check. Error.offset is 0: callers that know where the transfer
// came from (envelope.hpp) substitute their own offset.
constexpr Check authorize(const Role& r, const Transfer& t) {
  if (Check c = cap_op_allowed(t.op); !ok(c)) return c;
  if (t.local_slot == kLegacySlot || t.source_slot == kLegacySlot) return Error{Reason::TRANSFER_LEGACY_SLOT, 0};
  if (static_cast<std::size_t>(t.authority) >= kAuthorityKindCount) {
    return Error{Reason::TRANSFER_AUTHORITY_UNKNOWN, 0};
  }
  if (t.rights == 0) return Error{Reason::TRANSFER_RIGHTS_EMPTY, 0};
  if (!rights_within(t.rights, t.source_rights)) return Error{Reason::TRANSFER_RIGHTS_EXCEED_SOURCE, 0};
  // The service endpoint sits at its fixed low slot, outside every window;
  // carried frames land in the launcher's receive window; a profile module's
  // one slot is inside its consumer's window (roles.hpp), so another role is
  // refused as not authorized, which names the cause.
  if (t.authority != AuthorityKind::SERVICE_ENDPOINT && t.authority != AuthorityKind::CARRIED_IMAGE_FRAME &&
      t.authority != AuthorityKind::PROFILE_MODULE && !r.window.contains(t.local_slot)) {
    return Error{Reason::TRANSFER_OUTSIDE_WINDOW, 0};
  }

  std::uint32_t allowed = 0;
  switch (t.authority) {
    case AuthorityKind::SERVICE_ENDPOINT:
      if (t.local_slot != abi::kServiceEndpointLocalSlot) {
        return Error{Reason::TRANSFER_SERVICE_ENDPOINT_SLOT_MISMATCH, 0};
      }
      allowed = kServiceEndpointRights;
      break;
    case AuthorityKind::DEDICATED_ENDPOINT:
      if (!endpoint_kind_valid(static_cast<std::uint32_t>(t.endpoint))) {
        return Error{Reason::TRANSFER_AUTHORITY_UNKNOWN, 0};
      }
      allowed = dedicated_rights(r, t.endpoint);
      if (allowed == 0) return Error{Reason::TRANSFER_DEDICATED_NOT_AUTHORIZED, 0};
      if (t.local_slot != endpoint_info(t.endpoint).local_slot) {
        return Error{Reason::TRANSFER_DEDICATED_SLOT_MISMATCH, 0};
      }
      break;
    case AuthorityKind::IMAGE_FRAME:
      if (!r.image_frame) return Error{Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED, 0};
      if (t.local_slot != kImageFrameLocalSlot) return Error{Reason::TRANSFER_IMAGE_FRAME_SLOT_MISMATCH, 0};
      allowed = kImageFrameRights;
      break;
    case AuthorityKind::PEER_ENDPOINT:
      if (role_index(t.peer_role) >= kRoleCount || !peer_allowed(r, role(t.peer_role))) {
        return Error{Reason::PEER_NOT_PERMITTED, 0};
      }
      if (!is_peer_slot(r, t.local_slot)) return Error{Reason::TRANSFER_PEER_SLOT_INVALID, 0};
      allowed = kPeerRights;
      break;
    case AuthorityKind::STORAGE_ENDPOINT:
      if (role_index(t.peer_role) >= kRoleCount || !storage_pair(r, role(t.peer_role))) {
        return Error{Reason::TRANSFER_STORAGE_PAIR_INVALID, 0};
      }
      if (!is_peer_slot(r, t.local_slot)) return Error{Reason::TRANSFER_PEER_SLOT_INVALID, 0};
      allowed = kPeerRights;
      break;
    case AuthorityKind::CARRIED_IMAGE_FRAME: {
      if (role_index(t.peer_role) >= kRoleCount) return Error{Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED, 0};
      const std::optional<RoleId> launcher = launcher_role(role(t.peer_role).launch);
      if (!launcher.has_value() || *launcher != r.id) return Error{Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED, 0};
      if (t.local_slot != abi::kNoSlot && !kCarriedImageWindow.contains(t.local_slot)) {
        return Error{Reason::TRANSFER_IMAGE_FRAME_SLOT_MISMATCH, 0};
      }
      allowed = kCarriedImageRights;
      break;
    }
    case AuthorityKind::PROFILE_MODULE:
      if (t.peer >= kModuleGrantCount || kModuleGrants[t.peer].consumer != r.id) {
        return Error{Reason::TRANSFER_MODULE_NOT_AUTHORIZED, 0};
      }
      if (t.local_slot != kModuleGrants[t.peer].local_slot) return Error{Reason::TRANSFER_MODULE_SLOT_MISMATCH, 0};
      allowed = kProfileModuleRights;
      break;
  }
  if (!rights_within(t.rights, allowed)) return Error{Reason::TRANSFER_RIGHTS_EXCEED_RULE, 0};
  return kOk;
}

}  // namespace rootd
