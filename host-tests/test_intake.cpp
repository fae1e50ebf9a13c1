// Intake's slot rules, attacked the way a broken or hostile kernel would:
// a valid handoff from the system-image builder, one slot field (or entry)
// edited at the byte level by the layout docs/handoff-format.md documents,
// the checksum recomputed, then booted in-process against the kernel model.
// Each rule must end the boot HANDOFF_INVALID with its own DETAIL before
// rootd asks the kernel to create, start or copy anything.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "kernel_model.hpp"
#include "rootd/bytes.hpp"
#include "rootd/hooks.hpp"
#include "rootd/inventory.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;
namespace abi = rootd::abi;
using rootd::Reason;
using rootd::Status;

namespace {

// ---- the documented layout (docs/handoff-format.md), spelled out here so a
// drift between the document and the code fails this test -------------------
constexpr std::size_t kHeaderSize = 32;
constexpr std::size_t kTotalSizeAt = 12;
constexpr std::size_t kChecksumAt = 16;
constexpr std::size_t kDescriptorHeader = 8;  // kind u16, flags u16, size u32
constexpr std::uint16_t kCspace = 0x0001;
constexpr std::uint16_t kImageFrame = 0x0002;
constexpr std::uint16_t kEndpoints = 0x0003;
constexpr std::uint16_t kModules = 0x0004;
constexpr std::uint16_t kUntyped = 0x0005;
constexpr std::uint16_t kFramebuffer = 0x0101;
constexpr std::size_t kCspaceFirstFreeAt = 4;
constexpr std::size_t kImageFrameSlotAt = 8;
constexpr std::size_t kEndpointEntry = 8;
constexpr std::size_t kEndpointSlotAt = 4;
constexpr std::size_t kModuleEntry = 56;
constexpr std::size_t kModuleSlotAt = 16;
constexpr std::size_t kUntypedEntry = 24;
constexpr std::size_t kUntypedSlotAt = 16;

std::uint32_t get32(const std::vector<char>& b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(b[at + i])} << (8 * i);
  return v;
}
void put32(std::vector<char>& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put16(std::vector<char>& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<char>(v & 0xFF);
  b[at + 1] = static_cast<char>(v >> 8);
}

// Offset of the payload of the descriptor of `kind`, walking the chain.
std::size_t payload(const std::vector<char>& b, std::uint16_t kind) {
  std::size_t at = kHeaderSize;
  while (at + kDescriptorHeader <= b.size()) {
    const auto k = static_cast<std::uint16_t>(get32(b, at) & 0xFFFF);
    if (k == kind) return at + kDescriptorHeader;
    at += get32(b, at + 4);
  }
  FAIL("no descriptor of kind " << kind);
  return 0;
}

// total_size and the CRC-32C with the checksum field read as zero.
void reseal(std::vector<char>& b) {
  put32(b, kTotalSizeAt, static_cast<std::uint32_t>(b.size()));
  put32(b, kChecksumAt, 0);
  put32(b, kChecksumAt, rootd::crc32c(rootd::Bytes(b.data(), b.size())));
}

std::size_t module_slot(const std::vector<char>& b, std::size_t i) {
  return payload(b, kModules) + i * kModuleEntry + kModuleSlotAt;
}
std::size_t untyped_slot(const std::vector<char>& b, std::size_t i) {
  return payload(b, kUntyped) + i * kUntypedEntry + kUntypedSlotAt;
}
std::size_t endpoint_slot(const std::vector<char>& b, std::size_t i) {
  return payload(b, kEndpoints) + i * kEndpointEntry + kEndpointSlotAt;
}

// Drops endpoint entry i (kind i in a full table): the descriptor shrinks by one entry.
void drop_endpoint(std::vector<char>& b, std::size_t i) {
  const std::size_t p = payload(b, kEndpoints);
  const std::size_t header = p - kDescriptorHeader;
  put32(b, header + 4, get32(b, header + 4) - static_cast<std::uint32_t>(kEndpointEntry));
  const auto from = b.begin() + static_cast<std::ptrdiff_t>(p + i * kEndpointEntry);
  b.erase(from, from + static_cast<std::ptrdiff_t>(kEndpointEntry));
}

// Appends a 640x480, 32 bpp framebuffer descriptor whose frame cap is `slot`.
void add_framebuffer(std::vector<char>& b, std::uint32_t slot) {
  const std::size_t at = b.size();
  b.resize(at + kDescriptorHeader + 32, 0);
  put16(b, at, kFramebuffer);
  put32(b, at + 4, kDescriptorHeader + 32);
  const std::size_t p = at + kDescriptorHeader;
  put32(b, p + 0, 0x8000'0000U);  // paddr, low word
  put32(b, p + 8, 640);
  put32(b, p + 12, 480);
  put32(b, p + 16, 640 * 4);
  put32(b, p + 20, slot);
  b[p + 24] = 32;
}

// ---- booting ------------------------------------------------------------------

// Passes everything to the model and remembers whether rootd asked for
// anything that creates, starts or copies: every CALL (kernel control and
// services alike), every SEND, every capability copy. Deletes and reports
// are allowed: they create nothing.
class WatchingDriver final : public sim::Driver {
 public:
  explicit WatchingDriver(sim::KernelModel& model) : inner_(model) {}

  abi::KernelError report(std::string_view text) override {
    const abi::KernelError e = inner_.report(text);
    return fail_reports ? abi::KernelError::NO_MEMORY : e;
  }
  abi::KernelError call(std::uint32_t slot, abi::Message& m, std::uint32_t recv) override {
    ++creating_;
    return inner_.call(slot, m, recv);
  }
  abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) override {
    ++creating_;
    return inner_.send(slot, m, badge);
  }
  abi::KernelError wait(std::uint32_t root, abi::Message& m) override { return inner_.wait(root, m); }
  abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                       std::uint32_t rights) override {
    if (op != abi::CapOp::DELETE) ++creating_;
    return inner_.cap(op, src, space, dst, rights);
  }
  void park() override { inner_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override { return inner_.read_module(vaddr, size); }

  std::uint64_t creating() const { return creating_; }
  bool fail_reports = false;  // a second fault: every REPORT comes back failed

 private:
  sim::ModelDriver inner_;
  std::uint64_t creating_ = 0;
};

std::string source_root() {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  return root;
}

// The kernel installs the valid image's caps; rootd is handed `edit`ed bytes.
struct Crafted {
  std::vector<char> handoff;
  std::uint32_t first_free = 0;
  std::uint32_t root_slot = 0;  // where the model put the root endpoint (rdx)
};

using Edit = std::function<void(std::vector<char>&, const Crafted&)>;
using RootOverride = std::function<std::uint32_t(const Crafted&)>;

struct Outcome {
  sim::EngineRun run;
  std::uint64_t creating = 0;
  std::size_t processes = 0;
  std::size_t started_not_destroyed = 0;
  bool parsed_before_edit = false;
};

template <class Variant = rootd::boot::RuntimeVariant>
Outcome boot_crafted(const std::string& example, const Edit& edit, const RootOverride& root = {},
                     rootd::boot::Hooks hooks = {}, bool fail_reports = false) {
  auto cfg = sim::load_system_config(source_root() + "/examples/" + example);
  REQUIRE(cfg);
  auto image = sim::build_system_image(*cfg);
  REQUIRE(image);
  auto model = std::make_unique<sim::KernelModel>();
  sim::Services services(*model);
  for (const auto& s : cfg->services) REQUIRE(services.add(s));
  auto rdx = model->boot_rootd(image->layout);
  REQUIRE(rdx);
  Crafted c{image->handoff, image->first_free_slot, *rdx};
  Outcome out;
  out.parsed_before_edit = rootd::handoff::parse(rootd::Bytes(c.handoff.data(), c.handoff.size())).ok();
  std::vector<char> bytes = c.handoff;
  if (edit) edit(bytes, c);
  reseal(bytes);
  WatchingDriver driver(*model);
  driver.fail_reports = fail_reports;
  const std::uint32_t root_slot = root ? root(c) : c.root_slot;
  out.run = sim::run_engine<Variant>(rootd::Bytes(bytes.data(), bytes.size()), root_slot, driver, hooks);
  out.creating = driver.creating();
  out.processes = model->processes().size();
  out.started_not_destroyed = model->audit().started_not_destroyed.size();
  return out;
}

struct Case {
  const char* rule;
  Edit edit;
  Reason expected;
  RootOverride root{};
};

std::string detail_line(Reason r) { return std::string(rootd::kDetailPrefix) + std::string(rootd::reason_name(r)); }

}  // namespace

