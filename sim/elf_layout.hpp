// ELF64 field positions and constants (System V gABI, x86_64 psABI), for the
// simulator's ELF reader and the loader fixtures that patch ELF files. Fields
// are read and written one by one with rootd's little-endian loads and
// stores, never by casting.
#pragma once

#include <cstddef>
#include <cstdint>

namespace erix::sim::elf {

constexpr std::size_t kEhdrSize = 64;
constexpr std::size_t kPhdrSize = 56;
constexpr std::size_t kShdrSize = 64;
constexpr std::size_t kSymSize = 24;

constexpr std::size_t kIdentClass = 4;
constexpr std::size_t kIdentData = 5;
constexpr std::size_t kIdentVersion = 6;
constexpr std::size_t kIdentOsAbi = 7;
constexpr std::size_t kType = 16;
constexpr std::size_t kMachine = 18;
constexpr std::size_t kVersion = 20;
constexpr std::size_t kEntry = 24;
constexpr std::size_t kPhoff = 32;
constexpr std::size_t kShoff = 40;
constexpr std::size_t kEhsize = 52;
constexpr std::size_t kPhentsize = 54;
constexpr std::size_t kPhnum = 56;
constexpr std::size_t kShentsize = 58;
constexpr std::size_t kShnum = 60;
constexpr std::size_t kShstrndx = 62;

constexpr std::uint8_t kClass64 = 2;
constexpr std::uint8_t kDataLittle = 1;
constexpr std::uint8_t kCurrentVersion = 1;
constexpr std::uint8_t kOsAbiSysv = 0;
constexpr std::uint8_t kOsAbiGnu = 3;
constexpr std::uint16_t kTypeExec = 2;
constexpr std::uint16_t kMachineX86_64 = 62;

constexpr std::uint32_t kPtLoad = 1;
constexpr std::uint32_t kPtDynamic = 2;
constexpr std::uint32_t kPtInterp = 3;
constexpr std::uint32_t kPtShlib = 5;
constexpr std::uint32_t kPtTls = 7;

constexpr std::uint32_t kPfX = 1;
constexpr std::uint32_t kPfW = 2;
constexpr std::uint32_t kPfR = 4;

constexpr std::uint32_t kShtSymtab = 2;
constexpr std::uint32_t kShtNobits = 8;  // .bss-like: occupies memory, no file bytes
constexpr std::uint16_t kShnXindex = 0xFFFF;

// Program header fields, from the start of one entry.
constexpr std::size_t kPhType = 0;
constexpr std::size_t kPhFlags = 4;
constexpr std::size_t kPhOffset = 8;
constexpr std::size_t kPhVaddr = 16;
constexpr std::size_t kPhPaddr = 24;
constexpr std::size_t kPhFilesz = 32;
constexpr std::size_t kPhMemsz = 40;
constexpr std::size_t kPhAlign = 48;

}  // namespace erix::sim::elf
