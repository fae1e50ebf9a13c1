// rootd's entry and action loop. The kernel enters _start with rdi =
// handoff pointer, rsi = handoff size, rdx = root endpoint slot (x86_64 SysV
// argument registers), so rootd_main receives them as ordinary arguments.
// The loop performs the boot engine's actions with real syscalls and feeds
// the results back; every decision is the engine's.
#include <cstddef>
#include <cstdint>
#include <new>

#include "rootd/boot.hpp"
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

#if defined(ROOTD_VARIANT_INTEGRATION)
// Integration images choose a fault hook with an optional boot module named
// "rootd-hooks" holding "<hook>[:<service>]".
rootd::boot::Hooks read_hooks(rootd::Bytes handoff) {
  using rootd::boot::Hook;
  auto view = rootd::handoff::parse(handoff);
  if (!view.ok()) return {};
  const std::size_t m = view->find_module("rootd-hooks");
  if (m >= view->module_count()) return {};
  const auto module = view->module(m);
  std::string_view text(reinterpret_cast<const char*>(module.vaddr), module.size);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text = std::string_view(text.data(), text.size() - 1);
  std::string_view name = text;
  std::string_view service;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ':') {
      name = std::string_view(text.data(), i);
      service = std::string_view(text.data() + i + 1, text.size() - i - 1);
      break;
    }
  }
  rootd::boot::Hooks hooks;
  hooks.service = service;
  if (name == "force-fail") hooks.hook = Hook::FORCE_FAIL;
  if (name == "force-service-fail") hooks.hook = Hook::FORCE_SERVICE_FAIL;
  if (name == "force-spawn-fail") hooks.hook = Hook::FORCE_SPAWN_FAIL;
  if (name == "probed-omit-primary-control") hooks.hook = Hook::PROBED_OMIT_PRIMARY;
  if (name == "probed-misroute-primary-control") hooks.hook = Hook::PROBED_MISROUTE_PRIMARY;
  return hooks;
}
#endif

}  // namespace

extern "C" [[noreturn]] void rootd_main(const char* handoff, std::size_t size, std::uint64_t root_slot) {
  using rootd::boot::ActionKind;
  namespace shell = rootd::shell;
  const rootd::Bytes handoff_bytes(handoff, size);
  rootd::boot::Hooks hooks{};
#if defined(ROOTD_VARIANT_INTEGRATION)
  hooks = read_hooks(handoff_bytes);
#endif
  auto* storage = new (g_storage_bytes) rootd::boot::BootStorage();
  rootd::boot::Engine<Variant> engine(handoff_bytes, static_cast<std::uint32_t>(root_slot), *storage, hooks);
  while (!engine.parked()) {
    const rootd::boot::Action& a = engine.action();
    rootd::boot::Outcome out{};
    switch (a.kind) {
      case ActionKind::REPORT: out.error = shell::report(a.text, a.text_length); break;
      case ActionKind::READ_MODULE:
        // The kernel mapped every boot module into rootd's address space at
        // the address the handoff names.
        out.module = rootd::Bytes(reinterpret_cast<const char*>(a.vaddr), a.size);
        break;
      case ActionKind::CALL:
        out.message = a.message;
        out.error = shell::call(a.slot, &out.message, a.recv_slot);
        break;
      case ActionKind::SEND: out.error = shell::send(a.slot, &a.message, a.badge); break;
      case ActionKind::WAIT: out.error = shell::wait(a.slot, &out.message); break;
      case ActionKind::CAP: out.error = shell::cap(a.cap_op, a.src, a.dst_space, a.dst, a.rights); break;
      case ActionKind::PARK: break;
    }
    engine.complete(out);
  }
  shell::park();
}
