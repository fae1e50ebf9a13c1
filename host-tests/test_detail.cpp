// The DETAIL marker names the service that owns a contract error.
//
// One row per CONTRACT_INVALID reason that a boot can reach: a crafted
// config (and, for module reasons, a handoff missing a module) is booted
// in-process, and rootd's last-but-one line must be
// "ERIX_ROOTD:DETAIL:<REASON>:<service>", naming the service owner_of
// (owner.hpp) assigns, or no service where the whole config is at fault.
// Every other CONTRACT_INVALID reason sits in kNotBooted with the reason it
// has no row; a reason in neither list fails the completeness test, so a new
// reason cannot slip past without a decision.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "kernel_model.hpp"
#include "policy_fixtures.hpp"
#include "rootd/status.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;
using rootd::Reason;
using rootd::Status;

namespace {

using fixtures::kFoundationToml;

std::string service(std::string_view name, std::string_view role, std::string_view extra = {}) {
  std::string s = "[[service]]\nname = \"" + std::string(name) + "\"\nrole = \"" + std::string(role) + "\"\n";
  if (!extra.empty()) s += std::string(extra) + "\n";
  return s;
}

std::string provider(std::string_view name, std::string_view fs, std::string_view extra = {}) {
  std::string s = "[[provider]]\nname = \"" + std::string(name) + "\"\nservice = \"" + std::string(fs) + "\"\n";
  if (!extra.empty()) s += std::string(extra) + "\n";
  return s;
}

std::string mount(std::string_view path, std::string_view prov) {
  return "[[mount]]\npath = \"" + std::string(path) + "\"\nprovider = \"" + std::string(prov) + "\"\n";
}

std::string with_profile(std::string_view profile, std::string body) {
  // The profile key belongs before the first table.
  return "version = 1\nprofile = \"" + std::string(profile) + "\"\n" + body.substr(body.find("[[service]]"));
}

// How the handoff differs from the one the config would get.
enum class Handoff { AS_BUILT, WITHOUT_IMAGE_OF_X, WITHOUT_PROFILE_MODULES };

struct Row {
  Reason reason;
  std::string toml;
  std::string owner;  // the service the DETAIL names; empty: none
  Handoff handoff = Handoff::AS_BUILT;
};

std::vector<Row> rows() {
  const std::string f(kFoundationToml);
  const std::string vfsd = service("vfsd", "vfsd");
  const std::string ramfsd = service("ramfsd", "ramfsd");
  std::string many_peers;
  std::string peer_list;
  for (int k = 0; k <= 16; ++k) {
    const std::string name = (k < 10 ? "p0" : "p") + std::to_string(k);
    many_peers += service(name, "service");
    peer_list += (peer_list.empty() ? "\"" : ", \"") + name + "\"";
  }
  return {
      {Reason::CONFIG_NO_SERVICES, "version = 1\n", ""},
      {Reason::ROLE_UNKNOWN, f + service("x", "nosuch"), "x"},
      {Reason::ROLE_DRIVER_NOT_LAUNCHED_BY_DEVICED, f + service("deviced", "deviced") + service("serial", "drv-serial"),
       "serial"},
      {Reason::ROLE_LAUNCHED_BY_DEVICED_NOT_DRIVER,
       f + service("deviced", "deviced") + service("x", "service", "launch = \"deviced\""), "x"},
      {Reason::ROLE_SINGLETON_REPEATED, f + service("log-a", "logd") + service("log-b", "logd"), "log-b"},
      {Reason::ROLE_FOUNDATION_INCOMPLETE,
       "version = 1\n" + service("memd", "memd") + service("pagerd", "pagerd") + service("procd", "procd"), "pagerd"},
      {Reason::ROLE_PROCD_MISSING,
       "version = 1\n" + service("memd", "memd") + service("vspaced", "vspaced") + service("pagerd", "pagerd") +
           service("x", "service"),
       "x"},
      {Reason::ROLE_DEVICED_MISSING, f + service("serial", "drv-serial", "launch = \"deviced\""), "serial"},
      {Reason::PROFILE_UNKNOWN, with_profile("nosuch", f), ""},
      {Reason::PROFILE_ROLE_MISSING, with_profile("phase0", f), ""},
      {Reason::PROFILE_PROBE_UNEXPECTED, f + service("probe", "phase0-probe"), "probe"},
      {Reason::PROFILE_BLOCK_STORAGE_MISSING,
       with_profile("phase4-loader-fs-discovery",
                    f + service("deviced", "deviced") +
                        service("drv-virtio-block", "drv-virtio-block", "launch = \"deviced\"") +
                        service("blockd", "blockd") + service("e2fsd", "e2fsd") + vfsd +
                        service("loaderd", "loaderd", "peers = [\"vfsd\", \"procd\"]")),
       ""},
      {Reason::PEER_SELF, f + service("x", "service", "peers = [\"x\"]"), "x"},
      {Reason::PEER_NOT_PERMITTED, f + service("x", "service", "peers = [\"memd\"]"), "x"},
      {Reason::PEER_STORAGE_WITHOUT_PROVIDER, f + ramfsd + service("vfsd", "vfsd", "peers = [\"ramfsd\"]"), "vfsd"},
      {Reason::PEER_EXACT_SET_INCOMPLETE, f + service("loaderd", "loaderd"), "loaderd"},
      {Reason::PEER_CAPACITY_EXCEEDED, f + many_peers + service("x", "service", "peers = [" + peer_list + "]"), "x"},
      {Reason::PROVIDER_SERVICE_NOT_FILESYSTEM, f + vfsd + service("x", "service") + provider("p", "x") + mount("/", "p"),
       "x"},
      {Reason::PROVIDER_BLOCK_NOT_BLOCK_SERVICE,
       f + vfsd + service("e2fsd", "e2fsd") + service("x", "service") + provider("p", "e2fsd", "block = \"x\"") +
           mount("/", "p"),
       "e2fsd"},
      {Reason::PROVIDER_KEY_NOT_KEY_SERVICE,
       f + vfsd + service("e2fsd", "e2fsd") + service("blockd", "blockd") + service("x", "service") +
           provider("p", "e2fsd", "block = \"blockd\"\nkey = \"x\"") + mount("/", "p"),
       "e2fsd"},
      {Reason::PROVIDER_BLOCK_REQUIRED, f + vfsd + service("e2fsd", "e2fsd") + provider("p", "e2fsd") + mount("/", "p"),
       "e2fsd"},
      {Reason::PROVIDER_BLOCK_FORBIDDEN,
       f + vfsd + ramfsd + service("blockd", "blockd") + provider("p", "ramfsd", "block = \"blockd\"") +
           mount("/", "p"),
       "ramfsd"},
      {Reason::PROVIDER_KEY_FORBIDDEN,
       f + vfsd + service("fatd", "fatd") + service("blockd", "blockd") + service("keyd", "keyd") +
           provider("p", "fatd", "block = \"blockd\"\nkey = \"keyd\"") + mount("/", "p"),
       "fatd"},
      {Reason::PROVIDER_PARTITION_WITHOUT_BLOCK,
       f + vfsd + ramfsd + provider("p", "ramfsd", "partition = 1") + mount("/", "p"), "ramfsd"},
      {Reason::PROVIDER_SERVICE_SHARED,
       f + vfsd + ramfsd + provider("a", "ramfsd") + provider("b", "ramfsd") + mount("/", "a") + mount("/b", "b"),
       "ramfsd"},
      {Reason::PROVIDER_NOT_MOUNTED, f + vfsd + ramfsd + provider("p", "ramfsd"), "ramfsd"},
      {Reason::STORAGE_VFSD_MISSING, f + ramfsd + provider("p", "ramfsd") + mount("/", "p"), "ramfsd"},
      {Reason::MOUNT_ROOT_MISSING, f + vfsd, "vfsd"},
      {Reason::MOUNT_PATH_NOT_ABSOLUTE, f + vfsd + ramfsd + provider("p", "ramfsd") + mount("x", "p"), "ramfsd"},
      {Reason::MOUNT_PATH_EMPTY_COMPONENT, f + vfsd + ramfsd + provider("p", "ramfsd") + mount("/a//b", "p"),
       "ramfsd"},
      {Reason::MOUNT_PATH_TRAILING_SLASH, f + vfsd + ramfsd + provider("p", "ramfsd") + mount("/a/", "p"), "ramfsd"},
      {Reason::MOUNT_PATH_DOT_COMPONENT, f + vfsd + ramfsd + provider("p", "ramfsd") + mount("/a/..", "p"), "ramfsd"},
      {Reason::MODULE_SERVICE_IMAGE_MISSING, f + service("x", "service"), "x", Handoff::WITHOUT_IMAGE_OF_X},
      {Reason::MODULE_PROFILE_MODULE_MISSING, with_profile("phase3-framebuffer", f + service("fbcond", "fbcond")), "",
       Handoff::WITHOUT_PROFILE_MODULES},
      {Reason::ORDER_SELF_DEPENDENCY, f + service("x", "service", "after = [\"x\"]"), "x"},
      {Reason::ORDER_CYCLE, f + service("x", "service", "after = [\"y\"]") + service("y", "service", "after = [\"x\"]"),
       "x"},
      {Reason::ORDER_FOUNDATION_WAITS_FOR_SERVICE,
       "version = 1\n" + service("memd", "memd", "after = [\"x\"]") + service("vspaced", "vspaced") +
           service("pagerd", "pagerd") + service("procd", "procd") + service("x", "service"),
       "memd"},
      {Reason::ORDER_BLOCK_DRIVER_MISSING,
       f + vfsd + service("e2fsd", "e2fsd") + service("blockd", "blockd") +
           provider("p", "e2fsd", "block = \"blockd\"\npartition = 1") + mount("/", "p"),
       "blockd"},
  };
}

struct NotBooted {
  Reason reason;
  std::string_view why;
};

constexpr std::string_view kStructural =
    "the blob fails bcfg::parse, before any service table exists to name a service from";
constexpr std::string_view kByConstruction =
    "owned by the envelope's service (owner_of names it), but no boot reaches it: rootd checks the envelopes it "
    "synthesizes itself from a config that passed validate_config, and those meet this rule by construction "
    "(test_envelope reaches it by editing synthesized envelopes)";

std::vector<NotBooted> not_booted() {
  std::vector<NotBooted> out = {
#define DETAIL_X_STRUCTURAL(name, num, st) {Reason::name, kStructural},
      ROOTD_REASONS_BCFG(DETAIL_X_STRUCTURAL)
#undef DETAIL_X_STRUCTURAL
  };
  for (Reason r : {Reason::TRANSFER_CAP_COPY_DENIED, Reason::TRANSFER_CAP_OP_UNKNOWN, Reason::TRANSFER_LEGACY_SLOT,
                   Reason::TRANSFER_OUTSIDE_WINDOW, Reason::TRANSFER_AUTHORITY_UNKNOWN, Reason::TRANSFER_RIGHTS_EMPTY,
                   Reason::TRANSFER_RIGHTS_EXCEED_SOURCE, Reason::TRANSFER_RIGHTS_EXCEED_RULE,
                   Reason::TRANSFER_DEDICATED_NOT_AUTHORIZED, Reason::TRANSFER_DEDICATED_SLOT_MISMATCH,
                   Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED, Reason::TRANSFER_IMAGE_FRAME_SLOT_MISMATCH,
                   Reason::TRANSFER_PEER_SLOT_INVALID, Reason::TRANSFER_STORAGE_PAIR_INVALID,
                   Reason::TRANSFER_SERVICE_ENDPOINT_SLOT_MISMATCH, Reason::ENVELOPE_IDENTITY_MISMATCH,
                   Reason::ENVELOPE_ROLE_MISMATCH, Reason::ENVELOPE_WINDOW_MISMATCH,
                   Reason::ENVELOPE_PRIMARY_SLOT_MISMATCH, Reason::ENVELOPE_PRIMARY_MISSING,
                   Reason::ENVELOPE_IMAGE_FRAME_MISSING, Reason::ENVELOPE_SLOT_COLLISION,
                   Reason::ENVELOPE_DEDICATED_REPEATED, Reason::ENVELOPE_SERVICE_ENDPOINT_INVALID,
                   Reason::ENVELOPE_SOURCE_MISMATCH, Reason::ENVELOPE_PEER_INDEX_INVALID,
                   Reason::ENVELOPE_PEER_ROLE_MISMATCH, Reason::ENVELOPE_PEER_NOT_CONFIGURED,
                   Reason::ENVELOPE_PEER_MISSING, Reason::ENVELOPE_PEER_REPEATED,
                   Reason::TRANSFER_MODULE_NOT_AUTHORIZED, Reason::TRANSFER_MODULE_SLOT_MISMATCH,
                   Reason::ENVELOPE_DEDICATED_MISSING, Reason::ENVELOPE_STORAGE_ENDPOINT_MISSING}) {
    out.push_back({r, kByConstruction});
  }
  out.push_back({Reason::ENVELOPE_COUNT_MISMATCH,
                 "about the service table as a whole (no owner), and rootd's streaming check makes one envelope "
                 "per service by construction"});
  out.push_back({Reason::MODULE_BOOT_CONFIG_MISSING,
                 "about the handoff, which lacks the config itself: there is no service to name"});
  out.push_back({Reason::FORCED_FAILURE, "an integration fault hook, not a property of the config"});
  for (Reason r : {Reason::HOOK_EMPTY, Reason::HOOK_UNKNOWN, Reason::HOOK_SERVICE_MISSING, Reason::HOOK_SERVICE_SURPLUS,
                   Reason::HOOK_SERVICE_NAME_INVALID, Reason::HOOK_SERVICE_UNKNOWN}) {
    out.push_back({r, "integration hook text rootd does not understand, not a property of the config "
                      "(test_intake boots each)"});
  }
  return out;
}

struct Outcome {
  sim::EngineRun run;
};

Outcome boot(const Row& row) {
  auto parsed = sim::system_config_from_bytes(row.toml, "detail.toml");
  INFO(row.toml);
  if (!parsed) FAIL(parsed.error());
  const sim::SystemConfig cfg = *parsed;
  // The handoff is built from a copy that leaves out what the row removes.
  sim::SystemConfig built = cfg;
  if (row.handoff == Handoff::WITHOUT_IMAGE_OF_X) {
    for (auto& s : built.services) {
      if (s.name == "x") s.image = "x-elsewhere";
    }
  }
  if (row.handoff == Handoff::WITHOUT_PROFILE_MODULES) built.profile = "none";
  auto image = sim::build_system_image(built);
  REQUIRE(image);
  auto model = std::make_unique<sim::KernelModel>();
  auto services = std::make_unique<sim::Services>(*model);
  for (const auto& s : cfg.services) REQUIRE(services->add(s));
  auto root = model->boot_rootd(image->layout);
  REQUIRE(root);
  sim::ModelDriver driver(*model);
  Outcome out;
  out.run = sim::run_engine<rootd::boot::RuntimeVariant>(
      rootd::Bytes(image->handoff.data(), image->handoff.size()), *root, driver);
  return out;
}

}  // namespace

