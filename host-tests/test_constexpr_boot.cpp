// A whole boot in a constant expression: the boot engine (with a capacity
// of 16 services) brings up a nine-service graph, deviced and a driver
// included, against a scripted kernel that lives in the same constant
// evaluation. The config and the handoff are built at compile time with the
// real writers, and every transfer the engine makes is checked against a
// table written out by hand from the envelope rules (include/rootd/envelope.hpp:
// service endpoint at local slot 1, peers from 2048, image frame at 2096,
// dedicated endpoints at their canonical slots), not computed by the
// engine's own synthesis.
//
// A second boot in which one service answers NOT_READY checks that the
// engine fails closed, also at compile time. Both functions run at run time
// too, so a failure shows which field is off.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "policy_fixtures.hpp"
#include "rootd/boot.hpp"
#include "rootd/protocol.hpp"

namespace {

namespace abi = rootd::abi;
using rootd::Bytes;
using rootd::Reason;
using rootd::Status;
using fixtures::Launch;
using fixtures::ServiceDesc;

// ---- the system --------------------------------------------------------------------

inline constexpr std::string_view kLogdPeer[] = {"logd"};
inline constexpr std::string_view kDevicedPeer[] = {"deviced"};

inline constexpr ServiceDesc kServices[] = {
    {"memd", "memd", "memd"},
    {"vspaced", "vspaced", "vspaced"},
    {"pagerd", "pagerd", "pagerd"},
    {"procd", "procd", "procd"},
    {"logd", "logd", "logd"},
    {"timed", "timed", "timed", Launch::ROOTD, {}, kLogdPeer},
    {"fbcond", "fbcond", "fbcond", Launch::ROOTD, {}, kLogdPeer},
    {"deviced", "deviced", "deviced"},
    {"drv-serial", "drv-serial", "drv-serial", Launch::DEVICED, {}, kDevicedPeer},
};
inline constexpr rootd::bcfg::ConfigDesc kSystem{"none", kServices, {}, {}};
inline constexpr std::size_t kServiceCount = 9;
constexpr auto kConfig = fixtures::compile(kSystem);
static_assert(kConfig.size > 0, "the nine-service config compiles");

inline constexpr std::uint32_t kSlotCount = 8192;
inline constexpr std::uint32_t kFirstFree = 4096;
inline constexpr std::uint32_t kImageFrame = 10;
inline constexpr std::uint32_t kUntyped = 200;
inline constexpr std::uint32_t kRootSlot = 300;
inline constexpr std::uint64_t kModuleBase = 0x4000'0000;
inline constexpr std::uint64_t kModuleStride = 0x10000;

// boot-config first, then the images: names in canonical order.
inline constexpr std::string_view kModules[] = {"boot-config", "deviced", "drv-serial", "fbcond", "logd",
                                                "memd",        "pagerd",  "procd",      "timed",  "vspaced"};
inline constexpr std::size_t kModuleCount = 10;

constexpr fixtures::Blob<fixtures::kHandoffBytes> make_handoff() {
  fixtures::Blob<fixtures::kHandoffBytes> b;
  rootd::handoff::Builder builder(b.bytes);
  builder.cspace({kSlotCount, kFirstFree});
  builder.image_frame({kImageFrame, 64 * 4096});
  for (std::uint32_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    const auto kind = static_cast<rootd::EndpointKind>(k);
    builder.endpoint({kind, rootd::endpoint_info(kind).local_slot});
  }
  for (std::uint32_t m = 0; m < kModuleCount; ++m) {
    const std::uint64_t size = m == 0 ? kConfig.size : 4096;
    builder.module({kModules[m], kModuleBase + kModuleStride * m, size, 100 + m});
  }
  builder.untyped({0x100000, 0x100000, kUntyped, false});
  const rootd::Result<std::size_t> size = builder.finish();
  if (size) {
    b.size = *size;
  } else {
    b.error = size.error();
  }
  return b;
}
constexpr auto kHandoff = make_handoff();
static_assert(kHandoff.size > 0, "the handoff builds");

// ---- what the engine must copy, by hand -----------------------------------------------

inline constexpr std::uint32_t SRG = abi::RIGHT_SEND | abi::RIGHT_RECEIVE | abi::RIGHT_GRANT;
inline constexpr std::uint32_t SG = abi::RIGHT_SEND | abi::RIGHT_GRANT;
inline constexpr std::uint32_t S = abi::RIGHT_SEND;
inline constexpr std::uint32_t RX = abi::RIGHT_READ | abi::RIGHT_EXECUTE;

// Service i's retained endpoint is rootd's slot kFirstFree + i, i its index
// in name order: deviced 0, drv-serial 1, fbcond 2, logd 3, memd 4,
// pagerd 5, procd 6, timed 7, vspaced 8.
constexpr std::uint32_t retained(std::uint32_t i) { return kFirstFree + i; }

struct Copy {
  std::string_view service;
  std::uint32_t local = 0;   // slot in the service's cspace
  std::uint32_t source = 0;  // slot in rootd's cspace
  std::uint32_t rights = 0;
};

inline constexpr Copy kExpected[] = {
    {"memd", 1, retained(4), SRG},
    {"memd", 2224, 2224, SRG},  // memory
    {"vspaced", 1, retained(8), SRG},
    {"vspaced", 2240, 2240, SRG},  // vspace
    {"pagerd", 1, retained(5), SRG},
    {"pagerd", 2096, kImageFrame, RX},
    {"pagerd", 2256, 2256, SRG},  // pager
    {"procd", 1, retained(6), SRG},
    {"procd", 2096, kImageFrame, RX},
    {"procd", 2112, 2112, SRG},  // driver lifecycle: procd serves it
    {"procd", 2288, 2288, SRG},  // process control
    {"deviced", 1, retained(0), SRG},
    {"deviced", 2112, 2112, SG},    // driver lifecycle: deviced calls in
    {"deviced", 2272, 2272, SRG},   // log query
    {"deviced", 2304, 2304, S},     // child populate
    {"logd", 1, retained(3), SRG},
    {"timed", 1, retained(7), SRG},
    {"timed", 2048, retained(3), SG},  // peer logd
    {"timed", 2128, 2128, SRG},        // time control
    {"fbcond", 1, retained(2), SRG},
    {"fbcond", 2048, retained(3), SG},  // peer logd
    {"fbcond", 2192, 2192, SRG},        // console
    {"drv-serial", 1, retained(1), SRG},
    {"drv-serial", 2048, retained(0), SG},  // peer deviced
    {"drv-serial", 2208, 2208, SRG},        // com1
};
inline constexpr std::size_t kExpectedCount = sizeof(kExpected) / sizeof(Copy);

// Everything rootd holds for the boot and must delete before READY: the
// untyped cap, 15 dedicated endpoints, 10 module frames, the image frame,
// and per service its retained endpoint plus a process cap (4 foundation
// services) or an install grant (the 4 procd launches; deviced gives none
// for its driver).
inline constexpr std::size_t kExpectedDeletes = 1 + 15 + kModuleCount + 1 + kServiceCount + 4 + 4;

// ---- the scripted kernel ---------------------------------------------------------------

struct Process {
  std::uint16_t identity = 0;
  std::uint32_t pid = 0;
  std::uint32_t space = 0;  // rootd's slot through which caps go in: process cap or install grant
};

struct Recorded {
  std::uint16_t identity = 0;
  std::uint32_t local_slot = 0;
  std::uint32_t source = 0;
  std::uint32_t rights = 0;
};

// A Performer for drive(): creates endpoints and processes, records every
// attenuated copy (a driver's as deviced populates it from its staging
// slot), checks each DELIVER against what was copied and answers
// READY (NOT_READY for the service `refuse` names), posts a STARTED event
// for every process that starts and an EXITED event for every one asked to
// stop.
class ScriptedKernel {
 public:
  constexpr abi::KernelError report(std::string_view) {
    ++reports;
    return abi::KernelError::OK;
  }
  constexpr Bytes read_module(std::uint64_t vaddr, std::uint64_t size) {
    if (vaddr != kModuleBase || size != kConfig.size) return fault();
    return kConfig.view();
  }

