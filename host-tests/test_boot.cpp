// The boot engine driven in-process against the kernel model and the
// simulated services (sim/boot_run.hpp): every example boots, every fault
// point on every service fails closed, time to READY is the critical path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "boot_run.hpp"
#include "kernel_model.hpp"
#include "policy_fixtures.hpp"
#include "rootd/handoff_builder.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;
using rootd::Reason;
using rootd::Status;
using rootd::boot::Hook;
using rootd::boot::Hooks;

namespace {

using fixtures::kFoundationToml;

std::string source_root() {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  return root;
}

sim::SystemConfig load(const std::string& example) {
  auto cfg = sim::load_system_config(source_root() + "/examples/" + example);
  REQUIRE(cfg);
  return *cfg;
}

sim::SystemConfig from_toml(const std::string& text) {
  auto cfg = sim::system_config_from_bytes(text, "inline.toml");
  REQUIRE(cfg);
  return *cfg;
}

// Passes every call to the model except the kernel calls (CALL, SEND, WAIT
// or CAP; reports and PARK are not counted) whose index is in `fail_at`,
// and every kernel-control call of `fail_op`: it answers those with an
// error without performing them. `observe` sees every action first.
class FailingDriver final : public sim::Driver {
 public:
  enum class Seen : std::uint8_t { REPORT, CALL, SEND, WAIT, CAP };
  using Observer = std::function<void(Seen, std::string_view, const sim::KernelModel&)>;

  FailingDriver(sim::KernelModel& model, std::vector<std::uint64_t> fail_at,
                std::optional<rootd::abi::KernelOp> fail_op = std::nullopt, Observer observe = {})
      : inner_(model), fail_at_(std::move(fail_at)), fail_op_(fail_op), observe_(std::move(observe)) {}

