// fbcond's public protocol: the console's retained output stream
// (docs/fbcond-protocol.md gives every message byte by byte).
//
// fbcond numbers every byte ever written to the console by its absolute
// offset in the stream, from 0. It retains the newest bytes only, at most
// kWindowMax of them: `oldest` is the offset of the oldest byte it still
// holds and `cursor` the offset the next written byte gets. A reader asks
// for a chunk at an absolute offset; below `oldest` the bytes are gone and
// the answer says so (TRIMMED) with the offset to resume from.
//
// A message is a label and six 64-bit words; no capability travels either
// way. One constexpr encoder and one strict decoder per message: every
// field is range checked, unused words and bits must be zero, and text
// bytes past a message's length must be zero, so a message has exactly one
// encoding.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/abi.hpp"
#include "rootd/decoded.hpp"

namespace rootd::console {

enum class Label : std::uint64_t {
  WRITE = 0xB0,    // request: append text to the stream
  READ = 0xB1,     // request: a chunk from an absolute offset
  CURSOR = 0xB2,   // request: the cursor and the oldest retained byte
  WRITTEN = 0xB3,  // reply to WRITE
  CHUNK = 0xB4,    // reply to READ
  AT = 0xB5,       // reply to CURSOR
  REFUSED = 0xB6,  // reply to any request: a typed error
};                 // 0xB7 is reserved

inline constexpr std::size_t kWriteMax = 40;             // text bytes in one WRITE
inline constexpr std::size_t kChunkMax = 32;             // bytes in one CHUNK
inline constexpr std::uint64_t kWindowMax = 4096;        // bytes fbcond retains at most
inline constexpr std::uint64_t kOffsetEnd = 1ULL << 48;  // every offset is below this

// REFUSED w0. Every refusal carries the stream's oldest byte and cursor.
enum class Refusal : std::uint8_t {
  TRIMMED = 1,        // READ below the oldest retained byte: resume at `oldest`
  BEYOND_CURSOR = 2,  // READ past the cursor
  BAD_REQUEST = 3,    // the request does not decode
  BUSY = 4,           // not yet: ask again (docs: when fbcond says so)
};

// Text of up to kWriteMax bytes (a WRITE's payload, a CHUNK's bytes).
struct Text {
  std::uint8_t length = 0;
  char bytes[kWriteMax] = {};
};

struct Write {
  Text text;  // 1..kWriteMax bytes
};
struct Read {
  std::uint64_t offset = 0;
  std::uint8_t max = 0;  // 1..kChunkMax
};
struct Written {
  std::uint64_t offset = 0;  // of the first byte written
  std::uint8_t length = 0;   // 1..kWriteMax
};
struct Chunk {
  std::uint64_t offset = 0;  // of bytes[0]; oldest <= offset, offset + length <= cursor
  std::uint64_t oldest = 0;
  std::uint64_t cursor = 0;
  Text text;  // 0..kChunkMax bytes; 0 only at the cursor
};
struct At {
  std::uint64_t cursor = 0;
  std::uint64_t oldest = 0;
};
struct Refused {
  Refusal error = Refusal::BUSY;
  std::uint64_t oldest = 0;
  std::uint64_t cursor = 0;
};

namespace detail {
constexpr abi::Message labelled(Label l) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(l);
  return m;
}
// Text byte i travels in word `first + i / 8`, bits 8 * (i % 8) up.
constexpr void pack_text(abi::Message& m, std::size_t first, const Text& t) {
  for (std::size_t i = 0; i < t.length; ++i) {
    m.words[first + i / 8] |= static_cast<std::uint64_t>(static_cast<unsigned char>(t.bytes[i]))
                              << (8 * (i % 8));
  }
}
// The text of `length` bytes from word `first`; false when a byte past it
// (up to word 5) is not zero.
constexpr bool unpack_text(const abi::Message& m, std::size_t first, std::uint8_t length, Text& t) {
  t.length = length;
  for (std::size_t i = 0; i < (6 - first) * 8; ++i) {
    const auto byte = static_cast<unsigned char>((m.words[first + i / 8] >> (8 * (i % 8))) & 0xFFU);
    if (i < length) {
      t.bytes[i] = static_cast<char>(byte);
    } else if (byte != 0) {
      return false;
    }
  }
  return true;
}
// The label and the cap of a message of kind `l`; kDecodedOk when both hold.
constexpr std::uint8_t check_frame(const abi::Message& m, Label l) {
  if (m.label != static_cast<std::uint64_t>(l)) return kRefusedLabel;
  if (m.cap != abi::kNoSlot) return kRefusedCap;
  return kDecodedOk;
}
// The first nonzero word from `first` on, or kDecodedOk.
constexpr std::uint8_t zero_from(const abi::Message& m, std::size_t first) {
  for (std::size_t w = first; w < 6; ++w) {
    if (m.words[w] != 0) return static_cast<std::uint8_t>(w);
  }
  return kDecodedOk;
}
// oldest <= cursor < kOffsetEnd and at most kWindowMax bytes retained.
constexpr bool stream_sane(std::uint64_t oldest, std::uint64_t cursor) {
  return cursor < kOffsetEnd && oldest <= cursor && cursor - oldest <= kWindowMax;
}
}  // namespace detail

