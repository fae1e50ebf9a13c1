#include "boot_timeline.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace erix::sim {

namespace {

// JSON string contents (without the quotes). Report lines are printable
// ASCII, but nothing here relies on it.
std::string json_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

bool answer_failed(Answer a) {
  return a != Answer::none && a != Answer::ready && a != Answer::probe_passed;
}

// When a service stopped existing for the chart: its end, else the run's.
Tick life_end(const ServiceSpan& s, Tick end) {
  if (s.ended) return *s.ended;
  if (s.destroyed) return *s.destroyed;
  return end;
}

}  // namespace

BootTimeline make_timeline(const KernelModel& model, const Services& services, std::string_view status,
                           Tick critical_path, std::vector<std::string> critical_services) {
  BootTimeline t;
  t.critical_services = std::move(critical_services);
  t.end = model.now();
  t.status = std::string(status);
  t.critical_path = critical_path;
  t.reports = model.reports();
  for (const ServiceRecord& r : services.records()) {
    const Process* p = r.admitted ? model.process(r.pid) : nullptr;
    if (p == nullptr) continue;
    ServiceSpan s;
    s.name = r.spec.name;
    s.pid = r.pid;
    s.created = p->created_at;
    s.started = p->started_at;
    s.envelope = r.envelope_at;
    s.answered = r.answered_at;
    s.ended = p->ended_at;
    s.destroyed = p->destroyed_at;
    s.answer = r.answer;
    t.services.push_back(std::move(s));
  }
  std::stable_sort(t.services.begin(), t.services.end(), [](const ServiceSpan& a, const ServiceSpan& b) {
    return a.created != b.created ? a.created < b.created : a.pid < b.pid;
  });
  return t;
}

std::string chrome_trace_json(const BootTimeline& t) {
  std::vector<std::string> events;
  // One simulated machine (pid 1); rootd and each service are threads.
  events.push_back(fmt::format(R"({{"name":"process_name","ph":"M","pid":1,"tid":{},"args":{{"name":"EriX boot: {}"}}}})",
                               kRootdPid, json_escape(t.status)));
  events.push_back(fmt::format(R"({{"name":"thread_name","ph":"M","pid":1,"tid":{},"args":{{"name":"rootd"}}}})",
                               kRootdPid));
  events.push_back(fmt::format(R"({{"name":"boot","cat":"rootd","ph":"X","pid":1,"tid":{},"ts":0,"dur":{},"args":{{"status":"{}","critical_path":{}}}}})",
                               kRootdPid, t.end, json_escape(t.status), t.critical_path));
  for (const ServiceSpan& s : t.services) {
    events.push_back(fmt::format(R"({{"name":"thread_name","ph":"M","pid":1,"tid":{},"args":{{"name":"{}"}}}})", s.pid,
                                 json_escape(s.name)));
    if (s.started) {
      events.push_back(fmt::format(R"({{"name":"{} running","cat":"process","ph":"X","pid":1,"tid":{},"ts":{},"dur":{}}})",
                                   json_escape(s.name), s.pid, *s.started, life_end(s, t.end) - *s.started));
    }
    if (s.envelope) {
      const Tick until = s.answered ? *s.answered : life_end(s, t.end);
      events.push_back(fmt::format(R"({{"name":"{} handshake","cat":"handshake","ph":"X","pid":1,"tid":{},"ts":{},"dur":{},"args":{{"answer":"{}"}}}})",
                                   json_escape(s.name), s.pid, *s.envelope, until - *s.envelope,
                                   answer_name(s.answer)));
    }
    if (s.destroyed) {
      events.push_back(fmt::format(R"({{"name":"{} destroyed","cat":"process","ph":"i","s":"t","pid":1,"tid":{},"ts":{}}})",
                                   json_escape(s.name), s.pid, *s.destroyed));
    }
  }
  for (const ReportLine& line : t.reports) {
    events.push_back(fmt::format(R"({{"name":"{}","cat":"report","ph":"i","s":"t","pid":1,"tid":{},"ts":{}}})",
                                 json_escape(line.text), line.pid, line.at));
  }
  std::string out = "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"tick\":\"1 simulated tick per microsecond\"},\n\"traceEvents\":[\n";
  for (std::size_t i = 0; i < events.size(); ++i) {
    out += events[i];
    out += i + 1 < events.size() ? ",\n" : "\n";
  }
  out += "]}\n";
  return out;
}

