#include "policy_check.hpp"
#include "names.hpp"

#include <fmt/format.h>


#include "decode.hpp"
#include "suggest.hpp"
#include "rootd/ordering.hpp"
#include "rootd/owner.hpp"
#include "rootd/policy.hpp"
#include "rootd/profiles.hpp"
#include "rootd/roles.hpp"

namespace bcfg_tool {

namespace bcfg = rootd::bcfg;
using rootd::Reason;

namespace {

// The field a row-level reason is about, so that a TOML diagnostic points at
// that key rather than at the table. The policy layer reports the row's
// offset; which field it judged follows from the reason alone.
std::string_view field_hint(Reason r) {
  switch (r) {
    case Reason::ROLE_UNKNOWN:
    case Reason::ROLE_SINGLETON_REPEATED:
    case Reason::ROLE_FOUNDATION_INCOMPLETE:
    case Reason::ROLE_PROCD_MISSING:
    case Reason::ROLE_DEVICED_MISSING:
    case Reason::PROFILE_PROBE_UNEXPECTED: return "role";
    case Reason::ROLE_DRIVER_NOT_LAUNCHED_BY_DEVICED:
    case Reason::ROLE_LAUNCHED_BY_DEVICED_NOT_DRIVER: return "launch";
    case Reason::PEER_EXACT_SET_INCOMPLETE:
    case Reason::PEER_CAPACITY_EXCEEDED: return "peers_first";
    case Reason::PROVIDER_SERVICE_NOT_FILESYSTEM:
    case Reason::PROVIDER_SERVICE_SHARED: return "service";
    case Reason::PROVIDER_BLOCK_NOT_BLOCK_SERVICE:
    case Reason::PROVIDER_BLOCK_FORBIDDEN: return "block";
    case Reason::PROVIDER_KEY_NOT_KEY_SERVICE:
    case Reason::PROVIDER_KEY_FORBIDDEN: return "key";
    case Reason::PROVIDER_PARTITION_WITHOUT_BLOCK: return "partition";
    case Reason::MOUNT_PATH_NOT_ABSOLUTE:
    case Reason::MOUNT_PATH_EMPTY_COMPONENT:
    case Reason::MOUNT_PATH_TRAILING_SLASH:
    case Reason::MOUNT_PATH_DOT_COMPONENT: return "path";
    default: break;
  }
  return {};
}

// Names in a valid blob are short, but a long one is still cut.
std::string q(std::string_view s) {
  if (s.size() <= kMaxShownName) return toml_quote(s);
  return fmt::format("{} ({} bytes)", toml_quote(elide(s)), s.size());
}

std::string role_list(rootd::RoleSet set) { return bcfg_tool::role_list(set, ""); }

class Worder {
 public:
  explicit Worder(const bcfg::View& view) : view_(view) {}

  // The place of `e`: its offset (the validators report the entry or row at
  // fault), with the field the reason is about where a row's field applies.
  BlobPlace place_of(const rootd::Error& e) const {
    BlobPlace place = place_offset(view_.bytes(), e.offset);
    const bool row_start = place.region == BlobPlace::Region::SECTION && place.field_offset == 0 &&
                           (e.subject == rootd::Subject::SERVICE || e.subject == rootd::Subject::PROVIDER ||
                            e.subject == rootd::Subject::MOUNT);
    const std::string_view hint = field_hint(e.reason);
    if (row_start && !hint.empty()) place.field = hint;
    return place;
  }

