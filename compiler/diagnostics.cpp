#include "diagnostics.hpp"

#include <fmt/format.h>

namespace bcfg_tool {

std::string format_diagnostic(std::string_view file, const SourceDiagnostic& d) {
  return fmt::format("{}:{}:{}: error: [{}] {}", file, d.pos.line, d.pos.column, d.code.name(),
                     d.message);
}

std::string format_diagnostic(std::string_view file, const BlobDiagnostic& d) {
  return fmt::format("{}: offset {:#x}: error: [{}] {}", file, d.offset, d.code.name(), d.message);
}

}  // namespace bcfg_tool
