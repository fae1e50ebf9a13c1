// The VERIFY phase (include/rootd/boot_verify.hpp) driven in-process
// against the kernel model and the simulated services, with a scripted
// verifier suite in place of the real verifiers: the order of proofs, every
// failure kind and its DETAIL line, the capability a reply must not leave
// with rootd (and a delete of it that fails), the call budget, and images
// without verifiers running none.
//
// Oracles: the scratch slot and the service endpoint slots are computed here
// from the handoff's cspace and the config (first free slot + 3 * services,
// first free slot + service index), not taken from the engine; leaks come
// from the simulator's ledger (sim/ledger.cpp), which reads the kernel
// model's cspaces.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "driver.hpp"
#include "kernel_model.hpp"
#include "ledger.hpp"
#include "policy_fixtures.hpp"
#include "rootd/boot.hpp"
#include "rootd/verifiers.hpp"
#include "rootd/verify.hpp"
#include "services.hpp"
#include "sim_world.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;
namespace abi = rootd::abi;
namespace verify = rootd::verify;
using rootd::Reason;
using rootd::Status;

namespace {

// ---- the scripted suite ----------------------------------------------------------

// How every scripted verifier behaves. Each one calls vfsd twice (steps
// CALL_ONE and CALL_TWO, labels kLabel + id and kLabel + 0x100 + id), proves
// P<id>_A after the first reply and P<id>_B after the second, then is done;
// `fail_with` makes the verifier of `fail_id` fail at CALL_TWO's reply
// instead, and `endless` makes it call for ever.
struct Script {
  std::optional<verify::Failure> fail_with;
  verify::VerifierId fail_id = verify::VerifierId::STORAGE_MOUNT;
  bool endless = false;
  int begins = 0;       // Suite::begin calls
  int nexts = 0;        // Suite::next calls
  std::vector<std::uint64_t> reply_labels;  // what the verifiers were handed
};
Script g_script;

inline constexpr std::uint64_t kLabel = 0x7E00;

const char* proof_name(verify::VerifierId id, bool second) {
  static const char* const names[2][verify::kVerifierCount] = {
      {"P0_A", "P1_A", "P2_A", "P3_A", "P4_A", "P5_A", "P6_A", "P7_A"},
      {"P0_B", "P1_B", "P2_B", "P3_B", "P4_B", "P5_B", "P6_B", "P7_B"}};
  return names[second ? 1 : 0][static_cast<int>(id)];
}

class ScriptSuite {
 public:
  static constexpr verify::VerifierSet kBuilt{0xFF};

  void begin(verify::VerifierId id) {
    ++g_script.begins;
    id_ = id;
    at_ = 0;
  }

  verify::Step next(verify::VerifierId id, const verify::Context& ctx, const verify::Reply* reply) {
    ++g_script.nexts;
    REQUIRE(id == id_);
    if (reply != nullptr) g_script.reply_labels.push_back(reply->message.label);
    const std::uint16_t vfsd = ctx.service_of(rootd::RoleId::VFSD);
    abi::Message m{};
    m.label = kLabel + static_cast<std::uint64_t>(id);
    if (g_script.endless && id == g_script.fail_id) return verify::call(vfsd, "FOREVER", m);
    switch (at_++) {
      case 0: return verify::call(vfsd, "CALL_ONE", m);
      case 1: return verify::proof(proof_name(id, false));
      case 2: m.label += 0x100; return verify::call(vfsd, "CALL_TWO", m);
      case 3:
        if (g_script.fail_with && id == g_script.fail_id) return verify::fail(*g_script.fail_with, "CALL_TWO", vfsd);
        return verify::proof(proof_name(id, true));
      default: return verify::done();
    }
  }

 private:
  verify::VerifierId id_ = verify::VerifierId::STORAGE_MOUNT;
  int at_ = 0;
};

// ---- the driver --------------------------------------------------------------------

// The model, with misbehaviour on the calls that receive into `scratch`
// (the verifiers' calls): refuse them, or land a cap there (a SEND copy of
// the called endpoint, made in the model) as a service's reply would; and
// fail the first `failing_deletes` DELETEs of the scratch slot. It records
// every action of the boot, in order.
class VerifyDriver final : public sim::Driver {
 public:
  explicit VerifyDriver(sim::KernelModel& model) : inner_(model) {}

