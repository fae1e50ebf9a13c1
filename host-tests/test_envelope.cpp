// Configs, handoffs and startup envelopes through the whole policy layer:
// the runtime graph validates (in a constant expression too), every role's
// envelope matches docs/authority.md's slot tables, and every reason code of the
// policy and inventory blocks is reached by some input.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "policy_fixtures.hpp"
#include "rootd/authority.hpp"
#include "rootd/envelope.hpp"
#include "rootd/inventory.hpp"
#include "rootd/policy.hpp"
#include "rootd/profiles.hpp"
#include "rootd/sink.hpp"

using rootd::AuthorityKind;
using rootd::EndpointKind;
using rootd::Reason;
using rootd::RoleId;
using fixtures::Launch;

namespace {

constexpr auto kRuntimeBlob = fixtures::compile(fixtures::kRuntime);
constexpr auto kAllRolesBlob = fixtures::compile(fixtures::kAllRoles);
constexpr auto kRuntimeHandoff = fixtures::make_handoff(fixtures::kRuntimeModules);
static_assert(kRuntimeBlob.size > 0 && kAllRolesBlob.size > 0 && kRuntimeHandoff.size > 0);

// The runtime graph passes every check, handoff included, at compile time.
constexpr bool runtime_boots_cleanly() {
  const auto config = rootd::bcfg::parse(kRuntimeBlob.view());
  const auto handoff = rootd::handoff::parse(kRuntimeHandoff.view());
  if (!config || !handoff) return false;
  rootd::FirstError first;
  if (!rootd::validate_config(*config, first)) return false;
  if (!rootd::validate_inventory(*config, *handoff, first)) return false;
  if (!rootd::validate_modules(*config, *handoff, first)) return false;
  if (!rootd::validate_envelopes(*config, *handoff, first)) return false;
  return first.error.reason == Reason::NONE;
}
static_assert(runtime_boots_cleanly());

// Every role at once, with canonical sources (what erix-bcfg plan uses).
constexpr bool all_roles_validate() {
  const auto config = rootd::bcfg::parse(kAllRolesBlob.view());
  if (!config) return false;
  rootd::FirstError first;
  if (!rootd::validate_config(*config, first)) return false;
  rootd::EnvelopeStorage<32, 256> storage;
  const rootd::Sources sources = rootd::canonical_sources(fixtures::kImageFrameSlot, fixtures::kFirstFreeSlot);
  const auto set = rootd::synthesize_envelopes(*config, sources, storage);
  return set && rootd::validate_envelopes(*config, sources, *set, first);
}
static_assert(all_roles_validate());

// A deviation is caught in a constant expression as well.
constexpr Reason first_error_after_copying_memory_twice() {
  const auto config = rootd::bcfg::parse(kRuntimeBlob.view());
  rootd::EnvelopeStorage<32, 256> storage;
  const rootd::Sources sources = rootd::canonical_sources(fixtures::kImageFrameSlot, fixtures::kFirstFreeSlot);
  auto set = rootd::synthesize_envelopes(*config, sources, storage);
  const std::size_t memd = config->find_service("memd");
  const rootd::Envelope& e = storage.envelopes[memd];
  storage.transfers[e.first_transfer + e.transfer_count - 1].op = rootd::abi::CapOp::COPY;
  rootd::FirstError first;
  (void)rootd::validate_envelopes(*config, sources, *set, first);
  return first.error.reason;
}
static_assert(first_error_after_copying_memory_twice() == Reason::TRANSFER_CAP_COPY_DENIED);

rootd::bcfg::View parse_config(rootd::Bytes b) {
  const auto v = rootd::bcfg::parse(b);
  REQUIRE(v.ok());
  return *v;
}
rootd::handoff::View parse_handoff(rootd::Bytes b) {
  const auto v = rootd::handoff::parse(b);
  REQUIRE(v.ok());
  return *v;
}

// ---- runtime-built configs ------------------------------------------------------

struct Svc {
  std::string_view name, role;
  Launch launch = Launch::ROOTD;
  std::vector<std::string_view> peers{};
  std::string_view image{};
};

struct Cfg {
  std::string_view profile = "none";
  std::vector<Svc> services;
  std::vector<fixtures::ProviderDesc> providers{};
  std::vector<fixtures::MountDesc> mounts{};
};

std::vector<Svc> foundation() {
  return {{"memd", "memd"}, {"vspaced", "vspaced"}, {"pagerd", "pagerd"}, {"procd", "procd"}};
}
std::vector<Svc> operator+(std::vector<Svc> a, const std::vector<Svc>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Compiled {
  std::vector<char> bytes;
  rootd::bcfg::View view() const { return parse_config(rootd::Bytes(bytes.data(), bytes.size())); }
};

Compiled compile(const Cfg& cfg) {
  std::vector<fixtures::ServiceDesc> services;
  for (const Svc& s : cfg.services) {
    fixtures::ServiceDesc d;
    d.name = s.name;
    d.role = s.role;
    d.image = s.image.empty() ? s.name : s.image;
    d.launch = s.launch;
    d.peers = std::span<const std::string_view>(s.peers.data(), s.peers.size());
    services.push_back(d);
  }
  const fixtures::ConfigDesc desc{cfg.profile, services, cfg.providers, cfg.mounts};
  const auto size = rootd::bcfg::encoded_size(desc);
  REQUIRE(size.ok());
  Compiled c;
  c.bytes.resize(*size);
  const auto written = rootd::bcfg::write(desc, c.bytes);
  REQUIRE(written.ok());
  return c;
}

std::vector<rootd::Error> config_errors(const Cfg& cfg) {
  const Compiled c = compile(cfg);
  const rootd::bcfg::View v = c.view();
  std::vector<rootd::Error> errors;
  const bool clean = rootd::validate_config(v, [&](rootd::Error e) {
    errors.push_back(e);
    return true;
  });
  CHECK(clean == errors.empty());
  return errors;
}

bool has(const std::vector<rootd::Error>& errors, Reason r) {
  for (const rootd::Error& e : errors) {
    if (e.reason == r) return true;
  }
  return false;
}

// Reasons reached anywhere in this file; compared against the table at the end.
std::set<Reason>& reached() {
  static std::set<Reason> r;
  return r;
}
void note(const std::vector<rootd::Error>& errors) {
  for (const rootd::Error& e : errors) reached().insert(e.reason);
}

struct ConfigCase {
  const char* what;
  Cfg cfg;
  Reason expected;
};

std::vector<ConfigCase> config_cases() {
  const std::vector<Svc> storage_base = foundation() + std::vector<Svc>{{"vfsd", "vfsd"}, {"ramfsd", "ramfsd"}};
  const std::vector<fixtures::ProviderDesc> ram{{"mem", "ramfsd"}};
  const std::vector<fixtures::MountDesc> ram_root{{"/", "mem"}};
  const std::vector<Svc> disk = foundation() + std::vector<Svc>{{"vfsd", "vfsd"},
                                                                {"blockd", "blockd"},
                                                                {"keyd", "keyd"},
                                                                {"logd", "logd"},
                                                                {"e2fsd", "e2fsd"},
                                                                {"fatd", "fatd"},
                                                                {"ramfsd", "ramfsd"},
                                                                {"ramfsd2", "ramfsd"}};
  std::vector<Svc> many = foundation();
  static const char* const kNames[] = {"s00", "s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08",
                                       "s09", "s10", "s11", "s12", "s13", "s14", "s15", "s16"};
  Svc hub{"hub", "service"};
  for (const char* n : kNames) {
    many.push_back({n, "service"});
    hub.peers.push_back(n);
  }
  many.push_back(hub);

  return {
      {"no services", {"none", {}}, Reason::CONFIG_NO_SERVICES},
      {"unknown role", {"none", foundation() + std::vector<Svc>{{"x", "nosuch"}}}, Reason::ROLE_UNKNOWN},
      {"driver launched by rootd",
       {"none", foundation() + std::vector<Svc>{{"deviced", "deviced"}, {"drv-serial", "drv-serial"}}},
       Reason::ROLE_DRIVER_NOT_LAUNCHED_BY_DEVICED},
      {"service launched by deviced",
       {"none", foundation() + std::vector<Svc>{{"deviced", "deviced"}, {"logd", "logd", Launch::DEVICED}}},
       Reason::ROLE_LAUNCHED_BY_DEVICED_NOT_DRIVER},
      {"two logd", {"none", foundation() + std::vector<Svc>{{"logd", "logd"}, {"logd2", "logd"}}},
       Reason::ROLE_SINGLETON_REPEATED},
      {"vspaced without memd", {"none", {{"vspaced", "vspaced"}}}, Reason::ROLE_FOUNDATION_INCOMPLETE},
      {"logd without procd", {"none", {{"logd", "logd"}}}, Reason::ROLE_PROCD_MISSING},
      {"driver without deviced",
       {"none", foundation() + std::vector<Svc>{{"drv-serial", "drv-serial", Launch::DEVICED}}},
       Reason::ROLE_DEVICED_MISSING},
      {"unknown profile", {"phase9", foundation()}, Reason::PROFILE_UNKNOWN},
      {"phase0 without its probe", {"phase0", foundation()}, Reason::PROFILE_ROLE_MISSING},
      {"probe without a profile", {"none", foundation() + std::vector<Svc>{{"probe", "phase0-probe"}}},
       Reason::PROFILE_PROBE_UNEXPECTED},
      {"closure on memory storage",
       {"phase4-loader-closure", storage_base + std::vector<Svc>{{"loaderd", "loaderd", Launch::ROOTD, {"procd", "vfsd"}}},
        ram, ram_root},
       Reason::PROFILE_BLOCK_STORAGE_MISSING},
      {"self peer", {"none", foundation() + std::vector<Svc>{{"a", "service", Launch::ROOTD, {"a"}}}},
       Reason::PEER_SELF},
      {"an idle filesystem service",
       {"none", storage_base + std::vector<Svc>{{"e2fsd", "e2fsd"}, {"vfsd2", "service", Launch::ROOTD, {}}},
        ram, ram_root},
       Reason::NONE},
      {"vfsd peers e2fsd without a provider",
       {"none", foundation() + std::vector<Svc>{{"vfsd", "vfsd", Launch::ROOTD, {"e2fsd"}}, {"e2fsd", "e2fsd"},
                                                {"ramfsd", "ramfsd"}},
        ram, ram_root},
       Reason::PEER_STORAGE_WITHOUT_PROVIDER},
      {"loaderd without procd",
       {"none", storage_base + std::vector<Svc>{{"loaderd", "loaderd", Launch::ROOTD, {"vfsd"}}}, ram, ram_root},
       Reason::PEER_EXACT_SET_INCOMPLETE},
      {"17 peers", {"none", many}, Reason::PEER_CAPACITY_EXCEEDED},
      {"service wired to memd", {"none", foundation() + std::vector<Svc>{{"a", "service", Launch::ROOTD, {"memd"}}}},
       Reason::PEER_NOT_PERMITTED},
      {"loaderd wired to logd",
       {"none", storage_base + std::vector<Svc>{{"logd", "logd"},
                                                {"loaderd", "loaderd", Launch::ROOTD, {"logd", "procd", "vfsd"}}},
        ram, ram_root},
       Reason::PEER_NOT_PERMITTED},
      {"provider served by logd", {"none", disk, {{"p", "logd"}}, {{"/", "p"}}}, Reason::PROVIDER_SERVICE_NOT_FILESYSTEM},
      {"block service is logd", {"none", disk, {{"p", "e2fsd", "logd"}}, {{"/", "p"}}},
       Reason::PROVIDER_BLOCK_NOT_BLOCK_SERVICE},
      {"key service is logd", {"none", disk, {{"p", "e2fsd", "blockd", "logd"}}, {{"/", "p"}}},
       Reason::PROVIDER_KEY_NOT_KEY_SERVICE},
      {"ext without a block service", {"none", disk, {{"p", "e2fsd"}}, {{"/", "p"}}}, Reason::PROVIDER_BLOCK_REQUIRED},
      {"ramfs on a block service", {"none", disk, {{"p", "ramfsd", "blockd"}}, {{"/", "p"}}},
       Reason::PROVIDER_BLOCK_FORBIDDEN},
      {"encrypted FAT", {"none", disk, {{"p", "fatd", "blockd", "keyd"}}, {{"/", "p"}}}, Reason::PROVIDER_KEY_FORBIDDEN},
      {"partition of memory", {"none", disk, {{"p", "ramfsd", {}, {}, 1}}, {{"/", "p"}}},
       Reason::PROVIDER_PARTITION_WITHOUT_BLOCK},
      {"one filesystem service, two providers", {"none", disk, {{"a", "ramfsd"}, {"b", "ramfsd"}}, {{"/", "a"}, {"/b", "b"}}},
       Reason::PROVIDER_SERVICE_SHARED},
      {"unmounted provider", {"none", disk, {{"a", "ramfsd"}, {"b", "ramfsd2"}}, {{"/", "a"}}},
       Reason::PROVIDER_NOT_MOUNTED},
      {"storage without vfsd", {"none", foundation() + std::vector<Svc>{{"ramfsd", "ramfsd"}}, ram, ram_root},
       Reason::STORAGE_VFSD_MISSING},
      {"no root", {"none", storage_base, ram, {{"/x", "mem"}}}, Reason::MOUNT_ROOT_MISSING},
      {"vfsd alone", {"none", foundation() + std::vector<Svc>{{"vfsd", "vfsd"}}}, Reason::MOUNT_ROOT_MISSING},
      {"relative path", {"none", disk, {{"a", "ramfsd"}, {"b", "ramfsd2"}}, {{"/", "a"}, {"b", "b"}}},
       Reason::MOUNT_PATH_NOT_ABSOLUTE},
      {"double slash", {"none", disk, {{"a", "ramfsd"}, {"b", "ramfsd2"}}, {{"/", "a"}, {"/x//b", "b"}}},
       Reason::MOUNT_PATH_EMPTY_COMPONENT},
      {"trailing slash", {"none", disk, {{"a", "ramfsd"}, {"b", "ramfsd2"}}, {{"/", "a"}, {"/b/", "b"}}},
       Reason::MOUNT_PATH_TRAILING_SLASH},
      {"dot-dot", {"none", disk, {{"a", "ramfsd"}, {"b", "ramfsd2"}}, {{"/", "a"}, {"/x/..", "b"}}},
       Reason::MOUNT_PATH_DOT_COMPONENT},
  };
}

// ---- docs/authority.md's slots, service by service -------------------------------

struct Slot {
  std::uint32_t local;
  AuthorityKind kind;
  std::string_view what;  // endpoint name for dedicated endpoints, peer service otherwise
};
const std::map<std::string, std::vector<Slot>>& expected_envelopes() {
  using K = AuthorityKind;
  static const std::map<std::string, std::vector<Slot>> table = {
      {"memd", {{2224, K::DEDICATED_ENDPOINT, "memory"}}},
      {"vspaced", {{2240, K::DEDICATED_ENDPOINT, "vspace"}}},
      {"pagerd", {{2096, K::IMAGE_FRAME, ""}, {2256, K::DEDICATED_ENDPOINT, "pager"}}},
      {"procd",
       {{2096, K::IMAGE_FRAME, ""},
        {2112, K::DEDICATED_ENDPOINT, "driver-lifecycle"},
        {2288, K::DEDICATED_ENDPOINT, "process-control"}}},
      {"logd", {}},
      {"deviced",
       {{2048, K::PEER_ENDPOINT, "probed"},
        {2112, K::DEDICATED_ENDPOINT, "driver-lifecycle"},
        {2272, K::DEDICATED_ENDPOINT, "log-query"},
        {2304, K::DEDICATED_ENDPOINT, "child-populate"}}},
      {"timed", {{2128, K::DEDICATED_ENDPOINT, "time-control"}}},
      {"irqd", {{2144, K::DEDICATED_ENDPOINT, "irq-control"}}},
      {"hotplugd", {{2160, K::DEDICATED_ENDPOINT, "hotplug-control"}}},
      {"probed", {{2176, K::DEDICATED_ENDPOINT, "pci-config"}}},
      {"fbcond", {{2192, K::DEDICATED_ENDPOINT, "console"}}},
      {"drv-serial", {{2208, K::DEDICATED_ENDPOINT, "com1"}}},
      {"drv-acpi", {{2320, K::DEDICATED_ENDPOINT, "acpi-read"}}},
      {"drv-i8042", {{2336, K::DEDICATED_ENDPOINT, "i8042"}}},
      {"drv-ps2-kbd", {{2048, K::PEER_ENDPOINT, "drv-i8042"}, {2049, K::PEER_ENDPOINT, "inputd"}}},
      {"drv-ps2-mouse", {}},
      {"drv-virtio-block", {}},
      {"inputd", {}},
      {"blockd", {{2048, K::PEER_ENDPOINT, "drv-virtio-block"}}},
      {"keyd", {}},
      {"ramfsd", {}},
      {"e2fsd", {{2048, K::STORAGE_ENDPOINT, "blockd"}, {2049, K::STORAGE_ENDPOINT, "keyd"}}},
      {"fatd", {{2048, K::STORAGE_ENDPOINT, "blockd"}}},
      {"vfsd",
       {{2048, K::STORAGE_ENDPOINT, "e2fsd"},
        {2049, K::STORAGE_ENDPOINT, "fatd"},
        {2050, K::PEER_ENDPOINT, "logd"},
        {2051, K::STORAGE_ENDPOINT, "ramfsd"}}},
      {"loaderd", {{2048, K::PEER_ENDPOINT, "procd"}, {2049, K::PEER_ENDPOINT, "vfsd"}}},
      {"phase0-probe",
       {{2048, K::PEER_ENDPOINT, "memd"},
        {2049, K::PEER_ENDPOINT, "procd"},
        {2288, K::DEDICATED_ENDPOINT, "process-control"}}},
      {"app", {{2048, K::PEER_ENDPOINT, "logd"}, {2049, K::PEER_ENDPOINT, "vfsd"}}},
  };
  return table;
}

using Storage = rootd::EnvelopeStorage<32, 256>;

struct Synthesized {
  std::unique_ptr<Storage> storage = std::make_unique<Storage>();
  rootd::EnvelopeSet set{};
};

Synthesized synthesize(const rootd::bcfg::View& config, const rootd::Sources& sources) {
  Synthesized s;
  const auto set = rootd::synthesize_envelopes(config, sources, *s.storage);
  REQUIRE(set.ok());
  s.set = *set;
  return s;
}

// A copy of a synthesized set whose spans point into its own storage.
Synthesized copy_of(const Synthesized& from) {
  Synthesized s;
  *s.storage = *from.storage;
  s.set = {s.storage->envelopes, s.storage->transfers, from.set.envelope_count, from.set.transfer_count};
  return s;
}

std::vector<rootd::Error> envelope_errors(const rootd::bcfg::View& config, const rootd::Sources& sources,
                                          const rootd::EnvelopeSet& set) {
  std::vector<rootd::Error> errors;
  const bool clean = rootd::validate_envelopes(config, sources, set, [&](rootd::Error e) {
    errors.push_back(e);
    return true;
  });
  CHECK(clean == errors.empty());
  return errors;
}

const rootd::Sources kSources = rootd::canonical_sources(fixtures::kImageFrameSlot, fixtures::kFirstFreeSlot);

// Rewrites one envelope's transfer list (drop or add rows), moving every
// later envelope's transfers so the table stays contiguous.
void edit_transfers(Synthesized& s, std::size_t service, const std::function<void(std::vector<rootd::Transfer>&)>& f) {
  std::vector<rootd::Transfer> all;
  for (std::size_t i = 0; i < s.set.envelope_count; ++i) {
    const auto own = s.set.transfers_of(i);
    std::vector<rootd::Transfer> rows(own.begin(), own.end());
    if (i == service) f(rows);
    s.set.envelopes[i].first_transfer = static_cast<std::uint32_t>(all.size());
    s.set.envelopes[i].transfer_count = static_cast<std::uint32_t>(rows.size());
    all.insert(all.end(), rows.begin(), rows.end());
  }
  REQUIRE(all.size() <= s.set.transfers.size());
  std::copy(all.begin(), all.end(), s.set.transfers.begin());
  s.set.transfer_count = all.size();
}

std::size_t find_dedicated(const std::vector<rootd::Transfer>& rows, rootd::EndpointKind kind) {
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (rows[k].authority == AuthorityKind::DEDICATED_ENDPOINT && rows[k].endpoint == kind) return k;
  }
  FAIL("no such dedicated endpoint in the envelope");
  return 0;
}

}  // namespace

