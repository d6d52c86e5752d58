#include "projections/idempotency.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace callbackledger {
namespace {

store::v1::IdempotencyRow Row(const std::string& fingerprint, uint64_t sequence) {
  store::v1::IdempotencyRow row;
  row.set_fingerprint(fingerprint);
  row.set_sequence(sequence);
  return row;
}

// A projection row written from an entry is byte for byte the row it was loaded from, so a
// rebuild and the committer write the same rows, and verify compares them as they are.
TEST(IdempotencyEntryTest, WritesTheBytesOfTheRowItWasMadeFrom) {
  for (const std::string& fingerprint :
       {std::string(), std::string("\0\x01\xff", 3), std::string(32, '\x80')}) {
    const store::v1::IdempotencyRow stored = Row(fingerprint, 1234567890123);
    std::optional<IdempotencyEntry> entry = IdempotencyEntry::FromRow(stored);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->fingerprint(), fingerprint);
    EXPECT_EQ(entry->sequence(), 1234567890123u);
    store::v1::IdempotencyRow written = Row("something else before", 9);
    entry->ToRow(&written);
    EXPECT_EQ(written.SerializeAsString(), stored.SerializeAsString());
  }
}

TEST(IdempotencyEntryTest, RefusesARowWithAFingerprintLongerThan32Bytes) {
  EXPECT_FALSE(IdempotencyEntry::FromRow(Row(std::string(33, 'f'), 1)).has_value());
}

TEST(IdempotencyEntryTest, EqualWhenFingerprintAndSequenceAre) {
  EXPECT_EQ(IdempotencyEntry("abc", 5), IdempotencyEntry("abc", 5));
  EXPECT_FALSE(IdempotencyEntry("abc", 5) == IdempotencyEntry("abd", 5));
  EXPECT_FALSE(IdempotencyEntry("abc", 5) == IdempotencyEntry("abc", 6));
  EXPECT_FALSE(IdempotencyEntry("abc", 5) == IdempotencyEntry("ab", 5));
}

}  // namespace
}  // namespace callbackledger
