// What the boot engine's phase units share: the build variants, the storage
// the caller places (BasicBootStorage<N>), per-service run-time state, and
// the Core every unit works on: the inputs, the plan, the action being
// emitted, the last outcome, the launch queue and the failure record.
//
// Core has one emitter per kind of action and builds every message through
// protocol.hpp; the units decide, Core only records.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "rootd/abi.hpp"
#include "rootd/action.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/boot_plan.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/hooks.hpp"
#include "rootd/protocol.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::boot {

// ---------------------------------------------------------------------------
// Build variants. A variant is a type, so code behind `if constexpr` on a
// disabled feature is never instantiated: a runtime ELF carries neither the
// fault hooks nor their strings, nor any verifier (boot_verify.hpp).
struct RuntimeVariant {
  static constexpr bool stage_lines = false;
  static constexpr bool service_lines = true;
  static constexpr bool fault_hooks = false;
  static constexpr bool verifiers = false;
};
struct ReleaseVariant {
  static constexpr bool stage_lines = false;
  static constexpr bool service_lines = false;
  static constexpr bool fault_hooks = false;
  static constexpr bool verifiers = false;
};
struct IntegrationVariant {
  static constexpr bool stage_lines = true;
  static constexpr bool service_lines = true;
  static constexpr bool fault_hooks = true;
  static constexpr bool verifiers = true;
};

// ---------------------------------------------------------------------------
// Per-service run-time state.

enum class ServicePhase : std::uint8_t {
  WAITING = 0,  // dependencies not READY yet
  QUEUED,       // launchable, not launched
  LAUNCHING,    // launch steps under way
  STARTED,      // running, envelope sent, READY not yet answered
  READY,
  EXITED,       // its process exited (crash, or stopped by teardown)
  DONE,         // probe completed
};

struct ServiceState {
  ServicePhase phase = ServicePhase::WAITING;
  bool has_endpoint = false;  // rootd holds its retained endpoint
  bool has_process = false;   // rootd holds a process cap (foundation)
  bool has_grant = false;     // rootd holds its startup-cap install grant
  bool staged = false;        // a process exists (pid valid)
  bool started = false;       // the process has been started
  bool exited = false;        // its EXITED event arrived
  bool destroyed = false;
  std::uint16_t remaining = 0;  // dependencies not READY yet
  std::uint32_t pid = 0;
};

// Everything large, for up to N services; the caller places it (rootd:
// static storage; tests: the heap or a constant evaluation).
template <std::size_t N>
struct BasicBootStorage {
  static constexpr std::size_t kCapacity = N;

  BootPlan<N> plan;
  ServiceState services[N] = {};
  std::uint16_t queue[N] = {};
  std::uint16_t started_order[N] = {};
  Transfer transfers[kMaxTransfersPerEnvelope] = {};  // the service being launched
  // The shed ledger: per module, the services launched from it not READY
  // yet (kModuleKept: the boot-config module, kept to the final shed), and
  // whether its frame is shed.
  std::uint16_t module_waiting[handoff::kMaxModules] = {};
  bool module_shed[handoff::kMaxModules] = {};
};
inline constexpr std::uint16_t kModuleKept = 0xFFFF;
using BootStorage = BasicBootStorage<bcfg::kMaxServices>;

// Stage lines (IntegrationVariant): where the boot is, for a VM harness.
enum class Stage : std::uint8_t {
  INTAKE,
  INVENTORY,
  CONFIG,
  MODULES,
  ENVELOPES,
  ORDER,
  LAUNCH,
  PROBE,
  SHED,
  READY,
};

constexpr std::string_view stage_name(Stage s) {
  switch (s) {
    case Stage::INTAKE: return "INTAKE";
    case Stage::INVENTORY: return "INVENTORY";
    case Stage::CONFIG: return "CONFIG";
    case Stage::MODULES: return "MODULES";
    case Stage::ENVELOPES: return "ENVELOPES";
    case Stage::ORDER: return "ORDER";
    case Stage::LAUNCH: return "LAUNCH";
    case Stage::PROBE: return "PROBE";
    case Stage::SHED: return "SHED";
    case Stage::READY: return "READY";
  }
  return "?";
}

// ---------------------------------------------------------------------------

template <class Variant, std::size_t N>
struct Core {
  constexpr Core(Bytes handoff, std::uint32_t root, BasicBootStorage<N>& storage, Hooks h)
      : handoff_bytes(handoff), root_slot(root), st(storage), hooks(h) {
    if constexpr (!Variant::fault_hooks) hooks = Hooks{};
  }

  // ---- emitters: one per kind of action -------------------------------------

