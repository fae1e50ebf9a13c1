// Contracts that reach their consumer: the console font to fbcond (a
// profile module, read-only) and the phase0 probe's transfers (it exercises
// the foundation services through them), in process and under erix-boot.
//
// The oracle for the font row is written out here from the documented rule
// (docs/authority.md: profile-module, READ only, fbcond's slot 2097, source the
// handoff's console-font module frame), not read back from the synthesis.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "boot_run.hpp"
#include "driver.hpp"
#include "erix_boot_cli.hpp"
#include "kernel_model.hpp"
#include "ledger.hpp"
#include "policy_fixtures.hpp"
#include "rootd/authority.hpp"
#include "rootd/envelope.hpp"
#include "rootd/inventory.hpp"
#include "rootd/policy.hpp"
#include "rootd/sink.hpp"
#include "services.hpp"
#include "sim_world.hpp"
#include "system_image.hpp"

using rootd::AuthorityKind;
using rootd::Reason;
using rootd::RoleId;
namespace abi = rootd::abi;

namespace {

constexpr std::string_view kFbPeers[] = {"logd"};
constexpr fixtures::ServiceDesc kFbServices[] = {
    {"memd", "memd", "memd"},     {"vspaced", "vspaced", "vspaced"}, {"pagerd", "pagerd", "pagerd"},
    {"procd", "procd", "procd"},  {"logd", "logd", "logd"},
    {"fbcond", "fbcond", "fbcond", fixtures::Launch::ROOTD, {}, kFbPeers},
};
constexpr fixtures::ConfigDesc kFramebuffer{"phase3-framebuffer", kFbServices};
constexpr fixtures::ConfigDesc kNoProfile{"none", kFbServices};
constexpr std::string_view kFbModules[] = {"boot-config", "console-font", "fbcond", "logd",
                                           "memd",        "pagerd",       "procd",  "vspaced"};
// fixtures::make_handoff puts module n (sorted) at kFirstModuleSlot + n.
constexpr std::uint32_t kFontFrameSlot = fixtures::kFirstModuleSlot + 1;
constexpr std::uint32_t kFontLocalSlot = 2097;

constexpr auto kFbBlob = fixtures::compile(kFramebuffer);
constexpr auto kNoProfileBlob = fixtures::compile(kNoProfile);
constexpr auto kFbHandoff = fixtures::make_handoff(kFbModules);

struct Envelopes {
  rootd::bcfg::View config;
  rootd::handoff::View handoff;
  rootd::Sources sources;
  std::vector<rootd::Envelope> envelopes = std::vector<rootd::Envelope>(16);
  std::vector<rootd::Transfer> transfers = std::vector<rootd::Transfer>(128);
  rootd::EnvelopeSet set{};
};

Envelopes synthesize(rootd::Bytes config_bytes) {
  const auto config = rootd::bcfg::parse(config_bytes);
  const auto handoff = rootd::handoff::parse(kFbHandoff.view());
  REQUIRE(config.ok());
  REQUIRE(handoff.ok());
  Envelopes e{*config, *handoff, rootd::sources_from(*handoff)};
  const auto set = rootd::synthesize_envelopes(e.config, e.sources, e.envelopes, e.transfers);
  REQUIRE(set.ok());
  e.set = *set;
  return e;
}

std::vector<rootd::Transfer> module_rows(const Envelopes& e, std::size_t service) {
  std::vector<rootd::Transfer> out;
  for (const rootd::Transfer& t : e.set.transfers_of(service)) {
    if (t.authority == AuthorityKind::PROFILE_MODULE) out.push_back(t);
  }
  return out;
}

Reason first_error(const Envelopes& e) {
  rootd::FirstError first;
  (void)rootd::validate_envelopes(e.config, e.sources, e.set, first);
  return first.error.reason;
}

rootd::Transfer font_transfer(std::uint32_t rights) {
  rootd::Transfer t;
  t.op = abi::CapOp::COPY_ATTENUATED;
  t.authority = AuthorityKind::PROFILE_MODULE;
  t.local_slot = kFontLocalSlot;
  t.source_slot = kFontFrameSlot;
  t.source_rights = abi::RIGHT_READ | abi::RIGHT_EXECUTE | abi::RIGHT_GRANT;
  t.rights = rights;
  t.peer = 0;
  return t;
}

}  // namespace

TEST_CASE("font: phase3-framebuffer gives fbcond the console font, read-only, and no one else") {
  const Envelopes e = synthesize(kFbBlob.view());
  const std::size_t fbcond = e.config.find_service("fbcond");
  const std::vector<rootd::Transfer> rows = module_rows(e, fbcond);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].local_slot == kFontLocalSlot);
  CHECK(rows[0].source_slot == kFontFrameSlot);
  CHECK(rows[0].rights == abi::RIGHT_READ);
  CHECK(rows[0].op == abi::CapOp::COPY_ATTENUATED);
  for (std::size_t i = 0; i < e.config.service_count(); ++i) {
    if (i != fbcond) CHECK(module_rows(e, i).empty());
  }
  CHECK(first_error(e) == Reason::NONE);
  // The streaming form rootd runs agrees.
  rootd::FirstError streamed;
  CHECK(rootd::validate_envelopes(e.config, e.handoff, streamed));
}

TEST_CASE("font: a profile that does not read the font gives it to no one") {
  const Envelopes e = synthesize(kNoProfileBlob.view());
  for (std::size_t i = 0; i < e.config.service_count(); ++i) CHECK(module_rows(e, i).empty());
  CHECK(first_error(e) == Reason::NONE);
}

