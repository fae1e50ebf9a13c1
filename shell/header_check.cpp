// Includes every public header with the shell's freestanding flags and uses
// each parser, writer and decoder once, so the link proves the library needs
// no libc or libstdc++ symbol. host-tests runs `nm -u` on the result as well.
// The list below is every header in include/rootd, in name order: the test
// header-check-lists-every-header (shell/meson.build) fails when a header in
// the directory is missing from it. It is built without ROOTD_IMAGE, so the
// host-side writers are checked here too.
#include "rootd/abi.hpp"
#include "rootd/action.hpp"
#include "rootd/authority.hpp"
#include "rootd/bcfg.hpp"
#include "rootd/bcfg_decode.hpp"
#include "rootd/bcfg_wire.hpp"
#include "rootd/bcfg_writer.hpp"
#include "rootd/boot.hpp"
#include "rootd/boot_core.hpp"
#include "rootd/boot_intake.hpp"
#include "rootd/boot_launch.hpp"
#include "rootd/boot_phases.hpp"
#include "rootd/boot_plan.hpp"
#include "rootd/boot_probe.hpp"
#include "rootd/boot_report.hpp"
#include "rootd/boot_schedule.hpp"
#include "rootd/boot_shed.hpp"
#include "rootd/boot_storage.hpp"
#include "rootd/boot_teardown.hpp"
#include "rootd/boot_verify.hpp"
#include "rootd/boot_wait.hpp"
#include "rootd/bytes.hpp"
#include "rootd/console_protocol.hpp"
#include "rootd/decoded.hpp"
#include "rootd/drive.hpp"
#include "rootd/endpoints.hpp"
#include "rootd/envelope.hpp"
#include "rootd/handoff.hpp"
#include "rootd/handoff_builder.hpp"
#include "rootd/handoff_wire.hpp"
#include "rootd/hooks.hpp"
#include "rootd/input_protocol.hpp"
#include "rootd/inventory.hpp"
#include "rootd/loader_protocol.hpp"
#include "rootd/names.hpp"
#include "rootd/ordering.hpp"
#include "rootd/owner.hpp"
#include "rootd/policy.hpp"
#include "rootd/profiles.hpp"
#include "rootd/protocol.hpp"
#include "rootd/requires_cxx20.hpp"
#include "rootd/result.hpp"
#include "rootd/roles.hpp"
#include "rootd/service_roles.hpp"
#include "rootd/sink.hpp"
#include "rootd/status.hpp"
#include "rootd/storage.hpp"
#include "rootd/storage_intent.hpp"
#include "rootd/verifiers.hpp"
#include "rootd/verify.hpp"
#include "rootd/verify_console.hpp"
#include "rootd/verify_loader.hpp"
#include "rootd/verify_storage.hpp"
#include "rootd/vfs_protocol.hpp"

asm(R"(
    .section .text.entry, "ax", @progbits
    .globl _start
_start:
    andq $-16, %rsp
    call header_check_main
1:  jmp 1b
    .text
)");

namespace {
char g_scratch[4096];
}  // namespace

extern "C" [[noreturn]] void header_check_main(const char* p, std::size_t n) {
  volatile std::uint32_t sink = 0;
  rootd::Bytes bytes(p, n);
  sink = sink + rootd::crc32c(bytes);
  auto h = rootd::handoff::parse(bytes);
  sink = sink + static_cast<std::uint32_t>(h.error().reason);
  auto c = rootd::bcfg::parse(bytes);
  sink = sink + static_cast<std::uint32_t>(c.error().reason);
  sink = sink + static_cast<std::uint32_t>(rootd::reason_name(rootd::Reason::INTERNAL_STATE).size());
  rootd::abi::Message message{};
  message.label = n;
  message.words[0] = static_cast<std::uint64_t>(n) << 32;
  sink = sink + static_cast<std::uint32_t>(rootd::loader::decode_launch_path(message).error().offset);

  rootd::handoff::Builder builder(g_scratch);
  builder.module({rootd::handoff::kMagic, n, n, 1});
  sink = sink + static_cast<std::uint32_t>(builder.finish().error().reason);
  sink = sink + static_cast<std::uint32_t>(rootd::handoff::seal(g_scratch).reason);

  rootd::bcfg::ServiceDesc service;
  service.name = std::string_view(p, n);
  rootd::bcfg::ConfigDesc desc;
  desc.services = std::span<const rootd::bcfg::ServiceDesc>(&service, 1);
  sink = sink + static_cast<std::uint32_t>(rootd::bcfg::write(desc, g_scratch).error().reason);
  if (c) {
    rootd::bcfg::ServiceDesc services[1];
    rootd::bcfg::DecodeStorage storage;
    storage.services = services;
    sink = sink + static_cast<std::uint32_t>(rootd::bcfg::decode(*c, storage).error().reason);
    static rootd::ServiceRoles roles;
    rootd::resolve_roles(*c, roles);
    rootd::verify::LoaderContract verifier;
    const rootd::verify::Step step = verifier.next(rootd::verify::Context{*c, roles}, nullptr);
    sink = sink + static_cast<std::uint32_t>(step.name.size() + step.message.words[0]);
  }
  rootd::abi::Message m{n, 0, {n, n, n, n, n, n}};
  sink = sink + rootd::console::decode_chunk(m).refused + rootd::input::decode_event(m).refused;
  for (;;) asm volatile("pause");
}
