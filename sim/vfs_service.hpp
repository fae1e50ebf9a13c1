// The simulated vfsd: serves its public protocol
// (include/rootd/vfs_protocol.hpp, docs/vfsd-protocol.md) over the
// filesystems of the providers its storage intent binds.
//
// - Mounts: when vfsd answers READY (its intent accepted,
//   storage_services.hpp), each mount row of the intent becomes a mount
//   point on the Filesystem of the provider's filesystem service; tests may
//   give the table directly with set_mounts. Every filesystem service gets
//   one MemoryFilesystem, made on first use and kept for the whole run
//   (ramfsd is one; e2fsd and fatd stand in for their block-backed trees).
// - Paths: an absolute name, or a name relative to a directory handle, is
//   made absolute, checked (no empty, "." or ".." component; each at most
//   kMaxComponent bytes) and routed to the mount with the longest path that
//   is a prefix of it at a component boundary. A mount row's read_only flag
//   refuses every change there with READ_ONLY. Symlinks are never followed.
// - Handles: 1..kMaxHandles, the lowest free one first, shared by every
//   caller; a handle names a node, so it survives a rename of the node and
//   goes stale (BAD_HANDLE) when the node is removed.
// - Faults (services.hpp FaultPoint) of vfsd: slow answers BUSY to every
//   call; wrong-reply answers with another label; wrong-data serves the
//   call, then spoils the data of a successful reply (a byte of READ,
//   READDIR or READLINK, or the size of OPEN, WRITE, TRUNCATE or STAT);
//   extra-cap serves it and carries a SEND cap on vfsd's own service
//   endpoint. The same slow, wrong-reply and wrong-data faults of a
//   filesystem service act on the calls vfsd routes to it.
//
// For loaderd (reached with services.protocol<VfsService>()):
// - read_source(path, limit) reads an executable source by absolute path
//   through the mount table: its first `limit` bytes, its full size, whether
//   it is a directory, whether any execute bit of its mode is set, and its
//   generation, which changes whenever the file changes. A source seeded
//   `unstable` changes at every read_source (its generation moves), so
//   "changed while loading" can be provoked. The filesystem faults above
//   apply (wrong-data spoils the first byte; slow gives BUSY).
// - seed(path, bytes, mode, unstable) puts a file in place, creating its
//   parent directories (mode 0755); before vfsd knows its mounts the seed
//   waits and is applied when they arrive, after that at once. Seeds ignore
//   read_only (they are the medium's content) and replace an existing file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filesystem.hpp"
#include "service_protocols.hpp"

namespace erix::sim {

class VfsService final : public ProtocolHandler {
 public:
  static constexpr std::uint16_t kMaxHandles = 256;
  // The label range vfsd's protocol owns; calls with other labels are left
  // to the next handler (and are UNKNOWN_OPERATION if none takes them).
  static constexpr std::uint64_t kLabelFirst = 0x80;
  static constexpr std::uint64_t kLabelLast = 0x9F;

  struct MountPoint {
    std::string path;     // absolute, normal
    std::string service;  // the filesystem service serving it
    bool read_only = false;
  };

  VfsService(KernelModel& model, Services& services) : model_(model), services_(services) {}

  void set_mounts(std::vector<MountPoint> mounts);
  const std::vector<MountPoint>& mounts() const { return mounts_; }
  // The tree of filesystem service `service`, made on first use.
  Filesystem& filesystem(const std::string& service);

  // One request answered without any fault: the protocol as vfsd serves it.
  abi::Message serve(const abi::Message& request) { return serve_routed(request).reply; }

  struct Source {
    FsStatus status = FsStatus::OK;  // NOT_FOUND, NOT_DIRECTORY, IS_SYMLINK, BUSY, ...
    std::vector<char> bytes;         // at most `limit`
    std::uint64_t size = 0;
    bool directory = false;
    bool executable = false;
    std::uint64_t generation = 0;
  };
  Source read_source(std::string_view path, std::size_t limit);
  // false (nothing changed) when the path is not absolute and normal, or a
  // parent is not a directory once mounts are known.
  bool seed(const std::string& path, std::vector<char> bytes, std::uint16_t mode, bool unstable = false);

  // ProtocolHandler
  std::optional<CallReply> on_call(Pid receiver, const ServiceRecord& rec, const abi::Message& message,
                                   const std::optional<Cap>& carried) override;
  void on_ready(Pid pid, const ServiceRecord& rec) override;

 private:
  struct Handle {
    std::size_t mount = 0;
    Ino node = 0;
    std::string path;  // absolute, for names relative to it
  };
  struct Located {
    std::size_t mount = 0;
    std::vector<std::string> inside;  // components below the mount root
  };
  struct Seed {
    std::string path;
    std::vector<char> bytes;
    std::uint16_t mode = 0;
  };
  struct Routed {
    abi::Message reply;
    std::optional<std::size_t> mount;  // the mount the call reached
  };

  Routed serve_routed(const abi::Message& request);
  FsResult<Located> locate(std::string_view absolute) const;
  FsResult<Located> locate_request(const rootd::vfs::Request& r, std::string_view name);
  // Walks to the node of all of `inside` (parent_only: all but the last).
  FsResult<Ino> walk(Filesystem& fs, const std::vector<std::string>& inside, bool parent_only) const;
  std::uint32_t faults_of_mount(std::size_t mount) const;
  void apply_seed(const Seed& s);
  std::string path_of(const Located& at) const;

  KernelModel& model_;
  Services& services_;
  std::vector<MountPoint> mounts_;
  bool mounted_ = false;
  std::map<std::string, std::unique_ptr<Filesystem>> filesystems_;
  std::map<std::uint16_t, Handle> handles_;
  std::vector<Seed> pending_;
  std::map<std::string, bool> unstable_;  // absolute path -> changes at every read_source
};

}  // namespace erix::sim
