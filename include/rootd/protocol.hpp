// The messages rootd exchanges with the services it starts, each with one
// constexpr encoder and one decoder. The engine encodes what it sends and
// decodes what it receives through this header; the simulated services and
// the kernel model use the same functions for the other side, so a message
// is never packed by hand on one side and unpacked by hand on the other.
// docs/kernel-abi.md describes the same layouts in prose.
//
// Kernel-control calls are plain requests (abi::KernelOp plus up to three
// argument words) and are encoded here too, for the same reason.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>
#include <span>

#include "rootd/abi.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::protocol {

// ---- transfer digest ---------------------------------------------------------
//
// FNV-1a over a service's transfer table: for each transfer in ascending
// local-slot order, its local slot and then its rights, each as 8
// little-endian bytes. The service computes the same over what it holds, so
// equal digests mean it holds exactly what rootd copied.
class TransferDigest {
 public:
  // Transfers must be added in strictly ascending local-slot order.
  constexpr void add(std::uint32_t local_slot, std::uint32_t rights) {
    mix(local_slot);
    mix(rights);
  }
  constexpr std::uint64_t value() const { return hash_; }

 private:
  constexpr void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      hash_ ^= (v >> (8 * i)) & 0xFFU;
      hash_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// The digest of transfers given in any order (T has `local_slot` and
// `rights`; local slots are distinct, which envelope validation
// guarantees). Quadratic in the count, which is bounded by the envelope
// capacity, and needs no scratch memory.
template <class T>
constexpr std::uint64_t transfer_digest(std::span<const T> transfers) {
  TransferDigest digest;
  bool first = true;
  std::uint32_t previous = 0;
  for (std::size_t round = 0; round < transfers.size(); ++round) {
    std::size_t best = transfers.size();
    for (std::size_t i = 0; i < transfers.size(); ++i) {
      const std::uint32_t slot = transfers[i].local_slot;
      if (!first && slot <= previous) continue;
      if (best == transfers.size() || slot < transfers[best].local_slot) best = i;
    }
    if (best == transfers.size()) break;
    digest.add(transfers[best].local_slot, transfers[best].rights);
    previous = transfers[best].local_slot;
    first = false;
  }
  return digest.value();
}

// ---- DELIVER: rootd -> service, SEND on the service's endpoint -----------------

struct Deliver {
  std::uint16_t identity = 0;              // the service's index in the boot config
  std::uint16_t role = 0;                  // role index in the catalog
  std::uint32_t control_slot = 0;          // local slot of its primary control endpoint
  std::uint32_t window_first = 0;          // its local slot window [first, end)
  std::uint32_t window_end = 0;
  std::uint32_t transfer_count = 0;        // caps rootd copied into its cspace
  std::uint64_t digest = 0;                // TransferDigest over them

  friend constexpr bool operator==(const Deliver&, const Deliver&) = default;
};

constexpr abi::Message encode(const Deliver& d) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(abi::Envelope::DELIVER);
  m.words[0] = d.identity;
  m.words[1] = d.role;
  m.words[2] = d.control_slot;
  m.words[3] = d.window_first | (static_cast<std::uint64_t>(d.window_end) << 32);
  m.words[4] = d.transfer_count;
  m.words[5] = d.digest;
  return m;
}

// A DELIVER whose fields do not fit their widths, or that carries a cap, is
// malformed: nothing is truncated silently.
constexpr Result<Deliver> decode_deliver(const abi::Message& m) {
  const Error bad{Reason::BOOT_HANDSHAKE_INVALID, 0};
  if (m.label != static_cast<std::uint64_t>(abi::Envelope::DELIVER) || m.cap != abi::kNoSlot) return bad;
  if (m.words[0] > 0xFFFFU || m.words[1] > 0xFFFFU || m.words[2] > 0xFFFFFFFFU || m.words[4] > 0xFFFFFFFFU) {
    return bad;
  }
  Deliver d;
  d.identity = static_cast<std::uint16_t>(m.words[0]);
  d.role = static_cast<std::uint16_t>(m.words[1]);
  d.control_slot = static_cast<std::uint32_t>(m.words[2]);
  d.window_first = static_cast<std::uint32_t>(m.words[3] & 0xFFFFFFFFU);
  d.window_end = static_cast<std::uint32_t>(m.words[3] >> 32);
  if (d.window_end < d.window_first) return bad;
  d.transfer_count = static_cast<std::uint32_t>(m.words[4]);
  d.digest = m.words[5];
  return d;
}

