// The kernel->root handoff: the bytes the kernel leaves for rootd (rdi =
// pointer, rsi = size), their validating parser (parse -> View) and a
// constexpr writer (Builder) for the simulator, tools and tests.
//
// docs/handoff-format.md specifies the format byte by byte. The offset
// constants below are the one source of truth for it; the wire structs exist
// only so that the compiler checks those constants against a natural C++
// layout. Input is never overlaid with a struct: every field is read with
// load_le*, after its range has been checked.
//
// The parser is strict and bounded. It walks the descriptor chain once,
// then checks the contents of each known descriptor once, in a fixed order;
// duplicates and overlaps are found by neighbour checks because names, kinds
// and ranges must come in canonical (sorted) order, and slots shared between
// descriptors are found with a fixed-size bitmap. Work is linear in the blob
// size, and the blob size is capped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "rootd/bytes.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::handoff {

// ---- limits ------------------------------------------------------------------

inline constexpr std::size_t kMaxModules = 4096;  // >= bcfg::kMaxServices plus extras
inline constexpr std::size_t kMaxUntyped = 256;
inline constexpr std::size_t kMaxEndpoints = kEndpointKindCount;  // one per kind at most
inline constexpr std::size_t kMaxNameLength = 31;  // module names: 1..31 of [a-z0-9-]
inline constexpr std::size_t kMaxDescriptors = 64;
// Large enough for every table at its limit plus room for platform
// descriptors of later kernels; small enough that the checksum pass is short.
inline constexpr std::size_t kMaxHandoffSize = std::size_t{1} << 20;
// Every slot the handoff names lies below first_free_slot, and first_free_slot
// is capped here, so one bitmap of this many bits finds any slot used twice.
inline constexpr std::uint32_t kMaxPopulatedSlots = 32768;
inline constexpr std::uint32_t kNoSlot = 0xFFFFFFFF;

inline constexpr std::uint64_t kPageSize = 4096;
// Module mappings live in the lower canonical half of the x86_64 address space.
inline constexpr std::uint64_t kUserAddressLimit = std::uint64_t{1} << 47;
// The largest physical address width x86_64 defines (MAXPHYADDR <= 52).
inline constexpr std::uint64_t kPhysicalAddressLimit = std::uint64_t{1} << 52;

// ---- header ------------------------------------------------------------------

inline constexpr std::string_view kMagic = "ERIXHOFF";
inline constexpr std::uint16_t kVersion = 1;

inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::size_t kHeaderMagicOffset = 0;
inline constexpr std::size_t kHeaderMagicSize = 8;
inline constexpr std::size_t kHeaderVersionOffset = 8;
inline constexpr std::size_t kHeaderHeaderSizeOffset = 10;
inline constexpr std::size_t kHeaderTotalSizeOffset = 12;
inline constexpr std::size_t kHeaderChecksumOffset = 16;
inline constexpr std::size_t kHeaderFlagsOffset = 20;
inline constexpr std::size_t kHeaderReservedOffset = 24;
inline constexpr std::size_t kHeaderReservedSize = 8;

// Header flags. A bit rootd does not know is rejected: a flag that changes
// meaning must not be ignored by an older rootd.
inline constexpr std::uint32_t kFlagUefiBoot = 1U << 0;  // firmware was UEFI (informational)
inline constexpr std::uint32_t kKnownFlags = kFlagUefiBoot;

// ---- descriptors -------------------------------------------------------------

inline constexpr std::size_t kDescriptorHeaderSize = 8;
inline constexpr std::size_t kDescriptorKindOffset = 0;
inline constexpr std::size_t kDescriptorFlagsOffset = 2;
inline constexpr std::size_t kDescriptorSizeOffset = 4;  // whole descriptor, header included
inline constexpr std::size_t kDescriptorAlign = 8;

inline constexpr std::uint16_t kDescriptorFlagSkippable = 1U << 0;
inline constexpr std::uint16_t kDescriptorKnownFlags = kDescriptorFlagSkippable;

inline constexpr std::uint16_t kKindCspace = 0x0001;
inline constexpr std::uint16_t kKindImageFrame = 0x0002;
inline constexpr std::uint16_t kKindEndpoints = 0x0003;
inline constexpr std::uint16_t kKindModules = 0x0004;
inline constexpr std::uint16_t kKindUntyped = 0x0005;
inline constexpr std::uint16_t kKindFramebuffer = 0x0101;
inline constexpr std::uint16_t kKindAcpiRsdp = 0x0102;

// Payload offsets are relative to the payload, which follows the 8-byte
// descriptor header.
inline constexpr std::size_t kCspacePayloadSize = 8;
inline constexpr std::size_t kCspaceSlotCountOffset = 0;
inline constexpr std::size_t kCspaceFirstFreeSlotOffset = 4;

inline constexpr std::size_t kImageFramePayloadSize = 16;
inline constexpr std::size_t kImageFrameSizeOffset = 0;
inline constexpr std::size_t kImageFrameSlotOffset = 8;
inline constexpr std::size_t kImageFrameReservedOffset = 12;
inline constexpr std::size_t kImageFrameReservedSize = 4;

// Table payloads are arrays of fixed-size entries; the count is the payload
// size divided by the entry size.
inline constexpr std::size_t kEndpointEntrySize = 8;
inline constexpr std::size_t kEndpointKindOffset = 0;
inline constexpr std::size_t kEndpointReservedOffset = 1;
inline constexpr std::size_t kEndpointReservedSize = 3;
inline constexpr std::size_t kEndpointSlotOffset = 4;

inline constexpr std::size_t kModuleEntrySize = 56;
inline constexpr std::size_t kModuleVaddrOffset = 0;
inline constexpr std::size_t kModuleSizeOffset = 8;
inline constexpr std::size_t kModuleFrameSlotOffset = 16;
inline constexpr std::size_t kModuleNameLengthOffset = 20;
inline constexpr std::size_t kModuleReservedOffset = 21;
inline constexpr std::size_t kModuleReservedSize = 3;
inline constexpr std::size_t kModuleNameOffset = 24;
inline constexpr std::size_t kModuleNameFieldSize = 32;

inline constexpr std::size_t kUntypedEntrySize = 24;
inline constexpr std::size_t kUntypedBaseOffset = 0;
inline constexpr std::size_t kUntypedSizeOffset = 8;
inline constexpr std::size_t kUntypedSlotOffset = 16;
inline constexpr std::size_t kUntypedFlagsOffset = 20;
inline constexpr std::size_t kUntypedReservedOffset = 21;
inline constexpr std::size_t kUntypedReservedSize = 3;
inline constexpr std::uint8_t kUntypedFlagDevice = 1U << 0;
inline constexpr std::uint8_t kUntypedKnownFlags = kUntypedFlagDevice;

inline constexpr std::size_t kFramebufferPayloadSize = 32;
inline constexpr std::size_t kFramebufferPaddrOffset = 0;
inline constexpr std::size_t kFramebufferWidthOffset = 8;
inline constexpr std::size_t kFramebufferHeightOffset = 12;
inline constexpr std::size_t kFramebufferPitchOffset = 16;
inline constexpr std::size_t kFramebufferSlotOffset = 20;
inline constexpr std::size_t kFramebufferBppOffset = 24;
inline constexpr std::size_t kFramebufferReservedOffset = 25;
inline constexpr std::size_t kFramebufferReservedSize = 7;

