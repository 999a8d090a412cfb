#include "runtime/log.hpp"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

#include "export/tree_view.hpp"
#include "util/clock.hpp"
#include "util/json_writer.hpp"
#include "util/time_format.hpp"

namespace pidscope {

namespace {
std::atomic<LogFormat> g_format{LogFormat::kJson};
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_mutex;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}
}  // namespace

void SetLogFormat(LogFormat format) { g_format = format; }
void SetLogLevel(LogLevel level) { g_level = level; }

void Log(LogLevel level, std::string_view message) {
  if (level < g_level.load()) return;
  int64_t now = ClockNs(CLOCK_REALTIME);
  std::string line;
  if (g_format.load() == LogFormat::kJson) {
    JsonWriter w(&line);
    std::string stamp = FormatRfc3339Ns(now);
    w.BeginObject().Member("ts", stamp).Member("level", LevelName(level));
    w.Member("msg", message).EndObject();
  } else {
    line = FormatRfc3339Ns(now) + " " + LevelName(level) + " ";
    AppendPrintable(&line, message);
  }
  line.push_back('\n');
  std::lock_guard lock(g_mutex);
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace pidscope
