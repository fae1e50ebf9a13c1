// The capabilities rootd holds at each stage of a boot, against the shed
// schedule of docs/startup-protocol.md section 5. The expected set is worked
// out here from the handoff (which slots hold which boot-time caps), the
// role catalog (who receives the image frame or a dedicated endpoint) and
// the doc's table; never from the engine's plan or its schedule.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "kernel_model.hpp"
#include "rootd/inventory.hpp"
#include "rootd/protocol.hpp"
#include "rootd/roles.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;
using rootd::Status;

namespace {

sim::SystemConfig load(const std::string& example) {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  auto cfg = sim::load_system_config(std::string(root) + "/examples/" + example);
  REQUIRE(cfg);
  return *cfg;
}

std::string ready_line(const std::string& service) {
  std::string line(rootd::kServiceReadyPrefix);
  for (char ch : service) line += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return line;
}

using Slots = std::set<std::uint32_t>;
using Names = std::set<std::string>;

// The doc's rules over one boot: who consumes each boot-time cap, read from
// the handoff and the role catalog.
struct Schedule {
  Slots untyped;
  Slots dedicated;
  std::map<std::string, std::uint32_t> module;  // frame slot by module name
  std::uint32_t image_frame = 0;
  std::optional<std::uint32_t> framebuffer;
  std::optional<std::string> deviced;
  Names dedicated_users;    // envelopes holding a dedicated endpoint, and the foundation
  Names image_frame_users;  // envelopes holding the image frame
  std::map<std::string, Names> module_users;

  Slots all() const {
    Slots s = untyped;
    s.insert(dedicated.begin(), dedicated.end());
    for (const auto& [name, slot] : module) s.insert(slot);
    s.insert(image_frame);
    if (framebuffer) s.insert(*framebuffer);
    return s;
  }

