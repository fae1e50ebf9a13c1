// The boot engine: rootd's whole boot as a sans-IO state machine.
//
// The engine never calls the kernel. It hands out one Action at a time (a
// kernel call, a wait, a report line, a request for a module's bytes) and
// takes the Outcome of that action back; from those it decides the next
// action, until it reports the terminal status and parks. The freestanding
// shell performs actions with real syscalls, the simulator against its
// kernel model, and tests script them: one logic, three drivers.
//
// Flow (docs/startup-protocol.md has the full protocol):
//   validate   intake -> inventory -> config -> modules -> envelopes -> order,
//              all before the first process exists
//   launch     every service whose dependencies are READY is launched at
//              once (foundation through kernel control, others through
//              procd, drivers through deviced), its envelope sent, and its
//              READY awaited asynchronously; the probe last, when the
//              profile asks for one
//   shed       untyped after deviced is READY; every other surplus cap
//              before READY is reported
//   teardown   on failure after the first start: every started child,
//              newest first, is stopped, awaited, destroyed, and its
//              retained slots dropped; then SERVICE_BOOTSTRAP_FAILED
//
// All storage is in BootStorage, which the caller places (rootd: static
// storage; tests: the heap). The engine object itself is small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/authority.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/envelope.hpp"
#include "rootd/handoff.hpp"
#include "rootd/hooks.hpp"
#include "rootd/inventory.hpp"
#include "rootd/ordering.hpp"
#include "rootd/policy.hpp"
#include "rootd/profiles.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/sink.hpp"
#include "rootd/status.hpp"

namespace rootd::boot {

// ---------------------------------------------------------------------------
// Build variants. A variant is a type, so code behind `if constexpr` on a
// disabled feature is never instantiated: a runtime ELF carries neither the
// fault hooks nor their strings.
struct RuntimeVariant {
  static constexpr bool stage_lines = false;
  static constexpr bool service_lines = true;
  static constexpr bool fault_hooks = false;
};
struct ReleaseVariant {
  static constexpr bool stage_lines = false;
  static constexpr bool service_lines = false;
  static constexpr bool fault_hooks = false;
};
struct IntegrationVariant {
  static constexpr bool stage_lines = true;
  static constexpr bool service_lines = true;
  static constexpr bool fault_hooks = true;
};

// ---------------------------------------------------------------------------
// Actions and outcomes.

inline constexpr std::size_t kMaxReportLength = 96;

enum class ActionKind : std::uint8_t {
  REPORT,       // text: one report line
  READ_MODULE,  // vaddr, size: give back the module's bytes in Outcome::module
  CALL,         // slot, message, recv_slot: blocking call; reply in Outcome::message
  SEND,         // slot, message, badge: non-blocking send
  WAIT,         // slot (root endpoint): next message in Outcome::message
  CAP,          // cap_op, src, dst_space, dst, rights
  PARK,         // terminal: no outcome
};

struct Action {
  ActionKind kind = ActionKind::PARK;
  char text[kMaxReportLength] = {};
  std::uint32_t text_length = 0;
  std::uint64_t vaddr = 0;
  std::uint64_t size = 0;
  std::uint32_t slot = 0;
  std::uint32_t recv_slot = abi::kNoSlot;
  std::uint64_t badge = 0;
  abi::Message message{};
  abi::CapOp cap_op = abi::CapOp::COPY_ATTENUATED;
  std::uint32_t src = 0;
  std::uint32_t dst_space = 0;
  std::uint32_t dst = 0;
  std::uint32_t rights = 0;

  constexpr std::string_view line() const { return std::string_view(text, text_length); }
};

struct Outcome {
  abi::KernelError error = abi::KernelError::OK;
  abi::Message message{};
  Bytes module{};
};

// ---------------------------------------------------------------------------
// Per-service bookkeeping.

enum class Phase : std::uint8_t {
  WAITING = 0,     // dependencies not READY yet
  QUEUED,          // launchable, not launched
  LAUNCHING,       // launch steps under way
  STARTED,         // running, envelope sent, READY not yet answered
  READY,
  EXITED,          // its process exited (crash, or stopped by teardown)
  DONE,            // probe completed
};

struct ServiceSlotState {
  Phase phase = Phase::WAITING;
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

struct BootStorage {
  OrderPlan plan;
  ServiceSlotState services[bcfg::kMaxServices];
  std::uint16_t queue[bcfg::kMaxServices] = {};
  std::uint16_t started_order[bcfg::kMaxServices] = {};
  Transfer transfers[kMaxTransfersPerEnvelope] = {};  // the service being launched
};

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

template <class Variant = RuntimeVariant>
class Engine {
 public:
  constexpr Engine(Bytes handoff, std::uint32_t root_slot, BootStorage& storage, Hooks hooks = {})
      : handoff_bytes_(handoff), root_slot_(root_slot), st_(storage), hooks_(hooks) {
    if constexpr (!Variant::fault_hooks) hooks_ = Hooks{};
    step();
  }