  std::string word(const rootd::Error& e, const BlobPlace& place) {
    std::string where = describe_in_view(view_, place);
    // The service the error is about (owner.hpp); row-level wording names it.
    const std::uint16_t owner = rootd::owner_of(view_, e);
    const bool in_service = e.subject == rootd::Subject::SERVICE && owner != bcfg::kNoIndex;
    const bcfg::Service s = in_service ? view_.service(owner) : bcfg::Service{};
    const rootd::Role* role = in_service ? rootd::find_role(s.role) : nullptr;
    switch (e.reason) {
      case Reason::ROLE_UNKNOWN:
        return fmt::format("service {}: role {} is not in the role catalog", q(s.name), q(s.role));
      case Reason::ROLE_DRIVER_NOT_LAUNCHED_BY_DEVICED:
        return fmt::format("service {}: role {} is a driver and needs launch = \"deviced\"",
                           q(s.name), q(s.role));
      case Reason::ROLE_LAUNCHED_BY_DEVICED_NOT_DRIVER:
        return fmt::format("service {}: launch = \"deviced\", but role {} is not a driver",
                           q(s.name), q(s.role));
      case Reason::ROLE_SINGLETON_REPEATED:
        return fmt::format("service {}: role {} allows one service only", q(s.name), q(s.role));
      case Reason::ROLE_FOUNDATION_INCOMPLETE:
      case Reason::ROLE_PROCD_MISSING:
      case Reason::ROLE_DEVICED_MISSING: {
        std::string_view launcher = "?";
        if (role != nullptr) {
          if (auto l = rootd::launcher_dependency(*role)) launcher = rootd::role(*l).name;
        }
        return fmt::format("service {}: role {} needs a service of role {}, and there is none",
                           q(s.name), q(s.role), q(launcher));
      }
      case Reason::PROFILE_UNKNOWN: {
        std::string known;
        for (const rootd::Profile& p : rootd::kProfiles) {
          known += known.empty() ? "" : ", ";
          known += p.id;
        }
        return fmt::format("profile {} is not a known profile ({})", q(view_.profile()), known);
      }
      case Reason::PROFILE_ROLE_MISSING: return word_missing_profile_role();
      case Reason::PROFILE_PROBE_UNEXPECTED:
        return fmt::format("service {}: role {} is a probe that profile {} does not spawn",
                           q(s.name), q(s.role), q(view_.profile()));
      case Reason::PROFILE_BLOCK_STORAGE_MISSING:
        return fmt::format("profile {} needs a [[provider]] with a block service",
                           q(view_.profile()));
      case Reason::PEER_SELF: return where + ": a service cannot be its own peer";
      case Reason::PEER_STORAGE_WITHOUT_PROVIDER:
        return where + ": storage endpoints are wired by a [[provider]] row, not by peers";
      case Reason::PEER_NOT_PERMITTED: return where + ": " + word_peer_not_permitted(place);
      case Reason::PEER_EXACT_SET_INCOMPLETE:
        return fmt::format("service {}: role {} needs exactly one peer of each role: {}",
                           q(s.name), q(s.role),
                           role != nullptr ? role_list(role->private_peers) : std::string("?"));
      case Reason::PEER_CAPACITY_EXCEEDED:
        return fmt::format("service {}: more peer and storage endpoints than role {} has slots ({})",
                           q(s.name), q(s.role), role != nullptr ? role->max_peers : 0);
      case Reason::PROVIDER_SERVICE_NOT_FILESYSTEM:
        return where + ": not a filesystem service";
      case Reason::PROVIDER_BLOCK_NOT_BLOCK_SERVICE: return where + ": not a block service";
      case Reason::PROVIDER_KEY_NOT_KEY_SERVICE: return where + ": not a key service";
      case Reason::PROVIDER_BLOCK_REQUIRED:
        return where + ": its filesystem needs a block service";
      case Reason::PROVIDER_BLOCK_FORBIDDEN:
        return where + ": its filesystem takes no block service";
      case Reason::PROVIDER_KEY_FORBIDDEN: return where + ": its filesystem takes no key service";
      case Reason::PROVIDER_PARTITION_WITHOUT_BLOCK:
        return where + ": a partition needs a block service";
      case Reason::PROVIDER_SERVICE_SHARED:
        return where + ": that filesystem service already serves another provider";
      case Reason::PROVIDER_NOT_MOUNTED: return where + ": no [[mount]] uses this provider";
      case Reason::STORAGE_VFSD_MISSING:
        return where + ": storage is configured but no service has role \"vfsd\"";
      case Reason::MOUNT_ROOT_MISSING: return where + ": storage needs a mount at \"/\"";
      case Reason::MOUNT_PATH_NOT_ABSOLUTE: return where + ": the path must start with \"/\"";
      case Reason::MOUNT_PATH_EMPTY_COMPONENT: return where + ": the path contains \"//\"";
      case Reason::MOUNT_PATH_TRAILING_SLASH: return where + ": the path ends with \"/\"";
      case Reason::MOUNT_PATH_DOT_COMPONENT:
        return where + ": the path has a \".\" or \"..\" component";
      case Reason::ORDER_SELF_DEPENDENCY: return where + ": a service cannot wait for itself";
      case Reason::ORDER_FOUNDATION_WAITS_FOR_SERVICE:
        return where + ": a foundation service can wait only for foundation services";
      case Reason::ORDER_BLOCK_DRIVER_MISSING:
        return where + ": it backs a provider, but the config has no block driver for it";
      default: break;
    }
    // The envelope and transfer checks judge the whole capability table
    // rootd derives for the service; no single key of the source is at fault.
    const std::string_view name = rootd::reason_name(e.reason);
    if (in_service && (name.starts_with("ENVELOPE_") || name.starts_with("TRANSFER_"))) {
      return where + ": its startup envelope (the capabilities rootd would hand it) fails this check";
    }
    return where;
  }

  // A cycle longer than kMaxShownCycle links is cut to its first and last
  // few, with the count of those left out: a 2,000-service cycle stays one
  // readable line.
  static constexpr std::uint16_t kMaxShownCycle = 8;
  static constexpr std::uint16_t kCycleHead = 4;
  static constexpr std::uint16_t kCycleTail = 3;