inline constexpr std::size_t kAcpiRsdpPayloadSize = 16;
inline constexpr std::size_t kAcpiRsdpPaddrOffset = 0;
inline constexpr std::size_t kAcpiRsdpRevisionOffset = 8;
inline constexpr std::size_t kAcpiRsdpReservedOffset = 9;
inline constexpr std::size_t kAcpiRsdpReservedSize = 7;
// The RSDP structure is 20 bytes in ACPI 1.0 (revision 0) and 36 bytes from
// ACPI 2.0 on (revision 2); the whole structure must be addressable.
inline constexpr std::uint64_t kAcpiRsdpLengthV1 = 20;
inline constexpr std::uint64_t kAcpiRsdpLengthV2 = 36;

// ---- wire structs: layout pins only ------------------------------------------

namespace wire {
struct Header {
  char magic[8];
  std::uint16_t version;
  std::uint16_t header_size;
  std::uint32_t total_size;
  std::uint32_t checksum;
  std::uint32_t flags;
  std::uint8_t reserved[8];
};
struct DescriptorHeader {
  std::uint16_t kind;
  std::uint16_t flags;
  std::uint32_t size;
};
struct CspacePayload {
  std::uint32_t slot_count;
  std::uint32_t first_free_slot;
};
struct ImageFramePayload {
  std::uint64_t size;
  std::uint32_t slot;
  std::uint8_t reserved[4];
};
struct EndpointEntry {
  std::uint8_t kind;
  std::uint8_t reserved[3];
  std::uint32_t slot;
};
struct ModuleEntry {
  std::uint64_t vaddr;
  std::uint64_t size;
  std::uint32_t frame_slot;
  std::uint8_t name_length;
  std::uint8_t reserved[3];
  char name[32];
};
struct UntypedEntry {
  std::uint64_t base;
  std::uint64_t size;
  std::uint32_t slot;
  std::uint8_t flags;
  std::uint8_t reserved[3];
};
struct FramebufferPayload {
  std::uint64_t paddr;
  std::uint32_t width;
  std::uint32_t height;
  std::uint32_t pitch;
  std::uint32_t slot;
  std::uint8_t bpp;
  std::uint8_t reserved[7];
};
struct AcpiRsdpPayload {
  std::uint64_t paddr;
  std::uint8_t revision;
  std::uint8_t reserved[7];
};

static_assert(sizeof(Header) == kHeaderSize);
static_assert(offsetof(Header, magic) == kHeaderMagicOffset &&
              sizeof(Header::magic) == kHeaderMagicSize);
static_assert(offsetof(Header, version) == kHeaderVersionOffset);
static_assert(offsetof(Header, header_size) == kHeaderHeaderSizeOffset);
static_assert(offsetof(Header, total_size) == kHeaderTotalSizeOffset);
static_assert(offsetof(Header, checksum) == kHeaderChecksumOffset);
static_assert(offsetof(Header, flags) == kHeaderFlagsOffset);
static_assert(offsetof(Header, reserved) == kHeaderReservedOffset &&
              sizeof(Header::reserved) == kHeaderReservedSize);
static_assert(kMagic.size() == kHeaderMagicSize);

static_assert(sizeof(DescriptorHeader) == kDescriptorHeaderSize);
static_assert(offsetof(DescriptorHeader, kind) == kDescriptorKindOffset);
static_assert(offsetof(DescriptorHeader, flags) == kDescriptorFlagsOffset);
static_assert(offsetof(DescriptorHeader, size) == kDescriptorSizeOffset);

static_assert(sizeof(CspacePayload) == kCspacePayloadSize);
static_assert(offsetof(CspacePayload, slot_count) == kCspaceSlotCountOffset);
static_assert(offsetof(CspacePayload, first_free_slot) == kCspaceFirstFreeSlotOffset);

static_assert(sizeof(ImageFramePayload) == kImageFramePayloadSize);
static_assert(offsetof(ImageFramePayload, size) == kImageFrameSizeOffset);
static_assert(offsetof(ImageFramePayload, slot) == kImageFrameSlotOffset);
static_assert(offsetof(ImageFramePayload, reserved) == kImageFrameReservedOffset &&
              sizeof(ImageFramePayload::reserved) == kImageFrameReservedSize);

static_assert(sizeof(EndpointEntry) == kEndpointEntrySize);
static_assert(offsetof(EndpointEntry, kind) == kEndpointKindOffset);
static_assert(offsetof(EndpointEntry, reserved) == kEndpointReservedOffset &&
              sizeof(EndpointEntry::reserved) == kEndpointReservedSize);
static_assert(offsetof(EndpointEntry, slot) == kEndpointSlotOffset);

static_assert(sizeof(ModuleEntry) == kModuleEntrySize);
static_assert(offsetof(ModuleEntry, vaddr) == kModuleVaddrOffset);
static_assert(offsetof(ModuleEntry, size) == kModuleSizeOffset);
static_assert(offsetof(ModuleEntry, frame_slot) == kModuleFrameSlotOffset);
static_assert(offsetof(ModuleEntry, name_length) == kModuleNameLengthOffset);
static_assert(offsetof(ModuleEntry, reserved) == kModuleReservedOffset &&
              sizeof(ModuleEntry::reserved) == kModuleReservedSize);
static_assert(offsetof(ModuleEntry, name) == kModuleNameOffset &&
              sizeof(ModuleEntry::name) == kModuleNameFieldSize);
static_assert(kMaxNameLength < kModuleNameFieldSize, "a valid name always leaves zero padding");

static_assert(sizeof(UntypedEntry) == kUntypedEntrySize);
static_assert(offsetof(UntypedEntry, base) == kUntypedBaseOffset);
static_assert(offsetof(UntypedEntry, size) == kUntypedSizeOffset);
static_assert(offsetof(UntypedEntry, slot) == kUntypedSlotOffset);
static_assert(offsetof(UntypedEntry, flags) == kUntypedFlagsOffset);
static_assert(offsetof(UntypedEntry, reserved) == kUntypedReservedOffset &&
              sizeof(UntypedEntry::reserved) == kUntypedReservedSize);

static_assert(sizeof(FramebufferPayload) == kFramebufferPayloadSize);
static_assert(offsetof(FramebufferPayload, paddr) == kFramebufferPaddrOffset);
static_assert(offsetof(FramebufferPayload, width) == kFramebufferWidthOffset);
static_assert(offsetof(FramebufferPayload, height) == kFramebufferHeightOffset);
static_assert(offsetof(FramebufferPayload, pitch) == kFramebufferPitchOffset);
static_assert(offsetof(FramebufferPayload, slot) == kFramebufferSlotOffset);
static_assert(offsetof(FramebufferPayload, bpp) == kFramebufferBppOffset);
static_assert(offsetof(FramebufferPayload, reserved) == kFramebufferReservedOffset &&
              sizeof(FramebufferPayload::reserved) == kFramebufferReservedSize);

static_assert(sizeof(AcpiRsdpPayload) == kAcpiRsdpPayloadSize);
static_assert(offsetof(AcpiRsdpPayload, paddr) == kAcpiRsdpPaddrOffset);
static_assert(offsetof(AcpiRsdpPayload, revision) == kAcpiRsdpRevisionOffset);
static_assert(offsetof(AcpiRsdpPayload, reserved) == kAcpiRsdpReservedOffset &&
              sizeof(AcpiRsdpPayload::reserved) == kAcpiRsdpReservedSize);

// Every descriptor and table entry keeps the 8-byte alignment of the chain.
static_assert(kHeaderSize % kDescriptorAlign == 0);
static_assert(kCspacePayloadSize % kDescriptorAlign == 0);
static_assert(kImageFramePayloadSize % kDescriptorAlign == 0);
static_assert(kEndpointEntrySize % kDescriptorAlign == 0);
static_assert(kModuleEntrySize % kDescriptorAlign == 0);
static_assert(kUntypedEntrySize % kDescriptorAlign == 0);
static_assert(kFramebufferPayloadSize % kDescriptorAlign == 0);
static_assert(kAcpiRsdpPayloadSize % kDescriptorAlign == 0);
}  // namespace wire

