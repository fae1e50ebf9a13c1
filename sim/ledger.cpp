#include "ledger.hpp"

#include <fmt/format.h>

#include <map>
#include <string_view>

#include "loader_service.hpp"
#include "rootd/authority.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/profiles.hpp"
#include "rootd/roles.hpp"

namespace erix::sim {

namespace {

using rootd::AuthorityKind;
using rootd::Role;
using rootd::Transfer;

constexpr std::string_view kDetailPrefix = "ERIX_ROOTD:DETAIL:";

std::string object_text(const KernelModel& model, const Cap& cap) {
  std::string s = fmt::format("{}#{}", object_type_name(cap.type), cap.object);
  if (cap.type == ObjectType::endpoint) {
    if (const EndpointObject* ep = model.endpoint(cap.object); ep != nullptr) {
      if (ep->dedicated.has_value()) s += fmt::format("[{}]", rootd::endpoint_info(*ep->dedicated).name);
      if (ep->root) s += "[root]";
    }
  } else if (cap.type == ObjectType::frame) {
    if (const FrameObject* f = model.frame(cap.object); f != nullptr) {
      if (f->boot_image) s += "[boot-image]";
      if (!f->module.empty()) s += fmt::format("[module {}]", f->module);
      if (f->device) s += "[device]";
    }
  } else if (cap.type != ObjectType::kernel_control && cap.type != ObjectType::untyped) {
    if (const Process* p = model.process(static_cast<Pid>(cap.object)); p != nullptr) {
      s += fmt::format("[{} {}]", p->name, process_state_name(p->state));
    }
  }
  return s;
}

// The service a terminal failure names: ERIX_ROOTD:DETAIL:<reason>:<service>.
std::optional<std::string> named_by_failure(const KernelModel& model) {
  std::optional<std::string> named;
  for (const ReportLine& line : model.reports()) {
    if (line.pid != kRootdPid || !line.text.starts_with(kDetailPrefix)) continue;
    const std::string_view rest = std::string_view(line.text).substr(kDetailPrefix.size());
    const auto colon = rest.find(':');
    if (colon != std::string_view::npos) named = std::string(rest.substr(colon + 1));
  }
  return named;
}

// rootd at PARK: its four caps and nothing else, with one exception. When
// rootd refused the handoff it cannot tell which slots hold boot caps (the
// handoff that would say so is the thing it refused, and a wrong delete
// could hit its own authority), so it deletes nothing and parks before
// creating anything: the boot caps the kernel installed (frames, untyped,
// dedicated endpoints) are explained as kept, and reach nobody. Anything
// else rootd holds is still a leak.
LedgerCap explain_rootd(const KernelModel& model, std::uint32_t slot, const Cap& cap, bool handoff_refused) {
  LedgerCap out{slot, cap, object_text(model, cap), std::nullopt, {}};
  struct Fixed {
    std::uint32_t slot;
    ObjectType type;
    std::uint32_t rights;
    std::string_view row;
  };
  const Fixed fixed[] = {
      {abi::kKernelControlSlot, ObjectType::kernel_control, kKernelControlRights, "kernel-control"},
      {abi::kSelfCspaceSlot, ObjectType::cspace, kSelfSpaceRights, "own cspace"},
      {abi::kSelfVspaceSlot, ObjectType::vspace, kSelfSpaceRights, "own vspace"},
      {model.root_endpoint_slot(), ObjectType::endpoint, kRootEndpointRights, "root endpoint"},
  };
  for (const Fixed& f : fixed) {
    if (slot != f.slot) continue;
    bool right_object = cap.type == f.type;
    if (f.type == ObjectType::cspace || f.type == ObjectType::vspace) right_object = right_object && cap.object == kRootdPid;
    if (f.type == ObjectType::endpoint) {
      const EndpointObject* ep = model.endpoint(cap.object);
      right_object = right_object && ep != nullptr && ep->root;
    }
    if (!right_object) {
      out.why = fmt::format("rootd's slot {} must hold its {}", slot, f.row);
      return out;
    }
    if (!rootd::rights_within(cap.rights, f.rights)) {
      out.why = fmt::format("rights beyond the kernel's {}", rights_name(f.rights));
      return out;
    }
    out.rule = LedgerRule{"rootd", std::string(f.row), "kernel at entry", f.rights};
    return out;
  }
  if (handoff_refused) {
    const EndpointObject* ep = cap.type == ObjectType::endpoint ? model.endpoint(cap.object) : nullptr;
    const bool boot_cap = cap.type == ObjectType::frame || cap.type == ObjectType::untyped ||
                          (ep != nullptr && ep->dedicated.has_value());
    if (boot_cap) {
      out.rule = LedgerRule{"rootd", "boot cap kept: handoff refused", "kernel at entry", cap.rights};
      return out;
    }
  }
  out.why = "rootd keeps it at PARK: rootd ends with its four caps only";
  return out;
}

// Everything the child rules need to know about the boot.
class ChildRules {
 public:
  ChildRules(const KernelModel& model, const rootd::bcfg::View* config) : model_(model), config_(config) {
    // Each endpoint's owner: the process holding RECEIVE on it at its
    // service-endpoint slot (destroyed ones too: their endpoints outlive them).
    for (const auto& [pid, p] : model.processes()) {
      if (pid == kRootdPid) continue;
      for (const auto& [slot, cap] : p.cspace) {
        if (cap.type != ObjectType::endpoint || (cap.rights & abi::RIGHT_RECEIVE) == 0) continue;
        ++receivers_[cap.object];
        if (slot == abi::kServiceEndpointLocalSlot) owners_[cap.object] = pid;
      }
    }
  }

