// erix-bcfg: the TOML front end and decoder as a library, and the tool
// itself run as a process (its path comes from ERIX_BCFG, the source tree
// from ROOTD_SOURCE_ROOT; meson sets both).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "decode.hpp"
#include "diagnostics.hpp"
#include "pipeline.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "suggest.hpp"
#include "toml_frontend.hpp"

namespace fs = std::filesystem;
namespace bc = rootd::bcfg;
using bcfg_tool::ToolCode;
using rootd::Reason;

namespace {

// ---- process and file helpers --------------------------------------------------------

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) FAIL("environment variable " << name << " is not set (run through meson test)");
  return v;
}

const fs::path& source_root() {
  static const fs::path root = env("ROOTD_SOURCE_ROOT");
  return root;
}
fs::path data_dir() { return source_root() / "host-tests" / "data" / "bcfg"; }
fs::path examples_dir() { return source_root() / "examples"; }
const std::string& tool() {
  static const std::string path = env("ERIX_BCFG");
  return path;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

std::vector<fs::path> files_in(const fs::path& dir, std::string_view ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A fresh directory, removed with its contents at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "erix-bcfg-test.XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(std::string_view name) const { return path_ / name; }

 private:
  fs::path path_;
};

struct Run {
  int exit_code = -1;
  std::string out, err;
};

// Runs the tool with `args` in directory `cwd`, feeding `input` on stdin.
Run run_tool(const std::vector<std::string>& args, const fs::path& cwd = fs::current_path(),
             const std::string& input = {}) {
  TempDir io;
  write_file(io / "in", input);
  const std::string in = (io / "in").string(), out = (io / "out").string(),
                    err = (io / "err").string();
  std::vector<std::string> argv_storage{tool()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    const int fd_in = open(in.c_str(), O_RDONLY);
    const int fd_out = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int fd_err = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd_in < 0 || fd_out < 0 || fd_err < 0 || chdir(cwd.c_str()) != 0) _exit(127);
    if (dup2(fd_in, 0) < 0 || dup2(fd_out, 1) < 0 || dup2(fd_err, 2) < 0) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Run r;
  REQUIRE(WIFEXITED(status));  // a crash or signal is a failure of its own
  r.exit_code = WEXITSTATUS(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// Compiles `toml_path` to bytes through the tool.
std::string compile(const fs::path& toml_path, const TempDir& dir, std::string_view out_name) {
  const Run r = run_tool({"compile", toml_path.string(), "-o", (dir / out_name).string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.err.empty());
  return read_file(dir / out_name);
}

std::vector<fs::path> valid_configs() {
  std::vector<fs::path> all = files_in(examples_dir(), ".toml");
  const std::vector<fs::path> more = files_in(data_dir() / "valid", ".toml");
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

rootd::Bytes bytes_of(const std::string& s) { return rootd::Bytes(s.data(), s.size()); }

}  // namespace

// ---- the diagnostics table -------------------------------------------------------------

static_assert(bcfg_tool::tool_code_name(ToolCode::TOML_SYNTAX) == "TOML_SYNTAX");
static_assert(bcfg_tool::Code(ToolCode::TOML_WRONG_TYPE).name() == "TOML_WRONG_TYPE");
static_assert(bcfg_tool::Code(Reason::BCFG_BAD_MAGIC).name() == "BCFG_BAD_MAGIC");
static_assert(!(bcfg_tool::Code(ToolCode::TOML_SYNTAX) == bcfg_tool::Code(Reason::BCFG_BAD_MAGIC)));

TEST_CASE("diagnostic lines have the documented shapes") {
  const bcfg_tool::SourceDiagnostic s{{12, 5}, ToolCode::TOML_UNKNOWN_KEY, "unknown key"};
  CHECK(bcfg_tool::format_diagnostic("a.toml", s) == "a.toml:12:5: error: [TOML_UNKNOWN_KEY] unknown key");
  const bcfg_tool::BlobDiagnostic b{0x1c, Reason::BCFG_CHECKSUM_MISMATCH, "bad"};
  CHECK(bcfg_tool::format_diagnostic("a.bcfg", b) ==
        "a.bcfg: offset 0x1c: error: [BCFG_CHECKSUM_MISMATCH] bad");
}

TEST_CASE("tool codes are upper-case, unique, and every one has a summary") {
  std::set<std::string_view> names;
  for (const auto& row : bcfg_tool::kToolCodeTable) {
    INFO(row.name);
    CHECK(names.insert(row.name).second);
    CHECK(!row.summary.empty());
    for (char c : row.name) CHECK(((c >= 'A' && c <= 'Z') || c == '_'));
  }
}

TEST_CASE("docs/erix-bcfg.md lists exactly the tool codes, with their summaries") {
  const std::string doc = read_file(source_root() / "docs" / "erix-bcfg.md");
  const std::regex row(R"(^\| `(TOML_[A-Z_]+)` \| (.+) \|$)");
  std::vector<std::pair<std::string, std::string>> rows;
  for (const std::string& line : lines_of(doc)) {
    std::smatch m;
    if (std::regex_match(line, m, row)) rows.emplace_back(m[1], m[2]);
  }
  REQUIRE(rows.size() == bcfg_tool::kToolCodeCount);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].first == bcfg_tool::kToolCodeTable[i].name);
    CHECK(rows[i].second == bcfg_tool::kToolCodeTable[i].summary);
  }
}

// ---- golden diagnostics through the CLI ----------------------------------------------

TEST_CASE("every invalid case prints exactly its golden diagnostics and exits 1") {
  const fs::path dir = data_dir() / "invalid";
  const std::vector<fs::path> cases = files_in(dir, ".toml");
  REQUIRE(cases.size() >= 20);
  const std::regex toml_line(R"(^[a-z0-9_]+\.toml:[0-9]+:[0-9]+: error: \[[A-Z0-9_]+\] .+$)");
  const std::regex blob_line(R"(^[a-z0-9_]+\.toml: offset 0x[0-9a-f]+: error: \[[A-Z0-9_]+\] .+$)");
  for (const fs::path& c : cases) {
    const std::string name = c.filename().string();
    INFO(name);
    fs::path golden = c;
    golden.replace_extension(".expected");
    const std::string expected = read_file(golden);
    REQUIRE(!expected.empty());
    // Each diagnostic's line, then (TOML) the source excerpt with its caret
    // and any hint, all indented.
    const std::regex context_line(R"(^ +([0-9]+ )?\| .*$|^      = hint: .+$)");
    for (const std::string& line : lines_of(expected)) {
      INFO(line);
      if (line.starts_with(" ")) {
        CHECK(std::regex_match(line, context_line));
        continue;
      }
      CHECK((std::regex_match(line, toml_line) || std::regex_match(line, blob_line)));
      CHECK(line.rfind(name, 0) == 0);
    }
    const Run r = run_tool({"check", name}, dir);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err == expected);
  }
}

TEST_CASE("every tool code is reached by a TOML case") {
  std::string all;
  for (const fs::path& g : files_in(data_dir() / "invalid", ".expected")) all += read_file(g);
  for (const auto& row : bcfg_tool::kToolCodeTable) {
    INFO(row.name);
    CHECK(all.find(fmt::format("[{}]", row.name)) != std::string::npos);
  }
  // And the rootd reasons the front end applies itself.
  for (Reason r : {Reason::BCFG_PROFILE_INVALID, Reason::BCFG_SERVICE_NAME_INVALID,
                   Reason::BCFG_SERVICE_ROLE_INVALID, Reason::BCFG_SERVICE_IMAGE_INVALID,
                   Reason::BCFG_PROVIDER_NAME_INVALID, Reason::BCFG_MOUNT_PATH_INVALID}) {
    INFO(rootd::reason_name(r));
    CHECK(all.find(fmt::format("[{}]", rootd::reason_name(r))) != std::string::npos);
  }
}

TEST_CASE("the golden cases report several errors per file, in source order") {
  for (const fs::path& g : files_in(data_dir() / "invalid", ".expected")) {
    INFO(g.filename().string());
    std::pair<long, long> previous{0, 0};
    for (const std::string& line : lines_of(read_file(g))) {
      std::smatch m;
      if (!std::regex_search(line, m, std::regex(R"(\.toml:([0-9]+):([0-9]+): )"))) continue;
      const std::pair<long, long> pos{std::stol(m[1]), std::stol(m[2])};
      CHECK(previous <= pos);
      previous = pos;
    }
  }
  CHECK(lines_of(read_file(data_dir() / "invalid" / "many_errors.expected")).size() >= 7);
}

// ---- valid configs, determinism, round trips ---------------------------------------------

