// include/rootd/protocol.hpp (every message rootd exchanges), hooks.hpp's
// parse_hooks and drive.hpp's action loop. Most checks are static_assert
// tables: the encoders and decoders are constexpr, so a layout slip fails
// the build.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy_fixtures.hpp"
#include "rootd/abi.hpp"
#include "rootd/drive.hpp"
#include "rootd/hooks.hpp"
#include "rootd/protocol.hpp"

namespace abi = rootd::abi;
namespace protocol = rootd::protocol;
using rootd::Reason;
using rootd::boot::Hook;
using rootd::boot::HookRefusal;
using rootd::boot::parse_hooks;

namespace {

constexpr std::uint64_t label_of(abi::Envelope e) { return static_cast<std::uint64_t>(e); }
constexpr std::uint64_t label_of(abi::Event e) { return static_cast<std::uint64_t>(e); }
constexpr std::uint64_t label_of(abi::KernelOp op) { return static_cast<std::uint64_t>(op); }
constexpr std::uint64_t label_of(abi::ProcdOp op) { return static_cast<std::uint64_t>(op); }
constexpr std::uint64_t label_of(abi::DevicedOp op) { return static_cast<std::uint64_t>(op); }

// A message with `label` and the given words, no cap, no badge.
constexpr abi::Message raw(std::uint64_t label, std::array<std::uint64_t, 6> words = {}) {
  abi::Message m{};
  m.label = label;
  for (std::size_t i = 0; i < 6; ++i) m.words[i] = words[i];
  return m;
}

template <class T>
constexpr bool rejected_with(const rootd::Result<T>& r, Reason reason) {
  return !r.ok() && r.error().reason == reason;
}

}  // namespace

// ============================================================================
// DELIVER
// ============================================================================
namespace {

constexpr protocol::Deliver kDelivers[] = {
    {0, 0, 0, 0, 0, 0, 0},
    {3, 7, 16, 16, 48, 5, 0x0123456789ABCDEFULL},
    {0xFFFF, 0xFFFF, 0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU, ~std::uint64_t{0}},
    {12, 2, 64, 64, 64, 0, 1},  // an empty window is a window
};

constexpr bool deliver_round_trips() {
  for (const protocol::Deliver& d : kDelivers) {
    const abi::Message m = protocol::encode(d);
    const auto back = protocol::decode_deliver(m);
    if (!back.ok() || !(back.value() == d)) return false;
  }
  return true;
}
static_assert(deliver_round_trips());

// The layout word by word, as docs/kernel-abi.md states it.
constexpr bool deliver_layout() {
  const protocol::Deliver& d = kDelivers[1];
  const abi::Message m = protocol::encode(d);
  return m.label == 0x40 && m.badge == 0 && m.cap == abi::kNoSlot && m.reserved == 0 && m.words[0] == 3 &&
         m.words[1] == 7 && m.words[2] == 16 && m.words[3] == 0x0000003000000010ULL && m.words[4] == 5 &&
         m.words[5] == 0x0123456789ABCDEFULL;
}
static_assert(deliver_layout());

constexpr abi::Message good_deliver() { return protocol::encode(kDelivers[1]); }
constexpr abi::Message deliver_with_word(std::size_t i, std::uint64_t v) {
  abi::Message m = good_deliver();
  m.words[i] = v;
  return m;
}
constexpr abi::Message deliver_relabelled(std::uint64_t label) {
  abi::Message m = good_deliver();
  m.label = label;
  return m;
}
constexpr abi::Message deliver_carrying(std::uint32_t cap) {
  abi::Message m = good_deliver();
  m.cap = cap;
  return m;
}

constexpr Reason kBadHandshake = Reason::BOOT_HANDSHAKE_INVALID;
static_assert(protocol::decode_deliver(good_deliver()).ok());
// Wrong label.
static_assert(rejected_with(protocol::decode_deliver(deliver_relabelled(label_of(abi::Envelope::READY))), kBadHandshake));
static_assert(rejected_with(protocol::decode_deliver(deliver_relabelled(0)), kBadHandshake));
// Out-of-width words: identity and role are 16 bits, slots and counts 32.
static_assert(protocol::decode_deliver(deliver_with_word(0, 0xFFFF)).ok());
static_assert(rejected_with(protocol::decode_deliver(deliver_with_word(0, 0x10000)), kBadHandshake));
static_assert(protocol::decode_deliver(deliver_with_word(1, 0xFFFF)).ok());
static_assert(rejected_with(protocol::decode_deliver(deliver_with_word(1, 0x10000)), kBadHandshake));
static_assert(protocol::decode_deliver(deliver_with_word(2, 0xFFFFFFFFULL)).ok());
static_assert(rejected_with(protocol::decode_deliver(deliver_with_word(2, 0x100000000ULL)), kBadHandshake));
static_assert(protocol::decode_deliver(deliver_with_word(4, 0xFFFFFFFFULL)).ok());
static_assert(rejected_with(protocol::decode_deliver(deliver_with_word(4, 0x100000000ULL)), kBadHandshake));
// Reversed window: end below first.
static_assert(rejected_with(protocol::decode_deliver(deliver_with_word(3, 0x0000000F00000010ULL)), kBadHandshake));
static_assert(protocol::decode_deliver(deliver_with_word(3, 0x0000001000000010ULL)).ok());
// A DELIVER carries no cap.
static_assert(rejected_with(protocol::decode_deliver(deliver_carrying(0)), kBadHandshake));
static_assert(rejected_with(protocol::decode_deliver(deliver_carrying(17)), kBadHandshake));

}  // namespace