  LedgerCap explain(const Process& p, std::uint32_t slot, const Cap& cap) const {
    LedgerCap out{slot, cap, object_text(model_, cap), std::nullopt, {}};
    const Role* r = rootd::find_role(p.role);
    if (config_ == nullptr || r == nullptr || p.identity >= config_->service_count() ||
        config_->service(static_cast<std::size_t>(p.identity)).name != p.name) {
      out.why = "a process no config service explains";
      return out;
    }
    const auto i = static_cast<std::uint16_t>(p.identity);
    Transfer t;
    t.op = abi::CapOp::COPY_ATTENUATED;
    t.local_slot = slot;
    t.rights = cap.rights;
    std::string source;
    if (const std::optional<std::string> why = classify(p, i, *r, cap, t, source)) {
      out.why = *why;
      return out;
    }
    if (const rootd::Check c = rootd::authorize(*r, t); !rootd::ok(c)) {
      out.why = fmt::format("refused by authorize(): {}", rootd::reason_name(c.reason));
      return out;
    }
    // A driver's cspace is written by the deviced that started it, through
    // child-populate, and by nobody else (rootd included).
    if (r->launch == rootd::LaunchPath::DEVICED) {
      const Pid by = model_.populated_by(p.pid, slot);
      const Process* deviced = model_.process(by);
      if (by == kNoPid || by != p.parent || deviced == nullptr || deviced->role != "deviced") {
        out.why = "a driver's cap that its deviced did not populate through child-populate";
        return out;
      }
      source += fmt::format(", populated by {} via child-populate", deviced->name);
    }
    out.rule = LedgerRule{std::string(r->name), row_text(t), source, ceiling(*r, t)};
    return out;
  }

