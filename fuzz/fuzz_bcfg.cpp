// libFuzzer target: rootd::bcfg::parse, rootd::validate_config and
// rootd::plan_order on arbitrary bytes.
//
// Properties:
// - nothing reads outside the input or hits UB (ASan, UBSan);
// - a rejection names an offset inside the input (or its end) and leads to
//   CONTRACT_INVALID;
// - every accessor of an accepted view stays inside the blob, name lookups
//   find every row, edge lists only name existing services;
// - validate_config reaches the same verdict and first error whether its
//   sink stops at the first error or collects all; every error offset lies
//   inside the blob;
// - plan_order runs on every parsed blob (also those validate_config
//   rejects), its result does not depend on what the plan storage held
//   before, and an order it reports respects every dependency.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "fuzz_support.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/ordering.hpp"
#include "rootd/owner.hpp"
#include "rootd/policy.hpp"
#include "rootd/sink.hpp"

namespace {

namespace bc = rootd::bcfg;
using rootd_fuzz::require;

volatile std::uint32_t g_sink;

void read_every_accessor(const bc::View& v) {
  const std::size_t n = v.service_count();
  std::uint32_t sum = rootd_fuzz::touch(v.profile());
  require(bc::profile_is_well_formed(v.profile()), "profile id well formed");
  std::size_t after_total = 0;
  std::size_t peer_total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bc::Service s = v.service(i);
    sum += rootd_fuzz::touch(s.name) + rootd_fuzz::touch(s.role) + rootd_fuzz::touch(s.image);
    require(v.find_service(s.name) == i, "find_service finds every service at its index");
    require(v.service_offset(i) < v.bytes().size(), "service row inside the blob");
    for (const std::uint16_t d : v.after(i)) require(d < n, "after entries name services");
    for (const std::uint16_t p : v.peers(i)) require(p < n, "peer entries name services");
    after_total += v.after(i).size();
    peer_total += v.peers(i).size();
  }
  require(after_total == v.after_edge_count() && peer_total == v.peer_edge_count(),
          "per-service edge lists cover the edge sections");
  for (std::size_t i = 0; i < v.provider_count(); ++i) {
    const bc::Provider p = v.provider(i);
    sum += rootd_fuzz::touch(p.name);
    require(v.find_provider(p.name) == i, "find_provider finds every provider at its index");
    require(p.service < n, "provider service names a service");
    require(p.block == bc::kNoIndex || p.block < n, "provider block names a service or none");
    require(p.key == bc::kNoIndex || p.key < n, "provider key names a service or none");
  }
  for (std::size_t i = 0; i < v.mount_count(); ++i) {
    const bc::Mount m = v.mount(i);
    sum += rootd_fuzz::touch(m.path);
    require(m.provider < v.provider_count(), "mount provider names a provider");
  }
  g_sink = sum;
}

void check_validation(const bc::View& v) {
  rootd::ErrorCollector<64> all;
  const bool valid_all = rootd::validate_config(v, all);
  rootd::FirstError first;
  const bool valid_first = rootd::validate_config(v, first);
  require(valid_all == valid_first, "validate_config verdict does not depend on the sink");
  require(valid_all == (all.count == 0 && all.dropped == 0), "validate_config: true iff nothing reported");
  if (!valid_all) {
    rootd_fuzz::require_same_error(all.errors[0], first.error, "validate_config's first error");
  }
  for (std::size_t k = 0; k < all.count; ++k) {
    require(all.errors[k].offset < v.bytes().size(), "validation offsets lie inside the blob");
    require(rootd::reason_status(all.errors[k].reason) == rootd::Status::CONTRACT_INVALID,
            "validation errors lead to CONTRACT_INVALID");
    require(all.errors[k].blob == rootd::Blob::CONFIG, "validation errors are located in the config");
    const std::uint16_t owner = rootd::owner_of(v, all.errors[k]);
    require(owner == bc::kNoIndex || owner < v.service_count(), "owner_of in range");
  }
}

struct PlanRun {
  std::unique_ptr<rootd::OrderPlan> plan = std::make_unique<rootd::OrderPlan>();
  rootd::ErrorCollector<64> errors;
  bool ok = false;
};

