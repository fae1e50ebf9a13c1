// vfsd's protocol (include/rootd/vfs_protocol.hpp), the simulated
// filesystems and vfsd (sim/filesystem.hpp, sim/vfs_service.hpp), and the
// storage verifiers (include/rootd/verify_storage.hpp):
// - every request and reply survives encode/decode, and the decoders refuse
//   crafted messages; a random message the decoder accepts re-encodes to
//   itself, so nothing outside the documented fields is ever accepted;
// - MemoryFilesystem against a path-keyed model written here from the
//   POSIX rules, over random operation sequences;
// - vfsd's routing by longest mount prefix, read-only refusals;
// - both verifiers against a scripted vfsd in a constant expression, and
//   against the simulated vfsd of a booted system: they pass with their
//   proofs, and each verifier fault point of vfsd (and wrong data from a
//   filesystem service) makes them fail at a named step naming vfsd.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <utility>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "filesystem.hpp"
#include "kernel_model.hpp"
#include "policy_fixtures.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/verify_storage.hpp"
#include "rootd/vfs_protocol.hpp"
#include "services.hpp"
#include "system_image.hpp"
#include "verify_harness.hpp"
#include "vfs_service.hpp"

namespace sim = erix::sim;
namespace abi = rootd::abi;
namespace vfs = rootd::vfs;
namespace verify = rootd::verify;
using vfs::Op;
using FS = vfs::Status;

