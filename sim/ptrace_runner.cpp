#include "ptrace_runner.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

namespace erix::sim {
namespace {

using Clock = std::chrono::steady_clock;

RunnerError host_error(std::string what, int error_number) {
  return RunnerError{fmt::format("{}: {}", what, std::strerror(error_number)), error_number};
}

RunnerError plain_error(std::string what) { return RunnerError{std::move(what), 0}; }

std::string signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signal);
}

// The si_code meanings worth naming in a fault report.
std::string_view signal_code_name(int signal, int code) {
  switch (code) {
    case SI_USER: return "sent by kill()";
    case SI_KERNEL: return "raised by the kernel (e.g. a general protection fault)";
    case SI_TKILL: return "sent by tkill()";
    default: break;
  }
  if (signal == SIGSEGV) {
    if (code == SEGV_MAPERR) return "SEGV_MAPERR: address not mapped";
    if (code == SEGV_ACCERR) return "SEGV_ACCERR: access not permitted by the mapping";
  }
  if (signal == SIGILL) {
    if (code == ILL_ILLOPC) return "ILL_ILLOPC: illegal opcode";
    if (code == ILL_ILLOPN) return "ILL_ILLOPN: illegal operand";
    if (code == ILL_PRVOPC) return "ILL_PRVOPC: privileged opcode";
  }
  if (signal == SIGFPE) {
    if (code == FPE_INTDIV) return "FPE_INTDIV: integer divide by zero";
    if (code == FPE_INTOVF) return "FPE_INTOVF: integer overflow";
  }
  if (signal == SIGBUS) {
    if (code == BUS_ADRALN) return "BUS_ADRALN: misaligned address";
    if (code == BUS_ADRERR) return "BUS_ADRERR: nonexistent physical address";
  }
  if (signal == SIGTRAP) {
    if (code == TRAP_BRKPT) return "TRAP_BRKPT: breakpoint";
    if (code == TRAP_TRACE) return "TRAP_TRACE: trace trap";
  }
  return "";
}

// Closes a descriptor on every path out of start().
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// One mapping the child makes, computed entirely by the parent so that the
// child, between fork() and its SIGSTOP, only issues system calls and one
// memcpy per mapping.
struct MapStep {
  std::uint64_t start = 0;   // page-aligned
  std::uint64_t length = 0;  // whole pages
  std::uint64_t copy_to = 0;
  const char* copy_from = nullptr;
  std::size_t copy_length = 0;
  int protection = PROT_NONE;
  std::string name;  // parent only, for error messages
};

enum class ChildStep : int { death_signal, parent_gone, trace_me, map, map_moved, protect };

struct ChildFailure {
  int step = 0;
  int index = 0;
  int error_number = 0;
};

// Exit code of a child that could not set itself up; the reason is in the
// report pipe.
constexpr int kChildSetupFailed = 127;

int to_prot(const Protection& p) {
  return (p.read ? PROT_READ : 0) | (p.write ? PROT_WRITE : 0) | (p.execute ? PROT_EXEC : 0);
}

std::uint64_t page_round_up(std::uint64_t v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }

// Runs in the forked child: raw system calls only (no allocation, no locks,
// nothing a sanitizer intercepts), then a SIGSTOP the tracer takes over from.
[[noreturn]] void child_main(const MapStep* steps, std::size_t count, pid_t parent, int report_fd) {
  auto fail = [report_fd](ChildStep step, std::size_t index, int error_number) {
    const ChildFailure failure{static_cast<int>(step), static_cast<int>(index), error_number};
    [[maybe_unused]] const auto written = ::syscall(SYS_write, report_fd, &failure, sizeof failure);
    ::_exit(kChildSetupFailed);
  };
  if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(ChildStep::death_signal, 0, errno);
  // The parent may have died before the death signal was armed.
  if (static_cast<pid_t>(::syscall(SYS_getppid)) != parent) fail(ChildStep::parent_gone, 0, 0);
  if (::syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) != 0) fail(ChildStep::trace_me, 0, errno);
  for (std::size_t i = 0; i < count; ++i) {
    const MapStep& s = steps[i];
    const long at = ::syscall(SYS_mmap, s.start, s.length, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (at == -1) fail(ChildStep::map, i, errno);
    // Kernels before 4.17 ignore MAP_FIXED_NOREPLACE and pick another address.
    if (static_cast<std::uint64_t>(at) != s.start) fail(ChildStep::map_moved, i, 0);
    if (s.copy_length != 0) {
      std::memcpy(reinterpret_cast<void*>(s.copy_to), s.copy_from, s.copy_length);
    }
    if (::syscall(SYS_mprotect, s.start, s.length, s.protection) != 0) fail(ChildStep::protect, i, errno);
  }
  // The image never makes a real system call, but nothing of the host should
  // stay reachable in the child: descriptors go. Signal dispositions are left
  // alone because they never come into play: a traced child stops at every
  // signal before its disposition is consulted, and the runner reports the
  // stop as a fault instead of delivering the signal. Unblocking all signals
  // makes sure each one produces that stop.
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  const std::uint64_t empty_mask = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, sizeof empty_mask);
  ::syscall(SYS_kill, ::syscall(SYS_getpid), SIGSTOP);
  // Reached only if the tracer continued without switching to the image.
  ::_exit(kChildSetupFailed);
}