  abi::KernelError report(std::string_view text) override {
    log.push_back("REPORT " + std::string(text));
    return inner_.report(text);
  }
  abi::KernelError call(std::uint32_t slot, abi::Message& m, std::uint32_t recv) override {
    log.push_back("CALL " + std::to_string(slot) + " " + std::to_string(m.label) + " " + std::to_string(recv));
    if (recv != scratch || scratch == abi::kNoSlot) return inner_.call(slot, m, recv);
    verifier_calls.push_back({slot, m.label});
    if (refuse) return abi::KernelError::NO_MEMORY;
    const abi::KernelError e = inner_.call(slot, m, recv);
    if (e == abi::KernelError::OK && land_cap) {
      REQUIRE(inner_.cap(abi::CapOp::COPY_ATTENUATED, slot, abi::kSelfCspaceSlot, recv, abi::RIGHT_SEND) ==
              abi::KernelError::OK);
      m.cap = recv;
    }
    return e;
  }
  abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) override {
    log.push_back("SEND " + std::to_string(slot) + " " + std::to_string(m.label));
    return inner_.send(slot, m, badge);
  }
  abi::KernelError wait(std::uint32_t slot, abi::Message& m) override {
    log.push_back("WAIT " + std::to_string(slot));
    return inner_.wait(slot, m);
  }
  abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                       std::uint32_t rights) override {
    log.push_back("CAP " + std::to_string(static_cast<int>(op)) + " " + std::to_string(src) + " " +
                  std::to_string(dst));
    if (op == abi::CapOp::DELETE && src == scratch && scratch != abi::kNoSlot) {
      ++scratch_deletes;
      if (scratch_deletes <= failing_deletes) return abi::KernelError::NO_MEMORY;
    }
    return inner_.cap(op, src, space, dst, rights);
  }
  void park() override { inner_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override {
    return inner_.read_module(vaddr, size);
  }

  struct Call {
    std::uint32_t slot;
    std::uint64_t label;
  };
  std::uint32_t scratch = abi::kNoSlot;
  bool refuse = false;
  bool land_cap = false;
  int failing_deletes = 0;
  int scratch_deletes = 0;
  std::vector<Call> verifier_calls;
  std::vector<std::string> log;

 private:
  sim::ModelDriver inner_;
};

// ---- one boot ---------------------------------------------------------------------

inline constexpr std::size_t kCapacity = 16;

std::string source_root() {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  return root;
}

struct Booted : erix::test::SimWorld {
  sim::EngineRun run;
  std::uint32_t scratch = 0;              // first free slot + 3 * services
  std::vector<std::uint32_t> endpoint;    // rootd's retained endpoint of each service
  std::uint16_t vfsd = rootd::bcfg::kNoIndex;
  std::size_t leaks = 0;
  std::string ledger;
  std::vector<std::string> log;
  std::vector<VerifyDriver::Call> verifier_calls;
  int scratch_deletes = 0;
  verify::VerifierSet selected;

  bool has_line(const std::string& l) const {
    return std::find(run.lines.begin(), run.lines.end(), l) != run.lines.end();
  }
  std::size_t line_index(const std::string& l) const {
    return static_cast<std::size_t>(std::find(run.lines.begin(), run.lines.end(), l) - run.lines.begin());
  }
};

struct Misbehaviour {
  bool refuse = false;
  bool land_cap = false;
  int failing_deletes = 0;
};

