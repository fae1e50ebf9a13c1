// vfsd's public protocol: the one constexpr encoder and strict decoder of
// every request and reply, shared by rootd's storage verifiers and the
// simulated vfsd. docs/vfsd-protocol.md gives the layouts byte by byte.
//
// A request is a CALL on vfsd's service endpoint: the label is the
// operation, six words carry its fields, and no capability travels. The
// reply echoes the label and carries a Status in w0; a refusal is a typed
// state of the protocol, never a kernel error. Names (up to two per request,
// kMaxNames bytes together) travel in w1..w5, so a path longer than that
// cannot be sent; file data moves kChunk bytes per message.
//
// The decoders refuse anything the encoders would not have written: an
// unknown label, a field beyond its width, a non-zero unused word or bit,
// a zero byte inside a name, a non-zero byte after one. The Error's offset
// says where: 0 the label, 1 + i word i, kOffsetNameTooLong names whose
// lengths add up past kMaxNames (vfsd answers NAME_TOO_LONG to that, and
// MALFORMED to everything else).
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::vfs {

enum class Op : std::uint64_t {
  OPEN = 0x80,      // name a, flags, mode (with CREATE) -> handle, kind, size
  READ = 0x81,      // handle, offset, count -> count, bytes
  WRITE = 0x82,     // handle, offset, count, bytes -> count, size
  READDIR = 0x83,   // directory handle, entry index -> kind, name (kind NONE: past the end)
  UNLINK = 0x84,    // name a: a file or symlink
  MKDIR = 0x85,     // name a, mode
  RMDIR = 0x86,     // name a: an empty directory
  RENAME = 0x87,    // name a -> name b, both on one mount
  TRUNCATE = 0x88,  // handle, size -> size
  STAT = 0x89,      // name a -> kind, mode, links, size, mtime, owner, generation
  SET_META = 0x8A,  // handle, mask, mode, mtime, owner
  SYMLINK = 0x8B,   // target a, new link b
  READLINK = 0x8C,  // name a -> target
  LINK = 0x8D,      // existing a, new name b (hard links: NOT_SUPPORTED)
  CLOSE = 0x8E,     // handle
};
inline constexpr std::uint64_t kFirstOp = 0x80;
inline constexpr std::uint64_t kLastOp = 0x8E;

// Reply states (w0 bits 0..7). Numbers are stable.
enum class Status : std::uint8_t {
  OK = 0,
  NOT_FOUND = 1,       // a name on the path does not exist
  EXISTS = 2,          // the new name is taken
  NOT_DIRECTORY = 3,   // a directory was needed (a path component, READDIR, OPEN with DIRECTORY)
  IS_DIRECTORY = 4,    // a file was needed (UNLINK, READ, WRITE, TRUNCATE)
  NOT_EMPTY = 5,       // RMDIR of a directory with entries
  READ_ONLY = 6,       // a change on a read-only mount
  INVALID = 7,         // well formed, but not possible (RMDIR of a mount root, a rename into itself, `.`/`..`)
  MALFORMED = 8,       // the request breaks its layout
  NAME_TOO_LONG = 9,   // names past kMaxNames, a component past kMaxComponent, a target past kMaxTarget
  BAD_HANDLE = 10,     // not a handle vfsd handed out and has not closed, or of the wrong kind
  NOT_SUPPORTED = 11,  // hard links
  NO_SPACE = 12,       // no handle, node or byte left (a file is at most kMaxFileSize bytes)
  BUSY = 13,           // not yet: send the same request again
  IS_SYMLINK = 14,     // a symlink where it cannot be followed (links are never followed)
  CROSS_MOUNT = 15,    // RENAME between two mounts
};
inline constexpr std::uint8_t kStatusLimit = 16;

enum class Kind : std::uint8_t { NONE = 0, FILE = 1, DIRECTORY = 2, SYMLINK = 3 };

// OPEN flags (w0 bits 32..39).
inline constexpr std::uint8_t kCreate = 1;     // create a file when the name is free
inline constexpr std::uint8_t kExclusive = 2;  // with kCreate: EXISTS when it is taken
inline constexpr std::uint8_t kDirectory = 4;  // the name must be a directory
inline constexpr std::uint8_t kTruncate = 8;   // a file is cut to zero bytes
inline constexpr std::uint8_t kOpenFlags = 0x0F;

// SET_META mask (w0 bits 16..18).
inline constexpr std::uint8_t kSetMode = 1;
inline constexpr std::uint8_t kSetMtime = 2;
inline constexpr std::uint8_t kSetOwner = 4;
inline constexpr std::uint8_t kMetaMask = 0x07;

inline constexpr std::size_t kMaxNames = 40;      // bytes of names a and b together
inline constexpr std::size_t kChunk = 32;         // data bytes per READ or WRITE, name bytes per reply
inline constexpr std::size_t kMaxComponent = 32;  // a path component (READDIR shows it whole)
inline constexpr std::size_t kMaxTarget = 32;     // a symlink target (READLINK shows it whole)
inline constexpr std::uint16_t kModeMask = 0xFFF;
inline constexpr std::uint64_t kMaxFileSize = std::uint64_t{1} << 20;
inline constexpr std::uint32_t kOffsetNameTooLong = 0x100;

struct Request {
  Op op = Op::CLOSE;
  // Name ops: the directory handle names are relative to, 0 for absolute
  // names (which start with '/'). Handle ops: the handle, never 0.
  std::uint16_t handle = 0;
  std::uint8_t flags = 0;  // OPEN
  std::uint16_t mode = 0;  // OPEN with kCreate, MKDIR, SET_META
  std::uint8_t len_a = 0, len_b = 0;
  char names[kMaxNames] = {};  // name a then name b
  std::uint64_t offset = 0;    // READ, WRITE; READDIR: the entry index; TRUNCATE: the size
  std::uint8_t count = 0;      // READ, WRITE: 1..kChunk
  std::uint8_t data[kChunk] = {};  // WRITE
  std::uint8_t mask = 0;           // SET_META
  std::uint64_t mtime = 0;
  std::uint32_t uid = 0, gid = 0;

  constexpr std::string_view name_a() const { return {names, len_a}; }
  constexpr std::string_view name_b() const { return {names + len_a, len_b}; }
  friend constexpr bool operator==(const Request&, const Request&) = default;
};

struct Reply {
  Status status = Status::OK;
  std::uint16_t handle = 0;  // OPEN
  Kind kind = Kind::NONE;    // OPEN, READDIR, STAT
  std::uint64_t size = 0;    // OPEN, WRITE, TRUNCATE, STAT
  std::uint8_t count = 0;    // READ, WRITE; READDIR, READLINK: name length
  std::uint8_t data[kChunk] = {};  // READ bytes; READDIR name; READLINK target
  std::uint16_t mode = 0;          // STAT
  std::uint32_t links = 0;
  std::uint64_t mtime = 0;
  std::uint32_t uid = 0, gid = 0;
  std::uint64_t generation = 0;

  // The name or target of a READDIR or READLINK reply is `s`.
  constexpr bool text_is(std::string_view s) const {
    if (s.size() != count) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (data[i] != static_cast<std::uint8_t>(s[i])) return false;
    }
    return true;
  }
  friend constexpr bool operator==(const Reply&, const Reply&) = default;
};