TEST_CASE("examples and valid cases check clean and compile") {
  const std::vector<fs::path> configs = valid_configs();
  REQUIRE(configs.size() >= 3);
  for (const fs::path& c : configs) {
    INFO(c.string());
    const Run r = run_tool({"check", c.string()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
  }
}

TEST_CASE("compiling is deterministic and independent of declaration order") {
  TempDir dir;
  const std::string a = compile(examples_dir() / "runtime.toml", dir, "a.bcfg");
  const std::string b = compile(examples_dir() / "runtime.toml", dir, "b.bcfg");
  CHECK(a == b);
  const std::string reordered =
      compile(data_dir() / "valid" / "runtime_reordered.toml", dir, "c.bcfg");
  CHECK(a == reordered);
  CHECK(rootd::bcfg::parse(bytes_of(a)).ok());
  // The front end's own source text differs: same bytes from different text.
  CHECK(read_file(examples_dir() / "runtime.toml") !=
        read_file(data_dir() / "valid" / "runtime_reordered.toml"));
}

TEST_CASE("decode then compile gives back the same bytes for every valid config") {
  TempDir dir;
  for (const fs::path& c : valid_configs()) {
    INFO(c.string());
    const std::string original = compile(c, dir, "orig.bcfg");
    const Run decoded = run_tool({"decode", (dir / "orig.bcfg").string()});
    REQUIRE(decoded.exit_code == 0);
    CHECK(decoded.err.empty());
    write_file(dir / "decoded.toml", decoded.out);
    const std::string again = compile(dir / "decoded.toml", dir, "again.bcfg");
    CHECK(again == original);
    // Canonical text: decoding the recompiled blob prints the same text.
    const Run twice = run_tool({"decode", (dir / "again.bcfg").string()});
    CHECK(twice.out == decoded.out);
    // Defaults are left out.
    CHECK(decoded.out.find("launch = \"rootd\"") == std::string::npos);
    CHECK(decoded.out.find("read_only = false") == std::string::npos);
    CHECK(decoded.out.find("profile = \"none\"") == std::string::npos);
    CHECK(decoded.out.find("after = []") == std::string::npos);
  }
}

TEST_CASE("decode prints image only when it differs from the name") {
  const std::string text =
      "version = 1\n[[service]]\nname = \"a\"\nrole = \"service\"\nimage = \"a\"\n"
      "[[service]]\nname = \"b\"\nrole = \"service\"\nimage = \"generic\"\n";
  const bcfg_tool::Outcome o = bcfg_tool::check_toml(text, "t.toml", /*policy=*/false);
  REQUIRE(o.valid());
  const std::string decoded = bcfg_tool::decode_to_toml(o.view());
  CHECK(decoded ==
        "version = 1\n\n[[service]]\nname = \"a\"\nrole = \"service\"\n\n"
        "[[service]]\nname = \"b\"\nrole = \"service\"\nimage = \"generic\"\n");
}

// ---- compile refuses invalid input ----------------------------------------------------

TEST_CASE("compile of an invalid config writes nothing and keeps an existing output") {
  TempDir dir;
  const fs::path bad = data_dir() / "invalid" / "many_errors.toml";
  const Run fresh = run_tool({"compile", bad.string(), "-o", (dir / "new.bcfg").string()});
  CHECK(fresh.exit_code == 1);
  CHECK(!fresh.err.empty());
  CHECK(!fs::exists(dir / "new.bcfg"));

  write_file(dir / "old.bcfg", "previous contents");
  const Run kept = run_tool({"compile", bad.string(), "-o", (dir / "old.bcfg").string()});
  CHECK(kept.exit_code == 1);
  CHECK(read_file(dir / "old.bcfg") == "previous contents");
  // A policy error refuses too.
  const fs::path policy = data_dir() / "invalid" / "policy_cycle.toml";
  const Run refused = run_tool({"compile", policy.string(), "-o", (dir / "old.bcfg").string()});
  CHECK(refused.exit_code == 1);
  CHECK(read_file(dir / "old.bcfg") == "previous contents");
  // No temporary file is left behind either way.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("compile replaces an existing output with the new blob") {
  TempDir dir;
  write_file(dir / "out.bcfg", "stale");
  const std::string blob = compile(examples_dir() / "phase0.toml", dir, "out.bcfg");
  CHECK(blob.rfind("ERIXBCFG", 0) == 0);
  CHECK(rootd::bcfg::parse(bytes_of(blob)).ok());
}

// ---- binary input ------------------------------------------------------------------------

TEST_CASE("binary diagnostics carry the offset of the field at fault") {
  TempDir dir;
  const std::string good = compile(examples_dir() / "runtime.toml", dir, "good.bcfg");
  const rootd::Result<bc::View> view = bc::parse(bytes_of(good));
  REQUIRE(view.ok());

  struct Case {
    std::string name;
    std::string bytes;
    std::string expected;  // the whole stderr
  };
  std::vector<Case> cases;

  std::string magic = good;
  magic[3] = 'Y';
  cases.push_back({"magic.bcfg", magic,
                   "magic.bcfg: offset 0x3: error: [BCFG_BAD_MAGIC] the magic \"ERIXBCFG\" is "
                   "damaged at byte 3\n"});

  cases.push_back({"short.bcfg", good.substr(0, 20),
                   "short.bcfg: offset 0x0: error: [BCFG_TRUNCATED_HEADER] the blob is 20 bytes, "
                   "shorter than its 32-byte header\n"});

  cases.push_back({"truncated.bcfg", good.substr(0, 100),
                   fmt::format("truncated.bcfg: offset 0xc: error: [BCFG_TOTAL_SIZE_MISMATCH] header "
                               "total_size is {} but the blob is 100 bytes\n",
                               good.size())});

  std::string flipped = good;
  flipped[good.size() - 1] = static_cast<char>(flipped[good.size() - 1] ^ 0x20);
  cases.push_back({"flipped.bcfg", flipped,
                   fmt::format("flipped.bcfg: offset 0x10: error: [BCFG_CHECKSUM_MISMATCH] header "
                               "checksum is {:#010x} but the bytes give {:#010x}\n",
                               bc::checksum(bytes_of(good)), bc::checksum(bytes_of(flipped)))});

  // A bad launch byte in service row 2, with the checksum made right again,
  // so the structural check past the header is what fails.
  std::string launch = good;
  const std::size_t launch_at = view->service_offset(2) + bc::kServiceLaunchOffset;
  launch[launch_at] = 7;
  rootd::store_le32(rootd::MutableBytes(launch.data(), launch.size()), bc::kHeaderChecksumOffset,
                    bc::checksum(bytes_of(launch)));
  cases.push_back({"launch.bcfg", launch,
                   fmt::format("launch.bcfg: offset {:#x}: error: [BCFG_SERVICE_LAUNCH_INVALID] "
                               "malformed blob at service row 2 (launch)\n",
                               launch_at)});

  for (const Case& c : cases) {
    INFO(c.name);
    write_file(dir / c.name, c.bytes);
    REQUIRE(bc::parse(bytes_of(c.bytes)).error().offset ==
            std::stoul(c.expected.substr(c.expected.find("0x")), nullptr, 16));
    for (const char* verb : {"check", "decode"}) {
      INFO(verb);
      const Run r = run_tool({verb, c.name}, dir.path());
      CHECK(r.exit_code == 1);
      CHECK(r.out.empty());
      CHECK(r.err == c.expected);
    }
  }
}

TEST_CASE("policy errors of a blob are reported at the row's offset, every one of them") {
  // Structurally fine, but two unknown roles and a driver launched by rootd.
  const bc::ServiceDesc services[] = {
      {.name = "memd", .role = "memd", .image = "memd"},
      {.name = "alpha", .role = "no-such-role", .image = "alpha"},
      {.name = "beta", .role = "other-role", .image = "beta"},
  };
  const bc::ConfigDesc desc{.services = services};
  const rootd::Result<std::size_t> size = bc::encoded_size(desc);
  REQUIRE(size.ok());
  std::string blob(*size, '\0');
  REQUIRE(bc::write(desc, rootd::MutableBytes(blob.data(), blob.size())).ok());
  const rootd::Result<bc::View> view = bc::parse(bytes_of(blob));
  REQUIRE(view.ok());

  TempDir dir;
  write_file(dir / "roles.bcfg", blob);
  const Run r = run_tool({"check", "roles.bcfg"}, dir.path());
  CHECK(r.exit_code == 1);
  // Service rows are sorted by name: alpha 0, beta 1, memd 2.
  const std::string expected = fmt::format(
      "roles.bcfg: offset {:#x}: error: [ROLE_UNKNOWN] service \"alpha\": role \"no-such-role\" is "
      "not in the role catalog\n"
      "roles.bcfg: offset {:#x}: error: [ROLE_UNKNOWN] service \"beta\": role \"other-role\" is not "
      "in the role catalog\n",
      view->service_offset(0), view->service_offset(1));
  CHECK(r.err == expected);
  // decode checks structure only, so it prints the config.
  const Run d = run_tool({"decode", "roles.bcfg"}, dir.path());
  CHECK(d.exit_code == 0);
  CHECK(d.out.find("role = \"no-such-role\"") != std::string::npos);
}

TEST_CASE("input that is neither TOML nor a blob is invalid, with a message") {
  TempDir dir;
  write_file(dir / "prose.txt", "Dear reader,\nthis is a letter.\n");
  write_file(dir / "zeros.bin", std::string(64, '\0'));
  write_file(dir / "empty.toml", "");
  const Run prose = run_tool({"check", "prose.txt"}, dir.path());
  CHECK(prose.exit_code == 1);
  CHECK(prose.err.rfind("prose.txt:1:6: error: [TOML_SYNTAX] ", 0) == 0);
  const Run zeros = run_tool({"check", "zeros.bin"}, dir.path());
  CHECK(zeros.exit_code == 1);
  CHECK(zeros.err.rfind("zeros.bin: offset 0x0: error: [BCFG_BAD_MAGIC] ", 0) == 0);
  const Run empty = run_tool({"check", "empty.toml"}, dir.path());
  CHECK(empty.exit_code == 1);
  CHECK(empty.err ==
        "empty.toml:1:1: error: [TOML_MISSING_KEY] the file is empty; a boot config starts with "
        "version = 1\n");
}

// ---- usage, I/O and help --------------------------------------------------------------

TEST_CASE("bad usage and unreadable input exit 2 with a message on stderr") {
  TempDir dir;
  const std::string runtime = (examples_dir() / "runtime.toml").string();
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"--frobnicate"},
      {"check"},
      {"check", "--strict", runtime},
      {"check", (dir / "missing.toml").string()},
      {"check", dir.path().string()},
      {"compile", runtime},
      {"compile", runtime, "-o"},
      {"compile", runtime, "-o", "a", "-o", "b"},
      {"compile", runtime, "-o", (dir / "no-such-dir" / "out.bcfg").string()},
      {"decode"},
      {"plan", "-x", runtime},
      {"graph", runtime, "--handoff", runtime},
      {"plan", "--handoff", (dir / "missing").string(), runtime},
  };
  for (const auto& args : cases) {
    INFO(fmt::format("{}", fmt::join(args, " ")));
    const Run r = run_tool(args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(!r.err.empty());
  }
  // compile refuses a blob as its input.
  const std::string blob = compile(examples_dir() / "phase0.toml", dir, "p.bcfg");
  const Run r = run_tool({"compile", (dir / "p.bcfg").string(), "-o", (dir / "q.bcfg").string()});
  CHECK(r.exit_code == 2);
  CHECK(!fs::exists(dir / "q.bcfg"));
}

TEST_CASE("--help works for the tool and for every command") {
  const Run top = run_tool({"--help"});
  CHECK(top.exit_code == 0);
  CHECK(top.err.empty());
  for (const char* verb : {"check", "compile", "decode", "plan", "graph", "diff"}) {
    INFO(verb);
    CHECK(top.out.find(fmt::format("  {} ", verb)) != std::string::npos);
    for (const char* flag : {"--help", "-h"}) {
      const Run r = run_tool({verb, flag});
      CHECK(r.exit_code == 0);
      CHECK(r.err.empty());
      CHECK(r.out.rfind(fmt::format("usage: erix-bcfg {}", verb), 0) == 0);
      CHECK(r.out.find("Exit status") != std::string::npos);
    }
  }
}

TEST_CASE("FILE '-' reads stdin") {
  const Run ok = run_tool({"check", "-"}, fs::current_path(), read_file(examples_dir() / "phase0.toml"));
  CHECK(ok.exit_code == 0);
  const Run bad = run_tool({"check", "-"}, fs::current_path(), "version = 2\n");
  CHECK(bad.exit_code == 1);
  CHECK(bad.err ==
        "<stdin>:1:11: error: [TOML_OUT_OF_RANGE] version is 2; this tool reads version 1 only\n"
        "    1 | version = 2\n"
        "      |           ^\n");
}

// ---- plan and graph ----------------------------------------------------------------------

TEST_CASE("plan prints the order, the waves and every service's transfer table") {
  const Run r = run_tool({"plan", (examples_dir() / "phase0.toml").string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  const std::string& p = r.out;
  // The foundation chain, one wave each, then the probe.
  for (const char* wave : {"  wave 0: memd\n", "  wave 1: vspaced\n", "  wave 2: pagerd\n",
                           "  wave 3: procd\n", "  wave 4: phase0-probe\n"}) {
    CHECK(p.find(wave) != std::string::npos);
  }
  // memd's memory endpoint (canonical slot 2224) and procd's image frame.
  CHECK(std::regex_search(p, std::regex(R"( 2224  dedicated-endpoint +send\|receive\|grant +slot 2224 \(memory endpoint\))")));
  CHECK(std::regex_search(p, std::regex(R"( 2096  image-frame +read\|execute +the handoff's boot image frame)")));
  CHECK(p.find("procd (probe)") != std::string::npos);
  // One table per service.
  std::size_t tables = 0;
  for (std::size_t at = 0; (at = p.find("(role ", at)) != std::string::npos; ++at) ++tables;
  CHECK(tables == 5);
}

TEST_CASE("plan --handoff takes rootd's slots from the handoff") {
  // Dedicated endpoints away from their canonical slots, so the plan can only
  // show these numbers if it read them from the handoff.
  std::string buffer(4096, '\0');
  rootd::handoff::Builder builder(rootd::MutableBytes(buffer.data(), buffer.size()));
  builder.cspace({.slot_count = 4096, .first_free_slot = 3000});
  builder.image_frame({.slot = 40, .size = 0x10000});
  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    builder.endpoint({.kind = static_cast<rootd::EndpointKind>(k), .slot = static_cast<std::uint32_t>(100 + k)});
  }
  const rootd::Result<std::size_t> size = builder.finish();
  REQUIRE(size.ok());
  buffer.resize(*size);
  REQUIRE(rootd::handoff::parse(bytes_of(buffer)).ok());
  TempDir dir;
  write_file(dir / "handoff.bin", buffer);

  const Run r = run_tool({"plan", "--handoff", (dir / "handoff.bin").string(),
                          (examples_dir() / "phase0.toml").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string& p = r.out;
  CHECK(p.find("sources: from the handoff (first free slot 3000, boot image frame at slot 40)") !=
        std::string::npos);
  // memd is service 0 of phase0 (names sorted: memd, pagerd, phase0-probe, procd, vspaced).
  CHECK(std::regex_search(p, std::regex(R"( 2224  dedicated-endpoint +send\|receive\|grant +slot 107 \(memory endpoint\))")));
  CHECK(std::regex_search(p, std::regex(R"(    1  service-endpoint +send\|receive\|grant +slot 3000 \(its retained endpoint\))")));
  CHECK(std::regex_search(p, std::regex(R"( 2096  image-frame +read\|execute +slot 40 \(boot image frame\))")));
  CHECK(p.find("first_free+") == std::string::npos);

  // A damaged handoff is invalid input.
  buffer[0] = static_cast<char>(buffer[0] ^ 1);
  write_file(dir / "bad.bin", buffer);
  const Run bad = run_tool({"plan", "--handoff", (dir / "bad.bin").string(),
                            (examples_dir() / "phase0.toml").string()});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("bad.bin: offset 0x") != std::string::npos);
}

TEST_CASE("plan refuses an invalid config") {
  const Run r = run_tool({"plan", (data_dir() / "invalid" / "policy_cycle.toml").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("[ORDER_CYCLE]") != std::string::npos);
}

TEST_CASE("graph prints DOT with distinct edge styles that dot renders") {
  const Run r = run_tool({"graph", (examples_dir() / "runtime.toml").string()});
  REQUIRE(r.exit_code == 0);
  const std::string& g = r.out;
  CHECK(g.find("digraph boot_config {") != std::string::npos);
  CHECK(g.find("\"deviced\" -> \"timed\" [style=solid]") != std::string::npos);             // after
  CHECK(g.find("\"loaderd\" -> \"vfsd\" [style=dashed") != std::string::npos);             // peers
  CHECK(g.find("\"logd\" -> \"procd\" [style=dotted") != std::string::npos);               // launcher
  CHECK(g.find("\"e2fsd\" -> \"blockd\" [style=dotted") != std::string::npos);             // storage
  CHECK(g.find("label=\"storage data\"") != std::string::npos);
  const char* dot = std::getenv("ERIX_DOT");
  if (dot == nullptr || *dot == '\0') {
    WARN("graphviz dot not found: rendering not checked");
    return;
  }
  TempDir dir;
  write_file(dir / "g.dot", g);
  const std::string cmd =
      fmt::format("'{}' -Tsvg '{}' -o '{}'", dot, (dir / "g.dot").string(), (dir / "g.svg").string());
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(read_file(dir / "g.svg").find("<svg") != std::string::npos);
}

// ---- diff -----------------------------------------------------------------------------

namespace {

fs::path diff_dir() { return data_dir() / "diff"; }

// A golden diff: OLD and NEW in host-tests/data/bcfg/diff, run from there,
// and the stream `<name>.expected` holds (stdout, or stderr for an invalid
// input).
struct DiffCase {
  const char* name;
  const char* old_file;
  const char* new_file;
  int exit_code;
};

constexpr DiffCase kDiffCases[] = {
    {"identical", "base.toml", "base.toml", 0},
    {"reordered", "base.toml", "reordered.toml", 0},
    {"peer_added", "base.toml", "peer_added.toml", 1},
    {"peer_replaced", "base.toml", "peer_replaced.toml", 1},
    {"peer_shifts", "peer_replaced.toml", "peer_added.toml", 1},
    {"services_changed", "base.toml", "services_changed.toml", 1},
    {"role_changed", "base.toml", "role_changed.toml", 1},
    {"roles_swapped", "roles_swapped.old.toml", "roles_swapped.new.toml", 1},
};

// The golden text past its two header lines (--- OLD, +++ NEW).
std::string past_header(const std::string& text) {
  std::size_t at = 0;
  for (int line = 0; line < 2 && at != std::string::npos; ++line) at = text.find('\n', at) + 1;
  return text.substr(at);
}

}  // namespace

TEST_CASE("diff prints each golden authority delta and exits 0 only without one") {
  for (const DiffCase& c : kDiffCases) {
    INFO(c.name);
    const std::string expected = read_file(diff_dir() / (std::string(c.name) + ".expected"));
    const Run r = run_tool({"diff", c.old_file, c.new_file}, diff_dir());
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.err.empty());
    CHECK(r.out == expected);
    CHECK((r.out.find("\nno authority change: ") != std::string::npos) == (c.exit_code == 0));
  }
}

TEST_CASE("diff reads blobs like TOML: the same delta from compiled inputs") {
  TempDir dir;
  const std::string base_blob = compile(diff_dir() / "base.toml", dir, "base.bcfg");
  fs::copy_file(diff_dir() / "base.toml", dir / "base.toml");
  const Run same = run_tool({"diff", "base.bcfg", "base.toml"}, dir.path());
  CHECK(same.exit_code == 0);
  CHECK(same.err.empty());
  CHECK(same.out == read_file(diff_dir() / "binary_vs_toml.expected"));

  for (const DiffCase& c : kDiffCases) {
    INFO(c.name);
    const std::string old_blob = (dir / (std::string(c.name) + ".old.bcfg")).string();
    const std::string new_blob = (dir / (std::string(c.name) + ".new.bcfg")).string();
    compile(diff_dir() / c.old_file, dir, fs::path(old_blob).filename().string());
    compile(diff_dir() / c.new_file, dir, fs::path(new_blob).filename().string());
    const Run r = run_tool({"diff", old_blob, new_blob});
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.out.rfind(fmt::format("--- {}\n+++ {}\n", old_blob, new_blob), 0) == 0);
    CHECK(past_header(r.out) ==
          past_header(read_file(diff_dir() / (std::string(c.name) + ".expected"))));
  }
}

namespace {

// The report of diff NEW OLD, made from that of diff OLD NEW by hand rules:
// marks swap, "a -> b" turns round (widened <-> narrowed), counts swap.
std::string mirrored(const std::string& report) {
  static const std::regex change(R"(^(  ~ .*?)(\S+) -> (\S+)(.*)$)");
  static const std::regex summary(
      R"(^authority changed: services \+(\d+) -(\d+) ~(\d+), capabilities \+(\d+) -(\d+) ~(\d+)$)");
  std::string out;
  for (std::string line : lines_of(report)) {
    std::smatch m;
    if (line.starts_with("+ ") || line.starts_with("- ")) {
      line[0] = line[0] == '+' ? '-' : '+';
    } else if (line.starts_with("  + ") || line.starts_with("  - ")) {
      line[2] = line[2] == '+' ? '-' : '+';
    } else if (std::regex_match(line, m, change)) {
      std::string rest = m[4].str();
      if (rest == " (widened)") rest = " (narrowed)";
      else if (rest == " (narrowed)") rest = " (widened)";
      line = m[1].str() + m[3].str() + " -> " + m[2].str() + rest;
    } else if (std::regex_match(line, m, summary)) {
      line = fmt::format("authority changed: services +{} -{} ~{}, capabilities +{} -{} ~{}",
                         m[2].str(), m[1].str(), m[3].str(), m[5].str(), m[4].str(), m[6].str());
    }
    out += line + '\n';
  }
  return out;
}

}  // namespace

TEST_CASE("diff NEW OLD is the mirror image of diff OLD NEW") {
  for (const DiffCase& c : kDiffCases) {
    INFO(c.name);
    const Run forward = run_tool({"diff", c.old_file, c.new_file}, diff_dir());
    const Run back = run_tool({"diff", c.new_file, c.old_file}, diff_dir());
    CHECK(back.exit_code == forward.exit_code);
    CHECK(past_header(back.out) == mirrored(past_header(forward.out)));
  }
}

TEST_CASE("diff of an invalid input prints check's diagnostics and names the input") {
  const Run check = run_tool({"check", "invalid.toml"}, diff_dir());
  REQUIRE(check.exit_code == 1);
  const Run r = run_tool({"diff", "base.toml", "invalid.toml"}, diff_dir());
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == read_file(diff_dir() / "invalid_new.expected"));
  CHECK(r.err.rfind(check.err, 0) == 0);

  const Run old_bad = run_tool({"diff", "invalid.toml", "base.toml"}, diff_dir());
  CHECK(old_bad.exit_code == 1);
  CHECK(old_bad.out.empty());
  CHECK(old_bad.err == check.err + "erix-bcfg diff: OLD (invalid.toml) is not a valid config\n");

  const Run both = run_tool({"diff", "invalid.toml", "invalid.toml"}, diff_dir());
  CHECK(both.exit_code == 1);
  CHECK(both.err == check.err + "erix-bcfg diff: OLD (invalid.toml) is not a valid config\n" +
                        check.err + "erix-bcfg diff: NEW (invalid.toml) is not a valid config\n");
}

TEST_CASE("diff usage and I/O errors exit 2") {
  TempDir dir;
  const std::string base = (diff_dir() / "base.toml").string();
  const std::string invalid = (diff_dir() / "invalid.toml").string();
  const std::vector<std::vector<std::string>> cases = {
      {"diff"},
      {"diff", base},
      {"diff", base, base, base},
      {"diff", "--frobnicate", base, base},
      {"diff", "-", "-"},
      {"diff", (dir / "missing.toml").string(), base},
      {"diff", base, (dir / "missing.toml").string()},
      {"diff", base, dir.path().string()},
      {"diff", invalid, (dir / "missing.toml").string()},  // I/O before validity
  };
  for (const auto& args : cases) {
    INFO(fmt::format("{}", fmt::join(args, " ")));
    const Run r = run_tool(args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(!r.err.empty());
  }
  const Run one = run_tool({"diff", base});
  CHECK(one.err.find("1 input file given, 2 expected") != std::string::npos);
  // One of the inputs may come from stdin.
  const Run piped = run_tool({"diff", base, "-"}, fs::current_path(), read_file(base));
  CHECK(piped.exit_code == 0);
  CHECK(piped.out.find("+++ <stdin>\n") != std::string::npos);
}

// ---- the front end as a library ----------------------------------------------------------

TEST_CASE("the front end records positions and applies the schema defaults") {
  const std::string text =
      "version = 1\n"
      "\n"
      "[[service]]\n"
      "name = \"memd\"\n"
      "  role = \"memd\"\n"
      "[[service]]\n"
      "name = \"drv\"\n"
      "role = \"drv-serial\"\n"
      "launch = \"deviced\"\n"
      "after = [\"memd\",\n"
      "         \"memd2\"]\n"
      "[[service]]\n"
      "name = \"memd2\"\n"
      "role = \"service\"\n"
      "image = \"generic\"\n"
      "[[provider]]\n"
      "name = \"p\"\n"
      "service = \"memd\"\n"
      "[[mount]]\n"
      "path = \"/\"\n"
      "provider = \"p\"\n";
  const bcfg_tool::FrontendResult r = bcfg_tool::parse_toml(text, "t.toml");
  REQUIRE(r.diagnostics.empty());
  REQUIRE(r.config.has_value());
  const bcfg_tool::TomlConfig& c = *r.config;
  CHECK(c.desc().profile == "none");
  REQUIRE(c.services().size() == 3);
  const bcfg_tool::ServiceRecord& memd = c.services()[0];
  CHECK(memd.table == bcfg_tool::SourcePos{3, 1});
  CHECK(memd.name_pos == bcfg_tool::SourcePos{4, 8});
  CHECK(memd.role_pos == bcfg_tool::SourcePos{5, 10});
  CHECK(memd.image == "memd");  // default: the name
  CHECK(memd.launch == bc::Launch::ROOTD);
  CHECK(memd.launch_pos == memd.table);  // absent key: its table
  const bcfg_tool::ServiceRecord* drv = c.find_service("drv");
  REQUIRE(drv != nullptr);
  CHECK(drv->launch == bc::Launch::DEVICED);
  REQUIRE(drv->after_entry_pos.size() == 2);
  CHECK(drv->after_entry_pos[0] == bcfg_tool::SourcePos{10, 10});
  CHECK(drv->after_entry_pos[1] == bcfg_tool::SourcePos{11, 10});
  CHECK(c.find_service("memd2")->image == "generic");
  CHECK(c.desc().services.size() == 3);
  CHECK(c.desc().services[1].after.size() == 2);
  CHECK(c.desc().providers[0].partition == bc::kNoPartition);
  CHECK(c.desc().providers[0].block.empty());
  CHECK(!c.desc().mounts[0].read_only);
  CHECK(c.find_mount("/")->provider_pos == bcfg_tool::SourcePos{21, 12});
}

TEST_CASE("a moved TomlConfig keeps its description valid") {
  bcfg_tool::FrontendResult r = bcfg_tool::parse_toml(read_file(examples_dir() / "runtime.toml"), "r");
  REQUIRE(r.config.has_value());
  bcfg_tool::TomlConfig moved = std::move(*r.config);
  r.config.reset();
  const rootd::Result<std::size_t> size = bc::encoded_size(moved.desc());
  CHECK(size.ok());
  CHECK(moved.desc().services[0].name == "memd");
}

namespace {

// TOML text of a config, each name possibly malformed, in declaration order.
struct GenService {
  std::string name, role;
  std::vector<std::string> after, peers;
};
struct GenConfig {
  std::string profile = "none";
  std::vector<GenService> services;
  std::vector<std::pair<std::string, std::string>> providers;  // name, service
  std::vector<std::pair<std::string, std::string>> mounts;     // path, provider
};

std::string to_toml(const GenConfig& g) {
  const auto list = [](const std::vector<std::string>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + bcfg_tool::toml_quote(v[i]);
    return s + "]";
  };
  std::string out = fmt::format("version = 1\nprofile = {}\n", bcfg_tool::toml_quote(g.profile));
  for (const GenService& s : g.services) {
    out += fmt::format("[[service]]\nname = {}\nrole = {}\nafter = {}\npeers = {}\n",
                       bcfg_tool::toml_quote(s.name), bcfg_tool::toml_quote(s.role), list(s.after),
                       list(s.peers));
  }
  for (const auto& [name, service] : g.providers) {
    out += fmt::format("[[provider]]\nname = {}\nservice = {}\n", bcfg_tool::toml_quote(name),
                       bcfg_tool::toml_quote(service));
  }
  for (const auto& [path, provider] : g.mounts) {
    out += fmt::format("[[mount]]\npath = {}\nprovider = {}\n", bcfg_tool::toml_quote(path),
                       bcfg_tool::toml_quote(provider));
  }
  return out;
}

GenConfig random_config(std::mt19937& rng, bool allow_mistakes) {
  const auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  const auto chance = [&](int percent) { return static_cast<int>(pick(100)) < percent; };
  const auto mistake = [&] { return allow_mistakes && chance(3); };
  static const char* kBadNames[] = {"", "Upper", "under_score", "a/b", "thirty-two-characters-long-name-x",
                                    "sp ace"};
  const auto name = [&](std::size_t i, const char* stem) {
    if (mistake()) return std::string(kBadNames[pick(std::size(kBadNames))]);
    return fmt::format("{}-{}", stem, i);
  };
  GenConfig g;
  if (mistake()) g.profile = "No_Profile";
  const std::size_t n = 1 + pick(24);
  for (std::size_t i = 0; i < n; ++i) g.services.push_back({name(i, "svc"), name(i, "role"), {}, {}});
  for (GenService& s : g.services) {
    std::set<std::size_t> used;
    for (std::size_t k = pick(4); k > 0; --k) {
      std::size_t t = pick(n);
      if (!used.insert(t).second && !mistake()) continue;
      s.after.push_back(mistake() ? "ghost" : g.services[t].name);
    }
    used.clear();
    for (std::size_t k = pick(3); k > 0; --k) {
      std::size_t t = pick(n);
      if (!used.insert(t).second && !mistake()) continue;
      s.peers.push_back(g.services[t].name);
    }
  }
  if (mistake() && n > 1) g.services[1].name = g.services[0].name;  // duplicate
  const std::size_t providers = pick(4);
  for (std::size_t p = 0; p < providers; ++p) {
    g.providers.push_back({name(p, "prov"), mistake() ? "ghost" : g.services[pick(n)].name});
  }
  for (std::size_t m = 0; m < providers; ++m) {
    std::string path = m == 0 ? "/" : fmt::format("/m{}", m);
    if (mistake()) path = "has space";
    g.mounts.push_back({path, mistake() ? "ghost" : fmt::format("prov-{}", m)});
  }
  return g;
}

}  // namespace

TEST_CASE("the front end refuses exactly what the bcfg writer refuses") {
  // Random configs with occasional mistakes: the front end finds an error
  // exactly when bcfg::write would refuse the same description. The
  // writer's input is rebuilt from the generator, not from the front end.
  std::mt19937 rng(20240611);
  int refused = 0;
  for (int round = 0; round < 400; ++round) {
    const GenConfig g = random_config(rng, true);
    const bcfg_tool::FrontendResult r = bcfg_tool::parse_toml(to_toml(g), "gen.toml");

    std::vector<std::vector<std::string_view>> after(g.services.size()), peers(g.services.size());
    std::vector<bc::ServiceDesc> services;
    for (std::size_t i = 0; i < g.services.size(); ++i) {
      after[i].assign(g.services[i].after.begin(), g.services[i].after.end());
      peers[i].assign(g.services[i].peers.begin(), g.services[i].peers.end());
      services.push_back({.name = g.services[i].name, .role = g.services[i].role,
                          .image = g.services[i].name, .after = after[i], .peers = peers[i]});
    }
    std::vector<bc::ProviderDesc> providers;
    for (const auto& [name, service] : g.providers) providers.push_back({.name = name, .service = service});
    std::vector<bc::MountDesc> mounts;
    for (const auto& [path, provider] : g.mounts) mounts.push_back({.path = path, .provider = provider});
    const bc::ConfigDesc desc{
        .profile = g.profile, .services = services, .providers = providers, .mounts = mounts};
    const bool writer_ok = bc::encoded_size(desc).ok();

    INFO(to_toml(g));
    CHECK(r.diagnostics.empty() == writer_ok);
    CHECK(r.config.has_value() == writer_ok);
    refused += writer_ok ? 0 : 1;
  }
  // The generator must exercise both outcomes to prove anything.
  CHECK(refused > 20);
  CHECK(refused < 380);
}

TEST_CASE("decode_to_toml round-trips random configs byte for byte") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const GenConfig g = random_config(rng, false);
    const std::string text = to_toml(g);
    const bcfg_tool::Outcome first = bcfg_tool::check_toml(text, "gen.toml", /*policy=*/false);
    INFO(text);
    REQUIRE(first.valid());
    const std::string decoded = bcfg_tool::decode_to_toml(first.view());
    const bcfg_tool::Outcome second = bcfg_tool::check_toml(decoded, "decoded.toml", false);
    INFO(decoded);
    REQUIRE(second.valid());
    CHECK(second.blob == first.blob);
    CHECK(bcfg_tool::decode_to_toml(second.view()) == decoded);

    // Declaration order does not matter: reversed lists and tables, same bytes.
    GenConfig reversed = g;
    std::reverse(reversed.services.begin(), reversed.services.end());
    for (GenService& s : reversed.services) {
      std::reverse(s.after.begin(), s.after.end());
      std::reverse(s.peers.begin(), s.peers.end());
    }
    std::reverse(reversed.providers.begin(), reversed.providers.end());
    std::reverse(reversed.mounts.begin(), reversed.mounts.end());
    const bcfg_tool::Outcome third = bcfg_tool::check_toml(to_toml(reversed), "rev.toml", false);
    REQUIRE(third.valid());
    CHECK(third.blob == first.blob);
  }
}

