// The kernel model and the simulated services: every syscall's success path,
// every error path leaving the model unchanged, the capability rules
// (CAP_COPY denied, attenuation never widens), the services' envelope checks,
// every fault point, the clock, and the audit.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <array>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "driver.hpp"
#include "kernel_model.hpp"
#include "ledger.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/abi.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "rootd/roles.hpp"
#include "services.hpp"

namespace {

namespace abi = rootd::abi;
using abi::KernelError;
using erix::sim::Answer;
using erix::sim::Cap;
using erix::sim::Complaint;
using erix::sim::FaultPoint;
using erix::sim::KernelModel;
using erix::sim::ObjectType;
using erix::sim::Pid;
using erix::sim::ProcessState;
using erix::sim::RootdLayout;
using erix::sim::Services;
using erix::sim::ServiceSpec;
using erix::sim::Tick;
using rootd::EndpointKind;

// ---- the world every test starts from --------------------------------------

// Modules in canonical (name) order with ascending addresses, as a handoff has them.
constexpr std::array<std::string_view, 10> kModules = {
    "boot-config", "deviced", "drv-serial", "logd", "memd", "pagerd", "phase0-probe", "procd", "svc", "vspaced",
};
constexpr std::uint32_t kImageFrameSlot = 8;
constexpr std::uint32_t kFirstModuleSlot = 9;
constexpr std::uint32_t kFirstEndpointSlot = 20;  // + kind
constexpr std::uint32_t kUntypedSlot = 40;
constexpr std::uint32_t kFirstFree = 64;
constexpr std::uint64_t kModuleBase = 0x1000'0000;
constexpr std::uint64_t kModuleSize = 0x1000;

std::uint32_t module_slot(std::string_view name) {
  for (std::size_t i = 0; i < kModules.size(); ++i) {
    if (kModules[i] == name) return kFirstModuleSlot + static_cast<std::uint32_t>(i);
  }
  FAIL("no module " << name);
  return 0;
}
std::uint32_t dedicated_slot(EndpointKind k) { return kFirstEndpointSlot + static_cast<std::uint32_t>(k); }

RootdLayout standard_layout() {
  RootdLayout l;
  l.slot_count = 4096;
  l.first_free_slot = kFirstFree;
  l.image_frame_slot = kImageFrameSlot;
  l.image_frame_size = 0x40000;
  for (std::size_t i = 0; i < kModules.size(); ++i) {
    erix::sim::ModuleImage m;
    m.name = std::string(kModules[i]);
    m.vaddr = kModuleBase + i * kModuleSize;
    m.size = kModuleSize;
    m.frame_slot = kFirstModuleSlot + static_cast<std::uint32_t>(i);
    m.bytes.assign(m.name.begin(), m.name.end());
    l.modules.push_back(std::move(m));
  }
  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    l.endpoints.push_back({static_cast<EndpointKind>(k), dedicated_slot(static_cast<EndpointKind>(k))});
  }
  l.untyped.push_back({0x100000, 0x100000, kUntypedSlot, false});
  return l;
}

abi::Message message(std::uint64_t label, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0) {
  abi::Message m;
  m.label = label;
  m.words[0] = w0;
  m.words[1] = w1;
  m.words[2] = w2;
  return m;
}

std::uint64_t badge_of(std::size_t service) { return abi::kReplyBadgeBase + service; }

// What rootd computes for w5 from its own transfer table, written here
// independently of the services' version.
std::uint64_t fnv1a_of(const std::map<std::uint32_t, std::uint32_t>& slot_rights) {
  std::uint64_t h = 14695981039346656037ULL;
  auto feed = [&h](std::uint64_t v) {
    for (unsigned i = 0; i < 8; ++i) {
      h = (h ^ ((v >> (8 * i)) & 0xFF)) * 1099511628211ULL;
    }
  };
  for (const auto& [slot, rights] : slot_rights) {
    feed(slot);
    feed(rights);
  }
  return h;
}

struct World {
  KernelModel model;
  Services services{model};
  std::uint32_t root = 0;
  std::uint32_t next_free = kFirstFree;
  // rootd's own record of what it copied where: space slot -> (local slot -> rights).
  std::map<std::uint32_t, std::map<std::uint32_t, std::uint32_t>> copied;

  explicit World(bool with_services = true, erix::sim::ModelOptions options = {}) : model(options) {
    if (with_services) {
      for (std::string_view n : kModules) {
        if (n == "boot-config") continue;
        ServiceSpec s;
        s.name = std::string(n);
        s.role = n == "svc" ? "service" : std::string(n);
        REQUIRE(services.add(s).has_value());
      }
    } else {
      model.attach(nullptr);
    }
    auto booted = model.boot_rootd(standard_layout());
    REQUIRE(booted.has_value());
    root = *booted;
  }

  std::uint32_t fresh_slot() { return next_free++; }

  // A kernel-control CALL; returns the reply (rax must be OK).
  abi::Message kernel(abi::KernelOp op, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0) {
    abi::Message m = message(static_cast<std::uint64_t>(op), w0, w1, w2);
    REQUIRE(model.call(abi::kKernelControlSlot, m, abi::kNoSlot) == KernelError::OK);
    return m;
  }
  std::uint64_t kernel_label(abi::KernelOp op, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0) {
    return kernel(op, w0, w1, w2).label;
  }

  KernelError copy(std::uint32_t source, std::uint32_t space, std::uint32_t destination, std::uint32_t rights) {
    const KernelError e =
        model.cap(static_cast<std::uint64_t>(abi::CapOp::COPY_ATTENUATED), source, space, destination, rights);
    if (e == KernelError::OK) copied[space][destination] = rights;
    return e;
  }

  std::uint32_t new_endpoint() {
    const std::uint32_t s = fresh_slot();
    REQUIRE(kernel_label(abi::KernelOp::CREATE_ENDPOINT, s) == abi::kReplyOk);
    return s;
  }

  // Gives the process behind `space` what `role` must hold, with the rights
  // the role table names; the service endpoint comes from `service_ep`.
  void provision(std::uint32_t space, const rootd::Role& role, std::uint32_t service_ep) {
    REQUIRE(copy(service_ep, space, abi::kServiceEndpointLocalSlot, rootd::kServiceEndpointRights) == KernelError::OK);
    if (role.primary.has_value()) {
      REQUIRE(copy(dedicated_slot(*role.primary), space, rootd::endpoint_info(*role.primary).local_slot,
                   rootd::kPrimaryRights) == KernelError::OK);
    }
    for (std::size_t i = 0; i < role.extra_count; ++i) {
      REQUIRE(copy(dedicated_slot(role.extras[i].kind), space, rootd::endpoint_info(role.extras[i].kind).local_slot,
                   role.extras[i].rights) == KernelError::OK);
    }
    if (role.image_frame) {
      REQUIRE(copy(kImageFrameSlot, space, rootd::kImageFrameLocalSlot, rootd::kImageFrameRights) == KernelError::OK);
    }
  }

  abi::Message envelope(const rootd::Role& role, std::uint64_t identity) {
    abi::Message m = message(static_cast<std::uint64_t>(abi::Envelope::DELIVER), identity,
                             rootd::role_index(role.id), rootd::primary_control_slot(role));
    m.words[3] = role.window.first | (std::uint64_t{role.window.first + role.window.count} << 32);
    return m;
  }
  // w4 and w5 from what rootd copied through `space`.
  abi::Message sealed(abi::Message m, std::uint32_t space) {
    m.words[4] = copied[space].size();
    m.words[5] = fnv1a_of(copied[space]);
    return m;
  }

  // The next message on the root endpoint (or `slot`) that is not a STARTED
  // event.
  abi::Message next() { return next_on(root); }
  // The probe's events come on the process-control endpoint.
  abi::Message next_on_process() { return next_on(dedicated_slot(EndpointKind::PROCESS_CONTROL)); }
  abi::Message next_on(std::uint32_t slot) {
    for (;;) {
      abi::Message m;
      REQUIRE(model.wait(slot, m) == KernelError::OK);
      if (m.badge == abi::kEventBadge && m.label == static_cast<std::uint64_t>(abi::Event::STARTED)) continue;
      return m;
    }
  }

  struct Launched {
    Pid pid = 0;
    std::uint32_t process_slot = 0;
    std::uint32_t endpoint_slot = 0;
  };

  // Foundation launch through kernel control, up to (not including) the envelope.
  Launched stage_foundation(std::string_view name, std::uint64_t identity) {
    Launched l;
    l.endpoint_slot = new_endpoint();
    l.process_slot = fresh_slot();
    const abi::Message r =
        kernel(abi::KernelOp::CREATE_STAGED_PROCESS, module_slot(name), l.process_slot, identity);
    REQUIRE(r.label == abi::kReplyOk);
    l.pid = static_cast<Pid>(r.words[0]);
    return l;
  }

  // A full foundation launch: stage, provision, start, deliver; returns the answer.
  Launched launch_foundation(std::string_view name, std::uint64_t identity, std::size_t index) {
    const rootd::Role& role = *rootd::find_role(name);
    Launched l = stage_foundation(name, identity);
    provision(l.process_slot, role, l.endpoint_slot);
    REQUIRE(kernel_label(abi::KernelOp::START_PROCESS, l.process_slot) == abi::kReplyOk);
    REQUIRE(model.send(l.endpoint_slot, sealed(envelope(role, identity), l.process_slot), badge_of(index)) ==
            KernelError::OK);
    return l;
  }

  // procd ready to serve (latency 0 so it answers at once).
  std::uint32_t procd_ready() {
    REQUIRE(services.set_latency("procd", 0).has_value());
    const Launched procd = launch_foundation("procd", 4, 3);
    const abi::Message answer = next();
    REQUIRE(answer.label == static_cast<std::uint64_t>(abi::Envelope::READY));
    return procd.endpoint_slot;
  }