// ---- WRITE: w0 = length, w1..w5 = text ---------------------------------------
constexpr abi::Message encode(const Write& w) {
  abi::Message m = detail::labelled(Label::WRITE);
  m.words[0] = w.text.length;
  detail::pack_text(m, 1, w.text);
  return m;
}
constexpr Decoded<Write> decode_write(const abi::Message& m) {
  if (const auto bad = detail::check_frame(m, Label::WRITE); bad != kDecodedOk)
    return refuse<Write>(bad);
  if (m.words[0] == 0 || m.words[0] > kWriteMax) return refuse<Write>(0);
  Write w;
  if (!detail::unpack_text(m, 1, static_cast<std::uint8_t>(m.words[0]), w.text))
    return refuse<Write>(1);
  return accept(w);
}

// ---- READ: w0 = offset, w1 = max ---------------------------------------------
constexpr abi::Message encode(const Read& r) {
  abi::Message m = detail::labelled(Label::READ);
  m.words[0] = r.offset;
  m.words[1] = r.max;
  return m;
}
constexpr Decoded<Read> decode_read(const abi::Message& m) {
  if (const auto bad = detail::check_frame(m, Label::READ); bad != kDecodedOk)
    return refuse<Read>(bad);
  if (m.words[0] >= kOffsetEnd) return refuse<Read>(0);
  if (m.words[1] == 0 || m.words[1] > kChunkMax) return refuse<Read>(1);
  if (const auto bad = detail::zero_from(m, 2); bad != kDecodedOk) return refuse<Read>(bad);
  return accept(Read{m.words[0], static_cast<std::uint8_t>(m.words[1])});
}

// ---- CURSOR: no words ----------------------------------------------------------
constexpr abi::Message encode_cursor() { return detail::labelled(Label::CURSOR); }
constexpr bool decode_cursor(const abi::Message& m) {
  return detail::check_frame(m, Label::CURSOR) == kDecodedOk &&
         detail::zero_from(m, 0) == kDecodedOk;
}

// ---- WRITTEN: w0 = offset, w1 = length -------------------------------------------
constexpr abi::Message encode(const Written& w) {
  abi::Message m = detail::labelled(Label::WRITTEN);
  m.words[0] = w.offset;
  m.words[1] = w.length;
  return m;
}
constexpr Decoded<Written> decode_written(const abi::Message& m) {
  if (const auto bad = detail::check_frame(m, Label::WRITTEN); bad != kDecodedOk)
    return refuse<Written>(bad);
  if (m.words[0] >= kOffsetEnd - kWriteMax) return refuse<Written>(0);
  if (m.words[1] == 0 || m.words[1] > kWriteMax) return refuse<Written>(1);
  if (const auto bad = detail::zero_from(m, 2); bad != kDecodedOk) return refuse<Written>(bad);
  return accept(Written{m.words[0], static_cast<std::uint8_t>(m.words[1])});
}