// ---- limits ---------------------------------------------------------------------------

namespace {
// `count` services named s0..s{count-1}, each [[service]] header on line 2 + 3*i.
std::string many_services(std::size_t count) {
  std::string out = "version = 1\n";
  for (std::size_t i = 0; i < count; ++i) out += fmt::format("[[service]]\nname = \"s{}\"\nrole = \"service\"\n", i);
  return out;
}

std::vector<bcfg_tool::SourceDiagnostic> diagnostics_of(const std::string& text) {
  return bcfg_tool::parse_toml(text, "limits.toml").diagnostics;
}
}  // namespace

TEST_CASE("limits: the config at each limit passes, one more is an error at the crossing line") {
  using bcfg_tool::SourcePos;
  CHECK(diagnostics_of(many_services(bc::kMaxServices)).empty());
  const auto services = diagnostics_of(many_services(bc::kMaxServices + 1));
  REQUIRE(services.size() == 1);
  CHECK(services[0].code == bcfg_tool::Code(Reason::BCFG_TOO_MANY_SERVICES));
  CHECK(services[0].pos == SourcePos{static_cast<std::uint32_t>(2 + 3 * bc::kMaxServices), 1});

  const auto with_lists = [](std::size_t services, std::size_t per_service, const char* key) {
    std::string out = "version = 1\n";
    for (std::size_t i = 0; i < services; ++i) {
      out += fmt::format("[[service]]\nname = \"s{}\"\nrole = \"service\"\n{} = [", i, key);
      for (std::size_t k = 0; k < per_service; ++k) out += fmt::format("{}\"s{}\"", k ? ", " : "", k);
      out += "]\n";
    }
    return out;
  };
  for (const char* key : {"after", "peers"}) {
    INFO(key);
    const Reason reason = std::string_view(key) == "after" ? Reason::BCFG_TOO_MANY_AFTER_EDGES
                                                            : Reason::BCFG_TOO_MANY_PEER_EDGES;
    // 128 services x 64 entries = 8192 = the limit exactly.
    CHECK(diagnostics_of(with_lists(128, 64, key)).empty());
    const auto over = diagnostics_of(with_lists(129, 64, key));
    REQUIRE(over.size() == 1);
    CHECK(over[0].code == bcfg_tool::Code(reason));
    // The first entry of service 128's list: line 2 + 4*128 + 3, column 10 or 10.
    CHECK(over[0].pos.line == 2 + 4 * 128 + 3);
  }

  const auto storage = [](std::size_t providers, std::size_t mounts) {
    std::string out = "version = 1\n[[service]]\nname = \"fs\"\nrole = \"ramfsd\"\n";
    for (std::size_t p = 0; p < providers; ++p) {
      out += fmt::format("[[provider]]\nname = \"p{}\"\nservice = \"fs\"\n", p);
    }
    for (std::size_t m = 0; m < mounts; ++m) {
      out += fmt::format("[[mount]]\npath = \"/m{}\"\nprovider = \"p0\"\n", m);
    }
    return out;
  };
  CHECK(diagnostics_of(storage(bc::kMaxProviders, bc::kMaxMounts)).empty());
  const auto providers = diagnostics_of(storage(bc::kMaxProviders + 1, 1));
  REQUIRE(providers.size() == 1);
  CHECK(providers[0].code == bcfg_tool::Code(Reason::BCFG_TOO_MANY_PROVIDERS));
  CHECK(providers[0].pos == SourcePos{static_cast<std::uint32_t>(5 + 3 * bc::kMaxProviders), 1});
  const auto mounts = diagnostics_of(storage(1, bc::kMaxMounts + 1));
  REQUIRE(mounts.size() == 1);
  CHECK(mounts[0].code == bcfg_tool::Code(Reason::BCFG_TOO_MANY_MOUNTS));
  CHECK(mounts[0].pos == SourcePos{static_cast<std::uint32_t>(8 + 3 * bc::kMaxMounts), 1});
}