  // Launch through procd up to the envelope; returns the pid and the grant slot.
  Launched launch_via_procd(std::uint32_t procd_ep, std::string_view name, std::uint64_t identity,
                            std::size_t index) {
    const rootd::Role& role = *rootd::find_role(name == "svc" ? "service" : name);
    Launched l;
    l.endpoint_slot = new_endpoint();
    l.process_slot = fresh_slot();  // the install grant lands here
    abi::Message create = message(static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), identity);
    create.cap = module_slot(name);
    REQUIRE(model.call(procd_ep, create, l.process_slot) == KernelError::OK);
    REQUIRE(create.label == abi::kReplyOk);
    REQUIRE(create.cap == l.process_slot);
    l.pid = static_cast<Pid>(create.words[0]);
    provision(l.process_slot, role, l.endpoint_slot);
    abi::Message start = message(static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS), l.pid);
    REQUIRE(model.call(procd_ep, start, abi::kNoSlot) == KernelError::OK);
    REQUIRE(start.label == abi::kReplyOk);
    REQUIRE(model.send(l.endpoint_slot, sealed(envelope(role, identity), l.process_slot), badge_of(index)) ==
            KernelError::OK);
    return l;
  }

  // The probe through procd: staged by SPAWN_PROBE with a grant, provisioned
  // as its role needs (no peer caps), started, and given its envelope.
  Launched spawn_probe(std::uint32_t procd_ep, std::uint64_t identity, std::size_t index) {
    const rootd::Role& role = *rootd::find_role("phase0-probe");
    Launched l;
    l.endpoint_slot = new_endpoint();
    l.process_slot = fresh_slot();
    abi::Message spawn = message(static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE), identity);
    spawn.cap = module_slot("phase0-probe");
    REQUIRE(model.call(procd_ep, spawn, l.process_slot) == KernelError::OK);
    REQUIRE(spawn.label == abi::kReplyOk);
    REQUIRE(spawn.cap == l.process_slot);
    l.pid = static_cast<Pid>(spawn.words[0]);
    REQUIRE(model.process(l.pid)->state == ProcessState::staged);
    provision(l.process_slot, role, l.endpoint_slot);
    abi::Message start = message(static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS), l.pid);
    REQUIRE(model.call(procd_ep, start, abi::kNoSlot) == KernelError::OK);
    REQUIRE(start.label == abi::kReplyOk);
    REQUIRE(model.send(l.endpoint_slot, sealed(envelope(role, identity), l.process_slot), badge_of(index)) ==
            KernelError::OK);
    return l;
  }

  // A driver through deviced: START_DRIVER with its envelope (service
  // endpoint and primary), then each cap staged in deviced through
  // `deviced_grant` and populated by deviced. Returns the driver's pid and
  // the reply label of the last POPULATE_DRIVER.
  std::pair<Pid, std::uint64_t> start_driver(std::uint32_t deviced_ep, std::uint32_t deviced_grant,
                                             const rootd::Role& role, std::uint64_t identity,
                                             std::uint32_t service_ep) {
    std::vector<std::array<std::uint32_t, 3>> rows;  // source, local, rights
    rows.push_back({service_ep, abi::kServiceEndpointLocalSlot, rootd::kServiceEndpointRights});
    if (role.primary.has_value()) {
      rows.push_back({dedicated_slot(*role.primary), rootd::endpoint_info(*role.primary).local_slot, rootd::kPrimaryRights});
    }
    std::map<std::uint32_t, std::uint32_t> envelope_rows;
    for (const auto& r : rows) envelope_rows[r[1]] = r[2];
    abi::Message start = message(static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER), identity, rows.size(),
                                 fnv1a_of(envelope_rows));
    start.cap = module_slot(role.name);
    REQUIRE(model.call(deviced_ep, start, abi::kNoSlot) == KernelError::OK);
    REQUIRE(start.label == abi::kReplyOk);
    REQUIRE(start.cap == abi::kNoSlot);
    const Pid pid = static_cast<Pid>(start.words[0]);
    std::uint64_t last = abi::kReplyOk;
    for (const auto& r : rows) {
      REQUIRE(model.cap(static_cast<std::uint64_t>(abi::CapOp::COPY_ATTENUATED), r[0], deviced_grant,
                        rootd::kPopulateStagingSlot, r[2]) == KernelError::OK);
      abi::Message populate = rootd::protocol::encode(
          rootd::protocol::PopulateRequest{pid, rootd::kPopulateStagingSlot, r[1], r[2]},
          static_cast<std::uint64_t>(abi::DevicedOp::POPULATE_DRIVER));
      REQUIRE(model.call(deviced_ep, populate, abi::kNoSlot) == KernelError::OK);
      last = populate.label;
    }
    copied[0xD0000000U + pid] = envelope_rows;
    return {pid, last};
  }
};

// Runs `f` and checks it failed with `expected` and changed nothing.
template <class F>
void unchanged_after(World& w, KernelError expected, F&& f) {
  const std::string before = w.model.state_dump();
  const std::size_t errors = w.model.errors().size();
  CHECK(f() == expected);
  CHECK(w.model.state_dump() == before);
  CHECK(w.model.errors().size() == errors + 1);
}

// Runs a kernel-control CALL and checks its reply label and that nothing changed.
void op_fails(World& w, KernelError expected, abi::KernelOp op, std::uint64_t w0 = 0, std::uint64_t w1 = 0,
              std::uint64_t w2 = 0, std::uint64_t w3 = 0) {
  const std::string before = w.model.state_dump();
  abi::Message m = message(static_cast<std::uint64_t>(op), w0, w1, w2);
  m.words[3] = w3;
  REQUIRE(w.model.call(abi::kKernelControlSlot, m, abi::kNoSlot) == KernelError::OK);
  CHECK(m.label == static_cast<std::uint64_t>(expected));
  CHECK(m.words[0] == 0);
  CHECK(w.model.state_dump() == before);
}

}  // namespace

// ---- rootd at entry ---------------------------------------------------------------

TEST_CASE("rootd's cspace at entry holds the fixed slots and the whole handoff inventory") {
  World w(false);
  const auto* rootd = w.model.process(erix::sim::kRootdPid);
  REQUIRE(rootd != nullptr);
  CHECK(rootd->state == ProcessState::running);
  CHECK(rootd->cap_at(abi::kNullSlot) == nullptr);
  REQUIRE(rootd->cap_at(abi::kKernelControlSlot) != nullptr);
  CHECK(rootd->cap_at(abi::kKernelControlSlot)->type == ObjectType::kernel_control);
  CHECK(rootd->cap_at(abi::kSelfCspaceSlot)->type == ObjectType::cspace);
  CHECK(rootd->cap_at(abi::kSelfVspaceSlot)->type == ObjectType::vspace);
  CHECK(rootd->cap_at(rootd::kLegacySlot) == nullptr);
  CHECK(w.root == rootd::kLegacySlot + 1);
  const Cap* root = rootd->cap_at(w.root);
  REQUIRE(root != nullptr);
  CHECK(w.model.endpoint(root->object)->root);
  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    const Cap* c = rootd->cap_at(dedicated_slot(static_cast<EndpointKind>(k)));
    REQUIRE(c != nullptr);
    CHECK(c->type == ObjectType::endpoint);
    CHECK(w.model.endpoint(c->object)->dedicated == static_cast<EndpointKind>(k));
  }
  for (std::string_view n : kModules) {
    const Cap* c = rootd->cap_at(module_slot(n));
    REQUIRE(c != nullptr);
    CHECK(w.model.frame(c->object)->module == n);
  }
  CHECK(w.model.frame(rootd->cap_at(kImageFrameSlot)->object)->boot_image);
  CHECK(rootd->cap_at(kUntypedSlot)->type == ObjectType::untyped);
  CHECK(rootd->cspace.size() == 4 + rootd::kEndpointKindCount + kModules.size() + 2);
}

TEST_CASE("the legacy slot 4 is populated only on request, and impossible layouts are refused") {
  KernelModel model;
  RootdLayout l = standard_layout();
  l.populate_legacy_slot = true;
  REQUIRE(model.boot_rootd(l).has_value());
  const Cap* legacy = model.process(erix::sim::kRootdPid)->cap_at(rootd::kLegacySlot);
  REQUIRE(legacy != nullptr);
  CHECK(legacy->type == ObjectType::endpoint);
  CHECK_FALSE(model.boot_rootd(l).has_value());  // only once

  auto refused = [](RootdLayout bad) {
    KernelModel m;
    return !m.boot_rootd(bad).has_value() && m.processes().empty();
  };
  RootdLayout on_fixed = standard_layout();
  on_fixed.modules[0].frame_slot = abi::kKernelControlSlot;
  CHECK(refused(on_fixed));
  RootdLayout twice = standard_layout();
  twice.untyped[0].slot = kImageFrameSlot;
  CHECK(refused(twice));
  RootdLayout beyond = standard_layout();
  beyond.untyped[0].slot = beyond.slot_count;
  CHECK(refused(beyond));
  RootdLayout root_high = standard_layout();
  root_high.root_endpoint_slot = kFirstFree;
  CHECK(refused(root_high));
}

TEST_CASE("layout_from_handoff reads every descriptor of a parsed handoff") {
  namespace h = rootd::handoff;
  std::vector<char> blob(4096);
  h::Builder b(rootd::MutableBytes(blob.data(), blob.size()));
  b.cspace({4096, kFirstFree}).image_frame({kImageFrameSlot, 0x40000});
  for (std::size_t i = 0; i < kModules.size(); ++i) {
    b.module({kModules[i], kModuleBase + i * kModuleSize, kModuleSize, kFirstModuleSlot + static_cast<std::uint32_t>(i)});
  }
  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    b.endpoint({static_cast<EndpointKind>(k), dedicated_slot(static_cast<EndpointKind>(k))});
  }
  b.untyped({0x100000, 0x100000, kUntypedSlot, false});
  const auto size = b.finish();
  REQUIRE(size.ok());
  const auto view = h::parse(rootd::Bytes(blob.data(), *size));
  REQUIRE(view.ok());
  std::map<std::string, std::vector<char>, std::less<>> bytes{{"boot-config", {'c', 'f', 'g'}}};
  const RootdLayout l = erix::sim::layout_from_handoff(*view, bytes);
  CHECK(l.slot_count == 4096);
  CHECK(l.first_free_slot == kFirstFree);
  CHECK(l.image_frame_slot == kImageFrameSlot);
  REQUIRE(l.modules.size() == kModules.size());
  CHECK(l.modules[0].bytes == std::vector<char>{'c', 'f', 'g'});
  CHECK(l.modules[1].bytes.empty());
  CHECK(l.endpoints.size() == rootd::kEndpointKindCount);
  REQUIRE(l.untyped.size() == 1);
  CHECK(l.untyped[0].slot == kUntypedSlot);

  KernelModel model;
  REQUIRE(model.boot_rootd(l).has_value());
  const rootd::Bytes cfg = model.read_module(kModuleBase, 3);
  CHECK(std::string(cfg.data(), cfg.size()) == "cfg");
  CHECK(model.read_module(kModuleBase, 4).empty());           // past the known bytes
  CHECK(model.read_module(kModuleBase + kModuleSize, 1).empty());  // module without bytes
  CHECK(model.read_module(kModuleBase - 1, 1).empty());
}

