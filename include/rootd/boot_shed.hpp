// SHED: deletes the caps the plan's shed schedule (boot_plan.hpp) names for
// this point: the CONSUMED steps that are due (every consumer READY; for
// module frames, every service launched from that module), or the final
// shed before READY, after which rootd holds only its own cspace, vspace,
// kernel control and root endpoint.
//
// The ledger in Core says what is shed already, so nothing is deleted
// twice and teardown (boot_teardown.hpp) can shed, through next_held(),
// whatever is still held after a failure. A failed delete fails the boot;
// the cap stays in the ledger as held, so teardown tries it again. A boot
// cap at one of rootd's own slots is never deleted: the boot fails
// (INTERNAL_STATE) instead.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_plan.hpp"

namespace rootd::boot {

// One boot-time cap rootd still holds. `index` is its place in the group:
// the handoff entry, the module, or 3 * service + (grant, process, endpoint).
struct HeldCap {
  SlotGroup group = SlotGroup::UNTYPED;
  std::uint32_t index = 0;
  std::uint32_t slot = 0;
  bool found = false;
};

// The next cap of `group` rootd holds; with `due_only`, of the module
// frames only one whose users are all READY.
template <class Variant, std::size_t N>
constexpr HeldCap next_held(const Core<Variant, N>& c, SlotGroup group, bool due_only) {
  const handoff::View& h = c.handoff;
  const std::uint32_t next = c.shed_next[static_cast<std::size_t>(group)];
  switch (group) {
    case SlotGroup::UNTYPED:
      if (next < h.untyped_count()) return {group, next, h.untyped(next).slot, true};
      break;
    case SlotGroup::DEDICATED_ENDPOINTS:
      if (next < h.endpoint_count()) return {group, next, h.endpoint(next).slot, true};
      break;
    case SlotGroup::IMAGE_FRAME:
      if (next < 1) return {group, 0, h.image_frame().slot, true};
      break;
    case SlotGroup::FRAMEBUFFER:
      if (const std::optional<handoff::Framebuffer> fb = h.framebuffer(); next < 1 && fb.has_value()) {
        return {group, 0, fb->slot, true};
      }
      break;
    case SlotGroup::MODULE_FRAMES:
      // shed_next: every module below it is shed.
      if (due_only && c.modules_due == 0) break;
      for (std::uint32_t m = next; m < h.module_count(); ++m) {
        if (c.st.module_shed[m] || (due_only && c.st.module_waiting[m] != 0)) continue;
        return {group, m, h.module(m).frame_slot, true};
      }
      break;
    case SlotGroup::SERVICE_SLOTS:
      for (std::uint32_t s = next; s < c.n(); ++s) {
        const ServiceState& svc = c.st.services[s];
        const ServicePlan& p = c.service_plan(s);
        if (svc.has_grant) return {group, 3 * s, p.grant_slot, true};
        if (svc.has_process) return {group, 3 * s + 1, p.process_slot, true};
        if (svc.has_endpoint) return {group, 3 * s + 2, p.endpoint_slot, true};
      }
      break;
  }
  return {};
}

// rootd's own caps, never shed: the null slot, kernel control, its cspace,
// its vspace and its root endpoint. A boot cap the handoff put at one of
// these is refused (the inventory check rejects such a handoff first).
template <class Variant, std::size_t N>
constexpr bool is_own_slot(const Core<Variant, N>& c, std::uint32_t slot) {
  return slot == 0 || slot == abi::kKernelControlSlot || slot == abi::kSelfCspaceSlot ||
         slot == abi::kSelfVspaceSlot || slot == c.root_slot;
}

// Records `cap` as no longer held (deleted, or given up by teardown).
template <class Variant, std::size_t N>
constexpr void mark_shed(Core<Variant, N>& c, const HeldCap& cap) {
  std::uint32_t& next = c.shed_next[static_cast<std::size_t>(cap.group)];
  switch (cap.group) {
    case SlotGroup::MODULE_FRAMES:
      c.st.module_shed[cap.index] = true;
      if (c.st.module_waiting[cap.index] == 0 && c.modules_due > 0) --c.modules_due;
      while (next < c.handoff.module_count() && c.st.module_shed[next]) ++next;
      return;
    case SlotGroup::SERVICE_SLOTS: {
      ServiceState& svc = c.state(cap.index / 3);
      switch (cap.index % 3) {
        case 0: svc.has_grant = false; break;
        case 1: svc.has_process = false; break;
        default: svc.has_endpoint = false; break;
      }
      return;
    }
    case SlotGroup::UNTYPED:
    case SlotGroup::DEDICATED_ENDPOINTS:
    case SlotGroup::IMAGE_FRAME:
    case SlotGroup::FRAMEBUFFER: ++next; return;
  }
}

// Whether the CONSUMED step of `group` has a cap to delete now.
template <class Variant, std::size_t N>
constexpr bool consumed_due(const Core<Variant, N>& c, SlotGroup group) {
  const BootPlan<N>& plan = c.plan();
  if (!plan.sheds_early(group)) return false;
  if (group == SlotGroup::MODULE_FRAMES) return c.modules_due > 0;
  const auto g = static_cast<std::size_t>(group);
  return c.consumers_ready[g] >= plan.consumer_count[g] && next_held(c, group, false).found;
}

// Whether any CONSUMED step is due: SCHEDULE goes to SHED first.
template <class Variant, std::size_t N>
constexpr bool shed_due(const Core<Variant, N>& c) {
  for (std::size_t g = 0; g < kSlotGroupCount; ++g) {
    if (consumed_due(c, static_cast<SlotGroup>(g))) return true;
  }
  return false;
}

template <class Variant, std::size_t N>
class ShedUnit {
 public:
  constexpr void begin(ShedPoint point) {
    point_ = point;
    step_ = 0;
    line_out_ = point != ShedPoint::FINAL;
    awaiting_ = false;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    if (awaiting_) {
      awaiting_ = false;
      if (!c.kernel_ok()) {
        c.fail(Reason::BOOT_SHED_FAILED);
        return PhaseEvent::FAILED;
      }
      mark_shed(c, pending_);
    }
    if (!line_out_) {
      line_out_ = true;
      if (c.emit_stage(Stage::SHED)) return PhaseEvent::EMITTED;
    }
    const BootPlan<N>& plan = c.plan();
    for (; step_ < plan.shed_count; ++step_) {
      const ShedStep& s = plan.shed[step_];
      if (s.when != point_) continue;
      if (point_ == ShedPoint::CONSUMED && !consumed_due(c, s.group)) continue;
      const HeldCap held = next_held(c, s.group, point_ == ShedPoint::CONSUMED);
      if (!held.found) continue;
      if (is_own_slot(c, held.slot)) {
        c.fail(Reason::INTERNAL_STATE);
        return PhaseEvent::FAILED;
      }
      pending_ = held;
      awaiting_ = true;
      c.emit_delete(held.slot);
      return PhaseEvent::EMITTED;
    }
    return point_ == ShedPoint::FINAL ? PhaseEvent::ALL_SHED : PhaseEvent::SHED_DONE;
  }

 private:
  ShedPoint point_ = ShedPoint::FINAL;
  std::size_t step_ = 0;   // into the plan's shed schedule
  bool line_out_ = false;  // the SHED stage line (final point only)
  bool awaiting_ = false;  // a delete is out
  HeldCap pending_{};      // the cap being deleted
};

}  // namespace rootd::boot