// ---- diagnostics in one round, like a compiler's ---------------------------------------------

namespace {

constexpr std::string_view kFoundation =
    "version = 1\n"
    "[[service]]\nname = \"memd\"\nrole = \"memd\"\n"
    "[[service]]\nname = \"vspaced\"\nrole = \"vspaced\"\n"
    "[[service]]\nname = \"pagerd\"\nrole = \"pagerd\"\n"
    "[[service]]\nname = \"procd\"\nrole = \"procd\"\n"
    "[[service]]\nname = \"logd\"\nrole = \"logd\"\n";

// 1-based line and column (in bytes; the tests use ASCII) of the first
// occurrence of `needle` in `text`.
std::pair<std::size_t, std::size_t> locate(const std::string& text, std::string_view needle) {
  const std::size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  const std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  const std::size_t line_start = text.rfind('\n', at);
  const std::size_t column = at - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
  return {line, column};
}

// The diagnostic head lines of a text-format run (context lines are indented).
std::vector<std::string> heads_of(const std::string& err) {
  std::vector<std::string> out;
  for (const std::string& l : lines_of(err)) {
    if (!l.empty() && l[0] != ' ') out.push_back(l);
  }
  return out;
}

// A strict reader for the flat JSON objects of --format json: string,
// integer and null values only, every escape checked. Fails the test on
// anything else.
struct JsonValue {
  bool is_null = false, is_string = false;
  std::string text;  // string content, or the integer's digits
};

std::map<std::string, JsonValue> parse_json_object(const std::string& line) {
  std::size_t i = 0;
  const auto fail = [&](const char* why) { FAIL("bad JSON (" << why << ") at byte " << i << ": " << line); };
  const auto expect = [&](char c) {
    if (i >= line.size() || line[i] != c) fail("unexpected character");
    ++i;
  };
  const auto string_value = [&]() {
    expect('"');
    std::string out;
    for (;;) {
      if (i >= line.size()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(line[i++]);
      if (c == '"') return out;
      if (c < 0x20) fail("raw control character");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i >= line.size()) fail("dangling backslash");
      const char e = line[i++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i + 4 > line.size()) fail("short \\u escape");
          const std::string hex = line.substr(i, 4);
          for (char h : hex) {
            if (!std::isxdigit(static_cast<unsigned char>(h))) fail("bad \\u escape");
          }
          out += static_cast<char>(std::stoi(hex, nullptr, 16) & 0xFF);
          i += 4;
          break;
        }
        default: fail("unknown escape");
      }
    }
  };
  std::map<std::string, JsonValue> obj;
  expect('{');
  while (true) {
    const std::string key = string_value();
    expect(':');
    JsonValue v;
    if (i < line.size() && line[i] == '"') {
      v.is_string = true;
      v.text = string_value();
    } else if (line.compare(i, 4, "null") == 0) {
      v.is_null = true;
      i += 4;
    } else {
      while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) v.text += line[i++];
      if (v.text.empty()) fail("value is not a string, integer or null");
    }
    if (!obj.emplace(key, v).second) fail("duplicate key");
    if (i < line.size() && line[i] == ',') {
      ++i;
      continue;
    }
    expect('}');
    break;
  }
  if (i != line.size()) fail("trailing bytes");
  return obj;
}

}  // namespace

