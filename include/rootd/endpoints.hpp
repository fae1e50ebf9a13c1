// The dedicated kernel endpoints that the kernel installs in rootd's cspace
// before it starts (the runtime endpoint inventory), and the local slot at
// which a receiving service finds each one.
//
// The handoff says where each endpoint sits in rootd's own cspace; this
// table says where a service that is authorized to hold it receives it.
// Local slots use a 16-slot stride starting at 2112.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstdint>
#include <string_view>

namespace rootd {

enum class EndpointKind : std::uint8_t {
  DRIVER_LIFECYCLE = 0,  // procd driver-lifecycle
  TIME_CONTROL = 1,
  IRQ_CONTROL = 2,
  HOTPLUG_CONTROL = 3,
  PCI_CONFIG = 4,
  CONSOLE = 5,  // console / framebuffer
  COM1 = 6,
  MEMORY = 7,
  VSPACE = 8,
  PAGER = 9,  // pager / fault
  LOG_QUERY = 10,
  PROCESS_CONTROL = 11,
  CHILD_POPULATE = 12,
  ACPI_READ = 13,
  I8042 = 14,
};

inline constexpr std::size_t kEndpointKindCount = 15;

struct EndpointInfo {
  EndpointKind kind;
  std::string_view name;    // lower-case, used in docs, diagnostics and plans
  std::uint32_t local_slot;  // where a receiving service finds it
};

inline constexpr std::uint32_t kFirstDedicatedLocalSlot = 2112;
inline constexpr std::uint32_t kDedicatedLocalSlotStride = 16;

inline constexpr EndpointInfo kEndpointTable[kEndpointKindCount] = {
    {EndpointKind::DRIVER_LIFECYCLE, "driver-lifecycle", 2112},
    {EndpointKind::TIME_CONTROL, "time-control", 2128},
    {EndpointKind::IRQ_CONTROL, "irq-control", 2144},
    {EndpointKind::HOTPLUG_CONTROL, "hotplug-control", 2160},
    {EndpointKind::PCI_CONFIG, "pci-config", 2176},
    {EndpointKind::CONSOLE, "console", 2192},
    {EndpointKind::COM1, "com1", 2208},
    {EndpointKind::MEMORY, "memory", 2224},
    {EndpointKind::VSPACE, "vspace", 2240},
    {EndpointKind::PAGER, "pager", 2256},
    {EndpointKind::LOG_QUERY, "log-query", 2272},
    {EndpointKind::PROCESS_CONTROL, "process-control", 2288},
    {EndpointKind::CHILD_POPULATE, "child-populate", 2304},
    {EndpointKind::ACPI_READ, "acpi-read", 2320},
    {EndpointKind::I8042, "i8042", 2336},
};

constexpr const EndpointInfo& endpoint_info(EndpointKind k) {
  return kEndpointTable[static_cast<std::size_t>(k)];
}

constexpr bool endpoint_kind_valid(std::uint32_t raw) { return raw < kEndpointKindCount; }

namespace detail {
constexpr bool endpoint_table_is_sound() {
  for (std::size_t i = 0; i < kEndpointKindCount; ++i) {
    if (static_cast<std::size_t>(kEndpointTable[i].kind) != i) return false;
    if (kEndpointTable[i].local_slot != kFirstDedicatedLocalSlot + kDedicatedLocalSlotStride * i) {
      return false;
    }
  }
  return true;
}
}  // namespace detail
static_assert(detail::endpoint_table_is_sound(), "endpoint table: index order and 16-slot stride");

// rootd's legacy slot 4 must be empty at intake (a populated slot 4 is a
// bootstrap compatibility alias that fails closed).
inline constexpr std::uint32_t kLegacySlot = 4;

}  // namespace rootd