// ---- REPORT, PARK ----------------------------------------------------------------

TEST_CASE("REPORT takes one printable line and refuses anything else unchanged") {
  World w(false);
  CHECK(w.model.report("ERIX_ROOTD:READY") == KernelError::OK);
  REQUIRE(w.model.reports().size() == 1);
  CHECK(w.model.reports()[0].text == "ERIX_ROOTD:READY");
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.model.report(""); });
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.model.report("two\nlines"); });
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.model.report(std::string(1, '\0')); });
  unchanged_after(w, KernelError::INVALID_ARGUMENT,
                  [&] { return w.model.report(std::string(erix::sim::kMaxReportLength + 1, 'x')); });
  CHECK(w.model.report(std::string(erix::sim::kMaxReportLength, 'x')) == KernelError::OK);
  CHECK(w.model.calls_of(abi::Syscall::REPORT) == 6);
  CHECK(w.model.kernel_calls() == 6);
}

TEST_CASE("after PARK every call is denied and changes nothing") {
  World w(false);
  w.model.park();
  CHECK(w.model.parked());
  abi::Message m = message(static_cast<std::uint64_t>(abi::KernelOp::CREATE_ENDPOINT), w.fresh_slot());
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.report("late"); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.call(abi::kKernelControlSlot, m, abi::kNoSlot); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.wait(w.root, m); });
  CHECK(w.model.kernel_calls() == 4);
}

// ---- CAP ------------------------------------------------------------------------------

TEST_CASE("CAP_COPY (8) is denied for every source, destination and rights mask") {
  World w(false);
  const std::string before = w.model.state_dump();
  const std::uint32_t free_slot = w.fresh_slot();
  for (std::uint32_t source : {abi::kKernelControlSlot, kImageFrameSlot, dedicated_slot(EndpointKind::MEMORY),
                               kUntypedSlot, w.root, 63U, 5000U}) {
    for (std::uint32_t rights = 0; rights <= 0x40; ++rights) {
      CHECK(w.model.cap(static_cast<std::uint64_t>(abi::CapOp::COPY), source, abi::kSelfCspaceSlot, free_slot,
                        rights) == KernelError::DENIED);
    }
  }
  CHECK(w.model.state_dump() == before);
}

TEST_CASE("an attenuated copy has exactly the requested rights and never more than its source") {
  World w(false);
  const std::uint32_t ep = w.new_endpoint();  // SEND|RECEIVE|GRANT
  // Sources with every subset of the endpoint's rights that keeps GRANT.
  for (std::uint32_t source_rights = 1; source_rights <= abi::kAllRights; ++source_rights) {
    if ((source_rights & ~erix::sim::kEndpointRights) != 0 || (source_rights & abi::RIGHT_GRANT) == 0) continue;
    const std::uint32_t source = w.fresh_slot();
    REQUIRE(w.copy(ep, abi::kSelfCspaceSlot, source, source_rights) == KernelError::OK);
    for (std::uint32_t mask = 1; mask <= abi::kAllRights; ++mask) {
      INFO("source " << source_rights << " mask " << mask);
      const std::uint32_t dst = w.next_free;
      const std::string before = w.model.state_dump();
      const KernelError e = w.copy(source, abi::kSelfCspaceSlot, dst, mask);
      if ((mask & ~source_rights) == 0) {
        REQUIRE(e == KernelError::OK);
        const Cap* copy = w.model.process(erix::sim::kRootdPid)->cap_at(dst);
        REQUIRE(copy != nullptr);
        CHECK(copy->rights == mask);
        CHECK((copy->rights & ~source_rights) == 0);
        REQUIRE(w.model.cap(static_cast<std::uint64_t>(abi::CapOp::DELETE), dst, 0, 0, 0) == KernelError::OK);
      } else {
        CHECK(e == KernelError::DENIED);
        CHECK(w.model.state_dump() == before);
      }
    }
  }
  // A copy without GRANT cannot be copied again, whatever the mask.
  const std::uint32_t no_grant = w.fresh_slot();
  REQUIRE(w.copy(ep, abi::kSelfCspaceSlot, no_grant, abi::RIGHT_SEND) == KernelError::OK);
  const std::uint32_t dst = w.fresh_slot();
  unchanged_after(w, KernelError::DENIED, [&] { return w.copy(no_grant, abi::kSelfCspaceSlot, dst, abi::RIGHT_SEND); });
}

TEST_CASE("COPY_ATTENUATED: each argument error has its own KernelError and changes nothing") {
  World w;
  const std::uint32_t ep = w.new_endpoint();
  const std::uint32_t dst = w.fresh_slot();
  const std::uint32_t occupied = kImageFrameSlot;
  SECTION("source") {
    unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.copy(w.next_free + 1, abi::kSelfCspaceSlot, dst, 1); });
    unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.copy(abi::kNullSlot, abi::kSelfCspaceSlot, dst, 1); });
    unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.copy(1U << 20, abi::kSelfCspaceSlot, dst, 1); });
    unchanged_after(w, KernelError::DENIED,  // kernel control carries no GRANT
                    [&] { return w.copy(abi::kKernelControlSlot, abi::kSelfCspaceSlot, dst, abi::RIGHT_SEND); });
  }
  SECTION("space") {
    unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.copy(ep, w.next_free + 1, 1, 1); });
    unchanged_after(w, KernelError::DENIED, [&] { return w.copy(ep, kImageFrameSlot, 1, 1); });
    unchanged_after(w, KernelError::DENIED, [&] { return w.copy(ep, ep, 1, 1); });
  }
  SECTION("destination") {
    unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.copy(ep, abi::kSelfCspaceSlot, occupied, 1); });
    unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.copy(ep, abi::kSelfCspaceSlot, abi::kNullSlot, 1); });
    unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.copy(ep, abi::kSelfCspaceSlot, 4096, 1); });
  }
  SECTION("rights") {
    unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.copy(ep, abi::kSelfCspaceSlot, dst, 0); });
    unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.copy(ep, abi::kSelfCspaceSlot, dst, 0x40); });
    unchanged_after(w, KernelError::DENIED,
                    [&] { return w.copy(ep, abi::kSelfCspaceSlot, dst, abi::RIGHT_SEND | abi::RIGHT_WRITE); });
  }
  SECTION("unknown operations") {
    for (std::uint64_t op : {0ULL, 7ULL, 11ULL, 0xFFFFULL}) {
      unchanged_after(w, KernelError::UNKNOWN_OPERATION,
                      [&] { return w.model.cap(op, ep, abi::kSelfCspaceSlot, dst, abi::RIGHT_SEND); });
    }
  }
  SECTION("a destroyed or ended target") {
    const World::Launched memd = w.launch_foundation("memd", 1, 0);
    REQUIRE(w.kernel_label(abi::KernelOp::MANAGED_STOP, memd.pid) == abi::kReplyOk);
    unchanged_after(w, KernelError::DENIED, [&] { return w.copy(ep, memd.process_slot, 100, abi::RIGHT_SEND); });
    REQUIRE(w.kernel_label(abi::KernelOp::DESTROY_PROCESS, memd.pid) == abi::kReplyOk);
    unchanged_after(w, KernelError::PEER_GONE, [&] { return w.copy(ep, memd.process_slot, 100, abi::RIGHT_SEND); });
  }
}

TEST_CASE("DELETE empties one of rootd's slots; anything else is refused unchanged") {
  World w(false);
  const std::uint32_t ep = w.new_endpoint();
  const auto del = [&](std::uint64_t slot, std::uint64_t a = 0, std::uint64_t b = 0, std::uint64_t c = 0) {
    return w.model.cap(static_cast<std::uint64_t>(abi::CapOp::DELETE), slot, a, b, c);
  };
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return del(ep, abi::kSelfCspaceSlot); });
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return del(ep, 0, 1); });
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return del(ep, 0, 0, abi::RIGHT_SEND); });
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return del(w.next_free); });
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return del(abi::kNullSlot); });
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return del(99999); });
  CHECK(del(ep) == KernelError::OK);
  CHECK(w.model.process(erix::sim::kRootdPid)->cap_at(ep) == nullptr);
  CHECK(del(abi::kKernelControlSlot) == KernelError::OK);  // shedding kernel authority is allowed
  CHECK(w.model.process(erix::sim::kRootdPid)->cap_at(abi::kKernelControlSlot) == nullptr);
}

// ---- CALL, SEND, WAIT --------------------------------------------------------------

TEST_CASE("CALL: slot, right, receive slot and message errors change nothing") {
  World w;
  abi::Message m = message(static_cast<std::uint64_t>(abi::KernelOp::CREATE_ENDPOINT), w.fresh_slot());
  const std::uint32_t recv_only = w.fresh_slot();
  REQUIRE(w.copy(dedicated_slot(EndpointKind::MEMORY), abi::kSelfCspaceSlot, recv_only,
                 abi::RIGHT_RECEIVE | abi::RIGHT_GRANT) == KernelError::OK);
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.model.call(w.next_free, m, abi::kNoSlot); });
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.model.call(1ULL << 40, m, abi::kNoSlot); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.call(kImageFrameSlot, m, abi::kNoSlot); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.call(recv_only, m, abi::kNoSlot); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.call(w.root, m, abi::kNoSlot); });
  unchanged_after(w, KernelError::INVALID_SLOT,
                  [&] { return w.model.call(abi::kKernelControlSlot, m, kImageFrameSlot); });
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.model.call(abi::kKernelControlSlot, m, 0); });
  abi::Message reserved = m;
  reserved.reserved = 1;
  unchanged_after(w, KernelError::INVALID_ARGUMENT,
                  [&] { return w.model.call(abi::kKernelControlSlot, reserved, abi::kNoSlot); });
  abi::Message carries = m;
  carries.cap = kImageFrameSlot;
  unchanged_after(w, KernelError::INVALID_ARGUMENT,
                  [&] { return w.model.call(abi::kKernelControlSlot, carries, abi::kNoSlot); });
  carries.cap = w.next_free;
  unchanged_after(w, KernelError::INVALID_SLOT,
                  [&] { return w.model.call(abi::kKernelControlSlot, carries, abi::kNoSlot); });
  carries.cap = abi::kKernelControlSlot;  // no GRANT
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.call(abi::kKernelControlSlot, carries, abi::kNoSlot); });
  // An endpoint nobody receives on.
  const std::uint32_t lonely = w.new_endpoint();
  abi::Message hello = message(1);
  unchanged_after(w, KernelError::PEER_GONE, [&] { return w.model.call(lonely, hello, abi::kNoSlot); });
  CHECK_FALSE(w.model.hung());
}

