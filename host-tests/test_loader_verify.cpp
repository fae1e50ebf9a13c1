// include/rootd/verify_loader.hpp: the four loader verifiers, run to their
// end (verify_harness.hpp) against a scripted loaderd.
//
// The scripted loaderd below is a small model of docs/loaderd-protocol.md,
// written from that page (request table, states, fixtures table, fault ids)
// and not from the verifiers' tables; it shares only the message codecs of
// loader_protocol.hpp. An honest one makes every verifier pass with its
// exact list of proofs; one misbehaviour at a time (a wrong label, a wrong
// exit code, a pid on a failure, a capability count of 1, RUNNING for ever,
// a carried cap, a refused call, ...) makes each verifier fail with the
// expected Failure at a named step, naming loaderd. The model is constexpr,
// so one verifier also runs against it in a static_assert.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy_fixtures.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/loader_protocol.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/verify_loader.hpp"
#include "verify_harness.hpp"

namespace {

namespace abi = rootd::abi;
namespace loader = rootd::loader;
namespace verify = rootd::verify;
using loader::LoaderError;
using loader::Op;
using loader::State;
using verify::Failure;

// ---- the scripted loaderd ---------------------------------------------------------

enum class Bad : std::uint8_t {
  NONE,
  WRONG_LABEL,      // replies to `bad_op` have label UNKNOWN_OPERATION
  WRONG_EXIT,       // loader-ok exits 41
  ALT_SAME_EXIT,    // loader-alt exits 42, as loader-ok does
  PID_ON_FAILURE,   // every FAILED reply names pid 77 (w3)
  CAP_COUNT,        // INSPECT says the process holds one capability
  SCRATCH_LEFT,     // INSPECT says loaderd still holds one capability
  RUNNING_FOREVER,  // a started program never exits
  CARRIED_CAP,      // replies to `bad_op` carry a cap
  REFUSE,           // calls of `bad_op` are refused by the kernel
  WRONG_ERROR,      // every FAILED reply names another error
  WRONG_STEP,       // CLEANUP_FAULT names step k + 1
  NO_FAULTS,        // fault request ids launch as ordinary ones
  BACKWARDS,        // a STATUS after EXITED answers RUNNING
  PID_CHANGES,      // each RUNNING reply names a new pid
  ARGS_UNBOUNDED,   // a 257-byte block is accepted
  PATH_LAX,         // a relative or ".." path is accepted
  // As the simulator's fault points misbehave (sim/services.hpp):
  SLOW,             // START and STATUS answer RUNNING for ever ("slow")
  STATE_SWAP,       // PATH/ARGS answer RUNNING, START/STATUS ACCEPTED, INSPECT label 1 ("wrong-reply")
  ERROR_SHIFT,      // a FAILED reply names the next error number, 12 after 11 ("wrong-data")
};

struct Outcome {
  LoaderError error = LoaderError::NONE;
  std::uint64_t exit_code = 0;
};

constexpr std::uint64_t op_label(Op o) { return static_cast<std::uint64_t>(o); }

class ScriptedLoaderd {
 public:
  Bad bad = Bad::NONE;
  std::uint64_t bad_op = 0;       // 0: every operation
  std::uint32_t running_for = 2;  // RUNNING answers (START's included) before EXITED

  constexpr std::optional<abi::Message> answer(std::uint16_t, const abi::Message& m) {
    const bool targeted = bad_op == 0 || bad_op == m.label;
    if (bad == Bad::REFUSE && targeted) return std::nullopt;
    abi::Message reply = serve(m);
    const bool runs = m.label == op_label(Op::LAUNCH_START) || m.label == op_label(Op::LAUNCH_STATUS);
    if (bad == Bad::SLOW && runs) {
      const Request* r = find(static_cast<std::uint32_t>(m.words[0]));
      reply = loader::encode(loader::running(r == nullptr ? 0 : r->state.pid));
    }
    if (bad == Bad::STATE_SWAP) {
      if (m.label == op_label(Op::LAUNCH_INSPECT)) {
        reply.label = 1;
      } else {
        reply = loader::encode(runs ? loader::accepted() : loader::running(0));
      }
    }
    if (bad == Bad::WRONG_LABEL && targeted) reply.label = static_cast<std::uint64_t>(abi::KernelError::UNKNOWN_OPERATION);
    if (bad == Bad::CARRIED_CAP && targeted) reply.cap = 12;
    return reply;
  }

  std::uint32_t launches = 0;  // processes made

