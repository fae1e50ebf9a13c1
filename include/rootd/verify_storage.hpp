// The storage verifiers: STORAGE_MOUNT proves every mount of the config
// works through vfsd, VOLATILE_VFS proves the rest of the namespace
// operations on a memory-backed mount (verify.hpp, vfs_protocol.hpp).
//
// Both run a fixed program of vfsd calls. Each call has a step name, the
// status it must get and, where the reply carries data, what that data must
// be. A reply vfs::decode_reply refuses, or with another status, is
// WRONG_REPLY; the right status with other data is WRONG_DATA; every failure
// names vfsd, which answered. vfsd may answer BUSY ("not yet") to any call:
// the same call is sent again, at most kBusyRetries times in a row, then
// the step fails with BUDGET.
//
// Names are relative to a handle on the mount's root, so a mount is reached
// by its path alone: a mount path longer than vfs::kMaxNames cannot be sent
// and fails MISSING at OPEN_MOUNT before any call.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rootd/verify.hpp"
#include "rootd/vfs_protocol.hpp"

namespace rootd::verify {

inline constexpr std::uint32_t kBusyRetries = 8;

namespace storage_detail {

enum class MoveKind : std::uint8_t { CALL, PROOF, DONE, FAIL };

// One entry of a verifier's program.
struct Move {
  MoveKind kind = MoveKind::DONE;
  std::string_view name{};
  vfs::Request request{};
  vfs::Status want = vfs::Status::OK;
  Failure failure = Failure::MISSING;
};

constexpr Move call_move(std::string_view step, vfs::Op op, std::uint16_t handle, vfs::Status want = vfs::Status::OK) {
  Move m;
  m.kind = MoveKind::CALL;
  m.name = step;
  m.request.op = op;
  m.request.handle = handle;
  m.want = want;
  return m;
}
constexpr Move name_move(std::string_view step, vfs::Op op, std::uint16_t base, std::string_view a,
                         std::string_view b = {}, vfs::Status want = vfs::Status::OK) {
  Move m = call_move(step, op, base, want);
  if (!vfs::set_names(m.request, a, b)) {
    m.kind = MoveKind::FAIL;
    m.failure = Failure::MISSING;
  }
  return m;
}
constexpr Move proof_move(std::string_view name) {
  Move m;
  m.kind = MoveKind::PROOF;
  m.name = name;
  return m;
}

// The 32 bytes a verifier writes; `seed` keeps two mounts' bytes apart.
constexpr std::uint8_t pattern(std::size_t i, std::size_t seed) {
  return static_cast<std::uint8_t>('A' + (i + 7 * seed) % 26);
}
constexpr void fill_pattern(vfs::Request& r, std::size_t seed) {
  r.count = vfs::kChunk;
  for (std::size_t i = 0; i < vfs::kChunk; ++i) r.data[i] = pattern(i, seed);
}
// `r` holds `n` bytes: the first `keep` of the pattern, then zeros.
constexpr bool holds(const vfs::Reply& r, std::size_t n, std::size_t keep, std::size_t seed) {
  if (r.count != n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (r.data[i] != (i < keep ? pattern(i, seed) : 0)) return false;
  }
  return true;
}

// The loop both verifiers share: Program has
//   constexpr Move plan(const Context&) const;       // the move at pc_
//   constexpr bool take(const vfs::Reply&);           // judge and keep a reply's data
// and advances pc_ itself only through this loop.
template <class Program>
class Script {
 public:
  constexpr Step next(const Context& ctx, const Reply* reply) {
    auto& self = static_cast<Program&>(*this);
    if (!started_) {
      started_ = true;
      vfsd_ = ctx.service_of(RoleId::VFSD);
      if (vfsd_ == bcfg::kNoIndex) return fail(Failure::MISSING, "VFSD", bcfg::kNoIndex);
    }
    if (reply != nullptr) {
      const Move pending = self.plan(ctx);
      const Result<vfs::Reply> got = vfs::decode_reply(reply->message, pending.request.op);
      if (!got) return fail(Failure::WRONG_REPLY, pending.name, vfsd_);
      if (got->status == vfs::Status::BUSY) {
        if (++busy_ > kBusyRetries) return fail(Failure::BUDGET, pending.name, vfsd_);
        return call(vfsd_, pending.name, vfs::encode(pending.request));
      }
      busy_ = 0;
      if (got->status != pending.want) return fail(Failure::WRONG_REPLY, pending.name, vfsd_);
      if (!self.take(*got)) return fail(Failure::WRONG_DATA, pending.name, vfsd_);
      ++pc_;
    }
    const Move m = self.plan(ctx);
    switch (m.kind) {
      case MoveKind::CALL: return call(vfsd_, m.name, vfs::encode(m.request));
      case MoveKind::PROOF: ++pc_; return proof(m.name);
      case MoveKind::FAIL: return fail(m.failure, m.name, vfsd_);
      case MoveKind::DONE: break;
    }
    return done();
  }

