// The simulated fbcond and inputd (service_protocols.hpp handlers): the
// console's retained output stream and the input event queue, behind their
// public protocols (include/rootd/console_protocol.hpp, input_protocol.hpp).
//
// fbcond
// - Keeps the newest `window` bytes (kFbcondWindow unless a test says) of everything written to the
// console
//   (a ring; the oldest bytes drop). When it answers READY it takes over the
//   boot log: its banner, then every report line the kernel model has
//   recorded so far; before each call it serves it appends the lines
//   recorded since, so rootd's and the services' output keeps flowing into
//   the stream, and a verifier's WRITE lands between them.
// - The handoff race: while it takes over the boot log it answers CURSOR
//   with REFUSED(BUSY). By default that is the case for a CURSOR that
//   arrives at the very tick fbcond answered READY (Race::same_tick), and
//   only for its first CURSOR; tests can force it either way.
// - Verifier faults: wrong-reply answers every request with label 0xB7
//   (reserved); wrong-data flips bit 0 of every byte a CHUNK carries;
//   extra-cap answers with a SEND cap to fbcond's own service endpoint;
//   slow answers every READ REFUSED(BUSY).
//
// inputd and the PS/2 drivers
// - When drv-ps2-kbd and drv-i8042 have both answered READY, the keyboard
//   driver hands inputd a key press and its release (kKeyCode, through the
//   i8042); when drv-ps2-mouse and drv-i8042 have, the mouse driver hands it
//   one motion event (kMouseDx, kMouseDy, left button). inputd numbers them
//   in arrival order and answers READ_EVENT with them in order, then EMPTY.
// - Verifier faults: wrong-reply answers with label 0xBF (reserved);
//   wrong-data reports every event as coming from the other device's
//   driver; extra-cap as for fbcond; slow answers every READ_EVENT EMPTY.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "rootd/input_protocol.hpp"
#include "service_protocols.hpp"

namespace erix::sim {

// The simulated console retains 160 bytes (two lines of an 80-column
// console): little enough that the short boot log of phase3-framebuffer
// already wraps it, as a real console's scrollback wraps in a longer boot.
// The protocol allows up to rootd::console::kWindowMax; tests build wider
// ones.
inline constexpr std::size_t kFbcondWindow = 160;
inline constexpr std::string_view kFbcondBanner =
    "fbcond: framebuffer console up, font console-font; the boot log follows\n";

class FbcondService final : public ProtocolHandler {
 public:
  enum class Race : std::uint8_t { same_tick, always, never };

  FbcondService(KernelModel& model, std::size_t window = kFbcondWindow)
      : model_(model), window_(window) {}

  std::optional<CallReply> on_call(Pid receiver, const ServiceRecord& rec,
                                   const abi::Message& message,
                                   const std::optional<Cap>& carried) override;
  void on_ready(Pid pid, const ServiceRecord& rec) override;

  // Appends to the stream (the console's own output, a test's burst).
  void write(std::string_view text);
  void set_race(Race race) { race_ = race; }

  bool ready() const { return ready_; }
  std::uint64_t oldest() const { return cursor_ - retained_.size(); }
  std::uint64_t cursor() const { return cursor_; }
  const std::string& retained() const { return retained_; }

 private:
  void take_reports();

  KernelModel& model_;
  std::size_t window_;
  bool ready_ = false;
  Tick ready_at_ = 0;
  bool cursor_asked_ = false;
  Race race_ = Race::same_tick;
  std::size_t reports_taken_ = 0;  // of model_.reports()
  std::string retained_;           // the bytes [oldest, cursor)
  std::uint64_t cursor_ = 0;
};

class InputdService final : public ProtocolHandler {
 public:
  static constexpr std::uint16_t kKeyCode = 0x1E;  // set-1 make code of 'A'
  static constexpr std::int16_t kMouseDx = 3;
  static constexpr std::int16_t kMouseDy = -2;

  explicit InputdService(KernelModel& model) : model_(model) {}

  std::optional<CallReply> on_call(Pid receiver, const ServiceRecord& rec,
                                   const abi::Message& message,
                                   const std::optional<Cap>& carried) override;
  void on_ready(Pid pid, const ServiceRecord& rec) override;

  // Queues an event as a driver would (its sequence is assigned here).
  void deliver(rootd::input::Event event);
  const std::deque<rootd::input::Event>& queued() const { return queue_; }

 private:
  void feed();

  KernelModel& model_;
  bool i8042_ = false, kbd_ = false, mouse_ = false;
  bool kbd_fed_ = false, mouse_fed_ = false;
  std::uint32_t next_sequence_ = 0;
  std::deque<rootd::input::Event> queue_;
};

}  // namespace erix::sim
