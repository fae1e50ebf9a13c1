// The role catalog, the transfer rules and the profile table, as tables of
// static_assert against the tables of docs/authority.md, plus loops over
// the whole catalog.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "rootd/authority.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/profiles.hpp"
#include "rootd/roles.hpp"
#include "rootd/storage.hpp"

using rootd::AuthorityKind;
using rootd::EndpointKind;
using rootd::LaunchPath;
using rootd::Reason;
using rootd::RoleId;

namespace {

constexpr const rootd::Role& R(std::string_view name) { return *rootd::find_role(name); }

// ---- docs/authority.md: the dedicated endpoint table, row by row ------------
struct DesignRow {
  std::uint32_t slot;
  EndpointKind kind;
  std::string_view primary;  // empty: no primary holder
  std::string_view other;    // second holder, empty if none
};
constexpr DesignRow kDesignTable[] = {
    {2112, EndpointKind::DRIVER_LIFECYCLE, "", "procd"},  // procd and deviced, neither as primary
    {2128, EndpointKind::TIME_CONTROL, "timed", ""},
    {2144, EndpointKind::IRQ_CONTROL, "irqd", ""},
    {2160, EndpointKind::HOTPLUG_CONTROL, "hotplugd", ""},
    {2176, EndpointKind::PCI_CONFIG, "probed", ""},
    {2192, EndpointKind::CONSOLE, "fbcond", ""},
    {2208, EndpointKind::COM1, "drv-serial", ""},
    {2224, EndpointKind::MEMORY, "memd", ""},
    {2240, EndpointKind::VSPACE, "vspaced", ""},
    {2256, EndpointKind::PAGER, "pagerd", ""},
    {2272, EndpointKind::LOG_QUERY, "deviced", ""},
    {2288, EndpointKind::PROCESS_CONTROL, "procd", "phase0-probe"},  // the probe: SEND only, its completion
    {2304, EndpointKind::CHILD_POPULATE, "", "deviced"},
    {2320, EndpointKind::ACPI_READ, "drv-acpi", ""},
    {2336, EndpointKind::I8042, "drv-i8042", ""},
};

constexpr bool design_table_holds() {
  for (const DesignRow& row : kDesignTable) {
    if (rootd::endpoint_info(row.kind).local_slot != row.slot) return false;
    for (const rootd::Role& r : rootd::kRoles) {
      const bool is_primary = r.primary.has_value() && *r.primary == row.kind;
      if (is_primary != (r.name == row.primary)) return false;
      const bool holds = rootd::dedicated_rights(r, row.kind) != 0;
      const bool expected = r.name == row.primary || r.name == row.other ||
                            (row.kind == EndpointKind::DRIVER_LIFECYCLE && r.name == "deviced");
      if (holds != expected) return false;
      // Whatever a role holds lies inside its window.
      if (holds && !r.window.contains(row.slot)) return false;
    }
  }
  return true;
}
static_assert(design_table_holds());

// deviced gets the narrow child-populate endpoint, never process control.
static_assert(rootd::dedicated_rights(R("deviced"), EndpointKind::PROCESS_CONTROL) == 0);
static_assert(rootd::dedicated_rights(R("deviced"), EndpointKind::CHILD_POPULATE) == rootd::abi::RIGHT_SEND);
static_assert((rootd::dedicated_rights(R("deviced"), EndpointKind::DRIVER_LIFECYCLE) & rootd::abi::RIGHT_RECEIVE) ==
              0);
static_assert((rootd::dedicated_rights(R("procd"), EndpointKind::DRIVER_LIFECYCLE) & rootd::abi::RIGHT_RECEIVE) != 0);

// procd and pagerd, and no one else, receive the boot image frame.
static_assert(R("procd").image_frame && R("pagerd").image_frame);
static_assert(!R("memd").image_frame && !R("vspaced").image_frame && !R("loaderd").image_frame);

// ---- launch paths and the foundation order ------------------------------------
static_assert(R("memd").foundation_rank == 0 && R("vspaced").foundation_rank == 1);
static_assert(R("pagerd").foundation_rank == 2 && R("procd").foundation_rank == 3);
static_assert(!rootd::launcher_dependency(R("memd")).has_value());
static_assert(*rootd::launcher_dependency(R("vspaced")) == RoleId::MEMD);
static_assert(*rootd::launcher_dependency(R("procd")) == RoleId::PAGERD);
static_assert(*rootd::launcher_dependency(R("logd")) == RoleId::PROCD);
static_assert(*rootd::launcher_dependency(R("phase0-probe")) == RoleId::PROCD);
static_assert(*rootd::launcher_dependency(R("drv-ps2-kbd")) == RoleId::DEVICED);
static_assert(R("phase0-probe").launch == LaunchPath::PROBE);
static_assert(R("service").launch == LaunchPath::PROCD);

constexpr bool drivers_are_exactly_the_drv_roles() {
  for (const rootd::Role& r : rootd::kRoles) {
    const bool drv = r.name.size() > 4 && r.name[0] == 'd' && r.name[1] == 'r' && r.name[2] == 'v' && r.name[3] == '-';
    if (drv != (r.launch == LaunchPath::DEVICED)) return false;
  }
  return true;
}
static_assert(drivers_are_exactly_the_drv_roles());

// ---- the generic role ---------------------------------------------------------
static_assert(!R("service").singleton && R("service").is_public);
static_assert(!R("service").primary.has_value() && R("service").extra_count == 0 && !R("service").image_frame);
static_assert(R("service").private_peers.empty());
static_assert(R("service").window == rootd::SlotWindow{2048, 16});

// ---- peer rules: (from, to, allowed) ---------------------------------------------
struct PeerCase {
  std::string_view from, to;
  bool allowed;
};
constexpr PeerCase kPeerCases[] = {
    {"service", "logd", true},         {"service", "vfsd", true},          {"service", "service", true},
    {"service", "memd", false},        {"service", "procd", false},        {"service", "e2fsd", false},
    {"loaderd", "vfsd", true},         {"loaderd", "procd", true},         {"loaderd", "logd", false},
    {"loaderd", "service", false},     {"memd", "logd", false},            {"vspaced", "memd", true},
    {"procd", "pagerd", true},         {"procd", "logd", false},           {"drv-serial", "deviced", true},
    {"drv-ps2-kbd", "drv-i8042", true}, {"drv-ps2-kbd", "inputd", true},   {"drv-acpi", "drv-i8042", false},
    {"blockd", "drv-virtio-block", true}, {"e2fsd", "drv-virtio-block", false},
    // storage pairs travel through provider rows only
    {"vfsd", "e2fsd", false},          {"e2fsd", "blockd", false},         {"e2fsd", "keyd", false},
    {"phase0-probe", "memd", true},    {"deviced", "probed", true},        {"deviced", "procd", false},
};
constexpr bool peer_cases_hold() {
  for (const PeerCase& c : kPeerCases) {
    if (rootd::peer_allowed(R(c.from), R(c.to)) != c.allowed) return false;
  }
  return true;
}
static_assert(peer_cases_hold());

struct StorageCase {
  std::string_view from, to;
  bool pair;
};
constexpr StorageCase kStorageCases[] = {
    {"vfsd", "e2fsd", true},  {"vfsd", "fatd", true},   {"vfsd", "ramfsd", true},  {"vfsd", "blockd", false},
    {"e2fsd", "blockd", true}, {"e2fsd", "keyd", true}, {"fatd", "blockd", true},  {"fatd", "keyd", false},
    {"ramfsd", "blockd", false}, {"ramfsd", "keyd", false}, {"blockd", "e2fsd", false}, {"service", "e2fsd", false},
};
constexpr bool storage_cases_hold() {
  for (const StorageCase& c : kStorageCases) {
    if (rootd::storage_pair(R(c.from), R(c.to)) != c.pair) return false;
  }
  return true;
}
static_assert(storage_cases_hold());

// ---- authorize(): one row per rule ----------------------------------------------
constexpr rootd::Transfer T(AuthorityKind kind, std::uint32_t local, std::uint32_t rights,
                            EndpointKind ep = EndpointKind::DRIVER_LIFECYCLE, RoleId peer_role = RoleId::SERVICE) {
  rootd::Transfer t;
  t.op = rootd::abi::CapOp::COPY_ATTENUATED;
  t.authority = kind;
  t.local_slot = local;
  t.source_slot = 5000;
  t.rights = rights;
  t.source_rights = rootd::abi::kAllRights;
  t.endpoint = ep;
  t.peer_role = peer_role;
  t.peer = 0;
  return t;
}
constexpr rootd::Transfer with_op(rootd::Transfer t, rootd::abi::CapOp op) {
  t.op = op;
  return t;
}
constexpr rootd::Transfer with_source(rootd::Transfer t, std::uint32_t slot, std::uint32_t rights) {
  t.source_slot = slot;
  t.source_rights = rights;
  return t;
}
constexpr rootd::Transfer with_kind(rootd::Transfer t, std::uint8_t raw) {
  t.authority = static_cast<AuthorityKind>(raw);
  return t;
}

using rootd::abi::RIGHT_EXECUTE;
using rootd::abi::RIGHT_GRANT;
using rootd::abi::RIGHT_READ;
using rootd::abi::RIGHT_RECEIVE;
using rootd::abi::RIGHT_SEND;
using rootd::abi::RIGHT_WRITE;
constexpr std::uint32_t kFull = RIGHT_SEND | RIGHT_RECEIVE | RIGHT_GRANT;
constexpr std::uint32_t kNoSlot = rootd::abi::kNoSlot;

struct AuthCase {
  std::string_view role;
  rootd::Transfer transfer;
  Reason expected;
};
constexpr AuthCase kAuthCases[] = {
    // accepted
    {"memd", T(AuthorityKind::DEDICATED_ENDPOINT, 2224, kFull, EndpointKind::MEMORY), Reason::NONE},
    {"memd", T(AuthorityKind::SERVICE_ENDPOINT, 1, kFull), Reason::NONE},
    {"procd", T(AuthorityKind::IMAGE_FRAME, 2096, RIGHT_READ | RIGHT_EXECUTE), Reason::NONE},
    {"deviced", T(AuthorityKind::DEDICATED_ENDPOINT, 2304, RIGHT_SEND, EndpointKind::CHILD_POPULATE), Reason::NONE},
    {"service", T(AuthorityKind::PEER_ENDPOINT, 2063, RIGHT_SEND, EndpointKind{}, RoleId::LOGD), Reason::NONE},
    {"vfsd", T(AuthorityKind::STORAGE_ENDPOINT, 2095, RIGHT_SEND | RIGHT_GRANT, EndpointKind{}, RoleId::FATD),
     Reason::NONE},
    // CAP_COPY is reserved; only attenuated copies
    {"memd", with_op(T(AuthorityKind::SERVICE_ENDPOINT, 1, kFull), rootd::abi::CapOp::COPY),
     Reason::TRANSFER_CAP_COPY_DENIED},
    {"memd", with_op(T(AuthorityKind::SERVICE_ENDPOINT, 1, kFull), rootd::abi::CapOp::DELETE),
     Reason::TRANSFER_CAP_OP_UNKNOWN},
    // legacy slot 4 is neither source nor destination
    {"memd", T(AuthorityKind::SERVICE_ENDPOINT, rootd::kLegacySlot, kFull), Reason::TRANSFER_LEGACY_SLOT},
    {"memd", with_source(T(AuthorityKind::SERVICE_ENDPOINT, 1, kFull), rootd::kLegacySlot, kFull),
     Reason::TRANSFER_LEGACY_SLOT},
    {"memd", with_kind(T(AuthorityKind::SERVICE_ENDPOINT, 1, kFull), 9), Reason::TRANSFER_AUTHORITY_UNKNOWN},
    {"memd", T(AuthorityKind::DEDICATED_ENDPOINT, 2224, kFull, static_cast<EndpointKind>(40)),
     Reason::TRANSFER_AUTHORITY_UNKNOWN},
    {"memd", T(AuthorityKind::SERVICE_ENDPOINT, 1, 0), Reason::TRANSFER_RIGHTS_EMPTY},
    // never more than the source holds
    {"memd", with_source(T(AuthorityKind::DEDICATED_ENDPOINT, 2224, kFull, EndpointKind::MEMORY), 5000, RIGHT_SEND),
     Reason::TRANSFER_RIGHTS_EXCEED_SOURCE},
    {"memd", T(AuthorityKind::DEDICATED_ENDPOINT, 2225, kFull, EndpointKind::MEMORY), Reason::TRANSFER_OUTSIDE_WINDOW},
    {"service", T(AuthorityKind::PEER_ENDPOINT, 2064, RIGHT_SEND, EndpointKind{}, RoleId::LOGD),
     Reason::TRANSFER_OUTSIDE_WINDOW},
    {"memd", T(AuthorityKind::SERVICE_ENDPOINT, 2, kFull), Reason::TRANSFER_SERVICE_ENDPOINT_SLOT_MISMATCH},
    {"memd", T(AuthorityKind::SERVICE_ENDPOINT, 1, kFull | RIGHT_READ), Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    // dedicated endpoints: only the row's kinds, at their canonical slot, within the row's rights
    {"deviced", T(AuthorityKind::DEDICATED_ENDPOINT, 2288, kFull, EndpointKind::PROCESS_CONTROL),
     Reason::TRANSFER_DEDICATED_NOT_AUTHORIZED},
    {"procd", T(AuthorityKind::DEDICATED_ENDPOINT, 2100, kFull, EndpointKind::DRIVER_LIFECYCLE),
     Reason::TRANSFER_DEDICATED_SLOT_MISMATCH},
    {"deviced", T(AuthorityKind::DEDICATED_ENDPOINT, 2112, kFull, EndpointKind::DRIVER_LIFECYCLE),
     Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    {"deviced", T(AuthorityKind::DEDICATED_ENDPOINT, 2304, RIGHT_SEND | RIGHT_GRANT, EndpointKind::CHILD_POPULATE),
     Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    // the probe reports on process control but never receives there
    {"phase0-probe", T(AuthorityKind::DEDICATED_ENDPOINT, 2288, RIGHT_SEND | RIGHT_RECEIVE, EndpointKind::PROCESS_CONTROL),
     Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    // the image frame: procd and pagerd, read and execute only
    {"deviced", T(AuthorityKind::IMAGE_FRAME, 2096, RIGHT_READ), Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED},
    {"procd", T(AuthorityKind::IMAGE_FRAME, 2097, RIGHT_READ), Reason::TRANSFER_IMAGE_FRAME_SLOT_MISMATCH},
    {"pagerd", T(AuthorityKind::IMAGE_FRAME, 2096, RIGHT_READ | RIGHT_WRITE), Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    // peers
    {"service", T(AuthorityKind::PEER_ENDPOINT, 2048, RIGHT_SEND, EndpointKind{}, RoleId::PROCD),
     Reason::PEER_NOT_PERMITTED},
    {"service", T(AuthorityKind::PEER_ENDPOINT, 2048, RIGHT_SEND, EndpointKind{}, static_cast<RoleId>(200)),
     Reason::PEER_NOT_PERMITTED},
    {"deviced", T(AuthorityKind::PEER_ENDPOINT, 2100, RIGHT_SEND, EndpointKind{}, RoleId::PROBED),
     Reason::TRANSFER_PEER_SLOT_INVALID},
    {"service", T(AuthorityKind::PEER_ENDPOINT, 2048, RIGHT_SEND | RIGHT_RECEIVE, EndpointKind{}, RoleId::LOGD),
     Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    // storage
    {"service", T(AuthorityKind::STORAGE_ENDPOINT, 2048, RIGHT_SEND, EndpointKind{}, RoleId::E2FSD),
     Reason::TRANSFER_STORAGE_PAIR_INVALID},
    {"fatd", T(AuthorityKind::STORAGE_ENDPOINT, 2048, RIGHT_SEND, EndpointKind{}, RoleId::KEYD),
     Reason::TRANSFER_STORAGE_PAIR_INVALID},
    {"vfsd", T(AuthorityKind::STORAGE_ENDPOINT, 2100, RIGHT_SEND, EndpointKind{}, RoleId::E2FSD),
     Reason::TRANSFER_OUTSIDE_WINDOW},
    {"procd", T(AuthorityKind::PEER_ENDPOINT, 2096, RIGHT_SEND, EndpointKind{}, RoleId::MEMD),
     Reason::TRANSFER_PEER_SLOT_INVALID},
    {"e2fsd", T(AuthorityKind::STORAGE_ENDPOINT, 2048, kFull, EndpointKind{}, RoleId::BLOCKD),
     Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    // a launched service's image frame, carried in the launch CALL: only to
    // the role that launches it, READ|EXECUTE at most, in the receive window
    // (kNoSlot: rootd's side, which cannot know the slot)
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_READ | RIGHT_EXECUTE, EndpointKind{}, RoleId::LOGD),
     Reason::NONE},
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, 2400, RIGHT_READ, EndpointKind{}, RoleId::PHASE0_PROBE),
     Reason::NONE},
    {"deviced", T(AuthorityKind::CARRIED_IMAGE_FRAME, 4095, RIGHT_EXECUTE, EndpointKind{}, RoleId::DRV_SERIAL),
     Reason::NONE},
    {"deviced", T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_READ, EndpointKind{}, RoleId::LOGD),
     Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED},
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_READ, EndpointKind{}, RoleId::DRV_SERIAL),
     Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED},
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_READ, EndpointKind{}, RoleId::MEMD),
     Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED},
    {"logd", T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_READ, EndpointKind{}, RoleId::LOGD),
     Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED},
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_READ, EndpointKind{}, static_cast<RoleId>(200)),
     Reason::TRANSFER_IMAGE_FRAME_NOT_AUTHORIZED},
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, 2399, RIGHT_READ, EndpointKind{}, RoleId::LOGD),
     Reason::TRANSFER_IMAGE_FRAME_SLOT_MISMATCH},
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, 4096, RIGHT_READ, EndpointKind{}, RoleId::LOGD),
     Reason::TRANSFER_IMAGE_FRAME_SLOT_MISMATCH},
    {"procd",
     T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_READ | RIGHT_EXECUTE | RIGHT_GRANT, EndpointKind{},
       RoleId::LOGD),
     Reason::TRANSFER_RIGHTS_EXCEED_RULE},
    {"procd", T(AuthorityKind::CARRIED_IMAGE_FRAME, kNoSlot, RIGHT_WRITE, EndpointKind{}, RoleId::LOGD),
     Reason::TRANSFER_RIGHTS_EXCEED_RULE},
};
constexpr bool auth_cases_hold() {
  for (const AuthCase& c : kAuthCases) {
    if (rootd::authorize(R(c.role), c.transfer).reason != c.expected) return false;
  }
  return true;
}
static_assert(auth_cases_hold());