TEST_CASE("a CALL whose receiver is staged would block forever: the model says hung") {
  World w;
  const World::Launched memd = w.stage_foundation("memd", 1);
  REQUIRE(w.copy(memd.endpoint_slot, memd.process_slot, 1, erix::sim::kEndpointRights) == KernelError::OK);
  abi::Message m = message(1);
  CHECK(w.model.call(memd.endpoint_slot, m, abi::kNoSlot) == KernelError::PEER_GONE);
  CHECK(w.model.hung());
}

TEST_CASE("SEND: errors change nothing; a message to a staged receiver waits for its start") {
  World w;
  const World::Launched memd = w.stage_foundation("memd", 1);
  const rootd::Role& role = *rootd::find_role("memd");
  abi::Message env = w.envelope(role, 1);
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.model.send(w.next_free, env, badge_of(0)); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.send(abi::kKernelControlSlot, env, badge_of(0)); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.send(memd.process_slot, env, badge_of(0)); });
  unchanged_after(w, KernelError::PEER_GONE, [&] { return w.model.send(memd.endpoint_slot, env, badge_of(0)); });
  w.provision(memd.process_slot, role, memd.endpoint_slot);
  env = w.sealed(env, memd.process_slot);
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.model.send(memd.endpoint_slot, env, 0); });
  unchanged_after(w, KernelError::INVALID_ARGUMENT,
                  [&] { return w.model.send(memd.endpoint_slot, env, abi::kEventBadge); });
  abi::Message bad = env;
  bad.reserved = 7;
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.model.send(memd.endpoint_slot, bad, badge_of(0)); });

  REQUIRE(w.model.send(memd.endpoint_slot, env, badge_of(0)) == KernelError::OK);  // held: memd is staged
  CHECK(w.model.pending_actions() == 0);
  REQUIRE(w.kernel_label(abi::KernelOp::START_PROCESS, memd.process_slot) == abi::kReplyOk);
  abi::Message started;
  REQUIRE(w.model.wait(w.root, started) == KernelError::OK);
  CHECK(started.label == static_cast<std::uint64_t>(abi::Event::STARTED));
  CHECK(started.badge == abi::kEventBadge);
  CHECK(started.words[0] == memd.pid);
  const abi::Message answer = w.next();
  CHECK(answer.label == static_cast<std::uint64_t>(abi::Envelope::READY));
  CHECK(answer.badge == badge_of(0));
  CHECK(w.model.now() == erix::sim::kDefaultLatency);
}

TEST_CASE("WAIT: slot errors change nothing; waiting with nothing in flight is a hang") {
  World w(false);
  abi::Message m;
  const std::uint32_t ep = w.new_endpoint();
  unchanged_after(w, KernelError::INVALID_SLOT, [&] { return w.model.wait(w.next_free, m); });
  unchanged_after(w, KernelError::DENIED, [&] { return w.model.wait(abi::kKernelControlSlot, m); });
  unchanged_after(w, KernelError::INVALID_ARGUMENT, [&] { return w.model.wait(ep, m); });
  CHECK_FALSE(w.model.hung());
  CHECK(w.model.wait(w.root, m) == KernelError::PEER_GONE);
  CHECK(w.model.hung());
}

// ---- kernel control -------------------------------------------------------------------

TEST_CASE("kernel control: each operation succeeds, and each error replies its code and changes nothing") {
  World w;
  using Op = abi::KernelOp;
  const std::uint32_t free_slot = w.fresh_slot();
  SECTION("CREATE_ENDPOINT") {
    op_fails(w, KernelError::INVALID_SLOT, Op::CREATE_ENDPOINT, kImageFrameSlot);
    op_fails(w, KernelError::INVALID_SLOT, Op::CREATE_ENDPOINT, 0);
    op_fails(w, KernelError::INVALID_SLOT, Op::CREATE_ENDPOINT, 4096);
    op_fails(w, KernelError::INVALID_ARGUMENT, Op::CREATE_ENDPOINT, free_slot, 1);
    CHECK(w.kernel_label(Op::CREATE_ENDPOINT, free_slot) == abi::kReplyOk);
    const Cap* c = w.model.process(erix::sim::kRootdPid)->cap_at(free_slot);
    REQUIRE(c != nullptr);
    CHECK(c->type == ObjectType::endpoint);
    CHECK(c->rights == erix::sim::kEndpointRights);
  }
  SECTION("unknown operation") { op_fails(w, KernelError::UNKNOWN_OPERATION, static_cast<Op>(0x17), free_slot); }
  SECTION("CREATE_STAGED_PROCESS") {
    const std::uint32_t image = module_slot("memd");
    op_fails(w, KernelError::INVALID_SLOT, Op::CREATE_STAGED_PROCESS, w.next_free, free_slot, 1);
    op_fails(w, KernelError::DENIED, Op::CREATE_STAGED_PROCESS, kUntypedSlot, free_slot, 1);
    op_fails(w, KernelError::INVALID_SLOT, Op::CREATE_STAGED_PROCESS, image, kImageFrameSlot, 1);
    op_fails(w, KernelError::INVALID_ARGUMENT, Op::CREATE_STAGED_PROCESS, image, free_slot, 1, 9);
    const abi::Message r = w.kernel(Op::CREATE_STAGED_PROCESS, image, free_slot, 77);
    REQUIRE(r.label == abi::kReplyOk);
    const auto* p = w.model.process(static_cast<Pid>(r.words[0]));
    REQUIRE(p != nullptr);
    CHECK(p->state == ProcessState::staged);
    CHECK(p->identity == 77);
    CHECK(p->name == "memd");
    CHECK(w.model.process(erix::sim::kRootdPid)->cap_at(free_slot)->type == ObjectType::process);
  }
  SECTION("REGISTER_PAGER, MAP_FRAME, START_PROCESS") {
    const World::Launched memd = w.stage_foundation("memd", 1);
    const std::uint32_t pager = dedicated_slot(EndpointKind::PAGER);
    op_fails(w, KernelError::INVALID_SLOT, Op::REGISTER_PAGER, w.next_free, pager);
    op_fails(w, KernelError::DENIED, Op::REGISTER_PAGER, pager, pager);
    op_fails(w, KernelError::INVALID_SLOT, Op::REGISTER_PAGER, memd.process_slot, w.next_free);
    op_fails(w, KernelError::DENIED, Op::REGISTER_PAGER, memd.process_slot, kImageFrameSlot);
    op_fails(w, KernelError::INVALID_ARGUMENT, Op::REGISTER_PAGER, memd.process_slot, pager, 1);
    CHECK(w.kernel_label(Op::REGISTER_PAGER, memd.process_slot, pager) == abi::kReplyOk);
    op_fails(w, KernelError::DENIED, Op::REGISTER_PAGER, memd.process_slot, pager);  // only once

    op_fails(w, KernelError::DENIED, Op::MAP_FRAME, memd.process_slot, pager);
    op_fails(w, KernelError::INVALID_SLOT, Op::MAP_FRAME, memd.process_slot, w.next_free);
    CHECK(w.kernel_label(Op::MAP_FRAME, memd.process_slot, module_slot("memd")) == abi::kReplyOk);
    op_fails(w, KernelError::DENIED, Op::MAP_FRAME, memd.process_slot, module_slot("memd"));  // mapped already

    op_fails(w, KernelError::INVALID_SLOT, Op::START_PROCESS, w.next_free);
    op_fails(w, KernelError::DENIED, Op::START_PROCESS, kImageFrameSlot);
    op_fails(w, KernelError::INVALID_ARGUMENT, Op::START_PROCESS, memd.process_slot, 5);
    CHECK(w.kernel_label(Op::START_PROCESS, memd.process_slot) == abi::kReplyOk);
    CHECK(w.model.process(memd.pid)->state == ProcessState::running);
    op_fails(w, KernelError::DENIED, Op::START_PROCESS, memd.process_slot);
    op_fails(w, KernelError::DENIED, Op::MAP_FRAME, memd.process_slot, kImageFrameSlot);  // not staged
    op_fails(w, KernelError::DENIED, Op::REGISTER_PAGER, memd.process_slot, dedicated_slot(EndpointKind::MEMORY));
    CHECK(w.model.process(memd.pid)->pager.has_value());
  }
  SECTION("MANAGED_STOP and DESTROY_PROCESS") {
    const World::Launched memd = w.launch_foundation("memd", 1, 0);
    const World::Launched staged = w.stage_foundation("vspaced", 2);
    op_fails(w, KernelError::INVALID_ARGUMENT, Op::MANAGED_STOP, 999);
    op_fails(w, KernelError::INVALID_ARGUMENT, Op::MANAGED_STOP, 0);
    op_fails(w, KernelError::DENIED, Op::MANAGED_STOP, erix::sim::kRootdPid);
    op_fails(w, KernelError::DENIED, Op::MANAGED_STOP, staged.pid);
    op_fails(w, KernelError::DENIED, Op::DESTROY_PROCESS, memd.pid);  // still running
    op_fails(w, KernelError::DENIED, Op::DESTROY_PROCESS, erix::sim::kRootdPid);
    op_fails(w, KernelError::INVALID_ARGUMENT, Op::DESTROY_PROCESS, memd.pid, 1);

    CHECK(w.kernel_label(Op::MANAGED_STOP, memd.pid) == abi::kReplyOk);
    CHECK(w.model.process(memd.pid)->state == ProcessState::stopped);
    op_fails(w, KernelError::DENIED, Op::MANAGED_STOP, memd.pid);
    const abi::Message exited = w.next();
    CHECK(exited.label == static_cast<std::uint64_t>(abi::Event::EXITED));
    CHECK(exited.badge == abi::kEventBadge);
    CHECK(exited.words[0] == memd.pid);
    CHECK(exited.words[1] == erix::sim::kExitClean);

    CHECK(w.kernel_label(Op::DESTROY_PROCESS, memd.pid) == abi::kReplyOk);
    CHECK(w.model.process(memd.pid)->state == ProcessState::destroyed);
    CHECK(w.model.process(memd.pid)->cspace.empty());
    op_fails(w, KernelError::PEER_GONE, Op::DESTROY_PROCESS, memd.pid);
    op_fails(w, KernelError::PEER_GONE, Op::MANAGED_STOP, memd.pid);
    op_fails(w, KernelError::PEER_GONE, Op::START_PROCESS, memd.process_slot);
    op_fails(w, KernelError::PEER_GONE, Op::MAP_FRAME, memd.process_slot, kImageFrameSlot);
    CHECK(w.kernel_label(Op::DESTROY_PROCESS, staged.pid) == abi::kReplyOk);  // never started
    // The endpoint memd received on has no receiver any more.
    unchanged_after(w, KernelError::PEER_GONE,
                    [&] { return w.model.send(memd.endpoint_slot, message(1), badge_of(0)); });
  }
}

