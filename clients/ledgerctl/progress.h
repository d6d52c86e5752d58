// A progress bar with rate and ETA for long operations, drawn on stderr only when stderr
// is a terminal (and not turned off with --no-progress); otherwise it draws nothing.
//
//   export callerids  [##########..........]  50%  500,000/1,000,000 rows  41,234 rows/s  ETA 0:12
#ifndef CALLBACKLEDGER_CLIENTS_LEDGERCTL_PROGRESS_H_
#define CALLBACKLEDGER_CLIENTS_LEDGERCTL_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace callbackledger {
namespace ctl {

class Progress {
 public:
  // `unit` names what is counted ("rows"); with `bytes` the counts are shown in bytes
  // (KiB, MiB) and the rate per second of them.
  Progress(std::string label, std::string unit, bool bytes, bool disabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Whether the bar is drawn at all.
  bool enabled() const { return enabled_; }
  // The total, once known (0: unknown; then no bar and no ETA). `estimated`: shown as
  // "~total" (an import estimates its rows from the bytes read so far).
  void SetTotal(uint64_t total, bool estimated = false) {
    total_ = total;
    estimated_ = estimated;
  }
  // Progress so far; redraws at most ten times a second.
  void Update(uint64_t done);
  // Clears the bar, so that what follows starts on a clean line.
  void Finish();

  // The line the bar draws for these numbers (for tests): no terminal codes.
  static std::string Render(const std::string& label, const std::string& unit, bool bytes,
                            uint64_t done, uint64_t total, double seconds, size_t width,
                            bool estimated = false);

 private:
  void Draw();

  std::string label_;
  std::string unit_;
  bool bytes_;
  bool enabled_;
  uint64_t total_ = 0;
  bool estimated_ = false;
  uint64_t done_ = 0;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace ctl
}  // namespace callbackledger

#endif  // CALLBACKLEDGER_CLIENTS_LEDGERCTL_PROGRESS_H_
