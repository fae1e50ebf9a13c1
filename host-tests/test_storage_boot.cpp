// Storage bring-up (docs/storage-intent.md), in-process against the kernel
// model and the simulated services: the intent each storage service
// receives, the order the roles imply, the partition check against a disk
// image, and the GPT reader against images made by Debian's own tools.
#include <catch2/catch.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "boot_run.hpp"
#include "disk_image.hpp"
#include "kernel_model.hpp"
#include "rootd/storage_intent.hpp"
#include "services.hpp"
#include "sim_world.hpp"
#include "storage_services.hpp"
#include "system_image.hpp"

namespace sim = erix::sim;
namespace abi = rootd::abi;
namespace intent = rootd::intent;
using rootd::Reason;
using rootd::Status;

namespace {

std::string source_root() {
  const char* root = std::getenv("ROOTD_SOURCE_ROOT");
  REQUIRE(root != nullptr);
  return root;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string example(const std::string& name) { return read_text(source_root() + "/examples/" + name); }

// `text` with `from` replaced by `to` exactly once.
std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  REQUIRE(text.find(from, at + to.size()) == std::string::npos);
  return text;
}

sim::SystemConfig from_toml(const std::string& text) {
  auto cfg = sim::system_config_from_bytes(text, "storage.toml");
  REQUIRE(cfg);
  return *cfg;
}

// Passes everything to the model; `on_send` may rewrite (return true) or
// swallow (set `drop`) a SEND first.
class TamperDriver final : public sim::Driver {
 public:
  using OnSend = std::function<void(abi::Message&, std::uint64_t badge, bool& drop)>;
  TamperDriver(sim::KernelModel& model, OnSend on_send) : inner_(model), on_send_(std::move(on_send)) {}

  abi::KernelError report(std::string_view text) override { return inner_.report(text); }
  abi::KernelError call(std::uint32_t slot, abi::Message& m, std::uint32_t recv) override {
    if (m.label == static_cast<std::uint64_t>(abi::BlockdOp::PARTITION_TABLE)) ++partition_calls;
    return inner_.call(slot, m, recv);
  }
  abi::KernelError send(std::uint32_t slot, const abi::Message& m, std::uint64_t badge) override {
    abi::Message copy = m;
    bool drop = false;
    if (on_send_) on_send_(copy, badge, drop);
    if (drop) return abi::KernelError::OK;
    return inner_.send(slot, copy, badge);
  }
  abi::KernelError wait(std::uint32_t root, abi::Message& m) override { return inner_.wait(root, m); }
  abi::KernelError cap(abi::CapOp op, std::uint32_t src, std::uint32_t space, std::uint32_t dst,
                       std::uint32_t rights) override {
    return inner_.cap(op, src, space, dst, rights);
  }
  void park() override { inner_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override { return inner_.read_module(vaddr, size); }

  std::uint64_t partition_calls = 0;

 private:
  sim::ModelDriver inner_;
  OnSend on_send_;
};

struct Booted : erix::test::SimWorld {
  sim::EngineRun run;
  sim::Audit audit;
  std::uint64_t partition_calls = 0;

