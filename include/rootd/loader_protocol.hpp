// loaderd's public protocol: launching a static program named by its path
// in the public namespace, and watching the launch. One constexpr encoder
// and one strict decoder per message, shared by rootd's loader verifiers and
// the simulated loaderd, so neither side packs words by hand.
// docs/loaderd-protocol.md describes every message byte by byte.
//
// No capability travels in this protocol in either direction: a program is
// named by path only, and a launched program is handed nothing.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::loader {

// ---- constants -----------------------------------------------------------------

// Request labels (CALL on loaderd's service endpoint).
enum class Op : std::uint64_t {
  LAUNCH_PATH = 0xA0,
  LAUNCH_ARGS = 0xA1,
  LAUNCH_START = 0xA2,
  LAUNCH_STATUS = 0xA3,
  LAUNCH_INSPECT = 0xA4,
};

// A request's state. ACCEPTED -> RUNNING -> EXITED, or -> FAILED from any
// earlier state; EXITED and FAILED are final.
enum class State : std::uint8_t {
  ACCEPTED = 1,
  RUNNING = 2,
  EXITED = 3,
  FAILED = 4,
};

enum class LoaderError : std::uint8_t {
  NONE = 0,
  NOT_FOUND = 1,
  IS_DIRECTORY = 2,
  MALFORMED = 3,          // bad path or args block, or a request that does not decode
  DENIED = 4,             // the source is not executable
  OVERSIZED = 5,          // the source is larger than kMaxSourceBytes
  STALE_SOURCE = 6,       // the source changed while loaderd read it
  BAD_ELF = 7,            // not an ELF64 x86-64 executable
  INVALID_LOAD_PLAN = 8,  // overlapping or misplaced segments, W+X, entry outside code
  REQUIRE_DYNAMIC = 9,    // PT_INTERP or PT_DYNAMIC: no dynamic linking at bootstrap
  UNKNOWN_REQUEST = 10,
  CLEANUP_FAULT = 11,     // an injected materialization fault, cleaned up
};
inline constexpr std::uint8_t kLastLoaderError = 11;  // 12..255: reserved

// How a launched program is bridged into the system. Static ELFs with no
// interpreter are the only kind loaderd has at bootstrap.
enum class Bridge : std::uint8_t { STATIC_BOOTSTRAP = 1 };

inline constexpr std::size_t kMaxPathBytes = 40;     // w1..w5
inline constexpr std::size_t kChunkBytes = 40;       // one LAUNCH_ARGS chunk
inline constexpr std::size_t kMaxArgBlock = 256;     // argv or env, NUL-terminated strings
inline constexpr std::size_t kMaxArgChunks = (kMaxArgBlock + kChunkBytes - 1) / kChunkBytes;
inline constexpr std::uint64_t kMaxSourceBytes = 256 * 1024;
inline constexpr std::uint32_t kStatusPollBudget = 16;  // LAUNCH_STATUS polls while RUNNING

inline constexpr std::uint64_t kLoaderOkExitCode = 42;
inline constexpr std::uint64_t kLoaderAltExitCode = 43;

// Integration-only request ids: loaderd fails the request at materialization
// step k, undoes everything it did, and answers FAILED CLEANUP_FAULT with k.
enum class FaultStep : std::uint8_t {
  AFTER_READ = 1,     // the source is read
  AFTER_CREATE = 2,   // the process is created
  AFTER_MAP = 3,      // its image is mapped
  AFTER_START = 4,    // it is started but has not run
};
inline constexpr std::uint32_t kFaultRequestBase = 0xFA11'0000U;
inline constexpr std::uint8_t kFaultSteps = 4;

constexpr std::uint32_t fault_request(std::uint8_t step) { return kFaultRequestBase + step; }
// The fault step a request id asks for, or 0 for an ordinary request.
constexpr std::uint8_t fault_step_of(std::uint32_t request) {
  const std::uint32_t k = request - kFaultRequestBase;
  return request > kFaultRequestBase && k <= kFaultSteps ? static_cast<std::uint8_t>(k) : 0;
}

// The fixtures an integration disk holds (the simulator builds them).
inline constexpr std::string_view kLoaderOkPath = "/data/bin/loader-ok";
inline constexpr std::string_view kLoaderAltPath = "/data/bin/loader-alt";
inline constexpr std::string_view kLoaderStalePath = "/data/bin/loader-stale";
inline constexpr std::string_view kBadElfPath = "/data/bin/bad-elf";
inline constexpr std::string_view kBadPlanPath = "/data/bin/bad-plan";
inline constexpr std::string_view kNeedsDynamicPath = "/data/bin/needs-dynamic";
inline constexpr std::string_view kOversizedPath = "/data/bin/oversized";
inline constexpr std::string_view kDeniedPath = "/data/bin/denied";
inline constexpr std::string_view kBinDirPath = "/data/bin";
inline constexpr std::string_view kMissingPath = "/data/bin/missing";

