#include "disk_image.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace erix::sim {

namespace {

constexpr std::uint8_t kProtectiveType = 0xEE;
constexpr std::size_t kMbrEntries = 446;
constexpr char kGptSignature[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
constexpr std::uint32_t kGptRevision = 0x00010000;
constexpr std::uint32_t kGptHeaderSize = 92;
constexpr std::uint32_t kEntrySize = 128;
constexpr std::uint32_t kWrittenEntries = 128;
constexpr std::uint64_t kAlignment = 2048;  // 1 MiB in sectors
constexpr std::uint64_t kPartitionSectors = 2048;

std::uint64_t le(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
void put_le(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

}  // namespace

std::uint32_t crc32_ieee(const std::uint8_t* data, std::size_t size) {
  static const std::array<std::uint32_t, 256> table = make_crc_table();
  std::uint32_t c = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFFU] ^ (c >> 8);
  return c ^ 0xFFFFFFFFU;
}

const GptPartition* DiskImage::partition(std::uint32_t number) const {
  for (const auto& p : partitions) {
    if (p.number == number) return &p;
  }
  return nullptr;
}

Expected<DiskImage, std::string> parse_gpt_image(const std::vector<std::uint8_t>& bytes, const std::string& path) {
  auto refuse = [&](const std::string& why) { return unexpected(fmt::format("{}: not a GPT disk: {}", path, why)); };
  if (bytes.size() % kSectorSize != 0) return refuse(fmt::format("size {} is not a multiple of {}", bytes.size(), kSectorSize));
  const std::uint64_t sectors = bytes.size() / kSectorSize;
  if (sectors < 3) return refuse("shorter than a protective MBR and a GPT header");
  const std::uint8_t* mbr = bytes.data();
  if (mbr[510] != 0x55 || mbr[511] != 0xAA) return refuse("LBA 0 has no MBR boot signature");
  bool protective = false;
  for (int e = 0; e < 4; ++e) {
    const std::uint8_t* entry = mbr + kMbrEntries + 16 * e;
    if (entry[4] == kProtectiveType && le(entry + 8, 4) == 1) protective = true;
  }
  if (!protective) return refuse("LBA 0 has no protective partition (type 0xEE from LBA 1)");

  const std::uint8_t* h = bytes.data() + kSectorSize;
  if (std::memcmp(h, kGptSignature, 8) != 0) return refuse("LBA 1 has no \"EFI PART\" signature");
  if (le(h + 8, 4) != kGptRevision) return refuse(fmt::format("GPT revision 0x{:08x}", le(h + 8, 4)));
  const std::uint32_t header_size = static_cast<std::uint32_t>(le(h + 12, 4));
  if (header_size < kGptHeaderSize || header_size > kSectorSize) return refuse(fmt::format("header size {}", header_size));
  std::vector<std::uint8_t> header(h, h + header_size);
  std::memset(header.data() + 16, 0, 4);
  if (crc32_ieee(header.data(), header.size()) != le(h + 16, 4)) return refuse("GPT header CRC32 mismatch");
  if (le(h + 20, 4) != 0) return refuse("GPT header reserved field is not zero");
  if (le(h + 24, 8) != 1) return refuse(fmt::format("GPT header says it is at LBA {}", le(h + 24, 8)));
  const std::uint64_t first_usable = le(h + 40, 8);
  const std::uint64_t last_usable = le(h + 48, 8);
  if (first_usable > last_usable || last_usable >= sectors) {
    return refuse(fmt::format("usable LBAs {}..{} on a disk of {} sectors", first_usable, last_usable, sectors));
  }
  const std::uint64_t entries_lba = le(h + 72, 8);
  const std::uint32_t count = static_cast<std::uint32_t>(le(h + 80, 4));
  const std::uint32_t entry_size = static_cast<std::uint32_t>(le(h + 84, 4));
  if (entry_size < kEntrySize || entry_size % kEntrySize != 0) return refuse(fmt::format("entry size {}", entry_size));
  const std::uint64_t array_bytes = std::uint64_t{count} * entry_size;
  if (entries_lba < 2 || entries_lba >= sectors || array_bytes > (sectors - entries_lba) * kSectorSize) {
    return refuse(fmt::format("partition entries at LBA {} ({} x {} bytes) do not fit", entries_lba, count, entry_size));
  }
  const std::uint8_t* array = bytes.data() + entries_lba * kSectorSize;
  if (crc32_ieee(array, array_bytes) != le(h + 88, 4)) return refuse("partition entry array CRC32 mismatch");

  DiskImage disk;
  disk.path = path;
  disk.sectors = sectors;
  std::memcpy(disk.disk_guid, h + 56, 16);
  disk.entry_count = count;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint8_t* e = array + std::uint64_t{i} * entry_size;
    if (std::all_of(e, e + 16, [](std::uint8_t b) { return b == 0; })) continue;  // unused entry
    GptPartition p;
    p.number = i + 1;
    std::memcpy(p.type_guid, e, 16);
    p.first_lba = le(e + 32, 8);
    p.last_lba = le(e + 40, 8);
    if (p.first_lba > p.last_lba || p.first_lba < first_usable || p.last_lba > last_usable) {
      return refuse(fmt::format("partition {} spans LBAs {}..{} outside {}..{}", p.number, p.first_lba, p.last_lba,
                                first_usable, last_usable));
    }
    for (int k = 0; k < 36; ++k) {
      const auto unit = static_cast<std::uint16_t>(le(e + 56 + 2 * k, 2));
      if (unit == 0) break;
      p.name.push_back(unit < 0x80 ? static_cast<char>(unit) : '?');
    }
    disk.partitions.push_back(std::move(p));
  }
  for (std::size_t a = 0; a < disk.partitions.size(); ++a) {
    for (std::size_t b = a + 1; b < disk.partitions.size(); ++b) {
      const auto& x = disk.partitions[a];
      const auto& y = disk.partitions[b];
      if (x.first_lba <= y.last_lba && y.first_lba <= x.last_lba) {
        return refuse(fmt::format("partitions {} and {} overlap", x.number, y.number));
      }
    }
  }
  return disk;
}

Expected<DiskImage, std::string> read_gpt_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(fmt::format("{}: cannot open the disk image", path));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_gpt_image(bytes, path);
}

