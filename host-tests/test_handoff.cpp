#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"

namespace h = rootd::handoff;
using rootd::EndpointKind;
using rootd::Reason;

// ============================================================================
// Constant evaluation: build with the constexpr Builder, parse, and reject.
// ============================================================================
namespace {

struct FixedBlob {
  std::array<char, 512> bytes{};
  std::size_t size = 0;
  rootd::Error error{};
  constexpr rootd::Bytes view() const { return {bytes.data(), size}; }
  constexpr rootd::MutableBytes mutable_view() { return {bytes.data(), size}; }
};

template <class Steps>
constexpr FixedBlob build_fixed(Steps steps) {
  FixedBlob out;
  h::Builder b(out.bytes);
  steps(b);
  const auto done = b.finish();
  if (done.ok()) {
    out.size = *done;
  } else {
    out.error = done.error();
  }
  return out;
}

constexpr void sample_cspace_and_image(h::Builder& b) {
  b.cspace({4096, 1024}).image_frame({10, 0x40000});
}
constexpr void sample_endpoints(h::Builder& b) {
  b.endpoint({EndpointKind::MEMORY, 100})
      .endpoint({EndpointKind::VSPACE, 101})
      .endpoint({EndpointKind::PROCESS_CONTROL, 102});
}
constexpr void sample_rest(h::Builder& b) {
  b.module({"boot-config", 0x10000000, 0x200, 200})
      .module({"memd", 0x10001000, 0x5000, 201})
      .module({"procd", 0x10006000, 0x8000, 202})
      .untyped({0x100000, 0x100000, 300, false})
      .untyped({0xFEC00000, 0x1000, 301, true})
      .framebuffer({0xE0000000, 1024, 768, 4096, 32, 400})
      .acpi_rsdp({0xE0000, 2});
}
constexpr void sample_steps(h::Builder& b) {
  b.flags(h::kFlagUefiBoot);
  sample_cspace_and_image(b);
  sample_endpoints(b);
  sample_rest(b);
}
constexpr FixedBlob sample() { return build_fixed(sample_steps); }

// Offset of the first descriptor of `kind`; 0 when absent.
constexpr std::size_t descriptor_of(rootd::Bytes blob, std::uint16_t kind) {
  std::size_t at = h::kHeaderSize;
  while (at + h::kDescriptorHeaderSize <= blob.size()) {
    if (rootd::load_le16(blob, at) == kind) return at;
    const std::uint32_t size = rootd::load_le32(blob, at + h::kDescriptorSizeOffset);
    if (size == 0) return 0;
    at += size;
  }
  return 0;
}
constexpr std::size_t payload_of(rootd::Bytes blob, std::uint16_t kind) {
  return descriptor_of(blob, kind) + h::kDescriptorHeaderSize;
}

constexpr void put(rootd::MutableBytes b, std::size_t at, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) b[at + i] = static_cast<char>((value >> (8 * i)) & 0xFFU);
}

// The sample with one field of descriptor `kind` (0: the header) changed;
// resealed unless asked not to.
constexpr FixedBlob patched(std::uint16_t kind, std::size_t field, std::uint64_t value,
                            std::size_t width, bool reseal = true) {
  FixedBlob s = sample();
  const std::size_t at = (kind == 0 ? 0 : payload_of(s.view(), kind)) + field;
  put(s.mutable_view(), at, value, width);
  if (reseal) (void)h::seal(s.mutable_view());
  return s;
}
// An Error's offset is 32 bits wide; the sample blob is far smaller.
constexpr std::uint32_t field_at(std::uint16_t kind, std::size_t field) {
  const FixedBlob s = sample();
  return static_cast<std::uint32_t>((kind == 0 ? 0 : payload_of(s.view(), kind)) + field);
}

constexpr rootd::Error error_of(const FixedBlob& b) {
  const auto r = h::parse(b.view());
  return r.ok() ? rootd::Error{} : r.error();
}
constexpr Reason reason_of(const FixedBlob& b) { return error_of(b).reason; }

template <class Steps>
constexpr Reason built_reason(Steps steps) {
  return reason_of(build_fixed(steps));
}

// The sample parses and reads back what was written.
constexpr bool sample_reads_back() {
  const FixedBlob s = sample();
  if (!rootd::ok(s.error) || s.size != 400) return false;
  const auto r = h::parse(s.view());
  if (!r.ok()) return false;
  const h::View& v = *r;
  if (v.flags() != h::kFlagUefiBoot) return false;
  if (!(v.cspace() == h::Cspace{4096, 1024}) || !(v.image_frame() == h::ImageFrame{10, 0x40000}))
    return false;
  if (v.endpoint_count() != 3 || v.endpoint_slot(EndpointKind::VSPACE) != 101) return false;
  if (v.endpoint_slot(EndpointKind::COM1) != h::kNoSlot) return false;
  if (v.module_count() != 3 || v.module(1).name != "memd" || v.module(2).frame_slot != 202)
    return false;
  if (v.find_module("procd") != 2 || v.find_module("boot-config") != 0) return false;
  if (v.find_module("proc") != 3 || v.find_module("") != 3 || v.find_module("zzz") != 3)
    return false;
  if (v.untyped_count() != 2 || !v.untyped(1).device || v.untyped(0).device) return false;
  if (!v.framebuffer().has_value() || v.framebuffer()->pitch != 4096 || v.framebuffer()->bpp != 32)
    return false;
  if (!v.acpi_rsdp().has_value() || v.acpi_rsdp()->revision != 2) return false;
  for (std::uint16_t kind : {h::kKindCspace, h::kKindImageFrame, h::kKindEndpoints, h::kKindModules,
                             h::kKindUntyped, h::kKindFramebuffer, h::kKindAcpiRsdp}) {
    if (v.payload_offset(kind) != payload_of(s.view(), kind)) return false;
  }
  if (v.payload_offset(0x7000) != 0) return false;
  return v.bytes().size() == 400;
}
static_assert(sample_reads_back());

// Building twice gives the same bytes, whatever the buffer held before.
constexpr bool builder_is_deterministic() {
  FixedBlob a;
  FixedBlob b;
  for (auto& c : b.bytes) c = static_cast<char>(0xA5);
  h::Builder ba(a.bytes);
  h::Builder bb(b.bytes);
  sample_steps(ba);
  sample_steps(bb);
  const auto ra = ba.finish();
  const auto rb = bb.finish();
  if (!ra.ok() || !rb.ok() || *ra != *rb) return false;
  for (std::size_t i = 0; i < *ra; ++i) {
    if (a.bytes[i] != b.bytes[i]) return false;
  }
  return true;
}
static_assert(builder_is_deterministic());

// Header checks, in order.
static_assert(reason_of(patched(0, 0, 'X', 1, false)) == Reason::HANDOFF_BAD_MAGIC);
static_assert(reason_of(patched(0, h::kHeaderVersionOffset, 2, 2)) ==
              Reason::HANDOFF_UNSUPPORTED_VERSION);
static_assert(reason_of(patched(0, h::kHeaderHeaderSizeOffset, 40, 2)) ==
              Reason::HANDOFF_BAD_HEADER_SIZE);
static_assert(reason_of(patched(0, h::kHeaderTotalSizeOffset, 408, 4)) ==
              Reason::HANDOFF_SIZE_MISMATCH);
static_assert(reason_of(patched(0, 100, 0x5A, 1, false)) == Reason::HANDOFF_CHECKSUM_MISMATCH);
static_assert(reason_of(patched(0, h::kHeaderFlagsOffset, 2, 4)) == Reason::HANDOFF_UNKNOWN_FLAGS);
static_assert(error_of(patched(0, h::kHeaderReservedOffset + 7, 1, 1)) ==
              rootd::Error{Reason::HANDOFF_RESERVED_NONZERO, h::kHeaderReservedOffset + 7});
static_assert(reason_of(FixedBlob{}) == Reason::HANDOFF_TRUNCATED_HEADER);

// Descriptor contents, with the offset of the field at fault.
static_assert(error_of(patched(h::kKindCspace, h::kCspaceFirstFreeSlotOffset, 4096, 4)) ==
              rootd::Error{Reason::HANDOFF_CSPACE_NO_FREE_SLOT,
                           field_at(h::kKindCspace, h::kCspaceFirstFreeSlotOffset)});
static_assert(error_of(patched(h::kKindImageFrame, h::kImageFrameReservedOffset + 1, 1, 1)) ==
              rootd::Error{Reason::HANDOFF_RESERVED_NONZERO,
                           field_at(h::kKindImageFrame, h::kImageFrameReservedOffset + 1)});
static_assert(error_of(patched(h::kKindEndpoints, h::kEndpointEntrySize + h::kEndpointKindOffset,
                               static_cast<std::uint8_t>(EndpointKind::MEMORY), 1)) ==
              rootd::Error{Reason::HANDOFF_ENDPOINT_DUPLICATE,
                           field_at(h::kKindEndpoints, h::kEndpointEntrySize)});
static_assert(reason_of(patched(h::kKindEndpoints, h::kEndpointKindOffset, 15, 1)) ==
              Reason::HANDOFF_ENDPOINT_KIND_UNKNOWN);
