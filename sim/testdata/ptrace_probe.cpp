// The ptrace runner's test subject: a freestanding ELF built exactly like
// rootd (same flags, same linker script) whose behaviour is chosen by rdi at
// entry. See ptrace_probe_protocol.hpp for the modes and system calls.
#include <cstddef>
#include <cstdint>

#include "ptrace_probe_protocol.hpp"

namespace probe = erix::sim::probe;

extern "C" {
// Written by _start before any other instruction touches a register.
[[gnu::used]] std::uint64_t probe_entry_registers[probe::kEntryRegisterCount];
[[noreturn]] void probe_main(std::uint64_t mode, std::uint64_t arg1, std::uint64_t arg2);
void _start();
}

asm(R"(
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    movq %rax, probe_entry_registers+0(%rip)
    movq %rbx, probe_entry_registers+8(%rip)
    movq %rcx, probe_entry_registers+16(%rip)
    movq %rdx, probe_entry_registers+24(%rip)
    movq %rsi, probe_entry_registers+32(%rip)
    movq %rdi, probe_entry_registers+40(%rip)
    movq %rbp, probe_entry_registers+48(%rip)
    movq %rsp, probe_entry_registers+56(%rip)
    movq %r8, probe_entry_registers+64(%rip)
    movq %r9, probe_entry_registers+72(%rip)
    movq %r10, probe_entry_registers+80(%rip)
    movq %r11, probe_entry_registers+88(%rip)
    movq %r12, probe_entry_registers+96(%rip)
    movq %r13, probe_entry_registers+104(%rip)
    movq %r14, probe_entry_registers+112(%rip)
    movq %r15, probe_entry_registers+120(%rip)
    andq $-16, %rsp
    xorl %ebp, %ebp
    call probe_main
1:  jmp 1b
    .size _start, . - _start
    .text
)");

namespace {

struct Returned {
  std::uint64_t rax;
  std::uint64_t rdx;
};

// A kernel call with the x86_64 syscall register shape; rdx doubles as the
// second result register.
Returned call(std::uint64_t number, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
              std::uint64_t a3 = 0, std::uint64_t a4 = 0, std::uint64_t a5 = 0) {
  register std::uint64_t r10 asm("r10") = a3;
  register std::uint64_t r8 asm("r8") = a4;
  register std::uint64_t r9 asm("r9") = a5;
  std::uint64_t rax = number;
  std::uint64_t rdx = a2;
  asm volatile("syscall" : "+a"(rax), "+d"(rdx) : "D"(a0), "S"(a1), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return Returned{rax, rdx};
}

[[noreturn]] void finish(std::uint64_t how) {
  for (;;) call(probe::kDone, how);
}

// Stores through inline asm: a plain null store is undefined behaviour the
// compiler may turn into ud2 instead of the page fault under test.
void store_to(std::uint64_t address) { asm volatile("movq $1, (%0)" : : "r"(address) : "memory"); }

std::uint8_t buffer[probe::kBufferSize];

void run_buffer() {
  for (std::size_t i = 0; i < probe::kBufferSize; ++i) buffer[i] = probe::pattern_byte(i);
  call(probe::kBufferFilled, reinterpret_cast<std::uint64_t>(buffer), probe::kBufferSize);
  // The runner may have rewritten the buffer while the probe was stopped.
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < probe::kBufferSize; ++i) {
    sum = probe::checksum_step(sum, i, *static_cast<volatile std::uint8_t*>(&buffer[i]));
  }
  call(probe::kBufferChecksum, sum);
}

void run_count() {
  std::uint64_t calls = 0;
  std::uint64_t total = 0;
  for (;;) {
    const std::uint64_t r = call(probe::kTick, calls).rax;
    ++calls;
    if (r == 0) break;
    total += r;
  }
  call(probe::kTicks, calls, total);
}

void run_sum_region(std::uint64_t address, std::uint64_t length) {
  const auto* bytes = reinterpret_cast<const volatile std::uint8_t*>(address);
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < length; ++i) sum += bytes[i];
  call(probe::kRegionSum, sum, length != 0 ? bytes[0] : 0);
}

}  // namespace

extern "C" [[noreturn]] void probe_main(std::uint64_t mode, std::uint64_t arg1, std::uint64_t arg2) {
  switch (static_cast<probe::Mode>(mode)) {
    case probe::Mode::echo: {
      const Returned r = call(probe::kEcho, arg1, arg2, probe::kArg2, probe::kArg3, probe::kArg4, probe::kArg5);
      call(probe::kEchoResult, r.rax, r.rdx);
      break;
    }
    case probe::Mode::entry_state:
      call(probe::kEntryState, reinterpret_cast<std::uint64_t>(probe_entry_registers), probe::kEntryRegisterCount);
      break;
    case probe::Mode::buffer: run_buffer(); break;
    case probe::Mode::count: run_count(); break;
    case probe::Mode::null_write: store_to(0); break;
    case probe::Mode::int80: {
      std::uint64_t rax = probe::kInt80Number;
      asm volatile("int $0x80" : "+a"(rax) : : "memory");
      break;
    }
    case probe::Mode::spin:
      for (;;) asm volatile("pause");
    case probe::Mode::write_text: store_to(reinterpret_cast<std::uint64_t>(&_start)); break;
    case probe::Mode::write_region: store_to(arg1); break;
    case probe::Mode::undefined_insn: asm volatile("ud2"); break;
    case probe::Mode::sum_region: run_sum_region(arg1, arg2); break;
    default: finish(probe::kUnknownMode);
  }
  finish(0);
}
