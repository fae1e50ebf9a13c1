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
//   560..579  integration hook text (hooks.hpp; ROOTD_REASONS_HOOKS)
//   580..589  integration verifiers (boot_verify.hpp; ROOTD_REASONS_VERIFY)
#pragma once

#include "rootd/requires_cxx20.hpp"

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

// erix-boot's exit code for a status: 0 for READY, 9 + the status number otherwise.
constexpr int status_exit_code(Status s) {
  return s == Status::READY ? 0 : 9 + static_cast<int>(s);
}

// Marker prefixes. The full lines are "ERIX_ROOTD:<STATUS>",
// "ERIX_ROOTD:DETAIL:<REASON>[:<service>]", "ERIX_ROOTD:READY:<SERVICE>",
// "ROOTD_STAGE:<STAGE>" and, in images with verifiers,
// "ERIX_ROOTD:PROOF:<NAME>".
inline constexpr std::string_view kMarkerPrefix = "ERIX_ROOTD:";
inline constexpr std::string_view kDetailPrefix = "ERIX_ROOTD:DETAIL:";
inline constexpr std::string_view kServiceReadyPrefix = "ERIX_ROOTD:READY:";
inline constexpr std::string_view kStagePrefix = "ROOTD_STAGE:";
inline constexpr std::string_view kProofPrefix = "ERIX_ROOTD:PROOF:";

