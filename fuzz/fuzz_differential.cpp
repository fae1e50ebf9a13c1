// libFuzzer target: differential checks between the ways a boot config can
// be read, decoded and judged.
//
// For every blob bcfg::parse accepts:
// - bcfg::decode then bcfg::write reproduces the blob byte for byte;
// - erix-bcfg's decode-to-TOML text passes the TOML front end and compiles
//   back to the same bytes;
// - the constexpr verdict (config_verdict: parse, validate_config,
//   plan_order) computed at run time agrees with the erix-bcfg pipeline on
//   the blob (its vector-based error collection: the same errors in the
//   same order, and valid envelopes for a config both accept), and with a
//   second call on a copy of the bytes at another address;
// - checking the decoded TOML reports the same reasons as checking the blob.
// For every blob it rejects, the pipeline rejects it with the same error.
// On start-up, and whenever the input is one of them, the fixed corpus
// entries' run-time verdicts must equal the ones static_assert pinned
// during constant evaluation (config_corpus.hpp).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "config_corpus.hpp"
#include "config_verdict.hpp"
#include "decode.hpp"
#include "fuzz_support.hpp"
#include "pipeline.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/bcfg_decode.hpp"
#include "rootd/bcfg_writer.hpp"
#include "toml_frontend.hpp"

