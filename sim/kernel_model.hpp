// KernelModel: a deterministic host model of the EriX kernel as rootd sees it
// through include/rootd/abi.hpp (docs/kernel-abi.md is the contract in prose).
//
// It holds processes with their capability spaces, the kernel objects those
// capabilities name (endpoints, frames, untyped regions, the kernel-control
// object), a simulated clock and the queue of messages bound for rootd's root
// endpoint. Every syscall of abi.hpp is implemented strictly: a request that
// fails returns its specific KernelError and leaves the model exactly as it
// was (state_dump() is identical before and after), except for the call
// counters and the error log.
//
// Time: kernel calls take zero ticks. Anything a simulated process does later
// (answer an envelope, crash, complete a probe) is an agenda item at a tick;
// WAIT runs the agenda up to the next message for rootd and advances the
// clock to it. The agenda is ordered by (tick, sequence number), so equal
// inputs give equal outputs, always.
//
// What happens inside simulated processes is not the kernel's business: a
// ProcessBehaviour (services.hpp) is told about creations, starts, messages
// and calls, and acts through the public "for simulated processes" methods.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expected.hpp"
#include "rootd/abi.hpp"
#include "rootd/bytes.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/protocol.hpp"

namespace rootd::handoff {
class View;
}

namespace erix::sim {

namespace abi = rootd::abi;

using Pid = std::uint32_t;
using ObjectId = std::uint64_t;
using Tick = std::uint64_t;

inline constexpr Pid kNoPid = 0;
inline constexpr Pid kRootdPid = 1;  // the model creates rootd first

// Slots in the cspace of every process the kernel-control or procd creates.
// Large enough for the dedicated local slots (up to 2336) of roles.hpp.
inline constexpr std::uint32_t kChildSlotCount = 4096;
// REPORT text: 1..kMaxReportLength printable ASCII bytes (0x20..0x7E).
inline constexpr std::size_t kMaxReportLength = 256;

// Rights of the caps the kernel makes. Every transferable cap carries GRANT
// for its first holder; copies carry what rootd asks for.
inline constexpr std::uint32_t kEndpointRights = abi::RIGHT_SEND | abi::RIGHT_RECEIVE | abi::RIGHT_GRANT;
inline constexpr std::uint32_t kRootEndpointRights = abi::RIGHT_RECEIVE;
inline constexpr std::uint32_t kKernelControlRights = abi::RIGHT_SEND;
inline constexpr std::uint32_t kSelfSpaceRights = abi::RIGHT_READ | abi::RIGHT_WRITE;
inline constexpr std::uint32_t kImageRights = abi::RIGHT_READ | abi::RIGHT_EXECUTE | abi::RIGHT_GRANT;
inline constexpr std::uint32_t kMemoryRights = abi::RIGHT_READ | abi::RIGHT_WRITE | abi::RIGHT_GRANT;
inline constexpr std::uint32_t kProcessCapRights = abi::RIGHT_READ | abi::RIGHT_WRITE;
inline constexpr std::uint32_t kInstallGrantRights = abi::RIGHT_WRITE;
// A cap carried in a CALL reaches the receiver without GRANT: it can be
// neither carried nor copied on (docs/kernel-abi.md, CALL).
inline constexpr std::uint32_t kCarriedRightsMask = ~static_cast<std::uint32_t>(abi::RIGHT_GRANT);

// Exit codes carried in EXITED (w1).
inline constexpr std::uint64_t kExitClean = 0;

enum class ObjectType : std::uint8_t {
  endpoint,
  process,         // object = pid; names the process for kernel-control operations
  frame,
  untyped,
  kernel_control,
  cspace,          // object = pid; rootd's own (slot 2)
  vspace,          // object = pid; rootd's own (slot 3)
  install_grant,   // object = pid; lets its holder copy caps into that process's cspace
};
std::string_view object_type_name(ObjectType type);

struct Cap {
  ObjectType type = ObjectType::endpoint;
  ObjectId object = 0;
  std::uint32_t rights = 0;
  std::uint64_t badge = 0;
  friend bool operator==(const Cap&, const Cap&) = default;
};

enum class ProcessState : std::uint8_t { staged, running, stopped, exited, destroyed };
std::string_view process_state_name(ProcessState state);

// Who created a process: decides which rules apply to it and which service
// behaviour the simulated services give it.
// `loader`: made by procd on loaderd's behalf, for a program loaderd launched
// by path (sim/loader_service.hpp); its events go to that launcher, never to
// rootd, and it is not rootd's to destroy.
enum class Launcher : std::uint8_t { boot, kernel_control, procd, probe, deviced, loader };
std::string_view launcher_name(Launcher launcher);

struct Process {
  Pid pid = kNoPid;
  std::string name;        // service name (or module name when nothing matched)
  std::string role;        // role name; empty when unknown
  std::uint64_t identity = 0;
  Launcher launcher = Launcher::boot;
  Pid parent = kNoPid;  // the simulated process that made it (procd, deviced); kNoPid for kernel control
  ProcessState state = ProcessState::staged;
  ObjectId image_frame = 0;  // frame object it was created from (0 for rootd)
  std::uint32_t slot_count = kChildSlotCount;
  std::map<std::uint32_t, Cap> cspace;
  std::optional<ObjectId> pager;  // endpoint registered by REGISTER_PAGER
  std::vector<ObjectId> mapped_frames;
  std::optional<std::uint64_t> exit_code;
  Tick created_at = 0;
  std::optional<Tick> started_at;
  std::optional<Tick> ended_at;  // stopped or exited
  std::optional<Tick> destroyed_at;

