// erix-boot: boots the real freestanding rootd ELF on the host, under the
// kernel model with simulated services (docs/erix-boot.md fixes the
// options, the summary line and the exit codes).
//
// The ELF runs as a ptrace'd child (ptrace_runner.hpp); every `syscall` it
// makes stops it, and this loop serves the call from the kernel model,
// copying Messages between the child's memory and the model, then resumes
// it with the result in rax. PARK ends the run; the ledger (ledger.hpp)
// decides whether authority leaked.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "boot_timeline.hpp"
#include "cli_paths.hpp"
#include "elf_image.hpp"
#include "kernel_model.hpp"
#include "ledger.hpp"
#include "loader_fixtures.hpp"
#include "ptrace_runner.hpp"
#include "rootd/abi.hpp"
#include "rootd/status.hpp"
#include "services.hpp"
#include "system_image.hpp"

#ifndef ERIX_VERSION
#define ERIX_VERSION "unknown"
#endif
// Install-relative directories (meson's bindir, libexecdir and datadir
// options): an installed erix-boot finds its images and examples from its
// own path, so that no build-tree path is compiled in.
#ifndef ERIX_INSTALL_BINDIR
#define ERIX_INSTALL_BINDIR "bin"
#endif
#ifndef ERIX_INSTALL_IMAGES
#define ERIX_INSTALL_IMAGES "libexec/erix-rootd"
#endif
#ifndef ERIX_INSTALL_EXAMPLES
#define ERIX_INSTALL_EXAMPLES "share/erix-rootd/examples"
#endif

namespace {

namespace sim = erix::sim;
namespace abi = rootd::abi;

constexpr int kExitUsage = 2;
constexpr int kExitRootdBroke = 3;
constexpr int kExitLeak = 20;

// rootd is silent this long only when it spins: every step of its boot is
// a system call.
constexpr std::chrono::milliseconds kQuietLimit{2000};
// A boot of the largest config makes a few hundred thousand calls; far more
// means rootd loops on calls that never end its boot.
constexpr std::uint64_t kMaxSyscalls = 20'000'000;
constexpr std::string_view kDefaultConfig = "examples/runtime.toml";
constexpr std::string_view kDefaultImage = "rootd";

constexpr char kStackPattern = static_cast<char>(0xA5);

constexpr std::string_view kUsage =
    R"(usage: erix-boot [OPTIONS] [CONFIG]

Boots the freestanding rootd ELF under the kernel model with simulated
services. CONFIG is a boot config in TOML or binary ERIXBCFG (default
examples/runtime.toml, from the current directory if it has one, else
erix-boot's own copy: the source tree's, or the installed one).

Options:
  --image ELF              the rootd image to boot (default: the runtime
                           image beside erix-boot, built or installed)
  --fault SERVICE:POINT    make SERVICE fail at POINT: spawn, start,
                           handshake, not-ready, crash, refuse-probe,
                           plain-copy, root-completion, no-completion,
                           or, seen only by an integration image's
                           verifiers: wrong-reply, wrong-data, extra-cap,
                           slow (repeatable)
  --latency SERVICE=TICKS  ticks SERVICE takes to answer (default 10; repeatable)
  --handoff FILE           give rootd these bytes as its handoff
  --write-handoff FILE     write the generated handoff to FILE
  --disk IMAGE             the disk blockd serves: a GPT disk image (default:
                           one generated with the config's partitions, when a
                           provider is block-backed)
  --hooks TEXT             add a "rootd-hooks" module holding TEXT
                           (integration images: <hook>[:<service>])
  --audit                  print the ledger: every capability of every live
                           process (rootd included) with the rule that
                           granted it, or LEAK
  --audit-json FILE        write the same ledger as JSON to FILE
  --trace FILE             write the boot as Chrome trace-event JSON
                           (1 tick = 1 us; chrome://tracing, Perfetto)
  --chart FILE             write an SVG boot chart
  --stack                  print rootd's peak stack use before the summary
                           (the stack starts filled with a pattern; the
                           lowest byte rootd changed marks the peak)
  --version                print erix-boot's version
  --help                   this text

Output: every line rootd reports, as it reports it; then
  summary: status=<STATUS> ticks=<T> critical_path=<C> kernel_calls=<K> services=<N> leaks=<L>
ticks: simulated time at PARK; critical_path: the longest dependency chain
weighted by service latency (the ideal time to READY); kernel_calls: rootd's
system calls; services: config services that answered READY (a probe: that
passed); leaks: the ledger's count of authority no rule explains (caps
beyond rootd's four at PARK, child caps no transfer rule gives, children
abandoned, or alive after a failure the terminal reason does not name).

Exit: 0 READY, 10 HANDOFF_INVALID, 11 CONTRACT_INVALID, 12 INTERNAL_ERROR,
13 SERVICE_BOOTSTRAP_FAILED, 20 any leak (wins over the status), 3 rootd
crashed, faulted, hung, made an illegal call or reported no status (no
summary line then), 2 bad usage or unreadable input.
)";

