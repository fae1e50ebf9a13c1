#include "report.hpp"
#include "names.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "rootd/abi.hpp"
#include "rootd/roles.hpp"

namespace bcfg_tool {

namespace bcfg = rootd::bcfg;
using rootd::AuthorityKind;
using rootd::EdgeKind;

namespace {

std::string rights_text(std::uint32_t rights) { return bcfg_tool::rights_text(rights, "|", "none"); }

std::string_view launched_through(rootd::LaunchPath p) {
  switch (p) {
    case rootd::LaunchPath::FOUNDATION: return "kernel control";
    case rootd::LaunchPath::PROCD: return "procd";
    case rootd::LaunchPath::DEVICED: return "deviced START_DRIVER";
    case rootd::LaunchPath::PROBE: return "procd (probe)";
  }
  return "?";
}

std::string_view edge_name(std::uint8_t kind) {
  return rootd::edge_kind_name(static_cast<EdgeKind>(kind));
}

// Where a transfer's capability sits in rootd's cspace.
std::string source_text(const bcfg::View& view, const rootd::Transfer& t, bool symbolic) {
  switch (t.authority) {
    case AuthorityKind::SERVICE_ENDPOINT:
    case AuthorityKind::PEER_ENDPOINT:
    case AuthorityKind::STORAGE_ENDPOINT: {
      const std::string_view owner = view.service(t.peer).name;
      const std::string what = t.authority == AuthorityKind::SERVICE_ENDPOINT
                                   ? fmt::format("its retained endpoint")
                                   : fmt::format("{}'s retained endpoint", owner);
      if (symbolic) return fmt::format("first_free+{} ({})", t.peer, what);
      return fmt::format("slot {} ({})", t.source_slot, what);
    }
    case AuthorityKind::DEDICATED_ENDPOINT:
      return fmt::format("slot {} ({} endpoint)", t.source_slot,
                         rootd::endpoint_info(t.endpoint).name);
    case AuthorityKind::IMAGE_FRAME:
      if (symbolic) return "the handoff's boot image frame";
      return fmt::format("slot {} (boot image frame)", t.source_slot);
    case AuthorityKind::CARRIED_IMAGE_FRAME:
      return fmt::format("{}'s image frame (module {})", view.service(t.peer).name, view.service(t.peer).image);
    case AuthorityKind::PROFILE_MODULE:
      if (symbolic) return fmt::format("the handoff's module {} frame", rootd::kModuleGrants[t.peer].module);
      return fmt::format("slot {} (module {} frame)", t.source_slot, rootd::kModuleGrants[t.peer].module);
  }
  return "?";
}

// Columns are as wide as their widest cell, heading included.
struct PlanWidths {
  std::size_t name = 7;      // "service"
  std::size_t role = 4;      // "role"
  std::size_t launch = 16;   // "launched through"
  std::size_t authority = 9; // "authority"
  std::size_t rights = 6;    // "rights"
};

}  // namespace

std::string write_plan(std::string_view file, const bcfg::View& view, const Planned& planned,
                       bool symbolic) {
  const rootd::OrderPlan& plan = *planned.order;
  const rootd::EnvelopeSet& set = planned.envelopes;
  const std::size_t n = view.service_count();
  PlanWidths w;
  for (std::size_t i = 0; i < n; ++i) {
    const bcfg::Service s = view.service(i);
    w.name = std::max(w.name, s.name.size());
    w.role = std::max(w.role, s.role.size());
    const rootd::Role* r = plan.role_at(i);
    w.launch = std::max(w.launch, r != nullptr ? launched_through(r->launch).size() : 1);
    for (const rootd::Transfer& t : set.transfers_of(i)) {
      w.authority = std::max(w.authority, rootd::authority_kind_name(t.authority).size());
      w.rights = std::max(w.rights, rights_text(t.rights).size());
    }
    if (i < planned.carried.size()) {
      for (const rootd::Transfer& t : planned.carried[i]) {
        w.authority = std::max(w.authority, rootd::authority_kind_name(t.authority).size());
        w.rights = std::max(w.rights, rights_text(t.rights).size());
      }
    }
  }
  std::string out;
  out += fmt::format("plan of {}\n", file);
  out += fmt::format("profile {}; {} services, {} waves, {} transfers\n", view.profile(), n,
                     plan.wave_count, set.transfer_count);
  if (symbolic) {
    out += fmt::format(
        "sources: no handoff given; dedicated endpoints at their canonical slots in rootd,\n"
        "         service i's retained endpoint at first_free+i (rootd's first free slot + i)\n");
  } else {
    out += fmt::format("sources: from the handoff (first free slot {}, boot image frame at slot {})\n",
                       planned.sources.first_free_slot, planned.sources.image_frame);
  }

  out += "\nlaunch order\n";
  out += fmt::format("  {:>4}  {:>4}  {:<{}}  {:<{}}  {:<{}}  {}\n", "#", "wave", "service", w.name,
                     "role", w.role, "launched through", w.launch, "waits for");
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint16_t i = plan.order[k];
    const bcfg::Service s = view.service(i);
    const rootd::Role* r = plan.role_at(i);
    std::string waits;
    for (std::uint32_t d = plan.dep_start[i]; d < plan.dep_start[i + 1]; ++d) {
      if (!waits.empty()) waits += ", ";
      waits += fmt::format("{} ({})", view.service(plan.deps[d]).name, edge_name(plan.dep_kind[d]));
    }
    out += fmt::format("  {:>4}  {:>4}  {:<{}}  {:<{}}  {:<{}}  {}\n", k + 1, plan.wave[i], s.name,
                       w.name, s.role, w.role, r != nullptr ? launched_through(r->launch) : "?",
                       w.launch, waits.empty() ? "-" : waits);
  }