TEST_CASE("one run reports a peer typo and a dependency cycle together, each with a caret") {
  TempDir dir;
  const std::string text = std::string(kFoundation) +
                           "[[service]]\nname = \"app\"\nrole = \"service\"\npeers = [\"logg\"]\nafter = [\"db\"]\n"
                           "[[service]]\nname = \"db\"\nrole = \"service\"\nafter = [\"app\"]\n";
  write_file(dir / "two.toml", text);
  const Run r = run_tool({"check", "two.toml"}, dir.path());
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  const std::vector<std::string> heads = heads_of(r.err);
  REQUIRE(heads.size() == 2);
  const auto [typo_line, typo_col] = locate(text, "\"logg\"");
  bool typo = false, cycle = false;
  for (const std::string& h : heads) {
    if (h.starts_with(fmt::format("two.toml:{}:{}: error: [TOML_UNKNOWN_REFERENCE] ", typo_line, typo_col))) typo = true;
    if (h.find("[ORDER_CYCLE] dependency cycle: ") != std::string::npos && h.find("\"app\"") != std::string::npos &&
        h.find("\"db\"") != std::string::npos) {
      cycle = true;
    }
  }
  CHECK(typo);
  CHECK(cycle);

  // The excerpt under the typo: its source line, then a caret at its column
  // underlining the whole quoted name.
  const std::vector<std::string> lines = lines_of(r.err);
  const auto head = std::find_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("[TOML_UNKNOWN_REFERENCE]") != std::string::npos;
  });
  REQUIRE(std::distance(head, lines.end()) >= 4);
  const std::string& excerpt = *(head + 1);
  const std::string& marks = *(head + 2);
  const std::string source_line = lines_of(text)[typo_line - 1];
  const std::size_t bar = excerpt.find(" | ");
  REQUIRE(bar != std::string::npos);
  CHECK(excerpt.substr(0, bar) == fmt::format("{:>5}", typo_line));
  CHECK(excerpt.substr(bar + 3) == source_line);
  REQUIRE(marks.size() > bar + 3);
  CHECK(marks.substr(bar + 3) == std::string(typo_col - 1, ' ') + "^" + std::string(std::strlen("\"logg\"") - 1, '~'));
  CHECK(*(head + 3) == "      = hint: did you mean \"logd\"?");
}