 private:
  // Fills the transfer this cap would be; a reason when it can be none.
  std::optional<std::string> classify(const Process& p, std::uint16_t i, const Role& r, const Cap& cap, Transfer& t,
                                      std::string& source) const {
    if (cap.type == ObjectType::frame) {
      const FrameObject* f = model_.frame(cap.object);
      if (f == nullptr || f->device) return "a device frame: no rule hands one on";
      t.source_rights = kImageRights;
      if (f->boot_image) {
        t.authority = AuthorityKind::IMAGE_FRAME;
        source = "handoff: boot image frame";
        return std::nullopt;
      }
      // A profile module its consumer receives read-only, when the profile
      // lists it.
      for (std::size_t g = 0; g < rootd::kModuleGrantCount; ++g) {
        const rootd::ModuleGrant& grant = rootd::kModuleGrants[g];
        if (grant.module != f->module || grant.consumer != r.id || t.local_slot != grant.local_slot) continue;
        if (!rootd::profile_lists_module(config_->profile(), grant.module)) {
          return fmt::format("module {}: profile {} does not read it", f->module, config_->profile());
        }
        t.authority = AuthorityKind::PROFILE_MODULE;
        t.peer = static_cast<std::uint16_t>(g);
        source = fmt::format("handoff: module {} frame (profile {})", f->module, config_->profile());
        return std::nullopt;
      }
      // A module frame: carried to the launcher of the service it images.
      t.authority = AuthorityKind::CARRIED_IMAGE_FRAME;
      for (std::size_t j = 0; j < config_->service_count(); ++j) {
        const rootd::bcfg::Service s = config_->service(j);
        const Role* rj = rootd::find_role(s.role);
        if (s.image != f->module || rj == nullptr) continue;
        const std::optional<rootd::RoleId> launcher = rootd::launcher_role(rj->launch);
        if (!launcher.has_value() || *launcher != r.id || first_of(*launcher) != i) continue;
        t.peer = static_cast<std::uint16_t>(j);
        t.peer_role = rj->id;
        source = fmt::format("handoff: module {} frame, carried in {}'s launch CALL", f->module, s.name);
        return std::nullopt;
      }
      return fmt::format("module {} images no service {} launches", f->module, p.name);
    }
    if (cap.type != ObjectType::endpoint) return fmt::format("no rule hands a {} to a service", object_type_name(cap.type));
    const EndpointObject* ep = model_.endpoint(cap.object);
    if (ep == nullptr || ep->root) return "rootd's root endpoint";
    t.source_rights = kEndpointRights;
    if (ep->dedicated.has_value()) {
      t.authority = AuthorityKind::DEDICATED_ENDPOINT;
      t.endpoint = *ep->dedicated;
      source = fmt::format("handoff: {} endpoint", rootd::endpoint_info(*ep->dedicated).name);
      return std::nullopt;
    }
    const auto owner = owners_.find(cap.object);
    if (owner == owners_.end()) return "an endpoint no service receives on";
    if (slot_is_service_endpoint(t.local_slot)) {
      t.authority = AuthorityKind::SERVICE_ENDPOINT;
      if (owner->second != p.pid || receivers_.at(cap.object) != 1) return "its endpoint is received on by another too";
      t.peer = i;
      source = "rootd: its service endpoint";
      return std::nullopt;
    }
    const Process* q = model_.process(owner->second);
    if (q == nullptr || q->identity >= config_->service_count()) return "the endpoint of no config service";
    const auto j = static_cast<std::uint16_t>(q->identity);
    const Role* rj = rootd::find_role(config_->service(j).role);
    if (rj == nullptr) return "the endpoint of a service with no role";
    t.peer = j;
    t.peer_role = rj->id;
    for (const std::uint16_t peer : config_->peers(i)) {
      if (peer != j) continue;
      t.authority = AuthorityKind::PEER_ENDPOINT;
      source = fmt::format("rootd: {}'s service endpoint (peers)", q->name);
      return std::nullopt;
    }
    for (std::size_t k = 0; k < config_->provider_count(); ++k) {
      const rootd::bcfg::Provider prov = config_->provider(k);
      const bool fs_to_backing = prov.service == i && (prov.block == j || prov.key == j);
      const bool vfs_to_fs = r.storage == rootd::StorageClass::VFS && prov.service == j;
      if (!fs_to_backing && !vfs_to_fs) continue;
      t.authority = AuthorityKind::STORAGE_ENDPOINT;
      source = fmt::format("rootd: {}'s service endpoint (provider {})", q->name, prov.name);
      return std::nullopt;
    }
    return fmt::format("{}'s endpoint, wired by no peers entry or provider row", q->name);
  }