// X(NAME, NUMBER, STATUS)
#define ROOTD_REASONS(X)                                                     \
  /* ---- generic / internal (1..99) ---- */                                \
  X(INTERNAL_CAPACITY, 1, INTERNAL_ERROR)                                    \
  X(INTERNAL_STATE, 2, INTERNAL_ERROR)                                       \
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
#define ROOTD_REASONS_HANDOFF(X)                                             \
  X(HANDOFF_TRUNCATED_HEADER, 100, HANDOFF_INVALID)                          \
  X(HANDOFF_BAD_MAGIC, 101, HANDOFF_INVALID)                                 \
  X(HANDOFF_UNSUPPORTED_VERSION, 102, HANDOFF_INVALID)                       \
  X(HANDOFF_BAD_HEADER_SIZE, 103, HANDOFF_INVALID)                           \
  X(HANDOFF_TOO_LARGE, 104, HANDOFF_INVALID)                                 \
  X(HANDOFF_SIZE_MISMATCH, 105, HANDOFF_INVALID)                             \
  X(HANDOFF_CHECKSUM_MISMATCH, 106, HANDOFF_INVALID)                         \
  X(HANDOFF_UNKNOWN_FLAGS, 107, HANDOFF_INVALID)                             \
  X(HANDOFF_RESERVED_NONZERO, 108, HANDOFF_INVALID)                          \
  X(HANDOFF_DESCRIPTOR_TRUNCATED, 109, HANDOFF_INVALID)                      \
  X(HANDOFF_DESCRIPTOR_SIZE_TOO_SMALL, 110, HANDOFF_INVALID)                 \
  X(HANDOFF_DESCRIPTOR_SIZE_UNALIGNED, 111, HANDOFF_INVALID)                 \
  X(HANDOFF_DESCRIPTOR_OVERRUNS, 112, HANDOFF_INVALID)                       \
  X(HANDOFF_TOO_MANY_DESCRIPTORS, 113, HANDOFF_INVALID)                      \
  X(HANDOFF_DESCRIPTOR_FLAGS_UNKNOWN, 114, HANDOFF_INVALID)                  \
  X(HANDOFF_DESCRIPTOR_KIND_UNKNOWN, 115, HANDOFF_INVALID)                   \
  X(HANDOFF_DESCRIPTOR_DUPLICATE, 116, HANDOFF_INVALID)                      \
  X(HANDOFF_DESCRIPTOR_PAYLOAD_SIZE, 117, HANDOFF_INVALID)                   \
  X(HANDOFF_MISSING_CSPACE, 118, HANDOFF_INVALID)                            \
  X(HANDOFF_MISSING_IMAGE_FRAME, 119, HANDOFF_INVALID)                       \
  X(HANDOFF_MISSING_ENDPOINTS, 120, HANDOFF_INVALID)                         \
  X(HANDOFF_CSPACE_NO_FREE_SLOT, 121, HANDOFF_INVALID)                       \
  X(HANDOFF_CSPACE_TOO_MANY_POPULATED, 122, HANDOFF_INVALID)                 \
  X(HANDOFF_SLOT_BEYOND_CSPACE, 123, HANDOFF_INVALID)                        \
  X(HANDOFF_SLOT_NOT_POPULATED, 124, HANDOFF_INVALID)                        \
  X(HANDOFF_SLOT_REUSED, 125, HANDOFF_INVALID)                               \
  X(HANDOFF_IMAGE_FRAME_EMPTY, 126, HANDOFF_INVALID)                         \
  X(HANDOFF_IMAGE_FRAME_UNALIGNED, 127, HANDOFF_INVALID)                     \
  X(HANDOFF_TOO_MANY_ENDPOINTS, 128, HANDOFF_INVALID)                        \
  X(HANDOFF_ENDPOINT_KIND_UNKNOWN, 129, HANDOFF_INVALID)                     \
  X(HANDOFF_ENDPOINT_DUPLICATE, 130, HANDOFF_INVALID)                        \
  X(HANDOFF_ENDPOINT_UNSORTED, 131, HANDOFF_INVALID)                         \
  X(HANDOFF_TOO_MANY_MODULES, 132, HANDOFF_INVALID)                          \
  X(HANDOFF_MODULE_NAME_EMPTY, 133, HANDOFF_INVALID)                         \
  X(HANDOFF_MODULE_NAME_TOO_LONG, 134, HANDOFF_INVALID)                      \
  X(HANDOFF_MODULE_NAME_INVALID_CHAR, 135, HANDOFF_INVALID)                  \
  X(HANDOFF_MODULE_NAME_PADDING_NONZERO, 136, HANDOFF_INVALID)               \
  X(HANDOFF_MODULE_NAME_DUPLICATE, 137, HANDOFF_INVALID)                     \
  X(HANDOFF_MODULE_UNSORTED, 138, HANDOFF_INVALID)                           \
  X(HANDOFF_MODULE_EMPTY, 139, HANDOFF_INVALID)                              \
  X(HANDOFF_MODULE_VADDR_UNALIGNED, 140, HANDOFF_INVALID)                    \
  X(HANDOFF_MODULE_OUTSIDE_USER_SPACE, 141, HANDOFF_INVALID)                 \
  X(HANDOFF_MODULE_RANGES_OVERLAP, 142, HANDOFF_INVALID)                     \
  X(HANDOFF_MODULE_VADDR_UNSORTED, 143, HANDOFF_INVALID)                     \
  X(HANDOFF_TOO_MANY_UNTYPED, 144, HANDOFF_INVALID)                          \
  X(HANDOFF_UNTYPED_EMPTY, 145, HANDOFF_INVALID)                             \
  X(HANDOFF_UNTYPED_UNALIGNED, 146, HANDOFF_INVALID)                         \
  X(HANDOFF_UNTYPED_BEYOND_PHYSICAL, 147, HANDOFF_INVALID)                   \
  X(HANDOFF_UNTYPED_FLAGS_UNKNOWN, 148, HANDOFF_INVALID)                     \
  X(HANDOFF_UNTYPED_OVERLAP, 149, HANDOFF_INVALID)                           \
  X(HANDOFF_UNTYPED_UNSORTED, 150, HANDOFF_INVALID)                          \
  X(HANDOFF_FRAMEBUFFER_UNALIGNED, 151, HANDOFF_INVALID)                     \
  X(HANDOFF_FRAMEBUFFER_EMPTY, 152, HANDOFF_INVALID)                         \
  X(HANDOFF_FRAMEBUFFER_BPP_UNSUPPORTED, 153, HANDOFF_INVALID)               \
  X(HANDOFF_FRAMEBUFFER_PITCH_TOO_SMALL, 154, HANDOFF_INVALID)               \
  X(HANDOFF_FRAMEBUFFER_BEYOND_PHYSICAL, 155, HANDOFF_INVALID)               \
  X(HANDOFF_ACPI_RSDP_NULL, 156, HANDOFF_INVALID)                            \
  X(HANDOFF_ACPI_REVISION_UNKNOWN, 157, HANDOFF_INVALID)                     \
  X(HANDOFF_ACPI_RSDP_BEYOND_PHYSICAL, 158, HANDOFF_INVALID)

