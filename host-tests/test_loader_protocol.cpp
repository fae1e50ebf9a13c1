// include/rootd/loader_protocol.hpp: loaderd's messages. The expected words
// are written from docs/loaderd-protocol.md's byte tables by hand (an
// independent oracle), then every decoder is fed crafted bad messages: a
// field beyond its bits, a length of 0 or 41, a non-zero tail, a carried cap.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "rootd/abi.hpp"
#include "rootd/loader_protocol.hpp"

namespace abi = rootd::abi;
namespace loader = rootd::loader;
using loader::LoaderError;
using loader::Op;
using loader::State;

namespace {

// Little-endian bytes of `s` from `from`, 8 per word, as the doc lays them out.
std::uint64_t le_word(std::string_view s, std::size_t from) {
  std::uint64_t w = 0;
  for (std::size_t i = 0; i < 8 && from + i < s.size(); ++i) {
    w |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[from + i])) << (8 * i);
  }
  return w;
}

abi::Message raw(std::uint64_t label, std::uint64_t w0 = 0, std::uint64_t w1 = 0, std::uint64_t w2 = 0,
                 std::uint64_t w3 = 0, std::uint64_t w4 = 0, std::uint64_t w5 = 0) {
  abi::Message m{};
  m.label = label;
  m.words[0] = w0;
  m.words[1] = w1;
  m.words[2] = w2;
  m.words[3] = w3;
  m.words[4] = w4;
  m.words[5] = w5;
  return m;
}

abi::Message path_message(std::uint32_t id, std::string_view path, std::size_t claimed) {
  abi::Message m = raw(0xA0, id | (static_cast<std::uint64_t>(claimed) << 32));
  for (std::size_t w = 0; w < 5; ++w) m.words[1 + w] = le_word(path.substr(0, 40), 8 * w);
  return m;
}

// Whether `m` is refused, and at which word.
template <class R>
std::uint32_t refused_at(const R& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().reason == loader::kMalformedReason);
  return r.error().offset;
}

}  // namespace

// The numbers the simulated loaderd and the verifiers share.
static_assert(static_cast<std::uint64_t>(Op::LAUNCH_PATH) == 0xA0);
static_assert(static_cast<std::uint64_t>(Op::LAUNCH_INSPECT) == 0xA4);
static_assert(static_cast<int>(LoaderError::REQUIRE_DYNAMIC) == 9);
static_assert(static_cast<int>(LoaderError::CLEANUP_FAULT) == 11);
static_assert(loader::kMaxArgChunks == 7);
static_assert(loader::fault_request(3) == 0xFA110003U);
static_assert(loader::fault_step_of(0xFA110004U) == 4);
static_assert(loader::fault_step_of(0xFA110005U) == 0 && loader::fault_step_of(0xFA110000U) == 0);
static_assert(loader::fault_step_of(7) == 0);
// A constexpr round trip: the decoders run in a constant expression.
static_assert((*loader::decode_launch_path(loader::encode(loader::launch_path(9, "/data/bin/loader-ok")))).view() ==
              std::string_view("/data/bin/loader-ok"));

TEST_CASE("LAUNCH_PATH encodes the documented words and round-trips", "[loader_protocol]") {
  const std::string_view path = "/data/bin/loader-ok";
  const abi::Message m = loader::encode(loader::launch_path(0x1234, path));
  const abi::Message want = path_message(0x1234, path, path.size());
  CHECK(m.label == 0xA0);
  CHECK(m.cap == abi::kNoSlot);
  for (int i = 0; i < 6; ++i) CHECK(m.words[i] == want.words[i]);
  CHECK(m.words[0] == 0x13'0000'1234ULL);        // length 19 in bits 32..39
  CHECK(m.words[1] == 0x69622f617461642fULL);  // "/data/bi", first byte lowest
}

TEST_CASE("LAUNCH_PATH round-trips every length from 2 to 40", "[loader_protocol]") {
  std::string path = "/";
  for (std::size_t n = 2; n <= 40; ++n) {
    path.push_back(static_cast<char>('a' + n % 26));
    const auto d = loader::decode_launch_path(path_message(0xFFFFFFFFU, path, n));
    REQUIRE(d.ok());
    CHECK(d->request == 0xFFFFFFFFU);
    CHECK(d->view() == path);
  }
}

