// The simulated loaderd (sim/loader_service.hpp) and the loader fixtures
// (fixtures/, sim/loader_fixtures.hpp): programs launched by path really run
// under the ptrace runner, every typed error comes from the fixture that
// carries its defect, requests hold their bounds and move only forward,
// injected faults leave nothing behind, and the ledger explains a launch.
//
// The world is phase4-loader-closure booted in-process by the engine; the
// loader's calls go through Services::on_call as the kernel delivers them.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "loader_world.hpp"
#include "driver.hpp"
#include "elf_image.hpp"
#include "ledger.hpp"
#include "loader_fixtures.hpp"
#include "loader_service.hpp"
#include "ptrace_runner.hpp"
#include "services.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;
namespace wire = rootd::loader;
namespace abi = rootd::abi;
using Error = rootd::loader::LoaderError;
using wire::State;

namespace {

rootd::Bytes view(const std::vector<char>& b) { return rootd::Bytes(b.data(), b.size()); }

const std::vector<sim::LoaderFixture>& fixtures() { return erix::test::loader_fixtures(); }

const sim::LoaderFixture& fixture(const std::string& name) {
  for (const sim::LoaderFixture& f : fixtures()) {
    if (f.path == "/data/bin/" + name) return f;
  }
  FAIL("no fixture " << name);
  throw 0;
}

// ---- the booted world --------------------------------------------------------

using World = erix::test::LoaderWorld;
std::unique_ptr<World> boot(std::optional<sim::FaultPoint> loaderd_fault = std::nullopt) {
  return erix::test::boot_loader_world(loaderd_fault);
}

// ---- messages, built from the documented layout (not the service's code) ------

abi::Message path_message(std::uint32_t id, std::string_view path, std::size_t length_field) {
  abi::Message m;
  m.label = 0xA0;
  m.words[0] = id | (std::uint64_t{length_field & 0xFF} << 32);
  for (std::size_t i = 0; i < path.size() && i < 40; ++i) {
    m.words[1 + i / 8] |= std::uint64_t{static_cast<unsigned char>(path[i])} << (8 * (i % 8));
  }
  return m;
}
abi::Message path_message(std::uint32_t id, std::string_view path) { return path_message(id, path, path.size()); }

abi::Message args_message(std::uint32_t id, unsigned block, unsigned chunk, unsigned length, std::string_view bytes) {
  abi::Message m;
  m.label = 0xA1;
  m.words[0] = id | (std::uint64_t{block} << 32) | (std::uint64_t{chunk} << 40) | (std::uint64_t{length} << 48);
  for (std::size_t i = 0; i < bytes.size() && i < 40; ++i) {
    m.words[1 + i / 8] |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * (i % 8));
  }
  return m;
}

abi::Message simple(std::uint64_t label, std::uint32_t id) {
  abi::Message m;
  m.label = label;
  m.words[0] = id;
  return m;
}
abi::Message start(std::uint32_t id) { return simple(0xA2, id); }
abi::Message status(std::uint32_t id) { return simple(0xA3, id); }
abi::Message inspect(std::uint32_t id) { return simple(0xA4, id); }

constexpr std::uint64_t st(State s) { return static_cast<std::uint64_t>(s); }
constexpr std::uint64_t er(Error e) { return static_cast<std::uint64_t>(e); }

// LAUNCH_PATH then LAUNCH_START; the START reply.
abi::Message launch(World& w, std::uint32_t id, std::string_view path) {
  const abi::Message accepted = w.call(path_message(id, path));
  REQUIRE(accepted.label == 0);
  REQUIRE(accepted.words[0] == st(State::ACCEPTED));
  return w.call(start(id));
}

std::size_t scratch_caps(const World& w) {
  std::size_t n = 0;
  for (const auto& [slot, cap] : w.model->process(w.loaderd)->cspace) n += sim::is_loader_scratch_slot(slot) ? 1 : 0;
  return n;
}

