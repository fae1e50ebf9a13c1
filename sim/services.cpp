#include "services.hpp"

#include <fmt/format.h>

#include "rootd/protocol.hpp"
#include "rootd/roles.hpp"

namespace erix::sim {

using abi::KernelError;
namespace protocol = rootd::protocol;

namespace {

abi::Message reply_error(KernelError e) { return protocol::call_reply(e); }

Launcher launcher_for(rootd::LaunchPath path) {
  switch (path) {
    case rootd::LaunchPath::FOUNDATION: return Launcher::kernel_control;
    case rootd::LaunchPath::PROCD: return Launcher::procd;
    case rootd::LaunchPath::DEVICED: return Launcher::deviced;
    case rootd::LaunchPath::PROBE: return Launcher::probe;
  }
  return Launcher::boot;
}

// The marker form of a service name, as rootd writes it in its own READY
// lines: upper case, '-' as '_'.
std::string marker_name(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == '-') c = '_';
  }
  return out;
}

bool is_image_frame(const Cap& cap) {
  return cap.type == ObjectType::frame && (cap.rights & abi::RIGHT_READ) != 0;
}

}  // namespace

std::string_view fault_point_name(FaultPoint point) {
  switch (point) {
    case FaultPoint::spawn: return "spawn";
    case FaultPoint::start: return "start";
    case FaultPoint::handshake: return "handshake";
    case FaultPoint::not_ready: return "not-ready";
    case FaultPoint::crash: return "crash";
    case FaultPoint::refuse_probe: return "refuse-probe";
    case FaultPoint::plain_copy: return "plain-copy";
    case FaultPoint::root_completion: return "root-completion";
    case FaultPoint::no_completion: return "no-completion";
    case FaultPoint::wrong_reply: return "wrong-reply";
    case FaultPoint::wrong_data: return "wrong-data";
    case FaultPoint::extra_cap: return "extra-cap";
    case FaultPoint::slow: return "slow";
  }
  return "?";
}

std::optional<FaultPoint> parse_fault_point(std::string_view text) {
  for (std::size_t i = 0; i < kFaultPointCount; ++i) {
    const auto p = static_cast<FaultPoint>(i);
    if (fault_point_name(p) == text) return p;
  }
  return std::nullopt;
}

std::string_view complaint_name(Complaint complaint) {
  switch (complaint) {
    case Complaint::unknown_service: return "unknown-service";
    case Complaint::unknown_role: return "unknown-role";
    case Complaint::wrong_launch_path: return "wrong-launch-path";
    case Complaint::identity_mismatch: return "identity-mismatch";
    case Complaint::role_mismatch: return "role-mismatch";
    case Complaint::control_slot_mismatch: return "control-slot-mismatch";
    case Complaint::service_endpoint_missing: return "service-endpoint-missing";
    case Complaint::service_endpoint_wrong: return "service-endpoint-wrong";
    case Complaint::primary_missing: return "primary-missing";
    case Complaint::primary_wrong: return "primary-wrong";
    case Complaint::extra_missing: return "extra-missing";
    case Complaint::extra_wrong: return "extra-wrong";
    case Complaint::image_frame_missing: return "image-frame-missing";
    case Complaint::image_frame_wrong: return "image-frame-wrong";
    case Complaint::duplicate_envelope: return "duplicate-envelope";
    case Complaint::injected_fault: return "injected-fault";
    case Complaint::window_mismatch: return "window-mismatch";
    case Complaint::outside_window: return "outside-window";
    case Complaint::transfer_count_mismatch: return "transfer-count-mismatch";
    case Complaint::transfer_digest_mismatch: return "transfer-digest-mismatch";
    case Complaint::malformed_envelope: return "malformed-envelope";
    case Complaint::module_missing: return "module-missing";
    case Complaint::module_wrong: return "module-wrong";
    case Complaint::intent_missing: return "intent-missing";
    case Complaint::intent_truncated: return "intent-truncated";
    case Complaint::intent_malformed: return "intent-malformed";
    case Complaint::intent_digest_mismatch: return "intent-digest-mismatch";
    case Complaint::intent_not_theirs: return "intent-not-theirs";
    case Complaint::intent_unexpected: return "intent-unexpected";
  }
  return "?";
}