  const sim::ServiceRecord& record(const std::string& name) const {
    const sim::ServiceRecord* r = services->find(name);
    REQUIRE(r != nullptr);
    return *r;
  }
  bool has_line(const std::string& line) const {
    return std::find(run.lines.begin(), run.lines.end(), line) != run.lines.end();
  }
};

Booted boot(const sim::SystemConfig& cfg, std::function<void(sim::StorageServices&)> setup = {},
            TamperDriver::OnSend on_send = {}) {
  Booted b;
  erix::test::set_up(b, cfg, {}, [&](sim::Services& services) {
    if (setup) setup(services.storage());
  });
  TamperDriver driver(*b.model, std::move(on_send));
  b.run = sim::run_engine<rootd::boot::RuntimeVariant>(b.handoff(), b.root_slot, driver);
  b.audit = b.model->audit();
  b.partition_calls = driver.partition_calls;
  return b;
}

// ---- the oracle: the intents a config implies, from its TOML alone ------------

struct Expected {
  std::map<std::string, sim::ReceivedIntent> by_service;
};

// Services, providers and mounts take their index from their sorted names
// (paths for mounts): the ERIXBCFG order (docs/erixbcfg-v1.md).
Expected expected_intents(const std::string& text) {
  const toml::table t = toml::parse(text);
  std::vector<std::string> names;
  std::map<std::string, std::string> role_of;
  for (const auto& node : *t["service"].as_array()) {
    const auto& s = *node.as_table();
    names.push_back(s["name"].value<std::string>().value());
    role_of[names.back()] = s["role"].value<std::string>().value();
  }
  std::sort(names.begin(), names.end());
  auto index = [&](const std::string& n) {
    return static_cast<std::uint16_t>(std::find(names.begin(), names.end(), n) - names.begin());
  };
  struct P {
    std::string name;
    sim::IntentBinding b;
  };
  std::vector<P> providers;
  if (const auto* arr = t["provider"].as_array()) {
    for (const auto& node : *arr) {
      const auto& p = *node.as_table();
      P row;
      row.name = p["name"].value<std::string>().value();
      row.b.service = index(p["service"].value<std::string>().value());
      if (auto block = p["block"].value<std::string>()) row.b.block = index(*block);
      if (auto key = p["key"].value<std::string>()) row.b.key = index(*key);
      if (auto part = p["partition"].value<std::int64_t>()) row.b.partition = static_cast<std::uint32_t>(*part);
      providers.push_back(row);
    }
  }
  std::sort(providers.begin(), providers.end(), [](const P& a, const P& b) { return a.name < b.name; });
  for (std::size_t i = 0; i < providers.size(); ++i) providers[i].b.provider = static_cast<std::uint16_t>(i);
  std::vector<sim::IntentMount> mounts;
  if (const auto* arr = t["mount"].as_array()) {
    for (const auto& node : *arr) {
      const auto& m = *node.as_table();
      sim::IntentMount row;
      row.path = m["path"].value<std::string>().value();
      const std::string provider = m["provider"].value<std::string>().value();
      for (const auto& p : providers) {
        if (p.name == provider) row.provider = p.b.provider;
      }
      row.read_only = m["read_only"].value_or(false);
      mounts.push_back(row);
    }
  }
  std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) { return a.path < b.path; });

  Expected e;
  for (const std::string& n : names) {
    if (role_of[n] == "vfsd") {
      sim::ReceivedIntent r;
      r.vfs = true;
      r.recipient = index(n);
      for (const auto& p : providers) r.providers.push_back(p.b);
      r.mounts = mounts;
      e.by_service[n] = r;
    }
    for (const auto& p : providers) {
      if (p.b.service != index(n)) continue;
      sim::ReceivedIntent r;
      r.recipient = index(n);
      r.providers.push_back(p.b);
      e.by_service[n] = r;
    }
  }
  return e;
}

void check_received(const Booted& b, const Expected& want) {
  const auto& got = b.services->storage().received();
  std::set<std::string> got_names, want_names;
  for (const auto& [n, r] : got) got_names.insert(n);
  for (const auto& [n, r] : want.by_service) want_names.insert(n);
  CHECK(got_names == want_names);
  for (const auto& [n, w] : want.by_service) {
    INFO("service " << n);
    const auto it = got.find(n);
    REQUIRE(it != got.end());
    CHECK(it->second.vfs == w.vfs);
    CHECK(it->second.recipient == w.recipient);
    CHECK(it->second.providers == w.providers);
    CHECK(it->second.mounts == w.mounts);
  }
}

// ---- an independent writer of intent bytes, from the documented layout -----------

struct Bytes {
  std::vector<char> v;
  void u8(std::uint8_t x) { v.push_back(static_cast<char>(x)); }
  void u16(std::uint16_t x) { u8(x & 0xFF), u8(x >> 8); }
  void u32(std::uint32_t x) { u16(x & 0xFFFF), u16(x >> 16); }
  std::uint64_t fnv(std::size_t n) const {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<std::uint8_t>(v[i])) * 0x100000001b3ULL;
    return h;
  }
  // Patches the length field, then appends the digest of everything.
  void seal() {
    const auto total = static_cast<std::uint32_t>(v.size() + 8);
    for (int i = 0; i < 4; ++i) v[12 + i] = static_cast<char>(total >> (8 * i));
    const std::uint64_t d = fnv(v.size());
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(d >> (8 * i)));
  }
  void reseal() {
    v.resize(v.size() - 8);
    seal();
  }
};

