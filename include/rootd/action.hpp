// What the boot engine asks its driver to do (an Action) and what the
// driver hands back (an Outcome). The engine never performs I/O; the shell,
// the simulator and tests perform these, all through one loop (drive.hpp).
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/bytes.hpp"

namespace rootd::boot {

inline constexpr std::size_t kMaxReportLength = 96;

enum class ActionKind : std::uint8_t {
  REPORT,       // text: one report line
  READ_MODULE,  // vaddr, size: give back the module's bytes in Outcome::module
  CALL,         // slot, message, recv_slot: blocking call; reply in Outcome::message
  SEND,         // slot, message, badge: non-blocking send
  WAIT,         // slot (root endpoint): next message in Outcome::message
  CAP,          // cap_op, src, dst_space, dst, rights
  PARK,         // terminal: no outcome
};

struct Action {
  ActionKind kind = ActionKind::PARK;
  char text[kMaxReportLength] = {};
  std::uint32_t text_length = 0;
  std::uint64_t vaddr = 0;
  std::uint64_t size = 0;
  std::uint32_t slot = 0;
  std::uint32_t recv_slot = abi::kNoSlot;
  std::uint64_t badge = 0;
  abi::Message message{};
  abi::CapOp cap_op = abi::CapOp::COPY_ATTENUATED;
  std::uint32_t src = 0;
  std::uint32_t dst_space = 0;
  std::uint32_t dst = 0;
  std::uint32_t rights = 0;

  constexpr std::string_view line() const { return std::string_view(text, text_length); }
};

struct Outcome {
  abi::KernelError error = abi::KernelError::OK;
  abi::Message message{};
  Bytes module{};
};

}  // namespace rootd::boot