TEST_CASE("font: authorize() refuses it for any other role, at another slot, or with WRITE or EXECUTE") {
  const rootd::Role& fbcond = rootd::role(RoleId::FBCOND);
  CHECK(rootd::ok(rootd::authorize(fbcond, font_transfer(abi::RIGHT_READ))));
  for (const rootd::Role& r : rootd::kRoles) {
    if (r.id == RoleId::FBCOND) continue;
    INFO(r.name);
    const rootd::Check c = rootd::authorize(r, font_transfer(abi::RIGHT_READ));
    CHECK(c.reason == Reason::TRANSFER_MODULE_NOT_AUTHORIZED);
  }
  // WRITE is beyond what rootd holds on a module frame; EXECUTE is beyond the rule.
  CHECK(rootd::authorize(fbcond, font_transfer(abi::RIGHT_READ | abi::RIGHT_WRITE)).reason ==
        Reason::TRANSFER_RIGHTS_EXCEED_SOURCE);
  CHECK(rootd::authorize(fbcond, font_transfer(abi::RIGHT_READ | abi::RIGHT_EXECUTE)).reason ==
        Reason::TRANSFER_RIGHTS_EXCEED_RULE);
  rootd::Transfer writable = font_transfer(abi::RIGHT_READ | abi::RIGHT_WRITE);
  writable.source_rights |= abi::RIGHT_WRITE;
  CHECK(rootd::authorize(fbcond, writable).reason == Reason::TRANSFER_RIGHTS_EXCEED_RULE);
  rootd::Transfer moved = font_transfer(abi::RIGHT_READ);
  moved.local_slot = kFontLocalSlot + 1;
  CHECK(rootd::authorize(fbcond, moved).reason == Reason::TRANSFER_MODULE_SLOT_MISMATCH);
  rootd::Transfer unknown_row = font_transfer(abi::RIGHT_READ);
  unknown_row.peer = static_cast<std::uint16_t>(rootd::kModuleGrantCount);
  CHECK(rootd::authorize(fbcond, unknown_row).reason == Reason::TRANSFER_MODULE_NOT_AUTHORIZED);
}

TEST_CASE("font: a tampered envelope set fails closed naming the service") {
  // Given to the wrong service: logd's envelope carries fbcond's font row.
  {
    Envelopes e = synthesize(kFbBlob.view());
    const std::size_t fbcond = e.config.find_service("fbcond");
    const std::size_t logd = e.config.find_service("logd");
    const rootd::Envelope& fe = e.envelopes[fbcond];
    rootd::Transfer* font = nullptr;
    for (std::size_t k = fe.first_transfer; k < fe.first_transfer + fe.transfer_count; ++k) {
      if (e.transfers[k].authority == AuthorityKind::PROFILE_MODULE) font = &e.transfers[k];
    }
    REQUIRE(font != nullptr);
    // Swap the row into logd's last transfer.
    const rootd::Envelope& le = e.envelopes[logd];
    e.transfers[le.first_transfer + le.transfer_count - 1] = *font;
    rootd::FirstError first;
    CHECK_FALSE(rootd::validate_envelopes(e.config, e.sources, e.set, first));
    CHECK(first.error.reason == Reason::TRANSFER_MODULE_NOT_AUTHORIZED);
    CHECK(first.error.subject == rootd::Subject::SERVICE);
    CHECK(first.error.index == logd);
  }
  // With write rights.
  {
    Envelopes e = synthesize(kFbBlob.view());
    for (rootd::Transfer& t : e.transfers) {
      if (t.authority == AuthorityKind::PROFILE_MODULE) t.rights |= abi::RIGHT_WRITE;
    }
    CHECK(first_error(e) == Reason::TRANSFER_RIGHTS_EXCEED_SOURCE);
  }
  // From another frame than the font's.
  {
    Envelopes e = synthesize(kFbBlob.view());
    for (rootd::Transfer& t : e.transfers) {
      if (t.authority == AuthorityKind::PROFILE_MODULE) t.source_slot = fixtures::kFirstModuleSlot + 2;
    }
    CHECK(first_error(e) == Reason::ENVELOPE_SOURCE_MISMATCH);
  }
}

TEST_CASE("font: a handoff without it is refused at module discovery, before any envelope") {
  const auto config = rootd::bcfg::parse(kFbBlob.view());
  REQUIRE(config.ok());
  const auto without = fixtures::make_handoff(kFbModules, {.omit_module = "console-font"});
  const auto handoff = rootd::handoff::parse(without.view());
  REQUIRE(handoff.ok());
  rootd::FirstError first;
  CHECK_FALSE(rootd::validate_modules(*config, *handoff, first));
  CHECK(first.error.reason == Reason::MODULE_PROFILE_MODULE_MISSING);
}

// ---- in process: the engine against the kernel model and simulated services ----

namespace {

namespace sim = erix::sim;

std::string example(std::string_view name) {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  return std::string(root) + "/examples/" + std::string(name);
}

struct SimBoot : erix::test::SimWorld {
  sim::EngineRun run;
  std::size_t leaks = 0;
};

// `faults`: service -> fault point, set before the boot.
std::unique_ptr<SimBoot> boot_example(std::string_view file, const erix::test::FaultList& faults = {}) {
  auto b = std::make_unique<SimBoot>();
  auto cfg = sim::load_system_config(example(file));
  REQUIRE(cfg);
  erix::test::set_up(*b, *cfg, faults);
  b->run = erix::test::run_runtime(*b);
  sim::LedgerInputs in;
  in.config = b->blob();
  in.failed = b->run.status != rootd::Status::READY;
  b->leaks = sim::build_ledger(*b->model, in).leak_count();
  return b;
}

}  // namespace

