#include "diagnostics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace bcfg_tool {

std::string format_diagnostic(std::string_view file, const SourceDiagnostic& d) {
  return fmt::format("{}:{}:{}: error: [{}] {}", file, d.pos.line, d.pos.column, d.code.name(),
                     d.message);
}

std::string format_diagnostic(std::string_view file, const BlobDiagnostic& d) {
  return fmt::format("{}: offset {:#x}: error: [{}] {}", file, d.offset, d.code.name(), d.message);
}

namespace {

// Length of the UTF-8 sequence that starts with `lead`; 1 for a byte that
// cannot start one (it is then shown on its own).
std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// The source line `line` (1-based), without its line break; empty when the
// source has fewer lines.
std::string_view source_line(std::string_view source, std::uint32_t line) {
  std::size_t start = 0;
  for (std::uint32_t l = 1; l < line; ++l) {
    const std::size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  std::size_t end = source.find('\n', start);
  if (end == std::string_view::npos) end = source.size();
  if (end > start && source[end - 1] == '\r') --end;
  return source.substr(start, end - start);
}

// One code point per shown column: what a line looks like on a terminal.
// The text views either the source line or a string literal, so building
// a window allocates nothing per glyph.
struct Glyph {
  std::string_view text;  // as printed; one column wide
  bool tab = false;
};

// Bytes of the code point at `i`; a sequence the line's end cuts short is
// shown byte by byte.
std::size_t code_point_size(std::string_view line, std::size_t i) {
  const std::size_t n = utf8_length(static_cast<unsigned char>(line[i]));
  return i + n > line.size() ? 1 : n;
}

// How many code points `line` has, counting no further than `limit`: the
// renderer only needs to know whether a line is longer than what it shows
// and whether the caret is on it, so a 10 MB line is never walked to its end
// unless the caret is there.
std::size_t code_points_upto(std::string_view line, std::size_t limit) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < line.size() && count < limit; ++count) i += code_point_size(line, i);
  return count;
}

// The glyphs of code points [first, last) of `line` (fewer when the line
// is shorter); `more` tells whether code points follow the window.
std::vector<Glyph> glyphs_of(std::string_view line, std::size_t first, std::size_t last, bool& more) {
  std::vector<Glyph> out;
  out.reserve(last - first);
  std::size_t count = 0;
  std::size_t i = 0;
  for (; i < line.size() && count < last; ++count) {
    const auto u = static_cast<unsigned char>(line[i]);
    const std::size_t n = code_point_size(line, i);
    if (count >= first) {
      if (u == '\t') {
        out.push_back({"\t", true});
      } else if (u < 0x20 || u == 0x7F || (n == 1 && u >= 0x80)) {
        out.push_back({"?", false});  // a control byte or a stray byte: shown, never sent to the terminal
      } else {
        out.push_back({line.substr(i, n), false});
      }
    }
    i += n;
  }
  more = i < line.size();
  return out;
}

// How many glyphs from `at` the offending text spans: a quoted string to
// its closing quote, a bare key or word to its end; at least 1.
std::size_t span_at(const std::vector<Glyph>& g, std::size_t at) {
  if (at >= g.size()) return 1;
  if (g[at].text == "\"" || g[at].text == "'") {
    for (std::size_t k = at + 1; k < g.size(); ++k) {
      if (g[k].text == "\\" && g[at].text == "\"") {
        ++k;
        continue;
      }
      if (g[k].text == g[at].text) return k - at + 1;
    }
    return g.size() - at;
  }
  std::size_t k = at;
  auto word = [](std::string_view t) {
    return t.size() == 1 && (std::isalnum(static_cast<unsigned char>(t[0])) || t[0] == '_' ||
                             t[0] == '-' || t[0] == '.');
  };
  while (k < g.size() && word(g[k].text)) ++k;
  return std::max<std::size_t>(k - at, 1);
}

// Longest source excerpt shown, in columns; a longer line is cut to a window
// around the caret with "..." on the cut side(s).
constexpr std::size_t kMaxShownLine = 100;
constexpr std::size_t kMaxUnderline = 60;

}  // namespace