std::uint64_t transfer_digest(const std::map<std::uint32_t, Cap>& cspace) {
  // The map iterates in ascending slot order, as TransferDigest requires.
  protocol::TransferDigest digest;
  for (const auto& [slot, cap] : cspace) digest.add(slot, cap.rights);
  return digest.value();
}

std::string_view answer_name(Answer answer) {
  switch (answer) {
    case Answer::none: return "none";
    case Answer::ready: return "ready";
    case Answer::not_ready: return "not-ready";
    case Answer::malformed: return "malformed";
    case Answer::crashed: return "crashed";
    case Answer::probe_passed: return "probe-passed";
    case Answer::probe_failed: return "probe-failed";
    case Answer::spawn_failed: return "spawn-failed";
    case Answer::start_failed: return "start-failed";
  }
  return "?";
}

Services::Services(KernelModel& model) : model_(model) {
  model_.attach(this);
  protocols_ = make_protocol_handlers(model_, *this);
}

Services::~Services() { model_.attach(nullptr); }

Expected<void, std::string> Services::add(ServiceSpec spec) {
  if (spec.name.empty()) return unexpected(std::string("service with an empty name"));
  if (find(spec.name) != nullptr) return unexpected(fmt::format("service {} registered twice", spec.name));
  if (spec.image.empty()) spec.image = spec.name;
  ServiceRecord record;
  record.spec = std::move(spec);
  records_.push_back(std::move(record));
  return {};
}

Expected<void, std::string> Services::set_fault(std::string_view service, FaultPoint point) {
  for (auto& r : records_) {
    if (r.spec.name != service) continue;
    r.spec.faults |= 1U << static_cast<unsigned>(point);
    return {};
  }
  return unexpected(fmt::format("no service named {}", service));
}

Expected<void, std::string> Services::set_latency(std::string_view service, Tick latency) {
  for (auto& r : records_) {
    if (r.spec.name != service) continue;
    r.spec.latency = latency;
    return {};
  }
  return unexpected(fmt::format("no service named {}", service));
}

const ServiceRecord* Services::find(std::string_view service) const {
  for (const auto& r : records_) {
    if (r.spec.name == service) return &r;
  }
  return nullptr;
}

const ServiceRecord* Services::record_of(Pid pid) const {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : &records_[it->second];
}

ServiceRecord* Services::mutable_record(Pid pid) {
  auto it = by_pid_.find(pid);
  return it == by_pid_.end() ? nullptr : &records_[it->second];
}

Tick Services::latency_of(Pid pid) const {
  const ServiceRecord* r = record_of(pid);
  return r != nullptr ? r->spec.latency : kDefaultLatency;
}

// ---- creation ------------------------------------------------------------------

std::size_t Services::match(const Admission& admission) const {
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const auto& r = records_[i];
    if (!r.admitted && r.spec.identity.has_value() && *r.spec.identity == admission.identity) return i;
  }
  if (admission.module.empty()) return kNone;
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const auto& r = records_[i];
    if (!r.admitted && r.spec.image == admission.module) return i;
  }
  return kNone;
}

namespace {
Admitted admitted_as(const std::vector<ServiceRecord>& records, std::size_t index, const Admission& how) {
  Admitted who;
  if (index < records.size()) {
    who.name = records[index].spec.name;
    who.role = records[index].spec.role;
  } else {
    // ':' cannot occur in a service name, so this never binds to a record.
    who.name = fmt::format("unknown:{}", how.module.empty() ? std::string_view("image") : std::string_view(how.module));
  }
  return who;
}
}  // namespace

