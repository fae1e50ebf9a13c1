// WAIT: one message, a service's answer to its DELIVER or a process event,
// decoded through protocol.hpp. While the probe runs (every other service is
// READY by then) rootd waits on the dedicated process-control endpoint,
// where the kernel delivers the probe's events: its PROBE_COMPLETED, sent
// through its planned SEND-only procd peer cap, and its EXITED. Otherwise it
// waits on the root endpoint, where a PROBE_COMPLETED is refused: a
// completion that bypassed the process endpoint proves nothing.
//
// An answer must come from a STARTED service that is no probe and say READY
// (NOT_READY and anything else fail the boot). Events: STARTED is noted, a probe's
// PROBE_COMPLETED leads to its reaping, a completed probe's EXITED is
// expected, and any other EXITED is a failed service.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/protocol.hpp"

namespace rootd::boot {

template <class Variant, std::size_t N>
class WaitUnit {
 public:
  constexpr void begin() { step_ = Step::WAIT; }

  // The service the last message was about (the one READY, or the probe
  // that completed).
  constexpr std::uint16_t service() const { return service_; }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    switch (step_) {
      case Step::WAIT:
        probe_ = bcfg::kNoIndex;
        for (std::uint16_t s = 0; s < c.n(); ++s) {
          if (c.service_plan(s).launch == LaunchPath::PROBE && c.state(s).phase == ServicePhase::STARTED) probe_ = s;
        }
        slot_ = c.event_slot(probe_);
        c.emit_wait(slot_);
        step_ = Step::MESSAGE;
        return PhaseEvent::EMITTED;
      case Step::MESSAGE: break;
      case Step::LINE_OUT: return PhaseEvent::HANDLED;
    }
    // A probe that can never complete fails the boot naming it.
    if (!c.kernel_ok()) return fail(c, Reason::BOOT_WAIT_FAILED, probe_);
    const abi::Message& m = c.last.message;
    const protocol::Inbound in = protocol::classify(m, c.n());
    switch (in.kind) {
      case protocol::InboundKind::EVENT: return event(c, m);
      case protocol::InboundKind::ANSWER: return answer(c, in.service, m);
      case protocol::InboundKind::UNKNOWN: break;
    }
    return fail(c, Reason::BOOT_UNEXPECTED_EVENT);
  }

 private:
  enum class Step : std::uint8_t { WAIT, MESSAGE, LINE_OUT };

  static constexpr PhaseEvent fail(Core<Variant, N>& c, Reason r, std::uint16_t s = bcfg::kNoIndex) {
    c.fail(r, s);
    return PhaseEvent::FAILED;
  }

  constexpr PhaseEvent event(Core<Variant, N>& c, const abi::Message& m) {
    const Result<protocol::ProcessEvent> decoded = protocol::decode_event(m);
    // An event about no process rootd started is unexpected; a known
    // process sending one it has no business sending breaks the handshake.
    const std::uint16_t s = c.service_of_pid(m.words[0]);
    if (s == bcfg::kNoIndex) return fail(c, Reason::BOOT_UNEXPECTED_EVENT);
    if (!decoded.ok()) return fail(c, Reason::BOOT_HANDSHAKE_INVALID, s);
    const protocol::ProcessEvent& e = decoded.value();
    ServiceState& svc = c.state(s);
    switch (e.kind) {
      case abi::Event::STARTED: return PhaseEvent::HANDLED;
      case abi::Event::PROBE_COMPLETED:
        if (c.service_plan(s).launch != LaunchPath::PROBE || svc.phase != ServicePhase::STARTED ||
            slot_ != c.event_slot(s)) {
          break;
        }
        if (e.value != 0) return fail(c, Reason::BOOT_PROBE_FAILED, s);
        if constexpr (Variant::fault_hooks) {
          // A probe's completion is its READY.
          if (c.hooks.hook == Hook::FORCE_SERVICE_FAIL && c.hooks.service == c.cfg.service(s).name) {
            return fail(c, Reason::BOOT_FORCED_SERVICE_FAILURE, s);
          }
        }
        svc.phase = ServicePhase::DONE;
        service_ = s;
        return PhaseEvent::PROBE_COMPLETED;
      case abi::Event::EXITED:
        svc.exited = true;
        // A probe exits once it has completed; anything else exiting
        // during boot is a failed service.
        if (svc.phase == ServicePhase::DONE) return PhaseEvent::HANDLED;
        svc.phase = ServicePhase::EXITED;
        return fail(c, Reason::BOOT_SERVICE_EXITED, s);
    }
    return fail(c, Reason::BOOT_HANDSHAKE_INVALID, s);
  }

  constexpr PhaseEvent answer(Core<Variant, N>& c, std::uint16_t s, const abi::Message& m) {
    // A probe reports PROBE_COMPLETED, never an answer.
    if (c.state(s).phase != ServicePhase::STARTED || c.service_plan(s).launch == LaunchPath::PROBE) {
      return fail(c, Reason::BOOT_HANDSHAKE_INVALID, s);
    }
    const Result<protocol::Answer> a = protocol::decode_answer(m);
    if (!a.ok()) return fail(c, Reason::BOOT_HANDSHAKE_INVALID, s);
    if (a.value().kind == protocol::AnswerKind::NOT_READY) return fail(c, Reason::BOOT_SERVICE_NOT_READY, s);
    if constexpr (Variant::fault_hooks) {
      if (c.hooks.hook == Hook::FORCE_SERVICE_FAIL && c.hooks.service == c.cfg.service(s).name) {
        return fail(c, Reason::BOOT_FORCED_SERVICE_FAILURE, s);
      }
    }
    c.became_ready(s);
    service_ = s;
    // A shed this READY makes due runs next, from SCHEDULE.
    if constexpr (Variant::service_lines) {
      c.emit_report(kServiceReadyPrefix, {}, c.cfg.service(s).name, true);
      step_ = Step::LINE_OUT;
      return PhaseEvent::EMITTED;
    }
    return PhaseEvent::HANDLED;
  }

  Step step_ = Step::WAIT;
  std::uint16_t service_ = bcfg::kNoIndex;
  std::uint32_t slot_ = 0;                   // the endpoint slot of the outstanding WAIT
  std::uint16_t probe_ = bcfg::kNoIndex;  // the running probe it waits for, if any
};

}  // namespace rootd::boot
