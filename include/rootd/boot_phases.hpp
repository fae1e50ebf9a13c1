// The boot engine's phases and the one table of transitions between them.
//
// Each phase is a small unit (boot_intake.hpp, boot_launch.hpp, ...) that
// emits actions until it is done and then names an event; the engine looks
// the (phase, event) pair up here to find the next phase. No unit sets the
// engine's phase itself, so this table is the whole control flow of a boot.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rootd::boot {

enum class BootPhase : std::uint8_t {
  INTAKE,    // handoff, inventory, config read, plan (plan_boot's stages)
  SCHEDULE,  // pick what happens next: a due shed, a launch, the probe, the final shed or a wait
  LAUNCH,    // one service: endpoint, process, transfers, start, DELIVER
  PROBE,     // spawn the probe through procd
  WAIT,      // one message on the root endpoint: an answer or a process event
  REAP,      // destroy a probe that completed
  SHED,      // delete the caps the plan's shed schedule names at this point
  TEARDOWN,  // after a failure: stop, await, destroy, drop every started child; shed the rest
  REPORT,    // the terminal status line (and the DETAIL line on failure)
  PARKED,    // nothing more
  STORAGE,   // before a block-backed filesystem: blockd's partition table checked (boot_storage.hpp)
  VERIFY,    // every service READY: the profile's verifiers (boot_verify.hpp), before the final shed
};
inline constexpr std::size_t kBootPhaseCount = 12;

enum class PhaseEvent : std::uint8_t {
  EMITTED,          // not an event: the unit emitted an action and awaits its outcome
  PLANNED,          // INTAKE: every input valid, the plan made
  LAUNCHABLE,       // SCHEDULE: a service's dependencies are READY
  PROBE_DUE,        // SCHEDULE: every other service is READY, the probe is next
  ALL_READY,        // SCHEDULE: every service is READY
  IDLE,             // SCHEDULE: nothing to launch, answers outstanding
  LAUNCHED,         // LAUNCH / PROBE: the service is running (or was handed to deviced)
  HANDLED,          // WAIT: an answer or event taken in, nothing else due
  SHED_DUE,         // SCHEDULE: a shed step's consumers are all READY
  PROBE_COMPLETED,  // WAIT: the probe reported success
  REAPED,           // REAP: the probe is destroyed and counts as READY
  SHED_DONE,        // SHED: an early shed point is through
  ALL_SHED,         // SHED: the final shed is through
  TORN_DOWN,        // TEARDOWN: every child and boot-time cap dealt with (a failure is recorded)
  REPORTED,         // REPORT: the terminal line is out
  FAILED,           // any phase: a failure was recorded
  STORAGE_DUE,      // SCHEDULE: the next launch is a block-backed filesystem
  STORAGE_CHECKED,  // STORAGE: its provider's partition is on the disk
  VERIFIED,         // VERIFY: every verifier of the boot passed (or the image has none)
};

struct Transition {
  BootPhase from;
  PhaseEvent on;
  BootPhase to;
};

// Every legal transition. A pair not listed is an engine bug: the engine
// fails with INTERNAL_STATE and tears down.
inline constexpr Transition kTransitions[] = {
    {BootPhase::INTAKE, PhaseEvent::PLANNED, BootPhase::SCHEDULE},
    {BootPhase::INTAKE, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::SCHEDULE, PhaseEvent::LAUNCHABLE, BootPhase::LAUNCH},
    {BootPhase::SCHEDULE, PhaseEvent::PROBE_DUE, BootPhase::PROBE},
    {BootPhase::SCHEDULE, PhaseEvent::ALL_READY, BootPhase::VERIFY},
    {BootPhase::SCHEDULE, PhaseEvent::IDLE, BootPhase::WAIT},
    {BootPhase::SCHEDULE, PhaseEvent::SHED_DUE, BootPhase::SHED},
    {BootPhase::SCHEDULE, PhaseEvent::STORAGE_DUE, BootPhase::STORAGE},

    {BootPhase::STORAGE, PhaseEvent::STORAGE_CHECKED, BootPhase::LAUNCH},
    {BootPhase::STORAGE, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::LAUNCH, PhaseEvent::LAUNCHED, BootPhase::SCHEDULE},
    {BootPhase::LAUNCH, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::PROBE, PhaseEvent::LAUNCHED, BootPhase::SCHEDULE},
    {BootPhase::PROBE, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::WAIT, PhaseEvent::HANDLED, BootPhase::SCHEDULE},
    {BootPhase::WAIT, PhaseEvent::PROBE_COMPLETED, BootPhase::REAP},
    {BootPhase::WAIT, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::REAP, PhaseEvent::REAPED, BootPhase::SCHEDULE},
    {BootPhase::REAP, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::VERIFY, PhaseEvent::VERIFIED, BootPhase::SHED},
    {BootPhase::VERIFY, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::SHED, PhaseEvent::SHED_DONE, BootPhase::SCHEDULE},
    {BootPhase::SHED, PhaseEvent::ALL_SHED, BootPhase::REPORT},
    {BootPhase::SHED, PhaseEvent::FAILED, BootPhase::TEARDOWN},

    {BootPhase::TEARDOWN, PhaseEvent::TORN_DOWN, BootPhase::REPORT},
    {BootPhase::REPORT, PhaseEvent::REPORTED, BootPhase::PARKED},
};

inline constexpr std::size_t kTransitionCount = sizeof(kTransitions) / sizeof(Transition);

// The phase after `from` on `on`, or PARKED with `found` false when the
// pair is not in the table.
struct NextPhase {
  BootPhase phase = BootPhase::PARKED;
  bool found = false;
};

constexpr NextPhase next_phase(BootPhase from, PhaseEvent on) {
  for (const Transition& t : kTransitions) {
    if (t.from == from && t.on == on) return {t.to, true};
  }
  return {};
}

constexpr std::string_view boot_phase_name(BootPhase p) {
  switch (p) {
    case BootPhase::INTAKE: return "INTAKE";
    case BootPhase::SCHEDULE: return "SCHEDULE";
    case BootPhase::LAUNCH: return "LAUNCH";
    case BootPhase::PROBE: return "PROBE";
    case BootPhase::WAIT: return "WAIT";
    case BootPhase::REAP: return "REAP";
    case BootPhase::SHED: return "SHED";
    case BootPhase::TEARDOWN: return "TEARDOWN";
    case BootPhase::REPORT: return "REPORT";
    case BootPhase::PARKED: return "PARKED";
    case BootPhase::STORAGE: return "STORAGE";
    case BootPhase::VERIFY: return "VERIFY";
  }
  return "?";
}

namespace detail {

// No pair twice (the table is a function), EMITTED never in it, every phase
// but INTAKE entered by some row, and every phase that can fail leads to
// TEARDOWN on FAILED.
constexpr bool transition_table_is_sound() {
  bool entered[kBootPhaseCount] = {};
  for (std::size_t i = 0; i < kTransitionCount; ++i) {
    const Transition& a = kTransitions[i];
    if (a.on == PhaseEvent::EMITTED) return false;
    if (a.on == PhaseEvent::FAILED && a.to != BootPhase::TEARDOWN) return false;
    entered[static_cast<std::size_t>(a.to)] = true;
    for (std::size_t j = i + 1; j < kTransitionCount; ++j) {
      if (kTransitions[j].from == a.from && kTransitions[j].on == a.on) return false;
    }
  }
  for (std::size_t p = 1; p < kBootPhaseCount; ++p) {
    if (!entered[p]) return false;
  }
  return true;
}
static_assert(transition_table_is_sound());

}  // namespace detail

}  // namespace rootd::boot