  out += "\nstart waves\n";
  for (std::uint16_t wave = 0; wave < plan.wave_count; ++wave) {
    std::string names;
    for (std::uint32_t k = plan.wave_start[wave]; k < plan.wave_start[wave + 1]; ++k) {
      if (!names.empty()) names += ' ';
      names += view.service(plan.order[k]).name;
    }
    out += fmt::format("  wave {}: {}\n", wave, names);
  }

  out += "\ntransfer tables (launch order; every copy is COPY_ATTENUATED)\n";
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint16_t i = plan.order[k];
    const rootd::Envelope& e = set.envelopes[i];
    const bcfg::Service s = view.service(i);
    out += fmt::format("\n  {} (role {}; primary control slot {}; window {}..{})\n", s.name, s.role,
                       e.primary_slot, e.window.first, e.window.end() - 1);
    // rootd never writes a driver's cspace: each row goes through deviced.
    if (const rootd::Role* r = plan.role_at(i); r != nullptr && r->launch == rootd::LaunchPath::DEVICED) {
      out += fmt::format("    populated by deviced via child-populate: each row staged at deviced's slot {}, then\n"
                         "    copied into {} and dropped\n",
                         rootd::kPopulateStagingSlot, s.name);
    }
    out += fmt::format("    {:>5}  {:<{}}  {:<{}}  {}\n", "local", "authority", w.authority,
                       "rights", w.rights, "source in rootd");
    for (const rootd::Transfer& t : set.transfers_of(i)) {
      out += fmt::format("    {:>5}  {:<{}}  {:<{}}  {}\n", t.local_slot,
                         rootd::authority_kind_name(t.authority), w.authority,
                         rights_text(t.rights), w.rights, source_text(view, t, symbolic));
    }
    // Carried in launch CALLs, not copied: the launcher picks the slot.
    if (i < planned.carried.size()) {
      for (const rootd::Transfer& t : planned.carried[i]) {
        out += fmt::format("    {:>5}  {:<{}}  {:<{}}  {}\n", "recv",
                           rootd::authority_kind_name(t.authority), w.authority,
                           rights_text(t.rights), w.rights, source_text(view, t, symbolic));
      }
    }
  }
  return out;
}

