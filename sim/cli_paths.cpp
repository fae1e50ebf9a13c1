#include "cli_paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace erix::sim {

namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::optional<std::string> input_problem(const std::string& path, std::string_view what, InputRule rule) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fmt::format("{}: cannot open {}: {}", path, what, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return fmt::format("{}: is a directory, not {}", path, what);
  // open() rather than access(): it answers for the effective user, as the
  // later read will. O_NONBLOCK: a FIFO must not wait for its writer here.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fmt::format("{}: cannot open {}: {}", path, what, std::strerror(errno));
  ::close(fd);
  if (rule == InputRule::non_empty && S_ISREG(st.st_mode) && st.st_size == 0) {
    return fmt::format("{}: is empty, not {}", path, what);
  }
  return std::nullopt;
}

std::optional<std::string> output_problem(const std::string& path, std::string_view what) {
  if (path.empty()) return fmt::format("an empty path cannot hold {}", what);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fmt::format("{}: is a directory; cannot write {} there", path, what);
    if (::access(path.c_str(), W_OK) != 0) {
      return fmt::format("{}: cannot write {}: {}", path, what, std::strerror(errno));
    }
    return std::nullopt;
  }
  if (errno != ENOENT) return fmt::format("{}: cannot write {}: {}", path, what, std::strerror(errno));
  if (path.back() == '/') return fmt::format("{}: is a directory; cannot write {} there", path, what);
  const std::string dir = parent_of(path);
  if (::stat(dir.c_str(), &st) != 0) {
    return fmt::format("{}: cannot write {}: directory {}: {}", path, what, dir, std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return fmt::format("{}: cannot write {}: {} is not a directory", path, what, dir);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return fmt::format("{}: cannot write {}: directory {}: {}", path, what, dir, std::strerror(errno));
  }
  return std::nullopt;
}

std::optional<ToolLayout> find_layout(const std::string& exe, const InstallDirs& dirs) {
  if (std::ifstream file(exe + ".layout"); file) {
    ToolLayout layout;
    for (std::string line; std::getline(file, line);) {
      if (line.starts_with("images=")) layout.images = line.substr(7);
      if (line.starts_with("examples=")) layout.examples = line.substr(9);
      if (line.starts_with("fixtures=")) layout.fixtures = line.substr(9);
    }
    if (layout.fixtures.empty()) layout.fixtures = layout.images;
    if (!layout.images.empty() && !layout.examples.empty()) return layout;
    return std::nullopt;
  }
  const std::string bin = parent_of(exe);
  const std::string suffix = "/" + std::string(dirs.bindir);
  if (bin.size() <= suffix.size() || !bin.ends_with(suffix)) return std::nullopt;
  const std::string prefix = bin.substr(0, bin.size() - suffix.size());
  // meson keeps a directory outside the prefix absolute.
  auto under_prefix = [&](std::string_view dir) {
    return dir.starts_with('/') ? std::string(dir) : prefix + "/" + std::string(dir);
  };
  ToolLayout layout{under_prefix(dirs.images), under_prefix(dirs.examples), under_prefix(dirs.images)};
  if (!is_directory(layout.images)) return std::nullopt;
  return layout;
}

std::optional<std::string> self_executable() {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace erix::sim
