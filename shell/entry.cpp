// rootd's entry and action loop. The kernel enters _start with rdi =
// handoff pointer, rsi = handoff size, rdx = root endpoint slot (x86_64 SysV
// argument registers), so rootd_main receives them as ordinary arguments.
// rootd::boot::drive() performs the boot engine's actions with real
// syscalls and feeds the results back; every decision is the engine's.
#include <cstddef>
#include <cstdint>
#include <new>

#include <string_view>

#include "rootd/boot.hpp"
#include "rootd/drive.hpp"
#include "rootd/hooks.hpp"
#include "syscalls.hpp"

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

namespace {

#if defined(ROOTD_VARIANT_INTEGRATION)
using Variant = rootd::boot::IntegrationVariant;
#elif defined(ROOTD_VARIANT_RELEASE)
using Variant = rootd::boot::ReleaseVariant;
#else
using Variant = rootd::boot::RuntimeVariant;
#endif

// Far too large for the stack. Raw bytes keep it in .bss (a BootStorage
// object with its non-zero defaults would land in .data and bloat the
// image); rootd_main constructs it in place.
alignas(rootd::boot::BootStorage) char g_storage_bytes[sizeof(rootd::boot::BootStorage)];

// drive()'s Performer: each action is one syscall (shell/syscalls.hpp).
struct SyscallPerformer {
  rootd::abi::KernelError report(std::string_view line) {
    return rootd::shell::report(line.data(), line.size());
  }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) {
    // The kernel mapped every boot module into rootd's address space at
    // the address the handoff names.
    return rootd::Bytes(reinterpret_cast<const char*>(vaddr), size);
  }
  rootd::abi::KernelError call(std::uint32_t slot, rootd::abi::Message& inout, std::uint32_t recv_slot) {
    return rootd::shell::call(slot, &inout, recv_slot);
  }
  rootd::abi::KernelError send(std::uint32_t slot, const rootd::abi::Message& m, std::uint64_t badge) {
    return rootd::shell::send(slot, &m, badge);
  }
  rootd::abi::KernelError wait(std::uint32_t slot, rootd::abi::Message& out) {
    return rootd::shell::wait(slot, &out);
  }
  rootd::abi::KernelError cap(rootd::abi::CapOp op, std::uint32_t src, std::uint32_t dst_space, std::uint32_t dst,
                              std::uint32_t rights) {
    return rootd::shell::cap(op, src, dst_space, dst, rights);
  }
  [[noreturn]] void park() { rootd::shell::park(); }
};

#if defined(ROOTD_VARIANT_INTEGRATION)
// Integration images choose a fault hook with an optional boot module
// (rootd::boot::kHooksModuleName). A refused text reaches the engine as its
// refusal, and the engine fails the boot with it.
rootd::boot::Hooks read_hooks(rootd::Bytes handoff) {
  auto view = rootd::handoff::parse(handoff);
  if (!view.ok()) return {};
  const auto module = rootd::boot::find_hooks_module(view.value());
  if (!module.has_value()) return {};
  const std::string_view text(reinterpret_cast<const char*>(module->vaddr), module->size);
  return rootd::boot::engine_hooks(rootd::boot::parse_hooks(text));
}
#endif

}  // namespace

extern "C" [[noreturn]] void rootd_main(const char* handoff, std::size_t size, std::uint64_t root_slot) {
  const rootd::Bytes handoff_bytes(handoff, size);
  rootd::boot::Hooks hooks{};
#if defined(ROOTD_VARIANT_INTEGRATION)
  hooks = read_hooks(handoff_bytes);
#endif
  auto* storage = new (g_storage_bytes) rootd::boot::BootStorage();
  rootd::boot::Engine<Variant> engine(handoff_bytes, static_cast<std::uint32_t>(root_slot), *storage, hooks);
  SyscallPerformer performer;
  rootd::boot::drive(engine, performer);
  // drive() returns only when the engine never parked (a loop bug): park
  // anyway, rootd has nowhere to return to.
  rootd::shell::park();
}
