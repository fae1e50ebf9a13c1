#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rootd/bcfg.hpp"
#include "rootd/bcfg_decode.hpp"
#include "rootd/bcfg_writer.hpp"

namespace bc = rootd::bcfg;
using rootd::Bytes;
using rootd::Error;
using rootd::Reason;

namespace {

// ---- the embedded config: written at compile time, validated by static_assert ----

// Declared out of order on purpose; odd edge, provider and mount counts leave
// padding in front of PER1, PRV1, MNT1 and STR1.
constexpr std::string_view kVfsdAfter[] = {"procd", "logd", "e2fsd"};
constexpr std::string_view kVfsdPeers[] = {"procd", "e2fsd"};
constexpr std::string_view kE2fsdAfter[] = {"blockd"};
constexpr std::string_view kE2fsdPeers[] = {"blockd"};
constexpr std::string_view kSvcBAfter[] = {"svc-a"};

constexpr bc::ServiceDesc kServices[] = {
    {.name = "vfsd", .role = "vfsd", .image = "vfsd", .after = kVfsdAfter, .peers = kVfsdPeers},
    {.name = "svc-b", .role = "service", .image = "svc-b", .after = kSvcBAfter},
    {.name = "logd", .role = "logd", .image = "logd"},
    {.name = "e2fsd",
     .role = "e2fsd",
     .image = "e2fsd",
     .after = kE2fsdAfter,
     .peers = kE2fsdPeers},
    {.name = "blockd",
     .role = "drv-virtio-block",
     .image = "drv-virtio-block",
     .launch = bc::Launch::DEVICED},
    {.name = "procd", .role = "procd", .image = "procd"},
    {.name = "svc-a", .role = "service", .image = "svc-a"},
    {.name = "keyd", .role = "keyd", .image = "keyd"},
    {.name = "ramfsd", .role = "ramfsd", .image = "ramfsd"},
};
constexpr bc::ProviderDesc kProviders[] = {
    {.name = "disk-b", .service = "e2fsd", .block = "blockd", .key = "keyd", .partition = 2},
    {.name = "ram", .service = "ramfsd"},
    {.name = "disk-a", .service = "e2fsd", .block = "blockd", .partition = 1},
};
constexpr bc::MountDesc kMounts[] = {
    {.path = "/mnt/b", .provider = "ram"},
    {.path = "/", .provider = "disk-a"},
    {.path = "/mnt/a", .provider = "disk-b", .read_only = true},
};
constexpr bc::ConfigDesc kConfig{
    .profile = "none", .services = kServices, .providers = kProviders, .mounts = kMounts};

constexpr std::size_t kBlobSize = *bc::encoded_size(kConfig);

constexpr std::array<char, kBlobSize> make_blob() {
  std::array<char, kBlobSize> out{};
  // Dereferencing a failed Result is not a constant expression: a writer
  // error fails the build here.
  if (*bc::write(kConfig, out) != kBlobSize) out[0] = 'X';
  return out;
}
constexpr std::array<char, kBlobSize> kBlob = make_blob();
constexpr Bytes kBytes(kBlob);

static_assert(bc::parse(kBytes).ok(), "the embedded config validates at compile time");
constexpr bc::View kView = *bc::parse(kBytes);

constexpr std::uint32_t at_of(std::string_view s) {
  return static_cast<std::uint32_t>(s.data() - kBlob.data());
}

// Views see what was declared, in canonical order.
constexpr std::size_t kBlockd = kView.find_service("blockd");
constexpr std::size_t kE2fsd = kView.find_service("e2fsd");
constexpr std::size_t kKeyd = kView.find_service("keyd");
constexpr std::size_t kLogd = kView.find_service("logd");
constexpr std::size_t kProcd = kView.find_service("procd");
constexpr std::size_t kSvcA = kView.find_service("svc-a");
constexpr std::size_t kSvcB = kView.find_service("svc-b");
constexpr std::size_t kVfsd = kView.find_service("vfsd");

static_assert(kView.profile() == "none");
static_assert(kView.service_count() == 9 && kView.provider_count() == 3 &&
              kView.mount_count() == 3);
static_assert(kView.after_edge_count() == 5 && kView.peer_edge_count() == 3);
static_assert(kBlockd == 0 && kE2fsd == 1 && kKeyd == 2 && kLogd == 3 && kProcd == 4 &&
              kSvcA == 6 && kSvcB == 7 && kVfsd == 8);
static_assert(kView.find_service("absent") == bc::kNoIndex &&
              kView.find_service("") == bc::kNoIndex);
static_assert(kView.service(kBlockd).role == "drv-virtio-block" &&
              kView.service(kBlockd).launch == bc::Launch::DEVICED);
static_assert(kView.service(kVfsd).launch == bc::Launch::ROOTD);
static_assert(kView.after(kVfsd).size() == 3 && kView.after(kVfsd)[0] == kE2fsd &&
              kView.after(kVfsd)[1] == kLogd && kView.after(kVfsd)[2] == kProcd);
static_assert(kView.peers(kVfsd).size() == 2 && kView.peers(kVfsd)[0] == kE2fsd &&
              kView.peers(kVfsd)[1] == kProcd);
static_assert(kView.after(kSvcB).size() == 1 && kView.after(kSvcB)[0] == kSvcA);
static_assert(kView.after(kLogd).empty() && kView.peers(kLogd).empty());
static_assert(kView.after(kVfsd)[3] == bc::kNoIndex,
              "past the end reads kNoIndex, not the next list");
static_assert(kView.find_provider("disk-a") == 0 && kView.find_provider("disk-b") == 1 &&
              kView.find_provider("ram") == 2);
static_assert(kView.provider(1).service == kE2fsd && kView.provider(1).block == kBlockd &&
              kView.provider(1).key == kKeyd && kView.provider(1).partition == 2);
static_assert(kView.provider(2).block == bc::kNoIndex && kView.provider(2).key == bc::kNoIndex &&
              kView.provider(2).partition == bc::kNoPartition);
static_assert(kView.mount(0).path == "/" && kView.mount(0).provider == 0 &&
              !kView.mount(0).read_only);
static_assert(kView.mount(1).path == "/mnt/a" && kView.mount(1).provider == 1 &&
              kView.mount(1).read_only);
static_assert(kView.mount(2).path == "/mnt/b" && kView.mount(2).provider == 2);
static_assert(kView.service(99).name.empty() && kView.after(99).empty() &&
              kView.mount(99).path.empty());
static_assert(bc::View{}.profile().empty() && bc::View{}.service_count() == 0);

constexpr bool range_for_matches_indexing() {
  std::size_t k = 0;
  for (std::uint16_t target : kView.after(kVfsd)) {
    if (target != kView.after(kVfsd)[k++]) return false;
  }
  return k == 3;
}
static_assert(range_for_matches_indexing());

// Layout facts the corruption table relies on: each padding run exists.
static_assert(kView.section_offset(bc::Section::PROFILE) == bc::kFirstSectionOffset);
static_assert(kView.section_offset(bc::Section::PEERS) >
              kView.section_offset(bc::Section::AFTER) + 5 * bc::kEdgeRowSize);

// Syntax tables.
static_assert(bc::name_is_well_formed("a") && bc::name_is_well_formed("drv-ps2-kbd") &&
              bc::name_is_well_formed("0123456789abcdefghijklmnopqrstu"));
static_assert(!bc::name_is_well_formed("") &&
              !bc::name_is_well_formed("0123456789abcdefghijklmnopqrstuv") &&
              !bc::name_is_well_formed("Vfsd") && !bc::name_is_well_formed("a_b") &&
              !bc::name_is_well_formed("a b") && !bc::name_is_well_formed("a.b"));
static_assert(bc::path_is_well_formed("/") && bc::path_is_well_formed("/a/~b!"));
static_assert(!bc::path_is_well_formed("") && !bc::path_is_well_formed("/a b") &&
              !bc::path_is_well_formed("/a\x7f") &&
              !bc::path_is_well_formed(std::string_view("/\0", 2)));
static_assert(bc::compare_bytes("a", "b") < 0 && bc::compare_bytes("b", "a") > 0 &&
              bc::compare_bytes("ab", "ab") == 0);
static_assert(bc::compare_bytes("a", "ab") < 0 && bc::compare_bytes("", "a") < 0 &&
                  bc::compare_bytes("\xff", "a") > 0,
              "unsigned bytes, prefix first");

// ---- decode and declaration order, at compile time ----

template <std::size_t S, std::size_t E, std::size_t P, std::size_t M>
struct Storage {
  std::array<bc::ServiceDesc, S> services{};
  std::array<std::string_view, E> after{};
  std::array<std::string_view, E> peers{};
  std::array<bc::ProviderDesc, P> providers{};
  std::array<bc::MountDesc, M> mounts{};
  constexpr bc::DecodeStorage view() { return {services, providers, mounts, after, peers}; }
};

constexpr bool decode_rewrites_identically() {
  Storage<9, 5, 3, 3> storage;
  const rootd::Result<bc::ConfigDesc> desc = bc::decode(kView, storage.view());
  if (!desc) return false;
  std::array<char, kBlobSize> again{};
  const rootd::Result<std::size_t> n = bc::write(*desc, again);
  return n.ok() && *n == kBlobSize && again == kBlob;
}
static_assert(decode_rewrites_identically());

constexpr Error decode_error(std::size_t drop) {
  Storage<9, 5, 3, 3> full;
  bc::DecodeStorage s = full.view();
  if (drop == 0) s.services = s.services.first(8);
  if (drop == 1) s.after = s.after.first(4);
  if (drop == 2) s.peers = s.peers.first(2);
  if (drop == 3) s.providers = s.providers.first(2);
  if (drop == 4) s.mounts = s.mounts.first(2);
  return bc::decode(kView, s).error();
}
static_assert(decode_error(0) == Error{Reason::BCFG_DECODE_STORAGE_TOO_SMALL,
                                       kView.section_offset(bc::Section::SERVICES)});
static_assert(decode_error(1) == Error{Reason::BCFG_DECODE_STORAGE_TOO_SMALL,
                                       kView.section_offset(bc::Section::AFTER)});
static_assert(decode_error(2) == Error{Reason::BCFG_DECODE_STORAGE_TOO_SMALL,
                                       kView.section_offset(bc::Section::PEERS)});
static_assert(decode_error(3) == Error{Reason::BCFG_DECODE_STORAGE_TOO_SMALL,
                                       kView.section_offset(bc::Section::PROVIDERS)});
static_assert(decode_error(4) == Error{Reason::BCFG_DECODE_STORAGE_TOO_SMALL,
                                       kView.section_offset(bc::Section::MOUNTS)});

// The same config declared in reverse, lists reversed too: same bytes.
template <class T, std::size_t N>
constexpr std::array<T, N> reversed(const T (&in)[N]) {
  std::array<T, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = in[N - 1 - i];
  return out;
}
constexpr auto kVfsdAfterReversed = reversed(kVfsdAfter);
constexpr auto kVfsdPeersReversed = reversed(kVfsdPeers);
constexpr bool declaration_order_does_not_matter() {
  std::array<bc::ServiceDesc, 9> services = reversed(kServices);
  for (bc::ServiceDesc& s : services) {
    if (s.name == "vfsd") {
      s.after = kVfsdAfterReversed;
      s.peers = kVfsdPeersReversed;
    }
  }
  const std::array<bc::ProviderDesc, 3> providers = reversed(kProviders);
  const std::array<bc::MountDesc, 3> mounts = reversed(kMounts);
  std::array<char, kBlobSize> out{};
  const rootd::Result<std::size_t> n = bc::write({"none", services, providers, mounts}, out);
  return n.ok() && out == kBlob;
}
static_assert(declaration_order_does_not_matter());

constexpr bool empty_config_round_trips() {
  constexpr bc::ConfigDesc empty{};
  std::array<char, 256> out{};
  const rootd::Result<std::size_t> n = bc::write(empty, out);
  if (!n) return false;
  const rootd::Result<bc::View> view = bc::parse(Bytes(out.data(), *n));
  return view.ok() && view->profile() == "none" && view->service_count() == 0 &&
         view->provider_count() == 0 && view->mount_count() == 0 && *n == *bc::encoded_size(empty);
}
static_assert(empty_config_round_trips());

// ---- malformed blobs and the reason each must give ----

struct Patch {
  std::uint32_t at = 0;
  std::uint32_t size = 0;  // 0 (none), 1, 2 or 4 bytes
  std::uint32_t value = 0;
};

inline constexpr std::size_t kKeepSize = ~std::size_t{0};

struct Corruption {
  std::string_view what;
  Reason expected;
  std::uint32_t expected_at;
  std::array<Patch, 2> patches{};
  std::size_t resize = kKeepSize;  // a larger size appends zero bytes
  bool fix_total = false;          // rewrite total_size to the new size
  bool fix_checksum = true;        // recompute so the structural check is reached
};

constexpr std::size_t kSlack = 16;
using Buffer = std::array<char, kBlobSize + kSlack>;

constexpr Buffer corrupted(const Corruption& c, std::size_t& size) {
  Buffer buf{};
  for (std::size_t i = 0; i < kBlobSize; ++i) buf[i] = kBlob[i];
  size = c.resize == kKeepSize ? kBlobSize : c.resize;
  for (const Patch& p : c.patches) {
    for (std::uint32_t i = 0; i < p.size; ++i)
      buf[p.at + i] = static_cast<char>((p.value >> (8 * i)) & 0xFFU);
  }
  if (c.fix_total && size >= bc::kHeaderSize)
    rootd::store_le32(buf, bc::kHeaderTotalSizeOffset, static_cast<std::uint32_t>(size));
  if (c.fix_checksum && size >= bc::kHeaderSize) {
    rootd::store_le32(buf, bc::kHeaderChecksumOffset, bc::checksum(Bytes(buf.data(), size)));
  }
  return buf;
}

constexpr Error parse_corrupted(const Corruption& c) {
  std::size_t size = 0;
  const Buffer buf = corrupted(c, size);
  return bc::parse(Bytes(buf.data(), size)).error();
}

constexpr std::uint32_t entry(bc::Section s, std::size_t field) {
  return static_cast<std::uint32_t>(bc::kSectionTableOffset +
                                    static_cast<std::size_t>(s) * bc::kSectionEntrySize + field);
}
constexpr std::uint32_t entry_value(bc::Section s, std::size_t field) {
  return rootd::load_le32(kBytes, entry(s, field));
}
constexpr std::uint32_t tag(bc::Section s) { return bc::section_tag_value(bc::section_info(s)); }
constexpr Patch set_entry(bc::Section s, std::size_t field, std::uint32_t v) {
  return {entry(s, field), 4, v};
}
constexpr std::array<Patch, 2> set_count(bc::Section s, std::uint32_t rows) {
  return {set_entry(s, bc::kSectionEntryCountOffset, rows),
          set_entry(s, bc::kSectionEntryLengthOffset,
                    static_cast<std::uint32_t>(rows * bc::section_info(s).row_size))};
}
constexpr std::uint32_t svc(std::size_t i, std::size_t field) {
  return kView.service_offset(i) + static_cast<std::uint32_t>(field);
}
constexpr std::uint32_t prv(std::size_t i, std::size_t field) {
  return kView.provider_offset(i) + static_cast<std::uint32_t>(field);
}
constexpr std::uint32_t mnt(std::size_t i, std::size_t field) {
  return kView.mount_offset(i) + static_cast<std::uint32_t>(field);
}
constexpr std::uint32_t u32_at(std::uint32_t at) { return rootd::load_le32(kBytes, at); }

constexpr std::uint32_t kAfterEnd = kView.section_offset(bc::Section::AFTER) + 5 * bc::kEdgeRowSize;
constexpr std::uint32_t kStringsEnd = static_cast<std::uint32_t>(kBlobSize);
constexpr std::uint32_t kVfsdAfterAt = kView.after_offset(kVfsd);
constexpr std::uint32_t kVfsdPeersAt = kView.peers_offset(kVfsd);

using S = bc::Section;

constexpr Corruption kCorruptions[] = {
    // header
    {"shorter than a header",
     Reason::BCFG_TRUNCATED_HEADER,
     0,
     {},
     bc::kHeaderSize - 1,
     false,
     false},
    {"empty input", Reason::BCFG_TRUNCATED_HEADER, 0, {}, 0, false, false},
    {"magic", Reason::BCFG_BAD_MAGIC, 3, {Patch{3, 1, 'x'}}},
    {"version 2", Reason::BCFG_UNSUPPORTED_VERSION, 8, {Patch{8, 2, 2}}},
    {"version 0", Reason::BCFG_UNSUPPORTED_VERSION, 8, {Patch{8, 2, 0}}},
    {"header size", Reason::BCFG_HEADER_SIZE_INVALID, 10, {Patch{10, 2, 48}}},
    {"total size larger", Reason::BCFG_TOTAL_SIZE_MISMATCH, 12, {Patch{12, 4, kBlobSize + 1}}},
    {"total size smaller", Reason::BCFG_TOTAL_SIZE_MISMATCH, 12, {Patch{12, 4, kBlobSize - 8}}},
    {"blob with a tail", Reason::BCFG_TOTAL_SIZE_MISMATCH, 12, {}, kBlobSize + 8},
    {"checksum field",
     Reason::BCFG_CHECKSUM_MISMATCH,
     16,
     {Patch{16, 1, 0x5A}},
     kKeepSize,
     false,
     false},
    {"last string byte",
     Reason::BCFG_CHECKSUM_MISMATCH,
     16,
     {Patch{kStringsEnd - 1, 1, 'z'}},
     kKeepSize,
     false,
     false},
    {"flag bit 0", Reason::BCFG_UNKNOWN_FLAGS, 20, {Patch{20, 4, 1}}},
    {"flag bit 31", Reason::BCFG_UNKNOWN_FLAGS, 20, {Patch{20, 4, 0x80000000U}}},
    {"8 sections", Reason::BCFG_SECTION_COUNT_INVALID, 24, {Patch{24, 4, 8}}},
    {"6 sections", Reason::BCFG_SECTION_COUNT_INVALID, 24, {Patch{24, 4, 6}}},
    {"header reserved", Reason::BCFG_HEADER_RESERVED_NONZERO, 28, {Patch{31, 1, 1}}},
    {"table cut short",
     Reason::BCFG_SECTION_TABLE_OUT_OF_BOUNDS,
     bc::kSectionTableOffset,
     {},
     100,
     true},
    // section table
    {"unknown tag",
     Reason::BCFG_SECTION_UNKNOWN_TAG,
     entry(S::PROFILE, 0),
     {set_entry(S::PROFILE, 0, 0x58585858U)}},
    {"lower-case tag",
     Reason::BCFG_SECTION_UNKNOWN_TAG,
     entry(S::MOUNTS, 0),
     {Patch{entry(S::MOUNTS, 0), 1, 'm'}}},
    {"profile twice",
     Reason::BCFG_SECTION_DUPLICATE,
     entry(S::SERVICES, 0),
     {set_entry(S::SERVICES, 0, tag(S::PROFILE))}},
    {"services first",
     Reason::BCFG_SECTION_ORDER,
     entry(S::PROFILE, 0),
     {set_entry(S::PROFILE, 0, tag(S::SERVICES))}},
    {"strings before mounts",
     Reason::BCFG_SECTION_ORDER,
     entry(S::MOUNTS, 0),
     {set_entry(S::MOUNTS, 0, tag(S::STRINGS))}},
    {"length not rows x size",
     Reason::BCFG_SECTION_LENGTH_MISMATCH,
     entry(S::SERVICES, bc::kSectionEntryLengthOffset),
     {set_entry(S::SERVICES, bc::kSectionEntryLengthOffset,
                entry_value(S::SERVICES, bc::kSectionEntryLengthOffset) + 1)}},
    {"count not length / size",
     Reason::BCFG_SECTION_LENGTH_MISMATCH,
     entry(S::MOUNTS, bc::kSectionEntryLengthOffset),
     {set_entry(S::MOUNTS, bc::kSectionEntryCountOffset, 4)}},
    {"no profile row", Reason::BCFG_PROFILE_COUNT_INVALID,
     entry(S::PROFILE, bc::kSectionEntryCountOffset), set_count(S::PROFILE, 0)},
    {"two profile rows", Reason::BCFG_PROFILE_COUNT_INVALID,
     entry(S::PROFILE, bc::kSectionEntryCountOffset), set_count(S::PROFILE, 2)},
    {"2049 services", Reason::BCFG_TOO_MANY_SERVICES,
     entry(S::SERVICES, bc::kSectionEntryCountOffset),
     set_count(S::SERVICES, bc::kMaxServices + 1)},
    {"8193 after edges", Reason::BCFG_TOO_MANY_AFTER_EDGES,
     entry(S::AFTER, bc::kSectionEntryCountOffset), set_count(S::AFTER, bc::kMaxAfterEdges + 1)},
    {"8193 peer edges", Reason::BCFG_TOO_MANY_PEER_EDGES,
     entry(S::PEERS, bc::kSectionEntryCountOffset), set_count(S::PEERS, bc::kMaxPeerEdges + 1)},
    {"33 providers", Reason::BCFG_TOO_MANY_PROVIDERS,
     entry(S::PROVIDERS, bc::kSectionEntryCountOffset),
     set_count(S::PROVIDERS, bc::kMaxProviders + 1)},
    {"33 mounts", Reason::BCFG_TOO_MANY_MOUNTS, entry(S::MOUNTS, bc::kSectionEntryCountOffset),
     set_count(S::MOUNTS, bc::kMaxMounts + 1)},
    {"huge string table", Reason::BCFG_STRING_TABLE_TOO_LARGE,
     entry(S::STRINGS, bc::kSectionEntryCountOffset),
     set_count(S::STRINGS, bc::kMaxStringBytes + 1)},
    {"misaligned",
     Reason::BCFG_SECTION_MISALIGNED,
     entry(S::SERVICES, bc::kSectionEntryOffsetOffset),
     {set_entry(S::SERVICES, bc::kSectionEntryOffsetOffset,
                entry_value(S::SERVICES, bc::kSectionEntryOffsetOffset) + 4)}},
    {"overlaps the profile",
     Reason::BCFG_SECTION_OVERLAP,
     entry(S::SERVICES, bc::kSectionEntryOffsetOffset),
     {set_entry(S::SERVICES, bc::kSectionEntryOffsetOffset,
                entry_value(S::SERVICES, bc::kSectionEntryOffsetOffset) - 8)}},
    {"overlaps the table",
     Reason::BCFG_SECTION_OVERLAP,
     entry(S::PROFILE, bc::kSectionEntryOffsetOffset),
     {set_entry(S::PROFILE, bc::kSectionEntryOffsetOffset, 0)}},
    {"gap",
     Reason::BCFG_SECTION_GAP,
     entry(S::SERVICES, bc::kSectionEntryOffsetOffset),
     {set_entry(S::SERVICES, bc::kSectionEntryOffsetOffset,
                entry_value(S::SERVICES, bc::kSectionEntryOffsetOffset) + 8)}},
    {"strings past the end", Reason::BCFG_SECTION_OUT_OF_BOUNDS,
     entry(S::STRINGS, bc::kSectionEntryLengthOffset),
     set_count(S::STRINGS, entry_value(S::STRINGS, bc::kSectionEntryCountOffset) + 1)},
    {"padding after AFT1",
     Reason::BCFG_PADDING_NONZERO,
     kAfterEnd + 3,
     {Patch{kAfterEnd + 3, 1, 0x20}}},
    {"strings end early", Reason::BCFG_TRAILING_BYTES, kStringsEnd - 1,
     set_count(S::STRINGS, entry_value(S::STRINGS, bc::kSectionEntryCountOffset) - 1)},
    {"bytes after the strings", Reason::BCFG_TRAILING_BYTES, kStringsEnd, {}, kBlobSize + 8, true},
    // string references
    {"string length huge",
     Reason::BCFG_STRING_OUT_OF_BOUNDS,
     svc(0, bc::kStrRefLengthOffset),
     {Patch{svc(0, bc::kStrRefLengthOffset), 4, 0xFFFFFFFFU}}},
    {"string offset huge",
     Reason::BCFG_STRING_OUT_OF_BOUNDS,
     svc(0, bc::kStrRefLengthOffset),
     {Patch{svc(0, bc::kStrRefOffsetOffset), 4, 0xFFFFFFF0U}}},
    {"string shared",
     Reason::BCFG_STRING_NOT_CANONICAL,
     bc::kFirstSectionOffset,
     {Patch{bc::kFirstSectionOffset, 4, 1}}},
    {"string skips a byte",
     Reason::BCFG_STRING_NOT_CANONICAL,
     svc(0, 0),
     {Patch{svc(0, 0), 4, u32_at(svc(0, 0)) + 1}}},
    {"string table one byte longer", Reason::BCFG_STRING_TABLE_SLACK, kStringsEnd,
     set_count(S::STRINGS, entry_value(S::STRINGS, bc::kSectionEntryCountOffset) + 1),
     kBlobSize + 1, true},
    // profile and services
    {"profile upper case",
     Reason::BCFG_PROFILE_INVALID,
     bc::kFirstSectionOffset,
     {Patch{at_of(kView.profile()), 1, 'N'}}},
    {"service name upper case",
     Reason::BCFG_SERVICE_NAME_INVALID,
     svc(kLogd, 0),
     {Patch{at_of(kView.service(kLogd).name), 1, 'L'}}},
    {"service name with a dot",
     Reason::BCFG_SERVICE_NAME_INVALID,
     svc(kVfsd, 0),
     {Patch{at_of(kView.service(kVfsd).name) + 3, 1, '.'}}},
    {"service names equal",
     Reason::BCFG_SERVICE_NAME_DUPLICATE,
     svc(kSvcB, 0),
     {Patch{at_of(kView.service(kSvcB).name) + 4, 1, 'a'}}},
    {"service names descend",
     Reason::BCFG_SERVICE_ORDER,
     svc(kSvcB, 0),
     {Patch{at_of(kView.service(kSvcB).name) + 4, 1, '0'}}},
    {"role with underscore",
     Reason::BCFG_SERVICE_ROLE_INVALID,
     svc(kKeyd, bc::kServiceRoleOffset),
     {Patch{at_of(kView.service(kKeyd).role), 1, '_'}}},
    {"image with space",
     Reason::BCFG_SERVICE_IMAGE_INVALID,
     svc(kBlockd, bc::kServiceImageOffset),
     {Patch{at_of(kView.service(kBlockd).image) + 3, 1, ' '}}},
    {"launch 2",
     Reason::BCFG_SERVICE_LAUNCH_INVALID,
     svc(0, bc::kServiceLaunchOffset),
     {Patch{svc(0, bc::kServiceLaunchOffset), 1, 2}}},
    {"service reserved",
     Reason::BCFG_SERVICE_RESERVED_NONZERO,
     svc(kProcd, bc::kServiceReservedOffset + 1),
     {Patch{svc(kProcd, bc::kServiceReservedOffset + 1), 1, 1}}},
    // after edges
    {"after list moved",
     Reason::BCFG_AFTER_RANGE_NOT_CONTIGUOUS,
     svc(kVfsd, bc::kServiceAfterFirstOffset),
     {Patch{svc(kVfsd, bc::kServiceAfterFirstOffset), 4,
            u32_at(svc(kVfsd, bc::kServiceAfterFirstOffset)) + 1}}},
    {"after list too long",
     Reason::BCFG_AFTER_RANGE_OUT_OF_BOUNDS,
     svc(kVfsd, bc::kServiceAfterCountOffset),
     {Patch{svc(kVfsd, bc::kServiceAfterCountOffset), 2, 4}}},
    {"after target 9",
     Reason::BCFG_AFTER_INDEX_OUT_OF_RANGE,
     kVfsdAfterAt,
     {Patch{kVfsdAfterAt, 2, 9}}},
    {"after target none",
     Reason::BCFG_AFTER_INDEX_OUT_OF_RANGE,
     kVfsdAfterAt + 4,
     {Patch{kVfsdAfterAt + 4, 2, bc::kNoIndex}}},
    {"after descends",
     Reason::BCFG_AFTER_NOT_ASCENDING,
     kVfsdAfterAt + 2,
     {Patch{kVfsdAfterAt + 2, 2, 0}}},
    {"after repeats",
     Reason::BCFG_AFTER_DUPLICATE,
     kVfsdAfterAt + 2,
     {Patch{kVfsdAfterAt + 2, 2, kE2fsd}}},
    {"after entry unused",
     Reason::BCFG_AFTER_EDGES_UNREFERENCED,
     kVfsdAfterAt + 4,
     {Patch{svc(kVfsd, bc::kServiceAfterCountOffset), 2, 2}}},
    // peer edges
    {"peer list moved",
     Reason::BCFG_PEER_RANGE_NOT_CONTIGUOUS,
     svc(kVfsd, bc::kServicePeersFirstOffset),
     {Patch{svc(kVfsd, bc::kServicePeersFirstOffset), 4, 0}}},
    {"peer list too long",
     Reason::BCFG_PEER_RANGE_OUT_OF_BOUNDS,
     svc(kVfsd, bc::kServicePeersCountOffset),
     {Patch{svc(kVfsd, bc::kServicePeersCountOffset), 2, 0xFFFF}}},
    {"peer target 200",
     Reason::BCFG_PEER_INDEX_OUT_OF_RANGE,
     kVfsdPeersAt + 2,
     {Patch{kVfsdPeersAt + 2, 2, 200}}},
    {"peer descends",
     Reason::BCFG_PEER_NOT_ASCENDING,
     kVfsdPeersAt + 2,
     {Patch{kVfsdPeersAt + 2, 2, kBlockd}}},
    {"peer repeats",
     Reason::BCFG_PEER_DUPLICATE,
     kVfsdPeersAt + 2,
     {Patch{kVfsdPeersAt + 2, 2, kE2fsd}}},
    {"peer entry unused",
     Reason::BCFG_PEER_EDGES_UNREFERENCED,
     kVfsdPeersAt + 2,
     {Patch{svc(kVfsd, bc::kServicePeersCountOffset), 2, 1}}},
    // providers
    {"provider name upper case",
     Reason::BCFG_PROVIDER_NAME_INVALID,
     prv(2, 0),
     {Patch{at_of(kView.provider(2).name), 1, 'R'}}},
    {"provider names equal",
     Reason::BCFG_PROVIDER_NAME_DUPLICATE,
     prv(1, 0),
     {Patch{at_of(kView.provider(1).name) + 5, 1, 'a'}}},
    {"provider names descend",
     Reason::BCFG_PROVIDER_ORDER,
     prv(1, 0),
     {Patch{at_of(kView.provider(1).name) + 5, 1, '0'}}},
    {"provider service none",
     Reason::BCFG_PROVIDER_SERVICE_INDEX_OUT_OF_RANGE,
     prv(0, bc::kProviderServiceOffset),
     {Patch{prv(0, bc::kProviderServiceOffset), 2, bc::kNoIndex}}},
    {"provider service 9",
     Reason::BCFG_PROVIDER_SERVICE_INDEX_OUT_OF_RANGE,
     prv(2, bc::kProviderServiceOffset),
     {Patch{prv(2, bc::kProviderServiceOffset), 2, 9}}},
    {"provider block 9",
     Reason::BCFG_PROVIDER_BLOCK_INDEX_OUT_OF_RANGE,
     prv(0, bc::kProviderBlockOffset),
     {Patch{prv(0, bc::kProviderBlockOffset), 2, 9}}},
    {"provider key 0xfffe",
     Reason::BCFG_PROVIDER_KEY_INDEX_OUT_OF_RANGE,
     prv(1, bc::kProviderKeyOffset),
     {Patch{prv(1, bc::kProviderKeyOffset), 2, 0xFFFE}}},
    {"provider reserved",
     Reason::BCFG_PROVIDER_RESERVED_NONZERO,
     prv(2, bc::kProviderReservedOffset + 1),
     {Patch{prv(2, bc::kProviderReservedOffset), 2, 0x100}}},
    // mounts
    {"path with space",
     Reason::BCFG_MOUNT_PATH_INVALID,
     mnt(1, 0),
     {Patch{at_of(kView.mount(1).path) + 1, 1, ' '}}},
    {"path with NUL",
     Reason::BCFG_MOUNT_PATH_INVALID,
     mnt(0, 0),
     {Patch{at_of(kView.mount(0).path), 1, 0}}},
    {"paths equal",
     Reason::BCFG_MOUNT_PATH_DUPLICATE,
     mnt(2, 0),
     {Patch{at_of(kView.mount(2).path) + 5, 1, 'a'}}},
    {"paths descend",
     Reason::BCFG_MOUNT_ORDER,
     mnt(2, 0),
     {Patch{at_of(kView.mount(2).path) + 5, 1, '0'}}},
    {"mount provider 3",
     Reason::BCFG_MOUNT_PROVIDER_INDEX_OUT_OF_RANGE,
     mnt(0, bc::kMountProviderOffset),
     {Patch{mnt(0, bc::kMountProviderOffset), 2, 3}}},
    {"read_only 2",
     Reason::BCFG_MOUNT_READ_ONLY_INVALID,
     mnt(0, bc::kMountReadOnlyOffset),
     {Patch{mnt(0, bc::kMountReadOnlyOffset), 1, 2}}},
    {"mount reserved",
     Reason::BCFG_MOUNT_RESERVED_NONZERO,
     mnt(1, bc::kMountReservedOffset),
     {Patch{mnt(1, bc::kMountReservedOffset), 1, 0x80}}},
};
constexpr std::size_t kCorruptionCount = sizeof(kCorruptions) / sizeof(kCorruptions[0]);

// One constant expression per row, so each stays within the evaluator's step limit.
template <std::size_t I>
struct CorruptionRow {
  static_assert(parse_corrupted(kCorruptions[I]) ==
                Error{kCorruptions[I].expected, kCorruptions[I].expected_at});
  static constexpr bool checked = true;
};
template <std::size_t... I>
constexpr bool all_corruptions(std::index_sequence<I...>) {
  return (CorruptionRow<I>::checked && ...);
}
static_assert(all_corruptions(std::make_index_sequence<kCorruptionCount>{}));

// ---- malformed descriptions: the writer refuses with parse's reason codes ----

struct Editable {
  std::array<bc::ServiceDesc, 9> services{};
  std::array<bc::ProviderDesc, 3> providers{};
  std::array<bc::MountDesc, 3> mounts{};
  std::string_view profile = "none";
  constexpr bc::ConfigDesc desc() const { return {profile, services, providers, mounts}; }
};

constexpr Editable editable_base() {
  Editable e;
  for (std::size_t i = 0; i < 9; ++i) e.services[i] = kServices[i];
  for (std::size_t i = 0; i < 3; ++i) e.providers[i] = kProviders[i];
  for (std::size_t i = 0; i < 3; ++i) e.mounts[i] = kMounts[i];
  return e;
}

struct WriterCase {
  std::string_view what;
  Reason expected;
  std::uint32_t expected_at;  // declaration index
  void (*edit)(Editable&);
};

constexpr std::string_view kAfterTwice[] = {"logd", "procd", "logd"};
constexpr std::string_view kAfterUnknown[] = {"logd", "nobody"};
constexpr std::string_view kLongName = "0123456789abcdefghijklmnopqrstuv";  // 32
constexpr std::array<char, bc::kMaxPathLength + 1> kLongPathChars = [] {
  std::array<char, bc::kMaxPathLength + 1> a{};
  a[0] = '/';
  for (std::size_t i = 1; i < a.size(); ++i) a[i] = 'a';
  return a;
}();
constexpr std::string_view kLongPath(kLongPathChars.data(), kLongPathChars.size());

constexpr WriterCase kWriterCases[] = {
    {"profile empty", Reason::BCFG_PROFILE_INVALID, 0, [](Editable& e) { e.profile = ""; }},
    {"profile upper case", Reason::BCFG_PROFILE_INVALID, 0,
     [](Editable& e) { e.profile = "None"; }},
    {"service name 32 chars", Reason::BCFG_SERVICE_NAME_INVALID, 2,
     [](Editable& e) { e.services[2].name = kLongName; }},
    {"service name empty", Reason::BCFG_SERVICE_NAME_INVALID, 0,
     [](Editable& e) { e.services[0].name = ""; }},
    {"role empty", Reason::BCFG_SERVICE_ROLE_INVALID, 1,
     [](Editable& e) { e.services[1].role = ""; }},
    {"image upper case", Reason::BCFG_SERVICE_IMAGE_INVALID, 4,
     [](Editable& e) { e.services[4].image = "Blockd"; }},
    {"launch 7", Reason::BCFG_SERVICE_LAUNCH_INVALID, 3,
     [](Editable& e) { e.services[3].launch = static_cast<bc::Launch>(7); }},
    {"service declared twice", Reason::BCFG_SERVICE_NAME_DUPLICATE, 6,
     [](Editable& e) { e.services[6].name = "logd"; }},
    {"after lists a name twice", Reason::BCFG_AFTER_DUPLICATE, 0,
     [](Editable& e) { e.services[0].after = kAfterTwice; }},
    {"peers list a name twice", Reason::BCFG_PEER_DUPLICATE, 3,
     [](Editable& e) { e.services[3].peers = kAfterTwice; }},
    {"after names nobody", Reason::BCFG_WRITE_UNKNOWN_SERVICE, 1,
     [](Editable& e) { e.services[1].after = kAfterUnknown; }},
    {"peers names nobody", Reason::BCFG_WRITE_UNKNOWN_SERVICE, 8,
     [](Editable& e) { e.services[8].peers = kAfterUnknown; }},
    {"provider name with dot", Reason::BCFG_PROVIDER_NAME_INVALID, 1,
     [](Editable& e) { e.providers[1].name = "r.m"; }},
    {"provider declared twice", Reason::BCFG_PROVIDER_NAME_DUPLICATE, 2,
     [](Editable& e) { e.providers[2].name = "ram"; }},
    {"provider service missing", Reason::BCFG_WRITE_UNKNOWN_SERVICE, 1,
     [](Editable& e) { e.providers[1].service = ""; }},
    {"provider service unknown", Reason::BCFG_WRITE_UNKNOWN_SERVICE, 0,
     [](Editable& e) { e.providers[0].service = "fatd"; }},
    {"provider block unknown", Reason::BCFG_WRITE_UNKNOWN_SERVICE, 2,
     [](Editable& e) { e.providers[2].block = "nvme"; }},
    {"provider key unknown", Reason::BCFG_WRITE_UNKNOWN_SERVICE, 0,
     [](Editable& e) { e.providers[0].key = "tpm"; }},
    {"path 256 chars", Reason::BCFG_MOUNT_PATH_INVALID, 1,
     [](Editable& e) { e.mounts[1].path = kLongPath; }},
    {"path empty", Reason::BCFG_MOUNT_PATH_INVALID, 0, [](Editable& e) { e.mounts[0].path = ""; }},
    {"path mounted twice", Reason::BCFG_MOUNT_PATH_DUPLICATE, 2,
     [](Editable& e) { e.mounts[2].path = "/"; }},
    {"mount provider unknown", Reason::BCFG_WRITE_UNKNOWN_PROVIDER, 1,
     [](Editable& e) { e.mounts[1].provider = "usb"; }},
    {"mount provider empty", Reason::BCFG_WRITE_UNKNOWN_PROVIDER, 0,
     [](Editable& e) { e.mounts[0].provider = ""; }},
};
constexpr std::size_t kWriterCaseCount = sizeof(kWriterCases) / sizeof(kWriterCases[0]);

constexpr Error writer_error(const WriterCase& c) {
  Editable e = editable_base();
  c.edit(e);
  const Error from_size = bc::encoded_size(e.desc()).error();
  std::array<char, kBlobSize + kSlack> out{};
  for (char& ch : out) ch = 'u';
  const Error from_write = bc::write(e.desc(), out).error();
  for (char ch : out) {
    // A refused write must not touch the buffer.
    if (from_write.reason != Reason::NONE && ch != 'u') return {Reason::INTERNAL_STATE, 0};
  }
  return from_size == from_write ? from_size : Error{Reason::INTERNAL_STATE, 1};
}

template <std::size_t I>
struct WriterRow {
  static_assert(writer_error(kWriterCases[I]) ==
                Error{kWriterCases[I].expected, kWriterCases[I].expected_at});
  static constexpr bool checked = true;
};
template <std::size_t... I>
constexpr bool all_writer_cases(std::index_sequence<I...>) {
  return (WriterRow<I>::checked && ...);
}
static_assert(all_writer_cases(std::make_index_sequence<kWriterCaseCount>{}));
static_assert(writer_error({"unchanged", Reason::NONE, 0, [](Editable&) {}}) == Error{},
              "the base of the writer table is valid");

constexpr Error short_buffer_error() {
  std::array<char, kBlobSize - 1> out{};
  return bc::write(kConfig, out).error();
}
static_assert(short_buffer_error() == Error{Reason::BCFG_WRITE_BUFFER_TOO_SMALL, kBlobSize});

// Over-limit descriptions: the limit is checked before anything else.
constexpr std::array<bc::ServiceDesc, bc::kMaxServices + 1> kTooManyServices{};
constexpr std::array<bc::ProviderDesc, bc::kMaxProviders + 1> kTooManyProviders{};
constexpr std::array<bc::MountDesc, bc::kMaxMounts + 1> kTooManyMounts{};
constexpr std::array<std::string_view, bc::kMaxAfterEdges + 1> kTooManyNames{};
constexpr bc::ServiceDesc kTooManyAfter[] = {
    {.name = "a", .role = "a", .image = "a", .after = kTooManyNames}};
constexpr bc::ServiceDesc kTooManyPeers[] = {
    {.name = "a", .role = "a", .image = "a"},
    {.name = "b", .role = "b", .image = "b", .peers = kTooManyNames}};
static_assert(bc::encoded_size({.services = kTooManyServices}).error() ==
              Error{Reason::BCFG_TOO_MANY_SERVICES, bc::kMaxServices});
static_assert(bc::encoded_size({.providers = kTooManyProviders}).error() ==
              Error{Reason::BCFG_TOO_MANY_PROVIDERS, bc::kMaxProviders});
static_assert(bc::encoded_size({.mounts = kTooManyMounts}).error() ==
              Error{Reason::BCFG_TOO_MANY_MOUNTS, bc::kMaxMounts});
static_assert(bc::encoded_size({.services = kTooManyAfter}).error() ==
              Error{Reason::BCFG_TOO_MANY_AFTER_EDGES, 0});
static_assert(bc::encoded_size({.services = kTooManyPeers}).error() ==
              Error{Reason::BCFG_TOO_MANY_PEER_EDGES, 1});

// ---- host helpers ----

std::string reason_of(Error e) {
  return fmt::format("{}@{}", rootd::reason_name(e.reason), e.offset);
}

std::vector<char> encode(const bc::ConfigDesc& desc) {
  const rootd::Result<std::size_t> size = bc::encoded_size(desc);
  INFO(reason_of(size.error()));
  REQUIRE(size.ok());
  std::vector<char> out(*size + 7, '\x55');
  const rootd::Result<std::size_t> n = bc::write(desc, out);
  REQUIRE(n.ok());
  REQUIRE(*n == *size);
  for (std::size_t i = *n; i < out.size(); ++i) REQUIRE(out[i] == '\x55');  // nothing past the blob
  out.resize(*n);
  return out;
}

struct HostStorage {
  std::vector<bc::ServiceDesc> services;
  std::vector<bc::ProviderDesc> providers;
  std::vector<bc::MountDesc> mounts;
  std::vector<std::string_view> after, peers;
  explicit HostStorage(const bc::View& v)
      : services(v.service_count()),
        providers(v.provider_count()),
        mounts(v.mount_count()),
        after(v.after_edge_count()),
        peers(v.peer_edge_count()) {}
  bc::DecodeStorage storage() { return {services, providers, mounts, after, peers}; }
};

// View -> ConfigDesc -> write must give back exactly the parsed bytes.
std::vector<char> reencode(const bc::View& view) {
  HostStorage storage(view);
  const rootd::Result<bc::ConfigDesc> desc = bc::decode(view, storage.storage());
  REQUIRE(desc.ok());
  return encode(*desc);
}

// A config whose declarations live in strings owned here.
struct OwnedConfig {
  std::string profile = "none";
  std::vector<std::string> names, roles, paths, provider_names;
  std::vector<std::vector<std::string_view>> after, peers;
  std::vector<bc::ServiceDesc> services;
  std::vector<bc::ProviderDesc> providers;
  std::vector<bc::MountDesc> mounts;
  bc::ConfigDesc desc() const { return {profile, services, providers, mounts}; }
};

// Everything at its limit: kMaxServices services with 31-char names, every
// after and peer edge used, kMaxProviders providers, kMaxMounts 255-char paths.
OwnedConfig max_config() {
  OwnedConfig c;
  const std::size_t n = bc::kMaxServices;
  c.profile = std::string(bc::kMaxProfileLength, 'p');
  for (std::size_t i = 0; i < n; ++i)
    c.names.push_back(fmt::format("{:0>31}", fmt::format("s{}", i)));
  for (std::size_t i = 0; i < n; ++i) c.roles.push_back(fmt::format("r{}", i % 17));
  const std::size_t per_after = bc::kMaxAfterEdges / n;
  const std::size_t per_peer = bc::kMaxPeerEdges / n;
  c.after.resize(n);
  c.peers.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 1; k <= per_after; ++k) c.after[i].push_back(c.names[(i + k) % n]);
    for (std::size_t k = 1; k <= per_peer; ++k) c.peers[i].push_back(c.names[(i + n - 3 * k) % n]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    c.services.push_back({c.names[i], c.roles[i], c.names[(i * 7) % n],
                          i % 3 == 0 ? bc::Launch::DEVICED : bc::Launch::ROOTD, c.after[i],
                          c.peers[i]});
  }
  for (std::size_t i = 0; i < bc::kMaxProviders; ++i)
    c.provider_names.push_back(fmt::format("{:->31}", i));
  for (std::size_t i = 0; i < bc::kMaxProviders; ++i) {
    c.providers.push_back({c.provider_names[i], c.names[i],
                           i % 2 == 0 ? std::string_view{} : c.names[i + 100],
                           i % 3 == 0 ? std::string_view{} : c.names[i + 200],
                           i % 4 == 0 ? bc::kNoPartition : static_cast<std::uint32_t>(i)});
  }
  for (std::size_t i = 0; i < bc::kMaxMounts; ++i) {
    std::string path = fmt::format("/{:02}/", i);
    path.resize(bc::kMaxPathLength, static_cast<char>('!' + i));
    c.paths.push_back(path);
  }
  for (std::size_t i = 0; i < bc::kMaxMounts; ++i) {
    c.mounts.push_back({c.paths[i], c.provider_names[(i * 5) % bc::kMaxProviders], i % 2 == 1});
  }
  return c;
}