  // The action to perform now. After PARK there is nothing more.
  constexpr const Action& action() const { return action_; }
  constexpr bool parked() const { return action_.kind == ActionKind::PARK; }
  constexpr Status status() const { return status_; }
  constexpr Reason reason() const { return failure_.reason; }
  constexpr std::uint16_t failed_service() const { return failed_service_; }
  constexpr const bcfg::View& config() const { return cfg_; }
  constexpr const handoff::View& handoff() const { return handoff_; }
  constexpr const OrderPlan& plan() const { return st_.plan; }
  constexpr std::uint32_t kernel_calls() const { return kernel_calls_; }

  // Feed back what the last action produced, and move on.
  constexpr void complete(const Outcome& outcome) {
    if (parked()) return;
    last_ = outcome;
    have_outcome_ = true;
    step();
  }

 private:
  // Where the engine is. Each state either emits an action (and waits for
  // its outcome) or moves on at once.
  enum class State : std::uint8_t {
    INTAKE,
    READ_CONFIG,
    CONFIG_READ,
    LAUNCH_NEXT,
    // one service's launch
    L_CREATE_ENDPOINT,
    L_CREATE_PROCESS,
    L_REGISTER_PAGER,
    L_MAP_FRAME,
    L_TRANSFER,
    L_START,
    L_SEND_ENVELOPE,
    // probe
    P_SPAWN,
    P_REAP,
    WAIT_EVENT,
    SHED_UNTYPED,
    SHED_FINAL,
    REPORT_READY,
    // failure
    T_NEXT,
    T_STOP,
    T_WAIT_EXIT,
    T_DESTROY,
    T_DROP,
    REPORT_DETAIL,
    REPORT_STATUS,
    PARKED,
  };

  // ---- helpers --------------------------------------------------------------

