// The console verifiers of an integration image (verify.hpp): FRAMEBUFFER
// proves fbcond's retained output stream, INPUT proves that PS/2 key and
// mouse events reach inputd. Both speak only the public protocols
// (console_protocol.hpp, input_protocol.hpp).
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>
#include <string_view>

#include "rootd/console_protocol.hpp"
#include "rootd/input_protocol.hpp"
#include "rootd/verify.hpp"

namespace rootd::verify {

// FRAMEBUFFER:
//  1. FB_CURSOR: ask fbcond for its cursor, once. Right after READY:FBCOND
//     the console may still be taking over the boot log and answer BUSY
//     (the handoff race); the scan then starts at stream offset 0, which
//     fbcond answers TRIMMED with its oldest retained byte once the stream
//     has wrapped, so the scan covers the whole retained window.
//  2. FB_WRITE: write kFbMarker; fbcond says at which offset it landed,
//     which must not be below the captured cursor.
//  3. FB_SCAN: READ the stream in chunks from the start offset up to the
//     cursor the last chunk reports. The marker must occur exactly once in
//     what was read, at the offset WRITE reported. At most kFbScanReads
//     reads per pass: a whole window (kWindowMax / kChunkMax) plus slack for
//     what is written meanwhile and for a TRIMMED jump. A BUSY answer starts
//     the next pass at fbcond's current oldest retained byte (the offset the
//     BUSY reply carries), at most kFbRetries times; past that, BUDGET.
// Proofs FB_STREAM_WRITE (the marker was read back where it was written)
// and FB_RETAINED_SCAN (the scan reached the cursor and found it once).
//
// The marker's first byte occurs nowhere else in it, so a one-counter
// matcher finds every occurrence without looking back.
inline constexpr std::string_view kFbMarker = "#rootd-fb-proof-5c1e";
inline constexpr std::uint32_t kFbScanReads = console::kWindowMax / console::kChunkMax + 8;
inline constexpr std::uint32_t kFbRetries = 3;

// The WRITE of the marker, encoded once at compile time.
inline constexpr abi::Message kFbMarkerWrite = [] {
  console::Write w;
  w.text.length = static_cast<std::uint8_t>(kFbMarker.size());
  for (std::size_t i = 0; i < kFbMarker.size(); ++i) w.text.bytes[i] = kFbMarker[i];
  return console::encode(w);
}();

class FramebufferVerifier {
 public:
  constexpr Step next(const Context& ctx, const Reply* reply) {
    namespace c = console;
    if (state_ == State::START) {
      fb_ = ctx.service_of(RoleId::FBCOND);
      if (fb_ == bcfg::kNoIndex) return fail(Failure::MISSING, "FB_CURSOR", fb_);
      state_ = State::CURSOR;
      return call(fb_, "FB_CURSOR", c::encode_cursor());
    }
    if (state_ == State::PROVED) {
      state_ = State::FINISHED;
      return proof("FB_RETAINED_SCAN");
    }
    if (state_ == State::FINISHED) return done();
    if (reply == nullptr) return bad(Failure::WRONG_REPLY);
    const abi::Message& m = reply->message;
    const auto refused = c::decode_refused(m);
    if (state_ == State::CURSOR) {
      // Best effort: BUSY means the race; scan from 0 instead.
      const auto at = c::decode_at(m);
      if (!at.ok() && !(refused.ok() && refused.value().error == c::Refusal::BUSY))
        return bad(Failure::WRONG_REPLY);
      start_ = at.ok() ? at.value().cursor : 0;
      state_ = State::WRITE;
      return call(fb_, "FB_WRITE", kFbMarkerWrite);
    }
    if (state_ == State::WRITE) {
      const auto written = c::decode_written(m);
      if (!written.ok()) return bad(Failure::WRONG_REPLY);
      if (written.value().length != kFbMarker.size() || written.value().offset < start_) {
        return bad(Failure::WRONG_DATA);
      }
      written_at_ = written.value().offset;
      return begin_pass(start_);
    }
    // SCAN
    const auto chunk = c::decode_chunk(m);
    if (refused.ok() && refused.value().error == c::Refusal::BUSY) {
      if (++retries_ > kFbRetries) return bad(Failure::BUDGET);
      return begin_pass(refused.value().oldest);
    }
    if (refused.ok() && refused.value().error == c::Refusal::TRIMMED &&
        refused.value().oldest > pos_) {
      matched_ = 0;  // bytes were skipped: no occurrence spans the gap
      pos_ = refused.value().oldest;
      return read_on();
    }
    if (!chunk.ok()) return bad(Failure::WRONG_REPLY);
    const c::Chunk& got = chunk.value();
    if (got.offset != pos_) return bad(Failure::WRONG_DATA);
    for (std::size_t i = 0; i < got.text.length; ++i) {
      const char ch = got.text.bytes[i];
      matched_ = ch == kFbMarker[matched_] ? matched_ + 1 : (ch == kFbMarker[0] ? 1 : 0);
      if (matched_ == kFbMarker.size()) {
        ++found_;
        found_at_ = pos_ + i + 1 - kFbMarker.size();
        matched_ = 0;
      }
    }
    pos_ += got.text.length;
    if (pos_ < got.cursor) return read_on();
    if (found_ != 1 || found_at_ != written_at_) return bad(Failure::WRONG_DATA);
    state_ = State::PROVED;
    return proof("FB_STREAM_WRITE");
  }