TEST_CASE("every CONTRACT_INVALID reason is booted or has a written reason not to be") {
  const std::vector<Row> table = rows();
  const std::vector<NotBooted> excluded = not_booted();
  std::size_t contract_reasons = 0;
  for (const rootd::ReasonInfo& info : rootd::kReasonTable) {
    if (info.status != Status::CONTRACT_INVALID) continue;
    ++contract_reasons;
    INFO(info.name);
    const auto in_rows = std::count_if(table.begin(), table.end(), [&](const Row& r) { return r.reason == info.reason; });
    const auto in_excluded =
        std::count_if(excluded.begin(), excluded.end(), [&](const NotBooted& n) { return n.reason == info.reason; });
    CHECK(in_rows + in_excluded == 1);
  }
  // Both lists name only CONTRACT_INVALID reasons, each with its why.
  for (const Row& r : table) {
    INFO(rootd::reason_name(r.reason));
    CHECK(rootd::reason_status(r.reason) == Status::CONTRACT_INVALID);
  }
  for (const NotBooted& n : excluded) {
    INFO(rootd::reason_name(n.reason));
    CHECK(rootd::reason_status(n.reason) == Status::CONTRACT_INVALID);
    CHECK(!n.why.empty());
  }
  CHECK(table.size() + excluded.size() == contract_reasons);
}

TEST_CASE("the DETAIL line of each contract error names the service that owns it") {
  for (const Row& row : rows()) {
    const std::string name(rootd::reason_name(row.reason));
    INFO(name);
    INFO(row.toml);
    const Outcome o = boot(row);
    const sim::EngineRun& run = o.run;
    CHECK(run.parked);
    CHECK(run.status == Status::CONTRACT_INVALID);
    CHECK(run.reason == row.reason);
    REQUIRE(run.lines.size() >= 2);
    CHECK(run.lines.back() == std::string(rootd::kMarkerPrefix) + "CONTRACT_INVALID");
    std::string detail = std::string(rootd::kDetailPrefix) + name;
    if (!row.owner.empty()) detail += ":" + row.owner;
    CHECK(run.lines[run.lines.size() - 2] == detail);
    CHECK(run.failed_service == row.owner);
  }
}
