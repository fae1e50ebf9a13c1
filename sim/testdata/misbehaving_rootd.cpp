// A stand-in for rootd that misbehaves on purpose, to test how erix-boot
// judges a root task. Built exactly like rootd. The first byte of the
// "handoff" (erix-boot --handoff FILE) picks what it does:
//   'R' text  REPORT the rest of the handoff as one line, then PARK
//   'L'       create a staged process through kernel control and abandon it,
//             REPORT "ERIX_ROOTD:READY", PARK (a leak)
//   'Z'       create and start a process, then REPORT
//             "ERIX_ROOTD:SERVICE_BOOTSTRAP_FAILED" and PARK (a survivor)
//   'N'       as 'Z', with a detail line naming the process (memd) first
//   'P'       PARK without reporting anything
//   'F'       store to address 0 (a fault)
//   'I'       `int $0x80` (an illegal call)
//   'S'       spin without system calls (a hang)
//   'W'       WAIT on the root endpoint with nothing to wait for (blocks forever)
//   'M'       CALL with a Message pointer into page 0
//   'T'       REPORT with a text pointer into page 0
//   'U'       a system call number outside the ABI
// A first byte 'C' or 'K' is a prefix: the mode is the next byte, and rootd
// deletes caps right before its REPORT (or PARK), so that the audit sees
// what the mode left:
//   'C'       every cap but its four (kernel control, cspace, vspace, rdx)
//   'K'       the same, except slot 5 (the boot image frame), which it keeps
#include <cstddef>
#include <cstdint>

#include "../../shell/syscalls.hpp"
#include "rootd/abi.hpp"

asm(R"(
    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    andq $-16, %rsp
    xorl %ebp, %ebp
    call misbehave_main
1:  jmp 1b
    .size _start, . - _start
    .text
)");

namespace {

namespace abi = rootd::abi;
namespace shell = rootd::shell;

// Slot for the abandoned process cap: above every first_free_slot erix-boot
// gives a small config, below its slot_count.
constexpr std::uint32_t kAbandonedProcessSlot = 2400;
constexpr char kReadyLine[] = "ERIX_ROOTD:READY";
constexpr char kFailedLine[] = "ERIX_ROOTD:SERVICE_BOOTSTRAP_FAILED";
// The abandoned process gets identity 0: the model names it after service
// 0 of the config (memd in phase0.toml).
constexpr char kNamingLine[] = "ERIX_ROOTD:DETAIL:BOOT_SERVICE_EXITED:memd";

// Every slot the kernel model gives rootd lies below this.
constexpr std::uint32_t kSlotLimit = 4096;

// Deletes every cap above slot 3 except the root endpoint's and `keep`
// (kNoSlot: none). Empty slots just fail.
void clear_cspace(std::uint64_t root_slot, std::uint32_t keep) {
  for (std::uint32_t slot = abi::kSelfVspaceSlot + 1; slot < kSlotLimit; ++slot) {
    if (slot == root_slot || slot == keep) continue;
    shell::cap(abi::CapOp::DELETE, slot, 0, 0, 0);
  }
}

void kernel_call(abi::KernelOp op, std::uint64_t w0, std::uint64_t w1) {
  abi::Message m;
  m.label = static_cast<std::uint64_t>(op);
  m.words[0] = w0;
  m.words[1] = w1;
  shell::call(abi::kKernelControlSlot, &m, abi::kNoSlot);
}

}  // namespace

extern "C" [[noreturn]] void misbehave_main(const char* handoff, std::size_t size, std::uint64_t root_slot) {
  const bool clear = size > 1 && (handoff[0] == 'C' || handoff[0] == 'K');
  const std::uint32_t keep = clear && handoff[0] == 'K' ? 5 : abi::kNoSlot;
  if (clear) {
    ++handoff;
    --size;
  }
  const auto tidy = [&] {
    if (clear) clear_cspace(root_slot, keep);
  };
  const char mode = size > 0 ? handoff[0] : 'P';
  switch (mode) {
    case 'R':
      tidy();
      shell::report(handoff + 1, size - 1);
      break;
    case 'L':
      kernel_call(abi::KernelOp::CREATE_STAGED_PROCESS, 5, kAbandonedProcessSlot);  // 5: the boot image frame
      tidy();
      shell::report(kReadyLine, sizeof kReadyLine - 1);
      break;
    case 'Z':
    case 'N':
      kernel_call(abi::KernelOp::CREATE_STAGED_PROCESS, 5, kAbandonedProcessSlot);
      kernel_call(abi::KernelOp::START_PROCESS, kAbandonedProcessSlot, 0);
      tidy();
      if (mode == 'N') shell::report(kNamingLine, sizeof kNamingLine - 1);
      shell::report(kFailedLine, sizeof kFailedLine - 1);
      break;
    case 'F': *reinterpret_cast<volatile char*>(std::uintptr_t{0}) = 1; break;
    case 'I': asm volatile("int $0x80" : : "a"(0) : "memory"); break;
    case 'S':
      for (;;) asm volatile("" ::: "memory");
    case 'W': {
      abi::Message m;
      shell::wait(static_cast<std::uint32_t>(root_slot), &m);
      break;
    }
    case 'M': shell::call(abi::kKernelControlSlot, reinterpret_cast<abi::Message*>(std::uintptr_t{8}), abi::kNoSlot); break;
    case 'T': shell::report(reinterpret_cast<const char*>(std::uintptr_t{8}), 4); break;
    case 'U': shell::raw2(99, 0, 0); break;
    default: tidy(); break;
  }
  shell::park();
}
