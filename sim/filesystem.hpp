// What a filesystem service offers vfsd: a tree of nodes named by number
// (inode-like), with the operations of vfsd's protocol
// (include/rootd/vfs_protocol.hpp) expressed per node, so vfsd does the
// path walking and the mount routing and a filesystem only ever sees one
// directory and one name at a time.
//
// The interface is what an ext4 or FAT image reader would implement next;
// today every filesystem service is a MemoryFilesystem (ramfsd for real,
// e2fsd and fatd standing in for their block-backed trees).
//
// Rules every implementation keeps, as vfsd relies on them:
// - A name is 1..kMaxName bytes, neither "." nor "..", without '/' or a
//   zero byte (INVALID; NAME_TOO_LONG past the length).
// - A failed operation changes nothing.
// - Every change of a node (data, size, metadata; a rename of it) moves its
//   generation to a value no node of this filesystem had before, so a
//   reader can tell "the same bytes as when I looked" from "changed since".
// - Symlinks are stored, never followed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expected.hpp"
#include "rootd/vfs_protocol.hpp"

namespace erix::sim {

using Ino = std::uint64_t;
using FsStatus = rootd::vfs::Status;
using NodeKind = rootd::vfs::Kind;
template <class T>
using FsResult = Expected<T, FsStatus>;

struct NodeAttr {
  NodeKind kind = NodeKind::NONE;
  std::uint16_t mode = 0;  // permission bits (0..07777)
  std::uint32_t links = 1;
  std::uint64_t size = 0;  // file: bytes; symlink: target length; directory: entries
  std::uint64_t mtime = 0;
  std::uint32_t uid = 0, gid = 0;
  std::uint64_t generation = 0;
  friend bool operator==(const NodeAttr&, const NodeAttr&) = default;
};

struct MetaChange {
  std::optional<std::uint16_t> mode;
  std::optional<std::uint64_t> mtime;
  std::optional<std::uint32_t> uid, gid;
};

struct DirEntry {
  std::string name;
  NodeKind kind = NodeKind::NONE;
  Ino node = 0;
};

class Filesystem {
 public:
  static constexpr std::size_t kMaxName = 255;

  virtual ~Filesystem() = default;
  virtual Ino root() const = 0;
  // NOT_FOUND, NOT_DIRECTORY (dir is not one).
  virtual FsResult<Ino> lookup(Ino dir, std::string_view name) const = 0;
  virtual FsResult<NodeAttr> stat(Ino node) const = 0;
  // New nodes: EXISTS when the name is taken.
  virtual FsResult<Ino> create(Ino dir, std::string_view name, std::uint16_t mode) = 0;
  virtual FsResult<Ino> mkdir(Ino dir, std::string_view name, std::uint16_t mode) = 0;
  virtual FsResult<Ino> symlink(Ino dir, std::string_view name, std::string_view target) = 0;
  // INVALID when `node` is not a symlink.
  virtual FsResult<std::string> readlink(Ino node) const = 0;
  // Up to `count` bytes from `offset` (fewer at the end); IS_DIRECTORY / INVALID for non-files.
  virtual FsResult<std::vector<char>> read(Ino file, std::uint64_t offset, std::size_t count) const = 0;
  // Writes all of `bytes` at `offset`, zero-filling any gap; the new size.
  // NO_SPACE past rootd::vfs::kMaxFileSize.
  virtual FsResult<std::uint64_t> write(Ino file, std::uint64_t offset, std::span<const char> bytes) = 0;
  // Entry `index` in name order; nullopt past the last.
  virtual FsResult<std::optional<DirEntry>> readdir(Ino dir, std::uint64_t index) const = 0;
  // A file or symlink (IS_DIRECTORY for a directory).
  virtual FsResult<void> unlink(Ino dir, std::string_view name) = 0;
  // An empty directory (NOT_DIRECTORY, NOT_EMPTY).
  virtual FsResult<void> rmdir(Ino dir, std::string_view name) = 0;
  // POSIX rename: replaces a file by a non-directory, an empty directory by
  // a directory; INVALID moving a directory into itself.
  virtual FsResult<void> rename(Ino from_dir, std::string_view from, Ino to_dir, std::string_view to) = 0;
  virtual FsResult<void> truncate(Ino file, std::uint64_t size) = 0;
  virtual FsResult<void> set_meta(Ino node, const MetaChange& change) = 0;
  // A second name for `node`; a filesystem without hard links answers NOT_SUPPORTED.
  virtual FsResult<void> link(Ino node, Ino dir, std::string_view name) = 0;
};

// A real tree in memory; no hard links. Nodes are numbered from 1 (the
// root), never reused.
class MemoryFilesystem final : public Filesystem {
 public:
  MemoryFilesystem();

  Ino root() const override { return 1; }
  FsResult<Ino> lookup(Ino dir, std::string_view name) const override;
  FsResult<NodeAttr> stat(Ino node) const override;
  FsResult<Ino> create(Ino dir, std::string_view name, std::uint16_t mode) override;
  FsResult<Ino> mkdir(Ino dir, std::string_view name, std::uint16_t mode) override;
  FsResult<Ino> symlink(Ino dir, std::string_view name, std::string_view target) override;
  FsResult<std::string> readlink(Ino node) const override;
  FsResult<std::vector<char>> read(Ino file, std::uint64_t offset, std::size_t count) const override;
  FsResult<std::uint64_t> write(Ino file, std::uint64_t offset, std::span<const char> bytes) override;
  FsResult<std::optional<DirEntry>> readdir(Ino dir, std::uint64_t index) const override;
  FsResult<void> unlink(Ino dir, std::string_view name) override;
  FsResult<void> rmdir(Ino dir, std::string_view name) override;
  FsResult<void> rename(Ino from_dir, std::string_view from, Ino to_dir, std::string_view to) override;
  FsResult<void> truncate(Ino file, std::uint64_t size) override;
  FsResult<void> set_meta(Ino node, const MetaChange& change) override;
  FsResult<void> link(Ino node, Ino dir, std::string_view name) override;

  std::size_t node_count() const { return nodes_.size(); }

 private:
  struct Node {
    NodeAttr attr;
    Ino parent = 0;
    std::vector<char> data;                           // file
    std::map<std::string, Ino, std::less<>> entries;  // directory
    std::string target;                               // symlink
  };
  const Node* node(Ino n) const;
  Node* node(Ino n);
  // The directory `dir` when it is one, and `name` is a valid name.
  FsResult<Node*> directory_for(Ino dir, std::string_view name);
  FsResult<Ino> add(Ino dir, std::string_view name, Node fresh);
  void changed(Node& n) { n.attr.generation = ++clock_; }
  void refresh_dir(Node& dir);

  std::map<Ino, Node> nodes_;
  Ino next_ = 2;
  std::uint64_t clock_ = 0;
};

}  // namespace erix::sim
