// PROBE and REAP: the profile's probe is spawned through procd (its image
// frame carried and authorized as in boot_launch.hpp) once every
// other service is READY, and destroyed as soon as it reports completion:
// it has done its work. A reaped probe counts as READY.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/boot_core.hpp"
#include "rootd/boot_launch.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/protocol.hpp"

namespace rootd::boot {

template <class Variant, std::size_t N>
class ProbeUnit {
 public:
  constexpr void begin(std::uint16_t service) {
    service_ = service;
    step_ = Step::LINE;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    const std::uint16_t s = service_;
    switch (step_) {
      case Step::LINE:
        step_ = Step::SPAWN;
        if (c.emit_stage(Stage::PROBE)) return PhaseEvent::EMITTED;
        [[fallthrough]];
      case Step::SPAWN: {
        if constexpr (Variant::fault_hooks) {
          if (c.hooks.hook == Hook::FORCE_SPAWN_FAIL && c.hooks.service == c.cfg.service(s).name) {
            c.fail(Reason::BOOT_FORCED_SPAWN_FAILURE, s);
            return PhaseEvent::FAILED;
          }
        }
        if (!authorize_carried_image(c, s)) return PhaseEvent::FAILED;
        const ServicePlan& p = c.service_plan(s);
        const auto op = static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE);
        c.emit_call(c.service_plan(p.launcher).endpoint_slot,
                    protocol::encode(protocol::LaunchRequest{op, s, p.image_frame, 0}));
        step_ = Step::SPAWNED;
        return PhaseEvent::EMITTED;
      }
      case Step::SPAWNED: break;
    }
    const Result<protocol::LaunchReply> reply = protocol::decode_launch_reply(c.last.message);
    if (!c.kernel_ok() || !reply.ok()) {
      c.fail(Reason::BOOT_PROBE_SPAWN_FAILED, s);
      return PhaseEvent::FAILED;
    }
    ServiceState& svc = c.state(s);
    svc.staged = true;
    svc.pid = reply.value().pid;
    svc.phase = ServicePhase::STARTED;
    c.mark_started(s);
    return PhaseEvent::LAUNCHED;
  }

 private:
  enum class Step : std::uint8_t { LINE, SPAWN, SPAWNED };

  std::uint16_t service_ = bcfg::kNoIndex;
  Step step_ = Step::LINE;
};

template <class Variant, std::size_t N>
class ReapUnit {
 public:
  constexpr void begin(std::uint16_t service) {
    service_ = service;
    awaiting_ = false;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    const std::uint16_t s = service_;
    if (!awaiting_) {
      awaiting_ = true;
      c.emit_kernel(abi::KernelOp::DESTROY_PROCESS, c.state(s).pid);
      return PhaseEvent::EMITTED;
    }
    awaiting_ = false;
    if (!c.call_ok()) {
      c.fail(Reason::BOOT_PROBE_FAILED, s);
      return PhaseEvent::FAILED;
    }
    c.state(s).destroyed = true;
    ++c.probes_done;
    c.became_ready(s);
    // Still DONE, not READY: the probe's own EXITED may follow and is no
    // failure.
    c.state(s).phase = ServicePhase::DONE;
    return PhaseEvent::REAPED;
  }

 private:
  std::uint16_t service_ = bcfg::kNoIndex;
  bool awaiting_ = false;  // DESTROY_PROCESS is out
};

}  // namespace rootd::boot