 protected:
  std::uint16_t pc_ = 0;
  std::uint16_t vfsd_ = bcfg::kNoIndex;
  std::uint32_t busy_ = 0;
  bool started_ = false;
};

}  // namespace storage_detail

// STORAGE_MOUNT: on each mount, in config order. Writable:
//   OPEN_MOUNT MKDIR CREATE WRITE READ CLOSE_FILE OPEN_DIR READDIR READDIR_END
//   CLOSE_DIR UNLINK RMDIR GONE CLOSE_MOUNT, then PROOF VFS_MOUNT_<n>;
// read-only: OPEN_MOUNT, RO_CREATE and RO_MKDIR (both must be READ_ONLY),
// CLOSE_MOUNT, then the same proof. After the last: PROOF STORAGE_MOUNT.
// The scratch directory is `.vfy` in the mount root, the file `.vfy/f`.
class StorageMountVerifier : public storage_detail::Script<StorageMountVerifier> {
  friend class storage_detail::Script<StorageMountVerifier>;
  using Move = storage_detail::Move;

  // Program counters within one mount.
  enum : std::uint16_t {
    OPEN_MOUNT, MKDIR, CREATE, WRITE, READ, CLOSE_FILE, OPEN_DIR, READDIR, READDIR_END, CLOSE_DIR,
    UNLINK, RMDIR, GONE, CLOSE_MOUNT, PROOF, NEXT_MOUNT,
    RO_CREATE = 100, RO_MKDIR,
  };

  constexpr Move plan(const Context& ctx) {
    using vfs::Op;
    using vfs::Status;
    using namespace storage_detail;
    if (mount_ >= ctx.cfg.mount_count()) {
      if (pc_ == 0) return proof_move("STORAGE_MOUNT");
      return Move{};
    }
    const bcfg::Mount mount = ctx.cfg.mount(mount_);
    switch (pc_) {
      case OPEN_MOUNT: {
        Move m = name_move("OPEN_MOUNT", Op::OPEN, 0, mount.path);
        m.request.flags = vfs::kDirectory;
        return m;
      }
      case MKDIR: {
        if (mount.read_only) {
          pc_ = RO_CREATE;
          return plan(ctx);
        }
        Move m = name_move("MKDIR", Op::MKDIR, root_, ".vfy");
        m.request.mode = 0755;
        return m;
      }
      case CREATE: {
        Move m = name_move("CREATE", Op::OPEN, root_, ".vfy/f");
        m.request.flags = vfs::kCreate | vfs::kExclusive;
        m.request.mode = 0644;
        return m;
      }
      case WRITE: {
        Move m = call_move("WRITE", Op::WRITE, file_);
        fill_pattern(m.request, mount_);
        return m;
      }
      case READ: {
        Move m = call_move("READ", Op::READ, file_);
        m.request.count = vfs::kChunk;
        return m;
      }
      case CLOSE_FILE: return call_move("CLOSE_FILE", Op::CLOSE, file_);
      case OPEN_DIR: {
        Move m = name_move("OPEN_DIR", Op::OPEN, root_, ".vfy");
        m.request.flags = vfs::kDirectory;
        return m;
      }
      case READDIR: return call_move("READDIR", Op::READDIR, dir_);
      case READDIR_END: {
        Move m = call_move("READDIR_END", Op::READDIR, dir_);
        m.request.offset = 1;
        return m;
      }
      case CLOSE_DIR: return call_move("CLOSE_DIR", Op::CLOSE, dir_);
      case UNLINK: return name_move("UNLINK", Op::UNLINK, root_, ".vfy/f");
      case RMDIR: return name_move("RMDIR", Op::RMDIR, root_, ".vfy");
      case GONE: return name_move("GONE", Op::STAT, root_, ".vfy", {}, Status::NOT_FOUND);
      case CLOSE_MOUNT: return call_move("CLOSE_MOUNT", Op::CLOSE, root_);
      case PROOF: {
        // VFS_MOUNT_<n>: the digits live in this object until the next call.
        std::size_t len = 10;
        const std::uint16_t n = mount_;
        if (n >= 10) proof_name_[len++] = static_cast<char>('0' + n / 10);
        proof_name_[len++] = static_cast<char>('0' + n % 10);
        return proof_move(std::string_view(proof_name_, len));
      }
      case NEXT_MOUNT:
        ++mount_;
        pc_ = 0;
        return plan(ctx);
      case RO_CREATE: {
        Move m = name_move("RO_CREATE", Op::OPEN, root_, ".vfy", {}, Status::READ_ONLY);
        m.request.flags = vfs::kCreate | vfs::kExclusive;
        m.request.mode = 0644;
        return m;
      }
      case RO_MKDIR: {
        Move m = name_move("RO_MKDIR", Op::MKDIR, root_, ".vfy", {}, Status::READ_ONLY);
        m.request.mode = 0755;
        return m;
      }
      case RO_MKDIR + 1: pc_ = CLOSE_MOUNT; return plan(ctx);
      default: return Move{};
    }
  }

