// libFuzzer target: the TOML front end of erix-bcfg on arbitrary text.
//
// Properties:
// - parse_toml and the whole check pipeline never crash, throw, leak or hit
//   UB on any text;
// - the front end either accepts (and reports nothing) or reports at least
//   one diagnostic, each at a real position and printable as one line;
// - a config the front end accepts, or recovers by dropping bad after /
//   peers entries (then every diagnostic is about such an entry), compiles
//   with the bcfg writer, and bcfg::parse accepts the bytes (the front end
//   checks everything the writer and the parser refuse);
// - the pipeline (check_toml) compiles the same bytes and never reports
//   an "internal:" disagreement between its stages;
// - every diagnostic renders (source excerpt and caret, JSON) without
//   fault: the JSON form is one line with no raw control byte.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "pipeline.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"
#include "toml_frontend.hpp"

namespace {

namespace bc = rootd::bcfg;
using rootd_fuzz::require;

std::size_t line_count(std::string_view text) {
  std::size_t lines = 1;
  for (char c : text) lines += c == '\n';
  return lines;
}

void check_diagnostics(std::string_view text, const std::vector<bcfg_tool::SourceDiagnostic>& ds) {
  const std::size_t lines = line_count(text);
  for (const bcfg_tool::SourceDiagnostic& d : ds) {
    require(d.pos.line >= 1 && d.pos.column >= 1, "positions are 1-based");
    require(d.pos.line <= lines + 1, "a diagnostic points into the text");
    require(!d.message.empty(), "every diagnostic has a message");
    const std::string line = bcfg_tool::format_diagnostic("fuzz.toml", d);
    require(line.find('\n') == std::string::npos, "a diagnostic prints as one line");
    const std::string rendered = bcfg_tool::render_diagnostic("fuzz.toml", text, d);
    require(rendered.starts_with(line + "\n"), "the rendered form starts with the line");
    const std::string json = bcfg_tool::json_diagnostic("fuzz.toml", d);
    for (char c : json) {
      require(static_cast<unsigned char>(c) >= 0x20, "JSON has no raw control byte");
    }
  }
}

std::vector<char> compile(const bc::ConfigDesc& desc) {
  const rootd::Result<std::size_t> size = bc::encoded_size(desc);
  if (!size) {
    rootd_fuzz::require_same_error(size.error(), rootd::Error{},
                                   "the writer accepts what the front end accepted");
  }
  std::vector<char> blob(*size);
  const rootd::Result<std::size_t> written = bc::write(desc, rootd::MutableBytes(blob));
  require(written.ok() && *written == *size, "write produces encoded_size bytes");
  return blob;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const bcfg_tool::FrontendResult front = bcfg_tool::parse_toml(text, "fuzz.toml");
  require(front.config.has_value() == front.diagnostics.empty(),
          "the front end accepts exactly when it reports nothing");
  check_diagnostics(text, front.diagnostics);

  require(!(front.config.has_value() && front.recovered.has_value()), "clean or recovered, not both");
  if (front.recovered.has_value()) {
    for (const bcfg_tool::SourceDiagnostic& d : front.diagnostics) {
      require(d.code == bcfg_tool::Code(bcfg_tool::ToolCode::TOML_UNKNOWN_REFERENCE) ||
                  d.code == bcfg_tool::Code(bcfg_tool::ToolCode::TOML_DUPLICATE_REFERENCE),
              "only bad after / peers entries are recovered from");
    }
  }
  const std::optional<bcfg_tool::TomlConfig>& usable = front.config ? front.config : front.recovered;

  std::vector<char> blob;
  if (usable.has_value()) {
    blob = compile(usable->desc());
    const rootd::Result<bc::View> parsed = bc::parse(rootd_fuzz::bytes_of(blob));
    if (!parsed) {
      rootd_fuzz::require_same_error(parsed.error(), rootd::Error{},
                                     "bcfg::parse accepts what the front end compiled");
    }
  }

  const bcfg_tool::Outcome outcome = bcfg_tool::check_toml(text, "fuzz.toml", true);
  require(outcome.config.has_value() == usable.has_value(),
          "the pipeline's front end verdict is the front end's");
  for (const bcfg_tool::SourceDiagnostic& d : outcome.source_diagnostics) {
    require(!d.message.starts_with("internal:"), "the pipeline's stages agree");
  }
  check_diagnostics(text, outcome.source_diagnostics);
  if (usable.has_value()) require(outcome.blob == blob, "the pipeline compiles the same bytes");
  return 0;
}