TEST_CASE("every slot rule refuses its crafted handoff before anything is created") {
  // In the builder's layout: image frame 5, modules from 6 in name order,
  // two untyped regions after them, the root endpoint next, endpoints at
  // 2112 + 16 k, first_free above them all.
  const std::vector<Case> cases = {
      {"module frame at slot 0 (null)", [](auto& b, auto&) { put32(b, module_slot(b, 0), 0); },
       Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"module frame at slot 1 (kernel control)", [](auto& b, auto&) { put32(b, module_slot(b, 1), 1); },
       Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"untyped at slot 1 (kernel control)", [](auto& b, auto&) { put32(b, untyped_slot(b, 0), 1); },
       Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"untyped at slot 0", [](auto& b, auto&) { put32(b, untyped_slot(b, 1), 0); },
       Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"image frame at slot 2 (cspace)",
       [](auto& b, auto&) { put32(b, payload(b, kImageFrame) + kImageFrameSlotAt, 2); },
       Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"image frame at slot 0",
       [](auto& b, auto&) { put32(b, payload(b, kImageFrame) + kImageFrameSlotAt, 0); },
       Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"endpoint at slot 3 (vspace)", [](auto& b, auto&) { put32(b, endpoint_slot(b, 4), 3); },
       Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"framebuffer at slot 2", [](auto& b, auto&) { add_framebuffer(b, 2); }, Reason::INVENTORY_FIXED_SLOT_NAMED},
      {"module frame at rdx", [](auto& b, const Crafted& c) { put32(b, module_slot(b, 2), c.root_slot); },
       Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED},
      {"untyped at rdx", [](auto& b, const Crafted& c) { put32(b, untyped_slot(b, 1), c.root_slot); },
       Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED},
      {"image frame at rdx",
       [](auto& b, const Crafted& c) { put32(b, payload(b, kImageFrame) + kImageFrameSlotAt, c.root_slot); },
       Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED},
      {"framebuffer at rdx", [](auto& b, const Crafted& c) { add_framebuffer(b, c.root_slot); },
       Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED},
      {"endpoint at rdx", [](auto& b, const Crafted& c) { put32(b, endpoint_slot(b, 7), c.root_slot); },
       Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED},
      {"rdx at the legacy slot", {}, Reason::INVENTORY_ROOT_ENDPOINT_SLOT_INVALID,
       [](const Crafted&) { return rootd::kLegacySlot; }},
      {"rdx at slot 1", {}, Reason::INVENTORY_ROOT_ENDPOINT_SLOT_INVALID, [](const Crafted&) { return 1U; }},
      {"rdx at first_free (rootd's first retained endpoint)", {}, Reason::INVENTORY_ROOT_ENDPOINT_SLOT_INVALID,
       [](const Crafted& c) { return c.first_free; }},
      {"untyped on a module's slot (two kinds, one slot)",
       [](auto& b, auto&) { put32(b, untyped_slot(b, 0), get32(b, module_slot(b, 0))); }, Reason::HANDOFF_SLOT_REUSED},
      {"framebuffer on the image frame's slot",
       [](auto& b, auto&) { add_framebuffer(b, get32(b, payload(b, kImageFrame) + kImageFrameSlotAt)); },
       Reason::HANDOFF_SLOT_REUSED},
      {"module frame at the legacy slot 4", [](auto& b, auto&) { put32(b, module_slot(b, 0), rootd::kLegacySlot); },
       Reason::INVENTORY_LEGACY_SLOT_POPULATED},
      {"framebuffer at the legacy slot 4", [](auto& b, auto&) { add_framebuffer(b, rootd::kLegacySlot); },
       Reason::INVENTORY_LEGACY_SLOT_POPULATED},
      {"module frame on the console endpoint's canonical slot",
       [](auto& b, auto&) {
         drop_endpoint(b, 5);
         put32(b, module_slot(b, 0), rootd::endpoint_info(rootd::EndpointKind::CONSOLE).local_slot);
       },
       Reason::INVENTORY_CANONICAL_SLOT_OCCUPIED},
      {"untyped on the driver-lifecycle endpoint's canonical slot",
       [](auto& b, auto&) {
         drop_endpoint(b, 0);
         put32(b, untyped_slot(b, 0), rootd::endpoint_info(rootd::EndpointKind::DRIVER_LIFECYCLE).local_slot);
       },
       Reason::INVENTORY_CANONICAL_SLOT_OCCUPIED},
      {"untyped in rootd's per-service slots (first_free)",
       [](auto& b, const Crafted& c) { put32(b, untyped_slot(b, 0), c.first_free); },
       Reason::HANDOFF_SLOT_NOT_POPULATED},
      {"module frame in rootd's per-service slots (first_free + 1)",
       [](auto& b, const Crafted& c) { put32(b, module_slot(b, 0), c.first_free + 1); },
       Reason::HANDOFF_SLOT_NOT_POPULATED},
      {"memory endpoint off its canonical slot",
       [](auto& b, const Crafted& c) { put32(b, endpoint_slot(b, 7), c.root_slot + 1); },
       Reason::INVENTORY_ENDPOINT_NOT_CANONICAL},
      {"driver-lifecycle endpoint left out", [](auto& b, auto&) { drop_endpoint(b, 0); },
       Reason::INVENTORY_ENDPOINT_MISSING},
      {"i8042 endpoint left out (no role of the config holds it)", [](auto& b, auto&) { drop_endpoint(b, 14); },
       Reason::INVENTORY_ENDPOINT_MISSING},
      {"ten of the fifteen endpoints left out",
       [](auto& b, auto&) {
         for (std::size_t k = 15; k-- > 5;) drop_endpoint(b, k);
       },
       Reason::INVENTORY_ENDPOINT_MISSING},
  };
  for (const std::string example : {"runtime.toml", "phase0.toml"}) {
    for (const Case& c : cases) {
      INFO(example << ": " << c.rule);
      const Outcome o = boot_crafted(example, c.edit, c.root);
      INFO([&] {
        std::string all;
        for (const auto& l : o.run.lines) all += l + "\n";
        return all;
      }());
      REQUIRE(o.parsed_before_edit);
      CHECK(o.run.status == Status::HANDOFF_INVALID);
      CHECK(o.run.reason == c.expected);
      CHECK(o.run.parked);
      REQUIRE(o.run.lines.size() >= 2);
      CHECK(o.run.lines[o.run.lines.size() - 2] == detail_line(c.expected));
      CHECK(o.run.lines.back() == std::string(rootd::kMarkerPrefix) + "HANDOFF_INVALID");
      CHECK(o.creating == 0);
      CHECK(o.processes == 1);  // rootd alone
    }
  }
}