static_assert(
    error_of(patched(h::kKindModules, h::kModuleEntrySize + h::kModuleNameOffset + 2, 'M', 1)) ==
    rootd::Error{Reason::HANDOFF_MODULE_NAME_INVALID_CHAR,
                 field_at(h::kKindModules, h::kModuleEntrySize + h::kModuleNameOffset + 2)});
static_assert(
    error_of(patched(h::kKindModules, h::kModuleEntrySize + h::kModuleFrameSlotOffset, 200, 4)) ==
    rootd::Error{Reason::HANDOFF_SLOT_REUSED,
                 field_at(h::kKindModules, h::kModuleEntrySize + h::kModuleFrameSlotOffset)});
static_assert(reason_of(patched(h::kKindModules, h::kModuleSizeOffset, 0x1001, 8)) ==
              Reason::HANDOFF_MODULE_RANGES_OVERLAP);
static_assert(reason_of(patched(h::kKindUntyped, h::kUntypedEntrySize + h::kUntypedBaseOffset,
                                0x180000, 8)) == Reason::HANDOFF_UNTYPED_OVERLAP);
static_assert(reason_of(patched(h::kKindUntyped, h::kUntypedFlagsOffset, 0x80, 1)) ==
              Reason::HANDOFF_UNTYPED_FLAGS_UNKNOWN);
static_assert(reason_of(patched(h::kKindFramebuffer, h::kFramebufferBppOffset, 12, 1)) ==
              Reason::HANDOFF_FRAMEBUFFER_BPP_UNSUPPORTED);
static_assert(reason_of(patched(h::kKindAcpiRsdp, h::kAcpiRsdpRevisionOffset, 1, 1)) ==
              Reason::HANDOFF_ACPI_REVISION_UNKNOWN);
static_assert(error_of(patched(0, h::kHeaderSize + h::kDescriptorSizeOffset, 12, 4)) ==
              rootd::Error{Reason::HANDOFF_DESCRIPTOR_SIZE_UNALIGNED,
                           h::kHeaderSize + h::kDescriptorSizeOffset});

// Whole-descriptor faults built directly.
static_assert(built_reason([](h::Builder& b) {
                b.image_frame({10, 0x1000});
                sample_endpoints(b);
              }) == Reason::HANDOFF_MISSING_CSPACE);
static_assert(built_reason([](h::Builder& b) {
                sample_cspace_and_image(b);
                sample_rest(b);
              }) == Reason::HANDOFF_MISSING_ENDPOINTS);
static_assert(built_reason([](h::Builder& b) {
                sample_cspace_and_image(b);
                sample_endpoints(b);
                b.cspace({4096, 1024});
              }) == Reason::HANDOFF_DESCRIPTOR_DUPLICATE);
static_assert(built_reason([](h::Builder& b) {
                sample_cspace_and_image(b);
                b.endpoint({EndpointKind::MEMORY, 100}).module({"a", 0x1000, 1, 200});
                b.endpoint({EndpointKind::VSPACE, 101});  // a second endpoint table
              }) == Reason::HANDOFF_DESCRIPTOR_DUPLICATE);
static_assert(built_reason([](h::Builder& b) {
                sample_steps(b);
                b.raw_descriptor(0x7000, 0, {});
              }) == Reason::HANDOFF_DESCRIPTOR_KIND_UNKNOWN);
static_assert(
    built_reason([](h::Builder& b) {
      sample_steps(b);
      b.module({"zz", 0x20000000, 1, 203});  // after the untyped table: a second module table
    }) == Reason::HANDOFF_DESCRIPTOR_DUPLICATE);

// Accepted: an unknown kind marked skippable, a known kind marked skippable,
// and an empty endpoint table.
static_assert(
    built_reason([](h::Builder& b) {
      sample_steps(b);
      const std::array<char, 3> future{'n', 'e', 'w'};
      b.raw_descriptor(0x7000, h::kDescriptorFlagSkippable, {future.data(), future.size()});
    }) == Reason::NONE);
static_assert(built_reason([](h::Builder& b) {
                sample_cspace_and_image(b);
                b.raw_descriptor(h::kKindEndpoints, h::kDescriptorFlagSkippable, {});
              }) == Reason::NONE);

// The builder fails where it cannot encode.
static_assert(build_fixed([](h::Builder& b) {
                b.module({"a-name-of-thirty-three-characters", 0, 0, 0});
              }).error.reason == Reason::INTERNAL_CAPACITY);
static_assert(build_fixed([](h::Builder& b) {
                for (int i = 0; i < 20; ++i) b.module({"m", 0, 0, 0});
              }).error.reason == Reason::INTERNAL_CAPACITY);

}  // namespace

// ============================================================================
// Run time: a described handoff, built and observed.
// ============================================================================
namespace {

using Blob = std::vector<char>;

struct ModuleSpec {
  std::string name;
  std::uint64_t vaddr = 0;
  std::uint64_t size = 0;
  std::uint32_t frame_slot = 0;
  bool operator==(const ModuleSpec&) const = default;
};
struct RawSpec {
  std::uint16_t kind = 0;
  std::uint16_t flags = 0;
  std::string payload;
};

// Everything a View shows, plus what the builder should add beyond it.
struct Spec {
  std::uint32_t flags = 0;
  std::optional<h::Cspace> cspace;
  std::optional<h::ImageFrame> image_frame;
  std::optional<std::vector<h::Endpoint>> endpoints;  // nullopt: no endpoint table at all
  std::vector<ModuleSpec> modules;
  std::vector<h::Untyped> untyped;
  std::optional<h::Framebuffer> framebuffer;
  std::optional<h::AcpiRsdp> acpi_rsdp;
  std::vector<RawSpec> raw;  // appended last; not visible in a View

  bool same_view(const Spec& o) const {
    return flags == o.flags && cspace == o.cspace && image_frame == o.image_frame &&
           endpoints == o.endpoints && modules == o.modules && untyped == o.untyped &&
           framebuffer == o.framebuffer && acpi_rsdp == o.acpi_rsdp;
  }
};

Spec valid_spec() {
  Spec s;
  s.flags = h::kFlagUefiBoot;
  s.cspace = h::Cspace{4096, 1024};
  s.image_frame = h::ImageFrame{10, 0x40000};
  s.endpoints = std::vector<h::Endpoint>{{EndpointKind::MEMORY, 100},
                                         {EndpointKind::VSPACE, 101},
                                         {EndpointKind::PAGER, 102},
                                         {EndpointKind::PROCESS_CONTROL, 103}};
  s.modules = {{"boot-config", 0x10000000, 0x200, 200},
               {"logd", 0x10001000, 0x3000, 201},
               {"memd", 0x10004000, 0x5000, 202},
               {"procd", 0x10009000, 0x8000, 203}};
  s.untyped = {{0x100000, 0x100000, 300, false},
               {0x400000, 0x400000, 301, false},
               {0xFEC00000, 0x1000, 302, true}};
  s.framebuffer = h::Framebuffer{0xE0000000, 1024, 768, 4096, 32, 400};
  s.acpi_rsdp = h::AcpiRsdp{0xE0000, 2};
  return s;
}

std::size_t spec_capacity(const Spec& s) {
  std::size_t n = h::kHeaderSize + 256 + s.modules.size() * h::kModuleEntrySize +
                  s.untyped.size() * h::kUntypedEntrySize + 16 * h::kEndpointEntrySize;
  if (s.endpoints.has_value()) n += s.endpoints->size() * h::kEndpointEntrySize;
  for (const auto& r : s.raw)
    n += h::kDescriptorHeaderSize + r.payload.size() + h::kDescriptorAlign;
  return n;
}

rootd::Result<std::size_t> build_into(const Spec& s, Blob& out) {
  h::Builder b(out);
  b.flags(s.flags);
  if (s.cspace) b.cspace(*s.cspace);
  if (s.image_frame) b.image_frame(*s.image_frame);
  if (s.endpoints) {
    if (s.endpoints->empty()) b.raw_descriptor(h::kKindEndpoints, 0, {});
    for (const auto& e : *s.endpoints) b.endpoint(e);
  }
  for (const auto& m : s.modules) b.module({m.name, m.vaddr, m.size, m.frame_slot});
  for (const auto& u : s.untyped) b.untyped(u);
  if (s.framebuffer) b.framebuffer(*s.framebuffer);
  if (s.acpi_rsdp) b.acpi_rsdp(*s.acpi_rsdp);
  for (const auto& r : s.raw)
    b.raw_descriptor(r.kind, r.flags, {r.payload.data(), r.payload.size()});
  return b.finish();
}

Blob build(const Spec& s) {
  Blob out(spec_capacity(s));
  const auto done = build_into(s, out);
  REQUIRE(done.ok());
  out.resize(*done);
  return out;
}

Spec observe(const h::View& v) {
  Spec s;
  s.flags = v.flags();
  s.cspace = v.cspace();
  s.image_frame = v.image_frame();
  s.endpoints.emplace();
  for (std::size_t i = 0; i < v.endpoint_count(); ++i) s.endpoints->push_back(v.endpoint(i));
  for (std::size_t i = 0; i < v.module_count(); ++i) {
    const h::Module m = v.module(i);
    s.modules.push_back({std::string(m.name), m.vaddr, m.size, m.frame_slot});
  }
  for (std::size_t i = 0; i < v.untyped_count(); ++i) s.untyped.push_back(v.untyped(i));
  if (auto f = v.framebuffer()) s.framebuffer = *f;
  if (auto r = v.acpi_rsdp()) s.acpi_rsdp = *r;
  return s;
}

rootd::Result<h::View> parse(const Blob& b) { return h::parse(rootd::Bytes(b.data(), b.size())); }

void reseal(Blob& b) { REQUIRE(rootd::ok(h::seal(rootd::MutableBytes(b.data(), b.size())))); }

std::size_t descriptor_in(const Blob& b, std::uint16_t kind) {
  const std::size_t at = descriptor_of(rootd::Bytes(b.data(), b.size()), kind);
  REQUIRE(at != 0);
  return at;
}
std::size_t payload_in(const Blob& b, std::uint16_t kind) {
  return descriptor_in(b, kind) + h::kDescriptorHeaderSize;
}
std::size_t entry_in(const Blob& b, std::uint16_t kind, std::size_t entry_size, std::size_t index) {
  return payload_in(b, kind) + index * entry_size;
}
std::size_t module_field(const Blob& b, std::size_t i, std::size_t f) {
  return entry_in(b, h::kKindModules, h::kModuleEntrySize, i) + f;
}
std::size_t endpoint_field(const Blob& b, std::size_t i, std::size_t f) {
  return entry_in(b, h::kKindEndpoints, h::kEndpointEntrySize, i) + f;
}
std::size_t untyped_field(const Blob& b, std::size_t i, std::size_t f) {
  return entry_in(b, h::kKindUntyped, h::kUntypedEntrySize, i) + f;
}
// Offsets of every descriptor, in chain order.
std::vector<std::size_t> descriptor_offsets(const Blob& b) {
  std::vector<std::size_t> out;
  for (std::size_t at = h::kHeaderSize; at < b.size();) {
    out.push_back(at);
    at += rootd::load_le32(rootd::Bytes(b.data(), b.size()), at + h::kDescriptorSizeOffset);
  }
  return out;
}

void put_at(Blob& b, std::size_t at, std::uint64_t value, std::size_t width) {
  REQUIRE(at + width <= b.size());
  put(rootd::MutableBytes(b.data(), b.size()), at, value, width);
}

std::string module_name(std::size_t i, std::size_t length) {
  std::string digits = fmt::format("{:04}", i);
  return std::string(length - digits.size(), 'm') + digits;
}

// Modules with distinct `length`-character names in canonical order,
// one page apart.
std::vector<ModuleSpec> many_modules(std::size_t count, std::size_t length,
                                     std::uint32_t first_slot) {
  std::vector<ModuleSpec> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back({module_name(i, length), 0x10000000 + i * h::kPageSize, 1 + (i % h::kPageSize),
                   static_cast<std::uint32_t>(first_slot + i)});
  }
  return out;
}
std::vector<h::Untyped> many_untyped(std::size_t count, std::uint32_t first_slot) {
  std::vector<h::Untyped> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back({0x100000 + i * 0x200000, 0x100000 * (1 + i % 2),
                   static_cast<std::uint32_t>(first_slot + i), i % 3 == 0});
  }
  return out;
}

