// ERIXBCFG v1: the binary boot config. Parser (structural validation), the
// deterministic writer, and the decode direction (validated View back to a
// ConfigDesc). docs/erixbcfg-v1.md is the byte-level specification; the
// offset constants below are its single source of truth.
//
// Layering. parse() checks structure only: bounds, sizes, checksum, the
// section table, string references, indices in range, name syntax,
// uniqueness, limits, reserved bytes and canonical order. Meaning (does the
// role exist, does the launch kind fit the role, cycles, self-edges, the
// profile id, mount path normalization, one root, provider roles) belongs to
// the policy layer (roles.hpp and friends). The seam is the View: policy code
// takes a `const bcfg::View&`, and a View with any content can only come out
// of parse(), so holding one proves every structural rule here. Policy code
// therefore never re-checks bounds, index ranges or uniqueness, and this
// header never needs the role catalog.
//
// Canonical form. Every accepted blob is the one the writer produces for its
// content: rows sorted by name (mounts by path), edge lists ascending, string
// table laid out in reference order with no sharing or slack, sections packed
// at the next 8-byte boundary with zero padding. So View -> ConfigDesc ->
// write() reproduces the input byte for byte, and two descriptions that differ
// only in declaration order encode identically.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "rootd/bytes.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::bcfg {

// ---- limits ------------------------------------------------------------------

inline constexpr std::size_t kMaxServices = 2048;
inline constexpr std::size_t kMaxAfterEdges = 8192;  // total `after` entries
inline constexpr std::size_t kMaxPeerEdges = 8192;   // total `peers` entries
inline constexpr std::size_t kMaxProviders = 32;
inline constexpr std::size_t kMaxMounts = 32;
inline constexpr std::size_t kMaxNameLength = 31;   // names: 1..31 of [a-z0-9-]
// Profile ids are longer than names: the seed's phase profiles include
// "phase4-loader-materialized-launch" (33 bytes).
inline constexpr std::size_t kMaxProfileLength = 63;  // profile ids: 1..63 of [a-z0-9-]
inline constexpr std::size_t kMaxPathLength = 255;  // mount paths
inline constexpr std::uint16_t kNoIndex = 0xFFFF;
inline constexpr std::uint32_t kNoPartition = 0xFFFFFFFF;

// Every string the rows can reference, each at its longest: the profile, three
// per service (name, role, image), one per provider, one path per mount.
inline constexpr std::size_t kMaxStringBytes =
    kMaxProfileLength + kMaxNameLength * (3 * kMaxServices + kMaxProviders) + kMaxPathLength * kMaxMounts;

static_assert(kMaxServices < kNoIndex, "kNoIndex must never be a valid service index");
static_assert(kMaxProviders < kNoIndex && kMaxMounts < kNoIndex);
static_assert(kMaxAfterEdges <= 0xFFFF && kMaxPeerEdges <= 0xFFFF, "per-service counts are u16");

enum class Launch : std::uint8_t { ROOTD = 0, DEVICED = 1 };
inline constexpr std::uint8_t kLaunchKindCount = 2;

// ---- wire layout ---------------------------------------------------------------
// All integers little-endian. Offsets are from the start of the blob unless
// the name says otherwise (row field offsets are from the start of the row).

inline constexpr char kMagic[8] = {'E', 'R', 'I', 'X', 'B', 'C', 'F', 'G'};
inline constexpr std::uint16_t kVersion = 1;
inline constexpr std::uint32_t kKnownFlags = 0;  // v1 defines no flag bits
inline constexpr std::size_t kSectionAlignment = 8;

// Header.
inline constexpr std::size_t kHeaderMagicOffset = 0;          // 8 bytes
inline constexpr std::size_t kHeaderVersionOffset = 8;        // u16
inline constexpr std::size_t kHeaderSizeOffset = 10;          // u16
inline constexpr std::size_t kHeaderTotalSizeOffset = 12;     // u32
inline constexpr std::size_t kHeaderChecksumOffset = 16;      // u32
inline constexpr std::size_t kHeaderFlagsOffset = 20;         // u32
inline constexpr std::size_t kHeaderSectionCountOffset = 24;  // u32
inline constexpr std::size_t kHeaderReservedOffset = 28;      // u32
inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::size_t kChecksumSize = 4;

// Section table: kSectionCount entries right after the header.
inline constexpr std::size_t kSectionEntryTagOffset = 0;     // 4 ASCII bytes
inline constexpr std::size_t kSectionEntryOffsetOffset = 4;  // u32, from blob start
inline constexpr std::size_t kSectionEntryLengthOffset = 8;  // u32, bytes
inline constexpr std::size_t kSectionEntryCountOffset = 12;  // u32, rows
inline constexpr std::size_t kSectionEntrySize = 16;
inline constexpr std::size_t kSectionCount = 7;
inline constexpr std::size_t kSectionTableOffset = kHeaderSize;
inline constexpr std::size_t kSectionTableSize = kSectionCount * kSectionEntrySize;
inline constexpr std::size_t kFirstSectionOffset = kSectionTableOffset + kSectionTableSize;

// String reference inside a row: a range of the string table.
inline constexpr std::size_t kStrRefOffsetOffset = 0;  // u32, from string table start
inline constexpr std::size_t kStrRefLengthOffset = 4;  // u32, bytes
inline constexpr std::size_t kStrRefSize = 8;

// PRF1 row.
inline constexpr std::size_t kProfileNameOffset = 0;  // StrRef
inline constexpr std::size_t kProfileRowSize = 8;

// SVC1 row.
inline constexpr std::size_t kServiceNameOffset = 0;         // StrRef
inline constexpr std::size_t kServiceRoleOffset = 8;         // StrRef
inline constexpr std::size_t kServiceImageOffset = 16;       // StrRef
inline constexpr std::size_t kServiceAfterFirstOffset = 24;  // u32, AFT1 row index
inline constexpr std::size_t kServicePeersFirstOffset = 28;  // u32, PER1 row index
inline constexpr std::size_t kServiceAfterCountOffset = 32;  // u16
inline constexpr std::size_t kServicePeersCountOffset = 34;  // u16
inline constexpr std::size_t kServiceLaunchOffset = 36;      // u8, Launch
inline constexpr std::size_t kServiceReservedOffset = 37;    // 3 bytes, zero
inline constexpr std::size_t kServiceReservedSize = 3;
inline constexpr std::size_t kServiceRowSize = 40;

// AFT1 and PER1 rows: one u16 service index each.
inline constexpr std::size_t kEdgeRowSize = 2;

// PRV1 row.
inline constexpr std::size_t kProviderNameOffset = 0;       // StrRef
inline constexpr std::size_t kProviderServiceOffset = 8;    // u16, fs service
inline constexpr std::size_t kProviderBlockOffset = 10;     // u16, kNoIndex = memory-backed
inline constexpr std::size_t kProviderKeyOffset = 12;       // u16, kNoIndex = none
inline constexpr std::size_t kProviderReservedOffset = 14;  // u16, zero
inline constexpr std::size_t kProviderReservedSize = 2;
inline constexpr std::size_t kProviderPartitionOffset = 16;  // u32, kNoPartition = none
inline constexpr std::size_t kProviderRowSize = 20;

// MNT1 row.
inline constexpr std::size_t kMountPathOffset = 0;       // StrRef
inline constexpr std::size_t kMountProviderOffset = 8;   // u16, PRV1 row index
inline constexpr std::size_t kMountReadOnlyOffset = 10;  // u8, 0 or 1
inline constexpr std::size_t kMountReservedOffset = 11;  // u8, zero
inline constexpr std::size_t kMountReservedSize = 1;
inline constexpr std::size_t kMountRowSize = 12;

