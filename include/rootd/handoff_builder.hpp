// The kernel->root handoff writer (Builder) and seal(): host-side, for the
// simulator, tools, tests and benchmarks. rootd only parses handoffs; its
// image is built with ROOTD_IMAGE defined, so including this header there
// fails the build.
#pragma once

#include "rootd/requires_cxx20.hpp"

#if defined(ROOTD_IMAGE)
#error "rootd/handoff_builder.hpp is host-side: rootd's image only parses handoffs"
#endif

#include <cstddef>
#include <cstdint>
#include <limits>

#include "rootd/bytes.hpp"
#include "rootd/handoff_wire.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::handoff {

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
    const std::size_t p = fixed(Descriptor::CSPACE);
    if (p == kFailed) return *this;
    store_le32(out_, p + kCspaceSlotCountOffset, c.slot_count);
    store_le32(out_, p + kCspaceFirstFreeSlotOffset, c.first_free_slot);
    return *this;
  }

  constexpr Builder& image_frame(ImageFrame f) {
    const std::size_t p = fixed(Descriptor::IMAGE_FRAME);
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
    const std::size_t e = table_entry(Descriptor::MODULES);
    if (e == kFailed) return *this;
    store_le64(out_, e + kModuleVaddrOffset, m.vaddr);
    store_le64(out_, e + kModuleSizeOffset, m.size);
    store_le32(out_, e + kModuleFrameSlotOffset, m.frame_slot);
    out_[e + kModuleNameLengthOffset] = static_cast<char>(m.name.size());
    for (std::size_t i = 0; i < m.name.size(); ++i) out_[e + kModuleNameOffset + i] = m.name[i];
    return *this;
  }

  constexpr Builder& endpoint(Endpoint ep) {
    const std::size_t e = table_entry(Descriptor::ENDPOINTS);
    if (e == kFailed) return *this;
    out_[e + kEndpointKindOffset] = static_cast<char>(static_cast<std::uint8_t>(ep.kind));
    store_le32(out_, e + kEndpointSlotOffset, ep.slot);
    return *this;
  }

  constexpr Builder& untyped(Untyped u) {
    const std::size_t e = table_entry(Descriptor::UNTYPED);
    if (e == kFailed) return *this;
    store_le64(out_, e + kUntypedBaseOffset, u.base);
    store_le64(out_, e + kUntypedSizeOffset, u.size);
    store_le32(out_, e + kUntypedSlotOffset, u.slot);
    out_[e + kUntypedFlagsOffset] = static_cast<char>(u.device ? kUntypedFlagDevice : 0);
    return *this;
  }

  constexpr Builder& framebuffer(Framebuffer f) {
    const std::size_t p = fixed(Descriptor::FRAMEBUFFER);
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
    const std::size_t p = fixed(Descriptor::ACPI_RSDP);
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

  constexpr std::size_t fixed(Descriptor d) {
    return open(descriptor_info(d).kind, 0, descriptor_info(d).size);
  }

  // Appends one entry to the open table of kind `d`, opening one if needed.
  constexpr std::size_t table_entry(Descriptor d) {
    const std::uint16_t kind = descriptor_info(d).kind;
    const std::size_t entry_size = descriptor_info(d).size;
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