// Offsets in errors are reported as 32-bit values; every offset is below the cap.
static_assert(kMaxHandoffSize <= std::numeric_limits<std::uint32_t>::max());
static_assert(kMaxPopulatedSlots % 64 == 0);

// ---- decoded values ----------------------------------------------------------

// The module's bytes are mapped read-only at [vaddr, vaddr + size) in rootd's
// address space; frame_slot holds the frame cap for them in rootd's cspace.
struct Module {
  std::string_view name;
  std::uint64_t vaddr = 0;
  std::uint64_t size = 0;
  std::uint32_t frame_slot = 0;
  friend constexpr bool operator==(const Module&, const Module&) = default;
};
struct Untyped {
  std::uint64_t base = 0;
  std::uint64_t size = 0;
  std::uint32_t slot = 0;
  bool device = false;
  friend constexpr bool operator==(const Untyped&, const Untyped&) = default;
};
struct ImageFrame {  // the boot image frame cap
  std::uint32_t slot = 0;
  std::uint64_t size = 0;
  friend constexpr bool operator==(const ImageFrame&, const ImageFrame&) = default;
};
struct Cspace {
  std::uint32_t slot_count = 0;
  std::uint32_t first_free_slot = 0;
  friend constexpr bool operator==(const Cspace&, const Cspace&) = default;
};
struct Endpoint {  // where the kernel put the endpoint in rootd's cspace
  EndpointKind kind = EndpointKind::DRIVER_LIFECYCLE;
  std::uint32_t slot = 0;
  friend constexpr bool operator==(const Endpoint&, const Endpoint&) = default;
};
struct Framebuffer {
  std::uint64_t paddr = 0;
  std::uint32_t width = 0, height = 0, pitch = 0;
  std::uint8_t bpp = 0;
  std::uint32_t slot = 0;
  friend constexpr bool operator==(const Framebuffer&, const Framebuffer&) = default;
};
struct AcpiRsdp {
  std::uint64_t paddr = 0;
  std::uint8_t revision = 0;
  friend constexpr bool operator==(const AcpiRsdp&, const AcpiRsdp&) = default;
};

// ---- checksum ----------------------------------------------------------------

// CRC-32C over the whole blob, [0, total_size), with the four checksum bytes
// read as zero. The caller guarantees blob.size() >= kHeaderSize.
constexpr std::uint32_t compute_checksum(Bytes blob) {
  const std::array<char, 4> zero_field{};
  std::uint32_t state = crc32c_update(kCrc32cInit, Bytes(blob.data(), kHeaderChecksumOffset));
  state = crc32c_update(state, Bytes(zero_field.data(), zero_field.size()));
  const std::size_t after = kHeaderChecksumOffset + zero_field.size();
  state = crc32c_update(state, Bytes(blob.data() + after, blob.size() - after));
  return crc32c_final(state);
}

// ---- parser ------------------------------------------------------------------

namespace detail {

// Not constexpr on purpose: an out-of-range index fails the build in a
// constant expression and traps at run time.
[[noreturn]] inline void view_index_out_of_range() { __builtin_trap(); }
constexpr void require_index(bool in_range) {
  if (!in_range) view_index_out_of_range();
}

constexpr Error fail(Reason reason, std::size_t at) {
  return Error{reason, static_cast<std::uint32_t>(at)};
}

constexpr bool page_aligned(std::uint64_t v) { return v % kPageSize == 0; }

constexpr Check expect_zero(Bytes b, std::size_t at, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) {
    if (b[at + i] != 0) return fail(Reason::HANDOFF_RESERVED_NONZERO, at + i);
  }
  return kOk;
}

constexpr bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// Byte order, a prefix first. On two zero-padded name fields this is the
// order of the names themselves, since valid names contain no zero byte.
constexpr int compare_name_fields(Bytes b, std::size_t x, std::size_t y) {
  for (std::size_t i = 0; i < kModuleNameFieldSize; ++i) {
    const std::uint8_t p = byte_at(b, x + i);
    const std::uint8_t q = byte_at(b, y + i);
    if (p != q) return p < q ? -1 : 1;
  }
  return 0;
}

constexpr int compare_names(std::string_view a, std::string_view b) {
  const std::size_t common = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < common; ++i) {
    const auto p = static_cast<std::uint8_t>(a[i]);
    const auto q = static_cast<std::uint8_t>(b[i]);
    if (p != q) return p < q ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

// Where each known descriptor sits: `at` is the descriptor's offset (0 when
// absent: offset 0 is the header), `payload_size` its payload length.
struct Located {
  std::size_t at = 0;
  std::size_t payload_size = 0;
  constexpr bool present() const { return at != 0; }
  constexpr std::size_t payload() const { return at + kDescriptorHeaderSize; }
};

struct Layout {
  Located cspace, image_frame, endpoints, modules, untyped, framebuffer, acpi_rsdp;

  constexpr Located* find(std::uint16_t kind) {
    switch (kind) {
      case kKindCspace:
        return &cspace;
      case kKindImageFrame:
        return &image_frame;
      case kKindEndpoints:
        return &endpoints;
      case kKindModules:
        return &modules;
      case kKindUntyped:
        return &untyped;
      case kKindFramebuffer:
        return &framebuffer;
      case kKindAcpiRsdp:
        return &acpi_rsdp;
      default:
        return nullptr;
    }
  }
};

// Fixed kinds have one payload size; tables any whole number of entries.
constexpr bool payload_size_fits(std::uint16_t kind, std::size_t payload) {
  switch (kind) {
    case kKindCspace:
      return payload == kCspacePayloadSize;
    case kKindImageFrame:
      return payload == kImageFramePayloadSize;
    case kKindEndpoints:
      return payload % kEndpointEntrySize == 0;
    case kKindModules:
      return payload % kModuleEntrySize == 0;
    case kKindUntyped:
      return payload % kUntypedEntrySize == 0;
    case kKindFramebuffer:
      return payload == kFramebufferPayloadSize;
    case kKindAcpiRsdp:
      return payload == kAcpiRsdpPayloadSize;
    default:
      return false;
  }
}

// Claims each slot the handoff names: in the cspace, below the free range,
// and named by nobody else.
class SlotClaims {
 public:
  constexpr explicit SlotClaims(Cspace cspace) : cspace_(cspace) {}

  constexpr Check claim(std::uint32_t slot, std::size_t at) {
    if (slot >= cspace_.slot_count) return fail(Reason::HANDOFF_SLOT_BEYOND_CSPACE, at);
    if (slot >= cspace_.first_free_slot) return fail(Reason::HANDOFF_SLOT_NOT_POPULATED, at);
    // first_free_slot <= kMaxPopulatedSlots was checked before any claim.
    std::uint64_t& word = used_[slot / 64];
    const std::uint64_t bit = std::uint64_t{1} << (slot % 64);
    if ((word & bit) != 0) return fail(Reason::HANDOFF_SLOT_REUSED, at);
    word |= bit;
    return kOk;
  }

 private:
  Cspace cspace_;
  std::array<std::uint64_t, kMaxPopulatedSlots / 64> used_{};
};

// Ranges [base, base + size) must come in ascending order without overlap.
// One that intersects its predecessor overlaps; one wholly below it is out
// of order. The caller has checked that base + size does not wrap.
enum class RangeOrder { kAscending, kOverlap, kUnsorted };
constexpr RangeOrder order_after(std::uint64_t prev_base, std::uint64_t prev_size,
                                 std::uint64_t base, std::uint64_t size) {
  if (base >= prev_base + prev_size) return RangeOrder::kAscending;
  return base + size > prev_base ? RangeOrder::kOverlap : RangeOrder::kUnsorted;
}

}  // namespace detail