// The view holds what the description says, resolved through names.
void check_view_matches(const bc::View& v, const bc::ConfigDesc& d) {
  REQUIRE(v.profile() == d.profile);
  REQUIRE(v.service_count() == d.services.size());
  REQUIRE(v.provider_count() == d.providers.size());
  REQUIRE(v.mount_count() == d.mounts.size());
  for (const bc::ServiceDesc& s : d.services) {
    const std::uint16_t i = v.find_service(s.name);
    REQUIRE(i != bc::kNoIndex);
    const bc::Service got = v.service(i);
    REQUIRE((got.name == s.name && got.role == s.role && got.image == s.image &&
             got.launch == s.launch));
    std::set<std::string_view> want_after(s.after.begin(), s.after.end());
    std::set<std::string_view> got_after;
    for (std::uint16_t t : v.after(i)) got_after.insert(v.service(t).name);
    REQUIRE(got_after == want_after);
    std::set<std::string_view> want_peers(s.peers.begin(), s.peers.end());
    std::set<std::string_view> got_peers;
    for (std::uint16_t t : v.peers(i)) got_peers.insert(v.service(t).name);
    REQUIRE(got_peers == want_peers);
  }
  for (const bc::ProviderDesc& p : d.providers) {
    const std::uint16_t i = v.find_provider(p.name);
    REQUIRE(i != bc::kNoIndex);
    const bc::Provider got = v.provider(i);
    REQUIRE(v.service(got.service).name == p.service);
    REQUIRE((got.block == bc::kNoIndex ? std::string_view{} : v.service(got.block).name) ==
            p.block);
    REQUIRE((got.key == bc::kNoIndex ? std::string_view{} : v.service(got.key).name) == p.key);
    REQUIRE(got.partition == p.partition);
  }
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < v.mount_count(); ++i) {
    const bc::Mount m = v.mount(i);
    const auto it = std::find_if(d.mounts.begin(), d.mounts.end(),
                                 [&](const bc::MountDesc& x) { return x.path == m.path; });
    REQUIRE(it != d.mounts.end());
    REQUIRE(v.provider(m.provider).name == it->provider);
    REQUIRE(m.read_only == it->read_only);
    seen.insert(m.path);
  }
  REQUIRE(seen.size() == d.mounts.size());
}

