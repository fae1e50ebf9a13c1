#include "elf_image.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "elf_layout.hpp"

namespace erix::sim {
namespace {

using namespace elf;

ElfError fail(ElfProblem problem, std::uint64_t offset, std::string message) {
  return ElfError{problem, offset, std::move(message)};
}

struct ProgramHeader {
  std::uint32_t type;
  std::uint32_t flags;
  std::uint64_t offset;
  std::uint64_t vaddr;
  std::uint64_t file_size;
  std::uint64_t memory_size;
  std::uint64_t align;
};

ProgramHeader read_phdr(rootd::Bytes f, std::size_t at) {
  return ProgramHeader{
      rootd::load_le32(f, at + kPhType),   rootd::load_le32(f, at + kPhFlags),
      rootd::load_le64(f, at + kPhOffset), rootd::load_le64(f, at + kPhVaddr),
      rootd::load_le64(f, at + kPhFilesz), rootd::load_le64(f, at + kPhMemsz),
      rootd::load_le64(f, at + kPhAlign),
  };
}

struct SectionHeader {
  std::uint32_t name;
  std::uint32_t type;
  std::uint64_t flags;
  std::uint64_t address;
  std::uint64_t offset;
  std::uint64_t size;
  std::uint32_t link;
};

bool occupies_file(const SectionHeader& s) { return s.type != kShtNobits; }

// The section header table, bounds-checked as a whole.
struct SectionTable {
  std::vector<SectionHeader> headers;
  std::uint32_t names_index = 0;
};

Expected<SectionTable, ElfError> read_sections(rootd::Bytes f) {
  SectionTable table;
  const std::uint64_t shoff = rootd::load_le64(f, kShoff);
  if (shoff == 0) return table;
  const std::uint16_t entsize = rootd::load_le16(f, kShentsize);
  if (entsize != kShdrSize) {
    return unexpected(fail(ElfProblem::bad_section_header_size, kShentsize,
                           fmt::format("e_shentsize is {}, expected {}", entsize, kShdrSize)));
  }
  if (!rootd::range_fits(shoff, kShdrSize, f.size())) {
    return unexpected(fail(ElfProblem::section_headers_outside_file, kShoff,
                           fmt::format("section header table at 0x{:x} lies outside the {}-byte file", shoff,
                                       f.size())));
  }
  // Extended numbering: with more sections than fit the 16-bit fields, the
  // count and the names index live in section header 0.
  std::uint64_t count = rootd::load_le16(f, kShnum);
  if (count == 0) count = rootd::load_le64(f, shoff + 32);
  std::uint32_t names_index = rootd::load_le16(f, kShstrndx);
  if (names_index == kShnXindex) names_index = rootd::load_le32(f, shoff + 40);
  if (count > f.size() / kShdrSize || !rootd::range_fits(shoff, count * kShdrSize, f.size())) {
    return unexpected(fail(ElfProblem::section_headers_outside_file, kShoff,
                           fmt::format("{} section headers at 0x{:x} do not fit the {}-byte file", count, shoff,
                                       f.size())));
  }
  table.headers.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t at = shoff + i * kShdrSize;
    SectionHeader s{rootd::load_le32(f, at),      rootd::load_le32(f, at + 4),  rootd::load_le64(f, at + 8),
                    rootd::load_le64(f, at + 16), rootd::load_le64(f, at + 24), rootd::load_le64(f, at + 32),
                    rootd::load_le32(f, at + 40)};
    if (occupies_file(s) && i != 0 && !rootd::range_fits(s.offset, s.size, f.size())) {
      return unexpected(fail(ElfProblem::section_outside_file, at,
                             fmt::format("section {}: bytes [0x{:x}, +0x{:x}) lie outside the {}-byte file", i,
                                         s.offset, s.size, f.size())));
    }
    table.headers.push_back(s);
  }
  if (count != 0 && names_index >= count) {
    return unexpected(fail(ElfProblem::section_names_invalid, kShstrndx,
                           fmt::format("section name table index {} is not below the section count {}",
                                       names_index, count)));
  }
  table.names_index = names_index;
  return table;
}

// A NUL-terminated name inside a string table section.
Expected<std::string_view, ElfError> string_at(rootd::Bytes f, const SectionHeader& strtab, std::uint32_t index,
                                               ElfProblem problem) {
  if (!occupies_file(strtab)) {
    return unexpected(fail(problem, strtab.offset, "string table section has no file contents (SHT_NOBITS)"));
  }
  if (index >= strtab.size) {
    return unexpected(fail(problem, strtab.offset,
                           fmt::format("name offset {} is past the end of a {}-byte string table", index,
                                       strtab.size)));
  }
  const char* begin = f.data() + strtab.offset + index;
  const char* end = f.data() + strtab.offset + strtab.size;
  const char* nul = std::find(begin, end, '\0');
  if (nul == end) {
    return unexpected(fail(problem, strtab.offset + index,
                           fmt::format("name at string table offset {} has no terminating NUL", index)));
  }
  return std::string_view(begin, static_cast<std::size_t>(nul - begin));
}

std::string describe_protection(const Protection& p) {
  std::string s;
  s += p.read ? 'r' : '-';
  s += p.write ? 'w' : '-';
  s += p.execute ? 'x' : '-';
  return s;
}

}  // namespace

