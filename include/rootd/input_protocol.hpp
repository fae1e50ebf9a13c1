// inputd's public protocol: reading the queued input events
// (docs/inputd-protocol.md gives every message byte by byte).
//
// Input drivers hand their events to inputd, which queues them in arrival
// order and numbers them from 0. A client takes the next one with
// READ_EVENT; EMPTY means "not yet". Each event says which device kind it
// is, which driver role produced it and which controller role it came
// through, so a client can tell a PS/2 keyboard behind the i8042 from any
// other source.
//
// A message is a label and six 64-bit words; no capability travels either
// way. One constexpr encoder and one strict decoder per message: every
// field is range checked and unused words and bits must be zero.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>

#include "rootd/abi.hpp"
#include "rootd/decoded.hpp"
#include "rootd/roles.hpp"

namespace rootd::input {

enum class Label : std::uint64_t {
  READ_EVENT = 0xB8,  // request: the next queued event
  EVENT = 0xB9,       // reply: one event
  EMPTY = 0xBA,       // reply: no event queued (not yet)
  REFUSED = 0xBB,     // reply: the request does not decode
};                    // 0xBC..0xBF are reserved

enum class Device : std::uint8_t { KEYBOARD = 1, MOUSE = 2 };

// The byte that says "no controller" in an event's `via`.
inline constexpr std::uint8_t kNoRole = 0xFF;

struct Event {
  std::uint32_t sequence = 0;  // 0, 1, 2 ... in inputd's arrival order
  Device device = Device::KEYBOARD;
  RoleId source = RoleId::DRV_PS2_KBD;  // the driver that produced it
  std::uint8_t via = kNoRole;           // RoleId of the controller it came through, or kNoRole
  // KEYBOARD: the scan code and 0 release / 1 press / 2 repeat.
  std::uint16_t code = 0;
  std::uint8_t value = 0;
  // MOUSE: relative motion and the buttons held (bit 0 left, 1 right, 2 middle).
  std::int16_t dx = 0;
  std::int16_t dy = 0;
  std::uint8_t buttons = 0;
};

// ---- READ_EVENT: no words ----------------------------------------------------------
constexpr abi::Message encode_read_event() {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(Label::READ_EVENT);
  return m;
}
constexpr bool decode_read_event(const abi::Message& m) {
  if (m.label != static_cast<std::uint64_t>(Label::READ_EVENT) || m.cap != abi::kNoSlot)
    return false;
  for (const std::uint64_t w : m.words) {
    if (w != 0) return false;
  }
  return true;
}

// ---- EMPTY and REFUSED: no words ------------------------------------------------------
constexpr abi::Message encode_empty() {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(Label::EMPTY);
  return m;
}
constexpr abi::Message encode_refused() {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(Label::REFUSED);
  return m;
}
// True for an EMPTY that carries nothing else.
constexpr bool decode_empty(const abi::Message& m) {
  if (m.label != static_cast<std::uint64_t>(Label::EMPTY) || m.cap != abi::kNoSlot) return false;
  for (const std::uint64_t w : m.words) {
    if (w != 0) return false;
  }
  return true;
}

// ---- EVENT: w0 = sequence, w1 = device | source << 8 | via << 16,
// w2 = KEYBOARD: code | value << 16; MOUSE: dx | dy << 16 | buttons << 32
// (dx and dy as 16-bit two's complement) ------------------------------------------------
constexpr abi::Message encode(const Event& e) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(Label::EVENT);
  m.words[0] = e.sequence;
  m.words[1] = static_cast<std::uint64_t>(e.device) | (static_cast<std::uint64_t>(e.source) << 8) |
               (static_cast<std::uint64_t>(e.via) << 16);
  if (e.device == Device::KEYBOARD) {
    m.words[2] = e.code | (static_cast<std::uint64_t>(e.value) << 16);
  } else {
    m.words[2] = static_cast<std::uint16_t>(e.dx) |
                 (static_cast<std::uint64_t>(static_cast<std::uint16_t>(e.dy)) << 16) |
                 (static_cast<std::uint64_t>(e.buttons) << 32);
  }
  return m;
}

constexpr Decoded<Event> decode_event(const abi::Message& m) {
  if (m.label != static_cast<std::uint64_t>(Label::EVENT)) return refuse<Event>(kRefusedLabel);
  if (m.cap != abi::kNoSlot) return refuse<Event>(kRefusedCap);
  if (m.words[0] > 0xFFFFFFFFU) return refuse<Event>(0);
  Event e;
  e.sequence = static_cast<std::uint32_t>(m.words[0]);
  const std::uint64_t w1 = m.words[1];
  const std::uint64_t device = w1 & 0xFFU;
  const std::uint64_t source = (w1 >> 8) & 0xFFU;
  const std::uint64_t via = (w1 >> 16) & 0xFFU;
  if ((w1 >> 24) != 0 || (device != 1 && device != 2) || source >= kRoleCount ||
      (via >= kRoleCount && via != kNoRole)) {
    return refuse<Event>(1);
  }
  e.device = static_cast<Device>(device);
  e.source = static_cast<RoleId>(source);
  e.via = static_cast<std::uint8_t>(via);
  const std::uint64_t w2 = m.words[2];
  if (e.device == Device::KEYBOARD) {
    if ((w2 >> 24) != 0 || ((w2 >> 16) & 0xFFU) > 2) return refuse<Event>(2);
    e.code = static_cast<std::uint16_t>(w2 & 0xFFFFU);
    e.value = static_cast<std::uint8_t>(w2 >> 16);
  } else {
    if ((w2 >> 35) != 0) return refuse<Event>(2);
    e.dx = static_cast<std::int16_t>(static_cast<std::uint16_t>(w2 & 0xFFFFU));
    e.dy = static_cast<std::int16_t>(static_cast<std::uint16_t>((w2 >> 16) & 0xFFFFU));
    e.buttons = static_cast<std::uint8_t>(w2 >> 32);
  }
  for (std::size_t w = 3; w < 6; ++w) {
    if (m.words[w] != 0) return refuse<Event>(static_cast<std::uint8_t>(w));
  }
  return accept(e);
}

}  // namespace rootd::input
