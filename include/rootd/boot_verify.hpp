// VERIFY: once every service is READY, and before the final shed (so rootd
// still holds every service endpoint), an image whose variant enables
// verifiers runs the profile's verifiers (verify.hpp) one after another in
// VerifierId order, each to DONE or to its first failure.
//
// Per step of a verifier:
//   CALL   rootd calls the service's endpoint (its retained copy) and takes
//          the reply into its scratch slot (inventory.hpp root_scratch_slot).
//          A refused call is CALL_FAILED. A reply that carried a capability
//          is EXTRA_CAP: rootd deletes the cap first, as no verifier reply
//          may hand rootd authority; a delete that fails is tried once more
//          and then given up as TEARDOWN_SHED_FAILED, which outranks the
//          verifier's failure as it does in teardown. Otherwise the reply
//          goes to the verifier.
//   PROOF  the line ERIX_ROOTD:PROOF:<name>.
//   FAIL   the verifier's failure, at its step, about its service.
// A verifier that asks for more than kMaxCallsPerVerifier calls stops as
// BUDGET at the step it was on. A failure is VERIFY_<FAILURE> (status.hpp)
// with the service at fault as the boot's failed service; the report adds
// the verifier and the step to the DETAIL line (boot_report.hpp), and
// teardown is the ordinary one.
//
// In runtime and release images (Variant::verifiers false) the unit reports
// VERIFIED at once and instantiates no verifier.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "rootd/abi.hpp"
#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_teardown.hpp"
#include "rootd/inventory.hpp"
#include "rootd/status.hpp"
#include "rootd/verifiers.hpp"
#include "rootd/verify.hpp"

namespace rootd::boot {

// The reason a verifier failure is: VERIFY_<FAILURE>, in Failure's order.
constexpr Reason verify_reason(verify::Failure f) {
  return static_cast<Reason>(static_cast<std::uint16_t>(Reason::VERIFY_CALL_FAILED) + static_cast<std::uint16_t>(f));
}
static_assert(verify_reason(verify::Failure::WRONG_REPLY) == Reason::VERIFY_WRONG_REPLY);
static_assert(verify_reason(verify::Failure::WRONG_DATA) == Reason::VERIFY_WRONG_DATA);
static_assert(verify_reason(verify::Failure::EXTRA_CAP) == Reason::VERIFY_EXTRA_CAP);
static_assert(verify_reason(verify::Failure::BUDGET) == Reason::VERIFY_BUDGET);
static_assert(verify_reason(verify::Failure::MISSING) == Reason::VERIFY_MISSING);

// rootd's slot for a verifier reply's capability: the one after its
// per-service slots (validate_inventory checked it fits).
template <class Variant, std::size_t N>
constexpr std::uint32_t scratch_slot(const Core<Variant, N>& c) {
  return root_scratch_slot(c.plan().slot_base, c.n());
}

template <class Variant, std::size_t N, class Suite = verify::Suite>
class VerifyUnit {
 public:
  constexpr void begin(const Core<Variant, N>& c) {
    if constexpr (Variant::verifiers) {
      s_.set = verify::VerifierSet{verify::select_verifiers(c.cfg).bits & Suite::kBuilt.bits};
      s_.id = 0;
      s_.running = false;
      s_.await = Await::NONE;
    } else {
      (void)c;
    }
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    if constexpr (Variant::verifiers) {
      return verify(c);
    } else {
      (void)c;
      return PhaseEvent::VERIFIED;
    }
  }

 private:
  enum class Await : std::uint8_t { NONE, CALL, DELETE, REPORT };

  constexpr PhaseEvent verify(Core<Variant, N>& c) {
    const verify::Reply* given = nullptr;
    switch (s_.await) {
      case Await::NONE:
      case Await::REPORT: break;
      case Await::CALL:
        if (!c.kernel_ok()) return failed(c, verify::Failure::CALL_FAILED, s_.step, s_.service);
        if (c.last.message.cap != abi::kNoSlot) {
          s_.tries = 0;
          return delete_scratch(c);
        }
        s_.reply.message = c.last.message;
        given = &s_.reply;
        break;
      case Await::DELETE:
        if (!c.kernel_ok() && ++s_.tries < kTeardownTries) return delete_scratch(c);
        failed(c, verify::Failure::EXTRA_CAP, s_.step, s_.service);
        if (!c.kernel_ok()) c.fail_teardown(Reason::TEARDOWN_SHED_FAILED);
        return PhaseEvent::FAILED;
    }
    s_.await = Await::NONE;
    const verify::Context ctx{c.cfg, c.plan().roles};
    for (;;) {
      if (!s_.running) {
        while (s_.id < verify::kVerifierCount && !s_.set.has(current())) ++s_.id;
        if (s_.id >= verify::kVerifierCount) return PhaseEvent::VERIFIED;
        s_.suite.begin(current());
        s_.calls = 0;
        s_.running = true;
      }
      const verify::Step s = s_.suite.next(current(), ctx, given);
      given = nullptr;
      switch (s.kind) {
        case verify::StepKind::CALL:
          if (++s_.calls > verify::kMaxCallsPerVerifier) return failed(c, verify::Failure::BUDGET, s.name, s.service);
          if (s.service >= c.n() || !c.state(s.service).has_endpoint) {
            return failed(c, verify::Failure::MISSING, s.name, s.service);
          }
          s_.step = s.name;
          s_.service = s.service;
          s_.await = Await::CALL;
          c.emit_call(c.service_plan(s.service).endpoint_slot, s.message, scratch_slot(c));
          return PhaseEvent::EMITTED;
        case verify::StepKind::PROOF:
          s_.await = Await::REPORT;
          c.emit_report(kProofPrefix, s.name);
          return PhaseEvent::EMITTED;
        case verify::StepKind::DONE:
          s_.running = false;
          ++s_.id;
          continue;
        case verify::StepKind::FAIL: return failed(c, s.failure, s.name, s.service);
      }
      return failed(c, verify::Failure::WRONG_REPLY, s.name, s.service);
    }
  }

  constexpr verify::VerifierId current() const { return static_cast<verify::VerifierId>(s_.id); }

  constexpr PhaseEvent delete_scratch(Core<Variant, N>& c) {
    s_.await = Await::DELETE;
    c.emit_delete(scratch_slot(c));
    return PhaseEvent::EMITTED;
  }

  constexpr PhaseEvent failed(Core<Variant, N>& c, verify::Failure f, std::string_view step, std::uint16_t service) {
    const Reason r = verify_reason(f);
    c.fail(r, service < c.n() ? service : bcfg::kNoIndex);
    if (c.failure.reason == r) {
      c.verify_detail.verifier = verify::verifier_name(current());
      c.verify_detail.step = step;
    }
    return PhaseEvent::FAILED;
  }

  // Everything the unit keeps; in a variant without verifiers, nothing, so
  // the engine there is no larger than without a VERIFY phase.
  struct State {
    Suite suite{};
    verify::VerifierSet set{};   // the verifiers this boot runs
    std::uint8_t id = 0;         // the verifier running, or the next to try
    bool running = false;        // suite has begun id
    Await await = Await::NONE;   // what the emitted action was
    std::uint8_t tries = 0;      // failed deletes of the scratch slot
    std::uint32_t calls = 0;     // CALLs of the running verifier
    std::uint16_t service = bcfg::kNoIndex;  // the service called
    std::string_view step{};     // the step that made the call
    verify::Reply reply{};
  };
  struct NoState {};

  [[no_unique_address]] std::conditional_t<Variant::verifiers, State, NoState> s_{};
};

}  // namespace rootd::boot