// bcfg.hpp
#define ROOTD_REASONS_BCFG(X)                                                \
  X(BCFG_TRUNCATED_HEADER, 200, CONTRACT_INVALID)                            \
  X(BCFG_BAD_MAGIC, 201, CONTRACT_INVALID)                                   \
  X(BCFG_UNSUPPORTED_VERSION, 202, CONTRACT_INVALID)                         \
  X(BCFG_HEADER_SIZE_INVALID, 203, CONTRACT_INVALID)                         \
  X(BCFG_TOTAL_SIZE_MISMATCH, 204, CONTRACT_INVALID)                         \
  X(BCFG_CHECKSUM_MISMATCH, 205, CONTRACT_INVALID)                           \
  X(BCFG_UNKNOWN_FLAGS, 206, CONTRACT_INVALID)                               \
  X(BCFG_SECTION_COUNT_INVALID, 207, CONTRACT_INVALID)                       \
  X(BCFG_HEADER_RESERVED_NONZERO, 208, CONTRACT_INVALID)                     \
  X(BCFG_SECTION_TABLE_OUT_OF_BOUNDS, 209, CONTRACT_INVALID)                 \
  X(BCFG_SECTION_UNKNOWN_TAG, 210, CONTRACT_INVALID)                         \
  X(BCFG_SECTION_DUPLICATE, 211, CONTRACT_INVALID)                           \
  X(BCFG_SECTION_ORDER, 212, CONTRACT_INVALID)                               \
  X(BCFG_SECTION_LENGTH_MISMATCH, 213, CONTRACT_INVALID)                     \
  X(BCFG_SECTION_MISALIGNED, 214, CONTRACT_INVALID)                          \
  X(BCFG_SECTION_OVERLAP, 215, CONTRACT_INVALID)                             \
  X(BCFG_SECTION_GAP, 216, CONTRACT_INVALID)                                 \
  X(BCFG_SECTION_OUT_OF_BOUNDS, 217, CONTRACT_INVALID)                       \
  X(BCFG_PADDING_NONZERO, 218, CONTRACT_INVALID)                             \
  X(BCFG_TRAILING_BYTES, 219, CONTRACT_INVALID)                              \
  X(BCFG_PROFILE_COUNT_INVALID, 220, CONTRACT_INVALID)                       \
  X(BCFG_TOO_MANY_SERVICES, 221, CONTRACT_INVALID)                           \
  X(BCFG_TOO_MANY_AFTER_EDGES, 222, CONTRACT_INVALID)                        \
  X(BCFG_TOO_MANY_PEER_EDGES, 223, CONTRACT_INVALID)                         \
  X(BCFG_TOO_MANY_PROVIDERS, 224, CONTRACT_INVALID)                          \
  X(BCFG_TOO_MANY_MOUNTS, 225, CONTRACT_INVALID)                             \
  X(BCFG_STRING_TABLE_TOO_LARGE, 226, CONTRACT_INVALID)                      \
  X(BCFG_STRING_OUT_OF_BOUNDS, 227, CONTRACT_INVALID)                        \
  X(BCFG_STRING_NOT_CANONICAL, 228, CONTRACT_INVALID)                        \
  X(BCFG_STRING_TABLE_SLACK, 229, CONTRACT_INVALID)                          \
  X(BCFG_PROFILE_INVALID, 230, CONTRACT_INVALID)                             \
  X(BCFG_SERVICE_NAME_INVALID, 231, CONTRACT_INVALID)                        \
  X(BCFG_SERVICE_NAME_DUPLICATE, 232, CONTRACT_INVALID)                      \
  X(BCFG_SERVICE_ORDER, 233, CONTRACT_INVALID)                               \
  X(BCFG_SERVICE_ROLE_INVALID, 234, CONTRACT_INVALID)                        \
  X(BCFG_SERVICE_IMAGE_INVALID, 235, CONTRACT_INVALID)                       \
  X(BCFG_SERVICE_LAUNCH_INVALID, 236, CONTRACT_INVALID)                      \
  X(BCFG_SERVICE_RESERVED_NONZERO, 237, CONTRACT_INVALID)                    \
  X(BCFG_AFTER_RANGE_NOT_CONTIGUOUS, 238, CONTRACT_INVALID)                  \
  X(BCFG_AFTER_RANGE_OUT_OF_BOUNDS, 239, CONTRACT_INVALID)                   \
  X(BCFG_AFTER_INDEX_OUT_OF_RANGE, 240, CONTRACT_INVALID)                    \
  X(BCFG_AFTER_NOT_ASCENDING, 241, CONTRACT_INVALID)                         \
  X(BCFG_AFTER_DUPLICATE, 242, CONTRACT_INVALID)                             \
  X(BCFG_AFTER_EDGES_UNREFERENCED, 243, CONTRACT_INVALID)                    \
  X(BCFG_PEER_RANGE_NOT_CONTIGUOUS, 244, CONTRACT_INVALID)                   \
  X(BCFG_PEER_RANGE_OUT_OF_BOUNDS, 245, CONTRACT_INVALID)                    \
  X(BCFG_PEER_INDEX_OUT_OF_RANGE, 246, CONTRACT_INVALID)                     \
  X(BCFG_PEER_NOT_ASCENDING, 247, CONTRACT_INVALID)                          \
  X(BCFG_PEER_DUPLICATE, 248, CONTRACT_INVALID)                              \
  X(BCFG_PEER_EDGES_UNREFERENCED, 249, CONTRACT_INVALID)                     \
  X(BCFG_PROVIDER_NAME_INVALID, 250, CONTRACT_INVALID)                       \
  X(BCFG_PROVIDER_NAME_DUPLICATE, 251, CONTRACT_INVALID)                     \
  X(BCFG_PROVIDER_ORDER, 252, CONTRACT_INVALID)                              \
  X(BCFG_PROVIDER_SERVICE_INDEX_OUT_OF_RANGE, 253, CONTRACT_INVALID)         \
  X(BCFG_PROVIDER_BLOCK_INDEX_OUT_OF_RANGE, 254, CONTRACT_INVALID)           \
  X(BCFG_PROVIDER_KEY_INDEX_OUT_OF_RANGE, 255, CONTRACT_INVALID)             \
  X(BCFG_PROVIDER_RESERVED_NONZERO, 256, CONTRACT_INVALID)                   \
  X(BCFG_MOUNT_PATH_INVALID, 257, CONTRACT_INVALID)                          \
  X(BCFG_MOUNT_PATH_DUPLICATE, 258, CONTRACT_INVALID)                        \
  X(BCFG_MOUNT_ORDER, 259, CONTRACT_INVALID)                                 \
  X(BCFG_MOUNT_PROVIDER_INDEX_OUT_OF_RANGE, 260, CONTRACT_INVALID)           \
  X(BCFG_MOUNT_READ_ONLY_INVALID, 261, CONTRACT_INVALID)                     \
  X(BCFG_MOUNT_RESERVED_NONZERO, 262, CONTRACT_INVALID)                      \
  X(BCFG_WRITE_UNKNOWN_SERVICE, 263, CONTRACT_INVALID)                       \
  X(BCFG_WRITE_UNKNOWN_PROVIDER, 264, CONTRACT_INVALID)                      \
  X(BCFG_WRITE_BUFFER_TOO_SMALL, 265, CONTRACT_INVALID)                      \
  X(BCFG_DECODE_STORAGE_TOO_SMALL, 266, CONTRACT_INVALID)

