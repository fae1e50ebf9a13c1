// Syscall bindings in two layers. The raw layer is one inline-asm function
// per register shape; the typed layer above names each kernel call of
// abi.hpp. Nothing else in the shell touches registers.
#pragma once

#include <cstdint>

#include "rootd/abi.hpp"

namespace rootd::shell {

// ---- raw: `syscall` clobbers rcx and r11; results come back in rax --------
inline std::uint64_t raw2(std::uint64_t nr, std::uint64_t a0, std::uint64_t a1) {
  std::uint64_t ret;
  asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
  return ret;
}
inline std::uint64_t raw3(std::uint64_t nr, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2) {
  std::uint64_t ret;
  asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
  return ret;
}
inline std::uint64_t raw5(std::uint64_t nr, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2,
                          std::uint64_t a3, std::uint64_t a4) {
  std::uint64_t ret;
  register std::uint64_t r10 asm("r10") = a3;
  register std::uint64_t r8 asm("r8") = a4;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
               : "rcx", "r11", "memory");
  return ret;
}

// ---- typed -----------------------------------------------------------------
constexpr std::uint64_t nr(abi::Syscall s) { return static_cast<std::uint64_t>(s); }
inline abi::KernelError as_error(std::uint64_t v) { return static_cast<abi::KernelError>(v); }

inline abi::KernelError report(const char* text, std::uint64_t length) {
  return as_error(raw2(nr(abi::Syscall::REPORT), reinterpret_cast<std::uint64_t>(text), length));
}
inline abi::KernelError call(std::uint32_t slot, abi::Message* message, std::uint32_t recv_slot) {
  return as_error(raw3(nr(abi::Syscall::CALL), slot, reinterpret_cast<std::uint64_t>(message), recv_slot));
}
inline abi::KernelError send(std::uint32_t slot, const abi::Message* message, std::uint64_t badge) {
  return as_error(raw3(nr(abi::Syscall::SEND), slot, reinterpret_cast<std::uint64_t>(message), badge));
}
inline abi::KernelError wait(std::uint32_t root_slot, abi::Message* message) {
  return as_error(raw2(nr(abi::Syscall::WAIT), root_slot, reinterpret_cast<std::uint64_t>(message)));
}
inline abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t dst_space, std::uint32_t dst,
                            std::uint32_t rights) {
  return as_error(raw5(nr(abi::Syscall::CAP), static_cast<std::uint64_t>(op), src, dst_space, dst, rights));
}
[[noreturn]] inline void park() {
  for (;;) raw2(nr(abi::Syscall::PARK), 0, 0);
}

}  // namespace rootd::shell