class View;
constexpr Result<View> parse(Bytes blob);

// A validated handoff: non-owning, cheap to copy. Only parse() makes a
// non-empty one, so every read below stays inside checked ranges.
class View {
 public:
  constexpr View() = default;

  constexpr Bytes bytes() const { return bytes_; }
  constexpr std::uint32_t flags() const { return flags_; }
  constexpr Cspace cspace() const { return cspace_; }
  constexpr ImageFrame image_frame() const { return image_frame_; }

  // Modules in canonical order: ascending by name, and by address.
  constexpr std::size_t module_count() const { return module_count_; }
  constexpr Module module(std::size_t i) const {
    detail::require_index(i < module_count_);
    const std::size_t at = modules_at_ + i * kModuleEntrySize;
    Module m;
    m.name =
        chars_at(bytes_, at + kModuleNameOffset, byte_at(bytes_, at + kModuleNameLengthOffset));
    m.vaddr = load_le64(bytes_, at + kModuleVaddrOffset);
    m.size = load_le64(bytes_, at + kModuleSizeOffset);
    m.frame_slot = load_le32(bytes_, at + kModuleFrameSlotOffset);
    return m;
  }
  // Binary search over the sorted names; module_count() when absent.
  constexpr std::size_t find_module(std::string_view name) const {
    std::size_t low = 0;
    std::size_t high = module_count_;
    while (low < high) {
      const std::size_t mid = low + (high - low) / 2;
      const int order = detail::compare_names(module(mid).name, name);
      if (order == 0) return mid;
      if (order < 0) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return module_count_;
  }

  // Endpoints in ascending kind order, each kind at most once.
  constexpr std::size_t endpoint_count() const { return endpoint_count_; }
  constexpr Endpoint endpoint(std::size_t i) const {
    detail::require_index(i < endpoint_count_);
    const std::size_t at = endpoints_at_ + i * kEndpointEntrySize;
    Endpoint e;
    e.kind = static_cast<EndpointKind>(byte_at(bytes_, at + kEndpointKindOffset));
    e.slot = load_le32(bytes_, at + kEndpointSlotOffset);
    return e;
  }
  constexpr std::uint32_t endpoint_slot(EndpointKind kind) const {
    for (std::size_t i = 0; i < endpoint_count_; ++i) {
      const Endpoint e = endpoint(i);
      if (e.kind == kind) return e.slot;
    }
    return kNoSlot;
  }

  // Untyped regions in ascending address order, disjoint.
  constexpr std::size_t untyped_count() const { return untyped_count_; }
  constexpr Untyped untyped(std::size_t i) const {
    detail::require_index(i < untyped_count_);
    const std::size_t at = untyped_at_ + i * kUntypedEntrySize;
    Untyped u;
    u.base = load_le64(bytes_, at + kUntypedBaseOffset);
    u.size = load_le64(bytes_, at + kUntypedSizeOffset);
    u.slot = load_le32(bytes_, at + kUntypedSlotOffset);
    u.device = (byte_at(bytes_, at + kUntypedFlagsOffset) & kUntypedFlagDevice) != 0;
    return u;
  }

  constexpr std::optional<Framebuffer> framebuffer() const {
    if (framebuffer_at_ == 0) return std::nullopt;
    const std::size_t at = framebuffer_at_;
    Framebuffer f;
    f.paddr = load_le64(bytes_, at + kFramebufferPaddrOffset);
    f.width = load_le32(bytes_, at + kFramebufferWidthOffset);
    f.height = load_le32(bytes_, at + kFramebufferHeightOffset);
    f.pitch = load_le32(bytes_, at + kFramebufferPitchOffset);
    f.bpp = byte_at(bytes_, at + kFramebufferBppOffset);
    f.slot = load_le32(bytes_, at + kFramebufferSlotOffset);
    return f;
  }

  constexpr std::optional<AcpiRsdp> acpi_rsdp() const {
    if (acpi_rsdp_at_ == 0) return std::nullopt;
    AcpiRsdp r;
    r.paddr = load_le64(bytes_, acpi_rsdp_at_ + kAcpiRsdpPaddrOffset);
    r.revision = byte_at(bytes_, acpi_rsdp_at_ + kAcpiRsdpRevisionOffset);
    return r;
  }

  // Offset within bytes() of the payload of the descriptor of a known
  // `kind`, or 0 when it is absent (or the kind unknown): later checks use it
  // to report the offset of a handoff field they reject.
  constexpr std::size_t payload_offset(std::uint16_t kind) const {
    switch (kind) {
      case kKindCspace:
        return cspace_at_;
      case kKindImageFrame:
        return image_frame_at_;
      case kKindEndpoints:
        return endpoints_at_;
      case kKindModules:
        return modules_at_;
      case kKindUntyped:
        return untyped_at_;
      case kKindFramebuffer:
        return framebuffer_at_;
      case kKindAcpiRsdp:
        return acpi_rsdp_at_;
      default:
        return 0;
    }
  }

 private:
  friend constexpr Result<View> parse(Bytes blob);

  Bytes bytes_{};
  std::uint32_t flags_ = 0;
  Cspace cspace_{};
  ImageFrame image_frame_{};
  // Payload offsets; 0 means absent (offset 0 is the header).
  std::size_t cspace_at_ = 0;
  std::size_t image_frame_at_ = 0;
  std::size_t modules_at_ = 0;
  std::size_t module_count_ = 0;
  std::size_t endpoints_at_ = 0;
  std::size_t endpoint_count_ = 0;
  std::size_t untyped_at_ = 0;
  std::size_t untyped_count_ = 0;
  std::size_t framebuffer_at_ = 0;
  std::size_t acpi_rsdp_at_ = 0;
};

namespace detail {

constexpr Check check_header(Bytes blob) {
  if (blob.size() < kHeaderSize) return fail(Reason::HANDOFF_TRUNCATED_HEADER, blob.size());
  for (std::size_t i = 0; i < kHeaderMagicSize; ++i) {
    if (blob[kHeaderMagicOffset + i] != kMagic[i])
      return fail(Reason::HANDOFF_BAD_MAGIC, kHeaderMagicOffset + i);
  }
  if (load_le16(blob, kHeaderVersionOffset) != kVersion) {
    return fail(Reason::HANDOFF_UNSUPPORTED_VERSION, kHeaderVersionOffset);
  }
  if (load_le16(blob, kHeaderHeaderSizeOffset) != kHeaderSize) {
    return fail(Reason::HANDOFF_BAD_HEADER_SIZE, kHeaderHeaderSizeOffset);
  }
  // Before the checksum pass, so that pass is bounded too.
  if (blob.size() > kMaxHandoffSize) return fail(Reason::HANDOFF_TOO_LARGE, kHeaderTotalSizeOffset);
  if (load_le32(blob, kHeaderTotalSizeOffset) != blob.size()) {
    return fail(Reason::HANDOFF_SIZE_MISMATCH, kHeaderTotalSizeOffset);
  }
  if (load_le32(blob, kHeaderChecksumOffset) != compute_checksum(blob)) {
    return fail(Reason::HANDOFF_CHECKSUM_MISMATCH, kHeaderChecksumOffset);
  }
  if ((load_le32(blob, kHeaderFlagsOffset) & ~kKnownFlags) != 0) {
    return fail(Reason::HANDOFF_UNKNOWN_FLAGS, kHeaderFlagsOffset);
  }
  return expect_zero(blob, kHeaderReservedOffset, kHeaderReservedSize);
}

// One pass over the descriptor chain: framing, kinds, flags, duplicates and
// payload sizes. Contents are checked afterwards, in a fixed order.
constexpr Check walk_descriptors(Bytes blob, Layout& layout) {
  const std::size_t total = blob.size();
  std::size_t count = 0;
  std::size_t at = kHeaderSize;
  while (at < total) {
    if (total - at < kDescriptorHeaderSize) return fail(Reason::HANDOFF_DESCRIPTOR_TRUNCATED, at);
    if (++count > kMaxDescriptors) return fail(Reason::HANDOFF_TOO_MANY_DESCRIPTORS, at);
    const std::uint16_t kind = load_le16(blob, at + kDescriptorKindOffset);
    const std::uint16_t flags = load_le16(blob, at + kDescriptorFlagsOffset);
    const std::uint32_t size = load_le32(blob, at + kDescriptorSizeOffset);
    const std::size_t size_at = at + kDescriptorSizeOffset;
    if (size < kDescriptorHeaderSize)
      return fail(Reason::HANDOFF_DESCRIPTOR_SIZE_TOO_SMALL, size_at);
    if (size % kDescriptorAlign != 0)
      return fail(Reason::HANDOFF_DESCRIPTOR_SIZE_UNALIGNED, size_at);
    if (!range_fits(at, size, total)) return fail(Reason::HANDOFF_DESCRIPTOR_OVERRUNS, size_at);
    if ((flags & ~kDescriptorKnownFlags) != 0) {
      return fail(Reason::HANDOFF_DESCRIPTOR_FLAGS_UNKNOWN, at + kDescriptorFlagsOffset);
    }
    Located* known = layout.find(kind);
    if (known == nullptr) {
      if ((flags & kDescriptorFlagSkippable) == 0)
        return fail(Reason::HANDOFF_DESCRIPTOR_KIND_UNKNOWN, at);
    } else {
      if (known->present()) return fail(Reason::HANDOFF_DESCRIPTOR_DUPLICATE, at);
      const std::size_t payload = size - kDescriptorHeaderSize;
      if (!payload_size_fits(kind, payload))
        return fail(Reason::HANDOFF_DESCRIPTOR_PAYLOAD_SIZE, size_at);
      known->at = at;
      known->payload_size = payload;
    }
    at += size;
  }
  if (!layout.cspace.present()) return fail(Reason::HANDOFF_MISSING_CSPACE, total);
  if (!layout.image_frame.present()) return fail(Reason::HANDOFF_MISSING_IMAGE_FRAME, total);
  if (!layout.endpoints.present()) return fail(Reason::HANDOFF_MISSING_ENDPOINTS, total);
  return kOk;
}

constexpr Result<Cspace> check_cspace(Bytes blob, const Located& d) {
  const std::size_t p = d.payload();
  Cspace c;
  c.slot_count = load_le32(blob, p + kCspaceSlotCountOffset);
  c.first_free_slot = load_le32(blob, p + kCspaceFirstFreeSlotOffset);
  if (c.first_free_slot >= c.slot_count) {
    return fail(Reason::HANDOFF_CSPACE_NO_FREE_SLOT, p + kCspaceFirstFreeSlotOffset);
  }
  if (c.first_free_slot > kMaxPopulatedSlots) {
    return fail(Reason::HANDOFF_CSPACE_TOO_MANY_POPULATED, p + kCspaceFirstFreeSlotOffset);
  }
  return c;
}

constexpr Result<ImageFrame> check_image_frame(Bytes blob, const Located& d, SlotClaims& slots) {
  const std::size_t p = d.payload();
  ImageFrame f;
  f.size = load_le64(blob, p + kImageFrameSizeOffset);
  f.slot = load_le32(blob, p + kImageFrameSlotOffset);
  if (f.size == 0) return fail(Reason::HANDOFF_IMAGE_FRAME_EMPTY, p + kImageFrameSizeOffset);
  if (!page_aligned(f.size))
    return fail(Reason::HANDOFF_IMAGE_FRAME_UNALIGNED, p + kImageFrameSizeOffset);
  if (Check c = expect_zero(blob, p + kImageFrameReservedOffset, kImageFrameReservedSize); !ok(c))
    return c;
  if (Check c = slots.claim(f.slot, p + kImageFrameSlotOffset); !ok(c)) return c;
  return f;
}

constexpr Check check_endpoints(Bytes blob, const Located& d, SlotClaims& slots) {
  const std::size_t count = d.payload_size / kEndpointEntrySize;
  if (count > kMaxEndpoints)
    return fail(Reason::HANDOFF_TOO_MANY_ENDPOINTS, d.at + kDescriptorSizeOffset);
  std::uint8_t previous = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t e = d.payload() + i * kEndpointEntrySize;
    const std::uint8_t kind = byte_at(blob, e + kEndpointKindOffset);
    if (!endpoint_kind_valid(kind))
      return fail(Reason::HANDOFF_ENDPOINT_KIND_UNKNOWN, e + kEndpointKindOffset);
    if (Check c = expect_zero(blob, e + kEndpointReservedOffset, kEndpointReservedSize); !ok(c))
      return c;
    if (i > 0 && kind == previous)
      return fail(Reason::HANDOFF_ENDPOINT_DUPLICATE, e + kEndpointKindOffset);
    if (i > 0 && kind < previous)
      return fail(Reason::HANDOFF_ENDPOINT_UNSORTED, e + kEndpointKindOffset);
    if (Check c = slots.claim(load_le32(blob, e + kEndpointSlotOffset), e + kEndpointSlotOffset);
        !ok(c)) {
      return c;
    }
    previous = kind;
  }
  return kOk;
}

constexpr Check check_module_name(Bytes blob, std::size_t e) {
  const std::size_t length = byte_at(blob, e + kModuleNameLengthOffset);
  if (length == 0) return fail(Reason::HANDOFF_MODULE_NAME_EMPTY, e + kModuleNameLengthOffset);
  if (length > kMaxNameLength)
    return fail(Reason::HANDOFF_MODULE_NAME_TOO_LONG, e + kModuleNameLengthOffset);
  const std::size_t name = e + kModuleNameOffset;
  for (std::size_t i = 0; i < length; ++i) {
    if (!name_char(blob[name + i])) return fail(Reason::HANDOFF_MODULE_NAME_INVALID_CHAR, name + i);
  }
  for (std::size_t i = length; i < kModuleNameFieldSize; ++i) {
    if (blob[name + i] != 0) return fail(Reason::HANDOFF_MODULE_NAME_PADDING_NONZERO, name + i);
  }
  return kOk;
}

constexpr Check check_modules(Bytes blob, const Located& d, SlotClaims& slots) {
  const std::size_t count = d.payload_size / kModuleEntrySize;
  if (count > kMaxModules)
    return fail(Reason::HANDOFF_TOO_MANY_MODULES, d.at + kDescriptorSizeOffset);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t e = d.payload() + i * kModuleEntrySize;
    if (Check c = check_module_name(blob, e); !ok(c)) return c;
    if (Check c = expect_zero(blob, e + kModuleReservedOffset, kModuleReservedSize); !ok(c))
      return c;
    const std::size_t previous = e - kModuleEntrySize;
    if (i > 0) {
      const int order =
          compare_name_fields(blob, previous + kModuleNameOffset, e + kModuleNameOffset);
      if (order == 0) return fail(Reason::HANDOFF_MODULE_NAME_DUPLICATE, e + kModuleNameOffset);
      if (order > 0) return fail(Reason::HANDOFF_MODULE_UNSORTED, e + kModuleNameOffset);
    }
    const std::uint64_t vaddr = load_le64(blob, e + kModuleVaddrOffset);
    const std::uint64_t size = load_le64(blob, e + kModuleSizeOffset);
    if (size == 0) return fail(Reason::HANDOFF_MODULE_EMPTY, e + kModuleSizeOffset);
    if (!page_aligned(vaddr))
      return fail(Reason::HANDOFF_MODULE_VADDR_UNALIGNED, e + kModuleVaddrOffset);
    if (!range_fits(vaddr, size, kUserAddressLimit)) {
      return fail(Reason::HANDOFF_MODULE_OUTSIDE_USER_SPACE, e + kModuleVaddrOffset);
    }
    if (i > 0) {
      const RangeOrder order =
          order_after(load_le64(blob, previous + kModuleVaddrOffset),
                      load_le64(blob, previous + kModuleSizeOffset), vaddr, size);
      if (order == RangeOrder::kOverlap)
        return fail(Reason::HANDOFF_MODULE_RANGES_OVERLAP, e + kModuleVaddrOffset);
      if (order == RangeOrder::kUnsorted)
        return fail(Reason::HANDOFF_MODULE_VADDR_UNSORTED, e + kModuleVaddrOffset);
    }
    if (Check c =
            slots.claim(load_le32(blob, e + kModuleFrameSlotOffset), e + kModuleFrameSlotOffset);
        !ok(c)) {
      return c;
    }
  }
  return kOk;
}

