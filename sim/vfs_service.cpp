#include "vfs_service.hpp"

#include <algorithm>

#include "services.hpp"

namespace erix::sim {

namespace vfs = rootd::vfs;

namespace {

std::uint32_t bit(FaultPoint p) { return 1U << static_cast<unsigned>(p); }

// The components of an absolute path; INVALID for a relative one or an
// empty, "." or ".." component, NAME_TOO_LONG past kMaxComponent.
FsResult<std::vector<std::string>> components(std::string_view path) {
  if (path.empty() || path.front() != '/') return unexpected(FsStatus::INVALID);
  std::vector<std::string> out;
  if (path == "/") return out;
  std::size_t at = 1;
  for (;;) {
    const std::size_t end = std::min(path.find('/', at), path.size());
    const std::string_view c = path.substr(at, end - at);
    if (c.empty() || c == "." || c == "..") return unexpected(FsStatus::INVALID);
    if (c.size() > vfs::kMaxComponent) return unexpected(FsStatus::NAME_TOO_LONG);
    out.emplace_back(c);
    if (end == path.size()) return out;
    at = end + 1;
  }
}

abi::Message status_reply(std::uint64_t label, FsStatus s) {
  abi::Message m{};
  m.label = label;
  m.words[0] = static_cast<std::uint64_t>(s);
  return m;
}

bool is_change(vfs::Op op) {
  switch (op) {
    case vfs::Op::WRITE:
    case vfs::Op::UNLINK:
    case vfs::Op::MKDIR:
    case vfs::Op::RMDIR:
    case vfs::Op::RENAME:
    case vfs::Op::TRUNCATE:
    case vfs::Op::SET_META:
    case vfs::Op::SYMLINK:
    case vfs::Op::LINK: return true;
    default: return false;
  }
}

}  // namespace

void VfsService::set_mounts(std::vector<MountPoint> mounts) {
  mounts_ = std::move(mounts);
  mounted_ = true;
  for (const Seed& s : pending_) apply_seed(s);
  pending_.clear();
}

Filesystem& VfsService::filesystem(const std::string& service) {
  auto& fs = filesystems_[service];
  if (!fs) fs = std::make_unique<MemoryFilesystem>();
  return *fs;
}

void VfsService::on_ready(Pid pid, const ServiceRecord& rec) {
  (void)pid;
  if (rec.spec.role != "vfsd") return;
  const auto& received = services_.storage().received();
  const auto it = received.find(rec.spec.name);
  if (it == received.end()) return;
  std::vector<MountPoint> mounts;
  for (const IntentMount& m : it->second.mounts) {
    MountPoint point{m.path, "", m.read_only};
    for (const IntentBinding& b : it->second.providers) {
      if (b.provider != m.provider) continue;
      for (const ServiceRecord& r : services_.records()) {
        if (r.spec.identity == b.service) point.service = r.spec.name;
      }
    }
    mounts.push_back(std::move(point));
  }
  set_mounts(std::move(mounts));
}

FsResult<VfsService::Located> VfsService::locate(std::string_view absolute) const {
  auto parts = components(absolute);
  if (!parts) return unexpected(parts.error());
  std::optional<std::size_t> best;
  std::size_t best_depth = 0;
  for (std::size_t m = 0; m < mounts_.size(); ++m) {
    auto mount_parts = components(mounts_[m].path);
    if (!mount_parts) continue;
    const std::vector<std::string>& mp = *mount_parts;
    if (mp.size() > parts->size() || !std::equal(mp.begin(), mp.end(), parts->begin())) continue;
    if (!best || mp.size() > best_depth) {
      best = m;
      best_depth = mp.size();
    }
  }
  if (!best) return unexpected(FsStatus::NOT_FOUND);
  Located at;
  at.mount = *best;
  at.inside.assign(parts->begin() + static_cast<std::ptrdiff_t>(best_depth), parts->end());
  return at;
}

FsResult<VfsService::Located> VfsService::locate_request(const vfs::Request& r, std::string_view name) {
  if (r.handle == 0) return locate(name);
  const auto h = handles_.find(r.handle);
  if (h == handles_.end()) return unexpected(FsStatus::BAD_HANDLE);
  auto attr = filesystem(mounts_[h->second.mount].service).stat(h->second.node);
  if (!attr) return unexpected(FsStatus::BAD_HANDLE);
  if (attr->kind != NodeKind::DIRECTORY) return unexpected(FsStatus::NOT_DIRECTORY);
  if (name.front() == '/') return unexpected(FsStatus::INVALID);
  const std::string base = h->second.path == "/" ? "" : h->second.path;
  return locate(base + "/" + std::string(name));
}

std::string VfsService::path_of(const Located& at) const {
  std::string p = mounts_[at.mount].path == "/" ? "" : mounts_[at.mount].path;
  for (const std::string& c : at.inside) p += "/" + c;
  return p.empty() ? "/" : p;
}

FsResult<Ino> VfsService::walk(Filesystem& fs, const std::vector<std::string>& inside, bool parent_only) const {
  Ino at = fs.root();
  if (parent_only && inside.empty()) return at;
  const std::size_t n = parent_only ? inside.size() - 1 : inside.size();
  for (std::size_t i = 0; i < n; ++i) {
    auto attr = fs.stat(at);
    if (!attr) return unexpected(attr.error());
    if (attr->kind == NodeKind::SYMLINK) return unexpected(FsStatus::IS_SYMLINK);
    auto next = fs.lookup(at, inside[i]);
    if (!next) return unexpected(next.error());
    at = *next;
  }
  if (n > 0 || !parent_only) {
    auto attr = fs.stat(at);
    if (!attr) return unexpected(attr.error());
    if (parent_only && attr->kind == NodeKind::SYMLINK) return unexpected(FsStatus::IS_SYMLINK);
  }
  return at;
}

std::uint32_t VfsService::faults_of_mount(std::size_t mount) const {
  const ServiceRecord* r = services_.find(mounts_[mount].service);
  return r == nullptr ? 0 : r->spec.faults;
}

VfsService::Routed VfsService::serve_routed(const abi::Message& message) {
  Routed out;
  const auto decoded = vfs::decode_request(message);
  if (!decoded) {
    out.reply = status_reply(message.label, vfs::refusal(decoded.error()));
    return out;
  }
  const vfs::Request& r = *decoded;
  vfs::Reply reply;
  auto finish = [&](FsStatus s) {
    reply.status = s;
    out.reply = vfs::encode(r.op, reply);
    return out;
  };
  auto handle_mount = [&]() -> std::optional<std::size_t> {
    const auto h = handles_.find(r.handle);
    if (h == handles_.end()) return std::nullopt;
    return h->second.mount;
  };

  // Where the call goes: a handle's mount, or name a's.
  std::optional<Located> at;
  if (vfs::is_name_op(r.op)) {
    auto loc = locate_request(r, r.op == vfs::Op::SYMLINK ? r.name_b() : r.name_a());
    if (!loc) return finish(loc.error());
    at = *loc;
    out.mount = at->mount;
  } else {
    out.mount = handle_mount();
    if (!out.mount) return finish(FsStatus::BAD_HANDLE);
  }
  const MountPoint& mount = mounts_[*out.mount];
  Filesystem& fs = filesystem(mount.service);
  const bool creating = r.op == vfs::Op::OPEN && (r.flags & (vfs::kCreate | vfs::kTruncate)) != 0;
  if (mount.read_only && (is_change(r.op) || creating)) return finish(FsStatus::READ_ONLY);
  const Ino node = vfs::is_name_op(r.op) ? 0 : handles_[r.handle].node;
  const bool at_root = at && at->inside.empty();
  auto parent = [&]() { return walk(fs, at->inside, true); };

  switch (r.op) {
    case vfs::Op::OPEN: {
      Ino target = fs.root();
      if (!at_root) {
        auto dir = parent();
        if (!dir) return finish(dir.error());
        auto found = fs.lookup(*dir, at->inside.back());
        if (!found && found.error() == FsStatus::NOT_FOUND && (r.flags & vfs::kCreate) != 0) {
          found = fs.create(*dir, at->inside.back(), r.mode);
        } else if (found && (r.flags & vfs::kCreate) != 0 && (r.flags & vfs::kExclusive) != 0) {
          return finish(FsStatus::EXISTS);
        }
        if (!found) return finish(found.error());
        target = *found;
      } else if ((r.flags & vfs::kCreate) != 0 && (r.flags & vfs::kExclusive) != 0) {
        return finish(FsStatus::EXISTS);
      }
      auto attr = fs.stat(target);
      if (!attr) return finish(attr.error());
      if (attr->kind == NodeKind::SYMLINK) return finish(FsStatus::IS_SYMLINK);
      if ((r.flags & vfs::kDirectory) != 0 && attr->kind != NodeKind::DIRECTORY) return finish(FsStatus::NOT_DIRECTORY);
      if ((r.flags & vfs::kTruncate) != 0) {
        if (attr->kind == NodeKind::DIRECTORY) return finish(FsStatus::IS_DIRECTORY);
        if (auto t = fs.truncate(target, 0); !t) return finish(t.error());
        attr->size = 0;
      }
      std::uint16_t h = 1;
      while (h <= kMaxHandles && handles_.count(h) != 0) ++h;
      if (h > kMaxHandles) return finish(FsStatus::NO_SPACE);
      handles_[h] = Handle{*out.mount, target, path_of(*at)};
      reply.handle = h;
      reply.kind = attr->kind;
      reply.size = attr->size;
      return finish(FsStatus::OK);
    }
    case vfs::Op::READ: {
      auto bytes = fs.read(node, r.offset, r.count);
      if (!bytes) return finish(bytes.error());
      reply.count = static_cast<std::uint8_t>(bytes->size());
      std::copy(bytes->begin(), bytes->end(), reply.data);
      return finish(FsStatus::OK);
    }
    case vfs::Op::WRITE: {
      auto size = fs.write(node, r.offset, std::span<const char>(reinterpret_cast<const char*>(r.data), r.count));
      if (!size) return finish(size.error());
      reply.count = r.count;
      reply.size = *size;
      return finish(FsStatus::OK);
    }
    case vfs::Op::READDIR: {
      auto entry = fs.readdir(node, r.offset);
      if (!entry) return finish(entry.error());
      if (*entry) {
        if ((*entry)->name.size() > vfs::kChunk) return finish(FsStatus::NAME_TOO_LONG);
        reply.kind = (*entry)->kind;
        reply.count = static_cast<std::uint8_t>((*entry)->name.size());
        std::copy((*entry)->name.begin(), (*entry)->name.end(), reply.data);
      }
      return finish(FsStatus::OK);
    }
    case vfs::Op::UNLINK:
    case vfs::Op::MKDIR:
    case vfs::Op::RMDIR: {
      if (at_root) return finish(r.op == vfs::Op::MKDIR ? FsStatus::EXISTS : FsStatus::INVALID);
      auto dir = parent();
      if (!dir) return finish(dir.error());
      const std::string& name = at->inside.back();
      if (r.op == vfs::Op::MKDIR) {
        auto made = fs.mkdir(*dir, name, r.mode);
        return finish(made ? FsStatus::OK : made.error());
      }
      auto done = r.op == vfs::Op::UNLINK ? fs.unlink(*dir, name) : fs.rmdir(*dir, name);
      return finish(done ? FsStatus::OK : done.error());
    }
    case vfs::Op::RENAME:
    case vfs::Op::LINK: {
      auto to = locate_request(r, r.name_b());
      if (!to) return finish(to.error());
      if (to->mount != at->mount) return finish(FsStatus::CROSS_MOUNT);
      if (at_root || to->inside.empty()) return finish(FsStatus::INVALID);
      auto to_dir = walk(fs, to->inside, true);
      if (!to_dir) return finish(to_dir.error());
      if (r.op == vfs::Op::LINK) {
        auto existing = walk(fs, at->inside, false);
        if (!existing) return finish(existing.error());
        auto done = fs.link(*existing, *to_dir, to->inside.back());
        return finish(done ? FsStatus::OK : done.error());
      }
      auto from_dir = parent();
      if (!from_dir) return finish(from_dir.error());
      auto done = fs.rename(*from_dir, at->inside.back(), *to_dir, to->inside.back());
      return finish(done ? FsStatus::OK : done.error());
    }
    case vfs::Op::TRUNCATE: {
      if (auto done = fs.truncate(node, r.offset); !done) return finish(done.error());
      reply.size = r.offset;
      return finish(FsStatus::OK);
    }
    case vfs::Op::STAT: {
      auto target = walk(fs, at->inside, false);
      if (!target) return finish(target.error());
      auto attr = fs.stat(*target);
      if (!attr) return finish(attr.error());
      reply.kind = attr->kind;
      reply.mode = attr->mode;
      reply.links = attr->links;
      reply.size = attr->size;
      reply.mtime = attr->mtime;
      reply.uid = attr->uid;
      reply.gid = attr->gid;
      reply.generation = attr->generation;
      return finish(FsStatus::OK);
    }
    case vfs::Op::SET_META: {
      MetaChange change;
      if ((r.mask & vfs::kSetMode) != 0) change.mode = r.mode;
      if ((r.mask & vfs::kSetMtime) != 0) change.mtime = r.mtime;
      if ((r.mask & vfs::kSetOwner) != 0) {
        change.uid = r.uid;
        change.gid = r.gid;
      }
      auto done = fs.set_meta(node, change);
      return finish(done ? FsStatus::OK : done.error());
    }
    case vfs::Op::SYMLINK: {
      if (r.name_a().size() > vfs::kMaxTarget) return finish(FsStatus::NAME_TOO_LONG);
      if (at_root) return finish(FsStatus::EXISTS);
      auto dir = parent();
      if (!dir) return finish(dir.error());
      auto made = fs.symlink(*dir, at->inside.back(), r.name_a());
      return finish(made ? FsStatus::OK : made.error());
    }
    case vfs::Op::READLINK: {
      auto target = walk(fs, at->inside, false);
      if (!target) return finish(target.error());
      auto text = fs.readlink(*target);
      if (!text) return finish(text.error());
      if (text->size() > vfs::kChunk) return finish(FsStatus::NAME_TOO_LONG);
      reply.count = static_cast<std::uint8_t>(text->size());
      std::copy(text->begin(), text->end(), reply.data);
      return finish(FsStatus::OK);
    }
    case vfs::Op::CLOSE: handles_.erase(r.handle); return finish(FsStatus::OK);
  }
  return finish(FsStatus::MALFORMED);
}

std::optional<CallReply> VfsService::on_call(Pid receiver, const ServiceRecord& rec, const abi::Message& message,
                                             const std::optional<Cap>& carried) {
  // Labels outside the protocol's range are another protocol's (or none).
  if (rec.spec.role != "vfsd" || message.label < kLabelFirst || message.label > kLabelLast) return std::nullopt;
  if (carried) return CallReply{status_reply(message.label, FsStatus::MALFORMED), std::nullopt};
  // The filesystem a call would reach, found before serving it so that a
  // slow filesystem changes nothing.
  std::uint32_t faults = rec.spec.faults;
  const std::uint32_t relayed = bit(FaultPoint::slow) | bit(FaultPoint::wrong_reply) | bit(FaultPoint::wrong_data);
  if (const auto decoded = vfs::decode_request(message); decoded) {
    std::optional<std::size_t> mount;
    if (vfs::is_name_op(decoded->op)) {
      const auto name = decoded->op == vfs::Op::SYMLINK ? decoded->name_b() : decoded->name_a();
      if (auto loc = locate_request(*decoded, name)) mount = loc->mount;
    } else if (const auto h = handles_.find(decoded->handle); h != handles_.end()) {
      mount = h->second.mount;
    }
    if (mount) faults |= faults_of_mount(*mount) & relayed;
  }
  if ((faults & bit(FaultPoint::slow)) != 0) return CallReply{status_reply(message.label, FsStatus::BUSY), std::nullopt};
  CallReply out{serve(message), std::nullopt};
  if ((faults & bit(FaultPoint::wrong_reply)) != 0) out.message.label ^= 0x40;
  if ((faults & bit(FaultPoint::wrong_data)) != 0 && out.message.words[0] == 0) {
    switch (static_cast<vfs::Op>(message.label)) {
      case vfs::Op::READ:
      case vfs::Op::READLINK:
      case vfs::Op::READDIR:
        if ((out.message.words[1] >> (message.label == static_cast<std::uint64_t>(vfs::Op::READDIR) ? 8 : 0)) != 0) {
          out.message.words[2] ^= 0x01;  // 'f' -> 'g', 'b' -> 'c', a data byte changed
        }
        break;
      case vfs::Op::OPEN: out.message.words[3] += 1; break;
      case vfs::Op::WRITE:
      case vfs::Op::STAT: out.message.words[2] += 1; break;
      case vfs::Op::TRUNCATE: out.message.words[1] += 1; break;
      default: break;
    }
  }
  if ((rec.spec.faults & bit(FaultPoint::extra_cap)) != 0) {
    const Process* vfsd = model_.process(receiver);
    const Cap* endpoint = vfsd == nullptr ? nullptr : vfsd->cap_at(1);
    if (endpoint != nullptr) out.cap = Cap{endpoint->type, endpoint->object, abi::RIGHT_SEND, 0};
  }
  return out;
}

void VfsService::apply_seed(const Seed& s) {
  auto at = locate(s.path);
  if (!at || at->inside.empty()) return;
  Filesystem& fs = filesystem(mounts_[at->mount].service);
  Ino dir = fs.root();
  for (std::size_t i = 0; i + 1 < at->inside.size(); ++i) {
    auto next = fs.lookup(dir, at->inside[i]);
    if (!next && next.error() == FsStatus::NOT_FOUND) next = fs.mkdir(dir, at->inside[i], 0755);
    if (!next) return;
    dir = *next;
  }
  auto file = fs.lookup(dir, at->inside.back());
  if (!file && file.error() == FsStatus::NOT_FOUND) file = fs.create(dir, at->inside.back(), s.mode);
  if (!file) return;
  if (!fs.truncate(*file, 0)) return;
  (void)fs.write(*file, 0, s.bytes);
  MetaChange change;
  change.mode = s.mode;
  (void)fs.set_meta(*file, change);
}

bool VfsService::seed(const std::string& path, std::vector<char> bytes, std::uint16_t mode, bool unstable) {
  auto parts = components(path);
  if (!parts || parts->empty() || mode > vfs::kModeMask) return false;
  unstable_[path] = unstable;
  Seed s{path, std::move(bytes), mode};
  if (!mounted_) {
    pending_.push_back(std::move(s));
    return true;
  }
  auto at = locate(path);
  if (!at) return false;
  apply_seed(s);
  return true;
}

VfsService::Source VfsService::read_source(std::string_view path, std::size_t limit) {
  Source out;
  auto at = locate(path);
  if (!at) {
    out.status = at.error();
    return out;
  }
  const std::uint32_t faults = faults_of_mount(at->mount);
  if ((faults & bit(FaultPoint::slow)) != 0) {
    out.status = FsStatus::BUSY;
    return out;
  }
  Filesystem& fs = filesystem(mounts_[at->mount].service);
  auto node = walk(fs, at->inside, false);
  if (!node) {
    out.status = node.error();
    return out;
  }
  auto attr = fs.stat(*node);
  if (attr && attr->kind == NodeKind::FILE) {
    if (const auto u = unstable_.find(std::string(path)); u != unstable_.end() && u->second) {
      MetaChange touch;
      touch.mtime = attr->mtime + 1;
      (void)fs.set_meta(*node, touch);
      attr = fs.stat(*node);
    }
  }
  if (!attr) {
    out.status = attr.error();
    return out;
  }
  out.size = attr->size;
  out.directory = attr->kind == NodeKind::DIRECTORY;
  out.executable = (attr->mode & 0111) != 0;
  out.generation = attr->generation;
  if (attr->kind == NodeKind::SYMLINK) {
    out.status = FsStatus::IS_SYMLINK;
    return out;
  }
  if (attr->kind == NodeKind::FILE) {
    auto bytes = fs.read(*node, 0, limit);
    if (!bytes) {
      out.status = bytes.error();
      return out;
    }
    out.bytes = std::move(*bytes);
    if ((faults & bit(FaultPoint::wrong_data)) != 0 && !out.bytes.empty()) out.bytes[0] ^= static_cast<char>(0xFF);
  }
  return out;
}

}  // namespace erix::sim
