// The kernel->root handoff: the validating parser (parse -> View) for the
// bytes the kernel leaves for rootd (rdi = pointer, rsi = size). The layout
// and the table of known descriptor kinds are handoff_wire.hpp; the writer
// for the simulator, tools and tests is handoff_builder.hpp.
//
// The parser is strict and bounded. It walks the descriptor chain once,
// then checks the contents of each known descriptor once, in a fixed order;
// duplicates and overlaps are found by neighbour checks because names, kinds
// and ranges must come in canonical (sorted) order, and slots shared between
// descriptors are found with a fixed-size bitmap. Work is linear in the blob
// size, and the blob size is capped.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rootd/bytes.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff_wire.hpp"
#include "rootd/names.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::handoff {

// ---- parser ------------------------------------------------------------------

namespace detail {

// Not constexpr on purpose: an out-of-range index fails the build in a
// constant expression and traps at run time.
[[noreturn]] inline void view_index_out_of_range() { __builtin_trap(); }
constexpr void require_index(bool in_range) {
  if (!in_range) view_index_out_of_range();
}

constexpr bool page_aligned(std::uint64_t v) { return v % kPageSize == 0; }

constexpr Check expect_zero(Bytes b, std::size_t at, std::size_t length) {
  const std::size_t nonzero = first_nonzero(b, at, length);
  if (nonzero != at + length) return fail(Reason::HANDOFF_RESERVED_NONZERO, nonzero);
  return kOk;
}

// Byte order, a prefix first. On two zero-padded name fields this is the
// order of the names themselves, since valid names contain no zero byte.
constexpr int compare_name_fields(Bytes b, std::size_t x, std::size_t y) {
  return compare_bytes(chars_at(b, x, kModuleNameFieldSize), chars_at(b, y, kModuleNameFieldSize));
}

// Where each known descriptor sits: `at` is the descriptor's offset (0 when
// absent: offset 0 is the header), `payload_size` its payload length.
struct Located {
  std::size_t at = 0;
  std::size_t payload_size = 0;
  constexpr bool present() const { return at != 0; }
  constexpr std::size_t payload() const { return at + kDescriptorHeaderSize; }
};

// One slot per known kind, indexed by Descriptor.
struct Layout {
  std::array<Located, kKnownDescriptorCount> located{};

  constexpr Located& operator[](Descriptor d) { return located[index_of(d)]; }
  constexpr const Located& operator[](Descriptor d) const { return located[index_of(d)]; }
};

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
  constexpr std::size_t module_count() const { return entry_count(Descriptor::MODULES); }
  constexpr Module module(std::size_t i) const {
    detail::require_index(i < entry_count(Descriptor::MODULES));
    const std::size_t at = payload_at(Descriptor::MODULES) + i * kModuleEntrySize;
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
    return find_sorted(name, module_count(), [&](std::size_t i) { return module(i).name; });
  }

  // Endpoints in ascending kind order, each kind at most once.
  constexpr std::size_t endpoint_count() const { return entry_count(Descriptor::ENDPOINTS); }
  constexpr Endpoint endpoint(std::size_t i) const {
    detail::require_index(i < entry_count(Descriptor::ENDPOINTS));
    const std::size_t at = payload_at(Descriptor::ENDPOINTS) + i * kEndpointEntrySize;
    Endpoint e;
    e.kind = static_cast<EndpointKind>(byte_at(bytes_, at + kEndpointKindOffset));
    e.slot = load_le32(bytes_, at + kEndpointSlotOffset);
    return e;
  }
  constexpr std::uint32_t endpoint_slot(EndpointKind kind) const {
    for (std::size_t i = 0; i < entry_count(Descriptor::ENDPOINTS); ++i) {
      const Endpoint e = endpoint(i);
      if (e.kind == kind) return e.slot;
    }
    return kNoSlot;
  }

  // Untyped regions in ascending address order, disjoint.
  constexpr std::size_t untyped_count() const { return entry_count(Descriptor::UNTYPED); }
  constexpr Untyped untyped(std::size_t i) const {
    detail::require_index(i < entry_count(Descriptor::UNTYPED));
    const std::size_t at = payload_at(Descriptor::UNTYPED) + i * kUntypedEntrySize;
    Untyped u;
    u.base = load_le64(bytes_, at + kUntypedBaseOffset);
    u.size = load_le64(bytes_, at + kUntypedSizeOffset);
    u.slot = load_le32(bytes_, at + kUntypedSlotOffset);
    u.device = (byte_at(bytes_, at + kUntypedFlagsOffset) & kUntypedFlagDevice) != 0;
    return u;
  }

  constexpr std::optional<Framebuffer> framebuffer() const {
    const std::size_t at = payload_at(Descriptor::FRAMEBUFFER);
    if (at == 0) return std::nullopt;
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
    const std::size_t at = payload_at(Descriptor::ACPI_RSDP);
    if (at == 0) return std::nullopt;
    AcpiRsdp r;
    r.paddr = load_le64(bytes_, at + kAcpiRsdpPaddrOffset);
    r.revision = byte_at(bytes_, at + kAcpiRsdpRevisionOffset);
    return r;
  }