namespace {

// ---- protocol ------------------------------------------------------------------

vfs::Request named(Op op, std::uint16_t handle, std::string_view a, std::string_view b = {}) {
  vfs::Request r;
  r.op = op;
  r.handle = handle;
  REQUIRE(vfs::set_names(r, a, b));
  return r;
}

std::vector<vfs::Request> sample_requests() {
  std::vector<vfs::Request> out;
  vfs::Request open = named(Op::OPEN, 0, "/data/bin/loader-ok");
  open.flags = vfs::kCreate | vfs::kExclusive | vfs::kTruncate;
  open.mode = 0755;
  out.push_back(open);
  vfs::Request open_dir = named(Op::OPEN, 3, "sub");
  open_dir.flags = vfs::kDirectory;
  out.push_back(open_dir);
  vfs::Request mkdir = named(Op::MKDIR, 0, "/012345678901234567890123456789012345678");
  mkdir.mode = 0700;
  out.push_back(mkdir);
  for (Op op : {Op::UNLINK, Op::RMDIR, Op::STAT, Op::READLINK}) out.push_back(named(op, 9, "x/y"));
  out.push_back(named(Op::RENAME, 0xFFFF, "abcdefghijklmnopqrst", "ABCDEFGHIJKLMNOPQRST"));
  out.push_back(named(Op::SYMLINK, 0, "target", "/link"));
  out.push_back(named(Op::LINK, 1, "a", "b"));
  vfs::Request read;
  read.op = Op::READ;
  read.handle = 2;
  read.offset = 0xFFFF'FFFF'FFFF'FF00ULL;
  read.count = 32;
  out.push_back(read);
  vfs::Request write;
  write.op = Op::WRITE;
  write.handle = 0xFFFF;
  write.offset = 77;
  write.count = 13;
  for (std::uint8_t i = 0; i < 13; ++i) write.data[i] = static_cast<std::uint8_t>(0xF0 + i);
  out.push_back(write);
  write.count = 32;
  for (std::uint8_t i = 0; i < 32; ++i) write.data[i] = i;  // zero bytes are data, not terminators
  out.push_back(write);
  vfs::Request readdir;
  readdir.op = Op::READDIR;
  readdir.handle = 4;
  readdir.offset = 12;
  out.push_back(readdir);
  vfs::Request truncate = readdir;
  truncate.op = Op::TRUNCATE;
  truncate.offset = 1 << 20;
  out.push_back(truncate);
  vfs::Request meta;
  meta.op = Op::SET_META;
  meta.handle = 5;
  meta.mask = vfs::kSetMode | vfs::kSetOwner;
  meta.mode = 0xFFF;
  meta.uid = 0xFFFF'FFFF;
  meta.gid = 1;
  out.push_back(meta);
  meta.mask = vfs::kSetMtime;
  meta.mode = 0;
  meta.uid = meta.gid = 0;
  meta.mtime = ~0ULL;
  out.push_back(meta);
  vfs::Request close;
  close.op = Op::CLOSE;
  close.handle = 1;
  out.push_back(close);
  return out;
}

// A message written word by word from the documented layout (not by encode).
abi::Message raw(Op op, std::initializer_list<std::uint64_t> words) {
  abi::Message m{};
  m.label = static_cast<std::uint64_t>(op);
  std::size_t i = 0;
  for (std::uint64_t w : words) m.words[i++] = w;
  return m;
}
std::uint64_t text_word(std::string_view s) {
  std::uint64_t w = 0;
  for (std::size_t i = 0; i < s.size() && i < 8; ++i) w |= std::uint64_t{static_cast<std::uint8_t>(s[i])} << (8 * i);
  return w;
}

TEST_CASE("every request survives encode and decode, and matches the documented words") {
  for (const vfs::Request& r : sample_requests()) {
    INFO("op " << static_cast<int>(r.op));
    const abi::Message m = vfs::encode(r);
    CHECK(m.label == static_cast<std::uint64_t>(r.op));
    CHECK(m.cap == abi::kNoSlot);
    const auto back = vfs::decode_request(m);
    REQUIRE(back);
    CHECK(*back == r);
  }
  // The layout, by hand: OPEN "/ab" relative to nothing, CREATE, mode 0644.
  const abi::Message open = raw(Op::OPEN, {(3ULL << 16) | (1ULL << 32) | (0644ULL << 40), text_word("/ab")});
  const auto o = vfs::decode_request(open);
  REQUIRE(o);
  CHECK(o->name_a() == "/ab");
  CHECK(o->flags == vfs::kCreate);
  CHECK(o->mode == 0644);
  // RENAME "a" -> "bc" relative to handle 7: names packed back to back.
  const auto ren = vfs::decode_request(raw(Op::RENAME, {7 | (1ULL << 16) | (2ULL << 24), text_word("abc")}));
  REQUIRE(ren);
  CHECK(ren->handle == 7);
  CHECK(ren->name_a() == "a");
  CHECK(ren->name_b() == "bc");
  // WRITE 2 bytes at 5.
  const auto w = vfs::decode_request(raw(Op::WRITE, {9 | (2ULL << 16), 5, 0xBBAA}));
  REQUIRE(w);
  CHECK(w->count == 2);
  CHECK(w->data[0] == 0xAA);
  CHECK(w->data[1] == 0xBB);
}

TEST_CASE("the request decoder refuses every crafted bad message") {
  struct Bad {
    const char* what;
    abi::Message m;
    FS answer;
  };
  abi::Message carried = raw(Op::CLOSE, {1});
  carried.cap = 5;
  abi::Message label = raw(Op::CLOSE, {1});
  label.label = 0x8F;
  abi::Message low_label = raw(Op::CLOSE, {1});
  low_label.label = 0x7F;
  const std::uint64_t one = 1ULL << 16;  // len_a = 1
  const Bad bad[] = {
      {"label past the last op", label, FS::MALFORMED},
      {"label before the first op", low_label, FS::MALFORMED},
      {"a carried cap", carried, FS::MALFORMED},
      {"empty name", raw(Op::STAT, {0}), FS::MALFORMED},
      {"41 bytes of names", raw(Op::RENAME, {(21ULL << 16) | (20ULL << 24)}), FS::NAME_TOO_LONG},
      {"255 bytes of name", raw(Op::STAT, {255ULL << 16}), FS::NAME_TOO_LONG},
      {"zero byte inside the name", raw(Op::STAT, {2ULL << 16, 'a'}), FS::MALFORMED},
      {"a byte after the name", raw(Op::STAT, {one, text_word("ab")}), FS::MALFORMED},
      {"a byte in w5 after the name", raw(Op::STAT, {one, 'a', 0, 0, 0, 1ULL << 56}), FS::MALFORMED},
      {"second name on STAT", raw(Op::STAT, {one | (1ULL << 24), text_word("ab")}), FS::MALFORMED},
      {"no second name on RENAME", raw(Op::RENAME, {one, 'a'}), FS::MALFORMED},
      {"OPEN flag bit 4", raw(Op::OPEN, {one | (0x10ULL << 32), 'a'}), FS::MALFORMED},
      {"flags on STAT", raw(Op::STAT, {one | (1ULL << 32), 'a'}), FS::MALFORMED},
      {"mode without CREATE", raw(Op::OPEN, {one | (0644ULL << 40), 'a'}), FS::MALFORMED},
      {"mode past 12 bits", raw(Op::MKDIR, {one | (0x1000ULL << 40), 'a'}), FS::MALFORMED},
      {"mode on UNLINK", raw(Op::UNLINK, {one | (1ULL << 40), 'a'}), FS::MALFORMED},
      {"handle 0 on READ", raw(Op::READ, {0, 0, 1}), FS::MALFORMED},
      {"READ of 0 bytes", raw(Op::READ, {1, 0, 0}), FS::MALFORMED},
      {"READ of 33 bytes", raw(Op::READ, {1, 0, 33}), FS::MALFORMED},
      {"READ with w3", raw(Op::READ, {1, 0, 1, 1}), FS::MALFORMED},
      {"READ bits above the handle", raw(Op::READ, {1 | (1ULL << 16), 0, 1}), FS::MALFORMED},
      {"WRITE of 0 bytes", raw(Op::WRITE, {1, 0}), FS::MALFORMED},
      {"WRITE of 33 bytes", raw(Op::WRITE, {1 | (33ULL << 16), 0}), FS::MALFORMED},
      {"WRITE data past its count", raw(Op::WRITE, {1 | (1ULL << 16), 0, 0x0101}), FS::MALFORMED},
      {"WRITE bits above the count", raw(Op::WRITE, {1 | (1ULL << 24), 0, 1}), FS::MALFORMED},
      {"READDIR with w2", raw(Op::READDIR, {1, 0, 1}), FS::MALFORMED},
      {"TRUNCATE with w5", raw(Op::TRUNCATE, {1, 0, 0, 0, 0, 1}), FS::MALFORMED},
      {"SET_META with no field", raw(Op::SET_META, {1}), FS::MALFORMED},
      {"SET_META mask bit 3", raw(Op::SET_META, {1 | (8ULL << 16)}), FS::MALFORMED},
      {"SET_META mode past 12 bits", raw(Op::SET_META, {1 | (1ULL << 16), 0x1000}), FS::MALFORMED},
      {"SET_META mtime not in the mask", raw(Op::SET_META, {1 | (1ULL << 16), 0, 5}), FS::MALFORMED},
      {"SET_META owner not in the mask", raw(Op::SET_META, {1 | (2ULL << 16), 0, 5, 1}), FS::MALFORMED},
      {"SET_META with w4", raw(Op::SET_META, {1 | (7ULL << 16), 0, 0, 0, 1}), FS::MALFORMED},
      {"CLOSE with w1", raw(Op::CLOSE, {1, 1}), FS::MALFORMED},
      {"CLOSE of handle 0", raw(Op::CLOSE, {0}), FS::MALFORMED},
  };
  for (const Bad& b : bad) {
    INFO(b.what);
    const auto got = vfs::decode_request(b.m);
    REQUIRE_FALSE(got);
    CHECK(vfs::refusal(got.error()) == b.answer);
  }
}

TEST_CASE("a message one bit away from a valid one is refused or re-encodes to itself") {
  // Every single-bit change of every word of every sample request and
  // reply: the decoder either refuses it or accepted exactly the fields the
  // encoder writes back, so no bit outside a documented field is ignored.
  std::uint64_t accepted = 0, refused = 0;
  auto flip_all = [&](const abi::Message& good, auto decode, auto reencode) {
    for (int w = 0; w < 6; ++w) {
      for (int b = 0; b < 64; ++b) {
        abi::Message m = good;
        m.words[w] ^= 1ULL << b;
        const auto r = decode(m);
        if (!r) {
          ++refused;
          continue;
        }
        ++accepted;
        const abi::Message again = reencode(*r);
        INFO("label " << m.label << " word " << w << " bit " << b);
        REQUIRE(again.label == m.label);
        for (int i = 0; i < 6; ++i) REQUIRE(again.words[i] == m.words[i]);
      }
    }
  };
  for (const vfs::Request& r : sample_requests()) {
    flip_all(vfs::encode(r), [](const abi::Message& m) { return vfs::decode_request(m); },
             [](const vfs::Request& x) { return vfs::encode(x); });
  }
  vfs::Reply stat;
  stat.kind = vfs::Kind::DIRECTORY;
  stat.mode = 0755;
  stat.size = 3;
  vfs::Reply data;
  data.count = 5;
  for (std::uint8_t i = 0; i < 5; ++i) data.data[i] = static_cast<std::uint8_t>('a' + i);
  vfs::Reply opened;
  opened.handle = 3;
  opened.kind = vfs::Kind::FILE;
  vfs::Reply entry = data;
  entry.kind = vfs::Kind::FILE;
  const std::pair<Op, vfs::Reply> replies[] = {{Op::STAT, stat},     {Op::READ, data},       {Op::READLINK, data},
                                               {Op::READDIR, entry}, {Op::OPEN, opened},     {Op::CLOSE, vfs::Reply{}},
                                               {Op::WRITE, data},    {Op::TRUNCATE, stat}};
  for (const auto& [op, r] : replies) {
    const Op o = op;
    flip_all(vfs::encode(o, r), [o](const abi::Message& m) { return vfs::decode_reply(m, o); },
             [o](const vfs::Reply& x) { return vfs::encode(o, x); });
  }
  CHECK(accepted > 1000);
  CHECK(refused > 1000);
}

TEST_CASE("every reply survives encode and decode; the reply decoder refuses what does not fit") {
  vfs::Reply open;
  open.handle = 0xFFFF;
  open.kind = vfs::Kind::DIRECTORY;
  open.size = 123;
  vfs::Reply read;
  read.count = 32;
  for (std::uint8_t i = 0; i < 32; ++i) read.data[i] = i;
  vfs::Reply entry;
  entry.kind = vfs::Kind::SYMLINK;
  entry.count = 3;
  entry.data[0] = 'a';
  entry.data[1] = 'b';
  entry.data[2] = 'c';
  vfs::Reply end;
  vfs::Reply write;
  write.count = 5;
  write.size = 1 << 20;
  vfs::Reply stat;
  stat.kind = vfs::Kind::FILE;
  stat.mode = 0xFFF;
  stat.links = 0xFFFF'FFFF;
  stat.size = 9;
  stat.mtime = ~0ULL;
  stat.uid = 3;
  stat.gid = 0xFFFF'FFFF;
  stat.generation = 77;
  vfs::Reply refused;
  refused.status = FS::CROSS_MOUNT;
  const std::pair<Op, vfs::Reply> cases[] = {{Op::OPEN, open},     {Op::READ, read},   {Op::READDIR, entry},
                                             {Op::READDIR, end},   {Op::READLINK, entry}, {Op::WRITE, write},
                                             {Op::STAT, stat},     {Op::CLOSE, end},   {Op::RENAME, refused}};
  for (const auto& [op, r] : cases) {
    vfs::Reply want = r;
    if (op == Op::READLINK) want.kind = vfs::Kind::NONE;
    const auto back = vfs::decode_reply(vfs::encode(op, r), op);
    REQUIRE(back);
    CHECK(*back == want);
  }
  auto refuses = [](Op op, abi::Message m) {
    m.label = static_cast<std::uint64_t>(op);
    return !vfs::decode_reply(m, op).ok();
  };
  abi::Message other_label = vfs::encode(Op::STAT, stat);
  CHECK_FALSE(vfs::decode_reply(other_label, Op::OPEN));
  CHECK(refuses(Op::CLOSE, raw(Op::CLOSE, {16})));                          // status past the last
  CHECK(refuses(Op::CLOSE, raw(Op::CLOSE, {1ULL << 8})));                   // bits above the status
  CHECK(refuses(Op::STAT, raw(Op::STAT, {1, 1})));                          // a refusal with data
  CHECK(refuses(Op::OPEN, raw(Op::OPEN, {0, 0, 1})));                       // handle 0
  CHECK(refuses(Op::OPEN, raw(Op::OPEN, {0, 1, 4})));                       // kind 4
  CHECK(refuses(Op::OPEN, raw(Op::OPEN, {0, 0x10000, 1})));                 // handle past 16 bits
  CHECK(refuses(Op::READ, raw(Op::READ, {0, 33})));                         // 33 bytes
  CHECK(refuses(Op::READ, raw(Op::READ, {0, 1, 0x0101})));                  // a byte past the count
  CHECK(refuses(Op::READDIR, raw(Op::READDIR, {0, 0 | (1 << 8), 'a'})));    // end with a name
  CHECK(refuses(Op::READDIR, raw(Op::READDIR, {0, 1})));                    // an entry with no name
  CHECK(refuses(Op::READDIR, raw(Op::READDIR, {0, 1 | (2 << 8), 'a'})));    // a zero byte in the name
  CHECK(refuses(Op::READLINK, raw(Op::READLINK, {0, 0})));                  // an empty target
  CHECK(refuses(Op::STAT, raw(Op::STAT, {0, 1 | (0x1000 << 8)})));          // mode past 12 bits
  CHECK(refuses(Op::WRITE, raw(Op::WRITE, {0, 33})));                       // wrote more than a chunk
  CHECK(refuses(Op::TRUNCATE, raw(Op::TRUNCATE, {0, 1, 1})));               // w2
  abi::Message with_cap = raw(Op::CLOSE, {0});
  with_cap.cap = 3;
  CHECK_FALSE(vfs::decode_reply(with_cap, Op::CLOSE));
  CHECK(vfs::decode_reply(raw(Op::CLOSE, {0}), Op::CLOSE));
}

TEST_CASE("set_names refuses what cannot travel") {
  vfs::Request r;
  r.op = Op::STAT;
  CHECK(vfs::set_names(r, std::string(40, 'a')));
  CHECK_FALSE(vfs::set_names(r, std::string(41, 'a')));
  CHECK_FALSE(vfs::set_names(r, ""));
  CHECK_FALSE(vfs::set_names(r, "a", "b"));  // STAT takes one name
  CHECK_FALSE(vfs::set_names(r, std::string("a\0b", 3)));
  r.op = Op::RENAME;
  CHECK_FALSE(vfs::set_names(r, "a"));
  CHECK_FALSE(vfs::set_names(r, std::string(20, 'a'), std::string(21, 'b')));
  CHECK(vfs::set_names(r, std::string(20, 'a'), std::string(20, 'b')));
}

// ---- MemoryFilesystem against a model ------------------------------------------------------

struct ModelNode {
  vfs::Kind kind = vfs::Kind::NONE;
  std::string data;  // file bytes or symlink target
  friend bool operator==(const ModelNode&, const ModelNode&) = default;
};
using Model = std::map<std::string, ModelNode>;  // absolute path -> node; "/" is the root

std::string parent_of(const std::string& p) {
  const auto at = p.rfind('/');
  return at == 0 ? "/" : p.substr(0, at);
}
bool has_children(const Model& model, const std::string& dir) {
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  return std::any_of(model.begin(), model.end(), [&](const auto& e) {
    return e.first != dir && e.first.compare(0, prefix.size(), prefix) == 0;
  });
}
// The status resolving the parent of `p` gives in the model, OK when it is a directory.
FS model_parent(const Model& model, const std::string& p) {
  // Every ancestor in turn: the first missing one is NOT_FOUND, a non-directory NOT_DIRECTORY.
  std::string walk;
  const std::string parent = parent_of(p);
  if (parent == "/") return FS::OK;
  std::size_t at = 1;
  while (true) {
    const std::size_t end = std::min(parent.find('/', at), parent.size());
    walk = parent.substr(0, end);
    const auto it = model.find(walk);
    if (it == model.end()) return FS::NOT_FOUND;
    if (it->second.kind != vfs::Kind::DIRECTORY) return FS::NOT_DIRECTORY;
    if (end == parent.size()) return FS::OK;
    at = end + 1;
  }
}

// Walks the filesystem to `p` (all components, or all but the last).
sim::FsResult<sim::Ino> fs_walk(const sim::Filesystem& fs, const std::string& p, bool parent_only) {
  std::vector<std::string> parts;
  std::size_t at = 1;
  while (at <= p.size()) {
    const std::size_t end = std::min(p.find('/', at), p.size());
    parts.push_back(p.substr(at, end - at));
    at = end + 1;
  }
  sim::Ino node = fs.root();
  for (std::size_t i = 0; i + (parent_only ? 1 : 0) < parts.size(); ++i) {
    auto next = fs.lookup(node, parts[i]);
    if (!next) return next;
    node = *next;
  }
  return node;
}
std::string last_of(const std::string& p) { return p.substr(p.rfind('/') + 1); }

FS status_of(const sim::FsResult<void>& r) { return r ? FS::OK : r.error(); }
template <class T>
FS status_of(const sim::FsResult<T>& r) {
  return r ? FS::OK : r.error();
}

// The whole tree, read back through readdir/read/readlink.
void dump(const sim::Filesystem& fs, sim::Ino dir, const std::string& path, Model& out) {
  for (std::uint64_t i = 0;; ++i) {
    auto e = fs.readdir(dir, i);
    REQUIRE(e);
    if (!*e) return;
    const std::string child = (path == "/" ? "" : path) + "/" + (*e)->name;
    ModelNode n;
    n.kind = (*e)->kind;
    if (n.kind == vfs::Kind::FILE) {
      auto bytes = fs.read((*e)->node, 0, 1 << 20);
      REQUIRE(bytes);
      n.data.assign(bytes->begin(), bytes->end());
    } else if (n.kind == vfs::Kind::SYMLINK) {
      n.data = *fs.readlink((*e)->node);
    }
    out[child] = n;
    if (n.kind == vfs::Kind::DIRECTORY) dump(fs, (*e)->node, child, out);
  }
}

TEST_CASE("MemoryFilesystem behaves like the POSIX model over random operation sequences") {
  const std::vector<std::string> paths = {"/a", "/b", "/d", "/d/a", "/d/b", "/e", "/e/a", "/d/a/x"};
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    sim::MemoryFilesystem fs;
    Model model;
    model["/"] = ModelNode{vfs::Kind::DIRECTORY, ""};
    auto pick = [&] { return paths[rng() % paths.size()]; };
    for (int step = 0; step < 300; ++step) {
      const std::string p = pick();
      INFO("step " << step << " path " << p);
      const FS parent = model_parent(model, p);
      const auto it = model.find(p);
      const bool exists = it != model.end();
      const vfs::Kind kind = exists ? it->second.kind : vfs::Kind::NONE;
      const int op = static_cast<int>(rng() % 8);
      INFO("op " << op);
      FS want = parent;
      FS got = FS::OK;
      if (op <= 2) {  // create, mkdir, symlink
        if (want == FS::OK && exists) want = FS::EXISTS;
        auto dir = fs_walk(fs, p, true);
        if (!dir) {
          got = dir.error();
        } else if (op == 0) {
          got = status_of(fs.create(*dir, last_of(p), 0644));
        } else if (op == 1) {
          got = status_of(fs.mkdir(*dir, last_of(p), 0755));
        } else {
          got = status_of(fs.symlink(*dir, last_of(p), "t" + std::to_string(step)));
        }
        if (want == FS::OK) {
          model[p] = ModelNode{op == 0 ? vfs::Kind::FILE : op == 1 ? vfs::Kind::DIRECTORY : vfs::Kind::SYMLINK,
                               op == 2 ? "t" + std::to_string(step) : ""};
        }
      } else if (op == 3 || op == 4) {  // write, truncate
        if (want == FS::OK && !exists) want = FS::NOT_FOUND;
        if (want == FS::OK && kind == vfs::Kind::DIRECTORY) want = FS::IS_DIRECTORY;
        if (want == FS::OK && kind == vfs::Kind::SYMLINK) want = FS::INVALID;
        const std::uint64_t offset = rng() % 12;
        const std::string bytes(1 + rng() % 6, static_cast<char>('a' + step % 26));
        auto node = fs_walk(fs, p, false);
        if (!node) {
          got = node.error();
        } else if (op == 3) {
          got = status_of(fs.write(*node, offset, std::span<const char>(bytes.data(), bytes.size())));
        } else {
          got = status_of(fs.truncate(*node, offset));
        }
        if (want == FS::OK) {
          std::string& d = model[p].data;
          if (op == 3) {
            if (d.size() < offset + bytes.size()) d.resize(offset + bytes.size(), '\0');
            d.replace(offset, bytes.size(), bytes);
          } else {
            d.resize(offset, '\0');
          }
        }
      } else if (op == 5 || op == 6) {  // unlink, rmdir
        if (want == FS::OK && !exists) want = FS::NOT_FOUND;
        if (want == FS::OK && op == 5 && kind == vfs::Kind::DIRECTORY) want = FS::IS_DIRECTORY;
        if (want == FS::OK && op == 6 && kind != vfs::Kind::DIRECTORY) want = FS::NOT_DIRECTORY;
        if (want == FS::OK && op == 6 && has_children(model, p)) want = FS::NOT_EMPTY;
        auto dir = fs_walk(fs, p, true);
        got = !dir ? dir.error() : status_of(op == 5 ? fs.unlink(*dir, last_of(p)) : fs.rmdir(*dir, last_of(p)));
        if (want == FS::OK) model.erase(p);
      } else {  // rename p -> q
        const std::string q = pick();
        const FS q_parent = model_parent(model, q);
        if (want == FS::OK) want = q_parent;
        const auto there = model.find(q);
        if (want == FS::OK && !exists) want = FS::NOT_FOUND;
        const bool into_itself = q.compare(0, p.size() + 1, p + "/") == 0;
        if (want == FS::OK && kind == vfs::Kind::DIRECTORY && into_itself) want = FS::INVALID;
        if (want == FS::OK && there != model.end() && q != p) {
          const bool old_dir = there->second.kind == vfs::Kind::DIRECTORY;
          if (kind == vfs::Kind::DIRECTORY && !old_dir) want = FS::NOT_DIRECTORY;
          if (kind != vfs::Kind::DIRECTORY && old_dir) want = FS::IS_DIRECTORY;
          if (want == FS::OK && old_dir && has_children(model, q)) want = FS::NOT_EMPTY;
        }
        auto from = fs_walk(fs, p, true);
        auto to = fs_walk(fs, q, true);
        // The source's directory is judged before the destination is walked.
        const bool from_dir = from && fs.stat(*from)->kind == vfs::Kind::DIRECTORY;
        got = !from      ? from.error()
              : !from_dir ? FS::NOT_DIRECTORY
              : !to       ? to.error()
                          : status_of(fs.rename(*from, last_of(p), *to, last_of(q)));
        if (want == FS::OK && q != p) {
          Model moved;
          for (auto e = model.begin(); e != model.end();) {
            if (e->first == p || e->first.compare(0, p.size() + 1, p + "/") == 0) {
              moved[q + e->first.substr(p.size())] = e->second;
              e = model.erase(e);
            } else {
              ++e;
            }
          }
          model.erase(q);
          model.insert(moved.begin(), moved.end());
        }
      }
      REQUIRE(got == want);
    }
    Model seen;
    seen["/"] = ModelNode{vfs::Kind::DIRECTORY, ""};
    dump(fs, fs.root(), "/", seen);
    CHECK(seen == model);
  }
}

