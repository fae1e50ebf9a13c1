#include "suggest.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "decode.hpp"
#include "diagnostics.hpp"

namespace bcfg_tool {

std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
  const std::size_t gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (gap > limit) return limit + 1;
  // Three rows of the optimal-string-alignment table.
  std::vector<std::size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[b.size()], limit + 1);
}

std::size_t suggestion_threshold(std::size_t length) {
  if (length <= 4) return 1;
  if (length <= 8) return 2;
  return 3;
}

std::string did_you_mean(std::string_view wrong, const std::vector<std::string_view>& candidates) {
  const std::size_t limit = suggestion_threshold(wrong.size());
  std::size_t best = limit + 1;
  std::string_view pick;
  for (std::string_view c : candidates) {
    if (c == wrong || c.empty()) continue;
    const std::size_t d = edit_distance(wrong, c, limit);
    if (d < best) {
      best = d;
      pick = c;
    }
  }
  if (best > limit) return {};
  return fmt::format("did you mean {}?", toml_quote(elide(pick)));
}

}  // namespace bcfg_tool