TEST_CASE("a dropped peer does not also fail its service's exact peer set") {
  const auto codes_of = [](std::string_view peers) {
    const std::string text = std::string(kFoundation) +
                             "[[service]]\nname = \"vfsd\"\nrole = \"vfsd\"\n"
                             "[[service]]\nname = \"loaderd\"\nrole = \"loaderd\"\npeers = [" + std::string(peers) + "]\n";
    std::set<std::string> codes;
    for (const auto& d : bcfg_tool::check_toml(text, "x.toml").source_diagnostics) {
      codes.insert(std::string(d.code.name()));
    }
    return codes;
  };
  // Control: a peer set that is really incomplete is reported.
  CHECK(codes_of("\"procd\"").count("PEER_EXACT_SET_INCOMPLETE") == 1);
  // The same set after dropping a misspelt entry is not: the author wrote
  // a complete one, with a typo.
  const std::set<std::string> typo = codes_of("\"procd\", \"vfds\"");
  CHECK(typo.count("TOML_UNKNOWN_REFERENCE") == 1);
  CHECK(typo.count("PEER_EXACT_SET_INCOMPLETE") == 0);
}

TEST_CASE("edit distance and did-you-mean hints") {
  using bcfg_tool::edit_distance;
  CHECK(edit_distance("logg", "logd", 5) == 1);
  CHECK(edit_distance("ab", "ba", 5) == 1);  // a swap of neighbours is one edit
  CHECK(edit_distance("kitten", "sitting", 5) == 3);
  CHECK(edit_distance("", "abc", 5) == 3);
  CHECK(edit_distance("abc", "abc", 0) == 0);
  CHECK(edit_distance("kitten", "sitting", 2) == 3);  // over the limit: limit + 1
  CHECK(edit_distance(std::string(100000, 'a'), "a", 3) == 4);
  CHECK(bcfg_tool::did_you_mean("logg", {"memd", "logd", "timed"}) == "did you mean \"logd\"?");
  CHECK(bcfg_tool::did_you_mean("zzzz", {"memd", "logd"}).empty());
  CHECK(bcfg_tool::did_you_mean("logd", {"logd"}).empty());

  // Through the tool: names, roles, keys, launch values, providers.
  TempDir dir;
  const std::string text = std::string(kFoundation) +
                           "[[service]]\nname = \"app\"\nrole = \"servce\"\nafter = [\"timd\"]\n"
                           "[[service]]\nname = \"timed\"\nrole = \"timed\"\n";
  write_file(dir / "names.toml", text);
  const Run r = run_tool({"check", "names.toml"}, dir.path());
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("= hint: did you mean \"timed\"?") != std::string::npos);
  CHECK(r.err.find("= hint: did you mean \"service\"?") != std::string::npos);
  write_file(dir / "keys.toml", std::string(kFoundation) +
                                    "[[service]]\nname = \"app\"\nrole = \"service\"\npeer = []\nlaunch = \"rotd\"\n");
  const Run k = run_tool({"check", "keys.toml"}, dir.path());
  CHECK(k.exit_code == 1);
  CHECK(k.err.find("= hint: did you mean \"peers\"?") != std::string::npos);
  CHECK(k.err.find("= hint: did you mean \"rootd\"?") != std::string::npos);
}

