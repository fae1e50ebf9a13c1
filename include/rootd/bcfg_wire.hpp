// ERIXBCFG v1 on the wire: limits, the byte layout, the section table, name
// syntax and the checksum. docs/erixbcfg-v1.md is the byte-level
// specification; the offset constants below are its single source of truth.
// The parser (bcfg.hpp), the writer (bcfg_writer.hpp) and the decoder
// (bcfg_decode.hpp) all build on this header and on nothing of each other's
// but the View.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/bytes.hpp"
#include "rootd/names.hpp"
#include "rootd/status.hpp"

namespace rootd::bcfg {

// ---- limits ------------------------------------------------------------------

inline constexpr std::size_t kMaxServices = 2048;
inline constexpr std::size_t kMaxAfterEdges = 8192;  // total `after` entries
inline constexpr std::size_t kMaxPeerEdges = 8192;   // total `peers` entries
inline constexpr std::size_t kMaxProviders = 32;
inline constexpr std::size_t kMaxMounts = 32;
inline constexpr std::size_t kMaxNameLength = 31;  // names: 1..31 of [a-z0-9-]
// Profile ids are longer than names: the seed's phase profiles include
// "phase4-loader-materialized-launch" (33 bytes).
inline constexpr std::size_t kMaxProfileLength = 63;  // profile ids: 1..63 of [a-z0-9-]
inline constexpr std::size_t kMaxPathLength = 255;    // mount paths
inline constexpr std::uint16_t kNoIndex = 0xFFFF;
inline constexpr std::uint32_t kNoPartition = 0xFFFFFFFF;

// Every string the rows can reference, each at its longest: the profile, three
// per service (name, role, image), one per provider, one path per mount.
inline constexpr std::size_t kMaxStringBytes = kMaxProfileLength +
                                               kMaxNameLength * (3 * kMaxServices + kMaxProviders) +
                                               kMaxPathLength * kMaxMounts;

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

constexpr bool name_is_well_formed(std::string_view name) {
  return is_name_text(name, kMaxNameLength);
}
// "none" or a profile id: 1..63 of [a-z0-9-].
constexpr bool profile_is_well_formed(std::string_view id) {
  return is_name_text(id, kMaxProfileLength);
}

// Structural only: 1..255 graphic ASCII bytes (0x21..0x7E). Normalization
// ("/" rooted, no "//", no "." or ".." segments) is the policy layer's.
constexpr bool path_is_well_formed(std::string_view path) {
  return is_graphic_text(path, kMaxPathLength);
}

// The canonical order of names and paths (names.hpp), under the name the
// policy layer and the tools know it by.
using rootd::compare_bytes;

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

namespace detail {
constexpr std::uint32_t at32(std::size_t v) { return static_cast<std::uint32_t>(v); }

constexpr std::size_t align_up(std::size_t v) {
  return (v + kSectionAlignment - 1) & ~(kSectionAlignment - 1);
}
}  // namespace detail

}  // namespace rootd::bcfg
