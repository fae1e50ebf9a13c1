// erix-bcfg: writes, checks, compiles, decodes, plans and graphs EriX boot
// configs (the commands, diagnostics and exit codes: docs/erix-bcfg.md).
//
// Exit codes: 0 success / valid, 1 the input is invalid, 2 bad usage or an
// I/O failure.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "decode.hpp"
#include "diff.hpp"
#include "pipeline.hpp"
#include "report.hpp"
#include "blob_map.hpp"
#include "rootd/handoff.hpp"

#ifndef ERIX_BCFG_VERSION
#error "tools/meson.build defines ERIX_BCFG_VERSION (the project version)"
#endif

namespace {

using namespace bcfg_tool;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    "usage: erix-bcfg <command> [--help] [--format text|json] ...\n"
    "       erix-bcfg --version\n"
    "\n"
    "commands:\n"
    "  check FILE...            check TOML sources or compiled blobs\n"
    "  compile FILE -o OUT      compile a TOML source into an ERIXBCFG v1 blob\n"
    "  decode FILE              print a blob as canonical TOML\n"
    "  plan FILE                print launch order, start waves and transfer tables\n"
    "  graph FILE               print the service graph as Graphviz DOT\n"
    "  diff OLD NEW             print how each service's authority changes\n"
    "\n"
    "Run 'erix-bcfg <command> --help' for one command.\n";

constexpr std::string_view kTopHelp =
    "erix-bcfg: the EriX boot-config compiler, checker and planner.\n"
    "\n"
    "A boot config is written in TOML (version = 1; docs/erix-bcfg.md) and\n"
    "compiled into the ERIXBCFG v1 blob that rootd reads from its boot-config\n"
    "module. Every command that reads a FILE accepts both forms unless it says\n"
    "otherwise; a blob is recognised by its ERIXBCFG magic. FILE '-' is stdin.\n"
    "\n"
    "Diagnostics go to stderr, each as its line\n"
    "  FILE:LINE:COL: error: [CODE] message         (TOML source)\n"
    "  FILE: offset 0xOFF: error: [CODE] message    (blob)\n"
    "followed, for a TOML source, by the source line with a caret under the\n"
    "offending text, and by a hint (\"did you mean ...\") when there is one.\n"
    "CODE is a tool code (TOML_...) or the rootd reason that rootd would report.\n"
    "With --format json every diagnostic is one JSON object on one line instead:\n"
    "file, line, column, code, message, hint (null when none); a blob's\n"
    "diagnostics have line and column null and an offset.\n"
    "\n"
    "Exit status: 0 success, 1 invalid input, 2 bad usage or I/O failure.\n"
    "\n";

constexpr std::string_view kCheckHelp =
    "usage: erix-bcfg check [--format text|json] FILE...\n"
    "\n"
    "Checks each TOML source or compiled blob: syntax and schema, names,\n"
    "references and limits, the blob structure, and the policy rules rootd\n"
    "applies (roles, launch kinds, profile, dependency cycles, storage).\n"
    "Prints every error found in one run, not only the first: an after or\n"
    "peers entry naming no declared service is reported and left out, and\n"
    "the rest of the config is still checked.\n"
    "\n"
    "Exit status, the worst over all FILEs: 0 valid, 1 invalid (including\n"
    "input that is neither TOML nor a well-formed blob), 2 bad usage or an\n"
    "unreadable FILE.\n";

constexpr std::string_view kCompileHelp =
    "usage: erix-bcfg compile [--structure-only] FILE.toml -o OUT.bcfg\n"
    "\n"
    "Checks FILE.toml like 'check' and, when it is valid, writes its ERIXBCFG v1\n"
    "encoding to OUT.bcfg (atomically: a temporary file renamed over OUT). The\n"
    "bytes depend only on the config's content, not on declaration order or\n"
    "formatting. An invalid config leaves OUT untouched. OUT is checked\n"
    "before FILE is read: a directory or an unwritable place fails at once.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT   where to write the blob (required)\n"
    "  --structure-only   check only what the blob format needs, as 'decode'\n"
    "                     does, not the policy rules: compiles what 'decode'\n"
    "                     printed from any well-formed blob\n"
    "\n"
    "Exit status: 0 written, 1 invalid config, 2 bad usage or I/O failure\n"
    "(including FILE being a blob already).\n";

constexpr std::string_view kDecodeHelp =
    "usage: erix-bcfg decode FILE.bcfg\n"
    "\n"
    "Prints a compiled blob as canonical TOML on stdout: services, providers\n"
    "and mounts in the blob's (sorted) order, and keys that hold their default\n"
    "value left out (profile \"none\", image equal to name, launch \"rootd\",\n"
    "empty after/peers, read_only false). Only the blob structure is checked;\n"
    "use 'check' for the policy rules. 'compile --structure-only' of the\n"
    "output gives back the same bytes for every well-formed blob; plain\n"
    "'compile' does so when the blob also passes 'check'.\n"
    "\n"
    "Exit status: 0 decoded, 1 not a well-formed blob, 2 bad usage or I/O.\n";

constexpr std::string_view kPlanHelp =
    "usage: erix-bcfg plan [--handoff HANDOFF] FILE\n"
    "\n"
    "Checks FILE like 'check', then prints what rootd would do with it: the\n"
    "launch order with what each service waits for, the start waves (services\n"
    "that can start together once the previous waves are READY), and for each\n"
    "service the capabilities it receives: local slot, authority, rights, and\n"
    "the slot in rootd it is copied from.\n"
    "\n"
    "options:\n"
    "  --handoff HANDOFF  take rootd's slots from this kernel->root handoff blob;\n"
    "                     without it, dedicated endpoints are at their canonical\n"
    "                     slots and the other sources are printed symbolically\n"
    "\n"
    "Exit status: 0 planned, 1 invalid config or handoff, 2 bad usage or I/O.\n";

constexpr std::string_view kGraphHelp =
    "usage: erix-bcfg graph FILE\n"
    "\n"
    "Checks FILE like 'check', then prints its service graph as Graphviz DOT\n"
    "on stdout (render with 'dot -Tsvg'). Solid arrows are explicit 'after'\n"
    "edges, dashed arrows 'peers' wiring, dotted grey arrows dependencies the\n"
    "roles imply; arrows point from a service to what it waits for.\n"
    "\n"
    "An invalid config is still drawn when it compiles far enough (a\n"
    "well-formed blob): the edges at fault (a dependency cycle, a peer the\n"
    "role rules refuse, a service waiting for itself) are red, and the\n"
    "diagnostics go to stderr as 'check' prints them.\n"
    "\n"
    "Exit status: 0 printed a valid config, 1 invalid config (drawn or not),\n"
    "2 bad usage or I/O.\n";

constexpr std::string_view kDiffHelp =
    "usage: erix-bcfg diff OLD NEW\n"
    "\n"
    "Checks OLD and NEW like 'check' (each a TOML source or a compiled blob),\n"
    "then prints, per service, how its authority changes from OLD to NEW: the\n"
    "capabilities of its startup envelope (those 'plan' lists) added (+),\n"
    "removed (-) or with other rights (~), and a changed role or launch path.\n"
    "A service only in NEW is listed with all it receives, one only in OLD with\n"
    "all it loses. Services are matched by name, capabilities by local slot,\n"
    "authority kind and what they designate; declaration order, 'after' lists,\n"
    "mount paths and rootd's own slots are not authority. A last line sums up,\n"
    "or says \"no authority change\".\n"
    "\n"
    "Exit status: 0 no authority change, 1 authority changed or an input is\n"
    "invalid (its diagnostics on stderr), 2 bad usage or I/O failure.\n";

int usage_error(std::string_view message) {
  std::cerr << "erix-bcfg: " << message << "\n\n" << kUsage;
  return kExitUsage;
}

int verb_usage_error(std::string_view verb, std::string_view message, std::string_view help) {
  std::cerr << "erix-bcfg " << verb << ": " << message << "\n\n";
  // The help text's first line is the usage line.
  std::cerr << help.substr(0, help.find('\n') + 1);
  return kExitUsage;
}

struct Input {
  std::string name;   // as given, or <stdin>
  std::string bytes;
};

bool read_all(int fd, std::string& out) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<Input> read_input(std::string_view path) {
  Input in;
  if (path == "-") {
    in.name = "<stdin>";
    if (!read_all(STDIN_FILENO, in.bytes)) {
      std::cerr << fmt::format("erix-bcfg: cannot read <stdin>: {}\n", std::strerror(errno));
      return std::nullopt;
    }
    return in;
  }
  in.name = std::string(path);
  const int fd = open(in.name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::cerr << fmt::format("erix-bcfg: cannot open {}: {}\n", in.name, std::strerror(errno));
    return std::nullopt;
  }
  // A directory opens, and read() then fails with a less clear word.
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    std::cerr << fmt::format("erix-bcfg: {} is a directory, not a config file\n", in.name);
    return std::nullopt;
  }
  const bool ok = read_all(fd, in.bytes);
  const int saved = errno;
  close(fd);
  if (!ok) {
    std::cerr << fmt::format("erix-bcfg: cannot read {}: {}\n", in.name, std::strerror(saved));
    return std::nullopt;
  }
  return in;
}

