// PtraceRunner: runs a freestanding static ELF (rootd) as a traced child of
// this process and hands every system call it makes to the caller.
//
// The child is a fork of the caller. It maps the image's PT_LOAD segments and
// the caller's extra regions at their fixed addresses, then stops itself; the
// parent replaces all of its registers (rip = entry) and continues it with
// PTRACE_SYSEMU, so every `syscall` instruction stops the child *instead of*
// entering the host kernel. The caller answers each call with resume(result).
// Whatever else of the host process stays mapped in the child (libc, the
// runner's own code) is never called: after the register switch the only
// code that runs is the image's.
//
// Facts the caller relies on:
// - The calling program must be PIE (so 0x400000 and the low addresses the
//   image uses are free) and must not set SIGCHLD to SIG_IGN.
// - All calls must come from the thread that called start(): ptrace requests
//   are only accepted from the tracing thread.
// - Only the 64-bit `syscall` instruction is a kernel call. `int 0x80` also
//   stops the child under SYSEMU; it is reported as FaultKind::illegal_call.
//   Calls into the legacy vsyscall page bypass SYSEMU (they can only read
//   the host's time or CPU number).
// - The child never outlives the runner: the destructor kills and reaps it,
//   PTRACE_O_EXITKILL kills it if the tracer dies, and PR_SET_PDEATHSIG
//   covers the window before the tracer attaches its options.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "elf_image.hpp"
#include "expected.hpp"
#include "rootd/bytes.hpp"

namespace erix::sim {

// Memory other than the image mapped into the child before it starts, e.g.
// the handoff blob and boot modules (read-only) and the stack (read-write).
// The range must be free in the host process too, since the child is its
// fork. Addresses from 64 KiB up to 0x7fff8000 are free in both plain and
// AddressSanitizer builds (ASan reserves its shadow right above that).
struct ExtraRegion {
  std::string name;             // names the region in error messages
  std::uint64_t vaddr = 0;      // page-aligned
  std::uint64_t size = 0;       // bytes, > 0; the mapping is rounded up to whole pages
  std::vector<char> contents;   // copied to vaddr; the rest of the region is zero
  Protection protection;
};

struct LaunchOptions {
  std::vector<ExtraRegion> regions;
  // rsp at the entry point, used as given. The SysV process-entry convention
  // is a 16-byte aligned rsp with no return address pushed; rootd's _start
  // realigns to 16 before its first call anyway.
  std::uint64_t stack_pointer = 0;
  // rdi, rsi, rdx at the entry point (handoff pointer, handoff size, root
  // endpoint slot for rootd). Every other general register starts at 0.
  std::array<std::uint64_t, 3> arguments{};
  // Wall-clock time next_event() waits for a stop before it reports Timeout.
  std::chrono::milliseconds quiet_limit{5000};
};

struct RunnerError {
  std::string message;
  int error_number = 0;  // errno of the failing host call, 0 if none
};

// The child executed `syscall`. It is stopped until resume().
struct SyscallStop {
  std::uint64_t number = 0;                // orig_rax
  std::array<std::uint64_t, 6> args{};     // rdi, rsi, rdx, r10, r8, r9
  std::uint64_t rip = 0;                   // address after the syscall instruction
};

enum class FaultKind : std::uint8_t {
  signal,        // the CPU or the host kernel raised a signal (SIGSEGV, SIGILL, ...)
  illegal_call,  // a system call through anything but `syscall` (int 0x80)
};

// The child cannot continue; read its memory or registers, then kill it.
struct FaultStop {
  FaultKind kind = FaultKind::signal;
  int signal = 0;        // 0 for illegal_call
  int code = 0;          // si_code of the signal, 0 for illegal_call
  std::uint64_t rip = 0;      // the faulting instruction (for int3, the one after it)
  std::uint64_t address = 0;  // si_addr for memory faults, else 0
  std::string description;
};

struct Exited {
  int code = 0;
};
struct Killed {
  int signal = 0;
};
// No stop within the limit; the child is still running and next_event() may
// be called again.
struct Timeout {
  std::chrono::milliseconds waited{0};
};

using RunEvent = std::variant<SyscallStop, FaultStop, Exited, Killed, Timeout>;

std::string describe(const RunEvent& event);

class PtraceRunner {
 public:
  // Largest single read_memory/write_memory transfer: the caller often takes
  // lengths from the child's registers.
  static constexpr std::size_t kMaxTransfer = std::size_t{64} << 20;
  // How long start() waits for the child to map everything and stop itself.
  static constexpr std::chrono::milliseconds kStartLimit{10000};

  enum class MemoryPath : std::uint8_t {
    // process_vm_readv/writev: honour the child's page permissions, so a write
    // to its read-only memory fails as a kernel copy to user memory would.
    process_vm,
    // /proc/<pid>/mem: used when process_vm_* is unavailable; writes to
    // read-only pages succeed there (the kernel forces them for a tracer).
    proc_mem,
  };

  static Expected<PtraceRunner, RunnerError> start(const ElfImage& image, const LaunchOptions& options);

  PtraceRunner(const PtraceRunner&) = delete;
  PtraceRunner& operator=(const PtraceRunner&) = delete;
  PtraceRunner(PtraceRunner&& other) noexcept;
  PtraceRunner& operator=(PtraceRunner&& other) noexcept;
  ~PtraceRunner();

  pid_t pid() const { return pid_; }
  // False once the child has been reaped (exited, killed or kill()ed).
  bool alive() const { return state_ != State::gone; }

  // Waits for the next stop, at most quiet_limit (from LaunchOptions unless
  // given). Only valid while the child runs: after start(), resume() or a
  // Timeout.
  Expected<RunEvent, RunnerError> next_event();
  Expected<RunEvent, RunnerError> next_event(std::chrono::milliseconds quiet_limit);

  // Completes the pending SyscallStop: rax = result (and rdx = second_result,
  // the second return register) and lets the child run on.
  Expected<void, RunnerError> resume(std::uint64_t result);
  Expected<void, RunnerError> resume(std::uint64_t result, std::uint64_t second_result);

  // The child's registers; only while it is stopped.
  Expected<user_regs_struct, RunnerError> registers() const;

  // Copies from or to the child's memory while it is alive. An unmapped (or,
  // for process_vm writes, read-only) byte anywhere in the range fails the
  // whole call with an error; nothing is thrown.
  Expected<std::vector<char>, RunnerError> read_memory(std::uint64_t vaddr, std::size_t length) const;
  Expected<void, RunnerError> read_memory(std::uint64_t vaddr, rootd::MutableBytes out) const;
  Expected<void, RunnerError> write_memory(std::uint64_t vaddr, rootd::Bytes bytes);

  MemoryPath memory_path() const { return memory_path_; }
  void set_memory_path(MemoryPath path) { memory_path_ = path; }

  // SIGKILL and reap; idempotent. The destructor calls it.
  void kill();

 private:
  enum class State : std::uint8_t { running, at_syscall, at_fault, gone };

  PtraceRunner(pid_t pid, std::chrono::milliseconds quiet_limit);
  Expected<RunEvent, RunnerError> classify_stop(int status);
  Expected<void, RunnerError> transfer(std::uint64_t vaddr, char* local, std::size_t length, bool write) const;

  pid_t pid_ = -1;
  State state_ = State::gone;
  std::chrono::milliseconds quiet_limit_{0};
  user_regs_struct stop_regs_{};  // registers at the current syscall stop
  MemoryPath memory_path_ = MemoryPath::process_vm;
  mutable int proc_mem_fd_ = -1;  // opened on first use of the /proc path
};

}  // namespace erix::sim