 private:
  struct Request {
    bool used = false;
    std::uint32_t id = 0;
    char path[loader::kMaxPathBytes] = {};
    std::size_t path_length = 0;
    loader::StateReply state{};
    std::uint32_t runs_left = 0;
    std::uint64_t exit_code = 0;  // while RUNNING: the code it will exit with
    std::uint8_t next_chunk[2] = {0, 0};
    std::uint16_t block_length[2] = {0, 0};
    char last_byte[2] = {0, 0};
  };

  constexpr Request* find(std::uint32_t id) {
    for (Request& r : requests_) {
      if (r.used && r.id == id) return &r;
    }
    return nullptr;
  }

  constexpr Outcome outcome(const Request& r) const {
    const std::string_view path(r.path, r.path_length);
    if (path == "/data/bin/loader-ok") return {LoaderError::NONE, bad == Bad::WRONG_EXIT ? 41U : 42U};
    if (path == "/data/bin/loader-alt") return {LoaderError::NONE, bad == Bad::ALT_SAME_EXIT ? 42U : 43U};
    if (path == "/data/bin/loader-stale") return {LoaderError::STALE_SOURCE};
    if (path == "/data/bin/bad-elf") return {LoaderError::BAD_ELF};
    if (path == "/data/bin/bad-plan") return {LoaderError::INVALID_LOAD_PLAN};
    if (path == "/data/bin/needs-dynamic") return {LoaderError::REQUIRE_DYNAMIC};
    if (path == "/data/bin/oversized") return {LoaderError::OVERSIZED};
    if (path == "/data/bin/denied") return {LoaderError::DENIED};
    if (path == "/data/bin") return {LoaderError::IS_DIRECTORY};
    return {LoaderError::NOT_FOUND};
  }

  constexpr abi::Message state_reply(loader::StateReply s) const {
    if (s.state == State::FAILED) {
      if (bad == Bad::PID_ON_FAILURE) s.pid = 77;
      if (bad == Bad::WRONG_ERROR) {
        s.error = s.error == LoaderError::NOT_FOUND ? LoaderError::IS_DIRECTORY : LoaderError::NOT_FOUND;
        s.step = 0;
      }
      if (bad == Bad::ERROR_SHIFT) s.error = static_cast<LoaderError>(static_cast<int>(s.error) % 12 + 1);
    }
    return loader::encode(s);
  }
  constexpr abi::Message failure(LoaderError e) const { return state_reply(loader::failed(e)); }

  constexpr abi::Message serve(const abi::Message& m) {
    switch (m.label) {
      case static_cast<std::uint64_t>(Op::LAUNCH_PATH): return launch_path(m);
      case static_cast<std::uint64_t>(Op::LAUNCH_ARGS): return launch_args(m);
      case static_cast<std::uint64_t>(Op::LAUNCH_START):
      case static_cast<std::uint64_t>(Op::LAUNCH_STATUS):
      case static_cast<std::uint64_t>(Op::LAUNCH_INSPECT): break;
      default: {
        abi::Message r{};
        r.label = static_cast<std::uint64_t>(abi::KernelError::UNKNOWN_OPERATION);
        return r;
      }
    }
    const auto ref = loader::decode_request_ref(m);
    if (!ref) return failure(LoaderError::MALFORMED);
    Request* r = find(ref->request);
    if (r == nullptr) return failure(LoaderError::UNKNOWN_REQUEST);
    if (ref->op == Op::LAUNCH_INSPECT) {
      loader::Inspect in;
      in.process_caps = bad == Bad::CAP_COUNT ? 1 : 0;
      in.scratch_caps = bad == Bad::SCRATCH_LEFT ? 1 : 0;
      return loader::encode(in);
    }
    if (ref->op == Op::LAUNCH_START && r->state.state == State::ACCEPTED) start(*r);
    else if (ref->op == Op::LAUNCH_STATUS) poll(*r);
    return state_reply(r->state);
  }

