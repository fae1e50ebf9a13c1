// A disk image with a GUID partition table, as the simulated blockd serves
// it: a reader that checks the protective MBR, the primary GPT header at LBA
// 1 with both of its CRC32s and the partition entry array, and refuses
// anything else; and a small writer for the image erix-boot generates when
// the user gives none (partitions only, no filesystems inside).
//
// Only 512-byte logical blocks are supported: that is what Debian's sgdisk
// and sfdisk write to a plain file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "expected.hpp"

namespace erix::sim {

inline constexpr std::uint32_t kSectorSize = 512;

struct GptPartition {
  std::uint32_t number = 0;  // 1-based entry index, as sgdisk and Linux number them
  std::uint64_t first_lba = 0;
  std::uint64_t last_lba = 0;
  std::uint8_t type_guid[16] = {};
  std::string name;  // the entry's UTF-16LE name, ASCII characters only
};

struct DiskImage {
  std::string path;
  std::uint64_t sectors = 0;
  std::uint8_t disk_guid[16] = {};
  std::uint32_t entry_count = 0;  // entries in the array, in use or not
  std::vector<GptPartition> partitions;  // in use, ascending number

  const GptPartition* partition(std::uint32_t number) const;
};

// CRC-32 (IEEE 802.3, reflected, as GPT uses).
std::uint32_t crc32_ieee(const std::uint8_t* data, std::size_t size);

// Reads and checks `path`. The error says what is wrong and where.
Expected<DiskImage, std::string> read_gpt_image(const std::string& path);
// The same over bytes already in memory (`path` only names them in errors).
Expected<DiskImage, std::string> parse_gpt_image(const std::vector<std::uint8_t>& bytes, const std::string& path);

// Writes a disk of `sectors` 512-byte sectors with a protective MBR, a
// primary and a backup GPT of 128 entries, and one partition (type "Linux
// filesystem", 1 MiB each, consecutive from LBA 2048) for each number in
// `numbers` (1..128).
Expected<void, std::string> write_gpt_image(const std::string& path, const std::vector<std::uint32_t>& numbers);
// The same disk's bytes.
Expected<std::vector<std::uint8_t>, std::string> make_gpt_image(const std::vector<std::uint32_t>& numbers);

// The disk the simulated blockd serves until told otherwise: a generated
// GPT disk with partitions 1 (the EFI system partition of the examples) and
// 2 (their root filesystem).
inline const std::vector<std::uint32_t> kDefaultPartitions = {1, 2};
DiskImage default_disk();

}  // namespace erix::sim
