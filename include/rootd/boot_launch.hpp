// LAUNCH: one service, by its planned launch path.
//
//   foundation  endpoint, CREATE_STAGED_PROCESS, pager, image frame,
//               transfers into the process cap, START_PROCESS, DELIVER
//   procd       endpoint, procd CREATE_STAGED_PROCESS carrying the image frame
//               (authorized like any transfer; install grant back),
//               transfers through the grant, procd START_STAGED_PROCESS, DELIVER
//   probe       as procd, with SPAWN_PROBE for CREATE_STAGED_PROCESS
//               (boot_probe.hpp runs it once every other service is READY)
//   deviced     endpoint, deviced START_DRIVER carrying the image frame
//               (authorized) and the driver's envelope (transfer count and
//               digest); deviced stages the driver and gives rootd no grant:
//               rootd never writes a driver's cspace. Per transfer,
//               authorized against the driver's role: CAP COPY_ATTENUATED
//               into deviced at kPopulateStagingSlot, then deviced
//               POPULATE_DRIVER, which copies it on through deviced's
//               child-populate endpoint and drops it; after the last one
//               deviced starts the driver. DELIVER
//
// Each step emits one action and judges its outcome on the next run. The
// service's envelope is synthesized again into the launch buffer: the set
// was validated whole before the first launch, so the same inputs give the
// same, valid, transfers.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_storage.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/envelope.hpp"
#include "rootd/protocol.hpp"

namespace rootd::boot {

// A launch CALL to procd or deviced carries the service's image frame: the
// launcher receives a copy, so it is a transfer like any other and passes
// authorize() before it leaves. The kernel drops GRANT from a carried copy;
// the launcher picks the slot (abi::kNoSlot here). False, with the boot
// failed on the rule's reason, when the rule refuses it.
template <class Variant, std::size_t N>
constexpr bool authorize_carried_image(Core<Variant, N>& c, std::uint16_t service) {
  const ServicePlan& p = c.service_plan(service);
  Transfer t;
  t.op = abi::CapOp::COPY_ATTENUATED;
  t.authority = AuthorityKind::CARRIED_IMAGE_FRAME;
  t.local_slot = abi::kNoSlot;
  t.source_slot = p.image_frame;
  t.source_rights = sources_from(c.handoff).image_frame_rights;
  t.rights = t.source_rights & ~static_cast<std::uint32_t>(abi::RIGHT_GRANT);
  t.peer = service;
  t.peer_role = c.plan().role_of(service).id;
  if (const Check verdict = authorize(c.plan().role_of(p.launcher), t); !ok(verdict)) {
    c.fail(verdict.reason, service);
    return false;
  }
  return true;
}

template <class Variant, std::size_t N>
class LaunchUnit {
 public:
  constexpr void begin(std::uint16_t service) {
    service_ = service;
    step_ = Step::CREATE_ENDPOINT;
    awaiting_ = false;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    for (;;) {
      if (!awaiting_) {
        if (!emit(c)) return PhaseEvent::FAILED;
        awaiting_ = true;
        return PhaseEvent::EMITTED;
      }
      awaiting_ = false;
      if (const std::optional<PhaseEvent> done = judge(c)) return *done;
    }
  }

 private:
  enum class Step : std::uint8_t {
    CREATE_ENDPOINT,
    CREATE_PROCESS,
    REGISTER_PAGER,
    MAP_FRAME,
    TRANSFER,
    STAGE,     // driver: one transfer into deviced's staging slot
    POPULATE,  // driver: deviced copies it on and drops it
    START,
    DELIVER,
    INTENT,  // storage services: the intent, chunk by chunk, after DELIVER
  };

  constexpr const ServicePlan& plan(const Core<Variant, N>& c) const { return c.service_plan(service_); }
  constexpr std::uint32_t launcher_endpoint(const Core<Variant, N>& c) const {
    return c.service_plan(plan(c).launcher).endpoint_slot;
  }