TEST_CASE("each role's startup envelope matches docs/authority.md slot by slot") {
  const rootd::bcfg::View config = parse_config(kAllRolesBlob.view());
  const Synthesized s = synthesize(config, kSources);
  REQUIRE(s.set.envelope_count == config.service_count());
  std::set<RoleId> covered;
  for (std::size_t i = 0; i < s.set.envelope_count; ++i) {
    const std::string name(config.service(i).name);
    INFO(name);
    const rootd::Envelope& e = s.set.envelopes[i];
    const rootd::Role& role = rootd::role(e.role);
    covered.insert(e.role);
    CHECK(e.service == i);
    CHECK(role.name == config.service(i).role);
    CHECK(e.window == role.window);
    CHECK(e.primary_slot == rootd::primary_control_slot(role));

    const auto transfers = s.set.transfers_of(i);
    REQUIRE(!transfers.empty());
    // First the service endpoint: rootd's retained endpoint for this service.
    CHECK(transfers[0].authority == AuthorityKind::SERVICE_ENDPOINT);
    CHECK(transfers[0].local_slot == 1);
    CHECK(transfers[0].source_slot == fixtures::kFirstFreeSlot + i);
    CHECK((transfers[0].rights & rootd::abi::RIGHT_RECEIVE) != 0);

    const auto& expected = expected_envelopes().at(name);
    REQUIRE(transfers.size() == expected.size() + 1);
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const rootd::Transfer& t = transfers[k + 1];
      const Slot& want = expected[k];
      INFO("slot " << want.local);
      CHECK(t.op == rootd::abi::CapOp::COPY_ATTENUATED);
      CHECK(t.local_slot == want.local);
      CHECK(t.authority == want.kind);
      CHECK(e.window.contains(t.local_slot));
      switch (t.authority) {
        case AuthorityKind::DEDICATED_ENDPOINT:
          CHECK(rootd::endpoint_info(t.endpoint).name == want.what);
          // The kernel put it at the same slot in rootd's cspace.
          CHECK(t.source_slot == want.local);
          CHECK(t.rights == rootd::dedicated_rights(role, t.endpoint));
          break;
        case AuthorityKind::IMAGE_FRAME:
          CHECK(t.source_slot == fixtures::kImageFrameSlot);
          CHECK(t.rights == (rootd::abi::RIGHT_READ | rootd::abi::RIGHT_EXECUTE));
          break;
        default:
          CHECK(config.service(t.peer).name == want.what);
          CHECK(t.source_slot == fixtures::kFirstFreeSlot + t.peer);
          CHECK(t.rights == (rootd::abi::RIGHT_SEND | rootd::abi::RIGHT_GRANT));
          CHECK(t.peer_role == rootd::find_role(config.service(t.peer).role)->id);
          break;
      }
    }
  }
  CHECK(covered.size() == rootd::kRoleCount);
  CHECK(envelope_errors(config, kSources, s.set).empty());
}