// vfsd's intent for two providers and mounts "/" and "/esp" (read-only).
Bytes vfs_intent() {
  Bytes b;
  b.u32(0x314E4953);
  b.u8(1), b.u8(1), b.u16(20), b.u16(2), b.u16(2), b.u32(0);
  b.u16(0), b.u16(7), b.u16(3), b.u16(9), b.u32(2), b.u32(0);
  b.u16(1), b.u16(8), b.u16(3), b.u16(0xFFFF), b.u32(1), b.u32(0);
  b.u16(0), b.u8(0), b.u8(1), b.u8('/'), b.u8(0), b.u8(0), b.u8(0);
  b.u16(1), b.u8(1), b.u8(4);
  for (char c : std::string("/esp")) b.u8(static_cast<std::uint8_t>(c));
  b.seal();
  return b;
}

Reason decode_reason(const Bytes& b) {
  const auto r = intent::decode(std::span<const char>(b.v.data(), b.v.size()));
  return r.ok() ? Reason::NONE : r.error().reason;
}

// ---- disk images made with Debian's tools --------------------------------------------

bool have_tool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0 ||
         std::filesystem::exists(std::string("/usr/sbin/") + name) || std::filesystem::exists(std::string("/sbin/") + name);
}

int run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/rootd-storage-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A 16 MiB disk: partition 1 (EFI system, FAT) at 1 MiB, 4 MiB; partition
// 2 (Linux, ext4) after it, 8 MiB; more partitions as asked. The
// filesystems are made in the partitions at their byte offsets.
std::string make_disk(const TempDir& dir, const std::string& name, bool with_second = true) {
  const std::string img = (dir.path / name).string();
  const std::string path = "PATH=/usr/sbin:/sbin:$PATH ";
  REQUIRE(run("truncate -s 16M " + img) == 0);
  std::string table = path + "sgdisk -n 1:2048:+4M -t 1:ef00 -c 1:esp ";
  if (with_second) table += "-n 2:0:+8M -t 2:8300 -c 2:data ";
  REQUIRE(run(table + img) == 0);
  REQUIRE(run(path + "mkfs.fat --offset 2048 " + img + " 4096") == 0);
  if (with_second) REQUIRE(run(path + "mke2fs -q -t ext4 -F -E offset=" + std::to_string(10240 * 512) + " " + img + " 8M") == 0);
  return img;
}

bool have_disk_tools() {
  for (const char* t : {"sgdisk", "mkfs.fat", "mke2fs", "truncate", "dd"}) {
    if (!have_tool(t)) {
      WARN("skipped: " << t << " is not installed (scripts/setup.sh installs it)");
      return false;
    }
  }
  return true;
}

}  // namespace

// ---- the intent bytes ----------------------------------------------------------------------