// Decoders refuse with this reason; the error's offset is the word at fault
// (0..5 for w0..w5, kLabelWord for the label, kCapWord for a carried cap).
// A service answers any refused request FAILED MALFORMED.
inline constexpr Reason kMalformedReason = Reason::BOOT_HANDSHAKE_INVALID;
inline constexpr std::uint32_t kLabelWord = 6;
inline constexpr std::uint32_t kCapWord = 7;

constexpr bool is_loader_op(std::uint64_t label) { return label >= 0xA0 && label <= 0xA4; }

// A path loaderd accepts: absolute, 1..40 bytes, no NUL, and no empty, "."
// or ".." component (a trailing '/' is an empty component).
constexpr bool path_is_valid(std::string_view path) {
  if (path.empty() || path.size() > kMaxPathBytes || path[0] != '/') return false;
  std::size_t start = 1;
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] == '\0') return false;
    if (i < path.size() && path[i] != '/') continue;
    const std::size_t len = i - start;
    if (len == 0) return false;
    if (path[start] == '.' && (len == 1 || (len == 2 && path[start + 1] == '.'))) return false;
    start = i + 1;
  }
  return true;
}

namespace detail {
constexpr Error bad_word(std::uint32_t word) { return Error{kMalformedReason, word}; }

// Packs up to 40 bytes little-endian into w1..w5.
constexpr void pack(abi::Message& m, const char* bytes, std::size_t n) {
  for (std::size_t i = 0; i < n && i < kChunkBytes; ++i) {
    m.words[1 + i / 8] |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * (i % 8));
  }
}
constexpr char unpack(const abi::Message& m, std::size_t i) {
  return static_cast<char>((m.words[1 + i / 8] >> (8 * (i % 8))) & 0xFFU);
}
// The first non-zero byte of w1..w5 from `from` on, or kChunkBytes.
constexpr std::size_t nonzero_after(const abi::Message& m, std::size_t from) {
  for (std::size_t i = from; i < kChunkBytes; ++i) {
    if (unpack(m, i) != '\0') return i;
  }
  return kChunkBytes;
}
constexpr Error bad_byte(std::size_t i) { return bad_word(static_cast<std::uint32_t>(1 + i / 8)); }
}  // namespace detail

// ---- LAUNCH_PATH ---------------------------------------------------------------------
//
// w0 = request (bits 0..31) | path length (bits 32..39); w1..w5 = the path.

struct LaunchPath {
  std::uint32_t request = 0;
  std::uint8_t length = 0;  // encoded as given: a test may claim 41 bytes
  char path[kMaxPathBytes] = {};

  constexpr std::string_view view() const { return {path, length < kMaxPathBytes ? length : kMaxPathBytes}; }
};

constexpr LaunchPath launch_path(std::uint32_t request, std::string_view path) {
  LaunchPath p;
  p.request = request;
  p.length = static_cast<std::uint8_t>(path.size() > 0xFF ? 0xFF : path.size());
  for (std::size_t i = 0; i < path.size() && i < kMaxPathBytes; ++i) p.path[i] = path[i];
  return p;
}

constexpr abi::Message encode(const LaunchPath& p) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(Op::LAUNCH_PATH);
  m.words[0] = p.request | (static_cast<std::uint64_t>(p.length) << 32);
  detail::pack(m, p.path, p.length < kMaxPathBytes ? p.length : kMaxPathBytes);
  return m;
}

// Refuses a carried cap, bits above 39 in w0, a length of 0 or over 40,
// bytes beyond the length, and a path path_is_valid refuses.
constexpr Result<LaunchPath> decode_launch_path(const abi::Message& m) {
  if (m.label != static_cast<std::uint64_t>(Op::LAUNCH_PATH)) return detail::bad_word(kLabelWord);
  if (m.cap != abi::kNoSlot) return detail::bad_word(kCapWord);
  if ((m.words[0] >> 40) != 0) return detail::bad_word(0);
  const std::size_t length = (m.words[0] >> 32) & 0xFFU;
  if (length == 0 || length > kMaxPathBytes) return detail::bad_word(0);
  if (const std::size_t i = detail::nonzero_after(m, length); i < kChunkBytes) return detail::bad_byte(i);
  LaunchPath p;
  p.request = static_cast<std::uint32_t>(m.words[0]);
  p.length = static_cast<std::uint8_t>(length);
  for (std::size_t i = 0; i < length; ++i) p.path[i] = detail::unpack(m, i);
  if (!path_is_valid(p.view())) return detail::bad_word(1);
  return p;
}

