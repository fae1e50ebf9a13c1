// Human-readable reports of a planned config: `erix-bcfg plan` (text) and
// `erix-bcfg graph` (Graphviz DOT).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "planning.hpp"
#include "rootd/bcfg.hpp"

namespace bcfg_tool {

// `symbolic_sources`: the sources are stand_in_sources(), so image-frame and
// retained-endpoint slots are printed as names, not numbers.
std::string write_plan(std::string_view file, const rootd::bcfg::View& view, const Planned& planned,
                       bool symbolic_sources);

// Dependency edges (from, to) by service index.
using EdgeSet = std::set<std::pair<std::uint16_t, std::uint16_t>>;

// Nodes are services, in start waves; solid edges are `after`, dashed blue
// edges `peers`, dotted grey edges the dependencies roles and provider rows
// imply. Edges point from a service to what it waits for. Edges in
// `offending` are drawn red and thick (an invalid config: `planned` then
// has the dependency graph but may have no waves).
std::string write_dot(std::string_view file, const rootd::bcfg::View& view, const Planned& planned,
                      const EdgeSet& offending = {});

}  // namespace bcfg_tool