  constexpr abi::Message launch_path(const abi::Message& m) {
    const auto p = loader::decode_launch_path(m);
    loader::LaunchPath lax;
    if (!p) {
      // The lax service takes any non-empty path of 1..40 bytes as it is.
      const std::size_t length = (m.words[0] >> 32) & 0xFF;
      if (bad != Bad::PATH_LAX || length == 0 || length > loader::kMaxPathBytes) return failure(LoaderError::MALFORMED);
      lax.request = static_cast<std::uint32_t>(m.words[0]);
      lax.length = static_cast<std::uint8_t>(length);
      for (std::size_t i = 0; i < length; ++i) lax.path[i] = static_cast<char>((m.words[1 + i / 8] >> (8 * (i % 8))) & 0xFF);
    }
    const loader::LaunchPath& path = p ? *p : lax;
    if (find(path.request) != nullptr) return failure(LoaderError::MALFORMED);
    for (Request& r : requests_) {
      if (r.used) continue;
      r.used = true;
      r.id = path.request;
      r.path_length = path.length;
      for (std::size_t i = 0; i < path.length; ++i) r.path[i] = path.path[i];
      r.state = loader::accepted();
      return state_reply(r.state);
    }
    return failure(LoaderError::MALFORMED);  // full: the model holds 32 requests
  }

  constexpr abi::Message launch_args(const abi::Message& m) {
    auto a = loader::decode_launch_args(m);
    Request* r = find(static_cast<std::uint32_t>(m.words[0]));
    if (r == nullptr) return failure(LoaderError::UNKNOWN_REQUEST);
    if (r->state.state != State::ACCEPTED) return failure(LoaderError::MALFORMED);
    const bool over = !a && bad == Bad::ARGS_UNBOUNDED && (m.words[0] >> 48) == loader::kMaxArgBlock + 1;
    if (!a && !over) {
      r->state = loader::failed(LoaderError::MALFORMED);
      return state_reply(r->state);
    }
    const std::size_t block = (m.words[0] >> 32) & 1;
    const std::size_t chunk = (m.words[0] >> 40) & 0xFF;
    const std::size_t length = m.words[0] >> 48;
    if (chunk != r->next_chunk[block] || (chunk > 0 && length != r->block_length[block])) {
      r->state = loader::failed(LoaderError::MALFORMED);
      return state_reply(r->state);
    }
    r->block_length[block] = static_cast<std::uint16_t>(length);
    ++r->next_chunk[block];
    const std::size_t last = length - 1;
    if (last / 40 == chunk) {
      r->last_byte[block] = static_cast<char>((m.words[1 + (last % 40) / 8] >> (8 * (last % 8))) & 0xFF);
      if (r->last_byte[block] != '\0') {
        r->state = loader::failed(LoaderError::MALFORMED);
        return state_reply(r->state);
      }
    }
    return state_reply(loader::accepted());
  }

  constexpr void start(Request& r) {
    const std::uint32_t k = r.id - 0xFA110000U;
    if (r.id > 0xFA110000U && k <= 4 && bad != Bad::NO_FAULTS) {
      // Everything made is undone before the answer: nothing to keep.
      r.state = loader::failed(LoaderError::CLEANUP_FAULT, static_cast<std::uint8_t>(bad == Bad::WRONG_STEP ? k + 1 : k));
      return;
    }
    const Outcome o = outcome(r);
    if (o.error != LoaderError::NONE) {
      r.state = loader::failed(o.error);
      return;
    }
    const std::uint32_t pid = 100 + launches++;
    r.state = loader::exited(pid, o.exit_code);
    if (running_for > 0) {
      r.runs_left = running_for - 1;  // START's RUNNING is the first
      r.state = loader::running(pid);
      r.exit_code = o.exit_code;
    }
  }

  constexpr void poll(Request& r) {
    if (r.state.state == State::EXITED && bad == Bad::BACKWARDS) {
      r.state = loader::running(r.state.pid);
      r.runs_left = 1;
      return;
    }
    if (r.state.state != State::RUNNING) return;
    if (bad == Bad::PID_CHANGES) r.state.pid += 1000;
    if (bad == Bad::RUNNING_FOREVER) return;
    if (r.runs_left > 0) {
      --r.runs_left;
      return;
    }
    r.state = loader::exited(r.state.pid, r.exit_code);
  }

