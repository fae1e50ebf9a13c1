// Runs the erix-boot command line (ERIX_BOOT), or another of the project's
// tools, the way a user does, for tests that check what it prints and how it
// exits.
#pragma once

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace erix::test {

// `s` as one single-quoted shell word.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct CliRun {
  int code = -1;  // exit code; -1 when it did not exit normally
  std::vector<std::string> lines;  // stdout, line by line (stderr is dropped)
};

// `tool` with `args` (already quoted where needed), as a shell runs it.
inline CliRun run_cli(const std::string& tool, const std::string& args) {
  FILE* pipe = ::popen((shell_quote(tool) + " " + args + " 2>/dev/null").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  CliRun run;
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) run.lines.push_back(line);
  return run;
}

// erix-boot with `args` (already quoted where needed).
inline CliRun run_erix_boot(const std::string& args) {
  const char* tool = std::getenv("ERIX_BOOT");
  REQUIRE(tool != nullptr);
  return run_cli(tool, args);
}

}  // namespace erix::test