std::string describe_child_failure(const ChildFailure& f, const std::vector<MapStep>& steps) {
  const std::string what = f.index >= 0 && static_cast<std::size_t>(f.index) < steps.size()
                               ? fmt::format("{} [0x{:x}, 0x{:x})", steps[f.index].name, steps[f.index].start,
                                             steps[f.index].start + steps[f.index].length)
                               : std::string("?");
  const std::string reason = f.error_number != 0 ? std::strerror(f.error_number) : "no error code";
  switch (static_cast<ChildStep>(f.step)) {
    case ChildStep::death_signal: return fmt::format("child: PR_SET_PDEATHSIG failed: {}", reason);
    case ChildStep::parent_gone: return "child: the parent exited before the child was set up";
    case ChildStep::trace_me: return fmt::format("child: PTRACE_TRACEME failed: {}", reason);
    case ChildStep::map:
      return fmt::format("child: mapping {} failed: {}{}", what, reason,
                         f.error_number == EEXIST ? " (the range is already in use in the host process)" : "");
    case ChildStep::map_moved: return fmt::format("child: the kernel did not map {} at its fixed address", what);
    case ChildStep::protect: return fmt::format("child: mprotect of {} failed: {}", what, reason);
  }
  return "child: setup failed at an unknown step";
}

// Waits up to `limit` for a state change of `pid`. waitpid has no timeout, so
// this polls: a short burst of yields catches a child that stops right away
// (the common case, a quick succession of system calls) without sleeping,
// then sleeps back off to 1 ms so a spinning child costs little.
Expected<std::optional<int>, RunnerError> wait_for_change(pid_t pid, std::chrono::nanoseconds limit) {
  constexpr int kYieldPolls = 64;
  constexpr std::chrono::microseconds kFirstSleep{20};
  constexpr std::chrono::microseconds kLongestSleep{1000};
  const auto deadline = Clock::now() + limit;
  int yields = 0;
  std::chrono::microseconds sleep = kFirstSleep;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG | __WALL);
    if (r == pid) return std::optional<int>(status);
    if (r < 0) {
      if (errno == EINTR) continue;
      return unexpected(host_error(fmt::format("waitpid({})", pid), errno));
    }
    const auto now = Clock::now();
    if (now >= deadline) return std::optional<int>();
    if (yields < kYieldPolls) {
      ++yields;
      ::sched_yield();
      continue;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(sleep, deadline - now));
    sleep = std::min(sleep * 2, kLongestSleep);
  }
}

Expected<void, RunnerError> check_region(const ExtraRegion& r) {
  if (r.size == 0) return unexpected(plain_error(fmt::format("region '{}' has size 0", r.name)));
  if (r.vaddr % kPageSize != 0) {
    return unexpected(plain_error(fmt::format("region '{}' at 0x{:x} is not page-aligned", r.name, r.vaddr)));
  }
  if (r.contents.size() > r.size) {
    return unexpected(plain_error(
        fmt::format("region '{}' has {} bytes of contents but a size of {}", r.name, r.contents.size(), r.size)));
  }
  if (r.vaddr < kLowestLoadAddress) {
    return unexpected(plain_error(fmt::format("region '{}' at 0x{:x} is below the lowest load address 0x{:x}",
                                              r.name, r.vaddr, kLowestLoadAddress)));
  }
  if (r.vaddr >= kUserAddressLimit || r.size > kUserAddressLimit - r.vaddr ||
      page_round_up(r.vaddr + r.size) > kUserAddressLimit) {
    return unexpected(plain_error(fmt::format("region '{}' [0x{:x}, +0x{:x}) reaches past the user half", r.name,
                                              r.vaddr, r.size)));
  }
  return {};
}

