#include "blob_map.hpp"

#include <fmt/format.h>

#include <span>

#include "decode.hpp"

namespace bcfg_tool {

namespace bcfg = rootd::bcfg;
using Region = BlobPlace::Region;
using bcfg::Section;

namespace {

// A name or path as a message shows it: quoted, cut when long.
std::string shown(std::string_view s) {
  if (s.size() <= kMaxShownName) return toml_quote(s);
  return fmt::format("{} ({} bytes)", toml_quote(elide(s)), s.size());
}

struct Field {
  std::size_t offset, size;
  std::string_view name;
};

// Layouts from bcfg.hpp's constants, named as docs/erixbcfg-v1.md names them.
constexpr Field kHeaderFields[] = {
    {bcfg::kHeaderMagicOffset, 8, "magic"},
    {bcfg::kHeaderVersionOffset, 2, "version"},
    {bcfg::kHeaderSizeOffset, 2, "header_size"},
    {bcfg::kHeaderTotalSizeOffset, 4, "total_size"},
    {bcfg::kHeaderChecksumOffset, 4, "checksum"},
    {bcfg::kHeaderFlagsOffset, 4, "flags"},
    {bcfg::kHeaderSectionCountOffset, 4, "section_count"},
    {bcfg::kHeaderReservedOffset, 4, "reserved"},
};
constexpr Field kSectionEntryFields[] = {
    {bcfg::kSectionEntryTagOffset, 4, "tag"},
    {bcfg::kSectionEntryOffsetOffset, 4, "offset"},
    {bcfg::kSectionEntryLengthOffset, 4, "length"},
    {bcfg::kSectionEntryCountOffset, 4, "count"},
};
constexpr Field kProfileFields[] = {{bcfg::kProfileNameOffset, bcfg::kStrRefSize, "name"}};
constexpr Field kServiceFields[] = {
    {bcfg::kServiceNameOffset, bcfg::kStrRefSize, "name"},
    {bcfg::kServiceRoleOffset, bcfg::kStrRefSize, "role"},
    {bcfg::kServiceImageOffset, bcfg::kStrRefSize, "image"},
    {bcfg::kServiceAfterFirstOffset, 4, "after_first"},
    {bcfg::kServicePeersFirstOffset, 4, "peers_first"},
    {bcfg::kServiceAfterCountOffset, 2, "after_count"},
    {bcfg::kServicePeersCountOffset, 2, "peers_count"},
    {bcfg::kServiceLaunchOffset, 1, "launch"},
    {bcfg::kServiceReservedOffset, bcfg::kServiceReservedSize, "reserved"},
};
constexpr Field kProviderFields[] = {
    {bcfg::kProviderNameOffset, bcfg::kStrRefSize, "name"},
    {bcfg::kProviderServiceOffset, 2, "service"},
    {bcfg::kProviderBlockOffset, 2, "block"},
    {bcfg::kProviderKeyOffset, 2, "key"},
    {bcfg::kProviderReservedOffset, bcfg::kProviderReservedSize, "reserved"},
    {bcfg::kProviderPartitionOffset, 4, "partition"},
};
constexpr Field kMountFields[] = {
    {bcfg::kMountPathOffset, bcfg::kStrRefSize, "path"},
    {bcfg::kMountProviderOffset, 2, "provider"},
    {bcfg::kMountReadOnlyOffset, 1, "read_only"},
    {bcfg::kMountReservedOffset, bcfg::kMountReservedSize, "reserved"},
};

std::string_view field_at(std::span<const Field> fields, std::size_t at) {
  for (const Field& f : fields) {
    if (at >= f.offset && at < f.offset + f.size) return f.name;
  }
  return {};
}

std::span<const Field> row_fields(Section s) {
  switch (s) {
    case Section::PROFILE: return kProfileFields;
    case Section::SERVICES: return kServiceFields;
    case Section::PROVIDERS: return kProviderFields;
    case Section::MOUNTS: return kMountFields;
    case Section::AFTER:
    case Section::PEERS:
    case Section::STRINGS: break;
  }
  return {};
}

std::string_view section_word(Section s) {
  switch (s) {
    case Section::PROFILE: return "profile";
    case Section::SERVICES: return "service";
    case Section::AFTER: return "after";
    case Section::PEERS: return "peers";
    case Section::PROVIDERS: return "provider";
    case Section::MOUNTS: return "mount";
    case Section::STRINGS: return "string table";
  }
  return "?";
}

}  // namespace

BlobPlace place_offset(rootd::Bytes blob, std::uint64_t offset) {
  BlobPlace p;
  if (offset > blob.size()) return p;
  if (offset < bcfg::kHeaderSize) {
    p.region = Region::HEADER;
    p.field_offset = static_cast<std::size_t>(offset);
    p.field = field_at(kHeaderFields, p.field_offset);
    return p;
  }
  if (offset < bcfg::kFirstSectionOffset) {
    p.region = Region::SECTION_TABLE;
    const std::size_t rel = static_cast<std::size_t>(offset) - bcfg::kSectionTableOffset;
    p.index = rel / bcfg::kSectionEntrySize;
    p.field_offset = rel % bcfg::kSectionEntrySize;
    p.field = field_at(kSectionEntryFields, p.field_offset);
    return p;
  }
  p.region = offset < blob.size() ? Region::PADDING : Region::OUTSIDE;
  if (blob.size() < bcfg::kFirstSectionOffset) return p;
  for (std::size_t i = 0; i < bcfg::kSectionCount; ++i) {
    const std::size_t entry = bcfg::kSectionTableOffset + i * bcfg::kSectionEntrySize;
    const std::uint32_t tag = rootd::load_le32(blob, entry + bcfg::kSectionEntryTagOffset);
    const bcfg::SectionInfo* info = nullptr;
    for (const bcfg::SectionInfo& s : bcfg::kSectionTable) {
      if (bcfg::section_tag_value(s) == tag) info = &s;
    }
    if (info == nullptr) continue;
    const std::uint64_t start = rootd::load_le32(blob, entry + bcfg::kSectionEntryOffsetOffset);
    const std::uint64_t length = rootd::load_le32(blob, entry + bcfg::kSectionEntryLengthOffset);
    if (offset < start || offset - start >= length) continue;
    p.region = Region::SECTION;
    p.section = info->section;
    const auto rel = static_cast<std::size_t>(offset - start);
    p.index = rel / info->row_size;
    p.field_offset = rel % info->row_size;
    p.field = field_at(row_fields(info->section), p.field_offset);
    return p;
  }
  return p;
}

std::string describe_raw(rootd::Bytes blob, const BlobPlace& p) {
  switch (p.region) {
    case Region::HEADER:
      return fmt::format("header field {}", p.field.empty() ? "?" : p.field);
    case Region::SECTION_TABLE:
      return fmt::format("section table entry {} ({})", p.index, p.field);
    case Region::PADDING: return "padding between sections";
    case Region::OUTSIDE: return fmt::format("the end of the {}-byte blob", blob.size());
    case Region::SECTION: break;
  }
  switch (p.section) {
    case Section::PROFILE: return fmt::format("profile row ({})", p.field);
    case Section::AFTER:
    case Section::PEERS: return fmt::format("{} entry {}", section_word(p.section), p.index);
    case Section::STRINGS: return fmt::format("string table byte {}", p.index);
    case Section::SERVICES:
    case Section::PROVIDERS:
    case Section::MOUNTS: break;
  }
  return fmt::format("{} row {} ({})", section_word(p.section), p.index, p.field);
}

bool edge_owner(const bcfg::View& view, const BlobPlace& p, std::size_t& service,
                std::size_t& position) {
  if (p.region != Region::SECTION || (p.section != Section::AFTER && p.section != Section::PEERS)) {
    return false;
  }
  const bool after = p.section == Section::AFTER;
  const std::uint64_t at = view.section_offset(p.section) + p.index * bcfg::kEdgeRowSize;
  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const std::uint64_t first = after ? view.after_offset(i) : view.peers_offset(i);
    const std::size_t n = after ? view.after(i).size() : view.peers(i).size();
    if (at >= first && at < first + n * bcfg::kEdgeRowSize) {
      service = i;
      position = static_cast<std::size_t>((at - first) / bcfg::kEdgeRowSize);
      return true;
    }
  }
  return false;
}

