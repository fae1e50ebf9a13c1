// Runs the boot engine in-process against a Driver: the simulator's second
// driver of include/rootd/boot.hpp, beside the real ELF under ptrace
// (erix-boot). Tests use it to boot every example and every fault in
// milliseconds, with the engine's own view (status, reason, service) next
// to the model's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver.hpp"
#include "rootd/boot.hpp"

namespace erix::sim {

struct EngineRun {
  rootd::Status status = rootd::Status::INTERNAL_ERROR;
  rootd::Reason reason = rootd::Reason::NONE;
  std::string failed_service;
  std::vector<std::string> lines;  // rootd's report lines, in order
  std::uint64_t actions = 0;       // actions performed, PARK included
  std::uint64_t actions_after_terminal = 0;  // anything but PARK after the status line
  bool parked = false;
};

// Performs the engine's actions until it parks, or `max_actions` pass (a
// loop bug: parked stays false).
template <class Variant>
EngineRun run_engine(rootd::Bytes handoff, std::uint32_t root_slot, Driver& driver, rootd::boot::Hooks hooks = {},
                     std::uint64_t max_actions = 1'000'000) {
  using rootd::boot::ActionKind;
  auto storage = std::make_unique<rootd::boot::BootStorage>();
  rootd::boot::Engine<Variant> engine(handoff, root_slot, *storage, hooks);
  EngineRun run;
  bool terminal_seen = false;
  while (run.actions < max_actions) {
    const rootd::boot::Action& a = engine.action();
    ++run.actions;
    if (a.kind == ActionKind::PARK) {
      driver.park();
      run.parked = true;
      break;
    }
    if (terminal_seen) ++run.actions_after_terminal;
    rootd::boot::Outcome out;
    switch (a.kind) {
      case ActionKind::REPORT: {
        const std::string line(a.line());
        run.lines.push_back(line);
        for (std::size_t s = 0; s < rootd::kStatusCount; ++s) {
          const auto st = static_cast<rootd::Status>(s);
          if (line == std::string(rootd::kMarkerPrefix) + std::string(rootd::status_name(st))) terminal_seen = true;
        }
        out.error = driver.report(a.line());
        break;
      }
      case ActionKind::READ_MODULE: out.module = driver.read_module(a.vaddr, a.size); break;
      case ActionKind::CALL:
        out.message = a.message;
        out.error = driver.call(a.slot, out.message, a.recv_slot);
        break;
      case ActionKind::SEND: out.error = driver.send(a.slot, a.message, a.badge); break;
      case ActionKind::WAIT: out.error = driver.wait(a.slot, out.message); break;
      case ActionKind::CAP: out.error = driver.cap(a.cap_op, a.src, a.dst_space, a.dst, a.rights); break;
      case ActionKind::PARK: break;
    }
    engine.complete(out);
  }
  run.status = engine.status();
  run.reason = engine.reason();
  if (engine.failed_service() != rootd::bcfg::kNoIndex) {
    run.failed_service = std::string(engine.config().service(engine.failed_service()).name);
  }
  return run;
}

}  // namespace erix::sim