constexpr bool is_name_op(Op op) {
  return op == Op::OPEN || op == Op::UNLINK || op == Op::MKDIR || op == Op::RMDIR || op == Op::RENAME ||
         op == Op::STAT || op == Op::SYMLINK || op == Op::READLINK || op == Op::LINK;
}
constexpr bool has_two_names(Op op) { return op == Op::RENAME || op == Op::SYMLINK || op == Op::LINK; }

// A request naming `a` (and `b` for RENAME, SYMLINK, LINK) relative to
// `base`; false when the names do not fit, one is empty, or holds a zero byte.
constexpr bool set_names(Request& r, std::string_view a, std::string_view b = {}) {
  if (a.empty() || (has_two_names(r.op) != !b.empty()) || a.size() + b.size() > kMaxNames) return false;
  for (char& c : r.names) c = 0;
  std::size_t i = 0;
  for (const char c : a) {
    if (c == 0) return false;
    r.names[i++] = c;
  }
  for (const char c : b) {
    if (c == 0) return false;
    r.names[i++] = c;
  }
  r.len_a = static_cast<std::uint8_t>(a.size());
  r.len_b = static_cast<std::uint8_t>(b.size());
  return true;
}

namespace detail {
constexpr std::uint64_t pack8(const std::uint8_t* bytes, std::size_t n) {
  std::uint64_t w = 0;
  for (std::size_t i = 0; i < n && i < 8; ++i) w |= std::uint64_t{bytes[i]} << (8 * i);
  return w;
}
constexpr void put_bytes(abi::Message& m, std::size_t first_word, const std::uint8_t* bytes, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) m.words[first_word + i / 8] |= std::uint64_t{bytes[i]} << (8 * (i % 8));
}
constexpr std::uint8_t byte_of(const abi::Message& m, std::size_t first_word, std::size_t i) {
  return static_cast<std::uint8_t>(m.words[first_word + i / 8] >> (8 * (i % 8)));
}
// Bytes [n, capacity) of the words from `first_word` are zero.
constexpr bool tail_zero(const abi::Message& m, std::size_t first_word, std::size_t n, std::size_t capacity) {
  for (std::size_t i = n; i < capacity; ++i) {
    if (byte_of(m, first_word, i) != 0) return false;
  }
  return true;
}
constexpr Error bad(std::uint32_t field) { return Error{Reason::BOOT_HANDSHAKE_INVALID, field}; }
constexpr std::uint32_t word(std::size_t i) { return static_cast<std::uint32_t>(1 + i); }
}  // namespace detail