// One malformed input: the bytes and where the parser must point.
struct Made {
  Blob blob;
  std::size_t offset = 0;
};
struct Case {
  std::string label;
  Reason expected;
  std::function<Made()> make;
};

// A valid spec changed by `mutate`; `where` names the offending offset.
Case spec_case(std::string label, Reason expected, std::function<void(Spec&)> mutate,
               std::function<std::size_t(const Blob&)> where) {
  return {std::move(label), expected, [mutate, where] {
            Spec s = valid_spec();
            mutate(s);
            Blob b = build(s);
            const std::size_t at = where(b);
            return Made{std::move(b), at};
          }};
}
// The valid blob with `width` bytes at `where` set to `value`, then resealed.
Case byte_case(std::string label, Reason expected, std::function<std::size_t(const Blob&)> where,
               std::uint64_t value, std::size_t width) {
  return {std::move(label), expected, [where, value, width] {
            Blob b = build(valid_spec());
            const std::size_t at = where(b);
            put_at(b, at, value, width);
            reseal(b);
            return Made{std::move(b), at};
          }};
}

std::size_t at_end(const Blob& b) { return b.size(); }

std::vector<Case> malformed_cases() {
  using R = Reason;
  std::vector<Case> c;
  const auto fixed = [](std::size_t at) { return [at](const Blob&) { return at; }; };

  // ---- header
  c.push_back({"blob shorter than a header", R::HANDOFF_TRUNCATED_HEADER, [] {
                 Blob b = build(valid_spec());
                 b.resize(h::kHeaderSize - 1);
                 return Made{b, h::kHeaderSize - 1};
               }});
  c.push_back({"empty blob", R::HANDOFF_TRUNCATED_HEADER, [] { return Made{Blob{}, 0}; }});
  c.push_back(byte_case("magic", R::HANDOFF_BAD_MAGIC, fixed(3), 'x', 1));
  c.push_back(
      byte_case("version 2", R::HANDOFF_UNSUPPORTED_VERSION, fixed(h::kHeaderVersionOffset), 2, 2));
  c.push_back(
      byte_case("version 0", R::HANDOFF_UNSUPPORTED_VERSION, fixed(h::kHeaderVersionOffset), 0, 2));
  c.push_back(byte_case("header size 40", R::HANDOFF_BAD_HEADER_SIZE,
                        fixed(h::kHeaderHeaderSizeOffset), 40, 2));
  c.push_back(spec_case(
      "larger than the cap", R::HANDOFF_TOO_LARGE,
      [](Spec& s) {
        s.raw.push_back(
            {0x7000, h::kDescriptorFlagSkippable, std::string(h::kMaxHandoffSize, 'x')});
      },
      fixed(h::kHeaderTotalSizeOffset)));
  c.push_back({"total size larger than the blob", R::HANDOFF_SIZE_MISMATCH, [] {
                 Blob b = build(valid_spec());
                 put_at(b, h::kHeaderTotalSizeOffset, b.size() + 8, 4);
                 return Made{b, h::kHeaderTotalSizeOffset};
               }});
  c.push_back({"blob cut short", R::HANDOFF_SIZE_MISMATCH, [] {
                 Blob b = build(valid_spec());
                 b.resize(b.size() - 8);
                 return Made{b, h::kHeaderTotalSizeOffset};
               }});
  c.push_back({"a payload byte flipped, checksum stale", R::HANDOFF_CHECKSUM_MISMATCH, [] {
                 Blob b = build(valid_spec());
                 b[b.size() - 20] ^= 0x10;
                 return Made{b, h::kHeaderChecksumOffset};
               }});
  c.push_back({"checksum field flipped", R::HANDOFF_CHECKSUM_MISMATCH, [] {
                 Blob b = build(valid_spec());
                 b[h::kHeaderChecksumOffset + 3] ^= 0x01;
                 return Made{b, h::kHeaderChecksumOffset};
               }});
  c.push_back(spec_case(
      "unknown header flag", R::HANDOFF_UNKNOWN_FLAGS, [](Spec& s) { s.flags |= 1U << 31; },
      fixed(h::kHeaderFlagsOffset)));
  c.push_back(byte_case("header reserved", R::HANDOFF_RESERVED_NONZERO,
                        fixed(h::kHeaderReservedOffset + 3), 1, 1));

  // ---- descriptor chain
  c.push_back({"4 stray bytes after the last descriptor", R::HANDOFF_DESCRIPTOR_TRUNCATED, [] {
                 Blob b = build(valid_spec());
                 const std::size_t end = b.size();
                 b.resize(end + 4, 0);
                 put_at(b, h::kHeaderTotalSizeOffset, b.size(), 4);
                 reseal(b);
                 return Made{b, end};
               }});
  const std::size_t first_size = h::kHeaderSize + h::kDescriptorSizeOffset;
  c.push_back(byte_case("descriptor size 0", R::HANDOFF_DESCRIPTOR_SIZE_TOO_SMALL,
                        fixed(first_size), 0, 4));
  c.push_back(byte_case("descriptor size 4", R::HANDOFF_DESCRIPTOR_SIZE_TOO_SMALL,
                        fixed(first_size), 4, 4));
  c.push_back(byte_case("descriptor size 12", R::HANDOFF_DESCRIPTOR_SIZE_UNALIGNED,
                        fixed(first_size), 12, 4));
  c.push_back(byte_case("descriptor size 2^32-8", R::HANDOFF_DESCRIPTOR_OVERRUNS, fixed(first_size),
                        0xFFFFFFF8U, 4));
  c.push_back(spec_case(
      "65 descriptors", R::HANDOFF_TOO_MANY_DESCRIPTORS,
      [](Spec& s) {
        for (int i = 0; i < 60; ++i) s.raw.push_back({0x7000, h::kDescriptorFlagSkippable, ""});
      },
      [](const Blob& b) { return descriptor_offsets(b)[h::kMaxDescriptors]; }));
  c.push_back(spec_case(
      "descriptor flag bit 1", R::HANDOFF_DESCRIPTOR_FLAGS_UNKNOWN,
      [](Spec& s) {
        s.raw.push_back({0x7000, 0x0003, "x"});
      },
      [](const Blob& b) { return descriptor_in(b, 0x7000) + h::kDescriptorFlagsOffset; }));
  c.push_back(spec_case(
      "unknown kind, not skippable", R::HANDOFF_DESCRIPTOR_KIND_UNKNOWN,
      [](Spec& s) {
        s.raw.push_back({0x7000, 0, "x"});
      },
      [](const Blob& b) { return descriptor_in(b, 0x7000); }));
  c.push_back(spec_case(
      "kind 0, not skippable", R::HANDOFF_DESCRIPTOR_KIND_UNKNOWN,
      [](Spec& s) {
        s.raw.push_back({0, 0, ""});
      },
      [](const Blob& b) { return b.size() - h::kDescriptorHeaderSize; }));
  c.push_back(spec_case(
      "second cspace", R::HANDOFF_DESCRIPTOR_DUPLICATE,
      [](Spec& s) {
        s.raw.push_back({h::kKindCspace, 0, std::string(8, '\0')});
      },
      [](const Blob& b) { return b.size() - 16; }));
  c.push_back(spec_case(
      "second acpi descriptor, skippable", R::HANDOFF_DESCRIPTOR_DUPLICATE,
      [](Spec& s) {
        s.raw.push_back({h::kKindAcpiRsdp, h::kDescriptorFlagSkippable, std::string(16, '\0')});
      },
      [](const Blob& b) { return b.size() - 24; }));
  c.push_back(spec_case(
      "cspace payload of 16", R::HANDOFF_DESCRIPTOR_PAYLOAD_SIZE,
      [](Spec& s) {
        s.cspace.reset();
        s.raw.push_back({h::kKindCspace, 0, std::string(16, '\0')});
      },
      [](const Blob& b) { return b.size() - 24 + h::kDescriptorSizeOffset; }));
  c.push_back(spec_case(
      "module table of 48 bytes", R::HANDOFF_DESCRIPTOR_PAYLOAD_SIZE,
      [](Spec& s) {
        s.modules.clear();
        s.raw.push_back({h::kKindModules, 0, std::string(48, '\0')});
      },
      [](const Blob& b) { return descriptor_in(b, h::kKindModules) + h::kDescriptorSizeOffset; }));
  c.push_back(spec_case(
      "no cspace", R::HANDOFF_MISSING_CSPACE, [](Spec& s) { s.cspace.reset(); }, at_end));
  c.push_back(spec_case(
      "no image frame", R::HANDOFF_MISSING_IMAGE_FRAME, [](Spec& s) { s.image_frame.reset(); },
      at_end));
  c.push_back(spec_case(
      "no endpoint table", R::HANDOFF_MISSING_ENDPOINTS, [](Spec& s) { s.endpoints.reset(); },
      at_end));

  // ---- cspace and slots
  const auto cspace_free = [](const Blob& b) {
    return payload_in(b, h::kKindCspace) + h::kCspaceFirstFreeSlotOffset;
  };
  c.push_back(spec_case(
      "first free == slot count", R::HANDOFF_CSPACE_NO_FREE_SLOT,
      [](Spec& s) {
        s.cspace = h::Cspace{1024, 1024};
      },
      cspace_free));
  c.push_back(spec_case(
      "empty cspace", R::HANDOFF_CSPACE_NO_FREE_SLOT,
      [](Spec& s) {
        s.cspace = h::Cspace{0, 0};
      },
      cspace_free));
  c.push_back(spec_case(
      "first free beyond the populated cap", R::HANDOFF_CSPACE_TOO_MANY_POPULATED,
      [](Spec& s) {
        s.cspace = h::Cspace{65536, h::kMaxPopulatedSlots + 1};
      },
      cspace_free));
  c.push_back(spec_case(
      "module slot == slot count", R::HANDOFF_SLOT_BEYOND_CSPACE,
      [](Spec& s) { s.modules[0].frame_slot = 4096; },
      [](const Blob& b) { return module_field(b, 0, h::kModuleFrameSlotOffset); }));
  c.push_back(spec_case(
      "image slot kNoSlot", R::HANDOFF_SLOT_BEYOND_CSPACE,
      [](Spec& s) { s.image_frame->slot = h::kNoSlot; },
      [](const Blob& b) { return payload_in(b, h::kKindImageFrame) + h::kImageFrameSlotOffset; }));
  c.push_back(spec_case(
      "untyped slot in the free range", R::HANDOFF_SLOT_NOT_POPULATED,
      [](Spec& s) { s.untyped[2].slot = 1024; },
      [](const Blob& b) { return untyped_field(b, 2, h::kUntypedSlotOffset); }));
  c.push_back(spec_case(
      "endpoint slot == image slot", R::HANDOFF_SLOT_REUSED,
      [](Spec& s) { (*s.endpoints)[0].slot = 10; },
      [](const Blob& b) { return endpoint_field(b, 0, h::kEndpointSlotOffset); }));
  c.push_back(spec_case(
      "framebuffer slot == untyped slot", R::HANDOFF_SLOT_REUSED,
      [](Spec& s) { s.framebuffer->slot = 302; },
      [](const Blob& b) {
        return payload_in(b, h::kKindFramebuffer) + h::kFramebufferSlotOffset;
      }));
  c.push_back(spec_case(
      "two modules, one slot", R::HANDOFF_SLOT_REUSED,
      [](Spec& s) { s.modules[3].frame_slot = 200; },
      [](const Blob& b) { return module_field(b, 3, h::kModuleFrameSlotOffset); }));

  // ---- image frame
  const auto image_size = [](const Blob& b) {
    return payload_in(b, h::kKindImageFrame) + h::kImageFrameSizeOffset;
  };
  c.push_back(spec_case(
      "image frame of 0 bytes", R::HANDOFF_IMAGE_FRAME_EMPTY,
      [](Spec& s) { s.image_frame->size = 0; }, image_size));
  c.push_back(spec_case(
      "image frame of 0x40001 bytes", R::HANDOFF_IMAGE_FRAME_UNALIGNED,
      [](Spec& s) { s.image_frame->size = 0x40001; }, image_size));

  // ---- endpoints
  c.push_back(spec_case(
      "16 endpoints", R::HANDOFF_TOO_MANY_ENDPOINTS,
      [](Spec& s) {
        s.endpoints->clear();
        for (std::uint32_t i = 0; i < 16; ++i)
          s.endpoints->push_back({static_cast<EndpointKind>(i), 100 + i});
      },
      [](const Blob& b) {
        return descriptor_in(b, h::kKindEndpoints) + h::kDescriptorSizeOffset;
      }));
  c.push_back(spec_case(
      "endpoint kind 15", R::HANDOFF_ENDPOINT_KIND_UNKNOWN,
      [](Spec& s) {
        s.endpoints->push_back({static_cast<EndpointKind>(15), 104});
      },
      [](const Blob& b) { return endpoint_field(b, 4, h::kEndpointKindOffset); }));
  c.push_back(spec_case(
      "endpoint kind 255", R::HANDOFF_ENDPOINT_KIND_UNKNOWN,
      [](Spec& s) { (*s.endpoints)[0].kind = static_cast<EndpointKind>(255); },
      [](const Blob& b) { return endpoint_field(b, 0, h::kEndpointKindOffset); }));
  c.push_back(byte_case(
      "endpoint reserved", R::HANDOFF_RESERVED_NONZERO,
      [](const Blob& b) { return endpoint_field(b, 1, h::kEndpointReservedOffset + 2); }, 1, 1));
  c.push_back(spec_case(
      "memory endpoint twice", R::HANDOFF_ENDPOINT_DUPLICATE,
      [](Spec& s) { (*s.endpoints)[1].kind = EndpointKind::MEMORY; },
      [](const Blob& b) { return endpoint_field(b, 1, h::kEndpointKindOffset); }));
  c.push_back(spec_case(
      "endpoints out of kind order", R::HANDOFF_ENDPOINT_UNSORTED,
      [](Spec& s) { std::swap((*s.endpoints)[2], (*s.endpoints)[3]); },
      [](const Blob& b) { return endpoint_field(b, 3, h::kEndpointKindOffset); }));

  // ---- modules
  c.push_back(spec_case(
      "4097 modules", R::HANDOFF_TOO_MANY_MODULES,
      [](Spec& s) {
        s.cspace = h::Cspace{65536, 8192};
        s.modules = many_modules(h::kMaxModules + 1, 8, 1000);
      },
      [](const Blob& b) { return descriptor_in(b, h::kKindModules) + h::kDescriptorSizeOffset; }));
  c.push_back(spec_case(
      "empty name", R::HANDOFF_MODULE_NAME_EMPTY, [](Spec& s) { s.modules[0].name = ""; },
      [](const Blob& b) { return module_field(b, 0, h::kModuleNameLengthOffset); }));
  c.push_back(spec_case(
      "32-character name", R::HANDOFF_MODULE_NAME_TOO_LONG,
      [](Spec& s) { s.modules[3].name = std::string(32, 'z'); },
      [](const Blob& b) { return module_field(b, 3, h::kModuleNameLengthOffset); }));
  c.push_back(byte_case(
      "name length 200", R::HANDOFF_MODULE_NAME_TOO_LONG,
      [](const Blob& b) { return module_field(b, 1, h::kModuleNameLengthOffset); }, 200, 1));
  c.push_back(spec_case(
      "upper-case name", R::HANDOFF_MODULE_NAME_INVALID_CHAR,
      [](Spec& s) { s.modules[1].name = "loGd"; },
      [](const Blob& b) { return module_field(b, 1, h::kModuleNameOffset + 2); }));
  c.push_back(spec_case(
      "name with a dot", R::HANDOFF_MODULE_NAME_INVALID_CHAR,
      [](Spec& s) { s.modules[1].name = "logd.elf"; },
      [](const Blob& b) { return module_field(b, 1, h::kModuleNameOffset + 4); }));
  c.push_back(spec_case(
      "name with a zero byte", R::HANDOFF_MODULE_NAME_INVALID_CHAR,
      [](Spec& s) { s.modules[1].name = std::string("lo\0d", 4); },
      [](const Blob& b) { return module_field(b, 1, h::kModuleNameOffset + 2); }));
  c.push_back(byte_case(
      "bytes after the name", R::HANDOFF_MODULE_NAME_PADDING_NONZERO,
      [](const Blob& b) { return module_field(b, 1, h::kModuleNameOffset + 31); }, 'x', 1));
  c.push_back(byte_case(
      "module reserved", R::HANDOFF_RESERVED_NONZERO,
      [](const Blob& b) { return module_field(b, 2, h::kModuleReservedOffset); }, 1, 1));
  c.push_back(spec_case(
      "logd twice", R::HANDOFF_MODULE_NAME_DUPLICATE, [](Spec& s) { s.modules[2].name = "logd"; },
      [](const Blob& b) { return module_field(b, 2, h::kModuleNameOffset); }));
  c.push_back(spec_case(
      "names out of order", R::HANDOFF_MODULE_UNSORTED, [](Spec& s) { s.modules[1].name = "zzz"; },
      [](const Blob& b) { return module_field(b, 2, h::kModuleNameOffset); }));
  c.push_back(spec_case(
      "a longer name before its prefix", R::HANDOFF_MODULE_UNSORTED,
      [](Spec& s) {
        s.modules[1].name = "memd-x";
        s.modules[2].name = "memd";
      },
      [](const Blob& b) { return module_field(b, 2, h::kModuleNameOffset); }));
  c.push_back(spec_case(
      "module of 0 bytes", R::HANDOFF_MODULE_EMPTY, [](Spec& s) { s.modules[1].size = 0; },
      [](const Blob& b) { return module_field(b, 1, h::kModuleSizeOffset); }));
  c.push_back(spec_case(
      "module vaddr off a page", R::HANDOFF_MODULE_VADDR_UNALIGNED,
      [](Spec& s) { s.modules[1].vaddr += 8; },
      [](const Blob& b) { return module_field(b, 1, h::kModuleVaddrOffset); }));
  c.push_back(spec_case(
      "module crossing the user limit", R::HANDOFF_MODULE_OUTSIDE_USER_SPACE,
      [](Spec& s) {
        s.modules[3].vaddr = h::kUserAddressLimit - 0x1000;
        s.modules[3].size = 0x1001;
      },
      [](const Blob& b) { return module_field(b, 3, h::kModuleVaddrOffset); }));
  c.push_back(spec_case(
      "module whose end wraps", R::HANDOFF_MODULE_OUTSIDE_USER_SPACE,
      [](Spec& s) {
        s.modules[3].vaddr = 0xFFFFFFFFFFFFF000ULL;
        s.modules[3].size = 0x2000;
      },
      [](const Blob& b) { return module_field(b, 3, h::kModuleVaddrOffset); }));
  c.push_back(spec_case(
      "module inside its predecessor", R::HANDOFF_MODULE_RANGES_OVERLAP,
      [](Spec& s) { s.modules[2].vaddr = 0x10002000; },
      [](const Blob& b) { return module_field(b, 2, h::kModuleVaddrOffset); }));
  c.push_back(spec_case(
      "module starting below and reaching into its predecessor", R::HANDOFF_MODULE_RANGES_OVERLAP,
      [](Spec& s) { s.modules[1].vaddr = 0x0FFFF000; },
      [](const Blob& b) { return module_field(b, 1, h::kModuleVaddrOffset); }));
  c.push_back(spec_case(
      "module wholly below its predecessor", R::HANDOFF_MODULE_VADDR_UNSORTED,
      [](Spec& s) { s.modules[2].vaddr = 0x0F000000; },
      [](const Blob& b) { return module_field(b, 2, h::kModuleVaddrOffset); }));

  // ---- untyped
  c.push_back(spec_case(
      "257 untyped", R::HANDOFF_TOO_MANY_UNTYPED,
      [](Spec& s) { s.untyped = many_untyped(h::kMaxUntyped + 1, 500); },
      [](const Blob& b) { return descriptor_in(b, h::kKindUntyped) + h::kDescriptorSizeOffset; }));
  c.push_back(spec_case(
      "untyped of 0 bytes", R::HANDOFF_UNTYPED_EMPTY, [](Spec& s) { s.untyped[1].size = 0; },
      [](const Blob& b) { return untyped_field(b, 1, h::kUntypedSizeOffset); }));
  c.push_back(spec_case(
      "untyped base off a page", R::HANDOFF_UNTYPED_UNALIGNED,
      [](Spec& s) { s.untyped[1].base += 0x10; },
      [](const Blob& b) { return untyped_field(b, 1, h::kUntypedBaseOffset); }));
  c.push_back(spec_case(
      "untyped size off a page", R::HANDOFF_UNTYPED_UNALIGNED,
      [](Spec& s) { s.untyped[1].size += 0x10; },
      [](const Blob& b) { return untyped_field(b, 1, h::kUntypedSizeOffset); }));
  c.push_back(spec_case(
      "untyped crossing the physical limit", R::HANDOFF_UNTYPED_BEYOND_PHYSICAL,
      [](Spec& s) {
        s.untyped[2].base = h::kPhysicalAddressLimit - 0x1000;
        s.untyped[2].size = 0x2000;
      },
      [](const Blob& b) { return untyped_field(b, 2, h::kUntypedBaseOffset); }));
  c.push_back(byte_case(
      "untyped flag bit 1", R::HANDOFF_UNTYPED_FLAGS_UNKNOWN,
      [](const Blob& b) { return untyped_field(b, 0, h::kUntypedFlagsOffset); }, 0x03, 1));
  c.push_back(byte_case(
      "untyped reserved", R::HANDOFF_RESERVED_NONZERO,
      [](const Blob& b) { return untyped_field(b, 0, h::kUntypedReservedOffset + 1); }, 0x40, 1));
  c.push_back(spec_case(
      "untyped overlapping its predecessor", R::HANDOFF_UNTYPED_OVERLAP,
      [](Spec& s) { s.untyped[1].base = 0x180000; },
      [](const Blob& b) { return untyped_field(b, 1, h::kUntypedBaseOffset); }));
  c.push_back(spec_case(
      "untyped wholly below its predecessor", R::HANDOFF_UNTYPED_UNSORTED,
      [](Spec& s) { s.untyped[2].base = 0x1000; },
      [](const Blob& b) { return untyped_field(b, 2, h::kUntypedBaseOffset); }));

  // ---- framebuffer
  const auto fb = [](std::size_t f) {
    return [f](const Blob& b) { return payload_in(b, h::kKindFramebuffer) + f; };
  };
  c.push_back(spec_case(
      "framebuffer off a page", R::HANDOFF_FRAMEBUFFER_UNALIGNED,
      [](Spec& s) { s.framebuffer->paddr += 4; }, fb(h::kFramebufferPaddrOffset)));
  c.push_back(spec_case(
      "framebuffer width 0", R::HANDOFF_FRAMEBUFFER_EMPTY,
      [](Spec& s) { s.framebuffer->width = 0; }, fb(h::kFramebufferWidthOffset)));
  c.push_back(spec_case(
      "framebuffer height 0", R::HANDOFF_FRAMEBUFFER_EMPTY,
      [](Spec& s) { s.framebuffer->height = 0; }, fb(h::kFramebufferHeightOffset)));
  c.push_back(spec_case(
      "framebuffer 15 bpp", R::HANDOFF_FRAMEBUFFER_BPP_UNSUPPORTED,
      [](Spec& s) { s.framebuffer->bpp = 15; }, fb(h::kFramebufferBppOffset)));
  c.push_back(spec_case(
      "framebuffer pitch below a row", R::HANDOFF_FRAMEBUFFER_PITCH_TOO_SMALL,
      [](Spec& s) { s.framebuffer->pitch = 4095; }, fb(h::kFramebufferPitchOffset)));
  c.push_back(spec_case(
      "framebuffer of 4G x 4G pixels", R::HANDOFF_FRAMEBUFFER_BEYOND_PHYSICAL,
      [](Spec& s) {
        s.framebuffer->width = 0xFFFFFFFF;
        s.framebuffer->height = 0xFFFFFFFF;
        s.framebuffer->pitch = 0xFFFFFFFF;
        s.framebuffer->bpp = 8;
      },
      fb(h::kFramebufferPaddrOffset)));
  c.push_back(spec_case(
      "framebuffer crossing the physical limit", R::HANDOFF_FRAMEBUFFER_BEYOND_PHYSICAL,
      [](Spec& s) { s.framebuffer->paddr = h::kPhysicalAddressLimit - 0x1000; },
      fb(h::kFramebufferPaddrOffset)));
  c.push_back(byte_case(
      "framebuffer reserved", R::HANDOFF_RESERVED_NONZERO,
      [](const Blob& b) {
        return payload_in(b, h::kKindFramebuffer) + h::kFramebufferReservedOffset + 6;
      },
      1, 1));

  // ---- ACPI
  const auto rsdp = [](std::size_t f) {
    return [f](const Blob& b) { return payload_in(b, h::kKindAcpiRsdp) + f; };
  };
  c.push_back(spec_case(
      "RSDP at 0", R::HANDOFF_ACPI_RSDP_NULL, [](Spec& s) { s.acpi_rsdp->paddr = 0; },
      rsdp(h::kAcpiRsdpPaddrOffset)));
  c.push_back(spec_case(
      "RSDP revision 1", R::HANDOFF_ACPI_REVISION_UNKNOWN,
      [](Spec& s) { s.acpi_rsdp->revision = 1; }, rsdp(h::kAcpiRsdpRevisionOffset)));
  c.push_back(spec_case(
      "RSDP v2 crossing the physical limit", R::HANDOFF_ACPI_RSDP_BEYOND_PHYSICAL,
      [](Spec& s) { s.acpi_rsdp->paddr = h::kPhysicalAddressLimit - 20; },
      rsdp(h::kAcpiRsdpPaddrOffset)));
  c.push_back(byte_case(
      "RSDP reserved", R::HANDOFF_RESERVED_NONZERO,
      [](const Blob& b) { return payload_in(b, h::kKindAcpiRsdp) + h::kAcpiRsdpReservedOffset; }, 1,
      1));
  return c;
}