// ============================================================================
// Answers
// ============================================================================
namespace {

constexpr protocol::Answer kAnswers[] = {
    {protocol::AnswerKind::READY, 0},
    {protocol::AnswerKind::NOT_READY, 0},
    {protocol::AnswerKind::NOT_READY, 20},
    {protocol::AnswerKind::NOT_READY, ~std::uint64_t{0}},
};
constexpr bool answer_round_trips() {
  for (const protocol::Answer& a : kAnswers) {
    const auto back = protocol::decode_answer(protocol::encode(a));
    if (!back.ok() || !(back.value() == a)) return false;
  }
  return true;
}
static_assert(answer_round_trips());
static_assert(protocol::encode(kAnswers[0]).label == 0x41 && protocol::encode(kAnswers[0]).words[0] == 0);
static_assert(protocol::encode(kAnswers[2]).label == 0x42 && protocol::encode(kAnswers[2]).words[0] == 20);
static_assert(protocol::encode(kAnswers[2]).cap == abi::kNoSlot);
// Only READY and NOT_READY are answers.
static_assert(rejected_with(protocol::decode_answer(raw(label_of(abi::Envelope::DELIVER))), kBadHandshake));
static_assert(rejected_with(protocol::decode_answer(raw(0x4F)), kBadHandshake));
static_assert(rejected_with(protocol::decode_answer(raw(0x43)), kBadHandshake));
static_assert(rejected_with(protocol::decode_answer(raw(label_of(abi::Event::STARTED))), kBadHandshake));
static_assert(protocol::answer_badge(0) == abi::kReplyBadgeBase);
static_assert(protocol::answer_badge(2047) == abi::kReplyBadgeBase + 2047);

}  // namespace