namespace {

std::string service_field_text(const bcfg::View& view, std::size_t i, std::string_view field) {
  const bcfg::Service s = view.service(i);
  if (field == "role") return fmt::format(", role {}", shown(s.role));
  if (field == "image") return fmt::format(", image {}", shown(s.image));
  if (field == "launch") {
    return fmt::format(", launch \"{}\"", s.launch == bcfg::Launch::DEVICED ? "deviced" : "rootd");
  }
  if (field == "after_first" || field == "after_count") return ", its after list";
  if (field == "peers_first" || field == "peers_count") return ", its peers list";
  if (field == "reserved") return ", reserved bytes";
  return {};
}

std::string provider_field_text(const bcfg::View& view, std::size_t i, std::string_view field) {
  const bcfg::Provider p = view.provider(i);
  const auto name_of = [&](std::uint16_t s) {
    return s == bcfg::kNoIndex ? std::string("none") : shown(view.service(s).name);
  };
  if (field == "service") return ", service " + name_of(p.service);
  if (field == "block") return ", block " + name_of(p.block);
  if (field == "key") return ", key " + name_of(p.key);
  if (field == "partition") {
    return p.partition == bcfg::kNoPartition ? std::string(", partition none")
                                              : fmt::format(", partition {}", p.partition);
  }
  if (field == "reserved") return ", reserved bytes";
  return {};
}

std::string mount_field_text(const bcfg::View& view, std::size_t i, std::string_view field) {
  const bcfg::Mount m = view.mount(i);
  if (field == "provider") return ", provider " + shown(view.provider(m.provider).name);
  if (field == "read_only") return fmt::format(", read_only {}", m.read_only);
  if (field == "reserved") return ", reserved bytes";
  return {};
}

}  // namespace