struct Options {
  std::optional<std::string> image;
  std::optional<std::string> config;
  std::vector<std::pair<std::string, sim::FaultPoint>> faults;
  std::vector<std::pair<std::string, sim::Tick>> latencies;
  std::optional<std::string> handoff_in;
  std::optional<std::string> handoff_out;
  std::optional<std::string> hooks;
  std::optional<std::string> disk;
  std::optional<std::string> trace;
  std::optional<std::string> chart;
  std::optional<std::string> audit_json;
  bool audit = false;
  bool stack = false;
  bool help = false;
  bool version = false;
};

struct UsageError {
  std::string message;
};

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

sim::Expected<Options, UsageError> parse_options(int argc, char** argv) {
  Options o;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    auto value = [&]() -> std::optional<std::string_view> {
      if (inline_value) return inline_value;
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto missing = [&]() { return sim::unexpected(UsageError{fmt::format("{} needs a value", arg)}); };

    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--version") {
      if (inline_value) return sim::unexpected(UsageError{"--version takes no value"});
      o.version = true;
    } else if (arg == "--audit") {
      if (inline_value) return sim::unexpected(UsageError{"--audit takes no value"});
      o.audit = true;
    } else if (arg == "--audit-json") {
      const auto v = value();
      if (!v) return missing();
      o.audit_json = std::string(*v);
    } else if (arg == "--stack") {
      if (inline_value) return sim::unexpected(UsageError{"--stack takes no value"});
      o.stack = true;
    } else if (arg == "--image") {
      const auto v = value();
      if (!v) return missing();
      o.image = std::string(*v);
    } else if (arg == "--handoff") {
      const auto v = value();
      if (!v) return missing();
      o.handoff_in = std::string(*v);
    } else if (arg == "--write-handoff") {
      const auto v = value();
      if (!v) return missing();
      o.handoff_out = std::string(*v);
    } else if (arg == "--disk") {
      const auto v = value();
      if (!v) return missing();
      o.disk = std::string(*v);
    } else if (arg == "--hooks") {
      const auto v = value();
      if (!v) return missing();
      o.hooks = std::string(*v);
    } else if (arg == "--fault") {
      const auto v = value();
      if (!v) return missing();
      const auto colon = v->rfind(':');
      if (colon == std::string_view::npos || colon == 0) {
        return sim::unexpected(UsageError{fmt::format("--fault {}: expected SERVICE:POINT", *v)});
      }
      const auto point = sim::parse_fault_point(v->substr(colon + 1));
      if (!point) {
        return sim::unexpected(UsageError{fmt::format(
            "--fault {}: unknown point \"{}\" (spawn, start, handshake, not-ready, crash, refuse-probe, plain-copy, root-completion, no-completion, wrong-reply, wrong-data, extra-cap, slow)", *v, v->substr(colon + 1))});
      }
      o.faults.emplace_back(std::string(v->substr(0, colon)), *point);
    } else if (arg == "--latency") {
      const auto v = value();
      if (!v) return missing();
      const auto eq = v->rfind('=');
      const auto ticks = eq == std::string_view::npos ? std::nullopt : parse_number<sim::Tick>(v->substr(eq + 1));
      if (eq == std::string_view::npos || eq == 0 || !ticks) {
        return sim::unexpected(UsageError{fmt::format("--latency {}: expected SERVICE=TICKS", *v)});
      }
      o.latencies.emplace_back(std::string(v->substr(0, eq)), *ticks);
    } else if (arg == "--trace") {
      const auto v = value();
      if (!v) return missing();
      o.trace = std::string(*v);
    } else if (arg == "--chart") {
      const auto v = value();
      if (!v) return missing();
      o.chart = std::string(*v);
    } else if (arg.starts_with("-") && arg != "-") {
      return sim::unexpected(UsageError{fmt::format("unknown option {}", arg)});
    } else {
      if (o.config) return sim::unexpected(UsageError{fmt::format("more than one CONFIG ({} and {})", *o.config, arg)});
      o.config = std::string(arg);
    }
  }
  return o;
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