// ============================================================================
// Process events and root-endpoint classification
// ============================================================================
namespace {

constexpr protocol::ProcessEvent kEvents[] = {
    {abi::Event::STARTED, 7, 0},
    {abi::Event::EXITED, 9, 14},
    {abi::Event::EXITED, 0xFFFFFFFFU, 0},
    {abi::Event::PROBE_COMPLETED, 12, 1},
};
constexpr bool event_round_trips() {
  for (const protocol::ProcessEvent& e : kEvents) {
    const abi::Message m = protocol::encode(e);
    if (m.badge != abi::kEventBadge) return false;
    const auto back = protocol::decode_event(m);
    if (!back.ok() || !(back.value() == e)) return false;
  }
  return true;
}
static_assert(event_round_trips());
static_assert(protocol::encode(kEvents[1]).label == 0x51 && protocol::encode(kEvents[1]).words[0] == 9 &&
              protocol::encode(kEvents[1]).words[1] == 14);

constexpr abi::Message event_message(std::uint64_t label, std::uint64_t badge, std::uint64_t pid) {
  abi::Message m = raw(label, {pid, 0, 0, 0, 0, 0});
  m.badge = badge;
  return m;
}
constexpr Reason kBadEvent = Reason::BOOT_UNEXPECTED_EVENT;
static_assert(protocol::decode_event(event_message(0x50, abi::kEventBadge, 1)).ok());
// Unknown event labels, on both sides of the known ones.
static_assert(rejected_with(protocol::decode_event(event_message(0x4F, abi::kEventBadge, 1)), kBadEvent));
static_assert(rejected_with(protocol::decode_event(event_message(0x53, abi::kEventBadge, 1)), kBadEvent));
static_assert(rejected_with(protocol::decode_event(event_message(0x41, abi::kEventBadge, 1)), kBadEvent));
// Not stamped by the kernel as an event.
static_assert(rejected_with(protocol::decode_event(event_message(0x50, abi::kReplyBadgeBase, 1)), kBadEvent));
static_assert(rejected_with(protocol::decode_event(event_message(0x50, 0, 1)), kBadEvent));
// A pid is 32 bits.
static_assert(protocol::decode_event(event_message(0x51, abi::kEventBadge, 0xFFFFFFFFULL)).ok());
static_assert(rejected_with(protocol::decode_event(event_message(0x51, abi::kEventBadge, 0x100000000ULL)), kBadEvent));

constexpr protocol::Inbound classified(std::uint64_t badge, std::size_t services) {
  abi::Message m{};
  m.badge = badge;
  return protocol::classify(m, services);
}
constexpr bool is(protocol::Inbound in, protocol::InboundKind kind, std::uint16_t service = 0xFFFF) {
  return in.kind == kind && in.service == service;
}
using protocol::InboundKind;
static_assert(is(classified(abi::kEventBadge, 4), InboundKind::EVENT));
static_assert(is(classified(abi::kEventBadge, 0), InboundKind::EVENT));
static_assert(is(classified(abi::kReplyBadgeBase, 4), InboundKind::ANSWER, 0));
static_assert(is(classified(abi::kReplyBadgeBase + 3, 4), InboundKind::ANSWER, 3));
static_assert(is(classified(abi::kReplyBadgeBase + 4, 4), InboundKind::UNKNOWN));  // one past the last service
static_assert(is(classified(abi::kReplyBadgeBase, 0), InboundKind::UNKNOWN));      // no services at all
static_assert(is(classified(abi::kReplyBadgeBase - 1, 4), InboundKind::UNKNOWN));
static_assert(is(classified(0, 4), InboundKind::UNKNOWN));
static_assert(is(classified(abi::kEventBadge + 1, 4), InboundKind::UNKNOWN));
static_assert(is(classified(abi::kReplyBadgeBase + 2047, 2048), InboundKind::ANSWER, 2047));
static_assert(is(classified(~std::uint64_t{0}, 2048), InboundKind::UNKNOWN));

}  // namespace

// ============================================================================
// Launch requests and replies (procd, deviced), call replies
// ============================================================================
namespace {

constexpr protocol::LaunchRequest kLaunches[] = {
    {label_of(abi::ProcdOp::CREATE_STAGED_PROCESS), 5, 201, 0},
    {label_of(abi::ProcdOp::START_STAGED_PROCESS), 0, abi::kNoSlot, 42},
    {label_of(abi::ProcdOp::START_STAGED_PROCESS), 0, abi::kNoSlot, 0xFFFFFFFFU},
    {label_of(abi::ProcdOp::SPAWN_PROBE), 0xFFFF, 300, 0},
    {label_of(abi::DevicedOp::START_DRIVER), 14, 0, 0},
};
constexpr bool launch_round_trips() {
  for (const protocol::LaunchRequest& r : kLaunches) {
    const auto back = protocol::decode_launch_request(protocol::encode(r));
    if (!back.ok() || !(back.value() == r)) return false;
  }
  return true;
}
static_assert(launch_round_trips());
static_assert(protocol::encode(kLaunches[0]).words[0] == 5 && protocol::encode(kLaunches[0]).cap == 201);
static_assert(protocol::encode(kLaunches[1]).words[0] == 42 && protocol::encode(kLaunches[1]).cap == abi::kNoSlot);

constexpr abi::Message launch_message(std::uint64_t label, std::uint64_t w0, std::uint32_t cap,
                                      std::uint64_t w1 = 0) {
  abi::Message m = raw(label, {w0, w1, 0, 0, 0, 0});
  m.cap = cap;
  return m;
}
constexpr std::uint64_t kCreate = label_of(abi::ProcdOp::CREATE_STAGED_PROCESS);
constexpr std::uint64_t kStart = label_of(abi::ProcdOp::START_STAGED_PROCESS);
constexpr std::uint64_t kDriver = label_of(abi::DevicedOp::START_DRIVER);
static_assert(protocol::is_launch_op(kCreate) && protocol::is_launch_op(kStart) && protocol::is_launch_op(kDriver));
static_assert(!protocol::is_launch_op(0x23) && !protocol::is_launch_op(0x31) && !protocol::is_launch_op(0));
static_assert(protocol::decode_launch_request(launch_message(kCreate, 1, 200)).ok());
static_assert(!protocol::decode_launch_request(launch_message(0x23, 1, 200)).ok());          // unknown op
static_assert(!protocol::decode_launch_request(launch_message(kCreate, 1, 200, 1)).ok());    // surplus word
static_assert(!protocol::decode_launch_request(launch_message(kCreate, 1, abi::kNoSlot)).ok());  // no image
static_assert(!protocol::decode_launch_request(launch_message(kDriver, 1, abi::kNoSlot)).ok());
static_assert(!protocol::decode_launch_request(launch_message(kCreate, 0x10000, 200)).ok());  // identity width
static_assert(!protocol::decode_launch_request(launch_message(kStart, 3, 200)).ok());        // start carries nothing
static_assert(!protocol::decode_launch_request(launch_message(kStart, 0x100000000ULL, abi::kNoSlot)).ok());
static_assert(!protocol::decode_launch_request(launch_message(kStart, 3, abi::kNoSlot, 9)).ok());

constexpr protocol::LaunchReply kReplies[] = {{7, abi::kNoSlot}, {0xFFFFFFFFU, 1030}, {0, 0}};
constexpr bool launch_reply_round_trips() {
  for (const protocol::LaunchReply& r : kReplies) {
    const abi::Message m = protocol::encode(r);
    if (m.label != abi::kReplyOk) return false;
    const auto back = protocol::decode_launch_reply(m);
    if (!back.ok() || !(back.value() == r)) return false;
  }
  return true;
}
static_assert(launch_reply_round_trips());
static_assert(rejected_with(protocol::decode_launch_reply(protocol::call_reply(abi::KernelError::DENIED)),
                            Reason::BOOT_SPAWN_FAILED));
static_assert(rejected_with(protocol::decode_launch_reply(raw(0, {0x100000000ULL, 0, 0, 0, 0, 0})),
                            Reason::BOOT_SPAWN_FAILED));

static_assert(protocol::call_reply(abi::KernelError::OK).label == abi::kReplyOk);
static_assert(protocol::call_reply(abi::KernelError::PEER_GONE).label == 6);
static_assert(protocol::call_reply(abi::KernelError::NO_MEMORY).words[0] == 0);

}  // namespace

