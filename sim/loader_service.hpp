// The simulated loaderd: launches programs by path (docs/loaderd-protocol.md)
// and really runs them. It reads and writes every message with the codecs of
// rootd/loader_protocol.hpp, which rootd's loader verifiers share.
//
// LAUNCH_START reads the executable through ExecutableSources (vfsd's public
// namespace), plans its static load with ElfImage (sim/elf_image.hpp), has
// procd create the process in the kernel model holding no capability at all
// (Launcher::loader: its events go to this launcher, never to rootd), starts
// it and runs its image to its end under a PtraceRunner, bounded in time.
// The exit code the reply carries is the one the program passed to the
// service exit call (abi::Syscall::EXIT); a program that makes any other
// system call, faults, or outlives the bound is stopped and reported with
// kCrashExitCode. A CALL takes no simulated time, so a launch that worked
// answers EXITED at once.
//
// While a request runs, loaderd holds its scratch in its own cspace, two
// slots per request from kLoaderScratchFirstSlot: the frame holding the
// bytes it read, and the process cap procd handed back. Both are dropped
// when the request ends; LAUNCH_INSPECT counts what is still there, and the
// launched process's caps, from the kernel model.
//
// ElfProblem -> loader error:
//   needs_interpreter, needs_dynamic_linking          -> REQUIRE_DYNAMIC
//   needs_thread_local_storage, reserved_segment_type,
//   segment_*, segments_*, no_load_segments,
//   entry_not_executable                              -> INVALID_LOAD_PLAN
//   anything else (the ELF header itself)             -> BAD_ELF
//
// Verifier fault points of the loaderd service (services.hpp):
//   wrong-reply  a state the request cannot be in: LAUNCH_PATH and LAUNCH_ARGS
//                answer RUNNING, LAUNCH_START and LAUNCH_STATUS answer
//                ACCEPTED (a state moving backwards), LAUNCH_INSPECT answers
//                with reply label 1
//   wrong-data   EXITED carries exit code + 1, FAILED another error, and
//                LAUNCH_INSPECT one capability more than the process holds
//   extra-cap    every reply carries a SEND cap to loaderd's own endpoint
//   slow         LAUNCH_START and LAUNCH_STATUS answer RUNNING for ever
// The launch itself still happens as asked: only the reply is wrong.
//
// One error beyond the contract's: kLauncherGone (12, a number the contract
// reserves), when procd is not running so no process can be made. A booted
// system wires loaderd to a running procd; only a test without one sees it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "elf_image.hpp"
#include "kernel_model.hpp"
#include "rootd/loader_protocol.hpp"
#include "service_protocols.hpp"

namespace erix::sim {

class PtraceRunner;

inline constexpr auto kLauncherGone = static_cast<rootd::loader::LoaderError>(12);

// One read of an executable's source through the public namespace.
struct SourceRead {
  std::vector<char> bytes;   // at most the limit asked for
  bool is_directory = false;
  bool executable = false;   // the mode grants execute
  std::uint64_t generation = 0;  // the file's generation when the read began
};

// Where loaderd reads executables: vfsd's namespace. `read_source` returns
// nullopt for a path that names nothing; `generation` is the file's
// generation now (nullopt when it is gone). A file whose generation after
// the read differs from the one the read began at changed while loaderd
// read it (STALE_SOURCE).
class ExecutableSources {
 public:
  virtual ~ExecutableSources() = default;
  virtual std::optional<SourceRead> read_source(std::string_view path, std::size_t limit) = 0;
  virtual std::optional<std::uint64_t> generation(std::string_view path) const = 0;
};

// A plain in-memory namespace: files seeded by absolute path; every proper
// prefix of a seeded path is a directory. An `unstable` file changes (its
// generation moves on) each time it is read.
class MemorySources final : public ExecutableSources {
 public:
  void seed(std::string path, std::vector<char> bytes, std::uint32_t mode, bool unstable = false);
  std::optional<SourceRead> read_source(std::string_view path, std::size_t limit) override;
  std::optional<std::uint64_t> generation(std::string_view path) const override;
  std::uint64_t reads() const { return reads_; }