// Declaration order shuffled at every level: rows and each edge list.
std::vector<char> encode_shuffled(const OwnedConfig& c, std::mt19937& rng) {
  std::vector<std::vector<std::string_view>> after(c.after.size()), peers(c.peers.size());
  std::vector<bc::ServiceDesc> services = c.services;
  for (std::size_t i = 0; i < services.size(); ++i) {
    after[i].assign(services[i].after.begin(), services[i].after.end());
    peers[i].assign(services[i].peers.begin(), services[i].peers.end());
    std::shuffle(after[i].begin(), after[i].end(), rng);
    std::shuffle(peers[i].begin(), peers[i].end(), rng);
    services[i].after = after[i];
    services[i].peers = peers[i];
  }
  std::shuffle(services.begin(), services.end(), rng);
  std::vector<bc::ProviderDesc> providers = c.providers;
  std::shuffle(providers.begin(), providers.end(), rng);
  std::vector<bc::MountDesc> mounts = c.mounts;
  std::shuffle(mounts.begin(), mounts.end(), rng);
  return encode({c.profile, services, providers, mounts});
}

const std::vector<char>& blob_vector() {
  static const std::vector<char> v(kBlob.begin(), kBlob.end());
  return v;
}

void fix_checksum(std::vector<char>& b) {
  rootd::store_le32(b, bc::kHeaderChecksumOffset, bc::checksum(b));
}

}  // namespace

