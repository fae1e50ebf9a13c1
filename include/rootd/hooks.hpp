// Integration fault hooks: the faults an integration image can be asked to
// inject into its own boot, so a VM harness can watch rootd fail closed.
// Only IntegrationVariant acts on them; runtime and release images ignore
// (and do not even instantiate) the code that reads them.
#pragma once

#include <cstdint>
#include <string_view>

namespace rootd::boot {

enum class Hook : std::uint8_t {
  NONE = 0,
  FORCE_FAIL,                 // fail closed before the first launch
  FORCE_SERVICE_FAIL,         // treat the named service's READY as a failure, after its real start
  FORCE_SPAWN_FAIL,           // refuse to create the named service's process
  PROBED_OMIT_PRIMARY,        // leave probed's PCI-config endpoint out of its transfers
  PROBED_MISROUTE_PRIMARY,    // put probed's PCI-config endpoint at the wrong local slot
};
struct Hooks {
  Hook hook = Hook::NONE;
  std::string_view service{};  // for FORCE_SERVICE_FAIL / FORCE_SPAWN_FAIL
};

}  // namespace rootd::boot