// ============================================================================
// Kernel-control requests
// ============================================================================
namespace {

struct KernelCase {
  abi::KernelOp op;
  std::size_t arity;  // from abi.hpp's comments
};
constexpr KernelCase kKernelOps[] = {
    {abi::KernelOp::CREATE_ENDPOINT, 1}, {abi::KernelOp::CREATE_STAGED_PROCESS, 3},
    {abi::KernelOp::REGISTER_PAGER, 2},  {abi::KernelOp::MAP_FRAME, 2},
    {abi::KernelOp::START_PROCESS, 1},   {abi::KernelOp::MANAGED_STOP, 1},
    {abi::KernelOp::DESTROY_PROCESS, 1},
};

constexpr bool kernel_requests_round_trip() {
  for (const KernelCase& c : kKernelOps) {
    if (protocol::kernel_op_arity(label_of(c.op)) != c.arity) return false;
    std::uint64_t args[3] = {0, 0, 0};
    for (std::size_t i = 0; i < c.arity; ++i) args[i] = 0x1000 + i;
    const abi::Message m = protocol::kernel_request(c.op, args[0], args[1], args[2]);
    if (m.label != label_of(c.op) || m.cap != abi::kNoSlot) return false;
    const auto back = protocol::decode_kernel_request(m);
    if (!back.ok() || back.value().op != c.op) return false;
    for (std::size_t i = 0; i < 3; ++i) {
      if (back.value().args[i] != args[i]) return false;
    }
    // One word past the arity spoils it.
    abi::Message surplus = m;
    surplus.words[c.arity] = 1;
    if (protocol::decode_kernel_request(surplus).ok()) return false;
    abi::Message last = m;
    last.words[5] = 1;
    if (protocol::decode_kernel_request(last).ok()) return false;
    // So does a carried cap.
    abi::Message carrying = m;
    carrying.cap = 4;
    if (protocol::decode_kernel_request(carrying).ok()) return false;
  }
  return true;
}
static_assert(kernel_requests_round_trip());
static_assert(!protocol::is_kernel_op(0x0F) && !protocol::is_kernel_op(0x17) && !protocol::is_kernel_op(0));
static_assert(!protocol::decode_kernel_request(raw(0x17)).ok());
static_assert(!protocol::decode_kernel_request(raw(label_of(abi::ProcdOp::CREATE_STAGED_PROCESS))).ok());

}  // namespace