TEST_CASE("every bcfg reason code is reached by a malformed input") {
  std::set<unsigned> reached;
  for (const Corruption& c : kCorruptions) {
    INFO(c.what);
    const Error e = parse_corrupted(c);  // again at run time: same answer as the static_assert
    CHECK(e == Error{c.expected, c.expected_at});
    CHECK(e.status() == rootd::Status::CONTRACT_INVALID);
    reached.insert(static_cast<unsigned>(e.reason));
  }
  for (const WriterCase& c : kWriterCases) {
    INFO(c.what);
    const Error e = writer_error(c);
    CHECK(e == Error{c.expected, c.expected_at});
    reached.insert(static_cast<unsigned>(e.reason));
  }
  const Error extra[] = {
      short_buffer_error(),
      decode_error(0),
      bc::encoded_size({.services = kTooManyServices}).error(),
      bc::encoded_size({.providers = kTooManyProviders}).error(),
      bc::encoded_size({.mounts = kTooManyMounts}).error(),
      bc::encoded_size({.services = kTooManyAfter}).error(),
      bc::encoded_size({.services = kTooManyPeers}).error(),
  };
  for (const Error& e : extra) reached.insert(static_cast<unsigned>(e.reason));

  std::set<unsigned> defined;
  for (const rootd::ReasonInfo& row : rootd::kReasonTable) {
    const auto number = static_cast<unsigned>(row.reason);
    if (number >= 200 && number < 300) defined.insert(number);
  }
  for (unsigned n : defined) {
    INFO("never reached: " << rootd::reason_name(static_cast<Reason>(n)));
    CHECK(reached.count(n) == 1);
  }
  for (unsigned n : reached) {
    INFO("reached but not a bcfg code: " << n);
    CHECK(defined.count(n) == 1);
  }
  CHECK(defined.size() >= 60);
}