TEST_CASE("font: fbcond holds the console font read-only after a phase3-framebuffer boot; rootd shed it") {
  const auto b = boot_example("phase3-framebuffer.toml");
  REQUIRE(b->run.status == rootd::Status::READY);
  CHECK(b->leaks == 0);
  const sim::ServiceRecord* fbcond = b->services->find("fbcond");
  REQUIRE(fbcond != nullptr);
  CHECK(fbcond->answer == sim::Answer::ready);
  const sim::Process* p = b->model->process(fbcond->pid);
  REQUIRE(p != nullptr);
  const sim::Cap* font = p->cap_at(kFontLocalSlot);
  REQUIRE(font != nullptr);
  CHECK(font->type == sim::ObjectType::frame);
  CHECK(font->rights == abi::RIGHT_READ);
  const sim::FrameObject* frame = b->model->frame(font->object);
  REQUIRE(frame != nullptr);
  CHECK(frame->module == "console-font");
  // Nobody else holds the font: rootd shed its own cap, no other service got one.
  for (const auto& [pid, proc] : b->model->processes()) {
    if (proc.state == sim::ProcessState::destroyed || pid == fbcond->pid) continue;
    for (const auto& [slot, cap] : proc.cspace) {
      INFO(proc.name << " slot " << slot);
      CHECK_FALSE((cap.type == sim::ObjectType::frame && cap.object == font->object));
    }
  }
}

TEST_CASE("probe: phase0-probe receives its planned transfers and exercises the four foundation services") {
  const auto b = boot_example("phase0.toml");
  REQUIRE(b->run.status == rootd::Status::READY);
  CHECK(b->leaks == 0);
  const sim::ServiceRecord* probe = b->services->find("phase0-probe");
  REQUIRE(probe != nullptr);
  CHECK(probe->answer == sim::Answer::probe_passed);
  CHECK(probe->probe_failure.empty());
  // Peers in ascending service index: the blob sorts services by name.
  CHECK(probe->probed == std::vector<std::string>{"memd", "pagerd", "procd", "vspaced"});
  // Reaped: destroyed once it completed.
  const sim::Process* p = b->model->process(probe->pid);
  REQUIRE(p != nullptr);
  CHECK(p->state == sim::ProcessState::destroyed);
}

