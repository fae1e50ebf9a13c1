#include "loader_fixtures.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "elf_layout.hpp"
#include "rootd/bytes.hpp"
#include "rootd/loader_protocol.hpp"

namespace erix::sim {

namespace {

using namespace elf;

// Offsets of the non-empty PT_LOAD headers, in table order.
Expected<std::vector<std::size_t>, std::string> loads(const std::vector<char>& b) {
  if (b.size() < kEhdrSize || b[0] != 0x7F || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') {
    return unexpected(std::string("not an ELF file"));
  }
  const std::uint64_t phoff = rootd::load_le64(b, kPhoff);
  const std::uint64_t phnum = rootd::load_le16(b, kPhnum);
  if (rootd::load_le16(b, kPhentsize) != kPhdrSize || phoff > b.size() || phnum * kPhdrSize > b.size() - phoff) {
    return unexpected(std::string("no program header table inside the file"));
  }
  std::vector<std::size_t> out;
  for (std::uint64_t i = 0; i < phnum; ++i) {
    const std::size_t at = phoff + i * kPhdrSize;
    if (rootd::load_le32(b, at + kPhType) == kPtLoad && rootd::load_le64(b, at + kPhMemsz) != 0) out.push_back(at);
  }
  return out;
}

std::vector<char> copy(rootd::Bytes b) { return std::vector<char>(b.begin(), b.end()); }

Expected<std::vector<char>, std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(fmt::format("{}: cannot open the loader fixture", path));
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

Expected<std::vector<char>, std::string> break_elf_magic(rootd::Bytes elf) {
  std::vector<char> b = copy(elf);
  if (b.empty() || b[0] != 0x7F) return unexpected(std::string("no ELF magic to break"));
  b[0] = 0;
  return b;
}

Expected<std::vector<char>, std::string> overlap_second_load(rootd::Bytes elf) {
  std::vector<char> b = copy(elf);
  auto at = loads(b);
  if (!at) return unexpected(at.error());
  if (at->size() < 2) return unexpected(std::string("fewer than two loaded segments to overlap"));
  const std::uint64_t first = rootd::load_le64(b, (*at)[0] + kPhVaddr);
  const std::uint64_t second = rootd::load_le64(b, (*at)[1] + kPhVaddr);
  // Onto the first's page, at the second's own page offset: still congruent
  // with its file offset, so the one defect is the overlap.
  const std::uint64_t moved = (first & ~(kPageSize - 1)) | (second & (kPageSize - 1));
  rootd::store_le64(b, (*at)[1] + kPhVaddr, moved);
  rootd::store_le64(b, (*at)[1] + kPhPaddr, moved);
  return b;
}

Expected<std::vector<char>, std::string> make_last_load_interp(rootd::Bytes elf) {
  std::vector<char> b = copy(elf);
  auto at = loads(b);
  if (!at) return unexpected(at.error());
  if (at->size() < 2) return unexpected(std::string("no loaded segment to spare for PT_INTERP"));
  rootd::store_le32(b, at->back() + kPhType, kPtInterp);
  return b;
}

std::vector<char> pad_past(rootd::Bytes file, std::size_t limit) {
  std::vector<char> b = copy(file);
  if (b.size() <= limit) b.resize(limit + 1, '\0');
  return b;
}

Expected<std::vector<LoaderFixture>, std::string> make_loader_fixtures(rootd::Bytes ok, rootd::Bytes alt) {
  auto bad_elf = break_elf_magic(ok);
  auto bad_plan = overlap_second_load(ok);
  auto dynamic = make_last_load_interp(ok);
  for (const auto* made : {&bad_elf, &bad_plan, &dynamic}) {
    if (!*made) return unexpected("loader-ok: " + made->error());
  }
  namespace loader = rootd::loader;
  std::vector<LoaderFixture> out;
  auto add = [&](std::string_view path, std::vector<char> bytes, std::uint32_t mode, bool unstable) {
    out.push_back({std::string(path), std::move(bytes), mode, unstable});
  };
  add(loader::kLoaderOkPath, copy(ok), kExecutableMode, false);
  add(loader::kLoaderAltPath, copy(alt), kExecutableMode, false);
  add(loader::kLoaderStalePath, copy(ok), kExecutableMode, true);
  add(loader::kBadElfPath, std::move(*bad_elf), kExecutableMode, false);
  add(loader::kBadPlanPath, std::move(*bad_plan), kExecutableMode, false);
  add(loader::kNeedsDynamicPath, std::move(*dynamic), kExecutableMode, false);
  add(loader::kOversizedPath, pad_past(ok, loader::kMaxSourceBytes), kExecutableMode, false);
  add(loader::kDeniedPath, copy(ok), kPlainFileMode, false);
  return out;
}

Expected<std::vector<LoaderFixture>, std::string> load_loader_fixtures(const std::string& dir) {
  auto ok = read_file(dir + "/loader-ok");
  if (!ok) return unexpected(ok.error());
  auto alt = read_file(dir + "/loader-alt");
  if (!alt) return unexpected(alt.error());
  return make_loader_fixtures(rootd::Bytes(ok->data(), ok->size()), rootd::Bytes(alt->data(), alt->size()));
}

void seed_fixtures(MemorySources& sources, const std::vector<LoaderFixture>& fixtures) {
  for (const LoaderFixture& f : fixtures) sources.seed(f.path, f.bytes, f.mode, f.unstable);
}

}  // namespace erix::sim
