// End to end: the real rootd images under erix-boot, every example.
//
// The integration image runs the verifiers its profile selects after every
// service is READY and prints their proofs, in verifier order, before the
// terminal READY line; the runtime image prints no proof and boots as it
// did before verifiers existed. A simulated service that misbehaves when a
// verifier calls it makes the boot fail closed: exit 13, a DETAIL line
// VERIFY_<FAILURE>:<VERIFIER>:<STEP>:<service>, leaks=0 (the ledger is the
// oracle that nothing launched or received survives).
//
// The expected proof lists are the ones docs/vfsd-protocol.md,
// docs/loaderd-protocol.md, docs/fbcond-protocol.md and
// docs/inputd-protocol.md document for each verifier.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "erix_boot_cli.hpp"

namespace {

using Run = erix::test::CliRun;
std::string quote(const std::string& s) { return erix::test::shell_quote(s); }

std::string example(const std::string& name) {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  return std::string(root) + "/examples/" + name;
}

Run erix_boot(const std::string& args) { return erix::test::run_erix_boot(args); }

std::string image(const char* variable) {
  const char* path = std::getenv(variable);
  REQUIRE(path != nullptr);
  return quote(path);
}

std::vector<std::string> proofs(const Run& run) {
  std::vector<std::string> out;
  for (const auto& l : run.lines) {
    if (l.rfind("ERIX_ROOTD:PROOF:", 0) == 0) out.push_back(l.substr(17));
  }
  return out;
}

std::string summary(const Run& run) { return run.lines.empty() ? std::string() : run.lines.back(); }

// Each verifier's documented proofs, in the order it prints them.
const std::map<std::string, std::vector<std::string>> kVerifierProofs = {
    {"loader-contract",
     {"LOADER_PATH_ONLY", "LOADER_ARGS_BOUNDED", "LOADER_RESPONSE_STATES", "LOADER_NO_AUTHORITY",
      "LOADER_STATIC_BRIDGE"}},
    {"loader-fs-discovery",
     {"LOADER_FS_DISCOVERY", "LOADER_FS_MISSING", "LOADER_FS_DIRECTORY", "LOADER_FS_MALFORMED", "LOADER_FS_DENIED",
      "LOADER_FS_OVERSIZED", "LOADER_FS_STALE", "LOADER_FS_BAD_ELF", "LOADER_FS_BAD_PLAN",
      "LOADER_FS_REQUIRE_DYNAMIC"}},
    {"loader-materialized-launch",
     {"LOADER_OK_EXIT", "LOADER_ALT_EXIT", "LOADER_STALE_SOURCE", "LOADER_PROCESS_HANDOFF"}},
    {"loader-cleanup-authority",
     {"LOADER_CLEANUP_1", "LOADER_CLEANUP_2", "LOADER_CLEANUP_3", "LOADER_CLEANUP_4", "LOADER_AUTHORITY_DENIED"}},
    {"volatile-vfs",
     {"VFS_RENAME", "VFS_TRUNCATE", "VFS_SYMLINK", "VFS_LINK_REFUSED", "VFS_METADATA", "VOLATILE_VFS"}},
    {"framebuffer", {"FB_STREAM_WRITE", "FB_RETAINED_SCAN"}},
    {"input", {"INPUT_KEY", "INPUT_MOUSE"}},
};

std::vector<std::string> storage_mount(int mounts) {
  std::vector<std::string> p;
  for (int m = 0; m < mounts; ++m) p.push_back("VFS_MOUNT_" + std::to_string(m));
  p.push_back("STORAGE_MOUNT");
  return p;
}

std::vector<std::string> concat(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_CASE("the integration image proves every example's profile; the runtime image proves nothing") {
  const auto& v = kVerifierProofs;
  const std::map<std::string, std::vector<std::string>> expected = {
      {"phase0.toml", {}},  // the probe is phase0's proof, not a verifier
      {"phase3-framebuffer.toml", v.at("framebuffer")},
      {"phase3-input.toml", v.at("input")},
      {"phase4-loader-contract.toml", concat({storage_mount(1), v.at("volatile-vfs"), v.at("loader-contract")})},
      {"phase4-loader-fs-discovery.toml", concat({storage_mount(1), v.at("loader-fs-discovery")})},
      {"phase4-loader-materialized-launch.toml", v.at("loader-materialized-launch")},
      {"phase4-loader-cleanup-authority.toml", v.at("loader-cleanup-authority")},
      {"phase4-loader-closure.toml",
       concat({v.at("loader-fs-discovery"), v.at("loader-materialized-launch"), v.at("loader-cleanup-authority")})},
      {"runtime.toml", storage_mount(2)},
  };
  for (const auto& [name, want] : expected) {
    INFO(name);
    const Run integration = erix_boot("--image " + image("ROOTD_INTEGRATION_IMAGE") + " " + quote(example(name)));
    CHECK(integration.code == 0);
    CHECK(proofs(integration) == want);
    CHECK(summary(integration).find("status=READY") != std::string::npos);
    CHECK(summary(integration).find("leaks=0") != std::string::npos);
    // Every proof comes before the terminal status line.
    std::size_t last_proof = 0, terminal = 0;
    for (std::size_t i = 0; i < integration.lines.size(); ++i) {
      if (integration.lines[i].rfind("ERIX_ROOTD:PROOF:", 0) == 0) last_proof = i;
      if (integration.lines[i] == "ERIX_ROOTD:READY") terminal = i;
    }
    CHECK(terminal > last_proof);

    const Run runtime = erix_boot(quote(example(name)));
    CHECK(runtime.code == 0);
    CHECK(proofs(runtime).empty());
    for (const auto& l : runtime.lines) CHECK(l.find("PROOF") == std::string::npos);
  }
}

TEST_CASE("a service that misbehaves under a verifier fails the integration boot closed, naming it") {
  struct Case {
    std::string config, service, verifier;
  };
  const std::vector<Case> cases = {
      {"runtime.toml", "vfsd", "STORAGE_MOUNT"},
      {"phase4-loader-contract.toml", "loaderd", "LOADER_CONTRACT"},
      {"phase4-loader-fs-discovery.toml", "loaderd", "LOADER_FS_DISCOVERY"},
      {"phase4-loader-materialized-launch.toml", "loaderd", "LOADER_MATERIALIZED_LAUNCH"},
      {"phase4-loader-cleanup-authority.toml", "loaderd", "LOADER_CLEANUP_AUTHORITY"},
      {"phase3-framebuffer.toml", "fbcond", "FRAMEBUFFER"},
      {"phase3-input.toml", "inputd", "INPUT"},
  };
  const std::map<std::string, std::string> failure_of = {
      {"wrong-reply", "WRONG_REPLY"}, {"wrong-data", "WRONG_DATA"}, {"extra-cap", "EXTRA_CAP"}, {"slow", "BUDGET"}};
  for (const Case& c : cases) {
    for (const auto& [point, failure] : failure_of) {
      INFO(c.config << " " << c.service << ":" << point);
      const Run run = erix_boot("--image " + image("ROOTD_INTEGRATION_IMAGE") + " --fault " + c.service + ":" + point +
                                " " + quote(example(c.config)));
      CHECK(run.code == 13);
      std::string detail;
      for (const auto& l : run.lines) {
        if (l.rfind("ERIX_ROOTD:DETAIL:", 0) == 0) detail = l;
      }
      const std::string prefix = "ERIX_ROOTD:DETAIL:VERIFY_" + failure + ":" + c.verifier + ":";
      CHECK(detail.rfind(prefix, 0) == 0);
      // VERIFY_<F>:<VERIFIER>:<STEP>:<service>: a named step, the service last.
      const std::string rest = detail.size() > prefix.size() ? detail.substr(prefix.size()) : std::string();
      CHECK(rest.find(':') > 0);
      CHECK(rest.substr(rest.rfind(':') + 1) == c.service);
      CHECK(summary(run).find("status=SERVICE_BOOTSTRAP_FAILED") != std::string::npos);
      CHECK(summary(run).find("leaks=0") != std::string::npos);
      CHECK(proofs(run).size() < 64);
    }
    // The runtime image never calls the public protocols: the same fault is unnoticed.
    const Run runtime = erix_boot("--fault " + c.service + ":wrong-data " + quote(example(c.config)));
    CHECK(runtime.code == 0);
  }
}
