// TEARDOWN: after a failure, every started child, newest first, then the
// service that was being launched but never started. For each: managed
// stop, wait for its EXITED, destroy, and drop rootd's install grant,
// process cap and retained endpoint. Failures here do not stop the
// teardown: a child that is already gone cannot be stopped, and once the
// root endpoint fails nothing more will arrive, so it is destroyed
// regardless.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/protocol.hpp"

namespace rootd::boot {

template <class Variant, std::size_t N>
class TeardownUnit {
 public:
  constexpr void begin(const Core<Variant, N>& c) {
    cursor_ = c.started_count;
    launch_checked_ = false;
    step_ = Step::NEXT;
    awaiting_ = false;
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
          if (!pick(c)) return PhaseEvent::TORN_DOWN;
          continue;
        case Step::STOP: c.emit_kernel(abi::KernelOp::MANAGED_STOP, c.state(tearing_).pid); break;
        case Step::WAIT_EXIT: c.emit_wait(); break;
        case Step::DESTROY: c.emit_kernel(abi::KernelOp::DESTROY_PROCESS, c.state(tearing_).pid); break;
        case Step::DROP:
          if (!drop_next(c)) {
            c.state(tearing_).destroyed = true;
            step_ = Step::NEXT;
            continue;
          }
          break;
      }
      awaiting_ = true;
      return PhaseEvent::EMITTED;
    }
  }

 private:
  enum class Step : std::uint8_t { NEXT, STOP, WAIT_EXIT, DESTROY, DROP };

  // The next service to tear down; false when none is left.
  constexpr bool pick(Core<Variant, N>& c) {
    while (cursor_ > 0) {
      const std::uint16_t s = c.st.started_order[--cursor_];
      if (!c.state(s).destroyed) {
        tearing_ = s;
        step_ = c.state(s).exited ? Step::DESTROY : Step::STOP;
        return true;
      }
    }
    // The service in mid-launch: staged or holding slots, not started.
    if (!launch_checked_ && c.launching != bcfg::kNoIndex && c.launching < c.n()) {
      launch_checked_ = true;
      const ServiceState& svc = c.state(c.launching);
      if (!svc.started && (svc.staged || svc.has_endpoint || svc.has_grant || svc.has_process)) {
        tearing_ = c.launching;
        step_ = svc.staged ? Step::DESTROY : Step::DROP;
        return true;
      }
    }
    return false;
  }

  constexpr void judge(Core<Variant, N>& c) {
    switch (step_) {
      case Step::STOP: step_ = Step::WAIT_EXIT; return;
      case Step::WAIT_EXIT: {
        if (!c.kernel_ok()) {
          step_ = Step::DESTROY;
          return;
        }
        // Other messages arriving now (a late READY) are dropped: the boot
        // has failed.
        const Result<protocol::ProcessEvent> e = protocol::decode_event(c.last.message);
        if (e.ok() && e.value().kind == abi::Event::EXITED) {
          const std::uint16_t s = c.service_of_pid(e.value().pid);
          if (s != bcfg::kNoIndex) c.state(s).exited = true;
        }
        if (c.state(tearing_).exited) step_ = Step::DESTROY;
        return;
      }
      case Step::DESTROY:
        c.state(tearing_).destroyed = true;
        step_ = Step::DROP;
        return;
      case Step::NEXT:
      case Step::DROP: return;
    }
  }

  constexpr bool drop_next(Core<Variant, N>& c) {
    ServiceState& svc = c.state(tearing_);
    const ServicePlan& p = c.service_plan(tearing_);
    if (svc.has_grant) return svc.has_grant = false, c.emit_delete(p.grant_slot), true;
    if (svc.has_process) return svc.has_process = false, c.emit_delete(p.process_slot), true;
    if (svc.has_endpoint) return svc.has_endpoint = false, c.emit_delete(p.endpoint_slot), true;
    return false;
  }

  std::size_t cursor_ = 0;        // into started_order, newest first
  bool launch_checked_ = false;   // the mid-launch service was considered
  std::uint16_t tearing_ = 0;     // the service being torn down
  Step step_ = Step::NEXT;
  bool awaiting_ = false;         // the step's action is out
};

}  // namespace rootd::boot