TEST_CASE("sources come from the handoff inventory") {
  const rootd::handoff::View h = parse_handoff(kRuntimeHandoff.view());
  const rootd::Sources from_handoff = rootd::sources_from(h);
  CHECK(from_handoff.image_frame == fixtures::kImageFrameSlot);
  CHECK(from_handoff.first_free_slot == fixtures::kFirstFreeSlot);
  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    CHECK(from_handoff.dedicated[k] == rootd::kEndpointTable[k].local_slot);
  }
  // A handoff without the pager endpoint leaves pagerd's source empty, and
  // the envelope check refuses it even when the inventory is not consulted.
  const auto no_pager = fixtures::make_handoff(fixtures::kRuntimeModules, {.omit_endpoints = 1U << 9});
  const rootd::handoff::View hp = parse_handoff(no_pager.view());
  const rootd::bcfg::View config = parse_config(kRuntimeBlob.view());
  const rootd::Sources sources = rootd::sources_from(hp);
  CHECK(sources.dedicated[static_cast<std::size_t>(EndpointKind::PAGER)] == rootd::abi::kNoSlot);
  const Synthesized s = synthesize(config, sources);
  const auto errors = envelope_errors(config, sources, s.set);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].reason == Reason::ENVELOPE_SOURCE_MISMATCH);
  CHECK(rootd::owner_of(config, errors[0]) == config.find_service("pagerd"));
  // rootd's streaming form, straight from the handoff, agrees.
  std::vector<rootd::Error> streamed;
  CHECK_FALSE(rootd::validate_envelopes(config, hp, [&](rootd::Error e) {
    streamed.push_back(e);
    return true;
  }));
  CHECK(streamed == errors);
  rootd::FirstError clean;
  CHECK(rootd::validate_envelopes(config, h, clean));
}