  bool live() const { return state == ProcessState::staged || state == ProcessState::running; }
  const Cap* cap_at(std::uint32_t slot) const;
};

struct EndpointObject {
  ObjectId id = 0;
  std::optional<rootd::EndpointKind> dedicated;  // a handoff inventory endpoint
  bool root = false;                             // rootd's root endpoint
  bool ever_received = false;  // some process other than rootd held RECEIVE on it
};

struct FrameObject {
  ObjectId id = 0;
  std::string module;  // boot module name; empty for the image frame and the framebuffer
  bool boot_image = false;
  bool device = false;
  std::uint64_t vaddr = 0;  // where rootd sees the module's bytes (modules only)
  std::uint64_t size = 0;
};

struct UntypedObject {
  ObjectId id = 0;
  std::uint64_t base = 0;
  std::uint64_t size = 0;
  bool device = false;
};

// rootd's cspace at entry, as the kernel builds it from what the handoff
// describes. Slots 0..3 are fixed by abi.hpp and must not be named here.
struct ModuleImage {
  std::string name;
  std::uint64_t vaddr = 0;
  std::uint64_t size = 0;
  std::uint32_t frame_slot = 0;
  std::vector<char> bytes;  // what read_module returns; may be shorter than size
};
struct DedicatedEndpointSlot {
  rootd::EndpointKind kind = rootd::EndpointKind::DRIVER_LIFECYCLE;
  std::uint32_t slot = 0;
};
struct UntypedSlot {
  std::uint64_t base = 0;
  std::uint64_t size = 0;
  std::uint32_t slot = 0;
  bool device = false;
};
struct RootdLayout {
  std::uint32_t slot_count = kChildSlotCount;
  std::uint32_t first_free_slot = 64;
  // abi::kNoSlot: the lowest slot above the legacy slot 4 that is below
  // first_free_slot and named by nothing else.
  std::uint32_t root_endpoint_slot = abi::kNoSlot;
  std::uint32_t image_frame_slot = abi::kNoSlot;  // kNoSlot: no image frame
  std::uint64_t image_frame_size = 0;
  std::vector<ModuleImage> modules;
  std::vector<DedicatedEndpointSlot> endpoints;
  std::vector<UntypedSlot> untyped;
  std::uint32_t framebuffer_slot = abi::kNoSlot;
  // Tests: put an endpoint cap at the legacy slot 4, which rootd must refuse.
  bool populate_legacy_slot = false;
};

// The layout a kernel builds for a valid handoff. `module_bytes` supplies the
// contents of modules by name (those absent read as empty).
RootdLayout layout_from_handoff(const rootd::handoff::View& handoff,
                                const std::map<std::string, std::vector<char>, std::less<>>& module_bytes);

// A message waiting in the root endpoint's queue.
struct RootDelivery {
  Tick at = 0;  // tick it became deliverable
  abi::Message message;
};

struct ReportLine {
  Tick at = 0;
  Pid pid = kNoPid;  // kRootdPid for rootd's REPORT calls
  std::string text;
};

// A failed syscall, for diagnostics.
struct CallError {
  Tick at = 0;
  abi::Syscall syscall = abi::Syscall::REPORT;
  abi::KernelError error = abi::KernelError::OK;
  std::string what;
};

struct CapHolding {
  Pid pid = kNoPid;
  std::uint32_t slot = 0;
  Cap cap;
};

// What the audit finds; each list is sorted by pid then slot.
struct Audit {
  std::vector<CapHolding> caps;              // every cap of every process that is not destroyed
  std::vector<CapHolding> dangling;          // caps naming a destroyed process
  std::vector<CapHolding> orphaned;          // rootd's caps to an endpoint whose receivers are all gone
  std::vector<Pid> started_not_destroyed;    // every child started and not destroyed (any state)
  std::vector<Pid> dead_not_destroyed;       // children stopped or exited but never destroyed
  std::vector<Pid> never_started;            // children still staged: created, then abandoned
  // Authority nobody can account for: caps naming what is gone, and
  // processes that ended (or never began) without being destroyed.
  std::size_t leak_count() const {
    return dangling.size() + orphaned.size() + dead_not_destroyed.size() + never_started.size();
  }
};

class KernelModel;

// What a process is, decided when it is created.
struct Admission {
  Launcher launcher = Launcher::kernel_control;
  std::string module;  // module name of the image frame; empty for the boot image
  std::uint64_t identity = 0;
};
struct Admitted {
  abi::KernelError error = abi::KernelError::OK;  // non-OK: the creation fails with it
  std::string name;
  std::string role;
};

// A reply to a CALL that reached a simulated process.
struct CallReply {
  abi::Message message;
  std::optional<Cap> cap;  // lands in the caller's receive slot
};

// The simulated user space. The kernel model tells it what happens to
// processes and messages; it acts through KernelModel's public methods.
class ProcessBehaviour {
 public:
  virtual ~ProcessBehaviour() = default;
  // A process is about to be created (kernel control, procd, deviced).
  virtual Admitted admit(const Admission& admission) = 0;
  // The admitted process now exists (staged) with this pid.
  virtual void on_created(Pid pid, const Admitted& who) = 0;
  // START_PROCESS of a staged process: non-OK refuses the start.
  virtual abi::KernelError before_start(Pid pid) = 0;
  // A running process received a message on `endpoint` (SEND). Replies go to
  // rootd's root endpoint carrying `badge`.
  virtual void on_message(Pid receiver, ObjectId endpoint, const abi::Message& message,
                          std::uint64_t badge, const std::optional<Cap>& carried) = 0;
  // A running process received a CALL on `endpoint`; answer now. `carried`
  // is the copy that landed in its cspace (nullopt: none came, or it was
  // discarded).
  virtual CallReply on_call(Pid receiver, ObjectId endpoint, const abi::Message& message,
                            const std::optional<Cap>& carried) = 0;
  // The slot of `receiver`'s cspace where a cap carried in this CALL lands
  // (the slot its receive names); abi::kNoSlot discards the cap.
  virtual std::uint32_t carried_slot(Pid /*receiver*/, const abi::Message& /*message*/) { return abi::kNoSlot; }
};

struct ModelOptions {
  // Deliver Event::STARTED when a process starts. On by default: the kernel
  // reports every start; rootd must tolerate the events.
  bool started_events = true;
};

class KernelModel {
 public:
  explicit KernelModel(ModelOptions options = {});
  KernelModel(const KernelModel&) = delete;
  KernelModel& operator=(const KernelModel&) = delete;

