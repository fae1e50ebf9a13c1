// Human-readable reports of a planned config: `erix-bcfg plan` (text) and
// `erix-bcfg graph` (Graphviz DOT).
#pragma once

#include <string>
#include <string_view>

#include "planning.hpp"
#include "rootd/bcfg.hpp"

namespace bcfg_tool {

// `symbolic_sources`: the sources are stand_in_sources(), so image-frame and
// retained-endpoint slots are printed as names, not numbers.
std::string write_plan(std::string_view file, const rootd::bcfg::View& view, const Planned& planned,
                       bool symbolic_sources);

// Nodes are services, in start waves; solid edges are `after`, dashed blue
// edges `peers`, dotted grey edges the dependencies roles and provider rows
// imply. Edges point from a service to what it waits for.
std::string write_dot(std::string_view file, const rootd::bcfg::View& view, const Planned& planned);

}  // namespace bcfg_tool
