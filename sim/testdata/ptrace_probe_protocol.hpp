// What the ptrace probe ELF and its test agree on: the mode chosen by rdi at
// entry, the system call numbers the probe makes, and the byte pattern it
// writes. Freestanding (the probe includes it too).
#pragma once

#include <cstddef>
#include <cstdint>

namespace erix::sim::probe {

// rdi at entry. rsi and rdx are the mode's arguments.
enum class Mode : std::uint64_t {
  echo = 1,            // call kEcho(rsi, rdx, kArg2..kArg5), then kEchoResult(rax, rdx) of that call
  entry_state = 2,     // call kEntryState(&registers saved at _start, kEntryRegisterCount)
  buffer = 3,          // fill a buffer, kBufferFilled(addr, len); then kBufferChecksum(checksum of it)
  count = 4,           // kTick(i) until it returns 0, then kTicks(calls, sum of results)
  null_write = 5,      // store to address 0
  int80 = 6,           // `int $0x80` with eax = kInt80Number
  spin = 7,            // loop forever without system calls
  write_text = 8,      // store to its own entry point (a read-only, executable page)
  write_region = 9,    // store to address rsi
  undefined_insn = 10, // ud2
  sum_region = 11,     // kRegionSum(sum of bytes [rsi, rsi + rdx), first byte)
};

inline constexpr std::uint64_t kEcho = 0x100;
inline constexpr std::uint64_t kEchoResult = 0x101;
inline constexpr std::uint64_t kEntryState = 0x102;
inline constexpr std::uint64_t kBufferFilled = 0x103;
inline constexpr std::uint64_t kBufferChecksum = 0x104;
inline constexpr std::uint64_t kTick = 0x105;
inline constexpr std::uint64_t kTicks = 0x106;
inline constexpr std::uint64_t kRegionSum = 0x107;
// Made after every mode that returns, and again for every resume after it.
inline constexpr std::uint64_t kDone = 0x1FF;
// Reported as kDone's first argument for an unknown mode.
inline constexpr std::uint64_t kUnknownMode = 0xBAD;

inline constexpr std::uint64_t kInt80Number = 0x1234;

// Fixed values for the kEcho arguments the caller does not choose.
inline constexpr std::uint64_t kArg2 = 0x2222'0000'0000'2222ULL;
inline constexpr std::uint64_t kArg3 = 0x3333'0000'0000'3333ULL;
inline constexpr std::uint64_t kArg4 = 0x4444'0000'0000'4444ULL;
inline constexpr std::uint64_t kArg5 = 0x5555'0000'0000'5555ULL;

// Saved by _start before anything else runs, in this order.
inline constexpr std::size_t kEntryRegisterCount = 16;
inline constexpr const char* kEntryRegisterNames[kEntryRegisterCount] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};
inline constexpr std::size_t kEntryRsp = 7;

inline constexpr std::size_t kBufferSize = 256;

// A table (kept in .rodata of the probe, so its rodata segment is not empty)
// mixed with the index.
inline constexpr std::uint8_t kPatternTable[16] = {0x5A, 0x13, 0xC4, 0x7E, 0x01, 0xF0, 0x99, 0x2B,
                                                   0x66, 0xD7, 0x3C, 0x80, 0x4F, 0xE2, 0x18, 0xB5};
constexpr std::uint8_t pattern_byte(std::size_t i) {
  return static_cast<std::uint8_t>(kPatternTable[i % 16] ^ (i / 16));
}

// Position-weighted, so a shifted or reordered buffer gives another value.
constexpr std::uint64_t checksum_step(std::uint64_t sum, std::size_t i, std::uint8_t byte) {
  return sum + (static_cast<std::uint64_t>(i) + 1) * byte;
}

}  // namespace erix::sim::probe