  constexpr bool take(const vfs::Reply& r) {
    switch (pc_) {
      case OPEN_MOUNT: root_ = r.handle; return r.kind == vfs::Kind::DIRECTORY;
      case CREATE: file_ = r.handle; return r.kind == vfs::Kind::FILE && r.size == 0;
      case WRITE: return r.count == vfs::kChunk && r.size == vfs::kChunk;
      case READ: return storage_detail::holds(r, vfs::kChunk, vfs::kChunk, mount_);
      case OPEN_DIR: dir_ = r.handle; return r.kind == vfs::Kind::DIRECTORY;
      case READDIR: return r.kind == vfs::Kind::FILE && r.text_is("f");
      case READDIR_END: return r.kind == vfs::Kind::NONE;
      default: return true;
    }
  }

  std::uint16_t mount_ = 0;
  std::uint16_t root_ = 0, dir_ = 0, file_ = 0;
  char proof_name_[12] = {'V', 'F', 'S', '_', 'M', 'O', 'U', 'N', 'T', '_', 0, 0};
};

// VOLATILE_VFS: on the first writable memory-backed mount (none: MISSING at
// MEMORY_MOUNT), in a scratch directory `.vfv`:
//   rename `a` to `b` (VFS_RENAME), truncate to 8 then 40 bytes and read the
//   zero-filled growth (VFS_TRUNCATE), symlink `l` -> `b` and readlink
//   (VFS_SYMLINK), hard link `k` refused NOT_SUPPORTED and absent
//   (VFS_LINK_REFUSED), set mode, mtime and owner and stat them back
//   (VFS_METADATA); then everything is removed and VOLATILE_VFS is proved.
class VolatileVfsVerifier : public storage_detail::Script<VolatileVfsVerifier> {
  friend class storage_detail::Script<VolatileVfsVerifier>;
  using Move = storage_detail::Move;

  static constexpr std::uint16_t kMode = 0640;
  static constexpr std::uint64_t kMtime = 0x5EED0001;
  static constexpr std::uint32_t kUid = 7, kGid = 9;

  constexpr std::size_t memory_mount(const Context& ctx) const {
    for (std::size_t m = 0; m < ctx.cfg.mount_count(); ++m) {
      const bcfg::Mount mount = ctx.cfg.mount(m);
      if (!mount.read_only && ctx.cfg.provider(mount.provider).block == bcfg::kNoIndex) return m;
    }
    return ctx.cfg.mount_count();
  }

