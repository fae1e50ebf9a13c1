// What rootd spends on its two input formats before it starts anything: the
// kernel->root handoff and the ERIXBCFG boot config, each at 1, 64, 1024 and
// bcfg::kMaxServices services, timed beside a plain CRC-32C pass over the same
// bytes (the floor any checksummed format pays). docs/performance.md quotes
// this program's output.
//
//   bench-formats [--quick]                 the table of docs/performance.md
//   bench-formats [--quick] --services N... the same table at other sizes (1..2048)
//   bench-formats [--quick] --modules N...  handoffs of N modules with 31-character
//                                           names and no endpoints, the shape
//                                           docs/handoff-format.md quotes
//
// The configs come from generated_config.hpp (shared with bench-launch, which
// boots them); each must pass every check rootd runs on a config before
// anything is timed. "validate+plan" is rootd::boot::plan_boot, the whole pure
// plan step rootd's boot runs on one config and its handoff: resolve_roles
// once, then validate_config, validate_modules, validate_inventory,
// validate_envelopes (the streaming form) and plan_order, sharing the
// resolved roles, then resolve_services (per service: launcher, slots, image
// frame, transfer count). The handoff is laid out the way the simulator lays
// out a real one: one module per service plus boot-config, every dedicated
// endpoint and a few untyped regions.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "generated_config.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/boot_plan.hpp"
#include "rootd/bytes.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/envelope.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "rootd/inventory.hpp"
#include "rootd/ordering.hpp"
#include "rootd/policy.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"

namespace bcfg = rootd::bcfg;
namespace h = rootd::handoff;

namespace {

// ---- timing harness -----------------------------------------------------------------

struct Settings {
  int samples = 41;               // timed samples per figure
  double sample_target_us = 2000;  // each sample repeats the work until it takes this long
};

struct Timing {
  double best_us = 0;    // fastest sample, per call
  double median_us = 0;  // median sample, per call
};

// Keeps `value` alive as far as the optimizer can tell, so work whose result
// is otherwise unused is not removed.
template <class T>
void keep(const T& value) {
  asm volatile("" : : "r"(&value) : "memory");
}

// Runs `work` (which returns false when its result is wrong: that aborts the
// run, a benchmark of a failing path measures nothing) in samples of `reps`
// calls, `reps` chosen so a sample lasts about sample_target_us: the clock's
// resolution and call overhead then vanish even for a one-service input.
template <class F>
Timing time_calls(const Settings& settings, F&& work) {
  using clock = std::chrono::steady_clock;
  const auto run = [&](long reps) {
    const auto t0 = clock::now();
    for (long r = 0; r < reps; ++r) {
      if (!work()) {
        std::fprintf(stderr, "bench-formats: the measured call failed\n");
        std::exit(1);
      }
    }
    return std::chrono::duration<double, std::micro>(clock::now() - t0).count();
  };
  run(1);  // warm caches and page in the input
  long reps = 1;
  for (double took = run(reps); took < settings.sample_target_us && reps < (1L << 24);) {
    reps = took <= 0 ? reps * 16 : std::max(reps + 1, static_cast<long>(reps * settings.sample_target_us / took));
    took = run(reps);
  }
  std::vector<double> per_call;
  for (int s = 0; s < settings.samples; ++s) per_call.push_back(run(reps) / static_cast<double>(reps));
  std::sort(per_call.begin(), per_call.end());
  return {per_call.front(), per_call[per_call.size() / 2]};
}

// ---- inputs ---------------------------------------------------------------------------

// The handoff a kernel would give for these modules, laid out like
// sim/system_image.cpp: image frame in slot 5, module frames from slot 6 in
// name order, then the untyped regions, the dedicated endpoints at their
// canonical slots, three free slots per service plus a margin.
std::vector<char> make_handoff(std::vector<std::string> module_names, std::vector<std::uint64_t> sizes,
                               bool with_endpoints, std::size_t untyped) {
  std::vector<std::size_t> order(module_names.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return module_names[a] < module_names[b]; });