namespace {

std::string node_style(const rootd::Role* r) {
  if (r == nullptr) return "";
  switch (r->launch) {
    case rootd::LaunchPath::FOUNDATION: return ", style=\"filled,bold\", fillcolor=\"#d9d9d9\"";
    case rootd::LaunchPath::DEVICED: return ", style=\"rounded,filled\", fillcolor=\"#fff2cc\"";
    case rootd::LaunchPath::PROBE: return ", style=\"diagonals\"";
    case rootd::LaunchPath::PROCD: break;
  }
  return "";
}

// The provider whose row implies the storage edge from -> to.
std::string_view provider_of(const bcfg::View& view, std::uint16_t from, std::uint16_t to) {
  for (std::size_t p = 0; p < view.provider_count(); ++p) {
    const bcfg::Provider prov = view.provider(p);
    if (prov.service == from && (prov.block == to || prov.key == to)) return prov.name;
  }
  for (std::size_t p = 0; p < view.provider_count(); ++p) {
    if (view.provider(p).service == to) return view.provider(p).name;
  }
  return {};
}

// A DOT double-quoted string's content: only '"' and '\\' need escaping.
std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string write_dot(std::string_view file, const bcfg::View& view, const Planned& planned,
                      const EdgeSet& offending) {
  const rootd::OrderPlan& plan = *planned.order;
  // Edges at fault that the dependency graph does not hold (plan_order
  // leaves a self-dependency out) are drawn on their own.
  EdgeSet undrawn = offending;
  std::string out;
  out += fmt::format("// erix-bcfg graph of {}\n", dot_escape(file));
  out += "// Edges point from a service to what it waits for: solid = after, dashed blue = peers,\n"
         "// dotted grey = implied by roles (launcher, foundation) or provider rows (storage).\n";
  out += "digraph boot_config {\n";
  out += "  graph [rankdir=BT, nodesep=0.3, ranksep=0.5, fontname=\"Helvetica\"];\n";
  out += "  node [shape=box, fontname=\"Helvetica\", fontsize=11];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  out += fmt::format("  label=\"{} (profile {}){}\";\n", dot_escape(file), view.profile(),
                     offending.empty() ? "" : "\\nINVALID: red edges are at fault");
  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const bcfg::Service s = view.service(i);
    const std::string label =
        s.role == s.name ? std::string(s.name) : fmt::format("{}\\nrole {}", s.name, s.role);
    out += fmt::format("  \"{}\" [label=\"{}\"{}];\n", s.name, label, node_style(plan.role_at(i)));
  }
  for (std::uint16_t wave = 0; wave < plan.wave_count; ++wave) {
    out += "  { rank=same;";
    for (std::uint32_t k = plan.wave_start[wave]; k < plan.wave_start[wave + 1]; ++k) {
      out += fmt::format(" \"{}\";", view.service(plan.order[k]).name);
    }
    out += " }\n";
  }
  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const std::string_view from = view.service(i).name;
    for (std::uint32_t d = plan.dep_start[i]; d < plan.dep_start[i + 1]; ++d) {
      const std::string_view to = view.service(plan.deps[d]).name;
      const auto kind = static_cast<EdgeKind>(plan.dep_kind[d]);
      std::string_view style = "dotted";
      std::string color = "\"#8c8c8c\"", label, extra;
      switch (kind) {
        case EdgeKind::AFTER:
          style = "solid";
          color.clear();
          break;
        case EdgeKind::PEER:
          style = "dashed";
          color = "\"#1f4e9c\"";
          extra = ", arrowhead=vee";
          break;
        case EdgeKind::LAUNCHER:
        case EdgeKind::FOUNDATION: label = rootd::edge_kind_name(kind); break;
        case EdgeKind::STORAGE: {
          // No provider between them: a block service on its block driver.
          const std::string_view provider = provider_of(view, static_cast<std::uint16_t>(i), plan.deps[d]);
          label = fmt::format("storage {}", provider.empty() ? std::string_view("driver") : provider);
          break;
        }
      }
      const std::pair<std::uint16_t, std::uint16_t> edge{static_cast<std::uint16_t>(i), plan.deps[d]};
      if (offending.count(edge) != 0) {
        color = "\"#d62728\"";
        extra += ", penwidth=2.5";
        undrawn.erase(edge);
      }
      std::string attrs = fmt::format("style={}", style);
      if (!color.empty()) attrs += fmt::format(", color={}", color);
      if (!label.empty()) attrs += fmt::format(", fontcolor={}, label=\"{}\"", color, label);
      attrs += extra;
      out += fmt::format("  \"{}\" -> \"{}\" [{}];\n", from, to, attrs);
    }
  }
  for (const auto& [from, to] : undrawn) {
    out += fmt::format("  \"{}\" -> \"{}\" [color=\"#d62728\", penwidth=2.5];\n",
                       view.service(from).name, view.service(to).name);
  }
  out += "}\n";
  return out;
}

}  // namespace bcfg_tool
