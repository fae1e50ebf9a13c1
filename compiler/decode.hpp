// Canonical TOML for a compiled boot config.
#pragma once

#include <string>

#include "rootd/bcfg.hpp"

namespace bcfg_tool {

// The one TOML text for a blob: rows in the blob's canonical order, every key
// whose value is its default left out (profile "none", image == name,
// launch "rootd", empty after/peers, no block/key/partition, read_only
// false). Compiling it gives back view.bytes() exactly.
std::string decode_to_toml(const rootd::bcfg::View& view);

// `s` as a TOML basic string, quotes included.
std::string toml_quote(std::string_view s);

}  // namespace bcfg_tool