  constexpr void emit_report(std::string_view a, std::string_view b = {}, std::string_view c = {},
                             bool upper_c = false) {
    action_ = Action{};
    action_.kind = ActionKind::REPORT;
    std::uint32_t n = 0;
    auto put = [&](std::string_view s, bool upper) {
      for (char ch : s) {
        if (n >= kMaxReportLength) return;
        if (upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        if (upper && ch == '-') ch = '_';
        action_.text[n++] = ch;
      }
    };
    put(a, false);
    put(b, false);
    put(c, upper_c);
    action_.text_length = n;
  }

  constexpr void emit_call(std::uint32_t slot, std::uint64_t label, std::uint64_t w0 = 0, std::uint64_t w1 = 0,
                           std::uint64_t w2 = 0, std::uint32_t cap = abi::kNoSlot,
                           std::uint32_t recv = abi::kNoSlot) {
    action_ = Action{};
    action_.kind = ActionKind::CALL;
    action_.slot = slot;
    action_.recv_slot = recv;
    action_.message.label = label;
    action_.message.words[0] = w0;
    action_.message.words[1] = w1;
    action_.message.words[2] = w2;
    action_.message.cap = cap;
    ++kernel_calls_;
  }
  constexpr void emit_kernel(abi::KernelOp op, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0) {
    emit_call(abi::kKernelControlSlot, static_cast<std::uint64_t>(op), w0, w1, w2);
  }
  constexpr void emit_cap(abi::CapOp op, std::uint32_t src, std::uint32_t dst_space = 0, std::uint32_t dst = 0,
                          std::uint32_t rights = 0) {
    action_ = Action{};
    action_.kind = ActionKind::CAP;
    action_.cap_op = op;
    action_.src = src;
    action_.dst_space = dst_space;
    action_.dst = dst;
    action_.rights = rights;
    ++kernel_calls_;
  }
  constexpr void emit_wait() {
    action_ = Action{};
    action_.kind = ActionKind::WAIT;
    action_.slot = root_slot_;
    ++kernel_calls_;
  }

  // A CALL's outcome is good when the kernel accepted it and the reply
  // label says OK.
  constexpr bool call_ok() const {
    return last_.error == abi::KernelError::OK && last_.message.label == abi::kReplyOk;
  }

  constexpr std::size_t n() const { return cfg_.service_count(); }
  constexpr std::uint32_t endpoint_slot(std::size_t s) const { return slot_base_ + static_cast<std::uint32_t>(s); }
  constexpr std::uint32_t process_slot(std::size_t s) const {
    return slot_base_ + static_cast<std::uint32_t>(n() + s);
  }
  constexpr std::uint32_t grant_slot(std::size_t s) const {
    return slot_base_ + static_cast<std::uint32_t>(2 * n() + s);
  }
  constexpr const Role& role_of(std::size_t s) const { return *st_.plan.role_at(s); }
  constexpr std::uint32_t image_frame_slot(std::size_t s) const {
    const std::size_t m = handoff_.find_module(cfg_.service(s).image);
    return handoff_.module(m).frame_slot;
  }
  constexpr std::uint16_t first_of_role(RoleId r) const {
    for (std::size_t s = 0; s < n(); ++s) {
      if (st_.plan.role_of[s] == role_index(r)) return static_cast<std::uint16_t>(s);
    }
    return bcfg::kNoIndex;
  }

  // Records the failure (the first one wins) and heads for teardown.
  constexpr void fail(Reason r, std::uint16_t service = bcfg::kNoIndex, std::uint32_t offset = 0) {
    if (failure_.reason == Reason::NONE) {
      failure_ = Error{r, offset};
      failed_service_ = service;
      status_ = reason_status(r);
    }
    teardown_cursor_ = started_count_;
    state_ = State::T_NEXT;
  }
  constexpr void fail_config(Error e) {
    fail(e.reason, owner_of(cfg_, e), e.offset);
  }

  constexpr bool stage(Stage s) {
    if constexpr (Variant::stage_lines) {
      emit_report(kStagePrefix, stage_name(s));
      return true;
    }
    (void)s;
    return false;
  }

  // ---- the state machine ------------------------------------------------------

  // Runs states until one emits an action.
  constexpr void step() {
    for (;;) {
      if (run_state()) return;
    }
  }

  // Returns true when an action was emitted.
  constexpr bool run_state() {
    switch (state_) {
      case State::INTAKE: return intake();
      case State::READ_CONFIG: return read_config();
      case State::CONFIG_READ: return config_read();
      case State::LAUNCH_NEXT: return launch_next();
      case State::L_CREATE_ENDPOINT:
      case State::L_CREATE_PROCESS:
      case State::L_REGISTER_PAGER:
      case State::L_MAP_FRAME:
      case State::L_TRANSFER:
      case State::L_START:
      case State::L_SEND_ENVELOPE: return launch_step();
      case State::P_SPAWN: return probe_step();
      case State::P_REAP: return probe_reap();
      case State::WAIT_EVENT: return wait_event();
      case State::SHED_UNTYPED: return shed_untyped();
      case State::SHED_FINAL: return shed_final();
      case State::REPORT_READY: return report_ready();
      case State::T_NEXT:
      case State::T_STOP:
      case State::T_WAIT_EXIT:
      case State::T_DESTROY:
      case State::T_DROP: return teardown_step();
      case State::REPORT_DETAIL: return report_detail();
      case State::REPORT_STATUS: return report_status();
      case State::PARKED:
        action_ = Action{};
        action_.kind = ActionKind::PARK;
        return true;
    }
    return false;
  }

  // Validation stages run without kernel calls; each may emit a stage line
  // first. sub_ counts where in the sequence we are.
  constexpr bool intake() {
    switch (sub_++) {
      case 0:
        if (stage(Stage::INTAKE)) return true;
        [[fallthrough]];
      case 1: {
        auto parsed = handoff::parse(handoff_bytes_);
        if (!parsed.ok()) {
          fail(parsed.error().reason, bcfg::kNoIndex, parsed.error().offset);
          return false;
        }
        handoff_ = parsed.value();
        sub_ = 2;
        if (stage(Stage::INVENTORY)) return true;
        [[fallthrough]];
      }
      case 2: {
        FirstError first;
        if (!validate_runtime_inventory(handoff_, first)) {
          fail(first.error.reason, bcfg::kNoIndex, first.error.offset);
          return false;
        }
        sub_ = 3;
        if (stage(Stage::CONFIG)) return true;
        [[fallthrough]];
      }
      default:
        sub_ = 0;
        state_ = State::READ_CONFIG;
        return false;
    }
  }

  constexpr bool read_config() {
    const Result<handoff::Module> module = find_boot_config(handoff_);
    if (!module.ok()) {
      fail(module.error().reason, bcfg::kNoIndex, module.error().offset);
      return false;
    }
    action_ = Action{};
    action_.kind = ActionKind::READ_MODULE;
    action_.vaddr = module.value().vaddr;
    action_.size = module.value().size;
    state_ = State::CONFIG_READ;
    have_outcome_ = false;
    return true;
  }

  constexpr bool config_read() {
    switch (sub_++) {
      case 0: {
        if (!have_outcome_ || last_.module.size() != action_.size) {
          fail(Reason::BOOT_MODULE_UNREADABLE);
          return false;
        }
        auto parsed = bcfg::parse(last_.module);
        if (!parsed.ok()) {
          fail(parsed.error().reason, bcfg::kNoIndex, parsed.error().offset);
          return false;
        }
        cfg_ = parsed.value();
        FirstError first;
        if (!validate_config(cfg_, first)) {
          fail_config(first.error);
          return false;
        }
        if (stage(Stage::MODULES)) return true;
        [[fallthrough]];
      }
      case 1: {
        sub_ = 2;
        FirstError first;
        if (!validate_modules(cfg_, handoff_, first)) {
          fail_config(first.error);
          return false;
        }
        if (stage(Stage::ENVELOPES)) return true;
        [[fallthrough]];
      }
      case 2: {
        sub_ = 3;
        FirstError first;
        if (!validate_inventory(cfg_, handoff_, first)) {
          fail(first.error.reason, bcfg::kNoIndex, first.error.offset);
          return false;
        }
        // Streaming validation: the whole set is checked without storing
        // it; each envelope is synthesized again at its launch.
        FirstError env;
        if (!validate_envelopes(cfg_, handoff_, env)) {
          fail_config(env.error);
          return false;
        }
        if (stage(Stage::ORDER)) return true;
        [[fallthrough]];
      }
      case 3: {
        sub_ = 4;
        FirstError first;
        if (!plan_order(cfg_, st_.plan, first)) {
          fail_config(first.error);
          return false;
        }
        // rootd's own slots: retained endpoints, process caps and install
        // grants, kRootSlotsPerService per service from the first free slot
        // up (validate_inventory checked they fit).
        slot_base_ = handoff_.cspace().first_free_slot;
        for (std::size_t s = 0; s < n(); ++s) {
          st_.services[s] = ServiceSlotState{};
          st_.services[s].remaining = static_cast<std::uint16_t>(st_.plan.dependency_count(s));
          if (role_of(s).launch == LaunchPath::PROBE) ++probes_total_;
        }
        queue_head_ = queue_tail_ = 0;
        for (std::size_t k = 0; k < n(); ++k) {
          const std::uint16_t s = st_.plan.order[k];
          if (st_.services[s].remaining == 0) enqueue(s);
        }
        if constexpr (Variant::fault_hooks) {
          if (hooks_.hook == Hook::FORCE_FAIL) {
            fail(Reason::FORCED_FAILURE);
            return false;
          }
        }
        if (stage(Stage::LAUNCH)) return true;
        [[fallthrough]];
      }
      default:
        sub_ = 0;
        state_ = State::LAUNCH_NEXT;
        return false;
    }
  }

  // Probes are not queued: they run once every other service is READY.
  constexpr void enqueue(std::uint16_t s) {
    st_.services[s].phase = Phase::QUEUED;
    if (role_of(s).launch != LaunchPath::PROBE) st_.queue[queue_tail_++] = s;
  }

  // Launches the next launchable service, or with nothing to launch waits
  // for an event.
  constexpr bool launch_next() {
    if (queue_head_ < queue_tail_) {
      const std::uint16_t s = st_.queue[queue_head_++];
      current_ = s;
      st_.services[s].phase = Phase::LAUNCHING;
      state_ = State::L_CREATE_ENDPOINT;
      sub_ = 0;
      return false;
    }
    if (ready_count_ + probes_total_ == n() + probes_done_) {
      for (std::size_t k = 0; k < n(); ++k) {
        const std::uint16_t s = st_.plan.order[k];
        if (role_of(s).launch != LaunchPath::PROBE || st_.services[s].phase != Phase::QUEUED) continue;
        current_ = s;
        st_.services[s].phase = Phase::LAUNCHING;
        state_ = State::P_SPAWN;
        sub_ = 0;
        return stage(Stage::PROBE);
      }
    }
    if (ready_count_ == n()) {
      state_ = State::SHED_FINAL;
      sub_ = 0;
      return stage(Stage::SHED);
    }
    state_ = State::WAIT_EVENT;
    emit_wait();
    have_outcome_ = false;
    return true;
  }

  // One launch step per call: emits the step's action the first time, and
  // checks its outcome the second.
  constexpr bool launch_step() {
    const std::uint16_t s = current_;
    ServiceSlotState& svc = st_.services[s];
    const Role& r = role_of(s);
    if (sub_ == 0) {
      sub_ = 1;
      have_outcome_ = false;
      switch (state_) {
        case State::L_CREATE_ENDPOINT:
          emit_kernel(abi::KernelOp::CREATE_ENDPOINT, endpoint_slot(s));
          return true;
        case State::L_CREATE_PROCESS:
          if constexpr (Variant::fault_hooks) {
            if (hooks_.hook == Hook::FORCE_SPAWN_FAIL && hooks_.service == cfg_.service(s).name) {
              fail(Reason::BOOT_FORCED_SPAWN_FAILURE, s);
              return false;
            }
          }
          if (r.launch == LaunchPath::FOUNDATION) {
            emit_kernel(abi::KernelOp::CREATE_STAGED_PROCESS, image_frame_slot(s), process_slot(s), s);
          } else if (r.launch == LaunchPath::DEVICED) {
            emit_call(endpoint_slot(first_of_role(RoleId::DEVICED)),
                      static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER), s, 0, 0, image_frame_slot(s),
                      grant_slot(s));
          } else {
            emit_call(endpoint_slot(first_of_role(RoleId::PROCD)),
                      static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS), s, 0, 0,
                      image_frame_slot(s), grant_slot(s));
          }
          return true;
        case State::L_REGISTER_PAGER:
          emit_kernel(abi::KernelOp::REGISTER_PAGER, process_slot(s), handoff_.endpoint_slot(EndpointKind::PAGER));
          return true;
        case State::L_MAP_FRAME:
          emit_kernel(abi::KernelOp::MAP_FRAME, process_slot(s), image_frame_slot(s));
          return true;
        case State::L_TRANSFER: {
          const Transfer& t = st_.transfers[transfer_index_];
          const std::uint32_t space = r.launch == LaunchPath::FOUNDATION ? process_slot(s) : grant_slot(s);
          emit_cap(abi::CapOp::COPY_ATTENUATED, t.source_slot, space, t.local_slot, t.rights);
          return true;
        }
        case State::L_START:
          if (r.launch == LaunchPath::FOUNDATION) {
            emit_kernel(abi::KernelOp::START_PROCESS, process_slot(s));
          } else {
            emit_call(endpoint_slot(first_of_role(RoleId::PROCD)),
                      static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS), svc.pid);
          }
          return true;
        case State::L_SEND_ENVELOPE: {
          action_ = Action{};
          action_.kind = ActionKind::SEND;
          action_.slot = endpoint_slot(s);
          action_.badge = abi::kReplyBadgeBase + s;
          abi::Message& m = action_.message;
          m.label = static_cast<std::uint64_t>(abi::Envelope::DELIVER);
          m.words[0] = s;
          m.words[1] = role_index(r.id);
          m.words[2] = primary_control_slot(r);
          m.words[3] = r.window.first | (static_cast<std::uint64_t>(r.window.end()) << 32);
          m.words[4] = transfer_count_;
          m.words[5] = transfer_digest();
          ++kernel_calls_;
          return true;
        }
        default: break;
      }
      return false;
    }
    // Second visit: judge the outcome of the action.
    sub_ = 0;
    switch (state_) {
      case State::L_CREATE_ENDPOINT:
        if (!call_ok()) return fail(Reason::BOOT_ENDPOINT_CREATE_FAILED, s), false;
        svc.has_endpoint = true;
        state_ = State::L_CREATE_PROCESS;
        return false;
      case State::L_CREATE_PROCESS:
        if (!call_ok()) return fail(Reason::BOOT_SPAWN_FAILED, s), false;
        svc.staged = true;
        svc.pid = static_cast<std::uint32_t>(last_.message.words[0]);
        if (r.launch == LaunchPath::FOUNDATION) {
          svc.has_process = true;
          state_ = State::L_REGISTER_PAGER;
        } else {
          if (last_.message.cap != grant_slot(s)) return fail(Reason::BOOT_NO_INSTALL_GRANT, s), false;
          svc.has_grant = true;
          // deviced starts the driver itself; it waits for its envelope.
          if (r.launch == LaunchPath::DEVICED) mark_started(s);
          if (!load_transfers(s)) return false;
          state_ = State::L_TRANSFER;
          if (transfer_count_ == 0) state_ = next_after_transfers(r);
        }
        return false;
      case State::L_REGISTER_PAGER:
        if (!call_ok()) return fail(Reason::BOOT_PAGER_FAILED, s), false;
        state_ = State::L_MAP_FRAME;
        return false;
      case State::L_MAP_FRAME:
        if (!call_ok()) return fail(Reason::BOOT_MAP_FAILED, s), false;
        if (!load_transfers(s)) return false;
        state_ = transfer_count_ == 0 ? next_after_transfers(r) : State::L_TRANSFER;
        return false;
      case State::L_TRANSFER:
        if (last_.error != abi::KernelError::OK) return fail(Reason::BOOT_TRANSFER_FAILED, s), false;
        if (++transfer_index_ >= transfer_count_) state_ = next_after_transfers(r);
        return false;
      case State::L_START:
        if (!call_ok()) return fail(Reason::BOOT_START_FAILED, s), false;
        mark_started(s);
        state_ = State::L_SEND_ENVELOPE;
        return false;
      case State::L_SEND_ENVELOPE:
        if (last_.error != abi::KernelError::OK) return fail(Reason::BOOT_ENVELOPE_SEND_FAILED, s), false;
        svc.phase = Phase::STARTED;
        state_ = State::LAUNCH_NEXT;
        return false;
      default: break;
    }
    return false;
  }

