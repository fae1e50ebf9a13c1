// The authority ledger: for every capability of every process at PARK
// (rootd included), the rule that explains it, or a leak.
//
// It is an oracle for rootd, so it never asks rootd's engine what should
// be there: it reads what the kernel model holds and explains each cap from
// the boot config and the transfer rules alone (roles.hpp catalog,
// authority.hpp authorize()), by its own reasoning about objects:
//   rootd     exactly its four caps at PARK: kernel control (slot 1), its
//             cspace (2), its vspace (3) and the root endpoint (rdx), with
//             at most the rights the kernel made them with. Anything else
//             rootd still holds is a leak.
//   a child   each cap must be a transfer its role may receive, of the
//             right object: its own endpoint (slot 1, nobody else receives
//             on it), a dedicated endpoint of the kind its slot names, the
//             boot image frame, a peer's endpoint wired by `peers` or a
//             storage provider row, or (a launcher) the image frame of a
//             service of a role it launches, carried in the launch CALL.
//   loaderd  its scratch slots (sim/loader_service.hpp) are empty once each
//             request ended: a cap left there is a leak.
//   a program loaderd launched (Launcher::loader)  holds nothing: any cap
//             in it is a leak. procd keeps it ended for its launcher, so
//             being ended and not destroyed is not; still staged or running
//             at the end is.
// Processes leak too: a child created and never started, ended and never
// destroyed, or, after a failed boot, started and still not destroyed
// unless the terminal reason names it (ERIX_ROOTD:DETAIL:<reason>:<name>).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel_model.hpp"
#include "rootd/bytes.hpp"

namespace erix::sim {

// What grants a capability: the receiving role (or "rootd"), the transfer
// row (authority kind and what it names), where the cap came from, and the
// most rights the rule allows.
struct LedgerRule {
  std::string role;
  std::string row;
  std::string source;
  std::uint32_t rights = 0;
};

struct LedgerCap {
  std::uint32_t slot = 0;
  Cap cap;
  std::string object;               // e.g. "endpoint#12[log-query]"
  std::optional<LedgerRule> rule;   // nullopt: no rule explains it
  std::string why;                  // for a leak: what is wrong
  bool leak() const { return !rule.has_value(); }
};

struct LedgerProcess {
  Pid pid = kNoPid;
  std::string name;
  std::string role;   // empty for rootd and unknown roles
  std::string state;  // process_state_name
  std::vector<LedgerCap> caps;
  std::optional<std::string> leak;  // the process itself is a leak: why
  std::string note;                 // e.g. "alive; named by the terminal reason"
};

struct Ledger {
  std::vector<LedgerProcess> processes;  // pid order; destroyed processes left out
  std::size_t leak_count() const;
};

struct LedgerInputs {
  rootd::Bytes config;  // the ERIXBCFG blob rootd booted with (may not parse: then no child is explained)
  bool failed = false;  // rootd's terminal status was not READY
  // rootd refused the handoff (HANDOFF_INVALID): it created nothing, and the
  // boot caps the kernel gave it are explained as kept (see explain_rootd).
  bool handoff_refused = false;
};

Ledger build_ledger(const KernelModel& model, const LedgerInputs& in);

// One line per cap: "pid 1 rootd slot 1: kernel-control#1 rights=SEND <- rootd kernel-control (kernel at entry) max SEND"
// or "... LEAK: <why>"; process leaks and notes on their own lines.
std::string ledger_text(const Ledger& ledger);
// {"processes":[{"pid":..,"name":..,"role":..,"state":..,"leak":null|"why","caps":[{"slot":..,
//   "kind":..,"object":..,"rights":[..],"rule":null|{"role","row","source","rights"},"leak":bool,"why":..}]}],
//  "leaks":N}
std::string ledger_json(const Ledger& ledger);

}  // namespace erix::sim
