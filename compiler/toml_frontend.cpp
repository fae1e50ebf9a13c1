#include "toml_frontend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <toml++/toml.h>
#include <utility>

#include "suggest.hpp"

namespace bcfg_tool {

namespace bcfg = rootd::bcfg;

struct TomlConfig::Storage {
  std::string profile = "none";
  SourcePos version_pos, profile_pos;
  std::vector<ServiceRecord> services;
  std::vector<ProviderRecord> providers;
  std::vector<MountRecord> mounts;

  // What desc points into. Filled once all records are final.
  std::vector<std::vector<std::string_view>> after_views, peers_views;
  std::vector<bcfg::ServiceDesc> service_descs;
  std::vector<bcfg::ProviderDesc> provider_descs;
  std::vector<bcfg::MountDesc> mount_descs;
  bcfg::ConfigDesc desc;

  void build_desc();
};

void TomlConfig::Storage::build_desc() {
  after_views.resize(services.size());
  peers_views.resize(services.size());
  service_descs.clear();
  for (std::size_t i = 0; i < services.size(); ++i) {
    const ServiceRecord& s = services[i];
    after_views[i].assign(s.after.begin(), s.after.end());
    peers_views[i].assign(s.peers.begin(), s.peers.end());
    bcfg::ServiceDesc d{};
    d.name = s.name;
    d.role = s.role;
    d.image = s.image;
    d.launch = s.launch;
    d.after = after_views[i];
    d.peers = peers_views[i];
    service_descs.push_back(d);
  }
  provider_descs.clear();
  for (const ProviderRecord& p : providers) {
    bcfg::ProviderDesc d{};
    d.name = p.name;
    d.service = p.service;
    d.block = p.block;
    d.key = p.key;
    d.partition = p.partition;
    provider_descs.push_back(d);
  }
  mount_descs.clear();
  for (const MountRecord& m : mounts) {
    bcfg::MountDesc d{};
    d.path = m.path;
    d.provider = m.provider;
    d.read_only = m.read_only;
    mount_descs.push_back(d);
  }
  desc = bcfg::ConfigDesc{};
  desc.profile = profile;
  desc.services = service_descs;
  desc.providers = provider_descs;
  desc.mounts = mount_descs;
}

TomlConfig::TomlConfig(std::unique_ptr<Storage> storage) : s_(std::move(storage)) {}
TomlConfig::TomlConfig(TomlConfig&&) noexcept = default;
TomlConfig& TomlConfig::operator=(TomlConfig&&) noexcept = default;
TomlConfig::~TomlConfig() = default;

const bcfg::ConfigDesc& TomlConfig::desc() const { return s_->desc; }
SourcePos TomlConfig::version_pos() const { return s_->version_pos; }
SourcePos TomlConfig::profile_pos() const { return s_->profile_pos; }
std::span<const ServiceRecord> TomlConfig::services() const { return s_->services; }
std::span<const ProviderRecord> TomlConfig::providers() const { return s_->providers; }
std::span<const MountRecord> TomlConfig::mounts() const { return s_->mounts; }

const ServiceRecord* TomlConfig::find_service(std::string_view name) const {
  for (const ServiceRecord& s : s_->services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}
const ProviderRecord* TomlConfig::find_provider(std::string_view name) const {
  for (const ProviderRecord& p : s_->providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}
const MountRecord* TomlConfig::find_mount(std::string_view path) const {
  for (const MountRecord& m : s_->mounts) {
    if (m.path == path) return &m;
  }
  return nullptr;
}

namespace {

SourcePos pos_of(const toml::source_region& r) {
  // toml++ leaves a region zeroed for nodes it synthesised; never print 0.
  return SourcePos{std::max<std::uint32_t>(r.begin.line, 1), std::max<std::uint32_t>(r.begin.column, 1)};
}

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// Bytes of a string as TOML would quote it in a message: printable ASCII
// as is, anything else escaped, so that a diagnostic is always one line.
// toml++'s error text quotes the offending source verbatim, control bytes
// included: escaped, a diagnostic stays one line.
std::string escape_controls(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

std::string quote_all(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// Long names are cut (elide) and their length said.
std::string quoted(std::string_view s) {
  if (s.size() <= kMaxShownName) return quote_all(s);
  return fmt::format("{} ({} bytes)", quote_all(elide(s)), s.size());
}

std::vector<std::string_view> split_list(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    const std::size_t comma = list.find(", ");
    out.push_back(list.substr(0, comma));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 2);
  }
  return out;
}

std::string at(SourcePos p) { return fmt::format("{}:{}", p.line, p.column); }

class Reader {
 public:
  std::vector<SourceDiagnostic> diagnostics;
  std::size_t fatal = 0;  // diagnostics after which no config can be built

  void error(SourcePos pos, Code code, std::string message, std::string hint = {}) {
    diagnostics.push_back(SourceDiagnostic{pos, code, std::move(message), std::move(hint)});
    ++fatal;
  }
  // An error whose entry can be dropped, leaving a config the later stages
  // can still judge.
  void droppable(SourcePos pos, Code code, std::string message, std::string hint = {}) {
    diagnostics.push_back(SourceDiagnostic{pos, code, std::move(message), std::move(hint)});
  }

  bool expect_type(const toml::node& v, toml::node_type want, std::string_view what) {
    if (v.type() == want) return true;
    error(pos_of(v.source()), ToolCode::TOML_WRONG_TYPE,
          fmt::format("{} must be {}, not {}", what, type_name(want), type_name(v.type())));
    return false;
  }

  bool read_string(const toml::node& v, std::string_view what, std::string& out, SourcePos& pos) {
    pos = pos_of(v.source());
    if (!expect_type(v, toml::node_type::string, what)) return false;
    out = v.as_string()->get();
    return true;
  }

  // A list of service names; `entry_pos` parallel to `out`.
  bool read_name_list(const toml::node& v, std::string_view what, std::vector<std::string>& out,
                      SourcePos& pos, std::vector<SourcePos>& entry_pos) {
    pos = pos_of(v.source());
    if (!expect_type(v, toml::node_type::array, what)) return false;
    bool ok = true;
    for (const toml::node& e : *v.as_array()) {
      const std::string entry_what = fmt::format("each entry of {}", what);
      if (!expect_type(e, toml::node_type::string, entry_what)) {
        ok = false;
        continue;
      }
      out.push_back(e.as_string()->get());
      entry_pos.push_back(pos_of(e.source()));
    }
    return ok;
  }

  // `where` reads "in [[service]]", "at the top level", ...
  void unknown_key(const toml::key& k, std::string_view where, std::string_view allowed) {
    error(pos_of(k.source()), ToolCode::TOML_UNKNOWN_KEY,
          fmt::format("unknown key {} {} (allowed: {})", quoted(k.str()), where, allowed),
          did_you_mean(k.str(), split_list(allowed)));
  }

  void missing_key(SourcePos table_pos, std::string_view table, std::string_view key) {
    error(table_pos, ToolCode::TOML_MISSING_KEY, fmt::format("{} has no {}", table, key));
  }

  void check_name(std::string_view name, SourcePos pos, std::string_view what, rootd::Reason reason) {
    if (bcfg::name_is_well_formed(name)) return;
    error(pos, reason,
          fmt::format("{} {} is not 1..{} characters of [a-z0-9-]", what, quoted(name),
                      bcfg::kMaxNameLength));
  }

  void check_path(std::string_view path, SourcePos pos) {
    if (bcfg::path_is_well_formed(path)) return;
    const std::string what = path.size() > bcfg::kMaxPathLength
                                 ? fmt::format("is {} bytes long", path.size())
                                 : fmt::format("{}", quoted(path));
    error(pos, rootd::Reason::BCFG_MOUNT_PATH_INVALID,
          fmt::format("mount.path {}; a path is 1..{} graphic ASCII characters (no spaces)", what,
                      bcfg::kMaxPathLength));
  }

  void read_service(const toml::table& t, ServiceRecord& s) {
    s.table = pos_of(t.source());
    s.name_pos = s.role_pos = s.image_pos = s.launch_pos = s.after_pos = s.peers_pos = s.table;
    bool has_name = false, has_role = false, has_image = false;
    for (auto&& [k, v] : t) {
      const std::string_view key = k.str();
      if (key == "name") {
        has_name = true;
        if (read_string(v, "service.name", s.name, s.name_pos)) check_name(s.name, s.name_pos, "service name", rootd::Reason::BCFG_SERVICE_NAME_INVALID);
      } else if (key == "role") {
        has_role = true;
        if (read_string(v, "service.role", s.role, s.role_pos)) check_name(s.role, s.role_pos, "role name", rootd::Reason::BCFG_SERVICE_ROLE_INVALID);
      } else if (key == "image") {
        has_image = true;
        if (read_string(v, "service.image", s.image, s.image_pos)) check_name(s.image, s.image_pos, "image name", rootd::Reason::BCFG_SERVICE_IMAGE_INVALID);
      } else if (key == "launch") {
        std::string launch;
        if (read_string(v, "service.launch", launch, s.launch_pos)) {
          if (launch == "rootd") {
            s.launch = bcfg::Launch::ROOTD;
          } else if (launch == "deviced") {
            s.launch = bcfg::Launch::DEVICED;
          } else {
            error(s.launch_pos, ToolCode::TOML_UNKNOWN_VALUE,
                  fmt::format("service.launch is {}; it must be \"rootd\" or \"deviced\"",
                              quoted(launch)),
                  did_you_mean(launch, {"rootd", "deviced"}));
          }
        }
      } else if (key == "after") {
        read_name_list(v, "service.after", s.after, s.after_pos, s.after_entry_pos);
      } else if (key == "peers") {
        read_name_list(v, "service.peers", s.peers, s.peers_pos, s.peers_entry_pos);
      } else {
        unknown_key(k, "in [[service]]", "name, role, image, launch, after, peers");
      }
    }
    if (!has_name) missing_key(s.table, "[[service]]", "name");
    if (!has_role) missing_key(s.table, "[[service]]", "role");
    if (!has_image) s.image = s.name;  // the schema's default
  }

  void read_provider(const toml::table& t, ProviderRecord& p) {
    p.table = pos_of(t.source());
    p.name_pos = p.service_pos = p.block_pos = p.partition_pos = p.key_pos = p.table;
    bool has_name = false, has_service = false;
    for (auto&& [k, v] : t) {
      const std::string_view key = k.str();
      if (key == "name") {
        has_name = true;
        if (read_string(v, "provider.name", p.name, p.name_pos)) check_name(p.name, p.name_pos, "provider name", rootd::Reason::BCFG_PROVIDER_NAME_INVALID);
      } else if (key == "service") {
        has_service = true;
        p.service_given = read_string(v, "provider.service", p.service, p.service_pos);
      } else if (key == "block") {
        p.block_given = read_string(v, "provider.block", p.block, p.block_pos);
      } else if (key == "key") {
        p.key_given = read_string(v, "provider.key", p.key, p.key_pos);
      } else if (key == "partition") {
        p.partition_pos = pos_of(v.source());
        if (expect_type(v, toml::node_type::integer, "provider.partition")) {
          const std::int64_t n = v.as_integer()->get();
          if (n < 0 || n >= static_cast<std::int64_t>(bcfg::kNoPartition)) {
            error(p.partition_pos, ToolCode::TOML_OUT_OF_RANGE,
                  fmt::format("provider.partition is {}; it must be 0..{}", n,
                              bcfg::kNoPartition - 1));
          } else {
            p.partition = static_cast<std::uint32_t>(n);
          }
        }
      } else {
        unknown_key(k, "in [[provider]]", "name, service, block, partition, key");
      }
    }
    if (!has_name) missing_key(p.table, "[[provider]]", "name");
    if (!has_service) missing_key(p.table, "[[provider]]", "service");
  }

  void read_mount(const toml::table& t, MountRecord& m) {
    m.table = pos_of(t.source());
    m.path_pos = m.provider_pos = m.read_only_pos = m.table;
    bool has_path = false, has_provider = false;
    for (auto&& [k, v] : t) {
      const std::string_view key = k.str();
      if (key == "path") {
        has_path = true;
        if (read_string(v, "mount.path", m.path, m.path_pos)) check_path(m.path, m.path_pos);
      } else if (key == "provider") {
        has_provider = true;
        m.provider_given = read_string(v, "mount.provider", m.provider, m.provider_pos);
      } else if (key == "read_only") {
        m.read_only_pos = pos_of(v.source());
        if (expect_type(v, toml::node_type::boolean, "mount.read_only")) {
          m.read_only = v.as_boolean()->get();
        }
      } else {
        unknown_key(k, "in [[mount]]", "path, provider, read_only");
      }
    }
    if (!has_path) missing_key(m.table, "[[mount]]", "path");
    if (!has_provider) missing_key(m.table, "[[mount]]", "provider");
  }

  // `[[name]]` sections: an array whose every element is a table.
  template <class Record, class ReadFn>
  void read_array_of_tables(const toml::node& v, std::string_view name, std::size_t limit,
                            rootd::Reason over_limit, std::vector<Record>& out, ReadFn read) {
    const std::string what = fmt::format("{} (written [[{}]])", name, name);
    if (!expect_type(v, toml::node_type::array, what)) return;
    for (const toml::node& e : *v.as_array()) {
      if (!expect_type(e, toml::node_type::table, fmt::format("each {} entry", name))) continue;
      Record r;
      (this->*read)(*e.as_table(), r);
      out.push_back(std::move(r));
      if (out.size() == limit + 1) {
        error(out.back().table, over_limit,
              fmt::format("more than {} [[{}]] tables", limit, name));
      }
    }
  }

  // Every check that needs the whole file: uniqueness, references, totals.
  void check_cross_references(TomlConfig::Storage& s) {
    std::map<std::string_view, SourcePos> services;
    std::vector<std::string_view> service_names;
    for (const ServiceRecord& r : s.services) {
      if (r.name.empty()) continue;
      auto [it, fresh] = services.emplace(r.name, r.name_pos);
      if (fresh) service_names.push_back(r.name);
      if (!fresh) {
        error(r.name_pos, ToolCode::TOML_DUPLICATE_NAME,
              fmt::format("service {} is already declared at {}", quoted(r.name), at(it->second)));
      }
    }
    std::map<std::string_view, SourcePos> providers;
    std::vector<std::string_view> provider_names;
    for (const ProviderRecord& r : s.providers) {
      if (r.name.empty()) continue;
      auto [it, fresh] = providers.emplace(r.name, r.name_pos);
      if (fresh) provider_names.push_back(r.name);
      if (!fresh) {
        error(r.name_pos, ToolCode::TOML_DUPLICATE_NAME,
              fmt::format("provider {} is already declared at {}", quoted(r.name), at(it->second)));
      }
    }

    auto unknown_service = [&](const std::string& name, std::string_view what) {
      return fmt::format("{} names service {}, which is not declared", what, quoted(name));
    };
    auto check_ref = [&](const std::string& name, SourcePos pos, std::string_view what) {
      if (services.count(name) == 0) {
        error(pos, ToolCode::TOML_UNKNOWN_REFERENCE, unknown_service(name, what),
              did_you_mean(name, service_names));
      }
    };
    std::size_t after_total = 0, peers_total = 0;
    // Entries that name no declared service, or one already listed, are
    // dropped (droppable errors); `keep` says which stay.
    auto check_list = [&](const std::vector<std::string>& list, const std::vector<SourcePos>& pos,
                          std::string_view what, std::size_t& total, std::size_t limit,
                          rootd::Reason over_limit, std::vector<bool>& keep) {
      std::map<std::string_view, SourcePos> seen;
      keep.assign(list.size(), true);
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (services.count(list[i]) == 0) {
          droppable(pos[i], ToolCode::TOML_UNKNOWN_REFERENCE, unknown_service(list[i], what),
                    did_you_mean(list[i], service_names));
          keep[i] = false;
        }
        auto [it, fresh] = seen.emplace(list[i], pos[i]);
        if (!fresh) {
          droppable(pos[i], ToolCode::TOML_DUPLICATE_REFERENCE,
                    fmt::format("{} names {} twice (first at {})", what, quoted(list[i]),
                                at(it->second)));
          keep[i] = false;
        }
        if (++total == limit + 1) {
          error(pos[i], over_limit,
                fmt::format("more than {} {} entries in the whole config", limit, what));
        }
      }
    };
    auto drop = [](std::vector<std::string>& list, std::vector<SourcePos>& pos,
                   const std::vector<bool>& keep) {
      std::size_t out = 0;
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (!keep[i]) continue;
        if (out != i) {  // a self-move would empty the string
          list[out] = std::move(list[i]);
          pos[out] = pos[i];
        }
        ++out;
      }
      const bool dropped = out != list.size();
      list.resize(out);
      pos.resize(out);
      return dropped;
    };
    std::vector<std::vector<bool>> keep_after(s.services.size()), keep_peers(s.services.size());
    for (std::size_t k = 0; k < s.services.size(); ++k) {
      const ServiceRecord& r = s.services[k];
      check_list(r.after, r.after_entry_pos, "service.after", after_total, bcfg::kMaxAfterEdges,
                 rootd::Reason::BCFG_TOO_MANY_AFTER_EDGES, keep_after[k]);
      check_list(r.peers, r.peers_entry_pos, "service.peers", peers_total, bcfg::kMaxPeerEdges,
                 rootd::Reason::BCFG_TOO_MANY_PEER_EDGES, keep_peers[k]);
    }
    for (const ProviderRecord& r : s.providers) {
      if (r.service_given) check_ref(r.service, r.service_pos, "provider.service");
      if (r.block_given) check_ref(r.block, r.block_pos, "provider.block");
      if (r.key_given) check_ref(r.key, r.key_pos, "provider.key");
    }

    std::map<std::string_view, SourcePos> paths;
    for (const MountRecord& r : s.mounts) {
      if (r.provider_given && providers.count(r.provider) == 0) {
        error(r.provider_pos, ToolCode::TOML_UNKNOWN_REFERENCE,
              fmt::format("mount.provider names provider {}, which is not declared",
                          quoted(r.provider)),
              did_you_mean(r.provider, provider_names));
      }
      if (r.path.empty()) continue;
      auto [it, fresh] = paths.emplace(r.path, r.path_pos);
      if (!fresh) {
        error(r.path_pos, ToolCode::TOML_DUPLICATE_PATH,
              fmt::format("path {} is already mounted at {}", quoted(r.path), at(it->second)));
      }
    }
    // Only after every check: the maps above view the names being moved.
    services.clear();
    for (std::size_t k = 0; k < s.services.size(); ++k) {
      ServiceRecord& r = s.services[k];
      drop(r.after, r.after_entry_pos, keep_after[k]);
      r.peers_dropped = drop(r.peers, r.peers_entry_pos, keep_peers[k]);
    }
  }

  void read_root(const toml::table& root, TomlConfig::Storage& s) {
    const SourcePos root_pos = pos_of(root.source());
    s.version_pos = s.profile_pos = root_pos;
    // Reported first: without a version nothing else in the file is meaningful.
    if (!root.contains("version")) missing_key(root_pos, "the file", "version (version = 1)");
    for (auto&& [k, v] : root) {
      const std::string_view key = k.str();
      if (key == "version") {
        s.version_pos = pos_of(v.source());
        if (expect_type(v, toml::node_type::integer, "version")) {
          const std::int64_t n = v.as_integer()->get();
          if (n != 1) {
            error(s.version_pos, ToolCode::TOML_OUT_OF_RANGE,
                  fmt::format("version is {}; this tool reads version 1 only", n));
          }
        }
      } else if (key == "profile") {
        if (read_string(v, "profile", s.profile, s.profile_pos)) {
          if (!bcfg::profile_is_well_formed(s.profile)) {
            error(s.profile_pos, rootd::Reason::BCFG_PROFILE_INVALID,
                  fmt::format("profile {} is not 1..{} characters of [a-z0-9-]", quoted(s.profile),
                              bcfg::kMaxProfileLength));
          }
        }
      } else if (key == "service") {
        read_array_of_tables(v, "service", bcfg::kMaxServices, rootd::Reason::BCFG_TOO_MANY_SERVICES, s.services,
                             &Reader::read_service);
      } else if (key == "provider") {
        read_array_of_tables(v, "provider", bcfg::kMaxProviders, rootd::Reason::BCFG_TOO_MANY_PROVIDERS,
                             s.providers, &Reader::read_provider);
      } else if (key == "mount") {
        read_array_of_tables(v, "mount", bcfg::kMaxMounts, rootd::Reason::BCFG_TOO_MANY_MOUNTS, s.mounts,
                             &Reader::read_mount);
      } else {
        unknown_key(k, "at the top level", "version, profile, service, provider, mount");
      }
    }
    check_cross_references(s);
  }
};

}  // namespace

FrontendResult parse_toml(std::string_view text, std::string_view source_name) {
  FrontendResult result;
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    result.diagnostics.push_back(SourceDiagnostic{pos_of(e.source()), ToolCode::TOML_SYNTAX,
                                                  escape_controls(e.description())});
    return result;
  }
  auto storage = std::make_unique<TomlConfig::Storage>();
  Reader reader;
  reader.read_root(root, *storage);
  if (!reader.diagnostics.empty()) {
    result.diagnostics = std::move(reader.diagnostics);
    std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                     [](const SourceDiagnostic& a, const SourceDiagnostic& b) { return a.pos < b.pos; });
    if (reader.fatal == 0) {
      storage->build_desc();
      result.recovered.emplace(std::move(storage));
    }
    return result;
  }
  storage->build_desc();
  result.config.emplace(std::move(storage));
  return result;
}

}  // namespace bcfg_tool