TEST_CASE("probe: a probed service that refuses it, or a failing probe, fails the boot naming the probe") {
  const std::string who = GENERATE(std::string("memd"), std::string("procd"), std::string("phase0-probe"));
  const sim::FaultPoint point = who == "phase0-probe" ? sim::FaultPoint::not_ready : sim::FaultPoint::refuse_probe;
  INFO(who);
  const auto b = boot_example("phase0.toml", {{who, point}});
  CHECK(b->run.status == rootd::Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(b->run.reason == Reason::BOOT_PROBE_FAILED);
  CHECK(b->run.failed_service == "phase0-probe");
  CHECK(b->leaks == 0);
  CHECK(b->model->audit().leak_count() == 0);
  const sim::ServiceRecord* probe = b->services->find("phase0-probe");
  REQUIRE(probe != nullptr);
  CHECK(probe->answer == sim::Answer::probe_failed);
  CHECK_FALSE(probe->probe_failure.empty());
  // Torn down like any service: every child destroyed.
  for (const auto& [pid, proc] : b->model->processes()) {
    if (pid != sim::kRootdPid) CHECK(proc.state == sim::ProcessState::destroyed);
  }
}

TEST_CASE("probe: without its peers the probe reaches nobody and fails") {
  auto cfg = sim::system_config_from_bytes(R"(version = 1
profile = "phase0"
[[service]]
name = "memd"
role = "memd"
[[service]]
name = "vspaced"
role = "vspaced"
[[service]]
name = "pagerd"
role = "pagerd"
[[service]]
name = "procd"
role = "procd"
[[service]]
name = "phase0-probe"
role = "phase0-probe"
peers = ["memd", "procd"]
)", "inline.toml");
  REQUIRE(cfg);
  auto model = std::make_unique<sim::KernelModel>();
  auto image = sim::build_system_image(*cfg);
  REQUIRE(image);
  sim::Services services(*model);
  for (const auto& s : cfg->services) REQUIRE(services.add(s));
  auto root = model->boot_rootd(image->layout);
  REQUIRE(root);
  sim::ModelDriver driver(*model);
  const sim::EngineRun run = sim::run_engine<rootd::boot::RuntimeVariant>(
      rootd::Bytes(image->handoff.data(), image->handoff.size()), *root, driver);
  CHECK(run.reason == Reason::BOOT_PROBE_FAILED);
  CHECK(run.failed_service == "phase0-probe");
  const sim::ServiceRecord* probe = services.find("phase0-probe");
  REQUIRE(probe != nullptr);
  CHECK(probe->probed == std::vector<std::string>{"memd", "procd"});
  CHECK(probe->probe_failure == "vspaced was not reached");
}

// ---- under erix-boot: the real rootd ELF ---------------------------------------

namespace {

std::string quote(const std::string& s) { return erix::test::shell_quote(s); }

// erix-bcfg plan's output for an example config; the tool must succeed.
std::string plan_of(const std::string& config) {
  const char* tool = std::getenv("ERIX_BCFG");
  REQUIRE(tool != nullptr);
  const std::string command = quote(tool) + " plan " + quote(example(config)) + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  CHECK(::pclose(pipe) == 0);
  return out;
}

std::vector<std::string> erix_boot(const std::string& args, int& exit_code) {
  erix::test::CliRun run = erix::test::run_erix_boot(args);
  exit_code = run.code;
  return std::move(run.lines);
}

bool has(const std::vector<std::string>& lines, std::string_view line) {
  for (const auto& l : lines) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("erix-boot: fbcond's font is in the audit as a read-only profile-module row") {
  int code = -1;
  const auto lines = erix_boot("--audit " + quote(example("phase3-framebuffer.toml")), code);
  CHECK(code == 0);
  std::size_t rows = 0;
  for (const auto& l : lines) {
    if (l.find("profile-module") == std::string::npos) continue;
    ++rows;
    INFO(l);
    CHECK(l.rfind("audit:   slot 2097: ", 0) == 0);
    CHECK(l.find("[module console-font] rights=READ <- fbcond profile-module console-font") != std::string::npos);
  }
  CHECK(rows == 1);
  CHECK(has(lines, "audit: ledger: 0 leaks"));
}

TEST_CASE("erix-boot: a probed service refusing the probe fails the smoke boot, naming the probe, nothing leaked") {
  int code = -1;
  const auto lines = erix_boot("--fault vspaced:refuse-probe " + quote(example("phase0.toml")), code);
  CHECK(code == 13);
  CHECK(has(lines, "ERIX_ROOTD:DETAIL:BOOT_PROBE_FAILED:phase0-probe"));
  CHECK(has(lines, "ERIX_ROOTD:SERVICE_BOOTSTRAP_FAILED"));
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back().find(" leaks=0") != std::string::npos);
  // The same fault without a probe to notice it changes nothing.
  const auto runtime = erix_boot("--fault vspaced:refuse-probe " + quote(example("runtime.toml")), code);
  CHECK(code == 0);
  CHECK(has(runtime, "ERIX_ROOTD:READY"));
}

// ---- drivers populated by deviced ------------------------------------------------

namespace {

const sim::Process* process_named(const sim::KernelModel& model, std::string_view name) {
  for (const auto& [pid, p] : model.processes()) {
    if (p.name == name && p.state != sim::ProcessState::destroyed) return &p;
  }
  return nullptr;
}

std::string child_populate_errors(const sim::KernelModel& model) {
  std::string out;
  for (const sim::CallError& e : model.errors()) {
    if (e.what.find("child-populate") != std::string::npos) out += e.what + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("devices: rootd never writes a driver's cspace; deviced populates every driver cap and keeps none") {
  const auto b = boot_example("runtime.toml");
  REQUIRE(b->run.status == rootd::Status::READY);
  CHECK(b->leaks == 0);
  const sim::Process* deviced = process_named(*b->model, "deviced");
  REQUIRE(deviced != nullptr);
  std::size_t drivers = 0;
  std::size_t driver_caps = 0;
  for (const auto& [pid, p] : b->model->processes()) {
    if (p.launcher != sim::Launcher::deviced) continue;
    ++drivers;
    INFO(p.name);
    CHECK(p.parent == deviced->pid);
    CHECK(b->model->rootd_copies_into(pid) == 0);
    CHECK_FALSE(p.cspace.empty());
    for (const auto& [slot, cap] : p.cspace) {
      INFO("slot " << slot);
      CHECK(b->model->populated_by(pid, slot) == deviced->pid);
      ++driver_caps;
    }
  }
  CHECK(drivers == 4);  // drv-serial, drv-acpi, drv-i8042, drv-virtio-block
  CHECK(b->model->child_populates() == driver_caps);
  // Nothing staged is left with deviced: its staging slot is empty, and no
  // cap of a driver's kind sits anywhere in deviced outside its own rules
  // (the ledger, which found no leak, explains each of deviced's caps).
  CHECK(deviced->cap_at(rootd::kPopulateStagingSlot) == nullptr);
  CHECK(child_populate_errors(*b->model).empty());
}

TEST_CASE("devices: a driver populated with a plain copy fails closed naming the driver") {
  const std::string driver = GENERATE(std::string("drv-serial"), std::string("drv-virtio-block"));
  INFO(driver);
  const auto b = boot_example("runtime.toml", {{driver, sim::FaultPoint::plain_copy}});
  CHECK(b->run.status == rootd::Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(b->run.reason == Reason::BOOT_DRIVER_POPULATE_FAILED);
  CHECK(b->run.failed_service == driver);
  CHECK(b->leaks == 0);
  CHECK(b->model->audit().leak_count() == 0);
  CHECK(child_populate_errors(*b->model).find("CAP_COPY (8) is refused") != std::string::npos);
  for (const auto& [pid, p] : b->model->processes()) {
    if (pid != sim::kRootdPid) CHECK(p.state == sim::ProcessState::destroyed);
  }
}

TEST_CASE("devices: the kernel's child-populate refuses everything but an attenuated copy into the caller's child") {
  const auto b = boot_example("runtime.toml");
  REQUIRE(b->run.status == rootd::Status::READY);
  sim::KernelModel& model = *b->model;
  const sim::Process* deviced = process_named(model, "deviced");
  const sim::Process* serial = process_named(model, "drv-serial");
  const sim::Process* logd = process_named(model, "logd");
  REQUIRE(deviced != nullptr);
  REQUIRE(serial != nullptr);
  REQUIRE(logd != nullptr);
  const std::uint32_t populate_slot = rootd::endpoint_info(rootd::EndpointKind::CHILD_POPULATE).local_slot;
  REQUIRE(deviced->cap_at(populate_slot) != nullptr);
  constexpr std::uint32_t kFree = 3000;
  const auto request = [&](rootd::protocol::PopulateRequest r) {
    return rootd::protocol::encode(r, abi::kChildPopulateLabel);
  };
  const rootd::protocol::PopulateRequest good{serial->pid, abi::kServiceEndpointLocalSlot, kFree, abi::RIGHT_SEND,
                                              abi::CapOp::COPY_ATTENUATED};
  struct Bad {
    const char* what;
    sim::Pid caller;
    std::uint32_t endpoint_slot;
    abi::Message message;
    abi::KernelError expected;
  };
  auto with = [&](auto change) {
    rootd::protocol::PopulateRequest r = good;
    change(r);
    return request(r);
  };
  abi::Message carried = request(good);
  carried.cap = 5;
  const std::vector<Bad> bad = {
      {"plain copy", deviced->pid, populate_slot, with([](auto& r) { r.op = abi::CapOp::COPY; }),
       abi::KernelError::DENIED},
      {"delete", deviced->pid, populate_slot, with([](auto& r) { r.op = abi::CapOp::DELETE; }),
       abi::KernelError::UNKNOWN_OPERATION},
      {"not deviced's child", deviced->pid, populate_slot, with([&](auto& r) { r.child = logd->pid; }),
       abi::KernelError::DENIED},
      {"no child-populate endpoint there", deviced->pid, abi::kServiceEndpointLocalSlot, request(good),
       abi::KernelError::DENIED},
      {"a caller without the endpoint", logd->pid, populate_slot, request(good), abi::KernelError::DENIED},
      {"empty source", deviced->pid, populate_slot, with([](auto& r) { r.source = kFree; }),
       abi::KernelError::INVALID_SLOT},
      {"taken destination", deviced->pid, populate_slot,
       with([](auto& r) { r.destination = abi::kServiceEndpointLocalSlot; }), abi::KernelError::INVALID_SLOT},
      {"wider rights", deviced->pid, populate_slot, with([](auto& r) { r.rights = abi::RIGHT_SEND | abi::RIGHT_WRITE; }),
       abi::KernelError::DENIED},
      {"no rights", deviced->pid, populate_slot, with([](auto& r) { r.rights = 0; }), abi::KernelError::DENIED},
      {"a carried cap", deviced->pid, populate_slot, carried, abi::KernelError::INVALID_ARGUMENT},
  };
  const std::string before = model.state_dump();
  for (const Bad& c : bad) {
    INFO(c.what);
    CHECK(model.child_populate(c.caller, c.endpoint_slot, c.message) == c.expected);
    CHECK(model.state_dump() == before);
  }
  // The one thing it does: deviced's own service endpoint, attenuated, into its driver.
  REQUIRE(model.child_populate(deviced->pid, populate_slot, request(good)) == abi::KernelError::OK);
  const sim::Cap* landed = model.process(serial->pid)->cap_at(kFree);
  REQUIRE(landed != nullptr);
  CHECK(landed->rights == abi::RIGHT_SEND);
  CHECK(model.populated_by(serial->pid, kFree) == deviced->pid);
}

TEST_CASE("erix-boot: every driver cap is audited as populated by deviced; a plain copy fails closed") {
  int code = -1;
  const auto audit = erix_boot("--audit " + quote(example("runtime.toml")), code);
  CHECK(code == 0);
  std::size_t populated = 0;
  for (const auto& l : audit) populated += l.find(", populated by deviced via child-populate)") != std::string::npos;
  // examples/runtime.toml: drv-acpi has its service endpoint and primary;
  // drv-serial and drv-i8042 those and irqd; drv-virtio-block its service
  // endpoint, irqd and probed.
  CHECK(populated == 2 + 3 + 3 + 3);
  CHECK(has(audit, "audit: ledger: 0 leaks"));

  const auto failed = erix_boot("--fault drv-i8042:plain-copy " + quote(example("runtime.toml")), code);
  CHECK(code == 13);
  CHECK(has(failed, "ERIX_ROOTD:DETAIL:BOOT_DRIVER_POPULATE_FAILED:drv-i8042"));
  REQUIRE_FALSE(failed.empty());
  CHECK(failed.back().find(" leaks=0") != std::string::npos);
}

TEST_CASE("erix-bcfg plan says deviced populates each driver") {
  const std::string out = plan_of("runtime.toml");
  std::size_t lines = 0;
  for (auto at = out.find("populated by deviced via child-populate"); at != std::string::npos;
       at = out.find("populated by deviced via child-populate", at + 1)) {
    ++lines;
  }
  CHECK(lines == 4);
  // Right under each driver's table header.
  for (const char* driver : {"drv-acpi", "drv-serial", "drv-i8042", "drv-virtio-block"}) {
    INFO(driver);
    const std::size_t header = out.find(std::string("  ") + driver + " (role " + driver + ";");
    REQUIRE(header != std::string::npos);
    const std::size_t next = out.find('\n', header) + 1;
    CHECK(out.compare(next, 44, "    populated by deviced via child-populate:") == 0);
  }
}

// ---- the populate messages ------------------------------------------------------------

namespace {
namespace protocol = rootd::protocol;
constexpr std::uint64_t kPopulate = static_cast<std::uint64_t>(abi::DevicedOp::POPULATE_DRIVER);
constexpr protocol::PopulateRequest kRequest{77, rootd::kPopulateStagingSlot, 2208,
                                             abi::RIGHT_SEND | abi::RIGHT_RECEIVE | abi::RIGHT_GRANT};

constexpr bool populate_round_trips() {
  const abi::Message m = protocol::encode(kRequest, kPopulate);
  const auto back = protocol::decode_populate(m, kPopulate);
  return m.label == kPopulate && m.words[0] == 77 && m.words[1] == 2352 && m.words[2] == 2208 && m.words[3] == 7 &&
         m.words[4] == 9 && m.words[5] == 0 && m.cap == abi::kNoSlot && back.ok() && back.value() == kRequest;
}
static_assert(populate_round_trips());

constexpr bool populate_refused(void (*spoil)(abi::Message&)) {
  abi::Message m = protocol::encode(kRequest, kPopulate);
  spoil(m);
  return !protocol::decode_populate(m, kPopulate).ok();
}
static_assert(populate_refused([](abi::Message& m) { m.label = abi::kChildPopulateLabel; }));  // another operation
static_assert(populate_refused([](abi::Message& m) { m.words[5] = 1; }));
static_assert(populate_refused([](abi::Message& m) { m.cap = 3; }));
static_assert(populate_refused([](abi::Message& m) { m.words[0] = 1ULL << 32; }));
static_assert(populate_refused([](abi::Message& m) { m.words[3] = 1ULL << 32; }));
static_assert(populate_refused([](abi::Message& m) { m.words[4] = 0x100; }));

// START_DRIVER carries the envelope in w1 and w2, and nothing beyond.
constexpr bool driver_start_round_trips() {
  protocol::LaunchRequest r{static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER), 9, 120};
  r.transfer_count = 3;
  r.digest = 0x1234'5678'9ABC'DEF0ULL;
  const abi::Message m = protocol::encode(r);
  const auto back = protocol::decode_launch_request(m);
  abi::Message surplus = m;
  surplus.words[3] = 1;
  abi::Message wide = m;
  wide.words[1] = 1ULL << 32;
  // Only START_DRIVER carries an envelope.
  abi::Message create = protocol::encode(protocol::LaunchRequest{
      static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), 9, 120});
  create.words[1] = 3;
  return back.ok() && back.value() == r && !protocol::decode_launch_request(surplus).ok() &&
         !protocol::decode_launch_request(wide).ok() && !protocol::decode_launch_request(create).ok();
}
static_assert(driver_start_round_trips());
}  // namespace

// ---- the probe's completion on the dedicated process-control endpoint ------------

namespace {

constexpr std::uint32_t kProcessControlSlot = rootd::endpoint_info(rootd::EndpointKind::PROCESS_CONTROL).local_slot;

// Every WAIT rootd made: the slot it waited on and what came back.
struct WaitRecord {
  std::uint32_t slot = 0;
  abi::KernelError error = abi::KernelError::OK;
  abi::Message message;
};

class RecordingDriver final : public sim::Driver {
 public:
  explicit RecordingDriver(sim::KernelModel& model) : inner_(model) {}
  abi::KernelError report(std::string_view text) override { return inner_.report(text); }
  abi::KernelError call(std::uint32_t slot, abi::Message& m, std::uint32_t receive_slot) override {
    return inner_.call(slot, m, receive_slot);
  }
  abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) override {
    return inner_.send(slot, m, badge);
  }
  abi::KernelError wait(std::uint32_t slot, abi::Message& m) override {
    const abi::KernelError e = inner_.wait(slot, m);
    waits.push_back(WaitRecord{slot, e, m});
    return e;
  }
  abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                       std::uint32_t rights) override {
    return inner_.cap(op, src, space, dst, rights);
  }
  void park() override { inner_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override { return inner_.read_module(vaddr, size); }

  std::vector<WaitRecord> waits;

 private:
  sim::ModelDriver inner_;
};

struct RecordedBoot : erix::test::SimWorld {
  std::unique_ptr<RecordingDriver> driver;
  sim::EngineRun run;
  std::size_t leaks = 0;
  sim::Pid probe = sim::kNoPid;

  // Events about the probe rootd read, by the slot it waited on. Decoded
  // here from the documented layout (label, w0 = pid, w1 = value, event
  // badge), not through protocol::decode_event.
  std::vector<std::uint32_t> slots_of(abi::Event event) const {
    std::vector<std::uint32_t> out;
    for (const WaitRecord& w : driver->waits) {
      if (w.error != abi::KernelError::OK || w.message.badge != abi::kEventBadge) continue;
      if (w.message.label == static_cast<std::uint64_t>(event) && w.message.words[0] == probe) out.push_back(w.slot);
    }
    return out;
  }
};

std::unique_ptr<RecordedBoot> boot_recorded(const erix::test::FaultList& faults = {}) {
  auto b = std::make_unique<RecordedBoot>();
  auto cfg = sim::load_system_config(example("phase0.toml"));
  REQUIRE(cfg);
  erix::test::set_up(*b, *cfg, faults);
  b->driver = std::make_unique<RecordingDriver>(*b->model);
  b->run = sim::run_engine<rootd::boot::RuntimeVariant>(b->handoff(), b->root_slot, *b->driver);
  sim::LedgerInputs in;
  in.config = b->blob();
  in.failed = b->run.status != rootd::Status::READY;
  b->leaks = sim::build_ledger(*b->model, in).leak_count();
  const sim::ServiceRecord* rec = b->services->find("phase0-probe");
  REQUIRE(rec != nullptr);
  b->probe = rec->pid;
  return b;
}

}  // namespace

TEST_CASE("probe endpoint: rootd takes the completion on process control, then sheds it before READY") {
  const auto b = boot_recorded();
  REQUIRE(b->run.status == rootd::Status::READY);
  CHECK(b->leaks == 0);
  REQUIRE(b->root_slot != kProcessControlSlot);
  CHECK(b->slots_of(abi::Event::PROBE_COMPLETED) == std::vector<std::uint32_t>{kProcessControlSlot});
  // Only the probe's events came from there; every other wait is on the
  // root endpoint.
  std::size_t on_process = 0;
  for (const WaitRecord& w : b->driver->waits) {
    if (w.slot == kProcessControlSlot) {
      ++on_process;
      CHECK(w.message.badge == abi::kEventBadge);
      CHECK(w.message.words[0] == b->probe);
    } else {
      CHECK(w.slot == b->root_slot);
    }
  }
  CHECK(on_process >= 1);
  // Shed at READY: rootd holds nothing at the process-control slot.
  const sim::Process* rootd_process = b->model->process(sim::kRootdPid);
  REQUIRE(rootd_process != nullptr);
  CHECK(rootd_process->cap_at(kProcessControlSlot) == nullptr);
}

TEST_CASE("probe endpoint: a completion sent to the root endpoint is never taken; the boot fails naming the probe") {
  const auto b = boot_recorded({{"phase0-probe", sim::FaultPoint::root_completion}});
  CHECK(b->run.status == rootd::Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(b->run.failed_service == "phase0-probe");
  // It exited without completing where rootd listens.
  CHECK(b->run.reason == Reason::BOOT_SERVICE_EXITED);
  CHECK(b->slots_of(abi::Event::EXITED) == std::vector<std::uint32_t>{kProcessControlSlot});
  for (std::uint32_t slot : b->slots_of(abi::Event::PROBE_COMPLETED)) CHECK(slot != kProcessControlSlot);
  CHECK(b->leaks == 0);
  const sim::Process* p = b->model->process(b->probe);
  REQUIRE(p != nullptr);
  CHECK(p->state == sim::ProcessState::destroyed);
}

TEST_CASE("probe endpoint: a crashing, failing or unreporting probe fails the boot naming it, torn down, no leak") {
  const sim::FaultPoint point =
      GENERATE(sim::FaultPoint::crash, sim::FaultPoint::not_ready, sim::FaultPoint::no_completion);
  INFO(sim::fault_point_name(point));
  const auto b = boot_recorded({{"phase0-probe", point}});
  CHECK(b->run.status == rootd::Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(b->run.failed_service == "phase0-probe");
  CHECK(b->leaks == 0);
  const sim::Process* p = b->model->process(b->probe);
  REQUIRE(p != nullptr);
  CHECK(p->state == sim::ProcessState::destroyed);
  const sim::Process* rootd_process = b->model->process(sim::kRootdPid);
  REQUIRE(rootd_process != nullptr);
  CHECK(rootd_process->cap_at(kProcessControlSlot) == nullptr);
  switch (point) {
    case sim::FaultPoint::crash:
      CHECK(b->run.reason == Reason::BOOT_SERVICE_EXITED);
      CHECK(b->slots_of(abi::Event::EXITED) == std::vector<std::uint32_t>{kProcessControlSlot});
      break;
    case sim::FaultPoint::not_ready:
      CHECK(b->run.reason == Reason::BOOT_PROBE_FAILED);
      CHECK(b->slots_of(abi::Event::PROBE_COMPLETED) == std::vector<std::uint32_t>{kProcessControlSlot});
      break;
    default:
      // It exited, even cleanly, without completing: a failure.
      CHECK(b->run.reason == Reason::BOOT_SERVICE_EXITED);
      CHECK(b->slots_of(abi::Event::PROBE_COMPLETED).empty());
      CHECK(b->slots_of(abi::Event::EXITED) == std::vector<std::uint32_t>{kProcessControlSlot});
      break;
  }
}

TEST_CASE("erix-boot: the probe's completion on process control; elsewhere, absent or failing, the boot fails") {
  int code = -1;
  const auto ok = erix_boot(quote(example("phase0.toml")), code);
  CHECK(code == 0);
  CHECK(has(ok, "ERIX_ROOTD:READY"));
  const std::string point = GENERATE(std::string("root-completion"), std::string("crash"), std::string("not-ready"),
                                     std::string("no-completion"));
  INFO(point);
  const auto lines = erix_boot("--fault phase0-probe:" + point + " " + quote(example("phase0.toml")), code);
  CHECK(code == 13);
  const std::string detail = point == "not-ready" ? "BOOT_PROBE_FAILED" : "BOOT_SERVICE_EXITED";
  CHECK(has(lines, "ERIX_ROOTD:DETAIL:" + detail + ":phase0-probe"));
  CHECK(has(lines, "ERIX_ROOTD:SERVICE_BOOTSTRAP_FAILED"));
  CHECK_FALSE(has(lines, "ERIX_ROOTD:READY"));
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back().find(" leaks=0") != std::string::npos);
}

TEST_CASE("erix-bcfg plan: the probe's SEND-only process-control row is a planned transfer") {
  const std::string out = plan_of("phase0.toml");
  const auto at = out.find("  phase0-probe (role phase0-probe;");
  REQUIRE(at != std::string::npos);
  const auto end = out.find("\n\n", at);
  const std::string table = out.substr(at, end == std::string::npos ? std::string::npos : end - at);
  INFO(table);
  // Columns are sized to their content: compare the row's fields, not its spacing.
  bool found = false;
  for (std::size_t from = 0; from < table.size();) {
    const std::size_t eol = std::min(table.find('\n', from), table.size());
    std::istringstream row(table.substr(from, eol - from));
    std::string local, authority, rights;
    row >> local >> authority >> rights;
    const bool source = table.substr(from, eol - from).ends_with("slot 2288 (process-control endpoint)");
    found = found || (local == "2288" && authority == "dedicated-endpoint" && rights == "send" && source);
    from = eol + 1;
  }
  CHECK(found);
}

// ---- a launcher's reply without its install grant ---------------------------------------

namespace {

// procd answers a staging request (CREATE_STAGED_PROCESS or SPAWN_PROBE) OK
// but hands back no install grant: the kernel model's grant is deleted again
// from rootd's receive slot and the reply names no cap.
class GrantlessProcd final : public sim::Driver {
 public:
  explicit GrantlessProcd(sim::KernelModel& model) : inner_(model) {}
  abi::KernelError report(std::string_view text) override { return inner_.report(text); }
  abi::KernelError call(std::uint32_t slot, abi::Message& m, std::uint32_t receive_slot) override {
    const std::uint64_t op = m.label;
    const abi::KernelError e = inner_.call(slot, m, receive_slot);
    const bool staging = op == static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS) ||
                         op == static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE);
    if (e == abi::KernelError::OK && staging && m.cap != abi::kNoSlot) {
      REQUIRE(inner_.cap(abi::CapOp::DELETE, m.cap, 0, 0, 0) == abi::KernelError::OK);
      m.cap = abi::kNoSlot;
      ++stripped;
    }
    return e;
  }
  abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) override {
    return inner_.send(slot, m, badge);
  }
  abi::KernelError wait(std::uint32_t slot, abi::Message& m) override { return inner_.wait(slot, m); }
  abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                       std::uint32_t rights) override {
    return inner_.cap(op, src, space, dst, rights);
  }
  void park() override { inner_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override { return inner_.read_module(vaddr, size); }

  int stripped = 0;

 private:
  sim::ModelDriver inner_;
};

}  // namespace

TEST_CASE("a procd reply without the install grant fails the launch as BOOT_NO_INSTALL_GRANT, before any copy") {
  auto cfg = sim::load_system_config(example("phase0.toml"));
  REQUIRE(cfg);
  auto image = sim::build_system_image(*cfg);
  REQUIRE(image);
  sim::KernelModel model;
  sim::Services services(model);
  for (const auto& s : cfg->services) REQUIRE(services.add(s));
  auto root = model.boot_rootd(image->layout);
  REQUIRE(root);
  GrantlessProcd driver(model);
  const sim::EngineRun run = sim::run_engine<rootd::boot::RuntimeVariant>(
      rootd::Bytes(image->handoff.data(), image->handoff.size()), *root, driver);
  CHECK(driver.stripped == 1);  // the probe's staging, procd's only one here
  CHECK(run.status == rootd::Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(run.reason == rootd::Reason::BOOT_NO_INSTALL_GRANT);
  CHECK(run.failed_service == "phase0-probe");
  // Nothing was copied towards the probe: it holds no cap at all, and it is gone.
  const sim::ServiceRecord* probe = services.find("phase0-probe");
  REQUIRE(probe != nullptr);
  const sim::Process* p = model.process(probe->pid);
  REQUIRE(p != nullptr);
  CHECK(p->state == sim::ProcessState::destroyed);
  sim::LedgerInputs in;
  in.config = rootd::Bytes(cfg->blob.data(), cfg->blob.size());
  in.failed = true;
  CHECK(sim::build_ledger(model, in).leak_count() == 0);
}

TEST_CASE("the probe starts only once every other service is READY, not when the launch queue runs dry") {
  // phase0 plus logd, which the probe does not depend on: logd is launched
  // before the probe and answers 30 ticks later, so a probe started as soon
  // as nothing else was left to launch would be running before logd is READY.
  const std::string path = (std::filesystem::temp_directory_path() / "rootd-probe-waits-for-logd.toml").string();
  {
    std::ofstream out(path);
    out << "version = 1\nprofile = \"phase0\"\n"
        << "[[service]]\nname = \"memd\"\nrole = \"memd\"\n"
        << "[[service]]\nname = \"vspaced\"\nrole = \"vspaced\"\n"
        << "[[service]]\nname = \"pagerd\"\nrole = \"pagerd\"\n"
        << "[[service]]\nname = \"procd\"\nrole = \"procd\"\n"
        << "[[service]]\nname = \"logd\"\nrole = \"logd\"\n"
        << "[[service]]\nname = \"phase0-probe\"\nrole = \"phase0-probe\"\n"
        << "peers = [\"memd\", \"vspaced\", \"pagerd\", \"procd\"]\n";
  }
  auto cfg = sim::load_system_config(path);
  std::remove(path.c_str());
  REQUIRE(cfg);
  auto image = sim::build_system_image(*cfg);
  REQUIRE(image);
  sim::KernelModel model;
  sim::Services services(model);
  for (const auto& s : cfg->services) REQUIRE(services.add(s));
  REQUIRE(services.set_latency("logd", 30));
  auto root = model.boot_rootd(image->layout);
  REQUIRE(root);
  sim::ModelDriver driver(model);
  const sim::EngineRun run = sim::run_engine<rootd::boot::RuntimeVariant>(
      rootd::Bytes(image->handoff.data(), image->handoff.size()), *root, driver);
  REQUIRE(run.status == rootd::Status::READY);
  const sim::ServiceRecord* logd = services.find("logd");
  const sim::ServiceRecord* probe = services.find("phase0-probe");
  REQUIRE(logd != nullptr);
  REQUIRE(probe != nullptr);
  REQUIRE(logd->answered_at.has_value());
  REQUIRE(probe->envelope_at.has_value());
  CHECK(*probe->envelope_at >= *logd->answered_at);
}
