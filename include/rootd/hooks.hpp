// Integration fault hooks: the faults an integration image can be asked to
// inject into its own boot, so a VM harness can watch rootd fail closed.
// Only IntegrationVariant acts on them; runtime and release images ignore
// (and do not even instantiate) the code that reads them: nothing here is
// odr-used unless a caller parses hook text, so the hook names stay out of
// those images. Text an integration image does not understand, or a hook
// naming a service the config lacks, fails the boot CONTRACT_INVALID
// before any launch (boot_intake.hpp), never silently "no hook".
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "rootd/bcfg.hpp"
#include "rootd/handoff.hpp"
#include "rootd/status.hpp"

namespace rootd::boot {

enum class Hook : std::uint8_t {
  NONE = 0,
  FORCE_FAIL,                 // fail closed before the first launch
  FORCE_SERVICE_FAIL,         // treat the named service's READY as a failure, after its real start
  FORCE_SPAWN_FAIL,           // refuse to create the named service's process
  PROBED_OMIT_PRIMARY,        // leave probed's PCI-config endpoint out of its transfers
  PROBED_MISROUTE_PRIMARY,    // put probed's PCI-config endpoint at the wrong local slot
};

// ---- the hook text ----------------------------------------------------------
//
// An integration image reads its hook from a boot module of this name,
// holding "<hook>[:<service>]" (trailing newlines and spaces ignored).
inline constexpr std::string_view kHooksModuleName = "rootd-hooks";

struct HookSpelling {
  Hook hook;
  std::string_view name;
  bool names_service;  // "<hook>:<service>" is required, else forbidden
};
inline constexpr HookSpelling kHookSpellings[] = {
    {Hook::FORCE_FAIL, "force-fail", false},
    {Hook::FORCE_SERVICE_FAIL, "force-service-fail", true},
    {Hook::FORCE_SPAWN_FAIL, "force-spawn-fail", true},
    {Hook::PROBED_OMIT_PRIMARY, "probed-omit-primary-control", false},
    {Hook::PROBED_MISROUTE_PRIMARY, "probed-misroute-primary-control", false},
};

// Why hook text was refused. A refusal is not silently "no hook": the
// caller decides what a refused text means for the boot.
enum class HookRefusal : std::uint8_t {
  NONE = 0,
  EMPTY,             // nothing but trailing blanks
  UNKNOWN_HOOK,      // the part before ':' names no hook
  MISSING_SERVICE,   // a hook that names a service, without ":<service>"
  SURPLUS_SERVICE,   // a hook that names no service, with a ':' part
  BAD_SERVICE_NAME,  // the service part is not 1..31 of [a-z0-9-]
};

// What the engine acts on. A refused hook text reaches the engine as its
// refusal (hook NONE), and the engine's intake fails the boot with it
// rather than booting as if there were no hook module.
struct Hooks {
  Hook hook = Hook::NONE;
  std::string_view service{};  // for FORCE_SERVICE_FAIL / FORCE_SPAWN_FAIL
  HookRefusal refusal = HookRefusal::NONE;

  friend constexpr bool operator==(const Hooks&, const Hooks&) = default;
};

constexpr std::string_view hook_refusal_name(HookRefusal r) {
  switch (r) {
    case HookRefusal::NONE: return "none";
    case HookRefusal::EMPTY: return "empty";
    case HookRefusal::UNKNOWN_HOOK: return "unknown-hook";
    case HookRefusal::MISSING_SERVICE: return "missing-service";
    case HookRefusal::SURPLUS_SERVICE: return "surplus-service";
    case HookRefusal::BAD_SERVICE_NAME: return "bad-service-name";
  }
  return "?";
}

// Either hooks (refusal NONE) or a refusal with the byte offset, in the
// text, of the part it refers to: the hook name (0), the ':' of a surplus
// service part, the first byte of a bad service name, or the end of a hook
// name that lacks its service.
struct ParsedHooks {
  Hooks hooks{};
  HookRefusal refusal = HookRefusal::NONE;
  std::uint32_t offset = 0;

  constexpr bool ok() const { return refusal == HookRefusal::NONE; }
  friend constexpr bool operator==(const ParsedHooks&, const ParsedHooks&) = default;
};

constexpr ParsedHooks parse_hooks(std::string_view text) {
  auto refuse = [](HookRefusal r, std::size_t at) { return ParsedHooks{{}, r, static_cast<std::uint32_t>(at)}; };
  std::size_t length = text.size();
  while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == ' ')) --length;
  if (length == 0) return refuse(HookRefusal::EMPTY, 0);

  std::size_t colon = length;
  for (std::size_t i = 0; i < length; ++i) {
    if (text[i] == ':') {
      colon = i;
      break;
    }
  }
  const std::string_view name(text.data(), colon);
  for (const HookSpelling& spelling : kHookSpellings) {
    if (spelling.name != name) continue;
    if (!spelling.names_service) {
      if (colon != length) return refuse(HookRefusal::SURPLUS_SERVICE, colon);
      return ParsedHooks{{spelling.hook, {}}, HookRefusal::NONE, 0};
    }
    if (colon == length) return refuse(HookRefusal::MISSING_SERVICE, length);
    const std::string_view service(text.data() + colon + 1, length - colon - 1);
    if (!bcfg::name_is_well_formed(service)) return refuse(HookRefusal::BAD_SERVICE_NAME, colon + 1);
    return ParsedHooks{{spelling.hook, service}, HookRefusal::NONE, 0};
  }
  return refuse(HookRefusal::UNKNOWN_HOOK, 0);
}

// The engine's Hooks for a parse result: the hooks, or the refusal.
constexpr Hooks engine_hooks(const ParsedHooks& parsed) {
  if (!parsed.ok()) return Hooks{Hook::NONE, {}, parsed.refusal};
  return parsed.hooks;
}

// The reason the engine fails with for a refused hook text.
constexpr Reason hook_refusal_reason(HookRefusal r) {
  switch (r) {
    case HookRefusal::NONE: return Reason::NONE;
    case HookRefusal::EMPTY: return Reason::HOOK_EMPTY;
    case HookRefusal::UNKNOWN_HOOK: return Reason::HOOK_UNKNOWN;
    case HookRefusal::MISSING_SERVICE: return Reason::HOOK_SERVICE_MISSING;
    case HookRefusal::SURPLUS_SERVICE: return Reason::HOOK_SERVICE_SURPLUS;
    case HookRefusal::BAD_SERVICE_NAME: return Reason::HOOK_SERVICE_NAME_INVALID;
  }
  return Reason::HOOK_UNKNOWN;
}

// The hook module in the handoff, if the kernel loaded one. Reading its
// bytes (mapped at `vaddr`) is the caller's business.
constexpr std::optional<handoff::Module> find_hooks_module(const handoff::View& view) {
  const std::size_t m = view.find_module(kHooksModuleName);
  if (m >= view.module_count()) return std::nullopt;
  return view.module(m);
}

}  // namespace rootd::boot
