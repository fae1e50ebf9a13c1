#include "filesystem.hpp"

#include <algorithm>

namespace erix::sim {

namespace {

FsResult<void> check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return unexpected(FsStatus::INVALID);
  }
  if (name.size() > Filesystem::kMaxName) return unexpected(FsStatus::NAME_TOO_LONG);
  return {};
}

}  // namespace

MemoryFilesystem::MemoryFilesystem() {
  Node root;
  root.attr.kind = NodeKind::DIRECTORY;
  root.attr.mode = 0755;
  root.attr.links = 2;
  root.parent = 1;
  changed(root);
  nodes_.emplace(1, std::move(root));
}

const MemoryFilesystem::Node* MemoryFilesystem::node(Ino n) const {
  const auto it = nodes_.find(n);
  return it == nodes_.end() ? nullptr : &it->second;
}
MemoryFilesystem::Node* MemoryFilesystem::node(Ino n) {
  const auto it = nodes_.find(n);
  return it == nodes_.end() ? nullptr : &it->second;
}

void MemoryFilesystem::refresh_dir(Node& dir) {
  std::uint32_t subdirs = 0;
  for (const auto& [name, child] : dir.entries) {
    if (node(child)->attr.kind == NodeKind::DIRECTORY) ++subdirs;
  }
  dir.attr.links = 2 + subdirs;
  dir.attr.size = dir.entries.size();
  changed(dir);
}

