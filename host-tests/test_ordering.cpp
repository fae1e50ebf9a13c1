#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/ordering.hpp"

using rootd::Reason;
using rootd::bcfg::ServiceDesc;

namespace {

// Owns the strings and lists a ConfigDesc points at.
struct Graph {
  std::vector<std::string> names, roles;
  std::vector<std::vector<std::string>> after, peers;  // owned: names may move as services are added
  std::vector<rootd::bcfg::Launch> launch;

  std::size_t add(std::string name, std::string role, rootd::bcfg::Launch l = rootd::bcfg::Launch::ROOTD) {
    names.push_back(std::move(name));
    roles.push_back(std::move(role));
    after.emplace_back();
    peers.emplace_back();
    launch.push_back(l);
    return names.size() - 1;
  }
  void foundation() {
    add("memd", "memd");
    add("vspaced", "vspaced");
    add("pagerd", "pagerd");
    add("procd", "procd");
  }
  std::vector<char> compile() const {
    std::vector<std::vector<std::string_view>> after_views(names.size()), peer_views(names.size());
    std::vector<ServiceDesc> services;
    for (std::size_t i = 0; i < names.size(); ++i) {
      after_views[i].assign(after[i].begin(), after[i].end());
      peer_views[i].assign(peers[i].begin(), peers[i].end());
      services.push_back({names[i], roles[i], names[i], launch[i], after_views[i], peer_views[i]});
    }
    rootd::bcfg::ConfigDesc desc{};
    desc.services = services;
    auto size = rootd::bcfg::encoded_size(desc);
    REQUIRE(size.ok());
    std::vector<char> blob(size.value());
    auto written = rootd::bcfg::write(desc, blob);
    REQUIRE(written.ok());
    return blob;
  }
};

struct Collect {
  std::vector<rootd::Error>* out;
  bool operator()(rootd::Error e) const {
    out->push_back(e);
    return true;
  }
};

struct Planned {
  std::vector<char> blob;
  rootd::bcfg::View view;
  std::unique_ptr<rootd::OrderPlan> plan = std::make_unique<rootd::OrderPlan>();
  std::vector<rootd::Error> errors;
  bool ok = false;

  std::string name(std::size_t i) const { return std::string(view.service(i).name); }
  std::set<Reason> reasons() const {
    std::set<Reason> r;
    for (auto e : errors) r.insert(e.reason);
    return r;
  }
};

Planned plan(const Graph& g) {
  Planned p;
  p.blob = g.compile();
  auto parsed = rootd::bcfg::parse(p.blob);
  REQUIRE(parsed.ok());
  p.view = parsed.value();
  p.ok = rootd::plan_order(p.view, *p.plan, Collect{&p.errors});
  return p;
}

// Position of every service in the launch order.
std::vector<std::size_t> positions(const Planned& p) {
  std::vector<std::size_t> pos(p.plan->service_count);
  for (std::size_t k = 0; k < p.plan->service_count; ++k) pos[p.plan->order[k]] = k;
  return pos;
}

void check_respects_every_edge(const Planned& p) {
  const auto pos = positions(p);
  const auto& plan = *p.plan;
  for (std::size_t i = 0; i < plan.service_count; ++i) {
    for (std::uint32_t e = plan.dep_start[i]; e < plan.dep_start[i + 1]; ++e) {
      const std::size_t d = plan.deps[e];
      INFO(p.name(i) << " depends on " << p.name(d));
      CHECK(pos[d] < pos[i]);
      CHECK(plan.wave[d] < plan.wave[i]);
    }
  }
}

}  // namespace

// A whole plan in a constant expression: a four-service foundation chain
// plus one service gives five waves in foundation order.
namespace {
constexpr bool constexpr_plan_is_foundation_chain() {
  constexpr std::string_view after_logd[] = {"logd"};
  const ServiceDesc services[] = {
      {"memd", "memd", "memd"},       {"vspaced", "vspaced", "vspaced"}, {"pagerd", "pagerd", "pagerd"},
      {"procd", "procd", "procd"},    {"logd", "logd", "logd"},
      {"app", "service", "app", rootd::bcfg::Launch::ROOTD, after_logd},
  };
  rootd::bcfg::ConfigDesc desc{};
  desc.services = services;
  std::array<char, 1024> blob{};
  auto size = rootd::bcfg::write(desc, blob);
  if (!size.ok()) return false;
  auto view = rootd::bcfg::parse(rootd::Bytes(blob.data(), size.value()));
  if (!view.ok()) return false;
  auto* plan = new rootd::OrderPlan();  // transient: too large for a constexpr stack frame
  const bool ok = rootd::plan_order(view.value(), *plan, [](rootd::Error) { return true; });
  // canonical order: app, logd, memd, pagerd, procd, vspaced
  const std::uint16_t expected[] = {2, 5, 3, 4, 1, 0};
  bool same = ok && plan->wave_count == 6;
  for (std::size_t k = 0; k < 6 && same; ++k) same = plan->order[k] == expected[k];
  delete plan;
  return same;
}
static_assert(constexpr_plan_is_foundation_chain());
}  // namespace

