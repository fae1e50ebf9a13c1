// TEARDOWN: after a failure, every started child, newest first, then the
// service that was being launched but never started; then every boot-time
// cap rootd still holds (the shed ledger, boot_shed.hpp), so that rootd
// parks holding only kernel control, its cspace, its vspace and its root
// endpoint.
//
// Per child: managed stop, wait for its EXITED, destroy, and drop rootd's
// install grant, process cap and retained endpoint. A second fault here
// must not leave anything behind silently:
//   - every kernel call of teardown whose result fails is tried once more;
//   - a child whose stop fails twice is not waited for (no EXITED can come)
//     but destroyed all the same;
//   - the wait for its EXITED is bounded: at most kTeardownWaitBudget
//     messages per service of the config that are not its EXITED (three
//     can be outstanding per service: its STARTED event, its answer, its
//     EXITED), or a failed WAIT; then rootd destroys it anyway;
//   - a child that cannot be destroyed (destroy failed twice, not PEER_GONE)
//     makes the terminal reason TEARDOWN_INCOMPLETE, naming it;
//   - a cap whose delete fails twice makes it TEARDOWN_SHED_FAILED
//     (unless a child was left alive), and teardown goes on.
// The boot-time caps are shed only when the handoff's slot rules and
// inventory checked out; before that rootd cannot tell which slots are its
// boot caps. rootd's
// own slots (is_own_slot) are never deleted.
// Teardown never stops early: every child and every cap is tried.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_shed.hpp"
#include "rootd/inventory.hpp"
#include "rootd/protocol.hpp"
#include "rootd/sink.hpp"

namespace rootd::boot {

// Messages that are not its EXITED rootd takes while waiting for one child,
// per service of the config.
inline constexpr std::size_t kTeardownWaitBudget = 3;

// Tries of each teardown kernel call: the call and one retry.
inline constexpr std::uint8_t kTeardownTries = 2;

template <class Variant, std::size_t N>
class TeardownUnit {
 public:
  constexpr void begin(const Core<Variant, N>& c) {
    cursor_ = c.started_count;
    launch_checked_ = false;
    step_ = Step::NEXT;
    awaiting_ = false;
    // rootd's boot-time caps are known only from a handoff whose slot rules
    // and inventory checked out: one that did not may name any slot, rootd's
    // own included.
    FirstError first;
    FirstError slots;
    group_ = c.handoff.bytes().size() != 0 && validate_slots(c.handoff, c.root_slot, slots) &&
                     validate_runtime_inventory(c.handoff, first)
                 ? 0
                 : kSlotGroupCount;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    for (;;) {
      if (awaiting_) {
        awaiting_ = false;
        judge(c);
        continue;
      }
      switch (step_) {
        case Step::NEXT:
          if (!pick(c)) step_ = Step::RELEASE;
          continue;
        case Step::STOP: c.emit_kernel(abi::KernelOp::MANAGED_STOP, c.state(tearing_).pid); break;
        case Step::WAIT_EXIT: c.emit_wait(c.event_slot(tearing_)); break;
        case Step::DESTROY: c.emit_kernel(abi::KernelOp::DESTROY_PROCESS, c.state(tearing_).pid); break;
        case Step::DROP: {
          held_ = drop_next(c);
          if (!held_.found) {
            step_ = Step::NEXT;
            continue;
          }
          c.emit_delete(held_.slot);
          break;
        }
        case Step::RELEASE:
          for (; group_ < kSlotGroupCount; ++group_) {
            held_ = next_held(c, static_cast<SlotGroup>(group_), false);
            if (held_.found) break;
          }
          if (group_ >= kSlotGroupCount) return PhaseEvent::TORN_DOWN;
          if (is_own_slot(c, held_.slot)) {
            c.fail_teardown(Reason::TEARDOWN_SHED_FAILED);
            mark_shed(c, held_);
            continue;
          }
          c.emit_delete(held_.slot);
          break;
      }
      awaiting_ = true;
      return PhaseEvent::EMITTED;
    }
  }

 private:
  enum class Step : std::uint8_t { NEXT, STOP, WAIT_EXIT, DESTROY, DROP, RELEASE };

