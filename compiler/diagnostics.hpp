// Diagnostics of erix-bcfg: the one table of tool-level codes, and the two
// line formats the tool prints.
//
// Two kinds of code appear between the brackets of a diagnostic:
//   - tool codes (this table): problems of the TOML source as text, which
//     have no meaning inside rootd (syntax, unknown key, wrong type, ...);
//   - rootd reason names (include/rootd/status.hpp): every problem that rootd
//     itself would reject in a compiled blob (bad name, over a limit, a
//     policy rule). The tool never keeps its own copy of those names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rootd/status.hpp"

namespace bcfg_tool {

// X(NAME, SUMMARY). Names are stable: scripts and golden tests match them.
#define BCFG_TOOL_CODES(X)                                                                   \
  X(TOML_SYNTAX, "the file is not well-formed TOML")                                         \
  X(TOML_UNKNOWN_KEY, "a key the version 1 schema does not define")                          \
  X(TOML_WRONG_TYPE, "a value of the wrong TOML type")                                       \
  X(TOML_OUT_OF_RANGE, "an integer outside the range its field allows")                      \
  X(TOML_UNKNOWN_VALUE, "a string that is not one of the values its field allows")           \
  X(TOML_MISSING_KEY, "a required key is absent")                                            \
  X(TOML_DUPLICATE_NAME, "two services, or two providers, with the same name")               \
  X(TOML_DUPLICATE_PATH, "two mounts with the same path")                                    \
  X(TOML_DUPLICATE_REFERENCE, "the same service named twice in one after or peers list")     \
  X(TOML_UNKNOWN_REFERENCE, "a reference to a service or provider that is not declared")

enum class ToolCode : std::uint8_t {
#define BCFG_TOOL_X_ENUM(name, summary) name,
  BCFG_TOOL_CODES(BCFG_TOOL_X_ENUM)
#undef BCFG_TOOL_X_ENUM
};

struct ToolCodeInfo {
  ToolCode code;
  std::string_view name;
  std::string_view summary;
};

inline constexpr ToolCodeInfo kToolCodeTable[] = {
#define BCFG_TOOL_X_ROW(name, summary) {ToolCode::name, #name, summary},
    BCFG_TOOL_CODES(BCFG_TOOL_X_ROW)
#undef BCFG_TOOL_X_ROW
};

inline constexpr std::size_t kToolCodeCount = sizeof(kToolCodeTable) / sizeof(kToolCodeTable[0]);

constexpr std::string_view tool_code_name(ToolCode c) {
  return kToolCodeTable[static_cast<std::size_t>(c)].name;
}

namespace detail {
constexpr bool tool_code_table_is_sound() {
  for (std::size_t i = 0; i < kToolCodeCount; ++i) {
    if (static_cast<std::size_t>(kToolCodeTable[i].code) != i) return false;
    // A tool code must never be mistaken for a rootd reason.
    for (const auto& row : rootd::kReasonTable) {
      if (row.name == kToolCodeTable[i].name) return false;
    }
  }
  return true;
}
}  // namespace detail
static_assert(detail::tool_code_table_is_sound(),
              "tool codes: index order, and no clash with a rootd reason name");

// Either a tool code or a rootd reason.
class Code {
 public:
  constexpr Code(ToolCode tool) : tool_(tool), is_tool_(true) {}                 // NOLINT
  constexpr Code(rootd::Reason reason) : reason_(reason), is_tool_(false) {}     // NOLINT

  constexpr bool is_tool() const { return is_tool_; }
  constexpr ToolCode tool() const { return tool_; }
  constexpr rootd::Reason reason() const { return reason_; }
  constexpr std::string_view name() const {
    return is_tool_ ? tool_code_name(tool_) : rootd::reason_name(reason_);
  }
  friend constexpr bool operator==(const Code& a, const Code& b) {
    return a.is_tool_ == b.is_tool_ && (a.is_tool_ ? a.tool_ == b.tool_ : a.reason_ == b.reason_);
  }

 private:
  ToolCode tool_ = ToolCode::TOML_SYNTAX;
  rootd::Reason reason_ = rootd::Reason::NONE;
  bool is_tool_;
};

// 1-based, as editors count; column counts UTF-8 code points (toml++'s rule).
struct SourcePos {
  std::uint32_t line = 1;
  std::uint32_t column = 1;
  friend constexpr auto operator<=>(const SourcePos&, const SourcePos&) = default;
};

// A problem found in a TOML source.
struct SourceDiagnostic {
  SourceDiagnostic(SourcePos pos_, Code code_, std::string message_, std::string hint_ = {})
      : pos(pos_), code(code_), message(std::move(message_)), hint(std::move(hint_)) {}
  SourcePos pos;
  Code code;
  std::string message;
  std::string hint;  // e.g. `did you mean "logd"?`; empty when there is none
};

// A problem found in a compiled blob.
struct BlobDiagnostic {
  BlobDiagnostic(std::uint64_t offset_, Code code_, std::string message_, std::string hint_ = {})
      : offset(offset_), code(code_), message(std::move(message_)), hint(std::move(hint_)) {}
  std::uint64_t offset = 0;
  Code code;
  std::string message;
  std::string hint;
};

// "FILE:LINE:COL: error: [CODE] message"
std::string format_diagnostic(std::string_view file, const SourceDiagnostic& d);
// "FILE: offset 0xOFF: error: [CODE] message"
std::string format_diagnostic(std::string_view file, const BlobDiagnostic& d);

// The way a diagnostic reads to a person, as a compiler prints it: the line
// above, then the source line (cut to a window around the column when it is
// long), a caret under the offending text, and the hint when there is one.
std::string render_diagnostic(std::string_view file, std::string_view source,
                              const SourceDiagnostic& d);
std::string render_diagnostic(std::string_view file, const BlobDiagnostic& d);

// One JSON object on one line: file, line, column, code, message, hint
// (null when none); a blob diagnostic has line and column null and an
// offset instead.
std::string json_diagnostic(std::string_view file, const SourceDiagnostic& d);
std::string json_diagnostic(std::string_view file, const BlobDiagnostic& d);
// `s` as a JSON string, quotes included (bytes that are not valid UTF-8
// are written as \u00XX of the byte, so the output always parses).
std::string json_string(std::string_view s);

// Names longer than this are cut in messages: a 10 MB name stays readable.
inline constexpr std::size_t kMaxShownName = 40;
// `s` whole when at most `limit` bytes, else its head, "..." and its tail,
// `limit` bytes in all ("aaaaaaaaaaaaaaaaaaaa...zzzzzzzzzzzzzzzzz"); cut on
// UTF-8 code point boundaries. Callers that quote it add the length.
std::string elide(std::string_view s, std::size_t limit = kMaxShownName);

}  // namespace bcfg_tool