// ---- services ------------------------------------------------------------------------

TEST_CASE("a foundation service with everything its role needs answers READY after its latency") {
  World w;
  for (std::string_view name : {"memd", "vspaced", "pagerd", "procd"}) {
    INFO(name);
    const std::size_t index = static_cast<std::size_t>(rootd::find_role(name)->foundation_rank);
    const Tick before = w.model.now();
    const World::Launched l = w.launch_foundation(name, 100 + index, index);
    const abi::Message answer = w.next();
    CHECK(answer.label == static_cast<std::uint64_t>(abi::Envelope::READY));
    CHECK(answer.badge == badge_of(index));
    CHECK(w.model.now() == before + erix::sim::kDefaultLatency);
    const auto* rec = w.services.find(name);
    REQUIRE(rec != nullptr);
    CHECK(rec->pid == l.pid);
    CHECK(rec->answer == Answer::ready);
  }
  CHECK(w.model.kernel_ops_of(abi::KernelOp::START_PROCESS) == 4);
}

namespace {

// Launches `name` through kernel control with `tamper` applied between
// provisioning and the envelope; returns the service's answer.
template <class Tamper>
abi::Message foundation_answer(World& w, std::string_view name, Tamper&& tamper,
                               void (*after_seal)(abi::Message&) = nullptr) {
  const rootd::Role& role = *rootd::find_role(name);
  World::Launched l = w.stage_foundation(name, 7);
  abi::Message env = w.envelope(role, 7);
  tamper(l, env);
  env = w.sealed(env, l.process_slot);
  if (after_seal != nullptr) after_seal(env);
  REQUIRE(w.kernel_label(abi::KernelOp::START_PROCESS, l.process_slot) == abi::kReplyOk);
  REQUIRE(w.model.send(l.endpoint_slot, env, badge_of(0)) == KernelError::OK);
  return w.next();
}

void expect_not_ready(const abi::Message& m, Complaint c) {
  CHECK(m.label == static_cast<std::uint64_t>(abi::Envelope::NOT_READY));
  CHECK(m.words[0] == static_cast<std::uint64_t>(c));
}
}  // namespace

TEST_CASE("a service whose cspace lacks or misplaces what its role needs answers NOT_READY") {
  World w;
  const rootd::Role& pagerd = *rootd::find_role("pagerd");
  const auto copy = [&](std::uint32_t src, std::uint32_t space, std::uint32_t dst, std::uint32_t rights) {
    REQUIRE(w.copy(src, space, dst, rights) == KernelError::OK);
  };
  const std::uint32_t pager_local = rootd::endpoint_info(EndpointKind::PAGER).local_slot;

  SECTION("everything in place") {
    CHECK(foundation_answer(w, "pagerd", [&](World::Launched& l, abi::Message&) {
            w.provision(l.process_slot, pagerd, l.endpoint_slot);
          }).label == static_cast<std::uint64_t>(abi::Envelope::READY));
  }
  SECTION("no service endpoint") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message&) {
                                         copy(dedicated_slot(EndpointKind::PAGER), l.process_slot, pager_local,
                                              rootd::kPrimaryRights);
                                         copy(kImageFrameSlot, l.process_slot, rootd::kImageFrameLocalSlot,
                                              rootd::kImageFrameRights);
                                         // the envelope still needs a receiver: give it at another slot
                                         copy(l.endpoint_slot, l.process_slot, 2048, erix::sim::kEndpointRights);
                                       }),
                     Complaint::service_endpoint_missing);
  }
  SECTION("service endpoint without RECEIVE") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message&) {
                                         copy(l.endpoint_slot, l.process_slot, 1, abi::RIGHT_SEND);
                                         copy(l.endpoint_slot, l.process_slot, 2048, erix::sim::kEndpointRights);
                                       }),
                     Complaint::service_endpoint_wrong);
  }
  SECTION("primary missing") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message&) {
                                         copy(l.endpoint_slot, l.process_slot, 1, rootd::kServiceEndpointRights);
                                       }),
                     Complaint::primary_missing);
  }
  SECTION("primary of the wrong kind at the primary's slot") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message&) {
                                         copy(l.endpoint_slot, l.process_slot, 1, rootd::kServiceEndpointRights);
                                         copy(dedicated_slot(EndpointKind::MEMORY), l.process_slot, pager_local,
                                              rootd::kPrimaryRights);
                                       }),
                     Complaint::primary_wrong);
  }
  SECTION("primary at the wrong slot") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message&) {
                                         copy(l.endpoint_slot, l.process_slot, 1, rootd::kServiceEndpointRights);
                                         copy(dedicated_slot(EndpointKind::PAGER), l.process_slot, pager_local + 1,
                                              rootd::kPrimaryRights);
                                       }),
                     Complaint::primary_missing);
  }
  SECTION("image frame missing, or a module frame in its place") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message&) {
                                         copy(l.endpoint_slot, l.process_slot, 1, rootd::kServiceEndpointRights);
                                         copy(dedicated_slot(EndpointKind::PAGER), l.process_slot, pager_local,
                                              rootd::kPrimaryRights);
                                       }),
                     Complaint::image_frame_missing);
    expect_not_ready(foundation_answer(w, "procd",
                                       [&](World::Launched& l, abi::Message&) {
                                         const rootd::Role& procd = *rootd::find_role("procd");
                                         copy(l.endpoint_slot, l.process_slot, 1, rootd::kServiceEndpointRights);
                                         copy(dedicated_slot(*procd.primary), l.process_slot,
                                              rootd::primary_control_slot(procd), rootd::kPrimaryRights);
                                         copy(dedicated_slot(EndpointKind::DRIVER_LIFECYCLE), l.process_slot,
                                              rootd::endpoint_info(EndpointKind::DRIVER_LIFECYCLE).local_slot,
                                              rootd::kEndpointFullRights);
                                         copy(module_slot("procd"), l.process_slot, rootd::kImageFrameLocalSlot,
                                              rootd::kImageFrameRights);
                                       }),
                     Complaint::image_frame_wrong);
  }
  SECTION("an extra endpoint missing") {
    expect_not_ready(foundation_answer(w, "procd",
                                       [&](World::Launched& l, abi::Message&) {
                                         const rootd::Role& procd = *rootd::find_role("procd");
                                         copy(l.endpoint_slot, l.process_slot, 1, rootd::kServiceEndpointRights);
                                         copy(dedicated_slot(*procd.primary), l.process_slot,
                                              rootd::primary_control_slot(procd), rootd::kPrimaryRights);
                                       }),
                     Complaint::extra_missing);
  }
  SECTION("envelope words that contradict the process") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message& env) {
                                         w.provision(l.process_slot, pagerd, l.endpoint_slot);
                                         env.words[0] = 8;
                                       }),
                     Complaint::identity_mismatch);
    expect_not_ready(foundation_answer(w, "memd",
                                       [&](World::Launched& l, abi::Message& env) {
                                         w.provision(l.process_slot, *rootd::find_role("memd"), l.endpoint_slot);
                                         env.words[1] = rootd::role_index(rootd::RoleId::VSPACED);
                                       }),
                     Complaint::role_mismatch);
    expect_not_ready(foundation_answer(w, "vspaced",
                                       [&](World::Launched& l, abi::Message& env) {
                                         w.provision(l.process_slot, *rootd::find_role("vspaced"), l.endpoint_slot);
                                         env.words[2] = abi::kServiceEndpointLocalSlot;
                                       }),
                     Complaint::control_slot_mismatch);
    expect_not_ready(foundation_answer(w, "procd",
                                       [&](World::Launched& l, abi::Message& env) {
                                         w.provision(l.process_slot, *rootd::find_role("procd"), l.endpoint_slot);
                                         env.words[3] += 1;
                                       }),
                     Complaint::window_mismatch);
  }
  SECTION("a cap outside the window, and a table that does not match what it holds") {
    expect_not_ready(foundation_answer(w, "pagerd",
                                       [&](World::Launched& l, abi::Message&) {
                                         w.provision(l.process_slot, pagerd, l.endpoint_slot);
                                         copy(dedicated_slot(EndpointKind::COM1), l.process_slot, 5,
                                              abi::RIGHT_SEND);
                                       }),
                     Complaint::outside_window);
    const auto provision_memd = [&](World::Launched& l, abi::Message&) {
      w.provision(l.process_slot, *rootd::find_role("memd"), l.endpoint_slot);
    };
    expect_not_ready(foundation_answer(w, "memd", provision_memd, [](abi::Message& env) { env.words[4] += 1; }),
                     Complaint::transfer_count_mismatch);
    expect_not_ready(foundation_answer(w, "vspaced",
                                       [&](World::Launched& l, abi::Message&) {
                                         w.provision(l.process_slot, *rootd::find_role("vspaced"), l.endpoint_slot);
                                       },
                                       [](abi::Message& env) { env.words[5] ^= 1; }),
                     Complaint::transfer_digest_mismatch);
    // rootd believing it gave other rights than it did changes the digest.
    expect_not_ready(foundation_answer(w, "procd",
                                       [&](World::Launched& l, abi::Message&) {
                                         w.provision(l.process_slot, *rootd::find_role("procd"), l.endpoint_slot);
                                         w.copied[l.process_slot][1] = abi::RIGHT_SEND;
                                       }),
                     Complaint::transfer_digest_mismatch);
  }
  SECTION("an envelope that protocol::decode_deliver refuses") {
    const auto provision = [&](std::string_view role) {
      return [&w, role](World::Launched& l, abi::Message&) {
        w.provision(l.process_slot, *rootd::find_role(role), l.endpoint_slot);
      };
    };
    // The right identity in its low 16 bits, a stray bit above them.
    expect_not_ready(foundation_answer(w, "memd", provision("memd"), [](abi::Message& env) { env.words[0] |= 1ULL << 16; }),
                     Complaint::malformed_envelope);
    // The window's end below its first slot.
    expect_not_ready(foundation_answer(w, "vspaced", provision("vspaced"),
                                       [](abi::Message& env) { env.words[3] = (env.words[3] & 0xFFFFFFFFULL) | (1ULL << 32); }),
                     Complaint::malformed_envelope);
    // A cap riding along (the image frame carries GRANT, so the SEND itself succeeds).
    expect_not_ready(foundation_answer(w, "procd", provision("procd"), [](abi::Message& env) { env.cap = kImageFrameSlot; }),
                     Complaint::malformed_envelope);
  }
}

