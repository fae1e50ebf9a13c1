// A booted phase4-loader-closure world for the loaderd tests: the engine has
// brought every service READY in the kernel model, and loaderd's sources hold
// the loader fixtures made from the built loader-ok and loader-alt ELFs
// (ERIX_LOADER_OK, ERIX_LOADER_ALT; the config from ROOTD_SOURCE_ROOT).
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "driver.hpp"
#include "elf_image.hpp"
#include "loader_fixtures.hpp"
#include "loader_service.hpp"
#include "services.hpp"
#include "sim_world.hpp"
#include "system_image.hpp"

namespace erix::test {

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE(v != nullptr);
  return v;
}

inline std::vector<char> file_bytes(const std::string& path) {
  auto image = sim::ElfImage::load_file(path);
  REQUIRE(image);
  const rootd::Bytes b = image->file();
  return std::vector<char>(b.begin(), b.end());
}

inline const std::vector<sim::LoaderFixture>& loader_fixtures() {
  static const std::vector<sim::LoaderFixture> made = [] {
    const std::vector<char> ok = file_bytes(env("ERIX_LOADER_OK"));
    const std::vector<char> alt = file_bytes(env("ERIX_LOADER_ALT"));
    auto f = sim::make_loader_fixtures(rootd::Bytes(ok.data(), ok.size()), rootd::Bytes(alt.data(), alt.size()));
    REQUIRE(f);
    return *f;
  }();
  return made;
}

struct LoaderWorld : SimWorld {
  sim::LoaderService* loader = nullptr;
  std::shared_ptr<sim::MemorySources> sources = std::make_shared<sim::MemorySources>();
  sim::Pid loaderd = sim::kNoPid;
  sim::ObjectId endpoint = 0;

  // A CALL on loaderd's service endpoint, as the kernel model hands it over.
  rootd::abi::Message call(const rootd::abi::Message& m, std::optional<sim::Cap>* cap = nullptr) {
    sim::CallReply r = services->on_call(loaderd, endpoint, m, std::nullopt);
    if (cap != nullptr) *cap = r.cap;
    return r.message;
  }
};

// W derives from LoaderWorld (a test adds what it needs).
template <class W = LoaderWorld>
std::unique_ptr<W> boot_loader_world(std::optional<sim::FaultPoint> loaderd_fault = std::nullopt) {
  auto w = std::make_unique<W>();
  auto cfg = sim::load_system_config(env("ROOTD_SOURCE_ROOT") + "/examples/phase4-loader-closure.toml");
  REQUIRE(cfg);
  set_up(*w, *cfg, loaderd_fault ? FaultList{{"loaderd", *loaderd_fault}} : FaultList{});
  const sim::EngineRun run = run_runtime(*w);
  REQUIRE(run.status == rootd::Status::READY);
  w->loader = w->services->template protocol<sim::LoaderService>();
  REQUIRE(w->loader != nullptr);
  sim::seed_fixtures(*w->sources, loader_fixtures());
  w->loader->set_sources(w->sources);
  const sim::ServiceRecord* rec = w->services->find("loaderd");
  REQUIRE(rec != nullptr);
  REQUIRE(rec->answer == sim::Answer::ready);
  w->loaderd = rec->pid;
  const sim::Cap* ep = w->model->process(rec->pid)->cap_at(rootd::abi::kServiceEndpointLocalSlot);
  REQUIRE(ep != nullptr);
  w->endpoint = ep->object;
  return w;
}

}  // namespace erix::test