Expected<std::vector<std::uint8_t>, std::string> make_gpt_image(const std::vector<std::uint32_t>& numbers) {
  std::vector<std::uint32_t> sorted = numbers;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (std::uint32_t n : sorted) {
    if (n == 0 || n > kWrittenEntries) return unexpected(fmt::format("partition {} is not in 1..{}", n, kWrittenEntries));
  }
  const std::uint64_t array_sectors = kWrittenEntries * kEntrySize / kSectorSize;  // 32
  const std::uint64_t sectors = kAlignment + kPartitionSectors * sorted.size() + kAlignment;
  std::vector<std::uint8_t> disk(sectors * kSectorSize, 0);

  std::uint8_t* mbr = disk.data();
  std::uint8_t* pe = mbr + kMbrEntries;
  pe[1] = 0x00;
  pe[2] = 0x02;  // CHS of LBA 1
  pe[4] = kProtectiveType;
  pe[5] = pe[6] = pe[7] = 0xFF;
  put_le(pe + 8, 1, 4);
  put_le(pe + 12, std::min<std::uint64_t>(sectors - 1, 0xFFFFFFFFU), 4);
  mbr[510] = 0x55;
  mbr[511] = 0xAA;

  // Linux filesystem data, 0FC63DAF-8483-4772-8E79-3D69D8477DE4, in GPT's mixed-endian form.
  constexpr std::uint8_t kLinuxData[16] = {0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                           0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4};
  std::vector<std::uint8_t> array(kWrittenEntries * kEntrySize, 0);
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    std::uint8_t* e = array.data() + (sorted[k] - 1) * kEntrySize;
    std::memcpy(e, kLinuxData, 16);
    for (int b = 0; b < 16; ++b) e[16 + b] = static_cast<std::uint8_t>(0x51 + 7 * b + sorted[k]);  // unique GUID
    e[16 + 7] = static_cast<std::uint8_t>(0x40 | (e[16 + 7] & 0x0F));                           // version 4
    e[16 + 8] = static_cast<std::uint8_t>(0x80 | (e[16 + 8] & 0x3F));                           // variant
    put_le(e + 32, kAlignment + kPartitionSectors * k, 8);
    put_le(e + 40, kAlignment + kPartitionSectors * (k + 1) - 1, 8);
    const std::string name = fmt::format("part{}", sorted[k]);
    for (std::size_t c = 0; c < name.size(); ++c) put_le(e + 56 + 2 * c, static_cast<std::uint8_t>(name[c]), 2);
  }
  const std::uint32_t array_crc = crc32_ieee(array.data(), array.size());

  auto write_header = [&](std::uint64_t at, std::uint64_t alternate, std::uint64_t entries_at) {
    std::uint8_t* h = disk.data() + at * kSectorSize;
    std::memcpy(h, kGptSignature, 8);
    put_le(h + 8, kGptRevision, 4);
    put_le(h + 12, kGptHeaderSize, 4);
    put_le(h + 24, at, 8);
    put_le(h + 32, alternate, 8);
    put_le(h + 40, 2 + array_sectors, 8);
    put_le(h + 48, sectors - 2 - array_sectors, 8);
    for (int b = 0; b < 16; ++b) h[56 + b] = static_cast<std::uint8_t>(0xD0 + 3 * b);
    h[56 + 7] = static_cast<std::uint8_t>(0x40 | (h[56 + 7] & 0x0F));
    h[56 + 8] = static_cast<std::uint8_t>(0x80 | (h[56 + 8] & 0x3F));
    put_le(h + 72, entries_at, 8);
    put_le(h + 80, kWrittenEntries, 4);
    put_le(h + 84, kEntrySize, 4);
    put_le(h + 88, array_crc, 4);
    put_le(h + 16, crc32_ieee(h, kGptHeaderSize), 4);
    std::memcpy(disk.data() + entries_at * kSectorSize, array.data(), array.size());
  };
  write_header(1, sectors - 1, 2);
  write_header(sectors - 1, 1, sectors - 1 - array_sectors);

  return disk;
}

Expected<void, std::string> write_gpt_image(const std::string& path, const std::vector<std::uint32_t>& numbers) {
  auto disk = make_gpt_image(numbers);
  if (!disk) return unexpected(disk.error());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return unexpected(fmt::format("{}: cannot create the disk image", path));
  out.write(reinterpret_cast<const char*>(disk->data()), static_cast<std::streamsize>(disk->size()));
  if (!out) return unexpected(fmt::format("{}: cannot write the disk image", path));
  return {};
}

DiskImage default_disk() {
  // Made and read once: every simulated blockd starts with it, and the
  // in-process tests boot thousands of times.
  static const DiskImage disk = [] {
    auto bytes = make_gpt_image(kDefaultPartitions);
    auto read = bytes ? parse_gpt_image(*bytes, "(default disk)") : Expected<DiskImage, std::string>(unexpected(bytes.error()));
    if (!read) throw std::logic_error(read.error());
    return std::move(*read);
  }();
  return disk;
}

}  // namespace erix::sim