  Request requests_[32]{};
};

// ---- configs -------------------------------------------------------------------------

inline constexpr std::string_view kLoaderPeers[] = {"vfsd", "procd"};
// The writer orders services by name: fbcond 0, loaderd 1, procd 2, vfsd 3,
// so a verifier that called service 0 would call fbcond.
inline constexpr fixtures::ServiceDesc kServices[] = {
    {"fbcond", "fbcond", "fbcond"},
    {"procd", "procd", "procd"},
    {"vfsd", "vfsd", "vfsd"},
    {"loaderd", "loaderd", "loaderd", fixtures::Launch::ROOTD, {}, kLoaderPeers},
};
inline constexpr rootd::bcfg::ConfigDesc kSystem{"phase4-loader-closure", kServices, {}, {}};
constexpr auto kConfig = fixtures::compile(kSystem);
static_assert(kConfig.size > 0);
constexpr std::uint16_t kLoaderd = 1;
static_assert(rootd::bcfg::parse(kConfig.view()).ok());

inline constexpr fixtures::ServiceDesc kNoLoaderServices[] = {{"procd", "procd", "procd"}};
inline constexpr rootd::bcfg::ConfigDesc kNoLoaderSystem{"phase4-loader-closure", kNoLoaderServices, {}, {}};
constexpr auto kNoLoaderConfig = fixtures::compile(kNoLoaderSystem);

// A Context over a compiled config (views and roles live as long as this).
struct Booted {
  rootd::bcfg::View view;
  rootd::ServiceRoles roles{};
  constexpr explicit Booted(const rootd::bcfg::View& v) : view(v) { rootd::resolve_roles(view, roles); }
  constexpr verify::Context context() const { return verify::Context{view, roles}; }
};

template <class Blob>
constexpr rootd::bcfg::View view_of(const Blob& b) {
  return *rootd::bcfg::parse(b.view());
}

// ---- a constexpr run -------------------------------------------------------------

struct ConstRun {
  int proofs = 0;
  int calls = 0;
  bool done = false;
  Failure failure = Failure::WRONG_REPLY;
};

template <class V>
constexpr ConstRun run_constexpr(Bad bad, std::uint32_t running_for = 2) {
  const Booted booted(view_of(kConfig));
  const verify::Context ctx = booted.context();
  ScriptedLoaderd loaderd;
  loaderd.bad = bad;
  loaderd.running_for = running_for;
  V v;
  ConstRun run;
  verify::Reply reply;
  const verify::Reply* last = nullptr;
  for (int guard = 0; guard < 1000; ++guard) {
    const verify::Step s = v.next(ctx, last);
    last = nullptr;
    if (s.kind == verify::StepKind::DONE) {
      run.done = true;
      return run;
    }
    if (s.kind == verify::StepKind::FAIL) {
      run.failure = s.failure;
      return run;
    }
    if (s.kind == verify::StepKind::PROOF) {
      ++run.proofs;
      continue;
    }
    ++run.calls;
    reply.message = *loaderd.answer(s.service, s.message);
    last = &reply;
  }
  return run;
}

// The contract verifier in a constant expression: 5 proofs, and the number
// of calls counted by hand from the protocol: 3 bad paths, STATUS unknown,
// PATH, STATUS, 7 + 7 argv/env chunks, PATH, the refused env chunk, STATUS,
// START and 2 polls (running_for 2: RUNNING, RUNNING, EXITED), 2 STATUS,
// INSPECT = 29.
static_assert(run_constexpr<verify::LoaderContract>(Bad::NONE).done);
static_assert(run_constexpr<verify::LoaderContract>(Bad::NONE).proofs == 5);
static_assert(run_constexpr<verify::LoaderContract>(Bad::NONE).calls == 29);
static_assert(run_constexpr<verify::LoaderContract>(Bad::WRONG_EXIT).failure == Failure::WRONG_DATA);
static_assert(run_constexpr<verify::LoaderCleanupAuthority>(Bad::NONE).done);
static_assert(!run_constexpr<verify::LoaderCleanupAuthority>(Bad::NONE, 17).done);
// Verifiers are plain state: copyable bytes, no pointers into themselves.
static_assert(std::is_trivially_copyable_v<verify::LoaderContract>);
static_assert(std::is_trivially_copyable_v<verify::LoaderCleanupAuthority>);

// ---- helpers -------------------------------------------------------------------------

template <class V>
erix::test::VerifierRun run(ScriptedLoaderd& loaderd) {
  static const Booted booted(view_of(kConfig));
  V v;
  return erix::test::run_verifier(v, booted.context(),
                                  [&](std::uint16_t s, const abi::Message& m) { return loaderd.answer(s, m); });
}

template <class V>
erix::test::VerifierRun run_bad(Bad bad, std::uint64_t op = 0) {
  ScriptedLoaderd loaderd;
  loaderd.bad = bad;
  loaderd.bad_op = op;
  return run<V>(loaderd);
}

struct Expect {
  Bad bad;
  std::uint64_t op;  // 0: every operation
  Failure failure;
  const char* step;
};

constexpr std::uint64_t op(Op o) { return static_cast<std::uint64_t>(o); }

template <class V>
void check_failures(std::initializer_list<Expect> cases) {
  for (const Expect& e : cases) {
    INFO("misbehaviour " << static_cast<int>(e.bad) << " on op " << e.op);
    const erix::test::VerifierRun r = run_bad<V>(e.bad, e.op);
    CHECK_FALSE(r.done);
    CHECK(r.failure == e.failure);
    CHECK(r.step == e.step);
    CHECK(r.service == kLoaderd);
  }
}

using Proofs = std::vector<std::string>;

}  // namespace

