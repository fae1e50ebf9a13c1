// The terminal status model and the one table of reason codes.
//
// Every check that can fail anywhere in rootd has exactly one row in
// ROOTD_REASONS below: a stable upper-case name (the DETAIL marker), a stable
// number, and the terminal status it leads to. Markers are built from this
// table only, never from string literals elsewhere.
//
// Numbers are stable across releases: rows are only ever appended within
// their block, never renumbered. Blocks:
//   1..99     generic / internal
//   100..199  handoff intake (handoff.hpp)
//   200..299  ERIXBCFG v1 structure (bcfg.hpp)
//   300..369  policy: roles, profiles, envelopes, storage
//   370..399  ordering
//   400..449  endpoint inventory and module discovery
//   450..549  boot engine: launches, handshakes, teardown
#pragma once

#include <cstdint>
#include <string_view>

namespace rootd {

enum class Status : std::uint8_t {
  READY = 0,
  HANDOFF_INVALID = 1,
  CONTRACT_INVALID = 2,
  INTERNAL_ERROR = 3,
  SERVICE_BOOTSTRAP_FAILED = 4,
};

inline constexpr std::size_t kStatusCount = 5;

constexpr std::string_view status_name(Status s) {
  switch (s) {
    case Status::READY: return "READY";
    case Status::HANDOFF_INVALID: return "HANDOFF_INVALID";
    case Status::CONTRACT_INVALID: return "CONTRACT_INVALID";
    case Status::INTERNAL_ERROR: return "INTERNAL_ERROR";
    case Status::SERVICE_BOOTSTRAP_FAILED: return "SERVICE_BOOTSTRAP_FAILED";
  }
  return "INTERNAL_ERROR";
}

// erix-boot's exit code for a status (DESIGN.md section 3).
constexpr int status_exit_code(Status s) {
  return s == Status::READY ? 0 : 9 + static_cast<int>(s);
}

// Marker prefixes. The full lines are "ERIX_ROOTD:<STATUS>",
// "ERIX_ROOTD:DETAIL:<REASON>[:<service>]", "ERIX_ROOTD:READY:<SERVICE>" and
// "ROOTD_STAGE:<STAGE>".
inline constexpr std::string_view kMarkerPrefix = "ERIX_ROOTD:";
inline constexpr std::string_view kDetailPrefix = "ERIX_ROOTD:DETAIL:";
inline constexpr std::string_view kServiceReadyPrefix = "ERIX_ROOTD:READY:";
inline constexpr std::string_view kStagePrefix = "ROOTD_STAGE:";

// X(NAME, NUMBER, STATUS)
#define ROOTD_REASONS(X)                                                     \
  /* ---- generic / internal (1..99) ---- */                                \
  X(INTERNAL_CAPACITY, 1, INTERNAL_ERROR)                                    \
  X(INTERNAL_STATE, 2, INTERNAL_ERROR)                                       \
  X(FORCED_FAILURE, 3, CONTRACT_INVALID)                                     \
  /* ---- handoff (100..199) ---- */                                        \
  ROOTD_REASONS_HANDOFF(X)                                                   \
  /* ---- bcfg structure (200..299) ---- */                                 \
  ROOTD_REASONS_BCFG(X)                                                      \
  /* ---- policy (300..369) ---- */                                         \
  ROOTD_REASONS_POLICY(X)                                                    \
  /* ---- ordering (370..399) ---- */                                       \
  ROOTD_REASONS_ORDERING(X)                                                  \
  /* ---- inventory and modules (400..449) ---- */                          \
  ROOTD_REASONS_INVENTORY(X)                                                 \
  /* ---- boot engine (450..549) ---- */                                    \
  ROOTD_REASONS_BOOT(X)

// Each block below is owned by the header named in its comment.

// handoff.hpp
#define ROOTD_REASONS_HANDOFF(X)

// bcfg.hpp
#define ROOTD_REASONS_BCFG(X)

// roles.hpp, authority.hpp, envelope.hpp, profiles.hpp
#define ROOTD_REASONS_POLICY(X)

// ordering.hpp
#define ROOTD_REASONS_ORDERING(X)

// inventory.hpp
#define ROOTD_REASONS_INVENTORY(X)

// boot.hpp
#define ROOTD_REASONS_BOOT(X)

enum class Reason : std::uint16_t {
  NONE = 0,
#define ROOTD_X_ENUM(name, num, st) name = num,
  ROOTD_REASONS(ROOTD_X_ENUM)
#undef ROOTD_X_ENUM
};

struct ReasonInfo {
  Reason reason;
  std::string_view name;
  Status status;
};

inline constexpr ReasonInfo kReasonTable[] = {
#define ROOTD_X_ROW(name, num, st) {Reason::name, #name, Status::st},
    ROOTD_REASONS(ROOTD_X_ROW)
#undef ROOTD_X_ROW
};

inline constexpr std::size_t kReasonCount = sizeof(kReasonTable) / sizeof(kReasonTable[0]);

constexpr const ReasonInfo* reason_info(Reason r) {
  for (const auto& row : kReasonTable) {
    if (row.reason == r) return &row;
  }
  return nullptr;
}

constexpr std::string_view reason_name(Reason r) {
  const ReasonInfo* info = reason_info(r);
  return info != nullptr ? info->name : std::string_view{"NONE"};
}

constexpr Status reason_status(Reason r) {
  const ReasonInfo* info = reason_info(r);
  return info != nullptr ? info->status : Status::READY;
}

namespace detail {
constexpr bool reason_table_is_sound() {
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    if (kReasonTable[i].reason == Reason::NONE) return false;
    if (kReasonTable[i].status == Status::READY) return false;
    for (std::size_t j = i + 1; j < kReasonCount; ++j) {
      if (kReasonTable[i].reason == kReasonTable[j].reason) return false;
      if (kReasonTable[i].name == kReasonTable[j].name) return false;
    }
  }
  return true;
}
}  // namespace detail

static_assert(detail::reason_table_is_sound(),
              "reason codes must be unique, named once, and never lead to READY");

}  // namespace rootd
