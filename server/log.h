// One line per thing worth logging, to stderr, with a UTC timestamp and a level.
#ifndef CALLBACKLEDGER_SERVER_LOG_H_
#define CALLBACKLEDGER_SERVER_LOG_H_

#include <string_view>

namespace callbackledger {

void LogInfo(std::string_view message);
void LogWarning(std::string_view message);
void LogError(std::string_view message);

}  // namespace callbackledger

#endif  // CALLBACKLEDGER_SERVER_LOG_H_