  static constexpr State next_after_transfers(const Role& r) {
    return r.launch == LaunchPath::DEVICED ? State::L_SEND_ENVELOPE : State::L_START;
  }

  constexpr void mark_started(std::uint16_t s) {
    st_.services[s].started = true;
    st_.started_order[started_count_++] = s;
  }

  // Synthesizes service s's envelope again into the launch buffer (the set
  // was validated as a whole before the first launch, so the same inputs
  // give the same, valid, transfers). Integration hooks may spoil them on
  // purpose afterwards.
  constexpr bool load_transfers(std::uint16_t s) {
    auto envelope = synthesize_envelope(cfg_, sources_from(handoff_), s,
                                        std::span<Transfer>(st_.transfers, kMaxTransfersPerEnvelope), 0);
    if (!envelope.ok()) {
      fail(Reason::INTERNAL_STATE, s);
      return false;
    }
    std::size_t count = envelope.value().transfer_count;
    if constexpr (Variant::fault_hooks) {
      if (role_of(s).id == RoleId::PROBED) {
        for (std::size_t i = 0; i < count; ++i) {
          Transfer& t = st_.transfers[i];
          if (t.authority != AuthorityKind::DEDICATED_ENDPOINT || t.endpoint != EndpointKind::PCI_CONFIG) continue;
          if (hooks_.hook == Hook::PROBED_OMIT_PRIMARY) {
            st_.transfers[i] = st_.transfers[count - 1];
            --count;
            break;
          }
          if (hooks_.hook == Hook::PROBED_MISROUTE_PRIMARY) t.local_slot = endpoint_info(EndpointKind::PCI_CONFIG).local_slot + 1;
        }
      }
    }
    transfer_count_ = static_cast<std::uint32_t>(count);
    transfer_index_ = 0;
    return true;
  }