std::size_t ledger_leaks(const World& w, sim::Ledger* out = nullptr) {
  sim::LedgerInputs in;
  in.config = rootd::Bytes(w.config.blob.data(), w.config.blob.size());
  const sim::Ledger ledger = sim::build_ledger(*w.model, in);
  if (out != nullptr) *out = ledger;
  return ledger.leak_count();
}

}  // namespace

// ---- the fixtures ------------------------------------------------------------------

TEST_CASE("loader-ok and loader-alt run under the ptrace runner and exit 42 and 43") {
  for (const auto& [name, code] : {std::pair{"loader-ok", 42}, std::pair{"loader-alt", 43}}) {
    auto image = sim::ElfImage::parse(view(fixture(name).bytes));
    REQUIRE(image);
    const sim::RunResult r = sim::run_to_exit(*image, {});
    INFO(name << ": " << r.note);
    CHECK(r.end == sim::RunEnd::exited);
    CHECK(r.code == static_cast<std::uint64_t>(code));
  }
}

TEST_CASE("a fixture's exit code comes from its run: killed mid-way, it reports no code of its own") {
  auto image = sim::ElfImage::parse(view(fixture("loader-ok").bytes));
  REQUIRE(image);
  sim::RunBounds bounds;
  bool killed = false;
  bounds.after_start = [&](sim::PtraceRunner& runner) {
    runner.kill();
    killed = true;
  };
  const sim::RunResult r = sim::run_to_exit(*image, bounds);
  CHECK(killed);
  CHECK(r.end == sim::RunEnd::lost);
  CHECK(r.code == sim::kCrashExitCode);
  CHECK(r.code != wire::kLoaderOkExitCode);

  // The same through loaderd: the reply carries what the run gave.
  auto w = boot();
  w->loader->run_bounds().after_start = bounds.after_start;
  const abi::Message m = launch(*w, 7, "/data/bin/loader-ok");
  CHECK(m.words[0] == st(State::EXITED));
  CHECK(m.words[2] == sim::kCrashExitCode);
}

TEST_CASE("a launched program that makes another system call or faults is reported as a crash") {
  // loader-ok with its exit call number changed to 6: the immediate 7 of
  // `mov $7, %eax` (GCC: B8 07 00 00 00) or of `push $7; pop %rax` (clang:
  // 6A 07 58).
  std::vector<char> other = fixture("loader-ok").bytes;
  auto image = sim::ElfImage::parse(view(other));
  REQUIRE(image);
  const sim::LoadSegment& text = image->segments().front();
  const std::size_t entry = text.file_offset + (image->entry() - text.vaddr);
  bool patched = false;
  for (std::size_t i = entry; i + 5 <= text.file_offset + text.file_size; ++i) {
    const auto op = static_cast<unsigned char>(other[i]);
    const auto after = static_cast<unsigned char>(other[i + 2]);
    if (other[i + 1] == 7 && ((op == 0xB8 && after == 0) || (op == 0x6A && after == 0x58))) {
      other[i + 1] = 6;
      patched = true;
      break;
    }
  }
  REQUIRE(patched);
  auto changed = sim::ElfImage::parse(view(other));
  REQUIRE(changed);
  sim::RunResult r = sim::run_to_exit(*changed, {});
  CHECK(r.end == sim::RunEnd::other_call);
  CHECK(r.code == sim::kCrashExitCode);

  // Its entry replaced by ud2: an invalid-opcode fault.
  std::vector<char> faulting = fixture("loader-ok").bytes;
  faulting[entry] = static_cast<char>(0x0F);
  faulting[entry + 1] = static_cast<char>(0x0B);
  auto faults = sim::ElfImage::parse(view(faulting));
  REQUIRE(faults);
  r = sim::run_to_exit(*faults, {});
  CHECK(r.end == sim::RunEnd::fault);
  CHECK(r.code == sim::kCrashExitCode);

  // A tight loop at the entry (jmp .): stopped at the bound.
  std::vector<char> spinning = fixture("loader-ok").bytes;
  spinning[entry] = static_cast<char>(0xEB);
  spinning[entry + 1] = static_cast<char>(0xFE);
  auto spins = sim::ElfImage::parse(view(spinning));
  REQUIRE(spins);
  sim::RunBounds bounds;
  bounds.limit = std::chrono::milliseconds(200);
  r = sim::run_to_exit(*spins, bounds);
  CHECK(r.end == sim::RunEnd::time_limit);
  CHECK(r.code == sim::kCrashExitCode);
}