TEST_CASE("foundation runs memd -> vspaced -> pagerd -> procd, then procd-launched services") {
  Graph g;
  g.foundation();
  g.add("logd", "logd");
  g.add("deviced", "deviced");
  g.add("drv-serial", "drv-serial", rootd::bcfg::Launch::DEVICED);
  g.add("app", "service");
  g.after.back() = {"logd"};
  auto p = plan(g);
  REQUIRE(p.ok);
  REQUIRE(p.errors.empty());
  check_respects_every_edge(p);
  const auto& plan = *p.plan;
  auto wave_of = [&](std::string_view n) { return plan.wave[p.view.find_service(n)]; };
  CHECK(wave_of("memd") == 0);
  CHECK(wave_of("vspaced") == 1);
  CHECK(wave_of("pagerd") == 2);
  CHECK(wave_of("procd") == 3);
  CHECK(wave_of("logd") == 4);
  CHECK(wave_of("deviced") == 4);
  CHECK(wave_of("drv-serial") == 5);
  CHECK(wave_of("app") == 5);
  CHECK(plan.wave_count == 6);
  // Within wave 4, index (= name) order.
  CHECK(p.name(plan.order[plan.wave_start[4]]) == "deviced");
  CHECK(p.name(plan.order[plan.wave_start[4] + 1]) == "logd");
}

TEST_CASE("a cycle is rejected with every service on it named, in dependency order") {
  Graph g;
  g.foundation();
  g.add("a", "service");
  g.add("b", "service");
  g.add("c", "service");
  g.add("d", "service");  // downstream of the cycle, not on it
  g.after[4] = {"b"};
  g.after[5] = {"c"};
  g.after[6] = {"a"};
  g.after[7] = {"a"};
  auto p = plan(g);
  CHECK_FALSE(p.ok);
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].reason == Reason::ORDER_CYCLE);
  REQUIRE(p.plan->cycle_length == 3);
  std::string text;
  for (std::size_t k = 0; k < p.plan->cycle_length; ++k) text += p.name(p.plan->cycle[k]) + " -> ";
  text += p.name(p.plan->cycle[0]);
  CHECK(text == "a -> b -> c -> a");
  CHECK(p.errors[0].offset == p.view.service_offset(p.plan->cycle[0]));
}

TEST_CASE("a two-service cycle through peers and after") {
  Graph g;
  g.foundation();
  g.add("x", "service");
  g.add("y", "service");
  g.peers[4] = {"y"};
  g.after[5] = {"x"};
  auto p = plan(g);
  CHECK_FALSE(p.ok);
  CHECK(p.reasons() == std::set<Reason>{Reason::ORDER_CYCLE});
  CHECK(p.plan->cycle_length == 2);
}

TEST_CASE("every ordering rejection is reached and all errors are reported together") {
  Graph g;
  g.foundation();
  g.add("self", "service");
  g.after[4] = {"self"};
  g.add("other", "service");
  g.after[5] = {"other"};
  g.after[0] = {"self"};  // memd waits for a procd-launched service
  auto p = plan(g);
  CHECK_FALSE(p.ok);
  const std::set<Reason> expected{Reason::ORDER_SELF_DEPENDENCY, Reason::ORDER_FOUNDATION_WAITS_FOR_SERVICE};
  CHECK(p.reasons() == expected);
  REQUIRE(p.errors.size() == 3);
  // Each error is located at the `after` entry at fault, foundation errors
  // first, then the self entries in service order; owner_of names the
  // service whose list it is.
  const rootd::bcfg::View& v = p.view;
  const struct {
    Reason reason;
    const char* service;
  } want[] = {{Reason::ORDER_FOUNDATION_WAITS_FOR_SERVICE, "memd"},
              {Reason::ORDER_SELF_DEPENDENCY, "other"},
              {Reason::ORDER_SELF_DEPENDENCY, "self"}};
  for (std::size_t k = 0; k < 3; ++k) {
    const rootd::Error& e = p.errors[k];
    const std::uint16_t s = v.find_service(want[k].service);
    INFO(k);
    CHECK(e.reason == want[k].reason);
    CHECK(e.blob == rootd::Blob::CONFIG);
    CHECK(e.subject == rootd::Subject::AFTER_ENTRY);
    CHECK(e.index == s);
    CHECK(e.entry == 0);
    CHECK(e.offset == v.after_offset(s));
    CHECK(rootd::owner_of(v, e) == s);
  }

  // Together with the cycle test above, the whole ordering block is covered.
  std::set<Reason> defined;
  for (const auto& row : rootd::kReasonTable) {
    const auto n = static_cast<unsigned>(row.reason);
    if (n >= 370 && n < 400) defined.insert(row.reason);
  }
  auto covered = expected;
  covered.insert(Reason::ORDER_CYCLE);
  covered.insert(Reason::ORDER_BLOCK_DRIVER_MISSING);  // the storage test below
  CHECK(covered == defined);
}