std::set<unsigned> defined_handoff_reasons() {
  std::set<unsigned> out;
  for (const auto& row : rootd::kReasonTable) {
    const auto n = static_cast<unsigned>(row.reason);
    if (n >= 100 && n <= 199) out.insert(n);
  }
  return out;
}

}  // namespace

// check_module_name tests the 32-byte field a word at a time and walks it
// byte by byte only when a word fails: at every name length, every byte of
// the field, a bad value is reported as the byte loop would.
TEST_CASE("module name field: every length, every byte, first fault reported at its byte") {
  for (std::size_t length = 1; length <= h::kMaxNameLength; ++length) {
    const std::string name(length, 'q');
    std::array<char, 512> bytes{};
    h::Builder b(bytes);
    sample_cspace_and_image(b);
    sample_endpoints(b);
    b.module({name, 0x10000000, 0x1000, 200});
    const rootd::Result<std::size_t> size = b.finish();
    REQUIRE(size.ok());
    const rootd::MutableBytes blob(bytes.data(), *size);
    REQUIRE(h::parse(blob).ok());
    const std::size_t field = payload_of(blob, h::kKindModules) + h::kModuleNameOffset;
    for (std::size_t at = 0; at < h::kModuleNameFieldSize; ++at) {
      // Inside the name: outside the alphabet. In the padding: any non-zero byte.
      const std::vector<char> values =
          at < length ? std::vector<char>{'\0', ' ', 'Q', '_', '\x80', '\xff', '/', ':', '`', '{'}
                      : std::vector<char>{'a', '\x01', '\x80', '\xff'};
      for (char value : values) {
        std::array<char, 512> copy = bytes;
        const rootd::MutableBytes m(copy.data(), *size);
        m[field + at] = value;
        // A second fault further on must not be the one reported.
        if (at + 1 < h::kModuleNameFieldSize) m[field + at + 1] = at + 1 < length ? '.' : 'z';
        REQUIRE(h::seal(m).reason == Reason::NONE);
        INFO("length " << length << " byte " << at << " value " << static_cast<int>(value));
        const rootd::Result<h::View> v = h::parse(m);
        REQUIRE(!v.ok());
        const Reason expected = at < length ? Reason::HANDOFF_MODULE_NAME_INVALID_CHAR
                                            : Reason::HANDOFF_MODULE_NAME_PADDING_NONZERO;
        CHECK(v.error() == rootd::Error{expected, static_cast<std::uint32_t>(field + at)});
      }
    }
    // Every name byte in the alphabet, in every position of a word.
    for (char good : std::string_view("az09-m")) {
      std::array<char, 512> copy = bytes;
      const rootd::MutableBytes m(copy.data(), *size);
      for (std::size_t at = 0; at < length; ++at) m[field + at] = good;
      REQUIRE(h::seal(m).reason == Reason::NONE);
      CHECK(h::parse(m).ok());
    }
  }
}