  // Emits the current step's action; false when it failed instead.
  constexpr bool emit(Core<Variant, N>& c) {
    const ServicePlan& p = plan(c);
    switch (step_) {
      case Step::CREATE_ENDPOINT: c.emit_kernel(abi::KernelOp::CREATE_ENDPOINT, p.endpoint_slot); return true;
      case Step::CREATE_PROCESS:
        if constexpr (Variant::fault_hooks) {
          if (c.hooks.hook == Hook::FORCE_SPAWN_FAIL && c.hooks.service == c.cfg.service(service_).name) {
            c.fail(Reason::BOOT_FORCED_SPAWN_FAILURE, service_);
            return false;
          }
        }
        if (p.launch == LaunchPath::FOUNDATION) {
          c.emit_kernel(abi::KernelOp::CREATE_STAGED_PROCESS, p.image_frame, p.process_slot, service_);
        } else if (p.launch == LaunchPath::DEVICED) {
          if (!authorize_carried_image(c, service_)) return false;
          if (!load_transfers(c) || transfer_count_ == 0) {
            c.fail(Reason::INTERNAL_STATE, service_);
            return false;
          }
          protocol::LaunchRequest r{static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER), service_, p.image_frame};
          r.transfer_count = transfer_count_;
          r.digest = protocol::transfer_digest(std::span<const Transfer>(c.st.transfers, transfer_count_));
          c.emit_call(launcher_endpoint(c), protocol::encode(r));
        } else {
          if (!authorize_carried_image(c, service_)) return false;
          const std::uint64_t op = p.launch == LaunchPath::PROBE
                                       ? static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE)
                                       : static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS);
          c.emit_call(launcher_endpoint(c), protocol::encode(protocol::LaunchRequest{op, service_, p.image_frame, 0}),
                      p.grant_slot);
        }
        return true;
      case Step::REGISTER_PAGER:
        c.emit_kernel(abi::KernelOp::REGISTER_PAGER, p.process_slot, c.handoff.endpoint_slot(EndpointKind::PAGER));
        return true;
      case Step::MAP_FRAME: c.emit_kernel(abi::KernelOp::MAP_FRAME, p.process_slot, p.image_frame); return true;
      case Step::TRANSFER: {
        const Transfer& t = c.st.transfers[transfer_index_];
        const std::uint32_t space = p.launch == LaunchPath::FOUNDATION ? p.process_slot : p.grant_slot;
        c.emit_cap(abi::CapOp::COPY_ATTENUATED, t.source_slot, space, t.local_slot, t.rights);
        return true;
      }
      case Step::STAGE: {
        // Authorized against the driver's own rules before it leaves rootd.
        const Transfer& t = c.st.transfers[transfer_index_];
        if (const Check verdict = authorize(c.plan().role_of(service_), t); !ok(verdict)) {
          c.fail(verdict.reason, service_);
          return false;
        }
        c.emit_cap(abi::CapOp::COPY_ATTENUATED, t.source_slot, c.service_plan(p.launcher).grant_slot,
                   kPopulateStagingSlot, t.rights);
        return true;
      }
      case Step::POPULATE: {
        const Transfer& t = c.st.transfers[transfer_index_];
        const protocol::PopulateRequest r{c.state(service_).pid, kPopulateStagingSlot, t.local_slot, t.rights};
        c.emit_call(launcher_endpoint(c),
                    protocol::encode(r, static_cast<std::uint64_t>(abi::DevicedOp::POPULATE_DRIVER)));
        return true;
      }
      case Step::START:
        if (p.launch == LaunchPath::FOUNDATION) {
          c.emit_kernel(abi::KernelOp::START_PROCESS, p.process_slot);
        } else {
          const auto op = static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS);
          c.emit_call(launcher_endpoint(c),
                      protocol::encode(protocol::LaunchRequest{op, service_, abi::kNoSlot, c.state(service_).pid}));
        }
        return true;
      case Step::DELIVER: {
        const Role& r = c.plan().role_of(service_);
        const auto transfers = std::span<const Transfer>(c.st.transfers, transfer_count_);
        protocol::Deliver d;
        d.identity = service_;
        d.role = static_cast<std::uint16_t>(role_index(r.id));
        d.control_slot = primary_control_slot(r);
        d.window_first = r.window.first;
        d.window_end = r.window.end();
        d.transfer_count = transfer_count_;
        d.digest = protocol::transfer_digest(transfers);
        c.emit_send(p.endpoint_slot, protocol::encode(d), protocol::answer_badge(service_));
        return true;
      }
      case Step::INTENT:
        c.emit_send(p.endpoint_slot, storage_intent_chunk(c, service_, chunk_).message, protocol::answer_badge(service_));
        return true;
    }
    return false;
  }

  // Judges the outcome of the step just performed: moves on to the next
  // step (nullopt), or names the unit's final event.
  constexpr std::optional<PhaseEvent> judge(Core<Variant, N>& c) {
    const ServicePlan& p = plan(c);
    ServiceState& svc = c.state(service_);
    switch (step_) {
      case Step::CREATE_ENDPOINT:
        if (!c.call_ok()) return fail(c, Reason::BOOT_ENDPOINT_CREATE_FAILED);
        svc.has_endpoint = true;
        step_ = Step::CREATE_PROCESS;
        return std::nullopt;
      case Step::CREATE_PROCESS: {
        const Result<protocol::LaunchReply> reply = protocol::decode_launch_reply(c.last.message);
        if (!c.kernel_ok() || !reply.ok()) {
          return fail(c, p.launch == LaunchPath::PROBE ? Reason::BOOT_PROBE_SPAWN_FAILED : Reason::BOOT_SPAWN_FAILED);
        }
        svc.staged = true;
        svc.pid = reply.value().pid;
        if (p.launch == LaunchPath::FOUNDATION) {
          svc.has_process = true;
          step_ = Step::REGISTER_PAGER;
          return std::nullopt;
        }
        if (p.launch == LaunchPath::DEVICED) {
          // The driver is staged; deviced populates it (transfers loaded above).
          transfer_index_ = 0;
          step_ = Step::STAGE;
          return std::nullopt;
        }
        if (reply.value().grant != p.grant_slot) return fail(c, Reason::BOOT_NO_INSTALL_GRANT);
        svc.has_grant = true;
        return to_transfers(c);
      }
      case Step::REGISTER_PAGER:
        if (!c.call_ok()) return fail(c, Reason::BOOT_PAGER_FAILED);
        step_ = Step::MAP_FRAME;
        return std::nullopt;
      case Step::MAP_FRAME:
        if (!c.call_ok()) return fail(c, Reason::BOOT_MAP_FAILED);
        return to_transfers(c);
      case Step::TRANSFER:
        if (!c.kernel_ok()) return fail(c, Reason::BOOT_TRANSFER_FAILED);
        if (++transfer_index_ >= transfer_count_) step_ = Step::START;
        return std::nullopt;
      case Step::STAGE:
        if (!c.kernel_ok()) return fail(c, Reason::BOOT_TRANSFER_FAILED);
        step_ = Step::POPULATE;
        return std::nullopt;
      case Step::POPULATE:
        if (!c.call_ok()) return fail(c, Reason::BOOT_DRIVER_POPULATE_FAILED);
        step_ = Step::STAGE;
        if (++transfer_index_ < transfer_count_) return std::nullopt;
        // deviced started the driver with the last one.
        c.mark_started(service_);
        step_ = Step::DELIVER;
        return std::nullopt;
      case Step::START:
        if (!c.call_ok()) return fail(c, Reason::BOOT_START_FAILED);
        c.mark_started(service_);
        step_ = Step::DELIVER;
        return std::nullopt;
      case Step::DELIVER:
        if (!c.kernel_ok()) return fail(c, Reason::BOOT_ENVELOPE_SEND_FAILED);
        svc.phase = ServicePhase::STARTED;
        chunk_ = 0;
        chunks_ = intent::chunk_count(storage_intent_chunk(c, service_, 0).length);
        step_ = Step::INTENT;
        return chunks_ == 0 ? std::optional(PhaseEvent::LAUNCHED) : std::nullopt;
      case Step::INTENT:
        if (!c.kernel_ok()) return fail(c, Reason::BOOT_STORAGE_INTENT_SEND_FAILED);
        return ++chunk_ < chunks_ ? std::nullopt : std::optional(PhaseEvent::LAUNCHED);
    }
    return fail(c, Reason::INTERNAL_STATE);
  }

  constexpr PhaseEvent fail(Core<Variant, N>& c, Reason r) const {
    c.fail(r, service_);
    return PhaseEvent::FAILED;
  }

  constexpr std::optional<PhaseEvent> to_transfers(Core<Variant, N>& c) {
    if (!load_transfers(c)) return fail(c, Reason::INTERNAL_STATE);
    transfer_index_ = 0;
    step_ = transfer_count_ == 0 ? Step::START : Step::TRANSFER;
    return std::nullopt;
  }

  // The service's transfers into the launch buffer. Integration hooks may
  // spoil them on purpose afterwards.
  constexpr bool load_transfers(Core<Variant, N>& c) {
    auto envelope = synthesize_envelope(c.cfg, c.st.plan.roles, sources_from(c.handoff), service_,
                                        std::span<Transfer>(c.st.transfers, kMaxTransfersPerEnvelope), 0);
    if (!envelope.ok()) return false;
    std::size_t count = envelope.value().transfer_count;
    if constexpr (Variant::fault_hooks) {
      if (c.plan().role_of(service_).id == RoleId::PROBED) {
        for (std::size_t i = 0; i < count; ++i) {
          Transfer& t = c.st.transfers[i];
          if (t.authority != AuthorityKind::DEDICATED_ENDPOINT || t.endpoint != EndpointKind::PCI_CONFIG) continue;
          if (c.hooks.hook == Hook::PROBED_OMIT_PRIMARY) {
            c.st.transfers[i] = c.st.transfers[count - 1];
            --count;
            break;
          }
          if (c.hooks.hook == Hook::PROBED_MISROUTE_PRIMARY) {
            t.local_slot = endpoint_info(EndpointKind::PCI_CONFIG).local_slot + 1;
          }
        }
      }
    }
    transfer_count_ = static_cast<std::uint32_t>(count);
    return true;
  }

  std::uint16_t service_ = bcfg::kNoIndex;
  Step step_ = Step::CREATE_ENDPOINT;
  bool awaiting_ = false;  // the step's action is out; its outcome comes next
  std::uint32_t transfer_index_ = 0;
  std::uint32_t transfer_count_ = 0;
  std::size_t chunk_ = 0;  // storage intent chunk being sent, of chunks_ (boot_storage.hpp)
  std::size_t chunks_ = 0;
};

}  // namespace rootd::boot