TEST_CASE("the intent decoder accepts the documented layout and refuses every spoiled form") {
  Bytes good = vfs_intent();
  REQUIRE(decode_reason(good) == Reason::NONE);
  const auto v = intent::decode(std::span<const char>(good.v.data(), good.v.size())).value();
  CHECK(v.kind() == intent::IntentKind::VFS);
  CHECK(v.recipient() == 20);
  REQUIRE(v.provider_count() == 2);
  CHECK(v.provider(0).service == 7);
  CHECK(v.provider(0).key == 9);
  CHECK(v.provider(1).key == intent::kNone16);
  CHECK(v.provider(1).partition == 1);
  REQUIRE(v.mount_count() == 2);
  CHECK(v.mount(0).path == "/");
  CHECK_FALSE(v.mount(0).read_only);
  CHECK(v.mount(1).path == "/esp");
  CHECK(v.mount(1).read_only);

  auto spoiled = [&](std::size_t at, std::uint8_t value, bool reseal) {
    Bytes b = good;
    b.v[at] = static_cast<char>(value);
    if (reseal) b.reseal();
    return decode_reason(b);
  };
  const std::size_t digest_at = good.v.size() - 8;
  CHECK(spoiled(digest_at, static_cast<std::uint8_t>(good.v[digest_at] ^ 1), false) == Reason::BOOT_STORAGE_INTENT_DIGEST);
  CHECK(spoiled(20, 0x55, false) == Reason::BOOT_STORAGE_INTENT_DIGEST);  // a row byte, digest left as it was
  // With the digest made right again, each field is still checked.
  CHECK(spoiled(0, 'X', true) == Reason::BOOT_STORAGE_INTENT_BAD_HEADER);       // magic
  CHECK(spoiled(4, 3, true) == Reason::BOOT_STORAGE_INTENT_BAD_HEADER);         // kind
  CHECK(spoiled(5, 2, true) == Reason::BOOT_STORAGE_INTENT_BAD_HEADER);         // version
  CHECK(spoiled(16, 1, true) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);           // provider index out of place
  CHECK(spoiled(28, 1, true) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);           // reserved
  CHECK(spoiled(48 + 2, 2, true) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);       // unknown mount flag
  CHECK(spoiled(48 + 5, 1, true) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);       // padding
  CHECK(spoiled(48 + 0, 2, true) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);       // mount of no provider
  CHECK(spoiled(60 + 1, '/', true) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);     // "/esp" made "//sp"
  // A partition without a block service.
  {
    Bytes b = good;
    b.v[32 + 4] = static_cast<char>(0xFF);
    b.v[32 + 5] = static_cast<char>(0xFF);
    b.reseal();
    CHECK(decode_reason(b) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);
  }
  // Truncated: one byte short (the length field then disagrees), or the
  // length field itself lying.
  {
    Bytes b = good;
    b.v.pop_back();
    CHECK(decode_reason(b) == Reason::BOOT_STORAGE_INTENT_TRUNCATED);
    Bytes c;
    c.v.assign(good.v.begin(), good.v.begin() + 10);
    CHECK(decode_reason(c) == Reason::BOOT_STORAGE_INTENT_TRUNCATED);
  }
  // A mount count larger than the rows present.
  CHECK(spoiled(10, 3, true) == Reason::BOOT_STORAGE_INTENT_TRUNCATED);
  // A filesystem intent must carry exactly one row, the recipient's.
  {
    Bytes fs;
    fs.u32(0x314E4953);
    fs.u8(2), fs.u8(1), fs.u16(7), fs.u16(1), fs.u16(0), fs.u32(0);
    fs.u16(0), fs.u16(7), fs.u16(3), fs.u16(9), fs.u32(2), fs.u32(0);
    fs.seal();
    CHECK(decode_reason(fs) == Reason::NONE);
    Bytes other = fs;
    other.v[18] = 8;  // the row's filesystem service is not the recipient
    other.reseal();
    CHECK(decode_reason(other) == Reason::BOOT_STORAGE_INTENT_BAD_ROW);
    Bytes mounts = fs;
    mounts.v[10] = 1;
    mounts.reseal();
    CHECK(decode_reason(mounts) == Reason::BOOT_STORAGE_INTENT_BAD_HEADER);
  }
}

TEST_CASE("rootd's chunks reassemble to bytes the independent writer agrees with") {
  // The same vfsd intent through the encoder, from a config with the same
  // rows: compare the decoded tables (not the encoder against itself).
  const std::string text = example("runtime.toml");
  const auto cfg = from_toml(text);
  const auto view = rootd::bcfg::parse(std::span<const char>(cfg.blob.data(), cfg.blob.size())).value();
  const std::uint16_t vfsd = view.find_service("vfsd");
  const rootd::Role& role = *rootd::find_role("vfsd");
  const intent::Chunk first = intent::intent_chunk(view, role, vfsd, 0);
  REQUIRE(first.length > 0);
  std::vector<char> bytes;
  for (std::size_t k = 0; k < intent::chunk_count(first.length); ++k) {
    const intent::Chunk c = intent::intent_chunk(view, role, vfsd, k);
    CHECK(c.message.label == static_cast<std::uint64_t>(abi::StorageIntent::CHUNK));
    CHECK((c.message.words[0] & 0xFFFFFFFF) == k);
    CHECK((c.message.words[0] >> 32) == first.length);
    for (std::size_t i = 0; i < 40 && bytes.size() < first.length; ++i) {
      bytes.push_back(static_cast<char>(c.message.words[1 + i / 8] >> (8 * (i % 8))));
    }
  }
  const auto decoded = intent::decode(std::span<const char>(bytes.data(), bytes.size()));
  REQUIRE(decoded.ok());
  const Expected want = expected_intents(text);
  const sim::ReceivedIntent& w = want.by_service.at("vfsd");
  REQUIRE(decoded.value().provider_count() == w.providers.size());
  REQUIRE(decoded.value().mount_count() == w.mounts.size());
  for (std::size_t m = 0; m < w.mounts.size(); ++m) CHECK(decoded.value().mount(m).path == w.mounts[m].path);
  // Not a storage service: nothing.
  CHECK(intent::intent_chunk(view, *rootd::find_role("logd"), view.find_service("logd"), 0).length == 0);
}