Expected<std::vector<MapStep>, RunnerError> plan_mappings(const ElfImage& image, const LaunchOptions& options) {
  std::vector<MapStep> steps;
  for (const LoadSegment& s : image.segments()) {
    const rootd::Bytes bytes = image.contents(s);
    steps.push_back(MapStep{s.page_start(), s.page_end() - s.page_start(), s.vaddr, bytes.data(), bytes.size(),
                            to_prot(s.protection), fmt::format("PT_LOAD {}", s.header_index)});
  }
  for (const ExtraRegion& r : options.regions) {
    if (auto ok = check_region(r); !ok) return unexpected(ok.error());
    steps.push_back(MapStep{r.vaddr, page_round_up(r.size), r.vaddr, r.contents.data(), r.contents.size(),
                            to_prot(r.protection), fmt::format("region '{}'", r.name)});
  }
  std::vector<const MapStep*> by_address;
  for (const MapStep& s : steps) by_address.push_back(&s);
  std::sort(by_address.begin(), by_address.end(), [](const MapStep* a, const MapStep* b) { return a->start < b->start; });
  for (std::size_t i = 1; i < by_address.size(); ++i) {
    const MapStep& lo = *by_address[i - 1];
    const MapStep& hi = *by_address[i];
    if (lo.start + lo.length > hi.start) {
      return unexpected(plain_error(fmt::format("{} [0x{:x}, 0x{:x}) overlaps {} [0x{:x}, 0x{:x}) (whole pages)",
                                                hi.name, hi.start, hi.start + hi.length, lo.name, lo.start,
                                                lo.start + lo.length)));
    }
  }
  return steps;
}

}  // namespace

std::string describe(const RunEvent& event) {
  struct Describe {
    std::string operator()(const SyscallStop& s) const {
      return fmt::format("syscall {:#x} ({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) returning to rip {:#x}", s.number,
                         s.args[0], s.args[1], s.args[2], s.args[3], s.args[4], s.args[5], s.rip);
    }
    std::string operator()(const FaultStop& f) const { return f.description; }
    std::string operator()(const Exited& e) const { return fmt::format("exited with code {}", e.code); }
    std::string operator()(const Killed& k) const { return fmt::format("killed by {}", signal_name(k.signal)); }
    std::string operator()(const Timeout& t) const {
      return fmt::format("no system call or fault within {} ms", t.waited.count());
    }
  };
  return std::visit(Describe{}, event);
}

PtraceRunner::PtraceRunner(pid_t pid, std::chrono::milliseconds quiet_limit)
    : pid_(pid), state_(State::running), quiet_limit_(quiet_limit) {}

PtraceRunner::PtraceRunner(PtraceRunner&& other) noexcept
    : pid_(other.pid_),
      state_(other.state_),
      quiet_limit_(other.quiet_limit_),
      stop_regs_(other.stop_regs_),
      memory_path_(other.memory_path_),
      proc_mem_fd_(other.proc_mem_fd_) {
  other.pid_ = -1;
  other.state_ = State::gone;
  other.proc_mem_fd_ = -1;
}

PtraceRunner& PtraceRunner::operator=(PtraceRunner&& other) noexcept {
  if (this != &other) {
    kill();
    pid_ = std::exchange(other.pid_, -1);
    state_ = std::exchange(other.state_, State::gone);
    quiet_limit_ = other.quiet_limit_;
    stop_regs_ = other.stop_regs_;
    memory_path_ = other.memory_path_;
    proc_mem_fd_ = std::exchange(other.proc_mem_fd_, -1);
  }
  return *this;
}

PtraceRunner::~PtraceRunner() { kill(); }

void PtraceRunner::kill() {
  if (proc_mem_fd_ >= 0) {
    ::close(proc_mem_fd_);
    proc_mem_fd_ = -1;
  }
  if (state_ == State::gone || pid_ <= 0) {
    state_ = State::gone;
    return;
  }
  ::kill(pid_, SIGKILL);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, __WALL);
    if (r == pid_ && (WIFEXITED(status) || WIFSIGNALED(status))) break;
    if (r < 0 && errno != EINTR) break;  // ECHILD: already reaped elsewhere
  }
  state_ = State::gone;
}

