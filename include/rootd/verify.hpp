// The verifier interface: what an integration image's verifiers are, what
// they may ask of the engine, and which ones a boot runs.
//
// After every service is READY and before the terminal READY line, an
// integration image drives the booted system through its public protocols
// (vfsd, loaderd, fbcond, inputd) and prints one `ERIX_ROOTD:PROOF:<NAME>`
// line per proof that held. A verifier is a small sans-IO state machine like
// the engine's phase units: the VERIFY phase (boot_verify.hpp) asks it for
// its next Step, performs that step, and hands the reply back. It never
// touches the kernel itself, so the same verifier runs in the freestanding
// image, in a constexpr scripted boot and under the simulator.
//
// Runtime and release images instantiate none of this: the VERIFY phase is
// empty unless the variant enables verifiers, so no verifier code or name is
// in their loaded bytes.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"

namespace rootd::verify {

// Every verifier there is, in the order a boot runs them.
enum class VerifierId : std::uint8_t {
  STORAGE_MOUNT,               // on every mount: mkdir, create, write, read, readdir, unlink, rmdir; read-only refuses writes
  VOLATILE_VFS,                // a memory-backed mount: rename, truncate, symlink/readlink, link refused, metadata
  LOADER_CONTRACT,             // loaderd's LAUNCH_PATH contract
  LOADER_FS_DISCOVERY,         // executable discovery and every typed loader error
  LOADER_MATERIALIZED_LAUNCH,  // /data/bin/loader-ok and -alt launched from disk, distinct exit codes
  LOADER_CLEANUP_AUTHORITY,    // injected materialization faults cleaned up; no inherited authority
  FRAMEBUFFER,                 // fbcond's retained stream holds what was written to it
  INPUT,                       // a key and a mouse event observed through inputd
};
inline constexpr std::size_t kVerifierCount = 8;

// The verifier's name in DETAIL lines ("LOADER_CONTRACT").
constexpr std::string_view verifier_name(VerifierId v) {
  switch (v) {
    case VerifierId::STORAGE_MOUNT: return "STORAGE_MOUNT";
    case VerifierId::VOLATILE_VFS: return "VOLATILE_VFS";
    case VerifierId::LOADER_CONTRACT: return "LOADER_CONTRACT";
    case VerifierId::LOADER_FS_DISCOVERY: return "LOADER_FS_DISCOVERY";
    case VerifierId::LOADER_MATERIALIZED_LAUNCH: return "LOADER_MATERIALIZED_LAUNCH";
    case VerifierId::LOADER_CLEANUP_AUTHORITY: return "LOADER_CLEANUP_AUTHORITY";
    case VerifierId::FRAMEBUFFER: return "FRAMEBUFFER";
    case VerifierId::INPUT: return "INPUT";
  }
  return "?";
}

// How a verifier's check failed. Each is one reason code (status.hpp,
// VERIFY_*); the DETAIL line adds the verifier, the step and the service:
//   ERIX_ROOTD:DETAIL:VERIFY_<FAILURE>:<VERIFIER>:<STEP>:<service>
enum class Failure : std::uint8_t {
  CALL_FAILED,  // the kernel refused the call (the service is gone, the slot is wrong)
  WRONG_REPLY,  // a reply label or state the protocol does not allow at this step
  WRONG_DATA,   // a well-formed reply whose content is not what the step established
  EXTRA_CAP,    // a reply carried a capability where none may travel
  BUDGET,       // the service kept answering "not yet" past the step's budget
  MISSING,      // the config lacks a service the verifier needs (a profile would have refused it)
};

// What a verifier wants done next.
enum class StepKind : std::uint8_t {
  CALL,   // CALL `service`'s endpoint with `message`; the reply comes back to next()
  PROOF,  // print ERIX_ROOTD:PROOF:<name>; next() is called again with no reply
  DONE,   // every proof of this verifier held
  FAIL,   // `failure` at step `name`, about `service`
};

struct Step {
  StepKind kind = StepKind::DONE;
  std::uint16_t service = bcfg::kNoIndex;  // CALL: whose endpoint; FAIL: the service at fault
  abi::Message message{};                  // CALL
  // CALL and FAIL: the step's name (upper case, [A-Z0-9_], at most 24
  // characters); PROOF: the proof's name (the same alphabet, at most 40).
  std::string_view name{};
  Failure failure = Failure::WRONG_REPLY;  // FAIL
};

constexpr Step call(std::uint16_t service, std::string_view step, const abi::Message& m) {
  Step s;
  s.kind = StepKind::CALL;
  s.service = service;
  s.name = step;
  s.message = m;
  return s;
}
constexpr Step proof(std::string_view name) {
  Step s;
  s.kind = StepKind::PROOF;
  s.name = name;
  return s;
}
constexpr Step done() { return Step{}; }
constexpr Step fail(Failure f, std::string_view step, std::uint16_t service) {
  Step s;
  s.kind = StepKind::FAIL;
  s.failure = f;
  s.name = step;
  s.service = service;
  return s;
}

// The reply to a verifier's CALL. The VERIFY phase handles two cases before
// a verifier sees them: a call the kernel refused (Failure::CALL_FAILED) and
// a reply that carried a capability (rootd deletes it at once, then
// Failure::EXTRA_CAP). So `message.cap` is always kNoSlot here; a verifier
// judges the label and the words.
struct Reply {
  abi::Message message{};
};

// What a verifier may read of the booted system: the config (services by
// role, providers, mounts) and each service's role, resolved once.
struct Context {
  const bcfg::View& cfg;
  const ServiceRoles& roles;