std::optional<sim::ToolLayout> own_layout() {
  const auto exe = sim::self_executable();
  if (!exe) return std::nullopt;
  return sim::find_layout(*exe, {ERIX_INSTALL_BINDIR, ERIX_INSTALL_IMAGES, ERIX_INSTALL_EXAMPLES});
}

// The default config is named relative to the source tree; from elsewhere
// erix-boot's own copy is used.
sim::Expected<std::string, std::string> resolve_config(const Options& o, const std::optional<sim::ToolLayout>& layout) {
  if (o.config) return *o.config;
  const std::string here(kDefaultConfig);
  if (file_exists(here)) return here;
  if (!layout) {
    return sim::unexpected(fmt::format("no CONFIG given, no {} here, and no examples beside erix-boot; name a CONFIG", here));
  }
  return layout->examples + "/" + std::string(here.substr(here.find('/') + 1));
}

sim::Expected<std::string, std::string> resolve_image(const Options& o, const std::optional<sim::ToolLayout>& layout) {
  if (o.image) return *o.image;
  if (!layout) return sim::unexpected(std::string("cannot find the rootd image beside erix-boot; name one with --image"));
  return layout->images + "/" + std::string(kDefaultImage);
}

// Every input read and output written, checked before any work: a bad path
// is reported once, and nothing boots or is written.
std::optional<std::string> path_problem(const Options& o, const std::string& config, const std::string& image) {
  using sim::InputRule;
  if (auto p = sim::input_problem(config, "a boot config", InputRule::non_empty)) return p;
  if (auto p = sim::input_problem(image, "a rootd image", InputRule::non_empty)) return p;
  // An empty handoff is a valid thing to refuse: rootd's job, not ours.
  if (o.handoff_in) {
    if (auto p = sim::input_problem(*o.handoff_in, "a handoff", InputRule::any_size)) return p;
  }
  // A disk without a GPT is blockd's answer to give, so any size passes here.
  if (o.disk) {
    if (auto p = sim::input_problem(*o.disk, "a disk image", InputRule::any_size)) return p;
  }
  const std::pair<const std::optional<std::string>*, std::string_view> outputs[] = {
      {&o.handoff_out, "the handoff"}, {&o.audit_json, "the audit"}, {&o.trace, "the trace"}, {&o.chart, "the chart"}};
  for (const auto& [path, what] : outputs) {
    if (*path) {
      if (auto p = sim::output_problem(**path, what)) return p;
    }
  }
  return std::nullopt;
}

sim::Expected<std::vector<char>, std::string> read_file(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return sim::unexpected(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return sim::unexpected(fmt::format("{}: cannot read", path));
  if (bytes.size() > limit) return sim::unexpected(fmt::format("{}: larger than {} bytes", path, limit));
  return bytes;
}

bool write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out.flush());
}

std::optional<rootd::Status> status_of_line(std::string_view line) {
  if (!line.starts_with(rootd::kMarkerPrefix)) return std::nullopt;
  const std::string_view rest = line.substr(rootd::kMarkerPrefix.size());
  for (std::size_t s = 0; s < rootd::kStatusCount; ++s) {
    const auto status = static_cast<rootd::Status>(s);
    if (rest == rootd::status_name(status)) return status;
  }
  return std::nullopt;
}

int broke(const std::string& why) {
  std::fflush(stdout);
  fmt::print(stderr, "erix-boot: rootd failed: {}\n", why);
  return kExitRootdBroke;
}

