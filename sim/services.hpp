// Simulated user space for the kernel model: every service rootd starts
// behaves like the real one at the level rootd can observe.
//
// - Every service answers its startup envelope (Envelope::DELIVER, sent with
//   SEND) `latency` ticks after it receives it: READY when its own cspace
//   holds what its role needs (the role table of include/rootd/roles.hpp),
//   NOT_READY with a Complaint in w0 otherwise.
// - procd serves CREATE_STAGED_PROCESS, START_STAGED_PROCESS and SPAWN_PROBE
//   by CALL once it has answered READY; deviced serves START_DRIVER and
//   POPULATE_DRIVER. Both answer at once (a CALL takes no simulated time).
// - deviced stages a driver at START_DRIVER (remembering the envelope's
//   transfer count and digest) and gives rootd no grant. For each
//   POPULATE_DRIVER it copies the cap rootd staged at
//   rootd::kPopulateStagingSlot into the driver through the kernel's
//   child-populate (KernelModel::child_populate, from its child-populate
//   endpoint at its local slot 2304) and drops the staged cap whatever
//   happened; after the last it checks the driver holds exactly the envelope
//   (count and digest) and starts it.
// - The probe (a service whose process was made by SPAWN_PROBE, staged, then
//   started by START_STAGED_PROCESS) checks its envelope like any service,
//   and `latency` ticks after it came calls every service its peer caps
//   reach: each must be a running, READY service that answers with its role,
//   and every private peer role of the probe's row (memd, vspaced, pagerd,
//   procd for phase0-probe) must answer once. It then delivers
//   PROBE_COMPLETED (0 when all of that held) and exits (EXITED follows, code
//   0 when it passed), so that rootd can destroy it at once. It never sends
//   an answer.
// - When a driver answers READY, deviced reports `ERIX_DEVICED:READY:<NAME>`
//   with the driver's service name in rootd's marker form (upper case, '-'
//   as '_'), so both lines name a driver the same way.
//
// Services are registered by name before the boot. A process is matched to
// its service when it is created: first by identity (if the service has one),
// else by image module; a process that matches nothing runs as an unknown
// service that answers every envelope NOT_READY(unknown_service).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expected.hpp"
#include "kernel_model.hpp"
#include "service_protocols.hpp"
#include "storage_services.hpp"