std::string_view problem_name(ElfProblem problem) {
  switch (problem) {
    case ElfProblem::unreadable_file: return "unreadable_file";
    case ElfProblem::truncated_header: return "truncated_header";
    case ElfProblem::bad_magic: return "bad_magic";
    case ElfProblem::not_elf64: return "not_elf64";
    case ElfProblem::not_little_endian: return "not_little_endian";
    case ElfProblem::bad_ident_version: return "bad_ident_version";
    case ElfProblem::unsupported_os_abi: return "unsupported_os_abi";
    case ElfProblem::bad_version: return "bad_version";
    case ElfProblem::not_x86_64: return "not_x86_64";
    case ElfProblem::not_executable_type: return "not_executable_type";
    case ElfProblem::bad_header_size: return "bad_header_size";
    case ElfProblem::bad_program_header_size: return "bad_program_header_size";
    case ElfProblem::program_headers_outside_file: return "program_headers_outside_file";
    case ElfProblem::too_many_program_headers: return "too_many_program_headers";
    case ElfProblem::needs_interpreter: return "needs_interpreter";
    case ElfProblem::needs_dynamic_linking: return "needs_dynamic_linking";
    case ElfProblem::needs_thread_local_storage: return "needs_thread_local_storage";
    case ElfProblem::reserved_segment_type: return "reserved_segment_type";
    case ElfProblem::segment_file_size_exceeds_memory_size: return "segment_file_size_exceeds_memory_size";
    case ElfProblem::segment_outside_file: return "segment_outside_file";
    case ElfProblem::segment_bad_alignment: return "segment_bad_alignment";
    case ElfProblem::segment_not_page_congruent: return "segment_not_page_congruent";
    case ElfProblem::segment_below_lowest_address: return "segment_below_lowest_address";
    case ElfProblem::segment_beyond_user_half: return "segment_beyond_user_half";
    case ElfProblem::segment_writable_and_executable: return "segment_writable_and_executable";
    case ElfProblem::segments_overlap: return "segments_overlap";
    case ElfProblem::segments_share_page: return "segments_share_page";
    case ElfProblem::no_load_segments: return "no_load_segments";
    case ElfProblem::entry_not_executable: return "entry_not_executable";
    case ElfProblem::section_headers_outside_file: return "section_headers_outside_file";
    case ElfProblem::bad_section_header_size: return "bad_section_header_size";
    case ElfProblem::section_names_invalid: return "section_names_invalid";
    case ElfProblem::section_outside_file: return "section_outside_file";
    case ElfProblem::symbol_table_invalid: return "symbol_table_invalid";
  }
  return "unknown";
}