static void config_rules() {
  for (const ConfigCase& c : config_cases()) {
    INFO(c.what);
    const auto errors = config_errors(c.cfg);
    note(errors);
    if (c.expected == Reason::NONE) {
      CHECK(errors.empty());
    } else {
      CHECK(has(errors, c.expected));
    }
  }
}

TEST_CASE("errors carry the offset of the row at fault, which names the service") {
  Cfg cfg{"none", foundation() + std::vector<Svc>{{"alpha", "service", Launch::ROOTD, {"memd"}}, {"beta", "nosuch"}}};
  const Compiled c = compile(cfg);
  const rootd::bcfg::View v = c.view();
  std::vector<rootd::Error> errors;
  CHECK_FALSE(rootd::validate_config(v, [&](rootd::Error e) {
    errors.push_back(e);
    return true;
  }));
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].reason == Reason::ROLE_UNKNOWN);
  CHECK(errors[0].offset == v.service_offset(v.find_service("beta")));
  CHECK(rootd::owner_of(v, errors[0]) == v.find_service("beta"));
  CHECK(errors[1].reason == Reason::PEER_NOT_PERMITTED);
  CHECK(errors[1].offset == v.peers_offset(v.find_service("alpha")));
  CHECK(rootd::owner_of(v, errors[1]) == v.find_service("alpha"));
  // FirstError stops at the first one.
  rootd::FirstError first;
  CHECK_FALSE(rootd::validate_config(v, first));
  CHECK(first.error == errors[0]);
  // A provider row maps to its filesystem service, a mount row too.
  Cfg storage{"none",
              foundation() + std::vector<Svc>{{"vfsd", "vfsd"}, {"ramfsd", "ramfsd"}},
              {{"mem", "ramfsd", {}, {}, 3}},
              {{"/x/", "mem"}}};
  const Compiled cs = compile(storage);
  const rootd::bcfg::View vs = cs.view();
  std::vector<rootd::Error> storage_errors;
  rootd::validate_config(vs, [&](rootd::Error e) {
    storage_errors.push_back(e);
    return true;
  });
  REQUIRE(storage_errors.size() == 3);
  CHECK(storage_errors[0].reason == Reason::PROVIDER_PARTITION_WITHOUT_BLOCK);
  CHECK(storage_errors[1].reason == Reason::MOUNT_PATH_TRAILING_SLASH);
  CHECK(storage_errors[2].reason == Reason::MOUNT_ROOT_MISSING);
  for (const rootd::Error& e : storage_errors) {
    CHECK(rootd::owner_of(vs, e) != rootd::bcfg::kNoIndex);
  }
  CHECK(rootd::owner_of(vs, storage_errors[0]) == vs.find_service("ramfsd"));
  CHECK(rootd::owner_of(vs, storage_errors[2]) == vs.find_service("vfsd"));
  // Ownership follows the typed location, never the offset alone: an error
  // of another blob, or one with no location, has no owner even when its
  // offset happens to equal a service row's.
  const std::uint32_t row = vs.service_offset(vs.find_service("ramfsd"));
  CHECK(rootd::owner_of(vs, rootd::Error{Reason::MODULE_BOOT_CONFIG_MISSING, row}) == rootd::bcfg::kNoIndex);
  CHECK(rootd::owner_of(vs, rootd::handoff_error(Reason::INVENTORY_CSPACE_TOO_SMALL, row)) == rootd::bcfg::kNoIndex);
  CHECK(rootd::owner_of(vs, rootd::profile_error(vs, Reason::PROFILE_ROLE_MISSING)) == rootd::bcfg::kNoIndex);
}

