// Structured logs on stderr: one JSON object per line ({"ts","level","msg"}), or plain text
// for people at a terminal. Messages are escaped: a hostile process name cannot forge lines.
#pragma once

#include <string_view>

namespace pidscope {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kJson, kText };

void SetLogFormat(LogFormat format);
void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view message);

inline void LogInfo(std::string_view message) { Log(LogLevel::kInfo, message); }
inline void LogWarn(std::string_view message) { Log(LogLevel::kWarn, message); }
inline void LogError(std::string_view message) { Log(LogLevel::kError, message); }

}  // namespace pidscope