// C declarations of the same layouts. They are never instantiated and never
// cast over input; they exist so the compiler cross-checks the constants above
// against a second, independent description (natural alignment, no padding).
namespace wire {
struct StrRef {
  std::uint32_t offset;
  std::uint32_t length;
};
struct Header {
  char magic[8];
  std::uint16_t version;
  std::uint16_t header_size;
  std::uint32_t total_size;
  std::uint32_t checksum;
  std::uint32_t flags;
  std::uint32_t section_count;
  std::uint32_t reserved;
};
struct SectionEntry {
  char tag[4];
  std::uint32_t offset;
  std::uint32_t length;
  std::uint32_t count;
};
struct ProfileRow {
  StrRef name;
};
struct ServiceRow {
  StrRef name;
  StrRef role;
  StrRef image;
  std::uint32_t after_first;
  std::uint32_t peers_first;
  std::uint16_t after_count;
  std::uint16_t peers_count;
  std::uint8_t launch;
  std::uint8_t reserved[3];
};
struct EdgeRow {
  std::uint16_t service;
};
struct ProviderRow {
  StrRef name;
  std::uint16_t service;
  std::uint16_t block;
  std::uint16_t key;
  std::uint16_t reserved;
  std::uint32_t partition;
};
struct MountRow {
  StrRef path;
  std::uint16_t provider;
  std::uint8_t read_only;
  std::uint8_t reserved;
};

static_assert(sizeof(StrRef) == kStrRefSize);
static_assert(offsetof(StrRef, offset) == kStrRefOffsetOffset);
static_assert(offsetof(StrRef, length) == kStrRefLengthOffset);

static_assert(sizeof(Header) == kHeaderSize);
static_assert(offsetof(Header, magic) == kHeaderMagicOffset && sizeof(kMagic) == 8);
static_assert(offsetof(Header, version) == kHeaderVersionOffset);
static_assert(offsetof(Header, header_size) == kHeaderSizeOffset);
static_assert(offsetof(Header, total_size) == kHeaderTotalSizeOffset);
static_assert(offsetof(Header, checksum) == kHeaderChecksumOffset);
static_assert(sizeof(Header::checksum) == kChecksumSize);
static_assert(offsetof(Header, flags) == kHeaderFlagsOffset);
static_assert(offsetof(Header, section_count) == kHeaderSectionCountOffset);
static_assert(offsetof(Header, reserved) == kHeaderReservedOffset);

static_assert(sizeof(SectionEntry) == kSectionEntrySize);
static_assert(offsetof(SectionEntry, tag) == kSectionEntryTagOffset);
static_assert(offsetof(SectionEntry, offset) == kSectionEntryOffsetOffset);
static_assert(offsetof(SectionEntry, length) == kSectionEntryLengthOffset);
static_assert(offsetof(SectionEntry, count) == kSectionEntryCountOffset);
static_assert(kFirstSectionOffset % kSectionAlignment == 0);

static_assert(sizeof(ProfileRow) == kProfileRowSize);
static_assert(offsetof(ProfileRow, name) == kProfileNameOffset);

static_assert(sizeof(ServiceRow) == kServiceRowSize);
static_assert(offsetof(ServiceRow, name) == kServiceNameOffset);
static_assert(offsetof(ServiceRow, role) == kServiceRoleOffset);
static_assert(offsetof(ServiceRow, image) == kServiceImageOffset);
static_assert(offsetof(ServiceRow, after_first) == kServiceAfterFirstOffset);
static_assert(offsetof(ServiceRow, peers_first) == kServicePeersFirstOffset);
static_assert(offsetof(ServiceRow, after_count) == kServiceAfterCountOffset);
static_assert(offsetof(ServiceRow, peers_count) == kServicePeersCountOffset);
static_assert(offsetof(ServiceRow, launch) == kServiceLaunchOffset);
static_assert(offsetof(ServiceRow, reserved) == kServiceReservedOffset);
static_assert(sizeof(ServiceRow::reserved) == kServiceReservedSize);

static_assert(sizeof(EdgeRow) == kEdgeRowSize);

static_assert(sizeof(ProviderRow) == kProviderRowSize);
static_assert(offsetof(ProviderRow, name) == kProviderNameOffset);
static_assert(offsetof(ProviderRow, service) == kProviderServiceOffset);
static_assert(offsetof(ProviderRow, block) == kProviderBlockOffset);
static_assert(offsetof(ProviderRow, key) == kProviderKeyOffset);
static_assert(offsetof(ProviderRow, reserved) == kProviderReservedOffset);
static_assert(sizeof(ProviderRow::reserved) == kProviderReservedSize);
static_assert(offsetof(ProviderRow, partition) == kProviderPartitionOffset);

static_assert(sizeof(MountRow) == kMountRowSize);
static_assert(offsetof(MountRow, path) == kMountPathOffset);
static_assert(offsetof(MountRow, provider) == kMountProviderOffset);
static_assert(offsetof(MountRow, read_only) == kMountReadOnlyOffset);
static_assert(offsetof(MountRow, reserved) == kMountReservedOffset);
static_assert(sizeof(MountRow::reserved) == kMountReservedSize);
}  // namespace wire

// ---- sections ------------------------------------------------------------------

// In table order, which is also the order of the section data in the blob and
// the only order parse() accepts.
enum class Section : std::uint8_t {
  PROFILE = 0,
  SERVICES = 1,
  AFTER = 2,
  PEERS = 3,
  PROVIDERS = 4,
  MOUNTS = 5,
  STRINGS = 6,
};

struct SectionInfo {
  Section section;
  char tag[4];
  std::size_t row_size;  // bytes per row; the string table counts bytes
  std::size_t min_rows;
  std::size_t max_rows;
  Reason count_reason;  // rejection for a row count outside [min_rows, max_rows]
};

inline constexpr SectionInfo kSectionTable[kSectionCount] = {
    {Section::PROFILE,
     {'P', 'R', 'F', '1'},
     kProfileRowSize,
     1,
     1,
     Reason::BCFG_PROFILE_COUNT_INVALID},
    {Section::SERVICES,
     {'S', 'V', 'C', '1'},
     kServiceRowSize,
     0,
     kMaxServices,
     Reason::BCFG_TOO_MANY_SERVICES},
    {Section::AFTER,
     {'A', 'F', 'T', '1'},
     kEdgeRowSize,
     0,
     kMaxAfterEdges,
     Reason::BCFG_TOO_MANY_AFTER_EDGES},
    {Section::PEERS,
     {'P', 'E', 'R', '1'},
     kEdgeRowSize,
     0,
     kMaxPeerEdges,
     Reason::BCFG_TOO_MANY_PEER_EDGES},
    {Section::PROVIDERS,
     {'P', 'R', 'V', '1'},
     kProviderRowSize,
     0,
     kMaxProviders,
     Reason::BCFG_TOO_MANY_PROVIDERS},
    {Section::MOUNTS,
     {'M', 'N', 'T', '1'},
     kMountRowSize,
     0,
     kMaxMounts,
     Reason::BCFG_TOO_MANY_MOUNTS},
    {Section::STRINGS,
     {'S', 'T', 'R', '1'},
     1,
     0,
     kMaxStringBytes,
     Reason::BCFG_STRING_TABLE_TOO_LARGE},
};

constexpr const SectionInfo& section_info(Section s) {
  return kSectionTable[static_cast<std::size_t>(s)];
}

// The tag as the u32 a little-endian load of its four bytes gives.
constexpr std::uint32_t section_tag_value(const SectionInfo& info) {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(info.tag[0])) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(info.tag[1])) << 8) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(info.tag[2])) << 16) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(info.tag[3])) << 24);
}

namespace detail {
constexpr bool section_table_is_sound() {
  for (std::size_t i = 0; i < kSectionCount; ++i) {
    if (static_cast<std::size_t>(kSectionTable[i].section) != i) return false;
    if (kSectionTable[i].row_size == 0 || kSectionTable[i].min_rows > kSectionTable[i].max_rows)
      return false;
    for (std::size_t j = i + 1; j < kSectionCount; ++j) {
      if (section_tag_value(kSectionTable[i]) == section_tag_value(kSectionTable[j])) return false;
    }
  }
  return true;
}
}  // namespace detail
static_assert(detail::section_table_is_sound(), "sections: enum order, row sizes, unique tags");
static_assert(section_tag_value(section_info(Section::MOUNTS)) == 0x31544E4DU, "MNT1 on the wire");

// ---- name and path syntax --------------------------------------------------------

