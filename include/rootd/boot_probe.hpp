// PROBE and REAP: the profile's probe is launched once every other service
// is READY, exactly like a procd-launched service (boot_launch.hpp) but
// created by procd SPAWN_PROBE: its endpoint, its image frame carried and
// authorized, its planned transfers copied through the install grant, START,
// and its envelope. It exercises the services its transfers reach and
// reports PROBE_COMPLETED; rootd destroys it as soon as it has: it has done
// its work. A reaped probe counts as READY.
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
    launch_.begin(service);
    line_out_ = false;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    if (!line_out_) {
      line_out_ = true;
      if (c.emit_stage(Stage::PROBE)) return PhaseEvent::EMITTED;
    }
    return launch_.run(c);
  }

 private:
  LaunchUnit<Variant, N> launch_;
  bool line_out_ = false;  // the PROBE stage line is out (or not wanted)
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
