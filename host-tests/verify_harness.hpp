// Runs one verifier (include/rootd/verify.hpp) to its end outside the
// engine, against a function that answers its calls: the way a test drives
// a verifier against a simulated service, or against a scripted misbehaving
// one, before the engine's VERIFY phase is involved.
//
// The loop does what the VERIFY phase promises a verifier: a refused call is
// CALL_FAILED and a reply that carries a capability is EXTRA_CAP, both at
// the step that made the call, without the verifier seeing that reply; and
// no verifier runs past kMaxCallsPerVerifier calls (BUDGET).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rootd/verify.hpp"

namespace erix::test {

struct VerifierRun {
  std::vector<std::string> proofs;  // PROOF names, in order
  std::uint32_t calls = 0;
  bool done = false;  // DONE; else `failure`, `step` and `service` say why it stopped
  rootd::verify::Failure failure = rootd::verify::Failure::WRONG_REPLY;
  std::string step;
  std::uint16_t service = 0xFFFF;
  std::vector<std::uint16_t> called;  // the service of every CALL, in order
};

// `answer(service, message)` returns the reply, or nullopt when the kernel
// would refuse the call.
template <class Verifier, class Answer>
VerifierRun run_verifier(Verifier& verifier, const rootd::verify::Context& ctx, Answer&& answer) {
  using namespace rootd::verify;
  VerifierRun run;
  Reply reply;
  const Reply* last = nullptr;
  for (;;) {
    const Step step = verifier.next(ctx, last);
    last = nullptr;
    switch (step.kind) {
      case StepKind::PROOF:
        run.proofs.emplace_back(step.name);
        continue;
      case StepKind::DONE:
        run.done = true;
        return run;
      case StepKind::FAIL:
        run.failure = step.failure;
        run.step = std::string(step.name);
        run.service = step.service;
        return run;
      case StepKind::CALL:
        break;
    }
    run.called.push_back(step.service);
    auto fail_here = [&](Failure f) {
      run.failure = f;
      run.step = std::string(step.name);
      run.service = step.service;
      return run;
    };
    if (++run.calls > kMaxCallsPerVerifier) return fail_here(Failure::BUDGET);
    const std::optional<rootd::abi::Message> got = answer(step.service, step.message);
    if (!got.has_value()) return fail_here(Failure::CALL_FAILED);
    if (got->cap != rootd::abi::kNoSlot) return fail_here(Failure::EXTRA_CAP);
    reply.message = *got;
    last = &reply;
  }
}

}  // namespace erix::test