TEST_CASE("every bcfg reason name starts with BCFG_ and leads to CONTRACT_INVALID") {
  for (const rootd::ReasonInfo& row : rootd::kReasonTable) {
    const auto number = static_cast<unsigned>(row.reason);
    if (number < 200 || number >= 300) continue;
    INFO(row.name);
    CHECK(row.name.substr(0, 5) == "BCFG_");
    CHECK(row.status == rootd::Status::CONTRACT_INVALID);
  }
}

TEST_CASE("empty lists round-trip") {
  const std::vector<char> blob = encode(bc::ConfigDesc{});
  const rootd::Result<bc::View> v = bc::parse(blob);
  REQUIRE(v.ok());
  CHECK(v->profile() == "none");
  CHECK(v->service_count() == 0);
  CHECK(v->after_edge_count() == 0);
  CHECK(v->peer_edge_count() == 0);
  CHECK(v->provider_count() == 0);
  CHECK(v->mount_count() == 0);
  CHECK(reencode(*v) == blob);
  CHECK(blob.size() == bc::kFirstSectionOffset + bc::kProfileRowSize + 4);

  // Services with no edges and no storage at all.
  const bc::ServiceDesc lone[] = {{.name = "a", .role = "service", .image = "a"}};
  const std::vector<char> one = encode({.services = lone});
  const rootd::Result<bc::View> w = bc::parse(one);
  REQUIRE(w.ok());
  CHECK(w->after(0).empty());
  CHECK(w->peers(0).empty());
  CHECK(reencode(*w) == one);
}

