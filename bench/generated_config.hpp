// The synthetic boot configs the benchmarks share: a foundation (memd
// vspaced pagerd procd, wired to each other as in examples/runtime.toml),
// logd, and generic services (role "service") that each wait for up to two
// earlier ones and are wired to logd. Smaller sizes keep a prefix of that
// list (1 service = memd alone). Host code.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/status.hpp"

namespace bench {

namespace bcfg = rootd::bcfg;

// Owns the strings and lists a ConfigDesc points into.
struct ConfigSource {
  std::vector<std::string> names;
  std::vector<std::string> roles;
  std::vector<std::vector<std::string_view>> after, peers;
  std::vector<bcfg::ServiceDesc> services;
};

inline std::unique_ptr<ConfigSource> make_config_source(std::size_t n) {
  auto src = std::make_unique<ConfigSource>();
  const char* const fixed[] = {"memd", "vspaced", "pagerd", "procd", "logd"};
  for (std::size_t i = 0; i < n; ++i) {
    if (i < 5) {
      src->names.emplace_back(fixed[i]);
      src->roles.emplace_back(fixed[i]);
    } else {
      char name[32];
      std::snprintf(name, sizeof name, "svc-%04zu", i - 5);
      src->names.emplace_back(name);
      src->roles.emplace_back("service");
    }
  }
  src->after.resize(n);
  src->peers.resize(n);
  for (std::size_t i = 1; i < n && i < 4; ++i) {
    for (std::size_t j = 0; j < i; ++j) src->peers[i].push_back(src->names[j]);  // foundation chain
  }
  for (std::size_t i = 5; i < n; ++i) {
    // A shallow tree rather than a chain: generic service k waits for
    // services (k-1)/2 and (k-1)/3, so the start waves stay few and wide.
    const std::size_t k = i - 5;
    if (k >= 1) src->after[i].push_back(src->names[5 + (k - 1) / 2]);
    if (k >= 3 && (k - 1) / 3 != (k - 1) / 2) src->after[i].push_back(src->names[5 + (k - 1) / 3]);
    src->peers[i].push_back(src->names[4]);  // logd is public
  }
  for (std::size_t i = 0; i < n; ++i) {
    bcfg::ServiceDesc s;
    s.name = src->names[i];
    s.role = src->roles[i];
    s.image = src->names[i];
    s.after = src->after[i];
    s.peers = src->peers[i];
    src->services.push_back(s);
  }
  return src;
}

inline std::vector<char> make_config_blob(std::size_t n) {
  const auto src = make_config_source(n);
  bcfg::ConfigDesc desc;
  desc.services = src->services;
  const rootd::Result<std::size_t> size = bcfg::encoded_size(desc);
  if (!size) {
    std::fprintf(stderr, "bench: the writer refused %zu services: %s\n", n,
                 std::string(rootd::reason_name(size.error().reason)).c_str());
    std::exit(1);
  }
  std::vector<char> blob(*size);
  if (!bcfg::write(desc, blob).ok()) std::exit(1);
  return blob;
}

}  // namespace bench