TEST_CASE("MemoryFilesystem: generations move on every change, hard links are refused, names are checked") {
  sim::MemoryFilesystem fs;
  auto file = fs.create(fs.root(), "f", 0644);
  REQUIRE(file);
  const std::uint64_t g0 = fs.stat(*file)->generation;
  REQUIRE(fs.write(*file, 0, std::span<const char>("abc", 3)));
  const std::uint64_t g1 = fs.stat(*file)->generation;
  CHECK(g1 != g0);
  sim::MetaChange touch;
  touch.mtime = 5;
  REQUIRE(fs.set_meta(*file, touch));
  CHECK(fs.stat(*file)->generation != g1);
  CHECK(fs.stat(*file)->mtime == 5);
  REQUIRE(fs.truncate(*file, 1));
  CHECK(fs.stat(*file)->size == 1);
  const auto before = fs.node_count();
  CHECK(status_of(fs.link(*file, fs.root(), "g")) == FS::NOT_SUPPORTED);
  CHECK(fs.node_count() == before);
  CHECK(status_of(fs.lookup(fs.root(), "g")) == FS::NOT_FOUND);
  for (const char* name : {"", ".", "..", "a/b"}) CHECK(status_of(fs.create(fs.root(), name, 0)) == FS::INVALID);
  CHECK(status_of(fs.create(fs.root(), std::string(256, 'n'), 0)) == FS::NAME_TOO_LONG);
  CHECK(status_of(fs.write(*file, vfs::kMaxFileSize, std::span<const char>("x", 1))) == FS::NO_SPACE);
  CHECK(fs.stat(*file)->size == 1);
}

