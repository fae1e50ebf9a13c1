// Storage intent: what vfsd and each filesystem service learn of the storage
// rows of the boot config, and the one definition of its bytes.
//
// vfsd receives the whole table (every provider binding and every mount);
// a filesystem service receives exactly its own provider's binding and no
// mount. The bytes (docs/storage-intent.md) end with a digest over
// everything before it, so a service that reassembles them from chunks can
// tell a complete, unspoiled intent from anything else.
//
// The encoder writes through an output that takes one byte at a time, so
// rootd can produce any 40-byte chunk of the intent without a buffer
// (IntentChunk), and the host can collect the whole intent; the decoder is
// strict: any byte that the encoder would not have written is refused.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

#include "rootd/abi.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/status.hpp"
#include "rootd/storage.hpp"

namespace rootd::intent {

inline constexpr std::uint32_t kMagic = 0x314E4953;  // "SIN1" little-endian
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint16_t kNone16 = 0xFFFF;

enum class IntentKind : std::uint8_t {
  VFS = 1,         // vfsd: every provider, every mount
  FILESYSTEM = 2,  // a filesystem service: its own provider only
};

inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::size_t kProviderRowSize = 16;
inline constexpr std::size_t kMountRowHeader = 4;
inline constexpr std::size_t kDigestSize = 8;
inline constexpr std::uint8_t kMountReadOnly = 0x01;

constexpr std::size_t padded4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

inline constexpr std::size_t kMaxIntentBytes =
    kHeaderSize + kProviderRowSize * bcfg::kMaxProviders +
    (kMountRowHeader + padded4(bcfg::kMaxPathLength)) * bcfg::kMaxMounts + kDigestSize;

// Chunks: StorageIntent::CHUNK messages, w0 = chunk index | total length
// << 32, w1..w5 = 40 bytes of the intent (little-endian words), zero past
// its end.
inline constexpr std::size_t kChunkPayload = 40;
inline constexpr std::size_t kMaxChunks = (kMaxIntentBytes + kChunkPayload - 1) / kChunkPayload;

// FNV-1a, 64 bits, over every byte before the digest.
class IntentDigest {
 public:
  constexpr void add(std::uint8_t byte) {
    hash_ ^= byte;
    hash_ *= 0x100000001b3ULL;
  }
  constexpr std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// Which kind of intent `service` receives, if any.
constexpr bool receives_intent(const Role& role) {
  return role.storage == StorageClass::VFS || role.storage == StorageClass::FILESYSTEM;
}

namespace detail {

template <class Out>
class Writer {
 public:
  constexpr explicit Writer(Out& out) : out_(out) {}
  constexpr void u8(std::uint8_t v) {
    digest_.add(v);
    out_.put(v);
    ++written_;
  }
  constexpr void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v));
    u8(static_cast<std::uint8_t>(v >> 8));
  }
  constexpr void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v));
    u16(static_cast<std::uint16_t>(v >> 16));
  }
  constexpr void finish() {
    const std::uint64_t d = digest_.value();
    for (int i = 0; i < 8; ++i) out_.put(static_cast<std::uint8_t>(d >> (8 * i)));
    written_ += 8;
  }
  constexpr std::size_t written() const { return written_; }

 private:
  Out& out_;
  IntentDigest digest_{};
  std::size_t written_ = 0;
};

struct Counter {
  constexpr void put(std::uint8_t) {}
};

constexpr std::uint16_t index16(std::uint16_t i) { return i == bcfg::kNoIndex ? kNone16 : i; }

template <class Out>
constexpr void provider_row(Writer<Out>& w, const bcfg::View& cfg, std::size_t p) {
  const bcfg::Provider prov = cfg.provider(p);
  w.u16(static_cast<std::uint16_t>(p));
  w.u16(prov.service);
  w.u16(index16(prov.block));
  w.u16(index16(prov.key));
  w.u32(prov.partition);
  w.u32(0);
}

}  // namespace detail

