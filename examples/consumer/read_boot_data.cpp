// read-boot-data HANDOFF CONFIG: what a service sees of the boot data,
// through the same parsers rootd uses. HANDOFF is a kernel->root handoff
// (docs/handoff-format.md), CONFIG a compiled boot config (ERIXBCFG v1,
// docs/erixbcfg-v1.md). Prints the handoff's modules and the config's
// services; a blob the parser refuses is reported by its reason code.
//
// Exit: 0 both parsed, 1 a blob was refused, 2 usage or unreadable file.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include "rootd/bcfg.hpp"
#include "rootd/handoff.hpp"
#include "rootd/status.hpp"

namespace {

std::optional<std::vector<char>> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

// printf's %.*s takes an int length.
int length(std::string_view s) { return static_cast<int>(s.size()); }

void print_refusal(const char* path, const rootd::Error& e) {
  const std::string_view reason = rootd::reason_name(e.reason);
  std::fprintf(stderr, "%s: refused: %.*s at offset %u\n", path, length(reason), reason.data(),
               static_cast<unsigned>(e.offset));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: read-boot-data HANDOFF CONFIG\n");
    return 2;
  }
  const auto handoff_bytes = read_file(argv[1]);
  const auto config_bytes = read_file(argv[2]);
  for (int i : {1, 2}) {
    if (!(i == 1 ? handoff_bytes : config_bytes)) {
      std::fprintf(stderr, "%s: cannot read\n", argv[i]);
      return 2;
    }
  }

  // Both views point into the byte vectors, which outlive them.
  const auto handoff = rootd::handoff::parse(rootd::Bytes(handoff_bytes->data(), handoff_bytes->size()));
  if (!handoff) {
    print_refusal(argv[1], handoff.error());
    return 1;
  }
  const auto config = rootd::bcfg::parse(rootd::Bytes(config_bytes->data(), config_bytes->size()));
  if (!config) {
    print_refusal(argv[2], config.error());
    return 1;
  }

  std::printf("handoff: %zu modules\n", handoff->module_count());
  for (std::size_t i = 0; i < handoff->module_count(); ++i) {
    const rootd::handoff::Module m = handoff->module(i);
    std::printf("module %.*s size=%llu\n", length(m.name), m.name.data(), static_cast<unsigned long long>(m.size));
  }
  std::printf("config: %zu services\n", config->service_count());
  for (std::size_t i = 0; i < config->service_count(); ++i) {
    const rootd::bcfg::Service s = config->service(i);
    std::printf("service %.*s role=%.*s image=%.*s\n", length(s.name), s.name.data(), length(s.role), s.role.data(),
                length(s.image), s.image.data());
  }
  return 0;
}