// roles.hpp, authority.hpp, envelope.hpp, profiles.hpp
#define ROOTD_REASONS_POLICY(X)                                              \
  X(ROLE_UNKNOWN, 300, CONTRACT_INVALID)                                     \
  X(ROLE_DRIVER_NOT_LAUNCHED_BY_DEVICED, 301, CONTRACT_INVALID)              \
  X(ROLE_LAUNCHED_BY_DEVICED_NOT_DRIVER, 302, CONTRACT_INVALID)              \
  X(ROLE_SINGLETON_REPEATED, 303, CONTRACT_INVALID)                          \
  X(ROLE_FOUNDATION_INCOMPLETE, 304, CONTRACT_INVALID)                       \
  X(ROLE_PROCD_MISSING, 305, CONTRACT_INVALID)                               \
  X(ROLE_DEVICED_MISSING, 306, CONTRACT_INVALID)                             \
  X(PROFILE_UNKNOWN, 307, CONTRACT_INVALID)                                  \
  X(PROFILE_ROLE_MISSING, 308, CONTRACT_INVALID)                             \
  X(PROFILE_PROBE_UNEXPECTED, 309, CONTRACT_INVALID)                         \
  X(PROFILE_BLOCK_STORAGE_MISSING, 310, CONTRACT_INVALID)                    \
  X(PEER_SELF, 311, CONTRACT_INVALID)                                        \
  X(PEER_STORAGE_WITHOUT_PROVIDER, 312, CONTRACT_INVALID)                    \
  X(PEER_EXACT_SET_INCOMPLETE, 313, CONTRACT_INVALID)                        \
  X(PEER_CAPACITY_EXCEEDED, 314, CONTRACT_INVALID)                           \
  X(PROVIDER_SERVICE_NOT_FILESYSTEM, 315, CONTRACT_INVALID)                  \
  X(PROVIDER_BLOCK_NOT_BLOCK_SERVICE, 316, CONTRACT_INVALID)                 \
  X(PROVIDER_KEY_NOT_KEY_SERVICE, 317, CONTRACT_INVALID)                     \
  X(PROVIDER_BLOCK_REQUIRED, 318, CONTRACT_INVALID)                          \
  X(PROVIDER_BLOCK_FORBIDDEN, 319, CONTRACT_INVALID)                         \
  X(PROVIDER_KEY_FORBIDDEN, 320, CONTRACT_INVALID)                           \
  X(PROVIDER_PARTITION_WITHOUT_BLOCK, 321, CONTRACT_INVALID)                 \
  X(PROVIDER_SERVICE_SHARED, 322, CONTRACT_INVALID)                          \
  X(PROVIDER_NOT_MOUNTED, 323, CONTRACT_INVALID)                             \
  X(STORAGE_VFSD_MISSING, 324, CONTRACT_INVALID)                             \
  X(MOUNT_ROOT_MISSING, 325, CONTRACT_INVALID)                               \
  X(MOUNT_PATH_NOT_ABSOLUTE, 326, CONTRACT_INVALID)                          \
  X(MOUNT_PATH_EMPTY_COMPONENT, 327, CONTRACT_INVALID)                       \
  X(MOUNT_PATH_TRAILING_SLASH, 328, CONTRACT_INVALID)                        \
  X(MOUNT_PATH_DOT_COMPONENT, 329, CONTRACT_INVALID)                         \
  X(TRANSFER_CAP_COPY_DENIED, 330, CONTRACT_INVALID)                         \
  X(TRANSFER_CAP_OP_UNKNOWN, 331, CONTRACT_INVALID)                          \
  X(TRANSFER_LEGACY_SLOT, 332, CONTRACT_INVALID)                             \
  X(TRANSFER_OUTSIDE_WINDOW, 333, CONTRACT_INVALID)                          \
  X(TRANSFER_AUTHORITY_UNKNOWN, 334, CONTRACT_INVALID)                       \
  X(TRANSFER_RIGHTS_EMPTY, 335, CONTRACT_INVALID)                            \
  X(TRANSFER_RIGHTS_EXCEED_SOURCE, 336, CONTRACT_INVALID)                    \
  X(TRANSFER_RIGHTS_EXCEED_RULE, 337, CONTRACT_INVALID)                      \
  X(TRANSFER_DEDICATED_NOT_AUTHORIZED, 338, CONTRACT_INVALID)                \
  X(TRANSFER_DEDICATED_SLOT_MISMATCH, 339, CONTRACT_INVALID)                 \
  X(TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED, 340, CONTRACT_INVALID)              \
  X(TRANSFER_IMAGE_FRAME_SLOT_MISMATCH, 341, CONTRACT_INVALID)               \
  X(PEER_NOT_PERMITTED, 342, CONTRACT_INVALID)                               \
  X(TRANSFER_PEER_SLOT_INVALID, 343, CONTRACT_INVALID)                       \
  X(TRANSFER_STORAGE_PAIR_INVALID, 344, CONTRACT_INVALID)                    \
  X(ENVELOPE_COUNT_MISMATCH, 345, CONTRACT_INVALID)                          \
  X(ENVELOPE_IDENTITY_MISMATCH, 346, CONTRACT_INVALID)                       \
  X(ENVELOPE_ROLE_MISMATCH, 347, CONTRACT_INVALID)                           \
  X(ENVELOPE_WINDOW_MISMATCH, 348, CONTRACT_INVALID)                         \
  X(ENVELOPE_PRIMARY_SLOT_MISMATCH, 349, CONTRACT_INVALID)                   \
  X(ENVELOPE_PRIMARY_MISSING, 350, CONTRACT_INVALID)                         \
  X(ENVELOPE_IMAGE_FRAME_MISSING, 351, CONTRACT_INVALID)                     \
  X(ENVELOPE_SLOT_COLLISION, 352, CONTRACT_INVALID)                          \
  X(ENVELOPE_DEDICATED_REPEATED, 353, CONTRACT_INVALID)                      \
  X(ENVELOPE_SERVICE_ENDPOINT_INVALID, 354, CONTRACT_INVALID)                \
  X(ENVELOPE_SOURCE_MISMATCH, 355, CONTRACT_INVALID)                         \
  X(ENVELOPE_PEER_INDEX_INVALID, 356, CONTRACT_INVALID)                      \
  X(ENVELOPE_PEER_ROLE_MISMATCH, 357, CONTRACT_INVALID)                      \
  X(ENVELOPE_PEER_NOT_CONFIGURED, 358, CONTRACT_INVALID)                     \
  X(ENVELOPE_PEER_MISSING, 359, CONTRACT_INVALID)                            \
  X(TRANSFER_SERVICE_ENDPOINT_SLOT_MISMATCH, 360, CONTRACT_INVALID)          \
  X(ENVELOPE_PEER_REPEATED, 361, CONTRACT_INVALID)                          \
  X(CONFIG_NO_SERVICES, 362, CONTRACT_INVALID)                              \
  X(ENVELOPE_DEDICATED_MISSING, 363, CONTRACT_INVALID)                       \
  X(ENVELOPE_STORAGE_ENDPOINT_MISSING, 364, CONTRACT_INVALID)                \
  X(TRANSFER_MODULE_NOT_AUTHORIZED, 365, CONTRACT_INVALID)                  \
  X(TRANSFER_MODULE_SLOT_MISMATCH, 366, CONTRACT_INVALID)