static bool inventory_clean(const rootd::bcfg::View& config, const rootd::handoff::View& h) {
  std::vector<rootd::Error> errors;
  const bool clean = rootd::validate_inventory(config, h, [&](rootd::Error e) {
    errors.push_back(e);
    return true;
  });
  note(errors);
  return clean && errors.empty();
}

static void envelope_rules() {
  const rootd::bcfg::View config = parse_config(kAllRolesBlob.view());
  const Synthesized base = synthesize(config, kSources);
  auto index = [&](std::string_view name) { return static_cast<std::size_t>(config.find_service(name)); };
  auto first = [&](const Synthesized& s, std::string_view name) { return s.set.envelopes[index(name)].first_transfer; };
  struct Mutation {
    const char* what;
    std::function<void(Synthesized&)> apply;
    Reason expected;
  };
  const std::vector<Mutation> mutations = {
      {"one envelope short", [&](Synthesized& s) { --s.set.envelope_count; }, Reason::ENVELOPE_COUNT_MISMATCH},
      {"wrong identity", [&](Synthesized& s) { s.set.envelopes[index("memd")].service = 0; },
       Reason::ENVELOPE_IDENTITY_MISMATCH},
      {"wrong role", [&](Synthesized& s) { s.set.envelopes[index("memd")].role = RoleId::VSPACED; },
       Reason::ENVELOPE_ROLE_MISMATCH},
      {"wider window", [&](Synthesized& s) { ++s.set.envelopes[index("memd")].window.count; },
       Reason::ENVELOPE_WINDOW_MISMATCH},
      {"wrong primary slot", [&](Synthesized& s) { s.set.envelopes[index("memd")].primary_slot = 1; },
       Reason::ENVELOPE_PRIMARY_SLOT_MISMATCH},
      {"memory endpoint dropped", [&](Synthesized& s) { --s.set.envelopes[index("memd")].transfer_count; },
       Reason::ENVELOPE_PRIMARY_MISSING},
      {"process control in place of the image frame",
       [&](Synthesized& s) {
         const std::size_t f = first(s, "procd");
         s.set.transfers[f + 1] = s.set.transfers[f + 3];
       },
       Reason::ENVELOPE_IMAGE_FRAME_MISSING},
      {"process control twice",
       [&](Synthesized& s) {
         const std::size_t f = first(s, "procd");
         s.set.transfers[f + 1] = s.set.transfers[f + 3];
       },
       Reason::ENVELOPE_DEDICATED_REPEATED},
      {"a launcher's carried image frame inside its envelope",
       [&](Synthesized& s) {
         // procd is the one role the rule lets receive it: only the
         // envelope check can refuse it here.
         rootd::Transfer& t = s.set.transfers[first(s, "procd") + 1];
         t.authority = AuthorityKind::CARRIED_IMAGE_FRAME;
         t.local_slot = rootd::abi::kNoSlot;
         t.peer_role = RoleId::LOGD;
       },
       Reason::TRANSFER_AUTHORITY_UNKNOWN},
      {"two peers on one slot",
       [&](Synthesized& s) {
         const std::size_t f = first(s, "loaderd");
         s.set.transfers[f + 2].local_slot = s.set.transfers[f + 1].local_slot;
       },
       Reason::ENVELOPE_SLOT_COLLISION},
      {"more transfers than slots",
       [&](Synthesized& s) { s.set.envelopes[index("memd")].transfer_count = 3; }, Reason::ENVELOPE_SLOT_COLLISION},
      {"another service's endpoint as its own",
       [&](Synthesized& s) { s.set.transfers[first(s, "memd")].peer = static_cast<std::uint16_t>(index("logd")); },
       Reason::ENVELOPE_SERVICE_ENDPOINT_INVALID},
      {"no service endpoint",
       [&](Synthesized& s) {
         s.set.envelopes[index("memd")].first_transfer += 1;
         s.set.envelopes[index("memd")].transfer_count -= 1;
       },
       Reason::ENVELOPE_SERVICE_ENDPOINT_INVALID},
      {"memory endpoint from the wrong slot", [&](Synthesized& s) { s.set.transfers[first(s, "memd") + 1].source_slot = 3000; },
       Reason::ENVELOPE_SOURCE_MISMATCH},
      {"rootd claims more than it holds",
       [&](Synthesized& s) { s.set.transfers[first(s, "pagerd") + 1].source_rights = rootd::abi::kAllRights; },
       Reason::ENVELOPE_SOURCE_MISMATCH},
      {"peer is itself",
       [&](Synthesized& s) { s.set.transfers[first(s, "loaderd") + 1].peer = static_cast<std::uint16_t>(index("loaderd")); },
       Reason::ENVELOPE_PEER_INDEX_INVALID},
      {"peer out of range", [&](Synthesized& s) { s.set.transfers[first(s, "loaderd") + 1].peer = 999; },
       Reason::ENVELOPE_PEER_INDEX_INVALID},
      {"peer role lies", [&](Synthesized& s) { s.set.transfers[first(s, "loaderd") + 2].peer_role = RoleId::PROCD; },
       Reason::ENVELOPE_PEER_ROLE_MISMATCH},
      {"peer not in the config",
       [&](Synthesized& s) {
         rootd::Transfer& t = s.set.transfers[first(s, "app") + 2];
         t.peer = static_cast<std::uint16_t>(index("timed"));
         t.peer_role = RoleId::TIMED;
         t.source_slot = fixtures::kFirstFreeSlot + t.peer;
       },
       Reason::ENVELOPE_PEER_NOT_CONFIGURED},
      {"storage endpoint passed off as a peer",
       [&](Synthesized& s) { s.set.transfers[first(s, "vfsd") + 2].authority = AuthorityKind::PEER_ENDPOINT; },
       Reason::PEER_NOT_PERMITTED},
      {"peer dropped", [&](Synthesized& s) { --s.set.envelopes[index("app")].transfer_count; },
       Reason::ENVELOPE_PEER_MISSING},
      {"storage endpoint dropped", [&](Synthesized& s) { --s.set.envelopes[index("fatd")].transfer_count; },
       Reason::ENVELOPE_STORAGE_ENDPOINT_MISSING},
      {"deviced's driver-lifecycle endpoint dropped",
       [&](Synthesized& s) {
         edit_transfers(s, index("deviced"), [](std::vector<rootd::Transfer>& rows) {
           rows.erase(rows.begin() + static_cast<long>(find_dedicated(rows, rootd::EndpointKind::DRIVER_LIFECYCLE)));
         });
       },
       Reason::ENVELOPE_DEDICATED_MISSING},
      {"deviced's child-populate endpoint dropped",
       [&](Synthesized& s) {
         edit_transfers(s, index("deviced"), [](std::vector<rootd::Transfer>& rows) {
           rows.erase(rows.begin() + static_cast<long>(find_dedicated(rows, rootd::EndpointKind::CHILD_POPULATE)));
         });
       },
       Reason::ENVELOPE_DEDICATED_MISSING},
      {"a second copy of deviced's child-populate endpoint",
       [&](Synthesized& s) {
         edit_transfers(s, index("deviced"), [](std::vector<rootd::Transfer>& rows) {
           rows.push_back(rows[find_dedicated(rows, rootd::EndpointKind::CHILD_POPULATE)]);
         });
       },
       Reason::ENVELOPE_DEDICATED_REPEATED},
      {"same peer twice",
       [&](Synthesized& s) {
         const std::size_t f = first(s, "app");
         s.set.transfers[f + 2] = s.set.transfers[f + 1];
         s.set.transfers[f + 2].local_slot += 1;
       },
       Reason::ENVELOPE_PEER_REPEATED},
      {"transfers beyond the table", [&](Synthesized& s) { s.set.envelopes[index("memd")].first_transfer = 250; },
       Reason::INTERNAL_STATE},
      {"CAP_COPY", [&](Synthesized& s) { s.set.transfers[first(s, "memd") + 1].op = rootd::abi::CapOp::COPY; },
       Reason::TRANSFER_CAP_COPY_DENIED},
      {"receive right to a peer",
       [&](Synthesized& s) { s.set.transfers[first(s, "app") + 1].rights |= rootd::abi::RIGHT_RECEIVE; },
       Reason::TRANSFER_RIGHTS_EXCEED_RULE},
  };
  for (const Mutation& m : mutations) {
    INFO(m.what);
    Synthesized s = copy_of(base);
    m.apply(s);
    const auto errors = envelope_errors(config, kSources, s.set);
    note(errors);
    CHECK(has(errors, m.expected));
    for (const rootd::Error& e : errors) {
      if (e.reason != Reason::ENVELOPE_COUNT_MISMATCH) {
        CHECK(rootd::owner_of(config, e) != rootd::bcfg::kNoIndex);
      }
    }
  }
  CHECK(envelope_errors(config, kSources, base.set).empty());
}