namespace erix::sim {

// Where a service can be made to fail (erix-boot --fault SERVICE:POINT).
enum class FaultPoint : std::uint8_t {
  spawn,      // the create call fails (kernel CREATE_STAGED_PROCESS, procd's, START_DRIVER, SPAWN_PROBE)
  start,      // the start call fails (START_PROCESS, START_STAGED_PROCESS, START_DRIVER, SPAWN_PROBE)
  handshake,  // the answer carries a label that is neither READY nor NOT_READY
  not_ready,  // the answer is NOT_READY(injected_fault)
  crash,      // instead of answering, the process exits with kCrashExitCode (EXITED is delivered)
  refuse_probe,  // it boots, but refuses the probe's call (the probe then reports failure)
  plain_copy,    // a driver: deviced populates it with CAP_COPY, which the kernel refuses
  root_completion,  // a probe: its completion arrives on rootd's root endpoint, not the process endpoint
  no_completion,    // a probe: it exits (code 0) without ever reporting
  // A service that serves a public protocol (vfsd, loaderd, fbcond, inputd,
  // the filesystems) boots READY, then misbehaves when an integration
  // image's verifier calls it (service_protocols.hpp):
  wrong_reply,  // answers with a reply label or state its protocol does not allow there
  wrong_data,   // answers well-formed, with content that is not what was asked for
  extra_cap,    // answers carrying a capability (its own service endpoint, SEND)
  slow,         // answers "not yet" to every call that may be retried, for ever
};
inline constexpr std::size_t kFaultPointCount = 13;
// "spawn", "start", "handshake", "not-ready", "crash", "refuse-probe", "plain-copy",
// "root-completion", "no-completion", "wrong-reply", "wrong-data", "extra-cap", "slow"
std::string_view fault_point_name(FaultPoint point);
// The points only a verifier notices (wrong-reply ... slow): a runtime image
// never calls a service's public protocol.
constexpr bool is_verifier_fault(FaultPoint point) {
  return point == FaultPoint::wrong_reply || point == FaultPoint::wrong_data || point == FaultPoint::extra_cap ||
         point == FaultPoint::slow;
}
std::optional<FaultPoint> parse_fault_point(std::string_view text);

// The error an injected spawn or start fault makes the call reply with.
inline constexpr abi::KernelError kInjectedFailure = abi::KernelError::NO_MEMORY;
// EXITED w1 of a crash: a page fault's vector number.
inline constexpr std::uint64_t kCrashExitCode = 14;
// Reply label of a handshake fault (and event label of a probe's).
inline constexpr std::uint64_t kMalformedLabel = 0x4F;
// PROBE_COMPLETED w1.
inline constexpr std::uint64_t kProbePassed = 0;
inline constexpr std::uint64_t kProbeFailed = 1;
inline constexpr Tick kDefaultLatency = 10;
inline constexpr std::string_view kDevicedReadyPrefix = "ERIX_DEVICED:READY:";

// Why a service answers NOT_READY: the w0 of its answer. Numbers are stable.
enum class Complaint : std::uint64_t {
  unknown_service = 1,           // its process matched no registered service
  unknown_role = 2,              // the service's role is not in the role table
  wrong_launch_path = 3,         // created by a path its role does not use
  identity_mismatch = 4,         // w0 differs from the identity it was created with
  role_mismatch = 5,             // w1 is not its role's index
  control_slot_mismatch = 6,     // w2 is not its role's primary control slot
  service_endpoint_missing = 7,  // local slot 1 is empty
  service_endpoint_wrong = 8,    // slot 1 is not RECEIVE on the endpoint the envelope came through
  primary_missing = 9,
  primary_wrong = 10,            // not an endpoint of the role's primary kind with RECEIVE
  extra_missing = 11,
  extra_wrong = 12,              // not an endpoint of the rule's kind with the rule's rights
  image_frame_missing = 13,
  image_frame_wrong = 14,        // not the boot image frame with READ
  duplicate_envelope = 15,       // a second envelope after the first
  injected_fault = 16,           // FaultPoint::not_ready
  window_mismatch = 17,          // w3 is not its role's window (first | end << 32)
  outside_window = 18,           // it holds a cap outside slot 1 and its window
  transfer_count_mismatch = 19,  // w4 differs from the number of caps it holds
  transfer_digest_mismatch = 20, // w5 differs from the digest of what it holds
  malformed_envelope = 21,       // protocol::decode_deliver refuses it (a field beyond its width,
                                 //   a reversed window, a carried cap)
  module_missing = 22,           // a profile module it consumes is not at its grant slot
  module_wrong = 23,             // not that module's frame, or with rights other than READ
  // vfsd and filesystem services, at answer time (storage_services.hpp):
  intent_missing = 24,           // no storage intent followed the envelope
  intent_truncated = 25,         // fewer bytes than the intent announced
  intent_malformed = 26,         // chunks out of order, or rootd::intent::decode refuses it
  intent_digest_mismatch = 27,   // its digest is not that of its bytes
  intent_not_theirs = 28,        // addressed to another service, or of the other kind
  intent_unexpected = 29,        // a service that takes no intent was sent one
};
std::string_view complaint_name(Complaint complaint);

// Envelope::DELIVER w5 (rootd::protocol::TransferDigest) over a service's
// own cspace: equal digests mean it holds exactly the slots and rights rootd
// says it copied.
std::uint64_t transfer_digest(const std::map<std::uint32_t, Cap>& cspace);

struct ServiceSpec {
  std::string name;   // the boot-config service name
  std::string role;   // a role of include/rootd/roles.hpp
  std::string image;  // boot module holding its image
  std::optional<std::uint64_t> identity;  // when set, creation matches on it first
  // Profile modules it consumes (rootd::kModuleGrants rows its role and the
  // profile select): each must arrive read-only at the row's slot.
  std::vector<std::string> modules;
  Tick latency = kDefaultLatency;
  std::uint32_t faults = 0;  // bit (1 << FaultPoint)