void run_plan(const bc::View& v, PlanRun& run, unsigned char fill) {
  // OrderPlan is arrays of integers only: any byte pattern is a valid state
  // for storage that a previous boot attempt left behind.
  static_assert(std::is_trivially_copyable_v<rootd::OrderPlan>);
  std::memset(static_cast<void*>(run.plan.get()), fill, sizeof(rootd::OrderPlan));
  run.ok = rootd::plan_order(v, *run.plan, run.errors);
}

void check_plan(const bc::View& v) {
  static PlanRun zeroed;
  static PlanRun dirty;
  zeroed.errors = {};
  dirty.errors = {};
  run_plan(v, zeroed, 0x00);
  run_plan(v, dirty, 0xA5);
  const rootd::OrderPlan& a = *zeroed.plan;
  const rootd::OrderPlan& b = *dirty.plan;
  const std::size_t n = v.service_count();

  require(zeroed.ok == dirty.ok, "plan_order verdict does not depend on old storage");
  require(zeroed.ok == (zeroed.errors.count == 0), "plan_order: true iff nothing reported");
  require(zeroed.errors.count == dirty.errors.count, "plan_order error count is stable");
  for (std::size_t k = 0; k < zeroed.errors.count; ++k) {
    rootd_fuzz::require_same_error(zeroed.errors.errors[k], dirty.errors.errors[k],
                                   "plan_order errors do not depend on old storage");
    require(zeroed.errors.errors[k].offset < v.bytes().size(), "plan offsets lie inside the blob");
  }
  require(a.service_count == n, "plan covers every service");
  if (!zeroed.ok) {
    require(a.cycle_length == b.cycle_length, "cycle does not depend on old storage");
    for (std::size_t k = 0; k < a.cycle_length; ++k) {
      require(a.cycle[k] == b.cycle[k] && a.cycle[k] < n, "cycle members");
    }
    return;
  }
  require(a.wave_count == b.wave_count, "wave count does not depend on old storage");
  std::vector<std::size_t> position(n, n);
  for (std::size_t k = 0; k < n; ++k) {
    require(a.order[k] == b.order[k], "order does not depend on old storage");
    require(a.order[k] < n && position[a.order[k]] == n, "the order is a permutation");
    position[a.order[k]] = k;
  }
  for (std::size_t i = 0; i < n; ++i) {
    require(a.wave[i] == b.wave[i] && a.wave[i] < a.wave_count, "waves");
    require(a.dep_start[i] <= a.dep_start[i + 1] && a.dep_start[i + 1] <= rootd::kMaxDependencies,
            "dependency ranges");
    for (std::uint32_t e = a.dep_start[i]; e < a.dep_start[i + 1]; ++e) {
      const std::uint16_t d = a.deps[e];
      require(d < n && d != i, "dependencies name other services");
      require(position[d] < position[i], "a dependency launches first");
      require(a.wave[d] < a.wave[i], "a dependency is in an earlier wave");
    }
  }
  for (std::size_t w = 0; w < a.wave_count; ++w) {
    require(a.wave_start[w] < a.wave_start[w + 1], "no empty wave");
    for (std::uint32_t k = a.wave_start[w]; k < a.wave_start[w + 1]; ++k) {
      require(a.wave[a.order[k]] == w, "wave_start brackets each wave");
    }
  }
  require(a.wave_count == 0 || a.wave_start[a.wave_count] == n, "waves cover the order");
}

void check(rootd::Bytes blob) {
  const rootd::Result<bc::View> parsed = bc::parse(blob);
  if (!parsed) {
    require(parsed.error().offset <= blob.size(), "a rejection names an offset inside the input");
    require(rootd::reason_status(parsed.error().reason) == rootd::Status::CONTRACT_INVALID,
            "every bcfg rejection leads to CONTRACT_INVALID");
    return;
  }
  read_every_accessor(*parsed);
  check_validation(*parsed);
  check_plan(*parsed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const rootd::Bytes input = rootd_fuzz::bytes_of(data, size);
  check(input);
  const std::vector<char> resealed = rootd_fuzz::resealed_bcfg(input);
  if (!resealed.empty()) check(rootd_fuzz::bytes_of(resealed));
  return 0;
}
