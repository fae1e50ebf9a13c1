// The kernel interface rootd uses: the contract the EriX kernel (and the
// simulator's kernel model) must honour. docs/kernel-abi.md is the prose
// form of this header; both change together.
//
// Syscall convention (x86_64): `syscall` with the number in rax and
// arguments in rdi, rsi, rdx, r10, r8, r9. rax returns a KernelError (0 on
// success). Messages travel through memory: the caller passes a pointer to
// a Message, which the kernel reads and, for CALL and WAIT, overwrites with
// the reply.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

namespace rootd::abi {

enum class Syscall : std::uint64_t {
  REPORT = 1,  // rdi = text, rsi = length: one report line (no newline)
  CALL = 2,    // rdi = endpoint slot, rsi = Message*, rdx = receive slot: send, block for the reply
  SEND = 3,    // rdi = endpoint slot, rsi = Message*, rdx = badge: send; the reply arrives later
               //   on rootd's root endpoint carrying `badge`
  WAIT = 4,    // rdi = root endpoint slot, rsi = Message*: block for the next reply or event
  CAP = 5,     // rdi = CapOp, rsi = source slot, rdx = destination space slot,
               //   r10 = destination slot, r8 = rights
  PARK = 6,    // never returns: rootd's last call
  EXIT = 7,    // rdi = exit code: services end their process with it; rootd never calls it
};

enum class KernelError : std::uint64_t {
  OK = 0,
  INVALID_SLOT = 1,     // a slot is out of range, empty where a cap is needed, or full
  INVALID_ARGUMENT = 2,  // a malformed message or argument
  DENIED = 3,            // the cap lacks the right, or the operation is not allowed
  NO_MEMORY = 4,
  UNKNOWN_OPERATION = 5,
  PEER_GONE = 6,  // the endpoint's receiver no longer exists
};

// Capability operations. CAP_COPY (8) exists in the kernel's numbering but is
// reserved: a full-rights copy would let rootd hand out authority it cannot
// account for, so the kernel denies it and rootd never issues it. Transfers
// are attenuated copies: the rights of the copy are the given mask ANDed with
// the source's rights.
enum class CapOp : std::uint64_t {
  COPY = 8,  // reserved, always DENIED
  COPY_ATTENUATED = 9,
  DELETE = 10,  // rsi = slot in rootd's own cspace; other arguments zero
};

// Rights bits of a capability.
enum Rights : std::uint32_t {
  RIGHT_SEND = 1U << 0,
  RIGHT_RECEIVE = 1U << 1,
  RIGHT_GRANT = 1U << 2,  // may carry a cap in a message
  RIGHT_READ = 1U << 3,   // frames
  RIGHT_WRITE = 1U << 4,  // frames
  RIGHT_EXECUTE = 1U << 5,
};
inline constexpr std::uint32_t kAllRights = 0x3F;

// Names of the rights bits, in bit order: plans, docs and audits print them.
struct RightName {
  std::uint32_t bit;
  const char* name;
};
inline constexpr RightName kRightNames[] = {
    {RIGHT_SEND, "send"}, {RIGHT_RECEIVE, "receive"}, {RIGHT_GRANT, "grant"},
    {RIGHT_READ, "read"}, {RIGHT_WRITE, "write"},     {RIGHT_EXECUTE, "execute"},
};

// Fixed slots of rootd's cspace at entry. Everything else the kernel put
// there is described by the handoff; the root endpoint's slot arrives in rdx.
inline constexpr std::uint32_t kNullSlot = 0;
inline constexpr std::uint32_t kKernelControlSlot = 1;
inline constexpr std::uint32_t kSelfCspaceSlot = 2;
inline constexpr std::uint32_t kSelfVspaceSlot = 3;
// Slot 4 is the legacy compatibility alias: it must be empty (endpoints.hpp).
inline constexpr std::uint32_t kNoSlot = 0xFFFFFFFFU;

// Local slot, in every service's own cspace, of the service endpoint on
// which it receives its startup envelope and answers ready.
inline constexpr std::uint32_t kServiceEndpointLocalSlot = 1;

// An IPC message. Layout pinned below: the kernel reads it from memory.
struct Message {
  std::uint64_t label = 0;  // operation (request) or reply code
  std::uint64_t badge = 0;  // set by the kernel on delivery: who sent it
  std::uint64_t words[6] = {0, 0, 0, 0, 0, 0};
  std::uint32_t cap = kNoSlot;  // send: slot of a cap to carry; receive: slot it landed in
  std::uint32_t reserved = 0;
};
inline constexpr std::size_t kMessageSize = 72;
static_assert(sizeof(Message) == kMessageSize);
static_assert(offsetof(Message, label) == 0);
static_assert(offsetof(Message, badge) == 8);
static_assert(offsetof(Message, words) == 16);
static_assert(offsetof(Message, cap) == 64);
static_assert(offsetof(Message, reserved) == 68);

// Badges on messages that arrive at rootd's root endpoint.
inline constexpr std::uint64_t kEventBadge = 0xE0E0'0000'0000'0000ULL;  // process events
inline constexpr std::uint64_t kReplyBadgeBase = 0x5E00'0000'0000'0000ULL;  // + service index

// Kernel-control operations: CALL on kKernelControlSlot.
enum class KernelOp : std::uint64_t {
  CREATE_ENDPOINT = 0x10,         // w0 = destination slot in rootd
  CREATE_STAGED_PROCESS = 0x11,   // w0 = image frame slot, w1 = process cap slot, w2 = identity
                                  //   reply w0 = pid
  REGISTER_PAGER = 0x12,          // w0 = process slot, w1 = pager endpoint slot
  MAP_FRAME = 0x13,               // w0 = process slot, w1 = frame slot
  START_PROCESS = 0x14,           // w0 = process slot
  MANAGED_STOP = 0x15,            // w0 = pid: ask it to stop; the EXITED event follows
  DESTROY_PROCESS = 0x16,         // w0 = pid: free a stopped or never-started process
};

// procd operations: CALL on procd's service endpoint once procd is READY.
enum class ProcdOp : std::uint64_t {
  CREATE_STAGED_PROCESS = 0x20,  // cap = image frame, w0 = identity
                                 //   reply w0 = pid, cap = startup-cap install grant
  START_STAGED_PROCESS = 0x21,   // w0 = pid
  SPAWN_PROBE = 0x22,            // cap = image frame, w0 = identity; reply w0 = pid
};

// deviced operations: CALL on deviced's service endpoint once deviced is READY.
enum class DevicedOp : std::uint64_t {
  START_DRIVER = 0x30,     // cap = image frame, w0 = identity, w1 = transfer count,
                           //   w2 = transfer digest (the driver's envelope);
                           //   reply w0 = pid, no cap: the driver is staged
  POPULATE_DRIVER = 0x31,  // w0 = driver pid, w1 = deviced's staging slot,
                           //   w2 = driver's local slot, w3 = rights, w4 = CapOp;
                           //   deviced copies the staged cap into the driver through
                           //   its child-populate endpoint and drops it; after the
                           //   envelope's last transfer it starts the driver
};

// The kernel's child-populate operation: CALL on the dedicated
// child-populate endpoint (EndpointKind::CHILD_POPULATE, SEND only, held by
// deviced). w0 = child pid, w1 = source slot in the caller's cspace,
// w2 = destination slot in the child's, w3 = rights, w4 = CapOp; only
// COPY_ATTENUATED is served (CAP_COPY is DENIED), and only into a child the
// caller started.
inline constexpr std::uint64_t kChildPopulateLabel = 0x60;

// Process events, with kEventBadge: on the root endpoint, except a probe's
// (STARTED, EXITED and its PROBE_COMPLETED), which arrive on the
// process-control endpoint (docs/kernel-abi.md section 8).
enum class Event : std::uint64_t {
  STARTED = 0x50,          // w0 = pid
  EXITED = 0x51,           // w0 = pid, w1 = exit code (0 clean, else fault or error)
  PROBE_COMPLETED = 0x52,  // w0 = pid, w1 = result (0 pass)
};

// Startup envelope delivery (SEND on the service's endpoint) and the answer.
enum class Envelope : std::uint64_t {
  DELIVER = 0x40,    // w0 = identity, w1 = role index, w2 = primary control local slot,
                     // w3 = local window (lo | hi << 32), w4 = transfer count,
                     // w5 = digest of the transfer table
  READY = 0x41,      // the service took its envelope and serves
  NOT_READY = 0x42,  // w0 = the service's own reason
};

// ---- storage (docs/storage-intent.md) ----

// After DELIVER, vfsd and every filesystem service that serves a provider
// receive their storage intent as chunks, SENT on the same endpoint with the
// same badge; they answer READY or NOT_READY only once the last chunk is in.
enum class StorageIntent : std::uint64_t {
  CHUNK = 0x43,  // w0 = chunk index | intent length << 32, w1..w5 = 40 intent bytes
};

// blockd operations: CALL on blockd's service endpoint once blockd is READY.
enum class BlockdOp : std::uint64_t {
  PARTITION_TABLE = 0x60,  // no arguments; reply w0 = flags (bit 0: the disk has a GPT),
                           //   w1 = namespace id (0: no namespace), w2..w5 = bitmap of
                           //   the GPT entries in use: bit (n - 1) of the 256 for partition n
};

// Reply labels of CALLs: 0 on success, else a KernelError value.
inline constexpr std::uint64_t kReplyOk = 0;

}  // namespace rootd::abi