 private:
  struct File {
    std::vector<char> bytes;
    std::uint32_t mode = 0;
    bool unstable = false;
    std::uint64_t generation = 1;
  };
  bool is_directory(std::string_view path) const;
  std::map<std::string, File, std::less<>> files_;
  std::uint64_t reads_ = 0;
};

// loaderd's scratch: slots kLoaderScratchFirstSlot + 2 * n (image frame) and
// + 1 (process cap) for its n-th request; kMaxLoaderRequests of them fit
// below the cspace's end. A LAUNCH_PATH beyond that fails MALFORMED.
inline constexpr std::uint32_t kLoaderScratchFirstSlot = 3072;
inline constexpr std::uint32_t kMaxLoaderRequests = (kChildSlotCount - kLoaderScratchFirstSlot) / 2;
constexpr bool is_loader_scratch_slot(std::uint32_t slot) {
  return slot >= kLoaderScratchFirstSlot && slot < kChildSlotCount;
}

// How a launched program's run ended.
enum class RunEnd : std::uint8_t {
  exited,        // it made the exit call: `code` is its exit code
  other_call,    // it made another system call
  fault,         // it faulted (a signal, int 0x80)
  time_limit,    // it was still running at the bound
  lost,          // the runner could not start it, or lost it (killed from outside)
};
std::string_view run_end_name(RunEnd end);

struct RunResult {
  RunEnd end = RunEnd::lost;
  std::uint64_t code = 0;  // the exit code for `exited`, else kCrashExitCode
  std::string note;        // what happened, for diagnostics
};

struct RunBounds {
  std::chrono::milliseconds limit{2000};
  // Called once the runner has the program stopped at its entry; a test can
  // kill it there to show the exit code comes from a real run.
  std::function<void(PtraceRunner&)> after_start;
};

// Runs `image` to its end in a PtraceRunner (with a small stack, no
// arguments) and says how it ended. The child never outlives the call.
RunResult run_to_exit(const ElfImage& image, const RunBounds& bounds);

// One request, as loaderd keeps it.
struct LaunchRequest {
  std::uint32_t id = 0;
  std::uint32_t ordinal = 0;  // n: its scratch slots
  std::string path;
  rootd::loader::State state = rootd::loader::State::ACCEPTED;
  rootd::loader::LoaderError error = rootd::loader::LoaderError::NONE;
  std::uint8_t cleanup_step = 0;  // CLEANUP_FAULT: the step it failed at
  Pid pid = kNoPid;   // what replies name: none once FAILED
  Pid made = kNoPid;  // the process procd made for it, even if since destroyed (INSPECT reads it)
  std::uint64_t exit_code = 0;
  std::optional<RunResult> run;
  // argv (0) and env (1) blocks: announced length, bytes so far.
  struct Block {
    std::optional<std::uint16_t> length;
    std::vector<char> bytes;
    std::uint32_t chunks = 0;
    bool complete() const { return length.has_value() && bytes.size() == *length; }
  };
  Block blocks[2];
};

class LoaderService final : public ProtocolHandler {
 public:
  LoaderService(KernelModel& model, Services& services);

  // Where executables are read; until set, every path is NOT_FOUND.
  void set_sources(std::shared_ptr<ExecutableSources> sources) { sources_ = std::move(sources); }
  ExecutableSources* sources() const { return sources_.get(); }
  RunBounds& run_bounds() { return bounds_; }

  std::optional<CallReply> on_call(Pid receiver, const ServiceRecord& rec, const abi::Message& message,
                                   const std::optional<Cap>& carried) override;

  const LaunchRequest* request(std::uint32_t id) const;
  const std::map<std::uint32_t, LaunchRequest>& requests() const { return requests_; }

 private:
  abi::Message launch_path(const abi::Message& m);
  abi::Message launch_args(const abi::Message& m);
  abi::Message launch_start(Pid loaderd, const abi::Message& m);
  abi::Message request_ref(Pid loaderd, const abi::Message& m);
  abi::Message status_of(std::uint32_t id) const;
  abi::Message inspect(Pid loaderd, std::uint32_t id) const;
  // Runs every step of LAUNCH_START; leaves `r` final (EXITED or FAILED).
  void materialize(Pid loaderd, LaunchRequest& r);
  void fail(LaunchRequest& r, rootd::loader::LoaderError error, std::uint8_t step = 0);
  void drop_scratch(Pid loaderd, const LaunchRequest& r);
  Pid procd() const;

  KernelModel& model_;
  Services& services_;
  std::shared_ptr<ExecutableSources> sources_;
  RunBounds bounds_;
  std::map<std::uint32_t, LaunchRequest> requests_;
  std::uint32_t next_ordinal_ = 0;
};

}  // namespace erix::sim