Admitted Services::admit(const Admission& admission) {
  const std::size_t i = match(admission);
  if (i != kNone && records_[i].spec.has_fault(FaultPoint::spawn)) {
    records_[i].answer = Answer::spawn_failed;
    Admitted refused;
    refused.error = kInjectedFailure;
    return refused;
  }
  return admitted_as(records_, i, admission);
}

void Services::on_created(Pid pid, const Admitted& who) {
  for (std::size_t i = 0; i < records_.size(); ++i) {
    if (records_[i].admitted || records_[i].spec.name != who.name) continue;
    records_[i].admitted = true;
    records_[i].pid = pid;
    by_pid_[pid] = i;
    return;
  }
}

KernelError Services::before_start(Pid pid) {
  ServiceRecord* r = mutable_record(pid);
  if (r != nullptr && r->spec.has_fault(FaultPoint::start)) {
    r->answer = Answer::start_failed;
    return kInjectedFailure;
  }
  return KernelError::OK;
}

KernelError Services::spawn(Launcher launcher, const Cap& image, std::uint64_t identity, bool start,
                            bool start_fault_here, Pid parent, Pid& out) {
  const FrameObject* f = model_.frame(image.object);
  const Admission how{launcher, f != nullptr ? f->module : std::string(), identity};
  const std::size_t i = match(how);
  if (i != kNone && records_[i].spec.has_fault(FaultPoint::spawn)) {
    records_[i].answer = Answer::spawn_failed;
    return kInjectedFailure;
  }
  if (start_fault_here && i != kNone && records_[i].spec.has_fault(FaultPoint::start)) {
    records_[i].answer = Answer::start_failed;
    return kInjectedFailure;
  }
  const Admitted who = admitted_as(records_, i, how);
  out = model_.create_process(who, how, image.object, parent);
  on_created(out, who);
  if (start) model_.start_process(out);
  return KernelError::OK;
}

// ---- envelopes -------------------------------------------------------------------

std::optional<Complaint> Services::check_envelope(Pid pid, ObjectId endpoint, const abi::Message& message) const {
  const ServiceRecord* rec = record_of(pid);
  if (rec == nullptr) return Complaint::unknown_service;
  const rootd::Role* role = rootd::find_role(rec->spec.role);
  if (role == nullptr) return Complaint::unknown_role;
  const Process* p = model_.process(pid);
  if (p->launcher != launcher_for(role->launch)) return Complaint::wrong_launch_path;
  const auto decoded = protocol::decode_deliver(message);
  if (!decoded.ok()) return Complaint::malformed_envelope;
  const protocol::Deliver& d = decoded.value();
  if (d.identity != p->identity) return Complaint::identity_mismatch;
  if (rec->spec.identity.has_value() && *rec->spec.identity != p->identity) return Complaint::identity_mismatch;
  if (d.role != rootd::role_index(role->id)) return Complaint::role_mismatch;
  if (d.control_slot != rootd::primary_control_slot(*role)) return Complaint::control_slot_mismatch;
  if (d.window_first != role->window.first || d.window_end != role->window.end()) return Complaint::window_mismatch;

  const Cap* service = p->cap_at(abi::kServiceEndpointLocalSlot);
  if (service == nullptr) return Complaint::service_endpoint_missing;
  if (service->type != ObjectType::endpoint || service->object != endpoint ||
      (service->rights & abi::RIGHT_RECEIVE) == 0) {
    return Complaint::service_endpoint_wrong;
  }

  auto dedicated_kind = [&](const Cap& c) -> std::optional<rootd::EndpointKind> {
    if (c.type != ObjectType::endpoint) return std::nullopt;
    const EndpointObject* ep = model_.endpoint(c.object);
    return ep != nullptr ? ep->dedicated : std::nullopt;
  };
  if (role->primary.has_value()) {
    const Cap* primary = p->cap_at(rootd::endpoint_info(*role->primary).local_slot);
    if (primary == nullptr) return Complaint::primary_missing;
    if (dedicated_kind(*primary) != role->primary || (primary->rights & abi::RIGHT_RECEIVE) == 0) {
      return Complaint::primary_wrong;
    }
  }
  for (std::size_t i = 0; i < role->extra_count; ++i) {
    const rootd::DedicatedRule& rule = role->extras[i];
    const Cap* extra = p->cap_at(rootd::endpoint_info(rule.kind).local_slot);
    if (extra == nullptr) return Complaint::extra_missing;
    if (dedicated_kind(*extra) != rule.kind || (extra->rights & rule.rights) != rule.rights) {
      return Complaint::extra_wrong;
    }
  }
  if (role->image_frame) {
    const Cap* frame = p->cap_at(rootd::kImageFrameLocalSlot);
    if (frame == nullptr) return Complaint::image_frame_missing;
    const FrameObject* f = frame->type == ObjectType::frame ? model_.frame(frame->object) : nullptr;
    if (f == nullptr || !f->boot_image || (frame->rights & abi::RIGHT_READ) == 0) return Complaint::image_frame_wrong;
  }
  for (const std::string& module : rec->spec.modules) {
    const rootd::ModuleGrant* grant = nullptr;
    for (const rootd::ModuleGrant& g : rootd::kModuleGrants) grant = g.module == module ? &g : grant;
    const Cap* cap = grant != nullptr ? p->cap_at(grant->local_slot) : nullptr;
    if (cap == nullptr) return Complaint::module_missing;
    const FrameObject* f = cap->type == ObjectType::frame ? model_.frame(cap->object) : nullptr;
    if (f == nullptr || f->module != module || cap->rights != abi::RIGHT_READ) return Complaint::module_wrong;
  }
  for (const auto& [slot, cap] : p->cspace) {
    if (slot != abi::kServiceEndpointLocalSlot && !role->window.contains(slot)) return Complaint::outside_window;
  }
  if (d.transfer_count != p->cspace.size()) return Complaint::transfer_count_mismatch;
  if (d.digest != transfer_digest(p->cspace)) return Complaint::transfer_digest_mismatch;
  return std::nullopt;
}

