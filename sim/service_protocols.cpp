#include "service_protocols.hpp"

#include "console_services.hpp"
#include "loader_service.hpp"
#include "vfs_service.hpp"

namespace erix::sim {

std::vector<std::unique_ptr<ProtocolHandler>> make_protocol_handlers(KernelModel& model, Services& services) {
  std::vector<std::unique_ptr<ProtocolHandler>> handlers;
  (void)model;
  (void)services;
  // One line per protocol: handlers.push_back(std::make_unique<...>(model, services));
  handlers.push_back(std::make_unique<FbcondService>(model));
  handlers.push_back(std::make_unique<InputdService>(model));
  handlers.push_back(std::make_unique<LoaderService>(model, services));
  handlers.push_back(std::make_unique<VfsService>(model, services));
  return handlers;
}

}  // namespace erix::sim