// ---- vfsd routing -----------------------------------------------------------------------

struct DirectVfs {
  sim::KernelModel model;
  std::unique_ptr<sim::Services> services = std::make_unique<sim::Services>(model);
  sim::VfsService* vfs = nullptr;
  DirectVfs() {
    vfs = services->protocol<sim::VfsService>();
    REQUIRE(vfs != nullptr);
    vfs->set_mounts({{"/", "rootfs", false}, {"/data", "datafs", false}, {"/data/ro", "rofs", true}});
  }
  vfs::Reply call(const vfs::Request& r) {
    const abi::Message m = vfs->serve(vfs::encode(r));
    const auto back = vfs::decode_reply(m, r.op);
    REQUIRE(back);
    return *back;
  }
  FS status(const vfs::Request& r) { return call(r).status; }
};

vfs::Request open_req(std::uint16_t base, std::string_view name, std::uint8_t flags, std::uint16_t mode = 0) {
  vfs::Request r = named(Op::OPEN, base, name);
  r.flags = flags;
  r.mode = mode;
  return r;
}

TEST_CASE("vfsd routes each path to the mount with the longest prefix at a component boundary") {
  DirectVfs d;
  CHECK(d.status(open_req(0, "/data/x", vfs::kCreate, 0644)) == FS::OK);
  CHECK(d.status(open_req(0, "/datax", vfs::kCreate, 0644)) == FS::OK);
  CHECK(d.status(named(Op::MKDIR, 0, "/data/sub")) == FS::OK);
  auto& root = d.vfs->filesystem("rootfs");
  auto& data = d.vfs->filesystem("datafs");
  CHECK(root.lookup(root.root(), "datax"));
  CHECK_FALSE(root.lookup(root.root(), "data"));
  CHECK(data.lookup(data.root(), "x"));
  CHECK(data.lookup(data.root(), "sub"));
  CHECK_FALSE(data.lookup(data.root(), "datax"));
  // A name relative to a handle on "/" crosses into the nested mount.
  const vfs::Reply slash = d.call(open_req(0, "/", vfs::kDirectory));
  REQUIRE(slash.status == FS::OK);
  CHECK(d.status(open_req(slash.handle, "data/sub/y", vfs::kCreate, 0600)) == FS::OK);
  auto sub = data.lookup(data.root(), "sub");
  REQUIRE(sub);
  CHECK(data.lookup(*sub, "y"));
  // Renames stay on one mount.
  CHECK(d.status(named(Op::RENAME, 0, "/datax", "/data/z")) == FS::CROSS_MOUNT);
  CHECK(root.lookup(root.root(), "datax"));
  // Paths that are not normal are refused before any filesystem is asked.
  for (const char* bad : {"/data//x", "/data/./x", "/data/../x", "data/x", "/data/"}) {
    INFO(bad);
    CHECK(d.status(named(Op::STAT, 0, bad)) == FS::INVALID);
  }
  CHECK(d.status(named(Op::STAT, 0, "/" + std::string(33, 'c'))) == FS::NAME_TOO_LONG);
  // A handle survives a rename of its node and goes stale when it is removed.
  const vfs::Reply x = d.call(open_req(0, "/data/x", 0));
  REQUIRE(x.status == FS::OK);
  CHECK(d.status(named(Op::RENAME, 0, "/data/x", "/data/w")) == FS::OK);
  vfs::Request w;
  w.op = Op::WRITE;
  w.handle = x.handle;
  w.count = 1;
  w.data[0] = 'q';
  CHECK(d.status(w) == FS::OK);
  CHECK(d.call(named(Op::STAT, 0, "/data/w")).size == 1);
  CHECK(d.status(named(Op::UNLINK, 0, "/data/w")) == FS::OK);
  CHECK(d.status(w) == FS::BAD_HANDLE);
  vfs::Request close;
  close.op = Op::CLOSE;
  close.handle = 0x7777;
  CHECK(d.status(close) == FS::BAD_HANDLE);
}