// ---- answers: service -> rootd, on the root endpoint ----------------------------
//
// A service answers its DELIVER by SEND to rootd's root endpoint; the kernel
// stamps the badge rootd chose for that service (kReplyBadgeBase + index).

enum class AnswerKind : std::uint8_t { READY, NOT_READY };

struct Answer {
  AnswerKind kind = AnswerKind::READY;
  std::uint64_t service_reason = 0;  // NOT_READY: the service's own reason code

  friend constexpr bool operator==(const Answer&, const Answer&) = default;
};

constexpr abi::Message encode(const Answer& a) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(a.kind == AnswerKind::READY ? abi::Envelope::READY : abi::Envelope::NOT_READY);
  if (a.kind == AnswerKind::NOT_READY) m.words[0] = a.service_reason;
  return m;
}

constexpr Result<Answer> decode_answer(const abi::Message& m) {
  if (m.label == static_cast<std::uint64_t>(abi::Envelope::READY)) return Answer{AnswerKind::READY, 0};
  if (m.label == static_cast<std::uint64_t>(abi::Envelope::NOT_READY)) {
    return Answer{AnswerKind::NOT_READY, m.words[0]};
  }
  return Error{Reason::BOOT_HANDSHAKE_INVALID, 0};
}

constexpr std::uint64_t answer_badge(std::uint16_t service) { return abi::kReplyBadgeBase + service; }

// ---- process events: kernel (or procd) -> rootd, on the root endpoint --------------

struct ProcessEvent {
  abi::Event kind = abi::Event::STARTED;
  std::uint32_t pid = 0;
  std::uint64_t value = 0;  // EXITED: exit code (0 clean); PROBE_COMPLETED: result (0 pass)

  friend constexpr bool operator==(const ProcessEvent&, const ProcessEvent&) = default;
};

constexpr abi::Message encode(const ProcessEvent& e) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(e.kind);
  m.badge = abi::kEventBadge;
  m.words[0] = e.pid;
  m.words[1] = e.value;
  return m;
}

constexpr Result<ProcessEvent> decode_event(const abi::Message& m) {
  const Error bad{Reason::BOOT_UNEXPECTED_EVENT, 0};
  if (m.badge != abi::kEventBadge || m.words[0] > 0xFFFFFFFFU) return bad;
  ProcessEvent e;
  switch (static_cast<abi::Event>(m.label)) {
    case abi::Event::STARTED:
    case abi::Event::EXITED:
    case abi::Event::PROBE_COMPLETED: e.kind = static_cast<abi::Event>(m.label); break;
    default: return bad;
  }
  e.pid = static_cast<std::uint32_t>(m.words[0]);
  e.value = m.words[1];
  return e;
}

// ---- what arrives on the root endpoint ---------------------------------------------

enum class InboundKind : std::uint8_t { EVENT, ANSWER, UNKNOWN };

struct Inbound {
  InboundKind kind = InboundKind::UNKNOWN;
  std::uint16_t service = 0xFFFF;  // ANSWER: the answering service's index
};

// Sorts a root-endpoint message by its badge; `services` is the number of
// services in the boot config (answer badges beyond it are unknown).
constexpr Inbound classify(const abi::Message& m, std::size_t services) {
  if (m.badge == abi::kEventBadge) return {InboundKind::EVENT, 0xFFFF};
  if (m.badge >= abi::kReplyBadgeBase && m.badge - abi::kReplyBadgeBase < services) {
    return {InboundKind::ANSWER, static_cast<std::uint16_t>(m.badge - abi::kReplyBadgeBase)};
  }
  return {};
}

