// INTAKE: the handoff, the slots rootd holds at entry (rdx against every
// named slot), its runtime inventory, the boot config's bytes, and the plan
// (boot_plan.hpp), with no kernel call that creates anything. On
// success the launch queue holds every service with no dependency.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>
#include <span>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_plan.hpp"
#include "rootd/inventory.hpp"

namespace rootd::boot {

template <class Variant, std::size_t N>
class IntakeUnit {
 public:
  constexpr void begin() { step_ = Step::HANDOFF_LINE; }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    for (;;) {
      switch (step_) {
        case Step::HANDOFF_LINE:
          step_ = Step::HANDOFF;
          if (c.emit_stage(Stage::INTAKE)) return PhaseEvent::EMITTED;
          break;
        case Step::HANDOFF: {
          auto parsed = handoff::parse(c.handoff_bytes);
          if (!parsed.ok()) return fail(c, parsed.error());
          c.handoff = parsed.value();
          step_ = Step::INVENTORY;
          if (c.emit_stage(Stage::INVENTORY)) return PhaseEvent::EMITTED;
          break;
        }
        case Step::INVENTORY: {
          FirstError first;
          if (!validate_slots(c.handoff, c.root_slot, first)) return fail(c, first.error);
          if (!validate_runtime_inventory(c.handoff, first)) return fail(c, first.error);
          step_ = Step::READ_CONFIG;
          if (c.emit_stage(Stage::CONFIG)) return PhaseEvent::EMITTED;
          break;
        }
        case Step::READ_CONFIG: {
          const Result<handoff::Module> module = find_boot_config(c.handoff);
          if (!module.ok()) return fail(c, module.error());
          config_size_ = module.value().size;
          c.emit_read_module(module.value().vaddr, config_size_);
          step_ = Step::CONFIG;
          return PhaseEvent::EMITTED;
        }
        case Step::CONFIG: {
          if (c.last.module.size() != config_size_) {
            c.fail(Reason::BOOT_MODULE_UNREADABLE);
            return PhaseEvent::FAILED;
          }
          auto parsed = bcfg::parse(c.last.module);
          if (!parsed.ok()) return fail(c, parsed.error());
          c.cfg = parsed.value();
          if (!plan(c, PlanStage::CONFIG)) return PhaseEvent::FAILED;
          step_ = Step::MODULES;
          if (c.emit_stage(Stage::MODULES)) return PhaseEvent::EMITTED;
          break;
        }
        case Step::MODULES:
          if (!plan(c, PlanStage::MODULES)) return PhaseEvent::FAILED;
          step_ = Step::ENVELOPES;
          if (c.emit_stage(Stage::ENVELOPES)) return PhaseEvent::EMITTED;
          break;
        case Step::ENVELOPES:
          if (!plan(c, PlanStage::ENVELOPES)) return PhaseEvent::FAILED;
          step_ = Step::ORDER;
          if (c.emit_stage(Stage::ORDER)) return PhaseEvent::EMITTED;
          break;
        case Step::ORDER:
          if (!plan(c, PlanStage::ORDER)) return PhaseEvent::FAILED;
          c.start_schedule();
          if constexpr (Variant::fault_hooks) {
            if (!hooks_understood(c)) return PhaseEvent::FAILED;
            if (c.hooks.hook == Hook::FORCE_FAIL) {
              c.fail(Reason::FORCED_FAILURE);
              return PhaseEvent::FAILED;
            }
          }
          step_ = Step::DONE;
          if (c.emit_stage(Stage::LAUNCH)) return PhaseEvent::EMITTED;
          break;
        case Step::DONE: return PhaseEvent::PLANNED;
      }
    }
  }

 private:
  enum class Step : std::uint8_t { HANDOFF_LINE, HANDOFF, INVENTORY, READ_CONFIG, CONFIG, MODULES, ENVELOPES, ORDER, DONE };

  static constexpr PhaseEvent fail(Core<Variant, N>& c, Error e) {
    c.fail(e.reason, bcfg::kNoIndex, e.offset);
    return PhaseEvent::FAILED;
  }

  // Hook text the image did not understand, or a hook naming a service the
  // config lacks (a probe is a config service, so hooks may name it), fails
  // the boot: booting as if there were no hook would pass a fault-injection
  // run that injected nothing.
  static constexpr bool hooks_understood(Core<Variant, N>& c) {
    if (c.hooks.refusal != HookRefusal::NONE) {
      c.fail(hook_refusal_reason(c.hooks.refusal));
      return false;
    }
    if (!c.hooks.service.empty() && c.cfg.find_service(c.hooks.service) == bcfg::kNoIndex) {
      c.fail(Reason::HOOK_SERVICE_UNKNOWN);  // the report unit names c.hooks.service
      return false;
    }
    return true;
  }

  static constexpr bool plan(Core<Variant, N>& c, PlanStage stage) {
    const PlanError e = plan_stage(stage, c.handoff, c.cfg, c.st.plan);
    if (e.ok()) return true;
    c.fail_config(e.error);
    return false;
  }

  Step step_ = Step::HANDOFF_LINE;
  std::uint64_t config_size_ = 0;
};

}  // namespace rootd::boot
