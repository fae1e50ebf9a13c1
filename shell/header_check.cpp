// Includes every public header with the shell's freestanding flags and uses
// each parser once, so the link proves the library needs no libc or
// libstdc++ symbol. host-tests runs `nm -u` on the result as well.
#include "rootd/bcfg.hpp"
#include "rootd/bytes.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

asm(R"(
    .section .text.entry, "ax", @progbits
    .globl _start
_start:
    andq $-16, %rsp
    call header_check_main
1:  jmp 1b
    .text
)");

extern "C" [[noreturn]] void header_check_main(const char* p, std::size_t n) {
  volatile std::uint32_t sink = 0;
  rootd::Bytes bytes(p, n);
  sink = sink + rootd::crc32c(bytes);
  auto h = rootd::handoff::parse(bytes);
  sink = sink + static_cast<std::uint32_t>(h.error().reason);
  auto c = rootd::bcfg::parse(bytes);
  sink = sink + static_cast<std::uint32_t>(c.error().reason);
  sink = sink + static_cast<std::uint32_t>(rootd::reason_name(rootd::Reason::INTERNAL_STATE).size());
  for (;;) asm volatile("pause");
}