TEST_CASE("a role launched by the wrong path, a second envelope, and an unknown image are refused") {
  World w;
  // logd is a procd role: through kernel control it complains.
  const rootd::Role& logd = *rootd::find_role("logd");
  World::Launched l = w.stage_foundation("logd", 5);
  w.provision(l.process_slot, logd, l.endpoint_slot);
  REQUIRE(w.kernel_label(abi::KernelOp::START_PROCESS, l.process_slot) == abi::kReplyOk);
  const abi::Message logd_env = w.sealed(w.envelope(logd, 5), l.process_slot);
  REQUIRE(w.model.send(l.endpoint_slot, logd_env, badge_of(1)) == KernelError::OK);
  expect_not_ready(w.next(), Complaint::wrong_launch_path);
  REQUIRE(w.model.send(l.endpoint_slot, logd_env, badge_of(1)) == KernelError::OK);
  expect_not_ready(w.next(), Complaint::duplicate_envelope);

  // Every registered service is admitted once; a second process from the
  // same image matches nothing.
  World::Launched again = w.stage_foundation("logd", 6);
  CHECK(w.model.process(again.pid)->name == "unknown:logd");
  w.provision(again.process_slot, logd, again.endpoint_slot);
  REQUIRE(w.kernel_label(abi::KernelOp::START_PROCESS, again.process_slot) == abi::kReplyOk);
  REQUIRE(w.model.send(again.endpoint_slot, w.sealed(w.envelope(logd, 6), again.process_slot), badge_of(2)) ==
          KernelError::OK);
  expect_not_ready(w.next(), Complaint::unknown_service);
}

TEST_CASE("procd launches, starts and probes; deviced starts drivers and reports them ready") {
  World w;
  REQUIRE(w.services.set_latency("phase0-probe", 25).has_value());
  const std::uint32_t procd_ep = w.procd_ready();
  const Tick t0 = w.model.now();

  const World::Launched logd = w.launch_via_procd(procd_ep, "logd", 11, 4);
  CHECK(w.model.process(logd.pid)->launcher == erix::sim::Launcher::procd);
  const abi::Message logd_answer = w.next();
  CHECK(logd_answer.label == static_cast<std::uint64_t>(abi::Envelope::READY));
  CHECK(logd_answer.badge == badge_of(4));
  CHECK(w.model.now() == t0 + erix::sim::kDefaultLatency);

  // The install grant lets rootd write into the child's cspace, nothing more.
  const Cap* grant = w.model.process(erix::sim::kRootdPid)->cap_at(logd.process_slot);
  REQUIRE(grant != nullptr);
  CHECK(grant->type == ObjectType::install_grant);
  CHECK(grant->rights == erix::sim::kInstallGrantRights);

  // The probe takes its envelope like a procd launch; with no peer caps it
  // reaches none of the services it probes, and says so.
  const World::Launched probe = w.spawn_probe(procd_ep, 12, 7);
  const Tick spawned = w.model.now();
  const abi::Message completed = w.next_on_process();
  CHECK(completed.label == static_cast<std::uint64_t>(abi::Event::PROBE_COMPLETED));
  CHECK(completed.badge == abi::kEventBadge);
  CHECK(completed.words[0] == probe.pid);
  CHECK(completed.words[1] == erix::sim::kProbeFailed);
  CHECK(w.services.find("phase0-probe")->probe_failure == "memd was not reached");
  CHECK(w.model.now() == spawned + 25);
  // Its work done, the probe exits; rootd destroys it without a stop.
  const abi::Message probe_exit = w.next_on_process();
  CHECK(probe_exit.label == static_cast<std::uint64_t>(abi::Event::EXITED));
  CHECK(probe_exit.words[0] == probe.pid);
  CHECK(probe_exit.words[1] == erix::sim::kProbeFailed);
  CHECK(w.kernel_label(abi::KernelOp::DESTROY_PROCESS, probe.pid) == abi::kReplyOk);

  const World::Launched deviced = w.launch_via_procd(procd_ep, "deviced", 13, 5);
  REQUIRE(w.next().label == static_cast<std::uint64_t>(abi::Envelope::READY));
  const rootd::Role& serial = *rootd::find_role("drv-serial");
  const std::uint32_t driver_ep = w.new_endpoint();
  const auto [driver, last] = w.start_driver(deviced.endpoint_slot, deviced.process_slot, serial, 14, driver_ep);
  CHECK(last == abi::kReplyOk);
  CHECK(w.model.process(driver)->state == ProcessState::running);
  // Populated by deviced, never by rootd; deviced kept nothing it staged.
  CHECK(w.model.rootd_copies_into(driver) == 0);
  CHECK(w.model.child_populates() == 2);
  CHECK(w.model.populated_by(driver, abi::kServiceEndpointLocalSlot) == deviced.pid);
  CHECK(w.model.process(deviced.pid)->cap_at(rootd::kPopulateStagingSlot) == nullptr);
  REQUIRE(w.model.send(driver_ep, w.sealed(w.envelope(serial, 14), 0xD0000000U + driver), badge_of(6)) ==
          KernelError::OK);
  CHECK(w.next().label == static_cast<std::uint64_t>(abi::Envelope::READY));
  REQUIRE_FALSE(w.model.reports().empty());
  CHECK(w.model.reports().back().text == "ERIX_DEVICED:READY:DRV_SERIAL");
  CHECK(w.model.reports().back().pid == deviced.pid);
}

TEST_CASE("procd and deviced refuse malformed requests and serve only once READY") {
  World w;
  const World::Launched procd = w.launch_foundation("procd", 4, 3);  // not yet answered
  abi::Message early = message(static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), 1);
  early.cap = module_slot("logd");
  REQUIRE(w.model.call(procd.endpoint_slot, early, abi::kNoSlot) == KernelError::OK);
  CHECK(early.label == static_cast<std::uint64_t>(KernelError::DENIED));
  REQUIRE(w.next().label == static_cast<std::uint64_t>(abi::Envelope::READY));

  const std::size_t processes = w.model.processes().size();
  abi::Message no_image = message(static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), 1);
  REQUIRE(w.model.call(procd.endpoint_slot, no_image, abi::kNoSlot) == KernelError::OK);
  CHECK(no_image.label == static_cast<std::uint64_t>(KernelError::INVALID_ARGUMENT));
  abi::Message unknown = message(0x2F);
  REQUIRE(w.model.call(procd.endpoint_slot, unknown, abi::kNoSlot) == KernelError::OK);
  CHECK(unknown.label == static_cast<std::uint64_t>(KernelError::UNKNOWN_OPERATION));
  abi::Message start_rootd = message(static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS), 1);
  REQUIRE(w.model.call(procd.endpoint_slot, start_rootd, abi::kNoSlot) == KernelError::OK);
  CHECK(start_rootd.label == static_cast<std::uint64_t>(KernelError::INVALID_ARGUMENT));
  // procd starts only what procd staged.
  const World::Launched memd = w.stage_foundation("memd", 1);
  abi::Message start_memd = message(static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS), memd.pid);
  REQUIRE(w.model.call(procd.endpoint_slot, start_memd, abi::kNoSlot) == KernelError::OK);
  CHECK(start_memd.label == static_cast<std::uint64_t>(KernelError::DENIED));
  CHECK(w.model.processes().size() == processes + 1);
  CHECK(w.model.process(memd.pid)->state == ProcessState::staged);
}

// ---- fault points ---------------------------------------------------------------------

