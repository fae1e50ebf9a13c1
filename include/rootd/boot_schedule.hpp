// SCHEDULE: what the boot does next. A shed step whose consumers are all
// READY goes first (rootd drops what it will not hand out again before it
// does anything else). Then anything launchable is launched
// (asynchronous launch: a service starts as soon as its own dependencies
// are READY; a block-backed filesystem first has its partition checked,
// boot_storage.hpp); the probe runs once every other service is READY; with
// everything READY comes the final shed; otherwise rootd waits.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_shed.hpp"
#include "rootd/boot_storage.hpp"

namespace rootd::boot {

template <class Variant, std::size_t N>
constexpr PhaseEvent schedule_next(Core<Variant, N>& c) {
  if (shed_due(c)) return PhaseEvent::SHED_DUE;
  if (c.queue_head < c.queue_tail) {
    const std::uint16_t s = c.st.queue[c.queue_head++];
    c.launching = s;
    c.state(s).phase = ServicePhase::LAUNCHING;
    return block_backed_provider(c.cfg, s) != bcfg::kNoIndex ? PhaseEvent::STORAGE_DUE : PhaseEvent::LAUNCHABLE;
  }
  const BootPlan<N>& plan = c.plan();
  if (c.ready_count + plan.probe_count == c.n() + c.probes_done) {
    for (std::size_t k = 0; k < c.n(); ++k) {
      const std::uint16_t s = plan.order.order[k];
      if (plan.services[s].launch != LaunchPath::PROBE || c.state(s).phase != ServicePhase::QUEUED) continue;
      c.launching = s;
      c.state(s).phase = ServicePhase::LAUNCHING;
      return PhaseEvent::PROBE_DUE;
    }
  }
  if (c.ready_count == c.n()) return PhaseEvent::ALL_READY;
  return PhaseEvent::IDLE;
}

}  // namespace rootd::boot