// Who launches whom: procd for procd launches and probes, deviced for
// drivers, nobody for the foundation (kernel control).
static_assert(rootd::launcher_role(rootd::LaunchPath::PROCD) == RoleId::PROCD);
static_assert(rootd::launcher_role(rootd::LaunchPath::PROBE) == RoleId::PROCD);
static_assert(rootd::launcher_role(rootd::LaunchPath::DEVICED) == RoleId::DEVICED);
static_assert(!rootd::launcher_role(rootd::LaunchPath::FOUNDATION).has_value());
// The receive window lies above every slot a role's row names.
constexpr bool carried_window_clear_of_rows() {
  for (const rootd::Role& r : rootd::kRoles) {
    if (r.window.end() > rootd::kCarriedImageWindow.first) return false;
  }
  return true;
}
static_assert(carried_window_clear_of_rows());

TEST_CASE("authorize: each carried-image-frame case") {
  for (const AuthCase& c : kAuthCases) {
    if (c.transfer.authority != AuthorityKind::CARRIED_IMAGE_FRAME) continue;
    INFO(c.role << " slot " << c.transfer.local_slot << " rights " << c.transfer.rights);
    CHECK(rootd::reason_name(rootd::authorize(R(c.role), c.transfer).reason) == rootd::reason_name(c.expected));
  }
}