TEST_CASE("the valid sample parses and round-trips byte for byte") {
  const Spec spec = valid_spec();
  const Blob blob = build(spec);
  const auto view = parse(blob);
  REQUIRE(view.ok());
  CHECK(observe(*view).same_view(spec));
  CHECK(build(observe(*view)) == blob);
  for (std::size_t i = 0; i < spec.modules.size(); ++i)
    CHECK(view->find_module(spec.modules[i].name) == i);
  CHECK(view->find_module("boot") == spec.modules.size());
  CHECK(view->find_module("procd-x") == spec.modules.size());
  for (const auto& e : *spec.endpoints) CHECK(view->endpoint_slot(e.kind) == e.slot);
  CHECK(view->endpoint_slot(EndpointKind::I8042) == h::kNoSlot);
}

TEST_CASE("every handoff reason code is reached by a malformed input, at the right offset") {
  std::set<unsigned> reached;
  for (const Case& c : malformed_cases()) {
    INFO(c.label);
    const Made m = c.make();
    const auto r = parse(m.blob);
    REQUIRE_FALSE(r.ok());
    CHECK(rootd::reason_name(r.error().reason) == rootd::reason_name(c.expected));
    CHECK(r.error().offset == m.offset);
    CHECK(r.error().status() == rootd::Status::HANDOFF_INVALID);
    reached.insert(static_cast<unsigned>(r.error().reason));
  }
  const std::set<unsigned> defined = defined_handoff_reasons();
  std::vector<std::string> unreached;
  for (unsigned n : defined) {
    if (reached.count(n) == 0)
      unreached.push_back(std::string(rootd::reason_name(static_cast<Reason>(n))));
  }
  INFO("unreached: " << fmt::format("{}", fmt::join(unreached, ", ")));
  CHECK(reached == defined);
  CHECK(defined.size() >= 50);
}