  rootd::abi::KernelError report(std::string_view text) override {
    see(Seen::REPORT, text);
    return inner_.report(text);
  }
  rootd::abi::KernelError call(std::uint32_t slot, rootd::abi::Message& m, std::uint32_t recv) override {
    see(Seen::CALL, {});
    bool op_fails = false;
    if (fail_op_ && slot == rootd::abi::kKernelControlSlot) {
      const auto r = rootd::protocol::decode_kernel_request(m);
      op_fails = r.ok() && r.value().op == *fail_op_;
    }
    const bool fails = fail_now() || op_fails;
    if (op_fails) ++op_failures_;
    return fails ? kInjected : inner_.call(slot, m, recv);
  }
  rootd::abi::KernelError send(std::uint32_t slot, const rootd::abi::Message& m, std::uint64_t badge) override {
    see(Seen::SEND, {});
    return fail_now() ? kInjected : inner_.send(slot, m, badge);
  }
  rootd::abi::KernelError wait(std::uint32_t root, rootd::abi::Message& m) override {
    see(Seen::WAIT, {});
    if (junk_waits_after_ && count_ > *junk_waits_after_) {
      // A message that is nobody's EXITED, for ever.
      ++count_;
      ++junk_;
      m = rootd::abi::Message{};
      return rootd::abi::KernelError::OK;
    }
    return fail_now() ? kInjected : inner_.wait(root, m);
  }
  rootd::abi::KernelError cap(rootd::abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                              std::uint32_t rights) override {
    see(Seen::CAP, {});
    if (op == rootd::abi::CapOp::COPY_ATTENUATED) ++copies_;
    const bool delete_fails = fail_deletes_after_ && op == rootd::abi::CapOp::DELETE && count_ > *fail_deletes_after_;
    return fail_now() || delete_fails ? kInjected : inner_.cap(op, src, space, dst, rights);
  }
  void park() override { inner_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override { return inner_.read_module(vaddr, size); }

  std::uint64_t calls() const { return count_; }
  std::uint64_t copies() const { return copies_; }
  // Every failure asked for by index happened.
  bool injected() const { return injected_ == fail_at_.size(); }
  std::uint64_t op_failures() const { return op_failures_; }

 private:
  static constexpr rootd::abi::KernelError kInjected = rootd::abi::KernelError::NO_MEMORY;
  bool fail_now() {
    const bool fails = std::find(fail_at_.begin(), fail_at_.end(), count_++) != fail_at_.end();
    if (fails) ++injected_;
    return fails;
  }
  void see(Seen what, std::string_view text) {
    if (observe_) observe_(what, text, inner_.model());
  }

  sim::ModelDriver inner_;
  std::vector<std::uint64_t> fail_at_;
  std::optional<rootd::abi::KernelOp> fail_op_;
  Observer observe_;

 public:
  std::optional<std::uint64_t> fail_deletes_after_;  // every DELETE after this kernel call fails
  std::optional<std::uint64_t> junk_waits_after_;    // every WAIT after this kernel call gets junk
  std::uint64_t junk_ = 0;                           // junk messages handed out

 private:
  std::uint64_t count_ = 0;
  std::uint64_t copies_ = 0;  // attenuated copies asked for (transfers)
  std::size_t injected_ = 0;
  std::uint64_t op_failures_ = 0;
};

struct Booted {
  std::unique_ptr<sim::KernelModel> model = std::make_unique<sim::KernelModel>();
  std::unique_ptr<sim::Services> services;
  sim::EngineRun run;
  sim::Audit audit;
  sim::Tick ticks = 0;
  std::uint64_t kernel_calls = 0;  // CALL, SEND, WAIT and CAP rootd made
  std::uint64_t copies = 0;        // attenuated copies rootd asked for
  bool injected = false;           // every failure asked for by fail_calls happened
  std::uint64_t op_failures = 0;   // calls failed by fail_op
  std::uint32_t root_slot = 0;     // rootd's root endpoint (rdx)
  std::uint64_t junk_waits = 0;    // WAITs answered with junk (junk_waits_after)
};

struct BootOptions {
  BootOptions() = default;
  explicit BootOptions(Hooks h) : hooks(h) {}
  Hooks hooks{};
  std::optional<std::vector<char>> handoff;  // rootd gets these bytes instead
  std::vector<std::uint64_t> fail_calls;      // indices of the kernel calls that fail
  std::optional<rootd::abi::KernelOp> fail_op;  // every kernel-control call of this op fails
  FailingDriver::Observer observe;
  std::optional<std::uint64_t> fail_deletes_after;  // every DELETE after this kernel call fails
  std::optional<std::uint64_t> junk_waits_after;    // every WAIT after this kernel call gets junk
};

template <class Variant = rootd::boot::RuntimeVariant>
Booted boot(const sim::SystemConfig& cfg, const BootOptions& opt = {}) {
  Booted b;
  auto image = sim::build_system_image(cfg);
  REQUIRE(image);
  b.services = std::make_unique<sim::Services>(*b.model);
  for (const auto& s : cfg.services) REQUIRE(b.services->add(s));
  sim::RootdLayout layout = image->layout;
  if (opt.handoff) {
    // The kernel installs the framebuffer a crafted handoff describes.
    const auto crafted = rootd::handoff::parse(rootd::Bytes(opt.handoff->data(), opt.handoff->size()));
    if (crafted.ok() && crafted.value().framebuffer()) layout.framebuffer_slot = crafted.value().framebuffer()->slot;
  }
  auto root = b.model->boot_rootd(layout);
  REQUIRE(root);
  const std::vector<char>& handoff = opt.handoff ? *opt.handoff : image->handoff;
  b.root_slot = *root;
  FailingDriver driver(*b.model, opt.fail_calls, opt.fail_op, opt.observe);
  driver.fail_deletes_after_ = opt.fail_deletes_after;
  driver.junk_waits_after_ = opt.junk_waits_after;
  b.run = sim::run_engine<Variant>(rootd::Bytes(handoff.data(), handoff.size()), *root, driver, opt.hooks);
  b.audit = b.model->audit();
  b.ticks = b.model->now();
  b.kernel_calls = driver.calls();
  b.copies = driver.copies();
  b.injected = driver.injected();
  b.op_failures = driver.op_failures();
  b.junk_waits = driver.junk_;
  return b;
}

std::string terminal(Status s) { return std::string(rootd::kMarkerPrefix) + std::string(rootd::status_name(s)); }

void check_fail_closed(const Booted& b) {
  CHECK(b.run.parked);
  CHECK(b.run.actions_after_terminal == 0);
  CHECK(b.audit.leak_count() == 0);
  CHECK(b.audit.started_not_destroyed.empty());
  REQUIRE(b.run.lines.size() >= 2);
  CHECK(b.run.lines.back() == terminal(b.run.status));
  std::string detail = std::string(rootd::kDetailPrefix) + std::string(rootd::reason_name(b.run.reason));
  if (!b.run.failed_service.empty()) detail += ":" + b.run.failed_service;
  CHECK(b.run.lines[b.run.lines.size() - 2] == detail);
}

// After READY rootd holds only its own cspace, vspace, kernel control and
// root endpoint: everything it took for the boot is shed.
void check_rootd_shed(const Booted& b) {
  const sim::Process* rootd = b.model->process(sim::kRootdPid);
  REQUIRE(rootd != nullptr);
  std::set<std::uint32_t> slots;
  for (const auto& [slot, cap] : rootd->cspace) slots.insert(slot);
  INFO(b.model->describe_caps());
  CHECK(slots.size() == 4);
  CHECK(slots.count(rootd::abi::kKernelControlSlot) == 1);
  CHECK(slots.count(rootd::abi::kSelfCspaceSlot) == 1);
  CHECK(slots.count(rootd::abi::kSelfVspaceSlot) == 1);
  CHECK(slots.count(b.root_slot) == 1);
}

void check_ready(const Booted& b, const sim::SystemConfig& cfg) {
  INFO([&] {
    std::string all;
    for (const auto& l : b.run.lines) all += l + "\n";
    return all;
  }());
  CHECK(b.run.status == Status::READY);
  CHECK(b.run.parked);
  CHECK(b.run.lines.back() == terminal(Status::READY));
  CHECK(b.run.actions_after_terminal == 0);
  CHECK(b.audit.leak_count() == 0);
  CHECK(b.ticks == sim::critical_path(cfg));
  check_rootd_shed(b);
}

std::vector<std::string> examples() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(source_root() + "/examples")) {
    if (e.path().extension() == ".toml") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("every example config reaches READY in simulated time equal to its critical path") {
  const auto names = examples();
  REQUIRE(names.size() >= 2);
  for (const auto& name : names) {
    INFO(name);
    const auto cfg = load(name);
    auto b = boot(cfg);
    check_ready(b, cfg);
    // One READY line per service (the probe has none: it completes).
    std::size_t service_lines = 0;
    for (const auto& l : b.run.lines) service_lines += l.rfind(rootd::kServiceReadyPrefix, 0) == 0 ? 1 : 0;
    std::size_t probes = 0;
    for (const auto& s : cfg.services) probes += s.role == "phase0-probe" ? 1 : 0;
    CHECK(service_lines == cfg.services.size() - probes);
  }
}

TEST_CASE("every fault point on every service fails closed with its DETAIL, no leak, no survivor") {
  std::size_t scenarios = 0;
  for (const std::string name : {"runtime.toml", "phase0.toml"}) {
    const auto base = load(name);
    for (std::size_t s = 0; s < base.services.size(); ++s) {
      for (std::size_t p = 0; p < sim::kFaultPointCount; ++p) {
        const auto point = static_cast<sim::FaultPoint>(p);
        const bool driver = rootd::find_role(base.services[s].role)->launch == rootd::LaunchPath::DEVICED;
        // Only a probe notices a refused probe call (test_devices.cpp); only
        // a driver is populated by deviced; only a probe reports a completion.
        const bool probe_only = point == sim::FaultPoint::root_completion || point == sim::FaultPoint::no_completion;
        // Verifier faults: only a verifier notices them (its own tests).
        if (point == sim::FaultPoint::refuse_probe || sim::is_verifier_fault(point) ||
            (point == sim::FaultPoint::plain_copy && !driver) ||
            (probe_only && base.services[s].role != "phase0-probe")) {
          continue;
        }
        auto cfg = base;
        cfg.services[s].faults = 1U << p;
        const std::string& svc = cfg.services[s].name;
        const bool probe = cfg.services[s].role == "phase0-probe";
        INFO(name << ": " << svc << " " << sim::fault_point_name(point));
        auto b = boot(cfg);
        ++scenarios;
        CHECK(b.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
        CHECK(b.run.failed_service == svc);
        Reason expected = Reason::NONE;
        switch (point) {
          case sim::FaultPoint::spawn: expected = probe ? Reason::BOOT_PROBE_SPAWN_FAILED : Reason::BOOT_SPAWN_FAILED; break;
          case sim::FaultPoint::start:
            // A probe is started like any procd launch (START_STAGED_PROCESS).
            expected = driver ? Reason::BOOT_SPAWN_FAILED : Reason::BOOT_START_FAILED;
            break;
          case sim::FaultPoint::handshake: expected = Reason::BOOT_HANDSHAKE_INVALID; break;
          case sim::FaultPoint::not_ready: expected = probe ? Reason::BOOT_PROBE_FAILED : Reason::BOOT_SERVICE_NOT_READY; break;
          case sim::FaultPoint::crash: expected = Reason::BOOT_SERVICE_EXITED; break;
          case sim::FaultPoint::refuse_probe: break;
          case sim::FaultPoint::plain_copy: expected = Reason::BOOT_DRIVER_POPULATE_FAILED; break;
          // It exits without completing where rootd waits (process control).
          case sim::FaultPoint::root_completion: expected = Reason::BOOT_SERVICE_EXITED; break;
          case sim::FaultPoint::no_completion: expected = Reason::BOOT_SERVICE_EXITED; break;
          // Skipped above: only a verifier notices them.
          case sim::FaultPoint::wrong_reply:
          case sim::FaultPoint::wrong_data:
          case sim::FaultPoint::extra_cap:
          case sim::FaultPoint::slow: break;
        }
        CHECK(rootd::reason_name(b.run.reason) == rootd::reason_name(expected));
        check_fail_closed(b);
      }
    }
  }
  std::size_t drivers = 0;
  for (const auto& s : load("runtime.toml").services) {
    drivers += rootd::find_role(s.role)->launch == rootd::LaunchPath::DEVICED ? 1 : 0;
  }
  CHECK(drivers > 0);
  std::size_t probes = 0;
  for (const std::string name : {"runtime.toml", "phase0.toml"}) {
    for (const auto& s : load(name).services) probes += s.role == "phase0-probe" ? 1 : 0;
  }
  CHECK(probes == 1);
  CHECK(scenarios ==
        5 * (load("runtime.toml").services.size() + load("phase0.toml").services.size()) + drivers + 2 * probes);
}

TEST_CASE("time to READY is the critical path for random latencies, not the sum") {
  const auto base = load("runtime.toml");
  std::mt19937 rng(7);
  for (int round = 0; round < 30; ++round) {
    auto cfg = base;
    sim::Tick sum = 0;
    for (auto& s : cfg.services) {
      s.latency = 1 + rng() % 50;
      sum += s.latency;
    }
    auto b = boot(cfg);
    INFO("round " << round);
    check_ready(b, cfg);
    CHECK(b.ticks < sum);
  }
}

TEST_CASE("readiness in every possible order gives the same final state") {
  const std::string text = std::string(kFoundationToml) + R"([[service]]
name = "logd"
role = "logd"
[[service]]
name = "a"
role = "service"
peers = ["logd"]
[[service]]
name = "b"
role = "service"
[[service]]
name = "c"
role = "service"
after = ["logd"]
)";
  const auto base = from_toml(text);
  std::vector<std::string> movers = {"a", "b", "c", "logd"};
  std::vector<sim::Tick> latencies = {3, 5, 7, 11};
  std::optional<std::set<std::tuple<std::string, std::uint32_t, std::string, std::uint32_t>>> first;
  int orders = 0;
  std::sort(latencies.begin(), latencies.end());
  do {
    auto cfg = base;
    for (std::size_t k = 0; k < movers.size(); ++k) {
      for (auto& s : cfg.services) {
        if (s.name == movers[k]) s.latency = latencies[k];
      }
    }
    auto b = boot(cfg);
    check_ready(b, cfg);
    std::set<std::tuple<std::string, std::uint32_t, std::string, std::uint32_t>> state;
    for (const auto& [pid, proc] : b.model->processes()) {
      if (pid == sim::kRootdPid) continue;
      for (const auto& [slot, cap] : proc.cspace) {
        state.insert({proc.name, slot, std::string(sim::object_type_name(cap.type)), cap.rights});
      }
    }
    if (!first) first = state;
    CHECK(state == *first);
    ++orders;
  } while (std::next_permutation(latencies.begin(), latencies.end()));
  CHECK(orders == 24);
}

TEST_CASE("build variants print what they should and nothing more") {
  const auto cfg = load("phase0.toml");
  auto count = [](const Booted& b, std::string_view prefix) {
    std::size_t n = 0;
    for (const auto& l : b.run.lines) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  };
  auto runtime = boot<rootd::boot::RuntimeVariant>(cfg);
  auto release = boot<rootd::boot::ReleaseVariant>(cfg);
  auto integration = boot<rootd::boot::IntegrationVariant>(cfg);
  for (const Booted* b : {&runtime, &release, &integration}) check_ready(*b, cfg);
  CHECK(count(runtime, rootd::kStagePrefix) == 0);
  CHECK(count(runtime, rootd::kServiceReadyPrefix) == cfg.services.size() - 1);  // the probe completes instead
  CHECK(release.run.lines == std::vector<std::string>{terminal(Status::READY)});
  CHECK(count(integration, rootd::kStagePrefix) == 10);
  CHECK(count(integration, rootd::kServiceReadyPrefix) == cfg.services.size() - 1);
}

TEST_CASE("integration fault hooks trip where they say") {
  const auto cfg = load("runtime.toml");
  using V = rootd::boot::IntegrationVariant;
  {
    auto b = boot<V>(cfg, BootOptions(Hooks{Hook::FORCE_FAIL, {}}));
    CHECK(b.run.reason == Reason::FORCED_FAILURE);
    CHECK(b.model->processes().size() == 1);  // nothing but rootd was ever created
    check_fail_closed(b);
  }
  {
    auto b = boot<V>(cfg, BootOptions(Hooks{Hook::FORCE_SPAWN_FAIL, "logd"}));
    CHECK(b.run.reason == Reason::BOOT_FORCED_SPAWN_FAILURE);
    CHECK(b.run.failed_service == "logd");
    CHECK(b.services->find("logd")->pid == sim::kNoPid);
    check_fail_closed(b);
  }
  {
    auto b = boot<V>(cfg, BootOptions(Hooks{Hook::FORCE_SERVICE_FAIL, "logd"}));
    CHECK(b.run.reason == Reason::BOOT_FORCED_SERVICE_FAILURE);
    CHECK(b.run.failed_service == "logd");
    // The real post-start handshake ran: logd answered READY first.
    CHECK(b.services->find("logd")->answer == sim::Answer::ready);
    check_fail_closed(b);
  }
  for (Hook h : {Hook::PROBED_OMIT_PRIMARY, Hook::PROBED_MISROUTE_PRIMARY}) {
    auto b = boot<V>(cfg, BootOptions(Hooks{h, {}}));
    CHECK(b.run.reason == Reason::BOOT_SERVICE_NOT_READY);
    CHECK(b.run.failed_service == "probed");
    CHECK(b.services->find("probed")->complaint.has_value());
    check_fail_closed(b);
  }
  // The runtime variant ignores hooks entirely.
  auto b = boot<rootd::boot::RuntimeVariant>(cfg, BootOptions(Hooks{Hook::FORCE_FAIL, {}}));
  CHECK(b.run.status == Status::READY);
}

TEST_CASE("a malformed handoff or config reaches its status and nothing starts") {
  const auto cfg = load("phase0.toml");
  {
    // The kernel put a dedicated endpoint at the legacy slot 4 and says so.
    auto image = sim::build_system_image(cfg);
    REQUIRE(image);
    const auto view = rootd::handoff::parse(rootd::Bytes(image->handoff.data(), image->handoff.size()));
    REQUIRE(view.ok());
    std::vector<char> out(image->handoff.size() + 64);
    rootd::handoff::Builder builder(out);
    builder.cspace(view->cspace()).image_frame(view->image_frame());
    for (std::size_t i = 0; i < view->module_count(); ++i) builder.module(view->module(i));
    for (std::size_t i = 0; i < view->endpoint_count(); ++i) {
      auto e = view->endpoint(i);
      if (i == 0) e.slot = rootd::kLegacySlot;
      builder.endpoint(e);
    }
    for (std::size_t i = 0; i < view->untyped_count(); ++i) builder.untyped(view->untyped(i));
    auto size = builder.finish();
    REQUIRE(size.ok());
    out.resize(size.value());
    BootOptions opt;
    opt.handoff = out;
    auto b = boot(cfg, opt);
    CHECK(b.run.status == Status::HANDOFF_INVALID);
    CHECK(b.run.reason == Reason::INVENTORY_LEGACY_SLOT_POPULATED);
    CHECK(b.model->processes().size() == 1);
    check_fail_closed(b);
  }
  {
    auto cyc = from_toml(std::string(kFoundationToml) + R"([[service]]
name = "x"
role = "service"
after = ["y"]
[[service]]
name = "y"
role = "service"
after = ["x"]
)");
    auto b = boot(cyc);
    CHECK(b.run.status == Status::CONTRACT_INVALID);
    CHECK(b.run.reason == Reason::ORDER_CYCLE);
    CHECK(b.model->processes().size() == 1);
    check_fail_closed(b);
  }
}

TEST_CASE("every single-byte flip of the handoff fails closed without READY") {
  const auto cfg = load("phase0.toml");
  auto image = sim::build_system_image(cfg);
  REQUIRE(image);
  const std::vector<char> good = image->handoff;
  std::set<Reason> reasons;
  for (std::size_t at = 0; at < good.size(); ++at) {
    for (unsigned char x : {0x01, 0x80}) {
      BootOptions opt;
      opt.handoff = good;
      (*opt.handoff)[at] = static_cast<char>((*opt.handoff)[at] ^ x);
      auto b = boot(cfg, opt);
      INFO("offset " << at << " xor " << int(x));
      CHECK(b.run.status == Status::HANDOFF_INVALID);
      CHECK(b.model->processes().size() == 1);
      check_fail_closed(b);
      reasons.insert(b.run.reason);
    }
  }
  CHECK(reasons.size() > 1);
}

TEST_CASE("the critical chain is a dependency chain whose latencies sum to the critical path") {
  std::mt19937 rng(11);
  auto cfg = load("runtime.toml");
  for (int round = 0; round < 20; ++round) {
    for (auto& s : cfg.services) s.latency = 1 + rng() % 40;
    const auto chain = sim::critical_chain(cfg);
    REQUIRE_FALSE(chain.empty());
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < cfg.services.size(); ++i) index[cfg.services[i].name] = i;
    sim::Tick sum = 0;
    for (std::size_t k = 0; k < chain.size(); ++k) {
      const std::size_t i = index.at(chain[k]);
      sum += cfg.services[i].latency;
      if (k > 0) {
        const auto& deps = cfg.dependencies[i];
        CHECK(std::find(deps.begin(), deps.end(), index.at(chain[k - 1])) != deps.end());
      }
    }
    CHECK(sum == sim::critical_path(cfg));
    CHECK(cfg.dependencies[index.at(chain.front())].empty());
  }
}

TEST_CASE("failing each kernel call of every example, one at a time, fails closed") {
  std::size_t scenarios = 0;
  for (const auto& name : examples()) {
    const auto cfg = load(name);
    const std::uint64_t total = boot(cfg).kernel_calls;
    REQUIRE(total > 0);
    for (std::uint64_t k = 0; k < total; ++k) {
      INFO(name << ": kernel call #" << k << " of " << total << " fails");
      BootOptions opt;
      opt.fail_calls = {k};
      auto b = boot(cfg, opt);
      ++scenarios;
      REQUIRE(b.injected);
      CHECK(b.run.status != Status::READY);
      CHECK(b.run.reason != Reason::NONE);
      check_fail_closed(b);
      check_rootd_shed(b);
      if (b.audit.leak_count() != 0 && std::getenv("ROOTD_SWEEP_DEBUG") != nullptr) {
        for (const auto& c : b.audit.orphaned) WARN("orphaned slot " << c.slot);
        for (const auto& c : b.audit.dangling) WARN("dangling pid " << c.pid << " slot " << c.slot);
        for (auto p : b.audit.dead_not_destroyed) WARN("dead " << p);
        for (auto p : b.audit.never_started) WARN("never started " << p);
        WARN(b.run.lines.back() << " " << rootd::reason_name(b.run.reason));
      }
    }
  }
  // Printed for the performance and evidence notes.
  WARN("kernel-call fault sweep: " << scenarios << " scenarios");
  CHECK(scenarios > 1000);
}

// A second fault in the teardown that follows the first: every kernel call
// of every example fails first, and then, one run each, every kernel call
// of the teardown that follows. Every run parks with a terminal status and
// a DETAIL line; no child survives unless the reason is
// TEARDOWN_INCOMPLETE naming it; rootd keeps its four caps alone unless
// the reason is TEARDOWN_SHED_FAILED.
TEST_CASE("double-fault sweep: each kernel call fails and then each kernel call of its teardown") {
  const auto started = std::chrono::steady_clock::now();
  std::size_t scenarios = 0;
  std::map<Reason, std::size_t> reasons;
  for (const auto& name : examples()) {
    const auto cfg = load(name);
    const std::uint64_t total = boot(cfg).kernel_calls;
    for (std::uint64_t k = 0; k < total; ++k) {
      BootOptions first;
      first.fail_calls = {k};
      const std::uint64_t after = boot(cfg, first).kernel_calls;
      for (std::uint64_t j = k + 1; j < after; ++j) {
        BootOptions opt;
        opt.fail_calls = {k, j};
        auto b = boot(cfg, opt);
        ++scenarios;
        INFO(name << ": kernel call #" << k << " fails, then #" << j << " of " << after);
        REQUIRE(b.injected);
        REQUIRE(b.run.parked);
        CHECK(b.run.status != Status::READY);
        ++reasons[b.run.reason];
        CHECK(b.run.actions_after_terminal == 0);
        REQUIRE(b.run.lines.size() >= 2);
        CHECK(b.run.lines.back() == terminal(b.run.status));
        if (b.run.reason == Reason::TEARDOWN_INCOMPLETE) {
          CHECK(b.audit.started_not_destroyed.size() == 1);
        } else {
          CHECK(b.audit.started_not_destroyed.empty());
        }
        if (b.run.reason != Reason::TEARDOWN_SHED_FAILED) check_rootd_shed(b);
        CHECK(b.audit.leak_count() == 0);
      }
    }
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  WARN("double-fault sweep: " << scenarios << " scenarios in " << seconds << " s");
  for (const auto& [r, count] : reasons) WARN("  " << rootd::reason_name(r) << ": " << count);
  CHECK(scenarios > 10000);
}

TEST_CASE("every simulated-service fault point on every service of every example fails closed") {
  std::size_t scenarios = 0;
  for (const auto& name : examples()) {
    const auto base = load(name);
    for (std::size_t s = 0; s < base.services.size(); ++s) {
      for (std::size_t p = 0; p < sim::kFaultPointCount; ++p) {
        // Only a probe notices a refused probe call (test_devices.cpp); only
        // a driver is populated by deviced; only a probe reports a completion.
        const bool driver = rootd::find_role(base.services[s].role)->launch == rootd::LaunchPath::DEVICED;
        const auto point = static_cast<sim::FaultPoint>(p);
        const bool probe_only = point == sim::FaultPoint::root_completion || point == sim::FaultPoint::no_completion;
        // Verifier faults: only a verifier notices them (its own tests).
        if (point == sim::FaultPoint::refuse_probe || sim::is_verifier_fault(point) ||
            (point == sim::FaultPoint::plain_copy && !driver) ||
            (probe_only && rootd::find_role(base.services[s].role)->launch != rootd::LaunchPath::PROBE)) {
          continue;
        }
        auto cfg = base;
        cfg.services[s].faults = 1U << p;
        INFO(name << ": " << cfg.services[s].name << " " << sim::fault_point_name(static_cast<sim::FaultPoint>(p)));
        auto b = boot(cfg);
        ++scenarios;
        CHECK(b.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
        CHECK(b.run.failed_service == cfg.services[s].name);
        check_fail_closed(b);
        check_rootd_shed(b);
      }
    }
  }
  WARN("service fault sweep: " << scenarios << " scenarios");
}

// ---- the boot plan ---------------------------------------------------------------

namespace {

struct Planned {
  std::unique_ptr<rootd::boot::BootStorage> storage = std::make_unique<rootd::boot::BootStorage>();
  rootd::boot::PlanError error;
  std::uint32_t slot_count = 0;
  std::uint32_t first_free_slot = 0;
  std::map<std::string, std::uint32_t> frame_of_module;
};

Planned plan(const sim::SystemConfig& cfg) {
  Planned p;
  auto image = sim::build_system_image(cfg);
  REQUIRE(image);
  p.slot_count = image->slot_count;
  p.first_free_slot = image->first_free_slot;
  for (const auto& m : image->modules) p.frame_of_module[m.name] = m.frame_slot;
  auto h = rootd::handoff::parse(rootd::Bytes(image->handoff.data(), image->handoff.size()));
  REQUIRE(h.ok());
  auto c = rootd::bcfg::parse(rootd::Bytes(cfg.blob.data(), cfg.blob.size()));
  REQUIRE(c.ok());
  p.error = rootd::boot::plan_boot(h.value(), c.value(), p.storage->plan);
  return p;
}

}  // namespace

TEST_CASE("the plan of every example resolves each service's launch, slots, frame and transfers") {
  using rootd::LaunchPath;
  using rootd::boot::ShedPoint;
  using rootd::boot::SlotGroup;
  for (const auto& name : examples()) {
    INFO(name);
    const auto cfg = load(name);
    const Planned p = plan(cfg);
    REQUIRE(p.error.ok());
    const auto& bp = p.storage->plan;
    REQUIRE(bp.service_count == cfg.services.size());
    std::set<std::uint32_t> slots;
    std::size_t transfers = 0;
    std::size_t probes = 0;
    std::optional<std::uint16_t> deviced;
    for (std::size_t s = 0; s < cfg.services.size(); ++s) {
      const auto& spec = cfg.services[s];
      const auto& sp = bp.services[s];
      INFO(spec.name);
      const rootd::Role* role = rootd::find_role(spec.role);
      REQUIRE(role != nullptr);
      CHECK(&bp.role_of(s) == role);
      CHECK(sp.launch == role->launch);
      if (role->id == rootd::RoleId::DEVICED) deviced = static_cast<std::uint16_t>(s);
      if (sp.launch == LaunchPath::PROBE) ++probes;
      // The launcher is the service of the role that launches this one.
      if (sp.launch == LaunchPath::FOUNDATION) {
        CHECK(sp.launcher == rootd::bcfg::kNoIndex);
      } else {
        REQUIRE(sp.launcher < cfg.services.size());
        CHECK(cfg.services[sp.launcher].role == (sp.launch == LaunchPath::DEVICED ? "deviced" : "procd"));
      }
      // rootd's own slots: free in its cspace and never shared.
      for (std::uint32_t slot : {sp.endpoint_slot, sp.process_slot, sp.grant_slot}) {
        CHECK(slot >= p.first_free_slot);
        CHECK(slot < p.slot_count);
        CHECK(slots.insert(slot).second);
      }
      REQUIRE(p.frame_of_module.count(spec.image) == 1);
      CHECK(sp.image_frame == p.frame_of_module.at(spec.image));
      // At least its own service endpoint (the probe too: it is launched like
      // a procd service).
      CHECK(sp.transfer_count >= 1);
      transfers += sp.transfer_count;
      // Dependencies come first in the launch order.
      const auto* order_end = bp.order.order + cfg.services.size();
      const auto at = std::find(bp.order.order, order_end, s);
      REQUIRE(at != order_end);
      for (std::size_t d : cfg.dependencies[s]) CHECK(std::find(bp.order.order, at, d) != at);
    }
    CHECK(bp.probe_count == probes);

    // The shed schedule: untyped once deviced is READY when there is a
    // deviced; dedicated endpoints, module frames and the image frame once
    // their consumers are; the framebuffer (when the handoff has one) at
    // once; and every group once at the final shed.
    std::vector<SlotGroup> early;
    if (deviced) early.push_back(SlotGroup::UNTYPED);
    early.insert(early.end(), {SlotGroup::DEDICATED_ENDPOINTS, SlotGroup::MODULE_FRAMES, SlotGroup::IMAGE_FRAME});
    const auto image = sim::build_system_image(cfg);
    REQUIRE(image);
    const auto h = rootd::handoff::parse(rootd::Bytes(image->handoff.data(), image->handoff.size()));
    REQUIRE(h.ok());
    if (h.value().framebuffer().has_value()) early.push_back(SlotGroup::FRAMEBUFFER);
    REQUIRE(bp.shed_count == early.size() + rootd::boot::kSlotGroupCount);
    for (std::size_t k = 0; k < early.size(); ++k) {
      CHECK(bp.shed[k].when == ShedPoint::CONSUMED);
      CHECK(bp.shed[k].group == early[k]);
    }
    for (std::size_t g = 0; g < rootd::boot::kSlotGroupCount; ++g) {
      CHECK(bp.shed[early.size() + g].when == ShedPoint::FINAL);
      CHECK(static_cast<std::size_t>(bp.shed[early.size() + g].group) == g);
    }
    // Consumers: deviced alone of untyped; every service of its module.
    for (std::size_t s = 0; s < cfg.services.size(); ++s) {
      const auto bits = bp.services[s].consumes;
      CHECK(((bits & rootd::boot::slot_group_bit(SlotGroup::UNTYPED)) != 0) == (deviced && *deviced == s));
      CHECK((bits & rootd::boot::slot_group_bit(SlotGroup::MODULE_FRAMES)) != 0);
      CHECK(h.value().module(bp.services[s].image_module).frame_slot == bp.services[s].image_frame);
    }

    // The engine performs exactly the planned transfers.
    const auto b = boot(cfg);
    REQUIRE(b.run.status == Status::READY);
    CHECK(b.copies == transfers);
  }
}

TEST_CASE("a plan that fails names the reason and the service the engine reports") {
  // A driver with no deviced, and a service waiting for itself.
  const std::vector<std::string> bad = {
      std::string(kFoundationToml) + "[[service]]\nname = \"serial\"\nrole = \"drv-serial\"\nlaunch = \"deviced\"\n",
      std::string(kFoundationToml) + "[[service]]\nname = \"loop\"\nrole = \"logd\"\nafter = [\"loop\"]\n",
  };
  for (const auto& toml : bad) {
    INFO(toml);
    const auto cfg = from_toml(toml);
    const Planned p = plan(cfg);
    REQUIRE(!p.error.ok());
    CHECK(p.error.error.blob == rootd::Blob::CONFIG);
    const auto b = boot(cfg);
    CHECK(b.run.reason == p.error.error.reason);
    const std::uint16_t s =
        rootd::owner_of(*rootd::bcfg::parse(rootd::Bytes(cfg.blob.data(), cfg.blob.size())), p.error.error);
    REQUIRE(s < cfg.services.size());
    CHECK(b.run.failed_service == cfg.services[s].name);
    CHECK(b.audit.leak_count() == 0);
  }
}

TEST_CASE("the transition table leads every phase to PARKED") {
  using rootd::boot::BootPhase;
  using rootd::boot::kTransitions;
  // Reachability over the table: from INTAKE, PARKED is reachable, and from
  // every phase entered by some row, so is PARKED.
  auto reaches_parked = [](BootPhase from) {
    std::set<BootPhase> seen{from};
    std::vector<BootPhase> todo{from};
    while (!todo.empty()) {
      const BootPhase p = todo.back();
      todo.pop_back();
      if (p == BootPhase::PARKED) return true;
      for (const auto& t : kTransitions) {
        if (t.from == p && seen.insert(t.to).second) todo.push_back(t.to);
      }
    }
    return false;
  };
  for (std::size_t p = 0; p < rootd::boot::kBootPhaseCount; ++p) {
    const auto phase = static_cast<BootPhase>(p);
    INFO(rootd::boot::boot_phase_name(phase));
    CHECK(reaches_parked(phase));
  }
}

// ---- the shed schedule, seen in the kernel's cspace of rootd ----------------------

namespace {

// rootd's boot-time caps by kind, read from the handoff the kernel built
// rootd's cspace from (not from the engine).
struct BootCaps {
  std::set<std::uint32_t> untyped;
  std::set<std::uint32_t> dedicated;
  std::map<std::string, std::uint32_t> module;  // by module name
  std::uint32_t image_frame = 0;
  std::optional<std::uint32_t> framebuffer;
};

BootCaps boot_caps(const std::vector<char>& handoff) {
  const auto parsed = rootd::handoff::parse(rootd::Bytes(handoff.data(), handoff.size()));
  REQUIRE(parsed.ok());
  const auto& h = parsed.value();
  BootCaps caps;
  for (std::size_t i = 0; i < h.untyped_count(); ++i) caps.untyped.insert(h.untyped(i).slot);
  for (std::size_t i = 0; i < h.endpoint_count(); ++i) caps.dedicated.insert(h.endpoint(i).slot);
  for (std::size_t i = 0; i < h.module_count(); ++i) caps.module[std::string(h.module(i).name)] = h.module(i).frame_slot;
  caps.image_frame = h.image_frame().slot;
  if (const auto fb = h.framebuffer()) caps.framebuffer = fb->slot;
  return caps;
}

std::string ready_line(const std::string& service) {
  std::string line(rootd::kServiceReadyPrefix);
  for (char ch : service) line += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return line;
}

// What rootd's cspace held when it went to WAIT, and which services had
// reported READY by then.
struct WaitSnapshot {
  std::set<std::string> ready;
  std::set<std::uint32_t> held;
};

}  // namespace

// The documented schedule (docs/startup-protocol.md, "The shed
// schedule"), checked at every WAIT of a good boot against the kernel
// model's cspace of rootd: untyped caps are held exactly until deviced is
// READY; the dedicated endpoints until every service that holds one, and
// every foundation service (the pager), is READY; each module frame until
// every service launched from it is READY (the boot config's to the end,
// a module no service is launched from not at all); the image frame until
// every service holding it is READY; the framebuffer never. At READY only
// the four caps are left.
TEST_CASE("rootd's cspace follows the documented shed schedule at every WAIT of every example") {
  for (const auto& name : examples()) {
    INFO(name);
    const auto cfg = load(name);
    const auto image = sim::build_system_image(cfg);
    REQUIRE(image);
    const BootCaps caps = boot_caps(image->handoff);
    std::map<std::string, std::string> line_to_service;
    for (const auto& spec : cfg.services) line_to_service[ready_line(spec.name)] = spec.name;

    std::vector<WaitSnapshot> waits;
    std::set<std::string> ready;
    std::set<std::uint32_t> held_at_deviced_ready;
    std::optional<std::string> deviced;
    for (const auto& spec : cfg.services) {
      if (spec.role == "deviced") deviced = spec.name;
    }
    BootOptions opt;
    opt.observe = [&](FailingDriver::Seen what, std::string_view text, const sim::KernelModel& model) {
      std::set<std::uint32_t> held;
      for (const auto& [slot, cap] : model.process(sim::kRootdPid)->cspace) held.insert(slot);
      if (what == FailingDriver::Seen::REPORT) {
        const auto it = line_to_service.find(std::string(text));
        if (it == line_to_service.end()) return;
        ready.insert(it->second);
        if (deviced && it->second == *deviced) held_at_deviced_ready = held;
      }
      if (what == FailingDriver::Seen::WAIT) waits.push_back({ready, held});
    };
    auto b = boot(cfg, opt);
    check_ready(b, cfg);
    REQUIRE(!waits.empty());

    // Consumers, from the kernel model at READY: who holds a copy of the
    // image frame or of a dedicated endpoint; foundation services use the
    // pager endpoint at their launch.
    std::set<std::string> image_frame_users;
    std::set<std::string> dedicated_users;
    sim::KernelModel entry;
    sim::RootdLayout layout = image->layout;
    REQUIRE(entry.boot_rootd(layout));
    const auto& entry_caps = entry.process(sim::kRootdPid)->cspace;
    std::set<sim::ObjectId> dedicated_objects;
    for (std::uint32_t slot : caps.dedicated) dedicated_objects.insert(entry_caps.at(slot).object);
    const sim::ObjectId image_object = entry_caps.at(caps.image_frame).object;
    for (const auto& [pid, p] : b.model->processes()) {
      if (pid == sim::kRootdPid) continue;
      for (const auto& [slot, cap] : p.cspace) {
        if (cap.type == sim::ObjectType::frame && cap.object == image_object) image_frame_users.insert(p.name);
        if (cap.type == sim::ObjectType::endpoint && dedicated_objects.count(cap.object) != 0) {
          dedicated_users.insert(p.name);
        }
      }
    }
    for (const auto& spec : cfg.services) {
      const rootd::Role* role = rootd::find_role(spec.role);
      REQUIRE(role != nullptr);
      if (role->launch == rootd::LaunchPath::FOUNDATION) dedicated_users.insert(spec.name);
      // The probe's row gives it process control; it is destroyed once it
      // completed, so its caps are gone by now.
      if (role->launch == rootd::LaunchPath::PROBE) {
        const auto* p = b.model->process(b.services->find(spec.name)->pid);
        REQUIRE(p != nullptr);
        CHECK(p->state == sim::ProcessState::destroyed);
        if (role->extra_count > 0) dedicated_users.insert(spec.name);
      }
    }
    CHECK(!dedicated_users.empty());

    auto all_ready = [](const std::set<std::string>& users, const std::set<std::string>& r) {
      return std::all_of(users.begin(), users.end(), [&](const std::string& u) { return r.count(u) != 0; });
    };
    if (deviced) {
      // Held up to deviced's READY, gone at the next WAIT.
      for (std::uint32_t slot : caps.untyped) CHECK(held_at_deviced_ready.count(slot) == 1);
    }
    for (std::size_t w = 0; w < waits.size(); ++w) {
      const WaitSnapshot& snap = waits[w];
      INFO("WAIT #" << w << " with " << snap.ready.size() << " services READY");
      const bool untyped_held = !deviced || snap.ready.count(*deviced) == 0;
      for (std::uint32_t slot : caps.untyped) CHECK((snap.held.count(slot) == 1) == untyped_held);
      const bool dedicated_held = !all_ready(dedicated_users, snap.ready);
      for (std::uint32_t slot : caps.dedicated) CHECK((snap.held.count(slot) == 1) == dedicated_held);
      CHECK((snap.held.count(caps.image_frame) == 1) == !all_ready(image_frame_users, snap.ready));
      if (caps.framebuffer) CHECK(snap.held.count(*caps.framebuffer) == 0);
      for (const auto& [module, slot] : caps.module) {
        INFO("module " << module);
        // Services launched from it, and those it is granted to (a profile
        // module: the console font to fbcond).
        std::set<std::string> users;
        for (const auto& spec : cfg.services) {
          if (spec.image == module) users.insert(spec.name);
          if (std::find(spec.modules.begin(), spec.modules.end(), module) != spec.modules.end()) {
            users.insert(spec.name);
          }
        }
        const bool held = module == rootd::kBootConfigModule || !all_ready(users, snap.ready);
        CHECK((snap.held.count(slot) == 1) == held);
      }
    }
  }
}

// A child that cannot be stopped is still tried with a destroy, and one
// that cannot be destroyed is the terminal reason, by name; the teardown
// goes on with the others and sheds what rootd holds.
TEST_CASE("a child teardown cannot destroy is the terminal reason, and teardown finishes the rest") {
  const auto cfg = load("phase0.toml");
  const std::uint64_t total = boot(cfg).kernel_calls;
  for (const auto op : {rootd::abi::KernelOp::MANAGED_STOP, rootd::abi::KernelOp::DESTROY_PROCESS}) {
    INFO("every " << (op == rootd::abi::KernelOp::MANAGED_STOP ? "MANAGED_STOP" : "DESTROY_PROCESS") << " fails");
    BootOptions opt;
    opt.fail_calls = {total - 1};  // the last call of the boot: everything has started
    opt.fail_op = op;
    auto b = boot(cfg, opt);
    REQUIRE(b.run.parked);
    CHECK(b.op_failures > 0);
    CHECK(b.run.status == Status::INTERNAL_ERROR);
    CHECK(b.run.reason == Reason::TEARDOWN_INCOMPLETE);
    REQUIRE(!b.run.failed_service.empty());
    REQUIRE(b.run.lines.size() >= 2);
    CHECK(b.run.lines[b.run.lines.size() - 2] ==
          std::string(rootd::kDetailPrefix) + "TEARDOWN_INCOMPLETE:" + b.run.failed_service);
    CHECK(b.run.lines.back() == terminal(Status::INTERNAL_ERROR));
    // The named child is among the survivors; every other child was tried
    // too (a failing stop leaves each one running; a failing destroy
    // leaves each one stopped), and rootd still shed all it held.
    bool named_alive = false;
    for (const auto& [pid, p] : b.model->processes()) {
      if (pid == sim::kRootdPid) continue;
      if (p.name == b.run.failed_service) named_alive = p.state != sim::ProcessState::destroyed;
      if (op == rootd::abi::KernelOp::DESTROY_PROCESS && p.state != sim::ProcessState::destroyed) {
        CHECK(p.state != sim::ProcessState::running);
      }
    }
    CHECK(named_alive);
    check_rootd_shed(b);
  }
}

// Every delete failing after the first failure: teardown still destroys
// every child, tries every cap twice, and says it could not shed.
TEST_CASE("deletes that keep failing in teardown end in TEARDOWN_SHED_FAILED, with no child left") {
  for (const auto& name : examples()) {
    INFO(name);
    const auto cfg = load(name);
    const std::uint64_t total = boot(cfg).kernel_calls;
    BootOptions opt;
    opt.fail_calls = {total / 2};
    opt.fail_deletes_after = total / 2;
    auto b = boot(cfg, opt);
    REQUIRE(b.run.parked);
    CHECK(b.run.status == Status::INTERNAL_ERROR);
    CHECK(b.run.reason == Reason::TEARDOWN_SHED_FAILED);
    REQUIRE(b.run.lines.size() >= 2);
    CHECK(b.run.lines[b.run.lines.size() - 2] == std::string(rootd::kDetailPrefix) + "TEARDOWN_SHED_FAILED");
    CHECK(b.run.lines.back() == terminal(Status::INTERNAL_ERROR));
    CHECK(b.audit.started_not_destroyed.empty());
    const sim::Process* rootd = b.model->process(sim::kRootdPid);
    CHECK(rootd->cspace.size() > 4);
  }
}

// The framebuffer is handed to nobody: rootd sheds it before its first
// launch, and the boot is otherwise the same (one DELETE more).
TEST_CASE("a handoff with a framebuffer: rootd sheds it before it launches anything") {
  for (const auto& name : examples()) {
    INFO(name);
    const auto cfg = load(name);
    auto image = sim::build_system_image(cfg);
    REQUIRE(image);
    const auto view = rootd::handoff::parse(rootd::Bytes(image->handoff.data(), image->handoff.size()));
    REQUIRE(view.ok());
    // The kernel puts it at the first free slot and moves that up by one.
    auto cspace = view->cspace();
    const std::uint32_t fb_slot = cspace.first_free_slot++;
    std::vector<char> out(image->handoff.size() + 128);
    rootd::handoff::Builder builder(out);
    builder.cspace(cspace).image_frame(view->image_frame());
    for (std::size_t i = 0; i < view->module_count(); ++i) builder.module(view->module(i));
    for (std::size_t i = 0; i < view->endpoint_count(); ++i) builder.endpoint(view->endpoint(i));
    for (std::size_t i = 0; i < view->untyped_count(); ++i) builder.untyped(view->untyped(i));
    rootd::handoff::Framebuffer fb{};
    fb.paddr = 0x80000000;
    fb.width = 640;
    fb.height = 480;
    fb.pitch = 640 * 4;
    fb.bpp = 32;
    fb.slot = fb_slot;
    builder.framebuffer(fb);
    auto size = builder.finish();
    REQUIRE(size.ok());
    out.resize(size.value());

    bool held_at_first_create = false;
    bool seen_create = false;
    BootOptions opt;
    opt.handoff = out;
    opt.observe = [&](FailingDriver::Seen what, std::string_view, const sim::KernelModel& model) {
      if (what != FailingDriver::Seen::CALL || seen_create) return;
      seen_create = true;
      held_at_first_create = model.process(sim::kRootdPid)->cap_at(fb_slot) != nullptr;
    };
    auto b = boot(cfg, opt);
    INFO(rootd::reason_name(b.run.reason));
    REQUIRE(b.run.status == Status::READY);
    CHECK(seen_create);
    CHECK_FALSE(held_at_first_create);
    check_rootd_shed(b);
    CHECK(b.kernel_calls == boot(cfg).kernel_calls + 1);
  }
}

// rootd never waits for an EXITED for ever: with every WAIT of teardown
// answered by a message that is no EXITED, each child costs at most the
// documented budget of WAITs, and is destroyed all the same.
TEST_CASE("teardown's wait for a child's EXITED is bounded by its message budget") {
  for (const auto& name : examples()) {
    INFO(name);
    const auto cfg = load(name);
    const std::uint64_t total = boot(cfg).kernel_calls;
    BootOptions opt;
    opt.fail_calls = {total - 1};
    opt.junk_waits_after = total - 1;
    auto b = boot(cfg, opt);
    REQUIRE(b.run.parked);
    CHECK(b.run.status != Status::READY);
    CHECK(b.run.reason != Reason::TEARDOWN_INCOMPLETE);
    CHECK(b.audit.started_not_destroyed.empty());
    check_rootd_shed(b);
    std::size_t children = 0;
    for (const auto& [pid, p] : b.model->processes()) children += pid != sim::kRootdPid && p.started_at ? 1 : 0;
    CHECK(b.junk_waits > 0);
    CHECK(b.junk_waits <= children * rootd::boot::kTeardownWaitBudget * cfg.services.size());
  }
}

// A handoff naming one of rootd's own slots (kernel control, cspace, vspace,
// root endpoint) as a boot cap to shed: whatever else happens, rootd never
// deletes its own caps and never reports READY.
TEST_CASE("rootd never sheds its own slots, whatever the handoff names") {
  const auto cfg = load("runtime.toml");
  auto image = sim::build_system_image(cfg);
  REQUIRE(image);
  const auto view = rootd::handoff::parse(rootd::Bytes(image->handoff.data(), image->handoff.size()));
  REQUIRE(view.ok());
  const std::uint32_t root = boot(cfg).root_slot;
  REQUIRE(root != rootd::abi::kNoSlot);
  for (std::uint32_t own : {rootd::abi::kKernelControlSlot, rootd::abi::kSelfCspaceSlot, rootd::abi::kSelfVspaceSlot, root}) {
    for (int kind = 0; kind < 2; ++kind) {
      INFO("slot " << own << (kind == 0 ? " as an untyped region" : " as a module frame"));
      std::vector<char> out(image->handoff.size() + 64);
      rootd::handoff::Builder builder(out);
      builder.cspace(view->cspace()).image_frame(view->image_frame());
      for (std::size_t i = 0; i < view->module_count(); ++i) {
        auto m = view->module(i);
        if (kind == 1 && i == view->module_count() - 1) m.frame_slot = own;
        builder.module(m);
      }
      for (std::size_t i = 0; i < view->endpoint_count(); ++i) builder.endpoint(view->endpoint(i));
      for (std::size_t i = 0; i < view->untyped_count(); ++i) {
        auto u = view->untyped(i);
        if (kind == 0 && i == 0) u.slot = own;
        builder.untyped(u);
      }
      auto size = builder.finish();
      REQUIRE(size.ok());
      out.resize(size.value());
      BootOptions opt;
      opt.handoff = out;
      auto b = boot(cfg, opt);
      CHECK(b.run.parked);
      CHECK(b.run.status != Status::READY);
      const sim::Process* rootd = b.model->process(sim::kRootdPid);
      INFO(rootd::reason_name(b.run.reason) << "\n" << b.model->describe_caps());
      CHECK(b.root_slot == root);
      for (std::uint32_t slot : {rootd::abi::kKernelControlSlot, rootd::abi::kSelfCspaceSlot, rootd::abi::kSelfVspaceSlot, root}) {
        INFO("own slot " << slot);
        CHECK(rootd->cap_at(slot) != nullptr);
      }
      CHECK(b.audit.started_not_destroyed.empty());
    }
  }
}
