// Errors located in a boot config, and the service that owns each.
//
// The policy checks report an Error with its typed location (result.hpp):
// the constructors below fill blob, subject, index and the byte offset from
// the View together, so the two can never disagree. owner_of() then answers
// "which service is this error about" for the DETAIL marker
// ("ERIX_ROOTD:DETAIL:<REASON>:<service>") and for erix-bcfg's wording,
// from the location alone, never by guessing from the offset.
//
// Owners, by subject:
//   SERVICE              the service itself.
//   AFTER_ENTRY,         the service whose list holds the entry: that is the
//   PEER_ENTRY           table an integrator edits (the entry names another
//                        service, but the wiring or wait is the owner's).
//   PROVIDER             the provider's filesystem service: a [[provider]]
//                        row describes what that service serves, and each
//                        filesystem service serves one provider.
//   MOUNT                the filesystem service of the mount's provider:
//                        the mount publishes that service's medium, and
//                        naming vfsd (the one consumer of every mount) would
//                        not tell two bad mounts apart.
//   PROFILE, SERVICES    none: the whole config is at fault.
//   handoff subjects     none: the kernel's handoff is not the config's.
//   NONE / UNKNOWN blob  none.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/bcfg.hpp"
#include "rootd/result.hpp"

namespace rootd {

constexpr Error service_error(const bcfg::View& config, Reason r, std::size_t service) {
  return Error{r, config.service_offset(service), Blob::CONFIG, Subject::SERVICE,
               static_cast<std::uint16_t>(service)};
}

constexpr Error after_entry_error(const bcfg::View& config, Reason r, std::size_t service, std::size_t entry) {
  return Error{r, config.after_offset(service) + static_cast<std::uint32_t>(entry * bcfg::kEdgeRowSize),
               Blob::CONFIG, Subject::AFTER_ENTRY, static_cast<std::uint16_t>(service),
               static_cast<std::uint16_t>(entry)};
}

constexpr Error peer_entry_error(const bcfg::View& config, Reason r, std::size_t service, std::size_t entry) {
  return Error{r, config.peers_offset(service) + static_cast<std::uint32_t>(entry * bcfg::kEdgeRowSize),
               Blob::CONFIG, Subject::PEER_ENTRY, static_cast<std::uint16_t>(service),
               static_cast<std::uint16_t>(entry)};
}

constexpr Error provider_error(const bcfg::View& config, Reason r, std::size_t provider) {
  return Error{r, config.provider_offset(provider), Blob::CONFIG, Subject::PROVIDER,
               static_cast<std::uint16_t>(provider)};
}

constexpr Error mount_error(const bcfg::View& config, Reason r, std::size_t mount) {
  return Error{r, config.mount_offset(mount), Blob::CONFIG, Subject::MOUNT, static_cast<std::uint16_t>(mount)};
}

constexpr Error profile_error(const bcfg::View& config, Reason r) {
  return Error{r, config.profile_offset(), Blob::CONFIG, Subject::PROFILE};
}

// The service table as a whole (a count that does not match it).
constexpr Error services_error(const bcfg::View& config, Reason r) {
  return Error{r, config.section_offset(bcfg::Section::SERVICES), Blob::CONFIG, Subject::SERVICES};
}

// The service that owns `e` (see the table above), or bcfg::kNoIndex.
constexpr std::uint16_t owner_of(const bcfg::View& config, const Error& e) {
  if (e.blob != Blob::CONFIG) return bcfg::kNoIndex;
  switch (e.subject) {
    case Subject::SERVICE:
    case Subject::AFTER_ENTRY:
    case Subject::PEER_ENTRY:
      return e.index < config.service_count() ? e.index : bcfg::kNoIndex;
    case Subject::PROVIDER:
      return e.index < config.provider_count() ? config.provider(e.index).service : bcfg::kNoIndex;
    case Subject::MOUNT: {
      if (e.index >= config.mount_count()) return bcfg::kNoIndex;
      const std::uint16_t provider = config.mount(e.index).provider;
      return provider < config.provider_count() ? config.provider(provider).service : bcfg::kNoIndex;
    }
    case Subject::NONE:
    case Subject::PROFILE:
    case Subject::MODULE:
    case Subject::ENDPOINT:
    case Subject::DESCRIPTOR:
    case Subject::SERVICES: break;
  }
  return bcfg::kNoIndex;
}

}  // namespace rootd
