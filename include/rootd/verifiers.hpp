// The verifier suite: one member per verifier (verify.hpp), reached by its
// VerifierId, so the VERIFY phase (boot_verify.hpp) holds every verifier's
// state in one object and dispatches with one switch.
//
// `kBuilt` says which verifiers this suite has. The VERIFY phase runs the
// profile's selection (select_verifiers) intersected with it; an id whose
// verifier is not in the suite fails closed (MISSING at step NOT_BUILT) if
// it is ever asked for. Once every verifier is a member, kBuilt is every id.
//
// Only an image whose variant enables verifiers instantiates a Suite; the
// runtime and release images carry none of this.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>

#include "rootd/bcfg.hpp"
#include "rootd/verify.hpp"

namespace rootd::verify {

class Suite {
 public:
  static constexpr VerifierSet kBuilt{};

  // Starts verifier `id` afresh.
  constexpr void begin(VerifierId id) { (void)id; }

  constexpr Step next(VerifierId id, const Context& ctx, const Reply* reply) {
    (void)ctx;
    (void)reply;
    switch (id) {
      case VerifierId::STORAGE_MOUNT:
      case VerifierId::VOLATILE_VFS:
      case VerifierId::LOADER_CONTRACT:
      case VerifierId::LOADER_FS_DISCOVERY:
      case VerifierId::LOADER_MATERIALIZED_LAUNCH:
      case VerifierId::LOADER_CLEANUP_AUTHORITY:
      case VerifierId::FRAMEBUFFER:
      case VerifierId::INPUT: break;
    }
    return fail(Failure::MISSING, "NOT_BUILT", bcfg::kNoIndex);
  }
};

}  // namespace rootd::verify
