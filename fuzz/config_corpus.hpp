// Boot configs compiled at build time, each with the verdict
// config_verdict() reaches on it during constant evaluation, pinned by
// static_assert. The differential target checks at run time that the same
// function on the same bytes reaches the same verdict, and gen_seeds writes
// the blobs into the seed corpora.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "config_verdict.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/status.hpp"

namespace rootd_fuzz::corpus {

namespace bc = rootd::bcfg;

template <std::size_t N>
constexpr std::array<char, N> compile_blob(const bc::ConfigDesc& desc) {
  std::array<char, N> out{};
  // A failed Result is not a constant expression: a writer refusal fails
  // the build here.
  if (*bc::write(desc, out) != N) out[0] = 'X';
  return out;
}

// The phase 0 smoke set: valid, five waves (memd -> vspaced -> pagerd ->
// procd -> the probe).
inline constexpr bc::ServiceDesc kPhase0Services[] = {
    {"memd", "memd", "memd"},     {"vspaced", "vspaced", "vspaced"},
    {"pagerd", "pagerd", "pagerd"}, {"procd", "procd", "procd"},
    {"phase0-probe", "phase0-probe", "phase0-probe"},
};
inline constexpr bc::ConfigDesc kPhase0{.profile = "phase0", .services = kPhase0Services};

// Two ordinary services waiting for each other: valid by the config rules,
// rejected by ordering as a cycle.
inline constexpr std::string_view kAfterB[] = {"svc-b"};
inline constexpr std::string_view kAfterA[] = {"svc-a"};
inline constexpr bc::ServiceDesc kCycleServices[] = {
    {"memd", "memd", "memd"},
    {"vspaced", "vspaced", "vspaced"},
    {"pagerd", "pagerd", "pagerd"},
    {"procd", "procd", "procd"},
    {"svc-a", "service", "svc-a", bc::Launch::ROOTD, kAfterB},
    {"svc-b", "service", "svc-b", bc::Launch::ROOTD, kAfterA},
};
inline constexpr bc::ConfigDesc kCycle{.services = kCycleServices};

// A role outside the catalog.
inline constexpr bc::ServiceDesc kUnknownRoleServices[] = {
    {"memd", "memd", "memd"},
    {"mystery", "no-such-role", "mystery"},
};
inline constexpr bc::ConfigDesc kUnknownRole{.services = kUnknownRoleServices};

inline constexpr auto kPhase0Blob = compile_blob<*bc::encoded_size(kPhase0)>(kPhase0);
inline constexpr auto kCycleBlob = compile_blob<*bc::encoded_size(kCycle)>(kCycle);
inline constexpr auto kUnknownRoleBlob = compile_blob<*bc::encoded_size(kUnknownRole)>(kUnknownRole);

struct Entry {
  std::string_view name;  // seed file name
  rootd::Bytes bytes;
  ConfigVerdict verdict;  // computed during constant evaluation
};

inline constexpr Entry kEntries[] = {
    {"constexpr-phase0.bcfg", rootd::Bytes(kPhase0Blob), config_verdict(rootd::Bytes(kPhase0Blob))},
    {"constexpr-cycle.bcfg", rootd::Bytes(kCycleBlob), config_verdict(rootd::Bytes(kCycleBlob))},
    {"constexpr-unknown-role.bcfg", rootd::Bytes(kUnknownRoleBlob),
     config_verdict(rootd::Bytes(kUnknownRoleBlob))},
};

static_assert(kEntries[0].verdict.config_valid && kEntries[0].verdict.planned &&
                  kEntries[0].verdict.wave_count == 5,
              "phase0 validates and plans in five waves at compile time");
static_assert(kEntries[1].verdict.config_valid && !kEntries[1].verdict.planned &&
                  kEntries[1].verdict.first_plan_error.reason == rootd::Reason::ORDER_CYCLE &&
                  kEntries[1].verdict.cycle_length == 2,
              "the two-service cycle is found at compile time");
static_assert(!kEntries[2].verdict.config_valid &&
                  kEntries[2].verdict.first_config_error.reason == rootd::Reason::ROLE_UNKNOWN,
              "an unknown role is rejected at compile time");

}  // namespace rootd_fuzz::corpus