TEST_CASE("round trips at the boundaries") {
  std::vector<std::pair<std::string, Spec>> specs;
  {
    Spec s = valid_spec();
    s.modules.clear();
    s.untyped.clear();
    s.framebuffer.reset();
    s.acpi_rsdp.reset();
    s.endpoints->clear();
    s.flags = 0;
    specs.emplace_back("minimal: zero modules, empty endpoint table", s);
  }
  {
    Spec s = valid_spec();
    s.cspace = h::Cspace{h::kMaxPopulatedSlots * 2, h::kMaxPopulatedSlots};
    s.modules = many_modules(h::kMaxModules, h::kMaxNameLength, 1000);
    s.untyped = many_untyped(h::kMaxUntyped, 6000);
    s.endpoints->clear();
    for (std::uint32_t k = 0; k < rootd::kEndpointKindCount; ++k) {
      s.endpoints->push_back({static_cast<EndpointKind>(k), 100 + k});
    }
    s.image_frame->slot = h::kMaxPopulatedSlots - 1;  // the highest populated slot
    specs.emplace_back("every table at its limit, 31-character names", s);
  }
  {
    Spec s = valid_spec();
    s.modules = many_modules(h::kMaxModules, 5, 1000);
    s.cspace = h::Cspace{8192, 5200};
    specs.emplace_back("kMaxModules short names", s);
  }
  {
    Spec s = valid_spec();
    s.modules = {{"a", 0, 1, 200},
                 {std::string(31, 'z'), h::kUserAddressLimit - h::kPageSize, h::kPageSize, 201}};
    s.untyped = {{0, h::kPageSize, 300, true},
                 {h::kPhysicalAddressLimit - h::kPageSize, h::kPageSize, 301, false}};
    s.framebuffer->paddr = h::kPhysicalAddressLimit - 0x1000000;
    s.framebuffer->bpp = 8;
    s.framebuffer->pitch = 1024;
    s.acpi_rsdp = h::AcpiRsdp{h::kPhysicalAddressLimit - h::kAcpiRsdpLengthV1, 0};
    specs.emplace_back("ranges touching both address limits", s);
  }
  {
    Spec s = valid_spec();
    s.raw.push_back({0x7ABC, h::kDescriptorFlagSkippable, "a future platform descriptor"});
    s.raw.push_back({0xFFFF, h::kDescriptorFlagSkippable, ""});
    specs.emplace_back("skippable unknown kinds are ignored", s);
  }
  for (const auto& [label, spec] : specs) {
    INFO(label);
    const Blob blob = build(spec);
    const auto view = parse(blob);
    REQUIRE(view.ok());
    const Spec seen = observe(*view);
    CHECK(seen.same_view(spec));
    if (spec.raw.empty()) CHECK(build(seen) == blob);
    for (std::size_t i = 0; i < spec.modules.size(); ++i) {
      if (view->find_module(spec.modules[i].name) != i)
        FAIL_CHECK("find_module missed " << spec.modules[i].name);
    }
    CHECK(view->find_module("no-such-module") == view->module_count());
  }
}