  std::string word_cycle(const rootd::OrderPlan& plan) const {
    std::string out = plan.cycle_length > kMaxShownCycle
                          ? fmt::format("dependency cycle of {} services: ", plan.cycle_length)
                          : std::string("dependency cycle: ");
    for (std::uint16_t k = 0; k < plan.cycle_length; ++k) {
      if (plan.cycle_length > kMaxShownCycle && k >= kCycleHead &&
          k < plan.cycle_length - kCycleTail) {
        if (k == kCycleHead) {
          out += fmt::format(", ... ({} more links) ...", plan.cycle_length - kCycleHead - kCycleTail);
        }
        continue;
      }
      const std::uint16_t from = plan.cycle[k];
      const std::uint16_t to = plan.cycle[(k + 1) % plan.cycle_length];
      std::string_view kind = "?";
      for (std::uint32_t d = plan.dep_start[from]; d < plan.dep_start[from + 1]; ++d) {
        if (plan.deps[d] == to) {
          kind = rootd::edge_kind_name(static_cast<rootd::EdgeKind>(plan.dep_kind[d]));
          break;
        }
      }
      if (k != 0) out += ", ";
      out += fmt::format("{} waits for {} ({})", q(view_.service(from).name),
                         q(view_.service(to).name), kind);
    }
    return out;
  }

 private:
  // Which rule refuses the peers entry at `place`, and why, from the two
  // roles (roles.hpp peer_allowed; the storage pairs are a reason of their own).
  std::string word_peer_not_permitted(const BlobPlace& place) const {
    std::size_t from = 0, position = 0;
    const rootd::Role* rf = nullptr;
    const rootd::Role* rt = nullptr;
    std::string_view to_name;
    if (edge_owner(view_, place, from, position)) {
      const bcfg::Service s = view_.service(from);
      rf = rootd::find_role(s.role);
      const std::uint16_t to = view_.peers(from)[position];
      to_name = view_.service(to).name;
      rt = rootd::find_role(view_.service(to).role);
    }
    if (rf == nullptr || rt == nullptr) return "the role rules do not allow this wiring";
    const std::string privates =
        rf->private_peers.empty() ? std::string("it has none") : role_list(rf->private_peers);
    if (rf->peer_policy == rootd::PeerPolicy::PRIVATE_ONLY) {
      return fmt::format(
          "role {} may be wired only to its private peers ({}), and {} has role {}", q(rf->name),
          privates, q(to_name), q(rt->name));
    }
    return fmt::format(
        "{} has role {}, which is not public, and role {} may be wired only to public roles "
        "and its private peers ({})",
        q(to_name), q(rt->name), q(rf->name), privates);
  }

  // validate_profile_config reports one PROFILE_ROLE_MISSING per missing
  // role, in catalog order, all at the profile row: name them in that order.
  std::string word_missing_profile_role() {
    const rootd::Profile* profile = rootd::find_profile(view_.profile());
    std::size_t seen = 0;
    if (profile != nullptr) {
      rootd::RoleSet present{};
      for (std::size_t i = 0; i < view_.service_count(); ++i) {
        if (const rootd::Role* r = rootd::find_role(view_.service(i).role)) present = present.with(r->id);
      }
      for (const rootd::Role& r : rootd::kRoles) {
        if (!profile->required_roles.has(r.id) || present.has(r.id)) continue;
        if (seen++ == missing_role_reports_) {
          ++missing_role_reports_;
          return fmt::format("profile {} needs a service of role {}", q(view_.profile()), q(r.name));
        }
      }
    }
    return fmt::format("profile {} lacks a service of a role it requires", q(view_.profile()));
  }

  const bcfg::View& view_;
  std::size_t missing_role_reports_ = 0;
};

// "did you mean" for a name the catalogs do not know.
std::string hint_for(const bcfg::View& view, const rootd::Error& e) {
  if (e.reason == Reason::ROLE_UNKNOWN) {
    const std::uint16_t owner = rootd::owner_of(view, e);
    if (owner == bcfg::kNoIndex) return {};
    std::vector<std::string_view> roles;
    for (const rootd::Role& r : rootd::kRoles) roles.push_back(r.name);
    return did_you_mean(view.service(owner).role, roles);
  }
  if (e.reason == Reason::PROFILE_UNKNOWN) {
    std::vector<std::string_view> profiles;
    for (const rootd::Profile& p : rootd::kProfiles) profiles.push_back(p.id);
    return did_you_mean(view.profile(), profiles);
  }
  return {};
}

}  // namespace

std::vector<PolicyFinding> check_policy(const bcfg::View& view, const rootd::Sources& sources,
                                        Planned& planned) {
  std::vector<rootd::Error> errors;
  const auto collect = [&errors](rootd::Error e) {
    errors.push_back(e);
    return true;
  };
  const bool config_valid = rootd::validate_config(view, collect);
  const std::size_t config_errors = errors.size();
  plan_config(view, sources, config_valid, planned, errors);

  Worder worder(view);
  std::vector<PolicyFinding> findings;
  for (std::size_t k = 0; k < errors.size(); ++k) {
    const rootd::Error& e = errors[k];
    PolicyFinding f{e, worder.place_of(e), {}, {}};
    const bool cycle = k >= config_errors && e.reason == Reason::ORDER_CYCLE;
    f.message = cycle ? worder.word_cycle(*planned.order) : worder.word(e, f.place);
    f.hint = hint_for(view, e);
    findings.push_back(std::move(f));
  }
  return findings;
}

std::vector<PolicyFinding> check_policy(const bcfg::View& view) {
  Planned planned;
  return check_policy(view, stand_in_sources(), planned);
}

}  // namespace bcfg_tool
