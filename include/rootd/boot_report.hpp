// REPORT: the terminal lines. READY: the READY stage line (integration
// images) and the READY marker. A failure: the DETAIL line (the reason, and
// the service when one is to blame) and then the status marker. A
// verifier's failure names the verifier and the step between the two, and
// always ends with the service field (empty when none is to blame):
//   ERIX_ROOTD:DETAIL:VERIFY_<FAILURE>:<VERIFIER>:<STEP>:<service>
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"

namespace rootd::boot {

template <class Variant, std::size_t N>
class ReportUnit {
 public:
  constexpr void begin() { step_ = Step::FIRST; }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    const bool ready = c.failure.reason == Reason::NONE;
    switch (step_) {
      case Step::FIRST:
        step_ = Step::STATUS;
        if (ready) {
          c.status = Status::READY;
          if (c.emit_stage(Stage::READY)) return PhaseEvent::EMITTED;
        } else {
          detail(c);
          return PhaseEvent::EMITTED;
        }
        [[fallthrough]];
      case Step::STATUS:
        step_ = Step::DONE;
        c.emit_report(kMarkerPrefix, status_name(c.status));
        return PhaseEvent::EMITTED;
      case Step::DONE: break;
    }
    return PhaseEvent::REPORTED;
  }

 private:
  enum class Step : std::uint8_t { FIRST, STATUS, DONE };

  static constexpr void detail(Core<Variant, N>& c) {
    std::string_view service = c.failed_service != bcfg::kNoIndex && c.failed_service < c.n()
                                   ? c.cfg.service(c.failed_service).name
                                   : std::string_view{};
    // A hook naming a service the config lacks: the DETAIL names the hook's.
    if constexpr (Variant::fault_hooks) {
      if (c.failure.reason == Reason::HOOK_SERVICE_UNKNOWN) service = c.hooks.service;
    }
    c.emit_report(kDetailPrefix, reason_name(c.failure.reason));
    if constexpr (Variant::verifiers) {
      if (!c.verify_detail.step.empty() && c.failure.reason >= Reason::VERIFY_CALL_FAILED &&
          c.failure.reason <= Reason::VERIFY_MISSING) {
        append(c, c.verify_detail.verifier);
        append(c, c.verify_detail.step);
        append(c, service);
        return;
      }
    }
    if (!service.empty()) append(c, service);
  }

  // ":" and `field` at the end of the line being built.
  static constexpr void append(Core<Variant, N>& c, std::string_view field) {
    std::uint32_t len = c.action.text_length;
    if (len < kMaxReportLength) c.action.text[len++] = ':';
    for (char ch : field) {
      if (len < kMaxReportLength) c.action.text[len++] = ch;
    }
    c.action.text_length = len;
  }

  Step step_ = Step::FIRST;
};

}  // namespace rootd::boot