 private:
  enum class State : std::uint8_t { START, CURSOR, WRITE, SCAN, PROVED, FINISHED };

  constexpr Step bad(Failure f) const {
    return fail(f,
                state_ == State::CURSOR  ? "FB_CURSOR"
                : state_ == State::WRITE ? "FB_WRITE"
                                         : "FB_SCAN",
                fb_);
  }
  constexpr Step begin_pass(std::uint64_t from) {
    state_ = State::SCAN;
    pos_ = from;
    reads_ = 0;
    matched_ = 0;
    found_ = 0;
    return read_on();
  }
  constexpr Step read_on() {
    if (++reads_ > kFbScanReads) return fail(Failure::BUDGET, "FB_SCAN", fb_);
    return call(
        fb_, "FB_SCAN",
        console::encode(console::Read{pos_, static_cast<std::uint8_t>(console::kChunkMax)}));
  }

  State state_ = State::START;
  std::uint16_t fb_ = bcfg::kNoIndex;
  std::uint8_t retries_ = 0;
  std::uint32_t reads_ = 0;
  std::uint32_t found_ = 0;
  std::size_t matched_ = 0;  // marker bytes matched so far
  std::uint64_t start_ = 0;
  std::uint64_t written_at_ = 0;
  std::uint64_t pos_ = 0;  // the next offset to read
  std::uint64_t found_at_ = 0;
};

// INPUT: READ_EVENT (step IN_READ) until a KEYBOARD event from
// drv-ps2-kbd via drv-i8042 (proof INPUT_KEY) and a MOUSE event from
// drv-ps2-mouse via drv-i8042 (proof INPUT_MOUSE) have both been read.
// Every event must come from the driver of its device kind, through the
// i8042, with a sequence number above the previous one (WRONG_DATA
// otherwise). EMPTY is "not yet"; all reads, events and EMPTYs together,
// are bounded by kInputReads (BUDGET past it). The config must hold inputd
// and the three drivers (MISSING otherwise).
inline constexpr std::uint32_t kInputReads = 16;

class InputVerifier {
 public:
  constexpr Step next(const Context& ctx, const Reply* reply) {
    namespace in = input;
    if (in_ == bcfg::kNoIndex) {
      in_ = ctx.service_of(RoleId::INPUTD);
      const RoleId needed[] = {RoleId::INPUTD, RoleId::DRV_I8042, RoleId::DRV_PS2_KBD,
                               RoleId::DRV_PS2_MOUSE};
      for (const RoleId r : needed) {
        if (ctx.service_of(r) == bcfg::kNoIndex)
          return fail(Failure::MISSING, "IN_READ", bcfg::kNoIndex);
      }
    }
    if (reply != nullptr) {
      const abi::Message& m = reply->message;
      const auto event = in::decode_event(m);
      if (!event.ok() && !in::decode_empty(m)) return fail(Failure::WRONG_REPLY, "IN_READ", in_);
      if (event.ok()) {
        const in::Event& e = event.value();
        const RoleId driver =
            e.device == in::Device::KEYBOARD ? RoleId::DRV_PS2_KBD : RoleId::DRV_PS2_MOUSE;
        if (e.source != driver || e.via != static_cast<std::uint8_t>(RoleId::DRV_I8042) ||
            (any_ && e.sequence <= last_)) {
          return fail(Failure::WRONG_DATA, "IN_READ", in_);
        }
        any_ = true;
        last_ = e.sequence;
        const std::uint8_t bit = e.device == in::Device::KEYBOARD ? 1 : 2;
        if ((seen_ & bit) == 0) {
          seen_ |= bit;
          return proof(bit == 1 ? "INPUT_KEY" : "INPUT_MOUSE");
        }
      }
    }
    if (seen_ == 3) return done();
    if (++reads_ > kInputReads) return fail(Failure::BUDGET, "IN_READ", in_);
    return call(in_, "IN_READ", in::encode_read_event());
  }

 private:
  std::uint16_t in_ = bcfg::kNoIndex;
  std::uint8_t seen_ = 0;  // bit 0 a key event, bit 1 a mouse event
  bool any_ = false;
  std::uint32_t reads_ = 0;
  std::uint32_t last_ = 0;  // the last event's sequence
};

}  // namespace rootd::verify
