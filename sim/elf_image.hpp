// ElfImage: a validated static ELF64 x86_64 executable, ready to be mapped
// segment by segment at fixed addresses with no loader at all.
//
// parse() accepts exactly what the ptrace runner (and the EriX kernel) can
// start without help: ET_EXEC, little-endian, PT_LOAD segments at fixed,
// page-congruent, non-overlapping user addresses, and an entry point inside
// the file-backed part of an executable segment. Anything that needs an
// interpreter, relocation or thread-local storage is refused with a specific
// ElfProblem and a message naming the header and the values involved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expected.hpp"
#include "rootd/bytes.hpp"

namespace erix::sim {

inline constexpr std::uint64_t kPageSize = 0x1000;
// Lowest address a segment may start at. Linux's default vm.mmap_min_addr is
// 64 KiB, so an image below it could not be mapped on a common host, and
// page 0 must stay unmapped so null dereferences fault.
inline constexpr std::uint64_t kLowestLoadAddress = 0x10000;
// End of user space: the lower canonical half with 4-level paging (2^47)
// minus its last page, which Linux never maps (TASK_SIZE_MAX) so that no
// instruction can end at the edge of the non-canonical hole.
inline constexpr std::uint64_t kUserAddressLimit = 0x0000'7FFF'FFFF'F000ULL;
// A static image has three or four program headers; more is not an image
// this project produces.
inline constexpr std::size_t kMaxProgramHeaders = 64;

enum class ElfProblem : std::uint8_t {
  unreadable_file,
  truncated_header,
  bad_magic,
  not_elf64,
  not_little_endian,
  bad_ident_version,
  unsupported_os_abi,
  bad_version,
  not_x86_64,
  not_executable_type,
  bad_header_size,
  bad_program_header_size,
  program_headers_outside_file,
  too_many_program_headers,
  needs_interpreter,
  needs_dynamic_linking,
  needs_thread_local_storage,
  reserved_segment_type,
  segment_file_size_exceeds_memory_size,
  segment_outside_file,
  segment_bad_alignment,
  segment_not_page_congruent,
  segment_below_lowest_address,
  segment_beyond_user_half,
  segment_writable_and_executable,
  segments_overlap,
  segments_share_page,
  no_load_segments,
  entry_not_executable,
  // Section and symbol helpers (not needed to run the image).
  section_headers_outside_file,
  bad_section_header_size,
  section_names_invalid,
  section_outside_file,
  symbol_table_invalid,
};

std::string_view problem_name(ElfProblem problem);

struct ElfError {
  ElfProblem problem = ElfProblem::truncated_header;
  std::uint64_t offset = 0;  // file offset of the field or header that failed
  std::string message;
};

struct Protection {
  bool read = false;
  bool write = false;
  bool execute = false;
  friend bool operator==(const Protection&, const Protection&) = default;
};

struct LoadSegment {
  std::uint64_t vaddr = 0;
  std::uint64_t memory_size = 0;
  std::uint64_t file_offset = 0;
  std::uint64_t file_size = 0;
  Protection protection;
  std::size_t header_index = 0;  // position in the program header table

  // Page-granular extent the mapping covers.
  std::uint64_t page_start() const { return vaddr & ~(kPageSize - 1); }
  std::uint64_t page_end() const { return (vaddr + memory_size + kPageSize - 1) & ~(kPageSize - 1); }
};

struct SectionSize {
  std::string name;
  std::uint32_t type = 0;    // SHT_*
  std::uint64_t flags = 0;   // SHF_*
  std::uint64_t address = 0;
  std::uint64_t size = 0;
};

class ElfImage {
 public:
  // Copies `file`; the image owns its bytes.
  static Expected<ElfImage, ElfError> parse(rootd::Bytes file);
  static Expected<ElfImage, ElfError> load_file(const std::string& path);

  std::uint64_t entry() const { return entry_; }
  // PT_LOAD segments with a non-zero memory size, sorted by address. An empty
  // PT_LOAD (a linker-script segment with no sections) maps nothing.
  const std::vector<LoadSegment>& segments() const { return segments_; }
  rootd::Bytes file() const { return rootd::Bytes(bytes_.data(), bytes_.size()); }
  // The file-backed bytes of a segment (file_size of them).
  rootd::Bytes contents(const LoadSegment& segment) const;

  // Every section with its name and size, in section header order; empty for
  // an image without a section header table.
  Expected<std::vector<SectionSize>, ElfError> section_sizes() const;
  // Value of the named symbol in .symtab; nullopt when absent or stripped.
  Expected<std::optional<std::uint64_t>, ElfError> symbol_address(std::string_view name) const;
  // True when `needle` occurs anywhere in the file: in a string table (a
  // symbol or section name) or in any section's contents.
  bool contains_string(std::string_view needle) const;

 private:
  std::vector<char> bytes_;
  std::uint64_t entry_ = 0;
  std::vector<LoadSegment> segments_;
};

}  // namespace erix::sim
