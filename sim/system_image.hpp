// SystemImage: everything a kernel would prepare before it enters rootd,
// built from a boot config: the boot modules at their virtual addresses,
// the kernel->root handoff describing them, and the kernel model's view of
// rootd's cspace (the same caps the handoff names, installed through
// layout_from_handoff, so the two can never disagree).
//
// Address plan (all inside 64 KiB .. 0x7fff8000, which is free in the
// runner's host process and its fork, and away from rootd's link address
// 0x400000):
//   kStackBase .. +kStackSize          rootd's stack (read-write)
//   kHandoffVaddr                      the handoff blob (read-only)
//   kFirstModuleVaddr, page by page    boot modules in name order (read-only)
//
// Slot plan of rootd's cspace: 1..3 fixed (abi.hpp), 4 empty (legacy), 5
// the image frame, then one frame slot per module and the untyped regions;
// the dedicated endpoints at their canonical slots 2112 + 16 k; the root
// endpoint goes to the lowest free slot below first_free_slot (the model
// chooses it); first_free_slot lies above every named slot and leaves
// three slots per service (retained endpoint, process cap, install grant)
// plus a margin for rootd's own endpoints.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expected.hpp"
#include "kernel_model.hpp"
#include "services.hpp"

namespace erix::sim {

inline constexpr std::uint64_t kStackBase = 0x0100'0000;
inline constexpr std::uint64_t kStackSize = 0x0010'0000;
inline constexpr std::uint64_t kHandoffVaddr = 0x1000'0000;
// Room for the largest handoff file erix-boot accepts (kMaxHandoffFile).
inline constexpr std::uint64_t kFirstModuleVaddr = 0x2000'0000;
inline constexpr std::uint64_t kSystemAddressLimit = 0x7FFF'8000;
inline constexpr std::size_t kMaxHandoffFile = std::size_t{64} << 20;

inline constexpr std::uint32_t kImageFrameSlot = 5;
inline constexpr std::uint32_t kFirstModuleSlot = 6;
// Slots rootd may want beyond three per service: endpoints it creates for
// itself, and room so that a config near a limit is judged by rootd rather
// than by a cspace this builder made too small.
inline constexpr std::uint32_t kSlotMargin = 64;
inline constexpr std::uint64_t kDefaultImageFrameSize = 0x40000;

// Module names rootd knows besides the boot config and service images.
inline constexpr std::string_view kHooksModule = "rootd-hooks";

// A boot config read from a file: the blob rootd will parse and, when the
// blob is well formed, the services the simulated user space will play.
struct SystemConfig {
  std::vector<char> blob;
  bool blob_parses = false;           // bcfg::parse accepted it
  std::string profile;                // empty when the blob does not parse
  std::vector<ServiceSpec> services;  // identity = config index; empty when the blob does not parse
  // Each service's dependencies (ordering.hpp: after, peers, launcher,
  // foundation, storage), by config index; empty when no order exists.
  std::vector<std::vector<std::size_t>> dependencies;
  std::vector<std::size_t> launch_order;  // every config index once, dependencies first
};

// Reads a TOML source or an ERIXBCFG blob (judged by content, as erix-bcfg
// does). TOML goes through the erix-bcfg front end and writer without the
// policy layer: a config that breaks a policy rule still boots, so that
// rootd itself reports CONTRACT_INVALID. An error means there is no blob to
// boot with: the file is unreadable or its TOML cannot be compiled; the
// message holds every diagnostic, one per line.
Expected<SystemConfig, std::string> load_system_config(const std::string& path);
// The same from bytes in memory; `file` labels diagnostics.
Expected<SystemConfig, std::string> system_config_from_bytes(std::string_view bytes, std::string_view file);

struct MappedModule {
  std::string name;
  std::uint64_t vaddr = 0;  // page-aligned
  std::uint32_t frame_slot = 0;
  std::vector<char> bytes;  // the module's size is bytes.size() (> 0)
};

struct SystemImageOptions {
  std::uint64_t image_frame_size = kDefaultImageFrameSize;  // page-aligned, > 0
  // Extra modules by name (e.g. kHooksModule); a name that a service image
  // also uses keeps the service's placeholder.
  std::map<std::string, std::vector<char>, std::less<>> extra_modules;
};

struct SystemImage {
  std::vector<char> handoff;  // what rootd receives at kHandoffVaddr
  std::vector<MappedModule> modules;  // name order = ascending vaddr
  std::uint32_t slot_count = 0;
  std::uint32_t first_free_slot = 0;
  // The caps the kernel installs, as the model takes them. Always built
  // from the generated handoff, even when rootd is given other bytes.
  RootdLayout layout;
};

// The placeholder contents of a service image module (a few bytes naming it).
std::vector<char> placeholder_image(std::string_view module);

Expected<SystemImage, std::string> build_system_image(const SystemConfig& config,
                                                      const SystemImageOptions& options = {});

// Longest dependency chain of the config with every service weighted by its
// latency: the fewest ticks in which an ideal rootd reaches READY. 0 when
// the config has no order.
Tick critical_path(const SystemConfig& config);
// The services on one longest chain, first to last (ties go to the lower
// config index); empty when the config has no order.
std::vector<std::string> critical_chain(const SystemConfig& config);

}  // namespace erix::sim