Expected<PtraceRunner, RunnerError> PtraceRunner::start(const ElfImage& image, const LaunchOptions& options) {
  auto steps = plan_mappings(image, options);
  if (!steps) return unexpected(steps.error());

  int report[2] = {-1, -1};
  if (::pipe2(report, O_CLOEXEC) != 0) return unexpected(host_error("pipe2", errno));
  FileDescriptor report_read(report[0]);
  FileDescriptor report_write(report[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return unexpected(host_error("fork", errno));
  if (pid == 0) child_main(steps->data(), steps->size(), parent, report_write.get());
  report_write.reset();

  // From here on, every early return kills and reaps the child.
  PtraceRunner runner(pid, options.quiet_limit);
  auto first = wait_for_change(pid, kStartLimit);
  if (!first) return unexpected(first.error());
  if (!first->has_value()) {
    return unexpected(plain_error(fmt::format("child {} did not stop within {} ms of fork", pid, kStartLimit.count())));
  }
  const int status = **first;
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    runner.state_ = State::gone;
    ChildFailure failure;
    if (::read(report_read.get(), &failure, sizeof failure) == static_cast<ssize_t>(sizeof failure)) {
      return unexpected(plain_error(describe_child_failure(failure, *steps)));
    }
    return unexpected(plain_error(WIFEXITED(status)
                                      ? fmt::format("child exited with code {} before it stopped", WEXITSTATUS(status))
                                      : fmt::format("child was killed by {} before it stopped",
                                                    signal_name(WTERMSIG(status)))));
  }
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
    return unexpected(plain_error(fmt::format("child stopped with {} while setting up its memory",
                                              signal_name(WSTOPSIG(status)))));
  }

  // ptrace() is variadic and reads `data` as a pointer: pass a full word.
  const auto options_word = static_cast<std::uintptr_t>(PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD);
  if (::ptrace(PTRACE_SETOPTIONS, pid, nullptr, reinterpret_cast<void*>(options_word)) != 0) {
    return unexpected(host_error("PTRACE_SETOPTIONS", errno));
  }
  user_regs_struct regs{};
  if (::ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0) return unexpected(host_error("PTRACE_GETREGS", errno));
  // Keep only the segment selectors; every other register is defined here.
  // fs/gs bases go to 0: the image has no TLS, and a stray %fs access should
  // fault rather than reach the host's thread block.
  user_regs_struct entry{};
  entry.cs = regs.cs;
  entry.ss = regs.ss;
  entry.ds = regs.ds;
  entry.es = regs.es;
  entry.fs = regs.fs;
  entry.gs = regs.gs;
  entry.rip = image.entry();
  entry.rsp = options.stack_pointer;
  entry.rdi = options.arguments[0];
  entry.rsi = options.arguments[1];
  entry.rdx = options.arguments[2];
  entry.eflags = 0x202;  // IF and the always-one bit 1
  // Not inside a system call: the kernel must not try to restart one.
  entry.orig_rax = ~0ULL;
  if (::ptrace(PTRACE_SETREGS, pid, nullptr, &entry) != 0) return unexpected(host_error("PTRACE_SETREGS", errno));
  // Signal 0: the SIGSTOP the child sent itself is swallowed here.
  if (::ptrace(PTRACE_SYSEMU, pid, nullptr, nullptr) != 0) return unexpected(host_error("PTRACE_SYSEMU", errno));
  return runner;
}

Expected<RunEvent, RunnerError> PtraceRunner::next_event() { return next_event(quiet_limit_); }

Expected<RunEvent, RunnerError> PtraceRunner::next_event(std::chrono::milliseconds quiet_limit) {
  switch (state_) {
    case State::running: break;
    case State::at_syscall: return unexpected(plain_error("next_event: the child waits at a syscall; resume() it"));
    case State::at_fault: return unexpected(plain_error("next_event: the child is stopped at a fault"));
    case State::gone: return unexpected(plain_error("next_event: the child is gone"));
  }
  const auto started = Clock::now();
  auto change = wait_for_change(pid_, quiet_limit);
  if (!change) return unexpected(change.error());
  if (!change->has_value()) {
    return RunEvent(Timeout{std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started)});
  }
  return classify_stop(**change);
}