// ---- booting -------------------------------------------------------------------------------

TEST_CASE("every storage service receives exactly the intent the TOML implies") {
  for (const std::string name : {"runtime.toml", "phase4-loader-contract.toml", "phase4-loader-closure.toml"}) {
    INFO(name);
    const std::string text = example(name);
    const Booted b = boot(from_toml(text));
    REQUIRE(b.run.status == Status::READY);
    check_received(b, expected_intents(text));
  }
}

TEST_CASE("a block-backed provider comes up driver, blockd, filesystem, vfsd, even without peers") {
  // blockd's peers removed: only the roles imply the order.
  const std::string text = edit(example("runtime.toml"), "role = \"blockd\"\npeers = [\"drv-virtio-block\"]",
                                "role = \"blockd\"");
  const Booted b = boot(from_toml(text));
  REQUIRE(b.run.status == Status::READY);
  auto created = [&](const std::string& n) { return b.model->process(b.record(n).pid)->created_at; };
  auto ready = [&](const std::string& n) {
    REQUIRE(b.record(n).answered_at.has_value());
    return *b.record(n).answered_at;
  };
  CHECK(ready("drv-virtio-block") > 0);
  CHECK(created("blockd") >= ready("drv-virtio-block"));
  CHECK(created("e2fsd") >= ready("blockd"));
  CHECK(created("fatd") >= ready("blockd"));
  CHECK(created("e2fsd") >= ready("keyd"));
  CHECK(created("vfsd") >= std::max(ready("e2fsd"), ready("fatd")));
  // The READY lines say the same in order.
  auto line = [&](const std::string& marker) {
    const auto it = std::find(b.run.lines.begin(), b.run.lines.end(), "ERIX_ROOTD:READY:" + marker);
    REQUIRE(it != b.run.lines.end());
    return it - b.run.lines.begin();
  };
  CHECK(line("DRV_VIRTIO_BLOCK") < line("BLOCKD"));
  CHECK(line("BLOCKD") < line("E2FSD"));
  CHECK(line("E2FSD") < line("VFSD"));
  CHECK(b.partition_calls == 2);  // one per block-backed filesystem
}

TEST_CASE("without a block driver the config is refused before anything starts") {
  std::string text = example("runtime.toml");
  text = edit(text, "[[service]]\nname = \"drv-virtio-block\"\nrole = \"drv-virtio-block\"\nlaunch = \"deviced\"\n"
                    "peers = [\"irqd\", \"probed\"]\n", "");
  text = edit(text, "role = \"blockd\"\npeers = [\"drv-virtio-block\"]", "role = \"blockd\"");
  const Booted b = boot(from_toml(text));
  CHECK(b.run.status == Status::CONTRACT_INVALID);
  CHECK(b.run.reason == Reason::ORDER_BLOCK_DRIVER_MISSING);
  CHECK(b.run.failed_service == "blockd");
  CHECK(b.model->processes().size() == 1);  // rootd alone
}

