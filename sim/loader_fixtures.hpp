// The loader fixtures under /data/bin, as loaderd's namespace holds them
// (docs/erix-boot.md; paths from rootd/loader_protocol.hpp): loader-ok and loader-alt are the ELFs fixtures/
// builds; every other one is derived from loader-ok's bytes at run time by
// changing one documented ELF field, so each carries exactly one defect.
//   /data/bin/loader-ok      exits 42
//   /data/bin/loader-alt     exits 43
//   /data/bin/loader-stale   loader-ok, rewritten each time it is read  -> STALE_SOURCE
//   /data/bin/bad-elf        e_ident[0] (the magic's 0x7f) set to 0    -> BAD_ELF
//   /data/bin/bad-plan       the second PT_LOAD's p_vaddr/p_paddr moved onto
//                            the first's, keeping the page offset      -> INVALID_LOAD_PLAN
//   /data/bin/needs-dynamic  the last PT_LOAD's p_type set to PT_INTERP -> REQUIRE_DYNAMIC
//   /data/bin/oversized      loader-ok zero-padded to kMaxSourceBytes + 1 -> OVERSIZED
//   /data/bin/denied         loader-ok with mode 0644 (no execute)     -> DENIED
//   /data/bin                a directory                              -> IS_DIRECTORY
//   /data/bin/missing        absent                                   -> NOT_FOUND
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "expected.hpp"
#include "loader_service.hpp"
#include "rootd/bytes.hpp"

namespace erix::sim {

inline constexpr std::uint32_t kExecutableMode = 0755;
inline constexpr std::uint32_t kPlainFileMode = 0644;

struct LoaderFixture {
  std::string path;
  std::vector<char> bytes;
  std::uint32_t mode = kExecutableMode;
  bool unstable = false;
};

// The ELF patches; each refuses bytes that do not have the field it changes.
Expected<std::vector<char>, std::string> break_elf_magic(rootd::Bytes elf);
Expected<std::vector<char>, std::string> overlap_second_load(rootd::Bytes elf);
Expected<std::vector<char>, std::string> make_last_load_interp(rootd::Bytes elf);
std::vector<char> pad_past(rootd::Bytes file, std::size_t limit);

// Every fixture of the table above from the two built ELFs.
Expected<std::vector<LoaderFixture>, std::string> make_loader_fixtures(rootd::Bytes loader_ok, rootd::Bytes loader_alt);
// The same, reading DIR/loader-ok and DIR/loader-alt.
Expected<std::vector<LoaderFixture>, std::string> load_loader_fixtures(const std::string& dir);
void seed_fixtures(MemorySources& sources, const std::vector<LoaderFixture>& fixtures);

}  // namespace erix::sim