// Writes the intent of service `service` through out.put(uint8_t) and
// returns its length; 0 (nothing written) when the service receives none:
// its role is neither vfsd's nor a filesystem's, or it is a filesystem
// service that serves no provider.
template <class Out>
constexpr std::size_t encode_intent(const bcfg::View& cfg, const Role& role, std::uint16_t service, Out& out) {
  if (!receives_intent(role)) return 0;
  const bool vfs = role.storage == StorageClass::VFS;
  std::size_t own = cfg.provider_count();
  std::size_t total = kHeaderSize + kDigestSize;
  if (vfs) {
    total += kProviderRowSize * cfg.provider_count();
    for (std::size_t m = 0; m < cfg.mount_count(); ++m) total += kMountRowHeader + padded4(cfg.mount(m).path.size());
  } else {
    for (std::size_t p = 0; p < cfg.provider_count() && own == cfg.provider_count(); ++p) {
      if (cfg.provider(p).service == service) own = p;
    }
    if (own == cfg.provider_count()) return 0;
    total += kProviderRowSize;
  }
  detail::Writer<Out> w(out);
  w.u32(kMagic);
  w.u8(static_cast<std::uint8_t>(vfs ? IntentKind::VFS : IntentKind::FILESYSTEM));
  w.u8(kVersion);
  w.u16(service);
  w.u16(static_cast<std::uint16_t>(vfs ? cfg.provider_count() : 1));
  w.u16(static_cast<std::uint16_t>(vfs ? cfg.mount_count() : 0));
  w.u32(static_cast<std::uint32_t>(total));
  if (!vfs) {
    detail::provider_row(w, cfg, own);
  } else {
    for (std::size_t p = 0; p < cfg.provider_count(); ++p) detail::provider_row(w, cfg, p);
    for (std::size_t m = 0; m < cfg.mount_count(); ++m) {
      const bcfg::Mount mount = cfg.mount(m);
      w.u16(mount.provider);
      w.u8(mount.read_only ? kMountReadOnly : 0);
      w.u8(static_cast<std::uint8_t>(mount.path.size()));
      for (char ch : mount.path) w.u8(static_cast<std::uint8_t>(ch));
      for (std::size_t k = mount.path.size(); k < padded4(mount.path.size()); ++k) w.u8(0);
    }
  }
  w.finish();
  return w.written();
}

template <class Out>
constexpr std::size_t encode_intent(const bcfg::View& cfg, std::uint16_t service, Out& out) {
  const Role* role = find_role(cfg.service(service).role);
  return role == nullptr ? 0 : encode_intent(cfg, *role, service, out);
}

// One chunk of an intent as the message rootd SENDs after DELIVER. The
// whole intent is encoded again for each chunk and only the chunk's bytes
// kept: no buffer, and the digest comes out of the same pass.
struct ChunkWindow {
  std::size_t first = 0;
  std::size_t at = 0;
  std::uint64_t words[5] = {};
  constexpr void put(std::uint8_t b) {
    if (at >= first && at < first + kChunkPayload) {
      const std::size_t k = at - first;
      words[k / 8] |= std::uint64_t{b} << (8 * (k % 8));
    }
    ++at;
  }
};

constexpr std::size_t chunk_count(std::size_t length) { return (length + kChunkPayload - 1) / kChunkPayload; }

// The message carrying chunk `index` of `service`'s intent, and the
// intent's length (0: the service receives no intent).
struct Chunk {
  abi::Message message{};
  std::size_t length = 0;
};

constexpr Chunk intent_chunk(const bcfg::View& cfg, const Role& role, std::uint16_t service, std::size_t index) {
  ChunkWindow window;
  window.first = index * kChunkPayload;
  Chunk out;
  out.length = encode_intent(cfg, role, service, window);
  out.message.label = static_cast<std::uint64_t>(abi::StorageIntent::CHUNK);
  out.message.words[0] = static_cast<std::uint64_t>(index) | (static_cast<std::uint64_t>(out.length) << 32);
  for (std::size_t k = 0; k < 5; ++k) out.message.words[k + 1] = window.words[k];
  return out;
}

// ---- decoding -------------------------------------------------------------------

struct ProviderBinding {
  std::uint16_t provider = 0;
  std::uint16_t service = 0;  // the filesystem service
  std::uint16_t block = kNone16;
  std::uint16_t key = kNone16;
  std::uint32_t partition = bcfg::kNoPartition;
};

struct MountEntry {
  std::uint16_t provider = 0;
  bool read_only = false;
  std::string_view path;
};

// A decoded intent: a view over the bytes it was decoded from.
class View {
 public:
  constexpr IntentKind kind() const { return kind_; }
  constexpr std::uint16_t recipient() const { return recipient_; }
  constexpr std::size_t provider_count() const { return providers_; }
  constexpr std::size_t mount_count() const { return mounts_; }
  constexpr std::uint64_t digest() const { return digest_; }

  constexpr ProviderBinding provider(std::size_t i) const {
    const std::size_t at = kHeaderSize + i * kProviderRowSize;
    ProviderBinding b;
    b.provider = u16(at);
    b.service = u16(at + 2);
    b.block = u16(at + 4);
    b.key = u16(at + 6);
    b.partition = u32(at + 8);
    return b;
  }
  // Mounts in order; linear in the mount rows before it.
  constexpr MountEntry mount(std::size_t i) const {
    std::size_t at = kHeaderSize + providers_ * kProviderRowSize;
    for (std::size_t k = 0; k < i; ++k) at += kMountRowHeader + padded4(byte(at + 3));
    MountEntry m;
    m.provider = u16(at);
    m.read_only = (byte(at + 2) & kMountReadOnly) != 0;
    m.path = std::string_view(bytes_.data() + at + kMountRowHeader, byte(at + 3));
    return m;
  }

 private:
  friend constexpr Result<View> decode(std::span<const char> bytes);