void Services::on_message(Pid receiver, ObjectId endpoint, const abi::Message& message, std::uint64_t badge,
                          const std::optional<Cap>& /*carried*/) {
  if (message.label == static_cast<std::uint64_t>(abi::StorageIntent::CHUNK)) {
    storage_.take_chunk(receiver, message);  // judged when the service answers
    return;
  }
  if (message.label != static_cast<std::uint64_t>(abi::Envelope::DELIVER)) {
    abi::Message reply = reply_error(KernelError::UNKNOWN_OPERATION);
    reply.badge = badge;
    model_.post_to_root(reply);
    return;
  }
  const std::uint32_t seen = ++envelopes_[receiver];
  ServiceRecord* rec = mutable_record(receiver);
  if (rec != nullptr && !rec->envelope_at.has_value()) rec->envelope_at = model_.now();
  const Tick at = model_.now() + latency_of(receiver);
  if (model_.process(receiver)->launcher == Launcher::probe) {
    // A probe judges its envelope now and reports once it has run.
    const std::optional<Complaint> envelope =
        seen > 1 ? std::optional<Complaint>(Complaint::duplicate_envelope) : check_envelope(receiver, endpoint, message);
    model_.schedule(at, [this, receiver, envelope] { complete_probe(receiver, envelope); });
    return;
  }

  Answer kind = Answer::ready;
  std::optional<Complaint> complaint;
  if (seen > 1) {
    complaint = Complaint::duplicate_envelope;
  } else if (rec != nullptr && rec->spec.has_fault(FaultPoint::crash)) {
    model_.schedule(at, [this, receiver] {
      const Process* p = model_.process(receiver);
      if (p == nullptr || p->state != ProcessState::running) return;
      if (ServiceRecord* r = mutable_record(receiver); r != nullptr) {
        r->answer = Answer::crashed;
        r->answered_at = model_.now();
      }
      model_.exit_process(receiver, kCrashExitCode);
    });
    return;
  } else if (rec != nullptr && rec->spec.has_fault(FaultPoint::handshake)) {
    kind = Answer::malformed;
  } else {
    complaint = check_envelope(receiver, endpoint, message);
    if (!complaint.has_value() && rec != nullptr && rec->spec.has_fault(FaultPoint::not_ready)) {
      complaint = Complaint::injected_fault;
    }
  }
  if (complaint.has_value()) kind = Answer::not_ready;
  abi::Message reply = protocol::encode(
      kind == Answer::not_ready ? protocol::Answer{protocol::AnswerKind::NOT_READY, static_cast<std::uint64_t>(*complaint)}
                                : protocol::Answer{protocol::AnswerKind::READY, 0});
  // A handshake fault answers with a label that is no answer at all.
  if (kind == Answer::malformed) reply.label = kMalformedLabel;
  // The kernel stamps the badge rootd chose when it sent the envelope.
  reply.badge = badge;
  model_.schedule(at, [this, receiver, reply, kind, complaint] { answer(receiver, reply, kind, complaint); });
}

