// STORAGE: rootd's part in bringing storage up.
//
// Before a block-backed filesystem service is launched, rootd asks its
// provider's block service for the disk's partition table (one CALL,
// BlockdOp::PARTITION_TABLE) and checks it: blockd must answer, the disk
// must have a namespace, and a provider that names a partition needs a GPT
// in which that entry is in use. A failure names the filesystem service
// (the provider's owner, as for every provider error) and tears the boot
// down before the filesystem exists. Order makes the call possible: the
// filesystem waits for its block service (ordering.hpp), so blockd is READY.
//
// After DELIVER, vfsd and each filesystem service receive their storage
// intent (storage_intent.hpp) as chunks on the same endpoint; the launch
// unit sends them through storage_intent_chunk below.
#pragma once

#include "rootd/requires_cxx20.hpp"

#include <cstddef>
#include <cstdint>

#include "rootd/boot_core.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/protocol.hpp"
#include "rootd/storage_intent.hpp"

namespace rootd::boot {

// The provider a block-backed filesystem service serves, or kNoIndex when
// `service` needs no partition check.
constexpr std::uint16_t block_backed_provider(const bcfg::View& cfg, std::uint16_t service) {
  for (std::size_t p = 0; p < cfg.provider_count(); ++p) {
    const bcfg::Provider provider = cfg.provider(p);
    if (provider.service == service && provider.block != bcfg::kNoIndex) return static_cast<std::uint16_t>(p);
  }
  return bcfg::kNoIndex;
}

// The reason blockd's reply to PARTITION_TABLE refuses `partition`
// (bcfg::kNoPartition: the whole disk), or NONE.
constexpr Reason partition_problem(const abi::Message& reply, std::uint32_t partition) {
  const Result<protocol::PartitionTable> table = protocol::decode_partition_table(reply);
  if (!table.ok() || table.value().name_space == 0) return Reason::BOOT_STORAGE_QUERY_FAILED;
  if (partition == bcfg::kNoPartition) return Reason::NONE;
  if (!table.value().gpt) return Reason::BOOT_STORAGE_NO_GPT;
  return table.value().has(partition) ? Reason::NONE : Reason::BOOT_STORAGE_PARTITION_MISSING;
}

// Chunk `index` of `service`'s storage intent (length 0: it receives none).
// Planned services all have a role (validate_config).
template <class Variant, std::size_t N>
constexpr intent::Chunk storage_intent_chunk(const Core<Variant, N>& c, std::uint16_t service, std::size_t index) {
  return intent::intent_chunk(c.cfg, c.plan().role_of(service), service, index);
}

template <class Variant, std::size_t N>
class StorageCheckUnit {
 public:
  constexpr void begin(std::uint16_t service) {
    service_ = service;
    awaiting_ = false;
  }

  constexpr PhaseEvent run(Core<Variant, N>& c) {
    const bcfg::Provider provider = c.cfg.provider(block_backed_provider(c.cfg, service_));
    if (!awaiting_) {
      awaiting_ = true;
      c.emit_call(c.service_plan(provider.block).endpoint_slot, protocol::partition_table_request());
      return PhaseEvent::EMITTED;
    }
    const Reason r = c.kernel_ok() ? partition_problem(c.last.message, provider.partition)
                                   : Reason::BOOT_STORAGE_QUERY_FAILED;
    if (r == Reason::NONE) return PhaseEvent::STORAGE_CHECKED;
    c.fail(r, service_);
    return PhaseEvent::FAILED;
  }

 private:
  std::uint16_t service_ = bcfg::kNoIndex;
  bool awaiting_ = false;
};

}  // namespace rootd::boot