// ordering.hpp
#define ROOTD_REASONS_ORDERING(X)                                  \
  X(ORDER_SELF_DEPENDENCY, 370, CONTRACT_INVALID)                  \
  X(ORDER_CYCLE, 371, CONTRACT_INVALID)                            \
  X(ORDER_FOUNDATION_WAITS_FOR_SERVICE, 372, CONTRACT_INVALID)   \
  X(ORDER_BLOCK_DRIVER_MISSING, 373, CONTRACT_INVALID)

// inventory.hpp
#define ROOTD_REASONS_INVENTORY(X)                                           \
  X(INVENTORY_ENDPOINT_MISSING, 400, HANDOFF_INVALID)                        \
  X(INVENTORY_ENDPOINT_NOT_CANONICAL, 401, HANDOFF_INVALID)                  \
  X(INVENTORY_LEGACY_SLOT_POPULATED, 402, HANDOFF_INVALID)                   \
  X(INVENTORY_CANONICAL_SLOT_OCCUPIED, 403, HANDOFF_INVALID)                 \
  X(INVENTORY_CSPACE_TOO_SMALL, 404, HANDOFF_INVALID)                        \
  X(MODULE_BOOT_CONFIG_MISSING, 405, CONTRACT_INVALID)                       \
  X(MODULE_SERVICE_IMAGE_MISSING, 406, CONTRACT_INVALID)                     \
  X(MODULE_PROFILE_MODULE_MISSING, 407, CONTRACT_INVALID)                    \
  X(INVENTORY_FIXED_SLOT_NAMED, 408, HANDOFF_INVALID)                        \
  X(INVENTORY_ROOT_ENDPOINT_SLOT_NAMED, 409, HANDOFF_INVALID)                \
  X(INVENTORY_ROOT_ENDPOINT_SLOT_INVALID, 410, HANDOFF_INVALID)