  constexpr void emit_report(std::string_view a, std::string_view b = {}, std::string_view c = {},
                             bool upper_c = false) {
    action = Action{};
    action.kind = ActionKind::REPORT;
    std::uint32_t n = 0;
    auto put = [&](std::string_view s, bool upper) {
      for (char ch : s) {
        if (n >= kMaxReportLength) return;
        if (upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        if (upper && ch == '-') ch = '_';
        action.text[n++] = ch;
      }
    };
    put(a, false);
    put(b, false);
    put(c, upper_c);
    action.text_length = n;
  }
  constexpr void emit_call(std::uint32_t slot, const abi::Message& m, std::uint32_t recv = abi::kNoSlot) {
    action = Action{};
    action.kind = ActionKind::CALL;
    action.slot = slot;
    action.recv_slot = recv;
    action.message = m;
    ++kernel_calls;
  }
  constexpr void emit_kernel(abi::KernelOp op, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0) {
    emit_call(abi::kKernelControlSlot, protocol::kernel_request(op, w0, w1, w2));
  }
  constexpr void emit_send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) {
    action = Action{};
    action.kind = ActionKind::SEND;
    action.slot = slot;
    action.badge = badge;
    action.message = m;
    ++kernel_calls;
  }
  constexpr void emit_cap(abi::CapOp op, std::uint32_t src, std::uint32_t dst_space = 0, std::uint32_t dst = 0,
                          std::uint32_t rights = 0) {
    action = Action{};
    action.kind = ActionKind::CAP;
    action.cap_op = op;
    action.src = src;
    action.dst_space = dst_space;
    action.dst = dst;
    action.rights = rights;
    ++kernel_calls;
  }
  constexpr void emit_delete(std::uint32_t slot) { emit_cap(abi::CapOp::DELETE, slot); }
  constexpr void emit_wait() { emit_wait(root_slot); }
  constexpr void emit_wait(std::uint32_t slot) {
    action = Action{};
    action.kind = ActionKind::WAIT;
    action.slot = slot;
    ++kernel_calls;
  }
  // Where the kernel delivers service `s`'s process events: a probe's on the
  // dedicated process-control endpoint (rootd's handoff slot of it, kept
  // until the probe is reaped), everyone else's on the root endpoint.
  constexpr std::uint32_t event_slot(std::uint16_t s) const {
    return s < n() && service_plan(s).launch == LaunchPath::PROBE
               ? endpoint_info(EndpointKind::PROCESS_CONTROL).local_slot
               : root_slot;
  }
  constexpr void emit_read_module(std::uint64_t vaddr, std::uint64_t size) {
    action = Action{};
    action.kind = ActionKind::READ_MODULE;
    action.vaddr = vaddr;
    action.size = size;
  }
  constexpr void emit_park() {
    action = Action{};
    action.kind = ActionKind::PARK;
  }
  // Emits a stage line when the variant prints them; says whether it did.
  constexpr bool emit_stage(Stage s) {
    if constexpr (Variant::stage_lines) {
      emit_report(kStagePrefix, stage_name(s));
      return true;
    }
    (void)s;
    return false;
  }

  // ---- outcomes ------------------------------------------------------------

  constexpr bool kernel_ok() const { return last.error == abi::KernelError::OK; }
  // A CALL's outcome is good when the kernel accepted it and the reply
  // label says OK.
  constexpr bool call_ok() const { return kernel_ok() && last.message.label == abi::kReplyOk; }

  // ---- failure ---------------------------------------------------------------

  // Records the failure; the first one wins. The caller then reports FAILED.
  constexpr void fail(Reason r, std::uint16_t service = bcfg::kNoIndex, std::uint32_t offset = 0) {
    if (failure.reason != Reason::NONE) return;
    failure = Error{r, offset};
    failed_service = service;
    status = reason_status(r);
  }
  // The one place a located error (any planning stage's) becomes a
  // failure: owner_of names the service it is about, or none for an error
  // in the handoff.
  constexpr void fail_config(Error e) { fail(e.reason, owner_of(cfg, e), e.offset); }
  // A failure of teardown itself outranks the one that started it: a child
  // left alive (TEARDOWN_INCOMPLETE) first, then a cap rootd could not
  // shed (TEARDOWN_SHED_FAILED). The first of each kind wins.
  constexpr void fail_teardown(Reason r, std::uint16_t service = bcfg::kNoIndex) {
    if (failure.reason == Reason::TEARDOWN_INCOMPLETE) return;
    if (failure.reason == Reason::TEARDOWN_SHED_FAILED && r != Reason::TEARDOWN_INCOMPLETE) return;
    failure = Error{r, 0};
    failed_service = service;
    status = reason_status(r);
  }

  // ---- the plan and the launch queue -------------------------------------------

  constexpr std::size_t n() const { return cfg.service_count(); }
  constexpr const BootPlan<N>& plan() const { return st.plan; }
  constexpr const ServicePlan& service_plan(std::size_t s) const { return st.plan.services[s]; }
  constexpr ServiceState& state(std::size_t s) { return st.services[s]; }