constexpr abi::Message encode(const Request& r) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(r.op);
  m.words[0] = r.handle;
  if (is_name_op(r.op)) {
    m.words[0] |= (std::uint64_t{r.len_a} << 16) | (std::uint64_t{r.len_b} << 24) | (std::uint64_t{r.flags} << 32) |
                  (std::uint64_t{r.mode} << 40);
    for (std::size_t i = 0; i < std::size_t{r.len_a} + r.len_b; ++i) {
      m.words[1 + i / 8] |= std::uint64_t{static_cast<std::uint8_t>(r.names[i])} << (8 * (i % 8));
    }
    return m;
  }
  switch (r.op) {
    case Op::READ:
      m.words[1] = r.offset;
      m.words[2] = r.count;
      break;
    case Op::WRITE:
      m.words[0] |= std::uint64_t{r.count} << 16;
      m.words[1] = r.offset;
      detail::put_bytes(m, 2, r.data, r.count);
      break;
    case Op::READDIR:
    case Op::TRUNCATE: m.words[1] = r.offset; break;
    case Op::SET_META:
      m.words[0] |= std::uint64_t{r.mask} << 16;
      m.words[1] = r.mode;
      m.words[2] = r.mtime;
      m.words[3] = r.uid | (std::uint64_t{r.gid} << 32);
      break;
    default: break;
  }
  return m;
}