FsResult<MemoryFilesystem::Node*> MemoryFilesystem::directory_for(Ino dir, std::string_view name) {
  Node* d = node(dir);
  if (d == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (d->attr.kind != NodeKind::DIRECTORY) return unexpected(FsStatus::NOT_DIRECTORY);
  if (auto ok = check_name(name); !ok) return unexpected(ok.error());
  return d;
}

FsResult<Ino> MemoryFilesystem::lookup(Ino dir, std::string_view name) const {
  const Node* d = node(dir);
  if (d == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (d->attr.kind != NodeKind::DIRECTORY) return unexpected(FsStatus::NOT_DIRECTORY);
  if (auto ok = check_name(name); !ok) return unexpected(ok.error());
  const auto it = d->entries.find(name);
  if (it == d->entries.end()) return unexpected(FsStatus::NOT_FOUND);
  return it->second;
}

FsResult<NodeAttr> MemoryFilesystem::stat(Ino n) const {
  const Node* p = node(n);
  if (p == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  return p->attr;
}

FsResult<Ino> MemoryFilesystem::add(Ino dir, std::string_view name, Node fresh) {
  auto d = directory_for(dir, name);
  if (!d) return unexpected(d.error());
  if ((*d)->entries.count(name) != 0) return unexpected(FsStatus::EXISTS);
  const Ino n = next_++;
  fresh.parent = dir;
  changed(fresh);
  nodes_.emplace(n, std::move(fresh));
  // emplace may not move other nodes (std::map), so *d stays valid.
  (*d)->entries.emplace(std::string(name), n);
  refresh_dir(**d);
  return n;
}

FsResult<Ino> MemoryFilesystem::create(Ino dir, std::string_view name, std::uint16_t mode) {
  Node fresh;
  fresh.attr.kind = NodeKind::FILE;
  fresh.attr.mode = static_cast<std::uint16_t>(mode & rootd::vfs::kModeMask);
  return add(dir, name, std::move(fresh));
}

FsResult<Ino> MemoryFilesystem::mkdir(Ino dir, std::string_view name, std::uint16_t mode) {
  Node fresh;
  fresh.attr.kind = NodeKind::DIRECTORY;
  fresh.attr.mode = static_cast<std::uint16_t>(mode & rootd::vfs::kModeMask);
  fresh.attr.links = 2;
  return add(dir, name, std::move(fresh));
}

FsResult<Ino> MemoryFilesystem::symlink(Ino dir, std::string_view name, std::string_view target) {
  if (target.empty() || target.find('\0') != std::string_view::npos) return unexpected(FsStatus::INVALID);
  if (target.size() > 4096) return unexpected(FsStatus::NAME_TOO_LONG);
  Node fresh;
  fresh.attr.kind = NodeKind::SYMLINK;
  fresh.attr.mode = 0777;
  fresh.attr.size = target.size();
  fresh.target = std::string(target);
  return add(dir, name, std::move(fresh));
}

FsResult<std::string> MemoryFilesystem::readlink(Ino n) const {
  const Node* p = node(n);
  if (p == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (p->attr.kind != NodeKind::SYMLINK) return unexpected(FsStatus::INVALID);
  return p->target;
}

FsResult<std::vector<char>> MemoryFilesystem::read(Ino file, std::uint64_t offset, std::size_t count) const {
  const Node* p = node(file);
  if (p == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (p->attr.kind == NodeKind::DIRECTORY) return unexpected(FsStatus::IS_DIRECTORY);
  if (p->attr.kind != NodeKind::FILE) return unexpected(FsStatus::INVALID);
  if (offset >= p->data.size()) return std::vector<char>{};
  const std::size_t n = std::min<std::uint64_t>(count, p->data.size() - offset);
  const auto from = p->data.begin() + static_cast<std::ptrdiff_t>(offset);
  return std::vector<char>(from, from + static_cast<std::ptrdiff_t>(n));
}

FsResult<std::uint64_t> MemoryFilesystem::write(Ino file, std::uint64_t offset, std::span<const char> bytes) {
  Node* p = node(file);
  if (p == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (p->attr.kind == NodeKind::DIRECTORY) return unexpected(FsStatus::IS_DIRECTORY);
  if (p->attr.kind != NodeKind::FILE) return unexpected(FsStatus::INVALID);
  if (offset > rootd::vfs::kMaxFileSize || bytes.size() > rootd::vfs::kMaxFileSize - offset) {
    return unexpected(FsStatus::NO_SPACE);
  }
  const std::uint64_t end = offset + bytes.size();
  if (end > p->data.size()) p->data.resize(end, 0);
  std::copy(bytes.begin(), bytes.end(), p->data.begin() + static_cast<std::ptrdiff_t>(offset));
  p->attr.size = p->data.size();
  changed(*p);
  return p->attr.size;
}

FsResult<std::optional<DirEntry>> MemoryFilesystem::readdir(Ino dir, std::uint64_t index) const {
  const Node* d = node(dir);
  if (d == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (d->attr.kind != NodeKind::DIRECTORY) return unexpected(FsStatus::NOT_DIRECTORY);
  if (index >= d->entries.size()) return std::optional<DirEntry>{};
  auto it = d->entries.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(index));
  return std::optional<DirEntry>(DirEntry{it->first, node(it->second)->attr.kind, it->second});
}

FsResult<void> MemoryFilesystem::unlink(Ino dir, std::string_view name) {
  auto d = directory_for(dir, name);
  if (!d) return unexpected(d.error());
  const auto it = (*d)->entries.find(name);
  if (it == (*d)->entries.end()) return unexpected(FsStatus::NOT_FOUND);
  if (node(it->second)->attr.kind == NodeKind::DIRECTORY) return unexpected(FsStatus::IS_DIRECTORY);
  nodes_.erase(it->second);
  (*d)->entries.erase(it);
  refresh_dir(**d);
  return {};
}

FsResult<void> MemoryFilesystem::rmdir(Ino dir, std::string_view name) {
  auto d = directory_for(dir, name);
  if (!d) return unexpected(d.error());
  const auto it = (*d)->entries.find(name);
  if (it == (*d)->entries.end()) return unexpected(FsStatus::NOT_FOUND);
  const Node* victim = node(it->second);
  if (victim->attr.kind != NodeKind::DIRECTORY) return unexpected(FsStatus::NOT_DIRECTORY);
  if (!victim->entries.empty()) return unexpected(FsStatus::NOT_EMPTY);
  nodes_.erase(it->second);
  (*d)->entries.erase(it);
  refresh_dir(**d);
  return {};
}

FsResult<void> MemoryFilesystem::rename(Ino from_dir, std::string_view from, Ino to_dir, std::string_view to) {
  auto src = directory_for(from_dir, from);
  if (!src) return unexpected(src.error());
  auto dst = directory_for(to_dir, to);
  if (!dst) return unexpected(dst.error());
  const auto it = (*src)->entries.find(from);
  if (it == (*src)->entries.end()) return unexpected(FsStatus::NOT_FOUND);
  const Ino moving = it->second;
  Node* m = node(moving);
  if (m->attr.kind == NodeKind::DIRECTORY) {
    // The destination directory must not be the moving one or below it.
    for (Ino walk = to_dir;; walk = node(walk)->parent) {
      if (walk == moving) return unexpected(FsStatus::INVALID);
      if (walk == root()) break;
    }
  }
  const auto there = (*dst)->entries.find(to);
  if (there != (*dst)->entries.end()) {
    if (there->second == moving) return {};
    const Node* old = node(there->second);
    const bool old_dir = old->attr.kind == NodeKind::DIRECTORY;
    if (m->attr.kind == NodeKind::DIRECTORY && !old_dir) return unexpected(FsStatus::NOT_DIRECTORY);
    if (m->attr.kind != NodeKind::DIRECTORY && old_dir) return unexpected(FsStatus::IS_DIRECTORY);
    if (old_dir && !old->entries.empty()) return unexpected(FsStatus::NOT_EMPTY);
    nodes_.erase(there->second);
    (*dst)->entries.erase(there);
  }
  (*src)->entries.erase((*src)->entries.find(from));
  (*dst)->entries.emplace(std::string(to), moving);
  m->parent = to_dir;
  changed(*m);
  refresh_dir(**src);
  if (*dst != *src) refresh_dir(**dst);
  return {};
}

FsResult<void> MemoryFilesystem::truncate(Ino file, std::uint64_t size) {
  Node* p = node(file);
  if (p == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (p->attr.kind == NodeKind::DIRECTORY) return unexpected(FsStatus::IS_DIRECTORY);
  if (p->attr.kind != NodeKind::FILE) return unexpected(FsStatus::INVALID);
  if (size > rootd::vfs::kMaxFileSize) return unexpected(FsStatus::NO_SPACE);
  p->data.resize(size, 0);
  p->attr.size = size;
  changed(*p);
  return {};
}

FsResult<void> MemoryFilesystem::set_meta(Ino n, const MetaChange& change) {
  Node* p = node(n);
  if (p == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (change.mode && *change.mode > rootd::vfs::kModeMask) return unexpected(FsStatus::INVALID);
  if (change.mode) p->attr.mode = *change.mode;
  if (change.mtime) p->attr.mtime = *change.mtime;
  if (change.uid) p->attr.uid = *change.uid;
  if (change.gid) p->attr.gid = *change.gid;
  changed(*p);
  return {};
}

FsResult<void> MemoryFilesystem::link(Ino n, Ino dir, std::string_view name) {
  if (node(n) == nullptr) return unexpected(FsStatus::BAD_HANDLE);
  if (auto d = directory_for(dir, name); !d) return unexpected(d.error());
  return unexpected(FsStatus::NOT_SUPPORTED);
}

}  // namespace erix::sim