constexpr Check check_untyped(Bytes blob, const Located& d, SlotClaims& slots) {
  const std::size_t count = d.payload_size / kUntypedEntrySize;
  if (count > kMaxUntyped)
    return fail(Reason::HANDOFF_TOO_MANY_UNTYPED, d.at + kDescriptorSizeOffset);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t e = d.payload() + i * kUntypedEntrySize;
    const std::uint64_t base = load_le64(blob, e + kUntypedBaseOffset);
    const std::uint64_t size = load_le64(blob, e + kUntypedSizeOffset);
    if ((byte_at(blob, e + kUntypedFlagsOffset) & ~kUntypedKnownFlags) != 0) {
      return fail(Reason::HANDOFF_UNTYPED_FLAGS_UNKNOWN, e + kUntypedFlagsOffset);
    }
    if (Check c = expect_zero(blob, e + kUntypedReservedOffset, kUntypedReservedSize); !ok(c))
      return c;
    if (size == 0) return fail(Reason::HANDOFF_UNTYPED_EMPTY, e + kUntypedSizeOffset);
    if (!page_aligned(base)) return fail(Reason::HANDOFF_UNTYPED_UNALIGNED, e + kUntypedBaseOffset);
    if (!page_aligned(size)) return fail(Reason::HANDOFF_UNTYPED_UNALIGNED, e + kUntypedSizeOffset);
    if (!range_fits(base, size, kPhysicalAddressLimit)) {
      return fail(Reason::HANDOFF_UNTYPED_BEYOND_PHYSICAL, e + kUntypedBaseOffset);
    }
    if (i > 0) {
      const std::size_t previous = e - kUntypedEntrySize;
      const RangeOrder order =
          order_after(load_le64(blob, previous + kUntypedBaseOffset),
                      load_le64(blob, previous + kUntypedSizeOffset), base, size);
      if (order == RangeOrder::kOverlap)
        return fail(Reason::HANDOFF_UNTYPED_OVERLAP, e + kUntypedBaseOffset);
      if (order == RangeOrder::kUnsorted)
        return fail(Reason::HANDOFF_UNTYPED_UNSORTED, e + kUntypedBaseOffset);
    }
    if (Check c = slots.claim(load_le32(blob, e + kUntypedSlotOffset), e + kUntypedSlotOffset);
        !ok(c))
      return c;
  }
  return kOk;
}

