#include "decode.hpp"

#include <fmt/format.h>

namespace bcfg_tool {

namespace bcfg = rootd::bcfg;

std::string toml_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default:
        // TOML allows no raw control characters in a basic string.
        if (u < 0x20 || u == 0x7F) {
          out += fmt::format("\\u{:04X}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

namespace {

void append_list(std::string& out, std::string_view key, const bcfg::View& view,
                 const bcfg::IndexList& list) {
  if (list.size() == 0) return;
  out += key;
  out += " = [";
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i != 0) out += ", ";
    out += toml_quote(view.service(list[i]).name);
  }
  out += "]\n";
}

}  // namespace

std::string decode_to_toml(const bcfg::View& view) {
  std::string out = "version = 1\n";
  if (view.profile() != "none") out += fmt::format("profile = {}\n", toml_quote(view.profile()));

  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const bcfg::Service s = view.service(i);
    out += fmt::format("\n[[service]]\nname = {}\nrole = {}\n", toml_quote(s.name),
                       toml_quote(s.role));
    if (s.image != s.name) out += fmt::format("image = {}\n", toml_quote(s.image));
    if (s.launch == bcfg::Launch::DEVICED) out += "launch = \"deviced\"\n";
    append_list(out, "after", view, view.after(i));
    append_list(out, "peers", view, view.peers(i));
  }

  for (std::size_t i = 0; i < view.provider_count(); ++i) {
    const bcfg::Provider p = view.provider(i);
    out += fmt::format("\n[[provider]]\nname = {}\nservice = {}\n", toml_quote(p.name),
                       toml_quote(view.service(p.service).name));
    if (p.block != bcfg::kNoIndex) {
      out += fmt::format("block = {}\n", toml_quote(view.service(p.block).name));
    }
    if (p.partition != bcfg::kNoPartition) out += fmt::format("partition = {}\n", p.partition);
    if (p.key != bcfg::kNoIndex) {
      out += fmt::format("key = {}\n", toml_quote(view.service(p.key).name));
    }
  }

  for (std::size_t i = 0; i < view.mount_count(); ++i) {
    const bcfg::Mount m = view.mount(i);
    out += fmt::format("\n[[mount]]\npath = {}\nprovider = {}\n", toml_quote(m.path),
                       toml_quote(view.provider(m.provider).name));
    if (m.read_only) out += "read_only = true\n";
  }
  return out;
}

}  // namespace bcfg_tool