template <class Variant, class Suite>
std::unique_ptr<Booted> boot(const std::string& example, const Misbehaviour& mis = {}) {
  auto b = std::make_unique<Booted>();
  auto cfg = sim::load_system_config(source_root() + "/examples/" + example);
  REQUIRE(cfg);
  erix::test::set_up(*b, *cfg);

  const auto h = rootd::handoff::parse(b->handoff());
  REQUIRE(h.ok());
  const auto c = rootd::bcfg::parse(b->blob());
  REQUIRE(c.ok());
  const std::uint32_t first_free = h.value().cspace().first_free_slot;
  const std::size_t n = c.value().service_count();
  b->scratch = first_free + static_cast<std::uint32_t>(3 * n);
  for (std::size_t s = 0; s < n; ++s) {
    b->endpoint.push_back(first_free + static_cast<std::uint32_t>(s));
    if (c.value().service(s).role == "vfsd") b->vfsd = static_cast<std::uint16_t>(s);
  }
  b->selected = verify::select_verifiers(c.value());

  VerifyDriver driver(*b->model);
  driver.scratch = b->scratch;
  driver.refuse = mis.refuse;
  driver.land_cap = mis.land_cap;
  driver.failing_deletes = mis.failing_deletes;

  auto storage = std::make_unique<rootd::boot::BasicBootStorage<kCapacity>>();
  rootd::boot::Engine<Variant, kCapacity, Suite> engine(b->handoff(), b->root_slot, *storage);
  sim::RunPerformer performer(driver, b->run);
  b->run.actions = rootd::boot::drive(engine, performer, 1'000'000);
  b->run.status = engine.status();
  b->run.reason = engine.reason();
  if (engine.failed_service() != rootd::bcfg::kNoIndex) {
    b->run.failed_service = std::string(engine.config().service(engine.failed_service()).name);
  }
  sim::LedgerInputs in;
  in.config = b->blob();
  in.failed = b->run.status != Status::READY;
  const sim::Ledger ledger = sim::build_ledger(*b->model, in);
  b->leaks = ledger.leak_count();
  b->ledger = sim::ledger_text(ledger);
  b->log = driver.log;
  b->verifier_calls = driver.verifier_calls;
  b->scratch_deletes = driver.scratch_deletes;
  return b;
}

using Integration = rootd::boot::IntegrationVariant;

std::unique_ptr<Booted> scripted(const Misbehaviour& mis = {}) {
  return boot<Integration, ScriptSuite>("phase4-loader-contract.toml", mis);
}

void reset_script() { g_script = Script{}; }

std::vector<verify::VerifierId> selected_ids(const verify::VerifierSet& set) {
  std::vector<verify::VerifierId> ids;
  for (std::size_t v = 0; v < verify::kVerifierCount; ++v) {
    if (set.has(static_cast<verify::VerifierId>(v))) ids.push_back(static_cast<verify::VerifierId>(v));
  }
  return ids;
}

std::string all_lines(const Booted& b) {
  std::string out;
  for (const auto& l : b.run.lines) out += l + "\n";
  return out;
}

const std::string kSeparator = ":";

// Fail closed: the DETAIL line, the status, every child destroyed, no leak.
void check_verifier_failure(const Booted& b, const std::string& reason, const std::string& verifier,
                            const std::string& step) {
  INFO(all_lines(b));
  INFO(b.ledger);
  CHECK(b.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(rootd::status_exit_code(b.run.status) == 13);
  CHECK(b.run.parked);
  CHECK(b.run.actions_after_terminal == 0);
  CHECK(b.run.failed_service == "vfsd");
  REQUIRE(b.run.lines.size() >= 2);
  CHECK(b.run.lines.back() == "ERIX_ROOTD:SERVICE_BOOTSTRAP_FAILED");
  CHECK(b.run.lines[b.run.lines.size() - 2] ==
        "ERIX_ROOTD:DETAIL:" + reason + kSeparator + verifier + kSeparator + step + kSeparator + "vfsd");
  CHECK(b.leaks == 0);
  CHECK(b.model->audit().started_not_destroyed.empty());
  CHECK_FALSE(b.has_line("ERIX_ROOTD:READY"));
}

}  // namespace