TEST_CASE("a slot-rule refusal whose report lines fail still creates nothing and parks") {
  const Outcome o = boot_crafted(
      "runtime.toml", [](auto& b, auto&) { put32(b, module_slot(b, 1), 1); }, {}, {}, true);
  CHECK(o.run.status == Status::HANDOFF_INVALID);
  CHECK(o.run.reason == Reason::INVENTORY_FIXED_SLOT_NAMED);
  CHECK(o.run.parked);
  CHECK(o.creating == 0);
  CHECK(o.processes == 1);
}

TEST_CASE("the unedited, resealed handoff boots READY: the edits are what fail") {
  for (const std::string example : {"runtime.toml", "phase0.toml"}) {
    INFO(example);
    const Outcome o = boot_crafted(example, {});
    CHECK(o.run.status == Status::READY);
    CHECK(o.creating > 0);
    CHECK(o.processes > 1);
  }
}

TEST_CASE("validate_slots reports every fault with the slot field's offset") {
  auto cfg = sim::load_system_config(source_root() + "/examples/phase0.toml");
  REQUIRE(cfg);
  auto image = sim::build_system_image(*cfg);
  REQUIRE(image);
  std::vector<char> b = image->handoff;
  put32(b, module_slot(b, 0), 1);
  put32(b, untyped_slot(b, 1), 3);
  reseal(b);
  const auto view = rootd::handoff::parse(rootd::Bytes(b.data(), b.size()));
  REQUIRE(view.ok());
  const std::uint32_t root = get32(b, payload(b, kCspace) + kCspaceFirstFreeAt) - 1;
  std::vector<rootd::Error> errors;
  CHECK_FALSE(rootd::validate_slots(*view, root, [&](rootd::Error e) {
    errors.push_back(e);
    return true;
  }));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].reason == Reason::INVENTORY_FIXED_SLOT_NAMED);
  CHECK(errors[0].offset == module_slot(b, 0));
  CHECK(errors[0].subject == rootd::Subject::MODULE);
  CHECK(errors[1].offset == untyped_slot(b, 1));
  CHECK(rootd::offset_is_in_handoff(Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED));
  // The root endpoint one below first_free is fine; the same slot named by
  // a module frame is not.
  std::vector<char> ok = image->handoff;
  const auto clean = rootd::handoff::parse(rootd::Bytes(ok.data(), ok.size()));
  REQUIRE(clean.ok());
  rootd::FirstError first;
  CHECK(rootd::validate_slots(*clean, root, first));
  CHECK_FALSE(rootd::validate_slots(*clean, get32(ok, module_slot(ok, 0)), first));
  CHECK(first.error.reason == Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED);
}