  constexpr void enter(Step s) {
    step_ = s;
    tries_ = 0;
  }

  // The next service to tear down; false when none is left.
  constexpr bool pick(Core<Variant, N>& c) {
    while (cursor_ > 0) {
      const std::uint16_t s = c.st.started_order[--cursor_];
      if (!c.state(s).destroyed) {
        tearing_ = s;
        waited_ = 0;
        enter(c.state(s).exited ? Step::DESTROY : Step::STOP);
        return true;
      }
    }
    // The service in mid-launch: staged or holding slots, not started.
    if (!launch_checked_ && c.launching != bcfg::kNoIndex && c.launching < c.n()) {
      launch_checked_ = true;
      const ServiceState& svc = c.state(c.launching);
      if (!svc.started && (svc.staged || svc.has_endpoint || svc.has_grant || svc.has_process)) {
        tearing_ = c.launching;
        enter(svc.staged ? Step::DESTROY : Step::DROP);
        return true;
      }
    }
    return false;
  }

  // One more try of the current step; false when its tries are used up.
  constexpr bool retry() { return ++tries_ < kTeardownTries; }

  constexpr void judge(Core<Variant, N>& c) {
    ServiceState& svc = c.state(tearing_);
    switch (step_) {
      case Step::STOP:
        if (c.call_ok()) return enter(Step::WAIT_EXIT);
        if (retry()) return;
        // Not stopped: no EXITED will come, but destroy it all the same.
        return enter(Step::DESTROY);
      case Step::WAIT_EXIT: {
        if (!c.kernel_ok()) return enter(Step::DESTROY);
        // Other messages arriving now (a late READY, another child's event)
        // are dropped: the boot has failed.
        const Result<protocol::ProcessEvent> e = protocol::decode_event(c.last.message);
        if (e.ok() && e.value().kind == abi::Event::EXITED) {
          const std::uint16_t s = c.service_of_pid(e.value().pid);
          if (s != bcfg::kNoIndex) c.state(s).exited = true;
        }
        if (svc.exited || ++waited_ >= kTeardownWaitBudget * c.n()) enter(Step::DESTROY);
        return;
      }
      case Step::DESTROY:
        if (c.call_ok() || (c.last.error == abi::KernelError::PEER_GONE)) {
          svc.destroyed = true;
          return enter(Step::DROP);
        }
        if (retry()) return;
        c.fail_teardown(Reason::TEARDOWN_INCOMPLETE, tearing_);
        return enter(Step::DROP);
      case Step::DROP:
      case Step::RELEASE:
        if (c.kernel_ok()) {
          mark_shed(c, held_);
          tries_ = 0;
          return;
        }
        if (retry()) return;
        c.fail_teardown(Reason::TEARDOWN_SHED_FAILED);
        mark_shed(c, held_);  // given up: the reason says so
        tries_ = 0;
        return;
      case Step::NEXT: return;
    }
  }

  // rootd's next slot for the service being torn down.
  constexpr HeldCap drop_next(const Core<Variant, N>& c) const {
    const ServiceState& svc = c.st.services[tearing_];
    const ServicePlan& p = c.service_plan(tearing_);
    const auto base = static_cast<std::uint32_t>(3 * tearing_);
    if (svc.has_grant) return {SlotGroup::SERVICE_SLOTS, base, p.grant_slot, true};
    if (svc.has_process) return {SlotGroup::SERVICE_SLOTS, base + 1, p.process_slot, true};
    if (svc.has_endpoint) return {SlotGroup::SERVICE_SLOTS, base + 2, p.endpoint_slot, true};
    return {};
  }

  std::size_t cursor_ = 0;        // into started_order, newest first
  bool launch_checked_ = false;   // the mid-launch service was considered
  std::uint16_t tearing_ = 0;     // the service being torn down
  Step step_ = Step::NEXT;
  bool awaiting_ = false;         // the step's action is out
  std::uint8_t tries_ = 0;        // failed tries of the current action
  std::size_t waited_ = 0;        // messages that were not the child's EXITED
  std::size_t group_ = 0;         // RELEASE: the slot group being shed
  HeldCap held_{};                // DROP / RELEASE: the cap being deleted
};

}  // namespace rootd::boot