  constexpr Move plan(const Context& ctx) const {
    using vfs::Op;
    using vfs::Status;
    using namespace storage_detail;
    const std::size_t at = memory_mount(ctx);
    if (at == ctx.cfg.mount_count()) {
      Move m;
      m.kind = MoveKind::FAIL;
      m.name = "MEMORY_MOUNT";
      return m;
    }
    switch (pc_) {
      case 0: {
        Move m = name_move("OPEN_MOUNT", Op::OPEN, 0, ctx.cfg.mount(at).path);
        m.request.flags = vfs::kDirectory;
        return m;
      }
      case 1: {
        Move m = name_move("MKDIR", Op::MKDIR, root_, ".vfv");
        m.request.mode = 0755;
        return m;
      }
      case 2: {
        Move m = name_move("OPEN_DIR", Op::OPEN, root_, ".vfv");
        m.request.flags = vfs::kDirectory;
        return m;
      }
      case 3: {
        Move m = name_move("CREATE", Op::OPEN, dir_, "a");
        m.request.flags = vfs::kCreate | vfs::kExclusive;
        m.request.mode = 0644;
        return m;
      }
      case 4: {
        Move m = call_move("WRITE", Op::WRITE, file_);
        fill_pattern(m.request, 0);
        return m;
      }
      case 5: return name_move("RENAME", Op::RENAME, dir_, "a", "b");
      case 6: return name_move("OLD_GONE", Op::STAT, dir_, "a", {}, Status::NOT_FOUND);
      case 7: return name_move("NEW_STAT", Op::STAT, dir_, "b");
      case 8: return proof_move("VFS_RENAME");
      case 9:
      case 10: {
        Move m = call_move(pc_ == 9 ? "SHRINK" : "GROW", Op::TRUNCATE, file_);
        m.request.offset = pc_ == 9 ? 8 : 40;
        return m;
      }
      case 11:
      case 12: {
        Move m = call_move(pc_ == 11 ? "READ_GROWN" : "READ_TAIL", Op::READ, file_);
        m.request.offset = pc_ == 11 ? 0 : 32;
        m.request.count = vfs::kChunk;
        return m;
      }
      case 13: return proof_move("VFS_TRUNCATE");
      case 14: return name_move("SYMLINK", Op::SYMLINK, dir_, "b", "l");
      case 15: return name_move("READLINK", Op::READLINK, dir_, "l");
      case 16: return name_move("LINK_STAT", Op::STAT, dir_, "l");
      case 17: return proof_move("VFS_SYMLINK");
      case 18: return name_move("HARD_LINK", Op::LINK, dir_, "b", "k", Status::NOT_SUPPORTED);
      case 19: return name_move("NO_LINK", Op::STAT, dir_, "k", {}, Status::NOT_FOUND);
      case 20: return proof_move("VFS_LINK_REFUSED");
      case 21: {
        Move m = call_move("SET_META", Op::SET_META, file_);
        m.request.mask = vfs::kMetaMask;
        m.request.mode = kMode;
        m.request.mtime = kMtime;
        m.request.uid = kUid;
        m.request.gid = kGid;
        return m;
      }
      case 22: return name_move("META_STAT", Op::STAT, dir_, "b");
      case 23: return proof_move("VFS_METADATA");
      case 24: return call_move("CLOSE_FILE", Op::CLOSE, file_);
      case 25: return name_move("UNLINK_LINK", Op::UNLINK, dir_, "l");
      case 26: return name_move("UNLINK", Op::UNLINK, dir_, "b");
      case 27: return call_move("CLOSE_DIR", Op::CLOSE, dir_);
      case 28: return name_move("RMDIR", Op::RMDIR, root_, ".vfv");
      case 29: return call_move("CLOSE_MOUNT", Op::CLOSE, root_);
      case 30: return proof_move("VOLATILE_VFS");
      default: return Move{};
    }
  }

  constexpr bool take(const vfs::Reply& r) {
    using vfs::Kind;
    switch (pc_) {
      case 0: root_ = r.handle; return r.kind == Kind::DIRECTORY;
      case 2: dir_ = r.handle; return r.kind == Kind::DIRECTORY;
      case 3: file_ = r.handle; return r.kind == Kind::FILE && r.size == 0;
      case 4: return r.count == vfs::kChunk && r.size == vfs::kChunk;
      case 7: return r.kind == Kind::FILE && r.size == vfs::kChunk;
      case 9: return r.size == 8;
      case 10: return r.size == 40;
      case 11: return storage_detail::holds(r, vfs::kChunk, 8, 0);
      case 12: return storage_detail::holds(r, 8, 0, 0);
      case 15: return r.text_is("b");
      case 16: return r.kind == Kind::SYMLINK;
      case 22:
        return r.kind == Kind::FILE && r.mode == kMode && r.mtime == kMtime && r.uid == kUid && r.gid == kGid &&
               r.size == 40;
      default: return true;
    }
  }

  std::uint16_t root_ = 0, dir_ = 0, file_ = 0;
};

}  // namespace rootd::verify