  constexpr abi::KernelError call(std::uint32_t slot, abi::Message& m, std::uint32_t recv) {
    const abi::Message request = m;
    m = abi::Message{};
    m.label = abi::kReplyOk;
    if (slot == abi::kKernelControlSlot) return kernel(request, m);
    if (!is_endpoint(slot)) return fault_error();
    switch (request.label) {
      case static_cast<std::uint64_t>(abi::ProcdOp::CREATE_STAGED_PROCESS): {
        m.words[0] = spawn(static_cast<std::uint16_t>(request.words[0]), recv);
        m.cap = recv;
        return abi::KernelError::OK;
      }
      case static_cast<std::uint64_t>(abi::DevicedOp::START_DRIVER): {
        // No grant comes back: the driver is staged until deviced has populated it.
        if (recv != abi::kNoSlot) return fault_error();
        m.words[0] = spawn(static_cast<std::uint16_t>(request.words[0]), 0);
        m.cap = abi::kNoSlot;
        driver_pid = static_cast<std::uint32_t>(m.words[0]);
        driver_transfers = static_cast<std::uint32_t>(request.words[1]);
        return abi::KernelError::OK;
      }
      case static_cast<std::uint64_t>(abi::DevicedOp::POPULATE_DRIVER): {
        const auto r = rootd::protocol::decode_populate(request, request.label);
        const Process* driver = r.ok() ? by_pid(r.value().child) : nullptr;
        if (driver == nullptr || driver->pid != driver_pid || !staged || r.value().source != rootd::kPopulateStagingSlot ||
            r.value().rights != staged_copy.rights || copy_count == 64) {
          return fault_error();
        }
        copies[copy_count++] = Recorded{driver->identity, r.value().destination, staged_copy.source, r.value().rights};
        staged = false;
        if (++populated == driver_transfers) post_started(driver->pid);
        return abi::KernelError::OK;
      }
      case static_cast<std::uint64_t>(abi::ProcdOp::START_STAGED_PROCESS):
        post_started(static_cast<std::uint32_t>(request.words[0]));
        return abi::KernelError::OK;
      default: return fault_error();
    }
  }