TEST_CASE("--format json writes one valid object per diagnostic, matching the text form") {
  TempDir dir;
  // A key with a quote, a backslash and a control byte in it: escaping.
  const std::string text = std::string(kFoundation) +
                           "[[service]]\nname = \"app\"\nrole = \"service\"\npeers = [\"logg\"]\n"
                           "\"we\\\"i\\\\rd\\u0001\" = 1\n";
  write_file(dir / "j.toml", text);
  const Run plain = run_tool({"check", "j.toml"}, dir.path());
  const Run json = run_tool({"check", "--format", "json", "j.toml"}, dir.path());
  CHECK(json.exit_code == plain.exit_code);
  CHECK(json.exit_code == 1);
  const std::vector<std::string> heads = heads_of(plain.err);
  const std::vector<std::string> objects = lines_of(json.err);
  REQUIRE(objects.size() == heads.size());
  REQUIRE(!objects.empty());
  bool saw_hint = false;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    INFO(objects[i]);
    const auto obj = parse_json_object(objects[i]);
    CHECK(obj.size() == 6);
    for (const char* key : {"file", "line", "column", "code", "message", "hint"}) CHECK(obj.count(key) == 1);
    CHECK(obj.at("file").text == "j.toml");
    CHECK(heads[i] == fmt::format("{}:{}:{}: error: [{}] {}", obj.at("file").text, obj.at("line").text,
                                  obj.at("column").text, obj.at("code").text, obj.at("message").text));
    if (obj.at("hint").is_string) {
      saw_hint = true;
      CHECK(plain.err.find("= hint: " + obj.at("hint").text) != std::string::npos);
    } else {
      CHECK(obj.at("hint").is_null);
    }
  }
  CHECK(saw_hint);
  // A blob's diagnostic: no line or column, an offset.
  write_file(dir / "junk.bin", std::string(64, '\0'));
  const Run blob = run_tool({"check", "--format=json", "junk.bin"}, dir.path());
  CHECK(blob.exit_code == 1);
  const auto obj = parse_json_object(lines_of(blob.err).at(0));
  CHECK(obj.at("line").is_null);
  CHECK(obj.at("column").is_null);
  CHECK(obj.at("offset").text == "0");
  CHECK(obj.at("code").text == "BCFG_BAD_MAGIC");
  // A bad format value is a usage error.
  CHECK(run_tool({"check", "--format", "xml", "j.toml"}, dir.path()).exit_code == 2);
}

TEST_CASE("check takes several files; the exit status is the worst of them") {
  TempDir dir;
  const std::string good = (examples_dir() / "phase0.toml").string();
  const std::string bad = (data_dir() / "invalid" / "policy_cycle.toml").string();
  const std::string missing = (dir / "missing.toml").string();
  const Run both_good = run_tool({"check", good, good});
  CHECK(both_good.exit_code == 0);
  CHECK(both_good.err.empty());
  const Run one_bad = run_tool({"check", bad, good});
  CHECK(one_bad.exit_code == 1);
  CHECK(one_bad.err.find("policy_cycle.toml:") != std::string::npos);
  const Run with_missing = run_tool({"check", good, missing, bad});
  CHECK(with_missing.exit_code == 2);
  // Every file is still judged after the unreadable one.
  CHECK(with_missing.err.find("[ORDER_CYCLE]") != std::string::npos);
  CHECK(with_missing.err.find(missing) != std::string::npos);
  CHECK(run_tool({"check", bad, bad}).err == one_bad.err + one_bad.err);
}

TEST_CASE("long names, long lines and long cycles are cut to a readable length") {
  TempDir dir;
  const std::string huge(1 << 20, 'x');
  write_file(dir / "name.toml", std::string(kFoundation) + "[[service]]\nname = \"" + huge + "\"\nrole = \"service\"\n");
  const Run r = run_tool({"check", "name.toml"}, dir.path());
  CHECK(r.exit_code == 1);
  for (const std::string& line : lines_of(r.err)) {
    INFO(line.substr(0, 200));
    CHECK(line.size() < 300);
  }
  CHECK(r.err.find(fmt::format("({} bytes)", huge.size())) != std::string::npos);
  CHECK(r.err.find("...") != std::string::npos);

  // A 40-service cycle: head ... tail and the count, on one short line.
  constexpr int kCycle = 40;
  std::string text(kFoundation);
  for (int i = 0; i < kCycle; ++i) {
    text += fmt::format("[[service]]\nname = \"c{}\"\nrole = \"service\"\nafter = [\"c{}\"]\n", i, (i + 1) % kCycle);
  }
  write_file(dir / "cycle.toml", text);
  const Run c = run_tool({"check", "cycle.toml"}, dir.path());
  CHECK(c.exit_code == 1);
  const std::vector<std::string> heads = heads_of(c.err);
  REQUIRE(heads.size() == 1);
  CHECK(heads[0].find(fmt::format("dependency cycle of {} services: ", kCycle)) != std::string::npos);
  CHECK(heads[0].find(fmt::format("({} more links)", kCycle - 7)) != std::string::npos);
  CHECK(heads[0].size() < 600);
  // Exactly 7 links are named.
  std::size_t links = 0;
  for (std::size_t at = 0; (at = heads[0].find(" waits for ", at)) != std::string::npos; ++at) ++links;
  CHECK(links == 7);
  // A short cycle is named whole.
  const Run small = run_tool({"check", (data_dir() / "invalid" / "policy_cycle.toml").string()});
  CHECK(small.err.find("dependency cycle: ") != std::string::npos);
}