TEST_CASE("fault points: spawn, start, handshake, not-ready and crash behave as specified") {
  World w;
  SECTION("spawn: the kernel create fails and nothing is created") {
    REQUIRE(w.services.set_fault("memd", FaultPoint::spawn).has_value());
    const std::uint32_t slot = w.fresh_slot();
    op_fails(w, erix::sim::kInjectedFailure, abi::KernelOp::CREATE_STAGED_PROCESS, module_slot("memd"), slot, 1);
    CHECK(w.services.find("memd")->answer == Answer::spawn_failed);
  }
  SECTION("spawn through procd") {
    const std::uint32_t procd_ep = w.procd_ready();
    REQUIRE(w.services.set_fault("logd", FaultPoint::spawn).has_value());
    const std::string before = w.model.state_dump();
    abi::Message create = message(static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), 11);
    create.cap = module_slot("logd");
    REQUIRE(w.model.call(procd_ep, create, w.next_free) == KernelError::OK);
    CHECK(create.label == static_cast<std::uint64_t>(erix::sim::kInjectedFailure));
    CHECK(create.cap == abi::kNoSlot);
    CHECK(w.model.state_dump() == before);
  }
  SECTION("start: START_PROCESS fails and the process stays staged") {
    REQUIRE(w.services.set_fault("memd", FaultPoint::start).has_value());
    const World::Launched memd = w.stage_foundation("memd", 1);
    op_fails(w, erix::sim::kInjectedFailure, abi::KernelOp::START_PROCESS, memd.process_slot);
    CHECK(w.model.process(memd.pid)->state == ProcessState::staged);
    CHECK(w.services.find("memd")->answer == Answer::start_failed);
  }
  SECTION("start through procd, and a driver's start through deviced") {
    const std::uint32_t procd_ep = w.procd_ready();
    REQUIRE(w.services.set_fault("logd", FaultPoint::start).has_value());
    abi::Message create = message(static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), 11);
    create.cap = module_slot("logd");
    REQUIRE(w.model.call(procd_ep, create, w.fresh_slot()) == KernelError::OK);
    REQUIRE(create.label == abi::kReplyOk);
    const Pid logd = static_cast<Pid>(create.words[0]);
    abi::Message start = message(static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS), logd);
    REQUIRE(w.model.call(procd_ep, start, abi::kNoSlot) == KernelError::OK);
    CHECK(start.label == static_cast<std::uint64_t>(erix::sim::kInjectedFailure));
    CHECK(w.model.process(logd)->state == ProcessState::staged);

    const World::Launched deviced = w.launch_via_procd(procd_ep, "deviced", 13, 5);
    REQUIRE(w.next().label == static_cast<std::uint64_t>(abi::Envelope::READY));
    REQUIRE(w.services.set_fault("drv-serial", FaultPoint::start).has_value());
    const std::size_t processes = w.model.processes().size();
    abi::Message driver = message(static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER), 14, 1, 0);
    driver.cap = module_slot("drv-serial");
    REQUIRE(w.model.call(deviced.endpoint_slot, driver, w.next_free) == KernelError::OK);
    CHECK(driver.label == static_cast<std::uint64_t>(erix::sim::kInjectedFailure));
    CHECK(w.model.processes().size() == processes);
  }
  SECTION("handshake: the answer has an unexpected label") {
    REQUIRE(w.services.set_fault("memd", FaultPoint::handshake).has_value());
    w.launch_foundation("memd", 1, 0);
    const abi::Message m = w.next();
    CHECK(m.label == erix::sim::kMalformedLabel);
    CHECK(m.badge == badge_of(0));
    CHECK(w.services.find("memd")->answer == Answer::malformed);
  }
  SECTION("not-ready: a fully provisioned service answers NOT_READY") {
    REQUIRE(w.services.set_fault("memd", FaultPoint::not_ready).has_value());
    w.launch_foundation("memd", 1, 0);
    expect_not_ready(w.next(), Complaint::injected_fault);
  }
  SECTION("crash: EXITED with the fault code instead of an answer") {
    REQUIRE(w.services.set_fault("memd", FaultPoint::crash).has_value());
    const World::Launched memd = w.launch_foundation("memd", 1, 0);
    const abi::Message m = w.next();
    CHECK(m.label == static_cast<std::uint64_t>(abi::Event::EXITED));
    CHECK(m.badge == abi::kEventBadge);
    CHECK(m.words[0] == memd.pid);
    CHECK(m.words[1] == erix::sim::kCrashExitCode);
    CHECK(w.model.process(memd.pid)->state == ProcessState::exited);
    CHECK(w.model.now() == erix::sim::kDefaultLatency);
    abi::Message none;
    CHECK(w.model.wait(w.root, none) == KernelError::PEER_GONE);  // no answer ever follows
    CHECK(w.model.hung());
  }
  SECTION("probe faults") {
    const std::uint32_t procd_ep = w.procd_ready();
    REQUIRE(w.services.set_fault("phase0-probe", FaultPoint::not_ready).has_value());
    w.spawn_probe(procd_ep, 12, 7);
    const abi::Message m = w.next_on_process();
    CHECK(m.label == static_cast<std::uint64_t>(abi::Event::PROBE_COMPLETED));
    CHECK(m.words[1] == erix::sim::kProbeFailed);
    const abi::Message exited = w.next_on_process();
    CHECK(exited.label == static_cast<std::uint64_t>(abi::Event::EXITED));
    CHECK(exited.words[1] == erix::sim::kProbeFailed);
  }
  SECTION("probe crash: EXITED with the fault code, no completion") {
    const std::uint32_t procd_ep = w.procd_ready();
    REQUIRE(w.services.set_fault("phase0-probe", FaultPoint::crash).has_value());
    const World::Launched probe = w.spawn_probe(procd_ep, 12, 7);
    const abi::Message m = w.next_on_process();
    CHECK(m.label == static_cast<std::uint64_t>(abi::Event::EXITED));
    CHECK(m.words[0] == probe.pid);
    CHECK(m.words[1] == erix::sim::kCrashExitCode);
    // Nothing about the probe on the root endpoint.
    abi::Message none;
    CHECK(w.model.wait(w.root, none) == KernelError::PEER_GONE);
  }
  SECTION("unknown services and points are refused") {
    CHECK_FALSE(w.services.set_fault("nosuch", FaultPoint::crash).has_value());
    CHECK_FALSE(w.services.set_latency("nosuch", 1).has_value());
    CHECK(erix::sim::parse_fault_point("not-ready") == FaultPoint::not_ready);
    CHECK_FALSE(erix::sim::parse_fault_point("not_ready").has_value());
    for (std::size_t i = 0; i < erix::sim::kFaultPointCount; ++i) {
      const auto p = static_cast<FaultPoint>(i);
      CHECK(erix::sim::parse_fault_point(erix::sim::fault_point_name(p)) == p);
    }
  }
}

TEST_CASE("a managed stop cancels a pending answer and delivers EXITED; destroy removes the process") {
  World w;
  REQUIRE(w.services.set_latency("memd", 50).has_value());
  const World::Launched memd = w.launch_foundation("memd", 1, 0);
  REQUIRE(w.kernel_label(abi::KernelOp::MANAGED_STOP, memd.pid) == abi::kReplyOk);
  const abi::Message m = w.next();
  CHECK(m.label == static_cast<std::uint64_t>(abi::Event::EXITED));
  CHECK(m.words[1] == erix::sim::kExitClean);
  CHECK(w.model.now() == 0);  // kernel calls take no time
  abi::Message none;
  CHECK(w.model.wait(w.root, none) == KernelError::PEER_GONE);  // the answer at 50 never comes
  CHECK(w.model.now() == 50);
  CHECK(w.services.find("memd")->answer == Answer::none);
  REQUIRE(w.kernel_label(abi::KernelOp::DESTROY_PROCESS, memd.pid) == abi::kReplyOk);
  CHECK(w.model.process(memd.pid)->state == ProcessState::destroyed);
}

// ---- the clock -----------------------------------------------------------------------

TEST_CASE("answers arrive in order of their ticks, whatever the order of the envelopes") {
  World w;
  const std::array<std::pair<std::string_view, Tick>, 3> latencies = {
      {{"memd", 30}, {"vspaced", 10}, {"pagerd", 20}}};
  for (std::size_t i = 0; i < latencies.size(); ++i) {
    REQUIRE(w.services.set_latency(latencies[i].first, latencies[i].second).has_value());
    w.launch_foundation(latencies[i].first, 1 + i, i);
  }
  CHECK(w.model.now() == 0);
  std::vector<std::pair<std::uint64_t, Tick>> seen;
  for (int i = 0; i < 3; ++i) {
    const abi::Message m = w.next();
    CHECK(m.label == static_cast<std::uint64_t>(abi::Envelope::READY));
    seen.emplace_back(m.badge, w.model.now());
  }
  const std::vector<std::pair<std::uint64_t, Tick>> expected = {
      {badge_of(1), 10}, {badge_of(2), 20}, {badge_of(0), 30}};
  CHECK(seen == expected);
  CHECK(w.services.find("vspaced")->answered_at == Tick{10});
}

TEST_CASE("equal ticks keep the order in which they were scheduled; STARTED events are optional") {
  erix::sim::ModelOptions quiet;
  quiet.started_events = false;
  World w(true, quiet);
  for (std::string_view name : {"memd", "vspaced"}) REQUIRE(w.services.set_latency(name, 5).has_value());
  w.launch_foundation("vspaced", 2, 1);
  w.launch_foundation("memd", 1, 0);
  abi::Message a;
  abi::Message b;
  REQUIRE(w.model.wait(w.root, a) == KernelError::OK);
  REQUIRE(w.model.wait(w.root, b) == KernelError::OK);
  CHECK(a.badge == badge_of(1));
  CHECK(b.badge == badge_of(0));
}

// ---- audit and determinism -----------------------------------------------------------

TEST_CASE("the audit finds a leaked cap and a started process that was not destroyed") {
  World w;
  REQUIRE(w.services.set_fault("memd", FaultPoint::crash).has_value());
  const World::Launched memd = w.launch_foundation("memd", 1, 0);
  REQUIRE(w.next().label == static_cast<std::uint64_t>(abi::Event::EXITED));

  erix::sim::Audit a = w.model.audit();
  CHECK(a.started_not_destroyed == std::vector<Pid>{memd.pid});
  CHECK(a.dead_not_destroyed == std::vector<Pid>{memd.pid});
  CHECK(a.dangling.empty());
  // Its service endpoint, retained by rootd, has nobody left to receive on it.
  REQUIRE(a.orphaned.size() == 1);
  CHECK(a.orphaned[0].slot == memd.endpoint_slot);
  CHECK(a.leak_count() == 2);
  CHECK(w.model.describe_processes().find("memd") != std::string::npos);

  REQUIRE(w.kernel_label(abi::KernelOp::DESTROY_PROCESS, memd.pid) == abi::kReplyOk);
  a = w.model.audit();
  CHECK(a.started_not_destroyed.empty());
  // rootd still holds the process cap and the retained endpoint of a destroyed child.
  REQUIRE(a.dangling.size() == 1);
  CHECK(a.dangling[0].pid == erix::sim::kRootdPid);
  CHECK(a.dangling[0].slot == memd.process_slot);
  REQUIRE(a.orphaned.size() == 1);
  CHECK(a.orphaned[0].slot == memd.endpoint_slot);
  CHECK(a.leak_count() == 2);
  CHECK(w.model.describe_caps().find(fmt::format("slot {}: process#{}", memd.process_slot, memd.pid)) !=
        std::string::npos);

  const auto del = [&](std::uint32_t slot) {
    return w.model.cap(static_cast<std::uint64_t>(abi::CapOp::DELETE), slot, 0, 0, 0);
  };
  REQUIRE(del(memd.process_slot) == KernelError::OK);
  REQUIRE(del(memd.endpoint_slot) == KernelError::OK);
  CHECK(w.model.audit().leak_count() == 0);

  // A child created and never started is abandoned authority too.
  const World::Launched staged = w.stage_foundation("vspaced", 2);
  CHECK(w.model.audit().never_started == std::vector<Pid>{staged.pid});
}

TEST_CASE("a running READY service is live, not leaked; its caps are listed") {
  World w;
  const World::Launched memd = w.launch_foundation("memd", 1, 0);
  REQUIRE(w.next().label == static_cast<std::uint64_t>(abi::Envelope::READY));
  const erix::sim::Audit a = w.model.audit();
  CHECK(a.leak_count() == 0);
  CHECK(a.started_not_destroyed == std::vector<Pid>{memd.pid});
  std::size_t memd_caps = 0;
  for (const auto& h : a.caps) memd_caps += h.pid == memd.pid;
  CHECK(memd_caps == 2);  // service endpoint and primary
  const std::string caps = w.model.describe_caps();
  CHECK(caps.find("pid 2 memd slot 1: endpoint#") != std::string::npos);
  CHECK(caps.find("[memory] rights=SEND|RECEIVE|GRANT") != std::string::npos);
}