  std::uint32_t slot = 6;
  std::uint64_t vaddr = 0x2000'0000;
  std::vector<h::Module> modules;
  for (std::size_t i : order) {
    const std::uint64_t size = std::max<std::uint64_t>(sizes[i], 1);
    modules.push_back({module_names[i], vaddr, size, slot++});
    vaddr += (size + h::kPageSize - 1) / h::kPageSize * h::kPageSize;
  }
  const std::uint32_t first_untyped_slot = slot;
  slot += static_cast<std::uint32_t>(untyped);
  if (with_endpoints) {
    for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
      slot = std::max(slot, rootd::kEndpointTable[k].local_slot + 1);
    }
  }
  const std::uint32_t first_free = slot;
  const std::uint32_t slot_count = first_free + 3 * static_cast<std::uint32_t>(module_names.size()) + 64;

  std::vector<char> buffer(h::kMaxHandoffSize);
  h::Builder b(buffer);
  b.cspace({slot_count, first_free}).image_frame({5, 0x40000});
  if (with_endpoints) {
    for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
      const auto kind = static_cast<rootd::EndpointKind>(k);
      b.endpoint({kind, rootd::endpoint_info(kind).local_slot});
    }
  } else {
    b.raw_descriptor(h::kKindEndpoints, 0, {});
  }
  for (const h::Module& m : modules) b.module(m);
  for (std::size_t i = 0; i < untyped; ++i) {
    b.untyped({0x1000'0000 + i * 0x100'0000, 0x100'0000, first_untyped_slot + static_cast<std::uint32_t>(i), false});
  }
  const rootd::Result<std::size_t> size = b.finish();
  if (!size) {
    std::fprintf(stderr, "bench-formats: the handoff builder failed: %s\n",
                 std::string(rootd::reason_name(size.error().reason)).c_str());
    std::exit(1);
  }
  buffer.resize(*size);
  return buffer;
}

// ---- the figures ----------------------------------------------------------------------

struct Row {
  std::size_t services = 0;
  std::size_t bytes = 0;
  Timing crc, parse, validate;
  Timing plan;  // plan_order alone: the part of `validate` that orders
  // Each part of `validate` alone, and the validators through the signatures
  // without a shared table (each check resolves the roles itself).
  Timing resolve, config, modules, inventory, envelopes, per_service, unshared;
  bool has_validate = false;
};

std::uint32_t crc_of(const std::vector<char>& bytes) { return rootd::crc32c(rootd::Bytes(bytes.data(), bytes.size())); }

std::vector<char> make_handoff_for(std::size_t n, std::size_t config_size);

Row measure_config(std::size_t n, const Settings& settings) {
  const std::vector<char> blob = bench::make_config_blob(n);
  const rootd::Bytes bytes(blob.data(), blob.size());
  const rootd::Result<bcfg::View> parsed = bcfg::parse(bytes);
  if (!parsed) {
    std::fprintf(stderr, "bench-formats: the %zu-service config does not parse: %s\n", n,
                 std::string(rootd::reason_name(parsed.error().reason)).c_str());
    std::exit(1);
  }
  const bcfg::View& view = *parsed;
  const std::vector<char> handoff_blob = make_handoff_for(n, blob.size());
  const rootd::Result<h::View> handoff = h::parse(rootd::Bytes(handoff_blob.data(), handoff_blob.size()));
  if (!handoff) {
    std::fprintf(stderr, "bench-formats: the %zu-service handoff does not parse\n", n);
    std::exit(1);
  }
  auto boot_plan = std::make_unique<rootd::boot::BootPlan<bcfg::kMaxServices>>();
  rootd::ServiceRoles* const roles = &boot_plan->roles;
  rootd::OrderPlan* const plan = &boot_plan->order;
  const auto validate = [&] {
    const rootd::boot::PlanError e = rootd::boot::plan_boot(*handoff, view, *boot_plan);
    if (!e.ok()) {
      std::fprintf(stderr, "bench-formats: the %zu-service config is invalid: %s at offset %u\n", n,
                   std::string(rootd::reason_name(e.error.reason)).c_str(), e.error.offset);
    }
    keep(boot_plan->order.wave_count);
    return e.ok();
  };
  if (!validate()) std::exit(1);

  Row row;
  row.services = n;
  row.bytes = blob.size();
  row.crc = time_calls(settings, [&] {
    const std::uint32_t c = crc_of(blob);
    keep(c);
    return true;
  });
  row.parse = time_calls(settings, [&] {
    const rootd::Result<bcfg::View> v = bcfg::parse(bytes);
    keep(v);
    return v.ok();
  });
  row.validate = time_calls(settings, validate);
  row.plan = time_calls(settings, [&] {
    rootd::FirstError first;
    const bool ordered = rootd::plan_order(view, *roles, *plan, first);
    keep(plan->wave_count);
    return ordered;
  });
  const auto alone = [&](auto check) {
    return time_calls(settings, [&] {
      rootd::FirstError first;
      return check(first);
    });
  };
  row.resolve = time_calls(settings, [&] {
    rootd::resolve_roles(view, *roles);
    keep(roles->present);
    return true;
  });
  row.config = alone([&](rootd::FirstError& f) { return rootd::validate_config(view, *roles, f); });
  row.modules = alone([&](rootd::FirstError& f) { return rootd::validate_modules(view, *roles, *handoff, f); });
  row.inventory = alone([&](rootd::FirstError& f) { return rootd::validate_inventory(view, *roles, *handoff, f); });
  row.envelopes = alone([&](rootd::FirstError& f) { return rootd::validate_envelopes(view, *roles, *handoff, f); });
  row.per_service = time_calls(settings, [&] {
    const rootd::boot::PlanError e = rootd::boot::detail::resolve_services(*handoff, view, *boot_plan);
    keep(boot_plan->services);
    return e.ok();
  });
  row.unshared = alone([&](rootd::FirstError& f) {
    return rootd::validate_config(view, f) && rootd::validate_modules(view, *handoff, f) &&
           rootd::validate_inventory(view, *handoff, f) && rootd::validate_envelopes(view, *handoff, f) &&
           rootd::plan_order(view, *plan, f);
  });
  row.has_validate = true;
  return row;
}

// One module per service plus boot-config, every dedicated endpoint, 4
// untyped regions: what rootd gets beside the n-service config.
std::vector<char> make_handoff_for(std::size_t n, std::size_t config_size) {
  const auto src = bench::make_config_source(n);
  std::vector<std::string> names = src->names;
  std::vector<std::uint64_t> sizes(n, 3 * h::kPageSize);  // a small service image each
  names.emplace_back("boot-config");
  sizes.push_back(config_size);
  return make_handoff(names, sizes, true, 4);
}

Row measure_handoff(std::size_t n, const Settings& settings) {
  const std::vector<char> config = bench::make_config_blob(n);
  const std::vector<char> blob = make_handoff_for(n, config.size());
  Row row;
  row.services = n;
  row.bytes = blob.size();
  const rootd::Bytes bytes(blob.data(), blob.size());
  row.crc = time_calls(settings, [&] {
    const std::uint32_t c = crc_of(blob);
    keep(c);
    return true;
  });
  row.parse = time_calls(settings, [&] {
    const rootd::Result<h::View> v = h::parse(bytes);
    keep(v);
    return v.ok() && v->module_count() == n + 1;
  });
  return row;
}

// log-log slope between two rows: 1 = linear, 2 = quadratic.
double exponent(std::size_t n0, double t0, std::size_t n1, double t1) {
  return std::log(t1 / t0) / std::log(static_cast<double>(n1) / static_cast<double>(n0));
}

void print_table(const char* title, const std::vector<Row>& rows) {
  const bool validate = rows.front().has_validate;
  std::printf("\n%s (microseconds per call: best / median)\n", title);
  std::printf("%8s %8s %17s %17s %8s", "services", "bytes", "crc32c", "parse", "parse/crc");
  if (validate) std::printf(" %17s %9s %6s %9s", "validate+plan", "valid/crc", "plan%", "total/crc");
  std::printf("\n");
  const auto cell = [](const Timing& t) { std::printf(" %8.2f/%-8.2f", t.best_us, t.median_us); };
  for (const Row& r : rows) {
    std::printf("%8zu %8zu", r.services, r.bytes);
    cell(r.crc);
    cell(r.parse);
    std::printf(" %9.2f", r.parse.best_us / r.crc.best_us);
    if (validate) {
      cell(r.validate);
      std::printf(" %9.2f %5.0f%% %9.2f", r.validate.best_us / r.crc.best_us, 100 * r.plan.best_us / r.validate.best_us,
                  (r.parse.best_us + r.validate.best_us) / r.crc.best_us);
    }
    std::printf("\n");
  }
  // Slope from 64 services (the smallest size where per-call overhead no
  // longer dominates) to the largest.
  const Row* from = nullptr;
  for (const Row& r : rows) {
    if (r.services == 64) from = &r;
  }
  const Row& to = rows.back();
  if (from == nullptr || from == &to) return;
  std::printf("%8s %8.2f", "slope", exponent(from->services, static_cast<double>(from->bytes), to.services,
                                             static_cast<double>(to.bytes)));
  std::printf(" %17.2f %17.2f %9s", exponent(from->services, from->crc.best_us, to.services, to.crc.best_us),
              exponent(from->services, from->parse.best_us, to.services, to.parse.best_us), "");
  if (validate) {
    std::printf(" %17.2f", exponent(from->services, from->validate.best_us, to.services, to.validate.best_us));
  }
  std::printf("\n");
}

// The shape docs/handoff-format.md measures: longest names, no endpoints,
// no untyped, modules only.
int run_modules(const std::vector<std::size_t>& counts, const Settings& settings) {
  std::printf("%8s %10s %12s %12s %12s\n", "modules", "bytes", "checksum_us", "parse_us", "parse_med_us");
  for (std::size_t n : counts) {
    if (n > h::kMaxModules) {
      std::fprintf(stderr, "bench-formats: at most %zu modules\n", h::kMaxModules);
      return 2;
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < n; ++i) {
      char digits[32];
      std::snprintf(digits, sizeof digits, "%04zu", i);
      names.push_back(std::string(h::kMaxNameLength - 4, 'm') + digits);
    }
    const std::vector<char> blob = make_handoff(names, std::vector<std::uint64_t>(n, 100), false, 0);
    const rootd::Bytes bytes(blob.data(), blob.size());
    const Timing checksum = time_calls(settings, [&] {
      const std::uint32_t c = h::compute_checksum(bytes);
      keep(c);
      return true;
    });
    const Timing parse = time_calls(settings, [&] {
      const rootd::Result<h::View> v = h::parse(bytes);
      keep(v);
      return v.ok();
    });
    std::printf("%8zu %10zu %12.2f %12.2f %12.2f\n", n, blob.size(), checksum.best_us, parse.best_us, parse.median_us);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  std::vector<std::size_t> modules, services;
  bool modules_mode = false;
  bool services_mode = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--quick") {
      settings.samples = 7;
      settings.sample_target_us = 300;
    } else if (arg == "--modules" && !services_mode) {
      modules_mode = true;
    } else if (arg == "--services" && !modules_mode) {
      services_mode = true;
    } else if ((modules_mode || services_mode) && !arg.empty() &&
               arg.find_first_not_of("0123456789") == std::string_view::npos) {
      (modules_mode ? modules : services).push_back(std::strtoul(argv[i], nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: bench-formats [--quick] [--modules N... | --services N...]\n");
      return 2;
    }
  }
  if (modules_mode) {
    if (modules.empty()) modules = {0, 1024, 2048, 4096};
    return run_modules(modules, settings);
  }

  if (services.empty()) services = {1, 64, 1024, bcfg::kMaxServices};
  for (std::size_t n : services) {
    if (n < 1 || n > bcfg::kMaxServices) {
      std::fprintf(stderr, "bench-formats: services must be 1..%zu\n", bcfg::kMaxServices);
      return 2;
    }
  }
  std::printf("bench-formats: %d samples per figure, each sample >= %.0f us of repeated calls\n", settings.samples,
              settings.sample_target_us);
  std::vector<Row> handoff_rows, config_rows;
  for (std::size_t n : services) handoff_rows.push_back(measure_handoff(n, settings));
  for (std::size_t n : services) config_rows.push_back(measure_config(n, settings));
  print_table("handoff: rootd::handoff::parse (one module per service + boot-config)", handoff_rows);
  print_table(
      "boot config: rootd::bcfg::parse; validate+plan = rootd::boot::plan_boot (resolve_roles + validate_config + "
      "validate_modules + validate_inventory + validate_envelopes + plan_order + resolve_services)",
      config_rows);
  // The budget, at the largest size measured: parse, validate and
  // plan together in CRC-32C passes over the same config bytes (best times).
  const Row& largest = config_rows.back();
  std::printf("\n(parse+validate+plan)/crc at %zu services: %.2f (parse %.2f + validate+plan %.2f)\n",
              largest.services, (largest.parse.best_us + largest.validate.best_us) / largest.crc.best_us,
              largest.parse.best_us / largest.crc.best_us, largest.validate.best_us / largest.crc.best_us);
  std::printf(
      "plan_boot at %zu services, each part alone (best us): resolve_roles %.2f, validate_config %.2f, "
      "validate_modules %.2f, validate_inventory %.2f, validate_envelopes %.2f, plan_order %.2f, "
      "resolve_services %.2f; the five validators without a shared role table %.2f (%.2f CRC passes)\n",
      largest.services, largest.resolve.best_us, largest.config.best_us, largest.modules.best_us,
      largest.inventory.best_us, largest.envelopes.best_us, largest.plan.best_us, largest.per_service.best_us,
      largest.unshared.best_us, largest.unshared.best_us / largest.crc.best_us);
  return 0;
}
