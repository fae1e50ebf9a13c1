// The handoff checked against what the config needs: the runtime endpoint
// inventory, the slots rootd holds at entry, and the boot module set.
//
// Endpoint inventory. The kernel installs each dedicated endpoint in
// rootd's cspace at the endpoint's canonical slot, the same number at which
// a service receives it (endpoints.hpp: 2112 + 16 k). Rules:
//   - all kEndpointKindCount kinds are present, whatever the config needs:
//     a kind the handoff leaves out may still sit in rootd's cspace, where
//     rootd could neither account for it nor shed it;
//   - every endpoint present sits at its canonical slot (handoff parse
//     already guarantees each kind at most once, in kind order);
//   - no descriptor (endpoint, module frame, untyped, image frame,
//     framebuffer) populates legacy slot 4;
//   - no other descriptor occupies a canonical dedicated slot;
//   - the cspace has room for three slots per service above
//     first_free_slot.
// Endpoints no role of the config holds are not handed to any service;
// rootd sheds them with the rest of its surplus authority.
//
// Slots rootd holds at entry (validate_slots, which needs rdx): no
// descriptor names slot 0..3 (null, kernel control, own cspace, own vspace)
// or the root endpoint's slot, and the root endpoint lies above the legacy
// slot and below first_free_slot, where rootd creates nothing. Otherwise
// rootd would shed, hand out or overwrite its own authority. Two rules are
// the parser's (handoff.hpp SlotClaims): every named slot is named once
// (HANDOFF_SLOT_REUSED), and below first_free_slot (HANDOFF_SLOT_NOT_
// POPULATED), so no descriptor reaches rootd's per-service slots.
// validate_runtime_inventory() is the part that needs no config (boot step 2);
// validate_inventory() runs it and then the config-dependent rules.
//
// Modules: `boot-config`, every service's image, and the profile's modules
// must be present by name.
//
// Locations: INVENTORY_* and MODULE_BOOT_CONFIG_MISSING are in the handoff
// blob (the slot field of the endpoint, module or descriptor at fault;
// first_free_slot for a root endpoint slot out of range);
// MODULE_SERVICE_IMAGE_MISSING is the config's service row,
// MODULE_PROFILE_MODULE_MISSING its profile. Each Error says which blob;
// offset_is_in_handoff() tells the same from the reason alone.
//
// validate_inventory and validate_modules also take the roles resolved once
// (service_roles.hpp); their older forms resolve them.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/owner.hpp"
#include "rootd/profiles.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"