// ---- mount paths ------------------------------------------------------------------
struct PathCase {
  std::string_view path;
  Reason expected;
};
constexpr PathCase kPathCases[] = {
    {"/", Reason::NONE},
    {"/esp", Reason::NONE},
    {"/data/bin", Reason::NONE},
    {"/a.b/..c/...", Reason::NONE},
    {"esp", Reason::MOUNT_PATH_NOT_ABSOLUTE},
    {"", Reason::MOUNT_PATH_NOT_ABSOLUTE},
    {"//", Reason::MOUNT_PATH_EMPTY_COMPONENT},
    {"/a//b", Reason::MOUNT_PATH_EMPTY_COMPONENT},
    {"/esp/", Reason::MOUNT_PATH_TRAILING_SLASH},
    {"/.", Reason::MOUNT_PATH_DOT_COMPONENT},
    {"/a/../b", Reason::MOUNT_PATH_DOT_COMPONENT},
    {"/a/..", Reason::MOUNT_PATH_DOT_COMPONENT},
};
constexpr bool path_cases_hold() {
  for (const PathCase& c : kPathCases) {
    if (rootd::mount_path_problem(c.path) != c.expected) return false;
  }
  return true;
}
static_assert(path_cases_hold());

// ---- profiles ---------------------------------------------------------------------
static_assert(rootd::find_profile("none") != nullptr && rootd::find_profile("none")->required_roles.empty());
static_assert(rootd::find_profile("phase9") == nullptr);
static_assert(rootd::find_profile("") == nullptr);
static_assert(rootd::spawns_probe(*rootd::find_profile("phase0")));
static_assert(*rootd::find_profile("phase0")->probe == RoleId::PHASE0_PROBE);
static_assert(rootd::find_profile("phase0")->required_roles ==
              rootd::role_set(RoleId::MEMD, RoleId::VSPACED, RoleId::PAGERD, RoleId::PROCD, RoleId::PHASE0_PROBE));