TEST_CASE("everything at its limit round-trips, in any declaration order") {
  const OwnedConfig c = max_config();
  const std::vector<char> blob = encode(c.desc());
  const rootd::Result<bc::View> v = bc::parse(blob);
  REQUIRE(v.ok());
  CHECK(v->service_count() == bc::kMaxServices);
  CHECK(v->after_edge_count() == bc::kMaxAfterEdges);
  CHECK(v->peer_edge_count() == bc::kMaxPeerEdges);
  CHECK(v->provider_count() == bc::kMaxProviders);
  CHECK(v->mount_count() == bc::kMaxMounts);
  check_view_matches(*v, c.desc());
  CHECK(reencode(*v) == blob);

  std::mt19937 rng(20240501);
  for (int round = 0; round < 3; ++round) CHECK(encode_shuffled(c, rng) == blob);
  WARN(fmt::format("max config: {} bytes", blob.size()));
}

TEST_CASE("one past each limit is refused by writer and parser alike") {
  SECTION("2049 services") {
    OwnedConfig c = max_config();
    const std::string extra = "extra";
    c.services.push_back({extra, "service", extra});
    CHECK(bc::encoded_size(c.desc()).error() ==
          Error{Reason::BCFG_TOO_MANY_SERVICES, bc::kMaxServices});
  }
  SECTION("one more after edge") {
    OwnedConfig c = max_config();
    c.after[5].push_back(c.names[1000]);
    c.services[5].after = c.after[5];
    CHECK(bc::encoded_size(c.desc()).error().reason == Reason::BCFG_TOO_MANY_AFTER_EDGES);
  }
  SECTION("one more peer edge") {
    OwnedConfig c = max_config();
    c.peers[7].push_back(c.names[1000]);
    c.services[7].peers = c.peers[7];
    CHECK(bc::encoded_size(c.desc()).error().reason == Reason::BCFG_TOO_MANY_PEER_EDGES);
  }
  SECTION("32-char names") {
    OwnedConfig c = max_config();
    const std::string name32(32, 'n');
    c.services[9].name = name32;
    CHECK(bc::encoded_size(c.desc()).error() == Error{Reason::BCFG_SERVICE_NAME_INVALID, 9});
    c = max_config();
    c.providers[3].name = name32;
    CHECK(bc::encoded_size(c.desc()).error() == Error{Reason::BCFG_PROVIDER_NAME_INVALID, 3});
    // Profile ids may be longer than names, up to kMaxProfileLength.
    c = max_config();
    c.profile = name32;
    CHECK(bc::encoded_size(c.desc()).ok());
    c.profile = std::string(bc::kMaxProfileLength, 'p');
    CHECK(bc::encoded_size(c.desc()).ok());
    c.profile = std::string(bc::kMaxProfileLength + 1, 'p');
    CHECK(bc::encoded_size(c.desc()).error() == Error{Reason::BCFG_PROFILE_INVALID, 0});
  }
  SECTION("256-char path") {
    OwnedConfig c = max_config();
    c.paths[4].push_back('x');
    c.mounts[4].path = c.paths[4];
    CHECK(bc::encoded_size(c.desc()).error() == Error{Reason::BCFG_MOUNT_PATH_INVALID, 4});
  }
  SECTION("33 providers, 33 mounts") {
    OwnedConfig c = max_config();
    c.providers.push_back(c.providers[0]);
    CHECK(bc::encoded_size(c.desc()).error() ==
          Error{Reason::BCFG_TOO_MANY_PROVIDERS, bc::kMaxProviders});
    c = max_config();
    c.mounts.push_back(c.mounts[0]);
    CHECK(bc::encoded_size(c.desc()).error() ==
          Error{Reason::BCFG_TOO_MANY_MOUNTS, bc::kMaxMounts});
  }
}