  // What section 5 says rootd still holds once `ready` are READY and their
  // shed steps ran, before the final shed.
  Slots expected(const Names& ready) const {
    auto all_ready = [&](const Names& users) {
      return std::all_of(users.begin(), users.end(), [&](const std::string& u) { return ready.count(u) != 0; });
    };
    Slots s;
    if (!deviced || ready.count(*deviced) == 0) s.insert(untyped.begin(), untyped.end());
    if (!all_ready(dedicated_users)) s.insert(dedicated.begin(), dedicated.end());
    if (!image_frame_users.empty() && !all_ready(image_frame_users)) s.insert(image_frame);
    for (const auto& [name, slot] : module) {
      const auto users = module_users.find(name);
      const bool used = users != module_users.end() && !users->second.empty();
      if (name == rootd::kBootConfigModule || (used && !all_ready(users->second))) s.insert(slot);
    }
    return s;  // the framebuffer: never, once anything is launched
  }
};

Schedule schedule_of(const sim::SystemConfig& cfg, const std::vector<char>& handoff) {
  const auto parsed = rootd::handoff::parse(rootd::Bytes(handoff.data(), handoff.size()));
  REQUIRE(parsed.ok());
  const auto& h = parsed.value();
  Schedule s;
  for (std::size_t i = 0; i < h.untyped_count(); ++i) s.untyped.insert(h.untyped(i).slot);
  for (std::size_t i = 0; i < h.endpoint_count(); ++i) s.dedicated.insert(h.endpoint(i).slot);
  for (std::size_t i = 0; i < h.module_count(); ++i) s.module[std::string(h.module(i).name)] = h.module(i).frame_slot;
  s.image_frame = h.image_frame().slot;
  if (const auto fb = h.framebuffer()) s.framebuffer = fb->slot;
  for (const auto& spec : cfg.services) {
    const rootd::Role* role = rootd::find_role(spec.role);
    REQUIRE(role != nullptr);
    if (role->id == rootd::RoleId::DEVICED) s.deviced = spec.name;
    if (role->primary.has_value() || role->extra_count != 0 || role->launch == rootd::LaunchPath::FOUNDATION) {
      s.dedicated_users.insert(spec.name);
    }
    if (role->image_frame) s.image_frame_users.insert(spec.name);
    s.module_users[spec.image].insert(spec.name);
    // The doc's one profile module: phase3-framebuffer's console font goes
    // to fbcond, which makes fbcond a user of that module's frame.
    if (cfg.profile == "phase3-framebuffer" && spec.role == "fbcond") s.module_users["console-font"].insert(spec.name);
  }
  return s;
}

// One look at rootd's cspace, taken before an action is performed.
struct Snapshot {
  enum class At : std::uint8_t { REPORT, CALL, SEND, WAIT, CAP, PARK } at;
  std::string line;  // for REPORT
  bool teardown = false;  // a kernel-control MANAGED_STOP or DESTROY_PROCESS
  Names ready;       // services whose READY rootd had reported before this action
  Slots held;
};

// The kernel model behind the Driver interface, looking at rootd's cspace
// before every action.
class Watcher final : public sim::Driver {
 public:
  Watcher(sim::KernelModel& model, const sim::SystemConfig& cfg) : inner_(model), model_(model) {
    for (const auto& spec : cfg.services) by_line_[ready_line(spec.name)] = spec.name;
  }
  rootd::abi::KernelError report(std::string_view text) override {
    look(Snapshot::At::REPORT, text);
    if (const auto it = by_line_.find(std::string(text)); it != by_line_.end()) ready_.insert(it->second);
    return inner_.report(text);
  }
  rootd::abi::KernelError call(std::uint32_t slot, rootd::abi::Message& m, std::uint32_t recv) override {
    look(Snapshot::At::CALL);
    if (slot == rootd::abi::kKernelControlSlot) {
      const auto request = rootd::protocol::decode_kernel_request(m);
      trace.back().teardown = request.ok() && (request.value().op == rootd::abi::KernelOp::MANAGED_STOP ||
                                               request.value().op == rootd::abi::KernelOp::DESTROY_PROCESS);
    }
    return inner_.call(slot, m, recv);
  }
  rootd::abi::KernelError send(std::uint32_t slot, const rootd::abi::Message& m, std::uint64_t badge) override {
    look(Snapshot::At::SEND);
    return inner_.send(slot, m, badge);
  }
  rootd::abi::KernelError wait(std::uint32_t root, rootd::abi::Message& m) override {
    look(Snapshot::At::WAIT);
    return inner_.wait(root, m);
  }
  rootd::abi::KernelError cap(rootd::abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                              std::uint32_t rights) override {
    look(Snapshot::At::CAP);
    return inner_.cap(op, src, space, dst, rights);
  }
  void park() override {
    look(Snapshot::At::PARK);
    inner_.park();
  }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override { return inner_.read_module(vaddr, size); }

  std::vector<Snapshot> trace;

 private:
  void look(Snapshot::At at, std::string_view line = {}) {
    Slots held;
    for (const auto& [slot, cap] : model_.process(sim::kRootdPid)->cspace) held.insert(slot);
    trace.push_back({at, std::string(line), false, ready_, std::move(held)});
  }

  sim::ModelDriver inner_;
  sim::KernelModel& model_;
  std::map<std::string, std::string> by_line_;
  Names ready_;
};

struct Run {
  Schedule schedule;
  std::vector<Snapshot> trace;
  sim::EngineRun run;
  std::uint32_t root_slot = 0;
  std::uint32_t first_free_slot = 0;
  std::size_t leaks = 0;