Expected<ElfImage, ElfError> ElfImage::parse(rootd::Bytes f) {
  if (f.size() < kEhdrSize) {
    return unexpected(fail(ElfProblem::truncated_header, 0,
                           fmt::format("file is {} bytes, an ELF64 header needs {}", f.size(), kEhdrSize)));
  }
  if (rootd::byte_at(f, 0) != 0x7F || f[1] != 'E' || f[2] != 'L' || f[3] != 'F') {
    return unexpected(fail(ElfProblem::bad_magic, 0, "no ELF magic (7f 45 4c 46) at offset 0"));
  }
  if (rootd::byte_at(f, kIdentClass) != kClass64) {
    return unexpected(fail(ElfProblem::not_elf64, kIdentClass,
                           fmt::format("EI_CLASS is {}, expected 2 (ELFCLASS64)", rootd::byte_at(f, kIdentClass))));
  }
  if (rootd::byte_at(f, kIdentData) != kDataLittle) {
    return unexpected(fail(ElfProblem::not_little_endian, kIdentData,
                           fmt::format("EI_DATA is {}, expected 1 (little-endian)", rootd::byte_at(f, kIdentData))));
  }
  if (rootd::byte_at(f, kIdentVersion) != kCurrentVersion) {
    return unexpected(fail(ElfProblem::bad_ident_version, kIdentVersion,
                           fmt::format("EI_VERSION is {}, expected 1", rootd::byte_at(f, kIdentVersion))));
  }
  const std::uint8_t os_abi = rootd::byte_at(f, kIdentOsAbi);
  if (os_abi != kOsAbiSysv && os_abi != kOsAbiGnu) {
    return unexpected(fail(ElfProblem::unsupported_os_abi, kIdentOsAbi,
                           fmt::format("EI_OSABI is {}, expected 0 (System V) or 3 (GNU)", os_abi)));
  }
  const std::uint16_t type = rootd::load_le16(f, kType);
  if (type != kTypeExec) {
    return unexpected(fail(ElfProblem::not_executable_type, kType,
                           fmt::format("e_type is {}, expected 2 (ET_EXEC): a position-independent or "
                                       "relocatable image needs a loader",
                                       type)));
  }
  const std::uint16_t machine = rootd::load_le16(f, kMachine);
  if (machine != kMachineX86_64) {
    return unexpected(fail(ElfProblem::not_x86_64, kMachine,
                           fmt::format("e_machine is {}, expected 62 (EM_X86_64)", machine)));
  }
  const std::uint32_t version = rootd::load_le32(f, kVersion);
  if (version != kCurrentVersion) {
    return unexpected(fail(ElfProblem::bad_version, kVersion, fmt::format("e_version is {}, expected 1", version)));
  }
  const std::uint16_t ehsize = rootd::load_le16(f, kEhsize);
  if (ehsize != kEhdrSize) {
    return unexpected(fail(ElfProblem::bad_header_size, kEhsize,
                           fmt::format("e_ehsize is {}, expected {}", ehsize, kEhdrSize)));
  }
  const std::uint16_t phentsize = rootd::load_le16(f, kPhentsize);
  if (phentsize != kPhdrSize) {
    return unexpected(fail(ElfProblem::bad_program_header_size, kPhentsize,
                           fmt::format("e_phentsize is {}, expected {}", phentsize, kPhdrSize)));
  }
  const std::uint16_t phnum = rootd::load_le16(f, kPhnum);
  if (phnum > kMaxProgramHeaders) {
    return unexpected(fail(ElfProblem::too_many_program_headers, kPhnum,
                           fmt::format("e_phnum is {}, at most {} are accepted", phnum, kMaxProgramHeaders)));
  }
  const std::uint64_t phoff = rootd::load_le64(f, kPhoff);
  if (!rootd::range_fits(phoff, std::uint64_t{phnum} * kPhdrSize, f.size())) {
    return unexpected(fail(ElfProblem::program_headers_outside_file, kPhoff,
                           fmt::format("{} program headers at 0x{:x} do not fit the {}-byte file", phnum, phoff,
                                       f.size())));
  }

  ElfImage image;
  for (std::size_t i = 0; i < phnum; ++i) {
    const std::size_t at = phoff + i * kPhdrSize;
    const ProgramHeader ph = read_phdr(f, at);
    switch (ph.type) {
      case kPtInterp:
        return unexpected(fail(ElfProblem::needs_interpreter, at,
                               fmt::format("program header {} is PT_INTERP: the image asks for a dynamic loader", i)));
      case kPtDynamic:
        return unexpected(fail(ElfProblem::needs_dynamic_linking, at,
                               fmt::format("program header {} is PT_DYNAMIC: the image needs relocation", i)));
      case kPtTls:
        return unexpected(fail(ElfProblem::needs_thread_local_storage, at,
                               fmt::format("program header {} is PT_TLS: thread-local storage needs a loader", i)));
      case kPtShlib:
        return unexpected(fail(ElfProblem::reserved_segment_type, at,
                               fmt::format("program header {} is PT_SHLIB, whose meaning is unspecified", i)));
      default: break;
    }
    if (ph.type != kPtLoad) continue;  // notes, GNU_STACK and the like change nothing here

    if (ph.file_size > ph.memory_size) {
      return unexpected(fail(ElfProblem::segment_file_size_exceeds_memory_size, at,
                             fmt::format("PT_LOAD {}: p_filesz 0x{:x} exceeds p_memsz 0x{:x}", i, ph.file_size,
                                         ph.memory_size)));
    }
    if (!rootd::range_fits(ph.offset, ph.file_size, f.size())) {
      return unexpected(fail(ElfProblem::segment_outside_file, at,
                             fmt::format("PT_LOAD {}: file bytes [0x{:x}, +0x{:x}) lie outside the {}-byte file", i,
                                         ph.offset, ph.file_size, f.size())));
    }
    if (ph.memory_size == 0) continue;
    if (ph.align > 1 && (ph.align & (ph.align - 1)) != 0) {
      return unexpected(fail(ElfProblem::segment_bad_alignment, at,
                             fmt::format("PT_LOAD {}: p_align 0x{:x} is not a power of two", i, ph.align)));
    }
    if (ph.vaddr % kPageSize != ph.offset % kPageSize) {
      return unexpected(fail(ElfProblem::segment_not_page_congruent, at,
                             fmt::format("PT_LOAD {}: p_vaddr 0x{:x} and p_offset 0x{:x} differ modulo the page "
                                         "size, so the file cannot be mapped page by page",
                                         i, ph.vaddr, ph.offset)));
    }
    if (ph.vaddr < kLowestLoadAddress) {
      return unexpected(fail(ElfProblem::segment_below_lowest_address, at,
                             fmt::format("PT_LOAD {}: p_vaddr 0x{:x} is below the lowest load address 0x{:x}", i,
                                         ph.vaddr, kLowestLoadAddress)));
    }
    // Also page-rounds within the limit: vaddr + memsz may not exceed it.
    if (ph.vaddr >= kUserAddressLimit || ph.memory_size > kUserAddressLimit - ph.vaddr) {
      return unexpected(fail(ElfProblem::segment_beyond_user_half, at,
                             fmt::format("PT_LOAD {}: [0x{:x}, +0x{:x}) reaches past the user half ending at 0x{:x}",
                                         i, ph.vaddr, ph.memory_size, kUserAddressLimit)));
    }
    LoadSegment segment;
    segment.vaddr = ph.vaddr;
    segment.memory_size = ph.memory_size;
    segment.file_offset = ph.offset;
    segment.file_size = ph.file_size;
    segment.protection = Protection{(ph.flags & kPfR) != 0, (ph.flags & kPfW) != 0, (ph.flags & kPfX) != 0};
    segment.header_index = i;
    if (segment.protection.write && segment.protection.execute) {
      return unexpected(fail(ElfProblem::segment_writable_and_executable, at,
                             fmt::format("PT_LOAD {} at 0x{:x} is both writable and executable", i, ph.vaddr)));
    }
    image.segments_.push_back(segment);
  }
  if (image.segments_.empty()) {
    return unexpected(fail(ElfProblem::no_load_segments, kPhnum, "no PT_LOAD segment with a non-zero size"));
  }

  std::sort(image.segments_.begin(), image.segments_.end(),
            [](const LoadSegment& a, const LoadSegment& b) { return a.vaddr < b.vaddr; });
  for (std::size_t i = 1; i < image.segments_.size(); ++i) {
    const LoadSegment& lo = image.segments_[i - 1];
    const LoadSegment& hi = image.segments_[i];
    const std::uint64_t at = phoff + hi.header_index * kPhdrSize;
    if (lo.vaddr + lo.memory_size > hi.vaddr) {
      return unexpected(fail(ElfProblem::segments_overlap, at,
                             fmt::format("PT_LOAD {} [0x{:x}, 0x{:x}) overlaps PT_LOAD {} [0x{:x}, 0x{:x})",
                                         hi.header_index, hi.vaddr, hi.vaddr + hi.memory_size, lo.header_index,
                                         lo.vaddr, lo.vaddr + lo.memory_size)));
    }
    // Each segment is mapped with its own permissions, so two may not meet
    // inside one page.
    if (lo.page_end() > hi.page_start()) {
      return unexpected(fail(ElfProblem::segments_share_page, at,
                             fmt::format("PT_LOAD {} ({}) at 0x{:x} shares the page at 0x{:x} with PT_LOAD {} ({})",
                                         hi.header_index, describe_protection(hi.protection), hi.vaddr,
                                         hi.page_start(), lo.header_index, describe_protection(lo.protection))));
    }
  }

  image.entry_ = rootd::load_le64(f, kEntry);
  const bool entry_ok = std::any_of(image.segments_.begin(), image.segments_.end(), [&](const LoadSegment& s) {
    return s.protection.execute && image.entry_ >= s.vaddr && image.entry_ - s.vaddr < s.file_size;
  });
  if (!entry_ok) {
    return unexpected(fail(ElfProblem::entry_not_executable, kEntry,
                           fmt::format("e_entry 0x{:x} is not inside the file-backed part of an executable "
                                       "PT_LOAD segment",
                                       image.entry_)));
  }
  image.bytes_.assign(f.begin(), f.end());
  return image;
}