// ---- launch requests: rootd -> procd / deviced, CALL on their service endpoints ----

struct LaunchRequest {
  std::uint64_t op = 0;          // abi::ProcdOp or abi::DevicedOp value
  std::uint16_t identity = 0;    // the service's index
  std::uint32_t image_frame = abi::kNoSlot;  // carried: the service's image frame (rootd's slot)
  std::uint32_t pid = 0;         // START_STAGED_PROCESS only
  std::uint32_t transfer_count = 0;  // START_DRIVER only: the driver's envelope,
  std::uint64_t digest = 0;          //   which deviced populates

  friend constexpr bool operator==(const LaunchRequest&, const LaunchRequest&) = default;
};

constexpr abi::Message encode(const LaunchRequest& r) {
  abi::Message m{};
  m.label = r.op;
  if (r.op == static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS)) {
    m.words[0] = r.pid;
  } else {
    m.words[0] = r.identity;
    m.cap = r.image_frame;
  }
  if (r.op == static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER)) {
    m.words[1] = r.transfer_count;
    m.words[2] = r.digest;
  }
  return m;
}

// Whether `label` names an operation procd or deviced serves.
constexpr bool is_launch_op(std::uint64_t label) {
  return label == static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS) ||
         label == static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS) ||
         label == static_cast<std::uint64_t>(abi::ProcdOp::SPAWN_PROBE) ||
         label == static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER);
}

// The launcher's side. A request whose operation is unknown, whose words do
// not fit their fields, whose unused words are not zero, or that carries a
// cap where none belongs (or none where the image frame belongs) is
// malformed; the launcher answers INVALID_ARGUMENT (UNKNOWN_OPERATION for an
// unknown operation: check is_launch_op first to tell the two apart).
constexpr Result<LaunchRequest> decode_launch_request(const abi::Message& m) {
  const Error bad{Reason::BOOT_SPAWN_FAILED, 0};
  if (!is_launch_op(m.label)) return bad;
  const bool driver = m.label == static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER);
  for (std::size_t i = driver ? 3 : 1; i < 6; ++i) {
    if (m.words[i] != 0) return bad;
  }
  LaunchRequest r;
  r.op = m.label;
  if (driver) {
    if (m.words[1] > 0xFFFFFFFFU) return bad;
    r.transfer_count = static_cast<std::uint32_t>(m.words[1]);
    r.digest = m.words[2];
  }
  if (m.label == static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS)) {
    if (m.cap != abi::kNoSlot || m.words[0] > 0xFFFFFFFFU) return bad;
    r.pid = static_cast<std::uint32_t>(m.words[0]);
    return r;
  }
  if (m.cap == abi::kNoSlot || m.words[0] > 0xFFFFU) return bad;
  r.identity = static_cast<std::uint16_t>(m.words[0]);
  r.image_frame = m.cap;
  return r;
}

// The reply of a launch call (kernel CREATE_STAGED_PROCESS, procd's
// CREATE_STAGED_PROCESS and SPAWN_PROBE, deviced's START_DRIVER): a process
// id and, for staged launches, the startup-cap install grant the launcher
// put into rootd's receive slot. The launcher encodes it with no grant
// (kNoSlot): the kernel fills `cap` with the receive slot when a cap came
// back.
struct LaunchReply {
  std::uint32_t pid = 0;
  std::uint32_t grant = abi::kNoSlot;

  friend constexpr bool operator==(const LaunchReply&, const LaunchReply&) = default;
};

constexpr abi::Message encode(const LaunchReply& r) {
  abi::Message m{};
  m.label = abi::kReplyOk;
  m.words[0] = r.pid;
  m.cap = r.grant;
  return m;
}