std::uint64_t page_up(std::uint64_t n) { return (n + sim::kPageSize - 1) & ~(sim::kPageSize - 1); }

// Serves one system call. Returns the value for rax, or an error message
// when the call ends the run as rootd's failure. `parked` is set by PARK.
sim::Expected<std::uint64_t, std::string> serve(sim::PtraceRunner& runner, sim::KernelModel& model,
                                               const sim::SyscallStop& stop, std::optional<rootd::Status>& status,
                                               bool& parked) {
  auto read_message = [&](std::uint64_t at) -> sim::Expected<abi::Message, std::string> {
    abi::Message m;
    const auto r = runner.read_memory(at, rootd::MutableBytes(reinterpret_cast<char*>(&m), sizeof m));
    if (!r) return sim::unexpected(fmt::format("bad Message pointer {:#x}: {}", at, r.error().message));
    return m;
  };
  auto write_message = [&](std::uint64_t at, const abi::Message& m) -> sim::Expected<void, std::string> {
    const auto r = runner.write_memory(at, rootd::Bytes(reinterpret_cast<const char*>(&m), sizeof m));
    if (!r) return sim::unexpected(fmt::format("cannot write the reply to {:#x}: {}", at, r.error().message));
    return {};
  };
  auto result = [](abi::KernelError e) { return static_cast<std::uint64_t>(e); };
  auto hang_check = [&](abi::KernelError e) -> sim::Expected<std::uint64_t, std::string> {
    if (e == abi::KernelError::PEER_GONE && model.hung()) {
      return sim::unexpected(fmt::format("rootd would block forever: {}", model.hung_reason()));
    }
    return result(e);
  };
  const auto& a = stop.args;

  switch (static_cast<abi::Syscall>(stop.number)) {
    case abi::Syscall::REPORT: {
      // One byte more than the model accepts, so that it sees an overlong line.
      const std::size_t length = a[1] > sim::kMaxReportLength ? sim::kMaxReportLength + 1 : a[1];
      std::string text(length, '\0');
      if (length > 0) {
        const auto r = runner.read_memory(a[0], rootd::MutableBytes(text.data(), text.size()));
        if (!r) return sim::unexpected(fmt::format("bad REPORT text pointer {:#x}: {}", a[0], r.error().message));
      }
      const abi::KernelError e = model.report(text);
      if (e == abi::KernelError::OK) {
        fmt::print("{}\n", text);
        std::fflush(stdout);
        if (const auto s = status_of_line(text)) status = s;
      }
      return result(e);
    }
    case abi::Syscall::CALL: {
      auto m = read_message(a[1]);
      if (!m) return sim::unexpected(m.error());
      const abi::KernelError e = model.call(a[0], *m, a[2]);
      if (auto w = write_message(a[1], *m); !w) return sim::unexpected(w.error());
      return hang_check(e);
    }
    case abi::Syscall::SEND: {
      auto m = read_message(a[1]);
      if (!m) return sim::unexpected(m.error());
      return result(model.send(a[0], *m, a[2]));
    }
    case abi::Syscall::WAIT: {
      auto m = read_message(a[1]);
      if (!m) return sim::unexpected(m.error());
      const abi::KernelError e = model.wait(a[0], *m);
      if (auto w = write_message(a[1], *m); !w) return sim::unexpected(w.error());
      return hang_check(e);
    }
    case abi::Syscall::CAP: return result(model.cap(a[0], a[1], a[2], a[3], a[4]));
    case abi::Syscall::PARK:
      model.park();
      parked = true;
      return std::uint64_t{0};
    case abi::Syscall::EXIT:
      return sim::unexpected(fmt::format("rootd made the service exit call (code {}) at rip {:#x}", a[0], stop.rip));
  }
  return sim::unexpected(fmt::format("unknown system call number {} at rip {:#x}", stop.number, stop.rip));
}

std::size_t services_ready(const sim::Services& services) {
  std::size_t n = 0;
  for (const sim::ServiceRecord& r : services.records()) {
    if (r.answer == sim::Answer::ready || r.answer == sim::Answer::probe_passed) ++n;
  }
  return n;
}