TEST_CASE("verify: the scripted suite proves in VerifierId order, before the final shed and READY") {
  reset_script();
  const auto b = scripted();
  INFO(all_lines(*b));
  REQUIRE(b->vfsd != rootd::bcfg::kNoIndex);
  const auto ids = selected_ids(b->selected);
  REQUIRE(ids.size() >= 2);  // the loader contract, and its mount proved
  CHECK(b->run.status == Status::READY);
  CHECK(b->leaks == 0);
  // Two proofs per selected verifier, in id order, each after its call.
  std::vector<std::string> proofs;
  for (const auto& l : b->run.lines) {
    if (l.rfind("ERIX_ROOTD:PROOF:", 0) == 0) proofs.push_back(l);
  }
  std::vector<std::string> expected;
  for (auto id : ids) {
    expected.push_back(std::string("ERIX_ROOTD:PROOF:") + proof_name(id, false));
    expected.push_back(std::string("ERIX_ROOTD:PROOF:") + proof_name(id, true));
  }
  CHECK(proofs == expected);
  // Every proof after the last service's READY line, before the final SHED stage line and READY.
  const std::size_t first_proof = b->line_index(expected.front());
  const std::size_t last_proof = b->line_index(expected.back());
  std::size_t last_service_ready = 0;
  for (std::size_t i = 0; i < b->run.lines.size(); ++i) {
    if (b->run.lines[i].rfind("ERIX_ROOTD:READY:", 0) == 0) last_service_ready = i;
  }
  CHECK(last_service_ready < first_proof);
  std::size_t last_shed = 0;
  for (std::size_t i = 0; i < b->run.lines.size(); ++i) {
    if (b->run.lines[i] == "ROOTD_STAGE:SHED") last_shed = i;
  }
  CHECK(last_proof < last_shed);
  CHECK(last_shed < b->line_index("ERIX_ROOTD:READY"));
  // The calls: vfsd's retained endpoint, receiving into the scratch slot, the labels the verifiers chose.
  REQUIRE(b->verifier_calls.size() == 2 * ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) {
    CHECK(b->verifier_calls[2 * k].slot == b->endpoint[b->vfsd]);
    CHECK(b->verifier_calls[2 * k].label == kLabel + static_cast<std::uint64_t>(ids[k]));
    CHECK(b->verifier_calls[2 * k + 1].label == kLabel + 0x100 + static_cast<std::uint64_t>(ids[k]));
  }
  // Each verifier got its two replies; begun once each.
  CHECK(g_script.begins == static_cast<int>(ids.size()));
  CHECK(g_script.reply_labels.size() == 2 * ids.size());
  // Nothing left in the scratch slot: rootd parks with its four caps.
  const sim::Process* rootd = b->model->process(sim::kRootdPid);
  REQUIRE(rootd != nullptr);
  CHECK(rootd->cspace.size() == 4);
}

TEST_CASE("verify: each failure a verifier returns gives its DETAIL, status 13, and the ordinary teardown") {
  const verify::Failure kinds[] = {verify::Failure::WRONG_REPLY, verify::Failure::WRONG_DATA,
                                   verify::Failure::EXTRA_CAP, verify::Failure::BUDGET, verify::Failure::MISSING,
                                   verify::Failure::CALL_FAILED};
  const char* names[] = {"VERIFY_WRONG_REPLY", "VERIFY_WRONG_DATA", "VERIFY_EXTRA_CAP",
                         "VERIFY_BUDGET",      "VERIFY_MISSING",    "VERIFY_CALL_FAILED"};
  for (std::size_t k = 0; k < std::size(kinds); ++k) {
    INFO(names[k]);
    reset_script();
    g_script.fail_with = kinds[k];
    g_script.fail_id = verify::VerifierId::STORAGE_MOUNT;
    const auto b = scripted();
    REQUIRE(b->selected.has(verify::VerifierId::STORAGE_MOUNT));
    check_verifier_failure(*b, names[k], "STORAGE_MOUNT", "CALL_TWO");
    CHECK(b->run.reason == static_cast<Reason>(580 + static_cast<int>(kinds[k])));
    // The first proof held before the failure; no later verifier ran.
    CHECK(b->has_line("ERIX_ROOTD:PROOF:P0_A"));
    CHECK_FALSE(b->has_line("ERIX_ROOTD:PROOF:P0_B"));
    CHECK(g_script.begins == 1);
  }
}