  void attach(ProcessBehaviour* behaviour) { behaviour_ = behaviour; }

  // Creates rootd (pid 1, running) with its cspace at entry. Returns the root
  // endpoint slot (rootd's rdx). Fails on a layout no kernel would produce:
  // a slot named twice, beyond slot_count, or one of the fixed slots 0..3.
  Expected<std::uint32_t, std::string> boot_rootd(const RootdLayout& layout);

  // ---- rootd's syscalls: arguments as rootd's registers carry them --------
  abi::KernelError report(std::string_view text);
  abi::KernelError call(std::uint64_t endpoint_slot, abi::Message& message, std::uint64_t receive_slot);
  abi::KernelError send(std::uint64_t endpoint_slot, const abi::Message& message, std::uint64_t badge);
  abi::KernelError wait(std::uint64_t root_slot, abi::Message& message);
  abi::KernelError cap(std::uint64_t op, std::uint64_t source_slot, std::uint64_t space_slot,
                       std::uint64_t destination_slot, std::uint64_t rights);
  void park();
  // The bytes of a boot module as rootd sees them mapped at vaddr; empty
  // when [vaddr, vaddr + size) is not inside one module's known bytes.
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) const;

  // ---- for simulated processes --------------------------------------------
  Tick now() const { return now_; }
  void schedule(Tick at, std::function<void()> action);
  // Queues a message for rootd's root endpoint at the current tick.
  void post_to_root(const abi::Message& message);
  // A process event (rootd::protocol::ProcessEvent) for the root endpoint.
  void post_event(abi::Event event, Pid pid, std::uint64_t value);
  // A probe's completion message (PROBE_COMPLETED), sent through its own
  // SEND cap on the dedicated process-control endpoint. False, and nothing
  // sent, when the probe is not running or holds no such cap.
  bool post_from_probe(Pid probe, const abi::Message& message);
  // Creates a staged process (the caller has admitted it); `parent` is the
  // simulated process that made it.
  Pid create_process(const Admitted& who, const Admission& how, ObjectId image_frame, Pid parent = kNoPid);
  // A simulated process's CALL on its child-populate endpoint (at
  // `endpoint_slot` of its cspace; docs/kernel-abi.md): `request` is
  // protocol::encode(PopulateRequest, abi::kChildPopulateLabel). Copies the
  // cap at the request's source slot of the caller into a child the caller
  // made, COPY_ATTENUATED only (CAP_COPY is DENIED). Like every syscall, a
  // refused request changes nothing.
  abi::KernelError child_populate(Pid caller, std::uint32_t endpoint_slot, const abi::Message& request);
  // Staged -> running (the caller has checked the state).
  void start_process(Pid pid);
  // Running -> exited with `code`; delivers EXITED. No-op unless running.
  void exit_process(Pid pid, std::uint64_t code);
  void add_report(Pid pid, std::string text);
  // A process deletes the cap in one of its own slots (no-op when empty).
  void drop_cap(Pid pid, std::uint32_t slot) { remove(pid, slot); }
  // A simulated process puts `cap` into a cspace it may write (its own, or a
  // child's it made); an occupied slot is replaced.
  void give_cap(Pid pid, std::uint32_t slot, const Cap& cap) {
    remove(pid, slot);
    install(pid, slot, cap);
  }
  // A frame a simulated process made for itself (loaderd's copy of an
  // executable it read); not a boot module.
  ObjectId create_frame(std::uint64_t size);
  // A simulated launcher ends a process it made (any state but destroyed):
  // every cap in it goes, no event is delivered.
  void destroy_process(Pid pid);
  // Events of Launcher::loader processes, delivered to their launcher in
  // order (they never reach rootd's root endpoint).
  const std::vector<RootDelivery>& launcher_events() const { return launcher_events_; }