TEST_CASE("the same boot twice gives the same state, reports and counts") {
  auto boot = [] {
    World w;
    REQUIRE(w.services.set_latency("vspaced", 3).has_value());
    const std::uint32_t procd_ep = w.procd_ready();
    w.launch_foundation("memd", 1, 0);
    w.launch_foundation("vspaced", 2, 1);
    w.launch_via_procd(procd_ep, "svc", 9, 8);
    for (int i = 0; i < 3; ++i) (void)w.next();
    (void)w.model.report("ERIX_ROOTD:READY");
    return std::make_tuple(w.model.state_dump(), w.model.kernel_calls(), w.model.describe_caps());
  };
  const auto first = boot();
  const auto second = boot();
  CHECK(first == second);
  CHECK(std::get<1>(first) > 0);
}

TEST_CASE("ModelDriver forwards every syscall to the model") {
  World w;
  erix::sim::ModelDriver d(w.model);
  CHECK(d.report("hello") == KernelError::OK);
  abi::Message m = message(static_cast<std::uint64_t>(abi::KernelOp::CREATE_ENDPOINT), w.fresh_slot());
  CHECK(d.call(abi::kKernelControlSlot, m, abi::kNoSlot) == KernelError::OK);
  CHECK(m.label == abi::kReplyOk);
  CHECK(d.cap(abi::CapOp::COPY, kImageFrameSlot, abi::kSelfCspaceSlot, w.fresh_slot(), abi::RIGHT_READ) ==
        KernelError::DENIED);
  CHECK(d.cap(abi::CapOp::COPY_ATTENUATED, kImageFrameSlot, abi::kSelfCspaceSlot, w.fresh_slot(), abi::RIGHT_READ) ==
        KernelError::OK);
  CHECK(d.send(kImageFrameSlot, m, badge_of(0)) == KernelError::DENIED);
  CHECK(d.wait(w.root, m) == KernelError::PEER_GONE);
  CHECK(std::string(d.read_module(kModuleBase, 11).data(), 11) == "boot-config");
  d.park();
  CHECK(w.model.parked());
  CHECK(w.model.kernel_calls() == 7);
}

TEST_CASE("a cap carried in a CALL lands in the launcher's receive window without GRANT until it starts the process; others discard it") {
  World w;
  const std::uint32_t procd_ep = w.procd_ready();
  const Pid procd = w.services.find("procd")->pid;
  const Cap* rootd_frame = w.model.process(erix::sim::kRootdPid)->cap_at(module_slot("logd"));
  REQUIRE(rootd_frame != nullptr);
  const Cap before = *rootd_frame;
  REQUIRE((before.rights & abi::RIGHT_GRANT) != 0);

  // logd staged through procd, not yet started.
  World::Launched logd;
  logd.endpoint_slot = w.new_endpoint();
  logd.process_slot = w.fresh_slot();
  abi::Message create = message(static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), 11);
  create.cap = module_slot("logd");
  REQUIRE(w.model.call(procd_ep, create, logd.process_slot) == KernelError::OK);
  REQUIRE(create.label == abi::kReplyOk);
  logd.pid = static_cast<Pid>(create.words[0]);
  const Cap* landed = w.model.process(procd)->cap_at(rootd::kCarriedImageWindow.first);
  REQUIRE(landed != nullptr);
  CHECK(landed->type == ObjectType::frame);
  CHECK(landed->object == before.object);
  CHECK(landed->rights == (before.rights & ~static_cast<std::uint32_t>(abi::RIGHT_GRANT)));
  CHECK(landed->rights == rootd::kCarriedImageRights);
  // rootd keeps its own, unchanged.
  CHECK(*w.model.process(erix::sim::kRootdPid)->cap_at(module_slot("logd")) == before);

  // A launch meanwhile takes the next free slot of the window, and procd
  // deletes that copy, not logd's, once it has started the process.
  const World::Launched svc = w.launch_via_procd(procd_ep, "svc", 12, 5);
  CHECK(w.model.process(svc.pid)->state == ProcessState::running);
  CHECK(w.model.process(procd)->cap_at(rootd::kCarriedImageWindow.first + 1) == nullptr);
  REQUIRE(w.model.process(procd)->cap_at(rootd::kCarriedImageWindow.first) != nullptr);
  CHECK(w.model.process(procd)->cap_at(rootd::kCarriedImageWindow.first)->object == before.object);
  static_cast<void>(w.next());

  // Started, logd's frame goes too: procd holds frames of launches in flight.
  const rootd::Role& logd_role = *rootd::find_role("logd");
  w.provision(logd.process_slot, logd_role, logd.endpoint_slot);
  abi::Message start = message(static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS), logd.pid);
  REQUIRE(w.model.call(procd_ep, start, abi::kNoSlot) == KernelError::OK);
  REQUIRE(start.label == abi::kReplyOk);
  CHECK(w.model.process(procd)->cap_at(rootd::kCarriedImageWindow.first) == nullptr);
  REQUIRE(w.model.send(logd.endpoint_slot, w.sealed(w.envelope(logd_role, 11), logd.process_slot), badge_of(4)) ==
          KernelError::OK);
  static_cast<void>(w.next());

  // A service that is no launcher names no receive slot: the cap is
  // discarded, its cspace unchanged, and the call still answered.
  const std::map<std::uint32_t, Cap> logd_caps = w.model.process(logd.pid)->cspace;
  abi::Message odd = message(0x99);
  odd.cap = module_slot("memd");
  REQUIRE(w.model.call(logd.endpoint_slot, odd, abi::kNoSlot) == KernelError::OK);
  CHECK(odd.label == static_cast<std::uint64_t>(KernelError::UNKNOWN_OPERATION));
  CHECK(w.model.process(logd.pid)->cspace == logd_caps);
}

// The ledger's child rules, scripted: a config of memd and vspaced, both
// launched as rootd would, then authority no rule gives them.
TEST_CASE("the ledger explains a child's caps by its role and flags every other one") {
  World w;
  const rootd::bcfg::ServiceDesc descs[] = {{"memd", "memd", "memd"}, {"vspaced", "vspaced", "vspaced"}};
  rootd::bcfg::ConfigDesc desc;
  desc.services = descs;
  std::array<char, 4096> blob{};
  const rootd::Result<std::size_t> size = rootd::bcfg::write(desc, rootd::MutableBytes(blob.data(), blob.size()));
  REQUIRE(size.ok());
  erix::sim::LedgerInputs in;
  in.config = rootd::Bytes(blob.data(), size.value());

  const World::Launched memd = w.launch_foundation("memd", 0, 0);
  static_cast<void>(w.next());
  const World::Launched vspaced = w.launch_foundation("vspaced", 1, 1);
  static_cast<void>(w.next());
  auto child_leaks = [&] {
    std::vector<std::string> out;
    for (const erix::sim::LedgerProcess& p : erix::sim::build_ledger(w.model, in).processes) {
      if (p.pid == erix::sim::kRootdPid) continue;
      if (p.leak) out.push_back(p.name + ": " + *p.leak);
      for (const erix::sim::LedgerCap& c : p.caps) {
        if (c.leak()) out.push_back(fmt::format("{} slot {}: {}", p.name, c.slot, c.why));
      }
    }
    return out;
  };
  CHECK(child_leaks().empty());

  SECTION("a dedicated endpoint its role does not list") {
    // memd's memory endpoint at its own slot, inside vspaced's window.
    REQUIRE(w.copy(dedicated_slot(EndpointKind::MEMORY), vspaced.process_slot, 2224, abi::RIGHT_SEND) ==
            KernelError::OK);
    CHECK(child_leaks() ==
          std::vector<std::string>{"vspaced slot 2224: refused by authorize(): TRANSFER_DEDICATED_NOT_AUTHORIZED"});
  }
  SECTION("an endpoint no service receives on") {
    const std::uint32_t stray = w.new_endpoint();
    REQUIRE(w.copy(stray, memd.process_slot, 2224 - 1, abi::RIGHT_SEND) == KernelError::OK);
    CHECK(child_leaks() == std::vector<std::string>{"memd slot 2223: an endpoint no service receives on"});
  }
  SECTION("an untyped region") {
    REQUIRE(w.copy(kUntypedSlot, memd.process_slot, 2224 - 2, abi::RIGHT_READ) == KernelError::OK);
    CHECK(child_leaks() == std::vector<std::string>{"memd slot 2222: no rule hands a untyped to a service"});
  }
  SECTION("the boot image frame to a role without it") {
    REQUIRE(w.copy(kImageFrameSlot, vspaced.process_slot, rootd::kImageFrameLocalSlot, abi::RIGHT_READ) ==
            KernelError::OK);
    CHECK(child_leaks() ==
          std::vector<std::string>{"vspaced slot 2096: refused by authorize(): TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED"});
  }
  SECTION("a peer's endpoint that no peers entry wires") {
    // vspaced's own service endpoint, in memd's only slot: memd has no peers.
    REQUIRE(w.copy(vspaced.endpoint_slot, memd.process_slot, 2224 - 3, abi::RIGHT_SEND) == KernelError::OK);
    CHECK(child_leaks() ==
          std::vector<std::string>{"memd slot 2221: vspaced's endpoint, wired by no peers entry or provider row"});
  }
  SECTION("a process that matches no config service") {
    w.launch_foundation("pagerd", 1, 2);  // config service 1 is vspaced
    static_cast<void>(w.next());
    const auto leaks = child_leaks();
    REQUIRE_FALSE(leaks.empty());
    CHECK(leaks.front() == "pagerd slot 1: a process no config service explains");
  }
}

// rootd's side of the ledger at PARK: beyond its four caps everything is a
// leak, except, after a refused handoff, the boot caps the kernel installed
// (rootd parks before creating anything and cannot trust the handoff to
// tell them from its own). Something rootd made itself stays a leak.
TEST_CASE("the ledger counts rootd's caps beyond its four, and keeps only kernel boot caps after a refused handoff") {
  World w;
  erix::sim::LedgerInputs in;
  in.failed = true;
  auto rootd_leaks = [&] {
    std::size_t leaks = 0;
    for (const erix::sim::LedgerProcess& p : erix::sim::build_ledger(w.model, in).processes) {
      if (p.pid != erix::sim::kRootdPid) continue;
      for (const erix::sim::LedgerCap& c : p.caps) leaks += c.leak() ? 1 : 0;
    }
    return leaks;
  };
  const std::size_t boot_caps = rootd_leaks();
  CHECK(boot_caps > 15);  // at least the 15 dedicated endpoints, the frames and untyped
  in.handoff_refused = true;
  CHECK(rootd_leaks() == 0);
  static_cast<void>(w.new_endpoint());
  CHECK(rootd_leaks() == 1);
  in.handoff_refused = false;
  CHECK(rootd_leaks() == boot_caps + 1);
}