TEST_CASE("LAUNCH_PATH refuses crafted bad messages", "[loader_protocol]") {
  const std::string ok = "/data/bin/loader-ok";
  CHECK(loader::decode_launch_path(path_message(1, ok, ok.size())).ok());
  // Length 0, and 41 (with 40 bytes present).
  CHECK(refused_at(loader::decode_launch_path(path_message(1, "", 0))) == 0);
  const std::string long41 = "/data/bin/" + std::string(31, 'x');
  REQUIRE(long41.size() == 41);
  CHECK(refused_at(loader::decode_launch_path(path_message(1, long41, 41))) == 0);
  // The encoder passes the claimed length through, so a verifier can send it.
  CHECK(refused_at(loader::decode_launch_path(loader::encode(loader::launch_path(1, long41)))) == 0);
  // A bit above the length field.
  abi::Message high = path_message(1, ok, ok.size());
  high.words[0] |= std::uint64_t{1} << 40;
  CHECK(refused_at(loader::decode_launch_path(high)) == 0);
  // A non-zero byte right after the path, and in the last word.
  abi::Message tail = path_message(1, ok, ok.size());
  tail.words[1 + ok.size() / 8] |= std::uint64_t{0x41} << (8 * (ok.size() % 8));
  CHECK(refused_at(loader::decode_launch_path(tail)) == 1 + ok.size() / 8);
  abi::Message tail5 = path_message(1, ok, ok.size());
  tail5.words[5] = std::uint64_t{1} << 63;
  CHECK(refused_at(loader::decode_launch_path(tail5)) == 5);
  // A carried cap, a wrong label.
  abi::Message cap = path_message(1, ok, ok.size());
  cap.cap = 3;
  CHECK(refused_at(loader::decode_launch_path(cap)) == loader::kCapWord);
  abi::Message label = path_message(1, ok, ok.size());
  label.label = 0xA1;
  CHECK(refused_at(loader::decode_launch_path(label)) == loader::kLabelWord);
  // Names that are not path-only, well-formed absolute paths.
  for (std::string_view bad : {"data/bin/loader-ok", "/data/../bin/loader-ok", "/data/bin/..", "/data//bin",
                               "/data/bin/", "/./data", "/", "/data/bin/lo\0der"}) {
    const std::string s(bad.data(), bad == "/data/bin/lo\0der" ? 16 : bad.size());
    INFO(s);
    CHECK(refused_at(loader::decode_launch_path(path_message(1, s, s.size()))) == 1);
  }
  // "..." and ".x" are ordinary names.
  CHECK(loader::decode_launch_path(path_message(1, "/data/.../.x", 12)).ok());
}

TEST_CASE("path_is_valid accepts only absolute, component-clean paths of 1..40 bytes", "[loader_protocol]") {
  CHECK(loader::path_is_valid("/a"));
  CHECK(loader::path_is_valid("/data/bin/loader-ok"));
  CHECK(loader::path_is_valid("/" + std::string(39, 'y')));
  CHECK_FALSE(loader::path_is_valid("/" + std::string(40, 'y')));
  CHECK_FALSE(loader::path_is_valid(""));
  CHECK_FALSE(loader::path_is_valid("a/b"));
  CHECK_FALSE(loader::path_is_valid("/a/./b"));
  CHECK_FALSE(loader::path_is_valid("/a/../b"));
  CHECK_FALSE(loader::path_is_valid("/a//b"));
}

