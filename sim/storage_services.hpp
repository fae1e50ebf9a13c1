// The storage side of the simulated services: blockd serving a disk image,
// and vfsd and the filesystem services taking their storage intent.
//
// - blockd answers BlockdOp::PARTITION_TABLE from the disk image it serves
//   (disk_image.hpp): namespace 1, the GPT flag and the entries in use. It
//   serves default_disk() until given another; with none (a file that is
//   not a GPT disk) it answers a namespace with no GPT.
// - vfsd and every filesystem service collect the StorageIntent::CHUNK
//   messages that follow their envelope, in order, and at the moment they
//   would answer READY they decode the intent strictly (rootd::intent). A
//   missing, truncated or spoiled intent, or one addressed to another
//   service, turns the answer into NOT_READY with the matching Complaint.
//   What each service decoded is kept, as plain rows, for tests to compare.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "disk_image.hpp"
#include "kernel_model.hpp"
#include "rootd/protocol.hpp"
#include "rootd/roles.hpp"

namespace erix::sim {

// Why vfsd or a filesystem service refuses its intent (services.hpp Complaint values).
enum class IntentProblem : std::uint8_t { none, missing, truncated, malformed, digest, not_theirs, unexpected };

struct IntentBinding {
  std::uint16_t provider = 0;
  std::uint16_t service = 0;
  std::uint16_t block = 0xFFFF;
  std::uint16_t key = 0xFFFF;
  std::uint32_t partition = 0xFFFFFFFF;
  friend bool operator==(const IntentBinding&, const IntentBinding&) = default;
};
struct IntentMount {
  std::string path;
  std::uint16_t provider = 0;
  bool read_only = false;
  friend bool operator==(const IntentMount&, const IntentMount&) = default;
};
// A decoded intent as the service took it.
struct ReceivedIntent {
  bool vfs = false;
  std::uint16_t recipient = 0;
  std::vector<IntentBinding> providers;
  std::vector<IntentMount> mounts;
};

class StorageServices {
 public:
  StorageServices() : disk_(default_disk()) {}
  // The disk blockd serves; nullopt: none (blockd reports no GPT).
  void set_disk(std::optional<DiskImage> disk) { disk_ = std::move(disk); }
  const std::optional<DiskImage>& disk() const { return disk_; }

  // blockd's answer to a CALL.
  abi::Message blockd_call(const abi::Message& message) const;

  // Takes an intent chunk sent to `pid`.
  void take_chunk(Pid pid, const abi::Message& message);
  // At answer time: what the service of `role` created with `identity` in
  // `pid` thinks of the intent it has; records the decoded intent under
  // `service` when it is good.
  IntentProblem check_intent(Pid pid, const rootd::Role& role, std::uint64_t identity, const std::string& service);

  // Intents decoded and accepted, by service name.
  const std::map<std::string, ReceivedIntent>& received() const { return received_; }

 private:
  struct Assembly {
    std::vector<char> bytes;
    std::uint64_t length = 0;  // announced by the first chunk
    std::uint32_t chunks = 0;
    bool broken = false;       // out of order, inconsistent length, non-zero tail, or too many
  };

  std::optional<DiskImage> disk_;
  std::map<Pid, Assembly> assembly_;
  std::map<std::string, ReceivedIntent> received_;
};

std::string_view intent_problem_name(IntentProblem p);

// The GPT partition numbers the block-backed providers of a boot config
// name (`blob`: ERIXBCFG bytes), and whether any provider is block-backed.
// Nothing when the blob does not parse.
struct DiskNeeds {
  bool block_backed = false;
  std::vector<std::uint32_t> partitions;
};
DiskNeeds disk_needs(const std::vector<char>& blob);

// The disk blockd serves in erix-boot. With `path`, the user's image: an
// unreadable file is an error; a file that is not a GPT disk is served
// without one (blockd then reports no GPT), and `note` says why. Without,
// when the config has a block-backed provider: a generated image with every
// partition the config names that a 128-entry GPT can hold, written to a
// temporary directory, read back like any image, and removed.
Expected<std::optional<DiskImage>, std::string> prepare_disk(const std::vector<char>& blob,
                                                            const std::optional<std::string>& path,
                                                            std::string& note);

}  // namespace erix::sim