// ---- hook text -------------------------------------------------------------------

namespace {
using Integration = rootd::boot::IntegrationVariant;

Outcome boot_with_hook_text(const std::string& example, std::string_view text) {
  return boot_crafted<Integration>(example, {}, {}, rootd::boot::engine_hooks(rootd::boot::parse_hooks(text)));
}
}  // namespace

TEST_CASE("hook text an integration image does not understand fails the boot before any launch") {
  struct HookCase {
    const char* text;
    std::string detail;
  };
  const std::vector<HookCase> cases = {
      {"", "HOOK_EMPTY"},
      {"force-fial", "HOOK_UNKNOWN"},
      {"force-fail\r\n", "HOOK_UNKNOWN"},
      {"force-service-fail", "HOOK_SERVICE_MISSING"},
      {"force-fail:logd", "HOOK_SERVICE_SURPLUS"},
      {"force-spawn-fail:Logd", "HOOK_SERVICE_NAME_INVALID"},
      {"force-service-fail:nosuch", "HOOK_SERVICE_UNKNOWN:nosuch"},
      {"force-spawn-fail:phase0-probe", "HOOK_SERVICE_UNKNOWN:phase0-probe"},  // not in runtime.toml
  };
  for (const HookCase& c : cases) {
    INFO("hook text '" << c.text << "'");
    const Outcome o = boot_with_hook_text("runtime.toml", c.text);
    CHECK(o.run.status == Status::CONTRACT_INVALID);
    REQUIRE(o.run.lines.size() >= 2);
    CHECK(o.run.lines[o.run.lines.size() - 2] == std::string(rootd::kDetailPrefix) + c.detail);
    CHECK(o.creating == 0);
    CHECK(o.processes == 1);
  }
  // Every refusal has its own reason, and each is a CONTRACT_INVALID one.
  using rootd::boot::HookRefusal;
  std::set<Reason> reasons;
  for (HookRefusal r : {HookRefusal::EMPTY, HookRefusal::UNKNOWN_HOOK, HookRefusal::MISSING_SERVICE,
                        HookRefusal::SURPLUS_SERVICE, HookRefusal::BAD_SERVICE_NAME}) {
    const Reason reason = rootd::boot::hook_refusal_reason(r);
    CHECK(rootd::reason_status(reason) == Status::CONTRACT_INVALID);
    reasons.insert(reason);
  }
  CHECK(reasons.size() == 5);
  CHECK(reasons.count(Reason::HOOK_SERVICE_UNKNOWN) == 0);
}