namespace {

namespace bc = rootd::bcfg;
using rootd_fuzz::require;
using rootd_fuzz::require_same_error;
using rootd_fuzz::require_same_diagnostic;

bool same_bytes(rootd::Bytes a, rootd::Bytes b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

void check_decode_round_trip(const bc::View& view) {
  std::vector<bc::ServiceDesc> services(view.service_count());
  std::vector<bc::ProviderDesc> providers(view.provider_count());
  std::vector<bc::MountDesc> mounts(view.mount_count());
  std::vector<std::string_view> after(view.after_edge_count());
  std::vector<std::string_view> peers(view.peer_edge_count());
  const bc::DecodeStorage storage{services, providers, mounts, after, peers};
  const rootd::Result<bc::ConfigDesc> desc = bc::decode(view, storage);
  if (!desc) require_same_error(desc.error(), rootd::Error{}, "decode with exact storage");
  std::vector<char> again(view.bytes().size());
  const rootd::Result<std::size_t> written = bc::write(*desc, rootd::MutableBytes(again));
  if (!written) require_same_error(written.error(), rootd::Error{}, "write of a decoded view");
  require(*written == again.size() && same_bytes(rootd_fuzz::bytes_of(again), view.bytes()),
          "write(decode(b)) == b");
}

// The TOML text, after checking that it compiles back to the blob.
std::string check_toml_round_trip(const bc::View& view) {
  std::string text = bcfg_tool::decode_to_toml(view);
  const bcfg_tool::FrontendResult front = bcfg_tool::parse_toml(text, "decoded.toml");
  if (!front.config.has_value()) {
    for (const auto& d : front.diagnostics) {
      std::fprintf(stderr, "  %u:%u %s\n", d.pos.line, d.pos.column, d.message.c_str());
    }
    std::fprintf(stderr, "--- decoded TOML ---\n%s\n", text.c_str());
    rootd_fuzz::fuzz_failure("the front end accepts decoded TOML");
  }
  const rootd::Result<std::size_t> size = bc::encoded_size(front.config->desc());
  if (!size) require_same_error(size.error(), rootd::Error{}, "decoded TOML compiles");
  std::vector<char> blob(*size);
  require(bc::write(front.config->desc(), rootd::MutableBytes(blob)).ok(), "decoded TOML writes");
  require(same_bytes(rootd_fuzz::bytes_of(blob), view.bytes()), "compile(decode_to_toml(b)) == b");
  return text;
}

// The pipeline's blob diagnostics are validate_config's errors, then
// plan_order's, then (only when both found nothing) the envelope checks'.
void check_against_pipeline(rootd::Bytes blob, const rootd_fuzz::ConfigVerdict& v) {
  const bcfg_tool::Outcome o =
      bcfg_tool::check_blob(std::string_view(blob.data(), blob.size()), true);
  const auto& ds = o.blob_diagnostics;
  require(o.source_diagnostics.empty(), "a blob has no source diagnostics");
  if (v.parse_error.reason != rootd::Reason::NONE) {
    require(ds.size() == 1 && !ds[0].code.is_tool(), "a structural rejection is one diagnostic");
    require_same_diagnostic(rootd::Error{ds[0].code.reason(), static_cast<std::uint32_t>(ds[0].offset)},
                       v.parse_error, "pipeline and parse reject with the same error");
    return;
  }
  require(ds.size() >= v.config_errors + v.plan_errors, "the pipeline reports every error");
  const auto error_at = [&](std::size_t k) {
    require(!ds[k].code.is_tool(), "blob diagnostics carry rootd reasons");
    return rootd::Error{ds[k].code.reason(), static_cast<std::uint32_t>(ds[k].offset)};
  };
  if (v.config_errors != 0) {
    require_same_diagnostic(error_at(0), v.first_config_error, "first validate_config error");
  }
  if (v.plan_errors != 0) {
    require_same_diagnostic(error_at(v.config_errors), v.first_plan_error, "first plan_order error");
  }
  const std::size_t policy = v.config_errors + v.plan_errors;
  if (policy != 0) {
    require(ds.size() == policy, "no envelope checks on a rejected config");
    return;
  }
  // Envelopes are synthesized from what the config rules allow; one that
  // the envelope checks then reject means the two layers disagree.
  for (std::size_t k = 0; k < ds.size(); ++k) {
    std::fprintf(stderr, "  envelope check: %s at 0x%x\n",
                 std::string(rootd::reason_name(error_at(k).reason)).c_str(), error_at(k).offset);
  }
  require(ds.empty(), "a config validate_config and plan_order accept gets valid envelopes");
}

std::vector<std::string> sorted_codes(const bcfg_tool::Outcome& o) {
  std::vector<std::string> codes;
  for (const auto& d : o.source_diagnostics) codes.emplace_back(d.code.name());
  for (const auto& d : o.blob_diagnostics) codes.emplace_back(d.code.name());
  std::sort(codes.begin(), codes.end());
  return codes;
}

void check_toml_and_blob_agree(rootd::Bytes blob, const std::string& text) {
  const bcfg_tool::Outcome from_blob =
      bcfg_tool::check_blob(std::string_view(blob.data(), blob.size()), true);
  const bcfg_tool::Outcome from_toml = bcfg_tool::check_toml(text, "decoded.toml", true);
  require(from_blob.valid() == from_toml.valid(), "TOML and blob checks reach the same verdict");
  require(sorted_codes(from_blob) == sorted_codes(from_toml), "TOML and blob checks report the same reasons");
}

void check_constexpr_entries(rootd::Bytes input) {
  for (const auto& entry : rootd_fuzz::corpus::kEntries) {
    if (!input.empty() && !same_bytes(input, entry.bytes)) continue;
    const rootd_fuzz::ConfigVerdict at_run_time = rootd_fuzz::config_verdict(entry.bytes);
    require(at_run_time == entry.verdict, "run-time verdict equals the compile-time verdict");
  }
}

void check(rootd::Bytes blob) {
  const rootd_fuzz::ConfigVerdict verdict = rootd_fuzz::config_verdict(blob);
  const std::vector<char> copy(blob.begin(), blob.end());
  require(rootd_fuzz::config_verdict(rootd_fuzz::bytes_of(copy)) == verdict,
          "the verdict does not depend on where the bytes are");
  check_against_pipeline(blob, verdict);
  const rootd::Result<bc::View> parsed = bc::parse(blob);
  require(parsed.ok() == (verdict.parse_error.reason == rootd::Reason::NONE), "parse is deterministic");
  if (!parsed) return;
  check_decode_round_trip(*parsed);
  const std::string text = check_toml_round_trip(*parsed);
  check_toml_and_blob_agree(blob, text);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  check_constexpr_entries(rootd::Bytes{});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const rootd::Bytes input = rootd_fuzz::bytes_of(data, size);
  check(input);
  const std::vector<char> resealed = rootd_fuzz::resealed_bcfg(input);
  if (!resealed.empty()) check(rootd_fuzz::bytes_of(resealed));
  if (size != 0) check_constexpr_entries(input);
  return 0;
}
