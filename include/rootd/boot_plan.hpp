// The boot plan: everything rootd decides before its first kernel call,
// computed once from the handoff and the boot config, with no I/O.
//
// plan_boot() validates the inputs (config rules, modules, inventory,
// envelopes, order: the same validators `erix-bcfg check` runs) and
// resolves, per service, its role, launch path and launcher, rootd's own
// slots for it, its image frame and its transfer count, plus the
// dependency bookkeeping (OrderPlan) and the shed schedule. The engine
// (boot.hpp) only executes a plan; a change of what is launched how, or of
// when rootd drops which caps, is a change here.
//
// Planning runs in stages so the engine can report a stage line between
// them; plan_boot() runs them all.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "rootd/authority.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/envelope.hpp"
#include "rootd/handoff.hpp"
#include "rootd/inventory.hpp"
#include "rootd/ordering.hpp"
#include "rootd/owner.hpp"
#include "rootd/policy.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"

namespace rootd::boot {

// ---- the shed schedule -------------------------------------------------------
//
// rootd keeps a boot-time cap only while it will still hand it out. A
// group's CONSUMED step deletes it once every service that consumes it is
// READY (so it has it, and rootd will not transfer it again); a group with
// no consumer goes at the first SCHEDULE. Module frames are per module: each
// goes once every service launched from it is READY; the boot-config module
// stays to the final shed, because rootd reads the config in place (its
// View) until its terminal line. Whatever a CONSUMED step did not shed goes
// at the final shed before READY, or in teardown after a failure.

// When a shed step runs: once its consumers are READY, or at the final shed.
enum class ShedPoint : std::uint8_t { CONSUMED, FINAL };

// Which of rootd's boot-time caps a shed step deletes.
enum class SlotGroup : std::uint8_t {
  UNTYPED,              // every untyped cap of the handoff; consumer: deviced
  DEDICATED_ENDPOINTS,  // the dedicated kernel endpoints; consumers: their holders and foundation launches (pager)
  MODULE_FRAMES,        // every boot module's frame; consumers: the services launched from it
  IMAGE_FRAME,          // rootd's own image frame; consumers: the services whose envelope holds it
  FRAMEBUFFER,          // the boot framebuffer; no consumer in rootd: shed at once
  SERVICE_SLOTS,        // per service: install grant, process cap, retained endpoint (final only)
};
inline constexpr std::size_t kSlotGroupCount = 6;

constexpr std::uint8_t slot_group_bit(SlotGroup g) { return static_cast<std::uint8_t>(1U << static_cast<unsigned>(g)); }

struct ShedStep {
  SlotGroup group = SlotGroup::UNTYPED;
  ShedPoint when = ShedPoint::FINAL;
};

// One CONSUMED step per group at most, plus the final step of every group.
inline constexpr std::size_t kMaxShedSteps = 2 * kSlotGroupCount;

// ---- per service ---------------------------------------------------------------

struct ServicePlan {
  std::uint8_t role = kUnknownRole;          // index into kRoles
  LaunchPath launch = LaunchPath::FOUNDATION;
  std::uint16_t launcher = bcfg::kNoIndex;   // procd or deviced; kNoIndex: kernel control (foundation)
  std::uint32_t endpoint_slot = 0;           // rootd's retained copy of its service endpoint
  std::uint32_t process_slot = 0;            // rootd's process cap (foundation only)
  std::uint32_t grant_slot = 0;              // the launcher's startup-cap install grant
  std::uint32_t image_frame = 0;             // rootd's slot of its image module's frame
  std::uint16_t transfer_count = 0;          // caps rootd copies into its cspace
  std::uint16_t image_module = 0;            // index of its image module in the handoff
  std::uint8_t consumes = 0;                 // slot_group_bit()s of the groups it consumes (shed schedule)
};

template <std::size_t N>
struct BootPlan {
  static constexpr std::size_t kCapacity = N;

  ServiceRoles roles;  // every service's role, resolved once for every stage
  OrderPlan order;     // dependencies, dependents, launch order, waves
  ServicePlan services[N] = {};
  std::uint16_t service_count = 0;
  std::uint16_t probe_count = 0;
  std::uint32_t slot_base = 0;  // first of rootd's per-service slots
  ShedStep shed[kMaxShedSteps] = {};
  std::uint8_t shed_count = 0;
  std::uint32_t config_module = 0;  // the boot-config module: kept to the final shed
  std::uint16_t consumer_count[kSlotGroupCount] = {};  // services consuming each group