  // The first service of `role` in config order, or kNoIndex.
  constexpr std::uint16_t service_of(RoleId role) const {
    for (std::size_t s = 0; s < cfg.service_count(); ++s) {
      const Role* r = roles.role(s);
      if (r != nullptr && r->id == role) return static_cast<std::uint16_t>(s);
    }
    return bcfg::kNoIndex;
  }
};

// Every verifier is a class with
//   constexpr Step next(const Context& ctx, const Reply* reply);
// called first with reply == nullptr, then after each CALL with its reply
// and after each PROOF with nullptr, until it returns DONE or FAIL. A
// verifier bounds its own retries ("not yet" answers) and fails with BUDGET
// past them; the VERIFY phase also stops any verifier after
// kMaxCallsPerVerifier calls, as BUDGET at the step it was on.
inline constexpr std::uint32_t kMaxCallsPerVerifier = 4096;

// Which verifiers a boot runs, as a bit set over VerifierId, chosen by the
// profile and by what the config holds.
struct VerifierSet {
  std::uint32_t bits = 0;
  constexpr bool has(VerifierId v) const { return ((bits >> static_cast<unsigned>(v)) & 1U) != 0; }
  constexpr VerifierSet with(VerifierId v) const {
    return VerifierSet{bits | (std::uint32_t{1} << static_cast<unsigned>(v))};
  }
  constexpr bool empty() const { return bits == 0; }
};

// The verifiers a boot of `cfg` runs in an integration image:
// - a phase profile names its own (phase0's probe is not a verifier);
// - any profile whose config mounts storage also proves every mount
//   (STORAGE_MOUNT), except the loader scenarios that prove only their own
//   step, and a writable memory-backed mount gets the volatile-VFS proof.
constexpr VerifierSet select_verifiers(const bcfg::View& cfg) {
  const std::string_view p = cfg.profile();
  VerifierSet set;
  bool mounts = cfg.mount_count() > 0;
  if (p == "phase3-framebuffer") set = set.with(VerifierId::FRAMEBUFFER);
  if (p == "phase3-input") set = set.with(VerifierId::INPUT);
  if (p == "phase4-loader-contract") set = set.with(VerifierId::LOADER_CONTRACT);
  if (p == "phase4-loader-fs-discovery" || p == "phase4-loader-closure") {
    set = set.with(VerifierId::LOADER_FS_DISCOVERY);
  }
  if (p == "phase4-loader-materialized-launch" || p == "phase4-loader-closure") {
    set = set.with(VerifierId::LOADER_MATERIALIZED_LAUNCH);
    mounts = false;
  }
  if (p == "phase4-loader-cleanup-authority" || p == "phase4-loader-closure") {
    set = set.with(VerifierId::LOADER_CLEANUP_AUTHORITY);
    mounts = false;
  }
  if (mounts) {
    set = set.with(VerifierId::STORAGE_MOUNT);
    for (std::size_t m = 0; m < cfg.mount_count(); ++m) {
      const bcfg::Mount mount = cfg.mount(m);
      const bcfg::Provider provider = cfg.provider(mount.provider);
      if (provider.block == bcfg::kNoIndex && !mount.read_only) set = set.with(VerifierId::VOLATILE_VFS);
    }
  }
  return set;
}

}  // namespace rootd::verify