int run(const Options& o) {
  // ---- inputs --------------------------------------------------------------
  const auto layout = own_layout();
  const auto config_choice = resolve_config(o, layout);
  const auto image_choice = resolve_image(o, layout);
  for (const auto* problem : {&config_choice, &image_choice}) {
    if (!*problem) {
      fmt::print(stderr, "erix-boot: {}\n", problem->error());
      return kExitUsage;
    }
  }
  const std::string& config_path = *config_choice;
  const std::string& image_path = *image_choice;
  if (const auto problem = path_problem(o, config_path, image_path)) {
    fmt::print(stderr, "erix-boot: {}\n", *problem);
    return kExitUsage;
  }
  auto config = sim::load_system_config(config_path);
  if (!config) {
    fmt::print(stderr, "{}", config.error());
    return kExitUsage;
  }
  // The loader's messages name the file already.
  auto elf = sim::ElfImage::load_file(image_path);
  if (!elf) {
    fmt::print(stderr, "erix-boot: {}\n", elf.error().message);
    return kExitUsage;
  }

  // Overrides apply to the specs before anything uses them, so that the
  // critical path and the services agree on latencies.
  auto override_service = [&](std::string_view option, const std::string& name, auto&& change) {
    bool found = false;
    for (sim::ServiceSpec& s : config->services) {
      if (s.name == name) {
        change(s);
        found = true;
      }
    }
    if (!found) fmt::print(stderr, "erix-boot: {}: the config has no service named {}\n", option, name);
    return found;
  };
  for (const auto& [name, ticks] : o.latencies) {
    const sim::Tick t = ticks;
    if (!override_service("--latency", name, [t](sim::ServiceSpec& s) { s.latency = t; })) return kExitUsage;
  }
  // Each service answers once, `latency` ticks after its envelope, so the
  // boot ends by the sum of all latencies. A sum the clock's tick type
  // cannot hold would wrap the simulated time: refuse it as a usage error,
  // naming the largest --latency value given.
  {
    sim::Tick total = 0;
    bool overflow = false;
    for (const sim::ServiceSpec& s : config->services) overflow = overflow || __builtin_add_overflow(total, s.latency, &total);
    if (overflow && !o.latencies.empty()) {
      const auto largest = std::max_element(o.latencies.begin(), o.latencies.end(),
                                            [](const auto& a, const auto& b) { return a.second < b.second; });
      fmt::print(stderr,
                 "erix-boot: --latency {}={}: the services' latencies add up to more than the simulated clock "
                 "holds ({} ticks)\n",
                 largest->first, largest->second, std::numeric_limits<sim::Tick>::max());
      return kExitUsage;
    }
  }
  for (const auto& [name, point] : o.faults) {
    const unsigned bit = 1U << static_cast<unsigned>(point);
    if (!override_service("--fault", name, [bit](sim::ServiceSpec& s) { s.faults |= bit; })) return kExitUsage;
  }

  sim::SystemImageOptions image_options;
  image_options.image_frame_size = std::max<std::uint64_t>(page_up(elf->file().size()), sim::kPageSize);
  if (o.hooks) image_options.extra_modules.emplace(std::string(sim::kHooksModule), std::vector<char>(o.hooks->begin(), o.hooks->end()));
  auto system = sim::build_system_image(*config, image_options);
  if (!system) {
    fmt::print(stderr, "erix-boot: {}: {}\n", config_path, system.error());
    return kExitUsage;
  }
  if (o.handoff_out && !write_file(*o.handoff_out, std::string_view(system->handoff.data(), system->handoff.size()))) {
    fmt::print(stderr, "erix-boot: {}: cannot write the handoff\n", *o.handoff_out);
    return kExitUsage;
  }
  std::vector<char> handoff = system->handoff;
  if (o.handoff_in) {
    auto bytes = read_file(*o.handoff_in, sim::kMaxHandoffFile);
    if (!bytes) {
      fmt::print(stderr, "erix-boot: {}\n", bytes.error());
      return kExitUsage;
    }
    handoff = std::move(*bytes);
  }

  // ---- the kernel and user space ------------------------------------------
  sim::KernelModel model;
  sim::Services services(model);
  for (const sim::ServiceSpec& s : config->services) {
    if (auto added = services.add(s); !added) {
      fmt::print(stderr, "erix-boot: service {}: {}\n", s.name, added.error());
      return kExitUsage;
    }
  }
  {
    std::string note;
    auto disk = sim::prepare_disk(config->blob, o.disk, note);
    if (!disk) {
      fmt::print(stderr, "erix-boot: {}\n", disk.error());
      return kExitUsage;
    }
    if (!note.empty()) fmt::print(stderr, "erix-boot: blockd serves {} without a GPT: {}\n", *o.disk, note);
    services.storage().set_disk(std::move(*disk));
  }
  // loaderd's namespace holds the loader fixtures (docs/erix-boot.md).
  if (auto* loader = services.protocol<sim::LoaderService>(); loader != nullptr && layout) {
    auto fixtures = sim::load_loader_fixtures(layout->fixtures);
    const bool has_loaderd = std::any_of(config->services.begin(), config->services.end(),
                                         [](const sim::ServiceSpec& s) { return s.role == "loaderd"; });
    if (fixtures) {
      auto sources = std::make_shared<sim::MemorySources>();
      sim::seed_fixtures(*sources, *fixtures);
      loader->set_sources(std::move(sources));
    } else if (has_loaderd) {
      fmt::print(stderr, "erix-boot: loaderd has no fixtures: {}\n", fixtures.error());
    }
  }
  auto root_slot = model.boot_rootd(system->layout);
  if (!root_slot) {
    fmt::print(stderr, "erix-boot: the kernel model refused rootd's layout: {}\n", root_slot.error());
    return kExitUsage;
  }

  sim::LaunchOptions launch;
  launch.quiet_limit = kQuietLimit;
  launch.stack_pointer = sim::kStackBase + sim::kStackSize;
  launch.arguments = {sim::kHandoffVaddr, handoff.size(), *root_slot};
  // A known pattern, so the deepest byte rootd wrote can be found after PARK.
  const std::vector<char> stack_fill(sim::kStackSize, kStackPattern);
  launch.regions.push_back({"stack", sim::kStackBase, sim::kStackSize, stack_fill, sim::Protection{true, true, false}});
  launch.regions.push_back({"handoff", sim::kHandoffVaddr, std::max<std::uint64_t>(handoff.size(), 1), handoff,
                            sim::Protection{true, false, false}});
  for (const sim::MappedModule& m : system->modules) {
    launch.regions.push_back({"module " + m.name, m.vaddr, m.bytes.size(), m.bytes, sim::Protection{true, false, false}});
  }

  // An image linked over the stack, handoff or modules cannot be booted
  // here: that is the image's problem, not rootd's behaviour.
  for (const sim::LoadSegment& seg : elf->segments()) {
    for (const sim::ExtraRegion& r : launch.regions) {
      if (seg.page_start() < r.vaddr + page_up(r.size) && r.vaddr < seg.page_end()) {
        fmt::print(stderr, "erix-boot: {}: segment at {:#x}..{:#x} overlaps the {} at {:#x}\n", image_path,
                   seg.page_start(), seg.page_end(), r.name, r.vaddr);
        return kExitUsage;
      }
    }
  }
  auto runner = sim::PtraceRunner::start(*elf, launch);
  if (!runner) {
    fmt::print(stderr, "erix-boot: cannot start {}: {}\n", image_path, runner.error().message);
    return kExitRootdBroke;
  }

  // ---- the run ---------------------------------------------------------------
  std::optional<rootd::Status> status;
  bool parked = false;
  std::size_t reports_seen = 0;
  for (std::uint64_t calls = 0; !parked; ++calls) {
    if (calls == kMaxSyscalls) return broke(fmt::format("more than {} system calls without PARK", kMaxSyscalls));
    auto event = runner->next_event();
    if (!event) return broke(fmt::format("lost the child: {}", event.error().message));
    const auto* stop = std::get_if<sim::SyscallStop>(&*event);
    if (stop == nullptr) return broke(sim::describe(*event));
    auto rax = serve(*runner, model, *stop, status, parked);
    if (!rax) return broke(rax.error());
    // Lines of simulated processes (deviced's driver readiness) appear in
    // the order the model produced them; rootd's own were printed above.
    for (; reports_seen < model.reports().size(); ++reports_seen) {
      const sim::ReportLine& line = model.reports()[reports_seen];
      if (line.pid != sim::kRootdPid) fmt::print("{}\n", line.text);
    }
    std::fflush(stdout);
    if (parked) break;
    if (auto resumed = runner->resume(*rax); !resumed) {
      return broke(fmt::format("cannot resume the child: {}", resumed.error().message));
    }
  }
  std::optional<std::uint64_t> stack_peak;
  if (o.stack) {
    auto bytes = runner->read_memory(sim::kStackBase, sim::kStackSize);
    if (!bytes) return broke(fmt::format("cannot read rootd's stack: {}", bytes.error().message));
    std::size_t lowest = 0;
    while (lowest < bytes->size() && (*bytes)[lowest] == kStackPattern) ++lowest;
    stack_peak = bytes->size() - lowest;
  }
  runner->kill();
  if (!status) return broke("parked without reporting a terminal status line");
  if (stack_peak) fmt::print("stack: peak={} bytes of {}\n", *stack_peak, sim::kStackSize);

  // ---- the verdict ---------------------------------------------------------
  sim::LedgerInputs ledger_inputs;
  ledger_inputs.config = rootd::Bytes(config->blob.data(), config->blob.size());
  ledger_inputs.failed = *status != rootd::Status::READY;
  ledger_inputs.handoff_refused = *status == rootd::Status::HANDOFF_INVALID;
  const sim::Ledger ledger = sim::build_ledger(model, ledger_inputs);
  if (o.audit) {
    fmt::print("audit: every capability of every live process, with the rule that granted it\n");
    std::string text = sim::ledger_text(ledger);
    std::string::size_type at = 0;
    while (at < text.size()) {
      const auto end = text.find('\n', at);
      fmt::print("audit: {}\n", std::string_view(text).substr(at, end - at));
      at = end + 1;
    }
  } else {
    // Without --audit, still say what leaked.
    for (const sim::LedgerProcess& p : ledger.processes) {
      if (p.leak) fmt::print("audit: leak: pid {} {}: {}\n", p.pid, p.name, *p.leak);
      for (const sim::LedgerCap& c : p.caps) {
        if (c.leak()) fmt::print("audit: leak: pid {} {} slot {}: {}: {}\n", p.pid, p.name, c.slot, c.object, c.why);
      }
    }
  }
  if (o.audit_json && !write_file(*o.audit_json, sim::ledger_json(ledger))) {
    fmt::print(stderr, "erix-boot: {}: cannot write the audit\n", *o.audit_json);
    return kExitUsage;
  }
  const std::size_t leaks = ledger.leak_count();
  const sim::Tick critical = sim::critical_path(*config);
  if (o.trace || o.chart) {
    const sim::BootTimeline timeline =
        sim::make_timeline(model, services, rootd::status_name(*status), critical, sim::critical_chain(*config));
    if (o.trace && !write_file(*o.trace, sim::chrome_trace_json(timeline))) {
      fmt::print(stderr, "erix-boot: {}: cannot write the trace\n", *o.trace);
      return kExitUsage;
    }
    if (o.chart && !write_file(*o.chart, sim::boot_chart_svg(timeline))) {
      fmt::print(stderr, "erix-boot: {}: cannot write the chart\n", *o.chart);
      return kExitUsage;
    }
  }
  fmt::print("summary: status={} ticks={} critical_path={} kernel_calls={} services={} leaks={}\n",
             rootd::status_name(*status), model.now(), critical, model.kernel_calls(),
             services_ready(services), leaks);
  std::fflush(stdout);
  if (leaks > 0) return kExitLeak;
  return rootd::status_exit_code(*status);
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  if (!options) {
    fmt::print(stderr, "erix-boot: {}\n(erix-boot --help for usage)\n", options.error().message);
    return kExitUsage;
  }
  if (options->help) {
    fmt::print("{}", kUsage);
    return 0;
  }
  if (options->version) {
    fmt::print("erix-boot {}\n", ERIX_VERSION);
    return 0;
  }
  try {
    return run(*options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "erix-boot: internal error: {}\n", e.what());
    return kExitUsage;
  }
}