  // FNV-1a over the transfer table, each transfer's local slot then rights
  // as 8 little-endian bytes, in ascending local-slot order: a service
  // computes the same over what it holds, so equal digests mean it holds
  // exactly what rootd copied (docs/kernel-abi.md).
  constexpr std::uint64_t transfer_digest() const {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 0x100000001b3ULL;
      }
    };
    // Local slots within one envelope are distinct (validated), so taking
    // the next larger slot each round visits every transfer once.
    std::uint64_t previous = 0;
    bool first = true;
    for (std::uint32_t round = 0; round < transfer_count_; ++round) {
      std::uint32_t best = transfer_count_;
      for (std::uint32_t i = 0; i < transfer_count_; ++i) {
        const std::uint32_t slot = st_.transfers[i].local_slot;
        if (!first && slot <= previous) continue;
        if (best == transfer_count_ || slot < st_.transfers[best].local_slot) best = i;
      }
      if (best == transfer_count_) break;
      mix(st_.transfers[best].local_slot);
      mix(st_.transfers[best].rights);
      previous = st_.transfers[best].local_slot;
      first = false;
    }
    return h;
  }

  // The probe: spawned through procd, then its completion is awaited.
  constexpr bool probe_step() {
    const std::uint16_t s = current_;
    if (sub_ == 0) {
      sub_ = 1;
      have_outcome_ = false;
      emit_call(endpoint_slot(first_of_role(RoleId::PROCD)), static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE),
                s, 0, 0, image_frame_slot(s));
      return true;
    }
    sub_ = 0;
    if (!call_ok()) return fail(Reason::BOOT_PROBE_SPAWN_FAILED, s), false;
    st_.services[s].staged = true;
    st_.services[s].pid = static_cast<std::uint32_t>(last_.message.words[0]);
    st_.services[s].phase = Phase::STARTED;
    mark_started(s);
    state_ = State::LAUNCH_NEXT;
    return false;
  }

  // A completed probe is destroyed at once: it has done its work.
  constexpr bool probe_reap() {
    const std::uint16_t s = current_;
    if (sub_ == 0) {
      sub_ = 1;
      emit_kernel(abi::KernelOp::DESTROY_PROCESS, st_.services[s].pid);
      have_outcome_ = false;
      return true;
    }
    sub_ = 0;
    if (!call_ok()) return fail(Reason::BOOT_PROBE_FAILED, s), false;
    st_.services[s].destroyed = true;
    ++probes_done_;
    became_ready(s);
    // Still DONE, not READY: the probe's own EXITED may follow and is no
    // failure.
    st_.services[s].phase = Phase::DONE;
    state_ = State::LAUNCH_NEXT;
    return false;
  }

  constexpr std::uint16_t service_of_pid(std::uint64_t pid) const {
    for (std::size_t k = 0; k < started_count_; ++k) {
      const std::uint16_t s = st_.started_order[k];
      if (st_.services[s].pid == pid) return s;
    }
    return bcfg::kNoIndex;
  }

  constexpr void became_ready(std::uint16_t s) {
    st_.services[s].phase = Phase::READY;
    ++ready_count_;
    for (std::uint32_t e = st_.plan.dependent_start[s]; e < st_.plan.dependent_start[s + 1]; ++e) {
      const std::uint16_t d = st_.plan.dependents[e];
      if (--st_.services[d].remaining == 0) enqueue(d);
    }
  }

  // Handles one message from the root endpoint: a service's answer or a
  // process event.
  constexpr bool wait_event() {
    if (!have_outcome_) return emit_wait(), true;
    have_outcome_ = false;
    if (last_.error != abi::KernelError::OK) return fail(Reason::BOOT_WAIT_FAILED), false;
    const abi::Message& m = last_.message;
    if (m.badge == abi::kEventBadge) {
      const std::uint16_t s = service_of_pid(m.words[0]);
      if (s == bcfg::kNoIndex) return fail(Reason::BOOT_UNEXPECTED_EVENT), false;
      ServiceSlotState& svc = st_.services[s];
      if (m.label == static_cast<std::uint64_t>(abi::Event::STARTED)) {
        state_ = State::LAUNCH_NEXT;
        return false;
      }
      if (m.label == static_cast<std::uint64_t>(abi::Event::PROBE_COMPLETED) &&
          role_of(s).launch == LaunchPath::PROBE && svc.phase == Phase::STARTED) {
        if (m.words[1] != 0) return fail(Reason::BOOT_PROBE_FAILED, s), false;
        svc.phase = Phase::DONE;
        current_ = s;
        state_ = State::P_REAP;
        sub_ = 0;
        return false;
      }
      if (m.label == static_cast<std::uint64_t>(abi::Event::EXITED)) {
        svc.exited = true;
        // A probe exits once it has completed; anything else exiting
        // during boot is a failed service.
        if (svc.phase == Phase::DONE) {
          state_ = State::LAUNCH_NEXT;
          return false;
        }
        svc.phase = Phase::EXITED;
        return fail(Reason::BOOT_SERVICE_EXITED, s), false;
      }
      // A known process sending an event it has no business sending.
      return fail(Reason::BOOT_HANDSHAKE_INVALID, s), false;
    }
    if (m.badge < abi::kReplyBadgeBase || m.badge - abi::kReplyBadgeBase >= n()) {
      return fail(Reason::BOOT_UNEXPECTED_EVENT), false;
    }
    const auto s = static_cast<std::uint16_t>(m.badge - abi::kReplyBadgeBase);
    ServiceSlotState& svc = st_.services[s];
    if (svc.phase != Phase::STARTED) return fail(Reason::BOOT_HANDSHAKE_INVALID, s), false;
    if (m.label == static_cast<std::uint64_t>(abi::Envelope::NOT_READY)) {
      return fail(Reason::BOOT_SERVICE_NOT_READY, s), false;
    }
    if (m.label != static_cast<std::uint64_t>(abi::Envelope::READY)) {
      return fail(Reason::BOOT_HANDSHAKE_INVALID, s), false;
    }
    if constexpr (Variant::fault_hooks) {
      if (hooks_.hook == Hook::FORCE_SERVICE_FAIL && hooks_.service == cfg_.service(s).name) {
        return fail(Reason::BOOT_FORCED_SERVICE_FAILURE, s), false;
      }
    }
    became_ready(s);
    const bool deviced_now = role_of(s).id == RoleId::DEVICED;
    state_ = deviced_now ? State::SHED_UNTYPED : State::LAUNCH_NEXT;
    sub_ = 0;
    if constexpr (Variant::service_lines) {
      emit_report(kServiceReadyPrefix, {}, cfg_.service(s).name, true);
      return true;
    }
    return false;
  }

  // After the deviced handoff rootd drops every untyped cap: memory
  // authority now lives with memd and device authority with deviced.
  constexpr bool shed_untyped() {
    if (sub_ > 0) {
      if (last_.error != abi::KernelError::OK) return fail(Reason::BOOT_SHED_FAILED), false;
    }
    if (sub_ < handoff_.untyped_count()) {
      emit_cap(abi::CapOp::DELETE, handoff_.untyped(sub_).slot);
      ++sub_;
      have_outcome_ = false;
      return true;
    }
    untyped_shed_ = true;
    sub_ = 0;
    state_ = State::LAUNCH_NEXT;
    return false;
  }

  // Before READY: every cap rootd took or was given for the boot goes,
  // leaving it its own cspace, vspace, kernel control and root endpoint.
  // Order: untyped (if deviced never ran), dedicated endpoints, module
  // frames, image frame, then per service its install grant, process cap
  // and retained endpoint.
  constexpr bool shed_final() {
    if (sub_ > 0 && last_.error != abi::KernelError::OK) {
      // rootd still holds that slot: teardown must drop it.
      if (pending_shed_ != nullptr) *pending_shed_ = true;
      pending_shed_ = nullptr;
      return fail(Reason::BOOT_SHED_FAILED), false;
    }
    pending_shed_ = nullptr;
    for (;;) {
      const std::size_t k = sub_++;
      std::size_t base = 0;
      const std::size_t u = untyped_shed_ ? 0 : handoff_.untyped_count();
      if (k < base + u) return emit_shed(handoff_.untyped(k - base).slot);
      base += u;
      if (k < base + handoff_.endpoint_count()) return emit_shed(handoff_.endpoint(k - base).slot);
      base += handoff_.endpoint_count();
      if (k < base + handoff_.module_count()) return emit_shed(handoff_.module(k - base).frame_slot);
      base += handoff_.module_count();
      if (k == base) return emit_shed(handoff_.image_frame().slot);
      base += 1;
      if (k < base + 3 * n()) {
        const std::size_t s = (k - base) / 3;
        ServiceSlotState& svc = st_.services[s];
        switch ((k - base) % 3) {
          case 0:
            if (svc.has_grant) return emit_shed_of(svc.has_grant, grant_slot(s));
            break;
          case 1:
            if (svc.has_process) return emit_shed_of(svc.has_process, process_slot(s));
            break;
          default:
            if (svc.has_endpoint) return emit_shed_of(svc.has_endpoint, endpoint_slot(s));
            break;
        }
        continue;
      }
      break;
    }
    sub_ = 0;
    state_ = State::REPORT_READY;
    return stage(Stage::READY);
  }
  constexpr bool emit_shed(std::uint32_t slot) {
    emit_cap(abi::CapOp::DELETE, slot);
    have_outcome_ = false;
    return true;
  }
  // Deletes a per-service slot, clearing its flag now and restoring it if
  // the delete fails (shed_final), so teardown still drops the slot.
  constexpr bool emit_shed_of(bool& held, std::uint32_t slot) {
    held = false;
    pending_shed_ = &held;
    return emit_shed(slot);
  }

  constexpr bool report_ready() {
    status_ = Status::READY;
    emit_report(kMarkerPrefix, status_name(Status::READY));
    state_ = State::PARKED;
    return true;
  }

  // ---- teardown ---------------------------------------------------------------

  // Newest started child first; then the service that was being launched
  // but never started. For each: managed-stop, wait for EXITED, destroy,
  // drop rootd's grant, process cap and retained endpoint.
  constexpr bool teardown_step() {
    switch (state_) {
      case State::T_NEXT: {
        // Pick the next service to tear down.
        while (teardown_cursor_ > 0) {
          const std::uint16_t s = st_.started_order[--teardown_cursor_];
          if (!st_.services[s].destroyed) {
            tearing_ = s;
            state_ = st_.services[s].exited ? State::T_DESTROY : State::T_STOP;
            sub_ = 0;
            return false;
          }
        }
        // The service in mid-launch: staged or holding slots, not started.
        if (!launch_cleaned_ && current_ != bcfg::kNoIndex && current_ < n()) {
          launch_cleaned_ = true;
          const ServiceSlotState& svc = st_.services[current_];
          if (!svc.started && (svc.staged || svc.has_endpoint || svc.has_grant || svc.has_process)) {
            tearing_ = current_;
            state_ = svc.staged ? State::T_DESTROY : State::T_DROP;
            sub_ = 0;
            return false;
          }
        }
        state_ = State::REPORT_DETAIL;
        return false;
      }
      case State::T_STOP:
        if (sub_ == 0) {
          sub_ = 1;
          emit_kernel(abi::KernelOp::MANAGED_STOP, st_.services[tearing_].pid);
          have_outcome_ = false;
          return true;
        }
        sub_ = 0;
        // A child that is already gone cannot be stopped; its EXITED event
        // is still awaited.
        state_ = State::T_WAIT_EXIT;
        return false;
      case State::T_WAIT_EXIT: {
        if (sub_ == 0) {
          sub_ = 1;
          emit_wait();
          have_outcome_ = false;
          return true;
        }
        sub_ = 0;
        if (last_.error != abi::KernelError::OK) {
          // Nothing more will arrive: destroy regardless.
          state_ = State::T_DESTROY;
          return false;
        }
        const abi::Message& m = last_.message;
        if (m.badge == abi::kEventBadge && m.label == static_cast<std::uint64_t>(abi::Event::EXITED)) {
          const std::uint16_t s = service_of_pid(m.words[0]);
          if (s != bcfg::kNoIndex) st_.services[s].exited = true;
        }
        // Other answers arriving now (a late READY) are dropped: the boot
        // has failed.
        state_ = st_.services[tearing_].exited ? State::T_DESTROY : State::T_WAIT_EXIT;
        return false;
      }
      case State::T_DESTROY:
        if (sub_ == 0) {
          sub_ = 1;
          emit_kernel(abi::KernelOp::DESTROY_PROCESS, st_.services[tearing_].pid);
          have_outcome_ = false;
          return true;
        }
        sub_ = 0;
        st_.services[tearing_].destroyed = true;
        state_ = State::T_DROP;
        return false;
      case State::T_DROP: {
        ServiceSlotState& svc = st_.services[tearing_];
        if (svc.has_grant) return svc.has_grant = false, emit_shed(grant_slot(tearing_));
        if (svc.has_process) return svc.has_process = false, emit_shed(process_slot(tearing_));
        if (svc.has_endpoint) return svc.has_endpoint = false, emit_shed(endpoint_slot(tearing_));
        svc.destroyed = true;
        state_ = State::T_NEXT;
        return false;
      }
      default: break;
    }
    return false;
  }

  constexpr bool report_detail() {
    state_ = State::REPORT_STATUS;
    const std::string_view service =
        failed_service_ != bcfg::kNoIndex && failed_service_ < n() ? cfg_.service(failed_service_).name
                                                                     : std::string_view{};
    emit_report(kDetailPrefix, reason_name(failure_.reason));
    if (!service.empty()) {
      std::uint32_t len = action_.text_length;
      for (char c : std::string_view(":")) action_.text[len++] = c;
      for (char c : service) {
        if (len < kMaxReportLength) action_.text[len++] = c;
      }
      action_.text_length = len;
    }
    return true;
  }

  constexpr bool report_status() {
    emit_report(kMarkerPrefix, status_name(status_));
    state_ = State::PARKED;
    return true;
  }

  Bytes handoff_bytes_;
  std::uint32_t root_slot_;
  BootStorage& st_;
  Hooks hooks_;

  State state_ = State::INTAKE;
  std::uint32_t sub_ = 0;
  Action action_{};
  Outcome last_{};
  bool have_outcome_ = false;

  handoff::View handoff_{};
  bcfg::View cfg_{};
  std::uint32_t slot_base_ = 0;

  std::size_t queue_head_ = 0;
  std::size_t queue_tail_ = 0;
  std::uint16_t current_ = bcfg::kNoIndex;
  std::uint32_t transfer_index_ = 0;
  std::uint32_t transfer_count_ = 0;
  std::size_t ready_count_ = 0;
  std::size_t probes_total_ = 0;
  std::size_t probes_done_ = 0;
  std::size_t started_count_ = 0;
  std::size_t teardown_cursor_ = 0;
  std::uint16_t tearing_ = 0;
  bool launch_cleaned_ = false;
  bool untyped_shed_ = false;
  bool* pending_shed_ = nullptr;

  Status status_ = Status::INTERNAL_ERROR;
  Error failure_{};
  std::uint16_t failed_service_ = bcfg::kNoIndex;
  std::uint32_t kernel_calls_ = 0;
};

}  // namespace rootd::boot
