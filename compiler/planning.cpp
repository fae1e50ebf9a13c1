#include "planning.hpp"

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
}

}  // namespace bcfg_tool