// ---- the honest loaderd ----------------------------------------------------------------

TEST_CASE("every loader verifier passes against an honest loaderd with its exact proofs", "[loader_verify]") {
  REQUIRE(view_of(kConfig).service(kLoaderd).name == "loaderd");
  ScriptedLoaderd loaderd;  // one loaderd for all four, as in phase4-loader-closure
  const auto contract = run<verify::LoaderContract>(loaderd);
  CHECK(contract.done);
  CHECK(contract.proofs == Proofs{"LOADER_PATH_ONLY", "LOADER_ARGS_BOUNDED", "LOADER_RESPONSE_STATES",
                                  "LOADER_NO_AUTHORITY", "LOADER_STATIC_BRIDGE"});
  const auto fs = run<verify::LoaderFsDiscovery>(loaderd);
  CHECK(fs.done);
  CHECK(fs.proofs == Proofs{"LOADER_FS_DISCOVERY", "LOADER_FS_MISSING", "LOADER_FS_DIRECTORY", "LOADER_FS_MALFORMED",
                            "LOADER_FS_DENIED", "LOADER_FS_OVERSIZED", "LOADER_FS_STALE", "LOADER_FS_BAD_ELF",
                            "LOADER_FS_BAD_PLAN", "LOADER_FS_REQUIRE_DYNAMIC"});
  const auto launch = run<verify::LoaderMaterializedLaunch>(loaderd);
  CHECK(launch.done);
  CHECK(launch.proofs ==
        Proofs{"LOADER_OK_EXIT", "LOADER_ALT_EXIT", "LOADER_STALE_SOURCE", "LOADER_PROCESS_HANDOFF"});
  const auto cleanup = run<verify::LoaderCleanupAuthority>(loaderd);
  CHECK(cleanup.done);
  CHECK(cleanup.proofs == Proofs{"LOADER_CLEANUP_1", "LOADER_CLEANUP_2", "LOADER_CLEANUP_3", "LOADER_CLEANUP_4",
                                 "LOADER_AUTHORITY_DENIED"});
  // Real processes: contract 1, discovery 1, materialized 2, cleanup 1.
  CHECK(loaderd.launches == 5);
  for (const auto* r : {&contract, &fs, &launch, &cleanup}) {
    for (std::uint16_t s : r->called) CHECK(s == kLoaderd);
  }
}