// Each required kind of transfer, dropped alone, is reported with its own
// reason and no other: the completeness checks do not lean on one another.
TEST_CASE("a missing required transfer is named by its kind") {
  const rootd::bcfg::View config = parse_config(kAllRolesBlob.view());
  const Synthesized base = synthesize(config, kSources);
  auto index = [&](std::string_view name) { return static_cast<std::size_t>(config.find_service(name)); };
  auto drop_where = [&](std::string_view service, auto&& pick) {
    Synthesized s = copy_of(base);
    edit_transfers(s, index(service), [&](std::vector<rootd::Transfer>& rows) {
      const auto before = rows.size();
      std::erase_if(rows, pick);
      REQUIRE(rows.size() + 1 == before);
    });
    return envelope_errors(config, kSources, s.set);
  };
  auto only = [](const std::vector<rootd::Error>& errors, Reason r) {
    note(errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].reason == r);
  };
  using rootd::EndpointKind;
  auto dedicated = [](EndpointKind k) {
    return [k](const rootd::Transfer& t) { return t.authority == AuthorityKind::DEDICATED_ENDPOINT && t.endpoint == k; };
  };
  // The role catalog gives deviced two extra endpoints besides its primary.
  const rootd::Role& deviced = rootd::role(RoleId::DEVICED);
  REQUIRE(deviced.extra_count == 2);
  for (std::size_t x = 0; x < deviced.extra_count; ++x) {
    INFO(std::string(rootd::endpoint_info(deviced.extras[x].kind).name));
    only(drop_where("deviced", dedicated(deviced.extras[x].kind)), Reason::ENVELOPE_DEDICATED_MISSING);
  }
  only(drop_where("deviced", dedicated(*deviced.primary)), Reason::ENVELOPE_PRIMARY_MISSING);
  only(drop_where("pagerd", [](const rootd::Transfer& t) { return t.authority == AuthorityKind::IMAGE_FRAME; }),
       Reason::ENVELOPE_IMAGE_FRAME_MISSING);
  only(drop_where("app", [](const rootd::Transfer& t) { return t.authority == AuthorityKind::SERVICE_ENDPOINT; }),
       Reason::ENVELOPE_SERVICE_ENDPOINT_INVALID);
  const auto logd = static_cast<std::uint16_t>(index("logd"));
  only(drop_where("app", [&](const rootd::Transfer& t) { return t.authority == AuthorityKind::PEER_ENDPOINT && t.peer == logd; }),
       Reason::ENVELOPE_PEER_MISSING);
  const auto keyd = static_cast<std::uint16_t>(index("keyd"));
  only(drop_where("e2fsd", [&](const rootd::Transfer& t) { return t.authority == AuthorityKind::STORAGE_ENDPOINT && t.peer == keyd; }),
       Reason::ENVELOPE_STORAGE_ENDPOINT_MISSING);
}

// A second copy of a dedicated endpoint sits on the first copy's slot (the
// rule pins each kind to one slot), so it must be told apart from two
// different transfers on one slot.
TEST_CASE("a repeated dedicated endpoint is not reported as a slot collision, nor the reverse") {
  const rootd::bcfg::View config = parse_config(kAllRolesBlob.view());
  const Synthesized base = synthesize(config, kSources);
  const std::size_t deviced = static_cast<std::size_t>(config.find_service("deviced"));
  Synthesized twice = copy_of(base);
  edit_transfers(twice, deviced, [](std::vector<rootd::Transfer>& rows) {
    const rootd::Transfer copy = rows[find_dedicated(rows, rootd::EndpointKind::CHILD_POPULATE)];
    REQUIRE(copy.rights == rootd::abi::RIGHT_SEND);  // the SEND-only grant: no receive-side clash either
    rows.push_back(copy);
  });
  const auto repeated = envelope_errors(config, kSources, twice.set);
  note(repeated);
  REQUIRE(repeated.size() == 1);
  CHECK(repeated[0].reason == Reason::ENVELOPE_DEDICATED_REPEATED);
  CHECK(rootd::owner_of(config, repeated[0]) == config.find_service("deviced"));
  rootd::FirstError first;
  CHECK_FALSE(rootd::validate_envelopes(config, kSources, twice.set, first));
  CHECK(first.error.reason == Reason::ENVELOPE_DEDICATED_REPEATED);

  // Two different peers on one slot: a collision, nothing repeated.
  Synthesized collide = copy_of(base);
  const std::size_t app = static_cast<std::size_t>(config.find_service("app"));
  const std::size_t f = collide.set.envelopes[app].first_transfer;
  collide.set.transfers[f + 2].local_slot = collide.set.transfers[f + 1].local_slot;
  const auto collision = envelope_errors(config, kSources, collide.set);
  note(collision);
  CHECK(has(collision, Reason::ENVELOPE_SLOT_COLLISION));
  CHECK_FALSE(has(collision, Reason::ENVELOPE_DEDICATED_REPEATED));
}

