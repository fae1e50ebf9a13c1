// The four loader verifiers of an integration image: LOADER_CONTRACT,
// LOADER_FS_DISCOVERY, LOADER_MATERIALIZED_LAUNCH and
// LOADER_CLEANUP_AUTHORITY (verify.hpp), speaking loaderd's protocol
// (loader_protocol.hpp, docs/loaderd-protocol.md).
//
// They share one interpreter, Script, and differ only in their tables of
// checks: the integration image is near its size budget, and one
// launch-and-poll routine plus four small tables is a fraction of four
// hand-written state machines. Each check names its step; a check whose
// reply is right may print a proof.
//
// How a reply is judged, for every check alike:
//   - it does not decode, or its state is not the one the check expects
//     (an ACCEPTED where a FAILED belongs, a RUNNING after EXITED): WRONG_REPLY;
//   - the state is right but a field is not (another error, another exit
//     code, a pid on a failure, a pid that changed, a capability count above
//     0): WRONG_DATA;
//   - RUNNING is "not yet" for LAUNCH_START and LAUNCH_STATUS (asked again),
//     except for a request already seen EXITED; RUNNING after
//     kStatusPollBudget polls: BUDGET.
// Every failure names loaderd; MISSING when the config has none.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/loader_protocol.hpp"
#include "rootd/roles.hpp"
#include "rootd/verify.hpp"

namespace rootd::verify {

namespace loader_script {

// What a check does.
enum class Do : std::uint8_t {
  PROOF,    // no call: print the row's proof
  PATH,     // LAUNCH_PATH only
  ARGS,     // every chunk of one args block
  LAUNCH,   // LAUNCH_PATH (must be ACCEPTED), then LAUNCH_START as START
  START,    // LAUNCH_START, polling LAUNCH_STATUS while RUNNING
  STATUS,   // LAUNCH_STATUS once
  INSPECT,  // LAUNCH_INSPECT: no capability in the process, none left in loaderd
};

// What the reply of a START, STATUS, PATH or ARGS check must be.
enum class Want : std::uint8_t {
  ACCEPT,  // ACCEPTED
  FAIL,    // FAILED with error `value` (and, for a fault request, its step), no pid
  EXIT,    // RUNNING (polled) then EXITED with code `value`
  FINAL,   // EXITED with code `value` and the pid of the last EXIT: no RUNNING
};

// The paths the checks name, by index.
enum Path : std::uint8_t {
  OK, ALT, STALE, BAD_ELF, BAD_PLAN, NEEDS_DYNAMIC, OVERSIZED, DENIED, BIN_DIR, MISSING,
  RELATIVE, DOT_DOT, LONG_41, EMPTY_PART,
};
inline constexpr const char* kPaths[] = {
    "/data/bin/loader-ok",   "/data/bin/loader-alt", "/data/bin/loader-stale", "/data/bin/bad-elf",
    "/data/bin/bad-plan",    "/data/bin/needs-dynamic", "/data/bin/oversized", "/data/bin/denied",
    "/data/bin",             "/data/bin/missing",    "data/bin/loader-ok",     "/data/bin/../bin/loader-ok",
    "/data/bin/loader-ok-with-a-longer-name-xy",  // 41 bytes
    "/data//bin/loader-ok",
};

// ARGS rows: `path` holds the block (bit 0: 0 argv, 1 env) and, in bit 1,
// "one byte over the bound" (257 bytes instead of 256).
inline constexpr std::uint8_t kEnv = 1;
inline constexpr std::uint8_t kOverBound = 2;

struct Row {
  // "STEP\0PROOF": the step's name, then the proof printed once the check
  // held, or "STEP\0" for none (one pointer per row instead of two: the
  // tables are in the integration image). names_ok() checks every table.
  const char* names;
  std::uint32_t id;   // the request id
  Do what;
  std::uint8_t path;  // kPaths index; ARGS: kEnv | kOverBound bits
  Want want;
  std::uint8_t value;  // FAIL: the LoaderError; EXIT, FINAL: the exit code
};

constexpr std::string_view step_of(const Row& r) { return r.names; }
constexpr std::string_view proof_of(const Row& r) { return r.names + step_of(r).size() + 1; }

constexpr std::uint8_t err(loader::LoaderError e) { return static_cast<std::uint8_t>(e); }
inline constexpr std::uint8_t kOkExit = static_cast<std::uint8_t>(loader::kLoaderOkExitCode);
inline constexpr std::uint8_t kAltExit = static_cast<std::uint8_t>(loader::kLoaderAltExitCode);

// Byte i of the argument block of `length` bytes the verifiers send:
// NUL-terminated 16-byte strings, the last one cut short by the length.
constexpr char arg_byte(std::size_t i, std::size_t length) {
  return i + 1 == length || i % 16 == 15 ? '\0' : static_cast<char>('a' + i % 16);
}

// The interpreter's state: plain members, no pointers, trivially copyable.
class Script {
 public:
  constexpr Step next(const Context& ctx, const Reply* reply, std::span<const Row> rows) {
    const std::uint16_t svc = ctx.service_of(RoleId::LOADERD);
    if (svc == bcfg::kNoIndex) return fail(Failure::MISSING, "FIND_LOADERD", svc);
    if (reply != nullptr && sent_ != 0 && row_ < rows.size()) {
      const Failure* f = judge(rows[row_], reply->message);
      if (f != nullptr) return fail(*f, step_of(rows[row_]), svc);
    }
    while (row_ < rows.size()) {
      const Row& r = rows[row_];
      if (!open_) {
        open_ = true;
        chunk_ = 0;
        polls_ = 0;
        sent_ = first_op(r.what);
        if (r.what == Do::LAUNCH || r.what == Do::START) pid_ = 0;
      }
      if (sent_ != 0) return call(svc, step_of(r), message(r));
      open_ = false;
      ++row_;
      if (!proof_of(r).empty()) return proof(proof_of(r));
    }
    return done();
  }

