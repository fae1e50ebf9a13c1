// The boot engine: rootd's whole boot as a sans-IO state machine.
//
// The engine never calls the kernel. It hands out one Action at a time (a
// kernel call, a wait, a report line, a request for a module's bytes) and
// takes the Outcome of that action back; from those it decides the next
// action, until it reports the terminal status and parks. The freestanding
// shell performs actions with real syscalls, the simulator against its
// kernel model, and tests script them, all through drive() (drive.hpp).
//
// The engine executes a plan (boot_plan.hpp): intake validates the inputs
// and makes the plan before the first process exists; everything after
// follows it. Its phases are small units, one header each:
//
//   INTAKE    boot_intake.hpp    handoff, inventory, config, plan
//   SCHEDULE  boot_schedule.hpp  a due shed, next launch, the probe, verification, or a wait
//   STORAGE   boot_storage.hpp   blockd's partition table, before a block-backed filesystem
//   LAUNCH    boot_launch.hpp    one service by its launch path, up to DELIVER (and its storage intent)
//   PROBE     boot_probe.hpp     spawn the probe (REAP: destroy it once completed)
//   WAIT      boot_wait.hpp      one answer or process event
//   VERIFY    boot_verify.hpp    every service READY: the profile's verifiers (integration images)
//   SHED      boot_shed.hpp      the shed schedule's deletes at this point
//   TEARDOWN  boot_teardown.hpp  every started child, newest first; then every held boot cap
//   REPORT    boot_report.hpp    DETAIL and the terminal status line
//
// and the only way from one phase to the next is the transition table in
// boot_phases.hpp. docs/startup-protocol.md has the whole protocol.
//
// All large state is in BasicBootStorage<N> (boot_core.hpp), which the
// caller places; the engine object itself is small.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/action.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/boot_core.hpp"
#include "rootd/boot_intake.hpp"
#include "rootd/boot_launch.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_plan.hpp"
#include "rootd/boot_probe.hpp"
#include "rootd/boot_report.hpp"
#include "rootd/boot_schedule.hpp"
#include "rootd/boot_shed.hpp"
#include "rootd/boot_storage.hpp"
#include "rootd/boot_teardown.hpp"
#include "rootd/boot_verify.hpp"
#include "rootd/boot_wait.hpp"
#include "rootd/drive.hpp"
#include "rootd/handoff.hpp"
#include "rootd/hooks.hpp"
#include "rootd/ordering.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::boot {

// `VerifierSuite`: the verifiers an image with verifiers runs (tests inject
// scripted ones); unused, and not instantiated, in other variants.
template <class Variant = RuntimeVariant, std::size_t N = bcfg::kMaxServices, class VerifierSuite = verify::Suite>
class Engine {
 public:
  static constexpr std::size_t kCapacity = N;

  constexpr Engine(Bytes handoff, std::uint32_t root_slot, BasicBootStorage<N>& storage, Hooks hooks = {})
      : core_(handoff, root_slot, storage, hooks) {
    intake_.begin();
    step();
  }

  // The action to perform now. After PARK there is nothing more.
  constexpr const Action& action() const { return core_.action; }
  constexpr bool parked() const { return phase_ == BootPhase::PARKED; }
  constexpr Status status() const { return core_.status; }
  constexpr Reason reason() const { return core_.failure.reason; }
  constexpr std::uint16_t failed_service() const { return core_.failed_service; }
  constexpr const bcfg::View& config() const { return core_.cfg; }
  constexpr const handoff::View& handoff() const { return core_.handoff; }
  constexpr const OrderPlan& plan() const { return core_.st.plan.order; }
  constexpr const BootPlan<N>& boot_plan() const { return core_.st.plan; }
  constexpr std::uint32_t kernel_calls() const { return core_.kernel_calls; }
  constexpr BootPhase phase() const { return phase_; }

  // Feed back what the last action produced, and move on.
  constexpr void complete(const Outcome& outcome) {
    if (parked()) return;
    core_.last = outcome;
    step();
  }

 private:
  // Runs phase units until one emits an action; between units, the
  // transition table alone picks the next phase.
  constexpr void step() {
    for (;;) {
      const PhaseEvent event = run();
      if (event == PhaseEvent::EMITTED) return;
      NextPhase next = next_phase(phase_, event);
      if (!next.found) {
        core_.fail(Reason::INTERNAL_STATE);
        next.phase = BootPhase::TEARDOWN;
      }
      enter(next.phase, event);
    }
  }

  constexpr PhaseEvent run() {
    switch (phase_) {
      case BootPhase::INTAKE: return intake_.run(core_);
      case BootPhase::SCHEDULE: return schedule_next(core_);
      case BootPhase::STORAGE: return storage_.run(core_);
      case BootPhase::LAUNCH: return launch_.run(core_);
      case BootPhase::PROBE: return probe_.run(core_);
      case BootPhase::WAIT: return wait_.run(core_);
      case BootPhase::REAP: return reap_.run(core_);
      case BootPhase::VERIFY: return verify_.run(core_);
      case BootPhase::SHED: return shed_.run(core_);
      case BootPhase::TEARDOWN: return teardown_.run(core_);
      case BootPhase::REPORT: return report_.run(core_);
      case BootPhase::PARKED: break;
    }
    core_.emit_park();
    return PhaseEvent::EMITTED;
  }

  // Starts a phase's unit afresh; `event` is what led here.
  constexpr void enter(BootPhase phase, PhaseEvent event) {
    phase_ = phase;
    switch (phase) {
      case BootPhase::INTAKE: intake_.begin(); break;
      case BootPhase::SCHEDULE: break;
      case BootPhase::STORAGE: storage_.begin(core_.launching); break;
      case BootPhase::LAUNCH: launch_.begin(core_.launching); break;
      case BootPhase::PROBE: probe_.begin(core_.launching); break;
      case BootPhase::WAIT: wait_.begin(); break;
      case BootPhase::REAP: reap_.begin(wait_.service()); break;
      case BootPhase::VERIFY: verify_.begin(core_); break;
      case BootPhase::SHED:
        shed_.begin(event == PhaseEvent::SHED_DUE ? ShedPoint::CONSUMED : ShedPoint::FINAL);
        break;
      case BootPhase::TEARDOWN: teardown_.begin(core_); break;
      case BootPhase::REPORT: report_.begin(); break;
      case BootPhase::PARKED: break;
    }
  }

  Core<Variant, N> core_;
  BootPhase phase_ = BootPhase::INTAKE;
  IntakeUnit<Variant, N> intake_{};
  StorageCheckUnit<Variant, N> storage_{};
  LaunchUnit<Variant, N> launch_{};
  ProbeUnit<Variant, N> probe_{};
  WaitUnit<Variant, N> wait_{};
  ReapUnit<Variant, N> reap_{};
  [[no_unique_address]] VerifyUnit<Variant, N, VerifierSuite> verify_{};  // empty without verifiers
  ShedUnit<Variant, N> shed_{};
  TeardownUnit<Variant, N> teardown_{};
  ReportUnit<Variant, N> report_{};
};

}  // namespace rootd::boot
