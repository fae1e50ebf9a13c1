#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "elf_image.hpp"
#include "ptrace_runner.hpp"
#include "rootd/bytes.hpp"
#include "testdata/ptrace_probe_protocol.hpp"

using erix::sim::ElfImage;
using erix::sim::ElfProblem;
using erix::sim::ExtraRegion;
using erix::sim::FaultKind;
using erix::sim::FaultStop;
using erix::sim::LaunchOptions;
using erix::sim::Protection;
using erix::sim::PtraceRunner;
using erix::sim::RunEvent;
using erix::sim::SyscallStop;
namespace probe = erix::sim::probe;

namespace {

// ---- a minimal ELF writer for the validation cases ------------------------

struct SegmentSpec {
  std::uint32_t type = 1;  // PT_LOAD
  std::uint32_t flags = 0;
  std::uint64_t offset = 0;
  std::uint64_t vaddr = 0;
  std::uint64_t file_size = 0;
  std::uint64_t memory_size = 0;
  std::uint64_t align = 0x1000;
};

struct ImageSpec {
  std::uint64_t entry = 0x400000;
  std::vector<SegmentSpec> segments;
};

constexpr std::uint32_t kRX = 5;
constexpr std::uint32_t kR = 4;
constexpr std::uint32_t kRW = 6;

// Text r-x at 0x400000 (file 0x1000), data rw- at 0x402000 (file 0x2000, with bss).
ImageSpec valid_spec() {
  ImageSpec spec;
  spec.segments.push_back(SegmentSpec{1, kRX, 0x1000, 0x400000, 0x100, 0x100, 0x1000});
  spec.segments.push_back(SegmentSpec{1, kRW, 0x2000, 0x402000, 0x10, 0x1000, 0x1000});
  return spec;
}

std::vector<char> write_elf(const ImageSpec& spec) {
  std::uint64_t end = 64 + 56 * spec.segments.size();
  for (const auto& s : spec.segments) {
    if (s.offset + s.file_size > end && s.offset < 0x100000) end = s.offset + s.file_size;
  }
  std::vector<char> f(end, '\0');
  rootd::MutableBytes b(f);
  const char ident[] = {0x7F, 'E', 'L', 'F', 2, 1, 1, 0};
  for (std::size_t i = 0; i < sizeof ident; ++i) f[i] = ident[i];
  rootd::store_le16(b, 16, 2);    // ET_EXEC
  rootd::store_le16(b, 18, 62);   // EM_X86_64
  rootd::store_le32(b, 20, 1);
  rootd::store_le64(b, 24, spec.entry);
  rootd::store_le64(b, 32, 64);   // e_phoff
  rootd::store_le16(b, 52, 64);
  rootd::store_le16(b, 54, 56);
  rootd::store_le16(b, 56, static_cast<std::uint16_t>(spec.segments.size()));
  for (std::size_t i = 0; i < spec.segments.size(); ++i) {
    const auto& s = spec.segments[i];
    const std::size_t at = 64 + 56 * i;
    rootd::store_le32(b, at, s.type);
    rootd::store_le32(b, at + 4, s.flags);
    rootd::store_le64(b, at + 8, s.offset);
    rootd::store_le64(b, at + 16, s.vaddr);
    rootd::store_le64(b, at + 24, s.vaddr);
    rootd::store_le64(b, at + 32, s.file_size);
    rootd::store_le64(b, at + 40, s.memory_size);
    rootd::store_le64(b, at + 48, s.align);
  }
  return f;
}

ElfProblem problem_of(const std::vector<char>& bytes) {
  auto parsed = ElfImage::parse(rootd::Bytes(bytes.data(), bytes.size()));
  if (parsed) throw std::runtime_error("the image was accepted");
  INFO(parsed.error().message);
  CHECK_FALSE(parsed.error().message.empty());
  return parsed.error().problem;
}

struct BadImage {
  const char* what;
  std::function<void(ImageSpec&)> change_spec;
  std::function<void(std::vector<char>&)> change_bytes;
  ElfProblem expected;
};

// ---- the probe ------------------------------------------------------------

const ElfImage& probe_image() {
  static const ElfImage image = [] {
    const char* path = std::getenv("ERIX_PTRACE_PROBE");
    if (path == nullptr) throw std::runtime_error("ERIX_PTRACE_PROBE is not set (meson sets it)");
    auto loaded = ElfImage::load_file(path);
    if (!loaded) throw std::runtime_error(loaded.error().message);
    return std::move(loaded).value();
  }();
  return image;
}

constexpr std::uint64_t kStackBase = 0x2000'0000;
constexpr std::uint64_t kStackSize = 0x10000;
constexpr std::uint64_t kStackTop = kStackBase + kStackSize;
constexpr std::uint64_t kBlobBase = 0x1000'0000;

LaunchOptions probe_options(probe::Mode mode, std::uint64_t arg1 = 0, std::uint64_t arg2 = 0) {
  LaunchOptions options;
  options.regions.push_back(ExtraRegion{"stack", kStackBase, kStackSize, {}, Protection{true, true, false}});
  options.stack_pointer = kStackTop;
  options.arguments = {static_cast<std::uint64_t>(mode), arg1, arg2};
  options.quiet_limit = std::chrono::milliseconds(5000);
  return options;
}

PtraceRunner launch(const LaunchOptions& options) {
  auto started = PtraceRunner::start(probe_image(), options);
  if (!started) FAIL(started.error().message);
  return std::move(started).value();
}

RunEvent next(PtraceRunner& runner) {
  auto event = runner.next_event();
  if (!event) FAIL(event.error().message);
  return *event;
}

SyscallStop expect_syscall(PtraceRunner& runner, std::uint64_t number) {
  const RunEvent event = next(runner);
  INFO(erix::sim::describe(event));
  const auto* stop = std::get_if<SyscallStop>(&event);
  REQUIRE(stop != nullptr);
  REQUIRE(stop->number == number);
  return *stop;
}

FaultStop expect_fault(PtraceRunner& runner) {
  const RunEvent event = next(runner);
  INFO(erix::sim::describe(event));
  const auto* fault = std::get_if<FaultStop>(&event);
  REQUIRE(fault != nullptr);
  return *fault;
}

std::vector<char> read_child(const PtraceRunner& runner, std::uint64_t vaddr, std::size_t length) {
  auto bytes = runner.read_memory(vaddr, length);
  if (!bytes) FAIL(bytes.error().message);
  return *bytes;
}

// The child is neither running nor a zombie: it is no longer ours to wait
// for, and no process with its pid exists.
void expect_gone(pid_t pid) {
  REQUIRE(pid > 0);
  errno = 0;
  CHECK(::waitpid(pid, nullptr, WNOHANG | __WALL) == -1);
  CHECK(errno == ECHILD);
  errno = 0;
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH);
}

