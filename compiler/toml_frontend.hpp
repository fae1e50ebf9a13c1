// The TOML front end of erix-bcfg: reads a version 1 boot-config source
// (schema: docs/erix-bcfg.md) into a bcfg::ConfigDesc that the bcfg writer
// encodes.
//
// The front end owns every string and list the description points into, and
// remembers where each table, key value and list element sits in the source,
// so that errors found later in the compiled blob (by bcfg::parse or the
// policy layer) can still be reported at a TOML line and column.
//
// It checks everything the writer would refuse (names, references,
// duplicates, limits) itself, so that it can report every error with its
// position instead of stopping at the writer's first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"

namespace bcfg_tool {

// What one table of the source says, and where. The position of a key the
// source omitted is its table's position.
struct ServiceRecord {
  std::string name, role, image;
  rootd::bcfg::Launch launch = rootd::bcfg::Launch::ROOTD;
  std::vector<std::string> after, peers;

  SourcePos table;  // the [[service]] header
  SourcePos name_pos, role_pos, image_pos, launch_pos, after_pos, peers_pos;
  std::vector<SourcePos> after_entry_pos, peers_entry_pos;  // parallel to after / peers
  // An entry of peers was dropped (it named no declared service, or one
  // already listed): the policy layer's judgement of the whole peer set is
  // then about a list the author did not write, and is left out.
  bool peers_dropped = false;
};

struct ProviderRecord {
  std::string name, service, block, key;  // block / key empty = none
  std::uint32_t partition = rootd::bcfg::kNoPartition;
  // Whether the key was written as a string: `block = ""` names a service
  // called "", which is a reference to check, not an absent key.
  bool service_given = false, block_given = false, key_given = false;

  SourcePos table;
  SourcePos name_pos, service_pos, block_pos, partition_pos, key_pos;
};

struct MountRecord {
  std::string path, provider;
  bool read_only = false;
  bool provider_given = false;  // as ProviderRecord's *_given

  SourcePos table;
  SourcePos path_pos, provider_pos, read_only_pos;
};

// A source that passed every front-end check. Records keep declaration
// order; desc() points into them (the writer imposes canonical order).
class TomlConfig {
 public:
  TomlConfig(TomlConfig&&) noexcept;
  TomlConfig& operator=(TomlConfig&&) noexcept;
  TomlConfig(const TomlConfig&) = delete;
  TomlConfig& operator=(const TomlConfig&) = delete;
  ~TomlConfig();

  const rootd::bcfg::ConfigDesc& desc() const;
  SourcePos version_pos() const;
  SourcePos profile_pos() const;
  std::span<const ServiceRecord> services() const;
  std::span<const ProviderRecord> providers() const;
  std::span<const MountRecord> mounts() const;

  const ServiceRecord* find_service(std::string_view name) const;
  const ProviderRecord* find_provider(std::string_view name) const;
  const MountRecord* find_mount(std::string_view path) const;

  struct Storage;
  explicit TomlConfig(std::unique_ptr<Storage> storage);

 private:
  // Behind a pointer so that moving a TomlConfig never moves the strings
  // and lists that desc() refers to.
  std::unique_ptr<Storage> s_;
};

struct FrontendResult {
  std::optional<TomlConfig> config;            // set exactly when diagnostics is empty
  std::vector<SourceDiagnostic> diagnostics;  // in source order
  // Set when every diagnostic is about an `after` or `peers` entry that
  // names no declared service or repeats one: the config with those entries
  // dropped, so that the later stages (blob, policy, ordering) can still
  // judge the rest in the same run. Never set together with `config`.
  std::optional<TomlConfig> recovered;
};

// `source_name` only labels toml++'s own error records.
FrontendResult parse_toml(std::string_view text, std::string_view source_name);

}  // namespace bcfg_tool