  // ---- queries -------------------------------------------------------------
  const Process* process(Pid pid) const;
  const std::map<Pid, Process>& processes() const { return processes_; }
  const EndpointObject* endpoint(ObjectId id) const;
  // The live process receiving on an endpoint, or kNoPid: where a simulated
  // process's call on a cap it holds would go.
  Pid receiver(ObjectId endpoint) const { return receiver_of(endpoint); }
  const FrameObject* frame(ObjectId id) const;
  std::uint32_t root_endpoint_slot() const { return root_slot_; }
  const std::vector<ReportLine>& reports() const { return reports_; }
  const std::vector<CallError>& errors() const { return errors_; }
  std::uint64_t kernel_calls() const { return kernel_calls_; }
  std::uint64_t calls_of(abi::Syscall syscall) const;
  std::uint64_t kernel_ops_of(abi::KernelOp op) const;
  // Who put the cap at (pid, slot) there through child-populate; kNoPid when
  // it came another way (or the slot is empty).
  Pid populated_by(Pid pid, std::uint32_t slot) const;
  std::uint64_t child_populates() const { return child_populates_; }
  // Attenuated copies rootd made into `pid`'s cspace (through a process cap
  // or an install grant).
  std::uint64_t rootd_copies_into(Pid pid) const;
  bool parked() const { return parked_; }
  // A WAIT or CALL that could never complete: rootd would block forever.
  bool hung() const { return !hung_reason_.empty(); }
  const std::string& hung_reason() const { return hung_reason_; }
  std::size_t pending_messages() const { return root_queue_.size() + process_queue_.size(); }
  std::size_t pending_actions() const { return agenda_.size(); }

  Audit audit() const;
  // Every cap of every process not destroyed, one per line, e.g.
  // "pid 2 memd slot 2224: endpoint#10[memory] rights=SEND|RECEIVE|GRANT".
  std::string describe_caps() const;
  // Every started child not destroyed, one per line with its state.
  std::string describe_processes() const;
  // The whole observable state except the counters and error log: two equal
  // dumps mean a call changed nothing.
  std::string state_dump() const;