TEST_CASE("a missing launcher gives no edge and no crash: policy reports it") {
  Graph g;
  g.add("app", "service");  // no procd at all
  g.add("drv-acpi", "drv-acpi", rootd::bcfg::Launch::DEVICED);
  auto p = plan(g);
  CHECK(p.ok);
  CHECK(p.plan->wave_count == 1);
}

TEST_CASE("a sink that asks to stop gets exactly one error") {
  Graph g;
  g.add("a", "service");
  g.add("b", "service");
  g.after[0] = {"a"};
  g.after[1] = {"b"};
  auto blob = g.compile();
  auto view = rootd::bcfg::parse(blob);
  REQUIRE(view.ok());
  auto plan = std::make_unique<rootd::OrderPlan>();
  int calls = 0;
  CHECK_FALSE(rootd::plan_order(view.value(), *plan, [&](rootd::Error) { return ++calls, false; }));
  CHECK(calls == 1);
}

TEST_CASE("random acyclic graphs give an order that respects every edge, the same every time") {
  std::mt19937 rng(20261124);
  for (int round = 0; round < 200; ++round) {
    Graph g;
    g.foundation();
    const int n = 1 + static_cast<int>(rng() % 60);
    // Edges only from a later-created service to an earlier one: acyclic,
    // while names are shuffled so index order differs from creation order.
    std::vector<std::string> created;
    for (int k = 0; k < n; ++k) {
      std::string name = "s" + std::to_string(rng() % 100000) + "-" + std::to_string(k);
      const std::size_t at = g.add(name, "service");
      created.push_back(name);
      const int edges = static_cast<int>(rng() % 4);
      std::set<std::string> chosen;
      for (int e = 0; e < edges && k > 0; ++e) chosen.insert(created[rng() % k]);
      for (const auto& c : chosen) g.after[at].push_back(g.names[4 + static_cast<std::size_t>(
                                                              std::find(created.begin(), created.end(), c) -
                                                              created.begin())]);
    }
    auto p = plan(g);
    INFO("round " << round);
    REQUIRE(p.ok);
    check_respects_every_edge(p);
    // Every wave above 0 has a dependency in the wave just before it.
    for (std::size_t i = 0; i < p.plan->service_count; ++i) {
      if (p.plan->wave[i] == 0) continue;
      bool tight = false;
      for (std::uint32_t e = p.plan->dep_start[i]; e < p.plan->dep_start[i + 1]; ++e) {
        tight = tight || p.plan->wave[p.plan->deps[e]] + 1 == p.plan->wave[i];
      }
      CHECK(tight);
    }
    auto again = plan(g);
    CHECK(std::equal(p.plan->order, p.plan->order + p.plan->service_count, again.plan->order));
  }
}

namespace {
struct StoragePlan {
  std::vector<char> blob;
  std::unique_ptr<rootd::OrderPlan> plan = std::make_unique<rootd::OrderPlan>();
  std::vector<rootd::Error> errors;
  bool ok = false;
};
StoragePlan plan_storage(Graph& g) {
  std::vector<ServiceDesc> services;
  for (std::size_t i = 0; i < g.names.size(); ++i) services.push_back({g.names[i], g.roles[i], g.names[i]});
  for (std::size_t i = 0; i < g.names.size(); ++i) {
    if (g.roles[i].starts_with("drv-")) services[i].launch = rootd::bcfg::Launch::DEVICED;
  }
  const rootd::bcfg::ProviderDesc providers[] = {{"data", "e2fsd", "blockd", "keyd", 2}};
  rootd::bcfg::ConfigDesc desc{};
  desc.services = services;
  desc.providers = providers;
  StoragePlan out;
  out.blob.resize(rootd::bcfg::encoded_size(desc).value());
  REQUIRE(rootd::bcfg::write(desc, out.blob).ok());
  auto view = rootd::bcfg::parse(out.blob).value();
  out.ok = rootd::plan_order(view, *out.plan, [&](rootd::Error e) { return out.errors.push_back(e), true; });
  return out;
}
}  // namespace

