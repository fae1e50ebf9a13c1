#include "service_protocols.hpp"

#include "loader_service.hpp"

namespace erix::sim {

std::vector<std::unique_ptr<ProtocolHandler>> make_protocol_handlers(KernelModel& model, Services& services) {
  std::vector<std::unique_ptr<ProtocolHandler>> handlers;
  (void)model;
  (void)services;
  // One line per protocol: handlers.push_back(std::make_unique<...>(model, services));
  handlers.push_back(std::make_unique<LoaderService>(model, services));
  return handlers;
}

}  // namespace erix::sim
