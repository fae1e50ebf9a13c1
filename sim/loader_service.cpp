#include "loader_service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <variant>

#include "ptrace_runner.hpp"
#include "services.hpp"

namespace erix::sim {

namespace loader = rootd::loader;
using loader::LoaderError;
using loader::Op;
using loader::State;

namespace {

// Where a launched program's stack goes (it needs none, but a program
// compiled from C++ may push): free in the runner's host, as ptrace_runner.hpp
// requires.
constexpr std::uint64_t kLaunchStackBase = 0x0200'0000;
constexpr std::uint64_t kLaunchStackSize = 0x4000;

abi::Message reply(const loader::StateReply& r) { return loader::encode(r); }
abi::Message failure(LoaderError e, std::uint8_t step = 0) { return loader::encode(loader::failed(e, step)); }

std::uint32_t request_id(const abi::Message& m) { return static_cast<std::uint32_t>(m.words[0] & 0xFFFF'FFFFU); }

LoaderError error_of(ElfProblem problem) {
  switch (problem) {
    case ElfProblem::needs_interpreter:
    case ElfProblem::needs_dynamic_linking: return LoaderError::REQUIRE_DYNAMIC;
    case ElfProblem::needs_thread_local_storage:
    case ElfProblem::reserved_segment_type:
    case ElfProblem::segment_file_size_exceeds_memory_size:
    case ElfProblem::segment_outside_file:
    case ElfProblem::segment_bad_alignment:
    case ElfProblem::segment_not_page_congruent:
    case ElfProblem::segment_below_lowest_address:
    case ElfProblem::segment_beyond_user_half:
    case ElfProblem::segment_writable_and_executable:
    case ElfProblem::segments_overlap:
    case ElfProblem::segments_share_page:
    case ElfProblem::no_load_segments:
    case ElfProblem::entry_not_executable: return LoaderError::INVALID_LOAD_PLAN;
    default: return LoaderError::BAD_ELF;
  }
}

std::string base_name(std::string_view path) {
  const auto slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

// ---- the in-memory namespace ---------------------------------------------------

void MemorySources::seed(std::string path, std::vector<char> bytes, std::uint32_t mode, bool unstable) {
  auto [it, fresh] = files_.try_emplace(std::move(path));
  const std::uint64_t generation = fresh ? 1 : it->second.generation + 1;
  it->second = File{std::move(bytes), mode, unstable, generation};
}

bool MemorySources::is_directory(std::string_view path) const {
  const std::string prefix = path == "/" ? std::string("/") : std::string(path) + "/";
  auto it = files_.lower_bound(prefix);
  return it != files_.end() && it->first.starts_with(prefix);
}

std::optional<SourceRead> MemorySources::read_source(std::string_view path, std::size_t limit) {
  ++reads_;
  if (is_directory(path)) return SourceRead{{}, true, false, 0};
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  File& f = it->second;
  SourceRead out;
  out.generation = f.generation;
  out.executable = (f.mode & 0111U) != 0;
  out.bytes.assign(f.bytes.begin(), f.bytes.begin() + static_cast<std::ptrdiff_t>(std::min(limit, f.bytes.size())));
  if (f.unstable) ++f.generation;  // someone rewrote it while it was being read
  return out;
}

std::optional<std::uint64_t> MemorySources::generation(std::string_view path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  return it->second.generation;
}

// ---- running a launched program -----------------------------------------------

std::string_view run_end_name(RunEnd end) {
  switch (end) {
    case RunEnd::exited: return "exited";
    case RunEnd::other_call: return "other-call";
    case RunEnd::fault: return "fault";
    case RunEnd::time_limit: return "time-limit";
    case RunEnd::lost: return "lost";
  }
  return "?";
}

RunResult run_to_exit(const ElfImage& image, const RunBounds& bounds) {
  LaunchOptions options;
  options.quiet_limit = bounds.limit;
  options.stack_pointer = kLaunchStackBase + kLaunchStackSize;
  options.regions.push_back({"stack", kLaunchStackBase, kLaunchStackSize, {}, Protection{true, true, false}});
  auto crash = [](RunEnd end, std::string note) { return RunResult{end, kCrashExitCode, std::move(note)}; };
  auto runner = PtraceRunner::start(image, options);
  if (!runner) return crash(RunEnd::lost, "the runner could not start it: " + runner.error().message);
  if (bounds.after_start) bounds.after_start(*runner);
  auto event = runner->next_event();
  RunResult result;
  if (!event) {
    result = crash(RunEnd::lost, "the runner lost it: " + event.error().message);
  } else if (const auto* call = std::get_if<SyscallStop>(&*event)) {
    if (call->number == static_cast<std::uint64_t>(abi::Syscall::EXIT)) {
      result = RunResult{RunEnd::exited, call->args[0], fmt::format("exit call, code {}", call->args[0])};
    } else {
      result = crash(RunEnd::other_call, fmt::format("system call {} at rip {:#x}", call->number, call->rip));
    }
  } else if (std::holds_alternative<FaultStop>(*event)) {
    result = crash(RunEnd::fault, describe(*event));
  } else if (std::holds_alternative<Timeout>(*event)) {
    result = crash(RunEnd::time_limit, describe(*event));
  } else {
    result = crash(RunEnd::lost, describe(*event));
  }
  runner->kill();
  return result;
}

// ---- loaderd ----------------------------------------------------------------------

LoaderService::LoaderService(KernelModel& model, Services& services)
    : model_(model), services_(services), sources_(std::make_shared<MemorySources>()) {}

const LaunchRequest* LoaderService::request(std::uint32_t id) const {
  auto it = requests_.find(id);
  return it == requests_.end() ? nullptr : &it->second;
}

Pid LoaderService::procd() const {
  for (const ServiceRecord& r : services_.records()) {
    const Process* p = model_.process(r.pid);
    if (r.spec.role == "procd" && p != nullptr && p->state == ProcessState::running) return r.pid;
  }
  return kNoPid;
}

std::optional<CallReply> LoaderService::on_call(Pid receiver, const ServiceRecord& rec, const abi::Message& message,
                                                const std::optional<Cap>& carried) {
  if (rec.spec.role != "loaderd" || !loader::is_loader_op(message.label)) return std::nullopt;
  const auto op = static_cast<Op>(message.label);
  abi::Message out;
  if (carried.has_value()) {
    // No cap travels in this protocol (and none lands in loaderd: it takes
    // no carried cap, Services::carried_slot): the request does not decode.
    out = failure(LoaderError::MALFORMED);
  } else if (op == Op::LAUNCH_PATH) {
    out = launch_path(message);
  } else if (op == Op::LAUNCH_ARGS) {
    out = launch_args(message);
  } else {
    out = request_ref(receiver, message);
  }
  const bool inspecting = op == Op::LAUNCH_INSPECT && out.words[0] != static_cast<std::uint64_t>(State::FAILED);
  const std::uint32_t id = request_id(message);
  if (rec.spec.has_fault(FaultPoint::slow) && (op == Op::LAUNCH_START || op == Op::LAUNCH_STATUS)) {
    const LaunchRequest* r = request(id);
    out = reply(loader::running(r == nullptr ? 0 : r->pid));
  }
  if (rec.spec.has_fault(FaultPoint::wrong_reply)) {
    if (op == Op::LAUNCH_INSPECT) {
      out.label = 1;
    } else if (op == Op::LAUNCH_PATH || op == Op::LAUNCH_ARGS) {
      out = reply(loader::running(0));
    } else {
      out = reply(loader::accepted());
    }
  }
  if (rec.spec.has_fault(FaultPoint::wrong_data)) {
    if (inspecting) {
      out.words[0] += 1;
    } else if (out.words[0] == static_cast<std::uint64_t>(State::EXITED)) {
      out.words[2] += 1;
    } else if (out.words[0] == static_cast<std::uint64_t>(State::FAILED)) {
      out.words[1] = out.words[1] % loader::kLastLoaderError + 1;
    }
  }
  CallReply answer{out, std::nullopt};
  if (rec.spec.has_fault(FaultPoint::extra_cap)) {
    const Process* self = model_.process(receiver);
    const Cap* own = self == nullptr ? nullptr : self->cap_at(abi::kServiceEndpointLocalSlot);
    if (own != nullptr) answer.cap = Cap{ObjectType::endpoint, own->object, abi::RIGHT_SEND, 0};
  }
  return answer;
}

abi::Message LoaderService::launch_path(const abi::Message& m) {
  const auto decoded = loader::decode_launch_path(m);
  // A refused LAUNCH_PATH records nothing; an id in use keeps its request.
  if (!decoded.ok() || requests_.contains(decoded.value().request)) return failure(LoaderError::MALFORMED);
  if (next_ordinal_ >= kMaxLoaderRequests) return failure(LoaderError::MALFORMED);
  LaunchRequest r;
  r.id = decoded.value().request;
  r.ordinal = next_ordinal_++;
  r.path = std::string(decoded.value().view());
  requests_.emplace(r.id, std::move(r));
  return reply(loader::accepted());
}

abi::Message LoaderService::launch_args(const abi::Message& m) {
  auto it = requests_.find(request_id(m));
  if (it == requests_.end()) return failure(LoaderError::UNKNOWN_REQUEST);
  LaunchRequest& r = it->second;
  // Arguments belong before LAUNCH_START; later ones change nothing.
  if (r.state != State::ACCEPTED) return failure(LoaderError::MALFORMED);
  // A refused chunk fails the request.
  auto refuse = [&] {
    fail(r, LoaderError::MALFORMED);
    return failure(LoaderError::MALFORMED);
  };
  const auto decoded = loader::decode_launch_args(m);
  if (!decoded.ok()) return refuse();
  const loader::LaunchArgs& a = decoded.value();
  LaunchRequest::Block& b = r.blocks[static_cast<std::size_t>(a.block)];
  const bool same_length = !b.length.has_value() || *b.length == a.length;
  if (!same_length || a.chunk != b.chunks || b.complete()) return refuse();
  const std::size_t n = loader::chunk_bytes(a.length, a.chunk);
  const bool last = std::size_t{a.chunk} * loader::kChunkBytes + n == a.length;
  if (last && a.bytes[n - 1] != '\0') return refuse();
  b.length = a.length;
  b.bytes.insert(b.bytes.end(), a.bytes, a.bytes + n);
  ++b.chunks;
  return reply(loader::accepted());
}

abi::Message LoaderService::request_ref(Pid loaderd, const abi::Message& m) {
  const auto decoded = loader::decode_request_ref(m);
  if (!decoded.ok()) return failure(LoaderError::MALFORMED);
  const std::uint32_t id = decoded.value().request;
  switch (decoded.value().op) {
    case Op::LAUNCH_START: return launch_start(loaderd, m);
    case Op::LAUNCH_INSPECT: return inspect(loaderd, id);
    default: return status_of(id);
  }
}

abi::Message LoaderService::launch_start(Pid loaderd, const abi::Message& m) {
  const std::uint32_t id = request_id(m);
  auto it = requests_.find(id);
  if (it == requests_.end()) return failure(LoaderError::UNKNOWN_REQUEST);
  LaunchRequest& r = it->second;
  if (r.state == State::ACCEPTED) {
    const bool args_whole = (!r.blocks[0].length.has_value() || r.blocks[0].complete()) &&
                            (!r.blocks[1].length.has_value() || r.blocks[1].complete());
    if (!args_whole) {
      fail(r, LoaderError::MALFORMED);
    } else {
      materialize(loaderd, r);
    }
  }
  return status_of(id);
}

void LoaderService::fail(LaunchRequest& r, LoaderError error, std::uint8_t step) {
  r.state = State::FAILED;
  r.error = error;
  r.cleanup_step = step;
  r.pid = kNoPid;
}

void LoaderService::drop_scratch(Pid loaderd, const LaunchRequest& r) {
  model_.drop_cap(loaderd, kLoaderScratchFirstSlot + 2 * r.ordinal);
  model_.drop_cap(loaderd, kLoaderScratchFirstSlot + 2 * r.ordinal + 1);
}

void LoaderService::materialize(Pid loaderd, LaunchRequest& r) {
  const std::uint8_t fault_at = loader::fault_step_of(r.id);
  const std::uint32_t image_slot = kLoaderScratchFirstSlot + 2 * r.ordinal;
  const std::uint32_t process_slot = image_slot + 1;
  // An injected fault at `step`: undo everything done so far.
  auto cleanup_fault = [&](std::uint8_t step, Pid made) {
    if (made != kNoPid) model_.destroy_process(made);
    drop_scratch(loaderd, r);
    fail(r, LoaderError::CLEANUP_FAULT, step);
  };

  // 1. The source, through the public namespace.
  std::optional<SourceRead> read = sources_->read_source(r.path, loader::kMaxSourceBytes + 1);
  if (!read.has_value()) return fail(r, LoaderError::NOT_FOUND);
  if (read->is_directory) return fail(r, LoaderError::IS_DIRECTORY);
  if (!read->executable) return fail(r, LoaderError::DENIED);
  if (read->bytes.size() > loader::kMaxSourceBytes) return fail(r, LoaderError::OVERSIZED);
  if (sources_->generation(r.path) != read->generation) return fail(r, LoaderError::STALE_SOURCE);
  const ObjectId frame = model_.create_frame(read->bytes.size());
  model_.give_cap(loaderd, image_slot, Cap{ObjectType::frame, frame, abi::RIGHT_READ | abi::RIGHT_EXECUTE, 0});
  if (fault_at == 1) return cleanup_fault(1, kNoPid);

  // The static load plan: what the kernel would map, checked before any
  // process exists.
  auto image = ElfImage::parse(rootd::Bytes(read->bytes.data(), read->bytes.size()));
  if (!image) {
    drop_scratch(loaderd, r);
    return fail(r, error_of(image.error().problem));
  }

  // 2. The process, made by procd on loaderd's behalf, holding nothing.
  const Pid parent = procd();
  if (parent == kNoPid) {
    drop_scratch(loaderd, r);
    return fail(r, kLauncherGone);
  }
  const Admitted who{abi::KernelError::OK, base_name(r.path), ""};
  const Pid pid = model_.create_process(who, Admission{Launcher::loader, "", 0}, frame, parent);
  r.made = pid;
  model_.give_cap(loaderd, process_slot, Cap{ObjectType::process, pid, kProcessCapRights, 0});
  if (fault_at == 2) return cleanup_fault(2, pid);

  // 3. Its image mapped (the runner maps the planned segments at start).
  if (fault_at == 3) return cleanup_fault(3, pid);

  // 4. Started: then it runs to its end.
  model_.start_process(pid);
  if (fault_at == 4) return cleanup_fault(4, pid);
  r.state = State::RUNNING;
  r.pid = pid;
  r.run = run_to_exit(*image, bounds_);
  model_.exit_process(pid, r.run->code);
  r.exit_code = r.run->code;
  r.state = State::EXITED;
  drop_scratch(loaderd, r);
}

abi::Message LoaderService::status_of(std::uint32_t id) const {
  const LaunchRequest* r = request(id);
  if (r == nullptr) return failure(LoaderError::UNKNOWN_REQUEST);
  switch (r->state) {
    case State::ACCEPTED: return reply(loader::accepted());
    case State::RUNNING: return reply(loader::running(r->pid));
    case State::EXITED: return reply(loader::exited(r->pid, r->exit_code));
    case State::FAILED: return failure(r->error, r->cleanup_step);
  }
  return failure(LoaderError::UNKNOWN_REQUEST);
}

abi::Message LoaderService::inspect(Pid loaderd, std::uint32_t id) const {
  const LaunchRequest* r = request(id);
  if (r == nullptr) return failure(LoaderError::UNKNOWN_REQUEST);
  loader::Inspect in;
  if (const Process* p = model_.process(r->made); p != nullptr) in.process_caps = p->cspace.size();
  const Process* self = model_.process(loaderd);
  const std::uint32_t first = kLoaderScratchFirstSlot + 2 * r->ordinal;
  for (std::uint32_t slot = first; self != nullptr && slot < first + 2; ++slot) {
    if (self->cap_at(slot) != nullptr) ++in.scratch_caps;
  }
  return loader::encode(in);
}

}  // namespace erix::sim