std::string boot_chart_svg(const BootTimeline& t) {
  constexpr double kLeft = 170;   // service names
  constexpr double kPlot = 800;   // tick axis
  constexpr double kRight = 30;
  constexpr double kTop = 40;
  constexpr double kRow = 20;
  constexpr double kBar = 12;
  constexpr double kAxis = 40;
  const Tick span = std::max<Tick>({t.end, t.critical_path, 1});
  const double scale = kPlot / static_cast<double>(span);
  auto x = [&](Tick tick) { return kLeft + static_cast<double>(tick) * scale; };
  const double height = kTop + kRow * static_cast<double>(t.services.size()) + kAxis;
  const double width = kLeft + kPlot + kRight;

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" "
      "font-family=\"monospace\" font-size=\"11\">\n",
      width, height, width, height);
  out += fmt::format("<rect width=\"{:.0f}\" height=\"{:.0f}\" fill=\"white\"/>\n", width, height);
  out += fmt::format("<text x=\"8\" y=\"18\" font-size=\"13\">EriX boot: {} at tick {} (critical path {})</text>\n",
                     xml_escape(t.status), t.end, t.critical_path);

  for (std::size_t i = 0; i < t.services.size(); ++i) {
    const ServiceSpan& s = t.services[i];
    const double row = kTop + kRow * static_cast<double>(i);
    const double bar_y = row + (kRow - kBar) / 2;
    const bool critical =
        std::find(t.critical_services.begin(), t.critical_services.end(), s.name) != t.critical_services.end();
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\"{}>{}</text>\n", kLeft - 6,
                       row + kRow * 0.7, critical ? " font-weight=\"bold\" fill=\"#1e88e5\"" : "",
                       xml_escape(s.name));
    // The process's life: a thin line from its start until it ended.
    if (s.started) {
      out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#90a4ae\" stroke-width=\"2\"/>\n",
                         x(*s.started), row + kRow / 2, x(life_end(s, t.end)), row + kRow / 2);
    }
    const Tick handshake_from = s.envelope ? *s.envelope : (s.started ? *s.started : s.created);
    if (handshake_from > s.created) {
      out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.0f}\" fill=\"#cfd8dc\"><title>{} starting</title></rect>\n",
                         x(s.created), bar_y, x(handshake_from) - x(s.created), kBar, xml_escape(s.name));
    }
    if (s.envelope) {
      const Tick until = s.answered ? *s.answered : life_end(s, t.end);
      const char* colour = s.answer == Answer::none ? "#b0bec5" : answer_failed(s.answer) ? "#e53935" : "#43a047";
      // At least one pixel wide, so that a zero-latency answer is visible.
      const double w = std::max(1.0, x(until) - x(*s.envelope));
      // Services on the critical path get a blue outline: they set the time
      // to READY.
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.0f}\" fill=\"{}\"{}><title>{}: {} at tick {}{}</title></rect>\n",
          x(*s.envelope), bar_y, w, kBar, colour, critical ? " stroke=\"#1e88e5\" stroke-width=\"2\"" : "",
          xml_escape(s.name), answer_name(s.answer), until, critical ? " (critical path)" : "");
    }
    if (s.destroyed) {
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#6d4c41\">x</text>\n", x(*s.destroyed) - 3,
                         row + kRow * 0.7);
    }
  }

  const double axis_y = kTop + kRow * static_cast<double>(t.services.size()) + 8;
  out += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"black\"/>\n", kLeft,
                     axis_y, kLeft + kPlot, axis_y);
  const Tick step = std::max<Tick>(1, span / 10);
  for (Tick tick = 0; tick <= span; tick += step) {
    out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"black\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
                       x(tick), axis_y, axis_y + 4, axis_y + 16, tick);
  }
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">ticks</text>\n", kLeft - 6, axis_y + 16);
  out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#1e88e5\" stroke-dasharray=\"4 3\"><title>critical path {3}</title></line>\n",
                     x(t.critical_path), kTop - 6, axis_y, t.critical_path);
  out += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"black\" stroke-width=\"1.5\"><title>{3} at tick {4}</title></line>\n",
                     x(t.end), kTop - 6, axis_y, xml_escape(t.status), t.end);
  out += "</svg>\n";
  return out;
}

}  // namespace erix::sim