TEST_CASE("a partition the disk lacks fails closed, naming the filesystem, before it exists") {
  for (const std::string part : {"3", "200"}) {
    INFO("partition " << part);
    const std::string text = edit(example("runtime.toml"), "partition = 2", "partition = " + part);
    const Booted b = boot(from_toml(text));
    CHECK(b.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
    CHECK(b.run.reason == Reason::BOOT_STORAGE_PARTITION_MISSING);
    CHECK(b.run.failed_service == "e2fsd");
    CHECK(b.has_line("ERIX_ROOTD:DETAIL:BOOT_STORAGE_PARTITION_MISSING:e2fsd"));
    CHECK_FALSE(b.record("e2fsd").admitted);
    CHECK_FALSE(b.record("vfsd").admitted);
    CHECK_FALSE(b.record("loaderd").admitted);
    CHECK(b.audit.leak_count() == 0);
    CHECK(b.audit.started_not_destroyed.empty());
  }
}

TEST_CASE("a disk without a GPT fails closed; a memory-backed config never asks") {
  const std::string text = example("runtime.toml");
  const Booted b = boot(from_toml(text), [](sim::StorageServices& s) { s.set_disk(std::nullopt); });
  CHECK(b.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
  CHECK(b.run.reason == Reason::BOOT_STORAGE_NO_GPT);
  CHECK(b.run.failed_service == "e2fsd");  // the first block-backed filesystem in launch order
  CHECK_FALSE(b.record("vfsd").admitted);
  CHECK(b.audit.leak_count() == 0);
  CHECK(b.audit.started_not_destroyed.empty());

  const Booted mem = boot(from_toml(example("phase4-loader-contract.toml")),
                          [](sim::StorageServices& s) { s.set_disk(std::nullopt); });
  CHECK(mem.run.status == Status::READY);
  CHECK(mem.partition_calls == 0);
}

TEST_CASE("a spoiled, truncated or misaddressed intent makes the service refuse READY") {
  const std::string text = example("runtime.toml");
  const auto cfg = from_toml(text);
  const auto view = rootd::bcfg::parse(std::span<const char>(cfg.blob.data(), cfg.blob.size())).value();
  const std::uint64_t vfsd_badge = rootd::protocol::answer_badge(view.find_service("vfsd"));
  const std::uint64_t e2fsd_badge = rootd::protocol::answer_badge(view.find_service("e2fsd"));
  const auto chunk = static_cast<std::uint64_t>(abi::StorageIntent::CHUNK);
  struct Row {
    const char* what;
    std::uint64_t badge;
    std::function<void(abi::Message&, bool&)> spoil;
    sim::Complaint complaint;
    const char* service;
  };
  const Row rows[] = {
      {"a flipped byte: wrong digest", vfsd_badge,
       [](abi::Message& m, bool&) {
         if ((m.words[0] & 0xFFFFFFFF) == 0) m.words[4] ^= 0x01;  // byte 24: the first row's partition
       },
       sim::Complaint::intent_digest_mismatch, "vfsd"},
      {"the last chunk lost: truncated", vfsd_badge,
       [](abi::Message& m, bool& drop) {
         const std::uint64_t length = m.words[0] >> 32;
         drop = (m.words[0] & 0xFFFFFFFF) == (length + 39) / 40 - 1;
       },
       sim::Complaint::intent_truncated, "vfsd"},
      {"chunks out of order", e2fsd_badge,
       [](abi::Message& m, bool&) { m.words[0] += 1; }, sim::Complaint::intent_malformed, "e2fsd"},
      {"no intent at all", e2fsd_badge, [](abi::Message&, bool& drop) { drop = true; },
       sim::Complaint::intent_missing, "e2fsd"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    const Booted b = boot(cfg, {}, [&](abi::Message& m, std::uint64_t badge, bool& drop) {
      if (m.label == chunk && badge == row.badge) row.spoil(m, drop);
    });
    CHECK(b.run.status == Status::SERVICE_BOOTSTRAP_FAILED);
    CHECK(b.run.reason == Reason::BOOT_SERVICE_NOT_READY);
    CHECK(b.run.failed_service == row.service);
    CHECK(b.record(row.service).complaint == row.complaint);
    CHECK(b.audit.leak_count() == 0);
  }
  // Another filesystem's binding, sealed correctly: not theirs.
  const std::uint16_t fatd = view.find_service("fatd");
  const Booted swapped = boot(cfg, {}, [&](abi::Message& m, std::uint64_t badge, bool&) {
    if (m.label != chunk || badge != e2fsd_badge) return;
    m = intent::intent_chunk(view, *rootd::find_role("fatd"), fatd, m.words[0] & 0xFFFFFFFF).message;
  });
  CHECK(swapped.run.reason == Reason::BOOT_SERVICE_NOT_READY);
  CHECK(swapped.record("e2fsd").complaint == sim::Complaint::intent_not_theirs);
}

// ---- the disk ------------------------------------------------------------------------------

TEST_CASE("the GPT reader reads what sgdisk wrote, and refuses what is not a GPT") {
  if (!have_disk_tools()) return;
  TempDir dir;
  const std::string img = make_disk(dir, "disk.img");
  auto disk = sim::read_gpt_image(img);
  REQUIRE(disk);
  CHECK(disk->sectors == 16 * 2048);
  CHECK(disk->entry_count == 128);
  REQUIRE(disk->partitions.size() == 2);
  CHECK(disk->partitions[0].number == 1);
  CHECK(disk->partitions[0].first_lba == 2048);
  CHECK(disk->partitions[0].last_lba == 2048 + 4 * 2048 - 1);
  CHECK(disk->partitions[0].name == "esp");
  CHECK(disk->partitions[1].number == 2);
  CHECK(disk->partitions[1].first_lba == 2048 + 4 * 2048);
  CHECK(disk->partitions[1].last_lba == 2048 + 12 * 2048 - 1);
  CHECK(disk->partitions[1].name == "data");
  // EFI System: C12A7328-F81F-11D2-BA4B-00A0C93EC93B, mixed-endian.
  CHECK(disk->partitions[0].type_guid[0] == 0x28);
  CHECK(disk->partitions[0].type_guid[3] == 0xC1);

  std::ifstream in(img, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto refused = [&](std::size_t at, std::uint8_t x) {
    auto copy = bytes;
    copy[at] ^= x;
    auto r = sim::parse_gpt_image(copy, "spoiled");
    return r ? std::string() : r.error();
  };
  CHECK(refused(510, 0xFF).find("boot signature") != std::string::npos);
  CHECK(refused(446 + 4, 0x01).find("protective") != std::string::npos);
  CHECK(refused(512, 0x01).find("EFI PART") != std::string::npos);
  CHECK(refused(512 + 40, 0x01).find("header CRC32") != std::string::npos);
  CHECK(refused(1024 + 32, 0x01).find("entry array CRC32") != std::string::npos);

  // An MBR-only disk made by sfdisk is no GPT.
  if (have_tool("sfdisk")) {
    const std::string dos = (dir.path / "dos.img").string();
    REQUIRE(run("truncate -s 8M " + dos) == 0);
    REQUIRE(run("echo 'start=2048, type=83' | PATH=/usr/sbin:/sbin:$PATH sfdisk --label dos " + dos) == 0);
    auto r = sim::read_gpt_image(dos);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("protective") != std::string::npos);
  }
}

TEST_CASE("the generated image is a GPT sgdisk verifies, with the partitions asked for") {
  TempDir dir;
  const std::string img = (dir.path / "gen.img").string();
  REQUIRE(sim::write_gpt_image(img, {2, 5, 1}));
  auto disk = sim::read_gpt_image(img);
  REQUIRE(disk);
  std::vector<std::uint32_t> numbers;
  for (const auto& p : disk->partitions) numbers.push_back(p.number);
  CHECK(numbers == std::vector<std::uint32_t>{1, 2, 5});
  CHECK_FALSE(sim::write_gpt_image(img, {129}));
  if (have_tool("sgdisk")) CHECK(run("PATH=/usr/sbin:/sbin:$PATH sgdisk -v " + img) == 0);
}

TEST_CASE("a boot against a real disk image: READY with its partitions, fail-closed without") {
  if (!have_disk_tools()) return;
  TempDir dir;
  const std::string text = example("runtime.toml");
  auto full = sim::read_gpt_image(make_disk(dir, "full.img"));
  REQUIRE(full);
  const Booted ok = boot(from_toml(text), [&](sim::StorageServices& s) { s.set_disk(*full); });
  CHECK(ok.run.status == Status::READY);
  check_received(ok, expected_intents(text));

  auto esp_only = sim::read_gpt_image(make_disk(dir, "esp.img", false));
  REQUIRE(esp_only);
  const Booted missing = boot(from_toml(text), [&](sim::StorageServices& s) { s.set_disk(*esp_only); });
  CHECK(missing.run.reason == Reason::BOOT_STORAGE_PARTITION_MISSING);
  CHECK(missing.run.failed_service == "e2fsd");
  CHECK(missing.audit.leak_count() == 0);
}
