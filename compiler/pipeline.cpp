#include "pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "blob_map.hpp"
#include "rootd/owner.hpp"

namespace bcfg_tool {

namespace bcfg = rootd::bcfg;

namespace {

rootd::Bytes bytes_of(const std::vector<char>& v) { return rootd::Bytes(v.data(), v.size()); }

// A structural rejection, worded from the bytes alone.
std::string structure_message(rootd::Bytes blob, rootd::Error e) {
  using rootd::Reason;
  switch (e.reason) {
    case Reason::BCFG_TRUNCATED_HEADER:
      return fmt::format("the blob is {} bytes, shorter than its {}-byte header", blob.size(),
                         bcfg::kHeaderSize);
    case Reason::BCFG_BAD_MAGIC:
      if (e.offset == 0) return "not an ERIXBCFG blob (it does not start with \"ERIXBCFG\")";
      return fmt::format("the magic \"ERIXBCFG\" is damaged at byte {}", e.offset);
    case Reason::BCFG_UNSUPPORTED_VERSION:
      return fmt::format("format version {}; this tool reads version {}",
                         rootd::load_le16(blob, bcfg::kHeaderVersionOffset), bcfg::kVersion);
    case Reason::BCFG_TOTAL_SIZE_MISMATCH:
      return fmt::format("header total_size is {} but the blob is {} bytes",
                         rootd::load_le32(blob, bcfg::kHeaderTotalSizeOffset), blob.size());
    case Reason::BCFG_CHECKSUM_MISMATCH:
      return fmt::format("header checksum is {:#010x} but the bytes give {:#010x}",
                         rootd::load_le32(blob, bcfg::kHeaderChecksumOffset), bcfg::checksum(blob));
    default: break;
  }
  return "malformed blob at " + describe_raw(blob, place_offset(blob, e.offset));
}

void sort_by_position(std::vector<SourceDiagnostic>& d) {
  std::stable_sort(d.begin(), d.end(),
                   [](const SourceDiagnostic& a, const SourceDiagnostic& b) { return a.pos < b.pos; });
}

}  // namespace

void add_findings(Outcome& o, std::vector<PolicyFinding> findings) {
  const bcfg::View view = o.view();
  for (PolicyFinding& f : findings) {
    if (o.config) {
      // The front end dropped an entry of this service's peers: a verdict on
      // its whole peer set judges a list nobody wrote.
      if (f.error.reason == rootd::Reason::PEER_EXACT_SET_INCOMPLETE) {
        const std::uint16_t owner = rootd::owner_of(view, f.error);
        const ServiceRecord* r =
            owner == bcfg::kNoIndex ? nullptr : o.config->find_service(view.service(owner).name);
        if (r != nullptr && r->peers_dropped) continue;
      }
      o.source_diagnostics.push_back({source_pos_of(view, *o.config, f.place), f.error.reason,
                                      std::move(f.message), std::move(f.hint)});
    } else {
      o.blob_diagnostics.push_back(
          {f.error.offset, f.error.reason, std::move(f.message), std::move(f.hint)});
    }
  }
  sort_by_position(o.source_diagnostics);
}

bool looks_like_blob(std::string_view bytes) {
  const std::string_view magic(bcfg::kMagic, sizeof(bcfg::kMagic));
  // No TOML document contains a NUL byte, and every blob does (its version
  // field's high byte): a file with one is judged as a blob, so a blob with
  // a damaged magic still gets binary diagnostics.
  return bytes.starts_with(magic) || bytes.find('\0') != std::string_view::npos;
}

bcfg::View Outcome::view() const {
  const rootd::Result<bcfg::View> v = bcfg::parse(bytes_of(blob));
  return v.ok() ? *v : bcfg::View{};
}

std::vector<std::string> Outcome::format(std::string_view file) const {
  std::vector<std::string> lines;
  for (const SourceDiagnostic& d : source_diagnostics) lines.push_back(format_diagnostic(file, d));
  for (const BlobDiagnostic& d : blob_diagnostics) lines.push_back(format_diagnostic(file, d));
  return lines;
}

Outcome check_toml(std::string_view text, std::string_view file, bool policy) {
  Outcome o;
  o.from_toml = true;
  FrontendResult front = parse_toml(text, file);
  o.source_diagnostics = std::move(front.diagnostics);
  if (!front.config && !front.recovered) return o;
  std::optional<TomlConfig>& usable = front.config ? front.config : front.recovered;
  const TomlConfig& config = *usable;

  // The front end checks everything the writer refuses; a refusal here means
  // the two disagree, which is a bug worth reporting as such.
  const rootd::Result<std::size_t> size = bcfg::encoded_size(config.desc());
  if (size.ok()) {
    o.blob.resize(*size);
    const rootd::Result<std::size_t> written =
        bcfg::write(config.desc(), rootd::MutableBytes(o.blob.data(), o.blob.size()));
    if (!written.ok()) {
      o.source_diagnostics.push_back(
          {SourcePos{}, written.error().reason, "internal: the bcfg writer refused a checked config"});
      return o;
    }
  } else {
    o.source_diagnostics.push_back(
        {SourcePos{}, size.error().reason,
         fmt::format("internal: the bcfg writer refused a checked config (row {})",
                     size.error().offset)});
    return o;
  }
  const rootd::Result<bcfg::View> view = bcfg::parse(bytes_of(o.blob));
  if (!view.ok()) {
    o.source_diagnostics.push_back(
        {SourcePos{}, view.error().reason,
         "internal: bcfg::parse rejects the writer's output at " +
             describe_raw(bytes_of(o.blob), place_offset(bytes_of(o.blob), view.error().offset))});
    return o;
  }
  o.config = std::move(usable);
  if (policy) add_findings(o, check_policy(*view));
  return o;
}

Outcome check_blob(std::string_view bytes, bool policy) {
  Outcome o;
  o.blob.assign(bytes.begin(), bytes.end());
  const rootd::Bytes blob = bytes_of(o.blob);
  const rootd::Result<bcfg::View> view = bcfg::parse(blob);
  if (!view.ok()) {
    o.blob_diagnostics.push_back(
        {view.error().offset, view.error().reason, structure_message(blob, view.error())});
    return o;
  }
  if (policy) add_findings(o, check_policy(*view));
  return o;
}

}  // namespace bcfg_tool