static_assert(rootd::find_profile("phase3-framebuffer")->required_roles.has(RoleId::FBCOND));
static_assert(rootd::find_profile("phase3-framebuffer")->module_count == 1 &&
              rootd::find_profile("phase3-framebuffer")->modules[0] == "console-font");
static_assert(rootd::find_profile("phase3-input")->required_roles.contains_all(rootd::role_set(
    RoleId::DRV_I8042, RoleId::DRV_PS2_KBD, RoleId::DRV_PS2_MOUSE, RoleId::INPUTD)));
static_assert(!rootd::find_profile("phase4-loader-contract")->needs_block_storage);
static_assert(rootd::find_profile("phase4-loader-materialized-launch")->needs_block_storage);

}  // namespace

TEST_CASE("every role is found by its name and no other name finds one") {
  std::set<std::string> names;
  for (const rootd::Role& r : rootd::kRoles) {
    INFO(std::string(r.name));
    CHECK(rootd::find_role(r.name) == &r);
    CHECK(&rootd::role(r.id) == &r);
    CHECK(names.insert(std::string(r.name)).second);
  }
  CHECK(names.size() == rootd::kRoleCount);
  CHECK(rootd::find_role("services") == nullptr);
  CHECK(rootd::find_role("") == nullptr);
  CHECK(rootd::find_role("MEMD") == nullptr);
}