  constexpr abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) {
    const rootd::Result<rootd::protocol::Deliver> d = rootd::protocol::decode_deliver(m);
    if (!is_endpoint(slot) || !d.ok() || badge != rootd::protocol::answer_badge(d.value().identity)) {
      return fault_error();
    }
    ++delivers;
    // What this service holds, as it would compute it.
    Recorded held[64] = {};
    std::size_t count = 0;
    for (std::size_t i = 0; i < copy_count; ++i) {
      if (copies[i].identity == d.value().identity) held[count++] = copies[i];
    }
    const std::uint64_t digest = rootd::protocol::transfer_digest(std::span<const Recorded>(held, count));
    const bool matches = count == d.value().transfer_count && digest == d.value().digest;
    const bool ready = matches && d.value().identity != refuse;
    rootd::protocol::Answer answer{ready ? rootd::protocol::AnswerKind::READY : rootd::protocol::AnswerKind::NOT_READY,
                                   0};
    abi::Message reply = rootd::protocol::encode(answer);
    reply.badge = badge;
    push(reply);
    return abi::KernelError::OK;
  }

  constexpr abi::KernelError wait(std::uint32_t slot, abi::Message& out) {
    if (slot != kRootSlot || head == tail) return fault_error();
    out = inbox[head++];
    if (out.badge >= abi::kReplyBadgeBase && out.badge - abi::kReplyBadgeBase < kServiceCount) {
      answered[out.badge - abi::kReplyBadgeBase] = true;
    }
    return abi::KernelError::OK;
  }