TEST_CASE("a max-size handoff parses in linear time") {
  Spec s = valid_spec();
  s.cspace = h::Cspace{h::kMaxPopulatedSlots * 2, h::kMaxPopulatedSlots};
  s.modules = many_modules(h::kMaxModules, h::kMaxNameLength, 1000);
  s.untyped = many_untyped(h::kMaxUntyped, 6000);
  const Blob blob = build(s);
  constexpr int kRounds = 50;
  std::size_t accepted = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) accepted += parse(blob).ok() ? 1 : 0;
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const double us = std::chrono::duration<double, std::micro>(elapsed).count() / kRounds;
  fmt::print("handoff: {} bytes, {} modules, {} untyped: {:.1f} us per parse\n", blob.size(),
             h::kMaxModules, h::kMaxUntyped, us);
  CHECK(accepted == kRounds);
  // Generous for sanitizer builds; a quadratic duplicate check would take
  // tens of milliseconds here.
  CHECK(us < 20000.0);
}

TEST_CASE("the builder reports a buffer that is too small at every size") {
  const Spec spec = valid_spec();
  const Blob full = build(spec);
  for (std::size_t n = 0; n < full.size(); ++n) {
    Blob out(n);
    const auto done = build_into(spec, out);
    if (done.ok() || done.error().reason != Reason::INTERNAL_CAPACITY)
      FAIL_CHECK("size " << n << " was accepted");
  }
  Blob exact(full.size());
  const auto done = build_into(spec, exact);
  REQUIRE(done.ok());
  CHECK(exact == full);
}

namespace {
// Fingerprint of a parse result: the reason, or everything the view shows.
std::string fingerprint(const rootd::Result<h::View>& r) {
  if (!r.ok())
    return fmt::format("error {} at {}", rootd::reason_name(r.error().reason), r.error().offset);
  const Spec s = observe(*r);
  std::string out =
      fmt::format("flags {} cspace {}/{} image {}/{}\n", s.flags, s.cspace->slot_count,
                  s.cspace->first_free_slot, s.image_frame->slot, s.image_frame->size);
  for (const auto& e : *s.endpoints)
    out += fmt::format("ep {} {}\n", static_cast<int>(e.kind), e.slot);
  for (const auto& m : s.modules)
    out += fmt::format("mod {} {} {} {}\n", m.name, m.vaddr, m.size, m.frame_slot);
  for (const auto& u : s.untyped)
    out += fmt::format("ut {} {} {} {}\n", u.base, u.size, u.slot, u.device);
  if (s.framebuffer) {
    const auto& f = *s.framebuffer;
    out +=
        fmt::format("fb {} {} {} {} {} {}\n", f.paddr, f.width, f.height, f.pitch, f.bpp, f.slot);
  }
  if (s.acpi_rsdp) out += fmt::format("rsdp {} {}\n", s.acpi_rsdp->paddr, s.acpi_rsdp->revision);
  return out;
}

Spec sweep_spec() {
  Spec s = valid_spec();
  s.raw.push_back({0x7ABC, h::kDescriptorFlagSkippable, "future"});
  return s;
}
}  // namespace

TEST_CASE("every single-byte corruption is rejected by the checksum") {
  const Blob base = build(sweep_spec());
  std::size_t tried = 0;
  std::size_t accepted = 0;
  std::map<std::string, std::size_t> reasons;
  for (std::size_t at = 0; at < base.size(); ++at) {
    for (unsigned x = 1; x <= 0xFF; ++x) {
      Blob b = base;
      b[at] = static_cast<char>(static_cast<unsigned char>(b[at]) ^ x);
      const auto r = parse(b);
      ++tried;
      if (r.ok()) {
        ++accepted;
        continue;
      }
      ++reasons[std::string(rootd::reason_name(r.error().reason))];
      if (r.error().offset > b.size()) FAIL_CHECK("offset beyond the blob at " << at);
    }
  }
  CHECK(tried == base.size() * 255);
  CHECK(accepted == 0);
  // Only the fields checked before the checksum may name another reason.
  for (const auto& [name, count] : reasons) {
    INFO(name);
    CHECK((name == "HANDOFF_CHECKSUM_MISMATCH" || name == "HANDOFF_BAD_MAGIC" ||
           name == "HANDOFF_UNSUPPORTED_VERSION" || name == "HANDOFF_BAD_HEADER_SIZE" ||
           name == "HANDOFF_SIZE_MISMATCH" || name == "HANDOFF_TOO_LARGE"));
  }
}

TEST_CASE(
    "every single-byte corruption with a recomputed checksum: no crash; accepted means "
    "re-parsable") {
  const Blob base = build(sweep_spec());
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  std::map<std::string, std::size_t> reasons;
  for (std::size_t at = 0; at < base.size(); ++at) {
    for (unsigned x = 1; x <= 0xFF; ++x) {
      Blob b = base;
      b[at] = static_cast<char>(static_cast<unsigned char>(b[at]) ^ x);
      if (at < h::kHeaderChecksumOffset || at >= h::kHeaderChecksumOffset + 4) reseal(b);
      const auto r = parse(b);
      if (!r.ok()) {
        ++rejected;
        ++reasons[std::string(rootd::reason_name(r.error().reason))];
        if (r.error().offset > b.size())
          FAIL_CHECK("offset beyond the blob at " << at << " ^ " << x);
        continue;
      }
      ++accepted;
      // Parsing is a function of the bytes, and what was accepted rebuilds
      // into a blob that shows the same.
      const std::string first = fingerprint(r);
      if (fingerprint(parse(b)) != first) FAIL_CHECK("re-parse differs at " << at << " ^ " << x);
      Spec again = observe(*r);
      const Blob rebuilt = build(again);
      if (fingerprint(parse(rebuilt)) != first)
        FAIL_CHECK("rebuild differs at " << at << " ^ " << x);
    }
  }
  fmt::print("resealed sweep over {} bytes: {} accepted, {} rejected, {} distinct reasons\n",
             base.size(), accepted, rejected, reasons.size());
  CHECK(accepted > 0);  // some fields (addresses, slots) admit other valid values
  CHECK(rejected > accepted);
  CHECK(reasons.size() >= 30);
}

TEST_CASE("truncation at every length is rejected") {
  const Blob base = build(sweep_spec());
  for (std::size_t n = 0; n < base.size(); ++n) {
    if (parse(Blob(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(n))).ok()) {
      FAIL_CHECK("prefix of " << n << " bytes accepted");
    }
  }
  // With total_size rewritten and the checksum recomputed, exactly the
  // prefixes that end on a descriptor boundary after the last required
  // descriptor (cspace, image frame, endpoints come first here) are valid.
  const std::vector<std::size_t> offsets = descriptor_offsets(base);
  const std::size_t required_end =
      descriptor_in(base, h::kKindEndpoints) +
      rootd::load_le32(rootd::Bytes(base.data(), base.size()),
                       descriptor_in(base, h::kKindEndpoints) + h::kDescriptorSizeOffset);
  std::set<std::size_t> boundaries(offsets.begin(), offsets.end());
  for (std::size_t n = h::kHeaderSize; n < base.size(); ++n) {
    Blob b(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(n));
    put_at(b, h::kHeaderTotalSizeOffset, n, 4);
    reseal(b);
    const bool expect_ok = boundaries.count(n) != 0 && n >= required_end;
    if (parse(b).ok() != expect_ok) FAIL_CHECK("resealed prefix of " << n << " bytes");
  }
}

// ============================================================================
// docs/handoff-format.md agrees with the header.
// ============================================================================
namespace {

std::string read_format_doc() {
  // __FILE__ is as the compiler saw it: relative to the build directory,
  // which is two levels above this executable. ROOTD_SOURCE_ROOT overrides.
  const std::filesystem::path source = std::filesystem::path(__FILE__).parent_path().parent_path();
  std::vector<std::filesystem::path> candidates;
  if (const char* root = std::getenv("ROOTD_SOURCE_ROOT")) candidates.emplace_back(root);
  std::error_code failed;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", failed);
  if (!failed) candidates.push_back(exe.parent_path().parent_path() / source);
  candidates.push_back(source);
  for (const auto& root : candidates) {
    std::ifstream in(root / "docs" / "handoff-format.md");
    if (in)
      return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return {};
}

std::string trim(std::string s) {
  const auto keep = [](char c) { return c != ' ' && c != '`'; };
  while (!s.empty() && !keep(s.front())) s.erase(s.begin());
  while (!s.empty() && !keep(s.back())) s.pop_back();
  return s;
}

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// Heading text -> the rows (cells) of the first table under it.
std::map<std::string, std::vector<std::vector<std::string>>> doc_tables(const std::string& text) {
  std::map<std::string, std::vector<std::vector<std::string>>> out;
  std::string heading;
  bool in_table = false;
  bool table_done = false;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line[0] == '#') {
      heading = trim(line.substr(line.find(' ') + 1));
      in_table = table_done = false;
    } else if (!line.empty() && line[0] == '|' && !table_done) {
      in_table = true;
      if (line.find("---") == std::string::npos) out[heading].push_back(cells_of(line));
    } else if (in_table) {
      in_table = false;
      table_done = true;
    }
  }
  return out;
}