  // Offset within bytes() of the payload of the descriptor of a known
  // `kind`, or 0 when it is absent (or the kind unknown): later checks use it
  // to report the offset of a handoff field they reject.
  constexpr std::size_t payload_offset(std::uint16_t kind) const {
    const DescriptorInfo* info = find_descriptor(kind);
    return info == nullptr ? 0 : payload_at(info->descriptor);
  }

 private:
  friend constexpr Result<View> parse(Bytes blob);

  constexpr std::size_t payload_at(Descriptor d) const { return payload_at_[index_of(d)]; }
  constexpr std::size_t entry_count(Descriptor d) const { return entry_count_[index_of(d)]; }

  Bytes bytes_{};
  std::uint32_t flags_ = 0;
  Cspace cspace_{};
  ImageFrame image_frame_{};
  // Payload offset per known kind; 0 means absent (offset 0 is the header).
  std::array<std::size_t, kKnownDescriptorCount> payload_at_{};
  // Entries per table kind; 0 for fixed kinds and absent tables.
  std::array<std::size_t, kKnownDescriptorCount> entry_count_{};
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
    const DescriptorInfo* info = find_descriptor(kind);
    if (info == nullptr) {
      if ((flags & kDescriptorFlagSkippable) == 0)
        return fail(Reason::HANDOFF_DESCRIPTOR_KIND_UNKNOWN, at);
    } else {
      Located& known = layout[info->descriptor];
      if (known.present()) return fail(Reason::HANDOFF_DESCRIPTOR_DUPLICATE, at);
      const std::size_t payload = size - kDescriptorHeaderSize;
      if (!payload_size_fits(*info, payload))
        return fail(Reason::HANDOFF_DESCRIPTOR_PAYLOAD_SIZE, size_at);
      known.at = at;
      known.payload_size = payload;
    }
    at += size;
  }
  for (const DescriptorInfo& info : kDescriptorTable) {
    if (info.missing != Reason::NONE && !layout[info.descriptor].present())
      return fail(info.missing, total);
  }
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

static_assert(kModuleNameFieldSize % 8 == 0, "check_module_name reads the field in words");
constexpr Check check_module_name(Bytes blob, std::size_t e) {
  const std::size_t length = byte_at(blob, e + kModuleNameLengthOffset);
  if (length == 0) return fail(Reason::HANDOFF_MODULE_NAME_EMPTY, e + kModuleNameLengthOffset);
  if (length > kMaxNameLength)
    return fail(Reason::HANDOFF_MODULE_NAME_TOO_LONG, e + kModuleNameLengthOffset);
  const std::size_t name = e + kModuleNameOffset;
  // A word at a time: name bytes in the alphabet, padding zero. The byte to
  // report is looked for only in a field that fails.
  std::uint64_t bad = 0;
  for (std::size_t w = 0; w < kModuleNameFieldSize; w += 8) {
    const std::uint64_t word = load_le64(blob, name + w);
    if (length >= w + 8) {
      bad |= non_name_bytes(word);
    } else if (length > w) {
      const std::size_t bits = 8 * (length - w);
      bad |= (non_name_bytes(word) & ((std::uint64_t{1} << bits) - 1)) | (word >> bits);
    } else {
      bad |= word;
    }
  }
  if (bad == 0) return kOk;
  for (std::size_t i = 0; i < length; ++i) {
    if (!is_name_char(blob[name + i]))
      return fail(Reason::HANDOFF_MODULE_NAME_INVALID_CHAR, name + i);
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

  const Result<Cspace> cspace = detail::check_cspace(blob, layout[Descriptor::CSPACE]);
  if (!cspace) return cspace.error();
  detail::SlotClaims slots(*cspace);
  const Result<ImageFrame> image_frame =
      detail::check_image_frame(blob, layout[Descriptor::IMAGE_FRAME], slots);
  if (!image_frame) return image_frame.error();
  if (Check c = detail::check_endpoints(blob, layout[Descriptor::ENDPOINTS], slots); !ok(c))
    return c;
  const detail::Located& modules = layout[Descriptor::MODULES];
  if (modules.present()) {
    if (Check c = detail::check_modules(blob, modules, slots); !ok(c)) return c;
  }
  const detail::Located& untyped = layout[Descriptor::UNTYPED];
  if (untyped.present()) {
    if (Check c = detail::check_untyped(blob, untyped, slots); !ok(c)) return c;
  }
  const detail::Located& framebuffer = layout[Descriptor::FRAMEBUFFER];
  if (framebuffer.present()) {
    if (Check c = detail::check_framebuffer(blob, framebuffer, slots); !ok(c)) return c;
  }
  const detail::Located& acpi_rsdp = layout[Descriptor::ACPI_RSDP];
  if (acpi_rsdp.present()) {
    if (Check c = detail::check_acpi_rsdp(blob, acpi_rsdp); !ok(c)) return c;
  }

  View v;
  v.bytes_ = blob;
  v.flags_ = load_le32(blob, kHeaderFlagsOffset);
  v.cspace_ = *cspace;
  v.image_frame_ = *image_frame;
  for (const DescriptorInfo& info : kDescriptorTable) {
    const detail::Located& d = layout[info.descriptor];
    if (!d.present()) continue;
    v.payload_at_[index_of(info.descriptor)] = d.payload();
    if (info.table) v.entry_count_[index_of(info.descriptor)] = d.payload_size / info.size;
  }
  return v;
}

}  // namespace rootd::handoff