  constexpr abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                                 std::uint32_t rights) {
    if (op == abi::CapOp::DELETE) {
      ++deletes;
      // The plan sheds untyped memory once deviced (index 0) is READY.
      if (src == kUntyped) untyped_shed_after_deviced = answered[0];
      return abi::KernelError::OK;
    }
    if (op != abi::CapOp::COPY_ATTENUATED || copy_count == 64) return fault_error();
    const Process* p = by_space(space);
    if (p == nullptr) return fault_error();
    // A copy into deviced's staging slot is on its way to the driver.
    if (dst == rootd::kPopulateStagingSlot) {
      if (staged) return fault_error();
      staged = true;
      staged_copy = Recorded{p->identity, dst, src, rights};
      return abi::KernelError::OK;
    }
    copies[copy_count++] = Recorded{p->identity, dst, src, rights};
    return abi::KernelError::OK;
  }

  constexpr void park() { parked = true; }

  std::uint16_t refuse = 0xFFFF;  // the service that answers NOT_READY
  Recorded copies[64] = {};
  std::size_t copy_count = 0;
  std::size_t delivers = 0;
  std::size_t deletes = 0;
  std::size_t reports = 0;
  std::size_t stopped = 0;
  std::size_t destroyed = 0;
  bool answered[kServiceCount] = {};
  bool untyped_shed_after_deviced = false;
  std::uint32_t driver_pid = 0;        // the driver deviced is populating
  std::uint32_t driver_transfers = 0;  // its envelope's count (START_DRIVER w1)
  std::uint32_t populated = 0;
  bool staged = false;  // a cap sits in deviced's staging slot
  Recorded staged_copy{};
  bool parked = false;
  bool faulted = false;

 private:
  constexpr abi::KernelError kernel(const abi::Message& request, abi::Message& reply) {
    const std::uint64_t w0 = request.words[0];
    switch (static_cast<abi::KernelOp>(request.label)) {
      case abi::KernelOp::CREATE_ENDPOINT:
        if (endpoint_count == 32) return fault_error();
        endpoints[endpoint_count++] = static_cast<std::uint32_t>(w0);
        return abi::KernelError::OK;
      case abi::KernelOp::CREATE_STAGED_PROCESS:
        reply.words[0] = spawn(static_cast<std::uint16_t>(request.words[2]), static_cast<std::uint32_t>(request.words[1]));
        return abi::KernelError::OK;
      case abi::KernelOp::REGISTER_PAGER:
      case abi::KernelOp::MAP_FRAME:
        return by_space(static_cast<std::uint32_t>(w0)) != nullptr ? abi::KernelError::OK : fault_error();
      case abi::KernelOp::START_PROCESS: {
        const Process* p = by_space(static_cast<std::uint32_t>(w0));
        if (p == nullptr) return fault_error();
        post_started(p->pid);
        return abi::KernelError::OK;
      }
      case abi::KernelOp::MANAGED_STOP:
        ++stopped;
        push(rootd::protocol::encode(
            rootd::protocol::ProcessEvent{abi::Event::EXITED, static_cast<std::uint32_t>(w0), 0}));
        return abi::KernelError::OK;
      case abi::KernelOp::DESTROY_PROCESS: ++destroyed; return abi::KernelError::OK;
    }
    return fault_error();
  }

  constexpr std::uint32_t spawn(std::uint16_t identity, std::uint32_t space) {
    if (process_count == kServiceCount) {
      faulted = true;
      return 0;
    }
    const std::uint32_t pid = 100 + static_cast<std::uint32_t>(process_count);
    processes[process_count++] = Process{identity, pid, space};
    return pid;
  }
  constexpr void post_started(std::uint32_t pid) {
    push(rootd::protocol::encode(rootd::protocol::ProcessEvent{abi::Event::STARTED, pid, 0}));
  }
  constexpr void push(const abi::Message& m) {
    if (tail == 64) {
      faulted = true;
      return;
    }
    inbox[tail++] = m;
  }
  constexpr const Process* by_pid(std::uint32_t pid) const {
    for (std::size_t i = 0; i < process_count; ++i) {
      if (processes[i].pid == pid) return &processes[i];
    }
    return nullptr;
  }
  constexpr const Process* by_space(std::uint32_t space) const {
    for (std::size_t i = 0; i < process_count; ++i) {
      if (processes[i].space == space) return &processes[i];
    }
    return nullptr;
  }
  constexpr bool is_endpoint(std::uint32_t slot) const {
    for (std::size_t i = 0; i < endpoint_count; ++i) {
      if (endpoints[i] == slot) return true;
    }
    return false;
  }
  constexpr Bytes fault() {
    faulted = true;
    return {};
  }
  constexpr abi::KernelError fault_error() {
    faulted = true;
    return abi::KernelError::INVALID_ARGUMENT;
  }

  Process processes[kServiceCount] = {};
  std::size_t process_count = 0;
  std::uint32_t endpoints[32] = {};
  std::size_t endpoint_count = 0;
  abi::Message inbox[64] = {};
  std::size_t head = 0;
  std::size_t tail = 0;
};

// ---- the boot ----------------------------------------------------------------------------

struct BootSummary {
  Status status = Status::INTERNAL_ERROR;
  Reason reason = Reason::NONE;
  std::uint64_t actions = 0;
  bool parked = false;
  bool faulted = false;
  std::size_t copies = 0;
  std::size_t expected_found = 0;  // expected copies made exactly once
  std::size_t delivers = 0;
  std::size_t deletes = 0;
  bool untyped_shed_after_deviced = false;
  std::size_t planned_transfers = 0;

  constexpr bool booted() const {
    return status == Status::READY && reason == Reason::NONE && parked && !faulted && copies == kExpectedCount &&
           expected_found == kExpectedCount && delivers == kServiceCount && deletes == kExpectedDeletes &&
           untyped_shed_after_deviced && planned_transfers == kExpectedCount;
  }
};

