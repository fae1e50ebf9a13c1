#include "storage_services.hpp"

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "rootd/bcfg.hpp"
#include "rootd/storage_intent.hpp"

namespace erix::sim {

namespace protocol = rootd::protocol;
namespace intent = rootd::intent;

std::string_view intent_problem_name(IntentProblem p) {
  switch (p) {
    case IntentProblem::none: return "none";
    case IntentProblem::missing: return "intent-missing";
    case IntentProblem::truncated: return "intent-truncated";
    case IntentProblem::malformed: return "intent-malformed";
    case IntentProblem::digest: return "intent-digest-mismatch";
    case IntentProblem::not_theirs: return "intent-not-theirs";
    case IntentProblem::unexpected: return "intent-unexpected";
  }
  return "?";
}

abi::Message StorageServices::blockd_call(const abi::Message& message) const {
  if (message.label != static_cast<std::uint64_t>(abi::BlockdOp::PARTITION_TABLE)) {
    return protocol::call_reply(abi::KernelError::UNKNOWN_OPERATION);
  }
  if (!protocol::is_partition_table_request(message)) return protocol::call_reply(abi::KernelError::INVALID_ARGUMENT);
  protocol::PartitionTable table;
  table.name_space = 1;
  if (disk_.has_value()) {
    table.gpt = true;
    for (const GptPartition& p : disk_->partitions) table.add(p.number);
  }
  return protocol::encode(table);
}

void StorageServices::take_chunk(Pid pid, const abi::Message& message) {
  Assembly& a = assembly_[pid];
  const std::uint64_t index = message.words[0] & 0xFFFFFFFFU;
  const std::uint64_t length = message.words[0] >> 32;
  if (a.chunks == 0) a.length = length;
  if (index != a.chunks || length != a.length || length > intent::kMaxIntentBytes || length == 0 ||
      a.bytes.size() >= length || message.cap != abi::kNoSlot) {
    a.broken = true;
    return;
  }
  for (std::size_t k = 0; k < intent::kChunkPayload; ++k) {
    const char byte = static_cast<char>(message.words[1 + k / 8] >> (8 * (k % 8)));
    if (a.bytes.size() < length) {
      a.bytes.push_back(byte);
    } else if (byte != 0) {
      a.broken = true;
    }
  }
  ++a.chunks;
}

IntentProblem StorageServices::check_intent(Pid pid, const rootd::Role& role, std::uint64_t identity,
                                            const std::string& service) {
  const auto it = assembly_.find(pid);
  if (!intent::receives_intent(role)) return it == assembly_.end() ? IntentProblem::none : IntentProblem::unexpected;
  if (it == assembly_.end()) return IntentProblem::missing;
  const Assembly& a = it->second;
  if (a.broken) return IntentProblem::malformed;
  if (a.bytes.size() != a.length) return IntentProblem::truncated;
  const auto decoded = intent::decode(std::span<const char>(a.bytes.data(), a.bytes.size()));
  if (!decoded.ok()) {
    switch (decoded.error().reason) {
      case rootd::Reason::BOOT_STORAGE_INTENT_DIGEST: return IntentProblem::digest;
      case rootd::Reason::BOOT_STORAGE_INTENT_TRUNCATED: return IntentProblem::truncated;
      default: return IntentProblem::malformed;
    }
  }
  const intent::View& v = decoded.value();
  const bool vfs = role.storage == rootd::StorageClass::VFS;
  if (v.recipient() != identity || (v.kind() == intent::IntentKind::VFS) != vfs) return IntentProblem::not_theirs;
  ReceivedIntent r;
  r.vfs = vfs;
  r.recipient = v.recipient();
  for (std::size_t p = 0; p < v.provider_count(); ++p) {
    const intent::ProviderBinding b = v.provider(p);
    r.providers.push_back(IntentBinding{b.provider, b.service, b.block, b.key, b.partition});
  }
  for (std::size_t m = 0; m < v.mount_count(); ++m) {
    const intent::MountEntry e = v.mount(m);
    r.mounts.push_back(IntentMount{std::string(e.path), e.provider, e.read_only});
  }
  received_[service] = std::move(r);
  return IntentProblem::none;
}

DiskNeeds disk_needs(const std::vector<char>& blob) {
  DiskNeeds needs;
  const auto parsed = rootd::bcfg::parse(std::span<const char>(blob.data(), blob.size()));
  if (!parsed.ok()) return needs;
  const rootd::bcfg::View& cfg = parsed.value();
  for (std::size_t p = 0; p < cfg.provider_count(); ++p) {
    const rootd::bcfg::Provider provider = cfg.provider(p);
    if (provider.block == rootd::bcfg::kNoIndex) continue;
    needs.block_backed = true;
    if (provider.partition != rootd::bcfg::kNoPartition) needs.partitions.push_back(provider.partition);
  }
  return needs;
}

Expected<std::optional<DiskImage>, std::string> prepare_disk(const std::vector<char>& blob,
                                                            const std::optional<std::string>& path,
                                                            std::string& note) {
  if (path.has_value()) {
    std::ifstream in(*path, std::ios::binary);
    if (!in) return unexpected(fmt::format("--disk {}: cannot open the disk image", *path));
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto disk = parse_gpt_image(bytes, *path);
    if (!disk) {
      note = disk.error();
      return std::optional<DiskImage>();
    }
    return std::optional<DiskImage>(std::move(*disk));
  }
  const DiskNeeds needs = disk_needs(blob);
  if (!needs.block_backed) return std::optional<DiskImage>();
  std::vector<std::uint32_t> numbers;
  for (std::uint32_t n : needs.partitions) {
    if (n >= 1 && n <= 128) numbers.push_back(n);
  }
  char dir[] = "/tmp/erix-boot-disk-XXXXXX";
  if (mkdtemp(dir) == nullptr) return unexpected(std::string("cannot make a temporary directory for the disk image"));
  const std::string file = std::string(dir) + "/disk.img";
  auto written = write_gpt_image(file, numbers);
  auto disk = written ? read_gpt_image(file) : Expected<DiskImage, std::string>(unexpected(written.error()));
  unlink(file.c_str());
  rmdir(dir);
  if (!disk) return unexpected(fmt::format("the generated disk image: {}", disk.error()));
  disk->path = "(generated)";
  return std::optional<DiskImage>(std::move(*disk));
}

}  // namespace erix::sim