TEST_CASE("vfsd answers a refused request with its typed status under the request's label, and changes nothing") {
  DirectVfs d;
  sim::ServiceRecord rec;
  rec.spec.name = "vfsd";
  rec.spec.role = "vfsd";
  auto call = [&](const abi::Message& m, const std::optional<sim::Cap>& carried = std::nullopt) {
    return d.vfs->on_call(sim::kNoPid, rec, m, carried);
  };
  // 41 bytes of names: NAME_TOO_LONG; a byte past the name: MALFORMED.
  const auto too_long = call(raw(Op::RENAME, {(21ULL << 16) | (20ULL << 24), text_word("aaaaaaaa")}));
  REQUIRE(too_long);
  CHECK(too_long->message.label == static_cast<std::uint64_t>(Op::RENAME));
  CHECK(too_long->message.words[0] == static_cast<std::uint64_t>(FS::NAME_TOO_LONG));
  const auto malformed = call(raw(Op::MKDIR, {2ULL << 16, text_word("/ab")}));
  REQUIRE(malformed);
  CHECK(malformed->message.label == static_cast<std::uint64_t>(Op::MKDIR));
  CHECK(malformed->message.words[0] == static_cast<std::uint64_t>(FS::MALFORMED));
  const auto unused = call(raw(static_cast<Op>(0x9F), {}));
  REQUIRE(unused);
  CHECK(unused->message.words[0] == static_cast<std::uint64_t>(FS::MALFORMED));
  // A request carrying a cap is refused whole.
  const auto with_cap = call(vfs::encode(named(Op::MKDIR, 0, "/capdir")), sim::Cap{});
  REQUIRE(with_cap);
  CHECK(with_cap->message.words[0] == static_cast<std::uint64_t>(FS::MALFORMED));
  for (int i = 0; i < 6; ++i) CHECK(with_cap->message.words[i] == (i == 0 ? 8U : 0U));
  CHECK(d.status(named(Op::STAT, 0, "/capdir")) == FS::NOT_FOUND);
  CHECK(d.status(named(Op::STAT, 0, "/ab")) == FS::NOT_FOUND);
  auto& root = d.vfs->filesystem("rootfs");
  CHECK_FALSE(root.readdir(root.root(), 0)->has_value());
  // Labels outside 0x80..0x9F belong to no part of this protocol: left to others.
  CHECK_FALSE(call(raw(static_cast<Op>(0x7F), {})));
  CHECK_FALSE(call(raw(static_cast<Op>(0xA0), {})));
  // Another service's calls are not vfsd's.
  rec.spec.role = "ramfsd";
  CHECK_FALSE(call(vfs::encode(named(Op::STAT, 0, "/"))));
}

TEST_CASE("a read-only mount refuses every change with READ_ONLY and changes nothing") {
  DirectVfs d;
  REQUIRE(d.vfs->seed("/data/ro/file", {'h', 'i'}, 0644));
  auto& ro = d.vfs->filesystem("rofs");
  const std::size_t nodes = static_cast<sim::MemoryFilesystem&>(ro).node_count();
  const vfs::Reply file = d.call(open_req(0, "/data/ro/file", 0));
  REQUIRE(file.status == FS::OK);
  vfs::Request write;
  write.op = Op::WRITE;
  write.handle = file.handle;
  write.count = 1;
  vfs::Request truncate;
  truncate.op = Op::TRUNCATE;
  truncate.handle = file.handle;
  vfs::Request meta;
  meta.op = Op::SET_META;
  meta.handle = file.handle;
  meta.mask = vfs::kSetMtime;
  meta.mtime = 9;
  vfs::Request mkdir = named(Op::MKDIR, 0, "/data/ro/d");
  const std::vector<vfs::Request> changes = {
      open_req(0, "/data/ro/new", vfs::kCreate, 0644), open_req(0, "/data/ro/file", vfs::kTruncate),
      write, truncate, meta, mkdir, named(Op::UNLINK, 0, "/data/ro/file"), named(Op::RMDIR, 0, "/data/ro/file"),
      named(Op::RENAME, 0, "/data/ro/file", "/data/ro/g"), named(Op::SYMLINK, 0, "file", "/data/ro/l"),
      named(Op::LINK, 0, "/data/ro/file", "/data/ro/k")};
  for (const auto& r : changes) {
    INFO("op " << static_cast<int>(r.op));
    CHECK(d.status(r) == FS::READ_ONLY);
  }
  CHECK(static_cast<sim::MemoryFilesystem&>(ro).node_count() == nodes);
  const vfs::Reply st = d.call(named(Op::STAT, 0, "/data/ro/file"));
  CHECK(st.size == 2);
  CHECK(st.mtime == 0);
  // Reading is fine.
  vfs::Request read;
  read.op = Op::READ;
  read.handle = file.handle;
  read.count = 32;
  const vfs::Reply got = d.call(read);
  CHECK(got.count == 2);
  CHECK(got.data[0] == 'h');
}