Expected<RunEvent, RunnerError> PtraceRunner::classify_stop(int status) {
  if (WIFEXITED(status)) {
    state_ = State::gone;
    return RunEvent(Exited{WEXITSTATUS(status)});
  }
  if (WIFSIGNALED(status)) {
    state_ = State::gone;
    return RunEvent(Killed{WTERMSIG(status)});
  }
  if (!WIFSTOPPED(status)) return unexpected(plain_error(fmt::format("waitpid status {:#x} is no stop", status)));

  state_ = State::at_fault;  // until shown to be a proper system call
  user_regs_struct regs{};
  if (::ptrace(PTRACE_GETREGS, pid_, nullptr, &regs) != 0) return unexpected(host_error("PTRACE_GETREGS", errno));
  const int stop_signal = WSTOPSIG(status);

  if (stop_signal == (SIGTRAP | 0x80)) {
    // SYSEMU also stops for `int 0x80` (and the 32-bit entry paths): only the
    // two bytes 0f 05 before rip, on the 64-bit entry path, are `syscall`.
    std::array<char, 2> insn{};
    const auto read = read_memory(regs.rip - 2, insn);
    const bool is_syscall_insn = read && static_cast<unsigned char>(insn[0]) == 0x0F &&
                                 static_cast<unsigned char>(insn[1]) == 0x05;
    __ptrace_syscall_info info{};
    const long got = ::ptrace(PTRACE_GET_SYSCALL_INFO, pid_, reinterpret_cast<void*>(sizeof info), &info);
    const bool native_entry = got <= 0 || info.arch == AUDIT_ARCH_X86_64;
    if (is_syscall_insn && native_entry) {
      stop_regs_ = regs;
      state_ = State::at_syscall;
      return RunEvent(SyscallStop{regs.orig_rax, {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9},
                                  regs.rip});
    }
    FaultStop fault;
    fault.kind = FaultKind::illegal_call;
    fault.rip = regs.rip - 2;
    const std::string bytes = read ? fmt::format("{:02x} {:02x}", static_cast<unsigned char>(insn[0]),
                                                 static_cast<unsigned char>(insn[1]))
                                   : std::string("unreadable bytes");
    fault.description = fmt::format(
        "illegal system call {:#x} through {}{} at rip {:#x}: only the 64-bit syscall instruction (0f 05) is a "
        "kernel call",
        regs.orig_rax, bytes, native_entry ? "" : " on the 32-bit entry path", fault.rip);
    return RunEvent(std::move(fault));
  }

  FaultStop fault;
  fault.kind = FaultKind::signal;
  fault.signal = stop_signal;
  fault.rip = regs.rip;
  if ((status >> 16) != 0) {
    fault.description = fmt::format("unexpected ptrace event {} at rip {:#x}", status >> 16, regs.rip);
    return RunEvent(std::move(fault));
  }
  siginfo_t info{};
  std::string detail;
  if (::ptrace(PTRACE_GETSIGINFO, pid_, nullptr, &info) == 0) {
    fault.code = info.si_code;
    if (stop_signal == SIGSEGV || stop_signal == SIGBUS) {
      fault.address = reinterpret_cast<std::uint64_t>(info.si_addr);
      detail = fmt::format(" accessing {:#x}", fault.address);
    }
    const std::string_view code = signal_code_name(stop_signal, info.si_code);
    if (!code.empty()) detail = fmt::format(" ({}){}", code, detail);
  } else {
    detail = " (group stop)";
  }
  fault.description = fmt::format("{}{} at rip {:#x}", signal_name(stop_signal), detail, regs.rip);
  return RunEvent(std::move(fault));
}

Expected<void, RunnerError> PtraceRunner::resume(std::uint64_t result) {
  if (state_ != State::at_syscall) return unexpected(plain_error("resume: the child is not waiting at a syscall"));
  user_regs_struct regs = stop_regs_;
  regs.rax = result;
  // The call is finished from the kernel's point of view: with orig_rax -1
  // no signal arriving later can make the kernel "restart" it because rax
  // happens to look like -ERESTARTSYS.
  regs.orig_rax = ~0ULL;
  if (::ptrace(PTRACE_SETREGS, pid_, nullptr, &regs) != 0) return unexpected(host_error("PTRACE_SETREGS", errno));
  if (::ptrace(PTRACE_SYSEMU, pid_, nullptr, nullptr) != 0) return unexpected(host_error("PTRACE_SYSEMU", errno));
  state_ = State::running;
  return {};
}

