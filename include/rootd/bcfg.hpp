// ERIXBCFG v1: the parser (structural validation) and the validated View, the
// entry point for everything that reads a boot config. The wire layout is
// bcfg_wire.hpp; the writer (bcfg_writer.hpp) and the decoder
// (bcfg_decode.hpp) are host-side and never part of rootd's image.
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
// at the next 8-byte boundary with zero padding. So decode() then write()
// reproduces the input byte for byte, and two descriptions that differ only
// in declaration order encode identically.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/bcfg_wire.hpp"
#include "rootd/bytes.hpp"
#include "rootd/names.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::bcfg {

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
    const std::size_t rows = count(s);
    const std::size_t at = find_sorted(
        name, rows, [&](std::size_t i) { return string_at(offset(s) + i * row_size + field); });
    return at == rows ? kNoIndex : static_cast<std::uint16_t>(at);
  }

  Bytes blob_{};
  std::array<std::uint32_t, kSectionCount> offset_{};
  std::array<std::uint32_t, kSectionCount> count_{};
};

// ---- parser ------------------------------------------------------------------------

namespace detail {

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
    if (const std::size_t nonzero = first_nonzero(blob, end, expected - end); nonzero != expected)
      return Error{Reason::BCFG_PADDING_NONZERO, at32(nonzero)};
    spans[i] = {static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(length),
                static_cast<std::uint32_t>(count)};
    end = static_cast<std::size_t>(offset + length);
  }
  if (end != blob.size()) return Error{Reason::BCFG_TRAILING_BYTES, at32(end)};
  return spans;
}

// Walks the string references in canonical order: each must start where the
// previous one ended, and together they must cover the table exactly. So
// every name (profile, services, providers) precedes the first mount path,
// and one scan for name_end, the table's first byte outside the name
// alphabet, settles all their bytes: a name just taken is well formed when
// it has 1..max bytes and ends by name_end, everything before it having
// passed already (docs/erixbcfg-v1.md, "Parse cost").
struct StringCursor {
  constexpr StringCursor(Bytes blob_in, std::size_t base_in, std::size_t length_in)
      : blob(blob_in),
        base(base_in),
        length(length_in),
        name_end(first_non_name_char(Bytes(blob_in.data() + base_in, length_in))) {}

  Bytes blob;
  std::size_t base = 0;
  std::size_t length = 0;
  std::size_t used = 0;
  std::size_t name_end = 0;

  // Same verdict as is_name_text(last string taken, max_length).
  constexpr bool last_is_name(std::string_view taken, std::size_t max_length) const {
    return !taken.empty() && taken.size() <= max_length && used <= name_end;
  }

  // Always inlined, like check_edge_list: out of line (GCC did that in the
  // benchmark build) the calls per service row cost a fifth of the parse.
  [[gnu::always_inline]] constexpr Result<std::string_view> take(std::size_t ref) {
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
  const std::size_t nonzero = first_nonzero(blob, at, size);
  if (nonzero != at + size) return {reason, at32(nonzero)};
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
[[gnu::always_inline]] constexpr Check check_edge_list(
    Bytes blob, std::size_t row, std::size_t first_field, std::size_t count_field,
    const SectionSpan& section, std::size_t service_count, std::size_t& cursor,
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
  if (!strings.last_is_name(*name, kMaxProfileLength))
    return {Reason::BCFG_PROFILE_INVALID, at32(ref)};
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
    if (!strings.last_is_name(*name, kMaxNameLength))
      return {Reason::BCFG_SERVICE_NAME_INVALID, at32(row + kServiceNameOffset)};
    if (Check c = check_ascending(previous, *name, i == 0, row + kServiceNameOffset,
                                  Reason::BCFG_SERVICE_NAME_DUPLICATE, Reason::BCFG_SERVICE_ORDER);
        !ok(c)) {
      return c;
    }
    previous = *name;
    const Result<std::string_view> role = strings.take(row + kServiceRoleOffset);
    if (!role) return role.error();
    if (!strings.last_is_name(*role, kMaxNameLength))
      return {Reason::BCFG_SERVICE_ROLE_INVALID, at32(row + kServiceRoleOffset)};
    const Result<std::string_view> image = strings.take(row + kServiceImageOffset);
    if (!image) return image.error();
    if (!strings.last_is_name(*image, kMaxNameLength))
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
    if (!strings.last_is_name(*name, kMaxNameLength))
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
  detail::StringCursor strings(blob, strings_span.offset, strings_span.length);
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

}  // namespace rootd::bcfg