TEST_CASE("LAUNCH_ARGS encodes the documented words and round-trips every chunk", "[loader_protocol]") {
  std::string block;
  for (std::size_t i = 0; i < 256; ++i) block.push_back(i % 8 == 7 ? '\0' : static_cast<char>('a' + i % 26));
  for (std::uint8_t chunk = 0; chunk < 7; ++chunk) {
    loader::LaunchArgs a;
    a.request = 0xABCDEF01U;
    a.block = loader::Block::ENV;
    a.chunk = chunk;
    a.length = 256;
    std::memcpy(a.bytes, block.data() + 40 * chunk, loader::chunk_bytes(256, chunk));
    const abi::Message m = loader::encode(a);
    CHECK(m.label == 0xA1);
    CHECK(m.words[0] == (0xABCDEF01ULL | (1ULL << 32) | (static_cast<std::uint64_t>(chunk) << 40) | (256ULL << 48)));
    const std::string part = block.substr(40 * chunk, chunk == 6 ? 16 : 40);
    for (std::size_t w = 0; w < 5; ++w) CHECK(m.words[1 + w] == le_word(part, 8 * w));
    const auto d = loader::decode_launch_args(m);
    REQUIRE(d.ok());
    CHECK(d->request == 0xABCDEF01U);
    CHECK(d->block == loader::Block::ENV);
    CHECK(d->chunk == chunk);
    CHECK(d->length == 256);
    CHECK(std::string_view(d->bytes, part.size()) == part);
  }
}

TEST_CASE("LAUNCH_ARGS refuses crafted bad messages", "[loader_protocol]") {
  auto args = [](std::uint64_t length, std::uint64_t chunk, std::uint64_t extra = 0) {
    return raw(0xA1, 5 | (chunk << 40) | (length << 48) | extra, 0x0041414141414141ULL);
  };
  CHECK(loader::decode_launch_args(args(256, 0)).ok());
  CHECK(loader::decode_launch_args(args(8, 0)).ok());
  CHECK(refused_at(loader::decode_launch_args(args(257, 0))) == 0);  // over the bound
  CHECK(refused_at(loader::decode_launch_args(args(0, 0))) == 0);
  CHECK(refused_at(loader::decode_launch_args(args(80, 2))) == 0);   // chunk beyond the block
  CHECK(refused_at(loader::decode_launch_args(args(256, 7))) == 0);
  for (int bit = 33; bit < 40; ++bit) {
    CHECK(refused_at(loader::decode_launch_args(args(256, 0, std::uint64_t{1} << bit))) == 0);
  }
  // Bytes beyond a 7-byte block's end: the 8th byte of w1, and w2.
  abi::Message tail = args(7, 0);
  tail.words[1] |= std::uint64_t{1} << 56;
  CHECK(refused_at(loader::decode_launch_args(tail)) == 1);
  abi::Message tail2 = args(256, 6);  // the last chunk holds 16 bytes
  tail2.words[3] = 1;
  CHECK(refused_at(loader::decode_launch_args(tail2)) == 3);
  abi::Message cap = args(256, 0);
  cap.cap = 0;
  CHECK(refused_at(loader::decode_launch_args(cap)) == loader::kCapWord);
}

TEST_CASE("START, STATUS and INSPECT requests carry only the request id", "[loader_protocol]") {
  for (Op op : {Op::LAUNCH_START, Op::LAUNCH_STATUS, Op::LAUNCH_INSPECT}) {
    const abi::Message m = loader::encode(loader::RequestRef{op, 0xFA110002U});
    CHECK(m.label == static_cast<std::uint64_t>(op));
    CHECK(m.words[0] == 0xFA110002U);
    for (int i = 1; i < 6; ++i) CHECK(m.words[i] == 0);
    const auto d = loader::decode_request_ref(m);
    REQUIRE(d.ok());
    CHECK(d->op == op);
    CHECK(d->request == 0xFA110002U);
  }
  CHECK(refused_at(loader::decode_request_ref(raw(0xA2, 1ULL << 32))) == 0);
  for (std::uint32_t w = 1; w < 6; ++w) {
    abi::Message m = raw(0xA3, 1);
    m.words[w] = 1;
    CHECK(refused_at(loader::decode_request_ref(m)) == w);
  }
  CHECK(refused_at(loader::decode_request_ref(raw(0xA1, 1))) == loader::kLabelWord);
  CHECK(refused_at(loader::decode_request_ref(raw(0xA5, 1))) == loader::kLabelWord);
  abi::Message cap = raw(0xA4, 1);
  cap.cap = 9;
  CHECK(refused_at(loader::decode_request_ref(cap)) == loader::kCapWord);
}