// boot.hpp
#define ROOTD_REASONS_BOOT(X)                                      \
  X(BOOT_MODULE_UNREADABLE, 450, HANDOFF_INVALID)                  \
  X(BOOT_ENDPOINT_CREATE_FAILED, 452, SERVICE_BOOTSTRAP_FAILED)    \
  X(BOOT_SPAWN_FAILED, 453, SERVICE_BOOTSTRAP_FAILED)              \
  X(BOOT_NO_INSTALL_GRANT, 454, SERVICE_BOOTSTRAP_FAILED)          \
  X(BOOT_PAGER_FAILED, 455, SERVICE_BOOTSTRAP_FAILED)              \
  X(BOOT_MAP_FAILED, 456, SERVICE_BOOTSTRAP_FAILED)                \
  X(BOOT_TRANSFER_FAILED, 457, SERVICE_BOOTSTRAP_FAILED)           \
  X(BOOT_START_FAILED, 458, SERVICE_BOOTSTRAP_FAILED)              \
  X(BOOT_ENVELOPE_SEND_FAILED, 459, SERVICE_BOOTSTRAP_FAILED)      \
  X(BOOT_HANDSHAKE_INVALID, 460, SERVICE_BOOTSTRAP_FAILED)         \
  X(BOOT_SERVICE_NOT_READY, 461, SERVICE_BOOTSTRAP_FAILED)         \
  X(BOOT_SERVICE_EXITED, 462, SERVICE_BOOTSTRAP_FAILED)            \
  X(BOOT_PROBE_SPAWN_FAILED, 463, SERVICE_BOOTSTRAP_FAILED)        \
  X(BOOT_PROBE_FAILED, 464, SERVICE_BOOTSTRAP_FAILED)              \
  X(BOOT_UNEXPECTED_EVENT, 465, INTERNAL_ERROR)                    \
  X(BOOT_WAIT_FAILED, 466, INTERNAL_ERROR)                         \
  X(BOOT_SHED_FAILED, 467, INTERNAL_ERROR)                         \
  X(TEARDOWN_INCOMPLETE, 470, INTERNAL_ERROR)                      \
  X(TEARDOWN_SHED_FAILED, 471, INTERNAL_ERROR)                     \
  X(BOOT_DRIVER_POPULATE_FAILED, 490, SERVICE_BOOTSTRAP_FAILED)      \
  ROOTD_REASONS_BOOT_STORAGE(X)

// boot_storage.hpp: rootd's storage checks and the intent it sends
#define ROOTD_REASONS_BOOT_STORAGE(X)                                \
  X(BOOT_STORAGE_QUERY_FAILED, 480, SERVICE_BOOTSTRAP_FAILED)        \
  X(BOOT_STORAGE_NO_GPT, 481, SERVICE_BOOTSTRAP_FAILED)              \
  X(BOOT_STORAGE_PARTITION_MISSING, 482, SERVICE_BOOTSTRAP_FAILED)   \
  X(BOOT_STORAGE_INTENT_SEND_FAILED, 483, SERVICE_BOOTSTRAP_FAILED)