 private:
  static constexpr std::uint8_t op_byte(loader::Op op) { return static_cast<std::uint8_t>(op); }
  static constexpr std::uint8_t first_op(Do what) {
    switch (what) {
      case Do::PROOF: return 0;
      case Do::PATH:
      case Do::LAUNCH: return op_byte(loader::Op::LAUNCH_PATH);
      case Do::ARGS: return op_byte(loader::Op::LAUNCH_ARGS);
      case Do::START: return op_byte(loader::Op::LAUNCH_START);
      case Do::STATUS: return op_byte(loader::Op::LAUNCH_STATUS);
      case Do::INSPECT: return op_byte(loader::Op::LAUNCH_INSPECT);
    }
    return 0;
  }

  constexpr abi::Message message(const Row& r) const {
    const auto op = static_cast<loader::Op>(sent_);
    if (op == loader::Op::LAUNCH_PATH) return loader::encode(loader::launch_path(r.id, kPaths[r.path]));
    if (op != loader::Op::LAUNCH_ARGS) return loader::encode(loader::RequestRef{op, r.id});
    loader::LaunchArgs a;
    a.request = r.id;
    a.block = (r.path & kEnv) != 0 ? loader::Block::ENV : loader::Block::ARGV;
    a.chunk = chunk_;
    a.length = static_cast<std::uint16_t>(loader::kMaxArgBlock + ((r.path & kOverBound) != 0 ? 1 : 0));
    const std::size_t from = std::size_t{chunk_} * loader::kChunkBytes;
    for (std::size_t i = 0; i < loader::chunk_bytes(a.length, chunk_); ++i) a.bytes[i] = arg_byte(from + i, a.length);
    return loader::encode(a);
  }

  // Judges the reply to the call `sent_` of row `r`: nullptr when it holds
  // (sent_ then names the next call of the row, or 0), else the failure.
  constexpr const Failure* judge(const Row& r, const abi::Message& m) {
    const auto op = static_cast<loader::Op>(sent_);
    sent_ = 0;
    if (op == loader::Op::LAUNCH_INSPECT) {
      const Result<loader::Inspect> in = loader::decode_inspect(m);
      if (!in) return &kWrongReply;
      return in->process_caps == 0 && in->scratch_caps == 0 ? nullptr : &kWrongData;
    }
    const Result<loader::StateReply> got = loader::decode_state_reply(m);
    if (!got) return &kWrongReply;
    const loader::StateReply& s = *got;
    if (r.what == Do::LAUNCH && op == loader::Op::LAUNCH_PATH) {
      if (s.state != loader::State::ACCEPTED) return &kWrongReply;
      sent_ = op_byte(loader::Op::LAUNCH_START);
      return nullptr;
    }
    if (s.state == loader::State::RUNNING && r.want == Want::EXIT) {
      if (pid_ != 0 && s.pid != pid_) return &kWrongData;
      pid_ = s.pid;
    }
    if (s.state == loader::State::RUNNING && r.want != Want::FINAL &&
        (op == loader::Op::LAUNCH_START || op == loader::Op::LAUNCH_STATUS)) {
      // "Not yet": asked again, within the budget. Only a request seen
      // EXITED may not answer RUNNING any more (FINAL).
      if (polls_ == loader::kStatusPollBudget) return &kBudget;
      ++polls_;
      sent_ = op_byte(loader::Op::LAUNCH_STATUS);
      return nullptr;
    }
    switch (r.want) {
      case Want::ACCEPT:
        if (s.state != loader::State::ACCEPTED) return &kWrongReply;
        if (op == loader::Op::LAUNCH_ARGS && loader::chunk_bytes(loader::kMaxArgBlock, ++chunk_) != 0) sent_ = op_byte(op);
        return nullptr;
      case Want::FAIL:
        if (s.state != loader::State::FAILED) return &kWrongReply;
        return s.error == static_cast<loader::LoaderError>(r.value) && s.pid == 0 &&
                       s.step == loader::fault_step_of(r.id)
                   ? nullptr
                   : &kWrongData;
      case Want::EXIT:
      case Want::FINAL:
        break;
    }
    if (s.state != loader::State::EXITED) return &kWrongReply;
    if (s.pid == 0 || (pid_ != 0 && s.pid != pid_) || (r.want == Want::FINAL && pid_ == 0)) return &kWrongData;
    pid_ = s.pid;
    return s.exit_code == r.value ? nullptr : &kWrongData;
  }