std::string describe_in_view(const bcfg::View& view, const BlobPlace& p) {
  if (p.region != Region::SECTION) return describe_raw(view.bytes(), p);
  switch (p.section) {
    case Section::PROFILE: return fmt::format("profile {}", shown(view.profile()));
    case Section::SERVICES:
      return fmt::format("service {}{}", shown(view.service(p.index).name),
                         service_field_text(view, p.index, p.field));
    case Section::AFTER:
    case Section::PEERS: {
      std::size_t owner = 0, position = 0;
      if (!edge_owner(view, p, owner, position)) return describe_raw(view.bytes(), p);
      const bcfg::IndexList list =
          p.section == Section::AFTER ? view.after(owner) : view.peers(owner);
      return fmt::format("service {}, {} entry {}", shown(view.service(owner).name),
                         section_word(p.section), shown(view.service(list[position]).name));
    }
    case Section::PROVIDERS:
      return fmt::format("provider {}{}", shown(view.provider(p.index).name),
                         provider_field_text(view, p.index, p.field));
    case Section::MOUNTS:
      return fmt::format("mount {}{}", shown(view.mount(p.index).path),
                         mount_field_text(view, p.index, p.field));
    case Section::STRINGS: break;
  }
  return describe_raw(view.bytes(), p);
}

SourcePos source_pos_of(const bcfg::View& view, const TomlConfig& config, const BlobPlace& p) {
  if (p.region != Region::SECTION) return SourcePos{};
  switch (p.section) {
    case Section::PROFILE: return config.profile_pos();
    case Section::SERVICES: {
      const ServiceRecord* r = config.find_service(view.service(p.index).name);
      if (r == nullptr) return SourcePos{};
      const std::string_view f = p.field;
      if (f == "name") return r->name_pos;
      if (f == "role") return r->role_pos;
      if (f == "image") return r->image_pos;
      if (f == "launch") return r->launch_pos;
      if (f == "after_first" || f == "after_count") return r->after_pos;
      if (f == "peers_first" || f == "peers_count") return r->peers_pos;
      return r->table;
    }
    case Section::AFTER:
    case Section::PEERS: {
      std::size_t owner = 0, position = 0;
      if (!edge_owner(view, p, owner, position)) return SourcePos{};
      const ServiceRecord* r = config.find_service(view.service(owner).name);
      if (r == nullptr) return SourcePos{};
      const bool after = p.section == Section::AFTER;
      const bcfg::IndexList list = after ? view.after(owner) : view.peers(owner);
      const std::string_view target = view.service(list[position]).name;
      const std::vector<std::string>& names = after ? r->after : r->peers;
      const std::vector<SourcePos>& pos = after ? r->after_entry_pos : r->peers_entry_pos;
      for (std::size_t k = 0; k < names.size(); ++k) {
        if (names[k] == target) return pos[k];
      }
      return after ? r->after_pos : r->peers_pos;
    }
    case Section::PROVIDERS: {
      const ProviderRecord* r = config.find_provider(view.provider(p.index).name);
      if (r == nullptr) return SourcePos{};
      const std::string_view f = p.field;
      if (f == "name") return r->name_pos;
      if (f == "service") return r->service_pos;
      if (f == "block") return r->block_pos;
      if (f == "key") return r->key_pos;
      if (f == "partition") return r->partition_pos;
      return r->table;
    }
    case Section::MOUNTS: {
      const MountRecord* r = config.find_mount(view.mount(p.index).path);
      if (r == nullptr) return SourcePos{};
      const std::string_view f = p.field;
      if (f == "path") return r->path_pos;
      if (f == "provider") return r->provider_pos;
      if (f == "read_only") return r->read_only_pos;
      return r->table;
    }
    case Section::STRINGS: break;
  }
  return SourcePos{};
}

}  // namespace bcfg_tool
