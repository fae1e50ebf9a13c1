// The four loader verifiers (include/rootd/verify_loader.hpp) run to their
// end (verify_harness.hpp) against the simulated loaderd
// (sim/loader_service.hpp) in a booted phase4-loader-closure world, the
// fixtures really running under the ptrace runner. An honest loaderd gives
// every proof, and the ledger (an oracle that shares no code with the
// verifiers) finds nothing left behind; each verifier fault point on
// loaderd (wrong-reply, wrong-data, extra-cap, slow) makes every verifier
// fail with its Failure at a named step, naming loaderd.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "loader_world.hpp"
#include "driver.hpp"
#include "elf_image.hpp"
#include "ledger.hpp"
#include "loader_fixtures.hpp"
#include "loader_service.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/verify_loader.hpp"
#include "services.hpp"
#include "system_image.hpp"
#include "verify_harness.hpp"

namespace sim = erix::sim;
namespace abi = rootd::abi;
namespace verify = rootd::verify;
using verify::Failure;

namespace {

// phase4-loader-closure booted READY by the engine, the fixtures seeded into
// loaderd's sources.
struct World : erix::test::LoaderWorld {
  std::optional<rootd::bcfg::View> view;
  rootd::ServiceRoles roles{};

  verify::Context context() const { return verify::Context{*view, roles}; }

  template <class V>
  erix::test::VerifierRun run() {
    V v;
    return erix::test::run_verifier(v, context(), [&](std::uint16_t, const abi::Message& m) -> std::optional<abi::Message> {
      const sim::CallReply r = services->on_call(loaderd, endpoint, m, std::nullopt);
      abi::Message out = r.message;
      if (r.cap.has_value()) out.cap = 4000;  // where it would land in rootd's cspace
      return out;
    });
  }
};

std::unique_ptr<World> boot(std::optional<sim::FaultPoint> loaderd_fault = std::nullopt) {
  auto w = erix::test::boot_loader_world<World>(loaderd_fault);
  auto parsed = rootd::bcfg::parse(rootd::Bytes(w->config.blob.data(), w->config.blob.size()));
  REQUIRE(parsed);
  w->view = *parsed;
  rootd::resolve_roles(*w->view, w->roles);
  return w;
}

// loaderd's index in the config, found by name (not by role, as the
// verifiers find it).
std::uint16_t loaderd_index(const World& w) {
  for (std::size_t i = 0; i < w.view->service_count(); ++i) {
    if (w.view->service(i).name == "loaderd") return static_cast<std::uint16_t>(i);
  }
  FAIL("no loaderd in the config");
  return 0;
}

using Proofs = std::vector<std::string>;

}  // namespace

TEST_CASE("every loader verifier passes against the simulated loaderd, and the ledger finds nothing left", "[loader_verify]") {
  auto w = boot();
  const std::uint16_t loaderd = loaderd_index(*w);
  const auto contract = w->run<verify::LoaderContract>();
  INFO(contract.step);
  CHECK(contract.done);
  CHECK(contract.proofs == Proofs{"LOADER_PATH_ONLY", "LOADER_ARGS_BOUNDED", "LOADER_RESPONSE_STATES",
                                  "LOADER_NO_AUTHORITY", "LOADER_STATIC_BRIDGE"});
  const auto fs = w->run<verify::LoaderFsDiscovery>();
  INFO(fs.step);
  CHECK(fs.done);
  CHECK(fs.proofs.size() == 10);
  const auto launch = w->run<verify::LoaderMaterializedLaunch>();
  INFO(launch.step);
  CHECK(launch.done);
  CHECK(launch.proofs ==
        Proofs{"LOADER_OK_EXIT", "LOADER_ALT_EXIT", "LOADER_STALE_SOURCE", "LOADER_PROCESS_HANDOFF"});
  const auto cleanup = w->run<verify::LoaderCleanupAuthority>();
  INFO(cleanup.step);
  CHECK(cleanup.done);
  CHECK(cleanup.proofs == Proofs{"LOADER_CLEANUP_1", "LOADER_CLEANUP_2", "LOADER_CLEANUP_3", "LOADER_CLEANUP_4",
                                 "LOADER_AUTHORITY_DENIED"});
  for (const auto* r : {&contract, &fs, &launch, &cleanup}) {
    for (std::uint16_t s : r->called) CHECK(s == loaderd);
  }
  sim::LedgerInputs in;
  in.config = rootd::Bytes(w->config.blob.data(), w->config.blob.size());
  CHECK(sim::build_ledger(*w->model, in).leak_count() == 0);
}

TEST_CASE("each verifier fault point on the simulated loaderd fails every loader verifier at a named step", "[loader_verify]") {
  struct Case {
    sim::FaultPoint point;
    Failure failure;
    const char* steps[4];  // contract, discovery, materialized launch, cleanup
  };
  const Case cases[] = {
      {sim::FaultPoint::wrong_reply, Failure::WRONG_REPLY, {"PATH_RELATIVE", "LAUNCH_OK", "LAUNCH_OK", "FAULT_1"}},
      {sim::FaultPoint::wrong_data, Failure::WRONG_DATA, {"PATH_RELATIVE", "LAUNCH_OK", "LAUNCH_OK", "FAULT_1"}},
      {sim::FaultPoint::extra_cap, Failure::EXTRA_CAP, {"PATH_RELATIVE", "LAUNCH_OK", "LAUNCH_OK", "FAULT_1"}},
      {sim::FaultPoint::slow, Failure::BUDGET, {"STATUS_UNKNOWN", "LAUNCH_OK", "LAUNCH_OK", "FAULT_1"}},
  };
  for (const Case& c : cases) {
    INFO(sim::fault_point_name(c.point));
    auto w = boot(c.point);
    const std::uint16_t loaderd = loaderd_index(*w);
    const erix::test::VerifierRun runs[] = {w->run<verify::LoaderContract>(), w->run<verify::LoaderFsDiscovery>(),
                                            w->run<verify::LoaderMaterializedLaunch>(),
                                            w->run<verify::LoaderCleanupAuthority>()};
    for (int i = 0; i < 4; ++i) {
      INFO("verifier " << i);
      CHECK_FALSE(runs[i].done);
      CHECK(runs[i].failure == c.failure);
      CHECK(runs[i].step == c.steps[i]);
      CHECK(runs[i].service == loaderd);
    }
  }
}