TEST_CASE("each derived fixture carries exactly the defect it is named for") {
  const std::vector<char>& ok = fixture("loader-ok").bytes;
  auto problem = [](const sim::LoaderFixture& f) -> std::optional<sim::ElfProblem> {
    auto image = sim::ElfImage::parse(view(f.bytes));
    if (image) return std::nullopt;
    return image.error().problem;
  };
  CHECK_FALSE(problem(fixture("loader-ok")).has_value());
  CHECK_FALSE(problem(fixture("loader-alt")).has_value());
  CHECK(problem(fixture("bad-elf")) == sim::ElfProblem::bad_magic);
  CHECK(problem(fixture("bad-plan")) == sim::ElfProblem::segments_overlap);
  CHECK(problem(fixture("needs-dynamic")) == sim::ElfProblem::needs_interpreter);
  // One changed byte or field each, the rest as loader-ok.
  for (const char* name : {"bad-elf", "bad-plan", "needs-dynamic"}) {
    const std::vector<char>& b = fixture(name).bytes;
    REQUIRE(b.size() == ok.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < b.size(); ++i) differing += b[i] != ok[i] ? 1 : 0;
    INFO(name);
    CHECK(differing >= 1);
    CHECK(differing <= 4);
  }
  // oversized: still a valid image, only too large.
  const sim::LoaderFixture& big = fixture("oversized");
  CHECK(big.bytes.size() == wire::kMaxSourceBytes + 1);
  CHECK_FALSE(problem(big).has_value());
  CHECK(std::equal(ok.begin(), ok.end(), big.bytes.begin()));
  // denied: loader-ok's bytes without execute.
  CHECK(fixture("denied").bytes == ok);
  CHECK((fixture("denied").mode & 0111U) == 0);
  CHECK(fixture("loader-stale").bytes == ok);
  CHECK(fixture("loader-stale").unstable);
  CHECK_FALSE(fixture("loader-ok").unstable);
  CHECK(fixture("loader-alt").bytes != ok);
}

TEST_CASE("the fixture patches refuse bytes without the field they change") {
  const std::vector<char> junk(100, 'x');
  CHECK_FALSE(sim::break_elf_magic(view(junk)));
  CHECK_FALSE(sim::overlap_second_load(view(junk)));
  CHECK_FALSE(sim::make_last_load_interp(view(junk)));
  const std::vector<char> empty;
  CHECK_FALSE(sim::break_elf_magic(view(empty)));
  CHECK_FALSE(sim::make_loader_fixtures(view(junk), view(junk)));
}

// ---- loaderd's replies ---------------------------------------------------------------