TEST_CASE("state replies encode the documented words and round-trip", "[loader_protocol]") {
  struct Row {
    loader::StateReply reply;
    abi::Message words;
  };
  const Row rows[] = {
      {loader::accepted(), raw(0, 1)},
      {loader::running(77), raw(0, 2, 77)},
      {loader::exited(77, 42), raw(0, 3, 77, 42)},
      {loader::failed(LoaderError::STALE_SOURCE), raw(0, 4, 6)},
      {loader::failed(LoaderError::CLEANUP_FAULT, 3), raw(0, 4, 11, 3)},
  };
  for (const Row& row : rows) {
    const abi::Message m = loader::encode(row.reply);
    CHECK(m.label == 0);
    CHECK(m.cap == abi::kNoSlot);
    for (int i = 0; i < 6; ++i) CHECK(m.words[i] == row.words.words[i]);
    const auto d = loader::decode_state_reply(m);
    REQUIRE(d.ok());
    CHECK(*d == row.reply);
  }
  // A leaked pid on a failure decodes (w3), so the caller can judge it.
  const auto leak = loader::decode_state_reply(raw(0, 4, 6, 0, 12));
  REQUIRE(leak.ok());
  CHECK(leak->pid == 12);
}

TEST_CASE("state replies refuse crafted bad messages", "[loader_protocol]") {
  CHECK(refused_at(loader::decode_state_reply(raw(0, 0))) == 0);
  CHECK(refused_at(loader::decode_state_reply(raw(0, 5))) == 0);
  CHECK(refused_at(loader::decode_state_reply(raw(0, 1, 7))) == 1);          // ACCEPTED uses only w0
  CHECK(refused_at(loader::decode_state_reply(raw(0, 2, 7, 42))) == 2);      // RUNNING has no exit code
  CHECK(refused_at(loader::decode_state_reply(raw(0, 2, 1ULL << 32))) == 1);  // pid beyond 32 bits
  CHECK(refused_at(loader::decode_state_reply(raw(0, 3, 7, 42, 1))) == 3);
  CHECK(refused_at(loader::decode_state_reply(raw(0, 4, 0))) == 1);          // FAILED with no error
  CHECK(refused_at(loader::decode_state_reply(raw(0, 4, 256))) == 1);        // error beyond 8 bits
  // A reserved error number decodes: the caller judges it as an error it did not expect.
  const auto reserved = loader::decode_state_reply(raw(0, 4, 12));
  REQUIRE(reserved.ok());
  CHECK(static_cast<int>(reserved->error) == 12);
  CHECK(refused_at(loader::decode_state_reply(raw(0, 4, 11, 256))) == 2);
  CHECK(refused_at(loader::decode_state_reply(raw(0, 4, 6, 0, 0, 1))) == 4);
  CHECK(refused_at(loader::decode_state_reply(raw(0, 4, 6, 0, 0, 0, 1))) == 5);
  CHECK(refused_at(loader::decode_state_reply(raw(5, 1))) == loader::kLabelWord);
  abi::Message cap = raw(0, 1);
  cap.cap = 4;
  CHECK(refused_at(loader::decode_state_reply(cap)) == loader::kCapWord);
}

TEST_CASE("INSPECT replies encode the documented words and refuse bad ones", "[loader_protocol]") {
  const loader::Inspect clean{};
  const abi::Message m = loader::encode(clean);
  CHECK(m.words[0] == 0);
  CHECK(m.words[1] == 1);
  CHECK(m.words[2] == 0);
  const auto d = loader::decode_inspect(raw(0, 3, 1, 2));
  REQUIRE(d.ok());
  CHECK(d->process_caps == 3);
  CHECK(d->scratch_caps == 2);
  CHECK(refused_at(loader::decode_inspect(raw(0, 0, 0, 0))) == 1);   // no bridge kind
  CHECK(refused_at(loader::decode_inspect(raw(0, 0, 2, 0))) == 1);   // an unknown one
  CHECK(refused_at(loader::decode_inspect(raw(0, 4, 10))) == 1);     // an UNKNOWN_REQUEST state reply
  CHECK(refused_at(loader::decode_inspect(raw(0, 0, 1, 0, 1))) == 3);
  CHECK(refused_at(loader::decode_inspect(raw(5, 0, 1))) == loader::kLabelWord);
}
