// Renders the generated parts of docs/authority.md from the headers: the
// role catalog (roles.hpp), the profiles (profiles.hpp) and the reason codes
// of the policy and inventory blocks (status.hpp).
//
//   gen-authority-table                 print every generated section
//   gen-authority-table --check FILE    exit 1 unless FILE holds exactly them
//   gen-authority-table --update FILE   rewrite them in FILE
//
// In the document each section sits between the lines
// `<!-- generated:NAME -->` and `<!-- end generated:NAME -->`; the text
// outside them is written by hand.
#include <fmt/core.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "rootd/abi.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/profiles.hpp"
#include "rootd/roles.hpp"
#include "rootd/status.hpp"
#include "names.hpp"

namespace {

std::string rights_text(std::uint32_t rights) { return bcfg_tool::rights_text(rights, "+", ""); }
std::string role_list(rootd::RoleSet set) { return bcfg_tool::role_list(set, "-"); }

std::string_view need_text(rootd::Need n) {
  switch (n) {
    case rootd::Need::FORBIDDEN: return "no";
    case rootd::Need::OPTIONAL: return "optional";
    case rootd::Need::REQUIRED: return "required";
  }
  return "?";
}

std::string storage_text(const rootd::Role& r) {
  switch (r.storage) {
    case rootd::StorageClass::NONE: return "-";
    case rootd::StorageClass::BLOCK: return "block";
    case rootd::StorageClass::KEY: return "key";
    case rootd::StorageClass::VFS: return "vfs";
    case rootd::StorageClass::FILESYSTEM:
      return fmt::format("filesystem (block {}, key {})", need_text(r.block), need_text(r.key));
  }
  return "?";
}

std::string peers_text(const rootd::Role& r) {
  switch (r.peer_policy) {
    case rootd::PeerPolicy::PRIVATE_ONLY: return r.private_peers.empty() ? "none" : "listed only";
    case rootd::PeerPolicy::PUBLIC_AND_PRIVATE: return "public + listed";
    case rootd::PeerPolicy::EXACT: return "exactly the listed";
  }
  return "?";
}

std::string roles_section() {
  std::string out =
      "| role | launch | primary control | other dedicated endpoints | image frame | window | peers (max) | "
      "may be wired to (non-public) | singleton | public | storage |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const rootd::Role& r : rootd::kRoles) {
    std::string launch(rootd::launch_path_name(r.launch));
    if (r.launch == rootd::LaunchPath::FOUNDATION) launch += fmt::format(" #{}", r.foundation_rank);
    const std::string primary =
        r.primary.has_value()
            ? fmt::format("{} @{}", rootd::endpoint_info(*r.primary).name, rootd::endpoint_info(*r.primary).local_slot)
            : fmt::format("service endpoint @{}", rootd::abi::kServiceEndpointLocalSlot);
    std::string extras;
    for (std::size_t i = 0; i < r.extra_count; ++i) {
      const rootd::EndpointInfo& info = rootd::endpoint_info(r.extras[i].kind);
      if (!extras.empty()) extras += "; ";
      extras += fmt::format("{} @{} ({})", info.name, info.local_slot, rights_text(r.extras[i].rights));
    }
    const std::string image = r.image_frame ? fmt::format("@{}", rootd::kImageFrameLocalSlot) : "-";
    out += fmt::format("| `{}` | {} | {} | {} | {} | {}..{} | {} ({}) | {} | {} | {} | {} |\n", r.name, launch,
                       primary, extras.empty() ? "-" : extras, image, r.window.first, r.window.end() - 1,
                       peers_text(r), r.max_peers, role_list(r.private_peers), r.singleton ? "yes" : "no",
                       r.is_public ? "yes" : "no", storage_text(r));
  }
  return out;
}

std::string profiles_section() {
  std::string out =
      "| profile | required roles | required modules | probe (spawned, awaited) | block-backed storage |\n"
      "|---|---|---|---|---|\n";
  for (const rootd::Profile& p : rootd::kProfiles) {
    std::string modules;
    for (std::size_t m = 0; m < p.module_count; ++m) {
      if (!modules.empty()) modules += ", ";
      modules += fmt::format("`{}`", p.modules[m]);
    }
    const std::string probe = p.probe.has_value() ? std::string(rootd::role(*p.probe).name) : "-";
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", p.id, role_list(p.required_roles),
                       modules.empty() ? "-" : modules, probe, p.needs_block_storage ? "yes" : "no");
  }
  return out;
}

std::string reasons_section() {
  std::string out = "| code | reason | status |\n|---|---|---|\n";
  for (const rootd::ReasonInfo& row : rootd::kReasonTable) {
    const auto n = static_cast<unsigned>(row.reason);
    if (!((n >= 300 && n < 370) || (n >= 400 && n < 450))) continue;
    out += fmt::format("| {} | `{}` | {} |\n", n, row.name, rootd::status_name(row.status));
  }
  return out;
}

struct Section {
  std::string_view name;
  std::string (*render)();
};
constexpr Section kSections[] = {
    {"roles", roles_section},
    {"profiles", profiles_section},
    {"reasons", reasons_section},
};

std::string begin_marker(std::string_view name) { return fmt::format("<!-- generated:{} -->", name); }
std::string end_marker(std::string_view name) { return fmt::format("<!-- end generated:{} -->", name); }

// Replaces each generated section of `doc`; false (with a message) when a
// marker is missing or, with `check`, when a section differs.
bool splice(std::string& doc, bool check, const std::string& path) {
  bool same = true;
  for (const Section& s : kSections) {
    const std::string begin = begin_marker(s.name) + "\n";
    const std::string end = end_marker(s.name);
    const std::size_t b = doc.find(begin);
    const std::size_t e = b == std::string::npos ? std::string::npos : doc.find(end, b);
    if (e == std::string::npos) {
      fmt::print(stderr, "{}: no section {} ... {}\n", path, begin_marker(s.name), end);
      return false;
    }
    const std::size_t body = b + begin.size();
    const std::string want = s.render();
    if (doc.compare(body, e - body, want) != 0) {
      same = false;
      if (check) fmt::print(stderr, "{}: section '{}' differs from the headers; run --update\n", path, s.name);
    }
    doc.replace(body, e - body, want);
  }
  return !check || same;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    for (const Section& s : kSections) {
      fmt::print("{}\n{}{}\n\n", begin_marker(s.name), s.render(), end_marker(s.name));
    }
    return 0;
  }
  if (args.size() != 2 || (args[0] != "--check" && args[0] != "--update")) {
    fmt::print(stderr, "usage: gen-authority-table [--check FILE | --update FILE]\n");
    return 2;
  }
  const std::string& path = args[1];
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fmt::print(stderr, "{}: cannot read\n", path);
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  const bool check = args[0] == "--check";
  if (!splice(doc, check, path)) return 1;
  if (!check) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << doc;
    if (!out) {
      fmt::print(stderr, "{}: cannot write\n", path);
      return 2;
    }
  }
  return 0;
}
