#include "projections/state.h"

#include <cstdint>
#include <limits>

#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"

namespace callbackledger {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

google::protobuf::Timestamp Time(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(seconds);
  timestamp.set_nanos(nanos);
  return timestamp;
}

TEST(UnixMicrosTest, ConvertsBothWaysAndDropsSubMicroseconds) {
  EXPECT_EQ(ToUnixMicros(Time(1700000000, 123456789)), 1700000000123456);
  EXPECT_EQ(ToUnixMicros(Time(-1, 500000000)), -500000);
  for (int64_t micros : {int64_t{0}, int64_t{-1}, int64_t{1700000000123456},
                         int64_t{-62135596800000000}, int64_t{253402300799999999}}) {
    EXPECT_EQ(ToUnixMicros(FromUnixMicros(micros)), micros) << micros;
  }
}

// A corrupt event of the log can carry any seconds; converting them must not overflow
// (found by fuzz/event_fuzzer.cc).
TEST(UnixMicrosTest, TimesBeyondInt64MicrosSaturate) {
  EXPECT_EQ(ToUnixMicros(Time(3563352692617580, 5000)), kMax);
  EXPECT_EQ(ToUnixMicros(Time(kMax, 999999999)), kMax);
  EXPECT_EQ(ToUnixMicros(Time(-3563352692617580, 0)), kMin);
  EXPECT_EQ(ToUnixMicros(Time(kMin, -999999999)), kMin);
  EXPECT_EQ(ToUnixMicros(Time(kMax / 1000000, 999999999)), kMax);
  EXPECT_EQ(ToUnixMicros(Time(kMin / 1000000, -999999999)), kMin);
}

}  // namespace
}  // namespace callbackledger