// ---- LAUNCH_ARGS ---------------------------------------------------------------------
//
// w0 = request (bits 0..31) | block (bit 32: 0 argv, 1 env) | chunk index
// (bits 40..47) | block length (bits 48..63); w1..w5 = the chunk's bytes.

enum class Block : std::uint8_t { ARGV = 0, ENV = 1 };

struct LaunchArgs {
  std::uint32_t request = 0;
  Block block = Block::ARGV;
  std::uint8_t chunk = 0;
  std::uint16_t length = 0;  // the whole block's
  char bytes[kChunkBytes] = {};
};

constexpr std::size_t chunk_bytes(std::size_t length, std::size_t chunk) {
  const std::size_t at = chunk * kChunkBytes;
  return at >= length ? 0 : (length - at < kChunkBytes ? length - at : kChunkBytes);
}
constexpr std::size_t chunk_count(std::size_t length) { return (length + kChunkBytes - 1) / kChunkBytes; }

constexpr abi::Message encode(const LaunchArgs& a) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(Op::LAUNCH_ARGS);
  m.words[0] = a.request | (static_cast<std::uint64_t>(a.block) << 32) | (static_cast<std::uint64_t>(a.chunk) << 40) |
               (static_cast<std::uint64_t>(a.length) << 48);
  detail::pack(m, a.bytes, chunk_bytes(a.length, a.chunk));
  return m;
}

// Refuses a carried cap, bits 33..39 set, a length of 0 or over
// kMaxArgBlock, a chunk beyond the block, and bytes beyond the block's end.
// Order and NUL termination need the whole block: the service checks them.
constexpr Result<LaunchArgs> decode_launch_args(const abi::Message& m) {
  if (m.label != static_cast<std::uint64_t>(Op::LAUNCH_ARGS)) return detail::bad_word(kLabelWord);
  if (m.cap != abi::kNoSlot) return detail::bad_word(kCapWord);
  const std::uint64_t w0 = m.words[0];
  if (((w0 >> 33) & 0x7FU) != 0) return detail::bad_word(0);
  LaunchArgs a;
  a.request = static_cast<std::uint32_t>(w0);
  a.block = static_cast<Block>((w0 >> 32) & 1U);
  a.chunk = static_cast<std::uint8_t>((w0 >> 40) & 0xFFU);
  a.length = static_cast<std::uint16_t>(w0 >> 48);
  if (a.length == 0 || a.length > kMaxArgBlock) return detail::bad_word(0);
  const std::size_t n = chunk_bytes(a.length, a.chunk);
  if (n == 0) return detail::bad_word(0);
  if (const std::size_t i = detail::nonzero_after(m, n); i < kChunkBytes) return detail::bad_byte(i);
  for (std::size_t i = 0; i < n; ++i) a.bytes[i] = detail::unpack(m, i);
  return a;
}

// ---- LAUNCH_START, LAUNCH_STATUS, LAUNCH_INSPECT -------------------------------------
//
// w0 = request; w1..w5 zero.

struct RequestRef {
  Op op = Op::LAUNCH_START;
  std::uint32_t request = 0;
};

constexpr abi::Message encode(const RequestRef& r) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(r.op);
  m.words[0] = r.request;
  return m;
}