namespace rootd {

inline constexpr std::string_view kBootConfigModule = "boot-config";

// Slots rootd needs per service above the handoff's first free slot: the
// retained service endpoint (first_free + i, envelope.hpp Sources), a
// process cap (first_free + n + i) and an install grant (first_free + 2n + i)
// (boot.hpp, docs/startup-protocol.md).
inline constexpr std::uint64_t kRootSlotsPerService = 3;

// And one slot above those for every image: where a verifier reply's
// capability would land (boot_verify.hpp). rootd deletes whatever lands
// there at once, so it is empty whenever rootd parks; runtime images never
// receive into it. Every image asks for it, so one handoff boots them all.
inline constexpr std::uint64_t kRootScratchSlots = 1;
constexpr std::uint32_t root_scratch_slot(std::uint32_t first_free_slot, std::size_t service_count) {
  return first_free_slot + static_cast<std::uint32_t>(kRootSlotsPerService * service_count);
}

constexpr bool offset_is_in_handoff(Reason r) {
  const auto n = static_cast<std::uint16_t>(r);
  if (n >= 100 && n < 200) return true;  // handoff parse
  return (n >= 400 && n < 450) && r != Reason::MODULE_SERVICE_IMAGE_MISSING &&
         r != Reason::MODULE_PROFILE_MODULE_MISSING;
}

// A slot at which the kernel installs some dedicated endpoint.
constexpr bool is_canonical_endpoint_slot(std::uint32_t slot) {
  if (slot < kFirstDedicatedLocalSlot) return false;
  const std::uint32_t delta = slot - kFirstDedicatedLocalSlot;
  return delta % kDedicatedLocalSlotStride == 0 && delta / kDedicatedLocalSlotStride < kEndpointKindCount;
}

// Bit k set: some role in `present` holds dedicated endpoint kind k.
constexpr std::uint32_t required_endpoints(RoleSet present) {
  std::uint32_t mask = 0;
  for (const Role& r : kRoles) {
    if (!present.has(r.id)) continue;
    if (r.primary.has_value()) mask |= std::uint32_t{1} << static_cast<std::size_t>(*r.primary);
    for (std::size_t e = 0; e < r.extra_count; ++e) {
      if (r.extras[e].rights != 0) mask |= std::uint32_t{1} << static_cast<std::size_t>(r.extras[e].kind);
    }
  }
  return mask;
}

// Bit k set: some service of the config holds dedicated endpoint kind k.
constexpr std::uint32_t required_endpoints(const bcfg::View& config) {
  ServiceRoles roles;
  resolve_roles(config, roles);
  return required_endpoints(roles.present);
}

// An error about the handoff: the byte at fault, what it belongs to.
constexpr Error handoff_error(Reason r, std::uint32_t offset, Subject subject = Subject::NONE,
                              std::size_t index = kNoSubjectIndex) {
  return Error{r, offset, Blob::HANDOFF, subject, static_cast<std::uint16_t>(index)};
}

// rootd reads its config from this module before any config exists.
constexpr Result<handoff::Module> find_boot_config(const handoff::View& h) {
  const std::size_t at = h.find_module(kBootConfigModule);
  if (at == h.module_count()) {
    return handoff_error(Reason::MODULE_BOOT_CONFIG_MISSING, static_cast<std::uint32_t>(h.bytes().size()));
  }
  return h.module(at);
}

namespace detail {
// Payload offset of the descriptor of `kind` in a parsed handoff, or 0. The
// View keeps these private; the chain was validated by parse().
constexpr std::uint32_t handoff_payload(const handoff::View& h, std::uint16_t kind) {
  const Bytes b = h.bytes();
  std::size_t at = handoff::kHeaderSize;
  while (range_fits(at, handoff::kDescriptorHeaderSize, b.size())) {
    const std::uint32_t size = load_le32(b, at + handoff::kDescriptorSizeOffset);
    if (load_le16(b, at + handoff::kDescriptorKindOffset) == kind) {
      return static_cast<std::uint32_t>(at + handoff::kDescriptorHeaderSize);
    }
    if (size < handoff::kDescriptorHeaderSize) break;
    at += size;
  }
  return 0;
}

template <class Sink>
constexpr bool check_other_slot(std::uint32_t slot, std::uint32_t at, Subject subject, std::size_t index,
                                Reporter<Sink>& report) {
  if (slot == kLegacySlot) return report(handoff_error(Reason::INVENTORY_LEGACY_SLOT_POPULATED, at, subject, index));
  if (is_canonical_endpoint_slot(slot)) {
    return report(handoff_error(Reason::INVENTORY_CANONICAL_SLOT_OCCUPIED, at, subject, index));
  }
  return true;
}

// h.find_module(name) != module_count(), trying first the entry after the
// previous hit: service images usually follow the modules' name order, and
// then a lookup costs one comparison instead of a binary search.
class ModuleFinder {
 public:
  constexpr explicit ModuleFinder(const handoff::View& h)
      : h_(h), entries_(handoff_payload(h, handoff::kKindModules)) {}
  constexpr bool has(std::string_view name) {
    if (next_ < h_.module_count() && name_at(next_) == name) {
      ++next_;
      return true;
    }
    const std::size_t at = h_.find_module(name);
    if (at == h_.module_count()) return false;
    next_ = at + 1;
    return true;
  }

 private:
  // h.module(i).name, without decoding the rest of the entry.
  constexpr std::string_view name_at(std::size_t i) const {
    const std::size_t at = entries_ + i * handoff::kModuleEntrySize;
    return chars_at(h_.bytes(), at + handoff::kModuleNameOffset,
                    byte_at(h_.bytes(), at + handoff::kModuleNameLengthOffset));
  }