  // Run-time state from the plan: dependencies outstanding, roots queued in
  // launch order.
  constexpr void start_schedule() {
    for (std::size_t m = 0; m < handoff.module_count(); ++m) {
      st.module_waiting[m] = m == st.plan.config_module ? kModuleKept : 0;
      st.module_shed[m] = false;
    }
    for (std::size_t s = 0; s < n(); ++s) {
      st.services[s] = ServiceState{};
      st.services[s].remaining = static_cast<std::uint16_t>(st.plan.order.dependency_count(s));
      std::uint16_t& waiting = st.module_waiting[service_plan(s).image_module];
      if (waiting != kModuleKept) ++waiting;
      for_granted_modules(static_cast<std::uint16_t>(s), [](std::uint16_t& w) { ++w; });
    }
    for (std::size_t m = 0; m < handoff.module_count(); ++m) modules_due += st.module_waiting[m] == 0 ? 1 : 0;
    queue_head = queue_tail = 0;
    for (std::size_t k = 0; k < n(); ++k) {
      const std::uint16_t s = st.plan.order.order[k];
      if (st.services[s].remaining == 0) enqueue(s);
    }
  }
  // Probes are not queued: they run once every other service is READY.
  constexpr void enqueue(std::uint16_t s) {
    st.services[s].phase = ServicePhase::QUEUED;
    if (service_plan(s).launch != LaunchPath::PROBE) st.queue[queue_tail++] = s;
  }
  constexpr void became_ready(std::uint16_t s) {
    st.services[s].phase = ServicePhase::READY;
    ++ready_count;
    for (std::size_t g = 0; g < kSlotGroupCount; ++g) {
      if ((service_plan(s).consumes & slot_group_bit(static_cast<SlotGroup>(g))) != 0) ++consumers_ready[g];
    }
    std::uint16_t& waiting = st.module_waiting[service_plan(s).image_module];
    if (waiting != kModuleKept && waiting > 0 && --waiting == 0) ++modules_due;
    for_granted_modules(s, [this](std::uint16_t& w) {
      if (w > 0 && --w == 0) ++modules_due;
    });
    const OrderPlan& order = st.plan.order;
    for (std::uint32_t e = order.dependent_start[s]; e < order.dependent_start[s + 1]; ++e) {
      const std::uint16_t d = order.dependents[e];
      if (--st.services[d].remaining == 0) enqueue(d);
    }
  }
  // A profile module granted to service s (envelope.hpp) is consumed by it
  // like an image: its frame stays until s is READY.
  template <class F>
  constexpr void for_granted_modules(std::uint16_t s, F&& f) {
    for (const ModuleGrant& g : kModuleGrants) {
      if (g.consumer != plan().role_of(s).id || !profile_lists_module(cfg.profile(), g.module)) continue;
      const std::size_t m = handoff.find_module(g.module);
      if (m < handoff.module_count() && st.module_waiting[m] != kModuleKept) f(st.module_waiting[m]);
    }
  }
  constexpr void mark_started(std::uint16_t s) {
    st.services[s].started = true;
    st.started_order[started_count++] = s;
  }
  constexpr std::uint16_t service_of_pid(std::uint64_t pid) const {
    for (std::size_t k = 0; k < started_count; ++k) {
      const std::uint16_t s = st.started_order[k];
      if (st.services[s].pid == pid) return s;
    }
    return bcfg::kNoIndex;
  }

  Bytes handoff_bytes;
  std::uint32_t root_slot;
  BasicBootStorage<N>& st;
  Hooks hooks;

  Action action{};
  Outcome last{};
  handoff::View handoff{};
  bcfg::View cfg{};

  std::size_t queue_head = 0;
  std::size_t queue_tail = 0;
  std::uint16_t launching = bcfg::kNoIndex;  // the service whose launch began last
  std::size_t ready_count = 0;
  std::size_t probes_done = 0;
  std::size_t started_count = 0;

  // The shed ledger (boot_shed.hpp): per group, how many of its consumers
  // are READY, how many of its listed caps (untyped, dedicated endpoints,
  // image frame, framebuffer: in handoff order) are shed, and whether the
  // whole group is; modules due (every user READY) and not shed yet.
  std::uint16_t consumers_ready[kSlotGroupCount] = {};
  std::uint32_t shed_next[kSlotGroupCount] = {};
  std::size_t modules_due = 0;

  Status status = Status::INTERNAL_ERROR;
  Error failure{};
  std::uint16_t failed_service = bcfg::kNoIndex;
  // A VERIFY_* failure's verifier and step, for its DETAIL line; kept only
  // in variants with verifiers.
  struct VerifyDetail {
    std::string_view verifier{};
    std::string_view step{};
  };
  struct NoVerifyDetail {};
  [[no_unique_address]] std::conditional_t<Variant::verifiers, VerifyDetail, NoVerifyDetail> verify_detail{};
  std::uint32_t kernel_calls = 0;
};

}  // namespace rootd::boot