  static bool slot_is_service_endpoint(std::uint32_t slot) { return slot == abi::kServiceEndpointLocalSlot; }

  std::size_t first_of(rootd::RoleId id) const {
    for (std::size_t j = 0; j < config_->service_count(); ++j) {
      const Role* r = rootd::find_role(config_->service(j).role);
      if (r != nullptr && r->id == id) return j;
    }
    return config_->service_count();
  }

  std::string row_text(const Transfer& t) const {
    std::string row(rootd::authority_kind_name(t.authority));
    switch (t.authority) {
      case AuthorityKind::DEDICATED_ENDPOINT: row += fmt::format(" {}", rootd::endpoint_info(t.endpoint).name); break;
      case AuthorityKind::PEER_ENDPOINT:
      case AuthorityKind::STORAGE_ENDPOINT:
      case AuthorityKind::CARRIED_IMAGE_FRAME: row += fmt::format(" {}", config_->service(t.peer).name); break;
      case AuthorityKind::PROFILE_MODULE: row += fmt::format(" {}", rootd::kModuleGrants[t.peer].module); break;
      case AuthorityKind::SERVICE_ENDPOINT:
      case AuthorityKind::IMAGE_FRAME: break;
    }
    return row;
  }

  static std::uint32_t ceiling(const Role& r, const Transfer& t) {
    switch (t.authority) {
      case AuthorityKind::SERVICE_ENDPOINT: return rootd::kServiceEndpointRights;
      case AuthorityKind::DEDICATED_ENDPOINT: return rootd::dedicated_rights(r, t.endpoint);
      case AuthorityKind::IMAGE_FRAME: return rootd::kImageFrameRights;
      case AuthorityKind::PEER_ENDPOINT:
      case AuthorityKind::STORAGE_ENDPOINT: return rootd::kPeerRights;
      case AuthorityKind::CARRIED_IMAGE_FRAME: return rootd::kCarriedImageRights;
      case AuthorityKind::PROFILE_MODULE: return rootd::kProfileModuleRights;
    }
    return 0;
  }

