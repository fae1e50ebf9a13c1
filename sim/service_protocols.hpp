// The public protocols of the simulated services (vfsd and the filesystems,
// loaderd, fbcond, inputd and the input drivers), which an integration
// image's verifiers call once every service is READY.
//
// Each protocol is one ProtocolHandler. Services owns them all (made by
// make_protocol_handlers) and offers every CALL that reaches a READY service
// to each handler in turn; the first that takes it answers. A handler also
// hears when a service answers READY, so that, for example, an input driver
// can queue its first event for inputd.
//
// A handler honours the verifier fault points of its service
// (FaultPoint::wrong_reply, wrong_data, extra_cap, slow; services.hpp).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "kernel_model.hpp"

namespace erix::sim {

class Services;
struct ServiceRecord;

class ProtocolHandler {
 public:
  virtual ~ProtocolHandler() = default;
  // A CALL reached `rec`'s READY service in `receiver`; nullopt: not this
  // handler's protocol (the next handler is asked, and a call nobody takes
  // is UNKNOWN_OPERATION).
  virtual std::optional<CallReply> on_call(Pid receiver, const ServiceRecord& rec, const abi::Message& message,
                                           const std::optional<Cap>& carried) = 0;
  // `rec`'s service in `pid` has just answered READY.
  virtual void on_ready(Pid pid, const ServiceRecord& rec) {
    (void)pid;
    (void)rec;
  }
};

// Every protocol handler of the simulated user space, in the order they are
// asked (service_protocols.cpp: one line per protocol).
std::vector<std::unique_ptr<ProtocolHandler>> make_protocol_handlers(KernelModel& model, Services& services);

}  // namespace erix::sim
