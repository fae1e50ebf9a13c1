#include "planning.hpp"

#include <optional>

namespace bcfg_tool {

rootd::Sources stand_in_sources() {
  return rootd::canonical_sources(kStandInImageFrameSlot, kStandInFirstFreeSlot);
}

void plan_config(const rootd::bcfg::View& view, const rootd::Sources& sources, bool config_valid,
                 Planned& out, std::vector<rootd::Error>& errors) {
  const std::size_t before = errors.size();
  const auto collect = [&errors](rootd::Error e) {
    errors.push_back(e);
    return true;
  };
  out.sources = sources;
  static_cast<void>(rootd::plan_order(view, *out.order, collect));
  if (!config_valid || errors.size() != before) return;
  const rootd::Result<rootd::EnvelopeSet> set =
      rootd::synthesize_envelopes(view, sources, *out.storage);
  if (!set.ok()) {
    errors.push_back(set.error());
    return;
  }
  out.envelopes = *set;
  static_cast<void>(rootd::validate_envelopes(view, sources, out.envelopes, collect));
  out.carried = carried_transfers(view, sources, errors);
}

std::vector<std::vector<rootd::Transfer>> carried_transfers(const rootd::bcfg::View& view,
                                                            const rootd::Sources& sources,
                                                            std::vector<rootd::Error>& errors) {
  const std::size_t n = view.service_count();
  std::vector<std::vector<rootd::Transfer>> carried(n);
  const auto role_of = [&view](std::size_t i) { return rootd::find_role(view.service(i).role); };
  const auto first_of = [&](rootd::RoleId id) -> std::size_t {
    for (std::size_t i = 0; i < n; ++i) {
      if (const rootd::Role* r = role_of(i); r != nullptr && r->id == id) return i;
    }
    return n;
  };
  for (std::size_t j = 0; j < n; ++j) {
    const rootd::Role* launched = role_of(j);
    if (launched == nullptr) continue;
    const std::optional<rootd::RoleId> launcher_role = rootd::launcher_role(launched->launch);
    if (!launcher_role.has_value()) continue;
    const std::size_t launcher = first_of(*launcher_role);
    if (launcher == n) continue;  // plan_order already refused the config
    rootd::Transfer t;
    t.op = rootd::abi::CapOp::COPY_ATTENUATED;
    t.authority = rootd::AuthorityKind::CARRIED_IMAGE_FRAME;
    t.local_slot = rootd::abi::kNoSlot;
    t.source_slot = rootd::abi::kNoSlot;
    t.source_rights = sources.image_frame_rights;
    t.rights = sources.image_frame_rights & ~static_cast<std::uint32_t>(rootd::abi::RIGHT_GRANT);
    t.peer = static_cast<std::uint16_t>(j);
    t.peer_role = launched->id;
    if (const rootd::Check c = rootd::authorize(*role_of(launcher), t); !rootd::ok(c)) {
      errors.push_back(rootd::service_error(view, c.reason, j));
      continue;
    }
    carried[launcher].push_back(t);
  }
  return carried;
}

}  // namespace bcfg_tool
