// The kernel->root handoff on the wire: limits, the byte layout, the table of
// descriptor kinds rootd knows, the decoded value types and the checksum.
// The parser (handoff.hpp) and the host-side Builder (handoff_builder.hpp)
// both build on this header.
//
// docs/handoff-format.md specifies the format byte by byte. The offset
// constants below are the one source of truth for it; the wire structs exist
// only so that the compiler checks those constants against a natural C++
// layout. Input is never overlaid with a struct: every field is read with
// load_le*, after its range has been checked.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
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

// ---- the descriptor kinds rootd knows ------------------------------------------

// In kind order, which is the order of kDescriptorTable.
enum class Descriptor : std::uint8_t {
  CSPACE = 0,
  IMAGE_FRAME = 1,
  ENDPOINTS = 2,
  MODULES = 3,
  UNTYPED = 4,
  FRAMEBUFFER = 5,
  ACPI_RSDP = 6,
};
inline constexpr std::size_t kKnownDescriptorCount = 7;

// A fixed descriptor's payload is exactly `size` bytes; a table's payload is
// any whole number of `size`-byte entries. A descriptor every handoff must
// carry names the reason its absence is rejected with (NONE: optional).
struct DescriptorInfo {
  Descriptor descriptor;
  std::uint16_t kind;
  bool table;
  std::size_t size;
  Reason missing;
};

inline constexpr DescriptorInfo kDescriptorTable[kKnownDescriptorCount] = {
    {Descriptor::CSPACE, kKindCspace, false, kCspacePayloadSize, Reason::HANDOFF_MISSING_CSPACE},
    {Descriptor::IMAGE_FRAME, kKindImageFrame, false, kImageFramePayloadSize,
     Reason::HANDOFF_MISSING_IMAGE_FRAME},
    {Descriptor::ENDPOINTS, kKindEndpoints, true, kEndpointEntrySize,
     Reason::HANDOFF_MISSING_ENDPOINTS},
    {Descriptor::MODULES, kKindModules, true, kModuleEntrySize, Reason::NONE},
    {Descriptor::UNTYPED, kKindUntyped, true, kUntypedEntrySize, Reason::NONE},
    {Descriptor::FRAMEBUFFER, kKindFramebuffer, false, kFramebufferPayloadSize, Reason::NONE},
    {Descriptor::ACPI_RSDP, kKindAcpiRsdp, false, kAcpiRsdpPayloadSize, Reason::NONE},
};

constexpr std::size_t index_of(Descriptor d) { return static_cast<std::size_t>(d); }
constexpr const DescriptorInfo& descriptor_info(Descriptor d) {
  return kDescriptorTable[index_of(d)];
}

// The row for a kind on the wire, or nullptr for a kind rootd does not know.
constexpr const DescriptorInfo* find_descriptor(std::uint16_t kind) {
  for (const DescriptorInfo& info : kDescriptorTable) {
    if (info.kind == kind) return &info;
  }
  return nullptr;
}

constexpr bool payload_size_fits(const DescriptorInfo& info, std::size_t payload) {
  return info.table ? payload % info.size == 0 : payload == info.size;
}

namespace detail {
constexpr bool descriptor_table_is_sound() {
  for (std::size_t i = 0; i < kKnownDescriptorCount; ++i) {
    const DescriptorInfo& info = kDescriptorTable[i];
    if (index_of(info.descriptor) != i) return false;
    // 0 marks "no table open" in the Builder, so no kind may be 0.
    if (info.kind == 0 || (i > 0 && info.kind <= kDescriptorTable[i - 1].kind)) return false;
    if (info.size == 0) return false;
  }
  return true;
}
}  // namespace detail
static_assert(detail::descriptor_table_is_sound(),
              "descriptor kinds: enum order, ascending kinds, sizes");

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

namespace detail {
constexpr Error fail(Reason reason, std::size_t at) {
  return Error{reason, static_cast<std::uint32_t>(at)};
}
}  // namespace detail

}  // namespace rootd::handoff