  Slots own() const {
    return {rootd::abi::kKernelControlSlot, rootd::abi::kSelfCspaceSlot, rootd::abi::kSelfVspaceSlot, root_slot};
  }
  // The boot-time caps of the handoff that `s` holds.
  Slots boot_caps(const Snapshot& s) const {
    Slots out;
    for (std::uint32_t slot : schedule.all()) {
      if (s.held.count(slot) != 0) out.insert(slot);
    }
    return out;
  }
};

Run boot(const sim::SystemConfig& cfg) {
  Run r;
  auto image = sim::build_system_image(cfg);
  REQUIRE(image);
  r.schedule = schedule_of(cfg, image->handoff);
  r.first_free_slot = image->first_free_slot;
  sim::KernelModel model;
  sim::Services services(model);
  for (const auto& s : cfg.services) REQUIRE(services.add(s));
  auto root = model.boot_rootd(image->layout);
  REQUIRE(root);
  r.root_slot = *root;
  Watcher watcher(model, cfg);
  r.run = sim::run_engine<rootd::boot::RuntimeVariant>(rootd::Bytes(image->handoff.data(), image->handoff.size()),
                                                       *root, watcher);
  r.trace = std::move(watcher.trace);
  r.leaks = model.audit().leak_count();
  return r;
}

std::string show(const Slots& s) {
  std::string out = "{";
  for (std::uint32_t v : s) out += " " + std::to_string(v);
  return out + " }";
}

bool is_ready_line(const Snapshot& s) {
  return s.at == Snapshot::At::REPORT && s.line.rfind(std::string(rootd::kServiceReadyPrefix), 0) == 0;
}

// The first action after snapshot `k` that is not a cap operation or a
// report: by then every shed step due at `k` has run.
std::size_t next_kernel_action(const std::vector<Snapshot>& trace, std::size_t k) {
  for (std::size_t n = k + 1; n < trace.size(); ++n) {
    const auto at = trace[n].at;
    if (at == Snapshot::At::CALL || at == Snapshot::At::SEND || at == Snapshot::At::WAIT || at == Snapshot::At::PARK) {
      return n;
    }
  }
  return trace.size();
}

// Every WAIT, and the first launch or wait after each service's READY,
// holds exactly the boot-time caps the schedule says; rootd's other slots
// are its own four and the engine's (per service, at and above
// first_free_slot).
void check_every_stage(const Run& r) {
  std::size_t checked = 0;
  for (std::size_t k = 0; k < r.trace.size(); ++k) {
    const Snapshot& s = r.trace[k];
    if (s.at == Snapshot::At::PARK || s.teardown) break;  // teardown deletes on its own terms
    if (s.at == Snapshot::At::REPORT && s.line.rfind(std::string(rootd::kMarkerPrefix), 0) == 0 &&
        !is_ready_line(s)) {
      break;  // the terminal lines: the final shed or teardown is over
    }
    if (s.at != Snapshot::At::WAIT && !is_ready_line(s)) continue;
    if (is_ready_line(s)) {
      // Nothing shed early: at the READY line, everything due only after
      // it is still there.
      const Slots before = r.schedule.expected(s.ready);
      for (std::uint32_t slot : before) {
        INFO(s.line << ": slot " << slot);
        CHECK(s.held.count(slot) == 1);
      }
      const std::size_t n = next_kernel_action(r.trace, k);
      if (n == r.trace.size() || r.trace[n].at == Snapshot::At::PARK) continue;
      const Snapshot& after = r.trace[n];
      if (after.ready.size() == r.schedule.module_users.size()) continue;  // all READY: the final shed's turn
      INFO("first kernel action after " << s.line);
      CHECK(show(r.boot_caps(after)) == show(r.schedule.expected(after.ready)));
      ++checked;
      continue;
    }
    INFO("WAIT #" << k << " with " << s.ready.size() << " services READY");
    CHECK(show(r.boot_caps(s)) == show(r.schedule.expected(s.ready)));
    for (std::uint32_t slot : s.held) {
      if (r.own().count(slot) != 0 || r.schedule.all().count(slot) != 0) continue;
      INFO("slot " << slot);
      CHECK(slot >= r.first_free_slot);
    }
    ++checked;
  }
  CHECK(checked > 0);
}

// At PARK rootd holds its four caps and nothing else.
void check_parked_with_own_four(const Run& r) {
  REQUIRE(!r.trace.empty());
  REQUIRE(r.trace.back().at == Snapshot::At::PARK);
  CHECK(show(r.trace.back().held) == show(r.own()));
  CHECK(r.leaks == 0);
}

}  // namespace

