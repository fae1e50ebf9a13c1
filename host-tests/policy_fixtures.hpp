// Boot configs and handoffs shared by the policy-layer tests, all usable in
// constant expressions: a config is a bcfg::ConfigDesc compiled with the real
// writer, a handoff is built with the real Builder.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "rootd/result.hpp"

namespace fixtures {

using rootd::bcfg::ConfigDesc;
using rootd::bcfg::Launch;
using rootd::bcfg::MountDesc;
using rootd::bcfg::ProviderDesc;
using rootd::bcfg::ServiceDesc;

template <std::size_t N>
struct Blob {
  std::array<char, N> bytes{};
  std::size_t size = 0;
  rootd::Error error{};
  constexpr rootd::Bytes view() const { return rootd::Bytes(bytes.data(), size); }
};

inline constexpr std::size_t kConfigBytes = 16384;
inline constexpr std::size_t kHandoffBytes = 8192;

constexpr Blob<kConfigBytes> compile(const ConfigDesc& desc) {
  Blob<kConfigBytes> b;
  const rootd::Result<std::size_t> n = rootd::bcfg::write(desc, b.bytes);
  if (n) {
    b.size = *n;
  } else {
    b.error = n.error();
  }
  return b;
}

// ---- the runtime graph of examples/runtime.toml -------------------------------

inline constexpr std::string_view kLoaderPeers[] = {"vfsd", "procd"};

inline constexpr ServiceDesc kRuntimeServices[] = {
    {"memd", "memd", "memd"},
    {"vspaced", "vspaced", "vspaced"},
    {"pagerd", "pagerd", "pagerd"},
    {"procd", "procd", "procd"},
    {"logd", "logd", "logd"},
    {"timed", "timed", "timed"},
    {"irqd", "irqd", "irqd"},
    {"hotplugd", "hotplugd", "hotplugd"},
    {"probed", "probed", "probed"},
    {"deviced", "deviced", "deviced"},
    {"fbcond", "fbcond", "fbcond"},
    {"drv-acpi", "drv-acpi", "drv-acpi", Launch::DEVICED},
    {"drv-serial", "drv-serial", "drv-serial", Launch::DEVICED},
    {"drv-i8042", "drv-i8042", "drv-i8042", Launch::DEVICED},
    {"drv-virtio-block", "drv-virtio-block", "drv-virtio-block", Launch::DEVICED},
    {"blockd", "blockd", "blockd"},
    {"keyd", "keyd", "keyd"},
    {"e2fsd", "e2fsd", "e2fsd"},
    {"fatd", "fatd", "fatd"},
    {"vfsd", "vfsd", "vfsd"},
    {"loaderd", "loaderd", "loaderd", Launch::ROOTD, {}, kLoaderPeers},
};
inline constexpr ProviderDesc kRuntimeProviders[] = {
    {"data", "e2fsd", "blockd", "keyd", 2},
    {"esp", "fatd", "blockd", {}, 1},
};
inline constexpr MountDesc kRuntimeMounts[] = {{"/", "data"}, {"/esp", "esp", true}};
inline constexpr ConfigDesc kRuntime{"none", kRuntimeServices, kRuntimeProviders, kRuntimeMounts};

// ---- every role of the catalog in one graph ------------------------------------

inline constexpr std::string_view kDevicedPeers[] = {"probed"};
inline constexpr std::string_view kKbdPeers[] = {"drv-i8042", "inputd"};
inline constexpr std::string_view kBlockdPeers[] = {"drv-virtio-block"};
inline constexpr std::string_view kVfsdPeers[] = {"e2fsd", "logd"};  // e2fsd is provider-bound too
inline constexpr std::string_view kProbePeers[] = {"memd", "procd"};
inline constexpr std::string_view kAppPeers[] = {"logd", "vfsd"};

inline constexpr ServiceDesc kAllRoleServices[] = {
    {"memd", "memd", "memd"},
    {"vspaced", "vspaced", "vspaced"},
    {"pagerd", "pagerd", "pagerd"},
    {"procd", "procd", "procd"},
    {"logd", "logd", "logd"},
    {"timed", "timed", "timed"},
    {"irqd", "irqd", "irqd"},
    {"hotplugd", "hotplugd", "hotplugd"},
    {"probed", "probed", "probed"},
    {"deviced", "deviced", "deviced", Launch::ROOTD, {}, kDevicedPeers},
    {"fbcond", "fbcond", "fbcond"},
    {"drv-acpi", "drv-acpi", "drv-acpi", Launch::DEVICED},
    {"drv-serial", "drv-serial", "drv-serial", Launch::DEVICED},
    {"drv-i8042", "drv-i8042", "drv-i8042", Launch::DEVICED},
    {"drv-ps2-kbd", "drv-ps2-kbd", "drv-ps2-kbd", Launch::DEVICED, {}, kKbdPeers},
    {"drv-ps2-mouse", "drv-ps2-mouse", "drv-ps2-mouse", Launch::DEVICED},
    {"drv-virtio-block", "drv-virtio-block", "drv-virtio-block", Launch::DEVICED},
    {"inputd", "inputd", "inputd"},
    {"blockd", "blockd", "blockd", Launch::ROOTD, {}, kBlockdPeers},
    {"keyd", "keyd", "keyd"},
    {"ramfsd", "ramfsd", "ramfsd"},
    {"e2fsd", "e2fsd", "e2fsd"},
    {"fatd", "fatd", "fatd"},
    {"vfsd", "vfsd", "vfsd", Launch::ROOTD, {}, kVfsdPeers},
    {"loaderd", "loaderd", "loaderd", Launch::ROOTD, {}, kLoaderPeers},
    {"phase0-probe", "phase0-probe", "phase0-probe", Launch::ROOTD, {}, kProbePeers},
    {"app", "service", "app", Launch::ROOTD, {}, kAppPeers},
};
inline constexpr ProviderDesc kAllRoleProviders[] = {
    {"data", "e2fsd", "blockd", "keyd", 2},
    {"esp", "fatd", "blockd", {}, 1},
    {"scratch", "ramfsd"},
};
inline constexpr MountDesc kAllRoleMounts[] = {{"/", "data"}, {"/esp", "esp", true}, {"/tmp", "scratch"}};
inline constexpr ConfigDesc kAllRoles{"phase0", kAllRoleServices, kAllRoleProviders, kAllRoleMounts};

// ---- handoffs -------------------------------------------------------------------

inline constexpr std::uint32_t kSlotCount = 8192;
inline constexpr std::uint32_t kFirstFreeSlot = 4096;
inline constexpr std::uint32_t kImageFrameSlot = 10;
inline constexpr std::uint32_t kFirstModuleSlot = 100;
inline constexpr std::uint64_t kModuleBase = 0x4000'0000;

// What a test changes in an otherwise well-formed handoff.
struct HandoffShape {
  std::uint32_t slot_count = kSlotCount;
  std::uint32_t first_free_slot = kFirstFreeSlot;
  std::uint32_t image_frame_slot = kImageFrameSlot;
  std::uint32_t omit_endpoints = 0;  // bit k: leave kind k out
  std::uint32_t moved_endpoint = 0xFF;  // kind whose slot is `moved_to`
  std::uint32_t moved_to = 0;
  std::string_view omit_module{};       // leave this module out
  std::uint32_t module_slot_override = 0;  // nonzero: the first module's frame slot
  std::uint32_t untyped_slot = 0;           // nonzero: add an untyped at this slot
};

// Module names in canonical (sorted) order; vaddrs ascend with them.
constexpr Blob<kHandoffBytes> make_handoff(std::span<const std::string_view> sorted_modules,
                                           const HandoffShape& shape = {}) {
  Blob<kHandoffBytes> b;
  rootd::handoff::Builder builder(b.bytes);
  builder.cspace({shape.slot_count, shape.first_free_slot});
  builder.image_frame({shape.image_frame_slot, 64 * 4096});
  for (std::uint32_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    if ((shape.omit_endpoints >> k) & 1U) continue;
    const auto kind = static_cast<rootd::EndpointKind>(k);
    const std::uint32_t slot = k == shape.moved_endpoint ? shape.moved_to : rootd::endpoint_info(kind).local_slot;
    builder.endpoint({kind, slot});
  }
  std::uint32_t n = 0;
  for (std::string_view name : sorted_modules) {
    if (name == shape.omit_module) continue;
    const std::uint32_t slot = n == 0 && shape.module_slot_override != 0 ? shape.module_slot_override
                                                                         : kFirstModuleSlot + n;
    builder.module({name, kModuleBase + std::uint64_t{n} * 0x10000, 4096, slot});
    ++n;
  }
  if (shape.untyped_slot != 0) builder.untyped({0x100000, 0x100000, shape.untyped_slot, false});
  const rootd::Result<std::size_t> size = builder.finish();
  if (size) {
    b.size = *size;
  } else {
    b.error = size.error();
  }
  return b;
}

// boot-config plus every image of kRuntime, sorted.
inline constexpr std::string_view kRuntimeModules[] = {
    "blockd", "boot-config", "deviced", "drv-acpi", "drv-i8042", "drv-serial", "drv-virtio-block", "e2fsd",
    "fatd",   "fbcond",      "hotplugd", "irqd",    "keyd",      "loaderd",    "logd",             "memd",
    "pagerd", "probed",      "procd",   "timed",    "vfsd",      "vspaced",
};

// The foundation every procd-launched service needs, as TOML: the start of
// the configs the boot tests write out by hand.
inline constexpr std::string_view kFoundationToml = R"(version = 1
[[service]]
name = "memd"
role = "memd"
[[service]]
name = "vspaced"
role = "vspaced"
[[service]]
name = "pagerd"
role = "pagerd"
[[service]]
name = "procd"
role = "procd"
)";

}  // namespace fixtures