constexpr Result<LaunchReply> decode_launch_reply(const abi::Message& m) {
  if (m.label != abi::kReplyOk || m.words[0] > 0xFFFFFFFFU) return Error{Reason::BOOT_SPAWN_FAILED, 0};
  return LaunchReply{static_cast<std::uint32_t>(m.words[0]), m.cap};
}

// ---- driver population ---------------------------------------------------------
//
// deviced POPULATE_DRIVER (rootd -> deviced) and the kernel's child-populate
// (deviced -> kernel, label abi::kChildPopulateLabel) carry the same words:
// copy the cap at `source` of the caller's cspace into `child`'s at
// `destination` with `rights`, by `op`. rootd always names COPY_ATTENUATED;
// the kernel refuses CAP_COPY on this path.
struct PopulateRequest {
  std::uint32_t child = 0;        // pid
  std::uint32_t source = 0;       // slot in the caller's cspace
  std::uint32_t destination = 0;  // slot in the child's cspace
  std::uint32_t rights = 0;
  abi::CapOp op = abi::CapOp::COPY_ATTENUATED;
  friend constexpr bool operator==(const PopulateRequest&, const PopulateRequest&) = default;
};

constexpr abi::Message encode(const PopulateRequest& r, std::uint64_t label) {
  abi::Message m{};
  m.label = label;
  m.words[0] = r.child;
  m.words[1] = r.source;
  m.words[2] = r.destination;
  m.words[3] = r.rights;
  m.words[4] = static_cast<std::uint64_t>(r.op);
  return m;
}

// A word beyond its field, w5, or a carried cap is malformed.
constexpr Result<PopulateRequest> decode_populate(const abi::Message& m, std::uint64_t label) {
  const Error bad{Reason::BOOT_DRIVER_POPULATE_FAILED, 0};
  if (m.label != label || m.cap != abi::kNoSlot || m.words[5] != 0 || m.words[4] > 0xFF) return bad;
  for (std::size_t i = 0; i < 4; ++i) {
    if (m.words[i] > 0xFFFFFFFFU) return bad;
  }
  return PopulateRequest{static_cast<std::uint32_t>(m.words[0]), static_cast<std::uint32_t>(m.words[1]),
                         static_cast<std::uint32_t>(m.words[2]), static_cast<std::uint32_t>(m.words[3]),
                         static_cast<abi::CapOp>(m.words[4])};
}

// ---- call replies without a payload ------------------------------------------------
//
// Every CALL reply's label is kReplyOk (0) or the KernelError the callee
// refused with; replies other than LaunchReply carry nothing else.
constexpr abi::Message call_reply(abi::KernelError e) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(e);
  return m;
}

// ---- kernel control: rootd -> kernel, CALL on kernel-control -----------------------

constexpr abi::Message kernel_request(abi::KernelOp op, std::uint64_t w0 = 0, std::uint64_t w1 = 0,
                                      std::uint64_t w2 = 0) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(op);
  m.words[0] = w0;
  m.words[1] = w1;
  m.words[2] = w2;
  return m;
}

// How many argument words each kernel-control operation takes (abi.hpp);
// 0 for a label that is no kernel operation.
constexpr std::size_t kernel_op_arity(std::uint64_t label) {
  switch (static_cast<abi::KernelOp>(label)) {
    case abi::KernelOp::CREATE_ENDPOINT: return 1;
    case abi::KernelOp::CREATE_STAGED_PROCESS: return 3;
    case abi::KernelOp::REGISTER_PAGER: return 2;
    case abi::KernelOp::MAP_FRAME: return 2;
    case abi::KernelOp::START_PROCESS: return 1;
    case abi::KernelOp::MANAGED_STOP: return 1;
    case abi::KernelOp::DESTROY_PROCESS: return 1;
  }
  return 0;
}
constexpr bool is_kernel_op(std::uint64_t label) { return kernel_op_arity(label) != 0; }

struct KernelRequest {
  abi::KernelOp op = abi::KernelOp::CREATE_ENDPOINT;
  std::uint64_t args[3] = {0, 0, 0};  // beyond the op's arity: zero

