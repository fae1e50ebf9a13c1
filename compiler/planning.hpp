// What rootd would do with a config: its launch order and waves
// (ordering.hpp) and every service's startup envelope (envelope.hpp), for
// `erix-bcfg plan` and `graph`, and for the envelope checks of `check`.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rootd/bcfg.hpp"
#include "rootd/envelope.hpp"
#include "rootd/ordering.hpp"
#include "rootd/result.hpp"

namespace bcfg_tool {

// Without a handoff, rootd's cspace is unknown except for the dedicated
// endpoints, which the kernel installs at their canonical slots. The boot
// image frame and the retained service endpoints then get stand-in slots
// (the image frame at kStandInImageFrameSlot, service i's retained endpoint
// at kStandInFirstFreeSlot + i, just past the dedicated range); plan prints
// them symbolically, never as if they were real slot numbers.
inline constexpr std::uint32_t kStandInImageFrameSlot = 5;  // first slot above the legacy slot 4
inline constexpr std::uint32_t kStandInFirstFreeSlot =
    rootd::kFirstDedicatedLocalSlot + rootd::kDedicatedLocalSlotStride * rootd::kEndpointKindCount;

rootd::Sources stand_in_sources();

struct Planned {
  // Heap: both are hundreds of KiB at the format's limits.
  std::unique_ptr<rootd::OrderPlan> order = std::make_unique<rootd::OrderPlan>();
  std::unique_ptr<rootd::EnvelopeStorage<>> storage = std::make_unique<rootd::EnvelopeStorage<>>();
  rootd::Sources sources{};
  rootd::EnvelopeSet envelopes{};
  // Per service (config order): the image frames it receives carried in
  // launch CALLs, as a launcher (procd, deviced); empty for every other
  // service. source_slot is abi::kNoSlot: without a handoff the module
  // frame's slot is unknown, so the rows name the service's image module.
  std::vector<std::vector<rootd::Transfer>> carried;
};

// The launch CALLs' carried image frames: for each service launched by
// procd or deviced, one CARRIED_IMAGE_FRAME transfer to the first service of
// the launcher role (the one rootd's boot plan picks), each passed through
// authorize(). Refusals are appended to `errors` with the launched service
// as the location.
std::vector<std::vector<rootd::Transfer>> carried_transfers(const rootd::bcfg::View& view,
                                                            const rootd::Sources& sources,
                                                            std::vector<rootd::Error>& errors);

// Runs plan_order and then, when `config_valid` (validate_config passed,
// which synthesis expects) and the order is clean, synthesize_envelopes and
// validate_envelopes. Every error is appended to `errors`, in that order.
void plan_config(const rootd::bcfg::View& view, const rootd::Sources& sources, bool config_valid,
                 Planned& out, std::vector<rootd::Error>& errors);

}  // namespace bcfg_tool