constexpr bool framebuffer_bpp_supported(std::uint8_t bpp) {
  return bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32;
}

constexpr Check check_framebuffer(Bytes blob, const Located& d, SlotClaims& slots) {
  const std::size_t p = d.payload();
  const std::uint64_t paddr = load_le64(blob, p + kFramebufferPaddrOffset);
  const std::uint64_t width = load_le32(blob, p + kFramebufferWidthOffset);
  const std::uint64_t height = load_le32(blob, p + kFramebufferHeightOffset);
  const std::uint64_t pitch = load_le32(blob, p + kFramebufferPitchOffset);
  const std::uint8_t bpp = byte_at(blob, p + kFramebufferBppOffset);
  if (!page_aligned(paddr))
    return fail(Reason::HANDOFF_FRAMEBUFFER_UNALIGNED, p + kFramebufferPaddrOffset);
  if (width == 0) return fail(Reason::HANDOFF_FRAMEBUFFER_EMPTY, p + kFramebufferWidthOffset);
  if (height == 0) return fail(Reason::HANDOFF_FRAMEBUFFER_EMPTY, p + kFramebufferHeightOffset);
  if (!framebuffer_bpp_supported(bpp)) {
    return fail(Reason::HANDOFF_FRAMEBUFFER_BPP_UNSUPPORTED, p + kFramebufferBppOffset);
  }
  // 32-bit factors: neither product can wrap in 64 bits.
  if (pitch < width * (bpp / 8U))
    return fail(Reason::HANDOFF_FRAMEBUFFER_PITCH_TOO_SMALL, p + kFramebufferPitchOffset);
  if (!range_fits(paddr, pitch * height, kPhysicalAddressLimit)) {
    return fail(Reason::HANDOFF_FRAMEBUFFER_BEYOND_PHYSICAL, p + kFramebufferPaddrOffset);
  }
  if (Check c = expect_zero(blob, p + kFramebufferReservedOffset, kFramebufferReservedSize); !ok(c))
    return c;
  return slots.claim(load_le32(blob, p + kFramebufferSlotOffset), p + kFramebufferSlotOffset);
}