TEST_CASE("random configurations round-trip and ignore declaration order") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    OwnedConfig c;
    const std::size_t n = rng() % 40;
    for (std::size_t i = 0; i < n; ++i) c.names.push_back(fmt::format("s{}-{}", rng() % 1000, i));
    c.after.resize(n);
    c.peers.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::set<std::size_t> a, p;
      for (std::size_t k = rng() % 5; k > 0; --k) a.insert(rng() % n);
      for (std::size_t k = rng() % 5; k > 0; --k) p.insert(rng() % n);
      for (std::size_t t : a) c.after[i].push_back(c.names[t]);
      for (std::size_t t : p) c.peers[i].push_back(c.names[t]);
      c.services.push_back({c.names[i], "service", c.names[rng() % n],
                            static_cast<bc::Launch>(rng() % 2), c.after[i], c.peers[i]});
    }
    const std::size_t providers = n == 0 ? 0 : rng() % 6;
    for (std::size_t i = 0; i < providers; ++i) c.provider_names.push_back(fmt::format("p{}", i));
    for (std::size_t i = 0; i < providers; ++i) {
      c.providers.push_back({c.provider_names[i], c.names[rng() % n],
                             rng() % 2 ? std::string_view(c.names[rng() % n]) : std::string_view{},
                             rng() % 2 ? std::string_view(c.names[rng() % n]) : std::string_view{},
                             rng() % 2 ? bc::kNoPartition : static_cast<std::uint32_t>(rng())});
    }
    const std::size_t mounts = providers == 0 ? 0 : rng() % 6;
    for (std::size_t i = 0; i < mounts; ++i)
      c.paths.push_back(fmt::format("/m/{}", rng() % 100000 * 10 + i));
    for (std::size_t i = 0; i < mounts; ++i) {
      c.mounts.push_back({c.paths[i], c.provider_names[rng() % providers], rng() % 2 == 0});
    }
    INFO("round " << round);
    const std::vector<char> blob = encode(c.desc());
    const rootd::Result<bc::View> v = bc::parse(blob);
    REQUIRE(v.ok());
    check_view_matches(*v, c.desc());
    CHECK(reencode(*v) == blob);
    CHECK(encode_shuffled(c, rng) == blob);
  }
}

TEST_CASE(
    "every single-byte corruption is rejected; with the checksum fixed, survivors are canonical") {
  const std::vector<std::vector<char>> blobs = {blob_vector(), encode(bc::ConfigDesc{})};
  for (const std::vector<char>& original : blobs) {
    REQUIRE(bc::parse(original).ok());
    std::size_t rejected_structurally = 0;
    std::size_t still_valid = 0;
    std::set<Reason> reasons;
    for (std::size_t at = 0; at < original.size(); ++at) {
      const auto b = static_cast<std::uint8_t>(original[at]);
      const std::set<std::uint8_t> values = {static_cast<std::uint8_t>(b ^ 0x01U),
                                             static_cast<std::uint8_t>(b ^ 0x80U),
                                             static_cast<std::uint8_t>(b ^ 0xFFU),
                                             static_cast<std::uint8_t>(b + 1U),
                                             0x00,
                                             0xFF,
                                             0x20,
                                             0x7F};
      for (std::uint8_t value : values) {
        if (value == b) continue;
        std::vector<char> m = original;
        m[at] = static_cast<char>(value);
        INFO(fmt::format("offset {} value {:#04x}", at, value));
        const rootd::Result<bc::View> raw = bc::parse(m);
        REQUIRE(!raw.ok());  // CRC-32C catches every single-byte change
        if (at >= bc::kHeaderSize || at < bc::kHeaderChecksumOffset ||
            at >= bc::kHeaderChecksumOffset + 4) {
          fix_checksum(m);
        }
        const rootd::Result<bc::View> fixed = bc::parse(m);
        if (fixed.ok()) {
          ++still_valid;
          REQUIRE(reencode(*fixed) == m);
        } else {
          ++rejected_structurally;
          reasons.insert(fixed.error().reason);
          REQUIRE(fixed.error().offset <= m.size());
        }
      }
    }
    CHECK(rejected_structurally > 0);
    CHECK(still_valid > 0);  // e.g. a name letter changed in place: a different valid config
    WARN(fmt::format(
        "{} bytes: {} structural rejections ({} distinct reasons), {} re-encoded identically",
        original.size(), rejected_structurally, reasons.size(), still_valid));
  }
}

// parse() tests the string table's name bytes in one pass and then each
// name by where it ends (StringCursor::last_is_name). Every string, every
// byte: a bad byte must be blamed on the string that holds it, no earlier and
// no later one, with that string's reason at its reference.
TEST_CASE("a bad byte in any string is reported at that string's reference") {
  const std::vector<char>& original = blob_vector();
  const bc::View view = *bc::parse(original);
  struct Str {
    std::string_view text;
    std::size_t ref;
    Reason reason;
  };
  std::vector<Str> strings = {{view.profile(), view.profile_offset() + bc::kProfileNameOffset,
                               Reason::BCFG_PROFILE_INVALID}};
  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const bc::Service sv = view.service(i);
    const std::size_t row = view.service_offset(i);
    strings.push_back({sv.name, row + bc::kServiceNameOffset, Reason::BCFG_SERVICE_NAME_INVALID});
    strings.push_back({sv.role, row + bc::kServiceRoleOffset, Reason::BCFG_SERVICE_ROLE_INVALID});
    strings.push_back(
        {sv.image, row + bc::kServiceImageOffset, Reason::BCFG_SERVICE_IMAGE_INVALID});
  }
  for (std::size_t i = 0; i < view.provider_count(); ++i) {
    strings.push_back({view.provider(i).name, view.provider_offset(i) + bc::kProviderNameOffset,
                       Reason::BCFG_PROVIDER_NAME_INVALID});
  }
  for (std::size_t i = 0; i < view.mount_count(); ++i) {
    strings.push_back({view.mount(i).path, view.mount_offset(i) + bc::kMountPathOffset,
                       Reason::BCFG_MOUNT_PATH_INVALID});
  }
  REQUIRE(view.mount_count() > 0);
  std::size_t checked = 0;
  for (const Str& str : strings) {
    const auto first = static_cast<std::size_t>(str.text.data() - original.data());
    for (std::size_t k = 0; k < str.text.size(); ++k) {
      for (char bad : {' ', '\x80', '\0'}) {  // outside names and paths alike
        std::vector<char> m = original;
        m[first + k] = bad;
        fix_checksum(m);
        INFO(fmt::format("string '{}' byte {} value {:#04x}", str.text, k, bad));
        const rootd::Result<bc::View> v = bc::parse(m);
        REQUIRE(!v.ok());
        CHECK(v.error() == rootd::Error{str.reason, static_cast<std::uint32_t>(str.ref)});
        ++checked;
      }
    }
  }
  CHECK(checked == 3 * view.bytes().size() - 3 * (view.section_offset(bc::Section::STRINGS)));
}

TEST_CASE("every truncation is rejected, also with size and checksum rewritten") {
  const std::vector<char>& original = blob_vector();
  for (std::size_t len = 0; len < original.size(); ++len) {
    INFO("length " << len);
    std::vector<char> cut(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(len));
    CHECK(!bc::parse(cut).ok());
    if (len >= bc::kHeaderSize) {
      rootd::store_le32(cut, bc::kHeaderTotalSizeOffset, static_cast<std::uint32_t>(len));
      fix_checksum(cut);
      const rootd::Result<bc::View> v = bc::parse(cut);
      CHECK(!v.ok());
      if (!v.ok()) CHECK(v.error().offset <= len);
    }
  }
}

TEST_CASE("error offsets name the field: services listed by the diagnostics accessors") {
  // The accessors agree with the section table written in the blob.
  for (std::size_t s = 0; s < bc::kSectionCount; ++s) {
    const auto section = static_cast<bc::Section>(s);
    CHECK(kView.section_offset(section) ==
          rootd::load_le32(kBytes, bc::kSectionTableOffset + s * bc::kSectionEntrySize +
                                       bc::kSectionEntryOffsetOffset));
  }
  for (std::size_t i = 0; i < kView.service_count(); ++i) {
    CHECK(kView.service_offset(i) ==
          kView.section_offset(bc::Section::SERVICES) + i * bc::kServiceRowSize);
    const bc::IndexList after = kView.after(i);
    if (!after.empty()) CHECK(rootd::load_le16(kBytes, kView.after_offset(i)) == after[0]);
  }
  CHECK(reason_of(parse_corrupted(kCorruptions[2])) == fmt::format("BCFG_BAD_MAGIC@{}", 3));
}

