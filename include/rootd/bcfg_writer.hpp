// ERIXBCFG v1 writer: a ConfigDesc (names, references by name, any order) to
// the one canonical blob parse() accepts for it. Host-side: tools, simulator,
// tests and benchmarks use it; rootd only parses, and its image is built with
// ROOTD_IMAGE defined so that including this header there fails the build.
#pragma once

#include "rootd/requires_cxx20.hpp"

#if defined(ROOTD_IMAGE)
#error "rootd/bcfg_writer.hpp is host-side: rootd's image only parses boot configs"
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "rootd/bcfg_wire.hpp"
#include "rootd/bytes.hpp"
#include "rootd/names.hpp"
#include "rootd/result.hpp"
#include "rootd/status.hpp"

namespace rootd::bcfg {

// References are by name; an empty optional reference means none.
struct ServiceDesc {
  std::string_view name, role, image;
  Launch launch = Launch::ROOTD;
  std::span<const std::string_view> after{}, peers{};
};
struct ProviderDesc {
  std::string_view name, service, block{}, key{};  // empty block/key = none
  std::uint32_t partition = kNoPartition;
};
struct MountDesc {
  std::string_view path, provider;
  bool read_only = false;
};
struct ConfigDesc {
  std::string_view profile = "none";
  std::span<const ServiceDesc> services{};
  std::span<const ProviderDesc> providers{};
  std::span<const MountDesc> mounts{};
};

namespace detail {

// In-place heap sort of indices: bounded O(n log n), no recursion, no heap.
template <class Less>
constexpr void heap_sort(std::span<std::uint16_t> items, Less less) {
  const auto sift_down = [&](std::size_t root, std::size_t end) {
    for (;;) {
      std::size_t child = 2 * root + 1;
      if (child >= end) return;
      if (child + 1 < end && less(items[child], items[child + 1])) ++child;
      if (!less(items[root], items[child])) return;
      std::swap(items[root], items[child]);
      root = child;
    }
  };
  const std::size_t n = items.size();
  for (std::size_t i = n / 2; i-- > 0;) sift_down(i, n);
  for (std::size_t end = n; end > 1; --end) {
    std::swap(items[0], items[end - 1]);
    sift_down(0, end - 1);
  }
}

// Binary search over n sorted keys; the position of `name` or kNoIndex.
template <class KeyAt>
constexpr std::uint16_t search_sorted(std::string_view name, std::size_t n, KeyAt key_at) {
  const std::size_t at = find_sorted(name, n, key_at);
  return at == n ? kNoIndex : static_cast<std::uint16_t>(at);
}

// Fills `order` with 0..n-1 sorted by key, then rejects equal neighbours,
// reporting the later declaration (the first one is the original).
template <class KeyOf>
constexpr Check sort_unique(std::span<std::uint16_t> order, KeyOf key_of, Reason duplicate) {
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint16_t>(i);
  heap_sort(order, [&](std::uint16_t a, std::uint16_t b) {
    return compare_bytes(key_of(a), key_of(b)) < 0;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (compare_bytes(key_of(order[k - 1]), key_of(order[k])) == 0) {
      return {duplicate, at32(order[k - 1] > order[k] ? order[k - 1] : order[k])};
    }
  }
  return kOk;
}

struct Layout {
  std::array<std::uint32_t, kSectionCount> offset{};
  std::array<std::uint32_t, kSectionCount> length{};
  std::array<std::uint32_t, kSectionCount> count{};
  std::size_t total = 0;
};

constexpr Layout layout_for(const std::array<std::size_t, kSectionCount>& counts) {
  Layout layout;
  std::size_t end = kFirstSectionOffset;
  for (std::size_t i = 0; i < kSectionCount; ++i) {
    const std::size_t offset = align_up(end);
    const std::size_t length = counts[i] * kSectionTable[i].row_size;
    layout.offset[i] = static_cast<std::uint32_t>(offset);
    layout.length[i] = static_cast<std::uint32_t>(length);
    layout.count[i] = static_cast<std::uint32_t>(counts[i]);
    end = offset + length;
  }
  layout.total = end;
  return layout;
}

constexpr std::size_t kMaxEdgeList =
    kMaxAfterEdges > kMaxPeerEdges ? kMaxAfterEdges : kMaxPeerEdges;

// Runs every writer check; stores bytes only when `emit` is set, so the same
// code decides both encoded_size() and write().
class Encoder {
 public:
  constexpr Encoder(const ConfigDesc& desc, MutableBytes out, bool emit)
      : desc_(desc), out_(out), emit_(emit) {}

  constexpr Result<std::size_t> run() {
    if (Check c = check_lists(); !ok(c)) return c;
    if (Check c = sort_rows(); !ok(c)) return c;
    std::array<std::size_t, kSectionCount> counts{};
    counts[index(Section::PROFILE)] = 1;
    counts[index(Section::SERVICES)] = desc_.services.size();
    counts[index(Section::AFTER)] = after_total_;
    counts[index(Section::PEERS)] = peer_total_;
    counts[index(Section::PROVIDERS)] = desc_.providers.size();
    counts[index(Section::MOUNTS)] = desc_.mounts.size();
    counts[index(Section::STRINGS)] = string_total_;
    layout_ = layout_for(counts);
    if (emit_) write_frame();
    if (Check c = write_rows(); !ok(c)) return c;
    if (emit_) store_le32(out_, kHeaderChecksumOffset, checksum(Bytes(out_.data(), layout_.total)));
    return layout_.total;
  }

 private:
  static constexpr std::size_t index(Section s) { return static_cast<std::size_t>(s); }

  // Limits first, so no later loop runs over an oversized input.
  constexpr Check check_lists() {
    if (desc_.services.size() > kMaxServices)
      return {Reason::BCFG_TOO_MANY_SERVICES, at32(kMaxServices)};
    if (desc_.providers.size() > kMaxProviders)
      return {Reason::BCFG_TOO_MANY_PROVIDERS, at32(kMaxProviders)};
    if (desc_.mounts.size() > kMaxMounts) return {Reason::BCFG_TOO_MANY_MOUNTS, at32(kMaxMounts)};
    if (!profile_is_well_formed(desc_.profile)) return {Reason::BCFG_PROFILE_INVALID, 0};
    string_total_ = desc_.profile.size();
    for (std::size_t i = 0; i < desc_.services.size(); ++i) {
      const ServiceDesc& s = desc_.services[i];
      if (!name_is_well_formed(s.name)) return {Reason::BCFG_SERVICE_NAME_INVALID, at32(i)};
      if (!name_is_well_formed(s.role)) return {Reason::BCFG_SERVICE_ROLE_INVALID, at32(i)};
      if (!name_is_well_formed(s.image)) return {Reason::BCFG_SERVICE_IMAGE_INVALID, at32(i)};
      if (static_cast<std::uint8_t>(s.launch) >= kLaunchKindCount) {
        return {Reason::BCFG_SERVICE_LAUNCH_INVALID, at32(i)};
      }
      if (s.after.size() > kMaxAfterEdges - after_total_)
        return {Reason::BCFG_TOO_MANY_AFTER_EDGES, at32(i)};
      if (s.peers.size() > kMaxPeerEdges - peer_total_)
        return {Reason::BCFG_TOO_MANY_PEER_EDGES, at32(i)};
      after_total_ += s.after.size();
      peer_total_ += s.peers.size();
      string_total_ += s.name.size() + s.role.size() + s.image.size();
    }
    for (std::size_t i = 0; i < desc_.providers.size(); ++i) {
      if (!name_is_well_formed(desc_.providers[i].name))
        return {Reason::BCFG_PROVIDER_NAME_INVALID, at32(i)};
      string_total_ += desc_.providers[i].name.size();
    }
    for (std::size_t i = 0; i < desc_.mounts.size(); ++i) {
      if (!path_is_well_formed(desc_.mounts[i].path))
        return {Reason::BCFG_MOUNT_PATH_INVALID, at32(i)};
      string_total_ += desc_.mounts[i].path.size();
    }
    return kOk;
  }

  constexpr Check sort_rows() {
    const std::span<std::uint16_t> services(service_order_.data(), desc_.services.size());
    if (Check c = sort_unique(
            services, [&](std::uint16_t i) { return desc_.services[i].name; },
            Reason::BCFG_SERVICE_NAME_DUPLICATE);
        !ok(c)) {
      return c;
    }
    const std::span<std::uint16_t> providers(provider_order_.data(), desc_.providers.size());
    if (Check c = sort_unique(
            providers, [&](std::uint16_t i) { return desc_.providers[i].name; },
            Reason::BCFG_PROVIDER_NAME_DUPLICATE);
        !ok(c)) {
      return c;
    }
    const std::span<std::uint16_t> mounts(mount_order_.data(), desc_.mounts.size());
    return sort_unique(
        mounts, [&](std::uint16_t i) { return desc_.mounts[i].path; },
        Reason::BCFG_MOUNT_PATH_DUPLICATE);
  }

  // Wire index (sorted position) of the service or provider with that name.
  constexpr std::uint16_t service_index(std::string_view name) const {
    return search_sorted(name, desc_.services.size(),
                         [&](std::size_t pos) { return desc_.services[service_order_[pos]].name; });
  }
  constexpr std::uint16_t provider_index(std::string_view name) const {
    return search_sorted(name, desc_.providers.size(), [&](std::size_t pos) {
      return desc_.providers[provider_order_[pos]].name;
    });
  }

  constexpr void write_frame() {
    for (std::size_t i = 0; i < layout_.total; ++i) out_[i] = 0;
    for (std::size_t i = 0; i < sizeof(kMagic); ++i) out_[kHeaderMagicOffset + i] = kMagic[i];
    store_le16(out_, kHeaderVersionOffset, kVersion);
    store_le16(out_, kHeaderSizeOffset, static_cast<std::uint16_t>(kHeaderSize));
    store_le32(out_, kHeaderTotalSizeOffset, static_cast<std::uint32_t>(layout_.total));
    store_le32(out_, kHeaderFlagsOffset, 0);
    store_le32(out_, kHeaderSectionCountOffset, static_cast<std::uint32_t>(kSectionCount));
    for (std::size_t i = 0; i < kSectionCount; ++i) {
      const std::size_t entry = kSectionTableOffset + i * kSectionEntrySize;
      store_le32(out_, entry + kSectionEntryTagOffset, section_tag_value(kSectionTable[i]));
      store_le32(out_, entry + kSectionEntryOffsetOffset, layout_.offset[i]);
      store_le32(out_, entry + kSectionEntryLengthOffset, layout_.length[i]);
      store_le32(out_, entry + kSectionEntryCountOffset, layout_.count[i]);
    }
  }

  constexpr void put16(std::size_t at, std::uint16_t v) {
    if (emit_) store_le16(out_, at, v);
  }
  constexpr void put32(std::size_t at, std::uint32_t v) {
    if (emit_) store_le32(out_, at, v);
  }
  constexpr void put_string(std::size_t ref, std::string_view s) {
    if (emit_) {
      store_le32(out_, ref + kStrRefOffsetOffset, static_cast<std::uint32_t>(string_used_));
      store_le32(out_, ref + kStrRefLengthOffset, static_cast<std::uint32_t>(s.size()));
      const std::size_t at = layout_.offset[index(Section::STRINGS)] + string_used_;
      for (std::size_t i = 0; i < s.size(); ++i) out_[at + i] = s[i];
    }
    string_used_ += s.size();
  }

  constexpr Check put_edges(std::span<const std::string_view> names, std::size_t row,
                            std::size_t first_field, std::size_t count_field, Section section,
                            std::size_t& cursor, Reason duplicate, std::uint16_t declared) {
    const std::span<std::uint16_t> targets(edge_scratch_.data(), names.size());
    for (std::size_t k = 0; k < names.size(); ++k) {
      targets[k] = service_index(names[k]);
      if (targets[k] == kNoIndex) return {Reason::BCFG_WRITE_UNKNOWN_SERVICE, at32(declared)};
    }
    heap_sort(targets, [](std::uint16_t a, std::uint16_t b) { return a < b; });
    for (std::size_t k = 1; k < targets.size(); ++k) {
      if (targets[k] == targets[k - 1]) return {duplicate, at32(declared)};
    }
    put32(row + first_field, static_cast<std::uint32_t>(cursor));
    put16(row + count_field, static_cast<std::uint16_t>(targets.size()));
    for (std::size_t k = 0; k < targets.size(); ++k) {
      put16(layout_.offset[index(section)] + (cursor + k) * kEdgeRowSize, targets[k]);
    }
    cursor += targets.size();
    return kOk;
  }

  constexpr Check write_rows() {
    put_string(layout_.offset[index(Section::PROFILE)] + kProfileNameOffset, desc_.profile);
    std::size_t after_cursor = 0;
    std::size_t peer_cursor = 0;
    for (std::size_t pos = 0; pos < desc_.services.size(); ++pos) {
      const std::uint16_t declared = service_order_[pos];
      const ServiceDesc& s = desc_.services[declared];
      const std::size_t row = layout_.offset[index(Section::SERVICES)] + pos * kServiceRowSize;
      put_string(row + kServiceNameOffset, s.name);
      put_string(row + kServiceRoleOffset, s.role);
      put_string(row + kServiceImageOffset, s.image);
      if (emit_) out_[row + kServiceLaunchOffset] = static_cast<char>(s.launch);
      if (Check c = put_edges(s.after, row, kServiceAfterFirstOffset, kServiceAfterCountOffset,
                              Section::AFTER, after_cursor, Reason::BCFG_AFTER_DUPLICATE, declared);
          !ok(c)) {
        return c;
      }
      if (Check c = put_edges(s.peers, row, kServicePeersFirstOffset, kServicePeersCountOffset,
                              Section::PEERS, peer_cursor, Reason::BCFG_PEER_DUPLICATE, declared);
          !ok(c)) {
        return c;
      }
    }
    for (std::size_t pos = 0; pos < desc_.providers.size(); ++pos) {
      const std::uint16_t declared = provider_order_[pos];
      const ProviderDesc& p = desc_.providers[declared];
      const std::size_t row = layout_.offset[index(Section::PROVIDERS)] + pos * kProviderRowSize;
      put_string(row + kProviderNameOffset, p.name);
      const std::uint16_t service = service_index(p.service);
      const std::uint16_t block = p.block.empty() ? kNoIndex : service_index(p.block);
      const std::uint16_t key = p.key.empty() ? kNoIndex : service_index(p.key);
      if (service == kNoIndex || (block == kNoIndex && !p.block.empty()) ||
          (key == kNoIndex && !p.key.empty())) {
        return {Reason::BCFG_WRITE_UNKNOWN_SERVICE, at32(declared)};
      }
      put16(row + kProviderServiceOffset, service);
      put16(row + kProviderBlockOffset, block);
      put16(row + kProviderKeyOffset, key);
      put32(row + kProviderPartitionOffset, p.partition);
    }
    for (std::size_t pos = 0; pos < desc_.mounts.size(); ++pos) {
      const std::uint16_t declared = mount_order_[pos];
      const MountDesc& m = desc_.mounts[declared];
      const std::size_t row = layout_.offset[index(Section::MOUNTS)] + pos * kMountRowSize;
      put_string(row + kMountPathOffset, m.path);
      const std::uint16_t provider = provider_index(m.provider);
      if (provider == kNoIndex) return {Reason::BCFG_WRITE_UNKNOWN_PROVIDER, at32(declared)};
      put16(row + kMountProviderOffset, provider);
      if (emit_) out_[row + kMountReadOnlyOffset] = static_cast<char>(m.read_only ? 1 : 0);
    }
    return kOk;
  }

  const ConfigDesc& desc_;
  MutableBytes out_;
  bool emit_;
  std::size_t after_total_ = 0;
  std::size_t peer_total_ = 0;
  std::size_t string_total_ = 0;
  std::size_t string_used_ = 0;
  Layout layout_{};
  std::array<std::uint16_t, kMaxServices> service_order_{};  // wire position -> declaration index
  std::array<std::uint16_t, kMaxProviders> provider_order_{};
  std::array<std::uint16_t, kMaxMounts> mount_order_{};
  std::array<std::uint16_t, kMaxEdgeList> edge_scratch_{};  // one edge list at a time
};

}  // namespace detail

// Size of the blob write() produces, or the error it would report (any but
// BCFG_WRITE_BUFFER_TOO_SMALL). Error.offset is the declaration index of the
// offending service, provider or mount (for list-size limits: the index at
// which the limit was crossed), 0 for the profile.
constexpr Result<std::size_t> encoded_size(const ConfigDesc& desc) {
  detail::Encoder encoder(desc, {}, false);
  return encoder.run();
}

// Writes the canonical blob into out[0, size) and returns size. The writer
// refuses exactly what parse() would reject, with the same reason codes;
// BCFG_WRITE_UNKNOWN_SERVICE / _PROVIDER for a reference to no declared name,
// BCFG_WRITE_BUFFER_TOO_SMALL (offset = bytes needed) before touching `out`.
// Nothing is written unless the whole description is valid. Uses about
// 21 KiB of stack for fixed sort scratch (kMaxServices and edge-list indices);
// rootd itself only parses.
constexpr Result<std::size_t> write(const ConfigDesc& desc, MutableBytes out) {
  const Result<std::size_t> size = encoded_size(desc);
  if (!size) return size;
  if (out.size() < *size) return Error{Reason::BCFG_WRITE_BUFFER_TOO_SMALL, detail::at32(*size)};
  detail::Encoder encoder(desc, out, true);
  return encoder.run();
}

}  // namespace rootd::bcfg