constexpr Check check_acpi_rsdp(Bytes blob, const Located& d) {
  const std::size_t p = d.payload();
  const std::uint64_t paddr = load_le64(blob, p + kAcpiRsdpPaddrOffset);
  const std::uint8_t revision = byte_at(blob, p + kAcpiRsdpRevisionOffset);
  if (paddr == 0) return fail(Reason::HANDOFF_ACPI_RSDP_NULL, p + kAcpiRsdpPaddrOffset);
  if (revision != 0 && revision != 2)
    return fail(Reason::HANDOFF_ACPI_REVISION_UNKNOWN, p + kAcpiRsdpRevisionOffset);
  const std::uint64_t length = revision == 0 ? kAcpiRsdpLengthV1 : kAcpiRsdpLengthV2;
  if (!range_fits(paddr, length, kPhysicalAddressLimit)) {
    return fail(Reason::HANDOFF_ACPI_RSDP_BEYOND_PHYSICAL, p + kAcpiRsdpPaddrOffset);
  }
  return expect_zero(blob, p + kAcpiRsdpReservedOffset, kAcpiRsdpReservedSize);
}

}  // namespace detail

// Validates the handoff. blob.size() is the size the kernel passed in rsi.
// Checks run in a fixed order (docs/handoff-format.md) and the first failure
// is returned with the offset of the offending field.
constexpr Result<View> parse(Bytes blob) {
  if (Check c = detail::check_header(blob); !ok(c)) return c;
  detail::Layout layout;
  if (Check c = detail::walk_descriptors(blob, layout); !ok(c)) return c;

  const Result<Cspace> cspace = detail::check_cspace(blob, layout.cspace);
  if (!cspace) return cspace.error();
  detail::SlotClaims slots(*cspace);
  const Result<ImageFrame> image_frame = detail::check_image_frame(blob, layout.image_frame, slots);
  if (!image_frame) return image_frame.error();
  if (Check c = detail::check_endpoints(blob, layout.endpoints, slots); !ok(c)) return c;
  if (layout.modules.present()) {
    if (Check c = detail::check_modules(blob, layout.modules, slots); !ok(c)) return c;
  }
  if (layout.untyped.present()) {
    if (Check c = detail::check_untyped(blob, layout.untyped, slots); !ok(c)) return c;
  }
  if (layout.framebuffer.present()) {
    if (Check c = detail::check_framebuffer(blob, layout.framebuffer, slots); !ok(c)) return c;
  }
  if (layout.acpi_rsdp.present()) {
    if (Check c = detail::check_acpi_rsdp(blob, layout.acpi_rsdp); !ok(c)) return c;
  }

  View v;
  v.bytes_ = blob;
  v.flags_ = load_le32(blob, kHeaderFlagsOffset);
  v.cspace_ = *cspace;
  v.cspace_at_ = layout.cspace.payload();
  v.image_frame_ = *image_frame;
  v.image_frame_at_ = layout.image_frame.payload();
  v.endpoints_at_ = layout.endpoints.payload();
  v.endpoint_count_ = layout.endpoints.payload_size / kEndpointEntrySize;
  if (layout.modules.present()) {
    v.modules_at_ = layout.modules.payload();
    v.module_count_ = layout.modules.payload_size / kModuleEntrySize;
  }
  if (layout.untyped.present()) {
    v.untyped_at_ = layout.untyped.payload();
    v.untyped_count_ = layout.untyped.payload_size / kUntypedEntrySize;
  }
  if (layout.framebuffer.present()) v.framebuffer_at_ = layout.framebuffer.payload();
  if (layout.acpi_rsdp.present()) v.acpi_rsdp_at_ = layout.acpi_rsdp.payload();
  return v;
}

// ---- writer ------------------------------------------------------------------

// Writes a handoff into a caller-supplied buffer, in call order, and
// deterministically: every byte it does not set is zero. It encodes what it
// is given without judging it (parse() does that), so tests can build
// malformed blobs; it fails only where it cannot encode: the buffer is too
// small (INTERNAL_CAPACITY) or a module name is longer than its 32-byte field
// (INTERNAL_CAPACITY). The first failure sticks and finish() reports it.
//
// Consecutive module(), endpoint() or untyped() calls fill one table
// descriptor; any other call in between closes it, and a later call of the
// same kind opens a second table (which parse() rejects as a duplicate).
// Entries go out in call order: callers supply canonical order.
class Builder {
 public:
  constexpr explicit Builder(MutableBytes out) : out_(out) {
    if (out_.size() < kHeaderSize) {
      error_ = detail::fail(Reason::INTERNAL_CAPACITY, 0);
      return;
    }
    for (std::size_t i = 0; i < kHeaderSize; ++i) out_[i] = 0;
    used_ = kHeaderSize;
  }

  constexpr Builder& flags(std::uint32_t header_flags) {
    flags_ = header_flags;
    return *this;
  }

  constexpr Builder& cspace(Cspace c) {
    const std::size_t p = fixed(kKindCspace, kCspacePayloadSize);
    if (p == kFailed) return *this;
    store_le32(out_, p + kCspaceSlotCountOffset, c.slot_count);
    store_le32(out_, p + kCspaceFirstFreeSlotOffset, c.first_free_slot);
    return *this;
  }

  constexpr Builder& image_frame(ImageFrame f) {
    const std::size_t p = fixed(kKindImageFrame, kImageFramePayloadSize);
    if (p == kFailed) return *this;
    store_le64(out_, p + kImageFrameSizeOffset, f.size);
    store_le32(out_, p + kImageFrameSlotOffset, f.slot);
    return *this;
  }

  constexpr Builder& module(Module m) {
    if (m.name.size() > kModuleNameFieldSize) {
      fail_once(Reason::INTERNAL_CAPACITY);
      return *this;
    }
    const std::size_t e = table_entry(kKindModules, kModuleEntrySize);
    if (e == kFailed) return *this;
    store_le64(out_, e + kModuleVaddrOffset, m.vaddr);
    store_le64(out_, e + kModuleSizeOffset, m.size);
    store_le32(out_, e + kModuleFrameSlotOffset, m.frame_slot);
    out_[e + kModuleNameLengthOffset] = static_cast<char>(m.name.size());
    for (std::size_t i = 0; i < m.name.size(); ++i) out_[e + kModuleNameOffset + i] = m.name[i];
    return *this;
  }