 private:
  struct AgendaKey {
    Tick at = 0;
    std::uint64_t seq = 0;
    friend auto operator<=>(const AgendaKey&, const AgendaKey&) = default;
  };
  struct Held {  // a message for a staged receiver, handed over when it starts
    ObjectId endpoint = 0;
    abi::Message message;
    std::uint64_t badge = 0;
    std::optional<Cap> carried;
  };

  abi::KernelError fail(abi::Syscall syscall, abi::KernelError error, std::string what);
  // Decodes a kernel-control request (rootd::protocol::decode_kernel_request)
  // and runs it; `message` becomes the reply.
  abi::KernelError kernel_op(abi::Message& message);
  abi::KernelError op_create_endpoint(const rootd::protocol::KernelRequest& r, abi::Message& m);
  abi::KernelError op_create_staged(const rootd::protocol::KernelRequest& r, abi::Message& m);
  abi::KernelError op_register_pager(const rootd::protocol::KernelRequest& r, abi::Message& m);
  abi::KernelError op_map_frame(const rootd::protocol::KernelRequest& r, abi::Message& m);
  abi::KernelError op_start(const rootd::protocol::KernelRequest& r, abi::Message& m);
  abi::KernelError op_managed_stop(const rootd::protocol::KernelRequest& r, abi::Message& m);
  abi::KernelError op_destroy(const rootd::protocol::KernelRequest& r, abi::Message& m);
  // The process a cap of rootd's names for kernel-control (PROCESS cap with WRITE).
  abi::KernelError process_from_slot(std::uint64_t slot, Process*& out);
  abi::KernelError process_from_pid(std::uint64_t pid, Process*& out);
  // The cap at `slot` of rootd's cspace, or nullptr when out of range or empty.
  const Cap* rootd_cap(std::uint64_t slot) const;
  bool rootd_slot_free(std::uint64_t slot) const;
  // Validates msg.cap and msg.reserved; sets `carried` when a cap travels.
  abi::KernelError check_carried(const abi::Message& message, std::optional<Cap>& carried) const;
  // The live process receiving on an endpoint, or kNoPid.
  Pid receiver_of(ObjectId endpoint) const;
  void install(Pid pid, std::uint32_t slot, const Cap& cap);
  void remove(Pid pid, std::uint32_t slot);
  ObjectId new_object() { return next_object_++; }
  void run_due_actions();
  abi::KernelError deny_after_park(abi::Syscall syscall);

  ModelOptions options_;
  ProcessBehaviour* behaviour_ = nullptr;
  Tick now_ = 0;
  ObjectId next_object_ = 1;
  Pid next_pid_ = kRootdPid;
  std::uint64_t next_seq_ = 0;
  std::uint32_t root_slot_ = abi::kNoSlot;
  ObjectId root_endpoint_ = 0;

  std::map<Pid, Process> processes_;
  std::map<ObjectId, EndpointObject> endpoints_;
  std::map<ObjectId, FrameObject> frames_;
  std::map<ObjectId, UntypedObject> untyped_;
  std::vector<ModuleImage> module_bytes_;
  // endpoint -> (pid -> number of caps with RECEIVE it holds on it)
  std::map<ObjectId, std::map<Pid, std::uint32_t>> receivers_;
  std::map<Pid, std::deque<Held>> held_;
  std::map<AgendaKey, std::function<void()>> agenda_;
  std::deque<RootDelivery> root_queue_;
  // Events on the dedicated process-control endpoint for rootd's WAIT there:
  // a probe's (its completion and lifecycle).
  std::deque<RootDelivery> process_queue_;
  std::vector<RootDelivery> launcher_events_;
  std::vector<ReportLine> reports_;

  std::vector<CallError> errors_;
  std::uint64_t kernel_calls_ = 0;
  std::map<std::uint64_t, std::uint64_t> calls_by_syscall_;
  std::map<std::uint64_t, std::uint64_t> ops_;
  bool parked_ = false;
  std::string hung_reason_;
  std::map<std::pair<Pid, std::uint32_t>, Pid> populated_by_;
  std::uint64_t child_populates_ = 0;
  std::map<Pid, std::uint64_t> rootd_copies_;
};

// Human-readable names for diagnostics and the audit.
std::string rights_name(std::uint32_t rights);
std::string_view kernel_error_name(abi::KernelError error);

}  // namespace erix::sim
