// Kernel calls per launched service: the boot engine (include/rootd/boot.hpp,
// runtime variant) run in-process against the kernel model and the simulated
// services (sim/boot_run.hpp), each launch's calls counted and set against the
// documented minimum of its launch path (docs/startup-protocol.md):
//
//   foundation  CREATE_ENDPOINT, CREATE_STAGED_PROCESS, REGISTER_PAGER,
//               MAP_FRAME, one CAP per transfer, START_PROCESS, SEND  = 6 + t
//   procd       CREATE_ENDPOINT, CREATE_STAGED_PROCESS, one CAP per transfer,
//               START_STAGED_PROCESS, SEND                            = 4 + t
//   deviced     CREATE_ENDPOINT, START_DRIVER, per transfer one CAP into
//               deviced's staging slot and one POPULATE_DRIVER, SEND  = 3 + 2t
//   probe       as procd, with SPAWN_PROBE                            = 4 + t
//
//   bench-launch [CONFIG...]   TOML or ERIXBCFG files; default: examples/runtime.toml
//                              and the generated configs of bench-formats at
//                              64, 1024 and 2048 services
//
// A launch is the run of actions from the service's CREATE_ENDPOINT to the
// SEND of its envelope: the engine launches one service at a time, so the
// run belongs to the service the envelope names (its identity is the config
// index; protocol::decode_deliver reads it and the transfer count). Everything outside launches (waiting for
// READY, report lines, shedding, the probe) is counted per syscall for the
// whole boot. Exit 1 when a boot does not reach READY.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "boot_run.hpp"
#include "driver.hpp"
#include "generated_config.hpp"
#include "kernel_model.hpp"
#include "rootd/abi.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/protocol.hpp"
#include "rootd/roles.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace abi = rootd::abi;
namespace sim = erix::sim;

namespace {

// Per launch path: how many launches, their kernel calls, and the transfers
// they carried (the minimum is base * launches + per_transfer * transfers).
struct PathCount {
  std::uint64_t launches = 0;
  std::uint64_t calls = 0;
  std::uint64_t transfers = 0;
  std::uint64_t fewest = ~std::uint64_t{0};  // calls of the cheapest launch
  std::uint64_t most = 0;
};

constexpr std::uint64_t minimum_base(rootd::LaunchPath path) {
  switch (path) {
    case rootd::LaunchPath::FOUNDATION: return 6;
    case rootd::LaunchPath::PROCD: return 4;
    case rootd::LaunchPath::DEVICED: return 3;
    case rootd::LaunchPath::PROBE: return 4;
  }
  return 0;
}

// rootd stages each driver transfer in deviced, then deviced populates it.
constexpr std::uint64_t calls_per_transfer(rootd::LaunchPath path) {
  return path == rootd::LaunchPath::DEVICED ? 2 : 1;
}

constexpr std::string_view path_name(rootd::LaunchPath path) {
  switch (path) {
    case rootd::LaunchPath::FOUNDATION: return "foundation";
    case rootd::LaunchPath::PROCD: return "procd";
    case rootd::LaunchPath::DEVICED: return "deviced";
    case rootd::LaunchPath::PROBE: return "probe";
  }
  return "other";
}

// Forwards to the model and attributes every kernel call made inside a
// launch window to that launch.
class CountingDriver final : public sim::Driver {
 public:
  CountingDriver(sim::ModelDriver& inner, const rootd::bcfg::View& config) : inner_(inner), config_(config) {}

