#include "console_services.hpp"

#include <algorithm>

#include "rootd/console_protocol.hpp"
#include "services.hpp"

namespace erix::sim {

namespace console = rootd::console;
namespace input = rootd::input;

namespace {

constexpr std::uint64_t kFbcondWrongLabel = 0xB7;
constexpr std::uint64_t kInputdWrongLabel = 0xBF;

// A SEND cap to the service endpoint of `pid` (its local slot 1): what an
// extra-cap fault puts in a reply.
std::optional<Cap> own_endpoint_send(const KernelModel& model, Pid pid) {
  const Process* p = model.process(pid);
  const Cap* endpoint = p == nullptr ? nullptr : p->cap_at(abi::kServiceEndpointLocalSlot);
  if (endpoint == nullptr) return std::nullopt;
  Cap send = *endpoint;
  send.rights = abi::RIGHT_SEND;
  return send;
}

// The reply to a verifier's call, with the faults every protocol shares.
CallReply answer(const KernelModel& model, Pid receiver, const ServiceRecord& rec,
                 abi::Message reply, std::uint64_t wrong_label) {
  if (rec.spec.has_fault(FaultPoint::wrong_reply)) reply.label = wrong_label;
  CallReply out{reply, std::nullopt};
  if (rec.spec.has_fault(FaultPoint::extra_cap)) out.cap = own_endpoint_send(model, receiver);
  return out;
}

}  // namespace

// ---- fbcond ------------------------------------------------------------------------

void FbcondService::write(std::string_view text) {
  retained_.append(text);
  cursor_ += text.size();
  if (retained_.size() > window_) retained_.erase(0, retained_.size() - window_);
}

void FbcondService::take_reports() {
  const auto& reports = model_.reports();
  for (; reports_taken_ < reports.size(); ++reports_taken_)
    write(reports[reports_taken_].text + "\n");
}

void FbcondService::on_ready(Pid /*pid*/, const ServiceRecord& rec) {
  if (rec.spec.role != "fbcond" || ready_) return;
  ready_ = true;
  ready_at_ = model_.now();
  write(kFbcondBanner);
  take_reports();
}

std::optional<CallReply> FbcondService::on_call(Pid receiver, const ServiceRecord& rec,
                                                const abi::Message& message,
                                                const std::optional<Cap>& /*carried*/) {
  if (rec.spec.role != "fbcond") return std::nullopt;
  take_reports();
  const console::Refused busy{console::Refusal::BUSY, oldest(), cursor_};
  abi::Message reply =
      console::encode(console::Refused{console::Refusal::BAD_REQUEST, oldest(), cursor_});
  if (const auto w = console::decode_write(message); w.ok()) {
    const std::uint64_t at = cursor_;
    write(std::string_view(w.value().text.bytes, w.value().text.length));
    reply = console::encode(console::Written{at, w.value().text.length});
  } else if (const auto r = console::decode_read(message); r.ok()) {
    const std::uint64_t offset = r.value().offset;
    if (rec.spec.has_fault(FaultPoint::slow)) {
      reply = console::encode(busy);
    } else if (offset < oldest()) {
      reply = console::encode(console::Refused{console::Refusal::TRIMMED, oldest(), cursor_});
    } else if (offset > cursor_) {
      reply = console::encode(console::Refused{console::Refusal::BEYOND_CURSOR, oldest(), cursor_});
    } else {
      console::Chunk chunk{offset, oldest(), cursor_, {}};
      const std::size_t from = offset - oldest();
      chunk.text.length =
          static_cast<std::uint8_t>(std::min<std::size_t>(r.value().max, retained_.size() - from));
      for (std::size_t i = 0; i < chunk.text.length; ++i) {
        chunk.text.bytes[i] = retained_[from + i];
        if (rec.spec.has_fault(FaultPoint::wrong_data)) chunk.text.bytes[i] ^= 1;
      }
      reply = console::encode(chunk);
    }
  } else if (console::decode_cursor(message)) {
    const bool first = !cursor_asked_;
    cursor_asked_ = true;
    const bool race =
        first && (race_ == Race::always || (race_ == Race::same_tick && model_.now() == ready_at_));
    reply = race ? console::encode(busy) : console::encode(console::At{cursor_, oldest()});
  }
  return answer(model_, receiver, rec, reply, kFbcondWrongLabel);
}

// ---- inputd and the PS/2 drivers ---------------------------------------------------

void InputdService::deliver(input::Event event) {
  event.sequence = next_sequence_++;
  queue_.push_back(event);
}

void InputdService::feed() {
  const auto i8042 = static_cast<std::uint8_t>(rootd::RoleId::DRV_I8042);
  if (i8042_ && kbd_ && !kbd_fed_) {
    kbd_fed_ = true;
    for (const std::uint8_t value : {1, 0}) {
      input::Event key;
      key.device = input::Device::KEYBOARD;
      key.source = rootd::RoleId::DRV_PS2_KBD;
      key.via = i8042;
      key.code = kKeyCode;
      key.value = value;
      deliver(key);
    }
  }
  if (i8042_ && mouse_ && !mouse_fed_) {
    mouse_fed_ = true;
    input::Event motion;
    motion.device = input::Device::MOUSE;
    motion.source = rootd::RoleId::DRV_PS2_MOUSE;
    motion.via = i8042;
    motion.dx = kMouseDx;
    motion.dy = kMouseDy;
    motion.buttons = 1;
    deliver(motion);
  }
}

void InputdService::on_ready(Pid /*pid*/, const ServiceRecord& rec) {
  const std::string& role = rec.spec.role;
  i8042_ = i8042_ || role == "drv-i8042";
  kbd_ = kbd_ || role == "drv-ps2-kbd";
  mouse_ = mouse_ || role == "drv-ps2-mouse";
  feed();
}

std::optional<CallReply> InputdService::on_call(Pid receiver, const ServiceRecord& rec,
                                                const abi::Message& message,
                                                const std::optional<Cap>& /*carried*/) {
  if (rec.spec.role != "inputd") return std::nullopt;
  abi::Message reply = input::encode_refused();
  if (input::decode_read_event(message)) {
    if (queue_.empty() || rec.spec.has_fault(FaultPoint::slow)) {
      reply = input::encode_empty();
    } else {
      input::Event e = queue_.front();
      queue_.pop_front();
      if (rec.spec.has_fault(FaultPoint::wrong_data)) {
        e.source = e.device == input::Device::KEYBOARD ? rootd::RoleId::DRV_PS2_MOUSE
                                                       : rootd::RoleId::DRV_PS2_KBD;
      }
      reply = input::encode(e);
    }
  }
  return answer(model_, receiver, rec, reply, kInputdWrongLabel);
}

}  // namespace erix::sim
