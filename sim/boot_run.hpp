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
#include <string_view>
#include <vector>

#include "driver.hpp"
#include "rootd/boot.hpp"
#include "rootd/drive.hpp"

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

// drive()'s Performer over a Driver: it passes every action through and
// records what EngineRun reports (the lines, anything after the terminal
// status line, whether PARK was reached).
class RunPerformer {
 public:
  RunPerformer(Driver& driver, EngineRun& run) : driver_(driver), run_(run) {}

  abi::KernelError report(std::string_view line) {
    note_action();
    run_.lines.emplace_back(line);
    for (std::size_t s = 0; s < rootd::kStatusCount; ++s) {
      const auto st = static_cast<rootd::Status>(s);
      if (line == std::string(rootd::kMarkerPrefix) + std::string(rootd::status_name(st))) terminal_seen_ = true;
    }
    return driver_.report(line);
  }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) {
    note_action();
    return driver_.read_module(vaddr, size);
  }
  abi::KernelError call(std::uint32_t slot, abi::Message& inout, std::uint32_t recv_slot) {
    note_action();
    return driver_.call(slot, inout, recv_slot);
  }
  abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) {
    note_action();
    return driver_.send(slot, m, badge);
  }
  abi::KernelError wait(std::uint32_t slot, abi::Message& out) {
    note_action();
    return driver_.wait(slot, out);
  }
  abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t dst_space, std::uint32_t dst,
                       std::uint32_t rights) {
    note_action();
    return driver_.cap(op, src, dst_space, dst, rights);
  }
  void park() {
    driver_.park();
    run_.parked = true;
  }

 private:
  void note_action() {
    if (terminal_seen_) ++run_.actions_after_terminal;
  }

  Driver& driver_;
  EngineRun& run_;
  bool terminal_seen_ = false;
};

// Performs the engine's actions through rootd::boot::drive() until it
// parks, or `max_actions` pass (a loop bug: parked stays false).
template <class Variant>
EngineRun run_engine(rootd::Bytes handoff, std::uint32_t root_slot, Driver& driver, rootd::boot::Hooks hooks = {},
                     std::uint64_t max_actions = 1'000'000) {
  auto storage = std::make_unique<rootd::boot::BootStorage>();
  rootd::boot::Engine<Variant> engine(handoff, root_slot, *storage, hooks);
  EngineRun run;
  RunPerformer performer(driver, run);
  run.actions = rootd::boot::drive(engine, performer, max_actions);
  run.status = engine.status();
  run.reason = engine.reason();
  if (engine.failed_service() != rootd::bcfg::kNoIndex) {
    run.failed_service = std::string(engine.config().service(engine.failed_service()).name);
  }
  return run;
}

}  // namespace erix::sim