Expected<ElfImage, ElfError> ElfImage::load_file(const std::string& path) {
  // POSIX reads rather than iostreams: libstdc++'s filebuf throws on some
  // read errors (a directory, for one), and a bad path is an ordinary error.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return unexpected(fail(ElfProblem::unreadable_file, 0, fmt::format("cannot open {}: {}", path, std::strerror(errno))));
  }
  std::vector<char> bytes;
  std::array<char, 65536> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error_number = errno;
      ::close(fd);
      return unexpected(
          fail(ElfProblem::unreadable_file, 0, fmt::format("cannot read {}: {}", path, std::strerror(error_number))));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk.data(), chunk.data() + n);
  }
  ::close(fd);
  auto image = parse(rootd::Bytes(bytes.data(), bytes.size()));
  if (!image) {
    ElfError e = image.error();
    e.message = fmt::format("{}: {}", path, e.message);
    return unexpected(std::move(e));
  }
  return image;
}

rootd::Bytes ElfImage::contents(const LoadSegment& segment) const {
  return file().subspan(segment.file_offset, segment.file_size);
}

Expected<std::vector<SectionSize>, ElfError> ElfImage::section_sizes() const {
  auto table = read_sections(file());
  if (!table) return unexpected(table.error());
  std::vector<SectionSize> out;
  if (table->headers.empty()) return out;
  const SectionHeader& names = table->headers[table->names_index];
  for (const SectionHeader& s : table->headers) {
    auto name = string_at(file(), names, s.name, ElfProblem::section_names_invalid);
    if (!name) return unexpected(name.error());
    out.push_back(SectionSize{std::string(*name), s.type, s.flags, s.address, s.size});
  }
  return out;
}

Expected<std::optional<std::uint64_t>, ElfError> ElfImage::symbol_address(std::string_view name) const {
  auto table = read_sections(file());
  if (!table) return unexpected(table.error());
  const auto& headers = table->headers;
  for (const SectionHeader& s : headers) {
    if (s.type != kShtSymtab) continue;
    if (s.link >= headers.size() || s.size % kSymSize != 0) {
      return unexpected(fail(ElfProblem::symbol_table_invalid, s.offset,
                             fmt::format("symbol table has string table link {} and size {}", s.link, s.size)));
    }
    const SectionHeader& strings = headers[s.link];
    for (std::uint64_t at = s.offset; at < s.offset + s.size; at += kSymSize) {
      auto sym_name = string_at(file(), strings, rootd::load_le32(file(), at), ElfProblem::symbol_table_invalid);
      if (!sym_name) return unexpected(sym_name.error());
      if (*sym_name == name) return std::optional<std::uint64_t>(rootd::load_le64(file(), at + 8));
    }
  }
  return std::optional<std::uint64_t>();
}

bool ElfImage::contains_string(std::string_view needle) const {
  const std::string_view haystack(bytes_.data(), bytes_.size());
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace erix::sim