TEST_CASE("the runtime variant ignores hook text, understood or not") {
  for (const char* text : {"force-fial", "force-service-fail:nosuch", "force-fail"}) {
    INFO(text);
    const Outcome o = boot_crafted<rootd::boot::RuntimeVariant>(
        "runtime.toml", {}, {}, rootd::boot::engine_hooks(rootd::boot::parse_hooks(text)));
    CHECK(o.run.status == Status::READY);
  }
}

TEST_CASE("hooks naming the probe trip at the probe") {
  {
    const Outcome o = boot_with_hook_text("phase0.toml", "force-spawn-fail:phase0-probe\n");
    CHECK(o.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
    CHECK(o.run.reason == Reason::BOOT_FORCED_SPAWN_FAILURE);
    CHECK(o.run.failed_service == "phase0-probe");
    CHECK(o.started_not_destroyed == 0);
  }
  {
    const Outcome o = boot_with_hook_text("phase0.toml", "force-service-fail:phase0-probe");
    CHECK(o.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
    CHECK(o.run.reason == Reason::BOOT_FORCED_SERVICE_FAILURE);
    CHECK(o.run.failed_service == "phase0-probe");
    CHECK(o.started_not_destroyed == 0);
  }
  // A hook naming another service of the same config still works there.
  const Outcome o = boot_with_hook_text("phase0.toml", "force-service-fail:procd");
  CHECK(o.run.reason == Reason::BOOT_FORCED_SERVICE_FAILURE);
  CHECK(o.run.failed_service == "procd");
}
