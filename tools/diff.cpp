#include "diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "names.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/storage.hpp"

namespace bcfg_tool {

namespace bcfg = rootd::bcfg;
using rootd::AuthorityKind;

namespace {

std::string target_of(const bcfg::View& view, const rootd::Transfer& t) {
  switch (t.authority) {
    case AuthorityKind::SERVICE_ENDPOINT:
    case AuthorityKind::PEER_ENDPOINT:
    case AuthorityKind::STORAGE_ENDPOINT: return std::string(view.service(t.peer).name);
    case AuthorityKind::DEDICATED_ENDPOINT: return std::string(rootd::endpoint_info(t.endpoint).name);
    case AuthorityKind::IMAGE_FRAME: return "boot-image";
    case AuthorityKind::CARRIED_IMAGE_FRAME: return std::string(view.service(t.peer).image);
    case AuthorityKind::PROFILE_MODULE: return std::string(rootd::kModuleGrants[t.peer].module);
  }
  return "?";
}

std::string rights_text(std::uint32_t rights) { return bcfg_tool::rights_text(rights, "|", "none"); }

// One capability line before it is laid out: the columns are aligned per
// service block, so their widths are known only once the block is complete.
struct CapabilityLine {
  char mark;
  const CapabilityKey* key;
  std::string rights;  // "r", or "old -> new (widened)"
};

struct Counts {
  std::size_t services_added = 0, services_removed = 0, services_changed = 0;
  std::size_t caps_added = 0, caps_removed = 0, caps_rights = 0;
};

std::string rights_change(std::uint32_t old_rights, std::uint32_t new_rights) {
  std::string text = fmt::format("{} -> {}", rights_text(old_rights), rights_text(new_rights));
  if (rootd::rights_within(old_rights, new_rights)) return text + " (widened)";
  if (rootd::rights_within(new_rights, old_rights)) return text + " (narrowed)";
  return text;
}

void append_lines(std::string& out, const std::vector<CapabilityLine>& lines) {
  std::size_t kind_width = 0;
  std::size_t target_width = 0;
  for (const CapabilityLine& l : lines) {
    kind_width = std::max(kind_width, rootd::authority_kind_name(l.key->kind).size());
    target_width = std::max(target_width, l.key->target.size());
  }
  for (const CapabilityLine& l : lines) {
    out += fmt::format("  {} {:>4}  {:<{}}  {:<{}}  {}\n", l.mark, l.key->local_slot,
                       rootd::authority_kind_name(l.key->kind), kind_width, l.key->target,
                       target_width, l.rights);
  }
}

// A service present in only one of the configs: its whole authority.
void append_whole(std::string& out, char mark, std::string_view name, const ServiceAuthority& a,
                  std::size_t& cap_count) {
  out += fmt::format("\n{} service {} (role {}, launch path {})\n", mark, name, a.role,
                     rootd::launch_path_name(a.launch));
  std::vector<CapabilityLine> lines;
  for (const auto& [key, rights] : a.capabilities) lines.push_back({mark, &key, rights_text(rights)});
  cap_count += lines.size();
  append_lines(out, lines);
}

// A service in both: its changes, or nothing when there are none.
void append_changes(std::string& out, std::string_view name, const ServiceAuthority& o,
                    const ServiceAuthority& n, Counts& counts) {
  std::vector<CapabilityLine> lines;
  auto a = o.capabilities.begin();
  auto b = n.capabilities.begin();
  while (a != o.capabilities.end() || b != n.capabilities.end()) {
    if (b == n.capabilities.end() || (a != o.capabilities.end() && a->first < b->first)) {
      lines.push_back({'-', &a->first, rights_text(a->second)});
      ++counts.caps_removed;
      ++a;
    } else if (a == o.capabilities.end() || b->first < a->first) {
      lines.push_back({'+', &b->first, rights_text(b->second)});
      ++counts.caps_added;
      ++b;
    } else {
      if (a->second != b->second) {
        lines.push_back({'~', &b->first, rights_change(a->second, b->second)});
        ++counts.caps_rights;
      }
      ++a;
      ++b;
    }
  }
  const bool role_changed = o.role != n.role;
  const bool launch_changed = o.launch != n.launch;
  if (lines.empty() && !role_changed && !launch_changed) return;
  ++counts.services_changed;
  if (role_changed) {
    out += fmt::format("\n~ service {}\n", name);
    out += fmt::format("  ~ role {} -> {}\n", o.role, n.role);
  } else {
    out += fmt::format("\n~ service {} (role {})\n", name, n.role);
  }
  if (launch_changed) {
    out += fmt::format("  ~ launch path {} -> {}\n", rootd::launch_path_name(o.launch),
                       rootd::launch_path_name(n.launch));
  }
  append_lines(out, lines);
}

}  // namespace

AuthorityMap authority_of(const bcfg::View& view, const Planned& planned) {
  AuthorityMap map;
  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const bcfg::Service s = view.service(i);
    ServiceAuthority& a = map[std::string(s.name)];
    a.role = std::string(s.role);
    if (const rootd::Role* r = rootd::service_role(view, i)) a.launch = r->launch;
    for (const rootd::Transfer& t : planned.envelopes.transfers_of(i)) {
      a.capabilities[CapabilityKey{t.local_slot, t.authority, target_of(view, t)}] = t.rights;
    }
  }
  return map;
}

AuthorityDiff diff_authority(std::string_view old_name, const AuthorityMap& old_authority,
                             std::string_view new_name, const AuthorityMap& new_authority) {
  AuthorityDiff diff;
  std::string& out = diff.text;
  out += fmt::format("--- {}\n+++ {}\n", old_name, new_name);
  Counts counts;
  auto a = old_authority.begin();
  auto b = new_authority.begin();
  while (a != old_authority.end() || b != new_authority.end()) {
    if (b == new_authority.end() || (a != old_authority.end() && a->first < b->first)) {
      append_whole(out, '-', a->first, a->second, counts.caps_removed);
      ++counts.services_removed;
      ++a;
    } else if (a == old_authority.end() || b->first < a->first) {
      append_whole(out, '+', b->first, b->second, counts.caps_added);
      ++counts.services_added;
      ++b;
    } else {
      append_changes(out, a->first, a->second, b->second, counts);
      ++a;
      ++b;
    }
  }
  diff.changed = counts.services_added + counts.services_removed + counts.services_changed != 0;
  if (diff.changed) {
    out += fmt::format("\nauthority changed: services +{} -{} ~{}, capabilities +{} -{} ~{}\n",
                       counts.services_added, counts.services_removed, counts.services_changed,
                       counts.caps_added, counts.caps_removed, counts.caps_rights);
  } else {
    std::size_t caps = 0;
    for (const auto& entry : new_authority) caps += entry.second.capabilities.size();
    out += fmt::format("\nno authority change: {} services, {} capabilities\n", new_authority.size(),
                       caps);
  }
  return diff;
}

}  // namespace bcfg_tool