TEST_CASE("seed and read_source: parents made, mode, generation, unstable sources") {
  sim::KernelModel model;
  sim::Services services(model);
  auto* v = services.protocol<sim::VfsService>();
  REQUIRE(v != nullptr);
  // Before the mounts are known the seed waits.
  REQUIRE(v->seed("/data/bin/loader-ok", {'\x7f', 'E', 'L', 'F'}, 0755));
  REQUIRE(v->seed("/data/bin/changing", {'x'}, 0755, true));
  CHECK_FALSE(v->seed("data/bin/x", {}, 0755));
  CHECK_FALSE(v->seed("/data//x", {}, 0755));
  v->set_mounts({{"/", "ramfsd", false}});
  const auto ok = v->read_source("/data/bin/loader-ok", 3);
  CHECK(ok.status == FS::OK);
  CHECK(ok.bytes == std::vector<char>{'\x7f', 'E', 'L'});
  CHECK(ok.size == 4);
  CHECK(ok.executable);
  CHECK_FALSE(ok.directory);
  CHECK(v->read_source("/data/bin/loader-ok", 3).generation == ok.generation);
  const auto dir = v->read_source("/data/bin", 16);
  CHECK(dir.status == FS::OK);
  CHECK(dir.directory);
  CHECK(v->read_source("/data/bin/missing", 16).status == FS::NOT_FOUND);
  const auto c1 = v->read_source("/data/bin/changing", 16);
  const auto c2 = v->read_source("/data/bin/changing", 16);
  CHECK(c1.status == FS::OK);
  CHECK(c1.generation != c2.generation);
  // After the mounts, a seed lands at once; a plain file is not executable.
  REQUIRE(v->seed("/data/readme", {'r'}, 0644));
  const auto readme = v->read_source("/data/readme", 16);
  CHECK(readme.status == FS::OK);
  CHECK_FALSE(readme.executable);
  // The protocol sees the same tree.
  const abi::Message st = v->serve(vfs::encode(named(Op::STAT, 0, "/data/bin/loader-ok")));
  const auto r = vfs::decode_reply(st, Op::STAT);
  REQUIRE(r);
  CHECK(r->size == 4);
  CHECK(r->mode == 0755);
}

// ---- the verifiers in a constant expression ---------------------------------------------

namespace fx = fixtures;
inline constexpr fx::ServiceDesc kCtServices[] = {
    {"ramfsd", "ramfsd", "ramfsd"},
    {"vfsd", "vfsd", "vfsd"},
};
inline constexpr rootd::bcfg::ProviderDesc kCtProviders[] = {{"ram", "ramfsd"}};
inline constexpr rootd::bcfg::MountDesc kCtMounts[] = {{"/", "ram"}, {"/ro", "ram", true}};
inline constexpr rootd::bcfg::ConfigDesc kCtSystem{"none", kCtServices, kCtProviders, kCtMounts};
constexpr auto kCtConfig = fx::compile(kCtSystem);
static_assert(kCtConfig.size > 0, "the storage config compiles");

// A scripted vfsd, just enough for STORAGE_MOUNT: it remembers the last
// mount opened (read-only or not), the bytes written, and hands out handles.
struct ScriptedVfsd {
  bool read_only = false;
  std::uint16_t next_handle = 1;
  std::uint8_t bytes[vfs::kChunk] = {};
  std::uint32_t calls = 0;
  bool spoil = false;

  constexpr abi::Message answer(const abi::Message& m) {
    ++calls;
    const auto req = vfs::decode_request(m);
    vfs::Reply r;
    if (!req) {
      r.status = FS::MALFORMED;
      return vfs::encode(static_cast<Op>(m.label), r);
    }
    switch (req->op) {
      case Op::OPEN:
        if (req->handle == 0) read_only = req->name_a() == "/ro";
        if ((req->flags & vfs::kCreate) != 0 && read_only) {
          r.status = FS::READ_ONLY;
          break;
        }
        r.handle = next_handle++;
        r.kind = (req->flags & vfs::kDirectory) != 0 ? vfs::Kind::DIRECTORY : vfs::Kind::FILE;
        break;
      case Op::MKDIR:
        if (read_only) r.status = FS::READ_ONLY;
        break;
      case Op::WRITE:
        for (std::size_t i = 0; i < req->count; ++i) bytes[i] = req->data[i];
        r.count = req->count;
        r.size = req->count;
        break;
      case Op::READ:
        r.count = vfs::kChunk;
        for (std::size_t i = 0; i < vfs::kChunk; ++i) r.data[i] = bytes[i];
        if (spoil) r.data[5] ^= 1;
        break;
      case Op::READDIR:
        if (req->offset == 0) {
          r.kind = vfs::Kind::FILE;
          r.count = 1;
          r.data[0] = 'f';
        }
        break;
      case Op::STAT: r.status = FS::NOT_FOUND; break;
      default: break;
    }
    return vfs::encode(req->op, r);
  }
};

struct CtRun {
  bool done = false;
  verify::Failure failure = verify::Failure::MISSING;
  std::uint32_t proofs = 0;
  std::uint32_t calls = 0;
  bool proof_names_right = true;
};

constexpr CtRun run_storage_ct(bool spoil) {
  const auto cfg = rootd::bcfg::parse(kCtConfig.view());
  CtRun out;
  if (!cfg) return out;
  rootd::ServiceRoles roles;
  rootd::resolve_roles(*cfg, roles);
  const verify::Context ctx{*cfg, roles};
  verify::StorageMountVerifier v;
  ScriptedVfsd vfsd;
  vfsd.spoil = spoil;
  verify::Reply reply;
  const verify::Reply* last = nullptr;
  const std::string_view names[] = {"VFS_MOUNT_0", "VFS_MOUNT_1", "STORAGE_MOUNT"};
  for (int guard = 0; guard < 200; ++guard) {
    const verify::Step s = v.next(ctx, last);
    last = nullptr;
    if (s.kind == verify::StepKind::PROOF) {
      if (out.proofs >= 3 || s.name != names[out.proofs]) out.proof_names_right = false;
      ++out.proofs;
    } else if (s.kind == verify::StepKind::CALL) {
      if (s.service != 1) return out;  // vfsd is service 1 in name order
      reply.message = vfsd.answer(s.message);
      last = &reply;
    } else {
      out.done = s.kind == verify::StepKind::DONE;
      out.failure = s.failure;
      out.calls = vfsd.calls;
      return out;
    }
  }
  return out;
}

constexpr CtRun kCtPass = run_storage_ct(false);
static_assert(kCtPass.done && kCtPass.proofs == 3 && kCtPass.proof_names_right);
static_assert(kCtPass.calls == 14 + 4);  // a writable mount, then a read-only one
constexpr CtRun kCtSpoiled = run_storage_ct(true);
static_assert(!kCtSpoiled.done && kCtSpoiled.failure == verify::Failure::WRONG_DATA);

TEST_CASE("STORAGE_MOUNT runs in a constant expression against a scripted vfsd") {
  const CtRun pass = run_storage_ct(false);
  CHECK(pass.done);
  CHECK(pass.proofs == 3);
  CHECK(pass.proof_names_right);
  CHECK_FALSE(run_storage_ct(true).done);
}

