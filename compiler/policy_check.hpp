// The policy layer run over a structurally valid blob, with every finding
// located and worded for a person: validate_config (policy.hpp), plan_order
// (ordering.hpp) and, on a config both accept, the startup envelopes
// (envelope.hpp), collecting every error rather than the first.
#pragma once

#include <string>
#include <vector>

#include "blob_map.hpp"
#include "planning.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/result.hpp"

namespace bcfg_tool {

struct PolicyFinding {
  rootd::Error error;  // as the policy layer reported it (offset into the blob)
  BlobPlace place;     // the row or list entry the error's location names, with the field the
                       // reason is about (role, launch, block, path, ...) where one applies
  std::string message;
  std::string hint;  // "did you mean" for an unknown role or profile; else empty
};

// `planned` receives the order and envelopes (complete only when nothing
// was found).
std::vector<PolicyFinding> check_policy(const rootd::bcfg::View& view,
                                        const rootd::Sources& sources, Planned& planned);
// With stand_in_sources().
std::vector<PolicyFinding> check_policy(const rootd::bcfg::View& view);

}  // namespace bcfg_tool