constexpr Result<Request> decode_request(const abi::Message& m) {
  if (m.label < kFirstOp || m.label > kLastOp) return detail::bad(0);
  if (m.cap != abi::kNoSlot) return detail::bad(7);
  Request r;
  r.op = static_cast<Op>(m.label);
  const std::uint64_t w0 = m.words[0];
  r.handle = static_cast<std::uint16_t>(w0 & 0xFFFF);
  if (is_name_op(r.op)) {
    r.len_a = static_cast<std::uint8_t>(w0 >> 16);
    r.len_b = static_cast<std::uint8_t>(w0 >> 24);
    r.flags = static_cast<std::uint8_t>(w0 >> 32);
    const std::uint64_t mode = (w0 >> 40) & 0xFFFFFF;
    const bool takes_mode = r.op == Op::MKDIR || (r.op == Op::OPEN && (r.flags & kCreate) != 0);
    if (mode > kModeMask || (!takes_mode && mode != 0)) return detail::bad(detail::word(0));
    r.mode = static_cast<std::uint16_t>(mode);
    if ((r.op == Op::OPEN ? (r.flags & ~kOpenFlags) : r.flags) != 0) return detail::bad(detail::word(0));
    if (r.len_a == 0 || (r.len_b != 0) != has_two_names(r.op)) return detail::bad(detail::word(0));
    const std::size_t n = std::size_t{r.len_a} + r.len_b;
    if (n > kMaxNames) return detail::bad(kOffsetNameTooLong);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t c = detail::byte_of(m, 1, i);
      if (c == 0) return detail::bad(detail::word(1 + i / 8));
      r.names[i] = static_cast<char>(c);
    }
    if (!detail::tail_zero(m, 1, n, kMaxNames)) return detail::bad(detail::word(1 + n / 8));
    return r;
  }
  if (r.handle == 0) return detail::bad(detail::word(0));
  std::uint64_t w0_rest = w0 >> 16;
  std::size_t used = 1;  // words in use after w0
  switch (r.op) {
    case Op::READ:
      r.offset = m.words[1];
      if (m.words[2] == 0 || m.words[2] > kChunk) return detail::bad(detail::word(2));
      r.count = static_cast<std::uint8_t>(m.words[2]);
      used = 2;
      break;
    case Op::WRITE:
      if (w0_rest == 0 || w0_rest > kChunk) return detail::bad(detail::word(0));
      r.count = static_cast<std::uint8_t>(w0_rest);
      w0_rest = 0;
      r.offset = m.words[1];
      for (std::size_t i = 0; i < r.count; ++i) r.data[i] = detail::byte_of(m, 2, i);
      if (!detail::tail_zero(m, 2, r.count, kChunk)) return detail::bad(detail::word(2 + r.count / 8));
      used = 5;
      break;
    case Op::READDIR:
    case Op::TRUNCATE: r.offset = m.words[1]; break;
    case Op::SET_META:
      if (w0_rest == 0 || w0_rest > kMetaMask) return detail::bad(detail::word(0));
      r.mask = static_cast<std::uint8_t>(w0_rest);
      w0_rest = 0;
      if (m.words[1] > kModeMask || ((r.mask & kSetMode) == 0 && m.words[1] != 0)) return detail::bad(detail::word(1));
      if ((r.mask & kSetMtime) == 0 && m.words[2] != 0) return detail::bad(detail::word(2));
      if ((r.mask & kSetOwner) == 0 && m.words[3] != 0) return detail::bad(detail::word(3));
      r.mode = static_cast<std::uint16_t>(m.words[1]);
      r.mtime = m.words[2];
      r.uid = static_cast<std::uint32_t>(m.words[3]);
      r.gid = static_cast<std::uint32_t>(m.words[3] >> 32);
      used = 3;
      break;
    default: used = 0; break;  // CLOSE
  }
  if (w0_rest != 0) return detail::bad(detail::word(0));
  for (std::size_t i = used + 1; i < 6; ++i) {
    if (m.words[i] != 0) return detail::bad(detail::word(i));
  }
  return r;
}

// The status vfsd answers to a request decode_request refused.
constexpr Status refusal(const Error& e) {
  return e.offset == kOffsetNameTooLong ? Status::NAME_TOO_LONG : Status::MALFORMED;
}

// ---- replies ---------------------------------------------------------------

constexpr abi::Message encode(Op op, const Reply& r) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(op);
  m.words[0] = static_cast<std::uint64_t>(r.status);
  if (r.status != Status::OK) return m;
  switch (op) {
    case Op::OPEN:
      m.words[1] = r.handle;
      m.words[2] = static_cast<std::uint64_t>(r.kind);
      m.words[3] = r.size;
      break;
    case Op::READ:
    case Op::READLINK:
      m.words[1] = r.count;
      detail::put_bytes(m, 2, r.data, r.count);
      break;
    case Op::READDIR:
      m.words[1] = static_cast<std::uint64_t>(r.kind) | (std::uint64_t{r.count} << 8);
      detail::put_bytes(m, 2, r.data, r.count);
      break;
    case Op::WRITE:
      m.words[1] = r.count;
      m.words[2] = r.size;
      break;
    case Op::TRUNCATE: m.words[1] = r.size; break;
    case Op::STAT:
      m.words[1] = static_cast<std::uint64_t>(r.kind) | (std::uint64_t{r.mode} << 8) | (std::uint64_t{r.links} << 32);
      m.words[2] = r.size;
      m.words[3] = r.mtime;
      m.words[4] = r.uid | (std::uint64_t{r.gid} << 32);
      m.words[5] = r.generation;
      break;
    default: break;
  }
  return m;
}