TEST_CASE("shed schedule: untyped caps go right after deviced's READY, before anything else is launched") {
  const auto cfg = load("runtime.toml");
  const Run r = boot(cfg);
  REQUIRE(r.run.status == Status::READY);
  REQUIRE(r.schedule.deviced);
  REQUIRE(!r.schedule.untyped.empty());
  const std::string line = ready_line(*r.schedule.deviced);
  std::size_t at = r.trace.size();
  for (std::size_t k = 0; k < r.trace.size(); ++k) {
    if (r.trace[k].at == Snapshot::At::REPORT && r.trace[k].line == line) at = k;
  }
  REQUIRE(at < r.trace.size());
  // Held at the handoff of deviced (its READY), gone at rootd's next launch
  // or wait, while services launched after deviced are still to come.
  for (std::uint32_t slot : r.schedule.untyped) CHECK(r.trace[at].held.count(slot) == 1);
  const std::size_t next = next_kernel_action(r.trace, at);
  REQUIRE(next < r.trace.size());
  CHECK(r.trace[next].at != Snapshot::At::PARK);
  CHECK(r.trace[next].ready.size() < cfg.services.size());
  for (std::uint32_t slot : r.schedule.untyped) CHECK(r.trace[next].held.count(slot) == 0);
  // And never again after that.
  for (std::size_t k = next; k < r.trace.size(); ++k) {
    for (std::uint32_t slot : r.schedule.untyped) CHECK(r.trace[k].held.count(slot) == 0);
  }
}

TEST_CASE("shed schedule: every stage of every example's boot holds what section 5 says") {
  for (const char* name : {"phase0.toml", "phase3-framebuffer.toml", "phase3-input.toml", "runtime.toml",
                           "phase4-loader-closure.toml"}) {
    INFO(name);
    const auto cfg = load(name);
    const Run r = boot(cfg);
    REQUIRE(r.run.status == Status::READY);
    check_every_stage(r);
    // After the last launch (the last WAIT, every service launched), the
    // untyped caps are gone when deviced runs, the boot config is still held.
    const auto last_wait = std::find_if(r.trace.rbegin(), r.trace.rend(),
                                        [](const Snapshot& s) { return s.at == Snapshot::At::WAIT; });
    REQUIRE(last_wait != r.trace.rend());
    CHECK(last_wait->held.count(r.schedule.module.at(std::string(rootd::kBootConfigModule))) == 1);
    if (r.schedule.deviced) {
      for (std::uint32_t slot : r.schedule.untyped) CHECK(last_wait->held.count(slot) == 0);
    }
    if (r.schedule.framebuffer) CHECK(last_wait->held.count(*r.schedule.framebuffer) == 0);
    // At READY (the terminal line) and at PARK: the four caps alone.
    const auto ready = std::find_if(r.trace.begin(), r.trace.end(), [](const Snapshot& s) {
      return s.at == Snapshot::At::REPORT && s.line == std::string(rootd::kMarkerPrefix) + "READY";
    });
    REQUIRE(ready != r.trace.end());
    CHECK(show(ready->held) == show(r.own()));
    check_parked_with_own_four(r);
  }
}

// A failure before deviced is READY and one after it: the schedule holds up
// to the failure, and teardown leaves rootd at PARK with its four caps.
TEST_CASE("shed schedule: at PARK after a failure rootd holds its own four caps, before or after deviced's READY") {
  const auto base = load("runtime.toml");
  for (const char* failing : {"logd", "deviced", "drv-serial", "loaderd"}) {
    for (sim::FaultPoint p : {sim::FaultPoint::crash, sim::FaultPoint::not_ready}) {
      INFO(failing << " " << sim::fault_point_name(p));
      auto cfg = base;
      bool found = false;
      for (auto& spec : cfg.services) {
        if (spec.name == failing) {
          spec.faults = 1U << static_cast<unsigned>(p);
          found = true;
        }
      }
      REQUIRE(found);
      const Run r = boot(cfg);
      CHECK(r.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
      CHECK(r.run.failed_service == failing);
      check_every_stage(r);
      check_parked_with_own_four(r);
      // Up to the failure the schedule ran: the untyped caps were shed at
      // deviced's READY, not left for teardown.
      const auto teardown = std::find_if(r.trace.begin(), r.trace.end(), [](const Snapshot& s) { return s.teardown; });
      REQUIRE(teardown != r.trace.end());
      const auto last_wait = std::find_if(std::make_reverse_iterator(teardown), r.trace.rend(),
                                          [](const Snapshot& s) { return s.at == Snapshot::At::WAIT; });
      REQUIRE(last_wait != r.trace.rend());
      const bool deviced_ready = last_wait->ready.count(*r.schedule.deviced) != 0;
      for (std::uint32_t slot : r.schedule.untyped) CHECK((last_wait->held.count(slot) == 1) == !deviced_ready);
    }
  }
}
