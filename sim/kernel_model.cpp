#include "kernel_model.hpp"

#include <fmt/format.h>

#include <set>

#include "rootd/handoff.hpp"
#include "rootd/protocol.hpp"

namespace erix::sim {

using abi::KernelError;
namespace protocol = rootd::protocol;

namespace {

bool is_process_object(ObjectType t) {
  return t == ObjectType::process || t == ObjectType::cspace || t == ObjectType::vspace ||
         t == ObjectType::install_grant;
}

abi::Message reply_with(KernelError error) { return protocol::call_reply(error); }

}  // namespace

std::string_view object_type_name(ObjectType type) {
  switch (type) {
    case ObjectType::endpoint: return "endpoint";
    case ObjectType::process: return "process";
    case ObjectType::frame: return "frame";
    case ObjectType::untyped: return "untyped";
    case ObjectType::kernel_control: return "kernel-control";
    case ObjectType::cspace: return "cspace";
    case ObjectType::vspace: return "vspace";
    case ObjectType::install_grant: return "install-grant";
  }
  return "?";
}

std::string_view process_state_name(ProcessState state) {
  switch (state) {
    case ProcessState::staged: return "staged";
    case ProcessState::running: return "running";
    case ProcessState::stopped: return "stopped";
    case ProcessState::exited: return "exited";
    case ProcessState::destroyed: return "destroyed";
  }
  return "?";
}

std::string_view launcher_name(Launcher launcher) {
  switch (launcher) {
    case Launcher::boot: return "boot";
    case Launcher::kernel_control: return "kernel-control";
    case Launcher::procd: return "procd";
    case Launcher::probe: return "probe";
    case Launcher::deviced: return "deviced";
    case Launcher::loader: return "loader";
  }
  return "?";
}

std::string_view kernel_error_name(KernelError error) {
  switch (error) {
    case KernelError::OK: return "OK";
    case KernelError::INVALID_SLOT: return "INVALID_SLOT";
    case KernelError::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case KernelError::DENIED: return "DENIED";
    case KernelError::NO_MEMORY: return "NO_MEMORY";
    case KernelError::UNKNOWN_OPERATION: return "UNKNOWN_OPERATION";
    case KernelError::PEER_GONE: return "PEER_GONE";
  }
  return "?";
}

std::string rights_name(std::uint32_t rights) {
  static constexpr std::pair<std::uint32_t, std::string_view> kNames[] = {
      {abi::RIGHT_SEND, "SEND"},   {abi::RIGHT_RECEIVE, "RECEIVE"}, {abi::RIGHT_GRANT, "GRANT"},
      {abi::RIGHT_READ, "READ"},   {abi::RIGHT_WRITE, "WRITE"},     {abi::RIGHT_EXECUTE, "EXECUTE"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((rights & bit) == 0) continue;
    if (!out.empty()) out += '|';
    out += name;
  }
  if ((rights & ~abi::kAllRights) != 0) {
    if (!out.empty()) out += '|';
    out += fmt::format("0x{:x}", rights & ~abi::kAllRights);
  }
  return out.empty() ? std::string("0") : out;
}

const Cap* Process::cap_at(std::uint32_t slot) const {
  auto it = cspace.find(slot);
  return it == cspace.end() ? nullptr : &it->second;
}

RootdLayout layout_from_handoff(const rootd::handoff::View& handoff,
                                const std::map<std::string, std::vector<char>, std::less<>>& module_bytes) {
  RootdLayout layout;
  layout.slot_count = handoff.cspace().slot_count;
  layout.first_free_slot = handoff.cspace().first_free_slot;
  layout.image_frame_slot = handoff.image_frame().slot;
  layout.image_frame_size = handoff.image_frame().size;
  for (std::size_t i = 0; i < handoff.module_count(); ++i) {
    const rootd::handoff::Module m = handoff.module(i);
    ModuleImage image{std::string(m.name), m.vaddr, m.size, m.frame_slot, {}};
    if (auto it = module_bytes.find(m.name); it != module_bytes.end()) image.bytes = it->second;
    layout.modules.push_back(std::move(image));
  }
  for (std::size_t i = 0; i < handoff.endpoint_count(); ++i) {
    const rootd::handoff::Endpoint e = handoff.endpoint(i);
    layout.endpoints.push_back({e.kind, e.slot});
  }
  for (std::size_t i = 0; i < handoff.untyped_count(); ++i) {
    const rootd::handoff::Untyped u = handoff.untyped(i);
    layout.untyped.push_back({u.base, u.size, u.slot, u.device});
  }
  if (const auto fb = handoff.framebuffer(); fb.has_value()) layout.framebuffer_slot = fb->slot;
  return layout;
}

KernelModel::KernelModel(ModelOptions options) : options_(options) {}

// ---- rootd at entry ---------------------------------------------------------

Expected<std::uint32_t, std::string> KernelModel::boot_rootd(const RootdLayout& layout) {
  if (!processes_.empty()) return unexpected(std::string("rootd already exists"));
  if (layout.slot_count <= rootd::kLegacySlot + 1) {
    return unexpected(fmt::format("cspace of {} slots cannot hold the fixed slots", layout.slot_count));
  }
  if (layout.first_free_slot > layout.slot_count) {
    return unexpected(fmt::format("first free slot {} beyond the cspace ({} slots)", layout.first_free_slot,
                                  layout.slot_count));
  }

  // Every slot the layout names, checked before anything is created.
  std::set<std::uint32_t> claimed{abi::kKernelControlSlot, abi::kSelfCspaceSlot, abi::kSelfVspaceSlot};
  std::string problem;
  auto claim = [&](std::uint32_t slot, std::string_view what) {
    if (!problem.empty()) return;
    if (slot == abi::kNullSlot || slot >= layout.slot_count) {
      problem = fmt::format("{} at slot {}: outside 1..{}", what, slot, layout.slot_count - 1);
    } else if (!claimed.insert(slot).second) {
      problem = fmt::format("{} at slot {}: slot already used", what, slot);
    }
  };
  if (layout.image_frame_slot != abi::kNoSlot) claim(layout.image_frame_slot, "image frame");
  for (const auto& m : layout.modules) claim(m.frame_slot, fmt::format("module {}", m.name));
  for (const auto& e : layout.endpoints) claim(e.slot, fmt::format("endpoint {}", rootd::endpoint_info(e.kind).name));
  for (const auto& u : layout.untyped) claim(u.slot, "untyped");
  if (layout.framebuffer_slot != abi::kNoSlot) claim(layout.framebuffer_slot, "framebuffer");
  if (layout.populate_legacy_slot) claim(rootd::kLegacySlot, "legacy alias");
  if (!problem.empty()) return unexpected(problem);

  std::uint32_t root_slot = layout.root_endpoint_slot;
  if (root_slot == abi::kNoSlot) {
    for (std::uint32_t s = rootd::kLegacySlot + 1; s < layout.first_free_slot; ++s) {
      if (claimed.count(s) == 0) {
        root_slot = s;
        break;
      }
    }
    if (root_slot == abi::kNoSlot) return unexpected(std::string("no slot left below first_free_slot for the root endpoint"));
  } else {
    if (root_slot >= layout.first_free_slot) {
      return unexpected(fmt::format("root endpoint slot {} is not below first_free_slot {}", root_slot,
                                    layout.first_free_slot));
    }
    claim(root_slot, "root endpoint");
    if (!problem.empty()) return unexpected(problem);
  }

  Process rootd;
  rootd.pid = next_pid_++;
  rootd.name = "rootd";
  rootd.launcher = Launcher::boot;
  rootd.state = ProcessState::running;
  rootd.slot_count = layout.slot_count;
  rootd.started_at = now_;
  processes_.emplace(rootd.pid, std::move(rootd));

  const ObjectId kc = new_object();
  install(kRootdPid, abi::kKernelControlSlot, Cap{ObjectType::kernel_control, kc, kKernelControlRights, 0});
  install(kRootdPid, abi::kSelfCspaceSlot, Cap{ObjectType::cspace, kRootdPid, kSelfSpaceRights, 0});
  install(kRootdPid, abi::kSelfVspaceSlot, Cap{ObjectType::vspace, kRootdPid, kSelfSpaceRights, 0});

  root_endpoint_ = new_object();
  endpoints_[root_endpoint_] = EndpointObject{root_endpoint_, std::nullopt, true, false};
  install(kRootdPid, root_slot, Cap{ObjectType::endpoint, root_endpoint_, kRootEndpointRights, 0});
  root_slot_ = root_slot;

  for (const auto& e : layout.endpoints) {
    const ObjectId id = new_object();
    endpoints_[id] = EndpointObject{id, e.kind, false, false};
    install(kRootdPid, e.slot, Cap{ObjectType::endpoint, id, kEndpointRights, 0});
  }
  if (layout.image_frame_slot != abi::kNoSlot) {
    const ObjectId id = new_object();
    frames_[id] = FrameObject{id, "", true, false, 0, layout.image_frame_size};
    install(kRootdPid, layout.image_frame_slot, Cap{ObjectType::frame, id, kImageRights, 0});
  }
  for (const auto& m : layout.modules) {
    const ObjectId id = new_object();
    frames_[id] = FrameObject{id, m.name, false, false, m.vaddr, m.size};
    install(kRootdPid, m.frame_slot, Cap{ObjectType::frame, id, kImageRights, 0});
  }
  module_bytes_ = layout.modules;
  for (const auto& u : layout.untyped) {
    const ObjectId id = new_object();
    untyped_[id] = UntypedObject{id, u.base, u.size, u.device};
    install(kRootdPid, u.slot, Cap{ObjectType::untyped, id, kMemoryRights, 0});
  }
  if (layout.framebuffer_slot != abi::kNoSlot) {
    const ObjectId id = new_object();
    frames_[id] = FrameObject{id, "", false, true, 0, 0};
    install(kRootdPid, layout.framebuffer_slot, Cap{ObjectType::frame, id, kMemoryRights, 0});
  }
  if (layout.populate_legacy_slot) {
    // The legacy alias was a second name for process control; without it in
    // the inventory a fresh endpoint stands in.
    ObjectId alias = 0;
    for (const auto& [id, ep] : endpoints_) {
      if (ep.dedicated == rootd::EndpointKind::PROCESS_CONTROL) alias = id;
    }
    if (alias == 0) {
      alias = new_object();
      endpoints_[alias] = EndpointObject{alias, std::nullopt, false, false};
    }
    install(kRootdPid, rootd::kLegacySlot, Cap{ObjectType::endpoint, alias, kEndpointRights, 0});
  }
  return root_slot;
}

// ---- cap bookkeeping ----------------------------------------------------------

void KernelModel::install(Pid pid, std::uint32_t slot, const Cap& cap) {
  processes_.at(pid).cspace[slot] = cap;
  if (cap.type == ObjectType::endpoint && (cap.rights & abi::RIGHT_RECEIVE) != 0 && pid != kRootdPid) {
    ++receivers_[cap.object][pid];
    endpoints_.at(cap.object).ever_received = true;
  }
}

void KernelModel::remove(Pid pid, std::uint32_t slot) {
  Process& p = processes_.at(pid);
  auto it = p.cspace.find(slot);
  if (it == p.cspace.end()) return;
  const Cap cap = it->second;
  p.cspace.erase(it);
  populated_by_.erase({pid, slot});
  if (cap.type == ObjectType::endpoint && (cap.rights & abi::RIGHT_RECEIVE) != 0 && pid != kRootdPid) {
    auto& holders = receivers_[cap.object];
    if (--holders[pid] == 0) holders.erase(pid);
    if (holders.empty()) receivers_.erase(cap.object);
  }
}

Pid KernelModel::receiver_of(ObjectId endpoint) const {
  auto it = receivers_.find(endpoint);
  if (it == receivers_.end()) return kNoPid;
  for (const auto& [pid, count] : it->second) {
    if (processes_.at(pid).live()) return pid;
  }
  return kNoPid;
}

const Cap* KernelModel::rootd_cap(std::uint64_t slot) const {
  auto it = processes_.find(kRootdPid);
  if (it == processes_.end() || slot >= it->second.slot_count) return nullptr;
  return it->second.cap_at(static_cast<std::uint32_t>(slot));
}

bool KernelModel::rootd_slot_free(std::uint64_t slot) const {
  auto it = processes_.find(kRootdPid);
  if (it == processes_.end()) return false;
  if (slot == abi::kNullSlot || slot >= it->second.slot_count) return false;
  return it->second.cap_at(static_cast<std::uint32_t>(slot)) == nullptr;
}

// ---- syscalls -----------------------------------------------------------------

KernelError KernelModel::fail(abi::Syscall syscall, KernelError error, std::string what) {
  errors_.push_back(CallError{now_, syscall, error, std::move(what)});
  return error;
}

KernelError KernelModel::deny_after_park(abi::Syscall syscall) {
  return fail(syscall, KernelError::DENIED, "call after PARK");
}

KernelError KernelModel::report(std::string_view text) {
  ++kernel_calls_;
  ++calls_by_syscall_[static_cast<std::uint64_t>(abi::Syscall::REPORT)];
  if (parked_) return deny_after_park(abi::Syscall::REPORT);
  if (text.empty() || text.size() > kMaxReportLength) {
    return fail(abi::Syscall::REPORT, KernelError::INVALID_ARGUMENT,
                fmt::format("report length {} outside 1..{}", text.size(), kMaxReportLength));
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c > 0x7E) {
      return fail(abi::Syscall::REPORT, KernelError::INVALID_ARGUMENT,
                  fmt::format("report byte {} is 0x{:02x}, not printable ASCII", i, c));
    }
  }
  reports_.push_back(ReportLine{now_, kRootdPid, std::string(text)});
  return KernelError::OK;
}

KernelError KernelModel::check_carried(const abi::Message& message, std::optional<Cap>& carried) const {
  if (message.reserved != 0) return KernelError::INVALID_ARGUMENT;
  if (message.cap == abi::kNoSlot) return KernelError::OK;
  const Cap* c = rootd_cap(message.cap);
  if (c == nullptr) return KernelError::INVALID_SLOT;
  if ((c->rights & abi::RIGHT_GRANT) == 0) return KernelError::DENIED;
  carried = *c;
  return KernelError::OK;
}

KernelError KernelModel::call(std::uint64_t endpoint_slot, abi::Message& message, std::uint64_t receive_slot) {
  constexpr auto kSys = abi::Syscall::CALL;
  ++kernel_calls_;
  ++calls_by_syscall_[static_cast<std::uint64_t>(kSys)];
  if (parked_) return deny_after_park(kSys);
  const Cap* c = rootd_cap(endpoint_slot);
  if (c == nullptr) return fail(kSys, KernelError::INVALID_SLOT, fmt::format("call slot {} empty", endpoint_slot));
  if (c->type != ObjectType::kernel_control && c->type != ObjectType::endpoint) {
    return fail(kSys, KernelError::DENIED,
                fmt::format("call slot {} holds a {} cap", endpoint_slot, object_type_name(c->type)));
  }
  if ((c->rights & abi::RIGHT_SEND) == 0) {
    return fail(kSys, KernelError::DENIED, fmt::format("call slot {} lacks SEND", endpoint_slot));
  }
  if (receive_slot != abi::kNoSlot && !rootd_slot_free(receive_slot)) {
    return fail(kSys, KernelError::INVALID_SLOT, fmt::format("receive slot {} not free", receive_slot));
  }
  std::optional<Cap> carried;
  if (const KernelError e = check_carried(message, carried); e != KernelError::OK) {
    return fail(kSys, e, fmt::format("message cap slot {} / reserved {}", message.cap, message.reserved));
  }

  if (c->type == ObjectType::kernel_control) {
    if (carried.has_value()) {
      return fail(kSys, KernelError::INVALID_ARGUMENT, "kernel-control messages carry no cap");
    }
    ++ops_[message.label];
    const KernelError op_error = kernel_op(message);
    if (op_error != KernelError::OK) {
      errors_.push_back(CallError{now_, kSys, op_error, fmt::format("kernel op 0x{:x} replied {}", message.label,
                                                                    kernel_error_name(op_error))});
      message = reply_with(op_error);
    }
    return KernelError::OK;
  }

  const ObjectId ep = c->object;
  if (ep == root_endpoint_) return fail(kSys, KernelError::DENIED, "call on rootd's own root endpoint");
  const Pid receiver = receiver_of(ep);
  if (receiver == kNoPid) {
    return fail(kSys, KernelError::PEER_GONE, fmt::format("endpoint#{} has no live receiver", ep));
  }
  if (processes_.at(receiver).state != ProcessState::running) {
    hung_reason_ = fmt::format("CALL on endpoint#{} whose receiver pid {} ({}) never runs", ep, receiver,
                               processes_.at(receiver).name);
    return fail(kSys, KernelError::PEER_GONE, hung_reason_);
  }
  abi::Message request = message;
  request.badge = c->badge;
  CallReply reply;
  if (behaviour_ != nullptr) {
    // The carried cap lands in the receiver's cspace, without GRANT, at the
    // slot its receive names; with none (or a taken one) it is discarded.
    std::optional<Cap> landed;
    if (carried.has_value()) {
      const std::uint32_t slot = behaviour_->carried_slot(receiver, request);
      const Process& to = processes_.at(receiver);
      if (slot != abi::kNoSlot && slot < to.slot_count && to.cap_at(slot) == nullptr) {
        landed = *carried;
        landed->rights &= kCarriedRightsMask;
        install(receiver, slot, *landed);
      }
    }
    reply = behaviour_->on_call(receiver, ep, request, landed);
  } else {
    reply.message = reply_with(KernelError::UNKNOWN_OPERATION);
  }
  message = reply.message;
  message.badge = 0;
  message.reserved = 0;
  message.cap = abi::kNoSlot;
  if (reply.cap.has_value() && receive_slot != abi::kNoSlot) {
    install(kRootdPid, static_cast<std::uint32_t>(receive_slot), *reply.cap);
    message.cap = static_cast<std::uint32_t>(receive_slot);
  }
  return KernelError::OK;
}

KernelError KernelModel::send(std::uint64_t endpoint_slot, const abi::Message& message, std::uint64_t badge) {
  constexpr auto kSys = abi::Syscall::SEND;
  ++kernel_calls_;
  ++calls_by_syscall_[static_cast<std::uint64_t>(kSys)];
  if (parked_) return deny_after_park(kSys);
  const Cap* c = rootd_cap(endpoint_slot);
  if (c == nullptr) return fail(kSys, KernelError::INVALID_SLOT, fmt::format("send slot {} empty", endpoint_slot));
  if (c->type != ObjectType::endpoint) {
    return fail(kSys, KernelError::DENIED,
                fmt::format("send slot {} holds a {} cap", endpoint_slot, object_type_name(c->type)));
  }
  if ((c->rights & abi::RIGHT_SEND) == 0) {
    return fail(kSys, KernelError::DENIED, fmt::format("send slot {} lacks SEND", endpoint_slot));
  }
  if (c->object == root_endpoint_) return fail(kSys, KernelError::DENIED, "send on rootd's own root endpoint");
  if (badge == 0 || badge == abi::kEventBadge) {
    return fail(kSys, KernelError::INVALID_ARGUMENT, fmt::format("reply badge 0x{:x} is reserved", badge));
  }
  std::optional<Cap> carried;
  if (const KernelError e = check_carried(message, carried); e != KernelError::OK) {
    return fail(kSys, e, fmt::format("message cap slot {} / reserved {}", message.cap, message.reserved));
  }
  const ObjectId ep = c->object;
  const Pid receiver = receiver_of(ep);
  if (receiver == kNoPid) {
    return fail(kSys, KernelError::PEER_GONE, fmt::format("endpoint#{} has no live receiver", ep));
  }
  abi::Message delivered = message;
  delivered.badge = c->badge;
  if (processes_.at(receiver).state == ProcessState::staged) {
    held_[receiver].push_back(Held{ep, delivered, badge, carried});
  } else if (behaviour_ != nullptr) {
    behaviour_->on_message(receiver, ep, delivered, badge, carried);
  }
  return KernelError::OK;
}

void KernelModel::run_due_actions() {
  while (!agenda_.empty() && agenda_.begin()->first.at <= now_) {
    auto node = agenda_.extract(agenda_.begin());
    node.mapped()();
  }
}

KernelError KernelModel::wait(std::uint64_t root_slot, abi::Message& message) {
  constexpr auto kSys = abi::Syscall::WAIT;
  ++kernel_calls_;
  ++calls_by_syscall_[static_cast<std::uint64_t>(kSys)];
  if (parked_) return deny_after_park(kSys);
  const Cap* c = rootd_cap(root_slot);
  if (c == nullptr) return fail(kSys, KernelError::INVALID_SLOT, fmt::format("wait slot {} empty", root_slot));
  if (c->type != ObjectType::endpoint) {
    return fail(kSys, KernelError::DENIED,
                fmt::format("wait slot {} holds a {} cap", root_slot, object_type_name(c->type)));
  }
  const EndpointObject* waited = endpoint(c->object);
  const bool on_process = waited != nullptr && waited->dedicated == rootd::EndpointKind::PROCESS_CONTROL;
  if (c->object != root_endpoint_ && !on_process) {
    return fail(kSys, KernelError::INVALID_ARGUMENT,
                fmt::format("wait slot {} is neither the root nor the process-control endpoint", root_slot));
  }
  std::deque<RootDelivery>& queue = on_process ? process_queue_ : root_queue_;
  if ((c->rights & abi::RIGHT_RECEIVE) == 0) {
    return fail(kSys, KernelError::DENIED, fmt::format("wait slot {} lacks RECEIVE", root_slot));
  }
  run_due_actions();
  while (queue.empty() && !agenda_.empty()) {
    now_ = agenda_.begin()->first.at;
    run_due_actions();
  }
  if (queue.empty()) {
    hung_reason_ = fmt::format("WAIT at tick {} with nothing that could ever arrive", now_);
    return fail(kSys, KernelError::PEER_GONE, hung_reason_);
  }
  message = queue.front().message;
  queue.pop_front();
  return KernelError::OK;
}

KernelError KernelModel::cap(std::uint64_t op, std::uint64_t source_slot, std::uint64_t space_slot,
                             std::uint64_t destination_slot, std::uint64_t rights) {
  constexpr auto kSys = abi::Syscall::CAP;
  ++kernel_calls_;
  ++calls_by_syscall_[static_cast<std::uint64_t>(kSys)];
  if (parked_) return deny_after_park(kSys);

  if (op == static_cast<std::uint64_t>(abi::CapOp::COPY)) {
    return fail(kSys, KernelError::DENIED, "CAP_COPY (8) is reserved");
  }
  if (op == static_cast<std::uint64_t>(abi::CapOp::DELETE)) {
    if (space_slot != 0 || destination_slot != 0 || rights != 0) {
      return fail(kSys, KernelError::INVALID_ARGUMENT, "DELETE takes only the source slot");
    }
    if (rootd_cap(source_slot) == nullptr) {
      return fail(kSys, KernelError::INVALID_SLOT, fmt::format("delete slot {} empty", source_slot));
    }
    remove(kRootdPid, static_cast<std::uint32_t>(source_slot));
    return KernelError::OK;
  }
  if (op != static_cast<std::uint64_t>(abi::CapOp::COPY_ATTENUATED)) {
    return fail(kSys, KernelError::UNKNOWN_OPERATION, fmt::format("cap op {}", op));
  }

  const Cap* src = rootd_cap(source_slot);
  if (src == nullptr) return fail(kSys, KernelError::INVALID_SLOT, fmt::format("source slot {} empty", source_slot));
  const Cap* space = rootd_cap(space_slot);
  if (space == nullptr) return fail(kSys, KernelError::INVALID_SLOT, fmt::format("space slot {} empty", space_slot));
  if (space->type != ObjectType::cspace && space->type != ObjectType::process &&
      space->type != ObjectType::install_grant) {
    return fail(kSys, KernelError::DENIED,
                fmt::format("space slot {} holds a {} cap", space_slot, object_type_name(space->type)));
  }
  if ((space->rights & abi::RIGHT_WRITE) == 0) {
    return fail(kSys, KernelError::DENIED, fmt::format("space slot {} lacks WRITE", space_slot));
  }
  const Pid target_pid = static_cast<Pid>(space->object);
  const Process& target = processes_.at(target_pid);
  if (target.state == ProcessState::destroyed) {
    return fail(kSys, KernelError::PEER_GONE, fmt::format("pid {} is destroyed", target_pid));
  }
  if (!target.live()) {
    return fail(kSys, KernelError::DENIED, fmt::format("pid {} is {}", target_pid, process_state_name(target.state)));
  }
  if (destination_slot == abi::kNullSlot || destination_slot >= target.slot_count ||
      target.cap_at(static_cast<std::uint32_t>(destination_slot)) != nullptr) {
    return fail(kSys, KernelError::INVALID_SLOT,
                fmt::format("destination slot {} of pid {} not free", destination_slot, target_pid));
  }
  if (rights == 0 || (rights & ~std::uint64_t{abi::kAllRights}) != 0) {
    return fail(kSys, KernelError::INVALID_ARGUMENT, fmt::format("rights mask 0x{:x}", rights));
  }
  if ((src->rights & abi::RIGHT_GRANT) == 0) {
    return fail(kSys, KernelError::DENIED, fmt::format("source slot {} lacks GRANT", source_slot));
  }
  const auto mask = static_cast<std::uint32_t>(rights);
  if ((mask & ~src->rights) != 0) {
    return fail(kSys, KernelError::DENIED,
                fmt::format("rights {} would widen {} of slot {}", rights_name(mask), rights_name(src->rights),
                            source_slot));
  }
  const Cap copy{src->type, src->object, mask & src->rights, src->badge};
  install(target_pid, static_cast<std::uint32_t>(destination_slot), copy);
  ++rootd_copies_[target_pid];
  return KernelError::OK;
}

KernelError KernelModel::child_populate(Pid caller, std::uint32_t endpoint_slot, const abi::Message& request) {
  constexpr auto kSys = abi::Syscall::CALL;
  auto who = processes_.find(caller);
  if (who == processes_.end() || who->second.state != ProcessState::running) {
    return fail(kSys, KernelError::DENIED, fmt::format("child-populate from pid {}: not running", caller));
  }
  const Process& from = who->second;
  const Cap* ep = from.cap_at(endpoint_slot);
  const EndpointObject* object = ep != nullptr && ep->type == ObjectType::endpoint ? endpoint(ep->object) : nullptr;
  if (object == nullptr || object->dedicated != rootd::EndpointKind::CHILD_POPULATE ||
      (ep->rights & abi::RIGHT_SEND) == 0) {
    return fail(kSys, KernelError::DENIED,
                fmt::format("child-populate: slot {} of {} is no child-populate endpoint with SEND", endpoint_slot,
                            from.name));
  }
  const auto decoded = protocol::decode_populate(request, abi::kChildPopulateLabel);
  if (!decoded.ok()) return fail(kSys, KernelError::INVALID_ARGUMENT, "child-populate: malformed request");
  const protocol::PopulateRequest& r = decoded.value();
  if (r.op == abi::CapOp::COPY) {
    return fail(kSys, KernelError::DENIED, fmt::format("child-populate by {}: CAP_COPY (8) is refused", from.name));
  }
  if (r.op != abi::CapOp::COPY_ATTENUATED) {
    return fail(kSys, KernelError::UNKNOWN_OPERATION, fmt::format("child-populate: cap op {}", static_cast<unsigned>(r.op)));
  }
  auto child_it = processes_.find(r.child);
  if (child_it == processes_.end() || child_it->second.parent != caller) {
    return fail(kSys, KernelError::DENIED, fmt::format("child-populate: pid {} is no child of {}", r.child, from.name));
  }
  const Process& child = child_it->second;
  if (!child.live()) return fail(kSys, KernelError::PEER_GONE, fmt::format("child-populate: pid {} is not live", r.child));
  const Cap* src = from.cap_at(r.source);
  if (src == nullptr) return fail(kSys, KernelError::INVALID_SLOT, fmt::format("child-populate: source slot {} empty", r.source));
  if ((src->rights & abi::RIGHT_GRANT) == 0) {
    return fail(kSys, KernelError::DENIED, fmt::format("child-populate: source slot {} lacks GRANT", r.source));
  }
  if (r.rights == 0 || (r.rights & ~abi::kAllRights) != 0 || (r.rights & ~src->rights) != 0) {
    return fail(kSys, KernelError::DENIED, fmt::format("child-populate: rights {} of {}", rights_name(r.rights),
                                                       rights_name(src->rights)));
  }
  if (r.destination == abi::kNullSlot || r.destination >= child.slot_count || child.cap_at(r.destination) != nullptr) {
    return fail(kSys, KernelError::INVALID_SLOT,
                fmt::format("child-populate: destination slot {} of pid {} not free", r.destination, r.child));
  }
  install(r.child, r.destination, Cap{src->type, src->object, r.rights, src->badge});
  populated_by_[{r.child, r.destination}] = caller;
  ++child_populates_;
  return KernelError::OK;
}

void KernelModel::park() {
  ++kernel_calls_;
  ++calls_by_syscall_[static_cast<std::uint64_t>(abi::Syscall::PARK)];
  if (parked_) {
    (void)deny_after_park(abi::Syscall::PARK);
    return;
  }
  parked_ = true;
}

rootd::Bytes KernelModel::read_module(std::uint64_t vaddr, std::uint64_t size) const {
  for (const auto& m : module_bytes_) {
    if (vaddr < m.vaddr) continue;
    const std::uint64_t offset = vaddr - m.vaddr;
    if (!rootd::range_fits(offset, size, m.size) || !rootd::range_fits(offset, size, m.bytes.size())) continue;
    return rootd::Bytes(m.bytes.data() + offset, static_cast<std::size_t>(size));
  }
  return {};
}

// ---- kernel control -------------------------------------------------------------

KernelError KernelModel::kernel_op(abi::Message& m) {
  if (!protocol::is_kernel_op(m.label)) return KernelError::UNKNOWN_OPERATION;
  const auto decoded = protocol::decode_kernel_request(m);
  if (!decoded.ok()) return KernelError::INVALID_ARGUMENT;
  const protocol::KernelRequest& r = decoded.value();
  switch (r.op) {
    case abi::KernelOp::CREATE_ENDPOINT: return op_create_endpoint(r, m);
    case abi::KernelOp::CREATE_STAGED_PROCESS: return op_create_staged(r, m);
    case abi::KernelOp::REGISTER_PAGER: return op_register_pager(r, m);
    case abi::KernelOp::MAP_FRAME: return op_map_frame(r, m);
    case abi::KernelOp::START_PROCESS: return op_start(r, m);
    case abi::KernelOp::MANAGED_STOP: return op_managed_stop(r, m);
    case abi::KernelOp::DESTROY_PROCESS: return op_destroy(r, m);
  }
  return KernelError::UNKNOWN_OPERATION;
}

KernelError KernelModel::process_from_slot(std::uint64_t slot, Process*& out) {
  const Cap* c = rootd_cap(slot);
  if (c == nullptr) return KernelError::INVALID_SLOT;
  if (c->type != ObjectType::process) return KernelError::DENIED;
  if ((c->rights & abi::RIGHT_WRITE) == 0) return KernelError::DENIED;
  Process& p = processes_.at(static_cast<Pid>(c->object));
  if (p.state == ProcessState::destroyed) return KernelError::PEER_GONE;
  out = &p;
  return KernelError::OK;
}

KernelError KernelModel::process_from_pid(std::uint64_t pid, Process*& out) {
  auto it = pid > 0xFFFFFFFFULL ? processes_.end() : processes_.find(static_cast<Pid>(pid));
  if (it == processes_.end()) return KernelError::INVALID_ARGUMENT;
  if (it->second.state == ProcessState::destroyed) return KernelError::PEER_GONE;
  if (it->second.pid == kRootdPid) return KernelError::DENIED;
  out = &it->second;
  return KernelError::OK;
}

KernelError KernelModel::op_create_endpoint(const protocol::KernelRequest& r, abi::Message& m) {
  if (!rootd_slot_free(r.args[0])) return KernelError::INVALID_SLOT;
  const ObjectId id = new_object();
  endpoints_[id] = EndpointObject{id, std::nullopt, false, false};
  install(kRootdPid, static_cast<std::uint32_t>(r.args[0]), Cap{ObjectType::endpoint, id, kEndpointRights, 0});
  m = reply_with(KernelError::OK);
  return KernelError::OK;
}

KernelError KernelModel::op_create_staged(const protocol::KernelRequest& r, abi::Message& m) {
  const Cap* image = rootd_cap(r.args[0]);
  if (image == nullptr) return KernelError::INVALID_SLOT;
  if (image->type != ObjectType::frame || (image->rights & abi::RIGHT_READ) == 0) return KernelError::DENIED;
  if (!rootd_slot_free(r.args[1])) return KernelError::INVALID_SLOT;
  const Admission how{Launcher::kernel_control, frames_.at(image->object).module, r.args[2]};
  Admitted who;
  if (behaviour_ != nullptr) {
    who = behaviour_->admit(how);
    if (who.error != KernelError::OK) return who.error;
  } else {
    who.name = how.module.empty() ? std::string("image") : how.module;
  }
  const Pid pid = create_process(who, how, image->object);
  if (behaviour_ != nullptr) behaviour_->on_created(pid, who);
  install(kRootdPid, static_cast<std::uint32_t>(r.args[1]), Cap{ObjectType::process, pid, kProcessCapRights, 0});
  m = protocol::encode(protocol::LaunchReply{pid, abi::kNoSlot});
  return KernelError::OK;
}

KernelError KernelModel::op_register_pager(const protocol::KernelRequest& r, abi::Message& m) {
  Process* p = nullptr;
  if (const KernelError e = process_from_slot(r.args[0], p); e != KernelError::OK) return e;
  const Cap* pager = rootd_cap(r.args[1]);
  if (pager == nullptr) return KernelError::INVALID_SLOT;
  if (pager->type != ObjectType::endpoint || (pager->rights & abi::RIGHT_SEND) == 0) return KernelError::DENIED;
  if (p->state != ProcessState::staged || p->pager.has_value()) return KernelError::DENIED;
  p->pager = pager->object;
  m = reply_with(KernelError::OK);
  return KernelError::OK;
}

KernelError KernelModel::op_map_frame(const protocol::KernelRequest& r, abi::Message& m) {
  Process* p = nullptr;
  if (const KernelError e = process_from_slot(r.args[0], p); e != KernelError::OK) return e;
  const Cap* f = rootd_cap(r.args[1]);
  if (f == nullptr) return KernelError::INVALID_SLOT;
  if (f->type != ObjectType::frame || (f->rights & abi::RIGHT_READ) == 0) return KernelError::DENIED;
  if (p->state != ProcessState::staged) return KernelError::DENIED;
  for (ObjectId mapped : p->mapped_frames) {
    if (mapped == f->object) return KernelError::DENIED;
  }
  p->mapped_frames.push_back(f->object);
  m = reply_with(KernelError::OK);
  return KernelError::OK;
}

KernelError KernelModel::op_start(const protocol::KernelRequest& r, abi::Message& m) {
  Process* p = nullptr;
  if (const KernelError e = process_from_slot(r.args[0], p); e != KernelError::OK) return e;
  if (p->state != ProcessState::staged) return KernelError::DENIED;
  if (behaviour_ != nullptr) {
    if (const KernelError e = behaviour_->before_start(p->pid); e != KernelError::OK) return e;
  }
  start_process(p->pid);
  m = reply_with(KernelError::OK);
  return KernelError::OK;
}

KernelError KernelModel::op_managed_stop(const protocol::KernelRequest& r, abi::Message& m) {
  Process* p = nullptr;
  if (const KernelError e = process_from_pid(r.args[0], p); e != KernelError::OK) return e;
  if (p->state != ProcessState::running) return KernelError::DENIED;
  p->state = ProcessState::stopped;
  p->exit_code = kExitClean;
  p->ended_at = now_;
  held_.erase(p->pid);
  post_event(abi::Event::EXITED, p->pid, kExitClean);
  m = reply_with(KernelError::OK);
  return KernelError::OK;
}

KernelError KernelModel::op_destroy(const protocol::KernelRequest& r, abi::Message& m) {
  Process* p = nullptr;
  if (const KernelError e = process_from_pid(r.args[0], p); e != KernelError::OK) return e;
  if (p->state == ProcessState::running) return KernelError::DENIED;
  const Pid pid = p->pid;
  std::vector<std::uint32_t> slots;
  for (const auto& [slot, cap] : p->cspace) slots.push_back(slot);
  for (std::uint32_t slot : slots) remove(pid, slot);
  held_.erase(pid);
  p->state = ProcessState::destroyed;
  p->destroyed_at = now_;
  m = reply_with(KernelError::OK);
  return KernelError::OK;
}

// ---- for simulated processes ----------------------------------------------------

void KernelModel::schedule(Tick at, std::function<void()> action) {
  agenda_.emplace(AgendaKey{at < now_ ? now_ : at, next_seq_++}, std::move(action));
}

void KernelModel::post_to_root(const abi::Message& message) {
  schedule(now_, [this, message] { root_queue_.push_back(RootDelivery{now_, message}); });
}

void KernelModel::post_event(abi::Event event, Pid pid, std::uint64_t value) {
  const abi::Message m = protocol::encode(protocol::ProcessEvent{event, pid, value});
  const Process* p = process(pid);
  if (p != nullptr && p->launcher == Launcher::loader) {
    launcher_events_.push_back(RootDelivery{now_, m});
    return;
  }
  if (p == nullptr || p->launcher != Launcher::probe) {
    post_to_root(m);
    return;
  }
  // A probe's events go where rootd awaits its completion.
  schedule(now_, [this, m] { process_queue_.push_back(RootDelivery{now_, m}); });
}

bool KernelModel::post_from_probe(Pid probe, const abi::Message& message) {
  const Process* p = process(probe);
  if (p == nullptr || p->launcher != Launcher::probe || p->state != ProcessState::running) return false;
  for (const auto& [slot, cap] : p->cspace) {
    const EndpointObject* ep = cap.type == ObjectType::endpoint ? endpoint(cap.object) : nullptr;
    if (ep != nullptr && ep->dedicated == rootd::EndpointKind::PROCESS_CONTROL && (cap.rights & abi::RIGHT_SEND) != 0) {
      schedule(now_, [this, message] { process_queue_.push_back(RootDelivery{now_, message}); });
      return true;
    }
  }
  return false;
}

Pid KernelModel::create_process(const Admitted& who, const Admission& how, ObjectId image_frame, Pid parent) {
  Process p;
  p.pid = next_pid_++;
  p.parent = parent;
  p.name = who.name;
  p.role = who.role;
  p.identity = how.identity;
  p.launcher = how.launcher;
  p.state = ProcessState::staged;
  p.image_frame = image_frame;
  p.slot_count = kChildSlotCount;
  p.created_at = now_;
  const Pid pid = p.pid;
  processes_.emplace(pid, std::move(p));
  return pid;
}

ObjectId KernelModel::create_frame(std::uint64_t size) {
  const ObjectId id = new_object();
  FrameObject f;
  f.id = id;
  f.size = size;
  frames_.emplace(id, f);
  return id;
}

void KernelModel::destroy_process(Pid pid) {
  Process& p = processes_.at(pid);
  if (p.state == ProcessState::destroyed) return;
  std::vector<std::uint32_t> slots;
  for (const auto& [slot, cap] : p.cspace) slots.push_back(slot);
  for (std::uint32_t slot : slots) remove(pid, slot);
  held_.erase(pid);
  if (p.live()) p.ended_at = now_;
  p.state = ProcessState::destroyed;
  p.destroyed_at = now_;
}

void KernelModel::start_process(Pid pid) {
  Process& p = processes_.at(pid);
  p.state = ProcessState::running;
  p.started_at = now_;
  if (options_.started_events) post_event(abi::Event::STARTED, pid, 0);
  auto it = held_.find(pid);
  if (it == held_.end()) return;
  std::deque<Held> held = std::move(it->second);
  held_.erase(it);
  for (const Held& h : held) {
    if (behaviour_ != nullptr && processes_.at(pid).state == ProcessState::running) {
      behaviour_->on_message(pid, h.endpoint, h.message, h.badge, h.carried);
    }
  }
}

void KernelModel::exit_process(Pid pid, std::uint64_t code) {
  Process& p = processes_.at(pid);
  if (p.state != ProcessState::running) return;
  p.state = ProcessState::exited;
  p.exit_code = code;
  p.ended_at = now_;
  held_.erase(pid);
  post_event(abi::Event::EXITED, pid, code);
}

void KernelModel::add_report(Pid pid, std::string text) { reports_.push_back(ReportLine{now_, pid, std::move(text)}); }

// ---- queries ------------------------------------------------------------------------

const Process* KernelModel::process(Pid pid) const {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

const EndpointObject* KernelModel::endpoint(ObjectId id) const {
  auto it = endpoints_.find(id);
  return it == endpoints_.end() ? nullptr : &it->second;
}

const FrameObject* KernelModel::frame(ObjectId id) const {
  auto it = frames_.find(id);
  return it == frames_.end() ? nullptr : &it->second;
}

std::uint64_t KernelModel::calls_of(abi::Syscall syscall) const {
  auto it = calls_by_syscall_.find(static_cast<std::uint64_t>(syscall));
  return it == calls_by_syscall_.end() ? 0 : it->second;
}

Pid KernelModel::populated_by(Pid pid, std::uint32_t slot) const {
  auto it = populated_by_.find({pid, slot});
  return it == populated_by_.end() ? kNoPid : it->second;
}

std::uint64_t KernelModel::rootd_copies_into(Pid pid) const {
  auto it = rootd_copies_.find(pid);
  return it == rootd_copies_.end() ? 0 : it->second;
}

std::uint64_t KernelModel::kernel_ops_of(abi::KernelOp op) const {
  auto it = ops_.find(static_cast<std::uint64_t>(op));
  return it == ops_.end() ? 0 : it->second;
}

Audit KernelModel::audit() const {
  Audit a;
  for (const auto& [pid, p] : processes_) {
    if (p.state == ProcessState::destroyed) continue;
    for (const auto& [slot, cap] : p.cspace) {
      const CapHolding h{pid, slot, cap};
      a.caps.push_back(h);
      if (is_process_object(cap.type) && processes_.at(static_cast<Pid>(cap.object)).state == ProcessState::destroyed) {
        a.dangling.push_back(h);
      }
      if (pid == kRootdPid && cap.type == ObjectType::endpoint) {
        const EndpointObject& ep = endpoints_.at(cap.object);
        // Only endpoints rootd made for a service: the kernel's own endpoints
        // stay with rootd whatever happens to their servers.
        if (!ep.root && !ep.dedicated.has_value() && ep.ever_received && receiver_of(cap.object) == kNoPid) {
          a.orphaned.push_back(h);
        }
      }
    }
    // A program loaderd launched is its launcher's to reap, not rootd's.
    if (pid == kRootdPid || p.launcher == Launcher::loader) continue;
    if (p.started_at.has_value()) a.started_not_destroyed.push_back(pid);
    if (p.state == ProcessState::stopped || p.state == ProcessState::exited) a.dead_not_destroyed.push_back(pid);
    if (p.state == ProcessState::staged) a.never_started.push_back(pid);
  }
  return a;
}

namespace {
std::string cap_text(const KernelModel& model, const Cap& cap) {
  std::string s = fmt::format("{}#{}", object_type_name(cap.type), cap.object);
  if (cap.type == ObjectType::endpoint) {
    const EndpointObject* ep = model.endpoint(cap.object);
    if (ep != nullptr && ep->dedicated.has_value()) s += fmt::format("[{}]", rootd::endpoint_info(*ep->dedicated).name);
    if (ep != nullptr && ep->root) s += "[root]";
  } else if (cap.type == ObjectType::frame) {
    const FrameObject* f = model.frame(cap.object);
    if (f != nullptr && f->boot_image) s += "[boot-image]";
    if (f != nullptr && !f->module.empty()) s += fmt::format("[module {}]", f->module);
    if (f != nullptr && f->device) s += "[device]";
  } else if (is_process_object(cap.type)) {
    const Process* p = model.process(static_cast<Pid>(cap.object));
    if (p != nullptr) s += fmt::format("[{} {}]", p->name, process_state_name(p->state));
  }
  s += fmt::format(" rights={}", rights_name(cap.rights));
  if (cap.badge != 0) s += fmt::format(" badge=0x{:x}", cap.badge);
  return s;
}
}  // namespace

std::string KernelModel::describe_caps() const {
  std::string out;
  for (const auto& [pid, p] : processes_) {
    if (p.state == ProcessState::destroyed) continue;
    for (const auto& [slot, cap] : p.cspace) {
      out += fmt::format("pid {} {} slot {}: {}\n", pid, p.name, slot, cap_text(*this, cap));
    }
  }
  return out;
}

std::string KernelModel::describe_processes() const {
  std::string out;
  for (const auto& [pid, p] : processes_) {
    if (pid == kRootdPid || !p.started_at.has_value() || p.state == ProcessState::destroyed) continue;
    out += fmt::format("pid {} {} ({}) {}", pid, p.name, launcher_name(p.launcher), process_state_name(p.state));
    if (p.exit_code.has_value()) out += fmt::format(" exit={}", *p.exit_code);
    out += '\n';
  }
  return out;
}

std::string KernelModel::state_dump() const {
  std::string out = fmt::format("now={} next_object={} next_pid={} next_seq={} root_slot={} parked={} hung={}\n",
                                now_, next_object_, next_pid_, next_seq_, root_slot_, parked_, hung_reason_);
  for (const auto& [pid, p] : processes_) {
    out += fmt::format("process {} name={} role={} identity={} launcher={} state={} image={} slots={} created={}",
                       pid, p.name, p.role, p.identity, launcher_name(p.launcher), process_state_name(p.state),
                       p.image_frame, p.slot_count, p.created_at);
    if (p.started_at.has_value()) out += fmt::format(" started={}", *p.started_at);
    if (p.ended_at.has_value()) out += fmt::format(" ended={}", *p.ended_at);
    if (p.destroyed_at.has_value()) out += fmt::format(" destroyed={}", *p.destroyed_at);
    if (p.exit_code.has_value()) out += fmt::format(" exit={}", *p.exit_code);
    if (p.parent != kNoPid) out += fmt::format(" parent={}", p.parent);
    if (p.pager.has_value()) out += fmt::format(" pager={}", *p.pager);
    for (ObjectId f : p.mapped_frames) out += fmt::format(" mapped={}", f);
    out += '\n';
    for (const auto& [slot, cap] : p.cspace) out += fmt::format("  slot {}: {}\n", slot, cap_text(*this, cap));
  }
  for (const auto& [id, ep] : endpoints_) {
    out += fmt::format("endpoint {} root={} ever_received={}", id, ep.root, ep.ever_received);
    if (ep.dedicated.has_value()) out += fmt::format(" kind={}", rootd::endpoint_info(*ep.dedicated).name);
    out += '\n';
  }
  for (const auto& [id, f] : frames_) out += fmt::format("frame {} module={} size={}\n", id, f.module, f.size);
  for (const auto& [id, u] : untyped_) out += fmt::format("untyped {} base={:#x} size={:#x}\n", id, u.base, u.size);
  for (const auto& [ep, holders] : receivers_) {
    for (const auto& [pid, n] : holders) out += fmt::format("receiver endpoint={} pid={} caps={}\n", ep, pid, n);
  }
  for (const auto& [pid, held] : held_) out += fmt::format("held pid={} messages={}\n", pid, held.size());
  for (const auto& [at, by] : populated_by_) out += fmt::format("populated pid={} slot={} by={}\n", at.first, at.second, by);
  for (const auto& [key, action] : agenda_) out += fmt::format("agenda at={} seq={}\n", key.at, key.seq);
  for (const auto& d : root_queue_) {
    out += fmt::format("queued at={} label={:#x} badge={:#x} w0={} w1={}\n", d.at, d.message.label, d.message.badge,
                       d.message.words[0], d.message.words[1]);
  }
  for (const auto& d : process_queue_) {
    out += fmt::format("queued-process at={} label={:#x} w0={} w1={}\n", d.at, d.message.label, d.message.words[0],
                       d.message.words[1]);
  }
  for (const auto& r : reports_) out += fmt::format("report at={} pid={} {}\n", r.at, r.pid, r.text);
  return out;
}

}  // namespace erix::sim