constexpr Result<RequestRef> decode_request_ref(const abi::Message& m) {
  if (m.label < static_cast<std::uint64_t>(Op::LAUNCH_START) || m.label > static_cast<std::uint64_t>(Op::LAUNCH_INSPECT)) {
    return detail::bad_word(kLabelWord);
  }
  if (m.cap != abi::kNoSlot) return detail::bad_word(kCapWord);
  if (m.words[0] > 0xFFFF'FFFFU) return detail::bad_word(0);
  for (std::uint32_t i = 1; i < 6; ++i) {
    if (m.words[i] != 0) return detail::bad_word(i);
  }
  return RequestRef{static_cast<Op>(m.label), static_cast<std::uint32_t>(m.words[0])};
}

// ---- state replies: LAUNCH_PATH, LAUNCH_ARGS, LAUNCH_START, LAUNCH_STATUS ------------
//
// label 0; w0 = state;
//   ACCEPTED: nothing else;
//   RUNNING:  w1 = pid;
//   EXITED:   w1 = pid, w2 = exit code;
//   FAILED:   w1 = error, w2 = cleanup step (CLEANUP_FAULT) or 0, w3 = pid,
//             always 0: a failed request names no process. The field exists
//             so that a service that leaks one is caught as wrong data.

struct StateReply {
  State state = State::ACCEPTED;
  std::uint32_t pid = 0;
  std::uint64_t exit_code = 0;
  LoaderError error = LoaderError::NONE;
  std::uint8_t step = 0;

  friend constexpr bool operator==(const StateReply&, const StateReply&) = default;
};

constexpr StateReply accepted() { return StateReply{}; }
constexpr StateReply running(std::uint32_t pid) { return StateReply{State::RUNNING, pid, 0, LoaderError::NONE, 0}; }
constexpr StateReply exited(std::uint32_t pid, std::uint64_t code) {
  return StateReply{State::EXITED, pid, code, LoaderError::NONE, 0};
}
constexpr StateReply failed(LoaderError e, std::uint8_t step = 0) { return StateReply{State::FAILED, 0, 0, e, step}; }

constexpr abi::Message encode(const StateReply& r) {
  abi::Message m{};
  m.label = abi::kReplyOk;
  m.words[0] = static_cast<std::uint64_t>(r.state);
  switch (r.state) {
    case State::ACCEPTED: break;
    case State::RUNNING: m.words[1] = r.pid; break;
    case State::EXITED:
      m.words[1] = r.pid;
      m.words[2] = r.exit_code;
      break;
    case State::FAILED:
      m.words[1] = static_cast<std::uint64_t>(r.error);
      m.words[2] = r.step;
      m.words[3] = r.pid;
      break;
  }
  return m;
}

// Refuses a label other than 0, a carried cap, an unknown state, an error
// of 0 or over 8 bits, a pid over 32 bits, and a non-zero word the state
// does not use. A well-formed reply may still be wrong for its request (a
// pid on a failure, another exit code, an error the caller did not expect,
// one of the reserved numbers above kLastLoaderError included): that is the
// caller's judgement.
constexpr Result<StateReply> decode_state_reply(const abi::Message& m) {
  if (m.label != abi::kReplyOk) return detail::bad_word(kLabelWord);
  if (m.cap != abi::kNoSlot) return detail::bad_word(kCapWord);
  StateReply r;
  std::uint32_t used = 1;
  switch (m.words[0]) {
    case 1: r.state = State::ACCEPTED; break;
    case 2: r.state = State::RUNNING; used = 2; break;
    case 3: r.state = State::EXITED; used = 3; break;
    case 4: r.state = State::FAILED; used = 4; break;
    default: return detail::bad_word(0);
  }
  for (std::uint32_t i = used; i < 6; ++i) {
    if (m.words[i] != 0) return detail::bad_word(i);
  }
  if (r.state == State::FAILED) {
    if (m.words[1] == 0 || m.words[1] > 0xFFU) return detail::bad_word(1);
    if (m.words[2] > 0xFFU) return detail::bad_word(2);
    if (m.words[3] > 0xFFFF'FFFFU) return detail::bad_word(3);
    r.error = static_cast<LoaderError>(m.words[1]);
    r.step = static_cast<std::uint8_t>(m.words[2]);
    r.pid = static_cast<std::uint32_t>(m.words[3]);
  } else if (r.state != State::ACCEPTED) {
    if (m.words[1] > 0xFFFF'FFFFU) return detail::bad_word(1);
    r.pid = static_cast<std::uint32_t>(m.words[1]);
    if (r.state == State::EXITED) r.exit_code = m.words[2];
  }
  return r;
}

// ---- LAUNCH_INSPECT reply ------------------------------------------------------------
//
// label 0; w0 = capabilities the launched process holds (or held when it
// ended; 0 for a request that never made one), w1 = bridge kind, w2 =
// capabilities loaderd still holds for the request (its scratch); w3..w5
// zero. An unknown request is answered with a FAILED UNKNOWN_REQUEST state
// reply instead, which decode_inspect refuses (w0 = 4 with w1 = 10 is no
// bridge kind).

struct Inspect {
  std::uint64_t process_caps = 0;
  Bridge bridge = Bridge::STATIC_BOOTSTRAP;
  std::uint64_t scratch_caps = 0;

  friend constexpr bool operator==(const Inspect&, const Inspect&) = default;
};

constexpr abi::Message encode(const Inspect& i) {
  abi::Message m{};
  m.label = abi::kReplyOk;
  m.words[0] = i.process_caps;
  m.words[1] = static_cast<std::uint64_t>(i.bridge);
  m.words[2] = i.scratch_caps;
  return m;
}

constexpr Result<Inspect> decode_inspect(const abi::Message& m) {
  if (m.label != abi::kReplyOk) return detail::bad_word(kLabelWord);
  if (m.cap != abi::kNoSlot) return detail::bad_word(kCapWord);
  if (m.words[1] != static_cast<std::uint64_t>(Bridge::STATIC_BOOTSTRAP)) return detail::bad_word(1);
  for (std::uint32_t i = 3; i < 6; ++i) {
    if (m.words[i] != 0) return detail::bad_word(i);
  }
  return Inspect{m.words[0], Bridge::STATIC_BOOTSTRAP, m.words[2]};
}

}  // namespace rootd::loader