// storage_intent.hpp's decoder, which vfsd and the filesystem services run.
// rootd only encodes, so its images (ROOTD_IMAGE) leave these names out of
// the table, as they leave out the hook names; the numbers stay reserved.
#define ROOTD_REASONS_STORAGE_INTENT(X)                              \
  X(BOOT_STORAGE_INTENT_TRUNCATED, 484, SERVICE_BOOTSTRAP_FAILED)    \
  X(BOOT_STORAGE_INTENT_BAD_HEADER, 485, SERVICE_BOOTSTRAP_FAILED)   \
  X(BOOT_STORAGE_INTENT_BAD_ROW, 486, SERVICE_BOOTSTRAP_FAILED)      \
  X(BOOT_STORAGE_INTENT_DIGEST, 487, SERVICE_BOOTSTRAP_FAILED)

// Integration fault hooks (boot.hpp Hook). Their names are left out of the
// table in images built with ROOTD_NO_FAULT_HOOKS (runtime and release), so
// such an image carries no fault-hook string at all; the numbers stay
// reserved everywhere.
// The HOOK_* rows refuse hook text an integration image does not
// understand (hooks.hpp HookRefusal, or a service the config lacks); they
// take 560..579, outside every other block.
#define ROOTD_REASONS_HOOKS(X)                                     \
  X(FORCED_FAILURE, 3, CONTRACT_INVALID)                           \
  X(BOOT_FORCED_SPAWN_FAILURE, 468, SERVICE_BOOTSTRAP_FAILED)      \
  X(BOOT_FORCED_SERVICE_FAILURE, 469, SERVICE_BOOTSTRAP_FAILED)    \
  X(HOOK_EMPTY, 560, CONTRACT_INVALID)                             \
  X(HOOK_UNKNOWN, 561, CONTRACT_INVALID)                           \
  X(HOOK_SERVICE_MISSING, 562, CONTRACT_INVALID)                   \
  X(HOOK_SERVICE_SURPLUS, 563, CONTRACT_INVALID)                   \
  X(HOOK_SERVICE_NAME_INVALID, 564, CONTRACT_INVALID)              \
  X(HOOK_SERVICE_UNKNOWN, 565, CONTRACT_INVALID)

// A verifier's failure in the VERIFY phase (boot_verify.hpp), one per
// verify::Failure in its order. Left out of the table in images built with
// ROOTD_NO_VERIFIERS (runtime and release), which run no verifier; the
// numbers stay reserved everywhere.
#define ROOTD_REASONS_VERIFY(X)                                    \
  X(VERIFY_CALL_FAILED, 580, SERVICE_BOOTSTRAP_FAILED)             \
  X(VERIFY_WRONG_REPLY, 581, SERVICE_BOOTSTRAP_FAILED)             \
  X(VERIFY_WRONG_DATA, 582, SERVICE_BOOTSTRAP_FAILED)              \
  X(VERIFY_EXTRA_CAP, 583, SERVICE_BOOTSTRAP_FAILED)               \
  X(VERIFY_BUDGET, 584, SERVICE_BOOTSTRAP_FAILED)                  \
  X(VERIFY_MISSING, 585, SERVICE_BOOTSTRAP_FAILED)

enum class Reason : std::uint16_t {
  NONE = 0,
#define ROOTD_X_ENUM(name, num, st) name = num,
  ROOTD_REASONS(ROOTD_X_ENUM) ROOTD_REASONS_HOOKS(ROOTD_X_ENUM) ROOTD_REASONS_STORAGE_INTENT(ROOTD_X_ENUM)
      ROOTD_REASONS_VERIFY(ROOTD_X_ENUM)
#undef ROOTD_X_ENUM
};

struct ReasonInfo {
  Reason reason;
  std::string_view name;
  Status status;
};