  constexpr std::uint8_t byte(std::size_t at) const { return static_cast<std::uint8_t>(bytes_[at]); }
  constexpr std::uint16_t u16(std::size_t at) const {
    return static_cast<std::uint16_t>(byte(at) | (byte(at + 1) << 8));
  }
  constexpr std::uint32_t u32(std::size_t at) const { return u16(at) | (std::uint32_t{u16(at + 2)} << 16); }

  std::span<const char> bytes_{};
  IntentKind kind_ = IntentKind::VFS;
  std::uint16_t recipient_ = 0;
  std::size_t providers_ = 0;
  std::size_t mounts_ = 0;
  std::uint64_t digest_ = 0;
};

// Strict decoding: magic, version, kind, exact length, row counts that fit,
// zero reserved bytes and padding, normal mount paths, known flags, a
// provider row per index in order, and the digest. The Error's offset is the
// first byte at fault.
constexpr Result<View> decode(std::span<const char> bytes) {
  View v;
  v.bytes_ = bytes;
  auto bad = [](Reason r, std::size_t at) { return Error{r, static_cast<std::uint32_t>(at)}; };
  if (bytes.size() < kHeaderSize + kDigestSize) return bad(Reason::BOOT_STORAGE_INTENT_TRUNCATED, bytes.size());
  if (v.u32(0) != kMagic) return bad(Reason::BOOT_STORAGE_INTENT_BAD_HEADER, 0);
  const std::uint8_t kind = v.byte(4);
  if (kind != static_cast<std::uint8_t>(IntentKind::VFS) && kind != static_cast<std::uint8_t>(IntentKind::FILESYSTEM)) {
    return bad(Reason::BOOT_STORAGE_INTENT_BAD_HEADER, 4);
  }
  if (v.byte(5) != kVersion) return bad(Reason::BOOT_STORAGE_INTENT_BAD_HEADER, 5);
  v.kind_ = static_cast<IntentKind>(kind);
  v.recipient_ = v.u16(6);
  v.providers_ = v.u16(8);
  v.mounts_ = v.u16(10);
  if (v.u32(12) != bytes.size()) return bad(Reason::BOOT_STORAGE_INTENT_TRUNCATED, 12);
  if (v.providers_ > bcfg::kMaxProviders || v.mounts_ > bcfg::kMaxMounts) return bad(Reason::BOOT_STORAGE_INTENT_BAD_HEADER, 8);
  if (v.kind_ == IntentKind::FILESYSTEM && (v.providers_ != 1 || v.mounts_ != 0)) return bad(Reason::BOOT_STORAGE_INTENT_BAD_HEADER, 8);
  const std::size_t body_end = bytes.size() - kDigestSize;
  std::size_t at = kHeaderSize;
  if (v.providers_ * kProviderRowSize > body_end - at) return bad(Reason::BOOT_STORAGE_INTENT_TRUNCATED, at);
  for (std::size_t p = 0; p < v.providers_; ++p, at += kProviderRowSize) {
    const ProviderBinding b = v.provider(p);
    if (v.kind_ == IntentKind::VFS && b.provider != p) return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at);
    if (v.kind_ == IntentKind::FILESYSTEM && b.service != v.recipient_) return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at + 2);
    if (b.service == kNone16 || (b.partition != bcfg::kNoPartition && b.block == kNone16)) {
      return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at);
    }
    if (v.u32(at + 12) != 0) return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at + 12);
  }
  for (std::size_t m = 0; m < v.mounts_; ++m) {
    if (body_end - at < kMountRowHeader) return bad(Reason::BOOT_STORAGE_INTENT_TRUNCATED, at);
    const std::size_t length = v.byte(at + 3);
    if (body_end - at - kMountRowHeader < padded4(length)) return bad(Reason::BOOT_STORAGE_INTENT_TRUNCATED, at);
    if (v.u16(at) >= v.providers_) return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at);
    if ((v.byte(at + 2) & ~kMountReadOnly) != 0) return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at + 2);
    const std::string_view path(bytes.data() + at + kMountRowHeader, length);
    if (mount_path_problem(path) != Reason::NONE) return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at + kMountRowHeader);
    for (std::size_t k = length; k < padded4(length); ++k) {
      if (v.byte(at + kMountRowHeader + k) != 0) return bad(Reason::BOOT_STORAGE_INTENT_BAD_ROW, at + kMountRowHeader + k);
    }
    at += kMountRowHeader + padded4(length);
  }
  if (at != body_end) return bad(Reason::BOOT_STORAGE_INTENT_BAD_HEADER, at);
  IntentDigest digest;
  for (std::size_t k = 0; k < body_end; ++k) digest.add(v.byte(k));
  std::uint64_t stored = 0;
  for (std::size_t k = 0; k < kDigestSize; ++k) stored |= std::uint64_t{v.byte(body_end + k)} << (8 * k);
  if (stored != digest.value()) return bad(Reason::BOOT_STORAGE_INTENT_DIGEST, body_end);
  v.digest_ = stored;
  return v;
}

}  // namespace rootd::intent
