#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "rootd/result.hpp"
#include "rootd/status.hpp"

using rootd::Reason;
using rootd::Status;

static_assert(rootd::status_name(Status::READY) == "READY");
static_assert(rootd::status_name(Status::SERVICE_BOOTSTRAP_FAILED) == "SERVICE_BOOTSTRAP_FAILED");
static_assert(rootd::status_exit_code(Status::READY) == 0);
static_assert(rootd::status_exit_code(Status::HANDOFF_INVALID) == 10);
static_assert(rootd::status_exit_code(Status::CONTRACT_INVALID) == 11);
static_assert(rootd::status_exit_code(Status::INTERNAL_ERROR) == 12);
static_assert(rootd::status_exit_code(Status::SERVICE_BOOTSTRAP_FAILED) == 13);
static_assert(rootd::reason_name(Reason::INTERNAL_STATE) == "INTERNAL_STATE");
static_assert(rootd::reason_status(Reason::INTERNAL_CAPACITY) == Status::INTERNAL_ERROR);

namespace {
constexpr rootd::Result<int> half(int v) {
  if (v % 2 != 0) return rootd::Error{Reason::INTERNAL_STATE, static_cast<std::uint32_t>(v)};
  return v / 2;
}
}  // namespace
static_assert(half(8).ok() && half(8).value() == 4);
static_assert(!half(7).ok() && half(7).error().offset == 7);
static_assert(half(7).error().status() == Status::INTERNAL_ERROR);

// {reason, offset} (how the parsers build errors) leaves the location
// unknown; the location takes part in equality, so the same byte offset in
// the two blobs, or about two subjects, never compares equal.
namespace {
constexpr rootd::Error kBare{Reason::INTERNAL_STATE, 7};
constexpr rootd::Error kInConfig{Reason::INTERNAL_STATE, 7, rootd::Blob::CONFIG, rootd::Subject::SERVICE, 3};
}  // namespace
static_assert(kBare.blob == rootd::Blob::UNKNOWN && kBare.subject == rootd::Subject::NONE);
static_assert(kBare.index == rootd::kNoSubjectIndex && kBare.entry == rootd::kNoSubjectIndex);
static_assert(kInConfig.entry == rootd::kNoSubjectIndex);
static_assert(!(kBare == kInConfig));
static_assert(!(kInConfig == rootd::Error{Reason::INTERNAL_STATE, 7, rootd::Blob::HANDOFF, rootd::Subject::SERVICE, 3}));
static_assert(kInConfig == rootd::Error{Reason::INTERNAL_STATE, 7, rootd::Blob::CONFIG, rootd::Subject::SERVICE, 3});

TEST_CASE("every reason has an upper-case marker name, a stable number and a failing status") {
  std::set<std::string> names;
  std::set<unsigned> numbers;
  for (const auto& row : rootd::kReasonTable) {
    const std::string name(row.name);
    INFO(name);
    CHECK(!name.empty());
    for (char c : name) CHECK(((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'));
    CHECK(names.insert(name).second);
    CHECK(numbers.insert(static_cast<unsigned>(row.reason)).second);
    CHECK(row.status != Status::READY);
    CHECK(rootd::reason_name(row.reason) == row.name);
  }
  CHECK(rootd::reason_name(static_cast<Reason>(65535)) == "NONE");
}

TEST_CASE("a Result built from an error with no reason still fails") {
  rootd::Result<int> r{rootd::Error{}};
  CHECK_FALSE(r.ok());
  CHECK(r.error().reason == Reason::INTERNAL_STATE);
}