  constexpr Builder& endpoint(Endpoint ep) {
    const std::size_t e = table_entry(kKindEndpoints, kEndpointEntrySize);
    if (e == kFailed) return *this;
    out_[e + kEndpointKindOffset] = static_cast<char>(static_cast<std::uint8_t>(ep.kind));
    store_le32(out_, e + kEndpointSlotOffset, ep.slot);
    return *this;
  }

  constexpr Builder& untyped(Untyped u) {
    const std::size_t e = table_entry(kKindUntyped, kUntypedEntrySize);
    if (e == kFailed) return *this;
    store_le64(out_, e + kUntypedBaseOffset, u.base);
    store_le64(out_, e + kUntypedSizeOffset, u.size);
    store_le32(out_, e + kUntypedSlotOffset, u.slot);
    out_[e + kUntypedFlagsOffset] = static_cast<char>(u.device ? kUntypedFlagDevice : 0);
    return *this;
  }

  constexpr Builder& framebuffer(Framebuffer f) {
    const std::size_t p = fixed(kKindFramebuffer, kFramebufferPayloadSize);
    if (p == kFailed) return *this;
    store_le64(out_, p + kFramebufferPaddrOffset, f.paddr);
    store_le32(out_, p + kFramebufferWidthOffset, f.width);
    store_le32(out_, p + kFramebufferHeightOffset, f.height);
    store_le32(out_, p + kFramebufferPitchOffset, f.pitch);
    store_le32(out_, p + kFramebufferSlotOffset, f.slot);
    out_[p + kFramebufferBppOffset] = static_cast<char>(f.bpp);
    return *this;
  }

  constexpr Builder& acpi_rsdp(AcpiRsdp r) {
    const std::size_t p = fixed(kKindAcpiRsdp, kAcpiRsdpPayloadSize);
    if (p == kFailed) return *this;
    store_le64(out_, p + kAcpiRsdpPaddrOffset, r.paddr);
    out_[p + kAcpiRsdpRevisionOffset] = static_cast<char>(r.revision);
    return *this;
  }

  // Any kind, any flags, any payload (zero-padded to 8 bytes): for descriptor
  // kinds this rootd does not know, and for malformed inputs in tests.
  constexpr Builder& raw_descriptor(std::uint16_t kind, std::uint16_t flags, Bytes payload) {
    const std::size_t padded =
        (payload.size() + (kDescriptorAlign - 1)) / kDescriptorAlign * kDescriptorAlign;
    if (padded < payload.size()) {  // only a payload near SIZE_MAX wraps
      fail_once(Reason::INTERNAL_CAPACITY);
      return *this;
    }
    const std::size_t p = open(kind, flags, padded);
    if (p == kFailed) return *this;
    for (std::size_t i = 0; i < payload.size(); ++i) out_[p + i] = payload[i];
    return *this;
  }

  // Fills in the header (total size, flags, checksum) and returns the total
  // size, or the first failure.
  constexpr Result<std::size_t> finish() {
    if (!ok(error_)) return error_;
    for (std::size_t i = 0; i < kHeaderMagicSize; ++i) out_[kHeaderMagicOffset + i] = kMagic[i];
    store_le16(out_, kHeaderVersionOffset, kVersion);
    store_le16(out_, kHeaderHeaderSizeOffset, static_cast<std::uint16_t>(kHeaderSize));
    store_le32(out_, kHeaderTotalSizeOffset, static_cast<std::uint32_t>(used_));
    store_le32(out_, kHeaderFlagsOffset, flags_);
    const Bytes blob(out_.data(), used_);
    store_le32(out_, kHeaderChecksumOffset, compute_checksum(blob));
    return used_;
  }

 private:
  static constexpr std::size_t kFailed = std::numeric_limits<std::size_t>::max();

  constexpr void fail_once(Reason reason) {
    if (ok(error_)) error_ = detail::fail(reason, used_);
  }

  // Appends `length` zero bytes; their offset, or kFailed.
  constexpr std::size_t append(std::size_t length) {
    if (!ok(error_)) return kFailed;
    if (length > out_.size() - used_ ||
        length > std::numeric_limits<std::uint32_t>::max() - used_) {
      fail_once(Reason::INTERNAL_CAPACITY);
      return kFailed;
    }
    const std::size_t at = used_;
    for (std::size_t i = 0; i < length; ++i) out_[at + i] = 0;
    used_ += length;
    return at;
  }

  // Opens a descriptor with a payload of `payload_size` bytes; the payload's offset.
  constexpr std::size_t open(std::uint16_t kind, std::uint16_t flags, std::size_t payload_size) {
    open_table_kind_ = 0;
    if (payload_size > std::numeric_limits<std::uint32_t>::max() - kDescriptorHeaderSize) {
      fail_once(Reason::INTERNAL_CAPACITY);
      return kFailed;
    }
    const std::size_t at = append(kDescriptorHeaderSize + payload_size);
    if (at == kFailed) return kFailed;
    store_le16(out_, at + kDescriptorKindOffset, kind);
    store_le16(out_, at + kDescriptorFlagsOffset, flags);
    store_le32(out_, at + kDescriptorSizeOffset,
               static_cast<std::uint32_t>(kDescriptorHeaderSize + payload_size));
    return at + kDescriptorHeaderSize;
  }

  constexpr std::size_t fixed(std::uint16_t kind, std::size_t payload_size) {
    return open(kind, 0, payload_size);
  }

  // Appends one entry to the open table of `kind`, opening one if needed.
  constexpr std::size_t table_entry(std::uint16_t kind, std::size_t entry_size) {
    if (open_table_kind_ != kind) {
      const std::size_t payload = open(kind, 0, 0);
      if (payload == kFailed) return kFailed;
      open_table_kind_ = kind;
      open_table_at_ = payload - kDescriptorHeaderSize;
    }
    const std::size_t e = append(entry_size);
    if (e == kFailed) return kFailed;
    store_le32(out_, open_table_at_ + kDescriptorSizeOffset,
               static_cast<std::uint32_t>(used_ - open_table_at_));
    return e;
  }

  MutableBytes out_;
  std::size_t used_ = 0;
  std::uint32_t flags_ = 0;
  std::uint16_t open_table_kind_ = 0;  // 0: no table open (0 is no known kind)
  std::size_t open_table_at_ = 0;
  Error error_{};
};

// Rewrites the checksum of a blob after its bytes were changed (tools and
// tests). Fails when the blob cannot hold a header.
constexpr Check seal(MutableBytes blob) {
  if (blob.size() < kHeaderSize) return detail::fail(Reason::HANDOFF_TRUNCATED_HEADER, blob.size());
  store_le32(blob, kHeaderChecksumOffset, compute_checksum(Bytes(blob.data(), blob.size())));
  return kOk;
}

}  // namespace rootd::handoff