std::optional<std::uint64_t> number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    const std::uint64_t v = std::stoull(s, &used, 0);
    if (used == s.size()) return v;
  } catch (...) {
  }
  return std::nullopt;
}

struct FieldPin {
  std::string name;
  std::size_t offset;
  std::size_t size;
};
struct StructPin {
  std::string heading;
  std::size_t size;
  std::vector<FieldPin> fields;
};

std::vector<StructPin> struct_pins() {
  return {
      {"Header (32 bytes, at offset 0)",
       h::kHeaderSize,
       {{"magic", h::kHeaderMagicOffset, h::kHeaderMagicSize},
        {"version", h::kHeaderVersionOffset, 2},
        {"header_size", h::kHeaderHeaderSizeOffset, 2},
        {"total_size", h::kHeaderTotalSizeOffset, 4},
        {"checksum", h::kHeaderChecksumOffset, 4},
        {"flags", h::kHeaderFlagsOffset, 4},
        {"reserved", h::kHeaderReservedOffset, h::kHeaderReservedSize}}},
      {"Descriptor header (8 bytes, then the payload)",
       h::kDescriptorHeaderSize,
       {{"kind", h::kDescriptorKindOffset, 2},
        {"flags", h::kDescriptorFlagsOffset, 2},
        {"size", h::kDescriptorSizeOffset, 4}}},
      {"Cspace payload (8 bytes)",
       h::kCspacePayloadSize,
       {{"slot_count", h::kCspaceSlotCountOffset, 4},
        {"first_free_slot", h::kCspaceFirstFreeSlotOffset, 4}}},
      {"Image frame payload (16 bytes)",
       h::kImageFramePayloadSize,
       {{"size", h::kImageFrameSizeOffset, 8},
        {"slot", h::kImageFrameSlotOffset, 4},
        {"reserved", h::kImageFrameReservedOffset, h::kImageFrameReservedSize}}},
      {"Endpoint inventory entry (8 bytes)",
       h::kEndpointEntrySize,
       {{"kind", h::kEndpointKindOffset, 1},
        {"reserved", h::kEndpointReservedOffset, h::kEndpointReservedSize},
        {"slot", h::kEndpointSlotOffset, 4}}},
      {"Module entry (56 bytes)",
       h::kModuleEntrySize,
       {{"vaddr", h::kModuleVaddrOffset, 8},
        {"size", h::kModuleSizeOffset, 8},
        {"frame_slot", h::kModuleFrameSlotOffset, 4},
        {"name_length", h::kModuleNameLengthOffset, 1},
        {"reserved", h::kModuleReservedOffset, h::kModuleReservedSize},
        {"name", h::kModuleNameOffset, h::kModuleNameFieldSize}}},
      {"Untyped entry (24 bytes)",
       h::kUntypedEntrySize,
       {{"base", h::kUntypedBaseOffset, 8},
        {"size", h::kUntypedSizeOffset, 8},
        {"slot", h::kUntypedSlotOffset, 4},
        {"flags", h::kUntypedFlagsOffset, 1},
        {"reserved", h::kUntypedReservedOffset, h::kUntypedReservedSize}}},
      {"Framebuffer payload (32 bytes)",
       h::kFramebufferPayloadSize,
       {{"paddr", h::kFramebufferPaddrOffset, 8},
        {"width", h::kFramebufferWidthOffset, 4},
        {"height", h::kFramebufferHeightOffset, 4},
        {"pitch", h::kFramebufferPitchOffset, 4},
        {"slot", h::kFramebufferSlotOffset, 4},
        {"bpp", h::kFramebufferBppOffset, 1},
        {"reserved", h::kFramebufferReservedOffset, h::kFramebufferReservedSize}}},
      {"ACPI RSDP payload (16 bytes)",
       h::kAcpiRsdpPayloadSize,
       {{"paddr", h::kAcpiRsdpPaddrOffset, 8},
        {"revision", h::kAcpiRsdpRevisionOffset, 1},
        {"reserved", h::kAcpiRsdpReservedOffset, h::kAcpiRsdpReservedSize}}},
  };
}

}  // namespace

TEST_CASE("docs/handoff-format.md: byte tables, kinds, limits and reasons match the header") {
  const std::string doc = read_format_doc();
  REQUIRE_FALSE(doc.empty());
  const auto tables = doc_tables(doc);

  for (const StructPin& pin : struct_pins()) {
    INFO(pin.heading);
    REQUIRE(tables.count(pin.heading) == 1);
    std::vector<FieldPin> documented;
    for (const auto& row : tables.at(pin.heading)) {
      if (row.size() < 3) continue;
      const auto offset = number(row[0]);
      const auto size = number(row[1]);
      if (offset && size) documented.push_back({row[2], *offset, *size});
    }
    REQUIRE(documented.size() == pin.fields.size());
    std::size_t next = 0;
    for (std::size_t i = 0; i < documented.size(); ++i) {
      INFO(pin.fields[i].name);
      CHECK(documented[i].name == pin.fields[i].name);
      CHECK(documented[i].offset == pin.fields[i].offset);
      CHECK(documented[i].size == pin.fields[i].size);
      CHECK(documented[i].offset == next);  // no gaps, no overlaps
      next = documented[i].offset + documented[i].size;
    }
    CHECK(next == pin.size);
  }

  std::set<std::uint64_t> kinds;
  for (const auto& row : tables.at("Descriptor kinds")) {
    if (!row.empty() && number(row[0])) kinds.insert(*number(row[0]));
  }
  CHECK(kinds == std::set<std::uint64_t>{h::kKindCspace, h::kKindImageFrame, h::kKindEndpoints,
                                         h::kKindModules, h::kKindUntyped, h::kKindFramebuffer,
                                         h::kKindAcpiRsdp});

  const std::map<std::string, std::uint64_t> limits = {
      {"kMaxHandoffSize", h::kMaxHandoffSize},
      {"kMaxDescriptors", h::kMaxDescriptors},
      {"kMaxModules", h::kMaxModules},
      {"kMaxUntyped", h::kMaxUntyped},
      {"kMaxEndpoints", h::kMaxEndpoints},
      {"kMaxNameLength", h::kMaxNameLength},
      {"kMaxPopulatedSlots", h::kMaxPopulatedSlots}};
  std::size_t limits_seen = 0;
  for (const auto& row : tables.at("Limits")) {
    if (row.size() < 2 || limits.count(row[0]) == 0) continue;
    INFO(row[0]);
    CHECK(number(row[1]) == limits.at(row[0]));
    ++limits_seen;
  }
  CHECK(limits_seen == limits.size());

  std::map<std::string, unsigned> documented_reasons;
  for (const auto& row : tables.at("Reason codes")) {
    if (row.size() >= 2 && number(row[0]))
      documented_reasons[row[1]] = static_cast<unsigned>(*number(row[0]));
  }
  std::map<std::string, unsigned> defined_reasons;
  for (unsigned n : defined_handoff_reasons()) {
    defined_reasons[std::string(rootd::reason_name(static_cast<Reason>(n)))] = n;
  }
  CHECK(documented_reasons == defined_reasons);
}

TEST_CASE("docs/handoff-format.md: the example dump is what the Builder writes") {
  const std::string doc = read_format_doc();
  REQUIRE_FALSE(doc.empty());
  const std::size_t section = doc.find("## Example");
  REQUIRE(section != std::string::npos);
  const std::size_t open = doc.find("```\n", section);
  const std::size_t close = doc.find("```", open + 4);
  REQUIRE(close != std::string::npos);
  Blob dumped;
  std::size_t start = open + 4;
  while (start < close) {
    const std::size_t end = doc.find('\n', start);
    const std::string line = doc.substr(start, end - start);
    start = end + 1;
    for (std::size_t at = 6; at + 2 <= line.size(); at += 3) {
      dumped.push_back(static_cast<char>(std::stoul(line.substr(at, 2), nullptr, 16)));
    }
  }
  Spec s;
  s.cspace = h::Cspace{256, 16};
  s.image_frame = h::ImageFrame{1, 0x2000};
  s.endpoints = std::vector<h::Endpoint>{{EndpointKind::MEMORY, 2}};
  s.modules = {{"boot-config", 0x40000000, 0x180, 3}};
  const Blob built = build(s);
  CHECK(dumped == built);
  CHECK(parse(dumped).ok());
}
