// ERIXBCFG v1 decoder: a validated View back to the ConfigDesc the writer
// takes, so that decode then write reproduces the blob byte for byte.
// Host-side (erix-bcfg decode, round-trip tests); rootd's image, built with
// ROOTD_IMAGE, cannot include it.
#pragma once

#include "rootd/requires_cxx20.hpp"

#if defined(ROOTD_IMAGE)
#error "rootd/bcfg_decode.hpp is host-side: rootd's image never decodes a boot config"
#endif

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::bcfg {

// Caller-provided arrays (there is no heap). Sizes needed: service_count(),
// provider_count(), mount_count(), after_edge_count(), peer_edge_count().
struct DecodeStorage {
  std::span<ServiceDesc> services{};
  std::span<ProviderDesc> providers{};
  std::span<MountDesc> mounts{};
  std::span<std::string_view> after{};  // one service name per `after` entry
  std::span<std::string_view> peers{};
};

// The result refers to `storage` and to the View's blob; write() of it
// reproduces view.bytes() exactly. Fails only with
// BCFG_DECODE_STORAGE_TOO_SMALL (offset = the section that does not fit).
constexpr Result<ConfigDesc> decode(const View& view, const DecodeStorage& storage) {
  const std::pair<std::size_t, std::size_t> needs[] = {
      {view.service_count(), storage.services.size()},
      {view.after_edge_count(), storage.after.size()},
      {view.peer_edge_count(), storage.peers.size()},
      {view.provider_count(), storage.providers.size()},
      {view.mount_count(), storage.mounts.size()},
  };
  const Section sections[] = {Section::SERVICES, Section::AFTER, Section::PEERS, Section::PROVIDERS,
                              Section::MOUNTS};
  for (std::size_t i = 0; i < 5; ++i) {
    if (needs[i].first > needs[i].second) {
      return Error{Reason::BCFG_DECODE_STORAGE_TOO_SMALL, view.section_offset(sections[i])};
    }
  }
  std::size_t after_used = 0;
  std::size_t peers_used = 0;
  for (std::size_t i = 0; i < view.service_count(); ++i) {
    const Service s = view.service(i);
    const IndexList after = view.after(i);
    const IndexList peers = view.peers(i);
    for (std::size_t k = 0; k < after.size(); ++k)
      storage.after[after_used + k] = view.service(after[k]).name;
    for (std::size_t k = 0; k < peers.size(); ++k)
      storage.peers[peers_used + k] = view.service(peers[k]).name;
    ServiceDesc& d = storage.services[i];
    d.name = s.name;
    d.role = s.role;
    d.image = s.image;
    d.launch = s.launch;
    d.after = std::span<const std::string_view>(storage.after.data() + after_used, after.size());
    d.peers = std::span<const std::string_view>(storage.peers.data() + peers_used, peers.size());
    after_used += after.size();
    peers_used += peers.size();
  }
  for (std::size_t i = 0; i < view.provider_count(); ++i) {
    const Provider p = view.provider(i);
    ProviderDesc& d = storage.providers[i];
    d.name = p.name;
    d.service = view.service(p.service).name;
    d.block = p.block == kNoIndex ? std::string_view{} : view.service(p.block).name;
    d.key = p.key == kNoIndex ? std::string_view{} : view.service(p.key).name;
    d.partition = p.partition;
  }
  for (std::size_t i = 0; i < view.mount_count(); ++i) {
    const Mount m = view.mount(i);
    MountDesc& d = storage.mounts[i];
    d.path = m.path;
    d.provider = view.provider(m.provider).name;
    d.read_only = m.read_only;
  }
  ConfigDesc config;
  config.profile = view.profile();
  config.services = std::span<const ServiceDesc>(storage.services.data(), view.service_count());
  config.providers = std::span<const ProviderDesc>(storage.providers.data(), view.provider_count());
  config.mounts = std::span<const MountDesc>(storage.mounts.data(), view.mount_count());
  return config;
}

}  // namespace rootd::bcfg
