// Writes the generated part of the seed corpora (fuzz/corpus/):
//   fuzz-gen-seeds handoff DIR   handoffs written with handoff::Builder
//   fuzz-gen-seeds configs DIR   the constexpr-checked configs of config_corpus.hpp
// The rest of the seeds, from a clang build BUILD:
//   corpus/toml/*.toml           examples/*.toml as they are
//   corpus/{bcfg,differential}/example-NAME.bcfg
//                                BUILD/tools/erix-bcfg compile examples/NAME.toml -o ...
//   corpus/handoff/erix-boot-NAME.hoff
//                                BUILD/sim/erix-boot --write-handoff ... examples/NAME.toml
// (example-phase0.bcfg is left out: it is byte for byte constexpr-phase0.bcfg.)
// Files named regress-* are inputs a long run found, kept by hand so that
// every short run replays them.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "config_corpus.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"

namespace {

namespace ho = rootd::handoff;

bool write_file(const std::string& path, rootd::Bytes bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz-gen-seeds: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// Finishes `b`, checks that parse accepts the result, and writes it.
bool emit(const std::string& path, ho::Builder& b, std::vector<char>& buffer) {
  const rootd::Result<std::size_t> size = b.finish();
  if (!size) {
    std::fprintf(stderr, "fuzz-gen-seeds: builder failed for %s\n", path.c_str());
    return false;
  }
  const rootd::Bytes blob(buffer.data(), *size);
  if (const auto parsed = ho::parse(blob); !parsed) {
    std::fprintf(stderr, "fuzz-gen-seeds: %s does not parse: %.*s\n", path.c_str(),
                 static_cast<int>(rootd::reason_name(parsed.error().reason).size()),
                 rootd::reason_name(parsed.error().reason).data());
    return false;
  }
  return write_file(path, blob);
}

void every_endpoint(ho::Builder& b, std::uint32_t first_slot) {
  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    b.endpoint({static_cast<rootd::EndpointKind>(k), first_slot + static_cast<std::uint32_t>(k)});
  }
}

bool write_handoffs(const std::string& dir) {
  std::vector<char> buffer(64 * 1024);
  bool ok = true;
  {
    // Everything a runtime boot has: each table, both optional platform
    // descriptors, the UEFI flag.
    ho::Builder b{rootd::MutableBytes(buffer)};
    b.flags(ho::kFlagUefiBoot).cspace({4096, 512}).image_frame({5, 0x200000});
    every_endpoint(b, 100);
    const char* names[] = {"boot-config", "deviced", "drv-acpi", "logd", "memd",
                           "pagerd",      "procd",   "timed",    "vfsd", "vspaced"};
    std::uint64_t vaddr = 0x10000000;
    std::uint32_t slot = 200;
    for (const char* name : names) {
      b.module({name, vaddr, 0x3000, slot++});
      vaddr += 0x4000;
    }
    b.untyped({0x100000, 0x400000, 300, false}).untyped({0x800000, 0x1000000, 301, false});
    b.untyped({0xFEC00000, 0x1000, 302, true});
    b.framebuffer({0xFD000000, 1024, 768, 4096, 32, 400});
    b.acpi_rsdp({0xE0000, 2});
    ok = emit(dir + "/runtime-like.hoff", b, buffer) && ok;
  }
  {
    // The least parse accepts: the three required descriptors.
    ho::Builder b{rootd::MutableBytes(buffer)};
    b.cspace({64, 32}).image_frame({5, 0x1000});
    b.endpoint({rootd::EndpointKind::MEMORY, 8});
    ok = emit(dir + "/minimal.hoff", b, buffer) && ok;
  }
  {
    // A later kernel's skippable descriptor ahead of the known ones, and
    // the optional tables present but empty.
    ho::Builder b{rootd::MutableBytes(buffer)};
    const char future[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    b.raw_descriptor(0x7F01, ho::kDescriptorFlagSkippable, rootd::Bytes(future, sizeof(future)));
    b.cspace({2048, 2000}).image_frame({1999, 0x8000});
    every_endpoint(b, 1000);
    b.raw_descriptor(ho::kKindModules, 0, rootd::Bytes{});
    b.raw_descriptor(ho::kKindUntyped, 0, rootd::Bytes{});
    b.acpi_rsdp({0x7FFE0000, 0});
    ok = emit(dir + "/skippable-and-empty.hoff", b, buffer) && ok;
  }
  return ok;
}

bool write_configs(const std::string& dir) {
  bool ok = true;
  for (const auto& entry : rootd_fuzz::corpus::kEntries) {
    ok = write_file(dir + "/" + std::string(entry.name), entry.bytes) && ok;
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz-gen-seeds handoff|configs DIR\n");
    return 2;
  }
  const std::string_view what = argv[1];
  if (what == "handoff") return write_handoffs(argv[2]) ? 0 : 1;
  if (what == "configs") return write_configs(argv[2]) ? 0 : 1;
  std::fprintf(stderr, "usage: fuzz-gen-seeds handoff|configs DIR\n");
  return 2;
}