void Services::answer(Pid pid, const abi::Message& given, Answer kind, std::optional<Complaint> complaint) {
  const Process* p = model_.process(pid);
  if (p == nullptr || p->state != ProcessState::running) return;  // stopped or crashed meanwhile
  abi::Message reply = given;
  if (const ServiceRecord* r = record_of(pid); kind == Answer::ready && r != nullptr) {
    const rootd::Role* role = rootd::find_role(r->spec.role);
    const IntentProblem problem =
        role == nullptr ? IntentProblem::none : storage_.check_intent(pid, *role, p->identity, r->spec.name);
    if (problem != IntentProblem::none) {
      kind = Answer::not_ready;
      complaint = static_cast<Complaint>(static_cast<std::uint64_t>(Complaint::intent_missing) +
                                         static_cast<std::uint64_t>(problem) - 1);
      reply = protocol::encode(protocol::Answer{protocol::AnswerKind::NOT_READY, static_cast<std::uint64_t>(*complaint)});
      reply.badge = given.badge;
    }
  }
  model_.post_to_root(reply);
  ServiceRecord* rec = mutable_record(pid);
  if (rec != nullptr && !rec->answered_at.has_value()) {
    rec->answer = kind;
    rec->answered_at = model_.now();
    rec->complaint = complaint;
  }
  if (kind == Answer::ready && rec != nullptr) {
    for (const auto& handler : protocols_) handler->on_ready(pid, *rec);
  }
  if (kind != Answer::ready || p->launcher != Launcher::deviced) return;
  auto it = driver_launcher_.find(pid);
  if (it == driver_launcher_.end()) return;
  const Process* deviced = model_.process(it->second);
  if (deviced == nullptr || deviced->state != ProcessState::running) return;
  model_.add_report(it->second, fmt::format("{}{}", kDevicedReadyPrefix, marker_name(p->name)));
}

// ---- procd and deviced ---------------------------------------------------------------

namespace {
// A launcher needs a carried image frame only to build the process; once it
// has started it, it deletes its copy. Its carried frames are then the
// launches in flight, not every service it ever launched: the receive window
// (1,696 slots) is smaller than a config's services (up to 2,048).
void drop_image_frame(KernelModel& model, Pid launcher, const Process& started) {
  const Process* from = model.process(launcher);
  if (from == nullptr) return;
  const rootd::SlotWindow window = rootd::kCarriedImageWindow;
  for (const auto& [slot, cap] : from->cspace) {
    if (window.contains(slot) && cap.type == ObjectType::frame && cap.object == started.image_frame) {
      model.drop_cap(launcher, slot);
      return;
    }
  }
}
}  // namespace

