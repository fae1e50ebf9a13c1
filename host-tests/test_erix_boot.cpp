// erix-boot end to end: the real rootd ELFs boot the example configs to
// READY with nothing leaked; every fault point on a spread of services ends
// in SERVICE_BOOTSTRAP_FAILED with everything torn down; a damaged handoff
// is refused by rootd (never READY, never a crash); the exit codes and the
// summary line follow docs/erix-boot.md.
//
// The program runs as a subprocess, exactly as a user runs it. Paths come
// from the environment (host-tests/meson.build).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "erix_boot_cli.hpp"
#include "kernel_model.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "rootd/inventory.hpp"
#include "rootd/sink.hpp"
#include "system_image.hpp"

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) FAIL("environment variable " << name << " is not set");
  return v;
}

std::string quote(const std::string& s) { return erix::test::shell_quote(s); }

std::string example(std::string_view name) { return env("ROOTD_SOURCE_ROOT") + "/examples/" + std::string(name); }
std::string temp_path(std::string_view name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/erix-boot-test-" + std::to_string(::getpid()) + "-" +
         std::string(name);
}

struct Run {
  int exit_code = -1;
  std::vector<std::string> lines;  // stdout

  bool has_line(std::string_view line) const {
    for (const auto& l : lines) {
      if (l == line) return true;
    }
    return false;
  }
  bool has_line_starting(std::string_view prefix) const {
    for (const auto& l : lines) {
      if (l.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }
};

Run run_tool(const std::string& tool, const std::string& args) {
  erix::test::CliRun run = erix::test::run_cli(tool, args);
  return Run{run.code, std::move(run.lines)};
}

Run boot(const std::string& args) { return run_tool(env("ERIX_BOOT"), args); }

struct Summary {
  std::string status;
  std::map<std::string, std::uint64_t> numbers;  // ticks, critical_path, kernel_calls, services, leaks
};

// The last stdout line, which must be the summary in its exact form.
std::optional<Summary> summary_of(const Run& r) {
  if (r.lines.empty()) return std::nullopt;
  std::istringstream in(r.lines.back());
  std::string word;
  in >> word;
  if (word != "summary:") return std::nullopt;
  Summary s;
  const std::vector<std::string> keys = {"status", "ticks", "critical_path", "kernel_calls", "services", "leaks"};
  for (const std::string& key : keys) {
    if (!(in >> word)) return std::nullopt;
    const auto eq = word.find('=');
    if (eq == std::string::npos || word.substr(0, eq) != key || eq + 1 == word.size()) return std::nullopt;
    const std::string value = word.substr(eq + 1);
    if (key == "status") {
      s.status = value;
    } else {
      if (value.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      s.numbers[key] = std::stoull(value);
    }
  }
  if (in >> word) return std::nullopt;  // nothing after leaks
  return s;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::size_t service_count(const std::string& toml) {
  std::ifstream in(toml);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line == "[[service]]" ? 1 : 0;
  return n;
}

// Leak lines (printed without --audit) of processes other than rootd. rootd
// still parks holding caps after a failure until the engine sheds them all;
// these lines say whether anything else leaked.
std::vector<std::string> child_leaks(const Run& r) {
  std::vector<std::string> out;
  for (const auto& l : r.lines) {
    if (l.rfind("audit: leak: pid ", 0) == 0 && l.rfind("audit: leak: pid 1 rootd ", 0) != 0) out.push_back(l);
  }
  return out;
}
std::size_t rootd_leaks(const Run& r) {
  std::size_t n = 0;
  for (const auto& l : r.lines) n += l.rfind("audit: leak: pid 1 rootd slot ", 0) == 0 ? 1 : 0;
  return n;
}

void check_ready(const Run& r, std::size_t services) {
  INFO("last line: " << (r.lines.empty() ? std::string("<none>") : r.lines.back()));
  CHECK(r.exit_code == 0);
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(s->status == "READY");
  CHECK(s->numbers.at("leaks") == 0);
  CHECK(s->numbers.at("services") == services);
  CHECK(s->numbers.at("kernel_calls") > 0);
  // The critical path is a lower bound no boot can beat.
  CHECK(s->numbers.at("critical_path") > 0);
  CHECK(s->numbers.at("ticks") >= s->numbers.at("critical_path"));
  CHECK(r.lines.size() >= 2);
  if (r.lines.size() >= 2) CHECK(r.lines[r.lines.size() - 2] == "ERIX_ROOTD:READY");
}

}  // namespace

TEST_CASE("the example configs boot to READY with nothing leaked") {
  const std::string config = GENERATE(std::string("runtime.toml"), std::string("phase0.toml"));
  INFO(config);
  const Run r = boot(quote(example(config)));
  check_ready(r, service_count(example(config)));
  // Runtime images announce every service they bring up.
  CHECK(r.has_line("ERIX_ROOTD:READY:MEMD"));
  CHECK(r.has_line("ERIX_ROOTD:READY:PROCD"));
}

TEST_CASE("the default config is examples/runtime.toml") {
  const Run r = boot("");
  check_ready(r, service_count(example("runtime.toml")));
  CHECK(r.has_line("ERIX_ROOTD:READY:LOADERD"));
}

TEST_CASE("every build variant of rootd boots the runtime config") {
  const std::string variant = GENERATE(std::string("ROOTD_RUNTIME_IMAGE"), std::string("ROOTD_RELEASE_IMAGE"),
                                       std::string("ROOTD_INTEGRATION_IMAGE"));
  INFO(variant);
  const Run r = boot("--image " + quote(env(variant.c_str())) + " " + quote(example("runtime.toml")));
  check_ready(r, service_count(example("runtime.toml")));
  const bool release = variant == "ROOTD_RELEASE_IMAGE";
  const bool integration = variant == "ROOTD_INTEGRATION_IMAGE";
  CHECK(r.has_line("ERIX_ROOTD:READY:VFSD") == !release);
  CHECK(r.has_line_starting("ROOTD_STAGE:") == integration);
}

TEST_CASE("a binary ERIXBCFG config boots like its TOML source") {
  const std::string blob = temp_path("runtime.bcfg");
  const Run compiled =
      run_tool(env("ERIX_BCFG"), "compile " + quote(example("runtime.toml")) + " -o " + quote(blob));
  REQUIRE(compiled.exit_code == 0);
  const Run from_blob = boot(quote(blob));
  const Run from_toml = boot(quote(example("runtime.toml")));
  std::remove(blob.c_str());
  check_ready(from_blob, service_count(example("runtime.toml")));
  CHECK(from_blob.lines == from_toml.lines);
}

TEST_CASE("each fault point on a spread of services fails the boot and tears everything down") {
  const std::string point = GENERATE(std::string("spawn"), std::string("start"), std::string("handshake"),
                                     std::string("not-ready"), std::string("crash"));
  // Foundation (kernel control), procd-launched, the launchers themselves,
  // a driver (deviced), storage, and the last service of the graph.
  const std::string service = GENERATE(std::string("memd"), std::string("pagerd"), std::string("procd"),
                                       std::string("logd"), std::string("deviced"), std::string("drv-serial"),
                                       std::string("blockd"), std::string("vfsd"), std::string("loaderd"));
  INFO(service << ":" << point);
  const Run r = boot("--fault " + service + ":" + point + " " + quote(example("runtime.toml")));
  CHECK(r.exit_code == 13);
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(s->status == "SERVICE_BOOTSTRAP_FAILED");
  CHECK(child_leaks(r).empty());
  CHECK(s->numbers.at("leaks") == 0);
  CHECK(r.has_line("ERIX_ROOTD:SERVICE_BOOTSTRAP_FAILED"));
  CHECK(r.has_line_starting("ERIX_ROOTD:DETAIL:"));
  CHECK_FALSE(r.has_line("ERIX_ROOTD:READY"));
}

TEST_CASE("faults of the phase0 probe fail the smoke boot") {
  const std::string point = GENERATE(std::string("spawn"), std::string("handshake"), std::string("not-ready"),
                                     std::string("crash"));
  INFO(point);
  const Run r = boot("--fault phase0-probe:" + point + " " + quote(example("phase0.toml")));
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(child_leaks(r).empty());
  CHECK(s->numbers.at("leaks") == 0);
  // A malformed probe event is a failed handshake (BOOT_HANDSHAKE_INVALID)
  // like any service's: the same status as every other probe fault.
  CHECK(r.exit_code == 13);
  CHECK(s->status == "SERVICE_BOOTSTRAP_FAILED");
}

TEST_CASE("latency moves the clock and the critical path together") {
  const Run base = boot(quote(example("runtime.toml")));
  const Run slow = boot("--latency memd=1000 " + quote(example("runtime.toml")));
  const auto a = summary_of(base);
  const auto b = summary_of(slow);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(slow.exit_code == 0);
  // memd is on every path (the foundation chain starts with it).
  const std::uint64_t added = 1000 - 10;
  CHECK(b->numbers.at("critical_path") == a->numbers.at("critical_path") + added);
  CHECK(b->numbers.at("ticks") == a->numbers.at("ticks") + added);
}

TEST_CASE("a damaged handoff is refused, never READY and never a crash") {
  const std::string good = temp_path("good.hoff");
  const std::string bad = temp_path("bad.hoff");
  const Run written = boot("--write-handoff " + quote(good) + " " + quote(example("runtime.toml")));
  REQUIRE(written.exit_code == 0);
  const std::vector<char> handoff = read_bytes(good);
  REQUIRE(handoff.size() > 64);

  // The unmodified bytes boot: the damage below is what fails them.
  const Run same = boot("--handoff " + quote(good) + " " + quote(example("runtime.toml")));
  CHECK(same.exit_code == 0);

  std::vector<std::vector<char>> damaged;
  // One flipped bit at offsets spread over header, descriptors and tables.
  for (std::size_t at = 0; at < handoff.size(); at += handoff.size() / 23 + 1) {
    auto d = handoff;
    d[at] = static_cast<char>(d[at] ^ (1 << (at % 8)));
    damaged.push_back(std::move(d));
  }
  // Truncations, including empty, and trailing garbage.
  for (std::size_t keep : {std::size_t{0}, std::size_t{7}, std::size_t{32}, handoff.size() / 2, handoff.size() - 1}) {
    damaged.emplace_back(handoff.begin(), handoff.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  {
    auto d = handoff;
    d.insert(d.end(), {'j', 'u', 'n', 'k', 0, 0, 0, 0});
    damaged.push_back(std::move(d));
  }
  for (std::size_t i = 0; i < damaged.size(); ++i) {
    write_bytes(bad, damaged[i]);
    const Run r = boot("--handoff " + quote(bad) + " " + quote(example("runtime.toml")));
    INFO("case " << i << ", " << damaged[i].size() << " bytes, last line: "
                 << (r.lines.empty() ? std::string("<none>") : r.lines.back()));
    CHECK(r.exit_code != 0);
    CHECK(r.exit_code != 3);
    const auto s = summary_of(r);
    REQUIRE(s.has_value());
    CHECK(s->status != "READY");
    CHECK(child_leaks(r).empty());
    CHECK(s->numbers.at("leaks") == 0);
  }
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("a handoff naming the kernel-control slot for a module frame is refused before anything starts") {
  const std::string good = temp_path("fixed-slot-good.hoff");
  const std::string bad = temp_path("fixed-slot-bad.hoff");
  REQUIRE(boot("--write-handoff " + quote(good) + " " + quote(example("runtime.toml"))).exit_code == 0);
  std::vector<char> b = read_bytes(good);
  // By docs/handoff-format.md: descriptors from byte 32 (kind u16, size u32
  // at +4); the modules table is kind 4, its entries 56 bytes with
  // frame_slot at +16. The first module's frame cap moves to slot 1.
  auto le32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(b[at + i])} << (8 * i);
    return v;
  };
  std::size_t at = 32;
  while (at + 8 <= b.size() && (le32(at) & 0xFFFF) != 4) at += le32(at + 4);
  REQUIRE(at + 8 + 56 <= b.size());
  const std::size_t slot_field = at + 8 + 16;
  b[slot_field] = 1;
  b[slot_field + 1] = b[slot_field + 2] = b[slot_field + 3] = 0;
  REQUIRE(rootd::ok(rootd::handoff::seal(rootd::MutableBytes(b.data(), b.size()))));
  write_bytes(bad, b);
  const Run r = boot("--handoff " + quote(bad) + " " + quote(example("runtime.toml")));
  std::remove(good.c_str());
  std::remove(bad.c_str());
  CHECK(r.exit_code == rootd::status_exit_code(rootd::Status::HANDOFF_INVALID));
  CHECK(r.has_line("ERIX_ROOTD:DETAIL:INVENTORY_FIXED_SLOT_NAMED"));
  CHECK(r.has_line("ERIX_ROOTD:HANDOFF_INVALID"));
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(s->status == "HANDOFF_INVALID");
  CHECK(s->numbers.at("services") == 0);
  CHECK(s->numbers.at("leaks") == 0);
}

TEST_CASE("a config that breaks a policy rule boots, and rootd refuses it") {
  const std::string path = temp_path("bad-role.toml");
  {
    std::ofstream out(path);
    out << "version = 1\nprofile = \"none\"\n\n[[service]]\nname = \"memd\"\nrole = \"no-such-role\"\n";
  }
  const Run r = boot(quote(path));
  std::remove(path.c_str());
  CHECK(r.exit_code == 11);
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(s->status == "CONTRACT_INVALID");
  CHECK(r.has_line_starting("ERIX_ROOTD:DETAIL:"));
}

TEST_CASE("bad usage and unreadable input exit 2") {
  const std::string runtime = quote(example("runtime.toml"));
  const std::vector<std::string> cases = {
      "--no-such-option",
      "--trace",
      "--chart /nonexistent/dir/chart.svg " + runtime,
      "--fault memd " + runtime,
      "--fault memd:explode " + runtime,
      "--fault no-such-service:crash " + runtime,
      "--latency memd " + runtime,
      "--latency memd=soon " + runtime,
      // The clock cannot hold these: the sum of latencies passes 2^64 - 1.
      "--latency memd=18446744073709551615 " + runtime,
      "--latency memd=9223372036854775808 --latency procd=9223372036854775808 " + runtime,
      "--image",
      "--image /nonexistent/rootd " + runtime,
      "--image " + runtime + " " + runtime,  // a TOML file is no ELF
      "/nonexistent/config.toml",
      "--handoff /nonexistent/handoff " + runtime,
      runtime + " " + runtime,
  };
  for (const std::string& args : cases) {
    INFO(args);
    const Run r = boot(args);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(summary_of(r).has_value());
  }
  const Run help = boot("--help");
  CHECK(help.exit_code == 0);
  CHECK(help.has_line_starting("usage: erix-boot"));
}

TEST_CASE("an image that makes an unknown system call exits 3") {
  // The runner's probe ELF reads rdi (here the handoff address) as a mode it
  // does not know and reports that with a call number outside the ABI.
  const Run r = boot("--image " + quote(env("ERIX_PTRACE_PROBE")) + " " + quote(example("runtime.toml")));
  CHECK(r.exit_code == 3);
  CHECK_FALSE(summary_of(r).has_value());
}

TEST_CASE("--trace and --chart describe the boot that ran") {
  const std::string trace = temp_path("boot.json");
  const std::string chart = temp_path("boot.svg");
  const Run r = boot("--fault vfsd:crash --trace " + quote(trace) + " --chart " + quote(chart) + " " +
                     quote(example("runtime.toml")));
  CHECK(r.exit_code == 13);
  const std::vector<char> json_bytes = read_bytes(trace);
  const std::vector<char> svg_bytes = read_bytes(chart);
  std::remove(trace.c_str());
  std::remove(chart.c_str());
  const std::string json(json_bytes.begin(), json_bytes.end());
  const std::string svg(svg_bytes.begin(), svg_bytes.end());
  CHECK(json.rfind("{\"displayTimeUnit\"", 0) == 0);
  CHECK(json.find("\"traceEvents\":[") != std::string::npos);
  CHECK(json.find("\"name\":\"vfsd handshake\"") != std::string::npos);
  CHECK(json.find("\"answer\":\"crashed\"") != std::string::npos);
  CHECK(json.find("\"name\":\"ERIX_ROOTD:SERVICE_BOOTSTRAP_FAILED\"") != std::string::npos);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find(">loaderd<") == std::string::npos);  // never started: vfsd failed first
  CHECK(svg.find(">vfsd<") != std::string::npos);
  CHECK(svg.find("SERVICE_BOOTSTRAP_FAILED") != std::string::npos);
  CHECK(svg.find("</svg>") != std::string::npos);
}

TEST_CASE("--stack reports the deepest stack byte rootd touched, before the summary") {
  const Run r = boot("--stack " + quote(example("phase0.toml")));
  CHECK(r.exit_code == 0);
  const std::vector<std::string>& all = r.lines;
  REQUIRE(all.size() >= 2);
  const std::string& stack_line = all[all.size() - 2];
  REQUIRE(stack_line.rfind("stack: peak=", 0) == 0);
  const unsigned long peak = std::stoul(stack_line.substr(std::string("stack: peak=").size()));
  CHECK(peak > 64);               // rootd_main's frames at least
  CHECK(peak < (1UL << 20));      // not the whole mapped stack
  CHECK(all.back().rfind("summary: ", 0) == 0);
}

TEST_CASE("the boot chart highlights the critical path") {
  const std::string chart = temp_path("critical.svg");
  // memd's latency makes it the head of the one longest chain.
  const Run r = boot("--latency memd=500 --chart " + quote(chart) + " " + quote(example("phase0.toml")));
  CHECK(r.exit_code == 0);
  const std::vector<char> bytes = read_bytes(chart);
  std::remove(chart.c_str());
  const std::string svg(bytes.begin(), bytes.end());
  CHECK(svg.find("memd: ready at tick 500 (critical path)") != std::string::npos);
  CHECK(svg.find("procd: ready at tick") != std::string::npos);
  CHECK(svg.find(" (critical path)</title>") != std::string::npos);
}

TEST_CASE("--hooks reaches the integration image's fault hooks and nothing else") {
  const std::string args = "--hooks force-service-fail:logd " + quote(example("runtime.toml"));
  const Run integration = boot("--image " + quote(env("ROOTD_INTEGRATION_IMAGE")) + " " + args);
  CHECK(integration.exit_code == 13);
  CHECK(integration.has_line("ERIX_ROOTD:DETAIL:BOOT_FORCED_SERVICE_FAILURE:logd"));
  const auto s = summary_of(integration);
  REQUIRE(s.has_value());
  CHECK(child_leaks(integration).empty());
  CHECK(s->numbers.at("leaks") == 0);
  // A runtime image has no hooks: the extra module changes nothing.
  check_ready(boot("--image " + quote(env("ROOTD_RUNTIME_IMAGE")) + " " + args), service_count(example("runtime.toml")));
}

TEST_CASE("hook text the integration image does not understand is refused, not ignored") {
  const std::string runtime = quote(example("runtime.toml"));
  const Run unknown = boot("--image " + quote(env("ROOTD_INTEGRATION_IMAGE")) + " --hooks force-fial " + runtime);
  CHECK(unknown.exit_code == rootd::status_exit_code(rootd::Status::CONTRACT_INVALID));
  CHECK(unknown.has_line("ERIX_ROOTD:DETAIL:HOOK_UNKNOWN"));
  const auto s = summary_of(unknown);
  REQUIRE(s.has_value());
  CHECK(s->numbers.at("services") == 0);
  CHECK(s->numbers.at("leaks") == 0);
  const Run absent =
      boot("--image " + quote(env("ROOTD_INTEGRATION_IMAGE")) + " --hooks force-service-fail:nosuch " + runtime);
  CHECK(absent.exit_code == rootd::status_exit_code(rootd::Status::CONTRACT_INVALID));
  CHECK(absent.has_line("ERIX_ROOTD:DETAIL:HOOK_SERVICE_UNKNOWN:nosuch"));
  // The runtime image ignores the hooks module, understood or not.
  check_ready(boot("--image " + quote(env("ROOTD_RUNTIME_IMAGE")) + " --hooks force-fial " + runtime),
              service_count(example("runtime.toml")));
}

TEST_CASE("a config that starts no service is refused by rootd and by erix-bcfg check") {
  const std::string path = temp_path("no-services.toml");
  {
    std::ofstream out(path);
    out << "version = 1\nprofile = \"none\"\n";
  }
  const Run r = boot(quote(path));
  const Run check = run_tool(env("ERIX_BCFG"), "check " + quote(path));
  std::remove(path.c_str());
  CHECK(r.exit_code == rootd::status_exit_code(rootd::Status::CONTRACT_INVALID));
  CHECK(r.has_line("ERIX_ROOTD:DETAIL:CONFIG_NO_SERVICES"));
  CHECK_FALSE(r.has_line("ERIX_ROOTD:READY"));
  CHECK(check.exit_code != 0);
}

TEST_CASE("the largest latency sum the clock holds still boots") {
  // runtime.toml's other services keep the default 10 ticks each.
  const std::size_t n = service_count(example("runtime.toml"));
  const std::uint64_t memd = std::numeric_limits<std::uint64_t>::max() - 10 * (n - 1);
  const Run r = boot("--latency memd=" + std::to_string(memd) + " " + quote(example("runtime.toml")));
  CHECK(r.exit_code == 0);
  const Run over = boot("--latency memd=" + std::to_string(memd + 1) + " " + quote(example("runtime.toml")));
  CHECK(over.exit_code == 2);
  CHECK_FALSE(summary_of(over).has_value());
}

namespace {
// Boots the misbehaving root task with `script` as its handoff.
Run misbehave(const std::string& script) {
  const std::string path = temp_path("script.hoff");
  write_bytes(path, std::vector<char>(script.begin(), script.end()));
  Run r = boot("--image " + quote(env("ERIX_MISBEHAVING_ROOTD")) + " --handoff " + quote(path) + " " +
               quote(example("phase0.toml")));
  std::remove(path.c_str());
  return r;
}
}  // namespace

TEST_CASE("the exit code follows the last terminal status line") {
  const std::vector<std::pair<std::string, int>> statuses = {
      {"READY", 0}, {"HANDOFF_INVALID", 10}, {"CONTRACT_INVALID", 11}, {"INTERNAL_ERROR", 12},
      {"SERVICE_BOOTSTRAP_FAILED", 13},
  };
  for (const auto& [status, code] : statuses) {
    INFO(status);
    const Run r = misbehave("CRERIX_ROOTD:" + status);
    CHECK(r.exit_code == code);
    const auto s = summary_of(r);
    REQUIRE(s.has_value());
    CHECK(s->status == status);
  }
  // Neither a detail line nor an unknown status is a terminal status.
  CHECK(misbehave("RERIX_ROOTD:DETAIL:INTERNAL_CAPACITY").exit_code == 3);
  CHECK(misbehave("RERIX_ROOTD:READYISH").exit_code == 3);
}

TEST_CASE("a leak wins over READY: exit 20") {
  const Run r = misbehave("CL");
  CHECK(r.exit_code == 20);
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(s->status == "READY");
  CHECK(s->numbers.at("leaks") == 1);
  CHECK(r.has_line("audit: leak: pid 2 memd: created and never started"));
}

TEST_CASE("a child left running after a failed boot, and not named by its reason: a leak, exit 20") {
  const Run r = misbehave("CZ");
  CHECK(r.exit_code == 20);
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(s->status == "SERVICE_BOOTSTRAP_FAILED");
  CHECK(s->numbers.at("leaks") == 1);
  CHECK(r.has_line("audit: leak: pid 2 memd: alive after the failure, and the terminal reason does not name it"));
}

TEST_CASE("a child alive after a failure that the terminal reason names is no leak") {
  const Run r = misbehave("CN");
  CHECK(r.exit_code == 13);
  const auto s = summary_of(r);
  REQUIRE(s.has_value());
  CHECK(s->status == "SERVICE_BOOTSTRAP_FAILED");
  CHECK(s->numbers.at("leaks") == 0);
  CHECK_FALSE(r.has_line_starting("audit: leak: "));
}

// The rootd rule, without rootd's engine: a root task that parks with its
// four caps only is clean; one more cap of any kind is a leak that wins over
// READY; a root task that deletes nothing leaks every handoff cap it holds.
TEST_CASE("rootd parks with exactly its four caps, or leaks") {
  const Run clean = misbehave("CRERIX_ROOTD:READY");
  CHECK(clean.exit_code == 0);
  const auto c = summary_of(clean);
  REQUIRE(c.has_value());
  CHECK(c->numbers.at("leaks") == 0);

  const Run kept = misbehave("KRERIX_ROOTD:READY");
  CHECK(kept.exit_code == 20);
  const auto k = summary_of(kept);
  REQUIRE(k.has_value());
  CHECK(k->status == "READY");
  CHECK(k->numbers.at("leaks") == 1);
  CHECK(kept.has_line_starting("audit: leak: pid 1 rootd slot 5: frame#"));

  const Run hoarder = misbehave("RERIX_ROOTD:READY");
  CHECK(hoarder.exit_code == 20);
  const auto h = summary_of(hoarder);
  REQUIRE(h.has_value());
  // Every cap the kernel installed beyond the four: one per line.
  CHECK(h->numbers.at("leaks") > 1);
  CHECK(rootd_leaks(hoarder) == h->numbers.at("leaks"));
}

TEST_CASE("a root task that crashes, hangs or calls wrongly exits 3 with no summary") {
  // F fault, I int 0x80, S spin (2 s), W a WAIT that can never end, M and T
  // bad pointers, U unknown call number, P park without a status.
  for (const char* script : {"F", "I", "S", "W", "M", "T", "U", "P"}) {
    INFO(script);
    const Run r = misbehave(script);
    CHECK(r.exit_code == 3);
    CHECK_FALSE(summary_of(r).has_value());
  }
}

TEST_CASE("the system image: a handoff rootd's own checks accept, and the model installs") {
  namespace h = rootd::handoff;
  const std::string config_name = GENERATE(std::string("runtime.toml"), std::string("phase0.toml"));
  INFO(config_name);
  const auto config = erix::sim::load_system_config(example(config_name));
  REQUIRE(config.has_value());
  REQUIRE(config->blob_parses);
  REQUIRE(config->services.size() == service_count(example(config_name)));
  const auto image = erix::sim::build_system_image(*config);
  REQUIRE(image.has_value());

  const auto view = h::parse(rootd::Bytes(image->handoff.data(), image->handoff.size()));
  REQUIRE(view.ok());
  const auto cfg = rootd::bcfg::parse(rootd::Bytes(config->blob.data(), config->blob.size()));
  REQUIRE(cfg.ok());
  rootd::FirstError inventory;
  CHECK(rootd::validate_inventory(*cfg, *view, inventory));
  rootd::FirstError modules;
  CHECK(rootd::validate_modules(*cfg, *view, modules));

  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    const auto kind = static_cast<rootd::EndpointKind>(k);
    CHECK(view->endpoint(k).kind == kind);
    CHECK(view->endpoint(k).slot == rootd::endpoint_info(kind).local_slot);
  }
  CHECK(view->cspace().slot_count >= view->cspace().first_free_slot + 3 * config->services.size());
  REQUIRE(view->module_count() == image->modules.size());
  for (std::size_t i = 0; i < image->modules.size(); ++i) {
    const auto& m = image->modules[i];
    CHECK(view->module(i).name == m.name);
    CHECK(m.vaddr % h::kPageSize == 0);
    CHECK(m.vaddr >= erix::sim::kFirstModuleVaddr);
    CHECK(m.vaddr + m.bytes.size() <= erix::sim::kSystemAddressLimit);
    if (i > 0) CHECK(image->modules[i - 1].vaddr + image->modules[i - 1].bytes.size() <= m.vaddr);
  }
  const std::size_t bc = view->find_module("boot-config");
  REQUIRE(bc < view->module_count());
  CHECK(image->modules[bc].bytes == config->blob);

  erix::sim::KernelModel model;
  const auto root = model.boot_rootd(image->layout);
  REQUIRE(root.has_value());
  CHECK(*root < view->cspace().first_free_slot);
}

TEST_CASE("the critical path follows latencies along the dependency chain") {
  auto config = erix::sim::load_system_config(example("runtime.toml"));
  REQUIRE(config.has_value());
  const erix::sim::Tick base = erix::sim::critical_path(*config);
  // memd -> vspaced -> pagerd -> procd is a chain of four latencies at least.
  CHECK(base >= 4 * erix::sim::kDefaultLatency);
  for (auto& s : config->services) {
    if (s.name == "loaderd") s.latency += 500;  // last in the graph: on the longest path
  }
  CHECK(erix::sim::critical_path(*config) == base + 500);
}

TEST_CASE("configs that cannot be booted as given") {
  // A damaged blob still boots: rootd judges it; only boot-config is mapped.
  const std::string junk = std::string("ERIXBCFG") + std::string(8, '\0') + "junk";
  const auto blob = erix::sim::system_config_from_bytes(junk, "junk.bcfg");
  REQUIRE(blob.has_value());
  CHECK_FALSE(blob->blob_parses);
  CHECK(blob->services.empty());
  const auto image = erix::sim::build_system_image(*blob);
  REQUIRE(image.has_value());
  REQUIRE(image->modules.size() == 1);
  CHECK(image->modules[0].name == "boot-config");
  // TOML that does not compile has nothing to boot; the message is a diagnostic.
  const auto broken = erix::sim::system_config_from_bytes("version = 1\n[[service]\n", "broken.toml");
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().rfind("broken.toml:", 0) == 0);
}

TEST_CASE("--audit prints a rule for every capability; --audit-json writes the same ledger") {
  const std::string json_path = temp_path("ledger.json");
  const Run r = boot("--audit --audit-json " + quote(json_path) + " " + quote(example("runtime.toml")));
  CHECK(r.exit_code == 0);
  const std::vector<char> bytes = read_bytes(json_path);
  std::remove(json_path.c_str());
  const std::string json(bytes.begin(), bytes.end());
  std::size_t text_caps = 0;
  std::size_t carried = 0;
  for (const auto& l : r.lines) {
    if (l.rfind("audit:   slot ", 0) != 0) continue;
    ++text_caps;
    INFO(l);
    CHECK(l.find(" <- ") != std::string::npos);
    CHECK(l.find("LEAK") == std::string::npos);
    carried += l.find("carried-image-frame") != std::string::npos ? 1 : 0;
  }
  // rootd's four, and every service's caps; procd and deviced deleted the
  // image frame of each service they launched once they had started it.
  CHECK(text_caps > 4 + service_count(example("runtime.toml")));
  CHECK(carried == 0);
  CHECK(r.has_line("audit:   slot 1: kernel-control#1 rights=SEND <- rootd kernel-control (kernel at entry) max SEND"));
  auto count = [&json](std::string_view what) {
    std::size_t n = 0;
    for (auto at = json.find(what); at != std::string::npos; at = json.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count("{\"slot\":") == text_caps);
  CHECK(count("\"rule\":null") == 0);
  CHECK(count("\"leak\":true") == 0);
  CHECK(count("\"row\":\"carried-image-frame ") == 0);
  CHECK(json.find("\"leaks\":0}") != std::string::npos);
}

TEST_CASE("--audit-json marks each leak with a null rule") {
  const std::string json_path = temp_path("leaks.json");
  const std::string script = temp_path("keep.hoff");
  write_bytes(script, {'K', 'R', 'E', 'R', 'I', 'X', '_', 'R', 'O', 'O', 'T', 'D', ':', 'R', 'E', 'A', 'D', 'Y'});
  const Run r = boot("--image " + quote(env("ERIX_MISBEHAVING_ROOTD")) + " --handoff " + quote(script) +
                     " --audit-json " + quote(json_path) + " " + quote(example("phase0.toml")));
  std::remove(script.c_str());
  CHECK(r.exit_code == 20);
  const std::vector<char> bytes = read_bytes(json_path);
  std::remove(json_path.c_str());
  const std::string json(bytes.begin(), bytes.end());
  CHECK(json.find("{\"slot\":5,\"kind\":\"frame\",\"object\":\"frame#18[boot-image]\",\"rights\":[\"grant\",\"read\",\"execute\"],"
                  "\"rule\":null,\"leak\":true") != std::string::npos);
  CHECK(json.find("\"leaks\":1}") != std::string::npos);
}

TEST_CASE("an unwritable --audit-json file is a usage error before the boot starts") {
  const Run r = boot("--audit-json /nonexistent-directory/ledger.json " + quote(example("phase0.toml")));
  CHECK(r.exit_code == 2);
  CHECK(r.lines.empty());  // rootd never ran: no line at all
}

namespace {

struct FullRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs erix-boot with both streams kept.
FullRun boot_full(const std::string& args) {
  const std::string err_path = temp_path("stderr.txt");
  const std::string command = quote(env("ERIX_BOOT")) + " " + args + " 2>" + quote(err_path);
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  FullRun r;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::remove(err_path.c_str());
  return r;
}

std::size_t occurrences(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

TEST_CASE("erix-boot --version prints its name and a version number") {
  const FullRun r = boot_full("--version");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const std::string prefix = "erix-boot ";
  REQUIRE(r.out.rfind(prefix, 0) == 0);
  REQUIRE(r.out.back() == '\n');
  const std::string version = r.out.substr(prefix.size(), r.out.size() - prefix.size() - 1);
  // MAJOR.MINOR.PATCH, digits only.
  int dots = 0;
  bool digits_between = !version.empty() && version.front() != '.' && version.back() != '.';
  for (std::size_t i = 0; i < version.size(); ++i) {
    if (version[i] == '.') {
      ++dots;
      digits_between = digits_between && version[i + 1] != '.';
    } else {
      digits_between = digits_between && version[i] >= '0' && version[i] <= '9';
    }
  }
  CHECK(dots == 2);
  CHECK(digits_between);
  CHECK(boot_full("--version=1").exit_code == 2);
}

TEST_CASE("a bad input or output path is reported once, before anything boots or is written") {
  const std::string dir = temp_path("a-directory");
  const std::string empty = temp_path("empty-file");
  const std::string written = temp_path("must-not-appear.hoff");
  const std::string missing_dir = temp_path("no-such-dir") + "/out.json";
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  { std::ofstream(empty, std::ios::binary); }
  const std::string runtime = example("runtime.toml");
  std::remove(written.c_str());

  struct Case {
    std::string args;
    std::string path;  // the path the message must name, once
    std::string says;  // what it must say about it
  };
  const std::vector<Case> cases = {
      {quote(dir), dir, "is a directory"},
      {quote(empty), empty, "is empty"},
      {"--handoff " + quote(dir) + " " + quote(runtime), dir, "is a directory"},
      {"--image " + quote(dir) + " " + quote(runtime), dir, "is a directory"},
      {"--image " + quote(empty) + " " + quote(runtime), empty, "is empty"},
      {"--image /bin/true " + quote(runtime), "/bin/true", ""},
      {"--trace " + quote(missing_dir) + " " + quote(runtime), missing_dir, "No such file or directory"},
      {"--chart " + quote(dir) + " " + quote(runtime), dir, "is a directory"},
      {"--audit-json " + quote(missing_dir) + " " + quote(runtime), missing_dir, "No such file or directory"},
      {"--write-handoff " + quote(dir) + " " + quote(runtime), dir, "is a directory"},
      {"--trace " + quote(empty) + "/x.json " + quote(runtime), empty + "/x.json", "Not a directory"},
  };
  for (const Case& c : cases) {
    // A good output path next to the bad one: nothing may be written.
    const FullRun r = boot_full("--write-handoff " + quote(written) + " " + c.args);
    INFO(c.args << "\nstderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());  // rootd never ran: no report line, no summary
    CHECK(occurrences(r.err, c.path) == 1);
    CHECK(occurrences(r.err, "\n") == 1);  // one line
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.err.find("internal error") == std::string::npos);
    CHECK_FALSE(exists(written));
    std::remove(written.c_str());
  }
  // Still usable afterwards: the checks created and changed nothing.
  std::ifstream check(empty, std::ios::binary | std::ios::ate);
  CHECK(check.tellg() == 0);
  CHECK(::rmdir(dir.c_str()) == 0);  // fails if anything was created inside
  std::remove(empty.c_str());
}

TEST_CASE("an existing output file that cannot be written is refused before the boot") {
  if (::geteuid() == 0) {
    WARN("skipped: root may write a read-only file");
    return;
  }
  const std::string read_only = temp_path("read-only.json");
  { std::ofstream(read_only) << "keep"; }
  REQUIRE(::chmod(read_only.c_str(), 0444) == 0);
  const FullRun r = boot_full("--trace " + quote(read_only) + " " + quote(example("runtime.toml")));
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(occurrences(r.err, read_only) == 1);
  std::ifstream in(read_only);
  std::string text;
  in >> text;
  CHECK(text == "keep");
  std::remove(read_only.c_str());
}

// ---- storage: the disk blockd serves (docs/storage-intent.md) -------------------------

TEST_CASE("--disk: the real rootd boots against an sgdisk image, and fails closed on a partition it lacks") {
  const std::string sbin = "PATH=/usr/sbin:/sbin:$PATH ";
  if (std::system((sbin + "command -v sgdisk >/dev/null 2>&1").c_str()) != 0) {
    WARN("skipped: sgdisk is not installed (scripts/setup.sh installs gdisk)");
    return;
  }
  const std::string img = temp_path("disk.img");
  const std::string runtime = example("runtime.toml");
  REQUIRE(std::system(("truncate -s 16M " + quote(img) + " && " + sbin + "sgdisk -n 1:2048:+4M -t 1:ef00 " +
                       "-n 2:0:+8M -t 2:8300 " + quote(img) + " >/dev/null 2>&1").c_str()) == 0);
  check_ready(boot("--disk " + quote(img) + " " + quote(runtime)), service_count(runtime));

  REQUIRE(std::system((sbin + "sgdisk -d 2 " + quote(img) + " >/dev/null 2>&1").c_str()) == 0);
  const Run missing = boot("--disk " + quote(img) + " " + quote(runtime));
  CHECK(missing.exit_code == 13);
  CHECK(missing.has_line("ERIX_ROOTD:DETAIL:BOOT_STORAGE_PARTITION_MISSING:e2fsd"));
  CHECK_FALSE(missing.has_line_starting("ERIX_ROOTD:READY:VFSD"));
  REQUIRE(summary_of(missing).has_value());
  CHECK(summary_of(missing)->numbers.at("leaks") == 0);

  // Zeroed: no GPT at all.
  REQUIRE(std::system(("dd if=/dev/zero of=" + quote(img) + " bs=512 count=34 conv=notrunc >/dev/null 2>&1").c_str()) == 0);
  const Run blank = boot("--disk " + quote(img) + " " + quote(runtime));
  std::remove(img.c_str());
  CHECK(blank.exit_code == 13);
  CHECK(blank.has_line("ERIX_ROOTD:DETAIL:BOOT_STORAGE_NO_GPT:e2fsd"));
  CHECK(boot("--disk " + quote(temp_path("no-such.img")) + " " + quote(runtime)).exit_code == 2);
}
