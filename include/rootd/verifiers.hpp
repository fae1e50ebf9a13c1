// The verifier suite: one member per verifier (verify.hpp), reached by its
// VerifierId, so the VERIFY phase (boot_verify.hpp) holds every verifier's
// state in one object and dispatches with one switch.
//
// Each member starts in its initial state: begin() puts it back there, so
// a suite can be run more than once. Only an image whose variant enables
// verifiers instantiates a Suite; the runtime and release images carry none
// of this.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>

#include "rootd/verify.hpp"
#include "rootd/verify_console.hpp"
#include "rootd/verify_loader.hpp"
#include "rootd/verify_storage.hpp"

namespace rootd::verify {

class Suite {
 public:
  // Every verifier is built in (the VERIFY phase runs the selection
  // intersected with this set; a scripted test suite may offer fewer).
  static constexpr VerifierSet kBuilt{(std::uint32_t{1} << kVerifierCount) - 1};

  // Starts verifier `id` afresh.
  constexpr void begin(VerifierId id) {
    switch (id) {
      case VerifierId::STORAGE_MOUNT: storage_mount_ = {}; break;
      case VerifierId::VOLATILE_VFS: volatile_vfs_ = {}; break;
      case VerifierId::LOADER_CONTRACT: loader_contract_ = {}; break;
      case VerifierId::LOADER_FS_DISCOVERY: loader_fs_discovery_ = {}; break;
      case VerifierId::LOADER_MATERIALIZED_LAUNCH: loader_materialized_launch_ = {}; break;
      case VerifierId::LOADER_CLEANUP_AUTHORITY: loader_cleanup_authority_ = {}; break;
      case VerifierId::FRAMEBUFFER: framebuffer_ = {}; break;
      case VerifierId::INPUT: input_ = {}; break;
    }
  }

  constexpr Step next(VerifierId id, const Context& ctx, const Reply* reply) {
    switch (id) {
      case VerifierId::STORAGE_MOUNT: return storage_mount_.next(ctx, reply);
      case VerifierId::VOLATILE_VFS: return volatile_vfs_.next(ctx, reply);
      case VerifierId::LOADER_CONTRACT: return loader_contract_.next(ctx, reply);
      case VerifierId::LOADER_FS_DISCOVERY: return loader_fs_discovery_.next(ctx, reply);
      case VerifierId::LOADER_MATERIALIZED_LAUNCH: return loader_materialized_launch_.next(ctx, reply);
      case VerifierId::LOADER_CLEANUP_AUTHORITY: return loader_cleanup_authority_.next(ctx, reply);
      case VerifierId::FRAMEBUFFER: return framebuffer_.next(ctx, reply);
      case VerifierId::INPUT: return input_.next(ctx, reply);
    }
    return fail(Failure::MISSING, "NOT_BUILT", bcfg::kNoIndex);
  }

 private:
  StorageMountVerifier storage_mount_{};
  VolatileVfsVerifier volatile_vfs_{};
  LoaderContract loader_contract_{};
  LoaderFsDiscovery loader_fs_discovery_{};
  LoaderMaterializedLaunch loader_materialized_launch_{};
  LoaderCleanupAuthority loader_cleanup_authority_{};
  FramebufferVerifier framebuffer_{};
  InputVerifier input_{};
};

}  // namespace rootd::verify
