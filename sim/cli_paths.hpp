// Path handling for the command-line tools (erix-boot): checks that an
// input or output path can be used before any work starts, and finds the
// rootd images and example configs relative to the running executable.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace erix::sim {

// What an input must be beyond a readable regular file.
enum class InputRule { any_size, non_empty };

// Why `path` cannot be read as an input file, or nothing when it can. The
// path appears once, at the start; `what` names what the file should be:
// "PATH: is a directory, not a boot config", "PATH: is empty, not a boot
// config" (non_empty, regular files only), "PATH: cannot open a boot
// config: <errno text>".
std::optional<std::string> input_problem(const std::string& path, std::string_view what, InputRule rule);

// Why `path` cannot be written, checked without creating or truncating it:
// an existing path must be a writable non-directory; a new one needs a
// writable directory to be created in.
std::optional<std::string> output_problem(const std::string& path, std::string_view what);

// Where the tool's companions are: the directory holding the rootd images
// (rootd, rootd-runtime-release, rootd-integration), the one holding the
// example configs, and the one holding the loader fixtures (loader-ok,
// loader-alt; installed beside the images).
struct ToolLayout {
  std::string images;
  std::string examples;
  std::string fixtures;
};

// Install directories as meson's options give them: relative to the
// prefix, or absolute when outside it.
struct InstallDirs {
  std::string_view bindir;    // "bin"
  std::string_view images;    // "libexec/erix-rootd"
  std::string_view examples;  // "share/erix-rootd/examples"
};

// The layout of the executable at `exe`: in a build tree, the file
// `<exe>.layout` beside it names the directories ("images=DIR",
// "examples=DIR" and "fixtures=DIR" lines; fixtures defaults to images);
// installed as PREFIX/<bindir>/<name>, they are PREFIX/<images>,
// PREFIX/<examples> and PREFIX/<images>. Nothing when neither applies.
std::optional<ToolLayout> find_layout(const std::string& exe, const InstallDirs& dirs);

// The running executable's path (/proc/self/exe), or nothing.
std::optional<std::string> self_executable();

}  // namespace erix::sim