namespace detail {
constexpr bool is_name_text(std::string_view text, std::size_t max_length) {
  if (text.empty() || text.size() > max_length) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}
}  // namespace detail

constexpr bool name_is_well_formed(std::string_view name) { return detail::is_name_text(name, kMaxNameLength); }
// "none" or a profile id: 1..63 of [a-z0-9-].
constexpr bool profile_is_well_formed(std::string_view id) { return detail::is_name_text(id, kMaxProfileLength); }

// Structural only: 1..255 graphic ASCII bytes (0x21..0x7E). Normalization
// ("/" rooted, no "//", no "." or ".." segments) is the policy layer's.
constexpr bool path_is_well_formed(std::string_view path) {
  if (path.empty() || path.size() > kMaxPathLength) return false;
  for (char c : path) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// The canonical order: bytes compared as unsigned values, a proper prefix
// first. Written out so no memcmp call can appear in freestanding code.
constexpr int compare_bytes(std::string_view a, std::string_view b) {
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<std::uint8_t>(a[i]);
    const auto y = static_cast<std::uint8_t>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

// CRC-32C over the whole blob except the four checksum bytes: bytes
// [0, 16) then [20, blob.size()). A blob shorter than the header has no
// checksum field; the result is then 0.
constexpr std::uint32_t checksum(Bytes blob) {
  if (blob.size() < kHeaderSize) return 0;
  std::uint32_t state = crc32c_update(kCrc32cInit, Bytes(blob.data(), kHeaderChecksumOffset));
  const std::size_t rest = kHeaderChecksumOffset + kChecksumSize;
  state = crc32c_update(state, Bytes(blob.data() + rest, blob.size() - rest));
  return crc32c_final(state);
}

// ---- the validated view ------------------------------------------------------------

struct Service {
  std::string_view name, role, image;
  Launch launch = Launch::ROOTD;
};
struct Provider {
  std::string_view name;
  std::uint16_t service = kNoIndex;        // fs service index
  std::uint16_t block = kNoIndex;          // kNoIndex = memory-backed
  std::uint16_t key = kNoIndex;            // kNoIndex = none
  std::uint32_t partition = kNoPartition;  // kNoPartition = none
};
struct Mount {
  std::string_view path;
  std::uint16_t provider = kNoIndex;
  bool read_only = false;
};

// A list of service indices read from the blob (strictly ascending).
class IndexList {
 public:
  class Iterator {
   public:
    constexpr Iterator() = default;
    constexpr std::uint16_t operator*() const { return load_le16(entries_, at_); }
    constexpr Iterator& operator++() {
      at_ += kEdgeRowSize;
      return *this;
    }
    constexpr Iterator operator++(int) {
      Iterator before = *this;
      at_ += kEdgeRowSize;
      return before;
    }
    friend constexpr bool operator==(const Iterator& a, const Iterator& b) {
      return a.at_ == b.at_;
    }

   private:
    friend class IndexList;
    constexpr Iterator(Bytes entries, std::size_t at) : entries_(entries), at_(at) {}
    Bytes entries_{};
    std::size_t at_ = 0;
  };

  constexpr IndexList() = default;
  constexpr std::size_t size() const { return entries_.size() / kEdgeRowSize; }
  constexpr bool empty() const { return entries_.empty(); }
  // kNoIndex for i >= size() rather than a read outside the list.
  constexpr std::uint16_t operator[](std::size_t i) const {
    return i < size() ? load_le16(entries_, i * kEdgeRowSize) : kNoIndex;
  }
  constexpr Iterator begin() const { return Iterator(entries_, 0); }
  constexpr Iterator end() const { return Iterator(entries_, entries_.size()); }

 private:
  friend class View;
  constexpr explicit IndexList(Bytes entries) : entries_(entries) {}
  Bytes entries_{};
};

class View;
constexpr Result<View> parse(Bytes blob);

// A blob that passed parse(): cheap to copy, non-owning (the blob must outlive
// it). Accessors never fail: an index out of range yields an empty row (empty
// names, kNoIndex references), never a read outside the blob. A
// default-constructed View is empty (no profile, no rows); Result needs it,
// nothing else should.
class View {
 public:
  constexpr View() = default;

  constexpr Bytes bytes() const { return blob_; }
  constexpr std::string_view profile() const {
    return count(Section::PROFILE) == 1 ? string_at(offset(Section::PROFILE) + kProfileNameOffset)
                                        : std::string_view{};
  }

  constexpr std::size_t service_count() const { return count(Section::SERVICES); }
  constexpr Service service(std::size_t i) const {
    if (i >= service_count()) return {};
    const std::size_t row = service_offset(i);
    return {string_at(row + kServiceNameOffset), string_at(row + kServiceRoleOffset),
            string_at(row + kServiceImageOffset),
            static_cast<Launch>(byte_at(blob_, row + kServiceLaunchOffset))};
  }
  // Services that must be READY before service i starts.
  constexpr IndexList after(std::size_t i) const {
    return edges(i, Section::AFTER, kServiceAfterFirstOffset, kServiceAfterCountOffset);
  }
  // Services whose endpoints are wired into service i.
  constexpr IndexList peers(std::size_t i) const {
    return edges(i, Section::PEERS, kServicePeersFirstOffset, kServicePeersCountOffset);
  }
  // Binary search: service rows are sorted by name. kNoIndex if absent.
  constexpr std::uint16_t find_service(std::string_view name) const {
    return find(name, Section::SERVICES, kServiceRowSize, kServiceNameOffset);
  }
  constexpr std::size_t after_edge_count() const { return count(Section::AFTER); }
  constexpr std::size_t peer_edge_count() const { return count(Section::PEERS); }

  constexpr std::size_t provider_count() const { return count(Section::PROVIDERS); }
  constexpr Provider provider(std::size_t i) const {
    if (i >= provider_count()) return {};
    const std::size_t row = provider_offset(i);
    return {string_at(row + kProviderNameOffset), load_le16(blob_, row + kProviderServiceOffset),
            load_le16(blob_, row + kProviderBlockOffset),
            load_le16(blob_, row + kProviderKeyOffset),
            load_le32(blob_, row + kProviderPartitionOffset)};
  }
  constexpr std::uint16_t find_provider(std::string_view name) const {
    return find(name, Section::PROVIDERS, kProviderRowSize, kProviderNameOffset);
  }

  constexpr std::size_t mount_count() const { return count(Section::MOUNTS); }
  constexpr Mount mount(std::size_t i) const {
    if (i >= mount_count()) return {};
    const std::size_t row = mount_offset(i);
    return {string_at(row + kMountPathOffset), load_le16(blob_, row + kMountProviderOffset),
            byte_at(blob_, row + kMountReadOnlyOffset) != 0};
  }

  // Byte offsets for diagnostics ("offset 0x..: service 'x' ..."). Row
  // accessors take an index < the matching count; others give the offset
  // just past the section.
  constexpr std::uint32_t section_offset(Section s) const {
    return offset_[static_cast<std::size_t>(s)];
  }
  constexpr std::uint32_t profile_offset() const { return offset(Section::PROFILE); }
  constexpr std::uint32_t service_offset(std::size_t i) const {
    return row_offset(Section::SERVICES, i);
  }
  constexpr std::uint32_t provider_offset(std::size_t i) const {
    return row_offset(Section::PROVIDERS, i);
  }
  constexpr std::uint32_t mount_offset(std::size_t i) const {
    return row_offset(Section::MOUNTS, i);
  }
  // Offset of service i's first `after` (or `peers`) entry.
  constexpr std::uint32_t after_offset(std::size_t i) const {
    return edge_offset(i, Section::AFTER, kServiceAfterFirstOffset);
  }
  constexpr std::uint32_t peers_offset(std::size_t i) const {
    return edge_offset(i, Section::PEERS, kServicePeersFirstOffset);
  }

 private:
  friend constexpr Result<View> parse(Bytes blob);

  constexpr std::uint32_t offset(Section s) const { return offset_[static_cast<std::size_t>(s)]; }
  constexpr std::size_t count(Section s) const { return count_[static_cast<std::size_t>(s)]; }
  constexpr std::uint32_t row_offset(Section s, std::size_t i) const {
    const std::size_t limit = count(s) < i ? count(s) : i;
    return static_cast<std::uint32_t>(offset(s) + limit * section_info(s).row_size);
  }
  constexpr std::string_view string_at(std::size_t ref) const {
    const std::size_t at = offset(Section::STRINGS) + load_le32(blob_, ref + kStrRefOffsetOffset);
    return chars_at(blob_, at, load_le32(blob_, ref + kStrRefLengthOffset));
  }
  constexpr std::uint32_t edge_offset(std::size_t i, Section s, std::size_t first_field) const {
    if (i >= service_count())
      return offset(s) + static_cast<std::uint32_t>(count(s) * kEdgeRowSize);
    const std::uint32_t first = load_le32(blob_, service_offset(i) + first_field);
    return offset(s) + static_cast<std::uint32_t>(first * kEdgeRowSize);
  }
  constexpr IndexList edges(std::size_t i, Section s, std::size_t first_field,
                            std::size_t count_field) const {
    if (i >= service_count()) return {};
    const std::size_t n = load_le16(blob_, service_offset(i) + count_field);
    return IndexList(Bytes(blob_.data() + edge_offset(i, s, first_field), n * kEdgeRowSize));
  }
  constexpr std::uint16_t find(std::string_view name, Section s, std::size_t row_size,
                               std::size_t field) const {
    std::size_t lo = 0;
    std::size_t hi = count(s);
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      const int c = compare_bytes(string_at(offset(s) + mid * row_size + field), name);
      if (c == 0) return static_cast<std::uint16_t>(mid);
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return kNoIndex;
  }

  Bytes blob_{};
  std::array<std::uint32_t, kSectionCount> offset_{};
  std::array<std::uint32_t, kSectionCount> count_{};
};

// ---- parser ------------------------------------------------------------------------

namespace detail {

constexpr std::uint32_t at32(std::size_t v) { return static_cast<std::uint32_t>(v); }

constexpr std::size_t align_up(std::size_t v) {
  return (v + kSectionAlignment - 1) & ~(kSectionAlignment - 1);
}

struct SectionSpan {
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  std::uint32_t count = 0;
};
using SectionSpans = std::array<SectionSpan, kSectionCount>;

constexpr Check check_header(Bytes blob) {
  if (blob.size() < kHeaderSize) return {Reason::BCFG_TRUNCATED_HEADER, 0};
  for (std::size_t i = 0; i < sizeof(kMagic); ++i) {
    if (blob[kHeaderMagicOffset + i] != kMagic[i])
      return {Reason::BCFG_BAD_MAGIC, at32(kHeaderMagicOffset + i)};
  }
  if (load_le16(blob, kHeaderVersionOffset) != kVersion) {
    return {Reason::BCFG_UNSUPPORTED_VERSION, at32(kHeaderVersionOffset)};
  }
  if (load_le16(blob, kHeaderSizeOffset) != kHeaderSize) {
    return {Reason::BCFG_HEADER_SIZE_INVALID, at32(kHeaderSizeOffset)};
  }
  if (load_le32(blob, kHeaderTotalSizeOffset) != blob.size()) {
    return {Reason::BCFG_TOTAL_SIZE_MISMATCH, at32(kHeaderTotalSizeOffset)};
  }
  if (load_le32(blob, kHeaderChecksumOffset) != checksum(blob)) {
    return {Reason::BCFG_CHECKSUM_MISMATCH, at32(kHeaderChecksumOffset)};
  }
  if ((load_le32(blob, kHeaderFlagsOffset) & ~kKnownFlags) != 0) {
    return {Reason::BCFG_UNKNOWN_FLAGS, at32(kHeaderFlagsOffset)};
  }
  if (load_le32(blob, kHeaderSectionCountOffset) != kSectionCount) {
    return {Reason::BCFG_SECTION_COUNT_INVALID, at32(kHeaderSectionCountOffset)};
  }
  if (load_le32(blob, kHeaderReservedOffset) != 0) {
    return {Reason::BCFG_HEADER_RESERVED_NONZERO, at32(kHeaderReservedOffset)};
  }
  if (!range_fits(kSectionTableOffset, kSectionTableSize, blob.size())) {
    return {Reason::BCFG_SECTION_TABLE_OUT_OF_BOUNDS, at32(kSectionTableOffset)};
  }
  return kOk;
}

constexpr std::size_t section_index_for_tag(std::uint32_t tag) {
  for (std::size_t i = 0; i < kSectionCount; ++i) {
    if (section_tag_value(kSectionTable[i]) == tag) return i;
  }
  return kSectionCount;
}

// Entry i must describe section i, packed at the next aligned offset after
// section i-1 (the first right after the table) with zero padding between.
constexpr Result<SectionSpans> check_sections(Bytes blob) {
  SectionSpans spans{};
  unsigned seen = 0;
  std::size_t end = kFirstSectionOffset;
  for (std::size_t i = 0; i < kSectionCount; ++i) {
    const std::size_t entry = kSectionTableOffset + i * kSectionEntrySize;
    const std::size_t index =
        section_index_for_tag(load_le32(blob, entry + kSectionEntryTagOffset));
    if (index == kSectionCount) return Error{Reason::BCFG_SECTION_UNKNOWN_TAG, at32(entry)};
    if ((seen & (1U << index)) != 0) return Error{Reason::BCFG_SECTION_DUPLICATE, at32(entry)};
    seen |= 1U << index;
    if (index != i) return Error{Reason::BCFG_SECTION_ORDER, at32(entry)};

    const SectionInfo& info = kSectionTable[i];
    const std::uint64_t offset = load_le32(blob, entry + kSectionEntryOffsetOffset);
    const std::uint64_t length = load_le32(blob, entry + kSectionEntryLengthOffset);
    const std::uint64_t count = load_le32(blob, entry + kSectionEntryCountOffset);
    if (length != count * info.row_size) {
      return Error{Reason::BCFG_SECTION_LENGTH_MISMATCH, at32(entry + kSectionEntryLengthOffset)};
    }
    if (count < info.min_rows || count > info.max_rows) {
      return Error{info.count_reason, at32(entry + kSectionEntryCountOffset)};
    }
    const std::size_t expected = align_up(end);
    if (offset % kSectionAlignment != 0) {
      return Error{Reason::BCFG_SECTION_MISALIGNED, at32(entry + kSectionEntryOffsetOffset)};
    }
    if (offset < expected)
      return Error{Reason::BCFG_SECTION_OVERLAP, at32(entry + kSectionEntryOffsetOffset)};
    if (offset > expected)
      return Error{Reason::BCFG_SECTION_GAP, at32(entry + kSectionEntryOffsetOffset)};
    if (!range_fits(offset, length, blob.size())) {
      return Error{Reason::BCFG_SECTION_OUT_OF_BOUNDS, at32(entry + kSectionEntryLengthOffset)};
    }
    for (std::size_t at = end; at < expected; ++at) {
      if (blob[at] != 0) return Error{Reason::BCFG_PADDING_NONZERO, at32(at)};
    }
    spans[i] = {static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(length),
                static_cast<std::uint32_t>(count)};
    end = static_cast<std::size_t>(offset + length);
  }
  if (end != blob.size()) return Error{Reason::BCFG_TRAILING_BYTES, at32(end)};
  return spans;
}

// Walks the string references in canonical order: each must start where the
// previous one ended, and together they must cover the table exactly.
struct StringCursor {
  Bytes blob;
  std::size_t base = 0;
  std::size_t length = 0;
  std::size_t used = 0;

  constexpr Result<std::string_view> take(std::size_t ref) {
    const std::uint32_t offset = load_le32(blob, ref + kStrRefOffsetOffset);
    const std::uint32_t size = load_le32(blob, ref + kStrRefLengthOffset);
    if (!range_fits(offset, size, length)) {
      return Error{Reason::BCFG_STRING_OUT_OF_BOUNDS, at32(ref + kStrRefLengthOffset)};
    }
    if (offset != used)
      return Error{Reason::BCFG_STRING_NOT_CANONICAL, at32(ref + kStrRefOffsetOffset)};
    used += size;
    return chars_at(blob, base + offset, size);
  }
};

constexpr Check check_zero(Bytes blob, std::size_t at, std::size_t size, Reason reason) {
  for (std::size_t i = 0; i < size; ++i) {
    if (blob[at + i] != 0) return {reason, at32(at + i)};
  }
  return kOk;
}

// Neighbour check against the previous row's key: sorted and unique at once.
constexpr Check check_ascending(std::string_view previous, std::string_view current, bool first,
                                std::size_t at, Reason duplicate, Reason order) {
  if (first) return kOk;
  const int c = compare_bytes(previous, current);
  if (c == 0) return {duplicate, at32(at)};
  if (c > 0) return {order, at32(at)};
  return kOk;
}

struct EdgeReasons {
  Reason not_contiguous;
  Reason out_of_bounds;
  Reason index_out_of_range;
  Reason not_ascending;
  Reason duplicate;
  Reason unreferenced;
};
inline constexpr EdgeReasons kAfterReasons{Reason::BCFG_AFTER_RANGE_NOT_CONTIGUOUS,
                                           Reason::BCFG_AFTER_RANGE_OUT_OF_BOUNDS,
                                           Reason::BCFG_AFTER_INDEX_OUT_OF_RANGE,
                                           Reason::BCFG_AFTER_NOT_ASCENDING,
                                           Reason::BCFG_AFTER_DUPLICATE,
                                           Reason::BCFG_AFTER_EDGES_UNREFERENCED};
inline constexpr EdgeReasons kPeerReasons{Reason::BCFG_PEER_RANGE_NOT_CONTIGUOUS,
                                          Reason::BCFG_PEER_RANGE_OUT_OF_BOUNDS,
                                          Reason::BCFG_PEER_INDEX_OUT_OF_RANGE,
                                          Reason::BCFG_PEER_NOT_ASCENDING,
                                          Reason::BCFG_PEER_DUPLICATE,
                                          Reason::BCFG_PEER_EDGES_UNREFERENCED};

// One service's edge list: it must start where the previous service's list
// ended (so lists tile the section in service order) and ascend strictly.
constexpr Check check_edge_list(Bytes blob, std::size_t row, std::size_t first_field,
                                std::size_t count_field, const SectionSpan& section,
                                std::size_t service_count, std::size_t& cursor,
                                const EdgeReasons& reasons) {
  const std::uint32_t first = load_le32(blob, row + first_field);
  const std::uint16_t count = load_le16(blob, row + count_field);
  if (first != cursor) return {reasons.not_contiguous, at32(row + first_field)};
  if (!range_fits(first, count, section.count))
    return {reasons.out_of_bounds, at32(row + count_field)};
  std::uint16_t previous = 0;
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t at = section.offset + (first + k) * kEdgeRowSize;
    const std::uint16_t target = load_le16(blob, at);
    if (target >= service_count) return {reasons.index_out_of_range, at32(at)};
    if (k > 0 && target == previous) return {reasons.duplicate, at32(at)};
    if (k > 0 && target < previous) return {reasons.not_ascending, at32(at)};
    previous = target;
  }
  cursor += count;
  return kOk;
}

constexpr Check check_profile(const SectionSpans& s, StringCursor& strings) {
  const std::size_t ref = s[static_cast<std::size_t>(Section::PROFILE)].offset + kProfileNameOffset;
  const Result<std::string_view> name = strings.take(ref);
  if (!name) return name.error();
  if (!profile_is_well_formed(*name)) return {Reason::BCFG_PROFILE_INVALID, at32(ref)};
  return kOk;
}

constexpr Check check_services(Bytes blob, const SectionSpans& s, StringCursor& strings) {
  const SectionSpan& rows = s[static_cast<std::size_t>(Section::SERVICES)];
  const SectionSpan& after = s[static_cast<std::size_t>(Section::AFTER)];
  const SectionSpan& peers = s[static_cast<std::size_t>(Section::PEERS)];
  std::size_t after_cursor = 0;
  std::size_t peer_cursor = 0;
  std::string_view previous{};
  for (std::size_t i = 0; i < rows.count; ++i) {
    const std::size_t row = rows.offset + i * kServiceRowSize;
    const Result<std::string_view> name = strings.take(row + kServiceNameOffset);
    if (!name) return name.error();
    if (!name_is_well_formed(*name))
      return {Reason::BCFG_SERVICE_NAME_INVALID, at32(row + kServiceNameOffset)};
    if (Check c = check_ascending(previous, *name, i == 0, row + kServiceNameOffset,
                                  Reason::BCFG_SERVICE_NAME_DUPLICATE, Reason::BCFG_SERVICE_ORDER);
        !ok(c)) {
      return c;
    }
    previous = *name;
    const Result<std::string_view> role = strings.take(row + kServiceRoleOffset);
    if (!role) return role.error();
    if (!name_is_well_formed(*role))
      return {Reason::BCFG_SERVICE_ROLE_INVALID, at32(row + kServiceRoleOffset)};
    const Result<std::string_view> image = strings.take(row + kServiceImageOffset);
    if (!image) return image.error();
    if (!name_is_well_formed(*image))
      return {Reason::BCFG_SERVICE_IMAGE_INVALID, at32(row + kServiceImageOffset)};
    if (byte_at(blob, row + kServiceLaunchOffset) >= kLaunchKindCount) {
      return {Reason::BCFG_SERVICE_LAUNCH_INVALID, at32(row + kServiceLaunchOffset)};
    }
    if (Check c = check_zero(blob, row + kServiceReservedOffset, kServiceReservedSize,
                             Reason::BCFG_SERVICE_RESERVED_NONZERO);
        !ok(c)) {
      return c;
    }
    if (Check c = check_edge_list(blob, row, kServiceAfterFirstOffset, kServiceAfterCountOffset,
                                  after, rows.count, after_cursor, kAfterReasons);
        !ok(c)) {
      return c;
    }
    if (Check c = check_edge_list(blob, row, kServicePeersFirstOffset, kServicePeersCountOffset,
                                  peers, rows.count, peer_cursor, kPeerReasons);
        !ok(c)) {
      return c;
    }
  }
  if (after_cursor != after.count) {
    return {Reason::BCFG_AFTER_EDGES_UNREFERENCED,
            at32(after.offset + after_cursor * kEdgeRowSize)};
  }
  if (peer_cursor != peers.count) {
    return {Reason::BCFG_PEER_EDGES_UNREFERENCED, at32(peers.offset + peer_cursor * kEdgeRowSize)};
  }
  return kOk;
}

constexpr Check check_service_ref(Bytes blob, std::size_t at, std::size_t service_count,
                                  bool optional, Reason reason) {
  const std::uint16_t index = load_le16(blob, at);
  if (optional && index == kNoIndex) return kOk;
  if (index >= service_count) return {reason, at32(at)};
  return kOk;
}

constexpr Check check_providers(Bytes blob, const SectionSpans& s, StringCursor& strings) {
  const SectionSpan& rows = s[static_cast<std::size_t>(Section::PROVIDERS)];
  const std::size_t services = s[static_cast<std::size_t>(Section::SERVICES)].count;
  std::string_view previous{};
  for (std::size_t i = 0; i < rows.count; ++i) {
    const std::size_t row = rows.offset + i * kProviderRowSize;
    const Result<std::string_view> name = strings.take(row + kProviderNameOffset);
    if (!name) return name.error();
    if (!name_is_well_formed(*name))
      return {Reason::BCFG_PROVIDER_NAME_INVALID, at32(row + kProviderNameOffset)};
    if (Check c =
            check_ascending(previous, *name, i == 0, row + kProviderNameOffset,
                            Reason::BCFG_PROVIDER_NAME_DUPLICATE, Reason::BCFG_PROVIDER_ORDER);
        !ok(c)) {
      return c;
    }
    previous = *name;
    if (Check c = check_service_ref(blob, row + kProviderServiceOffset, services, false,
                                    Reason::BCFG_PROVIDER_SERVICE_INDEX_OUT_OF_RANGE);
        !ok(c)) {
      return c;
    }
    if (Check c = check_service_ref(blob, row + kProviderBlockOffset, services, true,
                                    Reason::BCFG_PROVIDER_BLOCK_INDEX_OUT_OF_RANGE);
        !ok(c)) {
      return c;
    }
    if (Check c = check_service_ref(blob, row + kProviderKeyOffset, services, true,
                                    Reason::BCFG_PROVIDER_KEY_INDEX_OUT_OF_RANGE);
        !ok(c)) {
      return c;
    }
    if (Check c = check_zero(blob, row + kProviderReservedOffset, kProviderReservedSize,
                             Reason::BCFG_PROVIDER_RESERVED_NONZERO);
        !ok(c)) {
      return c;
    }
  }
  return kOk;
}

constexpr Check check_mounts(Bytes blob, const SectionSpans& s, StringCursor& strings) {
  const SectionSpan& rows = s[static_cast<std::size_t>(Section::MOUNTS)];
  const std::size_t providers = s[static_cast<std::size_t>(Section::PROVIDERS)].count;
  std::string_view previous{};
  for (std::size_t i = 0; i < rows.count; ++i) {
    const std::size_t row = rows.offset + i * kMountRowSize;
    const Result<std::string_view> path = strings.take(row + kMountPathOffset);
    if (!path) return path.error();
    if (!path_is_well_formed(*path))
      return {Reason::BCFG_MOUNT_PATH_INVALID, at32(row + kMountPathOffset)};
    if (Check c = check_ascending(previous, *path, i == 0, row + kMountPathOffset,
                                  Reason::BCFG_MOUNT_PATH_DUPLICATE, Reason::BCFG_MOUNT_ORDER);
        !ok(c)) {
      return c;
    }
    previous = *path;
    if (load_le16(blob, row + kMountProviderOffset) >= providers) {
      return {Reason::BCFG_MOUNT_PROVIDER_INDEX_OUT_OF_RANGE, at32(row + kMountProviderOffset)};
    }
    if (byte_at(blob, row + kMountReadOnlyOffset) > 1) {
      return {Reason::BCFG_MOUNT_READ_ONLY_INVALID, at32(row + kMountReadOnlyOffset)};
    }
    if (Check c = check_zero(blob, row + kMountReservedOffset, kMountReservedSize,
                             Reason::BCFG_MOUNT_RESERVED_NONZERO);
        !ok(c)) {
      return c;
    }
  }
  return kOk;
}

}  // namespace detail

// Structural validation. Work is linear in the blob size (sorted rows make
// uniqueness a neighbour check). On failure, Error.offset is the byte offset
// of the offending field (docs/erixbcfg-v1.md lists which field per reason).
constexpr Result<View> parse(Bytes blob) {
  if (Check c = detail::check_header(blob); !ok(c)) return c;
  const Result<detail::SectionSpans> spans = detail::check_sections(blob);
  if (!spans) return spans.error();
  const detail::SectionSpan& strings_span = (*spans)[static_cast<std::size_t>(Section::STRINGS)];
  detail::StringCursor strings{blob, strings_span.offset, strings_span.length, 0};
  if (Check c = detail::check_profile(*spans, strings); !ok(c)) return c;
  if (Check c = detail::check_services(blob, *spans, strings); !ok(c)) return c;
  if (Check c = detail::check_providers(blob, *spans, strings); !ok(c)) return c;
  if (Check c = detail::check_mounts(blob, *spans, strings); !ok(c)) return c;
  if (strings.used != strings.length) {
    return Error{Reason::BCFG_STRING_TABLE_SLACK, detail::at32(strings.base + strings.used)};
  }
  View view;
  view.blob_ = blob;
  for (std::size_t i = 0; i < kSectionCount; ++i) {
    view.offset_[i] = (*spans)[i].offset;
    view.count_[i] = (*spans)[i].count;
  }
  return view;
}

// ---- writer --------------------------------------------------------------------------

// References are by name; an empty optional reference means none.
struct ServiceDesc {
  std::string_view name, role, image;
  Launch launch = Launch::ROOTD;
  std::span<const std::string_view> after{}, peers{};
};
struct ProviderDesc {
  std::string_view name, service, block{}, key{};  // empty block/key = none
  std::uint32_t partition = kNoPartition;
};
struct MountDesc {
  std::string_view path, provider;
  bool read_only = false;
};
struct ConfigDesc {
  std::string_view profile = "none";
  std::span<const ServiceDesc> services{};
  std::span<const ProviderDesc> providers{};
  std::span<const MountDesc> mounts{};
};

namespace detail {

// In-place heap sort of indices: bounded O(n log n), no recursion, no heap.
template <class Less>
constexpr void heap_sort(std::span<std::uint16_t> items, Less less) {
  const auto sift_down = [&](std::size_t root, std::size_t end) {
    for (;;) {
      std::size_t child = 2 * root + 1;
      if (child >= end) return;
      if (child + 1 < end && less(items[child], items[child + 1])) ++child;
      if (!less(items[root], items[child])) return;
      std::swap(items[root], items[child]);
      root = child;
    }
  };
  const std::size_t n = items.size();
  for (std::size_t i = n / 2; i-- > 0;) sift_down(i, n);
  for (std::size_t end = n; end > 1; --end) {
    std::swap(items[0], items[end - 1]);
    sift_down(0, end - 1);
  }
}

// Binary search over n sorted keys; the position of `name` or kNoIndex.
template <class KeyAt>
constexpr std::uint16_t search_sorted(std::string_view name, std::size_t n, KeyAt key_at) {
  std::size_t lo = 0;
  std::size_t hi = n;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const int c = compare_bytes(key_at(mid), name);
    if (c == 0) return static_cast<std::uint16_t>(mid);
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return kNoIndex;
}

// Fills `order` with 0..n-1 sorted by key, then rejects equal neighbours,
// reporting the later declaration (the first one is the original).
template <class KeyOf>
constexpr Check sort_unique(std::span<std::uint16_t> order, KeyOf key_of, Reason duplicate) {
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint16_t>(i);
  heap_sort(order, [&](std::uint16_t a, std::uint16_t b) {
    return compare_bytes(key_of(a), key_of(b)) < 0;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (compare_bytes(key_of(order[k - 1]), key_of(order[k])) == 0) {
      return {duplicate, at32(order[k - 1] > order[k] ? order[k - 1] : order[k])};
    }
  }
  return kOk;
}

struct Layout {
  std::array<std::uint32_t, kSectionCount> offset{};
  std::array<std::uint32_t, kSectionCount> length{};
  std::array<std::uint32_t, kSectionCount> count{};
  std::size_t total = 0;
};

constexpr Layout layout_for(const std::array<std::size_t, kSectionCount>& counts) {
  Layout layout;
  std::size_t end = kFirstSectionOffset;
  for (std::size_t i = 0; i < kSectionCount; ++i) {
    const std::size_t offset = align_up(end);
    const std::size_t length = counts[i] * kSectionTable[i].row_size;
    layout.offset[i] = static_cast<std::uint32_t>(offset);
    layout.length[i] = static_cast<std::uint32_t>(length);
    layout.count[i] = static_cast<std::uint32_t>(counts[i]);
    end = offset + length;
  }
  layout.total = end;
  return layout;
}

constexpr std::size_t kMaxEdgeList =
    kMaxAfterEdges > kMaxPeerEdges ? kMaxAfterEdges : kMaxPeerEdges;

// Runs every writer check; stores bytes only when `emit` is set, so the same
// code decides both encoded_size() and write().
class Encoder {
 public:
  constexpr Encoder(const ConfigDesc& desc, MutableBytes out, bool emit)
      : desc_(desc), out_(out), emit_(emit) {}

  constexpr Result<std::size_t> run() {
    if (Check c = check_lists(); !ok(c)) return c;
    if (Check c = sort_rows(); !ok(c)) return c;
    std::array<std::size_t, kSectionCount> counts{};
    counts[index(Section::PROFILE)] = 1;
    counts[index(Section::SERVICES)] = desc_.services.size();
    counts[index(Section::AFTER)] = after_total_;
    counts[index(Section::PEERS)] = peer_total_;
    counts[index(Section::PROVIDERS)] = desc_.providers.size();
    counts[index(Section::MOUNTS)] = desc_.mounts.size();
    counts[index(Section::STRINGS)] = string_total_;
    layout_ = layout_for(counts);
    if (emit_) write_frame();
    if (Check c = write_rows(); !ok(c)) return c;
    if (emit_) store_le32(out_, kHeaderChecksumOffset, checksum(Bytes(out_.data(), layout_.total)));
    return layout_.total;
  }

 private:
  static constexpr std::size_t index(Section s) { return static_cast<std::size_t>(s); }

  // Limits first, so no later loop runs over an oversized input.
  constexpr Check check_lists() {
    if (desc_.services.size() > kMaxServices)
      return {Reason::BCFG_TOO_MANY_SERVICES, at32(kMaxServices)};
    if (desc_.providers.size() > kMaxProviders)
      return {Reason::BCFG_TOO_MANY_PROVIDERS, at32(kMaxProviders)};
    if (desc_.mounts.size() > kMaxMounts) return {Reason::BCFG_TOO_MANY_MOUNTS, at32(kMaxMounts)};
    if (!profile_is_well_formed(desc_.profile)) return {Reason::BCFG_PROFILE_INVALID, 0};
    string_total_ = desc_.profile.size();
    for (std::size_t i = 0; i < desc_.services.size(); ++i) {
      const ServiceDesc& s = desc_.services[i];
      if (!name_is_well_formed(s.name)) return {Reason::BCFG_SERVICE_NAME_INVALID, at32(i)};
      if (!name_is_well_formed(s.role)) return {Reason::BCFG_SERVICE_ROLE_INVALID, at32(i)};
      if (!name_is_well_formed(s.image)) return {Reason::BCFG_SERVICE_IMAGE_INVALID, at32(i)};
      if (static_cast<std::uint8_t>(s.launch) >= kLaunchKindCount) {
        return {Reason::BCFG_SERVICE_LAUNCH_INVALID, at32(i)};
      }
      if (s.after.size() > kMaxAfterEdges - after_total_)
        return {Reason::BCFG_TOO_MANY_AFTER_EDGES, at32(i)};
      if (s.peers.size() > kMaxPeerEdges - peer_total_)
        return {Reason::BCFG_TOO_MANY_PEER_EDGES, at32(i)};
      after_total_ += s.after.size();
      peer_total_ += s.peers.size();
      string_total_ += s.name.size() + s.role.size() + s.image.size();
    }
    for (std::size_t i = 0; i < desc_.providers.size(); ++i) {
      if (!name_is_well_formed(desc_.providers[i].name))
        return {Reason::BCFG_PROVIDER_NAME_INVALID, at32(i)};
      string_total_ += desc_.providers[i].name.size();
    }
    for (std::size_t i = 0; i < desc_.mounts.size(); ++i) {
      if (!path_is_well_formed(desc_.mounts[i].path))
        return {Reason::BCFG_MOUNT_PATH_INVALID, at32(i)};
      string_total_ += desc_.mounts[i].path.size();
    }
    return kOk;
  }

  constexpr Check sort_rows() {
    const std::span<std::uint16_t> services(service_order_.data(), desc_.services.size());
    if (Check c = sort_unique(
            services, [&](std::uint16_t i) { return desc_.services[i].name; },
            Reason::BCFG_SERVICE_NAME_DUPLICATE);
        !ok(c)) {
      return c;
    }
    const std::span<std::uint16_t> providers(provider_order_.data(), desc_.providers.size());
    if (Check c = sort_unique(
            providers, [&](std::uint16_t i) { return desc_.providers[i].name; },
            Reason::BCFG_PROVIDER_NAME_DUPLICATE);
        !ok(c)) {
      return c;
    }
    const std::span<std::uint16_t> mounts(mount_order_.data(), desc_.mounts.size());
    return sort_unique(
        mounts, [&](std::uint16_t i) { return desc_.mounts[i].path; },
        Reason::BCFG_MOUNT_PATH_DUPLICATE);
  }

  // Wire index (sorted position) of the service or provider with that name.
  constexpr std::uint16_t service_index(std::string_view name) const {
    return search_sorted(name, desc_.services.size(),
                         [&](std::size_t pos) { return desc_.services[service_order_[pos]].name; });
  }
  constexpr std::uint16_t provider_index(std::string_view name) const {
    return search_sorted(name, desc_.providers.size(), [&](std::size_t pos) {
      return desc_.providers[provider_order_[pos]].name;
    });
  }

  constexpr void write_frame() {
    for (std::size_t i = 0; i < layout_.total; ++i) out_[i] = 0;
    for (std::size_t i = 0; i < sizeof(kMagic); ++i) out_[kHeaderMagicOffset + i] = kMagic[i];
    store_le16(out_, kHeaderVersionOffset, kVersion);
    store_le16(out_, kHeaderSizeOffset, static_cast<std::uint16_t>(kHeaderSize));
    store_le32(out_, kHeaderTotalSizeOffset, static_cast<std::uint32_t>(layout_.total));
    store_le32(out_, kHeaderFlagsOffset, 0);
    store_le32(out_, kHeaderSectionCountOffset, static_cast<std::uint32_t>(kSectionCount));
    for (std::size_t i = 0; i < kSectionCount; ++i) {
      const std::size_t entry = kSectionTableOffset + i * kSectionEntrySize;
      store_le32(out_, entry + kSectionEntryTagOffset, section_tag_value(kSectionTable[i]));
      store_le32(out_, entry + kSectionEntryOffsetOffset, layout_.offset[i]);
      store_le32(out_, entry + kSectionEntryLengthOffset, layout_.length[i]);
      store_le32(out_, entry + kSectionEntryCountOffset, layout_.count[i]);
    }
  }

  constexpr void put16(std::size_t at, std::uint16_t v) {
    if (emit_) store_le16(out_, at, v);
  }
  constexpr void put32(std::size_t at, std::uint32_t v) {
    if (emit_) store_le32(out_, at, v);
  }
  constexpr void put_string(std::size_t ref, std::string_view s) {
    if (emit_) {
      store_le32(out_, ref + kStrRefOffsetOffset, static_cast<std::uint32_t>(string_used_));
      store_le32(out_, ref + kStrRefLengthOffset, static_cast<std::uint32_t>(s.size()));
      const std::size_t at = layout_.offset[index(Section::STRINGS)] + string_used_;
      for (std::size_t i = 0; i < s.size(); ++i) out_[at + i] = s[i];
    }
    string_used_ += s.size();
  }

  constexpr Check put_edges(std::span<const std::string_view> names, std::size_t row,
                            std::size_t first_field, std::size_t count_field, Section section,
                            std::size_t& cursor, Reason duplicate, std::uint16_t declared) {
    const std::span<std::uint16_t> targets(edge_scratch_.data(), names.size());
    for (std::size_t k = 0; k < names.size(); ++k) {
      targets[k] = service_index(names[k]);
      if (targets[k] == kNoIndex) return {Reason::BCFG_WRITE_UNKNOWN_SERVICE, at32(declared)};
    }
    heap_sort(targets, [](std::uint16_t a, std::uint16_t b) { return a < b; });
    for (std::size_t k = 1; k < targets.size(); ++k) {
      if (targets[k] == targets[k - 1]) return {duplicate, at32(declared)};
    }
    put32(row + first_field, static_cast<std::uint32_t>(cursor));
    put16(row + count_field, static_cast<std::uint16_t>(targets.size()));
    for (std::size_t k = 0; k < targets.size(); ++k) {
      put16(layout_.offset[index(section)] + (cursor + k) * kEdgeRowSize, targets[k]);
    }
    cursor += targets.size();
    return kOk;
  }

  constexpr Check write_rows() {
    put_string(layout_.offset[index(Section::PROFILE)] + kProfileNameOffset, desc_.profile);
    std::size_t after_cursor = 0;
    std::size_t peer_cursor = 0;
    for (std::size_t pos = 0; pos < desc_.services.size(); ++pos) {
      const std::uint16_t declared = service_order_[pos];
      const ServiceDesc& s = desc_.services[declared];
      const std::size_t row = layout_.offset[index(Section::SERVICES)] + pos * kServiceRowSize;
      put_string(row + kServiceNameOffset, s.name);
      put_string(row + kServiceRoleOffset, s.role);
      put_string(row + kServiceImageOffset, s.image);
      if (emit_) out_[row + kServiceLaunchOffset] = static_cast<char>(s.launch);
      if (Check c = put_edges(s.after, row, kServiceAfterFirstOffset, kServiceAfterCountOffset,
                              Section::AFTER, after_cursor, Reason::BCFG_AFTER_DUPLICATE, declared);
          !ok(c)) {
        return c;
      }
      if (Check c = put_edges(s.peers, row, kServicePeersFirstOffset, kServicePeersCountOffset,
                              Section::PEERS, peer_cursor, Reason::BCFG_PEER_DUPLICATE, declared);
          !ok(c)) {
        return c;
      }
    }
    for (std::size_t pos = 0; pos < desc_.providers.size(); ++pos) {
      const std::uint16_t declared = provider_order_[pos];
      const ProviderDesc& p = desc_.providers[declared];
      const std::size_t row = layout_.offset[index(Section::PROVIDERS)] + pos * kProviderRowSize;
      put_string(row + kProviderNameOffset, p.name);
      const std::uint16_t service = service_index(p.service);
      const std::uint16_t block = p.block.empty() ? kNoIndex : service_index(p.block);
      const std::uint16_t key = p.key.empty() ? kNoIndex : service_index(p.key);
      if (service == kNoIndex || (block == kNoIndex && !p.block.empty()) ||
          (key == kNoIndex && !p.key.empty())) {
        return {Reason::BCFG_WRITE_UNKNOWN_SERVICE, at32(declared)};
      }
      put16(row + kProviderServiceOffset, service);
      put16(row + kProviderBlockOffset, block);
      put16(row + kProviderKeyOffset, key);
      put32(row + kProviderPartitionOffset, p.partition);
    }
    for (std::size_t pos = 0; pos < desc_.mounts.size(); ++pos) {
      const std::uint16_t declared = mount_order_[pos];
      const MountDesc& m = desc_.mounts[declared];
      const std::size_t row = layout_.offset[index(Section::MOUNTS)] + pos * kMountRowSize;
      put_string(row + kMountPathOffset, m.path);
      const std::uint16_t provider = provider_index(m.provider);
      if (provider == kNoIndex) return {Reason::BCFG_WRITE_UNKNOWN_PROVIDER, at32(declared)};
      put16(row + kMountProviderOffset, provider);
      if (emit_) out_[row + kMountReadOnlyOffset] = static_cast<char>(m.read_only ? 1 : 0);
    }
    return kOk;
  }

  const ConfigDesc& desc_;
  MutableBytes out_;
  bool emit_;
  std::size_t after_total_ = 0;
  std::size_t peer_total_ = 0;
  std::size_t string_total_ = 0;
  std::size_t string_used_ = 0;
  Layout layout_{};
  std::array<std::uint16_t, kMaxServices> service_order_{};  // wire position -> declaration index
  std::array<std::uint16_t, kMaxProviders> provider_order_{};
  std::array<std::uint16_t, kMaxMounts> mount_order_{};
  std::array<std::uint16_t, kMaxEdgeList> edge_scratch_{};  // one edge list at a time
};

}  // namespace detail

// Size of the blob write() produces, or the error it would report (any but
// BCFG_WRITE_BUFFER_TOO_SMALL). Error.offset is the declaration index of the
// offending service, provider or mount (for list-size limits: the index at
// which the limit was crossed), 0 for the profile.
constexpr Result<std::size_t> encoded_size(const ConfigDesc& desc) {
  detail::Encoder encoder(desc, {}, false);
  return encoder.run();
}

// Writes the canonical blob into out[0, size) and returns size. The writer
// refuses exactly what parse() would reject, with the same reason codes;
// BCFG_WRITE_UNKNOWN_SERVICE / _PROVIDER for a reference to no declared name,
// BCFG_WRITE_BUFFER_TOO_SMALL (offset = bytes needed) before touching `out`.
// Nothing is written unless the whole description is valid. Uses about
// 21 KiB of stack for fixed sort scratch (kMaxServices and edge-list indices);
// rootd itself only parses.
constexpr Result<std::size_t> write(const ConfigDesc& desc, MutableBytes out) {
  const Result<std::size_t> size = encoded_size(desc);
  if (!size) return size;
  if (out.size() < *size) return Error{Reason::BCFG_WRITE_BUFFER_TOO_SMALL, detail::at32(*size)};
  detail::Encoder encoder(desc, out, true);
  return encoder.run();
}

// ---- decode: View back to a ConfigDesc -----------------------------------------------

// Caller-provided arrays (there is no heap). Sizes needed: service_count(),
// provider_count(), mount_count(), after_edge_count(), peer_edge_count().
struct DecodeStorage {
  std::span<ServiceDesc> services{};
  std::span<ProviderDesc> providers{};
  std::span<MountDesc> mounts{};
  std::span<std::string_view> after{};  // one service name per `after` entry
  std::span<std::string_view> peers{};
};

// The result refers to `storage` and to the View's blob; write() of it
// reproduces view.bytes() exactly. Fails only with
// BCFG_DECODE_STORAGE_TOO_SMALL (offset = the section that does not fit).
constexpr Result<ConfigDesc> decode(const View& view, const DecodeStorage& storage) {
  const std::pair<std::size_t, std::size_t> needs[] = {
      {view.service_count(), storage.services.size()},
      {view.after_edge_count(), storage.after.size()},
      {view.peer_edge_count(), storage.peers.size()},
      {view.provider_count(), storage.providers.size()},
      {view.mount_count(), storage.mounts.size()},
  };
  const Section sections[] = {Section::SERVICES, Section::AFTER, Section::PEERS, Section::PROVIDERS,
                              Section::MOUNTS};
  for (std::size_t i = 0; i < 5; ++i) {
    if (needs[i].first > needs[i].second) {
      return Error{Reason::BCFG_DECODE_STORAGE_TOO_SMALL, view.section_offset(sections[i])};
    }
  }
  std::size_t after_used = 0;
  std::size_t peers_used = 0;
  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const Service s = view.service(i);
    const IndexList after = view.after(i);
    const IndexList peers = view.peers(i);
    for (std::size_t k = 0; k < after.size(); ++k)
      storage.after[after_used + k] = view.service(after[k]).name;
    for (std::size_t k = 0; k < peers.size(); ++k)
      storage.peers[peers_used + k] = view.service(peers[k]).name;
    ServiceDesc& d = storage.services[i];
    d.name = s.name;
    d.role = s.role;
    d.image = s.image;
    d.launch = s.launch;
    d.after = std::span<const std::string_view>(storage.after.data() + after_used, after.size());
    d.peers = std::span<const std::string_view>(storage.peers.data() + peers_used, peers.size());
    after_used += after.size();
    peers_used += peers.size();
  }
  for (std::size_t i = 0; i < view.provider_count(); ++i) {
    const Provider p = view.provider(i);
    ProviderDesc& d = storage.providers[i];
    d.name = p.name;
    d.service = view.service(p.service).name;
    d.block = p.block == kNoIndex ? std::string_view{} : view.service(p.block).name;
    d.key = p.key == kNoIndex ? std::string_view{} : view.service(p.key).name;
    d.partition = p.partition;
  }
  for (std::size_t i = 0; i < view.mount_count(); ++i) {
    const Mount m = view.mount(i);
    MountDesc& d = storage.mounts[i];
    d.path = m.path;
    d.provider = view.provider(m.provider).name;
    d.read_only = m.read_only;
  }
  ConfigDesc config;
  config.profile = view.profile();
  config.services = std::span<const ServiceDesc>(storage.services.data(), view.service_count());
  config.providers = std::span<const ProviderDesc>(storage.providers.data(), view.provider_count());
  config.mounts = std::span<const MountDesc>(storage.mounts.data(), view.mount_count());
  return config;
}

}  // namespace rootd::bcfg