std::string render_diagnostic(std::string_view file, std::string_view source,
                              const SourceDiagnostic& d) {
  std::string out = format_diagnostic(file, d) + "\n";
  const std::string_view line = source_line(source, d.pos.line);
  const std::size_t caret = d.pos.column - 1;
  // Counting stops past both the caret and one full window: enough to know
  // whether the line is cut and whether the caret is on it.
  const std::size_t count = code_points_upto(line, std::max(caret, kMaxShownLine) + 1);
  // A long line: a window with some context before the caret and as much
  // as fits after it.
  const std::size_t first = count > kMaxShownLine && caret > 30 ? caret - 30 : 0;
  bool more = false;
  const std::vector<Glyph> shown = glyphs_of(line, first, first + kMaxShownLine, more);
  if (count != 0 && caret <= count && caret >= first) {
    const bool cut_front = first > 0;
    const std::size_t at = caret - first;
    std::size_t underline = std::min(span_at(shown, at), kMaxUnderline);
    if (at + underline > shown.size()) underline = shown.size() > at ? shown.size() - at : 1;
    const std::string gutter = fmt::format("{:>5} | ", d.pos.line);
    std::string text, marks;
    if (cut_front) {
      text += "...";
      marks += "   ";
    }
    for (std::size_t k = 0; k < shown.size(); ++k) {
      text += shown[k].text;
      if (k < at) marks += shown[k].tab ? "\t" : " ";
    }
    if (more) text += "...";
    marks += '^';
    marks += std::string(underline - 1, '~');
    out += gutter + text + "\n";
    out += std::string(gutter.size() - 2, ' ') + "| " + marks + "\n";
  }
  if (!d.hint.empty()) out += fmt::format("      = hint: {}\n", d.hint);
  return out;
}

std::string render_diagnostic(std::string_view file, const BlobDiagnostic& d) {
  std::string out = format_diagnostic(file, d) + "\n";
  if (!d.hint.empty()) out += fmt::format("      = hint: {}\n", d.hint);
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto u = static_cast<unsigned char>(s[i]);
    std::size_t n = utf8_length(u);
    bool valid = n > 1 && i + n <= s.size();
    for (std::size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (valid) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (u == '"' || u == '\\') {
      out += '\\';
      out += static_cast<char>(u);
    } else if (u == '\n') {
      out += "\\n";
    } else if (u == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u >= 0x7F) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += static_cast<char>(u);
    }
    ++i;
  }
  out += '"';
  return out;
}

namespace {
std::string json_hint(const std::string& hint) { return hint.empty() ? "null" : json_string(hint); }
}  // namespace

std::string json_diagnostic(std::string_view file, const SourceDiagnostic& d) {
  return fmt::format(
      R"({{"file":{},"line":{},"column":{},"code":{},"message":{},"hint":{}}})", json_string(file),
      d.pos.line, d.pos.column, json_string(d.code.name()), json_string(d.message), json_hint(d.hint));
}

std::string json_diagnostic(std::string_view file, const BlobDiagnostic& d) {
  return fmt::format(
      R"({{"file":{},"line":null,"column":null,"offset":{},"code":{},"message":{},"hint":{}}})",
      json_string(file), d.offset, json_string(d.code.name()), json_string(d.message),
      json_hint(d.hint));
}

std::string elide(std::string_view s, std::size_t limit) {
  if (s.size() <= limit) return std::string(s);
  // Cut on code point boundaries so that the result stays valid UTF-8.
  std::size_t head = limit / 2;
  while (head > 0 && (static_cast<unsigned char>(s[head]) & 0xC0) == 0x80) --head;
  std::size_t tail = s.size() - (limit - limit / 2 - 3);
  while (tail < s.size() && (static_cast<unsigned char>(s[tail]) & 0xC0) == 0x80) ++tail;
  return fmt::format("{}...{}", s.substr(0, head), s.substr(tail));
}

}  // namespace bcfg_tool