// The table as it sits in an image: every name in one character array
// (NUL-separated, in table order) and one 6-byte row per reason pointing
// into it. A row of {Reason, string_view, Status} would take 32 bytes, and
// rootd's images carry the whole table, so this layout keeps them inside
// their size budget. Iterating kReasonTable yields ReasonInfo values.
#if !defined(ROOTD_NO_FAULT_HOOKS)
#define ROOTD_X_TABLE_HOOKS(X) ROOTD_REASONS_HOOKS(X)
#else
#define ROOTD_X_TABLE_HOOKS(X)
#endif
#if !defined(ROOTD_IMAGE)
#define ROOTD_X_TABLE_INTENT(X) ROOTD_REASONS_STORAGE_INTENT(X)
#else
#define ROOTD_X_TABLE_INTENT(X)
#endif
#if !defined(ROOTD_NO_VERIFIERS)
#define ROOTD_X_TABLE_VERIFY(X) ROOTD_REASONS_VERIFY(X)
#else
#define ROOTD_X_TABLE_VERIFY(X)
#endif
#define ROOTD_X_TABLE(X) \
  ROOTD_REASONS(X) ROOTD_X_TABLE_HOOKS(X) ROOTD_X_TABLE_INTENT(X) ROOTD_X_TABLE_VERIFY(X)

namespace detail {

struct ReasonRow {
  std::uint16_t reason;
  std::uint16_t offset;  // of the name in kReasonNames
  std::uint8_t length;
  Status status;
};

#define ROOTD_X_NAME(name, num, st) #name "\0"
inline constexpr char kReasonNames[] = ROOTD_X_TABLE(ROOTD_X_NAME);
#undef ROOTD_X_NAME

#define ROOTD_X_COUNT(name, num, st) +1
inline constexpr std::size_t kReasonRowCount = 0 ROOTD_X_TABLE(ROOTD_X_COUNT);
#undef ROOTD_X_COUNT

struct ReasonRows {
  ReasonRow rows[kReasonRowCount];
};

// Each row's offset and length come from walking kReasonNames, whose
// names are in the same order as the rows.
constexpr ReasonRows make_reason_rows() {
  ReasonRows out{{
#define ROOTD_X_ROW(name, num, st) {num, 0, 0, Status::st},
      ROOTD_X_TABLE(ROOTD_X_ROW)
#undef ROOTD_X_ROW
  }};
  std::size_t offset = 0;
  for (ReasonRow& row : out.rows) {
    std::size_t length = 0;
    while (kReasonNames[offset + length] != '\0') ++length;
    row.offset = static_cast<std::uint16_t>(offset);
    row.length = static_cast<std::uint8_t>(length);
    offset += length + 1;
  }
  return out;
}

inline constexpr ReasonRows kReasonRows = make_reason_rows();

// Offsets and lengths fit their fields, and the walk used every name.
constexpr bool reason_rows_fit() {
  static_assert(sizeof(kReasonNames) <= 0xFFFF, "reason names must fit 16-bit offsets");
  std::size_t offset = 0;
  for (const ReasonRow& row : kReasonRows.rows) {
    if (row.offset != offset || row.length == 0) return false;
    offset += std::size_t{row.length} + 1;
  }
  return offset + 1 == sizeof(kReasonNames);
}
static_assert(reason_rows_fit(), "every reason name has its row, in order");

constexpr ReasonInfo reason_info_of(const ReasonRow& row) {
  return ReasonInfo{static_cast<Reason>(row.reason), std::string_view(kReasonNames + row.offset, row.length),
                    row.status};
}

}  // namespace detail

#undef ROOTD_X_TABLE
#undef ROOTD_X_TABLE_HOOKS
#undef ROOTD_X_TABLE_INTENT
#undef ROOTD_X_TABLE_VERIFY

// Every reason this build knows, as a range of ReasonInfo.
class ReasonTable {
 public:
  class Iterator {
   public:
    constexpr explicit Iterator(std::size_t i) : i_(i) {}
    constexpr ReasonInfo operator*() const { return detail::reason_info_of(detail::kReasonRows.rows[i_]); }
    constexpr Iterator& operator++() {
      ++i_;
      return *this;
    }
    constexpr bool operator==(const Iterator&) const = default;

   private:
    std::size_t i_;
  };
  constexpr Iterator begin() const { return Iterator(0); }
  constexpr Iterator end() const { return Iterator(detail::kReasonRowCount); }
  constexpr std::size_t size() const { return detail::kReasonRowCount; }
  constexpr ReasonInfo operator[](std::size_t i) const { return detail::reason_info_of(detail::kReasonRows.rows[i]); }
};

inline constexpr ReasonTable kReasonTable{};

inline constexpr std::size_t kReasonCount = detail::kReasonRowCount;

// The row of `r`, or a row with reason NONE when this build has none.
constexpr ReasonInfo reason_info(Reason r) {
  for (const detail::ReasonRow& row : detail::kReasonRows.rows) {
    if (row.reason == static_cast<std::uint16_t>(r)) return detail::reason_info_of(row);
  }
  return ReasonInfo{Reason::NONE, "NONE", Status::READY};
}

constexpr std::string_view reason_name(Reason r) { return reason_info(r).name; }

constexpr Status reason_status(Reason r) { return reason_info(r).status; }

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