TEST_CASE("loaderd launches loader-ok and loader-alt through procd, with no capability, and reports their codes") {
  auto w = boot();
  const sim::Pid procd = w->services->find("procd")->pid;
  const std::size_t root_messages = w->model->pending_messages();
  const std::size_t root_actions = w->model->pending_actions();
  for (const auto& [id, name, code] : {std::tuple{1U, "loader-ok", 42U}, std::tuple{2U, "loader-alt", 43U}}) {
    const abi::Message m = launch(*w, id, std::string("/data/bin/") + name);
    INFO(name);
    CHECK(m.label == 0);
    CHECK(m.cap == abi::kNoSlot);
    REQUIRE(m.words[0] == st(State::EXITED));
    CHECK(m.words[2] == code);
    const auto pid = static_cast<sim::Pid>(m.words[1]);
    const sim::Process* p = w->model->process(pid);
    REQUIRE(p != nullptr);
    CHECK(p->launcher == sim::Launcher::loader);
    CHECK(p->parent == procd);
    CHECK(p->name == name);
    CHECK(p->state == sim::ProcessState::exited);
    CHECK(p->exit_code == code);
    CHECK(p->cspace.empty());
    // STATUS repeats it; INSPECT counts from the model.
    const abi::Message again = w->call(status(id));
    CHECK(again.words[0] == m.words[0]);
    CHECK(again.words[1] == m.words[1]);
    CHECK(again.words[2] == m.words[2]);
    const abi::Message in = w->call(inspect(id));
    CHECK(in.label == 0);
    CHECK(in.words[0] == 0);
    CHECK(in.words[1] == static_cast<std::uint64_t>(wire::Bridge::STATIC_BOOTSTRAP));
    CHECK(in.words[2] == 0);
  }
  // Their STARTED and EXITED went to the launcher side, none to rootd.
  CHECK(w->model->pending_messages() == root_messages);
  CHECK(w->model->pending_actions() == root_actions);
  std::size_t exited = 0;
  for (const sim::RootDelivery& d : w->model->launcher_events()) {
    exited += d.message.label == static_cast<std::uint64_t>(abi::Event::EXITED) ? 1 : 0;
  }
  CHECK(exited == 2);
  CHECK(w->model->launcher_events().size() == 4);
  CHECK(scratch_caps(*w) == 0);
  // rootd's audit is not about them: they are procd's, kept for loaderd.
  const sim::Audit audit = w->model->audit();
  CHECK(audit.leak_count() == 0);
  for (const sim::Pid pid : audit.started_not_destroyed) CHECK(w->model->process(pid)->launcher != sim::Launcher::loader);
}

TEST_CASE("every failing fixture gives its typed error, no pid, and nothing left") {
  const std::vector<std::pair<std::string, Error>> cases = {
      {"/data/bin/missing", Error::NOT_FOUND},         {"/data/bin", Error::IS_DIRECTORY},
      {"/data/bin/denied", Error::DENIED},             {"/data/bin/oversized", Error::OVERSIZED},
      {"/data/bin/loader-stale", Error::STALE_SOURCE}, {"/data/bin/bad-elf", Error::BAD_ELF},
      {"/data/bin/bad-plan", Error::INVALID_LOAD_PLAN}, {"/data/bin/needs-dynamic", Error::REQUIRE_DYNAMIC},
  };
  auto w = boot();
  const std::size_t processes = w->model->processes().size();
  std::uint32_t id = 100;
  for (const auto& [path, error] : cases) {
    INFO(path);
    const abi::Message m = launch(*w, ++id, path);
    CHECK(m.words[0] == st(State::FAILED));
    CHECK(m.words[1] == er(error));
    CHECK(m.words[2] == 0);
    const abi::Message in = w->call(inspect(id));
    CHECK(in.words[0] == 0);
    CHECK(in.words[2] == 0);
  }
  CHECK(w->model->processes().size() == processes);
  CHECK(scratch_caps(*w) == 0);
  CHECK(ledger_leaks(*w) == 0);
}

TEST_CASE("loaderd without procd running cannot launch") {
  auto w = boot();
  // procd ends: what the loader finds through the kernel model, not a flag.
  const sim::Pid procd = w->services->find("procd")->pid;
  w->model->exit_process(procd, 0);
  const abi::Message m = launch(*w, 3, "/data/bin/loader-ok");
  CHECK(m.words[0] == st(State::FAILED));
  CHECK(m.words[1] == er(sim::kLauncherGone));
  CHECK(scratch_caps(*w) == 0);
}

