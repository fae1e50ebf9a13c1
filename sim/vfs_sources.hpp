// loaderd reads its executables through vfsd: ExecutableSources
// (loader_service.hpp) over the simulated vfsd's namespace
// (vfs_service.hpp), so a launch by path resolves through the mount table
// rootd delivered, reaches the filesystem service behind the mount, and
// sees that service's faults.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "loader_service.hpp"
#include "vfs_service.hpp"

namespace erix::sim {

class VfsSources final : public ExecutableSources {
 public:
  explicit VfsSources(VfsService& vfs) : vfs_(vfs) {}

  // A path vfsd cannot resolve to a file or directory (not found, a
  // symlink, a busy filesystem) names nothing loaderd can load.
  std::optional<SourceRead> read_source(std::string_view path, std::size_t limit) override {
    VfsService::Source s = vfs_.read_source(path, limit);
    if (s.status != FsStatus::OK) return std::nullopt;
    return SourceRead{std::move(s.bytes), s.directory, s.executable, s.generation};
  }
  // The generation now: vfsd has no cheaper query than an empty read (an
  // unstable fixture moves on at that read too, which is what it is for).
  std::optional<std::uint64_t> generation(std::string_view path) const override {
    const VfsService::Source s = vfs_.read_source(path, 0);
    if (s.status != FsStatus::OK) return std::nullopt;
    return s.generation;
  }

 private:
  VfsService& vfs_;
};

}  // namespace erix::sim
