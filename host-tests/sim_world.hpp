// One simulated machine for a test: the kernel model, the services a config
// declares (with any fault points), and rootd started in the model from the
// config's system image, ready for an engine to run. Tests that need more
// derive from SimWorld and add their own fields.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "boot_run.hpp"
#include "driver.hpp"
#include "kernel_model.hpp"
#include "rootd/boot.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace erix::test {

struct SimWorld {
  std::unique_ptr<sim::KernelModel> model = std::make_unique<sim::KernelModel>();
  std::unique_ptr<sim::Services> services;
  sim::SystemConfig config;
  sim::SystemImage image;
  std::uint32_t root_slot = 0;

  rootd::Bytes handoff() const { return rootd::Bytes(image.handoff.data(), image.handoff.size()); }
  rootd::Bytes blob() const { return rootd::Bytes(config.blob.data(), config.blob.size()); }
};

using FaultList = std::vector<std::pair<std::string, sim::FaultPoint>>;

// Builds `config`'s system image, registers its services with `faults` set,
// lets `before_rootd` adjust the services, and starts rootd in the model.
inline void set_up(SimWorld& w, sim::SystemConfig config, const FaultList& faults = {},
                   const std::function<void(sim::Services&)>& before_rootd = {}) {
  w.config = std::move(config);
  auto image = sim::build_system_image(w.config);
  REQUIRE(image);
  w.image = std::move(*image);
  w.services = std::make_unique<sim::Services>(*w.model);
  for (const auto& s : w.config.services) REQUIRE(w.services->add(s));
  for (const auto& [service, point] : faults) REQUIRE(w.services->set_fault(service, point));
  if (before_rootd) before_rootd(*w.services);
  auto root = w.model->boot_rootd(w.image.layout);
  REQUIRE(root);
  w.root_slot = *root;
}

// The runtime engine's whole boot of `w`, through the model's own driver.
inline sim::EngineRun run_runtime(SimWorld& w) {
  sim::ModelDriver driver(*w.model);
  return sim::run_engine<rootd::boot::RuntimeVariant>(w.handoff(), w.root_slot, driver);
}

}  // namespace erix::test