// --format json: diagnostics as JSON lines (set once, from the command line).
bool json_output = false;

void print_diagnostics(const Outcome& o, const Input& in) {
  std::string text;
  for (const SourceDiagnostic& d : o.source_diagnostics) {
    text += json_output ? json_diagnostic(in.name, d) + "\n" : render_diagnostic(in.name, in.bytes, d);
  }
  for (const BlobDiagnostic& d : o.blob_diagnostics) {
    text += json_output ? json_diagnostic(in.name, d) + "\n" : render_diagnostic(in.name, d);
  }
  std::cerr << text;
}

Outcome check_input(const Input& in, bool policy = true) {
  if (in.bytes.empty()) {
    // Said plainly: an empty file is the most likely wrong-file mistake.
    Outcome o;
    o.from_toml = true;
    o.source_diagnostics.push_back(
        {SourcePos{}, ToolCode::TOML_MISSING_KEY, "the file is empty; a boot config starts with version = 1", {}});
    return o;
  }
  if (looks_like_blob(in.bytes)) return check_blob(in.bytes, policy);
  return check_toml(in.bytes, in.name, policy);
}

// An output written through a temporary file in the same directory and a
// rename, so readers see the old file or the new one, never a part. The
// temporary file is made before any work: an output that cannot be
// written is reported at once, not after a long check.
class PendingOutput {
 public:
  // Says why on failure.
  bool open(const std::string& path) {
    path_ = path;
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      std::cerr << fmt::format("erix-bcfg: cannot write {}: it is a directory\n", path);
      return false;
    }
    tmp_ = path + ".tmp.XXXXXX";
    fd_ = mkstemp(tmp_.data());
    if (fd_ < 0) {
      std::cerr << fmt::format("erix-bcfg: cannot write {}: {}\n", path, std::strerror(errno));
      return false;
    }
    return true;
  }
  PendingOutput() = default;
  PendingOutput(const PendingOutput&) = delete;
  PendingOutput& operator=(const PendingOutput&) = delete;
  // Never committed: the temporary file goes, the old output stays.
  ~PendingOutput() {
    if (fd_ < 0) return;
    close(fd_);
    unlink(tmp_.c_str());
  }

  bool commit(const std::vector<char>& bytes) {
    // mkstemp makes the file 0600; give it the mode an ordinary create would.
    const mode_t mask = umask(0);
    umask(mask);
    bool ok = fchmod(fd_, 0666 & ~mask) == 0;
    std::size_t done = 0;
    while (ok && done < bytes.size()) {
      const ssize_t n = write(fd_, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok = false;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    ok = ok && fsync(fd_) == 0;
    const int saved = errno;
    ok = (close(fd_) == 0) && ok;
    fd_ = -1;
    if (ok && std::rename(tmp_.c_str(), path_.c_str()) == 0) return true;
    std::cerr << fmt::format("erix-bcfg: cannot write {}: {}\n", path_,
                             std::strerror(ok ? errno : saved));
    unlink(tmp_.c_str());
    return false;
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

// Arguments of one verb: flags it knows, and positional FILEs.
struct Args {
  bool help = false;
  bool structure_only = false;
  std::optional<std::string> format;
  std::optional<std::string> output;
  std::optional<std::string> handoff;
  std::vector<std::string> files;
};

// Options a verb takes besides --help.
struct Options {
  bool output = false;
  bool handoff = false;
  bool structure_only = false;
};

// The value of the option at argv[i] into `slot`: the text after
// `joined_prefix` ("--output=") when given, else the next argument (and `i`
// moves past it). Returns an error message, or nothing.
std::optional<std::string> take_value(const std::vector<std::string_view>& argv, std::size_t& i,
                                      std::string_view joined_prefix,
                                      std::optional<std::string>& slot) {
  const std::string_view a = argv[i];
  const std::string_view option = a.substr(0, a.find('='));
  if (slot) return fmt::format("option {} given twice", option);
  std::string_view value;
  if (!joined_prefix.empty()) {
    value = a.substr(joined_prefix.size());
  } else if (i + 1 < argv.size()) {
    value = argv[++i];
  }
  if (value.empty()) {
    return fmt::format("option {} needs {}", option, option == "--format" ? "text or json" : "a file name");
  }
  slot = std::string(value);
  return std::nullopt;
}

// Returns an error message, or nothing when `argv` parsed.
std::optional<std::string> parse_args(const std::vector<std::string_view>& argv, Options options,
                                      Args& out) {
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string_view a = argv[i];
    std::optional<std::string> err;
    if (options_done || a == "-" || a.empty() || a[0] != '-') {
      out.files.emplace_back(a);
    } else if (a == "--") {
      options_done = true;
    } else if (a == "-h" || a == "--help") {
      out.help = true;
    } else if (a == "--format") {
      err = take_value(argv, i, "", out.format);
    } else if (a.starts_with("--format=")) {
      err = take_value(argv, i, "--format=", out.format);
    } else if (options.structure_only && a == "--structure-only") {
      out.structure_only = true;
    } else if (options.output && (a == "-o" || a == "--output")) {
      err = take_value(argv, i, "", out.output);
    } else if (options.output && a.starts_with("--output=")) {
      err = take_value(argv, i, "--output=", out.output);
    } else if (options.handoff && a == "--handoff") {
      err = take_value(argv, i, "", out.handoff);
    } else if (options.handoff && a.starts_with("--handoff=")) {
      err = take_value(argv, i, "--handoff=", out.handoff);
    } else {
      return fmt::format("unknown option '{}'", a);
    }
    if (err) return err;
  }
  if (out.format && *out.format != "text" && *out.format != "json") {
    return fmt::format("--format is text or json, not '{}'", *out.format);
  }
  return std::nullopt;
}

// Each FILE on its own; the exit status is the worst of them.
int run_check(const Args& args) {
  int worst = kExitOk;
  for (const std::string& file : args.files) {
    const auto in = read_input(file);
    if (!in) {
      worst = kExitUsage;
      continue;
    }
    const Outcome o = check_input(*in);
    print_diagnostics(o, *in);
    if (!o.valid()) worst = std::max(worst, kExitInvalid);
  }
  return worst;
}

int run_compile(const Args& args) {
  PendingOutput out;
  if (!out.open(*args.output)) return kExitUsage;
  const auto in = read_input(args.files[0]);
  if (!in) return kExitUsage;
  if (looks_like_blob(in->bytes)) {
    std::cerr << fmt::format("erix-bcfg compile: {} is already a compiled ERIXBCFG blob; "
                             "compile takes a TOML source\n",
                             in->name);
    return kExitUsage;
  }
  const Outcome o = in->bytes.empty() ? check_input(*in)
                                      : check_toml(in->bytes, in->name, !args.structure_only);
  print_diagnostics(o, *in);
  if (!o.valid()) return kExitInvalid;
  return out.commit(o.blob) ? kExitOk : kExitUsage;
}

int run_decode(const Args& args) {
  const auto in = read_input(args.files[0]);
  if (!in) return kExitUsage;
  const Outcome o = check_blob(in->bytes, /*policy=*/false);
  print_diagnostics(o, *in);
  if (!o.valid()) return kExitInvalid;
  std::cout << decode_to_toml(o.view());
  return std::cout.flush() ? kExitOk : kExitUsage;
}

// Rootd's slots for planning: from a handoff when one is given.
// On failure `exit_code` says why (I/O or an invalid handoff).
std::optional<rootd::Sources> plan_sources(const Args& args, std::string& storage, int& exit_code) {
  if (!args.handoff) return stand_in_sources();
  const auto in = read_input(*args.handoff);
  exit_code = kExitUsage;
  if (!in) return std::nullopt;
  exit_code = kExitInvalid;
  storage = in->bytes;
  const rootd::Result<rootd::handoff::View> h =
      rootd::handoff::parse(rootd::Bytes(storage.data(), storage.size()));
  if (!h.ok()) {
    std::cerr << fmt::format("{}: offset {:#x}: error: [{}] not a valid handoff blob\n", in->name,
                             h.error().offset, rootd::reason_name(h.error().reason));
    return std::nullopt;
  }
  return rootd::sources_from(*h);
}

int run_plan(const Args& args) {
  const auto in = read_input(args.files[0]);
  if (!in) return kExitUsage;
  Outcome o = check_input(*in);
  if (o.valid()) {
    std::string handoff_bytes;  // the View of a handoff refers to them
    int exit_code = kExitOk;
    const std::optional<rootd::Sources> sources = plan_sources(args, handoff_bytes, exit_code);
    if (!sources) return exit_code;
    Planned planned;
    // Against a real handoff's slots the envelopes can fail where the
    // stand-in sources of `check` did not (an endpoint the kernel left out).
    add_findings(o, check_policy(o.view(), *sources, planned));
    if (o.valid()) {
      std::cout << write_plan(in->name, o.view(), planned, !args.handoff);
      return std::cout.flush() ? kExitOk : kExitUsage;
    }
  }
  print_diagnostics(o, *in);
  return kExitInvalid;
}

// The dependency edges (from, to) that findings put at fault: the links of
// a cycle, and the after / peers entries a finding points at.
EdgeSet offending_edges(const rootd::bcfg::View& view, const std::vector<PolicyFinding>& findings,
                        const Planned& planned) {
  EdgeSet edges;
  const rootd::OrderPlan& plan = *planned.order;
  for (std::uint16_t k = 0; k < plan.cycle_length; ++k) {
    edges.insert({plan.cycle[k], plan.cycle[(k + 1) % plan.cycle_length]});
  }
  for (const PolicyFinding& f : findings) {
    std::size_t service = 0, position = 0;
    if (!edge_owner(view, f.place, service, position)) continue;
    const rootd::bcfg::IndexList list = f.place.section == rootd::bcfg::Section::AFTER
                                            ? view.after(service)
                                            : view.peers(service);
    edges.insert({static_cast<std::uint16_t>(service), list[position]});
  }
  return edges;
}

// Draws what compiles: a valid config, or an invalid one whose blob is
// well-formed, with the edges at fault in red.
int run_graph(const Args& args) {
  const auto in = read_input(args.files[0]);
  if (!in) return kExitUsage;
  Outcome o = check_input(*in, /*policy=*/false);
  const bool compiled = !o.blob.empty() && rootd::bcfg::parse(rootd::Bytes(o.blob.data(), o.blob.size())).ok();
  if (!compiled) {
    print_diagnostics(o, *in);
    return kExitInvalid;
  }
  Planned planned;
  std::vector<PolicyFinding> findings = check_policy(o.view(), stand_in_sources(), planned);
  const EdgeSet red = offending_edges(o.view(), findings, planned);
  add_findings(o, std::move(findings));
  std::cout << write_dot(in->name, o.view(), planned, red);
  print_diagnostics(o, *in);
  if (!std::cout.flush()) return kExitUsage;
  return o.valid() ? kExitOk : kExitInvalid;
}

// One input of diff, checked like `check` and planned like `plan`.
struct DiffSide {
  Outcome outcome;
  Planned planned;
};

int run_diff(const Args& args) {
  // Both are read before either is judged: an I/O failure (exit 2) wins
  // over an invalid config (exit 1).
  const auto old_in = read_input(args.files[0]);
  if (!old_in) return kExitUsage;
  const auto new_in = read_input(args.files[1]);
  if (!new_in) return kExitUsage;
  DiffSide sides[2];
  const Input* inputs[2] = {&*old_in, &*new_in};
  constexpr std::string_view kSides[2] = {"OLD", "NEW"};
  bool valid = true;
  for (int k = 0; k < 2; ++k) {
    DiffSide& side = sides[k];
    side.outcome = check_input(*inputs[k]);
    // check_input keeps no envelopes; this second pass with the same
    // sources fills `planned` and finds nothing the first did not.
    if (side.outcome.valid()) {
      add_findings(side.outcome, check_policy(side.outcome.view(), stand_in_sources(), side.planned));
    }
    if (!side.outcome.valid()) {
      print_diagnostics(side.outcome, *inputs[k]);
      std::cerr << fmt::format("erix-bcfg diff: {} ({}) is not a valid config\n", kSides[k],
                               inputs[k]->name);
      valid = false;
    }
  }
  if (!valid) return kExitInvalid;
  const AuthorityDiff diff = diff_authority(
      old_in->name, authority_of(sides[0].outcome.view(), sides[0].planned), new_in->name,
      authority_of(sides[1].outcome.view(), sides[1].planned));
  std::cout << diff.text;
  if (!std::cout.flush()) return kExitUsage;
  return diff.changed ? kExitInvalid : kExitOk;
}

struct Verb {
  std::string_view name;
  std::string_view help;
  Options options;
  int (*run)(const Args&);
  std::size_t files = 1;  // how many FILE arguments it takes; 0: one or more
};

constexpr Verb kVerbs[] = {
    {"check", kCheckHelp, {}, run_check, 0},
    {"compile", kCompileHelp, {.output = true, .structure_only = true}, run_compile},
    {"decode", kDecodeHelp, {}, run_decode},
    {"plan", kPlanHelp, {.handoff = true}, run_plan},
    {"graph", kGraphHelp, {}, run_graph},
    {"diff", kDiffHelp, {}, run_diff, 2},
};

// Why `given` FILE arguments do not suit `verb`, or nothing when they do.
std::optional<std::string> file_count_problem(const Verb& verb, std::size_t given) {
  if (verb.files == 0 ? given > 0 : given == verb.files) return std::nullopt;
  if (given == 0) return verb.files == 2 ? "no input files" : "no input file";
  if (verb.files == 1) return "more than one input file";
  return fmt::format("{} input file{} given, {} expected", given, given == 1 ? "" : "s", verb.files);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("no command given");
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kTopHelp << kUsage;
    return kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "erix-bcfg " << ERIX_BCFG_VERSION << " (ERIXBCFG format version "
              << rootd::bcfg::kVersion << ")\n";
    return kExitOk;
  }
  for (const Verb& verb : kVerbs) {
    if (args[0] != verb.name) continue;
    Args parsed;
    const std::vector<std::string_view> rest(args.begin() + 1, args.end());
    if (auto err = parse_args(rest, verb.options, parsed)) {
      return verb_usage_error(verb.name, *err, verb.help);
    }
    if (parsed.help) {
      std::cout << verb.help;
      return kExitOk;
    }
    json_output = parsed.format == "json";
    if (auto err = file_count_problem(verb, parsed.files.size())) {
      return verb_usage_error(verb.name, *err, verb.help);
    }
    if (std::count(parsed.files.begin(), parsed.files.end(), "-") > 1) {
      return verb_usage_error(verb.name, "stdin ('-') can be only one of the inputs", verb.help);
    }
    if (verb.options.output && !parsed.output) {
      return verb_usage_error(verb.name, "no output file (-o OUT)", verb.help);
    }
    return verb.run(parsed);
  }
  if (!args[0].empty() && args[0][0] == '-') {
    return usage_error(fmt::format("unknown option '{}'", args[0]));
  }
  return usage_error(fmt::format("unknown command '{}'", args[0]));
}