// ---- the verifiers against the simulated vfsd of a booted system ------------------------

std::string source_root() {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  return root;
}

struct World {
  std::unique_ptr<sim::KernelModel> model = std::make_unique<sim::KernelModel>();
  std::unique_ptr<sim::Services> services;
  sim::SystemConfig cfg;
  std::optional<rootd::bcfg::View> view;
  rootd::ServiceRoles roles{};

  explicit World(const std::string& example) {
    std::ifstream in(source_root() + "/examples/" + example);
    REQUIRE(in);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto c = sim::system_config_from_bytes(text, example);
    REQUIRE(c);
    cfg = *c;
    auto image = sim::build_system_image(cfg);
    REQUIRE(image);
    services = std::make_unique<sim::Services>(*model);
    for (const auto& s : cfg.services) REQUIRE(services->add(s));
    auto root = model->boot_rootd(image->layout);
    REQUIRE(root);
    sim::ModelDriver driver(*model);
    const sim::EngineRun run = sim::run_engine<rootd::boot::RuntimeVariant>(
        rootd::Bytes(image->handoff.data(), image->handoff.size()), *root, driver);
    REQUIRE(run.status == rootd::Status::READY);
    auto parsed = rootd::bcfg::parse(rootd::Bytes(cfg.blob.data(), cfg.blob.size()));
    REQUIRE(parsed);
    view = *parsed;
    rootd::resolve_roles(*view, roles);
  }
  verify::Context context() const { return verify::Context{*view, roles}; }
  const sim::ServiceRecord& record(const std::string& name) const {
    const sim::ServiceRecord* r = services->find(name);
    REQUIRE(r != nullptr);
    return *r;
  }
  std::uint16_t index_of(const std::string& name) const { return static_cast<std::uint16_t>(*record(name).spec.identity); }
  // The last reply's carried cap, when one came.
  std::optional<sim::Cap> carried;

  // How a test stands between the verifier and vfsd: given the request and
  // a way to have the simulated vfsd serve a message, the reply (nullopt:
  // the kernel refused the call).
  using Serve = std::function<std::optional<abi::Message>(const abi::Message&)>;
  using Script = std::function<std::optional<abi::Message>(const abi::Message& request, const Serve& serve)>;

  template <class V>
  erix::test::VerifierRun run(const Script& script = {}) {
    V v;
    auto* vfs = services->protocol<sim::VfsService>();
    REQUIRE(vfs != nullptr);
    auto answer = [&](std::uint16_t service, const abi::Message& m) {
      std::optional<abi::Message> out;
      const sim::ServiceRecord* r = nullptr;
      for (const auto& rec : services->records()) {
        if (rec.spec.identity == service) r = &rec;
      }
      if (r == nullptr || r->answer != sim::Answer::ready) return out;
      auto reply = vfs->on_call(r->pid, *r, m, std::nullopt);
      if (!reply) return out;
      out = reply->message;
      if (reply->cap) {
        carried = reply->cap;
        out->cap = 7;  // it landed in rootd's receive slot
      }
      return out;
    };
    return erix::test::run_verifier(v, context(), [&](std::uint16_t service, const abi::Message& m) {
      if (!script) return answer(service, m);
      return script(m, [&](const abi::Message& sent) { return answer(service, sent); });
    });
  }
};

TEST_CASE("STORAGE_MOUNT proves every mount of the runtime system, the read-only ESP by its refusal") {
  World w("runtime.toml");
  const auto run = w.run<verify::StorageMountVerifier>();
  INFO(run.step);
  REQUIRE(run.done);
  CHECK(run.proofs == std::vector<std::string>{"VFS_MOUNT_0", "VFS_MOUNT_1", "STORAGE_MOUNT"});
  CHECK(std::all_of(run.called.begin(), run.called.end(), [&](std::uint16_t s) { return s == w.index_of("vfsd"); }));
  CHECK(run.calls == 14 + 4);
  // Nothing is left behind on either filesystem.
  auto* vfs = w.services->protocol<sim::VfsService>();
  for (const char* fs : {"e2fsd", "fatd"}) {
    auto& tree = vfs->filesystem(fs);
    CHECK_FALSE(tree.readdir(tree.root(), 0)->has_value());
  }
  // The runtime system has no memory-backed mount.
  const auto vol = w.run<verify::VolatileVfsVerifier>();
  CHECK_FALSE(vol.done);
  CHECK(vol.failure == verify::Failure::MISSING);
  CHECK(vol.step == "MEMORY_MOUNT");
}

TEST_CASE("VOLATILE_VFS proves rename, truncate, symlink, link refusal and metadata on ramfsd") {
  World w("phase4-loader-contract.toml");
  const auto run = w.run<verify::VolatileVfsVerifier>();
  INFO(run.step);
  REQUIRE(run.done);
  CHECK(run.proofs == std::vector<std::string>{"VFS_RENAME", "VFS_TRUNCATE", "VFS_SYMLINK", "VFS_LINK_REFUSED",
                                               "VFS_METADATA", "VOLATILE_VFS"});
  const auto mount = w.run<verify::StorageMountVerifier>();
  REQUIRE(mount.done);
  CHECK(mount.proofs == std::vector<std::string>{"VFS_MOUNT_0", "STORAGE_MOUNT"});
}

struct FaultCase {
  const char* example;
  const char* service;
  sim::FaultPoint point;
  bool volatile_vfs;
  verify::Failure failure;
  const char* step;
};

TEST_CASE("every verifier fault point of vfsd, and a filesystem's wrong data, fails the verifier at a named step") {
  using F = verify::Failure;
  using P = sim::FaultPoint;
  const FaultCase cases[] = {
      {"runtime.toml", "vfsd", P::wrong_reply, false, F::WRONG_REPLY, "OPEN_MOUNT"},
      {"runtime.toml", "vfsd", P::wrong_data, false, F::WRONG_DATA, "CREATE"},
      {"runtime.toml", "vfsd", P::extra_cap, false, F::EXTRA_CAP, "OPEN_MOUNT"},
      {"runtime.toml", "vfsd", P::slow, false, F::BUDGET, "OPEN_MOUNT"},
      {"runtime.toml", "e2fsd", P::wrong_data, false, F::WRONG_DATA, "CREATE"},
      {"runtime.toml", "fatd", P::slow, false, F::BUDGET, "OPEN_MOUNT"},
      {"phase4-loader-contract.toml", "vfsd", P::wrong_reply, true, F::WRONG_REPLY, "OPEN_MOUNT"},
      {"phase4-loader-contract.toml", "vfsd", P::wrong_data, true, F::WRONG_DATA, "CREATE"},
      {"phase4-loader-contract.toml", "vfsd", P::extra_cap, true, F::EXTRA_CAP, "OPEN_MOUNT"},
      {"phase4-loader-contract.toml", "vfsd", P::slow, true, F::BUDGET, "OPEN_MOUNT"},
      {"phase4-loader-contract.toml", "ramfsd", P::wrong_data, true, F::WRONG_DATA, "CREATE"},
  };
  for (const FaultCase& c : cases) {
    INFO(c.example << " " << c.service << " " << sim::fault_point_name(c.point));
    World w(c.example);
    REQUIRE(w.services->set_fault(c.service, c.point));
    const auto run = c.volatile_vfs ? w.run<verify::VolatileVfsVerifier>() : w.run<verify::StorageMountVerifier>();
    REQUIRE_FALSE(run.done);
    CHECK(run.failure == c.failure);
    CHECK(run.step == c.step);
    CHECK(run.service == w.index_of("vfsd"));
    // fatd serves the second mount: the first one's 14 calls came before.
    if (c.point == P::slow) CHECK(run.calls == verify::kBusyRetries + 1 + (std::string(c.service) == "fatd" ? 14 : 0));
    if (c.point == P::extra_cap) {
      // The cap is SEND on vfsd's own service endpoint (its local slot 1).
      REQUIRE(w.carried.has_value());
      const sim::Process* vfsd = w.model->process(w.record("vfsd").pid);
      REQUIRE(vfsd != nullptr);
      REQUIRE(vfsd->cap_at(1) != nullptr);
      CHECK(w.carried->object == vfsd->cap_at(1)->object);
      CHECK(w.carried->rights == abi::RIGHT_SEND);
    }
  }
}

}  // namespace