TEST_CASE("a role's window holds every slot it can be given and nothing it cannot") {
  for (const rootd::Role& r : rootd::kRoles) {
    INFO(std::string(r.name));
    std::set<std::uint32_t> slots;
    for (std::uint32_t p = 0; p < r.max_peers; ++p) slots.insert(rootd::kFirstPeerLocalSlot + p);
    if (r.image_frame) slots.insert(rootd::kImageFrameLocalSlot);
    for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
      if (rootd::dedicated_rights(r, static_cast<EndpointKind>(k)) != 0) {
        slots.insert(rootd::kEndpointTable[k].local_slot);
      }
    }
    REQUIRE(!slots.empty());
    CHECK(r.window.first == *slots.begin());
    CHECK(r.window.end() == *slots.rbegin() + 1);
    CHECK_FALSE(r.window.contains(rootd::kLegacySlot));
    CHECK_FALSE(r.window.contains(rootd::abi::kServiceEndpointLocalSlot));
    CHECK(rootd::primary_control_slot(r) ==
          (r.primary ? rootd::endpoint_info(*r.primary).local_slot : rootd::abi::kServiceEndpointLocalSlot));
  }
}

TEST_CASE("every transfer a role's row grants is authorized, and one right more is not") {
  for (const rootd::Role& r : rootd::kRoles) {
    INFO(std::string(r.name));
    for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
      const auto kind = static_cast<EndpointKind>(k);
      const std::uint32_t rights = rootd::dedicated_rights(r, kind);
      const rootd::Transfer t = T(AuthorityKind::DEDICATED_ENDPOINT, rootd::kEndpointTable[k].local_slot,
                                  rights == 0 ? RIGHT_SEND : rights, kind);
      if (rights == 0) {
        const Reason got = rootd::authorize(r, t).reason;
        CHECK((got == Reason::TRANSFER_DEDICATED_NOT_AUTHORIZED || got == Reason::TRANSFER_OUTSIDE_WINDOW));
        continue;
      }
      CHECK(rootd::authorize(r, t).reason == Reason::NONE);
      for (std::uint32_t bit = 1; bit <= rootd::abi::kAllRights; bit <<= 1) {
        if ((rights & bit) != 0) continue;
        rootd::Transfer more = t;
        more.rights |= bit;
        CHECK(rootd::authorize(r, more).reason == Reason::TRANSFER_RIGHTS_EXCEED_RULE);
      }
    }
    for (const rootd::Role& to : rootd::kRoles) {
      const rootd::Transfer t =
          T(AuthorityKind::PEER_ENDPOINT, rootd::kFirstPeerLocalSlot, rootd::kPeerRights, EndpointKind{}, to.id);
      const Reason got = rootd::authorize(r, t).reason;
      if (r.max_peers == 0) {
        CHECK(got == Reason::TRANSFER_OUTSIDE_WINDOW);
      } else {
        CHECK((got == Reason::NONE) == rootd::peer_allowed(r, to));
      }
    }
  }
}

TEST_CASE("no role may hold authority it could pass on to an unknown holder") {
  for (const rootd::Role& r : rootd::kRoles) {
    INFO(std::string(r.name));
    // Kernel authority belongs to singletons; the generic role holds none.
    const bool kernel = r.primary.has_value() || r.extra_count > 0 || r.image_frame;
    if (kernel) CHECK(r.singleton);
    if (r.id == RoleId::SERVICE) CHECK_FALSE(kernel);
    // Only PUBLIC_AND_PRIVATE roles reach public services; foundation roles
    // start before any of them exists.
    if (r.launch == LaunchPath::FOUNDATION) CHECK(r.peer_policy == rootd::PeerPolicy::PRIVATE_ONLY);
  }
}
