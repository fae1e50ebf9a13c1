// Driver: what the host-side runner of rootd's boot state machine needs from
// a kernel, one function per syscall of include/rootd/abi.hpp, at the level
// of abi::Message. The simulator implements it over the kernel model
// (ModelDriver); a test may implement it with a script.
//
// Names and arguments follow the syscalls register for register:
//   report(text)                                  REPORT  rdi/rsi = text
//   call(endpoint_slot, message, receive_slot)    CALL    rdi, rsi, rdx
//   send(endpoint_slot, message, badge)           SEND    rdi, rsi, rdx
//   wait(root_slot, message)                      WAIT    rdi, rsi
//   cap(op, source, space, destination, rights)   CAP     rdi, rsi, rdx, r10, r8
//   park()                                        PARK
// Each returns what rax would hold. call() and wait() overwrite `message`
// with the reply, as the kernel overwrites the caller's Message.
//
// read_module() is not a syscall: it gives the bytes rootd finds mapped at a
// module's vaddr (rootd reads the boot config there), which a host runner
// cannot simply dereference.
#pragma once

#include <cstdint>
#include <string_view>

#include "kernel_model.hpp"
#include "rootd/abi.hpp"
#include "rootd/bytes.hpp"

namespace erix::sim {

class Driver {
 public:
  virtual ~Driver() = default;
  virtual abi::KernelError report(std::string_view text) = 0;
  virtual abi::KernelError call(std::uint32_t endpoint_slot, abi::Message& message, std::uint32_t receive_slot) = 0;
  virtual abi::KernelError send(std::uint32_t endpoint_slot, const abi::Message& message, std::uint64_t badge) = 0;
  virtual abi::KernelError wait(std::uint32_t root_slot, abi::Message& message) = 0;
  virtual abi::KernelError cap(abi::CapOp op, std::uint32_t source_slot, std::uint32_t space_slot,
                               std::uint32_t destination_slot, std::uint32_t rights) = 0;
  virtual void park() = 0;
  // Empty when [vaddr, vaddr + size) is not inside one module's bytes.
  virtual rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) = 0;
};

// The kernel model behind the Driver interface. After a wait() or call() that
// returned PEER_GONE, model().hung() tells a real "no receiver" from a call
// that would block rootd forever.
class ModelDriver final : public Driver {
 public:
  explicit ModelDriver(KernelModel& model) : model_(model) {}

  abi::KernelError report(std::string_view text) override { return model_.report(text); }
  abi::KernelError call(std::uint32_t endpoint_slot, abi::Message& message, std::uint32_t receive_slot) override {
    return model_.call(endpoint_slot, message, receive_slot);
  }
  abi::KernelError send(std::uint32_t endpoint_slot, const abi::Message& message, std::uint64_t badge) override {
    return model_.send(endpoint_slot, message, badge);
  }
  abi::KernelError wait(std::uint32_t root_slot, abi::Message& message) override {
    return model_.wait(root_slot, message);
  }
  abi::KernelError cap(abi::CapOp op, std::uint32_t source_slot, std::uint32_t space_slot,
                       std::uint32_t destination_slot, std::uint32_t rights) override {
    return model_.cap(static_cast<std::uint64_t>(op), source_slot, space_slot, destination_slot, rights);
  }
  void park() override { model_.park(); }
  rootd::Bytes read_module(std::uint64_t vaddr, std::uint64_t size) override {
    return model_.read_module(vaddr, size);
  }

  KernelModel& model() { return model_; }

 private:
  KernelModel& model_;
};

}  // namespace erix::sim
