// The one action loop. Every driver of the boot engine (the freestanding
// shell with real syscalls, the simulator against its kernel model, tests
// with scripted results) performs actions through drive(); a driver only
// supplies a Performer, one member per kind of action:
//
//   abi::KernelError report(std::string_view line);
//   Bytes            read_module(std::uint64_t vaddr, std::uint64_t size);
//   abi::KernelError call(std::uint32_t slot, abi::Message& inout, std::uint32_t recv_slot);
//   abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge);
//   abi::KernelError wait(std::uint32_t slot, abi::Message& out);
//   abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t dst_space,
//                        std::uint32_t dst, std::uint32_t rights);
//   void             park();
//
// so the mapping from an Action to a call exists once.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>

#include "rootd/action.hpp"

namespace rootd::boot {

// Performs one non-PARK action and returns what the engine is to be told.
template <class Performer>
constexpr Outcome perform(const Action& a, Performer& performer) {
  Outcome out{};
  switch (a.kind) {
    case ActionKind::REPORT: out.error = performer.report(a.line()); break;
    case ActionKind::READ_MODULE: out.module = performer.read_module(a.vaddr, a.size); break;
    case ActionKind::CALL:
      out.message = a.message;
      out.error = performer.call(a.slot, out.message, a.recv_slot);
      break;
    case ActionKind::SEND: out.error = performer.send(a.slot, a.message, a.badge); break;
    case ActionKind::WAIT: out.error = performer.wait(a.slot, out.message); break;
    case ActionKind::CAP: out.error = performer.cap(a.cap_op, a.src, a.dst_space, a.dst, a.rights); break;
    case ActionKind::PARK: break;
  }
  return out;
}

// Runs the engine until it parks (then calls performer.park()) or until
// `max_actions` actions were performed, whichever comes first. Returns the
// number of actions performed, PARK included. A bound that is reached means
// the engine never parked: a loop bug the caller reports.
template <class Engine, class Performer>
constexpr std::uint64_t drive(Engine& engine, Performer& performer, std::uint64_t max_actions = ~std::uint64_t{0}) {
  std::uint64_t actions = 0;
  while (actions < max_actions) {
    const Action& a = engine.action();
    ++actions;
    if (a.kind == ActionKind::PARK) {
      performer.park();
      return actions;
    }
    engine.complete(perform(a, performer));
  }
  return actions;
}

}  // namespace rootd::boot