  friend constexpr bool operator==(const KernelRequest&, const KernelRequest&) = default;
};

// The kernel's side. An unknown operation, a non-zero word beyond the
// operation's arity, or a carried cap is malformed; the kernel answers
// UNKNOWN_OPERATION for the first (check is_kernel_op) and INVALID_ARGUMENT
// for the others.
constexpr Result<KernelRequest> decode_kernel_request(const abi::Message& m) {
  const Error bad{Reason::INTERNAL_STATE, 0};
  const std::size_t arity = kernel_op_arity(m.label);
  if (arity == 0 || m.cap != abi::kNoSlot) return bad;
  KernelRequest r;
  r.op = static_cast<abi::KernelOp>(m.label);
  for (std::size_t i = 0; i < 6; ++i) {
    if (i < arity) {
      r.args[i] = m.words[i];
    } else if (m.words[i] != 0) {
      return bad;
    }
  }
  return r;
}

// ---- storage: blockd's partition table, CALL on blockd's service endpoint -------------
//
// (The storage intent chunks are encoded by storage_intent.hpp, which owns
// their bytes.)

inline constexpr std::size_t kPartitionBitmapWords = 4;
inline constexpr std::uint32_t kMaxBitmapPartition = 64 * kPartitionBitmapWords;  // partitions 1..256
inline constexpr std::uint64_t kPartitionTableHasGpt = 1;

constexpr abi::Message partition_table_request() {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(abi::BlockdOp::PARTITION_TABLE);
  return m;
}

// Whether `m` is exactly a PARTITION_TABLE request (blockd's side).
constexpr bool is_partition_table_request(const abi::Message& m) {
  if (m.label != static_cast<std::uint64_t>(abi::BlockdOp::PARTITION_TABLE) || m.cap != abi::kNoSlot) return false;
  for (std::uint64_t w : m.words) {
    if (w != 0) return false;
  }
  return true;
}

struct PartitionTable {
  bool gpt = false;
  std::uint64_t name_space = 0;  // 0: blockd has no namespace for the disk
  std::uint64_t in_use[kPartitionBitmapWords] = {};

  // GPT partition numbers count from 1.
  constexpr bool has(std::uint32_t partition) const {
    if (partition == 0 || partition > kMaxBitmapPartition) return false;
    const std::uint32_t bit = partition - 1;
    return ((in_use[bit / 64] >> (bit % 64)) & 1U) != 0;
  }
  constexpr void add(std::uint32_t partition) {
    if (partition == 0 || partition > kMaxBitmapPartition) return;
    const std::uint32_t bit = partition - 1;
    in_use[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
};

constexpr abi::Message encode(const PartitionTable& t) {
  abi::Message m{};
  m.label = abi::kReplyOk;
  m.words[0] = t.gpt ? kPartitionTableHasGpt : 0;
  m.words[1] = t.name_space;
  for (std::size_t i = 0; i < kPartitionBitmapWords; ++i) m.words[2 + i] = t.in_use[i];
  return m;
}

// rootd's side: a refused call, unknown flags, a carried cap, or entries in
// use on a disk without a GPT are malformed.
constexpr Result<PartitionTable> decode_partition_table(const abi::Message& m) {
  const Error bad{Reason::BOOT_STORAGE_QUERY_FAILED, 0};
  if (m.label != abi::kReplyOk || m.cap != abi::kNoSlot || (m.words[0] & ~kPartitionTableHasGpt) != 0) return bad;
  PartitionTable t;
  t.gpt = m.words[0] == kPartitionTableHasGpt;
  t.name_space = m.words[1];
  for (std::size_t i = 0; i < kPartitionBitmapWords; ++i) {
    t.in_use[i] = m.words[2 + i];
    if (!t.gpt && t.in_use[i] != 0) return bad;
  }
  return t;
}

}  // namespace rootd::protocol