TEST_CASE("graph draws an invalid config with the edges at fault in red") {
  TempDir dir;
  const Run r = run_tool({"graph", (data_dir() / "invalid" / "policy_cycle.toml").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("[ORDER_CYCLE]") != std::string::npos);
  REQUIRE(r.out.starts_with("// erix-bcfg graph of "));
  // The cycle named by the diagnostic, link by link: each of its edges red,
  // and only those.
  std::set<std::pair<std::string, std::string>> cycle;
  const std::regex link(R"re("([a-z0-9-]+)" waits for "([a-z0-9-]+)")re");
  for (auto it = std::sregex_iterator(r.err.begin(), r.err.end(), link); it != std::sregex_iterator(); ++it) {
    cycle.emplace((*it)[1], (*it)[2]);
  }
  REQUIRE(cycle.size() >= 2);
  std::set<std::pair<std::string, std::string>> red;
  const std::regex edge(R"re(^  "([a-z0-9-]+)" -> "([a-z0-9-]+)" \[(.*)\];$)re");
  for (const std::string& line : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(line, m, edge) && m[3].str().find("#d62728") != std::string::npos) red.emplace(m[1], m[2]);
  }
  CHECK(red == cycle);
  // An unpermitted peer is red too.
  const std::string text = std::string(kFoundation) + "[[service]]\nname = \"app\"\nrole = \"service\"\npeers = [\"memd\"]\n";
  write_file(dir / "peer.toml", text);
  const Run p = run_tool({"graph", "peer.toml"}, dir.path());
  CHECK(p.exit_code == 1);
  CHECK(p.err.find("[PEER_NOT_PERMITTED]") != std::string::npos);
  CHECK(p.out.find("\"app\" -> \"memd\" [style=dashed, color=\"#d62728\"") != std::string::npos);
  // A valid config has no red.
  const Run ok = run_tool({"graph", (examples_dir() / "runtime.toml").string()});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("#d62728") == std::string::npos);
  // A config that does not compile is not drawn.
  const Run broken = run_tool({"graph", (data_dir() / "invalid" / "many_errors.toml").string()});
  CHECK(broken.exit_code == 1);
  CHECK(broken.out.empty());
  const std::string dot = env("ERIX_DOT");
  if (!dot.empty()) {
    write_file(dir / "g.dot", r.out);
    CHECK(std::system(fmt::format("'{}' -Tsvg '{}' -o '{}'", dot, (dir / "g.dot").string(),
                                  (dir / "g.svg").string()).c_str()) == 0);
  }
}

TEST_CASE("policy refusals of peers name the rule and the roles") {
  const std::string text = std::string(kFoundation) + "[[service]]\nname = \"app\"\nrole = \"service\"\npeers = [\"memd\"]\n";
  const bcfg_tool::Outcome o = bcfg_tool::check_toml(text, "p.toml");
  REQUIRE(o.source_diagnostics.size() == 1);
  const std::string& m = o.source_diagnostics[0].message;
  CHECK(m.find("\"memd\" has role \"memd\", which is not public") != std::string::npos);
  CHECK(m.find("role \"service\" may be wired only to public roles") != std::string::npos);
  // A foundation role: only its private peers.
  std::string text2(kFoundation);
  const std::string vspaced = "name = \"vspaced\"\nrole = \"vspaced\"\n";
  text2.replace(text2.find(vspaced), vspaced.size(), vspaced + "peers = [\"logd\"]\n");
  const bcfg_tool::Outcome o2 = bcfg_tool::check_toml(text2, "p.toml");
  bool found = false;
  for (const auto& d : o2.source_diagnostics) {
    if (d.code == bcfg_tool::Code(Reason::PEER_NOT_PERMITTED)) {
      found = true;
      CHECK(d.message.find("role \"vspaced\" may be wired only to its private peers (memd), and \"logd\" has role \"logd\"") !=
            std::string::npos);
    }
  }
  CHECK(found);
}

TEST_CASE("plan columns are as wide as their content") {
  TempDir dir;
  // Role names longer than every service name, which once broke the table.
  const std::string text = std::string(kFoundation) + "[[service]]\nname = \"h\"\nrole = \"hotplugd\"\n";
  write_file(dir / "w.toml", text);
  const Run r = run_tool({"plan", "w.toml"}, dir.path());
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = lines_of(r.out);
  const auto header = std::find_if(lines.begin(), lines.end(),
                                   [](const std::string& l) { return l.find("launched through") != std::string::npos; });
  REQUIRE(header != lines.end());
  const std::size_t role_col = header->find("role");
  const std::size_t launch_col = header->find("launched through");
  const std::size_t waits_col = header->find("waits for");
  std::size_t rows = 0;
  for (auto it = header + 1; it != lines.end() && !it->empty(); ++it, ++rows) {
    INFO(*it);
    // Every cell starts where its heading does, after a blank.
    for (std::size_t col : {role_col, launch_col, waits_col}) {
      REQUIRE(it->size() > col);
      CHECK(it->at(col - 1) == ' ');
      CHECK(it->at(col) != ' ');
    }
    CHECK(it->compare(launch_col, 5, "procd") * it->compare(launch_col, 6, "kernel") == 0);
  }
  CHECK(rows == 6);
}

TEST_CASE("--version, and inputs and outputs refused before any work, path said once") {
  const Run v = run_tool({"--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.err.empty());
  // The version meson.build declares.
  std::smatch m;
  const std::string build = read_file(source_root() / "meson.build");
  REQUIRE(std::regex_search(build, m, std::regex(R"(version: '([0-9.]+)')")));
  CHECK(v.out == fmt::format("erix-bcfg {} (ERIXBCFG format version {})\n", m[1].str(), bc::kVersion));

  TempDir dir;
  const auto count = [](const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = hay.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
    return n;
  };
  const std::string d = dir.path().string();
  const Run directory = run_tool({"check", d});
  CHECK(directory.exit_code == 2);
  CHECK(directory.err == fmt::format("erix-bcfg: {} is a directory, not a config file\n", d));

  // The output is judged before the input is even read: a missing input
  // with an unusable output reports the output.
  const std::string missing_in = (dir / "missing.toml").string();
  for (const std::string& out : {d, (dir / "no-such-dir" / "o.bcfg").string()}) {
    INFO(out);
    const Run r = run_tool({"compile", missing_in, "-o", out});
    CHECK(r.exit_code == 2);
    CHECK(r.err.starts_with(fmt::format("erix-bcfg: cannot write {}: ", out)));
    CHECK(count(r.err, out) == 1);
    CHECK(r.err.find("missing.toml") == std::string::npos);
  }
  // Nothing is left behind by a refused compile.
  const std::string runtime = (examples_dir() / "runtime.toml").string();
  CHECK(run_tool({"compile", (data_dir() / "invalid" / "policy_cycle.toml").string(), "-o", (dir / "x.bcfg").string()})
            .exit_code == 1);
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("decode round trip: structure-only for any well-formed blob, plain for a policy-valid one") {
  TempDir dir;
  for (const char* name : {"policy_roles.toml", "policy_cycle.toml", "policy_peers.toml"}) {
    INFO(name);
    const fs::path src = data_dir() / "invalid" / name;
    const Run refused = run_tool({"compile", src.string(), "-o", (dir / "a.bcfg").string()});
    CHECK(refused.exit_code == 1);
    CHECK(!fs::exists(dir / "a.bcfg"));
    const Run structural = run_tool({"compile", "--structure-only", src.string(), "-o", (dir / "a.bcfg").string()});
    REQUIRE(structural.exit_code == 0);
    CHECK(structural.err.empty());
    const std::string blob = read_file(dir / "a.bcfg");
    REQUIRE(rootd::bcfg::parse(bytes_of(blob)).ok());
    const Run decoded = run_tool({"decode", (dir / "a.bcfg").string()});
    REQUIRE(decoded.exit_code == 0);
    write_file(dir / "d.toml", decoded.out);
    // Plain compile refuses the decoded text for the same policy reasons
    // that check finds in the blob.
    const Run plain = run_tool({"compile", (dir / "d.toml").string(), "-o", (dir / "b.bcfg").string()});
    CHECK(plain.exit_code == 1);
    const Run blob_check = run_tool({"check", "--format", "json", (dir / "a.bcfg").string()});
    const Run plain_json = run_tool({"compile", "--format", "json", (dir / "d.toml").string(), "-o", (dir / "b.bcfg").string()});
    std::multiset<std::string> blob_codes, text_codes;
    for (const std::string& l : lines_of(blob_check.err)) blob_codes.insert(parse_json_object(l).at("code").text);
    for (const std::string& l : lines_of(plain_json.err)) text_codes.insert(parse_json_object(l).at("code").text);
    CHECK(!blob_codes.empty());
    CHECK(blob_codes == text_codes);
    // Structure-only compiles it back byte for byte.
    const Run back = run_tool({"compile", "--structure-only", (dir / "d.toml").string(), "-o", (dir / "b.bcfg").string()});
    REQUIRE(back.exit_code == 0);
    CHECK(read_file(dir / "b.bcfg") == blob);
    fs::remove(dir / "a.bcfg");
    fs::remove(dir / "b.bcfg");
  }
  // Structure-only still refuses what the format cannot hold.
  const Run bad = run_tool({"compile", "--structure-only", (data_dir() / "invalid" / "many_errors.toml").string(), "-o",
                            (dir / "c.bcfg").string()});
  CHECK(bad.exit_code == 1);
  CHECK(!fs::exists(dir / "c.bcfg"));
}