// The reply to a request of `op`: the label must echo it, the status must
// be one of Status, a refusal carries nothing else, and every field must be
// in its width (a name or target is 1..kChunk non-zero bytes; READ's count
// is at most kChunk).
constexpr Result<Reply> decode_reply(const abi::Message& m, Op op) {
  if (m.label != static_cast<std::uint64_t>(op)) return detail::bad(0);
  if (m.cap != abi::kNoSlot) return detail::bad(7);
  if (m.words[0] >= kStatusLimit) return detail::bad(detail::word(0));
  Reply r;
  r.status = static_cast<Status>(m.words[0]);
  std::size_t used = 0;  // words in use after w0
  if (r.status == Status::OK) {
    switch (op) {
      case Op::OPEN:
        if (m.words[1] == 0 || m.words[1] > 0xFFFF) return detail::bad(detail::word(1));
        if (m.words[2] < 1 || m.words[2] > 3) return detail::bad(detail::word(2));
        r.handle = static_cast<std::uint16_t>(m.words[1]);
        r.kind = static_cast<Kind>(m.words[2]);
        r.size = m.words[3];
        used = 3;
        break;
      case Op::READ:
      case Op::READLINK:
      case Op::READDIR: {
        std::uint64_t n = m.words[1];
        if (op == Op::READDIR) {
          if ((n & 0xFF) > 3 || (n >> 16) != 0) return detail::bad(detail::word(1));
          r.kind = static_cast<Kind>(n & 0xFF);
          n >>= 8;
          if ((r.kind == Kind::NONE) != (n == 0)) return detail::bad(detail::word(1));
        }
        if (n > kChunk || (op == Op::READLINK && n == 0)) return detail::bad(detail::word(1));
        r.count = static_cast<std::uint8_t>(n);
        for (std::size_t i = 0; i < r.count; ++i) {
          r.data[i] = detail::byte_of(m, 2, i);
          if (op != Op::READ && r.data[i] == 0) return detail::bad(detail::word(2 + i / 8));
        }
        if (!detail::tail_zero(m, 2, r.count, kChunk)) return detail::bad(detail::word(2 + r.count / 8));
        used = 5;
        break;
      }
      case Op::WRITE:
        if (m.words[1] > kChunk) return detail::bad(detail::word(1));
        r.count = static_cast<std::uint8_t>(m.words[1]);
        r.size = m.words[2];
        used = 2;
        break;
      case Op::TRUNCATE:
        r.size = m.words[1];
        used = 1;
        break;
      case Op::STAT: {
        const std::uint64_t w1 = m.words[1];
        if ((w1 & 0xFF) < 1 || (w1 & 0xFF) > 3 || ((w1 >> 8) & 0xFFFFFF) > kModeMask) {
          return detail::bad(detail::word(1));
        }
        r.kind = static_cast<Kind>(w1 & 0xFF);
        r.mode = static_cast<std::uint16_t>((w1 >> 8) & kModeMask);
        r.links = static_cast<std::uint32_t>(w1 >> 32);
        r.size = m.words[2];
        r.mtime = m.words[3];
        r.uid = static_cast<std::uint32_t>(m.words[4]);
        r.gid = static_cast<std::uint32_t>(m.words[4] >> 32);
        r.generation = m.words[5];
        used = 5;
        break;
      }
      default: break;
    }
  }
  for (std::size_t i = used + 1; i < 6; ++i) {
    if (m.words[i] != 0) return detail::bad(detail::word(i));
  }
  return r;
}

}  // namespace rootd::vfs