constexpr BootSummary boot_nine_services() {
  ScriptedKernel kernel;
  rootd::boot::BasicBootStorage<16> storage{};
  rootd::boot::Engine<rootd::boot::RuntimeVariant, 16> engine(kHandoff.view(), kRootSlot, storage);
  BootSummary out;
  out.actions = rootd::boot::drive(engine, kernel, 10'000);
  out.status = engine.status();
  out.reason = engine.reason();
  out.parked = kernel.parked;
  out.faulted = kernel.faulted;
  out.copies = kernel.copy_count;
  out.delivers = kernel.delivers;
  out.deletes = kernel.deletes;
  out.untyped_shed_after_deviced = kernel.untyped_shed_after_deviced;
  for (std::size_t s = 0; s < engine.config().service_count(); ++s) {
    out.planned_transfers += engine.boot_plan().services[s].transfer_count;
  }
  for (const Copy& want : kExpected) {
    const std::uint16_t identity = engine.config().find_service(want.service);
    std::size_t seen = 0;
    for (std::size_t i = 0; i < kernel.copy_count; ++i) {
      const Recorded& got = kernel.copies[i];
      seen += got.identity == identity && got.local_slot == want.local && got.source == want.source &&
                      got.rights == want.rights
                  ? 1
                  : 0;
    }
    if (seen == 1) ++out.expected_found;
  }
  return out;
}

static_assert(boot_nine_services().booted(), "the nine-service boot reaches READY with exactly the expected transfers");

// ---- failing closed -------------------------------------------------------------------------

// fbcond answers NOT_READY. By then every service has been launched (drivers
// and the last wave start before rootd waits), and deviced is READY, so
// untyped memory is already gone.
struct FailSummary {
  Status status = Status::READY;
  Reason reason = Reason::NONE;
  bool blames_fbcond = false;
  bool parked = false;
  bool faulted = false;
  std::size_t delivered = 0;
  std::size_t stopped = 0;
  std::size_t destroyed = 0;
  std::size_t deletes = 0;

  // Every process stopped and destroyed; deleted: every boot-time cap once,
  // as at READY (teardown sheds what the shed schedule had not): the
  // untyped cap, the dedicated endpoints, the module frames, the image
  // frame, and per service its retained endpoint plus a process cap (4
  // foundation services) or an install grant (the 4 procd launches).
  constexpr bool failed_closed() const {
    return status == rootd::reason_status(Reason::BOOT_SERVICE_NOT_READY) &&
           reason == Reason::BOOT_SERVICE_NOT_READY && blames_fbcond && parked && !faulted &&
           delivered == kServiceCount && stopped == kServiceCount && destroyed == kServiceCount &&
           deletes == kExpectedDeletes;
  }
};

constexpr FailSummary boot_with_fbcond_refusing() {
  ScriptedKernel kernel;
  kernel.refuse = 2;  // fbcond, by name order
  rootd::boot::BasicBootStorage<16> storage{};
  rootd::boot::Engine<rootd::boot::RuntimeVariant, 16> engine(kHandoff.view(), kRootSlot, storage);
  (void)rootd::boot::drive(engine, kernel, 10'000);
  FailSummary out;
  out.status = engine.status();
  out.reason = engine.reason();
  out.blames_fbcond = engine.failed_service() == engine.config().find_service("fbcond");
  out.parked = kernel.parked;
  out.faulted = kernel.faulted;
  out.delivered = kernel.delivers;
  out.stopped = kernel.stopped;
  out.destroyed = kernel.destroyed;
  out.deletes = kernel.deletes;
  return out;
}

static_assert(boot_with_fbcond_refusing().failed_closed(), "a NOT_READY fails closed: every child stopped and destroyed");

}  // namespace

TEST_CASE("the constant-expression boot, run at run time, reaches READY with the expected transfers") {
  const BootSummary b = boot_nine_services();
  CHECK(b.status == Status::READY);
  CHECK(rootd::reason_name(b.reason) == rootd::reason_name(Reason::NONE));
  CHECK(b.parked);
  CHECK_FALSE(b.faulted);
  CHECK(b.copies == kExpectedCount);
  CHECK(b.expected_found == kExpectedCount);
  CHECK(b.planned_transfers == kExpectedCount);
  CHECK(b.delivers == kServiceCount);
  CHECK(b.deletes == kExpectedDeletes);
  CHECK(b.untyped_shed_after_deviced);
  CHECK(b.booted());
}

TEST_CASE("the constant-expression failing boot, run at run time, fails closed") {
  const FailSummary f = boot_with_fbcond_refusing();
  CHECK(rootd::reason_name(f.reason) == rootd::reason_name(Reason::BOOT_SERVICE_NOT_READY));
  CHECK(f.blames_fbcond);
  CHECK(f.parked);
  CHECK_FALSE(f.faulted);
  CHECK(f.delivered == kServiceCount);
  CHECK(f.stopped == kServiceCount);
  CHECK(f.destroyed == kServiceCount);
  CHECK(f.deletes == kExpectedDeletes);
  CHECK(f.failed_closed());
}