TEST_CASE("a block service waits for its driver even when nothing wires them; without one it is refused") {
  Graph g;
  g.foundation();
  g.add("blockd", "blockd");
  g.add("keyd", "keyd");
  g.add("e2fsd", "e2fsd");
  g.add("vfsd", "vfsd");
  auto none = plan_storage(g);
  CHECK_FALSE(none.ok);
  REQUIRE(none.errors.size() == 1);
  CHECK(none.errors[0].reason == Reason::ORDER_BLOCK_DRIVER_MISSING);
  const auto view = rootd::bcfg::parse(none.blob).value();
  CHECK(none.errors[0].subject == rootd::Subject::SERVICE);
  CHECK(rootd::owner_of(view, none.errors[0]) == view.find_service("blockd"));

  g.add("drv-virtio-block", "drv-virtio-block");  // no `peers` anywhere
  auto with = plan_storage(g);
  REQUIRE(with.ok);
  const auto v = rootd::bcfg::parse(with.blob).value();
  auto w = [&](std::string_view n) { return with.plan->wave[v.find_service(n)]; };
  CHECK(w("blockd") > w("drv-virtio-block"));
  CHECK(w("e2fsd") > w("blockd"));
  CHECK(w("vfsd") > w("e2fsd"));
  const auto blockd = v.find_service("blockd");
  // procd (launcher) and the driver (storage), nothing else.
  std::set<std::pair<std::uint16_t, std::uint8_t>> deps;
  for (std::uint32_t e = with.plan->dep_start[blockd]; e < with.plan->dep_start[blockd + 1]; ++e) {
    deps.insert({with.plan->deps[e], with.plan->dep_kind[e]});
  }
  const std::set<std::pair<std::uint16_t, std::uint8_t>> want{
      {v.find_service("procd"), static_cast<std::uint8_t>(rootd::EdgeKind::LAUNCHER)},
      {v.find_service("drv-virtio-block"), static_cast<std::uint8_t>(rootd::EdgeKind::STORAGE)}};
  CHECK(deps == want);
}

TEST_CASE("only the first service of a block role gets a driver edge, so the edge bound holds for any config") {
  Graph g;
  g.foundation();
  g.add("blockd", "blockd");
  g.add("blockd2", "blockd");  // a second singleton: policy's error, planned anyway by erix-bcfg check
  g.add("keyd", "keyd");
  g.add("e2fsd", "e2fsd");
  g.add("vfsd", "vfsd");
  g.add("drv-virtio-block", "drv-virtio-block");
  auto p = plan_storage(g);
  REQUIRE(p.ok);
  const auto v = rootd::bcfg::parse(p.blob).value();
  auto storage_deps = [&](std::string_view n) {
    const auto s = v.find_service(n);
    std::size_t k = 0;
    for (std::uint32_t e = p.plan->dep_start[s]; e < p.plan->dep_start[s + 1]; ++e) {
      k += p.plan->dep_kind[e] == static_cast<std::uint8_t>(rootd::EdgeKind::STORAGE) ? 1 : 0;
    }
    return k;
  };
  CHECK(storage_deps("blockd") == 1);
  CHECK(storage_deps("blockd2") == 0);
}

TEST_CASE("storage providers imply edges: fs after block and key, vfsd after fs") {
  Graph g;
  g.foundation();
  g.add("drv-virtio-block", "drv-virtio-block", rootd::bcfg::Launch::DEVICED);
  g.add("blockd", "blockd");
  g.add("keyd", "keyd");
  g.add("e2fsd", "e2fsd");
  g.add("vfsd", "vfsd");
  std::vector<ServiceDesc> services;
  for (std::size_t i = 0; i < g.names.size(); ++i) services.push_back({g.names[i], g.roles[i], g.names[i]});
  const rootd::bcfg::ProviderDesc providers[] = {{"data", "e2fsd", "blockd", "keyd", 2}};
  rootd::bcfg::ConfigDesc desc{};
  desc.services = services;
  desc.providers = providers;
  std::vector<char> blob(rootd::bcfg::encoded_size(desc).value());
  REQUIRE(rootd::bcfg::write(desc, blob).ok());
  auto view = rootd::bcfg::parse(blob).value();
  auto plan = std::make_unique<rootd::OrderPlan>();
  REQUIRE(rootd::plan_order(view, *plan, [](rootd::Error) { return true; }));
  auto w = [&](std::string_view n) { return plan->wave[view.find_service(n)]; };
  CHECK(w("e2fsd") > w("blockd"));
  CHECK(w("e2fsd") > w("keyd"));
  CHECK(w("vfsd") > w("e2fsd"));
  const auto vfsd = view.find_service("vfsd");
  bool storage_edge = false;
  for (std::uint32_t e = plan->dep_start[vfsd]; e < plan->dep_start[vfsd + 1]; ++e) {
    storage_edge = storage_edge || (plan->deps[e] == view.find_service("e2fsd") &&
                                    plan->dep_kind[e] == static_cast<std::uint8_t>(rootd::EdgeKind::STORAGE));
  }
  CHECK(storage_edge);
}