  // Whether a CONSUMED step for `g` is in the schedule.
  constexpr bool sheds_early(SlotGroup g) const {
    for (std::size_t k = 0; k < shed_count; ++k) {
      if (shed[k].group == g && shed[k].when == ShedPoint::CONSUMED) return true;
    }
    return false;
  }

  constexpr const Role& role_of(std::size_t s) const { return kRoles[services[s].role]; }
};

// ---- planning ----------------------------------------------------------------------

enum class PlanStage : std::uint8_t { CONFIG, MODULES, ENVELOPES, ORDER };
inline constexpr PlanStage kPlanStages[] = {PlanStage::CONFIG, PlanStage::MODULES, PlanStage::ENVELOPES,
                                            PlanStage::ORDER};

// Why planning stopped. The Error's location says which blob and which
// row (owner_of names the service when there is one).
struct PlanError {
  Error error{};

  constexpr bool ok() const { return error.reason == Reason::NONE; }
};

namespace detail {

constexpr PlanError plan_failure(const FirstError& first) { return PlanError{first.error}; }

template <std::size_t N>
constexpr void add_shed_step(BootPlan<N>& plan, SlotGroup group, ShedPoint when) {
  plan.shed[plan.shed_count++] = ShedStep{group, when};
}

// The groups service `s` consumes, from its launch path and its envelope.
// What a service's launch itself uses: its image module, and for the
// foundation the pager endpoint (REGISTER_PAGER).
constexpr std::uint8_t launch_groups(const ServicePlan& sp) {
  std::uint8_t bits = slot_group_bit(SlotGroup::MODULE_FRAMES);
  if (sp.launch == LaunchPath::FOUNDATION) bits |= slot_group_bit(SlotGroup::DEDICATED_ENDPOINTS);
  return bits;
}

// The groups a service's envelope draws on.
constexpr std::uint8_t transfer_groups(std::span<const Transfer> transfers) {
  std::uint8_t bits = 0;
  for (const Transfer& t : transfers) {
    if (t.authority == AuthorityKind::DEDICATED_ENDPOINT) bits |= slot_group_bit(SlotGroup::DEDICATED_ENDPOINTS);
    if (t.authority == AuthorityKind::IMAGE_FRAME) bits |= slot_group_bit(SlotGroup::IMAGE_FRAME);
  }
  return static_cast<std::uint8_t>(bits);
}

// rootd's slots, launchers, image frames, transfer counts and the shed
// schedule, for a config that passed every validator.
template <std::size_t N>
constexpr PlanError resolve_services(const handoff::View& h, const bcfg::View& cfg, BootPlan<N>& plan) {
  const std::size_t n = cfg.service_count();
  std::uint16_t first_of[kRoleCount] = {};
  for (auto& f : first_of) f = bcfg::kNoIndex;
  for (std::size_t s = 0; s < n; ++s) {
    const std::uint8_t r = plan.order.role_of[s];
    if (first_of[r] == bcfg::kNoIndex) first_of[r] = static_cast<std::uint16_t>(s);
  }
  // kRootSlotsPerService per service from the first free slot up:
  // endpoints, then process caps, then grants (validate_inventory checked
  // they fit).
  plan.slot_base = h.cspace().first_free_slot;
  plan.probe_count = 0;
  std::size_t image_hint = 0;
  for (std::size_t s = 0; s < n; ++s) {
    ServicePlan& sp = plan.services[s];
    sp.role = plan.order.role_of[s];
    const Role& role = kRoles[sp.role];
    sp.launch = role.launch;
    sp.launcher = sp.launch == LaunchPath::DEVICED      ? first_of[role_index(RoleId::DEVICED)]
                  : sp.launch == LaunchPath::FOUNDATION ? bcfg::kNoIndex
                                                        : first_of[role_index(RoleId::PROCD)];
    sp.endpoint_slot = plan.slot_base + static_cast<std::uint32_t>(s);
    sp.process_slot = plan.slot_base + static_cast<std::uint32_t>(n + s);
    sp.grant_slot = plan.slot_base + static_cast<std::uint32_t>(2 * n + s);
    // Handoffs usually list images in service order, so the module after
    // the previous hit is tried before a search: a linear pass instead of a
    // binary search per service.
    const std::string_view image = service_image(cfg, s);
    if (!(image_hint < h.module_count() && h.module(image_hint).name == image)) image_hint = h.find_module(image);
    sp.image_module = static_cast<std::uint16_t>(image_hint);
    sp.image_frame = h.module(image_hint).frame_slot;
    ++image_hint;
    // The ENVELOPES stage recorded each envelope's transfer count and the
    // groups it draws on, the probe's too: it is launched like a procd
    // service (boot_probe.hpp).
    if (sp.launch == LaunchPath::PROBE) ++plan.probe_count;
    sp.consumes = static_cast<std::uint8_t>(sp.consumes | launch_groups(sp));
  }
  // Memory authority goes to memd and device authority to deviced: once
  // deviced is READY rootd needs no untyped cap (without a deviced they go
  // at the final shed). Dedicated endpoints, the image frame and each
  // module frame go once their last consumer is READY; the framebuffer,
  // which rootd never hands out, at once.
  plan.shed_count = 0;
  for (auto& count : plan.consumer_count) count = 0;
  for (std::size_t s = 0; s < n; ++s) {
    for (std::size_t g = 0; g < kSlotGroupCount; ++g) {
      if ((plan.services[s].consumes & slot_group_bit(static_cast<SlotGroup>(g))) != 0) ++plan.consumer_count[g];
    }
  }
  plan.config_module = static_cast<std::uint32_t>(h.find_module(kBootConfigModule));
  const std::uint16_t deviced = first_of[role_index(RoleId::DEVICED)];
  if (deviced != bcfg::kNoIndex) {
    plan.services[deviced].consumes |= slot_group_bit(SlotGroup::UNTYPED);
    plan.consumer_count[static_cast<std::size_t>(SlotGroup::UNTYPED)] = 1;
    add_shed_step(plan, SlotGroup::UNTYPED, ShedPoint::CONSUMED);
  }
  add_shed_step(plan, SlotGroup::DEDICATED_ENDPOINTS, ShedPoint::CONSUMED);
  add_shed_step(plan, SlotGroup::MODULE_FRAMES, ShedPoint::CONSUMED);
  add_shed_step(plan, SlotGroup::IMAGE_FRAME, ShedPoint::CONSUMED);
  if (h.framebuffer().has_value()) add_shed_step(plan, SlotGroup::FRAMEBUFFER, ShedPoint::CONSUMED);
  for (std::size_t g = 0; g < kSlotGroupCount; ++g) add_shed_step(plan, static_cast<SlotGroup>(g), ShedPoint::FINAL);
  return {};
}

}  // namespace detail

// Runs one planning stage. The stages run in kPlanStages order, each only
// after the previous one succeeded; the handoff passed
// validate_runtime_inventory before the first.
template <std::size_t N>
constexpr PlanError plan_stage(PlanStage stage, const handoff::View& h, const bcfg::View& cfg, BootPlan<N>& plan) {
  FirstError first;
  switch (stage) {
    case PlanStage::CONFIG:
      resolve_roles(cfg, plan.roles);
      if (!validate_config(cfg, plan.roles, first)) return detail::plan_failure(first);
      if (cfg.service_count() > N) return PlanError{Error{Reason::INTERNAL_CAPACITY, 0}};
      plan.service_count = static_cast<std::uint16_t>(cfg.service_count());
      return {};
    case PlanStage::MODULES:
      if (!validate_modules(cfg, plan.roles, h, first)) return detail::plan_failure(first);
      return {};
    case PlanStage::ENVELOPES: {
      if (!validate_inventory(cfg, plan.roles, h, first)) return detail::plan_failure(first);
      // Streaming validation: the whole set is checked without storing it;
      // each envelope is synthesized again at its launch. What the plan
      // needs of each (its transfer count, the cap groups it draws on) is
      // recorded as it streams by.
      FirstError envelopes;
      const auto record = [&plan](std::size_t s, std::span<const Transfer> transfers) {
        plan.services[s].transfer_count = static_cast<std::uint16_t>(transfers.size());
        plan.services[s].consumes = detail::transfer_groups(transfers);
      };
      if (!validate_envelopes(cfg, plan.roles, h, envelopes, record)) return detail::plan_failure(envelopes);
      return {};
    }
    case PlanStage::ORDER:
      if (!plan_order(cfg, plan.roles, plan.order, first)) return detail::plan_failure(first);
      return detail::resolve_services(h, cfg, plan);
  }
  return PlanError{Error{Reason::INTERNAL_STATE, 0}};
}

// The whole plan.
template <std::size_t N>
constexpr PlanError plan_boot(const handoff::View& h, const bcfg::View& cfg, BootPlan<N>& plan) {
  for (PlanStage stage : kPlanStages) {
    if (PlanError e = plan_stage(stage, h, cfg, plan); !e.ok()) return e;
  }
  return {};
}

}  // namespace rootd::boot