  bool has_fault(FaultPoint p) const { return ((faults >> static_cast<unsigned>(p)) & 1U) != 0; }
};

enum class Answer : std::uint8_t {
  none,           // no answer (yet)
  ready,
  not_ready,
  malformed,      // handshake fault
  crashed,
  probe_passed,
  probe_failed,
  spawn_failed,   // its create call failed
  start_failed,   // its start call failed
};
std::string_view answer_name(Answer answer);

// What happened to one registered service.
struct ServiceRecord {
  ServiceSpec spec;
  bool admitted = false;  // a process was created for it
  Pid pid = kNoPid;
  std::optional<Tick> envelope_at;  // first envelope received (or probe start)
  std::optional<Tick> answered_at;
  Answer answer = Answer::none;
  std::optional<Complaint> complaint;  // of a NOT_READY answer
  // A probe: the services that answered its calls, in call order, and why it
  // failed (empty when it passed or has not run).
  std::vector<std::string> probed;
  std::string probe_failure;
};

class Services final : public ProcessBehaviour {
 public:
  // Attaches itself to `model`; the model must outlive it.
  explicit Services(KernelModel& model);
  ~Services() override;
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  Expected<void, std::string> add(ServiceSpec spec);
  Expected<void, std::string> set_fault(std::string_view service, FaultPoint point);
  Expected<void, std::string> set_latency(std::string_view service, Tick latency);

  const std::vector<ServiceRecord>& records() const { return records_; }
  StorageServices& storage() { return storage_; }
  const StorageServices& storage() const { return storage_; }
  const ServiceRecord* find(std::string_view service) const;
  // The protocol handler of type T (service_protocols.hpp), or null: how one
  // simulated service reaches another's model (loaderd reading through vfsd).
  template <class T>
  T* protocol() const {
    for (const auto& handler : protocols_) {
      if (auto* t = dynamic_cast<T*>(handler.get())) return t;
    }
    return nullptr;
  }
  const ServiceRecord* record_of(Pid pid) const;

  // ProcessBehaviour
  Admitted admit(const Admission& admission) override;
  void on_created(Pid pid, const Admitted& who) override;
  abi::KernelError before_start(Pid pid) override;
  void on_message(Pid receiver, ObjectId endpoint, const abi::Message& message, std::uint64_t badge,
                  const std::optional<Cap>& carried) override;
  CallReply on_call(Pid receiver, ObjectId endpoint, const abi::Message& message,
                    const std::optional<Cap>& carried) override;
  // procd and deviced receive image frames in the lowest free slot of
  // rootd::kCarriedImageWindow; nobody else takes carried caps.
  std::uint32_t carried_slot(Pid receiver, const abi::Message& message) override;

  // What the service living in `pid` would complain about if `message` (an
  // envelope that came through `endpoint`) arrived now; nullopt = READY.
  std::optional<Complaint> check_envelope(Pid pid, ObjectId endpoint, const abi::Message& message) const;

 private:
  // Where the last carried cap landed (carried_slot's answer).
  std::uint32_t carried_landing_ = abi::kNoSlot;
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  std::size_t match(const Admission& admission) const;
  ServiceRecord* mutable_record(Pid pid);
  Tick latency_of(Pid pid) const;
  CallReply procd_call(Pid procd, const abi::Message& message, const std::optional<Cap>& carried);
  CallReply deviced_call(Pid deviced, const abi::Message& message, const std::optional<Cap>& carried);
  // Admits and creates a process for a procd / deviced request; on failure
  // returns the error and creates nothing.
  // `start`: start it at once; `start_fault_here`: an injected start fault
  // fails this call (START_DRIVER counts as both create and start).
  abi::KernelError spawn(Launcher launcher, const Cap& image, std::uint64_t identity, bool start,
                         bool start_fault_here, Pid parent, Pid& out);
  CallReply populate_driver(Pid deviced, const abi::Message& message);
  // Runs at the answer's tick: posts it unless the process stopped meanwhile.
  void answer(Pid pid, const abi::Message& reply, Answer kind, std::optional<Complaint> complaint);
  void complete_probe(Pid pid, std::optional<Complaint> envelope);
  // The probe's calls through its peer caps; a failure text, empty on pass.
  std::string exercise(Pid probe, ServiceRecord& rec);

  KernelModel& model_;
  std::vector<ServiceRecord> records_;
  std::map<Pid, std::size_t> by_pid_;
  std::map<Pid, std::uint32_t> envelopes_;  // envelopes received per process
  std::map<Pid, Pid> driver_launcher_;      // driver -> the deviced that started it
  struct Population {
    std::uint32_t count = 0;  // the envelope's transfers
    std::uint64_t digest = 0;
    std::uint32_t populated = 0;
  };
  std::map<Pid, Population> populating_;  // staged drivers deviced is populating
  StorageServices storage_;
  // The public protocols (service_protocols.hpp), asked in order.
  std::vector<std::unique_ptr<ProtocolHandler>> protocols_;
};

}  // namespace erix::sim