Expected<void, RunnerError> PtraceRunner::resume(std::uint64_t result, std::uint64_t second_result) {
  if (state_ != State::at_syscall) return unexpected(plain_error("resume: the child is not waiting at a syscall"));
  stop_regs_.rdx = second_result;
  return resume(result);
}

Expected<user_regs_struct, RunnerError> PtraceRunner::registers() const {
  if (state_ != State::at_syscall && state_ != State::at_fault) {
    return unexpected(plain_error("registers: the child is not stopped"));
  }
  user_regs_struct regs{};
  if (::ptrace(PTRACE_GETREGS, pid_, nullptr, &regs) != 0) return unexpected(host_error("PTRACE_GETREGS", errno));
  return regs;
}

Expected<std::vector<char>, RunnerError> PtraceRunner::read_memory(std::uint64_t vaddr, std::size_t length) const {
  if (length > kMaxTransfer) {
    return unexpected(plain_error(fmt::format("read of {} bytes exceeds the {}-byte limit", length, kMaxTransfer)));
  }
  std::vector<char> out(length);
  if (auto ok = read_memory(vaddr, rootd::MutableBytes(out)); !ok) return unexpected(ok.error());
  return out;
}

Expected<void, RunnerError> PtraceRunner::read_memory(std::uint64_t vaddr, rootd::MutableBytes out) const {
  return transfer(vaddr, out.data(), out.size(), false);
}

Expected<void, RunnerError> PtraceRunner::write_memory(std::uint64_t vaddr, rootd::Bytes bytes) {
  // The write path only reads from `local`; transfer takes one pointer type.
  return transfer(vaddr, const_cast<char*>(bytes.data()), bytes.size(), true);
}

Expected<void, RunnerError> PtraceRunner::transfer(std::uint64_t vaddr, char* local, std::size_t length,
                                                   bool write) const {
  const char* verb = write ? "write" : "read";
  if (state_ == State::gone) return unexpected(plain_error(fmt::format("memory {}: the child is gone", verb)));
  if (length > kMaxTransfer) {
    return unexpected(plain_error(fmt::format("{} of {} bytes exceeds the {}-byte limit", verb, length, kMaxTransfer)));
  }
  if (vaddr >= kUserAddressLimit || length > kUserAddressLimit - vaddr) {
    return unexpected(plain_error(fmt::format("{} of [{:#x}, +{:#x}) reaches past the user half", verb, vaddr, length)));
  }
  if (length == 0) return {};

  if (memory_path_ == MemoryPath::process_vm) {
    const iovec here{local, length};
    const iovec there{reinterpret_cast<void*>(vaddr), length};
    const ssize_t n = write ? ::process_vm_writev(pid_, &here, 1, &there, 1, 0)
                            : ::process_vm_readv(pid_, &here, 1, &there, 1, 0);
    if (n == static_cast<ssize_t>(length)) return {};
    if (n >= 0) {
      return unexpected(RunnerError{
          fmt::format("{} of [{:#x}, +{:#x}): only the first {} bytes are accessible in the child", verb, vaddr,
                      length, n),
          EFAULT});
    }
    if (errno == EFAULT) {
      return unexpected(RunnerError{
          fmt::format("{} of [{:#x}, +{:#x}): the range is not mapped{} in the child", verb, vaddr, length,
                      write ? " writable" : ""),
          EFAULT});
    }
    if (errno != ENOSYS && errno != EPERM) {
      return unexpected(host_error(fmt::format("process_vm_{}v at {:#x}", write ? "write" : "read", vaddr), errno));
    }
    // Not available to this process: fall back to /proc/<pid>/mem.
  }

  if (proc_mem_fd_ < 0) {
    const std::string path = fmt::format("/proc/{}/mem", pid_);
    proc_mem_fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (proc_mem_fd_ < 0) return unexpected(host_error(fmt::format("open {}", path), errno));
  }
  std::size_t done = 0;
  while (done < length) {
    const off_t at = static_cast<off_t>(vaddr + done);
    const ssize_t n = write ? ::pwrite(proc_mem_fd_, local + done, length - done, at)
                            : ::pread(proc_mem_fd_, local + done, length - done, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // EIO (or a short count of 0) marks the first inaccessible page.
      return unexpected(RunnerError{
          fmt::format("{} of [{:#x}, +{:#x}): the range is not mapped in the child (first {} bytes done)", verb,
                      vaddr, length, done),
          n < 0 ? errno : EIO});
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace erix::sim
