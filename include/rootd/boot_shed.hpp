// SHED: deletes the caps the plan's shed schedule (boot_plan.hpp) names for
// this point: after a service's READY (the early points), or the final
// shed before READY, after which rootd holds only its own cspace, vspace,
// kernel control and root endpoint. A group shed early is not shed again.
//
// A failed delete fails the boot; a per-service slot whose delete failed is
// still marked held, so teardown drops it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_plan.hpp"

namespace rootd::boot {

template <class Variant, std::size_t N>
class ShedUnit {
 public:
  constexpr void begin(ShedPoint point, std::uint16_t ready_service) {
    point_ = point;
    ready_service_ = ready_service;
    step_ = 0;
    item_ = 0;
    line_out_ = point != ShedPoint::FINAL;
    pending_ = nullptr;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    if (awaiting_) {
      awaiting_ = false;
      if (!c.kernel_ok()) {
        if (pending_ != nullptr) *pending_ = true;
        pending_ = nullptr;
        c.fail(Reason::BOOT_SHED_FAILED);
        return PhaseEvent::FAILED;
      }
      pending_ = nullptr;
    }
    if (!line_out_) {
      line_out_ = true;
      if (c.emit_stage(Stage::SHED)) return PhaseEvent::EMITTED;
    }
    const BootPlan<N>& plan = c.plan();
    for (; step_ < plan.shed_count; ++step_, item_ = 0) {
      const ShedStep& s = plan.shed[step_];
      const auto group = static_cast<std::uint8_t>(1U << static_cast<unsigned>(s.group));
      if (s.when != point_ || (point_ == ShedPoint::AFTER_READY && s.after != ready_service_)) continue;
      if ((shed_groups_ & group) != 0) continue;
      if (emit_next(c, s.group)) {
        awaiting_ = true;
        return PhaseEvent::EMITTED;
      }
      shed_groups_ = static_cast<std::uint8_t>(shed_groups_ | group);
    }
    return point_ == ShedPoint::FINAL ? PhaseEvent::ALL_SHED : PhaseEvent::SHED_DONE;
  }

 private:
  // Emits the delete of the group's next slot from item_ on; false when the
  // group has none left.
  constexpr bool emit_next(Core<Variant, N>& c, SlotGroup group) {
    const handoff::View& h = c.handoff;
    switch (group) {
      case SlotGroup::UNTYPED:
        if (item_ >= h.untyped_count()) return false;
        c.emit_delete(h.untyped(item_++).slot);
        return true;
      case SlotGroup::DEDICATED_ENDPOINTS:
        if (item_ >= h.endpoint_count()) return false;
        c.emit_delete(h.endpoint(item_++).slot);
        return true;
      case SlotGroup::MODULE_FRAMES:
        if (item_ >= h.module_count()) return false;
        c.emit_delete(h.module(item_++).frame_slot);
        return true;
      case SlotGroup::IMAGE_FRAME:
        if (item_ >= 1) return false;
        ++item_;
        c.emit_delete(h.image_frame().slot);
        return true;
      case SlotGroup::SERVICE_SLOTS:
        // Per service: install grant, process cap, retained endpoint.
        for (; item_ < 3 * c.n(); ++item_) {
          const std::size_t s = item_ / 3;
          ServiceState& svc = c.state(s);
          const ServicePlan& p = c.service_plan(s);
          switch (item_ % 3) {
            case 0:
              if (svc.has_grant) return emit_held(c, svc.has_grant, p.grant_slot);
              break;
            case 1:
              if (svc.has_process) return emit_held(c, svc.has_process, p.process_slot);
              break;
            default:
              if (svc.has_endpoint) return emit_held(c, svc.has_endpoint, p.endpoint_slot);
              break;
          }
        }
        return false;
    }
    return false;
  }

  // Clears the held flag now and restores it if the delete fails.
  constexpr bool emit_held(Core<Variant, N>& c, bool& held, std::uint32_t slot) {
    held = false;
    pending_ = &held;
    ++item_;
    c.emit_delete(slot);
    return true;
  }

  ShedPoint point_ = ShedPoint::FINAL;
  std::uint16_t ready_service_ = bcfg::kNoIndex;
  std::size_t step_ = 0;          // into the plan's shed schedule
  std::size_t item_ = 0;          // within the step's slot group
  bool line_out_ = false;         // the SHED stage line (final point only)
  bool awaiting_ = false;         // a delete is out
  bool* pending_ = nullptr;       // the held flag of the per-service slot being deleted
  std::uint8_t shed_groups_ = 0;  // groups already shed, one bit per SlotGroup
};

}  // namespace rootd::boot
