// libFuzzer target: rootd::handoff::parse on arbitrary bytes.
//
// Properties:
// - parse never reads outside the input (ASan) and never hits UB (UBSan);
// - a rejection names an offset inside the input (or its end);
// - an accepted handoff's every accessor stays inside the blob, module
//   lookup by name finds each module, endpoint lookup by kind finds each
//   endpoint;
// - rebuilding the view with handoff::Builder gives a blob that parses to an
//   equal view, and rebuilding that one reproduces it byte for byte.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "fuzz_support.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"

namespace {

namespace ho = rootd::handoff;
using rootd_fuzz::require;

volatile std::uint32_t g_sink;

void read_every_accessor(const ho::View& v) {
  const std::size_t size = v.bytes().size();
  std::uint32_t sum = v.flags() + v.cspace().slot_count + v.image_frame().slot;
  for (std::size_t i = 0; i < v.module_count(); ++i) {
    const ho::Module m = v.module(i);
    require(!m.name.empty() && m.name.size() <= ho::kMaxNameLength, "module name length");
    require(m.name.data() >= v.bytes().data() &&
                m.name.data() + m.name.size() <= v.bytes().data() + size,
            "module name inside the blob");
    sum += rootd_fuzz::touch(m.name);
    require(v.find_module(m.name) == i, "find_module finds every module at its index");
  }
  for (std::size_t i = 0; i < v.endpoint_count(); ++i) {
    const ho::Endpoint e = v.endpoint(i);
    require(rootd::endpoint_kind_valid(static_cast<std::uint32_t>(e.kind)), "endpoint kind valid");
    require(v.endpoint_slot(e.kind) == e.slot, "endpoint_slot finds every endpoint");
    sum += e.slot;
  }
  for (std::size_t i = 0; i < v.untyped_count(); ++i) sum += v.untyped(i).slot;
  if (const auto fb = v.framebuffer(); fb.has_value()) sum += fb->slot;
  if (const auto rsdp = v.acpi_rsdp(); rsdp.has_value()) sum += rsdp->revision;
  for (const std::uint16_t kind : {ho::kKindCspace, ho::kKindImageFrame, ho::kKindEndpoints,
                                   ho::kKindModules, ho::kKindUntyped, ho::kKindFramebuffer,
                                   ho::kKindAcpiRsdp}) {
    // An empty table last in the chain has its payload offset at the end.
    require(v.payload_offset(kind) <= size, "payload offsets lie inside the blob");
  }
  g_sink = sum;
}

// Writes `v` again. An empty table descriptor that was present stays
// present (as a raw descriptor), since presence can matter to parse.
std::vector<char> rebuild(const ho::View& v) {
  std::vector<char> out(v.bytes().size() + 3 * ho::kDescriptorHeaderSize + ho::kHeaderSize);
  ho::Builder b{rootd::MutableBytes(out)};
  b.flags(v.flags()).cspace(v.cspace()).image_frame(v.image_frame());
  const auto empty_table = [&](std::uint16_t kind) { b.raw_descriptor(kind, 0, rootd::Bytes{}); };
  if (v.endpoint_count() == 0 && v.payload_offset(ho::kKindEndpoints) != 0) {
    empty_table(ho::kKindEndpoints);
  }
  for (std::size_t i = 0; i < v.endpoint_count(); ++i) b.endpoint(v.endpoint(i));
  if (v.module_count() == 0 && v.payload_offset(ho::kKindModules) != 0) empty_table(ho::kKindModules);
  for (std::size_t i = 0; i < v.module_count(); ++i) b.module(v.module(i));
  if (v.untyped_count() == 0 && v.payload_offset(ho::kKindUntyped) != 0) empty_table(ho::kKindUntyped);
  for (std::size_t i = 0; i < v.untyped_count(); ++i) b.untyped(v.untyped(i));
  if (const auto fb = v.framebuffer(); fb.has_value()) b.framebuffer(*fb);
  if (const auto rsdp = v.acpi_rsdp(); rsdp.has_value()) b.acpi_rsdp(*rsdp);
  const rootd::Result<std::size_t> size = b.finish();
  require(size.ok(), "the Builder encodes every accepted view");
  out.resize(*size);
  return out;
}

bool same_view(const ho::View& a, const ho::View& b) {
  if (a.flags() != b.flags() || !(a.cspace() == b.cspace()) || !(a.image_frame() == b.image_frame()))
    return false;
  if (a.module_count() != b.module_count() || a.endpoint_count() != b.endpoint_count() ||
      a.untyped_count() != b.untyped_count()) {
    return false;
  }
  for (std::size_t i = 0; i < a.module_count(); ++i) {
    if (!(a.module(i) == b.module(i))) return false;
  }
  for (std::size_t i = 0; i < a.endpoint_count(); ++i) {
    if (!(a.endpoint(i) == b.endpoint(i))) return false;
  }
  for (std::size_t i = 0; i < a.untyped_count(); ++i) {
    if (!(a.untyped(i) == b.untyped(i))) return false;
  }
  return a.framebuffer() == b.framebuffer() && a.acpi_rsdp() == b.acpi_rsdp();
}

void check(rootd::Bytes blob) {
  const rootd::Result<ho::View> parsed = ho::parse(blob);
  if (!parsed) {
    require(parsed.error().offset <= blob.size(), "a rejection names an offset inside the input");
    require(rootd::reason_status(parsed.error().reason) == rootd::Status::HANDOFF_INVALID,
            "every handoff rejection maps to HANDOFF_INVALID");
    return;
  }
  const ho::View& view = *parsed;
  require(view.bytes().data() == blob.data() && view.bytes().size() == blob.size(),
          "the view covers exactly the input");
  read_every_accessor(view);

  const std::vector<char> rebuilt = rebuild(view);
  const rootd::Result<ho::View> reparsed = ho::parse(rootd_fuzz::bytes_of(rebuilt));
  if (!reparsed) {
    rootd_fuzz::require_same_error(reparsed.error(), rootd::Error{}, "the rebuilt handoff parses");
  }
  require(same_view(view, *reparsed), "the rebuilt handoff parses to an equal view");
  read_every_accessor(*reparsed);
  require(rebuild(*reparsed) == rebuilt, "rebuilding a rebuilt handoff is the identity");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const rootd::Bytes input = rootd_fuzz::bytes_of(data, size);
  check(input);
  const std::vector<char> resealed = rootd_fuzz::resealed_handoff(input);
  if (!resealed.empty()) check(rootd_fuzz::bytes_of(resealed));
  return 0;
}
