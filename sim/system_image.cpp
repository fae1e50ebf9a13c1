#include "system_image.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <sstream>

#include "pipeline.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "rootd/inventory.hpp"
#include "rootd/ordering.hpp"
#include "rootd/profiles.hpp"
#include "rootd/sink.hpp"

namespace erix::sim {

namespace {

namespace h = rootd::handoff;
namespace bcfg = rootd::bcfg;

constexpr std::uint64_t page_up(std::uint64_t n) { return (n + h::kPageSize - 1) & ~(h::kPageSize - 1); }

// Two ordinary memory regions: rootd sheds them after deviced is READY,
// which the audit then checks.
constexpr std::uint64_t kUntypedBase = 0x0100'0000;
constexpr std::uint64_t kUntypedSize = 0x0100'0000;
constexpr std::size_t kUntypedCount = 2;

// Past the last canonical dedicated endpoint slot.
constexpr std::uint32_t kAfterDedicatedSlots =
    rootd::kFirstDedicatedLocalSlot + rootd::kDedicatedLocalSlotStride * rootd::kEndpointKindCount;

// Hands out rootd slots upwards, stepping over the dedicated endpoints' range.
std::uint32_t next_slot(std::uint32_t& cursor) {
  if (cursor >= rootd::kFirstDedicatedLocalSlot && cursor < kAfterDedicatedSlots) cursor = kAfterDedicatedSlots;
  return cursor++;
}

void read_services(SystemConfig& config) {
  const rootd::Result<bcfg::View> view = bcfg::parse(rootd::Bytes(config.blob.data(), config.blob.size()));
  if (!view.ok()) return;
  config.blob_parses = true;
  config.profile = std::string(view->profile());
  for (std::size_t i = 0; i < view->service_count(); ++i) {
    const bcfg::Service s = view->service(i);
    ServiceSpec spec;
    spec.name = std::string(s.name);
    spec.role = std::string(s.role);
    spec.image = std::string(s.image);
    spec.identity = i;  // rootd's envelope identity is the config index
    for (const rootd::ModuleGrant& g : rootd::kModuleGrants) {
      const rootd::Role* r = rootd::find_role(s.role);
      if (r != nullptr && r->id == g.consumer && rootd::profile_lists_module(view->profile(), g.module)) {
        spec.modules.emplace_back(g.module);
      }
    }
    config.services.push_back(std::move(spec));
  }
  // The order plan is several hundred KiB: never on the stack.
  auto plan = std::make_unique<rootd::OrderPlan>();
  rootd::FirstError sink;
  if (!rootd::plan_order(*view, *plan, sink)) return;
  config.dependencies.resize(view->service_count());
  for (std::size_t i = 0; i < view->service_count(); ++i) {
    for (std::uint32_t d = plan->dep_start[i]; d < plan->dep_start[i + 1]; ++d) {
      config.dependencies[i].push_back(plan->deps[d]);
    }
  }
  config.launch_order.assign(plan->order, plan->order + view->service_count());
}

}  // namespace

Expected<SystemConfig, std::string> system_config_from_bytes(std::string_view bytes, std::string_view file) {
  SystemConfig config;
  if (bcfg_tool::looks_like_blob(bytes)) {
    // rootd judges a binary config itself, damaged or not.
    config.blob.assign(bytes.begin(), bytes.end());
  } else {
    bcfg_tool::Outcome o = bcfg_tool::check_toml(bytes, file, /*policy=*/false);
    if (!o.valid() || o.blob.empty()) {
      std::string message;
      for (const std::string& line : o.format(file)) message += line + "\n";
      if (message.empty()) message = fmt::format("{}: cannot compile the boot config\n", file);
      return unexpected(std::move(message));
    }
    config.blob = std::move(o.blob);
  }
  read_services(config);
  return config;
}

Expected<SystemConfig, std::string> load_system_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(fmt::format("{}: cannot open the boot config\n", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return unexpected(fmt::format("{}: cannot read the boot config\n", path));
  const std::string bytes = text.str();
  return system_config_from_bytes(bytes, path);
}

std::vector<char> placeholder_image(std::string_view module) {
  const std::string text = fmt::format("ERIXIMG {}\n", module);
  return std::vector<char>(text.begin(), text.end());
}

Expected<SystemImage, std::string> build_system_image(const SystemConfig& config, const SystemImageOptions& options) {
  if (options.image_frame_size == 0 || options.image_frame_size % h::kPageSize != 0) {
    return unexpected(fmt::format("image frame size {:#x} is not a positive number of pages", options.image_frame_size));
  }

  // Contents by name; std::map keeps them in the byte order the handoff's
  // module table requires.
  std::map<std::string, std::vector<char>, std::less<>> contents;
  contents[std::string(rootd::kBootConfigModule)] = config.blob;
  for (const ServiceSpec& s : config.services) contents.try_emplace(s.image, placeholder_image(s.image));
  if (const rootd::Profile* p = rootd::find_profile(config.profile); p != nullptr) {
    for (std::size_t m = 0; m < p->module_count; ++m) {
      contents.try_emplace(std::string(p->modules[m]), placeholder_image(p->modules[m]));
    }
  }
  for (const auto& [name, bytes] : options.extra_modules) contents.try_emplace(name, bytes);
  if (contents.size() > h::kMaxModules) {
    return unexpected(fmt::format("{} boot modules; a handoff holds at most {}", contents.size(), h::kMaxModules));
  }

  SystemImage image;
  std::uint32_t cursor = kFirstModuleSlot;
  std::uint64_t vaddr = kFirstModuleVaddr;
  for (auto& [name, bytes] : contents) {
    // A module is never empty (the handoff rejects size 0): an empty boot
    // config still gets one byte, which rootd rejects as a blob.
    if (bytes.empty()) bytes.push_back('\0');
    if (name.empty() || name.size() > h::kMaxNameLength) {
      return unexpected(fmt::format("module name \"{}\" cannot be described in a handoff", name));
    }
    const std::uint64_t end = vaddr + page_up(bytes.size());
    if (end > kSystemAddressLimit || end < vaddr) {
      return unexpected(fmt::format("boot modules do not fit below {:#x}", kSystemAddressLimit));
    }
    image.modules.push_back({name, vaddr, next_slot(cursor), bytes});
    vaddr = end;
  }
  std::array<std::uint32_t, kUntypedCount> untyped_slots{};
  for (auto& s : untyped_slots) s = next_slot(cursor);

  const std::uint64_t services = config.services.size();
  const std::uint64_t first_free = std::max<std::uint64_t>(cursor + 1, kAfterDedicatedSlots);  // +1: root endpoint
  const std::uint64_t slot_count = first_free + 3 * services + kSlotMargin;
  if (first_free > h::kMaxPopulatedSlots || slot_count > 0xFFFF'FFFFULL) {
    return unexpected(fmt::format("{} services need a cspace larger than a handoff can describe", services));
  }
  image.first_free_slot = static_cast<std::uint32_t>(first_free);
  image.slot_count = static_cast<std::uint32_t>(slot_count);

  std::size_t names_size = 0;
  for (const MappedModule& m : image.modules) names_size += m.name.size();
  image.handoff.resize(h::kHeaderSize + 8 * h::kMaxDescriptors + image.modules.size() * h::kModuleEntrySize +
                       rootd::kEndpointKindCount * h::kEndpointEntrySize + kUntypedCount * h::kUntypedEntrySize +
                       names_size + 256);
  h::Builder b(rootd::MutableBytes(image.handoff.data(), image.handoff.size()));
  b.cspace({image.slot_count, image.first_free_slot}).image_frame({kImageFrameSlot, options.image_frame_size});
  for (std::size_t k = 0; k < rootd::kEndpointKindCount; ++k) {
    const auto kind = static_cast<rootd::EndpointKind>(k);
    b.endpoint({kind, rootd::endpoint_info(kind).local_slot});
  }
  for (const MappedModule& m : image.modules) {
    b.module({m.name, m.vaddr, static_cast<std::uint64_t>(m.bytes.size()), m.frame_slot});
  }
  for (std::size_t i = 0; i < kUntypedCount; ++i) {
    b.untyped({kUntypedBase + i * kUntypedSize, kUntypedSize, untyped_slots[i], false});
  }
  const rootd::Result<std::size_t> size = b.finish();
  if (!size.ok()) {
    return unexpected(fmt::format("the handoff builder refused the layout: {} at byte {}",
                                  rootd::reason_name(size.error().reason), size.error().offset));
  }
  image.handoff.resize(*size);

  // The kernel model installs exactly what the handoff describes.
  const rootd::Result<h::View> view = h::parse(rootd::Bytes(image.handoff.data(), image.handoff.size()));
  if (!view.ok()) {
    return unexpected(fmt::format("the generated handoff does not parse: {} at byte {}",
                                  rootd::reason_name(view.error().reason), view.error().offset));
  }
  std::map<std::string, std::vector<char>, std::less<>> module_bytes;
  for (const MappedModule& m : image.modules) module_bytes.emplace(m.name, m.bytes);
  image.layout = layout_from_handoff(*view, module_bytes);
  return image;
}

namespace {
struct Finishes {
  std::vector<Tick> finish;           // earliest finish of each service
  std::vector<std::size_t> previous;  // the dependency that finishes last, or n
};

// The launch order lists every dependency before its dependents, so one
// pass over it finds each service's earliest finish. Empty when the config
// has no order.
Finishes earliest_finishes(const SystemConfig& config) {
  const std::size_t n = config.services.size();
  if (config.dependencies.size() != n || config.launch_order.size() != n) return {};
  Finishes f{std::vector<Tick>(n, 0), std::vector<std::size_t>(n, n)};
  for (std::size_t i : config.launch_order) {
    if (i >= n) return {};
    Tick start = 0;
    for (std::size_t d : config.dependencies[i]) {
      if (d < n && d != i && (f.previous[i] == n || f.finish[d] > start)) {
        start = f.finish[d];
        f.previous[i] = d;
      }
    }
    f.finish[i] = start + config.services[i].latency;
  }
  return f;
}
}  // namespace

Tick critical_path(const SystemConfig& config) {
  const Finishes f = earliest_finishes(config);
  Tick longest = 0;
  for (Tick t : f.finish) longest = std::max(longest, t);
  return longest;
}

std::vector<std::string> critical_chain(const SystemConfig& config) {
  const Finishes f = earliest_finishes(config);
  const std::size_t n = f.finish.size();
  if (n == 0) return {};
  std::size_t last = 0;
  for (std::size_t i = 1; i < n; ++i) {
    if (f.finish[i] > f.finish[last]) last = i;
  }
  std::vector<std::string> chain;
  for (std::size_t at = last; at < n && chain.size() <= n; at = f.previous[at]) {
    chain.push_back(config.services[at].name);
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

}  // namespace erix::sim