  const KernelModel& model_;
  const rootd::bcfg::View* config_;
  std::map<ObjectId, Pid> owners_;
  std::map<ObjectId, std::uint32_t> receivers_;
};

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_rights(std::uint32_t rights) {
  std::string out = "[";
  bool first = true;
  for (const auto& [bit, name] : abi::kRightNames) {
    if ((rights & bit) == 0) continue;
    if (!first) out += ",";
    out += json_string(name);
    first = false;
  }
  return out + "]";
}

}  // namespace

std::size_t Ledger::leak_count() const {
  std::size_t n = 0;
  for (const LedgerProcess& p : processes) {
    if (p.leak.has_value()) ++n;
    for (const LedgerCap& c : p.caps) n += c.leak() ? 1 : 0;
  }
  return n;
}

Ledger build_ledger(const KernelModel& model, const LedgerInputs& in) {
  const rootd::Result<rootd::bcfg::View> parsed = rootd::bcfg::parse(in.config);
  const rootd::bcfg::View* config = parsed.ok() ? &parsed.value() : nullptr;
  const ChildRules rules(model, config);
  const std::optional<std::string> named = in.failed ? named_by_failure(model) : std::nullopt;
  Ledger ledger;
  for (const auto& [pid, p] : model.processes()) {
    if (p.state == ProcessState::destroyed) continue;
    LedgerProcess lp{pid, p.name, p.role, std::string(process_state_name(p.state)), {}, std::nullopt, {}};
    const bool launched = p.launcher == Launcher::loader;
    for (const auto& [slot, cap] : p.cspace) {
      if (launched) {
        lp.caps.push_back(LedgerCap{slot, cap, object_text(model, cap), std::nullopt,
                                    "a program loaderd launched holds nothing"});
      } else if (p.role == "loaderd" && is_loader_scratch_slot(slot)) {
        lp.caps.push_back(LedgerCap{slot, cap, object_text(model, cap), std::nullopt,
                                    "loaderd's scratch, left after its request ended"});
      } else {
        lp.caps.push_back(pid == kRootdPid ? explain_rootd(model, slot, cap, in.handoff_refused)
                                           : rules.explain(p, slot, cap));
      }
    }
    if (launched) {
      // procd keeps it, ended, for its launcher's STATUS and INSPECT: not
      // rootd's to destroy. It must have run to its end.
      lp.note = fmt::format("launched by loaderd (procd pid {}): holds nothing", p.parent);
      if (p.state == ProcessState::staged || p.state == ProcessState::running) {
        lp.leak = "launched by loaderd and never run to its end";
      }
    } else if (pid != kRootdPid) {
      if (p.state == ProcessState::staged) {
        lp.leak = "created and never started";
      } else if (p.state == ProcessState::stopped || p.state == ProcessState::exited) {
        lp.leak = "ended and never destroyed";
      } else if (in.failed && p.state == ProcessState::running) {
        if (named.has_value() && *named == p.name) {
          lp.note = "alive after the failure; named by the terminal reason";
        } else {
          lp.leak = "alive after the failure, and the terminal reason does not name it";
        }
      }
    }
    ledger.processes.push_back(std::move(lp));
  }
  return ledger;
}

std::string ledger_text(const Ledger& ledger) {
  std::string out;
  for (const LedgerProcess& p : ledger.processes) {
    out += fmt::format("process pid {} {} ({}){}{}\n", p.pid, p.name, p.role.empty() ? "-" : p.role, 
                       p.state.empty() ? "" : ", " + p.state, p.note.empty() ? "" : "; " + p.note);
    if (p.leak.has_value()) out += fmt::format("  LEAK: pid {} {}: {}\n", p.pid, p.name, *p.leak);
    for (const LedgerCap& c : p.caps) {
      out += fmt::format("  slot {}: {} rights={}", c.slot, c.object, rights_name(c.cap.rights));
      if (c.rule.has_value()) {
        out += fmt::format(" <- {} {} ({}) max {}\n", c.rule->role, c.rule->row, c.rule->source,
                           rights_name(c.rule->rights));
      } else {
        out += fmt::format(" LEAK: {}\n", c.why);
      }
    }
  }
  out += fmt::format("ledger: {} leaks\n", ledger.leak_count());
  return out;
}

std::string ledger_json(const Ledger& ledger) {
  std::string out = "{\"processes\":[";
  bool first_process = true;
  for (const LedgerProcess& p : ledger.processes) {
    if (!first_process) out += ",";
    first_process = false;
    out += fmt::format("\n{{\"pid\":{},\"name\":{},\"role\":{},\"state\":{},\"leak\":{},\"caps\":[", p.pid,
                       json_string(p.name), p.role.empty() ? "null" : json_string(p.role), json_string(p.state),
                       p.leak.has_value() ? json_string(*p.leak) : "null");
    bool first_cap = true;
    for (const LedgerCap& c : p.caps) {
      if (!first_cap) out += ",";
      first_cap = false;
      std::string rule = "null";
      if (c.rule.has_value()) {
        rule = fmt::format("{{\"role\":{},\"row\":{},\"source\":{},\"rights\":{}}}", json_string(c.rule->role),
                           json_string(c.rule->row), json_string(c.rule->source), json_rights(c.rule->rights));
      }
      out += fmt::format("\n  {{\"slot\":{},\"kind\":{},\"object\":{},\"rights\":{},\"rule\":{},\"leak\":{}{}}}",
                         c.slot, json_string(object_type_name(c.cap.type)), json_string(c.object),
                         json_rights(c.cap.rights), rule, c.leak() ? "true" : "false",
                         c.leak() ? ",\"why\":" + json_string(c.why) : std::string());
    }
    out += "]}";
  }
  out += fmt::format("\n],\"leaks\":{}}}\n", ledger.leak_count());
  return out;
}

}  // namespace erix::sim