bool in_text(std::uint64_t address) {
  for (const auto& s : probe_image().segments()) {
    if (s.protection.execute && address >= s.vaddr && address < s.vaddr + s.memory_size) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("ElfImage accepts the valid hand-written image", "[elf]") {
  const auto bytes = write_elf(valid_spec());
  auto image = ElfImage::parse(rootd::Bytes(bytes.data(), bytes.size()));
  INFO((image ? std::string() : image.error().message));
  REQUIRE(image);
  REQUIRE(image->segments().size() == 2);
  CHECK(image->entry() == 0x400000);
  CHECK(image->segments()[0].protection == Protection{true, false, true});
  CHECK(image->segments()[1].protection == Protection{true, true, false});
  CHECK(image->segments()[1].memory_size == 0x1000);
  CHECK(image->contents(image->segments()[1]).size() == 0x10);
  // No section header table: no sections, no symbols, and no error.
  auto sections = image->section_sizes();
  REQUIRE(sections);
  CHECK(sections->empty());
}

TEST_CASE("ElfImage rejects malformed images with a specific problem", "[elf]") {
  const std::vector<BadImage> cases = {
      {"truncated header", nullptr, [](auto& f) { f.resize(63); }, ElfProblem::truncated_header},
      {"bad magic", nullptr, [](auto& f) { f[1] = 'X'; }, ElfProblem::bad_magic},
      {"32-bit class", nullptr, [](auto& f) { f[4] = 1; }, ElfProblem::not_elf64},
      {"big-endian", nullptr, [](auto& f) { f[5] = 2; }, ElfProblem::not_little_endian},
      {"ident version 0", nullptr, [](auto& f) { f[6] = 0; }, ElfProblem::bad_ident_version},
      {"FreeBSD OS ABI", nullptr, [](auto& f) { f[7] = 9; }, ElfProblem::unsupported_os_abi},
      {"ET_DYN", nullptr, [](auto& f) { rootd::store_le16(f, 16, 3); }, ElfProblem::not_executable_type},
      {"i386 machine", nullptr, [](auto& f) { rootd::store_le16(f, 18, 3); }, ElfProblem::not_x86_64},
      {"aarch64 machine", nullptr, [](auto& f) { rootd::store_le16(f, 18, 183); }, ElfProblem::not_x86_64},
      {"e_version 0", nullptr, [](auto& f) { rootd::store_le32(f, 20, 0); }, ElfProblem::bad_version},
      {"e_ehsize 52", nullptr, [](auto& f) { rootd::store_le16(f, 52, 52); }, ElfProblem::bad_header_size},
      {"e_phentsize 32", nullptr, [](auto& f) { rootd::store_le16(f, 54, 32); }, ElfProblem::bad_program_header_size},
      {"phdrs past the end", nullptr, [](auto& f) { rootd::store_le64(f, 32, f.size() - 8); },
       ElfProblem::program_headers_outside_file},
      {"phoff overflowing", nullptr, [](auto& f) { rootd::store_le64(f, 32, ~0ULL - 16); },
       ElfProblem::program_headers_outside_file},
      {"65 phdrs", nullptr, [](auto& f) { rootd::store_le16(f, 56, 65); }, ElfProblem::too_many_program_headers},
      {"PT_INTERP", [](ImageSpec& s) { s.segments.push_back(SegmentSpec{3, kR, 0x1000, 0, 0x10, 0x10, 1}); }, nullptr,
       ElfProblem::needs_interpreter},
      {"PT_DYNAMIC", [](ImageSpec& s) { s.segments.push_back(SegmentSpec{2, kRW, 0x2000, 0x402000, 0x10, 0x10, 8}); },
       nullptr, ElfProblem::needs_dynamic_linking},
      {"PT_TLS", [](ImageSpec& s) { s.segments.push_back(SegmentSpec{7, kR, 0x2000, 0x402000, 0x10, 0x10, 8}); },
       nullptr, ElfProblem::needs_thread_local_storage},
      {"PT_SHLIB", [](ImageSpec& s) { s.segments.push_back(SegmentSpec{5, 0, 0, 0, 0, 0, 0}); }, nullptr,
       ElfProblem::reserved_segment_type},
      {"filesz > memsz", [](ImageSpec& s) { s.segments[1].file_size = 0x1001; }, nullptr,
       ElfProblem::segment_file_size_exceeds_memory_size},
      {"segment past the end of the file", [](ImageSpec& s) { s.segments[0].offset = 0x100000; }, nullptr,
       ElfProblem::segment_outside_file},
      {"segment offset overflowing", [](ImageSpec& s) { s.segments[0].offset = ~0ULL - 0x10; }, nullptr,
       ElfProblem::segment_outside_file},
      {"alignment not a power of two", [](ImageSpec& s) { s.segments[0].align = 0x1800; }, nullptr,
       ElfProblem::segment_bad_alignment},
      {"vaddr and offset not page-congruent", [](ImageSpec& s) { s.segments[1].vaddr = 0x402010; }, nullptr,
       ElfProblem::segment_not_page_congruent},
      {"segment at address 0",
       [](ImageSpec& s) {
         s.segments[0].vaddr = 0;
         s.entry = 0;
       },
       nullptr, ElfProblem::segment_below_lowest_address},
      {"segment in the first 64 KiB", [](ImageSpec& s) { s.segments[1].vaddr = 0xF000; }, nullptr,
       ElfProblem::segment_below_lowest_address},
      {"segment reaching the upper half", [](ImageSpec& s) { s.segments[1].vaddr = 0x7FFF'FFFF'F000ULL; }, nullptr,
       ElfProblem::segment_beyond_user_half},
      {"segment in the kernel half", [](ImageSpec& s) { s.segments[1].vaddr = 0xFFFF'8000'0000'0000ULL; }, nullptr,
       ElfProblem::segment_beyond_user_half},
      {"memsz wrapping around", [](ImageSpec& s) { s.segments[1].memory_size = ~0ULL - 0x100; }, nullptr,
       ElfProblem::segment_beyond_user_half},
      {"writable and executable", [](ImageSpec& s) { s.segments[0].flags = 7; }, nullptr,
       ElfProblem::segment_writable_and_executable},
      {"overlapping segments", [](ImageSpec& s) { s.segments[0].memory_size = 0x2001; }, nullptr,
       ElfProblem::segments_overlap},
      {"overlapping segments listed in reverse",
       [](ImageSpec& s) {
         s.segments[0].memory_size = 0x2001;
         std::swap(s.segments[0], s.segments[1]);
       },
       nullptr, ElfProblem::segments_overlap},
      {"segments sharing a page",
       [](ImageSpec& s) {
         s.segments[1].vaddr = 0x400800;
         s.segments[1].offset = 0x2800;
       },
       nullptr, ElfProblem::segments_share_page},
      {"no PT_LOAD",
       [](ImageSpec& s) {
         for (auto& seg : s.segments) seg.type = 4;  // PT_NOTE
       },
       nullptr, ElfProblem::no_load_segments},
      {"only empty PT_LOADs",
       [](ImageSpec& s) {
         for (auto& seg : s.segments) seg.memory_size = seg.file_size = 0;
       },
       nullptr, ElfProblem::no_load_segments},
      {"entry in the data segment", [](ImageSpec& s) { s.entry = 0x402000; }, nullptr,
       ElfProblem::entry_not_executable},
      {"entry past the text bytes", [](ImageSpec& s) { s.entry = 0x400100; }, nullptr,
       ElfProblem::entry_not_executable},
      {"entry in zero-filled text",
       [](ImageSpec& s) {
         s.segments[0].memory_size = 0x200;
         s.entry = 0x400150;
       },
       nullptr, ElfProblem::entry_not_executable},
      {"entry unmapped", [](ImageSpec& s) { s.entry = 0x10; }, nullptr, ElfProblem::entry_not_executable},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    ImageSpec spec = valid_spec();
    if (c.change_spec) c.change_spec(spec);
    auto bytes = write_elf(spec);
    if (c.change_bytes) c.change_bytes(bytes);
    CHECK(erix::sim::problem_name(problem_of(bytes)) == erix::sim::problem_name(c.expected));
  }
}

TEST_CASE("ElfImage reports the offset of the failing field", "[elf]") {
  auto bytes = write_elf(valid_spec());
  rootd::store_le16(bytes, 18, 40);  // EM_ARM
  auto parsed = ElfImage::parse(rootd::Bytes(bytes.data(), bytes.size()));
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().offset == 18);
  CHECK(parsed.error().message.find("40") != std::string::npos);

  ImageSpec spec = valid_spec();
  spec.segments[1].file_size = 0x2000;
  bytes = write_elf(spec);
  parsed = ElfImage::parse(rootd::Bytes(bytes.data(), bytes.size()));
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().offset == 64 + 56);  // the second program header
}

TEST_CASE("ElfImage rejects every truncation of the probe ELF that cuts into what it loads", "[elf]") {
  const rootd::Bytes file = probe_image().file();
  std::uint64_t needed = 0;
  for (const auto& s : probe_image().segments()) needed = std::max(needed, s.file_offset + s.file_size);
  for (std::uint64_t size = 0; size < needed; size += (size < 256 ? 1 : 61)) {
    INFO("size " << size);
    CHECK_FALSE(ElfImage::parse(file.first(size)));
  }
  CHECK(ElfImage::parse(file.first(needed)));
}

TEST_CASE("ElfImage describes the probe ELF", "[elf]") {
  const ElfImage& image = probe_image();
  REQUIRE(image.segments().size() == 3);  // text, rodata, data: linker.ld's three PHDRS
  CHECK(image.segments()[0].protection == Protection{true, false, true});
  CHECK(image.segments()[1].protection == Protection{true, false, false});
  CHECK(image.segments()[2].protection == Protection{true, true, false});
  CHECK(image.segments()[0].vaddr == 0x400000);

  auto start = image.symbol_address("_start");
  REQUIRE(start);
  REQUIRE(start->has_value());
  CHECK(**start == image.entry());
  auto missing = image.symbol_address("no_such_symbol");
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());

  auto sections = image.section_sizes();
  REQUIRE(sections);
  auto size_of = [&](std::string_view name) -> std::uint64_t {
    for (const auto& s : *sections) {
      if (s.name == name) return s.size;
    }
    return 0;
  };
  CHECK(size_of(".text") > 0);
  CHECK(size_of(".rodata") >= sizeof probe::kPatternTable);
  CHECK(size_of(".bss") >= probe::kBufferSize + 8 * probe::kEntryRegisterCount);
  CHECK(size_of(".symtab") > 0);

  CHECK(image.contains_string("probe_entry_registers"));
  CHECK_FALSE(image.contains_string("no-such-fault-hook"));

  auto absent = ElfImage::load_file("/nonexistent/ptrace-probe");
  REQUIRE_FALSE(absent);
  CHECK(absent.error().problem == ElfProblem::unreadable_file);
  auto directory = ElfImage::load_file("/");
  REQUIRE_FALSE(directory);
  CHECK(directory.error().problem == ElfProblem::unreadable_file);
}

