// "did you mean" hints: the known name closest to a misspelt one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bcfg_tool {

// Edits (insert, delete, substitute, swap two neighbours) between a and b;
// stops counting past `limit` and returns limit + 1 then.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit);

// How many edits a name of `length` bytes may be away from a candidate and
// still be offered: 1 up to 4 bytes, 2 up to 8, 3 beyond. A typo, not a
// different word.
std::size_t suggestion_threshold(std::size_t length);

// `did you mean "x"?` for the candidate closest to `wrong` within the
// threshold (the first one on a tie), or empty.
std::string did_you_mean(std::string_view wrong, const std::vector<std::string_view>& candidates);

}  // namespace bcfg_tool