// ---- docs/erixbcfg-v1.md agrees with the header ----

namespace {

std::string load_spec() {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("ROOTD_SOURCE_ROOT")) roots.emplace_back(env);
  // __FILE__ is relative to the build directory meson runs tests from.
  const std::string here = __FILE__;
  roots.push_back(here.substr(0, here.rfind('/') == std::string::npos ? 0 : here.rfind('/')) +
                  "/..");
  roots.emplace_back(".");
  roots.emplace_back("..");
  for (const std::string& root : roots) {
    std::ifstream in(root + "/docs/erixbcfg-v1.md");
    if (in) return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  return {};
}

std::string strip_cell(const std::string& s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '`')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '`')) --e;
  return s.substr(b, e - b);
}

using Table = std::vector<std::vector<std::string>>;

// Heading text -> body rows of the first table under that heading.
std::map<std::string, Table> spec_tables(const std::string& text) {
  std::map<std::string, Table> tables;
  std::istringstream lines(text);
  std::string line;
  std::string heading;
  bool taken = false;  // the heading's first table is complete
  bool inside = false;
  bool fenced = false;
  while (std::getline(lines, line)) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    if (fenced) continue;
    if (!line.empty() && line[0] == '#') {
      heading = strip_cell(line.substr(line.find_first_not_of('#')));
      taken = inside = false;
      continue;
    }
    if (line.empty() || line[0] != '|') {
      if (inside) taken = true;
      inside = false;
      continue;
    }
    if (taken) continue;
    std::vector<std::string> cells;
    std::string cell;
    for (std::size_t i = 1; i < line.size(); ++i) {
      if (line[i] == '|') {
        cells.push_back(strip_cell(cell));
        cell.clear();
      } else {
        cell += line[i];
      }
    }
    if (!inside) {
      inside = true;  // the header row
      tables[heading];
      continue;
    }
    if (!cells.empty() && cells[0].find("---") == 0) continue;
    tables[heading].push_back(cells);
  }
  return tables;
}

struct FieldPin {
  std::string name;
  std::size_t offset;
  std::size_t size;
};
struct LayoutPin {
  std::string heading;
  std::size_t total;
  std::vector<FieldPin> fields;
};

std::vector<LayoutPin> layout_pins() {
  return {
      {"Header",
       bc::kHeaderSize,
       {{"magic", bc::kHeaderMagicOffset, sizeof(bc::kMagic)},
        {"version", bc::kHeaderVersionOffset, 2},
        {"header_size", bc::kHeaderSizeOffset, 2},
        {"total_size", bc::kHeaderTotalSizeOffset, 4},
        {"checksum", bc::kHeaderChecksumOffset, bc::kChecksumSize},
        {"flags", bc::kHeaderFlagsOffset, 4},
        {"section_count", bc::kHeaderSectionCountOffset, 4},
        {"reserved", bc::kHeaderReservedOffset, 4}}},
      {"Section table entry",
       bc::kSectionEntrySize,
       {{"tag", bc::kSectionEntryTagOffset, 4},
        {"offset", bc::kSectionEntryOffsetOffset, 4},
        {"length", bc::kSectionEntryLengthOffset, 4},
        {"count", bc::kSectionEntryCountOffset, 4}}},
      {"String reference",
       bc::kStrRefSize,
       {{"offset", bc::kStrRefOffsetOffset, 4}, {"length", bc::kStrRefLengthOffset, 4}}},
      {"PRF1 row", bc::kProfileRowSize, {{"name", bc::kProfileNameOffset, bc::kStrRefSize}}},
      {"SVC1 row",
       bc::kServiceRowSize,
       {{"name", bc::kServiceNameOffset, bc::kStrRefSize},
        {"role", bc::kServiceRoleOffset, bc::kStrRefSize},
        {"image", bc::kServiceImageOffset, bc::kStrRefSize},
        {"after_first", bc::kServiceAfterFirstOffset, 4},
        {"peers_first", bc::kServicePeersFirstOffset, 4},
        {"after_count", bc::kServiceAfterCountOffset, 2},
        {"peers_count", bc::kServicePeersCountOffset, 2},
        {"launch", bc::kServiceLaunchOffset, 1},
        {"reserved", bc::kServiceReservedOffset, bc::kServiceReservedSize}}},
      {"AFT1 and PER1 rows", bc::kEdgeRowSize, {{"service", 0, bc::kEdgeRowSize}}},
      {"PRV1 row",
       bc::kProviderRowSize,
       {{"name", bc::kProviderNameOffset, bc::kStrRefSize},
        {"service", bc::kProviderServiceOffset, 2},
        {"block", bc::kProviderBlockOffset, 2},
        {"key", bc::kProviderKeyOffset, 2},
        {"reserved", bc::kProviderReservedOffset, bc::kProviderReservedSize},
        {"partition", bc::kProviderPartitionOffset, 4}}},
      {"MNT1 row",
       bc::kMountRowSize,
       {{"path", bc::kMountPathOffset, bc::kStrRefSize},
        {"provider", bc::kMountProviderOffset, 2},
        {"read_only", bc::kMountReadOnlyOffset, 1},
        {"reserved", bc::kMountReservedOffset, bc::kMountReservedSize}}},
  };
}

}  // namespace

TEST_CASE(
    "docs/erixbcfg-v1.md: byte tables, sections, limits, reasons and example match the header") {
  const std::string spec = load_spec();
  REQUIRE_FALSE(spec.empty());
  const std::map<std::string, Table> tables = spec_tables(spec);

  for (const LayoutPin& pin : layout_pins()) {
    INFO(pin.heading);
    REQUIRE(tables.count(pin.heading) == 1);
    const Table& rows = tables.at(pin.heading);
    REQUIRE(rows.size() == pin.fields.size());
    std::size_t end = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      REQUIRE(rows[i].size() >= 3);
      CHECK(rows[i][0] == std::to_string(pin.fields[i].offset));
      CHECK(rows[i][1] == std::to_string(pin.fields[i].size));
      CHECK(rows[i][2] == pin.fields[i].name);
      CHECK(pin.fields[i].offset == end);  // no holes, no overlap
      end = pin.fields[i].offset + pin.fields[i].size;
    }
    CHECK(end == pin.total);
  }

  const Table& sections = tables.at("Sections");
  REQUIRE(sections.size() == bc::kSectionCount);
  for (std::size_t i = 0; i < bc::kSectionCount; ++i) {
    const bc::SectionInfo& info = bc::kSectionTable[i];
    INFO(sections[i][1]);
    CHECK(sections[i][0] == std::to_string(i));
    CHECK(sections[i][1] == std::string(info.tag, 4));
    CHECK(sections[i][2] == fmt::format("0x{:08X}", bc::section_tag_value(info)));
    CHECK(sections[i][3] == std::to_string(info.row_size));
    CHECK(sections[i][4] == fmt::format("{}..{}", info.min_rows, info.max_rows));
  }

  const std::map<std::string, std::uint64_t> limits = {
      {"kMaxServices", bc::kMaxServices},
      {"kMaxAfterEdges", bc::kMaxAfterEdges},
      {"kMaxPeerEdges", bc::kMaxPeerEdges},
      {"kMaxProviders", bc::kMaxProviders},
      {"kMaxMounts", bc::kMaxMounts},
      {"kMaxNameLength", bc::kMaxNameLength},
      {"kMaxProfileLength", bc::kMaxProfileLength},
      {"kMaxPathLength", bc::kMaxPathLength},
      {"kMaxStringBytes", bc::kMaxStringBytes},
      {"kNoIndex", bc::kNoIndex},
      {"kNoPartition", bc::kNoPartition},
  };
  const Table& limit_rows = tables.at("Limits");
  REQUIRE(limit_rows.size() == limits.size());
  for (const auto& row : limit_rows) {
    INFO(row[0]);
    REQUIRE(limits.count(row[0]) == 1);
    CHECK(row[1] == std::to_string(limits.at(row[0])));
  }

  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& row : tables.at("Reason codes")) documented.insert({row[0], row[1]});
  std::set<std::pair<std::string, std::string>> defined;
  for (const rootd::ReasonInfo& row : rootd::kReasonTable) {
    const auto number = static_cast<unsigned>(row.reason);
    if (number >= 200 && number < 300)
      defined.insert({std::to_string(number), std::string(row.name)});
  }
  CHECK(documented == defined);

  // The example dump is what the writer produces for the empty config.
  const std::size_t start = spec.find("```text", spec.find("## Example: the empty config"));
  REQUIRE(start != std::string::npos);
  std::istringstream dump(spec.substr(start, spec.find("```\n", start + 7) - start));
  std::string line;
  std::vector<char> documented_bytes;
  std::getline(dump, line);  // the fence
  while (std::getline(dump, line)) {
    std::istringstream fields(line.substr(line.find(':') + 1));
    CHECK(std::stoul(line.substr(0, line.find(':')), nullptr, 16) == documented_bytes.size());
    std::string hex;
    while (fields >> hex)
      documented_bytes.push_back(static_cast<char>(std::stoul(hex, nullptr, 16)));
  }
  CHECK(documented_bytes == encode(bc::ConfigDesc{}));
}