  const handoff::View& h_;
  std::size_t entries_;
  std::size_t next_ = 0;
};
}  // namespace detail

namespace detail {
// Calls visit(slot, offset of the slot field, subject, index) for every slot
// the handoff names, in blob order of kind: image frame, endpoints, modules,
// untyped, framebuffer. Stops when visit returns false; says whether it ran
// to the end.
template <class Visit>
constexpr bool for_each_named_slot(const handoff::View& h, Visit&& visit) {
  const std::uint32_t image = handoff_payload(h, handoff::kKindImageFrame);
  if (!visit(h.image_frame().slot, image + handoff::kImageFrameSlotOffset, Subject::DESCRIPTOR, kNoSubjectIndex)) {
    return false;
  }
  const std::uint32_t endpoints = handoff_payload(h, handoff::kKindEndpoints);
  for (std::size_t i = 0; i < h.endpoint_count(); ++i) {
    const auto at = static_cast<std::uint32_t>(endpoints + i * handoff::kEndpointEntrySize +
                                               handoff::kEndpointSlotOffset);
    if (!visit(h.endpoint(i).slot, at, Subject::ENDPOINT, i)) return false;
  }
  const std::uint32_t modules = handoff_payload(h, handoff::kKindModules);
  for (std::size_t i = 0; i < h.module_count(); ++i) {
    const auto at = static_cast<std::uint32_t>(modules + i * handoff::kModuleEntrySize +
                                               handoff::kModuleFrameSlotOffset);
    if (!visit(h.module(i).frame_slot, at, Subject::MODULE, i)) return false;
  }
  const std::uint32_t untyped = handoff_payload(h, handoff::kKindUntyped);
  for (std::size_t i = 0; i < h.untyped_count(); ++i) {
    const auto at = static_cast<std::uint32_t>(untyped + i * handoff::kUntypedEntrySize +
                                               handoff::kUntypedSlotOffset);
    if (!visit(h.untyped(i).slot, at, Subject::DESCRIPTOR, i)) return false;
  }
  if (const std::optional<handoff::Framebuffer> fb = h.framebuffer(); fb.has_value()) {
    const std::uint32_t at = handoff_payload(h, handoff::kKindFramebuffer) + handoff::kFramebufferSlotOffset;
    if (!visit(fb->slot, at, Subject::DESCRIPTOR, kNoSubjectIndex)) return false;
  }
  return true;
}
}  // namespace detail

// Slots 0..3 are rootd's null slot, kernel control, cspace and vspace.
inline constexpr std::uint32_t kFixedSlotCount = abi::kSelfVspaceSlot + 1;

// The slots rootd holds at entry against every slot the handoff names:
// the root endpoint (rdx, `root_slot`) lies in (kLegacySlot, first_free_slot),
// and no descriptor names a fixed slot or the root endpoint's slot. Needs
// rdx, which the handoff does not carry, so the engine's intake calls it.
template <class Sink>
constexpr bool validate_slots(const handoff::View& h, std::uint32_t root_slot, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  const handoff::Cspace cspace = h.cspace();
  if (root_slot <= kLegacySlot || root_slot >= cspace.first_free_slot) {
    const std::uint32_t at =
        detail::handoff_payload(h, handoff::kKindCspace) + handoff::kCspaceFirstFreeSlotOffset;
    if (!report(handoff_error(Reason::INVENTORY_ROOT_ENDPOINT_SLOT_INVALID, at, Subject::DESCRIPTOR))) return false;
  }
  detail::for_each_named_slot(h, [&](std::uint32_t slot, std::uint32_t at, Subject subject, std::size_t index) {
    if (slot < kFixedSlotCount) return report(handoff_error(Reason::INVENTORY_FIXED_SLOT_NAMED, at, subject, index));
    if (slot == root_slot) {
      return report(handoff_error(Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED, at, subject, index));
    }
    return true;
  });
  return report.clean();
}

// The part of the inventory that needs no config (boot step 2, right after
// intake): canonical slots, legacy slot 4, nothing else on a dedicated slot,
// every dedicated endpoint kind present.
template <class Sink>
constexpr bool validate_runtime_inventory(const handoff::View& h, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  const std::uint32_t endpoints = detail::handoff_payload(h, handoff::kKindEndpoints);
  for (std::size_t i = 0; i < h.endpoint_count(); ++i) {
    const handoff::Endpoint e = h.endpoint(i);
    const auto at = static_cast<std::uint32_t>(endpoints + i * handoff::kEndpointEntrySize +
                                               handoff::kEndpointSlotOffset);
    if (e.slot == kLegacySlot) {
      if (!report(handoff_error(Reason::INVENTORY_LEGACY_SLOT_POPULATED, at, Subject::ENDPOINT, i))) return false;
    } else if (e.slot != endpoint_info(e.kind).local_slot) {
      if (!report(handoff_error(Reason::INVENTORY_ENDPOINT_NOT_CANONICAL, at, Subject::ENDPOINT, i))) return false;
    }
  }
  const std::uint32_t image = detail::handoff_payload(h, handoff::kKindImageFrame);
  if (!detail::check_other_slot(h.image_frame().slot, image + handoff::kImageFrameSlotOffset, Subject::DESCRIPTOR,
                                kNoSubjectIndex, report)) {
    return false;
  }
  const std::uint32_t modules = detail::handoff_payload(h, handoff::kKindModules);
  for (std::size_t i = 0; i < h.module_count(); ++i) {
    const auto at = static_cast<std::uint32_t>(modules + i * handoff::kModuleEntrySize +
                                               handoff::kModuleFrameSlotOffset);
    if (!detail::check_other_slot(h.module(i).frame_slot, at, Subject::MODULE, i, report)) return false;
  }
  const std::uint32_t untyped = detail::handoff_payload(h, handoff::kKindUntyped);
  for (std::size_t i = 0; i < h.untyped_count(); ++i) {
    const auto at = static_cast<std::uint32_t>(untyped + i * handoff::kUntypedEntrySize +
                                               handoff::kUntypedSlotOffset);
    if (!detail::check_other_slot(h.untyped(i).slot, at, Subject::DESCRIPTOR, i, report)) return false;
  }
  if (const std::optional<handoff::Framebuffer> fb = h.framebuffer(); fb.has_value()) {
    const std::uint32_t at = detail::handoff_payload(h, handoff::kKindFramebuffer) + handoff::kFramebufferSlotOffset;
    if (!detail::check_other_slot(fb->slot, at, Subject::DESCRIPTOR, kNoSubjectIndex, report)) return false;
  }
  for (std::size_t k = 0; k < kEndpointKindCount; ++k) {
    if (h.endpoint_slot(static_cast<EndpointKind>(k)) == handoff::kNoSlot) {
      if (!report(handoff_error(Reason::INVENTORY_ENDPOINT_MISSING, endpoints, Subject::DESCRIPTOR))) return false;
    }
  }
  return report.clean();
}

// The whole inventory check: validate_runtime_inventory, then what the
// config needs: three slots per service above first_free_slot. (Every
// endpoint kind its roles hold is present: the runtime inventory requires
// them all.)
template <class Sink>
constexpr bool validate_inventory(const bcfg::View& config, const ServiceRoles& roles, const handoff::View& h,
                                  Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  auto forward = [&report](Error e) { return report(e); };
  validate_runtime_inventory(h, forward);
  if (report.stopped()) return false;
  (void)roles;
  const handoff::Cspace cspace = h.cspace();
  const std::uint64_t needed =
      std::uint64_t{cspace.first_free_slot} + kRootSlotsPerService * config.service_count() + kRootScratchSlots;
  if (needed > cspace.slot_count) {
    const std::uint32_t at = detail::handoff_payload(h, handoff::kKindCspace) + handoff::kCspaceSlotCountOffset;
    if (!report(handoff_error(Reason::INVENTORY_CSPACE_TOO_SMALL, at, Subject::DESCRIPTOR))) return false;
  }
  return report.clean();
}

template <class Sink>
constexpr bool validate_inventory(const bcfg::View& config, const handoff::View& h, Sink&& sink) {
  ServiceRoles roles;
  resolve_roles(config, roles);
  return validate_inventory(config, roles, h, sink);
}

// Module discovery: boot-config, each service's image, the profile's modules.
// Needs no roles; the form with them is for callers that share one table.
template <class Sink>
constexpr bool validate_modules(const bcfg::View& config, const handoff::View& h, Sink&& sink) {
  detail::Reporter<Sink> report(sink);
  if (Result<handoff::Module> bc = find_boot_config(h); !bc) {
    if (!report(bc.error())) return false;
  }
  detail::ModuleFinder modules(h);
  for (std::size_t i = 0; i < config.service_count(); ++i) {
    if (!modules.has(service_image(config, i))) {
      if (!report(service_error(config, Reason::MODULE_SERVICE_IMAGE_MISSING, i))) return false;
    }
  }
  if (const Profile* p = find_profile(config.profile()); p != nullptr) {
    for (std::size_t m = 0; m < p->module_count; ++m) {
      if (h.find_module(p->modules[m]) == h.module_count()) {
        if (!report(profile_error(config, Reason::MODULE_PROFILE_MODULE_MISSING))) return false;
      }
    }
  }
  return report.clean();
}

template <class Sink>
constexpr bool validate_modules(const bcfg::View& config, const ServiceRoles& roles, const handoff::View& h,
                                Sink&& sink) {
  (void)roles;
  return validate_modules(config, h, sink);
}

}  // namespace rootd