// ============================================================================
// Transfer digest
// ============================================================================
namespace {

struct T {
  std::uint32_t local_slot;
  std::uint32_t rights;
};

constexpr std::uint64_t ascending_digest(std::span<const T> sorted) {
  protocol::TransferDigest d;
  for (const T& t : sorted) d.add(t.local_slot, t.rights);
  return d.value();
}

constexpr T kSorted[] = {{1, 2}, {3, 0x1B}, {9, 1}, {16, 0x3F}, {0xFFFFFFF0U, 8}};
constexpr T kShuffled[] = {{16, 0x3F}, {1, 2}, {0xFFFFFFF0U, 8}, {9, 1}, {3, 0x1B}};
constexpr T kReversed[] = {{0xFFFFFFF0U, 8}, {16, 0x3F}, {9, 1}, {3, 0x1B}, {1, 2}};

static_assert(protocol::transfer_digest(std::span<const T>(kSorted)) == ascending_digest(kSorted));
static_assert(protocol::transfer_digest(std::span<const T>(kShuffled)) == ascending_digest(kSorted));
static_assert(protocol::transfer_digest(std::span<const T>(kReversed)) == ascending_digest(kSorted));

// Known answers, computed outside this code base from the algorithm in
// docs/kernel-abi.md (64-bit FNV-1a, offset basis 0xcbf29ce484222325,
// prime 0x100000001b3, slot then rights as 8 little-endian bytes each).
static_assert(protocol::TransferDigest{}.value() == 0xcbf29ce484222325ULL);
static_assert(protocol::transfer_digest(std::span<const T>()) == 0xcbf29ce484222325ULL);
constexpr T kOne[] = {{1, 3}};
static_assert(protocol::transfer_digest(std::span<const T>(kOne)) == 0x96125f0c6eb82a87ULL);
constexpr T kTwoReversed[] = {{9, 1}, {3, 0x1B}};
static_assert(protocol::transfer_digest(std::span<const T>(kTwoReversed)) == 0xe2f6fabd5436b4b5ULL);

// The digest sees every slot and every rights bit.
constexpr T kOtherRights[] = {{1, 2}, {3, 0x1A}, {9, 1}, {16, 0x3F}, {0xFFFFFFF0U, 8}};
constexpr T kOtherSlot[] = {{1, 2}, {3, 0x1B}, {10, 1}, {16, 0x3F}, {0xFFFFFFF0U, 8}};
constexpr T kSwapped[] = {{1, 0x1B}, {3, 2}, {9, 1}, {16, 0x3F}, {0xFFFFFFF0U, 8}};
static_assert(ascending_digest(kOtherRights) != ascending_digest(kSorted));
static_assert(ascending_digest(kOtherSlot) != ascending_digest(kSorted));
static_assert(ascending_digest(kSwapped) != ascending_digest(kSorted));
static_assert(ascending_digest(std::span<const T>(kSorted, 4)) != ascending_digest(kSorted));

}  // namespace

