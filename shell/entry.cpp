// _start: the kernel enters here with rdi = handoff pointer, rsi = handoff
// size, rdx = root endpoint slot (x86_64 SysV argument registers), so the
// C++ entry receives them as ordinary arguments. The stack pointer is
// realigned to 16 bytes before the call, as the SysV ABI expects at a call.
#include <cstddef>
#include <cstdint>

#include "rootd/handoff.hpp"

extern "C" [[noreturn]] void rootd_main(const char* handoff, std::size_t size, std::uint64_t root_slot);

asm(R"(
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    andq $-16, %rsp
    xorl %ebp, %ebp
    call rootd_main
1:  jmp 1b
    .size _start, . - _start
    .text
)");

extern "C" [[noreturn]] void rootd_main(const char* handoff, std::size_t size, std::uint64_t root_slot) {
  (void)root_slot;
  // Stage 0 of the shell: validate the handoff; the action loop arrives with
  // the boot engine. Until then rootd parks either way.
  auto view = rootd::handoff::parse(rootd::Bytes(handoff, size));
  (void)view.ok();
  for (;;) asm volatile("pause");
}
