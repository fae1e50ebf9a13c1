// What a byte offset of an ERIXBCFG blob points at: header field, section
// table entry, a row and its field, an edge entry, the string table. Used to
// word binary diagnostics and to map an offset back to a TOML position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "diagnostics.hpp"
#include "rootd/bcfg.hpp"
#include "toml_frontend.hpp"

namespace bcfg_tool {

struct BlobPlace {
  enum class Region : std::uint8_t { HEADER, SECTION_TABLE, SECTION, PADDING, OUTSIDE };
  Region region = Region::OUTSIDE;
  rootd::bcfg::Section section = rootd::bcfg::Section::PROFILE;  // for SECTION
  std::size_t index = 0;         // section table entry, or row / entry / byte in the section
  std::size_t field_offset = 0;  // inside the header, table entry or row
  std::string_view field;        // the field's name; empty when none applies
};

// Works on any bytes: reads the section table only where it is in bounds and
// its tags are known, so it can word errors of blobs that failed parse().
BlobPlace place_offset(rootd::Bytes blob, std::uint64_t offset);

// "header field checksum", "service row 3 (role)", ... No names: the blob
// may be malformed.
std::string describe_raw(rootd::Bytes blob, const BlobPlace& place);

// With a valid View: names what the offset points at, e.g.
// `service "vfsd", after entry "logd"` or `mount "/", provider "data"`.
std::string describe_in_view(const rootd::bcfg::View& view, const BlobPlace& place);

// The TOML position of what `place` points at in the blob compiled from
// `config`; the service, provider or mount table (or the exact value where
// the field is known), 1:1 for the header.
SourcePos source_pos_of(const rootd::bcfg::View& view, const TomlConfig& config,
                        const BlobPlace& place);

// For an after/peers entry of a valid view: the owning service and the
// position in its list; false when `place` is not such an entry.
bool edge_owner(const rootd::bcfg::View& view, const BlobPlace& place, std::size_t& service,
                std::size_t& position);

}  // namespace bcfg_tool