TEST_CASE("the probe starts with the given registers and nothing else", "[ptrace]") {
  pid_t pid = -1;
  {
    PtraceRunner runner = launch(probe_options(probe::Mode::entry_state, 0x1111'2222'3333'4444ULL, 0xABCD));
    pid = runner.pid();
    const SyscallStop stop = expect_syscall(runner, probe::kEntryState);
    CHECK(in_text(stop.rip));
    REQUIRE(stop.args[1] == probe::kEntryRegisterCount);
    const auto raw = read_child(runner, stop.args[0], 8 * probe::kEntryRegisterCount);
    for (std::size_t i = 0; i < probe::kEntryRegisterCount; ++i) {
      const std::uint64_t value = rootd::load_le64(raw, 8 * i);
      const std::string_view name = probe::kEntryRegisterNames[i];
      INFO(name << " = " << value);
      if (name == "rdi") {
        CHECK(value == static_cast<std::uint64_t>(probe::Mode::entry_state));
      } else if (name == "rsi") {
        CHECK(value == 0x1111'2222'3333'4444ULL);
      } else if (name == "rdx") {
        CHECK(value == 0xABCD);
      } else if (name == "rsp") {
        CHECK(value == kStackTop);
      } else {
        CHECK(value == 0);
      }
    }
    auto regs = runner.registers();
    REQUIRE(regs);
    CHECK(regs->rip == stop.rip);
    CHECK(regs->fs_base == 0);
  }
  expect_gone(pid);
}

TEST_CASE("system call arguments arrive and results come back in rax and rdx", "[ptrace]") {
  PtraceRunner runner = launch(probe_options(probe::Mode::echo, 0xFEED'0000'0000'0001ULL, 0x0BAD'F00DULL));
  const pid_t pid = runner.pid();
  const SyscallStop echo = expect_syscall(runner, probe::kEcho);
  CHECK(echo.args == std::array<std::uint64_t, 6>{0xFEED'0000'0000'0001ULL, 0x0BAD'F00DULL, probe::kArg2,
                                                   probe::kArg3, probe::kArg4, probe::kArg5});
  // next_event while the call is pending is a caller bug, reported as such.
  CHECK_FALSE(runner.next_event());
  REQUIRE(runner.resume(0xAAAA'5555'AAAA'5555ULL, 0x1234'5678'9ABC'DEF0ULL));
  const SyscallStop result = expect_syscall(runner, probe::kEchoResult);
  CHECK(result.args[0] == 0xAAAA'5555'AAAA'5555ULL);
  CHECK(result.args[1] == 0x1234'5678'9ABC'DEF0ULL);
  CHECK(result.rip != echo.rip);
  REQUIRE(runner.resume(0));
  const SyscallStop done = expect_syscall(runner, probe::kDone);
  CHECK(done.args[0] == 0);
  CHECK(runner.resume(0, 0));
  runner.kill();
  CHECK_FALSE(runner.alive());
  CHECK_FALSE(runner.resume(0));
  CHECK_FALSE(runner.read_memory(kStackBase, 8));
  expect_gone(pid);
}

TEST_CASE("the runner reads and writes the child's memory", "[ptrace]") {
  for (const auto path : {PtraceRunner::MemoryPath::process_vm, PtraceRunner::MemoryPath::proc_mem}) {
    INFO("memory path " << static_cast<int>(path));
    PtraceRunner runner = launch(probe_options(probe::Mode::buffer));
    runner.set_memory_path(path);
    const SyscallStop filled = expect_syscall(runner, probe::kBufferFilled);
    REQUIRE(filled.args[1] == probe::kBufferSize);
    const auto contents = read_child(runner, filled.args[0], probe::kBufferSize);
    for (std::size_t i = 0; i < probe::kBufferSize; ++i) {
      INFO("byte " << i);
      REQUIRE(static_cast<std::uint8_t>(contents[i]) == probe::pattern_byte(i));
    }
    std::vector<char> replacement(probe::kBufferSize);
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < replacement.size(); ++i) {
      const auto byte = static_cast<std::uint8_t>(0xFF - (i * 3));
      replacement[i] = static_cast<char>(byte);
      expected = probe::checksum_step(expected, i, byte);
    }
    REQUIRE(runner.write_memory(filled.args[0], replacement));
    REQUIRE(runner.resume(0));
    const SyscallStop checksum = expect_syscall(runner, probe::kBufferChecksum);
    CHECK(checksum.args[0] == expected);

    // Unmapped memory is an error value, never an exception or a crash.
    auto unmapped = runner.read_memory(0, 16);
    REQUIRE_FALSE(unmapped);
    CHECK(unmapped.error().message.find("not mapped") != std::string::npos);
    // A range that starts mapped and runs past the stack's end fails whole.
    CHECK_FALSE(runner.read_memory(kStackTop - 8, 16));
    CHECK_FALSE(runner.write_memory(kStackTop - 8, std::vector<char>(16, 'x')));
    CHECK(runner.read_memory(kStackTop - 16, 16));
    CHECK_FALSE(runner.read_memory(0x7FFF'FFFF'FFF0ULL, 0x20));
    CHECK_FALSE(runner.read_memory(~0ULL - 4, 2));
    CHECK_FALSE(runner.read_memory(kStackBase, PtraceRunner::kMaxTransfer + 1));
    std::array<char, 0> nothing{};
    CHECK(runner.read_memory(0, nothing));
    // process_vm honours the child's permissions; /proc/<pid>/mem forces.
    const std::vector<char> patch(4, '\xCC');
    const bool text_write = static_cast<bool>(runner.write_memory(probe_image().entry(), patch));
    CHECK(text_write == (path == PtraceRunner::MemoryPath::proc_mem));
  }
}

TEST_CASE("extra regions are mapped with their contents and permissions", "[ptrace]") {
  std::vector<char> blob(1000);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < blob.size(); ++i) {
    blob[i] = static_cast<char>((i * 37 + 11) & 0xFF);
    sum += static_cast<std::uint8_t>(blob[i]);
  }
  constexpr std::uint64_t kBlobSize = 0x2100;  // three pages; only the first 1000 bytes are given
  {
    LaunchOptions options = probe_options(probe::Mode::sum_region, kBlobBase, kBlobSize);
    options.regions.push_back(ExtraRegion{"handoff", kBlobBase, kBlobSize, blob, Protection{true, false, false}});
    PtraceRunner runner = launch(options);
    const SyscallStop stop = expect_syscall(runner, probe::kRegionSum);
    CHECK(stop.args[0] == sum);
    CHECK(stop.args[1] == static_cast<std::uint8_t>(blob[0]));
    // The mapping is rounded up to whole pages, zero past the contents.
    const auto tail = read_child(runner, kBlobBase + 0x2FF0, 16);
    CHECK(tail == std::vector<char>(16, '\0'));
    CHECK_FALSE(runner.read_memory(kBlobBase + 0x3000, 1));
  }
  {
    LaunchOptions options = probe_options(probe::Mode::write_region, kBlobBase + 8);
    options.regions.push_back(ExtraRegion{"handoff", kBlobBase, kBlobSize, blob, Protection{true, false, false}});
    PtraceRunner runner = launch(options);
    const FaultStop fault = expect_fault(runner);
    CHECK(fault.kind == FaultKind::signal);
    CHECK(fault.signal == SIGSEGV);
    CHECK(fault.code == SEGV_ACCERR);
    CHECK(fault.address == kBlobBase + 8);
  }
}

TEST_CASE("a counter loop runs many system calls", "[ptrace]") {
  constexpr std::uint64_t kRounds = 2000;
  PtraceRunner runner = launch(probe_options(probe::Mode::count));
  const auto begin = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < kRounds; ++i) {
    const SyscallStop tick = expect_syscall(runner, probe::kTick);
    REQUIRE(tick.args[0] == i);
    REQUIRE(runner.resume(i + 1));
  }
  const SyscallStop last = expect_syscall(runner, probe::kTick);
  REQUIRE(runner.resume(0));
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  CHECK(last.args[0] == kRounds);
  const SyscallStop ticks = expect_syscall(runner, probe::kTicks);
  CHECK(ticks.args[0] == kRounds + 1);
  CHECK(ticks.args[1] == kRounds * (kRounds + 1) / 2);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  fmt::print("ptrace_runner: {} system call round trips in {} us ({:.1f} us each)\n", kRounds + 1, micros,
             static_cast<double>(micros) / static_cast<double>(kRounds + 1));
}

TEST_CASE("faults and illegal calls are reported with their kind", "[ptrace]") {
  struct FaultCase {
    probe::Mode mode;
    FaultKind kind;
    int signal;
    int code;
  };
  const FaultCase cases[] = {
      {probe::Mode::null_write, FaultKind::signal, SIGSEGV, SEGV_MAPERR},
      {probe::Mode::write_text, FaultKind::signal, SIGSEGV, SEGV_ACCERR},
      {probe::Mode::undefined_insn, FaultKind::signal, SIGILL, ILL_ILLOPN},
      {probe::Mode::int80, FaultKind::illegal_call, 0, 0},
  };
  for (const auto& c : cases) {
    INFO("mode " << static_cast<int>(c.mode));
    pid_t pid = -1;
    {
      PtraceRunner runner = launch(probe_options(c.mode));
      pid = runner.pid();
      const FaultStop fault = expect_fault(runner);
      INFO(fault.description);
      CHECK(fault.kind == c.kind);
      CHECK(fault.signal == c.signal);
      CHECK(fault.code == c.code);
      CHECK(in_text(fault.rip));
      CHECK_FALSE(fault.description.empty());
      if (c.mode == probe::Mode::null_write) CHECK(fault.address == 0);
      if (c.mode == probe::Mode::write_text) CHECK(fault.address == probe_image().entry());
      if (c.mode == probe::Mode::int80) {
        CHECK(fault.description.find("cd 80") != std::string::npos);
        const auto insn = read_child(runner, fault.rip, 2);
        CHECK(insn == std::vector<char>{'\xCD', '\x80'});
        auto regs = runner.registers();
        REQUIRE(regs);
        CHECK(regs->orig_rax == probe::kInt80Number);
      }
      // A faulted child cannot be resumed or waited for, only inspected.
      CHECK_FALSE(runner.resume(0));
      CHECK_FALSE(runner.next_event());
      CHECK(runner.registers());
      CHECK(runner.read_memory(kStackTop - 8, 8));
    }
    expect_gone(pid);
  }
}

TEST_CASE("a child spinning without system calls times out", "[ptrace]") {
  using namespace std::chrono_literals;
  LaunchOptions options = probe_options(probe::Mode::spin);
  options.quiet_limit = 200ms;
  pid_t pid = -1;
  {
    PtraceRunner runner = launch(options);
    pid = runner.pid();
    const auto begin = std::chrono::steady_clock::now();
    const RunEvent event = next(runner);
    const auto waited = std::chrono::steady_clock::now() - begin;
    INFO(erix::sim::describe(event));
    const auto* timeout = std::get_if<erix::sim::Timeout>(&event);
    REQUIRE(timeout != nullptr);
    CHECK(timeout->waited >= 200ms);
    CHECK(waited >= 200ms);
    CHECK(waited < 1500ms);
    // Still running: a second wait with its own bound times out too.
    auto again = runner.next_event(20ms);
    REQUIRE(again);
    CHECK(std::holds_alternative<erix::sim::Timeout>(*again));
    CHECK(runner.alive());
    // A signal from outside stops it; that is a fault like any other.
    REQUIRE(::kill(pid, SIGUSR1) == 0);
    const FaultStop fault = expect_fault(runner);
    CHECK(fault.signal == SIGUSR1);
    CHECK(fault.code == SI_USER);
  }
  expect_gone(pid);

  PtraceRunner killed = launch(options);
  pid = killed.pid();
  REQUIRE(::kill(pid, SIGKILL) == 0);
  const RunEvent event = next(killed);
  INFO(erix::sim::describe(event));
  const auto* gone = std::get_if<erix::sim::Killed>(&event);
  REQUIRE(gone != nullptr);
  CHECK(gone->signal == SIGKILL);
  CHECK_FALSE(killed.alive());
  expect_gone(pid);
}

TEST_CASE("no child survives an exception or a move", "[ptrace]") {
  pid_t pid = -1;
  try {
    PtraceRunner runner = launch(probe_options(probe::Mode::spin));
    pid = runner.pid();
    throw std::runtime_error("test failure while the child runs");
  } catch (const std::runtime_error&) {
  }
  expect_gone(pid);

  PtraceRunner first = launch(probe_options(probe::Mode::echo, 1, 2));
  const pid_t first_pid = first.pid();
  PtraceRunner moved = std::move(first);
  CHECK_FALSE(first.alive());  // NOLINT: checking the moved-from state on purpose
  CHECK(moved.pid() == first_pid);
  expect_syscall(moved, probe::kEcho);
  PtraceRunner other = launch(probe_options(probe::Mode::spin));
  const pid_t other_pid = other.pid();
  other = std::move(moved);  // kills the spinning child it replaces
  expect_gone(other_pid);
  CHECK(other.pid() == first_pid);
  other.kill();
  other.kill();
  expect_gone(first_pid);
}

TEST_CASE("start refuses regions it cannot map and leaves no child", "[ptrace]") {
  const auto refuse = [](const ExtraRegion& region, std::string_view expected) {
    LaunchOptions options = probe_options(probe::Mode::echo);
    options.regions.push_back(region);
    auto started = PtraceRunner::start(probe_image(), options);
    REQUIRE_FALSE(started);
    INFO(started.error().message);
    CHECK(started.error().message.find(expected) != std::string::npos);
  };
  const Protection r{true, false, false};
  refuse(ExtraRegion{"onto-text", 0x400000, 0x1000, {}, r}, "overlaps");
  refuse(ExtraRegion{"onto-stack", kStackBase + 0x1000, 0x1000, {}, r}, "overlaps");
  refuse(ExtraRegion{"unaligned", kBlobBase + 8, 0x1000, {}, r}, "page-aligned");
  refuse(ExtraRegion{"empty", kBlobBase, 0, {}, r}, "size 0");
  refuse(ExtraRegion{"low", 0x1000, 0x1000, {}, r}, "lowest");
  refuse(ExtraRegion{"high", 0x7FFF'FFFF'F000ULL, 0x2000, {}, r}, "user half");
  refuse(ExtraRegion{"overfull", kBlobBase, 4, std::vector<char>(5), r}, "contents");
  // Free in the plan, taken in the host process: the child's mmap fails and
  // says so, and start() reaps it.
  static int host_variable = 0;
  const auto host_page = reinterpret_cast<std::uint64_t>(&host_variable) & ~std::uint64_t{0xFFF};
  refuse(ExtraRegion{"host", host_page, 0x1000, {}, r}, "already in use");
  errno = 0;
  CHECK(::waitpid(-1, nullptr, WNOHANG | __WALL) == -1);
  CHECK(errno == ECHILD);
}