  static constexpr Failure kWrongReply = Failure::WRONG_REPLY;
  static constexpr Failure kWrongData = Failure::WRONG_DATA;
  static constexpr Failure kBudget = Failure::BUDGET;

  std::uint32_t pid_ = 0;   // the pid the current launch reported
  std::uint8_t row_ = 0;
  std::uint8_t sent_ = 0;   // the loader::Op of the outstanding call, 0 for none
  std::uint8_t chunk_ = 0;  // ARGS: the chunk sent
  std::uint8_t polls_ = 0;  // LAUNCH_STATUS polls of the current launch
  bool open_ = false;       // row_'s check has begun
};

using loader::LoaderError;
constexpr Row launch(const char* names, std::uint32_t id, std::uint8_t path, LoaderError e) {
  return Row{names, id, Do::LAUNCH, path, Want::FAIL, err(e)};
}
constexpr Row launch_exit(const char* names, std::uint32_t id, std::uint8_t path, std::uint8_t code) {
  return Row{names, id, Do::LAUNCH, path, Want::EXIT, code};
}
constexpr Row inspect(const char* names, std::uint32_t id) { return Row{names, id, Do::INSPECT, 0, Want::ACCEPT, 0}; }
constexpr Row only_proof(const char* names) { return Row{names, 0, Do::PROOF, 0, Want::ACCEPT, 0}; }

// Request ids: one range per verifier, so that all four can run against one
// loaderd (phase4-loader-closure), and a fresh id for every LAUNCH_PATH, so
// that no refusal can come from an id in use instead of the path.
inline constexpr Row kContract[] = {
    {"PATH_RELATIVE\0", 0x104, Do::PATH, RELATIVE, Want::FAIL, err(LoaderError::MALFORMED)},
    {"PATH_DOT_DOT\0", 0x105, Do::PATH, DOT_DOT, Want::FAIL, err(LoaderError::MALFORMED)},
    {"PATH_41_BYTES\0LOADER_PATH_ONLY", 0x106, Do::PATH, LONG_41, Want::FAIL, err(LoaderError::MALFORMED)},
    {"STATUS_UNKNOWN\0", 0x1FF, Do::STATUS, 0, Want::FAIL, err(LoaderError::UNKNOWN_REQUEST)},
    {"PATH_OK\0", 0x102, Do::PATH, OK, Want::ACCEPT, 0},
    {"STATUS_ACCEPTED\0", 0x102, Do::STATUS, 0, Want::ACCEPT, 0},
    {"ARGV_256\0", 0x102, Do::ARGS, 0, Want::ACCEPT, 0},
    {"ENV_256\0", 0x102, Do::ARGS, kEnv, Want::ACCEPT, 0},
    {"PATH_OK_2\0", 0x103, Do::PATH, OK, Want::ACCEPT, 0},
    {"ENV_257\0", 0x103, Do::ARGS, kEnv | kOverBound, Want::FAIL, err(LoaderError::MALFORMED)},
    {"STATUS_ARGS_REFUSED\0LOADER_ARGS_BOUNDED", 0x103, Do::STATUS, 0, Want::FAIL, err(LoaderError::MALFORMED)},
    {"START_OK\0", 0x102, Do::START, 0, Want::EXIT, kOkExit},
    {"STATUS_EXITED\0", 0x102, Do::STATUS, 0, Want::FINAL, kOkExit},
    {"STATUS_REPEAT\0LOADER_RESPONSE_STATES", 0x102, Do::STATUS, 0, Want::FINAL, kOkExit},
    inspect("INSPECT_OK\0LOADER_NO_AUTHORITY", 0x102),
    only_proof("\0LOADER_STATIC_BRIDGE"),
};

inline constexpr Row kFsDiscovery[] = {
    launch_exit("LAUNCH_OK\0LOADER_FS_DISCOVERY", 0x201, OK, kOkExit),
    launch("LAUNCH_MISSING\0LOADER_FS_MISSING", 0x202, MISSING, LoaderError::NOT_FOUND),
    launch("LAUNCH_DIRECTORY\0LOADER_FS_DIRECTORY", 0x203, BIN_DIR, LoaderError::IS_DIRECTORY),
    {"PATH_MALFORMED\0LOADER_FS_MALFORMED", 0x204, Do::PATH, EMPTY_PART, Want::FAIL, err(LoaderError::MALFORMED)},
    launch("LAUNCH_DENIED\0LOADER_FS_DENIED", 0x205, DENIED, LoaderError::DENIED),
    launch("LAUNCH_OVERSIZED\0LOADER_FS_OVERSIZED", 0x206, OVERSIZED, LoaderError::OVERSIZED),
    launch("LAUNCH_STALE\0", 0x207, STALE, LoaderError::STALE_SOURCE),
    inspect("INSPECT_STALE\0LOADER_FS_STALE", 0x207),
    launch("LAUNCH_BAD_ELF\0LOADER_FS_BAD_ELF", 0x208, BAD_ELF, LoaderError::BAD_ELF),
    launch("LAUNCH_BAD_PLAN\0LOADER_FS_BAD_PLAN", 0x209, BAD_PLAN, LoaderError::INVALID_LOAD_PLAN),
    launch("LAUNCH_NEEDS_DYNAMIC\0LOADER_FS_REQUIRE_DYNAMIC", 0x20A, NEEDS_DYNAMIC, LoaderError::REQUIRE_DYNAMIC),
};

inline constexpr Row kMaterializedLaunch[] = {
    launch_exit("LAUNCH_OK\0", 0x301, OK, kOkExit),
    launch_exit("LAUNCH_ALT\0", 0x302, ALT, kAltExit),
    only_proof("\0LOADER_OK_EXIT"),
    only_proof("\0LOADER_ALT_EXIT"),
    launch("LAUNCH_STALE\0LOADER_STALE_SOURCE", 0x303, STALE, LoaderError::STALE_SOURCE),
    inspect("INSPECT_STALE\0", 0x303),
    inspect("INSPECT_OK\0LOADER_PROCESS_HANDOFF", 0x301),
};

inline constexpr Row kCleanupAuthority[] = {
    launch("FAULT_1\0", loader::fault_request(1), OK, LoaderError::CLEANUP_FAULT),
    inspect("INSPECT_FAULT_1\0LOADER_CLEANUP_1", loader::fault_request(1)),
    launch("FAULT_2\0", loader::fault_request(2), OK, LoaderError::CLEANUP_FAULT),
    inspect("INSPECT_FAULT_2\0LOADER_CLEANUP_2", loader::fault_request(2)),
    launch("FAULT_3\0", loader::fault_request(3), OK, LoaderError::CLEANUP_FAULT),
    inspect("INSPECT_FAULT_3\0LOADER_CLEANUP_3", loader::fault_request(3)),
    launch("FAULT_4\0", loader::fault_request(4), OK, LoaderError::CLEANUP_FAULT),
    inspect("INSPECT_FAULT_4\0LOADER_CLEANUP_4", loader::fault_request(4)),
    launch_exit("LAUNCH_OK\0", 0x401, OK, kOkExit),
    inspect("INSPECT_OK\0LOADER_AUTHORITY_DENIED", 0x401),
};

// Every row's names as verify.hpp wants them ([A-Z0-9_], a step of 1..24
// characters except on PROOF rows, a proof of at most 40), each table's
// proofs present. Reading past a row's names in a constant expression
// fails the build, so a row written "STEP" without its "\0" is caught too.
constexpr bool name_ok(std::string_view n, std::size_t max) {
  if (n.size() > max) return false;
  for (const char c : n) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}
constexpr bool names_ok(std::span<const Row> rows) {
  for (const Row& r : rows) {
    if ((r.what == Do::PROOF) != step_of(r).empty() || !name_ok(step_of(r), 24) || !name_ok(proof_of(r), 40)) {
      return false;
    }
    if (r.what == Do::PROOF && proof_of(r).empty()) return false;
  }
  return true;
}
static_assert(names_ok(kContract) && names_ok(kFsDiscovery) && names_ok(kMaterializedLaunch) &&
              names_ok(kCleanupAuthority));

}  // namespace loader_script

// One verifier per table.
template <const auto& kRows>
class LoaderVerifier {
 public:
  constexpr Step next(const Context& ctx, const Reply* reply) { return script_.next(ctx, reply, kRows); }

 private:
  loader_script::Script script_;
};

using LoaderContract = LoaderVerifier<loader_script::kContract>;
using LoaderFsDiscovery = LoaderVerifier<loader_script::kFsDiscovery>;
using LoaderMaterializedLaunch = LoaderVerifier<loader_script::kMaterializedLaunch>;
using LoaderCleanupAuthority = LoaderVerifier<loader_script::kCleanupAuthority>;

}  // namespace rootd::verify