CallReply Services::on_call(Pid receiver, ObjectId /*endpoint*/, const abi::Message& message,
                            const std::optional<Cap>& carried) {
  const ServiceRecord* rec = record_of(receiver);
  CallReply reply{reply_error(KernelError::UNKNOWN_OPERATION), std::nullopt};
  if (rec != nullptr && rec->spec.role == "procd") reply = procd_call(receiver, message, carried);
  if (rec != nullptr && rec->spec.role == "deviced") reply = deviced_call(receiver, message, carried);
  if (rec != nullptr && rec->spec.role == "blockd") {
    reply.message = rec->answer == Answer::ready ? storage_.blockd_call(message) : reply_error(KernelError::DENIED);
  }
  const bool launcher_or_blockd =
      rec != nullptr && (rec->spec.role == "procd" || rec->spec.role == "deviced" || rec->spec.role == "blockd");
  if (rec != nullptr && !launcher_or_blockd && rec->answer == Answer::ready) {
    for (const auto& handler : protocols_) {
      if (auto taken = handler->on_call(receiver, *rec, message, carried)) {
        reply = std::move(*taken);
        break;
      }
    }
  }
  // A launcher keeps a carried image frame only for a process it made.
  if (carried.has_value() && reply.message.label != abi::kReplyOk) model_.drop_cap(receiver, carried_landing_);
  return reply;
}

std::uint32_t Services::carried_slot(Pid receiver, const abi::Message& /*message*/) {
  const ServiceRecord* rec = record_of(receiver);
  const Process* p = model_.process(receiver);
  if (rec == nullptr || p == nullptr || (rec->spec.role != "procd" && rec->spec.role != "deviced")) return abi::kNoSlot;
  const rootd::SlotWindow window = rootd::kCarriedImageWindow;
  for (std::uint32_t slot = window.first; slot < window.end() && slot < p->slot_count; ++slot) {
    if (p->cap_at(slot) == nullptr) return carried_landing_ = slot;
  }
  return abi::kNoSlot;
}

CallReply Services::procd_call(Pid procd, const abi::Message& message, const std::optional<Cap>& carried) {
  if (record_of(procd)->answer != Answer::ready) return CallReply{reply_error(KernelError::DENIED), std::nullopt};
  const bool known = message.label == static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS) ||
                     message.label == static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS) ||
                     message.label == static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE);
  if (!known) return CallReply{reply_error(KernelError::UNKNOWN_OPERATION), std::nullopt};
  const auto decoded = protocol::decode_launch_request(message);
  if (!decoded.ok()) return CallReply{reply_error(KernelError::INVALID_ARGUMENT), std::nullopt};
  const protocol::LaunchRequest& request = decoded.value();
  if (request.op == static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS)) {
    const Process* p = model_.process(request.pid);
    if (p == nullptr || p->pid == kRootdPid) return CallReply{reply_error(KernelError::INVALID_ARGUMENT), std::nullopt};
    if (p->state == ProcessState::destroyed) return CallReply{reply_error(KernelError::PEER_GONE), std::nullopt};
    if ((p->launcher != Launcher::procd && p->launcher != Launcher::probe) || p->state != ProcessState::staged) {
      return CallReply{reply_error(KernelError::DENIED), std::nullopt};
    }
    if (const KernelError e = before_start(p->pid); e != KernelError::OK) return CallReply{reply_error(e), std::nullopt};
    model_.start_process(p->pid);
    drop_image_frame(model_, procd, *p);
    return CallReply{reply_error(KernelError::OK), std::nullopt};
  }
  // The decoder saw a cap slot; the kernel says whether a cap came with it.
  if (!carried.has_value() || !is_image_frame(*carried)) {
    return CallReply{reply_error(KernelError::INVALID_ARGUMENT), std::nullopt};
  }
  // A probe is staged like any procd launch: rootd copies its transfers
  // through the grant, starts it and delivers its envelope.
  const bool probe = request.op == static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE);
  Pid pid = kNoPid;
  const KernelError e =
      spawn(probe ? Launcher::probe : Launcher::procd, *carried, request.identity, false, false, procd, pid);
  if (e != KernelError::OK) return CallReply{reply_error(e), std::nullopt};
  return CallReply{protocol::encode(protocol::LaunchReply{pid, abi::kNoSlot}),
                   Cap{ObjectType::install_grant, pid, kInstallGrantRights, 0}};
}

