// The checking pipeline every verb of erix-bcfg shares.
//
// TOML input: front end -> bcfg writer -> bcfg::parse -> policy checks; every
// error is reported at a TOML line and column, including errors the later
// stages find in the compiled bytes (mapped back through the blob's row
// offsets). Binary input: bcfg::parse -> policy checks, reported at byte
// offsets.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.hpp"
#include "policy_check.hpp"
#include "rootd/bcfg.hpp"
#include "toml_frontend.hpp"

namespace bcfg_tool {

struct Outcome {
  bool from_toml = false;
  // TOML input the front end could compile: clean, or with bad after/peers
  // entries dropped (their diagnostics are then in source_diagnostics).
  std::optional<TomlConfig> config;
  std::vector<char> blob;            // the compiled or the given bytes
  std::vector<SourceDiagnostic> source_diagnostics;
  std::vector<BlobDiagnostic> blob_diagnostics;

  bool valid() const { return source_diagnostics.empty() && blob_diagnostics.empty(); }
  // The compiled blob's view; empty when the blob did not parse.
  rootd::bcfg::View view() const;
  // Every diagnostic as the line the tool prints, in report order.
  std::vector<std::string> format(std::string_view file) const;
};

// Appends findings about o.blob as diagnostics: at TOML positions for a
// TOML input, at blob offsets otherwise.
void add_findings(Outcome& o, std::vector<PolicyFinding> findings);

// True when the bytes are to be read as a blob: they start with the
// ERIXBCFG magic or contain a NUL byte (which no TOML text can).
bool looks_like_blob(std::string_view bytes);

// `policy` false skips the policy layer (structure only), for decode.
Outcome check_toml(std::string_view text, std::string_view file, bool policy = true);
Outcome check_blob(std::string_view bytes, bool policy = true);

}  // namespace bcfg_tool
