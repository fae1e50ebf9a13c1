// A launcher's carried image frames: procd launches more services than its
// receive window (rootd::kCarriedImageWindow) has slots, so a launcher that
// kept the frame of every process it ever made would run out of slots and
// fail the next launch (BOOT_SPAWN_FAILED) before the config's service limit.
#include <catch2/catch.hpp>

#include <cstddef>
#include <memory>
#include <string>

#include "boot_run.hpp"
#include "driver.hpp"
#include "kernel_model.hpp"
#include "rootd/roles.hpp"
#include "rootd/status.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;

namespace {

// The foundation, logd, and `generic` services of role "service" that procd
// launches, each with its own image module.
std::string config_with(std::size_t generic) {
  std::string toml = "version = 1\n";
  for (const char* name : {"memd", "vspaced", "pagerd", "procd", "logd"}) {
    toml += std::string("[[service]]\nname = \"") + name + "\"\nrole = \"" + name + "\"\n";
  }
  for (std::size_t i = 0; i < generic; ++i) {
    toml += "[[service]]\nname = \"svc-" + std::to_string(i) + "\"\nrole = \"service\"\npeers = [\"logd\"]\n";
  }
  return toml;
}

}  // namespace

TEST_CASE("procd launches more services than its carried-image window holds, and the boot is READY") {
  const std::size_t generic = rootd::kCarriedImageWindow.count + 8;
  const auto cfg = sim::system_config_from_bytes(config_with(generic), "many.toml");
  REQUIRE(cfg);
  auto model = std::make_unique<sim::KernelModel>();
  auto image = sim::build_system_image(*cfg);
  REQUIRE(image);
  auto services = std::make_unique<sim::Services>(*model);
  for (const auto& s : cfg->services) REQUIRE(services->add(s));
  auto root = model->boot_rootd(image->layout);
  REQUIRE(root);
  sim::ModelDriver driver(*model);
  const sim::EngineRun run = sim::run_engine<rootd::boot::RuntimeVariant>(
      rootd::Bytes(image->handoff.data(), image->handoff.size()), *root, driver);
  INFO(rootd::reason_name(run.reason) << " " << run.failed_service);
  CHECK(run.status == rootd::Status::READY);

  // Every generic service ran from its own image and answered READY.
  std::size_t ready = 0;
  for (std::size_t i = 0; i < generic; ++i) {
    const sim::ServiceRecord* rec = services->find("svc-" + std::to_string(i));
    REQUIRE(rec != nullptr);
    ready += rec->answer == sim::Answer::ready ? 1 : 0;
  }
  CHECK(ready == generic);
  // procd deleted each frame once it had started the process made from it.
  const sim::ServiceRecord* procd = services->find("procd");
  REQUIRE(procd != nullptr);
  const sim::Process* p = model->process(procd->pid);
  REQUIRE(p != nullptr);
  std::size_t frames = 0;
  for (const auto& [slot, cap] : p->cspace) {
    frames += rootd::kCarriedImageWindow.contains(slot) && cap.type == sim::ObjectType::frame ? 1 : 0;
  }
  CHECK(frames == 0);
  CHECK(model->audit().leak_count() == 0);
}