TEST_CASE("LAUNCH_PATH refuses every malformed path and records nothing for it") {
  auto w = boot();
  struct Case {
    const char* what;
    abi::Message m;
  };
  abi::Message beyond = path_message(20, "/data/bin/loader-ok");
  beyond.words[5] = 0x41;  // a byte past the length
  abi::Message high_bits = path_message(21, "/data/bin/loader-ok");
  high_bits.words[0] |= std::uint64_t{1} << 40;
  abi::Message inner_nul = path_message(22, "/data/bin/loader-ok");
  inner_nul.words[1] &= ~std::uint64_t{0xFF} << 8;  // "/\0ata/..."
  const std::vector<Case> cases = {
      {"relative", path_message(10, "data/bin/loader-ok")},
      {"empty component", path_message(11, "/data//bin/loader-ok")},
      {"trailing slash", path_message(12, "/data/bin/")},
      {"dot-dot", path_message(13, "/data/bin/../bin/loader-ok")},
      {"dot", path_message(16, "/data/./bin/loader-ok")},
      {"length 0", path_message(14, "", 0)},
      {"length 41", path_message(15, "/data/bin/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 41)},
      {"a byte beyond the length", beyond},
      {"bits above the length", high_bits},
      {"NUL inside", inner_nul},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const abi::Message r = w->call(c.m);
    CHECK(r.words[0] == st(State::FAILED));
    CHECK(r.words[1] == er(Error::MALFORMED));
    // The id stays unknown.
    const auto id = static_cast<std::uint32_t>(c.m.words[0]);
    const abi::Message s = w->call(start(id));
    CHECK(s.words[0] == st(State::FAILED));
    CHECK(s.words[1] == er(Error::UNKNOWN_REQUEST));
    CHECK(w->loader->request(id) == nullptr);
  }
  // 40 bytes exactly is fine (then NOT_FOUND: no such file).
  const std::string forty = "/data/bin/" + std::string(30, 'a');
  REQUIRE(forty.size() == 40);
  CHECK(launch(*w, 30, forty).words[1] == er(Error::NOT_FOUND));
  CHECK(w->model->launcher_events().empty());
}

TEST_CASE("argv and env blocks are bounded, in order and NUL-terminated") {
  auto w = boot();
  // A 50-byte argv in two chunks, a short env: accepted, and the launch runs.
  std::string argv = std::string("loader-ok") + '\0' + std::string(39, 'x') + '\0';
  REQUIRE(argv.size() == 50);
  REQUIRE(w->call(path_message(1, "/data/bin/loader-ok")).words[0] == st(State::ACCEPTED));
  CHECK(w->call(args_message(1, 0, 0, 50, argv.substr(0, 40))).words[0] == st(State::ACCEPTED));
  CHECK(w->call(args_message(1, 0, 1, 50, argv.substr(40))).words[0] == st(State::ACCEPTED));
  CHECK(w->call(args_message(1, 1, 0, 6, std::string("A=1\0", 4) + std::string("\0\0", 2))).words[0] ==
        st(State::ACCEPTED));
  const abi::Message ran = w->call(start(1));
  CHECK(ran.words[0] == st(State::EXITED));
  CHECK(ran.words[2] == 42);
  CHECK(w->loader->request(1)->blocks[0].bytes == std::vector<char>(argv.begin(), argv.end()));
  // Arguments after the start change nothing.
  CHECK(w->call(args_message(1, 1, 0, 2, std::string("B\0", 2))).words[1] == er(Error::MALFORMED));
  CHECK(w->call(status(1)).words[0] == st(State::EXITED));

  struct Case {
    const char* what;
    std::vector<abi::Message> messages;  // the last one is refused
  };
  auto ok_chunk = [](std::uint32_t id, unsigned chunk, unsigned length) {
    return args_message(id, 0, chunk, length, std::string(chunk * 40 + 40 >= length ? length - chunk * 40 - 1 : 40, 'a'));
  };
  abi::Message reserved = args_message(16, 0, 0, 2, std::string("a\0", 2));
  reserved.words[0] |= std::uint64_t{1} << 33;
  const std::vector<Case> cases = {
      {"over the bound", {args_message(10, 0, 0, 257, std::string(40, 'a'))}},
      {"length 0", {args_message(11, 0, 0, 0, "")}},
      {"out of order", {args_message(12, 0, 1, 60, std::string(19, 'a'))}},
      {"a chunk twice", {ok_chunk(13, 0, 60), ok_chunk(13, 0, 60)}},
      {"not NUL-terminated", {args_message(14, 0, 0, 3, "abc")}},
      {"length changes", {ok_chunk(15, 0, 60), args_message(15, 0, 1, 61, std::string(20, 'a'))}},
      {"reserved bits", {reserved}},
      {"bytes beyond the length", {args_message(17, 1, 0, 2, std::string("a\0b", 3))}},
      {"a chunk past the end", {args_message(18, 0, 0, 2, std::string("a\0", 2)), args_message(18, 0, 1, 2, "")}},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const auto id = static_cast<std::uint32_t>(c.messages.front().words[0]);
    REQUIRE(w->call(path_message(id, "/data/bin/loader-ok")).words[0] == st(State::ACCEPTED));
    for (std::size_t i = 0; i + 1 < c.messages.size(); ++i) {
      REQUIRE(w->call(c.messages[i]).words[0] == st(State::ACCEPTED));
    }
    const abi::Message r = w->call(c.messages.back());
    CHECK(r.words[0] == st(State::FAILED));
    CHECK(r.words[1] == er(Error::MALFORMED));
    const abi::Message s = w->call(start(id));
    CHECK(s.words[0] == st(State::FAILED));
    CHECK(s.words[1] == er(Error::MALFORMED));
    CHECK(s.words[2] == 0);
  }
  // A block started and never finished: START refuses it.
  REQUIRE(w->call(path_message(40, "/data/bin/loader-ok")).words[0] == st(State::ACCEPTED));
  REQUIRE(w->call(ok_chunk(40, 0, 60)).words[0] == st(State::ACCEPTED));
  const abi::Message half = w->call(start(40));
  CHECK(half.words[0] == st(State::FAILED));
  CHECK(half.words[1] == er(Error::MALFORMED));
  // Arguments for a request nobody made.
  CHECK(w->call(args_message(999, 0, 0, 2, std::string("a\0", 2))).words[1] == er(Error::UNKNOWN_REQUEST));
  // Only the one good launch ran.
  CHECK(w->model->launcher_events().size() == 2);
}

TEST_CASE("request states only move forward and final ones repeat identically") {
  auto w = boot();
  CHECK(w->call(status(5)).words[0] == st(State::FAILED));
  CHECK(w->call(status(5)).words[1] == er(Error::UNKNOWN_REQUEST));
  CHECK(w->call(start(5)).words[1] == er(Error::UNKNOWN_REQUEST));
  CHECK(w->call(inspect(5)).words[1] == er(Error::UNKNOWN_REQUEST));
  REQUIRE(w->call(path_message(5, "/data/bin/loader-alt")).words[0] == st(State::ACCEPTED));
  CHECK(w->call(status(5)).words[0] == st(State::ACCEPTED));
  // A second LAUNCH_PATH with the same id is refused and changes nothing.
  CHECK(w->call(path_message(5, "/data/bin/loader-ok")).words[1] == er(Error::MALFORMED));
  CHECK(w->loader->request(5)->path == "/data/bin/loader-alt");
  const abi::Message first = w->call(start(5));
  REQUIRE(first.words[0] == st(State::EXITED));
  for (int i = 0; i < 3; ++i) {
    for (const abi::Message& m : {w->call(start(5)), w->call(status(5))}) {
      CHECK(m.label == first.label);
      CHECK(m.words[0] == first.words[0]);
      CHECK(m.words[1] == first.words[1]);
      CHECK(m.words[2] == first.words[2]);
    }
  }
  // Started once: one STARTED and one EXITED.
  CHECK(w->model->launcher_events().size() == 2);
  // A failed request repeats its failure.
  const abi::Message failed = launch(*w, 6, "/data/bin/bad-elf");
  for (const abi::Message& m : {w->call(start(6)), w->call(status(6))}) {
    CHECK(m.words[0] == failed.words[0]);
    CHECK(m.words[1] == failed.words[1]);
    CHECK(m.words[2] == failed.words[2]);
  }
}

TEST_CASE("each injected cleanup fault undoes its step: no process, no scratch, nothing in the ledger") {
  for (std::uint32_t k = 1; k <= wire::kFaultSteps; ++k) {
    auto w = boot();
    INFO("step " << k);
    const std::uint32_t id = wire::kFaultRequestBase + k;
    const abi::Message m = launch(*w, id, "/data/bin/loader-ok");
    CHECK(m.words[0] == st(State::FAILED));
    CHECK(m.words[1] == er(Error::CLEANUP_FAULT));
    CHECK(m.words[2] == k);
    const abi::Message in = w->call(inspect(id));
    CHECK(in.words[0] == 0);
    CHECK(in.words[2] == 0);
    CHECK(scratch_caps(*w) == 0);
    const sim::LaunchRequest* r = w->loader->request(id);
    REQUIRE(r != nullptr);
    // From step 2 on a process was made; it is destroyed, holding nothing.
    if (k >= 2) {
      const sim::Process* p = w->model->process(r->made);
      REQUIRE(p != nullptr);
      CHECK(p->state == sim::ProcessState::destroyed);
      CHECK(p->cspace.empty());
    } else {
      CHECK(r->made == sim::kNoPid);
    }
    for (const auto& [pid, p] : w->model->processes()) {
      if (p.launcher == sim::Launcher::loader) CHECK(p.state == sim::ProcessState::destroyed);
    }
    // Started (step 4) or not, it never ran: no EXITED.
    for (const sim::RootDelivery& d : w->model->launcher_events()) {
      CHECK(d.message.label != static_cast<std::uint64_t>(abi::Event::EXITED));
    }
    CHECK(ledger_leaks(*w) == 0);
    CHECK(w->model->audit().leak_count() == 0);
    // The same loaderd still launches afterwards.
    CHECK(launch(*w, 1, "/data/bin/loader-ok").words[2] == 42);
  }
  // A fault id whose source fails first: the typed error wins, nothing made.
  auto w = boot();
  const abi::Message m = launch(*w, wire::kFaultRequestBase + 2, "/data/bin/bad-plan");
  CHECK(m.words[1] == er(Error::INVALID_LOAD_PLAN));
  CHECK(scratch_caps(*w) == 0);
}

// ---- the verifier fault points ----------------------------------------------------

TEST_CASE("loaderd's verifier fault points change its replies as documented") {
  SECTION("wrong-reply: states a request cannot be in") {
    auto w = boot(sim::FaultPoint::wrong_reply);
    CHECK(w->call(path_message(1, "/data/bin/loader-ok")).words[0] == st(State::RUNNING));
    CHECK(w->call(start(1)).words[0] == st(State::ACCEPTED));
    CHECK(w->call(status(1)).words[0] == st(State::ACCEPTED));
    CHECK(w->call(inspect(1)).label != 0);
    // It did launch: only the replies lie.
    CHECK(w->loader->request(1)->state == State::EXITED);
  }
  SECTION("wrong-data: another exit code, another error, one more capability") {
    auto w = boot(sim::FaultPoint::wrong_data);
    const abi::Message m = launch(*w, 1, "/data/bin/loader-ok");
    CHECK(m.words[0] == st(State::EXITED));
    CHECK(m.words[2] != 42);
    const abi::Message f = launch(*w, 2, "/data/bin/missing");
    CHECK(f.words[0] == st(State::FAILED));
    CHECK(f.words[1] != er(Error::NOT_FOUND));
    CHECK(w->call(inspect(1)).words[0] != 0);
  }
  SECTION("extra-cap: a SEND cap to loaderd's own endpoint on every reply") {
    auto w = boot(sim::FaultPoint::extra_cap);
    for (const abi::Message& m : {path_message(1, "/data/bin/loader-ok"), start(1), status(1), inspect(1)}) {
      std::optional<sim::Cap> cap;
      (void)w->call(m, &cap);
      REQUIRE(cap.has_value());
      CHECK(cap->type == sim::ObjectType::endpoint);
      CHECK(cap->object == w->endpoint);
      CHECK(cap->rights == abi::RIGHT_SEND);
    }
  }
  SECTION("slow: RUNNING for ever, past the poll budget") {
    auto w = boot(sim::FaultPoint::slow);
    CHECK(launch(*w, 1, "/data/bin/loader-ok").words[0] == st(State::RUNNING));
    for (std::uint32_t i = 0; i < 2 * wire::kStatusPollBudget; ++i) {
      CHECK(w->call(status(1)).words[0] == st(State::RUNNING));
    }
  }
  SECTION("without a fault point, no reply carries a cap") {
    auto w = boot();
    for (const abi::Message& m : {path_message(1, "/data/bin/loader-ok"), start(1), status(1), inspect(1)}) {
      std::optional<sim::Cap> cap;
      (void)w->call(m, &cap);
      CHECK_FALSE(cap.has_value());
    }
  }
}

// ---- the ledger ------------------------------------------------------------------------

TEST_CASE("the ledger explains a clean launch and flags a cap given to the launched program or left in scratch") {
  auto w = boot();
  const abi::Message m = launch(*w, 1, "/data/bin/loader-ok");
  REQUIRE(m.words[0] == st(State::EXITED));
  const auto child = static_cast<sim::Pid>(m.words[1]);
  sim::Ledger ledger;
  CHECK(ledger_leaks(*w, &ledger) == 0);
  bool listed = false;
  for (const sim::LedgerProcess& p : ledger.processes) {
    if (p.pid != child) continue;
    listed = true;
    CHECK(p.note.find("launched by loaderd") != std::string::npos);
    CHECK_FALSE(p.leak.has_value());
  }
  CHECK(listed);

  // A loaderd that gives the child a cap (here: vfsd's endpoint, SEND).
  const sim::Process* vfsd = w->model->process(w->services->find("vfsd")->pid);
  const sim::Cap* vfs_ep = vfsd->cap_at(abi::kServiceEndpointLocalSlot);
  REQUIRE(vfs_ep != nullptr);
  w->model->give_cap(child, 5, sim::Cap{sim::ObjectType::endpoint, vfs_ep->object, abi::RIGHT_SEND, 0});
  CHECK(ledger_leaks(*w, &ledger) == 1);
  bool flagged = false;
  for (const sim::LedgerProcess& p : ledger.processes) {
    for (const sim::LedgerCap& c : p.caps) {
      if (p.pid == child && c.slot == 5 && c.leak()) flagged = c.why.find("holds nothing") != std::string::npos;
    }
  }
  CHECK(flagged);
  // INSPECT reads the same cspace.
  CHECK(w->call(inspect(1)).words[0] == 1);
  w->model->drop_cap(child, 5);
  CHECK(ledger_leaks(*w) == 0);

  // A scratch cap left in loaderd after its request ended.
  w->model->give_cap(w->loaderd, sim::kLoaderScratchFirstSlot,
                     sim::Cap{sim::ObjectType::process, child, sim::kProcessCapRights, 0});
  CHECK(ledger_leaks(*w, &ledger) == 1);
  CHECK(w->call(inspect(1)).words[2] == 1);
  bool scratch = false;
  for (const sim::LedgerProcess& p : ledger.processes) {
    for (const sim::LedgerCap& c : p.caps) {
      if (p.pid == w->loaderd && c.leak()) scratch = c.why.find("scratch") != std::string::npos;
    }
  }
  CHECK(scratch);
}

TEST_CASE("a program launched and left running is a leak") {
  auto w = boot();
  const sim::Pid procd = w->services->find("procd")->pid;
  const sim::Pid pid = w->model->create_process(sim::Admitted{abi::KernelError::OK, "stray", ""},
                                                sim::Admission{sim::Launcher::loader, "", 0}, 0, procd);
  w->model->start_process(pid);
  sim::Ledger ledger;
  CHECK(ledger_leaks(*w, &ledger) == 1);
  w->model->exit_process(pid, 0);
  CHECK(ledger_leaks(*w) == 0);
}