TEST_CASE("verify: a refused call is CALL_FAILED at the step that made it") {
  reset_script();
  const auto b = scripted({.refuse = true});
  check_verifier_failure(*b, "VERIFY_CALL_FAILED", "STORAGE_MOUNT", "CALL_ONE");
  CHECK(b->verifier_calls.size() == 1);
  CHECK(g_script.reply_labels.empty());  // the verifier never saw a reply
}

TEST_CASE("verify: a reply carrying a cap: rootd deletes it first, then fails EXTRA_CAP") {
  reset_script();
  const auto b = scripted({.land_cap = true});
  check_verifier_failure(*b, "VERIFY_EXTRA_CAP", "STORAGE_MOUNT", "CALL_ONE");
  CHECK(g_script.reply_labels.empty());
  CHECK(b->scratch_deletes == 1);
  // The DELETE of the scratch slot is the action right after the call.
  const std::string call_prefix = "CALL " + std::to_string(b->endpoint[b->vfsd]) + " ";
  auto it = std::find_if(b->log.begin(), b->log.end(), [&](const std::string& l) {
    return l.rfind(call_prefix, 0) == 0 && l.size() > 8 && l.substr(l.rfind(' ') + 1) == std::to_string(b->scratch);
  });
  REQUIRE(it != b->log.end());
  REQUIRE(std::next(it) != b->log.end());
  CHECK(*std::next(it) == "CAP " + std::to_string(static_cast<int>(abi::CapOp::DELETE)) + " " +
                              std::to_string(b->scratch) + " 0");
  const sim::Process* rootd = b->model->process(sim::kRootdPid);
  REQUIRE(rootd != nullptr);
  CHECK(rootd->cspace.count(b->scratch) == 0);
}

TEST_CASE("verify: the delete of a landed cap fails once: tried again, still the verifier's EXTRA_CAP") {
  reset_script();
  const auto b = scripted({.land_cap = true, .failing_deletes = 1});
  check_verifier_failure(*b, "VERIFY_EXTRA_CAP", "STORAGE_MOUNT", "CALL_ONE");
  CHECK(b->scratch_deletes == 2);
}

TEST_CASE("verify: the delete of a landed cap fails for good: TEARDOWN_SHED_FAILED, and the ledger shows the cap") {
  reset_script();
  const auto b = scripted({.land_cap = true, .failing_deletes = 1000});
  INFO(all_lines(*b));
  INFO(b->ledger);
  CHECK(b->run.reason == Reason::TEARDOWN_SHED_FAILED);
  CHECK(b->run.status == Status::INTERNAL_ERROR);
  CHECK(b->run.lines[b->run.lines.size() - 2] == "ERIX_ROOTD:DETAIL:TEARDOWN_SHED_FAILED");
  CHECK(b->scratch_deletes == 2);  // the delete and one retry
  CHECK(b->run.parked);
  // Every child is still torn down.
  CHECK(b->model->audit().started_not_destroyed.empty());
  // The cap is still in rootd's scratch slot, and the audit counts it.
  const sim::Process* rootd = b->model->process(sim::kRootdPid);
  REQUIRE(rootd != nullptr);
  CHECK(rootd->cspace.count(b->scratch) == 1);
  CHECK(b->leaks == 1);
  CHECK(b->ledger.find("slot " + std::to_string(b->scratch) + ":") != std::string::npos);
}

TEST_CASE("verify: a verifier that calls for ever stops as BUDGET after kMaxCallsPerVerifier calls") {
  reset_script();
  g_script.endless = true;
  g_script.fail_id = verify::VerifierId::STORAGE_MOUNT;
  const auto b = scripted();
  check_verifier_failure(*b, "VERIFY_BUDGET", "STORAGE_MOUNT", "FOREVER");
  CHECK(b->verifier_calls.size() == verify::kMaxCallsPerVerifier);
}

