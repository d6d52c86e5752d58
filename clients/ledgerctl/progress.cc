#include "clients/ledgerctl/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/ledgerctl/common.h"

namespace callbackledger {
namespace ctl {
namespace {

constexpr size_t kDefaultWidth = 100;
constexpr std::chrono::milliseconds kRedrawEvery(100);

std::string Amount(uint64_t value, bool bytes) {
  if (!bytes) return Thousands(value);
  if (value < 1024) return absl::StrCat(value, " B");
  if (value < 1024 * 1024) return absl::StrFormat("%.1f KiB", value / 1024.0);
  if (value < 1024ull * 1024 * 1024) return absl::StrFormat("%.1f MiB", value / 1048576.0);
  return absl::StrFormat("%.2f GiB", value / 1073741824.0);
}

std::string Duration(double seconds) {
  const auto total = static_cast<uint64_t>(std::llround(std::max(0.0, seconds)));
  if (total >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
  }
  return absl::StrFormat("%d:%02d", total / 60, total % 60);
}

size_t TerminalWidth() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  return kDefaultWidth;
}

}  // namespace

Progress::Progress(std::string label, std::string unit, bool bytes, bool disabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      bytes_(bytes),
      enabled_(!disabled && isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { Finish(); }

std::string Progress::Render(const std::string& label, const std::string& unit, bool bytes,
                             uint64_t done, uint64_t total, double seconds, size_t width,
                             bool estimated) {
  const double rate = seconds > 0 ? done / seconds : 0;
  std::string rate_text =
      bytes ? absl::StrCat(Amount(static_cast<uint64_t>(rate), true), "/s")
            : absl::StrCat(Thousands(static_cast<uint64_t>(rate)), " ", unit, "/s");
  if (total == 0) {
    return absl::StrCat(label, "  ", Amount(done, bytes), bytes ? "" : " ", bytes ? "" : unit, "  ",
                        rate_text, "  ", Duration(seconds));
  }
  const double fraction = std::min(1.0, static_cast<double>(done) / total);
  std::string eta = "ETA --:--";
  if (done >= total) {
    eta = absl::StrCat("in ", Duration(seconds));
  } else if (rate > 0) {
    eta = absl::StrCat("ETA ", Duration((total - done) / rate));
  }
  const char* about = estimated ? "~" : "";
  std::string counts = bytes
                           ? absl::StrCat(Amount(done, true), "/", about, Amount(total, true))
                           : absl::StrCat(Thousands(done), "/", about, Thousands(total), " ", unit);
  std::string tail = absl::StrFormat("%3d%%  %s  %s  %s", static_cast<int>(fraction * 100), counts,
                                     rate_text, eta);
  // The bar takes what is left of the line, 10-40 characters.
  const size_t used = label.size() + tail.size() + 6;
  const size_t bar = width > used + 11 ? std::min<size_t>(40, width - used - 1) : 10;
  const auto filled = static_cast<size_t>(fraction * bar);
  return absl::StrCat(label, "  [", std::string(filled, '#'), std::string(bar - filled, '.'), "]  ",
                      tail);
}

void Progress::Update(uint64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  Draw();
}

void Progress::Draw() {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const size_t width = TerminalWidth();
  std::string line = Render(label_, unit_, bytes_, done_, total_, seconds, width, estimated_);
  if (line.size() >= width) line.resize(width - 1);
  // \r: back to the start of the line; \033[K: clear the rest of it.
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (!enabled_ || !drawn_) return;
  Draw();  // the final numbers
  std::fputs("\n", stderr);
  std::fflush(stderr);
  drawn_ = false;
  enabled_ = false;
}

}  // namespace ctl
}  // namespace callbackledger