TEST_CASE("proof and step names keep the verifier interface's alphabet and lengths", "[loader_verify]") {
  auto name_ok = [](std::string_view n, std::size_t max) {
    if (n.empty() || n.size() > max) return false;
    for (char c : n) {
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
  };
  namespace ls = verify::loader_script;
  for (std::span<const ls::Row> rows : {std::span<const ls::Row>(ls::kContract), std::span<const ls::Row>(ls::kFsDiscovery),
                                        std::span<const ls::Row>(ls::kMaterializedLaunch),
                                        std::span<const ls::Row>(ls::kCleanupAuthority)}) {
    for (const ls::Row& r : rows) {
      INFO(r.names);
      if (r.what != ls::Do::PROOF) CHECK(name_ok(ls::step_of(r), 24));
      if (!ls::proof_of(r).empty()) CHECK(name_ok(ls::proof_of(r), 40));
    }
  }
  // The bad paths are what their names say.
  CHECK(std::string_view(ls::kPaths[ls::LONG_41]).size() == 41);
  CHECK_FALSE(loader::path_is_valid(ls::kPaths[ls::RELATIVE]));
  CHECK_FALSE(loader::path_is_valid(ls::kPaths[ls::DOT_DOT]));
  CHECK_FALSE(loader::path_is_valid(ls::kPaths[ls::EMPTY_PART]));
}

TEST_CASE("a launch may stay RUNNING for 16 polls, not 17", "[loader_verify]") {
  for (std::uint32_t running_for : {0U, 1U, 16U}) {
    ScriptedLoaderd loaderd;
    loaderd.running_for = running_for;
    INFO(running_for);
    CHECK(run<verify::LoaderMaterializedLaunch>(loaderd).done);
  }
  ScriptedLoaderd slow;
  slow.running_for = 17;
  const auto r = run<verify::LoaderMaterializedLaunch>(slow);
  CHECK_FALSE(r.done);
  CHECK(r.failure == Failure::BUDGET);
  CHECK(r.step == "LAUNCH_OK");
  CHECK(r.calls == 2 + loader::kStatusPollBudget);  // PATH, START, 16 STATUS
  CHECK(r.proofs.empty());
}

TEST_CASE("without loaderd every loader verifier fails MISSING", "[loader_verify]") {
  static const Booted booted(view_of(kNoLoaderConfig));
  auto never = [](std::uint16_t, const abi::Message&) -> std::optional<abi::Message> { return std::nullopt; };
  verify::LoaderContract a;
  verify::LoaderFsDiscovery b;
  verify::LoaderMaterializedLaunch c;
  verify::LoaderCleanupAuthority d;
  for (const auto& r : {erix::test::run_verifier(a, booted.context(), never),
                        erix::test::run_verifier(b, booted.context(), never),
                        erix::test::run_verifier(c, booted.context(), never),
                        erix::test::run_verifier(d, booted.context(), never)}) {
    CHECK_FALSE(r.done);
    CHECK(r.failure == Failure::MISSING);
    CHECK(r.calls == 0);
  }
}

// ---- misbehaving loaderds ----------------------------------------------------------------

TEST_CASE("LOADER_CONTRACT fails at the step a misbehaving loaderd breaks", "[loader_verify]") {
  check_failures<verify::LoaderContract>({
      {Bad::WRONG_LABEL, 0, Failure::WRONG_REPLY, "PATH_RELATIVE"},
      {Bad::WRONG_LABEL, op(Op::LAUNCH_ARGS), Failure::WRONG_REPLY, "ARGV_256"},
      {Bad::WRONG_LABEL, op(Op::LAUNCH_START), Failure::WRONG_REPLY, "START_OK"},
      {Bad::WRONG_LABEL, op(Op::LAUNCH_INSPECT), Failure::WRONG_REPLY, "INSPECT_OK"},
      {Bad::WRONG_EXIT, 0, Failure::WRONG_DATA, "START_OK"},
      {Bad::PID_ON_FAILURE, 0, Failure::WRONG_DATA, "PATH_RELATIVE"},
      {Bad::CAP_COUNT, 0, Failure::WRONG_DATA, "INSPECT_OK"},
      {Bad::SCRATCH_LEFT, 0, Failure::WRONG_DATA, "INSPECT_OK"},
      {Bad::RUNNING_FOREVER, 0, Failure::BUDGET, "START_OK"},
      {Bad::CARRIED_CAP, 0, Failure::EXTRA_CAP, "PATH_RELATIVE"},
      {Bad::CARRIED_CAP, op(Op::LAUNCH_INSPECT), Failure::EXTRA_CAP, "INSPECT_OK"},
      {Bad::REFUSE, 0, Failure::CALL_FAILED, "PATH_RELATIVE"},
      {Bad::REFUSE, op(Op::LAUNCH_STATUS), Failure::CALL_FAILED, "STATUS_UNKNOWN"},
      {Bad::WRONG_ERROR, 0, Failure::WRONG_DATA, "PATH_RELATIVE"},
      {Bad::BACKWARDS, 0, Failure::WRONG_REPLY, "STATUS_EXITED"},
      {Bad::PID_CHANGES, 0, Failure::WRONG_DATA, "START_OK"},
      {Bad::ARGS_UNBOUNDED, 0, Failure::WRONG_REPLY, "ENV_257"},
      {Bad::PATH_LAX, 0, Failure::WRONG_REPLY, "PATH_RELATIVE"},
      {Bad::SLOW, 0, Failure::BUDGET, "STATUS_UNKNOWN"},
      {Bad::STATE_SWAP, 0, Failure::WRONG_REPLY, "PATH_RELATIVE"},
      {Bad::ERROR_SHIFT, 0, Failure::WRONG_DATA, "PATH_RELATIVE"},
  });
  // Nothing is proved past the first broken promise.
  CHECK(run_bad<verify::LoaderContract>(Bad::PATH_LAX).proofs.empty());
  CHECK(run_bad<verify::LoaderContract>(Bad::CAP_COUNT).proofs ==
        Proofs{"LOADER_PATH_ONLY", "LOADER_ARGS_BOUNDED", "LOADER_RESPONSE_STATES"});
}

TEST_CASE("LOADER_FS_DISCOVERY fails at the step a misbehaving loaderd breaks", "[loader_verify]") {
  check_failures<verify::LoaderFsDiscovery>({
      {Bad::WRONG_LABEL, 0, Failure::WRONG_REPLY, "LAUNCH_OK"},
      {Bad::WRONG_LABEL, op(Op::LAUNCH_START), Failure::WRONG_REPLY, "LAUNCH_OK"},
      {Bad::WRONG_EXIT, 0, Failure::WRONG_DATA, "LAUNCH_OK"},
      {Bad::PID_ON_FAILURE, 0, Failure::WRONG_DATA, "LAUNCH_MISSING"},
      {Bad::CAP_COUNT, 0, Failure::WRONG_DATA, "INSPECT_STALE"},
      {Bad::SCRATCH_LEFT, 0, Failure::WRONG_DATA, "INSPECT_STALE"},
      {Bad::RUNNING_FOREVER, 0, Failure::BUDGET, "LAUNCH_OK"},
      {Bad::CARRIED_CAP, 0, Failure::EXTRA_CAP, "LAUNCH_OK"},
      {Bad::CARRIED_CAP, op(Op::LAUNCH_INSPECT), Failure::EXTRA_CAP, "INSPECT_STALE"},
      {Bad::REFUSE, 0, Failure::CALL_FAILED, "LAUNCH_OK"},
      {Bad::REFUSE, op(Op::LAUNCH_START), Failure::CALL_FAILED, "LAUNCH_OK"},
      {Bad::WRONG_ERROR, 0, Failure::WRONG_DATA, "LAUNCH_MISSING"},
      {Bad::PID_CHANGES, 0, Failure::WRONG_DATA, "LAUNCH_OK"},
      {Bad::PATH_LAX, 0, Failure::WRONG_REPLY, "PATH_MALFORMED"},
      {Bad::SLOW, 0, Failure::BUDGET, "LAUNCH_OK"},
      {Bad::STATE_SWAP, 0, Failure::WRONG_REPLY, "LAUNCH_OK"},
      {Bad::ERROR_SHIFT, 0, Failure::WRONG_DATA, "LAUNCH_MISSING"},
  });
}

TEST_CASE("LOADER_MATERIALIZED_LAUNCH fails at the step a misbehaving loaderd breaks", "[loader_verify]") {
  check_failures<verify::LoaderMaterializedLaunch>({
      {Bad::WRONG_LABEL, 0, Failure::WRONG_REPLY, "LAUNCH_OK"},
      {Bad::WRONG_LABEL, op(Op::LAUNCH_INSPECT), Failure::WRONG_REPLY, "INSPECT_STALE"},
      {Bad::WRONG_EXIT, 0, Failure::WRONG_DATA, "LAUNCH_OK"},
      {Bad::ALT_SAME_EXIT, 0, Failure::WRONG_DATA, "LAUNCH_ALT"},
      {Bad::PID_ON_FAILURE, 0, Failure::WRONG_DATA, "LAUNCH_STALE"},
      {Bad::CAP_COUNT, 0, Failure::WRONG_DATA, "INSPECT_STALE"},
      {Bad::SCRATCH_LEFT, 0, Failure::WRONG_DATA, "INSPECT_STALE"},
      {Bad::RUNNING_FOREVER, 0, Failure::BUDGET, "LAUNCH_OK"},
      {Bad::CARRIED_CAP, 0, Failure::EXTRA_CAP, "LAUNCH_OK"},
      {Bad::REFUSE, 0, Failure::CALL_FAILED, "LAUNCH_OK"},
      {Bad::WRONG_ERROR, 0, Failure::WRONG_DATA, "LAUNCH_STALE"},
      {Bad::PID_CHANGES, 0, Failure::WRONG_DATA, "LAUNCH_OK"},
      {Bad::SLOW, 0, Failure::BUDGET, "LAUNCH_OK"},
      {Bad::STATE_SWAP, 0, Failure::WRONG_REPLY, "LAUNCH_OK"},
      {Bad::ERROR_SHIFT, 0, Failure::WRONG_DATA, "LAUNCH_STALE"},
  });
  // Both exit codes are observed before either per-file proof is printed.
  CHECK(run_bad<verify::LoaderMaterializedLaunch>(Bad::ALT_SAME_EXIT).proofs.empty());
  CHECK(run_bad<verify::LoaderMaterializedLaunch>(Bad::WRONG_ERROR).proofs ==
        Proofs{"LOADER_OK_EXIT", "LOADER_ALT_EXIT"});
}

TEST_CASE("LOADER_CLEANUP_AUTHORITY fails at the step a misbehaving loaderd breaks", "[loader_verify]") {
  check_failures<verify::LoaderCleanupAuthority>({
      {Bad::WRONG_LABEL, 0, Failure::WRONG_REPLY, "FAULT_1"},
      {Bad::WRONG_LABEL, op(Op::LAUNCH_INSPECT), Failure::WRONG_REPLY, "INSPECT_FAULT_1"},
      {Bad::WRONG_EXIT, 0, Failure::WRONG_DATA, "LAUNCH_OK"},
      {Bad::PID_ON_FAILURE, 0, Failure::WRONG_DATA, "FAULT_1"},
      {Bad::CAP_COUNT, 0, Failure::WRONG_DATA, "INSPECT_FAULT_1"},
      {Bad::SCRATCH_LEFT, 0, Failure::WRONG_DATA, "INSPECT_FAULT_1"},
      {Bad::RUNNING_FOREVER, 0, Failure::BUDGET, "LAUNCH_OK"},
      {Bad::CARRIED_CAP, 0, Failure::EXTRA_CAP, "FAULT_1"},
      {Bad::REFUSE, 0, Failure::CALL_FAILED, "FAULT_1"},
      {Bad::WRONG_ERROR, 0, Failure::WRONG_DATA, "FAULT_1"},
      {Bad::WRONG_STEP, 0, Failure::WRONG_DATA, "FAULT_1"},
      {Bad::NO_FAULTS, 0, Failure::WRONG_REPLY, "FAULT_1"},
      {Bad::SLOW, 0, Failure::BUDGET, "FAULT_1"},
      {Bad::STATE_SWAP, 0, Failure::WRONG_REPLY, "FAULT_1"},
      {Bad::ERROR_SHIFT, 0, Failure::WRONG_DATA, "FAULT_1"},
  });
  // A cap carried on LAUNCH_START only: the launch step of the first fault.
  ScriptedLoaderd loaderd;
  loaderd.bad = Bad::CARRIED_CAP;
  loaderd.bad_op = op(Op::LAUNCH_START);
  const auto r = run<verify::LoaderCleanupAuthority>(loaderd);
  CHECK(r.failure == Failure::EXTRA_CAP);
  CHECK(r.step == "FAULT_1");
  CHECK(r.calls == 2);
  CHECK(run_bad<verify::LoaderCleanupAuthority>(Bad::CAP_COUNT).proofs.empty());
  // A wrong exit code at the real launch after the faults: every cleanup
  // proof holds, the authority-denial proof is not printed.
  CHECK(run_bad<verify::LoaderCleanupAuthority>(Bad::WRONG_EXIT).proofs ==
        Proofs{"LOADER_CLEANUP_1", "LOADER_CLEANUP_2", "LOADER_CLEANUP_3", "LOADER_CLEANUP_4"});
}

// The header's own name check refuses what verify.hpp forbids.
namespace {
namespace ls = verify::loader_script;
inline constexpr ls::Row kLowerStep[] = {{"lower\0", 1, ls::Do::STATUS, 0, ls::Want::ACCEPT, 0}};
inline constexpr ls::Row kLongStep[] = {{"SSSSSSSSSSSSSSSSSSSSSSSSS\0", 1, ls::Do::STATUS, 0, ls::Want::ACCEPT, 0}};
inline constexpr ls::Row kLongProof[] = {
    {"S\0PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP", 1, ls::Do::STATUS, 0, ls::Want::ACCEPT, 0}};
inline constexpr ls::Row kProofWithStep[] = {{"S\0P", 0, ls::Do::PROOF, 0, ls::Want::ACCEPT, 0}};
inline constexpr ls::Row kCallWithoutStep[] = {{"\0P", 1, ls::Do::STATUS, 0, ls::Want::ACCEPT, 0}};
inline constexpr ls::Row kFine[] = {{"SSSSSSSSSSSSSSSSSSSSSSSS\0PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP", 1, ls::Do::STATUS, 0,
                                     ls::Want::ACCEPT, 0}};
static_assert(!ls::names_ok(kLowerStep));
static_assert(!ls::names_ok(kLongStep));
static_assert(!ls::names_ok(kLongProof));
static_assert(!ls::names_ok(kProofWithStep));
static_assert(!ls::names_ok(kCallWithoutStep));
static_assert(ls::names_ok(kFine));
}  // namespace