TEST_CASE("verify: images without verifiers run none; the engine's default suite runs only what it has") {
  // The runtime variant, handed the scripted suite, never asks it and acts
  // exactly as with the default suite.
  reset_script();
  const auto with_script = boot<rootd::boot::RuntimeVariant, ScriptSuite>("phase4-loader-contract.toml");
  CHECK(g_script.nexts == 0);
  CHECK(g_script.begins == 0);
  const auto plain = boot<rootd::boot::RuntimeVariant, verify::Suite>("phase4-loader-contract.toml");
  CHECK(with_script->run.status == Status::READY);
  CHECK(with_script->log == plain->log);
  CHECK(with_script->verifier_calls.empty());
  for (const auto& l : with_script->run.lines) CHECK(l.rfind("ERIX_ROOTD:PROOF:", 0) != 0);
  // The default suite is the real one: an integration boot calls the
  // services. This world seeds no loader fixtures, so loaderd finds nothing
  // to launch and the loader contract fails closed, as a verifier failure
  // (test_proofs boots the same config under erix-boot, fixtures seeded, to
  // READY).
  const auto integration = boot<Integration, verify::Suite>("phase4-loader-contract.toml");
  CHECK_FALSE(integration->verifier_calls.empty());
  CHECK(integration->run.status == Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(std::string(rootd::reason_name(integration->run.reason)).rfind("VERIFY_", 0) == 0);
  CHECK(integration->run.failed_service == "loaderd");
}

// The foundation alone: no vfsd, loaderd, fbcond or inputd to verify.
inline constexpr fixtures::ServiceDesc kFoundation[] = {
    {"memd", "memd", "memd"}, {"vspaced", "vspaced", "vspaced"}, {"pagerd", "pagerd", "pagerd"},
    {"procd", "procd", "procd"}};
constexpr auto kFoundationConfig = fixtures::compile(rootd::bcfg::ConfigDesc{"none", kFoundation, {}, {}});

TEST_CASE("verify: the suite holds every verifier, and each fails closed on a config without its service") {
  CHECK(verify::Suite::kBuilt.bits == (1U << verify::kVerifierCount) - 1);
  const auto c = rootd::bcfg::parse(kFoundationConfig.view());
  REQUIRE(c.ok());
  rootd::ServiceRoles roles;
  rootd::resolve_roles(c.value(), roles);
  const verify::Context ctx{c.value(), roles};
  verify::Suite suite;
  for (std::size_t v = 0; v < verify::kVerifierCount; ++v) {
    const auto id = static_cast<verify::VerifierId>(v);
    INFO(verify::verifier_name(id));
    suite.begin(id);
    const verify::Step s = suite.next(id, ctx, nullptr);
    CHECK(s.kind == verify::StepKind::FAIL);
    CHECK(s.failure == verify::Failure::MISSING);
  }
}

// The same, in a constant expression: the suite, the selection and the
// failure's reason are all constexpr.
constexpr bool missing_service_fails_closed_at_compile_time() {
  const auto cfg = rootd::bcfg::parse(kFoundationConfig.view());
  if (!cfg.ok()) return false;
  rootd::ServiceRoles roles;
  rootd::resolve_roles(cfg.value(), roles);
  verify::Suite suite;
  suite.begin(verify::VerifierId::INPUT);
  const verify::Step s = suite.next(verify::VerifierId::INPUT, verify::Context{cfg.value(), roles}, nullptr);
  return s.kind == verify::StepKind::FAIL && s.failure == verify::Failure::MISSING &&
         rootd::boot::verify_reason(s.failure) == Reason::VERIFY_MISSING &&
         verify::select_verifiers(cfg.value()).empty();
}
static_assert(missing_service_fails_closed_at_compile_time());

TEST_CASE("verify: reason names of the VERIFY block") {
  CHECK(rootd::reason_name(Reason::VERIFY_CALL_FAILED) == "VERIFY_CALL_FAILED");
  CHECK(rootd::reason_name(Reason::VERIFY_MISSING) == "VERIFY_MISSING");
  for (unsigned n = 580; n <= 585; ++n) {
    CHECK(rootd::reason_status(static_cast<Reason>(n)) == Status::SERVICE_BOOTSTRAP_FAILED);
  }
}