TEST_CASE("synthesis fails on storage too small and on an unknown role") {
  const rootd::bcfg::View config = parse_config(kRuntimeBlob.view());
  std::array<rootd::Envelope, 32> envelopes{};
  std::array<rootd::Transfer, 20> transfers{};
  const auto few = rootd::synthesize_envelopes(config, kSources, envelopes, transfers);
  REQUIRE_FALSE(few.ok());
  CHECK(few.error().reason == Reason::INTERNAL_CAPACITY);
  std::array<rootd::Envelope, 3> too_few_envelopes{};
  std::array<rootd::Transfer, 256> plenty{};
  CHECK(rootd::synthesize_envelopes(config, kSources, too_few_envelopes, plenty).error().reason ==
        Reason::INTERNAL_CAPACITY);

  const Compiled c = compile({"none", foundation() + std::vector<Svc>{{"x", "nosuch"}}});
  const rootd::bcfg::View bad = c.view();
  const auto storage = std::make_unique<Storage>();
  const auto set = rootd::synthesize_envelopes(bad, kSources, *storage);
  REQUIRE_FALSE(set.ok());
  CHECK(set.error().reason == Reason::ROLE_UNKNOWN);
  CHECK(set.error().offset == bad.service_offset(bad.find_service("x")));
}

static void inventory_rules() {
  const rootd::bcfg::View config = parse_config(kRuntimeBlob.view());
  struct HandoffCase {
    const char* what;
    fixtures::HandoffShape shape;
    Reason expected;
  };
  const std::uint32_t n = static_cast<std::uint32_t>(config.service_count());
  const std::vector<HandoffCase> cases = {
      {"memory endpoint missing", {.omit_endpoints = 1U << 7}, Reason::INVENTORY_ENDPOINT_MISSING},
      {"memory endpoint off its slot", {.moved_endpoint = 7, .moved_to = 2225}, Reason::INVENTORY_ENDPOINT_NOT_CANONICAL},
      {"endpoint in legacy slot 4", {.moved_endpoint = 7, .moved_to = 4}, Reason::INVENTORY_LEGACY_SLOT_POPULATED},
      {"untyped in legacy slot 4", {.untyped_slot = 4}, Reason::INVENTORY_LEGACY_SLOT_POPULATED},
      {"image frame in legacy slot 4", {.image_frame_slot = 4}, Reason::INVENTORY_LEGACY_SLOT_POPULATED},
      {"module frame on the console slot", {.omit_endpoints = 1U << 5, .module_slot_override = 2192},
       Reason::INVENTORY_CANONICAL_SLOT_OCCUPIED},
      {"untyped on the COM1 slot", {.omit_endpoints = 1U << 6, .untyped_slot = 2208},
       Reason::INVENTORY_CANONICAL_SLOT_OCCUPIED},
      {"no room for the retained endpoints", {.slot_count = fixtures::kFirstFreeSlot + n - 1},
       Reason::INVENTORY_CSPACE_TOO_SMALL},
      // Three slots per service (retained endpoint, process cap, install
      // grant), docs/startup-protocol.md section 2: one short is too small.
      {"one slot short of three per service", {.slot_count = fixtures::kFirstFreeSlot + 3 * n - 1},
       Reason::INVENTORY_CSPACE_TOO_SMALL},
      {"no boot-config", {.omit_module = "boot-config"}, Reason::MODULE_BOOT_CONFIG_MISSING},
      {"memd image missing", {.omit_module = "memd"}, Reason::MODULE_SERVICE_IMAGE_MISSING},
  };
  for (const HandoffCase& c : cases) {
    INFO(c.what);
    const auto blob = fixtures::make_handoff(fixtures::kRuntimeModules, c.shape);
    const rootd::handoff::View h = parse_handoff(blob.view());
    std::vector<rootd::Error> errors;
    auto collect = [&](rootd::Error e) {
      errors.push_back(e);
      return true;
    };
    const bool inventory_clean = rootd::validate_inventory(config, h, collect);
    const bool modules_clean = rootd::validate_modules(config, h, collect);
    CHECK(inventory_clean != modules_clean);  // each case breaks exactly one of the two...
    note(errors);
    REQUIRE(!errors.empty());
    CHECK(errors[0].reason == c.expected);
    // ...with the offset in the blob the reason says.
    const bool in_handoff = rootd::offset_is_in_handoff(c.expected);
    CHECK(errors[0].offset <= (in_handoff ? h.bytes().size() : config.bytes().size()));
    CHECK(errors[0].blob == (in_handoff ? rootd::Blob::HANDOFF : rootd::Blob::CONFIG));
    if (c.expected == Reason::MODULE_SERVICE_IMAGE_MISSING) {
      CHECK(rootd::owner_of(config, errors[0]) == config.find_service("memd"));
    }
  }
  // Exactly three slots per service and the verifier scratch slot is enough;
  // without the scratch slot it is not.
  const auto exact =
      fixtures::make_handoff(fixtures::kRuntimeModules, {.slot_count = fixtures::kFirstFreeSlot + 3 * n + 1});
  CHECK(inventory_clean(config, parse_handoff(exact.view())));
  const auto no_scratch = fixtures::make_handoff(fixtures::kRuntimeModules, {.slot_count = fixtures::kFirstFreeSlot + 3 * n});
  CHECK_FALSE(inventory_clean(config, parse_handoff(no_scratch.view())));
  // The slot field of the entry at fault.
  const auto moved = fixtures::make_handoff(fixtures::kRuntimeModules, {.moved_endpoint = 7, .moved_to = 2225});
  const rootd::handoff::View hm = parse_handoff(moved.view());
  rootd::FirstError first;
  CHECK_FALSE(rootd::validate_runtime_inventory(hm, first));
  CHECK(rootd::load_le32(hm.bytes(), first.error.offset) == 2225);

  // The slots rootd holds at entry (validate_slots, given rdx): slot 0..3
  // and the root endpoint's slot are nobody else's, and rdx lies in
  // (legacy slot, first_free_slot).
  {
    std::vector<rootd::Error> slot_errors;
    auto collect_slots = [&](rootd::Error e) {
      slot_errors.push_back(e);
      return true;
    };
    const auto fixed = fixtures::make_handoff(fixtures::kRuntimeModules, {.untyped_slot = 1});
    const rootd::handoff::View hf = parse_handoff(fixed.view());
    CHECK_FALSE(rootd::validate_slots(hf, fixtures::kFirstFreeSlot - 1, collect_slots));
    CHECK_FALSE(rootd::validate_slots(hf, fixtures::kImageFrameSlot, collect_slots));
    CHECK_FALSE(rootd::validate_slots(hf, fixtures::kFirstFreeSlot, collect_slots));
    REQUIRE(slot_errors.size() == 5);  // fixed; fixed + root named; invalid + fixed
    CHECK(slot_errors[0].reason == Reason::INVENTORY_FIXED_SLOT_NAMED);
    CHECK(slot_errors[1].reason == Reason::INVENTORY_ROOT_ENDPOINT_SLOT_NAMED);  // the image frame, visited first
    CHECK(slot_errors[3].reason == Reason::INVENTORY_ROOT_ENDPOINT_SLOT_INVALID);
    rootd::FirstError clean_error;
    const auto clean = fixtures::make_handoff(fixtures::kRuntimeModules);
    CHECK(rootd::validate_slots(parse_handoff(clean.view()), fixtures::kFirstFreeSlot - 1, clean_error));
    note(slot_errors);
  }
  // Every endpoint kind must be present, even those the config does not need:
  // one the handoff leaves out could still sit in rootd's cspace, unshed.
  Cfg phase0{"phase0", foundation() + std::vector<Svc>{{"phase0-probe", "phase0-probe"}}};
  const Compiled c0 = compile(phase0);
  const rootd::bcfg::View v0 = c0.view();
  static constexpr std::string_view kPhase0Modules[] = {"boot-config", "memd", "pagerd", "phase0-probe", "procd",
                                                        "vspaced"};
  const std::uint32_t unused = (1U << 1) | (1U << 5) | (1U << 6) | (1U << 13) | (1U << 14);
  const auto lean = fixtures::make_handoff(kPhase0Modules, {.omit_endpoints = unused});
  rootd::FirstError lean_error;
  CHECK_FALSE(rootd::validate_inventory(v0, parse_handoff(lean.view()), lean_error));
  CHECK(lean_error.error.reason == Reason::INVENTORY_ENDPOINT_MISSING);
  CHECK(rootd::validate_modules(v0, parse_handoff(lean.view()), lean_error));
  CHECK(rootd::required_endpoints(v0) == ((1U << 0) | (1U << 7) | (1U << 8) | (1U << 9) | (1U << 11)));

  // The profile's own modules.
  Cfg fb{"phase3-framebuffer", foundation() + std::vector<Svc>{{"fbcond", "fbcond"}}};
  const Compiled cfb = compile(fb);
  static constexpr std::string_view kFbModules[] = {"boot-config", "console-font", "fbcond", "memd",
                                                    "pagerd",      "procd",        "vspaced"};
  const auto with_font = fixtures::make_handoff(kFbModules);
  rootd::FirstError font_error;
  CHECK(rootd::validate_modules(cfb.view(), parse_handoff(with_font.view()), font_error));
  const auto without_font = fixtures::make_handoff(kFbModules, {.omit_module = "console-font"});
  std::vector<rootd::Error> errors;
  CHECK_FALSE(rootd::validate_modules(cfb.view(), parse_handoff(without_font.view()), [&](rootd::Error e) {
    errors.push_back(e);
    return true;
  }));
  note(errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].reason == Reason::MODULE_PROFILE_MODULE_MISSING);
  CHECK(errors[0].offset == cfb.view().profile_offset());
}

