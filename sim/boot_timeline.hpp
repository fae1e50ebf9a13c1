// What a finished simulated boot looked like over simulated time, in two
// renderings for erix-boot: a Chrome trace-event JSON file (--trace; open it
// in chrome://tracing or Perfetto) and an SVG boot chart (--chart).
//
// Both read only the kernel model's processes and report lines and the
// services' records, after the run. One tick is shown as one microsecond
// in the trace (its smallest unit of display); the chart draws ticks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel_model.hpp"
#include "services.hpp"

namespace erix::sim {

// One service's life in the boot, in ticks.
struct ServiceSpan {
  std::string name;
  Pid pid = kNoPid;
  Tick created = 0;
  std::optional<Tick> started;
  std::optional<Tick> envelope;  // envelope received (probe: started)
  std::optional<Tick> answered;
  std::optional<Tick> ended;      // stopped or exited
  std::optional<Tick> destroyed;
  Answer answer = Answer::none;
};

struct BootTimeline {
  std::vector<ServiceSpan> services;  // services that got a process, by creation tick then pid
  std::vector<ReportLine> reports;    // every REPORT line, rootd's and the services'
  Tick end = 0;                       // the clock when rootd parked
  std::string status;                 // rootd's terminal status name
  Tick critical_path = 0;
  std::vector<std::string> critical_services;  // one longest dependency chain, highlighted in the chart
};

BootTimeline make_timeline(const KernelModel& model, const Services& services, std::string_view status,
                           Tick critical_path, std::vector<std::string> critical_services = {});

// Chrome trace-event format, JSON object form ("traceEvents").
std::string chrome_trace_json(const BootTimeline& timeline);
// A self-contained SVG document: one row per service, bars for starting
// (created to envelope) and handshake (envelope to answer), coloured by the
// answer; rootd's terminal status and the critical path as markers.
std::string boot_chart_svg(const BootTimeline& timeline);

}  // namespace erix::sim