  abi::KernelError report(std::string_view text) override {
    tick();
    return inner_.report(text);
  }
  abi::KernelError call(std::uint32_t endpoint_slot, abi::Message& message, std::uint32_t receive_slot) override {
    if (endpoint_slot == abi::kKernelControlSlot &&
        message.label == static_cast<std::uint64_t>(abi::KernelOp::CREATE_ENDPOINT)) {
      in_launch_ = true;
      window_calls_ = 0;
    }
    tick();
    return inner_.call(endpoint_slot, message, receive_slot);
  }
  abi::KernelError send(std::uint32_t endpoint_slot, const abi::Message& message, std::uint64_t badge) override {
    tick();
    if (in_launch_) {
      if (const auto envelope = rootd::protocol::decode_deliver(message); envelope.ok()) finish_launch(envelope.value());
    }
    return inner_.send(endpoint_slot, message, badge);
  }
  abi::KernelError wait(std::uint32_t root_slot, abi::Message& message) override {
    if (in_launch_) ++waits_inside_launches_;
    tick();
    return inner_.wait(root_slot, message);
  }
  abi::KernelError cap(abi::CapOp op, std::uint32_t source_slot, std::uint32_t space_slot,
                       std::uint32_t destination_slot, std::uint32_t rights) override {
    if (!in_launch_) ++caps_outside_[op];
    tick();
    return inner_.cap(op, source_slot, space_slot, destination_slot, rights);
  }
  void park() override { inner_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override {
    return inner_.read_module(vaddr, size);
  }

  const std::map<rootd::LaunchPath, PathCount>& paths() const { return paths_; }
  std::uint64_t waits_inside_launches() const { return waits_inside_launches_; }
  std::uint64_t unattributed_launches() const { return unattributed_; }
  std::uint64_t caps_outside_launches(abi::CapOp op) const {
    const auto it = caps_outside_.find(op);
    return it == caps_outside_.end() ? 0 : it->second;
  }

 private:
  void tick() {
    if (in_launch_) ++window_calls_;
  }
  void finish_launch(const rootd::protocol::Deliver& envelope) {
    in_launch_ = false;
    const std::uint64_t service = envelope.identity;
    const rootd::Role* role =
        service < config_.service_count() ? rootd::find_role(config_.service(service).role) : nullptr;
    if (role == nullptr) {
      ++unattributed_;
      return;
    }
    PathCount& p = paths_[role->launch];
    ++p.launches;
    p.calls += window_calls_;
    p.transfers += envelope.transfer_count;
    p.fewest = std::min(p.fewest, window_calls_);
    p.most = std::max(p.most, window_calls_);
  }

  sim::ModelDriver& inner_;
  const rootd::bcfg::View& config_;
  bool in_launch_ = false;
  std::uint64_t window_calls_ = 0;
  std::uint64_t waits_inside_launches_ = 0;
  std::uint64_t unattributed_ = 0;
  std::map<rootd::LaunchPath, PathCount> paths_;
  std::map<abi::CapOp, std::uint64_t> caps_outside_;
};

bool measure(const std::string& label, const sim::SystemConfig& cfg) {
  const rootd::Result<rootd::bcfg::View> view = rootd::bcfg::parse(rootd::Bytes(cfg.blob.data(), cfg.blob.size()));
  if (!view) {
    std::fprintf(stderr, "bench-launch: %s: the config does not parse\n", label.c_str());
    return false;
  }
  const auto image = sim::build_system_image(cfg);
  if (!image) {
    std::fprintf(stderr, "bench-launch: %s: %s\n", label.c_str(), image.error().c_str());
    return false;
  }
  auto model = std::make_unique<sim::KernelModel>();
  auto services = std::make_unique<sim::Services>(*model);
  for (const sim::ServiceSpec& s : cfg.services) {
    if (!services->add(s)) {
      std::fprintf(stderr, "bench-launch: %s: the simulator refused service %s\n", label.c_str(), s.name.c_str());
      return false;
    }
  }
  const auto root = model->boot_rootd(image->layout);
  if (!root) {
    std::fprintf(stderr, "bench-launch: %s: %s\n", label.c_str(), root.error().c_str());
    return false;
  }
  sim::ModelDriver inner(*model);
  CountingDriver driver(inner, *view);
  const sim::EngineRun run = sim::run_engine<rootd::boot::RuntimeVariant>(
      rootd::Bytes(image->handoff.data(), image->handoff.size()), *root, driver);

  const std::size_t n = cfg.services.size();
  std::printf("\n%s: %zu services, status %s%s%s, %llu kernel calls in all (%.2f per service), %llu ticks\n",
              label.c_str(), n, std::string(rootd::status_name(run.status)).c_str(),
              run.status == rootd::Status::READY ? "" : " ",
              run.status == rootd::Status::READY ? "" : (std::string(rootd::reason_name(run.reason)) + ":" + run.failed_service).c_str(),
              static_cast<unsigned long long>(model->kernel_calls()),
              static_cast<double>(model->kernel_calls()) / static_cast<double>(n),
              static_cast<unsigned long long>(model->now()));
  std::printf("  whole boot by syscall:");
  const std::pair<abi::Syscall, const char*> syscalls[] = {
      {abi::Syscall::REPORT, "REPORT"}, {abi::Syscall::CALL, "CALL"}, {abi::Syscall::SEND, "SEND"},
      {abi::Syscall::WAIT, "WAIT"},     {abi::Syscall::CAP, "CAP"},   {abi::Syscall::PARK, "PARK"}};
  for (const auto& [syscall, name] : syscalls) {
    std::printf(" %s %llu", name, static_cast<unsigned long long>(model->calls_of(syscall)));
  }
  std::printf("\n  CAP outside launches: COPY_ATTENUATED %llu, DELETE %llu\n",
              static_cast<unsigned long long>(driver.caps_outside_launches(abi::CapOp::COPY_ATTENUATED)),
              static_cast<unsigned long long>(driver.caps_outside_launches(abi::CapOp::DELETE)));
  std::printf("  %-10s %8s %9s %9s %10s %9s %8s %11s\n", "path", "launches", "calls", "transfers", "minimum",
              "excess", "per svc", "fewest-most");
  for (const auto& [path, p] : driver.paths()) {
    const std::uint64_t minimum = minimum_base(path) * p.launches + calls_per_transfer(path) * p.transfers;
    std::printf("  %-10s %8llu %9llu %9llu %10llu %9lld %8.2f %5llu-%-5llu\n",
                std::string(path_name(path)).c_str(), static_cast<unsigned long long>(p.launches),
                static_cast<unsigned long long>(p.calls), static_cast<unsigned long long>(p.transfers),
                static_cast<unsigned long long>(minimum), static_cast<long long>(p.calls) - static_cast<long long>(minimum),
                static_cast<double>(p.calls) / static_cast<double>(p.launches), static_cast<unsigned long long>(p.fewest),
                static_cast<unsigned long long>(p.most));
  }
  if (driver.waits_inside_launches() != 0 || driver.unattributed_launches() != 0) {
    std::printf("  note: %llu waits inside launch windows, %llu launches of unknown role\n",
                static_cast<unsigned long long>(driver.waits_inside_launches()),
                static_cast<unsigned long long>(driver.unattributed_launches()));
  }
  return run.status == rootd::Status::READY;
}

}  // namespace

int main(int argc, char** argv) {
  bool all_ready = true;
  if (argc > 1) {
    for (int i = 1; i < argc; ++i) {
      const auto cfg = sim::load_system_config(argv[i]);
      if (!cfg) {
        std::fprintf(stderr, "bench-launch: %s\n", cfg.error().c_str());
        return 2;
      }
      all_ready = measure(argv[i], *cfg) && all_ready;
    }
    return all_ready ? 0 : 1;
  }
  const std::string runtime = std::string(ERIX_SOURCE_ROOT) + "/examples/runtime.toml";
  const auto cfg = sim::load_system_config(runtime);
  if (!cfg) {
    std::fprintf(stderr, "bench-launch: %s\n", cfg.error().c_str());
    return 2;
  }
  all_ready = measure("examples/runtime.toml", *cfg) && all_ready;
  for (std::size_t n : {std::size_t{64}, std::size_t{1024}, rootd::bcfg::kMaxServices}) {
    const std::vector<char> blob = bench::make_config_blob(n);
    const std::string label = "generated-" + std::to_string(n);
    const auto generated = sim::system_config_from_bytes(std::string_view(blob.data(), blob.size()), label);
    if (!generated) {
      std::fprintf(stderr, "bench-launch: %s\n", generated.error().c_str());
      return 2;
    }
    all_ready = measure(label, *generated) && all_ready;
  }
  return all_ready ? 0 : 1;
}