TEST_CASE("the transfer digest is the documented FNV-1a, whatever the order it is given in") {
  // A byte-wise FNV-1a over an explicit byte string, independent of protocol.hpp.
  auto fnv1a = [](const std::vector<std::uint8_t>& bytes) {
    std::uint64_t h = 14695981039346656037ULL;
    for (std::uint8_t b : bytes) h = (h ^ b) * 1099511628211ULL;
    return h;
  };
  std::vector<T> table = {{40, 0x01}, {2, 0x12}, {33, 0x3F}, {7, 0x08}, {5, 0x02}};
  std::vector<T> sorted = table;
  std::sort(sorted.begin(), sorted.end(), [](const T& a, const T& b) { return a.local_slot < b.local_slot; });
  std::vector<std::uint8_t> bytes;
  for (const T& t : sorted) {
    for (std::uint64_t v : {std::uint64_t{t.local_slot}, std::uint64_t{t.rights}}) {
      for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
  }
  const std::uint64_t expected = fnv1a(bytes);
  std::sort(table.begin(), table.end(), [](const T& a, const T& b) { return a.rights > b.rights; });
  do {
    CHECK(protocol::transfer_digest(std::span<const T>(table)) == expected);
  } while (std::next_permutation(table.begin(), table.end(),
                                 [](const T& a, const T& b) { return a.local_slot < b.local_slot; }));
  CHECK(ascending_digest(sorted) == expected);
}

// ============================================================================
// Hook text
// ============================================================================
namespace {

constexpr bool hooks_are(std::string_view text, Hook hook, std::string_view service = {}) {
  const auto p = parse_hooks(text);
  return p.ok() && p.hooks.hook == hook && p.hooks.service == service;
}
constexpr bool refused(std::string_view text, HookRefusal why, std::uint32_t offset) {
  const auto p = parse_hooks(text);
  return !p.ok() && p.refusal == why && p.offset == offset && p.hooks.hook == Hook::NONE && p.hooks.service.empty();
}

// Every hook, bare and with the trailing blanks a module file may end in.
static_assert(hooks_are("force-fail", Hook::FORCE_FAIL));
static_assert(hooks_are("force-fail\n", Hook::FORCE_FAIL));
static_assert(hooks_are("force-fail  \n\n ", Hook::FORCE_FAIL));
static_assert(hooks_are("force-service-fail:logd", Hook::FORCE_SERVICE_FAIL, "logd"));
static_assert(hooks_are("force-service-fail:drv-virtio-block\n", Hook::FORCE_SERVICE_FAIL, "drv-virtio-block"));
static_assert(hooks_are("force-spawn-fail:memd \n", Hook::FORCE_SPAWN_FAIL, "memd"));
static_assert(hooks_are("probed-omit-primary-control", Hook::PROBED_OMIT_PRIMARY));
static_assert(hooks_are("probed-misroute-primary-control\n", Hook::PROBED_MISROUTE_PRIMARY));
// Service names: 1..31 of [a-z0-9-].
static_assert(hooks_are("force-spawn-fail:abcdefghijklmnopqrstuvwxyz01234", Hook::FORCE_SPAWN_FAIL,
                        "abcdefghijklmnopqrstuvwxyz01234"));
static_assert(hooks_are("force-spawn-fail:a", Hook::FORCE_SPAWN_FAIL, "a"));

// Nothing there.
static_assert(refused("", HookRefusal::EMPTY, 0));
static_assert(refused("\n", HookRefusal::EMPTY, 0));
static_assert(refused("  \n ", HookRefusal::EMPTY, 0));
// Unknown names: misspelt, wrong case, leading blank, other trailing bytes.
static_assert(refused("force-fial", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused("FORCE-FAIL", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused(" force-fail", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused("force-fail\t", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused("force-fail\r\n", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused("force", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused(":logd", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused("force-fail\nforce-fail", HookRefusal::UNKNOWN_HOOK, 0));
static_assert(refused("unknown:logd", HookRefusal::UNKNOWN_HOOK, 0));
// A hook that names a service without one.
static_assert(refused("force-service-fail", HookRefusal::MISSING_SERVICE, 18));
static_assert(refused("force-spawn-fail\n", HookRefusal::MISSING_SERVICE, 16));
// A hook that names no service, with one (even an empty one).
static_assert(refused("force-fail:logd", HookRefusal::SURPLUS_SERVICE, 10));
static_assert(refused("force-fail:", HookRefusal::SURPLUS_SERVICE, 10));
static_assert(refused("probed-omit-primary-control:probed", HookRefusal::SURPLUS_SERVICE, 27));
// Service parts that are no service name.
static_assert(refused("force-service-fail:", HookRefusal::BAD_SERVICE_NAME, 19));
static_assert(refused("force-service-fail:Logd", HookRefusal::BAD_SERVICE_NAME, 19));
static_assert(refused("force-service-fail:log_d", HookRefusal::BAD_SERVICE_NAME, 19));
static_assert(refused("force-service-fail:logd:x", HookRefusal::BAD_SERVICE_NAME, 19));
static_assert(refused("force-spawn-fail: logd", HookRefusal::BAD_SERVICE_NAME, 17));
static_assert(refused("force-spawn-fail:abcdefghijklmnopqrstuvwxyz012345", HookRefusal::BAD_SERVICE_NAME, 17));

// What the engine receives: the hooks, or the refusal with no hook at all,
// so a refused text can never act as a hook.
static_assert(rootd::boot::engine_hooks(parse_hooks("force-spawn-fail:logd")) ==
              rootd::boot::Hooks{Hook::FORCE_SPAWN_FAIL, "logd", HookRefusal::NONE});
static_assert(rootd::boot::engine_hooks(parse_hooks("force-fail:logd")) ==
              rootd::boot::Hooks{Hook::NONE, {}, HookRefusal::SURPLUS_SERVICE});
static_assert(rootd::boot::engine_hooks(parse_hooks("")).refusal == HookRefusal::EMPTY);
static_assert(rootd::boot::hook_refusal_reason(HookRefusal::NONE) == rootd::Reason::NONE);
static_assert(rootd::boot::hook_refusal_reason(HookRefusal::UNKNOWN_HOOK) == rootd::Reason::HOOK_UNKNOWN);

// Each refusal has a name of its own.
constexpr bool refusal_names_distinct() {
  constexpr HookRefusal all[] = {HookRefusal::NONE,           HookRefusal::EMPTY,
                                 HookRefusal::UNKNOWN_HOOK,   HookRefusal::MISSING_SERVICE,
                                 HookRefusal::SURPLUS_SERVICE, HookRefusal::BAD_SERVICE_NAME};
  for (std::size_t i = 0; i < std::size(all); ++i) {
    if (rootd::boot::hook_refusal_name(all[i]) == "?") return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (rootd::boot::hook_refusal_name(all[i]) == rootd::boot::hook_refusal_name(all[j])) return false;
    }
  }
  return true;
}
static_assert(refusal_names_distinct());

// The hooks module is found by name in the handoff.
constexpr std::string_view kWithHooks[] = {"boot-config", "memd", "rootd-hooks"};
constexpr std::string_view kWithoutHooks[] = {"boot-config", "memd", "rootd-hooksx"};
constexpr bool hooks_module_found() {
  const auto with = fixtures::make_handoff(kWithHooks);
  const auto view = rootd::handoff::parse(with.view());
  if (!view.ok()) return false;
  const auto m = rootd::boot::find_hooks_module(view.value());
  if (!m.has_value() || m->name != "rootd-hooks" || m->vaddr != view.value().module(2).vaddr) return false;
  const auto without = fixtures::make_handoff(kWithoutHooks);
  const auto other = rootd::handoff::parse(without.view());
  return other.ok() && !rootd::boot::find_hooks_module(other.value()).has_value();
}
static_assert(hooks_module_found());

}  // namespace

// ============================================================================
// drive(): the one action loop, with a scripted engine and performer
// ============================================================================
namespace {

using rootd::boot::Action;
using rootd::boot::ActionKind;
using rootd::boot::Outcome;

// Emits `script` in order (then PARK forever) and keeps every outcome.
template <std::size_t N>
struct ScriptedEngine {
  std::array<Action, N> script{};
  std::size_t next = 0;
  std::array<Outcome, N> outcomes{};
  std::size_t completed = 0;
  Action park{};

  constexpr const Action& action() const { return next < N ? script[next] : park; }
  constexpr void complete(const Outcome& o) {
    outcomes[completed++] = o;
    ++next;
  }
};

// Records which member ran with what, and answers from a script.
struct ScriptedPerformer {
  std::array<char, 16> calls{};  // one letter per member, in call order
  std::size_t count = 0;
  std::uint64_t args[16][5] = {};
  const char* module_base = nullptr;

  constexpr void note(char c, std::uint64_t a = 0, std::uint64_t b = 0, std::uint64_t d = 0, std::uint64_t e = 0,
                      std::uint64_t f = 0) {
    args[count][0] = a;
    args[count][1] = b;
    args[count][2] = d;
    args[count][3] = e;
    args[count][4] = f;
    calls[count++] = c;
  }
  constexpr abi::KernelError report(std::string_view line) {
    note('r', line.size(), static_cast<std::uint64_t>(line[0]));
    return abi::KernelError::OK;
  }
  constexpr rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) {
    note('m', vaddr, size);
    return rootd::Bytes(module_base, static_cast<std::size_t>(size));
  }
  constexpr abi::KernelError call(std::uint32_t slot, abi::Message& inout, std::uint32_t recv_slot) {
    note('c', slot, inout.label, recv_slot);
    inout = protocol::encode(protocol::LaunchReply{77, recv_slot});
    return abi::KernelError::OK;
  }
  constexpr abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) {
    note('s', slot, m.label, badge);
    return abi::KernelError::PEER_GONE;
  }
  constexpr abi::KernelError wait(std::uint32_t slot, abi::Message& out) {
    note('w', slot, out.label);
    out = protocol::encode(protocol::Answer{protocol::AnswerKind::READY, 0});
    out.badge = protocol::answer_badge(3);
    return abi::KernelError::OK;
  }
  constexpr abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t dst_space, std::uint32_t dst,
                                 std::uint32_t rights) {
    note('k', static_cast<std::uint64_t>(op), src, dst_space, dst, rights);
    return abi::KernelError::DENIED;
  }
  constexpr void park() { note('p'); }
};

constexpr std::array<Action, 6> every_kind() {
  std::array<Action, 6> s{};
  s[0].kind = ActionKind::REPORT;
  s[0].text[0] = 'E';
  s[0].text[1] = 'R';
  s[0].text_length = 2;
  s[1].kind = ActionKind::READ_MODULE;
  s[1].vaddr = 0x10000000;
  s[1].size = 3;
  s[2].kind = ActionKind::CALL;
  s[2].slot = 1;
  s[2].message = protocol::kernel_request(abi::KernelOp::CREATE_ENDPOINT, 1030);
  s[2].recv_slot = 1031;
  s[3].kind = ActionKind::SEND;
  s[3].slot = 1030;
  s[3].message = protocol::encode(protocol::Deliver{});
  s[3].badge = protocol::answer_badge(3);
  s[4].kind = ActionKind::WAIT;
  s[4].slot = 5;
  s[5].kind = ActionKind::CAP;
  s[5].cap_op = abi::CapOp::COPY_ATTENUATED;
  s[5].src = 10;
  s[5].dst_space = 11;
  s[5].dst = 12;
  s[5].rights = 0x3;
  return s;
}

constexpr char kModuleText[] = "cfg";

constexpr bool drive_maps_each_action_once() {
  ScriptedEngine<6> engine{every_kind()};
  ScriptedPerformer performer;
  performer.module_base = kModuleText;
  const std::uint64_t performed = rootd::boot::drive(engine, performer);
  if (performed != 7 || engine.completed != 6 || performer.count != 7) return false;
  if (std::string_view(performer.calls.data(), 7) != "rmcswkp") return false;
  // Arguments reach the performer unchanged.
  const auto& a = performer.args;
  if (a[0][0] != 2 || a[0][1] != 'E') return false;
  if (a[1][0] != 0x10000000 || a[1][1] != 3) return false;
  if (a[2][0] != 1 || a[2][1] != label_of(abi::KernelOp::CREATE_ENDPOINT) || a[2][2] != 1031) return false;
  if (a[3][0] != 1030 || a[3][1] != label_of(abi::Envelope::DELIVER) || a[3][2] != protocol::answer_badge(3)) {
    return false;
  }
  if (a[4][0] != 5) return false;
  if (a[5][0] != 9 || a[5][1] != 10 || a[5][2] != 11 || a[5][3] != 12 || a[5][4] != 3) return false;
  // Results reach the engine.
  const auto& o = engine.outcomes;
  if (o[0].error != abi::KernelError::OK) return false;
  if (o[1].module.size() != 3 || o[1].module.data() != kModuleText) return false;
  const auto reply = protocol::decode_launch_reply(o[2].message);
  if (!reply.ok() || reply.value().pid != 77 || reply.value().grant != 1031) return false;
  if (o[3].error != abi::KernelError::PEER_GONE) return false;
  if (protocol::classify(o[4].message, 4).service != 3 || !protocol::decode_answer(o[4].message).ok()) return false;
  if (o[5].error != abi::KernelError::DENIED) return false;
  return true;
}
static_assert(drive_maps_each_action_once());

// An engine that never parks stops at the bound, and park() is not called.
struct RestlessEngine {
  Action report{};
  std::uint64_t completed = 0;
  constexpr RestlessEngine() {
    report.kind = ActionKind::REPORT;
    report.text[0] = 'x';
    report.text_length = 1;
  }
  constexpr const Action& action() const { return report; }
  constexpr void complete(const Outcome&) { ++completed; }
};
constexpr bool drive_stops_at_the_bound() {
  RestlessEngine engine;
  ScriptedPerformer performer;
  const std::uint64_t performed = rootd::boot::drive(engine, performer, 5);
  return performed == 5 && engine.completed == 5 && performer.count == 5 &&
         std::string_view(performer.calls.data(), 5) == "rrrrr";
}
static_assert(drive_stops_at_the_bound());

// PARK first: nothing is performed but park(), and the count includes it.
constexpr bool drive_parks_at_once() {
  ScriptedEngine<0> engine;
  ScriptedPerformer performer;
  return rootd::boot::drive(engine, performer) == 1 && performer.count == 1 && performer.calls[0] == 'p' &&
         engine.completed == 0;
}
static_assert(drive_parks_at_once());

// A bound of one stops at the first action even when it is PARK.
constexpr bool drive_bound_counts_park() {
  ScriptedEngine<0> engine;
  ScriptedPerformer performer;
  return rootd::boot::drive(engine, performer, 1) == 1 && performer.count == 1;
}
static_assert(drive_bound_counts_park());

}  // namespace

TEST_CASE("drive() feeds a call's reply back through the message it sent") {
  // perform() starts a CALL's in/out message as the action's message: a
  // performer that leaves it alone hands the request back unchanged.
  struct EchoPerformer : ScriptedPerformer {
    abi::KernelError call(std::uint32_t, abi::Message&, std::uint32_t) { return abi::KernelError::OK; }
  };
  Action a;
  a.kind = ActionKind::CALL;
  a.message = protocol::kernel_request(abi::KernelOp::MAP_FRAME, 1, 2);
  EchoPerformer performer;
  const Outcome out = rootd::boot::perform(a, performer);
  CHECK(out.error == abi::KernelError::OK);
  CHECK(out.message.label == label_of(abi::KernelOp::MAP_FRAME));
  CHECK(out.message.words[0] == 1);
  CHECK(out.message.words[1] == 2);
}