CallReply Services::deviced_call(Pid deviced, const abi::Message& message, const std::optional<Cap>& carried) {
  if (record_of(deviced)->answer != Answer::ready) return CallReply{reply_error(KernelError::DENIED), std::nullopt};
  if (message.label == static_cast<std::uint64_t>(abi::DevicedOp::POPULATE_DRIVER)) {
    return populate_driver(deviced, message);
  }
  if (message.label != static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER)) {
    return CallReply{reply_error(KernelError::UNKNOWN_OPERATION), std::nullopt};
  }
  const auto decoded = protocol::decode_launch_request(message);
  if (!decoded.ok() || !carried.has_value() || !is_image_frame(*carried) || decoded.value().transfer_count == 0) {
    return CallReply{reply_error(KernelError::INVALID_ARGUMENT), std::nullopt};
  }
  Pid pid = kNoPid;
  const KernelError e = spawn(Launcher::deviced, *carried, decoded.value().identity, false, true, deviced, pid);
  if (e != KernelError::OK) return CallReply{reply_error(e), std::nullopt};
  driver_launcher_[pid] = deviced;
  populating_[pid] = Population{decoded.value().transfer_count, decoded.value().digest, 0};
  // No grant: only deviced writes a driver's cspace.
  return CallReply{protocol::encode(protocol::LaunchReply{pid, abi::kNoSlot}), std::nullopt};
}

CallReply Services::populate_driver(Pid deviced, const abi::Message& message) {
  auto reply = [](KernelError e) { return CallReply{reply_error(e), std::nullopt}; };
  const auto decoded = protocol::decode_populate(message, static_cast<std::uint64_t>(abi::DevicedOp::POPULATE_DRIVER));
  // deviced gives away only what rootd staged for the driver, never its own caps.
  if (!decoded.ok() || decoded.value().source != rootd::kPopulateStagingSlot ||
      decoded.value().op != abi::CapOp::COPY_ATTENUATED) {
    return reply(KernelError::INVALID_ARGUMENT);
  }
  const protocol::PopulateRequest& r = decoded.value();
  auto population = populating_.find(r.child);
  if (population == populating_.end() || driver_launcher_[r.child] != deviced) {
    model_.drop_cap(deviced, r.source);
    return reply(KernelError::DENIED);
  }
  protocol::PopulateRequest copy = r;
  const ServiceRecord* driver = record_of(r.child);
  if (driver != nullptr && driver->spec.has_fault(FaultPoint::plain_copy)) copy.op = abi::CapOp::COPY;
  const KernelError e = model_.child_populate(deviced, rootd::endpoint_info(rootd::EndpointKind::CHILD_POPULATE).local_slot,
                                              protocol::encode(copy, abi::kChildPopulateLabel));
  // Populated or not, the staged cap is not deviced's to keep.
  model_.drop_cap(deviced, r.source);
  if (e != KernelError::OK) return reply(e);
  if (++population->second.populated < population->second.count) return reply(KernelError::OK);
  // The envelope is complete: the driver holds exactly what rootd said, or
  // it is not started.
  const Population done = population->second;
  populating_.erase(population);
  const Process* child = model_.process(r.child);
  if (child->cspace.size() != done.count || transfer_digest(child->cspace) != done.digest) {
    return reply(KernelError::DENIED);
  }
  model_.start_process(r.child);
  drop_image_frame(model_, deviced, *child);
  return reply(KernelError::OK);
}