namespace {

bool is_op(const abi::Message& m, Op op) { return m.label == static_cast<std::uint64_t>(op); }
vfs::Request request_of(const abi::Message& m) {
  const auto r = vfs::decode_request(m);
  REQUIRE(r);
  return *r;
}

TEST_CASE("scripted misbehaviour: each kind fails the step it happens at, naming vfsd") {
  World w("phase4-loader-contract.toml");
  const std::uint16_t vfsd = w.index_of("vfsd");
  struct Case {
    const char* what;
    bool volatile_vfs;
    World::Script script;
    verify::Failure failure;
    const char* step;
  };
  const std::vector<Case> cases = {
      {"a WRITE reply under another label", false,
       [](const abi::Message& m, const World::Serve& serve) {
         auto r = serve(m);
         if (r && is_op(m, Op::WRITE)) r->label = static_cast<std::uint64_t>(Op::READ);
         return r;
       },
       verify::Failure::WRONG_REPLY, "WRITE"},
      {"a READ reply with one byte changed", false,
       [](const abi::Message& m, const World::Serve& serve) {
         auto r = serve(m);
         if (r && is_op(m, Op::READ)) r->words[5] ^= 1ULL << 60;
         return r;
       },
       verify::Failure::WRONG_DATA, "READ"},
      {"a READDIR reply carrying a cap", false,
       [](const abi::Message& m, const World::Serve& serve) {
         auto r = serve(m);
         if (r && is_op(m, Op::READDIR)) r->cap = 9;
         return r;
       },
       verify::Failure::EXTRA_CAP, "READDIR"},
      {"BUSY for ever from RMDIR on", false,
       [](const abi::Message& m, const World::Serve& serve) -> std::optional<abi::Message> {
         if (is_op(m, Op::RMDIR)) return raw(Op::RMDIR, {static_cast<std::uint64_t>(FS::BUSY)});
         return serve(m);
       },
       verify::Failure::BUDGET, "RMDIR"},
      {"the kernel refuses the CLOSE", false,
       [](const abi::Message& m, const World::Serve& serve) -> std::optional<abi::Message> {
         if (is_op(m, Op::CLOSE)) return std::nullopt;
         return serve(m);
       },
       verify::Failure::CALL_FAILED, "CLOSE_FILE"},
      {"an RMDIR that says OK and removes nothing", false,
       [](const abi::Message& m, const World::Serve& serve) -> std::optional<abi::Message> {
         if (is_op(m, Op::RMDIR)) return raw(Op::RMDIR, {0});
         return serve(m);
       },
       verify::Failure::WRONG_REPLY, "GONE"},
      {"a directory listing with a stranger at its end", false,
       [](const abi::Message& m, const World::Serve& serve) -> std::optional<abi::Message> {
         if (is_op(m, Op::READDIR) && m.words[1] == 1) return raw(Op::READDIR, {0, 1 | (1 << 8), 'z'});
         return serve(m);
       },
       verify::Failure::WRONG_DATA, "READDIR_END"},
      {"a rename that leaves the old name", true,
       [](const abi::Message& m, const World::Serve& serve) -> std::optional<abi::Message> {
         if (is_op(m, Op::STAT) && request_of(m).name_a() == "a") return raw(Op::STAT, {0, 1 | (0644 << 8), 32});
         return serve(m);
       },
       verify::Failure::WRONG_REPLY, "OLD_GONE"},
      {"growth that is not zero-filled", true,
       [](const abi::Message& m, const World::Serve& serve) {
         auto r = serve(m);
         if (r && is_op(m, Op::READ) && m.words[1] == 0 && r->words[3] == 0) r->words[3] = 0x2A;
         return r;
       },
       verify::Failure::WRONG_DATA, "READ_GROWN"},
      {"a symlink whose target reads back wrong", true,
       [](const abi::Message& m, const World::Serve& serve) {
         auto r = serve(m);
         if (r && is_op(m, Op::READLINK)) r->words[2] = 'a';
         return r;
       },
       verify::Failure::WRONG_DATA, "READLINK"},
      {"a hard link that is made", true,
       [](const abi::Message& m, const World::Serve& serve) -> std::optional<abi::Message> {
         if (is_op(m, Op::LINK)) return raw(Op::LINK, {0});
         return serve(m);
       },
       verify::Failure::WRONG_REPLY, "HARD_LINK"},
      {"metadata whose owner is dropped", true,
       [](const abi::Message& m, const World::Serve& serve) {
         if (!is_op(m, Op::SET_META)) return serve(m);
         vfs::Request r = request_of(m);
         r.mask &= static_cast<std::uint8_t>(~vfs::kSetOwner);
         r.uid = r.gid = 0;
         return serve(vfs::encode(r));
       },
       verify::Failure::WRONG_DATA, "META_STAT"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    World fresh("phase4-loader-contract.toml");
    const auto run = c.volatile_vfs ? fresh.run<verify::VolatileVfsVerifier>(c.script)
                                    : fresh.run<verify::StorageMountVerifier>(c.script);
    REQUIRE_FALSE(run.done);
    CHECK(run.failure == c.failure);
    CHECK(run.step == c.step);
    CHECK(run.service == vfsd);
  }
}

TEST_CASE("a vfsd that ignores read_only fails RO_CREATE; BUSY within the budget is retried and passes") {
  World w("runtime.toml");
  // The ESP is read-only: a vfsd that lets the create through is caught.
  const auto lax = w.run<verify::StorageMountVerifier>([](const abi::Message& m, const World::Serve& serve) {
    auto r = serve(m);
    if (r && is_op(m, Op::OPEN) && r->words[0] == static_cast<std::uint64_t>(FS::READ_ONLY)) {
      *r = raw(Op::OPEN, {0, 9, 1, 0});
    }
    return r;
  });
  REQUIRE_FALSE(lax.done);
  CHECK(lax.failure == verify::Failure::WRONG_REPLY);
  CHECK(lax.step == "RO_CREATE");
  // Every call answered BUSY kBusyRetries times first: still a pass, with
  // (kBusyRetries + 1) calls per step.
  std::map<std::string, std::uint32_t> busy;
  std::uint32_t served = 0;
  const auto patient = w.run<verify::StorageMountVerifier>(
      [&](const abi::Message& m, const World::Serve& serve) -> std::optional<abi::Message> {
        const std::string key(reinterpret_cast<const char*>(&m), sizeof m);
        if (busy[key] < verify::kBusyRetries) {
          ++busy[key];
          abi::Message b{};
          b.label = m.label;
          b.words[0] = static_cast<std::uint64_t>(FS::BUSY);
          return b;
        }
        busy[key] = 0;
        ++served;
        return serve(m);
      });
  INFO(patient.step);
  REQUIRE(patient.done);
  CHECK(served == 14 + 4);
  CHECK(patient.calls == served * (verify::kBusyRetries + 1));
}

}  // namespace