// ---- CHUNK: w0 = offset | length << 48, w1 = oldest | (cursor - oldest) << 48,
// w2..w5 = bytes --------------------------------------------------------------------
constexpr abi::Message encode(const Chunk& c) {
  abi::Message m = detail::labelled(Label::CHUNK);
  m.words[0] = c.offset | (static_cast<std::uint64_t>(c.text.length) << 48);
  m.words[1] = c.oldest | ((c.cursor - c.oldest) << 48);
  detail::pack_text(m, 2, c.text);
  return m;
}
constexpr Decoded<Chunk> decode_chunk(const abi::Message& m) {
  if (const auto bad = detail::check_frame(m, Label::CHUNK); bad != kDecodedOk)
    return refuse<Chunk>(bad);
  Chunk c;
  c.offset = m.words[0] & (kOffsetEnd - 1);
  const std::uint64_t length = m.words[0] >> 48;
  c.oldest = m.words[1] & (kOffsetEnd - 1);
  c.cursor = c.oldest + (m.words[1] >> 48);
  if (length > kChunkMax || c.offset < c.oldest || c.offset + length > c.cursor ||
      (length == 0 && c.offset != c.cursor)) {
    return refuse<Chunk>(0);
  }
  if (!detail::stream_sane(c.oldest, c.cursor)) return refuse<Chunk>(1);
  if (!detail::unpack_text(m, 2, static_cast<std::uint8_t>(length), c.text))
    return refuse<Chunk>(2);
  return accept(c);
}

// ---- AT: w0 = cursor, w1 = oldest -------------------------------------------------
constexpr abi::Message encode(const At& a) {
  abi::Message m = detail::labelled(Label::AT);
  m.words[0] = a.cursor;
  m.words[1] = a.oldest;
  return m;
}
constexpr Decoded<At> decode_at(const abi::Message& m) {
  if (const auto bad = detail::check_frame(m, Label::AT); bad != kDecodedOk) return refuse<At>(bad);
  if (!detail::stream_sane(m.words[1], m.words[0]))
    return refuse<At>(m.words[0] >= kOffsetEnd ? 0 : 1);
  if (const auto bad = detail::zero_from(m, 2); bad != kDecodedOk) return refuse<At>(bad);
  return accept(At{m.words[0], m.words[1]});
}

// ---- REFUSED: w0 = error, w1 = oldest, w2 = cursor ----------------------------------
constexpr abi::Message encode(const Refused& r) {
  abi::Message m = detail::labelled(Label::REFUSED);
  m.words[0] = static_cast<std::uint64_t>(r.error);
  m.words[1] = r.oldest;
  m.words[2] = r.cursor;
  return m;
}
constexpr Decoded<Refused> decode_refused(const abi::Message& m) {
  if (const auto bad = detail::check_frame(m, Label::REFUSED); bad != kDecodedOk)
    return refuse<Refused>(bad);
  if (m.words[0] < static_cast<std::uint64_t>(Refusal::TRIMMED) ||
      m.words[0] > static_cast<std::uint64_t>(Refusal::BUSY)) {
    return refuse<Refused>(0);
  }
  if (!detail::stream_sane(m.words[1], m.words[2])) return refuse<Refused>(1);
  if (const auto bad = detail::zero_from(m, 3); bad != kDecodedOk) return refuse<Refused>(bad);
  return accept(Refused{static_cast<Refusal>(m.words[0]), m.words[1], m.words[2]});
}

}  // namespace rootd::console