std::string Services::exercise(Pid probe, ServiceRecord& rec) {
  const rootd::Role* role = rootd::find_role(rec.spec.role);
  if (role == nullptr || role->launch != rootd::LaunchPath::PROBE) return "not a probe role";
  const Process* p = model_.process(probe);
  rootd::RoleSet answered;
  for (const auto& [slot, cap] : p->cspace) {
    if (slot < rootd::kFirstPeerLocalSlot || slot >= rootd::kFirstPeerLocalSlot + role->max_peers) continue;
    if (cap.type != ObjectType::endpoint || (cap.rights & abi::RIGHT_SEND) == 0) {
      return fmt::format("slot {}: no endpoint it can call", slot);
    }
    const Pid callee = model_.receiver(cap.object);
    const ServiceRecord* target = record_of(callee);
    const Process* q = model_.process(callee);
    if (target == nullptr || q == nullptr || q->state != ProcessState::running) {
      return fmt::format("slot {}: nobody running answers", slot);
    }
    if (target->answer != Answer::ready || target->spec.has_fault(FaultPoint::refuse_probe)) {
      return fmt::format("slot {}: {} refused the call", slot, target->spec.name);
    }
    // The callee answers with its role; the probe checks it is one it
    // exercises, and only once.
    const rootd::Role* callee_role = rootd::find_role(target->spec.role);
    if (callee_role == nullptr || !role->private_peers.has(callee_role->id) || answered.has(callee_role->id)) {
      return fmt::format("slot {}: {} answered as {}, not a service it probes", slot, target->spec.name,
                         target->spec.role);
    }
    answered = answered.with(callee_role->id);
    rec.probed.push_back(target->spec.name);
  }
  for (const rootd::Role& r : rootd::kRoles) {
    if (role->private_peers.has(r.id) && !answered.has(r.id)) return fmt::format("{} was not reached", r.name);
  }
  return {};
}

void Services::complete_probe(Pid pid, std::optional<Complaint> envelope) {
  const Process* p = model_.process(pid);
  if (p == nullptr || p->state != ProcessState::running) return;
  ServiceRecord* rec = mutable_record(pid);
  auto note = [&](Answer a) {
    if (rec == nullptr) return;
    rec->answer = a;
    rec->answered_at = model_.now();
  };
  if (rec != nullptr && rec->spec.has_fault(FaultPoint::crash)) {
    note(Answer::crashed);
    model_.exit_process(pid, kCrashExitCode);
    return;
  }
  if (rec != nullptr && rec->spec.has_fault(FaultPoint::no_completion)) {
    note(Answer::probe_failed);
    rec->probe_failure = "exited without reporting";
    model_.exit_process(pid, kExitClean);
    return;
  }
  if (rec != nullptr && rec->spec.has_fault(FaultPoint::handshake)) {
    note(Answer::malformed);
    // A completion whose label is no event at all.
    abi::Message event = protocol::encode(protocol::ProcessEvent{abi::Event::PROBE_COMPLETED, pid, 0});
    event.label = kMalformedLabel;
    model_.post_from_probe(pid, event);
    model_.exit_process(pid, kExitClean);
    return;
  }
  std::string failure = "not a registered probe";
  if (rec != nullptr) {
    failure = envelope.has_value() ? fmt::format("envelope: {}", complaint_name(*envelope))
              : rec->spec.has_fault(FaultPoint::not_ready) ? std::string("injected fault")
                                                           : exercise(pid, *rec);
    rec->probe_failure = failure;
  }
  const bool passed = failure.empty();
  note(passed ? Answer::probe_passed : Answer::probe_failed);
  const abi::Message event =
      protocol::encode(protocol::ProcessEvent{abi::Event::PROBE_COMPLETED, pid, passed ? kProbePassed : kProbeFailed});
  // It reports on the process-control endpoint through its procd peer cap;
  // without one it cannot report at all (rootd then sees it exit).
  if (rec != nullptr && rec->spec.has_fault(FaultPoint::root_completion)) {
    model_.post_to_root(event);
  } else if (!model_.post_from_probe(pid, event)) {
    if (rec != nullptr) rec->probe_failure = "no process-control endpoint to report on";
    note(Answer::probe_failed);
    model_.exit_process(pid, kProbeFailed);
    return;
  }
  // Its work is done: it exits, and rootd may destroy it without a stop.
  model_.exit_process(pid, passed ? kExitClean : kProbeFailed);
}

}  // namespace erix::sim