// test_roles.cpp holds the table of rules; these are the inputs that reach
// each of their reasons for the coverage check.
static void authorize_rules() {
  auto transfer = [](AuthorityKind k, std::uint32_t local, std::uint32_t rights) {
    rootd::Transfer t;
    t.op = rootd::abi::CapOp::COPY_ATTENUATED;
    t.authority = k;
    t.local_slot = local;
    t.source_slot = 5000;
    t.rights = rights;
    t.source_rights = rootd::abi::kAllRights;
    return t;
  };
  const rootd::Role& memd = rootd::role(RoleId::MEMD);
  const rootd::Role& procd = rootd::role(RoleId::PROCD);
  const rootd::Role& deviced = rootd::role(RoleId::DEVICED);
  const rootd::Role& service = rootd::role(RoleId::SERVICE);
  std::vector<rootd::Error> errors;
  auto run = [&](const rootd::Role& r, rootd::Transfer t) { errors.push_back(rootd::authorize(r, t)); };
  rootd::Transfer t = transfer(AuthorityKind::SERVICE_ENDPOINT, 1, 1);
  t.op = rootd::abi::CapOp::COPY;
  run(memd, t);
  t.op = rootd::abi::CapOp::DELETE;
  run(memd, t);
  run(memd, transfer(AuthorityKind::SERVICE_ENDPOINT, 4, 1));
  run(memd, transfer(AuthorityKind::DEDICATED_ENDPOINT, 3000, 1));
  run(memd, transfer(static_cast<AuthorityKind>(7), 1, 1));
  run(memd, transfer(AuthorityKind::SERVICE_ENDPOINT, 1, 0));
  t = transfer(AuthorityKind::SERVICE_ENDPOINT, 1, 3);
  t.source_rights = 1;
  run(memd, t);
  run(memd, transfer(AuthorityKind::SERVICE_ENDPOINT, 1, rootd::abi::kAllRights));
  run(service, transfer(AuthorityKind::DEDICATED_ENDPOINT, 2048, 1));
  run(procd, transfer(AuthorityKind::DEDICATED_ENDPOINT, 2200, 1));
  run(deviced, transfer(AuthorityKind::IMAGE_FRAME, 2096, 8));
  run(procd, transfer(AuthorityKind::IMAGE_FRAME, 2095, 8));
  t = transfer(AuthorityKind::PEER_ENDPOINT, 2048, 1);
  t.peer_role = RoleId::MEMD;
  run(service, t);
  t.peer_role = RoleId::PROBED;
  t.local_slot = 2100;
  run(deviced, t);
  t = transfer(AuthorityKind::STORAGE_ENDPOINT, 2048, 1);
  t.peer_role = RoleId::E2FSD;
  run(service, t);
  run(memd, transfer(AuthorityKind::SERVICE_ENDPOINT, 2, 1));
  // A profile module: another role, then its consumer at another slot.
  run(service, transfer(AuthorityKind::PROFILE_MODULE, 2097, rootd::abi::RIGHT_READ));
  run(rootd::role(RoleId::FBCOND), transfer(AuthorityKind::PROFILE_MODULE, 2098, rootd::abi::RIGHT_READ));
  note(errors);
}

TEST_CASE("config checks: each rule has a config that breaks it") { config_rules(); }
TEST_CASE("envelope set checks: each deviation is refused with its reason") { envelope_rules(); }
TEST_CASE("inventory and module checks against the handoff") { inventory_rules(); }

TEST_CASE("every reason of the policy and inventory blocks is reached") {
  reached().clear();
  config_rules();
  envelope_rules();
  inventory_rules();
  authorize_rules();
  std::set<Reason> defined;
  for (const rootd::ReasonInfo& row : rootd::kReasonTable) {
    const auto n = static_cast<unsigned>(row.reason);
    if ((n >= 300 && n < 370) || (n >= 400 && n < 450)) defined.insert(row.reason);
  }
  REQUIRE(!defined.empty());
  for (Reason r : defined) {
    INFO(std::string(rootd::reason_name(r)));
    CHECK(reached().count(r) == 1);
  }
  // And nothing outside them came out of these checks except the generic ones.
  for (Reason r : reached()) {
    const auto n = static_cast<unsigned>(r);
    INFO(std::string(rootd::reason_name(r)));
    CHECK((defined.count(r) == 1 || r == Reason::NONE || n < 100));
  }
}
